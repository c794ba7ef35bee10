#!/bin/sh
# run.sh DIR TARGET SECONDS - replays and fuzzes one target (make fuzz).
#
# Runs DIR/fuzz_TARGET once over every input of tests/fuzz/regress/TARGET/,
# then, when SECONDS > 0, fuzzes a scratch copy of tests/fuzz/corpus/TARGET/
# in DIR/run/TARGET/ for SECONDS seconds, so the committed corpus never
# changes. Prints one summary line. On a crash, leak or timeout it prints
# the end of the log and where libFuzzer saved the input, and fails.
set -u
dir=$1 t=$2 secs=$3
bin=$dir/fuzz_$t
work=$dir/run/$t
log=$work/fuzz.log
regress=tests/fuzz/regress/$t

rm -rf "$work"
mkdir -p "$work/corpus" "$work/artifacts"
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=1"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:+$UBSAN_OPTIONS:}print_stacktrace=1:halt_on_error=1"

fail() {
	echo "  FUZZ    $t: FAILED ($1); log: $log"
	grep -E 'ERROR|invariant broken|runtime error|SUMMARY|Test unit written|^#0 |^    #[0-4] ' \
		"$log" | head -n 20 | sed 's/^/          /'
	for a in "$work"/artifacts/*; do
		[ -e "$a" ] && echo "          input: $a ($(od -An -tx1 -v "$a" | tr -d '\n' | cut -c1-120))"
	done
	exit 1
}

nreg=0
if [ -d "$regress" ]; then
	set -- "$regress"/*
	if [ -e "$1" ]; then
		nreg=$#
		if ! "$bin" -timeout=10 -artifact_prefix="$work/artifacts/" "$@" >"$work/regress.log" 2>&1; then
			log=$work/regress.log
			fail "a regression input of $regress"
		fi
	fi
fi
if [ "$secs" -eq 0 ]; then
	echo "  REGRESS $t: $nreg inputs pass"
	exit 0
fi

cp tests/fuzz/corpus/"$t"/* "$work/corpus/"
seeds=$(ls "$work/corpus" | wc -l)
"$bin" -max_total_time="$secs" -timeout=10 -print_final_stats=1 \
	-artifact_prefix="$work/artifacts/" "$work/corpus" >"$log" 2>&1
rc=$?
[ "$rc" -eq 0 ] || fail "libFuzzer exited with $rc"

stat() { sed -n "s/^stat::$1: *//p" "$log" | tail -n 1; }
last=$(grep -E '^#[0-9]+' "$log" | tail -n 1)
cov=$(printf '%s\n' "$last" | sed -n 's/.* cov: \([0-9]*\).*/\1/p')
ft=$(printf '%s\n' "$last" | sed -n 's/.* ft: \([0-9]*\).*/\1/p')
corp=$(ls "$work/corpus" | wc -l)
printf '  FUZZ    %-9s %9s execs in %ss (%s/s), cov %s, ft %s, corpus %s -> %s, regress %s\n' \
	"$t:" "$(stat number_of_executed_units)" "$secs" "$(stat average_exec_per_sec)" \
	"$cov" "$ft" "$seeds" "$corp" "$nreg"
