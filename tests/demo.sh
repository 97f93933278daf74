#!/bin/bash
# SPDX-License-Identifier: ISC
# make demo: the hub plus socket-activated handlers on localhost, in the
# foreground.  Ctrl-C stops everything this script started.
set -euo pipefail
cd "$(dirname "$0")/.."
PORT=${DEMO_PORT:-8080}
POLICY_PORT=${DEMO_POLICY_PORT:-8843}
dir=$(mktemp -d /tmp/switchboard-demo.XXXXXX)
pids=()

cleanup() {
	trap - INT TERM EXIT
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	rm -rf "$dir"
	echo "switchboard demo stopped"
}
trap cleanup INT TERM EXIT

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

cat <<MSG

  Switchboard demo running (Ctrl-C stops it)

  Browser chat:    http://127.0.0.1:$PORT/
  Server status:   curl http://127.0.0.1:$PORT/server-status   (JSON: ?json)
  Flash policy:    printf '<policy-file-request/>\\0' | nc 127.0.0.1 $POLICY_PORT
  XMLSocket chat:  nc 127.0.0.1 $PORT     then type:  IDENTIFY alice
                                          and then:   MSG bob hello   /  LIST
  Admin:           build/switchboardctl -S $dir/control.sock who

  Events from the hub follow, one line each:

MSG
wait -n "${pids[@]}" || true
