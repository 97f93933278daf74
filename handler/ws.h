/* SPDX-License-Identifier: ISC */
/*
 * WebSocket (RFC 6455), server side.  Everything here is pure: bytes in,
 * events out through a sink, no I/O, so each part is unit-tested alone and
 * fed one byte at a time.
 */
#ifndef SB_WS_H
#define SB_WS_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "http.h"
#include "text.h"	/* UTF-8: utf8_feed() keeps a text message's state */

#define WS_CONTROL_MAX		125
#define WS_MESSAGE_MAX_DEFAULT	65536	/* reassembled message cap: 1009 */

enum ws_opcode {
	WS_OP_CONT = 0x0, WS_OP_TEXT = 0x1, WS_OP_BINARY = 0x2,
	WS_OP_CLOSE = 0x8, WS_OP_PING = 0x9, WS_OP_PONG = 0xa,
};

enum ws_close_code {
	WS_CLOSE_NORMAL = 1000, WS_CLOSE_GOING_AWAY = 1001,
	WS_CLOSE_PROTOCOL = 1002, WS_CLOSE_UNSUPPORTED = 1003,
	WS_CLOSE_INVALID_DATA = 1007, WS_CLOSE_POLICY = 1008,
	WS_CLOSE_TOO_BIG = 1009, WS_CLOSE_INTERNAL = 1011,
	WS_CLOSE_TRY_AGAIN = 1013,
};

/* wshandshake.c */
struct ws_handshake_policy {
	const char	*origins;	/* space-separated allow-list, or NULL/"" = any */
};
/*
 * Validate an upgrade request.  Returns 101 and writes the complete
 * "HTTP/1.1 101 ..." response into out (NUL-terminated), or returns the
 * HTTP status to answer with (400, 403, 426) and writes a complete error
 * response (with "Sec-WebSocket-Version: 13" for 426).  Returns -1 if
 * out is too small.
 */
int	ws_handshake(const struct http_request *, const struct ws_handshake_policy *,
	    char *out, size_t outsz);
/* Is this request an upgrade attempt at all (Upgrade: websocket present)? */
int	ws_is_upgrade(const struct http_request *);
/* Accept key for a client key: 28 chars + NUL into out[29]. */
int	ws_accept_key(const char *key, size_t keylen, char out[29]);

/* wsframe.c: frame header codec */
struct ws_frame {
	int		fin;
	int		rsv;		/* RSV1..3 as bits 0x4,0x2,0x1 */
	int		opcode;
	int		masked;
	uint64_t	len;
	unsigned char	mask[4];
};
/*
 * Decode a frame header from buf[0..len).  Returns the header size (2..14)
 * when complete, 0 when more bytes are needed, or -WS_CLOSE_PROTOCOL for a
 * header that breaks the rules checked where the bytes are read
 * (non-minimal length, 64-bit length with the high bit set, a control
 * frame that is fragmented or longer than WS_CONTROL_MAX).
 */
int	ws_frame_decode(struct ws_frame *, const unsigned char *, size_t);
/* Encode an unmasked server frame header; returns its size (2..10). */
size_t	ws_frame_header(unsigned char out[10], int fin, int opcode, uint64_t len);

/* wsconn.c: one connection's state machine after the handshake */
struct ws_sink {
	void	*arg;
	/* A complete, validated data message (text is valid UTF-8). */
	void	(*message)(void *arg, int opcode, const unsigned char *, size_t);
	/* Bytes to write to the client (pong, close, ...). */
	void	(*write)(void *arg, const unsigned char *, size_t);
};

struct ws_conn {
	size_t		max_message;	/* cap on a reassembled message */
	/* decoder state */
	unsigned char	hdr[14];
	size_t		hdr_have;
	struct ws_frame	frame;		/* current frame, once header is read */
	uint64_t	payload_seen;	/* bytes of current frame consumed */
	int		in_frame;
	unsigned char	ctrl[WS_CONTROL_MAX];
	int		msg_opcode;	/* 0 when no message in progress */
	struct buf	msg;		/* reassembly, max_message at most */
	uint32_t	utf8;		/* validator state across fragments */
	int		close_sent;
	int		close_received;
	int		failed;		/* connection must be closed */
	uint64_t	last_rx_frames;	/* frames seen (for keepalive) */
};

void	ws_conn_init(struct ws_conn *, size_t max_message);
void	ws_conn_storage(struct ws_conn *, void *, size_t);
void	ws_conn_idle(struct ws_conn *);
void	ws_conn_free(struct ws_conn *);
/*
 * Feed bytes from the client.  Returns 0 to go on, 1 when the close
 * handshake is complete (echoed, connection should end), or -1 when the
 * connection failed (a close frame with the reason has been written
 * through the sink; the caller should flush and close).
 */
int	ws_conn_feed(struct ws_conn *, const struct ws_sink *,
	    const unsigned char *, size_t);
/* Send a data message (text or binary) or control frame to the client. */
void	ws_conn_send(struct ws_conn *, const struct ws_sink *, int opcode,
	    const void *, size_t);
/* Start the close handshake with `code` and `reason`. */
void	ws_conn_close(struct ws_conn *, const struct ws_sink *, int code,
	    const char *reason);

#endif /* SB_WS_H */
