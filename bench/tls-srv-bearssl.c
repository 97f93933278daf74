/* SPDX-License-Identifier: ISC */
/*
 * tls-srv-bearssl: one server-side TLS 1.2 handshake with BearSSL (which
 * has no TLS 1.3), holding no private key: a server policy of our own
 * (br_ssl_server_policy_class) picks an ECDHE suite and asks the signer
 * on fd 3 (bench/tls-sign.h) for the signature, handing over the hash.
 * TLS on fd 0/1; after the handshake one byte is sent and the peer read
 * until it closes.  BearSSL allocates nothing: the I/O buffer is here.
 *
 *   tls-srv-bearssl CHAIN.pem 12
 *
 * Exit 0 after a handshake, 1 on failure, 2 on a usage error.
 */
#include <bearssl.h>

#include "tls-sign.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define CHAIN_MAX	8

struct policy {
	const br_ssl_server_policy_class *vtable;
	br_x509_certificate *chain;
	size_t chain_len;
	int ec;			/* the key is ECDSA, else RSA */
};

static br_ssl_server_context cc;
static unsigned char iobuf[BR_SSL_BUFSIZE_BIDI];

/* Take the client's first ECDHE suite that our key can sign for. */
static int
policy_choose(const br_ssl_server_policy_class **pctx,
    const br_ssl_server_context *c, br_ssl_server_choices *choices)
{
	const struct policy *p = (const struct policy *)pctx;
	const br_suite_translated *st;
	size_t n;
	unsigned want = p->ec ? BR_SSLKEYX_ECDHE_ECDSA : BR_SSLKEYX_ECDHE_RSA;
	unsigned hashes = br_ssl_server_get_client_hashes(c);
	int hash;

	/* Bit n of the client's hashes is hash ID n (8 + n for ECDSA). */
	hashes = p->ec ? hashes >> 8 : hashes;
	hash = hashes & 1u << br_sha256_ID ? br_sha256_ID :
	    hashes & 1u << br_sha384_ID ? br_sha384_ID : 0;

	st = br_ssl_server_get_client_suites(c, &n);
	choices->chain = p->chain;
	choices->chain_len = p->chain_len;
	for (size_t u = 0; u < n && hash != 0; u++)
		if ((unsigned)(st[u][1] >> 12) == want) {
			choices->cipher_suite = st[u][0];
			choices->algo_id = (unsigned)hash + 0xFF00;
			return 1;
		}
	return 0;
}

static uint32_t
policy_keyx(const br_ssl_server_policy_class **pctx, unsigned char *data,
    size_t *len)
{
	(void)pctx, (void)data, (void)len;
	return 0;	/* no RSA key exchange: ECDHE only */
}

/* data holds the hash (hv_len bytes); the signature goes there. */
static size_t
policy_sign(const br_ssl_server_policy_class **pctx, unsigned algo_id,
    unsigned char *data, size_t hv_len, size_t len)
{
	const struct policy *p = (const struct policy *)pctx;
	unsigned hash = algo_id & 0xff, scheme;
	unsigned char hv[64];
	size_t n = len;

	if (hash != br_sha256_ID && hash != br_sha384_ID)
		return 0;
	scheme = (hash == br_sha256_ID ? 0x0400 : 0x0500) | (p->ec ? 3 : 1);
	memcpy(hv, data, hv_len);
	if (tls_sign_ask(3, (uint16_t)scheme, TLS_SIGN_DIGEST, 12, hv, hv_len,
	    data, &n) < 0)
		return 0;
	return n;
}

static const br_ssl_server_policy_class policy_vtable = {
	sizeof(struct policy), policy_choose, policy_keyx, policy_sign,
};

static void
fail(const char *what)
{
	fprintf(stderr, "tls-srv-bearssl: %s\n", what);
	exit(1);
}

/* br_pem_decoder's destination: append to the certificate being read. */
static void
append(void *ctx, const void *buf, size_t len)
{
	br_x509_certificate *c = ctx;

	if ((c->data = realloc(c->data, c->data_len + len)) == NULL)
		fail("realloc");
	memcpy(c->data + c->data_len, buf, len);
	c->data_len += len;
}

/* Read the PEM chain in path into chain; returns how many. */
static size_t
read_chain(const char *path, br_x509_certificate *chain)
{
	static char buf[65536];
	br_pem_decoder_context pc;
	size_t n = 0, len;
	const char *b = buf;
	FILE *f = fopen(path, "r");

	if (f == NULL)
		fail(path);
	len = fread(buf, 1, sizeof(buf), f);
	fclose(f);
	br_pem_decoder_init(&pc);
	while (len > 0) {
		size_t t = br_pem_decoder_push(&pc, b, len);

		b += t;
		len -= t;
		switch (br_pem_decoder_event(&pc)) {
		case BR_PEM_BEGIN_OBJ:
			if (n == CHAIN_MAX)
				fail("chain too long");
			br_pem_decoder_setdest(&pc, append, &chain[n]);
			break;
		case BR_PEM_END_OBJ:
			n++;
			break;
		case BR_PEM_ERROR:
			fail(path);
		}
	}
	return n;
}

static int
io_read(void *ctx, unsigned char *buf, size_t len)
{
	ssize_t r;

	(void)ctx;
	while ((r = read(0, buf, len)) < 0 && errno == EINTR)
		;
	return r > 0 ? (int)r : -1;
}

static int
io_write(void *ctx, const unsigned char *buf, size_t len)
{
	ssize_t r;

	(void)ctx;
	while ((r = write(1, buf, len)) < 0 && errno == EINTR)
		;
	return r > 0 ? (int)r : -1;
}

int
main(int argc, char *argv[])
{
	static br_x509_certificate chain[CHAIN_MAX];
	/* Never used: the policy signs.  br_ssl_server_init_full_*() wants
	 * a key to set up its own policy, which is replaced at once. */
	static br_ec_private_key no_ec = { BR_EC_secp256r1, NULL, 0 };
	static br_rsa_private_key no_rsa;
	static struct policy pol = { &policy_vtable, chain, 0, 0 };
	br_x509_decoder_context dc;
	br_sslio_context ioc;
	unsigned char buf[4096];

	if (argc != 3 || strcmp(argv[2], "12")) {
		fprintf(stderr, "usage: tls-srv-bearssl CHAIN.pem 12\n");
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	if ((pol.chain_len = read_chain(argv[1], chain)) == 0)
		fail("no certificate");
	br_x509_decoder_init(&dc, NULL, NULL);
	br_x509_decoder_push(&dc, chain[0].data, chain[0].data_len);
	if (br_x509_decoder_get_pkey(&dc) == NULL)
		fail("leaf certificate");
	pol.ec = br_x509_decoder_get_pkey(&dc)->key_type == BR_KEYTYPE_EC;
	if (pol.ec)
		br_ssl_server_init_full_ec(&cc, chain, pol.chain_len,
		    BR_KEYTYPE_EC, &no_ec);
	else
		br_ssl_server_init_full_rsa(&cc, chain, pol.chain_len, &no_rsa);
	br_ssl_server_set_policy(&cc, &pol.vtable);
	br_ssl_engine_set_versions(&cc.eng, BR_TLS12, BR_TLS12);
	br_ssl_engine_set_buffer(&cc.eng, iobuf, sizeof(iobuf), 1);
	if (!br_ssl_server_reset(&cc))
		fail("reset");
	br_sslio_init(&ioc, &cc.eng, io_read, NULL, io_write, NULL);
	if (br_sslio_write_all(&ioc, "k", 1) < 0 || br_sslio_flush(&ioc) < 0) {
		fprintf(stderr, "tls-srv-bearssl: handshake: error %d\n",
		    br_ssl_engine_last_error(&cc.eng));
		return 1;
	}
	while (br_sslio_read(&ioc, buf, sizeof(buf)) > 0)
		;
	return 0;
}
