/* SPDX-License-Identifier: ISC */
/*
 * Fuzz target: the incremental UTF-8 validator (handler/utf8.c), against
 * a reference decoder (tests/fuzz/fuzz.h) that decodes code points and
 * checks their ranges, and against the dialects' own check
 * (dialect_utf8_valid, dialect_clip in handler/dialect_util.c).
 *
 * Input: byte 0 picks a split point; the rest is the text.  Properties:
 * utf8_feed says ACCEPT exactly for valid text, REJECT exactly when no
 * continuation could make the bytes valid, and "inside a character"
 * otherwise; feeding in two pieces gives the same state as one piece;
 * utf8_valid and dialect_utf8_valid agree with the reference;
 * dialect_clip never cuts a character in two.
 */
#include "fuzz.h"
#include "dialect.h"
#include "ws.h"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in = { data, size };
	unsigned cut = fuzz_byte(&in);
	char *s = fuzz_dup(in.p, in.n);
	const unsigned char *u = (const unsigned char *)s;
	size_t n = in.n, split = n ? cut % (n + 1) : 0, clip, i;
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
	FUZZ_CHECK(dialect_utf8_valid(s, n) == (ref == REF_UTF8_OK));

	if (ref == REF_UTF8_OK) {
		clip = dialect_clip(s, n, split);
		FUZZ_CHECK(clip <= split || (clip == n && n <= split));
		FUZZ_CHECK(ref_utf8(u, clip) == REF_UTF8_OK);
		FUZZ_CHECK(split - clip < 4 || clip == n);
	}
	free(s);
	return 0;
}
