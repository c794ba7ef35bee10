#!/bin/sh
# Regenerates the test-vector block of docs/PROTOCOL.md from the code.
# Run it after a deliberate change to the bytes, and read the diff.
set -eu
build=${COVE_BUILD:-build}
make --no-print-directory COVE_DEPS_OK=1 BUILD="$build" "$build/tests/tools/vectors" >/dev/null
tmp=$(mktemp)
trap 'rm -f "$tmp"' EXIT
{
	sed -n '1,/<!-- vectors:begin -->/p' docs/PROTOCOL.md
	echo '```'
	"$build/tests/tools/vectors"
	echo '```'
	sed -n '/<!-- vectors:end -->/,$p' docs/PROTOCOL.md
} > "$tmp"
cat "$tmp" > docs/PROTOCOL.md
