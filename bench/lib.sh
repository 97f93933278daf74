# SPDX-License-Identifier: ISC
# Shared by bench/run.sh, bench/handler-cost.sh, bench/tls-run.sh and
# bench/systemd.sh (sourced).

# How fast the machine is at this moment, on one line: the mean wall time
# of 200 fork + exec + exit + wait of bench/nolibc (no libc: the kernel
# and the CPU only), a fixed CPU loop (spawncost --loop), one CPUID
# instruction (an exit to the hypervisor), one page fault (spawncost
# --fault) and the load average.  $1: the
# directory of spawncost and nolibc.  Prints nothing if spawncost fails.
speed_probe() {	# bench-dir
	local v l c f a
	v=$("$1/spawncost" 200 "$1/nolibc" 2>/dev/null |
	    sed -n 's/.* mean_us=\([0-9.]*\).*/\1/p')
	l=$("$1/spawncost" --loop 2>/dev/null | sed -n 's/.* ms=//p')
	c=$("$1/spawncost" --cpuid 2>/dev/null | sed -n 's/.* ns=//p')
	f=$("$1/spawncost" --fault 2>/dev/null | sed -n 's/.* ns=//p')
	read -r a _ </proc/loadavg
	[ -n "$v" ] && echo "spawn_us=$v loop_ms=${l:-nan} cpuid_ns=${c:-nan} fault_ns=${f:-nan} load1=$a"
}

# Write the hub's config for a benchmark run into $1, state in $2: one
# room, room for 20,000 clients from the load generator's four loopback
# addresses (max_per_address), no flood limits and no idle pings (the
# load generators are not people), plus any "key = value" lines given.
bench_config() {	# file state-dir [line...]
	local f=$1 dir=$2
	shift 2
	{
		echo "handler_user = $(id -u)"
		echo "state_dir = $dir"
		echo "rooms = lobby"
		echo "max_clients = ${BENCH_MAX_CLIENTS:-20000}"
		echo "max_per_address = ${BENCH_MAX_CLIENTS:-20000}"
		echo "flood_rate = 100000"
		echo "flood_burst = 100000"
		echo "idle_timeout = 3600"
		printf '%s\n' "$@"
	} >"$f"
}

# Wait (at most 5 s) until the Unix socket $1 exists: a hub is listening.
wait_socket() {
	for _ in $(seq 100); do
		[ -S "$1" ] && return 0
		sleep 0.05
	done
	return 1
}

# Start systemd-socket-activate on 127.0.0.1:PORT with the socket opened
# as switchboard.socket opens it (NoDelay=yes, see bench/listen-exec.c),
# running COMMAND... per connection with the hub at HUB_SOCKET; its
# stderr goes to LOG, its PID to $ACTIVATOR.  Its own log line per
# connection ("Child N died with code 0", a write to a file) is off, as
# websocketd's are (--loglevel=fatal): ~50 K instructions per connection
# that are neither server's.  The socket listens before the exec, so a
# client that comes early waits in the backlog.  The activator, and so
# every handler it forks, runs with SCHED_BATCH, as switchboard@.service
# sets CPUSchedulingPolicy=batch.  $SA_WRAP (words, may be empty) goes
# before it all, e.g. "taskset -c 0" (bench/README.md, BENCH_WRAP_*).
# Needs $B.
activator_start() {	# port log hub-socket command...
	local port=$1 log=$2 hub=$3
	shift 3
	# shellcheck disable=SC2086
	SYSTEMD_LOG_LEVEL=notice ${SA_WRAP:-} chrt --batch 0 "$B/listen-exec" 127.0.0.1 "$port" \
	    systemd-socket-activate -a --inetd \
	    -E SWITCHBOARD_HUB_SOCKET="$hub" "$@" 2>>"$log" &
	ACTIVATOR=$!
	for _ in $(seq 100); do
		[ "$(cat "/proc/$ACTIVATOR/comm" 2>/dev/null)" = systemd-socket- ] && break
		sleep 0.05
	done
}
