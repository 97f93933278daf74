# SPDX-License-Identifier: ISC
# tests/systemd/lib.sh: a throw-away root for installing Switchboard, and a
# real systemd booted in it as PID 1 of private namespaces.  Sourced by
# units.test.sh, verify-units.sh and bench/systemd.sh, which run inside
# their own mount namespace (unshare --mount), so every mount here
# disappears with them.
#
#   ct_overlay DIR      tmpfs at DIR, DIR/root = overlay: / below, the tmpfs
#                       above.  Installing into DIR/root changes nothing on
#                       the host.
#   ct_boot UNIT        boot /lib/systemd/systemd --unit=UNIT in DIR/root,
#                       in new pid, mount, uts, ipc, net and cgroup
#                       namespaces and a cgroup of its own; sets CT_PID1
#                       (its pid here) once systemctl answers inside.
#   ct_sh CMD...        run CMD inside: all its namespaces, its root.
#   ct_net CMD...       run CMD here, in its network namespace only.
#   ct_stop             SIGKILL its PID 1 (by pid), wait, remove the cgroup.
#   ct_unmount          unmount DIR and remove it.
#   ct_sweep PREFIX     remove leftovers of runs that were SIGKILLed.
#
# All waits poll with a deadline.

CT_DIR=
CT_ROOT=
CT_PID1=
CT_UNSHARE=
CT_CGROUP=

# Seconds since the epoch, with fractions.
ct_now() { date +%s.%N; }

# ct_until SECONDS CMD...: run CMD every 0.1 s until it succeeds or time is
# up.  Returns CMD's last status.
ct_until() {
	local deadline
	deadline=$(awk -v n="$(ct_now)" -v s="$1" 'BEGIN { printf "%.3f", n + s }')
	shift
	while :; do
		"$@" && return 0
		awk -v n="$(ct_now)" -v d="$deadline" 'BEGIN { exit !(n >= d) }' &&
		    { "$@"; return; }
		sleep 0.1
	done
}

ct_overlay() {
	CT_DIR=$1
	CT_ROOT=$CT_DIR/root
	mount -t tmpfs -o size=2g,mode=0755 switchboard-test "$CT_DIR" || return
	mkdir "$CT_DIR/upper" "$CT_DIR/work" "$CT_ROOT" || return
	mount -t overlay overlay \
	    -o "lowerdir=/,upperdir=$CT_DIR/upper,workdir=$CT_DIR/work" "$CT_ROOT"
}

# The cgroup2 hierarchy systemd needs: the unified one of a hybrid host,
# or /sys/fs/cgroup itself; a child of our own cgroup in it.
ct_cgroup_base() {
	local top rel
	if [ "$(stat -fc %T /sys/fs/cgroup 2>/dev/null)" = cgroup2fs ]; then
		top=/sys/fs/cgroup
	elif [ "$(stat -fc %T /sys/fs/cgroup/unified 2>/dev/null)" = cgroup2fs ]; then
		top=/sys/fs/cgroup/unified
	else
		return 1
	fi
	rel=$(sed -n 's/^0:://p' /proc/self/cgroup)
	printf '%s%s\n' "$top" "${rel%/}"
}

ct_boot() {
	local unit=$1 base
	base=$(ct_cgroup_base) || { echo "# no cgroup2 hierarchy" >&2; return 1; }
	CT_CGROUP=$base/switchboard-test.$$
	mkdir "$CT_CGROUP" || return
	# The new PID 1 mounts what a container gets (proc, sys, cgroup2, a
	# minimal /dev, tmpfs /run and /tmp) inside its own mount namespace,
	# then becomes systemd.  If this script dies, even by SIGKILL, unshare
	# gets SIGKILL (--pdeathsig), and then PID 1 does (--kill-child).
	(
		echo 0 > "$CT_CGROUP/cgroup.procs" || exit 1
		exec setpriv --pdeathsig KILL \
		    unshare --pid --fork --mount --uts --ipc --net --cgroup \
		    --kill-child --propagation private \
		    env -i container=other R="$CT_ROOT" \
		    PATH=/usr/sbin:/usr/bin:/sbin:/bin /bin/sh -ec '
			mount -t proc proc "$R/proc"
			mount -t sysfs sysfs "$R/sys"
			mount -t cgroup2 cgroup2 "$R/sys/fs/cgroup"
			mount -t tmpfs -o mode=0755,nosuid tmpfs "$R/dev"
			for d in null:1:3 zero:1:5 full:1:7 random:1:8 \
			    urandom:1:9 tty:5:0; do
				n=${d%%:*} m=${d#*:}
				mknod -m 0666 "$R/dev/$n" c "${m%:*}" "${m#*:}"
			done
			mkdir "$R/dev/pts" "$R/dev/shm"
			mount -t devpts -o newinstance,ptmxmode=0666 devpts "$R/dev/pts"
			ln -s pts/ptmx "$R/dev/ptmx"
			mount -t tmpfs -o mode=1777,nosuid,nodev tmpfs "$R/dev/shm"
			ln -s /proc/self/fd "$R/dev/fd"
			ln -s /proc/self/fd/0 "$R/dev/stdin"
			ln -s /proc/self/fd/1 "$R/dev/stdout"
			ln -s /proc/self/fd/2 "$R/dev/stderr"
			mount -t tmpfs -o mode=0755,nosuid,nodev tmpfs "$R/run"
			mount -t tmpfs -o mode=1777,nosuid,nodev tmpfs "$R/tmp"
			# pivot_root, not chroot: in a chroot the kernel refuses
			# new user namespaces, which PrivateUsers= needs.
			cd "$R"
			pivot_root . .
			umount -l .
			cd /
			exec /lib/systemd/systemd --unit='"$unit"'
		'
	) < /dev/null > "$CT_DIR/boot.log" 2>&1 &
	CT_UNSHARE=$!
	ct_until 10 ct_find_pid1 || return 1
	ct_until 60 ct_sh systemctl is-system-running --quiet >/dev/null 2>&1
	case $(ct_sh systemctl is-system-running 2>/dev/null) in
	running|degraded) return 0 ;;
	*) return 1 ;;
	esac
}

# unshare's child is the new PID 1.
ct_find_pid1() {
	local kids
	kids=$(cat "/proc/$CT_UNSHARE/task/$CT_UNSHARE/children" 2>/dev/null) ||
	    return 1
	set -- $kids
	[ -n "${1:-}" ] || return 1
	# Wait until it is systemd, not the shell that sets up the mounts.
	case $(cat "/proc/$1/comm" 2>/dev/null) in
	systemd) CT_PID1=$1 ;;
	*) return 1 ;;
	esac
}

ct_sh() { nsenter -t "$CT_PID1" -a -r -w "$@"; }
ct_net() { nsenter -t "$CT_PID1" -n "$@"; }

ct_cgroup_empty() { grep -q '^populated 0' "$CT_CGROUP/cgroup.events"; }

ct_stop() {
	if [ -n "$CT_PID1" ]; then
		kill -KILL "$CT_PID1" 2>/dev/null
	fi
	if [ -n "$CT_UNSHARE" ]; then
		kill -KILL "$CT_UNSHARE" 2>/dev/null
		wait "$CT_UNSHARE" 2>/dev/null
	fi
	if [ -n "$CT_CGROUP" ] && [ -d "$CT_CGROUP" ]; then
		ct_until 10 ct_cgroup_empty
		find "$CT_CGROUP" -depth -type d -exec rmdir {} + 2>/dev/null
	fi
	CT_PID1= CT_UNSHARE= CT_CGROUP=
}

# ct_sweep PREFIX: remove what a run killed by SIGKILL left behind (its
# PID 1 dies with it, but no trap runs): PREFIX.PID.* directories and
# switchboard-test.PID cgroups whose PID is gone.  Empty ones only.
ct_sweep() {
	local d pid base
	for d in "$1".*; do
		[ -d "$d" ] || continue
		pid=${d#"$1".}
		pid=${pid%%.*}
		[ -d "/proc/$pid" ] || rmdir "$d" 2>/dev/null
	done
	base=$(ct_cgroup_base) || return 0
	for d in "$base"/switchboard-test.*; do
		[ -d "$d" ] || continue
		pid=${d##*.}
		[ -d "/proc/$pid" ] ||
		    find "$d" -depth -type d -exec rmdir {} + 2>/dev/null
	done
}

# Unmount what ct_overlay mounted and remove its directory.
ct_unmount() {
	[ -n "$CT_DIR" ] || return 0
	umount -R "$CT_DIR" 2>/dev/null || umount -l "$CT_DIR" 2>/dev/null
	rmdir "$CT_DIR" 2>/dev/null
	CT_DIR=
}
