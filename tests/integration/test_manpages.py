"""The manual pages name every code the programs emit, so that a page
cannot fall behind the code: the codes are read from the sources."""

import os
import re
import unittest

TOP = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")


def read(path):
    with open(os.path.join(TOP, path), encoding="utf-8") as f:
        return f.read()


def node_codes():
    """Every literal code the node (node/ and its chat core, chat/) passes
    to its error and notice paths, and every ERR code name of the protocol
    (the node passes the relay's refusals on under their names)."""
    codes = set()
    call = re.compile(r'\b(?:room_say|room_note|tty_notice|json_error|ui\.error|ui\.notice)'
                      r'\s*\(([^;]*?)"([a-z_]+)"', re.S)
    for folder in ("node", "chat"):
        for name in os.listdir(os.path.join(TOP, folder)):
            if name.endswith(".c"):
                for m in call.finditer(read(os.path.join(folder, name))):
                    # the code is the first string literal after the call's
                    # context arguments, which hold no quotes
                    if '"' not in m.group(1):
                        codes.add(m.group(2))
    for m in re.finditer(r'return "([a-z_]+)";', read("wire/frame.c")):
        if m.group(1) != "unknown":
            codes.add(m.group(1))
    return codes


def page_words(path):
    """The words a manual page sets in bold (.B and .BR lines)."""
    words = set()
    for line in read(path).splitlines():
        if line.startswith(".B ") or line.startswith(".BR "):
            words.update(re.findall(r"[a-z_]+", line[3:]))
    return words


class ManPageTest(unittest.TestCase):
    def test_every_code_the_node_emits_is_in_its_manual_page(self):
        codes = node_codes()
        self.assertGreater(len(codes), 20, "the code scan found too little: %s" % codes)
        missing = sorted(codes - page_words("docs/cove-node.1"))
        self.assertEqual(missing, [], "docs/cove-node.1 lacks these codes")


if __name__ == "__main__":
    unittest.main()
