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
	client_io_init(&C, -1, -1);
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

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
		    test_pack_refuses_a_field_too_many, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
