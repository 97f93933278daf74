/* SPDX-License-Identifier: ISC */
/*
 * A small, pure HTTP/1.x request parser: bytes in, result out, no I/O and
 * no allocation, so it can be fed one byte at a time.  It only reads the
 * request head (request line and headers); Switchboard never reads a body.
 */
#ifndef SB_HTTP_H
#define SB_HTTP_H

#include <stddef.h>

#define HTTP_HEAD_MAX		8192	/* request line + headers: 431 above */
#define HTTP_HEADERS_MAX	48	/* header lines: 431 above */
#define HTTP_TARGET_MAX		1024	/* request target: 414 above */

struct http_header {
	const char	*name;		/* points into the caller's buffer */
	size_t		 name_len;
	const char	*value;		/* leading/trailing blanks trimmed */
	size_t		 value_len;
};

struct http_request {
	const char	*method;	/* "GET", "HEAD", ... */
	size_t		 method_len;
	const char	*target;	/* "/path?query" as sent */
	size_t		 target_len;
	size_t		 path_len;	/* bytes of target before '?' */
	int		 minor;		/* HTTP/1.<minor> */
	size_t		 nheaders;
	struct http_header headers[HTTP_HEADERS_MAX];
};

enum {
	HTTP_NEED_MORE = 0,	/* head not complete yet */
	HTTP_BAD = -400,	/* malformed: answer 400 */
	HTTP_URI_TOO_LONG = -414,
	HTTP_TOO_LARGE = -431,	/* head or header count over the limits */
	HTTP_BAD_VERSION = -505,
};

/*
 * Parse the request head at the start of buf[0..len).  Returns the number
 * of bytes of the head (through the empty line) when complete,
 * HTTP_NEED_MORE when more bytes are needed, or a negative HTTP_* code.
 * Accepts CRLF and bare LF line ends; rejects obsolete line folding,
 * control characters, and header names that are not tokens.
 */
int	http_parse_request(struct http_request *, const char *, size_t);

/*
 * RFC 9112 section 3.2 on a parsed head: 0 when its Host is acceptable,
 * else HTTP_BAD.  HTTP/1.1 needs exactly one Host; no request may have
 * two; a Host value must be a uri-host with an optional port.
 */
int	http_check_host(const struct http_request *);

/* The first header named `name` (case-insensitive), or NULL. */
const struct http_header *http_header_find(const struct http_request *,
	    const char *);

/* Does a comma-separated header value contain `token` (case-insensitive)? */
int	http_header_has_token(const struct http_header *, const char *);

#endif /* SB_HTTP_H */
