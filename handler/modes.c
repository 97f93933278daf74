/* SPDX-License-Identifier: ISC */
/*
 * The session's mode machine: what the client's bytes mean, mode by
 * mode, and what each mode does when time passes, the client hangs up or
 * the hub goes away.
 *
 *   MODE_SNIFF      the first bytes decide (sniff.c): a Flash policy
 *                   request, HTTP, or XMLSocket chat
 *   MODE_HTTP       a request head is read (http.c) and answered
 *                   (serve.c); an upgrade goes on as a WebSocket
 *   MODE_STATUS     /server-status, /metrics and /healthz wait for
 *                   the hub's answer (serve.c)
 *   MODE_XMLSOCKET  the stream is split into messages (xmlsock.c) for
 *                   the chat session (chat.c)
 *   MODE_WEBSOCKET  frames (wsconn.c) carry JSON chat, the XMLSocket
 *                   stream of the Flash tunnel, or an echo
 *
 * Each mode has one deadline (connect, handshake, status, keepalive).
 * Whatever the mode, once the connection is closing (client_io.c) its
 * input is drained unread, and nothing here acts any more.
 *
 * A PROXY protocol header (a later issue) is read below this file, by
 * the client's I/O, before the first byte reaches MODE_SNIFF.
 */
#include <stdio.h>
#include <string.h>

#include "handler.h"

/* A connection starts sniffing at `now`, within connect_timeout. */
void
modes_start(struct conn *c, uint64_t now)
{
	buf_init_fixed(&c->modes.in, HTTP_HEAD_MAX + 1, handler_store.in,
	    sizeof(handler_store.in));
	c->modes.mode = MODE_SNIFF;
	c->modes.started_ms = now;
	c->modes.deadline_ms = now + c->cfg.connect_timeout * 1000ULL;
}

/* The sink of the WebSocket's writes (the messages are for ws_message). */
static void	ws_message(void *, int, const unsigned char *, size_t);

static struct ws_sink
ws_sink(struct conn *c)
{
	return (struct ws_sink){ .arg = c, .message = ws_message,
	    .write = client_io_ws_write };
}

/*
 * An XMLSocket message longer than xmlsocket_max: refused at once, in
 * XML (the only dialect XMLSocket clients read errors in before they
 * said anything), and the connection ends: its end cannot be found
 * safely.
 */
static void
xmlsocket_too_long(struct conn *c)
{
	char e[160];
	struct buf d;

	snprintf(e, sizeof(e), "<error value=\"Message longer than %u "
	    "bytes\" code=\"limit\" />", c->cfg.xmlsocket_max);
	buf_init(&d, sizeof(e) + 1);
	buf_catlen(&d, e, strlen(e) + 1);
	chat_send(c, &d);
	buf_free(&d);
	hublink_event(c, "protocol_error", "message over %u bytes",
	    c->cfg.xmlsocket_max);
	buf_reset(&c->modes.in);
	chat_end(c, "Message too long", "error");
}

/*
 * Split the XMLSocket stream held in `in` into messages for the chat
 * session (`tunnel`: it came through /xmlsocket, where replies are
 * framed, not terminated).
 */
static void
xmlsocket_messages(struct conn *c, int tunnel)
{
	struct buf *in = &c->modes.in;
	size_t ml;
	char term;
	int r;

	while (!client_io_closing(c) && in->len > 0) {
		r = xmlsock_next((const char *)buf_head(in), in->len,
		    c->cfg.xmlsocket_max, &ml, &term);
		if (r == 0)
			return;
		if (r < 0) {
			xmlsocket_too_long(c);
			return;
		}
		chat_client_message(c, (const char *)buf_head(in), ml,
		    tunnel ? -1 : term);
		buf_consume(in, (size_t)r);
	}
}

/* A complete WebSocket data message (from wsconn.c, through the sink). */
static void
ws_message(void *arg, int opcode, const unsigned char *p, size_t len)
{
	struct conn *c = arg;
	struct ws_sink s = ws_sink(c);

	if (client_io_closing(c))
		return;
	switch (c->modes.ws_kind) {
	case WSK_ECHO:
		ws_conn_send(&c->modes.ws, &s, opcode, p, len);
		break;
	case WSK_CHAT:
		if (opcode != WS_OP_TEXT) {
			hublink_event(c, "protocol_error",
			    "binary frame on /chat");
			ws_conn_close(&c->modes.ws, &s, WS_CLOSE_UNSUPPORTED,
			    "The chat dialect is JSON in text frames");
			hublink_quit(c, "Binary frame", "error");
			client_io_finish(c);
			return;
		}
		chat_client_message(c, (const char *)p, len, -1);
		break;
	case WSK_TUNNEL:
		/* Frames carry the raw stream: messages may span frames. */
		if (buf_append(&c->modes.in, p, len) < 0) {
			hublink_event(c, "protocol_error", "tunnel message "
			    "over %u bytes", c->cfg.xmlsocket_max);
			chat_end(c, "Message too long", "error");
			return;
		}
		xmlsocket_messages(c, 1);
		break;
	}
}

/*
 * Bytes for the WebSocket state machine.  The close handshake done, or
 * the protocol broken, the connection closes.
 */
static void
ws_feed(struct conn *c, const unsigned char *p, size_t len)
{
	struct ws_sink s = ws_sink(c);
	int r = ws_conn_feed(&c->modes.ws, &s, p, len);

	if (r == 1) {
		hublink_quit(c, "Connection closed", "closed");
		client_io_finish(c);
	} else if (r < 0) {
		hublink_event(c, "protocol_error", "WebSocket protocol violation");
		hublink_quit(c, "WebSocket protocol error", "error");
		client_io_finish(c);
	}
}

/* The 101 is out: the connection is a WebSocket of `kind` from now on. */
static void
websocket_start(struct conn *c, enum ws_kind kind)
{
	ws_conn_init(&c->modes.ws, c->cfg.ws_max_message);
	ws_conn_storage(&c->modes.ws, handler_store.ws_msg,
	    sizeof(handler_store.ws_msg));
	c->modes.ws_active = 1;
	c->modes.ws_kind = kind;
	c->modes.mode = MODE_WEBSOCKET;
	c->modes.deadline_ms = 0;
	/* The tunnel buffers the XMLSocket stream in `in`; the others
	 * read frames straight from the socket. */
	c->modes.in.max = c->cfg.xmlsocket_max + 2;
	if (kind == WSK_CHAT)
		chat_start(c, CHAT_WS_TEXT, &c->modes.ws);
	else if (kind == WSK_TUNNEL)
		chat_start(c, CHAT_WS_TUNNEL, &c->modes.ws);
}

/* MODE_SNIFF: returns 1 when a new mode should read what is in `in`. */
static int
sniffed(struct conn *c)
{
	switch (sniff((const char *)buf_head(&c->modes.in), c->modes.in.len)) {
	case SNIFF_NEED_MORE:
		return 0;
	case SNIFF_POLICY:
		buf_reset(&c->modes.in);
		if (!hublink_up(c))
			client_io_finish(c);
		else
			serve_policy(c);
		return 0;
	case SNIFF_HTTP:
		c->modes.mode = MODE_HTTP;
		c->modes.deadline_ms = c->modes.started_ms +
		    c->cfg.handshake_timeout * 1000ULL;
		return 1;
	case SNIFF_XMLSOCKET:
		c->modes.mode = MODE_XMLSOCKET;
		chat_start(c, CHAT_XMLSOCKET, NULL);
		if (!hublink_up(c)) {
			chat_unavailable(c);
			return 0;
		}
		hublink_hello(c, "xmlsocket");
		c->modes.in.max = c->cfg.xmlsocket_max + 2;
		c->modes.deadline_ms = 0;
		return 1;
	}
	return 0;
}

/* MODE_HTTP: a request head, once complete, answered or upgraded. */
static void
http_head(struct conn *c)
{
	unsigned char *early = handler_store.early;
	struct buf *in = &c->modes.in;
	struct http_request req;
	enum ws_kind kind = WSK_CHAT;
	size_t n;
	int r;

	r = http_parse_request(&req, (const char *)buf_head(in), in->len);
	if (r == HTTP_NEED_MORE)
		return;
	if (r > 0 && http_check_host(&req) < 0) {
		serve_error(c, 400, "Missing, repeated or invalid Host header");
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
	client_io_forwarded(c, &req);	/* before H_HELLO: nginx's client */
	/* Keep what came behind the head: early WebSocket frames. */
	n = in->len - (size_t)r;
	memcpy(early, buf_head(in) + r, n);
	switch (serve_request(c, &req, &kind)) {
	case SERVE_ANSWERED:
		break;
	case SERVE_STATUS:
		/* Within the handshake deadline, still running; a health
		 * check wants its answer sooner. */
		c->modes.mode = MODE_STATUS;
		if (c->modes.http.wait == WAIT_HEALTH &&
		    c->modes.deadline_ms > c->loop.clock_ms +
		    HANDLER_HEALTH_WAIT_MS)
			c->modes.deadline_ms = c->loop.clock_ms +
			    HANDLER_HEALTH_WAIT_MS;
		break;
	case SERVE_WEBSOCKET:
		websocket_start(c, kind);
		break;
	}
	buf_reset(in);
	if (c->modes.mode == MODE_WEBSOCKET && n > 0)
		ws_feed(c, early, n);
}

/* New bytes in `in`: what the mode makes of them. */
static void
modes_input(struct conn *c)
{
	for (;;) {
		switch (c->modes.mode) {
		case MODE_SNIFF:
			if (!sniffed(c))
				return;
			break;
		case MODE_HTTP:
			http_head(c);
			return;
		case MODE_XMLSOCKET:
			xmlsocket_messages(c, 0);
			return;
		default:
			buf_reset(&c->modes.in);
			return;
		}
	}
}

/*
 * Bytes the client sent (one read).  A WebSocket reads frames straight
 * from them; the other modes take them into `in` as it has room, and
 * their parsers consume what they understand, so a read holding many
 * small messages fits.  A head that fills `in` unrefused is answered
 * 431.
 */
void
modes_client_bytes(struct conn *c, const unsigned char *p, size_t n)
{
	struct buf *in = &c->modes.in;
	size_t off;

	for (off = 0; off < n && !client_io_closing(c); ) {
		size_t take = n - off, room = in->max - in->len;

		if (c->modes.mode == MODE_WEBSOCKET) {
			ws_feed(c, p + off, take);
			return;
		}
		if (room == 0) {
			/* Only reachable when a parser did not refuse in time. */
			serve_error(c, 431, "Request too large");
			return;
		}
		if (take > room)
			take = room;
		if (buf_append(in, p + off, take) < 0) {
			client_io_finish(c);	/* out of memory */
			return;
		}
		off += take;
		modes_input(c);
	}
}

/* The client closed its side (or the connection broke). */
void
modes_client_eof(struct conn *c)
{
	if (!client_io_closing(c) && (c->modes.mode == MODE_XMLSOCKET ||
	    c->modes.mode == MODE_WEBSOCKET))
		hublink_quit(c, "Connection closed", "closed");
	client_io_finish(c);
}

/* The client did not read: its queue overflowed and was dropped. */
void
modes_client_slow(struct conn *c)
{
	hublink_event(c, "slow_reader", "%zu bytes queued for the client",
	    c->io.out.max);
	hublink_quit(c, "Slow reader: output queue full", "slow_reader");
}

/*
 * A message from the hub (`lost`: how many before it went missing).  A
 * chat session takes it; MODE_STATUS waits for C_STATUS or C_METRICS;
 * any other mode only hears C_CLOSE (refused before it said anything:
 * server full).
 */
void
modes_hub_message(struct conn *c, const struct sb_msg *m, uint64_t lost)
{
	struct ws_sink s = ws_sink(c);

	if (client_io_closing(c))
		return;
	if (m->type == SB_C_STATUS || m->type == SB_C_METRICS) {
		if (c->modes.mode == MODE_STATUS)
			serve_status(c, m);
		return;
	}
	if (c->chat.framing != CHAT_NONE) {
		chat_hub_message(c, m, lost);
		return;
	}
	if (m->type != SB_C_CLOSE)
		return;
	if (c->modes.mode == MODE_WEBSOCKET)
		ws_conn_close(&c->modes.ws, &s,
		    chat_close_code(m->field[0]), m->field[1]);
	client_io_finish(c);
}

/* The hub went away (its socket is closed): each mode's answer. */
void
modes_hub_lost(struct conn *c)
{
	if (client_io_closing(c)) {
		hublink_drop_queue(c);
		return;
	}
	switch (c->modes.mode) {
	case MODE_STATUS:
		hublink_drop_queue(c);
		serve_error(c, 503, "The chat hub went away");
		break;
	case MODE_XMLSOCKET:
	case MODE_WEBSOCKET:
		if (c->chat.framing != CHAT_NONE)	/* not an echo */
			chat_hub_lost(c);
		break;
	default:
		hublink_drop_queue(c);
		break;
	}
}

/*
 * The mode's deadline, checked on every turn of the loop: nothing sniffed
 * in connect_timeout, a request head or the hub's status not complete in
 * handshake_timeout; a chat session's own timers.
 */
void
modes_tick(struct conn *c, uint64_t now)
{
	if (client_io_closing(c))
		return;
	switch (c->modes.mode) {
	case MODE_SNIFF:
		if (now < c->modes.deadline_ms)
			return;
		hublink_hello(c, "unknown");
		hublink_failed(c, "timeout", "protocol_error", "nothing "
		    "received in %u s", c->cfg.connect_timeout);
		client_io_finish(c);
		return;
	case MODE_HTTP:
		if (now >= c->modes.deadline_ms)
			serve_error(c, 408, "Request not complete in time");
		return;
	case MODE_STATUS:
		if (now >= c->modes.deadline_ms)
			serve_error(c, 503, "The chat hub did not answer");
		return;
	case MODE_XMLSOCKET:
	case MODE_WEBSOCKET:
		if (c->chat.framing != CHAT_NONE)
			c->modes.deadline_ms = chat_tick(c, now);
		return;
	}
}

/*
 * The handler is idle: an empty input buffer, and the WebSocket's between
 * messages, give their memory back.
 */
void
modes_idle(struct conn *c)
{
	buf_idle(&c->modes.in);
	if (c->modes.ws_active)
		ws_conn_idle(&c->modes.ws);
}

void
modes_free(struct conn *c)
{
	if (c->modes.ws_active)
		ws_conn_free(&c->modes.ws);
	buf_free(&c->modes.in);
	serve_free(c);
}
