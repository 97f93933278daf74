/* SPDX-License-Identifier: ISC */
/*
 * The helpers the three dialects share (see dialect.h): field checks, the
 * packet builder, XML escaping, times, the hub's space-separated lists,
 * and the JSON seq's epoch and loss count.  Called by dialect.c and the
 * dialect_*.c files; calls none of them.
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
		n = utf8_decode(p, strlen((char *)p), NULL);
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
	if (!utf8_valid(s, len))
		return dialect_fail(e, "encoding", "Invalid UTF-8 in %s", what);
	return 0;
}

/*
 * Build the hub packet of `type` from its fields (checked already), a
 * NULL-terminated list, with the shared packer (sb_msg_vpack).  Returns
 * DIALECT_TO_HUB, or DIALECT_REPLY with `e` filled if the contract
 * refuses them after all.  The session learns what was built from `d`:
 * its type (d->sent) and, for an IDENTIFY, the seed-003 id (its third
 * field) it asks for, which a resume after a hub restart repeats.
 */
int
dialect_pack(struct dialect *d, struct sb_packet *pkt, enum sb_type type,
    struct dialect_err *e, ...)
{
	va_list ap;
	int r;

	assert(d != NULL && pkt != NULL && e != NULL);
	va_start(ap, e);
	r = sb_msg_vpack(pkt, type, d->session, ap);
	va_end(ap);
	if (r < 0)
		return dialect_fail(e, "limit", "Message too long");
	d->sent = type;
	if (type == SB_H_IDENTIFY) {
		const char *alias;

		d->identify_pending = 1;
		/* Packed: so it had its three fields. */
		va_start(ap, e);
		(void)va_arg(ap, const char *);
		(void)va_arg(ap, const char *);
		alias = va_arg(ap, const char *);
		va_end(ap);
		strlcpy(d->alias, alias, sizeof(d->alias));
	}
	return DIALECT_TO_HUB;
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
dialect_xml_escape(struct buf *b, const char *s, size_t len)
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
		n = ent != NULL || c < 0x20 || c == 0x7f ? 0 : c < 0x80 ? 1 :
		    utf8_decode(p + i, len - i, NULL);
		/* U+FFFE, U+FFFF: EF BF BE, EF BF BF */
		nonchar = n == 3 && c == 0xef && p[i + 1] == 0xbf &&
		    p[i + 2] >= 0xbe;
		if (n > 0 && !nonchar) {
			i += n;
			run += n;
			continue;
		}
		buf_catlen(b, s + i - run, run);
		run = 0;
		if (ent != NULL)
			buf_cat(b, ent);
		else if (c == '\t' || c == '\n' || c == '\r' || c == 0x7f)
			buf_catf(b, "&#%u;", c);
		else {
			buf_cat(b, "\xef\xbf\xbd");
			if (nonchar)
				i += 2;		/* the whole character */
		}
		i++;
	}
	return buf_catlen(b, s + i - run, run);
}

/* End one client message: append its NUL separator.  Returns 1 or error. */
int
dialect_end(struct buf *b)
{
	int r;

	assert(b != NULL);
	return (r = buf_catlen(b, "", 1)) < 0 ? r : 1;
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
	/* Every event of a second has the same.  No initializers (last[0]
	 * says whether last_t is set): an initialized static would dirty a
	 * page of .data in every handler. */
	static char last[21];
	static time_t last_t;
	struct tm tm;

	if (last[0] == '\0' || t != last_t) {
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

/*
 * Is s[0..len) a number a client may send for the hub (a `since`, a
 * seed-003 id): 1 to 19 decimal digits, at most INT64_MAX?
 */
int
dialect_decimal_ok(const char *s, size_t len)
{
	static const char max[] = "9223372036854775807";
	size_t i;

	assert(s != NULL);
	for (i = 0; i < len; i++)
		if (s[i] < '0' || s[i] > '9')
			return 0;
	return len > 0 && (len < sizeof(max) - 1 ||
	    (len == sizeof(max) - 1 && memcmp(s, max, len) <= 0));
}

/*
 * A client's `since` (JOIN): dialect_decimal_ok().  Returns 0, or
 * DIALECT_REPLY with the error in e.
 */
int
dialect_since(struct dialect_err *e, const char *s, size_t len)
{
	assert(e != NULL && s != NULL);
	if (!dialect_decimal_ok(s, len))
		return dialect_fail(e, "syntax",
		    "Since must be a non-negative integer");
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
dialect_attr(struct buf *b, const char *name, const char *v, size_t len)
{
	buf_catf(b, " %s=\"", name);
	dialect_xml_escape(b, v, len);
	buf_catlen(b, "\"", 1);
}

/* dialect_attr() of field i of m. */
void
dialect_fattr(struct buf *b, const char *name, const struct sb_msg *m,
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
dialect_element(struct buf *b, const char *elem, const struct sb_msg *m,
    ...)
{
	const char *name;
	va_list ap;

	buf_catf(b, "<%s", elem);
	va_start(ap, m);
	while ((name = va_arg(ap, const char *)) != NULL)
		dialect_fattr(b, name, m, (size_t)va_arg(ap, int));
	va_end(ap);
	buf_cat(b, " />");
	return dialect_end(b);
}
