/* SPDX-License-Identifier: ISC */
/*
 * Unit tests for handler/sniff.c.  Each input is fed as every prefix of
 * itself (as a connection's first bytes arrive one at a time), each
 * prefix copied to the very end of a page followed by an unreadable
 * page: sniff() must answer SNIFF_NEED_MORE for every prefix shorter
 * than the byte that decides, the same answer for every longer one, and
 * never read past what it was given.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "../../handler/handler.h"

#include "guard.h"

/* Sniff a copy of p[0..len) that ends where the unreadable page starts. */
static enum sniff_result
sniff_guarded(const char *p, size_t len)
{
	return sniff((const char *)guarded(p, len), len);
}

static const char *
result_name(enum sniff_result r)
{
	switch (r) {
	case SNIFF_NEED_MORE:	return "NEED_MORE";
	case SNIFF_POLICY:	return "POLICY";
	case SNIFF_HTTP:	return "HTTP";
	case SNIFF_XMLSOCKET:	return "XMLSOCKET";
	}
	return "?";
}

/*
 * in[0..len) sniffs as NEED_MORE for every prefix shorter than
 * `decided`, and as `want` for every prefix from `decided` bytes on,
 * the whole input included.
 */
static void
check(const char *in, size_t len, enum sniff_result want, size_t decided)
{
	enum sniff_result r;
	size_t k;

	assert_true(decided <= len);
	for (k = 0; k <= len; k++) {
		r = sniff_guarded(in, k);
		if (k < decided && r != SNIFF_NEED_MORE)
			fail_msg("\"%.*s\": %zu bytes gave %s, expected "
			    "NEED_MORE until %zu", (int)len, in, k,
			    result_name(r), decided);
		if (k >= decided && r != want)
			fail_msg("\"%.*s\": %zu bytes gave %s, expected %s",
			    (int)len, in, k, result_name(r), result_name(want));
	}
}

/* For NUL-free literals. */
#define CHECK(s, want, decided)	check((s), strlen(s), (want), (decided))
/* For literals with NULs inside. */
#define CHECKN(s, want, decided) check((s), sizeof(s) - 1, (want), (decided))

#define PFR	"<policy-file-request/>"	/* 22 bytes */

static void
test_empty(void **state)
{
	assert_int_equal(sniff(NULL, 0), SNIFF_NEED_MORE);
	assert_int_equal(sniff_guarded("", 0), SNIFF_NEED_MORE);
}

static void
test_policy(void **state)
{
	assert_int_equal(strlen(PFR), 22);
	/* Flash ends it with a NUL; someone typing with LF or CR LF. */
	CHECKN(PFR "\0", SNIFF_POLICY, 23);
	CHECKN(PFR "\0trailing", SNIFF_POLICY, 23);
	CHECK(PFR "\n", SNIFF_POLICY, 23);
	CHECK(PFR "\r\n", SNIFF_POLICY, 24);
	/* The request alone, or with a CR, cannot be decided yet. */
	check(PFR, 22, SNIFF_NEED_MORE, 0);
	check(PFR "\r", 23, SNIFF_NEED_MORE, 0);
}

static void
test_policy_lookalikes(void **state)
{
	CHECK(PFR "x", SNIFF_XMLSOCKET, 23);
	CHECK(PFR " ", SNIFF_XMLSOCKET, 23);
	CHECK(PFR "\rx", SNIFF_XMLSOCKET, 24);
	CHECKN(PFR "\r\0", SNIFF_XMLSOCKET, 24);
	CHECKN(PFR "\r\r\n", SNIFF_XMLSOCKET, 24);
	CHECKN("<policy-file-request/ >\0", SNIFF_XMLSOCKET, 22);
	CHECKN("<policy-file-request>\0", SNIFF_XMLSOCKET, 21);
	CHECKN("<policy\0", SNIFF_XMLSOCKET, 8);
	CHECKN("<POLICY-FILE-REQUEST/>\0", SNIFF_XMLSOCKET, 2);
	CHECKN("<msg>hi</msg>\0", SNIFF_XMLSOCKET, 2);
	CHECKN("<\0", SNIFF_XMLSOCKET, 2);
	CHECKN(" " PFR "\0", SNIFF_XMLSOCKET, 1);
}

/* Every method, then the first byte after it decides. */
static void
test_http_methods(void **state)
{
	static const char *const req[] = {
		"GET / HTTP/1.1\r\n", "HEAD / HTTP/1.1\r\n",
		"POST /x HTTP/1.1\r\n", "PUT /x HTTP/1.1\r\n",
		"DELETE /x HTTP/1.1\r\n", "OPTIONS * HTTP/1.1\r\n",
		"PATCH /x HTTP/1.1\r\n", "CONNECT a:443 HTTP/1.1\r\n",
		"TRACE / HTTP/1.0\r\n",
	};
	size_t i;

	for (i = 0; i < sizeof(req) / sizeof(req[0]); i++)
		CHECK(req[i], SNIFF_HTTP,
		    (size_t)(strchr(req[i], ' ') - req[i]) + 1);
	/* Methods are case-sensitive and need their space. */
	CHECK("GETX / HTTP/1.1", SNIFF_XMLSOCKET, 4);
	CHECK("GET\t/", SNIFF_XMLSOCKET, 4);
	CHECKN("GET\0", SNIFF_XMLSOCKET, 4);
	CHECK("get / HTTP/1.1", SNIFF_XMLSOCKET, 1);
	CHECK("POSTER", SNIFF_XMLSOCKET, 5);
	CHECK("PUTS", SNIFF_XMLSOCKET, 4);
	CHECK("OPTION x", SNIFF_XMLSOCKET, 7);
	CHECK("CONNECTED\n", SNIFF_XMLSOCKET, 8);
}

/* The text dialect's commands are XMLSocket as soon as they can be. */
static void
test_xmlsocket_commands(void **state)
{
	CHECK("IDENTIFY bob\n", SNIFF_XMLSOCKET, 1);
	CHECK("MSG bob hello\n", SNIFF_XMLSOCKET, 1);
	CHECK("LIST\n", SNIFF_XMLSOCKET, 1);
	CHECK("JOIN lobby\n", SNIFF_XMLSOCKET, 1);
	CHECK("SAY lobby hi\n", SNIFF_XMLSOCKET, 1);
	CHECK("NICK x\n", SNIFF_XMLSOCKET, 1);
	CHECK("QUIT\n", SNIFF_XMLSOCKET, 1);
	CHECK("ME waves\n", SNIFF_XMLSOCKET, 1);
	/* "PART x" shares "PA" with "PATCH ": decided at the R. */
	CHECK("PART x\n", SNIFF_XMLSOCKET, 3);
	CHECK("PATCH /x HTTP/1.1\r\n", SNIFF_HTTP, 6);
	CHECK("PATCHY\n", SNIFF_XMLSOCKET, 6);
	CHECK("PING\n", SNIFF_XMLSOCKET, 2);
	CHECK("PONG\n", SNIFF_XMLSOCKET, 3);
	CHECK("HELLO\n", SNIFF_XMLSOCKET, 3);
	CHECK("TRACK x\n", SNIFF_XMLSOCKET, 5);
	CHECK("DEL x\n", SNIFF_XMLSOCKET, 4);
	CHECK("{\"type\":\"login\"}\n", SNIFF_XMLSOCKET, 1);
}

static void
test_binary(void **state)
{
	CHECKN("\0GET / HTTP/1.1\r\n", SNIFF_XMLSOCKET, 1);
	CHECKN("\0" PFR "\0", SNIFF_XMLSOCKET, 1);
	CHECKN("\0", SNIFF_XMLSOCKET, 1);
	CHECK("\x16\x03\x01\x02\x00\x01", SNIFF_XMLSOCKET, 1);	/* TLS */
	CHECK("\xff\xfe\xfd", SNIFF_XMLSOCKET, 1);
	CHECK("\x80", SNIFF_XMLSOCKET, 1);
	CHECK("G\xc3\xa9T ", SNIFF_XMLSOCKET, 2);
	CHECKN("<p\0licy", SNIFF_XMLSOCKET, 3);
}

/* Every first byte: only the first bytes of a keyword wait for more. */
static void
test_every_first_byte(void **state)
{
	char c[1];
	int b;

	for (b = 0; b < 256; b++) {
		c[0] = (char)b;
		if (strchr("<GHPDOCT", b) != NULL && b != 0)
			check(c, 1, SNIFF_NEED_MORE, 0);
		else
			check(c, 1, SNIFF_XMLSOCKET, 1);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_empty),
		cmocka_unit_test(test_policy),
		cmocka_unit_test(test_policy_lookalikes),
		cmocka_unit_test(test_http_methods),
		cmocka_unit_test(test_xmlsocket_commands),
		cmocka_unit_test(test_binary),
		cmocka_unit_test(test_every_first_byte),
	};

	return cmocka_run_group_tests(tests, guard_setup, guard_teardown);
}
