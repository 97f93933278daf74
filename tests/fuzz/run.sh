#!/bin/sh
# SPDX-License-Identifier: ISC
# Run libFuzzer targets built by tests/fuzz/fuzz.mk, each for SECONDS.
#   tests/fuzz/run.sh SECONDS TARGET...
# Each target starts from tests/fuzz/corpus/TARGET, copied (never
# overwritten) into build/fuzz/corpus/TARGET, which keeps what the
# fuzzer finds between runs; the repository is not written to.  A crash,
# leak, timeout or broken property leaves its input in
# build/fuzz/artifacts/ and makes this script fail.  The last line per
# target gives its executions; build/fuzz/logs/TARGET.log the details.
set -u
cd "$(dirname "$0")/../.."
secs=$1
shift
out=build/fuzz
mkdir -p "$out/corpus" "$out/artifacts" "$out/logs"
failed=0
total=0
printf '%-18s %12s %10s  %s\n' target executions exec/s result
for t in "$@"; do
	bin=$out/fuzz_$t
	corpus=$out/corpus/$t
	mkdir -p "$corpus"
	if [ -d "tests/fuzz/corpus/$t" ]; then
		for f in "tests/fuzz/corpus/$t"/*; do
			[ -f "$f" ] && cp -n "$f" "$corpus/"
		done
	fi
	case $t in
	http|dialect_*|proto_*|hub|session|tls) maxlen=18000 ;;
	wsconn|buf|config)		maxlen=8192 ;;
	*)				maxlen=4096 ;;
	esac
	dict=
	[ -f "tests/fuzz/dict/$t.dict" ] && dict="-dict=tests/fuzz/dict/$t.dict"
	# The session target logs through sb_log(); its stderr is closed
	# (libFuzzer keeps its own reports).
	quiet=
	[ "$t" = session ] && quiet=-close_fd_mask=2
	log=$out/logs/$t.log
	UBSAN_OPTIONS=print_stacktrace=1${UBSAN_OPTIONS:+:$UBSAN_OPTIONS} \
	"$bin" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 \
	    -max_len=$maxlen -print_final_stats=1 \
	    -artifact_prefix="$out/artifacts/$t-" $dict $quiet "$corpus" \
	    >"$log" 2>&1
	rc=$?
	runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
	rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
	if [ $rc -eq 0 ]; then
		res=ok
	else
		res="FAILED (exit $rc), see $log"
		failed=$((failed + 1))
		grep -E 'ERROR|property broken|runtime error|SUMMARY|Test unit written' \
		    "$log" | head -8
	fi
	printf '%-18s %12s %10s  %s\n' "$t" "${runs:-?}" "${rate:-?}" "$res"
	total=$((total + ${runs:-0}))
done
echo "fuzz: $# targets, $total executions, $failed failed"
[ $failed -eq 0 ]
