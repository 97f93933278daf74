#!/bin/bash
# SPDX-License-Identifier: ISC
# The external signer of issue 19, end to end: process A (bench/tls-
# signer, GnuTLS) holds the private keys, mode 0600 root; process B
# (bench/tls-srv-gnutls, static musl GnuTLS, run as nobody, so it could
# not read the keys if it tried) is started per TCP connection by
# systemd-socket-activate, connects to A's socket and completes the
# handshake with `openssl s_client`, which verifies the chain against the
# test CA and the handshake signature.  TLS 1.3 and 1.2, ECDSA P-256 and
# RSA-2048 (RSA-PSS; in 1.2 also PKCS #1 v1.5, for a client that offers
# nothing else).  Then A is probed as a compromised B would:
# a second signature, a second connection, a hash of the wrong length,
# a PKCS #1 v1.5 signature in TLS 1.3, data not shaped like a handshake.
#
#   bench/tls-proto.sh [B]      B defaults to build/bench/tls-srv-gnutls
#
# Prints one line per check ("ok ..." or "FAIL ...") and A's log; exits
# non-zero if any check failed.  Loopback only; everything is bounded by
# timeouts.
set -uo pipefail
cd "$(dirname "$0")/.."
BB=$PWD/build/bench
SRV=${1:-$BB/tls-srv-gnutls}
PORT=${TLS_PROTO_PORT:-18743}
T=$(mktemp -d /tmp/sb-tlsproto.XXXXXX)
PIDS=()
cleanup() {
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
	wait 2>/dev/null
	[ "${TLS_PROTO_KEEP:-0}" = 1 ] && echo "kept $T" || rm -rf "$T"
}
trap cleanup EXIT
fails=0
check() {	# name command...
	local name=$1
	shift
	if "$@"; then echo "ok   $name"; else echo "FAIL $name"; fails=$((fails + 1)); fi
}

sh bench/tls-certs.sh "$T" || exit 1
chmod 0600 "$T"/*.key
chmod 0755 "$T"
install -m 0755 "$SRV" "$T/B"
"$BB/tls-signer" -n 40 -t 60 "$T/signer.sock" "$T/ec.key" "$T/rsa.key" \
    >"$T/signer.log" 2>&1 &
PIDS+=($!)
for _ in $(seq 50); do [ -S "$T/signer.sock" ] && break; sleep 0.1; done

# One activator per key and version; B as nobody, the signer's socket in
# its environment.
n=0
for kv in ec:13 rsa:13 ec:12 rsa:12; do
	k=${kv%:*} v=${kv#*:} p=$((PORT + n))
	n=$((n + 1))
	timeout 60 systemd-socket-activate -l "127.0.0.1:$p" -a --inetd \
	    -E TLS_SIGNER="$T/signer.sock" \
	    setpriv --reuid=nobody --regid=nogroup --clear-groups -- \
	    "$T/B" "$T/$k.pem" "$v" 2>>"$T/activate.log" &
	PIDS+=($!)
	for _ in $(seq 50); do
		[ -n "$(ss -Hltn "sport = :$p")" ] && break
		sleep 0.1
	done
done

check "B cannot read the keys (as nobody)" \
    bash -c "! setpriv --reuid=nobody --regid=nogroup --clear-groups cat $T/ec.key $T/rsa.key >/dev/null 2>&1"

# s_client: the handshake completes, the chain and the signature verify.
n=0
for kv in ec:13 rsa:13 ec:12 rsa:12; do
	k=${kv%:*} v=${kv#*:} p=$((PORT + n))
	n=$((n + 1))
	out=$T/s_client-$k-$v.txt
	timeout 10 openssl s_client -connect "127.0.0.1:$p" -tls1_${v#1} \
	    -CAfile "$T/ca.pem" -verify_return_error -servername localhost \
	    </dev/null >"$out" 2>&1
	sig=$(sed -n 's/^Peer signature type: //p' "$out")
	proto=$(sed -n 's/^New, \(TLSv1\.[23]\), Cipher is .*/\1/p' "$out")
	echo "     s_client $k TLS 1.${v#1}: $proto, peer signature $sig," \
	    "$(grep -m1 -o 'Verify return code: .*' "$out")"
	want=ECDSA
	[ "$k" = rsa ] && want=RSA-PSS
	check "handshake $k TLS 1.${v#1}" test "$proto" = "TLSv1.${v#1}" -a \
	    -n "$(grep "Verify return code: 0 (ok)" "$out")"
	check "signature $k TLS 1.${v#1} is $want" test "$sig" = "$want"
done
# TLS 1.2 with a client that takes only RSA PKCS #1 v1.5: GnuTLS hands
# over the DigestInfo, which A checks against the scheme's hash.
out=$T/s_client-rsa-12-pkcs1.txt
timeout 10 openssl s_client -connect "127.0.0.1:$((PORT + 3))" -tls1_2 \
    -sigalgs RSA+SHA256 -CAfile "$T/ca.pem" -verify_return_error \
    -servername localhost </dev/null >"$out" 2>&1
sig=$(sed -n 's/^Peer signature type: //p' "$out")
echo "     s_client rsa TLS 1.2, PKCS #1 only: peer signature $sig," \
    "$(grep -m1 -o 'Verify return code: .*' "$out")"
check "signature rsa TLS 1.2 is RSA (PKCS #1 v1.5)" test "$sig" = RSA
check "A signed 5 times, for 5 B processes" \
    test "$(grep -c ': signed (' "$T/signer.log")" = 5

# A compromised B: what A refuses.
python3 - "$T/signer.sock" >"$T/probe.txt" <<'EOF'
import os, socket, struct, sys
path = sys.argv[1]
def ask(s, scheme, kind, version, payload):
    s.send(struct.pack('=HBBI', scheme, kind, version, len(payload)) + payload)
    return len(s.recv(2048))
def conn():
    s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    s.settimeout(5)
    s.connect(path)
    return s
tbs13 = b' ' * 64 + b'TLS 1.3, server CertificateVerify\0' + os.urandom(32)
# Each probe from its own process: A signs once per process.
def probe(name, *req, again=False):
    pid = os.fork()
    if pid == 0:
        s = conn()
        n = ask(s, *req)
        if again:
            s2 = conn()
            n = ask(s2, *req)
        print(name, n)
        sys.stdout.flush()
        os._exit(0)
    os.waitpid(pid, 0)
probe('hash-ecdsa-13', 0x0403, 1, 13, os.urandom(32))
probe('again-new-connection', 0x0403, 1, 13, os.urandom(32), again=True)
probe('hash-wrong-length', 0x0403, 1, 13, os.urandom(20))
probe('pkcs1-in-13', 0x0401, 1, 13, os.urandom(32))
probe('raw-rsa-block', 0x0804, 3, 13, os.urandom(256))
probe('tbs-not-tls', 0x0403, 4, 13, os.urandom(64 + 34 + 32))
probe('tbs-client-side', 0x0403, 4, 13,
      b' ' * 64 + b'TLS 1.3, client CertificateVerify\0' + os.urandom(32))
probe('tbs-tls13', 0x0403, 4, 13, tbs13)
EOF
while read -r name len; do
	case $name in
	hash-ecdsa-13|tbs-tls13) check "A signs $name" test "$len" -gt 0 ;;
	*) check "A refuses $name" test "$len" = 0 ;;
	esac
done <"$T/probe.txt"
echo "--- A's log"
cat "$T/signer.log"
echo "$fails failed"
[ "$fails" = 0 ]
