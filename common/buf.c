/* SPDX-License-Identifier: ISC */
/*
 * The growable buffer (see buf.h): one allocation strategy, shared by the
 * byte-queue calls and the text calls.
 */
#include <sys/mman.h>

#include <assert.h>
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"

#define BUF_FIRST	256	/* the first allocation */

/* An empty buffer that will never hold more than `max` bytes. */
void
buf_init(struct buf *b, size_t max)
{
	assert(b != NULL);
	*b = (struct buf){ .max = max };
}

/*
 * A buffer that starts in `size` bytes of storage the caller owns (a
 * static array): the usual small contents then never touch malloc.  It
 * moves to the heap only to grow past `size`, and back to the storage
 * when it is freed or shrunk.
 */
void
buf_init_fixed(struct buf *b, size_t max, void *storage, size_t size)
{
	assert(b != NULL && storage != NULL && size > 0);
	*b = (struct buf){ .max = max, .buf = storage, .size = size,
	    .fixed = storage, .fixed_size = size };
}

/* Back to the caller's storage, or to nothing. */
static void
buf_home(struct buf *b)
{
	if (b->buf != b->fixed)
		free(b->buf);
	b->buf = b->fixed;
	b->size = b->fixed_size;
	b->off = 0;
}

/*
 * Release the memory: the buffer is empty, its error cleared, and usable
 * again with the same limit (and storage).  NULL is fine.
 */
void
buf_free(struct buf *b)
{
	if (b == NULL)
		return;
	buf_home(b);
	b->len = 0;
	b->err = 0;
}

/*
 * buf_free() for a buffer that held secrets (password hashes): every byte
 * of its allocation, and of its storage, is overwritten first.  Copies a
 * realloc() left behind while it grew are not reached.
 */
void
buf_wipe(struct buf *b)
{
	if (b == NULL)
		return;
	if (b->buf != NULL && b->buf != b->fixed)
		explicit_bzero(b->buf, b->size);
	if (b->fixed != NULL)
		explicit_bzero(b->fixed, b->fixed_size);
	buf_free(b);
}

/*
 * Make room for `need` more bytes, and `nul` (0 or 1) more for a
 * terminator: first by moving the unconsumed bytes to the front, then by
 * growing (doubling) up to what `max` allows.  The caller has checked
 * that len + need is within max.  Returns 0 or -ENOMEM.
 */
static int
buf_reserve(struct buf *b, size_t need, size_t nul)
{
	size_t want = b->len + need + nul, cap;
	char *n;

	if (b->off + want <= b->size)
		return 0;
	if (b->off > 0) {
		memmove(b->buf, b->buf + b->off, b->len);
		b->off = 0;
		if (want <= b->size)
			return 0;
	}
	cap = b->size ? b->size : BUF_FIRST;
	while (cap < want)
		cap = cap > SIZE_MAX / 2 ? want : cap * 2;
	if (cap - nul > b->max)
		cap = b->max + nul;		/* still >= want */
	if (b->buf != NULL && b->buf == b->fixed) {
		if ((n = malloc(cap)) == NULL)
			return -ENOMEM;
		memcpy(n, b->buf, b->len);	/* off is 0 here */
	} else if ((n = realloc(b->buf, cap)) == NULL)
		return -ENOMEM;
	b->buf = n;
	b->size = cap;
	return 0;
}

/*
 * Append `len` bytes to a byte queue, all or nothing.  Returns 0,
 * -ENOBUFS past the limit, or -ENOMEM; the buffer is unchanged on error.
 */
int
buf_append(struct buf *b, const void *p, size_t len)
{
	int r;

	assert(b != NULL && (p != NULL || len == 0));
	if (len == 0)
		return 0;
	if (len > b->max - b->len)
		return -ENOBUFS;
	if ((r = buf_reserve(b, len, 0)) < 0)
		return r;
	memcpy(b->buf + b->off + b->len, p, len);
	b->len += len;
	return 0;
}

/*
 * Append text, NUL-terminated: `n` bytes of p.  Returns 0 or the sticky
 * error: -EMSGSIZE past the limit, -ENOMEM.  After an error nothing more
 * is appended until buf_truncate().
 */
int
buf_catlen(struct buf *b, const void *p, size_t n)
{
	int r;

	assert(b != NULL && (p != NULL || n == 0));
	if (b->err != 0)
		return b->err;
	if (n > b->max - b->len)
		return b->err = -EMSGSIZE;
	if ((r = buf_reserve(b, n, 1)) < 0)
		return b->err = r;
	if (n > 0)
		memcpy(b->buf + b->off + b->len, p, n);
	b->len += n;
	b->buf[b->off + b->len] = '\0';
	return 0;
}

/* Append the C string s as text (buf_catlen). */
int
buf_cat(struct buf *b, const char *s)
{
	assert(s != NULL);
	return buf_catlen(b, s, strlen(s));
}

/* Append n bytes as text (buf_catlen) or, when `text` is 0, as bytes. */
static int
buf_put(struct buf *b, int text, const void *p, size_t n)
{
	return text ? buf_catlen(b, p, n) : buf_append(b, p, n);
}

/*
 * Format into the buffer, as text or as bytes (buf_put).  A short result
 * is formatted on the stack, a long one once more on the heap.  Returns
 * what buf_put() does, or -EINVAL for a format vsnprintf() refuses, or
 * -ENOMEM; for text, every error is sticky.
 */
static int
buf_vformat(struct buf *b, int text, const char *fmt, va_list ap)
{
	char small[512], *big;
	va_list again;
	int n, r;

	assert(b != NULL && fmt != NULL);
	if (text && b->err != 0)
		return b->err;
	va_copy(again, ap);
	n = vsnprintf(small, sizeof(small), fmt, ap);
	if (n < 0)
		r = -EINVAL;
	else if ((size_t)n < sizeof(small))
		r = buf_put(b, text, small, (size_t)n);
	else if (vasprintf(&big, fmt, again) < 0)
		r = -ENOMEM;
	else {
		r = buf_put(b, text, big, (size_t)n);
		free(big);
	}
	va_end(again);
	if (r < 0 && text)
		b->err = r;
	return r;
}

/* Append formatted bytes to a byte queue (no NUL is stored). */
int
buf_printf(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = buf_vformat(b, 0, fmt, ap);
	va_end(ap);
	return r;
}

/* Append formatted text (buf_catlen); the same errors. */
int
buf_catf(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = buf_vformat(b, 1, fmt, ap);
	va_end(ap);
	return r;
}

/* Cut text back to its first `len` bytes and clear a sticky error. */
void
buf_truncate(struct buf *b, size_t len)
{
	assert(b != NULL && len <= b->len);
	b->len = len;
	if (b->buf != NULL && b->off + len < b->size)
		b->buf[b->off + len] = '\0';
	b->err = 0;
}

/* Drop `n` bytes from the front of a byte queue. */
void
buf_consume(struct buf *b, size_t n)
{
	assert(b != NULL && n <= b->len);
	b->off += n;
	b->len -= n;
	if (b->len == 0)
		b->off = 0;
}

/* Empty the buffer, keeping its memory; a sticky error is cleared. */
void
buf_reset(struct buf *b)
{
	assert(b != NULL);
	b->off = 0;
	b->len = 0;
	b->err = 0;
}

/*
 * Give the memory of an empty buffer back when it grew past `keep` bytes
 * (after a burst), so an idle connection holds little; a buffer with
 * storage of its own goes back to it.  Returns 1 when something was
 * freed.
 */
int
buf_shrink(struct buf *b, size_t keep)
{
	assert(b != NULL);
	if (b->len != 0 || b->size <= keep || b->buf == b->fixed)
		return 0;
	buf_home(b);
	return 1;
}

/*
 * An idle connection's buffer, if empty: back to its own storage (or to
 * nothing), and the pages of that storage back to the kernel.
 */
void
buf_idle(struct buf *b)
{
	assert(b != NULL);
	if (b->len != 0)
		return;
	buf_home(b);
	if (b->fixed != NULL)
		sb_pages_release(b->fixed, b->fixed_size);
}

/*
 * Give the whole pages inside p[0..n) back to the kernel (a static buffer
 * whose contents are no longer needed); they read as zeros afterwards.
 * The partial pages at either end are kept: other data may share them.
 */
void
sb_pages_release(void *p, size_t n)
{
	uintptr_t pg = (uintptr_t)sysconf(_SC_PAGESIZE);
	uintptr_t a = ((uintptr_t)p + pg - 1) & ~(pg - 1);
	uintptr_t b = ((uintptr_t)p + n) & ~(pg - 1);

	if (b > a)
		madvise((void *)a, b - a, MADV_DONTNEED);
}
