"""History on the node (issue 11, point 5) and leaving a room (point 1):
a restarted node shows what was said, the file keeps no text and no
room name in the clear, another identity's key opens nothing, and
/leave says goodbye while quitting keeps the room."""

import os
import sqlite3
import subprocess

import cove
from cove import CoveTest


def file_bytes(path):
    """The history file and its write-ahead log, as whoever holds the disk
    sees them."""
    data = b""
    for p in (path, path + "-wal"):
        if os.path.exists(p):
            with open(p, "rb") as f:
                data += f.read()
    return data


class HistoryTest(CoveTest):
    def hist(self, name):
        return os.path.join(self.world.dir, name + ".db")

    def chat(self, room, texts, both=True):
        """alice and bob in room; alice says texts (with both, alice and
        bob in turns), each seen by the other before the next, so that
        the order is the same everywhere. Returns both nodes, running."""
        w = self.world
        alice = w.node("alice", [room], history=self.hist("alice"))
        alice.ready(room)
        bob = w.node("bob", [room], history=self.hist("bob"))
        bob.ready(room)
        alice.wait_event("joined", room=room, name="bob")
        for i, t in enumerate(texts):
            by, to = (bob, alice) if both and i % 2 else (alice, bob)
            by.say(t)
            to.wait(lambda e, t=t: e.get("event") == "message" and e.get("text") == t,
                    what=t)
        return alice, bob

    @staticmethod
    def exit_of(node):
        rc = node.wait_exit()
        node.err.t.join(cove.TIMEOUT)
        return rc

    def test_a_restarted_node_shows_its_history_marked_and_in_order(self):
        w = self.world
        w.start_relay()
        texts = ["history line %d" % i for i in range(6)]
        alice, bob = self.chat("lobby", texts)
        bob.quit()
        self.assertEqual(bob.wait_exit(), 0)
        bob = w.node("bob", ["lobby"], history=self.hist("bob"))
        end = bob.wait_event("history_end", room="lobby")
        self.assertEqual(end["count"], len(texts))
        shown = [(m["from"], m["text"]) for m in bob.messages() if m.get("history")]
        want = [("alice" if i % 2 == 0 else "bob", t) for i, t in enumerate(texts)]
        self.assertEqual(shown, want)
        bob.wait_event("unread", room="lobby")
        # and more, older, on request: nothing older than the first here
        bob.send_cmd({"cmd": "history", "room": "lobby", "before": 1, "limit": 5})
        self.assertEqual(bob.wait(lambda e: e.get("event") == "history_end" and
                                  len([x for x in bob.events
                                       if x.get("event") == "history_end"]) == 2)["count"], 0)
        bob.ready("lobby")
        alice.say("after the restart")
        m = bob.wait(lambda e: e.get("event") == "message" and not e.get("history"))
        self.assertEqual((m["from"], m["text"]), ("alice", "after the restart"))
        # back with what he kept, he asked this relay (which keeps no rooms)
        # for what he missed: refused, and that is no error to show
        self.assertEqual(bob.errors(), [])

    def test_history_asks_for_older_pages(self):
        w = self.world
        w.start_relay()
        texts = ["page %02d" % i for i in range(30)]
        alice, bob = self.chat("lobby", texts, both=False)
        bob.quit()
        bob.wait_exit()
        bob = w.node("bob", ["lobby"], history=self.hist("bob"))
        self.assertEqual(bob.wait_event("history_end", room="lobby")["count"], 20)
        first = [m for m in bob.messages() if m.get("history")]
        self.assertEqual([m["text"] for m in first], texts[10:])
        bob.send_cmd({"cmd": "history", "room": "lobby", "before": first[0]["ts"],
                      "limit": 100})
        bob.wait(lambda e: e.get("event") == "history_end" and
                 len([x for x in bob.events if x.get("event") == "history_end"]) == 2)
        older = [m["text"] for m in bob.messages() if m.get("history")][20:]
        # before a time: every one stamped earlier (those sharing the
        # first one's millisecond are not before it), in order
        self.assertGreater(len(older), 0)
        self.assertEqual(older, texts[:len(older)])
        self.assertTrue(all(m["ts"] < first[0]["ts"] for m in bob.messages()[20:]))

    def test_the_file_holds_no_text_and_no_room_name(self):
        w = self.world
        w.start_relay()
        texts = ["secretword%d-%s" % (i, "x" * i) for i in range(8)]
        alice, bob = self.chat("hushroom", texts)
        for n in (alice, bob):
            n.quit()
            self.assertEqual(n.wait_exit(), 0)
        for name in ("alice", "bob"):
            data = file_bytes(self.hist(name))
            self.assertGreater(len(data), 0)
            for t in texts + ["hushroom"]:
                self.assertNotIn(t.encode(), data, "%s's file shows %r" % (name, t))
        # the file is the owner's alone
        self.assertEqual(os.stat(self.hist("bob")).st_mode & 0o777, 0o600)

    def test_another_identity_is_refused_and_the_file_left_as_it_was(self):
        w = self.world
        w.start_relay()
        alice, bob = self.chat("lobby", ["only bob may read this"])
        bob.quit()
        bob.wait_exit()
        before = file_bytes(self.hist("bob"))
        carol = w.node("carol", ["lobby"], key=w.key("carol"), history=self.hist("bob"))
        self.assertNotEqual(self.exit_of(carol), 0)
        err = "\n".join(carol.err.snapshot())
        self.assertIn(self.hist("bob"), err)
        self.assertIn("another identity", err)
        self.assertIn("--history none", err)
        self.assertEqual(carol.messages(), [])
        self.assertEqual(file_bytes(self.hist("bob")), before)

    def test_a_file_that_is_not_a_history_is_refused_untouched(self):
        w = self.world
        w.start_relay()
        path = os.path.join(w.dir, "notes.db")
        with open(path, "wb") as f:
            f.write(b"my notes, not a cove history\n" * 100)
        node = w.node("bob", ["lobby"], history=path)
        self.assertNotEqual(self.exit_of(node), 0)
        err = "\n".join(node.err.snapshot())
        self.assertIn(path, err)
        self.assertIn("not a Cove history file", err)
        with open(path, "rb") as f:
            self.assertEqual(f.read(), b"my notes, not a cove history\n" * 100)

    def refused_at_start(self, path, want):
        """bob's node started on the history path stops, saying want after
        the path."""
        self.world.start_relay()
        node = self.world.node("bob", ["lobby"], history=path)
        self.assertNotEqual(self.exit_of(node), 0)
        self.assertIn(path + want, "\n".join(node.err.snapshot()))

    def test_a_folder_as_the_history_is_refused_with_a_file_path_to_give(self):
        path = os.path.join(self.world.dir, "histories")
        os.mkdir(path)
        self.refused_at_start(path, " is a folder: give the path of a file")
        self.assertEqual(os.listdir(path), [])

    def test_a_fifo_as_the_history_is_refused_at_once(self):
        path = os.path.join(self.world.dir, "pipe")
        os.mkfifo(path)
        self.refused_at_start(path, " is not a regular file")

    def test_the_default_file_is_under_xdg_data_home_private(self):
        w = self.world
        w.start_relay()
        data = os.path.join(w.dir, "xdg")
        node = w.node("alice", ["lobby"], history=None, env={"XDG_DATA_HOME": data})
        node.ready("lobby")
        node.quit()
        self.assertEqual(node.wait_exit(), 0)
        folder = os.path.join(data, "cove")
        files = [f for f in os.listdir(folder) if f.endswith(".db")]
        self.assertEqual(len(files), 1, os.listdir(folder))
        self.assertEqual(os.stat(folder).st_mode & 0o777, 0o700)
        self.assertEqual(os.stat(os.path.join(folder, files[0])).st_mode & 0o777, 0o600)

    def test_history_none_keeps_nothing(self):
        w = self.world
        w.start_relay()
        data = os.path.join(w.dir, "xdg")
        node = w.node("alice", ["lobby"], history="none", env={"XDG_DATA_HOME": data})
        node.ready("lobby")
        node.say("gone with the process")
        node.quit()
        self.assertEqual(node.wait_exit(), 0)
        self.assertFalse(os.path.exists(data))


class LeaveTest(CoveTest):
    # Quitting makes a member away, not gone: test_chat's
    # test_a_member_that_quits_is_away_not_gone holds it; test_core_persist
    # both values of the core's bye_on_quit switch.
    def test_leave_says_bye_the_others_see_left_and_the_node_goes_on(self):
        w = self.world
        w.start_relay()
        hist = os.path.join(w.dir, "bob.db")
        alice = w.node("alice", ["lobby"])
        alice.ready("lobby")
        bob = w.node("bob", ["lobby", "side"], history=hist)
        bob.ready("lobby")
        bob.ready("side")
        alice.wait_event("joined", room="lobby", name="bob")
        alice.say("before you go")
        bob.wait_event("message", room="lobby", text="before you go")
        bob.send_cmd({"cmd": "leave", "room": "lobby"})
        bob.wait_event("left", room="lobby", name="bob")
        alice.wait_event("left", room="lobby", name="bob")
        # the room moves on without him; he hears nothing more of it
        alice.wait_event("epoch", room="lobby")
        alice.say("after you left")
        # and he is still in his other room, and may leave that one too
        bob.send_cmd({"cmd": "leave"})  # the first room left is side now
        bob.wait_event("left", room="side", name="bob")
        bob.send_cmd({"cmd": "leave", "room": "lobby"})
        bob.wait(lambda e: e.get("event") == "error" and e.get("code") == "bad_command",
                 what="no such room")
        bob.drain(0.5)
        self.assertIsNone(bob.p.poll(), "the node quit when its last room was left")
        self.assertNotIn("after you left", [m["text"] for m in bob.messages()])
        bob.quit()
        self.assertEqual(bob.wait_exit(), 0)
        # what was said before stays in his history
        bob = w.node("bob", ["lobby"], history=hist)
        bob.wait_event("history_end", room="lobby")
        self.assertEqual([m["text"] for m in bob.messages() if m.get("history")],
                         ["before you go"])


if __name__ == "__main__":
    import unittest
    unittest.main()
