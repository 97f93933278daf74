/* SPDX-License-Identifier: ISC */
/*
 * Unit tests of the JSON dialect of WebSocket /chat, seed-003 shapes
 * included (handler/dialect_json.c).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>


#define TEST_DIALECT	DIALECT_JSON
#include "dialect_test.h"

/* Is s "YYYY-MM-DDTHH:MM:SSZ"? */
static int
iso_ok(const char *s)
{
	static const char pat[] = "dddd-dd-ddTdd:dd:ddZ";
	size_t i;

	if (strlen(s) != sizeof(pat) - 1)
		return 0;
	for (i = 0; pat[i] != '\0'; i++)
		if (pat[i] == 'd' ? s[i] < '0' || s[i] > '9' : s[i] != pat[i])
			return 0;
	return 1;
}

/*
 * The single message in R must be `want` once its "time" (which must be
 * ISO 8601) is taken out; `want` is compact JSON in the expected order.
 */
static void
expect_event(const char *want)
{
	json_error_t err;
	json_free_t jfree;
	json_t *o, *t;
	char *s;

	assert_int_equal(R.len, strlen(R.buf) + 1);
	assert_null(strchr(R.buf, '\n'));
	o = json_loads(R.buf, JSON_REJECT_DUPLICATES, &err);
	assert_non_null(o);
	t = json_object_get(o, "time");
	assert_true(json_is_string(t));
	assert_true(iso_ok(json_string_value(t)));
	json_object_del(o, "time");
	s = json_dumps(o, JSON_COMPACT);
	assert_string_equal(s, want);
	json_get_alloc_funcs(NULL, &jfree);	/* the handler's arena */
	jfree(s);
	json_decref(o);
}

static void
expect_badn(const char *js, size_t n, const char *code, const char *text)
{
	char want[512];

	assert_int_equal(parsen(js, n), DIALECT_REPLY);
	snprintf(want, sizeof(want),
	    "{\"type\":\"error\",\"from\":\"\",\"code\":\"%s\",\"text\":\"%s\"}",
	    code, text);
	expect_event(want);
}

static void
expect_bad(const char *js, const char *code, const char *text)
{
	expect_badn(js, strlen(js), code, text);
}

/* Like expect_bad() for a text that only has to start with `prefix`. */
static void
expect_bad_prefix(const char *js, size_t n, const char *prefix)
{
	json_t *o;

	assert_int_equal(parsen(js, n), DIALECT_REPLY);
	o = json_loads(R.buf, 0, NULL);
	assert_non_null(o);
	assert_string_equal(json_string_value(json_object_get(o, "type")),
	    "error");
	assert_memory_equal(json_string_value(json_object_get(o, "text")),
	    prefix, strlen(prefix));
	json_decref(o);
}

/* Render M: one message, `want` apart from its time. */
static void
expect_render_event(const char *want)
{
	assert_int_equal(render(), 1);
	expect_event(want);
}

/* ---- parsing ---- */

static void
t_commands(void **state)
{
	expect_cmd("{\"type\":\"login\",\"nick\":\"alice\",\"password\":\"pw\"}",
	    SB_H_IDENTIFY, 3, "alice", "pw", "");
	expect_cmd("{\"nick\":\"alice\",\"type\":\"login\"}", SB_H_IDENTIFY, 3,
	    "alice", "", "");
	expect_cmd("{\"type\":\"msg\",\"to\":\"bob\",\"text\":\"hi\"}",
	    SB_H_PRIVMSG, 2, "bob", "hi");
	expect_cmd("{\"type\":\"say\",\"room\":\"lobby\",\"text\":\"hi all\"}",
	    SB_H_ROOMMSG, 2, "lobby", "hi all");
	expect_cmd("{\"type\":\"users\"}", SB_H_LIST, 0);
	expect_cmd("{\"type\":\"rooms\"}", SB_H_ROOMS, 0);
	expect_cmd("{\"type\":\"join\",\"room\":\"lobby\"}", SB_H_JOIN, 1,
	    "lobby");
	expect_cmd("{\"type\":\"join\",\"room\":\"lobby\",\"since\":42}",
	    SB_H_JOIN, 2, "lobby", "42");
	expect_cmd("{\"type\":\"join\",\"room\":\"lobby\",\"since\":0}",
	    SB_H_JOIN, 2, "lobby", "0");
	expect_cmd("{\"type\":\"join\",\"room\":\"lobby\",\"since\":\"7\"}",
	    SB_H_JOIN, 2, "lobby", "7");
	expect_cmd("{\"type\":\"part\",\"room\":\"lobby\"}", SB_H_PART, 1,
	    "lobby");
	expect_cmd("{\"type\":\"names\",\"room\":\"lobby\"}", SB_H_NAMES, 1,
	    "lobby");
	expect_cmd("{\"type\":\"nick\",\"nick\":\"new\"}", SB_H_NICK, 1, "new");
	expect_cmd("{\"type\":\"me\",\"text\":\"waves\",\"room\":\"lobby\"}",
	    SB_H_ACTION, 2, "lobby", "waves");
	expect_cmd("{\"type\":\"me\",\"text\":\"pokes\",\"to\":\"bob\"}",
	    SB_H_ACTION, 2, "bob", "pokes");
	expect_cmd("{\"type\":\"me\",\"text\":\"shrugs\"}", SB_H_ACTION, 2, "",
	    "shrugs");
	expect_cmd("{\"type\":\"ping\"}", SB_H_PING, 1, "");
	expect_cmd("{\"type\":\"ping\",\"token\":\"t1\"}", SB_H_PING, 1, "t1");
	expect_cmd("{\"type\":\"pong\"}", SB_H_PING, 1, "");
	expect_cmd("{\"type\":\"quit\"}", SB_H_QUIT, 1, "");
	expect_cmd("{\"type\":\"quit\",\"reason\":\"bye\"}", SB_H_QUIT, 1,
	    "bye");
	expect_cmd(" {\"type\":\"msg\",\"to\":\"bob\",\"text\":"
	    "\"\\u00e9\\ud83d\\ude00 \\\"q\\\"\"} ", SB_H_PRIVMSG, 2, "bob",
	    "\xc3\xa9\xf0\x9f\x98\x80 \"q\"");
	assert_int_equal(D.seed003, 0);
}

static void
t_bad_fields(void **state)
{
	expect_bad("{\"type\":\"login\"}", "syntax",
	    "Field \\\"nick\\\" is required");
	expect_bad("{\"type\":\"login\",\"nick\":7}", "syntax",
	    "Field \\\"nick\\\" must be a string");
	expect_bad("{\"type\":\"msg\",\"to\":\"bob\"}", "syntax",
	    "Field \\\"text\\\" is required");
	expect_bad("{\"type\":\"msg\",\"to\":[\"bob\"],\"text\":\"x\"}",
	    "syntax", "Field \\\"to\\\" must be a string");
	expect_bad("{\"type\":\"msg\",\"to\":\"a b\",\"text\":\"x\"}",
	    "syntax", "Nick must not contain spaces");
	expect_bad("{\"type\":\"msg\",\"to\":\"\",\"text\":\"x\"}",
	    "syntax", "Nick is empty");
	expect_bad("{\"type\":\"msg\",\"to\":\"b\",\"text\":\"\"}",
	    "syntax", "Text is empty");
	expect_bad("{\"type\":\"say\",\"room\":\"r\",\"text\":\"a\\nb\"}",
	    "encoding", "Control character in text");
	expect_bad("{\"type\":\"join\",\"room\":null}", "syntax",
	    "Field \\\"room\\\" must be a string");
	expect_bad("{\"type\":\"join\",\"room\":\"r\",\"since\":-1}", "syntax",
	    "Field \\\"since\\\" must be a non-negative integer");
	expect_bad("{\"type\":\"join\",\"room\":\"r\",\"since\":1.5}", "syntax",
	    "Field \\\"since\\\" must be a non-negative integer");
	expect_bad("{\"type\":\"join\",\"room\":\"r\",\"since\":null}",
	    "syntax", "Field \\\"since\\\" must be a non-negative integer");
	expect_bad("{\"type\":\"me\",\"text\":\"x\",\"room\":\"r\","
	    "\"to\":\"b\"}", "syntax",
	    "Fields \\\"room\\\" and \\\"to\\\" exclude each other");
	expect_bad("{\"type\":\"ping\",\"token\":\"a b\"}", "syntax",
	    "Token must not contain spaces");
}

static void
t_bad_json(void **state)
{
	static char deep[10001];
	char big[DIALECT_INPUT_MAX + 64], want[128];
	int n;

	expect_bad_prefix("{\"type\":", 8, "Invalid JSON: ");
	expect_bad_prefix("", 0, "Invalid JSON: ");
	expect_bad_prefix("\"login\"", 7, "Invalid JSON: ");
	expect_bad_prefix("{\"type\":\"ping\"} x", 17, "Invalid JSON: ");
	expect_bad_prefix("{\"type\":\"ping\",\"type\":\"quit\"}", 29,
	    "Invalid JSON: duplicate object key");
	expect_bad_prefix("{\"type\":\"msg\",\"to\":\"b\",\"text\":\"a\\u0000b\"}",
	    42, "Invalid JSON: ");
	expect_bad_prefix("{\"type\":\"msg\",\"to\":\"b\",\"text\":\"\xff\"}", 33,
	    "Invalid JSON: ");
	expect_bad_prefix("{\"type\":\"ping\"}\0", 16, "Invalid JSON: ");
	expect_bad("[1,2]", "syntax", "Message must be a JSON object");
	expect_bad("{}", "syntax", "Field \\\"type\\\" is required");
	expect_bad("{\"type\":1}", "syntax",
	    "Field \\\"type\\\" must be a string");
	expect_bad("{\"type\":\"dance\"}", "syntax",
	    "Unknown type \\\"dance\\\"");
	expect_bad("{\"type\":\"ping\",\"a\":[[[[1]]]]}", "limit",
	    "JSON nested too deeply (max 4)");
	expect_cmd("{\"type\":\"ping\",\"a\":[[[\"]]]]]]\"]]]}", SB_H_PING, 1,
	    "");
	memset(deep, '[', sizeof(deep) - 1);
	expect_badn(deep, sizeof(deep) - 1, "limit",
	    "JSON nested too deeply (max 4)");

	n = snprintf(big, sizeof(big), "{\"type\":\"say\",\"room\":\"r\","
	    "\"text\":\"%0*d\"}", SB_TEXT_MAX, 0);
	assert_int_equal(parsen(big, (size_t)n), DIALECT_TO_HUB);
	n = snprintf(big, sizeof(big), "{\"type\":\"say\",\"room\":\"r\","
	    "\"text\":\"%0*d\"}", SB_TEXT_MAX + 1, 0);
	snprintf(want, sizeof(want), "Text too long (max %d bytes)",
	    SB_TEXT_MAX);
	expect_badn(big, (size_t)n, "limit", want);
	n = snprintf(big, sizeof(big), "{\"type\":\"nick\",\"nick\":\"%0*d\"}",
	    SB_NICK_MAX + 1, 0);
	snprintf(want, sizeof(want), "Nick too long (max %d bytes)",
	    SB_NICK_MAX);
	expect_badn(big, (size_t)n, "limit", want);
	memset(big, ' ', sizeof(big));
	snprintf(want, sizeof(want), "Message too long (max %d bytes)",
	    DIALECT_INPUT_MAX);
	expect_badn(big, DIALECT_INPUT_MAX + 1, "limit", want);
}

static void
t_seed003(void **state)
{
	expect_cmd("{\"type\":\"system\",\"id\":7,\"projectId\":2424,"
	    "\"name\":\"mks\"}", SB_H_IDENTIFY, 3, "mks", "", "7");
	assert_int_equal(D.seed003, 1);
	expect_cmd("{\"message\":\"hello\",\"type\":\"user\",\"name\":\"mks\","
	    "\"id\":7,\"projectId\":2424,\"to_id\":5,\"color\":\"#FF0000\"}",
	    SB_H_PRIVMSG_ALIAS, 3, "5", "hello", "#FF0000");
	expect_cmd("{\"type\":\"user\",\"to_id\":\"12\",\"message\":\"x\","
	    "\"color\":\"red\"}", SB_H_PRIVMSG_ALIAS, 3, "12", "x", "red");
	/* a color that is not ^#?[0-9A-Za-z]{1,20}$ is dropped */
	expect_cmd("{\"type\":\"user\",\"to_id\":5,\"message\":\"x\","
	    "\"color\":\"red;background:url(x)\"}", SB_H_PRIVMSG_ALIAS, 3, "5",
	    "x", "");
	expect_cmd("{\"type\":\"user\",\"to_id\":5,\"message\":\"x\","
	    "\"color\":\"<?php echo $colours[$user_colour]; ?>\"}",
	    SB_H_PRIVMSG_ALIAS, 3, "5", "x", "");
	expect_cmd("{\"type\":\"user\",\"to_id\":5,\"message\":\"x\","
	    "\"color\":\"#012345678901234567890\"}", SB_H_PRIVMSG_ALIAS, 3,
	    "5", "x", "");
	expect_cmd("{\"type\":\"user\",\"to_id\":5,\"message\":\"x\","
	    "\"color\":\"#01234567890123456789\"}", SB_H_PRIVMSG_ALIAS, 3,
	    "5", "x", "#01234567890123456789");
	expect_cmd("{\"type\":\"user\",\"to_id\":5,\"message\":\"x\","
	    "\"color\":\"#\"}", SB_H_PRIVMSG_ALIAS, 3, "5", "x", "");
	expect_cmd("{\"type\":\"user\",\"to_id\":5,\"message\":\"x\","
	    "\"color\":7}", SB_H_PRIVMSG_ALIAS, 3, "5", "x", "");
	expect_cmd("{\"type\":\"user\",\"to_id\":5,\"message\":\"x\"}",
	    SB_H_PRIVMSG_ALIAS, 3, "5", "x", "");

	/* errors in a seed-003 session come as system messages */
	assert_int_equal(parse("{\"type\":\"user\",\"to_id\":-1,"
	    "\"message\":\"x\"}"), DIALECT_REPLY);
	assert_string_equal(R.buf, "{\"type\":\"system\",\"message\":"
	    "\"Field \\\"to_id\\\" must be a non-negative integer\"}");
	assert_int_equal(parse("{\"type\":\"user\",\"to_id\":1.5,"
	    "\"message\":\"x\"}"), DIALECT_REPLY);
	assert_int_equal(parse("{\"type\":\"user\",\"to_id\":\"5x\","
	    "\"message\":\"x\"}"), DIALECT_REPLY);
	assert_int_equal(parse("{\"type\":\"user\",\"to_id\":"
	    "\"99999999999999999999\",\"message\":\"x\"}"), DIALECT_REPLY);
	expect_cmd("{\"type\":\"user\",\"to_id\":\"9223372036854775807\","
	    "\"message\":\"x\"}", SB_H_PRIVMSG_ALIAS, 3, "9223372036854775807",
	    "x", "");
	assert_int_equal(parse("{\"type\":\"user\",\"message\":\"x\"}"),
	    DIALECT_REPLY);
	assert_string_equal(R.buf, "{\"type\":\"system\",\"message\":"
	    "\"Field \\\"to_id\\\" is required\"}");
	assert_int_equal(parse("{\"type\":\"system\",\"id\":7}"),
	    DIALECT_REPLY);
	assert_string_equal(R.buf, "{\"type\":\"system\",\"message\":"
	    "\"Field \\\"name\\\" is required\"}");
}

/* ---- rendering ---- */

static void
t_render_presence(void **state)
{
	build(SB_C_IDENTIFIED, "alice", "Alice", "12", NULL);
	expect_render_event("{\"type\":\"welcome\",\"from\":\"\","
	    "\"nick\":\"alice\",\"name\":\"Alice\",\"id\":\"12\"}");
	build(SB_C_LOGIN, "bob", "bob", NULL);
	expect_render_event("{\"type\":\"login\",\"from\":\"\","
	    "\"nick\":\"bob\",\"name\":\"bob\"}");
	build(SB_C_QUIT, "bob", "Ping timeout", NULL);
	expect_render_event("{\"type\":\"quit\",\"from\":\"\","
	    "\"nick\":\"bob\",\"reason\":\"Ping timeout\"}");
	build(SB_C_ERROR, "nick_taken", "Nick is already in use.", NULL);
	expect_render_event("{\"type\":\"error\",\"from\":\"\","
	    "\"code\":\"nick_taken\",\"text\":\"Nick is already in use.\"}");
	build(SB_C_NICKCHANGE, "bob", "robert", NULL);
	expect_render_event("{\"type\":\"nick\",\"from\":\"\","
	    "\"old\":\"bob\",\"new\":\"robert\"}");
	build(SB_C_PONG, "t1", NULL);
	expect_render_event("{\"type\":\"pong\",\"from\":\"\",\"token\":\"t1\"}");
	build(SB_C_PING, "keepalive", NULL);
	expect_render_event("{\"type\":\"ping\",\"from\":\"\","
	    "\"token\":\"keepalive\"}");
	build(SB_C_CLOSE, "kicked", "Bye", NULL);
	expect_render_event("{\"type\":\"close\",\"from\":\"\","
	    "\"code\":\"kicked\",\"reason\":\"Bye\"}");
	build(SB_C_CONFIG, "idle_timeout=120", NULL);
	assert_int_equal(render(), 0);
	assert_int_equal(R.len, 0);
}

static void
t_render_msg(void **state)
{
	build(SB_C_MSG, "private", "bob", "alice", "", "hi", "1795305541", "",
	    NULL);
	expect_render("{\"type\":\"msg\",\"time\":\"2026-11-21T23:59:01Z\","
	    "\"from\":\"bob\",\"to\":\"alice\",\"text\":\"hi\"}");
	build(SB_C_MSG, "room", "bob", "", "lobby", "hello", "0", "", NULL);
	expect_render("{\"type\":\"msg\",\"time\":\"1970-01-01T00:00:00Z\","
	    "\"from\":\"bob\",\"room\":\"lobby\",\"text\":\"hello\"}");
	build(SB_C_MSG, "action", "bob", "", "lobby", "waves", "0", "", NULL);
	expect_render("{\"type\":\"msg\",\"time\":\"1970-01-01T00:00:00Z\","
	    "\"from\":\"bob\",\"room\":\"lobby\",\"text\":\"waves\","
	    "\"action\":true}");
	build(SB_C_MSG, "room,history", "bob", "", "lobby", "old", "0", "",
	    NULL);
	expect_render("{\"type\":\"msg\",\"time\":\"1970-01-01T00:00:00Z\","
	    "\"from\":\"bob\",\"room\":\"lobby\",\"text\":\"old\","
	    "\"history\":true}");
	build(SB_C_MSG, "announce", "", "alice", "", "Reboot", "0", "", NULL);
	expect_render("{\"type\":\"msg\",\"time\":\"1970-01-01T00:00:00Z\","
	    "\"from\":\"\",\"to\":\"alice\",\"text\":\"Reboot\","
	    "\"announce\":true}");
	/* the room's number (docs/delivery.md, "Catching up") */
	build(SB_C_MSG, "room,history", "bob", "", "lobby", "old", "0", "",
	    "9223372036854775807", NULL);
	expect_render("{\"type\":\"msg\",\"time\":\"1970-01-01T00:00:00Z\","
	    "\"from\":\"bob\",\"room\":\"lobby\",\"text\":\"old\","
	    "\"history\":true,\"room_seq\":9223372036854775807}");
	build(SB_C_MSG, "room", "bob", "", "lobby", "x", "0", "", "12x", NULL);
	assert_int_equal(render(), -EBADMSG);
	build(SB_C_GAP, "lobby", "4", "11", NULL);
	expect_render_event("{\"type\":\"gap\",\"from\":\"\","
	    "\"room\":\"lobby\",\"since\":4,\"first\":11}");
	build(SB_C_GAP, "lobby", "4", "-1", NULL);
	assert_int_equal(render(), -EBADMSG);
	/* packed once for all, it names no one: it is to us */
	strcpy(D.nick, "carol");
	build(SB_C_MSG, "announce", "", "", "", "Reboot", "0", "", NULL);
	expect_render("{\"type\":\"msg\",\"time\":\"1970-01-01T00:00:00Z\","
	    "\"from\":\"\",\"to\":\"carol\",\"text\":\"Reboot\","
	    "\"announce\":true}");
	D.nick[0] = '\0';
	/* no time from the hub: now */
	build(SB_C_MSG, "private", "bob", "alice", "", "hi", "", "", NULL);
	expect_render_event("{\"type\":\"msg\",\"from\":\"bob\",\"to\":\"alice\","
	    "\"text\":\"hi\"}");
	/* a private message with a color is the seed-003 usermsg */
	build(SB_C_MSG, "private", "mks", "bob", "", "hi", "0", "#F00", NULL);
	expect_render("{\"type\":\"usermsg\",\"name\":\"mks\",\"message\":\"hi\","
	    "\"color\":\"#F00\"}");
	build(SB_C_MSG, "bogus", "bob", "alice", "", "hi", "0", "", NULL);
	assert_int_equal(render(), -EBADMSG);
	assert_int_equal(R.len, 0);
}

static void
t_render_seed003(void **state)
{
	assert_int_equal(parse("{\"type\":\"system\",\"id\":7,\"name\":\"mks\"}"),
	    DIALECT_TO_HUB);
	build(SB_C_IDENTIFIED, "mks", "mks", "3", NULL);
	expect_render("{\"type\":\"system\",\"message\":"
	    "\"Initial message received\"}");
	build(SB_C_MSG, "private", "bob", "mks", "", "yo", "0", "", NULL);
	expect_render("{\"type\":\"usermsg\",\"name\":\"bob\",\"message\":\"yo\","
	    "\"color\":\"\"}");
	build(SB_C_ERROR, "no_such_nick", "User is already left.", NULL);
	expect_render("{\"type\":\"system\",\"message\":"
	    "\"User is already left.\"}");
	/* room messages keep the native shape */
	build(SB_C_MSG, "room", "bob", "", "lobby", "x", "0", "", NULL);
	expect_render("{\"type\":\"msg\",\"time\":\"1970-01-01T00:00:00Z\","
	    "\"from\":\"bob\",\"room\":\"lobby\",\"text\":\"x\"}");
}

static void
t_render_lists(void **state)
{
	build(SB_C_NICKLIST, "1", "alice bob", "", NULL);
	assert_int_equal(render(), 0);
	build(SB_C_NICKLIST, "0", "carol", "", NULL);
	expect_render_event("{\"type\":\"users\",\"from\":\"\","
	    "\"users\":[\"alice\",\"bob\",\"carol\"]}");
	build(SB_C_NICKLIST, "0", "", "lobby", NULL);
	expect_render_event("{\"type\":\"users\",\"from\":\"\","
	    "\"room\":\"lobby\",\"users\":[]}");
	build(SB_C_ROOMLIST, "0", "lobby:3 dev:0", NULL);
	expect_render_event("{\"type\":\"rooms\",\"from\":\"\",\"rooms\":"
	    "[{\"name\":\"lobby\",\"members\":3},"
	    "{\"name\":\"dev\",\"members\":0}]}");
	build(SB_C_ROOMLIST, "0", "lobby:3 bad", NULL);
	assert_int_equal(render(), -EBADMSG);
	assert_int_equal(R.len, 0);
	build(SB_C_JOINED, "lobby", "alice", "bob alice", NULL);
	expect_render_event("{\"type\":\"join\",\"from\":\"\",\"room\":\"lobby\","
	    "\"nick\":\"alice\",\"members\":[\"bob\",\"alice\"]}");
	build(SB_C_JOINED, "lobby", "carol", "", NULL);
	expect_render_event("{\"type\":\"join\",\"from\":\"\",\"room\":\"lobby\","
	    "\"nick\":\"carol\"}");
	build(SB_C_PARTED, "lobby", "carol", "left", NULL);
	expect_render_event("{\"type\":\"part\",\"from\":\"\",\"room\":\"lobby\","
	    "\"nick\":\"carol\",\"reason\":\"left\"}");
}

static void
t_escaping(void **state)
{
	json_t *o;

	build(SB_C_MSG, "private", "\"}, {\"type\":\"x", "alice", "",
	    "line\nbreak \"quoted\" </script> \x01 \xe2\x82\xac", "0", "",
	    NULL);
	assert_int_equal(render(), 1);
	assert_null(strchr(R.buf, '\n'));
	o = json_loads(R.buf, JSON_REJECT_DUPLICATES, NULL);
	assert_non_null(o);
	assert_string_equal(json_string_value(json_object_get(o, "from")),
	    "\"}, {\"type\":\"x");
	assert_string_equal(json_string_value(json_object_get(o, "text")),
	    "line\nbreak \"quoted\" </script> \x01 \xe2\x82\xac");
	assert_string_equal(json_string_value(json_object_get(o, "type")),
	    "msg");
	json_decref(o);

	/* a hub string that is not UTF-8 becomes an error event */
	build(SB_C_MSG, "private", "bob", "alice", "", "bad \xff", "0", "",
	    NULL);
	expect_render_event("{\"type\":\"error\",\"from\":\"\","
	    "\"code\":\"encoding\",\"text\":\"Invalid UTF-8 from the server\"}");
	build(SB_C_NICKLIST, "0", "ok b\xc3", "", NULL);
	expect_render_event("{\"type\":\"error\",\"from\":\"\","
	    "\"code\":\"encoding\",\"text\":\"Invalid UTF-8 from the server\"}");

	/* client bytes quoted in an error stay valid */
	expect_bad("{\"type\":\"\\u0001\"}", "syntax",
	    "Unknown type \\\"?\\\"");
}

/*
 * Events are written without jansson: the bytes must be those of
 * json_dumps(JSON_COMPACT) of the same object, for every control
 * character, the two escaped ASCII characters, DEL and multi-byte UTF-8.
 */
static void
t_escaping_as_jansson(void **state)
{
	char text[160], from[40];
	json_free_t jfree;
	json_t *o;
	size_t n = 0;
	char *want;
	int c;

	for (c = 1; c < 0x20; c++)
		text[n++] = (char)c;
	snprintf(text + n, sizeof(text) - n, "%s",
	    "\"\\/\x7f\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80 x");
	snprintf(from, sizeof(from), "a\"b\\c\td");
	build(SB_C_MSG, "room", from, "", "lobby", text, "86400", "", NULL);
	assert_int_equal(render(), 1);
	o = json_pack("{s:s,s:s,s:s,s:s,s:s}", "type", "msg", "time",
	    "1970-01-02T00:00:00Z", "from", from, "room", "lobby", "text", text);
	assert_non_null(o);
	want = json_dumps(o, JSON_COMPACT);
	assert_non_null(want);
	assert_string_equal(R.buf, want);
	json_get_alloc_funcs(NULL, &jfree);	/* the handler's arena */
	jfree(want);
	json_decref(o);

	/* U+0000 in a hub string (the protocol allows it in text) */
	assert_int_equal(sb_msg_encode(&MP, SB_C_MSG, 1, 0, 0, (const char *[]){
	    "room", "bob", "", "lobby", "a", "0", "" }, 7), 0);
	assert_int_equal(sb_msg_decode(&M, MP.buf, MP.len), 0);
	M.field[4] = "a\0b";
	M.flen[4] = 3;
	assert_int_equal(render(), 1);
	assert_non_null(strstr(R.buf, "\"text\":\"a\\u0000b\""));
}

/* An event past the output cap takes back what it wrote. */
static void
t_render_cap(void **state)
{
	struct buf b;

	buf_init(&b, 40);
	buf_catlen(&b, "kept", 4);
	build(SB_C_MSG, "room", "bob", "", "lobby", "a long enough text", "0",
	    "", NULL);
	assert_int_equal(dialect_render(&D, &M, &b), -EMSGSIZE);
	assert_int_equal(b.len, 4);
	assert_int_equal(b.err, 0);
	/* a sticky error from before the event stays, nothing is added */
	buf_catlen(&b, "0123456789012345678901234567890123456789", 40);
	assert_int_equal(b.err, -EMSGSIZE);
	assert_int_equal(dialect_render(&D, &M, &b), -EMSGSIZE);
	assert_int_equal(b.len, 4);
	buf_free(&b);
}

/* Render M; it must give one message that contains `needle`. */
static void
expect_render_has(const char *needle)
{
	assert_int_equal(render(), 1);
	assert_non_null(strstr(R.buf, needle));
}

/* Render a room msg "hi" stamped (epoch, hubseq); it must show `seq`. */
static void
expect_msg_seq(uint32_t epoch, uint64_t hubseq, long long seq)
{
	char want[256];

	build_seq(SB_C_MSG, epoch, hubseq, "room", "bob", "", "lobby", "hi",
	    "0", "", NULL);
	snprintf(want, sizeof(want), "{\"type\":\"msg\",\"time\":"
	    "\"1970-01-01T00:00:00Z\",\"from\":\"bob\",\"room\":\"lobby\","
	    "\"text\":\"hi\",\"epoch\":%lu,\"seq\":%lld}",
	    (unsigned long)epoch, seq);
	expect_render(want);
}

/*
 * A msg carries the hub's epoch and its own number among the msg events
 * the session was shown: 1, 2, 3... whatever the hub numbered in
 * between (joins, logins, pongs: issue 16, hole 8, showed 4, 6, 8).
 */
static void
t_render_epoch_seq(void **state)
{
	(void)state;
	expect_msg_seq(7, 42, 1);
	build_seq(SB_C_JOINED, 7, 43, "lobby", "carol", "", NULL);
	assert_int_equal(render(), 1);
	expect_msg_seq(7, 44, 2);
	build_seq(SB_C_LOGIN, 7, 45, "dave", "dave", NULL);
	assert_int_equal(render(), 1);
	build_seq(SB_C_PONG, 7, 46, "t1", NULL);
	assert_int_equal(render(), 1);
	build_seq(SB_C_PING, 7, 47, "keepalive", NULL);
	render();
	build_seq(SB_C_QUIT, 7, 48, "dave", "bye", NULL);
	assert_int_equal(render(), 1);
	expect_msg_seq(7, 49, 3);
	expect_msg_seq(7, 50, 4);
	/* A private msg and a history msg are numbered as well. */
	build_seq(SB_C_MSG, 7, 51, "private", "bob", "alice", "", "yo", "0",
	    "", NULL);
	expect_render_has("\"epoch\":7,\"seq\":5}");
	build_seq(SB_C_MSG, 7, 52, "room,history", "bob", "", "lobby", "old",
	    "0", "", NULL);
	expect_render_has("\"history\":true,\"epoch\":7,\"seq\":6}");
}

/*
 * A real loss still shows: datagrams missing from the hub's sequence
 * (dialect_lost(), from the handler's check) skip as many numbers, as
 * does a msg that could not be shown; a new epoch starts again at 1.
 */
static void
t_render_seq_loss(void **state)
{
	struct buf small;

	(void)state;
	expect_msg_seq(7, 1, 1);
	dialect_lost(&D, 7, 2);			/* hub seq 2 and 3 lost */
	expect_msg_seq(7, 4, 4);
	expect_msg_seq(7, 5, 5);
	/* Not valid UTF-8: an error event instead, and a skip after it. */
	build_seq(SB_C_MSG, 7, 6, "room", "bob", "", "lobby", "\xff", "0",
	    "", NULL);
	expect_render_has("\"code\":\"encoding\"");
	expect_msg_seq(7, 7, 7);
	/* Over the output cap: not shown, a skip too. */
	buf_init(&small, 8);
	build_seq(SB_C_MSG, 7, 8, "room", "bob", "", "lobby", "hi", "0", "",
	    NULL);
	assert_int_equal(dialect_render(&D, &M, &small), -EMSGSIZE);
	buf_free(&small);
	expect_msg_seq(7, 9, 9);
	/* The hub restarted: a new epoch, counted from 1, losses forgotten. */
	dialect_lost(&D, 7, 5);
	expect_msg_seq(8, 1, 1);
	expect_msg_seq(8, 2, 2);
	/* A loss reported in a new epoch before its first msg counts. */
	dialect_lost(&D, 9, 1);
	expect_msg_seq(9, 3, 2);
	/* A huge gap saturates, far from overflowing. */
	dialect_lost(&D, 9, UINT64_MAX);
	expect_msg_seq(9, 4, 2 + 1 + (long long)UINT32_MAX);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
		T(t_commands), T(t_bad_fields), T(t_bad_json), T(t_seed003),
		T(t_render_presence), T(t_render_msg), T(t_render_seed003),
		T(t_render_lists), T(t_escaping), T(t_render_epoch_seq),
		T(t_render_seq_loss),
		T(t_escaping_as_jansson), T(t_render_cap),
#undef T
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
