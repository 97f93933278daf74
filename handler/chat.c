/* SPDX-License-Identifier: ISC */
/*
 * The chat session, once the mode machine (modes.c) knows a connection
 * chats, over XMLSocket or WebSocket: the client's messages translated by
 * its dialect for the hub, the hub's messages rendered back and framed
 * for the client, the reply-ordering barrier, keepalive, what to resume
 * a session with after a hub restart, and what to tell the client when
 * the hub is gone for good.
 *
 * Calls down only: the dialects, the WebSocket framing (wsconn.c), the
 * hub link and the client's I/O.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include <bsd/string.h>

#include "handler.h"

#define CHAT_ERRORS_MAX	20	/* client errors before we hang up */

static const char unavailable_xml[] =
    "<error value=\"The chat server is not available; try again later.\" "
    "code=\"unavailable\" />";
static const char unavailable_json[] =
    "{\"type\":\"error\",\"code\":\"unavailable\","
    "\"text\":\"The chat server went away\",\"from\":\"\"}";

/* Before any mode: the buffers (empty), and the keepalive's clock. */
void
chat_init(struct conn *c, uint64_t now)
{
	buf_init(&c->chat.held, HANDLER_HELD_MAX);
	buf_init_fixed(&c->chat.rendered, DIALECT_OUT_MAX,
	    handler_store.rendered, sizeof(handler_store.rendered));
	c->chat.last_rx_ms = now;
}

/*
 * The connection chats, its messages framed so (`ws`: the WebSocket's
 * state for the WebSocket framings).  A WebSocket /chat speaks JSON from
 * the start; an XMLSocket session's dialect is known from its first
 * message.
 */
void
chat_start(struct conn *c, enum chat_framing framing, struct ws_conn *ws)
{
	c->chat.framing = framing;
	c->chat.ws = ws;
	c->chat.term = '\0';
	if (framing == CHAT_WS_TEXT) {
		dialect_init(&c->chat.dialect, DIALECT_JSON);
		c->chat.dialect_set = 1;
	}
}

/* The client sent something at `now`: the keepalive starts again. */
void
chat_heard(struct conn *c, uint64_t now)
{
	c->chat.last_rx_ms = now;
	c->chat.ping_sent_ms = 0;
}

/*
 * Send the client messages in `d` (each followed by a NUL, as the
 * dialects produce them) in the session's framing: XMLSocket terminators
 * (NUL, or LF for a client that uses LF), one WebSocket text frame per
 * JSON message, or one binary frame per NUL-terminated message through
 * the Flash tunnel.  A connection on its way out gets nothing more.
 */
void
chat_send(struct conn *c, const struct buf *d)
{
	struct ws_sink s = { .arg = c, .write = client_io_ws_write };
	size_t off = 0;

	if (client_io_closing(c))
		return;
	while (off < d->len) {
		const char *m = d->buf + off;
		size_t ml = strlen(m);

		switch (c->chat.framing) {
		case CHAT_WS_TEXT:
			ws_conn_send(c->chat.ws, &s, WS_OP_TEXT, m, ml);
			break;
		case CHAT_WS_TUNNEL:
			ws_conn_send(c->chat.ws, &s, WS_OP_BINARY, m, ml + 1);
			break;
		default:
			client_io_write(c, m, ml);
			client_io_write(c, &c->chat.term, 1);
			break;
		}
		off += ml + 1;
	}
}

/* The WebSocket's close handshake, if the session has a WebSocket. */
static void
chat_ws_close(struct conn *c, int code, const char *reason)
{
	struct ws_sink s = { .arg = c, .write = client_io_ws_write };

	if (c->chat.ws != NULL)
		ws_conn_close(c->chat.ws, &s, code, reason);
}

/*
 * A reply the handler makes itself (the client's command was bad) must
 * not overtake the hub's answers to the commands the client sent before
 * it.  While commands are out at the hub, such a reply waits in `held`,
 * tagged with the number of commands sent before it, and a barrier
 * follows those commands to the hub: a PING whose token, a control
 * character and that number, no client can send.  The hub answers in
 * order, so the PONG to a barrier means that the commands it counts have
 * all been answered.  Without a hub (gone, or restarting) the replies go
 * out at once.
 */
#define BARRIER_MARK	'\001'

struct held_reply {
	uint64_t	after;		/* cmds_sent when it was made */
	size_t		len;		/* bytes that follow */
};

/*
 * Send the held replies whose commands are answered (all: every one).
 * Not re-entered: a delivery that loses the hub comes back here through
 * held_release(), and the loop below then goes on with the new counts.
 */
static void
held_flush(struct conn *c, int all)
{
	struct held_reply r;
	struct buf d;

	if (c->chat.flushing)
		return;
	c->chat.flushing = 1;
	while (c->chat.held.len >= sizeof(r)) {
		memcpy(&r, buf_head(&c->chat.held), sizeof(r));
		if (!all && r.after > c->chat.cmds_answered)
			break;
		d = (struct buf){ .buf = (char *)buf_head(&c->chat.held) +
		    sizeof(r), .len = r.len };
		chat_send(c, &d);
		buf_consume(&c->chat.held, sizeof(r) + r.len);
	}
	c->chat.flushing = 0;
	if (c->chat.held.len == 0)
		buf_free(&c->chat.held);
}

/* Everything sent to the hub counts as answered: flush what is held. */
static void
held_release(struct conn *c)
{
	c->chat.cmds_answered = c->chat.barrier = c->chat.cmds_sent;
	held_flush(c, 1);
}

/*
 * Is `m` the hub's PONG to a barrier (token BARRIER_MARK and a count)?
 * Then the replies held behind the commands it counts go out: 1.
 */
static int
barrier_done(struct conn *c, const struct sb_msg *m)
{
	unsigned long long n = 0;
	size_t i;

	if (m->flen[0] < 2 || m->field[0][0] != BARRIER_MARK)
		return 0;
	for (i = 1; i < m->flen[0] && m->field[0][i] >= '0' &&
	    m->field[0][i] <= '9' && n < UINT64_MAX / 10; i++)
		n = n * 10 + (unsigned long long)(m->field[0][i] - '0');
	if (n > c->chat.cmds_answered && n <= c->chat.cmds_sent) {
		c->chat.cmds_answered = n;
		held_flush(c, 0);
	}
	return 1;
}

/* A reply of the handler's own: now, or after the hub's answers. */
static void
reply_local(struct conn *c, const struct buf *reply)
{
	struct held_reply r = { .after = c->chat.cmds_sent, .len = reply->len };
	char token[24];

	if (c->chat.cmds_answered == c->chat.cmds_sent || !hublink_ready(c) ||
	    c->chat.held.len + sizeof(r) + reply->len > c->chat.held.max) {
		/* (Too much waiting cannot happen within the error cap.) */
		held_release(c);
		chat_send(c, reply);
		return;
	}
	buf_append(&c->chat.held, &r, sizeof(r));
	buf_append(&c->chat.held, reply->buf, reply->len);
	if (c->chat.barrier < c->chat.cmds_sent) {
		snprintf(token, sizeof(token), "%c%llu", BARRIER_MARK,
		    (unsigned long long)c->chat.cmds_sent);
		/* Without the barrier nothing would release them: now. */
		if (hublink_pack(c, SB_H_PING, token, NULL) < 0)
			held_release(c);
		else
			c->chat.barrier = c->chat.cmds_sent;
	}
}

/*
 * Give up on this client (an error reply, too many of them, no answer to
 * a ping): what is held goes out, the hub is told `reason` and its
 * `cause` (hublink_quit), a WebSocket is closed with 1008, and the
 * connection closes.
 */
void
chat_end(struct conn *c, const char *reason, const char *cause)
{
	held_release(c);
	if (hublink_up(c))
		hublink_quit(c, reason, cause);
	chat_ws_close(c, WS_CLOSE_POLICY, reason);
	client_io_finish(c);
}

/* An error in the client's dialect, as if the hub had sent it. */
static void
render_error(struct conn *c, struct buf *d, const char *code,
    const char *text)
{
	struct sb_msg m = { .type = SB_C_ERROR, .nfields = 2,
	    .field = { code, text }, .flen = { strlen(code), strlen(text) } };

	dialect_render(&c->chat.dialect, &m, d);
}

/*
 * The "not available" error, as the session's client reads errors: JSON
 * on /chat, XML (the replies of the text dialect too) otherwise.
 */
static void
unavailable_message(const struct conn *c, struct buf *d)
{
	if (c->chat.framing == CHAT_WS_TEXT)
		buf_catlen(d, unavailable_json, sizeof(unavailable_json));
	else
		buf_catlen(d, unavailable_xml, sizeof(unavailable_xml));
}

/* Tell the client the chat server is gone, and hang up. */
void
chat_unavailable(struct conn *c)
{
	struct buf d;

	buf_init(&d, 1024);
	unavailable_message(c, &d);
	chat_send(c, &d);
	buf_free(&d);
	chat_ws_close(c, WS_CLOSE_GOING_AWAY, "Server unavailable");
	client_io_finish(c);
}

/*
 * The dialect built a command for the hub (in hublink_tx()): send it, and
 * count it for the barrier.  A QUIT is remembered (the session then ends,
 * whatever happens to the hub).  If the hub cannot take it, the client
 * hears why, in `reply`'s stead.
 */
static void
to_hub(struct conn *c, struct buf *reply)
{
	if (c->chat.dialect.sent == SB_H_QUIT)
		c->chat.quitting = 1;
	if (hublink_send(c, hublink_tx()) == 0) {
		c->chat.cmds_sent++;
		return;
	}
	buf_truncate(reply, 0);
	if (c->hub.reconnecting) {
		/* The backlog for the new hub is full. */
		render_error(c, reply, "busy", "The server is restarting; "
		    "message dropped, send it again.");
		chat_send(c, reply);
	} else {
		unavailable_message(c, reply);
		chat_send(c, reply);
		chat_end(c, "Hub unavailable", "error");
	}
}

/*
 * One complete message from the client, msg[0..len), in its dialect; an
 * XMLSocket client's `term` ('\0' or '\n': how it ended the message, and
 * how replies will end), or -1 for a framing of WebSocket frames.  An
 * empty message only tells the terminator.
 */
void
chat_client_message(struct conn *c, const char *msg, size_t len, int term)
{
	struct buf reply;
	int r;

	if (term >= 0)
		c->chat.term = (char)term;
	if (len == 0)
		return;
	if (!c->chat.dialect_set) {
		dialect_init(&c->chat.dialect, dialect_detect(msg, len));
		c->chat.dialect_set = 1;
		/* For the metrics; the hub takes /chat for JSON itself. */
		(void)hublink_pack(c, SB_H_DIALECT,
		    dialect_name(c->chat.dialect.kind), NULL);
	}
	c->chat.dialect.session = c->hub.session;
	buf_init(&reply, DIALECT_OUT_MAX);
	r = dialect_parse(&c->chat.dialect, msg, len, hublink_tx(), &reply);
	if (r == DIALECT_TO_HUB)
		to_hub(c, &reply);
	else if (r == DIALECT_REPLY) {
		reply_local(c, &reply);
		hublink_event(c, "protocol_error", "%.200s",
		    reply.len ? reply.buf : "bad message");
		if (++c->chat.errors >= CHAT_ERRORS_MAX)
			chat_end(c, "Too many protocol errors", "error");
	} else if (r < 0)
		chat_end(c, "Internal error", "error");
	buf_free(&reply);
}

/*
 * Follow this session's rooms and member id in the hub's messages, so
 * that a new hub can be told after a restart.  The nick is the dialect's
 * (it follows IDENTIFIED and NICKCHANGE to render "you" messages), and so
 * is the seed-003 id the client identified with (dialect_pack).
 */
static void
track_session(struct conn *c, const struct sb_msg *m)
{
	struct chat *ch = &c->chat;
	unsigned i;

	switch (m->type) {
	case SB_C_IDENTIFIED:
		strlcpy(ch->member, m->nfields > 3 ? m->field[3] : "",
		    sizeof(ch->member));
		break;
	case SB_C_JOINED:
		if (!dialect_is_self(&ch->dialect, m->field[1]) ||
		    ch->nrooms >= HANDLER_ROOMS_MAX)
			break;
		for (i = 0; i < ch->nrooms; i++)
			if (strcmp(ch->rooms[i], m->field[0]) == 0)
				return;
		strlcpy(ch->rooms[ch->nrooms++], m->field[0], SB_ROOM_MAX + 1);
		break;
	case SB_C_PARTED:
		if (!dialect_is_self(&ch->dialect, m->field[1]))
			break;
		for (i = 0; i < ch->nrooms; i++)
			if (strcmp(ch->rooms[i], m->field[0]) == 0) {
				memmove(ch->rooms[i], ch->rooms[i + 1],
				    (ch->nrooms - i - 1) * sizeof(ch->rooms[0]));
				ch->nrooms--;
				break;
			}
		break;
	default:
		break;
	}
}

/*
 * Render one hub message for the client and send it.  What one message
 * becomes is kept from message to message (emptied, not freed) until the
 * handler goes idle (chat_idle) or it grew past HANDLER_TRIM_BYTES.  A
 * message the dialect cannot render (over DIALECT_OUT_MAX) is not shown.
 */
static void
render(struct conn *c, const struct sb_msg *m)
{
	buf_truncate(&c->chat.rendered, 0);
	if (dialect_render(&c->chat.dialect, m, &c->chat.rendered) >= 0)
		chat_send(c, &c->chat.rendered);
	if (c->chat.rendered.size > HANDLER_TRIM_BYTES ||
	    sb_msg_size(m) > HANDLER_TRIM_BYTES / 4) {
		c->trim = 1;	/* a long list was rendered */
		buf_free(&c->chat.rendered);
	}
}

/*
 * A message from the hub for this session (`lost`: how many before it
 * went missing, hublink.c).  A barrier's PONG releases held replies; the
 * rest is rendered for the client; a C_CLOSE ends the session.
 */
void
chat_hub_message(struct conn *c, const struct sb_msg *m, uint64_t lost)
{
	track_session(c, m);
	/* The client's own numbering (JSON seq) shows the loss. */
	if (lost > 0 && c->chat.dialect_set)
		dialect_lost(&c->chat.dialect, m->epoch, lost);
	if (m->type == SB_C_PONG && barrier_done(c, m))
		return;
	if (m->type == SB_C_CLOSE)
		c->chat.ended = 1;	/* never resumed, whatever comes next */
	if (!c->chat.dialect_set) {
		if (m->type != SB_C_CLOSE)
			return;
		/*
		 * Refused before it said anything (server full).  An
		 * XMLSocket client, direct or through the /xmlsocket tunnel,
		 * reads the <close> element first.
		 */
		dialect_init(&c->chat.dialect, DIALECT_TEXT);
		c->chat.dialect_set = 1;
	}
	render(c, m);
	/* Seed 001: the server shows the room list right after a login. */
	if (m->type == SB_C_IDENTIFIED &&
	    c->chat.dialect.kind == DIALECT_XML &&
	    hublink_pack(c, SB_H_ROOMS, NULL) == 0)
		c->chat.cmds_sent++;	/* a command too: answers wait for it */
	if (m->type == SB_C_CLOSE) {
		chat_ws_close(c, chat_close_code(m->field[0]), m->field[1]);
		client_io_finish(c);
	}
}

/*
 * The hub went away (its socket is closed).  A session that was over
 * (the client quit, the hub ended it) ends; any other waits for a new hub
 * (a restart), and what the client sends meanwhile waits in the hub
 * link's backlog.
 */
void
chat_hub_lost(struct conn *c)
{
	held_release(c);	/* the barrier went with the hub */
	if (c->chat.quitting || c->chat.ended) {
		hublink_drop_queue(c);
		chat_ws_close(c, c->chat.quitting ? WS_CLOSE_NORMAL :
		    WS_CLOSE_GOING_AWAY, "Session ended");
		client_io_finish(c);
		return;
	}
	hublink_wait(c, now_ms());
	sb_log(LOG_WARNING, "the hub went away; %s waits for it",
	    c->chat.dialect.nick[0] ? c->chat.dialect.nick : c->remote);
}

/*
 * While the hub is away: let the hub link try again, with what to resume
 * the session with.  If it gives up, so does the session.  (Called only
 * then: the rooms' list is built on the stack.)
 */
static void
reconnect(struct conn *c, uint64_t now)
{
	char rooms[HANDLER_ROOMS_MAX * (SB_ROOM_MAX + 1) + 1];
	const char *who = c->chat.dialect.nick[0] ? c->chat.dialect.nick :
	    c->remote;
	struct hub_resume r = { .nick = c->chat.dialect.nick, .rooms = rooms,
	    .alias = c->chat.dialect.alias, .member = c->chat.member,
	    .dialect = c->chat.dialect_set ?
	    dialect_name(c->chat.dialect.kind) : "" };
	unsigned i;

	rooms[0] = '\0';
	for (i = 0; i < c->chat.nrooms; i++) {
		if (i > 0)
			strlcat(rooms, " ", sizeof(rooms));
		strlcat(rooms, c->chat.rooms[i], sizeof(rooms));
	}
	switch (hublink_retry(c, now, &r)) {
	case 0:
		return;
	case 1:
		sb_log(LOG_NOTICE, "reconnected to the hub for %s", who);
		return;
	default:
		sb_log(LOG_ERR, "%s; giving up after %d s", c->hub.error,
		    HANDLER_RECONNECT_MS / 1000);
		chat_unavailable(c);
		return;
	}
}

/*
 * Keepalive: ping when the client was idle_timeout quiet, end the session
 * when the ping is not answered in ping_timeout.  Returns when to look
 * again.
 */
static uint64_t
keepalive(struct conn *c, uint64_t now)
{
	uint64_t idle = c->cfg.idle_timeout * 1000ULL;
	uint64_t wait = c->cfg.ping_timeout * 1000ULL;
	struct ws_sink s = { .arg = c, .write = client_io_ws_write };

	if (c->chat.ping_sent_ms != 0 && now >= c->chat.ping_sent_ms + wait) {
		hublink_event(c, "protocol_error", "no answer to a ping in %u s",
		    c->cfg.ping_timeout);
		chat_end(c, "Ping timeout", "timeout");
		return 0;
	}
	if (c->chat.ping_sent_ms == 0 && now >= c->chat.last_rx_ms + idle) {
		c->chat.ping_sent_ms = now;
		/* WebSocket: a ping frame, and the dialect's own ping too. */
		if (c->chat.ws != NULL)
			ws_conn_send(c->chat.ws, &s, WS_OP_PING, "keepalive", 9);
		if (c->chat.dialect_set) {
			struct sb_msg m = { .type = SB_C_PING, .nfields = 1,
			    .field = { "keepalive" }, .flen = { 9 } };
			struct buf d;

			buf_init(&d, 1024);
			if (dialect_render(&c->chat.dialect, &m, &d) >= 0)
				chat_send(c, &d);
			buf_free(&d);
		}
	}
	return c->chat.ping_sent_ms ? c->chat.ping_sent_ms + wait :
	    c->chat.last_rx_ms + idle;
}

/*
 * The session's timers, at `now`: reconnecting to a hub that went away,
 * and keepalive.  Returns the next time it wants to be called, or 0.
 */
uint64_t
chat_tick(struct conn *c, uint64_t now)
{
	if (hublink_deadline(c) != 0 && now >= hublink_deadline(c))
		reconnect(c, now);
	if (client_io_closing(c))
		return 0;
	return keepalive(c, now);
}

/*
 * The WebSocket close code for the hub's C_CLOSE `code`.  Codes 4000-4999
 * are the application's own (RFC 6455, 7.4.2): they tell a client such
 * as the built-in page whether to reconnect.  docs/protocol.md lists
 * them; keep the two in step.
 */
static const struct {
	const char	*code;
	uint16_t	 ws;
} close_codes[] = {
	{ "quit",		WS_CLOSE_NORMAL },
	{ "server_full",	WS_CLOSE_TRY_AGAIN },
	{ "too_many_connections", WS_CLOSE_TRY_AGAIN },
	{ "kicked",		4000 },
	{ "banned",		4001 },
	{ "flood",		4002 },
	{ "slow_reader",	4003 },
	{ "ended",		4004 },
	{ "login_disabled",	4005 },
	{ "protocol_error",	WS_CLOSE_POLICY },
};

/* The WebSocket close code for C_CLOSE's `code` (1001 if not listed). */
uint16_t
chat_close_code(const char *code)
{
	size_t i;

	for (i = 0; i < sizeof(close_codes) / sizeof(close_codes[0]); i++)
		if (strcmp(code, close_codes[i].code) == 0)
			return close_codes[i].ws;
	return WS_CLOSE_GOING_AWAY;
}

/* The handler is idle: free what only a busy session needs at hand. */
void
chat_idle(struct conn *c)
{
	buf_free(&c->chat.rendered);	/* sent already */
	buf_idle(&c->chat.rendered);
	dialect_json_trim();
}

void
chat_free(struct conn *c)
{
	if (c->chat.dialect_set)
		dialect_free(&c->chat.dialect);
	buf_free(&c->chat.held);
	buf_free(&c->chat.rendered);
}
