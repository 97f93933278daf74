/* SPDX-License-Identifier: ISC */
/*
 * TLS for a --tls handler (switchboard-tls@.service, port 443), under the
 * client's I/O: client_io.c calls tls_read() and tls_write() instead of
 * read() and write(), and adds tls_events() to what it waits for, so
 * nothing above it knows the bytes were encrypted.  GnuTLS does the work
 * (docs/tls.md says why GnuTLS).
 *
 * The handler holds no private key.  At start it passes the client's
 * socket to the hub (H_TLS_START: the hub takes the connection's
 * addresses from it, the one identity a handler cannot mint) and gets
 * the certificate chain back (C_TLS_CHAIN).  The key is an external one
 * (gnutls_privkey_import_ext4): GnuTLS hands the hash to sign to
 * sign_hash(), which asks the hub (H_TLS_SIGN) and waits for the answer
 * (C_TLS_SIGNATURE).  The wait blocks this process, which serves this
 * one connection only; the hub signs off its event loop.
 *
 * Bad input ends the connection through client_io.c's refusal (-EPROTO,
 * logged by the hub): a handshake that fails (plaintext, garbage, a
 * ClientHello over TLS_HELLO_MAX or more than TLS_HANDSHAKE_IN_MAX bytes
 * before the handshake is done, an unknown version), one that does not
 * complete within handshake_timeout, a record over the TLS limit, a TLS
 * 1.2 renegotiation, or any later fatal alert.
 */
#include <sys/epoll.h>

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <gnutls/abstract.h>
#include <gnutls/gnutls.h>

#include "handler.h"
#include "tlssign.h"

/*
 * No GnuTLS set-up before main(): linked statically, its constructor
 * would parse its ASN.1 tables and read the system's policy in every
 * handler, port 80's too, which costs about 150 KiB of memory each and
 * time at every spawn (docs/benchmarks.md).  A --tls handler calls
 * gnutls_global_init() itself (tls_setup).
 */
GNUTLS_SKIP_GLOBAL_INIT

/* TLS 1.3 and 1.2, GnuTLS's NORMAL ciphers (and the system's policy in
 * /etc/gnutls/config); docs/tls.md, "Cipher policy". */
#define TLS_PRIORITY	"NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2:" \
			"-KX-ALL:+ECDHE-ECDSA:+ECDHE-RSA"
#define TLS_CHAIN_CERTS	8		/* certificates in the chain, at most */
#define TLS_HELLO_MAX	(16 * 1024)	/* bytes of a handshake message */
/* Bytes a client may send before its handshake is done: GnuTLS buffers a
 * handshake message up to the length its header claims (16 MiB) before
 * it checks TLS_HELLO_MAX, so the count is kept here (tls_pull). */
#define TLS_HANDSHAKE_IN_MAX	(24 * 1024)
#define TLS_SIGN_WAIT_MS 5000		/* for the hub's signature */

/* The reason the connection is refused, in tls.error; returns -EPROTO. */
static int __attribute__((format(printf, 2, 3)))
tls_refuse(struct conn *c, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(c->tls.error, sizeof(c->tls.error), fmt, ap);
	va_end(ap);
	c->tls.failed = 1;
	return -EPROTO;
}

/* The TLS code point of GnuTLS's algorithm and the kind of bytes GnuTLS
 * hands over with it; 0 if the hub would not sign it. */
static unsigned
scheme_of(gnutls_sign_algorithm_t algo, enum tls_sign_kind *kind)
{
	*kind = TLS_SIGN_DIGEST;
	switch (algo) {
	case GNUTLS_SIGN_ECDSA_SHA256:
	case GNUTLS_SIGN_ECDSA_SECP256R1_SHA256:
		return TLS_SIG_ECDSA_P256_SHA256;
	case GNUTLS_SIGN_ECDSA_SHA384:
	case GNUTLS_SIGN_ECDSA_SECP384R1_SHA384:
		return TLS_SIG_ECDSA_P384_SHA384;
	case GNUTLS_SIGN_RSA_PSS_RSAE_SHA256:
		return TLS_SIG_RSA_PSS_RSAE_SHA256;
	case GNUTLS_SIGN_RSA_PSS_RSAE_SHA384:
		return TLS_SIG_RSA_PSS_RSAE_SHA384;
	case GNUTLS_SIGN_RSA_SHA256:
	case GNUTLS_SIGN_RSA_SHA384:
	case GNUTLS_SIGN_RSA_RAW:
		/* TLS 1.2 PKCS #1 v1.5, offered as RSA-SHA256 or -SHA384
		 * but signed as RSA_RAW over a DigestInfo; the hub checks
		 * its OID, and its length says which hash. */
		*kind = TLS_SIGN_DIGESTINFO;
		return TLS_SIG_RSA_PKCS1_SHA256;
	default:
		return 0;
	}
}

/*
 * GnuTLS asks what the external key is (from the leaf's public key) and
 * which algorithms it signs: say yes to RSA-PSS-RSAE for an RSA key, or
 * TLS 1.3 has no scheme for it.
 */
static int
key_info(gnutls_privkey_t key, unsigned int flags, void *userdata)
{
	struct conn *c = userdata;
	gnutls_pcert_st *leaf = c->tls.chain;
	unsigned bits = 0;
	int pk = gnutls_pubkey_get_pk_algorithm(leaf->pubkey, &bits);
	gnutls_sign_algorithm_t algo;
	enum tls_sign_kind kind;

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

/*
 * Ask the hub to sign `in` (H_TLS_SIGN) and wait for its answer.  Returns
 * the signature's length in `sig`, or a negative errno (-EPERM: refused).
 */
static int
ask_hub(struct conn *c, unsigned scheme, enum tls_sign_kind kind,
    const gnutls_datum_t *in, unsigned char *sig, size_t sigsize)
{
	char hex[2 * TLS_SIGN_IN_MAX + 1], sch[8];
	const char *version = gnutls_protocol_get_version(c->tls.session) ==
	    GNUTLS_TLS1_3 ? "13" : "12";
	struct sb_msg m;
	int r;

	if (tls_hex_encode(hex, sizeof(hex), in->data, in->size) == 0)
		return -EMSGSIZE;
	snprintf(sch, sizeof(sch), "%u", scheme);
	if ((r = hublink_pack(c, SB_H_TLS_SIGN, version, sch,
	    tls_sign_kind_name(kind), hex, NULL)) < 0)
		return r;
	hublink_flush(c);
	if ((r = hublink_await(c, SB_C_TLS_SIGNATURE, &m,
	    TLS_SIGN_WAIT_MS)) < 0)
		return r;
	if (m.flen[0] == 0)
		return -EPERM;
	return (r = tls_hex_decode(sig, sigsize, m.field[0])) > 0 ? r :
	    -EPROTO;
}

/* GnuTLS hands over the hash (or the DigestInfo) to sign. */
static int
sign_hash(gnutls_privkey_t key, gnutls_sign_algorithm_t algo,
    void *userdata, unsigned int flags, const gnutls_datum_t *hash,
    gnutls_datum_t *signature)
{
	struct conn *c = userdata;
	unsigned char sig[TLS_SIGN_OUT_MAX];
	enum tls_sign_kind kind;
	unsigned scheme = scheme_of(algo, &kind);
	int n;

	(void)key, (void)flags;
	if (kind == TLS_SIGN_DIGESTINFO && hash->size == 19 + 48)
		scheme = TLS_SIG_RSA_PKCS1_SHA384;
	if (scheme == 0 || hash->size > TLS_SIGN_IN_MAX ||
	    (n = ask_hub(c, scheme, kind, hash, sig, sizeof(sig))) < 0) {
		snprintf(c->tls.sign_error, sizeof(c->tls.sign_error),
		    "the hub did not sign (%s)", scheme == 0 ?
		    gnutls_sign_get_name(algo) : c->hub.error[0] ?
		    c->hub.error : "refused");
		return GNUTLS_E_PK_SIGN_FAILED;
	}
	if ((signature->data = gnutls_malloc((size_t)n)) == NULL)
		return GNUTLS_E_MEMORY_ERROR;
	memcpy(signature->data, sig, (size_t)n);
	signature->size = (unsigned)n;
	return 0;
}

/* The chain the hub sent (PEM) as the credentials, with the external key. */
static int
tls_credentials(struct conn *c, const char *pem, size_t len)
{
	gnutls_datum_t d = { (unsigned char *)(uintptr_t)pem, (unsigned)len };
	gnutls_certificate_credentials_t cred;
	gnutls_privkey_t key;
	unsigned n = TLS_CHAIN_CERTS;
	int r;

	if ((c->tls.chain = calloc(TLS_CHAIN_CERTS,
	    sizeof(gnutls_pcert_st))) == NULL)
		return GNUTLS_E_MEMORY_ERROR;
	if ((r = gnutls_pcert_list_import_x509_raw(c->tls.chain, &n, &d,
	    GNUTLS_X509_FMT_PEM, 0)) < 0)
		return r;
	c->tls.ncerts = n;
	if ((r = gnutls_certificate_allocate_credentials(&cred)) < 0)
		return r;
	c->tls.cred = cred;
	/* Else GnuTLS checks the key against the certificate with a test
	 * signature: a second request the hub refuses.  The hub checked
	 * the pair when it loaded them. */
	gnutls_certificate_set_flags(cred,
	    GNUTLS_CERTIFICATE_SKIP_KEY_CERT_MATCH);
	if ((r = gnutls_privkey_init(&key)) < 0)
		return r;
	if ((r = gnutls_privkey_import_ext4(key, c, NULL, sign_hash, NULL,
	    NULL, key_info, 0)) < 0) {
		gnutls_privkey_deinit(key);
		return r;
	}
	/* The credentials own the key and the chain from here on. */
	r = gnutls_certificate_set_key(cred, NULL, 0, c->tls.chain, (int)n,
	    key);
	if (r < 0)
		gnutls_privkey_deinit(key);
	else
		c->tls.owned = 1;
	return r;
}

/* GnuTLS reads from the client: counted while the handshake goes on. */
static ssize_t
tls_pull(gnutls_transport_ptr_t ptr, void *buf, size_t len)
{
	struct conn *c = ptr;
	ssize_t n;

	if ((n = read(c->io.in_fd, buf, len)) < 0) {
		gnutls_transport_set_errno(c->tls.session, errno);
		return n;
	}
	if (!c->tls.ready &&
	    (c->tls.handshake_in += (size_t)n) > TLS_HANDSHAKE_IN_MAX) {
		c->tls.too_long = 1;
		gnutls_transport_set_errno(c->tls.session, EMSGSIZE);
		return -1;
	}
	return n;
}

/* GnuTLS writes to the client. */
static ssize_t
tls_push(gnutls_transport_ptr_t ptr, const void *buf, size_t len)
{
	struct conn *c = ptr;
	ssize_t n = write(c->io.out_fd, buf, len);

	if (n < 0)
		gnutls_transport_set_errno(c->tls.session, errno);
	return n;
}

/* The session on the client's descriptors. */
static int
tls_session(struct conn *c)
{
	gnutls_session_t s;
	int r;

	if ((r = gnutls_init(&s, GNUTLS_SERVER | GNUTLS_NO_TICKETS |
	    GNUTLS_NONBLOCK)) < 0)
		return r;
	c->tls.session = s;
	if ((r = gnutls_priority_set_direct(s, TLS_PRIORITY, NULL)) < 0 ||
	    (r = gnutls_credentials_set(s, GNUTLS_CRD_CERTIFICATE,
	    c->tls.cred)) < 0)
		return r;
	gnutls_handshake_set_max_packet_length(s, TLS_HELLO_MAX);
	gnutls_transport_set_ptr(s, c);
	gnutls_transport_set_pull_function(s, tls_pull);
	gnutls_transport_set_push_function(s, tls_push);
	return 0;
}

/*
 * Before the first byte: get the certificate chain from the hub (which
 * takes the connection's identity from the socket passed along) and set
 * up the session.  Call after client_io_init().  Returns 0, or -EPROTO
 * with the reason in tls.error.
 */
int
tls_setup(struct conn *c, uint64_t now)
{
	struct sb_msg m;
	struct sb_packet *p = hublink_tx();
	int r;

	c->tls.on = 1;
	c->tls.deadline_ms = now + c->cfg.handshake_timeout * 1000ULL;
	/* GnuTLS's set-up before main() is off (GNUTLS_SKIP_GLOBAL_INIT,
	 * above): done here, for --tls only. */
	if ((r = gnutls_global_init()) < 0)
		return tls_refuse(c, "TLS: %s", gnutls_strerror(r));
	c->tls.global = 1;
	if (c->hub.fd < 0)
		return tls_refuse(c, "TLS: no certificate without the hub");
	if ((r = sb_msg_pack(p, SB_H_TLS_START, 0, NULL)) < 0 ||
	    (r = hublink_send_fd(c, p, c->io.in_fd)) < 0 ||
	    (r = hublink_await(c, SB_C_TLS_CHAIN, &m,
	    HANDLER_CONFIG_WAIT_MS)) < 0)
		return tls_refuse(c, "TLS: no certificate from the hub: %s",
		    r == -EPROTO || r == -ETIMEDOUT ? c->hub.error :
		    strerror(-r));
	if (m.flen[0] == 0)
		return tls_refuse(c, "TLS: the hub has no certificate "
		    "(tls_cert, tls_key)");
	if ((r = tls_credentials(c, m.field[0], m.flen[0])) < 0 ||
	    (r = tls_session(c)) < 0)
		return tls_refuse(c, "TLS: setting up: %s",
		    gnutls_strerror(r));
	return 0;
}

/* A GnuTLS error: "would block" (0), or the refusal that ends it. */
static int
tls_error(struct conn *c, const char *what, int r)
{
	gnutls_session_t s = c->tls.session;

	if (r == GNUTLS_E_AGAIN || r == GNUTLS_E_INTERRUPTED) {
		c->tls.want_write = gnutls_record_get_direction(s) == 1;
		return 0;
	}
	c->tls.want_write = 0;
	if (c->tls.too_long)
		return tls_refuse(c, "TLS handshake: more than %d bytes before "
		    "it was done", TLS_HANDSHAKE_IN_MAX);
	if (r == GNUTLS_E_REHANDSHAKE)
		return tls_refuse(c, "TLS: a renegotiation, refused");
	if (r == GNUTLS_E_PK_SIGN_FAILED && c->tls.sign_error[0])
		return tls_refuse(c, "TLS %s: %s", what, c->tls.sign_error);
	if (r == GNUTLS_E_WARNING_ALERT_RECEIVED ||
	    r == GNUTLS_E_FATAL_ALERT_RECEIVED)
		return tls_refuse(c, "TLS %s: %s: %s", what,
		    gnutls_strerror(r), gnutls_alert_get_name(
		    gnutls_alert_get(s)));
	return tls_refuse(c, "TLS %s: %s", what, gnutls_strerror(r));
}

/* Did the client just go away (closed, reset)?  Not refused, not logged:
 * a browser closes the spare connections it opened ahead. */
static int
tls_gone(const struct conn *c, int r)
{
	return !c->tls.too_long && (r == GNUTLS_E_PUSH_ERROR ||
	    r == GNUTLS_E_PULL_ERROR || r == GNUTLS_E_PREMATURE_TERMINATION);
}

/* Go on with the handshake: 1 done, 0 not yet, -EPROTO refused, -EPIPE
 * the client went away. */
static int
tls_handshake(struct conn *c)
{
	int r = gnutls_handshake(c->tls.session);

	if (r < 0 && tls_gone(c, r)) {
		c->tls.failed = 1;
		return -EPIPE;
	}
	if (r < 0)
		return tls_error(c, "handshake", r);
	c->tls.ready = 1;
	c->tls.want_write = 0;
	return 1;
}

/*
 * Read from the client through TLS: the handshake first, then one
 * record's bytes into `p` (room for `len`).  Returns the count, 0 when
 * nothing is there now, -EPIPE at the end (a close_notify, or the
 * connection closed), -EPROTO refused (tls.error says why).  Once
 * refused, the raw bytes are read and dropped (client_io.c drains).
 */
ssize_t
tls_read(struct conn *c, unsigned char *p, size_t len)
{
	ssize_t n;
	int r;

	if (c->tls.failed) {
		n = read(c->io.in_fd, p, len);
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return 0;
		return n <= 0 ? -EPIPE : 0;
	}
	if (!c->tls.ready && (r = tls_handshake(c)) <= 0)
		return r;
	n = gnutls_record_recv(c->tls.session, p, len);
	if (n > 0)
		return n;
	if (n == 0 || tls_gone(c, (int)n)) {
		c->tls.failed = 1;
		return -EPIPE;
	}
	return tls_error(c, "record", (int)n);
}

/*
 * Write `len` bytes at `p` through TLS (at most one record's worth).
 * Returns the count taken, 0 when the client cannot take more now (call
 * again with the same bytes), -EPIPE when the connection broke, or
 * -EPROTO refused.  During the handshake it goes on with that.
 */
ssize_t
tls_write(struct conn *c, const void *p, size_t len)
{
	ssize_t n;
	int r;

	if (c->tls.failed)
		return -EPIPE;
	if (!c->tls.ready && (r = tls_handshake(c)) <= 0)
		return r;
	if (len == 0)
		return 0;
	/* A send that would have blocked is finished with NULL, 0. */
	if (c->tls.sending > 0)
		n = gnutls_record_send(c->tls.session, NULL, 0);
	else {
		if (len > HANDLER_READ_CHUNK)
			len = HANDLER_READ_CHUNK;
		n = gnutls_record_send(c->tls.session, p, len);
	}
	if (n == GNUTLS_E_AGAIN || n == GNUTLS_E_INTERRUPTED) {
		if (c->tls.sending == 0)
			c->tls.sending = len;
		return tls_error(c, "send", (int)n);
	}
	c->tls.sending = 0;
	c->tls.want_write = 0;
	if (tls_gone(c, (int)n)) {
		c->tls.failed = 1;
		return -EPIPE;
	}
	return n < 0 ? tls_error(c, "send", (int)n) : n;
}

/*
 * What TLS waits for beyond the handler's own: while the handshake is
 * going on, to read; when GnuTLS could not write all, to write.
 */
uint32_t
tls_events(const struct conn *c)
{
	if (!c->tls.on || c->tls.failed)
		return 0;
	return (c->tls.ready ? 0 : EPOLLIN) |
	    (c->tls.want_write ? EPOLLOUT : 0);
}

/* Are there decrypted bytes GnuTLS holds that epoll will not report? */
int
tls_pending(const struct conn *c)
{
	return c->tls.on && c->tls.ready && !c->tls.failed &&
	    gnutls_record_check_pending(c->tls.session) > 0;
}

/*
 * The handshake's deadline (handshake_timeout from the start), 0 once it
 * is done.  Past it, tls_expired() refuses the connection.
 */
uint64_t
tls_deadline(const struct conn *c)
{
	return c->tls.on && !c->tls.ready && !c->tls.failed ?
	    c->tls.deadline_ms : 0;
}

int
tls_expired(struct conn *c, uint64_t now)
{
	uint64_t at = tls_deadline(c);

	if (at == 0 || now < at)
		return 0;
	return tls_refuse(c, "TLS: no handshake within handshake_timeout "
	    "(%u s)", c->cfg.handshake_timeout);
}

/* The last reply is written: tell the client (close_notify), once. */
void
tls_shutdown(struct conn *c)
{
	if (c->tls.on && c->tls.ready && !c->tls.failed && !c->tls.bye) {
		c->tls.bye = 1;
		(void)gnutls_bye(c->tls.session, GNUTLS_SHUT_WR);
	}
}

void
tls_free(struct conn *c)
{
	unsigned i;

	if (c->tls.session != NULL)
		gnutls_deinit(c->tls.session);
	if (c->tls.cred != NULL)
		gnutls_certificate_free_credentials(c->tls.cred);
	if (c->tls.chain != NULL && !c->tls.owned)
		for (i = 0; i < c->tls.ncerts; i++)
			gnutls_pcert_deinit(&((gnutls_pcert_st *)
			    c->tls.chain)[i]);
	free(c->tls.chain);
	c->tls.session = c->tls.cred = c->tls.chain = NULL;
	if (c->tls.global)
		gnutls_global_deinit();
	c->tls.global = 0;
}
