/* SPDX-License-Identifier: ISC */
/*
 * A growable byte buffer with a hard limit.  Appending past `max` fails
 * with -ENOBUFS and leaves the buffer as it was: the caller decides what
 * an overflow means (a slow reader, an oversized message), never a silent
 * truncation.
 */
#ifndef SB_BUF_H
#define SB_BUF_H

#include <stddef.h>

struct buf {
	unsigned char	*data;
	size_t		 off;	/* bytes already consumed at the front */
	size_t		 len;	/* bytes held, from data + off */
	size_t		 cap;	/* bytes allocated */
	size_t		 max;	/* hard limit on len */
	unsigned char	*fixed;	/* storage of the caller's (buf_init_fixed) */
	size_t		 fixed_cap;
};

/* buf.c */
void	 buf_init(struct buf *, size_t);
void	 buf_init_fixed(struct buf *, size_t, void *, size_t);
void	 buf_free(struct buf *);
int	 buf_append(struct buf *, const void *, size_t);
int	 buf_printf(struct buf *, const char *, ...)
	    __attribute__((format(printf, 2, 3)));
void	 buf_consume(struct buf *, size_t);
void	 buf_reset(struct buf *);
int	 buf_shrink(struct buf *, size_t);
void	 buf_idle(struct buf *);
void	 sb_pages_release(void *, size_t);
static inline unsigned char *
buf_head(const struct buf *b)
{
	return b->data + b->off;
}

#endif /* SB_BUF_H */
