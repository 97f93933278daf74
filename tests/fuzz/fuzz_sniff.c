/* SPDX-License-Identifier: ISC */
/*
 * Fuzz target: the protocol sniffer (handler/sniff.c).
 *
 * Every prefix of the input is sniffed from a buffer of exactly its
 * size.  Properties: once a prefix is decided, every longer prefix gets
 * the same answer (a connection never changes its mind); the answer is
 * decided by the 24th byte at the latest (the longest thing it waits for
 * is "<policy-file-request/>\r\n"), so sniffing cannot be kept waiting.
 */
#include "fuzz.h"
#include "handler.h"

#define SNIFF_DECIDED_BY	24

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	enum sniff_result r, decided = SNIFF_NEED_MORE;
	size_t k, last = size < 64 ? size : 64;
	char *b;

	for (k = 0; k <= last; k++) {
		b = fuzz_dup(data, k);
		r = sniff(b, k);
		free(b);
		FUZZ_CHECK(r == SNIFF_NEED_MORE || r == SNIFF_POLICY ||
		    r == SNIFF_HTTP || r == SNIFF_XMLSOCKET);
		if (decided != SNIFF_NEED_MORE)
			FUZZ_CHECK(r == decided);
		decided = r;
		if (k >= SNIFF_DECIDED_BY)
			FUZZ_CHECK(r != SNIFF_NEED_MORE);
		if (k == 0)
			FUZZ_CHECK(r == SNIFF_NEED_MORE);
	}
	if (size > last) {
		b = fuzz_dup(data, size);
		FUZZ_CHECK(sniff(b, size) == decided);
		free(b);
	}
	return 0;
}
