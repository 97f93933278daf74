# Shared by bench/run.sh and bench/handler-cost.sh (sourced).

# Write the hub's config for a benchmark run into $1, state in $2: one
# room, room for 20,000 clients, no flood limits and no idle pings (the
# load generators are not people), plus any "key = value" lines given.
bench_config() {	# file state-dir [line...]
	local f=$1 dir=$2
	shift 2
	{
		echo "handler_user = $(id -u)"
		echo "state_dir = $dir"
		echo "rooms = lobby"
		echo "max_clients = 20000"
		echo "flood_rate = 100000"
		echo "flood_burst = 100000"
		echo "idle_timeout = 3600"
		printf '%s\n' "$@"
	} >"$f"
}
