/* SPDX-License-Identifier: ISC */
/*
 * Unit tests for common/text.c.  UTF-8: the cases of the Autobahn
 * testsuite (category 6), each fed whole, one byte at a time and split
 * in two at every point, with the exact byte where it must fail; an
 * exhaustive comparison of all 1- to 3-byte sequences with a reference;
 * every code point decoded back; decoding and clipping at the end of a
 * page followed by an unreadable one.  The ASCII case fold.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "text.h"

#define VALID		(-1)	/* whole input valid */
#define INCOMPLETE	(-2)	/* no bad byte, but ends inside a character */

static const struct {
	const char	*name;
	const char	*hex;
	int		 fail_at;	/* index of the rejected byte, or above */
} cases[] = {
	{ "6.1.1", "", VALID },
	{ "6.2.1", "48656c6c6f2dc2b540c39fc3b6c3a4c3bcc3a0c3a12d5554462d382121",
	    VALID },
	{ "6.3.1", "cebae1bdb9cf83cebcceb5", VALID },
	{ "6.3.2", "cebae1bdb9cf83cebcceb5eda080656469746564", 12 },
	{ "6.4.1", "cebae1bdb9cf83cebcceb5f4908080656469746564", 12 },
	{ "6.4.2", "cebae1bdb9cf83cebcceb5f4", INCOMPLETE },
	{ "6.6.1", "ce", INCOMPLETE },
	{ "6.6.2", "ceba", VALID },
	{ "6.6.3", "cebae1", INCOMPLETE },
	{ "6.6.4", "cebae1bd", INCOMPLETE },
	{ "6.6.5", "cebae1bdb9", VALID },
	{ "6.7.1", "00", VALID },
	{ "6.7.2", "c280", VALID },
	{ "6.7.3", "e0a080", VALID },
	{ "6.7.4", "f0908080", VALID },
	{ "6.8.1", "f888808080", 0 },
	{ "6.8.2", "fc8480808080", 0 },
	{ "6.9.1", "7f", VALID },
	{ "6.9.2", "dfbf", VALID },
	{ "6.9.3", "efbfbf", VALID },
	{ "6.9.4", "f48fbfbf", VALID },
	{ "6.10.1", "f7bfbfbf", 0 },
	{ "6.10.2", "fbbfbfbfbf", 0 },
	{ "6.10.3", "fdbfbfbfbfbf", 0 },
	{ "6.11.1", "ed9fbf", VALID },
	{ "6.11.2", "ee8080", VALID },
	{ "6.11.3", "efbfbd", VALID },
	{ "6.11.4", "f48fbfbf", VALID },
	{ "6.11.5", "f4908080", 1 },
	{ "6.12.1", "80", 0 },
	{ "6.12.2", "bf", 0 },
	{ "6.12.3", "80bf", 0 },
	{ "6.12.4", "80bf80", 0 },
	{ "6.12.5", "80bf80bf", 0 },
	{ "6.12.6", "80bf80bf80", 0 },
	{ "6.12.7", "80bf80bf80bf", 0 },
	{ "6.12.8", "808182838485868788898a8b8c8d8e8f"
	    "909192939495969798999a9b9c9d9e9f"
	    "a0a1a2a3a4a5a6a7a8a9aaabacadaeaf"
	    "b0b1b2b3b4b5b6b7b8b9babbbcbdbebf", 0 },
	{ "6.13.1", "c020c120c220c320c420c520c620c720c820c920ca20cb20cc20cd20"
	    "ce20cf20d020d120d220d320d420d520d620d720d820d920da20db20dc20dd20"
	    "de20", 0 },
	{ "6.13.1b", "c220", 1 },
	{ "6.13.2", "e020e120e220e320e420e520e620e720e820e920ea20eb20ec20ed20"
	    "ee20", 1 },
	{ "6.13.3", "f020f120f220f320f420f520f620", 1 },
	{ "6.13.4", "f820f920fa20fb20", 0 },
	{ "6.13.5", "fc20fd20", 0 },
	{ "6.14.1", "c0", 0 },
	{ "6.14.2", "e080", 1 },
	{ "6.14.3", "f08080", 1 },
	{ "6.14.4", "f8808080", 0 },
	{ "6.14.5", "fc80808080", 0 },
	{ "6.14.6", "df", INCOMPLETE },
	{ "6.14.7", "efbf", INCOMPLETE },
	{ "6.14.8", "f7bfbf", 0 },
	{ "6.14.9", "fbbfbfbf", 0 },
	{ "6.14.10", "fdbfbfbfbf", 0 },
	{ "6.15.1", "c0e080f08080f8808080fc80808080dfefbff7bfbffbbfbfbf"
	    "fdbfbfbfbf", 0 },
	{ "6.15.1b", "dfefbf", 1 },
	{ "6.16.1", "fe", 0 },
	{ "6.16.2", "ff", 0 },
	{ "6.16.3", "fefeffff", 0 },
	{ "6.17.1", "c0af", 0 },
	{ "6.17.2", "e080af", 1 },
	{ "6.17.3", "f08080af", 1 },
	{ "6.17.4", "f8808080af", 0 },
	{ "6.17.5", "fc80808080af", 0 },
	{ "6.18.1", "c1bf", 0 },
	{ "6.18.2", "e09fbf", 1 },
	{ "6.18.3", "f08fbfbf", 1 },
	{ "6.18.4", "f887bfbfbf", 0 },
	{ "6.18.5", "fc83bfbfbfbf", 0 },
	{ "6.19.1", "c080", 0 },
	{ "6.19.2", "e08080", 1 },
	{ "6.19.3", "f0808080", 1 },
	{ "6.19.4", "f880808080", 0 },
	{ "6.19.5", "fc8080808080", 0 },
	{ "6.20.1", "eda080", 1 },
	{ "6.20.2", "edadbf", 1 },
	{ "6.20.3", "edae80", 1 },
	{ "6.20.4", "edafbf", 1 },
	{ "6.20.5", "edb080", 1 },
	{ "6.20.6", "edbe80", 1 },
	{ "6.20.7", "edbfbf", 1 },
	{ "6.21.1", "eda080edb080", 1 },
	{ "6.21.2", "eda080edbfbf", 1 },
	{ "6.21.3", "edadbfedb080", 1 },
	{ "6.21.4", "edadbfedbfbf", 1 },
	{ "6.21.5", "edae80edb080", 1 },
	{ "6.21.6", "edae80edbfbf", 1 },
	{ "6.21.7", "edafbfedb080", 1 },
	{ "6.21.8", "edafbfedbfbf", 1 },
	{ "6.22.1", "efbfbe", VALID },
	{ "6.22.2", "efbfbf", VALID },
	{ "6.22.3", "f09fbfbe", VALID },
	{ "6.22.4", "f09fbfbf", VALID },
	{ "6.22.33", "f48fbfbe", VALID },
	{ "6.22.34", "f48fbfbf", VALID },
	{ "6.23.1", "efbfb9", VALID },
	{ "6.23.2", "efbfba", VALID },
	{ "6.23.3", "efbfbb", VALID },
	{ "6.23.4", "efbfbc", VALID },
	{ "6.23.5", "efbfbd", VALID },
	{ "6.23.6", "efbfbe", VALID },
	{ "6.23.7", "efbfbf", VALID },
};

static size_t
hex_decode(const char *hex, unsigned char *out, size_t outsz)
{
	size_t n = strlen(hex) / 2, i;

	assert_true(n <= outsz);
	for (i = 0; i < n; i++) {
		char b[3] = { hex[2 * i], hex[2 * i + 1], '\0' };

		out[i] = (unsigned char)strtoul(b, NULL, 16);
	}
	return n;
}

/* Copy s to the end of a page followed by a PROT_NONE page. */
static unsigned char *
guard_put(const unsigned char *s, size_t len, void **map, size_t *mapsz)
{
	size_t pg = (size_t)sysconf(_SC_PAGESIZE);
	unsigned char *base;

	assert_true(len <= pg);
	*mapsz = 2 * pg;
	base = mmap(NULL, *mapsz, PROT_READ | PROT_WRITE,
	    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	assert_true(base != MAP_FAILED);
	assert_int_equal(mprotect(base + pg, pg, PROT_NONE), 0);
	*map = base;
	return memcpy(base + pg - len, s, len);
}

static void
test_autobahn_cases(void **state)
{
	unsigned char buf[256], *g;
	size_t n, i, k, mapsz;
	uint32_t st, st2;
	void *map;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int want = cases[i].fail_at, at = VALID;

		n = hex_decode(cases[i].hex, buf, sizeof(buf));
		g = guard_put(buf, n, &map, &mapsz);

		/* One byte at a time: where exactly does it fail? */
		st = UTF8_ACCEPT;
		for (k = 0; k < n && st != UTF8_REJECT; k++)
			if ((st = utf8_feed(st, g + k, 1)) == UTF8_REJECT)
				at = (int)k;
		if (at == VALID && st != UTF8_ACCEPT)
			at = INCOMPLETE;
		if (at != want)
			fail_msg("%s: fails at %d, want %d", cases[i].name, at, want);

		/* Whole, and split in two at every point. */
		st = utf8_feed(UTF8_ACCEPT, g, n);
		assert_int_equal(utf8_valid(g, n), want == VALID);
		assert_int_equal(st == UTF8_REJECT, want >= 0);
		for (k = 0; k <= n; k++) {
			st2 = utf8_feed(utf8_feed(UTF8_ACCEPT, g, k), g + k, n - k);
			assert_int_equal(st2, st);
		}
		munmap(map, mapsz);
	}
}

/* Rejection is sticky: nothing valid brings the state back. */
static void
test_reject_sticky(void **state)
{
	static const unsigned char bad[] = { 0xf4, 0x90 }, ok[] = "abc";
	uint32_t st;

	st = utf8_feed(UTF8_ACCEPT, bad, sizeof(bad));
	assert_int_equal(st, UTF8_REJECT);
	assert_int_equal(utf8_feed(st, ok, 3), UTF8_REJECT);
	assert_int_equal(utf8_feed(st, ok, 0), UTF8_REJECT);
	assert_int_equal(utf8_feed(UTF8_ACCEPT, ok, 0), UTF8_ACCEPT);
}

/*
 * A reference: decode one sequence of exactly n bytes by the definition
 * (shortest form, no surrogates, at most U+10FFFF).
 */
static int
ref_valid(const unsigned char *s, size_t n)
{
	static const uint32_t min[] = { 0, 0, 0x80, 0x800, 0x10000 };
	uint32_t cp;
	size_t len, i;

	if (s[0] < 0x80)
		len = 1, cp = s[0];
	else if ((s[0] & 0xe0) == 0xc0)
		len = 2, cp = s[0] & 0x1f;
	else if ((s[0] & 0xf0) == 0xe0)
		len = 3, cp = s[0] & 0x0f;
	else if ((s[0] & 0xf8) == 0xf0)
		len = 4, cp = s[0] & 0x07;
	else
		return 0;
	if (len != n)
		return 0;
	for (i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	return cp >= min[n] && cp <= 0x10ffff && !(cp >= 0xd800 && cp <= 0xdfff);
}

/* Every sequence of 1..3 bytes that is one character, against the reference. */
static void
test_exhaustive_short(void **state)
{
	unsigned char s[3];
	uint32_t v;

	for (v = 0; v < 0x100; v++) {
		s[0] = (unsigned char)v;
		assert_int_equal(utf8_valid(s, 1), ref_valid(s, 1));
	}
	for (v = 0; v < 0x10000; v++) {
		s[0] = (unsigned char)(v >> 8);
		s[1] = (unsigned char)v;
		if (s[0] >= 0x80)
			assert_int_equal(utf8_valid(s, 2), ref_valid(s, 2));
	}
	for (v = 0; v < 0x1000000; v++) {
		s[0] = (unsigned char)(v >> 16);
		if (s[0] < 0xe0 || s[0] > 0xef) {
			v |= 0xffff;	/* skip lead bytes of other lengths */
			continue;
		}
		s[1] = (unsigned char)(v >> 8);
		s[2] = (unsigned char)v;
		assert_int_equal(utf8_valid(s, 3), ref_valid(s, 3));
	}
}

/* Every code point, encoded, is valid unless it is a surrogate. */
static void
test_all_code_points(void **state)
{
	unsigned char s[4];
	uint32_t cp;
	size_t n;

	for (cp = 0; cp <= 0x10ffff; cp++) {
		if (cp < 0x80)
			s[0] = (unsigned char)cp, n = 1;
		else if (cp < 0x800) {
			s[0] = (unsigned char)(0xc0 | cp >> 6);
			s[1] = (unsigned char)(0x80 | (cp & 0x3f));
			n = 2;
		} else if (cp < 0x10000) {
			s[0] = (unsigned char)(0xe0 | cp >> 12);
			s[1] = (unsigned char)(0x80 | (cp >> 6 & 0x3f));
			s[2] = (unsigned char)(0x80 | (cp & 0x3f));
			n = 3;
		} else {
			s[0] = (unsigned char)(0xf0 | cp >> 18);
			s[1] = (unsigned char)(0x80 | (cp >> 12 & 0x3f));
			s[2] = (unsigned char)(0x80 | (cp >> 6 & 0x3f));
			s[3] = (unsigned char)(0x80 | (cp & 0x3f));
			n = 4;
		}
		assert_int_equal(utf8_valid(s, n), !(cp >= 0xd800 && cp <= 0xdfff));
	}
}

/* The UTF-8 form of cp into s; returns its length (1 to 4). */
static size_t
encode(unsigned char s[4], uint32_t cp)
{
	if (cp < 0x80) {
		s[0] = (unsigned char)cp;
		return 1;
	}
	if (cp < 0x800) {
		s[0] = (unsigned char)(0xc0 | cp >> 6);
		s[1] = (unsigned char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		s[0] = (unsigned char)(0xe0 | cp >> 12);
		s[1] = (unsigned char)(0x80 | (cp >> 6 & 0x3f));
		s[2] = (unsigned char)(0x80 | (cp & 0x3f));
		return 3;
	}
	s[0] = (unsigned char)(0xf0 | cp >> 18);
	s[1] = (unsigned char)(0x80 | (cp >> 12 & 0x3f));
	s[2] = (unsigned char)(0x80 | (cp >> 6 & 0x3f));
	s[3] = (unsigned char)(0x80 | (cp & 0x3f));
	return 4;
}

/*
 * utf8_decode() gives back every code point but the surrogates, with its
 * length, and reads no further: each character is decoded at the end of
 * a page followed by an unreadable one, with and without a byte after
 * it, and every proper prefix of it is refused.
 */
static void
test_decode_all_code_points(void **state)
{
	unsigned char s[5], *g;
	uint32_t cp, got;
	size_t n, k, mapsz;
	void *map;

	g = guard_put((const unsigned char *)"", 0, &map, &mapsz);
	for (cp = 0; cp <= 0x10ffff; cp++) {
		int ok = !(cp >= 0xd800 && cp <= 0xdfff);

		n = encode(s, cp);
		memcpy(g - n, s, n);
		got = 0xffffffff;
		assert_int_equal(utf8_decode(g - n, n, &got), ok ? n : 0);
		if (ok)
			assert_int_equal(got, cp);
		for (k = 1; k < n; k++)
			assert_int_equal(utf8_decode(g - k, k, NULL), 0);
		s[n] = 'x';	/* what follows is not part of it */
		memcpy(g - n - 1, s, n + 1);
		assert_int_equal(utf8_decode(g - n - 1, n + 1, NULL),
		    ok ? n : 0);
	}
	assert_int_equal(utf8_decode(g, 0, &got), 0);
	munmap(map, mapsz);
}

/* utf8_decode() agrees with utf8_valid() on every 1- to 3-byte sequence. */
static void
test_decode_agrees(void **state)
{
	unsigned char s[3];
	uint32_t v, cp;
	size_t n;

	for (v = 0; v < 0x1000000; v++) {
		s[0] = (unsigned char)(v >> 16);
		s[1] = (unsigned char)(v >> 8);
		s[2] = (unsigned char)v;
		for (n = 1; n <= 3; n++) {
			size_t d = utf8_decode(s, n, &cp), k, first = 0;

			/* the shortest valid prefix is the first character */
			for (k = n; k >= 1; k--)
				if (utf8_valid(s, k))
					first = k;
			assert_int_equal(d, first);
		}
		if (s[0] < 0xc0 && (v & 0xffff) == 0xff)
			v |= 0xffff;	/* ASCII, continuations: once */
	}
}

/* utf8_clip() keeps whole characters only, and never more than max. */
static void
test_clip(void **state)
{
	/* "a", U+00E9 (2 bytes), U+20AC (3), U+1F600 (4) */
	static const char t[] = "a\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80";
	static const size_t keep[] = { 0, 1, 1, 3, 3, 3, 6, 6, 6, 6, 10, 10 };
	size_t max, len = sizeof(t) - 1;

	for (max = 0; max < sizeof(keep) / sizeof(keep[0]); max++) {
		assert_int_equal(utf8_clip(t, len, max), keep[max]);
		assert_true(utf8_valid(t, utf8_clip(t, len, max)));
	}
	assert_int_equal(utf8_clip("", 0, 0), 0);
	assert_int_equal(utf8_clip(t, 3, 2), 1);	/* before the cut one */
}

/* text_plain(): valid UTF-8 with no C0, DEL or C1 control character. */
static void
test_plain(void **state)
{
	static const char *const ok[] = { "", "spam links", "caf\xc3\xa9",
	    "\xc2\xa0", "\xf0\x9f\x98\x80" };
	static const char *const bad[] = { "a\tb", "\n", "\x7f", "\xc2\x80",
	    "\xc2\x9f", "\xc3", "\xff" };
	size_t i;

	for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
		assert_true(text_plain(ok[i], strlen(ok[i])));
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_false(text_plain(bad[i], strlen(bad[i])));
	assert_false(text_plain("a\0b", 3));
}

/* ascii_fold(): A-Z only, other bytes (UTF-8) as they are, cut to fit. */
static void
test_ascii_fold(void **state)
{
	char out[16];

	ascii_fold(out, sizeof(out), "LoBBy-Z@[`{9");
	assert_string_equal(out, "lobby-z@[`{9");
	ascii_fold(out, sizeof(out), "\xc3\x84Rger");	/* U+00C4 stays */
	assert_string_equal(out, "\xc3\x84rger");
	ascii_fold(out, 4, "ABCDEF");
	assert_string_equal(out, "abc");
	ascii_fold(out, 1, "ABC");
	assert_string_equal(out, "");
	ascii_fold(out, sizeof(out), "");
	assert_string_equal(out, "");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_autobahn_cases),
		cmocka_unit_test(test_reject_sticky),
		cmocka_unit_test(test_exhaustive_short),
		cmocka_unit_test(test_all_code_points),
		cmocka_unit_test(test_decode_all_code_points),
		cmocka_unit_test(test_decode_agrees),
		cmocka_unit_test(test_clip),
		cmocka_unit_test(test_plain),
		cmocka_unit_test(test_ascii_fold),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
