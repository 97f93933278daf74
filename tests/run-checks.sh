#!/bin/sh
# SPDX-License-Identifier: ISC
# Run every test suite and end with one line CI can read:
#   N passed, N failed
# Usage: tests/run-checks.sh [--unit-only] UNIT_BINARY...
# Suites: the cmocka unit tests (ASan+UBSan builds, given as arguments),
# the Node integration tests (tests/integration/*.test.mjs, against the
# sanitized programs and again against the installed ones), lint (cppcheck), a short libFuzzer run of every
# target, and the real-systemd tests (tests/systemd/*.test.sh, TAP).
set -u
cd "$(dirname "$0")/.."
unit_only=0
[ "${1:-}" = "--unit-only" ] && { unit_only=1; shift; }
passed=0
failed=0
log=$(mktemp)
fails=$(mktemp)

# Note the names of the failed tests in $log, so that the last lines of
# the run (all that CI may show) say which ones failed.
note_failures() {	# pattern what
	grep -E "$1" "$log" | sed "s/^[[:space:]]*/$2: /" >>"$fails"
}

# Add a suite's counts; a suite that exited non-zero without a counted
# failure (it crashed, or could not start) counts as one failure.
tally() {	# passed failed exit-status what
	passed=$((passed + $1))
	failed=$((failed + $2))
	if [ "$3" -ne 0 ] && [ "$2" -eq 0 ]; then
		echo "$4 exited with $3" | tee -a "$fails"
		failed=$((failed + 1))
	fi
}

# tally() with counts summed from the numbers the patterns capture in $log.
count() {	# pattern-for-passed pattern-for-failed exit-status what
	tally "$(sed -n "s/$1/\1/p" "$log" | awk '{s+=$1} END {print s+0}')" \
	    "$(sed -n "s/$2/\1/p" "$log" | awk '{s+=$1} END {print s+0}')" "$3" "$4"
}

echo "== unit tests (cmocka, ASan+UBSan)"
for t in "$@"; do
	: >"$log"
	ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
	    "$t" >"$log" 2>&1
	rc=$?
	cat "$log"
	count '^\[  PASSED  \] \([0-9]*\) test.*' \
	    '^\[  FAILED  \] \([0-9]*\) test.*' $rc "$t"
	note_failures '^\[  FAILED  \] [a-z]' "${t##*/}"
done

# The installed handler runs under the allow-list of its units
# (units/handler.syscalls, with units/handler-glibc.syscalls for a glibc
# build, and systemd's @default), where a call left out kills it:
# build/syscall-allow.  The sanitized one makes the sanitizer's calls
# too, and runs without it.
defaults=$(mktemp)
list=$(mktemp)
trap 'rm -f "$log" "$fails" "$defaults" "$list"' EXIT
handler_wrap() {	# asan
	[ "$1" = 0 ] && [ -x build/syscall-allow ] || return 0
	systemd-analyze syscall-filter --no-pager @default |
	    sed -n 's/^    \([a-z0-9_]*\)$/\1/p' >"$defaults"
	cat units/handler.syscalls >"$list"
	[ "$(cat build/handler-libc 2>/dev/null)" != glibc ] ||
	    cat units/handler-glibc.syscalls >>"$list"
	[ -s "$defaults" ] && echo "$PWD/build/syscall-allow $defaults $list"
}
# The calls the list refused during the run, as the kernel logged them
# (audit type 1326: a seccomp kill), named; each is a failure.  The log
# is the machine's: only the kills of this tree's handlers count (their
# exe= is under this build/).
audit_mark=$(dmesg 2>/dev/null | grep -c 'type=1326')
syscalls_refused() {
	nrs=$(dmesg 2>/dev/null | grep 'type=1326' | tail -n +$((audit_mark + 1)) |
	    grep -F "exe=\"$PWD/build/" |
	    sed -n 's/.*comm="switchboard-han".* syscall=\([0-9]*\).*/\1/p' |
	    sort -un)
	audit_mark=$(dmesg 2>/dev/null | grep -c 'type=1326')
	[ -n "$nrs" ] || return 0
	for nr in $nrs; do
		echo "units/handler.syscalls: the handler made system call $nr ($(build/syscall-allow --name "$nr")), which the list refuses" |
		    tee -a "$fails"
	done
	failed=$((failed + 1))
}

if [ $unit_only -eq 0 ]; then
	# Twice: against the sanitized programs (glibc, ASan+UBSan), then
	# against the programs as installed (the static musl handler, under
	# the units' system call allow-list).
	for asan in 1 0; do
		if [ $asan = 1 ]; then
			echo "== integration tests (node --test, sanitized programs)"
		else
			echo "== integration tests (node --test, the installed programs: static musl handler)"
		fi
		: >"$log"
		SB_ASAN=$asan SB_HANDLER_WRAP=$(handler_wrap $asan) \
		    node --test --test-concurrency=1 tests/integration/ >"$log" 2>&1
		rc=$?
		[ $asan = 1 ] || syscalls_refused
		cat "$log"
		count '^# pass \([0-9]*\)' '^# fail \([0-9]*\)' $rc "node --test"
		note_failures '^[[:space:]]*not ok ' "integration (SB_ASAN=$asan)"
	done

	if [ -f tests/fuzz/fuzz.mk ]; then
		echo "== lint (cppcheck)"
		if make -s --no-print-directory lint; then
			passed=$((passed + 1))
		else
			echo "lint: findings above" | tee -a "$fails"
			failed=$((failed + 1))
		fi
		echo "== fuzzing (libFuzzer, a short run per target)"
		: >"$log"
		make -s --no-print-directory fuzz-check >"$log" 2>&1
		rc=$?
		cat "$log"
		tally "$(grep -cE '^[a-z0-9_]+ +[0-9?]+ +[0-9?]+  ok$' "$log")" \
		    "$(grep -cE '^[a-z0-9_]+ +[0-9?]+ +[0-9?]+  FAILED' "$log")" \
		    $rc fuzz-check
		note_failures '^[a-z0-9_]+ +[0-9?]+ +[0-9?]+  FAILED' fuzz
	fi

	for t in tests/systemd/*.test.sh; do
		[ -f "$t" ] || continue
		echo "== $t (TAP)"
		: >"$log"
		bash "$t" >"$log" 2>&1
		rc=$?
		cat "$log"
		tally "$(grep -c '^ok ' "$log")" "$(grep -c '^not ok ' "$log")" \
		    $rc "$t"
		note_failures '^not ok ' "${t##*/}"
	done
fi

if [ -s "$fails" ]; then
	echo
	echo "== what failed (the first 40 lines; details above)"
	awk '!seen[$0]++' "$fails" | head -n 40
fi
echo
echo "$passed passed, $failed failed"
[ $failed -eq 0 ] && [ $passed -gt 0 ]
