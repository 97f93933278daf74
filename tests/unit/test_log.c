/* SPDX-License-Identifier: ISC */
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

/* What strnvis() makes of the one character c (bytes >= 0x80 stay). */
static void
ref_char(char out[8], int c)
{
	char in[2] = { (char)c, '\0' };

	if (c >= 0x80) {
		out[0] = (char)c;
		out[1] = '\0';
	} else
		strnvis(out, in, 8, VIS_CSTYLE | VIS_OCTAL | VIS_NL | VIS_TAB);
}

static void
test_every_byte(void **state)
{
	char in[2] = { 0, 0 }, got[16], want[8];
	int c;

	(void)state;
	for (c = 1; c < 256; c++) {
		in[0] = (char)c;
		ref_char(want, c);
		assert_int_equal(sb_log_escape(got, sizeof(got), in),
		    strlen(want));
		assert_string_equal(got, want);
	}
	assert_int_equal(sb_log_escape(got, sizeof(got), "a\\b"), 4);
	assert_string_equal(got, "a\\\\b");
	sb_log_escape(got, sizeof(got), "x\ny\tz\x7f");
	assert_string_equal(got, "x\\ny\\tz\\177");
}

/*
 * Truncation: whole escapes only, always NUL-terminated.  The text cut to
 * size `sz` is the escape of the longest prefix of the input that fits.
 */
static void
test_truncation(void **state)
{
	const char *s = "abc\n\001def \xc3\xa9";
	char got[32], want[32], prefix[32];
	size_t sz, k;

	(void)state;
	for (sz = 1; sz <= sizeof(got); sz++) {
		for (k = strlen(s); ; k--) {
			memcpy(prefix, s, k);
			prefix[k] = '\0';
			if (sb_log_escape(want, sizeof(want), prefix) < sz)
				break;
		}
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
