/* SPDX-License-Identifier: ISC */
/*
 * The hub link: everything about the hub's socket.  Connecting and
 * waiting for the hub's settings (C_CONFIG); the queue of datagrams the
 * socket has not taken yet; H_HELLO; receiving, with the settings, the
 * session id (C_WELCOME) and the sequence check kept here; and after the
 * hub went away, reconnecting with backoff, H_HELLO and H_RESUME ahead of
 * what the client sent meanwhile, or giving up after HANDLER_RECONNECT_MS.
 *
 * What the hub's messages mean for the client, and whether a session
 * waits for a new hub at all, is the session's (modes.c, chat.c): this
 * file calls nothing above it.  A later message type (a TLS key signed by
 * another process, say) is one more case for whoever asked for it: this
 * file hands every message that is not its own up to the loop.
 */
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include <bsd/string.h>

#include "handler.h"

/* The hub link starts without a socket; `path` is where the hub listens. */
void
hublink_init(struct conn *c, const char *path)
{
	c->hub.path = path;
	c->hub.fd = -1;
	buf_init_fixed(&c->hub.q, HANDLER_HUBQ_MAX, handler_store.hubq,
	    sizeof(handler_store.hubq));
}

/* The packet to build a message for the hub in (hublink_send copies it). */
struct sb_packet *
hublink_tx(void)
{
	return &handler_store.hub_tx;
}

/* Close the socket; datagrams taken but not handed out go with it. */
static void
hub_close(struct conn *c)
{
	if (c->hub.fd >= 0)
		close(c->hub.fd);
	c->hub.fd = -1;
	c->hub.rx_got = c->hub.rx_next = c->hub.rx_batches = 0;
}

/*
 * Wait (bounded: `ms`) for the hub's next datagram of type `want`, read
 * straight from the socket into the store's receive buffer (*m points
 * into it until the next receive).  Settings (C_CONFIG) that come first
 * are applied.  For the start (C_CONFIG) and a --tls handler's exchanges
 * before H_HELLO (tls.c), when the hub sends nothing else.  Returns 0,
 * or a negative errno with the reason in hub.error.
 */
int
hublink_await(struct conn *c, enum sb_type want, struct sb_msg *m,
    unsigned ms)
{
	uint64_t until = now_ms() + ms;
	struct pollfd pfd;
	char err[256];
	ssize_t n;

	for (;;) {
		uint64_t now = now_ms();

		pfd = (struct pollfd){ .fd = c->hub.fd, .events = POLLIN };
		if (now >= until || poll(&pfd, 1, (int)(until - now)) == 0) {
			snprintf(c->hub.error, sizeof(c->hub.error), "the hub "
			    "at %s did not send %s", c->hub.path,
			    sb_type_name(want));
			return -ETIMEDOUT;
		}
		n = recv(c->hub.fd, handler_store.rx, SB_MSG_MAX, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0 || sb_msg_decode(m, handler_store.rx,
		    (size_t)n) < 0 || (m->type != want &&
		    m->type != SB_C_CONFIG)) {
			snprintf(c->hub.error, sizeof(c->hub.error), "the hub "
			    "at %s closed or sent no %s", c->hub.path,
			    sb_type_name(want));
			return -EPROTO;
		}
		if (m->type == want)
			return 0;
		if (config_apply_msg(&c->cfg, m, err, sizeof(err)) < 0) {
			snprintf(c->hub.error, sizeof(c->hub.error), "bad "
			    "settings from the hub: %s", err);
			return -EINVAL;
		}
	}
}

/*
 * Send `p` now, with the descriptor `fd` passed along (SCM_RIGHTS), on
 * the socket that is still blocking at this point (H_TLS_START, before
 * anything is queued).  Returns 0, or a negative errno.
 */
int
hublink_send_fd(struct conn *c, const struct sb_packet *p, int fd)
{
	union {
		struct cmsghdr	h;
		char		b[CMSG_SPACE(sizeof(int))];
	} u;
	struct iovec iov = { .iov_base = (void *)(uintptr_t)p->buf,
	    .iov_len = p->len };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1,
	    .msg_control = u.b, .msg_controllen = sizeof(u.b) };
	struct cmsghdr *cm;

	if (c->hub.fd < 0)
		return -ENOTCONN;
	memset(&u, 0, sizeof(u));
	cm = CMSG_FIRSTHDR(&mh);
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cm), &fd, sizeof(int));
	return sendmsg(c->hub.fd, &mh, MSG_NOSIGNAL) < 0 ? -errno : 0;
}

/* The hub's first datagram is its settings: apply them. */
static int
hub_config_wait(struct conn *c)
{
	struct sb_msg m;
	char err[256];
	int r;

	if ((r = hublink_await(c, SB_C_CONFIG, &m,
	    HANDLER_CONFIG_WAIT_MS)) < 0)
		return r;
	if (config_apply_msg(&c->cfg, &m, err, sizeof(err)) < 0) {
		snprintf(c->hub.error, sizeof(c->hub.error), "bad settings "
		    "from the hub: %s", err);
		return -EINVAL;
	}
	return 0;
}

/*
 * Connect to the hub and wait (bounded) for its C_CONFIG.  Returns 0, or
 * a negative errno with the reason in hub.error, for the caller to log;
 * the socket is then closed.
 */
int
hublink_connect(struct conn *c)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int r;

	if (strlcpy(sa.sun_path, c->hub.path, sizeof(sa.sun_path)) >=
	    sizeof(sa.sun_path)) {
		snprintf(c->hub.error, sizeof(c->hub.error), "hub socket path "
		    "too long");
		return -ENAMETOOLONG;
	}
	c->hub.fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	c->hub.gen++;
	if (c->hub.fd < 0 ||
	    connect(c->hub.fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		r = -errno;
		snprintf(c->hub.error, sizeof(c->hub.error), "cannot reach the "
		    "hub at %s: %s", c->hub.path, strerror(errno));
		hub_close(c);
		return r;
	}
	if ((r = hub_config_wait(c)) < 0) {
		hub_close(c);
		return r;
	}
	/* The socket stays blocking: every call on it from now on passes
	 * MSG_DONTWAIT (one fcntl pair less per connection). */
	return 0;
}

/*
 * Send one datagram: 1 sent, 0 the socket is full, -EPIPE the hub closed.
 * What it sent before closing (a C_CLOSE for this client, say) is still
 * to be read: hublink_receive() gets it, then the end of the stream.
 */
static int
hub_send_one(struct conn *c, const void *p, size_t n)
{
	if (c->hub.broken)
		return -EPIPE;
	if (send(c->hub.fd, p, n, MSG_DONTWAIT | MSG_NOSIGNAL) >= 0)
		return 1;
	if (errno == EAGAIN || errno == EWOULDBLOCK)
		return 0;
	c->hub.broken = 1;
	return -EPIPE;
}

/* Send the queued datagrams, as far as the socket takes them now. */
void
hublink_flush(struct conn *c)
{
	while (c->hub.q.len >= 4 && c->hub.fd >= 0) {
		uint32_t n;

		memcpy(&n, buf_head(&c->hub.q), 4);
		if (hub_send_one(c, buf_head(&c->hub.q) + 4, n) <= 0)
			return;
		buf_consume(&c->hub.q, 4 + n);
	}
	if (buf_shrink(&c->hub.q, HANDLER_BUF_KEEP))
		c->trim = 1;
}

/*
 * Send a datagram to the hub, queueing it while the socket is full, or
 * while the hub is away and a new one is awaited (the backlog, bounded by
 * backlog_max).  With nothing queued it goes out at once, without a copy.
 * Returns 0; -ENOTCONN when the hub is away for good; -ENOBUFS when the
 * queue (or the backlog) is full.
 */
int
hublink_send(struct conn *c, const struct sb_packet *p)
{
	uint32_t n = (uint32_t)p->len;
	int r;

	if (c->hub.fd < 0 && !c->hub.reconnecting)
		return -ENOTCONN;
	if (c->hub.q.len == 0 && c->hub.fd >= 0 &&
	    hub_send_one(c, p->buf, p->len) > 0)
		return 0;
	if (c->hub.reconnecting &&
	    c->hub.q.len + 4 + p->len > c->cfg.backlog_max)
		return -ENOBUFS;
	if ((r = buf_append(&c->hub.q, &n, 4)) < 0)
		return r;
	if ((r = buf_append(&c->hub.q, p->buf, p->len)) < 0) {
		c->hub.q.len -= 4;
		return r;
	}
	hublink_flush(c);
	return 0;
}

/* Send what was packed in hublink_tx(), unless packing failed (< 0). */
static int
hublink_send_packed(struct conn *c, int packed)
{
	if (packed < 0)
		return packed;
	return hublink_send(c, hublink_tx());
}

/*
 * Pack a message for the hub from a NULL-terminated field list, with the
 * shared packer (sb_msg_vpack), and send it.  Returns 0, or the negative
 * errno of either: a field too many (-E2BIG), a field count or a field
 * the type does not take (-EINVAL, -EMSGSIZE), the hub away or its queue
 * full (hublink_send).
 */
int
hublink_pack(struct conn *c, enum sb_type type, ...)
{
	va_list ap;
	int r;

	va_start(ap, type);
	r = sb_msg_vpack(hublink_tx(), type, c->hub.session, ap);
	va_end(ap);
	return hublink_send_packed(c, r);
}

/* H_HELLO, in hublink_tx(); `epoch` is the hub's we lost, or 0. */
static int
hub_pack_hello(struct conn *c, uint32_t epoch)
{
	char v[8];
	int r;

	snprintf(v, sizeof(v), "%d", SB_PROTO_VERSION);
	r = sb_msg_pack(hublink_tx(), SB_H_HELLO, 0, v,
	    c->hub.transport != NULL ? c->hub.transport : "", c->remote, NULL);
	if (r == 0)
		sb_packet_stamp(hublink_tx(), epoch, 0);
	return r;
}

/*
 * Tell the hub what this connection is (`transport`: "xmlsocket",
 * "websocket", "http"...), once.  It counts as told even when the hub is
 * away: a later reconnect says it again.
 */
void
hublink_hello(struct conn *c, const char *transport)
{
	if (c->hub.hello_sent)
		return;
	c->hub.hello_sent = 1;
	c->hub.transport = transport;
	/* Without a hub this fails, and the session answers for it. */
	(void)hublink_send_packed(c, hub_pack_hello(c, 0));
}

/*
 * Tell the hub the client is leaving (H_QUIT with `reason`, and its
 * `cause` for the metrics: closed, timeout, slow_reader, error), if the
 * hub was told of it at all.  If the hub is away there is no one to tell.
 */
void
hublink_quit(struct conn *c, const char *reason, const char *cause)
{
	if (c->hub.hello_sent)
		(void)hublink_pack(c, SB_H_QUIT, reason, cause, NULL);
}

/*
 * An event for the hub to log, with `failure` (NULL: none) when it is
 * why a connection was refused before a session (hublink_failed).
 */
static void
event_send(struct conn *c, const char *event, const char *failure,
    const char *fmt, va_list ap)
{
	char detail[SB_REASON_MAX + 1];

	vsnprintf(detail, sizeof(detail), fmt, ap);
	if (c->hub.fd < 0 || !c->hub.hello_sent ||
	    hublink_pack(c, SB_H_EVENT, event, detail, failure, NULL) < 0) {
		char esc[sizeof(detail) * 4];

		sb_log_escape(esc, sizeof(esc), detail);
		sb_log(LOG_INFO, "%s from %s: %s", event, c->remote, esc);
	}
}

/*
 * Ask the hub to log an event for this connection (the hub writes the
 * journal); without a hub, the line goes to stderr.
 */
void
hublink_event(struct conn *c, const char *event, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	event_send(c, event, NULL, fmt, ap);
	va_end(ap);
}

/*
 * The same for a connection refused before it became a session, and
 * why (`failure`: the HTTP status answered, or "timeout"): the hub
 * counts it (docs/metrics.md, handshake failures) as well as logs it.
 */
void
hublink_failed(struct conn *c, const char *failure, const char *event,
    const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	event_send(c, event, failure, fmt, ap);
	va_end(ap);
}

/*
 * Every datagram from the hub carries its epoch and the next number of
 * this session's sequence: a number skipped is a message lost, which the
 * hub never does while both sides live (docs/delivery.md).  Log it, and
 * return how many were lost, for the client's own numbering to skip too.
 */
static uint64_t
hub_sequence(struct conn *c, const struct sb_msg *m)
{
	uint64_t lost = 0;

	if (m->epoch == 0)
		return 0;
	if (m->epoch == c->hub.epoch && m->seq != c->hub.seq + 1) {
		sb_log(LOG_WARNING, "hub epoch %lu: sequence %llu after %llu "
		    "(%s)", (unsigned long)m->epoch, (unsigned long long)m->seq,
		    (unsigned long long)c->hub.seq, m->seq <= c->hub.seq ?
		    "duplicate" : "gap");
		if (m->seq > c->hub.seq)
			lost = m->seq - c->hub.seq - 1;
	}
	c->hub.epoch = m->epoch;
	c->hub.seq = m->seq;
	return lost;
}

/*
 * One message from the hub, decoded into `m` (alone, or out of a
 * C_BATCH).  Returns 1 with a message for the session (*lost: how many
 * before it went missing), or 0 when it was the link's own (C_CONFIG,
 * C_WELCOME).
 */
static int
hub_message(struct conn *c, const struct sb_msg *m, uint64_t *lost)
{
	char err[256];
	long long v;

	*lost = 0;
	switch (m->type) {
	case SB_C_CONFIG:
		if (config_apply_msg(&c->cfg, m, err, sizeof(err)) < 0)
			sb_log(LOG_ERR, "bad settings from the hub: %s", err);
		return 0;
	case SB_C_WELCOME:
		if (sb_field_num(m, 0, 1, INT64_MAX, &v) == 0)
			c->hub.session = (uint64_t)v;
		return 0;
	case SB_C_STATUS:
		return 1;
	default:
		*lost = hub_sequence(c, m);
		return 1;
	}
}

/*
 * One datagram from the hub, the k-th of the last receive, decoded into
 * `m`.  Returns what hub_message() does; 0 for a C_BATCH too, whose
 * messages hublink_receive() then hands out one by one (sb_msg_decode()
 * checked them all); -EPIPE when the hub closed, or -EBADMSG when it sent
 * something malformed, which is a bug in the trusted hub, logged here:
 * either way the socket is closed.
 */
static int
hub_datagram(struct conn *c, unsigned k, const unsigned char *p, size_t n,
    struct sb_msg *m, uint64_t *lost)
{
	*lost = 0;
	if (n == 0) {
		hub_close(c);
		return -EPIPE;
	}
	if (n > SB_MSG_MAX || sb_msg_decode(m, p, n) < 0) {
		sb_log(LOG_ERR, "malformed datagram from the hub (%zu bytes)",
		    n);
		hub_close(c);
		return -EBADMSG;
	}
	if (m->type == SB_C_BATCH) {
		c->hub.inner_k = k;
		c->hub.inner_off = SB_HDR_SIZE;
		return 0;	/* its messages: hublink_receive() */
	}
	return hub_message(c, m, lost);
}

/*
 * Take up to two datagrams with one recvmmsg(): fewer than two means the
 * queue is empty, with no EAGAIN call to learn it.  Returns how many (0
 * when none are waiting), or -EPIPE when the hub closed.
 */
static int
hub_batch(struct conn *c)
{
	unsigned char *buf[2] = { handler_store.rx, handler_store.rx2 };
	struct iovec iov[2];
	struct mmsghdr mm[2];
	int k, got;

	for (;;) {
		for (k = 0; k < 2; k++) {
			iov[k] = (struct iovec){ buf[k], SB_MSG_MAX };
			mm[k] = (struct mmsghdr){ .msg_hdr = {
			    .msg_iov = &iov[k], .msg_iovlen = 1 } };
		}
		got = recvmmsg(c->hub.fd, mm, 2, MSG_DONTWAIT | MSG_TRUNC,
		    NULL);
		c->hub.rx_batches++;
		if (got < 0 && (errno == EAGAIN || errno == EWOULDBLOCK ||
		    errno == EINTR))
			return 0;
		/*
		 * The hub closed while our datagrams were unread: the error
		 * comes first, but what it sent before (a C_CLOSE) is still
		 * queued behind it.
		 */
		if (got < 0 && errno == ECONNRESET) {
			c->hub.broken = 1;
			if (c->hub.rx_batches >= HANDLER_HUB_BATCHES)
				return 0;	/* the rest next turn */
			continue;
		}
		if (got <= 0) {
			hub_close(c);
			return -EPIPE;
		}
		for (k = 0; k < got; k++)
			c->hub.rx_len[k] = mm[k].msg_len;
		return got;
	}
}

/*
 * The next message from the hub for the session, into `m` (its fields
 * point into the store's receive buffers: valid until the next call).
 * The messages of a C_BATCH are handed out one by one, each with its own
 * sequence check, as if each had come alone; what the session renders
 * from them goes to the client in the turn's one write.
 * The loop calls this when the socket is readable, until it returns 0:
 * at most HANDLER_HUB_BATCHES receives a turn, so the client gets its
 * turn too.  Returns 1 with a message (*lost: how many went missing
 * before it); 0 when there is none now; or a negative errno when the hub
 * is gone (-EPIPE) or broke the protocol (-EBADMSG): the socket is then
 * closed, and what happens next is the session's to say.
 */
int
hublink_receive(struct conn *c, struct sb_msg *m, uint64_t *lost)
{
	unsigned char *buf[2] = { handler_store.rx, handler_store.rx2 };
	int r;

	for (;;) {
		if (c->hub.inner_off != 0) {	/* the rest of a C_BATCH */
			unsigned k = c->hub.inner_k;

			r = sb_batch_next(buf[k], c->hub.rx_len[k],
			    &c->hub.inner_off, m);
			if (r == 0) {
				c->hub.inner_off = 0;
				continue;
			}
			if (r < 0) {		/* (cannot be: checked) */
				hub_close(c);
				return -EBADMSG;
			}
			if ((r = hub_message(c, m, lost)) == 0)
				continue;
			return r;
		}
		if (c->hub.rx_next < c->hub.rx_got) {
			unsigned k = c->hub.rx_next++;

			r = hub_datagram(c, k, buf[k], c->hub.rx_len[k], m,
			    lost);
			if (r != 0)
				return r;
			continue;
		}
		/* A short batch: the queue is empty.  A turn is over. */
		if (c->hub.fd < 0 || (c->hub.rx_got > 0 &&
		    c->hub.rx_got < 2) ||
		    c->hub.rx_batches >= HANDLER_HUB_BATCHES) {
			c->hub.rx_got = c->hub.rx_next = c->hub.rx_batches = 0;
			return 0;
		}
		c->hub.rx_next = 0;
		if ((r = hub_batch(c)) <= 0) {
			c->hub.rx_got = c->hub.rx_batches = 0;
			return r;
		}
		c->hub.rx_got = (unsigned)r;
	}
}

/* Forget what waits for the hub (the session is over, or gave up). */
void
hublink_drop_queue(struct conn *c)
{
	buf_reset(&c->hub.q);
}

/*
 * The hub went away and the session waits for a new one: from `now`,
 * hublink_retry() tries with backoff, for HANDLER_RECONNECT_MS.  What the
 * client sends meanwhile is queued, up to backlog_max.
 */
void
hublink_wait(struct conn *c, uint64_t now)
{
	c->hub.reconnecting = 1;
	c->hub.backoff_ms = HANDLER_BACKOFF_MIN_MS;
	c->hub.retry_at_ms = now + c->hub.backoff_ms;
	c->hub.give_up_at_ms = now + HANDLER_RECONNECT_MS;
}

/*
 * Connect to the new hub and re-register this session: H_HELLO (with the
 * epoch of the hub we lost: the new one refuses to resume a session that
 * hub ended on purpose, hub/peers.c's cmd_hello), then H_RESUME if `r`
 * names a nick, then the backlog in the order the client sent it.  Returns 0,
 * or a negative errno when the hub is not back (hub.error says why).
 */
static int
hub_reconnect(struct conn *c, const struct hub_resume *r)
{
	unsigned char *backlog = NULL;
	size_t n = c->hub.q.len;
	int e;

	if ((e = hublink_connect(c)) < 0)
		return e;
	c->hub.broken = 0;
	/* The greeting goes ahead of the backlog: take it out meanwhile. */
	if (n > 0 && (backlog = malloc(n)) == NULL) {
		hub_close(c);
		snprintf(c->hub.error, sizeof(c->hub.error), "out of memory");
		return -ENOMEM;
	}
	if (n > 0)
		memcpy(backlog, buf_head(&c->hub.q), n);
	buf_reset(&c->hub.q);
	e = hublink_send_packed(c, hub_pack_hello(c, c->hub.epoch));
	if (e == 0 && r->dialect[0] != '\0')
		e = hublink_pack(c, SB_H_DIALECT, r->dialect, NULL);
	if (e == 0 && r->nick[0] != '\0')
		e = hublink_send_packed(c, sb_msg_pack(hublink_tx(),
		    SB_H_RESUME, 0, r->nick, r->rooms, r->alias, r->member,
		    NULL));
	if (e < 0)
		sb_log(LOG_ERR, "cannot resume %s with the new hub: %s",
		    r->nick[0] ? r->nick : c->remote, strerror(-e));
	if (n > 0 && buf_append(&c->hub.q, backlog, n) < 0)
		sb_log(LOG_ERR, "%zu bytes for the hub from %s lost on "
		    "reconnecting", n, c->remote);
	free(backlog);
	hublink_flush(c);
	return 0;
}

/*
 * While the hub is away (hublink_wait), try again when the backoff says
 * so.  Returns 1 when the new hub took the session back (`r`: what to
 * resume it with); 0 when it is not time or the hub is not back yet;
 * -ETIMEDOUT after HANDLER_RECONNECT_MS: the link gives up, drops what
 * was queued, and hub.error says why.
 */
int
hublink_retry(struct conn *c, uint64_t now, const struct hub_resume *r)
{
	if (!c->hub.reconnecting || now < c->hub.retry_at_ms)
		return 0;
	if (hub_reconnect(c, r) == 0) {
		c->hub.reconnecting = 0;
		return 1;
	}
	if (now >= c->hub.give_up_at_ms) {
		c->hub.reconnecting = 0;
		buf_reset(&c->hub.q);
		return -ETIMEDOUT;
	}
	c->hub.backoff_ms = c->hub.backoff_ms * 2 > HANDLER_BACKOFF_MAX_MS ?
	    HANDLER_BACKOFF_MAX_MS : c->hub.backoff_ms * 2;
	c->hub.retry_at_ms = now + c->hub.backoff_ms;
	return 0;
}

/* Is there a hub socket? */
int
hublink_up(const struct conn *c)
{
	return c->hub.fd >= 0;
}

/* Is a hub there to answer, and told of this connection? */
int
hublink_ready(const struct conn *c)
{
	return c->hub.fd >= 0 && !c->hub.reconnecting && c->hub.hello_sent;
}

/*
 * Has the hub not taken half of what waits for it?  Then the loop leaves
 * the client's input in the kernel, and TCP slows the client down.
 */
int
hublink_backlogged(const struct conn *c)
{
	return c->hub.fd >= 0 && !c->hub.broken &&
	    c->hub.q.len > HANDLER_HUBQ_MAX / 2;
}

/* What the hub socket waits for (epoll events), or 0 without one. */
uint32_t
hublink_events(const struct conn *c)
{
	if (c->hub.fd < 0)
		return 0;
	return EPOLLIN | (c->hub.q.len && !c->hub.broken ? EPOLLOUT : 0);
}

/* When hublink_retry() wants to be called next, or 0. */
uint64_t
hublink_deadline(const struct conn *c)
{
	return c->hub.reconnecting ? c->hub.retry_at_ms : 0;
}

/* The handler is idle: an empty queue gives its memory back. */
void
hublink_idle(struct conn *c)
{
	buf_idle(&c->hub.q);
}

void
hublink_free(struct conn *c)
{
	buf_free(&c->hub.q);
	hub_close(c);
}
