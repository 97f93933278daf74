/* SPDX-License-Identifier: ISC */
/*
 * tls-srv-openssl: one server-side TLS handshake with OpenSSL 3.0,
 * holding no private key: the key is the certificate's public key with an
 * EC_KEY_METHOD or RSA_METHOD whose private-key operation asks the signer
 * on fd 3 (bench/tls-sign.h).  ECDSA hands over the hash; RSA-PSS the
 * block OpenSSL has already padded, for a raw private-key operation;
 * RSA PKCS #1 v1.5 the DigestInfo.
 * These methods are deprecated in 3.0; the way that hands over the
 * to-be-signed data itself is a provider (docs/tls.md).  TLS on fd 0/1;
 * after the handshake one byte is sent and the peer read until it
 * closes.  The configuration file is not read.
 *
 *   tls-srv-openssl CHAIN.pem 12|13
 *
 * Exit 0 after a handshake, 1 on failure, 2 on a usage error.
 */
#define OPENSSL_SUPPRESS_DEPRECATED
#include "tls-sign.h"

#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int version;

/* ECDSA_sign() of the EC_KEY_METHOD: dgst is the hash. */
static int
ec_sign(int type, const unsigned char *dgst, int dlen, unsigned char *sig,
    unsigned int *siglen, const BIGNUM *kinv, const BIGNUM *r, EC_KEY *eckey)
{
	size_t n = (size_t)ECDSA_size(eckey);

	(void)type, (void)kinv, (void)r;
	if (tls_sign_ask(3, dlen == 48 ? TLS_SIG_ECDSA_P384_SHA384 :
	    TLS_SIG_ECDSA_P256_SHA256, TLS_SIGN_DIGEST, version, dgst,
	    (size_t)dlen, sig, &n) < 0)
		return 0;
	*siglen = (unsigned)n;
	return 1;
}

/* The private-key operation of the RSA_METHOD: for PSS, from is the
 * block OpenSSL has padded itself (RSA_NO_PADDING); for PKCS #1 v1.5,
 * the DigestInfo. */
static int
rsa_priv_enc(int flen, const unsigned char *from, unsigned char *to,
    RSA *rsa, int padding)
{
	size_t n = (size_t)RSA_size(rsa);
	enum tls_sign_kind kind = padding == RSA_NO_PADDING ? TLS_SIGN_RAW_RSA :
	    TLS_SIGN_DIGESTINFO;

	if ((padding != RSA_NO_PADDING && padding != RSA_PKCS1_PADDING) ||
	    tls_sign_ask(3, TLS_SIG_RSA_PKCS1_SHA256, kind, version, from,
	    (size_t)flen, to, &n) < 0)
		return -1;
	return (int)n;
}

/* The certificate's public key, with a private-key operation on fd 3. */
static EVP_PKEY *
external_key(X509 *leaf)
{
	EVP_PKEY *pub = X509_get0_pubkey(leaf), *k = EVP_PKEY_new();
	EC_KEY *ec;
	RSA *rsa;

	if (pub == NULL || k == NULL)
		return NULL;
	if ((ec = EVP_PKEY_get1_EC_KEY(pub)) != NULL) {
		EC_KEY_METHOD *m = EC_KEY_METHOD_new(EC_KEY_get_default_method());
		int (*osign)(int, const unsigned char *, int, unsigned char *,
		    unsigned int *, const BIGNUM *, const BIGNUM *, EC_KEY *);
		int (*setup)(EC_KEY *, BN_CTX *, BIGNUM **, BIGNUM **);
		ECDSA_SIG *(*sign_sig)(const unsigned char *, int, const BIGNUM *,
		    const BIGNUM *, EC_KEY *);

		EC_KEY_METHOD_get_sign(m, &osign, &setup, &sign_sig);
		EC_KEY_METHOD_set_sign(m, ec_sign, setup, sign_sig);
		if (EC_KEY_set_method(ec, m) != 1 || EVP_PKEY_assign_EC_KEY(k, ec) != 1)
			return NULL;
		return k;
	}
	ERR_clear_error();
	if ((rsa = EVP_PKEY_get1_RSA(pub)) != NULL) {
		RSA_METHOD *m = RSA_meth_dup(RSA_get_default_method());

		if (m == NULL || RSA_meth_set_priv_enc(m, rsa_priv_enc) != 1 ||
		    RSA_set_method(rsa, m) != 1 || EVP_PKEY_assign_RSA(k, rsa) != 1)
			return NULL;
		return k;
	}
	return NULL;
}

static void
fail(const char *what)
{
	fprintf(stderr, "tls-srv-openssl: %s\n", what);
	ERR_print_errors_fp(stderr);
	exit(1);
}

int
main(int argc, char *argv[])
{
	SSL_CTX *ctx;
	EVP_PKEY *key;
	char buf[4096];
	SSL *ssl;
	int v;

	if (argc != 3 || (strcmp(argv[2], "12") && strcmp(argv[2], "13"))) {
		fprintf(stderr, "usage: tls-srv-openssl CHAIN.pem 12|13\n");
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);	/* an alert to a peer that has gone */
	version = argv[2][1] == '3' ? 13 : 12;
	v = version == 13 ? TLS1_3_VERSION : TLS1_2_VERSION;
	if (OPENSSL_init_ssl(OPENSSL_INIT_NO_LOAD_CONFIG, NULL) != 1 ||
	    (ctx = SSL_CTX_new(TLS_server_method())) == NULL)
		fail("init");
	SSL_CTX_set_min_proto_version(ctx, v);
	SSL_CTX_set_max_proto_version(ctx, v);
	SSL_CTX_set_num_tickets(ctx, 0);
	SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET | SSL_OP_NO_RENEGOTIATION);
	if (SSL_CTX_use_certificate_chain_file(ctx, argv[1]) != 1)
		fail(argv[1]);
	if ((key = external_key(SSL_CTX_get0_certificate(ctx))) == NULL ||
	    SSL_CTX_use_PrivateKey(ctx, key) != 1)
		fail("external key");
	if ((ssl = SSL_new(ctx)) == NULL || SSL_set_rfd(ssl, 0) != 1 ||
	    SSL_set_wfd(ssl, 1) != 1)
		fail("SSL_new");
	if (SSL_accept(ssl) != 1)
		fail("handshake");
	if (SSL_write(ssl, "k", 1) != 1)
		fail("write");
	while (SSL_read(ssl, buf, sizeof(buf)) > 0)
		;
	return 0;
}
