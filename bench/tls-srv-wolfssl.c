/* SPDX-License-Identifier: ISC */
/*
 * tls-srv-wolfssl: one server-side TLS handshake with wolfSSL, holding
 * no private key: PK callbacks (HAVE_PK_CALLBACKS) ask the signer on
 * fd 3 (bench/tls-sign.h) for the one signature, and the certificate's
 * public key stands in for the private key, as wolfSSL allows when such
 * callbacks are set.  ECDSA and RSA-PSS hand over the hash, RSA PKCS #1
 * the DigestInfo.  TLS on fd 0/1; after the handshake one byte is sent
 * and the peer read until it closes.
 *
 *   tls-srv-wolfssl CHAIN.pem 12|13
 *
 * Exit 0 after a handshake, 1 on failure, 2 on a usage error.
 */
#include <wolfssl/options.h>
#include <wolfssl/ssl.h>
#include <wolfssl/wolfcrypt/asn.h>
#include <wolfssl/wolfcrypt/hash.h>

#include "tls-sign.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int version;

static int
ecc_sign(WOLFSSL *ssl, const unsigned char *in, unsigned int inSz,
    unsigned char *out, word32 *outSz, const unsigned char *keyDer,
    unsigned int keySz, void *ctx)
{
	size_t n = *outSz;

	(void)ssl, (void)keyDer, (void)keySz, (void)ctx;
	if (tls_sign_ask(3, inSz == 48 ? TLS_SIG_ECDSA_P384_SHA384 :
	    TLS_SIG_ECDSA_P256_SHA256, TLS_SIGN_DIGEST, version, in, inSz,
	    out, &n) < 0)
		return -1;
	*outSz = (word32)n;
	return 0;
}

static int
rsa_sign(WOLFSSL *ssl, const unsigned char *in, unsigned int inSz,
    unsigned char *out, word32 *outSz, const unsigned char *keyDer,
    unsigned int keySz, void *ctx)
{
	size_t n = *outSz;

	(void)ssl, (void)keyDer, (void)keySz, (void)ctx;
	if (tls_sign_ask(3, TLS_SIG_RSA_PKCS1_SHA256, TLS_SIGN_DIGESTINFO,
	    version, in, inSz, out, &n) < 0)
		return -1;
	*outSz = (word32)n;
	return 0;
}

static int
rsa_pss_sign(WOLFSSL *ssl, const unsigned char *in, unsigned int inSz,
    unsigned char *out, unsigned int *outSz, int hash, int mgf,
    const unsigned char *keyDer, unsigned int keySz, void *ctx)
{
	size_t n = *outSz;

	(void)ssl, (void)mgf, (void)keyDer, (void)keySz, (void)ctx;
	if (tls_sign_ask(3, hash == WC_HASH_TYPE_SHA384 ?
	    TLS_SIG_RSA_PSS_RSAE_SHA384 : TLS_SIG_RSA_PSS_RSAE_SHA256,
	    TLS_SIGN_DIGEST, version, in, inSz, out, &n) < 0)
		return -1;
	*outSz = (unsigned)n;
	return 0;
}

static void
fail(const char *what)
{
	fprintf(stderr, "tls-srv-wolfssl: %s\n", what);
	exit(1);
}

/* The leaf's SubjectPublicKeyInfo (DER) from the PEM chain in path, into
 * out (room for *outsz bytes).  0, or -1. */
static int
leaf_public_key(const char *path, unsigned char *out, word32 *outsz)
{
	static unsigned char pem[65536], der[8192];
	struct DecodedCert dc;
	FILE *f = fopen(path, "r");
	size_t n;
	int dersz, r;

	if (f == NULL)
		return -1;
	n = fread(pem, 1, sizeof(pem), f);
	fclose(f);
	if ((dersz = wc_CertPemToDer(pem, (int)n, der, sizeof(der), CERT_TYPE)) <= 0)
		return -1;
	wc_InitDecodedCert(&dc, der, (word32)dersz, NULL);
	r = wc_ParseCert(&dc, CERT_TYPE, NO_VERIFY, NULL) == 0 &&
	    wc_GetPubKeyDerFromCert(&dc, out, outsz) == 0 ? 0 : -1;
	wc_FreeDecodedCert(&dc);
	return r;
}

int
main(int argc, char *argv[])
{
	unsigned char der[1024];
	word32 dersz = sizeof(der);
	WOLFSSL_CTX *ctx;
	WOLFSSL *ssl;
	char buf[4096];

	if (argc != 3 || (strcmp(argv[2], "12") && strcmp(argv[2], "13"))) {
		fprintf(stderr, "usage: tls-srv-wolfssl CHAIN.pem 12|13\n");
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	version = argv[2][1] == '3' ? 13 : 12;
	if (wolfSSL_Init() != WOLFSSL_SUCCESS ||
	    (ctx = wolfSSL_CTX_new(version == 13 ? wolfTLSv1_3_server_method() :
	    wolfTLSv1_2_server_method())) == NULL)
		fail("init");
	wolfSSL_CTX_SetEccSignCb(ctx, ecc_sign);
	wolfSSL_CTX_SetRsaSignCb(ctx, rsa_sign);
	wolfSSL_CTX_SetRsaPssSignCb(ctx, rsa_pss_sign);
	if (wolfSSL_CTX_use_certificate_chain_file(ctx, argv[1]) != WOLFSSL_SUCCESS)
		fail(argv[1]);
	/* The public key in place of the private one (WOLF_PRIVATE_KEY_ID). */
	if (leaf_public_key(argv[1], der, &dersz) < 0 ||
	    wolfSSL_CTX_use_PrivateKey_buffer(ctx, der, (long)dersz,
	    WOLFSSL_FILETYPE_ASN1) != WOLFSSL_SUCCESS)
		fail("external key");
	if (version == 13)
		wolfSSL_CTX_no_ticket_TLSv13(ctx);
	if ((ssl = wolfSSL_new(ctx)) == NULL ||
	    wolfSSL_set_read_fd(ssl, 0) != WOLFSSL_SUCCESS ||
	    wolfSSL_set_write_fd(ssl, 1) != WOLFSSL_SUCCESS)
		fail("wolfSSL_new");
	if (wolfSSL_accept(ssl) != WOLFSSL_SUCCESS) {
		fprintf(stderr, "tls-srv-wolfssl: handshake: %d\n",
		    wolfSSL_get_error(ssl, 0));
		return 1;
	}
	if (wolfSSL_write(ssl, "k", 1) != 1)
		fail("write");
	while (wolfSSL_read(ssl, buf, sizeof(buf)) > 0)
		;
	return 0;
}
