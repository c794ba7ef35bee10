"""Hostile or broken peers cost nobody else anything."""

import os
import resource
import socket
import struct
import threading
import time
import unittest

import cove
import hostile as h
from cove import CoveTest, TIMEOUT


def connect(relay):
    s = socket.create_connection((relay.host, relay.port), timeout=TIMEOUT)
    return s


def recv_exactly(s, n):
    buf = b""
    while len(buf) < n:
        chunk = s.recv(n - len(buf))
        if not chunk:
            break
        buf += chunk
    return buf


class HandshakeTest(CoveTest):
    members = ("alice",)

    def _hello_answer(self, version):
        """What the relay answers a HELLO of `version`, and whether it then
        closed the connection."""
        s = connect(self.world.relay)
        self.addCleanup(s.close)
        # HELLO: [version, 16, bin32, bin32]
        hello = bytes([0x94, version, 0x10, 0xc4, 0x20]) + bytes(32) + bytes([0xc4, 0x20]) + \
            bytes(32)
        s.sendall(struct.pack(">I", len(hello)) + hello)
        hdr = recv_exactly(s, 4)
        self.assertEqual(len(hdr), 4, "the relay closed without answering")
        body = recv_exactly(s, struct.unpack(">I", hdr)[0])
        return body, s.recv(1) == b""

    def test_a_hello_of_another_version_is_answered_with_version_2(self):
        self.world.start_relay()
        for version in (1, 3, 0, 127):
            body, closed = self._hello_answer(version)
            self.assertEqual(body, bytes([0x92, 0x02, 0x14]),
                             "HELLO of version %d: expected VERSION [2, 20]" % version)
            self.assertTrue(closed, "the relay should close after VERSION")

    def test_a_version_1_client_learns_that_the_relay_speaks_version_2(self):
        w = self.world
        w.start_relay()
        c = h.Client.for_relay(w.relay, h.Identity.from_keyfile(w.key("alice")), version=1)
        self.addCleanup(c.close)
        with self.assertRaises(h.VersionRefused) as cm:
            c.start_handshake()
        self.assertEqual(cm.exception.version, 2)
        # the relay's log names both versions
        w.relay.wait_log("the client speaks protocol version 1, this relay version 2")
        # and a version-2 client of the same identity is welcome
        c2 = h.Client.for_relay(w.relay, h.Identity.from_keyfile(w.key("alice")))
        self.addCleanup(c2.close)
        self.assertEqual(c2.handshake()["type"], h.WLC)

    def test_a_node_facing_a_relay_of_another_version_names_both_versions(self):
        """A relay that answers the node's HELLO with VERSION [v, 20]: the
        node gives up (retrying cannot help) and says which version each
        side speaks."""
        w = self.world
        for other in (1, 3):
            fake = FakeRelay(w.pub("relay"), bytes([0x92, other, 0x14]))
            self.addCleanup(fake.close)
            node = w.node("alice", ["lobby"], relay=fake)
            err = node.wait_event("error")
            self.assertIn("version %d" % other, err["message"])
            self.assertIn("this node 2", err["message"])
            self.assertEqual(fake.hellos[0][:3], bytes([0x94, 0x02, 0x10]),
                             "the node's HELLO is not of version 2")


class FakeRelay:
    """A listener that answers every HELLO with the given bytes (in a clear
    record) and closes. Has addr and pub, as Node(..., relay=) needs."""

    def __init__(self, pub, answer):
        self.pub = pub
        self.answer = answer
        self.hellos = []
        self.listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(4)
        self.addr = "127.0.0.1:%d" % self.listener.getsockname()[1]
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        while True:
            try:
                s, _ = self.listener.accept()
            except OSError:
                return
            with s:
                s.settimeout(TIMEOUT)
                try:
                    n = struct.unpack(">I", recv_exactly(s, 4))[0]
                    self.hellos.append(recv_exactly(s, n))
                    s.sendall(struct.pack(">I", len(self.answer)) + self.answer)
                except (OSError, struct.error):
                    pass

    def close(self):
        self.listener.close()


class FloodTest(CoveTest):
    members = ("alice", "bob")

    def test_many_bad_connections_do_not_flood_the_log(self):
        w = self.world
        w.start_relay()
        before = len(w.relay.log_lines())
        for _ in range(300):
            s = connect(w.relay)
            s.sendall(b"\0\0\0\0")  # a length prefix of 0
            s.close()
        # the relay still serves, and said little about the 300
        alice = w.node("alice", ["lobby"])
        alice.ready("lobby")
        w.relay.p.send_signal(__import__("signal").SIGUSR1)
        w.relay.wait_log("stats:")
        lines = len(w.relay.log_lines()) - before
        self.assertLess(lines, 80, "%d log lines for 300 bad connections" % lines)

    def test_running_out_of_descriptors_neither_spins_nor_locks_nodes_out(self):
        w = self.world

        def few_fds():
            resource.setrlimit(resource.RLIMIT_NOFILE, (64, 64))

        # a relay limited to 64 descriptors, the way a small ulimit would
        w.relay = cove.Relay(w, extra=["--auth-timeout", "60000"], preexec=few_fds)
        w.relay.wait_log("--max-conns lowered")
        idle = [connect(w.relay) for _ in range(80)]   # silent, never authenticate
        self.addCleanup(lambda: [s.close() for s in idle])
        t0 = time.monotonic()
        cpu0 = os.times()
        alice = w.node("alice", ["lobby"])
        alice.ready("lobby")
        bob = w.node("bob", ["lobby"])
        bob.ready("lobby")
        alice.say("still here")
        bob.wait_event("message", text="still here")
        with open("/proc/%d/stat" % w.relay.p.pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
        cpu = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        wall = time.monotonic() - t0
        self.assertLess(cpu, 0.5 + wall * 0.5,
                        "the relay used %.2f s of CPU in %.2f s: spinning?" % (cpu, wall))


if __name__ == "__main__":
    unittest.main()
