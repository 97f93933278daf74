/* SPDX-License-Identifier: ISC */
/*
 * The event loop: one turn per wake-up.  Each turn runs the mode's
 * timers, gives memory back after a burst, ends a connection that is
 * over, asks each role what it waits for (with the flow control between
 * client and hub), waits, and hands each event to its role: hub messages
 * and client bytes to the mode machine (modes.c), readiness to the hub
 * link and the client's I/O.
 *
 * The loop_client_*, loop_hub_input and loop_tick functions are what a
 * turn does with one event; the session fuzz target and the unit tests
 * call them as the loop would, without epoll.
 */
#include <sys/epoll.h>
#include <sys/mman.h>

#include <errno.h>
#include <malloc.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "handler.h"

/*
 * After any event: an output queue that overflowed is told to the mode
 * machine once (the client's I/O closed the connection already).
 */
static void
loop_after(struct conn *c)
{
	if (client_io_take_overflow(c))
		modes_client_slow(c);
}

/*
 * How long to stay quiet before the idle trim, when the last one was
 * followed by activity `gap_ms` after the activity before it.  An idle
 * trim costs a wake-up of its own, the madvise() calls and the page
 * faults that take the pages again; given back for a moment only, the
 * memory was not worth that.  So a handler whose chat comes back within
 * HANDLER_IDLE_TRIM_MAX_MS waits twice the gap it saw (at least
 * HANDLER_IDLE_TRIM_MS) before the next trim: a room that speaks every
 * few seconds keeps its handlers' pages, and an idle one (keepalive
 * comes after idle_timeout, 120 s by default) gives them back after
 * HANDLER_IDLE_TRIM_MS, as before.  Measured in bench/analysis.md.
 */
uint64_t
loop_trim_wait(uint64_t gap_ms)
{
	uint64_t wait = gap_ms * 2;

	if (gap_ms >= HANDLER_IDLE_TRIM_MAX_MS)	/* it was idle: as before */
		return HANDLER_IDLE_TRIM_MS;
	if (wait < HANDLER_IDLE_TRIM_MS)
		return HANDLER_IDLE_TRIM_MS;
	return wait < HANDLER_IDLE_TRIM_MAX_MS ? wait : HANDLER_IDLE_TRIM_MAX_MS;
}

/* Activity now: the idle trim waits again, and learns from the last. */
static void
loop_busy(struct conn *c)
{
	uint64_t now = c->loop.clock_ms;

	if (c->loop.trimmed_ms != 0) {
		c->loop.trim_ms = loop_trim_wait(now - c->loop.trimmed_ms);
		c->loop.trimmed_ms = 0;
	}
	c->loop.busy_ms = now;
}

/* When the idle trim is due, 0 for none. */
static uint64_t
loop_trim_at(const struct conn *c)
{
	if (c->loop.busy_ms == 0)
		return 0;
	return c->loop.busy_ms + (c->loop.trim_ms != 0 ? c->loop.trim_ms :
	    HANDLER_IDLE_TRIM_MS);
}

/* Bytes the client sent (one read). */
void
loop_client_bytes(struct conn *c, const unsigned char *p, size_t n)
{
	loop_busy(c);
	chat_heard(c, c->loop.clock_ms);
	modes_client_bytes(c, p, n);
	loop_after(c);
}

/* The client's input ended (io.eof is set). */
void
loop_client_eof(struct conn *c)
{
	modes_client_eof(c);
	loop_after(c);
}

/*
 * The hub socket is readable: every message the hub link hands out this
 * turn goes to the mode machine, and the hub going away too.
 */
void
loop_hub_input(struct conn *c)
{
	struct sb_msg m;
	uint64_t lost;
	int r;

	loop_busy(c);
	while ((r = hublink_receive(c, &m, &lost)) > 0) {
		modes_hub_message(c, &m, lost);
		loop_after(c);
	}
	if (r < 0) {
		modes_hub_lost(c);
		loop_after(c);
	}
}

/* Time passed: the mode's deadlines, at `now`. */
void
loop_tick(struct conn *c, uint64_t now)
{
	modes_tick(c, now);
	loop_after(c);
}

/*
 * Give back the stack pages below the caller's frame: the deepest calls
 * so far (the handshake, the login, a list rendered) dirtied a page or
 * two that an idle handler does not use.  What lies below the stack
 * pointer is dead by the ABI; HANDLER_STACK_KEEP bytes below it stay, for
 * the calls that follow (madvise's own frame among them).  The range may
 * reach past the stack's mapping (its lowest pages were never touched):
 * madvise then fails for that part, harmlessly.
 */
static void
loop_stack_idle(void)
{
	uintptr_t pg = (uintptr_t)sysconf(_SC_PAGESIZE);
	uintptr_t end = ((uintptr_t)__builtin_frame_address(0) -
	    HANDLER_STACK_KEEP) & ~(pg - 1);

	madvise((void *)(end - HANDLER_STACK_TRIM), HANDLER_STACK_TRIM,
	    MADV_DONTNEED);
}

/*
 * After a burst (a long member list rendered, a big queue drained), or
 * quiet for loop_trim_at() after the last activity, give the freed pages
 * back: thousands of idle handlers would each keep their peak heap
 * otherwise.
 */
static void
loop_trim(struct conn *c, uint64_t now)
{
	uint64_t at = loop_trim_at(c);

	if (!c->trim && (at == 0 || now < at))
		return;
	if (at != 0 && now >= at)	/* the idle trim: remember after what */
		c->loop.trimmed_ms = c->loop.busy_ms;
#ifdef __GLIBC__
	malloc_trim(0);		/* musl's free() needs no trim */
#endif
	store_idle();		/* the static buffers too (store.h) */
	loop_stack_idle();
	client_io_idle(c);
	hublink_idle(c);
	modes_idle(c);
	chat_idle(c);
	c->trim = 0;
	c->loop.busy_ms = 0;
}

/*
 * Register what the loop waits for on slot `w`: `events` on `fd` (0:
 * nothing); `gen` tells a new hub socket that got the number of a closed
 * one.  The set rarely changes, so a wake-up costs no registration (poll()
 * adds and removes a wait-queue entry per descriptor per call).  Returns
 * 0, or -errno from epoll_ctl.
 */
static int
watch(struct conn *c, int w, int fd, unsigned gen, uint32_t events)
{
	struct watch *x = &c->loop.watch[w];
	struct epoll_event ev = { .events = events, .data.u32 = (uint32_t)w };
	int same = x->events != 0 && x->fd == fd && x->gen == gen;

	if (same && x->events == events)
		return 0;
	if (x->events != 0 && !same)
		/* Gone already if it was closed; then this fails, harmlessly. */
		epoll_ctl(c->loop.epfd, EPOLL_CTL_DEL, x->fd, NULL);
	x->events = 0;
	if (events == 0)
		return same && epoll_ctl(c->loop.epfd, EPOLL_CTL_DEL, fd,
		    NULL) < 0 ? -errno : 0;
	if (epoll_ctl(c->loop.epfd, same ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, fd,
	    &ev) < 0)
		return -errno;
	*x = (struct watch){ fd, gen, events };
	return 0;
}

/*
 * What to wait for, slot by slot.  Flow control: while the hub has not
 * taken half of what waits for it, the client's input waits in the
 * kernel, and TCP slows the client down.  Returns 0, or -errno.
 */
static int
loop_watch(struct conn *c, uint32_t want[W_N])
{
	uint32_t io = client_io_events(c, !hublink_backlogged(c));
	int r;

	if (c->io.in_fd == c->io.out_fd) {
		want[W_IN] = io;
		want[W_OUT] = 0;
	} else {
		want[W_IN] = io & EPOLLIN;
		want[W_OUT] = io & EPOLLOUT;
	}
	want[W_HUB] = hublink_events(c);
	if ((r = watch(c, W_IN, c->io.in_fd, 0, want[W_IN])) < 0 ||
	    (r = watch(c, W_OUT, c->io.out_fd, 0, want[W_OUT])) < 0 ||
	    (r = watch(c, W_HUB, c->hub.fd, c->hub.gen, want[W_HUB])) < 0)
		return r;
	return 0;
}

/* The earlier of two times, 0 meaning none. */
static uint64_t
earlier(uint64_t a, uint64_t b)
{
	return a == 0 || (b != 0 && b < a) ? b : a;
}

/*
 * How long to wait, in ms (-1: for ever): until the linger time of a
 * closing connection, or the mode's deadline and the hub link's next
 * retry; and the idle trim.
 */
static int
loop_timeout(const struct conn *c, uint64_t now)
{
	uint64_t at;

	if (client_io_closing(c))
		at = c->io.linger_until_ms;
	else
		at = earlier(c->modes.deadline_ms, hublink_deadline(c));
	at = earlier(at, loop_trim_at(c));
	at = earlier(at, client_io_deadline(c));
	/* Bytes TLS decrypted and holds: no wait before reading them. */
	if (client_io_pending(c) && !hublink_backlogged(c))
		return 0;
	if (at == 0)
		return -1;
	return at > now ? (int)(at - now) : 0;
}

/*
 * The client's bytes were refused (a PROXY header where none is taken,
 * or a bad one: client_io_read; with --tls, whatever TLS refused, or a
 * handshake past its deadline): the hub logs it, with the address the
 * connection came from, and it ends.
 */
void
loop_client_refused(struct conn *c)
{
	hublink_hello(c, "unknown");
	hublink_event(c, "protocol_error", "%s", c->io.refused);
	client_io_finish(c);
	loop_after(c);
}

/* The client's side can take bytes: write; a failed write ends input. */
static void
client_writable(struct conn *c)
{
	int r = client_io_flush(c);

	if (r == -EPROTO)
		loop_client_refused(c);
	else if (r < 0)
		loop_client_eof(c);
}

/* The client's side has bytes, or an end. */
static void
client_readable(struct conn *c)
{
	unsigned char *p;
	ssize_t n = client_io_read(c, &p);

	if (n == -EPROTO)
		loop_client_refused(c);
	else if (n < 0)
		loop_client_eof(c);
	else if (n > 0)
		loop_client_bytes(c, p, (size_t)n);
}

/* Hand what epoll reported (`got`, for what was asked: `want`) on. */
static void
loop_dispatch(struct conn *c, const uint32_t want[W_N],
    const uint32_t got[W_N])
{
	/* The client's output, on its own fd or on the input's. */
	int w = c->io.out_fd == c->io.in_fd ? W_IN : W_OUT;

	if (got[W_HUB] & EPOLLOUT)
		hublink_flush(c);
	if (got[W_HUB] & (EPOLLIN | EPOLLHUP | EPOLLERR))
		loop_hub_input(c);
	if ((want[w] & EPOLLOUT) && (got[w] & (EPOLLOUT | EPOLLERR)))
		client_writable(c);
	if ((want[W_IN] & EPOLLIN) && !c->io.eof &&
	    ((got[W_IN] & (EPOLLIN | EPOLLHUP | EPOLLERR)) ||
	    client_io_pending(c)))
		client_readable(c);
	if (c->io.out.len > 0 && !c->io.eof)
		client_writable(c);
}

/*
 * One turn of the loop.  Returns 0 to go on, 1 when the connection is
 * over, or a negative errno when a system call failed (logged here).
 */
static int
loop_turn(struct conn *c)
{
	struct epoll_event ev[W_N];
	uint32_t want[W_N], got[W_N] = { 0 };
	uint64_t now = c->loop.clock_ms;
	int i, n, r;

	/* Deadlines first: they may change the set of fds to wait for. */
	if (client_io_expired(c, now))
		loop_client_refused(c);
	loop_tick(c, now);
	loop_trim(c, now);
	if (client_io_done(c, now))
		return 1;
	if ((r = loop_watch(c, want)) < 0) {
		sb_log(LOG_ERR, "epoll_ctl: %s", strerror(-r));
		return r;
	}
	if (want[W_IN] == 0 && want[W_OUT] == 0 && want[W_HUB] == 0)
		return 1;	/* nothing can happen any more */
	n = epoll_wait(c->loop.epfd, ev, W_N, loop_timeout(c, now));
	c->loop.clock_ms = now_ms();
	if (n < 0) {
		if (errno == EINTR)
			return 0;
		r = -errno;
		sb_log(LOG_ERR, "epoll_wait: %s", strerror(errno));
		return r;
	}
	for (i = 0; i < n; i++)
		got[ev[i].data.u32] = ev[i].events;
	loop_dispatch(c, want, got);
	return 0;
}

/*
 * Serve the connection until it ends, then release it.  Returns the
 * process's exit code: 0, or 1 when a system call failed.  Called once
 * per process.
 */
int
loop_run(struct conn *c)
{
	int r;

	if ((c->loop.epfd = epoll_create1(EPOLL_CLOEXEC)) < 0) {
		sb_log(LOG_ERR, "epoll_create1: %s", strerror(errno));
		loop_free(c);
		return 1;
	}
	c->loop.clock_ms = now_ms();
	while ((r = loop_turn(c)) == 0)
		;
	if (r > 0 && hublink_up(c))
		hublink_flush(c);
	loop_free(c);
	/* The epoll fd goes with the process, which exits next. */
	return r < 0 ? 1 : 0;
}

/* Release what the connection holds (so LeakSanitizer sees no leak). */
void
loop_free(struct conn *c)
{
	modes_free(c);
	chat_free(c);
	client_io_free(c);
	hublink_free(c);
}
