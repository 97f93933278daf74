/* SPDX-License-Identifier: ISC */
/*
 * The event table and the plain-text logger shared by hub and handler.
 * The hub's journald writer, sb_log_event(), lives in hub/journal.c so the
 * handler does not link libsystemd.
 */
#include <assert.h>
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
};

static const char *log_ident = "switchboard";
static int log_prefix;		/* stderr goes to journald: "<N>" prefixes */

const struct sb_event_info *
sb_event_info(enum sb_event ev)
{
	assert(ev >= 0 && ev < SB_EV_COUNT);
	return &events[ev];
}

/* The event whose name is `name`, or -1. */
int
sb_event_from_name(const char *name)
{
	int i;

	assert(name != NULL);
	for (i = 0; i < SB_EV_COUNT; i++)
		if (strcmp(events[i].name, name) == 0)
			return i;
	return -1;
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
 * Name the program in log lines; `journal_stream` says stderr is connected
 * to journald (JOURNAL_STREAM set), where "<N>" priority prefixes work.
 */
void
sb_log_init(const char *ident, int journal_stream)
{
	log_ident = ident;
	log_prefix = journal_stream;
}

/* A plain log line on stderr; the caller has already escaped client text. */
void
sb_log(int prio, const char *fmt, ...)
{
	char line[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (log_prefix)
		fprintf(stderr, "<%d>%s\n", prio, line);
	else
		fprintf(stderr, "%s: %s\n", log_ident, line);
}
