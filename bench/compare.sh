#!/bin/sh
# compare.sh [-o FILE] [-s DIR] [-w] [-q] - the same load on Cove's relay and on mosquitto,
# one after the other in this one invocation, and the ratios.
#
#   fanout   (P,S) = (1,1) (1,10) (10,10) (1,100): deliveries a second
#   latency  1 sender, 1000 messages a second, 10 receivers: p50 and p99
#
# mosquitto (Debian's package) runs with its own configuration on a free
# loopback port, TCP_NODELAY on like Cove's relay, and is stopped by its
# pid. Each result is a JSON line (cove-bench's), appended to FILE
# (default: standard output only); the ratio table goes to standard
# output. -s DIR: write the latency distributions to DIR/latency-cove.dat
# and DIR/latency-mosquitto.dat (for plots). -w: also one sender to rooms
# of 1, 3, 10, 30, 100 and 300 receivers (deliveries against room size). -q: a smaller load (for a
# quick look; the numbers are noisier).
set -eu

bench=${COVE_BENCH:-build/cove-bench}
out=""
samples=""
sweep=0
quick=0
while [ $# -gt 0 ]; do
	case $1 in
	-o) out=$2; shift 2 ;;
	-s) samples=$2; shift 2 ;;
	-w) sweep=1; shift ;;
	-q) quick=1; shift ;;
	*) echo "usage: $0 [-o FILE] [-s DIR] [-w] [-q]" >&2; exit 2 ;;
	esac
done
command -v mosquitto >/dev/null 2>&1 || [ -x /usr/sbin/mosquitto ] || {
	echo "compare.sh: mosquitto is not installed: apt-get install mosquitto" >&2
	exit 1
}
mosquitto=$(command -v mosquitto 2>/dev/null || echo /usr/sbin/mosquitto)

dir=$(mktemp -d "${TMPDIR:-/tmp}/cove-compare.XXXXXX")
mpid=""
cleanup() {
	if [ -n "$mpid" ]; then
		kill "$mpid" 2>/dev/null || true
		wait "$mpid" 2>/dev/null || true
	fi
	rm -rf "$dir"
}
trap cleanup EXIT INT TERM HUP

# A free loopback port: bind port 0 and read back what the kernel chose.
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
cat >"$dir/mosquitto.conf" <<EOF
listener $port 127.0.0.1
allow_anonymous true
persistence false
set_tcp_nodelay true
# QoS 0 to online subscribers: no queue limit, as Cove's relay keeps up to
# --max-queue bytes per connection
max_queued_messages 0
log_dest stderr
log_type error
log_type warning
EOF
"$mosquitto" -c "$dir/mosquitto.conf" 2>"$dir/mosquitto.log" &
mpid=$!
i=0
until python3 -c "import socket; socket.create_connection(('127.0.0.1', $port), 1)" 2>/dev/null; do
	i=$((i + 1))
	if [ $i -gt 100 ] || ! kill -0 "$mpid" 2>/dev/null; then
		echo "compare.sh: mosquitto did not start:" >&2
		cat "$dir/mosquitto.log" >&2
		exit 1
	fi
	sleep 0.05
done

lines=$dir/results.jsonl
: >"$lines"
run() {
	# run LABEL ARGS...: once against Cove, once against mosquitto
	label=$1
	shift
	"$bench" -q -l "$label" "$@" >>"$lines"
	"$bench" -q -l "$label" --mqtt "127.0.0.1:$port" --server-pid "$mpid" "$@" >>"$lines"
}
run_latency() {
	label=$1
	shift
	set -- "$@"
	if [ -n "$samples" ]; then
		"$bench" -q -l "$label" "$@" --samples "$samples/latency-cove.dat" >>"$lines"
		"$bench" -q -l "$label" --mqtt "127.0.0.1:$port" --server-pid "$mpid" "$@" \
			--samples "$samples/latency-mosquitto.dat" >>"$lines"
	else
		run "$label" "$@"
	fi
}

if [ $quick -eq 1 ]; then n1=2000 n10=300 n100=100 secs=2; else n1=20000 n10=3000 n100=1000 secs=5; fi
run "fanout 1x1" fanout -P 1 -S 1 -n $n1
run "fanout 1x10" fanout -P 1 -S 10 -n $((n1 / 2))
run "fanout 10x10" fanout -P 10 -S 10 -n $n10
run "fanout 1x100" fanout -P 1 -S 100 -n $n100
run_latency "latency 1000/s x10" latency -m 10 -r 1000 -d $secs
# one receiver: the cost of one path through the relay, with the receivers'
# own signature checks no longer queued behind each other on two CPUs
run "latency 1000/s x1" latency -m 1 -r 1000 -d $secs
if [ $sweep -eq 1 ]; then
	for r in 1 3 10 30 100 300; do
		n=$((40000 / r + 100))
		[ $quick -eq 1 ] && n=$((n / 5 + 20))
		run "sweep $r" fanout -P 1 -S $r -n $n
	done
fi

[ -n "$out" ] && cat "$lines" >>"$out"
cat "$lines"
python3 "$(dirname "$0")/report.py" ratios "$lines"
