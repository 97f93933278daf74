#!/bin/bash
# SPDX-License-Identifier: ISC
# make bench [BENCH_QUICK=1]: Switchboard side by side with websocketd and a
# Node `ws` server, on loopback, every figure the median of BENCH_RUNS runs
# (3; churn and round trips, which take seconds, 9).
# Raw lines go to build/bench/results.txt; bench/report.mjs turns them into
# the table (printed) and docs/benchmarks.md with plots in docs/.
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
	STEPS=0,100,250,500 SCALE_ROOM=2000 SCALE_EXTRA=0 SCALE_SECS=10
	GUESTS=40
else
	RUNS=${BENCH_RUNS:-3} FAST_RUNS=${BENCH_RUNS:-9}
	CHURN=2000 RTT=5000 NS="100 1000" SECS=10 TSECS=10
	STEPS=0,100,250,500,1000 SCALE_ROOM=10000 SCALE_EXTRA=0 SCALE_SECS=30
	GUESTS=100
fi
PORT0=${BENCH_PORT:-18610}
# BENCH_FIGS=churn,rtt,bcast,mem,scale,guess: only these figures, raw results
# only (no report); for trying a change.  Default: all, and the report.
FIGS=${BENCH_FIGS:-all}
want() { [ "$FIGS" = all ] || [[ ",$FIGS," == *",$1,"* ]]; }
RES=$B/results.txt
LOG=$B/bench.log
WSLOAD=$B/wsload
mkdir -p "$B/bin"
# Other work may rebuild build/ while this runs: use copies.
cp "$ROOT/build/switchboard-hub" "$ROOT/build/switchboard-handler" \
    "$ROOT/build/switchboardctl" "$B/bin/" || exit 1
{ git -C "$ROOT" rev-parse --short HEAD
  git -C "$ROOT" status --porcelain handler hub common | grep -q . && echo " (with uncommitted changes in handler/, hub/ or common/)"; } 2>/dev/null | tr -d '\n' >"$B/commit.txt"
HUBBIN=$B/bin/switchboard-hub
HANDLER=$B/bin/switchboard-handler
: >"$RES"
: >"$LOG"

# 10,000 clients: the load generator and the hub each hold one fd per
# client.  Raise the soft limit to the hard one, here only.
ulimit -n "$(ulimit -Hn)" 2>/dev/null
if [ "$(ulimit -n)" -lt $((SCALE_ROOM + SCALE_EXTRA + 500)) ]; then
	echo "bench: ulimit -n $(ulimit -n) is too low for the scale figure" >&2
	exit 1
fi

log() { printf '[bench %s] %s\n' "$(date +%T)" "$*" | tee -a "$LOG" >&2; }

PIDS=()
cleanup() {
	trap - INT TERM EXIT
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
	wait 2>/dev/null
	[ -n "${SBDIR:-}" ] && rm -rf "$SBDIR"
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

SBDIR= HUB= SA= SBP= WSD= WSDP= NODE= NODEP=

# A hub with DIR/switchboard.conf (its log DIR/hub.log) and its activator
# on the first free port from PORT; sets STARTED_HUB, STARTED_SA and
# STARTED_PORT.
hub_start() {	# dir port
	SWITCHBOARD_LOG_STDERR=1 "$HUBBIN" -s "$1/hub.sock" \
	    -C "$1/control.sock" -c "$1/switchboard.conf" 2>"$1/hub.log" &
	STARTED_HUB=$!
	PIDS+=("$STARTED_HUB")
	wait_socket "$1/hub.sock"
	STARTED_PORT=$(pick_port "$2")
	activator_start "$STARTED_PORT" "$1/sa.log" "$1/hub.sock" "$HANDLER"
	STARTED_SA=$ACTIVATOR
	PIDS+=("$STARTED_SA")
}

# Stop an activator once its handlers are gone (at most SECS), then its hub.
hub_stop() {	# activator hub secs
	wait_kids "$1" "$3"
	stop_pid "$1"
	stop_pid "$2"
}

sb_start() {
	SBDIR=$(mktemp -d /tmp/sb-bench.XXXXXX)
	bench_config "$SBDIR/switchboard.conf" "$SBDIR" "ws_echo = yes"
	hub_start "$SBDIR" "$PORT0"
	HUB=$STARTED_HUB SA=$STARTED_SA SBP=$STARTED_PORT
}

sb_stop() {
	[ -n "$SA" ] || return 0
	hub_stop "$SA" "$HUB" 120
	if grep -q 'EVENT=slow_reader' "$SBDIR/hub.log"; then
		log "note: slow_reader events in the hub log"
	fi
	cp "$SBDIR/hub.log" "$B/hub-last.log" 2>/dev/null
	rm -rf "$SBDIR"
	SBDIR= SA= HUB=
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

start_all() { sb_start; wsd_start; node_start; }
stop_all() { sb_stop; wsd_stop; node_stop; }

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
# The guess figure starts its own hub; the others share these servers.
if want churn || want rtt || want bcast || want mem || want scale; then
	start_all
	log "servers: switchboard :$SBP (hub $HUB, activator $SA), websocketd :$WSDP ($WSD), node ws :$NODEP ($NODE)"
fi

# Churn and round trips take seconds: more runs, and the servers take
# turns at going first, so that a drift in the machine's speed during a
# run does not always favour the same one.
churn_one() {	# srv run
	case $1 in
	sb) load "srv=sb fig=churn run=$2" 120 churn -p "$SBP" --path /chat -n "$CHURN" -c 8
	    wait_kids "$SA" 60 ;;
	wsd) load "srv=wsd fig=churn run=$2" 120 churn -p "$WSDP" --path / -n "$CHURN" -c 8
	    wait_kids "$WSD" 60 ;;
	node) load "srv=node fig=churn run=$2" 120 churn -p "$NODEP" --path /echo -n "$CHURN" -c 8 ;;
	esac
}
rtt_one() {	# srv run
	case $1 in
	sb) load "srv=sb fig=rtt run=$2" 120 rtt -p "$SBP" -n "$RTT"
	    load "srv=sbecho fig=rtt run=$2" 120 rtt -p "$SBP" --proto echo --path /echo -n "$RTT"
	    wait_kids "$SA" 60 ;;
	wsd) load "srv=wsd fig=rtt run=$2" 120 rtt -p "$WSDP" --proto echo --path / -n "$RTT"
	    wait_kids "$WSD" 60 ;;
	node) load "srv=node fig=rtt run=$2" 120 rtt -p "$NODEP" --proto echo --path /echo -n "$RTT" ;;
	floor) load "srv=floor fig=rtt run=$2" 120 rtt -p "$FLOORP" -n "$RTT"
	    load "srv=floorcp fig=rtt run=$2" 120 rtt -p "$FLOORCP" -n "$RTT" ;;
	esac
}
want rtt && floor_start
for r in $(seq "$FAST_RUNS"); do
	order="sb wsd node"
	[ $((r % 2)) = 0 ] && order="wsd sb node"
	if want churn; then
		log "run $r/$FAST_RUNS: churn ($CHURN connections, 8 at a time; $order)"
		for s in $order; do churn_one "$s" "$r"; done
	fi
	if want rtt; then
		log "run $r/$FAST_RUNS: round trips ($RTT; $order)"
		for s in $order floor; do rtt_one "$s" "$r"; done
	fi
done
floor_stop

for n in $NS; do
	want bcast || break
	for r in $(seq "$RUNS"); do
		log "run $r/$RUNS: broadcast latency, N=$n, 50 msg/s for $SECS s"
		load "srv=sb fig=bcast n=$n run=$r" 400 bcast -p "$SBP" -N "$n" \
		    --rate 50 --secs "$SECS" --pid "$HUB" --kids-of "$SA"
		wait_kids "$SA" 120
		load "srv=node fig=bcast n=$n run=$r" 400 bcast -p "$NODEP" -N "$n" \
		    --rate 50 --secs "$SECS" --pid "$NODE"
		log "run $r/$RUNS: broadcast throughput, N=$n, 4 in flight for $TSECS s"
		load "srv=sb fig=tput n=$n run=$r" 400 tput -p "$SBP" -N "$n" \
		    --inflight 4 --secs "$TSECS" --pid "$HUB" --kids-of "$SA"
		wait_kids "$SA" 120
		load "srv=node fig=tput n=$n run=$r" 400 tput -p "$NODEP" -N "$n" \
		    --inflight 4 --secs "$TSECS" --pid "$NODE"
	done
done

for r in $(seq "$RUNS"); do
	want mem || break
	log "run $r/$RUNS: memory of idle connections, steps $STEPS (fresh servers)"
	stop_all
	start_all
	load "srv=sb fig=mem run=$r" 400 hold -p "$SBP" --steps "$STEPS" \
	    --pid "$HUB" --kids-of "$SA"
	load "srv=wsd fig=mem run=$r" 400 hold -p "$WSDP" --path / --proto echo \
	    --steps "$STEPS" --pid "$WSD" --kids-of "$WSD"
	load "srv=node fig=mem run=$r" 400 hold -p "$NODEP" --steps "$STEPS" \
	    --pid "$NODE"
done

total=$((SCALE_ROOM + SCALE_EXTRA))
for r in $(seq "$RUNS"); do
	want scale || break
	log "run $r/$RUNS: scale, $total clients, 1 broadcast/s for $SCALE_SECS s (fresh servers)"
	stop_all
	sb_start
	node_start
	# Every client identifies and joins the one room.  Past presence_max
	# (250 by default) the room and the server are quiet, so the ramp
	# costs no N * N presence notices (docs/protocol.md).  --extra X
	# would add X clients that connect but never identify.
	load "srv=sb fig=scale run=$r" 600 bcast -p "$SBP" -N "$SCALE_ROOM" \
	    --extra "$SCALE_EXTRA" --rate 1 --secs "$SCALE_SECS" --grace 10 \
	    --pid "$HUB" --kids-of "$SA"
	load "srv=node fig=scale run=$r" 600 bcast -p "$NODEP" -N "$total" \
	    --rate 1 --secs "$SCALE_SECS" --grace 10 --pid "$NODE"
done
stop_all

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
	want guess || break
	log "run $r/$RUNS: guest logins ($GUESTS) without and during password guessing"
	guess_start
	guess "srv=guess0 fig=guess run=$r attack=none"
	guess "srv=guess1 fig=guess run=$r attack=nick" --attack nick
	guess "srv=guess2 fig=guess run=$r attack=spread" --attack spread
	guess_stop
done

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
