#!/bin/bash
# SPDX-License-Identifier: ISC
# tests/systemd/units.test.sh: Switchboard under a real systemd (TAP).
#
# Boots /lib/systemd/systemd as PID 1 of private namespaces, in an overlay
# of the host's / whose upper layer is a tmpfs (nothing is downloaded and
# nothing on the host changes), installs Switchboard into it with
# "make install DESTDIR=", enables the sockets, and talks to it from
# inside its network namespace: Flash policy on 843 and 80, a Flash chat
# (also under the drop-in units/lean-spawn.conf), the handlers' sandbox,
# /server-status, a WebSocket handshake, chat over TLS on 443 with a test
# certificate, the journal by field, the
# catalog, a reload, 300 connections in one second, a hub restart.
# Everything it starts is killed by pid and unmounted on exit.  Skipped,
# loudly, only where namespaces cannot be created.
#
#   bash tests/systemd/units.test.sh        (as root; about 20 s)
#
# SB_TEST_KEEP=1 leaves a failed system up for a look (prints how to
# enter it); kill its PID 1 by hand afterwards.

set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
here=$top/tests/systemd
PLAN=38

skip_all() {
	echo "1..0 # SKIP $*"
	echo "units.test.sh: SKIPPED: $*" >&2
	exit 0
}

# Run the rest in a mount namespace of our own, so that every mount dies
# with this script, whatever happens to it.
if [ "${SB_UNITS_TEST_NS:-}" != 1 ]; then
	[ "$(id -u)" = 0 ] ||
	    skip_all "needs root to create namespaces (run as root)"
	command -v unshare >/dev/null && command -v nsenter >/dev/null ||
	    skip_all "unshare/nsenter missing (Debian package util-linux)"
	if ! err=$(unshare --pid --fork --mount --uts --ipc --net --cgroup \
	    true 2>&1); then
		skip_all "cannot create namespaces here: $err"
	fi
	SB_UNITS_TEST_NS=1 exec unshare --mount --propagation private \
	    bash "$0" "$@"
fi

. "$here/lib.sh"

n=0
failed=0
echo "1..$PLAN"

# tap STATUS DESCRIPTION [DIRECTIVE]: one result; STATUS 0 is ok.
tap() {
	n=$((n + 1))
	if [ "$1" = 0 ]; then
		echo "ok $n - $2${3:+ # $3}"
	else
		echo "not ok $n - $2${3:+ # $3}"
		failed=$((failed + 1))
	fi
}

# diag FILE: show a command's output as TAP comments.
diag() { sed 's/^/# /' "$@"; }

finish() {
	local status=$?
	if [ "${SB_TEST_KEEP:-}" = 1 ] && [ "$failed" != 0 ] && [ -n "$CT_PID1" ]; then
		echo "# kept: nsenter -t $CT_PID1 -a -r -w bash"
		echo "# then: kill -9 $CT_PID1; find $CT_CGROUP -depth -type d -exec rmdir {} +; rmdir $CT_DIR"
		exit 1
	fi
	ct_stop
	ct_unmount
	while [ "$n" -lt "$PLAN" ]; do
		tap 1 "not run (the test stopped early)"
	done
	[ "$failed" = 0 ] && [ "$status" = 0 ] && exit 0
	exit 1
}
trap finish EXIT
trap 'exit 1' INT TERM HUP

# Stop here: the rest cannot run.
bail() {
	echo "Bail out! $*"
	exit 1
}

# The clients are Python; install it the way make check installs the
# rest if this machine lacks it.
command -v python3 >/dev/null || sh "$top/.ci/deps.sh" python3 >&2
py=$(command -v python3) || bail "python3 is needed for the clients"
client() { ct_net timeout 60 "$py" "$here/client.py" "$@"; }

ct_sweep /tmp/switchboard-units
work=$(mktemp -d /tmp/switchboard-units.$$.XXXXXX) || bail "mktemp"

# --- install -------------------------------------------------------------

ct_overlay "$work" || bail "cannot mount an overlay of / on a tmpfs"
R=$CT_ROOT
out=$work/out	# on the tmpfs: gone with it
if make -C "$top" --no-print-directory install DESTDIR="$R" \
    >"$out" 2>&1; then
	tap 0 "make install DESTDIR=<overlay of />"
else
	diag "$out"
	tap 1 "make install DESTDIR=<overlay of />"
	bail "install failed"
fi

# What a package's scripts do: users, catalog, enable.  The boot target is
# the test's own: sysinit and sockets, not the host's services.
cat > "$R/etc/systemd/system/units-test.target" <<'EOF'
[Unit]
Description=Switchboard test system
Requires=sysinit.target sockets.target
After=sysinit.target sockets.target
EOF
sysusersdir=$(pkg-config --variable=sysusersdir systemd 2>/dev/null)
if { systemd-sysusers --root="$R" "$R${sysusersdir:-/usr/lib/sysusers.d}/switchboard.conf" &&
    journalctl --root="$R" --update-catalog &&
    systemctl --root="$R" enable switchboard.socket switchboard-policy.socket \
	switchboard-proxied.socket switchboard-tls.socket \
	switchboard-hub.socket switchboard-control.socket; } >"$out" 2>&1 &&
    grep -q '^switchboard:' "$R/etc/passwd" &&
    grep -q '^switchboard-hub:' "$R/etc/passwd" &&
    grep -q '^switchboard-admin:' "$R/etc/group"; then
	tap 0 "sysusers creates switchboard, switchboard-hub, switchboard-admin; sockets enabled"
else
	diag "$out"
	tap 1 "sysusers creates switchboard, switchboard-hub, switchboard-admin; sockets enabled"
fi

# A test CA and an ECDSA certificate for port 443, the key readable by
# the hub's group only (docs/tls.md).
tlsdir=$R/etc/switchboard/tls
if { mkdir -p "$tlsdir" &&
    openssl ecparam -name prime256v1 -genkey -noout -out "$work/ca.key" &&
    openssl req -x509 -new -key "$work/ca.key" -subj /CN=units-test-ca \
	-days 2 -out "$tlsdir/ca.pem" &&
    openssl ecparam -name prime256v1 -genkey -noout -out "$tlsdir/key.pem" &&
    openssl req -new -key "$tlsdir/key.pem" -subj /CN=127.0.0.1 \
	-out "$work/leaf.csr" &&
    printf 'subjectAltName=IP:127.0.0.1\n' >"$work/ext" &&
    openssl x509 -req -in "$work/leaf.csr" -CA "$tlsdir/ca.pem" \
	-CAkey "$work/ca.key" -CAcreateserial -days 2 -extfile "$work/ext" \
	-out "$tlsdir/cert.pem" &&
    chown "root:$(awk -F: '$1 == "switchboard-hub" { print $3 }' "$R/etc/group")" \
	"$tlsdir/key.pem" && chmod 0640 "$tlsdir/key.pem" &&
    printf 'tls_cert = /etc/switchboard/tls/cert.pem\ntls_key = /etc/switchboard/tls/key.pem\n' \
	>>"$R/etc/switchboard/switchboard.conf"; } >"$out" 2>&1; then
	tap 0 "a test certificate for port 443 in switchboard.conf (key 0640 root:switchboard-hub)"
else
	diag "$out"
	tap 1 "a test certificate for port 443 in switchboard.conf (key 0640 root:switchboard-hub)"
fi

# --- boot ----------------------------------------------------------------

t0=$(ct_now)
if ct_boot units-test.target; then
	tap 0 "systemd boots as PID 1 in namespaces ($(awk -v a="$t0" -v b="$(ct_now)" 'BEGIN { printf "%.1f s", b - a }'))"
else
	diag "$work/boot.log"
	[ -n "$CT_PID1" ] && ct_sh systemctl --failed --no-pager 2>&1 | diag
	tap 1 "systemd boots as PID 1 in namespaces"
	bail "no system to test"
fi

units="switchboard.socket switchboard-policy.socket switchboard-hub.socket
switchboard-control.socket switchboard-hub.service switchboard@.service
switchboard-policy@.service switchboard-proxied.socket
switchboard-proxied@.service switchboard-tls.socket switchboard-tls@.service"
# shellcheck disable=SC2086
if ct_sh systemd-analyze verify $units >"$out" 2>&1 && ! [ -s "$out" ]; then
	tap 0 "systemd-analyze verify is clean on the installed units"
else
	diag "$out"
	tap 1 "systemd-analyze verify is clean on the installed units"
fi

# Where make install put unit $1 (lib/ or usr/lib/, by the system).
installed_unit() {
	find "$R/lib/systemd/system" "$R/usr/lib/systemd/system" \
	    -name "$1" 2>/dev/null | head -1
}

# Every handler unit logs with --syslog to no stderr stream, and adds
# its own filter (--sandbox); the checks below run switchboard@ only.
bad=
for u in switchboard@ switchboard-policy@ switchboard-proxied@ switchboard-tls@; do
	f=$(installed_unit "$u.service")
	grep -q '^ExecStart=.*/switchboard-handler .*--syslog --sandbox$' "${f:-/dev/null}" &&
	    grep -q '^StandardError=null$' "$f" || bad="$bad $u.service"
done
if [ -z "$bad" ]; then
	tap 0 "every handler unit runs --syslog --sandbox with StandardError=null"
else
	echo "# not so in:$bad"
	tap 1 "every handler unit runs --syslog --sandbox with StandardError=null"
fi

sockets="switchboard.socket switchboard-policy.socket switchboard-proxied.socket
switchboard-tls.socket switchboard-hub.socket switchboard-control.socket"
# shellcheck disable=SC2086
if ct_sh systemctl is-active --quiet $sockets; then
	tap 0 "the six sockets listen after boot (enabled)"
else
	# shellcheck disable=SC2086
	ct_sh systemctl status --no-pager $sockets 2>&1 | diag
	tap 1 "the six sockets listen after boot (enabled)"
fi

perms=$(ct_sh stat -c '%n %U:%G %a' /run/switchboard /run/switchboard/hub.sock \
    /run/switchboard/control.sock 2>&1)
want="/run/switchboard root:root 755
/run/switchboard/hub.sock root:switchboard 660
/run/switchboard/control.sock root:switchboard-admin 660"
if [ "$perms" = "$want" ]; then
	tap 0 "hub.sock is root:switchboard 0660, control.sock root:switchboard-admin 0660"
else
	printf '%s\n' "$perms" | diag
	tap 1 "hub.sock is root:switchboard 0660, control.sock root:switchboard-admin 0660"
fi

# Who may connect to what, tried as each user inside the system.
try_connect() {	# USER PATH -> 0 if connect() succeeds
	ct_sh setpriv --reuid="$1" --regid="$1" --init-groups /usr/bin/python3 -c '
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
try:
    s.connect(sys.argv[1])
except OSError as e:
    print(e); sys.exit(1)
' "$2"
}
if try_connect switchboard /run/switchboard/hub.sock >"$out" 2>&1 &&
    ! try_connect nobody /run/switchboard/hub.sock >>"$out" 2>&1 &&
    ! try_connect switchboard /run/switchboard/control.sock >>"$out" 2>&1 &&
    ! try_connect switchboard-hub /run/switchboard/hub.sock >>"$out" 2>&1; then
	tap 0 "only handlers (and root) reach hub.sock; handlers cannot reach control.sock"
else
	diag "$out"
	tap 1 "only handlers (and root) reach hub.sock; handlers cannot reach control.sock"
fi

# --- Flash, HTTP, WebSocket ----------------------------------------------

for port in 843 80; do
	if client policy $port >"$out" 2>&1; then
		tap 0 "Flash policy request on port $port answers <cross-domain-policy> + NUL"
	else
		diag "$out"
		tap 1 "Flash policy request on port $port answers <cross-domain-policy> + NUL"
	fi
done

# While alice and bob are connected: each handler runs as "switchboard"
# in its own instance, with SCHED_BATCH (policy 3, field 41 of
# /proc/PID/stat) and its stderr on /dev/null (device 1:3), not a stream
# that journald would have to keep for it (--syslog); the hub as
# "switchboard-hub" with SCHED_OTHER (0).
cat > "$R/root/check-users" <<'EOF'
#!/bin/sh
set -e
policy() { cut -d' ' -f41 "/proc/$1/stat"; }
units=$(systemctl list-units --no-legend --plain --state=running 'switchboard@*' | awk '{ print $1 }')
[ "$(echo "$units" | grep -c .)" -ge 2 ]
for u in $units; do
	pid=$(systemctl show -P MainPID "$u")
	[ "$(stat -c %U /proc/$pid)" = switchboard ] || { echo "$u runs as $(stat -c %U /proc/$pid)"; exit 1; }
	[ "$(policy $pid)" = 3 ] || { echo "$u has scheduling policy $(policy $pid)"; exit 1; }
	err=$(stat -L -c '%F %t:%T' "/proc/$pid/fd/2")
	[ "$err" = "character special file 1:3" ] || { echo "$u has stderr on $err"; exit 1; }
done
pid=$(systemctl show -P MainPID switchboard-hub.service)
[ "$(stat -c %U /proc/$pid)" = switchboard-hub ] || { echo "hub runs as $(stat -c %U /proc/$pid)"; exit 1; }
[ "$(policy $pid)" = 0 ] || { echo "hub has scheduling policy $(policy $pid)"; exit 1; }
EOF
chmod 0755 "$R/root/check-users"
client chat --while "nsenter -t $CT_PID1 -a -r -w /root/check-users" >"$out" 2>&1
grep -q '^result login ok' "$out"; tap $? "Flash XMLSocket: IDENTIFY alice and IDENTIFY bob answer <identify/>"
grep -q '^result while ok' "$out"; tap $? "one handler instance per connection, as user switchboard, SCHED_BATCH, stderr on /dev/null; the hub as switchboard-hub"
grep -q '^result msg ok' "$out"; tap $? "MSG bob hi reaches bob as <msg aid=\"alice\" ... msg=\"hi\"/>"
grep -q '^result .* fail' "$out" && diag "$out"

# Handlers share one user, and the kernel lets a process signal any
# other of its user: the unit's allow-list has no kill() and its kind,
# and the handler adds a filter of its own (--sandbox; tests/unit/
# test_sandbox.c tries each call).  Its memory is another's only within
# one user namespace (PrivateUsers=yes gives each handler its own).
# Copies of switchboard@.service whose only change is what they run (the
# probe, static on musl as the handler is, which makes no call the
# handler does not but the one it tries: sandbox-probe.c) take a
# handler's pid: sigtest@ prints its count of seccomp filters (the
# handler, with its own, must have one more) and tries kill(pid, 0),
# which must be refused; sigctl@, whose list also allows kill(), must
# succeed, so the test fails if the sandbox refuses the signal for some
# other reason; memtest@ opens the handler's /proc/PID/environ, which
# must be refused (and its own must open).
handler_unit=$(installed_unit switchboard@.service)
probe=/usr/local/libexec/switchboard-test/sandbox-probe
mkdir -p "$R${probe%/*}"
musl-gcc -static -O2 -o "$R$probe" "$top/tests/systemd/sandbox-probe.c" ||
    echo "musl-gcc could not build tests/systemd/sandbox-probe.c" >&2
sig_unit() {
	sed -e 's/^Type=.*/Type=oneshot/' \
	    -e 's/^StandardInput=.*/StandardInput=null/' \
	    -e 's/^StandardOutput=.*/StandardOutput=journal/' \
	    -e '/^Requires=/d' -e '/^After=/d' -e '/^CollectMode=/d' \
	    "$@" "$handler_unit"
}
sig_unit -e "s|^ExecStart=.*|ExecStart=$probe kill %i|" \
    >"$R/etc/systemd/system/sigtest@.service"
sig_unit -e "s|^ExecStart=.*|ExecStart=$probe kill %i|" \
    -e 's/^SystemCallErrorNumber=.*/SystemCallFilter=kill\n&/' \
    >"$R/etc/systemd/system/sigctl@.service"
sig_unit -e "s|^ExecStart=.*|ExecStart=$probe environ %i|" \
    >"$R/etc/systemd/system/memtest@.service"
# The running handler unit started last (check-signals, check-lean).
cat > "$R/root/newest-handler" <<'EOF'
#!/bin/sh
systemctl list-units --no-legend --plain --state=running 'switchboard@*' |
    awk '{ print $1 }' | while read -r u; do
	echo "$(systemctl show -P ExecMainStartTimestampMonotonic "$u") $u"
    done | sort -n | awk 'END { print $2 }'
EOF
chmod 0755 "$R/root/newest-handler"
# The newest handler's filter as PID 1 applies it: an allow-list of
# exactly the calls of units/handler.syscalls and systemd's @default
# (the names PID 1 lists are those of this architecture), and so none of
# kill() and its kind, syslog(2), reboot, mount or ptrace.
lists=$top/units/handler.syscalls
[ "$(cat "$top/build/handler-libc" 2>/dev/null)" != glibc ] ||
    lists="$lists $top/units/handler-glibc.syscalls"
# shellcheck disable=SC2086 # two paths without blanks
sed -e 's/#.*//' $lists | tr -s ' \t\n' '\n' |
    sed '/^$/d' >"$R/root/handler.syscalls"
cat > "$R/root/check-filter" <<'EOF'
#!/bin/sh
u=$(/root/newest-handler)
[ -n "$u" ] || { echo "no running handler"; exit 1; }
f=" $(systemctl show -P SystemCallFilter "$u") "
case $f in
" ~"*) echo "$u: its filter is a deny-list"; exit 1 ;;
esac
while read -r c; do
	case $f in *" $c "*) ;; *) echo "$u: $c is not allowed"; exit 1 ;; esac
done </root/handler.syscalls
d=$(systemd-analyze syscall-filter --no-pager @default | sed -n 's/^    \([a-z0-9_]*\)$/\1/p')
[ -n "$d" ] || { echo "systemd-analyze did not list @default"; exit 1; }
for c in $f; do
	grep -qx "$c" /root/handler.syscalls || echo "$d" | grep -qx "$c" ||
	    { echo "$u: $c is allowed, but neither in units/handler.syscalls nor in @default"; exit 1; }
done
for c in kill rt_sigqueueinfo rt_tgsigqueueinfo pidfd_send_signal syslog reboot mount ptrace; do
	case $f in *" $c "*) echo "$u: $c is allowed"; exit 1 ;; esac
done
EOF
chmod 0755 "$R/root/check-filter"
cat > "$R/root/check-signals" <<'EOF'
#!/bin/sh
# the newest handler: one of an earlier client may be on its way out
u=$(/root/newest-handler)
pid=$(systemctl show -P MainPID "$u")
[ "${pid:-0}" -gt 0 ] || { echo "no running handler"; exit 1; }
systemctl daemon-reload
systemctl start "sigctl@$pid.service" || { echo "kill(pid, 0) of $pid fails even with kill() allowed"; exit 1; }
if systemctl start "sigtest@$pid.service" 2>/dev/null; then
	echo "kill(pid, 0) of $pid ($u) succeeded in a handler's sandbox"; exit 1
fi
r=$(systemctl show -P Result "sigtest@$pid.service") st=$(systemctl show -P ExecMainStatus "sigtest@$pid.service")
[ "$r $st" = "exit-code 1" ] || { echo "sigtest@ failed, but not as a refused kill(): $r, status $st"; exit 1; }
if systemctl start "memtest@$pid.service" 2>/dev/null; then
	echo "/proc/$pid/environ ($u) was opened in a handler's sandbox"; exit 1
fi
r=$(systemctl show -P Result "memtest@$pid.service") st=$(systemctl show -P ExecMainStatus "memtest@$pid.service")
[ "$r $st" = "exit-code 1" ] || { echo "memtest@ failed, but not as a refused open: $r, status $st"; exit 1; }
kill -0 "$pid" || { echo "the handler $pid is gone"; exit 1; }
unit_n= i=0
while [ -z "$unit_n" ] && [ $i -lt 100 ]; do
	unit_n=$(journalctl -q -o cat -u "sigtest@$pid.service" | awk '/^Seccomp_filters:/ { print $2 }')
	[ -n "$unit_n" ] || sleep 0.1
	i=$((i + 1))
done
own_n=$(awk '/^Seccomp_filters:/ { print $2 }' "/proc/$pid/status")
[ -n "$unit_n" ] && [ "$own_n" = $((unit_n + 1)) ] ||
    { echo "seccomp filters: the handler $own_n, its unit ${unit_n:-?}: not one more (--sandbox)"; exit 1; }
EOF
chmod 0755 "$R/root/check-signals"
client chat --while "nsenter -t $CT_PID1 -a -r -w sh -c '/root/check-filter && /root/check-signals'" >"$out" 2>&1
if grep -q '^result while ok' "$out"; then
	tap 0 "a handler's filter is the allow-list of units/handler.syscalls, without kill(); a process in its sandbox can neither signal another handler (refused; allowed with kill() in the list) nor open its /proc/PID/environ; the handler runs under its own filter too (--sandbox)"
else
	diag "$out"
	tap 1 "a handler's filter is the allow-list of units/handler.syscalls, without kill(); a process in its sandbox can neither signal another handler (refused; allowed with kill() in the list) nor open its /proc/PID/environ; the handler runs under its own filter too (--sandbox)"
fi

# units/lean-spawn.conf, the opt-in cheaper sandbox, applied as
# docs/deployment.md says (to switchboard@ and to the copies sigtest@ and
# sigctl@): alice's and bob's handlers chat under it; their unit keeps
# the handler's allow-list (check-filter) and a process in that sandbox
# still cannot signal another handler (check-signals again).  Then the
# drop-ins go.
lean=
for d in usr/local/share usr/share; do
	[ -f "$R/$d/doc/switchboard/examples/lean-spawn.conf" ] &&
	    lean=$R/$d/doc/switchboard/examples/lean-spawn.conf && break
done
cat > "$R/root/check-lean" <<'EOF'
#!/bin/sh
set -e
u=$(/root/newest-handler)
[ -n "$u" ] || { echo "no running handler"; exit 1; }
[ "$(systemctl show -P ProtectHostname "$u")" = no ] ||
    { echo "$u: ProtectHostname is not no: the drop-in is not applied"; exit 1; }
EOF
chmod 0755 "$R/root/check-lean"
if [ -n "$lean" ]; then
	for u in switchboard@ sigtest@ sigctl@; do
		mkdir -p "$R/etc/systemd/system/$u.service.d"
		cp "$lean" "$R/etc/systemd/system/$u.service.d/"
	done
	ct_sh systemctl daemon-reload
	client chat --while "nsenter -t $CT_PID1 -a -r -w sh -c '/root/check-lean && /root/check-filter && /root/check-signals'" >"$out" 2>&1
	rm -rf "$R/etc/systemd/system/switchboard@.service.d" \
	    "$R/etc/systemd/system/sigtest@.service.d" \
	    "$R/etc/systemd/system/sigctl@.service.d"
	ct_sh systemctl daemon-reload
else
	echo "result install fail: no lean-spawn.conf among the installed examples" >"$out"
fi
# the probe is the test's, not the install's (make uninstall, below)
rm -rf "$R${probe%/*}"
if grep -q '^result login ok' "$out" && grep -q '^result while ok' "$out" &&
    grep -q '^result msg ok' "$out"; then
	tap 0 "with units/lean-spawn.conf: handlers chat; their filter is still the handler's allow-list; a process in that sandbox cannot signal another handler"
else
	diag "$out"
	tap 1 "with units/lean-spawn.conf: handlers chat; their filter is still the handler's allow-list; a process in that sandbox cannot signal another handler"
fi

if client status >"$out" 2>&1; then
	tap 0 "GET /server-status answers OK"
else
	diag "$out"
	tap 1 "GET /server-status answers OK"
fi

client websocket >"$out" 2>&1
grep -q '^result handshake ok' "$out"; tap $? "WebSocket upgrade on /chat answers 101 with the right accept key"
grep -q '^result wsjoin ok' "$out"; tap $? "a WebSocket client logs in (welcome) and joins lobby"
grep -q '^result wsmsg ok' "$out"; tap $? "its message reaches a Flash XMLSocket client as <msg aid=\"dave\" .../>"
grep -q '^result .* fail' "$out" && diag "$out"

journal_has() { [ -n "$(ct_sh journalctl --no-pager -q -o cat "$@" 2>/dev/null)" ]; }

# Behind a proxy: a PROXY v2 header on 8081 names the client, and the
# journal has that address, not the proxy's.
client proxied >"$out" 2>&1
grep -q '^result proxied ok' "$out"; tap $? "behind a proxy: a PROXY v2 header on 8081, then chat (switchboard-proxied@.service)"
grep -q '^result .* fail' "$out" && diag "$out"
if ct_until 10 journal_has SWITCHBOARD_EVENT=login SWITCHBOARD_NICK=frank \
    SWITCHBOARD_REMOTE=192.0.2.7:4321; then
	tap 0 "the journal has the proxied client's address (SWITCHBOARD_REMOTE=192.0.2.7:4321)"
else
	ct_sh journalctl --no-pager -q -o verbose SWITCHBOARD_NICK=frank 2>&1 | tail -40 | diag
	tap 1 "the journal has the proxied client's address (SWITCHBOARD_REMOTE=192.0.2.7:4321)"
fi

# TLS on 443: XMLSocket and an https GET, trusting the test CA only; the
# handler (switchboard-tls@.service) holds no key, the hub signs.
client tls "$tlsdir/ca.pem" >"$out" 2>&1 || {
	diag "$out"
	ct_sh journalctl --no-pager -q -n 20 -u 'switchboard-tls@*' -u switchboard-hub 2>&1 | diag
}
grep -q '^result tlschat ok' "$out"; tap $? "TLS on 443: henry chats with ivy on 80 (switchboard-tls@.service)"
grep -q '^result https ok' "$out"; tap $? "TLS on 443: GET /server-status over https answers OK"

# --- systemctl and journalctl --------------------------------------------

ct_sh systemctl status --no-pager switchboard.socket >"$out" 2>&1
accepted=$(sed -n 's/.*Accepted: \([0-9]*\);.*/\1/p' "$out")
# policy on 80, alice, bob, status, erin, dave
if [ "${accepted:-0}" -ge 6 ]; then
	tap 0 "systemctl status switchboard.socket counts the connections (Accepted: $accepted)"
else
	diag "$out"
	tap 1 "systemctl status switchboard.socket counts the connections"
fi


if ct_until 10 journal_has SWITCHBOARD_EVENT=login SWITCHBOARD_NICK=alice; then
	tap 0 "journalctl SWITCHBOARD_EVENT=login SWITCHBOARD_NICK=alice finds the login"
else
	ct_sh journalctl --no-pager -n 30 -o verbose SYSLOG_IDENTIFIER=switchboard-hub 2>&1 | tail -60 | diag
	tap 1 "journalctl SWITCHBOARD_EVENT=login SWITCHBOARD_NICK=alice finds the login"
fi

if ct_sh journalctl --no-pager -x -q SWITCHBOARD_EVENT=login SWITCHBOARD_NICK=alice \
    >"$out" 2>&1 && grep -q 'Subject: Switchboard user alice logged in' "$out"; then
	tap 0 "journalctl -x explains the login from the installed catalog"
else
	diag "$out"
	tap 1 "journalctl -x explains the login from the installed catalog"
fi

if journal_has -u 'switchboard@*'; then
	tap 0 "journalctl -u 'switchboard@*' shows the handler instances"
else
	tap 1 "journalctl -u 'switchboard@*' shows the handler instances"
fi

# Chat is private by default: no event per message (log_messages = no),
# so no text.  dave's quit came after his message: once it is in the
# journal, a message event would be too.
if ct_until 10 journal_has SWITCHBOARD_EVENT=quit SWITCHBOARD_NICK=dave &&
    ! journal_has SWITCHBOARD_EVENT=message; then
	tap 0 "messages are not logged by default (log_messages = no)"
else
	ct_sh journalctl --no-pager -q -o verbose SWITCHBOARD_EVENT=message 2>&1 | diag
	tap 1 "messages are not logged by default (log_messages = no)"
fi

# Transcript mode, switched on by a reload.
echo "transcript = yes" >> "$R/etc/switchboard/switchboard.conf"
if ct_sh systemctl reload switchboard-hub.service >"$out" 2>&1 &&
    ct_until 10 journal_has SWITCHBOARD_EVENT=reload; then
	tap 0 "systemctl reload switchboard-hub: the hub logs SWITCHBOARD_EVENT=reload"
else
	diag "$out"
	tap 1 "systemctl reload switchboard-hub: the hub logs SWITCHBOARD_EVENT=reload"
fi

transcript_has() {
	ct_sh journalctl --no-pager -q SWITCHBOARD_ROOM=lobby -o cat 2>/dev/null |
	    grep -qx 'carol: hello lobby'
}
if client say lobby "hello lobby" >"$out" 2>&1 && ct_until 10 transcript_has; then
	tap 0 "transcript = yes: journalctl SWITCHBOARD_ROOM=lobby -o cat reads 'carol: hello lobby'"
else
	diag "$out"
	ct_sh journalctl --no-pager -q SWITCHBOARD_ROOM=lobby -o cat 2>&1 | diag
	tap 1 "transcript = yes: journalctl SWITCHBOARD_ROOM=lobby -o cat reads 'carol: hello lobby'"
fi

# --- switchboardctl ------------------------------------------------------

# Root and members of switchboard-admin may use the control socket; the
# handlers' user may not.
if ct_sh sh -c 'command -v switchboardctl' >/dev/null 2>&1; then
	ct_sh useradd -M -N -G switchboard-admin sbtest-operator >"$out" 2>&1
	if ct_sh switchboardctl status >>"$out" 2>&1 &&
	    ct_sh setpriv --reuid=sbtest-operator --regid=users --init-groups \
		switchboardctl status >>"$out" 2>&1; then
		tap 0 "switchboardctl status works for root and for a member of switchboard-admin"
	else
		diag "$out"
		tap 1 "switchboardctl status works for root and for a member of switchboard-admin"
	fi
	if ! ct_sh setpriv --reuid=switchboard --regid=switchboard --init-groups \
	    switchboardctl status >"$out" 2>&1; then
		tap 0 "switchboardctl is refused to the handlers' user"
	else
		diag "$out"
		tap 1 "switchboardctl is refused to the handlers' user"
	fi
else
	tap 0 "switchboardctl status works for root and for a member of switchboard-admin" \
	    "SKIP switchboardctl is not built yet"
	tap 0 "switchboardctl is refused to the handlers' user" \
	    "SKIP switchboardctl is not built yet"
fi

# --- a burst of connections ----------------------------------------------

# systemd 252 fails an Accept=yes socket after 200 triggers in 2 s unless
# the trigger limit is changed; switchboard.socket turns it off.
# Beyond MaxConnectionsPerSource= (256) systemd closes a connection at
# once; the rest are served.
client flood 300 1.0 >"$out" 2>&1
flood_status=$?
diag "$out"
served=$(sed -n 's/.*, \([0-9]*\) policy replies/\1/p' "$out")
state=$(ct_sh systemctl is-failed switchboard.socket 2>&1)
if [ "$flood_status" = 0 ] && [ "$state" = active ] &&
    ct_sh systemctl is-active --quiet switchboard.socket &&
    [ "${served:-0}" -ge 200 ] && client policy 80 >"$out" 2>&1; then
	tap 0 "300 connections in one second: switchboard.socket not failed, still serving ($served answered)"
else
	echo "# is-failed: $state"
	ct_sh journalctl --no-pager -q -n 20 -u switchboard.socket 2>&1 | diag
	tap 1 "300 connections in one second: switchboard.socket not failed, still serving"
fi

# --- hub restart ---------------------------------------------------------

client chat --restart "nsenter -t $CT_PID1 -a -r -w systemctl restart switchboard-hub.service" \
    >"$out" 2>&1
# Handlers that outlive the hub hold their client's messages (backlog_max)
# and register again.  Until handler/ implements that, a failure here is
# the feature missing, not a regression: skip, and say so.
if grep -q '^result restart ok' "$out"; then
	tap 0 "systemctl restart switchboard-hub: alice and bob stay connected and chat on"
elif grep -q '^result msg ok' "$out" &&
    ! grep -qs backlog_max "$top"/handler/*.c; then
	diag "$out"
	tap 0 "systemctl restart switchboard-hub: alice and bob stay connected and chat on" \
	    "SKIP handlers do not re-register with a restarted hub yet (no backlog_max in handler/)"
else
	diag "$out"
	tap 1 "systemctl restart switchboard-hub: alice and bob stay connected and chat on"
fi
if ct_sh systemctl is-active --quiet switchboard-hub.service switchboard-hub.socket &&
    ct_sh test -S /run/switchboard/hub.sock; then
	tap 0 "after the restart the hub is active and hub.sock is still there"
else
	ct_sh systemctl status --no-pager switchboard-hub.service 2>&1 | diag
	tap 1 "after the restart the hub is active and hub.sock is still there"
fi

# The restart made alice's handler say that it got the hub back.  A
# handler's own lines go to syslog(3) (--syslog, StandardError=null), and
# journald files them under the instance that sent them, with the
# identifier switchboard-handler.
handler_said() {
	ct_sh journalctl --no-pager -q -o cat "$@" 2>/dev/null |
	    grep -q 'reconnected to the hub for alice'
}
if ct_until 10 handler_said -u 'switchboard@*' &&
    handler_said SYSLOG_IDENTIFIER=switchboard-handler; then
	tap 0 "a handler's own line is in the journal under its instance (journalctl -u 'switchboard@*')"
else
	ct_sh journalctl --no-pager -q -n 30 -o verbose SYSLOG_IDENTIFIER=switchboard-handler 2>&1 | diag
	tap 1 "a handler's own line is in the journal under its instance (journalctl -u 'switchboard@*')"
fi

# No unit of ours may have failed on the way.
failed_units=$(ct_sh systemctl list-units --failed --no-legend --plain 'switchboard*' 2>&1)
if [ -z "$failed_units" ]; then
	tap 0 "no switchboard unit failed"
else
	printf '%s\n' "$failed_units" | diag
	tap 1 "no switchboard unit failed"
fi

# --- uninstall -----------------------------------------------------------

[ "${SB_TEST_KEEP:-}" = 1 ] && [ "$failed" != 0 ] && exit 1
ct_stop
# The config was edited above (transcript), so it stays; nothing else.
if make -C "$top" --no-print-directory uninstall DESTDIR="$R" >"$out" 2>&1 &&
    left=$(cd "$R" && find etc usr lib -name 'switchboard*' 2>/dev/null | sort) &&
    [ "$left" = "etc/switchboard
etc/switchboard/switchboard.conf" ]; then
	tap 0 "make uninstall DESTDIR= removes every installed file but the edited config"
else
	diag "$out"
	printf '%s\n' "${left:-}" | diag
	tap 1 "make uninstall DESTDIR= removes every installed file but the edited config"
fi
