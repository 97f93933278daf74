/* SPDX-License-Identifier: ISC */
/*
 * Unit tests for common/cidr.c: an address or a prefix parsed (host
 * bits cleared, a bad prefix refused with a reason, "not an address"
 * told apart), a client's "address:port" read (IPv4-mapped IPv6 as
 * IPv4), and lists of prefixes checked and matched, as metrics_from
 * uses them.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "cidr.h"

static char err[256];

static int
parse(struct cidr *c, const char *s)
{
	err[0] = '\0';
	return cidr_parse(c, s, strlen(s), err, sizeof(err));
}

/* The text of c's network, "a.b.c.d/n". */
static const char *
text(const struct cidr *c)
{
	static char buf[CIDR_TEXT_MAX + 1];
	char a[INET6_ADDRSTRLEN];

	assert_non_null(inet_ntop(c->family, c->addr, a, sizeof(a)));
	snprintf(buf, sizeof(buf), "%s/%u", a, c->prefix);
	return buf;
}

static void
test_parse(void **state)
{
	struct cidr c;

	assert_int_equal(parse(&c, "192.0.2.7"), 0);
	assert_int_equal(c.family, AF_INET);
	assert_string_equal(text(&c), "192.0.2.7/32");
	assert_int_equal(parse(&c, "192.0.2.7/24"), 0);
	assert_string_equal(text(&c), "192.0.2.0/24");
	assert_int_equal(parse(&c, "192.0.2.255/25"), 0);
	assert_string_equal(text(&c), "192.0.2.128/25");
	assert_int_equal(parse(&c, "10.1.2.3/0"), 0);
	assert_string_equal(text(&c), "0.0.0.0/0");
	assert_int_equal(parse(&c, "2001:DB8::1/32"), 0);
	assert_int_equal(c.family, AF_INET6);
	assert_string_equal(text(&c), "2001:db8::/32");
	assert_int_equal(parse(&c, "::1"), 0);
	assert_string_equal(text(&c), "::1/128");

	/* Not an address at all: 1, for the caller to take otherwise. */
	assert_int_equal(parse(&c, "troll"), 1);
	assert_int_equal(parse(&c, ""), 1);
	assert_int_equal(parse(&c, "/8"), 1);
	assert_int_equal(parse(&c, "192.0.2"), 1);
	assert_int_equal(parse(&c, "[::1]"), 1);
	/* An address with a bad prefix: refused, with the range. */
	assert_int_equal(parse(&c, "10.0.0.0/33"), -EINVAL);
	assert_non_null(strstr(err, "10.0.0.0/33: the prefix must be a "
	    "number from 0 to 32"));
	assert_int_equal(parse(&c, "::/129"), -EINVAL);
	assert_non_null(strstr(err, "from 0 to 128"));
	assert_int_equal(parse(&c, "10.0.0.0/"), -EINVAL);
	assert_int_equal(parse(&c, "10.0.0.0/x"), -EINVAL);
	assert_int_equal(parse(&c, "10.0.0.0/+8"), -EINVAL);
	assert_int_equal(parse(&c, "10.0.0.0/ 8"), -EINVAL);
	assert_int_equal(parse(&c, "10.0.0.0/8/8"), -EINVAL);
	assert_int_equal(parse(&c, "10.0.0.0/00000000000008"), -EINVAL);

	/* The length given counts, not the NUL. */
	assert_int_equal(cidr_parse(&c, "10.0.0.0/8 junk", 10, err,
	    sizeof(err)), 0);
	assert_string_equal(text(&c), "10.0.0.0/8");
}

static void
test_remote(void **state)
{
	unsigned char a[16], want[16];
	int fam;

	assert_int_equal(cidr_remote("192.0.2.7:4321", a, &fam), 0);
	assert_int_equal(fam, AF_INET);
	inet_pton(AF_INET, "192.0.2.7", want);
	assert_memory_equal(a, want, 4);
	assert_int_equal(cidr_remote("[2001:db8::1]:4321", a, &fam), 0);
	assert_int_equal(fam, AF_INET6);
	inet_pton(AF_INET6, "2001:db8::1", want);
	assert_memory_equal(a, want, 16);
	/* A dual-stack socket's IPv4 client is an IPv4 address. */
	assert_int_equal(cidr_remote("[::ffff:192.0.2.7]:1", a, &fam), 0);
	assert_int_equal(fam, AF_INET);
	inet_pton(AF_INET, "192.0.2.7", want);
	assert_memory_equal(a, want, 4);
	/* Without a port too. */
	assert_int_equal(cidr_remote("192.0.2.7", a, &fam), 0);
	assert_int_equal(cidr_remote("local", a, &fam), -EINVAL);
	assert_int_equal(cidr_remote("", a, &fam), -EINVAL);
	assert_int_equal(cidr_remote("[::1", a, &fam), -EINVAL);
}

static void
test_covers(void **state)
{
	struct cidr c;
	unsigned char a[16];
	int fam;

	assert_int_equal(parse(&c, "192.0.2.0/24"), 0);
	assert_int_equal(cidr_remote("192.0.2.200:1", a, &fam), 0);
	assert_true(cidr_covers(&c, a, fam));
	assert_int_equal(cidr_remote("192.0.3.1:1", a, &fam), 0);
	assert_false(cidr_covers(&c, a, fam));
	assert_int_equal(cidr_remote("[::ffff:192.0.2.1]:1", a, &fam), 0);
	assert_true(cidr_covers(&c, a, fam));
	/* Another family never matches. */
	assert_int_equal(cidr_remote("[::1]:1", a, &fam), 0);
	assert_false(cidr_covers(&c, a, fam));
	assert_int_equal(parse(&c, "::/0"), 0);
	assert_true(cidr_covers(&c, a, fam));
	assert_int_equal(cidr_remote("127.0.0.1:1", a, &fam), 0);
	assert_false(cidr_covers(&c, a, fam));
	/* The address checked is not changed. */
	assert_int_equal(parse(&c, "127.0.0.0/8"), 0);
	assert_int_equal(cidr_remote("127.1.2.3:1", a, &fam), 0);
	assert_true(cidr_covers(&c, a, fam));
	assert_int_equal(a[3], 3);
}

static void
test_lists(void **state)
{
	char list[2048];
	size_t i, n;

	assert_int_equal(cidr_list_check("", err, sizeof(err)), 0);
	assert_int_equal(cidr_list_check(" , \t", err, sizeof(err)), 0);
	assert_int_equal(cidr_list_check("127.0.0.1/32,::1 10.0.0.0/8",
	    err, sizeof(err)), 0);
	assert_int_equal(cidr_list_check("127.0.0.1 localhost", err,
	    sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "\"localhost\" is not an address"));
	assert_int_equal(cidr_list_check("10.0.0.0/40", err, sizeof(err)),
	    -EINVAL);
	assert_non_null(strstr(err, "from 0 to 32"));

	/* At most CIDR_LIST_MAX entries. */
	for (i = n = 0; i < CIDR_LIST_MAX; i++)
		n += (size_t)snprintf(list + n, sizeof(list) - n, "10.0.0.%zu ",
		    i);
	assert_int_equal(cidr_list_check(list, err, sizeof(err)), 0);
	snprintf(list + n, sizeof(list) - n, "10.1.1.1");
	assert_int_equal(cidr_list_check(list, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "more than 32"));

	assert_true(cidr_list_match("127.0.0.1/32", "127.0.0.1:80"));
	assert_false(cidr_list_match("127.0.0.1/32", "127.0.0.2:80"));
	assert_true(cidr_list_match("10.0.0.0/8,127.0.0.2", "127.0.0.2:80"));
	assert_true(cidr_list_match("::1", "[::1]:80"));
	assert_false(cidr_list_match("::1", "127.0.0.1:80"));
	assert_false(cidr_list_match("", "127.0.0.1:80"));
	assert_false(cidr_list_match("0.0.0.0/0 ::/0", "local"));
	assert_true(cidr_list_match("0.0.0.0/0", "[::ffff:8.8.8.8]:80"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse),
		cmocka_unit_test(test_remote),
		cmocka_unit_test(test_covers),
		cmocka_unit_test(test_lists),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
