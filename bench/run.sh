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
# A scenario that fails (counts off, a timeout) is said and the others
# still run: the report shows what was measured, and the exit status says
# that something failed.
failed=0
b() {
	"$bench" -q "$@" >>"$lines" || {
		echo "  FAILED  cove-bench $*" >&2
		failed=1
	}
}

step "the machine's verify rate"
b verify

step "ingress: one verifying core, then worker threads"
b -l "ingress 1 core" ingress --relay-opt=--verify-threads=0
b -l "ingress threads" ingress  # the default: one worker per CPU but one, and the loop

step "Cove against mosquitto (and mosquitto against independent clients): fanout, latency, deliveries against room size"
"$here/compare.sh" $quick -w -o "$lines" -s "$res" >/dev/null

# Issue 11 (persistent rooms): what the relay's store costs, each side
# of a ratio measured in the same invocation, alternating
if [ -n "$quick" ]; then
	nstore=10000 ncatch=20000 rounds=2 frounds=2
else
	nstore=30000 ncatch=100000 rounds=3 frounds=5
fi
step "the store: ingress and fanout 1x10 with the relay's SQLite file and with --store none, alternating"
b -l "store ingress" --store both --rounds $rounds ingress
b -l "store fanout 1x10" --store both --rounds $frounds fanout -P 1 -S 10 -n $nstore
step "catch-up: members back to $ncatch stored messages (cove-node, its core, the core without history); the store's size"
b -l "catchup" catchup -n $ncatch

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
exit $failed
