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
peer_session_cmp(struct peer *a, struct peer *b)
{
	return a->session < b->session ? -1 : a->session > b->session;
}

RB_GENERATE(peer_sessions, peer, by_session, peer_session_cmp)


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

	if (h == NULL)
		return;
	while (!TAILQ_EMPTY(&h->held)) {
		struct held *x = TAILQ_FIRST(&h->held);

		TAILQ_REMOVE(&h->held, x, entry);
		free(x);
	}
	RB_FOREACH_SAFE(p, peer_sessions, &h->sessions, pn)
		hub_peer_free(h, p);
	rooms_free(h);
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
		nick_release(h, p);
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
		nick_release(h, p);
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

/*
 * HELLO version transport remote: the first message of every handler.
 * Counts a chat session (refusing a banned address or a full server) and
 * answers C_WELCOME.  -EPROTO for a second HELLO or another version.
 */
static int
cmd_hello(struct hub *h, struct peer *p, const struct sb_msg *m,
    struct cmd_args *a)
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

/* EVENT name detail: log what the handler saw; -EPROTO for other names. */
static int
cmd_event(struct hub *h, struct peer *p, const struct sb_msg *m,
    struct cmd_args *a)
{
	int ev = sb_event_from_name(m->field[0]);

	if (ev != SB_EV_POLICY && ev != SB_EV_HTTP && ev != SB_EV_STATUS &&
	    ev != SB_EV_PROTOCOL_ERROR && ev != SB_EV_SLOW_READER)
		return -EPROTO;
	hub_log_peer(ev, p, &(struct sb_log_fields){ .reason = m->field[1] },
	    "%s from %s", m->field[0], p->remote[0] ? p->remote : "?");
	return 0;
}

/* STATUS: the counters of /server-status. */
static int
cmd_status(struct hub *h, struct peer *p, const struct sb_msg *m,
    struct cmd_args *a)
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
 * Identify `p` as `nick` (already checked) and tell everyone.  `id` is
 * the member id, or NULL for a guest (whose id is the session number).
 */
static int
identify_as(struct hub *h, struct peer *p, const char *nick,
    const struct nick_id *nid, const char *id)
{
	char sess[24];

	nick_claim(h, p, nick, nid);
	snprintf(sess, sizeof(sess), "%llu", (unsigned long long)p->session);
	hub_send(h, p, SB_C_IDENTIFIED, p->nick, p->name, id ? id : sess,
	    id ? id : "", NULL);
	presence_tell(h, p, 0, SB_C_LOGIN, p->nick, p->name);
	hub_log_peer(SB_EV_LOGIN, p, NULL, "%s identified", p->nick);
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
cmd_resume(struct hub *h, struct peer *p, const struct sb_msg *m,
    struct cmd_args *a)
{
	char list[SB_LIST_MAX / 2 + 1], *s = list, *t;
	struct nick_id nid;
	long long alias = 0;
	const char *why;
	struct peer *o;
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
		    nick_clash(h, p, &nid, &o) != NICK_FREE) {
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
		nick_claim(h, p, m->field[0], &nid);
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
 * when it looks like a member's nick, or like the nick of session `o`
 * (nick_clash said NICK_LOOKALIKE; NULL: no session's), without being
 * that nick (UTS #39 skeletons, docs/protocol.md): error nick_confusable
 * and an event.  Returns 1 when refused.
 */
static int
nick_looks_taken(struct hub *h, struct peer *p, const char *nick,
    const struct nick_id *nid, const struct peer *o)
{
	const struct member *mem = h->members == NULL ? NULL :
	    members_confusable(h->members, nid);
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
	enum nick_clash clash;
	const char *why;
	struct nick_id nid;
	struct peer *o;
	char idbuf[24];

	if (nick_identify(nick, &nid, &why) < 0)
		return login_failed(h, p, NULL, "nick_invalid", why, why);
	if (nick_banned(h, p, nick))
		return 0;
	if ((clash = nick_clash(h, p, &nid, &o)) == NICK_TAKEN)
		return login_failed(h, p, nick, "nick_taken",
		    "Nick is already in use.", "nick in use");
	if (nick_looks_taken(h, p, nick, &nid, clash == NICK_LOOKALIKE ? o :
	    NULL))
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

/* Is this IDENTIFY a member login (a password to check)? */
static int
identify_is_member(const struct hub *h, const struct sb_msg *m)
{
	return h->cfg.auth == AUTH_MEMBERS ||
	    (h->cfg.auth == AUTH_BOTH && m->field[1][0] != '\0');
}

/*
 * IDENTIFY's check: refuse a second IDENTIFY and a bad alias (a->num
 * gets the alias, 0 for none).  A member login goes on metered: each
 * costs a crypt(3); a guest login costs nothing (CMD_GO_FREE).
 */
static int
cmd_identify_check(struct hub *h, struct peer *p, const struct sb_msg *m,
    struct cmd_args *a)
{
	if (p->nick[0] != '\0') {
		send_error(h, p, "already_identified", "Already identified.");
		return CMD_DONE;
	}
	if (m->flen[2] > 0 && sb_field_num(m, 2, 1, INT64_MAX, &a->num) < 0) {
		send_error(h, p, "bad_id", "The id must be a positive number.");
		return CMD_DONE;
	}
	return identify_is_member(h, m) ? CMD_GO : CMD_GO_FREE;
}

/*
 * IDENTIFY nick password [alias].  With auth = guest any free nick is
 * taken; with members the password is checked against the member store
 * (crypt(3) in a worker, identify_member); with both, an empty password
 * asks for a guest nick, and members' nicks are reserved.
 */
static int
cmd_identify(struct hub *h, struct peer *p, const struct sb_msg *m,
    struct cmd_args *a)
{
	const char *nick = m->field[0], *pass = m->field[1];

	if (identify_is_member(h, m))
		return identify_member(h, p, nick, pass, (uint64_t)a->num);
	if (nick_reserved(h, nick))
		return login_failed(h, p, nick, "nick_reserved", "This nick "
		    "belongs to a member; give its password.", "nick reserved");
	return identify_finish(h, p, nick, 0, (uint64_t)a->num);
}

/* LIST: every identified nick. */
static int
cmd_list(struct hub *h, struct peer *p, const struct sb_msg *m,
    struct cmd_args *a)
{
	struct chunker c = { .h = h, .p = p, .type = SB_C_NICKLIST, .room = "" };
	struct peer *o;

	RB_FOREACH(o, peer_nicks, &h->nicks)
		chunk_add(&c, o->nick);
	chunk_flush(&c, 1);
	return 0;
}

/*
 * NICK's check: the nick rules, a guest's nick only, no member's nick,
 * no nick in use or looking like one, no banned nick.  a->nid gets the
 * new nick's comparison key and skeletons.
 */
static int
cmd_nick_check(struct hub *h, struct peer *p, const struct sb_msg *m,
    struct cmd_args *a)
{
	enum nick_clash clash;
	const char *why;
	struct peer *o;

	if (nick_identify(m->field[0], &a->nid, &why) < 0) {
		send_error(h, p, "nick_invalid", why);
		return CMD_DONE;
	}
	if (h->cfg.auth == AUTH_MEMBERS) {
		send_error(h, p, "nick_fixed", "Members keep their member "
		    "nick.");
		return CMD_DONE;
	}
	if (nick_reserved(h, m->field[0])) {
		send_error(h, p, "nick_reserved", "This nick belongs to a "
		    "member.");
		return CMD_DONE;
	}
	if ((clash = nick_clash(h, p, &a->nid, &o)) == NICK_TAKEN) {
		send_error(h, p, "nick_taken", "Nick is already in use.");
		return CMD_DONE;
	}
	if (nick_looks_taken(h, p, m->field[0], &a->nid,
	    clash == NICK_LOOKALIKE ? o : NULL) ||
	    nick_banned(h, p, m->field[0]))
		return CMD_DONE;
	return CMD_GO;
}

/* NICK new: change the sender's nick and tell everyone who sees it. */
static int
cmd_nick(struct hub *h, struct peer *p, const struct sb_msg *m,
    struct cmd_args *a)
{
	char old[SB_NICK_MAX + 1];

	strlcpy(old, p->nick, sizeof(old));
	nick_claim(h, p, m->field[0], &a->nid);
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

/* PING token: PONG with the same token. */
static int
cmd_ping(struct hub *h, struct peer *p, const struct sb_msg *m,
    struct cmd_args *a)
{
	hub_send(h, p, SB_C_PONG, m->field[0], NULL);
	return 0;
}

/*
 * QUIT reason: goodbye first, then the notices: the client is told its
 * session is over before anyone else hears of it.
 */
static int
cmd_quit(struct hub *h, struct peer *p, const struct sb_msg *m,
    struct cmd_args *a)
{
	hub_peer_kill(h, p, "quit", m->flen[0] ? m->field[0] : "Quit");
	hub_peer_gone(h, p, p->kill_reason);
	return 0;
}

/*
 * The command table: one row per message a handler may send, indexed by
 * its type (common/proto.h), in the manner of Redis's command table.
 * This is the one place that says what each command needs and what it
 * costs; hub_dispatch() reads its policy from here and nowhere else.
 *
 *   check	NULL, or what must hold before the command costs anything:
 *		answers the client itself (an error) and returns CMD_DONE,
 *		or CMD_GO / CMD_GO_FREE, or a negative errno.  What it
 *		found goes to run in struct cmd_args.
 *   run	the command.  Returns 0, or a negative errno when the
 *		handler broke the contract (the caller ends the handler).
 *   flags	CMD_FIRST	may come before HELLO (only HELLO)
 *		CMD_IDENTIFIED	the sender must be identified, else the
 *				error not_identified (free)
 *		CMD_METERED	costs one flood token once past its check
 *				(flood_ok: the command is dropped when the
 *				bucket is empty).  The metered commands are
 *				those that cost others or the hub something:
 *				messages, actions, nick changes, JOIN, PART,
 *				the lists, and member logins (a crypt(3)
 *				each; IDENTIFY's check lets guests through
 *				free with CMD_GO_FREE).
 *		CMD_UNHELD	never held while sessions resume after a
 *				restart (hub_hold_release)
 *		CMD_NOWAIT	never waits behind the sender's password
 *				check (wait_message)
 *
 * A per-command counter (calls, refusals) would sit beside this table,
 * indexed the same way, counted in cmd_run(), the one place every
 * command passes with its row.
 */
static const struct hub_cmd hub_cmds[SB_TYPE_COUNT] = {
/*	 type			  check			run		flags */
	[SB_H_HELLO] =		{ NULL,			cmd_hello,
				  CMD_FIRST | CMD_UNHELD },
	[SB_H_EVENT] =		{ NULL,			cmd_event,
				  CMD_UNHELD | CMD_NOWAIT },
	[SB_H_STATUS] =		{ NULL,			cmd_status,
				  CMD_UNHELD | CMD_NOWAIT },
	[SB_H_RESUME] =		{ NULL,			cmd_resume,
				  CMD_UNHELD },
	[SB_H_IDENTIFY] =	{ cmd_identify_check,	cmd_identify,
				  CMD_METERED },
	[SB_H_NICK] =		{ cmd_nick_check,	cmd_nick,
				  CMD_IDENTIFIED | CMD_METERED },
	[SB_H_PRIVMSG] =	{ NULL,			cmd_privmsg,
				  CMD_IDENTIFIED | CMD_METERED },
	[SB_H_PRIVMSG_ALIAS] =	{ cmd_privmsg_alias_check, cmd_privmsg_alias,
				  CMD_IDENTIFIED | CMD_METERED },
	[SB_H_ROOMMSG] =	{ cmd_roommsg_check,	cmd_roommsg,
				  CMD_IDENTIFIED | CMD_METERED },
	[SB_H_ACTION] =		{ cmd_action_check,	cmd_action,
				  CMD_IDENTIFIED | CMD_METERED },
	[SB_H_JOIN] =		{ NULL,			cmd_join,
				  CMD_IDENTIFIED | CMD_METERED },
	[SB_H_PART] =		{ NULL,			cmd_part,
				  CMD_IDENTIFIED | CMD_METERED },
	[SB_H_LIST] =		{ NULL,			cmd_list,
				  CMD_METERED },
	[SB_H_ROOMS] =		{ NULL,			cmd_rooms,
				  CMD_METERED },
	[SB_H_NAMES] =		{ NULL,			cmd_names,
				  CMD_METERED },
	[SB_H_PING] =		{ NULL,			cmd_ping,	0 },
	[SB_H_QUIT] =		{ NULL,			cmd_quit,	0 },
};

/* The row of message type `type`, or NULL: not a command (a C_* type). */
static const struct hub_cmd *
cmd_find(unsigned type)
{
	if (type >= SB_TYPE_COUNT || hub_cmds[type].run == NULL)
		return NULL;
	return &hub_cmds[type];
}

/*
 * Run command `c` for `p` as its row says: identified or not_identified,
 * the check, one flood token, then the command.  Returns as c->run.
 */
static int
cmd_run(struct hub *h, struct peer *p, const struct sb_msg *m,
    const struct hub_cmd *c)
{
	struct cmd_args a = { 0 };
	int v = CMD_GO;

	if ((c->flags & CMD_IDENTIFIED) && p->nick[0] == '\0')
		return send_error(h, p, "not_identified", "Not identified.");
	if (c->check != NULL && (v = c->check(h, p, m, &a)) <= CMD_DONE)
		return v < 0 ? v : 0;
	if ((c->flags & CMD_METERED) && v != CMD_GO_FREE && !flood_ok(h, p))
		return 0;
	return c->run(h, p, m, &a);
}

/*
 * Act on one message from a handler.  Returns 0, or a negative errno when
 * the handler broke the contract (the caller closes it).  Before its
 * command runs, a message may wait: behind its sender's password check
 * (wait_message), or while sessions resume after a restart
 * (hold_message); the rows' CMD_NOWAIT and CMD_UNHELD exempt it.
 */
int
hub_dispatch(struct hub *h, struct peer *p, const struct sb_msg *m)
{
	const struct hub_cmd *c = cmd_find(m->type);
	unsigned flags = c != NULL ? c->flags : 0;

	assert(h != NULL && p != NULL && m != NULL);
	if (p->dead)
		return 0;
	if (!(flags & CMD_FIRST) && !p->hello)
		return -EPROTO;
	if (p->checking && !(flags & CMD_NOWAIT))
		return wait_message(h, p, m);
	if (h->hold_until != 0 && !(flags & CMD_UNHELD)) {
		if (h->ops->now_usec(h) < h->hold_until &&
		    hold_message(h, p, m) == 0)
			return 0;
		hub_hold_release(h);
	}
	if (c == NULL)		/* a C_* type from a handler */
		return -EPROTO;
	return cmd_run(h, p, m, c);
}
