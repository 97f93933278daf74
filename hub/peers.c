/* SPDX-License-Identifier: ISC */
/*
 * Peers and presence.  Each handler connection is one peer, carrying one
 * client session: made when the handler connects (hub_peer_new), counted
 * as a client at HELLO, ended on purpose (hub_peer_kill: C_CLOSE, for
 * QUIT, kicks, bans, flooding) or by its handler going away
 * (hub_peer_drop), and then gone (hub_peer_gone: quit notices, out of
 * every room) and freed after the turn.  Presence, who is told of whom,
 * is presence_tell.  Also the session's own commands: HELLO, EVENT,
 * STATUS, LIST, PING, QUIT.
 */
#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <bsd/string.h>

#include "buf.h"
#include "hub.h"

static int
peer_session_cmp(struct peer *a, struct peer *b)
{
	return a->session < b->session ? -1 : a->session > b->session;
}

RB_GENERATE(peer_sessions, peer, by_session, peer_session_cmp)

/* The session numbered `session`, or NULL. */
struct peer *
hub_find_session(struct hub *h, uint64_t session)
{
	struct peer k = { 0 };	/* only the session is compared */

	k.session = session;
	return RB_FIND(peer_sessions, &h->sessions, &k);
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
	p->tokens = h->cfg.flood_burst;		/* a full bucket (flood.c) */
	p->tokens_at = h->ops->now_usec(h);
	RB_INSERT(peer_sessions, &h->sessions, p);
	return p;
}

/* Release a peer's memory; hub_peer_gone() must have run. */
void
hub_peer_free(struct hub *h, struct peer *p)
{
	struct membership *m;

	if (p == NULL)
		return;
	while ((m = TAILQ_FIRST(&p->rooms)) != NULL)
		room_leave(h, m, "", 0);
	if (p->nick[0] != '\0')
		nick_release(h, p);
	addrcount_release(h, p);
	RB_REMOVE(peer_sessions, &h->sessions, p);
	pktq_free(&p->outq);
	pktq_free(&p->waiting);
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
	p->end = metrics_end_reason(code);
	p->dead = 1;
	TAILQ_INSERT_TAIL(&h->reaplist, p, reap);
}

/*
 * An operator on node `node` kicked `p` (banned: with a ban), `told` the
 * text its client is told: as a kick on this machine (control.c), the
 * session ends at once and the others get one quit notice.
 */
void
hub_kick_remote(struct hub *h, struct peer *p, int banned, const char *told,
    const char *node)
{
	char quit[SB_REASON_MAX + 1];

	snprintf(quit, sizeof(quit), "Kicked: %s", told);
	hub_log_peer(SB_EV_KICK, p, &(struct sb_log_fields){ .reason = told },
	    "%s kicked by an operator on node %s: %s", p->nick, node, told);
	hub_peer_kill(h, p, banned ? "banned" : "kicked", told);
	hub_peer_gone(h, p, quit);
}

/*
 * hub_queue() refused a datagram for `p` (`r`): -ENOBUFS, its handler is
 * not reading (past HUB_PEER_QUEUE_MAX), or -ENOMEM.  End the session,
 * logged (slow_reader), so that it never makes the hub or the others
 * wait; its C_CLOSE takes the refused message's number.
 */
void
hub_peer_unqueued(struct hub *h, struct peer *p, int r)
{
	assert(h != NULL && p != NULL && r < 0);
	if (r != -ENOBUFS) {
		hub_peer_kill(h, p, "error", "Server out of memory");
		return;
	}
	hub_log_peer(SB_EV_SLOW_READER, p, &(struct sb_log_fields){
	    .reason = "hub queue full" }, "handler for session %llu is not "
	    "reading; disconnected", (unsigned long long)p->session);
	hub_peer_kill(h, p, "slow_reader", "Too slow to keep up with the "
	    "chat");
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
	struct sb_packet pkt;
	struct peer *q;

	if (hub_pack(h, p, &pkt, type, a, b, NULL) < 0)
		return;

	if (h->named <= h->cfg.presence_max) {
		RB_FOREACH(q, peer_nicks, &h->nicks)
			if (q != p || self)
				hub_send_packet(h, q, &pkt);
		return;
	}
	if (++h->mark == 0) {	/* wrapped: forget every old mark */
		RB_FOREACH(q, peer_sessions, &h->sessions)
			q->mark = 0;
		h->mark = 1;
	}
	p->mark = h->mark;
	if (self)
		hub_send_packet(h, p, &pkt);
	TAILQ_FOREACH(m, &p->rooms, in_peer) {
		if (room_quiet(h, m->room))
			continue;
		TAILQ_FOREACH(o, &m->room->members, in_room) {
			if (o->peer->mark == h->mark)
				continue;
			o->peer->mark = h->mark;
			hub_send_packet(h, o->peer, &pkt);
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
		if (h->ops->user_event != NULL)
			h->ops->user_event(h, p, REMOTE_QUIT, reason, NULL);
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
	if (p->counted) {
		h->metrics.sessions_ended[p->end]++;
		p->counted = 0;
	}
	addrcount_release(h, p);
}

/* Count the start of a chat session, and a handler back from a restart. */
static void
hello_count(struct hub *h, struct peer *p, uint32_t epoch)
{
	struct hub_metrics *mt = &h->metrics;

	if (p->transport == SB_TRANSPORT_XMLSOCKET ||
	    p->transport == SB_TRANSPORT_WEBSOCKET ||
	    p->transport == SB_TRANSPORT_TUNNEL) {
		p->counted = 1;
		mt->sessions_started++;
	}
	if (p->transport == SB_TRANSPORT_WEBSOCKET)	/* /chat is JSON */
		p->dialect = METRICS_DIALECT_JSON;
	if (epoch != 0 && epoch != h->epoch) {
		mt->reconnects++;
		if (epoch != mt->last_old_epoch)
			mt->epoch_changes++;
		mt->last_old_epoch = epoch;
	}
}

/*
 * Count a new chat session against its address (addrcount.c).  Over
 * max_per_address it is refused, logged and told why, and ADDR_FULL
 * returned (so is a failed allocation, as the hub cannot count it).
 */
static int
hello_per_address(struct hub *h, struct peer *p)
{
	unsigned now;
	int r = addrcount_take(h, p, &now);

	if (r == ADDR_ADMITTED)
		return r;
	hub_log_peer(SB_EV_DISCONNECT, p, &(struct sb_log_fields){
	    .reason = "too_many_connections" }, "refused a connection from %s: "
	    "%u sessions from its address already (max_per_address)",
	    p->remote, now);
	hub_peer_kill(h, p, "too_many_connections", "Too many connections "
	    "from your address");
	return ADDR_FULL;
}

/*
 * HELLO version transport remote: the first message of every handler.
 * Counts a chat session (refusing a banned address or a full server) and
 * answers C_WELCOME.  -EPROTO for a second HELLO or another version.
 */
int
cmd_hello(struct hub *h, struct peer *p, const struct sb_msg *m,
    struct cmd_args *a)
{
	long long v;
	char sess[24], epoch[24];

	if (p->hello || sb_field_num(m, 0, 1, 1000, &v) < 0 ||
	    v != SB_PROTO_VERSION)
		return -EPROTO;
	p->hello = 1;
	p->transport = sb_transport_parse(m->field[1]);
	strlcpy(p->remote, m->field[2], sizeof(p->remote));
	hello_count(h, p, m->epoch);
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
	    sb_transport_name(p->transport), p->remote[0] ? p->remote : "?");
	if (p->transport == SB_TRANSPORT_XMLSOCKET ||
	    p->transport == SB_TRANSPORT_WEBSOCKET ||
	    p->transport == SB_TRANSPORT_TUNNEL) {
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
		if (hello_per_address(h, p) != ADDR_ADMITTED)
			return 0;
		p->chat = 1;
		if (++h->clients > h->peak)
			h->peak = h->clients;
	}
	snprintf(sess, sizeof(sess), "%llu", (unsigned long long)p->session);
	snprintf(epoch, sizeof(epoch), "%lu", (unsigned long)h->epoch);
	hub_send(h, p, SB_C_WELCOME, sess, epoch, NULL);
	return 0;
}

/*
 * EVENT name detail [failure]: log what the handler saw; -EPROTO for
 * other names.  A failure (a refused handshake) is counted.
 */
int
cmd_event(struct hub *h, struct peer *p, const struct sb_msg *m,
    struct cmd_args *a)
{
	int ev = sb_event_from_name(m->field[0]);

	if (ev != SB_EV_POLICY && ev != SB_EV_HTTP && ev != SB_EV_STATUS &&
	    ev != SB_EV_PROTOCOL_ERROR && ev != SB_EV_SLOW_READER)
		return -EPROTO;
	if (m->nfields > 2 && m->flen[2] > 0)
		metrics_handshake_failed(h, m->field[2]);
	hub_log_peer(ev, p, &(struct sb_log_fields){ .reason = m->field[1] },
	    "%s from %s", m->field[0], p->remote[0] ? p->remote : "?");
	return 0;
}

/*
 * What the metrics text needs that metrics.c may not walk itself
 * (metrics.h): the connections now by transport and dialect, the bytes
 * queued for handlers, and what each row of the command `table` is.
 */
static void
view_make(struct hub *h, const struct hub_cmd *table, struct metrics_view *v)
{
	struct peer *p;
	size_t t, d;

	assert(h != NULL && table != NULL && v != NULL);
	*v = (struct metrics_view){ .queued = 0 };
	RB_FOREACH(p, peer_sessions, &h->sessions) {
		if (p->dead)
			continue;
		t = p->hello && p->transport >= 0 &&
		    p->transport < SB_TRANSPORT_COUNT ? (size_t)p->transport :
		    SB_TRANSPORT_UNKNOWN;
		d = p->dialect >= 0 && p->dialect < METRICS_DIALECT_COUNT ?
		    (size_t)p->dialect : METRICS_DIALECT_NONE;
		v->connections[t][d]++;
		v->queued += p->outq_bytes;
	}
	for (t = 0; t < SB_TYPE_COUNT; t++)
		v->cmds[t] = table[t].run == NULL ? METRICS_CMD_NONE :
		    table[t].flags & CMD_METERED ? METRICS_CMD_METERED :
		    METRICS_CMD;
}

/*
 * The metrics text now (metrics_render() of the hub's counters and of
 * view_make(), with the command table `table`: hub_cmd_table(), which
 * peers.c may not call itself) into `out`, a text buf the caller has
 * made.  Returns as metrics_render().
 */
int
hub_metrics_text(struct hub *h, const struct hub_cmd *table, struct buf *out)
{
	static struct metrics_view v;

	assert(h != NULL && out != NULL);
	view_make(h, table, &v);
	return metrics_render(h, &v, out);
}

/*
 * The metrics text (metrics_render) to `p` in C_METRICS chunks, cut
 * after a line, "more" = 1 on all but the last.  A text that cannot be
 * made (out of memory) goes as far as it got: the last chunk says so
 * with a comment line.
 */
static void
send_metrics(struct hub *h, struct peer *p, const struct hub_cmd *table)
{
	static char chunk[METRICS_CHUNK_MAX + 1];
	const char *text, *end;
	struct buf b;
	size_t n;

	buf_init(&b, METRICS_TEXT_MAX);
	if (hub_metrics_text(h, table, &b) < 0) {
		text = (const char *)buf_head(&b);
		end = memrchr(text, '\n', b.len);
		buf_truncate(&b, end != NULL ? (size_t)(end - text) + 1 : 0);
		buf_cat(&b, "# the text is incomplete: out of memory\n");
	}
	text = (const char *)buf_head(&b);
	end = text + b.len;
	do {
		n = metrics_chunk(text, (size_t)(end - text),
		    METRICS_CHUNK_MAX);
		memcpy(chunk, text, n);
		chunk[n] = '\0';
		text += n;
		hub_send(h, p, SB_C_METRICS, text < end ? "1" : "0", chunk,
		    NULL);
	} while (text < end);
	buf_free(&b);
}

/*
 * STATUS [what]: the counters of /server-status (in a cluster also the
 * node, its identified users and those of every machine), or with
 * "metrics" the metrics text (/metrics); -EPROTO for anything else.
 */
int
cmd_status(struct hub *h, struct peer *p, const struct sb_msg *m,
    struct cmd_args *a)
{
	char c[24], mx[24], cr[24], pk[24], us[24], cu[24];

	if (m->nfields > 0 && m->flen[0] > 0) {
		if (strcmp(m->field[0], "metrics") != 0)
			return -EPROTO;
		send_metrics(h, p, a->table);
		return 0;
	}

	snprintf(c, sizeof(c), "%u", h->clients);
	snprintf(mx, sizeof(mx), "%u", h->cfg.max_clients);
	snprintf(cr, sizeof(cr), "%lld", (long long)h->created);
	snprintf(pk, sizeof(pk), "%u", h->peak);
	if (h->node[0] == '\0') {
		hub_send(h, p, SB_C_STATUS, c, mx, cr, pk, NULL);
		return 0;
	}
	/* A cluster: the node, its identified users and every machine's. */
	snprintf(us, sizeof(us), "%u", h->named);
	snprintf(cu, sizeof(cu), "%u", h->named + h->rnamed);
	hub_send(h, p, SB_C_STATUS, c, mx, cr, pk, h->node, us, cu, NULL);
	return 0;
}

/* LIST: every identified nick. */
int
cmd_list(struct hub *h, struct peer *p, const struct sb_msg *m,
    struct cmd_args *a)
{
	struct chunker c = { .h = h, .p = p, .type = SB_C_NICKLIST, .room = "" };
	struct peer *o;

	struct ruser *u;

	RB_FOREACH(o, peer_nicks, &h->nicks)
		chunk_add(&c, o->nick);
	RB_FOREACH(u, rusers_by_key, &h->rkeys)
		chunk_add(&c, u->nick);
	chunk_flush(&c, 1);
	return 0;
}

/* DIALECT name: the session's dialect, for the metrics. */
int
cmd_dialect(struct hub *h, struct peer *p, const struct sb_msg *m,
    struct cmd_args *a)
{
	p->dialect = metrics_dialect_parse(m->field[0]);
	return 0;
}

/* PING token: PONG with the same token. */
int
cmd_ping(struct hub *h, struct peer *p, const struct sb_msg *m,
    struct cmd_args *a)
{
	hub_send(h, p, SB_C_PONG, m->field[0], NULL);
	return 0;
}

/*
 * QUIT reason [cause]: goodbye first, then the notices: the client is
 * told its session is over before anyone else hears of it.  The cause
 * (the client closed, a timeout...) is for the metrics.
 */
int
cmd_quit(struct hub *h, struct peer *p, const struct sb_msg *m,
    struct cmd_args *a)
{
	hub_peer_kill(h, p, "quit", m->flen[0] ? m->field[0] : "Quit");
	if (m->nfields > 1 && m->flen[1] > 0)
		p->end = metrics_end_reason(m->field[1]);
	hub_peer_gone(h, p, p->kill_reason);
	return 0;
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
