/* SPDX-License-Identifier: ISC */
/*
 * Unit tests for hub/nick.c: every rule of nick_check() and
 * room_name_check(), each with the sentence it answers, and nick_fold().
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "../../hub/hub.h"

#define EMPTY		"Nick is empty"
#define TOO_LONG	"Nick is longer than 32 bytes"
#define NOT_UTF8	"Nick is not valid UTF-8"
#define CONTROL		"Nick contains a control character"
#define HIDDEN		"Nick contains an invisible or bidi control character"
#define PUNCT		"Nick contains a space or one of , : \" ' < > & \\"
#define LEADING		"Nick must not start with a digit, # or *"

static void
nick_ok(const char *nick)
{
	const char *why = NULL;

	if (nick_check(nick, &why) != 0)
		fail_msg("nick \"%s\" refused: %s", nick, why);
}

static void
nick_bad(const char *nick, const char *want)
{
	const char *why = NULL;

	if (nick_check(nick, &why) != -EINVAL)
		fail_msg("nick \"%s\" accepted, expected \"%s\"", nick, want);
	assert_non_null(why);
	if (strcmp(why, want) != 0)
		fail_msg("nick \"%s\": \"%s\", expected \"%s\"", nick, why,
		    want);
}

/* The UTF-8 encoding of code point c (c is valid). */
static const char *
utf8(char *b, uint32_t c)
{
	if (c < 0x80) {
		b[0] = (char)c;
		b[1] = '\0';
	} else if (c < 0x800) {
		b[0] = (char)(0xc0 | c >> 6);
		b[1] = (char)(0x80 | (c & 0x3f));
		b[2] = '\0';
	} else if (c < 0x10000) {
		b[0] = (char)(0xe0 | c >> 12);
		b[1] = (char)(0x80 | ((c >> 6) & 0x3f));
		b[2] = (char)(0x80 | (c & 0x3f));
		b[3] = '\0';
	} else {
		b[0] = (char)(0xf0 | c >> 18);
		b[1] = (char)(0x80 | ((c >> 12) & 0x3f));
		b[2] = (char)(0x80 | ((c >> 6) & 0x3f));
		b[3] = (char)(0x80 | (c & 0x3f));
		b[4] = '\0';
	}
	return b;
}

/* "a" + U+c + "b" is refused with `want`, alone too (c not a digit). */
static void
cp_bad(uint32_t c, const char *want)
{
	char ch[8], nick[16];

	utf8(ch, c);
	snprintf(nick, sizeof(nick), "a%sb", ch);
	nick_bad(nick, want);
	nick_bad(ch, want);
}

static void
cp_ok(uint32_t c)
{
	char ch[8], nick[16];

	snprintf(nick, sizeof(nick), "a%sb", utf8(ch, c));
	nick_ok(nick);
}

static void
test_length(void **state)
{
	char n[64];

	nick_bad("", EMPTY);
	nick_ok("a");
	memset(n, 'a', 32);
	n[32] = '\0';
	nick_ok(n);
	n[32] = 'a';
	n[33] = '\0';
	nick_bad(n, TOO_LONG);
	/* Bytes, not characters: 16 two-byte letters fit, 17 do not. */
	n[0] = '\0';
	while (strlen(n) < 32)
		strcat(n, "\xc3\xa9");
	nick_ok(n);
	strcat(n, "\xc3\xa9");
	nick_bad(n, TOO_LONG);
	/* 31 bytes and one more two-byte character is 33. */
	memset(n, 'a', 31);
	memcpy(n + 31, "\xc3\xa9", 3);
	nick_bad(n, TOO_LONG);
}

static void
test_controls(void **state)
{
	uint32_t c;

	for (c = 1; c < 0x20; c++)
		cp_bad(c, CONTROL);
	cp_bad(0x7f, CONTROL);		/* DEL */
	for (c = 0x80; c < 0xa0; c++)	/* C1 */
		cp_bad(c, CONTROL);
	nick_bad("bob\x1b[31m", CONTROL);
	nick_bad("bob\t", CONTROL);
	cp_ok(0xa1);			/* the first after C1 */
	cp_ok(0x7e);
}

static void
test_hidden(void **state)
{
	static const uint32_t hidden[] = {
		0x200b, 0x200c, 0x200d,			/* zero width */
		0x200e, 0x200f,				/* LRM, RLM */
		0x202a, 0x202b, 0x202c, 0x202d, 0x202e,	/* embeddings */
		0x2066, 0x2067, 0x2068, 0x2069,		/* isolates */
		0x2060, 0x2061, 0x2062, 0x2063, 0x2064,	/* word joiner... */
		0xfeff,					/* BOM */
		0x00ad,					/* soft hyphen */
		0x034f, 0x061c, 0x180e, 0xfff9, 0xfffa, 0xfffb,
	};
	size_t i;

	for (i = 0; i < sizeof(hidden) / sizeof(hidden[0]); i++)
		cp_bad(hidden[i], HIDDEN);
	/* The well-known spoof: "admin" reversed by RLO. */
	nick_bad("\xe2\x80\xae" "nimda", HIDDEN);
	/* Neighbours that are ordinary characters. */
	cp_ok(0x2010);	/* hyphen */
	cp_ok(0x2030);	/* per mille */
	cp_ok(0xfff8);
	cp_ok(0xfffc);	/* object replacement character */
}

/*
 * Spaces of every kind (Unicode category Zs, and the line and paragraph
 * separators) and the punctuation that would break the dialects.
 */
static void
test_spaces_and_punctuation(void **state)
{
	static const uint32_t spaces[] = {
		0x0020, 0x00a0, 0x1680, 0x2000, 0x2001, 0x2002, 0x2003, 0x2004,
		0x2005, 0x2006, 0x2007, 0x2008, 0x2009, 0x200a, 0x2028, 0x2029,
		0x202f, 0x205f, 0x3000,
	};
	static const char punct[] = ",:\"<>&'\\";
	char nick[8];
	size_t i;

	for (i = 0; i < sizeof(spaces) / sizeof(spaces[0]); i++)
		cp_bad(spaces[i], PUNCT);
	for (i = 0; punct[i] != '\0'; i++) {
		snprintf(nick, sizeof(nick), "a%cb", punct[i]);
		nick_bad(nick, PUNCT);
	}
	nick_bad("bob ", PUNCT);
	nick_bad(" bob", PUNCT);
	nick_bad("\"/><forged a=\"", PUNCT);
	/* Other ASCII punctuation is fine. */
	nick_ok("a!b");
	nick_ok("a.b-c_d");
	nick_ok("[x]{y}(z)|~^`");
	nick_ok("a@b/c?d=e+f%g;h$");
	nick_ok("a#b*1");
}

static void
test_invalid_utf8(void **state)
{
	static const char *const bad[] = {
		"\xc0\x80",		/* overlong NUL */
		"\xc1\xbf",		/* overlong 0x7f */
		"\xe0\x80\xaf",		/* overlong '/' */
		"\xe0\x9f\xbf",		/* overlong 0x7ff */
		"\xf0\x80\x80\xaf",	/* overlong '/' */
		"\xf0\x8f\xbf\xbf",	/* overlong 0xffff */
		"\xed\xa0\x80",		/* U+D800 */
		"\xed\xbf\xbf",		/* U+DFFF */
		"\xf4\x90\x80\x80",	/* U+110000 */
		"\xf7\xbf\xbf\xbf",
		"\xf8\x88\x80\x80\x80",	/* five bytes */
		"\xfc\x84\x80\x80\x80\x80",
		"\xfe", "\xff",
		"\x80", "\xbf",		/* lone continuation bytes */
		"\xc3",			/* truncated */
		"\xe2\x82",
		"\xf0\x9f\x99",
		"\xc3" "a",		/* continuation missing */
		"\xe2\x82" "a",
		"\xc3\xa9\xa9",		/* one too many */
	};
	char nick[32];
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		nick_bad(bad[i], NOT_UTF8);
		snprintf(nick, sizeof(nick), "bob%s", bad[i]);
		nick_bad(nick, NOT_UTF8);
		snprintf(nick, sizeof(nick), "%sbob", bad[i]);
		nick_bad(nick, NOT_UTF8);
	}
	/* The edges that are valid. */
	nick_ok("a\xc2\xa1");		/* U+00A1 */
	nick_ok("a\xed\x9f\xbf");	/* U+D7FF */
	nick_ok("a\xee\x80\x80");	/* U+E000 */
	nick_ok("a\xf4\x8f\xbf\xbf");	/* U+10FFFF */
	nick_ok("a\xf0\x90\x80\x80");	/* U+10000 */
}

static void
test_leading(void **state)
{
	char nick[4];
	char d;

	for (d = '0'; d <= '9'; d++) {
		snprintf(nick, sizeof(nick), "%cab", d);
		nick_bad(nick, LEADING);
	}
	nick_bad("#lobby", LEADING);
	nick_bad("*star", LEADING);
	nick_bad("#", LEADING);
	nick_ok("a1");
	nick_ok("a#");
	nick_ok("a*");
	nick_ok("_1");
	nick_ok("-x");
}

static void
test_valid_non_ascii(void **state)
{
	nick_ok("Zo\xc3\xab");				/* Zoë */
	nick_ok("\xd0\x94\xd0\xbc\xd0\xb8\xd1\x82\xd1\x80\xd0\xb8\xd0\xb9");
	nick_ok("\xe6\x9d\x8e\xe5\xb0\x8f\xe9\xbe\x8d");	/* 李小龍 */
	nick_ok("\xd9\x85\xd8\xb1\xd9\x8a\xd9\x85");		/* مريم */
	nick_ok("\xf0\x9f\x99\x82smile");			/* 🙂 */
	nick_ok("\xc3\x89mile");				/* Émile */
	nick_ok("\xe2\x84\xa2");				/* ™ */
}

static void
room_bad(const char *room, const char *want)
{
	const char *why = NULL;

	if (room_name_check(room, &why) != -EINVAL)
		fail_msg("room \"%s\" accepted, expected \"%s\"", room, want);
	if (strcmp(why, want) != 0)
		fail_msg("room \"%s\": \"%s\", expected \"%s\"", room, why,
		    want);
}

static void
test_room_names(void **state)
{
	const char *why;
	char r[64];

	/* Rooms may start with what nicks may not. */
	assert_int_equal(room_name_check("#lobby", &why), 0);
	assert_int_equal(room_name_check("2nd", &why), 0);
	assert_int_equal(room_name_check("*", &why), 0);
	assert_int_equal(room_name_check("caf\xc3\xa9", &why), 0);
	memset(r, 'r', 32);
	r[32] = '\0';
	assert_int_equal(room_name_check(r, &why), 0);
	r[32] = 'r';
	r[33] = '\0';
	room_bad(r, "Room name is longer than 32 bytes");
	room_bad("", "Room name is empty");
	room_bad("a b", "Room name contains a space or one of , : \" ' < > "
	    "& \\");
	room_bad("a,b", "Room name contains a space or one of , : \" ' < > "
	    "& \\");
	room_bad("a\nb", "Room name contains a control character");
	room_bad("a\xe2\x80\x8b", "Room name contains an invisible or bidi "
	    "control character");
	room_bad("a\xc3", "Room name is not valid UTF-8");
}

static void
test_fold(void **state)
{
	char a[SB_NICK_MAX + 1], b[SB_NICK_MAX + 1], s[4];

	nick_fold(a, sizeof(a), "AliCE_[Z]");
	assert_string_equal(a, "alice_[z]");
	nick_fold(a, sizeof(a), "Bob");
	nick_fold(b, sizeof(b), "bOB");
	assert_string_equal(a, b);
	/* Only ASCII letters fold: '@' and '[' sit right next to them. */
	nick_fold(a, sizeof(a), "@[`{AZaz");
	assert_string_equal(a, "@[`{azaz");
	/* Other characters are kept byte for byte. */
	nick_fold(a, sizeof(a), "\xc3\x89mile");
	assert_string_equal(a, "\xc3\x89mile");
	nick_fold(b, sizeof(b), "\xc3\xa9mile");
	assert_string_not_equal(a, b);
	/* Cut to the destination. */
	nick_fold(s, sizeof(s), "ABCDEF");
	assert_string_equal(s, "abc");
	nick_fold(s, 1, "ABC");
	assert_string_equal(s, "");
	nick_fold(a, sizeof(a), "");
	assert_string_equal(a, "");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_length),
		cmocka_unit_test(test_controls),
		cmocka_unit_test(test_hidden),
		cmocka_unit_test(test_spaces_and_punctuation),
		cmocka_unit_test(test_invalid_utf8),
		cmocka_unit_test(test_leading),
		cmocka_unit_test(test_valid_non_ascii),
		cmocka_unit_test(test_room_names),
		cmocka_unit_test(test_fold),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
