/* SPDX-License-Identifier: ISC */
/*
 * Nick and room name rules.  Names are UTF-8; what makes one name look
 * like another or hide what it is (control characters, bidi overrides,
 * zero-width characters) is refused with a reason that names the rule.
 */
#include <assert.h>
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "hub.h"

/*
 * Decode one UTF-8 character at s (NUL-terminated).  Returns its length
 * and stores the code point, or returns 0 for an invalid sequence.
 */
static size_t
utf8_decode(const unsigned char *s, uint32_t *cp)
{
	uint32_t c = s[0], min;
	size_t n, i;

	if (c < 0x80) {
		*cp = c;
		return 1;
	} else if ((c & 0xe0) == 0xc0) {
		n = 2; c &= 0x1f; min = 0x80;
	} else if ((c & 0xf0) == 0xe0) {
		n = 3; c &= 0x0f; min = 0x800;
	} else if ((c & 0xf8) == 0xf0) {
		n = 4; c &= 0x07; min = 0x10000;
	} else
		return 0;
	for (i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		c = (c << 6) | (s[i] & 0x3f);
	}
	if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
		return 0;
	*cp = c;
	return n;
}

/* Characters that are invisible or reorder text. */
static int
is_hidden(uint32_t c)
{
	return (c >= 0x200b && c <= 0x200f) ||	/* zero width, LRM, RLM */
	    (c >= 0x202a && c <= 0x202e) ||	/* bidi embeddings/overrides */
	    (c >= 0x2060 && c <= 0x2064) ||	/* word joiner, invisibles */
	    (c >= 0x2066 && c <= 0x2069) ||	/* bidi isolates */
	    c == 0xfeff || c == 0x00ad ||	/* BOM, soft hyphen */
	    c == 0x034f || c == 0x061c ||	/* CGJ, Arabic letter mark */
	    c == 0x180e || (c >= 0xfff9 && c <= 0xfffb) ||
	    c == 0x115f || c == 0x1160 || c == 0x3164 ||	/* Hangul fillers */
	    c == 0xffa0 || c == 0x2800;		/* and the blank braille cell */
}

/*
 * Check a name against the shared rules; `what` is "Nick" or "Room name"
 * for the message.  Returns 0, or -EINVAL with *why set to a static
 * sentence naming the rule.
 */
static int
name_check(const char *name, size_t max, int room, const char **why)
{
	const unsigned char *s = (const unsigned char *)name;
	size_t len, n;
	uint32_t c;

	assert(name != NULL && why != NULL);
	len = strlen(name);
	if (len == 0) {
		*why = room ? "Room name is empty" : "Nick is empty";
		return -EINVAL;
	}
	if (len > max) {
		*why = room ? "Room name is longer than 32 bytes" :
		    "Nick is longer than 32 bytes";
		return -EINVAL;
	}
	for (; *s != '\0'; s += n) {
		if ((n = utf8_decode(s, &c)) == 0) {
			*why = room ? "Room name is not valid UTF-8" :
			    "Nick is not valid UTF-8";
			return -EINVAL;
		}
		if (c < 0x20 || (c >= 0x7f && c < 0xa0)) {
			*why = room ? "Room name contains a control character" :
			    "Nick contains a control character";
			return -EINVAL;
		}
		if (is_hidden(c)) {
			*why = room ? "Room name contains an invisible or "
			    "bidi control character" : "Nick contains an "
			    "invisible or bidi control character";
			return -EINVAL;
		}
		if (c == ' ' || c == ',' || c == ':' || c == '"' || c == '<' ||
		    c == '>' || c == '&' || c == '\'' || c == '\\' ||
		    c == 0xa0 || (c >= 0x2000 && c <= 0x200a) ||
		    c == 0x1680 || c == 0x202f || c == 0x205f ||
		    c == 0x3000 || c == 0x2028 || c == 0x2029) {
			*why = room ? "Room name contains a space or one of "
			    ", : \" ' < > & \\" : "Nick contains a space or one "
			    "of , : \" ' < > & \\";
			return -EINVAL;
		}
	}
	if (!room && (name[0] == '#' || name[0] == '*' ||
	    (name[0] >= '0' && name[0] <= '9'))) {
		*why = "Nick must not start with a digit, # or *";
		return -EINVAL;
	}
	return 0;
}

int
nick_check(const char *nick, const char **why)
{
	return name_check(nick, SB_NICK_MAX, 0, why);
}

int
room_name_check(const char *room, const char **why)
{
	return name_check(room, SB_ROOM_MAX, 1, why);
}

/*
 * The key under which a name is unique: ASCII letters folded to lower
 * case; other characters are kept as they are.
 */
void
nick_fold(char *dst, size_t dstsz, const char *src)
{
	size_t i;

	assert(dst != NULL && dstsz > 0 && src != NULL);
	for (i = 0; src[i] != '\0' && i + 1 < dstsz; i++)
		dst[i] = (src[i] >= 'A' && src[i] <= 'Z') ?
		    (char)(src[i] - 'A' + 'a') : src[i];
	dst[i] = '\0';
}
