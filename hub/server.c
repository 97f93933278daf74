/* SPDX-License-Identifier: ISC */
/*
 * The hub daemon around the rules: the sd-event loop, the listening
 * sockets, the peers' I/O (struct hub_ops: the rules' only way out),
 * loading and reloading the config, the member store, the bans and the
 * history, and readiness/status for systemd.  hubd_run() is the whole
 * life of the process; main.c only reads the command line.
 */
#include <assert.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include <bsd/stdlib.h>
#include <bsd/string.h>
#include <systemd/sd-daemon.h>
#include <systemd/sd-event.h>

#include "hub.h"

#define HUB_RECV_BURST	64	/* datagrams read per wake-up of one peer */
#define HUB_DEFER_MAX	SB_MSG_MAX	/* bytes held for one handler in a burst */
#define HUB_STATUS_USEC	(5 * 1000000ULL)

struct ctx {
	struct hub	 hub;
	sd_event	*event;
	int		 listen_fd;
	const char	*config_path;
	int		 config_required;	/* -c given */
	unsigned	 last_status;
	int		 notify;		/* started by systemd */
	sd_event_source	*hold_timer;		/* releases held messages */
	struct authpool	*pool;			/* password workers */
	int		 defer;			/* in a burst: hold sends */
	TAILQ_HEAD(, peer) flushq;		/* peers with sends held */
};

static int	peer_io(sd_event_source *, int, uint32_t, void *);
static void	hub_reap(struct ctx *);
static int	reload(struct hub *, char *, size_t);

static uint64_t
ops_now_usec(struct hub *h)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

static void
peer_want_write(struct peer *p, int on)
{
	if (p->io != NULL)
		sd_event_source_set_io_events(p->io,
		    EPOLLIN | (on ? EPOLLOUT : 0));
}

/*
 * The handler has closed its end (it exited).  Nothing more can reach it,
 * but what it sent before closing (its last messages, a QUIT reason) is
 * still to be read: keep reading until the end of the stream, which then
 * ends the session.
 */
static void
peer_write_broken(struct peer *p)
{
	p->write_broken = 1;
	pktq_free(&p->outq);
	p->outq_bytes = 0;
	peer_want_write(p, 0);
}

/*
 * Write queued datagrams while the socket takes them.  Returns 0, or
 * -EPIPE when the handler is gone (its socket is then write_broken).
 */
static int
peer_flush(struct hub *h, struct peer *p)
{
	struct pkt *k;

	if (p->held) {		/* written when let go (ops_hold) */
		peer_want_write(p, 0);
		return 0;
	}
	/*
	 * Sent from one buffer, always the same few pages, not from each
	 * queued datagram's own (a batch is 16 KiB from malloc, elsewhere
	 * each time): on this VM the kernel's copy from those scattered
	 * pages was a quarter of the hub's time (perf: _copy_from_iter),
	 * and the extra memcpy here costs far less.  The hub's CPU per
	 * delivery at N = 1000: 25-33 % less (bench/analysis.md, 16th
	 * session).
	 */
	static unsigned char hot[SB_MSG_MAX];

	while ((k = TAILQ_FIRST(&p->outq)) != NULL) {
		memcpy(hot, k->buf, k->len);
		if (send(p->fd, hot, k->len, MSG_DONTWAIT | MSG_NOSIGNAL) < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				break;
			peer_write_broken(p);
			return -EPIPE;
		}
		h->metrics.datagrams++;
		TAILQ_REMOVE(&p->outq, k, entry);
		p->outq_bytes -= k->len;
		hub_pkt_free(h, k);
	}
	p->blocked = !TAILQ_EMPTY(&p->outq);
	peer_want_write(p, p->blocked);
	return 0;
}

/* Write what waits for `p` when the burst ends (burst_flush). */
static void
flush_later(struct ctx *c, struct peer *p)
{
	if (!p->deferred) {
		p->deferred = 1;
		TAILQ_INSERT_TAIL(&c->flushq, p, flush);
	}
}

/*
 * ops->send in a burst (peer_io): queue, coalesced with what waits for
 * the same handler (send.c hub_queue()), and write it all when the burst
 * ends (burst_flush), so that the messages of a burst reach each handler
 * in as few datagrams as fit: one receive and one wake-up for many when
 * the hub is behind.  Past HUB_DEFER_MAX held, write at once: what is
 * held stays far below the slow-reader limit, which still only counts
 * what the handler has not read.  Each datagram queued for a handler
 * whose socket was full (blocked) when last written to is counted in
 * the queue histogram, as ops_send() counts it; the flush is tried all
 * the same, as the handler may have read since (bench/analysis.md).
 */
static int
ops_send_deferred(struct ctx *c, struct peer *p, const struct sb_packet *pkt)
{
	struct hub *h = &c->hub;
	int r;

	if ((r = hub_queue(h, p, pkt)) < 0) {
		hub_peer_unqueued(h, p, r);
		return r;
	}
	if (p->blocked)		/* it had to wait, as in ops_send() */
		metrics_queued(h, p->outq_bytes);
	flush_later(c, p);
	if (p->outq_bytes >= HUB_DEFER_MAX && peer_flush(h, p) < 0)
		return -EPIPE;
	return 0;
}

/*
 * ops->send: write now when nothing is queued, else queue, coalesced
 * into batches (send.c hub_queue()); past the slow-reader limit the
 * session ends (peers.c hub_peer_unqueued()).  In a burst, held until
 * its end (ops_send_deferred).
 */
static int
ops_send(struct hub *h, struct peer *p, const struct sb_packet *pkt)
{
	int r;

	if (p->dead || p->write_broken || p->fd < 0)
		return -EPIPE;
	if (((struct ctx *)h->ctx)->defer)
		return ops_send_deferred(h->ctx, p, pkt);
	if (TAILQ_EMPTY(&p->outq) && !p->held) {
		if (send(p->fd, pkt->buf, pkt->len, MSG_DONTWAIT |
		    MSG_NOSIGNAL) >= 0) {
			h->metrics.datagrams++;
			return 0;
		}
		if (errno != EAGAIN && errno != EWOULDBLOCK) {
			peer_write_broken(p);
			return -EPIPE;
		}
	}
	if ((r = hub_queue(h, p, pkt)) < 0) {
		hub_peer_unqueued(h, p, r);
		return r;
	}
	if (p->held)
		return 0;	/* written when let go (ops_hold) */
	metrics_queued(h, p->outq_bytes);
	p->blocked = 1;
	peer_want_write(p, 1);
	return 0;
}

/*
 * ops->hold: on, what is sent to `p` is queued, not written; off, once
 * every hold is let go, what waited is written (at the burst's end when
 * in one).  A session that ends while held lets its queue out in
 * hub_reap() as ever.
 */
static void
ops_hold(struct hub *h, struct peer *p, int on)
{
	if (on) {
		p->held++;
		return;
	}
	if (p->held == 0 || --p->held > 0 || p->dead || p->write_broken ||
	    p->fd < 0)
		return;
	if (((struct ctx *)h->ctx)->defer)
		flush_later(h->ctx, p);
	else
		peer_flush(h, p);
}

/*
 * The end of a burst: write what was held for each handler.  A peer
 * that died meanwhile keeps its queue for hub_reap(), which lets it out
 * in order before its C_CLOSE.
 */
static void
burst_flush(struct ctx *c)
{
	struct peer *p;
	int was;

	c->defer = 0;
	while ((p = TAILQ_FIRST(&c->flushq)) != NULL) {
		TAILQ_REMOVE(&c->flushq, p, flush);
		p->deferred = 0;
		if (p->dead || p->write_broken || p->fd < 0)
			continue;
		was = p->blocked;
		peer_flush(&c->hub, p);
		if (p->blocked && !was)	/* now it had to wait */
			metrics_queued(&c->hub, p->outq_bytes);
	}
}

/*
 * ops->burst: a burst that does not come from a handler: what one read
 * of Redis's socket brought (cluster.c), often many room messages when
 * the hub is behind.  on: hold sends as peer_io() does; off: write them,
 * each handler's coalesced, and free the sessions that ended meanwhile.
 */
static void
ops_burst(struct hub *h, int on)
{
	struct ctx *c = h->ctx;

	if (on) {
		c->defer = 1;
		return;
	}
	burst_flush(c);
	hub_reap(c);
}

/* The hold timer (ops_arm): release the held messages once it is time. */
static int
on_hold_timer(sd_event_source *s, uint64_t usec, void *arg)
{
	struct ctx *c = arg;

	if (c->hub.hold_until != 0 && usec >= c->hub.hold_until)
		hub_hold_release(&c->hub);
	else if (c->hub.hold_until != 0)
		sd_event_source_set_time(s, c->hub.hold_until);
	hub_reap(c);
	return 0;
}

/* ops->arm: wake up at `usec` (CLOCK_MONOTONIC) to release held messages. */
static void
ops_arm(struct hub *h, uint64_t usec)
{
	struct ctx *c = h->ctx;

	if (c->hold_timer == NULL) {
		if (sd_event_add_time(c->event, &c->hold_timer, CLOCK_MONOTONIC,
		    usec, 1000, on_hold_timer, c) < 0)
			return;
	} else
		sd_event_source_set_time(c->hold_timer, usec);
	sd_event_source_set_enabled(c->hold_timer, SD_EVENT_ONESHOT);
}

/* ops->check_password: a job for the password workers (authpool.c). */
static int
ops_check_password(struct hub *h, uint64_t session, const char *setting,
    const char *password)
{
	struct ctx *c = h->ctx;

	if (c->pool == NULL)
		return -EAGAIN;
	return authpool_submit(c->pool, session, setting, password);
}

/* The workers answered: hand the answers to the hub, on this thread. */
static int
on_pool(sd_event_source *s, int fd, uint32_t revents, void *arg)
{
	struct ctx *c = arg;

	authpool_collect(c->pool, &c->hub);
	hub_reap(c);
	return 0;
}

/* The descriptors open in this process: the entries of /proc/self/fd. */
static int
open_fds(uint64_t *n)
{
	struct dirent *d;
	DIR *dir;

	if ((dir = opendir("/proc/self/fd")) == NULL)
		return -errno;
	*n = 0;
	while ((d = readdir(dir)) != NULL)
		if (d->d_name[0] != '.')
			(*n)++;
	closedir(dir);
	if (*n > 0)
		(*n)--;		/* the directory's own */
	return 0;
}

/*
 * ops->proc_stats: the hub's CPU time (every thread: the password
 * workers too), its memory (/proc/self/statm), its descriptors.  Asked
 * once per metrics request.  Returns 0 or a negative errno.
 */
static int
ops_proc_stats(struct hub *h, struct metrics_proc *ps)
{
	unsigned long long size = 0, resident = 0;
	long page = sysconf(_SC_PAGESIZE);
	struct rusage ru;
	struct rlimit rl;
	FILE *f;
	int r;

	if (getrusage(RUSAGE_SELF, &ru) < 0)
		return -errno;
	ps->cpu_seconds = (double)ru.ru_utime.tv_sec +
	    (double)ru.ru_stime.tv_sec +
	    (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
	if ((f = fopen("/proc/self/statm", "re")) == NULL)
		return -errno;
	r = fscanf(f, "%llu %llu", &size, &resident);
	fclose(f);
	if (r != 2 || page <= 0)
		return -EIO;
	ps->virtual_bytes = size * (unsigned long long)page;
	ps->resident_bytes = resident * (unsigned long long)page;
	ps->max_fds = getrlimit(RLIMIT_NOFILE, &rl) == 0 &&
	    rl.rlim_cur != RLIM_INFINITY ? rl.rlim_cur : 0;
	return open_fds(&ps->open_fds);
}

/* What every hub does on its own machine. */
#define HUB_LOCAL_OPS \
	.send = ops_send, \
	.now_usec = ops_now_usec, \
	.arm = ops_arm, \
	.check_password = ops_check_password, \
	.proc_stats = ops_proc_stats, \
	.burst = ops_burst, \
	.hold = ops_hold

static const struct hub_ops hub_ops = {
	HUB_LOCAL_OPS,
};

/* With cluster_redis: the same, and Redis for what crosses machines. */
static const struct hub_ops hub_cluster_ops = {
	HUB_LOCAL_OPS,
	.room_publish = cluster_room_publish,
	.room_follow = cluster_room_follow,
	.room_replay = cluster_room_replay,
	.user_event = cluster_user_event,
	.private_send = cluster_private_send,
	.remote_kick = cluster_remote_kick,
	.nick_claim = cluster_nick_claim,
	.ban_share = cluster_ban_share,
};

/*
 * What was queued for a handler ended on purpose (its C_CLOSE last) when
 * its session is reaped: the socket stays open, written to as the handler
 * reads, for up to HUB_LINGER_USEC, so that a handler that was only
 * behind (a slow_reader) still gets everything before its C_CLOSE, and
 * its client the close with its reason.  Then the socket is closed; what
 * is left is lost, and the handler, finding its hub gone, is refused its
 * resume with `ended` (docs/delivery.md).
 */
struct lingerer {
	int		 fd;
	struct pktq	 q;
	sd_event_source	*io, *timer;
};

static void
linger_end(struct lingerer *l)
{
	pktq_free(&l->q);
	sd_event_source_disable_unref(l->io);
	sd_event_source_disable_unref(l->timer);
	close(l->fd);
	free(l);
}

/* The lingering socket is writable (or broke): write on, end when done. */
static int
linger_io(sd_event_source *s, int fd, uint32_t revents, void *arg)
{
	struct lingerer *l = arg;
	struct pkt *k;

	while ((k = TAILQ_FIRST(&l->q)) != NULL) {
		if (send(fd, k->buf, k->len, MSG_DONTWAIT | MSG_NOSIGNAL) < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return 0;
			break;
		}
		TAILQ_REMOVE(&l->q, k, entry);
		free(k);
	}
	linger_end(l);
	return 0;
}

static int
linger_timeout(sd_event_source *s, uint64_t usec, void *arg)
{
	linger_end(arg);
	return 0;
}

/*
 * Hand the socket of `p` and its queue to a linger; returns 0, or a
 * negative errno (nothing was taken: the caller closes as before).
 */
static int
linger_start(struct ctx *c, struct peer *p)
{
	struct lingerer *l;

	if ((l = calloc(1, sizeof(*l))) == NULL)
		return -ENOMEM;
	l->fd = p->fd;
	TAILQ_INIT(&l->q);
	if (sd_event_add_io(c->event, &l->io, l->fd, EPOLLOUT, linger_io,
	    l) < 0 || sd_event_add_time_relative(c->event, &l->timer,
	    CLOCK_MONOTONIC, HUB_LINGER_USEC, 0, linger_timeout, l) < 0) {
		sd_event_source_disable_unref(l->io);
		free(l);
		return -ENOMEM;
	}
	TAILQ_CONCAT(&l->q, &p->outq, entry);
	p->outq_bytes = 0;
	p->fd = -1;
	return 0;
}

/* Close and free every peer marked dead during this turn. */
static void
hub_reap(struct ctx *c)
{
	struct hub *h = &c->hub;
	struct peer *p;

	while ((p = TAILQ_FIRST(&h->reaplist)) != NULL) {
		TAILQ_REMOVE(&h->reaplist, p, reap);
		hub_peer_gone(h, p, p->kill_reason[0] ? p->kill_reason :
		    "Connection closed");
		if (p->io != NULL)
			sd_event_source_disable_unref(p->io);
		if (p->fd >= 0) {
			/* Let a queued C_CLOSE out if the socket takes it. */
			struct pkt *k;

			while ((k = TAILQ_FIRST(&p->outq)) != NULL &&
			    send(p->fd, k->buf, k->len,
			    MSG_DONTWAIT | MSG_NOSIGNAL) >= 0) {
				TAILQ_REMOVE(&p->outq, k, entry);
				p->outq_bytes -= k->len;
				free(k);
			}
			/* The rest as the handler reads, if it was killed. */
			if (TAILQ_EMPTY(&p->outq) || !p->closing ||
			    p->write_broken || linger_start(c, p) < 0)
				close(p->fd);
		}
		hub_peer_free(h, p);
	}
}

/*
 * recv() of one datagram from a handler, and the one descriptor it may
 * have passed along (SCM_RIGHTS: H_TLS_START's client socket) in
 * *passed, else -1; any more are closed.  As recv(), with MSG_TRUNC.
 */
static ssize_t
peer_recv(int fd, unsigned char *buf, size_t size, int *passed)
{
	union {
		struct cmsghdr	h;
		char		b[CMSG_SPACE(4 * sizeof(int))];
	} u;
	struct iovec iov = { .iov_base = buf, .iov_len = size };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1,
	    .msg_control = u.b, .msg_controllen = sizeof(u.b) };
	struct cmsghdr *cm;
	ssize_t n = recvmsg(fd, &mh, MSG_DONTWAIT | MSG_TRUNC |
	    MSG_CMSG_CLOEXEC);
	size_t k, nfd;
	int one;

	if (n < 0)
		return n;
	for (cm = CMSG_FIRSTHDR(&mh); cm != NULL; cm = CMSG_NXTHDR(&mh, cm)) {
		if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS)
			continue;
		nfd = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (k = 0; k < nfd; k++) {
			memcpy(&one, CMSG_DATA(cm) + k * sizeof(int),
			    sizeof(int));
			if (*passed < 0)
				*passed = one;
			else
				close(one);
		}
	}
	return n;
}

/*
 * H_TLS_START or H_TLS_SIGN from p (hub/tlskey.c), with the descriptor
 * that came along (-1: none): a signature goes to the workers.  Returns
 * 0, or -EPROTO.
 */
static int
peer_tls(struct ctx *c, struct peer *p, const struct sb_msg *m, int fd)
{
	struct tls_sign_job rq;
	int r = tlskey_message(&c->hub, p, m, fd, &rq);

	if (r > 0 && authpool_sign(c->pool, &rq) < 0)
		tlskey_refuse(&c->hub, p, "the signers are busy");
	return r < 0 ? r : 0;
}

/*
 * A handler's socket is ready: write what is queued for it, then read up
 * to HUB_RECV_BURST datagrams and dispatch each.  A malformed datagram,
 * or one that breaks the contract, ends that handler (logged here, once:
 * this is where it is decided); its end of the socket closing drops it.
 * The peers marked dead meanwhile are reaped before returning.
 */
static int
peer_io(sd_event_source *s, int fd, uint32_t revents, void *arg)
{
	struct peer *p = arg;
	struct hub *h = p->hub;
	struct ctx *c = h->ctx;
	unsigned char buf[SB_MSG_MAX];
	struct sb_msg m;
	int i, r;

	if ((revents & EPOLLOUT) && !p->dead && !p->write_broken)
		peer_flush(h, p);
	c->defer = 1;
	for (i = 0; i < HUB_RECV_BURST && !p->dead &&
	    (revents & (EPOLLIN | EPOLLHUP | EPOLLERR)); i++) {
		int passed = -1;
		ssize_t n = peer_recv(fd, buf, sizeof(buf), &passed);

		if (n < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK ||
			    errno == EINTR)
				break;
			/* Closed with our datagrams unread; read its last ones. */
			if (errno == ECONNRESET)
				continue;
			hub_peer_drop(h, p);
			break;
		}
		if (n == 0) {
			hub_peer_drop(h, p);
			break;
		}
		if ((size_t)n > sizeof(buf) ||
		    (r = sb_msg_decode(&m, buf, (size_t)n)) < 0) {
			if (passed >= 0)
				close(passed);
			hub_log_peer(SB_EV_PROTOCOL_ERROR, p,
			    &(struct sb_log_fields){ .reason = "bad datagram" },
			    "malformed datagram of %zd bytes from handler "
			    "pid %ld", n, (long)p->pid);
			hub_peer_kill(h, p, "protocol_error", "Internal error");
			break;
		}
		if (m.type == SB_H_TLS_START || m.type == SB_H_TLS_SIGN)
			r = peer_tls(c, p, &m, passed);
		else {
			if (passed >= 0)
				close(passed);
			r = hub_dispatch(h, p, &m);
		}
		if (r < 0) {
			hub_log_peer(SB_EV_PROTOCOL_ERROR, p,
			    &(struct sb_log_fields){ .reason = strerror(-r) },
			    "handler pid %ld broke the contract with %s: %s",
			    (long)p->pid, sb_type_name(m.type), strerror(-r));
			hub_peer_kill(h, p, "protocol_error", "Internal error");
			break;
		}
	}
	burst_flush(c);
	hub_reap(c);
	return 0;
}

/* Is this peer allowed?  root, our own uid, the handler user or group. */
static int
peer_allowed(const struct hub *h, const struct ucred *cr)
{
	return cr->uid == 0 || cr->uid == geteuid() ||
	    (h->handler_uid != (uid_t)-1 && cr->uid == h->handler_uid) ||
	    (h->handler_gid != (gid_t)-1 && cr->gid == h->handler_gid);
}

/*
 * A handler connects: check its credentials (SO_PEERCRED), make its
 * peer, and send it the handler settings (C_CONFIG) first.  One that
 * cannot be served is closed; the hub goes on.
 */
static int
on_accept(sd_event_source *s, int fd, uint32_t revents, void *arg)
{
	struct ctx *c = arg;
	struct hub *h = &c->hub;
	const struct sb_packet *pkt;
	struct ucred cr;
	socklen_t crlen = sizeof(cr);
	struct peer *p;
	int cfd, r;

	cfd = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (cfd < 0) {
		if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED)
			sb_log(LOG_WARNING, "accept: %s", strerror(errno));
		return 0;
	}
	if (getsockopt(cfd, SOL_SOCKET, SO_PEERCRED, &cr, &crlen) < 0 ||
	    !peer_allowed(h, &cr)) {
		sb_log_event(SB_EV_HUB_ERROR, &(struct sb_log_fields){
		    .reason = "peer not allowed" }, "refused hub connection "
		    "from uid %ld gid %ld pid %ld", (long)cr.uid, (long)cr.gid,
		    (long)cr.pid);
		close(cfd);
		return 0;
	}
	if ((p = hub_peer_new(h, cfd)) == NULL) {
		close(cfd);
		return 0;
	}
	p->pid = cr.pid;
	p->uid = cr.uid;
	r = sd_event_add_io(c->event, (sd_event_source **)&p->io, cfd, EPOLLIN,
	    peer_io, p);
	if (r < 0 || (pkt = hub_config_packet(h)) == NULL ||
	    ops_send(h, p, pkt) < 0) {
		hub_peer_drop(h, p);
		hub_reap(c);
	}
	return 0;
}

/* STATUS= for systemd: clients and rooms, when they changed or `force`. */
static void
notify_status(struct ctx *c, int force)
{
	if (!c->notify || (!force && c->last_status == c->hub.clients))
		return;
	c->last_status = c->hub.clients;
	sd_notifyf(0, "STATUS=%u clients, %u rooms", c->hub.clients,
	    c->hub.nrooms);
}

/* Every HUB_STATUS_USEC: the status for systemd, and history expiry. */
static int
on_status_timer(sd_event_source *s, uint64_t usec, void *arg)
{
	struct ctx *c = arg;

	notify_status(c, 0);
	hub_history_expire(&c->hub);
	sd_event_source_set_time(s, usec + HUB_STATUS_USEC);
	return 0;
}

/* Resolve handler_user/handler_group (names or numbers). */
static void
resolve_ids(struct hub *h)
{
	const struct passwd *pw;
	const struct group *gr;
	const char *e;
	long long v;

	h->handler_uid = (uid_t)-1;
	h->handler_gid = (gid_t)-1;
	if (h->cfg.handler_user[0] != '\0') {
		v = strtonum(h->cfg.handler_user, 0, INT32_MAX, &e);
		if (e == NULL)
			h->handler_uid = (uid_t)v;
		else if ((pw = getpwnam(h->cfg.handler_user)) != NULL)
			h->handler_uid = pw->pw_uid;
	}
	if (h->cfg.handler_group[0] != '\0') {
		v = strtonum(h->cfg.handler_group, 0, INT32_MAX, &e);
		if (e == NULL)
			h->handler_gid = (gid_t)v;
		else if ((gr = getgrnam(h->cfg.handler_group)) != NULL)
			h->handler_gid = gr->gr_gid;
	}
}

/*
 * Load the config file into `cfg`.  A missing default file is fine
 * (defaults, and a notice); a file given with -c must exist.  Returns 0,
 * or -EINVAL with the reason (file and line) in `err`, for the caller
 * to log.
 */
static int
load_config(struct ctx *c, struct sb_config *cfg, char *err, size_t errsz)
{
	const char *sd;

	config_defaults(cfg);
	if ((sd = getenv("STATE_DIRECTORY")) != NULL)
		strlcpy(cfg->state_dir, sd, sizeof(cfg->state_dir));
	if (config_load(cfg, c->config_path, err, errsz) < 0) {
		if (!c->config_required && access(c->config_path, F_OK) < 0) {
			sb_log(LOG_NOTICE, "%s not found; using defaults",
			    c->config_path);
			config_defaults(cfg);
			if (sd != NULL)
				strlcpy(cfg->state_dir, sd, sizeof(cfg->state_dir));
			return 0;
		}
		return -EINVAL;
	}
	/* What the hub itself refuses at start, a reload refuses too. */
	return hub_rooms_check(cfg, err, errsz);
}

/* SIGHUP: reload; a failure is logged by reload() and changes nothing. */
static int
on_reload(sd_event_source *s, const struct signalfd_siginfo *si, void *arg)
{
	char err[512];

	reload(&((struct ctx *)arg)->hub, err, sizeof(err));
	return 0;
}

/*
 * (Re)load the member store when the config asks for members.  A file
 * that does not exist is a store with no members (switchboardctl member
 * add creates it; a notice says so).  A file that does not load
 * (permissions, a bad line) leaves the old store in place.  Returns 0,
 * or a negative errno with the reason, naming the file and the line, in
 * `err` for the caller to log.
 */
static int
load_members(struct hub *h, char *err, size_t errsz)
{
	char path[512], why[256];
	struct members *m;
	int r;

	if (h->cfg.auth == AUTH_GUEST) {
		h->members = members_free(h->members);
		return 0;
	}
	if ((r = members_path(path, sizeof(path), h->cfg.state_dir,
	    h->cfg.members_file)) < 0) {
		snprintf(err, errsz, "members_file: path too long");
		return r;
	}
	if ((r = members_load(path, &m, why, sizeof(why))) == -ENOENT) {
		sb_log(LOG_NOTICE, "%s does not exist: no members yet", path);
		m = members_empty();
	} else if (r < 0) {
		snprintf(err, errsz, "members: %s", why);
		return r;
	}
	if (m == NULL) {
		snprintf(err, errsz, "members: out of memory");
		return -ENOMEM;
	}
	members_free(h->members);
	h->members = m;
	return 0;
}

/*
 * Load <state_dir>/bans.json (none: no bans), and drop the bans that
 * ended while the hub was down (a failure to save that is logged here:
 * the hub goes on).  Returns 0, or a negative errno with the reason in
 * `err` for the caller to log.
 */
static int
load_bans(struct hub *h, char *err, size_t errsz)
{
	char warn[768];
	time_t now = time(NULL);
	int r;

	if ((size_t)snprintf(h->bans_path, sizeof(h->bans_path),
	    "%s/bans.json", h->cfg.state_dir) >= sizeof(h->bans_path)) {
		snprintf(err, errsz, "state_dir: path too long for bans.json");
		return -ENAMETOOLONG;
	}
	if ((r = bans_load(&h->bans, h->bans_path, err, errsz)) < 0)
		return r;
	if (bans_expire(&h->bans, now) > 0 &&
	    bans_save(&h->bans, h->bans_path, warn, sizeof(warn)) < 0)
		sb_log(LOG_WARNING, "bans: %s", warn);
	return 0;
}

/* Open the room history in <state_dir>/history; without it, no history. */
static void
open_history(struct hub *h)
{
	char dir[512], err[256];

	if (h->cfg.history == 0)
		return;
	snprintf(dir, sizeof(dir), "%s/history", h->cfg.state_dir);
	if (history_open(dir, h->cfg.history, &h->history, err,
	    sizeof(err)) < 0) {
		h->history = NULL;
		sb_log_event(SB_EV_HUB_ERROR, &(struct sb_log_fields){
		    .reason = err }, "no room history: %s", err);
	}
}

/*
 * Re-read the config file (SIGHUP, switchboardctl reload: the callback
 * of control_listen).  A broken file leaves the old config in place, a
 * member store that does not load the old store.  Logs what it did, once.
 * Returns 0, or a negative errno with the reason (naming the line) in
 * `err`.
 */
static int
reload(struct hub *h, char *err, size_t errsz)
{
	struct ctx *c = h->ctx;
	struct sb_config cfg;
	struct tlskey *tls = NULL;
	int ret, r;

	if (c->notify)
		sd_notify(0, "RELOADING=1");
	if ((ret = load_config(c, &cfg, err, errsz)) < 0 ||
	    (ret = tlskey_load(cfg.tls_cert, cfg.tls_key, &tls, err,
	    errsz)) < 0) {
		sb_log_event(SB_EV_RELOAD, &(struct sb_log_fields){
		    .reason = err }, "reload failed, keeping the old config "
		    "(and certificate): %s", err);
	} else {
		c->hub.cfg = cfg;
		/* New handshakes get the new pair; signatures under way
		 * keep the old key (authpool.c holds a reference). */
		tlskey_unref(c->hub.tls);
		c->hub.tls = tls;
		if ((r = load_members(&c->hub, err, errsz)) < 0) {
			sb_log(LOG_ERR, "%s; keeping the old member store",
			    err);
			ret = r;
		} else
			cluster_members_reloaded(&c->hub);	/* shared */
		if (c->hub.history != NULL)
			history_set_limit(c->hub.history, cfg.history);
		else
			open_history(&c->hub);
		resolve_ids(&c->hub);
		if (hub_rooms_configure(&c->hub) < 0)
			sb_log(LOG_WARNING, "config: out of memory creating "
			    "the rooms");
		hub_config_changed(&c->hub);
		sb_log_event(SB_EV_RELOAD, NULL, "config reloaded from %s",
		    c->config_path);
		hub_reap(c);
	}
	if (c->notify)
		sd_notify(0, "READY=1");
	return ret;
}

/*
 * Bind a listening SOCK_SEQPACKET socket at `path` (started by hand).
 * Returns the fd, or a negative errno (-ENAMETOOLONG: the path does not
 * fit a sockaddr_un).
 */
static int
bind_unix(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct stat st;
	int fd, e;

	if (strlcpy(sa.sun_path, path, sizeof(sa.sun_path)) >=
	    sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	/* A stale socket from a previous run; never remove other files. */
	if (lstat(path, &st) == 0 && S_ISSOCK(st.st_mode))
		unlink(path);
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    listen(fd, SOMAXCONN) < 0) {
		e = errno;
		close(fd);
		return -e;
	}
	return fd;
}

/* bind_unix(), logging a failure with the path.  Returns as bind_unix. */
static int
bind_unix_logged(const char *path)
{
	int fd;

	if ((fd = bind_unix(path)) < 0)
		sb_log(LOG_ERR, "%s: %s", path, strerror(-fd));
	return fd;
}

/*
 * The listening sockets: from systemd (the SOCK_SEQPACKET fds named
 * "hub" and "control"; a single unnamed fd is the hub socket), else bound
 * at the paths given with -s and -C.  Returns 0, or a negative errno,
 * logged here (only here are the sockets and paths known).
 */
static int
open_listeners(const char *path, const char *ctlpath, int *hub_fd,
    int *ctl_fd)
{
	char **names = NULL;
	int n, i;

	*hub_fd = *ctl_fd = -1;
	n = sd_listen_fds_with_names(1, &names);
	if (n < 0) {
		sb_log(LOG_ERR, "sd_listen_fds: %s", strerror(-n));
		return n;
	}
	for (i = 0; i < n; i++) {
		int fd = SD_LISTEN_FDS_START + i;
		const char *name = names != NULL ? names[i] : "";

		if (sd_is_socket(fd, AF_UNIX, SOCK_SEQPACKET, 1) <= 0)
			continue;
		fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
		if (strcmp(name, "control") == 0)
			*ctl_fd = fd;
		else if (*hub_fd < 0 && (strcmp(name, "hub") == 0 || n == 1))
			*hub_fd = fd;
	}
	if (names != NULL) {
		for (i = 0; i < n; i++)
			free(names[i]);
		free(names);
	}
	if (n > 0 && *hub_fd < 0) {
		sb_log(LOG_ERR, "systemd passed %d sockets, none of them a "
		    "listening SOCK_SEQPACKET socket named \"hub\"", n);
		return -ENOTSOCK;
	}
	if (*hub_fd < 0) {
		if (path == NULL) {
			sb_log(LOG_ERR, "no socket from systemd; use -s PATH");
			return -EBADF;
		}
		if ((*hub_fd = bind_unix_logged(path)) < 0)
			return *hub_fd;
	}
	if (*ctl_fd < 0 && ctlpath != NULL &&
	    (*ctl_fd = bind_unix_logged(ctlpath)) < 0)
		return *ctl_fd;
	return 0;
}


/*
 * The hub's state at start: the config, the member store, the history,
 * the bans and the permanent rooms, into c->hub (with a fresh epoch).
 * Fails closed: a hub that ran without its member store would let any
 * guest take a member's nick; without its bans, every banned client
 * would get in.  Returns 0, or a negative errno, logged here (each with
 * what the operator must fix); c->hub is then freed.
 */
static int
start_state(struct ctx *c)
{
	struct sb_config cfg;
	char err[768];
	int r;

	if ((r = load_config(c, &cfg, err, sizeof(err))) < 0) {
		sb_log(LOG_ERR, "config: %s", err);
		return r;
	}
	hub_init(&c->hub, &cfg, cfg.cluster_redis[0] ? &hub_cluster_ops :
	    &hub_ops, c);
	if ((r = tlskey_load(cfg.tls_cert, cfg.tls_key, &c->hub.tls, err,
	    sizeof(err))) < 0) {
		sb_log(LOG_ERR, "config: %s", err);
		hub_free(&c->hub);
		return r;
	}
	TAILQ_INIT(&c->flushq);
	do
		c->hub.epoch = arc4random();
	while (c->hub.epoch == 0);
	resolve_ids(&c->hub);
	if ((r = load_members(&c->hub, err, sizeof(err))) < 0) {
		sb_log_event(SB_EV_HUB_ERROR, &(struct sb_log_fields){
		    .reason = err }, "the member store does not load, not "
		    "starting without it: %s", err);
		tlskey_unref(c->hub.tls);
		hub_free(&c->hub);
		return r;
	}
	open_history(&c->hub);
	if ((r = load_bans(&c->hub, err, sizeof(err))) < 0) {
		sb_log_event(SB_EV_HUB_ERROR, &(struct sb_log_fields){
		    .reason = err }, "the ban list does not load, not "
		    "starting without it: %s; fix or remove the file", err);
		tlskey_unref(c->hub.tls);
		hub_free(&c->hub);
		return r;
	}
	if ((r = hub_rooms_configure(&c->hub)) < 0) {
		sb_log(LOG_ERR, "config: out of memory creating the rooms");
		tlskey_unref(c->hub.tls);
		hub_free(&c->hub);
		return r;
	}
	return 0;
}

/*
 * The event loop's sources: the hub socket, the signals (blocked first,
 * so the password workers started here inherit the mask), the status
 * timer, the watchdog, the workers' eventfd and the control socket
 * (ctl_fd, -1: none).  Returns 0, or a negative errno, logged here.
 */
static int
start_events(struct ctx *c, int ctl_fd)
{
	sd_event_source *timer = NULL;
	sigset_t ss;
	int r;

	sigemptyset(&ss);
	sigaddset(&ss, SIGTERM);
	sigaddset(&ss, SIGINT);
	sigaddset(&ss, SIGHUP);
	sigprocmask(SIG_BLOCK, &ss, NULL);
	if ((r = sd_event_default(&c->event)) < 0 ||
	    (r = sd_event_add_io(c->event, NULL, c->listen_fd, EPOLLIN,
	    on_accept, c)) < 0 ||
	    (r = sd_event_add_signal(c->event, NULL, SIGTERM, NULL, NULL)) < 0 ||
	    (r = sd_event_add_signal(c->event, NULL, SIGINT, NULL, NULL)) < 0 ||
	    (r = sd_event_add_signal(c->event, NULL, SIGHUP, on_reload,
	    c)) < 0 ||
	    (r = sd_event_add_time_relative(c->event, &timer, CLOCK_MONOTONIC,
	    HUB_STATUS_USEC, 0, on_status_timer, c)) < 0 ||
	    (r = sd_event_set_watchdog(c->event, 1)) < 0) {
		sb_log(LOG_ERR, "sd-event: %s", strerror(-r));
		return r;
	}
	sd_event_source_set_enabled(timer, SD_EVENT_ON);
	if (c->hub.cfg.cluster_redis[0] &&
	    (r = cluster_start(&c->hub, c->event)) < 0)
		return r;
	if ((r = authpool_new(&c->pool)) < 0 ||
	    (r = sd_event_add_io(c->event, NULL, authpool_fd(c->pool), EPOLLIN,
	    on_pool, c)) < 0) {
		sb_log(LOG_ERR, "password workers: %s", strerror(-r));
		return r;
	}
	if (ctl_fd >= 0 && (r = control_listen(&c->hub, c->event, ctl_fd,
	    reload)) < 0) {
		sb_log(LOG_ERR, "control socket: %s", strerror(-r));
		return r;
	}
	return 0;
}

/*
 * Run the hub until SIGTERM/SIGINT.  Returns the exit code: 0, 1 when a
 * system call failed at start-up, 2 for a configuration error.
 */
int
hubd_run(const char *config_path, int config_required, const char *sockpath,
    const char *ctlpath)
{
	struct ctx c = { .config_path = config_path,
	    .config_required = config_required, .listen_fd = -1 };
	int ctl_fd, r;

	sb_log_init("switchboard-hub", getenv("JOURNAL_STREAM") != NULL ?
	    SB_LOG_JOURNAL_STREAM : SB_LOG_STDERR);
	c.notify = getenv("NOTIFY_SOCKET") != NULL;
	hub_log_open(getenv("SWITCHBOARD_LOG_STDERR") == NULL);
	signal(SIGPIPE, SIG_IGN);

	if (start_state(&c) < 0)
		return 2;
	if (open_listeners(sockpath, ctlpath, &c.listen_fd, &ctl_fd) < 0 ||
	    start_events(&c, ctl_fd) < 0)
		return 1;
	sb_log_event(SB_EV_START, &(struct sb_log_fields){ .reason = "start" },
	    "switchboard-hub started, epoch %lu, max %u clients",
	    (unsigned long)c.hub.epoch, c.hub.cfg.max_clients);
	if (c.notify) {
		sd_notify(0, "READY=1");
		notify_status(&c, 1);
	}
	r = sd_event_loop(c.event);
	if (c.notify)
		sd_notify(0, "STOPPING=1");
	sb_log_event(SB_EV_STOP, NULL, "switchboard-hub stopping");
	c.pool = authpool_free(c.pool);
	tlskey_unref(c.hub.tls);
	cluster_stop(&c.hub);
	hub_free(&c.hub);
	sd_event_unref(c.event);
	return r < 0 ? 1 : 0;
}
