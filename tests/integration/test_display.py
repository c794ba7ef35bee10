"""What a node shows.

Text from others cannot rearrange a line on a terminal or in a pipe's
output: Unicode's bidirectional controls and the invisible format
characters are shown as <U+XXXX>, as control characters are shown in
caret notation, while --json hands programs the exact text.
"""

import os
import shutil
import subprocess
import time
import unittest

from cove import NODE, TIMEOUT, CoveTest, Lines

# What an attacker sends, and what a terminal or a pipe must show of it.
TRICKS = [
    # U+202E RIGHT-TO-LEFT OVERRIDE: would show as "invoiceexe.png"
    ("invoice\u202egnp.exe", "invoice<U+202E>gnp.exe"),
    # isolates, marks and embeddings
    ("a\u2067b\u2069 \u200fc\u200e \u202bd\u202c \u061ce",
     "a<U+2067>b<U+2069> <U+200F>c<U+200E> <U+202B>d<U+202C> <U+061C>e"),
    # invisible ones, and a line separator
    ("pay\u200bpal \u2060wj \ufeffbom one\u2028two",
     "pay<U+200B>pal <U+2060>wj <U+FEFF>bom one<U+2028>two"),
]
RAW = ("\u202e", "\u2067", "\u2069", "\u200f", "\u200e", "\u202b", "\u202c", "\u061c",
       "\u200b", "\u2060", "\ufeff", "\u2028")


def wait_for(pred, what, timeout=TIMEOUT):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        v = pred()
        if v:
            return v
        time.sleep(0.02)
    raise AssertionError("timed out waiting for %s" % what)


class DisplayTest(CoveTest):
    def node_args(self, name, json):
        w = self.world
        args = [NODE, "-k", w.key(name), "-w", w.whitelist, "-s", w.relay.addr,
                "-S", w.relay.pub, "-r", "lobby"]
        return args + (["--json"] if json else [])

    def pipe_node(self, name):
        p = subprocess.Popen(self.node_args(name, json=False), stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                             encoding="utf-8", errors="surrogateescape", bufsize=1)
        self.world.procs.append(p)
        p.out = Lines(p.stdout, name + "-out")
        p.err = Lines(p.stderr, name + "-err")
        wait_for(lambda: any("[lobby] ready" in l for l in p.err.snapshot()),
                 "%s's ready line" % name)
        return p

    def test_pipe_receiver_shows_bidi_and_invisible_characters_visibly(self):
        w = self.world
        w.start_relay()
        alice = w.node("alice", ["lobby"])
        alice.ready("lobby")
        bob = self.pipe_node("bob")
        for text, _ in TRICKS:
            alice.say(text)
        wait_for(lambda: len(bob.out.snapshot()) >= len(TRICKS), "every message")
        self.assertEqual(bob.out.snapshot(),
                         ["[lobby] alice: " + shown for _, shown in TRICKS])
        out = "\n".join(bob.out.snapshot())
        for raw in RAW:
            self.assertNotIn(raw, out, "U+%04X reached the pipe as it is" % ord(raw))

    def test_json_receiver_gets_the_exact_text(self):
        w = self.world
        w.start_relay()
        alice = w.node("alice", ["lobby"])
        alice.ready("lobby")
        carol = w.node("carol", ["lobby"])
        carol.ready("lobby")
        for text, _ in TRICKS:
            alice.say(text)
        carol.wait(lambda e: len(carol.messages()) >= len(TRICKS), what="every message")
        self.assertEqual([m["text"] for m in carol.messages()], [t for t, _ in TRICKS])

    @unittest.skipUnless(shutil.which("tmux"), "tmux is not installed")
    def test_terminal_receiver_shows_bidi_controls_visibly(self):
        w = self.world
        w.start_relay()
        session = "covedisplay%d" % os.getpid()

        def tmux(*args):
            return subprocess.run(["tmux", "-L", "cove-test"] + list(args),
                                  capture_output=True, text=True, timeout=TIMEOUT)

        self.addCleanup(tmux, "kill-session", "-t", session)
        r = tmux("new-session", "-d", "-s", session, "-x", "150", "-y", "20",
                 " ".join(self.node_args("alice", json=False)))
        self.assertEqual(r.returncode, 0, r.stderr)
        screen = lambda: tmux("capture-pane", "-t", session, "-p").stdout
        wait_for(lambda: "the room's key is yours" in screen(), "alice's ready line")
        bob = w.node("bob", ["lobby"])
        bob.ready("lobby")
        bob.say(TRICKS[0][0])
        s = wait_for(lambda: "bob: invoice" in screen() and screen(), "bob's message")
        self.assertIn("bob: invoice<U+202E>gnp.exe", s)
        self.assertNotIn("\u202e", s)


if __name__ == "__main__":
    unittest.main()
