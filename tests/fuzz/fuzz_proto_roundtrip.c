/* SPDX-License-Identifier: ISC */
/*
 * Fuzz target: the contract's encoder and decoder against each other
 * (common/proto.c).
 *
 * Input: a type byte, session/epoch/seq bytes, then fields separated by
 * NUL (up to SB_FIELDS_MAX + 1, to cross the limit).  The same fields are
 * (a) encoded with sb_msg_encode() and (b) laid out by hand as a datagram
 * (header, then NUL-terminated strings).  Properties: the encoder and
 * the decoder agree on what the contract allows (encode succeeds exactly
 * when decoding the hand-made datagram does); what was encoded decodes
 * to the same type, ids and fields; and re-encoding the decoded message
 * gives the same bytes.
 */
#include <errno.h>

#include "fuzz.h"
#include "proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static unsigned char raw[SB_MSG_MAX + 4096];

/*
 * A hub message goes into a C_BATCH and comes out the same, as often as
 * it fits, the last one stamped again (p2) among them; anything else is
 * refused by sb_batch_add().
 */
static void
batch_roundtrip(const struct sb_packet *p1, const struct sb_packet *p2,
    unsigned t)
{
	static unsigned char b[SB_MSG_MAX];
	struct sb_msg m;
	size_t bl = 0, off = 0, n = 0, k = 0, at;
	int r;

	if (t < SB_C_CONFIG || t >= SB_C_BATCH) {
		FUZZ_CHECK(sb_batch_add(b, &bl, p1->buf, p1->len) == -EINVAL);
		return;
	}
	while (n < 3 && (r = sb_batch_add(b, &bl, (n % 2 ? p2 : p1)->buf,
	    p1->len)) == 0)
		n++;
	FUZZ_CHECK(n > 0 || SB_HDR_SIZE + p1->len > SB_MSG_MAX);
	if (n == 0)
		return;
	FUZZ_CHECK(sb_msg_decode(&m, b, bl) == 0 && m.type == SB_C_BATCH);
	while (at = off == 0 ? SB_HDR_SIZE : off,
	    (r = sb_batch_next(b, bl, &off, &m)) == 1) {
		const struct sb_packet *src = k % 2 ? p2 : p1;

		FUZZ_CHECK(m.type == (enum sb_type)t);
		FUZZ_CHECK(off - at == src->len &&
		    memcmp(b + at, src->buf, src->len) == 0);
		k++;
	}
	FUZZ_CHECK(r == 0 && k == n);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in = { data, size };
	unsigned t = fuzz_byte(&in);
	uint64_t session = fuzz_u16(&in), seq = fuzz_u16(&in);
	uint32_t epoch = fuzz_byte(&in);
	const char *f[SB_FIELDS_MAX + 1];
	struct sb_packet p1, p2;
	struct sb_msg m, m2;
	struct sb_hdr h;
	size_t nf = 0, off = 0, i, rawlen = SB_HDR_SIZE;
	char *pl;
	int enc, dec;

	pl = malloc(in.n + 1);
	if (pl == NULL)
		abort();
	if (in.n > 0)
		memcpy(pl, in.p, in.n);
	pl[in.n] = '\0';
	while (in.n > 0 && off <= in.n && nf < SB_FIELDS_MAX + 1) {
		f[nf++] = pl + off;
		off += strlen(pl + off) + 1;
	}

	/* The datagram by hand, as far as it fits our buffer. */
	for (i = 0; i < nf; i++) {
		size_t l = strlen(f[i]) + 1;

		if (rawlen + l > sizeof(raw))
			break;
		memcpy(raw + rawlen, f[i], l);
		rawlen += l;
	}
	h = (struct sb_hdr){ .type = (uint16_t)t, .nfields = (uint16_t)nf,
	    .len = (uint32_t)(rawlen - SB_HDR_SIZE), .epoch = epoch,
	    .session = session, .seq = seq };
	memcpy(raw, &h, sizeof(h));

	enc = nf <= SB_FIELDS_MAX ? sb_msg_encode(&p1, (enum sb_type)t,
	    session, epoch, seq, f, nf) : -EINVAL;
	dec = i == nf ? sb_msg_decode(&m2, raw, rawlen) : -EBADMSG;
	FUZZ_CHECK(enc == 0 || enc == -EINVAL || enc == -EMSGSIZE);
	FUZZ_CHECK((enc == 0) == (dec == 0));

	if (enc == 0) {
		FUZZ_CHECK(p1.len == rawlen && memcmp(p1.buf, raw, rawlen) == 0);
		FUZZ_CHECK(sb_msg_decode(&m, p1.buf, p1.len) == 0);
		FUZZ_CHECK(m.type == (enum sb_type)t && m.session == session &&
		    m.epoch == epoch && m.seq == seq && m.nfields == nf);
		for (i = 0; i < nf; i++)
			FUZZ_CHECK(m.flen[i] == strlen(f[i]) &&
			    strcmp(m.field[i], f[i]) == 0);
		FUZZ_CHECK(sb_msg_encode(&p2, m.type, m.session, m.epoch,
		    m.seq, m.field, m.nfields) == 0);
		FUZZ_CHECK(p2.len == p1.len &&
		    memcmp(p2.buf, p1.buf, p1.len) == 0);
		sb_packet_stamp(&p2, epoch + 1, seq + 1);
		FUZZ_CHECK(sb_msg_decode(&m, p2.buf, p2.len) == 0);
		FUZZ_CHECK(m.epoch == epoch + 1 && m.seq == seq + 1);
		batch_roundtrip(&p1, &p2, t);
	}
	free(pl);
	return 0;
}
