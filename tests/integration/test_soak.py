"""A soak: many nodes on one machine, every message to every member.

COVE_SOAK_NODES and COVE_SOAK_MESSAGES set the size (default 100 x 100;
make check SANITIZE=1 runs a smaller one)."""

import os
import resource
import time
import unittest

from cove import CoveTest

NODES = int(os.environ.get("COVE_SOAK_NODES", "100"))
MESSAGES = int(os.environ.get("COVE_SOAK_MESSAGES", "100"))


class SoakTest(CoveTest):
    members = tuple("n%03d" % i for i in range(NODES))

    def test_every_message_reaches_every_other_member_once_and_in_order(self):
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
        w = self.world
        w.start_relay(extra=["--burst", str(MESSAGES * 2)])
        nodes = [w.node(n, ["soak"]) for n in self.members]
        for n in nodes:
            n.ready("soak", timeout=120)
        t0 = time.monotonic()
        for i in range(MESSAGES):
            for n in nodes:
                n.say("%s %05d" % (n.name, i))
        expect = (NODES - 1) * MESSAGES
        for n in nodes:
            n.wait(lambda e, n=n: len(n.messages()) >= expect, timeout=600,
                   what="%d messages" % expect)
        elapsed = time.monotonic() - t0
        for n in nodes:
            n.drain(0.2)
            by_sender = {}
            for m in n.messages():
                sender, index = m["text"].split()
                self.assertEqual(sender, m["from"])
                by_sender.setdefault(sender, []).append(int(index))
            self.assertEqual(len(by_sender), NODES - 1, n.name)
            for sender, got in by_sender.items():
                self.assertEqual(got, list(range(MESSAGES)),
                                 "%s: %s's messages lost, doubled or out of order" %
                                 (n.name, sender))
        print("\nsoak: %d nodes x %d messages: %d deliveries in %.1f s" %
              (NODES, MESSAGES, NODES * expect, elapsed))


if __name__ == "__main__":
    unittest.main()
