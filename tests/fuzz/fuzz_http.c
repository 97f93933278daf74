/* SPDX-License-Identifier: ISC */
/*
 * Fuzz target: the HTTP request-head parser (handler/http.c) and, on
 * every head it accepts, the WebSocket handshake (handler/wshandshake.c).
 *
 * Properties: the result is a head length within the input and within
 * HTTP_HEAD_MAX, "need more", or one of the documented errors; every
 * pointer of a parsed request lies inside the head; a decision taken on
 * a prefix is never changed by more bytes (so feeding one byte at a time
 * answers the same); the handshake answers 101/400/403/426 with one
 * complete response.
 */
#include <strings.h>

#include "fuzz.h"
#include "http.h"
#include "ws.h"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static void
check_span(const char *buf, size_t head, const char *p, size_t len)
{
	FUZZ_CHECK(p >= buf && len <= head && (size_t)(p - buf) <= head - len);
}

static void
check_request(const struct http_request *req, const char *buf, size_t head)
{
	size_t i, j, nhost = 0;

	check_span(buf, head, req->method, req->method_len);
	check_span(buf, head, req->target, req->target_len);
	FUZZ_CHECK(req->method_len > 0);
	FUZZ_CHECK(req->target_len > 0 && req->target[0] == '/');
	FUZZ_CHECK(req->target_len <= HTTP_TARGET_MAX);
	FUZZ_CHECK(req->path_len <= req->target_len);
	for (i = 0; i < req->target_len; i++)
		FUZZ_CHECK((unsigned char)req->target[i] > 0x20 &&
		    (unsigned char)req->target[i] < 0x7f);
	FUZZ_CHECK(req->minor == 0 || req->minor == 1);
	FUZZ_CHECK(req->nheaders <= HTTP_HEADERS_MAX);
	for (i = 0; i < req->nheaders; i++) {
		const struct http_header *h = &req->headers[i];

		check_span(buf, head, h->name, h->name_len);
		check_span(buf, head, h->value, h->value_len);
		FUZZ_CHECK(h->name_len > 0);
		for (j = 0; j < h->value_len; j++)
			FUZZ_CHECK(h->value[j] != '\r' && h->value[j] != '\n' &&
			    h->value[j] != '\0');
		if (h->value_len > 0)
			FUZZ_CHECK(h->value[0] != ' ' && h->value[0] != '\t' &&
			    h->value[h->value_len - 1] != ' ' &&
			    h->value[h->value_len - 1] != '\t');
		FUZZ_CHECK(http_header_find(req, "Host") == NULL ||
		    http_header_find(req, "host") != NULL);
		if (h->name_len == 4 && strncasecmp(h->name, "host", 4) == 0)
			nhost++;
	}
	/* RFC 9112 3.2: one Host at most, exactly one in HTTP/1.1. */
	if (http_check_host(req) == 0)
		FUZZ_CHECK(nhost == 1 || (nhost == 0 && req->minor == 0));
	else
		FUZZ_CHECK(http_check_host(req) == HTTP_BAD);
}

static void
check_handshake(const struct http_request *req, const char *origins,
    size_t outsz)
{
	struct ws_handshake_policy pol = { .origins = origins };
	char *out = malloc(outsz);
	int r;

	FUZZ_CHECK(out != NULL);
	(void)ws_is_upgrade(req);
	(void)http_header_has_token(http_header_find(req, "Connection"),
	    "upgrade");
	r = ws_handshake(req, &pol, out, outsz);
	FUZZ_CHECK(r == -1 || r == 101 || r == 400 || r == 403 || r == 426);
	if (r > 0) {
		size_t n = strnlen(out, outsz);

		const char *end = strstr(out, "\r\n\r\n"), *cl;

		FUZZ_CHECK(n < outsz);
		FUZZ_CHECK(end != NULL);
		end += 4;
		if (r == 101) {
			FUZZ_CHECK((size_t)(end - out) == n);
			FUZZ_CHECK(strstr(out, "Sec-WebSocket-Accept: ") != NULL);
		} else {
			/* A complete error response: the body as announced. */
			cl = strstr(out, "Content-Length: ");
			FUZZ_CHECK(cl != NULL && cl < end);
			FUZZ_CHECK(strtoul(cl + 16, NULL, 10) ==
			    (unsigned long)(out + n - end));
		}
	}
	free(out);
}

static int
parse_copy(struct http_request *req, const uint8_t *data, size_t k, char **keep)
{
	char *b = fuzz_dup(data, k);
	int r = http_parse_request(req, b, k);

	FUZZ_CHECK(r == HTTP_NEED_MORE || r == HTTP_BAD ||
	    r == HTTP_URI_TOO_LONG || r == HTTP_TOO_LARGE ||
	    r == HTTP_BAD_VERSION || (r > 0 && (size_t)r <= k &&
	    r <= HTTP_HEAD_MAX));
	if (r > 0)
		check_request(req, b, (size_t)r);
	if (keep != NULL)
		*keep = b;
	else
		free(b);
	return r;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct http_request req;
	int whole, r, decided = HTTP_NEED_MORE;
	size_t k, step;
	char *b;

	whole = parse_copy(&req, data, size, &b);
	if (whole > 0) {
		check_handshake(&req, "", 1024);
		check_handshake(&req, "http://a.example  https://b.example:8443",
		    1024);
		check_handshake(&req, NULL, 64);
	}
	free(b);

	/* Prefixes: all of them for short inputs, a sample for long ones. */
	step = size <= 512 ? 1 : size / 128;
	for (k = 0; k < size; k += step) {
		r = parse_copy(&req, data, k, NULL);
		if (decided != HTTP_NEED_MORE)
			FUZZ_CHECK(r == decided);
		decided = r;
	}
	if (decided != HTTP_NEED_MORE)
		FUZZ_CHECK(whole == decided);
	return 0;
}
