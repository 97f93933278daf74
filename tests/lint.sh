#!/bin/sh
# SPDX-License-Identifier: ISC
# Static analysis of the C sources: cppcheck over common/ hub/ handler/;
# and every path docs/hacking.md names exists.  Exits non-zero on any
# finding (make lint; see docs/hardening.md).
#
# Checks: cppcheck's default errors (null pointers, out-of-bounds,
# uninitialized data, leaks, undefined behaviour) plus the warning,
# portability and performance groups; --library=posix knows the libc
# and POSIX functions.  The <bsd/sys/tree.h> and <bsd/sys/queue.h>
# macros are read from libbsd (through build/lint/include, only those
# headers), so the hub's red-black trees and lists are analysed instead
# of being skipped as syntax errors.
#
# Left out on purpose, as checks, not as findings:
#   varFuncNullUB	NULL as the sentinel of our variadic field lists.
#			In C, glibc (and musl) define NULL as ((void *)0),
#			and C11 7.16.1.1 lets va_arg read a void * as a
#			char pointer type, so this is defined behaviour.
#   getpwnamCalled getgrnamCalled getpwuidCalled readdirCalled
#			"not reentrant": the handlers are single-threaded,
#			and the hub calls these on its main thread only (its
#			password workers, hub/authpool.c, run crypt_rn on
#			their own copies and nothing else); readdir_r is
#			deprecated in glibc.
# A false positive on a particular line is suppressed on that line with
# "// cppcheck-suppress <id>" and a reason in the comment above it.
set -u
cd "$(dirname "$0")/.."

# docs/hacking.md is the map: every path it names (common/..., hub/...,
# handler/..., tests/..., docs/..., bench/..., units/..., .ci/...) must
# exist.  Placeholders (test_X.c, dialect_X/) and globs (*.test.mjs) are
# left out.
docs_rc=0
set -f	# the globs named stay words
for p in $(grep -oE '(^|[^A-Za-z0-9_./-])(common|hub|handler|tests|docs|bench|units|\.ci)/[A-Za-z0-9_./*-]*' \
    docs/hacking.md | sed 's/^[^A-Za-z0-9_.]//; s/[.]*$//' | sort -u); do
	case "$p" in
	*'*'* | *_X.* | *_X/* | *[/_]X | */X.*) continue ;;
	esac
	if [ ! -e "$p" ]; then
		echo "lint: docs/hacking.md names $p, which does not exist" >&2
		docs_rc=1
	fi
done
set +f
[ $docs_rc -eq 0 ] && echo "lint: every path docs/hacking.md names exists"
if ! command -v cppcheck >/dev/null; then
	echo "lint: cppcheck is not installed (apt-get install cppcheck)" >&2
	exit 1
fi
inc=build/lint/include
mkdir -p "$inc/bsd/sys"
for h in tree queue cdefs; do
	if [ ! -f "/usr/include/bsd/sys/$h.h" ]; then
		echo "lint: /usr/include/bsd/sys/$h.h missing (libbsd-dev)" >&2
		exit 1
	fi
	ln -sf "/usr/include/bsd/sys/$h.h" "$inc/bsd/sys/$h.h"
done
cppcheck --version
cppcheck -q --std=c11 --library=posix \
    --enable=warning,portability,performance \
    --error-exitcode=1 --inline-suppr --template=gcc \
    -D_GNU_SOURCE -Icommon -Ihandler -Ihub -I"$inc" \
    --suppress=varFuncNullUB \
    --suppress=getpwnamCalled --suppress=getgrnamCalled \
    --suppress=getpwuidCalled --suppress=readdirCalled \
    common hub handler
rc=$?
if [ $rc -eq 0 ] && [ $docs_rc -ne 0 ]; then
	rc=1
	echo "lint: docs/hacking.md names paths that do not exist (above)" >&2
elif [ $rc -eq 0 ]; then
	echo "lint: clean"
else
	echo "lint: findings above (cppcheck exit $rc)" >&2
fi
exit $rc
