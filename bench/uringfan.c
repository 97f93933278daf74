/* SPDX-License-Identifier: ISC */
/*
 * uringfan: the hub's fan-out of one room message to N handlers, with
 * plain send() (one system call per recipient, as hub/server.c does)
 * against io_uring (one IORING_OP_SEND per recipient, all submitted and
 * reaped with one io_uring_enter; liburing 2.3, nothing newer than
 * Linux 6.1 uses).  Issue 18: keep io_uring in the hub only if it wins.
 *
 *   uringfan N ROUNDS [SIZE [wake]]
 *
 * N nonblocking SOCK_SEQPACKET socketpairs, as the hub's; each round
 * sends one SIZE-byte datagram (200) to every pair's first end, timed,
 * then drains the other ends (not timed).  With "wake", N child
 * processes wait in recv() on the other ends instead, as handlers do,
 * so that every send also wakes one (the hub's real cost); the rounds
 * are then 10 ms apart, for the children to drain.  The two ways take turns
 * round by round, so a change in the machine's speed hits both.  Prints
 * one RESULT line per way: the median and the best wall time per
 * delivery over the rounds, and the rounds' CPU time (getrusage) per
 * delivery.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <liburing.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <fcntl.h>
#include <time.h>
#include <unistd.h>

static long n;
static int *tx, *rx;
static char msg[16384];
static size_t size = 200;

static double
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static double
cpu_ns(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return ((double)ru.ru_utime.tv_sec + (double)ru.ru_stime.tv_sec) * 1e9 +
	    ((double)ru.ru_utime.tv_usec + (double)ru.ru_stime.tv_usec) * 1e3;
}

/* What hub/server.c does today: a send() per recipient. */
static long
fan_send(struct io_uring *ring)
{
	long ok = 0;

	(void)ring;
	for (long i = 0; i < n; i++)
		if (send(tx[i], msg, size, MSG_DONTWAIT | MSG_NOSIGNAL) >= 0)
			ok++;
	return ok;
}

/* The same with io_uring: N SQEs, one submit-and-wait, N CQEs. */
static long
fan_uring(struct io_uring *ring)
{
	struct io_uring_cqe *cqe;
	long ok = 0, done = 0;
	unsigned head, k;

	for (long i = 0; i < n; i++) {
		struct io_uring_sqe *sqe = io_uring_get_sqe(ring);

		if (sqe == NULL)
			return -1;
		io_uring_prep_send(sqe, tx[i], msg, size, MSG_DONTWAIT | MSG_NOSIGNAL);
	}
	if (io_uring_submit_and_wait(ring, (unsigned)n) < 0)
		return -1;
	while (done < n) {
		k = 0;
		io_uring_for_each_cqe(ring, head, cqe) {
			if (cqe->res >= 0)
				ok++;
			k++;
		}
		io_uring_cq_advance(ring, k);
		done += k;
		if (done < n && io_uring_wait_cqe(ring, &cqe) < 0)
			return -1;
	}
	return ok;
}

static int waking;

static void
drain(void)
{
	char buf[16384];

	if (waking) {
		struct timespec ts = { 0, 10000000 };

		nanosleep(&ts, NULL);
		return;
	}
	for (long i = 0; i < n; i++)
		while (recv(rx[i], buf, sizeof(buf), MSG_DONTWAIT) > 0)
			;
}

/* The "wake" children: each waits in recv() on its end until it closes. */
static void
start_receivers(void)
{
	char buf[16384];

	for (long i = 0; i < n; i++) {
		pid_t p = fork();

		if (p < 0) {
			perror("fork");
			exit(1);
		}
		if (p == 0) {
			int fd = rx[i];

			fcntl(fd, F_SETFL, 0);
			for (long j = 0; j < n; j++) {
				close(tx[j]);	/* else no child sees the end */
				if (j != i)
					close(rx[j]);
			}
			while (recv(fd, buf, sizeof(buf), 0) > 0)
				;
			_exit(0);
		}
	}
}

static int
dcmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

int
main(int argc, char *argv[])
{
	long (*way[2])(struct io_uring *) = { fan_send, fan_uring };
	const char *name[2] = { "send", "uring" };
	struct io_uring ring;
	double *t[2], cpu[2] = { 0, 0 };
	long rounds, lost[2] = { 0, 0 };

	if (argc < 3) {
		fprintf(stderr, "usage: uringfan N ROUNDS [SIZE]\n");
		return 2;
	}
	n = atol(argv[1]);
	rounds = atol(argv[2]);
	if (argc > 3)
		size = (size_t)atol(argv[3]);
	waking = argc > 4 && strcmp(argv[4], "wake") == 0;
	if (n < 1 || rounds < 1 || size < 1 || size > sizeof(msg))
		return 2;
	tx = calloc((size_t)n, sizeof(*tx));
	rx = calloc((size_t)n, sizeof(*rx));
	t[0] = calloc((size_t)rounds, sizeof(double));
	t[1] = calloc((size_t)rounds, sizeof(double));
	if (!tx || !rx || !t[0] || !t[1])
		return 1;
	for (long i = 0; i < n; i++) {
		int sv[2];

		if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK, 0, sv) < 0) {
			perror("socketpair");
			return 1;
		}
		tx[i] = sv[0];
		rx[i] = sv[1];
	}
	memset(msg, 'x', sizeof(msg));
	if (waking)
		start_receivers();
	if (io_uring_queue_init((unsigned)n, &ring, 0) < 0) {
		printf("RESULT srv=uring fig=uringfan n=%ld unsupported=1\n", n);
		return 0;
	}
	for (long r = 0; r < rounds; r++)
		for (int j = 0; j < 2; j++) {
			int w = (int)((r + j) % 2);
			double t0 = now_ns(), c0 = cpu_ns();
			long ok = way[w](&ring);

			t[w][r] = (now_ns() - t0) / (double)n;
			cpu[w] += cpu_ns() - c0;
			lost[w] += n - ok;
			drain();
		}
	for (int w = 0; w < 2; w++) {
		qsort(t[w], (size_t)rounds, sizeof(double), dcmp);
		fflush(stdout);
		printf("RESULT srv=%s fig=uringfan n=%ld size=%zu wake=%d "
		    "rounds=%ld ns_per_dlv_p50=%.0f ns_per_dlv_min=%.0f "
		    "cpu_ns_per_dlv=%.0f failed=%ld\n", name[w], n, size,
		    waking, rounds, t[w][rounds / 2],
		    t[w][0], cpu[w] / (double)(n * rounds), lost[w]);
	}
	io_uring_queue_exit(&ring);
	for (long i = 0; i < n; i++)
		close(tx[i]);
	while (wait(NULL) > 0)
		;
	return 0;
}
