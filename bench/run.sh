#!/bin/sh
# run.sh [-q] - every benchmark, in a few minutes: 'make bench'.
#
# Writes bench/results/latest.jsonl (one JSON line per run, as cove-bench
# and bench/indep.py print them), then bench/results/latest.json and
# latest.md (the table, the targets of docs/PERFORMANCE.md and how each
# stands, cove-bench's MQTT numbers against independent clients, and each
# latency's floor with Cove's ratio to it) and, with gnuplot, the plots
# bench/results/latency.png and fanout.png.
# -q: smaller loads, for a quick look.
set -eu

here=$(dirname "$0")
bench=${COVE_BENCH:-build/cove-bench}
export COVE_BENCH="$bench"
quick=""
[ "${1:-}" = "-q" ] && quick=-q
res=$here/results
mkdir -p "$res"
lines=$res/latest.jsonl
: >"$lines"

# A server on this machine's loopback may need more than the usual 1024
# open files for the conns run; cove-bench raises its own limit, and the
# relay it starts inherits it.
ulimit -n 20000 2>/dev/null || ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

step() {
	echo "  BENCH   $*" >&2
}
b() {
	"$bench" -q "$@" >>"$lines"
}

step "the machine's verify rate"
b verify

step "ingress: one verifying core, then worker threads"
b -l "ingress 1 core" ingress --relay-opt=--verify-threads=0
b -l "ingress threads" ingress  # the default: one worker per CPU but one, and the loop

step "Cove against mosquitto (and mosquitto against independent clients): fanout, latency, deliveries against room size"
"$here/compare.sh" $quick -w -o "$lines" -s "$res" >/dev/null

step "joins and rekeys"
b -l "join 0" join -m 0
b -l "join 10" join -m 10
b -l "join 100" join -m 100 -n 5
b -l "join 1000" join -m 1000 -n 5
b -l "storm 1000" storm -m 1000
b -l "rekey 1000" rekey -m 1000

step "idle connections"
b -l "conns 1000" conns -c 1000
if [ -n "$quick" ]; then
	b -l "conns 2000" conns -c 2000
else
	b -l "conns 10000" conns -c 10000
fi

python3 "$here/report.py" summary "$lines" "$res"
