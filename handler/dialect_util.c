/* SPDX-License-Identifier: ISC */
/*
 * The helpers the three dialects share (see dialect.h): field checks, the
 * packet builder, XML escaping, UTF-8, times, the hub's space-separated
 * lists, and the JSON seq's epoch and loss count.  Called by dialect.c
 * and the dialect_*.c files; calls none of them.
 */
#include <assert.h>
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bsd/string.h>

#include "dialect.h"

/*
 * The JSON `seq` numbers the msg events this session was shown, one by
 * one, within one hub epoch (docs/delivery.md).  A new epoch (the hub
 * restarted) starts the count again at 1.
 */
void
dialect_epoch(struct dialect *d, uint32_t epoch)
{
	assert(d != NULL);
	if (epoch == d->epoch)
		return;
	d->epoch = epoch;
	d->seq = 0;
	d->lost = 0;
}

/*
 * The handler found `n` datagrams of hub epoch `epoch` missing from this
 * session's sequence (a gap), or a message could not be shown: the next
 * msg event's seq skips as many numbers, so that a client sees a jump
 * exactly when something was lost (at most `n` messages of its own).
 */
void
dialect_lost(struct dialect *d, uint32_t epoch, uint64_t n)
{
	assert(d != NULL);
	dialect_epoch(d, epoch);
	/* Saturating, and far from overflowing the seq it is added to. */
	d->lost = n > UINT32_MAX - d->lost ? UINT32_MAX : d->lost + n;
}

static size_t	dialect_utf8_seq(const unsigned char *, size_t);

/*
 * Record an error for the client: `code` and a printf-style text (cut to
 * SB_REASON_MAX).  Returns DIALECT_REPLY, for a parser to return.
 */
int
dialect_fail(struct dialect_err *e, const char *code, const char *fmt, ...)
{
	unsigned char *p;
	va_list ap;
	size_t n;

	assert(e != NULL && code != NULL && fmt != NULL);
	e->code = code;
	va_start(ap, fmt);
	vsnprintf(e->text, sizeof(e->text), fmt, ap);
	va_end(ap);
	/* Quoted client bytes must not make the error itself invalid. */
	for (p = (unsigned char *)e->text; *p != '\0'; p += n) {
		n = dialect_utf8_seq(p, strlen((char *)p));
		if (n == 0 || *p < 0x20 || *p == 0x7f)
			*p = '?', n = 1;
	}
	return DIALECT_REPLY;
}

/*
 * Check one field a client sent, before it goes to the hub: not empty
 * (unless DF_EMPTY_OK), at most `max` bytes, valid UTF-8, no control
 * character (C0 or DEL), no space if DF_WORD.  `what` names the field in
 * the error ("nick", "text"...).  Returns 0, or DIALECT_REPLY with `e`
 * filled.
 */
int
dialect_field(struct dialect_err *e, const char *what, const char *s,
    size_t len, size_t max, unsigned flags)
{
	char name[32];
	size_t i;

	assert(e != NULL && what != NULL && (s != NULL || len == 0));
	if (strlcpy(name, what, sizeof(name)) >= sizeof(name))
		return dialect_fail(e, "syntax", "Bad field");
	name[0] = (char)toupper((unsigned char)name[0]);
	if (len == 0 && !(flags & DF_EMPTY_OK))
		return dialect_fail(e, "syntax", "%s is empty", name);
	if (len > max)
		return dialect_fail(e, "limit", "%s too long (max %zu bytes)",
		    name, max);
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == 0)
			return dialect_fail(e, "encoding", "NUL byte in %s",
			    what);
		if (c < 0x20 || c == 0x7f)
			return dialect_fail(e, "encoding",
			    "Control character in %s", what);
		if (c == ' ' && (flags & DF_WORD))
			return dialect_fail(e, "syntax",
			    "%s must not contain spaces", name);
	}
	if (!dialect_utf8_valid(s, len))
		return dialect_fail(e, "encoding", "Invalid UTF-8 in %s", what);
	return 0;
}

/*
 * Build the hub packet of `type` from `n` NUL-terminated fields (checked
 * already).  Returns DIALECT_TO_HUB, or DIALECT_REPLY with `e` filled if
 * the contract refuses them after all.  The session learns what was
 * built from `d`: its type (d->sent) and, for an IDENTIFY, the seed-003
 * id (field 2) it asks for, which a resume after a hub restart repeats.
 */
int
dialect_pack(struct dialect *d, struct sb_packet *pkt, enum sb_type type,
    struct dialect_err *e, size_t n, ...)
{
	const char *f[SB_FIELDS_MAX];
	va_list ap;
	size_t i;
	int r;

	assert(d != NULL && pkt != NULL && e != NULL);
	assert(n <= SB_FIELDS_MAX);
	va_start(ap, n);
	for (i = 0; i < n; i++)
		f[i] = va_arg(ap, const char *);
	va_end(ap);
	r = sb_msg_encode(pkt, type, d->session, 0, 0, f, n);
	if (r < 0)
		return dialect_fail(e, "limit", "Message too long");
	d->sent = type;
	if (type == SB_H_IDENTIFY) {
		d->identify_pending = 1;
		strlcpy(d->alias, n > 2 && f[2] != NULL ? f[2] : "",
		    sizeof(d->alias));
	}
	return DIALECT_TO_HUB;
}

/* Length of the valid UTF-8 sequence at s[0..len), or 0 if invalid. */
static size_t
dialect_utf8_seq(const unsigned char *s, size_t len)
{
	size_t n, i;
	unsigned c = s[0];
	uint32_t cp;

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		n = 2, cp = c & 0x1f;
	else if (c >= 0xe0 && c <= 0xef)
		n = 3, cp = c & 0x0f;
	else if (c >= 0xf0 && c <= 0xf4)
		n = 4, cp = c & 0x07;
	else
		return 0;
	if (n > len)
		return 0;
	for (i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if ((n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) ||
	    cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return n;
}

/* Is s[0..len) valid UTF-8 (no overlongs, no surrogates)?  1 or 0. */
int
dialect_utf8_valid(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0, n;

	assert(s != NULL || len == 0);
	while (i < len) {
		if ((n = dialect_utf8_seq(p + i, len - i)) == 0)
			return 0;
		i += n;
	}
	return 1;
}

/*
 * How many bytes of s[0..len) to keep so that at most `max` remain
 * without cutting a UTF-8 sequence in two.
 */
size_t
dialect_clip(const char *s, size_t len, size_t max)
{
	assert(s != NULL || len == 0);
	if (len <= max)
		return len;
	while (max > 0 && ((unsigned char)s[max] & 0xc0) == 0x80)
		max--;
	return max;
}

/*
 * Append s[0..len) escaped for an XML attribute value or character data:
 * & < > " ' as entities; TAB, LF, CR and DEL as &#N; (so that attribute
 * value normalization keeps them); what XML 1.0 cannot carry at all, the
 * other C0 controls (a reference such as &#1; is not well-formed) and the
 * noncharacters U+FFFE and U+FFFF, as U+FFFD, like invalid UTF-8.  The
 * result is always well-formed and can never close the element or start
 * another.
 */
int
dialect_xml_escape(struct dbuf *b, const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0, run = 0, n;
	int nonchar;

	assert(b != NULL && (s != NULL || len == 0));
	while (i < len) {
		const char *ent = NULL;
		unsigned char c = p[i];

		switch (c) {
		case '&': ent = "&amp;"; break;
		case '<': ent = "&lt;"; break;
		case '>': ent = "&gt;"; break;
		case '"': ent = "&quot;"; break;
		case '\'': ent = "&apos;"; break;
		default: break;
		}
		n = ent == NULL && c >= 0x20 && c != 0x7f ?
		    dialect_utf8_seq(p + i, len - i) : 0;
		/* U+FFFE, U+FFFF: EF BF BE, EF BF BF */
		nonchar = n == 3 && c == 0xef && p[i + 1] == 0xbf &&
		    p[i + 2] >= 0xbe;
		if (n > 0 && !nonchar) {
			i += n;
			run += n;
			continue;
		}
		dbuf_add(b, s + i - run, run);
		run = 0;
		if (ent != NULL)
			dbuf_addstr(b, ent);
		else if (c == '\t' || c == '\n' || c == '\r' || c == 0x7f)
			dbuf_addf(b, "&#%u;", c);
		else {
			dbuf_addstr(b, "\xef\xbf\xbd");
			if (nonchar)
				i += 2;		/* the whole character */
		}
		i++;
	}
	return dbuf_add(b, s + i - run, run);
}

/* End one client message: append its NUL separator.  Returns 1 or error. */
int
dialect_end(struct dbuf *b)
{
	int r;

	assert(b != NULL);
	return (r = dbuf_add(b, "", 1)) < 0 ? r : 1;
}

/* The latest time gmtime() and a 4-digit year can show: 9999-12-31. */
#define DIALECT_TIME_MAX	253402300799LL

/*
 * The unix time in field `i` of `m`, or now if it is empty, absent or out
 * of range.
 */
time_t
dialect_msg_time(const struct sb_msg *m, size_t i)
{
	long long t;

	if (m != NULL && sb_field_num(m, i, 0, DIALECT_TIME_MAX, &t) == 0)
		return (time_t)t;
	return time(NULL);
}

/* "HH:MM:SS" in UTC. */
void
dialect_hms(time_t t, char out[9])
{
	struct tm tm;

	if (gmtime_r(&t, &tm) == NULL || strftime(out, 9, "%H:%M:%S", &tm) != 8)
		memcpy(out, "00:00:00", 9);
}

/* "YYYY-MM-DDTHH:MM:SSZ" (ISO 8601, UTC); the epoch past year 9999. */
void
dialect_iso(time_t t, char out[21])
{
	static char last[21];	/* every event of a second has the same */
	static time_t last_t = -1;
	struct tm tm;

	if (t != last_t) {
		if (gmtime_r(&t, &tm) == NULL ||
		    strftime(last, 21, "%Y-%m-%dT%H:%M:%SZ", &tm) != 20)
			memcpy(last, "1970-01-01T00:00:00Z", 21);
		last_t = t;
	}
	memcpy(out, last, 21);
}

/*
 * The flags in the kind field (0) of a C_MSG: a comma-separated list of
 * private, room, action, announce, history.  Returns DM_* bits, or
 * -EBADMSG for an empty or unknown kind.
 */
int
dialect_msg_flags(const struct sb_msg *m)
{
	static const struct { const char *name; int flag; } kinds[] = {
		{ "private", 0 }, { "room", 0 }, { "action", DM_ACTION },
		{ "announce", DM_ANNOUNCE }, { "history", DM_HISTORY },
	};
	const char *p, *q;
	size_t i, n;
	int flags = 0;

	assert(m != NULL && m->nfields >= 1);
	p = m->field[0];
	if (*p == '\0')
		return -EBADMSG;
	for (;;) {
		q = strchr(p, ',');
		n = q != NULL ? (size_t)(q - p) : strlen(p);
		for (i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
			if (strlen(kinds[i].name) == n &&
			    memcmp(kinds[i].name, p, n) == 0)
				break;
		if (i == sizeof(kinds) / sizeof(kinds[0]))
			return -EBADMSG;
		flags |= kinds[i].flag;
		if (q == NULL)
			return flags;
		p = q + 1;
	}
}

/*
 * The next space-separated word of [*p, end): returns 1 with `w`, `wl`
 * set and *p moved past it, or 0 at the end.
 */
int
dialect_word_next(const char **p, const char *end, const char **w,
    size_t *wl)
{
	const char *s;

	assert(p != NULL && *p != NULL && end != NULL && w != NULL && wl);
	s = *p;
	while (s < end && *s == ' ')
		s++;
	if (s == end) {
		*p = s;
		return 0;
	}
	*w = s;
	while (s < end && *s != ' ')
		s++;
	*wl = (size_t)(s - *w);
	*p = s;
	return 1;
}

#define DIALECT_COUNT_MAX	1000000000UL	/* members of one room */

/*
 * Split one "name:count" word of a ROOMLIST at its last colon.  Returns 0
 * with the name's length and the count, or -EBADMSG.
 */
int
dialect_room_split(const char *w, size_t wl, size_t *namelen,
    unsigned long *count)
{
	size_t i, c;
	unsigned long v = 0;

	assert(w != NULL && namelen != NULL && count != NULL);
	for (c = wl; c > 0 && w[c - 1] != ':'; c--)
		;
	if (c <= 1 || c == wl || wl - c > 10)
		return -EBADMSG;
	for (i = c; i < wl; i++) {
		if (w[i] < '0' || w[i] > '9')
			return -EBADMSG;
		v = v * 10 + (unsigned long)(w[i] - '0');
	}
	if (v > DIALECT_COUNT_MAX)
		return -EBADMSG;
	*namelen = c - 1;
	*count = v;
	return 0;
}

/* Is `nick` this session's own nick? */
int
dialect_is_self(const struct dialect *d, const char *nick)
{
	assert(d != NULL && nick != NULL);
	return d->nick[0] != '\0' && strcmp(d->nick, nick) == 0;
}

/* Append ` name="value"` with the value escaped for XML. */
void
dialect_attr(struct dbuf *b, const char *name, const char *v, size_t len)
{
	dbuf_addf(b, " %s=\"", name);
	dialect_xml_escape(b, v, len);
	dbuf_add(b, "\"", 1);
}

/* dialect_attr() of field i of m. */
void
dialect_fattr(struct dbuf *b, const char *name, const struct sb_msg *m,
    size_t i)
{
	assert(i < m->nfields);
	dialect_attr(b, name, m->field[i], m->flen[i]);
}

/*
 * One empty element, `<elem a="field" ... />`, from (attribute name,
 * field index as an int) pairs ending with NULL; then ends the message.  Returns
 * what dialect_end() returns.
 */
int
dialect_element(struct dbuf *b, const char *elem, const struct sb_msg *m,
    ...)
{
	const char *name;
	va_list ap;

	dbuf_addf(b, "<%s", elem);
	va_start(ap, m);
	while ((name = va_arg(ap, const char *)) != NULL)
		dialect_fattr(b, name, m, (size_t)va_arg(ap, int));
	va_end(ap);
	dbuf_addstr(b, " />");
	return dialect_end(b);
}
