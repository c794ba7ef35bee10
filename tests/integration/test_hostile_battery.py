"""The hostile-input battery: every bad input costs nobody else anything.

Each test starts a real cove-rendezvous and a room of three well-behaved
cove-node --json processes (alice, bob, carol in "lobby") that chat on a
thread for the whole test. A hostile client (hostile.py) then sends one
kind of bad input, usually many times. Every test checks the same four
things:

  (a) the offender gets a signed ERR with the right reason code (and the
      refused frame's seq in ref, and its room), or, before it has
      authenticated, is closed without an answer;
  (b) the relay logs it in a few lines (the refusal appears, naming the
      offender, but not once per frame of a repeated offence) and counts
      it (SIGUSR1: the 'stats:' line's refused.<code>, auth_failed,
      auth_timeouts ... tokens);
  (c) the room loses nothing: every message sent while it happened
      arrives exactly once at every other member;
  (d) the relay is still running and a new node can join afterwards.

Where a check does not apply to an input, the test's docstring says so.
"""

import collections
import os
import re
import resource
import signal
import socket
import struct
import threading
import time
import unittest

import cove
import hostile as h
from cove import TIMEOUT

ROOM = "lobby"
CHATTERS = ("alice", "bob", "carol")
# A repeated offence from one peer may cost this many log lines at most.
LOG_FEW = 8
# How much the relay's resident memory may grow under an attack. Under
# AddressSanitizer freed memory sits in quarantine, so more slack: still
# far below what trusting a declared length (up to 4 GiB) would cost.
# make check SANITIZE=1 says so in COVE_SANITIZE, whatever the build folder is called.
RSS_SLACK_KB = (64 if os.environ.get("COVE_SANITIZE") == "1" or
                "san" in cove.BUILD.split(os.sep) else 5) * 1024


def rss_kb(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError("no VmRSS for %d" % pid)


class Chatter:
    """The well-behaved room: its members take turns saying a numbered
    line every `period` seconds, on a thread, until stopped."""

    def __init__(self, nodes, period=0.03):
        self.nodes = nodes
        self.period = period
        self.sent = []
        self.mark = 0
        self.failure = None
        self.stopped = threading.Event()
        self.t = threading.Thread(target=self._run, name="chatter", daemon=True)
        self.t.start()

    def _run(self):
        i = 0
        try:
            while not self.stopped.is_set():
                node = self.nodes[i % len(self.nodes)]
                text = "chat %d from %s" % (i, node.name)
                node.say(text)
                self.sent.append((node.name, text))
                i += 1
                self.stopped.wait(self.period)
        except OSError as e:  # a node died: the check that follows says so
            self.failure = "%s could not be written to: %s" % (node.name, e)

    def stop(self, least=15):
        """Stops once at least `least` lines were said since self.mark (the
        start of the attack), so that the room chats through all of it."""
        deadline = time.monotonic() + TIMEOUT
        while len(self.sent) < self.mark + least and time.monotonic() < deadline \
                and self.t.is_alive():
            time.sleep(self.period)
        self.stopped.set()
        self.t.join(TIMEOUT)
        return list(self.sent)


class HostileBattery(unittest.TestCase):
    """One test per hostile input; see the module's docstring."""

    # ---- the world -------------------------------------------------------

    def setUp(self):
        self.world = cove.World(CHATTERS + ("mallory", "trent", "erin", "dave"))
        self.addCleanup(self.world.__exit__, None, None, None)
        self.world.generate("eve")  # a key the relay does not know
        self.ids = {n: h.Identity.from_keyfile(self.world.key(n))
                    for n in ("mallory", "trent", "eve")}
        self.chat = None

    def start(self, *relay_args):
        """Starts the relay (with relay_args) and the chatting room."""
        w = self.world
        self.relay = w.start_relay(extra=list(relay_args))
        self.nodes = []
        for n in CHATTERS:
            node = w.node(n, [ROOM])
            node.ready(ROOM)
            self.nodes.append(node)
        for node in self.nodes:  # everyone knows everyone before the chat
            for other in CHATTERS:
                if other != node.name:
                    node.wait(lambda e, o=other: e.get("event") == "joined" and
                              e.get("name") == o or e.get("event") == "ready" and
                              o in e.get("members", []), what="%s in the room" % other)
        self.chat = Chatter(self.nodes)
        self.addCleanup(self.chat.stopped.set)

    def client(self, name="mallory", handshake=True, **kw):
        """A hostile client as name, authenticated unless told otherwise."""
        c = h.Client.for_relay(self.relay, self.ids[name], **kw)
        self.addCleanup(c.close)
        if handshake:
            c.handshake()
        return c

    def raw(self):
        """A plain TCP connection to the relay."""
        s = socket.create_connection((self.relay.host, self.relay.port), timeout=TIMEOUT)
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.addCleanup(s.close)
        return s

    # ---- (b): the relay's log and counters -------------------------------

    def stats(self):
        """The counters of a fresh 'stats:' line (SIGUSR1), as a dict."""
        def count():
            return sum(1 for l in self.relay.log_lines() if "stats:" in l)
        n = count()
        self.relay.p.send_signal(signal.SIGUSR1)
        deadline = time.monotonic() + TIMEOUT
        while count() <= n:
            if time.monotonic() > deadline:
                raise AssertionError("no stats line after SIGUSR1: %s" % self.relay.log_lines())
            time.sleep(0.02)
        line = [l for l in self.relay.log_lines() if "stats:" in l][-1]
        return {k: int(v) for k, v in re.findall(r"(\S+)=(\d+)", line)}

    def begin(self):
        """Marks the start of the attack: log position and counters."""
        self.log_at = len(self.relay.log_lines())
        self.stats_at = self.stats()
        self.rss_at = rss_kb(self.relay.p.pid)
        self.chat.mark = len(self.chat.sent)

    def new_log(self):
        return [l for l in self.relay.log_lines()[self.log_at:] if "stats:" not in l]

    def finish(self, counters=None, names=(), max_lines=LOG_FEW, at_least=None, rss=False,
               quiet=False):
        """Checks (b), (c) and (d) after the attack, each as a subtest so
        that one failing does not hide the others.

        counters: token -> exact increase over the attack (refused.<code>
        tokens are absent while 0); at_least: token -> least increase;
        names: strings one of which a new log line must contain (the
        offender's label); quiet: the input was no offence, so no line may
        name the offender; rss: the relay's memory must not have grown."""
        after = self.stats()
        delta = {k: after.get(k, 0) - self.stats_at.get(k, 0)
                 for k in set(after) | set(self.stats_at)}
        lines = self.new_log()
        with self.subTest(check="b: counted"):
            for k, v in (counters or {}).items():
                self.assertEqual(delta.get(k, 0), v, "counter %s rose by %d, expected %d; "
                                 "counters now: %s" % (k, delta.get(k, 0), v, after))
            for k, v in (at_least or {}).items():
                self.assertGreaterEqual(delta.get(k, 0), v, "counter %s rose by %d, expected "
                                        "at least %d; counters now: %s" %
                                        (k, delta.get(k, 0), v, after))
        with self.subTest(check="b: logged in a few lines"):
            self.assertLessEqual(len(lines), max_lines, "%d log lines for this attack (at most "
                                 "%d):\n%s" % (len(lines), max_lines, "\n".join(lines)))
            naming = [l for l in lines if any(n in l for n in names)]
            if quiet:
                self.assertEqual(naming, [], "the relay logged a refusal of a valid input")
            elif names:
                self.assertTrue(naming, "no log line names the offender (%s); new lines:\n%s" %
                                (" or ".join(names), "\n".join(lines) or "(none)"))
        if rss:
            with self.subTest(check="b: no memory spent"):
                grew = rss_kb(self.relay.p.pid) - self.rss_at
                self.assertLess(grew, RSS_SLACK_KB, "the relay's RSS grew by %d kB" % grew)
        with self.subTest(check="c: the room lost nothing"):
            self.check_room()
        with self.subTest(check="d: the relay still serves"):
            self.check_alive()

    # ---- (c) and (d) -------------------------------------------------------

    def check_room(self):
        """(c): every chat line arrived exactly once at every other member."""
        sent = self.chat.stop()
        self.assertIsNone(self.chat.failure, self.chat.failure)
        self.assertGreater(len(sent), 0, "the room did not chat at all")

        def got(node):
            return collections.Counter((m["from"], m["text"]) for m in node.messages(ROOM)
                                       if m["from"] in CHATTERS)
        for node in self.nodes:
            want = collections.Counter((s, t) for s, t in sent if s != node.name)
            deadline = time.monotonic() + TIMEOUT
            while want - got(node):
                if time.monotonic() > deadline:
                    missing = sorted(want - got(node))
                    self.fail("%s is missing %d of %d chat lines, e.g. %s" %
                              (node.name, len(missing), sum(want.values()), missing[:5]))
                node.drain(0.1)
            node.drain(0.2)
            extra = got(node) - want
            self.assertFalse(extra, "%s received these more than once: %s" % (node.name, extra))

    def check_alive(self):
        """(d): the relay still runs and lets a new node in."""
        self.assertIsNone(self.relay.p.poll(), "the relay exited: %s" % self.relay.log_lines())
        room = "after-%d" % os.getpid()
        dave = self.world.node("dave", [room])
        dave.ready(room)

    # ---- (a) ---------------------------------------------------------------

    def assert_closed_without_answer(self, s, timeout=TIMEOUT):
        with self.subTest(check="a: closed without an answer"):
            closed, got = h.closed_without_answer(s, timeout)
            self.assertEqual(got, b"", "the relay answered an unauthenticated peer: %r" %
                             got[:64])
            self.assertTrue(closed, "the relay did not close the connection")

    def assert_errs(self, c, code, frames, room=None, skip=0):
        """Waits for one signed ERR per frame in frames (dicts, whose seq
        must come back in ref, or None for frames that do not decode: ref
        0) after the first skip ERRs, and checks that each has the
        expected code (and room)."""
        with self.subTest(check="a: ERR %s" % h.CODES[code]):
            errs = c.wait_errs(None, skip + len(frames))[skip:]
            got = collections.Counter(h.CODES.get(e["code"], e["code"]) for e in errs)
            self.assertEqual(got, collections.Counter({h.CODES[code]: len(frames)}),
                             "ERR codes for %d refused frames; ERRs: %s" %
                             (len(frames), c.summary()))
            want_refs = sorted(f["seq"] if isinstance(f, dict) else 0 for f in frames)
            self.assertEqual(sorted(e["ref"] for e in errs), want_refs, "ERR refs")
            if room is not None:
                self.assertEqual({e["room"] for e in errs}, {room}, "ERR rooms")

    # =========================================================================
    # Length prefixes
    # =========================================================================

    def _bad_prefix_before_handshake(self, prefix, junk_connections):
        """One connection sends prefix alone and must be closed without an
        answer; then junk_connections send prefix and 1 MiB after it: a
        relay that believed the prefix would buffer it, so its RSS must not
        grow. Each connection may cost one log line."""
        self.start()
        self.begin()
        s = self.raw()
        label = "127.0.0.1:%d" % s.getsockname()[1]
        s.sendall(prefix)
        self.assert_closed_without_answer(s)
        socks = []
        for _ in range(junk_connections):
            t = self.raw()
            try:
                t.sendall(prefix + bytes(1 << 20))
            except (BrokenPipeError, ConnectionResetError):
                pass
            socks.append(t)
        for t in socks:
            self.assertTrue(h.closed_without_answer(t, TIMEOUT)[0], "a connection stayed open")
        self.finish(counters={"auth_failed": 1 + junk_connections}, names=[label],
                    max_lines=LOG_FEW + junk_connections, rss=junk_connections > 0)

    def _bad_prefix_after_handshake(self, prefix, junk_connections):
        """After the handshake a bad length cannot be skipped over: the
        relay answers ERR bad_frame (ref 0) and closes. The connections
        sending 1 MiB after the prefix check that nothing was buffered."""
        self.start()
        c = self.client()
        self.begin()
        c.send_bytes(prefix)
        self.assert_errs(c, h.E_BAD_FRAME, [None])
        self.assertTrue(c.wait_closed(), "the relay kept the connection after a bad length")
        for _ in range(junk_connections):
            j = self.client()
            j.send_bytes(prefix + bytes(1 << 20))
            self.assertTrue(j.wait_closed(), "the relay kept the connection after a bad length")
        # each junk connection authenticates (a line) and fails (a line)
        self.finish(counters={"refused.bad_frame": 1 + junk_connections}, names=["mallory"],
                    max_lines=LOG_FEW + 2 * junk_connections, rss=junk_connections > 0)

    def test_length_prefix_0_before_the_handshake(self):
        self._bad_prefix_before_handshake(b"\0\0\0\0", 0)

    def test_length_prefix_0_after_the_handshake(self):
        self._bad_prefix_after_handshake(b"\0\0\0\0", 0)

    def test_length_prefix_67601_before_the_handshake(self):
        """COVE_RECORD_MAX + 1: far above the 128 bytes a handshake frame may
        have; refused on its four bytes, nothing allocated."""
        self._bad_prefix_before_handshake(struct.pack(">I", h.RECORD_MAX + 1), 20)

    def test_length_prefix_67601_after_the_handshake(self):
        """COVE_RECORD_MAX + 1, one byte over the largest record."""
        self._bad_prefix_after_handshake(struct.pack(">I", h.RECORD_MAX + 1), 10)

    def test_length_prefix_0xffffffff_before_the_handshake(self):
        self._bad_prefix_before_handshake(b"\xff\xff\xff\xff", 20)

    def test_length_prefix_0xffffffff_after_the_handshake(self):
        self._bad_prefix_after_handshake(b"\xff\xff\xff\xff", 10)

    # =========================================================================
    # Record padding (docs/PROTOCOL.md 2): one padded form per frame
    # =========================================================================

    @staticmethod
    def badly_padded(frame_bytes):
        """Record plaintexts that decrypt but are not the frame padded to
        its size class."""
        good = h.link_pad(frame_bytes)
        n = len(frame_bytes)
        return {
            "unpadded": frame_bytes,
            "no marker": frame_bytes + bytes(len(good) - n),
            "a nonzero byte after the marker": good[:-1] + b"\x01",
            "marker 0x81": frame_bytes + b"\x81" + good[n + 1:],
            "a larger class than the frame's": good + bytes(32),
            "between two classes": good + bytes(1),
            "an empty frame": b"\x80" + bytes(639),
        }

    def test_records_padded_wrongly_end_the_link(self):
        """A record that decrypts but is not padded to exactly its frame's
        size class ends the connection (no frame in it is looked at, so no
        ERR); every variant gets a connection of its own."""
        self.start()
        self.begin()
        probe = h.Client("127.0.0.1", 1, bytes(32), self.ids["mallory"])
        ini = h.encode_frame(probe.frame(h.INI, "somewhere", xpk=bytes(32)))
        variants = self.badly_padded(ini)
        for why, plain in variants.items():
            c = self.client()
            c.send(plain, pad=False)
            with self.subTest(check="a: closed", variant=why):
                self.assertTrue(c.wait_closed(), "the relay kept a link after a record "
                                "padded wrongly (%s)" % why)
                self.assertEqual(c.errs(), [], "an ERR for a record padded wrongly")
        self.finish(names=["mallory"], max_lines=LOG_FEW + 2 * len(variants))

    def test_cli_auth_padded_wrongly_fails_the_handshake(self):
        """The same for CLI_AUTH, record 0: closed without an answer, and
        counted as a failed handshake."""
        self.start()
        self.begin()
        labels = []
        for why, plain in self.badly_padded(bytes(100)).items():
            c = self.client(handshake=False)
            c.start_handshake()
            labels.append("127.0.0.1:%d" % c.local_port)
            sig = self.ids["mallory"].sign(b"COVE-HS-CLIENT-V1\0" + c.transcript + c.relay_pk)
            cli_auth = h.encode_frame({"type": h.CLI_AUTH, "id": self.ids["mallory"].pk,
                                       "sig": sig})
            plain = self.badly_padded(cli_auth)[why]
            c.send(plain, pad=False)
            self.assert_closed_without_answer(c.sock)
        self.finish(counters={"auth_failed": len(labels)}, names=labels,
                    max_lines=LOG_FEW + len(labels))

    def test_prefix_then_one_byte_every_300_ms(self):
        """A HELLO's length prefix, then one byte every 0.3 s, forever: the
        handshake deadline (--auth-timeout 1500) closes the connection
        without an answer however busy it keeps the socket. Counted in
        auth_timeouts."""
        self.start("--auth-timeout", "1500")
        self.begin()
        s = self.raw()
        label = "127.0.0.1:%d" % s.getsockname()[1]
        t0 = time.monotonic()
        s.sendall(struct.pack(">I", 71))
        closed_at = []

        def trickle():
            try:
                while True:
                    time.sleep(0.3)
                    s.send(b"\x00")
            except OSError:
                closed_at.append(time.monotonic())
        threading.Thread(target=trickle, daemon=True).start()
        self.assert_closed_without_answer(s, timeout=10)
        took = time.monotonic() - t0
        self.assertLess(took, 1.5 + 1.5, "closed only after %.1f s" % took)
        self.assertGreater(took, 1.0, "closed after %.1f s, before the deadline" % took)
        self.finish(counters={"auth_timeouts": 1}, names=[label])

    # =========================================================================
    # Framing that is valid, however it arrives
    # =========================================================================

    def _own_room_with_erin(self, **client_kw):
        """mallory, a proper member first in room "mine"; erin, a real node,
        joins after it and gets the key from it."""
        c = self.client(**client_kw)
        r = c.join("mine")
        self.assertTrue(r.first, "mallory was not first in its own room")
        erin = self.world.node("erin", ["mine"])
        erin.ready("mine")
        return c, erin

    def test_valid_frame_in_1_byte_writes(self):
        """Every byte mallory sends (handshake, INI, KEY for erin, RDY, DAT)
        goes out in its own write: the relay reassembles records from any
        split, and erin receives the DAT. Not an offence: no ERR, no log
        line about mallory."""
        self.start()
        c, erin = self._own_room_with_erin(write_chunk=1, write_delay=0.001)
        self.begin()
        c.say("mine", "one byte at a time")
        erin.wait_event("message", room="mine", text="one byte at a time")
        erin.drain(0.3)
        self.assertEqual(len(erin.messages("mine")), 1, erin.messages("mine"))
        self.assertEqual(c.errs(), [], c.summary())
        self.finish(at_least={"frames_in": 1, "forwarded": 1}, names=["mallory"], quiet=True)

    def test_100_frames_in_one_write(self):
        """100 DAT records in one write are 100 frames: erin receives all
        100, once each, in order. Not an offence: no ERR, no log line."""
        self.start()
        c, erin = self._own_room_with_erin()
        self.begin()
        texts = ["batch %03d" % i for i in range(100)]
        c.send(*[c.dat("mine", t) for t in texts])
        erin.wait(lambda e: len(erin.messages("mine")) >= 100 if e.get("event") == "message"
                  else False, what="100 messages")
        erin.drain(0.3)
        self.assertEqual([m["text"] for m in erin.messages("mine")], texts)
        self.assertEqual(c.errs(), [], c.summary())
        self.finish(at_least={"frames_in": 100, "forwarded": 100}, names=["mallory"], quiet=True)

    # =========================================================================
    # Frames that do not decode (inside correct records)
    # =========================================================================

    def _bad_frames(self, payloads, rss=False):
        """Sends each payload as the plaintext of a correct record: each
        gets ERR bad_frame (ref 0, empty room), logged in a few lines."""
        self.start()
        c = self.client()
        self.begin()
        c.send(*payloads)
        self.assert_errs(c, h.E_BAD_FRAME, [None] * len(payloads), room="")
        self.finish(counters={"refused.bad_frame": len(payloads)}, names=["mallory"], rss=rss)

    def valid_frames(self, c):
        """A valid INI and DAT of c, as msgpack bytes."""
        ini = h.encode_frame(c.frame(h.INI, "somewhere", xpk=bytes(32)))
        dat = h.encode_frame(c.dat("somewhere", "hello"))
        return ini, dat

    def test_truncated_msgpack(self):
        c = h.Client("127.0.0.1", 1, bytes(32), self.ids["mallory"])
        ini, dat = self.valid_frames(c)
        payloads = [ini[:n] for n in (1, 2, 3, 20, 60, len(ini) - 1)]
        payloads += [dat[:n] for n in (5, 40, 100, 200, len(dat) - 66, len(dat) - 1)]
        payloads += [b"\xc4", b"\xc5\x01", b"\xd9\x05ab", b"\xcf\x00\x00", b"\x92\x01"]
        self._bad_frames(payloads * 2)

    def test_trailing_bytes_after_the_value(self):
        c = h.Client("127.0.0.1", 1, bytes(32), self.ids["mallory"])
        ini, dat = self.valid_frames(c)
        payloads = [ini + b"\xc0", ini + b"\x00", dat + b"\x01", ini + ini, dat + b"\x92\x01",
                    b"\x92\x01\x0b\x00", b"\x01\x02"]
        self._bad_frames(payloads * 3)

    def test_counts_larger_than_the_bytes_that_remain(self):
        """Headers that promise more than the record holds, such as array32
        of 2^32 - 1 elements (dd ff ff ff ff), which msgpack-c would
        allocate ~100 GB for: refused before anything is allocated, so the
        relay's RSS does not grow over 200 of them."""
        payloads = [b"\xdd\xff\xff\xff\xff", b"\xdf\xff\xff\xff\xff", b"\xdc\xff\xff",
                    b"\xde\xff\xff", b"\x9f", b"\x8f", b"\xc6\xff\xff\xff\xff",
                    b"\xdb\xff\xff\xff\xff", b"\xc9\xff\xff\xff\xff\x01",
                    b"\x9c\x01\x03\xdd\xff\xff\xff\xff",
                    b"\xdd\xff\xff\xff\xff" + bytes(60000)]
        self._bad_frames(payloads * 18, rss=True)

    def test_deep_nesting(self):
        payloads = [b"\x91" * 1000 + b"\x01", b"\x81\x01" * 1000 + b"\x01",
                    b"\xdc\x00\x01" * 1000 + b"\xc0", b"\x92\x01" + b"\x91" * 1000 + b"\x01",
                    b"\x93\x01\x03\x91\x01"]
        self._bad_frames(payloads * 4)

    def test_wrong_types(self):
        """Fields of another msgpack type: str for bin and bin for str,
        negative and float integers, nil, booleans, ext, a map for the
        frame, an epoch above 2^32."""
        c = h.Client("127.0.0.1", 1, bytes(32), self.ids["mallory"])

        def ini(**kw):  # a signed INI, then one field replaced
            return h.encode_frame(dict(c.frame(h.INI, "somewhere", xpk=bytes(32)), **kw))
        dat = c.dat("somewhere", "hi")
        payloads = [
            ini(room=h.Raw(h.pack(b"somewhere"))),            # bin for str
            ini(**{"from": h.Raw(h.pack("x" * 32))}),          # str for bin
            ini(xpk="y" * 32),
            ini(seq=h.Raw(b"\xff")),                           # negative fixint
            ini(seq=h.Raw(b"\xd3" + struct.pack(">q", -5))),   # int64 -5
            ini(seq=1.5), ini(ts=h.Raw(b"\xca\x3f\xc0\x00\x00")),
            ini(seq=None), ini(xpk=None), ini(sig=None),
            ini(ts=True), ini(xpk=False),
            ini(xpk=h.Ext(1, bytes(32))), ini(sig=h.Ext(5, bytes(64))),
            ini(version=h.Raw(b"\xff")), ini(version=1.0), ini(version="1"),
            h.encode_frame(dict(dat, epoch=h.U64(1 << 32))),
            h.encode_frame(dict(dat, n=-1)),
            h.pack({1: 1, 2: 3}),
            h.pack("a string, not an array"),
        ]
        self._bad_frames(payloads)

    def test_keys_and_signatures_of_the_wrong_length(self):
        c = h.Client("127.0.0.1", 1, bytes(32), self.ids["mallory"])
        m = self.ids["mallory"]

        def f(ftype, room="somewhere", **kw):
            d = c.frame(ftype, room, **kw)
            return h.encode_frame(h.sign_frame(d, m))
        key = dict(to=bytes(32), xpk=bytes(32), epoch=0, sealed=bytes(80), kid=bytes(32),
                   view=bytes(16))
        dat = c.dat("somewhere", "hi")
        payloads = [
            f(h.INI, xpk=bytes(31)), f(h.INI, xpk=bytes(33)), f(h.INI, xpk=b""),
            h.encode_frame(dict(c.frame(h.INI, "somewhere", xpk=bytes(32)), sig=bytes(63))),
            h.encode_frame(dict(c.frame(h.INI, "somewhere", xpk=bytes(32)), sig=bytes(65))),
            h.encode_frame(dict(c.frame(h.INI, "somewhere", xpk=bytes(32)), sig=b"")),
            h.encode_frame(dict(c.frame(h.INI, "somewhere", xpk=bytes(32)),
                                **{"from": m.pk[:31]})),
            h.encode_frame(dict(c.frame(h.INI, "somewhere", xpk=bytes(32)),
                                **{"from": m.pk + b"\0"})),
            f(h.KEY, **dict(key, to=bytes(31))), f(h.KEY, **dict(key, xpk=bytes(64))),
            f(h.KEY, **dict(key, sealed=bytes(79))), f(h.KEY, **dict(key, sealed=bytes(81))),
            f(h.KEY, **dict(key, view=bytes(15))),
            f(h.KEY, **dict(key, kid=bytes(31))), f(h.KEY, **dict(key, kid=bytes(8))),
            # no kid at all: a KEY of 12 elements, as in version 1
            h.encode_frame(dict(c.frame(h.KEY, "somewhere", **key), kid=h.Raw(b""))),
            h.encode_frame(dict(dat, sid=bytes(15))), h.encode_frame(dict(dat, kid=bytes(9))),
            h.encode_frame(dict(dat, kid=bytes(8))), h.encode_frame(dict(dat, kid=bytes(33))),
            h.encode_frame(dict(dat, ct=b"")),
            f(h.INI, room="r" * 65, xpk=bytes(32)), f(h.INI, room="", xpk=bytes(32)),
            f(h.INI, room="with space", xpk=bytes(32)),
            h.encode_frame(dict(c.frame(h.RDY, "somewhere", epoch=0), epoch=h.U64(1 << 40))),
        ]
        self._bad_frames(payloads)

    # =========================================================================
    # Frames that decode but must be refused
    # =========================================================================

    def test_wrong_direction_relay_frame_types(self):
        """ERR, ASK, WLC and REK, correctly built and signed by mallory:
        only the relay sends them."""
        self.start()
        c = self.client()
        self.begin()
        me = self.ids["mallory"].pk
        frames = []
        for _ in range(5):
            frames += [
                c.frame(h.ERR, ROOM, code=1, ref=0, text="nonsense"),
                c.frame(h.ASK, ROOM, to=me, joiner=me, xpk=bytes(32)),
                c.frame(h.WLC, "", you=me, rate=50, burst=200),
                c.frame(h.REK, ROOM, to=me, epoch=1),
            ]
        c.send(*frames)
        self.assert_errs(c, h.E_WRONG_DIRECTION, frames)
        self.finish(counters={"refused.wrong_direction": len(frames)}, names=["mallory"])

    def test_wrong_direction_handshake_types_after_the_handshake(self):
        """HELLO, CHALLENGE, SRV_AUTH, CLI_AUTH and VERSION on an
        established link: well-formed, but nodes may not send them now.
        They carry no seq, so ref is 0 and the room empty."""
        self.start()
        c = self.client()
        self.begin()
        me = self.ids["mallory"]
        frames = []
        for _ in range(4):
            frames += [
                {"type": h.HELLO, "eph": bytes(32), "nonce": bytes(32)},
                {"type": h.CHALLENGE, "eph": bytes(32), "nonce": bytes(32)},
                {"type": h.SRV_AUTH, "id": me.pk, "sig": bytes(64)},
                {"type": h.CLI_AUTH, "id": me.pk, "sig": me.sign(b"again")},
                {"type": h.VERSION},
            ]
        c.send(*frames)
        self.assert_errs(c, h.E_WRONG_DIRECTION, [None] * len(frames), room="")
        self.finish(counters={"refused.wrong_direction": len(frames)}, names=["mallory"])

    def test_dat_or_key_before_authentication(self):
        """A DAT or KEY where the handshake expects something else: in the
        clear as the first record (too long for a handshake record), and
        encrypted as record 0 in place of CLI_AUTH. Each connection is
        closed without an answer (no ERR: the peer is nobody yet) and
        counted in auth_failed."""
        self.start()
        self.begin()
        m = self.ids["mallory"]
        proto = h.Client("127.0.0.1", 1, bytes(32), m)
        dat = proto.dat(ROOM, "sneaky")
        key = proto.frame(h.KEY, ROOM, to=bytes(32), xpk=bytes(32), epoch=0,
                          sealed=bytes(80), kid=bytes(32), view=bytes(16))
        labels = []
        for f in (dat, key):
            s = self.raw()
            labels.append("127.0.0.1:%d" % s.getsockname()[1])
            s.sendall(struct.pack(">I", len(h.encode_frame(f))) + h.encode_frame(f))
            self.assert_closed_without_answer(s)
        for f in (dat, key):
            c = self.client(handshake=False)
            c.start_handshake()
            labels.append("127.0.0.1:%d" % c.local_port)
            c.send(f)
            self.assert_closed_without_answer(c.sock)
        self.finish(counters={"auth_failed": 4}, names=labels, max_lines=LOG_FEW + 4)

    def test_dat_or_key_before_joining(self):
        """An authenticated mallory that has joined no room sends DATs and
        KEYs into the room: not_member, and nothing reaches the room."""
        self.start()
        c = self.client()
        self.begin()
        alice = h.Identity.from_keyfile(self.world.key("alice")).pk
        frames = []
        for i in range(10):
            frames.append(c.dat(ROOM, "before joining %d" % i))
            frames.append(c.frame(h.KEY, ROOM, to=alice, xpk=bytes(32), epoch=0,
                                  sealed=bytes(80), kid=bytes(32), view=bytes(16)))
        c.send(*frames)
        self.assert_errs(c, h.E_NOT_MEMBER, frames, room=ROOM)
        self.finish(counters={"refused.not_member": len(frames)}, names=["mallory"])
        for node in self.nodes:
            self.assertFalse([m for m in node.messages() if m["from"] == "mallory"])

    def test_second_ini_for_the_same_room(self):
        self.start()
        c = self.client()
        c.join("mine")
        self.begin()
        frames = [c.frame(h.INI, "mine", xpk=h.sodium.box_keypair()[0]) for _ in range(20)]
        c.send(*frames)
        self.assert_errs(c, h.E_ALREADY_JOINED, frames, room="mine")
        self.finish(counters={"refused.already_joined": len(frames)}, names=["mallory"])

    def test_bit_flipped_signature(self):
        """DATs of a keyed member of room "mine" (and of the lobby it has
        not joined), each with one bit of its signature flipped."""
        self.start()
        c = self.client()
        c.join("mine")
        self.begin()
        frames = []
        for i in range(20):
            f = c.dat("mine" if i % 2 else ROOM, "flipped %d" % i)
            sig = bytearray(f["sig"])
            sig[(i * 7) % 64] ^= 1 << (i % 8)
            f["sig"] = bytes(sig)
            frames.append(f)
        c.send(*frames)
        self.assert_errs(c, h.E_BAD_SIGNATURE, frames)
        self.finish(counters={"refused.bad_signature": len(frames)}, names=["mallory"])

    def test_identity_not_on_the_whitelist(self):
        """eve proves her key, which the relay does not know: a signed ERR
        not_whitelisted (empty room, ref 0) and the connection closes."""
        self.start()
        self.begin()
        c = self.client("eve", handshake=False)
        first = c.start_handshake().finish_handshake()
        self.assertEqual(first["type"], h.ERR, c.summary())
        c.check_relay_signature(first)
        self.assertEqual((first["code"], first["ref"], first["room"]),
                         (h.E_NOT_WHITELISTED, 0, ""))
        self.assertTrue(c.wait_closed(), "the relay kept the connection")
        self.finish(counters={"refused.not_whitelisted": 1, "auth_refused": 1, "auth_ok": 0},
                    names=[self.ids["eve"].b64, "127.0.0.1:%d" % c.local_port])

    def test_frame_signed_by_another_identity(self):
        """On mallory's connection, INIs and DATs signed (correctly) by
        trent, another whitelisted identity: wrong_sender."""
        self.start()
        c = self.client()
        self.begin()
        trent = self.ids["trent"]
        frames = []
        for i in range(10):
            frames.append(c.frame(h.INI, ROOM, signer=trent, xpk=bytes(32)))
            frames.append(c.dat(ROOM, "as trent %d" % i, signer=trent))
        c.send(*frames)
        self.assert_errs(c, h.E_WRONG_SENDER, frames, room=ROOM)
        self.finish(counters={"refused.wrong_sender": len(frames)}, names=["mallory"])

    def test_frame_for_a_room_not_joined(self):
        """mallory, a keyed member of "mine", sends DATs and RDYs into the
        lobby and into a room that does not exist: not_member."""
        self.start()
        c = self.client()
        c.join("mine")
        self.begin()
        frames = []
        for i in range(5):
            frames += [c.dat(ROOM, "not joined %d" % i), c.dat("nowhere", "nor here"),
                       c.frame(h.RDY, ROOM, epoch=0), c.frame(h.RDY, "nowhere", epoch=0)]
        c.send(*frames)
        self.assert_errs(c, h.E_NOT_MEMBER, frames)
        self.finish(counters={"refused.not_member": len(frames)}, names=["mallory"])

    def test_old_dat_replayed(self):
        """A DAT accepted once, then sent again 10 times (same seq), then a
        new DAT with a seq below the last: replay; erin, in the room,
        sees the message once."""
        self.start()
        c, erin = self._own_room_with_erin()
        self.begin()
        d = c.say("mine", "said once")
        erin.wait_event("message", room="mine", text="said once")
        again = [d] * 10
        older = c.dat("mine", "from the past", seq=d["seq"] - 5)
        c.send(*again)
        c.send(older)
        self.assert_errs(c, h.E_REPLAY, again + [older], room="mine")
        erin.drain(0.3)
        self.assertEqual([m["text"] for m in erin.messages("mine")], ["said once"])
        self.finish(counters={"refused.replay": 11}, names=["mallory"])

    def test_a_dat_too_large_for_a_room_to_keep(self):
        """A DAT of 65,520 bytes, well-formed and signed (an honest node's
        largest is about 33,000): the relay keeps what it fans out and
        hands it over later inside a FWD, which this one would not fit, so
        it is refused (bad_frame) and not fanned out; the room goes on."""
        self.start()
        c, erin = self._own_room_with_erin()
        self.begin()
        f = c.dat("mine", "x")
        grow = 65520 - len(h.encode_frame(f))
        f["ct"] = f["ct"] + b"\0" * grow
        h.sign_frame(f, c.ident)
        self.assertEqual(len(h.encode_frame(f)), 65520)
        c.send(f)
        self.assert_errs(c, h.E_BAD_FRAME, [f], room="mine")
        c.say("mine", "after the large one")
        erin.wait_event("message", room="mine", text="after the large one")
        self.finish(counters={"refused.bad_frame": 1}, names=["mallory"])

    def test_dat_replayed_into_another_room(self):
        """(1) mallory signs a DAT for room "mine" and changes only its room
        to "other" (it is a keyed member of both): bad_signature. (2) DATs
        of the chatters, captured as they reach mallory in the lobby, sent back as
        they are on mallory's connection: wrong_sender; the room would
        otherwise see them twice, which check (c) would catch."""
        self.start()
        c = self.client()
        c.join("mine")
        c.join("other")
        c.join(ROOM)
        self.begin()
        moved = []
        for i in range(5):
            f = c.dat("mine", "meant for mine %d" % i)
            f["room"] = "other"
            moved.append(f)
        c.send(*moved)
        self.assert_errs(c, h.E_BAD_SIGNATURE, moved, room="other")
        # five DATs of the chatters, as mallory received them
        c.wait_frame(lambda f: len(c.frames(lambda g: g["type"] == h.DAT and
                                            g["room"] == ROOM)) >= 5)
        captured = c.frames(lambda f: f["type"] == h.DAT and f["room"] == ROOM)[:5]
        c.send(*[f["raw"] for f in captured])
        self.assert_errs(c, h.E_WRONG_SENDER, captured, room=ROOM, skip=len(moved))
        self.finish(counters={"refused.bad_signature": 5, "refused.wrong_sender": 5},
                    names=["mallory"])

    def test_key_not_signed_by_a_current_member(self):
        """KEYs from mallory, properly signed, while it is (1) not in the
        lobby at all, then (2) in it but not holding its key (it never says
        RDY): not_member both times."""
        self.start("--join-timeout", "20000")
        c = self.client()
        bob = h.Identity.from_keyfile(self.world.key("bob")).pk
        self.begin()

        def keys():
            return [c.frame(h.KEY, ROOM, to=bob, xpk=bytes(32), epoch=0,
                            sealed=h.sodium.random(80), kid=bytes(32), view=bytes(16))
                for _ in range(10)]
        outside = keys()
        c.send(*outside)
        c.wait_errs(h.E_NOT_MEMBER, len(outside))
        c.join(ROOM, rdy=False, wait=False)
        inside = keys()
        c.send(*inside)
        self.assert_errs(c, h.E_NOT_MEMBER, outside + inside, room=ROOM)
        self.finish(counters={"refused.not_member": 20}, names=["mallory"])

    # =========================================================================
    # Floods
    # =========================================================================

    def test_5000_connections_that_never_authenticate(self):
        """5000 connections that send nothing, opened in batches of 250
        against --max-unauth 256: the relay closes the oldest handshakes to
        make way (so at most 256 wait at once), the room chats on, and
        the relay logs little. No answer to any of them; counted in
        accepted, and unauth never above the limit. A new node still gets
        in while the silent ones hold their slots."""
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        if soft < hard:
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
            self.addCleanup(resource.setrlimit, resource.RLIMIT_NOFILE, (soft, hard))
        if hard < 5200:
            self.skipTest("RLIMIT_NOFILE hard limit %d is below 5200" % hard)
        self.start("--max-unauth", "256", "--auth-timeout", "60000")
        self.begin()
        socks = []
        self.addCleanup(lambda: [s.close() for s in socks])
        peak = 0
        for _ in range(20):
            for _ in range(250):
                s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                s.settimeout(TIMEOUT)
                s.connect((self.relay.host, self.relay.port))
                socks.append(s)
            peak = max(peak, self.stats().get("unauth", 0))
        deadline = time.monotonic() + TIMEOUT
        while self.stats().get("accepted", 0) - self.stats_at.get("accepted", 0) < 5000:
            self.assertLess(time.monotonic(), deadline, "the relay did not accept them all")
            time.sleep(0.1)
        self.assertLessEqual(peak, 256, "more handshakes waiting than --max-unauth")
        closed = answered = 0
        for s in socks:
            s.setblocking(False)
            try:
                data = s.recv(1)
                closed += data == b""
                answered += data != b""
            except BlockingIOError:
                pass
            except OSError:
                closed += 1
        self.assertEqual(answered, 0, "the relay answered silent connections")
        self.assertGreaterEqual(closed, 5000 - 256, "the relay kept %d handshakes open" %
                                (5000 - closed))
        self.finish(at_least={"accepted": 5000}, counters={"auth_ok": 0, "auth_failed": 0},
                    max_lines=LOG_FEW * 2)

    def test_one_member_flooding_a_room(self):
        """mallory, a keyed member of the lobby, sends 1000 DATs as fast as
        it can. With --rate 50 --burst 200 the relay forwards the burst and
        then about 50 a second; every DAT above that gets ERR rate_limited
        (its seq in ref) and is not forwarded, and the refusals are logged
        once per window, not once per DAT. Each DAT is either forwarded or
        refused, and the others' messages all arrive."""
        self.start("--rate", "50", "--burst", "200")
        c = self.client()
        c.join(ROOM)
        self.begin()
        t0 = time.monotonic()
        flood = [c.dat(ROOM, "flood %04d" % i) for i in range(1000)]
        for i in range(0, 1000, 100):
            c.send(*flood[i:i + 100])
        alice = self.nodes[0]
        refused = []

        def forwarded():
            return {m["text"] for m in alice.messages(ROOM) if m["from"] == "mallory"}
        with self.subTest(check="a: ERR rate_limited above the rate, the rest forwarded"):
            deadline = time.monotonic() + TIMEOUT
            while len(c.errs(h.E_RATE_LIMITED)) + len(forwarded()) < 1000:
                self.assertLess(time.monotonic(), deadline, "%d refused, %d forwarded of 1000" %
                                (len(c.errs(h.E_RATE_LIMITED)), len(forwarded())))
                alice.drain(0.1)
            elapsed = time.monotonic() - t0
            refused = c.wait_errs(h.E_RATE_LIMITED, len(c.errs(h.E_RATE_LIMITED)))
            by_seq = {f["seq"]: "flood %04d" % i for i, f in enumerate(flood)}
            refused_texts = {by_seq[e["ref"]] for e in refused}
            self.assertFalse(refused_texts & forwarded(), "refused DATs were forwarded")
            self.assertEqual(len(refused_texts | forwarded()), 1000)
            self.assertLessEqual(len(forwarded()), 200 + 50 * elapsed + 10,
                                 "%d forwarded in %.1f s" % (len(forwarded()), elapsed))
            self.assertGreater(len(refused), 0)
        # once per window: the refusal, and at most one line saying more follow
        self.finish(counters={"refused.rate_limited": len(refused)}, names=["mallory"],
                    max_lines=2)


if __name__ == "__main__":
    unittest.main()
