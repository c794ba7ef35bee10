#!/usr/bin/env python3
"""report.py - turns cove-bench's JSON lines into tables, ratios and plots.

    report.py ratios FILE            Cove against mosquitto, run by run
    report.py summary FILE OUTDIR    OUTDIR/latest.json, latest.md and, when
                                     gnuplot is installed, latency.png and
                                     fanout.png

FILE holds one JSON object per line, as cove-bench (and bench/indep.py)
print them; runs are paired by their label (-l). The targets are those of
docs/PERFORMANCE.md: reported, never asserted.

Beside the ratios to mosquitto, two tables:

* the cross-check: cove-bench's own MQTT numbers against the independent
  clients of the same invocation (target "mosquitto-clients": Debian's
  mosquitto_pub/mosquitto_sub; "epoll-ref": a one-thread epoll client);
* the floors: for each latency run, mosquitto's path (the fastest client
  of the run at that quantile) plus the two Ed25519 checks Cove must make
  on a message's way (the relay's and the receiver's), each costing what
  verify_us measured just before the windows; and Cove's ratio to it.
"""
import datetime
import json
import os
import platform
import shutil
import subprocess
import sys


def load(path):
    runs = []
    with open(path) as f:
        for line in f:
            line = line.strip()
            if line.startswith("{"):
                runs.append(json.loads(line))
    return runs


def by_label(runs, label, target=None):
    for r in runs:
        if r.get("label") == label and (target is None or r.get("target") == target):
            return r
    return None


def pairs(runs):
    """(label, cove run, mosquitto run) for every label run against both."""
    out = []
    for r in runs:
        if r.get("target") != "mosquitto":
            continue
        c = by_label(runs, r.get("label"), "cove")
        if c:
            out.append((r["label"], c, r))
    return out


def ratio(a, b):
    return a / b if a is not None and b else None


def fmt(x, digits=3):
    if x is None:
        return "-"
    if isinstance(x, (int, float)) and not isinstance(x, bool):
        if abs(x) >= 1000:
            return "{:,.0f}".format(x)
        if isinstance(x, int):
            return str(x)
        return "{:.{}g}".format(x, digits)
    return str(x)


def ratio_rows(runs):
    rows = []
    for label, c, m in pairs(runs):
        if c["scenario"] == "fanout":
            rows.append((label, "deliveries/s", c.get("deliveries_per_s"),
                         m.get("deliveries_per_s"),
                         ratio(c.get("deliveries_per_s"), m.get("deliveries_per_s")),
                         "lost %s / %s" % (c.get("lost"), m.get("lost"))))
        elif c["scenario"] == "latency":
            for q in ("p50_us", "p99_us"):
                # lower is better: the ratio is mosquitto's over Cove's
                rows.append((label, q, c.get(q), m.get(q), ratio(m.get(q), c.get(q)),
                             "lost %s / %s" % (c.get("lost"), m.get("lost"))))
    return rows


MQTT_CLIENTS = ("mosquitto", "mosquitto-clients", "epoll-ref")
CHECKS_ON_PATH = 2  # the relay checks a DAT once, each receiver once


def cross_rows(runs):
    """(label, measure, cove-bench's, mosquitto-clients', epoll-ref's) per
    label run by cove-bench against mosquitto and by an independent client."""
    rows = []
    for r in runs:
        if r.get("target") != "mosquitto":
            continue
        label = r.get("label")
        mc = by_label(runs, label, "mosquitto-clients")
        ep = by_label(runs, label, "epoll-ref")
        if not mc and not ep:
            continue
        if r["scenario"] == "fanout":
            keys = ("deliveries_per_s", "server_cpu")
        else:
            keys = ("p50_us", "p99_us")
        for k in keys:
            rows.append((label, k, r.get(k), mc.get(k) if mc else None,
                         ep.get(k) if ep else None))
    return rows


def floor_rows(runs):
    """(label, quantile key, path, client that gave it, verify_us, floor,
    cove, cove / floor, (lowest, highest) verify_us) for every latency
    label run against Cove. verify_us is the mean of the run's
    measurements; their spread is given so that a floor taken while the
    machine's speed moved can be told apart."""
    rows = []
    for c in runs:
        if c.get("target") != "cove" or c.get("scenario") != "latency":
            continue
        label = c.get("label")
        verify = [r["verify_us"] for r in runs
                  if r.get("label") == label and r.get("verify_us")]
        if not verify:
            continue
        v = sum(verify) / len(verify)
        for q in ("p50_us", "p99_us"):
            best = None
            for t in MQTT_CLIENTS:
                m = by_label(runs, label, t)
                if m and m.get(q) and (best is None or m[q] < best[0]):
                    best = (m[q], t)
            if best is None:
                continue
            floor = best[0] + CHECKS_ON_PATH * v
            rows.append((label, q, best[0], best[1], v, floor, c.get(q),
                         ratio(c.get(q), floor), (min(verify), max(verify))))
    return rows


def check_text(v, spread):
    """The check time, with the run's lowest and highest beside it when
    they differ by more than a tenth (the machine's speed moved)."""
    lo, hi = spread
    if lo and hi / lo > 1.1:
        return "%s (%s-%s)" % (fmt(v), fmt(lo), fmt(hi))
    return fmt(v)


def print_ratios(runs):
    print("%-22s %-14s %14s %14s %8s  %s" % ("run", "measure", "cove", "mosquitto",
                                            "ratio", "notes"))
    for label, what, c, m, r, notes in ratio_rows(runs):
        print("%-22s %-14s %14s %14s %8s  %s" % (label, what, fmt(c), fmt(m), fmt(r), notes))
    print("(ratio > 1: Cove ahead; for latency it is mosquitto's time over Cove's)")
    cross = cross_rows(runs)
    if cross:
        print()
        print("%-22s %-16s %14s %18s %14s" % ("cross-check", "measure", "cove-bench",
                                              "mosquitto-clients", "epoll-ref"))
        for label, k, a, b, e in cross:
            print("%-22s %-16s %14s %18s %14s" % (label, k, fmt(a), fmt(b), fmt(e)))
    floors = floor_rows(runs)
    if floors:
        print()
        print("%-22s %-7s %10s %-18s %16s %10s %10s %8s" % (
            "floor", "", "path", "(client)", "verify", "floor", "cove", "x floor"))
        for label, q, path, who, v, floor, cv, r, vs in floors:
            print("%-22s %-7s %10s %-18s %16s %10s %10s %8s" % (
                label, q, fmt(path), who, check_text(v, vs), fmt(floor), fmt(cv), fmt(r)))
        print("(floor: mosquitto's path, fastest client of the run, plus %d Ed25519 checks)"
              % CHECKS_ON_PATH)


def targets(runs):
    """[(target, value text, holds or None when not measured)]"""
    t = []

    def get(label, key, target="cove"):
        r = by_label(runs, label, target)
        return r.get(key) if r else None

    one = get("ingress 1 core", "ratio_to_one_core")
    t.append(("ingress on one core >= 0.9 x the one-core verify rate",
              fmt(one), None if one is None else one >= 0.9))
    thr = get("ingress threads", "ratio_to_one_core")
    allc = get("ingress threads", "ratio_to_all_cpus")
    t.append(("ingress with worker threads >= 1.7 x the one-core rate (2 cores)",
              fmt(thr) + ("" if allc is None else " (%s x what all CPUs verify together)"
                          % fmt(allc)),
              None if thr is None else thr >= 1.7))
    for label, want in (("fanout 1x10", 1.0), ("fanout 10x10", 1.0), ("fanout 1x100", 4.0)):
        c = get(label, "deliveries_per_s")
        m = get(label, "deliveries_per_s", "mosquitto")
        r = ratio(c, m)
        t.append(("%s deliveries >= %g x mosquitto's" % (label, want), fmt(r),
                  None if r is None else r >= want))
    p50 = get("latency 1000/s x10", "p50_us")
    p99 = get("latency 1000/s x10", "p99_us")
    t.append(("latency p50 <= 250 us", fmt(p50), None if p50 is None else p50 <= 250))
    t.append(("latency p99 <= 1000 us", fmt(p99), None if p99 is None else p99 <= 1000))
    j10 = get("join 10", "p50_ms")
    t.append(("join into 10 members, median <= 2 ms", fmt(j10),
              None if j10 is None else j10 <= 2))
    storm = by_label(runs, "storm 1000", "cove")
    if storm:
        ok = storm["seconds"] <= 5 and storm["keyed"] == storm["joiners"]
        t.append(("1,000-join storm <= 5 s, every joiner keyed",
                  "%s s, %d of %d keyed" % (fmt(storm["seconds"]), storm["keyed"],
                                            storm["joiners"]), ok))
    rk = get("rekey 1000", "p50_ms")
    rkmax = get("rekey 1000", "max_ms")
    t.append(("rekey in 1,000 members <= 250 ms (median; max beside)",
              "%s ms (max %s)" % (fmt(rk), fmt(rkmax)), None if rk is None else rk <= 250))
    # issue 11: persistent rooms
    cu = by_label(runs, "catchup", "cove")
    if cu:
        r = cu.get("ratio_to_one_core")
        t.append(("catch-up of %s stored messages, cove-node >= 0.8 x the one-core verify rate"
                  % fmt(cu.get("messages")),
                  "%s (core with history %s, core without %s)" % (
                      fmt(r), fmt(cu.get("ratio_core")), fmt(cu.get("ratio_memory"))),
                  None if r is None else r >= 0.8))
    for label, key, want, what in (
            ("store ingress", "frames_per_s", 0.8, "ingress with the store"),
            ("store fanout 1x10", "deliveries_per_s", 0.9, "fanout 1x10 with the store")):
        st = by_label(runs, label, "cove")
        if st:
            r = st.get(key + "_ratio")
            t.append(("%s >= %g x --store none" % (what, want),
                      "%s (rounds %s-%s)" % (fmt(r), fmt(st.get(key + "_ratio_min")),
                                             fmt(st.get(key + "_ratio_max"))),
                      None if r is None else r >= want))
    if cu and cu.get("store_size_ratio") is not None:
        r = cu["store_size_ratio"]
        t.append(("store size <= 1.2 x the bytes of its frames",
                  "%s (%s bytes for %s of frames)" % (fmt(r), fmt(cu["store_file_bytes"] +
                                                               cu["store_wal_bytes"]),
                                                      fmt(cu["store_frame_bytes"])),
                  r <= 1.2))
    c10 = by_label(runs, "conns 10000", "cove")
    if c10:
        mib = c10["relay_rss_kib"] / 1024
        t.append(("10,000 idle nodes, relay RSS <= 64 MB",
                  "%.1f MiB (%s bytes a connection)" % (mib, fmt(c10["relay_rss_per_conn_bytes"])),
                  mib <= 64))
    return t


def markdown(runs):
    lines = []
    v = next((r for r in runs if r["scenario"] == "verify"), None)
    if v:
        lines.append("Ed25519 verify on one core: %s a second (%d-byte frames), %s CPUs.\n"
                     % (fmt(v["verify_per_s_one_core"]), v["message_bytes"], v.get("cpus")))
    lines.append("| target | measured | holds |")
    lines.append("|---|---|---|")
    for what, val, ok in targets(runs):
        lines.append("| %s | %s | %s |" % (what, val, "-" if ok is None else "yes" if ok else "**no**"))
    lines.append("")
    lines.append("| Cove against mosquitto | measure | Cove | mosquitto | ratio |")
    lines.append("|---|---|---|---|---|")
    for label, what, c, m, r, notes in ratio_rows(runs):
        lines.append("| %s | %s | %s | %s | %s |" % (label, what, fmt(c), fmt(m), fmt(r)))
    cross = cross_rows(runs)
    if cross:
        lines.append("")
        lines.append("| mosquitto measured by | measure | cove-bench | mosquitto_pub/sub | "
                     "one-thread epoll |")
        lines.append("|---|---|---|---|---|")
        for label, k, a, b, e in cross:
            lines.append("| %s | %s | %s | %s | %s |" % (label, k, fmt(a), fmt(b), fmt(e)))
    floors = floor_rows(runs)
    if floors:
        lines.append("")
        lines.append("| latency floor | quantile | mosquitto's path (us) | fastest client | "
                     "one check (us) | floor (us) | Cove (us) | Cove / floor |")
        lines.append("|---|---|---|---|---|---|---|---|")
        for label, q, path, who, v, floor, cv, r, vs in floors:
            lines.append("| %s | %s | %s | %s | %s | %s | %s | %s |" % (
                label, q[:-3], fmt(path), who, check_text(v, vs), fmt(floor), fmt(cv), fmt(r)))
    lines.append("")
    lines.append("| run | result | relay CPU (cores) | bench CPU (cores) |")
    lines.append("|---|---|---|---|")
    for r in runs:
        if r.get("target") != "cove" or str(r.get("label", "")).startswith("sweep"):
            continue
        s = r["scenario"]
        if r.get("store") == "both":
            key = "frames_per_s" if s == "ingress" else "deliveries_per_s"
            res = "%s %s with the store, %s without: %s x (median of %d rounds)" % (
                fmt(r.get(key + "_sqlite")), key.replace("_per_s", "/s"),
                fmt(r.get(key + "_none")), fmt(r.get(key + "_ratio")), r.get("rounds", 0))
        elif s == "catchup":
            res = ("%s shown/s by cove-node (%s x verify), %s by its core (%s x), %s without "
                   "history (%s x); store %s x its frames") % (
                fmt(r.get("shown_per_s_node")), fmt(r.get("ratio_node")),
                fmt(r.get("shown_per_s_core")), fmt(r.get("ratio_core")),
                fmt(r.get("shown_per_s_memory")), fmt(r.get("ratio_memory")),
                fmt(r.get("store_size_ratio")))
        elif s == "ingress":
            res = "%s frames/s, %s x one core" % (fmt(r["frames_per_s"]), fmt(r["ratio_to_one_core"]))
            if r.get("ratio_to_all_cpus") is not None:
                res += ", %s x all %s CPUs" % (fmt(r["ratio_to_all_cpus"]), r.get("cpus"))
        elif s == "fanout":
            res = "%s deliveries/s, %s publishes/s" % (fmt(r["deliveries_per_s"]),
                                                        fmt(r["publishes_per_s"]))
        elif s == "latency":
            res = "p50 %s us, p99 %s us, max %s us" % (fmt(r["p50_us"]), fmt(r["p99_us"]),
                                                      fmt(r["max_us"]))
        elif s == "join":
            res = "median %s ms, max %s ms (%d joins)" % (fmt(r["p50_ms"]), fmt(r["max_ms"]),
                                                         r["joins"])
        elif s == "storm":
            res = "%s s, %d of %d keyed" % (fmt(r["seconds"]), r["keyed"], r["joiners"])
        elif s == "rekey":
            res = "median %s ms, max %s ms (%d rekeys)" % (fmt(r["p50_ms"]), fmt(r["max_ms"]),
                                                          r["rekeys"])
        elif s == "conns":
            res = "RSS %.1f MiB, %s bytes a connection" % (r["relay_rss_kib"] / 1024,
                                                         fmt(r["relay_rss_per_conn_bytes"]))
        else:
            continue
        lines.append("| %s | %s | %s | %s |" % (r.get("label", s), res, fmt(r.get("server_cpu")),
                                               fmt(r.get("bench_cpu"))))
    return "\n".join(lines) + "\n"


def plots(runs, outdir):
    if not shutil.which("gnuplot"):
        print("report.py: gnuplot is not installed; no plots (apt-get install gnuplot-nox)",
              file=sys.stderr)
        return
    sweep = sorted(((int(r["label"].split()[1]), r) for r in runs
                    if str(r.get("label", "")).startswith("sweep ")),
                   key=lambda sr: (sr[0], sr[1].get("target", "")))
    for target in ("cove", "mosquitto"):
        with open(os.path.join(outdir, "fanout-%s.dat" % target), "w") as f:
            f.write("# receivers deliveries_per_s\n")
            for s, r in sweep:
                if r["target"] == target:
                    f.write("%d %f\n" % (s, r["deliveries_per_s"]))
    script = """
set terminal png size 800,500
set grid
set key left top
set output '{d}/fanout.png'
set title 'One sender, one room: deliveries a second against receivers'
set xlabel 'receivers in the room'
set ylabel 'deliveries a second'
set logscale x
plot '{d}/fanout-cove.dat' using 1:2 with linespoints title 'Cove relay', \\
     '{d}/fanout-mosquitto.dat' using 1:2 with linespoints title 'mosquitto (QoS 0)'
unset logscale
set output '{d}/latency.png'
set title '1,000 messages a second to 10 receivers: send call to plaintext'
set xlabel 'latency (microseconds)'
set ylabel 'fraction of deliveries at or below'
set logscale x
set key right bottom
plot '{d}/latency-cove.dat' using ($1/1000):2 with lines lw 2 title 'Cove (real node cores)', \\
     '{d}/latency-mosquitto.dat' using ($1/1000):2 with lines lw 2 title 'mosquitto (QoS 0, no crypto)'
""".format(d=outdir)
    have = all(os.path.exists(os.path.join(outdir, f))
               for f in ("latency-cove.dat", "latency-mosquitto.dat"))
    if not have:
        script = script[:script.index("unset logscale")]
    subprocess.run(["gnuplot"], input=script.encode(), check=True)


def summary(path, outdir):
    runs = load(path)
    doc = {
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform(),
                    "processor": platform.processor()},
        "targets": [{"target": w, "measured": v, "holds": ok} for w, v, ok in targets(runs)],
        "cross_check": [{"label": l, "measure": k, "cove_bench": x, "mosquitto_clients": y,
                         "epoll_ref": z} for l, k, x, y, z in cross_rows(runs)],
        "floors": [{"label": l, "quantile": q, "path_us": p, "path_client": who,
                    "verify_us": v, "verify_us_lowest": vs[0], "verify_us_highest": vs[1],
                    "floor_us": f, "cove_us": c, "cove_over_floor": r}
                   for l, q, p, who, v, f, c, r, vs in floor_rows(runs)],
        "runs": runs,
    }
    with open(os.path.join(outdir, "latest.json"), "w") as f:
        json.dump(doc, f, indent=1)
        f.write("\n")
    md = markdown(runs)
    with open(os.path.join(outdir, "latest.md"), "w") as f:
        f.write(md)
    plots(runs, outdir)
    sys.stdout.write(md)


def main():
    if len(sys.argv) == 3 and sys.argv[1] == "ratios":
        print_ratios(load(sys.argv[2]))
    elif len(sys.argv) == 4 and sys.argv[1] == "summary":
        summary(sys.argv[2], sys.argv[3])
    else:
        sys.stderr.write(__doc__)
        sys.exit(2)


if __name__ == "__main__":
    main()
