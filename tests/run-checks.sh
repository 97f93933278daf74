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
defaults=$(mktemp)	# systemd's @default and the handler's list (below)
list=$(mktemp)
trap 'rm -f "$log" "$fails" "$defaults" "$list"' EXIT

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
# Writes the lists and prints the wrapper's command, or says why not (a
# failure: the pass would run without the allow-list).
handler_wrap() {
	if [ ! -x build/syscall-allow ]; then
		echo "build/syscall-allow is missing (make check builds it): the handlers run without the units' allow-list" |
		    tee -a "$fails" >&2
		return 1
	fi
	systemd-analyze syscall-filter --no-pager @default |
	    sed -n 's/^    \([a-z0-9_]*\)$/\1/p' >"$defaults"
	if [ ! -s "$defaults" ]; then
		echo "systemd-analyze syscall-filter @default listed nothing: the handlers run without the units' allow-list" |
		    tee -a "$fails" >&2
		return 1
	fi
	cat units/handler.syscalls >"$list"
	[ "$(cat build/handler-libc 2>/dev/null)" != glibc ] ||
	    cat units/handler-glibc.syscalls >>"$list"
	echo "$PWD/build/syscall-allow $defaults $list"
}
# The calls the list refused during the run, as the kernel logged them
# (audit type 1326: a seccomp kill), named; each is a failure.  The log
# is the machine's: only the kills of this tree's handlers count (their
# exe= is under this build/), and only the lines after the mark, the
# kernel's time stamp of the newest line when the pass began (a count of
# lines would go wrong when the ring buffer wraps).
kmsg_mark() {
	dmesg 2>/dev/null | tail -n 1 | sed -n 's/^\[ *\([0-9.]*\)\].*/\1/p'
}
kmsg_since() {	# mark
	dmesg 2>/dev/null | awk -v m="${1:-0}" '{
		t = $0; sub(/^\[ */, "", t); sub(/\].*/, "", t)
		if (t + 0 > m + 0) print }'
}
# Whether a seccomp kill shows in the kernel's log here: a program killed
# on purpose (/bin/true under a list of exit_group alone) must show.
audit_visible() {
	m=$(kmsg_mark) one=$(mktemp) i=0
	echo exit_group >"$one"
	build/syscall-allow "$defaults" "$one" /bin/true 2>/dev/null
	rm -f "$one"
	while [ $i -lt 50 ]; do
		kmsg_since "$m" | grep 'type=1326' | grep -q 'exe="/usr/bin/true"' &&
		    return 0
		sleep 0.1	# the kernel's audit thread writes it a moment later
		i=$((i + 1))
	done
	echo "no seccomp kill shows in the kernel's log (dmesg; auditd or audit=0?): a call the allow-list refuses would go unnamed" |
	    tee -a "$fails"
	return 1
}
syscalls_refused() {	# mark
	nrs=$(kmsg_since "$1" | grep 'type=1326' |
	    grep -F "exe=\"$PWD/build/" |
	    sed -n 's/.*comm="switchboard-han".* syscall=\([0-9]*\).*/\1/p' |
	    sort -un)
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
		wrap='' mark=''
		if [ $asan = 0 ]; then
			wrap=$(handler_wrap) && audit_visible || failed=$((failed + 1))
			mark=$(kmsg_mark)
		fi
		SB_ASAN=$asan SB_HANDLER_WRAP=$wrap \
		    node --test --test-concurrency=1 tests/integration/ >"$log" 2>&1
		rc=$?
		[ $asan = 1 ] || syscalls_refused "$mark"
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
