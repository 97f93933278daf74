/* SPDX-License-Identifier: ISC */
/*
 * The TLS key holder: the hub loads tls_cert (a PEM chain) and tls_key,
 * hands the chain to each --tls handler (C_TLS_CHAIN) and signs its one
 * handshake signature (H_TLS_SIGN) on the password workers' threads
 * (authpool.c), so a handler never holds the key and an RSA signature
 * never stops the event loop.  docs/tls.md, "The key holder".
 *
 * The signing oracle is bounded:
 *   - only the hash (or, RSA PKCS #1 in TLS 1.2, the DigestInfo) of a
 *     TLS signature scheme, of exactly its length (tls_sign_check);
 *   - one signature per client TCP connection: the handler passes its
 *     client socket along with H_TLS_START, the hub reads the
 *     connection's two addresses and the socket's inode from it and
 *     closes its copy.  A handler runs with PrivateNetwork= and AF_UNIX
 *     only, so it cannot open another TCP connection: a second hub
 *     connection from it names the same socket and is refused, as long
 *     as TLS_SEEN_MAX newer connections have not been signed for since.
 *     A new connection that reuses the two addresses (a client's port
 *     come round again) is another socket, with another inode;
 *   - only before the session's H_HELLO, once per hub connection.
 *
 * A reload loads a new pair; the old one stays in use if the new one is
 * refused.  Signatures under way keep their key (a reference) until
 * they are answered.
 */
#include <sys/socket.h>
#include <sys/stat.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include <bsd/string.h>
#include <gnutls/abstract.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>

#include "hub.h"
#include "tlssign.h"

#define TLS_FILE_MAX	(256 * 1024)	/* bytes of tls_cert or tls_key */
#define TLS_CHAIN_LEN	8		/* certificates in tls_cert */
#define TLS_SEEN_MAX	16384		/* connections remembered as signed */

struct tlskey {
	unsigned		 refs;		/* on the loop's thread only */
	pthread_mutex_t		 lock;		/* one signature at a time */
	gnutls_privkey_t	 key;
	char			 chain[TLS_CHAIN_MAX + 1];
};

/* The connections signed for, as hashes of their addresses, in a ring. */
static uint64_t tls_seen[TLS_SEEN_MAX];
static unsigned tls_seen_next;

/* The whole file `path` (what: the key's name) into d (free d->data). */
static int
load_file(const char *what, const char *path, gnutls_datum_t *d,
    char *err, size_t errsz)
{
	struct stat st;
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY), e;

	if (fd < 0 || fstat(fd, &st) < 0) {
		e = errno;
		snprintf(err, errsz, "%s %s: %s", what, path, strerror(e));
		if (fd >= 0)
			close(fd);
		return -e;
	}
	if (!S_ISREG(st.st_mode) || st.st_size <= 0 ||
	    st.st_size > TLS_FILE_MAX) {
		snprintf(err, errsz, "%s %s: not a file of 1 to %d bytes", what,
		    path, TLS_FILE_MAX);
		close(fd);
		return -EINVAL;
	}
	d->data = gnutls_malloc((size_t)st.st_size);
	n = d->data != NULL ? read(fd, d->data, (size_t)st.st_size) : -1;
	e = errno;
	close(fd);
	if (n != st.st_size) {
		snprintf(err, errsz, "%s %s: %s", what, path, n < 0 ?
		    strerror(e) : "changed while read");
		gnutls_free(d->data);
		return -EIO;
	}
	d->size = (unsigned)n;
	return 0;
}

/* The SHA-256 key id of a public key, for comparing two. */
static int
key_id(gnutls_pubkey_t pub, unsigned char id[32])
{
	size_t n = 32;

	return gnutls_pubkey_get_key_id(pub, GNUTLS_KEYID_USE_SHA256, id,
	    &n) < 0 || n != 32 ? -1 : 0;
}

/* Does the private key k belong to the certificate crt?  1, 0, or -1. */
static int
key_matches(gnutls_privkey_t k, gnutls_x509_crt_t crt)
{
	gnutls_pubkey_t a = NULL, b = NULL;
	unsigned char ia[32], ib[32];
	int r = -1;

	if (gnutls_pubkey_init(&a) == 0 && gnutls_pubkey_init(&b) == 0 &&
	    gnutls_pubkey_import_privkey(a, k, 0, 0) == 0 &&
	    gnutls_pubkey_import_x509(b, crt, 0) == 0 &&
	    key_id(a, ia) == 0 && key_id(b, ib) == 0)
		r = memcmp(ia, ib, 32) == 0;
	gnutls_pubkey_deinit(a);
	gnutls_pubkey_deinit(b);
	return r;
}

/* The certificates of d, PEM again, one after another, in t->chain: only
 * certificates, whatever else the file holds. */
static int
chain_export(struct tlskey *t, gnutls_x509_crt_t *crts, unsigned n,
    const char *path, char *err, size_t errsz)
{
	gnutls_datum_t out;
	size_t len = 0;
	unsigned i;

	for (i = 0; i < n; i++) {
		if (gnutls_x509_crt_export2(crts[i], GNUTLS_X509_FMT_PEM,
		    &out) < 0)
			break;
		if (len + out.size > TLS_CHAIN_MAX) {
			gnutls_free(out.data);
			snprintf(err, errsz, "tls_cert %s: the chain is longer "
			    "than %d bytes of PEM", path, TLS_CHAIN_MAX);
			return -EMSGSIZE;
		}
		memcpy(t->chain + len, out.data, out.size);
		len += out.size;
		gnutls_free(out.data);
	}
	t->chain[len] = '\0';
	if (i < n) {
		snprintf(err, errsz, "tls_cert %s: a certificate cannot be "
		    "exported", path);
		return -EINVAL;
	}
	return 0;
}

/* The key in `kd` (from `kpath`), checked against the leaf crts[0]. */
static int
key_import(struct tlskey *t, const gnutls_datum_t *kd, const char *kpath,
    gnutls_x509_crt_t leaf, const char *cpath, char *err, size_t errsz)
{
	int r, pk;

	if ((r = gnutls_privkey_init(&t->key)) < 0 ||
	    (r = gnutls_privkey_import_x509_raw(t->key, kd,
	    GNUTLS_X509_FMT_PEM, NULL, 0)) < 0) {
		snprintf(err, errsz, "tls_key %s: %s", kpath,
		    gnutls_strerror(r));
		return -EINVAL;
	}
	pk = gnutls_privkey_get_pk_algorithm(t->key, NULL);
	if (pk != GNUTLS_PK_RSA && pk != GNUTLS_PK_ECDSA) {
		snprintf(err, errsz, "tls_key %s: not an RSA or ECDSA key",
		    kpath);
		return -EINVAL;
	}
	if (key_matches(t->key, leaf) != 1) {
		snprintf(err, errsz, "tls_key %s does not match the "
		    "certificate in tls_cert %s", kpath, cpath);
		return -EINVAL;
	}
	return 0;
}

/* Parse the two files' bytes into t. */
static int
pair_import(struct tlskey *t, const gnutls_datum_t *cd, const char *cpath,
    const gnutls_datum_t *kd, const char *kpath, char *err, size_t errsz)
{
	gnutls_x509_crt_t *crts = NULL;
	unsigned n = 0, i;
	int r;

	if ((r = gnutls_x509_crt_list_import2(&crts, &n, cd,
	    GNUTLS_X509_FMT_PEM, 0)) < 0 || n == 0) {
		snprintf(err, errsz, "tls_cert %s: %s", cpath, r < 0 ?
		    gnutls_strerror(r) : "no certificate");
		return -EINVAL;
	}
	if (n > TLS_CHAIN_LEN) {
		snprintf(err, errsz, "tls_cert %s: more than %d certificates",
		    cpath, TLS_CHAIN_LEN);
		r = -EINVAL;
	} else if ((r = chain_export(t, crts, n, cpath, err, errsz)) == 0)
		r = key_import(t, kd, kpath, crts[0], cpath, err, errsz);
	for (i = 0; i < n; i++)
		gnutls_x509_crt_deinit(crts[i]);
	gnutls_free(crts);
	return r;
}

/*
 * Load the chain `cert` and its key `key` (both PEM), and check that the
 * key is the leaf certificate's.  Returns 0 with *out set (NULL when
 * neither is configured: no TLS), or a negative errno with the reason,
 * naming the file, in `err`.
 */
int
tlskey_load(const char *cert, const char *key, struct tlskey **out,
    char *err, size_t errsz)
{
	gnutls_datum_t cd = { NULL, 0 }, kd = { NULL, 0 };
	struct tlskey *t;
	int r;

	*out = NULL;
	if (*cert == '\0' && *key == '\0')
		return 0;
	if (*cert == '\0' || *key == '\0') {
		snprintf(err, errsz, "tls_cert and tls_key go together: %s is "
		    "not set", *cert == '\0' ? "tls_cert" : "tls_key");
		return -EINVAL;
	}
	if ((t = calloc(1, sizeof(*t))) == NULL)
		return -ENOMEM;
	t->refs = 1;
	pthread_mutex_init(&t->lock, NULL);
	if ((r = load_file("tls_cert", cert, &cd, err, errsz)) == 0 &&
	    (r = load_file("tls_key", key, &kd, err, errsz)) == 0)
		r = pair_import(t, &cd, cert, &kd, key, err, errsz);
	gnutls_free(cd.data);
	if (kd.data != NULL) {
		explicit_bzero(kd.data, kd.size);
		gnutls_free(kd.data);
	}
	if (r < 0) {
		tlskey_unref(t);
		return r;
	}
	*out = t;
	return 0;
}

/* One more holder of t (the loop's thread only). */
struct tlskey *
tlskey_ref(struct tlskey *t)
{
	t->refs++;
	return t;
}

/* One holder fewer; the last frees it (the loop's thread only). */
void
tlskey_unref(struct tlskey *t)
{
	if (t == NULL || --t->refs > 0)
		return;
	if (t->key != NULL)
		gnutls_privkey_deinit(t->key);
	pthread_mutex_destroy(&t->lock);
	free(t);
}

/* GnuTLS's algorithm for a SignatureScheme the hub signs a hash with. */
static gnutls_sign_algorithm_t
sign_algo(unsigned scheme)
{
	switch (scheme) {
	case TLS_SIG_ECDSA_P256_SHA256:
		return GNUTLS_SIGN_ECDSA_SECP256R1_SHA256;
	case TLS_SIG_ECDSA_P384_SHA384:
		return GNUTLS_SIGN_ECDSA_SECP384R1_SHA384;
	case TLS_SIG_RSA_PSS_RSAE_SHA256:
		return GNUTLS_SIGN_RSA_PSS_RSAE_SHA256;
	case TLS_SIG_RSA_PSS_RSAE_SHA384:
		return GNUTLS_SIGN_RSA_PSS_RSAE_SHA384;
	}
	return GNUTLS_SIGN_UNKNOWN;
}

/*
 * Sign `in` (len bytes, checked by tls_sign_check) under `scheme` into
 * `sig` (room for `size`).  On a worker's thread.  Returns the length,
 * or -1.
 */
int
tlskey_sign(struct tlskey *t, unsigned scheme, enum tls_sign_kind kind,
    const unsigned char *in, size_t len, unsigned char *sig, size_t size)
{
	gnutls_datum_t d = { (unsigned char *)(uintptr_t)in, (unsigned)len };
	gnutls_datum_t out = { NULL, 0 };
	int r;

	pthread_mutex_lock(&t->lock);
	if (kind == TLS_SIGN_DIGESTINFO)
		r = gnutls_privkey_sign_hash(t->key, 0,
		    GNUTLS_PRIVKEY_SIGN_FLAG_TLS1_RSA, &d, &out);
	else
		r = gnutls_privkey_sign_hash2(t->key, sign_algo(scheme),
		    GNUTLS_PRIVKEY_FLAG_RSA_PSS_FIXED_SALT_LENGTH, &d, &out);
	pthread_mutex_unlock(&t->lock);
	if (r < 0 || out.size > size) {
		gnutls_free(out.data);
		return -1;
	}
	memcpy(sig, out.data, out.size);
	r = (int)out.size;
	gnutls_free(out.data);
	return r;
}

/* "address:port" of a socket address, or "" for none. */
static void
sockaddr_text(const struct sockaddr_storage *ss, char *out, size_t size)
{
	char a[INET6_ADDRSTRLEN];

	*out = '\0';
	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *s4 = (const void *)ss;

		if (inet_ntop(AF_INET, &s4->sin_addr, a, sizeof(a)) != NULL)
			snprintf(out, size, "%s:%u", a, ntohs(s4->sin_port));
	} else if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const void *)ss;

		if (inet_ntop(AF_INET6, &s6->sin6_addr, a, sizeof(a)) != NULL)
			snprintf(out, size, "[%s]:%u", a, ntohs(s6->sin6_port));
	}
}

/*
 * The client connection the handler passed (H_TLS_START): a TCP socket,
 * named by its two addresses in p->tls_conn.  Returns 0 or -EPROTO.
 */
static int
conn_identity(struct peer *p, int fd)
{
	struct sockaddr_storage l, r;
	socklen_t ll = sizeof(l), rl = sizeof(r);
	char ls[SB_REMOTE_MAX + 1], rs[SB_REMOTE_MAX + 1];
	struct stat st;
	int type = 0;
	socklen_t tl = sizeof(type);

	if (fd < 0 || getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &tl) < 0 ||
	    type != SOCK_STREAM || fstat(fd, &st) < 0 ||
	    getsockname(fd, (struct sockaddr *)&l, &ll) < 0 ||
	    getpeername(fd, (struct sockaddr *)&r, &rl) < 0)
		return -EPROTO;
	sockaddr_text(&l, ls, sizeof(ls));
	sockaddr_text(&r, rs, sizeof(rs));
	if (*ls == '\0' || *rs == '\0')
		return -EPROTO;
	/* The socket's inode tells a later connection between the same
	 * two addresses (a port reused) from this one. */
	snprintf(p->tls_conn, sizeof(p->tls_conn), "%s %s #%llu", ls, rs,
	    (unsigned long long)st.st_ino);
	return 0;
}

/* FNV-1a of s: the ring's entry for a connection. */
static uint64_t
conn_hash(const char *s)
{
	uint64_t h = 14695981039346656037ULL;

	while (*s)
		h = (h ^ (unsigned char)*s++) * 1099511628211ULL;
	return h;
}

/* Has the connection `s` had its signature?  If not, it has now. */
static int
conn_signed_before(const char *s)
{
	uint64_t k = conn_hash(s);
	unsigned i;

	for (i = 0; i < TLS_SEEN_MAX; i++)
		if (tls_seen[i] == k)
			return 1;
	tls_seen[tls_seen_next] = k;
	tls_seen_next = (tls_seen_next + 1) % TLS_SEEN_MAX;
	return 0;
}

/* Send p its TLS answer: `type` with the one field `v`. */
static void
tls_reply(struct hub *h, struct peer *p, enum sb_type type, const char *v)
{
	static struct sb_packet pkt;

	if (sb_msg_pack(&pkt, type, p->session, v, NULL) == 0)
		(void)h->ops->send(h, p, &pkt);
}

/*
 * H_TLS_START from p, with the descriptor it passed (fd, -1: none; the
 * caller closes it): the connection's identity, and the chain.  Returns
 * 0, or -EPROTO: p broke the contract.
 */
static int
tls_start(struct hub *h, struct peer *p, int fd)
{
	if (p->hello || p->tls_state != 0 || conn_identity(p, fd) < 0)
		return -EPROTO;
	p->tls_state = 1;
	tls_reply(h, p, SB_C_TLS_CHAIN, h->tls != NULL ? h->tls->chain : "");
	return 0;
}

/* Why H_TLS_SIGN `m` from p is not signed, or NULL: sign (*kind, in). */
static const char *
sign_refusal(struct hub *h, struct peer *p, const struct sb_msg *m,
    enum tls_sign_kind *kind, unsigned char *in, int *len)
{
	long long version, scheme;
	const char *why;

	if (h->tls == NULL)
		return "no tls_cert and tls_key";
	if (p->hello || p->tls_state != 1)
		return p->tls_state == 2 ? "a second signature" :
		    "not during a handshake";
	if (sb_field_num(m, 0, 12, 13, &version) < 0 ||
	    sb_field_num(m, 1, 0, 0xffff, &scheme) < 0 ||
	    (*kind = tls_sign_kind_parse(m->field[2])) == TLS_SIGN_BAD ||
	    (*len = tls_hex_decode(in, TLS_SIGN_IN_MAX, m->field[3])) < 0)
		return "a malformed request";
	if ((why = tls_sign_check((unsigned)version, (unsigned)scheme, *kind,
	    in, (size_t)*len)) != NULL)
		return why;
	if (conn_signed_before(p->tls_conn))
		return "a second signature for this connection";
	return NULL;
}

/* Refuse p its signature: why, logged; an empty C_TLS_SIGNATURE. */
void
tlskey_refuse(struct hub *h, struct peer *p, const char *why)
{
	hub_log_peer(SB_EV_PROTOCOL_ERROR, p, &(struct sb_log_fields){
	    .reason = "TLS signature refused" }, "TLS signature refused to "
	    "handler pid %ld (%s): %s", (long)p->pid, p->tls_conn, why);
	tls_reply(h, p, SB_C_TLS_SIGNATURE, "");
}

/*
 * H_TLS_SIGN from p: checked; what to sign goes in *rq for the caller to
 * hand to the workers (authpool_sign), or it is refused.  Returns 1 with
 * *rq filled, or 0.
 */
static int
tls_sign(struct hub *h, struct peer *p, const struct sb_msg *m,
    struct tls_sign_job *rq)
{
	const char *why;
	long long scheme = 0;
	int len = 0;

	rq->kind = TLS_SIGN_BAD;
	why = sign_refusal(h, p, m, &rq->kind, rq->in, &len);
	p->tls_state = 2;
	if (why != NULL) {
		tlskey_refuse(h, p, why);
		return 0;
	}
	(void)sb_field_num(m, 1, 0, 0xffff, &scheme);
	rq->key = h->tls;
	rq->session = p->session;
	rq->scheme = (unsigned)scheme;
	rq->len = (size_t)len;
	return 1;
}

/*
 * A TLS message from handler p (H_TLS_START, H_TLS_SIGN), with the
 * descriptor that came with it (-1: none), which this closes.  Returns 1
 * when a signature is to be made (*rq), 0, or -EPROTO for a message out
 * of place.
 */
int
tlskey_message(struct hub *h, struct peer *p, const struct sb_msg *m,
    int fd, struct tls_sign_job *rq)
{
	int r = m->type == SB_H_TLS_START ? tls_start(h, p, fd) :
	    tls_sign(h, p, m, rq);

	if (fd >= 0)
		close(fd);
	return r;
}

/*
 * A signature is made (on the loop's thread now): send it to the
 * session's handler, if it is still there.  `n` < 0: it failed.
 */
void
tlskey_signed(struct hub *h, uint64_t session, const unsigned char *sig,
    int n)
{
	char hex[2 * TLS_SIGN_OUT_MAX + 1];
	struct peer *p = hub_find_session(h, session);

	if (p == NULL || p->dead)
		return;
	if (n <= 0 || tls_hex_encode(hex, sizeof(hex), sig, (size_t)n) == 0) {
		sb_log(LOG_ERR, "TLS: signing for handler pid %ld failed",
		    (long)p->pid);
		hex[0] = '\0';
	}
	tls_reply(h, p, SB_C_TLS_SIGNATURE, hex);
}
