/*
 * Unit tests for sb_log_escape() (common/log.c): byte for byte what
 * libbsd's strnvis() makes of each character, without calling it for the
 * characters it keeps, and truncation at the buffer's end.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#define LIBBSD_OPENBSD_VIS 1	/* strnvis(dst, src, size, flags), as log.c */
#include <bsd/vis.h>

#include "log.h"

/* The reference: strnvis() on every character below 0x80. */
static void
ref_escape(char *dst, size_t dstsz, const char *s)
{
	size_t o = 0, n;
	char tmp[8];

	for (; *s != '\0'; s++) {
		char in[2] = { *s, '\0' };

		if ((unsigned char)*s >= 0x80) {
			tmp[0] = *s;
			n = 1;
		} else
			n = (size_t)strnvis(tmp, in, sizeof(tmp),
			    VIS_CSTYLE | VIS_OCTAL | VIS_NL | VIS_TAB);
		if (o + n + 1 > dstsz)
			break;
		memcpy(dst + o, tmp, n);
		o += n;
	}
	dst[o] = '\0';
}

static void
test_every_byte(void **state)
{
	char in[2] = { 0, 0 }, got[16], want[16];
	int c;

	(void)state;
	for (c = 1; c < 256; c++) {
		in[0] = (char)c;
		ref_escape(want, sizeof(want), in);
		assert_int_equal(sb_log_escape(got, sizeof(got), in),
		    strlen(want));
		assert_string_equal(got, want);
	}
	assert_int_equal(sb_log_escape(got, sizeof(got), "a\\b"), 4);
	assert_string_equal(got, "a\\\\b");
	sb_log_escape(got, sizeof(got), "x\ny\tz\x7f");
	assert_string_equal(got, "x\\ny\\tz\\177");
}

/* Truncation: whole escapes only, always NUL-terminated. */
static void
test_truncation(void **state)
{
	const char *s = "abc\n\001def \xc3\xa9";
	char got[32], want[32];
	size_t sz;

	(void)state;
	for (sz = 1; sz <= sizeof(got); sz++) {
		ref_escape(want, sz, s);
		assert_int_equal(sb_log_escape(got, sz, s), strlen(want));
		assert_string_equal(got, want);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_byte),
		cmocka_unit_test(test_truncation),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
