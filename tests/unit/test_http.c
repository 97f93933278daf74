/* SPDX-License-Identifier: ISC */
/*
 * Unit tests for handler/http.c.  Every request is parsed whole and one
 * byte at a time (each prefix placed at the end of a page followed by an
 * unreadable page, so that an over-read crashes).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "../../handler/http.h"

/* A buffer whose last byte is followed by a PROT_NONE page. */
struct guard {
	unsigned char	*base;
	size_t		 size, span;
};

static void
guard_init(struct guard *g, size_t len)
{
	size_t pg = (size_t)sysconf(_SC_PAGESIZE);

	g->span = (len + pg - 1) / pg * pg + pg;
	g->size = g->span + pg;
	g->base = mmap(NULL, g->size, PROT_READ | PROT_WRITE,
	    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	assert_true(g->base != MAP_FAILED);
	assert_int_equal(mprotect(g->base + g->span, pg, PROT_NONE), 0);
}

/* Copy data so that it ends right at the unreadable page. */
static const char *
guard_put(struct guard *g, const void *data, size_t len)
{
	unsigned char *p = g->base + g->span - len;

	memcpy(p, data, len);
	return (const char *)p;
}

static void
guard_free(struct guard *g)
{
	munmap(g->base, g->size);
}

/*
 * Parse s[0..len) one byte at a time, then whole.  Every prefix must
 * answer NEED_MORE until the answer is decided, and the same answer from
 * then on (a complete head answers its size, which does not change).
 * Returns the answer for the whole input; req holds its parse.
 */
static int
parse(struct http_request *req, const char *s, size_t len)
{
	struct guard g;
	int r, decided = HTTP_NEED_MORE;
	size_t k;

	guard_init(&g, len);
	for (k = 0; k <= len; k++) {
		r = http_parse_request(req, guard_put(&g, s, k), k);
		if (decided != HTTP_NEED_MORE)
			assert_int_equal(r, decided);
		decided = r;
	}
	guard_free(&g);
	r = http_parse_request(req, s, len);
	assert_int_equal(r, decided);
	return r;
}

static int
parse_str(struct http_request *req, const char *s)
{
	return parse(req, s, strlen(s));
}

static void
assert_span(const char *p, size_t len, const char *want)
{
	assert_int_equal(len, strlen(want));
	assert_memory_equal(p, want, len);
}

static void
test_simple_get(void **state)
{
	static const char req_s[] =
	    "GET /chat?room=lobby HTTP/1.1\r\n"
	    "Host: example.com\r\n"
	    "X-Blank:   \t \r\n"
	    "User-Agent: \t a b  c \t\r\n"
	    "\r\n";
	struct http_request req;

	assert_int_equal(parse_str(&req, req_s), (int)strlen(req_s));
	assert_span(req.method, req.method_len, "GET");
	assert_span(req.target, req.target_len, "/chat?room=lobby");
	assert_int_equal(req.path_len, 5);
	assert_int_equal(req.minor, 1);
	assert_int_equal(req.nheaders, 3);
	assert_span(req.headers[0].name, req.headers[0].name_len, "Host");
	assert_span(req.headers[0].value, req.headers[0].value_len,
	    "example.com");
	assert_span(req.headers[1].value, req.headers[1].value_len, "");
	assert_span(req.headers[2].value, req.headers[2].value_len, "a b  c");
}

static void
test_lf_only_and_mixed(void **state)
{
	static const char lf[] = "HEAD / HTTP/1.0\nHost: x\nA: b\n\n";
	static const char mixed[] = "GET / HTTP/1.1\r\nHost: x\n\r\n";
	static const char nohdr[] = "GET /a/b HTTP/1.1\n\n";
	struct http_request req;

	assert_int_equal(parse_str(&req, lf), (int)strlen(lf));
	assert_span(req.method, req.method_len, "HEAD");
	assert_int_equal(req.minor, 0);
	assert_int_equal(req.nheaders, 2);
	assert_span(req.headers[1].value, req.headers[1].value_len, "b");

	assert_int_equal(parse_str(&req, mixed), (int)strlen(mixed));
	assert_int_equal(req.nheaders, 1);

	assert_int_equal(parse_str(&req, nohdr), (int)strlen(nohdr));
	assert_int_equal(req.nheaders, 0);
	assert_int_equal(req.path_len, 4);
}

static void
test_bytes_after_head(void **state)
{
	static const char s[] = "GET / HTTP/1.1\r\nHost: x\r\n\r\nGARBAGE\x01";
	struct http_request req;

	assert_int_equal(parse_str(&req, s), (int)strlen(s) - 8);
}

static void
test_malformed_request_line(void **state)
{
	static const char *const bad[] = {
		"",				/* see below: empty is NEED_MORE */
		"\r\nGET / HTTP/1.1\r\n\r\n",	/* leading empty line */
		" GET / HTTP/1.1\r\n\r\n",
		"GET  / HTTP/1.1\r\n\r\n",
		"GET\t/ HTTP/1.1\r\n\r\n",
		"GET / HTTP/1.1 \r\n\r\n",
		"GET / HTTP/1.1\r\r\n\r\n",
		"GET /\r\n\r\n",		/* HTTP/0.9 */
		"GET / \r\n\r\n",
		"GET / HTTP/1\r\n\r\n",
		"GET / HTTP/1.\r\n\r\n",
		"GET / HTTP/1.1x\r\n\r\n",
		"GET / HTTP/11.1\r\n\r\n",
		"GET / HTTP/1.12\r\n\r\n",
		"GET / http/1.1\r\n\r\n",
		"GET / FTP/1.1\r\n\r\n",
		"GET http://example.com/ HTTP/1.1\r\n\r\n",
		"GET * HTTP/1.1\r\n\r\n",
		"OPTIONS * HTTP/1.1\r\n\r\n",
		"GET /a b HTTP/1.1\r\n\r\n",
		"GET /\x7f HTTP/1.1\r\n\r\n",
		"GET /\xc3\xa9 HTTP/1.1\r\n\r\n",
		"G(T / HTTP/1.1\r\n\r\n",
		"G\x01T / HTTP/1.1\r\n\r\n",
		"/ HTTP/1.1\r\n\r\n",
		"\x16\x03\x01\x02\x00",		/* a TLS ClientHello */
	};
	struct http_request req;
	size_t i;
	int r;

	assert_int_equal(parse_str(&req, bad[0]), HTTP_NEED_MORE);
	for (i = 1; i < sizeof(bad) / sizeof(bad[0]); i++)
		if ((r = parse_str(&req, bad[i])) != HTTP_BAD)
			fail_msg("request line %zu: %d", i, r);
}

static void
test_versions(void **state)
{
	static const char *const v[] = {
		"HTTP/0.9", "HTTP/1.2", "HTTP/2.0", "HTTP/3.0", "HTTP/9.9",
	};
	struct http_request req;
	char buf[64];
	size_t i;

	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		snprintf(buf, sizeof(buf), "GET / %s\r\n\r\n", v[i]);
		assert_int_equal(parse_str(&req, buf), HTTP_BAD_VERSION);
	}
	assert_int_equal(parse_str(&req, "GET / HTTP/2.01\r\n\r\n"), HTTP_BAD);
}

static void
test_malformed_headers(void **state)
{
	static const char *const bad[] = {
		"Host : x\r\n",			/* blank before the colon */
		": x\r\n",			/* empty name */
		"Ho(st: x\r\n",			/* not a token */
		"Host x\r\n",			/* no colon */
		"H\xc3\xa9: x\r\n",
		"X: a\x01" "b\r\n",
		"X: a\x7f\r\n",
		"X: a\rb\r\n",			/* bare CR */
		"X: a\r\n continued\r\n",	/* obs-fold */
		"X: a\r\n\tcontinued\r\n",
		" X: a\r\n",
	};
	struct http_request req;
	char buf[128];
	size_t i;
	int r;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(buf, sizeof(buf), "GET / HTTP/1.1\r\n%s\r\n", bad[i]);
		if ((r = parse_str(&req, buf)) != HTTP_BAD)
			fail_msg("header %zu: %d", i, r);
	}
}

static void
test_value_chars(void **state)
{
	static const char s[] = "GET / HTTP/1.1\r\nX:\ta\tb\xe9\xff\r\n\r\n";
	struct http_request req;

	assert_int_equal(parse_str(&req, s), (int)strlen(s));
	assert_span(req.headers[0].value, req.headers[0].value_len,
	    "a\tb\xe9\xff");
}

/* A NUL in place of any byte of a valid head is never accepted. */
static void
test_nul_anywhere(void **state)
{
	static const char s[] = "GET /x?y HTTP/1.1\r\nHost: a\r\nB: c d\r\n\r\n";
	struct http_request req;
	char buf[sizeof(s)];
	size_t i;

	for (i = 0; i < sizeof(s) - 1; i++) {
		memcpy(buf, s, sizeof(s));
		buf[i] = '\0';
		assert_int_equal(parse(&req, buf, sizeof(s) - 1), HTTP_BAD);
	}
}

/* A request with n headers "Hnnn: v". */
static char *
many_headers(size_t n)
{
	size_t cap = 64 + n * 16, off, i;
	char *s = malloc(cap);

	assert_non_null(s);
	off = (size_t)snprintf(s, cap, "GET / HTTP/1.1\r\n");
	for (i = 0; i < n; i++)
		off += (size_t)snprintf(s + off, cap - off, "H%zu: v\r\n", i);
	snprintf(s + off, cap - off, "\r\n");
	return s;
}

static void
test_too_many_headers(void **state)
{
	struct http_request req;
	char *s;

	s = many_headers(HTTP_HEADERS_MAX);
	assert_int_equal(parse_str(&req, s), (int)strlen(s));
	assert_int_equal(req.nheaders, HTTP_HEADERS_MAX);
	free(s);

	s = many_headers(HTTP_HEADERS_MAX + 1);
	assert_int_equal(parse_str(&req, s), HTTP_TOO_LARGE);
	free(s);
}

/* A request of exactly `size` bytes, padded with one long header value. */
static char *
head_of_size(size_t size, int complete)
{
	static const char pre[] = "GET / HTTP/1.1\r\nX: ";
	char *s = malloc(size + 1);
	size_t pad = size - (sizeof(pre) - 1) - (complete ? 4 : 0);

	assert_non_null(s);
	memcpy(s, pre, sizeof(pre) - 1);
	memset(s + sizeof(pre) - 1, 'a', pad);
	if (complete)
		memcpy(s + sizeof(pre) - 1 + pad, "\r\n\r\n", 4);
	s[size] = '\0';
	return s;
}

static void
test_head_too_large(void **state)
{
	struct http_request req;
	char *s;

	s = head_of_size(HTTP_HEAD_MAX, 1);
	assert_int_equal(parse_str(&req, s), HTTP_HEAD_MAX);
	free(s);

	s = head_of_size(HTTP_HEAD_MAX + 1, 1);
	assert_int_equal(parse_str(&req, s), HTTP_TOO_LARGE);
	free(s);

	/* No need to wait for the end of the head to answer 431. */
	s = head_of_size(HTTP_HEAD_MAX, 0);
	assert_int_equal(parse_str(&req, s), HTTP_NEED_MORE);
	free(s);
	s = head_of_size(HTTP_HEAD_MAX + 1, 0);
	assert_int_equal(parse_str(&req, s), HTTP_TOO_LARGE);
	free(s);
}

static void
test_target_too_long(void **state)
{
	struct http_request req;
	char s[HTTP_TARGET_MAX + 64];
	size_t off;

	off = (size_t)snprintf(s, sizeof(s), "GET /");
	memset(s + off, 'a', HTTP_TARGET_MAX - 1);
	off += HTTP_TARGET_MAX - 1;
	snprintf(s + off, sizeof(s) - off, " HTTP/1.1\r\n\r\n");
	assert_int_equal(parse_str(&req, s), (int)strlen(s));
	assert_int_equal(req.target_len, HTTP_TARGET_MAX);

	/* One byte more is 414, known before the line ends. */
	s[off] = 'a';
	assert_int_equal(parse(&req, s, off + 1), HTTP_URI_TOO_LONG);
}

/*
 * RFC 9112 section 3.2: HTTP/1.1 without Host, any request with two, or a
 * Host that cannot name a host, is a 400.  Before issue 16 (hole 10)
 * nothing checked it and these were served.
 */
static void
test_host(void **state)
{
	static const struct {
		const char	*head;
		int		 ok;
	} t[] = {
		{ "GET / HTTP/1.1\r\nHost: example.com\r\n\r\n", 1 },
		{ "GET / HTTP/1.1\r\nhOST: example.com:8080\r\n\r\n", 1 },
		{ "GET / HTTP/1.1\r\nHost: 127.0.0.1:80\r\n\r\n", 1 },
		{ "GET / HTTP/1.1\r\nHost: [::1]:8080\r\n\r\n", 1 },
		{ "GET / HTTP/1.1\r\nHost: xn--bcher-kva.example\r\n\r\n", 1 },
		{ "GET / HTTP/1.1\r\nHost:\r\n\r\n", 1 },	/* empty: allowed */
		{ "GET / HTTP/1.0\r\n\r\n", 1 },
		{ "GET / HTTP/1.0\r\nHost: a\r\n\r\n", 1 },
		{ "GET / HTTP/1.1\r\n\r\n", 0 },
		{ "GET / HTTP/1.1\r\nX-Host: a\r\nHosts: a\r\n\r\n", 0 },
		{ "GET / HTTP/1.1\r\nHost: a\r\nHost: a\r\n\r\n", 0 },
		{ "GET / HTTP/1.1\r\nHost: a\r\nhost: b\r\n\r\n", 0 },
		{ "GET / HTTP/1.0\r\nHost: a\r\nHost: b\r\n\r\n", 0 },
		{ "GET / HTTP/1.1\r\nHost: a b\r\n\r\n", 0 },
		{ "GET / HTTP/1.1\r\nHost: a/b\r\n\r\n", 0 },
		{ "GET / HTTP/1.1\r\nHost: user@a\r\n\r\n", 0 },
		{ "GET / HTTP/1.1\r\nHost: \"a\"\r\n\r\n", 0 },
		{ "GET / HTTP/1.1\r\nHost: a]\r\n\r\n", 0 },
		{ "GET / HTTP/1.1\r\nHost: a\xc3\xa9\r\n\r\n", 0 },
	};
	struct http_request req;
	size_t i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		assert_int_equal(parse_str(&req, t[i].head),
		    (int)strlen(t[i].head));
		if (http_check_host(&req) != (t[i].ok ? 0 : HTTP_BAD))
			fail_msg("head %zu: Host check should %s", i,
			    t[i].ok ? "pass" : "fail");
	}
}

static void
test_header_find(void **state)
{
	static const char s[] =
	    "GET / HTTP/1.1\r\nHost: a\r\nX-Dup: 1\r\nx-dup: 2\r\nX: 3\r\n\r\n";
	struct http_request req;
	const struct http_header *h;

	assert_int_equal(parse_str(&req, s), (int)strlen(s));
	h = http_header_find(&req, "HOST");
	assert_non_null(h);
	assert_span(h->value, h->value_len, "a");
	h = http_header_find(&req, "x-DUP");
	assert_non_null(h);
	assert_span(h->value, h->value_len, "1");
	h = http_header_find(&req, "x");
	assert_non_null(h);
	assert_span(h->value, h->value_len, "3");
	assert_null(http_header_find(&req, "X-Du"));
	assert_null(http_header_find(&req, "Upgrade"));
}

static void
test_token_list(void **state)
{
	static const struct {
		const char	*value;
		const char	*token;
		int		 want;
	} t[] = {
		{ "Upgrade", "upgrade", 1 },
		{ "keep-alive, Upgrade", "upgrade", 1 },
		{ "keep-alive,Upgrade", "UPGRADE", 1 },
		{ " ,, upgrade\t,", "upgrade", 1 },
		{ "upgrade , close", "close", 1 },
		{ "Upgrade2", "upgrade", 0 },
		{ "xupgrade", "upgrade", 0 },
		{ "up grade", "upgrade", 0 },
		{ "upgrade;q=1", "upgrade", 0 },
		{ "", "upgrade", 0 },
		{ ",", "upgrade", 0 },
		{ "websocket", "websocket", 1 },
		{ "h2c, WebSocket", "websocket", 1 },
	};
	struct http_header h;
	size_t i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		h.name = "X";
		h.name_len = 1;
		h.value = t[i].value;
		h.value_len = strlen(t[i].value);
		assert_int_equal(http_header_has_token(&h, t[i].token), t[i].want);
	}
	assert_int_equal(http_header_has_token(NULL, "upgrade"), 0);
}

static void
test_token_list_parsed(void **state)
{
	static const char s[] =
	    "GET / HTTP/1.1\nConnection: keep-alive,  Upgrade \nUpgrade: websocket\n\n";
	struct http_request req;

	assert_int_equal(parse_str(&req, s), (int)strlen(s));
	assert_true(http_header_has_token(http_header_find(&req, "connection"),
	    "upgrade"));
	assert_false(http_header_has_token(http_header_find(&req, "connection"),
	    "close"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_simple_get),
		cmocka_unit_test(test_lf_only_and_mixed),
		cmocka_unit_test(test_bytes_after_head),
		cmocka_unit_test(test_malformed_request_line),
		cmocka_unit_test(test_versions),
		cmocka_unit_test(test_malformed_headers),
		cmocka_unit_test(test_value_chars),
		cmocka_unit_test(test_nul_anywhere),
		cmocka_unit_test(test_too_many_headers),
		cmocka_unit_test(test_head_too_large),
		cmocka_unit_test(test_target_too_long),
		cmocka_unit_test(test_host),
		cmocka_unit_test(test_header_find),
		cmocka_unit_test(test_token_list),
		cmocka_unit_test(test_token_list_parsed),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
