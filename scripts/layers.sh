#!/bin/sh
# Checks that the layers only include downwards (STYLE.md, point 1):
#
#   common   <- crypto, wire <- proto <- cli <- keys, rendezvous, node
#   common   <- store <- rendezvous
#   proto, store <- room <- rendezvous
#   proto    <- chat  <- node
#   crypto   <- hist  <- node
#   wire, cli <- verify <- rendezvous, node
#
# crypto/ knows no sockets and no msgpack, wire/ no keys and no sockets,
# and no library layer includes libevent or a program's headers, except
# verify/, whose workers wake the programs' loops (but knows no sockets).
#
# With a build directory (scripts/layers.sh build), it also checks that the
# files of one folder do not call each other in circles: a file uses
# another when its object refers to a symbol the other's defines, and
# those uses must form no loop (tsort finds one), so that each folder
# reads from a driver down to its leaves.
set -eu
cd "$(dirname "$0")/.."
fail=0

# allowed "project/" includes and forbidden system headers per folder
check() {
	dir=$1 allowed=$2 forbidden=$3
	for f in "$dir"/*.c "$dir"/*.h; do
		[ -e "$f" ] || continue
		grep -n '^#include' "$f" | while IFS= read -r line; do
			inc=$(printf '%s' "$line" | sed -n 's/.*#include *[<"]\([^>"]*\)[>"].*/\1/p')
			case "$inc" in
			*/*)
				top=${inc%%/*}
				if [ -d "$top" ] && ! printf ' %s ' "$allowed" | grep -q " $top "; then
					echo "layers: $f: includes $inc, but $dir/ may use only: $allowed"
					echo x >> "$tmp"
				fi ;;
			esac
			for bad in $forbidden; do
				case "$inc" in
				$bad)
					echo "layers: $f: includes <$inc>, which $dir/ must not use"
					echo x >> "$tmp" ;;
				esac
			done
		done
	done
}

tmp=$(mktemp)
trap 'rm -f "$tmp"' EXIT
net="event2/* sys/socket.h netinet/* arpa/inet.h netdb.h"
check common "common" "$net sodium.h msgpack.h"
check crypto "common crypto" "$net msgpack.h"
check wire "common wire" "$net sodium.h"
check proto "common crypto wire proto" "$net"
check cli "common crypto cli" "$net"
check keys "common crypto cli keys" "$net"
check store "common store" "$net sodium.h msgpack.h"
check chat "common crypto wire proto chat" "$net"
check hist "common crypto hist" "$net msgpack.h"
check room "common crypto wire proto store room" "$net msgpack.h"
check verify "common wire cli verify" "sys/socket.h netinet/* arpa/inet.h netdb.h msgpack.h"
check rendezvous "common crypto wire proto cli store room verify rendezvous" ""
check node "common crypto wire proto cli chat hist verify node" ""

# circles between the files of one folder
circles() {
	build=$1 dir=$2
	# objects of sources that still exist (a build folder keeps old ones)
	set --
	for o in "$build/$dir"/*.o; do
		[ -e "$dir/$(basename "$o" .o).c" ] && set -- "$@" "$o"
	done
	[ $# -gt 0 ] || return 0
	defs=$(mktemp) edges=$(mktemp) loops=$(mktemp)
	for o in "$@"; do
		nm -g --defined-only "$o" | awk -v f="$(basename "$o" .o)" 'NF == 3 { print $3, f }'
	done | sort > "$defs"
	for o in "$@"; do
		f=$(basename "$o" .o)
		nm -u "$o" | awk '{ print $NF }' | sort | join - "$defs" |
			awk -v f="$f" '$2 != f { print f, $2 }'
	done | sort -u > "$edges"
	if ! tsort "$edges" > /dev/null 2> "$loops"; then
		awk -v d="$dir" '/input contains a loop/ { if (l) print l; l = ""; next }
			{ sub(/^tsort: /, ""); l = l ? l " -> " $0 : "layers: " d "/: files call each other in a circle: " $0 }
			END { if (l) print l }' "$loops" | sort -u
		echo x >> "$tmp"
	fi
	rm -f "$defs" "$edges" "$loops"
}
if [ $# -ge 1 ]; then
	for dir in common crypto wire proto cli keys store chat hist room verify rendezvous node bench; do
		circles "$1" "$dir"
	done
fi
if [ -s "$tmp" ]; then
	exit 1
fi
echo "  LAYERS  ok"
