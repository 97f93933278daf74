#!/bin/sh
# SPDX-License-Identifier: ISC
# No function longer than about 80 lines (/work/shared/style.md,
# docs/hacking.md), but the named exceptions below: prints every function
# of common/, hub/, hub/ctl/ and handler/ over the limit and exits 1 if
# one is not in the list, or if the list names one that is no longer long
# (remove it then).  Part of make lint.
#
#   sh tests/funclen.sh [-a] [file.c...]    -a: list every long function,
#                                           excepted or not
#
# A function is read as our style writes it: its name at the start of a
# line, "name(", then its body from a "{" alone at the start of a line
# to the next "}" at the start of a line.  Its length counts from the
# name's line to that "}", as ctags counts.  A new file is checked with
# no edit here.
set -u
cd "$(dirname "$0")/.."
max=80
all=0
if [ "${1:-}" = "-a" ]; then
	all=1
	shift
fi
[ $# -gt 0 ] || set -- common/*.c hub/*.c hub/ctl/*.c handler/*.c

# The exceptions: file:function, then why it stays long.  Only tables and
# state machines commented case by case belong here.
allow=$(cat <<'EOF'
EOF
)

awk -v max="$max" '
	FNR == 1 { name = ""; start = 0; body = 0 }
	!body && /^[A-Za-z_][A-Za-z0-9_]*\(/ {
		name = $0; sub(/\(.*/, "", name); start = FNR; next
	}
	!body && /^{[ \t]*$/ && name != "" { body = 1; next }
	body && /^}/ {
		n = FNR - start + 1
		if (n > max)
			printf "%s:%s %d\n", FILENAME, name, n
		body = 0; name = ""
	}
' "$@" | {
	bad=0
	found=""
	while read -r fn n; do
		found="$found $fn"
		why=$(printf '%s\n' "$allow" | awk -v f="$fn" '$1 == f { $1 = ""; print; exit }')
		if [ -n "$why" ]; then
			[ $all -eq 1 ] && echo "funclen: $fn: $n lines (excepted:$why)"
		else
			echo "funclen: $fn: $n lines, over $max: split it, or name it in tests/funclen.sh with a reason" >&2
			bad=1
		fi
	done
	# An exception for a function that is short now, or gone, is stale.
	for fn in $(printf '%s\n' "$allow" | awk 'NF { print $1 }'); do
		case " $found " in
		*" $fn "*) ;;
		*)	case " $* " in
			*" ${fn%%:*} "*)
				echo "funclen: $fn is excepted but not over $max lines: remove it from tests/funclen.sh" >&2
				bad=1 ;;
			esac ;;
		esac
	done
	if [ $bad -eq 0 ]; then
		echo "funclen: no function over $max lines but the named exceptions"
	fi
	exit $bad
}
