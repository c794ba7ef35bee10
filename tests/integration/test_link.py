"""The link between a node and the relay, seen from the network: a TCP
proxy sits between them, records every byte and can flip a bit. What is
on the wire must reveal nothing and any change to it must be caught."""

import base64
import os
import socket
import struct
import threading
import time
import unittest

from cove import CoveTest, TIMEOUT

UP, DOWN = "node->relay", "relay->node"


class Proxy:
    """A loopback TCP proxy for one node's connection to the relay. It
    cuts each direction into records by their 4-byte big-endian length
    prefixes (the handshake's clear frames are framed the same way), keeps
    every byte and every record size, and, when armed, flips one bit in
    the first payload byte of the next record of a direction.

    Has addr and pub, so Node(..., relay=proxy) connects through it."""

    def __init__(self, relay):
        self.target = (relay.host, relay.port)
        self.pub = relay.pub
        self.lock = threading.Lock()
        self.raw = {UP: bytearray(), DOWN: bytearray()}
        self.records = {UP: [], DOWN: []}
        self.armed = {UP: False, DOWN: False}
        self.flipped = {UP: threading.Event(), DOWN: threading.Event()}
        self.socks = []
        self.listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(4)
        self.addr = "127.0.0.1:%d" % self.listener.getsockname()[1]
        threading.Thread(target=self._accept, name="proxy-accept", daemon=True).start()

    def _accept(self):
        # every connection the node makes (it reconnects after a failure)
        while True:
            try:
                node, _ = self.listener.accept()
            except OSError:
                return  # closed
            relay = socket.create_connection(self.target, timeout=TIMEOUT)
            relay.settimeout(None)
            self.socks += [node, relay]
            for src, dst, d in ((node, relay, UP), (relay, node, DOWN)):
                threading.Thread(target=self._pump, args=(src, dst, d), name="proxy " + d,
                                 daemon=True).start()

    def _pump(self, src, dst, d):
        buf = bytearray()
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                with self.lock:
                    self.raw[d] += data
                buf += data
                while len(buf) >= 4:
                    n = struct.unpack(">I", buf[:4])[0]
                    if len(buf) < 4 + n:
                        break
                    rec = bytearray(buf[:4 + n])
                    del buf[:4 + n]
                    with self.lock:
                        self.records[d].append(len(rec))
                        flip = self.armed[d] and n > 0
                        if flip:
                            self.armed[d] = False
                    if flip:
                        rec[4] ^= 0x01
                        self.flipped[d].set()
                    dst.sendall(rec)
            if buf:
                dst.sendall(buf)
            dst.shutdown(socket.SHUT_WR)
        except OSError:
            for s in (src, dst):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def arm(self, d):
        """Flips a bit in the next record that goes direction d."""
        with self.lock:
            self.armed[d] = True

    def count(self, d):
        with self.lock:
            return len(self.records[d])

    def sizes(self, d, start=0):
        with self.lock:
            return list(self.records[d][start:])

    def recording(self):
        with self.lock:
            return bytes(self.raw[UP]), bytes(self.raw[DOWN])

    def close(self):
        for s in [self.listener] + self.socks:
            try:
                s.close()
            except OSError:
                pass


class LinkTest(CoveTest):
    members = ("alice", "bob", "carol")

    def proxy(self):
        p = Proxy(self.world.relay)
        self.addCleanup(p.close)
        return p

    def test_a_flipped_bit_from_the_relay_makes_the_node_drop_the_link(self):
        w = self.world
        w.start_relay()
        proxy = self.proxy()
        alice = w.node("alice", ["lobby"], relay=proxy)
        alice.ready("lobby")
        bob = w.node("bob", ["lobby"])
        bob.ready("lobby")
        alice.wait_event("joined", name="bob")
        proxy.arm(DOWN)
        bob.say("this must not arrive altered")
        ev = alice.wait_event("disconnected")
        self.assertTrue(proxy.flipped[DOWN].is_set())
        self.assertTrue("corrupted" in ev["message"] or "tampered" in ev["message"], ev)
        self.assertEqual(alice.messages(), [], "a message came through a broken link")
        # the node comes back on a new link and gets the message intact, once
        alice.wait(lambda e: e.get("event") == "ready" and e.get("rejoin"), what="rejoin")
        self.assertEqual(alice.wait_event("message")["text"], "this must not arrive altered")
        alice.drain(0.5)
        self.assertEqual(len(alice.messages()), 1)

    def test_a_node_told_not_to_reconnect_exits_on_a_tampered_link(self):
        w = self.world
        w.start_relay()
        proxy = self.proxy()
        alice = w.node("alice", ["lobby"], relay=proxy, extra=["--no-reconnect"])
        alice.ready("lobby")
        bob = w.node("bob", ["lobby"])
        bob.ready("lobby")
        proxy.arm(DOWN)
        bob.say("this must not arrive altered")
        ev = alice.wait_event("error", code="link")
        self.assertTrue("corrupted" in ev["message"] or "tampered" in ev["message"], ev)
        self.assertTrue(ev.get("fatal"), ev)
        self.assertEqual(alice.wait_exit(), 1)
        self.assertEqual(alice.messages(), [], "a message came through a broken link")

    def test_a_flipped_bit_from_a_node_makes_the_relay_close_that_link_only(self):
        w = self.world
        w.start_relay()
        proxy = self.proxy()
        alice = w.node("alice", ["lobby"], relay=proxy)
        alice.ready("lobby")
        bob = w.node("bob", ["lobby"])
        bob.ready("lobby")
        carol = w.node("carol", ["lobby"])
        carol.ready("lobby")
        proxy.arm(UP)
        alice.say("altered on the way")
        w.relay.wait_log("alice: link failed")
        self.assertTrue(proxy.flipped[UP].is_set())
        alice.wait_event("disconnected")
        bob.say("bob goes on")
        carol.wait_event("message", text="bob goes on")
        carol.say("carol goes on")
        bob.wait_event("message", text="carol goes on")
        # alice comes back and sends her message again, intact: each other
        # member shows it exactly once, and never an altered copy
        alice.wait(lambda e: e.get("event") == "ready" and e.get("rejoin"), what="rejoin")
        for n in (bob, carol):
            n.wait_event("message", text="altered on the way")
            n.drain(0.5)
            self.assertEqual([m["text"] for m in n.messages() if m["from"] == "alice"],
                             ["altered on the way"], "%s: the message not exactly once" % n.name)
            self.assertIsNone(n.p.poll())


class ObserverTest(CoveTest):
    members = ("watched.member-Q7x", "peer-member-K2v")
    room = "room-Zx81-unmistakable"

    def start(self):
        w = self.world
        w.start_relay()
        proxy = Proxy(w.relay)
        self.addCleanup(proxy.close)
        watched = w.node(self.members[0], [self.room], relay=proxy)
        watched.ready(self.room)
        peer = w.node(self.members[1], [self.room])
        peer.ready(self.room)
        return proxy, watched, peer

    def test_the_wire_shows_no_plaintext_room_identity_or_name(self):
        proxy, watched, peer = self.start()
        said, answer = "plaintext nobody may read 4f9a", "an answer nobody may read 77c1"
        watched.say(said)
        peer.wait_event("message", text=said)
        peer.say(answer)
        watched.wait_event("message", text=answer)
        watched.quit()
        self.assertEqual(watched.wait_exit(), 0)
        up, down = proxy.recording()
        self.assertGreater(len(up), 0)
        self.assertGreater(len(down), 0)
        secrets = {"the sent text": said.encode(), "the received text": answer.encode(),
                   "the room name": self.room.encode()}
        for m in self.members:
            pub = self.world.pub(m)
            secrets["%s's key in base64" % m] = pub.encode()
            secrets["%s's raw key" % m] = base64.b64decode(pub)
            secrets["%s's name" % m] = m.encode()
        for what, needle in secrets.items():
            for d, data in ((UP, up), (DOWN, down)):
                self.assertNotIn(needle, data, "%s is visible %s" % (what, d))

    def test_a_one_byte_and_a_200_byte_message_cost_the_same_bytes_on_the_wire(self):
        proxy, watched, peer = self.start()
        sizes = []
        for text in ("x", "y" * 200):
            before = proxy.count(UP)
            watched.say(text)
            peer.wait_event("message", text=text)
            sizes.append(proxy.sizes(UP, before))
        self.assertEqual(len(sizes[0]), 1, "one record per message: %s" % sizes)
        self.assertEqual(sizes[0], sizes[1], "record sizes of a 1-byte and a 200-byte message")


class RecordSizeTest(CoveTest):
    """What an observer of the TCP stream learns from record lengths:
    nothing of the frame types. Every record after the two clear handshake
    frames is padded to a size class (docs/PROTOCOL.md 2): the handshake's
    SRV_AUTH and CLI_AUTH, WLC, INI, ASK, KEY, RDY, RKY, REK, PING, PONG,
    BYE and the DAT of any short message all make records of 4 + 656
    bytes; only a long message's DAT is bigger, by its Padme class."""
    members = ("alice", "bob", "carol")

    CLEAR = 4 + 71          # HELLO, CHALLENGE: in the clear
    RECORD = 4 + 640 + 16   # every other frame of up to 639 bytes

    @staticmethod
    def padme(n):
        e = n.bit_length() - 1
        mask = (1 << (e - e.bit_length())) - 1
        return (n + mask) & ~mask

    def test_every_control_frame_and_short_message_makes_a_record_of_one_length(self):
        w = self.world
        w.start_relay()
        proxy = Proxy(w.relay)
        self.addCleanup(proxy.close)
        # alice, behind the proxy, makes the key, answers bob's join with a
        # KEY, pings a quiet relay, rekeys, and sees carol join and leave
        alice = w.node("alice", ["lobby"], relay=proxy, extra=["--keepalive", "300"])
        alice.ready("lobby")
        bob = w.node("bob", ["lobby"])
        bob.ready("lobby")
        carol = w.node("carol", ["lobby"])
        carol.ready("lobby")
        for text in ("x", "y" * 200, "\u00e9" * 150):
            alice.say(text)
            bob.wait_event("message", text=text)
            bob.say(text + "!")
            alice.wait_event("message", text=text + "!")
        time.sleep(1.0)  # quiet for three keepalive periods: PING, PONG
        alice.send_cmd({"cmd": "rekey"})
        carol.send_cmd({"cmd": "leave", "room": "lobby"})
        alice.wait_event("left", name="carol")
        carol.quit()
        self.assertEqual(carol.wait_exit(), 0)
        bob.say("after the rekey")
        alice.wait_event("message", text="after the rekey")
        short = {d: proxy.sizes(d) for d in (UP, DOWN)}
        # one long message each way: one record, of its frame's class
        long_text = "z" * 3000
        before = {d: proxy.count(d) for d in (UP, DOWN)}
        alice.say(long_text)
        bob.wait_event("message", text=long_text)
        bob.say(long_text)
        alice.wait_event("message", text=long_text)
        alice.quit()
        self.assertEqual(alice.wait_exit(), 0)
        for d in (UP, DOWN):
            sizes = short[d]
            self.assertEqual(sizes[0], self.CLEAR, "%s: the first record is not clear" % d)
            self.assertGreater(len(sizes), 10, "%s: too few records to tell: %s" % (d, sizes))
            self.assertEqual(set(sizes[1:]), {self.RECORD},
                             "%s: record lengths other than %d: %s" % (d, self.RECORD, sizes))
            longer = [n for n in proxy.sizes(d, before[d]) if n != self.RECORD]
            self.assertEqual(len(longer), 1, "%s: the long message's records: %s"
                             % (d, proxy.sizes(d, before[d])))
            padded = longer[0] - 4 - 16
            self.assertEqual(padded, self.padme(padded), "%s: %d is not a Padme class"
                             % (d, padded))
            self.assertTrue(3000 < padded <= 3000 * 1.12 + 400, padded)


if __name__ == "__main__":
    unittest.main()
