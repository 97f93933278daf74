#!/bin/bash
# SPDX-License-Identifier: ISC
# The `mem` figure's load, one run, with the page-by-page breakdown of the
# idle handlers (bench/pages.mjs, root) at each step: a hub and its
# activator as bench/run.sh starts them, wsload hold --steps, and at each
# step the MEM line (per connection: server total growth over the count)
# and the PAGES lines.
#
#   bash bench/pages.sh [STEPS]        (default 0,1000)
#   HANDLER=... HUBBIN=... bash bench/pages.sh
set -uo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh
ROOT=$PWD
B=$ROOT/build/bench
STEPS=${1:-0,1000}
HANDLER=${HANDLER:-$ROOT/build/switchboard-handler}
HUBBIN=${HUBBIN:-$ROOT/build/switchboard-hub}
PORT=${BENCH_PAGES_PORT:-18750}
T=$(mktemp -d /tmp/sb-pages.XXXXXX)
PIDS=()
cleanup() {
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
	wait 2>/dev/null
	rm -rf "$T"
}
trap cleanup EXIT
ulimit -n "$(ulimit -Hn)" 2>/dev/null

[ "$(id -u)" = 0 ] || echo "pages: not root: /proc/kpagecount is unreadable" >&2
while ! [ -z "$(ss -Htln "sport = :$PORT")" ]; do PORT=$((PORT + 1)); done
bench_config "$T/switchboard.conf" "$T" "ws_echo = yes"
SWITCHBOARD_LOG_STDERR=1 "$HUBBIN" -s "$T/hub.sock" -C "$T/control.sock" \
    -c "$T/switchboard.conf" 2>"$T/hub.log" &
HUB=$!
PIDS+=($HUB)
wait_socket "$T/hub.sock" || { echo "pages: no hub" >&2; exit 1; }
activator_start "$PORT" "$T/sa.log" "$T/hub.sock" "$HANDLER"
SA=$ACTIVATOR
export PAGES_SA=$SA
PIDS+=($SA)
echo "SPEED $(speed_probe "$B")"
timeout -s INT 600 "$B/wsload" hold -p "$PORT" --steps "$STEPS" \
    --pid "$HUB" --kids-of "$SA" --timeout 300 \
    --at-step "[ \"\$WSLOAD_CONNS\" = 0 ] || node '$ROOT/bench/pages.mjs' --bin '$HANDLER' --kids-of $SA ${PAGES_ARGS:-}" |
    awk '/^MEM/ { for (i = 2; i <= NF; i++) { split($i, kv, "="); m[kv[1]] = kv[2] }
		if (m["conns"] == 0) base = m["total_pss_kib"]; else
		printf "PERCONN conns=%d kib=%.2f hub_kib=%.2f handler_kib=%.2f\n", m["conns"],
		    (m["total_pss_kib"] - base) / m["conns"], (m["main_pss_kib"] - hub0) / m["conns"],
		    m["kids_pss_kib"] / m["conns"]
		if (m["conns"] == 0) hub0 = m["main_pss_kib"] }
	{ print }'
echo "SPEED $(speed_probe "$B")"
