/* SPDX-License-Identifier: ISC */
/*
 * Fuzz target: the bounded buffer (common/buf.c) against a model.
 *
 * Input: byte 0-1 set the limit, and whether the buffer is a byte queue
 * or text; then operations.  A plain array follows the same operations.
 * As a queue (append n bytes, printf, consume n, reset): an append past
 * the limit fails with -ENOBUFS and changes nothing; the allocation
 * never exceeds what the limit needs (max, or 256 below it).  As text
 * (catlen n bytes, catf, truncate, cat ""): past the limit -EMSGSIZE,
 * sticky until a truncate, and the contents always NUL-terminated.  In
 * both, the buffer holds exactly the model's bytes.
 */
#include <errno.h>

#include "fuzz.h"
#include "buf.h"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/* The buffer as text, against the model; frees the buffer. */
static void
fuzz_text(struct buf *b, struct fuzz_in *in, unsigned char *model,
    size_t max)
{
	size_t mlen = 0;
	int err = 0, r;

	while (in->n > 0) {
		unsigned op = fuzz_byte(in), n = fuzz_u16(in) % 1200;
		char s[32];
		int l;

		switch (op % 4) {
		case 0:
			if (n > in->n)
				n = (unsigned)in->n;
			r = buf_catlen(b, in->p, n);
			if (err == 0 && n > max - mlen)
				err = -EMSGSIZE;
			else if (err == 0) {
				memcpy(model + mlen, in->p, n);
				mlen += n;
			}
			FUZZ_CHECK(r == err);
			in->p += n;
			in->n -= n;
			break;
		case 1:
			l = snprintf(s, sizeof(s), "<%u:%zu>", n, mlen);
			r = buf_catf(b, "<%u:%zu>", n, mlen);
			if (err == 0 && (size_t)l > max - mlen)
				err = -EMSGSIZE;
			else if (err == 0) {
				memcpy(model + mlen, s, (size_t)l);
				mlen += (size_t)l;
			}
			FUZZ_CHECK(r == err);
			break;
		case 2:
			mlen = n % (mlen + 1);
			buf_truncate(b, mlen);
			err = 0;
			break;
		case 3:
			FUZZ_CHECK(buf_catlen(b, "", 0) == err);
			break;
		}
		FUZZ_CHECK(b->len == mlen && b->err == err);
		if (b->buf != NULL)
			FUZZ_CHECK(b->buf[b->off + b->len] == '\0');
		if (mlen > 0)
			FUZZ_CHECK(memcmp(buf_head(b), model, mlen) == 0);
	}
	buf_free(b);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in = { data, size };
	size_t max = fuzz_u16(&in) % 5000, mlen = 0;
	unsigned char *model = malloc(max + 1);
	struct buf b;
	int r;

	if (model == NULL)
		abort();
	buf_init(&b, max);
	if (max % 2 == 1) {
		fuzz_text(&b, &in, model, max);
		free(model);
		return 0;
	}
	while (in.n > 0) {
		unsigned op = fuzz_byte(&in), n = fuzz_u16(&in) % 1200;

		switch (op % 4) {
		case 0:
			if (n > in.n)
				n = (unsigned)in.n;
			r = buf_append(&b, in.p, n);
			if (n > max - mlen)
				FUZZ_CHECK(r == -ENOBUFS);
			else {
				FUZZ_CHECK(r == 0);
				memcpy(model + mlen, in.p, n);
				mlen += n;
			}
			in.p += n;
			in.n -= n;
			break;
		case 1: {
			char s[32];
			int l = snprintf(s, sizeof(s), "<%u:%zu>", n, mlen);

			r = buf_printf(&b, "<%u:%zu>", n, mlen);
			if ((size_t)l > max - mlen)
				FUZZ_CHECK(r == -ENOBUFS);
			else {
				FUZZ_CHECK(r == 0);
				memcpy(model + mlen, s, (size_t)l);
				mlen += (size_t)l;
			}
			break;
		}
		case 2:
			if (n > mlen)
				n = (unsigned)mlen;
			buf_consume(&b, n);
			memmove(model, model + n, mlen - n);
			mlen -= n;
			break;
		case 3:
			if (n % 7 == 0) {
				buf_reset(&b);
				mlen = 0;
			}
			break;
		}
		FUZZ_CHECK(b.len == mlen);
		FUZZ_CHECK(b.off + b.len <= b.size);
		FUZZ_CHECK(b.size <= (max > 256 ? max : 256));
		if (mlen > 0)
			FUZZ_CHECK(memcmp(buf_head(&b), model, mlen) == 0);
	}
	buf_free(&b);
	free(model);
	return 0;
}
