#!/bin/sh
# SPDX-License-Identifier: ISC
# Make the test certificates for bench/tls-cost.sh and bench/tls-proto.sh
# in DIR: a root CA (ca.pem), an intermediate, and two leaf certificates
# for localhost issued by it, as a chain is served in practice (leaf,
# then intermediate): ec.pem + ec.key (P-256) and rsa.pem + rsa.key
# (2048 bits).
#
#   bench/tls-certs.sh DIR
set -eu
d=$1
mkdir -p "$d"
cd "$d"
o() { openssl "$@" 2>/dev/null; }
o req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 30 \
    -subj /CN=tls-bench-root -keyout ca.key -out ca.pem \
    -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign
o req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -subj /CN=tls-bench-intermediate -keyout int.key -out int.csr
printf 'basicConstraints=critical,CA:TRUE,pathlen:0\nkeyUsage=critical,keyCertSign\n' >int.ext
o x509 -req -in int.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 30 \
    -extfile int.ext -out int.pem
printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n' >leaf.ext
for k in ec rsa; do
	case $k in
	ec) opt="-newkey ec -pkeyopt ec_paramgen_curve:P-256" ;;
	rsa) opt="-newkey rsa:2048" ;;
	esac
	# shellcheck disable=SC2086
	o req $opt -nodes -subj /CN=localhost -keyout $k.key -out $k.csr
	o x509 -req -in $k.csr -CA int.pem -CAkey int.key -CAcreateserial \
	    -days 30 -extfile leaf.ext -out $k.leaf.pem
	cat $k.leaf.pem int.pem >$k.pem
done
rm -f ./*.csr ./*.ext ./*.srl
