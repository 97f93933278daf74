/* SPDX-License-Identifier: ISC */
/*
 * Bounded buffers (see buf.h).
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
	*b = (struct buf){ .max = max, .data = storage, .cap = size,
	    .fixed = storage, .fixed_cap = size };
}

/* Back to the caller's storage, or to nothing. */
static void
buf_home(struct buf *b)
{
	if (b->data != b->fixed)
		free(b->data);
	b->data = b->fixed;
	b->cap = b->fixed_cap;
	b->off = 0;
}

void
buf_free(struct buf *b)
{
	if (b == NULL)
		return;
	buf_home(b);
	b->len = 0;
}

/*
 * Make room for `need` more bytes: first by moving the unconsumed bytes
 * to the front, then by growing (doubling) up to what `max` allows.
 */
static int
buf_reserve(struct buf *b, size_t need)
{
	unsigned char *n;
	size_t cap;

	if (need > b->max - b->len)
		return -ENOBUFS;
	if (b->off + b->len + need <= b->cap)
		return 0;
	if (b->off > 0) {
		memmove(b->data, b->data + b->off, b->len);
		b->off = 0;
		if (b->len + need <= b->cap)
			return 0;
	}
	cap = b->cap ? b->cap : 256;
	while (cap < b->len + need)
		cap *= 2;
	if (cap > b->max && b->len + need <= b->max)
		cap = b->max;
	if (b->data != NULL && b->data == b->fixed) {
		if ((n = malloc(cap)) == NULL)
			return -ENOMEM;
		memcpy(n, b->data, b->len);	/* off is 0 here */
	} else if ((n = realloc(b->data, cap)) == NULL)
		return -ENOMEM;
	b->data = n;
	b->cap = cap;
	return 0;
}

/* Append `len` bytes; 0, -ENOBUFS over the limit, -ENOMEM. */
int
buf_append(struct buf *b, const void *p, size_t len)
{
	int r;

	assert(b != NULL && (p != NULL || len == 0));
	if (len == 0)
		return 0;
	if ((r = buf_reserve(b, len)) < 0)
		return r;
	memcpy(b->data + b->off + b->len, p, len);
	b->len += len;
	return 0;
}

/* Append formatted text (no NUL is stored). */
int
buf_printf(struct buf *b, const char *fmt, ...)
{
	char small[512], *big = NULL;
	va_list ap;
	int n, r;

	va_start(ap, fmt);
	n = vsnprintf(small, sizeof(small), fmt, ap);
	va_end(ap);
	if (n < 0)
		return -EINVAL;
	if ((size_t)n < sizeof(small))
		return buf_append(b, small, (size_t)n);
	if ((big = malloc((size_t)n + 1)) == NULL)
		return -ENOMEM;
	va_start(ap, fmt);
	vsnprintf(big, (size_t)n + 1, fmt, ap);
	va_end(ap);
	r = buf_append(b, big, (size_t)n);
	free(big);
	return r;
}

/* Drop `n` bytes from the front. */
void
buf_consume(struct buf *b, size_t n)
{
	assert(b != NULL && n <= b->len);
	b->off += n;
	b->len -= n;
	if (b->len == 0)
		b->off = 0;
}

void
buf_reset(struct buf *b)
{
	b->off = 0;
	b->len = 0;
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
	if (b->len != 0 || b->cap <= keep || b->data == b->fixed)
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
		sb_pages_release(b->fixed, b->fixed_cap);
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
