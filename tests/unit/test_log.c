/* SPDX-License-Identifier: ISC */
/*
 * Unit tests for sb_log_escape() (common/log.c): byte for byte what
 * libbsd's strnvis() makes of each character, without calling it for the
 * characters it keeps, and truncation at the buffer's end.  And the text
 * form of events on stderr (sb_log_format(), hub_log_line()): any field
 * values, parsed back with sb_log_parse(), are exactly the fields written.
 * And a failed assert(): its text goes where sb_log() writes, and the
 * process still ends with SIGABRT.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <sys/wait.h>

#include <assert.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#define LIBBSD_OPENBSD_VIS 1	/* strnvis(dst, src, size, flags), as log.c */
#include <bsd/vis.h>

#include "log.h"
#include "../../hub/hub.h"

/* What strnvis() makes of the one character c (bytes >= 0x80 stay). */
static void
ref_char(char out[8], int c)
{
	char in[2] = { (char)c, '\0' };

	if (c >= 0x80) {
		out[0] = (char)c;
		out[1] = '\0';
	} else
		strnvis(out, in, 8, VIS_CSTYLE | VIS_OCTAL | VIS_NL | VIS_TAB);
}

static void
test_every_byte(void **state)
{
	char in[2] = { 0, 0 }, got[16], want[8];
	int c;

	(void)state;
	for (c = 1; c < 256; c++) {
		in[0] = (char)c;
		ref_char(want, c);
		assert_int_equal(sb_log_escape(got, sizeof(got), in),
		    strlen(want));
		assert_string_equal(got, want);
	}
	assert_int_equal(sb_log_escape(got, sizeof(got), "a\\b"), 4);
	assert_string_equal(got, "a\\\\b");
	sb_log_escape(got, sizeof(got), "x\ny\tz\x7f");
	assert_string_equal(got, "x\\ny\\tz\\177");
}

/*
 * Truncation: whole escapes only, always NUL-terminated.  The text cut to
 * size `sz` is the escape of the longest prefix of the input that fits.
 */
static void
test_truncation(void **state)
{
	const char *s = "abc\n\001def \xc3\xa9";
	char got[32], want[32], prefix[32];
	size_t sz, k;

	(void)state;
	for (sz = 1; sz <= sizeof(got); sz++) {
		for (k = strlen(s); ; k--) {
			memcpy(prefix, s, k);
			prefix[k] = '\0';
			if (sb_log_escape(want, sizeof(want), prefix) < sz)
				break;
		}
		assert_int_equal(sb_log_escape(got, sz, s), strlen(want));
		assert_string_equal(got, want);
	}
}

/* A small deterministic generator, so that a failure can be replayed. */
static uint64_t rng = 0x9e3779b97f4a7c15ULL;

static unsigned
rnd(unsigned n)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (unsigned)(rng % n);
}

/*
 * A random value of up to `max` bytes: any byte but NUL, weighted towards
 * what could end a field or start another (space, '=', '"', '\', newline,
 * a key) and towards UTF-8.
 */
static void
random_value(char *v, size_t max)
{
	static const char *const bits[] = { " ", "=", "\"", "\\", "\n", "\r",
	    "\t", " EVENT=kick", " NICK=alice", ": ", "\\\"", "\\n", "\\033",
	    "\xc3\xa9", "\xe2\x80\xae", "\xf0\x9f\x98\x80", "\x7f", "\x1b[31m",
	    "\xff", "\x80", "a", "Z" };
	size_t len = rnd((unsigned)max + 1), o = 0, bl;
	const char *b;
	char one[2];

	while (o < len) {
		if (rnd(3) == 0) {
			one[0] = (char)(1 + rnd(255));
			one[1] = '\0';
			b = one;
		} else
			b = bits[rnd(sizeof(bits) / sizeof(bits[0]))];
		bl = strlen(b);
		if (o + bl > len)
			break;
		memcpy(v + o, b, bl);
		o += bl;
	}
	v[o] = '\0';
}

#define PROP_FIELDS	9
#define PROP_VALUE_MAX	300

/*
 * The property: any fields, formatted and parsed back, are the same
 * fields in the same order; a line cut short by a small buffer still
 * parses, to a prefix of the fields whose last value may be cut.
 */
static void
test_format_roundtrip(void **state)
{
	static const char *const keys[] = { "EVENT", "NICK", "ROOM", "REMOTE",
	    "TRANSPORT", "SESSION", "REASON", "TEXT", "MESSAGE" };
	static char vals[PROP_FIELDS][PROP_VALUE_MAX + 1];
	static char line[PROP_FIELDS * (4 * PROP_VALUE_MAX + 16)];
	static char buf[sizeof(line) * 2];
	struct sb_log_kv kv[PROP_FIELDS], got[PROP_FIELDS + 1];
	size_t n, i, sz, len;
	int iter, r;

	(void)state;
	for (iter = 0; iter < 20000; iter++) {
		n = 1 + rnd(PROP_FIELDS);
		for (i = 0; i < n; i++) {
			random_value(vals[i], iter % 10 == 0 ? 3 :
			    PROP_VALUE_MAX);
			kv[i] = (struct sb_log_kv){ keys[i], vals[i] };
		}
		len = sb_log_format(line, sizeof(line), kv, n);
		assert_int_equal(len, strlen(line));
		assert_null(strchr(line, '\n'));
		r = sb_log_parse(line, got, PROP_FIELDS + 1, buf, sizeof(buf));
		assert_int_equal(r, (int)n);
		for (i = 0; i < n; i++) {
			assert_string_equal(got[i].key, kv[i].key);
			assert_string_equal(got[i].value, kv[i].value);
		}
		/* Cut short: still a line that parses, to a prefix. */
		sz = 1 + rnd((unsigned)len + 1);
		sb_log_format(line, sz, kv, n);
		r = sb_log_parse(line, got, PROP_FIELDS + 1, buf, sizeof(buf));
		assert_true(r >= 0 && (size_t)r <= n);
		for (i = 0; i < (size_t)r; i++) {
			assert_string_equal(got[i].key, kv[i].key);
			if (i + 1 < (size_t)r)
				assert_string_equal(got[i].value,
				    kv[i].value);
			else
				assert_memory_equal(got[i].value, kv[i].value,
				    strlen(got[i].value));
		}
	}
}

/* The forms: a plain word bare, anything else quoted and escaped. */
static void
test_format_forms(void **state)
{
	const struct sb_log_kv kv[] = {
		{ "EVENT", "login" }, { "NICK", "a=b" }, { "ROOM", NULL },
		{ "REMOTE", "127.0.0.1:5" }, { "REASON", "" },
		{ "TEXT", "q\"\\\n\t\r\001\x7f\xc3\xa9 x" },
	};
	struct sb_log_kv got[8];
	char line[256], buf[256];

	(void)state;
	sb_log_format(line, sizeof(line), kv, 6);
	assert_string_equal(line, "EVENT=login NICK=\"a=b\" "
	    "REMOTE=127.0.0.1:5 REASON=\"\" "
	    "TEXT=\"q\\\"\\\\\\n\\t\\r\\001\\177\xc3\xa9 x\"");
	/* Anything sb_log_format() never writes is refused. */
	assert_int_equal(sb_log_parse("A=b", got, 8, buf, sizeof(buf)), 1);
	assert_int_equal(sb_log_parse("", got, 8, buf, sizeof(buf)), 0);
	assert_int_equal(sb_log_parse("A=b A=c", got, 8, buf, sizeof(buf)),
	    -1);
	assert_int_equal(sb_log_parse("A=b=c", got, 8, buf, sizeof(buf)), -1);
	assert_int_equal(sb_log_parse("A=b ", got, 8, buf, sizeof(buf)), -1);
	assert_int_equal(sb_log_parse("A=b  B=c", got, 8, buf, sizeof(buf)),
	    -1);
	assert_int_equal(sb_log_parse("A=", got, 8, buf, sizeof(buf)), -1);
	assert_int_equal(sb_log_parse("A=\"x", got, 8, buf, sizeof(buf)), -1);
	assert_int_equal(sb_log_parse("A=\"x\"y", got, 8, buf, sizeof(buf)),
	    -1);
	assert_int_equal(sb_log_parse("A=\"\\x\"", got, 8, buf, sizeof(buf)),
	    -1);
	assert_int_equal(sb_log_parse("A=\"\\101\"", got, 8, buf,
	    sizeof(buf)), -1);		/* 'A' is written as it is */
	assert_int_equal(sb_log_parse("A=\"\\000\"", got, 8, buf,
	    sizeof(buf)), -1);
	assert_int_equal(sb_log_parse("A=\"\n\"", got, 8, buf, sizeof(buf)),
	    -1);
	assert_int_equal(sb_log_parse("a=b", got, 8, buf, sizeof(buf)), -1);
	assert_int_equal(sb_log_parse("A=b B=c", got, 1, buf, sizeof(buf)),
	    -1);
	assert_int_equal(sb_log_parse("A=bcd", got, 8, buf, 5), -1);
}

/*
 * Issue 16, hole 9: a QUIT reason with spaces and '=' (and a nick with
 * '=') appended forged fields to the hub's own line: "REASON=bye
 * EVENT=kick NICK=alice REMOTE=…".  The hub's line for that quit parses
 * back to exactly the fields the hub wrote, the reason whole.
 */
static void
test_forged_quit(void **state)
{
	const char *reason = "bye EVENT=kick NICK=alice REMOTE=10.0.0.1:4 "
	    "MESSAGE=\"alice kicked\"";
	struct sb_log_fields lf = { .nick = "mal=EVENT", .remote =
	    "127.0.0.1:9", .session = 7, .reason = reason };
	struct sb_log_kv got[16];
	char msg[512], line[4096], buf[4096];
	int n;

	(void)state;
	snprintf(msg, sizeof(msg), "%s quit: %s", lf.nick, reason);
	hub_log_line(line, sizeof(line), SB_EV_QUIT, &lf, "websocket", msg);
	n = sb_log_parse(line, got, 16, buf, sizeof(buf));
	assert_int_equal(n, 7);
	assert_string_equal(got[0].key, "EVENT");
	assert_string_equal(got[0].value, "quit");
	assert_string_equal(got[1].key, "NICK");
	assert_string_equal(got[1].value, "mal=EVENT");
	assert_string_equal(got[2].key, "REMOTE");
	assert_string_equal(got[2].value, "127.0.0.1:9");
	assert_string_equal(got[3].key, "TRANSPORT");
	assert_string_equal(got[3].value, "websocket");
	assert_string_equal(got[4].key, "SESSION");
	assert_string_equal(got[4].value, "7");
	assert_string_equal(got[5].key, "REASON");
	assert_string_equal(got[5].value, reason);
	assert_string_equal(got[6].key, "MESSAGE");
	assert_string_equal(got[6].value, msg);
}

/* assert() in a child whose stderr is a pipe: the line, then SIGABRT. */
static void
test_assert_fail(void **state)
{
	char got[512];
	ssize_t n, len = 0;
	int p[2], st;
	pid_t pid;

	(void)state;
	assert_int_equal(pipe(p), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		volatile int zero = 0;

		dup2(p[1], 2);
		sb_log_init("test-log", SB_LOG_STDERR);
		assert(zero == 1);
		_exit(0);
	}
	close(p[1]);
	while (len < (ssize_t)sizeof(got) - 1 &&
	    (n = read(p[0], got + len, sizeof(got) - 1 - (size_t)len)) > 0)
		len += n;
	got[len] = '\0';
	close(p[0]);
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFSIGNALED(st));
	assert_int_equal(WTERMSIG(st), SIGABRT);
	assert_non_null(strstr(got, "test-log: assertion failed: zero == 1 ("));
	assert_non_null(strstr(got, "test_log.c:"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_byte),
		cmocka_unit_test(test_truncation),
		cmocka_unit_test(test_format_roundtrip),
		cmocka_unit_test(test_format_forms),
		cmocka_unit_test(test_forged_quit),
		cmocka_unit_test(test_assert_fail),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
