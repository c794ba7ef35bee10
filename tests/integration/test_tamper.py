"""A relay that alters messages cannot make a node show them: with the
tampering relay (build/tests/cove-rendezvous-tamper, tests/tools/tamper.c)
every receiver drops every DAT with an error and keeps running.

A DAT's signature covers its header, room and ciphertext, and receivers
check it before anything else, so each alteration is reported as
bad_signature."""

import unittest

import cove
from cove import CoveTest


class TamperTest(CoveTest):
    members = ("alice", "bob", "carol")
    per_sender = 2

    def assertEveryDatDropped(self, mode, rooms=("lobby",), env=None):
        w = self.world
        full_env = {"COVE_TEST_TAMPER": mode}
        full_env.update(env or {})
        w.start_relay(binary=cove.TAMPER_RELAY, env=full_env)
        nodes = []
        for n in self.members:
            node = w.node(n, list(rooms))
            for r in rooms:
                node.ready(r)
            nodes.append(node)
        for node in nodes:
            for i in range(self.per_sender):
                node.say("%s's message %d" % (node.name, i), room="lobby")
        # every text of the others, and the HOLDERS DATs (who was given
        # the key) the node was in the room for: at most one per later joiner
        expect = self.per_sender * (len(nodes) - 1)
        for node in nodes:
            def dropped(node=node):
                return [e for e in node.errors() if e.get("code") == "bad_signature"]
            node.wait(lambda e, node=node: len(dropped()) >= expect,
                      what="%d dropped messages" % expect)
            node.drain(0.3)
            self.assertGreaterEqual(len(dropped()), expect, node.errors())
            self.assertLessEqual(len(dropped()), expect + len(nodes) - 1, node.errors())
            self.assertEqual(node.messages(), [], "%s showed an altered message" % node.name)
            for e in dropped():
                self.assertIn("dropped a message", e["message"])
                self.assertFalse(e.get("fatal"), e)
        for node in nodes:
            self.assertIsNone(node.p.poll(), "%s exited" % node.name)
            node.send_cmd({"cmd": "who", "room": "lobby"})
            node.wait_event("who", room="lobby")
        return nodes

    def test_a_flipped_ciphertext_bit_is_dropped_by_every_receiver(self):
        self.assertEveryDatDropped("ct")

    def test_a_changed_header_is_dropped_by_every_receiver(self):
        self.assertEveryDatDropped("header")

    def test_a_flipped_signature_bit_is_dropped_by_every_receiver(self):
        self.assertEveryDatDropped("sig")

    def test_a_message_moved_to_another_room_is_dropped_by_every_receiver(self):
        # The receivers are in the room the relay moves messages into, so
        # the moved message reaches a room they hold the key of.
        nodes = self.assertEveryDatDropped("room", rooms=("lobby", "other"),
                                           env={"COVE_TEST_TAMPER_ROOM": "other"})
        for node in nodes:
            for e in node.errors():
                self.assertEqual(e.get("room"), "other", e)


if __name__ == "__main__":
    unittest.main()
