"""Epochs: when and how a room moves to a new key."""

import os
import signal
import unittest

from cove import CoveTest


class RekeyTest(CoveTest):
    members = ("alice", "bob", "carol")

    def lobby(self, extra=(), node_extra=()):
        w = self.world
        w.start_relay(extra=list(extra))
        nodes = {}
        for n in self.members:
            nodes[n] = w.node(n, ["lobby"], extra=list(node_extra))
            nodes[n].ready("lobby")
        for n in self.members[1:]:
            nodes["alice"].wait_event("joined", name=n)
        return nodes

    def assertChats(self, nodes, text):
        nodes["alice"].say(text)
        for n in ("bob", "carol"):
            nodes[n].wait_event("message", text=text)

    def test_asking_for_a_rekey_moves_every_member_to_a_new_epoch(self):
        nodes = self.lobby()
        nodes["bob"].send_cmd({"cmd": "rekey"})
        made = nodes["bob"].wait_event("epoch")
        self.assertIsNone(made["by"], "bob asked, so bob makes it")
        for n in ("alice", "carol"):
            ev = nodes[n].wait_event("epoch", epoch=made["epoch"])
            self.assertEqual(ev["by"], "bob")
        self.assertChats(nodes, "under the new key")

    def test_a_member_leaving_rekeys_the_room(self):
        nodes = self.lobby()
        nodes["carol"].send_cmd({"cmd": "leave", "room": "lobby"})
        nodes["carol"].wait_event("left", name="carol")
        for n in ("alice", "bob"):
            nodes[n].wait_event("left", name="carol")
            nodes[n].wait_event("epoch")
        nodes["alice"].say("carol cannot read this")
        nodes["bob"].wait_event("message", text="carol cannot read this")

    def test_the_schedule_rekeys_the_room(self):
        nodes = self.lobby(node_extra=["--rekey-interval", "1"])
        epochs = [nodes["alice"].wait_event("epoch", timeout=15)["epoch"]]
        for n in ("bob", "carol"):
            nodes[n].wait_event("epoch", epoch=epochs[0])
        self.assertChats(nodes, "after a scheduled rekey")

    def test_a_sender_rekeys_before_its_message_budget_runs_out(self):
        nodes = self.lobby(node_extra=["--rekey-messages", "5"])
        for i in range(5):
            nodes["alice"].say("budget %d" % i)
        ev = nodes["bob"].wait_event("epoch")
        self.assertGreaterEqual(ev["epoch"], 1)
        self.assertChats(nodes, "after the budget rekey")
        self.assertEqual(len([m for m in nodes["bob"].messages() if m["from"] == "alice"]), 6)

    def test_a_member_who_stops_trusting_another_moves_the_room_on_without_it(self):
        w = self.world
        nodes = self.lobby()
        alice_wl = os.path.join(w.dir, "alice-wl")
        w.write_whitelist(alice_wl, ["alice", "bob"])
        # alice runs with her own whitelist file: restart her with it (she
        # is away meanwhile, still a member)
        nodes["alice"].quit()
        nodes["alice"].wait_exit()
        for n in ("bob", "carol"):
            nodes[n].wait_event("presence", who="alice", state="away")
        w.write_whitelist(alice_wl, ["alice", "bob", "carol"])
        nodes["alice"] = w.node("alice", ["lobby"], whitelist=alice_wl)
        nodes["alice"].ready("lobby")
        w.write_whitelist(alice_wl, ["alice", "bob"])
        nodes["alice"].p.send_signal(signal.SIGHUP)
        ev = nodes["alice"].wait(lambda e: e.get("event") == "epoch" and e.get("by") is None,
                                 what="alice's own rekey")
        nodes["bob"].wait_event("epoch", epoch=ev["epoch"])
        nodes["carol"].say("carol speaks")
        nodes["bob"].wait_event("message", text="carol speaks")
        nodes["alice"].drain(0.5)
        self.assertEqual([m for m in nodes["alice"].messages() if m["from"] == "carol"], [],
                         "alice still shows carol's messages")


if __name__ == "__main__":
    unittest.main()
