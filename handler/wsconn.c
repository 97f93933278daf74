/* SPDX-License-Identifier: ISC */
/*
 * One WebSocket connection after the handshake (RFC 6455 sections 5-7):
 * frames in, validated messages and protocol replies out through a sink.
 *
 * Payload bytes are handled as they arrive: unmasked in place into the
 * control buffer or the reassembly buffer, text checked for UTF-8 on the
 * way, so a bad byte fails the connection at once and a frame never has
 * to be held whole before it is looked at.  The first protocol error
 * sends one close frame and ends processing for good.
 */
#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "ws.h"

#define WS_CLOSE_REASON_MAX	(WS_CONTROL_MAX - 2)	/* after the code */

void
ws_conn_init(struct ws_conn *c, size_t max_message)
{
	assert(c != NULL);

	*c = (struct ws_conn){
		.max_message = max_message ? max_message : WS_MESSAGE_MAX_DEFAULT,
	};
	buf_init(&c->msg, c->max_message);
}

/*
 * Let the reassembly buffer start in `size` bytes of the caller's storage
 * (buf_init_fixed): a message that fits never touches malloc.  Call after
 * ws_conn_init(), before the first byte.
 */
void
ws_conn_storage(struct ws_conn *c, void *storage, size_t size)
{
	assert(c != NULL && c->msg.len == 0);
	buf_init_fixed(&c->msg, c->max_message, storage, size);
}

/*
 * The connection is idle: between messages, the reassembly buffer gives
 * its memory back (buf_idle).
 */
void
ws_conn_idle(struct ws_conn *c)
{
	assert(c != NULL);
	if (c->msg_opcode == 0)
		buf_idle(&c->msg);
}

void
ws_conn_free(struct ws_conn *c)
{
	if (c == NULL)
		return;
	buf_free(&c->msg);
}

/* Write one unmasked frame: header, then payload. */
static void
ws_conn_write_frame(const struct ws_sink *sink, int opcode,
    const void *data, size_t len)
{
	unsigned char hdr[10];

	sink->write(sink->arg, hdr, ws_frame_header(hdr, 1, opcode, len));
	if (len > 0)
		sink->write(sink->arg, data, len);
}

/* Send a close frame with code (host order) and an already-bounded reason. */
static void
ws_conn_write_close(struct ws_conn *c, const struct ws_sink *sink, int code,
    const char *reason, size_t reason_len)
{
	unsigned char buf[WS_CONTROL_MAX];

	assert(reason_len <= WS_CLOSE_REASON_MAX);
	if (c->close_sent)
		return;
	buf[0] = (unsigned char)(code >> 8);
	buf[1] = (unsigned char)code;
	if (reason_len > 0)
		memcpy(buf + 2, reason, reason_len);
	ws_conn_write_frame(sink, WS_OP_CLOSE, buf, 2 + reason_len);
	c->close_sent = 1;
}

/* Fail the connection: one close frame with code, then nothing more. */
static int
ws_conn_fail(struct ws_conn *c, const struct ws_sink *sink, int code)
{
	ws_conn_write_close(c, sink, code, NULL, 0);
	c->failed = 1;
	return -1;
}

/* May a peer send this code in a close frame (RFC 6455 section 7.4)? */
static int
ws_close_code_valid(unsigned int code)
{
	if (code >= 3000 && code <= 4999)
		return 1;
	return (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1011);
}

/*
 * May this server send the code?  What a peer may send, and 1012-1014,
 * registered with IANA after RFC 6455 (1013 Try Again Later is the
 * server_full close).  A peer sending them is still refused, as RFC 6455
 * and the Autobahn suite ask.
 */
static int
ws_close_code_sendable(unsigned int code)
{
	return ws_close_code_valid(code) || (code >= 1012 && code <= 1014);
}

/*
 * A new frame header has been decoded into c->frame: check it against
 * the connection's state and start the frame.  Returns 0 or -1 (failed).
 */
static int
ws_conn_frame_start(struct ws_conn *c, const struct ws_sink *sink)
{
	const struct ws_frame *f = &c->frame;

	if (!f->masked || f->rsv != 0)
		return ws_conn_fail(c, sink, WS_CLOSE_PROTOCOL);
	switch (f->opcode) {
	case WS_OP_CLOSE:
	case WS_OP_PING:
	case WS_OP_PONG:
		break;		/* length and FIN checked by ws_frame_decode */
	case WS_OP_CONT:
		if (c->msg_opcode == 0)
			return ws_conn_fail(c, sink, WS_CLOSE_PROTOCOL);
		break;
	case WS_OP_TEXT:
	case WS_OP_BINARY:
		if (c->msg_opcode != 0)
			return ws_conn_fail(c, sink, WS_CLOSE_PROTOCOL);
		c->msg_opcode = f->opcode;
		buf_reset(&c->msg);
		c->utf8 = UTF8_ACCEPT;
		break;
	default:
		return ws_conn_fail(c, sink, WS_CLOSE_PROTOCOL);
	}
	if (!(f->opcode & 0x8) && f->len > c->max_message - c->msg.len)
		return ws_conn_fail(c, sink, WS_CLOSE_TOO_BIG);
	c->in_frame = 1;
	c->payload_seen = 0;
	return 0;
}

/*
 * Take up to len payload bytes of the current frame: unmask them (the
 * mask index continues from the bytes already seen) into their buffer,
 * and check text as it comes.  Returns the bytes taken, or -1 (failed).
 */
static long
ws_conn_payload(struct ws_conn *c, const struct ws_sink *sink,
    const unsigned char *buf, size_t len)
{
	const struct ws_frame *f = &c->frame;
	unsigned char *dst;
	size_t n, i;

	n = f->len - c->payload_seen < len ? (size_t)(f->len - c->payload_seen) : len;
	if (f->opcode & 0x8)
		dst = c->ctrl + c->payload_seen;
	else {
		/* Within max_message (ws_conn_header): only -ENOMEM fails. */
		if (buf_append(&c->msg, buf, n) < 0)
			return ws_conn_fail(c, sink, WS_CLOSE_INTERNAL);
		dst = buf_head(&c->msg) + c->msg.len - n;
	}
	for (i = 0; i < n; i++)
		dst[i] = buf[i] ^ f->mask[(c->payload_seen + i) & 3];
	c->payload_seen += n;
	if (!(f->opcode & 0x8)) {
		if (c->msg_opcode == WS_OP_TEXT &&
		    (c->utf8 = utf8_feed(c->utf8, dst, n)) == UTF8_REJECT)
			return ws_conn_fail(c, sink, WS_CLOSE_INVALID_DATA);
	}
	return (long)n;
}

/*
 * A close frame is complete in c->ctrl: check its code and reason, echo
 * the code (1000 for an empty close) and end.  Returns 1 or -1 (failed).
 */
static int
ws_conn_on_close(struct ws_conn *c, const struct ws_sink *sink)
{
	size_t len = (size_t)c->frame.len;
	unsigned int code = WS_CLOSE_NORMAL;

	if (len == 1)
		return ws_conn_fail(c, sink, WS_CLOSE_PROTOCOL);
	if (len >= 2) {
		code = (unsigned int)c->ctrl[0] << 8 | c->ctrl[1];
		if (!ws_close_code_valid(code))
			return ws_conn_fail(c, sink, WS_CLOSE_PROTOCOL);
		if (!utf8_valid(c->ctrl + 2, len - 2))
			return ws_conn_fail(c, sink, WS_CLOSE_INVALID_DATA);
	}
	ws_conn_write_close(c, sink, (int)code, NULL, 0);
	c->close_received = 1;
	return 1;
}

/*
 * The current frame's payload is complete: act on a control frame, or
 * deliver the message that a final data frame ends.  Returns 0 to go on,
 * 1 after a close, -1 when failed.
 */
static int
ws_conn_frame_end(struct ws_conn *c, const struct ws_sink *sink)
{
	const struct ws_frame *f = &c->frame;

	c->in_frame = 0;
	c->last_rx_frames++;
	switch (f->opcode) {
	case WS_OP_CLOSE:
		return ws_conn_on_close(c, sink);
	case WS_OP_PING:
		if (!c->close_sent)
			ws_conn_write_frame(sink, WS_OP_PONG, c->ctrl,
			    (size_t)f->len);
		return 0;
	case WS_OP_PONG:
		return 0;
	}
	if (!f->fin)
		return 0;
	if (c->msg_opcode == WS_OP_TEXT && c->utf8 != UTF8_ACCEPT)
		return ws_conn_fail(c, sink, WS_CLOSE_INVALID_DATA);
	/* An empty message may have no buffer; never hand out NULL. */
	sink->message(sink->arg, c->msg_opcode, c->msg.buf != NULL ?
	    buf_head(&c->msg) : (const unsigned char *)"", c->msg.len);
	c->msg_opcode = 0;
	buf_reset(&c->msg);
	return 0;
}

/*
 * Feed bytes from the client.  Header bytes are gathered in c->hdr until
 * ws_frame_decode has a whole header; only the bytes it uses are taken,
 * the rest are payload.  Returns 0 to go on, 1 once the close handshake
 * is done, -1 once failed; both last ones are sticky.
 */
int
ws_conn_feed(struct ws_conn *c, const struct ws_sink *sink,
    const unsigned char *buf, size_t len)
{
	int r;

	assert(c != NULL);
	assert(sink != NULL && sink->write != NULL && sink->message != NULL);
	assert(buf != NULL || len == 0);

	if (c->failed)
		return -1;
	if (c->close_received)
		return 1;
	while (len > 0) {
		if (!c->in_frame) {
			size_t old = c->hdr_have;
			size_t n = sizeof(c->hdr) - old < len ?
			    sizeof(c->hdr) - old : len;

			memcpy(c->hdr + old, buf, n);
			c->hdr_have += n;
			r = ws_frame_decode(&c->frame, c->hdr, c->hdr_have);
			if (r < 0)
				return ws_conn_fail(c, sink, -r);
			if (r == 0) {
				buf += n;
				len -= n;
				continue;
			}
			c->hdr_have = 0;
			buf += (size_t)r - old;
			len -= (size_t)r - old;
			if (ws_conn_frame_start(c, sink) < 0)
				return -1;
		} else {
			long n = ws_conn_payload(c, sink, buf, len);

			if (n < 0)
				return -1;
			buf += n;
			len -= (size_t)n;
		}
		if (c->payload_seen == c->frame.len &&
		    (r = ws_conn_frame_end(c, sink)) != 0)
			return r;
	}
	return 0;
}

/*
 * Send one unmasked, unfragmented frame.  Nothing is sent once a close
 * frame has gone out (RFC 6455 section 5.5.1).
 */
void
ws_conn_send(struct ws_conn *c, const struct ws_sink *sink, int opcode,
    const void *data, size_t len)
{
	assert(c != NULL);
	assert(sink != NULL && sink->write != NULL);
	assert(data != NULL || len == 0);
	assert(opcode == WS_OP_TEXT || opcode == WS_OP_BINARY ||
	    opcode == WS_OP_PING || opcode == WS_OP_PONG);
	assert(!(opcode & 0x8) || len <= WS_CONTROL_MAX);

	if (c->close_sent)
		return;
	ws_conn_write_frame(sink, opcode, data, len);
}

/*
 * Start the close handshake.  The reason is cut to what fits in a
 * control frame, at a character boundary; a reason that is not valid
 * UTF-8 (it may come from elsewhere) is left out, since the peer would
 * have to fail the connection over it.
 */
void
ws_conn_close(struct ws_conn *c, const struct ws_sink *sink, int code,
    const char *reason)
{
	size_t n = 0;

	assert(c != NULL);
	assert(sink != NULL && sink->write != NULL);
	assert(ws_close_code_sendable((unsigned int)code));

	if (reason != NULL) {
		n = utf8_clip(reason, strnlen(reason, WS_CLOSE_REASON_MAX + 1),
		    WS_CLOSE_REASON_MAX);
		if (!utf8_valid(reason, n))
			n = 0;
	}
	ws_conn_write_close(c, sink, code, reason, n);
}
