#!/bin/sh
# vector-seeds.sh - adds the test vectors of tests/tools/vectors to the seed
# corpus (make fuzz-seeds runs it after make-seeds).
#
#   tests/fuzz/vector-seeds.sh VECTORS-BINARY CORPUS-DIR
#
# The vectors are what docs/PROTOCOL.md publishes, so they are the frames
# and handshake records another implementation will send first: every
# "NAME.frame" and "refuse.NAME" becomes a frame seed, the handshake's
# records a stream seed each way, the payloads payload seeds and the two
# key files keyfile seeds. Seed names start with "vector-".
set -eu
vectors=$1 out=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# One file of hex per "NAME =" entry followed by indented hex lines, and
# one file per quoted string (NAME.str).
"$vectors" | awk -v dir="$tmp" '
	/^[^ #].* =$/ { name = $1; next }
	/^    / && name != "" { sub(/^ +/, ""); print >> (dir "/" name ".hex"); next }
	/^[^ #].* = "/ {
		n = $1; v = $0; sub(/^[^"]*"/, "", v); sub(/"$/, "", v)
		print v > (dir "/" n ".str"); name = ""; next }
	{ name = "" }'

bin() { xxd -r -p "$tmp/$1.hex"; }
dash() { printf '%s' "$1" | tr '_.' '--'; }

for f in "$tmp"/*.frame.hex; do
	n=$(basename "$f" .frame.hex)
	bin "$n.frame" > "$out/frame/vector-$(dash "$n")"
done
for f in "$tmp"/refuse.*.hex; do
	n=$(basename "$f" .hex)
	bin "$n" > "$out/frame/vector-$(dash "$n")"
done
bin dat.payload > "$out/payload/vector-dat-payload"
for f in "$tmp"/payload.*.hex; do
	n=$(basename "$f" .hex)
	bin "$n" > "$out/payload/vector-$(dash "$n")"
done
# Stream seeds: "u8 m | u8 k | sizes | stream" (fuzz_stream.c); m = 153
# is a maximum of 4100 bytes, and one chunk size of 7 cuts the records.
for dir in client_to_relay relay_to_client; do
	for cut in whole 7; do
		{
			if [ "$cut" = whole ]; then printf '\231\000'; else printf '\231\001\007'; fi
			for i in 1 2 3; do bin "wire.$dir.$i"; done
		} > "$out/stream/vector-wire-$(dash "$dir")-$cut"
	done
done
for k in plain encrypted; do
	printf 'untrusted comment: a key file of docs/PROTOCOL.md\n%s\n' \
		"$(cat "$tmp/keyfile_$k.line2.str")" > "$out/keyfile/vector-$k"
done
