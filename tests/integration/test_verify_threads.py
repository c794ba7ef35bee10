"""Signatures checked on worker threads (--verify-threads) change nothing
a node can see: every frame of a connection is acted on in the order it
arrived, a PONG comes only after every frame sent before its PING, bad
signatures are refused as before, and a connection that closes or is
revoked with frames still being checked costs nobody anything.

The rest of the suite runs the relay with its default (one thread per
CPU), so it covers the threaded path too; these tests aim at it."""

import signal
import socket
import subprocess
import threading
import time
import unittest

import cove
import hostile as h
from cove import CoveTest, TIMEOUT

ROOM = "lobby"


def stats(relay):
    """The counters of a fresh 'stats:' line (SIGUSR1), as a dict."""
    return relay.stats()


def flipped(f):
    """f with one bit of its signature flipped."""
    sig = bytearray(f["sig"])
    sig[5] ^= 0x10
    return dict(f, sig=bytes(sig))


class ChatTest(CoveTest):
    """Three real nodes chat; every message arrives once, in order."""

    def chat(self, threads, extra=(), count=40, pace=0):
        w = self.world
        relay = w.start_relay(extra=["--verify-threads", str(threads)] + list(extra))
        if threads:
            relay.wait_log("verifying signatures on %d worker threads" % threads)
        else:
            relay.wait_log("verifying signatures on the event loop")
        names = ("alice", "bob", "carol")
        nodes = {n: w.node(n, [ROOM]) for n in names}
        for node in nodes.values():
            node.ready(ROOM)
        for node in nodes.values():  # everyone knows everyone before the chat
            for other in names:
                if other != node.name:
                    node.wait(lambda e, o=other: e.get("event") == "joined" and
                              e.get("name") == o or e.get("event") == "ready" and
                              o in e.get("members", []), what="%s in the room" % other)
        for i in range(count):
            for n in names:
                nodes[n].say("%s %03d" % (n, i))
            if pace:
                time.sleep(pace)
        for n, node in nodes.items():
            others = [o for o in names if o != n]
            node.wait(lambda e, node=node: len(node.messages(ROOM)) >= count * len(others),
                      what="%d messages" % (count * len(others)))
            node.drain(0.3)  # and no more: each arrives once
            got = node.messages(ROOM)
            for o in others:
                texts = [m["text"] for m in got if m["from"] == o]
                self.assertEqual(texts, ["%s %03d" % (o, i) for i in range(count)],
                                 "%s's messages as %s saw them" % (o, n))
            self.assertEqual(len(got), count * len(others), "%s got duplicates" % n)
        return stats(relay)

    def test_on_the_event_loop(self):
        s = self.chat(0)
        self.assertEqual(s["verify_threads"], 0)
        self.assertEqual(s["verified_workers"], 0)
        self.assertGreater(s["verified_loop"], 0)
        self.assertEqual(s["pending"], 0)

    def test_on_four_worker_threads(self):
        s = self.chat(4, ["--verify-inline", "0"])
        self.assertEqual(s["verify_threads"], 4)
        # (the loop may have taken a turn when more than 4 were waiting)
        self.assertGreater(s["verified_workers"], 0)
        self.assertEqual(s["pending"], 0)

    def test_at_light_load_the_loop_checks_them_itself(self):
        """Three messages every 20 ms (150 a second) are far below the
        default --verify-inline of 2000 a second: the loop checks all of
        them, sparing each the hand-off to a worker and back."""
        s = self.chat(2, count=20, pace=0.02)
        self.assertEqual(s["verify_threads"], 2)
        self.assertEqual(s["verified_workers"], 0)
        self.assertGreaterEqual(s["verified_loop"], 60)
        self.assertEqual(s["pending"], 0)


class OrderTest(CoveTest):
    """Two hostile clients, mallory and trent, in room "mine" of a relay
    checking signatures on 4 threads (no rate limit to speak of)."""

    members = ("mallory", "trent")

    def setUp(self):
        super().setUp()
        w = self.world
        self.relay = w.start_relay(extra=["--verify-threads", "4", "--verify-inline", "0",
                                          "--rate", "1000000",
                                          "--burst", "1000000"])
        self.m = self.client("mallory")
        self.t = self.client("trent")
        self.m.join("mine")
        self.t.join("mine")

    def client(self, name):
        c = h.Client.for_relay(self.relay, h.Identity.from_keyfile(self.world.key(name)))
        self.addCleanup(c.close)
        c.handshake()
        return c

    def wait_forwarded(self, n):
        """Waits until trent has n of mallory's DATs. (A wait_frame
        predicate runs once per frame in the inbox: counting the whole
        inbox in it would starve trent's reader.)"""
        deadline = time.monotonic() + TIMEOUT * 2
        while len(self.forwarded()) < n:
            self.assertLess(time.monotonic(), deadline,
                            "trent has %d of %d DATs" % (len(self.forwarded()), n))
            time.sleep(0.05)

    def forwarded(self, since=0):
        """The seqs of mallory's DATs trent has received, in order."""
        return [f["seq"] for f in self.t.frames()[since:]
                if f["type"] == h.DAT and f["from"] == self.m.ident.pk]

    def test_pong_comes_after_every_earlier_frame(self):
        """2000 DATs in one write, every fifth with a bad signature, and a
        PING after every 200: mallory sees the ERRs and PONGs exactly in
        the order of the frames they answer, trent gets every good DAT
        once and in order, and the connection was paused and resumed
        (more than 256 frames waiting) without being taken for dead."""
        items, expect, good = [], [], []
        for i in range(2000):
            f = self.m.dat("mine", "m %04d" % i)
            if i % 5 == 0:
                f = flipped(f)
                expect.append(("ERR", f["seq"]))
            else:
                good.append(f["seq"])
            items.append(f)
            if i % 200 == 199:
                items.append({"type": h.PING, "n": i})
                expect.append(("PONG", i))
        start = len(self.m.frames())
        self.m.send(*items)
        self.m.wait_frame(lambda f: f["type"] == h.PONG and f["n"] == 1999, start=start)
        seen = [("ERR", f["ref"]) if f["type"] == h.ERR else ("PONG", f["n"])
                for f in self.m.frames()[start:] if f["type"] in (h.ERR, h.PONG)]
        self.assertEqual(seen, expect)
        for f in self.m.errs():
            self.assertEqual(f["code"], h.E_BAD_SIGNATURE)
        self.wait_forwarded(len(good))
        time.sleep(0.2)
        self.assertEqual(self.forwarded(), good)
        s = stats(self.relay)
        self.assertGreaterEqual(s["verified_workers"] + s["verified_loop"], 2000)
        self.assertGreater(s["verified_workers"], 0)
        self.assertGreater(s["pending_max"], 1, "no frame ever waited: %s" % s)
        self.assertEqual(s["pending"], 0)
        self.assertEqual(s["paused"], 0)
        self.assertEqual(s["dead_peers"], 0)
        self.assertEqual(s.get("refused.bad_signature"), 400)

    def test_the_loop_takes_a_turn_when_frames_pile_up(self):
        """5000 DATs in one write to a relay with 4 workers: more wait
        than there are workers, so the loop checks some of them itself
        between reads, and trent still gets every one once, in order."""
        dats = [self.m.dat("mine", "pile %d" % i) for i in range(5000)]
        before = stats(self.relay)
        self.m.send(*dats)
        self.wait_forwarded(len(dats))
        time.sleep(0.2)
        self.assertEqual(self.forwarded(), [f["seq"] for f in dats])
        s = stats(self.relay)
        self.assertGreater(s["verified_loop"] - before["verified_loop"], 0, s)
        self.assertGreater(s["verified_workers"] - before["verified_workers"], 0, s)
        self.assertEqual(s["pending"], 0)

    def test_bad_signatures_are_refused_and_not_forwarded(self):
        """Every frame type a node sends, with a bad signature: ERR
        bad_signature with its seq, and trent gets nothing of it; a good
        DAT sent after them is the only thing forwarded."""
        r = self.m.rooms["mine"]
        bad = [flipped(self.m.dat("mine", "bad %d" % i)) for i in range(10)]
        bad += [flipped(self.m.frame(h.RDY, "mine", epoch=r.epoch)),
                flipped(self.m.frame(h.RKY, "mine", epoch=r.epoch)),
                flipped(self.m.frame(h.BYE, "mine", who=self.m.ident.pk)),
                flipped(self.m.frame(h.INI, "other", xpk=bytes(32)))]
        start = len(self.t.frames())
        self.m.send(*bad)
        errs = self.m.wait_errs(h.E_BAD_SIGNATURE, len(bad))
        self.assertEqual([e["ref"] for e in errs], [f["seq"] for f in bad])
        good = self.m.say("mine", "good")
        self.t.wait_frame(lambda f: f["type"] == h.DAT and f["seq"] == good["seq"])
        self.assertEqual(self.forwarded(start), [good["seq"]])
        self.assertFalse([f for f in self.t.frames()[start:]
                          if f["type"] in (h.BYE, h.INI, h.REK)],
                         "a refused frame had an effect: %s" % self.t.summary())

    def test_frames_sent_before_a_close_are_still_acted_on(self):
        """mallory sends 1000 DATs and closes its side at once: the relay
        reads the end of its input while many are still being checked, and
        acts on every one before it closes the connection."""
        dats = [self.m.dat("mine", "last words %d" % i) for i in range(1000)]
        self.m.send(*dats)
        self.m.sock.shutdown(socket.SHUT_WR)
        self.wait_forwarded(len(dats))
        self.assertEqual(self.forwarded(), [f["seq"] for f in dats])
        self.relay.wait_log("mallory: disconnected")

    def test_revoked_while_frames_are_being_checked(self):
        """mallory floods; the relay is told to reload a whitelist without
        her while most of the flood is still waiting. She gets ERR
        revoked, trent gets an in-order prefix of her DATs and then
        nothing more, and the room goes on."""
        dats = [self.m.dat("mine", "flood %d" % i) for i in range(10000)]
        cove.run(cove.KEYS, "remove", "-w", self.world.whitelist, "mallory")
        sender = threading.Thread(target=self.m.send, args=dats, daemon=True)
        sender.start()
        self.wait_forwarded(50)
        self.relay.p.send_signal(signal.SIGHUP)
        self.relay.wait_log("1 connection revoked")
        self.m.wait_errs(h.E_REVOKED, 1)
        self.t.wait_frame(lambda f: f["type"] == h.BYE and f["who"] == self.m.ident.pk)
        time.sleep(0.3)
        got = self.forwarded()
        self.assertEqual(got, [f["seq"] for f in dats[:len(got)]])
        self.assertLess(len(got), len(dats), "the whole flood went through before the reload")
        time.sleep(0.3)
        self.assertEqual(self.forwarded(), got, "DATs forwarded after the revocation")
        self.assertEqual(stats(self.relay)["pending"], 0)
        w = self.world
        w.generate("erin")
        w.admit("erin")
        reloads = sum(1 for l in self.relay.log_lines() if "reloaded whitelist" in l)
        self.relay.p.send_signal(signal.SIGHUP)
        deadline = time.monotonic() + TIMEOUT
        while sum(1 for l in self.relay.log_lines() if "reloaded whitelist" in l) == reloads:
            self.assertLess(time.monotonic(), deadline, "no second reload")
            time.sleep(0.02)
        erin = self.client("erin")
        erin.join("mine")


class TakeoverTest(CoveTest):
    """mallory and trent in room "mine" of a relay with one worker, kept
    busy by twenty others flooding rooms of their own, so that frames wait
    tens of milliseconds for their check."""

    victors = tuple("victor%02d" % i for i in range(20))
    members = ("mallory", "trent") + victors

    client = OrderTest.client
    forwarded = OrderTest.forwarded
    wait_forwarded = OrderTest.wait_forwarded

    def setUp(self):
        super().setUp()
        w = self.world
        self.relay = w.start_relay(extra=["--verify-threads", "1", "--verify-inline", "0",
                                          "--rate", "1000000", "--burst", "1000000"])
        self.m = self.client("mallory")
        self.t = self.client("trent")
        self.m.join("mine")
        self.t.join("mine")

    def test_a_newer_connection_of_the_same_key_loses_nothing_the_older_sent(self):
        """While the worker is busy, mallory sends 60 DATs (the relay reads
        them all: fewer than it pauses at) and then connects again with
        the same key: the older connection is replaced while its DATs are
        still waiting, and trent gets every one, once and in order."""
        floods = []
        # Each flooder has at most some 70 frames waiting (the 64 KiB cap):
        # twenty make a queue of ~1,400, tens of milliseconds of checks
        # even with the loop taking turns.
        for n in self.victors:
            c = self.client(n)
            c.join("room-" + n)
            floods.append((c, [c.dat("room-" + n, "noise") for _ in range(1000)]))
        for c, f in floods:
            threading.Thread(target=c.send, args=f, daemon=True).start()
        deadline = time.monotonic() + TIMEOUT
        while stats(self.relay)["pending"] < 700:  # the checks are far behind
            self.assertLess(time.monotonic(), deadline, "the flood did not build up")
        newer = h.Client.for_relay(self.relay, h.Identity.from_keyfile(
            self.world.key("mallory")))
        self.addCleanup(newer.close)
        newer.start_handshake()
        dats = [self.m.dat("mine", "before the takeover %d" % i) for i in range(60)]
        self.m.send(*dats)
        time.sleep(0.3 if cove.VALGRIND else 0.01)  # read, not yet checked
        newer.finish_handshake()
        self.m.wait_errs(h.E_REPLACED, 1)
        self.wait_forwarded(len(dats))
        time.sleep(0.2)
        self.assertEqual(self.forwarded(), [f["seq"] for f in dats])
        self.assertFalse(newer.eof)


class BackpressureTest(CoveTest):
    """Many connections flooding one worker thread."""

    members = tuple("flood%02d" % i for i in range(40))

    def test_paused_connections_are_not_taken_for_dead(self):
        """40 clients, each alone in its room, send 1000 DATs each at a
        relay with one worker and a 100 ms keepalive (a node silent for
        300 ms is closed): their connections have far more than 256
        frames waiting at times, and are then not read for a while. None
        is closed, none is refused, and every frame is checked."""
        w = self.world
        relay = w.start_relay(extra=["--verify-threads", "1", "--verify-inline", "0",
                                     "--keepalive", "100",
                                     "--rate", "1000000", "--burst", "1000000"])
        clients = []
        for n in self.members:
            c = h.Client.for_relay(relay, h.Identity.from_keyfile(w.key(n)))
            self.addCleanup(c.close)
            c.handshake()
            c.join("room-" + n)
            clients.append(c)
        floods = [[c.dat("room-" + n, "%s %d" % (n, i)) for i in range(1000)]
                  for c, n in zip(clients, self.members)]
        before = stats(relay)

        def flood(c, frames, sealed):
            # Sealed and sent under the client's lock, so that no PONG of
            # its reader slips between records; sealed one client at a
            # time, so that Python's own slowness never leaves a client
            # silent long enough to be taken for dead.
            with c.lock:
                wire = b"".join(c.seal(h.encode_frame(f)) for f in frames)
                sealed.set()
                c.send_bytes(wire)

        senders = []
        for c, f in zip(clients, floods):
            sealed = threading.Event()
            t = threading.Thread(target=flood, args=(c, f, sealed), daemon=True)
            t.start()
            sealed.wait(TIMEOUT)
            senders.append(t)
        for t in senders:
            t.join(TIMEOUT * 3)
        deadline = time.monotonic() + TIMEOUT * 3
        while True:
            s = stats(relay)
            if s["verified_workers"] + s["verified_loop"] - before["verified_workers"] - \
                    before["verified_loop"] >= 40000 and \
                    s["pending"] == 0:
                break
            self.assertLess(time.monotonic(), deadline, "not all checked: %s" % s)
            time.sleep(0.2)
        self.assertEqual(s["dead_peers"], 0, s)
        self.assertGreater(s["pauses"], 0, s)
        self.assertEqual(s["paused"], 0, s)
        for c in clients:
            self.assertEqual(c.errs(), [], c.summary()[-5:])
            self.assertFalse(c.eof, "the relay closed a connection it had paused")


class OptionTest(unittest.TestCase):

    def assert_refused(self, option, bads, top):
        for bad in bads:
            p = subprocess.run([cove.RELAY, "-k", "k", "-w", "w", option, bad],
                               capture_output=True, text=True, timeout=TIMEOUT)
            self.assertEqual(p.returncode, 2, p.stderr)
            self.assertIn("%s '%s' must be a number from 0 to %d" % (option, bad, top),
                          p.stderr)

    def test_verify_threads_out_of_range_is_refused(self):
        self.assert_refused("--verify-threads", ("65", "-1", "four", ""), 64)

    def test_verify_inline_out_of_range_is_refused(self):
        self.assert_refused("--verify-inline", ("100001", "-1", "lots"), 100000)

    def test_help_names_the_options(self):
        p = subprocess.run([cove.RELAY, "--help"], capture_output=True, text=True,
                           timeout=TIMEOUT)
        self.assertIn("--verify-threads N", p.stdout)
        self.assertIn("--verify-inline N", p.stdout)


if __name__ == "__main__":
    unittest.main()
