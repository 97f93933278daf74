#!/bin/sh
# SPDX-License-Identifier: ISC
# After the musl handler's link: the static variables every handler
# writes must lie in handler/hot.ld's two sections, or each one strayed
# costs a page per connection (bench/analysis.md, "Memory per idle
# connection").  A renamed object file or a new library would move them
# without a word; this says so and fails the build.
#   sh handler/hot-check.sh build/switchboard-handler
set -eu
bin=$1
readelf -SW "$bin" | awk '
	{ for (i = 1; i < NF; i++) {
		if ($i == ".data.hot") lo = $(i + 2)
		if ($i == ".bss.hot") { hi = $(i + 2); sz = $(i + 4) }
	} }
	END { if (lo == "" || hi == "") exit 1; print lo, hi, sz }' >"$bin.hot" || {
	echo "hot-check: $bin has no .data.hot/.bss.hot (handler/hot.ld)" >&2
	exit 1
}
read -r lo hi sz <"$bin.hot"
rm -f "$bin.hot"
# Written by every handler (bench/pages.mjs --diff): musl's start-up and
# clock, getopt's optind (every option, and the units give two), nettle's
# dispatch, jansson's allocator and seed, the handler's log identity and
# struct conn (main()'s static c, the one over 8 KiB).
nm -S "$bin" | awk -v lo="$lo" -v hi="$hi" -v sz="$sz" '
	function h(s,   i, v) {
		v = 0; s = tolower(s)
		for (i = 1; i <= length(s); i++)
			v = v * 16 + index("0123456789abcdef", substr(s, i, 1)) - 1
		return v
	}
	BEGIN {
		split("__libc __hwcap __progname __environ builtin_tls " \
		    "__stack_chk_guard vdso_func optind nettle_aes128_encrypt_vec " \
		    "do_malloc hashtable_seed log_name conn", w, " ")
		for (i in w) want[w[i]] = 1
		a = h(lo); b = h(hi) + h(sz)
	}
	$4 ~ /^c\.[0-9]+$/ && h($2) > 8192 { $4 = "conn" }
	($4 in want) { seen[$4] = 1; x = h($1); if (x < a || x >= b) { print "hot-check: " $4 " lies outside .data.hot/.bss.hot"; bad = 1 } }
	END {
		for (k in want) if (!(k in seen)) { print "hot-check: no symbol " k; bad = 1 }
		exit bad
	}' >&2
