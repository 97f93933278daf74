/* SPDX-License-Identifier: ISC */
/*
 * Unit tests for handler/proxy.c: the PROXY protocol header (v1, v2)
 * and the X-Forwarded-For and Forwarded headers.  Every header is fed
 * as every prefix of itself, each copied to the very end of a page
 * followed by an unreadable page: proxy_parse() must answer NEED_MORE
 * for every prefix of a good header, and never read past its input.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "../../handler/proxy.h"

#include "guard.h"

#define V2SIG	"\r\n\r\n\0\r\nQUIT\n"

static enum proxy_result
parse_guarded(const void *p, size_t len, struct proxy_header *h)
{
	return proxy_parse(guarded(p, len), len, h);
}

/*
 * in[0..len) is one whole header of `hlen` bytes, followed by client
 * bytes: every shorter prefix needs more, and from hlen on it is
 * PROXY_OK with `remote` ("" for a local one).
 */
static void
check_ok(const void *in, size_t len, size_t hlen, const char *remote)
{
	struct proxy_header h;
	size_t k;

	for (k = 0; k < hlen; k++)
		assert_int_equal(parse_guarded(in, k, &h), PROXY_NEED_MORE);
	for (k = hlen; k <= len; k++) {
		assert_int_equal(parse_guarded(in, k, &h), PROXY_OK);
		assert_int_equal(h.len, hlen);
		assert_int_equal(h.local, remote[0] == '\0');
		if (remote[0] != '\0')
			assert_string_equal(h.remote, remote);
	}
}

/* in[0..len) is refused once `bad` bytes are in, and needs more before. */
static void
check_bad(const void *in, size_t len, size_t bad)
{
	struct proxy_header h;
	size_t k;

	for (k = 0; k < bad; k++)
		assert_int_equal(parse_guarded(in, k, &h), PROXY_NEED_MORE);
	for (k = bad; k <= len; k++)
		assert_int_equal(parse_guarded(in, k, &h), PROXY_BAD);
}

static void
test_v1(void **state)
{
	static const char t4[] = "PROXY TCP4 192.0.2.7 127.0.0.1 4321 8081\r\n"
	    "<msg/>";
	static const char t6[] = "PROXY TCP6 2001:db8::1 ::1 65535 8081\r\nx";
	static const char unk[] = "PROXY UNKNOWN\r\n";
	static const char unk2[] = "PROXY UNKNOWN ffff:f...f:ffff 1 2\r\n";
	static const char t6max[] = "PROXY TCP6 "
	    "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff "
	    "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff 65535 65535\r\n";
	/* The longest line the spec allows: 107 bytes. */
	static const char longest[] = "PROXY UNKNOWN "
	    "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff "
	    "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff 65535 65535\r\n";

	(void)state;
	check_ok(t4, strlen(t4), strlen(t4) - 6, "192.0.2.7:4321");
	check_ok(t6, strlen(t6), strlen(t6) - 1, "[2001:db8::1]:65535");
	check_ok(unk, strlen(unk), strlen(unk), "");
	check_ok(unk2, strlen(unk2), strlen(unk2), "");
	assert_int_equal(strlen(longest), PROXY_V1_MAX);
	check_ok(longest, strlen(longest), strlen(longest), "");
	check_ok(t6max, strlen(t6max), strlen(t6max),
	    "[ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff]:65535");
}

static void
test_v1_bad(void **state)
{
	static const char *const bad[] = {
		"PROXY TCP4 192.0.2.7 127.0.0.1 4321\r\n",	/* a port short */
		"PROXY TCP4 192.0.2.7 127.0.0.1 4321 80 9\r\n",	/* one more */
		"PROXY TCP4 192.0.2.7  127.0.0.1 4321 80\r\n",	/* two spaces */
		"PROXY TCP4 2001:db8::1 127.0.0.1 4321 80\r\n",	/* family */
		"PROXY TCP6 192.0.2.7 ::1 4321 80\r\n",
		"PROXY TCP4 192.0.2.256 127.0.0.1 4321 80\r\n",
		"PROXY TCP4 192.0.2.7 127.0.0.1 65536 80\r\n",
		"PROXY TCP4 192.0.2.7 127.0.0.1 04321 80\r\n",
		"PROXY TCP4 192.0.2.7 127.0.0.1 -1 80\r\n",
		"PROXY UDP4 192.0.2.7 127.0.0.1 4321 80\r\n",
		"PROXY UNKNOWNX\r\n",
		"PROXY TCP4 192.0.2.7 127.0.0.1 4321 80\n",	/* LF alone */
		"PROXY TCP4 192.0.2.7 127.0.0.1 4321 80\rX",
	};
	static char big[200];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct proxy_header h;

		assert_int_equal(parse_guarded(bad[i], strlen(bad[i]), &h),
		    PROXY_BAD);
	}
	/* No CRLF in 107 bytes: refused at the 107th, not waited for. */
	memset(big, 'A', sizeof(big));
	memcpy(big, "PROXY ", 6);
	check_bad(big, sizeof(big), PROXY_V1_MAX);
	/* A control byte: at once. */
	check_bad("PROXY TCP4\x01", 11, 11);
	check_bad("PRoXY", 5, 3);
	check_bad("GET / HTTP/1.1\r\n", 16, 1);
}

/* A v2 header of `cmd` and `fam` with body[0..blen). */
static size_t
v2(unsigned char *out, unsigned cmd, unsigned fam, const void *body,
    size_t blen)
{
	memcpy(out, V2SIG, 12);
	out[12] = (unsigned char)(0x20 | cmd);
	out[13] = (unsigned char)fam;
	out[14] = (unsigned char)(blen >> 8);
	out[15] = (unsigned char)blen;
	memcpy(out + 16, body, blen);
	return 16 + blen;
}

static void
test_v2(void **state)
{
	static const unsigned char a4[] = { 192, 0, 2, 7, 127, 0, 0, 1,
	    0x10, 0xe1, 0x1f, 0x91, /* a TLV: NOOP, 3 bytes */ 4, 0, 3, 1, 2,
	    3 };
	unsigned char a6[36] = { 0x20, 0x01, 0x0d, 0xb8 }, b[700];
	size_t n;

	(void)state;
	a6[15] = 1;
	a6[31] = 1;
	a6[32] = 0xff;
	a6[33] = 0xff;
	n = v2(b, 1, 0x11, a4, sizeof(a4));
	memcpy(b + n, "rest", 4);
	check_ok(b, n + 4, n, "192.0.2.7:4321");
	n = v2(b, 1, 0x21, a6, sizeof(a6));
	check_ok(b, n, n, "[2001:db8::1]:65535");
	/* LOCAL (a health check), UNSPEC, AF_UNIX: the socket's address. */
	n = v2(b, 0, 0x11, a4, sizeof(a4));
	check_ok(b, n, n, "");
	n = v2(b, 0, 0x00, "", 0);
	check_ok(b, n, n, "");
	n = v2(b, 1, 0x00, "", 0);
	check_ok(b, n, n, "");
	memset(b + 16, 0, 216);
	n = v2(b, 1, 0x31, b + 16, 216);
	check_ok(b, n, n, "");
}

static void
test_v2_bad(void **state)
{
	static const unsigned char a4[12] = { 192, 0, 2, 7 };
	unsigned char b[700], big[PROXY_HEADER_MAX];
	size_t n;

	(void)state;
	n = v2(b, 1, 0x11, a4, 11);		/* too short for IPv4 */
	check_bad(b, n, n);
	n = v2(b, 1, 0x21, a4, 12);		/* too short for IPv6 */
	check_bad(b, n, n);
	n = v2(b, 1, 0x12, a4, 12);		/* UDP */
	check_bad(b, n, n);
	n = v2(b, 1, 0x41, a4, 12);		/* no such family */
	check_bad(b, n, n);
	n = v2(b, 2, 0x11, a4, 12);		/* no such command */
	check_bad(b, n, 13);
	n = v2(b, 1, 0x11, a4, 12);
	b[12] = 0x11;				/* version 1 in binary */
	check_bad(b, n, 13);
	n = v2(b, 1, 0x11, a4, 12);
	b[5] = 'X';				/* not the signature */
	check_bad(b, n, 6);
	/* Longer than PROXY_HEADER_MAX: refused at the length. */
	memset(big, 0, sizeof(big));
	n = v2(b, 1, 0x11, big, PROXY_HEADER_MAX - 16 + 1);
	check_bad(b, n, 16);
	n = v2(b, 1, 0x11, big, PROXY_HEADER_MAX - 16);
	check_ok(b, n, n, "0.0.0.0:0");
}

static void
test_signature(void **state)
{
	(void)state;
	assert_true(proxy_signature((const unsigned char *)"PROXY ", 6));
	assert_false(proxy_signature((const unsigned char *)"PROXY", 5));
	assert_true(proxy_signature((const unsigned char *)V2SIG "!", 13));
	assert_false(proxy_signature((const unsigned char *)V2SIG, 11));
	assert_false(proxy_signature((const unsigned char *)"<msg/>", 6));
}

/* The client proxy_forwarded() finds in a request of `head`, or "". */
static const char *
forwarded(const char *head, const char *trusted)
{
	static char buf[2048], remote[SB_REMOTE_MAX + 1];
	static struct http_request req;

	strcpy(buf, head);
	assert_true(http_parse_request(&req, buf, strlen(buf)) > 0);
	strcpy(remote, "kept");
	if (!proxy_forwarded(&req, trusted, remote, sizeof(remote)))
		assert_string_equal(remote, "kept");
	return remote;
}

#define REQ(h)	"GET /chat HTTP/1.1\r\nHost: x\r\n" h "\r\n"
#define LO	"127.0.0.0/8 ::1"

static void
test_forwarded(void **state)
{
	(void)state;
	assert_string_equal(forwarded(REQ(""), LO), "kept");
	assert_string_equal(forwarded(REQ("X-Forwarded-For: 192.0.2.7\r\n"),
	    LO), "192.0.2.7:0");
	/* The right-most not trusted: a client cannot claim an address. */
	assert_string_equal(forwarded(REQ("X-Forwarded-For: 6.6.6.6, "
	    "192.0.2.7, 127.0.0.1\r\n"), LO), "192.0.2.7:0");
	assert_string_equal(forwarded(REQ("X-Forwarded-For: 6.6.6.6\r\n"
	    "X-Forwarded-For: 192.0.2.7\r\n"), LO), "192.0.2.7:0");
	assert_string_equal(forwarded(REQ("x-forwarded-for: 2001:DB8::1 \r\n"),
	    LO), "[2001:db8::1]:0");
	assert_string_equal(forwarded(REQ("X-Forwarded-For: 192.0.2.7:99\r\n"),
	    LO), "192.0.2.7:99");
	/* All trusted: the left-most. */
	assert_string_equal(forwarded(REQ("X-Forwarded-For: 127.0.0.9, "
	    "127.0.0.1\r\n"), LO), "127.0.0.9:0");
	/* The hop that would be the client holds no address: believe none. */
	assert_string_equal(forwarded(REQ("X-Forwarded-For: 192.0.2.7, "
	    "unknown\r\n"), LO), "kept");
	assert_string_equal(forwarded(REQ("X-Forwarded-For: \r\n"), LO),
	    "kept");
	assert_string_equal(forwarded(REQ("X-Forwarded-For: 192.0.2.7,\r\n"),
	    LO), "kept");
	assert_string_equal(forwarded(REQ("X-Forwarded-For: [::1\r\n"), LO),
	    "kept");
	/* Forwarded wins over X-Forwarded-For. */
	assert_string_equal(forwarded(REQ("X-Forwarded-For: 6.6.6.6\r\n"
	    "Forwarded: for=192.0.2.60;proto=http;by=203.0.113.43\r\n"), LO),
	    "192.0.2.60:0");
	assert_string_equal(forwarded(REQ("Forwarded: for=6.6.6.6, "
	    "For=\"[2001:db8:cafe::17]:4711\", for=127.0.0.1\r\n"), LO),
	    "[2001:db8:cafe::17]:4711");
	assert_string_equal(forwarded(REQ("Forwarded: proto=https\r\n"), LO),
	    "kept");
	assert_string_equal(forwarded(REQ("Forwarded: for=_hidden\r\n"), LO),
	    "kept");
	assert_string_equal(forwarded(REQ("Forwarded: for=unknown\r\n"), LO),
	    "kept");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_v1),
		cmocka_unit_test(test_v1_bad),
		cmocka_unit_test(test_v2),
		cmocka_unit_test(test_v2_bad),
		cmocka_unit_test(test_signature),
		cmocka_unit_test(test_forwarded),
	};

	return cmocka_run_group_tests(tests, guard_setup, guard_teardown);
}
