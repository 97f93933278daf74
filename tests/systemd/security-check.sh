#!/bin/sh
# SPDX-License-Identifier: ISC
# security-check.sh BASELINE UNITDIR
#
# Rate each service in BASELINE with "systemd-analyze security
# --offline=yes" on its copy in UNITDIR (the units as installed) and fail
# when one scores worse than its recorded exposure or worse than 1.0
# (lower is better).  A better score is reported, so the baseline can be
# lowered with it.  A line "UNIT+DROPIN" rates UNIT with the drop-in
# DROPIN (a file beside BASELINE) applied, as /etc/systemd/system/UNIT.d/
# would apply it: units/lean-spawn.conf is held to its score so.
set -eu
baseline=$1
dir=$2
limit=1.0
status=0
tmp=
trap '[ -z "$tmp" ] || rm -rf "$tmp"' EXIT
trap 'exit 1' INT TERM

command -v systemd-analyze >/dev/null || {
	echo "security-check: systemd-analyze not found (Debian package systemd)" >&2
	exit 1
}
# Lines: "unit exposure", '#' comments.
while read -r unit recorded; do
	case $unit in ''|'#'*) continue ;; esac
	file=$dir/$unit
	case $unit in
	*+*)	# the unit and its drop-in, side by side in a directory of
		# their own (systemd-analyze reads UNIT.d/ beside UNIT)
		[ -n "$tmp" ] || tmp=$(mktemp -d)
		base=${unit%%+*} dropin=${unit#*+}
		rm -rf "${tmp:?}/$base" "${tmp:?}/$base.d"
		mkdir -p "$tmp/$base.d"
		cp "$dir/$base" "$tmp/$base" &&
		    cp "$(dirname "$baseline")/$dropin" "$tmp/$base.d/" || {
			echo "security-check: $unit: cannot copy $dir/$base" \
			    "and $(dirname "$baseline")/$dropin" >&2
			status=1
			continue
		}
		file=$tmp/$base ;;
	esac
	out=$(systemd-analyze security --offline=yes --no-pager "$file" 2>&1) || true
	score=$(printf '%s\n' "$out" |
	    sed -n 's/^→ Overall exposure level for [^:]*: \([0-9.]*\).*/\1/p')
	if [ -z "$score" ]; then
		printf '%s\n' "$out" >&2
		echo "security-check: $unit: no score from systemd-analyze" >&2
		status=1
		continue
	fi
	verdict=$(awk -v s="$score" -v b="$recorded" -v l="$limit" 'BEGIN {
	    if (s > l) print "above " l; else if (s > b) print "worse";
	    else if (s < b) print "better"; else print "ok" }')
	case $verdict in
	ok)	echo "security-check: $unit $score (baseline $recorded)" ;;
	better)	echo "security-check: $unit $score, better than the baseline $recorded: lower it in $baseline" ;;
	*)	printf '%s\n' "$out" | grep '✗' >&2 || true
		echo "security-check: $unit $score is $verdict (baseline $recorded)" >&2
		status=1 ;;
	esac
done < "$baseline"
exit $status
