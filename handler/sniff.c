/* SPDX-License-Identifier: ISC */
/*
 * The first bytes of a connection decide what it speaks.
 */
#include <assert.h>
#include <string.h>

#include "handler.h"

#define POLICY_REQUEST	"<policy-file-request/>"

static const char *http_methods[] = {
	"GET ", "HEAD ", "POST ", "PUT ", "DELETE ", "OPTIONS ", "PATCH ",
	"CONNECT ", "TRACE ",
};

/* Is buf[0..len) a proper prefix of s, or does it start with s? */
static int
match(const char *buf, size_t len, const char *s, int *prefix)
{
	size_t sl = strlen(s);

	if (len < sl) {
		if (memcmp(buf, s, len) == 0)
			*prefix = 1;
		return 0;
	}
	return memcmp(buf, s, sl) == 0;
}

/*
 * Classify a connection from its first `len` bytes: SNIFF_POLICY for a
 * Flash policy request (terminated by NUL, or a line end for someone
 * typing), SNIFF_HTTP for an HTTP request line, SNIFF_XMLSOCKET for
 * anything else, SNIFF_NEED_MORE while the bytes could still become
 * either of the first two.
 */
enum sniff_result
sniff(const char *buf, size_t len)
{
	const size_t pl = sizeof(POLICY_REQUEST) - 1;
	int prefix = 0;
	size_t i;

	assert(buf != NULL || len == 0);
	if (len == 0)
		return SNIFF_NEED_MORE;
	if (match(buf, len, POLICY_REQUEST, &prefix)) {
		if (len == pl)
			return SNIFF_NEED_MORE;
		if (buf[pl] == '\0' || buf[pl] == '\n' ||
		    (buf[pl] == '\r' && (len == pl + 1 || buf[pl + 1] == '\n')))
			return len == pl + 1 && buf[pl] == '\r' ?
			    SNIFF_NEED_MORE : SNIFF_POLICY;
		return SNIFF_XMLSOCKET;
	}
	for (i = 0; i < sizeof(http_methods) / sizeof(http_methods[0]); i++)
		if (match(buf, len, http_methods[i], &prefix))
			return SNIFF_HTTP;
	return prefix ? SNIFF_NEED_MORE : SNIFF_XMLSOCKET;
}
