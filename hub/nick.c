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
 *   confusable skeletons, which nick_clash() (below) and members.c
 *   compare so that a nick that looks like one in use is refused.
 *
 * Stricter than RFC 8266, for the dialects: no spaces at all (the text
 * dialect separates fields with them), none of , : " ' < > & \, and the
 * code points RFC 8264 allows only in context (CONTEXTJ, CONTEXTO) are
 * refused.  Nicks do not start with a digit, # or *.
 *
 * The end of the file keeps nicks unique among the hub's sessions: the
 * nick tree and skeleton index, nick_clash(), nick_claim() and
 * nick_release().  That part touches only those two indexes, so
 * switchboardctl, which links this file for the rules, carries it unused.
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

/* Open ICU's objects on first use.  Returns 0, or -EIO (then forever). */
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
 * The first rule `name` (len bytes) breaks of those checked before ICU
 * is asked: empty, too long, not UTF-8, a code point of a class the rules
 * refuse, or for a nick a leading '#', '*' or digit.  Returns its W_
 * index into whys, or -1 when it breaks none of them.
 */
static int
name_rule_broken(const char *name, size_t len, int room)
{
	const char *s = name, *end = name + len;
	size_t n, max = room ? SB_ROOM_MAX : SB_NICK_MAX;
	uint32_t c;
	int w = -1;

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
	return w;
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
	UChar u[U16_NAME_MAX + 1], key16[2 * U16_NAME_MAX + 1];
	UErrorCode e = U_ZERO_ERROR;
	size_t len;
	int32_t un, kn;
	int w;

	assert(name != NULL && why != NULL);
	len = strlen(name);
	w = name_rule_broken(name, len, room);
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

/*
 * The nick rules (the file's top comment).  Returns 0, or -EINVAL with
 * *why a static sentence naming the rule broken.
 */
int
nick_check(const char *nick, const char **why)
{
	return name_check(nick, 0, NULL, 0, why);
}

/* nick_check(), and the nick's comparison key and skeletons into `id`. */
int
nick_identify(const char *nick, struct nick_id *id, const char **why)
{
	assert(id != NULL);
	return name_check(nick, 0, id, 1, why);
}

/* The room name rules; returns as nick_check(). */
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

/*
 * --- Uniqueness: which session holds which nick ---------------------------
 *
 * Identified sessions are in two indexes of the hub: the nick tree, by
 * comparison key (hub->nicks), and the skeleton index, by each UTS #39
 * skeleton of the nick (hub->skels).  nick_clash() asks both before a
 * nick is given (IDENTIFY, NICK, RESUME); nick_claim() and
 * nick_release() keep them in step with the sessions' nicks.
 */

static int
peer_nick_cmp(struct peer *a, struct peer *b)
{
	return strcmp(a->key, b->key);
}

/*
 * Skeletons in order, and for one skeleton the sessions that have it in
 * address order.  Every path refuses a nick whose skeleton another
 * session has (nick_clash), so the tie-break is only there to keep the
 * index correct should two sessions ever share one.
 */
static int
peer_skel_cmp(struct peer_skel *a, struct peer_skel *b)
{
	int c = strcmp(a->skel, b->skel);

	if (c != 0)
		return c;
	return (uintptr_t)a->peer < (uintptr_t)b->peer ? -1 :
	    (uintptr_t)a->peer > (uintptr_t)b->peer;
}

RB_GENERATE(peer_nicks, peer, by_nick, peer_nick_cmp)
RB_GENERATE(peer_skels, peer_skel, entry, peer_skel_cmp)

/* The identified session whose comparison key is `key`, or NULL. */
static struct peer *
nick_holder(struct hub *h, const char *key)
{
	struct peer k = { 0 };	/* only the key is compared */

	strlcpy(k.key, key, sizeof(k.key));
	return RB_FIND(peer_nicks, &h->nicks, &k);
}

/*
 * The identified session holding `nick` (compared by its RFC 8266 key),
 * or NULL; also NULL for a name that is not a valid nick.
 */
struct peer *
hub_find_nick(struct hub *h, const char *nick)
{
	char key[NICK_KEY_MAX + 1];

	assert(h != NULL && nick != NULL);
	nick_fold(key, sizeof(key), nick);
	return nick_holder(h, key);
}

/*
 * The identified session registered with seed-003 id `alias`, or NULL.
 * Like a nick, an id names one session: PRIVMSG_ALIAS goes to its holder,
 * so a second session may not register an id in use (issue 16, hole 2).
 */
struct peer *
hub_find_alias(struct hub *h, uint64_t alias)
{
	struct peer *p;

	assert(h != NULL);
	if (alias == 0)
		return NULL;
	RB_FOREACH(p, peer_nicks, &h->nicks)
		if (p->alias == alias)
			return p;
	return NULL;
}

/*
 * May `p` take the nick whose ids (nick_identify) are `id`?  NICK_FREE;
 * NICK_TAKEN when another identified session holds the same nick (the
 * same comparison key); NICK_LOOKALIKE when another session's nick
 * looks like it (a skeleton in common) without being it.  *other gets
 * that session.  Two look-ups, never a walk over the sessions.
 * Members' nicks are the member store's (members_find,
 * members_confusable); `p`'s own nick never clashes.
 */
enum nick_clash
nick_clash(struct hub *h, const struct peer *p, const struct nick_id *id,
    struct peer **other)
{
	struct peer_skel k, *s;
	struct peer *o;
	int i;

	assert(h != NULL && id != NULL && other != NULL);
	*other = NULL;
	if ((o = nick_holder(h, id->key)) != NULL && o != p) {
		*other = o;
		return NICK_TAKEN;
	}
	for (i = 0; i < id->nskel; i++) {
		strlcpy(k.skel, id->skel[i], sizeof(k.skel));
		k.peer = NULL;
		for (s = RB_NFIND(peer_skels, &h->skels, &k);
		    s != NULL && strcmp(s->skel, k.skel) == 0;
		    s = RB_NEXT(peer_skels, &h->skels, s))
			if (s->peer != p &&
			    strcmp(s->peer->key, id->key) != 0) {
				*other = s->peer;
				return NICK_LOOKALIKE;
			}
	}
	return NICK_FREE;
}

/*
 * Make `p` known as `nick`, whose ids are `id` (nick_clash() said
 * NICK_FREE): its nick and member name, and its entries in both
 * indexes.  A session already identified gives up its old nick first.
 */
void
nick_claim(struct hub *h, struct peer *p, const char *nick,
    const struct nick_id *id)
{
	int i;

	assert(h != NULL && p != NULL && nick != NULL && id != NULL);
	if (p->nick[0] != '\0')
		nick_release(h, p);
	strlcpy(p->nick, nick, sizeof(p->nick));
	strlcpy(p->name, nick, sizeof(p->name));
	strlcpy(p->key, id->key, sizeof(p->key));
	RB_INSERT(peer_nicks, &h->nicks, p);
	h->named++;
	p->nskels = id->nskel;
	for (i = 0; i < p->nskels; i++) {
		p->skels[i].peer = p;
		strlcpy(p->skels[i].skel, id->skel[i], sizeof(p->skels[i].skel));
		RB_INSERT(peer_skels, &h->skels, &p->skels[i]);
	}
}

/*
 * Take identified session `p` out of both indexes: its nick is free
 * again.  p->nick stays as it is (the quit notice names it); the caller
 * clears it or claims another.
 */
void
nick_release(struct hub *h, struct peer *p)
{
	int i;

	assert(h != NULL && p != NULL && p->nick[0] != '\0');
	RB_REMOVE(peer_nicks, &h->nicks, p);
	h->named--;
	for (i = 0; i < p->nskels; i++)
		RB_REMOVE(peer_skels, &h->skels, &p->skels[i]);
	p->nskels = 0;
}
