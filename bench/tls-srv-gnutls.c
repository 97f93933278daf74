/* SPDX-License-Identifier: ISC */
/*
 * tls-srv-gnutls: one server-side TLS handshake with GnuTLS, holding no
 * private key: the certificate chain is loaded, and the one signature of
 * the handshake is asked of the signer on fd 3 (bench/tls-sign.h) through
 * gnutls_privkey_import_ext4().  TLS on fd 0/1.  After the handshake it
 * sends one byte and reads until the peer closes.
 *
 *   tls-srv-gnutls CHAIN.pem 12|13 [FILE]
 *
 * With FILE it is the churn floor of bench/tls-churn.mjs instead: after
 * the handshake it reads one HTTP request (up to its blank line), answers
 * it with FILE's bytes (HTTP/1.0, at most 4 KiB), sends close_notify and
 * exits, which is what `openssl s_time -www` waits for.
 *
 * Exit 0 after a handshake, 1 on failure (the reason on stderr), 2 on a
 * usage error.  Run by bench/tls-cost.c (signer on fd 3); also the
 * key-less process B of the prototype (bench/tls-proto.sh), which
 * connects to the signer's socket named by TLS_SIGNER when it has a
 * signature to ask for (not before: bench/tls-signer.c serves one
 * connection at a time).
 */
#include "tls-sign.h"

#include <gnutls/abstract.h>
#include <gnutls/gnutls.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CHAIN_MAX	8

static gnutls_session_t session;

/* The TLS code point of GnuTLS's signature algorithm, and the kind of
 * bytes GnuTLS hands over with it; 0 if we do not offer it. */
static unsigned
scheme_of(gnutls_sign_algorithm_t algo, enum tls_sign_kind *kind)
{
	*kind = TLS_SIGN_DIGEST;
	switch (algo) {
	case GNUTLS_SIGN_ECDSA_SHA256:
	case GNUTLS_SIGN_ECDSA_SECP256R1_SHA256:
		return TLS_SIG_ECDSA_P256_SHA256;
	case GNUTLS_SIGN_RSA_PSS_RSAE_SHA256:
		return TLS_SIG_RSA_PSS_RSAE_SHA256;
	case GNUTLS_SIGN_RSA_PSS_RSAE_SHA384:
		return TLS_SIG_RSA_PSS_RSAE_SHA384;
	case GNUTLS_SIGN_RSA_SHA256:
		return TLS_SIG_RSA_PKCS1_SHA256;
	case GNUTLS_SIGN_RSA_SHA384:
		return TLS_SIG_RSA_PKCS1_SHA384;
	case GNUTLS_SIGN_RSA_RAW:
		/* TLS 1.2 PKCS #1 v1.5: the DigestInfo, the hash's OID inside;
		 * key_sign_hash() tells SHA-256 from SHA-384 by its length. */
		*kind = TLS_SIGN_DIGESTINFO;
		return TLS_SIG_RSA_PKCS1_SHA256;
	default:
		return 0;
	}
}

/* GnuTLS asks what the external key is and which algorithms it signs. */
static int
key_info(gnutls_privkey_t key, unsigned int flags, void *userdata)
{
	gnutls_pcert_st *leaf = userdata;
	unsigned bits = 0;
	int pk = gnutls_pubkey_get_pk_algorithm(leaf->pubkey, &bits);
	enum tls_sign_kind kind;
	gnutls_sign_algorithm_t algo;

	(void)key;
	if (flags & GNUTLS_PRIVKEY_INFO_PK_ALGO)
		return pk;
	if (flags & GNUTLS_PRIVKEY_INFO_PK_ALGO_BITS)
		return (int)bits;
	if (flags & GNUTLS_PRIVKEY_INFO_HAVE_SIGN_ALGO) {
		algo = GNUTLS_FLAGS_TO_SIGN_ALGO(flags);
		if (algo == GNUTLS_SIGN_RSA_RAW || scheme_of(algo, &kind) == 0)
			return 0;
		return (gnutls_sign_get_pk_algorithm(algo) == GNUTLS_PK_ECDSA) ==
		    (pk == GNUTLS_PK_ECDSA);
	}
	return -1;
}

/* GnuTLS hands over the hash (or DigestInfo) to sign: ask fd 3. */
static int
key_sign_hash(gnutls_privkey_t key, gnutls_sign_algorithm_t algo,
    void *userdata, unsigned int flags, const gnutls_datum_t *hash,
    gnutls_datum_t *signature)
{
	unsigned char sig[TLS_SIGN_MAX];
	size_t n = sizeof(sig);
	enum tls_sign_kind kind;
	unsigned scheme = scheme_of(algo, &kind);
	int version = gnutls_protocol_get_version(session) == GNUTLS_TLS1_3 ? 13 : 12;

	(void)key, (void)userdata, (void)flags;
	if (tls_sign_connect_env() < 0)
		return GNUTLS_E_PK_SIGN_FAILED;
	if (kind == TLS_SIGN_DIGESTINFO && hash->size == 19 + 48)
		scheme = TLS_SIG_RSA_PKCS1_SHA384;
	if (scheme == 0 ||
	    tls_sign_ask(3, (uint16_t)scheme, kind, version, hash->data,
	    hash->size, sig, &n) < 0)
		return GNUTLS_E_PK_SIGN_FAILED;
	if ((signature->data = gnutls_malloc(n)) == NULL)
		return GNUTLS_E_MEMORY_ERROR;
	memcpy(signature->data, sig, n);
	signature->size = (unsigned)n;
	return 0;
}

static void
fail(const char *what, int r)
{
	fprintf(stderr, "tls-srv-gnutls: %s: %s\n", what, gnutls_strerror(r));
	exit(1);
}

/* The churn floor: one request (to its blank line), FILE as the answer,
 * close_notify. */
static int
answer(const char *file)
{
	char req[4096], body[4096], head[128];
	size_t have = 0, n;
	ssize_t r;
	FILE *fp = fopen(file, "rb");

	if (fp == NULL)
		fail(file, GNUTLS_E_FILE_ERROR);
	n = fread(body, 1, sizeof(body), fp);
	fclose(fp);
	while (have < sizeof(req) - 1) {
		if ((r = gnutls_record_recv(session, req + have,
		    sizeof(req) - 1 - have)) <= 0)
			fail("request", (int)r);
		have += (size_t)r;
		req[have] = '\0';
		if (strstr(req, "\r\n\r\n") != NULL)
			break;
	}
	snprintf(head, sizeof(head), "HTTP/1.0 200 OK\r\nContent-Type: "
	    "text/xml\r\nContent-Length: %zu\r\n\r\n", n);
	if (gnutls_record_send(session, head, strlen(head)) < 0 ||
	    gnutls_record_send(session, body, n) < 0)
		fail("send", GNUTLS_E_PUSH_ERROR);
	gnutls_bye(session, GNUTLS_SHUT_WR);
	return 0;
}

int
main(int argc, char *argv[])
{
	gnutls_certificate_credentials_t cred;
	gnutls_pcert_st *chain;
	unsigned nchain = CHAIN_MAX;
	gnutls_privkey_t key;
	char buf[4096];
	int r;

	if (argc < 3 || argc > 4 ||
	    (strcmp(argv[2], "12") && strcmp(argv[2], "13"))) {
		fprintf(stderr, "usage: tls-srv-gnutls CHAIN.pem 12|13 [FILE]\n");
		return 2;
	}
	if ((chain = calloc(CHAIN_MAX, sizeof(*chain))) == NULL)
		fail("calloc", GNUTLS_E_MEMORY_ERROR);
	if ((r = gnutls_certificate_allocate_credentials(&cred)) < 0 ||
	    (r = gnutls_pcert_list_import_x509_file(chain, &nchain, argv[1],
	    GNUTLS_X509_FMT_PEM, NULL, NULL, 0)) < 0)
		fail(argv[1], r);
	/* Else gnutls_certificate_set_key() checks the key against the
	 * certificate with a test signature: a second request to the signer,
	 * over data that is no handshake's (the signer must refuse it). */
	gnutls_certificate_set_flags(cred, GNUTLS_CERTIFICATE_SKIP_KEY_CERT_MATCH);
	if ((r = gnutls_privkey_init(&key)) < 0 ||
	    (r = gnutls_privkey_import_ext4(key, &chain[0], NULL, key_sign_hash,
	    NULL, NULL, key_info, 0)) < 0 ||
	    (r = gnutls_certificate_set_key(cred, NULL, 0, chain, (int)nchain, key)) < 0)
		fail("external key", r);
	if ((r = gnutls_init(&session, GNUTLS_SERVER | GNUTLS_NO_TICKETS)) < 0 ||
	    (r = gnutls_priority_set_direct(session, argv[2][1] == '3' ?
	    "NORMAL:-VERS-ALL:+VERS-TLS1.3" : "NORMAL:-VERS-ALL:+VERS-TLS1.2",
	    NULL)) < 0 ||
	    (r = gnutls_credentials_set(session, GNUTLS_CRD_CERTIFICATE, cred)) < 0)
		fail("session", r);
	gnutls_transport_set_int2(session, 0, 1);
	do
		r = gnutls_handshake(session);
	while (r < 0 && !gnutls_error_is_fatal(r));
	if (r < 0)
		fail("handshake", r);
	if (argc == 4)
		return answer(argv[3]);
	if ((r = (int)gnutls_record_send(session, "k", 1)) != 1)
		fail("send", r);
	while (gnutls_record_recv(session, buf, sizeof(buf)) > 0)
		;
	return 0;
}
