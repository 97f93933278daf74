/* SPDX-License-Identifier: ISC */
/*
 * tls-srv-mbedtls: one server-side TLS 1.2 handshake with Mbed TLS 2.28
 * (whose TLS 1.3 is a client-side prototype), holding no private key:
 * the asynchronous private-key callbacks (MBEDTLS_SSL_ASYNC_PRIVATE,
 * which this build defines) ask the signer on fd 3 (bench/tls-sign.h),
 * handing over the hash; the certificate's public key stands in for the
 * private one.  TLS on fd 0/1; after the handshake one byte is sent and
 * the peer read until it closes.
 *
 *   tls-srv-mbedtls CHAIN.pem 12
 *
 * Exit 0 after a handshake, 1 on failure, 2 on a usage error.
 */
#include <mbedtls/ctr_drbg.h>
#include <mbedtls/entropy.h>
#include <mbedtls/error.h>
#include <mbedtls/net_sockets.h>
#include <mbedtls/ssl.h>
#include <mbedtls/x509_crt.h>

#include "tls-sign.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef MBEDTLS_SSL_ASYNC_PRIVATE
#error "build with -DMBEDTLS_SSL_ASYNC_PRIVATE"
#endif

static unsigned char sig[TLS_SIGN_MAX];
static size_t siglen;

/* Sign at once (the signer answers in microseconds); resume hands it on. */
static int
sign_start(mbedtls_ssl_context *ssl, mbedtls_x509_crt *cert,
    mbedtls_md_type_t md, const unsigned char *hash, size_t hash_len)
{
	int ec = mbedtls_pk_get_type(&cert->pk) == MBEDTLS_PK_ECKEY;
	unsigned scheme = (md == MBEDTLS_MD_SHA384 ? 0x0500 : 0x0400) | (ec ? 3 : 1);

	(void)ssl;
	if (md != MBEDTLS_MD_SHA256 && md != MBEDTLS_MD_SHA384)
		return MBEDTLS_ERR_SSL_HW_ACCEL_FALLTHROUGH;
	siglen = sizeof(sig);
	if (tls_sign_ask(3, (uint16_t)scheme, TLS_SIGN_DIGEST, 12, hash,
	    hash_len, sig, &siglen) < 0)
		return MBEDTLS_ERR_SSL_PRIVATE_KEY_REQUIRED;
	return 0;
}

static int
sign_resume(mbedtls_ssl_context *ssl, unsigned char *out, size_t *out_len,
    size_t room)
{
	(void)ssl;
	if (siglen > room)
		return MBEDTLS_ERR_SSL_BUFFER_TOO_SMALL;
	memcpy(out, sig, siglen);
	*out_len = siglen;
	return 0;
}

static void
fail(const char *what, int r)
{
	char e[128];

	mbedtls_strerror(r, e, sizeof(e));
	fprintf(stderr, "tls-srv-mbedtls: %s: %s\n", what, e);
	exit(1);
}

int
main(int argc, char *argv[])
{
	static mbedtls_entropy_context entropy;
	static mbedtls_ctr_drbg_context drbg;
	static mbedtls_x509_crt chain;
	static mbedtls_ssl_config conf;
	static mbedtls_ssl_context ssl;
	mbedtls_net_context sock = { 0 };
	unsigned char buf[4096];
	int r;

	if (argc != 3 || strcmp(argv[2], "12")) {
		fprintf(stderr, "usage: tls-srv-mbedtls CHAIN.pem 12\n");
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	mbedtls_entropy_init(&entropy);
	mbedtls_ctr_drbg_init(&drbg);
	mbedtls_x509_crt_init(&chain);
	mbedtls_ssl_config_init(&conf);
	mbedtls_ssl_init(&ssl);
	if ((r = mbedtls_ctr_drbg_seed(&drbg, mbedtls_entropy_func, &entropy,
	    NULL, 0)) != 0)
		fail("random", r);
	if ((r = mbedtls_x509_crt_parse_file(&chain, argv[1])) != 0)
		fail(argv[1], r);
	if ((r = mbedtls_ssl_config_defaults(&conf, MBEDTLS_SSL_IS_SERVER,
	    MBEDTLS_SSL_TRANSPORT_STREAM, MBEDTLS_SSL_PRESET_DEFAULT)) != 0)
		fail("config", r);
	mbedtls_ssl_conf_min_version(&conf, 3, MBEDTLS_SSL_MINOR_VERSION_3);
	mbedtls_ssl_conf_rng(&conf, mbedtls_ctr_drbg_random, &drbg);
	mbedtls_ssl_conf_async_private_cb(&conf, sign_start, NULL, sign_resume,
	    NULL, NULL);
	/* The public key in place of the private one: the callbacks sign. */
	if ((r = mbedtls_ssl_conf_own_cert(&conf, &chain, &chain.pk)) != 0 ||
	    (r = mbedtls_ssl_setup(&ssl, &conf)) != 0)
		fail("setup", r);
	/* fd 0 and 1 are the same socket: one context for both ways. */
	mbedtls_ssl_set_bio(&ssl, &sock, mbedtls_net_send, mbedtls_net_recv, NULL);
	do
		r = mbedtls_ssl_handshake(&ssl);
	while (r == MBEDTLS_ERR_SSL_WANT_READ || r == MBEDTLS_ERR_SSL_WANT_WRITE ||
	    r == MBEDTLS_ERR_SSL_ASYNC_IN_PROGRESS);
	if (r != 0)
		fail("handshake", r);
	if ((r = mbedtls_ssl_write(&ssl, (const unsigned char *)"k", 1)) != 1)
		fail("write", r);
	while (mbedtls_ssl_read(&ssl, buf, sizeof(buf)) > 0)
		;
	return 0;
}
