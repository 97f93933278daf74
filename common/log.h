/* SPDX-License-Identifier: ISC */
/*
 * Structured events.  Each kind of event has a stable MESSAGE_ID (for
 * journalctl MESSAGE_ID=… and the catalog in units/switchboard.catalog)
 * and a name that goes into SWITCHBOARD_EVENT=.  Fields:
 *   SWITCHBOARD_EVENT, SWITCHBOARD_NICK, SWITCHBOARD_ROOM,
 *   SWITCHBOARD_REMOTE, SWITCHBOARD_TRANSPORT, SWITCHBOARD_SESSION,
 *   SWITCHBOARD_REASON, SWITCHBOARD_TEXT (transcript mode only).
 * Client-supplied strings are escaped with strnvis(3) before they go to
 * the journal, so they can neither break a line nor forge a field.  The
 * text form on stderr (sb_log_format()) quotes every value that is not a
 * plain word, so that the line parses back (sb_log_parse()) to exactly the
 * fields it was made of.
 */
#ifndef SB_LOG_H
#define SB_LOG_H

#include <stdarg.h>
#include <stddef.h>

enum sb_event {
	SB_EV_START, SB_EV_STOP, SB_EV_RELOAD, SB_EV_CONNECT, SB_EV_DISCONNECT,
	SB_EV_POLICY, SB_EV_HTTP, SB_EV_STATUS, SB_EV_LOGIN, SB_EV_LOGIN_FAILED,
	SB_EV_MESSAGE, SB_EV_JOIN, SB_EV_PART, SB_EV_NICK, SB_EV_QUIT,
	SB_EV_PROTOCOL_ERROR, SB_EV_FLOOD, SB_EV_KICK, SB_EV_ANNOUNCE,
	SB_EV_SLOW_READER, SB_EV_HUB_ERROR, SB_EV_BAN, SB_EV_UNBAN,
	SB_EV_BANNED, SB_EV_LOGIN_THROTTLED, SB_EV_CLUSTER,
	SB_EV_COUNT
};

struct sb_event_info {
	const char	*name;		/* SWITCHBOARD_EVENT value */
	const char	*message_id;	/* 32 hex digits */
	int		 priority;	/* syslog priority */
};

/* The fields of one event; NULL members are left out. */
struct sb_log_fields {
	const char	*nick;
	const char	*room;
	const char	*remote;
	const char	*transport;
	unsigned long long session;	/* 0: left out */
	const char	*reason;
	const char	*text;
};

/* One field of an event's text form: KEY=value. */
struct sb_log_kv {
	const char	*key;		/* [A-Z_]+, without SWITCHBOARD_ */
	const char	*value;
};

/* sb_log_parse()'s result for a line that sb_log_format() does not write. */
enum { SB_LOG_BAD_LINE = -1 };

/* Where sb_log() writes (sb_log_init()). */
enum sb_log_to {
	SB_LOG_STDERR,		/* "ident: line" */
	SB_LOG_JOURNAL_STREAM,	/* stderr is journald's stream: "<N>line" */
	SB_LOG_SYSLOG,		/* syslog(3): a datagram to /dev/log */
};

/* log.c */
const struct sb_event_info *sb_event_info(enum sb_event);
int	 sb_event_from_name(const char *);
size_t	 sb_log_escape(char *, size_t, const char *);
size_t	 sb_log_format(char *, size_t, const struct sb_log_kv *, size_t);
int	 sb_log_parse(const char *, struct sb_log_kv *, size_t, char *,
	    size_t);
void	 sb_log_init(const char *, enum sb_log_to);
void	 sb_log_event(enum sb_event, const struct sb_log_fields *,
	    const char *, ...) __attribute__((format(printf, 3, 4)));
void	 sb_log(int, const char *, ...) __attribute__((format(printf, 2, 3)));

#endif /* SB_LOG_H */
