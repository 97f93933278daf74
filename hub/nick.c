/* SPDX-License-Identifier: ISC */
/*
 * Nick and room name rules, taken from two standards and implemented
 * with ICU (docs/protocol.md, "Nicks and room names"):
 *
 * - The PRECIS Nickname profile (RFC 8266, on the FreeformClass of
 *   RFC 8264): a name must contain only code points the class allows
 *   (no unassigned, control, default-ignorable, private-use or
 *   noncharacter code points), and must already be in the form the
 *   profile's enforcement gives it: Unicode NFKC (which is also the
 *   width mapping).  A name that enforcement would change is refused
 *   rather than silently changed, so a client always knows its nick.
 *   Two nicks are the same when their comparison keys are: NFKC, then
 *   toLowerCase (root locale), then NFKC.
 * - UTS #39 (Unicode security mechanisms), with ICU's spoof checker:
 *   the Highly Restrictive restriction level (one script, or Latin with
 *   the CJK scripts), no mixed number systems, no repeated nonspacing
 *   marks, no mark hidden by the letter before it (i + U+0307); and the
 *   confusable skeletons, which route.c and members.c compare so that a
 *   nick that looks like one in use is refused.
 *
 * Stricter than RFC 8266, for the dialects: no spaces at all (the text
 * dialect separates fields with them), none of , : " ' < > & \, and the
 * code points RFC 8264 allows only in context (CONTEXTJ, CONTEXTO) are
 * refused.  Nicks do not start with a digit, # or *.
 */
#include <assert.h>
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include <bsd/string.h>

#include <unicode/uchar.h>
#include <unicode/unorm2.h>
#include <unicode/uspoof.h>
#include <unicode/ustring.h>

#include "hub.h"

/* A name in UTF-16: at most one unit per byte of UTF-8. */
#define U16_NAME_MAX	(SB_NICK_MAX > SB_ROOM_MAX ? SB_NICK_MAX : SB_ROOM_MAX)
#define U16_SKEL_MAX	NICK_SKEL_MAX

/* ICU's objects, opened once: the hub lives long, their size is paid once. */
static struct {
	int			 state;	/* 0 not yet, 1 open, -1 failed */
	const UNormalizer2	*nfkc;
	USpoofChecker		*sc;
} icu;

static int
icu_open(void)
{
	UErrorCode e = U_ZERO_ERROR;

	if (icu.state != 0)
		return icu.state > 0 ? 0 : -EIO;
	icu.state = -1;
	icu.nfkc = unorm2_getNFKCInstance(&e);
	if (U_FAILURE(e))
		return -EIO;
	icu.sc = uspoof_open(&e);
	uspoof_setChecks(icu.sc, USPOOF_RESTRICTION_LEVEL | USPOOF_INVISIBLE |
	    USPOOF_MIXED_NUMBERS | USPOOF_HIDDEN_OVERLAY, &e);
	uspoof_setRestrictionLevel(icu.sc, USPOOF_HIGHLY_RESTRICTIVE);
	if (U_FAILURE(e)) {
		uspoof_close(icu.sc);
		icu.sc = NULL;
		return -EIO;
	}
	icu.state = 1;
	return 0;
}

/* What one code point is to the rules below. */
enum cp_class {
	CP_OK,
	CP_CONTROL,	/* Cc */
	CP_HIDDEN,	/* default-ignorable, format (bidi controls), joiners */
	CP_SPACE,	/* a space or separator, or punctuation the dialects use */
	CP_DISALLOWED,	/* anything else RFC 8264's FreeformClass refuses */
};

/*
 * RFC 8264 section 8's derived property for the FreeformClass, from
 * ICU's Unicode properties, in the RFC's order; PVALID and FREE_PVAL
 * are CP_OK, CONTEXTJ and CONTEXTO are refused (no context rules here).
 */
static enum cp_class
cp_classify(uint32_t c)
{
	UChar32 u = (UChar32)c;
	int8_t gc = u_charType(u);
	int hst;

	/* The dialects' own rules (stricter than RFC 8266). */
	if (c == ' ' || c == ',' || c == ':' || c == '"' || c == '<' ||
	    c == '>' || c == '&' || c == '\'' || c == '\\')
		return CP_SPACE;
	/* RFC 5892 section 2.6, the Exceptions. */
	switch (c) {
	case 0x00df: case 0x03c2: case 0x06fd: case 0x06fe: case 0x0f0b:
	case 0x3007:
		return CP_OK;			/* PVALID */
	case 0x00b7: case 0x0375: case 0x05f3: case 0x05f4: case 0x30fb:
	case 0x0640: case 0x07fa: case 0x302e: case 0x302f: case 0x3031:
	case 0x3032: case 0x3033: case 0x3034: case 0x3035: case 0x303b:
		return CP_DISALLOWED;		/* CONTEXTO or DISALLOWED */
	default:
		break;
	}
	if (gc == U_CONTROL_CHAR)
		return CP_CONTROL;
	if (u_hasBinaryProperty(u, UCHAR_NONCHARACTER_CODE_POINT))
		return CP_DISALLOWED;
	if (gc == U_UNASSIGNED)
		return CP_DISALLOWED;		/* Unassigned */
	if (c >= 0x21 && c <= 0x7e)
		return CP_OK;			/* ASCII7 */
	if (u_hasBinaryProperty(u, UCHAR_JOIN_CONTROL) ||
	    u_hasBinaryProperty(u, UCHAR_DEFAULT_IGNORABLE_CODE_POINT) ||
	    gc == U_FORMAT_CHAR)
		return CP_HIDDEN;		/* CONTEXTJ, PrecisIgnorable */
	hst = u_getIntPropertyValue(u, UCHAR_HANGUL_SYLLABLE_TYPE);
	if (hst == U_HST_LEADING_JAMO || hst == U_HST_VOWEL_JAMO ||
	    hst == U_HST_TRAILING_JAMO)
		return CP_DISALLOWED;		/* OldHangulJamo */
	switch (gc) {
	case U_SPACE_SEPARATOR: case U_LINE_SEPARATOR:
	case U_PARAGRAPH_SEPARATOR:
		return CP_SPACE;
	case U_LOWERCASE_LETTER: case U_UPPERCASE_LETTER:
	case U_OTHER_LETTER: case U_DECIMAL_DIGIT_NUMBER:
	case U_MODIFIER_LETTER: case U_NON_SPACING_MARK:
	case U_COMBINING_SPACING_MARK:		/* LetterDigits */
	case U_TITLECASE_LETTER: case U_LETTER_NUMBER:
	case U_OTHER_NUMBER: case U_ENCLOSING_MARK:	/* OtherLetterDigits */
	case U_MATH_SYMBOL: case U_CURRENCY_SYMBOL:
	case U_MODIFIER_SYMBOL: case U_OTHER_SYMBOL:	/* Symbols */
	case U_CONNECTOR_PUNCTUATION: case U_DASH_PUNCTUATION:
	case U_START_PUNCTUATION: case U_END_PUNCTUATION:
	case U_INITIAL_PUNCTUATION: case U_FINAL_PUNCTUATION:
	case U_OTHER_PUNCTUATION:			/* Punctuation */
		return CP_OK;
	default:
		return CP_DISALLOWED;		/* Cs, Co, and the rest */
	}
}

/* The sentences, nick and room name forms side by side. */
enum {
	W_EMPTY, W_LONG, W_UTF8, W_CONTROL, W_HIDDEN, W_SPACE, W_DISALLOWED,
	W_NFKC, W_SPOOF, W_LEADING, W_KEY, W_ICU,
};
static const char *const whys[][2] = {
	[W_EMPTY] = { "Nick is empty", "Room name is empty" },
	[W_LONG] = { "Nick is longer than 32 bytes",
	    "Room name is longer than 32 bytes" },
	[W_UTF8] = { "Nick is not valid UTF-8", "Room name is not valid UTF-8" },
	[W_CONTROL] = { "Nick contains a control character",
	    "Room name contains a control character" },
	[W_HIDDEN] = { "Nick contains an invisible or bidi control character",
	    "Room name contains an invisible or bidi control character" },
	[W_SPACE] = { "Nick contains a space or one of , : \" ' < > & \\",
	    "Room name contains a space or one of , : \" ' < > & \\" },
	[W_DISALLOWED] = { "Nick contains an unassigned or disallowed "
	    "character (RFC 8266)", "Room name contains an unassigned or "
	    "disallowed character (RFC 8266)" },
	[W_NFKC] = { "Nick is not in Unicode normalization form NFKC "
	    "(fullwidth letters, ligatures, ...)", "Room name is not in "
	    "Unicode normalization form NFKC (fullwidth letters, ligatures, "
	    "...)" },
	[W_SPOOF] = { "Nick mixes scripts or number systems, or hides a "
	    "mark (UTS #39)", "Room name mixes scripts or number systems, or "
	    "hides a mark (UTS #39)" },
	[W_LEADING] = { "Nick must not start with a digit, # or *", "" },
	[W_KEY] = { "Nick is too long once compared",
	    "Room name is too long once compared" },
	[W_ICU] = { "Nick rules are unavailable (ICU failed to start)",
	    "Room name rules are unavailable (ICU failed to start)" },
};

/* UTF-16 to UTF-8 into dst; 0, or -ENAMETOOLONG when it does not fit. */
static int
to_utf8(char *dst, size_t dstsz, const UChar *s, int32_t n)
{
	UErrorCode e = U_ZERO_ERROR;
	int32_t len;

	u_strToUTF8(dst, (int32_t)dstsz, &len, s, n, &e);
	if (U_FAILURE(e) || len < 0 || (size_t)len >= dstsz)
		return -ENAMETOOLONG;
	return 0;
}

/*
 * The comparison key of `s` (NFKC, n units), RFC 8266 section 2.3:
 * toLowerCase in the root locale, then NFKC.  Returns its length in
 * key16 (capacity cap), or -ENAMETOOLONG.
 */
static int32_t
key16_of(const UChar *s, int32_t n, UChar *key16, int32_t cap)
{
	UChar low[2 * U16_NAME_MAX];
	UErrorCode e = U_ZERO_ERROR;
	int32_t nl, nk;

	nl = u_strToLower(low, (int32_t)(sizeof(low) / sizeof(low[0])), s, n,
	    "", &e);
	if (U_FAILURE(e) || e == U_STRING_NOT_TERMINATED_WARNING)
		return -ENAMETOOLONG;
	e = U_ZERO_ERROR;
	nk = unorm2_normalize(icu.nfkc, low, nl, key16, cap, &e);
	if (U_FAILURE(e) || e == U_STRING_NOT_TERMINATED_WARNING)
		return -ENAMETOOLONG;
	return nk;
}

/* The UTS #39 skeleton of s (n units) in UTF-8; 0 or -ENAMETOOLONG. */
static int
skeleton_of(const UChar *s, int32_t n, char *dst, size_t dstsz)
{
	UChar sk[U16_SKEL_MAX];
	UErrorCode e = U_ZERO_ERROR;
	int32_t len;

	len = uspoof_getSkeleton(icu.sc, 0, s, n, sk,
	    (int32_t)(sizeof(sk) / sizeof(sk[0])), &e);
	if (U_FAILURE(e) || e == U_STRING_NOT_TERMINATED_WARNING)
		return -ENAMETOOLONG;
	return to_utf8(dst, dstsz, sk, len);
}

/*
 * Check a name against the rules and, when `id` is not NULL, work out
 * its comparison key, and its skeletons too when `skel` is set (a look-up
 * by key, hub_find_nick, needs no skeleton).  Returns 0, or -EINVAL with
 * *why set to a static sentence naming the rule.
 */
static int
name_check(const char *name, int room, struct nick_id *id, int skel,
    const char **why)
{
	const char *s = name, *end;
	UChar u[U16_NAME_MAX + 1], key16[2 * U16_NAME_MAX + 1];
	UErrorCode e = U_ZERO_ERROR;
	size_t len, n, max = room ? SB_ROOM_MAX : SB_NICK_MAX;
	int32_t un, kn;
	uint32_t c;
	int w = -1;

	assert(name != NULL && why != NULL);
	len = strlen(name);
	end = name + len;
	if (len == 0)
		w = W_EMPTY;
	else if (len > max)
		w = W_LONG;
	for (; w < 0 && *s != '\0'; s += n) {
		if ((n = utf8_decode(s, (size_t)(end - s), &c)) == 0) {
			w = W_UTF8;
			break;
		}
		switch (cp_classify(c)) {
		case CP_OK:
			break;
		case CP_CONTROL:
			w = W_CONTROL;
			break;
		case CP_HIDDEN:
			w = W_HIDDEN;
			break;
		case CP_SPACE:
			w = W_SPACE;
			break;
		case CP_DISALLOWED:
			w = W_DISALLOWED;
			break;
		}
	}
	if (w < 0 && !room && (name[0] == '#' || name[0] == '*' ||
	    (name[0] >= '0' && name[0] <= '9')))
		w = W_LEADING;
	if (w < 0 && icu_open() < 0)
		w = W_ICU;
	if (w >= 0) {
		*why = whys[w][room];
		return -EINVAL;
	}
	/* Valid UTF-8 of at most max bytes: the conversion cannot fail. */
	u_strFromUTF8(u, (int32_t)(sizeof(u) / sizeof(u[0])), &un, name,
	    (int32_t)len, &e);
	assert(U_SUCCESS(e) && un <= U16_NAME_MAX);
	/* Enforcement (RFC 8266 section 2.2) must leave the name as it is. */
	if (!unorm2_isNormalized(icu.nfkc, u, un, &e) || U_FAILURE(e)) {
		*why = whys[W_NFKC][room];
		return -EINVAL;
	}
	/* UTS #39 on the name as shown and on its comparison key. */
	kn = key16_of(u, un, key16, (int32_t)(sizeof(key16) /
	    sizeof(key16[0])));
	if (kn < 0) {
		*why = whys[W_KEY][room];
		return -EINVAL;
	}
	if (uspoof_check2(icu.sc, u, un, NULL, &e) != 0 || U_FAILURE(e) ||
	    uspoof_check2(icu.sc, key16, kn, NULL, &e) != 0 || U_FAILURE(e)) {
		*why = whys[W_SPOOF][room];
		return -EINVAL;
	}
	if (id == NULL)
		return 0;
	if (to_utf8(id->key, sizeof(id->key), key16, kn) < 0 || (skel &&
	    skeleton_of(u, un, id->skel[0], sizeof(id->skel[0])) < 0) ||
	    (skel && skeleton_of(key16, kn, id->skel[1],
	    sizeof(id->skel[1])) < 0)) {
		*why = whys[W_KEY][room];
		return -EINVAL;
	}
	id->nskel = !skel ? 0 : strcmp(id->skel[0], id->skel[1]) == 0 ? 1 : 2;
	return 0;
}

int
nick_check(const char *nick, const char **why)
{
	return name_check(nick, 0, NULL, 0, why);
}

int
nick_identify(const char *nick, struct nick_id *id, const char **why)
{
	assert(id != NULL);
	return name_check(nick, 0, id, 1, why);
}

int
room_name_check(const char *room, const char **why)
{
	return name_check(room, 1, NULL, 0, why);
}

/*
 * The key under which a nick is unique: its RFC 8266 comparison key.
 * A name that is not a valid nick gets the empty key, which no
 * identified session, member or ban has, so looking it up finds nothing.
 * Returns 0, or -EINVAL for a name that is not a valid nick (dst is then
 * "").  Room names are folded otherwise, by ascii_fold(): common/text.h
 * says why there are two folds.
 */
int
nick_fold(char *dst, size_t dstsz, const char *src)
{
	struct nick_id id;
	const char *why;

	assert(dst != NULL && dstsz > 0 && src != NULL);
	dst[0] = '\0';
	if (name_check(src, 0, &id, 0, &why) < 0)
		return -EINVAL;
	if (strlcpy(dst, id.key, dstsz) >= dstsz) {
		dst[0] = '\0';
		return -ENAMETOOLONG;
	}
	return 0;
}
