/* SPDX-License-Identifier: ISC */
/*
 * The real client address behind a proxy (see proxy.h): the PROXY
 * protocol header, versions 1 and 2, and the X-Forwarded-For and
 * Forwarded headers.
 */
#include <sys/socket.h>

#include <arpa/inet.h>
#include <assert.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "cidr.h"
#include "proxy.h"

#define V1_PREFIX	"PROXY "
#define V2_SIG		"\r\n\r\n\0\r\nQUIT\n"
#define V2_HDR		16	/* signature, version and command, family,
				   length */

/* Does p[0..len) begin like `sig` (all of it, or as much as there is)? */
static int
begins(const unsigned char *p, size_t len, const char *sig, size_t slen)
{
	return memcmp(p, sig, len < slen ? len : slen) == 0;
}

/*
 * Do p[0..len) begin with a whole PROXY signature, v1's "PROXY " or v2's
 * twelve bytes?  For the ports that take no header: a client there
 * sending one is refused, never believed.
 */
int
proxy_signature(const unsigned char *p, size_t len)
{
	assert(p != NULL || len == 0);
	return (len >= sizeof(V1_PREFIX) - 1 &&
	    memcmp(p, V1_PREFIX, sizeof(V1_PREFIX) - 1) == 0) ||
	    (len >= PROXY_V2_SIG_LEN &&
	    memcmp(p, V2_SIG, PROXY_V2_SIG_LEN) == 0);
}

/*
 * A client address as the handler writes it, "host:port" or
 * "[host]:port", from the address `a` of family `fam` (AF_INET or
 * AF_INET6, network order) and `port`.  Returns 0, or -1 when it does not
 * fit in `size`.
 */
int
proxy_format_remote(char *out, size_t size, int fam, const void *a,
    unsigned port)
{
	char host[INET6_ADDRSTRLEN];
	int w;

	if (inet_ntop(fam, a, host, sizeof(host)) == NULL)
		return -1;
	w = snprintf(out, size, fam == AF_INET6 ? "[%s]:%u" : "%s:%u", host,
	    port);
	return w < 0 || (size_t)w >= size ? -1 : 0;
}

/* A v1 port: 1 to 5 digits, no leading zero, at most 65535; or -1. */
static long
v1_port(const char *s)
{
	size_t n = strspn(s, "0123456789");
	long v = 0;

	if (n == 0 || n > 5 || s[n] != '\0' || (s[0] == '0' && n > 1))
		return -1;
	while (*s != '\0')
		v = v * 10 + (*s++ - '0');
	return v > 65535 ? -1 : v;
}

/*
 * A v1 line without its CRLF, line[0..len): "PROXY TCP4 src dst sport
 * dport", "PROXY TCP6 ...", or "PROXY UNKNOWN" and anything.  Exactly one
 * space between the words.
 */
static enum proxy_result
v1_line(const char *line, size_t len, struct proxy_header *h)
{
	char buf[PROXY_V1_MAX + 1], *w[7], *s;
	unsigned char a[16];
	long sport, dport;
	size_t n = 0;
	int fam;

	memcpy(buf, line, len);
	buf[len] = '\0';
	if (strncmp(buf, "PROXY UNKNOWN", 13) == 0 &&
	    (buf[13] == '\0' || buf[13] == ' ')) {
		h->local = 1;
		return PROXY_OK;
	}
	for (s = buf; n < 7; n++) {
		w[n] = s;
		if ((s = strchr(s, ' ')) == NULL) {
			n++;
			break;
		}
		*s++ = '\0';
	}
	if (n != 6 || s != NULL)
		return PROXY_BAD;
	if (strcmp(w[1], "TCP4") == 0)
		fam = AF_INET;
	else if (strcmp(w[1], "TCP6") == 0)
		fam = AF_INET6;
	else
		return PROXY_BAD;
	if (inet_pton(fam, w[3], a) != 1 || inet_pton(fam, w[2], a) != 1 ||
	    (sport = v1_port(w[4])) < 0 || (dport = v1_port(w[5])) < 0)
		return PROXY_BAD;
	return proxy_format_remote(h->remote, sizeof(h->remote), fam, a,
	    (unsigned)sport) < 0 ? PROXY_BAD : PROXY_OK;
}

/* Version 1: one line of text, at most PROXY_V1_MAX bytes with CRLF. */
static enum proxy_result
v1_parse(const unsigned char *p, size_t len, struct proxy_header *h)
{
	size_t i, max = len < PROXY_V1_MAX ? len : PROXY_V1_MAX;

	if (!begins(p, len, V1_PREFIX, sizeof(V1_PREFIX) - 1))
		return PROXY_BAD;
	for (i = 0; i < max; i++) {
		if (p[i] == '\r')
			break;
		if (p[i] < 0x20 || p[i] > 0x7e)
			return PROXY_BAD;
	}
	if (i == max)
		return len >= PROXY_V1_MAX ? PROXY_BAD : PROXY_NEED_MORE;
	if (i + 1 >= len)
		return i + 1 >= PROXY_V1_MAX ? PROXY_BAD : PROXY_NEED_MORE;
	if (p[i + 1] != '\n')
		return PROXY_BAD;
	h->version = 1;
	h->len = i + 2;
	return v1_line((const char *)p, i, h);
}

/*
 * Version 2: the signature, version 2 and a command (LOCAL or PROXY), the
 * family and transport, the length of what follows (addresses, then
 * TLVs, which are skipped).  TCP over IPv4 and IPv6 give an address;
 * AF_UNSPEC and AF_UNIX streams keep the socket's; the rest is refused.
 */
static enum proxy_result
v2_parse(const unsigned char *p, size_t len, struct proxy_header *h)
{
	size_t body;

	if (!begins(p, len, V2_SIG, PROXY_V2_SIG_LEN))
		return PROXY_BAD;
	if (len > PROXY_V2_SIG_LEN && (p[12] >> 4 != 2 || (p[12] & 0xf) > 1))
		return PROXY_BAD;
	if (len < V2_HDR)
		return PROXY_NEED_MORE;
	body = (size_t)p[14] << 8 | p[15];
	if (V2_HDR + body > PROXY_HEADER_MAX)
		return PROXY_BAD;
	if (len < V2_HDR + body)
		return PROXY_NEED_MORE;
	h->version = 2;
	h->len = V2_HDR + body;
	if ((p[12] & 0xf) == 0 || p[13] == 0x00 || p[13] == 0x31) {
		h->local = 1;	/* LOCAL: the proxy's own, a health check */
		return PROXY_OK;
	}
	if (p[13] == 0x11 && body >= 12)
		return proxy_format_remote(h->remote, sizeof(h->remote), AF_INET,
		    p + V2_HDR, (unsigned)p[V2_HDR + 8] << 8 | p[V2_HDR + 9]) < 0 ?
		    PROXY_BAD : PROXY_OK;
	if (p[13] == 0x21 && body >= 36)
		return proxy_format_remote(h->remote, sizeof(h->remote), AF_INET6,
		    p + V2_HDR, (unsigned)p[V2_HDR + 32] << 8 |
		    p[V2_HDR + 33]) < 0 ? PROXY_BAD : PROXY_OK;
	return PROXY_BAD;
}

/*
 * Parse the PROXY header at the start of p[0..len), version 1 or 2.
 * Returns PROXY_OK with *h filled (h->len bytes are the header; what
 * follows is the client's), PROXY_NEED_MORE while p could still become
 * one, PROXY_BAD when it cannot (not a header, malformed, a family other
 * than TCP, or longer than PROXY_HEADER_MAX).  May be fed any split.
 */
enum proxy_result
proxy_parse(const unsigned char *p, size_t len, struct proxy_header *h)
{
	assert((p != NULL || len == 0) && h != NULL);
	memset(h, 0, sizeof(*h));
	if (len == 0)
		return PROXY_NEED_MORE;
	if (p[0] == 'P')
		return v1_parse(p, len, h);
	return v2_parse(p, len, h);
}

/*
 * One node of X-Forwarded-For or of Forwarded's for=, s[0..len): an
 * address, an IPv4 address with ":port", or "[IPv6]" with an optional
 * ":port"; quotes around it are dropped.  Into remote as "host:port"
 * (port 0 when none).  Returns 0, or -1 for anything else ("unknown",
 * an obfuscated "_name", garbage).
 */
static int
node_parse(const char *s, size_t len, char *remote, size_t size)
{
	char host[INET6_ADDRSTRLEN + 1], port[8] = "0";
	const char *end = s + len, *colon, *ps = NULL;
	unsigned char a[16];
	long pv = 0;
	int fam;

	if (len >= 2 && s[0] == '"' && s[len - 1] == '"') {
		s++;
		end--;
	}
	if (s < end && *s == '[') {
		if ((colon = memchr(s, ']', (size_t)(end - s))) == NULL)
			return -1;
		if (colon + 1 < end && colon[1] != ':')
			return -1;
		ps = colon + 1 < end ? colon + 2 : NULL;
		s++;
	} else if ((colon = memchr(s, ':', (size_t)(end - s))) != NULL &&
	    memchr(colon + 1, ':', (size_t)(end - colon - 1)) == NULL)
		ps = colon + 1;		/* IPv4 with a port */
	else
		colon = end;		/* a bare address */
	if ((size_t)(colon - s) >= sizeof(host) ||
	    (ps != NULL && (size_t)(end - ps) >= sizeof(port)))
		return -1;
	memcpy(host, s, (size_t)(colon - s));
	host[colon - s] = '\0';
	if (ps != NULL) {
		memcpy(port, ps, (size_t)(end - ps));
		port[end - ps] = '\0';
		if ((pv = v1_port(port)) < 0)
			return -1;
	}
	fam = strchr(host, ':') ? AF_INET6 : AF_INET;
	if (inet_pton(fam, host, a) != 1)
		return -1;
	return proxy_format_remote(remote, size, fam, a, (unsigned)pv);
}

/* Forwarded's element s[0..len): where its for= value is, or NULL. */
static const char *
forwarded_for(const char *s, size_t len, size_t *vlen)
{
	const char *end = s + len, *pair, *semi;
	size_t pl;

	for (pair = s; pair < end; pair = semi + 1) {
		while (pair < end && (*pair == ' ' || *pair == '\t'))
			pair++;
		semi = memchr(pair, ';', (size_t)(end - pair));
		if (semi == NULL)
			semi = end;
		pl = (size_t)(semi - pair);
		while (pl > 0 && (pair[pl - 1] == ' ' || pair[pl - 1] == '\t'))
			pl--;
		if (pl >= 4 && strncasecmp(pair, "for=", 4) == 0) {
			*vlen = pl - 4;
			return pair + 4;
		}
	}
	return NULL;
}

/*
 * One hop of a header's list, value[0..len), the right-most first: its
 * node into `node`.  Returns the length left of it (the hops before), or
 * -1 when the hop holds no address.
 */
static long
hop_prev(const char *value, size_t len, int forwarded, char *node,
    size_t size)
{
	const char *comma = NULL, *e, *s;
	size_t i, el;

	for (i = len; i > 0; i--)
		if (value[i - 1] == ',') {
			comma = value + i - 1;
			break;
		}
	s = comma ? comma + 1 : value;
	el = (size_t)(value + len - s);
	while (el > 0 && (*s == ' ' || *s == '\t')) {
		s++;
		el--;
	}
	while (el > 0 && (s[el - 1] == ' ' || s[el - 1] == '\t'))
		el--;
	if (forwarded && (e = forwarded_for(s, el, &el)) != NULL)
		s = e;
	else if (forwarded)
		return -1;
	if (node_parse(s, el, node, size) < 0)
		return -1;
	return comma ? (long)(comma - value) : 0;
}

/*
 * The client's address from an HTTP proxy's headers: Forwarded (RFC 7239)
 * if there is one, else X-Forwarded-For, every line of it, read from the
 * right: the right-most hop whose address is not in `trusted` (a
 * proxy_from list) is the client; if all are, the left-most.  Into
 * remote as "host:port".  Returns 1, or 0 when there is no such header or
 * the hop that would be the client holds no address ("unknown", a name):
 * the caller keeps the address it has.
 */
int
proxy_forwarded(const struct http_request *req, const char *trusted,
    char *remote, size_t size)
{
	const char *name;
	char node[SB_REMOTE_MAX + 1];
	size_t i;
	long left;

	assert(req != NULL && trusted != NULL && remote != NULL);
	name = http_header_find(req, "Forwarded") ? "Forwarded" :
	    "X-Forwarded-For";
	node[0] = '\0';
	for (i = req->nheaders; i-- > 0; ) {
		const struct http_header *hd = &req->headers[i];

		if (hd->name_len != strlen(name) ||
		    strncasecmp(hd->name, name, hd->name_len) != 0)
			continue;
		left = (long)hd->value_len;
		do {
			left = hop_prev(hd->value, (size_t)left,
			    name[0] == 'F', node, sizeof(node));
			if (left < 0)
				return 0;
			if (!cidr_list_match(trusted, node))
				goto found;
		} while (left > 0);
	}
	if (node[0] == '\0')
		return 0;
found:
	return snprintf(remote, size, "%s", node) < (int)size;
}
