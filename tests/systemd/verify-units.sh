#!/bin/bash
# SPDX-License-Identifier: ISC
# verify-units.sh: "systemd-analyze verify" on Switchboard's units as
# installed, man pages included.  Installs with "make install DESTDIR="
# into an overlay of / whose upper layer is a tmpfs, in a mount namespace
# of its own, and runs systemd-analyze chrooted into it, so that it sees
# the installed binaries, man pages and the rest of the system exactly as
# they would be.  Needs root; nothing on the host changes.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)

if [ "${SB_VERIFY_NS:-}" != 1 ]; then
	if [ "$(id -u)" != 0 ]; then
		echo "verify-units: needs root (a mount namespace and an overlay)" >&2
		exit 1
	fi
	SB_VERIFY_NS=1 exec unshare --mount --propagation private bash "$0" "$@"
fi

. "$top/tests/systemd/lib.sh"
ct_sweep /tmp/switchboard-verify
work=$(mktemp -d /tmp/switchboard-verify.$$.XXXXXX) || exit 1
trap 'ct_unmount' EXIT
ct_overlay "$work" || { echo "verify-units: cannot mount an overlay of /" >&2; exit 1; }
R=$CT_ROOT
make -C "$top" --no-print-directory -s install DESTDIR="$R" >"$work/install.log" 2>&1 || {
	cat "$work/install.log" >&2
	echo "verify-units: make install failed" >&2
	exit 1
}
mount -t proc proc "$R/proc" && mount --rbind /dev "$R/dev" || exit 1
units="switchboard.socket switchboard-policy.socket switchboard-hub.socket
switchboard-control.socket switchboard-hub.service switchboard@.service
switchboard-policy@.service switchboard-proxied.socket
switchboard-proxied@.service switchboard-tls.socket switchboard-tls@.service"
# shellcheck disable=SC2086
chroot "$R" systemd-analyze verify $units >"$work/verify.log" 2>&1
status=$?
if [ "$status" != 0 ] || [ -s "$work/verify.log" ]; then
	cat "$work/verify.log" >&2
	echo "verify-units: systemd-analyze verify is not clean" >&2
	exit 1
fi
echo "verify-units: systemd-analyze verify: clean ($(echo $units | wc -w) units)"
