/* SPDX-License-Identifier: ISC */
/*
 * Shared by the dialect fuzz targets: what every message a dialect
 * writes for a client must look like, and the checks on dialect_parse().
 */
#ifndef SB_FUZZ_DIALECT_H
#define SB_FUZZ_DIALECT_H

#include <jansson.h>

#include "dialect.h"
#include "fuzz_xml.h"

/*
 * One client message s[0..n) (without its NUL separator) of dialect
 * `kind`: one well-formed XML element for the text and XML dialects, one
 * JSON object with a string "type" for JSON.  Valid UTF-8 in any case.
 * Returns nothing; aborts when broken.
 */
static inline void
fuzz_client_message(enum dialect_kind kind, const char *s, size_t n)
{
	json_error_t e;
	json_t *o;

	FUZZ_CHECK(n > 0);
	FUZZ_CHECK(memchr(s, '\0', n) == NULL);
	FUZZ_CHECK(ref_utf8((const unsigned char *)s, n) == REF_UTF8_OK);
	if (kind != DIALECT_JSON) {
		/* One line: a client typing into nc reads it as one. */
		FUZZ_CHECK(memchr(s, '\n', n) == NULL);
		FUZZ_CHECK(memchr(s, '\r', n) == NULL);
		(void)fuzz_xml_one(s, n);
		return;
	}
	o = json_loadb(s, n, JSON_REJECT_DUPLICATES, &e);
	if (o == NULL)
		fprintf(stderr, "not JSON (%s): %.*s\n", e.text, (int)n, s);
	FUZZ_CHECK(o != NULL);
	FUZZ_CHECK(json_is_object(o));
	FUZZ_CHECK(json_is_string(json_object_get(o, "type")));
	json_decref(o);
}

/* Every NUL-separated message in d[from..len); returns how many. */
static inline int
fuzz_client_messages(enum dialect_kind kind, const struct buf *d,
    size_t from)
{
	size_t off = from;
	int n = 0;

	FUZZ_CHECK(d->len == from || d->buf[d->len - 1] == '\0');
	while (off < d->len) {
		size_t ml = strlen(d->buf + off);

		fuzz_client_message(kind, d->buf + off, ml);
		off += ml + 1;
		n++;
	}
	return n;
}

/* Field i of a packet from a client must be a word (no space). */
static inline int
fuzz_word_field(enum sb_type t, size_t i)
{
	if (i != 0)
		return 0;
	switch (t) {
	case SB_H_IDENTIFY: case SB_H_PRIVMSG: case SB_H_JOIN: case SB_H_PART:
	case SB_H_NAMES: case SB_H_ROOMMSG: case SB_H_NICK: case SB_H_ACTION:
	case SB_H_PING:
		return 1;
	default:
		return 0;
	}
}

/*
 * Parse one client message and check the outcome: a packet for the hub
 * that the contract accepts, from a client's repertoire, with every
 * field clean text (valid UTF-8, no control character), words without
 * spaces; or one error reply in the client's dialect; or nothing.
 */
static inline void
fuzz_parse_one(struct dialect *d, const uint8_t *p, size_t n)
{
	char *msg = fuzz_dup(p, n);
	struct sb_packet pkt;
	struct buf reply;
	struct sb_msg m;
	size_t i;
	int r;

	buf_init(&reply, DIALECT_OUT_MAX);
	r = dialect_parse(d, msg, n, &pkt, &reply);
	FUZZ_CHECK(r == DIALECT_NOTHING || r == DIALECT_TO_HUB ||
	    r == DIALECT_REPLY);
	if (r == DIALECT_TO_HUB) {
		FUZZ_CHECK(reply.len == 0);
		FUZZ_CHECK(sb_msg_decode(&m, pkt.buf, pkt.len) == 0);
		FUZZ_CHECK(m.session == d->session);
		FUZZ_CHECK(m.type >= SB_H_IDENTIFY && m.type <= SB_H_QUIT);
		for (i = 0; i < m.nfields; i++) {
			FUZZ_CHECK(ref_clean_text(m.field[i], m.flen[i]));
			if (fuzz_word_field(m.type, i))
				FUZZ_CHECK(memchr(m.field[i], ' ',
				    m.flen[i]) == NULL);
		}
	} else if (r == DIALECT_REPLY)
		FUZZ_CHECK(fuzz_client_messages(d->kind, &reply, 0) == 1);
	else
		FUZZ_CHECK(reply.len == 0);
	buf_free(&reply);
	free(msg);
}

/*
 * The whole input as one message on a fresh session, then its
 * NUL-separated pieces one after another on another session (state such
 * as a seed-003 registration carries over).
 */
static inline void
fuzz_dialect_parse(enum dialect_kind kind, const uint8_t *data, size_t size)
{
	struct dialect d;
	size_t off = 0, n;
	const uint8_t *z;

	dialect_init(&d, kind);
	d.session = 42;
	fuzz_parse_one(&d, data, size);
	dialect_free(&d);

	dialect_init(&d, kind);
	while (off < size) {
		z = memchr(data + off, '\0', size - off);
		n = z != NULL ? (size_t)(z - (data + off)) : size - off;
		fuzz_parse_one(&d, data + off, n);
		off += n + 1;
	}
	dialect_free(&d);
}

#endif /* SB_FUZZ_DIALECT_H */
