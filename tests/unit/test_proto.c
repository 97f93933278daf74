/* SPDX-License-Identifier: ISC */
/*
 * Unit tests for common/proto.c, the handler <-> hub contract.
 *
 * The field table below is written out again from the comments in
 * proto.h rather than taken from proto.c, so a change to the contract
 * shows up here as a failing test.  Every datagram handed to
 * sb_msg_decode() sits at the very end of a page followed by an
 * unreadable page: a decoder that reads one byte too far crashes.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "proto.h"

#define NUM	20
#define L	SB_LIST_MAX

struct tspec {
	enum sb_type	 type;
	const char	*name;
	unsigned	 minf, maxf;
	size_t		 fmax[SB_FIELDS_MAX];
};

static const struct tspec tspecs[] = {
	{ SB_H_HELLO, "H_HELLO", 3, 3, { NUM, 16, SB_REMOTE_MAX } },
	{ SB_H_EVENT, "H_EVENT", 2, 3, { 32, SB_REASON_MAX, 16 } },
	{ SB_H_STATUS, "H_STATUS", 0, 1, { 16 } },
	{ SB_H_IDENTIFY, "H_IDENTIFY", 3, 3,
	    { SB_NICK_MAX, SB_PASS_MAX, NUM } },
	{ SB_H_PRIVMSG, "H_PRIVMSG", 2, 2, { SB_NICK_MAX, SB_TEXT_MAX } },
	{ SB_H_PRIVMSG_ALIAS, "H_PRIVMSG_ALIAS", 3, 3,
	    { NUM, SB_TEXT_MAX, 64 } },
	{ SB_H_LIST, "H_LIST", 0, 0, { 0 } },
	{ SB_H_ROOMS, "H_ROOMS", 0, 0, { 0 } },
	{ SB_H_JOIN, "H_JOIN", 1, 2, { SB_ROOM_MAX, NUM } },
	{ SB_H_PART, "H_PART", 1, 1, { SB_ROOM_MAX } },
	{ SB_H_NAMES, "H_NAMES", 1, 1, { SB_ROOM_MAX } },
	{ SB_H_ROOMMSG, "H_ROOMMSG", 2, 2, { SB_ROOM_MAX, SB_TEXT_MAX } },
	{ SB_H_NICK, "H_NICK", 1, 1, { SB_NICK_MAX } },
	{ SB_H_ACTION, "H_ACTION", 2, 2, { 32, SB_TEXT_MAX } },
	{ SB_H_PING, "H_PING", 1, 1, { 64 } },
	{ SB_H_QUIT, "H_QUIT", 1, 2, { SB_REASON_MAX, 16 } },
	{ SB_H_RESUME, "H_RESUME", 3, 4, { SB_NICK_MAX, L / 2, NUM, NUM } },
	{ SB_H_DIALECT, "H_DIALECT", 1, 1, { 16 } },
	{ SB_H_TLS_START, "H_TLS_START", 0, 0, { 0 } },
	{ SB_H_TLS_SIGN, "H_TLS_SIGN", 4, 4, { 2, 5, 16, 192 } },
	{ SB_C_CONFIG, "C_CONFIG", 0, SB_FIELDS_MAX,
	    { 1056, 1056, 1056, 1056, 1056, 1056, 1056, 1056, 1056, 1056,
	      1056, 1056, 1056, 1056, 1056, 1056 } },
	{ SB_C_WELCOME, "C_WELCOME", 2, 2, { NUM, NUM } },
	{ SB_C_STATUS, "C_STATUS", 4, 7, { NUM, NUM, NUM, NUM, 32, NUM, NUM } },
	{ SB_C_IDENTIFIED, "C_IDENTIFIED", 3, 4,
	    { SB_NICK_MAX, SB_NICK_MAX, NUM, NUM } },
	{ SB_C_LOGIN, "C_LOGIN", 2, 2, { SB_NICK_MAX, SB_NICK_MAX } },
	{ SB_C_QUIT, "C_QUIT", 2, 2, { SB_NICK_MAX, SB_REASON_MAX } },
	{ SB_C_MSG, "C_MSG", 7, 8, { 16, SB_NICK_MAX, SB_NICK_MAX, SB_ROOM_MAX,
	    SB_TEXT_MAX, NUM, 64, NUM } },
	{ SB_C_ERROR, "C_ERROR", 2, 2, { 32, SB_REASON_MAX } },
	{ SB_C_NICKLIST, "C_NICKLIST", 3, 3, { 1, L, SB_ROOM_MAX } },
	{ SB_C_ROOMLIST, "C_ROOMLIST", 2, 2, { 1, L } },
	{ SB_C_JOINED, "C_JOINED", 3, 3, { SB_ROOM_MAX, SB_NICK_MAX, L / 2 } },
	{ SB_C_PARTED, "C_PARTED", 3, 3,
	    { SB_ROOM_MAX, SB_NICK_MAX, SB_REASON_MAX } },
	{ SB_C_NICKCHANGE, "C_NICKCHANGE", 2, 2, { SB_NICK_MAX, SB_NICK_MAX } },
	{ SB_C_PONG, "C_PONG", 1, 1, { 64 } },
	{ SB_C_CLOSE, "C_CLOSE", 2, 2, { 32, SB_REASON_MAX } },
	{ SB_C_PING, "C_PING", 1, 1, { 64 } },
	{ SB_C_GAP, "C_GAP", 3, 3, { SB_ROOM_MAX, NUM, NUM } },
	{ SB_C_METRICS, "C_METRICS", 2, 2, { 1, L } },
	{ SB_C_TLS_CHAIN, "C_TLS_CHAIN", 1, 1, { 15000 } },
	{ SB_C_TLS_SIGNATURE, "C_TLS_SIGNATURE", 1, 1, { 2048 } },
	{ SB_C_BATCH, "C_BATCH", 0, 0, { 0 } },	/* test_batch */
};

#define NSPECS	(sizeof(tspecs) / sizeof(tspecs[0]))

/* --- guarded buffers ------------------------------------------------- */

#include "guard.h"

/* Decode a copy of buf[0..len) placed against the guard page. */
static int
decode_guarded(struct sb_msg *m, const void *buf, size_t len)
{
	return sb_msg_decode(m, guarded(buf, len), len);
}

/* --- helpers ----------------------------------------------------------- */

static const struct tspec *
tspec_of(enum sb_type t)
{
	size_t i;

	for (i = 0; i < NSPECS; i++)
		if (tspecs[i].type == t)
			return &tspecs[i];
	fail_msg("no test spec for type %d", (int)t);
	return NULL;
}

/* Fill s with len printable bytes (varying with seed) and a NUL. */
static char *
fill(char *s, size_t len, unsigned seed)
{
	size_t i;

	for (i = 0; i < len; i++)
		s[i] = (char)('a' + (i * 7 + seed) % 26);
	s[len] = '\0';
	return s;
}

/*
 * A datagram built by hand, without any of the encoder's checks:
 * header fields as given, `plen` payload bytes.
 */
static size_t
raw(unsigned char *out, uint16_t type, uint16_t nfields, uint32_t len,
    uint32_t reserved, const void *payload, size_t plen)
{
	struct sb_hdr h = {
		.type = type, .nfields = nfields, .len = len,
		.reserved = reserved, .session = 5,
	};

	memcpy(out, &h, sizeof(h));
	if (plen > 0)
		memcpy(out + SB_HDR_SIZE, payload, plen);
	return SB_HDR_SIZE + plen;
}

/* Join n strings into a payload of NUL-terminated strings. */
static size_t
payload_of(unsigned char *out, const char *const *f, size_t n)
{
	size_t off = 0, i, l;

	for (i = 0; i < n; i++) {
		l = strlen(f[i]) + 1;
		memcpy(out + off, f[i], l);
		off += l;
	}
	return off;
}

static struct sb_hdr
hdr_of(const struct sb_packet *p)
{
	struct sb_hdr h;

	memcpy(&h, p->buf, sizeof(h));
	return h;
}

/* --- tests --------------------------------------------------------------- */

static void
test_header_layout(void **state)
{
	assert_int_equal(sizeof(struct sb_hdr), SB_HDR_SIZE);
	assert_int_equal(SB_PAYLOAD_MAX, SB_MSG_MAX - SB_HDR_SIZE);
	assert_int_equal(NSPECS, SB_TYPE_COUNT - 1);
}

/*
 * The handler's types come first, then the hub's (a receiver tells them
 * apart by number: SB_C_CONFIG and up come from the hub), each named
 * for its side.
 */
static void
test_types_grouped(void **state)
{
	size_t i;

	for (i = 0; i < NSPECS; i++)
		if ((tspecs[i].type < SB_C_CONFIG) !=
		    (strncmp(tspecs[i].name, "H_", 2) == 0))
			fail_msg("%s is out of its group", tspecs[i].name);
}
static void
test_type_names(void **state)
{
	size_t i;

	for (i = 0; i < NSPECS; i++)
		assert_string_equal(sb_type_name(tspecs[i].type),
		    tspecs[i].name);
	assert_string_equal(sb_type_name(SB_NONE), "NONE");
	assert_string_equal(sb_type_name(-1), "UNKNOWN");
	assert_string_equal(sb_type_name(SB_TYPE_COUNT), "UNKNOWN");
	assert_string_equal(sb_type_name(0xffff), "UNKNOWN");
}

/*
 * Every type, with every field count it takes, survives encode and
 * decode: type, session, epoch, seq, each field and its length.
 */
/*
 * A C_BATCH carries whole datagrams, each with its own header: they come
 * back out in order, byte for byte, with their epoch and seq.
 */
static void
test_batch(void **state)
{
	static unsigned char b[SB_MSG_MAX];
	struct sb_packet p;
	struct sb_msg m;
	char text[SB_TEXT_MAX + 1];
	size_t bl = 0, off = 0, n;
	struct sb_hdr h;
	int r;

	for (n = 0; n < 3; n++) {
		assert_int_equal(sb_msg_pack(&p, SB_C_PONG, 7, n == 1 ? "b" :
		    "a", NULL), 0);
		sb_packet_stamp(&p, 9, 100 + n);
		assert_int_equal(sb_batch_add(b, &bl, p.buf, p.len), 0);
	}
	memcpy(&h, b, sizeof(h));
	assert_int_equal(h.type, SB_C_BATCH);
	assert_int_equal(h.seq, 0);
	assert_int_equal(h.session, 7);
	assert_int_equal(h.epoch, 9);
	assert_int_equal(sb_msg_decode(&m, guarded(b, bl), bl), 0);
	assert_int_equal(m.type, SB_C_BATCH);
	assert_int_equal(m.nfields, 0);
	for (n = 0; (r = sb_batch_next(b, bl, &off, &m)) == 1; n++) {
		assert_int_equal(m.type, SB_C_PONG);
		assert_int_equal(m.seq, 100 + n);
		assert_int_equal(m.epoch, 9);
		assert_string_equal(m.field[0], n == 1 ? "b" : "a");
	}
	assert_int_equal(r, 0);
	assert_int_equal(n, 3);

	/* Full: refused whole, the batch as it was. */
	memset(text, 'x', SB_TEXT_MAX);
	text[SB_TEXT_MAX] = '\0';
	assert_int_equal(sb_msg_pack(&p, SB_C_MSG, 7, "room", "a", "", "r",
	    text, "1", "", NULL), 0);
	while ((r = sb_batch_add(b, &bl, p.buf, p.len)) == 0)
		assert_true(bl <= SB_MSG_MAX);
	assert_int_equal(r, -EMSGSIZE);
	assert_int_equal(sb_msg_decode(&m, b, bl), 0);
	/* Only the hub's single messages go in. */
	assert_int_equal(sb_msg_pack(&p, SB_H_PING, 7, "x", NULL), 0);
	bl = 0;
	assert_int_equal(sb_batch_add(b, &bl, p.buf, p.len), -EINVAL);
	assert_int_equal(sb_msg_encode(&p, SB_C_BATCH, 7, 0, 0, NULL, 0),
	    -EINVAL);
}

/* What a batch may not be: empty, numbered, nested, cut, of H_ types. */
static void
test_batch_malformed(void **state)
{
	static unsigned char b[SB_MSG_MAX], in[SB_MSG_MAX];
	struct sb_packet p;
	struct sb_msg m;
	struct sb_hdr h;
	size_t bl = 0, il = 0;

	assert_int_equal(sb_msg_pack(&p, SB_C_PONG, 7, "a", NULL), 0);
	assert_int_equal(sb_batch_add(b, &bl, p.buf, p.len), 0);
	/* empty */
	h = (struct sb_hdr){ .type = SB_C_BATCH };
	memcpy(in, &h, sizeof(h));
	assert_int_equal(sb_msg_decode(&m, in, SB_HDR_SIZE), -EBADMSG);
	/* numbered */
	memcpy(in, b, bl);
	memcpy(&h, in, sizeof(h));
	h.seq = 1;
	memcpy(in, &h, sizeof(h));
	assert_int_equal(sb_msg_decode(&m, in, bl), -EBADMSG);
	/* cut: the inner datagram one byte short, both lengths agreeing */
	memcpy(in, b, bl);
	h = (struct sb_hdr){ .type = SB_C_BATCH, .len = (uint32_t)(bl - 1 -
	    SB_HDR_SIZE) };
	memcpy(in, &h, sizeof(h));
	assert_int_equal(sb_msg_decode(&m, in, bl - 1), -EBADMSG);
	/* nested */
	memcpy(in, b, bl);
	il = 0;
	h = (struct sb_hdr){ .type = SB_C_BATCH, .len = (uint32_t)bl };
	memcpy(in, &h, sizeof(h));
	memcpy(in + SB_HDR_SIZE, b, bl);
	il = SB_HDR_SIZE + bl;
	assert_int_equal(sb_msg_decode(&m, in, il), -EBADMSG);
	/* a handler's type inside */
	assert_int_equal(sb_msg_pack(&p, SB_H_PING, 7, "x", NULL), 0);
	h = (struct sb_hdr){ .type = SB_C_BATCH, .len = (uint32_t)p.len };
	memcpy(in, &h, sizeof(h));
	memcpy(in + SB_HDR_SIZE, p.buf, p.len);
	assert_int_equal(sb_msg_decode(&m, in, SB_HDR_SIZE + p.len),
	    -EBADMSG);
	/* a field on the batch itself */
	memcpy(in, b, bl);
	memcpy(&h, in, sizeof(h));
	h.nfields = 1;
	memcpy(in, &h, sizeof(h));
	assert_int_equal(sb_msg_decode(&m, in, bl), -EBADMSG);
}

static void
test_roundtrip_every_type(void **state)
{
	static char val[SB_FIELDS_MAX][64];
	const char *f[SB_FIELDS_MAX];
	struct sb_packet p;
	struct sb_msg m;
	const unsigned char *g;
	size_t i, j, n;

	for (i = 0; i < NSPECS; i++) {
		const struct tspec *s = &tspecs[i];

		if (s->type == SB_C_BATCH)	/* not encoded: test_batch */
			continue;
		for (n = s->minf; n <= s->maxf; n++) {
			for (j = 0; j < n; j++) {
				size_t l = s->fmax[j] < 40 ? s->fmax[j] : 40;

				f[j] = fill(val[j], l - (j % 2 && l > 0),
				    (unsigned)(i + j));
			}
			assert_int_equal(sb_msg_encode(&p, s->type,
			    0x1122334455667788ULL, 0xa5a5a5a5U, 99 + n, f, n),
			    0);
			assert_true(p.len >= SB_HDR_SIZE &&
			    p.len <= SB_MSG_MAX);
			assert_int_equal(hdr_of(&p).len, p.len - SB_HDR_SIZE);
			g = guarded(p.buf, p.len);
			assert_int_equal(sb_msg_decode(&m, g, p.len), 0);
			assert_int_equal(m.type, s->type);
			assert_int_equal(m.session, 0x1122334455667788ULL);
			assert_int_equal(m.epoch, 0xa5a5a5a5U);
			assert_int_equal(m.seq, 99 + n);
			assert_int_equal(m.nfields, n);
			for (j = 0; j < n; j++) {
				assert_string_equal(m.field[j], f[j]);
				assert_int_equal(m.flen[j], strlen(f[j]));
				/* Fields point into the buffer, not a copy. */
				assert_true((const unsigned char *)m.field[j] >
				    g && (const unsigned char *)m.field[j] <
				    g + p.len);
			}
		}
	}
}

/*
 * Each field of each type at exactly its limit is accepted both ways;
 * one byte more is refused by the encoder (-EMSGSIZE) and, written by
 * hand, by the decoder (-EBADMSG).
 */
static void
test_field_limits(void **state)
{
	static char big[SB_LIST_MAX + 2];
	static unsigned char pay[SB_MSG_MAX + 64], dg[SB_MSG_MAX + 128];
	const char *f[SB_FIELDS_MAX];
	struct sb_packet p;
	struct sb_msg m;
	size_t i, j, k, n, pl, dl;

	for (i = 0; i < NSPECS; i++) {
		const struct tspec *s = &tspecs[i];

		for (j = 0; j < s->maxf; j++) {
			n = j + 1 > s->minf ? j + 1 : s->minf;
			for (k = 0; k < n; k++)
				f[k] = "";
			f[j] = fill(big, s->fmax[j], (unsigned)j);
			assert_int_equal(sb_msg_encode(&p, s->type, 1, 2, 3, f,
			    n), 0);
			assert_int_equal(decode_guarded(&m, p.buf, p.len), 0);
			assert_int_equal(m.flen[j], s->fmax[j]);

			f[j] = fill(big, s->fmax[j] + 1, (unsigned)j);
			if (sb_msg_encode(&p, s->type, 1, 2, 3, f, n) !=
			    -EMSGSIZE)
				fail_msg("%s field %zu: %zu bytes encoded",
				    s->name, j, s->fmax[j] + 1);
			pl = payload_of(pay, f, n);
			dl = raw(dg, (uint16_t)s->type, (uint16_t)n,
			    (uint32_t)pl, 0, pay, pl);
			if (dl <= SB_MSG_MAX &&
			    decode_guarded(&m, dg, dl) != -EBADMSG)
				fail_msg("%s field %zu: %zu bytes decoded",
				    s->name, j, s->fmax[j] + 1);
		}
	}
}

/* A NULL field is sent as "". */
static void
test_null_field(void **state)
{
	const char *f[2] = { "bob", NULL };
	struct sb_packet p;
	struct sb_msg m;

	assert_int_equal(sb_msg_encode(&p, SB_H_PRIVMSG, 0, 0, 0, f, 2), 0);
	assert_int_equal(decode_guarded(&m, p.buf, p.len), 0);
	assert_string_equal(m.field[1], "");
	assert_int_equal(m.flen[1], 0);
}

static void
test_encode_refuses(void **state)
{
	static char big[1100];
	const char *f[SB_FIELDS_MAX + 1];
	struct sb_packet p;
	size_t i;

	for (i = 0; i <= SB_FIELDS_MAX; i++)
		f[i] = "x";
	assert_int_equal(sb_msg_encode(&p, SB_NONE, 0, 0, 0, f, 0), -EINVAL);
	assert_int_equal(sb_msg_encode(&p, SB_TYPE_COUNT, 0, 0, 0, f, 0),
	    -EINVAL);
	assert_int_equal(sb_msg_encode(&p, (enum sb_type)-1, 0, 0, 0, f, 0),
	    -EINVAL);
	/* Every count outside each type's range. */
	for (i = 0; i < NSPECS; i++) {
		const struct tspec *s = &tspecs[i];

		if (s->minf > 0)
			assert_int_equal(sb_msg_encode(&p, s->type, 0, 0, 0, f,
			    s->minf - 1), -EINVAL);
		assert_int_equal(sb_msg_encode(&p, s->type, 0, 0, 0, f,
		    s->maxf + 1), -EINVAL);
	}
	/* Sixteen fields at their limit do not fit one datagram. */
	fill(big, 1024, 0);
	for (i = 0; i < SB_FIELDS_MAX; i++)
		f[i] = big;
	assert_int_equal(sb_msg_encode(&p, SB_C_CONFIG, 0, 0, 0, f,
	    SB_FIELDS_MAX), -EMSGSIZE);
}

/*
 * A datagram of exactly SB_MSG_MAX bytes is fine; one byte more is
 * refused by both ends even though every field is within its limit.
 */
static void
test_message_max(void **state)
{
	static char full[1024], last[1024];
	static unsigned char pay[SB_MSG_MAX + 64], dg[SB_MSG_MAX + 128];
	const char *f[SB_FIELDS_MAX];
	struct sb_packet p;
	struct sb_msg m;
	size_t i, pl, dl;

	/* 15 * (1023 + 1) + (991 + 1) = SB_PAYLOAD_MAX */
	fill(full, 1023, 1);
	for (i = 0; i < SB_FIELDS_MAX - 1; i++)
		f[i] = full;
	f[SB_FIELDS_MAX - 1] = fill(last, 991, 2);
	assert_int_equal(sb_msg_encode(&p, SB_C_CONFIG, 0, 0, 0, f,
	    SB_FIELDS_MAX), 0);
	assert_int_equal(p.len, SB_MSG_MAX);
	assert_int_equal(decode_guarded(&m, p.buf, p.len), 0);
	assert_int_equal(m.nfields, SB_FIELDS_MAX);
	assert_int_equal(m.flen[SB_FIELDS_MAX - 1], 991);

	f[SB_FIELDS_MAX - 1] = fill(last, 992, 2);
	assert_int_equal(sb_msg_encode(&p, SB_C_CONFIG, 0, 0, 0, f,
	    SB_FIELDS_MAX), -EMSGSIZE);
	pl = payload_of(pay, f, SB_FIELDS_MAX);
	dl = raw(dg, SB_C_CONFIG, SB_FIELDS_MAX, (uint32_t)pl, 0, pay, pl);
	assert_int_equal(dl, SB_MSG_MAX + 1);
	assert_int_equal(decode_guarded(&m, dg, dl), -EBADMSG);
}

static void
test_pack(void **state)
{
	struct sb_packet p;
	struct sb_msg m;

	assert_int_equal(sb_msg_pack(&p, SB_H_PRIVMSG, 42, "bob", "hi there",
	    NULL), 0);
	assert_int_equal(decode_guarded(&m, p.buf, p.len), 0);
	assert_int_equal(m.type, SB_H_PRIVMSG);
	assert_int_equal(m.session, 42);
	assert_int_equal(m.epoch, 0);
	assert_int_equal(m.seq, 0);
	assert_int_equal(m.nfields, 2);
	assert_string_equal(m.field[0], "bob");
	assert_string_equal(m.field[1], "hi there");

	assert_int_equal(sb_msg_pack(&p, SB_H_LIST, 1, NULL), 0);
	assert_int_equal(p.len, SB_HDR_SIZE);
	assert_int_equal(decode_guarded(&m, p.buf, p.len), 0);
	assert_int_equal(m.nfields, 0);

	assert_int_equal(sb_msg_pack(&p, SB_H_PRIVMSG, 1, "bob", NULL),
	    -EINVAL);
	assert_int_equal(sb_msg_pack(&p, SB_NONE, 1, NULL), -EINVAL);
	assert_int_equal(sb_msg_pack(&p, SB_C_CONFIG, 0, "1", "2", "3", "4",
	    "5", "6", "7", "8", "9", "10", "11", "12", "13", "14", "15", "16",
	    NULL), 0);
	assert_int_equal(sb_msg_pack(&p, SB_C_CONFIG, 0, "1", "2", "3", "4",
	    "5", "6", "7", "8", "9", "10", "11", "12", "13", "14", "15", "16",
	    "17", NULL), -E2BIG);
}

/* A packer of one's own on sb_msg_vpack, as hub_send and dialect_pack. */
static int
pack_via_vpack(struct sb_packet *p, enum sb_type type, ...)
{
	va_list ap;
	int r;

	va_start(ap, type);
	r = sb_msg_vpack(p, type, 9, ap);
	va_end(ap);
	return r;
}

static void
test_vpack(void **state)
{
	struct sb_packet p;
	struct sb_msg m;

	assert_int_equal(pack_via_vpack(&p, SB_C_PARTED, "lobby", "bob", "",
	    NULL), 0);
	assert_int_equal(decode_guarded(&m, p.buf, p.len), 0);
	assert_int_equal(m.session, 9);
	assert_int_equal(m.nfields, 3);
	assert_string_equal(m.field[2], "");
	assert_int_equal(pack_via_vpack(&p, SB_C_CONFIG, "1", "2", "3", "4",
	    "5", "6", "7", "8", "9", "10", "11", "12", "13", "14", "15", "16",
	    "17", NULL), -E2BIG);
	assert_int_equal(pack_via_vpack(&p, SB_C_PARTED, "lobby", NULL),
	    -EINVAL);
}

/* The transport names are the ones H_HELLO carries, both ways. */
static void
test_transport_names(void **state)
{
	static const char *const wire[SB_TRANSPORT_COUNT] = {
		"unknown", "xmlsocket", "websocket", "tunnel", "http", "policy",
	};
	int t;

	for (t = 0; t < SB_TRANSPORT_COUNT; t++) {
		assert_string_equal(sb_transport_name(t), wire[t]);
		assert_int_equal(sb_transport_parse(wire[t]), t);
	}
	assert_string_equal(sb_transport_name(-1), "unknown");
	assert_string_equal(sb_transport_name(SB_TRANSPORT_COUNT), "unknown");
	assert_int_equal(sb_transport_parse(""), SB_TRANSPORT_UNKNOWN);
	assert_int_equal(sb_transport_parse("XMLSocket"), SB_TRANSPORT_UNKNOWN);
	assert_int_equal(sb_transport_parse("websockets"),
	    SB_TRANSPORT_UNKNOWN);
}

static void
test_decode_short(void **state)
{
	unsigned char dg[SB_HDR_SIZE];
	struct sb_msg m;
	size_t len;

	raw(dg, SB_H_LIST, 0, 0, 0, NULL, 0);
	assert_int_equal(decode_guarded(&m, dg, SB_HDR_SIZE), 0);
	for (len = 0; len < SB_HDR_SIZE; len++)
		assert_int_equal(decode_guarded(&m, dg, len), -EBADMSG);
	assert_int_equal(sb_msg_decode(&m, NULL, 0), -EBADMSG);
}

static void
test_decode_len_mismatch(void **state)
{
	unsigned char dg[128];
	struct sb_msg m;
	size_t dl;

	/* "tok\0": 4 payload bytes. */
	dl = raw(dg, SB_H_PING, 1, 4, 0, "tok", 4);
	assert_int_equal(decode_guarded(&m, dg, dl), 0);
	assert_string_equal(m.field[0], "tok");

	dl = raw(dg, SB_H_PING, 1, 5, 0, "tok", 4);
	assert_int_equal(decode_guarded(&m, dg, dl), -EBADMSG);
	dl = raw(dg, SB_H_PING, 1, 3, 0, "tok", 4);
	assert_int_equal(decode_guarded(&m, dg, dl), -EBADMSG);
	dl = raw(dg, SB_H_PING, 1, 0xffffffffU, 0, "tok", 4);
	assert_int_equal(decode_guarded(&m, dg, dl), -EBADMSG);
	/* The datagram cut short of what the header says. */
	dl = raw(dg, SB_H_PING, 1, 4, 0, "tok", 4);
	assert_int_equal(decode_guarded(&m, dg, dl - 1), -EBADMSG);
	/* A zero-field type with a payload. */
	dl = raw(dg, SB_H_STATUS, 0, 1, 0, "", 1);
	assert_int_equal(decode_guarded(&m, dg, dl), -EBADMSG);
}

static void
test_decode_reserved(void **state)
{
	unsigned char dg[128];
	struct sb_msg m;
	size_t dl;

	dl = raw(dg, SB_H_PING, 1, 4, 1, "tok", 4);
	assert_int_equal(decode_guarded(&m, dg, dl), -EBADMSG);
	dl = raw(dg, SB_H_PING, 1, 4, 0x80000000U, "tok", 4);
	assert_int_equal(decode_guarded(&m, dg, dl), -EBADMSG);
}

static void
test_decode_unknown_type(void **state)
{
	static const uint16_t bad[] = { SB_NONE, SB_TYPE_COUNT,
	    SB_TYPE_COUNT + 1, 0x7fff, 0xffff };
	unsigned char dg[128];
	struct sb_msg m;
	size_t i, dl;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		dl = raw(dg, bad[i], 0, 0, 0, NULL, 0);
		assert_int_equal(decode_guarded(&m, dg, dl), -ENOMSG);
		dl = raw(dg, bad[i], 1, 2, 0, "x", 2);
		assert_int_equal(decode_guarded(&m, dg, dl), -ENOMSG);
	}
}

static void
test_decode_field_count(void **state)
{
	static unsigned char pay[2048], dg[4096];
	const char *f[SB_FIELDS_MAX + 1];
	struct sb_msg m;
	size_t i, dl, pl;

	/* PRIVMSG takes exactly two. */
	dl = raw(dg, SB_H_PRIVMSG, 1, 4, 0, "bob", 4);
	assert_int_equal(decode_guarded(&m, dg, dl), -EBADMSG);
	dl = raw(dg, SB_H_PRIVMSG, 3, 6, 0, "a\0b\0c", 6);
	assert_int_equal(decode_guarded(&m, dg, dl), -EBADMSG);
	dl = raw(dg, SB_H_PRIVMSG, 2, 4, 0, "a\0b", 4);
	assert_int_equal(decode_guarded(&m, dg, dl), 0);
	/* The header promises two strings, the payload holds one. */
	dl = raw(dg, SB_H_PRIVMSG, 2, 2, 0, "a", 2);
	assert_int_equal(decode_guarded(&m, dg, dl), -EBADMSG);
	/* LIST takes none. */
	dl = raw(dg, SB_H_LIST, 1, 1, 0, "", 1);
	assert_int_equal(decode_guarded(&m, dg, dl), -EBADMSG);
	dl = raw(dg, SB_H_LIST, 0xffff, 0, 0, NULL, 0);
	assert_int_equal(decode_guarded(&m, dg, dl), -EBADMSG);
	/* C_CONFIG takes up to SB_FIELDS_MAX; one more is refused. */
	for (i = 0; i <= SB_FIELDS_MAX; i++)
		f[i] = "k=v";
	pl = payload_of(pay, f, SB_FIELDS_MAX);
	dl = raw(dg, SB_C_CONFIG, SB_FIELDS_MAX, (uint32_t)pl, 0, pay, pl);
	assert_int_equal(decode_guarded(&m, dg, dl), 0);
	pl = payload_of(pay, f, SB_FIELDS_MAX + 1);
	dl = raw(dg, SB_C_CONFIG, SB_FIELDS_MAX + 1, (uint32_t)pl, 0, pay,
	    pl);
	assert_int_equal(decode_guarded(&m, dg, dl), -EBADMSG);
}

static void
test_decode_termination(void **state)
{
	unsigned char dg[128];
	struct sb_msg m;
	size_t dl;

	/* The last field has no NUL. */
	dl = raw(dg, SB_H_PING, 1, 3, 0, "tok", 3);
	assert_int_equal(decode_guarded(&m, dg, dl), -EBADMSG);
	dl = raw(dg, SB_H_PRIVMSG, 2, 6, 0, "bob\0hi", 6);
	assert_int_equal(decode_guarded(&m, dg, dl), -EBADMSG);
	/* A byte after the last field. */
	dl = raw(dg, SB_H_PING, 1, 5, 0, "tok\0x", 5);
	assert_int_equal(decode_guarded(&m, dg, dl), -EBADMSG);
	dl = raw(dg, SB_H_PING, 1, 5, 0, "tok\0", 5);
	assert_int_equal(decode_guarded(&m, dg, dl), -EBADMSG);
	dl = raw(dg, SB_H_PRIVMSG, 2, 8, 0, "bob\0hi\0!", 8);
	assert_int_equal(decode_guarded(&m, dg, dl), -EBADMSG);
}

/* Numbers: ranges inclusive, anything but plain decimal refused. */
static void
test_field_num(void **state)
{
	static const char *const good[] = {
		"0", "-5", "007", "-0", "9223372036854775807",
		"-9223372036854775808",
	};
	static const long long goodv[] = {
		0, -5, 7, 0, LLONG_MAX, LLONG_MIN,
	};
	static const char *const bad[] = {
		"", "abc", " 5", "+5", "5x", "5 ", "0x10", "-", "1e3", "1.5",
		"9223372036854775808", "-9223372036854775809",
		"99999999999999999999",
	};
	const char *f[SB_FIELDS_MAX];
	struct sb_packet p;
	struct sb_msg m;
	long long v;
	size_t i;

	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		f[0] = good[i];
		assert_int_equal(sb_msg_encode(&p, SB_C_CONFIG, 0, 0, 0, f, 1),
		    0);
		assert_int_equal(decode_guarded(&m, p.buf, p.len), 0);
		v = 12345;
		assert_int_equal(sb_field_num(&m, 0, LLONG_MIN, LLONG_MAX, &v),
		    0);
		assert_true(v == goodv[i]);
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		f[0] = bad[i];
		assert_int_equal(sb_msg_encode(&p, SB_C_CONFIG, 0, 0, 0, f, 1),
		    0);
		assert_int_equal(decode_guarded(&m, p.buf, p.len), 0);
		v = 12345;
		if (sb_field_num(&m, 0, LLONG_MIN, LLONG_MAX, &v) != -EINVAL)
			fail_msg("\"%s\" read as %lld", bad[i], v);
		assert_true(v == 12345);	/* untouched */
	}

	/* Range ends are inclusive. */
	f[0] = "10";
	f[1] = "-3";
	assert_int_equal(sb_msg_encode(&p, SB_C_CONFIG, 0, 0, 0, f, 2), 0);
	assert_int_equal(decode_guarded(&m, p.buf, p.len), 0);
	assert_int_equal(sb_field_num(&m, 0, 10, 10, &v), 0);
	assert_int_equal(v, 10);
	assert_int_equal(sb_field_num(&m, 0, 1, 9, &v), -EINVAL);
	assert_int_equal(sb_field_num(&m, 0, 11, 20, &v), -EINVAL);
	assert_int_equal(sb_field_num(&m, 1, -3, 0, &v), 0);
	assert_int_equal(v, -3);
	assert_int_equal(sb_field_num(&m, 1, 0, 100, &v), -EINVAL);
	/* A field that is not there. */
	assert_int_equal(sb_field_num(&m, 2, 0, 100, &v), -EINVAL);
	assert_int_equal(sb_field_num(&m, SB_FIELDS_MAX, 0, 100, &v), -EINVAL);
}

static void
test_config_get(void **state)
{
	struct sb_packet p;
	struct sb_msg m;

	assert_int_equal(sb_msg_pack(&p, SB_C_CONFIG, 0, "ws_echo_x=9",
	    "ws_echo=1", "empty=", "noeq", "a=b=c", "ws_echo=2", NULL), 0);
	assert_int_equal(decode_guarded(&m, p.buf, p.len), 0);
	assert_string_equal(sb_config_get(&m, "ws_echo"), "1");
	assert_string_equal(sb_config_get(&m, "ws_echo_x"), "9");
	assert_string_equal(sb_config_get(&m, "empty"), "");
	assert_string_equal(sb_config_get(&m, "a"), "b=c");
	assert_null(sb_config_get(&m, "ws"));
	assert_null(sb_config_get(&m, "noeq"));
	assert_null(sb_config_get(&m, "missing"));
}

static void
test_stamp(void **state)
{
	const struct tspec *s = tspec_of(SB_C_MSG);
	const char *f[8] = { "room", "alice", "", "lobby", "hello", "1", "",
	    "42" };
	struct sb_packet p;
	struct sb_msg m;
	size_t len, i;

	assert_int_equal(s->maxf, 8);
	assert_int_equal(sb_msg_encode(&p, SB_C_MSG, 77, 0, 0, f, 8), 0);
	len = p.len;
	sb_packet_stamp(&p, 0xdeadbeefU, 12345678901234ULL);
	assert_int_equal(p.len, len);
	assert_int_equal(decode_guarded(&m, p.buf, p.len), 0);
	assert_int_equal(m.epoch, 0xdeadbeefU);
	assert_int_equal(m.seq, 12345678901234ULL);
	assert_int_equal(m.session, 77);
	assert_int_equal(m.type, SB_C_MSG);
	for (i = 0; i < 8; i++)
		assert_string_equal(m.field[i], f[i]);
	sb_packet_stamp(&p, 1, 2);
	assert_int_equal(decode_guarded(&m, p.buf, p.len), 0);
	assert_int_equal(m.epoch, 1);
	assert_int_equal(m.seq, 2);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_header_layout),
		cmocka_unit_test(test_type_names),
		cmocka_unit_test(test_types_grouped),
		cmocka_unit_test(test_roundtrip_every_type),
		cmocka_unit_test(test_batch),
		cmocka_unit_test(test_batch_malformed),
		cmocka_unit_test(test_field_limits),
		cmocka_unit_test(test_null_field),
		cmocka_unit_test(test_encode_refuses),
		cmocka_unit_test(test_message_max),
		cmocka_unit_test(test_pack),
		cmocka_unit_test(test_decode_short),
		cmocka_unit_test(test_decode_len_mismatch),
		cmocka_unit_test(test_decode_reserved),
		cmocka_unit_test(test_decode_unknown_type),
		cmocka_unit_test(test_decode_field_count),
		cmocka_unit_test(test_decode_termination),
		cmocka_unit_test(test_field_num),
		cmocka_unit_test(test_config_get),
		cmocka_unit_test(test_stamp),
		cmocka_unit_test(test_vpack),
		cmocka_unit_test(test_transport_names),
	};

	return cmocka_run_group_tests(tests, guard_setup, guard_teardown);
}
