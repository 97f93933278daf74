/* SPDX-License-Identifier: ISC */
/*
 * Unit tests of the seed-000 text dialect (handler/dialect_text.c) and of
 * the shared parts of handler/dialect.c and dialect_util.c (the output
 * buffer, detection, lists).
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


#define TEST_DIALECT	DIALECT_TEXT
#include "dialect_test.h"

/* The reply must be exactly one <error value="TEXT" code="CODE" />. */
static void
expect_error(const char *text, const char *code)
{
	char want[512];

	snprintf(want, sizeof(want), "<error value=\"%s\" code=\"%s\" />",
	    text, code);
	assert_string_equal(R.buf, want);
	assert_int_equal(R.len, strlen(want) + 1);
}

static void
expect_bad(const char *line, size_t n, const char *text, const char *code)
{
	assert_int_equal(parsen(line, n), DIALECT_REPLY);
	expect_error(text, code);
}

/* ---- parsing ---- */

static void
t_identify(void **state)
{
	expect_cmd("IDENTIFY alice secret", SB_H_IDENTIFY, 3, "alice",
	    "secret", "");
	expect_cmd("identify bob", SB_H_IDENTIFY, 3, "bob", "", "");
	expect_cmd("IdEnTiFy  carol   pass word ", SB_H_IDENTIFY, 3, "carol",
	    "pass word ", "");
	expect_cmd("IDENTIFY dave\r", SB_H_IDENTIFY, 3, "dave", "", "");
	assert_int_equal(D.identify_pending, 1);
	expect_bad("IDENTIFY", 8, "IDENTIFY needs a nick", "syntax");
	expect_bad("IDENTIFY   ", 11, "IDENTIFY needs a nick", "syntax");
}

static void
t_msg(void **state)
{
	expect_cmd("MSG bob hello", SB_H_PRIVMSG, 2, "bob", "hello");
	expect_cmd("msg   bob   hello  world ", SB_H_PRIVMSG, 2, "bob",
	    "hello  world ");
	expect_cmd("MSG bob \"/><forged a=\"", SB_H_PRIVMSG, 2, "bob",
	    "\"/><forged a=\"");
	expect_cmd("MSG bob h\xc3\xa9llo \xe2\x82\xac", SB_H_PRIVMSG, 2, "bob",
	    "h\xc3\xa9llo \xe2\x82\xac");
	expect_bad("MSG bob", 7, "MSG needs a nick and a text", "syntax");
	expect_bad("MSG bob   ", 10, "MSG needs a nick and a text", "syntax");
	expect_bad("MSG", 3, "MSG needs a nick and a text", "syntax");
}

static void
t_simple(void **state)
{
	expect_cmd("LIST", SB_H_LIST, 0);
	expect_cmd("list  ", SB_H_LIST, 0);
	expect_cmd("ROOMS", SB_H_ROOMS, 0);
	expect_cmd("JOIN lobby", SB_H_JOIN, 1, "lobby");
	expect_cmd("PART lobby", SB_H_PART, 1, "lobby");
	expect_cmd("NAMES lobby", SB_H_NAMES, 1, "lobby");
	expect_cmd("SAY lobby hi all", SB_H_ROOMMSG, 2, "lobby", "hi all");
	expect_cmd("NICK newname", SB_H_NICK, 1, "newname");
	expect_cmd("ME waves hello", SB_H_ACTION, 2, "", "waves hello");
	expect_cmd("ME @lobby waves", SB_H_ACTION, 2, "lobby", "waves");
	expect_cmd("ME @bob  pokes you", SB_H_ACTION, 2, "bob", "pokes you");
	expect_cmd("PING", SB_H_PING, 1, "");
	expect_cmd("PING abc123", SB_H_PING, 1, "abc123");
	expect_cmd("PONG abc123", SB_H_PING, 1, "abc123");
	expect_cmd("QUIT", SB_H_QUIT, 1, "");
	expect_cmd("QUIT gone fishing", SB_H_QUIT, 1, "gone fishing");
}

static void
t_session(void **state)
{
	D.session = 42;
	assert_int_equal(parse("LIST"), DIALECT_TO_HUB);
	assert_int_equal(sb_msg_decode(&M, P.buf, P.len), 0);
	assert_true(M.session == 42);
}

static void
t_missing(void **state)
{
	expect_bad("JOIN", 4, "JOIN needs a room", "syntax");
	expect_bad("PART", 4, "PART needs a room", "syntax");
	expect_bad("NAMES", 5, "NAMES needs a room", "syntax");
	expect_bad("SAY lobby", 9, "SAY needs a room and a text", "syntax");
	expect_bad("NICK", 4, "NICK needs a nick", "syntax");
	expect_bad("ME", 2, "ME needs a text", "syntax");
	expect_bad("ME @bob", 7, "ME needs a text after @target", "syntax");
	expect_bad("ME @ hi", 7, "ME needs a target after @", "syntax");
	expect_bad("LIST all", 8, "LIST takes no argument", "syntax");
	expect_bad("JOIN a b", 8, "JOIN takes a single room", "syntax");
	expect_bad("PING a b", 8, "PING takes a single token", "syntax");
}

static void
t_unknown(void **state)
{
	char big[100];

	expect_bad("FOO bar", 7, "Unknown command FOO", "syntax");
	expect_bad("foo", 3, "Unknown command foo", "syntax");
	memset(big, 'X', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	expect_bad(big, strlen(big), "Unknown command", "syntax");
	expect_bad("<b>x</b>", 8, "Unknown command &lt;b&gt;x&lt;/b&gt;",
	    "syntax");
}

static void
t_bytes(void **state)
{
	expect_bad("MSG bob a\0b", 11, "NUL byte in command", "encoding");
	expect_bad("\0", 1, "NUL byte in command", "encoding");
	expect_bad("MSG bob a\tb", 11, "Control character in command",
	    "encoding");
	expect_bad("MSG bob a\nb", 11, "Control character in command",
	    "encoding");
	expect_bad("MSG bob a\rb", 11, "Control character in command",
	    "encoding");
	expect_bad("MSG bob \x7f", 9, "Control character in command",
	    "encoding");
	expect_bad("MSG bob \xff", 9, "Invalid UTF-8 in command", "encoding");
	expect_bad("MSG bob \xc0\xaf", 10, "Invalid UTF-8 in command",
	    "encoding");
	expect_bad("MSG bob \xed\xa0\x80", 11, "Invalid UTF-8 in command",
	    "encoding");
	/* a trailing CR is stripped, only one */
	expect_cmd("MSG bob hi\r", SB_H_PRIVMSG, 2, "bob", "hi");
	expect_bad("MSG bob hi\r\r", 12, "Control character in command",
	    "encoding");
	/* an empty line is nothing */
	assert_int_equal(parse(""), DIALECT_NOTHING);
	assert_int_equal(parse("   "), DIALECT_NOTHING);
	assert_int_equal(parse("\r"), DIALECT_NOTHING);
	assert_int_equal(R.len, 0);
}

static void
t_limits(void **state)
{
	char line[DIALECT_INPUT_MAX + 64], want[64];

	snprintf(line, sizeof(line), "NICK %0*d", SB_NICK_MAX, 0);
	expect_cmd(line, SB_H_NICK, 1, line + 5);
	snprintf(line, sizeof(line), "NICK %0*d", SB_NICK_MAX + 1, 0);
	snprintf(want, sizeof(want), "Nick too long (max %d bytes)",
	    SB_NICK_MAX);
	expect_bad(line, strlen(line), want, "limit");
	snprintf(line, sizeof(line), "JOIN %0*d", SB_ROOM_MAX + 1, 0);
	snprintf(want, sizeof(want), "Room too long (max %d bytes)",
	    SB_ROOM_MAX);
	expect_bad(line, strlen(line), want, "limit");

	snprintf(line, sizeof(line), "MSG bob %0*d", SB_TEXT_MAX, 0);
	assert_int_equal(parse(line), DIALECT_TO_HUB);
	snprintf(line, sizeof(line), "MSG bob %0*d", SB_TEXT_MAX + 1, 0);
	snprintf(want, sizeof(want), "Text too long (max %d bytes)",
	    SB_TEXT_MAX);
	expect_bad(line, strlen(line), want, "limit");

	snprintf(line, sizeof(line), "IDENTIFY a %0*d", SB_PASS_MAX + 1, 0);
	snprintf(want, sizeof(want), "Password too long (max %d bytes)",
	    SB_PASS_MAX);
	expect_bad(line, strlen(line), want, "limit");
	snprintf(line, sizeof(line), "QUIT %0*d", SB_REASON_MAX + 1, 0);
	snprintf(want, sizeof(want), "Reason too long (max %d bytes)",
	    SB_REASON_MAX);
	expect_bad(line, strlen(line), want, "limit");
	snprintf(line, sizeof(line), "PING %0*d", DIALECT_TOKEN_MAX + 1, 0);
	snprintf(want, sizeof(want), "Token too long (max %d bytes)",
	    DIALECT_TOKEN_MAX);
	expect_bad(line, strlen(line), want, "limit");

	memset(line, 'a', sizeof(line));
	snprintf(want, sizeof(want), "Command too long (max %d bytes)",
	    DIALECT_INPUT_MAX);
	expect_bad(line, DIALECT_INPUT_MAX + 1, want, "limit");
}

/* ---- rendering ---- */

static void
t_render_identity(void **state)
{
	build(SB_C_IDENTIFIED, "alice", "Alice A.", "7", NULL);
	expect_render("<identify aid=\"alice\" name=\"Alice A.\" />");
	assert_string_equal(D.nick, "alice");
	build(SB_C_LOGIN, "bob", "bob", NULL);
	expect_render("<login aid=\"bob\" name=\"bob\" />");
	build(SB_C_QUIT, "bob", "Connection reset", NULL);
	expect_render("<quit aid=\"bob\" reason=\"Connection reset\" />");
	build(SB_C_ERROR, "gone", "User is already left.", NULL);
	expect_render("<error value=\"User is already left.\" code=\"gone\" />");
}

static void
t_render_msg(void **state)
{
	build(SB_C_MSG, "private", "bob", "alice", "", "hi there", "86399", "",
	    NULL);
	expect_render("<msg aid=\"bob\" time=\"23:59:59\" msg=\"hi there\" "
	    "from=\"bob\" to=\"alice\" />");
	build(SB_C_MSG, "room", "bob", "", "lobby", "hello", "3600", "", NULL);
	expect_render("<msg aid=\"bob\" time=\"01:00:00\" msg=\"hello\" "
	    "from=\"bob\" to=\"\" room=\"lobby\" />");
	build(SB_C_MSG, "action", "bob", "", "lobby", "waves", "0", "", NULL);
	expect_render("<msg aid=\"bob\" time=\"00:00:00\" msg=\"waves\" "
	    "from=\"bob\" to=\"\" room=\"lobby\" action=\"1\" />");
	build(SB_C_MSG, "announce", "admin", "", "", "reboot at 5", "60", "",
	    NULL);
	expect_render("<msg aid=\"\" time=\"00:01:00\" msg=\"reboot at 5\" "
	    "from=\"\" to=\"\" />");
	build(SB_C_MSG, "history,action", "bob", "", "lobby", "old", "61", "",
	    NULL);
	expect_render("<msg aid=\"bob\" time=\"00:01:01\" msg=\"old\" "
	    "from=\"bob\" to=\"\" room=\"lobby\" action=\"1\" history=\"1\" />");
	/* no time: now, still HH:MM:SS */
	build(SB_C_MSG, "private", "bob", "alice", "", "x", "", "", NULL);
	assert_int_equal(render(), 1);
	assert_non_null(strstr(R.buf, " time=\""));
	assert_int_equal(strstr(R.buf, " msg=") - strstr(R.buf, " time="),
	    strlen(" time=\"HH:MM:SS\""));
	/* an unknown kind is the hub's bug: refused, nothing written */
	build(SB_C_MSG, "shout", "bob", "alice", "", "x", "", "", NULL);
	buf_truncate(&R, 0);
	buf_cat(&R, "keep");
	assert_int_equal(dialect_render(&D, &M, &R), -EBADMSG);
	assert_string_equal(R.buf, "keep");
}

static void
t_render_lists(void **state)
{
	build(SB_C_NICKLIST, "1", "alice bob", "", NULL);
	assert_int_equal(render(), 0);
	assert_int_equal(R.len, 0);
	build(SB_C_NICKLIST, "1", "carol", "", NULL);
	assert_int_equal(render(), 0);
	build(SB_C_NICKLIST, "0", "dave", "", NULL);
	expect_render("<nicklist><nick aid=\"alice\" name=\"alice\" />"
	    "<nick aid=\"bob\" name=\"bob\" /><nick aid=\"carol\" "
	    "name=\"carol\" /><nick aid=\"dave\" name=\"dave\" /></nicklist>");
	/* the accumulator starts afresh; NAMES answers name their room */
	build(SB_C_NICKLIST, "0", "", "", NULL);
	expect_render("<nicklist></nicklist>");
	build(SB_C_NICKLIST, "0", "alice", "lobby", NULL);
	expect_render("<nicklist room=\"lobby\"><nick aid=\"alice\" "
	    "name=\"alice\" /></nicklist>");

	build(SB_C_ROOMLIST, "1", "lobby:3", NULL);
	assert_int_equal(render(), 0);
	build(SB_C_ROOMLIST, "0", "dev:0 a:b:12", NULL);
	expect_render("<rooms><room id=\"lobby\" count=\"3\" />"
	    "<room id=\"dev\" count=\"0\" /><room id=\"a:b\" count=\"12\" />"
	    "</rooms>");
	build(SB_C_ROOMLIST, "0", "lobby", NULL);
	assert_int_equal(render(), -EBADMSG);
	assert_int_equal(R.len, 0);
	build(SB_C_ROOMLIST, "0", "lobby:x", NULL);
	assert_int_equal(render(), -EBADMSG);
}

static void
t_render_list_cap(void **state)
{
	static char chunk[SB_LIST_MAX + 1];
	size_t i, n = 0;

	/* "nnnnnnn " words up to one chunk */
	for (i = 0; i + 8 <= SB_LIST_MAX; i += 8)
		memcpy(chunk + i, "nnnnnnn ", 8);
	chunk[i - 1] = '\0';
	while (n <= DIALECT_LIST_MAX) {
		build(SB_C_NICKLIST, "1", chunk, "", NULL);
		assert_int_equal(render(), 0);
		n += strlen(chunk);
	}
	build(SB_C_NICKLIST, "0", "last", "", NULL);
	expect_render("<error value=\"Nick list too long\" code=\"limit\" />");
	build(SB_C_NICKLIST, "0", "alone", "", NULL);
	expect_render("<nicklist><nick aid=\"alone\" name=\"alone\" />"
	    "</nicklist>");
}

static void
t_render_rooms(void **state)
{
	build(SB_C_IDENTIFIED, "alice", "alice", "1", NULL);
	assert_int_equal(render(), 1);
	build(SB_C_JOINED, "lobby", "alice", "alice bob", NULL);
	expect_render("<join room=\"lobby\" aid=\"alice\"><nick aid=\"alice\" "
	    "name=\"alice\" /><nick aid=\"bob\" name=\"bob\" /></join>");
	build(SB_C_JOINED, "lobby", "carol", "", NULL);
	expect_render("<join room=\"lobby\" aid=\"carol\" />");
	build(SB_C_PARTED, "lobby", "carol", "bye", NULL);
	expect_render("<part room=\"lobby\" aid=\"carol\" reason=\"bye\" />");
	build(SB_C_NICKCHANGE, "alice", "alicia", NULL);
	expect_render("<nick old=\"alice\" new=\"alicia\" />");
	assert_string_equal(D.nick, "alicia");
	build(SB_C_NICKCHANGE, "bob", "robert", NULL);
	expect_render("<nick old=\"bob\" new=\"robert\" />");
	assert_string_equal(D.nick, "alicia");
	build(SB_C_PONG, "t1", NULL);
	expect_render("<pong token=\"t1\" />");
	build(SB_C_PING, "k9", NULL);
	expect_render("<ping token=\"k9\" />");
	build(SB_C_CLOSE, "shutdown", "Server going down", NULL);
	expect_render("<close code=\"shutdown\" reason=\"Server going down\" />");
	build(SB_C_WELCOME, "5", "1", NULL);
	assert_int_equal(render(), 0);
	assert_int_equal(R.len, 0);
	build(SB_H_LIST, NULL);
	assert_int_equal(render(), -EBADMSG);
}

static void
t_escaping(void **state)
{
	build(SB_C_LOGIN, "\"/><forged a=\"", "x'&y", NULL);
	expect_render("<login aid=\"&quot;/&gt;&lt;forged a=&quot;\" "
	    "name=\"x&apos;&amp;y\" />");
	assert_int_equal(count(R.buf, "<"), 1);
	build(SB_C_MSG, "private", "bob", "alice", "",
	    "line1\nline2\r\t\x01\x7f", "0", "", NULL);
	expect_render("<msg aid=\"bob\" time=\"00:00:00\" "
	    "msg=\"line1&#10;line2&#13;&#9;\xef\xbf\xbd&#127;\" from=\"bob\" "
	    "to=\"alice\" />");
	assert_null(strchr(R.buf, '\n'));
	/* invalid UTF-8 from the hub becomes U+FFFD */
	build(SB_C_MSG, "private", "bob", "alice", "", "a\xff" "b\xc3", "0",
	    "", NULL);
	expect_render("<msg aid=\"bob\" time=\"00:00:00\" "
	    "msg=\"a\xef\xbf\xbd" "b\xef\xbf\xbd\" from=\"bob\" to=\"alice\" />");
	/* valid multibyte text passes as is */
	build(SB_C_LOGIN, "j\xc3\xb6rg", "\xf0\x9f\x98\x80", NULL);
	expect_render("<login aid=\"j\xc3\xb6rg\" name=\"\xf0\x9f\x98\x80\" />");
	/* a forged nick in a list stays one attribute */
	build(SB_C_NICKLIST, "0", "a\"/><x", "", NULL);
	expect_render("<nicklist><nick aid=\"a&quot;/&gt;&lt;x\" "
	    "name=\"a&quot;/&gt;&lt;x\" /></nicklist>");
}

/* ---- the output buffer (struct buf as text) and detection ---- */

static void
t_buf_text(void **state)
{
	struct buf b;

	buf_init(&b, 8);
	assert_int_equal(buf_cat(&b, "abcd"), 0);
	assert_int_equal(buf_catf(&b, "%d", 1234), 0);
	assert_string_equal(b.buf, "abcd1234");
	assert_int_equal(buf_catlen(&b, "x", 1), -EMSGSIZE);
	assert_int_equal(buf_catlen(&b, "", 0), -EMSGSIZE);	/* sticky */
	assert_string_equal(b.buf, "abcd1234");
	buf_truncate(&b, 2);
	assert_int_equal(b.err, 0);
	assert_string_equal(b.buf, "ab");
	buf_free(&b);
	assert_null(b.buf);
	assert_int_equal(b.max, 8);
	buf_free(NULL);

	/* a render over the cap leaves the buffer as it was */
	buf_init(&b, 20);
	buf_cat(&b, "old");
	build(SB_C_LOGIN, "someone", "with a long name", NULL);
	assert_int_equal(dialect_render(&D, &M, &b), -EMSGSIZE);
	assert_int_equal(b.len, 3);
	assert_int_equal(b.err, 0);
	buf_free(&b);

	buf_init(&b, 1 << 20);
	assert_int_equal(buf_catf(&b, "%0*d", 1000, 7), 0);
	assert_int_equal(b.len, 1000);
	buf_free(&b);
}

static void
t_detect(void **state)
{
	assert_int_equal(dialect_detect("<login u=\"a\"/>", 14), DIALECT_XML);
	assert_int_equal(dialect_detect(" \r\n<room>", 9), DIALECT_XML);
	assert_int_equal(dialect_detect("IDENTIFY a", 10), DIALECT_TEXT);
	assert_int_equal(dialect_detect("", 0), DIALECT_TEXT);
	assert_int_equal(dialect_detect("x<", 2), DIALECT_TEXT);
}

static void
t_multiple(void **state)
{
	/* replies accumulate, each followed by its own NUL */
	buf_truncate(&R, 0);
	assert_int_equal(dialect_parse(&D, "FOO", 3, &P, &R), DIALECT_REPLY);
	assert_int_equal(dialect_parse(&D, "BAR", 3, &P, &R), DIALECT_REPLY);
	assert_int_equal(count(R.buf, "<error"), 1);	/* first string */
	assert_string_equal(R.buf + strlen(R.buf) + 1,
	    "<error value=\"Unknown command BAR\" code=\"syntax\" />");
	assert_int_equal(R.buf[R.len - 1], '\0');
}

/*
 * Regression (found by tests/fuzz/fuzz_dialect_render): control
 * characters were written as &#N;, which XML 1.0 forbids for all but
 * TAB, LF and CR, so a strict parser refused the whole message; the
 * noncharacters U+FFFE and U+FFFF went out raw, with the same effect.
 * What XML cannot carry becomes U+FFFD; the result is well-formed.
 */
static void
t_escape_xml_chars(void **state)
{
	static const char in[] = "a\0b\x01\x1f\t\n\r\x7f"
	    "\xef\xbf\xbe\xef\xbf\xbf\xef\xbf\xbd\xef\xbf\xbc"
	    "\xef\x41\xc2\x80z";
	static const char want[] = "a\xef\xbf\xbd" "b\xef\xbf\xbd\xef\xbf\xbd"
	    "&#9;&#10;&#13;&#127;"
	    "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbc"
	    "\xef\xbf\xbd" "A\xc2\x80z";
	struct buf b;

	buf_init(&b, 1024);
	assert_int_equal(dialect_xml_escape(&b, in, sizeof(in) - 1), 0);
	assert_string_equal(b.buf, want);
	buf_free(&b);
	build(SB_C_QUIT, "bob", "bye\x01\xef\xbf\xbf", NULL);
	expect_render("<quit aid=\"bob\" reason=\"bye\xef\xbf\xbd\xef\xbf\xbd\" />");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
		T(t_identify), T(t_msg), T(t_simple), T(t_session),
		T(t_missing), T(t_unknown), T(t_bytes), T(t_limits),
		T(t_render_identity), T(t_render_msg), T(t_render_lists),
		T(t_render_list_cap), T(t_render_rooms), T(t_escaping),
		T(t_buf_text), T(t_detect), T(t_multiple), T(t_escape_xml_chars),
#undef T
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
