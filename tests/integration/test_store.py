"""The relay's store (issue 11): what a relay keeps survives it, and a
store file it does not understand is refused at start and left as it was.
"""
import os
import signal
import sqlite3
import subprocess
import unittest

import cove
from cove import CoveTest, TIMEOUT

STORE_APP_ID = 0x436F7665  # store/sqlite_file.h: "Cove"


class BadStoreTest(CoveTest):
    members = ("alice",)

    def refused(self, path, want, busy=False):
        """Starting the relay on path fails with one line naming it and
        saying want, and leaves the file byte for byte as it was (and
        makes no WAL beside it, unless another relay has it open)."""
        with open(path, "rb") as f:
            before = f.read()
        self.refused_at_start(path, want)
        with open(path, "rb") as f:
            self.assertEqual(f.read(), before, "the refused store was changed")
        if not busy:
            self.assertFalse(os.path.exists(path + "-wal"))

    def refused_at_start(self, path, want):
        """The relay started on path stops at once with one line naming it
        and saying want."""
        w = self.world
        p = subprocess.run(cove.wrap(w, [cove.RELAY, "-k", w.key("relay"), "-w", w.whitelist,
                                         "-l", "127.0.0.1:0", "--store", path]),
                           stdin=subprocess.DEVNULL, capture_output=True, text=True,
                           timeout=TIMEOUT, cwd=w.dir)
        self.assertNotEqual(p.returncode, 0)
        errs = [l for l in p.stderr.splitlines() if "store" in l]
        self.assertEqual(len(errs), 1, p.stderr)
        self.assertIn(path, errs[0])
        self.assertIn(want, errs[0])
        self.assertNotIn("listening on", p.stderr)

    def test_a_folder_is_refused_with_a_file_path_to_give_instead(self):
        path = os.path.join(self.world.dir, "stores")
        os.mkdir(path)
        self.refused_at_start(path, "is a folder: give the path of a file")
        self.assertEqual(os.listdir(path), [])

    def test_a_fifo_is_refused_at_once_not_waited_on(self):
        path = os.path.join(self.world.dir, "pipe")
        os.mkfifo(path)
        self.refused_at_start(path, "is not a regular file")

    def test_a_file_that_is_not_a_cove_store_is_refused_untouched(self):
        path = os.path.join(self.world.dir, "notes.db")
        with open(path, "wb") as f:
            f.write(b"these are my notes, not a database\n" * 100)
        self.refused(path, "not a Cove store")

    def test_another_sqlite_database_is_refused_untouched(self):
        path = os.path.join(self.world.dir, "other.db")
        db = sqlite3.connect(path)
        db.execute("CREATE TABLE t (x)")
        db.execute("INSERT INTO t VALUES (1)")
        db.commit()
        db.close()
        self.refused(path, "not a Cove store")

    def test_a_store_of_a_newer_version_is_refused_untouched(self):
        path = os.path.join(self.world.dir, "newer.db")
        db = sqlite3.connect(path)
        db.execute("PRAGMA application_id = %d" % STORE_APP_ID)
        db.execute("PRAGMA user_version = 99")
        db.execute("CREATE TABLE future (x)")
        db.commit()
        db.close()
        self.refused(path, "newer")

    def test_a_store_whose_rooms_do_not_load_is_refused_with_one_clear_line(self):
        """A Cove store whose rows make no sense (a room with an empty
        name): one line naming the file and saying it is damaged, none
        about memory, and its rows as they were."""
        w = self.world
        relay = w.start_relay()
        relay.p.send_signal(signal.SIGTERM)
        relay.p.wait(TIMEOUT)
        path = os.path.join(w.dir, "cove-store.db")
        db = sqlite3.connect(path)
        db.execute("INSERT INTO rooms (id, name, epoch_known, epoch, epoch_top, next_serial, "
                   "next_seq, first_seq, bytes) VALUES (1, x'', 0, 0, 0, 1, 1, 1, 0)")
        db.commit()
        db.close()
        rows = self.rows(path)
        p = subprocess.run(cove.wrap(w, [cove.RELAY, "-k", w.key("relay"), "-w", w.whitelist,
                                         "-l", "127.0.0.1:0", "--store", path]),
                           stdin=subprocess.DEVNULL, capture_output=True, text=True,
                           timeout=TIMEOUT, cwd=w.dir)
        self.assertNotEqual(p.returncode, 0)
        self.assertNotIn("memory", p.stderr)
        errs = [l for l in p.stderr.splitlines() if "damaged" in l]
        self.assertEqual(len(errs), 1, p.stderr)
        self.assertIn(path, errs[0])
        self.assertEqual(self.rows(path), rows)

    @staticmethod
    def rows(path):
        db = sqlite3.connect(path)
        try:
            return [db.execute("SELECT * FROM %s ORDER BY 1" % t).fetchall()
                    for t in ("rooms", "members", "frames")]
        finally:
            db.close()

    def test_a_store_another_relay_has_open_is_refused(self):
        w = self.world
        w.start_relay()  # on the default store, in the world's folder
        self.refused(os.path.join(w.dir, "cove-store.db"), "in use", busy=True)


class RelayRestartTest(CoveTest):
    members = ("alice", "bob")

    def test_a_relay_killed_and_started_again_keeps_its_members_and_epochs(self):
        """Killed with -9 and started again on its store, the relay still
        has the room with alice and bob in it: they come back as members,
        not joiners, and chat on in the epoch they had: each says RDY once
        its catch-up ends (UPD), and nobody is asked to make a new key
        (test_room_away.c: a_restarted_relay_keeps_its_epoch_for_members_
        that_catch_up_first)."""
        w = self.world
        relay = w.start_relay(extra=["--join-timeout", "1000"])
        port = relay.port
        alice = w.node("alice", ["lobby"])
        self.assertTrue(alice.ready("lobby")["first"])
        bob = w.node("bob", ["lobby"])
        self.assertFalse(bob.ready("lobby")["first"])
        alice.say("before")
        bob.wait_event("message", text="before")
        before = relay.stats()
        relay.p.send_signal(signal.SIGKILL)
        relay.p.wait(TIMEOUT)
        relay = w.relay = cove.Relay(w, listen="127.0.0.1:%d" % port,
                                     extra=["--join-timeout", "1000"])
        s = relay.stats()
        self.assertEqual(s["rooms"], 1, "the room was not kept")
        for n in (alice, bob):
            n.wait(lambda e: e.get("event") == "ready" and e.get("rejoin"), what="a rejoin")
        alice.say("after, from alice")
        bob.wait_event("message", text="after, from alice")
        bob.say("after, from bob")
        alice.wait_event("message", text="after, from bob")
        s = relay.stats()
        self.assertEqual(s["rooms"], 1)
        self.assertEqual(s["joins"], 0, "they came back as members, not joiners")
        self.assertEqual(s["returns"], 2)
        self.assertEqual(s["firsts"], 0, "someone was asked to make a new key")
        self.assertEqual(before["joins"], 2)
        for n in (alice, bob):
            self.assertEqual([e for e in n.events if e.get("event") == "epoch"], [],
                             "%s saw a new epoch" % n.name)


if __name__ == "__main__":
    unittest.main()
