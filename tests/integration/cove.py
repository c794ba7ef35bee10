"""Helpers for Cove's integration tests: real programs on loopback.

Every test builds a throw-away world in a temporary folder (keys, a
whitelist), starts the real cove-rendezvous on a free loopback port
(port 0, read back from its 'listening on' line), starts real cove-node
processes with --json, and stops every process it started by PID.
Nothing here sleeps for a fixed time to wait for something: each wait
polls for the event it needs, with a deadline.
"""

import json
import os
import queue
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
import unittest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUILD = os.path.join(ROOT, os.environ.get("COVE_BUILD", "build"))
KEYS = os.path.join(BUILD, "cove-keys")
RELAY = os.path.join(BUILD, "cove-rendezvous")
NODE = os.path.join(BUILD, "cove-node")
TAMPER_RELAY = os.path.join(BUILD, "tests", "cove-rendezvous-tamper")
KEYLOG_NODE = os.path.join(BUILD, "tests", "cove-node-keylog")
DATOPEN = os.path.join(BUILD, "tests", "tools", "datopen")

# cove-node keeps history under $XDG_DATA_HOME by default: never the
# user's own folder from a test, and one folder per run of the suite.
os.environ["XDG_DATA_HOME"] = tempfile.mkdtemp(prefix="cove-test-data-")

# Generous: the suite also runs under AddressSanitizer on a shared machine.
TIMEOUT = float(os.environ.get("COVE_TEST_TIMEOUT", "20"))

# COVE_VALGRIND=1 runs every relay and node under valgrind (make
# check-valgrind); the logs are checked when the test's world ends.
VALGRIND = os.environ.get("COVE_VALGRIND") == "1"


def wrap(world, args):
    """The command line, under valgrind when COVE_VALGRIND=1."""
    if not VALGRIND:
        return args
    return ["valgrind", "-q", "--log-file=%s/valgrind.%%p.log" % world.dir,
            "--leak-check=full", "--errors-for-leak-kinds=definite,indirect",
            "--show-leak-kinds=definite,indirect", "--error-exitcode=99"] + args


def run(*args, input=None, check=True):
    """Runs a command to completion; returns CompletedProcess (text)."""
    p = subprocess.run(list(args), input=input, capture_output=True, text=True,
                       timeout=TIMEOUT)
    if check and p.returncode != 0:
        raise AssertionError("%s failed (%d): %s" % (args, p.returncode, p.stderr))
    return p


class Lines:
    """Collects a stream's lines on a thread, so tests can wait for one."""

    def __init__(self, stream, name):
        self.q = queue.Queue()
        self.all = []
        self.lock = threading.Lock()
        self.t = threading.Thread(target=self._pump, args=(stream,), name=name, daemon=True)
        self.t.start()

    def _pump(self, stream):
        try:
            for line in iter(stream.readline, ""):
                line = line.rstrip("\n")
                with self.lock:
                    self.all.append(line)
                self.q.put(line)
        except (OSError, ValueError):
            pass  # the test closed the stream while cleaning up
        self.q.put(None)

    def snapshot(self):
        with self.lock:
            return list(self.all)


class Node:
    """A cove-node --json process."""

    def __init__(self, world, name, rooms, relay=None, extra=(), whitelist=None, key=None,
                 binary=None, env=None, history="none"):
        self.world = world
        self.name = name
        relay = relay or world.relay
        args = [binary or NODE, "-k", key or world.key(name), "-w",
                whitelist or world.whitelist, "-s", relay.addr, "-S", relay.pub, "--json"]
        # Most tests start the same identity more than once, at once:
        # history is kept only where a test asks for it (a path).
        if history is not None:
            args += ["--history", history]
        for r in rooms:
            args += ["-r", r]
        args += list(extra)
        full_env = None
        if env:
            full_env = dict(os.environ)
            full_env.update(env)
        self.p = subprocess.Popen(wrap(world, args), stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True, bufsize=1, env=full_env)
        world.procs.append(self.p)
        self.out = Lines(self.p.stdout, name + "-out")
        self.err = Lines(self.p.stderr, name + "-err")
        self.events = []

    def send_cmd(self, obj):
        self.p.stdin.write(json.dumps(obj) + "\n")
        self.p.stdin.flush()

    def say(self, text, room=None):
        cmd = {"cmd": "send", "text": text}
        if room:
            cmd["room"] = room
        self.send_cmd(cmd)

    def quit(self):
        self.send_cmd({"cmd": "quit"})

    def _next(self, deadline):
        left = deadline - time.monotonic()
        if left <= 0:
            return False, None
        try:
            line = self.out.q.get(timeout=left)
        except queue.Empty:
            return False, None
        if line is None:
            return True, None
        ev = json.loads(line)
        self.events.append(ev)
        return True, ev

    def wait(self, pred, timeout=TIMEOUT, what="event"):
        """Waits for an event matching pred; returns it. Earlier events are
        kept in self.events."""
        for ev in self.events:
            if pred(ev):
                return ev
        deadline = time.monotonic() + timeout
        while True:
            ok, ev = self._next(deadline)
            if not ok:
                raise AssertionError("%s: timed out waiting for %s; %s; stderr: %s" % (
                    self.name, what, self.recent_events(), self.err.snapshot()[-20:]))
            if ev is None:
                raise AssertionError("%s: exited while waiting for %s; %s; stderr: %s" % (
                    self.name, what, self.recent_events(), self.err.snapshot()[-20:]))
            if pred(ev):
                return ev

    def recent_events(self, n=30):
        """The last n events, for failure messages that stay readable."""
        if len(self.events) <= n:
            return "events so far: %s" % self.events
        return "%d events, the last %d: %s" % (len(self.events), n, self.events[-n:])

    def wait_event(self, kind, timeout=TIMEOUT, **fields):
        return self.wait(lambda e: e.get("event") == kind and
                         all(e.get(k) == v for k, v in fields.items()),
                         timeout, "%s %s" % (kind, fields))

    def ready(self, room, timeout=TIMEOUT):
        return self.wait_event("ready", timeout, room=room)

    def drain(self, seconds):
        """Collects events for a while (to show something does NOT happen)."""
        deadline = time.monotonic() + seconds
        while True:
            ok, ev = self._next(deadline)
            if not ok or ev is None:
                return list(self.events)

    def messages(self, room=None):
        return [e for e in self.events if e.get("event") == "message" and
                (room is None or e.get("room") == room)]

    def errors(self):
        return [e for e in self.events if e.get("event") == "error"]

    def wait_exit(self, timeout=TIMEOUT):
        rc = self.p.wait(timeout=timeout)
        self.out.t.join(timeout)
        while True:  # pick up the events that arrived before the exit
            try:
                line = self.out.q.get_nowait()
            except queue.Empty:
                break
            if line:
                self.events.append(json.loads(line))
        return rc


class Relay:
    """A cove-rendezvous process on a free loopback port."""

    def __init__(self, world, key="relay", extra=(), binary=RELAY, env=None, listen="127.0.0.1:0",
                 preexec=None, cwd=None):
        # cwd: where its default store (cove-store.db) goes; the world's
        # folder unless said, so that a relay started again finds it
        self.world = world
        self.pub = world.pub(key)
        full_env = dict(os.environ)
        full_env.update(env or {})
        self.p = subprocess.Popen(wrap(world, [binary, "-k", world.key(key), "-w",
                                               world.whitelist, "-l", listen] + list(extra)),
                                  stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                  stderr=subprocess.PIPE, text=True, env=full_env,
                                  preexec_fn=preexec, cwd=cwd or world.dir)
        world.procs.append(self.p)
        self.log = Lines(self.p.stderr, "relay-err")
        deadline = time.monotonic() + TIMEOUT
        self.addr = None
        while time.monotonic() < deadline:
            try:
                line = self.log.q.get(timeout=deadline - time.monotonic())
            except queue.Empty:
                break
            if line is None:
                break
            if line.startswith("listening on "):
                self.addr = line[len("listening on "):]
                break
        if not self.addr:
            raise AssertionError("relay did not start: %s" % self.log.snapshot())
        self.host, self.port = self.addr.rsplit(":", 1)
        self.port = int(self.port)

    def log_lines(self):
        return self.log.snapshot()

    def wait_log(self, needle, timeout=TIMEOUT):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if any(needle in l for l in self.log.snapshot()):
                return
            time.sleep(0.02)
        raise AssertionError("relay log never said %r: %s" % (needle, self.log.snapshot()))

    def stats(self):
        """The counters of a fresh 'stats:' line (SIGUSR1), as a dict."""
        def count():
            return sum(1 for l in self.log_lines() if "stats:" in l)
        n = count()
        self.p.send_signal(signal.SIGUSR1)
        deadline = time.monotonic() + TIMEOUT
        while count() <= n:
            if time.monotonic() > deadline:
                raise AssertionError("no stats line after SIGUSR1: %s" % self.log_lines())
            time.sleep(0.02)
        line = [l for l in self.log_lines() if "stats:" in l][-1]
        return {k: int(v) for k, v in re.findall(r"(\S+)=(\d+)", line)}

    def stop(self):
        if self.p.poll() is None:
            self.p.send_signal(signal.SIGTERM)
            self.p.wait(timeout=TIMEOUT)
        return self.p.returncode


class DelayProxy:
    """A loopback TCP proxy that holds every chunk for `delay` seconds in
    each direction (a slow network), passing half-closes through. Has
    addr and pub, so Node(..., relay=proxy) connects through it."""

    def __init__(self, relay, delay):
        self.target = (relay.host, relay.port)
        self.pub = relay.pub
        self.delay = delay
        self.listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(4)
        self.addr = "127.0.0.1:%d" % self.listener.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                a, _ = self.listener.accept()
            except OSError:
                return
            b = socket.create_connection(self.target, timeout=TIMEOUT)
            b.settimeout(None)
            for src, dst in ((a, b), (b, a)):
                threading.Thread(target=self._pump, args=(src, dst), daemon=True).start()

    def _pump(self, src, dst):
        try:
            while True:
                data = src.recv(65536)
                time.sleep(self.delay)
                if not data:
                    dst.shutdown(socket.SHUT_WR)
                    return
                dst.sendall(data)
        except OSError:
            pass

    def close(self):
        self.listener.close()


class World:
    """A temporary folder with keys and a whitelist, and the processes of
    one test. Use as a context manager; everything is stopped on exit."""

    def __init__(self, members=("alice", "bob", "carol")):
        self.dir = tempfile.mkdtemp(prefix="cove-test-")
        self.whitelist = os.path.join(self.dir, "whitelist")
        self.procs = []
        self.pubs = {}
        self.relay = None
        self.generate("relay")
        open(self.whitelist, "w").close()
        for m in members:
            self.generate(m)
            self.admit(m)

    def key(self, name):
        return os.path.join(self.dir, name + ".key")

    def pub(self, name):
        return self.pubs[name]

    def generate(self, name):
        p = run(KEYS, "generate", "-o", self.key(name), input="")
        self.pubs[name] = p.stdout.strip()
        return self.pubs[name]

    def admit(self, name, whitelist=None):
        run(KEYS, "add", "-w", whitelist or self.whitelist, name, self.pubs[name])

    def write_whitelist(self, path, names):
        with open(path, "w") as f:
            for n in names:
                f.write("%s %s\n" % (n, self.pubs[n]))
        return path

    def start_relay(self, **kw):
        self.relay = Relay(self, **kw)
        return self.relay

    def node(self, name, rooms, **kw):
        return Node(self, name, rooms, **kw)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        if VALGRIND:
            # a clean exit, so that valgrind can check for leaks
            for p in self.procs:
                if p.poll() is None:
                    p.send_signal(signal.SIGCONT)
                    p.send_signal(signal.SIGTERM)
            for p in self.procs:
                try:
                    p.wait(timeout=TIMEOUT)
                except subprocess.TimeoutExpired:
                    pass
        for p in self.procs:
            if p.poll() is None:
                p.send_signal(signal.SIGKILL)
        for p in self.procs:
            try:
                p.wait(timeout=TIMEOUT)
            except subprocess.TimeoutExpired:
                pass
            for s in (p.stdin, p.stdout, p.stderr):
                if s:
                    try:
                        s.close()
                    except OSError:
                        pass
        reports = self.valgrind_reports()
        shutil.rmtree(self.dir, ignore_errors=True)
        if reports:
            raise AssertionError("valgrind found errors:\n" + "\n".join(reports))
        return False

    def valgrind_reports(self):
        out = []
        for name in sorted(os.listdir(self.dir)) if VALGRIND else []:
            if name.startswith("valgrind."):
                with open(os.path.join(self.dir, name)) as f:
                    text = f.read().strip()
                if text:
                    out.append("%s:\n%s" % (name, text))
        return out


class CoveTest(unittest.TestCase):
    """Base class: self.world is a fresh World for each test."""

    members = ("alice", "bob", "carol")

    def setUp(self):
        self.world = World(self.members)
        self.addCleanup(self.world.__exit__, None, None, None)
