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

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
		    test_pack_refuses_a_field_too_many, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_unavailable_in_the_clients_dialect, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
