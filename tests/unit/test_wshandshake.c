/* SPDX-License-Identifier: ISC */
/*
 * Unit tests for handler/wshandshake.c.  Requests go through the real
 * parser, fed whole and one byte at a time from the end of a page
 * followed by an unreadable page, before the handshake is checked.
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

#include "../../handler/ws.h"

#define RFC_KEY		"dGhlIHNhbXBsZSBub25jZQ=="
#define RFC_ACCEPT	"s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
#define REQ_LINE	"GET /chat HTTP/1.1\r\n"
#define HOST		"Host: server.example.com\r\n"
#define UPGRADE		"Upgrade: websocket\r\nConnection: Upgrade\r\n"
#define KEY		"Sec-WebSocket-Key: " RFC_KEY "\r\n"
#define VERSION		"Sec-WebSocket-Version: 13\r\n"
#define ORIGIN		"Origin: http://example.com\r\n"

static const char ok_response[] =
    "HTTP/1.1 101 Switching Protocols\r\n"
    "Upgrade: websocket\r\n"
    "Connection: Upgrade\r\n"
    "Sec-WebSocket-Accept: " RFC_ACCEPT "\r\n"
    "\r\n";

struct parsed {
	struct http_request	 req;
	unsigned char		*map;
	size_t			 mapsz;
};

/*
 * Parse request s into p: every prefix from the end of a guarded page
 * must need more, the whole must be one complete head.  The request
 * stays mapped (p->req points into it) until parsed_free.
 */
static void
parse(struct parsed *p, const char *s)
{
	size_t pg = (size_t)sysconf(_SC_PAGESIZE), len = strlen(s), k;
	size_t span = (len + pg - 1) / pg * pg + pg;

	p->mapsz = span + pg;
	p->map = mmap(NULL, p->mapsz, PROT_READ | PROT_WRITE,
	    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	assert_true(p->map != MAP_FAILED);
	assert_int_equal(mprotect(p->map + span, pg, PROT_NONE), 0);
	for (k = 0; k < len; k++)
		assert_int_equal(http_parse_request(&p->req,
		    memcpy(p->map + span - k, s, k), k), HTTP_NEED_MORE);
	assert_int_equal(http_parse_request(&p->req,
	    memcpy(p->map + span - len, s, len), len), (int)len);
}

static void
parsed_free(struct parsed *p)
{
	munmap(p->map, p->mapsz);
}

/* The status ws_handshake answers for request s; the response in out. */
static int
handshake(const char *s, const char *origins, char *out, size_t outsz)
{
	struct ws_handshake_policy pol = { origins };
	struct parsed p;
	int r;

	parse(&p, s);
	r = ws_handshake(&p.req, &pol, out, outsz);
	parsed_free(&p);
	return r;
}

/* Check that an error response is complete and well-formed. */
static void
assert_error_response(const char *out, int status)
{
	const char *body = strstr(out, "\r\n\r\n");
	char line[64];
	unsigned long cl;
	const char *h;

	snprintf(line, sizeof(line), "HTTP/1.1 %d ", status);
	assert_int_equal(strncmp(out, line, strlen(line)), 0);
	assert_non_null(strstr(out, "\r\nConnection: close\r\n"));
	assert_non_null(body);
	h = strstr(out, "\r\nContent-Length: ");
	assert_non_null(h);
	assert_true(h < body);
	cl = strtoul(h + 18, NULL, 10);
	assert_int_equal(cl, strlen(body + 4));
	assert_int_equal((strstr(out, "\r\nSec-WebSocket-Version: 13\r\n") != NULL),
	    status == 426);
}

static void
test_rfc_example_key(void **state)
{
	char out[29];

	assert_int_equal(ws_accept_key(RFC_KEY, strlen(RFC_KEY), out), 0);
	assert_string_equal(out, RFC_ACCEPT);
}

static void
test_accept_key_rejects(void **state)
{
	static const char *const bad[] = {
		"",
		"dGhlIHNhbXBsZSBub25jZQ=",		/* short */
		"dGhlIHNhbXBsZSBub25jZQ===",		/* long */
		"dGhlIHNhbXBsZSBub25jZ===",		/* 15 bytes + "=" */
		"dGhlIHNhbXBsZSBub25jZQ==dGhl",
		"dGhlIHNhbXBsZSBub25jZR==",		/* non-canonical */
		"dGhlIHNhbXBsZSBub25j*Q==",
		"dGhlIHNhbXBsZSBub25jZQAA",		/* 18 bytes */
		"dGhlIHNhbXBsZSBub25jZW0=",		/* 17 bytes */
		"dGhlIHNhbXBsZSBub25j",			/* 15 bytes */
		"dGhlIHNhbXBs ZSBub25jZQ=",
	};
	char out[29];
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (ws_accept_key(bad[i], strlen(bad[i]), out) != -1)
			fail_msg("key %zu accepted", i);
	/* A NUL inside the key is not base64 either. */
	assert_int_equal(ws_accept_key("dGhlIHNhbXBsZSBub2\0jZQ==", 24, out), -1);
	/* Any 16 bytes will do. */
	assert_int_equal(ws_accept_key("AAAAAAAAAAAAAAAAAAAAAA==", 24, out), 0);
	assert_int_equal(ws_accept_key("/////////////////////w==", 24, out), 0);
	assert_int_equal(strlen(out), 28);
}

static void
test_rfc_example_handshake(void **state)
{
	static const char req[] =
	    "GET /chat HTTP/1.1\r\n"
	    "Host: server.example.com\r\n"
	    "Upgrade: websocket\r\n"
	    "Connection: Upgrade\r\n"
	    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
	    "Origin: http://example.com\r\n"
	    "Sec-WebSocket-Protocol: chat, superchat\r\n"
	    "Sec-WebSocket-Version: 13\r\n"
	    "\r\n";
	char out[512];

	assert_int_equal(handshake(req, NULL, out, sizeof(out)), 101);
	assert_string_equal(out, ok_response);
	assert_int_equal(handshake(req, "", out, sizeof(out)), 101);
	assert_int_equal(handshake(req, "http://example.com", out, sizeof(out)),
	    101);
}

static void
test_header_variants(void **state)
{
	static const char *const ok[] = {
		/* LF line ends, other case, token lists, blanks. */
		"GET / HTTP/1.1\nhost: h\nUPGRADE: WebSocket\n"
		"connection: keep-alive, Upgrade\nsec-websocket-key:   " RFC_KEY
		"  \nSEC-WEBSOCKET-VERSION: 13\n\n",
		REQ_LINE HOST "Upgrade: h2c, websocket\r\n"
		"Connection: upgrade,close\r\n" KEY VERSION "\r\n",
		REQ_LINE HOST UPGRADE KEY VERSION
		"Sec-WebSocket-Extensions: permessage-deflate\r\n\r\n",
	};
	char out[512];
	size_t i;

	for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		assert_int_equal(handshake(ok[i], NULL, out, sizeof(out)), 101);
		/* No extension is ever agreed to. */
		assert_string_equal(out, ok_response);
	}
}

static void
test_bad_requests(void **state)
{
	static const struct {
		const char	*what, *req;
		int		 status;
	} t[] = {
		{ "POST", "POST /chat HTTP/1.1\r\n" HOST UPGRADE KEY VERSION "\r\n",
		    400 },
		{ "HEAD", "HEAD /chat HTTP/1.1\r\n" HOST UPGRADE KEY VERSION "\r\n",
		    400 },
		{ "get", "get /chat HTTP/1.1\r\n" HOST UPGRADE KEY VERSION "\r\n",
		    400 },
		{ "HTTP/1.0", "GET /chat HTTP/1.0\r\n" HOST UPGRADE KEY VERSION
		    "\r\n", 400 },
		{ "no Host", REQ_LINE UPGRADE KEY VERSION "\r\n", 400 },
		{ "no Upgrade", REQ_LINE HOST "Connection: Upgrade\r\n" KEY
		    VERSION "\r\n", 400 },
		{ "Upgrade: h2c", REQ_LINE HOST "Upgrade: h2c\r\n"
		    "Connection: Upgrade\r\n" KEY VERSION "\r\n", 400 },
		{ "no Connection", REQ_LINE HOST "Upgrade: websocket\r\n" KEY
		    VERSION "\r\n", 400 },
		{ "Connection: keep-alive", REQ_LINE HOST "Upgrade: websocket\r\n"
		    "Connection: keep-alive\r\n" KEY VERSION "\r\n", 400 },
		{ "Connection: upgraded", REQ_LINE HOST "Upgrade: websocket\r\n"
		    "Connection: upgraded\r\n" KEY VERSION "\r\n", 400 },
		{ "no key", REQ_LINE HOST UPGRADE VERSION "\r\n", 400 },
		{ "short key", REQ_LINE HOST UPGRADE
		    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25j\r\n" VERSION "\r\n",
		    400 },
		{ "long key", REQ_LINE HOST UPGRADE
		    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZW0=\r\n" VERSION
		    "\r\n", 400 },
		{ "empty key", REQ_LINE HOST UPGRADE "Sec-WebSocket-Key:\r\n"
		    VERSION "\r\n", 400 },
		{ "two keys", REQ_LINE HOST UPGRADE KEY KEY VERSION "\r\n", 400 },
		{ "no version", REQ_LINE HOST UPGRADE KEY "\r\n", 426 },
		{ "version 8", REQ_LINE HOST UPGRADE KEY
		    "Sec-WebSocket-Version: 8\r\n\r\n", 426 },
		{ "version 13, 8", REQ_LINE HOST UPGRADE KEY
		    "Sec-WebSocket-Version: 13, 8\r\n\r\n", 426 },
		{ "version 130", REQ_LINE HOST UPGRADE KEY
		    "Sec-WebSocket-Version: 130\r\n\r\n", 426 },
		{ "two versions", REQ_LINE HOST UPGRADE KEY VERSION VERSION
		    "\r\n", 426 },
	};
	char out[512];
	size_t i;
	int r;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		if ((r = handshake(t[i].req, NULL, out, sizeof(out))) !=
		    t[i].status)
			fail_msg("%s: %d, want %d", t[i].what, r, t[i].status);
		assert_error_response(out, t[i].status);
	}
}

static void
test_origin(void **state)
{
	static const char list[] =
	    "  https://chat.example.org http://example.com:8080  http://a.b ";
	static const struct {
		const char	*origin;
		int		 status;
	} t[] = {
		{ "https://chat.example.org", 101 },
		{ "HTTPS://Chat.Example.ORG", 101 },
		{ "http://example.com:8080", 101 },
		{ "http://a.b", 101 },
		{ "http://chat.example.org", 403 },
		{ "https://chat.example.org:443", 403 },
		{ "https://chat.example.or", 403 },
		{ "https://chat.example.org.evil", 403 },
		{ "http://example.com", 403 },
		{ "http://example.com:80800", 403 },
		{ "http://a.b http://c.d", 403 },
		{ "null", 403 },
		{ "", 403 },
		{ NULL, 403 },
	};
	char req[512], out[512];
	size_t i;
	int r;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		if (t[i].origin != NULL)
			snprintf(req, sizeof(req), REQ_LINE HOST UPGRADE KEY VERSION
			    "Origin: %s\r\n\r\n", t[i].origin);
		else
			snprintf(req, sizeof(req), REQ_LINE HOST UPGRADE KEY
			    VERSION "\r\n");
		if ((r = handshake(req, list, out, sizeof(out))) != t[i].status)
			fail_msg("origin %zu: %d, want %d", i, r, t[i].status);
		if (r == 101)
			assert_string_equal(out, ok_response);
		else
			assert_error_response(out, r);
		/* Without a list, any origin (or none) will do. */
		assert_int_equal(handshake(req, NULL, out, sizeof(out)), 101);
	}
}

/* A bad request is refused before the origin is looked at. */
static void
test_order_of_checks(void **state)
{
	char out[512];

	assert_int_equal(handshake(REQ_LINE HOST UPGRADE KEY ORIGIN "\r\n",
	    "http://other", out, sizeof(out)), 426);
	assert_int_equal(handshake(REQ_LINE UPGRADE KEY VERSION ORIGIN "\r\n",
	    "http://other", out, sizeof(out)), 400);
}

static void
test_out_too_small(void **state)
{
	static const char req[] = REQ_LINE HOST UPGRADE KEY VERSION "\r\n";
	char out[sizeof(ok_response)];

	assert_int_equal(handshake(req, NULL, out, sizeof(ok_response) - 1), -1);
	assert_int_equal(handshake(req, NULL, out, sizeof(ok_response)), 101);
	assert_int_equal(handshake(REQ_LINE HOST UPGRADE KEY "\r\n", NULL, out,
	    16), -1);
}

static void
test_is_upgrade(void **state)
{
	struct parsed p;

	parse(&p, REQ_LINE HOST "Upgrade: foo, WebSocket\r\n\r\n");
	assert_true(ws_is_upgrade(&p.req));
	parsed_free(&p);
	parse(&p, REQ_LINE HOST "Connection: upgrade\r\n\r\n");
	assert_false(ws_is_upgrade(&p.req));
	parsed_free(&p);
	parse(&p, REQ_LINE HOST "Upgrade: websockets\r\n\r\n");
	assert_false(ws_is_upgrade(&p.req));
	parsed_free(&p);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rfc_example_key),
		cmocka_unit_test(test_accept_key_rejects),
		cmocka_unit_test(test_rfc_example_handshake),
		cmocka_unit_test(test_header_variants),
		cmocka_unit_test(test_bad_requests),
		cmocka_unit_test(test_origin),
		cmocka_unit_test(test_order_of_checks),
		cmocka_unit_test(test_out_too_small),
		cmocka_unit_test(test_is_upgrade),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
