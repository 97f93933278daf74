#!/bin/sh
# SPDX-License-Identifier: ISC
# Which files of a program call which, from their objects' symbol tables
# (nm): a file calls another when it uses a symbol the other defines.
# Prints every such edge, then every pair of files that reach each other
# (a circle, however long); exits 1 if there is one.
#
#   sh tests/callcycles.sh build/obj/handler/*.o build/obj/common/*.o
#   make cycles     (the handler with common/; the hub, hub/ctl/ and common/)
#
# A file is named by its path under build/obj/ (hub/ctl/switchboardctl.c).
# Data shared through a global (handler_store) counts as a use too.  main
# is left out: several programs may be checked in one run, and no file
# calls it.
set -u
if [ $# -eq 0 ]; then
	echo "usage: callcycles.sh object..." >&2
	exit 2
fi
for o in "$@"; do
	f=${o##*/obj/}
	f=${f%.o}.c
	nm "$o" | awk -v f="$f" '$1 == "U" { print "U", f, $2; next }
	    NF == 3 && $2 ~ /^[TDBRC]$/ && $3 != "main" { print "D", f, $3 }'
done | awk '
	$1 == "D" { def[$3] = $2; next }
	{ use[NR] = $2 " " $3 }
	END {
		for (i in use) {
			split(use[i], u, " ")
			if (!(u[2] in def) || def[u[2]] == u[1])
				continue
			e = u[1] " " def[u[2]]
			if (!(e in why))
				why[e] = u[2]
			else if (index(" " why[e] " ", " " u[2] " ") == 0)
				why[e] = why[e] " " u[2]
			node[u[1]]; node[def[u[2]]]
			reach[u[1], def[u[2]]] = 1
		}
		n = 0
		for (e in why) {
			split(e, p, " ")
			line[++n] = sprintf("%-22s -> %-18s %s", p[1], p[2], why[e])
		}
		# Sort the lines (insertion sort: a few dozen of them).
		for (i = 2; i <= n; i++)
			for (j = i; j > 1 && line[j - 1] > line[j]; j--) {
				t = line[j]; line[j] = line[j - 1]; line[j - 1] = t
			}
		for (i = 1; i <= n; i++)
			print line[i]
		for (k in node) for (i in node) if ((i, k) in reach)
			for (j in node) if ((k, j) in reach)
				reach[i, j] = 1
		bad = 0
		for (i in node) for (j in node)
			if (i < j && (i, j) in reach && (j, i) in reach)
				circle[++bad] = "CIRCLE: " i " <-> " j
		for (i = 2; i <= bad; i++)
			for (j = i; j > 1 && circle[j - 1] > circle[j]; j--) {
				t = circle[j]; circle[j] = circle[j - 1]; circle[j - 1] = t
			}
		for (i = 1; i <= bad; i++)
			print circle[i]
		if (!bad)
			print "no circles"
		exit bad > 0
	}'
