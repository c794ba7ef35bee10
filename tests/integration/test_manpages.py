"""The manual pages name every option, command, JSON command and event,
code and counter the programs have, so that a page cannot fall behind the
code: each is read from the sources, or from the built programs' --help,
and looked for in the page."""

import os
import re
import subprocess
import unittest

import cove

TOP = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")

NODE_PAGE = "docs/cove-node.1"
RELAY_PAGE = "docs/cove-rendezvous.8"
KEYS_PAGE = "docs/cove-keys.1"


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
                text = read(os.path.join(folder, name))
                for m in call.finditer(text):
                    # the code is the first string literal after the call's
                    # context arguments, which hold no quotes
                    if '"' not in m.group(1):
                        codes.add(m.group(2))
                # an event written out as a literal (fe_json.c's last resort)
                codes.update(re.findall(r'\\"code\\":\\"([a-z_]+)\\"', text))
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


def roff(word):
    """A word as a page writes it: every hyphen escaped."""
    return word.replace("-", "\\-")


def call_args(text, start):
    """The top-level arguments of the call whose '(' is at text[start], as
    source strings."""
    args, depth, cur, i = [], 0, "", start + 1
    while i < len(text):
        ch = text[i]
        if ch == '"':
            j = i + 1
            while text[j] != '"':
                j += 2 if text[j] == "\\" else 1
            cur += text[i:j + 1]
            i = j + 1
            continue
        if ch in "([{":
            depth += 1
        elif ch in ")]}":
            if depth == 0:
                args.append(cur.strip())
                return args
            depth -= 1
        elif ch == "," and depth == 0:
            args.append(cur.strip())
            cur = ""
            i += 1
            continue
        cur += ch
        i += 1
    raise AssertionError("unbalanced call at %d" % start)


def json_objects(source):
    """Each json_pack() of an object in source: (event name or None, keys)."""
    out = []
    for m in re.finditer(r"\bjson_pack\(", source):
        args = call_args(source, m.end() - 1)
        fmt = args[0].strip('"')
        specs = re.findall(r"s:(s%|s\?|[a-zA-Z])", fmt)
        keys, values, i = [], {}, 1
        for spec in specs:
            key = args[i].strip('"')
            i += 1
            keys.append(key)
            values[key] = args[i]
            i += 2 if spec == "s%" else 1
        event = values.get("event", "").strip('"') or None
        out.append((event, keys))
    return out


def functions(source):
    """source cut into its top-level functions: name -> body."""
    parts = {}
    for m in re.finditer(r"^(?:static )?[a-z].*?\b(\w+)\((?:[^;{]*?)\)\n\{\n(.*?)^\}",
                         source, re.S | re.M):
        parts[m.group(1)] = m.group(2)
    return parts


def page_lines_starting(page, prefix):
    return [l for l in page.splitlines() if l.startswith(prefix)]


class ManPageTest(unittest.TestCase):
    def test_every_code_the_node_emits_is_in_its_manual_page(self):
        codes = node_codes()
        self.assertGreater(len(codes), 20, "the code scan found too little: %s" % codes)
        self.assertIn("internal", codes, "the scan missed fe_json.c's literal event")
        missing = sorted(codes - page_words(NODE_PAGE))
        self.assertEqual(missing, [], "%s lacks these codes" % NODE_PAGE)

    def help_options(self, *argv):
        p = subprocess.run(list(argv) + ["--help"], capture_output=True, text=True,
                           timeout=cove.TIMEOUT)
        self.assertEqual(p.returncode, 0, p.stderr)
        opts = set()
        for line in p.stdout.splitlines():
            # the usage, option lines (spaces, then the option), and
            # cove-keys's command lines (spaces, the command, its options)
            if (line.startswith("Usage:") or re.match(r"\s+-", line) or
                    re.match(r"\s+[a-z]+\s+-", line)):
                opts.update(re.findall(r"(?<![\w-])(--[a-z][a-z-]*|-[a-zA-Z])\b", line))
        self.assertTrue(opts, "no options found in %s --help" % argv[0])
        return opts

    def test_every_option_of_the_help_is_in_the_manual_page(self):
        for prog, page in ((cove.NODE, NODE_PAGE), (cove.RELAY, RELAY_PAGE),
                           (cove.KEYS, KEYS_PAGE)):
            text = read(page)
            opts = self.help_options(prog)
            if prog == cove.KEYS:
                for cmd in ("generate", "public", "add", "remove", "list", "check"):
                    opts |= self.help_options(prog, cmd)
            missing = sorted(o for o in opts if roff(o) not in text)
            self.assertEqual(missing, [], "%s lacks options of %s --help" % (page, prog))

    def test_every_terminal_command_is_in_the_node_page(self):
        cmds = set(re.findall(r'strcmp\(cmd, "(/[a-z]+)"\)', read("node/fe_tty.c")))
        self.assertGreaterEqual(len(cmds), 8, cmds)
        page = read(NODE_PAGE)
        missing = sorted(c for c in cmds if not re.search(re.escape(c) + r"\b", page))
        self.assertEqual(missing, [], "%s lacks these terminal commands" % NODE_PAGE)

    def test_every_json_command_and_field_is_in_the_node_page(self):
        src = read("node/fe_json.c")
        page = read(NODE_PAGE)
        cmd_lines = page_lines_starting(page, '{"cmd":')
        cmds = set(re.findall(r'strcmp\(name, "([a-z_]+)"\)', src))
        fields = set(re.findall(r'json_object_get\(cmd, "([a-z_]+)"\)', src))
        self.assertGreaterEqual(len(cmds), 6, cmds)
        missing = sorted(c for c in cmds
                         if not any(l.startswith('{"cmd":"%s"' % c) for l in cmd_lines))
        self.assertEqual(missing, [], "%s lacks these JSON commands" % NODE_PAGE)
        missing = sorted(f for f in fields if not any('"%s"' % f in l for l in cmd_lines))
        self.assertEqual(missing, [], "%s lacks these fields of JSON commands" % NODE_PAGE)

    def test_every_json_event_and_field_is_in_the_node_page(self):
        src = read("node/fe_json.c")
        page = read(NODE_PAGE)
        ev_lines = page_lines_starting(page, '{"event":')
        found = set()
        for body in functions(src).values():
            added = re.findall(r'json_object_set_new\(ev, "([a-z_]+)"', body)
            for event, keys in json_objects(body):
                if event is None:
                    # an object inside an event (who's members): its keys
                    # are listed together in that event's line
                    self.assertTrue(any(all('"%s"' % k in l for k in keys) for l in ev_lines),
                                    "%s lacks an object with the fields %s" % (NODE_PAGE, keys))
                    continue
                found.add(event)
                lines = [l for l in ev_lines if l.startswith('{"event":"%s"' % event)]
                self.assertTrue(lines, "%s lacks the event %r" % (NODE_PAGE, event))
                for k in keys + added:
                    self.assertTrue(any('"%s"' % k in l for l in lines),
                                    "%s: event %r lacks its field %r" % (NODE_PAGE, event, k))
        for want in ("message", "presence", "missed", "unread", "history_end", "left"):
            self.assertIn(want, found, "the event scan missed %r" % want)
        # and --help names every one (it points to the page for the rest)
        helptext = " ".join(subprocess.run([cove.NODE, "--help"], capture_output=True,
                                           text=True, timeout=10).stdout.split())
        listed = helptext.split("events:", 1)[1]
        for event in sorted(found):
            self.assertRegex(listed, r"\b%s\b" % event, "cove-node --help lacks the event %r" % event)

    def test_every_counter_of_the_relay_is_in_its_page_and_in_operations(self):
        src = read("rendezvous/server.c")
        m = re.search(r'log_info\("stats: (.*?)",\s*\n', src, re.S)
        self.assertIsNotNone(m, "no stats line in rendezvous/server.c")
        names = re.findall(r"(\w+)=%", m.group(1).replace('"\n', "").replace('\t', ""))
        self.assertIn("store_failures", names)
        self.assertIn("caught_up", names)
        words = page_words(RELAY_PAGE)
        missing = sorted(n for n in names if n not in words)
        self.assertEqual(missing, [], "%s lacks these counters" % RELAY_PAGE)
        ops = read("docs/OPERATIONS.md")
        missing = sorted(n for n in names if not re.search(r"`[^`\n]*\b%s\b[^`\n]*`" % n, ops))
        self.assertEqual(missing, [], "docs/OPERATIONS.md lacks these counters")

    def test_the_files_the_programs_keep_are_in_files_sections(self):
        store = re.search(r'#define DEFAULT_STORE "([^"]+)"', read("rendezvous/run.c")).group(1)
        relay = read(RELAY_PAGE)
        files = relay[relay.index(".SH FILES"):]
        for f in (store, store + "-wal"):
            self.assertIn(roff(f), files, "%s's FILES lacks %s" % (RELAY_PAGE, f))
        node = read(NODE_PAGE)
        files = node[node.index(".SH FILES"):]
        for f in ("$XDG_DATA_HOME/cove/KEYID.db", "~/.local/share/cove/KEYID.db",
                  "KEYID.db-wal"):
            self.assertIn(roff(f), files, "%s's FILES lacks %s" % (NODE_PAGE, f))


if __name__ == "__main__":
    unittest.main()
