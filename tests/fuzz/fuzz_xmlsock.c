/* SPDX-License-Identifier: ISC */
/*
 * Fuzz target: the XMLSocket stream splitter (handler/xmlsock.c),
 * against a reference written from its contract.
 *
 * Input: bytes 0-1 set the message cap `max`; the rest is the stream,
 * split message by message the way the session does.  Properties, at
 * every step: a message ends at the first NUL or LF, without the
 * terminator and without a CR before an LF; it never holds a NUL or LF;
 * one longer than `max` is refused (-1), and refused as soon as no
 * continuation could make it fit, never later; "need more" (0) only
 * while one still could.
 */
#include "fuzz.h"
#include "handler.h"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/* The contract of xmlsock_next(), the slow way. */
static int
ref_next(const char *b, size_t len, size_t max, size_t *ml, char *term)
{
	size_t t;

	for (t = 0; t < len; t++)
		if (b[t] == '\0' || b[t] == '\n')
			break;
	if (t < len) {
		*term = b[t];
		*ml = t;
		if (b[t] == '\n' && t > 0 && b[t - 1] == '\r')
			(*ml)--;
		return *ml <= max ? (int)(t + 1) : -1;
	}
	/* No end yet: could one still come soon enough? */
	if (len <= max || (len == max + 1 && b[max] == '\r'))
		return 0;
	return -1;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in = { data, size };
	size_t max = 1 + fuzz_u16(&in) % 9000, off = 0;
	char *s = fuzz_dup(in.p, in.n);

	for (;;) {
		size_t ml = 12345, rml = 54321, len = in.n - off;
		char term = 'x', rterm = 'y';
		char *b = fuzz_dup(s + off, len);
		int r = xmlsock_next(b, len, max, &ml, &term);
		int rr = ref_next(b, len, max, &rml, &rterm);

		FUZZ_CHECK(r == rr);
		if (r > 0) {
			FUZZ_CHECK(ml == rml && term == rterm);
			FUZZ_CHECK(ml <= max && ml < (size_t)r);
			FUZZ_CHECK(memchr(b, '\0', ml) == NULL);
			FUZZ_CHECK(memchr(b, '\n', ml) == NULL);
		}
		free(b);
		if (r <= 0)
			break;
		off += (size_t)r;
	}
	free(s);
	return 0;
}
