/* SPDX-License-Identifier: ISC */
/*
 * Unit tests for hub/nick.c: every rule of nick_check() and
 * room_name_check(), each with the sentence it answers, nick_fold() and
 * nick_identify() (RFC 8266 comparison keys, UTS #39 skeletons), and a
 * property test over every Unicode code point checked with ICU directly.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <unicode/uchar.h>
#include <unicode/unorm2.h>
#include <unicode/uspoof.h>
#include <unicode/ustring.h>

#include "../../hub/hub.h"

#define EMPTY		"Nick is empty"
#define TOO_LONG	"Nick is longer than 32 bytes"
#define NOT_UTF8	"Nick is not valid UTF-8"
#define CONTROL		"Nick contains a control character"
#define HIDDEN		"Nick contains an invisible or bidi control character"
#define PUNCT		"Nick contains a space or one of , : \" ' < > & \\"
#define LEADING		"Nick must not start with a digit, # or *"
#define DISALLOWED	"Nick contains an unassigned or disallowed character " \
			"(RFC 8266)"
#define NFKC		"Nick is not in Unicode normalization form NFKC " \
			"(fullwidth letters, ligatures, ...)"
#define SPOOF		"Nick mixes scripts or number systems, or hides a " \
			"mark (UTS #39)"

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
	cp_bad(0xfff8, DISALLOWED);	/* unassigned */
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
	/*
	 * The edges that are valid UTF-8: refused, if at all, by RFC 8264
	 * (U+D7FF unassigned, U+E000 private use, U+10FFFF a noncharacter).
	 */
	nick_ok("a\xc2\xa1");		/* U+00A1 */
	nick_bad("a\xed\x9f\xbf", DISALLOWED);	/* U+D7FF */
	nick_bad("a\xee\x80\x80", DISALLOWED);	/* U+E000 */
	nick_bad("a\xf4\x8f\xbf\xbf", DISALLOWED);	/* U+10FFFF */
	nick_ok("\xf0\x90\x80\x80");	/* U+10000 LINEAR B */
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
	nick_ok("\xce\xa3\xce\xbf\xcf\x86\xce\xaf\xce\xb1");	/* Σοφία */
	nick_ok("\xe3\x81\x95\xe3\x81\x8f\xe3\x82\x89\xe5\xad\x90");	/* さくら子 */
	/* ™ is "TM" under NFKC: a name must already be normalized. */
	nick_bad("\xe2\x84\xa2", NFKC);
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
	char a[NICK_KEY_MAX + 1], b[NICK_KEY_MAX + 1], s[4];

	assert_int_equal(nick_fold(a, sizeof(a), "AliCE_[Z]"), 0);
	assert_string_equal(a, "alice_[z]");
	nick_fold(a, sizeof(a), "Bob");
	nick_fold(b, sizeof(b), "bOB");
	assert_string_equal(a, b);
	/* ASCII: only letters fold; '@' and '[' sit right next to them. */
	nick_fold(a, sizeof(a), "@[`{AZaz");
	assert_string_equal(a, "@[`{azaz");
	/* RFC 8266: toLowerCase on every letter, not only ASCII. */
	nick_fold(a, sizeof(a), "\xc3\x89mile");
	assert_string_equal(a, "\xc3\xa9mile");
	nick_fold(b, sizeof(b), "\xc3\xa9mile");
	assert_string_equal(a, b);
	nick_fold(a, sizeof(a), "\xce\xa3\xce\xbf\xcf\x86\xce\xaf\xce\xb1");
	assert_string_equal(a, "\xcf\x83\xce\xbf\xcf\x86\xce\xaf\xce\xb1");
	/* What does not fit, or is not a nick, gets "": no nick has it. */
	assert_int_equal(nick_fold(s, sizeof(s), "ABCDEF"), -ENAMETOOLONG);
	assert_string_equal(s, "");
	assert_int_equal(nick_fold(a, sizeof(a), ""), -EINVAL);
	assert_string_equal(a, "");
	assert_int_equal(nick_fold(a, sizeof(a), "alice\xef\xb8\x8f"),
	    -EINVAL);
	assert_string_equal(a, "");
	/* Room names keep the ASCII fold history.c names its files by. */
	ascii_fold(a, sizeof(a), "Caf\xc3\x89");
	assert_string_equal(a, "caf\xc3\x89");
}

/*
 * Issue 16, hole 4: each look-alike of "alice" that was accepted is
 * refused, with the rule that refuses it.
 */
static void
test_issue16_lookalikes(void **state)
{
	/* U+FE0F, a variation selector: default-ignorable. */
	nick_bad("alice\xef\xb8\x8f", HIDDEN);
	nick_bad("ali\xef\xb8\x80" "ce", HIDDEN);		/* U+FE00 */
	nick_bad("alice\xf3\xa0\x84\x80", HIDDEN);	/* U+E0100 */
	nick_bad("alice\xf3\xa0\x80\x81", HIDDEN);	/* U+E0001 tag */
	/* Zero-width joiner and non-joiner, word joiner, CGJ. */
	nick_bad("al\xe2\x80\x8dice", HIDDEN);
	nick_bad("al\xe2\x80\x8cice", HIDDEN);
	nick_bad("al\xe2\x81\xa0ice", HIDDEN);
	nick_bad("al\xcd\x8fice", HIDDEN);
	/* Bidi controls: LRM, RLO, isolates, ALM. */
	nick_bad("alice\xe2\x80\x8e", HIDDEN);
	nick_bad("\xe2\x80\xae" "ecila", HIDDEN);
	nick_bad("\xe2\x81\xa7" "alice\xe2\x81\xa9", HIDDEN);
	nick_bad("alice\xd8\x9c", HIDDEN);
	/* Hangul fillers, which render as nothing. */
	nick_bad("alice\xe3\x85\xa4", HIDDEN);
	nick_bad("alice\xef\xbe\xa0", HIDDEN);
	/* Cyrillic a (U+0430) among Latin letters: mixed scripts. */
	nick_bad("\xd0\xb0lice", SPOOF);
	/* Greek omicron in a Latin name. */
	nick_bad("b\xce\xbf" "b", SPOOF);
	/* Fullwidth letters: NFKC makes them ASCII, so they are refused. */
	nick_bad("\xef\xbd\x81\xef\xbd\x8c\xef\xbd\x89\xef\xbd\x83"
	    "\xef\xbd\x85", NFKC);
	nick_bad("\xef\xbc\xa1lice", NFKC);
	/* Ligatures, superscripts, the Kelvin sign. */
	nick_bad("\xef\xac\x81sh", NFKC);			/* U+FB01 fi */
	nick_bad("alice\xc2\xb2", NFKC);
	nick_bad("\xe2\x84\xaa" "elvin", NFKC);
	/*
	 * Dotted capital I: lower-cased it is i + U+0307, whose dot hides
	 * in the i's; the same sequence typed as is, too.
	 */
	nick_bad("al\xc4\xb0" "ce", SPOOF);
	nick_bad("ali\xcc\x87" "ce", SPOOF);
	/* Digits of two systems. */
	nick_bad("a1\xd9\xa1", SPOOF);
	/* Repeated marks. */
	nick_bad("x\xcc\x81\xcc\x81", SPOOF);
}

static void
identify(const char *nick, struct nick_id *id)
{
	const char *why = NULL;

	if (nick_identify(nick, id, &why) != 0)
		fail_msg("nick \"%s\" refused: %s", nick, why);
	assert_true(id->nskel == 1 || id->nskel == 2);
}

/* Do a and b share a skeleton (the test nick_confusable makes)? */
static int
look_alike(const char *a, const char *b)
{
	struct nick_id x, y;
	int i, j;

	identify(a, &x);
	identify(b, &y);
	for (i = 0; i < x.nskel; i++)
		for (j = 0; j < y.nskel; j++)
			if (strcmp(x.skel[i], y.skel[j]) == 0)
				return 1;
	return 0;
}

static void
test_identify(void **state)
{
	struct nick_id a, b;

	/* One key for every spelling in any case. */
	identify("Alice", &a);
	identify("aLICE", &b);
	assert_string_equal(a.key, "alice");
	assert_string_equal(a.key, b.key);
	/* The skeleton of the nick as shown keeps its case. */
	assert_string_equal(a.skel[0], "Alice");
	assert_string_equal(a.skel[1], "alice");
	assert_int_equal(a.nskel, 2);
	identify("bob", &a);
	assert_int_equal(a.nskel, 1);
	/* All-Cyrillic "асе" looks like Latin "ace". */
	assert_true(look_alike("\xd0\xb0\xd1\x81\xd0\xb5", "ace"));
	/* All-Greek "ΑΒΕ" looks like "ABE", and "abe" in any case. */
	assert_true(look_alike("\xce\x91\xce\x92\xce\x95", "ABE"));
	/* Capital I among lower case looks like l, in any font. */
	assert_true(look_alike("aIice", "alice"));
	assert_true(look_alike("rnary", "mary"));
	assert_true(look_alike("paypa1", "paypal"));
	/* Different nicks that do not look alike. */
	assert_false(look_alike("alice", "alicia"));
	assert_false(look_alike("Zo\xc3\xab", "Zoe"));
	/* Skeletons are deterministic. */
	identify("\xd0\xb0\xd1\x81\xd0\xb5", &a);
	identify("\xd0\xb0\xd1\x81\xd0\xb5", &b);
	assert_string_equal(a.skel[0], b.skel[0]);
	assert_string_equal(a.skel[1], b.skel[1]);
}


/* ICU, opened here apart from nick.c's, to check it from outside. */
static USpoofChecker *sc;
static const UNormalizer2 *nfkc;

/* The UTS #39 skeleton of UTF-16 s, in UTF-8. */
static void
skeleton16(const UChar *s, int32_t n, char *out, size_t outsz)
{
	UChar sk[NICK_SKEL_MAX];
	UErrorCode e = U_ZERO_ERROR;
	int32_t len;

	len = uspoof_getSkeleton(sc, 0, s, n, sk, NICK_SKEL_MAX, &e);
	assert_true(U_SUCCESS(e));
	u_strToUTF8(out, (int32_t)outsz, NULL, sk, len, &e);
	assert_true(U_SUCCESS(e) && e != U_STRING_NOT_TERMINATED_WARNING);
}

/*
 * The invariants of one name: if it is accepted as a nick, it is short
 * valid UTF-8 in NFKC, holds no default-ignorable, control, format,
 * private-use, surrogate, unassigned, noncharacter or space code point,
 * its key is NFKC(toLowerCase(nick)) and nick_fold's, its skeletons are
 * UTS #39's of the nick and the key and the same every time, and it is
 * a valid room name too.  If refused, it says why and has the empty key.
 * Returns 1 when accepted.
 */
static int
check_name(const char *name)
{
	struct nick_id id, again;
	char key[NICK_KEY_MAX + 1], k8[4 * NICK_KEY_MAX], sk[NICK_SKEL_MAX + 1];
	UChar u[2 * SB_NICK_MAX], low[4 * SB_NICK_MAX], k16[4 * SB_NICK_MAX];
	UErrorCode e = U_ZERO_ERROR;
	const char *why = NULL;
	int32_t un, ln, kn, i;
	UChar32 c;

	if (nick_identify(name, &id, &why) != 0) {
		assert_non_null(why);
		assert_int_equal(nick_check(name, &why), -EINVAL);
		nick_fold(key, sizeof(key), name);
		assert_string_equal(key, "");
		return 0;
	}
	assert_int_equal(nick_check(name, &why), 0);
	assert_int_equal(room_name_check(name, &why), 0);
	assert_true(name[0] != '\0' && strlen(name) <= SB_NICK_MAX);
	u_strFromUTF8(u, 2 * SB_NICK_MAX, &un, name, -1, &e);
	assert_true(U_SUCCESS(e));
	assert_true(unorm2_isNormalized(nfkc, u, un, &e));
	for (i = 0; i < un; ) {
		U16_NEXT(u, i, un, c);
		if (u_hasBinaryProperty(c, UCHAR_DEFAULT_IGNORABLE_CODE_POINT) ||
		    u_hasBinaryProperty(c, UCHAR_NONCHARACTER_CODE_POINT) ||
		    u_hasBinaryProperty(c, UCHAR_BIDI_CONTROL) ||
		    u_hasBinaryProperty(c, UCHAR_JOIN_CONTROL) ||
		    u_hasBinaryProperty(c, UCHAR_WHITE_SPACE))
			fail_msg("\"%s\" accepted with U+%04X", name,
			    (unsigned)c);
		switch (u_charType(c)) {
		case U_CONTROL_CHAR: case U_FORMAT_CHAR: case U_SURROGATE:
		case U_PRIVATE_USE_CHAR: case U_UNASSIGNED:
		case U_SPACE_SEPARATOR: case U_LINE_SEPARATOR:
		case U_PARAGRAPH_SEPARATOR:
			fail_msg("\"%s\" accepted with U+%04X (category %d)",
			    name, (unsigned)c, u_charType(c));
		default:
			break;
		}
	}
	/* RFC 8266 section 2.3's comparison key. */
	ln = u_strToLower(low, 4 * SB_NICK_MAX, u, un, "", &e);
	kn = unorm2_normalize(nfkc, low, ln, k16, 4 * SB_NICK_MAX, &e);
	u_strToUTF8(k8, sizeof(k8), NULL, k16, kn, &e);
	assert_true(U_SUCCESS(e));
	assert_string_equal(id.key, k8);
	assert_int_equal(nick_fold(key, sizeof(key), name), 0);
	assert_string_equal(key, id.key);
	/* UTS #39 skeletons, the same every time. */
	skeleton16(u, un, sk, sizeof(sk));
	assert_string_equal(id.skel[0], sk);
	skeleton16(k16, kn, sk, sizeof(sk));
	assert_string_equal(id.skel[1], sk);
	assert_int_equal(id.nskel, strcmp(id.skel[0], id.skel[1]) ? 2 : 1);
	assert_int_equal(nick_identify(name, &again, &why), 0);
	assert_string_equal(again.key, id.key);
	assert_string_equal(again.skel[0], id.skel[0]);
	assert_string_equal(again.skel[1], id.skel[1]);
	/* A key that is itself a nick is its own key. */
	if (nick_fold(key, sizeof(key), id.key) == 0)
		assert_string_equal(key, id.key);
	return 1;
}

/*
 * The property test over every Unicode code point but the surrogates
 * (and U+0000, which ends a C string): alone, between Latin letters, and
 * as a room name after '#'.  Every default-ignorable code point, for one,
 * must be refused in every position.
 */
static void
test_every_code_point(void **state)
{
	char ch[8], name[32];
	unsigned long accepted = 0, rooms = 0;
	const char *why;
	UErrorCode e = U_ZERO_ERROR;
	uint32_t c;

	sc = uspoof_open(&e);
	nfkc = unorm2_getNFKCInstance(&e);
	assert_true(U_SUCCESS(e));
	for (c = 1; c <= 0x10ffff; c++) {
		if (c >= 0xd800 && c <= 0xdfff)
			continue;
		utf8(ch, c);
		accepted += (unsigned long)check_name(ch);
		snprintf(name, sizeof(name), "a%sb", ch);
		accepted += (unsigned long)check_name(name);
		snprintf(name, sizeof(name), "x%s%s", ch, ch);
		accepted += (unsigned long)check_name(name);
		snprintf(name, sizeof(name), "#%s", ch);
		if (room_name_check(name, &why) == 0) {
			rooms++;
			if (u_hasBinaryProperty((UChar32)c,
			    UCHAR_DEFAULT_IGNORABLE_CODE_POINT) ||
			    u_charType((UChar32)c) == U_CONTROL_CHAR ||
			    u_charType((UChar32)c) == U_FORMAT_CHAR)
				fail_msg("room \"%s\" accepted", name);
		}
	}
	/* The rules accept much of Unicode: not a refuse-all. */
	assert_true(accepted > 100000 && rooms > 50000);
	uspoof_close(sc);
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
		cmocka_unit_test(test_issue16_lookalikes),
		cmocka_unit_test(test_identify),
		cmocka_unit_test(test_every_code_point),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
