/* SPDX-License-Identifier: ISC */
/*
 * redisfloor: the floor of the cluster's round trip (xrtt, issue 20).
 * What a private message to another machine adds to the one hub's path
 * is the hop through Redis each way: the sender's hub runs a script that
 * keeps the message and publishes it, and the receiving hub reads the
 * publish.  This does only that, with the hubs' own script (PM_LUA of
 * hub/cluster.c, the same commands), between two programs on the two
 * machines:
 *
 *   redisfloor pong HOST PORT USER PASS     on machine B: each publish
 *                                           on rf:to:b is sent back
 *                                           with the script, to rf:to:a
 *   redisfloor ping HOST PORT USER PASS N   on machine A: N round trips,
 *                                           one in flight, each timed
 *                                           from the script's send to
 *                                           the publish back
 *
 * Each side has a connection for the script and one subscribed, as a hub
 * has.  The answer to a script is read after the publish, off the timed
 * path, as a hub does.  ping prints one line, RESULT ... rtt_p50_us=...,
 * and sends "stop" to end pong.  No checks beyond what keeps the loop
 * bounded: N at most 1,000,000, and every read waits at most 10 s.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

#include <hiredis/hiredis.h>

#define PAYLOAD	"{\"k\":\"private\",\"f\":\"r0\",\"t\":\"r1\",\"s\":12," \
	"\"x\":\"rtt 000000000000000000000000000000000000\",\"w\":1764720000}"

/* hub/cluster.c's PM_LUA, word for word. */
static const char PM_LUA[] =
	"local e = redis.call('INCR', KEYS[2]) .. ' ' .. ARGV[1]\n"
	"redis.call('RPUSH', KEYS[1], e)\n"
	"redis.call('LTRIM', KEYS[1], -tonumber(ARGV[3]), -1)\n"
	"redis.call('PUBLISH', ARGV[2], e)\n";

static redisContext *
open_one(const char *host, int port, const char *user, const char *pass)
{
	struct timeval tv = { 10, 0 };
	redisContext *c = redisConnectWithTimeout(host, port, tv);
	redisReply *r;

	if (c == NULL || c->err) {
		fprintf(stderr, "redisfloor: %s:%d: %s\n", host, port,
		    c ? c->errstr : "no memory");
		exit(1);
	}
	(void)redisSetTimeout(c, tv);
	r = redisCommand(c, "AUTH %s %s", user, pass);
	if (r == NULL || r->type == REDIS_REPLY_ERROR) {
		fprintf(stderr, "redisfloor: AUTH: %s\n",
		    r ? r->str : c->errstr);
		exit(1);
	}
	freeReplyObject(r);
	return c;
}

static void
subscribe(redisContext *sub, const char *chan)
{
	redisReply *r = redisCommand(sub, "SUBSCRIBE %s", chan);

	if (r == NULL) {
		fprintf(stderr, "redisfloor: SUBSCRIBE: %s\n", sub->errstr);
		exit(1);
	}
	freeReplyObject(r);
}

/* Send the script (not waiting for its answer): to `to`'s channel. */
static void
send_script(redisContext *cmd, const char *to, const char *payload)
{
	char inbox[64], inseq[64], chan[64];
	int done = 0;

	snprintf(inbox, sizeof(inbox), "rf:inbox:%s", to);
	snprintf(inseq, sizeof(inseq), "rf:inseq:%s", to);
	snprintf(chan, sizeof(chan), "rf:to:%s", to);
	redisAppendCommand(cmd, "EVAL %s 2 %s %s %s %s 1000", PM_LUA, inbox,
	    inseq, payload, chan);
	while (!done)
		if (redisBufferWrite(cmd, &done) != REDIS_OK) {
			fprintf(stderr, "redisfloor: write: %s\n", cmd->errstr);
			exit(1);
		}
}

/* The next publish's text (a "message" of SUBSCRIBE), into buf. */
static void
next_publish(redisContext *sub, char *buf, size_t len)
{
	redisReply *r;

	if (redisGetReply(sub, (void **)&r) != REDIS_OK || r == NULL) {
		fprintf(stderr, "redisfloor: read: %s\n", sub->errstr);
		exit(1);
	}
	if (r->type == REDIS_REPLY_ARRAY && r->elements == 3 &&
	    r->element[2]->type == REDIS_REPLY_STRING)
		snprintf(buf, len, "%s", r->element[2]->str);
	else
		buf[0] = '\0';
	freeReplyObject(r);
}

static void
answer_read(redisContext *cmd)
{
	redisReply *r;

	if (redisGetReply(cmd, (void **)&r) != REDIS_OK) {
		fprintf(stderr, "redisfloor: script: %s\n", cmd->errstr);
		exit(1);
	}
	freeReplyObject(r);
}

static double
now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static int
cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

int
main(int argc, char **argv)
{
	redisContext *cmd, *sub;
	char buf[1024];
	double *t;
	long i, n;

	if (argc < 6 || (strcmp(argv[1], "ping") == 0 && argc < 7)) {
		fprintf(stderr, "usage: redisfloor ping|pong HOST PORT USER "
		    "PASS [N]\n");
		return 2;
	}
	cmd = open_one(argv[2], atoi(argv[3]), argv[4], argv[5]);
	sub = open_one(argv[2], atoi(argv[3]), argv[4], argv[5]);
	if (strcmp(argv[1], "pong") == 0) {
		subscribe(sub, "rf:to:b");
		for (i = 0; i < 1000001; i++) {
			next_publish(sub, buf, sizeof(buf));
			if (strstr(buf, "stop") != NULL)
				break;
			send_script(cmd, "a", PAYLOAD);
			answer_read(cmd);
		}
		return 0;
	}
	n = atol(argv[6]);
	if (n < 1 || n > 1000000 || (t = calloc((size_t)n,
	    sizeof(*t))) == NULL)
		return 2;
	subscribe(sub, "rf:to:a");
	for (i = -100; i < n; i++) {	/* 100 to warm up */
		double t0 = now_us();

		send_script(cmd, "b", PAYLOAD);
		next_publish(sub, buf, sizeof(buf));
		if (i >= 0)
			t[i] = now_us() - t0;
		answer_read(cmd);
	}
	send_script(cmd, "b", "stop");
	answer_read(cmd);
	qsort(t, (size_t)n, sizeof(*t), cmp);
	printf("RESULT mode=redisfloor rounds=%ld rtt_p50_us=%.1f "
	    "rtt_p95_us=%.1f rtt_p99_us=%.1f\n", n, t[n / 2],
	    t[n * 95 / 100], t[n * 99 / 100]);
	free(t);
	return 0;
}
