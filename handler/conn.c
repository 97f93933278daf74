/* SPDX-License-Identifier: ISC */
/*
 * The handler's I/O: the client's and the hub's file descriptors, the
 * bounded buffers between them, deadlines, and the poll loop (conn_run).
 */
#include <arpa/inet.h>
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include <bsd/string.h>

#include "handler.h"

/* The connection's buffers, once the hub's settings are known. */
void
conn_buffers_init(struct conn *c)
{
	buf_init_fixed(&c->in, HTTP_HEAD_MAX + 1, handler_store.in,
	    sizeof(handler_store.in));
	buf_init_fixed(&c->out, c->cfg.outq_max, handler_store.out,
	    sizeof(handler_store.out));
	buf_init_fixed(&c->hubq, HANDLER_HUBQ_MAX, handler_store.hubq,
	    sizeof(handler_store.hubq));
	buf_init(&c->held, HANDLER_HELD_MAX);
}

/*
 * The loop waits with epoll: the set of descriptors rarely changes, so a
 * wake-up costs no registration (poll() adds and removes a wait-queue
 * entry per descriptor per call).  One registration per slot; `gen`
 * tells a new hub socket that got the number of a closed one.
 */
enum { W_IN, W_OUT, W_HUB, W_N };
static struct watch {
	int		fd;
	unsigned	gen;
	uint32_t	events;		/* 0: not registered */
} watches[W_N] = { { -1, 0, 0 }, { -1, 0, 0 }, { -1, 0, 0 } };
static int epfd = -1;

/* The packet to build a message for the hub in (conn_hub_send copies it). */
struct sb_packet *
conn_tx(void)
{
	return &handler_store.hub_tx;
}

uint64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/*
 * Queue bytes for the client.  A client that lets more than outq_max
 * bytes pile up is not reading: it is dropped (slow reader), so it never
 * makes the hub or the others wait.  Returns 0 or -1 (dropped).
 */
int
conn_write(struct conn *c, const void *p, size_t len)
{
	if (c->write_shut)
		return -1;
	if (buf_append(&c->out, p, len) < 0) {
		buf_reset(&c->out);
		conn_event(c, "slow_reader", "%zu bytes queued for the client",
		    c->out.max);
		conn_hub_pack(c, SB_H_QUIT, "Slow reader: output queue full",
		    NULL);
		conn_finish(c);
		return -1;
	}
	return 0;
}

/*
 * Send one datagram to the hub: 1 sent, 0 the socket is full, -1 the hub
 * closed.  What it sent before closing (a C_CLOSE for this client, say)
 * is still to be read: hub_read() gets it, then the end of the stream.
 */
static int
hub_send_one(struct conn *c, const void *p, size_t n)
{
	if (c->hub_broken)
		return -1;
	if (send(c->hub_fd, p, n, MSG_DONTWAIT | MSG_NOSIGNAL) >= 0)
		return 1;
	if (errno == EAGAIN || errno == EWOULDBLOCK)
		return 0;
	c->hub_broken = 1;
	return -1;
}

/* Try to send the datagrams queued for the hub. */
static void
hub_flush(struct conn *c)
{
	while (c->hubq.len >= 4 && c->hub_fd >= 0) {
		uint32_t n;

		memcpy(&n, buf_head(&c->hubq), 4);
		if (hub_send_one(c, buf_head(&c->hubq) + 4, n) <= 0)
			return;
		buf_consume(&c->hubq, 4 + n);
	}
	if (buf_shrink(&c->hubq, HANDLER_BUF_KEEP))
		c->trim = 1;
}

/*
 * Send a datagram to the hub, queueing it while the socket is full (or
 * the hub away, see conn_hub_reconnect()).  With nothing queued it goes
 * out at once, without a copy into the queue.  Returns 0, or -1 when the
 * hub is away or the queue is full.
 */
int
conn_hub_send(struct conn *c, const struct sb_packet *p)
{
	uint32_t n = (uint32_t)p->len;

	if (c->hub_fd < 0 && !c->reconnecting)
		return -1;
	if (c->hubq.len == 0 && c->hub_fd >= 0 &&
	    hub_send_one(c, p->buf, p->len) > 0)
		return 0;
	if (c->reconnecting && c->hubq.len + 4 + p->len > c->cfg.backlog_max)
		return -1;
	if (buf_append(&c->hubq, &n, 4) < 0)
		return -1;
	if (buf_append(&c->hubq, p->buf, p->len) < 0) {
		c->hubq.len -= 4;
		return -1;
	}
	hub_flush(c);
	return 0;
}

/* Pack a message from a NULL-terminated field list and send it. */
int
conn_hub_pack(struct conn *c, enum sb_type type, ...)
{
	const char *f[SB_FIELDS_MAX], *v;
	struct sb_packet *p = &handler_store.hub_tx;
	size_t n = 0;
	va_list ap;

	va_start(ap, type);
	while ((v = va_arg(ap, const char *)) != NULL && n < SB_FIELDS_MAX)
		f[n++] = v;
	va_end(ap);
	if (sb_msg_encode(p, type, c->session, 0, 0, f, n) < 0)
		return -1;
	return conn_hub_send(c, p);
}

/* Tell the hub what this connection is, once. */
void
conn_hello(struct conn *c, const char *transport)
{
	char v[8];

	if (c->hello_sent)
		return;
	c->hello_sent = 1;
	c->transport = transport;
	snprintf(v, sizeof(v), "%d", SB_PROTO_VERSION);
	conn_hub_pack(c, SB_H_HELLO, v, transport, c->remote, NULL);
}

/*
 * Ask the hub to log an event for this connection (the hub writes the
 * journal); without a hub, the line goes to stderr.
 */
void
conn_event(struct conn *c, const char *event, const char *fmt, ...)
{
	char detail[SB_REASON_MAX + 1];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(detail, sizeof(detail), fmt, ap);
	va_end(ap);
	if (c->hub_fd < 0 || !c->hello_sent ||
	    conn_hub_pack(c, SB_H_EVENT, event, detail, NULL) < 0) {
		char esc[sizeof(detail) * 4];

		sb_log_escape(esc, sizeof(esc), detail);
		sb_log(LOG_INFO, "%s from %s: %s", event, c->remote, esc);
	}
}

/* No more input is wanted: flush what is queued, then exit. */
void
conn_finish(struct conn *c)
{
	if (c->done)
		return;
	c->done = 1;
	c->mode = MODE_CLOSING;
	c->deadline_ms = now_ms() + HANDLER_LINGER_MS;
}

void
conn_remote_init(struct conn *c)
{
	const char *a = getenv("REMOTE_ADDR"), *p = getenv("REMOTE_PORT");
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	char host[INET6_ADDRSTRLEN];

	if (a != NULL && *a != '\0') {
		snprintf(c->remote, sizeof(c->remote), strchr(a, ':') ?
		    "[%s]:%s" : "%s:%s", a, p ? p : "0");
		return;
	}
	strlcpy(c->remote, "local", sizeof(c->remote));
	if (getpeername(c->in_fd, (struct sockaddr *)&ss, &sl) < 0)
		return;
	if (ss.ss_family == AF_INET) {
		const struct sockaddr_in *s4 = (const struct sockaddr_in *)&ss;

		inet_ntop(AF_INET, &s4->sin_addr, host, sizeof(host));
		snprintf(c->remote, sizeof(c->remote), "%s:%u", host,
		    ntohs(s4->sin_port));
	} else if (ss.ss_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)&ss;

		inet_ntop(AF_INET6, &s6->sin6_addr, host, sizeof(host));
		snprintf(c->remote, sizeof(c->remote), "[%s]:%u", host,
		    ntohs(s6->sin6_port));
	}
}

/*
 * Connect to the hub and wait (bounded) for its C_CONFIG.  On failure the
 * reason is kept in hub_error and the connection is answered with a
 * "service unavailable" of its own kind.
 */
int
conn_hub_connect(struct conn *c, int quiet)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	unsigned char *dgram = handler_store.rx;
	struct pollfd pfd;
	struct sb_msg m;
	char err[256];
	uint64_t until;
	ssize_t n;

	if (strlcpy(sa.sun_path, c->hub_path, sizeof(sa.sun_path)) >=
	    sizeof(sa.sun_path)) {
		snprintf(c->hub_error, sizeof(c->hub_error), "hub socket path "
		    "too long");
		goto fail;
	}
	c->hub_fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	c->hub_gen++;
	if (c->hub_fd < 0 ||
	    connect(c->hub_fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		snprintf(c->hub_error, sizeof(c->hub_error), "cannot reach the "
		    "hub at %s: %s", c->hub_path, strerror(errno));
		goto fail;
	}
	until = now_ms() + HANDLER_CONFIG_WAIT_MS;
	for (;;) {
		uint64_t now = now_ms();

		pfd = (struct pollfd){ .fd = c->hub_fd, .events = POLLIN };
		if (now >= until || poll(&pfd, 1, (int)(until - now)) == 0) {
			snprintf(c->hub_error, sizeof(c->hub_error), "the hub "
			    "at %s did not send its settings", c->hub_path);
			goto fail;
		}
		n = recv(c->hub_fd, dgram, SB_MSG_MAX, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0 || sb_msg_decode(&m, dgram, (size_t)n) < 0 ||
		    m.type != SB_C_CONFIG) {
			snprintf(c->hub_error, sizeof(c->hub_error), "the hub "
			    "at %s closed or sent no settings", c->hub_path);
			goto fail;
		}
		break;
	}
	if (config_apply_msg(&c->cfg, &m, err, sizeof(err)) < 0) {
		snprintf(c->hub_error, sizeof(c->hub_error), "bad settings "
		    "from the hub: %s", err);
		goto fail;
	}
	c->have_config = 1;
	/* The socket stays blocking: every call on it from now on passes
	 * MSG_DONTWAIT (one fcntl pair less per connection). */
	return 0;
fail:
	if (!quiet)
		sb_log(LOG_ERR, "%s", c->hub_error);
	if (c->hub_fd >= 0)
		close(c->hub_fd);
	c->hub_fd = -1;
	return -1;
}

/*
 * After the hub went away: connect to the new one and re-register this
 * session (H_HELLO, then H_RESUME with the nick and rooms), ahead of the
 * messages the client sent in the gap, which were kept in `hubq`.
 * Returns 0, or -1 when the hub is not back yet.
 */
int
conn_hub_reconnect(struct conn *c)
{
	char ver[8], rooms[HANDLER_ROOMS_MAX * (SB_ROOM_MAX + 1) + 1];
	struct buf q, backlog = c->hubq;
	struct sb_packet *p = &handler_store.hub_tx;
	const char *f[4];
	unsigned i;

	if (conn_hub_connect(c, 1) < 0)
		return -1;
	c->hub_broken = 0;
	buf_init(&q, HANDLER_HUBQ_MAX);
	c->hubq = q;
	snprintf(ver, sizeof(ver), "%d", SB_PROTO_VERSION);
	f[0] = ver;
	f[1] = c->transport;
	f[2] = c->remote;
	/* The epoch of the hub we lost: the new one refuses to resume a
	 * session that hub ended on purpose (route.c, on_hello). */
	if (sb_msg_encode(p, SB_H_HELLO, 0, c->epoch, 0, f, 3) == 0)
		conn_hub_send(c, p);
	if (c->nick[0] != '\0') {
		rooms[0] = '\0';
		for (i = 0; i < c->nrooms; i++) {
			if (i > 0)
				strlcat(rooms, " ", sizeof(rooms));
			strlcat(rooms, c->rooms[i], sizeof(rooms));
		}
		f[0] = c->nick;
		f[1] = rooms;
		f[2] = c->alias;
		f[3] = c->member;
		if (sb_msg_encode(p, SB_H_RESUME, 0, 0, 0, f, 4) == 0)
			conn_hub_send(c, p);
	}
	/* The backlog follows, in the order the client sent it. */
	if (backlog.len > 0)
		buf_append(&c->hubq, buf_head(&backlog), backlog.len);
	buf_free(&backlog);	/* empty now, in its own storage */
	hub_flush(c);
	if (c->hubq.len == 0) {	/* all taken: back to that storage */
		buf_free(&c->hubq);
		c->hubq = backlog;
	}
	sb_log(LOG_NOTICE, "reconnected to the hub for %s%s",
	    c->nick[0] ? c->nick : c->remote, c->nick[0] ? "" : "");
	return 0;
}

/*
 * One datagram from the hub.  Returns 0 to go on, -1 when the hub is
 * gone (or sent something malformed) and the rest must be dropped.
 */
int
conn_hub_datagram(struct conn *c, const unsigned char *dgram, size_t n)
{
	struct sb_msg m;

	if (n == 0) {
		session_hub_lost(c);
		return -1;
	}
	if (n > SB_MSG_MAX || sb_msg_decode(&m, dgram, n) < 0) {
		/* The hub is trusted: a bad datagram is a bug. */
		sb_log(LOG_ERR, "malformed datagram from the hub (%zu bytes)",
		    n);
		session_hub_lost(c);
		return -1;
	}
	if (m.type == SB_C_CONFIG) {
		char err[256];

		if (config_apply_msg(&c->cfg, &m, err, sizeof(err)) < 0)
			sb_log(LOG_ERR, "bad settings from the hub: %s", err);
		return 0;
	}
	session_hub_message(c, &m);
	return c->hub_fd >= 0 ? 0 : -1;
}

/*
 * Read every datagram the hub has for us, two per system call: fewer
 * than two means the queue is empty, with no EAGAIN call to learn it.
 */
static void
hub_read(struct conn *c)
{
	unsigned char *buf[2] = { handler_store.rx, handler_store.rx2 };
	struct iovec iov[2];
	struct mmsghdr mm[2];
	int i, k, got;

	c->busy_ms = c->clock_ms;
	for (i = 0; i < 32 && c->hub_fd >= 0; i++) {
		for (k = 0; k < 2; k++) {
			iov[k] = (struct iovec){ buf[k], SB_MSG_MAX };
			mm[k] = (struct mmsghdr){ .msg_hdr = {
			    .msg_iov = &iov[k], .msg_iovlen = 1 } };
		}
		got = recvmmsg(c->hub_fd, mm, 2, MSG_DONTWAIT | MSG_TRUNC,
		    NULL);
		if (got < 0 && (errno == EAGAIN || errno == EWOULDBLOCK ||
		    errno == EINTR))
			return;
		/*
		 * The hub closed while our datagrams were unread: the error
		 * comes first, but what it sent before (a C_CLOSE) is still
		 * queued behind it.
		 */
		if (got < 0 && errno == ECONNRESET) {
			c->hub_broken = 1;
			continue;
		}
		if (got <= 0) {
			session_hub_lost(c);
			return;
		}
		for (k = 0; k < got; k++)
			if (conn_hub_datagram(c, buf[k], mm[k].msg_len) < 0)
				return;
		if (got < 2)
			return;
	}
}

/*
 * Bytes the client sent (one read), handed to the session as the input
 * buffer has room; the parsers consume what they understand, so a read
 * holding many small messages fits.
 */
void
conn_client_bytes(struct conn *c, const unsigned char *p, size_t n)
{
	size_t off;

	c->last_rx_ms = c->busy_ms = c->clock_ms;
	c->ping_sent_ms = 0;
	if (c->mode == MODE_CLOSING)
		return;		/* lingering: input is drained, not read */
	for (off = 0; off < n && !c->done; ) {
		size_t take = n - off, room = c->in.max - c->in.len;

		if (c->mode == MODE_WEBSOCKET) {
			session_ws_feed(c, p + off, take);
			return;
		}
		if (room == 0) {
			/* Only reachable when a parser did not refuse in time. */
			serve_error(c, 431, "Request too large");
			return;
		}
		if (take > room)
			take = room;
		buf_append(&c->in, p + off, take);
		off += take;
		session_client_bytes(c);
	}
}

static void
client_read(struct conn *c)
{
	ssize_t n;

	n = read(c->in_fd, handler_store.rx, HANDLER_READ_CHUNK);
	if (n < 0) {
		if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
			return;
		c->client_eof = 1;
	} else if (n == 0)
		c->client_eof = 1;
	if (c->client_eof) {
		session_client_eof(c);
		return;
	}
	conn_client_bytes(c, handler_store.rx, (size_t)n);
}

static void
client_flush(struct conn *c)
{
	ssize_t n;

	while (c->out.len > 0) {
		n = write(c->out_fd, buf_head(&c->out), c->out.len);
		if (n < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return;
			if (errno == EINTR)
				continue;
			buf_reset(&c->out);
			c->client_eof = 1;
			session_client_eof(c);
			return;
		}
		buf_consume(&c->out, (size_t)n);
	}
	if (buf_shrink(&c->out, HANDLER_BUF_KEEP))
		c->trim = 1;
}


/*
 * Register what the loop waits for on slot `w`: `events` on `fd` (0:
 * nothing).  Returns 0 or -1 (errno from epoll_ctl).
 */
static int
watch(int w, int fd, unsigned gen, uint32_t events)
{
	struct watch *x = &watches[w];
	struct epoll_event ev = { .events = events, .data.u32 = (uint32_t)w };
	int same = x->events != 0 && x->fd == fd && x->gen == gen;

	if (same && x->events == events)
		return 0;
	if (x->events != 0 && !same)
		/* Gone already if it was closed; then this fails, harmlessly. */
		epoll_ctl(epfd, EPOLL_CTL_DEL, x->fd, NULL);
	x->events = 0;
	if (events == 0)
		return same ? epoll_ctl(epfd, EPOLL_CTL_DEL, fd, NULL) : 0;
	if (epoll_ctl(epfd, same ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, fd, &ev) < 0)
		return -1;
	*x = (struct watch){ fd, gen, events };
	return 0;
}

/*
 * Serve the connection until it ends.  Returns 0, or 1 when a system
 * call failed.
 */
int
conn_run(struct conn *c)
{
	if ((epfd = epoll_create1(EPOLL_CLOEXEC)) < 0) {
		sb_log(LOG_ERR, "epoll_create1: %s", strerror(errno));
		conn_free(c);
		return 1;
	}
	c->clock_ms = now_ms();
	for (;;) {
		struct epoll_event ev[W_N];
		uint32_t want[W_N] = { 0 }, got[W_N] = { 0 };
		int i, n, w, timeout = -1;
		uint64_t now = c->clock_ms;

		/* Deadlines first: they may change the set of fds to poll. */
		session_tick(c, now);
		/*
		 * After a burst (a long member list rendered, a big queue
		 * drained) give the freed pages back: thousands of idle
		 * handlers would each keep their peak heap otherwise.
		 */
		if (c->trim || (c->busy_ms != 0 &&
		    now >= c->busy_ms + HANDLER_IDLE_TRIM_MS)) {
#ifdef __GLIBC__
			malloc_trim(0);	/* musl's free() needs no trim */
#endif
			/* The static buffers too (store.h). */
			store_idle();
			buf_idle(&c->in);
			buf_idle(&c->out);
			buf_idle(&c->hubq);
			session_trim();
			c->trim = 0;
			c->busy_ms = 0;
		}
		if (c->done) {
			if (now >= c->deadline_ms ||
			    (c->out.len == 0 && c->client_eof))
				break;
			if (c->out.len == 0 && !c->write_shut) {
				shutdown(c->out_fd, SHUT_WR);
				c->write_shut = 1;
			}
		}
		/*
		 * Flow control: while the hub has not taken half of what
		 * waits for it, the client's input waits in the kernel, and
		 * TCP slows the client down.
		 */
		if (!c->client_eof && !(c->hub_fd >= 0 && !c->hub_broken &&
		    c->hubq.len > HANDLER_HUBQ_MAX / 2))
			want[W_IN] = EPOLLIN;
		if (c->out.len > 0 && !c->client_eof) {
			if (c->out_fd == c->in_fd)
				want[W_IN] |= EPOLLOUT;
			else
				want[W_OUT] = EPOLLOUT;
		}
		if (c->hub_fd >= 0)
			want[W_HUB] = EPOLLIN |
			    (c->hubq.len && !c->hub_broken ? EPOLLOUT : 0);
		if (want[W_IN] == 0 && want[W_OUT] == 0 && want[W_HUB] == 0)
			break;
		if (watch(W_IN, c->in_fd, 0, want[W_IN]) < 0 ||
		    watch(W_OUT, c->out_fd, 0, want[W_OUT]) < 0 ||
		    watch(W_HUB, c->hub_fd, c->hub_gen, want[W_HUB]) < 0) {
			sb_log(LOG_ERR, "epoll_ctl: %s", strerror(errno));
			conn_free(c);
			return 1;
		}
		if (c->deadline_ms != 0)
			timeout = c->deadline_ms > now ?
			    (int)(c->deadline_ms - now) : 0;
		if (c->busy_ms != 0) {
			uint64_t at = c->busy_ms + HANDLER_IDLE_TRIM_MS;
			int r = at > now ? (int)(at - now) : 0;

			if (timeout < 0 || r < timeout)
				timeout = r;
		}
		if (c->reconnecting) {
			int r = c->reconnect_at_ms > now ?
			    (int)(c->reconnect_at_ms - now) : 0;

			if (timeout < 0 || r < timeout)
				timeout = r;
		}
		n = epoll_wait(epfd, ev, W_N, timeout);
		c->clock_ms = now_ms();
		if (n < 0) {
			if (errno == EINTR)
				continue;
			sb_log(LOG_ERR, "epoll_wait: %s", strerror(errno));
			conn_free(c);
			return 1;
		}
		for (i = 0; i < n; i++)
			got[ev[i].data.u32] = ev[i].events;
		/* The client's output, on its own fd or on the input's. */
		w = c->out_fd == c->in_fd ? W_IN : W_OUT;
		if (got[W_HUB] & EPOLLOUT)
			hub_flush(c);
		if (got[W_HUB] & (EPOLLIN | EPOLLHUP | EPOLLERR))
			hub_read(c);
		if ((want[w] & EPOLLOUT) && (got[w] & (EPOLLOUT | EPOLLERR)))
			client_flush(c);
		if ((want[W_IN] & EPOLLIN) && !c->client_eof &&
		    (got[W_IN] & (EPOLLIN | EPOLLHUP | EPOLLERR)))
			client_read(c);
		if (c->out.len > 0 && !c->client_eof)
			client_flush(c);
	}
	if (c->hub_fd >= 0)
		hub_flush(c);
	conn_free(c);
	return 0;
}

/* Release what the connection holds (so LeakSanitizer sees no leak). */
void
conn_free(struct conn *c)
{
	if (c->ws_active)
		ws_conn_free(&c->ws);
	if (c->dialect_set)
		dialect_free(&c->dialect);
	buf_free(&c->in);
	buf_free(&c->out);
	buf_free(&c->hubq);
	buf_free(&c->held);
	if (c->hub_fd >= 0)
		close(c->hub_fd);
	c->hub_fd = -1;
}
