/* SPDX-License-Identifier: ISC */
/*
 * wsload: a WebSocket load generator for the Switchboard benchmarks.
 * One process, one epoll loop, many connections; loopback only.
 *
 *   wsload MODE -p PORT [options]
 *
 * Modes:
 *   churn   -n CONNS -c CONCURRENCY: handshake + close, CONNS times, at most
 *           CONCURRENCY at a time; connections/s and handshake latency.
 *   rtt     -n ROUNDS: round trips, one in flight.  --proto chat: client
 *           r0 sends a private message to r1, r1 sends it back (relay
 *           through the server); --proto echo: the server echoes.
 *   bcast   -N CLIENTS --rate R --secs S: N clients log in and join one
 *           room; one of them says R messages a second for S seconds;
 *           every member (sender included) must get each one: delivery
 *           latency percentiles, lost and duplicated deliveries.
 *   tput    -N CLIENTS --inflight K --secs S: the same room, closed loop:
 *           a new message as soon as one has reached all N members, K in
 *           flight; deliveries/s and server CPU per delivery.
 *   hold    --steps 0,100,...: open idle (logged-in) clients in steps and
 *           measure the servers' memory (PSS) at each step.
 *
 * Machines (bench/cluster.mjs): --hosts A,B,... (IPv4 addresses, at most
 * 8) spreads the clients over several servers, client i on host i mod the
 * count: in rtt r0 is on A and r1 on B, in bcast the room is spread.
 * Without it every client goes to 127.0.0.1. --nick-prefix P: nicks P0,
 * P1, ... instead of u0, u1, ... (several loads at once on one chat).
 *
 * Server processes for CPU and memory figures: --pid PID (repeatable) and
 * --kids-of PPID (every child of PPID, e.g. the handlers of
 * systemd-socket-activate or the echo programs of websocketd), or
 * --cgroup DIR (every process in the cgroup2 directory DIR and below it:
 * the handlers of a real systemd, each a unit of its own in one slice).
 * hold --at-step CMD runs CMD (sh -c) after each step's MEM line, with
 * WSLOAD_CONNS set to the step, the connections still open: it measures
 * what wsload cannot see (bench/systemd.sh: PID 1, the journal, the
 * kernel's share).
 *
 * Protocols (--proto): chat = Switchboard's JSON dialect (login, join,
 * say, msg; bench/ws-server.mjs speaks the same subset); echo = every text
 * message comes back as it was (websocketd + bench/echo, /echo paths).
 *
 * Output: "RESULT key=value ..." and "MEM key=value ..." lines on stdout,
 * progress on stderr.  Every loop is bounded by counts and --timeout.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

enum mode { M_CHURN, M_RTT, M_BCAST, M_TPUT, M_HOLD };
enum proto { P_CHAT, P_ECHO };
enum state { S_FREE, S_CONNECT, S_HS, S_LOGIN, S_JOIN, S_READY, S_CLOSING,
	S_DONE };

struct client {
	int		 fd;
	int		 id;
	enum state	 st;
	uint64_t	 t0;		/* connect() */
	char		*rb;
	size_t		 rlen, rcap;
	char		*wb;
	size_t		 wlen, woff, wcap;
	int		 wantout;
	int64_t		 last_seq;	/* last broadcast seq seen */
};

/* ---- options ---- */
static enum mode mode;
static enum proto proto = P_CHAT;
static const char *host = "127.0.0.1";
static int port;
static struct in_addr hosts[8];	/* --hosts: client i to hosts[i % nhosts] */
static int nhosts;
static const char *nick_prefix = "u";	/* --nick-prefix: nicks P0, P1, ... */
static const char *path = "/chat";
static const char *room;		/* default: a new room per run */
static char room_buf[32];
static long nconns = 2000, conc = 8, nclients = 100, rounds = 5000;
static double rate = 50, secs = 10, timeout_s = 300, grace_s = 5, linger_s;
static long inflight = 4;
static char steps_arg[512] = "0,100,250,500,1000";
static pid_t pids[16];
static int npids;
static pid_t kids_of = -1;
static const char *cgroup_dir;	/* --cgroup: its processes are the kids */
static const char *at_step;	/* hold --at-step: a command after each step */
static long nextra;		/* --extra: connected, not logged in */
static int nsrc = 4;		/* source addresses 127.0.0.1 .. 127.0.0.nsrc */
static const char *tag = "";

/* ---- state ---- */
static int ep;
static struct client *cl;
static long ncl;
static long nready, nfail, nopening, nclosed;
static char hsreq[512];
static size_t hsreq_len;

static uint64_t *lat;		/* latencies, ns */
static size_t nlat, lat_cap;
static uint32_t *seqcount;	/* deliveries per broadcast seq */
static long nseq_max, nsent;
static long ndup, nreorder, nbad;
static uint64_t last_rx;	/* when any client last got bytes */
static long nroom;		/* clients in the room (the audience) */

static uint64_t
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static void __attribute__((noreturn, format(printf, 1, 2)))
die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fprintf(stderr, "wsload: ");
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, "\n");
	va_end(ap);
	exit(1);
}

static void *
xrealloc(void *p, size_t n)
{
	if ((p = realloc(p, n)) == NULL)
		die("out of memory");
	return p;
}

static void
lat_add(uint64_t ns)
{
	if (nlat == lat_cap) {
		lat_cap = lat_cap ? lat_cap * 2 : 65536;
		lat = xrealloc(lat, lat_cap * sizeof(*lat));
	}
	lat[nlat++] = ns;
}

static int
u64cmp(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* Percentile p (0..100) of the recorded latencies, in microseconds. */
static double
pct(double p)
{
	size_t i;

	if (nlat == 0)
		return -1;
	i = (size_t)(p / 100.0 * (double)(nlat - 1) + 0.5);
	return (double)lat[i] / 1000.0;
}

/* ---- /proc: CPU and memory of the servers ---- */

/*
 * Append the processes of cgroup2 directory DIR and of every cgroup below
 * it (at most 8 levels) to V, which holds *K; returns V.
 */
static pid_t *
cgroup_pids(const char *dir, pid_t *v, size_t *k, int depth)
{
	char p[4096];
	long pid;
	FILE *f;
	DIR *d;
	struct dirent *e;

	snprintf(p, sizeof(p), "%s/cgroup.procs", dir);
	if ((f = fopen(p, "r")) != NULL) {
		while (fscanf(f, "%ld", &pid) == 1) {
			v = xrealloc(v, (*k + 1) * sizeof(*v));
			v[(*k)++] = (pid_t)pid;
		}
		fclose(f);
	}
	if (depth == 8 || (d = opendir(dir)) == NULL)
		return v;
	while ((e = readdir(d)) != NULL) {
		if (e->d_type != DT_DIR || e->d_name[0] == '.')
			continue;
		if ((size_t)snprintf(p, sizeof(p), "%s/%s", dir, e->d_name) >=
		    sizeof(p))
			continue;
		v = cgroup_pids(p, v, k, depth + 1);
	}
	closedir(d);
	return v;
}

static pid_t *
server_pids(size_t *n, int with_kids)
{
	pid_t *v = NULL;
	size_t k = 0;
	DIR *d;
	struct dirent *e;

	for (int i = 0; i < npids; i++) {
		v = xrealloc(v, (k + 1) * sizeof(*v));
		v[k++] = pids[i];
	}
	if (with_kids && kids_of > 0 && (d = opendir("/proc")) != NULL) {
		while ((e = readdir(d)) != NULL) {
			char p[64], buf[512], *rp;
			long pid = strtol(e->d_name, NULL, 10);
			FILE *f;
			int ppid = 0;

			if (pid <= 0)
				continue;
			snprintf(p, sizeof(p), "/proc/%ld/stat", pid);
			if ((f = fopen(p, "r")) == NULL)
				continue;
			if (fgets(buf, sizeof(buf), f) != NULL &&
			    (rp = strrchr(buf, ')')) != NULL)
				sscanf(rp + 2, "%*c %d", &ppid);
			fclose(f);
			if (ppid == kids_of) {
				v = xrealloc(v, (k + 1) * sizeof(*v));
				v[k++] = (pid_t)pid;
			}
		}
		closedir(d);
	}
	if (with_kids && cgroup_dir != NULL)
		v = cgroup_pids(cgroup_dir, v, &k, 0);
	*n = k;
	return v;
}

/*
 * utime + stime of one process, clock ticks (0 if gone); its minor page
 * faults in *minflt.
 */
static unsigned long long
cpu_ticks(pid_t pid, unsigned long long *minflt)
{
	char p[64], buf[1024], *rp;
	unsigned long long ut = 0, st = 0, mf = 0;
	FILE *f;

	snprintf(p, sizeof(p), "/proc/%d/stat", (int)pid);
	if ((f = fopen(p, "r")) != NULL) {
		if (fgets(buf, sizeof(buf), f) != NULL &&
		    (rp = strrchr(buf, ')')) != NULL)
			sscanf(rp + 2, "%*c %*d %*d %*d %*d %*d %*u %llu %*u "
			    "%*u %*u %llu %llu", &mf, &ut, &st);
		fclose(f);
	}
	if (minflt != NULL)
		*minflt = mf;
	return ut + st;
}

/* The number after "field:" in a /proc file of "Name: value" lines. */
static long
kib_in(const char *p, const char *field)
{
	char line[256];
	size_t fl = strlen(field);
	long v = -1;
	FILE *f;

	if ((f = fopen(p, "r")) == NULL)
		return -1;
	while (fgets(line, sizeof(line), f) != NULL)
		if (strncmp(line, field, fl) == 0 && line[fl] == ':') {
			v = strtol(line + fl + 1, NULL, 10);
			break;
		}
	fclose(f);
	return v;
}

static long
kib_field(pid_t pid, const char *file, const char *field)
{
	char p[64];

	snprintf(p, sizeof(p), "/proc/%d/%s", (int)pid, file);
	return kib_in(p, field);
}

/*
 * What the kernel holds for processes, machine-wide, from /proc/meminfo
 * (KiB): kernel stacks, page tables, unreclaimable slab (task structs,
 * sockets, files), and all memory in use.  Not in any process's PSS.
 */
enum { KM_STACK, KM_PTABLES, KM_SLAB, KM_USED, KM_COUNT };
static long kmem0[KM_COUNT];

static void
kmem_read(long v[KM_COUNT])
{
	v[KM_STACK] = kib_in("/proc/meminfo", "KernelStack");
	v[KM_PTABLES] = kib_in("/proc/meminfo", "PageTables");
	v[KM_SLAB] = kib_in("/proc/meminfo", "SUnreclaim");
	v[KM_USED] = kib_in("/proc/meminfo", "MemTotal") -
	    kib_in("/proc/meminfo", "MemAvailable");
}

/* MEM line: PSS of the main pids and of the children, in KiB. */
static void
report_mem(long conns)
{
	size_t n;
	pid_t *v = server_pids(&n, 1);
	long main_pss = 0, main_rss = 0, kid_pss = 0, kid_rss = 0, nk = 0;
	long km[KM_COUNT];

	for (size_t i = 0; i < n; i++) {
		long pss = kib_field(v[i], "smaps_rollup", "Pss");
		long rss = kib_field(v[i], "smaps_rollup", "Rss");

		if (pss < 0)
			continue;
		if ((int)i < npids) {
			main_pss += pss;
			main_rss += rss;
		} else {
			kid_pss += pss;
			kid_rss += rss;
			nk++;
		}
	}
	kmem_read(km);
	printf("MEM%s conns=%ld ready=%ld main_pss_kib=%ld main_rss_kib=%ld "
	    "kids=%ld kids_pss_kib=%ld kids_rss_kib=%ld total_pss_kib=%ld "
	    "kstack_kib=%ld ptables_kib=%ld slab_kib=%ld used_kib=%ld\n",
	    tag, conns, nready, main_pss, main_rss, nk, kid_pss, kid_rss,
	    main_pss + kid_pss, km[KM_STACK] - kmem0[KM_STACK],
	    km[KM_PTABLES] - kmem0[KM_PTABLES], km[KM_SLAB] - kmem0[KM_SLAB],
	    km[KM_USED] - kmem0[KM_USED]);
	fflush(stdout);
	free(v);
}

/*
 * What the servers did over a window: CPU (utime + stime) and context
 * switches of the main processes (--pid: the hub, or Node) and of the
 * children (--kids-of: the handlers) apart, from /proc/PID/stat and
 * /proc/PID/status, counted for the processes alive at both ends; and
 * the machine's inter-processor interrupts (/proc/interrupts RES, CAL,
 * TLB, every CPU).  A handler's voluntary switch is a sleep that a
 * wake-up ends: voluntary switches per delivery are its wake-ups.
 *
 * And the machine's own count beside them: the CPU time busy on every
 * CPU (/proc/stat), less this process's own.  The sum over the servers'
 * processes misses part of what the kernel does for many small processes
 * (bench/analysis.md, eighteenth session); the machine's count misses
 * nothing, and charges the servers with everything else that ran (a quiet
 * machine has little else).
 */
enum { C_TICKS, C_VCS, C_NVCS, C_MINFLT, C_N };
enum { I_RES, I_CAL, I_TLB, I_N };
enum { M_BUSY, M_STEAL, M_N };

struct cpu_snap {
	pid_t			*pid;
	unsigned long long	(*c)[C_N];
	size_t			 n;
	unsigned long long	 irq[I_N];
	unsigned long long	 machine[M_N];
	double			 self_s;
	uint64_t		 at;
};

struct cpu_use {
	double			 cpu_s[2];	/* main, kids */
	unsigned long long	 vcs[2], nvcs[2], minflt[2];
	unsigned long long	 irq[I_N];
	double			 machine_s[M_N], self_s;
};

static void
proc_counts(pid_t pid, unsigned long long c[C_N])
{
	long v;

	c[C_TICKS] = cpu_ticks(pid, &c[C_MINFLT]);
	v = kib_field(pid, "status", "voluntary_ctxt_switches");
	c[C_VCS] = v > 0 ? (unsigned long long)v : 0;
	v = kib_field(pid, "status", "nonvoluntary_ctxt_switches");
	c[C_NVCS] = v > 0 ? (unsigned long long)v : 0;
}

/* RES, CAL and TLB of /proc/interrupts, summed over the CPUs. */
static void
ipi_counts(unsigned long long irq[I_N])
{
	static const char *const name[I_N] = { "RES:", "CAL:", "TLB:" };
	char line[1024];
	FILE *f;

	memset(irq, 0, I_N * sizeof(*irq));
	if ((f = fopen("/proc/interrupts", "r")) == NULL)
		return;
	while (fgets(line, sizeof(line), f) != NULL) {
		char *p = line, *e;
		int k;

		while (*p == ' ')
			p++;
		for (k = 0; k < I_N; k++)
			if (strncmp(p, name[k], 4) == 0)
				break;
		if (k == I_N)
			continue;
		for (p += 4;; p = e) {
			unsigned long long v = strtoull(p, &e, 10);

			if (e == p)
				break;
			irq[k] += v;
		}
	}
	fclose(f);
}

/*
 * The machine's CPU ticks (the "cpu" line of /proc/stat): busy (user,
 * nice, system, irq, softirq; guest time is within user) and stolen by
 * the hypervisor.
 */
static void
machine_ticks(unsigned long long m[M_N])
{
	unsigned long long v[8];
	FILE *f;

	memset(m, 0, M_N * sizeof(*m));
	if ((f = fopen("/proc/stat", "r")) == NULL)
		return;
	if (fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0],
	    &v[1], &v[2], &v[3], &v[4], &v[5], &v[6], &v[7]) == 8) {
		m[M_BUSY] = v[0] + v[1] + v[2] + v[5] + v[6];
		m[M_STEAL] = v[7];
	}
	fclose(f);
}

/* This process's CPU seconds so far. */
static double
self_cpu_s(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
	    (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

static void
cpu_begin(struct cpu_snap *s)
{
	s->pid = server_pids(&s->n, 1);
	s->c = xrealloc(NULL, (s->n + 1) * sizeof(*s->c));
	for (size_t i = 0; i < s->n; i++)
		proc_counts(s->pid[i], s->c[i]);
	ipi_counts(s->irq);
	machine_ticks(s->machine);
	s->self_s = self_cpu_s();
	s->at = now_ns();
}

/* What the servers used since cpu_begin; returns the CPU seconds. */
static double
cpu_end(struct cpu_snap *s, struct cpu_use *u)
{
	unsigned long long irq[I_N], m[M_N];

	memset(u, 0, sizeof(*u));
	ipi_counts(irq);
	for (int k = 0; k < I_N; k++)
		u->irq[k] = irq[k] - s->irq[k];
	machine_ticks(m);
	for (int k = 0; k < M_N; k++)
		u->machine_s[k] = (double)(m[k] - s->machine[k]) /
		    (double)sysconf(_SC_CLK_TCK);
	u->self_s = self_cpu_s() - s->self_s;
	for (size_t i = 0; i < s->n; i++) {
		unsigned long long c[C_N];
		int kid = (int)i >= npids;

		proc_counts(s->pid[i], c);
		if (c[C_TICKS] < s->c[i][C_TICKS] || c[C_VCS] < s->c[i][C_VCS])
			continue;	/* gone, its PID reused */
		u->cpu_s[kid] += (double)(c[C_TICKS] - s->c[i][C_TICKS]) /
		    (double)sysconf(_SC_CLK_TCK);
		u->vcs[kid] += c[C_VCS] - s->c[i][C_VCS];
		u->nvcs[kid] += c[C_NVCS] - s->c[i][C_NVCS];
		u->minflt[kid] += c[C_MINFLT] - s->c[i][C_MINFLT];
	}
	free(s->pid);
	free(s->c);
	return u->cpu_s[0] + u->cpu_s[1];
}

/* The counts of cpu_end, per delivery, as key=value pairs. */
static void
print_use(const struct cpu_use *u, long dlv)
{
	double d = dlv > 0 ? (double)dlv : 1;

	printf(" hub_cpu_us_per_dlv=%.3f kids_cpu_us_per_dlv=%.3f "
	    "hub_vcs=%llu hub_nvcs=%llu kids_vcs=%llu kids_nvcs=%llu "
	    "wakeups_per_dlv=%.3f hub_wakeups_per_dlv=%.4f "
	    "ipi_res=%llu ipi_cal=%llu ipi_tlb=%llu ipis_per_dlv=%.3f "
	    "hub_faults_per_dlv=%.4f kids_faults_per_dlv=%.3f "
	    "machine_cpu_us_per_dlv=%.3f load_cpu_us_per_dlv=%.3f "
	    "steal_us_per_dlv=%.3f",
	    u->cpu_s[0] * 1e6 / d, u->cpu_s[1] * 1e6 / d, u->vcs[0],
	    u->nvcs[0], u->vcs[1], u->nvcs[1], (double)u->vcs[1] / d,
	    (double)u->vcs[0] / d, u->irq[I_RES], u->irq[I_CAL],
	    u->irq[I_TLB],
	    (double)(u->irq[I_RES] + u->irq[I_CAL] + u->irq[I_TLB]) / d,
	    (double)u->minflt[0] / d, (double)u->minflt[1] / d,
	    (u->machine_s[M_BUSY] - u->self_s) * 1e6 / d, u->self_s * 1e6 / d,
	    u->machine_s[M_STEAL] * 1e6 / d);
}

/* ---- connections ---- */

static void
want_out(struct client *c, int on)
{
	struct epoll_event ev = { .events = EPOLLIN | (on ? EPOLLOUT : 0),
	    .data.ptr = c };

	if (c->wantout == on)
		return;
	c->wantout = on;
	epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
}

static void client_fail(struct client *, const char *);

static void
flush_out(struct client *c)
{
	while (c->woff < c->wlen) {
		ssize_t w = send(c->fd, c->wb + c->woff, c->wlen - c->woff,
		    MSG_NOSIGNAL);

		if (w < 0) {
			if (errno == EAGAIN || errno == EINTR)
				break;
			client_fail(c, "send");
			return;
		}
		c->woff += (size_t)w;
	}
	if (c->woff == c->wlen)
		c->woff = c->wlen = 0;
	want_out(c, c->wlen > 0);
}

static void
queue_out(struct client *c, const void *p, size_t n)
{
	if (c->st == S_FREE || c->st == S_DONE)
		return;
	if (c->wlen + n > c->wcap) {
		c->wcap = (c->wlen + n) * 2;
		c->wb = xrealloc(c->wb, c->wcap);
	}
	memcpy(c->wb + c->wlen, p, n);
	c->wlen += n;
	if (!c->wantout)
		flush_out(c);
}

/* One masked client frame. */
static void
send_frame(struct client *c, int opcode, const char *p, size_t n)
{
	unsigned char h[14];
	size_t hl = 0;
	static const unsigned char mask[4] = { 0x37, 0xfa, 0x21, 0x3d };
	char stackbuf[4096], *b = stackbuf;

	h[hl++] = (unsigned char)(0x80 | opcode);
	if (n < 126) {
		h[hl++] = (unsigned char)(0x80 | n);
	} else if (n < 65536) {
		h[hl++] = 0x80 | 126;
		h[hl++] = (unsigned char)(n >> 8);
		h[hl++] = (unsigned char)n;
	} else {
		die("frame too long");
	}
	memcpy(h + hl, mask, 4);
	hl += 4;
	if (hl + n > sizeof(stackbuf))
		die("frame too long");
	memcpy(b, h, hl);
	for (size_t i = 0; i < n; i++)
		b[hl + i] = (char)(p[i] ^ mask[i & 3]);
	queue_out(c, b, hl + n);
}

static void
send_text(struct client *c, const char *fmt, ...)
{
	char buf[2048];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	send_frame(c, 1, buf, (size_t)n);
}

static void
client_close(struct client *c)
{
	if (c->fd >= 0) {
		epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
		close(c->fd);
	}
	c->fd = -1;
	if (c->st == S_READY)
		nready--;
	if (c->st >= S_CONNECT && c->st < S_READY)
		nopening--;
	c->st = S_DONE;
	c->rlen = c->wlen = c->woff = 0;
	c->wantout = 0;
	nclosed++;
}

static long fail_reported;

static void
client_fail(struct client *c, const char *why)
{
	if (c->st == S_DONE || c->st == S_FREE)
		return;
	if (c->st != S_CLOSING) {
		nfail++;
		if (fail_reported++ < 5)
			fprintf(stderr, "wsload: client %d failed in state %d: "
			    "%s (%s)\n", c->id, c->st, why, strerror(errno));
	}
	client_close(c);
}

static void
client_open(struct client *c)
{
	struct sockaddr_in sa = { .sin_family = AF_INET,
	    .sin_port = htons((uint16_t)port) };
	struct epoll_event ev = { .events = EPOLLIN | EPOLLOUT, .data.ptr = c };
	int one = 1;

	if (nhosts > 0)
		sa.sin_addr = hosts[c->id % nhosts];
	else
		inet_pton(AF_INET, host, &sa.sin_addr);
	c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (c->fd < 0)
		die("socket: %s (raise ulimit -n)", strerror(errno));
	setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (nsrc > 1 && nhosts == 0) {
		/* Spread source addresses so 10,000+ connections and the
		 * TIME_WAITs of churn never run out of ports. */
		struct sockaddr_in src = { .sin_family = AF_INET };

		src.sin_addr.s_addr = htonl(0x7f000001 + (uint32_t)(c->id % nsrc));
		setsockopt(c->fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one,
		    sizeof(one));
		bind(c->fd, (struct sockaddr *)&src, sizeof(src));
	}
	c->st = S_CONNECT;
	c->t0 = now_ns();
	c->rlen = c->wlen = c->woff = 0;
	c->last_seq = -1;
	nopening++;
	if (connect(c->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 &&
	    errno != EINPROGRESS) {
		client_fail(c, "connect");
		return;
	}
	c->wantout = 1;
	epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &ev);
}

static void
set_ready(struct client *c)
{
	c->st = S_READY;
	nopening--;
	nready++;
}

/* ---- messages ---- */

/* Extract the JSON string after "key":" (no escapes in our texts). */
static int
json_str(const char *p, size_t n, const char *key, const char **v, size_t *vl)
{
	char pat[40];
	const char *s, *e;
	size_t pl = (size_t)snprintf(pat, sizeof(pat), "\"%s\":\"", key);

	s = memmem(p, n, pat, pl);
	if (s == NULL)
		return -1;
	s += pl;
	e = memchr(s, '"', (size_t)(p + n - s));
	if (e == NULL)
		return -1;
	*v = s;
	*vl = (size_t)(e - s);
	return 0;
}

static void mode_message(struct client *, const char *, size_t);
static void mode_ready(struct client *);

static void
on_text(struct client *c, const char *p, size_t n)
{
	if (proto == P_ECHO) {
		if (c->st == S_READY)
			mode_message(c, p, n);
		return;
	}
	switch (c->st) {
	case S_LOGIN:
		if (memmem(p, n, "\"type\":\"welcome\"", 16) == NULL)
			break;
		if (mode == M_RTT) {
			set_ready(c);
			mode_ready(c);
			break;
		}
		c->st = S_JOIN;
		send_text(c, "{\"type\":\"join\",\"room\":\"%s\"}", room);
		break;
	case S_JOIN:
		if (memmem(p, n, "\"type\":\"join\"", 13) != NULL &&
		    memmem(p, n, "\"members\"", 9) != NULL) {
			set_ready(c);
			mode_ready(c);
		}
		break;
	case S_READY:
		if (memmem(p, n, "\"history\":true", 14) != NULL) {
			/* replayed on join: not part of this run */
		} else if (memmem(p, n, "\"type\":\"msg\"", 12) != NULL) {
			const char *t;
			size_t tl;

			if (json_str(p, n, "text", &t, &tl) == 0)
				mode_message(c, t, tl);
			else
				nbad++;
		} else if (memmem(p, n, "\"type\":\"error\"", 14) != NULL) {
			nbad++;
			if (nbad < 5)
				fprintf(stderr, "wsload: client %d got %.*s\n",
				    c->id, (int)n, p);
		}
		break;
	default:
		break;
	}
}

static void
on_handshake_done(struct client *c)
{
	if (mode == M_CHURN) {
		lat_add(now_ns() - c->t0);
		c->st = S_CLOSING;
		nopening--;
		send_frame(c, 8, "\x03\xe8", 2);
		return;
	}
	if (proto == P_ECHO || (nroom > 0 && c->id >= nroom)) {
		set_ready(c);
		mode_ready(c);
		return;
	}
	c->st = S_LOGIN;
	send_text(c, "{\"type\":\"login\",\"nick\":\"%s%d\"}", nick_prefix,
	    c->id);
}

/* Parse what has arrived: the HTTP response, then frames. */
static void
parse_input(struct client *c)
{
	size_t off = 0;

	if (c->st == S_HS) {
		char *e = memmem(c->rb, c->rlen, "\r\n\r\n", 4);

		if (e == NULL) {
			if (c->rlen > 8192)
				client_fail(c, "handshake too long");
			return;
		}
		if (c->rlen < 12 || memcmp(c->rb + 9, "101", 3) != 0) {
			fprintf(stderr, "wsload: handshake refused: %.*s\n",
			    (int)(e - c->rb), c->rb);
			client_fail(c, "handshake refused");
			return;
		}
		off = (size_t)(e + 4 - c->rb);
		on_handshake_done(c);
	}
	while (c->fd >= 0 && c->rlen - off >= 2) {
		const unsigned char *h = (const unsigned char *)c->rb + off;
		size_t avail = c->rlen - off, hl = 2;
		uint64_t len = h[1] & 0x7f;
		int op = h[0] & 0x0f;

		if (len == 126) {
			if (avail < 4)
				break;
			len = (uint64_t)h[2] << 8 | h[3];
			hl = 4;
		} else if (len == 127) {
			if (avail < 10)
				break;
			len = 0;
			for (int i = 0; i < 8; i++)
				len = len << 8 | h[2 + i];
			hl = 10;
		}
		if (h[1] & 0x80) {
			client_fail(c, "masked server frame");
			return;
		}
		if (avail < hl + len)
			break;
		off += hl + (size_t)len;
		if (op == 1 || op == 2 || op == 0) {
			on_text(c, (const char *)h + hl, (size_t)len);
		} else if (op == 9) {
			send_frame(c, 10, (const char *)h + hl, (size_t)len);
		} else if (op == 8) {
			if (c->st != S_CLOSING) {
				if (c->st != S_DONE)
					client_fail(c, "closed by the server");
				return;
			}
			client_close(c);
			return;
		}
	}
	if (c->fd < 0)
		return;
	if (off > 0) {
		memmove(c->rb, c->rb + off, c->rlen - off);
		c->rlen -= off;
	}
}

static void
on_event(struct client *c, uint32_t evs)
{
	if (c->st == S_CONNECT && (evs & (EPOLLOUT | EPOLLERR | EPOLLHUP))) {
		int err = 0;
		socklen_t l = sizeof(err);

		getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &l);
		if (err != 0) {
			errno = err;
			client_fail(c, "connect");
			return;
		}
		c->st = S_HS;
		want_out(c, 0);
		queue_out(c, hsreq, hsreq_len);
	}
	if (evs & EPOLLOUT)
		flush_out(c);
	if (c->fd >= 0 && (evs & (EPOLLIN | EPOLLHUP | EPOLLERR))) {
		for (;;) {
			ssize_t r;

			if (c->rcap - c->rlen < 4096) {
				c->rcap = c->rcap ? c->rcap * 2 : 8192;
				c->rb = xrealloc(c->rb, c->rcap);
			}
			r = recv(c->fd, c->rb + c->rlen, c->rcap - c->rlen, 0);
			if (r < 0) {
				if (errno == EAGAIN || errno == EINTR)
					break;
				client_fail(c, "recv");
				return;
			}
			if (r == 0) {
				if (c->st == S_CLOSING)
					client_close(c);
				else
					client_fail(c, "EOF from the server");
				return;
			}
			c->rlen += (size_t)r;
			last_rx = now_ns();
			parse_input(c);
			if (c->fd < 0)
				return;
			if ((size_t)r < 4096)
				break;
		}
	}
}

/* ---- the modes ---- */

static uint64_t t_send0, t_last_send, t_measure0, t_measure1;
static long delivered_window, completed;
static long rtt_done;
static uint64_t rtt_t;

static void
rtt_send(void)
{
	rtt_t = now_ns();
	if (proto == P_ECHO)
		send_text(&cl[0], "R %ld %llu", rtt_done,
		    (unsigned long long)rtt_t);
	else
		send_text(&cl[0], "{\"type\":\"msg\",\"to\":\"u1\",\"text\":"
		    "\"R %ld %llu\"}", rtt_done, (unsigned long long)rtt_t);
}

static void
mode_ready(struct client *c)
{
	(void)c;
}

static void
bcast_send(void)
{
	uint64_t t = now_ns();

	if (nsent >= nseq_max)
		return;
	send_text(&cl[0], "{\"type\":\"say\",\"room\":\"%s\",\"text\":"
	    "\"B %ld %llu\"}", room, nsent, (unsigned long long)t);
	nsent++;
	t_last_send = t;
}

static void
mode_message(struct client *c, const char *p, size_t n)
{
	char buf[128];
	char kind;
	long seq;
	unsigned long long t;
	uint64_t now = now_ns();

	if (n >= sizeof(buf)) {
		nbad++;
		return;
	}
	memcpy(buf, p, n);
	buf[n] = '\0';
	if (sscanf(buf, "%c %ld %llu", &kind, &seq, &t) != 3) {
		nbad++;
		return;
	}
	if (mode == M_RTT) {
		if (proto == P_CHAT && c->id == 1) {
			/* the relay: send it back to u0 (skip our echo) */
			if (kind == 'R' && memmem(buf, n, " back", 5) == NULL)
				send_text(c, "{\"type\":\"msg\",\"to\":\"u0\","
				    "\"text\":\"%s back\"}", buf);
			return;
		}
		if (c->id != 0 || seq != rtt_done)
			return;
		if (proto == P_CHAT && memmem(buf, n, " back", 5) == NULL)
			return;		/* u0's own copy of its message */
		if (rtt_done >= 100)	/* the first 100 warm up */
			lat_add(now - t);
		rtt_done++;
		if (rtt_done < rounds + 100)
			rtt_send();
		return;
	}
	if (kind != 'B' || seq < 0 || seq >= nseq_max) {
		nbad++;
		return;
	}
	if (seq <= c->last_seq) {
		if (seq == c->last_seq)
			ndup++;
		else
			nreorder++;
		return;
	}
	c->last_seq = seq;
	seqcount[seq]++;
	if (now >= t_measure0 && (t_measure1 == 0 || now < t_measure1))
		delivered_window++;
	lat_add(now - t);
	if (mode == M_TPUT && (long)seqcount[seq] == nroom) {
		completed++;
		if (t_measure1 == 0 || now < t_measure1)
			bcast_send();
	}
}

static volatile sig_atomic_t stop_flag;

static void
on_signal(int s)
{
	(void)s;
	stop_flag = 1;
}

/* Run the loop until cond() or deadline; open connections as allowed. */
static long next_open;

static void
open_more(long limit, long concurrency)
{
	while (next_open < limit && nopening < concurrency) {
		struct client *c = &cl[next_open];

		c->id = (int)next_open;
		next_open++;
		client_open(c);
	}
}

static int
loop(int (*done)(void), uint64_t deadline, long limit, long concurrency,
    void (*tick)(uint64_t))
{
	struct epoll_event evs[256];

	while (!stop_flag) {
		uint64_t now = now_ns();
		int n, to;

		open_more(limit, concurrency);
		if (done())
			return 0;
		if (now >= deadline)
			return -1;
		to = (int)((deadline - now) / 1000000) + 1;
		if (tick != NULL) {
			tick(now);
			to = 1;
		}
		if (to > 100)
			to = 100;
		n = epoll_wait(ep, evs, 256, to);
		for (int i = 0; i < n; i++)
			on_event(evs[i].data.ptr, evs[i].events);
	}
	return -1;
}

static long target_ready;

static int
done_ready(void)
{
	return nready >= target_ready || (next_open >= target_ready &&
	    nopening == 0);
}

static int
done_churn(void)
{
	return nclosed >= nconns;
}

static int
done_rtt(void)
{
	return rtt_done >= rounds + 100 || nready < 1;
}

static int
done_never(void)
{
	return 0;
}

static long
delivered_total(void)
{
	long s = 0;

	for (long i = 0; i < nsent; i++)
		s += seqcount[i];
	return s;
}

static int
done_all_delivered(void)
{
	return delivered_total() >= nsent * nroom;
}

static uint64_t period_ns, quiet_ns;

static void
tick_open_loop(uint64_t now)
{
	while (nsent < nseq_max && now >= t_send0 + (uint64_t)nsent * period_ns)
		bcast_send();
}

static void
alloc_clients(long n)
{
	ncl = n;
	cl = calloc((size_t)n, sizeof(*cl));
	if (cl == NULL)
		die("out of memory");
	for (long i = 0; i < n; i++) {
		cl[i].fd = -1;
		cl[i].id = (int)i;
	}
}

static void
close_all(void)
{
	for (long i = 0; i < ncl; i++)
		if (cl[i].fd >= 0)
			client_close(&cl[i]);
}

/* Open N clients (logged in, in the room); fail if they do not come up. */
static double
ramp(long n, long concurrency)
{
	uint64_t t = now_ns();

	target_ready = n;
	loop(done_ready, t + (uint64_t)(timeout_s * 1e9), n, concurrency, NULL);
	fprintf(stderr, "wsload: %ld/%ld clients ready in %.1f s (%ld failed)\n",
	    nready, n, (double)(now_ns() - t) / 1e9, nfail);
	return (double)(now_ns() - t) / 1e9;
}

/* Wait until no client got a byte for `q` seconds (at most `max`). */
static int
done_quiet(void)
{
	return now_ns() - last_rx >= quiet_ns;
}

static double
wait_quiet(double q, double max)
{
	uint64_t t = now_ns();

	quiet_ns = (uint64_t)(q * 1e9);
	last_rx = t;
	loop(done_quiet, t + (uint64_t)(max * 1e9), 0, 0, NULL);
	return (double)(now_ns() - t) / 1e9;
}

static void
settle(double s)
{
	loop(done_never, now_ns() + (uint64_t)(s * 1e9), 0, 0, NULL);
}

static void
print_lat(const char *pfx)
{
	qsort(lat, nlat, sizeof(*lat), u64cmp);
	printf(" %s_n=%zu %s_p50_us=%.1f %s_p95_us=%.1f %s_p99_us=%.1f "
	    "%s_max_us=%.1f", pfx, nlat, pfx, pct(50), pfx, pct(95), pfx,
	    pct(99), pfx, pct(100));
}

static void
run_bcast(void)
{
	double ramp_s, quiet_s;
	long deliveries, expect;

	nroom = nclients;
	alloc_clients(nclients + nextra);
	nseq_max = mode == M_BCAST ? (long)(rate * secs + 0.5) :
	    10000000;
	seqcount = calloc((size_t)nseq_max, sizeof(*seqcount));
	if (seqcount == NULL)
		die("out of memory");
	ramp_s = ramp(nclients + nextra, conc);
	if (nready < nclients + nextra)
		die("only %ld of %ld clients came up", nready,
		    nclients + nextra);
	/* the presence notices of the ramp must have drained */
	quiet_s = wait_quiet(0.5, timeout_s);
	if (npids > 0 || kids_of > 0 || cgroup_dir != NULL)
		report_mem(nclients + nextra);
	nlat = 0;
	if (mode == M_BCAST) {
		struct cpu_snap cs;
		struct cpu_use cu;

		cpu_begin(&cs);
		period_ns = (uint64_t)(1e9 / rate);
		t_send0 = now_ns();
		t_measure0 = 0;
		loop(done_never, t_send0 + (uint64_t)(secs * 1e9), 0, 0,
		    tick_open_loop);
		tick_open_loop(now_ns());
		loop(done_all_delivered, now_ns() + (uint64_t)(grace_s * 1e9),
		    0, 0, NULL);
		cpu_end(&cs, &cu);
		deliveries = delivered_total();
		expect = nsent * nroom;
		printf("RESULT%s mode=bcast clients=%ld extra=%ld ramp_s=%.2f "
		    "quiet_s=%.2f sent=%ld deliveries=%ld expected=%ld lost=%ld "
		    "dup=%ld reorder=%ld bad=%ld failed=%ld", tag, nclients,
		    nextra, ramp_s, quiet_s, nsent,
		    deliveries, expect, expect - deliveries, ndup, nreorder,
		    nbad, nfail);
		print_lat("lat");
		print_use(&cu, deliveries);
		printf("\n");
	} else {
		struct cpu_snap cs;
		struct cpu_use cu;
		double cpu, win;
		uint64_t t;

		/* warm up 1 s, then measure `secs` */
		t = now_ns();
		t_measure0 = t + 1000000000ULL;
		t_measure1 = 0;
		for (long i = 0; i < inflight; i++)
			bcast_send();
		loop(done_never, t_measure0, 0, 0, NULL);
		cpu_begin(&cs);
		nlat = 0;
		delivered_window = 0;
		loop(done_never, t_measure0 + (uint64_t)(secs * 1e9), 0, 0,
		    NULL);
		t_measure1 = now_ns();
		cpu = cpu_end(&cs, &cu);
		win = (double)(t_measure1 - t_measure0) / 1e9;
		loop(done_all_delivered, now_ns() + (uint64_t)(grace_s * 1e9),
		    0, 0, NULL);
		deliveries = delivered_total();
		expect = nsent * nroom;
		printf("RESULT%s mode=tput clients=%ld ramp_s=%.2f sent=%ld "
		    "window_s=%.2f window_deliveries=%ld deliveries_per_s=%.0f "
		    "server_cpu_s=%.2f cpu_us_per_delivery=%.3f lost=%ld "
		    "dup=%ld reorder=%ld bad=%ld failed=%ld", tag, nclients,
		    ramp_s, nsent, win, delivered_window,
		    (double)delivered_window / win, cpu,
		    delivered_window ? cpu * 1e6 / (double)delivered_window : 0,
		    expect - deliveries, ndup, nreorder, nbad, nfail);
		print_lat("lat");
		print_use(&cu, delivered_window);
		printf("\n");
	}
	fflush(stdout);
	close_all();
}

/* hold --at-step CMD: run it with WSLOAD_CONNS=CONNS, wait for it. */
static void
run_at_step(long conns)
{
	char v[32];
	int st;

	snprintf(v, sizeof(v), "%ld", conns);
	if (setenv("WSLOAD_CONNS", v, 1) != 0)
		die("setenv: %s", strerror(errno));
	fflush(stdout);
	st = system(at_step);
	if (st != 0)
		fprintf(stderr, "wsload: --at-step: status %d\n", st);
}

static void
run_hold(void)
{
	long steps[64], ns = 0, max = 0;
	char *s = steps_arg, *e;

	while (*s && ns < 64) {
		steps[ns] = strtol(s, &e, 10);
		if (e == s)
			die("bad --steps");
		if (steps[ns] > max)
			max = steps[ns];
		ns++;
		s = *e == ',' ? e + 1 : e;
	}
	alloc_clients(max > 0 ? max : 1);
	for (long i = 0; i < ns; i++) {
		ramp(steps[i], conc);
		if (nready < steps[i])
			die("only %ld of %ld clients came up", nready, steps[i]);
		wait_quiet(1.0, timeout_s);
		report_mem(steps[i]);
		if (at_step != NULL)
			run_at_step(steps[i]);
	}
	printf("RESULT%s mode=hold clients=%ld failed=%ld\n", tag, max, nfail);
	fflush(stdout);
	if (linger_s > 0)
		settle(linger_s);	/* --linger: keep them open a while */
	close_all();
}

static void
run_churn(void)
{
	uint64_t t;
	double el;

	alloc_clients(nconns);
	t = now_ns();
	loop(done_churn, t + (uint64_t)(timeout_s * 1e9), nconns, conc, NULL);
	el = (double)(now_ns() - t) / 1e9;
	printf("RESULT%s mode=churn conns=%ld closed=%ld failed=%ld secs=%.3f "
	    "conn_per_s=%.1f", tag, nconns, nclosed, nfail, el,
	    (double)(nclosed - nfail) / el);
	print_lat("hs");
	printf("\n");
	fflush(stdout);
}

static void
run_rtt(void)
{
	alloc_clients(proto == P_ECHO ? 1 : 2);
	ramp(ncl, ncl);
	if (nready < ncl)
		die("clients did not come up");
	settle(0.2);
	rtt_send();
	loop(done_rtt, now_ns() + (uint64_t)(timeout_s * 1e9), 0, 0, NULL);
	printf("RESULT%s mode=rtt proto=%s rounds=%ld failed=%ld", tag,
	    proto == P_ECHO ? "echo" : "relay", rtt_done - 100, nfail);
	print_lat("rtt");
	printf("\n");
	fflush(stdout);
	close_all();
}

static void
usage(void)
{
	fprintf(stderr, "usage: wsload churn|rtt|bcast|tput|hold -p PORT "
	    "[--path P] [--proto chat|echo] [-n N] [-c CONC] [-N CLIENTS] "
	    "[--rate R] [--secs S] [--inflight K] [--steps LIST] "
	    "[--extra X] [--pid PID]... [--kids-of PPID] [--cgroup DIR] "
	    "[--at-step CMD] [--timeout S] [--tag T] "
	    "[--hosts A,B,...] [--nick-prefix P]\n");
	exit(2);
}

/* --hosts A,B,...: IPv4 addresses, at most 8. */
static void
parse_hosts(char *list)
{
	char *save = NULL;

	for (char *h = strtok_r(list, ",", &save); h != NULL;
	    h = strtok_r(NULL, ",", &save)) {
		if (nhosts == 8 || inet_pton(AF_INET, h, &hosts[nhosts]) != 1)
			die("--hosts: bad or too many addresses at %s", h);
		nhosts++;
	}
	if (nhosts == 0)
		die("--hosts: no address");
}

int
main(int argc, char *argv[])
{
	static const struct option lo[] = {
		{ "port", 1, NULL, 'p' }, { "path", 1, NULL, 'P' },
		{ "proto", 1, NULL, 'x' }, { "rate", 1, NULL, 'r' },
		{ "secs", 1, NULL, 's' }, { "inflight", 1, NULL, 'k' },
		{ "steps", 1, NULL, 'S' }, { "pid", 1, NULL, 'i' },
		{ "kids-of", 1, NULL, 'K' }, { "timeout", 1, NULL, 't' },
		{ "tag", 1, NULL, 'T' }, { "room", 1, NULL, 'R' },
		{ "sources", 1, NULL, 'a' }, { "grace", 1, NULL, 'g' },
		{ "extra", 1, NULL, 'e' }, { "linger", 1, NULL, 'l' },
		{ "hosts", 1, NULL, 'H' }, { "nick-prefix", 1, NULL, 'u' },
		{ "cgroup", 1, NULL, 'G' }, { "at-step", 1, NULL, 'X' },
		{ NULL, 0, NULL, 0 },
	};
	int ch;

	if (argc < 2)
		usage();
	if (strcmp(argv[1], "churn") == 0)
		mode = M_CHURN;
	else if (strcmp(argv[1], "rtt") == 0)
		mode = M_RTT;
	else if (strcmp(argv[1], "bcast") == 0)
		mode = M_BCAST;
	else if (strcmp(argv[1], "tput") == 0)
		mode = M_TPUT;
	else if (strcmp(argv[1], "hold") == 0)
		mode = M_HOLD;
	else
		usage();
	optind = 2;
	conc = mode == M_CHURN ? 8 : 64;
	while ((ch = getopt_long(argc, argv, "p:P:n:c:N:", lo, NULL)) != -1) {
		switch (ch) {
		case 'p': port = atoi(optarg); break;
		case 'P': path = optarg; break;
		case 'x':
			proto = strcmp(optarg, "echo") == 0 ? P_ECHO : P_CHAT;
			break;
		case 'n': nconns = rounds = atol(optarg); break;
		case 'c': conc = atol(optarg); break;
		case 'N': nclients = atol(optarg); break;
		case 'r': rate = atof(optarg); break;
		case 's': secs = atof(optarg); break;
		case 'k': inflight = atol(optarg); break;
		case 'S': snprintf(steps_arg, sizeof(steps_arg), "%s", optarg);
			break;
		case 'i':
			if (npids < 16)
				pids[npids++] = (pid_t)atoi(optarg);
			break;
		case 'K': kids_of = (pid_t)atoi(optarg); break;
		case 'G': cgroup_dir = optarg; break;
		case 'X': at_step = optarg; break;
		case 't': timeout_s = atof(optarg); break;
		case 'T': tag = optarg; break;
		case 'R': room = optarg; break;
		case 'a': nsrc = atoi(optarg); break;
		case 'g': grace_s = atof(optarg); break;
		case 'e': nextra = atol(optarg); break;
		case 'l': linger_s = atof(optarg); break;
		case 'H': parse_hosts(optarg); break;
		case 'u':
			if (strlen(optarg) < 1 || strlen(optarg) > 20 ||
			    strspn(optarg, "abcdefghijklmnopqrstuvwxyz") != strlen(optarg))
				die("--nick-prefix: 1 to 20 letters a-z");
			nick_prefix = optarg;
			break;
		default: usage();
		}
	}
	if (port <= 0 || port > 65535)
		usage();
	if (room == NULL) {
		/* a room of its own: no history from an earlier run */
		snprintf(room_buf, sizeof(room_buf), "b%ld", (long)getpid());
		room = room_buf;
	}
	kmem_read(kmem0);	/* before any connection: the MEM lines' base */
	signal(SIGPIPE, SIG_IGN);
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	if ((ep = epoll_create1(EPOLL_CLOEXEC)) < 0)
		die("epoll_create1: %s", strerror(errno));
	hsreq_len = (size_t)snprintf(hsreq, sizeof(hsreq),
	    "GET %s HTTP/1.1\r\nHost: %s:%d\r\nUpgrade: websocket\r\n"
	    "Connection: Upgrade\r\n"
	    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
	    "Sec-WebSocket-Version: 13\r\n\r\n", path, host, port);
	switch (mode) {
	case M_CHURN: run_churn(); break;
	case M_RTT: run_rtt(); break;
	case M_BCAST: case M_TPUT: run_bcast(); break;
	case M_HOLD: run_hold(); break;
	}
	return 0;
}
