/* SPDX-License-Identifier: ISC */
/*
 * Fuzz target: the handler<->hub contract decoder, sb_msg_decode() of
 * arbitrary datagrams (common/proto.c), both directions: H_* types as the
 * hub receives them, C_* types as a handler receives them.
 *
 * Properties: a datagram that decodes has a known type, every field
 * inside the datagram and terminated where flen says, and it re-encodes
 * with sb_msg_encode() to exactly the same bytes (the decoder accepts
 * nothing the encoder could not have produced).  What a handler does
 * next with a hub message is exercised too: sb_field_num on every field,
 * config_apply_msg on C_CONFIG, dialect_render in the three dialects.
 */
#include <errno.h>

#include "fuzz_dialect.h"
#include "config.h"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static void
render_all(const struct sb_msg *m)
{
	enum dialect_kind k;
	struct dialect d;
	struct buf out;
	int r;

	for (k = DIALECT_TEXT; k <= DIALECT_JSON; k++) {
		dialect_init(&d, k);
		buf_init(&out, DIALECT_OUT_MAX);
		r = dialect_render(&d, m, &out);
		if (r >= 0)
			FUZZ_CHECK(fuzz_client_messages(k, &out, 0) == r);
		else
			FUZZ_CHECK(out.len == 0);
		buf_free(&out);
		dialect_free(&d);
	}
}

/*
 * A C_BATCH that decodes: each message in it decodes, re-encodes to its
 * own bytes and renders; the batch built again from them with
 * sb_batch_add() has the same payload.
 */
static void
batch_all(const char *b, size_t size)
{
	static unsigned char again[SB_MSG_MAX];
	struct sb_packet pkt;
	struct sb_msg m;
	size_t off = 0, al = 0, at;
	int r;

	while (at = off == 0 ? SB_HDR_SIZE : off,
	    (r = sb_batch_next(b, size, &off, &m)) == 1) {
		FUZZ_CHECK(m.type >= SB_C_CONFIG && m.type < SB_C_BATCH);
		FUZZ_CHECK(sb_msg_encode(&pkt, m.type, m.session, m.epoch,
		    m.seq, m.field, m.nfields) == 0);
		FUZZ_CHECK(pkt.len == off - at &&
		    memcmp(pkt.buf, b + at, pkt.len) == 0);
		FUZZ_CHECK(sb_batch_add(again, &al, pkt.buf, pkt.len) == 0);
		render_all(&m);
	}
	FUZZ_CHECK(r == 0 && off == size);
	FUZZ_CHECK(al == size && memcmp(again + SB_HDR_SIZE,
	    b + SB_HDR_SIZE, size - SB_HDR_SIZE) == 0);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *b = fuzz_dup(data, size);
	struct sb_packet pkt;
	struct sb_msg m;
	struct sb_config cfg;
	char err[256];
	long long v;
	size_t i;
	int r;

	r = sb_msg_decode(&m, b, size);
	FUZZ_CHECK(r == 0 || r == -EBADMSG || r == -ENOMSG);
	if (r != 0) {
		free(b);
		return 0;
	}
	FUZZ_CHECK(m.type > SB_NONE && m.type < SB_TYPE_COUNT);
	FUZZ_CHECK(strcmp(sb_type_name(m.type), "UNKNOWN") != 0);
	FUZZ_CHECK(m.nfields <= SB_FIELDS_MAX);
	for (i = 0; i < m.nfields; i++) {
		FUZZ_CHECK(m.field[i] >= b + SB_HDR_SIZE &&
		    m.field[i] + m.flen[i] < b + size);
		FUZZ_CHECK(m.field[i][m.flen[i]] == '\0');
		FUZZ_CHECK(strlen(m.field[i]) == m.flen[i]);
		if (sb_field_num(&m, i, 0, 1000, &v) == 0)
			FUZZ_CHECK(v >= 0 && v <= 1000);
	}
	FUZZ_CHECK(sb_field_num(&m, m.nfields, 0, 1, &v) == -EINVAL);
	if (m.type == SB_C_BATCH) {
		FUZZ_CHECK(m.nfields == 0 && m.seq == 0);
		batch_all(b, size);
		free(b);
		return 0;
	}

	FUZZ_CHECK(sb_msg_encode(&pkt, m.type, m.session, m.epoch, m.seq,
	    m.field, m.nfields) == 0);
	FUZZ_CHECK(pkt.len == size && memcmp(pkt.buf, b, size) == 0);

	if (m.type == SB_C_CONFIG) {
		config_defaults(&cfg);
		err[0] = '\0';
		if (config_apply_msg(&cfg, &m, err, sizeof(err)) < 0)
			FUZZ_CHECK(err[0] != '\0' && memchr(err, '\0',
			    sizeof(err)) != NULL);
		(void)sb_config_get(&m, "ws_origins");
	}
	if (m.type >= SB_C_CONFIG)
		render_all(&m);
	free(b);
	return 0;
}
