/* SPDX-License-Identifier: ISC */
/*
 * The hub's fan-out, alone: what one room message to N members costs the
 * hub's rules, without the kernel.  It links the rule objects
 * (tests/link.mk's LINK_HUB_RULES, as test_route does) with a fake clock
 * and fake sockets (a struct hub_ops that counts bytes and copies each
 * datagram once, as send(2) would into the socket's buffer), makes N
 * identified sessions in one room, and sends M room messages through
 * hub_dispatch().  Run it under `valgrind --tool=callgrind` or `perf
 * stat -e instructions:u`: the instructions per delivery are the figure
 * (bench/analysis.md).  No timing of its own: the machine is too noisy.
 *
 *	fanout [members [messages]]	(defaults 1000 and 50)
 *
 * Prints the deliveries and the bytes.  The loop measured is
 * fanout_run(): `valgrind --tool=callgrind --toggle-collect=fanout_run`
 * counts it alone, without the set-up.  It uses nothing of the hub but
 * its rules' entry points, so it also builds against an older tree
 * (bench/analysis.md's before and after).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../hub/hub.h"

#define STR_(x)	#x
#define STR(x)	STR_(x)
#define PV	STR(SB_PROTO_VERSION)	/* H_HELLO's version */

static unsigned char sink[SB_MSG_MAX];
static unsigned long long delivered, bytes;

/* The fake socket: the copy into the kernel's buffer, and nothing else. */
static int
fake_send(struct hub *h, struct peer *p, const struct sb_packet *pkt)
{
	memcpy(sink, pkt->buf, pkt->len);
	delivered++;
	bytes += pkt->len;
	return 0;
}

static uint64_t
fake_now(struct hub *h)
{
	return 1000000000ULL;
}

static void
fake_arm(struct hub *h, uint64_t usec)
{
}

static int
fake_check(struct hub *h, uint64_t session, const char *setting,
    const char *password)
{
	return -EAGAIN;
}

static const struct hub_ops fake_ops = {
	.send = fake_send,
	.now_usec = fake_now,
	.arm = fake_arm,
	.check_password = fake_check,
};

/* What the handler of `p` would send: packed, decoded, dispatched. */
static void
say(struct hub *h, struct peer *p, enum sb_type type, const char *a,
    const char *b, const char *c)
{
	static struct sb_packet in;
	struct sb_msg m;

	if (sb_msg_pack(&in, type, p->session, a, b, c, NULL) < 0 ||
	    sb_msg_decode(&m, in.buf, in.len) < 0 ||
	    hub_dispatch(h, p, &m) < 0) {
		fprintf(stderr, "fanout: %s refused\n", sb_type_name(type));
		exit(1);
	}
}

/* The measured part: `messages` room messages from `from`. */
__attribute__((noinline)) static void
fanout_run(struct hub *h, struct peer *from, long messages)
{
	long i;

	for (i = 0; i < messages; i++) {
		from->tokens = 1e9;	/* no flood limit in a benchmark */
		say(h, from, SB_H_ROOMMSG, "crowd", "The quick brown fox "
		    "jumps over the lazy dog", NULL);
	}
}

int
main(int argc, char **argv)
{
	long members = argc > 1 ? atol(argv[1]) : 1000;
	long messages = argc > 2 ? atol(argv[2]) : 50;
	static struct hub h;
	struct sb_config cfg;
	struct peer *first = NULL, *p;
	char nick[SB_NICK_MAX + 1];
	long i;

	if (members < 1 || members > 100000 || messages < 1 ||
	    messages > 100000) {
		fprintf(stderr, "usage: fanout [members [messages]]\n");
		return 2;
	}
	config_defaults(&cfg);
	cfg.max_clients = (unsigned)members + 1;
	cfg.presence_max = 0;		/* no JOINED to everyone: the set-up */
	hub_init(&h, &cfg, &fake_ops, NULL);
	if (hub_rooms_configure(&h) < 0)
		return 1;
	for (i = 0; i < members; i++) {
		if ((p = hub_peer_new(&h, -1)) == NULL)
			return 1;
		snprintf(nick, sizeof(nick), "u%ld", i);
		say(&h, p, SB_H_HELLO, PV, "websocket", "192.0.2.1:1");
		say(&h, p, SB_H_IDENTIFY, nick, "", "");
		say(&h, p, SB_H_JOIN, "crowd", NULL, NULL);
		if (first == NULL)
			first = p;
	}
	delivered = bytes = 0;
	fanout_run(&h, first, messages);
	printf("members %ld messages %ld deliveries %llu bytes %llu\n",
	    members, messages, delivered, bytes);
	return delivered == (unsigned long long)(members * messages) ? 0 : 1;
}
