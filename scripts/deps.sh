#!/bin/sh
# Makes sure the Debian packages Cove needs are installed.
#
#   scripts/deps.sh build   what building the programs needs
#   scripts/deps.sh test    that, plus what the tests need
#   scripts/deps.sh fuzz    that, plus clang and libFuzzer
#   scripts/deps.sh bench   that, plus mosquitto and gnuplot (make bench)
#
# As root, missing packages are installed with apt-get. Otherwise the
# exact apt-get line is printed and the script fails.
set -eu

BUILD_PKGS="build-essential pkg-config libsodium-dev libevent-dev libmsgpack-dev libjansson-dev libreadline-dev libsqlite3-dev"
TEST_PKGS="libcmocka-dev python3 tmux valgrind mosquitto mosquitto-clients"
FUZZ_PKGS="clang libclang-rt-14-dev"
BENCH_PKGS="python3 mosquitto mosquitto-clients gnuplot-nox"

case "${1:-build}" in
build) want="$BUILD_PKGS" ;;
test) want="$BUILD_PKGS $TEST_PKGS" ;;
fuzz) want="$BUILD_PKGS $FUZZ_PKGS" ;;
bench) want="$BUILD_PKGS $BENCH_PKGS" ;;
*) echo "usage: $0 build|test|fuzz|bench" >&2; exit 2 ;;
esac

missing=""
for p in $want; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
		missing="$missing $p"
	fi
done
[ -z "$missing" ] && exit 0

if [ "$(id -u)" -eq 0 ]; then
	echo "cove: installing missing Debian packages:$missing" >&2
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -q >&2
	# shellcheck disable=SC2086
	apt-get install -y -q --no-install-recommends $missing >&2
	exit 0
fi
echo "cove: missing Debian packages:$missing" >&2
echo "cove: install them with:  sudo apt-get install -y$missing" >&2
exit 1
