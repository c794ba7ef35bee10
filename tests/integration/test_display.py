"""What a node shows and how it reads its input.

Text from others cannot rearrange a line on a terminal or in a pipe's
output: Unicode's bidirectional controls and the invisible format
characters are shown as <U+XXXX>, as control characters are shown in
caret notation, while --json hands programs the exact text. And standard
input that epoll cannot watch (a regular file, /dev/null) is read to its
end without a word from libevent, whose own lines go through Cove's log.
"""

import os
import re
import shutil
import subprocess
import time
import unittest

import cove
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

# A line of stderr that Cove wrote: "cove-node: ..." or a log line.
COVE_LINE = re.compile(r"^(cove-node: |\d{4}-\d\d-\d\dT[\d:.]+Z (error|warn |info |debug) )")


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

    def json_texts_from_alice(self, texts):
        """alice says texts; returns the texts of the message events carol's
        JSON node wrote for them."""
        w = self.world
        w.start_relay()
        alice = w.node("alice", ["lobby"])
        alice.ready("lobby")
        carol = w.node("carol", ["lobby"])
        carol.ready("lobby")
        for text in texts:
            alice.say(text)
        carol.wait(lambda e: len(carol.messages()) >= len(texts), what="every message")
        return [m["text"] for m in carol.messages()]

    def test_json_receiver_gets_the_exact_text(self):
        texts = [t for t, _ in TRICKS]
        self.assertEqual(self.json_texts_from_alice(texts), texts)

    def test_json_receiver_gets_quotes_backslashes_and_control_characters_exactly(self):
        """The node writes message events itself (not through jansson):
        every character JSON must escape comes out escaped, and back as
        it was sent."""
        texts = ['say "hi"', "back\\slash\\", "tab\there\r\nnew", "\x01\x08\x0c\x1f\x7f",
                 "\u00e9t\u00e9 \U0001f600 \u2028", "}{\"event\":\"error\"}"]
        self.assertEqual(self.json_texts_from_alice(texts), texts)

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


class ScriptedInputTest(CoveTest):
    """cove-node with standard input from a file or /dev/null, as a bot
    under systemd or `cove-node --json < commands.txt` runs it."""

    def run_node(self, name, stdin, json=True, env=None):
        """Runs a node to its end; returns (status, stdout, stderr)."""
        w = self.world
        args = [NODE, "-k", w.key(name), "-w", w.whitelist, "-s", w.relay.addr,
                "-S", w.relay.pub, "-r", "lobby"] + (["--json"] if json else [])
        full_env = dict(os.environ, **(env or {}))
        p = subprocess.Popen(args, stdin=stdin, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True, env=full_env)
        w.procs.append(p)
        try:
            out, err = p.communicate(timeout=TIMEOUT)
        except subprocess.TimeoutExpired:
            p.kill()
            out, err = p.communicate()
            raise AssertionError("the node did not finish its input; stderr: %s" % err)
        return p.returncode, out, err

    def write(self, name, text):
        path = os.path.join(self.world.dir, name)
        with open(path, "w") as f:
            f.write(text)
        return path

    def assert_only_coves_lines(self, err):
        for line in err.splitlines():
            self.assertRegex(line, COVE_LINE, "a line on stderr that Cove did not write")
        self.assertNotIn("[warn]", err)
        self.assertNotIn("Epoll", err)

    def test_json_commands_from_a_regular_file_run_with_only_coves_lines_on_stderr(self):
        w = self.world
        w.start_relay()
        alice = w.node("alice", ["lobby"])
        alice.ready("lobby")
        # no "quit": the end of the file ends the node, once all is sent
        path = self.write("commands.txt", '{"cmd":"send","text":"one from a file"}\n'
                                          '{"cmd":"send","text":"two from a file"}\n')
        with open(path) as f:
            rc, out, err = self.run_node("bob", f)
        self.assertEqual(rc, 0, err)
        self.assert_only_coves_lines(err)
        self.assertIn('"event":"ready"', out)
        alice.wait(lambda e: len(alice.messages()) >= 2, what="2 messages")
        self.assertEqual([m["text"] for m in alice.messages()],
                         ["one from a file", "two from a file"])

    def test_pipe_mode_sends_every_line_of_a_file_larger_than_one_read(self):
        w = self.world
        w.start_relay()
        alice = w.node("alice", ["lobby"])
        alice.ready("lobby")
        lines = [str(i) * 5000 for i in range(5)]  # 25 kB: the node reads 16 kB a turn
        path = self.write("lines.txt", "".join(l + "\n" for l in lines))
        with open(path) as f:
            rc, out, err = self.run_node("bob", f, json=False)
        self.assertEqual(rc, 0, err)
        self.assert_only_coves_lines(err)
        alice.wait(lambda e: len(alice.messages()) >= 5, what="5 messages")
        self.assertEqual([m["text"] for m in alice.messages()], lines)

    def test_stdin_from_dev_null_ends_the_node_with_only_coves_lines_on_stderr(self):
        w = self.world
        w.start_relay()
        for json in (True, False):
            with self.subTest(json=json):
                rc, out, err = self.run_node("bob", subprocess.DEVNULL, json=json)
                self.assertEqual(rc, 0, err)
                self.assert_only_coves_lines(err)

    def test_libevents_own_lines_go_through_coves_log(self):
        w = self.world
        w.start_relay()
        # EVENT_SHOW_METHOD makes libevent say which backend it uses
        rc, out, err = self.run_node("bob", subprocess.DEVNULL,
                                     env={"EVENT_SHOW_METHOD": "1"})
        self.assertEqual(rc, 0, err)
        self.assert_only_coves_lines(err)
        self.assertRegex(err, r"(?m)^\S+Z info  libevent: libevent using: \w+$")


if __name__ == "__main__":
    unittest.main()
