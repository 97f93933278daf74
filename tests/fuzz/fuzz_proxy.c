/* SPDX-License-Identifier: ISC */
/*
 * Fuzz target: the real client address behind a proxy (handler/proxy.c).
 *
 * Every prefix of the input, up to one byte past PROXY_HEADER_MAX, is
 * parsed from a buffer of exactly its size.  Properties: a connection
 * never changes its mind (once a header is whole, or refused, every
 * longer prefix says the same, with the same length and address); the
 * answer is decided by PROXY_HEADER_MAX bytes; a v1 header is at most
 * PROXY_V1_MAX bytes; an address found is one the hub can read back.
 * The input is also taken as an HTTP request head, whose
 * X-Forwarded-For or Forwarded gives a readable address or none.
 */
#include <sys/socket.h>

#include "fuzz.h"
#include "cidr.h"
#include "proxy.h"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/* Is `remote` an "address:port" cidr_remote() reads? */
static int
readable(const char *remote)
{
	unsigned char a[16];
	int fam;

	return cidr_remote(remote, a, &fam) == 0;
}

static void
headers(const uint8_t *data, size_t size)
{
	static struct http_request req;
	char remote[SB_REMOTE_MAX + 1] = "kept";
	char *b = fuzz_dup(data, size);

	if (http_parse_request(&req, b, size) > 0) {
		if (proxy_forwarded(&req, "127.0.0.0/8 ::1", remote,
		    sizeof(remote)))
			FUZZ_CHECK(readable(remote));
		else
			FUZZ_CHECK(strcmp(remote, "kept") == 0);
	}
	free(b);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	enum proxy_result r, decided = PROXY_NEED_MORE;
	struct proxy_header h, first;
	size_t k, last = size < PROXY_HEADER_MAX + 1 ? size :
	    PROXY_HEADER_MAX + 1;
	char *b;

	memset(&first, 0, sizeof(first));
	for (k = 0; k <= last; k++) {
		b = fuzz_dup(data, k);
		r = proxy_parse((const unsigned char *)b, k, &h);
		free(b);
		if (decided != PROXY_NEED_MORE) {
			FUZZ_CHECK(r == decided);
			if (r == PROXY_OK)
				FUZZ_CHECK(h.len == first.len &&
				    h.local == first.local &&
				    strcmp(h.remote, first.remote) == 0);
			continue;
		}
		if (k > PROXY_HEADER_MAX)
			FUZZ_CHECK(r != PROXY_NEED_MORE);
		if (r == PROXY_OK) {
			FUZZ_CHECK(h.len > 0 && h.len <= k);
			FUZZ_CHECK(h.version == 2 || h.len <= PROXY_V1_MAX);
			FUZZ_CHECK(h.local || readable(h.remote));
			first = h;
		}
		decided = r;
	}
	headers(data, size);
	return 0;
}
