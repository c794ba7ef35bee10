"""Hostile or broken peers cost nobody else anything."""

import os
import resource
import socket
import struct
import time
import unittest

import cove
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

    def test_a_hello_of_another_version_is_answered_with_version_1(self):
        w = self.world
        w.start_relay()
        s = connect(w.relay)
        self.addCleanup(s.close)
        # HELLO of version 2: [2, 16, bin32, bin32]
        hello = bytes([0x94, 0x02, 0x10, 0xc4, 0x20]) + bytes(32) + bytes([0xc4, 0x20]) + bytes(32)
        s.sendall(struct.pack(">I", len(hello)) + hello)
        hdr = recv_exactly(s, 4)
        self.assertEqual(len(hdr), 4, "the relay closed without answering")
        body = recv_exactly(s, struct.unpack(">I", hdr)[0])
        self.assertEqual(body, bytes([0x92, 0x01, 0x14]), "expected VERSION [1, 20]")
        self.assertEqual(s.recv(1), b"", "the relay should close after VERSION")


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
