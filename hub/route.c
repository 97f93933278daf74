/* SPDX-License-Identifier: ISC */
/*
 * The hub's rules: sessions, presence, rooms and routing.  No I/O here:
 * every datagram leaves through hub->ops->send, so the unit tests run these
 * rules with a recording ops table.
 */
#include <assert.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <bsd/stdlib.h>
#include <bsd/string.h>

#include "hub.h"

static int
peer_nick_cmp(struct peer *a, struct peer *b)
{
	return strcmp(a->key, b->key);
}

/*
 * Skeletons in order, and for one skeleton the sessions that have it in
 * address order.  Every path refuses a nick whose skeleton another
 * session has (nick_confusable), so the tie-break is only there to keep
 * the index correct should two sessions ever share one.
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

static int
peer_session_cmp(struct peer *a, struct peer *b)
{
	return a->session < b->session ? -1 : a->session > b->session;
}

static int
room_cmp(struct room *a, struct room *b)
{
	return strcmp(a->key, b->key);
}

RB_GENERATE(peer_nicks, peer, by_nick, peer_nick_cmp)
RB_GENERATE(peer_sessions, peer, by_session, peer_session_cmp)
RB_GENERATE(peer_skels, peer_skel, entry, peer_skel_cmp)
RB_GENERATE(rooms, room, entry, room_cmp)

static void	room_leave(struct hub *, struct membership *, const char *, int);
static void	nick_unindex(struct hub *, struct peer *);
static int	flood_ok(struct hub *, struct peer *);

void
hub_init(struct hub *h, const struct sb_config *cfg, const struct hub_ops *ops,
    void *ctx)
{
	assert(h != NULL && cfg != NULL && ops != NULL);
	*h = (struct hub){
		.cfg = *cfg,
		.ops = ops,
		.ctx = ctx,
		.next_session = 1,
		.created = time(NULL),
		.handler_uid = (uid_t)-1,
		.handler_gid = (gid_t)-1,
	};
	RB_INIT(&h->nicks);
	RB_INIT(&h->skels);
	RB_INIT(&h->sessions);
	RB_INIT(&h->rooms);
	TAILQ_INIT(&h->reaplist);
	TAILQ_INIT(&h->held);
	/* Without them every password check is refused (login_busy). */
	h->fail_nicks = throttle_new();
	h->fail_addrs = throttle_new();
}

/* Free every peer and room; the caller has closed the fds. */
void
hub_free(struct hub *h)
{
	struct peer *p, *pn;
	struct room *r, *rn;

	if (h == NULL)
		return;
	while (!TAILQ_EMPTY(&h->held)) {
		struct held *x = TAILQ_FIRST(&h->held);

		TAILQ_REMOVE(&h->held, x, entry);
		free(x);
	}
	RB_FOREACH_SAFE(p, peer_sessions, &h->sessions, pn)
		hub_peer_free(h, p);
	RB_FOREACH_SAFE(r, rooms, &h->rooms, rn) {
		RB_REMOVE(rooms, &h->rooms, r);
		free(r);
	}
	h->members = members_free(h->members);
	h->fail_nicks = throttle_free(h->fail_nicks);
	h->fail_addrs = throttle_free(h->fail_addrs);
	h->history = history_close(h->history);
	bans_free(&h->bans);
}

/*
 * A new handler connection: a session with a fresh id, not yet counted
 * as a client (that waits for H_HELLO).
 */
struct peer *
hub_peer_new(struct hub *h, int fd)
{
	struct peer *p;

	assert(h != NULL);
	if ((p = calloc(1, sizeof(*p))) == NULL)
		return NULL;
	p->hub = h;
	p->fd = fd;
	p->session = h->next_session++;
	TAILQ_INIT(&p->rooms);
	TAILQ_INIT(&p->outq);
	TAILQ_INIT(&p->waiting);
	p->tokens = h->cfg.flood_burst;
	p->tokens_at = h->ops->now_usec(h);
	RB_INSERT(peer_sessions, &h->sessions, p);
	return p;
}

/* Release a peer's memory; hub_peer_gone() must have run. */
void
hub_peer_free(struct hub *h, struct peer *p)
{
	struct pkt *k;
	struct membership *m;

	if (p == NULL)
		return;
	while ((m = TAILQ_FIRST(&p->rooms)) != NULL)
		room_leave(h, m, "", 0);
	if (p->nick[0] != '\0')
		nick_unindex(h, p);
	RB_REMOVE(peer_sessions, &h->sessions, p);
	while ((k = TAILQ_FIRST(&p->outq)) != NULL) {
		TAILQ_REMOVE(&p->outq, k, entry);
		free(k);
	}
	while ((k = TAILQ_FIRST(&p->waiting)) != NULL) {
		TAILQ_REMOVE(&p->waiting, k, entry);
		free(k);
	}
	/* A check still running for it finds no session: see
	 * hub_password_checked(). */
	free(p);
}

/*
 * Pack a datagram for `p` from a NULL-terminated list of fields, stamp it
 * with the epoch and the peer's next sequence number, and hand it to
 * ops->send.  Dead peers get nothing.  Returns 0 or a negative errno.
 */
int
hub_send(struct hub *h, struct peer *p, enum sb_type type, ...)
{
	const char *f[SB_FIELDS_MAX];
	struct sb_packet pkt;
	const char *v;
	size_t n = 0;
	va_list ap;
	int r;

	assert(h != NULL && p != NULL);
	if (p->dead || p->write_broken)
		return -EPIPE;
	va_start(ap, type);
	while ((v = va_arg(ap, const char *)) != NULL && n < SB_FIELDS_MAX)
		f[n++] = v;
	va_end(ap);
	if ((r = sb_msg_encode(&pkt, type, p->session, h->epoch, p->seq + 1,
	    f, n)) < 0) {
		/* Our own message does not fit the contract: a bug. */
		hub_log_peer(SB_EV_HUB_ERROR, p, NULL,
		    "cannot encode %s: %s", sb_type_name(type), strerror(-r));
		return r;
	}
	p->seq++;
	return h->ops->send(h, p, &pkt);
}

/*
 * An error for the client.  Returns 0: whether it could be sent is the
 * I/O side's business (a handler that stopped reading is cut off there),
 * never a reason to treat the handler as broken.
 */
static int
send_error(struct hub *h, struct peer *p, const char *code, const char *text)
{
	hub_send(h, p, SB_C_ERROR, code, text, NULL);
	return 0;
}

/*
 * End the session of `p` on purpose: tell the handler why with C_CLOSE
 * (`code` names the cause, docs/protocol.md lists them; `reason` is for
 * the client), then mark `p` for closing after the current turn.  The
 * handler says goodbye in its client's dialect and never resumes a
 * session that got C_CLOSE.  Every deliberate end goes through here, so
 * that no handler takes one for a hub crash.  `reason` is also the quit
 * notice the others get, unless hub_peer_gone() already ran.
 */
void
hub_peer_kill(struct hub *h, struct peer *p, const char *code,
    const char *reason)
{
	assert(h != NULL && p != NULL && code != NULL && reason != NULL);
	if (p->dead || p->closing)	/* (closing: the C_CLOSE failed) */
		return;
	p->closing = 1;		/* C_CLOSE passes a full queue */
	hub_send(h, p, SB_C_CLOSE, code, reason, NULL);
	strlcpy(p->kill_reason, reason, sizeof(p->kill_reason));
	p->dead = 1;
	TAILQ_INSERT_TAIL(&h->reaplist, p, reap);
}

/*
 * The handler of `p` is gone (it closed its socket or the socket broke):
 * nobody is left to tell.  Mark `p` for closing after the current turn.
 */
void
hub_peer_drop(struct hub *h, struct peer *p)
{
	assert(h != NULL && p != NULL);
	if (p->dead)
		return;
	p->dead = 1;
	TAILQ_INSERT_TAIL(&h->reaplist, p, reap);
}

/*
 * Presence (logins, quits, nick changes, joins and parts) is told one by
 * one only where that stays cheap: in a room of at most presence_max
 * members, and server-wide while at most presence_max sessions are
 * identified.  Past that, N clients arriving would cost N * N notices;
 * clients ask NAMES and LIST for the lists.
 */
static int
room_quiet(const struct hub *h, const struct room *r)
{
	return r->nmembers > h->cfg.presence_max;
}

/*
 * Tell a change of `p` (`type` with fields a, b) to everyone identified,
 * or on a server past presence_max to those who share a room that is not
 * quiet with `p`, once each.  `self`: tell `p` too.
 */
static void
presence_tell(struct hub *h, struct peer *p, int self, enum sb_type type,
    const char *a, const char *b)
{
	struct membership *m, *o;
	struct peer *q;

	if (h->named <= h->cfg.presence_max) {
		RB_FOREACH(q, peer_nicks, &h->nicks)
			if (q != p || self)
				hub_send(h, q, type, a, b, NULL);
		return;
	}
	if (++h->mark == 0) {	/* wrapped: forget every old mark */
		RB_FOREACH(q, peer_sessions, &h->sessions)
			q->mark = 0;
		h->mark = 1;
	}
	p->mark = h->mark;
	if (self)
		hub_send(h, p, type, a, b, NULL);
	TAILQ_FOREACH(m, &p->rooms, in_peer) {
		if (room_quiet(h, m->room))
			continue;
		TAILQ_FOREACH(o, &m->room->members, in_room) {
			if (o->peer->mark == h->mark)
				continue;
			o->peer->mark = h->mark;
			hub_send(h, o->peer, type, a, b, NULL);
		}
	}
}

/*
 * The session of `p` ends (its handler closed the socket, or was killed):
 * quit notices, leave every room, uncount it.  Does not free `p`.
 */
void
hub_peer_gone(struct hub *h, struct peer *p, const char *reason)
{
	struct membership *m;

	assert(h != NULL && p != NULL);
	if (p->gone)
		return;
	p->gone = 1;
	if (p->nick[0] != '\0') {
		nick_unindex(h, p);
		presence_tell(h, p, 0, SB_C_QUIT, p->nick, reason);
	}
	while ((m = TAILQ_FIRST(&p->rooms)) != NULL)
		room_leave(h, m, reason, 0);
	if (p->nick[0] != '\0') {
		hub_log_peer(SB_EV_QUIT, p, &(struct sb_log_fields){
		    .reason = reason }, "%s quit: %s", p->nick, reason);
		p->nick[0] = '\0';
		p->key[0] = '\0';
	} else if (p->chat)
		hub_log_peer(SB_EV_DISCONNECT, p, &(struct sb_log_fields){
		    .reason = reason }, "session %llu closed: %s",
		    (unsigned long long)p->session, reason);
	if (p->chat) {
		h->clients--;
		p->chat = 0;
	}
}

struct peer *
hub_find_nick(struct hub *h, const char *nick)
{
	struct peer k = { 0 };	/* only the key is compared */

	nick_fold(k.key, sizeof(k.key), nick);
	return RB_FIND(peer_nicks, &h->nicks, &k);
}

/*
 * The identified session registered with seed-003 id `alias`, or NULL.
 * Like a nick, an id names one session: PRIVMSG_ALIAS goes to its holder,
 * so a second session may not register an id in use (issue 16, hole 2).
 */
static struct peer *
hub_find_alias(struct hub *h, uint64_t alias)
{
	struct peer *p;

	if (alias == 0)
		return NULL;
	RB_FOREACH(p, peer_nicks, &h->nicks)
		if (p->alias == alias)
			return p;
	return NULL;
}

struct room *
hub_find_room(struct hub *h, const char *name)
{
	struct room k = { 0 };	/* only the key is compared */

	room_fold(k.key, sizeof(k.key), name);
	return RB_FIND(rooms, &h->rooms, &k);
}

static struct membership *
peer_membership(struct peer *p, struct room *r)
{
	struct membership *m;

	TAILQ_FOREACH(m, &p->rooms, in_peer)
		if (m->room == r)
			return m;
	return NULL;
}

/* The clock of the history's room lifetimes: monotonic seconds. */
static uint64_t
history_now(struct hub *h)
{
	return h->ops->now_usec(h) / 1000000;
}

/*
 * Forget the history of temporary rooms gone longer than the retention
 * (history_retention).  The hub's status timer calls it every few
 * seconds, and route.c whenever a room comes or goes.
 */
void
hub_history_expire(struct hub *h)
{
	if (h->history != NULL && h->cfg.history > 0)
		history_expire(h->history, history_now(h));
}

/*
 * Tell the history that the hub has these rooms now: each permanent room
 * reserves its slot, and the temporary ones (resumed after a restart)
 * claim theirs.  The rest of what was loaded from disk is gone from now
 * on.  Called after the config is (re)loaded, once the history is open.
 */
static void
hub_history_sync(struct hub *h)
{
	struct room *r;
	uint64_t now;

	if (h->history == NULL || h->cfg.history == 0)
		return;
	now = history_now(h);
	history_set_retention(h->history, h->cfg.history_retention);
	RB_FOREACH(r, rooms, &h->rooms)
		if (history_room_live(h->history, r->name, r->permanent,
		    now) < 0)
			sb_log_event(SB_EV_HUB_ERROR, &(struct sb_log_fields){
			    .room = r->name, .reason = "no history slot" },
			    "history: no slot for room %s", r->name);
	history_expire(h->history, now);
}

static struct room *
room_create(struct hub *h, const char *name, int permanent)
{
	struct room *r;

	if ((r = calloc(1, sizeof(*r))) == NULL)
		return NULL;
	strlcpy(r->name, name, sizeof(r->name));
	room_fold(r->key, sizeof(r->key), name);
	r->permanent = permanent;
	TAILQ_INIT(&r->members);
	RB_INSERT(rooms, &h->rooms, r);
	h->nrooms++;
	/*
	 * A room of a name gone within the retention gets its history back;
	 * one gone longer starts empty.  (Permanent rooms: hub_history_sync.)
	 */
	if (!permanent && h->history != NULL && h->cfg.history > 0) {
		hub_history_expire(h);
		history_room_live(h->history, name, 0, history_now(h));
	}
	return r;
}

/*
 * Check the permanent rooms of `cfg` (space or comma separated) against
 * the room name rules, touching nothing.  The start and every reload
 * (load_config in server.c) call it, so a reload refuses exactly what a
 * start refuses.  Returns 0, or -EINVAL with `err` naming the first bad
 * name and why.
 */
int
hub_rooms_check(const struct sb_config *cfg, char *err, size_t errsz)
{
	char list[sizeof(cfg->rooms)], *s = list, *t;
	const char *why;

	assert(cfg != NULL && err != NULL);
	strlcpy(list, cfg->rooms, sizeof(list));
	while ((t = strsep(&s, " ,\t")) != NULL)
		if (*t != '\0' && room_name_check(t, &why) < 0) {
			snprintf(err, errsz, "rooms: \"%s\" is not a valid "
			    "room name: %s", t, why);
			return -EINVAL;
		}
	return 0;
}

/*
 * Create the rooms named in the config (space or comma separated), or
 * mark them permanent.  Returns 0, or -EINVAL when a name breaks the
 * rules (then nothing is changed), or -ENOMEM.
 */
int
hub_rooms_configure(struct hub *h)
{
	char list[sizeof(h->cfg.rooms)], *s = list, *t, err[160];

	if (hub_rooms_check(&h->cfg, err, sizeof(err)) < 0)
		return -EINVAL;
	strlcpy(list, h->cfg.rooms, sizeof(list));
	while ((t = strsep(&s, " ,\t")) != NULL) {
		struct room *r;

		if (*t == '\0')
			continue;
		if ((r = hub_find_room(h, t)) != NULL)
			r->permanent = 1;
		else if (room_create(h, t, 1) == NULL)
			return -ENOMEM;
	}
	hub_history_sync(h);
	return 0;
}

/* Append `word` to a space-separated list; 0, or -1 when full. */
static int
list_add(char *list, size_t size, size_t *len, const char *word)
{
	size_t wl = strlen(word);

	if (*len + wl + 2 > size)
		return -1;
	if (*len > 0)
		list[(*len)++] = ' ';
	memcpy(list + *len, word, wl + 1);
	*len += wl;
	return 0;
}

/*
 * Remove a membership, telling the other members (C_PARTED) when
 * `notify`; a room that is not permanent goes away when it is empty.
 */
static void
room_leave(struct hub *h, struct membership *m, const char *reason, int notify)
{
	struct room *r = m->room;
	struct peer *p = m->peer;
	struct membership *o;

	if (room_quiet(h, r))
		notify = 0;
	TAILQ_REMOVE(&r->members, m, in_room);
	TAILQ_REMOVE(&p->rooms, m, in_peer);
	r->nmembers--;
	p->nrooms--;
	free(m);
	if (notify)
		TAILQ_FOREACH(o, &r->members, in_room)
			hub_send(h, o->peer, SB_C_PARTED, r->name, p->nick,
			    reason, NULL);
	if (r->nmembers == 0 && !r->permanent) {
		/* Its history goes too, after the retention (history.h). */
		if (h->history != NULL && h->cfg.history > 0) {
			history_room_gone(h->history, r->name, history_now(h));
			hub_history_expire(h);
		}
		RB_REMOVE(rooms, &h->rooms, r);
		h->nrooms--;
		free(r);
	}
}

/*
 * Flood control: a token bucket per session, flood_rate tokens per ten
 * seconds up to flood_burst.  Returns 1 when the message may pass; else
 * sends an error, and after flood_kick refusals in a row disconnects.
 */
static int
flood_ok(struct hub *h, struct peer *p)
{
	uint64_t now = h->ops->now_usec(h);
	double rate = h->cfg.flood_rate / 10e6;	/* tokens per usec */

	p->tokens += (double)(now - p->tokens_at) * rate;
	if (p->tokens > h->cfg.flood_burst)
		p->tokens = h->cfg.flood_burst;
	p->tokens_at = now;
	if (p->tokens >= 1.0) {
		p->tokens -= 1.0;
		p->refusals = 0;
		return 1;
	}
	if (++p->refusals >= h->cfg.flood_kick) {
		hub_log_peer(SB_EV_FLOOD, p, &(struct sb_log_fields){
		    .reason = "flooding" }, "%s disconnected for flooding",
		    p->nick[0] ? p->nick : "session");
		hub_peer_kill(h, p, "flood", "Disconnected for flooding");
	} else {
		if (p->refusals == 1)
			hub_log_peer(SB_EV_FLOOD, p, NULL, "%s is flooding",
			    p->nick[0] ? p->nick : "session");
		send_error(h, p, "flood", "You are sending too fast; "
		    "message dropped");
	}
	return 0;
}

static void
time_str(char *buf, size_t size)
{
	snprintf(buf, size, "%lld", (long long)time(NULL));
}

static int
need_identified(struct hub *h, struct peer *p)
{
	if (p->nick[0] != '\0')
		return 1;
	send_error(h, p, "not_identified", "Not identified.");
	return 0;
}

static enum peer_transport
transport_parse(const char *s)
{
	if (strcmp(s, "xmlsocket") == 0)
		return TRANSPORT_XMLSOCKET;
	if (strcmp(s, "websocket") == 0)
		return TRANSPORT_WEBSOCKET;
	if (strcmp(s, "tunnel") == 0)
		return TRANSPORT_TUNNEL;
	if (strcmp(s, "http") == 0)
		return TRANSPORT_HTTP;
	if (strcmp(s, "policy") == 0)
		return TRANSPORT_POLICY;
	return TRANSPORT_UNKNOWN;
}

static const char *transport_names[] = {
	"unknown", "xmlsocket", "websocket", "tunnel", "http", "policy",
};

static int
on_hello(struct hub *h, struct peer *p, const struct sb_msg *m)
{
	long long v;
	char sess[24], epoch[24];

	if (p->hello || sb_field_num(m, 0, 1, 1000, &v) < 0 ||
	    v != SB_PROTO_VERSION)
		return -EPROTO;
	p->hello = 1;
	p->transport = transport_parse(m->field[1]);
	strlcpy(p->remote, m->field[2], sizeof(p->remote));
	/*
	 * A handler that lost its hub says which incarnation it lost.  If
	 * that is this one, the hub did not restart: it ended the session
	 * on purpose, and the C_CLOSE saying so did not get through (a
	 * handler too slow to read it).  Never let such a session resume.
	 */
	if (m->epoch != 0 && m->epoch == h->epoch) {
		hub_log_peer(SB_EV_DISCONNECT, p, &(struct sb_log_fields){
		    .reason = "ended" }, "refused to resume a session this hub "
		    "ended");
		hub_peer_kill(h, p, "ended", "Your session was ended by the "
		    "server");
		return 0;
	}
	hub_log_peer(SB_EV_CONNECT, p, NULL, "%s connection from %s",
	    transport_names[p->transport], p->remote[0] ? p->remote : "?");
	if (p->transport == TRANSPORT_XMLSOCKET ||
	    p->transport == TRANSPORT_WEBSOCKET ||
	    p->transport == TRANSPORT_TUNNEL) {
		const struct ban *b = bans_match_remote(&h->bans, p->remote,
		    time(NULL));

		if (b != NULL) {
			char text[SB_REASON_MAX + 1];

			ban_describe(b, text, sizeof(text));
			hub_log_peer(SB_EV_BANNED, p, &(struct sb_log_fields){
			    .reason = text }, "refused a connection from %s "
			    "(banned as %s)", p->remote, b->target);
			hub_peer_kill(h, p, "banned", text);
			return 0;
		}
		if (h->clients >= h->cfg.max_clients) {
			hub_peer_kill(h, p, "server_full", "Server is full");
			return 0;
		}
		p->chat = 1;
		if (++h->clients > h->peak)
			h->peak = h->clients;
	}
	snprintf(sess, sizeof(sess), "%llu", (unsigned long long)p->session);
	snprintf(epoch, sizeof(epoch), "%lu", (unsigned long)h->epoch);
	hub_send(h, p, SB_C_WELCOME, sess, epoch, NULL);
	return 0;
}

static int
on_event(struct hub *h, struct peer *p, const struct sb_msg *m)
{
	int ev = sb_event_from_name(m->field[0]);

	if (ev != SB_EV_POLICY && ev != SB_EV_HTTP && ev != SB_EV_STATUS &&
	    ev != SB_EV_PROTOCOL_ERROR && ev != SB_EV_SLOW_READER)
		return -EPROTO;
	hub_log_peer(ev, p, &(struct sb_log_fields){ .reason = m->field[1] },
	    "%s from %s", m->field[0], p->remote[0] ? p->remote : "?");
	return 0;
}

static int
on_status(struct hub *h, struct peer *p)
{
	char c[24], mx[24], cr[24], pk[24];

	snprintf(c, sizeof(c), "%u", h->clients);
	snprintf(mx, sizeof(mx), "%u", h->cfg.max_clients);
	snprintf(cr, sizeof(cr), "%lld", (long long)h->created);
	snprintf(pk, sizeof(pk), "%u", h->peak);
	hub_send(h, p, SB_C_STATUS, c, mx, cr, pk, NULL);
	return 0;
}

/*
 * Put `p`, whose nick is `id`, into the nick tree and the skeleton index.
 * Its key is free (hub_find_nick) and no other session's nick looks
 * like it (nick_confusable).
 */
static void
nick_index(struct hub *h, struct peer *p, const struct nick_id *id)
{
	int i;

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

static void
nick_unindex(struct hub *h, struct peer *p)
{
	int i;

	RB_REMOVE(peer_nicks, &h->nicks, p);
	h->named--;
	for (i = 0; i < p->nskels; i++)
		RB_REMOVE(peer_skels, &h->skels, &p->skels[i]);
	p->nskels = 0;
}

/*
 * The identified session other than `p` whose nick looks like `id` (a
 * UTS #39 skeleton in common) but is not the same nick (another key), or
 * NULL.  A look-up in the skeleton index, not a walk over the sessions.
 */
static struct peer *
nick_confusable(struct hub *h, const struct peer *p, const struct nick_id *id)
{
	struct peer_skel k, *s;
	int i;

	for (i = 0; i < id->nskel; i++) {
		strlcpy(k.skel, id->skel[i], sizeof(k.skel));
		k.peer = NULL;
		for (s = RB_NFIND(peer_skels, &h->skels, &k);
		    s != NULL && strcmp(s->skel, k.skel) == 0;
		    s = RB_NEXT(peer_skels, &h->skels, s))
			if (s->peer != p && strcmp(s->peer->key, id->key) != 0)
				return s->peer;
	}
	return NULL;
}

/* Make `p` known as `nick` (already checked: nick_identify gave `id`). */
static void
nick_take(struct hub *h, struct peer *p, const char *nick,
    const struct nick_id *id)
{
	strlcpy(p->nick, nick, sizeof(p->nick));
	strlcpy(p->name, nick, sizeof(p->name));
	nick_index(h, p, id);
}

/*
 * Identify `p` as `nick` (already checked) and tell everyone.  `id` is
 * the member id, or NULL for a guest (whose id is the session number).
 */
static int
identify_as(struct hub *h, struct peer *p, const char *nick,
    const struct nick_id *nid, const char *id)
{
	char sess[24];

	nick_take(h, p, nick, nid);
	snprintf(sess, sizeof(sess), "%llu", (unsigned long long)p->session);
	hub_send(h, p, SB_C_IDENTIFIED, p->nick, p->name, id ? id : sess,
	    id ? id : "", NULL);
	presence_tell(h, p, 0, SB_C_LOGIN, p->nick, p->name);
	hub_log_peer(SB_EV_LOGIN, p, NULL, "%s identified", p->nick);
	return 0;
}

static struct room	*room_create(struct hub *, const char *, int);
static struct membership *peer_membership(struct peer *, struct room *);

/* Add `p` to room `r` without telling anyone (a resumed session). */
static int
room_enter_quietly(struct peer *p, struct room *r)
{
	struct membership *mb;

	if (peer_membership(p, r) != NULL || p->nrooms >= HUB_ROOMS_PER_PEER)
		return 0;
	if ((mb = calloc(1, sizeof(*mb))) == NULL)
		return -ENOMEM;
	mb->room = r;
	mb->peer = p;
	TAILQ_INSERT_TAIL(&r->members, mb, in_room);
	TAILQ_INSERT_TAIL(&p->rooms, mb, in_peer);
	r->nmembers++;
	p->nrooms++;
	return 0;
}

/*
 * After a restart the handlers come back one by one.  So that a message
 * sent by one who is back already reaches those still on their way, the
 * hub holds routed messages, in arrival order, while resumes keep coming:
 * until HUB_RESUME_QUIET_USEC pass without one, at most
 * HUB_RESUME_HOLD_USEC after the first.
 */
static void
hold_extend(struct hub *h)
{
	uint64_t now = h->ops->now_usec(h), until;

	if (h->hold_until == 0)
		h->hold_started = now;
	until = now + HUB_RESUME_QUIET_USEC;
	if (until > h->hold_started + HUB_RESUME_HOLD_USEC)
		until = h->hold_started + HUB_RESUME_HOLD_USEC;
	h->hold_until = until;
	if (h->ops->arm != NULL)
		h->ops->arm(h, until);
}

/* Keep a copy of `m` from `p` for hub_hold_release(); 0, or -1 if full. */
static int
hold_message(struct hub *h, struct peer *p, const struct sb_msg *m)
{
	struct sb_packet pkt;
	struct held *x;

	if (h->held_bytes >= HUB_HOLD_MAX ||
	    sb_msg_encode(&pkt, m->type, p->session, 0, 0, m->field,
	    m->nfields) < 0 || (x = malloc(sizeof(*x) + pkt.len)) == NULL)
		return -1;
	x->session = p->session;
	x->len = pkt.len;
	memcpy(x->buf, pkt.buf, pkt.len);
	TAILQ_INSERT_TAIL(&h->held, x, entry);
	h->held_bytes += pkt.len;
	return 0;
}

/*
 * Keep `m` until the password check of `p` is answered, so that what a
 * client sends after its IDENTIFY is handled after it, in order.  Past
 * HUB_WAITING_MAX bytes the session is flooding: it is ended.
 */
static int
wait_message(struct hub *h, struct peer *p, const struct sb_msg *m)
{
	struct sb_packet pkt;
	struct pkt *k;

	if (sb_msg_encode(&pkt, m->type, p->session, 0, 0, m->field,
	    m->nfields) < 0)
		return -EPROTO;
	if (p->waiting_bytes + pkt.len > HUB_WAITING_MAX) {
		hub_log_peer(SB_EV_FLOOD, p, &(struct sb_log_fields){
		    .reason = "flooding" }, "session %llu sent too much while "
		    "its password was checked", (unsigned long long)p->session);
		hub_peer_kill(h, p, "flood", "Disconnected for flooding");
		return 0;
	}
	if ((k = malloc(sizeof(*k) + pkt.len)) == NULL)
		return -ENOMEM;
	k->len = pkt.len;
	memcpy(k->buf, pkt.buf, pkt.len);
	TAILQ_INSERT_TAIL(&p->waiting, k, entry);
	p->waiting_bytes += pkt.len;
	return 0;
}

/* Stop holding: route every held message, in the order it arrived. */
void
hub_hold_release(struct hub *h)
{
	struct held *x;
	struct sb_msg m;
	struct peer k = { 0 }, *p;

	h->hold_until = 0;
	while ((x = TAILQ_FIRST(&h->held)) != NULL) {
		TAILQ_REMOVE(&h->held, x, entry);
		h->held_bytes -= x->len;
		k.session = x->session;
		p = RB_FIND(peer_sessions, &h->sessions, &k);
		if (p != NULL && !p->dead && sb_msg_decode(&m, x->buf, x->len) == 0 &&
		    hub_dispatch(h, p, &m) < 0)
			hub_peer_kill(h, p, "protocol_error", "Internal error");
		free(x);
	}
}

/*
 * A resume is checked against the member store as it is now, as an
 * IDENTIFY is: `member` is the member id the session was identified as
 * ("" for a guest).  A member who was disabled meanwhile is closed; a
 * session whose member login no longer holds (the member is gone, or has
 * another id), and a guest on a nick that now belongs to a member (or on
 * a server that now takes members only), get nick_lost and must identify
 * again.  Returns 1 when the resume was refused (the client is told).
 */
static int
resume_refused(struct hub *h, struct peer *p, const char *nick,
    const char *member)
{
	const struct member *mem;
	const char *why = NULL;

	if (h->cfg.auth == AUTH_GUEST)
		return 0;
	mem = h->members != NULL ? members_find(h->members, nick) : NULL;
	if (member[0] != '\0') {
		if (mem == NULL || strtonum(member, 1, MEMBERS_ID_MAX, NULL) !=
		    (long long)mem->id)
			why = "member login no longer valid";
		else if (!mem->active) {
			hub_log_peer(SB_EV_LOGIN_FAILED, p,
			    &(struct sb_log_fields){ .nick = nick,
			    .reason = "member disabled" }, "resume refused: "
			    "member %s is disabled", nick);
			hub_peer_kill(h, p, "login_disabled", "This member is "
			    "disabled.");
			return 1;
		}
	} else if (mem != NULL)
		why = "nick now belongs to a member";
	else if (h->cfg.auth == AUTH_MEMBERS)
		why = "guests may no longer log in";
	if (why == NULL)
		return 0;
	hub_log_peer(SB_EV_LOGIN_FAILED, p, &(struct sb_log_fields){
	    .nick = nick, .reason = why }, "resume refused: %s", why);
	send_error(h, p, "nick_lost", "The server restarted and you must "
	    "identify again.");
	return 1;
}

/*
 * A handler whose hub went away re-registers its session with the new
 * hub: the nick and the rooms it was in.  Nobody is told (the others
 * never saw it leave); a nick taken in the meantime, or a room that can
 * no longer be entered, is reported to the client as an error.
 */
static int
on_resume(struct hub *h, struct peer *p, const struct sb_msg *m)
{
	char list[SB_LIST_MAX / 2 + 1], *s = list, *t;
	struct nick_id nid;
	long long alias = 0;
	const char *why;
	struct room *r;
	int n = 0;

	if (p->nick[0] != '\0')
		return -EPROTO;
	if (m->flen[2] > 0 && sb_field_num(m, 2, 1, INT64_MAX, &alias) < 0)
		return -EPROTO;
	if (m->flen[0] > 0) {
		const struct ban *b = bans_match_nick(&h->bans, m->field[0],
		    time(NULL));

		if (b != NULL) {
			char text[SB_REASON_MAX + 1];

			ban_describe(b, text, sizeof(text));
			hub_log_peer(SB_EV_BANNED, p, &(struct sb_log_fields){
			    .nick = m->field[0], .reason = text },
			    "resume refused: %s", text);
			hub_peer_kill(h, p, "banned", text);
			return 0;
		}
		if (resume_refused(h, p, m->field[0], m->nfields > 3 ?
		    m->field[3] : ""))
			return 0;
		if (nick_identify(m->field[0], &nid, &why) < 0 ||
		    hub_find_nick(h, m->field[0]) != NULL ||
		    nick_confusable(h, p, &nid) != NULL) {
			hub_log_peer(SB_EV_LOGIN_FAILED, p, &(struct sb_log_fields){
			    .nick = m->field[0], .reason = "nick lost in restart" },
			    "resume refused: nick %s is taken", m->field[0]);
			return send_error(h, p, "nick_lost", "The server restarted "
			    "and your nick was taken; identify again.");
		}
		if (hub_find_alias(h, (uint64_t)alias) != NULL) {
			hub_log_peer(SB_EV_LOGIN_FAILED, p, &(struct sb_log_fields){
			    .nick = m->field[0], .reason = "id lost in restart" },
			    "resume refused: id %lld is taken", alias);
			return send_error(h, p, "nick_lost", "The server restarted "
			    "and your id was taken; identify again.");
		}
		nick_take(h, p, m->field[0], &nid);
		p->alias = (uint64_t)alias;
	}
	strlcpy(list, m->field[1], sizeof(list));
	while (p->nick[0] != '\0' && (t = strsep(&s, " ")) != NULL) {
		if (*t == '\0' || room_name_check(t, &why) < 0)
			continue;
		if ((r = hub_find_room(h, t)) == NULL && h->cfg.room_create &&
		    h->nrooms < h->cfg.max_rooms)
			r = room_create(h, t, 0);
		if (r == NULL || room_enter_quietly(p, r) < 0)
			send_error(h, p, "no_such_room", "After the restart this "
			    "room could not be entered again.");
		else
			n++;
	}
	if (p->nick[0] != '\0')
		hub_log_peer(SB_EV_LOGIN, p, &(struct sb_log_fields){
		    .reason = "resumed" }, "%s resumed after a hub restart "
		    "(%d rooms)", p->nick, n);
	hold_extend(h);
	return 0;
}

/*
 * Refuse `nick` to `p` if a ban is in force on it: an error that names
 * the ban and when it ends, and an event.  Returns 1 when refused.
 */
static int
nick_banned(struct hub *h, struct peer *p, const char *nick)
{
	const struct ban *b = bans_match_nick(&h->bans, nick, time(NULL));
	char text[SB_REASON_MAX + 1];

	if (b == NULL)
		return 0;
	ban_describe(b, text, sizeof(text));
	hub_log_peer(SB_EV_BANNED, p, &(struct sb_log_fields){ .nick = nick,
	    .reason = text }, "refused the banned nick %s", b->target);
	send_error(h, p, "banned", text);
	return 1;
}

/*
 * End every session that ban `b` covers now (its nick, or its address):
 * C_CLOSE "banned" with what the ban says, quit notices to the others.
 * Returns how many sessions it ended.
 */
unsigned
hub_ban_enforce(struct hub *h, const struct ban *b)
{
	char text[SB_REASON_MAX + 1], quit[SB_REASON_MAX + 1];
	time_t now = time(NULL);
	struct peer *p;
	unsigned n = 0;

	assert(h != NULL && b != NULL);
	ban_describe(b, text, sizeof(text));
	snprintf(quit, sizeof(quit), "Banned%s%s", b->reason[0] ? ": " : "",
	    b->reason);
	RB_FOREACH(p, peer_sessions, &h->sessions) {
		if (p->dead || !p->chat)
			continue;
		if (b->kind == BAN_NICK ? p->nick[0] == '\0' ||
		    strcmp(p->key, b->key) != 0 :
		    !ban_covers_remote(b, p->remote, now))
			continue;
		hub_log_peer(SB_EV_BANNED, p, &(struct sb_log_fields){
		    .reason = text }, "%s disconnected: %s",
		    p->nick[0] ? p->nick : "session", text);
		hub_peer_kill(h, p, "banned", text);
		hub_peer_gone(h, p, quit);
		n++;
	}
	return n;
}

static int
login_failed(struct hub *h, struct peer *p, const char *nick,
    const char *code, const char *text, const char *why)
{
	hub_log_peer(SB_EV_LOGIN_FAILED, p, &(struct sb_log_fields){
	    .nick = nick, .reason = why }, "identify refused: %s", why);
	return send_error(h, p, code, text);
}

/* Is `nick` a member's nick (reserved for them)? */
static int
nick_reserved(const struct hub *h, const char *nick)
{
	return h->members != NULL && members_find(h->members, nick) != NULL;
}

/*
 * Refuse `nick` (whose comparison key and skeletons are `nid`) to `p`
 * when it looks like a member's nick or the nick of another session
 * without being that nick (UTS #39 skeletons, docs/protocol.md): error
 * nick_confusable and an event.  Returns 1 when refused.
 */
static int
nick_looks_taken(struct hub *h, struct peer *p, const char *nick,
    const struct nick_id *nid)
{
	const struct member *mem = h->members == NULL ? NULL :
	    members_confusable(h->members, nid);
	const struct peer *o = nick_confusable(h, p, nid);
	char why[SB_REASON_MAX + 1];

	if (mem == NULL && o == NULL)
		return 0;
	snprintf(why, sizeof(why), "nick looks like %s's nick %s",
	    mem != NULL ? "member" : "session", mem != NULL ? mem->nick :
	    o->nick);
	hub_log_peer(SB_EV_LOGIN_FAILED, p, &(struct sb_log_fields){
	    .nick = nick, .reason = why }, "nick refused: %s", why);
	send_error(h, p, "nick_confusable", mem != NULL ? "Nick looks like a "
	    "member's nick." : "Nick looks like one already in use.");
	return 1;
}

/*
 * The last steps of an IDENTIFY, once the nick is known to be the
 * client's to ask for (a guest nick, or a member's after the password):
 * the nick rules, bans, nicks and ids in use.  `id` is the member id, 0
 * for a guest.
 */
static int
identify_finish(struct hub *h, struct peer *p, const char *nick,
    unsigned long id, uint64_t alias)
{
	const char *why;
	struct nick_id nid;
	char idbuf[24];

	if (nick_identify(nick, &nid, &why) < 0)
		return login_failed(h, p, NULL, "nick_invalid", why, why);
	if (nick_banned(h, p, nick))
		return 0;
	if (hub_find_nick(h, nick) != NULL)
		return login_failed(h, p, nick, "nick_taken",
		    "Nick is already in use.", "nick in use");
	if (nick_looks_taken(h, p, nick, &nid))
		return 0;
	if (hub_find_alias(h, alias) != NULL)
		return login_failed(h, p, nick, "id_taken", "This id is "
		    "already in use by another session.", "id in use");
	p->alias = alias;
	if (id != 0) {
		snprintf(idbuf, sizeof(idbuf), "%lu", id);
		return identify_as(h, p, nick, &nid, idbuf);
	}
	return identify_as(h, p, nick, &nid, NULL);
}

/*
 * Refuse a password attempt on a nick or from an address that failed
 * too often lately (throttle.c): login_throttled, with the seconds to
 * wait.  Returns 1 when refused.
 */
static int
login_throttled(struct hub *h, struct peer *p, const char *login,
    const char *nick_key, const char *addr_key)
{
	uint64_t now = h->ops->now_usec(h);
	unsigned wn, wa, w;
	char text[SB_REASON_MAX + 1], why[64];

	wn = throttle_wait(h->fail_nicks, nick_key, now);
	wa = throttle_wait(h->fail_addrs, addr_key, now);
	if (wn == 0 && wa == 0)
		return 0;
	w = wn > wa ? wn : wa;
	snprintf(why, sizeof(why), "throttled (%s, %u s)",
	    wn >= wa ? "nick" : "address", w);
	snprintf(text, sizeof(text), "Too many failed logins %s; try again "
	    "in %u second%s.", wn >= wa ? "for this nick" :
	    "from your address", w, w == 1 ? "" : "s");
	login_failed(h, p, login, "login_throttled", text, why);
	return 1;
}

/* The slot of the check for `session`, or NULL. */
static struct login_check *
check_find(struct hub *h, uint64_t session)
{
	unsigned i;

	for (i = 0; i < HUB_CHECKS_MAX; i++)
		if (h->checks[i].session == session)
			return &h->checks[i];
	return NULL;
}

/*
 * A member login: look the member up, refuse a throttled nick or
 * address, then have the password checked (ops->check_password, away
 * from the event loop), the session's later messages held until the
 * answer (hub_password_checked).  Every login runs crypt once, an
 * unknown one against a dummy hash, so the time taken does not say who
 * is a member.
 */
static int
identify_member(struct hub *h, struct peer *p, const char *login,
    const char *pass, uint64_t alias)
{
	const struct member *mem;
	struct login_check *c;
	char addr_key[THROTTLE_KEY_MAX + 1];
	uint64_t now = h->ops->now_usec(h);
	int r;

	if (h->members == NULL)
		return login_failed(h, p, login, "login_failed",
		    "Wrong nick or password.", "no member store");
	mem = members_lookup(h->members, login);
	throttle_remote_key(addr_key, sizeof(addr_key), p->remote);
	if (login_throttled(h, p, login, mem ? mem->key : "", addr_key))
		return 0;
	if (h->fail_nicks == NULL || h->fail_addrs == NULL ||
	    (c = check_find(h, 0)) == NULL)
		return login_failed(h, p, login, "login_busy", "The server is "
		    "busy checking passwords; try again in a moment.",
		    "password checks full");
	*c = (struct login_check){ .session = p->session,
	    .member = mem ? mem->id : 0, .alias = alias };
	strlcpy(c->login, login, sizeof(c->login));
	strlcpy(c->nick_key, mem ? mem->key : "", sizeof(c->nick_key));
	strlcpy(c->addr_key, addr_key, sizeof(c->addr_key));
	h->nchecks++;
	throttle_begin(h->fail_nicks, c->nick_key, now);
	throttle_begin(h->fail_addrs, c->addr_key, now);
	p->checking = 1;
	if (h->ops->check_password == NULL) {
		hub_password_checked(h, p->session, members_verify(pass,
		    mem ? mem->hash : h->members->dummy));
		return 0;
	}
	if ((r = h->ops->check_password(h, p->session, mem ? mem->hash :
	    h->members->dummy, pass)) < 0) {
		/* Not an attempt after all: undo it. */
		throttle_end(h->fail_nicks, c->nick_key, now, 0);
		throttle_end(h->fail_addrs, c->addr_key, now, 0);
		*c = (struct login_check){ 0 };
		h->nchecks--;
		p->checking = 0;
		return login_failed(h, p, login, "login_busy", "The server is "
		    "busy checking passwords; try again in a moment.",
		    strerror(-r));
	}
	return 0;
}

/* Count a failed attempt; log when it makes a key wait. */
static void
login_count(struct hub *h, struct peer *p, const struct login_check *c,
    int failed)
{
	uint64_t now = h->ops->now_usec(h);
	char why[96];
	unsigned w;

	if ((w = throttle_end(h->fail_nicks, c->nick_key, now, failed)) > 0) {
		snprintf(why, sizeof(why), "nick throttled for %u s", w);
		sb_log_event(SB_EV_LOGIN_THROTTLED, &(struct sb_log_fields){
		    .nick = c->nick_key, .remote = p ? p->remote : NULL,
		    .reason = why }, "failed logins as %s: the next attempt "
		    "waits %u s", c->nick_key, w);
	}
	if ((w = throttle_end(h->fail_addrs, c->addr_key, now, failed)) > 0) {
		snprintf(why, sizeof(why), "address throttled for %u s", w);
		sb_log_event(SB_EV_LOGIN_THROTTLED, &(struct sb_log_fields){
		    .nick = c->login, .remote = c->addr_key, .reason = why },
		    "failed logins from %s: the next attempt waits %u s",
		    c->addr_key, w);
	}
}

/* Dispatch what `p` sent while its password was being checked. */
static void
waiting_release(struct hub *h, struct peer *p)
{
	struct pkt *k;
	struct sb_msg m;

	while (!p->checking && !p->dead &&
	    (k = TAILQ_FIRST(&p->waiting)) != NULL) {
		TAILQ_REMOVE(&p->waiting, k, entry);
		p->waiting_bytes -= k->len;
		if (sb_msg_decode(&m, k->buf, k->len) < 0 ||
		    hub_dispatch(h, p, &m) < 0)
			hub_peer_kill(h, p, "protocol_error", "Internal error");
		free(k);
	}
}

/*
 * The answer to the password check of `session`: `match` is 1 when the
 * password was right.  The session may have ended meanwhile (its slot
 * only counts the attempt then), and the member store may have been
 * reloaded: the member is looked up again by id, so one removed or
 * disabled during the check does not get in.  Then the session's held
 * messages go on, in order.
 */
void
hub_password_checked(struct hub *h, uint64_t session, int match)
{
	struct login_check c, *slot;
	const struct member *mem = NULL;
	struct peer k = { 0 }, *p;
	enum member_result res;
	unsigned long id = 0;

	assert(h != NULL);
	if (session == 0 || (slot = check_find(h, session)) == NULL)
		return;
	c = *slot;
	*slot = (struct login_check){ 0 };
	h->nchecks--;
	k.session = session;
	p = RB_FIND(peer_sessions, &h->sessions, &k);
	if (p != NULL && p->dead)
		p = NULL;
	if (c.member != 0 && h->members != NULL)
		mem = members_find_id(h->members, c.member);
	res = members_result(c.member != 0 ? mem : NULL, match, &id);
	if (c.member != 0 && mem == NULL && match)
		res = MEMBER_UNKNOWN;	/* removed during the check */
	/* A right password of a disabled member is no guess. */
	login_count(h, p, &c, res != MEMBER_OK && res != MEMBER_DISABLED);
	if (p == NULL)
		return;
	p->checking = 0;
	switch (res) {
	case MEMBER_OK:
		identify_finish(h, p, mem->nick, id, c.alias);
		break;
	case MEMBER_DISABLED:
		login_failed(h, p, c.login, "login_disabled",
		    "This member is disabled.", "member disabled");
		break;
	default:
		login_failed(h, p, c.login, "login_failed",
		    "Wrong nick or password.", c.member != 0 && mem == NULL ?
		    "member vanished" : "wrong nick or password");
		break;
	}
	waiting_release(h, p);
}

/*
 * IDENTIFY nick password [alias].  With auth = guest any free nick is
 * taken; with members the password is checked against the member store
 * (crypt(3) in a worker, identify_member); with both, an empty password
 * asks for a guest nick, and members' nicks are reserved.
 */
static int
on_identify(struct hub *h, struct peer *p, const struct sb_msg *m)
{
	const char *nick = m->field[0], *pass = m->field[1];
	long long alias = 0;

	if (p->nick[0] != '\0')
		return send_error(h, p, "already_identified",
		    "Already identified.");
	if (m->flen[2] > 0 && sb_field_num(m, 2, 1, INT64_MAX, &alias) < 0)
		return send_error(h, p, "bad_id", "The id must be a positive "
		    "number.");
	if (h->cfg.auth == AUTH_MEMBERS ||
	    (h->cfg.auth == AUTH_BOTH && pass[0] != '\0')) {
		/* Each check costs a crypt(3): it counts against the bucket. */
		if (!flood_ok(h, p))
			return 0;
		return identify_member(h, p, nick, pass, (uint64_t)alias);
	}
	if (nick_reserved(h, nick))
		return login_failed(h, p, nick, "nick_reserved", "This nick "
		    "belongs to a member; give its password.", "nick reserved");
	return identify_finish(h, p, nick, 0, (uint64_t)alias);
}

/* Deliver a message event to `to` (and log it once). */
static void
deliver(struct hub *h, struct peer *to, const char *kind, const char *from,
    const char *tonick, const char *room, const char *text, const char *extra)
{
	char t[24];

	time_str(t, sizeof(t));
	hub_send(h, to, SB_C_MSG, kind, from, tonick, room, text, t, extra,
	    NULL);
}

/*
 * A journal event per message only when asked for (log_messages, or
 * transcript with the text): on a busy server one entry per message
 * would cost journald more than the chat, and its rate limit would then
 * drop the events that matter (logins, errors, kicks).
 */
static void
log_message(struct hub *h, struct peer *p, const char *to, const char *room,
    const char *text)
{
	if (!h->cfg.log_messages && !h->cfg.transcript)
		return;
	hub_log_peer(SB_EV_MESSAGE, p, &(struct sb_log_fields){
	    .room = room[0] ? room : NULL,
	    .text = h->cfg.transcript ? text : NULL },
	    "%s -> %s%s", p->nick, room[0] ? "#" : "", room[0] ? room : to);
}

static int
on_privmsg(struct hub *h, struct peer *p, const struct sb_msg *m,
    const char *kind)
{
	struct peer *to;

	if (!need_identified(h, p) || !flood_ok(h, p))
		return 0;
	if ((to = hub_find_nick(h, m->field[0])) == NULL || to->dead)
		return send_error(h, p, "no_such_nick", "User is already left.");
	deliver(h, to, kind, p->nick, to->nick, "", m->field[1], "");
	if (to != p)
		deliver(h, p, kind, p->nick, to->nick, "", m->field[1], "");
	log_message(h, p, to->nick, "", m->field[1]);
	return 0;
}

static int
on_privmsg_alias(struct hub *h, struct peer *p, const struct sb_msg *m)
{
	struct peer *to;
	long long id;

	if (!need_identified(h, p))
		return 0;
	if (sb_field_num(m, 0, 1, INT64_MAX, &id) < 0)
		return send_error(h, p, "bad_id", "to_id must be a positive "
		    "number.");
	if ((to = hub_find_alias(h, (uint64_t)id)) == NULL || to->dead)
		return send_error(h, p, "no_such_nick", "User is already left.");
	if (!flood_ok(h, p))
		return 0;
	deliver(h, to, "private", p->nick, to->nick, "", m->field[1],
	    m->field[2]);
	log_message(h, p, to->nick, "", m->field[1]);
	return 0;
}

/*
 * Send a list in chunks of C_NICKLIST (or C_ROOMLIST) datagrams, each as
 * full as the contract allows, "more" = 1 on all but the last.
 */
struct chunker {
	struct hub	*h;
	struct peer	*p;
	enum sb_type	 type;
	const char	*room;
	char		 buf[SB_LIST_MAX + 1];
	size_t		 len;
};

static void
chunk_flush(struct chunker *c, int last)
{
	if (c->type == SB_C_NICKLIST)
		hub_send(c->h, c->p, c->type, last ? "0" : "1", c->buf,
		    c->room, NULL);
	else
		hub_send(c->h, c->p, c->type, last ? "0" : "1", c->buf, NULL);
	c->len = 0;
	c->buf[0] = '\0';
}

static void
chunk_add(struct chunker *c, const char *word)
{
	if (list_add(c->buf, sizeof(c->buf), &c->len, word) < 0) {
		chunk_flush(c, 0);
		list_add(c->buf, sizeof(c->buf), &c->len, word);
	}
}

static int
on_list(struct hub *h, struct peer *p)
{
	struct chunker c = { .h = h, .p = p, .type = SB_C_NICKLIST, .room = "" };
	struct peer *o;

	RB_FOREACH(o, peer_nicks, &h->nicks)
		chunk_add(&c, o->nick);
	chunk_flush(&c, 1);
	return 0;
}

static int
on_rooms(struct hub *h, struct peer *p)
{
	struct chunker c = { .h = h, .p = p, .type = SB_C_ROOMLIST };
	char item[SB_ROOM_MAX + 16];
	struct room *r;

	RB_FOREACH(r, rooms, &h->rooms) {
		snprintf(item, sizeof(item), "%s:%u", r->name, r->nmembers);
		chunk_add(&c, item);
	}
	chunk_flush(&c, 1);
	return 0;
}

static int
on_names(struct hub *h, struct peer *p, const struct sb_msg *m)
{
	struct chunker c = { .h = h, .p = p, .type = SB_C_NICKLIST };
	struct membership *o;
	struct room *r;

	if ((r = hub_find_room(h, m->field[0])) == NULL)
		return send_error(h, p, "no_such_room", "No such room.");
	c.room = r->name;
	TAILQ_FOREACH(o, &r->members, in_room)
		chunk_add(&c, o->peer->nick);
	chunk_flush(&c, 1);
	return 0;
}

struct replay {
	struct hub	*h;
	struct peer	*p;
	const char	*room;
	uint64_t	 next;	/* the number the client lacks next; 0: it
				 * gave no `since`, so no GAP is told */
};

/* C_GAP: the room's messages after `since`, before `first`, are gone. */
static void
replay_gap(struct replay *rp, uint64_t since, uint64_t first)
{
	char s[24], f[24];

	snprintf(s, sizeof(s), "%llu", (unsigned long long)since);
	snprintf(f, sizeof(f), "%llu", (unsigned long long)first);
	hub_send(rp->h, rp->p, SB_C_GAP, rp->room, s, f, NULL);
}

static int
replay_one(const struct history_entry *e, void *arg)
{
	struct replay *rp = arg;
	char kind[HISTORY_KIND_MAX + 16], t[24], seq[24];

	if (rp->next > 0) {
		if (e->seq > rp->next)
			replay_gap(rp, rp->next - 1, e->seq);
		rp->next = e->seq + 1;
	}
	snprintf(kind, sizeof(kind), "%s,history", e->kind);
	snprintf(t, sizeof(t), "%lld", (long long)e->time);
	snprintf(seq, sizeof(seq), "%llu", (unsigned long long)e->seq);
	hub_send(rp->h, rp->p, SB_C_MSG, kind, e->from, "", rp->room, e->text,
	    t, "", seq, NULL);
	return rp->p->dead;
}

/*
 * Replay r's history to p, who just joined: every message held or, when
 * the JOIN gave `since` (>= 0), those numbered above it, with a C_GAP
 * for each run of numbers after `since` the history no longer holds
 * (docs/delivery.md, "Catching up").  A `since` beyond the room's last
 * number (its history was forgotten and its numbers began again) gets a
 * C_GAP with first 1, then what a `since` of 0 gets.
 */
static void
replay(struct hub *h, struct peer *p, struct room *r, long long since)
{
	struct replay rp = { h, p, r->name, 0 };
	uint64_t last = history_last(h->history, r->name), from = 0;

	if (since >= 0) {
		from = (uint64_t)since;
		if (from > last) {
			replay_gap(&rp, from, 1);
			from = 0;
		}
		rp.next = from + 1;
	}
	history_get(h->history, r->name, from, replay_one, &rp);
	if (rp.next > 0 && rp.next <= last && !p->dead)
		replay_gap(&rp, rp.next - 1, last + 1);
}

static int
on_join(struct hub *h, struct peer *p, const struct sb_msg *m)
{
	char members[SB_LIST_MAX / 2 + 1];
	struct membership *mb, *o;
	long long since = -1;
	const char *why;
	struct room *r;
	size_t len = 0;
	int quiet;

	/* The handler checked `since`: a bad one breaks the contract. */
	if (m->nfields > 1 && m->flen[1] > 0 &&
	    sb_field_num(m, 1, 0, INT64_MAX, &since) < 0)
		return -EPROTO;
	/* A JOIN tells every member: it costs others, it is metered. */
	if (!need_identified(h, p) || !flood_ok(h, p))
		return 0;
	if (room_name_check(m->field[0], &why) < 0)
		return send_error(h, p, "room_invalid", why);
	if ((r = hub_find_room(h, m->field[0])) == NULL) {
		if (!h->cfg.room_create)
			return send_error(h, p, "no_such_room", "No such room; "
			    "this server does not create rooms on join.");
		if (h->nrooms >= h->cfg.max_rooms)
			return send_error(h, p, "too_many_rooms", "The server "
			    "has too many rooms.");
		if ((r = room_create(h, m->field[0], 0)) == NULL)
			return -ENOMEM;
	}
	if (peer_membership(p, r) != NULL)
		return send_error(h, p, "already_joined", "You are already "
		    "in that room.");
	if (p->nrooms >= HUB_ROOMS_PER_PEER)
		return send_error(h, p, "too_many_rooms", "You are in too "
		    "many rooms.");
	if ((mb = calloc(1, sizeof(*mb))) == NULL)
		return -ENOMEM;
	mb->room = r;
	mb->peer = p;
	quiet = r->nmembers + 1 > h->cfg.presence_max;
	TAILQ_FOREACH(o, &r->members, in_room) {
		if (!quiet)
			hub_send(h, o->peer, SB_C_JOINED, r->name, p->nick, "",
			    NULL);
		/* Past what one datagram holds, the joiner asks NAMES. */
		if (list_add(members, sizeof(members), &len,
		    o->peer->nick) < 0 && quiet)
			break;
	}
	TAILQ_INSERT_TAIL(&r->members, mb, in_room);
	TAILQ_INSERT_TAIL(&p->rooms, mb, in_peer);
	r->nmembers++;
	p->nrooms++;
	list_add(members, sizeof(members), &len, p->nick);
	hub_send(h, p, SB_C_JOINED, r->name, p->nick, members, NULL);
	if (h->history != NULL && h->cfg.history > 0)
		replay(h, p, r, since);
	hub_log_peer(SB_EV_JOIN, p, &(struct sb_log_fields){ .room = r->name },
	    "%s joined %s", p->nick, r->name);
	return 0;
}

static int
on_part(struct hub *h, struct peer *p, const struct sb_msg *m)
{
	struct membership *mb;
	struct room *r;
	char name[SB_ROOM_MAX + 1];

	/* As JOIN: a PART tells every member. */
	if (!need_identified(h, p) || !flood_ok(h, p))
		return 0;
	if ((r = hub_find_room(h, m->field[0])) == NULL ||
	    (mb = peer_membership(p, r)) == NULL)
		return send_error(h, p, "not_in_room", "You are not in that "
		    "room.");
	strlcpy(name, r->name, sizeof(name));
	room_leave(h, mb, "left", 1);
	hub_send(h, p, SB_C_PARTED, name, p->nick, "left", NULL);
	hub_log_peer(SB_EV_PART, p, &(struct sb_log_fields){ .room = name },
	    "%s left %s", p->nick, name);
	return 0;
}

/*
 * Keep a room message in the history; returns the number the room gave
 * it, 0 when it was not kept.  A failure is logged once (until a
 * message is kept again) and routing goes on: a failed disk write (full
 * disk) keeps the entry in memory; no slot or no memory keeps nothing,
 * and the log says so.
 */
static uint64_t
history_record(struct hub *h, struct room *r, const char *kind,
    const char *from, const char *text)
{
	uint64_t seq;
	int e;

	if (h->history == NULL || h->cfg.history == 0)
		return 0;
	e = history_add(h->history, r->name, kind, from, text,
	    (int64_t)time(NULL), &seq);
	if (e < 0 && !h->history_failing) {
		if (e == -ENOBUFS || e == -ENOMEM || e == -EINVAL ||
		    e == -ERANGE)
			sb_log_event(SB_EV_HUB_ERROR, &(struct sb_log_fields){
			    .room = r->name, .reason = strerror(-e) },
			    "history of room %s not kept (%s); routing goes "
			    "on", r->name, e == -ENOBUFS ? "every history "
			    "slot is held by a room that exists" :
			    strerror(-e));
		else
			sb_log_event(SB_EV_HUB_ERROR, &(struct sb_log_fields){
			    .room = r->name, .reason = strerror(-e) },
			    "history not written to disk (%s); kept in memory "
			    "and written again later, routing goes on",
			    strerror(-e));
	}
	h->history_failing = e < 0;
	return seq;
}

/*
 * A message to every member of r, with the number the history gave it
 * (no number when it was not kept).
 */
static void
room_deliver(struct hub *h, struct peer *p, struct room *r, const char *kind,
    const char *text)
{
	uint64_t n = history_record(h, r, kind, p->nick, text);
	struct membership *o;
	char t[24], seq[24];

	time_str(t, sizeof(t));
	snprintf(seq, sizeof(seq), "%llu", (unsigned long long)n);
	TAILQ_FOREACH(o, &r->members, in_room)
		hub_send(h, o->peer, SB_C_MSG, kind, p->nick, "", r->name,
		    text, t, "", n > 0 ? seq : NULL, NULL);
	log_message(h, p, "", r->name, text);
}

static int
on_roommsg(struct hub *h, struct peer *p, const struct sb_msg *m)
{
	struct room *r;

	if (!need_identified(h, p))
		return 0;
	if ((r = hub_find_room(h, m->field[0])) == NULL ||
	    peer_membership(p, r) == NULL)
		return send_error(h, p, "not_in_room", "You are not in that "
		    "room.");
	if (!flood_ok(h, p))
		return 0;
	room_deliver(h, p, r, "room", m->field[1]);
	return 0;
}

static int
on_action(struct hub *h, struct peer *p, const struct sb_msg *m)
{
	struct membership *mb;
	struct room *r;

	if (!need_identified(h, p))
		return 0;
	if (m->flen[0] == 0) {
		if (TAILQ_EMPTY(&p->rooms))
			return send_error(h, p, "no_target", "ME needs a room "
			    "or a nick when you are in no room.");
		if (!flood_ok(h, p))
			return 0;
		TAILQ_FOREACH(mb, &p->rooms, in_peer)
			room_deliver(h, p, mb->room, "action", m->field[1]);
		return 0;
	}
	if ((r = hub_find_room(h, m->field[0])) != NULL &&
	    peer_membership(p, r) != NULL) {
		if (flood_ok(h, p))
			room_deliver(h, p, r, "action", m->field[1]);
		return 0;
	}
	return on_privmsg(h, p, m, "action");
}

static int
on_nick(struct hub *h, struct peer *p, const struct sb_msg *m)
{
	char old[SB_NICK_MAX + 1];
	struct nick_id nid;
	const char *why;
	struct peer *o;

	if (!need_identified(h, p))
		return 0;
	if (nick_identify(m->field[0], &nid, &why) < 0)
		return send_error(h, p, "nick_invalid", why);
	if (h->cfg.auth == AUTH_MEMBERS)
		return send_error(h, p, "nick_fixed", "Members keep their "
		    "member nick.");
	if (nick_reserved(h, m->field[0]))
		return send_error(h, p, "nick_reserved", "This nick belongs to "
		    "a member.");
	if ((o = hub_find_nick(h, m->field[0])) != NULL && o != p)
		return send_error(h, p, "nick_taken", "Nick is already in use.");
	if (nick_looks_taken(h, p, m->field[0], &nid))
		return 0;
	if (nick_banned(h, p, m->field[0]))
		return 0;
	if (!flood_ok(h, p))
		return 0;
	strlcpy(old, p->nick, sizeof(old));
	nick_unindex(h, p);
	strlcpy(p->nick, m->field[0], sizeof(p->nick));
	strlcpy(p->name, m->field[0], sizeof(p->name));
	nick_index(h, p, &nid);
	presence_tell(h, p, 1, SB_C_NICKCHANGE, old, p->nick);
	hub_log_peer(SB_EV_NICK, p, &(struct sb_log_fields){ .reason = old },
	    "%s is now known as %s", old, p->nick);
	return 0;
}

/*
 * The C_CONFIG datagram every new handler gets first: packed once, and
 * again after a reload (hub_config_changed).  NULL when the settings do
 * not fit in one.
 */
const struct sb_packet *
hub_config_packet(struct hub *h)
{
	if (h->cfg_packed == 0)
		h->cfg_packed = config_pack_handler(&h->cfg, &h->cfg_pkt) < 0 ?
		    -1 : 1;
	return h->cfg_packed > 0 ? &h->cfg_pkt : NULL;
}

/* Send the (new) handler settings to every handler. */
void
hub_config_changed(struct hub *h)
{
	const struct sb_packet *pkt;
	struct peer *p;

	h->cfg_packed = 0;
	if ((pkt = hub_config_packet(h)) == NULL)
		return;
	RB_FOREACH(p, peer_sessions, &h->sessions)
		if (!p->dead)
			h->ops->send(h, p, pkt);
}

/* An announcement from the operator to every identified session. */
void
hub_announce(struct hub *h, const char *text)
{
	struct peer *o;

	RB_FOREACH(o, peer_nicks, &h->nicks)
		deliver(h, o, "announce", "", o->nick, "", text, "");
	sb_log_event(SB_EV_ANNOUNCE, &(struct sb_log_fields){ .text = text },
	    "announcement to %u clients", h->clients);
}

/*
 * Act on one message from a handler.  Returns 0, or a negative errno when
 * the handler broke the contract (the caller closes it).
 */
int
hub_dispatch(struct hub *h, struct peer *p, const struct sb_msg *m)
{
	assert(h != NULL && p != NULL && m != NULL);
	if (p->dead)
		return 0;
	if (m->type != SB_H_HELLO && !p->hello)
		return -EPROTO;
	if (p->checking && m->type != SB_H_EVENT && m->type != SB_H_STATUS)
		return wait_message(h, p, m);
	if (h->hold_until != 0 && m->type != SB_H_HELLO &&
	    m->type != SB_H_RESUME && m->type != SB_H_EVENT &&
	    m->type != SB_H_STATUS) {
		if (h->ops->now_usec(h) < h->hold_until &&
		    hold_message(h, p, m) == 0)
			return 0;
		hub_hold_release(h);
	}
	switch (m->type) {
	case SB_H_HELLO:
		return on_hello(h, p, m);
	case SB_H_EVENT:
		return on_event(h, p, m);
	case SB_H_STATUS:
		return on_status(h, p);
	case SB_H_IDENTIFY:
		return on_identify(h, p, m);
	case SB_H_PRIVMSG:
		return on_privmsg(h, p, m, "private");
	case SB_H_PRIVMSG_ALIAS:
		return on_privmsg_alias(h, p, m);
	case SB_H_LIST:
		return flood_ok(h, p) ? on_list(h, p) : 0;
	case SB_H_ROOMS:
		return flood_ok(h, p) ? on_rooms(h, p) : 0;
	case SB_H_JOIN:
		return on_join(h, p, m);
	case SB_H_PART:
		return on_part(h, p, m);
	case SB_H_NAMES:
		return flood_ok(h, p) ? on_names(h, p, m) : 0;
	case SB_H_ROOMMSG:
		return on_roommsg(h, p, m);
	case SB_H_NICK:
		return on_nick(h, p, m);
	case SB_H_ACTION:
		return on_action(h, p, m);
	case SB_H_PING:
		hub_send(h, p, SB_C_PONG, m->field[0], NULL);
		return 0;
	case SB_H_QUIT:
		/* Goodbye first, then the notices: the client is told its
		 * session is over before anyone else hears of it. */
		hub_peer_kill(h, p, "quit", m->flen[0] ? m->field[0] : "Quit");
		hub_peer_gone(h, p, p->kill_reason);
		return 0;
	case SB_H_RESUME:
		return on_resume(h, p, m);
	default:
		/* A C_* type from a handler. */
		return -EPROTO;
	}
}
