/* SPDX-License-Identifier: ISC */
/*
 * Encoding and decoding of handler <-> hub datagrams (see proto.h).
 */
#include <assert.h>
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "proto.h"
#include "tlssign.h"

struct sb_spec {
	const char	*name;
	unsigned	 minf, maxf;		/* field count range */
	size_t		 fmax[SB_FIELDS_MAX];	/* strlen limit per field */
};

#define N	SB_NICK_MAX
#define R	SB_ROOM_MAX
#define T	SB_TEXT_MAX
#define W	SB_REASON_MAX
#define L	SB_LIST_MAX
#define NUM	20		/* decimal uint64 */

/*
 * Every type, its fields and their limits.  A field that may hold either a
 * nick or a room gets the larger limit of the two.
 */
static const struct sb_spec specs[SB_TYPE_COUNT] = {
	[SB_NONE]		= { "NONE", 0, 0, { 0 } },
	[SB_H_HELLO]		= { "H_HELLO", 3, 3, { NUM, 16, SB_REMOTE_MAX } },
	[SB_H_EVENT]		= { "H_EVENT", 2, 3, { 32, W, 16 } },
	[SB_H_STATUS]		= { "H_STATUS", 0, 1, { 16 } },
	[SB_H_IDENTIFY]		= { "H_IDENTIFY", 3, 3, { N, SB_PASS_MAX, NUM } },
	[SB_H_PRIVMSG]		= { "H_PRIVMSG", 2, 2, { N, T } },
	[SB_H_PRIVMSG_ALIAS]	= { "H_PRIVMSG_ALIAS", 3, 3, { NUM, T, 64 } },
	[SB_H_LIST]		= { "H_LIST", 0, 0, { 0 } },
	[SB_H_ROOMS]		= { "H_ROOMS", 0, 0, { 0 } },
	[SB_H_JOIN]		= { "H_JOIN", 1, 2, { R, NUM } },
	[SB_H_PART]		= { "H_PART", 1, 1, { R } },
	[SB_H_NAMES]		= { "H_NAMES", 1, 1, { R } },
	[SB_H_ROOMMSG]		= { "H_ROOMMSG", 2, 2, { R, T } },
	[SB_H_NICK]		= { "H_NICK", 1, 1, { N } },
	[SB_H_ACTION]		= { "H_ACTION", 2, 2, { N > R ? N : R, T } },
	[SB_H_PING]		= { "H_PING", 1, 1, { 64 } },
	[SB_H_QUIT]		= { "H_QUIT", 1, 2, { W, 16 } },
	[SB_H_RESUME]		= { "H_RESUME", 3, 4, { N, L / 2, NUM, NUM } },
	[SB_H_DIALECT]		= { "H_DIALECT", 1, 1, { 16 } },
	[SB_H_TLS_START]	= { "H_TLS_START", 0, 0, { 0 } },
	[SB_H_TLS_SIGN]		= { "H_TLS_SIGN", 4, 4,
	    { 2, 5, 16, 2 * TLS_SIGN_IN_MAX } },

	[SB_C_CONFIG]		= { "C_CONFIG", 0, SB_FIELDS_MAX,
	    { 1056, 1056, 1056, 1056, 1056, 1056, 1056, 1056, 1056, 1056,
	      1056, 1056, 1056, 1056, 1056, 1056 } },	/* "key=" + value */
	[SB_C_WELCOME]		= { "C_WELCOME", 2, 2, { NUM, NUM } },
	[SB_C_STATUS]		= { "C_STATUS", 4, 7, { NUM, NUM, NUM, NUM, 32, NUM,
				    NUM } },
	[SB_C_IDENTIFIED]	= { "C_IDENTIFIED", 3, 4, { N, N, NUM, NUM } },
	[SB_C_LOGIN]		= { "C_LOGIN", 2, 2, { N, N } },
	[SB_C_QUIT]		= { "C_QUIT", 2, 2, { N, W } },
	[SB_C_MSG]		= { "C_MSG", 7, 8, { 16, N, N, R, T, NUM, 64, NUM } },
	[SB_C_ERROR]		= { "C_ERROR", 2, 2, { 32, W } },
	[SB_C_NICKLIST]		= { "C_NICKLIST", 3, 3, { 1, L, R } },
	[SB_C_ROOMLIST]		= { "C_ROOMLIST", 2, 2, { 1, L } },
	[SB_C_JOINED]		= { "C_JOINED", 3, 3, { R, N, L / 2 } },
	[SB_C_PARTED]		= { "C_PARTED", 3, 3, { R, N, W } },
	[SB_C_NICKCHANGE]	= { "C_NICKCHANGE", 2, 2, { N, N } },
	[SB_C_PONG]		= { "C_PONG", 1, 1, { 64 } },
	[SB_C_CLOSE]		= { "C_CLOSE", 2, 2, { 32, W } },
	[SB_C_PING]		= { "C_PING", 1, 1, { 64 } },
	[SB_C_GAP]		= { "C_GAP", 3, 3, { R, NUM, NUM } },
	[SB_C_METRICS]		= { "C_METRICS", 2, 2, { 1, L } },
	[SB_C_BATCH]		= { "C_BATCH", 0, 0, { 0 } },	/* batch_check() */
	[SB_C_TLS_CHAIN]	= { "C_TLS_CHAIN", 1, 1, { TLS_CHAIN_MAX } },
	[SB_C_TLS_SIGNATURE]	= { "C_TLS_SIGNATURE", 1, 1,
	    { 2 * TLS_SIGN_OUT_MAX } },
};

#undef N
#undef R
#undef T
#undef W
#undef L
#undef NUM

const char *
sb_type_name(int type)
{
	if (type < 0 || type >= SB_TYPE_COUNT || specs[type].name == NULL)
		return "UNKNOWN";
	return specs[type].name;
}

/*
 * Build a datagram of `type` from `n` strings.  Returns 0, -EINVAL for an
 * unknown type or a field count the type does not take, or -EMSGSIZE when a
 * field is over its limit or the whole does not fit.  A NULL field is sent
 * as "".
 */
int
sb_msg_encode(struct sb_packet *p, enum sb_type type, uint64_t session,
    uint32_t epoch, uint64_t seq, const char *const *f, size_t n)
{
	const struct sb_spec *s;
	struct sb_hdr h;
	size_t off = SB_HDR_SIZE, i, l;

	assert(p != NULL);
	assert(n == 0 || f != NULL);
	if ((int)type <= SB_NONE || type >= SB_TYPE_COUNT ||
	    type == SB_C_BATCH)		/* built by sb_batch_add() */
		return -EINVAL;
	s = &specs[type];
	if (n < s->minf || n > s->maxf)
		return -EINVAL;
	for (i = 0; i < n; i++) {
		const char *v = f[i] != NULL ? f[i] : "";

		l = strlen(v);
		if (l > s->fmax[i] || l + 1 > SB_MSG_MAX - off)
			return -EMSGSIZE;
		memcpy(p->buf + off, v, l + 1);
		off += l + 1;
	}
	h = (struct sb_hdr){
		.type = (uint16_t)type,
		.nfields = (uint16_t)n,
		.len = (uint32_t)(off - SB_HDR_SIZE),
		.epoch = epoch,
		.session = session,
		.seq = seq,
	};
	memcpy(p->buf, &h, sizeof(h));
	p->len = off;
	return 0;
}

/* Set the epoch and sequence number of an encoded datagram. */
void
sb_packet_stamp(struct sb_packet *p, uint32_t epoch, uint64_t seq)
{
	struct sb_hdr h;

	assert(p != NULL && p->len >= SB_HDR_SIZE);
	memcpy(&h, p->buf, sizeof(h));
	h.epoch = epoch;
	h.seq = seq;
	memcpy(p->buf, &h, sizeof(h));
}

/*
 * Set the session of an encoded datagram: one encoded for many
 * recipients (a room message) is addressed to each in turn, then
 * stamped (sb_packet_stamp()), and never encoded again.
 */
void
sb_packet_address(struct sb_packet *p, uint64_t session)
{
	struct sb_hdr h;

	assert(p != NULL && p->len >= SB_HDR_SIZE);
	memcpy(&h, p->buf, sizeof(h));
	h.session = session;
	memcpy(p->buf, &h, sizeof(h));
}

/*
 * The packer: sb_msg_encode() with the fields as a NULL-terminated list
 * of strings, epoch and seq 0 (sb_packet_stamp() sets them).  The one
 * way to build a datagram from separate strings: the handler, the hub
 * and the dialects all pack through it.  Returns what sb_msg_encode()
 * does, or -E2BIG for more than SB_FIELDS_MAX fields (never cut short).
 */
int
sb_msg_vpack(struct sb_packet *p, enum sb_type type, uint64_t session,
    va_list ap)
{
	const char *f[SB_FIELDS_MAX];
	const char *v;
	size_t n = 0;

	while ((v = va_arg(ap, const char *)) != NULL) {
		if (n == SB_FIELDS_MAX)
			return -E2BIG;
		f[n++] = v;
	}
	return sb_msg_encode(p, type, session, 0, 0, f, n);
}

/* sb_msg_vpack() with the fields as arguments, then NULL. */
int
sb_msg_pack(struct sb_packet *p, enum sb_type type, uint64_t session, ...)
{
	va_list ap;
	int r;

	va_start(ap, session);
	r = sb_msg_vpack(p, type, session, ap);
	va_end(ap);
	return r;
}

/*
 * Add the datagram `msg` (`mlen` bytes, of the hub's types but C_BATCH)
 * to the C_BATCH being built in `batch`, SB_MSG_MAX bytes, *len of them
 * used: 0 starts it, with the session and epoch of `msg` and seq 0.
 * Returns 0, -EMSGSIZE when it does not fit (the batch is as it was), or
 * -EINVAL for a datagram that may not go into a batch.
 */
int
sb_batch_add(void *batch, size_t *len, const void *msg, size_t mlen)
{
	unsigned char *b = batch;
	struct sb_hdr h, m;
	size_t used;

	assert(batch != NULL && len != NULL && msg != NULL);
	if (mlen < SB_HDR_SIZE)
		return -EINVAL;
	memcpy(&m, msg, sizeof(m));
	if (m.type < SB_C_CONFIG || m.type >= SB_C_BATCH)
		return -EINVAL;
	used = *len == 0 ? SB_HDR_SIZE : *len;
	if (mlen > SB_MSG_MAX - used)
		return -EMSGSIZE;
	if (*len == 0)
		h = (struct sb_hdr){ .type = SB_C_BATCH, .epoch = m.epoch,
		    .session = m.session };
	else
		memcpy(&h, b, sizeof(h));
	memcpy(b + used, msg, mlen);
	*len = used + mlen;
	h.len = (uint32_t)(*len - SB_HDR_SIZE);
	memcpy(b, &h, sizeof(h));
	return 0;
}

/*
 * The payload of a C_BATCH (the datagram `b`, `len` bytes; its header
 * read): seq 0, and one or more whole datagrams of the hub's own types
 * but C_BATCH, each as the table says.  Returns 0 or -EBADMSG.
 */
static int
batch_check(const char *b, size_t len)
{
	struct sb_msg m;
	size_t off = 0;
	int r, n = 0;

	struct sb_hdr h;

	memcpy(&h, b, sizeof(h));
	if (h.seq != 0)			/* a batch is not a delivery */
		return -EBADMSG;
	while ((r = sb_batch_next(b, len, &off, &m)) > 0)
		n++;
	return r < 0 || n == 0 ? -EBADMSG : 0;
}

/*
 * The next message in the C_BATCH datagram `batch` (`len` bytes): `*off`
 * is 0 at first, and advanced past each message.  Returns 1 with `m`
 * filled (its fields point into `batch`), 0 after the last, or -EBADMSG
 * for an inner datagram that is cut short, malformed, a batch or not of
 * the hub's types.
 */
int
sb_batch_next(const void *batch, size_t len, size_t *off, struct sb_msg *m)
{
	const char *b = batch;
	struct sb_hdr h;
	size_t n;

	assert(batch != NULL && off != NULL && m != NULL);
	if (*off == 0)
		*off = SB_HDR_SIZE;
	if (*off == len)
		return 0;
	if (*off > len || len - *off < SB_HDR_SIZE)
		return -EBADMSG;
	memcpy(&h, b + *off, sizeof(h));
	if (h.len > len - *off - SB_HDR_SIZE)
		return -EBADMSG;
	n = SB_HDR_SIZE + h.len;
	if (h.type < SB_C_CONFIG || h.type >= SB_C_BATCH ||
	    sb_msg_decode(m, b + *off, n) < 0)
		return -EBADMSG;
	*off += n;
	return 1;
}

/*
 * Check one datagram of `len` bytes against the table and fill `m`.  The
 * header is copied out; the fields point into `buf`, which must outlive
 * `m`.  A C_BATCH is checked whole, every message in it (it has no
 * fields: sb_batch_next() reads them).  Returns 0, -EBADMSG for anything malformed (short, size mismatch,
 * unterminated or extra strings, a field over its limit), -ENOMSG for an
 * unknown type.
 */
int
sb_msg_decode(struct sb_msg *m, const void *buf, size_t len)
{
	const struct sb_spec *s;
	const char *b = buf, *p, *end;
	struct sb_hdr h;
	size_t i;

	assert(m != NULL);
	assert(buf != NULL || len == 0);
	if (len < SB_HDR_SIZE || len > SB_MSG_MAX)
		return -EBADMSG;
	memcpy(&h, b, sizeof(h));
	if (h.len != len - SB_HDR_SIZE || h.reserved != 0)
		return -EBADMSG;
	if (h.type == SB_NONE || h.type >= SB_TYPE_COUNT)
		return -ENOMSG;
	s = &specs[h.type];
	if (h.nfields < s->minf || h.nfields > s->maxf)
		return -EBADMSG;
	if (h.type == SB_C_BATCH && batch_check(b, len) < 0)
		return -EBADMSG;
	if (h.nfields == 0 && h.len != 0 && h.type != SB_C_BATCH)
		return -EBADMSG;

	*m = (struct sb_msg){
		.type = h.type,
		.epoch = h.epoch,
		.session = h.session,
		.seq = h.seq,
		.nfields = h.nfields,
	};
	if (h.type == SB_C_BATCH)
		return 0;		/* its messages: sb_batch_next() */
	p = b + SB_HDR_SIZE;
	end = b + len;
	for (i = 0; i < h.nfields; i++) {
		const char *z = memchr(p, '\0', (size_t)(end - p));

		if (z == NULL || (size_t)(z - p) > s->fmax[i])
			return -EBADMSG;
		m->field[i] = p;
		m->flen[i] = (size_t)(z - p);
		p = z + 1;
	}
	if (p != end)
		return -EBADMSG;
	return 0;
}

/*
 * Read field `i` of `m` as a decimal number within [min, max].  Returns 0,
 * or -EINVAL when the field is missing, empty, not a number or outside
 * the range.
 */
int
sb_field_num(const struct sb_msg *m, size_t i, long long min, long long max,
    long long *out)
{
	const char *s;
	char *e;
	long long v;

	assert(m != NULL && out != NULL);
	if (i >= m->nfields)
		return -EINVAL;
	s = m->field[i];
	if (*s == '\0' || (*s != '-' && (*s < '0' || *s > '9')))
		return -EINVAL;
	errno = 0;
	v = strtoll(s, &e, 10);
	if (errno != 0 || *e != '\0' || v < min || v > max)
		return -EINVAL;
	*out = v;
	return 0;
}

/*
 * In a C_CONFIG message, the value of "key=value" for `key`, or NULL.  A
 * field holds one "key=value" or several, one a line (config.c packs
 * short ones together): the value runs to its line's end, a newline or
 * the field's NUL.
 */
const char *
sb_config_get(const struct sb_msg *m, const char *key)
{
	const char *s;
	size_t i, kl;

	assert(m != NULL && key != NULL);
	kl = strlen(key);
	for (i = 0; i < m->nfields; i++)
		for (s = m->field[i]; s != NULL; s = strchr(s, '\n'),
		    s = s ? s + 1 : NULL)
			if (strncmp(s, key, kl) == 0 && s[kl] == '=')
				return s + kl + 1;
	return NULL;
}

/* The payload bytes of a decoded message (its fields and their NULs). */
size_t
sb_msg_size(const struct sb_msg *m)
{
	size_t i, n = 0;

	assert(m != NULL);
	for (i = 0; i < m->nfields; i++)
		n += m->flen[i] + 1;
	return n;
}

/* The names of enum sb_transport, as H_HELLO carries them. */
static const char *const transport_names[SB_TRANSPORT_COUNT] = {
	[SB_TRANSPORT_UNKNOWN]		= "unknown",
	[SB_TRANSPORT_XMLSOCKET]	= "xmlsocket",
	[SB_TRANSPORT_WEBSOCKET]	= "websocket",
	[SB_TRANSPORT_TUNNEL]		= "tunnel",
	[SB_TRANSPORT_HTTP]		= "http",
	[SB_TRANSPORT_POLICY]		= "policy",
};

/* The name of transport `t`; "unknown" for one out of range. */
const char *
sb_transport_name(int t)
{
	if (t < 0 || t >= SB_TRANSPORT_COUNT)
		return transport_names[SB_TRANSPORT_UNKNOWN];
	return transport_names[t];
}

/* The transport named `s`, or SB_TRANSPORT_UNKNOWN. */
enum sb_transport
sb_transport_parse(const char *s)
{
	int t;

	assert(s != NULL);
	for (t = SB_TRANSPORT_UNKNOWN + 1; t < SB_TRANSPORT_COUNT; t++)
		if (strcmp(s, transport_names[t]) == 0)
			return (enum sb_transport)t;
	return SB_TRANSPORT_UNKNOWN;
}
