/* SPDX-License-Identifier: ISC */
/*
 * The TLS signature a handler asks of the hub (H_TLS_SIGN, C_TLS_SIGNATURE):
 * the SignatureScheme code points, what the bytes are, and the check the
 * key holder makes before it signs (tls_sign_check).  Pure code, shared by
 * the handler (handler/tls.c, which asks) and the hub (hub/tlskey.c,
 * which signs).  docs/tls.md, "The key holder", says what can be checked
 * in a hash and what cannot.
 */
#ifndef SB_TLSSIGN_H
#define SB_TLSSIGN_H

#include <stddef.h>

/* TLS SignatureScheme code points (RFC 8446, 4.2.3). */
#define TLS_SIG_RSA_PKCS1_SHA256	0x0401
#define TLS_SIG_ECDSA_P256_SHA256	0x0403
#define TLS_SIG_RSA_PKCS1_SHA384	0x0501
#define TLS_SIG_ECDSA_P384_SHA384	0x0503
#define TLS_SIG_RSA_PSS_RSAE_SHA256	0x0804
#define TLS_SIG_RSA_PSS_RSAE_SHA384	0x0805

/* What the bytes to sign are (H_TLS_SIGN's third field). */
enum tls_sign_kind {
	TLS_SIGN_BAD,		/* none of these */
	TLS_SIGN_DIGEST,	/* "digest": the hash of the signed content */
	TLS_SIGN_DIGESTINFO,	/* "digestinfo": RSA PKCS #1 v1.5, TLS 1.2:
				 * the DER DigestInfo of the hash */
};

#define TLS_SIGN_IN_MAX		96	/* bytes to sign: a DigestInfo of
					 * SHA-384 is 67 */
#define TLS_SIGN_OUT_MAX	1024	/* bytes of a signature (RSA-8192) */
#define TLS_CHAIN_MAX		15000	/* bytes of PEM, the whole chain */

enum tls_sign_kind tls_sign_kind_parse(const char *);
const char	*tls_sign_kind_name(enum tls_sign_kind);
size_t		 tls_sign_hash_len(unsigned);
const char	*tls_sign_check(unsigned, unsigned, enum tls_sign_kind,
		    const unsigned char *, size_t);
size_t		 tls_hex_encode(char *, size_t, const unsigned char *, size_t);
int		 tls_hex_decode(unsigned char *, size_t, const char *);

#endif /* SB_TLSSIGN_H */
