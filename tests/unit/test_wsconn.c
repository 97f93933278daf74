/* SPDX-License-Identifier: ISC */
/*
 * Unit tests for handler/wsconn.c.  Each case is a stream of client
 * frames, the bytes the server must write back and the messages it must
 * deliver.  Every stream is fed whole, one byte at a time and in chunks
 * of other sizes (so that masks continue across chunk boundaries), from
 * the end of a page followed by an unreadable page; all runs must agree.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "../../handler/ws.h"

#define FIN	0x80
#define RSV1	0x40

struct bytes {
	unsigned char	*p;
	size_t		 len, cap;
};

static void
bytes_add(struct bytes *b, const void *data, size_t len)
{
	if (b->len + len > b->cap) {
		b->cap = (b->len + len) * 2;
		b->p = realloc(b->p, b->cap);
		assert_non_null(b->p);
	}
	if (len > 0)
		memcpy(b->p + b->len, data, len);
	b->len += len;
}

static void
bytes_free(struct bytes *b)
{
	free(b->p);
	*b = (struct bytes){ 0 };
}

/* One test case: client input, expected server output and messages. */
struct tc {
	struct bytes	in, out, msgs;
	size_t		max;		/* max_message, 0 for the default */
	unsigned char	mask_seed;
};

/* What a run produced: written bytes, and messages as records. */
struct rec {
	struct bytes	out, msgs;
};

/* Messages are recorded as: opcode byte, 8-byte length, payload. */
static void
msg_record(struct bytes *b, int opcode, const void *data, size_t len)
{
	unsigned char h[9];
	size_t i;

	h[0] = (unsigned char)opcode;
	for (i = 0; i < 8; i++)
		h[1 + i] = (unsigned char)((uint64_t)len >> (56 - 8 * i));
	bytes_add(b, h, sizeof(h));
	bytes_add(b, data, len);
}

static void
sink_write(void *arg, const unsigned char *data, size_t len)
{
	bytes_add(&((struct rec *)arg)->out, data, len);
}

static void
sink_message(void *arg, int opcode, const unsigned char *data, size_t len)
{
	assert_non_null(data);
	msg_record(&((struct rec *)arg)->msgs, opcode, data, len);
}

/* A masked client frame; b0 is FIN|RSV|opcode, the mask varies per frame. */
static void
client_frame(struct tc *t, int b0, const void *payload, size_t len)
{
	unsigned char h[14], mask[4];
	const unsigned char *p = payload;
	size_t n = 2, i;

	for (i = 0; i < 4; i++)
		mask[i] = (unsigned char)(t->mask_seed * 37 + i * 101 + 1);
	t->mask_seed++;
	h[0] = (unsigned char)b0;
	if (len < 126)
		h[1] = (unsigned char)(0x80 | len);
	else if (len <= 0xffff) {
		h[1] = 0x80 | 126;
		h[n++] = (unsigned char)(len >> 8);
		h[n++] = (unsigned char)len;
	} else {
		h[1] = 0x80 | 127;
		for (i = 0; i < 8; i++)
			h[n++] = (unsigned char)((uint64_t)len >> (56 - 8 * i));
	}
	memcpy(h + n, mask, 4);
	bytes_add(&t->in, h, n + 4);
	for (i = 0; i < len; i++) {
		unsigned char c = p[i] ^ mask[i & 3];

		bytes_add(&t->in, &c, 1);
	}
}

static void
client_close(struct tc *t, int code, const char *reason)
{
	unsigned char p[WS_CONTROL_MAX];
	size_t n = strlen(reason);

	p[0] = (unsigned char)(code >> 8);
	p[1] = (unsigned char)code;
	memcpy(p + 2, reason, n);
	client_frame(t, FIN | WS_OP_CLOSE, p, 2 + n);
}

static void
server_frame(struct tc *t, int opcode, const void *payload, size_t len)
{
	unsigned char h[10];

	bytes_add(&t->out, h, ws_frame_header(h, 1, opcode, len));
	bytes_add(&t->out, payload, len);
}

static void
server_close(struct tc *t, int code)
{
	unsigned char p[2] = { (unsigned char)(code >> 8), (unsigned char)code };

	server_frame(t, WS_OP_CLOSE, p, 2);
}

static void
want_message(struct tc *t, int opcode, const void *data, size_t len)
{
	msg_record(&t->msgs, opcode, data, len);
}

static void
tc_free(struct tc *t)
{
	bytes_free(&t->in);
	bytes_free(&t->out);
	bytes_free(&t->msgs);
}

/*
 * Feed t->in in chunks of `chunk` bytes from the end of a guarded page.
 * Once a feed returns non-zero, every later one must return the same and
 * write nothing.  Returns the last answer.
 */
static int
run(const struct tc *t, size_t chunk, struct rec *rec)
{
	struct ws_sink sink = { rec, sink_message, sink_write };
	size_t pg = (size_t)sysconf(_SC_PAGESIZE), span, off, n, out_len;
	struct ws_conn c;
	unsigned char *base, *g;
	int r = 0, prev = 0;

	span = (t->in.len + pg - 1) / pg * pg + pg;
	base = mmap(NULL, span + pg, PROT_READ | PROT_WRITE,
	    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	assert_true(base != MAP_FAILED);
	assert_int_equal(mprotect(base + span, pg, PROT_NONE), 0);

	ws_conn_init(&c, t->max);
	for (off = 0; off < t->in.len; off += n) {
		n = t->in.len - off < chunk ? t->in.len - off : chunk;
		g = memcpy(base + span - n, t->in.p + off, n);
		out_len = rec->out.len;
		r = ws_conn_feed(&c, &sink, g, n);
		if (prev != 0) {
			assert_int_equal(r, prev);
			assert_int_equal(rec->out.len, out_len);
		}
		prev = r;
	}
	ws_conn_free(&c);
	munmap(base, span + pg);
	return r;
}

/* Run t whole and in chunks of several sizes; all must give `want`. */
static void
tc_check(struct tc *t, int want)
{
	static const size_t chunks[] = { SIZE_MAX, 1, 2, 3, 5, 7, 13, 4096 };
	size_t i;

	for (i = 0; i < sizeof(chunks) / sizeof(chunks[0]); i++) {
		struct rec rec = { 0 };

		if (run(t, chunks[i], &rec) != want)
			fail_msg("chunk %zu: wrong answer", chunks[i]);
		assert_int_equal(rec.out.len, t->out.len);
		if (t->out.len > 0)
			assert_memory_equal(rec.out.p, t->out.p, t->out.len);
		assert_int_equal(rec.msgs.len, t->msgs.len);
		if (t->msgs.len > 0)
			assert_memory_equal(rec.msgs.p, t->msgs.p, t->msgs.len);
		bytes_free(&rec.out);
		bytes_free(&rec.msgs);
	}
	tc_free(t);
}

/* A connection fails with `code` after the frames in t. */
static void
tc_fails(struct tc *t, int code)
{
	server_close(t, code);
	tc_check(t, -1);
}

static void
test_echo_data(void **state)
{
	static const size_t sizes[] = { 0, 1, 125, 126, 127, 0xffff, 0x10000 };
	unsigned char *big = malloc(0x10000);
	struct tc t = { 0 };
	size_t i;

	assert_non_null(big);
	for (i = 0; i < 0x10000; i++)
		big[i] = (unsigned char)(i * 7);

	client_frame(&t, FIN | WS_OP_TEXT, "Hello", 5);
	want_message(&t, WS_OP_TEXT, "Hello", 5);
	client_frame(&t, FIN | WS_OP_BINARY, "\0\xff", 2);
	want_message(&t, WS_OP_BINARY, "\0\xff", 2);
	client_frame(&t, FIN | WS_OP_TEXT, "", 0);
	want_message(&t, WS_OP_TEXT, "", 0);
	tc_check(&t, 0);

	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		client_frame(&t, FIN | WS_OP_BINARY, big, sizes[i]);
		want_message(&t, WS_OP_BINARY, big, sizes[i]);
		tc_check(&t, 0);
	}
	free(big);
}

static void
test_unmasked(void **state)
{
	static const unsigned char unmasked[] = { 0x81, 0x02, 'h', 'i' };
	struct tc t = { 0 };

	bytes_add(&t.in, unmasked, sizeof(unmasked));
	tc_fails(&t, WS_CLOSE_PROTOCOL);
}

static void
test_reserved_bits(void **state)
{
	struct tc t = { 0 };
	int rsv;

	for (rsv = 1; rsv <= 7; rsv++) {
		client_frame(&t, FIN | rsv << 4 | WS_OP_TEXT, "x", 1);
		tc_fails(&t, WS_CLOSE_PROTOCOL);
	}
	/* Also on a ping, and after a good message. */
	client_frame(&t, FIN | WS_OP_TEXT, "ok", 2);
	want_message(&t, WS_OP_TEXT, "ok", 2);
	client_frame(&t, FIN | RSV1 | WS_OP_PING, "", 0);
	tc_fails(&t, WS_CLOSE_PROTOCOL);
}

static void
test_reserved_opcodes(void **state)
{
	struct tc t = { 0 };
	int op;

	for (op = 3; op <= 0xf; op++) {
		if (op >= WS_OP_CLOSE && op <= WS_OP_PONG)
			continue;
		client_frame(&t, FIN | op, "", 0);
		tc_fails(&t, WS_CLOSE_PROTOCOL);
		client_frame(&t, FIN | op, "abc", 3);
		tc_fails(&t, WS_CLOSE_PROTOCOL);
	}
	/* Nothing after the bad frame is looked at. */
	client_frame(&t, FIN | 5, "", 0);
	client_frame(&t, FIN | WS_OP_PING, "p", 1);
	tc_fails(&t, WS_CLOSE_PROTOCOL);
}

static void
test_ping_pong(void **state)
{
	unsigned char p[WS_CONTROL_MAX + 1];
	struct tc t = { 0 };

	memset(p, 0xfe, sizeof(p));
	client_frame(&t, FIN | WS_OP_PING, "Hello", 5);
	server_frame(&t, WS_OP_PONG, "Hello", 5);
	client_frame(&t, FIN | WS_OP_PING, "", 0);
	server_frame(&t, WS_OP_PONG, "", 0);
	client_frame(&t, FIN | WS_OP_PING, p, WS_CONTROL_MAX);
	server_frame(&t, WS_OP_PONG, p, WS_CONTROL_MAX);
	client_frame(&t, FIN | WS_OP_PONG, "unsolicited", 11);
	client_frame(&t, FIN | WS_OP_PONG, "", 0);
	tc_check(&t, 0);

	client_frame(&t, FIN | WS_OP_PING, p, WS_CONTROL_MAX + 1);
	tc_fails(&t, WS_CLOSE_PROTOCOL);
	client_frame(&t, WS_OP_PING, "a", 1);
	client_frame(&t, FIN | WS_OP_CONT, "b", 1);
	tc_fails(&t, WS_CLOSE_PROTOCOL);
	client_frame(&t, FIN | WS_OP_PONG, p, WS_CONTROL_MAX + 1);
	tc_fails(&t, WS_CLOSE_PROTOCOL);
}

static void
test_fragmentation(void **state)
{
	struct tc t = { 0 };

	client_frame(&t, WS_OP_TEXT, "Hel", 3);
	client_frame(&t, WS_OP_CONT, "", 0);
	client_frame(&t, FIN | WS_OP_PING, "p1", 2);
	server_frame(&t, WS_OP_PONG, "p1", 2);
	client_frame(&t, WS_OP_CONT, "lo", 2);
	client_frame(&t, FIN | WS_OP_PONG, "x", 1);
	client_frame(&t, FIN | WS_OP_CONT, ", world", 7);
	want_message(&t, WS_OP_TEXT, "Hello, world", 12);
	client_frame(&t, WS_OP_BINARY, "", 0);
	client_frame(&t, FIN | WS_OP_CONT, "", 0);
	want_message(&t, WS_OP_BINARY, "", 0);
	client_frame(&t, WS_OP_BINARY, "\x01", 1);
	client_frame(&t, FIN | WS_OP_CONT, "\x02", 1);
	want_message(&t, WS_OP_BINARY, "\x01\x02", 2);
	tc_check(&t, 0);
}

static void
test_fragmentation_errors(void **state)
{
	struct tc t = { 0 };

	client_frame(&t, FIN | WS_OP_CONT, "x", 1);
	tc_fails(&t, WS_CLOSE_PROTOCOL);
	client_frame(&t, WS_OP_CONT, "x", 1);
	tc_fails(&t, WS_CLOSE_PROTOCOL);

	client_frame(&t, WS_OP_TEXT, "a", 1);
	client_frame(&t, FIN | WS_OP_TEXT, "b", 1);
	tc_fails(&t, WS_CLOSE_PROTOCOL);
	client_frame(&t, WS_OP_BINARY, "a", 1);
	client_frame(&t, WS_OP_BINARY, "b", 1);
	tc_fails(&t, WS_CLOSE_PROTOCOL);

	/* A finished message leaves no message in progress. */
	client_frame(&t, WS_OP_TEXT, "a", 1);
	client_frame(&t, FIN | WS_OP_CONT, "b", 1);
	want_message(&t, WS_OP_TEXT, "ab", 2);
	client_frame(&t, FIN | WS_OP_CONT, "c", 1);
	tc_fails(&t, WS_CLOSE_PROTOCOL);
}

static void
test_message_cap(void **state)
{
	unsigned char *p = calloc(1, 2048);
	unsigned char h[14] = { FIN | WS_OP_BINARY, 0x80 | 127, 0x40 };
	struct tc t = { .max = 1024 };
	size_t i;

	assert_non_null(p);
	client_frame(&t, FIN | WS_OP_BINARY, p, 1024);
	want_message(&t, WS_OP_BINARY, p, 1024);
	tc_check(&t, 0);

	/* Refused as soon as the header announces too much. */
	t.max = 1024;
	client_frame(&t, FIN | WS_OP_BINARY, p, 1025);
	t.in.len = 8;
	tc_fails(&t, WS_CLOSE_TOO_BIG);

	t.max = 1024;
	bytes_add(&t.in, h, sizeof(h));
	tc_fails(&t, WS_CLOSE_TOO_BIG);

	/* The cap is on the whole message, not on each fragment. */
	t.max = 1024;
	client_frame(&t, WS_OP_TEXT, p, 512);
	client_frame(&t, WS_OP_CONT, p, 511);
	client_frame(&t, FIN | WS_OP_CONT, p, 2);
	t.in.len -= 2;
	tc_fails(&t, WS_CLOSE_TOO_BIG);

	t.max = 1024;
	for (i = 0; i < 1023; i++)
		client_frame(&t, WS_OP_BINARY * (i == 0), p, 1);
	client_frame(&t, FIN | WS_OP_CONT, p, 1);
	want_message(&t, WS_OP_BINARY, p, 1024);
	client_frame(&t, FIN | WS_OP_TEXT, p, 1024);
	want_message(&t, WS_OP_TEXT, p, 1024);
	tc_check(&t, 0);
	free(p);

	/* The default cap, reached by growing the buffer fragment by fragment. */
	t.max = 0;
	p = calloc(1, WS_MESSAGE_MAX_DEFAULT);
	assert_non_null(p);
	for (i = 0; i < 64; i++)
		client_frame(&t, (i == 63 ? FIN : 0) | (i == 0 ? WS_OP_BINARY : 0),
		    p + i * 1024, 1024);
	want_message(&t, WS_OP_BINARY, p, WS_MESSAGE_MAX_DEFAULT);
	client_frame(&t, FIN | WS_OP_BINARY, p, WS_MESSAGE_MAX_DEFAULT);
	want_message(&t, WS_OP_BINARY, p, WS_MESSAGE_MAX_DEFAULT);
	tc_check(&t, 0);
	free(p);
}

static void
test_utf8(void **state)
{
	static const char kosme[] = "\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5";
	struct tc t = { 0 };
	size_t i;

	/* Valid text split inside characters, at every point. */
	for (i = 0; i <= sizeof(kosme) - 1; i++) {
		client_frame(&t, WS_OP_TEXT, kosme, i);
		client_frame(&t, FIN | WS_OP_CONT, kosme + i, sizeof(kosme) - 1 - i);
		want_message(&t, WS_OP_TEXT, kosme, sizeof(kosme) - 1);
	}
	client_frame(&t, FIN | WS_OP_BINARY, "\xff\xfe", 2);
	want_message(&t, WS_OP_BINARY, "\xff\xfe", 2);
	tc_check(&t, 0);

	client_frame(&t, FIN | WS_OP_TEXT, "a\xc0\xaf", 3);
	tc_fails(&t, WS_CLOSE_INVALID_DATA);

	/* Fail fast: the rest of the frame never needs to arrive. */
	client_frame(&t, FIN | WS_OP_TEXT, "\xce\xba\xf4\x90\x80\x80zzzzzzzz", 14);
	t.in.len -= 10;
	tc_fails(&t, WS_CLOSE_INVALID_DATA);

	/* ... nor the next fragment, when the bad byte starts a fragment. */
	client_frame(&t, WS_OP_TEXT, "\xce\xba\xf4", 3);
	client_frame(&t, WS_OP_CONT, "\x90\x80\x80zz", 5);
	t.in.len -= 4;
	tc_fails(&t, WS_CLOSE_INVALID_DATA);

	/* A message must not end inside a character. */
	client_frame(&t, FIN | WS_OP_TEXT, "\xce", 1);
	tc_fails(&t, WS_CLOSE_INVALID_DATA);
	client_frame(&t, WS_OP_TEXT, "\xce", 1);
	client_frame(&t, FIN | WS_OP_CONT, "", 0);
	tc_fails(&t, WS_CLOSE_INVALID_DATA);

	/* The validator starts over with each message. */
	client_frame(&t, FIN | WS_OP_TEXT, "ok", 2);
	want_message(&t, WS_OP_TEXT, "ok", 2);
	client_frame(&t, FIN | WS_OP_TEXT, "\xba", 1);
	tc_fails(&t, WS_CLOSE_INVALID_DATA);
}

static void
test_close_valid(void **state)
{
	static const int codes[] = {
		1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011,
		3000, 3999, 4000, 4999,
	};
	char reason[WS_CONTROL_MAX - 2 + 1];
	struct tc t = { 0 };
	size_t i;

	client_frame(&t, FIN | WS_OP_CLOSE, "", 0);
	server_close(&t, 1000);
	tc_check(&t, 1);

	for (i = 0; i < sizeof(codes) / sizeof(codes[0]); i++) {
		client_close(&t, codes[i], "");
		server_close(&t, codes[i]);
		tc_check(&t, 1);
		client_close(&t, codes[i], "bye \xce\xba");
		server_close(&t, codes[i]);
		tc_check(&t, 1);
	}

	memset(reason, 'r', sizeof(reason) - 1);
	reason[sizeof(reason) - 1] = '\0';
	client_close(&t, 1000, reason);
	server_close(&t, 1000);
	tc_check(&t, 1);

	/* Nothing after the close is looked at. */
	client_frame(&t, FIN | WS_OP_TEXT, "a", 1);
	want_message(&t, WS_OP_TEXT, "a", 1);
	client_close(&t, 1001, "");
	server_close(&t, 1001);
	client_frame(&t, FIN | WS_OP_PING, "", 0);
	client_frame(&t, FIN | 3, "", 0);
	tc_check(&t, 1);

	/* A close may come between fragments. */
	client_frame(&t, WS_OP_TEXT, "a", 1);
	client_close(&t, 1000, "");
	server_close(&t, 1000);
	tc_check(&t, 1);
}

static void
test_close_invalid(void **state)
{
	static const int codes[] = {
		0, 999, 1004, 1005, 1006, 1012, 1013, 1014, 1015, 1016, 1100,
		2000, 2999, 5000, 65535,
	};
	struct tc t = { 0 };
	size_t i;

	for (i = 0; i < sizeof(codes) / sizeof(codes[0]); i++) {
		client_close(&t, codes[i], "");
		tc_fails(&t, WS_CLOSE_PROTOCOL);
	}
	client_frame(&t, FIN | WS_OP_CLOSE, "\x03", 1);
	tc_fails(&t, WS_CLOSE_PROTOCOL);
	client_close(&t, 1000, "bad \xce\xba\xf4\x90");
	tc_fails(&t, WS_CLOSE_INVALID_DATA);
	client_close(&t, 1000, "cut \xce");
	tc_fails(&t, WS_CLOSE_INVALID_DATA);
}

/* After a failure, nothing more is processed or written. */
static void
test_failed_is_final(void **state)
{
	struct ws_conn c;
	struct rec rec = { 0 };
	struct ws_sink sink = { &rec, sink_message, sink_write };
	static const unsigned char unmasked[] = { 0x89, 0x00 };
	struct tc t = { 0 };

	client_frame(&t, FIN | WS_OP_PING, "x", 1);
	ws_conn_init(&c, 0);
	assert_int_equal(ws_conn_feed(&c, &sink, unmasked, 2), -1);
	assert_int_equal(rec.out.len, 4);
	assert_int_equal(ws_conn_feed(&c, &sink, t.in.p, t.in.len), -1);
	assert_int_equal(rec.out.len, 4);
	ws_conn_send(&c, &sink, WS_OP_TEXT, "late", 4);
	ws_conn_close(&c, &sink, 1000, "late");
	assert_int_equal(rec.out.len, 4);
	ws_conn_free(&c);
	ws_conn_free(&c);
	ws_conn_free(NULL);
	bytes_free(&rec.out);
	tc_free(&t);
}

static void
test_send(void **state)
{
	static const unsigned char text[] = { 0x81, 0x02, 'h', 'i' };
	static const unsigned char bin_hdr[] = { 0x82, 0x7e, 0x00, 0x7e };
	static const unsigned char big_hdr[] = {
		0x82, 0x7f, 0, 0, 0, 0, 0, 1, 0x11, 0x70,
	};
	static const unsigned char ping[] = { 0x89, 0x01, 'p' };
	unsigned char *p = calloc(1, 70000);
	struct rec rec = { 0 };
	struct ws_sink sink = { &rec, sink_message, sink_write };
	struct ws_conn c;

	assert_non_null(p);
	ws_conn_init(&c, 0);
	ws_conn_send(&c, &sink, WS_OP_TEXT, "hi", 2);
	assert_int_equal(rec.out.len, sizeof(text));
	assert_memory_equal(rec.out.p, text, sizeof(text));

	rec.out.len = 0;
	ws_conn_send(&c, &sink, WS_OP_BINARY, p, 126);
	assert_int_equal(rec.out.len, 4 + 126);
	assert_memory_equal(rec.out.p, bin_hdr, 4);

	rec.out.len = 0;
	ws_conn_send(&c, &sink, WS_OP_BINARY, p, 70000);
	assert_int_equal(rec.out.len, 10 + 70000);
	assert_memory_equal(rec.out.p, big_hdr, 10);

	rec.out.len = 0;
	ws_conn_send(&c, &sink, WS_OP_PING, "p", 1);
	assert_memory_equal(rec.out.p, ping, sizeof(ping));

	rec.out.len = 0;
	ws_conn_send(&c, &sink, WS_OP_TEXT, "", 0);
	assert_int_equal(rec.out.len, 2);
	assert_memory_equal(rec.out.p, "\x81\x00", 2);

	ws_conn_free(&c);
	bytes_free(&rec.out);
	free(p);
}

/* A new connection closed by the server with `code` writes `want`. */
static void
close_sent(struct rec *rec, const struct ws_sink *sink, int code,
    const char *want)
{
	struct ws_conn c;

	rec->out.len = 0;
	ws_conn_init(&c, 0);
	ws_conn_close(&c, sink, code, NULL);
	assert_int_equal(rec->out.len, 4);
	assert_memory_equal(rec->out.p, want, 4);
	ws_conn_free(&c);
}

static void
test_server_close(void **state)
{
	static const unsigned char bye[] = { 0x88, 0x05, 0x03, 0xe9, 'b', 'y', 'e' };
	char long_reason[201];
	struct rec rec = { 0 };
	struct ws_sink sink = { &rec, sink_message, sink_write };
	struct ws_conn c;
	struct tc t = { 0 };
	size_t i;

	ws_conn_init(&c, 0);
	ws_conn_close(&c, &sink, 1001, "bye");
	assert_int_equal(rec.out.len, sizeof(bye));
	assert_memory_equal(rec.out.p, bye, sizeof(bye));

	/* No second close, no data, no pong; the client's close ends it. */
	ws_conn_close(&c, &sink, 1000, NULL);
	ws_conn_send(&c, &sink, WS_OP_TEXT, "x", 1);
	client_frame(&t, FIN | WS_OP_PING, "p", 1);
	client_frame(&t, FIN | WS_OP_TEXT, "still read", 10);
	assert_int_equal(ws_conn_feed(&c, &sink, t.in.p, t.in.len), 0);
	assert_int_equal(rec.out.len, sizeof(bye));
	assert_int_equal(rec.msgs.len, 9 + 10);
	t.in.len = 0;
	client_close(&t, 1001, "");
	assert_int_equal(ws_conn_feed(&c, &sink, t.in.p, t.in.len), 1);
	assert_int_equal(rec.out.len, sizeof(bye));
	ws_conn_free(&c);

	/* A long reason is cut to fit, at a character boundary. */
	for (i = 0; i < 100; i++)
		memcpy(long_reason + 2 * i, "\xc3\xa9", 2);
	long_reason[200] = '\0';
	rec.out.len = 0;
	ws_conn_init(&c, 0);
	ws_conn_close(&c, &sink, 1008, long_reason);
	assert_int_equal(rec.out.len, 2 + 2 + 122);
	assert_int_equal(rec.out.p[1], 2 + 122);
	assert_true(utf8_valid(rec.out.p + 4, 122));
	ws_conn_free(&c);

	/* A reason that is not UTF-8 is left out. */
	rec.out.len = 0;
	ws_conn_init(&c, 0);
	ws_conn_close(&c, &sink, 1011, "bad \xc0\xaf");
	assert_int_equal(rec.out.len, 4);
	assert_memory_equal(rec.out.p, "\x88\x02\x03\xf3", 4);
	ws_conn_free(&c);

	close_sent(&rec, &sink, 4000, "\x88\x02\x0f\xa0");

	/* 1013 Try Again Later (server_full): the server may send it, though
	 * a client's 1013 is refused (test_close_invalid).  It aborted. */
	close_sent(&rec, &sink, 1013, "\x88\x02\x03\xf5");

	bytes_free(&rec.out);
	bytes_free(&rec.msgs);
	tc_free(&t);
}

/*
 * With storage of the caller's (ws_conn_storage), a message that fits is
 * put together there, not on the heap; a longer one moves to the heap.
 * Idle between messages, the buffer goes back to the storage and the
 * storage's page to the kernel (it reads as zeros); idle in the middle of
 * a message, nothing is given back.
 */
static void
test_storage(void **state)
{
	static unsigned char store[4096] __attribute__((aligned(4096)));
	unsigned char *big = malloc(6000);
	struct rec rec = { 0 };
	struct ws_sink sink = { &rec, sink_message, sink_write };
	struct ws_conn c;
	struct tc t = { 0 };

	assert_non_null(big);
	memset(big, 'x', 6000);
	ws_conn_init(&c, 0);
	ws_conn_storage(&c, store, sizeof(store));
	client_frame(&t, FIN | WS_OP_TEXT, "hello", 5);
	assert_int_equal(ws_conn_feed(&c, &sink, t.in.p, t.in.len), 0);
	assert_int_equal(rec.msgs.len, 9 + 5);
	assert_ptr_equal(c.msg.buf, store);
	assert_memory_equal(store, "hello", 5);

	t.in.len = 0;
	client_frame(&t, WS_OP_TEXT, big, 3000);
	assert_int_equal(ws_conn_feed(&c, &sink, t.in.p, t.in.len), 0);
	ws_conn_idle(&c);
	assert_ptr_equal(c.msg.buf, store);
	assert_int_equal(c.msg.len, 3000);
	assert_int_equal(store[2999], 'x');

	t.in.len = 0;
	client_frame(&t, FIN | WS_OP_CONT, big + 3000, 3000);
	assert_int_equal(ws_conn_feed(&c, &sink, t.in.p, t.in.len), 0);
	assert_int_equal(rec.msgs.len, 9 + 5 + 9 + 6000);
	assert_memory_equal(rec.msgs.p + 9 + 5 + 9, big, 6000);
	assert_ptr_not_equal(c.msg.buf, store);

	ws_conn_idle(&c);
	assert_ptr_equal(c.msg.buf, store);
	assert_int_equal(store[0], 0);
	assert_int_equal(store[2999], 0);
	ws_conn_free(&c);
	bytes_free(&rec.msgs);
	tc_free(&t);
	free(big);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_echo_data),
		cmocka_unit_test(test_unmasked),
		cmocka_unit_test(test_reserved_bits),
		cmocka_unit_test(test_reserved_opcodes),
		cmocka_unit_test(test_ping_pong),
		cmocka_unit_test(test_fragmentation),
		cmocka_unit_test(test_fragmentation_errors),
		cmocka_unit_test(test_message_cap),
		cmocka_unit_test(test_utf8),
		cmocka_unit_test(test_close_valid),
		cmocka_unit_test(test_close_invalid),
		cmocka_unit_test(test_failed_is_final),
		cmocka_unit_test(test_send),
		cmocka_unit_test(test_server_close),
		cmocka_unit_test(test_storage),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
