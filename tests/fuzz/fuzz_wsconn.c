/* SPDX-License-Identifier: ISC */
/*
 * Fuzz target: one WebSocket connection's state machine
 * (handler/wsconn.c, with wsframe.c and common/text.c), through a recording
 * sink.
 *
 * Input: byte 0 sets max_message (0: the default), byte 1 seeds how the
 * rest, the client's byte stream, is cut into reads.  The stream is fed
 * once whole and once in pieces; properties:
 *   - both runs deliver the same messages, write the same bytes and end
 *     the same way (how TCP splits the stream changes nothing);
 *   - every delivered message is at most max_message bytes, and a text
 *     message is valid UTF-8 (checked with a reference decoder);
 *   - what the server writes is a sequence of well-formed unmasked
 *     frames: control frames of at most 125 bytes, at most one close
 *     frame, nothing after it, with a code a peer may receive;
 *   - once ended (1) or failed (-1), more input changes nothing.
 */
#include "fuzz.h"
#include "ws.h"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

struct log {
	unsigned char	*b;
	size_t		 len, cap;
};

struct rec {
	struct log	 msgs;		/* tag, opcode, length, bytes */
	struct log	 out;		/* bytes written to the client */
	size_t		 max_message;
};

static void
log_add(struct log *l, const void *p, size_t n)
{
	if (l->len + n > l->cap) {
		size_t cap = l->cap ? l->cap : 256;

		while (cap < l->len + n)
			cap *= 2;
		if ((l->b = realloc(l->b, cap)) == NULL)
			abort();
		l->cap = cap;
	}
	if (n > 0)
		memcpy(l->b + l->len, p, n);
	l->len += n;
}

static void
on_message(void *arg, int opcode, const unsigned char *p, size_t len)
{
	struct rec *r = arg;
	unsigned char op = (unsigned char)opcode;

	FUZZ_CHECK(p != NULL);
	FUZZ_CHECK(opcode == WS_OP_TEXT || opcode == WS_OP_BINARY);
	FUZZ_CHECK(len <= r->max_message);
	if (opcode == WS_OP_TEXT)
		FUZZ_CHECK(ref_utf8(p, len) == REF_UTF8_OK);
	log_add(&r->msgs, "M", 1);
	log_add(&r->msgs, &op, 1);
	log_add(&r->msgs, &len, sizeof(len));
	log_add(&r->msgs, p, len);
}

static void
on_write(void *arg, const unsigned char *p, size_t len)
{
	struct rec *r = arg;

	FUZZ_CHECK(p != NULL || len == 0);
	log_add(&r->out, p, len);
}

/* Check what the server wrote: well-formed frames, one close at most, last. */
static void
check_output(const struct log *o)
{
	size_t off = 0;
	int closed = 0;

	while (off < o->len) {
		struct ws_frame f;
		int h = ws_frame_decode(&f, o->b + off, o->len - off);

		FUZZ_CHECK(h >= 2);
		FUZZ_CHECK(!f.masked && f.rsv == 0 && f.fin);
		FUZZ_CHECK(!closed);
		FUZZ_CHECK(f.len <= o->len - off - (size_t)h);
		if (f.opcode == WS_OP_CLOSE) {
			const unsigned char *pl = o->b + off + h;
			unsigned code;

			closed = 1;
			FUZZ_CHECK(f.len >= 2);
			code = (unsigned)pl[0] << 8 | pl[1];
			FUZZ_CHECK((code >= 1000 && code <= 1003) ||
			    (code >= 1007 && code <= 1011) ||
			    (code >= 3000 && code <= 4999));
			FUZZ_CHECK(ref_utf8(pl + 2, (size_t)f.len - 2) ==
			    REF_UTF8_OK);
		} else
			FUZZ_CHECK(f.opcode == WS_OP_PONG ||
			    f.opcode == WS_OP_PING || f.opcode == WS_OP_TEXT ||
			    f.opcode == WS_OP_BINARY);
		off += (size_t)h + (size_t)f.len;
	}
}

/* Feed `s` in pieces cut by `seed` (0: whole); returns the final result. */
static int
run(struct rec *r, size_t max, unsigned seed, const uint8_t *s, size_t n,
    struct ws_conn *c, const struct ws_sink *sink)
{
	size_t off = 0, piece;
	int res = 0;
	unsigned x = seed * 2654435761u + 1;

	ws_conn_init(c, max);
	r->max_message = c->max_message;
	while (off < n) {
		char *b;

		if (seed == 0)
			piece = n - off;
		else {
			x = x * 1103515245u + 12345u;
			piece = 1 + (x >> 16) % 19;
			if (piece > n - off)
				piece = n - off;
		}
		b = fuzz_dup(s + off, piece);
		res = ws_conn_feed(c, sink, (const unsigned char *)b, piece);
		free(b);
		off += piece;
		FUZZ_CHECK(res == 0 || res == 1 || res == -1);
		if (res != 0)
			break;
	}
	return res;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in = { data, size };
	struct rec a, b;
	struct ws_sink sa = { &a, on_message, on_write };
	struct ws_sink sb = { &b, on_message, on_write };
	struct ws_conn ca, cb;
	unsigned mm = fuzz_byte(&in), seed = fuzz_byte(&in) | 1;
	size_t max = mm == 0 ? 0 : (size_t)mm * 64;
	size_t before;
	int ra, rb;

	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	ra = run(&a, max, 0, in.p, in.n, &ca, &sa);
	rb = run(&b, max, seed, in.p, in.n, &cb, &sb);
	FUZZ_CHECK(ra == rb);
	FUZZ_CHECK(a.msgs.len == b.msgs.len &&
	    (a.msgs.len == 0 || memcmp(a.msgs.b, b.msgs.b, a.msgs.len) == 0));
	FUZZ_CHECK(a.out.len == b.out.len &&
	    (a.out.len == 0 || memcmp(a.out.b, b.out.b, a.out.len) == 0));

	if (ra != 0) {
		/* Sticky: nothing more is read or written. */
		before = a.out.len;
		FUZZ_CHECK(ws_conn_feed(&ca, &sa, (const unsigned char *)"\x81\x80"
		    "\0\0\0\0", 6) == ra);
		FUZZ_CHECK(a.out.len == before);
	} else {
		/* The server side: a message, then a close with a reason. */
		ws_conn_send(&ca, &sa, WS_OP_TEXT, "hi", 2);
		char reason[200];
		size_t rl = in.n < sizeof(reason) - 1 ? in.n : sizeof(reason) - 1;

		if (rl > 0)
			memcpy(reason, in.p, rl);
		reason[rl] = '\0';
		ws_conn_close(&ca, &sa, WS_CLOSE_POLICY, reason);
	}
	check_output(&a.out);
	check_output(&b.out);
	ws_conn_free(&ca);
	ws_conn_free(&cb);
	free(a.msgs.b);
	free(a.out.b);
	free(b.msgs.b);
	free(b.out.b);
	return 0;
}
