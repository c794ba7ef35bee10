"""A program that writes messages to cove-node --json as fast as it can
loses none of them: the node paces itself to the relay's limits (which
the relay announces in its WLC), holds what cannot go yet in its bounded
queue, and stops reading its input while that queue is full. Every
message arrives exactly once, in order, and no gap is reported."""

import json
import os
import threading
import time

from cove import CoveTest

ROOM = "lobby"
SANITIZED = os.environ.get("COVE_SANITIZE") == "1" or os.environ.get("COVE_VALGRIND") == "1"


def peak_rss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return 0


class BurstTest(CoveTest):
    members = ("alice", "bob")

    def burst(self, count, relay_extra=(), per_second=45.0):
        w = self.world
        w.start_relay(extra=list(relay_extra))
        bob = w.node("bob", [ROOM])
        bob.ready(ROOM)
        alice = w.node("alice", [ROOM])
        alice.ready(ROOM)
        lines = "".join(json.dumps({"cmd": "send", "text": "line %06d" % i}) + "\n"
                        for i in range(count))

        def write():
            try:
                alice.p.stdin.write(lines)
                alice.p.stdin.flush()
            except (BrokenPipeError, ValueError):
                pass  # the test failed and stopped alice: the assertion says why

        writer = threading.Thread(target=write, daemon=True)
        writer.start()
        deadline = time.monotonic() + 30 + count / per_second
        got = []
        while len(got) < count:
            ok, ev = bob._next(deadline)
            self.assertTrue(ok and ev is not None,
                            "bob has %d of %d messages; %s" % (len(got), count,
                                                               bob.recent_events()))
            if ev.get("event") == "message" and ev.get("from") == "alice":
                got.append(ev["text"])
        writer.join(10)
        bob.drain(1.0)
        got = [e["text"] for e in bob.messages(ROOM) if e["from"] == "alice"]
        self.assertEqual(len(got), count, "every message exactly once")
        self.assertEqual(got, ["line %06d" % i for i in range(count)], "in order")
        self.assertEqual([e for e in bob.events if e.get("event") == "gap"], [],
                         "no gap reported")
        alice.drain(0.5)
        self.assertEqual(alice.errors(), [], "the sender was told of no loss")
        self.assertEqual(bob.errors(), [])
        return alice

    def test_a_burst_through_the_default_limits_loses_nothing(self):
        alice = self.burst(2000)
        if not SANITIZED:
            # 2,000 lines of input, but at most the queue's worth held
            self.assertLess(peak_rss_kib(alice.p.pid), 64 * 1024)

    def test_a_burst_of_twenty_thousand_through_raised_limits_loses_nothing(self):
        count = 5000 if SANITIZED else 20000
        alice = self.burst(count, ["--rate", "100000", "--burst", "1000"], per_second=500.0)
        if not SANITIZED:
            self.assertLess(peak_rss_kib(alice.p.pid), 64 * 1024)


if __name__ == "__main__":
    import unittest
    unittest.main()
