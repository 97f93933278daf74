/* SPDX-License-Identifier: ISC */
/*
 * Unit tests of the seed-001 XML dialect (handler/dialect_xml.c).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>


#define TEST_DIALECT	DIALECT_XML
#include "dialect_test.h"

/* The reply must be exactly `want` (one message). */
static void
expect_reply(const char *xml, size_t n, const char *want)
{
	assert_int_equal(parsen(xml, n), DIALECT_REPLY);
	assert_string_equal(R.buf, want);
	assert_int_equal(R.len, strlen(want) + 1);
}

/* The reply must be <error code="CODE">TEXT</error>. */
static void
expect_error(const char *xml, const char *text, const char *code)
{
	char want[512];

	snprintf(want, sizeof(want), "<error code=\"%s\">%s</error>", code,
	    text);
	expect_reply(xml, strlen(xml), want);
}

/* The reply must start with <error code="CODE">PREFIX. */
static void
expect_error_prefix(const char *xml, size_t n, const char *prefix,
    const char *code)
{
	char want[512];

	snprintf(want, sizeof(want), "<error code=\"%s\">%s", code, prefix);
	assert_int_equal(parsen(xml, n), DIALECT_REPLY);
	assert_memory_equal(R.buf, want, strlen(want));
}

/* ---- parsing ---- */

static void
t_login(void **state)
{
	expect_cmd("<login u=\"enobrev\" p=\"mypassword\" />", SB_H_IDENTIFY,
	    3, "enobrev", "mypassword", "");
	assert_int_equal(D.identify_pending, 1);
	expect_cmd("<login username=\"a\" password=\"b\"/>", SB_H_IDENTIFY, 3,
	    "a", "b", "");
	expect_cmd("<login u='guest'/>", SB_H_IDENTIFY, 3, "guest", "", "");
	expect_cmd("<?xml version=\"1.0\"?>\n<login u=\"x&amp;y\"/>",
	    SB_H_IDENTIFY, 3, "x&y", "", "");
	/* a refused login answers as a login */
	expect_reply("<login p=\"x\"/>", 14, "<login ok=\"0\" "
	    "error=\"&lt;login&gt; needs u=&quot;&quot;\" code=\"syntax\" />");
	expect_reply("<login u=\"a b\"/>", 16, "<login ok=\"0\" "
	    "error=\"Nick must not contain spaces\" code=\"syntax\" />");
	expect_reply("<login u=\"\"/>", 13, "<login ok=\"0\" "
	    "error=\"Nick is empty\" code=\"syntax\" />");
	expect_reply("<login u=\"0123456789012345678901234567890123\"/>", 47,
	    "<login ok=\"0\" error=\"Nick too long (max 32 bytes)\" "
	    "code=\"limit\" />");
	expect_reply("<login u=\"a&#10;b\"/>", 20, "<login ok=\"0\" "
	    "error=\"Control character in nick\" code=\"encoding\" />");
}

static void
t_room(void **state)
{
	/* the seed never closes it */
	expect_cmd("<room id=\"1\" uid=\"6\">", SB_H_JOIN, 1, "1");
	expect_cmd("<room id=\"lobby\" uid=\"6\">\r\n", SB_H_JOIN, 1, "lobby");
	expect_cmd("<room id=\"lobby\"/>", SB_H_JOIN, 1, "lobby");
	expect_cmd("<room id=\"lobby\"></room>", SB_H_JOIN, 1, "lobby");
	/* since: messages after that number (docs/delivery.md) */
	expect_cmd("<room id=\"lobby\" since=\"42\"/>", SB_H_JOIN, 2, "lobby",
	    "42");
	expect_cmd("<room id=\"lobby\" since=\"\"/>", SB_H_JOIN, 1, "lobby");
	expect_error("<room id=\"lobby\" since=\"x1\"/>",
	    "Since must be a non-negative integer", "syntax");
	expect_error("<room id=\"lobby\" since=\"99999999999999999999\"/>",
	    "Since must be a non-negative integer", "syntax");
	expect_error("<room uid=\"6\">", "&lt;room&gt; needs id=&quot;&quot;",
	    "syntax");
	/* but nothing may follow the lone start tag */
	expect_error_prefix("<room id=\"1\">junk", 17, "Malformed XML",
	    "syntax");
	expect_error_prefix("<room id=\"1\"><a>", 16, "Malformed XML",
	    "syntax");
	expect_error_prefix("<room id=\"1\"", 12, "Malformed XML", "syntax");
}

static void
t_msg(void **state)
{
	expect_cmd("<msg room_id=\"1\">Hello everyone</msg>", SB_H_ROOMMSG, 2,
	    "1", "Hello everyone");
	expect_cmd("<msg from_id=\"6\" room_id=\"lobby\">hi</msg>",
	    SB_H_ROOMMSG, 2, "lobby", "hi");
	expect_cmd("<msg to=\"bob\">psst</msg>", SB_H_PRIVMSG, 2, "bob",
	    "psst");
	expect_cmd("<msg to=\"bob\">&lt;b&gt; &amp; &quot;x&quot; &#233;</msg>",
	    SB_H_PRIVMSG, 2, "bob", "<b> & \"x\" \xc3\xa9");
	expect_cmd("<msg to=\"bob\"><![CDATA[<not> markup]]></msg>",
	    SB_H_PRIVMSG, 2, "bob", "<not> markup");
	expect_error("<msg room_id=\"1\" to=\"bob\">x</msg>",
	    "&lt;msg&gt; takes room_id or to, not both", "syntax");
	expect_error("<msg>x</msg>",
	    "&lt;msg&gt; needs room_id=&quot;&quot; or to=&quot;&quot;",
	    "syntax");
	expect_error("<msg to=\"bob\"></msg>", "&lt;msg&gt; needs a text",
	    "syntax");
	expect_error("<msg to=\"bob\"/>", "&lt;msg&gt; needs a text", "syntax");
	expect_error("<msg to=\"\">x</msg>", "Nick is empty", "syntax");
	expect_error("<msg to=\"bob\">a<b>c</b></msg>",
	    "&lt;msg&gt; must not contain elements", "syntax");
	expect_error("<msg to=\"bob\">a&#10;b</msg>",
	    "Control character in text", "encoding");
}

static void
t_others(void **state)
{
	expect_cmd("<rooms/>", SB_H_ROOMS, 0);
	expect_cmd("<list/>", SB_H_LIST, 0);
	expect_cmd("<names room_id=\"lobby\"/>", SB_H_NAMES, 1, "lobby");
	expect_cmd("<part room_id=\"lobby\"/>", SB_H_PART, 1, "lobby");
	expect_cmd("<nick name=\"newbie\"/>", SB_H_NICK, 1, "newbie");
	expect_cmd("<me room_id=\"lobby\">waves</me>", SB_H_ACTION, 2,
	    "lobby", "waves");
	expect_cmd("<me to=\"bob\">pokes</me>", SB_H_ACTION, 2, "bob",
	    "pokes");
	expect_cmd("<me>shrugs</me>", SB_H_ACTION, 2, "", "shrugs");
	expect_cmd("<ping/>", SB_H_PING, 1, "");
	expect_cmd("<ping token=\"abc\"/>", SB_H_PING, 1, "abc");
	expect_cmd("<pong token=\"keepalive\"/>", SB_H_PING, 1, "keepalive");
	expect_cmd("<quit/>", SB_H_QUIT, 1, "");
	expect_cmd("<quit reason=\"bye now\"/>", SB_H_QUIT, 1, "bye now");
	expect_error("<names/>", "&lt;names&gt; needs room_id=&quot;&quot;",
	    "syntax");
	expect_error("<part/>", "&lt;part&gt; needs room_id=&quot;&quot;",
	    "syntax");
	expect_error("<nick/>", "&lt;nick&gt; needs name=&quot;&quot;",
	    "syntax");
	expect_error("<nick name=\"a b\"/>", "Nick must not contain spaces",
	    "syntax");
	expect_error("<me room_id=\"lobby\"/>", "&lt;me&gt; needs a text",
	    "syntax");
	expect_error("<foo/>", "Unknown element &lt;foo&gt;", "syntax");
	expect_error("<averyveryveryveryveryverylongelementname/>",
	    "Unknown element", "syntax");
	expect_error("<rooms><x/></rooms>",
	    "&lt;rooms&gt; must not contain elements", "syntax");
}

static void
t_limits(void **state)
{
	static char big[DIALECT_INPUT_MAX + 64];
	char want[128];
	int n;

	n = snprintf(big, sizeof(big), "<msg to=\"bob\">%0*d</msg>",
	    SB_TEXT_MAX, 0);
	assert_int_equal(parsen(big, (size_t)n), DIALECT_TO_HUB);
	n = snprintf(big, sizeof(big), "<msg to=\"bob\">%0*d</msg>",
	    SB_TEXT_MAX + 1, 0);
	snprintf(want, sizeof(want), "Text too long (max %d bytes)",
	    SB_TEXT_MAX);
	expect_error(big, want, "limit");
	n = snprintf(big, sizeof(big), "<part room_id=\"%0*d\"/>",
	    SB_ROOM_MAX + 1, 0);
	snprintf(want, sizeof(want), "Room too long (max %d bytes)",
	    SB_ROOM_MAX);
	expect_error(big, want, "limit");
	memset(big, ' ', sizeof(big));
	memcpy(big, "<ping/>", 7);
	snprintf(want, sizeof(want),
	    "<error code=\"limit\">Command too long (max %d bytes)</error>",
	    DIALECT_INPUT_MAX);
	expect_reply(big, DIALECT_INPUT_MAX + 1, want);
	expect_error("<ping a=\"1\" b=\"1\" c=\"1\" d=\"1\" e=\"1\" f=\"1\" "
	    "g=\"1\" h=\"1\" i=\"1\"/>", "Too many attributes (max 8)",
	    "limit");
}

static void
t_hostile(void **state)
{
	static const char laughs[] =
	    "<?xml version=\"1.0\"?>\n"
	    "<!DOCTYPE lolz [\n"
	    " <!ENTITY lol \"lol\">\n"
	    " <!ENTITY lol1 \"&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;\">\n"
	    " <!ENTITY lol2 \"&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;\">\n"
	    " <!ENTITY lol3 \"&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;\">\n"
	    " <!ENTITY lol4 \"&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;\">\n"
	    " <!ENTITY lol5 \"&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;\">\n"
	    " <!ENTITY lol6 \"&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;\">\n"
	    " <!ENTITY lol7 \"&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;\">\n"
	    " <!ENTITY lol8 \"&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;\">\n"
	    " <!ENTITY lol9 \"&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;\">\n"
	    "]>\n"
	    "<msg to=\"bob\">&lol9;</msg>";
	static char deep[4096];
	size_t i, n = 0;

	expect_error(laughs, "DOCTYPE is not allowed", "syntax");
	expect_error("<!DOCTYPE msg SYSTEM \"file:///etc/passwd\">"
	    "<msg to=\"bob\">&xxe;</msg>", "DOCTYPE is not allowed", "syntax");
	expect_error("<!DOCTYPE msg [<!ENTITY % p SYSTEM \"http://x/\"> %p;]>"
	    "<msg to=\"bob\">x</msg>", "DOCTYPE is not allowed", "syntax");
	/* an undeclared entity is an error, never a lookup */
	expect_error_prefix("<msg to=\"bob\">&xxe;</msg>", 25,
	    "Malformed XML: undefined entity", "syntax");

	expect_error("<a><b><c><d><e/></d></c></b></a>",
	    "XML nested too deeply (max 4)", "limit");
	for (i = 0; i < 1000; i++)
		n += (size_t)snprintf(deep + n, sizeof(deep) - n, "<a>");
	expect_reply(deep, n,
	    "<error code=\"limit\">XML nested too deeply (max 4)</error>");
	expect_error("<msg to=\"b\"><i/><i/><i/><i/><i/><i/><i/><i/></msg>",
	    "Too many XML elements (max 8)", "limit");

	expect_reply("<ping/>\0<quit/>", 15,
	    "<error code=\"encoding\">NUL byte in command</error>");
	expect_error_prefix("<msg to=\"bob\">\xff</msg>", 20,
	    "Malformed XML: not well-formed", "syntax");
	expect_error_prefix("<msg to=\"bob\">&#1;</msg>", 24,
	    "Malformed XML: reference to invalid character number", "syntax");
	expect_error_prefix("<ping/><ping/>", 14,
	    "Malformed XML: junk after document element", "syntax");
	expect_error_prefix("", 0, "Malformed XML: no element found",
	    "syntax");
	expect_error_prefix("hello", 5, "Malformed XML", "syntax");
	/* the client cannot choose another encoding */
	expect_cmd("<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?>"
	    "<msg to=\"bob\">\xc3\xa9</msg>", SB_H_PRIVMSG, 2, "bob",
	    "\xc3\xa9");
}

/* ---- rendering ---- */

static void
t_render_login(void **state)
{
	build(SB_C_IDENTIFIED, "enobrev", "enobrev", "6", NULL);
	expect_render("<login ok=\"1\" id=\"6\" nick=\"enobrev\" "
	    "name=\"enobrev\" />");

	/* an error answering a login is a failed login, once */
	assert_int_equal(parse("<login u=\"taken\"/>"), DIALECT_TO_HUB);
	build(SB_C_ERROR, "nick_taken", "Nick is already in use.", NULL);
	expect_render("<login ok=\"0\" error=\"Nick is already in use.\" "
	    "code=\"nick_taken\" />");
	build(SB_C_ERROR, "not_in_room", "You are not in that room.", NULL);
	expect_render("<error code=\"not_in_room\">You are not in that room."
	    "</error>");

	build(SB_C_LOGIN, "bob", "Bob", NULL);
	expect_render("<user_login id=\"bob\" name=\"Bob\" />");
	build(SB_C_QUIT, "bob", "Quit", NULL);
	expect_render("<user_quit id=\"bob\" reason=\"Quit\" />");
}

static void
t_render_rooms(void **state)
{
	build(SB_C_ROOMLIST, "0", "lobby:3 General:0", NULL);
	expect_render("<rooms><room id=\"lobby\" count=\"3\">lobby</room>"
	    "<room id=\"General\" count=\"0\">General</room></rooms>");
	build(SB_C_ROOMLIST, "0", "", NULL);
	expect_render("<rooms></rooms>");

	build(SB_C_IDENTIFIED, "alice", "alice", "1", NULL);
	assert_int_equal(render(), 1);
	build(SB_C_JOINED, "lobby", "bob", "", NULL);
	expect_render("<msg from_id=\"0\" room_id=\"lobby\">*bob has entered"
	    "</msg>");
	build(SB_C_JOINED, "lobby", "alice", "bob alice", NULL);
	expect_render("<joined room_id=\"lobby\"><user id=\"bob\">bob</user>"
	    "<user id=\"alice\">alice</user></joined>");
	build(SB_C_PARTED, "lobby", "bob", "Connection closed", NULL);
	expect_render("<msg from_id=\"0\" room_id=\"lobby\">*bob has left "
	    "(Connection closed)</msg>");
	build(SB_C_PARTED, "lobby", "bob", "", NULL);
	expect_render("<msg from_id=\"0\" room_id=\"lobby\">*bob has left</msg>");
	build(SB_C_PARTED, "lobby", "alice", "left", NULL);
	expect_render("<parted room_id=\"lobby\" reason=\"left\" />");

	build(SB_C_NICKLIST, "1", "alice", "", NULL);
	assert_int_equal(render(), 0);
	build(SB_C_NICKLIST, "0", "bob", "", NULL);
	expect_render("<users><user id=\"alice\">alice</user>"
	    "<user id=\"bob\">bob</user></users>");
	build(SB_C_NICKLIST, "0", "bob", "lobby", NULL);
	expect_render("<users room_id=\"lobby\"><user id=\"bob\">bob</user>"
	    "</users>");
}

static void
t_render_msg(void **state)
{
	build(SB_C_MSG, "room", "bob", "", "lobby", "Hello everyone", "1", "",
	    NULL);
	expect_render("<msg from_id=\"bob\" room_id=\"lobby\" time=\"00:00:01\">"
	    "Hello everyone</msg>");
	build(SB_C_MSG, "private", "bob", "alice", "", "psst", "7200", "",
	    NULL);
	expect_render("<msg from_id=\"bob\" to=\"alice\" time=\"02:00:00\">"
	    "psst</msg>");
	build(SB_C_MSG, "action", "bob", "", "lobby", "waves", "0", "", NULL);
	expect_render("<msg from_id=\"bob\" room_id=\"lobby\" time=\"00:00:00\" "
	    "action=\"1\">waves</msg>");
	build(SB_C_MSG, "announce", "", "alice", "", "Reboot", "0", "", NULL);
	expect_render("<msg from_id=\"0\" to=\"alice\" time=\"00:00:00\">"
	    "Reboot</msg>");
	/* the room's number: only once the client asked with since="" */
	build(SB_C_MSG, "room", "bob", "", "lobby", "numbered", "0", "", "8",
	    NULL);
	expect_render("<msg from_id=\"bob\" room_id=\"lobby\" "
	    "time=\"00:00:00\">numbered</msg>");
	assert_int_equal(parse("<room id=\"lobby\" since=\"0\"/>"),
	    DIALECT_TO_HUB);
	expect_render("<msg from_id=\"bob\" room_id=\"lobby\" "
	    "time=\"00:00:00\" room_seq=\"8\">numbered</msg>");
	build(SB_C_GAP, "lobby", "0", "5", NULL);
	expect_render("<gap room_id=\"lobby\" since=\"0\" first=\"5\" />");
	build(SB_C_MSG, "room,history", "bob", "", "lobby", "old", "0", "",
	    NULL);
	expect_render("<msg from_id=\"bob\" room_id=\"lobby\" time=\"00:00:00\" "
	    "history=\"1\">old</msg>");
}

static void
t_render_misc(void **state)
{
	build(SB_C_NICKCHANGE, "bob", "robert", NULL);
	expect_render("<nick old=\"bob\" new=\"robert\" />");
	build(SB_C_PONG, "abc", NULL);
	expect_render("<pong token=\"abc\" />");
	build(SB_C_PING, "keepalive", NULL);
	expect_render("<ping token=\"keepalive\" />");
	build(SB_C_CLOSE, "kicked", "Kicked by the operator", NULL);
	expect_render("<close code=\"kicked\" reason=\"Kicked by the operator\" "
	    "/>");
	build(SB_C_STATUS, "1", "2", "3", "4", NULL);
	assert_int_equal(render(), 0);
}

static void
t_escaping(void **state)
{
	build(SB_C_MSG, "room", "\"/><forged a=\"", "", "lobby",
	    "</msg><msg from_id=\"admin\">pwned", "0", "", NULL);
	expect_render("<msg from_id=\"&quot;/&gt;&lt;forged a=&quot;\" "
	    "room_id=\"lobby\" time=\"00:00:00\">&lt;/msg&gt;&lt;msg "
	    "from_id=&quot;admin&quot;&gt;pwned</msg>");
	assert_int_equal(count(R.buf, "<"), 2);
	build(SB_C_MSG, "private", "bob", "alice", "", "a\nb]]>c", "0", "",
	    NULL);
	expect_render("<msg from_id=\"bob\" to=\"alice\" time=\"00:00:00\">"
	    "a&#10;b]]&gt;c</msg>");
	build(SB_C_JOINED, "lobby", "<script>", "", NULL);
	expect_render("<msg from_id=\"0\" room_id=\"lobby\">*&lt;script&gt; has "
	    "entered</msg>");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
		T(t_login), T(t_room), T(t_msg), T(t_others), T(t_limits),
		T(t_hostile), T(t_render_login), T(t_render_rooms),
		T(t_render_msg), T(t_render_misc), T(t_escaping),
#undef T
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
