/* SPDX-License-Identifier: ISC */
/*
 * bcastfloor: the floor of a broadcast in Switchboard's process layout,
 * as relayfloor.c is the relay's.  One sender (the hub) and N receiver
 * processes (the handlers), each on a socketpair of its own
 * (SOCK_SEQPACKET, as the hub's sockets), each writing what it gets to a
 * TCP connection on loopback (its client), and one collector (the load
 * generator) that reads the N connections with epoll.  The sender
 * stamps each message once (CLOCK_MONOTONIC) and sends it to every
 * receiver, one send() each; a receiver does recv() and write(), nothing
 * else, under SCHED_BATCH as switchboard@.service runs handlers.  No
 * parsing, no framing, no rules: what is left is the design's cost, a
 * send, a wake-up and a write per delivery.
 *
 *   bcastfloor N RATE SECS [TAG]
 *
 * Prints one RESULT line (the tag, then the count and latency fields of
 * wsload's bcast line, and the sender's and receivers' CPU and
 * voluntary context switches per delivery from getrusage of the
 * children: over their whole lives, start-up included, so the CPU is an
 * upper bound, not comparable with wsload's window).  Bounded: RATE × SECS messages, then a grace of 5 s.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

struct rec {
	uint64_t	seq;
	uint64_t	t_ns;
};

static uint64_t
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static void
die(const char *what)
{
	perror(what);
	exit(1);
}

/* A receiver: the handler's part, recv() then write(), until the end. */
static void __attribute__((noreturn))
receiver(int sock, const struct sockaddr_in *to)
{
	struct sched_param sp = { 0 };
	char buf[256];
	int tcp, one = 1;
	ssize_t n;

	if ((tcp = socket(AF_INET, SOCK_STREAM, 0)) < 0 ||
	    connect(tcp, (const struct sockaddr *)to, sizeof(*to)) < 0)
		_exit(1);
	setsockopt(tcp, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (dup2(sock, 0) < 0 || dup2(tcp, 1) < 0)
		_exit(1);
	syscall(SYS_close_range, 3U, ~0U, 0U);
	sched_setscheduler(0, SCHED_BATCH, &sp);
	while ((n = recv(0, buf, sizeof(buf), 0)) > 0)
		if (write(1, buf, (size_t)n) != n)
			_exit(1);
	_exit(0);
}

/*
 * The sender: the hub's part.  It makes the N socketpairs and the N
 * receivers (so that the collector holds only the N connections: 2 × N
 * descriptors in one process would not fit the bench's limit at
 * 10,000), waits for the collector's go on `go`, then stamps each
 * message once and sends it with one send() per receiver.  At the end
 * it closes its ends, which ends the receivers, and waits for them.
 */
static void __attribute__((noreturn))
sender(long n, double rate, double secs, const struct sockaddr_in *to, int go)
{
	long total = (long)(rate * secs + 0.5);
	uint64_t t0, period = (uint64_t)(1e9 / rate);
	int *socks = calloc((size_t)n, sizeof(*socks));
	char c;

	if (socks == NULL)
		_exit(1);
	for (long i = 0; i < n; i++) {
		int sv[2];
		pid_t p;

		if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0 ||
		    (p = fork()) < 0) {
			perror("bcastfloor: socketpair or fork");
			_exit(1);
		}
		if (p == 0)
			receiver(sv[1], to);
		close(sv[1]);
		socks[i] = sv[0];
	}
	if (read(go, &c, 1) != 1)
		_exit(1);
	t0 = now_ns();
	for (long s = 0; s < total; s++) {
		struct rec r = { (uint64_t)s, 0 };
		uint64_t due = t0 + (uint64_t)s * period, t;
		struct timespec ts;

		while ((t = now_ns()) < due) {
			ts.tv_sec = 0;
			ts.tv_nsec = (long)(due - t);
			nanosleep(&ts, NULL);
		}
		r.t_ns = now_ns();
		for (long i = 0; i < n; i++)
			if (send(socks[i], &r, sizeof(r), MSG_NOSIGNAL) < 0)
				_exit(1);
	}
	for (long i = 0; i < n; i++)
		close(socks[i]);
	while (wait(NULL) > 0 || errno == EINTR)
		;
	_exit(0);
}

static int
u64cmp(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* Read records from every connection until `expect` or the deadline. */
static long
collect(int ep, uint64_t *lat, long expect, uint64_t deadline)
{
	struct epoll_event ev[256];
	long got = 0;

	/* a 16-byte write on loopback arrives whole: no partial records */
	while (got < expect && now_ns() < deadline) {
		int k = epoll_wait(ep, ev, 256, 100);

		for (int i = 0; i < k; i++) {
			struct rec r[64];
			ssize_t m = read(ev[i].data.fd, r, sizeof(r));

			if (m <= 0) {
				epoll_ctl(ep, EPOLL_CTL_DEL, ev[i].data.fd, NULL);
				continue;
			}
			for (ssize_t j = 0; j < m / (ssize_t)sizeof(*r); j++) {
				uint64_t t = now_ns();

				if (got < expect)
					lat[got++] = t - r[j].t_ns;
			}
		}
	}
	return got;
}

static double
pct(const uint64_t *lat, long n, double p)
{
	return n ? (double)lat[(long)(p / 100 * (double)(n - 1) + 0.5)] / 1000 : -1;
}

int
main(int argc, char *argv[])
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t al = sizeof(a);
	long n, expect, got;
	double rate, secs;
	int lfd, ep, gop[2];
	uint64_t *lat, t0;
	struct rusage ru;
	pid_t sp;

	if (argc < 4) {
		fprintf(stderr, "usage: bcastfloor N RATE SECS [TAG]\n");
		return 2;
	}
	n = atol(argv[1]);
	rate = atof(argv[2]);
	secs = atof(argv[3]);
	expect = (long)(rate * secs + 0.5) * n;
	signal(SIGPIPE, SIG_IGN);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if ((lfd = socket(AF_INET, SOCK_STREAM, 0)) < 0 ||
	    bind(lfd, (struct sockaddr *)&a, sizeof(a)) < 0 ||
	    listen(lfd, 4096) < 0 ||
	    getsockname(lfd, (struct sockaddr *)&a, &al) < 0)
		die("listen");
	if ((ep = epoll_create1(0)) < 0 || pipe(gop) < 0 ||
	    (lat = calloc((size_t)expect + 1, sizeof(*lat))) == NULL)
		die("setup");
	t0 = now_ns();
	if ((sp = fork()) < 0)
		die("fork");
	if (sp == 0) {
		close(gop[1]);
		close(lfd);
		sender(n, rate, secs, &a, gop[0]);
	}
	close(gop[0]);
	for (long i = 0; i < n; i++) {
		struct epoll_event ev = { .events = EPOLLIN };
		int c;

		if ((c = accept4(lfd, NULL, NULL, SOCK_CLOEXEC)) < 0)
			die("accept");
		ev.data.fd = c;
		if (epoll_ctl(ep, EPOLL_CTL_ADD, c, &ev) < 0)
			die("epoll_ctl");
	}
	fprintf(stderr, "bcastfloor: %ld receivers up in %.1f s\n", n,
	    (double)(now_ns() - t0) / 1e9);
	if (write(gop[1], "g", 1) != 1)
		die("go");
	got = collect(ep, lat, expect, now_ns() +
	    (uint64_t)((secs + 5) * 1e9));
	while (wait(NULL) > 0 || errno == EINTR)
		;
	getrusage(RUSAGE_CHILDREN, &ru);
	qsort(lat, (size_t)got, sizeof(*lat), u64cmp);
	printf("RESULT%s%s mode=bcastfloor clients=%ld sent=%ld deliveries=%ld "
	    "expected=%ld lost=%ld failed=0 lat_n=%ld lat_p50_us=%.1f "
	    "lat_p95_us=%.1f lat_p99_us=%.1f lat_max_us=%.1f "
	    "floor_cpu_us_per_dlv=%.3f floor_vcs_per_dlv=%.3f\n",
	    argc > 4 ? " " : "", argc > 4 ? argv[4] : "", n,
	    (long)(rate * secs + 0.5), got, expect, expect - got, got,
	    pct(lat, got, 50), pct(lat, got, 95), pct(lat, got, 99),
	    pct(lat, got, 100),
	    ((double)ru.ru_utime.tv_sec + (double)ru.ru_stime.tv_sec +
	    (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6) * 1e6 /
	    (double)(got ? got : 1), (double)ru.ru_nvcsw / (double)(got ? got : 1));
	return 0;
}
