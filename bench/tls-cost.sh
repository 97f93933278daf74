#!/bin/bash
# SPDX-License-Identifier: ISC
# The TLS library choice of issue 19, measured (docs/tls.md, "Choosing
# the library"): bench/tls-cost.c runs every candidate's key-less server
# (bench/tls-srv-*.c, static musl, built from Debian's sources by
# handler/musl-deps.sh into build/tls) N times in turns, plus GnuTLS and
# OpenSSL as the system links them (glibc, shared libraries) and GnuTLS
# with the malloc of bench/tls-nofree.c (an experiment), for TLS 1.3
# and 1.2 with ECDSA P-256 and RSA-2048 certificates.  Mbed TLS 2.28 and
# BearSSL have no TLS 1.3 server: 1.2 only.  Prints the binaries' sizes
# and one "TLS cfg=..." line per configuration; raw runs in
# build/bench/tls-cost.raw.
#
#   bench/tls-cost.sh          (make tls-cost; TLS_N=300 runs each)
set -euo pipefail
cd "$(dirname "$0")/.."
BB=$PWD/build/bench
N=${TLS_N:-300}
T=$(mktemp -d /tmp/sb-tlscost.XXXXXX)
trap 'rm -rf "$T"' EXIT

sh bench/tls-certs.sh "$T"
echo "== candidates built (handler/musl-deps.sh, build/tls/musl/versions)"
sed 's/^/  /' build/tls/musl/versions
echo "== sizes: the static server, stripped (text + data + bss)"
for l in gnutls openssl wolfssl mbedtls bearssl; do
	strip -o "$T/s" "$BB/tls-srv-$l"
	size "$T/s" | awk -v l="$l" -v f="$(stat -c %s "$T/s")" 'NR == 2 {
	    printf "TLS size lib=%s file_bytes=%d text=%d data=%d bss=%d\n", l, f, $1, $2, $3 }'
done
rm -f "$T/s"

cfgs=()
for l in gnutls openssl wolfssl; do
	for v in 13 12; do
		for k in ec rsa; do
			cfgs+=("$l-$v-$k=$v,$k,$BB/tls-srv-$l")
		done
	done
done
for l in mbedtls bearssl; do
	for k in ec rsa; do
		cfgs+=("$l-12-$k=12,$k,$BB/tls-srv-$l")
	done
done
for l in gnutls openssl; do
	cfgs+=("$l-glibc-13-ec=13,ec,$BB/tls-srv-$l-glibc")
done
cfgs+=("gnutls-nofree-13-ec=13,ec,$BB/tls-srv-gnutls-nofree")
echo "== $N rounds, each configuration once per round in turns;" \
    "reference: spawn of echo-musl"
echo "   (hs: fork to the server's first byte; cpu: the server's user +"
echo "   system time; total: fork to reap; ratio: cpu / gnutls-13-ec's, same round)"
nice -n 5 "$BB/tls-cost" -n "$N" -d "$T" -r "$BB/echo-musl" \
    -o "$BB/tls-cost.raw" "${cfgs[@]}"
