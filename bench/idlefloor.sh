#!/bin/bash
# SPDX-License-Identifier: ISC
# The memory floor of an idle connection (bench/idlefloor.c): N of the
# smallest processes this design needs per connection, each with a TCP
# connection to a Node listener on loopback and a Unix socket, blocked in
# epoll_wait; their PSS summed over N, beside the same for as many idle
# switchboard-handler processes (bench/pages.sh).  Every process is
# stopped by its PID; bounded by N and by timeouts.
#   bash bench/idlefloor.sh [N]        (default 1000)
set -uo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh
B=$PWD/build/bench
N=${1:-1000}
make --no-print-directory build/bench/idlefloor build/bench/spawncost build/bench/nolibc >/dev/null || exit 1
ulimit -n "$(ulimit -Hn)" 2>/dev/null
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done; wait 2>/dev/null; }
trap cleanup EXIT
T=$(mktemp -d /tmp/sb-floor.XXXXXX)
node -e '
const s = require("net").createServer((c) => { c.on("error", () => {}); });
s.listen(0, "127.0.0.1", () => console.log(s.address().port));' >"$T/port" &
PIDS+=($!)
for _ in $(seq 100); do [ -s "$T/port" ] && break; sleep 0.05; done
PORT=$(cat "$T/port")
rm -rf "$T"
echo "SPEED $(speed_probe "$B")"
KIDS=()
for _ in $(seq "$N"); do
	"$B/idlefloor" "$PORT" </dev/null &
	KIDS+=($!)
done
PIDS+=("${KIDS[@]}")
sleep 2	# let the last ones reach epoll_wait (nothing to await from here)
pss=0 rss=0 k=0
for p in "${KIDS[@]}"; do
	v=$(awk '/^Pss:/{p=$2} /^Rss:/{r=$2} END{print p+0, r+0}' "/proc/$p/smaps_rollup" 2>/dev/null) || continue
	[ -n "$v" ] || continue
	pss=$((pss + ${v% *})) rss=$((rss + ${v#* })) k=$((k + 1))
done
awk -v p="$pss" -v r="$rss" -v k="$k" 'BEGIN { printf "FLOOR procs=%d pss_kib_per_proc=%.2f rss_kib_per_proc=%.1f\n", k, p / k, r / k }'
if [ "$(id -u)" = 0 ]; then
	node bench/pages.mjs --bin "$B/idlefloor" --top 8 "${KIDS[@]}"
fi
