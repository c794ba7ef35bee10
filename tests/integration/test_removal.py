"""Removal holds against a hostile member: carol, a member written in
Python (hostile.py) that does exactly what an attacker who has read
docs/PROTOCOL.md would, against real relays and real nodes.

The hostile relay's side of the same promises (a relay that drops RKY,
never names a rekeyer, fakes stale_epoch, replays a departed member's
join, hides a BYE) is in tests/unit/test_core_removal.c, where the test plays
the relay."""

import os
import signal
import struct
import time

import cove
import hostile as h
from cove import CoveTest

ROOM = "lobby"
FIRST_MAX = 0x7FFFFFFF
END = 0xFFFFFFFF


def catchup_payload(within_ms=120000):
    """A CATCHUP payload (kind 3) asking for everything, padded."""
    body = h.pack([3, h.U64(within_ms), []])
    size = h.pad_size(len(body))
    return body + b"\x80" + bytes(size - len(body) - 1)


def opens(gk, f):
    """Whether gk (as the key of f's epoch) decrypts the DAT f."""
    key = h.dat_key(gk, f["room"], f["from"], f["epoch"], f["sid"])
    nonce = b"\0" * 4 + struct.pack(">Q", f["seq"])
    return h.sodium.gcm_decrypt(f["ct"], h.dat_ad(f), nonce, key) is not None


class Carol(h.Client):
    """A member that behaves, except where lie(frame) says it handled a
    frame its own way."""

    lie = None

    def _react(self, f):
        if self.lie and self.lie(f):
            return
        super()._react(f)


class HostileMemberTest(CoveTest):
    members = ("alice", "bob", "carol")

    def carol(self):
        c = Carol.for_relay(self.world.relay, h.Identity.from_keyfile(self.world.key("carol")))
        self.addCleanup(c.close)
        c.handshake()
        return c

    def own_whitelist(self, name, names):
        return self.world.write_whitelist(os.path.join(self.world.dir, name + ".wl"), names)

    def test_a_first_member_cannot_confirm_the_last_epoch_or_one_near_it(self):
        """Carol, first in the room, confirms epoch 2^32-1 (the epoch that
        used to wrap the next rekey to 0) and then 2^31: the relay refuses
        both as stale_epoch, and takes 2^31-1."""
        self.world.start_relay()
        c = self.carol()
        r = c.join(ROOM, rdy=False)
        self.assertTrue(r.first)
        bad = [c.frame(h.RDY, ROOM, epoch=END), c.frame(h.RDY, ROOM, epoch=FIRST_MAX + 1)]
        c.send(*bad)
        errs = c.wait_errs(h.E_STALE_EPOCH, 2)
        self.assertEqual(sorted(e["ref"] for e in errs), sorted(f["seq"] for f in bad))
        r.epoch = FIRST_MAX
        c.send(c.frame(h.RDY, ROOM, epoch=FIRST_MAX))
        alice = self.world.node("alice", [ROOM])
        alice.ready(ROOM)
        time.sleep(0.3)
        self.assertEqual(len(c.errs(h.E_STALE_EPOCH)), 2, "the third RDY was refused too")

    def test_distrusted_first_member_reads_nothing_after_the_others_drop_it(self):
        """The reported attack: carol is first and picks the highest epoch
        a first key may take; alice and bob take her key, then remove her
        from their own whitelists and reload. What alice says next is
        under an epoch carol never got, and no key carol holds opens it."""
        w = self.world
        w.start_relay()
        c = self.carol()
        r = c.join(ROOM, rdy=False)
        r.epoch = FIRST_MAX
        c.send(c.frame(h.RDY, ROOM, epoch=FIRST_MAX))
        wl = {n: self.own_whitelist(n, ["alice", "bob", "carol"]) for n in ("alice", "bob")}
        alice = w.node("alice", [ROOM], whitelist=wl["alice"])
        alice.ready(ROOM)
        bob = w.node("bob", [ROOM], whitelist=wl["bob"])
        bob.ready(ROOM)
        alice.say("carol may read this")
        c.wait_frame(lambda f: f["type"] == h.DAT and f["from"] != c.ident.pk and
                     opens(r.gk, f))
        for n, node in (("alice", alice), ("bob", bob)):
            self.own_whitelist(n, ["alice", "bob"])
            node.p.send_signal(signal.SIGHUP)
        alice.wait_event("epoch")
        bob.wait_event("epoch")
        start = len(c.frames())
        alice.say("said after carol was dropped")
        bob.wait_event("message", text="said after carol was dropped")
        time.sleep(0.3)
        after = [f for f in c.frames()[start:] if f["type"] == h.DAT]
        self.assertTrue(after, "carol, still connected, should see the DAT go by")
        for f in after:
            self.assertGreater(f["epoch"], FIRST_MAX)
            self.assertFalse(opens(r.gk, f), "carol's key opened a message sent after "
                                              "she was dropped")
        self.assertFalse([f for f in c.frames()[start:] if f["type"] == h.KEY],
                         "a member sealed a key to carol after dropping her")

    def test_a_member_that_left_cannot_come_back_with_its_old_join(self):
        """Carol joins, leaves with BYE, connects again and sends the very
        same INI (the same seq and session key). The relay cannot tell;
        the members can: nobody seals a key to that session key again."""
        w = self.world
        w.start_relay(extra=["--join-timeout", "500"])
        alice = w.node("alice", [ROOM])
        alice.ready(ROOM)
        c = self.carol()
        r = c.join(ROOM)
        old = c.frame(h.INI, ROOM, xpk=r.xpk)
        c.send(c.frame(h.BYE, ROOM, who=c.ident.pk))
        alice.wait_event("left", name="carol")
        c.close()
        c2 = self.carol()
        c2.rooms[ROOM] = r  # the old session key: what carol hopes to be sealed to
        r.gk = None
        r.ready.clear()
        c2.send(old)
        err = c2.wait_frame(lambda f: f["type"] == h.ERR and f["code"] == h.E_NO_KEY,
                            timeout=10)
        self.assertIsNotNone(err)
        self.assertFalse(c2.frames(lambda f: f["type"] == h.KEY), "a key was sealed to the "
                                                                  "old session key")

    def test_a_joiner_refuses_a_key_that_does_not_match_its_commitment(self):
        """Carol, asked to give alice the key, seals 32 random bytes with
        the id of the room's real key: alice refuses it, says so, and gets
        the key from bob."""
        w = self.world
        w.start_relay(extra=["--join-timeout", "500"])
        c = self.carol()
        r = c.join(ROOM)
        bob = w.node("bob", [ROOM])
        bob.ready(ROOM)
        real = r.gk

        def lie(f):
            if f["type"] == h.ASK and f["to"] == c.ident.pk:
                c.send(c.frame(h.KEY, ROOM, to=f["joiner"], xpk=f["xpk"], epoch=r.epoch,
                               sealed=h.sodium.box_seal(h.sodium.random(32), f["xpk"]),
                               kid=h.key_id(real, r.epoch),
                               view=h.view_hash(r.epoch, r.members | {c.ident.pk,
                                                                      f["joiner"]})))
                return True
            return False

        c.lie = lie
        alice = w.node("alice", [ROOM])
        alice.wait_event("error", code="bad_key")
        alice.ready(ROOM)
        bob.say("alice reads this")
        alice.wait_event("message", text="alice reads this")

    def test_one_member_cannot_make_another_resend_its_history_over_and_over(self):
        """Carol sends twenty CATCHUPs: alice answers the first (carol has
        just joined), and only that one."""
        w = self.world
        w.start_relay()
        alice = w.node("alice", [ROOM])
        alice.ready(ROOM)
        c = self.carol()
        r = c.join(ROOM)
        for i in range(10):
            alice.say("history %d" % i)
        c.wait_frame(lambda f: f["type"] == h.DAT and opens(r.gk, f) and f["n"] == 9)
        start = len(c.frames())
        for _ in range(20):
            f = c.frame(h.DAT, ROOM, sign=False, epoch=r.epoch, sid=r.sid,
                        n=(1 << 64) - 1, kid=h.key_id(r.gk, r.epoch), ct=b"")
            key = h.dat_key(r.gk, ROOM, c.ident.pk, r.epoch, r.sid)
            f["ct"] = h.sodium.gcm_encrypt(catchup_payload(), h.dat_ad(f),
                                           b"\0" * 4 + struct.pack(">Q", f["seq"]), key)
            c.send(h.sign_frame(f, c.ident))
        alice.say("after the requests")
        c.wait_frame(lambda f: f["type"] == h.DAT and f["n"] == 10, start=start)
        time.sleep(0.5)
        again = [f for f in c.frames()[start:] if f["type"] == h.DAT and f["n"] < 10]
        self.assertEqual(len(again), 10, "alice should send her ten messages again once")


    def test_a_member_cannot_race_the_epochs_beyond_where_the_others_follow(self):
        """Carol asks for rekeys as fast as she can and confirms each epoch
        she is named for, handing the key to nobody. The relay acts on
        one request a second from her; once she leaves, alice and bob
        move on to a new epoch together and chat."""
        w = self.world
        w.start_relay()
        alice = w.node("alice", [ROOM])
        alice.ready(ROOM)
        bob = w.node("bob", [ROOM])
        bob.ready(ROOM)
        c = self.carol()
        r = c.join(ROOM)
        t0 = time.monotonic()
        named = 0
        while time.monotonic() - t0 < 2.0:
            start = len(c.frames())
            c.send(c.frame(h.RKY, ROOM, epoch=r.epoch))
            try:
                rek = c.wait_frame(lambda f: f["type"] == h.REK and f["to"] == c.ident.pk,
                                   timeout=0.2, start=start)
            except AssertionError:
                continue
            named += 1
            r.epoch = rek["epoch"]
            c.send(c.frame(h.RDY, ROOM, epoch=r.epoch))
        self.assertLessEqual(named, 3, "the relay named carol %d times in 2 s" % named)
        c.send(c.frame(h.BYE, ROOM, who=c.ident.pk))
        alice.wait_event("left", name="carol")
        alice.say("after carol's race")
        bob.wait_event("message", text="after carol's race", timeout=20)


if __name__ == "__main__":
    import unittest
    unittest.main()
