/* SPDX-License-Identifier: ISC */
/*
 * A pure HTTP/1.x request-head parser (RFC 9112 request line and header
 * fields).  It re-parses from the start of the buffer on every call, and
 * checks each byte where it is read, so a malformed head is rejected as
 * soon as the offending byte arrives, even when fed one byte at a time.
 */
#include <assert.h>
#include <string.h>
#include <strings.h>

#include "http.h"

/* Internal results, besides HTTP_NEED_MORE (0) and the HTTP_* errors. */
enum { PARSE_OK = 1, PARSE_END = 2 };

/* RFC 9110 tchar: the characters of a token. */
static int
is_tchar(unsigned char c)
{
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9'))
		return 1;
	return c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

/* A byte allowed in a field value: VCHAR, obs-text, SP or HTAB. */
static int
is_value_char(unsigned char c)
{
	return c == '\t' || (c >= 0x20 && c != 0x7f);
}

/*
 * Read a line end (CRLF or bare LF) at buf[*i].  PARSE_OK advances *i
 * past it; a CR not followed by LF, or any other byte, is HTTP_BAD.
 */
static int
parse_eol(const char *buf, size_t len, size_t *i)
{
	if (*i >= len)
		return HTTP_NEED_MORE;
	if (buf[*i] == '\r') {
		if (*i + 1 >= len)
			return HTTP_NEED_MORE;
		if (buf[*i + 1] != '\n')
			return HTTP_BAD;
		*i += 2;
		return PARSE_OK;
	}
	if (buf[*i] != '\n')
		return HTTP_BAD;
	*i += 1;
	return PARSE_OK;
}

/*
 * Read "HTTP/1.x" at buf[*i], checking each byte as it arrives: a prefix
 * of "HTTP/d.d" is NEED_MORE, another HTTP version HTTP_BAD_VERSION,
 * anything else HTTP_BAD.
 */
static int
parse_version(struct http_request *req, const char *buf, size_t len,
    size_t *i)
{
	static const char pattern[] = "HTTP/d.d";
	size_t k;

	for (k = 0; k < sizeof(pattern) - 1; k++) {
		if (*i + k >= len)
			return HTTP_NEED_MORE;
		if (pattern[k] == 'd') {
			if (buf[*i + k] < '0' || buf[*i + k] > '9')
				return HTTP_BAD;
		} else if (buf[*i + k] != pattern[k])
			return HTTP_BAD;
	}
	/* "HTTP/2.01" is garbage, not a version we do not speak. */
	if (*i + k >= len)
		return HTTP_NEED_MORE;
	if (buf[*i + k] != '\r' && buf[*i + k] != '\n')
		return HTTP_BAD;
	if (buf[*i + 5] != '1' || (buf[*i + 7] != '0' && buf[*i + 7] != '1'))
		return HTTP_BAD_VERSION;
	req->minor = buf[*i + 7] - '0';
	*i += k;
	return PARSE_OK;
}

/*
 * Parse "method SP origin-form SP HTTP-version EOL" at the start of buf.
 * The target is limited to HTTP_TARGET_MAX bytes (HTTP_URI_TOO_LONG as
 * soon as it is longer) and may hold only visible ASCII.
 */
static int
parse_request_line(struct http_request *req, const char *buf, size_t len,
    size_t *i)
{
	int r;

	req->method = buf;
	while (*i < len && is_tchar((unsigned char)buf[*i]))
		(*i)++;
	if (*i >= len)
		return HTTP_NEED_MORE;
	req->method_len = *i;
	if (req->method_len == 0 || buf[(*i)++] != ' ')
		return HTTP_BAD;

	if (*i >= len)
		return HTTP_NEED_MORE;
	if (buf[*i] != '/')
		return HTTP_BAD;
	req->target = buf + *i;
	req->path_len = 0;
	for (req->target_len = 0; *i < len && buf[*i] != ' '; (*i)++) {
		unsigned char c = (unsigned char)buf[*i];

		if (c <= 0x20 || c >= 0x7f)
			return HTTP_BAD;
		if (++req->target_len > HTTP_TARGET_MAX)
			return HTTP_URI_TOO_LONG;
		if (c == '?' && req->path_len == 0)
			req->path_len = req->target_len - 1;
	}
	if (*i >= len)
		return HTTP_NEED_MORE;
	if (req->path_len == 0)
		req->path_len = req->target_len;
	(*i)++;		/* the SP */

	if ((r = parse_version(req, buf, len, i)) != PARSE_OK)
		return r;
	return parse_eol(buf, len, i);
}

/*
 * Parse one header line at buf[*i], or the empty line that ends the head
 * (PARSE_END).  A line starting with a blank is obsolete folding; one
 * header more than HTTP_HEADERS_MAX is HTTP_TOO_LARGE.
 */
static int
parse_header_line(struct http_request *req, const char *buf, size_t len,
    size_t *i)
{
	struct http_header *h;
	size_t start, end;
	int r;

	if (*i >= len)
		return HTTP_NEED_MORE;
	if (buf[*i] == '\r' || buf[*i] == '\n') {
		if ((r = parse_eol(buf, len, i)) != PARSE_OK)
			return r;
		return PARSE_END;
	}
	if (buf[*i] == ' ' || buf[*i] == '\t')
		return HTTP_BAD;
	if (req->nheaders == HTTP_HEADERS_MAX)
		return HTTP_TOO_LARGE;

	h = &req->headers[req->nheaders];
	h->name = buf + *i;
	for (start = *i; *i < len && is_tchar((unsigned char)buf[*i]); (*i)++)
		;
	if (*i >= len)
		return HTTP_NEED_MORE;
	h->name_len = *i - start;
	if (h->name_len == 0 || buf[(*i)++] != ':')
		return HTTP_BAD;

	while (*i < len && (buf[*i] == ' ' || buf[*i] == '\t'))
		(*i)++;
	start = end = *i;
	for (; *i < len && buf[*i] != '\r' && buf[*i] != '\n'; (*i)++) {
		if (!is_value_char((unsigned char)buf[*i]))
			return HTTP_BAD;
		if (buf[*i] != ' ' && buf[*i] != '\t')
			end = *i + 1;
	}
	if ((r = parse_eol(buf, len, i)) != PARSE_OK)
		return r;
	h->value = buf + start;
	h->value_len = end - start;
	req->nheaders++;
	return PARSE_OK;
}

/*
 * Parse the request head at the start of buf[0..len) into req, whose
 * pointers then point into buf.  Only the first HTTP_HEAD_MAX bytes can
 * hold a head: once more bytes than that have arrived without a complete
 * head, the answer is HTTP_TOO_LARGE, without waiting for the rest.
 * Returns the head's size, HTTP_NEED_MORE, or a negative HTTP_* code.
 */
int
http_parse_request(struct http_request *req, const char *buf, size_t len)
{
	size_t lim = len < HTTP_HEAD_MAX ? len : HTTP_HEAD_MAX;
	size_t i = 0;
	int r;

	assert(req != NULL);
	assert(buf != NULL || len == 0);

	req->nheaders = 0;
	req->minor = 0;
	r = parse_request_line(req, buf, lim, &i);
	while (r == PARSE_OK)
		r = parse_header_line(req, buf, lim, &i);
	if (r == PARSE_END)
		return (int)i;
	if (r == HTTP_NEED_MORE && len > HTTP_HEAD_MAX)
		return HTTP_TOO_LARGE;
	return r;
}

/*
 * A Host value: uri-host [ ":" port ] (RFC 3986): reg-name characters
 * (unreserved, pct-encoded, sub-delims), or an IP literal in brackets.
 * Checked by character, which is enough to keep a Host that cannot name
 * a host (blanks, '/', '@', quotes, brackets elsewhere) out.
 */
static int
host_value_ok(const char *v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)v[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || (c != '\0' &&
		    strchr("-._~%!$&'()*+,;=:", c) != NULL) || (c == '[' && i == 0) ||
		    (c == ']' && v[0] == '[')))
			return 0;
	}
	return 1;
}

int
http_check_host(const struct http_request *req)
{
	const struct http_header *host = NULL;
	size_t i;

	assert(req != NULL);
	for (i = 0; i < req->nheaders; i++) {
		const struct http_header *h = &req->headers[i];

		if (h->name_len != 4 || strncasecmp(h->name, "Host", 4) != 0)
			continue;
		if (host != NULL)
			return HTTP_BAD;
		host = h;
	}
	if (host == NULL)
		return req->minor >= 1 ? HTTP_BAD : 0;
	return host_value_ok(host->value, host->value_len) ? 0 : HTTP_BAD;
}

const struct http_header *
http_header_find(const struct http_request *req, const char *name)
{
	size_t i, n;

	assert(req != NULL);
	assert(name != NULL);

	n = strlen(name);
	for (i = 0; i < req->nheaders; i++) {
		const struct http_header *h = &req->headers[i];

		if (h->name_len == n && strncasecmp(h->name, name, n) == 0)
			return h;
	}
	return NULL;
}

/*
 * Walk the comma-separated list in h's value (RFC 9110 #token, empty
 * elements and blanks around them allowed) and compare each element with
 * token, ignoring case.  A NULL header contains nothing.
 */
int
http_header_has_token(const struct http_header *h, const char *token)
{
	const char *p, *end, *elem, *elem_end;
	size_t n;

	assert(token != NULL);
	if (h == NULL)
		return 0;

	n = strlen(token);
	p = h->value;
	end = h->value + h->value_len;
	while (p < end) {
		while (p < end && (*p == ' ' || *p == '\t'))
			p++;
		elem = p;
		while (p < end && *p != ',')
			p++;
		elem_end = p;
		while (elem_end > elem &&
		    (elem_end[-1] == ' ' || elem_end[-1] == '\t'))
			elem_end--;
		if ((size_t)(elem_end - elem) == n &&
		    strncasecmp(elem, token, n) == 0)
			return 1;
		if (p < end)
			p++;	/* the comma */
	}
	return 0;
}
