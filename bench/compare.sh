#!/bin/sh
# compare.sh [-o FILE] [-s DIR] [-w] [-q] - the same load on Cove's relay and on mosquitto,
# one after the other in this one invocation, and the ratios.
#
#   fanout   (P,S) = (1,1) (1,10) (10,10) (1,100): deliveries a second
#   latency  1 sender, 1000 messages a second, 10 receivers (and 1): p50 and p99
#
# cove-bench's MQTT numbers are checked in the same invocation against
# clients that share no code with it (bench/indep.py): Debian's
# mosquitto_pub/mosquitto_sub for fanout 1x1, 1x10 and both latencies,
# and a one-thread epoll client for the latencies. Each latency run also
# measures what one Ed25519 check costs just before its window; report.py
# gives each latency's floor (mosquitto's path, from the fastest client
# of the run, plus the two checks Cove makes on it: the relay's and the
# receiver's) and Cove's ratio to it.
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
indep=1
if ! command -v mosquitto_sub >/dev/null 2>&1 || ! command -v mosquitto_pub >/dev/null 2>&1; then
	echo "compare.sh: mosquitto_pub/mosquitto_sub are not installed (apt-get install" \
		"mosquitto-clients): no cross-check by independent clients" >&2
	indep=0
fi
here=$(dirname "$0")

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
last_bytes() {
	# the message size of the last line: the independent clients send as many
	tail -n 1 "$lines" | python3 -c 'import json, sys; print(json.load(sys.stdin)["message_bytes"])'
}
indep_fanout() {
	# indep_fanout LABEL RECEIVERS MESSAGES
	[ $indep -eq 1 ] || return 0
	python3 "$here/indep.py" fanout -p "$port" --server-pid "$mpid" -l "$1" -S "$2" -n "$3" \
		-b "$(last_bytes)" >>"$lines"
}
run_latency() {
	# run_latency LABEL MEMBERS SECONDS: Cove, cove-bench's MQTT client,
	# then the independent clients
	label=$1 m=$2 d=$3
	if [ -n "$samples" ] && [ "$m" -eq 10 ]; then
		"$bench" -q -l "$label" latency -m "$m" -r 1000 -d "$d" \
			--samples "$samples/latency-cove.dat" >>"$lines"
		"$bench" -q -l "$label" --mqtt "127.0.0.1:$port" --server-pid "$mpid" \
			latency -m "$m" -r 1000 -d "$d" --samples "$samples/latency-mosquitto.dat" >>"$lines"
	else
		run "$label" latency -m "$m" -r 1000 -d "$d"
	fi
	[ $indep -eq 1 ] || return 0
	b=$(last_bytes)
	for client in mosquitto epoll; do
		python3 "$here/indep.py" latency --client $client -p "$port" --server-pid "$mpid" \
			-l "$label" -m "$m" -r 1000 -d "$d" -b "$b" >>"$lines"
	done
}

if [ $quick -eq 1 ]; then n1=2000 n10=300 n100=100 secs=2; else n1=20000 n10=3000 n100=1000 secs=5; fi
run "fanout 1x1" fanout -P 1 -S 1 -n $n1
indep_fanout "fanout 1x1" 1 $n1
run "fanout 1x10" fanout -P 1 -S 10 -n $((n1 / 2))
indep_fanout "fanout 1x10" 10 $((n1 / 2))
run "fanout 10x10" fanout -P 10 -S 10 -n $n10
run "fanout 1x100" fanout -P 1 -S 100 -n $n100
run_latency "latency 1000/s x10" 10 $secs
# one receiver: the cost of one path through the relay, with the receivers'
# own signature checks no longer queued behind each other on two CPUs
run_latency "latency 1000/s x1" 1 $secs
if [ $sweep -eq 1 ]; then
	for r in 1 3 10 30 100 300; do
		n=$((40000 / r + 100))
		[ $quick -eq 1 ] && n=$((n / 5 + 20))
		run "sweep $r" fanout -P 1 -S $r -n $n
	done
fi

[ -n "$out" ] && cat "$lines" >>"$out"
cat "$lines"
python3 "$here/report.py" ratios "$lines"
