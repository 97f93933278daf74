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

/* The session numbered `session`, or NULL. */
struct peer *
hub_find_session(struct hub *h, uint64_t session)
{
	struct peer k;	/* only the session is compared */

	k.session = session;
	return RB_FIND(peer_sessions, &h->sessions, &k);
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
void
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
	struct peer *p;

	h->hold_until = 0;
	while ((x = TAILQ_FIRST(&h->held)) != NULL) {
		TAILQ_REMOVE(&h->held, x, entry);
		h->held_bytes -= x->len;
		p = hub_find_session(h, x->session);
		if (p != NULL && !p->dead && sb_msg_decode(&m, x->buf, x->len) == 0 &&
		    hub_dispatch(h, p, &m) < 0)
			hub_peer_kill(h, p, "protocol_error", "Internal error");
		free(x);
	}
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
 * The password workers' answer for `session` (`match`: 1 when the
 * password was right): the login goes on (login_checked, identity.c),
 * then the messages its session sent meanwhile, in order.
 */
void
hub_password_checked(struct hub *h, uint64_t session, int match)
{
	struct peer *p;

	assert(h != NULL);
	if ((p = login_checked(h, session, match)) != NULL)
		waiting_release(h, p);
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
