/* SPDX-License-Identifier: ISC */
/*
 * tls-sign.h: the signing request between a TLS server that holds no
 * private key (bench/tls-srv-*.c) and the process that holds it
 * (bench/tls-cost.c's driver, bench/tls-signer.c).  One request and one
 * answer per handshake, as SOCK_SEQPACKET datagrams:
 *
 *   request: struct tls_sign_req, then `len` bytes
 *   answer:  the signature (DER for ECDSA, the RSA block for RSA), or
 *            nothing (a zero-length datagram) when the signer refuses
 *
 * What the bytes are depends on what the TLS library hands its external
 * signer; `kind` says which (docs/tls.md, "Choosing the library").
 */
#ifndef TLS_SIGN_H
#define TLS_SIGN_H

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <unistd.h>

/* TLS SignatureScheme code points (RFC 8446, 4.2.3). */
#define TLS_SIG_RSA_PKCS1_SHA256	0x0401
#define TLS_SIG_ECDSA_P256_SHA256	0x0403
#define TLS_SIG_RSA_PKCS1_SHA384	0x0501
#define TLS_SIG_ECDSA_P384_SHA384	0x0503
#define TLS_SIG_RSA_PSS_RSAE_SHA256	0x0804
#define TLS_SIG_RSA_PSS_RSAE_SHA384	0x0805

enum tls_sign_kind {
	TLS_SIGN_DIGEST = 1,	/* the hash of the to-be-signed data */
	TLS_SIGN_DIGESTINFO,	/* RSA PKCS #1 v1.5: DER DigestInfo(hash) */
	TLS_SIGN_RAW_RSA,	/* RSA: the padded block, a raw private-key op */
	TLS_SIGN_TBS,		/* the to-be-signed data itself, before hashing */
};

struct tls_sign_req {
	uint16_t scheme;	/* TLS_SIG_* */
	uint8_t kind;		/* enum tls_sign_kind */
	uint8_t version;	/* 12 or 13: the TLS version negotiated */
	uint32_t len;		/* bytes that follow */
};

#define TLS_SIGN_MAX	1024	/* largest payload or signature */

/*
 * Ask the signer on fd for one signature: write the request, read the
 * answer into sig (room for *siglen bytes).  Returns 0 with *siglen set,
 * -EPERM if the signer refused, another negative errno on failure.
 */
static inline int
tls_sign_ask(int fd, uint16_t scheme, enum tls_sign_kind kind, int version,
    const void *in, size_t inlen, unsigned char *sig, size_t *siglen)
{
	struct tls_sign_req rq = {
		.scheme = scheme, .kind = (uint8_t)kind,
		.version = (uint8_t)version, .len = (uint32_t)inlen,
	};
	struct iovec iov[2] = {
		{ .iov_base = &rq, .iov_len = sizeof(rq) },
		{ .iov_base = (void *)(uintptr_t)in, .iov_len = inlen },
	};
	struct msghdr mh = { .msg_iov = iov, .msg_iovlen = 2 };
	ssize_t r;

	if (inlen > TLS_SIGN_MAX)
		return -EMSGSIZE;
	if (sendmsg(fd, &mh, MSG_NOSIGNAL) != (ssize_t)(sizeof(rq) + inlen))
		return -errno;
	do
		r = recv(fd, sig, *siglen, MSG_TRUNC);
	while (r < 0 && errno == EINTR);
	if (r < 0)
		return -errno;
	if (r == 0)
		return -EPERM;
	if ((size_t)r > *siglen)
		return -EMSGSIZE;
	*siglen = (size_t)r;
	return 0;
}

/*
 * The decimal number in s if it is all digits and within [min, max],
 * else -1 (min >= 0).  For the benchmarks' command lines.
 */
static inline long
tls_sign_number(const char *s, long min, long max)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v < min || v > max)
		return -1;
	return v;
}

/*
 * If the environment names a signer's socket (TLS_SIGNER=PATH), connect
 * to it on fd 3, where the servers look for their signer; else leave
 * fd 3 as it is (bench/tls-cost.c passes a socketpair there).  Returns 0,
 * or a negative errno.
 */
static inline int
tls_sign_connect_env(void)
{
	const char *path = getenv("TLS_SIGNER");
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd;

	if (path == NULL)
		return 0;
	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	strcpy(sa.sun_path, path);
	if ((fd = socket(AF_UNIX, SOCK_SEQPACKET, 0)) < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    (fd != 3 && dup2(fd, 3) < 0)) {
		int e = -errno;

		close(fd);
		return e;
	}
	if (fd != 3)
		close(fd);
	return 0;
}

/*
 * Whether tbs (len bytes) is shaped like what a TLS server signs in a
 * handshake of TLS version (12 or 13), with nothing else in it:
 *
 *   1.3: 64 spaces, "TLS 1.3, server CertificateVerify", a zero byte and
 *        the transcript hash (32 or 48 bytes) (RFC 8446, 4.4.3);
 *   1.2: client random (32), server random (32) and ServerECDHParams:
 *        named_curve (3), the curve, the length of the point and the
 *        point: x25519 (32 bytes), P-256 or P-384 (uncompressed, 0x04)
 *        (RFC 8422, 5.4).
 *
 * The client's side ("TLS 1.3, client CertificateVerify") is refused:
 * the server never signs it.  Returns 1 if so, 0 if not.
 */
static inline int
tls_sign_shape_ok(int version, const unsigned char *tbs, size_t len)
{
	static const char ctx13[] = "TLS 1.3, server CertificateVerify";

	if (version == 13) {
		size_t hdr = 64 + sizeof(ctx13);	/* the context and its 0 */

		if (len != hdr + 32 && len != hdr + 48)
			return 0;
		for (size_t i = 0; i < 64; i++)
			if (tbs[i] != 0x20)
				return 0;
		return memcmp(tbs + 64, ctx13, sizeof(ctx13)) == 0;
	}
	if (version == 12) {
		const unsigned char *p = tbs + 64;
		size_t point;

		if (len < 64 + 4 || p[0] != 3)
			return 0;
		switch (p[1] << 8 | p[2]) {
		case 0x001d: point = 32; break;	/* x25519 */
		case 0x0017: point = 65; break;	/* secp256r1 */
		case 0x0018: point = 97; break;	/* secp384r1 */
		default: return 0;
		}
		if (p[3] != point || len != 64 + 4 + point)
			return 0;
		return point == 32 || p[4] == 0x04;
	}
	return 0;
}

/* The hash length of a TLS SignatureScheme, 0 if not one we sign. */
static inline size_t
tls_sign_hash_len(unsigned scheme)
{
	switch (scheme) {
	case TLS_SIG_ECDSA_P256_SHA256:
	case TLS_SIG_RSA_PSS_RSAE_SHA256:
	case TLS_SIG_RSA_PKCS1_SHA256:
		return 32;
	case TLS_SIG_ECDSA_P384_SHA384:
	case TLS_SIG_RSA_PSS_RSAE_SHA384:
	case TLS_SIG_RSA_PKCS1_SHA384:
		return 48;
	}
	return 0;
}

/*
 * Whether a key holder should sign request rq with payload p: the
 * scheme is one TLS allows at that version (no PKCS #1 v1.5 in 1.3,
 * RFC 8446 4.4.3), and the payload is what TLS signs: a hash of the
 * scheme's length, a DigestInfo of exactly that hash (1.2 only), or the
 * to-be-signed data (tls_sign_shape_ok()).  A raw RSA block is never
 * signed: nothing in it can be checked.  Which key (EC or RSA) follows
 * from the scheme.  Returns NULL if so, else the reason.
 */
static inline const char *
tls_sign_check(const struct tls_sign_req *rq, const unsigned char *p)
{
	static const unsigned char di256[] = { 0x30, 0x31, 0x30, 0x0d, 0x06,
	    0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01, 0x05,
	    0x00, 0x04, 0x20 };
	static const unsigned char di384[] = { 0x30, 0x41, 0x30, 0x0d, 0x06,
	    0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x02, 0x05,
	    0x00, 0x04, 0x30 };
	size_t hl = tls_sign_hash_len(rq->scheme);
	int pkcs1 = (rq->scheme & 0xff) == 0x01;

	if (rq->version != 12 && rq->version != 13)
		return "not TLS 1.2 or 1.3";
	if (hl == 0 || (pkcs1 && rq->version == 13))
		return "scheme not allowed at this version";
	switch (rq->kind) {
	case TLS_SIGN_DIGEST:
		return rq->len == hl ? NULL : "hash length";
	case TLS_SIGN_DIGESTINFO:
		if (!pkcs1)
			return "DigestInfo for a scheme without one";
		if (rq->len != sizeof(di256) + hl ||
		    memcmp(p, hl == 32 ? di256 : di384, sizeof(di256)) != 0)
			return "DigestInfo not of the scheme's hash";
		return NULL;
	case TLS_SIGN_TBS:
		return tls_sign_shape_ok(rq->version, p, rq->len) ? NULL :
		    "not shaped like a TLS handshake signature";
	}
	return "kind not signed";
}

#endif
