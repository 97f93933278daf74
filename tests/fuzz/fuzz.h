/* SPDX-License-Identifier: ISC */
/*
 * Helpers shared by the libFuzzer targets in tests/fuzz: a reader over
 * the fuzzer's bytes, a reference UTF-8 decoder written apart from the
 * one under test, and an XML well-formedness check built on expat.
 *
 * A target checks properties with FUZZ_CHECK(): a broken property is a
 * finding just like a crash, and aborts with the condition's text.
 */
#ifndef SB_FUZZ_H
#define SB_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FUZZ_CHECK(cond) do {						\
	if (!(cond)) {							\
		fprintf(stderr, "%s:%d: property broken: %s\n",		\
		    __FILE__, __LINE__, #cond);				\
		abort();						\
	}								\
} while (0)

/* The fuzzer's bytes, taken from the front. */
struct fuzz_in {
	const uint8_t	*p;
	size_t		 n;
};

static inline unsigned
fuzz_byte(struct fuzz_in *in)
{
	if (in->n == 0)
		return 0;
	in->n--;
	return *in->p++;
}

static inline unsigned
fuzz_u16(struct fuzz_in *in)
{
	unsigned v = fuzz_byte(in);

	return v | fuzz_byte(in) << 8;
}

/*
 * A heap copy of p[0..n) of exactly n bytes (one byte at least, so that
 * malloc(0) is never asked for), so that AddressSanitizer catches a
 * parser reading one byte past what it was given.
 */
static inline char *
fuzz_dup(const void *p, size_t n)
{
	char *d = malloc(n ? n : 1);

	if (d == NULL)
		abort();
	if (n > 0)
		memcpy(d, p, n);
	return d;
}

enum { REF_UTF8_OK, REF_UTF8_BAD, REF_UTF8_PARTIAL };

/*
 * Can a sequence whose code point lies in [lo, hi] still become a valid
 * scalar value of at least `min`?
 */
static inline int
ref_utf8_possible(uint64_t lo, uint64_t hi, uint64_t min)
{
	if (lo < min)
		lo = min;
	if (hi > 0x10ffff)
		hi = 0x10ffff;
	if (lo > hi)
		return 0;
	return !(lo >= 0xd800 && hi <= 0xdfff);
}

/*
 * Reference UTF-8 check (RFC 3629), by decoding code points and checking
 * their range, unlike the table-driven validator under test.  Returns
 * REF_UTF8_OK for complete valid text, REF_UTF8_PARTIAL when the bytes
 * are a proper prefix of some valid text, REF_UTF8_BAD otherwise.
 */
static inline int
ref_utf8(const unsigned char *s, size_t n)
{
	size_t i = 0, j, need;
	uint32_t cp, min;

	while (i < n) {
		unsigned c = s[i];

		if (c < 0x80) {
			i++;
			continue;
		}
		if ((c & 0xe0) == 0xc0)
			need = 1, cp = c & 0x1f, min = 0x80;
		else if ((c & 0xf0) == 0xe0)
			need = 2, cp = c & 0x0f, min = 0x800;
		else if ((c & 0xf8) == 0xf0)
			need = 3, cp = c & 0x07, min = 0x10000;
		else
			return REF_UTF8_BAD;
		for (j = 1; j <= need; j++) {
			if (i + j == n) {
				unsigned free_bits = 6 * (unsigned)(need - j + 1);
				uint64_t lo = (uint64_t)cp << free_bits;
				uint64_t hi = lo | ((1ULL << free_bits) - 1);

				return ref_utf8_possible(lo, hi, min) ?
				    REF_UTF8_PARTIAL : REF_UTF8_BAD;
			}
			if ((s[i + j] & 0xc0) != 0x80)
				return REF_UTF8_BAD;
			cp = cp << 6 | (s[i + j] & 0x3f);
		}
		if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return REF_UTF8_BAD;
		i += need + 1;
	}
	return REF_UTF8_OK;
}

/* Is s[0..n) valid UTF-8 with no C0 control character and no DEL? */
static inline int
ref_clean_text(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return 0;
	return ref_utf8((const unsigned char *)s, n) == REF_UTF8_OK;
}

#endif /* SB_FUZZ_H */
