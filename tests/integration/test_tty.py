"""The interactive front-end, driven through a real terminal (tmux)."""

import os
import shutil
import subprocess
import time
import unittest

import cove
from cove import CoveTest


def tmux(*args):
    return subprocess.run(["tmux", "-L", "cove-test"] + list(args), capture_output=True,
                          text=True, timeout=cove.TIMEOUT)


@unittest.skipUnless(shutil.which("tmux"), "tmux is not installed")
class TerminalTest(CoveTest):
    def setUp(self):
        super().setUp()
        self.session = "cove%d" % os.getpid()
        self.addCleanup(tmux, "kill-session", "-t", self.session)

    def start_in_tmux(self, name, rooms):
        w = self.world
        cmd = [cove.NODE, "-k", w.key(name), "-w", w.whitelist, "-s", w.relay.addr,
               "-S", w.relay.pub]
        for r in rooms:
            cmd += ["-r", r]
        r = tmux("new-session", "-d", "-s", self.session, "-x", "120", "-y", "20",
                 " ".join(cmd))
        self.assertEqual(r.returncode, 0, r.stderr)

    def screen(self):
        return tmux("capture-pane", "-t", self.session, "-p").stdout

    def wait_screen(self, pred, what):
        deadline = time.monotonic() + cove.TIMEOUT
        while time.monotonic() < deadline:
            s = self.screen()
            if pred(s):
                return s
            time.sleep(0.05)
        self.fail("the terminal never showed %s:\n%s" % (what, self.screen()))

    def keys(self, *keys):
        tmux("send-keys", "-t", self.session, *keys)

    def test_a_message_arriving_while_typing_leaves_the_typed_line_intact(self):
        w = self.world
        w.start_relay()
        self.start_in_tmux("alice", ["lobby"])
        self.wait_screen(lambda s: "the room's key is yours" in s, "the ready line")
        self.keys("-l", "half a sent")
        self.wait_screen(lambda s: "[lobby]> half a sent" in s, "the typed text")
        bob = w.node("bob", ["lobby"])
        bob.ready("lobby")
        bob.say("interrupting \x1b[31mred\x1b[0m")
        s = self.wait_screen(lambda s: "bob: interrupting" in s, "bob's message")
        lines = [l for l in s.splitlines() if l.strip()]
        self.assertIn("bob: interrupting ^[[31mred^[[0m", lines[-2],
                      "the message should sit above the prompt, escapes made visible")
        self.assertEqual(lines[-1], "[lobby]> half a sent",
                         "the line being typed must be redrawn intact")
        self.keys("-l", "ence")
        self.keys("Enter")
        self.assertEqual(bob.wait_event("message")["text"], "half a sentence")
        self.wait_screen(lambda s: "alice: half a sentence" in s, "alice's own line")

    def test_keys_typed_after_ctrl_d_do_not_crash_the_node(self):
        w = self.world
        w.start_relay(extra=["--join-timeout", "60000"])
        bob = w.node("bob", ["lobby"])
        bob.ready("lobby")
        # alice stays joining (bob is frozen, so nobody answers her), so
        # Ctrl-D leaves her waiting to quit while more keys arrive
        bob.p.send_signal(__import__("signal").SIGSTOP)
        self.addCleanup(lambda: bob.p.poll() is None and
                        bob.p.send_signal(__import__("signal").SIGCONT))
        r = tmux("new-session", "-d", "-s", self.session, "-x", "120", "-y", "20",
                 "%s -k %s -w %s -s %s -S %s -r lobby; echo EXIT=$?; sleep 30" % (
                     cove.NODE, w.key("alice"), w.whitelist, w.relay.addr, w.relay.pub))
        self.assertEqual(r.returncode, 0, r.stderr)
        self.wait_screen(lambda s: "connected to the rendezvous" in s, "the connection")
        self.keys("C-d")
        time.sleep(0.2)
        self.keys("-l", "x")
        self.keys("Enter")
        s = self.wait_screen(lambda s: "EXIT=" in s, "the node's exit")
        self.assertNotIn("EXIT=134", s, "the node aborted")
        self.assertNotIn("called with no handler", s)

    def test_who_lists_members_with_fingerprints_and_quit_makes_us_away(self):
        w = self.world
        w.start_relay()
        bob = w.node("bob", ["lobby"])
        bob.ready("lobby")
        self.start_in_tmux("alice", ["lobby"])
        self.wait_screen(lambda s: "joined; here: bob" in s, "the ready line")
        self.keys("/who", "Enter")
        fp_line = self.wait_screen(lambda s: "(you)" in s and "bob " in s, "the member list")
        bob_fp = cove.run(cove.KEYS, "list", "-w", w.whitelist).stdout
        bob_fp = [l for l in bob_fp.splitlines() if l.startswith("bob ")][0].split("  ")[-1]
        self.assertIn(bob_fp.strip(), fp_line)
        self.keys("/quit", "Enter")
        bob.wait_event("presence", who="alice", state="away")
        bob.drain(0.5)
        self.assertNotIn("left", [e.get("event") for e in bob.events])

    def test_leave_says_so_and_the_others_see_us_leave(self):
        w = self.world
        w.start_relay()
        bob = w.node("bob", ["lobby"])
        bob.ready("lobby")
        self.start_in_tmux("alice", ["lobby"])
        self.wait_screen(lambda s: "joined; here: bob" in s, "the ready line")
        self.keys("/leave", "Enter")
        self.wait_screen(lambda s: "[lobby] you left the room; no rooms left" in s,
                         "the leave line")
        bob.wait_event("left", name="alice")
        bob.wait_event("epoch")
        self.keys("/quit", "Enter")


if __name__ == "__main__":
    unittest.main()
