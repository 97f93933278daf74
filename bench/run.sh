#!/bin/bash
# SPDX-License-Identifier: ISC
# make bench [BENCH_QUICK=1]: Switchboard side by side with websocketd and a
# Node `ws` server, on loopback, every figure the median of BENCH_RUNS runs
# (3; churn and round trips, which take seconds, 9).
# Raw lines go to build/bench/results.txt; bench/report.mjs turns them into
# the table (printed) and docs/benchmarks.md with plots in docs/.
# With BENCH_BASE=COMMIT (built into build/base by bench/base.sh), the
# Switchboard of that commit is measured beside this tree's instead of
# the peers, and bench/compare.mjs prints the ratios (bench/README.md).
# A peer that is not installed is skipped and said so (skipped.txt).
#
# Every process this script starts is remembered by PID and stopped by PID;
# every load loop is bounded by its count and by `timeout`.
set -uo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh
ROOT=$PWD
B=$ROOT/build/bench
QUICK=${BENCH_QUICK:-0}
if [ "$QUICK" = 1 ]; then
	RUNS=${BENCH_RUNS:-1} FAST_RUNS=${BENCH_RUNS:-1}
	CHURN=500 RTT=2000 NS="100 500" SECS=3 TSECS=3
	RATES="50 100 200 400 800"
	STEPS=0,100,250,500 SCALE_ROOM=2000 SCALE_EXTRA=0 SCALE_SECS=10
	BIG=${BENCH_BIG:-5000} BIG_SECS=10
	GUESTS=40
else
	RUNS=${BENCH_RUNS:-3} FAST_RUNS=${BENCH_RUNS:-9}
	CHURN=2000 RTT=5000 NS="100 1000" SECS=10 TSECS=10
	RATES="50 100 200 400 800"
	STEPS=0,100,250,500,1000 SCALE_ROOM=10000 SCALE_EXTRA=0 SCALE_SECS=30
	BIG=${BENCH_BIG:-50000} BIG_SECS=30
	GUESTS=100
fi
PORT0=${BENCH_PORT:-18610}
# BENCH_FIGS=churn,rtt,bcast,rate,uring,wake,scrape,mem,scale,big,guess,systemd: only these figures, raw
# results only (no report); for trying a change.  Default: all, and the
# report.
FIGS=${BENCH_FIGS:-all}
want() { [ "$FIGS" = all ] || [[ ",$FIGS," == *",$1,"* ]]; }
# BENCH_BASE=COMMIT: Switchboard at COMMIT (build/base) is "base", this
# tree's is "sb"; BENCH_PEERS (wsd,node,floor; none with BENCH_BASE):
# websocketd, Node ws and the relay's floor.
BASE=${BENCH_BASE:-}
if [ -n "$BASE" ]; then SWS="sb base" PEERS=${BENCH_PEERS-}
else SWS=sb PEERS=${BENCH_PEERS-wsd,node,floor}; fi
RES=$B/results.txt
LOG=$B/bench.log
WSLOAD=$B/wsload
mkdir -p "$B/bin"
# Other work may rebuild build/ while this runs: use copies.
cp "$ROOT/build/switchboard-hub" "$ROOT/build/switchboard-handler" \
    "$ROOT/build/switchboardctl" "$B/bin/" || exit 1
if [ -n "$BASE" ]; then
	mkdir -p "$B/base-bin"
	cp "$ROOT/build/base/switchboard-hub" "$ROOT/build/base/switchboard-handler" \
	    "$B/base-bin/" || exit 1
fi
{ git -C "$ROOT" rev-parse --short HEAD
  git -C "$ROOT" status --porcelain handler hub common | grep -q . && echo " (with uncommitted changes in handler/, hub/ or common/)"; } 2>/dev/null | tr -d '\n' >"$B/commit.txt"
HUBBIN=$B/bin/switchboard-hub
HANDLER=$B/bin/switchboard-handler
SKIPPED=$B/skipped.txt
: >"$RES"
: >"$LOG"
: >"$SKIPPED"

# 10,000 clients: the load generator and the hub each hold one fd per
# client.  Raise the soft limit to the hard one, here only.
ulimit -n "$(ulimit -Hn)" 2>/dev/null
if [ "$(ulimit -n)" -lt $((SCALE_ROOM + SCALE_EXTRA + 500)) ]; then
	echo "bench: ulimit -n $(ulimit -n) is too low for the scale figure" >&2
	exit 1
fi

log() { printf '[bench %s] %s\n' "$(date +%T)" "$*" | tee -a "$LOG" >&2; }
skip() { log "skipped: $*"; echo "$*" >>"$SKIPPED"; }
peer() { [[ ",$PEERS," == *",$1,"* ]]; }

# Each peer asked for that cannot run is skipped, and said so.
ok_peers=
for p in ${PEERS//,/ }; do
	case $p in
	wsd) command -v websocketd >/dev/null ||
	    { skip "websocketd (not installed; make bench-deps)"; continue; } ;;
	node) [ -f "$ROOT/node_modules/ws/package.json" ] ||
	    { skip "Node ws (node_modules/ws missing; npm ci)"; continue; } ;;
	floor) [ -x "$B/relayfloor" ] && [ -x "$B/bcastfloor" ] ||
	    { skip "the relay and broadcast floors ($B/relayfloor, $B/bcastfloor missing; make bench-tools)"; continue; } ;;
	*) echo "bench: BENCH_PEERS: no peer $p (wsd, node, floor)" >&2; exit 2 ;;
	esac
	ok_peers+=${ok_peers:+,}$p
done
PEERS=$ok_peers
if [ -n "$BASE" ]; then
	[ -z "${BENCH_PEERS+x}" ] && skip "websocketd, Node ws and the relay floor (BENCH_BASE compares two Switchboards; BENCH_PEERS=wsd,node,floor adds them)"
	for f in wake scrape scale guess systemd; do
		want "$f" && [ "$FIGS" != all ] && skip "figure $f (not compared with BENCH_BASE)"
	done
	[ "$FIGS" = all ] && skip "figures wake, scrape, scale, guess and systemd, the handler-cost profile and the report (BENCH_BASE compares churn, rtt, bcast and mem)"
fi

# The machine-speed record: at the start, before each measurement and at
# the end, a SPEED line in $RES with how fast the machine is at that
# moment (speed_probe, bench/lib.sh).  The machine runs in a fast and a
# slow phase (docs/benchmarks.md); bench/results.mjs tells them apart and
# gives each figure the probes before and after it.
speed() {	# run fig srv [n]
	local s
	s=$(speed_probe "$B")
	[ -n "$s" ] && echo "SPEED run=$1 fig=$2 srv=$3${4:+ n=$4} $s" >>"$RES"
}

PIDS=()
# Each Switchboard by name (sb, base): its directory, hub, activator, port.
declare -A SW_DIR=() SW_HUB=() SW_SA=() SW_PORT=()
cleanup() {
	trap - INT TERM EXIT
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
	wait 2>/dev/null
	for d in "${SW_DIR[@]}"; do [ -n "$d" ] && rm -rf "$d"; done
	[ -n "${FLOORDIR:-}" ] && rm -rf "$FLOORDIR"
	[ -n "${GSBDIR:-}" ] && rm -rf "$GSBDIR"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

port_free() { ! ss -Htln "sport = :$1" | grep -q .; }
pick_port() {
	local p=$1
	while ! port_free "$p"; do p=$((p + 1)); done
	echo "$p"
}

# Wait (at most $2 s) until process $1 has no children left.
wait_kids() {
	local i
	for ((i = 0; i < $2 * 10; i++)); do
		pgrep -P "$1" >/dev/null || return 0
		sleep 0.1
	done
	log "warning: $(pgrep -P "$1" | wc -l) children of $1 still there"
}

# Stop process $1, one of ours, and take it off PIDS: the cleanup must
# not signal a PID the kernel has since given to another process (a run
# starts tens of thousands of handlers, and pid_max may be 32768).
stop_pid() {
	local p=$1 i q keep=()
	for q in "${PIDS[@]}"; do [ "$q" = "$p" ] || keep+=("$q"); done
	PIDS=("${keep[@]}")
	kill "$p" 2>/dev/null || return 0
	for ((i = 0; i < 50; i++)); do
		kill -0 "$p" 2>/dev/null || break
		sleep 0.1
	done
	kill -9 "$p" 2>/dev/null
	wait "$p" 2>/dev/null
}

# --- the servers ----------------------------------------------------------

WSD= WSDP= NODE= NODEP=

# A hub with DIR/switchboard.conf (its log DIR/hub.log) and its activator
# on the first free port from PORT, with HUB-BINARY and HANDLER; sets
# STARTED_HUB, STARTED_SA and STARTED_PORT.
# $HUB_WRAP and $SA_WRAP (words, may be empty) go before the hub's and
# the activator's command (bench/README.md, BENCH_WRAP_*).
hub_start() {	# dir port [hub-binary handler]
	# shellcheck disable=SC2086
	SWITCHBOARD_LOG_STDERR=1 ${HUB_WRAP:-} "${3:-$HUBBIN}" -s "$1/hub.sock" \
	    -C "$1/control.sock" -c "$1/switchboard.conf" 2>"$1/hub.log" &
	STARTED_HUB=$!
	PIDS+=("$STARTED_HUB")
	wait_socket "$1/hub.sock"
	STARTED_PORT=$(pick_port "$2")
	activator_start "$STARTED_PORT" "$1/sa.log" "$1/hub.sock" "${4:-$HANDLER}"
	STARTED_SA=$ACTIVATOR
	PIDS+=("$STARTED_SA")
}

# Stop an activator once its handlers are gone (at most SECS), then its hub.
hub_stop() {	# activator hub secs
	wait_kids "$1" "$3"
	stop_pid "$1"
	stop_pid "$2"
}

# Switchboard NAME: this tree's programs (sb) or the base commit's (base).
sw_start() {	# name
	local n=$1 dir bin=$B/bin
	[ "$n" = base ] && bin=$B/base-bin
	dir=$(mktemp -d /tmp/sb-bench.XXXXXX)
	SW_DIR[$n]=$dir
	bench_config "$dir/switchboard.conf" "$dir" "ws_echo = yes"
	# BENCH_WRAP_HUB_sb, BENCH_WRAP_SA_base, ...: what runs the hub and
	# the activator of that Switchboard, e.g. "taskset -c 0", "nice -n -5"
	HUB_WRAP=$(printenv "BENCH_WRAP_HUB_$n") SA_WRAP=$(printenv "BENCH_WRAP_SA_$n")
	hub_start "$dir" "$PORT0" "$bin/switchboard-hub" "$bin/switchboard-handler"
	HUB_WRAP= SA_WRAP=
	[ -n "$(printenv "BENCH_WRAP_HUB_$n")$(printenv "BENCH_WRAP_SA_$n")" ] &&
	    log "$n: hub run by '$(printenv "BENCH_WRAP_HUB_$n")', activator by '$(printenv "BENCH_WRAP_SA_$n")'"
	SW_HUB[$n]=$STARTED_HUB SW_SA[$n]=$STARTED_SA SW_PORT[$n]=$STARTED_PORT
}

sw_stop() {	# name
	local n=$1 dir=${SW_DIR[$1]:-}
	[ -n "${SW_SA[$n]:-}" ] || return 0
	hub_stop "${SW_SA[$n]}" "${SW_HUB[$n]}" 120
	if grep -q 'EVENT=slow_reader' "$dir/hub.log"; then
		log "note: slow_reader events in the $n hub's log"
	fi
	cp "$dir/hub.log" "$B/hub-last$([ "$n" = sb ] || echo "-$n").log" 2>/dev/null
	rm -rf "$dir"
	SW_DIR[$n]= SW_SA[$n]= SW_HUB[$n]=
}

wsd_start() {
	WSDP=$(pick_port $((PORT0 + 20)))
	websocketd --address=127.0.0.1 --port="$WSDP" --loglevel=fatal \
	    "$B/echo" >>"$LOG" 2>&1 &
	WSD=$!
	PIDS+=("$WSD")
	for _ in $(seq 100); do port_free "$WSDP" || break; sleep 0.05; done
}
wsd_stop() { [ -n "$WSD" ] && { wait_kids "$WSD" 60; stop_pid "$WSD"; }; WSD=; }

node_start() {
	NODEP=$(pick_port $((PORT0 + 40)))
	node "$ROOT/bench/ws-server.mjs" "$NODEP" 2>>"$LOG" &
	NODE=$!
	PIDS+=("$NODE")
	for _ in $(seq 100); do port_free "$NODEP" || break; sleep 0.05; done
}
node_stop() { [ -n "$NODE" ] && stop_pid "$NODE"; NODE=; }

# The relay's floor (bench/relayfloor.c): two hubs that only forward, one
# that also copies each message back to its sender as Switchboard does,
# each with its activator; started for the round trips only.
FLOORDIR= FLOORP= FLOORCP= FLOORPIDS=()
floor_start() {
	local i mode port
	FLOORDIR=$(mktemp -d /tmp/sb-floor.XXXXXX)
	for i in 0 1; do
		mode=; [ "$i" = 1 ] && mode=copy
		"$B/relayfloor" hub "$FLOORDIR/hub$i.sock" $mode &
		FLOORPIDS+=($!)
		wait_socket "$FLOORDIR/hub$i.sock"
		port=$(pick_port $((PORT0 + 60 + 10 * i)))
		activator_start "$port" "$LOG" "$FLOORDIR/hub$i.sock" "$B/relayfloor" handler
		FLOORPIDS+=("$ACTIVATOR")
		if [ "$i" = 0 ]; then FLOORP=$port; else FLOORCP=$port; fi
	done
	PIDS+=("${FLOORPIDS[@]}")
}
floor_stop() {
	local p
	for p in "${FLOORPIDS[@]}"; do stop_pid "$p"; done
	FLOORPIDS=()
	[ -n "$FLOORDIR" ] && rm -rf "$FLOORDIR"
	FLOORDIR=
}

start_all() {
	local n
	for n in $SWS; do sw_start "$n"; done
	peer wsd && wsd_start
	peer node && node_start
}
stop_all() {
	local n
	for n in $SWS; do sw_stop "$n"; done
	wsd_stop
	node_stop
}

# wsload with a tag; its RESULT/MEM lines go to $RES and the console.
load() {
	local tag=$1 tmo=$2
	shift 2
	timeout -s INT "$tmo" "$WSLOAD" "$@" --tag " $tag" 2>>"$LOG" |
	    tee -a "$RES" | sed 's/^/  /' | cut -c1-230
}

# --- the figures ----------------------------------------------------------

# Other work on the machine skews every figure: sample what else uses the
# CPU (ps %CPU, lifetime average of each process) every 20 s, at most 90 times.
(for _ in $(seq 90); do
	ps -eo pcpu=,comm= --sort=-pcpu |
	    grep -v -E ' (wsload|switchboard-h..|websocketd|node|echo|ps|grep|sort|systemd-socket-|sed|awk|head|bash|sleep|timeout|tee|cut)$' |
	    head -3 | sed "s/^/$(date +%T) /"
	sleep 20
done >"$B/otherload.txt" 2>/dev/null) &
PIDS+=($!)

log "machine: $(nproc) cores, $(free -m | awk '/Mem:/{print $2}') MiB, kernel $(uname -r); runs=$RUNS quick=$QUICK"
speed 0 start -
log "machine speed: $(tail -1 "$RES" | cut -d' ' -f5-)"
# The guess figure starts its own hub; the others share these servers.
if want churn || want rtt || want bcast || want rate || want scrape || want mem || want scale; then
	start_all
	for n in $SWS; do
		log "servers: switchboard $n :${SW_PORT[$n]} (hub ${SW_HUB[$n]}, activator ${SW_SA[$n]})"
	done
	log "servers: websocketd :${WSDP:-skipped} (${WSD:-}), node ws :${NODEP:-skipped} (${NODE:-})"
fi

# Churn and round trips take seconds: more runs, and the servers take
# turns at going first, so that a drift in the machine's speed during a
# run does not always favour the same one.
churn_one() {	# srv run
	speed "$2" churn "$1"
	case $1 in
	sb|base) load "srv=$1 fig=churn run=$2" 120 churn -p "${SW_PORT[$1]}" --path /chat -n "$CHURN" -c 8
	    wait_kids "${SW_SA[$1]}" 60 ;;
	wsd) load "srv=wsd fig=churn run=$2" 120 churn -p "$WSDP" --path / -n "$CHURN" -c 8
	    wait_kids "$WSD" 60 ;;
	node) load "srv=node fig=churn run=$2" 120 churn -p "$NODEP" --path /echo -n "$CHURN" -c 8 ;;
	esac
}
rtt_one() {	# srv run
	speed "$2" rtt "$1"
	case $1 in
	sb|base) load "srv=$1 fig=rtt run=$2" 120 rtt -p "${SW_PORT[$1]}" -n "$RTT"
	    load "srv=$1echo fig=rtt run=$2" 120 rtt -p "${SW_PORT[$1]}" --proto echo --path /echo -n "$RTT"
	    wait_kids "${SW_SA[$1]}" 60 ;;
	wsd) load "srv=wsd fig=rtt run=$2" 120 rtt -p "$WSDP" --proto echo --path / -n "$RTT"
	    wait_kids "$WSD" 60 ;;
	node) load "srv=node fig=rtt run=$2" 120 rtt -p "$NODEP" --proto echo --path /echo -n "$RTT" ;;
	floor) load "srv=floor fig=rtt run=$2" 120 rtt -p "$FLOORP" -n "$RTT"
	    load "srv=floorcp fig=rtt run=$2" 120 rtt -p "$FLOORCP" -n "$RTT" ;;
	esac
}
# The servers of a run, in the order they go: this tree's Switchboard
# and the one it is compared with (the base, or else websocketd) take
# turns at going first; Node ws goes last.
run_order() {	# run
	local a=sb b=base
	[ -n "$BASE" ] || { b=; peer wsd && b=wsd; }
	if [ $(($1 % 2)) = 0 ] && [ -n "$b" ]; then echo "$b $a"; else echo "$a $b"; fi
	[ -n "$BASE" ] && peer wsd && echo wsd
	peer node && echo node
}
want rtt && peer floor && floor_start
for r in $(seq "$FAST_RUNS"); do
	order=$(run_order "$r" | xargs)
	if want churn; then
		log "run $r/$FAST_RUNS: churn ($CHURN connections, 8 at a time; $order)"
		for s in $order; do churn_one "$s" "$r"; done
	fi
	if want rtt; then
		log "run $r/$FAST_RUNS: round trips ($RTT; $order)"
		for s in $order; do rtt_one "$s" "$r"; done
		peer floor && rtt_one floor "$r"
	fi
done
peer floor && floor_stop

# Broadcast latency (bcast) or throughput (tput) of server S at N.
# websocketd has no rooms: it is not measured.
bcast_one() {	# bcast|tput srv n run
	local what
	if [ "$1" = bcast ]; then what="--rate 50 --secs $SECS"
	else what="--inflight 4 --secs $TSECS"; fi
	case $2 in
	sb|base) speed "$4" "$1" "$2" "$3"
	    # shellcheck disable=SC2086
	    load "srv=$2 fig=$1 n=$3 run=$4" 400 "$1" -p "${SW_PORT[$2]}" -N "$3" \
		$what --pid "${SW_HUB[$2]}" --kids-of "${SW_SA[$2]}"
	    wait_kids "${SW_SA[$2]}" 120 ;;
	node) speed "$4" "$1" node "$3"
	    # shellcheck disable=SC2086
	    load "srv=node fig=$1 n=$3 run=$4" 400 "$1" -p "$NODEP" -N "$3" \
		$what --pid "$NODE" ;;
	bfloor) speed "$4" "$1" bfloor "$3"
	    if [ "$1" = bcast ]; then
		bfloor "srv=bfloor fig=bcast n=$3 run=$4" "$3" 50 "$SECS"
	    else
		bfloor "srv=bfloor fig=tput n=$3 run=$4" -k 4 "$3" "$TSECS"
	    fi ;;
	esac
}
# The broadcast's floor (bench/bcastfloor.c): a sender and N receiver
# processes that only move bytes, in Switchboard's layout.
bfloor() {	# tag n rate secs, or tag -k 4 n secs (throughput)
	local tag=$1
	shift
	timeout -s INT 600 "$B/bcastfloor" "$@" "$tag" 2>>"$LOG" |
	    tee -a "$RES" | sed 's/^/  /' | cut -c1-230
}
for n in $NS; do
	want bcast || break
	for r in $(seq "$RUNS"); do
		order=$(run_order "$r" | xargs)
		peer floor && [ -z "$BASE" ] && order+=" bfloor"
		log "run $r/$RUNS: broadcast latency, N=$n, 50 msg/s for $SECS s ($order)"
		for s in $order; do bcast_one bcast "$s" "$n" "$r"; done
		log "run $r/$RUNS: broadcast throughput, N=$n, 4 in flight for $TSECS s ($order)"
		for s in $order; do bcast_one tput "$s" "$n" "$r"; done
	done
done

# The highest sustainable broadcast rate (issue 18): at the largest N, the
# rate is raised step by step (RATES), SECS each, Switchboard and Node ws
# taking turns at going first, and the broadcast's floor after them (peer
# floor: what the design can hold); a server that misses a step (p95 over
# 100 ms or a delivery lost) is not asked the higher ones.  The report's
# figure is the highest rate each held with all the lower ones.
rate_ok() {	# tag: the step's RESULT held (p95 <= 100 ms, nothing lost)
	grep -F "RESULT $1 " "$RES" | tail -1 |
	    awk '{ for (i = 1; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
		   exit !(v["lost"] == 0 && v["failed"] == 0 && v["lat_p95_us"] != "" && v["lat_p95_us"] <= 100000) }'
}
rate_step() {	# srv rate run
	local n=${NS##* } tag="srv=$1 fig=rate n=${NS##* } rate=$2 run=$3"
	speed "$3" rate "$1" "$n"
	case $1 in
	sb|base) load "$tag" 200 bcast -p "${SW_PORT[$1]}" -N "$n" --rate "$2" \
	    --secs "$SECS" --pid "${SW_HUB[$1]}" --kids-of "${SW_SA[$1]}"
	    wait_kids "${SW_SA[$1]}" 120 ;;
	node) load "$tag" 200 bcast -p "$NODEP" -N "$n" --rate "$2" \
	    --secs "$SECS" --pid "$NODE" ;;
	bfloor) bfloor "$tag" "$n" "$2" "$SECS" ;;
	esac
	rate_ok "$tag"
}
for r in $(seq "$RUNS"); do
	want rate || break
	alive=$(run_order "$r" | grep -vx wsd | xargs)
	peer floor && [ -z "$BASE" ] && alive+=" bfloor"
	for rate in $RATES; do
		[ -n "$alive" ] || break
		log "run $r/$RUNS: highest broadcast rate, N=${NS##* }, $rate msg/s for $SECS s ($alive)"
		next=
		for s in $alive; do rate_step "$s" "$rate" "$r" && next+=" $s"; done
		alive=${next# }
	done
done

# The hub's fan-out to a room of the largest N by send() and by io_uring
# (bench/uringfan.c), with N processes waiting in recv() as handlers do:
# issue 18 keeps io_uring in the hub only if it wins here first.
for r in $(seq "$RUNS"); do
	want uring && [ -x "$B/uringfan" ] || break
	log "run $r/$RUNS: the fan-out to ${NS##* } by send() and by io_uring (bench/uringfan.c)"
	speed "$r" uringfan send "${NS##* }"
	timeout -s INT 300 "$B/uringfan" "${NS##* }" 200 200 wake 2>>"$LOG" |
	    sed "s/^RESULT .*/& run=$r/" | tee -a "$RES" | sed 's/^/  /'
done

# A wake-up among K tasks on one CPU (bench/ringwake.c): K processes (a
# handler each) against K threads of one process (one address space), at
# K = 2, 100 and the largest N, with no page and with 50 pages of their
# own touched per wake-up: what a handler's wake-up costs on this machine,
# and how much of it is the switch between address spaces (issue 18).
for r in $(seq "$RUNS"); do
	want wake && [ -z "$BASE" ] && [ -x "$B/ringwake" ] || break
	log "run $r/$RUNS: a wake-up among K processes and among K threads, one CPU (bench/ringwake.c)"
	speed "$r" wake ringwake
	for k in 2 100 "${NS##* }"; do
		for p in 0 50; do
			for m in procs threads; do
				# shellcheck disable=SC2046
				timeout 120 taskset -c 0 "$B/ringwake" $([ "$m" = threads ] && echo -t) \
				    "$k" "$p" 20000 "srv=$m fig=wake k=$k pages=$p run=$r" 2>>"$LOG" |
				    tee -a "$RES" | sed 's/^/  /'
			done
		done
	done
done

# A scrape every second (issue 22): broadcast latency at the largest N on
# this tree's Switchboard without (srv=sb0) and with (srv=sb1) a GET
# /metrics once a second from before the ramp to the end, the two taking
# turns at going first; the scrapes' count, failures and slowest time go
# to a RESULT line of their own (fig=scrapes).  Not with BENCH_BASE.
scraper() {	# port count out: at most `count` scrapes, a second apart
	local i
	for ((i = 0; i < $2; i++)); do
		curl -s -o /dev/null --max-time 10 -w '%{http_code} %{time_total}\n' \
		    "http://127.0.0.1:$1/metrics" >>"$3"
		sleep 1
	done
}
scrape_one() {	# 0|1 run
	local n=${NS##* } pid= out=$B/scrapes.txt
	speed "$2" scrape "sb$1" "$n"
	: >"$out"
	if [ "$1" = 1 ]; then
		scraper "${SW_PORT[sb]}" 400 "$out" &
		pid=$!
		PIDS+=("$pid")
	fi
	load "srv=sb$1 fig=scrape n=$n run=$2" 400 bcast -p "${SW_PORT[sb]}" -N "$n" \
	    --rate 50 --secs "$SECS" --pid "${SW_HUB[sb]}" --kids-of "${SW_SA[sb]}"
	if [ -n "$pid" ]; then
		stop_pid "$pid"
		awk -v tag="srv=sb1 fig=scrapes n=$n run=$2" '
		    { t++; if ($1 != 200) f++; if ($2 > m) m = $2 }
		    END { printf "RESULT %s scrapes=%d failed=%d max_s=%.3f\n", tag, t, f, m }' \
		    "$out" | tee -a "$RES" | sed 's/^/  /'
	fi
	wait_kids "${SW_SA[sb]}" 120
}
for r in $(seq "$RUNS"); do
	want scrape && [ -z "$BASE" ] || break
	log "run $r/$RUNS: broadcast latency, N=${NS##* }, 50 msg/s for $SECS s, without and with a scrape of /metrics every second"
	if [ $((r % 2)) = 0 ]; then order="1 0"; else order="0 1"; fi
	for s in $order; do scrape_one "$s" "$r"; done
done

# Memory: idle connections held in steps, on fresh servers.
mem_one() {	# srv run
	speed "$2" mem "$1"
	case $1 in
	sb|base) load "srv=$1 fig=mem run=$2" 400 hold -p "${SW_PORT[$1]}" \
	    --steps "$STEPS" --pid "${SW_HUB[$1]}" --kids-of "${SW_SA[$1]}" ;;
	wsd) load "srv=wsd fig=mem run=$2" 400 hold -p "$WSDP" --path / --proto echo \
	    --steps "$STEPS" --pid "$WSD" --kids-of "$WSD" ;;
	node) load "srv=node fig=mem run=$2" 400 hold -p "$NODEP" --steps "$STEPS" \
	    --pid "$NODE" ;;
	esac
}
for r in $(seq "$RUNS"); do
	want mem || break
	order=$(run_order "$r" | xargs)
	log "run $r/$RUNS: memory of idle connections, steps $STEPS (fresh servers; $order)"
	stop_all
	start_all
	for s in $order; do mem_one "$s" "$r"; done
done

total=$((SCALE_ROOM + SCALE_EXTRA))
for r in $(seq "$RUNS"); do
	want scale && [ -z "$BASE" ] || break
	log "run $r/$RUNS: scale, $total clients, 1 broadcast/s for $SCALE_SECS s (fresh servers)"
	stop_all
	sw_start sb
	peer node && node_start
	# Every client identifies and joins the one room.  Past presence_max
	# (250 by default) the room and the server are quiet, so the ramp
	# costs no N * N presence notices (docs/protocol.md).  --extra X
	# would add X clients that connect but never identify.
	speed "$r" scale sb
	load "srv=sb fig=scale run=$r" 600 bcast -p "${SW_PORT[sb]}" -N "$SCALE_ROOM" \
	    --extra "$SCALE_EXTRA" --rate 1 --secs "$SCALE_SECS" --grace 10 \
	    --pid "${SW_HUB[sb]}" --kids-of "${SW_SA[sb]}"
	peer node && speed "$r" scale node
	peer node && load "srv=node fig=scale run=$r" 600 bcast -p "$NODEP" -N "$total" \
	    --rate 1 --secs "$SCALE_SECS" --grace 10 --pid "$NODE"
	if peer floor; then
		stop_all
		speed "$r" scale bfloor
		bfloor "srv=bfloor fig=scale run=$r" "$SCALE_ROOM" 1 "$SCALE_SECS"
	fi
done
stop_all

# The big scale (issue 18): BIG clients (50,000; BENCH_BIG="50000 100000"
# adds the stretch), each with its own handler, one broadcast every 5 s,
# Node ws at the same N beside it.  The machine's limits are raised for
# this figure only and put back by big_restore (also on exit): pid_max,
# the open-file limit of this shell and what it starts (the hub, the
# activator, wsload and Node hold one fd per client).  The clients come
# from 127.0.0.1 .. 127.0.0.K (all loopback already), K so that each
# source address needs at most 20,000 ports.  Besides the PSS of the
# processes, wsload's MEM line has what the kernel holds for them
# (kernel stacks, page tables, unreclaimable slab; /proc/meminfo before
# the first connection and once all are up).
BIG_PIDMAX=
big_restore() {
	[ -n "$BIG_PIDMAX" ] && echo "$BIG_PIDMAX" >/proc/sys/kernel/pid_max &&
	    log "pid_max put back to $BIG_PIDMAX"
	BIG_PIDMAX=
}
trap 'big_restore; cleanup' EXIT
big_one() {	# N
	local n=$1 need srcs
	need=$((2 * n + 20000))
	if [ "$(cat /proc/sys/kernel/pid_max)" -lt "$need" ]; then
		BIG_PIDMAX=${BIG_PIDMAX:-$(cat /proc/sys/kernel/pid_max)}
		echo "$need" >/proc/sys/kernel/pid_max ||
		    { skip "big scale at $n (cannot raise pid_max to $need)"; return; }
		log "pid_max raised from $BIG_PIDMAX to $need for the big scale"
	fi
	ulimit -n $((n + 2000)) 2>/dev/null ||
	    { skip "big scale at $n (cannot raise the open-file limit to $((n + 2000)))"; return; }
	srcs=$((n / 20000 + 2))
	BENCH_MAX_CLIENTS=$((n + 100)) sw_start sb
	speed "$r" big sb "$n"
	load "srv=sb fig=big run=$r" 1800 bcast -p "${SW_PORT[sb]}" -N "$n" \
	    --rate 0.2 --secs "$BIG_SECS" --grace 30 --sources "$srcs" -c 256 \
	    --pid "${SW_HUB[sb]}" --kids-of "${SW_SA[sb]}" --timeout 1500
	sw_stop sb
	if peer node; then
		node_start
		speed "$r" big node "$n"
		load "srv=node fig=big run=$r" 1800 bcast -p "$NODEP" -N "$n" \
		    --rate 0.2 --secs "$BIG_SECS" --grace 30 --sources "$srcs" -c 256 \
		    --pid "$NODE" --timeout 1500
		node_stop
	fi
	if peer floor; then	# the design's floor at the same N and rate
		speed "$r" big bfloor "$n"
		bfloor "srv=bfloor fig=big run=$r" "$n" 0.2 "$BIG_SECS"
	fi
}
for r in $(seq "$RUNS"); do
	want big && [ -z "$BASE" ] || break
	[ "$r" -gt 1 ] && [ "$FIGS" = all ] && break	# one run: it takes minutes
	for n in $BIG; do
		log "run $r: big scale, $n clients, each with its own handler, 1 broadcast every 5 s for $BIG_SECS s"
		big_one "$n"
	done
done
big_restore

# Guest logins during a password-guessing attack (issue 16, hole 1): a
# hub of its own with auth = both, the member alice, the default flood
# limits.  Per run, on one hub: GUESTS guest logins without an attack,
# during the issue's attack (20 connections from one address with 10
# wrong passwords for alice each, then 5 new ones a second), and during
# the same from a new address per connection with unknown nicks (no
# throttle bites: the password workers' worst case).  bench/guess.mjs.
GSBDIR= GHUB= GSA= GSBP=
guess_start() {
	GSBDIR=$(mktemp -d /tmp/sb-guess.XXXXXX)
	printf '%s\n' "handler_user = $(id -u)" "state_dir = $GSBDIR" \
	    "rooms = lobby" "auth = both" "members_file = members" \
	    >"$GSBDIR/switchboard.conf"
	echo wonderland | "$B/bin/switchboardctl" -f "$GSBDIR/members" \
	    member add alice >>"$LOG" 2>&1
	hub_start "$GSBDIR" $((PORT0 + 80))
	GHUB=$STARTED_HUB GSA=$STARTED_SA GSBP=$STARTED_PORT
}
guess_stop() {
	[ -n "$GSA" ] || return 0
	hub_stop "$GSA" "$GHUB" 60
	log "guess hub: $(grep -c 'EVENT=login_throttled' "$GSBDIR/hub.log") login_throttled events, $(grep -c 'password checks full' "$GSBDIR/hub.log") login_busy"
	rm -rf "$GSBDIR"
	GSBDIR= GSA= GHUB=
}
guess() {	# tag options...
	local tag=$1
	shift
	timeout -s INT 200 node "$ROOT/bench/guess.mjs" "$GSBP" "$tag" \
	    --guests "$GUESTS" --secs 120 "$@" 2>>"$LOG" |
	    tee -a "$RES" | sed 's/^/  /'
	wait_kids "$GSA" 60
}
for r in $(seq "$RUNS"); do
	want guess && [ -z "$BASE" ] || break
	log "run $r/$RUNS: guest logins ($GUESTS) without and during password guessing"
	speed "$r" guess guess
	guess_start
	guess "srv=guess0 fig=guess run=$r attack=none"
	guess "srv=guess1 fig=guess run=$r attack=nick" --attack nick
	guess "srv=guess2 fig=guess run=$r attack=spread" --attack spread
	guess_stop
done

# Switchboard under a real systemd as PID 1 (issue 18, "churn and memory
# as deployed"): bench/systemd.sh boots one in namespaces with the shipped
# units, websocketd and systemd-socket-activate as services beside them,
# and writes its own RESULT, MEM and SPEED lines (fig=sdchurn, sdmem,
# sdmemvar, sdablate, sdbcast).  Needs root (skipped, and said so,
# without); bounded by SD_DEADLINE; not with BENCH_BASE.  Alone
# (BENCH_FIGS=systemd) it rewrites its own section of docs/benchmarks.md.
if want systemd && [ -z "$BASE" ]; then
	log "systemd: handlers spawned by systemd as PID 1 with the shipped units (bench/systemd.sh)"
	if [ "$QUICK" = 1 ]; then
		sdenv=(SD_RUNS="${SD_RUNS:-1}" SD_CHURN="${SD_CHURN:-100}"
		    SD_STEPS="${SD_STEPS:-0,200}" SD_MEM_VARIANTS="${SD_MEM_VARIANTS-bare}"
		    SD_MEM_RUNS="${SD_MEM_RUNS:-1}"
		    SD_ABLATE="${SD_ABLATE:-bare namespaces mountns seccomp bpf PrivateNetwork PrivateUsers PrivateTmp SystemCallFilter}"
		    SD_ABLATE_RUNS="${SD_ABLATE_RUNS:-1}" SD_BCAST_N="${SD_BCAST_N:-200}"
		    SD_BCAST_SECS="${SD_BCAST_SECS:-5}" SD_DEADLINE="${SD_DEADLINE:-900}")
	else
		sdenv=(SD_RUNS="${SD_RUNS:-$RUNS}")
	fi
	env B="$B" SD_HUB="$HUBBIN" SD_HANDLER="$HANDLER" "${sdenv[@]}" \
	    timeout -s TERM $((${SD_DEADLINE:-2400} + 1200)) bash "$ROOT/bench/systemd.sh" 2>>"$LOG" |
	    tee -a "$RES" | sed 's/^/  /' | cut -c1-230
	grep '^SKIP systemd' "$RES" | sed 's/^SKIP //' | while read -r l; do skip "$l"; done
	if [ "$FIGS" = systemd ] && grep -q ' fig=sd' "$RES"; then
		node "$ROOT/bench/sdreport.mjs" "$RES" --into "$ROOT/docs/benchmarks.md" | tee -a "$LOG"
	fi
fi

# Several machines through Redis (issue 20), only when named
# (BENCH_FIGS=cluster): bench/cluster.mjs builds Redis and three machines
# in network namespaces (tests/integration/lib/cluster.mjs) and one hub
# alone the same way, and writes its own RESULT lines (fig=xrtt, xbcast,
# xcmds, xmem, xratio).  Needs root and redis-server; not with BENCH_BASE.
if [[ ",$FIGS," == *",cluster,"* ]] && [ -z "$BASE" ]; then
	log "cluster: three hubs and Redis against one hub (bench/cluster.mjs)"
	BENCH_QUICK=$QUICK BENCH_RUNS=$RUNS timeout -s TERM 3700 \
	    node "$ROOT/bench/cluster.mjs" 2>>"$LOG" | tee -a "$RES" | sed 's/^/  /' | cut -c1-230
	grep -q '^SKIP cluster' "$RES" && skip "$(sed -n 's/^SKIP //p' "$RES" | head -1)"
fi

speed 0 end -
log "machine speed at the end: $(tail -1 "$RES" | cut -d' ' -f5-)"

if [ -n "$BASE" ]; then
	log "comparison (bench/compare.mjs), also in $B/compare.txt"
	node "$ROOT/bench/compare.mjs" "$RES" "$(cat "$B/commit.txt")" \
	    "$(git -C "$ROOT" rev-parse --short "$BASE")" "$SKIPPED" | tee "$B/compare.txt"
	exit 0
fi
if [ "$FIGS" != all ]; then
	log "BENCH_FIGS=$FIGS: raw results in $RES, no report"
	exit 0
fi

log "handler start-up cost (valgrind --tool=callgrind, strace -c)"
HANDLER=$HANDLER HUBBIN=$HUBBIN QUICK=$QUICK bash "$ROOT/bench/handler-cost.sh" >"$B/handler-cost.txt" 2>>"$LOG" ||
	log "handler-cost.sh failed (see $LOG)"

log "report"
node "$ROOT/bench/report.mjs" "$RES" "$B/handler-cost.txt" \
    "quick=$QUICK runs=$RUNS churn=$CHURN rtt=$RTT ns=${NS// /,} secs=$SECS steps=$STEPS scale=$SCALE_ROOM+$SCALE_EXTRA/$SCALE_SECS guests=$GUESTS"
