/* SPDX-License-Identifier: ISC */
/*
 * Unit tests for hub/ban.c: what a ban target is (nick, address,
 * prefix), durations, matching by nick and by address with prefixes and
 * IPv4-mapped IPv6, expiry at a given time, and the bans.json file: a
 * round trip, a missing file, and broken files refused with a reason;
 * the cluster's list taken in (bans_share) and merged after a connect
 * (bans_merge).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../hub/hub.h"

static char err[512];

static struct ban
make(const char *target, time_t since, time_t until, const char *reason)
{
	struct ban b = { 0 };

	assert_int_equal(ban_target_parse(&b, target, err, sizeof(err)), 0);
	b.since = since;
	b.until = until;
	strcpy(b.reason, reason);
	return b;
}

static void
test_target(void **state)
{
	struct ban b;

	assert_int_equal(ban_target_parse(&b, "Troll", err, sizeof(err)), 0);
	assert_int_equal(b.kind, BAN_NICK);
	assert_string_equal(b.target, "Troll");
	assert_string_equal(b.key, "troll");
	assert_int_equal(ban_target_parse(&b, "192.0.2.7", err, sizeof(err)),
	    0);
	assert_int_equal(b.kind, BAN_ADDRESS);
	assert_int_equal(b.net.family, AF_INET);
	assert_int_equal(b.net.prefix, 32);
	assert_string_equal(b.target, "192.0.2.7");
	/* Host bits are cleared: the canonical form names the network. */
	assert_int_equal(ban_target_parse(&b, "192.0.2.7/24", err,
	    sizeof(err)), 0);
	assert_string_equal(b.target, "192.0.2.0/24");
	assert_int_equal(ban_target_parse(&b, "2001:DB8::1/32", err,
	    sizeof(err)), 0);
	assert_int_equal(b.net.family, AF_INET6);
	assert_string_equal(b.target, "2001:db8::/32");
	assert_int_equal(ban_target_parse(&b, "10.0.0.0/33", err,
	    sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "from 0 to 32"));
	assert_int_equal(ban_target_parse(&b, "10.0.0.0/", err, sizeof(err)),
	    -EINVAL);
	assert_int_equal(ban_target_parse(&b, "10.0.0.0/x", err, sizeof(err)),
	    -EINVAL);
	assert_int_equal(ban_target_parse(&b, "bad nick", err, sizeof(err)),
	    -EINVAL);
	assert_non_null(strstr(err, "not an address, and not a nick"));
	assert_int_equal(ban_target_parse(&b, "", err, sizeof(err)), -EINVAL);
}

static void
test_duration(void **state)
{
	long long s;

	assert_int_equal(ban_duration_parse("90s", &s), 0);
	assert_int_equal(s, 90);
	assert_int_equal(ban_duration_parse("10m", &s), 0);
	assert_int_equal(s, 600);
	assert_int_equal(ban_duration_parse("2h", &s), 0);
	assert_int_equal(s, 7200);
	assert_int_equal(ban_duration_parse("7d", &s), 0);
	assert_int_equal(s, 7 * 86400);
	assert_int_equal(ban_duration_parse("1w", &s), 0);
	assert_int_equal(s, 7 * 86400);
	assert_int_equal(ban_duration_parse("forever", &s), 0);
	assert_int_equal(s, 0);
	assert_int_equal(ban_duration_parse("3x", &s), -EINVAL);
	assert_int_equal(ban_duration_parse("h", &s), -EINVAL);
	assert_int_equal(ban_duration_parse("0s", &s), -EINVAL);
	assert_int_equal(ban_duration_parse("-1h", &s), -EINVAL);
	assert_int_equal(ban_duration_parse(" 1h", &s), -EINVAL);
	assert_int_equal(ban_duration_parse("99999999999d", &s), -EINVAL);
	assert_int_equal(ban_duration_parse("", &s), -EINVAL);
}

static void
test_match(void **state)
{
	struct bans l = { NULL, 0, 0 };
	struct ban b = make("troll", 100, 200, "spam");
	char text[SB_REASON_MAX + 1];

	assert_int_equal(bans_add(&l, &b), 0);
	b = make("198.51.100.0/24", 100, 0, "");
	assert_int_equal(bans_add(&l, &b), 0);
	b = make("2001:db8::/32", 100, 0, "v6");
	assert_int_equal(bans_add(&l, &b), 0);

	assert_non_null(bans_match_nick(&l, "TROLL", 150));
	assert_null(bans_match_nick(&l, "troll", 200));	/* ended */
	assert_null(bans_match_nick(&l, "trolls", 150));
	assert_non_null(bans_match_remote(&l, "198.51.100.9:4000", 999999));
	assert_null(bans_match_remote(&l, "198.51.101.9:4000", 150));
	assert_non_null(bans_match_remote(&l, "[::ffff:198.51.100.1]:80", 150));
	assert_non_null(bans_match_remote(&l, "[2001:db8:1::5]:80", 150));
	assert_null(bans_match_remote(&l, "[2001:db9::5]:80", 150));
	assert_null(bans_match_remote(&l, "local", 150));

	ban_describe(bans_match_nick(&l, "troll", 150), text, sizeof(text));
	assert_string_equal(text, "The nick troll is banned until "
	    "1970-01-01 00:03:20 UTC: spam");
	ban_describe(bans_match_remote(&l, "198.51.100.9:1", 150), text,
	    sizeof(text));
	assert_string_equal(text, "This address is banned with no end");

	/* The same target again replaces; a nick in another case too. */
	b = make("Troll", 300, 0, "again");
	assert_int_equal(bans_add(&l, &b), 0);
	assert_int_equal(l.n, 3);
	assert_string_equal(bans_match_nick(&l, "troll", 5000)->reason,
	    "again");
	assert_int_equal(bans_expire(&l, 5000), 0);
	b = make("TROLL", 0, 0, "");
	assert_int_equal(bans_remove(&l, &b, NULL), 0);
	assert_int_equal(bans_remove(&l, &b, NULL), -ENOENT);
	b = make("198.51.100.77/24", 0, 0, "");	/* same network */
	assert_int_equal(bans_remove(&l, &b, NULL), 0);
	assert_int_equal(l.n, 1);
	bans_free(&l);
}

static void
test_expire(void **state)
{
	struct bans l = { NULL, 0, 0 };
	struct ban b = make("a", 1, 10, "");

	assert_int_equal(bans_add(&l, &b), 0);
	b = make("b", 1, 20, "");
	assert_int_equal(bans_add(&l, &b), 0);
	b = make("c", 1, 0, "");
	assert_int_equal(bans_add(&l, &b), 0);
	assert_int_equal(bans_expire(&l, 9), 0);
	assert_int_equal(bans_expire(&l, 10), 1);
	assert_int_equal(bans_expire(&l, 1000), 1);
	assert_int_equal(l.n, 1);
	assert_string_equal(l.v[0].target, "c");
	bans_free(&l);
}

static void
test_file(void **state)
{
	char dir[] = "/tmp/sb-ban-XXXXXX", path[64];
	struct bans l = { NULL, 0, 0 }, back = { NULL, 0, 0 };
	struct ban b = make("troll", 1, 2000000000, "spam \"quoted\"");
	struct stat st;
	FILE *f;

	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/bans.json", dir);
	/* No file: no bans. */
	assert_int_equal(bans_load(&back, path, err, sizeof(err)), 0);
	assert_int_equal(back.n, 0);
	assert_int_equal(bans_add(&l, &b), 0);
	b = make("192.0.2.0/24", 5, 0, "");
	assert_int_equal(bans_add(&l, &b), 0);
	assert_int_equal(bans_save(&l, path, err, sizeof(err)), 0);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(bans_load(&back, path, err, sizeof(err)), 0);
	assert_int_equal(back.n, 2);
	assert_string_equal(back.v[0].target, "troll");
	assert_string_equal(back.v[0].reason, "spam \"quoted\"");
	assert_int_equal(back.v[0].until, 2000000000);
	assert_string_equal(back.v[1].target, "192.0.2.0/24");
	assert_int_equal(back.v[1].until, 0);
	assert_string_equal(back.v[0].shared, "");
	assert_string_equal(back.v[1].shared, "");
	bans_free(&back);
	/* "shared" is written only for a shared ban, and read back. */
	strcpy(l.v[1].shared, "1764650000123456");
	assert_int_equal(bans_save(&l, path, err, sizeof(err)), 0);
	assert_non_null(f = fopen(path, "r"));
	{
		char text[1024], *at;
		size_t n = fread(text, 1, sizeof(text) - 1, f);

		text[n] = '\0';
		assert_non_null(at = strstr(text,
		    "\"shared\": \"1764650000123456\""));
		assert_null(strstr(at + 1, "\"shared\""));	/* once */
	}
	fclose(f);
	assert_int_equal(bans_load(&back, path, err, sizeof(err)), 0);
	assert_string_equal(back.v[0].shared, "");
	assert_string_equal(back.v[1].shared, "1764650000123456");
	bans_free(&back);

	/* Broken files are refused, naming the file and the fault. */
	static const char *const bad[] = {
		"{\"bans\": [",
		"[]",
		"{\"bans\": [], \"x\": 1}",
		"{\"bans\": [{\"since\": 1, \"until\": 0, \"reason\": \"\"}]}",
		"{\"bans\": [{\"nick\": \"a b\", \"since\": 1, \"until\": 0, "
		    "\"reason\": \"\"}]}",
		"{\"bans\": [{\"address\": \"troll\", \"since\": 1, "
		    "\"until\": 0, \"reason\": \"\"}]}",
		"{\"bans\": [{\"nick\": \"a\", \"since\": -1, \"until\": 0, "
		    "\"reason\": \"\"}]}",
		"{\"bans\": [{\"nick\": \"a\", \"since\": 1, \"until\": 0, "
		    "\"reason\": \"\", \"extra\": 1}]}",
		"{\"bans\": [{\"nick\": \"a\", \"since\": 1, \"until\": 0, "
		    "\"reason\": \"\", \"shared\": true}]}",
		"{\"bans\": [{\"nick\": \"a\", \"since\": 1, \"until\": 0, "
		    "\"reason\": \"\", \"shared\": \"12x\"}]}",
		"{\"bans\": [{\"nick\": \"a\", \"since\": 1, \"until\": 0, "
		    "\"reason\": \"\", \"shared\": \"123456789012345678901\"}]}",
		"{\"bans\": [{\"nick\": \"a\", \"since\": 1, \"until\": 0, "
		    "\"reason\": \"\"}, {\"nick\": \"A\", \"since\": 1, "
		    "\"until\": 0, \"reason\": \"\"}]}",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_non_null(f = fopen(path, "w"));
		fputs(bad[i], f);
		fclose(f);
		err[0] = '\0';
		assert_int_equal(bans_load(&back, path, err, sizeof(err)),
		    -EINVAL);
		assert_int_equal(back.n, 0);
		assert_non_null(strstr(err, path));
	}
	unlink(path);
	rmdir(dir);
	bans_free(&l);
}

/* A ban of the cluster's list taken in: new, the same, or marked. */
static void
test_share(void **state)
{
	struct bans l = { NULL, 0, 0 };
	struct ban b = make("troll", 10, 20, "spam");

	assert_int_equal(bans_add(&l, &b), 0);	/* given here: not shared */
	assert_int_equal(bans_share(&l, &b, "100"), BAN_MARKED);
	assert_string_equal(l.v[0].shared, "100");
	assert_int_equal(bans_share(&l, &b, "100"), BAN_SAME);
	assert_int_equal(bans_share(&l, &b, "200"), BAN_MARKED);	/* new list */
	assert_string_equal(l.v[0].shared, "200");
	b.until = 30;				/* changed elsewhere */
	assert_int_equal(bans_share(&l, &b, "200"), BAN_NEW);
	assert_int_equal(l.n, 1);
	assert_int_equal(l.v[0].until, 30);
	assert_string_equal(l.v[0].shared, "200");
	b = make("10.0.0.0/8", 1, 0, "");
	assert_int_equal(bans_share(&l, &b, "200"), BAN_NEW);
	assert_int_equal(l.n, 2);
	bans_free(&l);
}

/* One name per ban of `l`, sorted, for comparing lists. */
static const char *
names(const struct bans *l)
{
	static char out[256];
	const char *v[16];
	size_t i, k;

	assert_true(l->n <= 16);
	for (i = 0; i < l->n; i++) {
		for (k = i; k > 0 && strcmp(v[k - 1], l->v[i].target) > 0; k--)
			v[k] = v[k - 1];
		v[k] = l->v[i].target;
	}
	out[0] = '\0';
	for (i = 0; i < l->n; i++) {
		strcat(out, i ? " " : "");
		strcat(out, v[i]);
	}
	return out;
}

/* A ban of `target` shared in `epoch` ("": not shared). */
static struct ban
shared(const char *target, time_t since, const char *reason,
    const char *epoch)
{
	struct ban b = make(target, since, 0, reason);

	strcpy(b.shared, epoch);
	return b;
}

/*
 * The merge after a connect: the cluster's bans come in, a ban shared in
 * the list's epoch that it no longer has goes, one given here meanwhile
 * stays (and wins over the cluster's ban of the same target) and is to
 * be written, and so is one shared in an epoch the list has lost.
 */
static void
test_merge(void **state)
{
	struct bans l = { NULL, 0, 0 }, r = { NULL, 0, 0 };
	struct bans_merged m;
	struct ban b;
	size_t i;

	b = shared("kept", 1, "", "7");		/* shared, still there */
	assert_int_equal(bans_add(&l, &b), 0);
	assert_int_equal(bans_add(&r, &b), 0);
	b = shared("lifted", 1, "", "7");	/* shared, gone */
	assert_int_equal(bans_add(&l, &b), 0);
	b = shared("changed", 1, "old", "7");	/* shared, changed */
	assert_int_equal(bans_add(&l, &b), 0);
	b = shared("changed", 2, "new", "");
	assert_int_equal(bans_add(&r, &b), 0);
	b = shared("mine", 5, "here", "");	/* given here meanwhile */
	assert_int_equal(bans_add(&l, &b), 0);
	b = shared("mine", 3, "there", "");
	assert_int_equal(bans_add(&r, &b), 0);
	b = shared("alone", 5, "", "");		/* here only, not shared */
	assert_int_equal(bans_add(&l, &b), 0);
	b = shared("before", 5, "", "6");	/* in a list Redis lost */
	assert_int_equal(bans_add(&l, &b), 0);
	b = shared("192.0.2.0/24", 4, "", "");	/* from elsewhere */
	assert_int_equal(bans_add(&r, &b), 0);

	assert_int_equal(bans_merge(&l, &r, "7", &m), 1);
	assert_string_equal(names(&l),
	    "192.0.2.0/24 alone before changed kept mine");
	assert_string_equal(names(&m.added), "192.0.2.0/24 changed");
	assert_string_equal(names(&m.lifted), "lifted");
	assert_string_equal(names(&m.unsent), "alone before mine");
	for (i = 0; i < l.n; i++) {
		if (strcmp(l.v[i].target, "mine") == 0) {
			assert_string_equal(l.v[i].reason, "here");
			assert_string_equal(l.v[i].shared, "");
		} else if (strcmp(l.v[i].target, "changed") == 0) {
			assert_string_equal(l.v[i].reason, "new");
			assert_string_equal(l.v[i].shared, "7");
		}
	}
	bans_merged_free(&m);
	/* Merged again with the same list: nothing changes. */
	for (i = 0; i < l.n; i++)
		strcpy(l.v[i].shared, "7");
	bans_free(&r);
	for (i = 0; i < l.n; i++)
		assert_int_equal(bans_add(&r, &l.v[i]), 0);
	assert_int_equal(bans_merge(&l, &r, "7", &m), 0);
	assert_int_equal(m.added.n + m.lifted.n + m.unsent.n, 0);
	bans_merged_free(&m);
	/* An empty list of the same epoch: every ban was lifted. */
	bans_free(&r);
	assert_int_equal(bans_merge(&l, &r, "7", &m), 1);
	assert_int_equal(l.n, 0);
	assert_int_equal(m.lifted.n, 6);
	bans_merged_free(&m);
	/* An empty list of a new epoch (Redis lost it): all to be written. */
	b = shared("kept", 1, "", "7");
	assert_int_equal(bans_add(&l, &b), 0);
	assert_int_equal(bans_merge(&l, &r, "8", &m), 0);
	assert_int_equal(l.n, 1);
	assert_string_equal(names(&m.unsent), "kept");
	bans_merged_free(&m);
	bans_free(&l);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_target),
		cmocka_unit_test(test_duration),
		cmocka_unit_test(test_match),
		cmocka_unit_test(test_expire),
		cmocka_unit_test(test_file),
		cmocka_unit_test(test_share),
		cmocka_unit_test(test_merge),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
