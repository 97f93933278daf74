/* SPDX-License-Identifier: ISC */
/*
 * The dialects' output buffer (see dialect.h): growable, with a hard cap
 * and a sticky error, so a renderer appends many pieces and checks once.
 */
#include <assert.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dialect.h"

#define DBUF_CHUNK	256	/* smallest allocation */

/* An empty buffer that will never hold more than `max` bytes. */
void
dbuf_init(struct dbuf *b, size_t max)
{
	assert(b != NULL);
	*b = (struct dbuf){ .max = max };
}

/* Release the memory; the buffer is empty and usable again. */
void
dbuf_free(struct dbuf *b)
{
	if (b == NULL)
		return;
	free(b->buf);
	*b = (struct dbuf){ .max = b->max };
}

/* Cut the contents back to `len` bytes and clear a sticky error. */
void
dbuf_truncate(struct dbuf *b, size_t len)
{
	assert(b != NULL);
	assert(len <= b->len);
	b->len = len;
	if (b->buf != NULL)
		b->buf[len] = '\0';
	b->err = 0;
}

/*
 * Append `n` bytes.  Returns 0, or the sticky error: -EMSGSIZE past the
 * cap, -ENOMEM.  After an error nothing more is appended until
 * dbuf_truncate(), so a caller may append many pieces and check once.
 */
int
dbuf_add(struct dbuf *b, const void *p, size_t n)
{
	size_t want, sz;
	char *nb;

	assert(b != NULL);
	assert(p != NULL || n == 0);
	if (b->err != 0)
		return b->err;
	if (n > b->max - b->len) {
		b->err = -EMSGSIZE;
		return b->err;
	}
	want = b->len + n + 1;
	if (want > b->size) {
		sz = b->size < DBUF_CHUNK ? DBUF_CHUNK : b->size;
		while (sz < want)
			sz = sz > SIZE_MAX / 2 ? want : sz * 2;
		if ((nb = realloc(b->buf, sz)) == NULL) {
			b->err = -ENOMEM;
			return b->err;
		}
		b->buf = nb;
		b->size = sz;
	}
	if (n > 0)
		memcpy(b->buf + b->len, p, n);
	b->len += n;
	b->buf[b->len] = '\0';
	return 0;
}

/* Append a C string. */
int
dbuf_addstr(struct dbuf *b, const char *s)
{
	assert(s != NULL);
	return dbuf_add(b, s, strlen(s));
}

/* Append printf-style; the same errors as dbuf_add(). */
int
dbuf_addf(struct dbuf *b, const char *fmt, ...)
{
	char small[256], *big = NULL;
	va_list ap;
	int n, r;

	assert(b != NULL && fmt != NULL);
	va_start(ap, fmt);
	n = vsnprintf(small, sizeof(small), fmt, ap);
	va_end(ap);
	if (n < 0)
		return -EINVAL;
	if ((size_t)n < sizeof(small))
		return dbuf_add(b, small, (size_t)n);
	va_start(ap, fmt);
	n = vasprintf(&big, fmt, ap);
	va_end(ap);
	if (n < 0)
		return -ENOMEM;
	r = dbuf_add(b, big, (size_t)n);
	free(big);
	return r;
}
