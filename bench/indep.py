#!/usr/bin/env python3
"""indep.py - the same MQTT loads as cove-bench, measured by clients that
are not cove-bench: Debian's mosquitto_pub and mosquitto_sub
(mosquitto-clients), and for latency also a plain single-threaded epoll
client written here (no libevent, no threads). A cross-check of
cove-bench's own MQTT numbers in the same run: if they disagree, the
harness is part of what it measures.

    indep.py latency -p PORT [-m RECEIVERS] [-r RATE] [-d SECONDS] [-b BYTES] [-l LABEL]
                     [--server-pid PID] [--client mosquitto|epoll]
    indep.py fanout  -p PORT [-S RECEIVERS] [-n MESSAGES] [-b BYTES] [-l LABEL] [--server-pid PID]

Each prints one JSON line shaped like cove-bench's (target
"mosquitto-clients"). The broker must already listen on 127.0.0.1:PORT;
the clients are started here, on loopback only, and stopped by their pid.
With --server-pid, the broker's CPU over the run is reported (in cores),
as cove-bench reports it: a broker near 1.0 is the limit of a fan-out
run, one well below it says the clients were.

latency: this script writes one line a message, at RATE a second, into
the standard input of 'mosquitto_pub -l'; each line carries its index and
the CLOCK_REALTIME nanoseconds at which it was written, padded to BYTES.
RECEIVERS 'mosquitto_sub -F "%U %p"' print the CLOCK_REALTIME at which
each message reached them (mosquitto_sub takes it in its message
callback). Latency is the difference: it includes a pipe hop into
mosquitto_pub that cove-bench's sender does not have, so it is an upper
bound on what this client pair sees of the broker. The first 50 messages
are left out, as in cove-bench.

latency --client epoll (target "epoll-ref"): one thread, one epoll set,
RECEIVERS subscriber sockets and one publisher socket, speaking MQTT
3.1.1 at QoS 0 by hand. It sends each message when it is due (sleeping
in epoll_wait until then), stamps it with CLOCK_MONOTONIC just before
send(), and stamps each arrival right after the recv() that brought it.
Python costs it a few microseconds a message; it shares nothing with
cove-bench but the broker.

fanout: 'mosquitto_pub -l' publishes MESSAGES lines of BYTES read from a
file, as fast as it goes ('--repeat' publishes one a loop turn, three to
five times slower here); RECEIVERS mosquitto_sub note each arrival. Deliveries a second
are the deliveries after each receiver's first, over the time from the
first arrival anywhere to the last.
"""
import argparse
import json
import os
import select
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time

WARMUP = 50
TOPIC = "cove-bench/indep"


def tool(name):
    path = shutil.which(name)
    if not path:
        sys.stderr.write("indep.py: %s is not installed: apt-get install mosquitto-clients\n" % name)
        sys.exit(1)
    return path


def version():
    try:
        out = subprocess.run([tool("mosquitto_sub"), "--help"], capture_output=True,
                             text=True, timeout=10).stdout
    except (OSError, subprocess.TimeoutExpired):
        return "unknown"
    for line in out.splitlines():
        if line.startswith("mosquitto_sub version"):
            return line.split()[2]
    return "unknown"


def cpu_of(pid):
    """CPU seconds pid has used, from /proc (None when it cannot be read)."""
    if not pid:
        return None
    try:
        with open("/proc/%d/stat" % pid) as f:
            fields = f.read().rpartition(")")[2].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return None


class Window:
    """The broker's CPU from open to close, in cores."""

    def __init__(self, pid):
        self.pid = pid
        self.cpu0 = cpu_of(pid)
        self.t0 = time.monotonic()

    def close(self, j):
        cpu = cpu_of(self.pid)
        wall = time.monotonic() - self.t0
        if cpu is not None and self.cpu0 is not None and wall > 0:
            j["server_cpu"] = round((cpu - self.cpu0) / wall, 4)


def start_subs(port, n, count, outdir):
    subs = []
    for i in range(n):
        path = os.path.join(outdir, "sub%d.out" % i)
        f = open(path, "wb")
        p = subprocess.Popen([tool("mosquitto_sub"), "-h", "127.0.0.1", "-p", str(port),
                              "-t", TOPIC, "-q", "0", "-C", str(count), "-F", "%U %p",
                              "-i", "cove-indep-sub-%d-%d" % (i, os.getpid())],
                             stdout=f, stderr=subprocess.DEVNULL)
        subs.append((p, f, path))
    return subs


def stop(procs, timeout):
    """Waits for the processes until timeout, then interrupts them by pid."""
    end = time.monotonic() + timeout
    for p in procs:
        left = end - time.monotonic()
        try:
            p.wait(timeout=max(left, 0.01))
        except subprocess.TimeoutExpired:
            p.send_signal(signal.SIGINT)
            try:
                p.wait(timeout=5)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()


def arrivals(path):
    """[(arrival_ns, payload bytes)] of one mosquitto_sub output file."""
    out = []
    with open(path, "rb") as f:
        for line in f:
            ts, _, payload = line.rstrip(b"\n").partition(b" ")
            sec, _, frac = ts.partition(b".")
            try:
                ns = int(sec) * 1000000000 + int(frac.ljust(9, b"0")[:9])
            except ValueError:
                continue
            out.append((ns, payload))
    return out


def quantile(sorted_ns, q):
    """Nearest rank, as cove-bench's lat.c."""
    if not sorted_ns:
        return 0
    i = int(q * len(sorted_ns) + 0.999999)
    i = min(max(i - 1, 0), len(sorted_ns) - 1)
    return sorted_ns[i]


def begin(scenario, label, target="mosquitto-clients", client=None):
    j = {"scenario": scenario, "target": target}
    if label:
        j["label"] = label
    j["client"] = client or "mosquitto_pub/mosquitto_sub " + version()
    return j


def latency(a):
    total = max(int(a.seconds * a.rate), WARMUP + 10)
    with tempfile.TemporaryDirectory(prefix="cove-indep.") as d:
        subs = start_subs(a.port, a.members, total, d)
        pub = subprocess.Popen([tool("mosquitto_pub"), "-h", "127.0.0.1", "-p", str(a.port),
                                "-t", TOPIC, "-q", "0", "-l", "--nodelay",
                                "-i", "cove-indep-pub-%d" % os.getpid()],
                               stdin=subprocess.PIPE, stderr=subprocess.DEVNULL)
        # time to connect and subscribe (a message published before a
        # subscription is made would be counted as lost)
        time.sleep(1.0)
        pad = a.bytes
        w = Window(a.server_pid)
        t0 = time.monotonic()
        for i in range(total):
            due = t0 + i / a.rate
            while True:
                left = due - time.monotonic()
                if left <= 0:
                    break
                if left > 0.0003:
                    time.sleep(left - 0.0002)
            head = b"%010d %d " % (i, time.time_ns())
            pub.stdin.write(head + b"x" * (pad - len(head)) + b"\n")
            pub.stdin.flush()
        pub.stdin.close()
        stop([p for p, _, _ in subs], total / a.rate * 2 + 10)
        stop([pub], 5)
        cpu = {}
        w.close(cpu)
        lat, got, dups = [], 0, 0
        for p, f, path in subs:
            f.close()
            seen = set()
            for ns, payload in arrivals(path):
                fields = payload.split(b" ", 2)
                if len(fields) < 2:
                    continue
                i, sent = int(fields[0]), int(fields[1])
                if i in seen:
                    dups += 1
                    continue
                seen.add(i)
                got += 1
                if i >= WARMUP and ns >= sent:
                    lat.append(ns - sent)
    lat.sort()
    j = begin("latency", a.label)
    j.update({"members": a.members, "rate": a.rate, "message_bytes": pad, "messages": total,
              "deliveries": got, "lost": total * a.members - got, "duplicates": dups,
              "samples": len(lat)})
    for key, q in (("p50_us", 0.5), ("p90_us", 0.9), ("p99_us", 0.99), ("max_us", 1.0)):
        j[key] = round(quantile(lat, q) / 1e3, 3)
    j["mean_us"] = round(sum(lat) / len(lat) / 1e3, 3) if lat else 0
    j.update(cpu)
    return j


def mqtt_len(n):
    out = bytearray()
    while True:
        b, n = n % 128, n // 128
        out.append(b | (0x80 if n else 0))
        if not n:
            return bytes(out)


def mqtt_str(s):
    return struct.pack(">H", len(s)) + s


def mqtt_connect(port, cid, topic):
    """A blocking connect, CONNECT (and SUBSCRIBE when topic), then
    non-blocking. Returns the socket."""
    s = socket.create_connection(("127.0.0.1", port), 10)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    var = b"\x00\x04MQTT\x04\x02\x00\x3c" + mqtt_str(cid.encode())
    s.sendall(b"\x10" + mqtt_len(len(var)) + var)
    if recv_exact(s, 4)[3] != 0:
        raise OSError("the broker refused the connection")
    if topic:
        body = b"\x00\x01" + mqtt_str(topic) + b"\x00"
        s.sendall(b"\x82" + mqtt_len(len(body)) + body)
        if recv_exact(s, 5)[4] == 0x80:
            raise OSError("the broker refused the subscription")
    s.setblocking(False)
    return s


def recv_exact(s, n):
    b = b""
    while len(b) < n:
        more = s.recv(n - len(b))
        if not more:
            raise OSError("the broker closed the connection")
        b += more
    return b


def latency_epoll(a):
    total = max(int(a.seconds * a.rate), WARMUP + 10)
    topic = b"cove-bench/indep-epoll"
    rx = [mqtt_connect(a.port, "cove-epref-%d-%d" % (i, os.getpid()), topic)
          for i in range(a.members)]
    tx = mqtt_connect(a.port, "cove-epref-tx-%d" % os.getpid(), None)
    ep = select.epoll()
    slot = {}
    for i, s in enumerate(rx):
        ep.register(s.fileno(), select.EPOLLIN)
        slot[s.fileno()] = i
    t_send = [0] * total
    lat, buf, got, dups = [], [b""] * a.members, 0, 0
    seen = [bytearray(total) for _ in range(a.members)]
    hdr = b"\x30" + mqtt_len(2 + len(topic) + a.bytes) + mqtt_str(topic)
    pad = b"x" * (a.bytes - 10)
    w = Window(a.server_pid)
    t0 = time.monotonic_ns()
    sent = 0
    deadline = t0 + int((total / a.rate * 2 + 10) * 1e9)
    while got + dups < total * a.members and time.monotonic_ns() < deadline:
        now = time.monotonic_ns()
        due = min(total, (now - t0) * a.rate // 1000000000 + 1)
        while sent < due:
            pkt = hdr + b"%010d" % sent + pad
            t_send[sent] = time.monotonic_ns()
            tx.sendall(pkt)
            sent += 1
        if sent < total:
            wait = max(0.0, (t0 + sent * 1000000000 // a.rate - time.monotonic_ns()) / 1e9)
        else:
            wait = 0.1
        for fd, _ in ep.poll(wait):
            data = rx[slot[fd]].recv(1 << 16)
            t = time.monotonic_ns()
            i = slot[fd]
            b = buf[i] + data
            while len(b) >= 2:
                n, k, shift = 0, 1, 0
                while k < len(b) and k < 5:
                    n |= (b[k] & 0x7f) << shift
                    shift += 7
                    k += 1
                    if not b[k - 1] & 0x80:
                        break
                else:
                    break
                if len(b) < k + n:
                    break
                body = b[k:k + n]
                tl = body[0] << 8 | body[1]
                idx = int(body[2 + tl:12 + tl])
                if seen[i][idx]:
                    dups += 1
                else:
                    seen[i][idx] = 1
                    got += 1
                    if idx >= WARMUP:
                        lat.append(t - t_send[idx])
                b = b[k + n:]
            buf[i] = b
    cpu = {}
    w.close(cpu)
    for s in rx + [tx]:
        s.close()
    lat.sort()
    j = begin("latency", a.label, "epoll-ref", "one-thread epoll client (bench/indep.py)")
    j.update({"members": a.members, "rate": a.rate, "message_bytes": a.bytes,
              "messages": total, "deliveries": got, "lost": total * a.members - got,
              "duplicates": dups, "samples": len(lat)})
    for key, q in (("p50_us", 0.5), ("p90_us", 0.9), ("p99_us", 0.99), ("max_us", 1.0)):
        j[key] = round(quantile(lat, q) / 1e3, 3)
    j["mean_us"] = round(sum(lat) / len(lat) / 1e3, 3) if lat else 0
    j.update(cpu)
    return j


def fanout(a):
    with tempfile.TemporaryDirectory(prefix="cove-indep.") as d:
        subs = start_subs(a.port, a.receivers, a.messages, d)
        feed = os.path.join(d, "feed")
        with open(feed, "wb") as f:
            f.write((b"x" * a.bytes + b"\n") * a.messages)
        time.sleep(1.0)
        w = Window(a.server_pid)
        with open(feed, "rb") as f:
            pub = subprocess.Popen([tool("mosquitto_pub"), "-h", "127.0.0.1", "-p", str(a.port),
                                    "-t", TOPIC, "-q", "0", "--nodelay", "-l",
                                    "-i", "cove-indep-pub-%d" % os.getpid()],
                                   stdin=f, stdout=subprocess.DEVNULL,
                                   stderr=subprocess.DEVNULL)
        stop([pub], 600)
        stop([p for p, _, _ in subs], 10)
        cpu = {}
        w.close(cpu)
        first, last, got = None, None, 0
        for p, f, path in subs:
            f.close()
            arr = arrivals(path)
            if not arr:
                continue
            got += len(arr)
            first = arr[0][0] if first is None else min(first, arr[0][0])
            last = arr[-1][0] if last is None else max(last, arr[-1][0])
    secs = (last - first) / 1e9 if first is not None and last > first else 0
    expected = a.messages * a.receivers
    j = begin("fanout", a.label)
    j.update({"senders": 1, "receivers": a.receivers, "message_bytes": a.bytes,
              "messages": a.messages, "deliveries": got, "lost": expected - got,
              "seconds": round(secs, 6),
              "deliveries_per_s": round((got - a.receivers) / secs, 1) if secs else 0,
              "publishes_per_s": round((a.messages - 1) / secs, 1) if secs else 0})
    j.update(cpu)
    return j


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sp = ap.add_subparsers(dest="scenario", required=True)
    lp = sp.add_parser("latency")
    lp.add_argument("-m", "--members", type=int, default=10)
    lp.add_argument("-r", "--rate", type=int, default=1000)
    lp.add_argument("-d", "--seconds", type=float, default=3)
    lp.add_argument("--client", choices=("mosquitto", "epoll"), default="mosquitto")
    fp = sp.add_parser("fanout")
    fp.add_argument("-S", "--receivers", type=int, default=10)
    fp.add_argument("-n", "--messages", type=int, default=10000)
    for p in (lp, fp):
        p.add_argument("-p", "--port", type=int, required=True)
        p.add_argument("-b", "--bytes", type=int, default=509)
        p.add_argument("-l", "--label", default=None)
        p.add_argument("--server-pid", type=int, default=0)
    a = ap.parse_args()
    if a.bytes < 40:
        ap.error("--bytes must be at least 40 (the index and the send time)")
    if a.scenario == "fanout":
        j = fanout(a)
    elif a.client == "epoll":
        j = latency_epoll(a)
    else:
        j = latency(a)
    print(json.dumps(j, separators=(",", ":")))
    ok = j["lost"] == 0 and j.get("duplicates", 0) == 0
    if not ok:
        sys.stderr.write("indep.py: %s: %d of %d deliveries lost\n"
                         % (a.scenario, j["lost"], j["lost"] + j["deliveries"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
