/* SPDX-License-Identifier: ISC */
/*
 * The real client address behind a proxy: the PROXY protocol header
 * (HAProxy's proxy-protocol.txt, versions 1 and 2) that a proxy sends
 * before the client's bytes, and the X-Forwarded-For and Forwarded
 * (RFC 7239) headers of an HTTP proxy.  Pure, as sniff.c is: bytes in,
 * an address, "need more" or "bad" out; no I/O, no allocation.  Whether
 * to believe any of it (proxy_from) is the caller's: client_io.c.
 */
#ifndef SB_PROXY_H
#define SB_PROXY_H

#include <stddef.h>

#include "http.h"
#include "proto.h"

#define PROXY_V1_MAX		107	/* the longest v1 line, CRLF included */
#define PROXY_V2_SIG_LEN	12
#define PROXY_HEADER_MAX	536	/* v2 with TLVs: longer is refused */

enum proxy_result {
	PROXY_NEED_MORE,	/* a header so far: read more */
	PROXY_OK,		/* a whole header, of h->len bytes */
	PROXY_BAD,		/* not a PROXY header, or a malformed one */
};

struct proxy_header {
	size_t	 len;		/* bytes the header took */
	int	 version;	/* 1 or 2 */
	int	 local;		/* LOCAL, UNKNOWN, AF_UNSPEC or AF_UNIX: no
				   client address; keep the socket's */
	char	 remote[SB_REMOTE_MAX + 1];	/* "192.0.2.7:4321",
						   "[2001:db8::1]:4321" */
};

/* proxy.c */
enum proxy_result proxy_parse(const unsigned char *, size_t,
	    struct proxy_header *);
int	proxy_signature(const unsigned char *, size_t);
int	proxy_format_remote(char *, size_t, int, const void *, unsigned);
int	proxy_forwarded(const struct http_request *, const char *, char *,
	    size_t);

#endif /* SB_PROXY_H */
