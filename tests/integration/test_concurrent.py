"""Joins at the same instant: nodes that all find a room empty must still
end up with one group key between them."""

import unittest

from cove import CoveTest

N = 10


class ConcurrentJoinTest(CoveTest):
    members = tuple("member%d" % i for i in range(N))

    def test_ten_nodes_joining_an_empty_room_at_once_share_one_key(self):
        w = self.world
        w.start_relay()
        # Back to back, without waiting for any of them.
        nodes = [w.node(n, ["lobby"]) for n in self.members]
        readies = [node.ready("lobby") for node in nodes]
        firsts = [node.name for node, ev in zip(nodes, readies) if ev["first"]]
        self.assertEqual(len(firsts), 1, "nodes that made a key: %s" % firsts)
        for node in nodes:
            node.say("hello from %s" % node.name)
        for node in nodes:
            others = len(nodes) - 1
            node.wait(lambda e, node=node: len(node.messages()) >= others,
                      what="%d messages" % others)
        for node in nodes:
            node.drain(0.2)
            got = sorted((m["from"], m["text"]) for m in node.messages())
            expect = sorted((n, "hello from %s" % n) for n in self.members if n != node.name)
            self.assertEqual(got, expect, "%s read the wrong messages" % node.name)
            self.assertEqual(node.errors(), [], "%s saw errors" % node.name)


if __name__ == "__main__":
    unittest.main()
