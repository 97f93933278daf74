/* SPDX-License-Identifier: ISC */
/*
 * The client side's I/O: its file descriptors, the bounded queue of bytes
 * for it, the end of its input, and the connection's last act (closing:
 * flush what is queued, drain what comes in, exit).  Bytes only: what the
 * bytes mean is the mode machine's (modes.c), and nothing here knows a
 * protocol.  The client's address is found here too, for the hub.
 *
 * With --tls, TLS (tls.c) is under this file: client_io_read() and
 * client_io_flush() call tls_read() and tls_write() instead of read() and
 * write(), client_io_events() adds what the TLS engine waits for (a
 * handshake reads while the handler has nothing to write), and the
 * handshake's deadline and refusals come up as a PROXY header's do
 * (docs/hacking.md).
 *
 * Behind a proxy (proxy.c parses, this file decides whom to believe):
 * with --proxy, a PROXY header from a proxy_from address is read before
 * any byte is handed up, and sets c->remote; anything else is refused.
 * Without --proxy a PROXY header is refused too, never believed.  An
 * HTTP request from a proxy_from address has its client taken from its
 * X-Forwarded-For or Forwarded (client_io_forwarded).
 */
#include <sys/epoll.h>
#include <sys/socket.h>

#include <arpa/inet.h>
#include <assert.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bsd/string.h>

#include "cidr.h"
#include "handler.h"

/*
 * The client's address as "host:port" ("[v6]:port"), for the hub: from
 * REMOTE_ADDR and REMOTE_PORT when the environment has them, else from
 * the socket; "local" when neither says.
 */
static void
client_io_remote(struct conn *c)
{
	const char *a = getenv("REMOTE_ADDR"), *p = getenv("REMOTE_PORT");
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);

	if (a != NULL && *a != '\0') {
		snprintf(c->remote, sizeof(c->remote), strchr(a, ':') ?
		    "[%s]:%s" : "%s:%s", a, p ? p : "0");
		return;
	}
	strlcpy(c->remote, "local", sizeof(c->remote));
	if (getpeername(c->io.in_fd, (struct sockaddr *)&ss, &sl) < 0)
		return;
	if (ss.ss_family == AF_INET) {
		const struct sockaddr_in *s4 = (const struct sockaddr_in *)&ss;

		(void)proxy_format_remote(c->remote, sizeof(c->remote),
		    AF_INET, &s4->sin_addr, ntohs(s4->sin_port));
	} else if (ss.ss_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)&ss;

		(void)proxy_format_remote(c->remote, sizeof(c->remote),
		    AF_INET6, &s6->sin6_addr, ntohs(s6->sin6_port));
	}
}

/*
 * The client is on `in_fd` and `out_fd` (the same socket, or stdin and
 * stdout), both non-blocking; `proxy` (--proxy): a PROXY header comes
 * first, from a proxy_from address.  Call once the hub's settings are
 * known: outq_max and proxy_from are among them.
 */
void
client_io_init(struct conn *c, int in_fd, int out_fd, int proxy)
{
	c->io.in_fd = in_fd;
	c->io.out_fd = out_fd;
	c->io.proxy = proxy;
	client_io_remote(c);
	buf_init_fixed(&c->io.out, c->cfg.outq_max, handler_store.out,
	    sizeof(handler_store.out));
}

/*
 * --tls: the client speaks TLS (tls.c), set up now.  Returns 0, or
 * -EPROTO with the reason in io.refused (no certificate from the hub).
 */
int
client_io_tls(struct conn *c, uint64_t now)
{
	if (tls_setup(c, now) == 0)
		return 0;
	c->io.refused = c->tls.error;
	return -EPROTO;
}

/*
 * With --proxy, the n bytes just read at rx, while the PROXY header is
 * not yet whole: they join the header so far.  Returns the count of the
 * client's own bytes after a whole header (*p at them; c->remote is the
 * client's), 0 while more is needed, or -EPROTO with io.refused set: a
 * peer not in proxy_from, or a header that is malformed or too long.
 */
static ssize_t
proxy_read(struct conn *c, unsigned char *rx, ssize_t n, unsigned char **p)
{
	size_t had = c->io.proxy_len, take = sizeof(c->io.proxy_buf) - had;
	struct proxy_header h;

	if (!cidr_list_match(c->cfg.proxy_from, c->remote)) {
		c->io.refused = "a connection to the PROXY port from an address "
		    "not in proxy_from";
		return -EPROTO;
	}
	if (take > (size_t)n)
		take = (size_t)n;
	memcpy(c->io.proxy_buf + had, rx, take);
	c->io.proxy_len += take;
	switch (proxy_parse(c->io.proxy_buf, c->io.proxy_len, &h)) {
	case PROXY_NEED_MORE:
		return 0;
	case PROXY_BAD:
		c->io.refused = "a malformed PROXY header";
		return -EPROTO;
	case PROXY_OK:
		break;
	}
	assert(h.len > had && h.len - had <= take);
	if (!h.local)
		strlcpy(c->remote, h.remote, sizeof(c->remote));
	c->io.proxy = 0;
	*p = rx + (h.len - had);
	return n - (ssize_t)(h.len - had);
}

/*
 * One read from the client, into the store's receive buffer (valid until
 * the next read).  Returns the number of bytes, with *p pointing at them;
 * 0 when there is nothing to read now; -EPIPE when the input has ended
 * (closed, or broken): io.eof is then set; -EPROTO when the client's
 * bytes are refused before any is handed up (io.refused says why): a
 * PROXY header where none is taken, or on the --proxy port anything but
 * a whole valid header from a proxy_from address (proxy_read); with
 * --tls, whatever TLS refuses (tls_read).
 */
static ssize_t
client_io_raw(struct conn *c)
{
	ssize_t n;

	if (c->tls.on) {
		n = tls_read(c, handler_store.rx, HANDLER_READ_CHUNK);
		if (n == -EPROTO)
			c->io.refused = c->tls.error;
		return n;
	}
	n = read(c->io.in_fd, handler_store.rx, HANDLER_READ_CHUNK);
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK ||
	    errno == EINTR))
		return 0;
	return n <= 0 ? -EPIPE : n;
}

ssize_t
client_io_read(struct conn *c, unsigned char **p)
{
	ssize_t n = client_io_raw(c);

	if (n == 0 || n == -EPROTO)
		return n;
	if (n < 0) {
		c->io.eof = 1;
		if (c->io.proxy && c->io.proxy_len > 0) {
			c->io.refused = "a PROXY header cut short";
			return -EPROTO;
		}
		return -EPIPE;
	}
	*p = handler_store.rx;
	if (c->io.proxy && (n = proxy_read(c, handler_store.rx, n, p)) <= 0)
		return n;
	/* A client's own first bytes never name an address. */
	if (!c->io.read_any && proxy_signature(*p, (size_t)n)) {
		c->io.refused = "a PROXY header on a port that takes none";
		return -EPROTO;
	}
	c->io.read_any = 1;
	return n;
}

/*
 * An HTTP request head has come: if it came from a proxy_from address
 * (a proxy, such as nginx), its client is the one the proxy names in
 * Forwarded or X-Forwarded-For (proxy_forwarded), and c->remote becomes
 * that.  From anyone else those headers are ignored.  Call before the
 * hub is told of the connection (H_HELLO).
 */
void
client_io_forwarded(struct conn *c, const struct http_request *req)
{
	char remote[sizeof(c->remote)];

	if (cidr_list_match(c->cfg.proxy_from, c->remote) &&
	    proxy_forwarded(req, c->cfg.proxy_from, remote, sizeof(remote)))
		strlcpy(c->remote, remote, sizeof(c->remote));
}

/*
 * Queue bytes for the client.  Returns 0; -EPIPE once the connection is
 * closing (nothing more is queued after its last reply); or -ENOBUFS when
 * the queue would pass outq_max: a client that lets that much pile up is
 * not reading.  Its queue is then dropped and the connection closes, so
 * it never makes the hub or the others wait; io.overflow stays set until
 * the loop has told the session (client_io_take_overflow).
 */
int
client_io_write(struct conn *c, const void *p, size_t len)
{
	if (c->io.closing || c->io.write_shut)
		return -EPIPE;
	if (buf_append(&c->io.out, p, len) < 0) {
		buf_reset(&c->io.out);
		c->io.overflow = 1;
		client_io_finish(c);
		return -ENOBUFS;
	}
	return 0;
}

/* client_io_write() as a WebSocket sink's write (struct ws_sink). */
void
client_io_ws_write(void *arg, const unsigned char *p, size_t len)
{
	(void)client_io_write(arg, p, len);	/* its caller learns by the loop */
}

/*
 * Write what is queued, as far as the client takes it now (through TLS
 * with --tls, which may go on with its handshake).  Returns 0; -EPIPE
 * when the write failed: the queue is dropped and io.eof set; -EPROTO
 * when TLS refused the connection (io.refused says why).
 */
static ssize_t
client_io_send(struct conn *c)
{
	ssize_t n;

	if (c->tls.on) {
		n = tls_write(c, buf_head(&c->io.out), c->io.out.len);
		if (n == -EPROTO)
			c->io.refused = c->tls.error;
		return n;
	}
	for (;;) {
		n = write(c->io.out_fd, buf_head(&c->io.out), c->io.out.len);
		if (n >= 0)
			return n;
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			return 0;
		if (errno != EINTR)
			return -EPIPE;
	}
}

int
client_io_flush(struct conn *c)
{
	ssize_t n;

	/* A TLS handshake may want to write with nothing queued. */
	while (c->io.out.len > 0 || (c->tls.on && !c->tls.ready)) {
		if ((n = client_io_send(c)) == 0)
			return 0;
		if (n < 0) {
			buf_reset(&c->io.out);
			if (n != -EPROTO)
				c->io.eof = 1;
			return (int)n;
		}
		buf_consume(&c->io.out, (size_t)n);
	}
	if (buf_shrink(&c->io.out, HANDLER_BUF_KEEP))
		c->trim = 1;
	return 0;
}

/*
 * No more input is wanted: what is queued is flushed, what comes in is
 * drained unread, and the process exits after that or after
 * HANDLER_LINGER_MS.  Nothing more can be queued.
 */
void
client_io_finish(struct conn *c)
{
	if (c->io.closing)
		return;
	c->io.closing = 1;
	c->io.linger_until_ms = now_ms() + HANDLER_LINGER_MS;
}

/* Is the connection on its way out (client_io_finish)? */
int
client_io_closing(const struct conn *c)
{
	return c->io.closing;
}

/* Did the output queue overflow since the last call?  (Once each.) */
int
client_io_take_overflow(struct conn *c)
{
	int r = c->io.overflow;

	c->io.overflow = 0;
	return r;
}

/*
 * What the client's side waits for: EPOLLIN if `read` (the loop's flow
 * control may say not to), EPOLLOUT while bytes wait; nothing once the
 * connection broke.
 */
uint32_t
client_io_events(const struct conn *c, int read)
{
	if (c->io.eof)
		return 0;
	return (read ? EPOLLIN : 0) | (c->io.out.len > 0 ? EPOLLOUT : 0) |
	    tls_events(c);
}

/* Are there bytes read (by TLS) that epoll will not report? */
int
client_io_pending(const struct conn *c)
{
	return !c->io.eof && tls_pending(c);
}

/* When the client's side must have come further (the TLS handshake), 0:
 * no deadline of its own. */
uint64_t
client_io_deadline(const struct conn *c)
{
	return c->io.closing ? 0 : tls_deadline(c);
}

/* Has that deadline passed?  Then the connection is refused (io.refused). */
int
client_io_expired(struct conn *c, uint64_t now)
{
	if (c->io.closing || tls_expired(c, now) == 0)
		return 0;
	c->io.refused = c->tls.error;
	return 1;
}

/*
 * Is the connection over?  Only a closing one is: once its queue is
 * written and the client hung up, or its linger time is over.  When the
 * queue is written, the write side is shut, so the client sees the end.
 */
int
client_io_done(struct conn *c, uint64_t now)
{
	if (!c->io.closing)
		return 0;
	if (now >= c->io.linger_until_ms ||
	    (c->io.out.len == 0 && c->io.eof))
		return 1;
	if (c->io.out.len == 0 && !c->io.write_shut) {
		tls_shutdown(c);
		shutdown(c->io.out_fd, SHUT_WR);
		c->io.write_shut = 1;
	}
	return 0;
}

/* The handler is idle: an empty queue gives its memory back. */
void
client_io_idle(struct conn *c)
{
	buf_idle(&c->io.out);
}

void
client_io_free(struct conn *c)
{
	tls_free(c);
	buf_free(&c->io.out);
}
