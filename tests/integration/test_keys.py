"""cove-keys: identities and whitelist files."""

import base64
import os
import re
import shutil
import stat
import subprocess
import tempfile
import unittest

from cove import KEYS, TIMEOUT, run


# base64 of 32 bytes that no secret key has as its public key
NO_ONES_KEYS = {
    "all zero (order 4)": "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
    "the identity": "AQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
    "a point of order 8": "JuiVj8KyJ7BFw/SJ8u+Y8NXfrAXTxjM5sTgCiG1T/AU=",
    "y = p, not canonical": "7f///////////////////////////////////////38=",
    "y = 2, not on the curve": "AgAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
}

KEYFILE_PK_OFFSET = 64  # the public key's place in a key file's record


def swap_public_key(path, pk):
    """Puts the 32 bytes pk where the key file at path keeps its public key."""
    with open(path) as f:
        comment, b64 = f.read().splitlines()[:2]
    rec = bytearray(base64.b64decode(b64))
    rec[KEYFILE_PK_OFFSET:KEYFILE_PK_OFFSET + 32] = pk
    with open(path, "w") as f:
        f.write("%s\n%s\n" % (comment, base64.b64encode(bytes(rec)).decode()))


class KeysTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="cove-keys-test-")
        self.addCleanup(shutil.rmtree, self.dir, True)

    def path(self, name):
        return os.path.join(self.dir, name)

    def generate(self, name, *extra):
        return run(KEYS, "generate", "-o", self.path(name), *extra, input="").stdout.strip()

    def public(self, name):
        return run(KEYS, "public", "-k", self.path(name)).stdout.strip()

    def read(self, name):
        with open(self.path(name)) as f:
            return f.read()

    def list_members(self, wl):
        """(name, key) pairs that `cove-keys list` prints, in order."""
        return [tuple(l.split()[:2]) for l in run(KEYS, "list", "-w", wl).stdout.splitlines()]

    def test_generate_writes_a_0600_file_and_prints_its_public_key(self):
        pub = self.generate("id.key")
        mode = stat.S_IMODE(os.stat(self.path("id.key")).st_mode)
        self.assertEqual(mode, 0o600, "key file mode %04o" % mode)
        self.assertEqual(len(pub), 44, pub)
        self.assertEqual(len(base64.b64decode(pub, validate=True)), 32)
        self.assertEqual(pub, self.public("id.key"))
        self.assertNotEqual(pub, self.generate("other.key"), "two keys came out the same")

    def test_generate_refuses_to_overwrite_a_key_without_f(self):
        pub = self.generate("id.key")
        before = self.read("id.key")
        p = run(KEYS, "generate", "-o", self.path("id.key"), input="", check=False)
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("already exists", p.stderr)
        self.assertIn("-f", p.stderr)
        self.assertEqual(p.stdout, "")
        self.assertEqual(self.read("id.key"), before)
        self.assertEqual(self.public("id.key"), pub)
        replaced = self.generate("id.key", "-f")
        self.assertNotEqual(replaced, pub)
        self.assertEqual(self.public("id.key"), replaced)

    def test_add_remove_and_list_round_trip(self):
        wl = self.path("whitelist")
        keys = {n: self.generate(n + ".key") for n in ("alice", "bob", "carol")}
        for n, k in keys.items():
            run(KEYS, "add", "-w", wl, n, k)
        self.assertEqual(self.list_members(wl), list(keys.items()))
        run(KEYS, "remove", "-w", wl, "bob")
        self.assertEqual(self.list_members(wl),
                         [("alice", keys["alice"]), ("carol", keys["carol"])])
        run(KEYS, "add", "-w", wl, "bob", keys["bob"])
        self.assertEqual(self.list_members(wl), [("alice", keys["alice"]),
                                                 ("carol", keys["carol"]),
                                                 ("bob", keys["bob"])])
        self.assertEqual(run(KEYS, "check", "-w", wl).returncode, 0)

    def test_check_reports_file_and_line_of_every_bad_line(self):
        a, b, c = (self.generate(n) for n in ("a.key", "b.key", "c.key"))
        wl = self.path("whitelist")
        lines = [
            "alice %s" % a,            # 1 good
            "# a comment",             # 2
            "lonely",                  # 3 one field
            "bad/name %s" % b,         # 4 invalid name
            "carol not-a-key",         # 5 invalid key
            "alice %s" % b,            # 6 duplicate name
            "dave %s" % a,             # 7 duplicate key
            "",                        # 8
            "erin %s  # trailing" % c,  # 9 good
            "frank %s extra" % b,      # 10 three fields
        ]
        with open(wl, "w") as f:
            f.write("\n".join(lines) + "\n")
        p = run(KEYS, "check", "-w", wl, check=False)
        self.assertNotEqual(p.returncode, 0)
        reported = {int(n) for n in re.findall(r"^%s:(\d+):" % re.escape(wl), p.stderr,
                                               flags=re.M)}
        self.assertEqual(reported, {3, 4, 5, 6, 7, 10}, p.stderr)

    def test_check_accepts_a_good_whitelist(self):
        wl = self.path("whitelist")
        run(KEYS, "add", "-w", wl, "alice", self.generate("a.key"))
        p = run(KEYS, "check", "-w", wl, check=False)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(p.stderr, "")

    def test_add_refuses_a_duplicate_name_or_key(self):
        wl = self.path("whitelist")
        a, b = self.generate("a.key"), self.generate("b.key")
        run(KEYS, "add", "-w", wl, "alice", a)
        before = self.read("whitelist")
        for what, name, key in (("the same name", "alice", b), ("the same key", "bob", a)):
            with self.subTest(what):
                p = run(KEYS, "add", "-w", wl, name, key, check=False)
                self.assertNotEqual(p.returncode, 0)
                self.assertIn("already", p.stderr)
                self.assertIn("%s:1:" % wl, p.stderr, "should name the line it clashes with")
                self.assertEqual(self.read("whitelist"), before)

    def test_add_refuses_a_key_that_cannot_be_anyones(self):
        wl = self.path("whitelist")
        run(KEYS, "add", "-w", wl, "alice", self.generate("a.key"))
        before = self.read("whitelist")
        for what, key in NO_ONES_KEYS.items():
            with self.subTest(what):
                p = run(KEYS, "add", "-w", wl, "mallory", key, check=False)
                self.assertEqual(p.returncode, 1, p.stderr)
                self.assertIn("'%s' cannot be anyone's public key" % key, p.stderr)
                self.assertIn("not a usable Ed25519 key", p.stderr)
                self.assertIn("cove-keys public", p.stderr, "should say what to use instead")
                self.assertEqual(self.read("whitelist"), before)

    def test_check_reports_a_key_that_cannot_be_anyones_as_file_line(self):
        wl = self.path("whitelist")
        with open(wl, "w") as f:
            f.write("alice %s\n# the next one was pasted wrong\nzero %s\nbob %s\n" % (
                self.generate("a.key"), NO_ONES_KEYS["all zero (order 4)"],
                self.generate("b.key")))
        p = run(KEYS, "check", "-w", wl, check=False)
        self.assertEqual(p.returncode, 1, p.stderr)
        lines = p.stderr.splitlines()
        self.assertEqual(len(lines), 2, p.stderr)
        self.assertEqual(lines[0], "%s:3: '%s' is not a usable Ed25519 public key (of small "
                         "order, or not a canonical curve point); ask zero for the key "
                         "'cove-keys public' prints, or remove the line"
                         % (wl, NO_ONES_KEYS["all zero (order 4)"]))
        self.assertEqual(lines[1], "%s: 1 error" % wl)

    def test_remove_takes_out_a_line_whose_key_cannot_be_anyones(self):
        wl = self.path("whitelist")
        alice = self.generate("a.key")
        with open(wl, "w") as f:
            f.write("alice %s\nzero %s\n" % (alice, NO_ONES_KEYS["all zero (order 4)"]))
        self.assertEqual(run(KEYS, "list", "-w", wl, check=False).returncode, 1)
        run(KEYS, "remove", "-w", wl, "zero")
        self.assertEqual(self.read("whitelist"), "alice %s\n" % alice)
        self.assertEqual(run(KEYS, "check", "-w", wl, check=False).returncode, 0)

    def test_public_refuses_a_key_file_whose_public_key_is_not_its_own(self):
        self.generate("id.key")
        other = base64.b64decode(self.generate("other.key"))
        cases = (("another's", other, "is not the one its secret key gives"),
                 ("no one's", bytes(32), "cannot be anyone's"))
        for what, pk, says in cases:
            with self.subTest(what):
                swap_public_key(self.path("id.key"), pk)
                p = run(KEYS, "public", "-k", self.path("id.key"), check=False)
                self.assertEqual(p.returncode, 1, p.stderr)
                self.assertEqual(p.stdout, "", "printed a public key that is not its own")
                self.assertIn("key file '%s' is damaged: the public key stored in it %s"
                              % (self.path("id.key"), says), p.stderr)
                self.assertIn("cove-keys generate", p.stderr)

    def test_twenty_concurrent_adds_lose_nothing(self):
        wl = self.path("whitelist")
        keys = {"member%02d" % i: self.generate("m%02d.key" % i) for i in range(20)}
        procs = [subprocess.Popen([KEYS, "add", "-w", wl, n, k], stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True)
                 for n, k in keys.items()]
        try:
            results = [p.communicate(timeout=TIMEOUT) + (p.returncode,) for p in procs]
        finally:
            for p in procs:
                if p.poll() is None:
                    p.kill()
                    p.wait()
        for (out, err, rc), n in zip(results, keys):
            self.assertEqual(rc, 0, "add %s: %s" % (n, err))
        self.assertEqual(sorted(self.list_members(wl)), sorted(keys.items()))
        self.assertEqual(run(KEYS, "check", "-w", wl, check=False).returncode, 0)
        self.assertEqual([f for f in os.listdir(self.dir) if ".tmp." in f], [],
                         "temporary files left behind")


if __name__ == "__main__":
    unittest.main()
