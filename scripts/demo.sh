#!/bin/sh
# make demo: a rendezvous and three nodes (alice, bob, carol) in one room
# on loopback, each saying something; then the conversation as each node
# saw it. Everything lives in a temporary folder and is stopped and
# removed at the end.
set -eu

build=${COVE_BUILD:-build}
keys=$build/cove-keys
relay=$build/cove-rendezvous
node=$build/cove-node
room=demo

dir=$(mktemp -d "${TMPDIR:-/tmp}/cove-demo.XXXXXX")
# the demo's nodes keep their history in its folder, not in your home
export XDG_DATA_HOME="$dir/data"
pids=""
cleanup() {
	for p in $pids; do kill "$p" 2>/dev/null || true; done
	for p in $pids; do wait "$p" 2>/dev/null || true; done
	rm -rf "$dir"
}
trap cleanup EXIT INT TERM HUP PIPE

# wait_for FILE TEXT: polls (10 s at most) until FILE contains TEXT
wait_for() {
	i=0
	while ! grep -qF -- "$2" "$1" 2>/dev/null; do
		i=$((i + 1))
		if [ $i -gt 200 ]; then
			echo "demo: timed out waiting for '$2' in $1:" >&2
			cat "$1" >&2 || true
			exit 1
		fi
		sleep 0.05
	done
}

echo "== keys and whitelist in $dir"
$keys generate -o "$dir/relay.key" </dev/null >"$dir/relay.pub"
for who in alice bob carol; do
	$keys generate -o "$dir/$who.key" </dev/null >"$dir/$who.pub"
	$keys add -w "$dir/whitelist" "$who" "$(cat "$dir/$who.pub")"
done
$keys list -w "$dir/whitelist"

echo "== rendezvous"
$relay -k "$dir/relay.key" -w "$dir/whitelist" -l 127.0.0.1:0 --store "$dir/store.db" 2>"$dir/relay.log" &
pids="$pids $!"
relay_pid=$!
wait_for "$dir/relay.log" "listening on "
addr=$(sed -n 's/^listening on //p' "$dir/relay.log")
echo "listening on $addr, key $(cat "$dir/relay.pub")"

echo "== nodes"
for who in alice bob carol; do
	mkfifo "$dir/$who.in"
	$node -k "$dir/$who.key" -w "$dir/whitelist" -s "$addr" -S "$(cat "$dir/relay.pub")" \
		-r "$room" <"$dir/$who.in" >"$dir/$who.out" 2>"$dir/$who.err" &
	pids="$pids $!"
	eval "${who}_pid=$!"
	# hold the FIFO open for writing; its end of file will end the node
	exec 3>"$dir/$who.in"
	case $who in
	alice) exec 4>&3 ;;
	bob) exec 5>&3 ;;
	carol) exec 6>&3 ;;
	esac
	exec 3>&-
	wait_for "$dir/$who.err" "] ready"
	sed "s/^cove-node: /  $who: /" "$dir/$who.err"
done

say() { # say WHO FD TEXT: WHO sends TEXT, and we wait until the others have it
	echo "$3" >&"$2"
	for other in alice bob carol; do
		[ "$other" = "$1" ] || wait_for "$dir/$other.out" "[$room] $1: $3"
	done
}
line_alice="hi both, alice here"
line_bob="hello alice! bob speaking"
line_carol="carol too, loud and clear"
say alice 4 "$line_alice"
say bob 5 "$line_bob"
say carol 6 "$line_carol"
exec 4>&- 5>&- 6>&-

for who in alice bob carol; do
	eval "pid=\$${who}_pid"
	wait "$pid" || { echo "demo: $who exited with status $?" >&2; exit 1; }
done
kill -TERM "$relay_pid"
wait "$relay_pid" || { echo "demo: the rendezvous exited with status $?" >&2; exit 1; }
pids=""

for who in alice bob carol; do
	echo "== the room as $who saw it"
	# what it received, in order, with its own line where it said it
	n=1
	for speaker in alice bob carol; do
		if [ "$speaker" = "$who" ]; then
			eval "echo \"[$room] $who: \$line_$who    (sent)\""
		else
			sed -n "${n}p" "$dir/$who.out"
			n=$((n + 1))
		fi
	done
	if [ "$(wc -l <"$dir/$who.out")" -ne 2 ]; then
		echo "demo: $who received $(wc -l <"$dir/$who.out") messages, expected 2" >&2
		exit 1
	fi
done
echo "== the rendezvous's log"
cat "$dir/relay.log"
echo "== demo finished: every message reached the two other members"
