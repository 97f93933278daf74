#!/bin/bash
# SPDX-License-Identifier: ISC
# make bench BENCH_BASE=COMMIT: build COMMIT's programs beside this tree,
# so that bench/run.sh can measure both in one run.
#
#   bench/base.sh COMMIT
#
# The commit's files come from `git archive` into build/base-src (kept
# while BENCH_BASE names the same commit); its build directory is
# build/base (make B=build/base), so nothing of this tree's build/ is
# touched.  The musl libraries are not built again: build/base/musl is a
# copy of this tree's build/musl (headers, libraries and versions, ~3 MB),
# and stands for the commit's handler/musl-deps.sh; if that script
# differs from this tree's, a note says that the base handler is linked
# with this tree's musl libraries.  The programs are in build/base.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
rev=${1:?usage: bench/base.sh COMMIT}
SRC=$ROOT/build/base-src
OUT=$ROOT/build/base

if ! sha=$(git rev-parse --verify --quiet "$rev^{commit}"); then
	echo "bench: BENCH_BASE=$rev is not a commit" >&2
	exit 2
fi
[ -f build/musl/stamp ] || { echo "bench: build/musl missing (make all first)" >&2; exit 1; }
if [ "$(cat "$SRC/.commit" 2>/dev/null)" != "$sha" ]; then
	rm -rf "$SRC" "$OUT"
	mkdir -p "$SRC" "$OUT/musl"
	git archive "$sha" | tar -x -C "$SRC"
	cp -a build/musl/prefix build/musl/versions build/musl/stamp "$OUT/musl/"
	echo "$sha" >"$SRC/.commit"
fi
# The copied stamp is as old as the script it stands for: make does not
# run the commit's musl-deps.sh.
touch -r "$OUT/musl/stamp" "$SRC/handler/musl-deps.sh"
if ! cmp -s handler/musl-deps.sh "$SRC/handler/musl-deps.sh"; then
	echo "bench: note: handler/musl-deps.sh differs at $rev; its handler is linked with this tree's musl libraries (build/musl)" >&2
fi
echo "bench: building $rev ($(git rev-parse --short "$sha")) in build/base"
"${MAKE:-make}" -C "$SRC" --no-print-directory B="$OUT" all
