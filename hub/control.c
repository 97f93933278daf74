/* SPDX-License-Identifier: ISC */
/*
 * The control socket: switchboardctl's way into a running hub.
 *
 * A listening AF_UNIX SOCK_SEQPACKET socket (systemd's fd named
 * "control", or bound with -C PATH).  Only root, the hub's own user and
 * members of admin_group (primary or supplementary group, by SO_PEERCRED
 * and getgrouplist(3)) may use it, but for the verbs that show what
 * /metrics shows (metrics, top without room names), which answer anyone
 * the socket's file lets in: a monitoring user, say.  One request per
 * connection:
 *
 *	request:  one datagram of NUL-separated words, verb first
 *	          ("kick\0alice\0flooding\0"), at most CONTROL_REQUEST_MAX bytes
 *	replies:  one or more datagrams, each one JSON object of at most
 *	          CONTROL_REPLY_MAX bytes; the last has "done": true; lists
 *	          ("who", "rooms") come as arrays under their name, split over
 *	          datagrams, to be concatenated; a failure is
 *	          {"done": true, "error": "..."}
 *
 * then the hub closes.  Everything runs in the hub's sd-event loop and
 * never blocks it: replies are built at once (a snapshot), queued up to
 * CONTROL_QUEUE_MAX bytes and written as the socket takes them; a client
 * that has not finished within CONTROL_TIMEOUT_USEC is dropped.  The
 * verbs and their replies are documented in docs/admin.md.
 *
 * This file acts on the hub's rules (kicks, bans, announcements) but
 * never calls the daemon around them: reload reaches the daemon through
 * the callback given to control_listen() (server.c's), so server.c and
 * control.c do not call each other in a circle.
 */
#include <assert.h>
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <syslog.h>
#include <unistd.h>

#include <bsd/stdlib.h>
#include <bsd/string.h>
#include <jansson.h>
#include <systemd/sd-event.h>

#include "buf.h"
#include "control.h"
#include "hub.h"
#define CONTROL_QUEUE_MAX	(4 * 1024 * 1024)	/* replies of one request */
#define CONTROL_CONN_MAX	16	/* connections at once */
#define CONTROL_TIMEOUT_USEC	(10 * 1000000ULL)	/* whole exchange */
#define CONTROL_GROUPS_MAX	65536	/* supplementary groups looked at */
#define CONTROL_REASON_MAX	(SB_REASON_MAX - 32)	/* room for "Kicked: " */

struct ctl_dgram {
	TAILQ_ENTRY(ctl_dgram)	 entry;
	size_t			 len;
	char			 buf[];
};

struct ctl_conn {
	int			 fd;
	sd_event_source		*io;
	sd_event_source		*timer;
	uid_t			 uid;		/* from SO_PEERCRED */
	gid_t			 gid;
	pid_t			 pid;
	int			 admin;		/* root, ours, admin_group */
	int			 answered;	/* request read, replies queued */
	size_t			 queued;	/* bytes in outq */
	TAILQ_HEAD(, ctl_dgram)	 outq;
	TAILQ_ENTRY(ctl_conn)	 entry;
};

/*
 * One control socket per hub.  Static, so that what is open when the
 * hub exits stays reachable (no leak reports under LeakSanitizer).
 */
static struct control {
	struct hub		*hub;
	control_reload_fn	*reload;	/* the daemon's reload */
	sd_event		*event;
	sd_event_source		*listen;
	unsigned		 nconns;
	TAILQ_HEAD(, ctl_conn)	 conns;
} ctl;

static void	conn_close(struct ctl_conn *);
static void	conn_want(struct ctl_conn *);

/* --- who may connect ----------------------------------------------------- */

/* The admin group's id from its name or number; 0 when it has none. */
static int
admin_gid(const struct hub *h, gid_t *gid)
{
	const struct group *gr;
	const char *e;
	long long v;

	if (h->cfg.admin_group[0] == '\0')
		return 0;
	v = strtonum(h->cfg.admin_group, 0, INT32_MAX, &e);
	if (e == NULL) {
		*gid = (gid_t)v;
		return 1;
	}
	if ((gr = getgrnam(h->cfg.admin_group)) == NULL)
		return 0;
	*gid = gr->gr_gid;
	return 1;
}

/* Is `gid` one of the groups of the user `uid` (primary or not)? */
static int
user_in_group(uid_t uid, gid_t gid)
{
	const struct passwd *pw;
	gid_t *groups;
	int n = 64, i, found = 0;

	if ((pw = getpwuid(uid)) == NULL)
		return 0;
	if (pw->pw_gid == gid)
		return 1;
	for (;;) {
		int want = n;

		if ((groups = reallocarray(NULL, (size_t)n,
		    sizeof(*groups))) == NULL)
			return 0;
		if (getgrouplist(pw->pw_name, pw->pw_gid, groups, &n) >= 0)
			break;
		free(groups);
		if (n <= want || n > CONTROL_GROUPS_MAX)
			return 0;
	}
	for (i = 0; i < n && !found; i++)
		found = groups[i] == gid;
	free(groups);
	return found;
}

/*
 * Root, the hub's own user, and the admin group (the peer's gid, or the
 * groups of its user) may use the control socket.
 */
static int
peer_allowed(const struct hub *h, const struct ucred *cr)
{
	gid_t gid;

	if (cr->uid == 0 || cr->uid == geteuid())
		return 1;
	if (!admin_gid(h, &gid))
		return 0;
	return cr->gid == gid || user_in_group(cr->uid, gid);
}

/* --- replies ------------------------------------------------------------- */

/* A JSON string of `s`, or of "?" if s is not valid UTF-8. */
static json_t *
jstr(const char *s)
{
	json_t *j = json_string(s);

	return j != NULL ? j : json_string("?");
}

/*
 * Queue `obj` (taken) as one reply datagram.  Returns 0, -E2BIG when it
 * is larger than CONTROL_REPLY_MAX, -ENOBUFS when the connection has
 * CONTROL_QUEUE_MAX queued, or -ENOMEM.
 */
static int
reply_add(struct ctl_conn *c, json_t *obj)
{
	struct ctl_dgram *d;
	char *s;
	size_t len;

	if (obj == NULL)
		return -ENOMEM;
	s = json_dumps(obj, JSON_COMPACT);
	json_decref(obj);
	if (s == NULL)
		return -ENOMEM;
	len = strlen(s);
	if (len > CONTROL_REPLY_MAX) {
		free(s);
		return -E2BIG;
	}
	if (c->queued + len > CONTROL_QUEUE_MAX) {
		free(s);
		return -ENOBUFS;
	}
	if ((d = malloc(sizeof(*d) + len)) == NULL) {
		free(s);
		return -ENOMEM;
	}
	d->len = len;
	memcpy(d->buf, s, len);
	free(s);
	TAILQ_INSERT_TAIL(&c->outq, d, entry);
	c->queued += len;
	return 0;
}

/* Queue `obj` (taken) with "done": true, the last datagram. */
static int
reply_done(struct ctl_conn *c, json_t *obj)
{
	if (obj == NULL)
		obj = json_object();
	if (obj != NULL)
		json_object_set_new(obj, "done", json_true());
	return reply_add(c, obj);
}

static int
reply_verror(struct ctl_conn *c, const char *fmt, va_list ap)
{
	char text[SB_REASON_MAX * 2];

	vsnprintf(text, sizeof(text), fmt, ap);
	return reply_done(c, json_pack("{s:o}", "error", jstr(text)));
}

/*
 * Queue {"done": true, "error": TEXT} (printf-style).  Returns as
 * reply_add.
 */
static int __attribute__((format(printf, 2, 3)))
reply_error(struct ctl_conn *c, const char *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = reply_verror(c, fmt, ap);
	va_end(ap);
	return r;
}

/*
 * reply_error(), for helpers whose caller must stop: returns -EINVAL
 * (the request is refused; the reply says why).
 */
static int __attribute__((format(printf, 2, 3)))
reply_fail(struct ctl_conn *c, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	reply_verror(c, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

/*
 * A list reply split into datagrams: items are gathered under `key`
 * until the next would make the datagram too big.  When the queue
 * limit is reached the rest is left out and the last datagram says
 * "truncated": true.
 */
struct lister {
	struct ctl_conn	*c;
	const char	*key;
	json_t		*arr;
	size_t		 bytes;		/* in arr, roughly */
	size_t		 count;
	int		 truncated;
};

/*
 * Queue the items gathered so far as one datagram and start a new
 * array.  Returns 0 or a negative errno (the list is then truncated).
 */
static int
lister_flush(struct lister *l)
{
	json_t *chunk = json_object();
	int r;

	if (chunk == NULL)
		return -ENOMEM;
	json_object_set_new(chunk, l->key, l->arr);
	l->arr = json_array();
	l->bytes = 0;
	r = reply_add(l->c, chunk);
	return l->arr == NULL ? -ENOMEM : r;
}

/*
 * Add `item` (taken) to the list, flushing a full datagram first; left
 * out (and the list marked truncated) past CONTROL_QUEUE_MAX.
 */
static void
lister_add(struct lister *l, json_t *item)
{
	char *s;
	size_t len;

	if (item == NULL || l->truncated || l->arr == NULL) {
		json_decref(item);
		return;
	}
	if ((s = json_dumps(item, JSON_COMPACT | JSON_ENCODE_ANY)) == NULL) {
		json_decref(item);
		return;
	}
	len = strlen(s) + 1;
	free(s);
	if (l->bytes + len + 128 > CONTROL_REPLY_MAX &&
	    json_array_size(l->arr) > 0 && lister_flush(l) < 0)
		l->truncated = 1;
	if (l->arr == NULL || l->c->queued + l->bytes + len + 256 >
	    CONTROL_QUEUE_MAX) {
		l->truncated = 1;
		json_decref(item);
		return;
	}
	json_array_append_new(l->arr, item);
	l->bytes += len;
	l->count++;
}

/*
 * Queue the last datagram: the remaining items, "count", "truncated"
 * when items were left out, and "done".  Returns as reply_add.
 */
static int
lister_finish(struct lister *l)
{
	json_t *last = json_object();

	if (last == NULL || l->arr == NULL) {
		json_decref(last);
		json_decref(l->arr);
		return reply_error(l->c, "out of memory");
	}
	json_object_set_new(last, l->key, l->arr);
	json_object_set_new(last, "count", json_integer((json_int_t)l->count));
	if (l->truncated)
		json_object_set_new(last, "truncated", json_true());
	return reply_done(l->c, last);
}

/* --- verbs --------------------------------------------------------------- */

/* What an operator sends goes to every client: plain text only. */
static int
text_ok(const char *s)
{
	return text_plain(s, strlen(s));
}

/* status: the counters of the hub. */
static int
verb_status(struct ctl_conn *c, struct hub *h, const char **arg, size_t n)
{
	time_t now = time(NULL);

	json_t *o = json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I}",
	    "clients", (json_int_t)h->clients,
	    "peak", (json_int_t)h->peak,
	    "max", (json_int_t)h->cfg.max_clients,
	    "created", (json_int_t)h->created,
	    "uptime", (json_int_t)(now > h->created ? now - h->created : 0),
	    "epoch", (json_int_t)h->epoch,
	    "rooms", (json_int_t)h->nrooms);

	if (o != NULL && h->node[0] != '\0') {	/* a cluster */
		json_object_set_new(o, "node", jstr(h->node));
		json_object_set_new(o, "cluster_users",
		    json_integer((json_int_t)(h->named + h->rnamed)));
	}
	return reply_done(c, o);
}

/* who in a cluster: the identified users of the other machines too. */
static void
who_remote(struct lister *l, struct hub *h)
{
	struct ruser *u;
	unsigned i;

	RB_FOREACH(u, rusers_by_id, &h->rusers) {
		json_t *rooms = json_array();

		if (rooms == NULL)
			continue;
		for (i = 0; i < u->nrooms; i++)
			json_array_append_new(rooms, jstr(u->rooms[i]));
		lister_add(l, json_pack("{s:o, s:I, s:s, s:n, s:I, s:o, s:o}",
		    "nick", jstr(u->nick), "session", (json_int_t)u->session,
		    "transport", "cluster", "remote", "pid", (json_int_t)0,
		    "rooms", rooms, "node", jstr(u->node)));
	}
}

/* who: every chat session that is not being closed, in session order. */
static int
verb_who(struct ctl_conn *c, struct hub *h, const char **arg, size_t n)
{
	struct lister l = { .c = c, .key = "who", .arr = json_array() };
	struct membership *m;
	struct peer *p;

	RB_FOREACH(p, peer_sessions, &h->sessions) {
		json_t *rooms, *item;

		if (!p->chat || p->dead)
			continue;
		if ((rooms = json_array()) == NULL)
			continue;
		TAILQ_FOREACH(m, &p->rooms, in_peer)
			json_array_append_new(rooms, jstr(m->room->name));
		item = json_pack("{s:o, s:I, s:s, s:o, s:I, s:o}",
		    "nick", p->nick[0] ? jstr(p->nick) : json_null(),
		    "session", (json_int_t)p->session,
		    "transport", sb_transport_name(p->transport),
		    "remote", jstr(p->remote),
		    "pid", (json_int_t)p->pid,
		    "rooms", rooms);
		if (item != NULL && h->node[0] != '\0')
			json_object_set_new(item, "node", jstr(h->node));
		lister_add(&l, item);
	}
	who_remote(&l, h);
	return lister_finish(&l);
}

static void
rooms_row(void *arg, const char *name, unsigned members, int permanent)
{
	lister_add(arg, json_pack("{s:o, s:I, s:b}", "name", jstr(name),
	    "members", (json_int_t)members, "permanent", permanent));
}

/* rooms: every room (in a cluster, of every machine), in key order. */
static int
verb_rooms(struct ctl_conn *c, struct hub *h, const char **arg, size_t n)
{
	struct lister l = { .c = c, .key = "rooms", .arr = json_array() };

	if (rooms_each(h, rooms_row, &l) < 0) {
		json_decref(l.arr);
		return reply_error(c, "rooms: out of memory");
	}
	return lister_finish(&l);
}

/*
 * Check an operator's reason (at most `max` bytes of text).  Returns 0,
 * or -EINVAL with the error reply queued.
 */
static int
reason_ok(struct ctl_conn *c, const char *verb, const char *reason,
    size_t max)
{
	if (strlen(reason) > max)
		return reply_fail(c, "%s: the reason is longer than %zu bytes",
		    verb, max);
	if (!text_ok(reason))
		return reply_fail(c, "%s: the reason is not UTF-8 text "
		    "without control characters", verb);
	return 0;
}

/*
 * Add ban `b` (replacing one on the same target), save the list, log it
 * and end the sessions it covers.  *saved says whether bans.json was
 * written; a ban that could not be saved still holds until a restart.
 * Returns the number of sessions ended, or a negative errno with an
 * error queued.
 */
static int
ban_apply(struct ctl_conn *c, struct hub *h, const struct ban *b,
    int *saved, char *warn, size_t warnsz)
{
	char until[64];
	int r;

	bans_expire(&h->bans, time(NULL));
	if ((r = bans_add(&h->bans, b)) < 0)
		return reply_fail(c, "ban: %s", r == -ENOSPC ?
		    "the ban list is full; lift some bans first" :
		    strerror(-r));
	*saved = bans_save(&h->bans, h->bans_path, warn, warnsz) == 0;
	if (!*saved)
		sb_log(LOG_ERR, "bans: not saved, in force until the hub "
		    "restarts: %s", warn);
	ban_until_str(b, until, sizeof(until));
	sb_log_event(SB_EV_BAN, &(struct sb_log_fields){
	    .nick = b->kind == BAN_NICK ? b->target : NULL,
	    .remote = b->kind == BAN_ADDRESS ? b->target : NULL,
	    .reason = b->reason }, "%s %s banned by the operator (uid %ld) "
	    "%s%s%s", b->kind == BAN_NICK ? "nick" : "address", b->target,
	    (long)c->uid, until, b->reason[0] ? ": " : "", b->reason);
	if (h->ops->ban_share != NULL)	/* every machine's, in a cluster */
		h->ops->ban_share(h, b, 1);
	return (int)hub_ban_enforce(h, b);
}

/* The reply to ban and kick --ban: what is banned, until when. */
static json_t *
ban_json(const struct ban *b)
{
	return json_pack("{s:s, s:s, s:I, s:o, s:s}",
	    "kind", b->kind == BAN_NICK ? "nick" : "address",
	    "target", b->target, "since", (json_int_t)b->since,
	    "until", b->until ? json_integer((json_int_t)b->until) :
	    json_null(), "reason", b->reason);
}

/* kick --ban's reply: the ban, whether it was saved. */
static void
kick_ban_json(json_t *reply, const struct ban *b, int saved,
    const char *warn)
{
	json_object_set_new(reply, "ban", ban_json(b));
	json_object_set_new(reply, "saved", json_boolean(saved));
	if (!saved)
		json_object_set_new(reply, "warning", jstr(warn));
}

/*
 * Fill in `b` for `target` banned from now for `duration` ("" or
 * "forever": no end).  Returns 0, or -EINVAL with the error reply queued.
 */
static int
ban_make(struct ctl_conn *c, const char *verb, struct ban *b,
    const char *target, const char *duration, const char *reason)
{
	char err[256];
	long long secs;
	int r;

	if (strlen(target) > BAN_TARGET_MAX || !text_ok(target))
		return reply_fail(c, "%s: not an address, and not a nick",
		    verb);
	if (ban_target_parse(b, target, err, sizeof(err)) < 0)
		return reply_fail(c, "%s: %s", verb, err);
	if (ban_duration_parse(duration[0] ? duration : "forever", &secs) < 0)
		return reply_fail(c, "%s: bad duration; give a number and a "
		    "unit, s, m, h, d or w (90s, 10m, 2h, 7d), or forever", verb);
	if ((r = reason_ok(c, verb, reason, BAN_REASON_MAX)) < 0)
		return r;
	b->since = time(NULL);
	b->until = secs ? b->since + (time_t)secs : 0;
	strlcpy(b->reason, reason, sizeof(b->reason));
	b->shared[0] = '\0';	/* given here: not in the cluster's list yet */
	return 0;
}

/*
 * kick of a user of another machine (docs/cluster.md): sent through its
 * node's inbox; with BAN, the ban is made here as for a local user.
 */
static int
kick_remote(struct ctl_conn *c, struct hub *h, const char **arg, size_t n,
    const char *reason)
{
	const struct ruser *u = remote_find_nick(h, arg[0]);
	char told[SB_REASON_MAX + 1] = "", warn[512] = "";
	int banned = n > 2 && arg[2][0] != '\0', saved = 1, r;
	struct ban b;
	json_t *reply;

	if (u == NULL || h->ops->remote_kick == NULL)
		return reply_error(c, "no such nick: %s", arg[0]);
	if (banned && (r = ban_make(c, "kick", &b, u->nick, arg[2], reason)) < 0)
		return r;
	if (banned)
		ban_describe(&b, told, sizeof(told));
	if ((r = h->ops->remote_kick(h, u, banned ? "ban" : "kick", banned ?
	    told : reason)) < 0)
		return reply_error(c, "kick: %s is on node %s, which cannot be "
		    "reached now (%s)", u->nick, u->node, r == -ENOBUFS ?
		    "Redis is away and the outbox is full" : strerror(-r));
	sb_log_event(SB_EV_KICK, &(struct sb_log_fields){ .nick = u->nick,
	    .reason = reason }, "%s (node %s) kicked by the operator (uid %ld): "
	    "%s", u->nick, u->node, (long)c->uid, reason);
	reply = json_pack("{s:s, s:I, s:s, s:s}", "kicked", u->nick,
	    "session", (json_int_t)u->session, "node", u->node, "reason",
	    reason);
	if (banned && (r = ban_apply(c, h, &b, &saved, warn, sizeof(warn))) < 0) {
		json_decref(reply);
		return r;
	}
	if (banned)
		kick_ban_json(reply, &b, saved, warn);
	return reply_done(c, reply);
}

/*
 * kick NICK [REASON [BAN]]: close the session with a reason, tell the
 * others at once (quit notices), log SB_EV_KICK.  With BAN (a duration)
 * the nick is banned for that long too, and the client is told so.
 */
static int
verb_kick(struct ctl_conn *c, struct hub *h, const char **arg, size_t n)
{
	const char *reason = n > 1 && arg[1][0] != '\0' ? arg[1] :
	    "Kicked by the operator";
	char nick[SB_NICK_MAX + 1], quit[SB_REASON_MAX + 1];
	char told[SB_REASON_MAX + 1], warn[512] = "";
	unsigned long long session;
	struct ban b;
	struct peer *p;
	int banned = n > 2 && arg[2][0] != '\0', saved = 1, r;
	json_t *reply;

	if ((r = reason_ok(c, "kick", reason, banned ? BAN_REASON_MAX :
	    CONTROL_REASON_MAX)) < 0)
		return r;
	if (strlen(arg[0]) > SB_NICK_MAX || !text_ok(arg[0]))
		return reply_error(c, "no such nick");	/* not echoed */
	if ((p = hub_find_nick(h, arg[0])) == NULL || p->dead)
		return kick_remote(c, h, arg, n, reason);
	if (strlcpy(nick, p->nick, sizeof(nick)) >= sizeof(nick))
		return reply_error(c, "nick too long");
	if (banned && (r = ban_make(c, "kick", &b, nick, arg[2], reason)) < 0)
		return r;
	session = (unsigned long long)p->session;
	snprintf(quit, sizeof(quit), "Kicked: %s", reason);
	hub_log_peer(SB_EV_KICK, p, &(struct sb_log_fields){ .reason = reason },
	    "%s kicked by the operator (uid %ld): %s", nick, (long)c->uid,
	    reason);
	if (banned)
		ban_describe(&b, told, sizeof(told));
	hub_peer_kill(h, p, banned ? "banned" : "kicked", banned ? told :
	    reason);
	/* The quit notices go out now; server.c frees the peer after
	 * this turn (hub_reap). */
	hub_peer_gone(h, p, quit);
	if (banned && (r = ban_apply(c, h, &b, &saved, warn, sizeof(warn))) < 0)
		return r;
	reply = json_pack("{s:o, s:I, s:o}", "kicked", jstr(nick),
	    "session", (json_int_t)session, "reason", jstr(reason));
	if (banned)
		kick_ban_json(reply, &b, saved, warn);
	return reply_done(c, reply);
}

/*
 * ban TARGET [DURATION [REASON]]: ban a nick, an address or an address
 * prefix, for DURATION or with no end, and end the sessions it covers.
 */
static int
verb_ban(struct ctl_conn *c, struct hub *h, const char **arg, size_t n)
{
	char warn[512] = "";
	struct ban b;
	int ended, saved = 1, r;
	json_t *reply;

	if ((r = ban_make(c, "ban", &b, arg[0], n > 1 ? arg[1] : "", n > 2 ?
	    arg[2] : "")) < 0)
		return r;
	if ((ended = ban_apply(c, h, &b, &saved, warn, sizeof(warn))) < 0)
		return ended;
	reply = json_pack("{s:o, s:I, s:b}", "ban", ban_json(&b),
	    "disconnected", (json_int_t)ended, "saved", saved);
	if (!saved)
		json_object_set_new(reply, "warning", jstr(warn));
	return reply_done(c, reply);
}

/* unban TARGET: lift a ban (TARGET as given to ban, in any case). */
static int
verb_unban(struct ctl_conn *c, struct hub *h, const char **arg, size_t n)
{
	char err[256], warn[512];
	struct ban q, b;
	int saved;

	if (strlen(arg[0]) > BAN_TARGET_MAX || !text_ok(arg[0]))
		return reply_error(c, "unban: no such ban");
	if (ban_target_parse(&q, arg[0], err, sizeof(err)) < 0)
		return reply_error(c, "unban: %s", err);
	bans_expire(&h->bans, time(NULL));
	if (bans_remove(&h->bans, &q, &b) < 0)
		return reply_error(c, "unban: no ban on %s", q.target);
	saved = bans_save(&h->bans, h->bans_path, warn, sizeof(warn)) == 0;
	if (!saved)
		sb_log(LOG_ERR, "bans: not saved: %s", warn);
	sb_log_event(SB_EV_UNBAN, &(struct sb_log_fields){
	    .nick = b.kind == BAN_NICK ? b.target : NULL,
	    .remote = b.kind == BAN_ADDRESS ? b.target : NULL },
	    "ban on %s lifted by the operator (uid %ld)", b.target,
	    (long)c->uid);
	if (h->ops->ban_share != NULL)
		h->ops->ban_share(h, &b, 0);
	return reply_done(c, json_pack("{s:s, s:b}", "unbanned", b.target,
	    "saved", saved));
}

/* bans: every ban in force, oldest first. */
static int
verb_bans(struct ctl_conn *c, struct hub *h, const char **arg, size_t n)
{
	struct lister l = { .c = c, .key = "bans", .arr = json_array() };
	size_t i, k, order[BANS_MAX];

	bans_expire(&h->bans, time(NULL));
	for (i = 0; i < h->bans.n; i++) {	/* insertion sort by since */
		for (k = i; k > 0 && h->bans.v[order[k - 1]].since >
		    h->bans.v[i].since; k--)
			order[k] = order[k - 1];
		order[k] = i;
	}
	for (i = 0; i < h->bans.n; i++)
		lister_add(&l, ban_json(&h->bans.v[order[i]]));
	return lister_finish(&l);
}

/* announce TEXT: to every identified session (hub_announce logs it). */
static int
verb_announce(struct ctl_conn *c, struct hub *h, const char **arg, size_t n)
{
	struct peer *p;
	json_int_t count = 0;

	if (arg[0][0] == '\0')
		return reply_error(c, "announce: the text is empty");
	if (strlen(arg[0]) > SB_TEXT_MAX)
		return reply_error(c, "announce: the text is longer than %d "
		    "bytes", SB_TEXT_MAX);
	if (!text_ok(arg[0]))
		return reply_error(c, "announce: the text is not UTF-8 "
		    "without control characters");
	RB_FOREACH(p, peer_nicks, &h->nicks)
		if (!p->dead)
			count++;
	hub_announce(h, arg[0]);
	return reply_done(c, json_pack("{s:b, s:I}", "announced", 1,
	    "recipients", count));
}

/*
 * metrics: the metrics text of /metrics (metrics_render), as an array
 * of strings under "metrics" to be joined, cut after lines.
 */
static int
verb_metrics(struct ctl_conn *c, struct hub *h, const char **arg, size_t n)
{
	struct lister l = { .c = c, .key = "metrics", .arr = json_array() };
	char piece[CONTROL_REPLY_MAX / 4 + 1];
	const char *text;
	struct buf b;
	size_t len, k;

	buf_init(&b, METRICS_TEXT_MAX);
	if (hub_metrics_text(h, hub_cmd_table(), &b) < 0) {
		buf_free(&b);
		json_decref(l.arr);
		return reply_error(c, "metrics: out of memory");
	}
	text = (const char *)buf_head(&b);
	for (len = b.len; len > 0; text += k, len -= k) {
		k = metrics_chunk(text, len, sizeof(piece) - 1);
		memcpy(piece, text, k);
		piece[k] = '\0';
		lister_add(&l, json_string(piece));
	}
	buf_free(&b);
	return lister_finish(&l);
}

#define TOP_ROOMS	10	/* the busiest rooms top shows */

/* The busiest rooms for top: name, members, messages, per second. */
static json_t *
top_rooms(struct hub *h, double *window)
{
	struct room *busy[TOP_ROOMS];
	json_t *arr = json_array();
	size_t i, k;

	k = rooms_busiest(h, h->ops->now_usec(h), busy, TOP_ROOMS, window);
	for (i = 0; i < k && arr != NULL; i++)
		json_array_append_new(arr, json_pack("{s:o, s:I, s:I}",
		    "name", jstr(busy[i]->name),
		    "members", (json_int_t)busy[i]->nmembers,
		    "messages", (json_int_t)busy[i]->recent));
	return arr;
}

/*
 * top: the numbers switchboardctl top shows, totals (it works out the
 * rates from two answers), and the busiest rooms with their messages in
 * the last "window" seconds, for the admin group only: room names are
 * not for anyone who may read the metrics.
 */
static int
verb_top(struct ctl_conn *c, struct hub *h, const char **arg, size_t n)
{
	const struct hub_metrics *mt = &h->metrics;
	struct metrics_proc ps = { 0 };
	uint64_t routed = 0, errors = 0;
	double window = 0;
	json_t *o;
	size_t i;

	for (i = 0; i < METRICS_KIND_COUNT; i++)
		routed += mt->routed[i];
	for (i = 0; i < METRICS_ERRORS; i++)
		errors += mt->errors[i];
	if (h->ops->proc_stats != NULL)
		h->ops->proc_stats(h, &ps);
	o = json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:f, s:I, s:I}",
	    "clients", (json_int_t)h->clients,
	    "max", (json_int_t)h->cfg.max_clients,
	    "users", (json_int_t)h->named,
	    "rooms", (json_int_t)h->nrooms,
	    "messages", (json_int_t)routed,
	    "deliveries", (json_int_t)mt->deliveries,
	    "errors", (json_int_t)errors,
	    "cpu_seconds", ps.cpu_seconds,
	    "resident_bytes", (json_int_t)ps.resident_bytes,
	    "uptime", (json_int_t)(time(NULL) - h->created));
	if (o != NULL && c->admin) {
		json_object_set_new(o, "busiest", top_rooms(h, &window));
		json_object_set_new(o, "window", json_real(window));
	}
	return reply_done(c, o);
}

/*
 * reload: the daemon's reload (the callback of control_listen); its
 * failure is an error reply (the daemon has logged it).
 */
static int
verb_reload(struct ctl_conn *c, struct hub *h, const char **arg, size_t n)
{
	char err[512];

	sb_log(LOG_INFO, "reload asked on the control socket by uid %ld",
	    (long)c->uid);
	if (ctl.reload(h, err, sizeof(err)) < 0)
		return reply_error(c, "reload failed, the old config stays: %s",
		    err);
	return reply_done(c, json_pack("{s:b}", "reloaded", 1));
}

/*
 * The verbs, one row each: the name, how many arguments it takes, its
 * usage line, whether it is open to anyone the socket lets in (else only
 * to the admin group: peer_allowed), and the function that queues its
 * replies.  A verb returns 0, or a negative errno, its error reply
 * queued when it could be (when nothing is queued, control_run()
 * answers "reply too large").
 */
static const struct verb {
	const char	*name;
	size_t		 min, max;	/* arguments after the verb */
	const char	*usage;
	int		 open;		/* for all, not only admins */
	int		(*run)(struct ctl_conn *, struct hub *, const char **,
			    size_t);
} verbs[] = {
	{ "status",	0, 0, "status",		0, verb_status },
	{ "who",	0, 0, "who",		0, verb_who },
	{ "rooms",	0, 0, "rooms",		0, verb_rooms },
	{ "kick",	1, 3, "kick NICK [REASON [BAN-DURATION]]", 0,
	    verb_kick },
	{ "ban",	1, 3, "ban TARGET [DURATION [REASON]]", 0, verb_ban },
	{ "unban",	1, 1, "unban TARGET",	0, verb_unban },
	{ "bans",	0, 0, "bans",		0, verb_bans },
	{ "announce",	1, 1, "announce TEXT",	0, verb_announce },
	{ "reload",	0, 0, "reload",		0, verb_reload },
	{ "metrics",	0, 0, "metrics",	1, verb_metrics },
	{ "top",	0, 0, "top",		1, verb_top },
};

#define VERBS_KNOWN	"status who rooms kick ban unban bans announce " \
			"reload metrics top"

/*
 * A verb for the admin group only, from someone else: log it (as the
 * operator wants to know) and answer "permission denied".
 */
static void
refuse_verb(struct ctl_conn *c, const struct verb *v)
{
	struct hub *h = ctl.hub;

	sb_log_event(SB_EV_HUB_ERROR, &(struct sb_log_fields){
	    .reason = "control peer not allowed" }, "refused control "
	    "request %s from uid %ld gid %ld pid %ld (not root, not in "
	    "group %s)", v->name, (long)c->uid, (long)c->gid, (long)c->pid,
	    h->cfg.admin_group);
	reply_error(c, "permission denied: uid %ld is not root and not in "
	    "the admin group %s", (long)c->uid, h->cfg.admin_group);
}

/*
 * Split a request datagram (buf[n] is writable and beyond the data)
 * into words and run its verb.  Every outcome is a queued reply.
 */
static void
control_run(struct ctl_conn *c, char *buf, size_t n)
{
	const char *word[CONTROL_WORDS_MAX];
	size_t nw = 0, i, start = 0;

	buf[n] = '\0';
	for (i = 0; i <= n; i++) {
		if (buf[i] != '\0')
			continue;
		if (i == n && start == n && nw > 0)
			break;	/* the datagram ended with a NUL */
		if (nw == CONTROL_WORDS_MAX) {
			reply_error(c, "too many words in the request");
			return;
		}
		word[nw++] = buf + start;
		start = i + 1;
	}
	if (nw == 0 || word[0][0] == '\0') {
		reply_error(c, "empty request");
		return;
	}
	for (i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++) {
		const struct verb *v = &verbs[i];

		if (strcmp(word[0], v->name) != 0)
			continue;
		if (nw - 1 < v->min) {
			reply_error(c, "%s: missing argument; usage: %s",
			    v->name, v->usage);
			return;
		}
		if (nw - 1 > v->max) {
			reply_error(c, "%s: too many arguments; usage: %s",
			    v->name, v->usage);
			return;
		}
		if (!v->open && !c->admin) {
			refuse_verb(c, v);
			return;
		}
		if (v->run(c, ctl.hub, word + 1, nw - 1) < 0 &&
		    TAILQ_EMPTY(&c->outq))
			reply_error(c, "%s: reply too large", v->name);
		return;
	}
	if (!text_ok(word[0]) || strlen(word[0]) > 32)
		reply_error(c, "unknown verb; known: " VERBS_KNOWN);
	else
		reply_error(c, "unknown verb \"%s\"; known: " VERBS_KNOWN,
		    word[0]);
}

/* --- connections --------------------------------------------------------- */

/* Close a control connection and free it with whatever is queued. */
static void
conn_close(struct ctl_conn *c)
{
	struct ctl_dgram *d;

	TAILQ_REMOVE(&ctl.conns, c, entry);
	ctl.nconns--;
	sd_event_source_disable_unref(c->io);
	sd_event_source_disable_unref(c->timer);
	close(c->fd);
	while ((d = TAILQ_FIRST(&c->outq)) != NULL) {
		TAILQ_REMOVE(&c->outq, d, entry);
		free(d);
	}
	free(c);
}

/* Read while no request has come, write while replies wait. */
static void
conn_want(struct ctl_conn *c)
{
	sd_event_source_set_io_events(c->io, c->answered ? EPOLLOUT : EPOLLIN);
}

/*
 * Send queued datagrams while the socket takes them.  Returns 1 when all
 * is sent, 0 when the socket is full, or a negative errno.
 */
static int
conn_flush(struct ctl_conn *c)
{
	struct ctl_dgram *d;

	while ((d = TAILQ_FIRST(&c->outq)) != NULL) {
		if (send(c->fd, d->buf, d->len, MSG_DONTWAIT |
		    MSG_NOSIGNAL) < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK ||
			    errno == EINTR)
				return 0;
			return -errno;
		}
		TAILQ_REMOVE(&c->outq, d, entry);
		c->queued -= d->len;
		free(d);
	}
	return 1;
}

/*
 * The connection's I/O: read the one request and answer it, then write
 * the replies as the socket takes them and close when all are out.
 */
static int
conn_io(sd_event_source *s, int fd, uint32_t revents, void *arg)
{
	struct ctl_conn *c = arg;
	char buf[CONTROL_REQUEST_MAX + 1];
	ssize_t n;

	if (!c->answered && (revents & EPOLLIN)) {
		n = recv(fd, buf, CONTROL_REQUEST_MAX, MSG_DONTWAIT | MSG_TRUNC);
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return 0;
		if (n <= 0) {
			conn_close(c);
			return 0;
		}
		c->answered = 1;
		if ((size_t)n > CONTROL_REQUEST_MAX)
			reply_error(c, "request longer than %d bytes",
			    CONTROL_REQUEST_MAX);
		else
			control_run(c, buf, (size_t)n);
		if (TAILQ_EMPTY(&c->outq)) {	/* out of memory */
			conn_close(c);
			return 0;
		}
		conn_want(c);
		revents |= EPOLLOUT;
	} else if (!c->answered && (revents & (EPOLLHUP | EPOLLERR))) {
		conn_close(c);
		return 0;
	}
	if (c->answered && (revents & (EPOLLOUT | EPOLLHUP | EPOLLERR))) {
		if (conn_flush(c) != 0)
			conn_close(c);	/* all sent, or the peer is gone */
	}
	return 0;
}

/* A client that takes longer than CONTROL_TIMEOUT_USEC is dropped. */
static int
conn_timeout(sd_event_source *s, uint64_t usec, void *arg)
{
	struct ctl_conn *c = arg;

	sb_log(LOG_NOTICE, "control: client pid %ld too slow; dropped",
	    (long)c->pid);
	conn_close(c);
	return 0;
}

/* Refuse a client with one error datagram, if its socket takes it. */
static void
refuse(int fd, const char *text)
{
	json_t *obj = json_pack("{s:b, s:s}", "done", 1, "error", text);
	char *s = obj != NULL ? json_dumps(obj, JSON_COMPACT) : NULL;

	if (s != NULL)
		(void)send(fd, s, strlen(s), MSG_DONTWAIT | MSG_NOSIGNAL);
	free(s);
	json_decref(obj);
	close(fd);
}

/*
 * A new control client: note its credentials (whether it is an admin:
 * control_run() refuses the others all but the open verbs), then serve
 * it.  Past CONTROL_CONN_MAX it gets an error at once.
 */
static int
control_accept(sd_event_source *s, int fd, uint32_t revents, void *arg)
{
	struct hub *h = ctl.hub;
	struct ctl_conn *c;
	struct ucred cr;
	socklen_t crlen = sizeof(cr);
	int cfd, r;

	cfd = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (cfd < 0) {
		if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED)
			sb_log(LOG_WARNING, "control: accept: %s",
			    strerror(errno));
		return 0;
	}
	if (getsockopt(cfd, SOL_SOCKET, SO_PEERCRED, &cr, &crlen) < 0) {
		close(cfd);
		return 0;
	}
	if (ctl.nconns >= CONTROL_CONN_MAX) {
		refuse(cfd, "too many control connections; try again");
		return 0;
	}
	if ((c = calloc(1, sizeof(*c))) == NULL) {
		close(cfd);
		return 0;
	}
	c->fd = cfd;
	c->uid = cr.uid;
	c->gid = cr.gid;
	c->pid = cr.pid;
	/*
	 * One not in the admin group still gets its request read and an
	 * answer (refuse_verb): closing with its request unread would
	 * reset the connection and lose the answer.
	 */
	c->admin = peer_allowed(h, &cr);
	TAILQ_INIT(&c->outq);
	if ((r = sd_event_add_io(ctl.event, &c->io, cfd, EPOLLIN, conn_io,
	    c)) < 0 ||
	    (r = sd_event_add_time_relative(ctl.event, &c->timer,
	    CLOCK_MONOTONIC, CONTROL_TIMEOUT_USEC, 0, conn_timeout, c)) < 0) {
		sb_log(LOG_WARNING, "control: sd-event: %s", strerror(-r));
		sd_event_source_disable_unref(c->io);
		close(cfd);
		free(c);
		return 0;
	}
	TAILQ_INSERT_TAIL(&ctl.conns, c, entry);
	ctl.nconns++;
	return 0;
}

/*
 * Serve switchboardctl on the listening socket `fd` (SOCK_SEQPACKET,
 * non-blocking; the hub keeps it for its lifetime).  The verb reload
 * calls `reload`, which re-reads the config and returns 0, or a
 * negative errno with the reason in its buffer.  Returns 0 or a
 * negative errno from sd-event.
 */
int
control_listen(struct hub *h, struct sd_event *e, int fd,
    control_reload_fn *reload)
{
	int r;

	assert(h != NULL && e != NULL && fd >= 0 && reload != NULL);
	assert(ctl.hub == NULL);	/* one control socket per process */
	ctl.hub = h;
	ctl.reload = reload;
	ctl.event = e;
	TAILQ_INIT(&ctl.conns);
	if ((r = sd_event_add_io(e, &ctl.listen, fd, EPOLLIN, control_accept,
	    NULL)) < 0) {
		ctl.hub = NULL;
		return r;
	}
	return 0;
}
