/* SPDX-License-Identifier: ISC */
/*
 * Structured events to journald, one entry per event, or the same line on
 * stderr where no journal is reachable (a hub started by hand).
 */
#include <assert.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include <systemd/sd-journal.h>

#include "hub.h"

#define FIELD_MAX	(SB_TEXT_MAX * 4 + 64)	/* escaped text and name */

static int use_journal;

static const char *transport_field[] = {
	"unknown", "xmlsocket", "websocket", "tunnel", "http", "policy",
};

/*
 * Log to journald when `journal` is set and its socket is there;
 * otherwise every event becomes one line on stderr.
 */
void
hub_log_open(int journal)
{
	use_journal = journal &&
	    access("/run/systemd/journal/socket", W_OK) == 0;
}

struct fieldbuf {
	struct iovec	iov[16];
	char		buf[16][FIELD_MAX];
	int		n;
	char		line[2048];	/* the stderr form */
	size_t		ll;
};

/* Append n bytes of s to the stderr line, as far as it has room. */
static void
line_add(struct fieldbuf *f, const char *s, size_t n)
{
	size_t room = sizeof(f->line) - 1 - f->ll;

	if (n > room)
		n = room;
	memcpy(f->line + f->ll, s, n);
	f->ll += n;
	f->line[f->ll] = '\0';
}

/*
 * Add the field NAME=value, escaped if `escape` is set, and the same
 * without the SWITCHBOARD_ prefix to the stderr line.  Written with
 * memcpy: two events per connection went through a dozen snprintf()
 * calls each, three quarters of the hub's time per connection.
 */
static void
add(struct fieldbuf *f, const char *name, const char *value, int escape)
{
	size_t nl = strlen(name), vl;
	char *b;

	if (value == NULL || f->n == 16)
		return;
	b = f->buf[f->n];
	memcpy(b, name, nl);
	b[nl++] = '=';
	if (escape)
		vl = sb_log_escape(b + nl, FIELD_MAX - nl, value);
	else {
		vl = strnlen(value, FIELD_MAX - nl - 1);
		memcpy(b + nl, value, vl);
	}
	f->iov[f->n] = (struct iovec){ b, nl + vl };
	f->n++;
	if (strncmp(name, "SWITCHBOARD_", 12) == 0) {
		if (f->ll > 0)
			line_add(f, " ", 1);
		line_add(f, b + 12, nl - 12 + vl);
	}
}

static void
emit(enum sb_event ev, const struct sb_log_fields *lf, const char *transport,
    const char *fmt, va_list ap)
{
	const struct sb_event_info *info = sb_event_info(ev);
	struct fieldbuf f;
	char msg[1024], emsg[FIELD_MAX], prio[4], sess[24];

	f.n = 0;
	f.ll = 0;
	f.line[0] = '\0';
	vsnprintf(msg, sizeof(msg), fmt, ap);
	sb_log_escape(emsg, sizeof(emsg), msg);
	add(&f, "SWITCHBOARD_EVENT", info->name, 0);
	if (lf != NULL) {
		add(&f, "SWITCHBOARD_NICK", lf->nick, 1);
		add(&f, "SWITCHBOARD_ROOM", lf->room, 1);
		add(&f, "SWITCHBOARD_REMOTE", lf->remote, 1);
		add(&f, "SWITCHBOARD_TRANSPORT", lf->transport ? lf->transport :
		    transport, 0);
		if (lf->session != 0) {
			snprintf(sess, sizeof(sess), "%llu", lf->session);
			add(&f, "SWITCHBOARD_SESSION", sess, 0);
		}
		add(&f, "SWITCHBOARD_REASON", lf->reason, 1);
		add(&f, "SWITCHBOARD_TEXT", lf->text, 1);
	}
	if (use_journal) {
		/* The transcript reads as "nick: text" with -o cat. */
		if (ev == SB_EV_MESSAGE && lf != NULL && lf->text != NULL) {
			char t[FIELD_MAX];

			sb_log_escape(t, sizeof(t), lf->text);
			snprintf(emsg, sizeof(emsg), "%s: %s",
			    lf->nick ? lf->nick : "?", t);
		}
		add(&f, "MESSAGE", emsg, 0);
		add(&f, "MESSAGE_ID", info->message_id, 0);
		snprintf(prio, sizeof(prio), "%d", info->priority);
		add(&f, "PRIORITY", prio, 0);
		add(&f, "SYSLOG_IDENTIFIER", "switchboard-hub", 0);
		if (sd_journal_sendv(f.iov, f.n) >= 0)
			return;
	}
	fprintf(stderr, "switchboard-hub: %s: %s\n", f.line, emsg);
}

/* An event about no particular session. */
void
sb_log_event(enum sb_event ev, const struct sb_log_fields *lf,
    const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	emit(ev, lf, NULL, fmt, ap);
	va_end(ap);
}

/*
 * An event about session `p`: its nick, remote address, transport and
 * session id are added to the fields in `extra` (which may be NULL and
 * may override the nick).
 */
void
hub_log_peer(enum sb_event ev, const struct peer *p,
    const struct sb_log_fields *extra, const char *fmt, ...)
{
	struct sb_log_fields lf = { 0 };
	va_list ap;

	assert(p != NULL);
	if (extra != NULL)
		lf = *extra;
	if (lf.nick == NULL && p->nick[0] != '\0')
		lf.nick = p->nick;
	if (lf.remote == NULL && p->remote[0] != '\0')
		lf.remote = p->remote;
	lf.session = p->session;
	va_start(ap, fmt);
	emit(ev, &lf, transport_field[p->transport], fmt, ap);
	va_end(ap);
}
