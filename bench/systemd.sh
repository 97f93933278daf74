#!/bin/bash
# SPDX-License-Identifier: ISC
# bench/systemd.sh: the `systemd` figure of make bench (issue 18, "churn
# and memory as deployed"): Switchboard's handlers spawned by a real
# systemd as PID 1, one unit per connection with the shipped, hardened
# switchboard@.service, beside websocketd run as a service of the same
# systemd (spawning bench/echo per connection itself, as in the other
# figures) and beside the bench's usual spawner, systemd-socket-activate,
# run as a service there too.  This is the figure a site gets.
#
# It boots /lib/systemd/systemd as PID 1 of private namespaces on an
# overlay of / (tests/systemd/lib.sh, the harness of the real-systemd
# test), installs Switchboard into it with "make install DESTDIR=" (then
# the run's copies of the hub and the handler over it), enables the
# shipped sockets and adds the bench's units, and measures from inside
# its network namespace:
#
#   sdchurn   handshake + close, SD_CHURN times, 8 at a time: connections/s
#             and handshake p50/p95/p99, srv=sd (switchboard.socket,
#             port 80), wsd (websocketd.service) and sa
#             (systemd-socket-activate.service), taking turns at going first
#   sdmem     idle connections in steps (SD_STEPS); at each step the PSS of
#             the handlers (their slice), the hub, PID 1 and journald, or
#             of websocketd and its echo children, and /proc/meminfo's
#             kernel fields (KernelStack, PageTables, slab, per-CPU)
#   sdablate  what each hardening setting of switchboard@.service costs per
#             spawn: the shipped unit (port 80) and a copy without that
#             setting (sbvar@.service, port 81), churn pairs back to back,
#             with the copy's `systemd-analyze security` exposure
#   sdbcast   broadcast at SD_BCAST_N, 50 msg/s: handlers as units (sd)
#             against the same handlers under systemd-socket-activate (sa),
#             one hub; and sa's handlers each given a session (sass) or a
#             cgroup (sacg) of their own, as a unit's are
#
# Output: RESULT, MEM and SPEED lines on stdout (bench/run.sh appends
# them to results.txt; bench/sdreport.mjs turns them into the report's
# section), progress on stderr; "SKIP systemd: why" when it cannot run
# (not root, no namespaces).  Everything it mounts is in a mount
# namespace of its own and goes with it; PID 1 is killed by its PID at the
# end, on failure and on a signal (the pid namespace takes every process
# in it along); stale leftovers of a SIGKILLed run are swept at the start.
#
# Environment (bench/run.sh sets them from BENCH_QUICK and BENCH_RUNS):
#   B               build/bench: wsload, spawncost, nolibc, echo, listen-exec
#   SD_HUB SD_HANDLER  the programs to measure (default: build/)
#   SD_FIGS         sdchurn,sdmem,sdablate,sdbcast (default: all four)
#   SD_RUNS         churn and memory rounds (3)
#   SD_CHURN        connections per churn turn (500)
#   SD_STEPS        memory steps (0,250,500,1000)
#   SD_MEM_VARIANTS variants whose memory is measured beside the shipped
#                   unit's (bare namespaces PrivateNetwork), SD_MEM_RUNS
#                   pairs each (2)
#   SD_ABLATE       which variants (default: every one, VARIANTS below)
#   SD_EXTRA_VARIANTS  more, "name:Key1,Key2,..." (a candidate set), then
#                   named in SD_ABLATE or SD_MEM_VARIANTS
#   SD_ABLATE_RUNS  pairs per variant (2)
#   SD_ABLATE_CHURN connections per turn of a pair (100)
#   SD_BCAST_N      broadcast clients (1000), SD_BCAST_SECS (10)
#   SD_BCAST_SERVERS  which servers the broadcast measures, of sd sdcg sa
#                   sah sass sacg saf sdg (default: sd sa sass sacg sdg;
#                   sdcg and sdg need a cgroup v1 cpu hierarchy)
#   SD_BCAST_VARIANT  and var, as this variant of the unit (none)
#   SD_DEADLINE     seconds; no new measurement starts after it (2400)
# shellcheck disable=SC2317 # functions called through ct_until and trap
# The whole script is one compound command, read before it runs: editing
# the file during a run (of an hour) changes nothing in that run.
{
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
B=${B:-$top/build/bench}
say() { printf '[systemd %s] %s\n' "$(date +%T)" "$*" >&2; }
skip() { echo "SKIP systemd: $*"; say "skipped: $*"; exit 0; }

# The measurement of one step of the memory figure, run by wsload hold
# --at-step (bench/wsload.c) while the step's connections are open:
#   systemd.sh memprobe TAG NAME=CGROUP-DIR... [pid1=PID]
# prints "MEM TAG conns=N NAME_pss_kib= NAME_n= ... total_pss_kib=" and
# the kernel's fields of /proc/meminfo, in KiB; for PID 1 and journald
# also NAME_heap_kib=, the bytes their malloc holds in use.  PSS shows
# only what a heap grew by, and a heap keeps what it once held: a PID 1
# that had held 1000 units before holds 1000 more in the same pages.
if [ "${1:-}" = memprobe ]; then
	# The heap in use of process $1, KiB (glibc's malloc_stats(): "in
	# use bytes", mmap included), or nothing: gdb stops the process for
	# a moment and has it write malloc_stats() into a file of its own
	# /run, read here through /proc (its root is the container's).
	heap_kib() {	# pid
		local f=/run/sbbench-heap.$$ g v
		command -v gdb >/dev/null || return 0
		g=$(mktemp) || return 0
		cat >"$g" <<-EOF
		set \$s = (int)dup(2)
		set \$fd = (int)open("$f", 01101, 0600)
		if \$fd >= 0 && \$s >= 0
		  call (int)dup2(\$fd, 2)
		  call (void)malloc_stats()
		  call (int)dup2(\$s, 2)
		end
		if \$fd >= 0
		  call (int)close(\$fd)
		end
		if \$s >= 0
		  call (int)close(\$s)
		end
		EOF
		# No symbols to fetch; a gdb that hangs is ended, and one
		# ended during a call would leave the process mid-call: the
		# time given is far beyond the half second it takes.
		timeout -k 10 120 gdb -iex 'set debuginfod enabled off' \
		    -p "$1" -batch -nx -x "$g" >/dev/null 2>&1
		rm -f "$g"
		v=$(awk '/in use bytes/ { v = $NF }
		    END { if (v != "") printf "%.1f", v / 1024 }' \
		    "/proc/$1/root$f" 2>/dev/null)
		rm -f "/proc/$1/root$f"
		echo "$v"
	}
	tag=$2
	shift 2
	line="MEM $tag conns=${WSLOAD_CONNS:-0}"
	total=0
	for a in "$@"; do
		name=${a%%=*} what=${a#*=}
		case $name in
		pid1) pids=$what ;;
		*) pids=$(find "$what" -name cgroup.procs -exec cat {} + 2>/dev/null) ;;
		esac
		read -r pss n < <(for p in $pids; do
			awk '/^Pss:/ { print $2 }' "/proc/$p/smaps_rollup" 2>/dev/null
		done | awk '{ s += $1; n++ } END { print s + 0, n + 0 }')
		line+=" ${name}_pss_kib=$pss ${name}_n=$n"
		total=$((total + pss))
		case $name in
		pid1|journald)
			[ "$n" = 1 ] && h=$(heap_kib "$pids") && [ -n "$h" ] &&
			    line+=" ${name}_heap_kib=$h" ;;
		esac
	done
	line+=" total_pss_kib=$total"
	line+=$(awk '
	    /^(MemFree|MemAvailable|KernelStack|PageTables|SReclaimable|SUnreclaim|Percpu|VmallocUsed):/ {
		printf " %s_kib=%s", tolower($1), $2 }' /proc/meminfo | tr -d :)
	echo "$line"
	exit 0
fi

if [ "${SB_SDBENCH_NS:-}" != 1 ]; then
	[ "$(id -u)" = 0 ] || skip "needs root (namespaces and an overlay of /)"
	command -v gdb >/dev/null ||
	    say "no gdb: the memory figures go without PID 1's and journald's heap in use (make bench-deps)"
	for c in unshare nsenter systemd-analyze; do
		command -v $c >/dev/null || skip "$c missing"
	done
	[ -x /lib/systemd/systemd ] || skip "no /lib/systemd/systemd"
	err=$(unshare --pid --fork --mount --uts --ipc --net --cgroup true 2>&1) ||
	    skip "cannot create namespaces here: $err"
	for f in wsload spawncost nolibc echo listen-exec; do
		[ -x "$B/$f" ] || skip "$B/$f missing (make bench-tools)"
	done
	command -v websocketd >/dev/null ||
	    echo "SKIP systemd websocketd: not installed (make bench-deps)"
	# Every mount below dies with this mount namespace.
	SB_SDBENCH_NS=1 exec unshare --mount --propagation private \
	    bash "$0" "$@"
fi

# shellcheck source=tests/systemd/lib.sh
. "$top/tests/systemd/lib.sh"
# shellcheck source=bench/lib.sh
. "$top/bench/lib.sh"

FIGS=${SD_FIGS:-sdchurn,sdmem,sdablate,sdbcast}
RUNS=${SD_RUNS:-3}
CHURN=${SD_CHURN:-500}
STEPS=${SD_STEPS:-0,250,500,1000}
MRUNS=${SD_MEM_RUNS:-2}
ARUNS=${SD_ABLATE_RUNS:-2}
ACHURN=${SD_ABLATE_CHURN:-100}
BN=${SD_BCAST_N:-1000}
BSECS=${SD_BCAST_SECS:-10}
DEADLINE=$(($(date +%s) + ${SD_DEADLINE:-2400}))
want() { [[ ",$FIGS," == *",$1,"* ]]; }
in_time() { [ "$(date +%s)" -lt "$DEADLINE" ]; }
WSD=0
command -v websocketd >/dev/null && WSD=1

# The ports inside the system's network namespace.
P_SD=80 P_VAR=81 P_WSD=8020 P_SA=8030 P_SAH=8040 P_SASS=8050 P_SACG=8060 P_SAF=8070

# The hardening settings of switchboard@.service, one variant each: the
# unit without that key (every line of SystemCallFilter=, with
# SystemCallErrorNumber=, which means nothing alone; the handler's own
# filter, --sandbox in ExecStart=, stays in every variant).  The limits
# (MemoryMax=, TasksMax=) are not among them: a cgroup controller is
# needed for them, and on a host whose controllers are all bound to
# cgroup v1 the container's systemd has none (bench/analysis.md).  Then
# groups: what a setting costs can hide behind another that needs the
# same kernel object (a mount namespace is made once for all the
# settings that need one).
SINGLE="CapabilityBoundingSet AmbientCapabilities NoNewPrivileges
PrivateNetwork IPAddressDeny RestrictAddressFamilies PrivateUsers PrivateTmp
PrivateDevices PrivateIPC PrivateMounts DevicePolicy ProtectSystem ProtectHome
ProtectProc ProcSubset ProtectKernelTunables ProtectKernelModules
ProtectKernelLogs ProtectControlGroups ProtectClock ProtectHostname
RestrictNamespaces RestrictRealtime RestrictSUIDSGID LockPersonality
MemoryDenyWriteExecute RemoveIPC KeyringMode UMask SystemCallArchitectures
SystemCallFilter"
# name:keys removed together.  mountns: every key that needs a mount
# namespace (systemd makes one for them all); namespaces: those and the
# other namespaces (network, user, UTS); seccomp: every key that only adds
# to the seccomp filter; bpf: the cgroup BPF programs (IP firewall,
# device policy); bare: every key above.
GROUPS_="mountns:PrivateTmp,PrivateDevices,PrivateMounts,PrivateIPC,ProtectSystem,ProtectHome,ProtectProc,ProcSubset,ProtectKernelTunables,ProtectKernelModules,ProtectKernelLogs,ProtectControlGroups
namespaces:PrivateTmp,PrivateDevices,PrivateMounts,PrivateIPC,ProtectSystem,ProtectHome,ProtectProc,ProcSubset,ProtectKernelTunables,ProtectKernelModules,ProtectKernelLogs,ProtectControlGroups,PrivateNetwork,PrivateUsers,ProtectHostname
seccomp:SystemCallFilter,SystemCallArchitectures,RestrictAddressFamilies,RestrictNamespaces,RestrictRealtime,RestrictSUIDSGID,LockPersonality,MemoryDenyWriteExecute
bpf:IPAddressDeny,DevicePolicy
bare:$(echo "$SINGLE" | paste -sd' ' | tr ' ' ,)
denylist:SystemCallFilter
denysmall:SystemCallFilter
sysservice:SystemCallFilter
nodeps:
leanspawn:"
# What a variant adds to the unit: ADD_name, a line each, "Section
# Key=value" (Section: Unit or Service).  denylist: the system call
# filter as the deny-lists alone, without the allow-list @system-service
# (PID 1 holds a unit's filter as a table of its calls: 7.5 KiB per live
# unit); nodeps: no default dependencies (on sysinit.target and
# basic.target: two entries fewer per unit in PID 1's tables), stopped
# at shutdown all the same.  leanspawn: the shipped unit with the drop-in
# units/lean-spawn.conf, as a site applies it (sbvar@.service.d/).
# shellcheck disable=SC2034 # read as ${!add} in variant_use
ADD_denylist="Service SystemCallFilter=~@privileged @resources @mount @debug @cpu-emulation @obsolete @raw-io @reboot @swap @module @clock
Service SystemCallFilter=~kill rt_sigqueueinfo rt_tgsigqueueinfo pidfd_send_signal
Service SystemCallErrorNumber=EPERM"
# denysmall: the deny-lists without @resources, @obsolete and
# @cpu-emulation (74 calls against 118; exposure 0.4): how much of PID
# 1's heap per unit does a shorter list save?
# shellcheck disable=SC2034
ADD_denysmall="Service SystemCallFilter=~@privileged @mount @debug @raw-io @reboot @swap @module @clock
Service SystemCallFilter=~kill rt_sigqueueinfo rt_tgsigqueueinfo pidfd_send_signal
Service SystemCallErrorNumber=EPERM"
# sysservice: the filter the units had before units/handler.syscalls,
# the allow-list @system-service less the groups systemd-analyze security
# checks and kill() and its kind (twenty-fifth session).
# shellcheck disable=SC2034
ADD_sysservice="Service SystemCallFilter=@system-service
Service SystemCallFilter=~@privileged @resources @mount @debug @cpu-emulation @obsolete @raw-io @reboot @swap @module @clock
Service SystemCallFilter=~kill rt_sigqueueinfo rt_tgsigqueueinfo pidfd_send_signal
Service SystemCallErrorNumber=EPERM"
# shellcheck disable=SC2034
ADD_nodeps="Unit DefaultDependencies=no
Unit Conflicts=shutdown.target
Unit Before=shutdown.target"
variant_keys() {	# name -> the keys it removes, one a line
	local g keys=$1
	for g in $GROUPS_ ${SD_EXTRA_VARIANTS:-}; do
		[ "${g%%:*}" = "$1" ] && keys=${g#*:}
	done
	echo "$keys" | tr , '\n'
	[[ ",$keys," == *,SystemCallFilter,* ]] && echo SystemCallErrorNumber
}
if [ -n "${SD_ABLATE:-}" ]; then
	VARIANTS=${SD_ABLATE//,/ }
else
	# the groups first: if the deadline comes, singles are what is lost
	VARIANTS="bare namespaces mountns seccomp bpf $SINGLE"
fi

# The cgroups of the cpu controller's emulation (sdbcast, below), once
# PID 1 and its processes are gone.
CPUCG=''
UG=''
cpucg_rmdir() {
	local d
	for d in "$CPUCG/rest" "$CPUCG/hub" "$CPUCG"; do
		[ ! -d "$d" ] || rmdir "$d" 2>/dev/null || return 1
	done
}
cpucg_remove() {
	[ -n "$CPUCG" ] || return 0
	ct_until 10 cpucg_rmdir || say "warning: could not remove $CPUCG"
}
finish() {
	trap - EXIT INT TERM HUP
	ct_stop
	cpucg_remove
	[ -z "$UG" ] || ct_until 10 rmdir "$UG" || say "warning: could not remove $UG"
	ct_unmount
}
trap finish EXIT
trap 'exit 1' INT TERM HUP

ct_sweep /tmp/sb-sdbench
# and the v1 cpu groups of sdcg and sdg that such a run left (empty ones)
for d in /sys/fs/cgroup/cpu/sbbench.* /sys/fs/cgroup/cpu/sbbench-ug.*; do
	[ -d "$d" ] && [ ! -d "/proc/${d##*.}" ] || continue
	find "$d" -depth -type d -exec rmdir {} + 2>/dev/null
done
work=$(mktemp -d /tmp/sb-sdbench.$$.XXXXXX) || exit 1
ct_overlay "$work" || { say "cannot mount an overlay of / on a tmpfs"; exit 1; }
R=$CT_ROOT
log=$work/log	# on the tmpfs: gone with it

# --- install --------------------------------------------------------------

say "make install DESTDIR=<overlay of />"
if ! make -C "$top" --no-print-directory -s install DESTDIR="$R" >"$log" 2>&1; then
	cat "$log" >&2
	exit 1
fi
unitdir=$(dirname "$(find "$R/lib/systemd/system" "$R/usr/lib/systemd/system" \
    -name 'switchboard@.service' 2>/dev/null | head -1)")
sbin=$(sed -n 's|^ExecStart=\(.*\)/switchboard-handler\( .*\)\{0,1\}$|\1|p' \
    "$unitdir/switchboard@.service")
[ -n "$sbin" ] || { say "no ExecStart= in $unitdir/switchboard@.service"; exit 1; }
install -m 0755 "${SD_HUB:-$top/build/switchboard-hub}" "$R$sbin/switchboard-hub" &&
install -m 0755 "${SD_HANDLER:-$top/build/switchboard-handler}" "$R$sbin/switchboard-handler" &&
install -d "$R/usr/local/lib/sbbench" &&
install -m 0755 "$B/echo" "$B/listen-exec" "$R/usr/local/lib/sbbench/" || exit 1
sysusersdir=$(pkg-config --variable=sysusersdir systemd 2>/dev/null)
if ! { systemd-sysusers --root="$R" "$R${sysusersdir:-/usr/lib/sysusers.d}/switchboard.conf" &&
    systemctl --root="$R" enable switchboard.socket switchboard-hub.socket \
	switchboard-control.socket; } >"$log" 2>&1; then
	cat "$log" >&2
	exit 1
fi
# The bench's load: no flood limits, no idle timeout within a run, many
# clients from the generator's four loopback addresses (bench/lib.sh,
# bench_config); the rest as shipped.
printf '%s\n' "max_per_address = 20000" "flood_rate = 100000" \
    "flood_burst = 100000" "idle_timeout = 3600" \
    >>"$R/etc/switchboard/switchboard.conf"

sd=$R/etc/systemd/system
cat >"$sd/sbbench.target" <<'EOF'
[Unit]
Description=Switchboard benchmark system
Requires=sysinit.target sockets.target
After=sysinit.target sockets.target
Wants=sbbench-wsd.service sbbench-sa.service
EOF
# websocketd as a site would run it: a plain service; it accepts, and
# starts its echo child per connection itself (bench/run.sh: the same
# command line).
if [ "$WSD" = 1 ]; then
	cat >"$sd/sbbench-wsd.service" <<EOF
[Service]
ExecStart=$(command -v websocketd) --address=127.0.0.1 --port=$P_WSD --loglevel=fatal /usr/local/lib/sbbench/echo
User=nobody
LimitNOFILE=16384
EOF
fi
# The bench's usual spawner (bench/lib.sh, activator_start), as a service
# of this systemd, its handlers under the same hub as the units'.
cat >"$sd/sbbench-sa.service" <<EOF
[Unit]
Requires=switchboard-hub.socket
After=switchboard-hub.socket
[Service]
ExecStart=/usr/local/lib/sbbench/listen-exec 127.0.0.1 $P_SA /usr/bin/systemd-socket-activate -a --inetd -E SWITCHBOARD_HUB_SOCKET=/run/switchboard/hub.sock -E GNUTLS_NO_IMPLICIT_INIT=1 $sbin/switchboard-handler
Environment=SYSTEMD_LOG_LEVEL=notice
User=switchboard
Group=switchboard
CPUSchedulingPolicy=batch
LimitNOFILE=16384
EOF
# The same spawner with switchboard@.service's sandbox, set up once for
# the spawner and inherited by every handler it forks: what a design with
# one long-lived spawner (Accept=no) would cost per connection.  Its
# socket comes from PID 1, as switchboard.socket's does.  Not the limits
# (they would bound all handlers together) and not IPAddressDeny= (the
# connections are accepted inside the service, so its firewall would
# drop them; a handler unit's connection is accepted by PID 1).
sed -e "s/^ListenStream=.*/ListenStream=127.0.0.1:$P_SAH/" -e '/^\[Install\]/,$d' \
    -e 's/^Accept=yes/Accept=no/' -e '/^MaxConnections/d' \
    "$unitdir/switchboard.socket" >"$sd/sbbench-sah.socket"
{
	printf '%s\n' "[Unit]" "Requires=switchboard-hub.socket" \
	    "After=switchboard-hub.socket" "[Service]" \
	    "ExecStart=/usr/bin/systemd-socket-activate -a --inetd -E SWITCHBOARD_HUB_SOCKET=/run/switchboard/hub.sock -E GNUTLS_NO_IMPLICIT_INIT=1 $sbin/switchboard-handler" \
	    "Environment=SYSTEMD_LOG_LEVEL=notice" "User=switchboard" \
	    "Group=switchboard" "CPUSchedulingPolicy=batch"
	sed -n '/^CapabilityBoundingSet=/,$p' "$unitdir/switchboard@.service" |
	    grep -v '^IPAddressDeny='
} >"$sd/sbbench-sah.service"
ln -s "$sd/sbbench-sah.socket" "$sd/sockets.target.wants/sbbench-sah.socket"

# The same spawner as sbbench-sa, each handler started through a wrapper
# that gives it one thing a unit has and sa's handlers lack: sass, a
# session of its own (setsid, as PID 1 does for every service; with
# autogroups on, the scheduler makes each session a group of its own);
# sacg, a cgroup of its own (the unit's, without controllers: PSI and CPU
# statistics per cgroup), in the delegated cgroup of its service; saf,
# the unit's options (--syslog --sandbox).
cat >"$R/usr/local/lib/sbbench/wrap" <<'EOF2'
#!/bin/sh
case $1 in
sid) shift; exec setsid "$@" ;;
cg) shift
    d=/sys/fs/cgroup$(sed -n 's/^0:://p' /proc/self/cgroup)/h$$
    mkdir -p "$d" && echo $$ >"$d/cgroup.procs" || exit 1
    exec "$@" ;;
flags) shift; exec "$@" --syslog --sandbox ;;
esac
exit 1
EOF2
chmod 0755 "$R/usr/local/lib/sbbench/wrap"
while read -r mode srv port; do
	# Delegate=yes: sacg's wrapper makes the cgroups, as its user
	delegate=()
	[ "$mode" = cg ] && delegate=(-e '$a Delegate=yes')
	sed -e "s|^ExecStart=.*|ExecStart=/usr/local/lib/sbbench/listen-exec 127.0.0.1 $port /usr/bin/systemd-socket-activate -a --inetd -E SWITCHBOARD_HUB_SOCKET=/run/switchboard/hub.sock -E GNUTLS_NO_IMPLICIT_INIT=1 /usr/local/lib/sbbench/wrap $mode $sbin/switchboard-handler|" \
	    "${delegate[@]}" "$sd/sbbench-sa.service" >"$sd/sbbench-$srv.service"
done <<EOF2
sid sass $P_SASS
cg sacg $P_SACG
flags saf $P_SAF
EOF2
sed -i 's/^Wants=sbbench-wsd.service sbbench-sa.service$/& sbbench-sass.service sbbench-sacg.service sbbench-saf.service/' \
    "$sd/sbbench.target"

# The variant: a socket on port 81 whose instances are sbvar@.service,
# rewritten for each variant.
sed -e "s/^ListenStream=.*/ListenStream=$P_VAR/" -e '/^\[Install\]/,$d' \
    "$unitdir/switchboard.socket" >"$sd/sbvar.socket"
cp "$unitdir/switchboard@.service" "$sd/sbvar@.service"
ln -s "$sd/sbvar.socket" "$sd/sockets.target.wants/sbvar.socket"

# --- boot -----------------------------------------------------------------

say "booting systemd as PID 1 in namespaces"
if ! ct_boot sbbench.target; then
	cat "$work/boot.log" >&2
	[ -n "$CT_PID1" ] && ct_sh systemctl --failed --no-pager >&2
	say "systemd did not boot"
	exit 1
fi
CG=$CT_CGROUP
listening() { ct_net ss -Htln "sport = :$1" | grep -q .; }
for p in $P_SD $P_VAR $P_SA $P_SAH $P_SASS $P_SACG $P_SAF $([ "$WSD" = 1 ] && echo $P_WSD); do
	ct_until 20 listening "$p" || { say "nothing listens on $p"; exit 1; }
done
say "up: PID 1 is $CT_PID1, cgroup $CG"

# wsload inside the network namespace, bounded; its RESULT lines to
# stdout.
load() {	# timeout args...
	local t=$1
	shift
	ct_net timeout -s INT "$t" "$B/wsload" "$@" 2>>"$log"
}
speed() {	# run fig srv
	local s
	s=$(speed_probe "$B")
	[ -n "$s" ] && echo "SPEED run=$1 fig=$2 srv=$3 $s"
}
# No handler of server $1 left (at most 60 s): a turn starts from the
# same state as the one before it.
handlers_cg() {
	case $1 in
	sd) echo "$CG/system.slice/system-switchboard.slice" ;;
	var) echo "$CG/system.slice/system-sbvar.slice" ;;
	*) echo "$CG/system.slice/sbbench-$1.service" ;;	# wsd, sa, sah, ...
	esac
}
nprocs() { find "$(handlers_cg "$1")" -name cgroup.procs -exec cat {} + 2>/dev/null | wc -l; }
drained() {
	case $1 in
	sd|var) [ "$(nprocs "$1")" = 0 ] ;;
	*) [ "$(nprocs "$1")" -le 1 ] ;;	# the server itself
	esac
}
settle() { ct_until 60 drained "$1" || say "warning: $1 still has $(nprocs "$1") processes"; }
# No unit of server $1's template is loaded any more: PID 1 frees a
# stopped unit later, from its queue of units to collect.
unloaded() {
	case $1 in
	sd) set -- switchboard ;;
	var) set -- sbvar ;;
	*) return 0 ;;
	esac
	local out
	out=$(ct_sh systemctl list-units --all --plain --no-legend "$1@*") &&
	    [ -z "$out" ]
}
port_of() { local v=P_${1^^}; echo "${!v}"; }	# sd: $P_SD
path_of() { [ "$1" = wsd ] && echo / || echo /chat; }

# CPU the system used, from the cgroups' cpu.stat (usage_usec: every
# process that ran in the cgroup or below it, those gone included): the
# whole system, PID 1 (init.scope), server $1's handlers (or websocketd
# and its echo children, or the activator and its handlers), the hub and
# journald, in µs.
cg_usage() {
	awk '$1 == "usage_usec" { print $2; f = 1 } END { if (!f) print 0 }' \
	    "$1/cpu.stat" 2>/dev/null || echo 0
}
# And the kernel's workers (kworker threads, the whole machine's, so other
# work adds to it): what the kernel defers out of the processes' time,
# such as taking a network namespace apart (cleanup_net).
kworker_usec() {
	local tck
	tck=$(getconf CLK_TCK)
	cat /proc/[0-9]*/stat 2>/dev/null | awk -v t="$tck" '
	    $2 ~ /^\(kworker/ { s += $14 + $15 } END { printf "%.0f", s * 1e6 / t }'
}
cpu_snap() {	# srv
	local c
	for c in "$CG" "$CG/init.scope" "$(handlers_cg "$1")" \
	    "$CG/system.slice/switchboard-hub.service" \
	    "$CG/system.slice/systemd-journald.service"; do
		printf '%s ' "$(cg_usage "$c")"
	done
	kworker_usec
}
# The fields of a churn RESULT line for the CPU between two snapshots:
# per connection, µs.
cpu_fields() {	# before after conns
	awk -v b="$1" -v a="$2" -v n="$3" 'BEGIN {
	    split(b, x, " "); split(a, y, " ")
	    split("cpu pid1_cpu handlers_cpu hub_cpu journald_cpu kworker_cpu", k, " ")
	    for (i = 1; i <= 6; i++)
		printf " %s_us_per_conn=%.1f", k[i], (y[i] - x[i]) / n }'
}

# A churn turn of server $1 (tag $2, $3 connections): wsload's RESULT
# line with the system's CPU per connection appended, counted once the
# last handler is gone.
churn() {	# srv tag n
	local before out
	before=$(cpu_snap "$1")
	out=$(load 300 churn -p "$(port_of "$1")" --path "$(path_of "$1")" \
	    -n "$3" -c 8 --timeout 240 --tag " $2")
	settle "$1"
	[ -n "$out" ] && echo "$out$(cpu_fields "$before" "$(cpu_snap "$1")" "$3")"
}

servers="sd sa sah"
[ "$WSD" = 1 ] && servers="sd wsd sa sah"
# Warm up: the hub starts with the first handler (socket activation), and
# the first spawns fill PID 1's caches.
for s in $servers var; do churn "$s" "srv=$s fig=warmup" 50 >/dev/null; done

# rotate N WORDS...: the words, starting at the (N mod count)-th.
rotate() {
	local n=$1 i k
	shift
	local a=("$@")
	k=${#a[@]}
	for ((i = 0; i < k; i++)); do printf '%s ' "${a[$(((n + i) % k))]}"; done
}

# rounds FIG TEXT N "SERVERS" MEASURE: N rounds (while there is time), in
# each every server once, taking turns at going first, each after a
# machine-speed probe; MEASURE SRV RUN measures one.
rounds() {
	local r s order
	for r in $(seq "$3"); do
		in_time || { say "deadline: $2 stops before round $r"; break; }
		# shellcheck disable=SC2086
		order=$(rotate "$r" $4)
		say "$2, round $r/$3 ($order)"
		for s in $order; do
			speed "$r" "$1" "$s"
			"$5" "$s" "$r"
		done
	done
}

# --- churn ----------------------------------------------------------------

churn_one() { churn "$1" "srv=$1 fig=sdchurn run=$2" "$CHURN"; }
want sdchurn && rounds sdchurn "churn: $CHURN connections, 8 at a time" \
    "$RUNS" "$servers" churn_one

# --- variants of switchboard@.service ------------------------------------

# Write sbvar@.service, the shipped unit without the keys of variant $1,
# and reload PID 1; sets KEYS to those keys (comma-separated) and EXP to
# its exposure.
exposure() {	# unit file
	systemd-analyze security --offline=yes --no-pager "$1" 2>/dev/null |
	    sed -n 's/^→ Overall exposure level for [^:]*: \([0-9.]*\).*/\1/p'
}
variant_use() {
	KEYS=$(variant_keys "$1" | paste -sd,)
	local add=ADD_$1
	grep -Ev "^(${KEYS//,/|})=" "$unitdir/switchboard@.service" |
	    awk -v adds="${!add:-}" '
		BEGIN { n = split(adds, a, "\n") }
		{ print }
		/^\[(Unit|Service)\]$/ {
			for (i = 1; i <= n; i++)
				if (index(a[i], substr($0, 2, length($0) - 2) " ") == 1)
					print substr(a[i], index(a[i], " ") + 1)
		}' >"$sd/sbvar@.service"
	rm -rf "$sd/sbvar@.service.d"
	if [ "$1" = leanspawn ]; then
		mkdir -p "$sd/sbvar@.service.d"
		cp "$top/units/lean-spawn.conf" "$sd/sbvar@.service.d/"
	fi
	ct_sh systemctl daemon-reload || { say "daemon-reload failed"; exit 1; }
	EXP=$(exposure "$sd/sbvar@.service")
	say "variant $1 (without $KEYS${!add:+; with ${!add//$'\n'/, }}): exposure ${EXP:-?} (shipped $BASE_EXP)"
}
BASE_EXP=$(exposure "$unitdir/switchboard@.service")

# --- memory ---------------------------------------------------------------

memprobe_args() {	# srv
	local hub=$CG/system.slice/switchboard-hub.service
	local jd=$CG/system.slice/systemd-journald.service
	case $1 in
	wsd) echo "handlers=$(handlers_cg wsd) pid1=$CT_PID1" ;;
	*) echo "handlers=$(handlers_cg "$1") hub=$hub pid1=$CT_PID1 journald=$jd" ;;
	esac
}
# Idle connections to server $1 in steps, MEM lines tagged $2; then, once
# they are closed and the handlers gone, the same probe again (closed=1):
# what the kernel gives back is a second reading of what it held.
hold() {	# srv tag
	local proto=chat probe
	[ "$1" = wsd ] && proto="echo"
	probe="bash $top/bench/systemd.sh memprobe"
	load 900 hold -p "$(port_of "$1")" --path "$(path_of "$1")" \
	    --proto "$proto" --steps "$STEPS" --timeout 600 \
	    --tag " srv=$1 fig=sdhold" \
	    --at-step "$probe '$2' $(memprobe_args "$1")" |
	    grep -v '^MEM .*fig=sdhold'
	settle "$1"
	ct_until 60 unloaded "$1" || say "warning: units of $1 still loaded"
	# shellcheck disable=SC2046
	WSLOAD_CONNS=0 bash "$top/bench/systemd.sh" memprobe "$2 closed=1" \
	    $(memprobe_args "$1")
}
mem_one() { hold "$1" "srv=$1 fig=sdmem run=$2"; }
# What a setting costs in memory: the variant and the shipped unit, back
# to back.
memvar_one() { hold "$1" "srv=$1 fig=sdmemvar variant=$v exposure=${EXP:-nan} run=$2"; }
if want sdmem; then
	rounds sdmem "memory: idle connections in steps $STEPS" "$RUNS" \
	    "$servers" mem_one
	for v in ${SD_MEM_VARIANTS-bare namespaces PrivateNetwork}; do
		in_time || break
		variant_use "$v"
		rounds sdmemvar "memory without $v" "$MRUNS" "sd var" memvar_one
	done
fi

# --- what each hardening setting costs --------------------------------------

ablate_one() {
	churn "$1" "srv=$1 fig=sdablate variant=$v keys=$KEYS exposure=${EXP:-nan} base_exposure=${BASE_EXP:-nan} run=$2" "$ACHURN"
}
if want sdablate; then
	for v in $VARIANTS; do
		in_time || { say "deadline: variants from $v on not measured"; break; }
		variant_use "$v"
		churn var "srv=var fig=warmup" 30 >/dev/null
		rounds sdablate "without $v: $ACHURN connections" "$ARUNS" \
		    "sd var" ablate_one
	done
fi

# --- broadcast: handlers as units; the hub's CPU share -----------------------

# With the cpu controller on (any unit that sets CPUWeight=, CPUQuota=,
# ...), switchboard-hub.service and system-switchboard.slice are siblings
# in system.slice of equal weight: the hub gets as much CPU as all the
# handlers together, where without it the hub is one task among a
# thousand.  The controllers of this kind of host are all bound to cgroup
# v1, so the container's systemd has none; sdcg emulates it in v1's cpu
# hierarchy: every process of the system in CPUCG/rest, and for sdcg the
# hub alone in CPUCG/hub (equal shares); sd and sa have the hub in
# CPUCG/rest with the rest, which is what no controller means.  Both
# groups are removed at the end, once PID 1 and its processes are gone.
cpucg_setup() {
	local p
	[ "${SD_CPUCG:-1}" = 1 ] && [ -f /sys/fs/cgroup/cpu/cpu.shares ] || return 1
	CPUCG=/sys/fs/cgroup/cpu/sbbench.$$
	mkdir -p "$CPUCG/rest" "$CPUCG/hub" || { CPUCG=; return 1; }
	find "$CG" -name cgroup.procs -exec cat {} + | while read -r p; do
		echo "$p" >"$CPUCG/rest/cgroup.procs" 2>/dev/null
	done
	return 0
}
cpucg_hub() {	# rest|hub: where the hub goes
	[ -n "$CPUCG" ] && echo "$hubpid" >"$CPUCG/$1/cgroup.procs"
}

# sdg: PID 1 in a v1 cpu group of its own while the handlers are spawned,
# so that they all share that one group, the hub staying where it was:
# what systemd's cpu controller would give a slice whose units ask for
# nothing of it (the slice a group, its units not).  Without it every
# handler unit, a session of its own, is an autogroup of its own.
UG_FROM=''
ug_setup() {
	[ -f /sys/fs/cgroup/cpu/cpu.shares ] || return 1
	UG=/sys/fs/cgroup/cpu/sbbench-ug.$$
	# where PID 1 is now, to put it back
	UG_FROM=/sys/fs/cgroup/cpu$(awk -F: '$2 ~ /(^|,)cpu(,|$)/ { print $3 }' \
	    "/proc/$CT_PID1/cgroup")
	[ -f "$UG_FROM/cgroup.procs" ] && mkdir -p "$UG" || { UG=; return 1; }
}
ug_pid1() {	# in|out
	[ -n "$UG" ] || return 0
	if [ "$1" = in ]; then
		echo "$CT_PID1" >"$UG/cgroup.procs"
	else
		echo "$CT_PID1" >"$UG_FROM/cgroup.procs"
	fi
}

# What else a broadcast line must say: whether autogroups were on, and
# var's variant.
run_tags() {	# srv
	printf ' autogroup=%s' "$(cat /proc/sys/kernel/sched_autogroup_enabled 2>/dev/null || echo nan)"
	[ "$1" != var ] || printf ' variant=%s' "${SD_BCAST_VARIANT:-}"
}

# The broadcast and the throughput of server $1 (sd, sdcg, sdg, sa, ...)
# at BN.
bcast_one() {
	local h=$1
	case $1 in sdcg|sdg) h=sd ;; esac
	if [ "$1" = sdcg ]; then cpucg_hub hub; else cpucg_hub rest; fi
	[ "$1" = sdg ] && ug_pid1 in
	load 400 bcast -p "$(port_of "$h")" -N "$BN" --rate 50 --secs "$BSECS" \
	    --pid "$hubpid" --cgroup "$(handlers_cg "$h")" --timeout 300 \
	    --tag " srv=$1 fig=sdbcast n=$BN run=$2$(run_tags "$1")"
	settle "$h"
	speed "$2" sdtput "$1"
	load 400 tput -p "$(port_of "$h")" -N "$BN" --inflight 4 --secs "$BSECS" \
	    --pid "$hubpid" --cgroup "$(handlers_cg "$h")" --timeout 300 \
	    --tag " srv=$1 fig=sdtput n=$BN run=$2$(run_tags "$1")"
	settle "$h"
	[ "$1" = sdg ] && ug_pid1 out
	return 0
}
if want sdbcast; then
	hubpid=$(head -1 "$CG/system.slice/switchboard-hub.service/cgroup.procs")
	bservers=${SD_BCAST_SERVERS:-sd sa sass sacg sdg}
	# sdcg moves every process of the system into one v1 group: the
	# other servers of that run have no autogroups (not by default)
	if [[ " $bservers " == *" sdcg "* ]]; then
		if cpucg_setup; then
			say "broadcast: the cpu controller emulated in $CPUCG (cgroup v1)"
		else
			say "broadcast: no cgroup v1 cpu hierarchy: sdcg not measured"
			bservers=${bservers//sdcg/}
		fi
	fi
	if [[ " $bservers " == *" sdg "* ]] && ! ug_setup; then
		say "broadcast: no cgroup v1 cpu hierarchy: sdg not measured"
		bservers=${bservers//sdg/}
	fi
	if [ -n "${SD_BCAST_VARIANT:-}" ]; then
		variant_use "$SD_BCAST_VARIANT"
		bservers="$bservers var"
	fi
	rounds sdbcast "broadcast N=$BN, 50 msg/s for $BSECS s, and throughput" \
	    "$RUNS" "$bservers" bcast_one
	cpucg_hub rest
fi

speed 0 sdend -
say "done"
exit
}
