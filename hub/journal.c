/* SPDX-License-Identifier: ISC */
/*
 * Structured events to journald, one entry per event, or the same fields
 * as one line on stderr where no journal is reachable (a hub started by
 * hand), in a text form that parses back to exactly those fields.
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

/*
 * The stderr line of an event holds every field whole: the longest text
 * and message with each byte escaped (\ooo), and the short fields.
 */
#define MSG_MAX		1024		/* the formatted message */
#define LINE_MAX_BYTES	(4 * (SB_TEXT_MAX + MSG_MAX + SB_REASON_MAX + \
			    SB_NICK_MAX + SB_ROOM_MAX + SB_REMOTE_MAX) + 256)

/* The fields of an event, in the order the text form lists them. */
enum { KV_EVENT, KV_NICK, KV_ROOM, KV_REMOTE, KV_TRANSPORT, KV_SESSION,
    KV_REASON, KV_TEXT, KV_MESSAGE, KV_COUNT };

/* Client-supplied fields, escaped on their way to the journal. */
static const int kv_escape[KV_COUNT] = {
	[KV_NICK] = 1, [KV_ROOM] = 1, [KV_REMOTE] = 1, [KV_REASON] = 1,
	[KV_TEXT] = 1,
};

/*
 * The fields of event `ev` into kv[KV_COUNT] (a NULL value: left out);
 * `sess` holds the session id's digits.  The message is the caller's.
 */
static void
log_fields(struct sb_log_kv kv[KV_COUNT], char sess[24], enum sb_event ev,
    const struct sb_log_fields *lf, const char *transport, const char *msg)
{
	static const char *const keys[KV_COUNT] = { "EVENT", "NICK", "ROOM",
	    "REMOTE", "TRANSPORT", "SESSION", "REASON", "TEXT", "MESSAGE" };
	int i;

	for (i = 0; i < KV_COUNT; i++)
		kv[i] = (struct sb_log_kv){ keys[i], NULL };
	kv[KV_EVENT].value = sb_event_info(ev)->name;
	kv[KV_MESSAGE].value = msg;
	if (lf == NULL)
		return;
	kv[KV_NICK].value = lf->nick;
	kv[KV_ROOM].value = lf->room;
	kv[KV_REMOTE].value = lf->remote;
	kv[KV_TRANSPORT].value = lf->transport ? lf->transport : transport;
	if (lf->session != 0) {
		snprintf(sess, 24, "%llu", lf->session);
		kv[KV_SESSION].value = sess;
	}
	kv[KV_REASON].value = lf->reason;
	kv[KV_TEXT].value = lf->text;
}

/*
 * The text form of an event, the line the hub writes on stderr without
 * its "switchboard-hub: " prefix: KEY=value fields as sb_log_format()
 * writes them, every value that is not a plain word quoted and escaped,
 * the message last as MESSAGE.  It parses back (sb_log_parse()) to exactly
 * these fields.  Pure; returns strlen(dst).
 */
size_t
hub_log_line(char *dst, size_t dstsz, enum sb_event ev,
    const struct sb_log_fields *lf, const char *transport, const char *msg)
{
	struct sb_log_kv kv[KV_COUNT];
	char sess[24];

	assert(dst != NULL && msg != NULL);
	log_fields(kv, sess, ev, lf, transport, msg);
	return sb_log_format(dst, dstsz, kv, KV_COUNT);
}

struct fieldbuf {
	struct iovec	iov[16];
	char		buf[16][FIELD_MAX];
	int		n;
};

/*
 * Add the journal field `prefix``name`=value, escaped if `escape` is set.
 * Written with memcpy: two events per connection went through a dozen
 * snprintf() calls each, three quarters of the hub's time per connection.
 */
static void
add(struct fieldbuf *f, const char *prefix, const char *name,
    const char *value, int escape)
{
	size_t pl = strlen(prefix), nl = strlen(name), vl;
	char *b;

	if (value == NULL || f->n == 16)
		return;
	b = f->buf[f->n];
	memcpy(b, prefix, pl);
	memcpy(b + pl, name, nl);
	nl += pl;
	b[nl++] = '=';
	if (escape)
		vl = sb_log_escape(b + nl, FIELD_MAX - nl, value);
	else {
		vl = strnlen(value, FIELD_MAX - nl - 1);
		memcpy(b + nl, value, vl);
	}
	f->iov[f->n] = (struct iovec){ b, nl + vl };
	f->n++;
}

/* Send the event to the journal; 0, or a negative errno. */
static int
emit_journal(enum sb_event ev, const struct sb_log_kv kv[KV_COUNT],
    const struct sb_log_fields *lf)
{
	const struct sb_event_info *info = sb_event_info(ev);
	struct fieldbuf f;
	char emsg[FIELD_MAX], prio[4];
	int i;

	f.n = 0;
	for (i = 0; i < KV_MESSAGE; i++)
		add(&f, "SWITCHBOARD_", kv[i].key, kv[i].value, kv_escape[i]);
	sb_log_escape(emsg, sizeof(emsg), kv[KV_MESSAGE].value);
	/* The transcript reads as "nick: text" with -o cat. */
	if (ev == SB_EV_MESSAGE && lf != NULL && lf->text != NULL) {
		char t[FIELD_MAX];

		sb_log_escape(t, sizeof(t), lf->text);
		snprintf(emsg, sizeof(emsg), "%s: %s",
		    lf->nick ? lf->nick : "?", t);
	}
	add(&f, "", "MESSAGE", emsg, 0);
	add(&f, "", "MESSAGE_ID", info->message_id, 0);
	snprintf(prio, sizeof(prio), "%d", info->priority);
	add(&f, "", "PRIORITY", prio, 0);
	add(&f, "", "SYSLOG_IDENTIFIER", "switchboard-hub", 0);
	return sd_journal_sendv(f.iov, f.n);
}

/*
 * Write event `ev` once: to the journal when it is in use and takes the
 * entry, else as one logfmt line on stderr.
 */
static void
emit(enum sb_event ev, const struct sb_log_fields *lf, const char *transport,
    const char *fmt, va_list ap)
{
	struct sb_log_kv kv[KV_COUNT];
	char msg[MSG_MAX], sess[24], line[LINE_MAX_BYTES];

	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (use_journal) {
		log_fields(kv, sess, ev, lf, transport, msg);
		if (emit_journal(ev, kv, lf) >= 0)
			return;
	}
	hub_log_line(line, sizeof(line), ev, lf, transport, msg);
	fprintf(stderr, "switchboard-hub: %s\n", line);
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
	emit(ev, &lf, sb_transport_name(p->transport), fmt, ap);
	va_end(ap);
}
