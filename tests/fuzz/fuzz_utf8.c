/* SPDX-License-Identifier: ISC */
/*
 * Fuzz target: the UTF-8 functions of common/text.c, against a reference
 * decoder (tests/fuzz/fuzz.h) that decodes code points and checks their
 * ranges.
 *
 * Input: byte 0 picks a split point; the rest is the text.  Properties:
 * utf8_feed says ACCEPT exactly for valid text, REJECT exactly when no
 * continuation could make the bytes valid, and "inside a character"
 * otherwise; feeding in two pieces gives the same state as one piece;
 * utf8_valid agrees with the reference; walking the text with
 * utf8_decode reaches its end exactly when it is valid, and every code
 * point it gives is written back as the same bytes; utf8_clip never cuts
 * a character in two.
 */
#include "fuzz.h"
#include "text.h"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/* How many bytes UTF-8 takes for code point cp. */
static size_t
ref_utf8_len(uint32_t cp)
{
	return cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
}

/* Are p[0..n) the UTF-8 bytes of cp, written by the definition? */
static int
ref_utf8_is(const unsigned char *p, uint32_t cp, size_t n)
{
	static const unsigned char lead[] = { 0, 0, 0xc0, 0xe0, 0xf0 };
	unsigned char e[4];
	size_t i;

	if (n == 1)
		return p[0] == cp;
	for (i = n - 1; i > 0; i--, cp >>= 6)
		e[i] = (unsigned char)(0x80 | (cp & 0x3f));
	e[0] = (unsigned char)(lead[n] | cp);
	return memcmp(p, e, n) == 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in = { data, size };
	unsigned cut = fuzz_byte(&in);
	char *s = fuzz_dup(in.p, in.n);
	const unsigned char *u = (const unsigned char *)s;
	size_t n = in.n, split = n ? cut % (n + 1) : 0, clip, i, step;
	uint32_t whole, st;
	int ref = ref_utf8(u, n);

	whole = utf8_feed(UTF8_ACCEPT, u, n);
	if (ref == REF_UTF8_OK)
		FUZZ_CHECK(whole == UTF8_ACCEPT);
	else if (ref == REF_UTF8_BAD)
		FUZZ_CHECK(whole == UTF8_REJECT);
	else
		FUZZ_CHECK(whole != UTF8_ACCEPT && whole != UTF8_REJECT);

	st = utf8_feed(UTF8_ACCEPT, u, split);
	st = utf8_feed(st, u + split, n - split);
	FUZZ_CHECK(st == whole);

	/* Every prefix, byte by byte, against the reference. */
	st = UTF8_ACCEPT;
	for (i = 0; i < n && i < 64; i++) {
		int r = ref_utf8(u, i + 1);

		st = utf8_feed(st, u + i, 1);
		FUZZ_CHECK((st == UTF8_ACCEPT) == (r == REF_UTF8_OK));
		FUZZ_CHECK((st == UTF8_REJECT) == (r == REF_UTF8_BAD));
	}

	FUZZ_CHECK(utf8_valid(u, n) == (ref == REF_UTF8_OK));

	/* Character by character. */
	for (i = 0; i < n; i += step) {
		uint32_t cp;

		if ((step = utf8_decode(u + i, n - i, &cp)) == 0)
			break;
		FUZZ_CHECK(step == ref_utf8_len(cp));
		FUZZ_CHECK(ref_utf8_is(u + i, cp, step));
	}
	FUZZ_CHECK((i == n) == (ref == REF_UTF8_OK));

	if (ref == REF_UTF8_OK) {
		clip = utf8_clip(s, n, split);
		FUZZ_CHECK(clip <= split || (clip == n && n <= split));
		FUZZ_CHECK(ref_utf8(u, clip) == REF_UTF8_OK);
		FUZZ_CHECK(split - clip < 4 || clip == n);
	}
	free(s);
	return 0;
}
