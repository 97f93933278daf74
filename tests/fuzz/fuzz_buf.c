/* SPDX-License-Identifier: ISC */
/*
 * Fuzz target: the bounded buffer (common/buf.c) against a model.
 *
 * Input: byte 0-1 set the limit; then operations: append n bytes,
 * printf, consume n, reset.  A plain array follows the same operations.
 * Properties: an append past the limit fails with -ENOBUFS and changes
 * nothing; otherwise the buffer holds exactly the model's bytes; the
 * allocation never exceeds what the limit needs (max, or 256 below it).
 */
#include <errno.h>

#include "fuzz.h"
#include "buf.h"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

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
		FUZZ_CHECK(b.off + b.len <= b.cap);
		FUZZ_CHECK(b.cap <= (max > 256 ? max : 256));
		if (mlen > 0)
			FUZZ_CHECK(memcmp(buf_head(&b), model, mlen) == 0);
	}
	buf_free(&b);
	free(model);
	return 0;
}
