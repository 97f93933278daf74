/* SPDX-License-Identifier: ISC */
/*
 * Unit tests of a handler session without its epoll wait, driven as the
 * loop drives it (handler/loop.c's event handlers), as tests/fuzz/
 * fuzz_session.c does: the hub is the other end of a SOCK_SEQPACKET
 * socketpair, and what the client would read is taken from the output
 * queue.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../../handler/handler.h"

static struct conn C;
static int hub_end = -1;	/* the hub's side of the socketpair */

/* A connection as main.c sets one up, with its hub connected already. */
static int
setup(void **state)
{
	int sv[2];

	(void)state;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0, sv) < 0)
		return -1;
	memset(&C, 0, sizeof(C));
	config_defaults(&C.cfg);
	hublink_init(&C, "/nonexistent/switchboard-test/hub.sock");
	C.hub.fd = sv[0];
	hub_end = sv[1];
	client_io_init(&C, -1, -1, 0);
	C.loop.clock_ms = now_ms();
	modes_start(&C, C.loop.clock_ms);
	chat_init(&C, C.loop.clock_ms);
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	loop_free(&C);
	close(hub_end);
	hub_end = -1;
	return 0;
}

/* The client sends `s`. */
static void
client_sends(const void *p, size_t n)
{
	loop_client_bytes(&C, p, n);
}

/* The next datagram the hub got, decoded into `m` (in `buf`): 0 or -1. */
static int
hub_got(unsigned char *buf, size_t size, struct sb_msg *m)
{
	ssize_t n = recv(hub_end, buf, size, MSG_DONTWAIT);

	if (n < 0)
		return -1;
	assert_int_equal(sb_msg_decode(m, buf, (size_t)n), 0);
	return 0;
}

/* A masked client text frame (mask key 0) of `len` <= 65535 bytes. */
static size_t
ws_text_frame(unsigned char *out, const char *p, size_t len)
{
	out[0] = 0x81;
	out[1] = 0x80 | 126;
	out[2] = (unsigned char)(len >> 8);
	out[3] = (unsigned char)len;
	memset(out + 4, 0, 4);
	memcpy(out + 8, p, len);
	return len + 8;
}

/* Open a WebSocket /chat session; the 101 is read and dropped. */
static void
open_chat(void)
{
	static const char req[] = "GET /chat HTTP/1.1\r\nHost: test\r\n"
	    "Upgrade: websocket\r\nConnection: Upgrade\r\n"
	    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
	    "Sec-WebSocket-Version: 13\r\n\r\n";

	client_sends(req, sizeof(req) - 1);
	assert_int_equal(C.modes.mode, MODE_WEBSOCKET);
	assert_true(C.io.out.len > 13);
	assert_memory_equal(buf_head(&C.io.out), "HTTP/1.1 101 ", 13);
	buf_reset(&C.io.out);
}

/*
 * The shared packer refuses a field past SB_FIELDS_MAX (E2BIG): the hub
 * link sends nothing rather than the first sixteen.  C_CONFIG is the one
 * type that takes sixteen fields, so only a seventeenth can be dropped.
 */
static void
test_pack_refuses_a_field_too_many(void **state)
{
	static unsigned char buf[SB_MSG_MAX];
	struct sb_msg m;
	const char *k = "k=v";

	(void)state;
	assert_int_equal(hublink_pack(&C, SB_C_CONFIG, k, k, k, k, k, k, k, k,
	    k, k, k, k, k, k, k, k, NULL), 0);
	assert_int_equal(hub_got(buf, sizeof(buf), &m), 0);
	assert_int_equal(m.nfields, 16);
	assert_true(hublink_pack(&C, SB_C_CONFIG, k, k, k, k, k, k, k, k, k,
	    k, k, k, k, k, k, k, k, NULL) < 0);
	assert_int_equal(hub_got(buf, sizeof(buf), &m), -1);
	assert_int_equal(errno, EAGAIN);
}

/*
 * A JSON client whose command the hub link cannot take (its queue is
 * full, and no new hub is awaited) hears "unavailable" in JSON, in a text
 * frame, before the close.
 */
static void
test_unavailable_in_the_clients_dialect(void **state)
{
	static unsigned char frame[4096];
	char cmd[2200], text[2048];
	struct ws_frame f;
	const unsigned char *out;
	size_t n;
	int i, h;

	(void)state;
	open_chat();
	memset(text, 'x', sizeof(text) - 1);
	text[sizeof(text) - 1] = '\0';
	snprintf(cmd, sizeof(cmd), "{\"type\":\"say\",\"room\":\"lobby\","
	    "\"text\":\"%s\"}", text);
	n = ws_text_frame(frame, cmd, strlen(cmd));
	/* The hub reads nothing: its socket fills, then the queue. */
	for (i = 0; i < 1000 && !client_io_closing(&C); i++)
		client_sends(frame, n);
	assert_true(client_io_closing(&C));
	out = buf_head(&C.io.out);
	h = ws_frame_decode(&f, out, C.io.out.len);
	assert_true(h > 0);
	assert_int_equal(f.opcode, WS_OP_TEXT);
	assert_true(f.len > 0 && out[h] == '{');
	assert_non_null(memmem(out + h, (size_t)f.len,
	    "\"code\":\"unavailable\"", 20));
	/* Then the close. */
	n = (size_t)h + (size_t)f.len;
	assert_true(ws_frame_decode(&f, out + n, C.io.out.len - n) > 0);
	assert_int_equal(f.opcode, WS_OP_CLOSE);
}

/* The hub sends `type` with its fields (then NULL). */
static void
hub_sends(enum sb_type type, ...)
{
	struct sb_packet p;
	va_list ap;

	va_start(ap, type);
	assert_int_equal(sb_msg_vpack(&p, type, 0, ap), 0);
	va_end(ap);
	assert_int_equal(send(hub_end, p.buf, p.len, 0), (ssize_t)p.len);
	loop_hub_input(&C);
}

/* The hub got `type`, whose field 0 (if `f0`) is f0; -1 if nothing. */
static void
hub_expects(enum sb_type type, const char *f0)
{
	static unsigned char buf[SB_MSG_MAX];
	struct sb_msg m;

	assert_int_equal(hub_got(buf, sizeof(buf), &m), 0);
	if (m.type != type)
		fail_msg("the hub got %s, not %s", sb_type_name(m.type),
		    sb_type_name(type));
	if (f0 != NULL) {
		assert_true(m.nfields > 0);
		assert_string_equal(m.field[0], f0);
	}
}

/* What the client has been sent, as a string (the queue emptied). */
static const char *
client_got(void)
{
	static char out[8192];
	size_t n = C.io.out.len < sizeof(out) - 1 ? C.io.out.len :
	    sizeof(out) - 1;

	memcpy(out, buf_head(&C.io.out), n);
	out[n] = '\0';
	buf_reset(&C.io.out);
	return out;
}

/* The client asks for `path`. */
static void
get(const char *path)
{
	char req[256];
	int n = snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: t\r\n"
	    "\r\n", path);

	client_sends(req, (size_t)n);
}

/*
 * /metrics from an address in metrics_from: the hub is asked with
 * H_STATUS "metrics", its chunks are joined, and the text goes out in
 * the Prometheus format.
 */
static void
test_metrics_page(void **state)
{
	const char *out;

	(void)state;
	strcpy(C.remote, "127.0.0.1:4000");
	get("/metrics");
	hub_expects(SB_H_HELLO, NULL);
	hub_expects(SB_H_STATUS, "metrics");
	assert_int_equal(C.modes.mode, MODE_STATUS);
	hub_sends(SB_C_METRICS, "1", "a 1\n", NULL);
	assert_int_equal(C.io.out.len, 0);
	hub_sends(SB_C_METRICS, "0", "b 2\n", NULL);
	out = client_got();
	assert_non_null(strstr(out, "HTTP/1.1 200 OK\r\n"));
	assert_non_null(strstr(out, "Content-Type: text/plain; version=0.0.4; "
	    "charset=utf-8\r\n"));
	assert_non_null(strstr(out, "Content-Length: 8\r\n"));
	assert_non_null(strstr(out, "\r\n\r\na 1\nb 2\n"));
	assert_true(client_io_closing(&C));
}

/* /metrics from elsewhere: what an unknown page gets, told as a failure. */
static void
test_metrics_page_elsewhere(void **state)
{
	static unsigned char buf[SB_MSG_MAX];
	struct sb_msg m;

	(void)state;
	strcpy(C.remote, "192.0.2.1:4000");
	get("/metrics");
	assert_non_null(strstr(client_got(), "HTTP/1.1 404 Not Found\r\n"));
	hub_expects(SB_H_HELLO, NULL);
	assert_int_equal(hub_got(buf, sizeof(buf), &m), 0);
	assert_int_equal(m.type, SB_H_EVENT);
	assert_int_equal(m.nfields, 3);
	assert_string_equal(m.field[2], "404");
	assert_int_equal(hub_got(buf, sizeof(buf), &m), -1);	/* no STATUS */
}

/*
 * /healthz: H_STATUS alone (no HELLO: no session, nothing logged), 200
 * once the hub answers; 503 when it does not within
 * HANDLER_HEALTH_WAIT_MS.
 */
static void
test_healthz(void **state)
{
	static unsigned char buf[SB_MSG_MAX];
	struct sb_msg m;
	const char *out;

	(void)state;
	get("/healthz");
	assert_int_equal(hub_got(buf, sizeof(buf), &m), 0);
	assert_int_equal(m.type, SB_H_STATUS);
	assert_int_equal(m.nfields, 0);
	assert_int_equal(hub_got(buf, sizeof(buf), &m), -1);
	assert_true(C.modes.deadline_ms <= C.loop.clock_ms +
	    HANDLER_HEALTH_WAIT_MS);
	hub_sends(SB_C_STATUS, "0", "1", "0", "0", NULL);
	out = client_got();
	assert_non_null(strstr(out, "HTTP/1.1 200 OK\r\n"));
	assert_non_null(strstr(out, "\r\n\r\nok\n"));
	assert_null(strstr(out, "Clients"));	/* it tells nothing */
	teardown(NULL);
	setup(NULL);
	get("/healthz");
	loop_tick(&C, C.loop.clock_ms + HANDLER_HEALTH_WAIT_MS);
	assert_non_null(strstr(client_got(), "HTTP/1.1 503 "));
}

/*
 * An XMLSocket session tells the hub its dialect with its first message
 * (H_DIALECT before the command), and why it ended (H_QUIT's cause).
 */
static void
test_dialect_and_quit_cause(void **state)
{
	static const char login[] = "<login u=\"x\" p=\"\" />";	/* NUL */
	static unsigned char buf[SB_MSG_MAX];
	struct sb_msg m;

	(void)state;
	client_sends(login, sizeof(login));
	hub_expects(SB_H_HELLO, NULL);
	hub_expects(SB_H_DIALECT, "xml");
	hub_expects(SB_H_IDENTIFY, "x");
	loop_client_eof(&C);
	assert_int_equal(hub_got(buf, sizeof(buf), &m), 0);
	assert_int_equal(m.type, SB_H_QUIT);
	assert_int_equal(m.nfields, 2);
	assert_string_equal(m.field[1], "closed");
}

/* A room message "m<n>" from the hub, epoch 7, numbered `seq`. */
static void
room_msg(struct sb_packet *p, unsigned n, uint64_t seq)
{
	char text[16];

	snprintf(text, sizeof(text), "m%u", n);
	assert_int_equal(sb_msg_pack(p, SB_C_MSG, 1, "room", "bob", "",
	    "lobby", text, "0", "", NULL), 0);
	sb_packet_stamp(p, 7, seq);
}

/*
 * The JSON "text" and "seq" of each text frame in the client's output,
 * in order: checks they are m<first>, m<first+1>, ... and seq
 * <seq0>, <seq0+1>, ...  Returns how many frames.
 */
static unsigned
frames_in_order(unsigned first, unsigned seq0)
{
	const unsigned char *out = buf_head(&C.io.out);
	size_t off = 0;
	struct ws_frame f;
	char want[64];
	unsigned n = 0;
	int h;

	while (off < C.io.out.len) {
		h = ws_frame_decode(&f, out + off, C.io.out.len - off);
		assert_true(h > 0);
		assert_int_equal(f.opcode, WS_OP_TEXT);
		snprintf(want, sizeof(want), "\"text\":\"m%u\"", first + n);
		assert_non_null(memmem(out + off + h, (size_t)f.len, want,
		    strlen(want)));
		snprintf(want, sizeof(want), "\"seq\":%u}", seq0 + n);
		assert_non_null(memmem(out + off + h, (size_t)f.len, want,
		    strlen(want)));
		off += (size_t)h + (size_t)f.len;
		n++;
	}
	return n;
}

/*
 * A C_BATCH from the hub (what waited while the handler was behind) is
 * unpacked into its messages, each sequence-checked as if it came alone,
 * and rendered in order into the client's output, which the loop then
 * writes at once: one write for the whole batch.
 */
static void
test_batch_unpacked_in_order(void **state)
{
	static unsigned char batch[SB_MSG_MAX];
	struct sb_packet p;
	size_t bl = 0;
	unsigned i;

	(void)state;
	open_chat();
	for (i = 0; i < 40; i++) {
		room_msg(&p, i, i + 1);
		assert_int_equal(sb_batch_add(batch, &bl, p.buf, p.len), 0);
	}
	assert_int_equal(send(hub_end, batch, bl, 0), (ssize_t)bl);
	room_msg(&p, 40, 41);		/* and one alone after it */
	assert_int_equal(send(hub_end, p.buf, p.len, 0), (ssize_t)p.len);
	loop_hub_input(&C);
	assert_int_equal(frames_in_order(0, 1), 41);
	assert_int_equal(C.hub.seq, 41);
	assert_int_equal(C.hub.inner_off, 0);
	buf_reset(&C.io.out);

	/* A gap inside a batch still shows: the JSON seq jumps by it. */
	bl = 0;
	room_msg(&p, 41, 42);
	assert_int_equal(sb_batch_add(batch, &bl, p.buf, p.len), 0);
	room_msg(&p, 42, 44);
	assert_int_equal(sb_batch_add(batch, &bl, p.buf, p.len), 0);
	assert_int_equal(send(hub_end, batch, bl, 0), (ssize_t)bl);
	loop_hub_input(&C);
	assert_non_null(memmem(buf_head(&C.io.out), C.io.out.len,
	    "\"text\":\"m42\",\"epoch\":7,\"seq\":44}", 30));
	assert_false(client_io_closing(&C));
}

/*
 * The idle trim's wait (loop_trim_wait): twice the gap after which the
 * chat came back, within [HANDLER_IDLE_TRIM_MS, HANDLER_IDLE_TRIM_MAX_MS];
 * a gap of HANDLER_IDLE_TRIM_MAX_MS or more starts over at the least.
 */
static void
test_idle_trim_learns_the_gap(void **state)
{
	(void)state;
	assert_int_equal(loop_trim_wait(0), HANDLER_IDLE_TRIM_MS);
	assert_int_equal(loop_trim_wait(HANDLER_IDLE_TRIM_MS / 2 - 1),
	    HANDLER_IDLE_TRIM_MS);
	assert_int_equal(loop_trim_wait(600), 1200);
	assert_int_equal(loop_trim_wait(5000), 10000);
	assert_int_equal(loop_trim_wait(HANDLER_IDLE_TRIM_MAX_MS / 2),
	    HANDLER_IDLE_TRIM_MAX_MS);
	assert_int_equal(loop_trim_wait(HANDLER_IDLE_TRIM_MAX_MS - 1),
	    HANDLER_IDLE_TRIM_MAX_MS);
	assert_int_equal(loop_trim_wait(HANDLER_IDLE_TRIM_MAX_MS),
	    HANDLER_IDLE_TRIM_MS);
	assert_int_equal(loop_trim_wait(UINT64_MAX / 2), HANDLER_IDLE_TRIM_MS);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
		    test_pack_refuses_a_field_too_many, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_unavailable_in_the_clients_dialect, setup, teardown),
		cmocka_unit_test_setup_teardown(test_metrics_page, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_metrics_page_elsewhere,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_healthz, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dialect_and_quit_cause,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_batch_unpacked_in_order, setup, teardown),
		cmocka_unit_test(test_idle_trim_learns_the_gap),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
