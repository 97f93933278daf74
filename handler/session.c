/* SPDX-License-Identifier: ISC */
/*
 * What the bytes of a connection mean, mode by mode: sniffing, HTTP,
 * XMLSocket chat, WebSocket (chat, Flash tunnel, echo), and the hub's
 * messages going back to the client in its own dialect.
 */
#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include <bsd/string.h>

#include "handler.h"

#define SESSION_ERRORS_MAX	20	/* client errors before we hang up */

static int errors;			/* client errors on this connection */

static const char unavailable_xml[] =
    "<error value=\"The chat server is not available; try again later.\" "
    "code=\"unavailable\" />";
static const char unavailable_json[] =
    "{\"type\":\"error\",\"code\":\"unavailable\","
    "\"text\":\"The chat server went away\",\"from\":\"\"}";

/*
 * Send the client messages in `d` (each followed by a NUL, as the
 * dialects produce them) in the way this connection needs: XMLSocket
 * terminators (NUL, or LF for a client that uses LF), one WebSocket text
 * frame per JSON message, or one binary frame per NUL-terminated message
 * through the Flash tunnel.
 */
static void
deliver(struct conn *c, const struct dbuf *d);

static void
ws_out(void *arg, const unsigned char *p, size_t len)
{
	conn_write(arg, p, len);
}

static void	ws_message(void *, int, const unsigned char *, size_t);

static const struct ws_sink *
sink(struct conn *c)
{
	static struct ws_sink s = { .message = ws_message, .write = ws_out };

	s.arg = c;
	return &s;
}

static void
deliver(struct conn *c, const struct dbuf *d)
{
	size_t off = 0;

	/* A connection on its way out gets nothing more (and the framing
	 * is the session's, not the mode's: a closing WebSocket is still one). */
	if (c->done)
		return;
	while (off < d->len) {
		const char *m = d->buf + off;
		size_t ml = strlen(m);

		if (c->ws_active && c->ws_kind == WSK_CHAT)
			ws_conn_send(&c->ws, sink(c), WS_OP_TEXT, m, ml);
		else if (c->ws_active)
			ws_conn_send(&c->ws, sink(c), WS_OP_BINARY, m, ml + 1);
		else {
			conn_write(c, m, ml);
			conn_write(c, &c->term, 1);
		}
		off += ml + 1;
	}
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
	static int flushing;
	struct held_reply r;
	struct dbuf d;

	if (flushing)
		return;
	flushing = 1;
	while (c->held.len >= sizeof(r)) {
		memcpy(&r, buf_head(&c->held), sizeof(r));
		if (!all && r.after > c->cmds_answered)
			break;
		d = (struct dbuf){ .buf = (char *)buf_head(&c->held) +
		    sizeof(r), .len = r.len };
		deliver(c, &d);
		buf_consume(&c->held, sizeof(r) + r.len);
	}
	flushing = 0;
	if (c->held.len == 0)
		buf_free(&c->held);
}

/* Everything sent to the hub counts as answered: flush what is held. */
static void
held_release(struct conn *c)
{
	c->cmds_answered = c->barrier = c->cmds_sent;
	held_flush(c, 1);
}

/* The hub's PONG to a barrier: token BARRIER_MARK and a count. */
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
	if (n > c->cmds_answered && n <= c->cmds_sent) {
		c->cmds_answered = n;
		held_flush(c, 0);
	}
	return 1;
}

/* A reply of the handler's own: now, or after the hub's answers. */
static void
reply_local(struct conn *c, const struct dbuf *reply)
{
	struct held_reply r = { .after = c->cmds_sent, .len = reply->len };
	char token[24];

	if (c->cmds_answered == c->cmds_sent || c->hub_fd < 0 ||
	    c->reconnecting || !c->hello_sent ||
	    c->held.len + sizeof(r) + reply->len > c->held.max) {
		/* (Too much waiting cannot happen within the error cap.) */
		held_release(c);
		deliver(c, reply);
		return;
	}
	buf_append(&c->held, &r, sizeof(r));
	buf_append(&c->held, reply->buf, reply->len);
	if (c->barrier < c->cmds_sent) {
		snprintf(token, sizeof(token), "%c%llu", BARRIER_MARK,
		    (unsigned long long)c->cmds_sent);
		if (conn_hub_pack(c, SB_H_PING, token, NULL) < 0)
			held_release(c);
		else
			c->barrier = c->cmds_sent;
	}
}

/* Give up on this client after an error reply, or too many of them. */
static void
session_end(struct conn *c, const char *reason)
{
	held_release(c);
	if (c->hub_fd >= 0 && c->hello_sent)
		conn_hub_pack(c, SB_H_QUIT, reason, NULL);
	if (c->mode == MODE_WEBSOCKET && c->ws_active)
		ws_conn_close(&c->ws, sink(c), WS_CLOSE_POLICY, reason);
	conn_finish(c);
}

/* An error in the client's dialect, as if the hub had sent it. */
static void
render_error(struct conn *c, struct dbuf *d, const char *code,
    const char *text)
{
	struct sb_msg m = { .type = SB_C_ERROR, .nfields = 2,
	    .field = { code, text }, .flen = { strlen(code), strlen(text) } };

	dialect_render(&c->dialect, &m, d);
}

/*
 * What the handler must remember of a command it sends: the seed-003 id
 * of an IDENTIFY (for a resume), and that the client said QUIT (the
 * session then ends, whatever happens to the hub).  The type is read
 * from the header; only an IDENTIFY is decoded.
 */
static void
remember_command(struct conn *c, const struct sb_packet *p)
{
	struct sb_hdr hd;
	struct sb_msg m;

	memcpy(&hd, p->buf, sizeof(hd));
	if (hd.type == SB_H_QUIT)
		c->quitting = 1;
	else if (hd.type == SB_H_IDENTIFY &&
	    sb_msg_decode(&m, p->buf, p->len) == 0)
		strlcpy(c->alias, m.field[2], sizeof(c->alias));
}

/*
 * Follow this session's nick and rooms in the hub's messages, so that a
 * new hub can be told after a restart.
 */
static void
track_session(struct conn *c, const struct sb_msg *m)
{
	unsigned i;

	switch (m->type) {
	case SB_C_IDENTIFIED:
		strlcpy(c->nick, m->field[0], sizeof(c->nick));
		strlcpy(c->member, m->nfields > 3 ? m->field[3] : "",
		    sizeof(c->member));
		break;
	case SB_C_NICKCHANGE:
		if (strcmp(m->field[0], c->nick) == 0)
			strlcpy(c->nick, m->field[1], sizeof(c->nick));
		break;
	case SB_C_JOINED:
		if (strcmp(m->field[1], c->nick) != 0 ||
		    c->nrooms >= HANDLER_ROOMS_MAX)
			break;
		for (i = 0; i < c->nrooms; i++)
			if (strcmp(c->rooms[i], m->field[0]) == 0)
				return;
		strlcpy(c->rooms[c->nrooms++], m->field[0], SB_ROOM_MAX + 1);
		break;
	case SB_C_PARTED:
		if (strcmp(m->field[1], c->nick) != 0)
			break;
		for (i = 0; i < c->nrooms; i++)
			if (strcmp(c->rooms[i], m->field[0]) == 0) {
				memmove(c->rooms[i], c->rooms[i + 1],
				    (c->nrooms - i - 1) * sizeof(c->rooms[0]));
				c->nrooms--;
				break;
			}
		break;
	default:
		break;
	}
}

/*
 * Every datagram from the hub carries its epoch and the next number of
 * this session's sequence: a number skipped is a message lost, which the
 * hub never does while both sides live (docs/delivery.md).  Log it, and
 * let the dialect's own numbering of what the client sees skip too.
 */
static void
check_sequence(struct conn *c, const struct sb_msg *m)
{
	if (m->epoch == 0)
		return;
	if (m->epoch == c->epoch && m->seq != c->seq + 1) {
		sb_log(LOG_WARNING, "hub epoch %lu: sequence %llu after %llu "
		    "(%s)", (unsigned long)m->epoch, (unsigned long long)m->seq,
		    (unsigned long long)c->seq, m->seq <= c->seq ? "duplicate" :
		    "gap");
		/* The client's own numbering (JSON seq) shows the loss. */
		if (m->seq > c->seq && c->dialect_set)
			dialect_lost(&c->dialect, m->epoch,
			    m->seq - c->seq - 1);
	}
	c->epoch = m->epoch;
	c->seq = m->seq;
}

/* One complete chat message from the client, in its dialect. */
static void
chat_message(struct conn *c, const char *msg, size_t len)
{
	struct sb_packet *pkt = conn_tx();	/* see handler.h */
	struct dbuf reply;
	int r;

	if (!c->dialect_set) {
		dialect_init(&c->dialect, dialect_detect(msg, len));
		c->dialect_set = 1;
	}
	c->dialect.session = c->session;
	dbuf_init(&reply, DIALECT_OUT_MAX);
	r = dialect_parse(&c->dialect, msg, len, pkt, &reply);
	if (r == DIALECT_TO_HUB) {
		remember_command(c, pkt);
		if (conn_hub_send(c, pkt) == 0)
			c->cmds_sent++;
		else {
			dbuf_truncate(&reply, 0);
			if (c->reconnecting) {
				/* The backlog for the new hub is full. */
				render_error(c, &reply, "busy", "The server is "
				    "restarting; message dropped, send it again.");
				deliver(c, &reply);
			} else {
				dbuf_add(&reply, unavailable_xml,
				    sizeof(unavailable_xml));
				deliver(c, &reply);
				session_end(c, "Hub unavailable");
			}
		}
	} else if (r == DIALECT_REPLY) {
		reply_local(c, &reply);
		conn_event(c, "protocol_error", "%.200s",
		    reply.len ? reply.buf : "bad message");
		if (++errors >= SESSION_ERRORS_MAX)
			session_end(c, "Too many protocol errors");
	} else if (r < 0)
		session_end(c, "Internal error");
	dbuf_free(&reply);
}

/*
 * Split the XMLSocket stream held in `in` into messages.  A message
 * longer than xmlsocket_max is refused at once, without waiting for its
 * end, and ends the connection (its end cannot be found safely).
 */
static void
xmlsocket_messages(struct conn *c, int tunnel)
{
	size_t ml;
	char term;
	int r;

	while (!c->done && c->in.len > 0) {
		r = xmlsock_next((const char *)buf_head(&c->in), c->in.len,
		    c->cfg.xmlsocket_max, &ml, &term);
		if (r == 0)
			return;
		if (r < 0) {
			char e[160];
			struct dbuf d;

			snprintf(e, sizeof(e), "<error value=\"Message longer "
			    "than %u bytes\" code=\"limit\" />",
			    c->cfg.xmlsocket_max);
			dbuf_init(&d, sizeof(e) + 1);
			dbuf_add(&d, e, strlen(e) + 1);
			deliver(c, &d);
			dbuf_free(&d);
			conn_event(c, "protocol_error", "message over %u bytes",
			    c->cfg.xmlsocket_max);
			buf_reset(&c->in);
			session_end(c, "Message too long");
			return;
		}
		if (!tunnel)
			c->term = term;
		if (ml > 0)
			chat_message(c, (const char *)buf_head(&c->in), ml);
		buf_consume(&c->in, (size_t)r);
	}
}

/* A complete WebSocket data message. */
static void
ws_message(void *arg, int opcode, const unsigned char *p, size_t len)
{
	struct conn *c = arg;

	if (c->done)
		return;
	switch (c->ws_kind) {
	case WSK_ECHO:
		ws_conn_send(&c->ws, sink(c), opcode, p, len);
		break;
	case WSK_CHAT:
		if (opcode != WS_OP_TEXT) {
			conn_event(c, "protocol_error", "binary frame on /chat");
			ws_conn_close(&c->ws, sink(c), WS_CLOSE_UNSUPPORTED,
			    "The chat dialect is JSON in text frames");
			conn_hub_pack(c, SB_H_QUIT, "Binary frame", NULL);
			conn_finish(c);
			return;
		}
		chat_message(c, (const char *)p, len);
		break;
	case WSK_TUNNEL:
		/* Frames carry the raw stream: messages may span frames. */
		if (buf_append(&c->in, p, len) < 0) {
			conn_event(c, "protocol_error", "tunnel message over "
			    "%u bytes", c->cfg.xmlsocket_max);
			session_end(c, "Message too long");
			return;
		}
		xmlsocket_messages(c, 1);
		break;
	}
}

/* Bytes fed to the WebSocket state machine. */
int
session_ws_feed(struct conn *c, const unsigned char *p, size_t len)
{
	int r = ws_conn_feed(&c->ws, sink(c), p, len);

	if (r == 1) {
		if (c->hello_sent)
			conn_hub_pack(c, SB_H_QUIT, "Connection closed", NULL);
		conn_finish(c);
	} else if (r < 0) {
		conn_event(c, "protocol_error", "WebSocket protocol violation");
		if (c->hello_sent)
			conn_hub_pack(c, SB_H_QUIT, "WebSocket protocol error",
			    NULL);
		conn_finish(c);
	}
	return r;
}

/* New bytes in `in` while sniffing, reading HTTP, or in XMLSocket. */
void
session_client_bytes(struct conn *c)
{
	unsigned char *early = handler_store.early;
	struct http_request req;
	size_t n;
	int r;

	for (;;) {
		switch (c->mode) {
		case MODE_SNIFF:
			switch (sniff((const char *)buf_head(&c->in), c->in.len)) {
			case SNIFF_NEED_MORE:
				return;
			case SNIFF_POLICY:
				buf_reset(&c->in);
				if (c->hub_fd < 0)
					conn_finish(c);
				else
					serve_policy(c);
				return;
			case SNIFF_HTTP:
				c->mode = MODE_HTTP;
				c->deadline_ms = c->started_ms +
				    c->cfg.handshake_timeout * 1000ULL;
				break;
			case SNIFF_XMLSOCKET:
				c->mode = MODE_XMLSOCKET;
				c->term = '\0';
				if (c->hub_fd < 0) {
					conn_write(c, unavailable_xml,
					    sizeof(unavailable_xml));
					conn_finish(c);
					return;
				}
				conn_hello(c, "xmlsocket");
				c->in.max = c->cfg.xmlsocket_max + 2;
				c->deadline_ms = 0;
				break;
			}
			break;
		case MODE_HTTP:
			r = http_parse_request(&req, (const char *)buf_head(&c->in),
			    c->in.len);
			if (r == HTTP_NEED_MORE)
				return;
			if (r > 0 && http_check_host(&req) < 0) {
				serve_error(c, 400, "Missing, repeated or invalid "
				    "Host header");
				return;
			}
			if (r < 0) {
				serve_error(c, -r, r == HTTP_TOO_LARGE ?
				    "Request header fields too large" :
				    r == HTTP_URI_TOO_LONG ? "URI too long" :
				    r == HTTP_BAD_VERSION ? "HTTP/1.0 or 1.1 only" :
				    "Malformed request");
				return;
			}
			/* Keep what came behind the head: early WebSocket frames. */
			n = c->in.len - (size_t)r;
			memcpy(early, buf_head(&c->in) + r, n);
			serve_request(c, &req);
			buf_reset(&c->in);
			if (c->mode == MODE_WEBSOCKET && n > 0)
				session_ws_feed(c, early, n);
			return;
		case MODE_XMLSOCKET:
			xmlsocket_messages(c, 0);
			return;
		default:
			buf_reset(&c->in);
			return;
		}
	}
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
	{ "kicked",		4000 },
	{ "banned",		4001 },
	{ "flood",		4002 },
	{ "slow_reader",	4003 },
	{ "ended",		4004 },
	{ "login_disabled",	4005 },
	{ "protocol_error",	WS_CLOSE_POLICY },
};

uint16_t
session_close_code(const char *code)
{
	size_t i;

	for (i = 0; i < sizeof(close_codes) / sizeof(close_codes[0]); i++)
		if (strcmp(code, close_codes[i].code) == 0)
			return close_codes[i].ws;
	return WS_CLOSE_GOING_AWAY;
}

/*
 * What one hub message becomes for the client: kept from message to
 * message (emptied, not freed) until the handler goes idle
 * (session_trim) or it grew past HANDLER_TRIM_BYTES.
 */
static struct dbuf rendered = { .max = DIALECT_OUT_MAX };

/* The handler is idle: free what only a busy session needs at hand. */
void
session_trim(void)
{
	dbuf_free(&rendered);
	dialect_json_trim();
}

/* A message from the hub. */
void
session_hub_message(struct conn *c, const struct sb_msg *m)
{

	switch (m->type) {
	case SB_C_WELCOME: {
		long long v;

		if (sb_field_num(m, 0, 1, INT64_MAX, &v) == 0)
			c->session = (uint64_t)v;
		return;
	}
	case SB_C_STATUS:
		if (c->mode == MODE_STATUS)
			serve_status(c, m);
		return;
	default:
		break;
	}
	track_session(c, m);
	check_sequence(c, m);
	if (m->type == SB_C_PONG && barrier_done(c, m))
		return;
	if (m->type == SB_C_CLOSE)
		c->ended = 1;	/* never resumed, whatever comes next */
	if (!c->dialect_set) {
		if (m->type == SB_C_CLOSE) {
			/*
			 * Refused before it said anything (server full).  An
			 * XMLSocket client, direct or through the /xmlsocket
			 * tunnel, reads the <close> element first.
			 */
			if (c->mode == MODE_XMLSOCKET ||
			    (c->mode == MODE_WEBSOCKET &&
			    c->ws_kind == WSK_TUNNEL)) {
				dialect_init(&c->dialect, DIALECT_TEXT);
				c->dialect_set = 1;
			} else {
				if (c->mode == MODE_WEBSOCKET)
					ws_conn_close(&c->ws, sink(c),
					    session_close_code(m->field[0]),
					    m->field[1]);
				conn_finish(c);
				return;
			}
		} else
			return;
	}
	dbuf_truncate(&rendered, 0);
	if (dialect_render(&c->dialect, m, &rendered) >= 0)
		deliver(c, &rendered);
	if (rendered.size > HANDLER_TRIM_BYTES ||
	    sb_msg_size(m) > HANDLER_TRIM_BYTES / 4) {
		c->trim = 1;	/* a long list was rendered */
		dbuf_free(&rendered);
	}
	/* Seed 001: the server shows the room list right after a login. */
	if (m->type == SB_C_IDENTIFIED && c->dialect.kind == DIALECT_XML &&
	    conn_hub_pack(c, SB_H_ROOMS, NULL) == 0)
		c->cmds_sent++;		/* a command too: answers wait for it */
	if (m->type == SB_C_CLOSE) {
		if (c->mode == MODE_WEBSOCKET)
			ws_conn_close(&c->ws, sink(c),
			    session_close_code(m->field[0]), m->field[1]);
		conn_finish(c);
	}
}

/* Tell the client the chat server is gone, and hang up. */
static void
unavailable(struct conn *c)
{
	struct dbuf d;

	dbuf_init(&d, 1024);
	if (c->mode == MODE_WEBSOCKET && c->ws_kind == WSK_CHAT)
		dbuf_add(&d, unavailable_json, sizeof(unavailable_json));
	else
		dbuf_add(&d, unavailable_xml, sizeof(unavailable_xml));
	deliver(c, &d);
	dbuf_free(&d);
	if (c->mode == MODE_WEBSOCKET)
		ws_conn_close(&c->ws, sink(c), WS_CLOSE_GOING_AWAY,
		    "Server unavailable");
	conn_finish(c);
}

/*
 * The hub went away (it closed, or sent something malformed).  A chat
 * session keeps its client and waits for a new hub (restart); what the
 * client sends meanwhile waits in `hubq`, bounded by backlog_max.
 */
void
session_hub_lost(struct conn *c)
{
	uint64_t now = now_ms();

	if (c->hub_fd >= 0)
		close(c->hub_fd);
	c->hub_fd = -1;
	held_release(c);	/* the barrier went with the hub */
	switch (c->mode) {
	case MODE_STATUS:
		buf_reset(&c->hubq);
		serve_error(c, 503, "The chat hub went away");
		break;
	case MODE_XMLSOCKET:
	case MODE_WEBSOCKET:
		if (c->mode == MODE_WEBSOCKET && c->ws_kind == WSK_ECHO)
			break;
		if (c->done)
			break;
		if (c->quitting || c->ended) {
			/* The session was over: nothing to resume. */
			buf_reset(&c->hubq);
			if (c->mode == MODE_WEBSOCKET && c->ws_active)
				ws_conn_close(&c->ws, sink(c),
				    c->quitting ? WS_CLOSE_NORMAL :
				    WS_CLOSE_GOING_AWAY, "Session ended");
			conn_finish(c);
			break;
		}
		/* Datagrams the dead hub never took go to the new one. */
		c->reconnecting = 1;
		c->backoff_ms = HANDLER_BACKOFF_MIN_MS;
		c->reconnect_at_ms = now + c->backoff_ms;
		c->reconnect_until_ms = now + HANDLER_RECONNECT_MS;
		sb_log(LOG_WARNING, "the hub went away; %s waits for it",
		    c->nick[0] ? c->nick : c->remote);
		break;
	default:
		buf_reset(&c->hubq);
		break;
	}
}

/* While the hub is away: try again, with backoff, for a bounded time. */
static void
reconnect(struct conn *c, uint64_t now)
{
	if (!c->reconnecting || now < c->reconnect_at_ms)
		return;
	if (conn_hub_reconnect(c) == 0) {
		c->reconnecting = 0;
		return;
	}
	if (now >= c->reconnect_until_ms) {
		c->reconnecting = 0;
		buf_reset(&c->hubq);
		sb_log(LOG_ERR, "%s; giving up after %d s", c->hub_error,
		    HANDLER_RECONNECT_MS / 1000);
		unavailable(c);
		return;
	}
	c->backoff_ms = c->backoff_ms * 2 > HANDLER_BACKOFF_MAX_MS ?
	    HANDLER_BACKOFF_MAX_MS : c->backoff_ms * 2;
	c->reconnect_at_ms = now + c->backoff_ms;
}

/* The client closed its side (or the connection broke). */
void
session_client_eof(struct conn *c)
{
	if (c->hello_sent && !c->done && (c->mode == MODE_XMLSOCKET ||
	    c->mode == MODE_WEBSOCKET))
		conn_hub_pack(c, SB_H_QUIT, "Connection closed", NULL);
	conn_finish(c);
}

/* Keepalive for chat sessions: ping when idle, drop when unanswered. */
static void
keepalive(struct conn *c, uint64_t now)
{
	uint64_t idle = c->cfg.idle_timeout * 1000ULL;
	uint64_t wait = c->cfg.ping_timeout * 1000ULL;

	if (c->ping_sent_ms != 0 && now >= c->ping_sent_ms + wait) {
		conn_event(c, "protocol_error", "no answer to a ping in %u s",
		    c->cfg.ping_timeout);
		session_end(c, "Ping timeout");
		return;
	}
	if (c->ping_sent_ms == 0 && now >= c->last_rx_ms + idle) {
		c->ping_sent_ms = now;
		/* WebSocket: a ping frame, and the dialect's own ping too. */
		if (c->mode == MODE_WEBSOCKET)
			ws_conn_send(&c->ws, sink(c), WS_OP_PING, "keepalive", 9);
		if (c->dialect_set) {
			struct sb_msg m = { .type = SB_C_PING, .nfields = 1,
			    .field = { "keepalive" }, .flen = { 9 } };
			struct dbuf d;

			dbuf_init(&d, 1024);
			if (dialect_render(&c->dialect, &m, &d) >= 0)
				deliver(c, &d);
			dbuf_free(&d);
		}
	}
	c->deadline_ms = c->ping_sent_ms ? c->ping_sent_ms + wait :
	    c->last_rx_ms + idle;
}

/* Deadlines, checked on every turn of the loop. */
void
session_tick(struct conn *c, uint64_t now)
{
	switch (c->mode) {
	case MODE_SNIFF:
		if (now < c->deadline_ms)
			return;
		conn_hello(c, "unknown");
		conn_event(c, "protocol_error", "nothing received in %u s",
		    c->cfg.connect_timeout);
		conn_finish(c);
		return;
	case MODE_HTTP:
		if (now >= c->deadline_ms)
			serve_error(c, 408, "Request not complete in time");
		return;
	case MODE_STATUS:
		if (c->deadline_ms == 0)
			c->deadline_ms = now + HANDLER_CONFIG_WAIT_MS;
		else if (now >= c->deadline_ms)
			serve_error(c, 503, "The chat hub did not answer");
		return;
	case MODE_XMLSOCKET:
		reconnect(c, now);
		if (!c->done)
			keepalive(c, now);
		return;
	case MODE_WEBSOCKET:
		reconnect(c, now);
		if (!c->done && c->ws_kind != WSK_ECHO)
			keepalive(c, now);
		return;
	default:
		return;
	}
}
