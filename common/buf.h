/* SPDX-License-Identifier: ISC */
/*
 * The growable buffer, with a hard limit: the one in Switchboard, for
 * byte queues and for text being built alike.
 *
 * As a byte queue (buf_append, buf_printf, buf_consume): an append past
 * `max` fails with -ENOBUFS and leaves the buffer as it was, so the
 * caller decides what an overflow means (a slow reader, an oversized
 * message), never a silent truncation.  The allocation never exceeds
 * `max`; consumed bytes at the front are reused before it grows.
 *
 * As text being built (buf_catlen, buf_cat, buf_catf): the contents are
 * always NUL-terminated (after the first call; the NUL is not counted in
 * len), and an error is sticky: past `max` the buffer records -EMSGSIZE
 * (a message too long), or -ENOMEM, and takes nothing more until
 * buf_truncate(), so a caller may append many pieces and check once.
 *
 * A buffer may start in storage of the caller's (buf_init_fixed), so the
 * usual small contents never touch malloc; buf_idle() and buf_shrink()
 * give memory back after a burst.
 */
#ifndef SB_BUF_H
#define SB_BUF_H

#include <stddef.h>

struct buf {
	char	*buf;		/* NULL until the first byte */
	size_t	 off;		/* bytes already consumed at the front */
	size_t	 len;		/* bytes held, from buf + off */
	size_t	 size;		/* bytes allocated */
	size_t	 max;		/* hard limit on len */
	int	 err;		/* text: sticky, 0, -EMSGSIZE or -ENOMEM */
	char	*fixed;		/* storage of the caller's (buf_init_fixed) */
	size_t	 fixed_size;
};

/* buf.c */
void	 buf_init(struct buf *, size_t);
void	 buf_init_fixed(struct buf *, size_t, void *, size_t);
void	 buf_free(struct buf *);
void	 buf_wipe(struct buf *);
int	 buf_append(struct buf *, const void *, size_t);
int	 buf_printf(struct buf *, const char *, ...)
	    __attribute__((format(printf, 2, 3)));
void	 buf_consume(struct buf *, size_t);
void	 buf_reset(struct buf *);
int	 buf_catlen(struct buf *, const void *, size_t);
int	 buf_cat(struct buf *, const char *);
int	 buf_catf(struct buf *, const char *, ...)
	    __attribute__((format(printf, 2, 3)));
void	 buf_truncate(struct buf *, size_t);
int	 buf_shrink(struct buf *, size_t);
void	 buf_idle(struct buf *);
void	 sb_pages_release(void *, size_t);

/* The bytes held, from the first one not consumed. */
static inline unsigned char *
buf_head(const struct buf *b)
{
	return (unsigned char *)b->buf + b->off;
}

#endif /* SB_BUF_H */
