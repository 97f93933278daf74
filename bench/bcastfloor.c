/* SPDX-License-Identifier: ISC */
/*
 * bcastfloor: the floor of a broadcast in Switchboard's process layout,
 * as relayfloor.c is the relay's.  One sender (the hub) and N receiver
 * processes (the handlers), each on a socketpair of its own
 * (SOCK_SEQPACKET, as the hub's sockets), each writing what it gets to a
 * TCP connection on loopback (its client), and one collector (the load
 * generator) that reads the N connections with epoll.  The sender
 * stamps each message once (CLOCK_MONOTONIC) and sends it to every
 * receiver, one send() each; a receiver takes every datagram waiting
 * with one recvmmsg() and writes them with one writev(), nothing else,
 * under SCHED_BATCH as switchboard@.service runs handlers (a handler
 * that is behind also takes all that waits, and writes it at once).  No
 * parsing, no framing, no rules: what is left is the design's cost, a
 * send per delivery, and a wake-up and a write per batch.
 *
 *   bcastfloor N RATE SECS [TAG]
 *   bcastfloor -k K N SECS [TAG]
 *
 * The first form is wsload's bcast: RATE messages a second for SECS; a
 * sender that is behind sends every message due at once, in one datagram
 * to each receiver (wsload sends all that are due, and the hub coalesces
 * what waits), so that it keeps the schedule and nothing sent late is
 * counted lost.  It
 * prints one RESULT line (the tag, then the count and latency fields of
 * wsload's bcast line, and the sender's and receivers' CPU and
 * voluntary context switches per delivery from getrusage of the
 * children: over their whole lives, start-up included, so the CPU is an
 * upper bound, not comparable with wsload's window; and, as wsload
 * counts it, the machine's busy CPU from the go to the last delivery,
 * less the collector's own, per delivery).  Bounded: RATE ×
 * SECS messages, then a grace of 5 s.
 *
 * The second is wsload's tput: a closed loop, a new message as soon as
 * one has reached all N, K in flight (the collector tells the sender on
 * a pipe); 1 s of warm-up, then SECS measured.  Its RESULT line has
 * wsload's tput fields: deliveries a second in the window, and the CPU
 * of the sender and the receivers in the window (/proc/PID/stat) per
 * delivery; and beside it, as wsload has it, the machine's busy CPU
 * (/proc/stat) less the collector's own, per delivery.  Bounded: SECS +
 * 1 s, then a grace of 5 s.
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
#include <sys/uio.h>
#include <sys/wait.h>
#include <dirent.h>
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

#define BURST	16	/* the most in flight, and in one datagram */
#define RING	64	/* more than the messages in flight */

/*
 * A receiver: the handler's part, until the end: every datagram waiting
 * (at least one) with one recvmmsg(), then one writev() of them all.
 */
static void __attribute__((noreturn))
receiver(int sock, const struct sockaddr_in *to)
{
	struct sched_param sp = { 0 };
	struct rec buf[64][BURST];
	struct iovec iov[64], out[64];
	struct mmsghdr mm[64];
	int tcp, one = 1, i, k;
	size_t len;

	if ((tcp = socket(AF_INET, SOCK_STREAM, 0)) < 0 ||
	    connect(tcp, (const struct sockaddr *)to, sizeof(*to)) < 0)
		_exit(1);
	setsockopt(tcp, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (dup2(sock, 0) < 0 || dup2(tcp, 1) < 0)
		_exit(1);
	syscall(SYS_close_range, 3U, ~0U, 0U);
	sched_setscheduler(0, SCHED_BATCH, &sp);
	for (i = 0; i < 64; i++) {
		iov[i] = (struct iovec){ buf[i], sizeof(buf[i]) };
		mm[i] = (struct mmsghdr){ .msg_hdr = { .msg_iov = &iov[i],
		    .msg_iovlen = 1 } };
	}
	while ((k = recvmmsg(0, mm, 64, MSG_WAITFORONE, NULL)) > 0) {
		/* whole records, up to the first empty datagram: the end */
		for (i = 0, len = 0; i < k && mm[i].msg_len > 0; i++) {
			out[i] = (struct iovec){ buf[i], mm[i].msg_len };
			len += mm[i].msg_len;
		}
		if (len > 0 && writev(1, out, i) != (ssize_t)len)
			_exit(1);
		if (i < k)
			break;
	}
	_exit(0);
}

/*
 * Messages `seq` .. `seq` + `k` - 1 to every receiver, stamped once, in
 * one datagram each: one send() per receiver for them all, as the hub
 * coalesces what a burst sends to one handler.
 */
static void
send_all(const int *socks, long n, uint64_t seq, long k)
{
	struct rec r[BURST];
	uint64_t t = now_ns();

	for (long j = 0; j < k; j++)
		r[j] = (struct rec){ seq + (uint64_t)j, t };
	for (long i = 0; i < n; i++)
		if (send(socks[i], r, (size_t)k * sizeof(r[0]), MSG_NOSIGNAL) < 0)
			_exit(1);
}

/*
 * The sender: the hub's part.  It makes the N socketpairs and the N
 * receivers (so that the collector holds only the N connections: 2 × N
 * descriptors in one process would not fit the bench's limit at
 * 10,000), waits for the collector's go on `go`, then sends: RATE a
 * second for SECS, or (inflight > 0) that many at once and a new one
 * for each 8-byte word the collector writes on `go` (a message that
 * reached all N), until the collector closes it; the new messages of
 * the words read at once go in one datagram (a burst).  At the end it
 * closes its ends, which ends the receivers, and waits for them.
 */
static void __attribute__((noreturn))
sender(long n, double rate, double secs, long inflight,
    const struct sockaddr_in *to, int go)
{
	long total = (long)(rate * secs + 0.5);
	uint64_t t0, period = rate > 0 ? (uint64_t)(1e9 / rate) : 0, seq = 0;
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
	if (inflight > 0) {
		uint64_t done[BURST];
		ssize_t m;

		send_all(socks, n, seq, inflight);
		seq += (uint64_t)inflight;
		while ((m = read(go, done, sizeof(done))) >=
		    (ssize_t)sizeof(done[0])) {
			send_all(socks, n, seq, m / (ssize_t)sizeof(done[0]));
			seq += (uint64_t)m / sizeof(done[0]);
		}
	}
	t0 = now_ns();
	for (long s = 0, k; inflight == 0 && s < total; s += k) {
		uint64_t due = t0 + (uint64_t)s * period, t;
		struct timespec ts;

		while ((t = now_ns()) < due) {
			ts.tv_sec = 0;
			ts.tv_nsec = (long)(due - t);
			nanosleep(&ts, NULL);
		}
		/* behind: every message due goes in one burst, as wsload
		 * sends all that are due and the hub coalesces them */
		k = (long)((t - t0) / period) + 1 - s;
		if (k > BURST)
			k = BURST;
		if (k > total - s)
			k = total - s;
		send_all(socks, n, (uint64_t)s, k);
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

/*
 * Wait for the connections (100 ms at most) and hand each record read to
 * `each`; a connection that ended leaves the set.  A receiver writes
 * whole records on loopback, and a read takes a multiple of them: no
 * partial ones.
 */
static void
read_records(int ep, void (*each)(const struct rec *, void *), void *arg)
{
	struct epoll_event ev[256];
	int k = epoll_wait(ep, ev, 256, 100);

	for (int i = 0; i < k; i++) {
		struct rec r[64];
		ssize_t m = read(ev[i].data.fd, r, sizeof(r));

		if (m <= 0) {
			epoll_ctl(ep, EPOLL_CTL_DEL, ev[i].data.fd, NULL);
			continue;
		}
		for (ssize_t j = 0; j < m / (ssize_t)sizeof(*r); j++)
			each(&r[j], arg);
	}
}

struct lat {
	uint64_t	*lat;
	long		 got, expect;
};

static void
lat_one(const struct rec *r, void *arg)
{
	struct lat *l = arg;

	if (l->got < l->expect)
		l->lat[l->got++] = now_ns() - r->t_ns;
}

/* Read records from every connection until `expect` or the deadline. */
static long
collect(int ep, uint64_t *lat, long expect, uint64_t deadline)
{
	struct lat l = { lat, 0, expect };

	while (l.got < expect && now_ns() < deadline)
		read_records(ep, lat_one, &l);
	return l.got;
}

/* utime + stime, clock ticks, of `pid` and of its children (/proc). */
static unsigned long long
tree_ticks(pid_t pid)
{
	unsigned long long sum = 0;
	struct dirent *e;
	DIR *d;

	if ((d = opendir("/proc")) == NULL)
		return 0;
	while ((e = readdir(d)) != NULL) {
		char p[64], buf[1024], *rp;
		unsigned long long ut, st;
		long q = strtol(e->d_name, NULL, 10);
		int ppid;
		FILE *f;

		if (q <= 0)
			continue;
		snprintf(p, sizeof(p), "/proc/%ld/stat", q);
		if ((f = fopen(p, "r")) == NULL)
			continue;
		if (fgets(buf, sizeof(buf), f) != NULL &&
		    (rp = strrchr(buf, ')')) != NULL &&
		    sscanf(rp + 2, "%*c %d %*d %*d %*d %*d %*u %*u %*u %*u %*u "
		    "%llu %llu", &ppid, &ut, &st) == 3 &&
		    (q == pid || ppid == pid))
			sum += ut + st;
		fclose(f);
	}
	closedir(d);
	return sum;
}

/*
 * The machine's busy CPU ticks, every CPU (the "cpu" line of /proc/stat:
 * user, nice, system, irq, softirq), as wsload counts them beside the
 * processes' own.
 */
static unsigned long long
machine_busy(void)
{
	unsigned long long v[7], sum = 0;
	FILE *f;

	if ((f = fopen("/proc/stat", "r")) == NULL)
		return 0;
	if (fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1],
	    &v[2], &v[3], &v[4], &v[5], &v[6]) == 7)
		sum = v[0] + v[1] + v[2] + v[5] + v[6];
	fclose(f);
	return sum;
}

static double
tv_s(const struct timeval *tv)
{
	return (double)tv->tv_sec + (double)tv->tv_usec / 1e6;
}

/* The machine's busy ticks and the collector's own CPU, at one moment. */
struct mark {
	unsigned long long	busy;
	double			self;	/* s */
};

static struct mark
mark_now(void)
{
	struct rusage u;

	getrusage(RUSAGE_SELF, &u);
	return (struct mark){ machine_busy(),
	    tv_s(&u.ru_utime) + tv_s(&u.ru_stime) };
}

/*
 * Between `a` and `b`: the collector's CPU (*self, s) and the machine's
 * busy CPU less it, µs per each of `dlv` deliveries.
 */
static double
machine_us_per(struct mark a, struct mark b, long dlv, double *self)
{
	double tck = (double)sysconf(_SC_CLK_TCK);

	*self = b.self - a.self;
	return ((double)(b.busy - a.busy) / tck - *self) * 1e6 /
	    (double)(dlv ? dlv : 1);
}

/*
 * The closed loop's count: deliveries, and the messages that reached all
 * (done) since the sender was last told: no more than are in flight.
 */
struct loop {
	long	 n, cnt[RING], got, win, sent, ndone;
	uint64_t done[BURST];
	int	 fb, phase;	/* 0 warm-up, 1 measured, 2 draining */
};

/* A message that reached all `n` is done: the sender will send a new one. */
static void
loop_one(const struct rec *r, void *arg)
{
	struct loop *l = arg;

	l->got++;
	l->win += l->phase == 1;
	if (++l->cnt[r->seq % RING] < l->n)
		return;
	l->cnt[r->seq % RING] = 0;
	if (l->phase < 2)
		l->done[l->ndone++] = r->seq;
}

/*
 * The closed loop's collector: read records from every connection, and
 * tell the sender on `fb` of the messages that reached all `n`, in one
 * write per pass over the connections (wsload writes its next messages
 * one by one, but the sender's handler forwards those that came at once
 * together, and the hub reads them in one burst).  After 1 s of
 * warm-up, count the deliveries and the sender's tree's CPU for `secs`;
 * then close `fb` and wait (5 s at most) for what is in flight.
 */
static void
collect_tput(int ep, long n, long inflight, int fb, pid_t sp, double secs,
    const char *tag)
{
	struct loop l = { .n = n, .sent = inflight, .fb = fb };
	uint64_t m0 = now_ns() + 1000000000ULL, m1, t1 = 0, deadline = 0;
	unsigned long long c0 = 0, c1 = 0;
	struct mark k0 = { 0, 0 }, k1 = { 0, 0 };
	double w, cpu, self, mach, tck = (double)sysconf(_SC_CLK_TCK);
	size_t len;

	m1 = m0 + (uint64_t)(secs * 1e9);
	while (l.phase < 2 || (l.got < l.sent * n && now_ns() < deadline)) {
		uint64_t t = now_ns();

		if (l.phase == 0 && t >= m0) {
			c0 = tree_ticks(sp);
			k0 = mark_now();
			l.phase = 1;
		} else if (l.phase == 1 && t >= m1) {
			c1 = tree_ticks(sp);
			k1 = mark_now();
			t1 = now_ns();
			close(fb);
			l.phase = 2;
			deadline = t1 + 5000000000ULL;
		}
		read_records(ep, loop_one, &l);
		len = (size_t)l.ndone * sizeof(l.done[0]);
		if (len > 0 && write(fb, l.done, len) == (ssize_t)len)
			l.sent += l.ndone;
		l.ndone = 0;
	}
	w = (double)(t1 - m0) / 1e9;
	cpu = (double)(c1 - c0) / tck;
	mach = machine_us_per(k0, k1, l.win, &self);
	printf("RESULT%s%s mode=tput clients=%ld sent=%ld window_s=%.2f "
	    "window_deliveries=%ld deliveries_per_s=%.0f server_cpu_s=%.2f "
	    "cpu_us_per_delivery=%.3f lost=%ld dup=0 reorder=0 bad=0 "
	    "failed=0 collector_cpu_s=%.2f machine_cpu_us_per_dlv=%.3f\n",
	    *tag ? " " : "", tag, n, l.sent, w, l.win, (double)l.win / w, cpu,
	    cpu * 1e6 / (double)(l.win ? l.win : 1), l.sent * n - l.got, self,
	    mach);
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
	long n, expect, got, inflight = 0;
	double rate = 0, secs;
	const char *tag;
	int lfd, ep, gop[2], o;
	uint64_t *lat, t0;
	struct mark k0, k1;
	struct rusage ru;
	double self, mach;
	pid_t sp;

	while ((o = getopt(argc, argv, "k:")) != -1)
		if (o != 'k' || (inflight = atol(optarg)) < 1 || inflight > BURST)
			goto usage;
	argc -= optind;
	argv += optind;
	if (argc < 3 - (inflight > 0)) {
usage:
		fprintf(stderr, "usage: bcastfloor N RATE SECS [TAG]\n"
		    "       bcastfloor -k K N SECS [TAG] (K <= %d)\n", BURST);
		return 2;
	}
	n = atol(argv[0]);
	if (inflight == 0)
		rate = atof(argv[1]);
	secs = atof(argv[2 - (inflight > 0)]);
	tag = argc > 3 - (inflight > 0) ? argv[3 - (inflight > 0)] : "";
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
		sender(n, rate, secs, inflight, &a, gop[0]);
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
	if (inflight > 0) {
		collect_tput(ep, n, inflight, gop[1], sp, secs, tag);
		while (wait(NULL) > 0 || errno == EINTR)
			;
		return 0;
	}
	k0 = mark_now();
	got = collect(ep, lat, expect, now_ns() +
	    (uint64_t)((secs + 5) * 1e9));
	k1 = mark_now();
	while (wait(NULL) > 0 || errno == EINTR)
		;
	getrusage(RUSAGE_CHILDREN, &ru);
	mach = machine_us_per(k0, k1, got, &self);
	qsort(lat, (size_t)got, sizeof(*lat), u64cmp);
	printf("RESULT%s%s mode=bcastfloor clients=%ld sent=%ld deliveries=%ld "
	    "expected=%ld lost=%ld failed=0 lat_n=%ld lat_p50_us=%.1f "
	    "lat_p95_us=%.1f lat_p99_us=%.1f lat_max_us=%.1f "
	    "floor_cpu_us_per_dlv=%.3f floor_vcs_per_dlv=%.3f "
	    "collector_cpu_s=%.2f machine_cpu_us_per_dlv=%.3f\n",
	    *tag ? " " : "", tag, n,
	    (long)(rate * secs + 0.5), got, expect, expect - got, got,
	    pct(lat, got, 50), pct(lat, got, 95), pct(lat, got, 99),
	    pct(lat, got, 100),
	    ((double)ru.ru_utime.tv_sec + (double)ru.ru_stime.tv_sec +
	    (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6) * 1e6 /
	    (double)(got ? got : 1), (double)ru.ru_nvcsw / (double)(got ? got : 1),
	    self, mach);
	return 0;
}
