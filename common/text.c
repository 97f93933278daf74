/* SPDX-License-Identifier: ISC */
/*
 * UTF-8 and the ASCII case fold (see text.h).
 *
 * UTF-8 is checked byte by byte against the table of RFC 3629 section 4:
 * overlong forms, surrogates and code points above U+10FFFF are all
 * caught by narrowing the range allowed for the byte after the lead
 * byte, so a check fails on the first byte that cannot continue a valid
 * sequence.  The state is UTF8_ACCEPT (at a character boundary),
 * UTF8_REJECT, or, inside a sequence, the bytes still expected and the
 * range [lo, hi] allowed for the next one, packed as
 * need | lo << 8 | hi << 16 with need in 1..3, so it never equals ACCEPT
 * or REJECT.  Every UTF-8 function here goes through utf8_step().
 */
#include <assert.h>

#include "text.h"

#define CONT_LO	0x80	/* the usual range of a continuation byte */
#define CONT_HI	0xbf

static uint32_t
utf8_expect(uint32_t need, uint32_t lo, uint32_t hi)
{
	return need | lo << 8 | hi << 16;
}

/* The state after lead byte c: bytes to follow, the range of the next. */
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

/* The state after byte c in `state` (which is not UTF8_REJECT). */
static inline uint32_t
utf8_step(uint32_t state, unsigned char c)
{
	uint32_t need = state & 0xff;
	uint32_t lo = state >> 8 & 0xff, hi = state >> 16 & 0xff;

	if (state == UTF8_ACCEPT)
		return utf8_lead(c);
	if (c < lo || c > hi)
		return UTF8_REJECT;
	if (need == 1)
		return UTF8_ACCEPT;
	return utf8_expect(need - 1, CONT_LO, CONT_HI);
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
	for (i = 0; i < len && state != UTF8_REJECT; i++)
		state = utf8_step(state, buf[i]);
	return state;
}

/* Is buf[0..len) valid UTF-8, whole characters only?  1 or 0. */
int
utf8_valid(const void *buf, size_t len)
{
	return utf8_feed(UTF8_ACCEPT, buf, len) == UTF8_ACCEPT;
}

/*
 * Is buf[0..len) plain text: valid UTF-8 without control characters (C0,
 * DEL, C1)?  1 or 0.  What an operator sends, or a ban's reason from
 * another machine, goes to every client, so it must be text each dialect
 * can carry.
 */
int
text_plain(const void *buf, size_t len)
{
	const char *s = buf;
	size_t i = 0, n;
	uint32_t cp;

	for (; i < len; i += n)
		if ((n = utf8_decode(s + i, len - i, &cp)) == 0 || cp < 0x20 ||
		    cp == 0x7f || (cp >= 0x80 && cp < 0xa0))
			return 0;
	return 1;
}

/*
 * The character at the start of s[0..len): returns its length in bytes
 * (1 to 4) and stores its code point in *cp (when cp is not NULL), or
 * returns 0 when the bytes there are not a whole valid character (len 0,
 * an invalid byte, or a character cut short).
 */
size_t
utf8_decode(const void *s, size_t len, uint32_t *cp)
{
	const unsigned char *p = s;
	uint32_t state, c;
	size_t i;

	assert(s != NULL || len == 0);
	if (len == 0)
		return 0;
	if (p[0] < 0x80) {
		if (cp != NULL)
			*cp = p[0];
		return 1;
	}
	if ((state = utf8_lead(p[0])) == UTF8_REJECT)
		return 0;
	c = p[0] & (0x3fu >> (state & 0xff));	/* the lead's payload bits */
	for (i = 1; i < len; i++) {
		if ((state = utf8_step(state, p[i])) == UTF8_REJECT)
			return 0;
		c = c << 6 | (p[i] & 0x3f);
		if (state == UTF8_ACCEPT) {
			if (cp != NULL)
				*cp = c;
			return i + 1;
		}
	}
	return 0;
}

/*
 * How many bytes of s[0..len) to keep so that at most `max` remain
 * without cutting a UTF-8 sequence in two (for valid text; other bytes
 * are cut where they fall).
 */
size_t
utf8_clip(const char *s, size_t len, size_t max)
{
	assert(s != NULL || len == 0);
	if (len <= max)
		return len;
	while (max > 0 && ((unsigned char)s[max] & 0xc0) == 0x80)
		max--;
	return max;
}

/*
 * Copy `src` into dst[0..dstsz) with A-Z folded to a-z and every other
 * byte kept (UTF-8 stays UTF-8); cut to fit, always terminated.
 */
void
ascii_fold(char *dst, size_t dstsz, const char *src)
{
	size_t i;

	assert(dst != NULL && dstsz > 0 && src != NULL);
	for (i = 0; src[i] != '\0' && i + 1 < dstsz; i++)
		dst[i] = (src[i] >= 'A' && src[i] <= 'Z') ?
		    (char)(src[i] - 'A' + 'a') : src[i];
	dst[i] = '\0';
}
