#!/bin/sh
# Checks that the layers only include downwards (STYLE.md, point 1):
#
#   common   <- crypto, wire <- proto <- cli <- keys, rendezvous, node
#
# crypto/ knows no sockets and no msgpack, wire/ no keys and no sockets,
# and no library layer includes libevent or a program's headers.
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
check rendezvous "common crypto wire proto cli rendezvous" ""
check node "common crypto wire proto cli node" ""
if [ -s "$tmp" ]; then
	exit 1
fi
echo "  LAYERS  ok"
