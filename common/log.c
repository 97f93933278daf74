/* SPDX-License-Identifier: ISC */
/*
 * The event table and the plain-text logger shared by hub and handler.
 * The hub's journald writer, sb_log_event(), lives in hub/journal.c so the
 * handler does not link libsystemd.
 */
#include <assert.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#define LIBBSD_OPENBSD_VIS 1
#include <bsd/vis.h>

#include "log.h"

static const struct sb_event_info events[SB_EV_COUNT] = {
	[SB_EV_START] = { "start", "5f5f34fe643e4ec9ae2016cd1280649e", LOG_INFO },
	[SB_EV_STOP] = { "stop", "2c6730c4fbdf42c9a643d329526b480f", LOG_INFO },
	[SB_EV_RELOAD] = { "reload", "51127b97cede47db8c7cfc8e5267cffe", LOG_INFO },
	[SB_EV_CONNECT] = { "connect", "21de584136c84ecea18d38ac6cff70a5", LOG_INFO },
	[SB_EV_DISCONNECT] = { "disconnect", "e44baebb79d24e6385f6b68ed8164092", LOG_INFO },
	[SB_EV_POLICY] = { "policy", "94cd8d6dc58942a59503f00e197d7717", LOG_INFO },
	[SB_EV_HTTP] = { "http", "3f6098da2a3f47b6bf5af4de1770099b", LOG_INFO },
	[SB_EV_STATUS] = { "status", "74c2d8149c4b400f9fb2003a511c9bb4", LOG_INFO },
	[SB_EV_LOGIN] = { "login", "f084968af4984731ab3e46022d03c581", LOG_NOTICE },
	[SB_EV_LOGIN_FAILED] = { "login_failed", "f3f44c9915b7473cb480775bf330188b", LOG_WARNING },
	[SB_EV_MESSAGE] = { "message", "3e3e8ba1fff349298edfe1fc27840e4a", LOG_INFO },
	[SB_EV_JOIN] = { "join", "f43a88b44b7247208d1bc4ef1853c08e", LOG_INFO },
	[SB_EV_PART] = { "part", "c5f0ba25edbf48908d36feffd6fe1594", LOG_INFO },
	[SB_EV_NICK] = { "nick", "c53a64ccc0a94d0fbef88b4a6ea742ae", LOG_INFO },
	[SB_EV_QUIT] = { "quit", "2abe8be01f8e4691ad4ea1a2d670a4a3", LOG_NOTICE },
	[SB_EV_PROTOCOL_ERROR] = { "protocol_error", "189d1688b03b4fe29f054f36eb1c5b18", LOG_WARNING },
	[SB_EV_FLOOD] = { "flood", "4a23d700cac241899fad8239b784de41", LOG_WARNING },
	[SB_EV_KICK] = { "kick", "d64c6511b4364677aa383f2b37a966c6", LOG_NOTICE },
	[SB_EV_ANNOUNCE] = { "announce", "87292a2171f04e69ad4ac2956cbbd819", LOG_NOTICE },
	[SB_EV_SLOW_READER] = { "slow_reader", "e901a57b2e094078ae2f168059a44160", LOG_WARNING },
	[SB_EV_HUB_ERROR] = { "hub_error", "fff71ae23eaf470880b71dd75b261b20", LOG_ERR },
	[SB_EV_BAN] = { "ban", "81924557895242a2a0966d631e7b0bfc", LOG_NOTICE },
	[SB_EV_UNBAN] = { "unban", "0d8b99ce5d8140c9be64a09a2015453a", LOG_NOTICE },
	[SB_EV_BANNED] = { "banned", "d7504cc0f2834ba0a5f15fd69a3291ed", LOG_WARNING },
	[SB_EV_LOGIN_THROTTLED] = { "login_throttled", "24d8d03bd0e64ea4954d77d6cdbda9d6", LOG_WARNING },
	[SB_EV_CLUSTER] = { "cluster", "2be11c5a9b6e42bb5578731b696b8de3", LOG_NOTICE },
};

/* No initializers: set at start, an initialized static would dirty a page
 * of .data in every handler (docs/benchmarks.md, memory). */
static const char *log_name;	/* NULL: "switchboard" */
static enum sb_log_to log_to;	/* zero: SB_LOG_STDERR */

const struct sb_event_info *
sb_event_info(enum sb_event ev)
{
	assert(ev >= 0 && ev < SB_EV_COUNT);
	return &events[ev];
}

/* The event whose name is `name`, or -ENOENT. */
int
sb_event_from_name(const char *name)
{
	int i;

	assert(name != NULL);
	for (i = 0; i < SB_EV_COUNT; i++)
		if (strcmp(events[i].name, name) == 0)
			return i;
	return -ENOENT;
}

/*
 * Copy client-supplied `s` into dst[0..dstsz) with every control
 * character, backslash and non-printable byte escaped (strnvis, VIS_CSTYLE
 * | VIS_OCTAL | VIS_NL | VIS_TAB), so it can neither break a log line nor
 * forge a field.  Valid UTF-8 above ASCII is kept as is.  Truncates
 * silently; returns strlen(dst).
 */
size_t
sb_log_escape(char *dst, size_t dstsz, const char *s)
{
	size_t o = 0;
	char tmp[8];

	assert(dst != NULL && dstsz > 0 && s != NULL);
	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;
		char in[2] = { (char)c, '\0' };
		size_t n;

		/* What strnvis() keeps as it is goes without calling it: a
		 * call per character was half the hub's time per connection. */
		if (c >= 0x80 || (c >= 0x20 && c < 0x7f && c != '\\')) {
			if (o + 2 > dstsz)
				break;
			dst[o++] = (char)c;
			continue;
		}
		n = (size_t)strnvis(tmp, in, sizeof(tmp),
		    VIS_CSTYLE | VIS_OCTAL | VIS_NL | VIS_TAB);
		if (o + n + 1 > dstsz)
			break;
		memcpy(dst + o, tmp, n);
		o += n;
	}
	dst[o] = '\0';
	return o;
}

/*
 * The text form of an event's fields (docs/protocol.md, "Logs"):
 *
 *	KEY=value KEY="quoted value" ...
 *
 * A value is written bare if it is a plain word: not empty, and only
 * printable ASCII other than '"', '\' and '='.  Any other value is
 * quoted, with '"' and '\' escaped by a backslash, newline, tab and
 * carriage return as \n, \t, \r, the other control characters and DEL
 * as three octal digits (\033); bytes from 0x80 up stay as they are.  So a
 * value can hold a space, an '=', a quote or a newline and still neither
 * end its field early nor start another, and the line parses back to
 * exactly the fields it was made of (sb_log_parse()).
 */
static int
logfmt_bare(const char *v)
{
	const unsigned char *p = (const unsigned char *)v;

	if (*p == '\0')
		return 0;
	for (; *p != '\0'; p++)
		if (*p <= ' ' || *p >= 0x7f || *p == '"' || *p == '\\' ||
		    *p == '=')
			return 0;
	return 1;
}

/* The bytes escaped by name, and their names after the backslash. */
static const char logfmt_named[] = "\"\\\n\t\r", logfmt_names[] = "\"\\ntr";

/* The quoted form of byte c into out (NUL-terminated); returns its length. */
static size_t
logfmt_escape(char out[5], unsigned char c)
{
	const char *named = strchr(logfmt_named, c);

	if (c != '\0' && named != NULL) {
		out[0] = '\\';
		out[1] = logfmt_names[named - logfmt_named];
		out[2] = '\0';
		return 2;
	}
	if (c < ' ' || c == 0x7f)
		return (size_t)snprintf(out, 5, "\\%03o", c);
	out[0] = (char)c;
	out[1] = '\0';
	return 1;
}

/*
 * Write the n fields kv[] in the text form into dst[0..dstsz), separated
 * by one space; a NULL value leaves its field out.  Pure: no I/O, no
 * allocation.  Where dst is too small, the value that does not fit is cut
 * after its last whole escape and its quote closed, and the fields after
 * it are left out, so that what is written always parses back, to a
 * prefix of the fields.  Returns strlen(dst).
 */
size_t
sb_log_format(char *dst, size_t dstsz, const struct sb_log_kv *kv, size_t n)
{
	size_t o = 0, i, kl, el, q;
	const unsigned char *v;
	char e[5];

	assert(dst != NULL && dstsz > 0 && (kv != NULL || n == 0));
	dst[0] = '\0';
	for (i = 0; i < n; i++) {
		if (kv[i].value == NULL)
			continue;
		assert(kv[i].key != NULL &&
		    strspn(kv[i].key, "ABCDEFGHIJKLMNOPQRSTUVWXYZ_") ==
		    strlen(kv[i].key) && kv[i].key[0] != '\0');
		kl = strlen(kv[i].key);
		/* The separator, KEY= and at least "" must fit. */
		if (o + (o > 0) + kl + 3 + 1 > dstsz)
			break;
		if (o > 0)
			dst[o++] = ' ';
		memcpy(dst + o, kv[i].key, kl);
		o += kl;
		dst[o++] = '=';
		if (logfmt_bare(kv[i].value)) {
			el = strlen(kv[i].value);
			if (o + el + 1 > dstsz) {
				/* Cut: what fits of a plain word (room was
				 * made for "", so at least two bytes). */
				el = dstsz - o - 1;
				memcpy(dst + o, kv[i].value, el);
				o += el;
				break;
			}
			memcpy(dst + o, kv[i].value, el);
			o += el;
			continue;
		}
		q = o;
		dst[o++] = '"';
		for (v = (const unsigned char *)kv[i].value; *v != '\0'; v++) {
			el = logfmt_escape(e, *v);
			if (o + el + 2 > dstsz)	/* the quote and the NUL */
				break;
			memcpy(dst + o, e, el);
			o += el;
		}
		dst[o] = '\0';
		if (*v != '\0' && logfmt_bare(dst + q + 1)) {
			/* Cut to a plain word: written bare, as always. */
			memmove(dst + q, dst + q + 1, o - q - 1);
			o--;
			break;
		}
		dst[o++] = '"';
		if (*v != '\0')
			break;
	}
	dst[o] = '\0';
	return o;
}

/*
 * Decode the quoted value at *pp (past its opening quote) onto buf.
 * Returns 0 or SB_LOG_BAD_LINE.
 */
static int
logfmt_unquote(const char **pp, char *buf, size_t bufsz, size_t *bo)
{
	const char *p = *pp, *name;
	unsigned c;

	for (;; p++) {
		if (*p == '\0')
			return SB_LOG_BAD_LINE;		/* no closing quote */
		if (*p == '"')
			break;
		c = (unsigned char)*p;
		if (c < ' ' || c == 0x7f)
			return SB_LOG_BAD_LINE;		/* never written raw */
		if (c == '\\') {
			p++;
			name = *p != '\0' ? strchr(logfmt_names, *p) : NULL;
			if (name != NULL)
				c = (unsigned char)logfmt_named[name -
				    logfmt_names];
			else {
				if (p[0] < '0' || p[0] > '3' ||
				    p[1] < '0' || p[1] > '7' ||
				    p[2] < '0' || p[2] > '7')
					return SB_LOG_BAD_LINE;
				c = (unsigned)((p[0] - '0') * 64 +
				    (p[1] - '0') * 8 + (p[2] - '0'));
				/* Only the form sb_log_format() writes. */
				if (c == 0 || (c >= ' ' && c != 0x7f) ||
				    c == '\n' || c == '\t' || c == '\r')
					return SB_LOG_BAD_LINE;
				p += 2;
			}
		}
		if (*bo + 1 >= bufsz)
			return SB_LOG_BAD_LINE;
		buf[(*bo)++] = (char)c;
	}
	*pp = p + 1;
	return 0;
}

/*
 * Parse a line of sb_log_format() back into at most `max` fields: kv[]
 * points into buf[0..bufsz), where the keys and the decoded values are
 * copied, NUL-terminated.  Returns the number of fields, or
 * SB_LOG_BAD_LINE if the line is not exactly such a line: bad syntax, a
 * form sb_log_format() does not write (a plain word quoted, a needless
 * octal escape), a key twice, more than `max` fields, or buf too
 * small.  So a line that parses is the one sb_log_format() makes of its
 * fields, byte for byte.  For tests and tools; the hub only writes.
 */
int
sb_log_parse(const char *line, struct sb_log_kv *kv, size_t max, char *buf,
    size_t bufsz)
{
	const char *p;
	size_t n = 0, bo = 0, kl, i;

	assert(line != NULL && buf != NULL && bufsz > 0);
	p = line;
	while (*p != '\0') {
		if (n > 0 && *p++ != ' ')
			return SB_LOG_BAD_LINE;
		kl = strspn(p, "ABCDEFGHIJKLMNOPQRSTUVWXYZ_");
		if (kl == 0 || p[kl] != '=' || n == max || bo + kl + 1 >= bufsz)
			return SB_LOG_BAD_LINE;
		kv[n].key = buf + bo;
		memcpy(buf + bo, p, kl);
		bo += kl;
		buf[bo++] = '\0';
		p += kl + 1;
		kv[n].value = buf + bo;
		if (*p == '"') {
			p++;
			if (logfmt_unquote(&p, buf, bufsz, &bo) < 0)
				return SB_LOG_BAD_LINE;
			buf[bo] = '\0';
			if (logfmt_bare(kv[n].value))
				return SB_LOG_BAD_LINE;	/* written bare */
		} else {
			kl = strcspn(p, " ");
			if (kl == 0 || bo + kl + 1 > bufsz)
				return SB_LOG_BAD_LINE;
			memcpy(buf + bo, p, kl);
			buf[bo + kl] = '\0';
			if (!logfmt_bare(buf + bo))
				return SB_LOG_BAD_LINE;
			bo += kl;
			p += kl;
		}
		buf[bo++] = '\0';
		for (i = 0; i < n; i++)
			if (strcmp(kv[i].key, kv[n].key) == 0)
				return SB_LOG_BAD_LINE;
		n++;
	}
	return (int)n;
}

/*
 * Name the program in log lines, and say where they go: stderr, stderr
 * connected to journald (JOURNAL_STREAM set), where "<N>" priority
 * prefixes work, or syslog(3).  Nothing is opened here: syslog(3)
 * connects to /dev/log at the first line, so a handler that never fails
 * holds no socket and journald holds nothing for it (docs/deployment.md,
 * the handler's units).
 */
void
sb_log_init(const char *ident, enum sb_log_to to)
{
	log_name = ident;
	log_to = to;
}

/*
 * A failed assert(): libc would write it on stderr, which a handler run
 * with --syslog has on /dev/null.  Write it where sb_log() writes, then
 * abort as libc does.  The libcs differ in the type of the line.
 */
#ifdef __GLIBC__
typedef unsigned int assert_line_t;
#else
typedef int assert_line_t;
#endif
void __attribute__((noreturn)) __assert_fail(const char *, const char *,
    assert_line_t, const char *);

void
__assert_fail(const char *expr, const char *file, assert_line_t line,
    const char *func)
{
	sb_log(LOG_CRIT, "assertion failed: %s (%s:%d, %s)", expr, file,
	    (int)line, func);
	abort();
}

/*
 * A plain log line, where sb_log_init() said: stderr, or syslog(3); the
 * caller has already escaped client text.
 */
void
sb_log(int prio, const char *fmt, ...)
{
	const char *ident = log_name != NULL ? log_name : "switchboard";
	char line[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (log_to == SB_LOG_SYSLOG) {
		/* Named at every line, not at the start: libc's syslog
		 * state is then written only by a process that logs. */
		openlog(ident, LOG_PID, LOG_DAEMON);
		syslog(prio, "%s", line);
	} else if (log_to == SB_LOG_JOURNAL_STREAM) {
		fprintf(stderr, "<%d>%s\n", prio, line);
	} else {
		fprintf(stderr, "%s: %s\n", ident, line);
	}
}
