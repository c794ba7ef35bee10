"""A room that chats end to end: the core behaviour of Cove."""

import unittest

from cove import CoveTest, DelayProxy


class ChatTest(CoveTest):
    members = ("alice", "bob", "carol", "dave")

    def test_first_member_makes_the_key_and_the_others_receive_it(self):
        w = self.world
        w.start_relay()
        alice = w.node("alice", ["lobby"])
        self.assertTrue(alice.ready("lobby")["first"])
        bob = w.node("bob", ["lobby"])
        ev = bob.ready("lobby")
        self.assertFalse(ev["first"])
        self.assertEqual(ev["members"], ["alice"])
        carol = w.node("carol", ["lobby"])
        ev = carol.ready("lobby")
        self.assertFalse(ev["first"])
        self.assertEqual(sorted(ev["members"]), ["alice", "bob"])

    def test_every_message_arrives_once_at_every_other_member_with_the_sender_name(self):
        w = self.world
        w.start_relay()
        nodes = {}
        for n in ("alice", "bob", "carol"):
            nodes[n] = w.node(n, ["lobby"])
            nodes[n].ready("lobby")
        for n in ("bob", "carol"):
            nodes["alice"].wait_event("joined", room="lobby", name=n)
        outsider = w.node("dave", ["elsewhere"])
        outsider.ready("elsewhere")
        sent = []
        for n, node in nodes.items():
            for i in range(3):
                text = "%s says %d" % (n, i)
                node.say(text)
                sent.append((n, text))
        for n, node in nodes.items():
            expect = sorted((s, t) for s, t in sent if s != n)
            node.wait(lambda e, node=node, k=len(expect): len(node.messages()) >= k
                      if e.get("event") == "message" else False, what="6 messages")
            node.drain(0.3)
            got = sorted((m["from"], m["text"]) for m in node.messages())
            self.assertEqual(got, expect, "%s saw the wrong messages" % n)
            for m in node.messages():
                self.assertEqual(m["room"], "lobby")
        outsider.drain(0.3)
        self.assertEqual(outsider.messages(), [], "a node in another room saw messages")

    def test_joined_and_left_are_announced(self):
        w = self.world
        w.start_relay()
        alice = w.node("alice", ["lobby"])
        alice.ready("lobby")
        bob = w.node("bob", ["lobby"])
        bob.ready("lobby")
        alice.wait_event("joined", room="lobby", name="bob")
        bob.send_cmd({"cmd": "leave", "room": "lobby"})
        alice.wait_event("left", room="lobby", name="bob")

    def test_a_member_that_quits_is_away_not_gone(self):
        """Quitting is not leaving (protocol version 2): the others see
        bob away, with no "left" and no new epoch, and see him here again
        when he comes back, in the same epoch."""
        w = self.world
        w.start_relay()
        alice = w.node("alice", ["lobby"])
        alice.ready("lobby")
        bob = w.node("bob", ["lobby"])
        bob.ready("lobby")
        alice.wait_event("joined", room="lobby", name="bob")
        alice.drain(0.3)
        bob.quit()
        self.assertEqual(bob.wait_exit(), 0)
        alice.wait_event("presence", room="lobby", who="bob", state="away")
        alice.drain(0.5)
        kinds = [e.get("event") for e in alice.events]
        self.assertNotIn("left", kinds)
        epochs = [e for e in alice.events if e.get("event") == "epoch"]
        bob = w.node("bob", ["lobby"])
        bob.ready("lobby")
        alice.wait_event("presence", room="lobby", who="bob", state="here")
        alice.drain(0.3)
        self.assertEqual(epochs, [e for e in alice.events if e.get("event") == "epoch"],
                         "bob's return cost a rekey")
        self.assertEqual(len([e for e in alice.events if e.get("event") == "joined"]), 1,
                         "bob's return was shown as a join")

    def test_a_node_that_quits_before_the_relay_welcomed_it_stays_a_member(self):
        """A node sends its INI right behind its CLI_AUTH, before the
        relay's WLC: a quit between the two leaves bob a member who is
        away, as any quit does; nobody is told he left. A slow link (0.3 s
        each way) holds the WLC back while bob quits."""
        w = self.world
        w.start_relay()
        alice = w.node("alice", ["lobby"])
        alice.ready("lobby")
        slow = DelayProxy(w.relay, 0.3)
        self.addCleanup(slow.close)
        bob = w.node("bob", ["lobby"], relay=slow)
        w.relay.wait_log("bob: authenticated")  # the WLC is 0.3 s away from bob
        bob.quit()
        self.assertEqual(bob.wait_exit(), 0)
        alice.drain(1.5)
        self.assertNotIn("left", [e.get("event") for e in alice.events])
        self.assertFalse([l for l in w.relay.log_lines() if "bob leaves" in l])

    def test_one_node_in_two_rooms_keeps_them_apart(self):
        w = self.world
        w.start_relay()
        alice = w.node("alice", ["one", "two"])
        alice.ready("one")
        alice.ready("two")
        bob = w.node("bob", ["one"])
        bob.ready("one")
        carol = w.node("carol", ["two"])
        carol.ready("two")
        alice.say("to one", room="one")
        alice.say("to two", room="two")
        self.assertEqual(bob.wait_event("message")["text"], "to one")
        self.assertEqual(carol.wait_event("message")["text"], "to two")
        bob.drain(0.3)
        carol.drain(0.3)
        self.assertEqual(len(bob.messages()), 1)
        self.assertEqual(len(carol.messages()), 1)

    def test_messages_sent_before_the_key_arrives_are_delivered_after(self):
        w = self.world
        w.start_relay()
        alice = w.node("alice", ["lobby"])
        alice.ready("lobby")
        bob = w.node("bob", ["lobby"])
        bob.say("early bird")  # queued until bob holds the key
        self.assertEqual(alice.wait_event("message")["text"], "early bird")

    def test_quit_sends_everything_queued_first(self):
        w = self.world
        w.start_relay()
        alice = w.node("alice", ["lobby"])
        alice.ready("lobby")
        bob = w.node("bob", ["lobby"])
        for i in range(20):
            bob.say("line %d" % i)
        bob.quit()
        self.assertEqual(bob.wait_exit(), 0)
        alice.wait(lambda e: len(alice.messages()) == 20, what="20 messages")
        self.assertEqual([m["text"] for m in alice.messages()], ["line %d" % i for i in range(20)])


if __name__ == "__main__":
    unittest.main()
