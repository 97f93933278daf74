#!/bin/sh
# SPDX-License-Identifier: ISC
# Install the Debian packages named as arguments that are not installed yet.
# Used by `make deps-build` and `make deps-test` (and so by `make demo` and
# `make check`, which .ci/run runs), `make bench-deps` and
# tests/systemd/units.test.sh, so a fresh Debian 12 machine needs nothing
# but this repository.
set -eu
missing=""
for p in "$@"; do
	st=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
	case "$st" in
	*" installed") ;;
	*) missing="$missing $p" ;;
	esac
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" != 0 ]; then
	echo "deps: missing Debian packages:$missing (run as root, or install them)" >&2
	exit 1
fi
echo "deps: installing$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing >/dev/null
