/* SPDX-License-Identifier: ISC */
/*
 * Incremental UTF-8 validation (RFC 3629), failing on the first byte that
 * cannot continue a valid sequence: overlong forms, surrogates and code
 * points above U+10FFFF are all caught by narrowing the range allowed for
 * the byte after the lead byte, as in the table of RFC 3629 section 4.
 *
 * The state is UTF8_ACCEPT (at a character boundary), UTF8_REJECT, or,
 * inside a sequence, the bytes still expected and the range [lo, hi]
 * allowed for the next one, packed as need | lo << 8 | hi << 16 with
 * need in 1..3, so it never equals ACCEPT or REJECT.
 */
#include <assert.h>

#include "ws.h"

#define CONT_LO	0x80	/* the usual range of a continuation byte */
#define CONT_HI	0xbf

static uint32_t
utf8_expect(uint32_t need, uint32_t lo, uint32_t hi)
{
	return need | lo << 8 | hi << 16;
}

/* The state after lead byte c: how many bytes follow, and the range of the next. */
static uint32_t
utf8_lead(unsigned char c)
{
	if (c < 0x80)
		return UTF8_ACCEPT;
	if (c >= 0xc2 && c <= 0xdf)
		return utf8_expect(1, CONT_LO, CONT_HI);
	if (c == 0xe0)		/* no overlongs below U+0800 */
		return utf8_expect(2, 0xa0, CONT_HI);
	if (c == 0xed)		/* no surrogates U+D800..DFFF */
		return utf8_expect(2, CONT_LO, 0x9f);
	if (c >= 0xe1 && c <= 0xef)
		return utf8_expect(2, CONT_LO, CONT_HI);
	if (c == 0xf0)		/* no overlongs below U+10000 */
		return utf8_expect(3, 0x90, CONT_HI);
	if (c >= 0xf1 && c <= 0xf3)
		return utf8_expect(3, CONT_LO, CONT_HI);
	if (c == 0xf4)		/* nothing above U+10FFFF */
		return utf8_expect(3, CONT_LO, 0x8f);
	return UTF8_REJECT;	/* continuation, C0, C1, F5..FF */
}

/*
 * Feed buf[0..len) to the validator in `state` and return the new state.
 * UTF8_REJECT is sticky and returned as soon as a byte is invalid;
 * UTF8_ACCEPT means the bytes so far end on a character boundary.
 */
uint32_t
utf8_feed(uint32_t state, const unsigned char *buf, size_t len)
{
	size_t i;

	assert(buf != NULL || len == 0);

	for (i = 0; i < len && state != UTF8_REJECT; i++) {
		uint32_t need = state & 0xff;
		uint32_t lo = state >> 8 & 0xff, hi = state >> 16 & 0xff;

		if (state == UTF8_ACCEPT)
			state = utf8_lead(buf[i]);
		else if (buf[i] < lo || buf[i] > hi)
			state = UTF8_REJECT;
		else if (need == 1)
			state = UTF8_ACCEPT;
		else
			state = utf8_expect(need - 1, CONT_LO, CONT_HI);
	}
	return state;
}

int
utf8_valid(const void *buf, size_t len)
{
	return utf8_feed(UTF8_ACCEPT, buf, len) == UTF8_ACCEPT;
}
