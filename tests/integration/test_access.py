"""Who may connect and who gets a room's key: the relay's whitelist
decides who may connect, each member's own whitelist decides who gets
the key from it and whose messages it shows."""

import os
import signal
import time
import types
import unittest

import cove
from cove import CoveTest, KEYS, TIMEOUT, run

# The brief's bound on a revocation after SIGHUP. Scaled up only when the
# whole suite is given more time (slow sanitizer builds).
REVOKE_WITHIN = max(1.0, TIMEOUT / 20)


def fingerprint(world, name):
    """The fingerprint `cove-keys list` shows for name's key, as nodes
    print unknown keys."""
    wl = world.write_whitelist(os.path.join(world.dir, "fp-" + name), [name])
    fields = run(KEYS, "list", "-w", wl).stdout.split()
    return fields[2]


class RelayWhitelistTest(CoveTest):
    members = ("alice", "bob")

    def test_a_key_not_on_the_relays_whitelist_is_refused_at_connect(self):
        w = self.world
        w.generate("mallory")  # not admitted to the relay's whitelist
        own = w.write_whitelist(os.path.join(w.dir, "mallory-wl"), ["alice", "bob", "mallory"])
        w.start_relay()
        mallory = w.node("mallory", ["lobby"], whitelist=own)
        ev = mallory.wait_event("error", code="not_whitelisted")
        self.assertTrue(ev.get("fatal"), "refusal at connect must be fatal: %s" % ev)
        self.assertEqual(mallory.wait_exit(), 1)
        self.assertEqual([e for e in mallory.events if e.get("event") == "ready"], [])
        w.relay.wait_log("refused key %s" % w.pub("mallory"))

    def test_a_node_pinning_another_server_key_fails_naming_dash_S(self):
        w = self.world
        w.generate("imposter")
        w.start_relay()
        wrong = types.SimpleNamespace(addr=w.relay.addr, pub=w.pub("imposter"))
        alice = w.node("alice", ["lobby"], relay=wrong)
        ev = alice.wait_event("error", code="link")
        self.assertIn("-S", ev["message"])
        self.assertTrue(ev.get("fatal"), ev)
        self.assertEqual(alice.wait_exit(), 1)
        self.assertEqual([e for e in alice.events if e.get("event") == "ready"], [])


class MemberWhitelistTest(CoveTest):
    """mallory is on the relay's whitelist, not on every member's own."""

    members = ("alice", "bob", "mallory")

    def test_members_refuse_the_key_to_a_key_not_on_their_own_whitelist(self):
        w = self.world
        members_wl = w.write_whitelist(os.path.join(w.dir, "members-wl"), ["alice", "bob"])
        fp = fingerprint(w, "mallory")
        w.start_relay(extra=["--join-timeout", "300"])
        alice = w.node("alice", ["lobby"], whitelist=members_wl)
        self.assertTrue(alice.ready("lobby")["first"])
        bob = w.node("bob", ["lobby"], whitelist=members_wl)
        bob.ready("lobby")
        mallory = w.node("mallory", ["lobby"])
        alice.say("before the refusal")
        for member in (alice, bob):
            ev = member.wait_event("error", code="refused_key")
            self.assertEqual(ev.get("room"), "lobby", ev)
            self.assertIn("not on your whitelist", ev["message"])
            self.assertIn(fp, ev["message"], "the refusal should name the key it refused")
        alice.say("after the refusal")
        ev = mallory.wait_event("error", code="no_key")
        self.assertEqual(ev.get("room"), "lobby", ev)
        alice.say("after the failed join")
        bob.wait(lambda e: len(bob.messages()) == 3, what="alice's 3 messages")
        mallory.drain(0.5)
        self.assertEqual([e for e in mallory.events if e.get("event") == "ready"], [],
                         "mallory got the group key")
        self.assertEqual(mallory.messages(), [], "mallory read messages")

    def test_a_member_drops_messages_from_a_key_not_on_its_own_whitelist(self):
        # Reachable: mallory is first in the room and makes the key; bob,
        # who trusts mallory, gets it from mallory; alice, who does not,
        # gets it from bob once mallory refuses her. mallory now holds the
        # room's key and the relay forwards its messages to alice.
        w = self.world
        alice_wl = w.write_whitelist(os.path.join(w.dir, "alice-wl"), ["alice", "bob"])
        mallory_wl = w.write_whitelist(os.path.join(w.dir, "mallory-wl"), ["bob", "mallory"])
        fp = fingerprint(w, "mallory")
        w.start_relay(extra=["--join-timeout", "300"])
        mallory = w.node("mallory", ["lobby"], whitelist=mallory_wl)
        self.assertTrue(mallory.ready("lobby")["first"])
        bob = w.node("bob", ["lobby"])
        bob.ready("lobby")
        alice = w.node("alice", ["lobby"], whitelist=alice_wl)
        self.assertNotIn("mallory", alice.ready("lobby")["members"])
        mallory.say("from an untrusted key")
        self.assertEqual(bob.wait_event("message", **{"from": "mallory"})["text"],
                         "from an untrusted key")
        bob.say("from bob")  # forwarded after mallory's, on the same link
        self.assertEqual(alice.wait_event("message")["text"], "from bob")
        # mallory's message, and the HOLDERS that said it gave bob the key
        dropped = [e for e in alice.errors() if e.get("code") == "not_whitelisted" and
                   "dropped a message" in e["message"]]
        self.assertIn(len(dropped), (1, 2), alice.errors())
        self.assertIn(fp, dropped[0]["message"])
        alice.drain(0.3)
        self.assertEqual([(m["from"], m["text"]) for m in alice.messages()],
                         [("bob", "from bob")])


class AsymmetricTrustTest(CoveTest):
    """Trust need not be mutual: a joiner refuses a key from a member it
    does not trust, and gets the key from one it does."""

    members = ("alice", "bob", "carol", "dave")

    def test_a_joiner_that_refuses_the_first_members_key_gets_it_from_the_next(self):
        w = self.world
        dave_wl = w.write_whitelist(os.path.join(w.dir, "dave-wl"), ["bob", "carol", "dave"])
        w.start_relay(extra=["--join-timeout", "400"])
        alice = w.node("alice", ["lobby"])          # trusts everyone, holds the key first
        self.assertTrue(alice.ready("lobby")["first"])
        bob = w.node("bob", ["lobby"])
        bob.ready("lobby")
        dave = w.node("dave", ["lobby"], whitelist=dave_wl)   # does not trust alice
        ev = dave.ready("lobby")
        self.assertFalse(ev["first"])
        bob.say("dave can read this")
        self.assertEqual(dave.wait_event("message")["text"], "dave can read this")
        dropped = [e for e in dave.errors() if e.get("code") == "not_whitelisted"]
        self.assertTrue(any("ignored a key" in e["message"] for e in dropped), dave.errors())

    def test_after_a_refused_key_the_room_still_admits_others(self):
        w = self.world
        dave_wl = w.write_whitelist(os.path.join(w.dir, "dave-wl"), ["bob", "dave"])
        w.start_relay(extra=["--join-timeout", "400"])
        alice = w.node("alice", ["lobby"])
        alice.ready("lobby")
        bob = w.node("bob", ["lobby"])
        bob.ready("lobby")
        dave = w.node("dave", ["lobby"], whitelist=dave_wl)
        dave.ready("lobby")
        carol = w.node("carol", ["lobby"])
        carol.ready("lobby")
        bob.say("all here")   # dave trusts bob, not alice or carol
        for n in (alice, carol, dave):
            n.wait_event("message", text="all here")


class ClosingKeyHolderTest(CoveTest):
    members = ("alice", "bob")

    def test_a_join_does_not_wait_on_a_key_holder_whose_connection_is_closing(self):
        w = self.world
        w.start_relay()
        alice = w.node("alice", ["lobby"])
        alice.ready("lobby")
        # alice stops reading (frozen) and is revoked: her connection is
        # closing for a while, flushing an ERR she will never read.
        alice.p.send_signal(signal.SIGSTOP)
        self.addCleanup(lambda: alice.p.poll() is None and alice.p.send_signal(signal.SIGCONT))
        w.write_whitelist(w.whitelist, ["bob"])
        w.relay.p.send_signal(signal.SIGHUP)
        w.relay.wait_log("removed from the whitelist")
        bob = w.node("bob", ["lobby"])
        ev = bob.ready("lobby")
        self.assertTrue(ev["first"], "with the only key holder leaving, bob starts anew")


class ReloadTest(CoveTest):
    members = ("alice", "bob", "carol")

    def start_lobby(self):
        w = self.world
        w.start_relay()
        nodes = {}
        for n in self.members:
            nodes[n] = w.node(n, ["lobby"])
            nodes[n].ready("lobby")
        return nodes

    def assertChats(self, sender, receivers, text):
        sender.say(text)
        for r in receivers:
            r.wait_event("message", text=text, **{"from": sender.name})

    def test_sighup_after_removing_a_member_disconnects_it_within_a_second(self):
        w = self.world
        nodes = self.start_lobby()
        alice, bob, carol = nodes["alice"], nodes["bob"], nodes["carol"]
        run(KEYS, "remove", "-w", w.whitelist, "bob")
        sent = time.monotonic()
        w.relay.p.send_signal(signal.SIGHUP)
        ev = bob.wait_event("error", timeout=REVOKE_WITHIN, code="revoked")
        took = time.monotonic() - sent
        self.assertTrue(ev.get("fatal"), ev)
        self.assertEqual(bob.wait_exit(), 1)
        self.assertLess(took, REVOKE_WITHIN)
        w.relay.wait_log("bob: removed from the whitelist")
        alice.wait_event("left", room="lobby", name="bob")
        self.assertChats(alice, [carol], "still here")
        self.assertChats(carol, [alice], "me too")
        for n in (alice, carol):
            self.assertEqual(n.errors(), [], "%s saw errors" % n.name)
            self.assertIsNone(n.p.poll())

    def test_sighup_with_a_broken_whitelist_keeps_the_old_one_and_disconnects_nobody(self):
        w = self.world
        nodes = self.start_lobby()
        alice, bob, carol = nodes["alice"], nodes["bob"], nodes["carol"]
        # bob is missing from the new file too: were it loaded, bob would go.
        tmp = w.whitelist + ".new"
        with open(tmp, "w") as f:
            f.write("alice %s\n" % w.pub("alice"))
            f.write("this line is not an entry\n")
            f.write("carol %s\n" % w.pub("carol"))
        os.rename(tmp, w.whitelist)
        w.relay.p.send_signal(signal.SIGHUP)
        w.relay.wait_log("keeping the previous whitelist")
        line = [l for l in w.relay.log_lines() if "keeping the previous whitelist" in l][0]
        self.assertIn("%s:2:" % w.whitelist, line)
        self.assertChats(bob, [alice, carol], "bob is still in")
        self.assertChats(alice, [bob, carol], "alice too")
        for n in nodes.values():
            n.drain(0.3)
            self.assertEqual(n.errors(), [], "%s saw errors" % n.name)
            self.assertIsNone(n.p.poll(), "%s exited" % n.name)
        self.assertFalse(any("revoked" in l or "removed from the whitelist" in l
                             for l in w.relay.log_lines()), w.relay.log_lines())


if __name__ == "__main__":
    unittest.main()
