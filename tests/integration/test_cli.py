"""The command lines of cove-keys, cove-rendezvous and cove-node: help,
version, missing options, key file checks, passphrases, and the node's
pipe mode."""

import base64
import os
import re
import subprocess
import time
import unittest

from cove import CoveTest, DelayProxy, KEYS, NODE, RELAY, ROOT, TIMEOUT, Lines, run

PROGRAMS = {"cove-keys": KEYS, "cove-rendezvous": RELAY, "cove-node": NODE}


def makefile_version():
    with open(os.path.join(ROOT, "Makefile")) as f:
        for line in f:
            m = re.match(r"VERSION\s*:?=\s*(\S+)", line)
            if m:
                return m.group(1)
    raise AssertionError("no VERSION in the Makefile")


def wait_line(lines, pred, what, timeout=TIMEOUT):
    """Waits until a line collected by lines matches pred; returns it."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for l in lines.snapshot():
            if pred(l):
                return l
        time.sleep(0.02)
    raise AssertionError("timed out waiting for %s; lines: %s" % (what, lines.snapshot()))


class CliTest(CoveTest):
    members = ("alice", "bob")

    def run_briefly(self, *args):
        """Runs a program that should stop by itself; returns (status,
        stdout, stderr). Registered with the world, so it is killed if
        it does not."""
        p = subprocess.Popen(list(args), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
        self.world.procs.append(p)
        try:
            out, err = p.communicate(timeout=TIMEOUT)
        except subprocess.TimeoutExpired:
            p.kill()
            p.communicate()
            raise AssertionError("%s did not stop by itself" % (args,))
        return p.returncode, out, err

    def node_args(self, name, key=None, json=True):
        w = self.world
        args = [NODE, "-k", key or w.key(name), "-w", w.whitelist, "-s", w.relay.addr,
                "-S", w.relay.pub, "-r", "lobby"]
        return args + (["--json"] if json else [])

    # ---- --help, --version, missing options --------------------------------

    def test_help_exits_0_and_prints_usage_on_stdout(self):
        for prog, path in PROGRAMS.items():
            with self.subTest(prog=prog):
                rc, out, err = self.run_briefly(path, "--help")
                self.assertEqual(rc, 0, err)
                self.assertTrue(out.startswith("Usage: %s" % prog), out)
                self.assertEqual(err, "")

    def test_version_prints_the_makefiles_version(self):
        version = makefile_version()
        for prog, path in PROGRAMS.items():
            with self.subTest(prog=prog):
                rc, out, err = self.run_briefly(path, "--version")
                self.assertEqual(rc, 0, err)
                self.assertEqual(out, "%s %s\n" % (prog, version))

    def test_a_missing_required_option_exits_2_naming_it(self):
        w = self.world
        w.start_relay()
        node = self.node_args("alice")
        cases = [
            ("cove-keys generate without -o", [KEYS, "generate"], "-o"),
            ("cove-keys add without -w", [KEYS, "add", "x", w.pub("alice")], "-w"),
            ("cove-keys public without -k", [KEYS, "public"], "-k"),
            ("cove-rendezvous without -k", [RELAY, "-w", w.whitelist], "-k"),
            ("cove-rendezvous without -w", [RELAY, "-k", w.key("relay")], "-w"),
        ]
        for opt in ("-k", "-w", "-s", "-S", "-r"):
            i = node.index(opt)
            cases.append(("cove-node without " + opt, node[:i] + node[i + 2:], opt))
        for what, args, opt in cases:
            with self.subTest(what):
                rc, out, err = self.run_briefly(*args)
                self.assertEqual(rc, 2, err)
                self.assertRegex(err, r"(^|\W)%s(\W|$)" % re.escape(opt))

    def test_a_bad_duration_or_empty_path_exits_2_saying_what_is_allowed(self):
        w = self.world
        w.start_relay()  # for the node's -s and -S
        relay = [RELAY, "-k", w.key("relay"), "-w", w.whitelist, "-l", "127.0.0.1:0"]
        cases = [
            (relay + ["--member-expiry", "5x"], "'5x' must be a number of seconds, or a number "
             "with s, m, h or d"),
            (relay + ["--member-expiry", "11000d"], "'11000d' must be from 1 second to 10 years"),
            (relay + ["--member-expiry", "0"], "'0' must be from 1 second to 10 years"),
            (relay + ["--member-expiry", "5ms"], "'5ms' must be a number of seconds"),
            (relay + ["--store", ""], "--store '' names no file"),
            (self.node_args("alice") + ["--history", ""], "--history '' names no file"),
        ]
        for args, want in cases:
            with self.subTest(want):
                rc, out, err = self.run_briefly(*args)
                self.assertEqual(rc, 2, err)
                self.assertIn(want, err)

    # ---- key files -------------------------------------------------------------

    def test_a_key_file_readable_by_others_is_refused_with_chmod_600(self):
        w = self.world
        w.start_relay()
        os.chmod(w.key("alice"), 0o644)
        os.chmod(w.key("relay"), 0o644)
        for what, args in (("cove-node", self.node_args("alice")),
                           ("cove-rendezvous", [RELAY, "-k", w.key("relay"), "-w", w.whitelist,
                                                "-l", "127.0.0.1:0"])):
            with self.subTest(what):
                rc, out, err = self.run_briefly(*args)
                self.assertNotEqual(rc, 0)
                self.assertIn("chmod 600", err)
                self.assertNotIn("listening on", err)
                self.assertNotIn('"ready"', out)

    def encrypted_key(self, name, passphrase):
        w = self.world
        pf = os.path.join(w.dir, name + ".pass")
        with open(pf, "w") as f:
            f.write(passphrase + "\n")
        pub = run(KEYS, "generate", "-o", w.key(name), "--passphrase-file", pf).stdout.strip()
        w.pubs[name] = pub
        w.admit(name)
        return pf

    def test_an_encrypted_key_works_with_its_passphrase_file(self):
        w = self.world
        pf = self.encrypted_key("locked", "correct horse battery staple")
        w.start_relay()
        rc, out, err = self.run_briefly(*self.node_args("locked"))
        self.assertEqual(rc, 1, "the key is not encrypted: %s" % err)
        self.assertIn("--passphrase-file", err)
        node = w.node("locked", ["lobby"], extra=["--passphrase-file", pf])
        self.assertTrue(node.ready("lobby")["first"])
        alice = w.node("alice", ["lobby"])
        alice.ready("lobby")
        node.say("unlocked")
        self.assertEqual(alice.wait_event("message", **{"from": "locked"})["text"], "unlocked")

    def test_a_wrong_passphrase_fails_saying_so(self):
        w = self.world
        self.encrypted_key("locked", "correct horse battery staple")
        wrong = os.path.join(w.dir, "wrong.pass")
        with open(wrong, "w") as f:
            f.write("incorrect horse\n")
        w.start_relay()
        rc, out, err = self.run_briefly(*self.node_args("locked") + ["--passphrase-file", wrong])
        self.assertEqual(rc, 1, err)
        self.assertIn("wrong passphrase", err)
        self.assertNotIn('"ready"', out)

    # ---- keys that cannot be anyone's ---------------------------------------------

    ZERO_KEY = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="

    def test_node_refuses_a_server_key_that_cannot_be_anyones(self):
        w = self.world
        w.start_relay()
        args = self.node_args("alice")
        args[args.index(w.relay.pub)] = self.ZERO_KEY
        rc, out, err = self.run_briefly(*args)
        self.assertEqual(rc, 2, err)
        self.assertEqual(err, "cove-node: -S '%s' cannot be anyone's public key: it is not a "
                         "usable Ed25519 key (of small order, or not a canonical curve "
                         "point); use the key that 'cove-keys public' prints\n" % self.ZERO_KEY)
        self.assertEqual(out, "")

    def test_relay_and_node_refuse_a_whitelist_with_a_key_that_cannot_be_anyones(self):
        w = self.world
        w.start_relay()
        bad = os.path.join(w.dir, "bad-whitelist")
        with open(bad, "w") as f:
            f.write("alice %s\nzero %s\n" % (w.pub("alice"), self.ZERO_KEY))
        node = self.node_args("alice")
        node[node.index(w.whitelist)] = bad
        for what, args in (("cove-node", node),
                           ("cove-rendezvous", [RELAY, "-k", w.key("relay"), "-w", bad,
                                                "-l", "127.0.0.1:0"])):
            with self.subTest(what):
                rc, out, err = self.run_briefly(*args)
                self.assertNotEqual(rc, 0, err)
                self.assertIn("%s:2: '%s' is not a usable Ed25519 public key" % (
                    bad, self.ZERO_KEY), err)
                self.assertNotIn("listening on", err)
                self.assertNotIn('"ready"', out)

    def test_a_key_file_whose_public_key_is_not_its_own_is_refused(self):
        w = self.world
        w.start_relay()
        with open(w.key("alice")) as f:
            comment, b64 = f.read().splitlines()[:2]
        rec = bytearray(base64.b64decode(b64))
        rec[64:96] = base64.b64decode(w.pub("bob"))  # the public key's place in the record
        with open(w.key("alice"), "w") as f:
            f.write("%s\n%s\n" % (comment, base64.b64encode(bytes(rec)).decode()))
        for what, args in (("cove-node", self.node_args("alice")),
                           ("cove-rendezvous", [RELAY, "-k", w.key("alice"), "-w", w.whitelist,
                                                "-l", "127.0.0.1:0"])):
            with self.subTest(what):
                rc, out, err = self.run_briefly(*args)
                self.assertEqual(rc, 1, err)
                self.assertIn("key file '%s' is damaged: the public key stored in it is not "
                              "the one its secret key gives" % w.key("alice"), err)
                self.assertNotIn("listening on", err)
                self.assertNotIn('"ready"', out)

    # ---- pipe mode -------------------------------------------------------------

    def pipe_node(self, name):
        """cove-node without --json, stdin and stdout pipes."""
        p = subprocess.Popen(self.node_args(name, json=False), stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                             encoding="utf-8", errors="surrogateescape", bufsize=1)
        self.world.procs.append(p)
        p.out = Lines(p.stdout, name + "-out")
        p.err = Lines(p.stderr, name + "-err")
        wait_line(p.err, lambda l: "[lobby] ready" in l, "the pipe node's ready line")
        return p

    def test_pipe_mode_prints_each_message_as_room_name_text(self):
        w = self.world
        w.start_relay()
        alice = w.node("alice", ["lobby"])
        alice.ready("lobby")
        bob = self.pipe_node("bob")
        alice.say("hello, pipe")
        alice.say("second line")
        wait_line(bob.out, lambda l: "second line" in l, "the second message")
        self.assertEqual(bob.out.snapshot(), ["[lobby] alice: hello, pipe",
                                              "[lobby] alice: second line"])

    def test_pipe_mode_sends_each_input_line(self):
        w = self.world
        w.start_relay()
        alice = w.node("alice", ["lobby"])
        alice.ready("lobby")
        bob = self.pipe_node("bob")
        bob.stdin.write("first from the pipe\nsecond from the pipe\n")
        bob.stdin.close()  # end of input: quits once everything is sent
        self.assertEqual(bob.wait(timeout=TIMEOUT), 0, bob.err.snapshot())
        alice.wait(lambda e: len(alice.messages()) >= 2, what="2 messages")
        self.assertEqual([(m["from"], m["text"]) for m in alice.messages()],
                         [("bob", "first from the pipe"), ("bob", "second from the pipe")])

    def test_pipe_input_that_ends_before_the_handshake_is_still_sent(self):
        w = self.world
        w.start_relay()
        alice = w.node("alice", ["lobby"])
        alice.ready("lobby")
        # a slow network: stdin is at its end long before the handshake is
        slow = DelayProxy(w.relay, 0.05)
        self.addCleanup(slow.close)
        args = self.node_args("bob", json=False)
        args[args.index(w.relay.addr)] = slow.addr
        p = run(*args, input="hello from a script\n")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(alice.wait_event("message")["text"], "hello from a script")

    def test_pipe_mode_shows_one_character_messages(self):
        w = self.world
        w.start_relay()
        alice = w.node("alice", ["lobby"])
        alice.ready("lobby")
        bob = self.pipe_node("bob")
        alice.say("y")
        alice.say("\x1b")
        wait_line(bob.out, lambda l: l.endswith("^["), "the escape message")
        self.assertEqual(bob.out.snapshot(), ["[lobby] alice: y", "[lobby] alice: ^["])

    def test_json_mode_reports_an_unknown_command_with_multibyte_characters(self):
        w = self.world
        w.start_relay()
        alice = w.node("alice", ["lobby"])
        alice.ready("lobby")
        alice.send_cmd({"cmd": "\u00e9" * 30})
        ev = alice.wait_event("error", code="bad_command")
        self.assertIn("unknown command", ev["message"])

    def test_pipe_mode_makes_terminal_escapes_visible(self):
        w = self.world
        w.start_relay()
        alice = w.node("alice", ["lobby"])
        alice.ready("lobby")
        bob = self.pipe_node("bob")
        alice.say("\x1b[2Jcleared\x1b[31m red\x07 bell \u009b6n csi\x7f")
        alice.say("done")
        wait_line(bob.out, lambda l: "done" in l, "the last message")
        bob.stdin.close()
        self.assertEqual(bob.wait(timeout=TIMEOUT), 0)
        bob.out.t.join(TIMEOUT)
        out = "\n".join(bob.out.snapshot())
        for raw in ("\x1b", "\x07", "\u009b", "\x7f"):
            self.assertNotIn(raw, out, "a raw control character reached the pipe")
        self.assertIn("[lobby] alice: ^[[2Jcleared^[[31m red^G bell ?6n csi^?", out)


if __name__ == "__main__":
    unittest.main()
