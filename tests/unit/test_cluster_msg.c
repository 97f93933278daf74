/* SPDX-License-Identifier: ISC */
/*
 * Unit tests for hub/cluster_msg.c: a room message from Redis decoded
 * ("EPOCH SEQ BODY" from the channel, BODY and "SEQ-0" from the stream)
 * and everything malformed or oversized refused; the body encoded and
 * read back; the cluster_redis address and the cluster_password line;
 * a ban of the cluster's list (sb:bans) written and read back, and
 * everything wrong with one refused.
 * Each input is copied into a buffer of its exact size, so that ASan
 * catches a read past its end.
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

#include "../../hub/hub.h"

#define GOOD_BODY "{\"k\":\"room\",\"f\":\"alice\",\"r\":\"Lobby\"," \
	"\"t\":\"hi there\",\"w\":1700000000,\"n\":\"node-a\",\"i\":\"ab-1\"}"

/* fn on s, from a buffer of exactly its length (no NUL after it). */
static int
exact(int (*fn)(const char *, size_t, void *), const char *s, void *out)
{
	size_t len = strlen(s);
	char *b = malloc(len + 1);
	int r;

	assert_non_null(b);
	memcpy(b, s, len);
	r = fn(b, len, out);
	free(b);
	return r;
}

static int
msg_fn(const char *b, size_t len, void *out)
{
	return cluster_msg_decode(b, len, out);
}

static int
pres_fn(const char *b, size_t len, void *out)
{
	return cluster_pres_decode(b, len, out);
}

/* Decode s as published. */
static int
decode(const char *s, struct cluster_msg *m)
{
	return exact(msg_fn, s, m);
}

/* "EPOCH SEQ " then a body. */
static int
decode_body(const char *body)
{
	struct cluster_msg m;
	char *s;
	int r;

	assert_true(asprintf(&s, "1700000000123456 7 %s", body) > 0);
	r = decode(s, &m);
	free(s);
	return r;
}

static void
test_decode_good(void **state)
{
	struct cluster_msg m;

	assert_int_equal(decode("1700000000123456 7 " GOOD_BODY, &m), 0);
	assert_string_equal(m.epoch, "1700000000123456");
	assert_int_equal(m.seq, 7);
	assert_string_equal(m.kind, "room");
	assert_string_equal(m.from, "alice");
	assert_string_equal(m.room, "Lobby");
	assert_string_equal(m.text, "hi there");
	assert_int_equal(m.time, 1700000000);
	assert_string_equal(m.node, "node-a");
	assert_string_equal(m.id, "ab-1");
	assert_false(m.pre);
	assert_int_equal(decode_body("{\"k\":\"action\",\"f\":\"\",\"r\":\"x\","
	    "\"t\":\"\",\"w\":0,\"n\":\"b\",\"i\":\"1\",\"p\":1}"), 0);
}

/* The stamp: epoch digits, a number from 1, one space each. */
static void
test_stamp_refused(void **state)
{
	static const char *bad[] = {
		"", "1", "1 2", "1 2" GOOD_BODY, " 1 " GOOD_BODY,
		"x 1 " GOOD_BODY, "1 x " GOOD_BODY, "1 0 " GOOD_BODY,
		"1 01 " GOOD_BODY, "1 -1 " GOOD_BODY, "1  1 " GOOD_BODY,
		"123456789012345678901 1 " GOOD_BODY,	/* 21 digits */
		"1 9223372036854775808 " GOOD_BODY,	/* past INT64_MAX */
		"1 99999999999999999999 " GOOD_BODY,	/* 20 digits */
	};
	struct cluster_msg m;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(decode(bad[i], &m), -EBADMSG);
	assert_int_equal(decode("1 9223372036854775807 " GOOD_BODY, &m), 0);
}

/* The body: an object of exactly the known members, each checked. */
static void
test_body_refused(void **state)
{
	static const char *bad[] = {
		"", "[]", "\"x\"", "{", GOOD_BODY "x", "null",
		"{\"k\":\"room\"}",
		"{\"k\":\"shout\",\"f\":\"a\",\"r\":\"x\",\"t\":\"\",\"w\":0,"
		    "\"n\":\"b\",\"i\":\"1\"}",
		"{\"k\":\"room\",\"f\":\"a b\",\"r\":\"x\",\"t\":\"\",\"w\":0,"
		    "\"n\":\"b\",\"i\":\"1\"}",
		"{\"k\":\"room\",\"f\":\"a\",\"r\":\"\",\"t\":\"\",\"w\":0,"
		    "\"n\":\"b\",\"i\":\"1\"}",
		"{\"k\":\"room\",\"f\":\"a\",\"r\":\"x y\",\"t\":\"\",\"w\":0,"
		    "\"n\":\"b\",\"i\":\"1\"}",
		"{\"k\":\"room\",\"f\":\"a\",\"r\":\"x\",\"t\":\"\",\"w\":-1,"
		    "\"n\":\"b\",\"i\":\"1\"}",
		"{\"k\":\"room\",\"f\":\"a\",\"r\":\"x\",\"t\":\"\",\"w\":\"0\","
		    "\"n\":\"b\",\"i\":\"1\"}",
		"{\"k\":\"room\",\"f\":\"a\",\"r\":\"x\",\"t\":\"\",\"w\":0,"
		    "\"n\":\"b c\",\"i\":\"1\"}",
		"{\"k\":\"room\",\"f\":\"a\",\"r\":\"x\",\"t\":\"\",\"w\":0,"
		    "\"n\":\"b\",\"i\":\"X\"}",
		"{\"k\":\"room\",\"f\":\"a\",\"r\":\"x\",\"t\":\"\",\"w\":0,"
		    "\"n\":\"b\",\"i\":\"1\",\"p\":2}",
		"{\"k\":\"room\",\"f\":\"a\",\"r\":\"x\",\"t\":\"\",\"w\":0,"
		    "\"n\":\"b\",\"i\":\"1\",\"z\":1}",
		"{\"k\":\"room\",\"f\":\"a\",\"r\":\"x\",\"t\":\"a\\u0000b\","
		    "\"w\":0,\"n\":\"b\",\"i\":\"1\"}",
		"{\"k\":\"room\",\"k\":\"room\",\"f\":\"a\",\"r\":\"x\",\"t\":\"\","
		    "\"w\":0,\"n\":\"b\",\"i\":\"1\"}",
		"{\"k\":\"room\",\"f\":\"a\",\"r\":\"x\",\"t\":\"\xff\",\"w\":0,"
		    "\"n\":\"b\",\"i\":\"1\"}",
	};
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(decode_body(bad[i]), -EBADMSG);
}

/* Past a limit: -EMSGSIZE, never cut short. */
static void
test_oversized(void **state)
{
	char text[SB_TEXT_MAX + 2], *body, *big;
	struct cluster_msg m;

	memset(text, 'x', sizeof(text) - 1);
	text[sizeof(text) - 1] = '\0';
	assert_true(asprintf(&body, "{\"k\":\"room\",\"f\":\"a\",\"r\":\"x\","
	    "\"t\":\"%s\",\"w\":0,\"n\":\"b\",\"i\":\"1\"}", text) > 0);
	assert_int_equal(decode_body(body), -EMSGSIZE);
	free(body);
	text[SB_TEXT_MAX] = '\0';	/* exactly the limit: taken */
	assert_true(asprintf(&body, "{\"k\":\"room\",\"f\":\"a\",\"r\":\"x\","
	    "\"t\":\"%s\",\"w\":0,\"n\":\"b\",\"i\":\"1\"}", text) > 0);
	assert_int_equal(decode_body(body), 0);
	free(body);
	assert_non_null(big = malloc(CLUSTER_MSG_MAX + 2));
	memset(big, ' ', CLUSTER_MSG_MAX + 1);
	memcpy(big, "1 1 ", 4);
	big[CLUSTER_MSG_MAX + 1] = '\0';
	assert_int_equal(decode(big, &m), -EMSGSIZE);
	assert_int_equal(cluster_body_decode(big, CLUSTER_BODY_MAX + 1, &m),
	    -EMSGSIZE);
	free(big);
}

/* Every cut of a good message is refused, never read past. */
static void
test_truncated(void **state)
{
	const char *good = "1700000000123456 7 " GOOD_BODY;
	struct cluster_msg m;
	size_t n;

	for (n = 0; n < strlen(good); n++) {
		char *b = malloc(n + 1);

		assert_non_null(b);
		memcpy(b, good, n);
		assert_int_not_equal(cluster_msg_decode(b, n, &m), 0);
		free(b);
	}
}

/* Encoded and decoded again: the same message. */
static void
test_roundtrip(void **state)
{
	struct cluster_msg m = { .time = 42, .pre = 1 }, back;
	char buf[CLUSTER_BODY_MAX + 1];
	int n;

	strcpy(m.kind, "action");
	strcpy(m.from, "\xc3\xa9mile");
	strcpy(m.room, "Lobby");
	strcpy(m.text, "quote \" backslash \\ tab \t <b>&amp;</b>");
	strcpy(m.node, "a.b_c-d");
	strcpy(m.id, "0123abcd-ff");
	assert_true((n = cluster_body_encode(&m, buf, sizeof(buf))) > 0);
	assert_int_equal(cluster_body_decode(buf, (size_t)n, &back), 0);
	assert_string_equal(back.kind, m.kind);
	assert_string_equal(back.from, m.from);
	assert_string_equal(back.room, m.room);
	assert_string_equal(back.text, m.text);
	assert_string_equal(back.node, m.node);
	assert_string_equal(back.id, m.id);
	assert_int_equal(back.time, 42);
	assert_true(back.pre);
	assert_int_equal(cluster_body_encode(&m, buf, 10), -EMSGSIZE);
}

static void
test_entry_id(void **state)
{
	static const char *bad[] = { "", "-0", "0-0", "5", "5-", "5-1",
	    "5-00", "05-0", "a-0", "9223372036854775808-0" };
	uint64_t seq;
	size_t i;

	assert_int_equal(cluster_entry_id("5-0", 3, &seq), 0);
	assert_int_equal(seq, 5);
	assert_int_equal(cluster_entry_id("5-0x", 3, &seq), 0);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(cluster_entry_id(bad[i], strlen(bad[i]), &seq),
		    -EBADMSG);
}

/* An inbox entry "SEQ BODY": its number and where the body starts. */
static void
test_inbox_entry(void **state)
{
	static const char *bad[] = { "", "1", " {}", "0 {}", "01 {}", "a {}",
	    "-1 {}", "1{}", "9223372036854775808 {}" };
	uint64_t seq;
	size_t off, i;

	(void)state;
	assert_int_equal(cluster_inbox_entry("42 {\"k\":1}", 10, &seq, &off),
	    0);
	assert_int_equal(seq, 42);
	assert_int_equal(off, 3);
	assert_int_equal(cluster_inbox_entry("7 ", 2, &seq, &off), 0);
	assert_int_equal(off, 2);	/* an empty body: the decoder's to refuse */
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(cluster_inbox_entry(bad[i], strlen(bad[i]),
		    &seq, &off), -EBADMSG);
}

/* The hub's place in its inbox on disk: "SEQ EPOCH\n", the rest ignored. */
static void
test_inbox_place(void **state)
{
	static const char *bad[] = { "", "\n", " 5 17\n", "5\n", "5 \n",
	    "0 17\n", "5 017\n", "5 1 7\n", "5 17", "5 x\n",
	    "5 123456789012345678901\n" };
	char epoch[CLUSTER_EPOCH_MAX + 1];
	uint64_t seq;
	size_t i;

	(void)state;
	assert_int_equal(cluster_inbox_place("42 1764720000123456\n", 20,
	    &seq, epoch), 0);
	assert_int_equal(seq, 42);
	assert_string_equal(epoch, "1764720000123456");
	/* what an older, longer line left after the newline */
	assert_int_equal(cluster_inbox_place("7 99\n1 99\n", 10, &seq, epoch),
	    0);
	assert_int_equal(seq, 7);
	assert_string_equal(epoch, "99");
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(cluster_inbox_place(bad[i], strlen(bad[i]),
		    &seq, epoch), -EBADMSG);
}

static void
test_addr(void **state)
{
	static const char *bad[] = { "", "host", "host:", ":6379", "h:0",
	    "h:65536", "h:abc", "[::1]6379", "[]:1", "a b:1", "h:-1" };
	char host[256], err[256];
	int port;
	size_t i;

	assert_int_equal(cluster_addr_parse("10.0.0.1:6379", host,
	    sizeof(host), &port, err, sizeof(err)), 0);
	assert_string_equal(host, "10.0.0.1");
	assert_int_equal(port, 6379);
	assert_int_equal(cluster_addr_parse("[fd00::1]:7000", host,
	    sizeof(host), &port, err, sizeof(err)), 0);
	assert_string_equal(host, "fd00::1");
	assert_int_equal(port, 7000);
	assert_int_equal(cluster_addr_parse("/run/redis/redis.sock", host,
	    sizeof(host), &port, err, sizeof(err)), 0);
	assert_string_equal(host, "/run/redis/redis.sock");
	assert_int_equal(port, 0);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		assert_int_equal(cluster_addr_parse(bad[i], host, sizeof(host),
		    &port, err, sizeof(err)), -EINVAL);
		assert_non_null(strstr(err, "cluster_redis"));
	}
}

static void
test_password(void **state)
{
	static const char *bad[] = { "", "\n", "a b c", " pw", "user ",
	    "pw\tx", "a  b" };
	char user[64], pass[64];
	size_t i;

	assert_int_equal(cluster_password_parse("switchboard s3cret\n", user,
	    sizeof(user), pass, sizeof(pass)), 0);
	assert_string_equal(user, "switchboard");
	assert_string_equal(pass, "s3cret");
	assert_int_equal(cluster_password_parse("only\r\n", user, sizeof(user),
	    pass, sizeof(pass)), 0);
	assert_string_equal(user, "");
	assert_string_equal(pass, "only");
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(cluster_password_parse(bad[i], user,
		    sizeof(user), pass, sizeof(pass)), -EINVAL);
	assert_true(cluster_node_ok("node-1.a_b", 10));
	assert_false(cluster_node_ok("", 0));
	assert_false(cluster_node_ok("a:b", 3));
	assert_false(cluster_node_ok("123456789012345678901234567890123",
	    33));
}

/* Decode s as a presence event. */
static int
pres(const char *s, struct cluster_pres *ev)
{
	return exact(pres_fn, s, ev);
}

#define REC "{\"k\":\"bob\",\"m\":\"\",\"r\":[\"lobby\",\"Games\"]}"

static void
test_presence(void **state)
{
	static const char *bad[] = {
		"", "1", "1 {}", "x {\"e\":\"reset\",\"n\":\"a\"}",
		"0 {\"e\":\"reset\",\"n\":\"a\"}",	/* 0 is only down */
		"1 {\"e\":\"down\",\"n\":\"a\"}",	/* down is only 0 */
		"1 {\"e\":\"boom\",\"n\":\"a\"}",
		"1 {\"e\":\"reset\",\"n\":\"a b\"}",
		"1 {\"e\":\"reset\",\"n\":\"a\",\"x\":1}",
		"2 {\"e\":\"login\",\"n\":\"a\",\"s\":0,\"a\":\"\","
		    "\"b\":\"\",\"u\":" REC "}",
		"2 {\"e\":\"login\",\"n\":\"a\",\"s\":7,\"a\":\"\","
		    "\"b\":\"\",\"u\":null}",
		"2 {\"e\":\"quit\",\"n\":\"a\",\"s\":7,\"a\":\"\","
		    "\"b\":\"\",\"u\":" REC "}",
		"2 {\"e\":\"join\",\"n\":\"a\",\"s\":7,\"a\":\"\","
		    "\"b\":\"\",\"u\":{\"k\":\"bob\",\"m\":\"\","
		    "\"r\":[\"no room\"]}}",
	};
	struct cluster_pres ev;
	size_t i;

	assert_int_equal(pres("3 {\"e\":\"join\",\"n\":\"node-b\","
	    "\"s\":7,\"a\":\"lobby\",\"b\":\"\",\"u\":" REC "}", &ev), 0);
	assert_int_equal(ev.counter, 3);
	assert_int_equal(ev.ev, REMOTE_JOIN);
	assert_string_equal(ev.node, "node-b");
	assert_int_equal(ev.session, 7);
	assert_string_equal(ev.a, "lobby");
	assert_string_equal(ev.user.nick, "bob");
	assert_int_equal(ev.user.nrooms, 2);
	assert_string_equal(ev.user.rooms[1], "Games");
	assert_int_equal(pres("9 {\"e\":\"quit\",\"n\":\"a\",\"s\":1,"
	    "\"a\":\"Quit\",\"b\":\"\",\"u\":null}", &ev), 0);
	assert_int_equal(ev.ev, REMOTE_QUIT);
	assert_int_equal(pres("0 {\"e\":\"down\",\"n\":\"a\"}", &ev), 0);
	assert_true(ev.down);
	assert_int_equal(pres("4 {\"e\":\"reset\",\"n\":\"a\"}", &ev), 0);
	assert_int_equal(ev.ev, REMOTE_SYNC);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_not_equal(pres(bad[i], &ev), 0);
}

static void
test_record_and_pm(void **state)
{
	struct remote_user u;
	struct cluster_pm pm;
	char rooms[2048], *s;
	size_t n, i;

	assert_int_equal(cluster_record_decode(REC, strlen(REC), &u), 0);
	assert_string_equal(u.rooms[0], "lobby");
	/* One room more than a session may be in: refused. */
	n = (size_t)snprintf(rooms, sizeof(rooms), "{\"k\":\"b\",\"m\":\"\","
	    "\"r\":[");
	for (i = 0; i <= HUB_ROOMS_PER_PEER; i++)
		n += (size_t)snprintf(rooms + n, sizeof(rooms) - n, "%s\"r%zu\"",
		    i ? "," : "", i);
	snprintf(rooms + n, sizeof(rooms) - n, "]}");
	assert_int_equal(cluster_record_decode(rooms, strlen(rooms), &u),
	    -EBADMSG);
	s = "{\"k\":\"private\",\"f\":\"al\",\"t\":\"bo\",\"s\":3,"
	    "\"x\":\"hi\",\"w\":5}";
	assert_int_equal(cluster_pm_decode(s, strlen(s), &pm), 0);
	assert_string_equal(pm.to, "bo");
	assert_int_equal(pm.session, 3);
	/* A kick or a ban from an operator on node "n-1" (FROM). */
	s = "{\"k\":\"kick\",\"f\":\"n-1\",\"t\":\"bo\",\"s\":3,"
	    "\"x\":\"be nice\",\"w\":5}";
	assert_int_equal(cluster_pm_decode(s, strlen(s), &pm), 0);
	assert_string_equal(pm.kind, "kick");
	assert_string_equal(pm.text, "be nice");
	s = "{\"k\":\"ban\",\"f\":\"n-1\",\"t\":\"bo\",\"s\":3,"
	    "\"x\":\"\",\"w\":5}";
	assert_int_equal(cluster_pm_decode(s, strlen(s), &pm), 0);
	s = "{\"k\":\"kicks\",\"f\":\"n-1\",\"t\":\"bo\",\"s\":3,"
	    "\"x\":\"x\",\"w\":5}";
	assert_int_equal(cluster_pm_decode(s, strlen(s), &pm), -EBADMSG);
	s = "{\"k\":\"room\",\"f\":\"al\",\"t\":\"bo\",\"s\":3,"
	    "\"x\":\"hi\",\"w\":5}";
	assert_int_equal(cluster_pm_decode(s, strlen(s), &pm), -EBADMSG);
	s = "{\"k\":\"private\",\"f\":\"al\",\"t\":\"bo\",\"s\":0,"
	    "\"x\":\"hi\",\"w\":5}";
	assert_int_equal(cluster_pm_decode(s, strlen(s), &pm), -EBADMSG);
}

static const char *ban_field;	/* ban_fn's field */

static int
ban_fn(const char *b, size_t len, void *out)
{
	return cluster_ban_decode(ban_field, strlen(ban_field), b, len, out);
}

/* Decode value v of field f, from a buffer of exactly its length. */
static int
ban(const char *f, const char *v, struct ban *b)
{
	ban_field = f;
	return exact(ban_fn, v, b);
}

#define BAN_TROLL "{\"nick\":\"Troll\",\"since\":10,\"until\":20," \
	"\"reason\":\"spam\"}"

static void
test_bans(void **state)
{
	static const struct { const char *field, *value; int r; } bad[] = {
		{ "nick:troll", "", -EBADMSG },
		{ "nick:troll", "[]", -EBADMSG },
		{ "nick:other", BAN_TROLL, -EBADMSG },	/* not its field */
		{ "nick:Troll", BAN_TROLL, -EBADMSG },	/* the key is folded */
		{ "addr:troll", BAN_TROLL, -EBADMSG },
		{ "nick:troll", "{\"nick\":\"troll\",\"since\":1,"
		    "\"until\":0,\"reason\":\"\",\"shared\":true}", -EBADMSG },
		{ "nick:troll", "{\"nick\":\"troll\",\"since\":1,"
		    "\"until\":0}", -EBADMSG },
		{ "nick:troll", "{\"nick\":\"troll\",\"since\":-1,"
		    "\"until\":0,\"reason\":\"\"}", -EBADMSG },
		{ "nick:troll", "{\"nick\":\"troll\",\"since\":1,"
		    "\"until\":99999999999999,\"reason\":\"\"}", -EBADMSG },
		{ "nick:troll", "{\"nick\":\"troll\",\"since\":1,"
		    "\"until\":0,\"reason\":\"a\\nb\"}", -EBADMSG },
		{ "nick:troll", "{\"nick\":\"troll\\u0000x\",\"since\":1,"
		    "\"until\":0,\"reason\":\"\"}", -EBADMSG },
		{ "nick:a b", "{\"nick\":\"a b\",\"since\":1,"
		    "\"until\":0,\"reason\":\"\"}", -EBADMSG },
		{ "addr:10.1.2.3/8", "{\"address\":\"10.1.2.3/8\","
		    "\"since\":1,\"until\":0,\"reason\":\"\"}", -EBADMSG },
	};
	char field[CLUSTER_BAN_FIELD_MAX + 1], val[CLUSTER_BAN_MAX + 1];
	char big[CLUSTER_BAN_MAX + 64], err[256];
	struct ban b, back;
	size_t i;
	int n;

	assert_int_equal(ban("nick:troll", BAN_TROLL, &b), 0);
	assert_int_equal(b.kind, BAN_NICK);
	assert_string_equal(b.target, "Troll");
	assert_int_equal(b.since, 10);
	assert_int_equal(b.until, 20);
	assert_string_equal(b.reason, "spam");
	assert_string_equal(b.shared, "");
	/* Written as read: the same bytes, and the field. */
	strcpy(b.shared, "17");		/* never written to the cluster */
	assert_int_equal(cluster_ban_encode(&b, val, sizeof(val)),
	    (int)strlen(BAN_TROLL));
	assert_string_equal(val, BAN_TROLL);
	assert_int_equal(cluster_ban_field(&b, field, sizeof(field)), 10);
	assert_string_equal(field, "nick:troll");
	assert_int_equal(ban_target_parse(&b, "192.0.2.9/24", err,
	    sizeof(err)), 0);
	assert_int_equal(cluster_ban_field(&b, field, sizeof(field)), 17);
	assert_string_equal(field, "addr:192.0.2.0/24");
	assert_true(cluster_ban_encode(&b, val, sizeof(val)) > 0);
	assert_int_equal(ban(field, val, &back), 0);
	assert_int_equal(back.kind, BAN_ADDRESS);
	assert_string_equal(back.target, "192.0.2.0/24");
	assert_int_equal(cluster_ban_encode(&b, val, 8), -EMSGSIZE);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(ban(bad[i].field, bad[i].value, &b), bad[i].r);
	/* Too long: the reason, the value, the field. */
	n = snprintf(big, sizeof(big), "{\"nick\":\"troll\",\"since\":1,"
	    "\"until\":0,\"reason\":\"%0*d\"}", BAN_REASON_MAX + 1, 0);
	assert_true(n > 0 && (size_t)n < sizeof(big));
	assert_int_equal(ban("nick:troll", big, &b), -EMSGSIZE);
	memset(big, ' ', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	memcpy(big, BAN_TROLL, strlen(BAN_TROLL));
	assert_int_equal(ban("nick:troll", big, &b), -EMSGSIZE);
	memset(big, 'x', CLUSTER_BAN_FIELD_MAX + 1);
	memcpy(big, "nick:", 5);
	big[CLUSTER_BAN_FIELD_MAX + 1] = '\0';
	assert_int_equal(ban(big, BAN_TROLL, &b), -EMSGSIZE);
	/* Every cut of a good value is refused, never read past. */
	for (i = 0; i < strlen(BAN_TROLL); i++) {
		char cut[sizeof(BAN_TROLL)];

		memcpy(cut, BAN_TROLL, i);
		cut[i] = '\0';
		assert_int_not_equal(ban("nick:troll", cut, &b), 0);
	}
}

/* The fields of sb:members: a version, a digest's form, the text's size. */
static void
test_members(void **state)
{
	static const char D[] = "e3b0c44298fc1c149afbf4c8996fb924"
	    "27ae41e4649b934ca495991b7852b855";
	static const char *badv[] = { "", "0x1", "-1", "01", "1 ", "a",
	    "12345678901234567890" };
	uint64_t v = 0;
	char d[sizeof(D)];
	size_t i;

	(void)state;
	assert_int_equal(cluster_members_decode("42", 2, D, 64, 0, &v), 0);
	assert_int_equal(v, 42);
	assert_int_equal(cluster_members_decode("7", 1, D, 64,
	    MEMBERS_FILE_MAX, &v), 0);
	assert_int_equal(cluster_members_decode("7", 1, D, 64,
	    MEMBERS_FILE_MAX + 1, &v), -EMSGSIZE);
	for (i = 0; i < sizeof(badv) / sizeof(badv[0]); i++)
		assert_int_equal(cluster_members_decode(badv[i],
		    strlen(badv[i]), D, 64, 0, &v), -EBADMSG);
	assert_int_equal(cluster_members_decode("1", 1, D, 63, 0, &v),
	    -EBADMSG);
	memcpy(d, D, sizeof(D));
	d[5] = 'A';	/* upper case is not the digest's form */
	assert_int_equal(cluster_members_decode("1", 1, d, 64, 0, &v),
	    -EBADMSG);
	d[5] = 'g';
	assert_int_equal(cluster_members_decode("1", 1, d, 64, 0, &v),
	    -EBADMSG);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_decode_good),
		cmocka_unit_test(test_stamp_refused),
		cmocka_unit_test(test_body_refused),
		cmocka_unit_test(test_oversized),
		cmocka_unit_test(test_truncated),
		cmocka_unit_test(test_roundtrip),
		cmocka_unit_test(test_entry_id),
		cmocka_unit_test(test_inbox_entry),
		cmocka_unit_test(test_inbox_place),
		cmocka_unit_test(test_addr),
		cmocka_unit_test(test_password),
		cmocka_unit_test(test_presence),
		cmocka_unit_test(test_record_and_pm),
		cmocka_unit_test(test_bans),
		cmocka_unit_test(test_members),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
