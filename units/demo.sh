#!/bin/bash
# SPDX-License-Identifier: ISC
# make demo: the hub plus socket-activated handlers on localhost, in the
# foreground.  Ctrl-C stops everything this script started.  It is the
# deployment of this directory's units (switchboard-hub.service,
# switchboard.socket, switchboard-policy.socket) without systemd as PID 1:
# systemd-socket-activate stands in for the sockets.
#   units/demo.sh [--check-ports]
# DEMO_PORT (8080) and DEMO_POLICY_PORT (8843) choose the ports; with
# --check-ports it only checks that both are free (make demo runs that
# before it installs and builds anything).
set -euo pipefail
cd "$(dirname "$0")/.."
PORT=${DEMO_PORT:-8080}
POLICY_PORT=${DEMO_POLICY_PORT:-8843}

# Check both ports before anything starts or is printed: a port in use
# would otherwise show the banner and then fail.  A port counts as free
# when a listening socket can be bound on it, as systemd-socket-activate
# will do (perl-base is on every Debian system).
port_free() {
	perl -MIO::Socket::INET -e 'exit(IO::Socket::INET->new(
	    LocalAddr => "127.0.0.1", LocalPort => $ARGV[0], Proto => "tcp",
	    Listen => 1, ReuseAddr => 1) ? 0 : 1)' "$1"
}
for v in DEMO_PORT:$PORT DEMO_POLICY_PORT:$POLICY_PORT; do
	var=${v%%:*} p=${v#*:}
	if ! [[ $p =~ ^[0-9]+$ ]] || [ "$p" -lt 1 ] || [ "$p" -gt 65535 ]; then
		echo "make demo: $var=$p is not a port number (1-65535)" >&2
		exit 2
	fi
	if ! port_free "$p"; then
		echo "make demo: port $p on 127.0.0.1 is already in use;" \
		    "choose another with $var, e.g. make demo $var=$((p + 1))" >&2
		exit 1
	fi
done
if [ "$PORT" -eq "$POLICY_PORT" ]; then
	echo "make demo: DEMO_PORT and DEMO_POLICY_PORT are both $PORT;" \
	    "they must differ" >&2
	exit 2
fi
[ "${1:-}" = "--check-ports" ] && exit 0

dir=$(mktemp -d /tmp/switchboard-demo.XXXXXX)
pids=()

cleanup() {
	trap - INT TERM EXIT
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	rm -rf "$dir"
	echo "switchboard demo stopped"
}
trap cleanup EXIT
trap 'exit 0' INT TERM		# Ctrl-C is how the demo is meant to end

cat >"$dir/switchboard.conf" <<CONF
# Demo settings (see docs/man/switchboard.conf.5)
handler_user = $(id -u)
state_dir = $dir
rooms = lobby
policy_domains = *
policy_ports = $PORT,$POLICY_PORT
CONF

# systemd-socket-activate reports every connection; keep the handlers' and
# the hub's own lines.
quiet() { grep --line-buffered -v -E '^(Communication attempt|Connection from|Spawned|Execing|Child [0-9]+ died|Listening on)' >&2; }

SWITCHBOARD_LOG_STDERR=1 build/switchboard-hub -s "$dir/hub.sock" \
    -C "$dir/control.sock" -c "$dir/switchboard.conf" &
pids+=($!)
for _ in $(seq 50); do [ -S "$dir/hub.sock" ] && break; sleep 0.1; done
for p in "$PORT" "$POLICY_PORT"; do
	systemd-socket-activate -l "127.0.0.1:$p" -a --inetd \
	    -E SWITCHBOARD_HUB_SOCKET="$dir/hub.sock" \
	    build/switchboard-handler 2> >(quiet) &
	pids+=($!)
done
# The banner only once both ports listen (read from /proc/net/tcp: a
# test bind could take the port from systemd-socket-activate).
listening() {
	grep -q "^ *[0-9]*: 0100007F:$(printf %04X "$1") 00000000:0000 0A " \
	    /proc/net/tcp
}
for p in "$PORT" "$POLICY_PORT"; do
	for _ in $(seq 50); do listening "$p" && break; sleep 0.1; done
done

cat <<MSG

  Switchboard demo running (Ctrl-C stops it)

  Browser chat:    http://127.0.0.1:$PORT/
  Server status:   curl http://127.0.0.1:$PORT/server-status   (JSON: ?json)
  Flash policy:    printf '<policy-file-request/>\\0' | nc 127.0.0.1 $POLICY_PORT
  XMLSocket chat:  nc 127.0.0.1 $PORT     then type:  IDENTIFY alice
                   in a second terminal, the same as bob:  IDENTIFY bob
                   then, as alice:  MSG bob hello   /  LIST
  Admin:           build/switchboardctl -S $dir/control.sock who

  Events from the hub follow, one line each:

MSG
# Until Ctrl-C; if a program ends on its own (it could not listen, or
# crashed), say so and exit non-zero.
wait -n "${pids[@]}" || true
echo "make demo: a program of the demo ended on its own; stopping" >&2
exit 1
