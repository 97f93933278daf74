#!/bin/bash
# SPDX-License-Identifier: ISC
# make bench-tls: the TLS and proxy figures of issue 19, each between two
# machine-speed probes (speed_probe, bench/lib.sh; bench/README.md, "The
# machine-speed record"): a "SPEED fig=NAME when=before|after ..." line
# around every figure, since the machine changes phase within minutes and
# is shared.  Everything goes to stdout and to build/bench/tls.txt.
set -u
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT" || exit 1
. bench/lib.sh
B=$ROOT/build/bench
OUT=$B/tls.txt
mkdir -p "$B"

fig() {	# name command...
	local name=$1
	shift
	echo "== $name: $*"
	echo "SPEED fig=$name when=before $(speed_probe "$B")"
	"$@"
	echo "SPEED fig=$name when=after $(speed_probe "$B")"
}

{
	echo "bench-tls $(date -u +%FT%TZ) $(git rev-parse --short HEAD 2>/dev/null)$(git diff --quiet 2>/dev/null || echo +changes), $(nproc) cores"
	fig stall-ec node bench/tls-stall.mjs ec 8 4
	fig stall-rsa node bench/tls-stall.mjs rsa 8 4
	fig churn node bench/tls-churn.mjs 5 8 3
	fig flood node bench/tls-flood.mjs 100 200 8 ec
	fig proxy-rtt node bench/proxy-rtt.mjs 2000 3
} 2>&1 | tee "$OUT"
