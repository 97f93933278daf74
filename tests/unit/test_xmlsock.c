/* SPDX-License-Identifier: ISC */
/*
 * Unit tests for handler/xmlsock.c.  A small model of the session's read
 * loop feeds xmlsock_next() the way the handler does: append what
 * arrived, call until it answers 0 (need more) or -1 (refuse), consume
 * what it returned.  Each input goes through the loop whole and one byte
 * at a time, and every call sees its bytes at the very end of a page
 * followed by an unreadable page.  The messages are written down as a
 * transcript ("text<NUL> text<LF> REFUSED@n") and compared.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "../../handler/handler.h"

#include "guard.h"

/* xmlsock_next() on a copy of p[0..len) that ends at the guard page. */
static int
next_guarded(const char *p, size_t len, size_t max, size_t *msglen,
    char *term, const char **start)
{
	char *d = (char *)guarded(p, len);

	*start = d;
	return xmlsock_next(d, len, max, msglen, term);
}

struct reader {
	char	 in[GUARD_PAGES * 4096];	/* bytes not yet consumed */
	size_t	 len;
	size_t	 fed;			/* bytes given so far */
	int	 refused;
	char	 out[GUARD_PAGES * 8192];	/* the transcript */
	size_t	 outlen;
};

static void
out_add(struct reader *r, const char *s, size_t n)
{
	assert_true(r->outlen + n < sizeof(r->out));
	memcpy(r->out + r->outlen, s, n);
	r->outlen += n;
	r->out[r->outlen] = '\0';
}

/* Take every complete message out of r->in. */
static void
drain(struct reader *r, size_t max)
{
	const char *start;
	size_t msglen;
	char term, note[32];
	int n;

	while (!r->refused) {
		msglen = 12345;
		term = 'x';
		n = next_guarded(r->in, r->len, max, &msglen, &term, &start);
		if (n == 0)
			return;
		if (n < 0) {
			snprintf(note, sizeof(note), "REFUSED@%zu", r->fed);
			out_add(r, note, strlen(note));
			r->refused = 1;
			return;
		}
		assert_true((size_t)n <= r->len);
		assert_true(msglen <= max && msglen < (size_t)n);
		assert_true(term == '\0' || term == '\n');
		/* The terminator is the last byte consumed. */
		assert_int_equal(start[n - 1], term);
		out_add(r, start, msglen);
		out_add(r, term == '\0' ? "<NUL> " : "<LF> ", term ? 5 : 6);
		memmove(r->in, r->in + n, r->len - (size_t)n);
		r->len -= (size_t)n;
	}
}

static void
feed(struct reader *r, const char *p, size_t len, size_t max)
{
	if (r->refused)
		return;
	assert_true(r->len + len <= sizeof(r->in));
	memcpy(r->in + r->len, p, len);
	r->len += len;
	r->fed += len;
	drain(r, max);
}

/*
 * Run in[0..len) through the reader whole and byte by byte; both give
 * `want` (with the bytes left over at the end noted as "+n").
 */
static void
check(const char *in, size_t len, size_t max, const char *want)
{
	static struct reader whole, bytes;
	const char *ref;
	char left[32];
	size_t i;

	memset(&whole, 0, sizeof(whole));
	memset(&bytes, 0, sizeof(bytes));
	feed(&whole, in, len, max);
	for (i = 0; i < len; i++)
		feed(&bytes, in + i, 1, max);
	if (whole.len > 0 && !whole.refused) {
		snprintf(left, sizeof(left), "+%zu", whole.len);
		out_add(&whole, left, strlen(left));
	}
	if (bytes.len > 0 && !bytes.refused) {
		snprintf(left, sizeof(left), "+%zu", bytes.len);
		out_add(&bytes, left, strlen(left));
	}
	if (strcmp(bytes.out, want) != 0)
		fail_msg("byte by byte: \"%s\", expected \"%s\"", bytes.out,
		    want);
	/*
	 * Whole, the same messages; a refusal comes with all the bytes in,
	 * so its position differs.
	 */
	ref = strstr(want, "REFUSED@");
	if (ref == NULL ? strcmp(whole.out, want) != 0 :
	    strncmp(whole.out, want, (size_t)(ref - want)) != 0 ||
	    !whole.refused)
		fail_msg("whole: \"%s\", expected \"%s\"", whole.out, want);
}

#define CHECKN(s, max, want)	check((s), sizeof(s) - 1, (max), (want))

/* n copies of c, and then tail[0..tl). */
static size_t
run(char *dst, size_t n, char c, const char *tail, size_t tl)
{
	memset(dst, c, n);
	memcpy(dst + n, tail, tl);
	return n + tl;
}

static void
test_nothing_yet(void **state)
{
	const char *start;
	size_t ml = 7;
	char t = 'x';

	assert_int_equal(xmlsock_next(NULL, 0, 64, &ml, &t), 0);
	assert_int_equal(next_guarded("", 0, 64, &ml, &t, &start), 0);
	assert_int_equal(next_guarded("abc", 3, 64, &ml, &t, &start), 0);
	assert_int_equal(next_guarded("abc\r", 4, 64, &ml, &t, &start), 0);
	assert_int_equal(ml, 7);	/* untouched while waiting */
	assert_int_equal(t, 'x');
}

static void
test_several_in_one_buffer(void **state)
{
	const char *start;
	size_t ml;
	char t;

	assert_int_equal(next_guarded("ab\0cd\n", 6, 64, &ml, &t, &start), 3);
	assert_int_equal(ml, 2);
	assert_int_equal(t, '\0');
	CHECKN("a\0bb\ncc\r\n\0\n\r\nlast", 64,
	    "a<NUL> bb<LF> cc<LF> <NUL> <LF> <LF> +4");
	CHECKN("<msg t=\"1\"/>\0<msg t=\"2\"/>\0", 64,
	    "<msg t=\"1\"/><NUL> <msg t=\"2\"/><NUL> ");
	CHECKN("IDENTIFY bob\r\nMSG bob hi\r\nLIST\n", 64,
	    "IDENTIFY bob<LF> MSG bob hi<LF> LIST<LF> ");
}

static void
test_terminators(void **state)
{
	/* A CR counts only right before LF. */
	CHECKN("a\r\0", 64, "a\r<NUL> ");
	CHECKN("a\r\r\n", 64, "a\r<LF> ");
	CHECKN("\r\n", 64, "<LF> ");
	CHECKN("\r", 64, "+1");
	CHECKN("a\rb\n", 64, "a\rb<LF> ");
	CHECKN("\n\r\n", 64, "<LF> <LF> ");
	/* Empty messages. */
	CHECKN("\0\0\0", 64, "<NUL> <NUL> <NUL> ");
	CHECKN("\n\n", 64, "<LF> <LF> ");
}

/* One message arriving in many pieces is found once, when it ends. */
static void
test_split(void **state)
{
	static char in[4096], want[4096];
	size_t n;

	n = run(in, 3000, 'm', "\0", 1);
	snprintf(want, sizeof(want), "%.3000s<NUL> ", in);
	check(in, n, 4096, want);
	n = run(in, 3000, 'm', "\r\nnext\0", 7);
	snprintf(want, sizeof(want), "%.3000s<LF> next<NUL> ", in);
	check(in, n, 4096, want);
}

/* Exactly `max` bytes are accepted, whichever terminator follows. */
static void
test_exactly_max(void **state)
{
	static char in[256], want[256];
	size_t n;

	snprintf(want, sizeof(want), "%.64s<NUL> ",
	    "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx");
	n = run(in, 64, 'x', "\0", 1);
	check(in, n, 64, want);
	n = run(in, 64, 'x', "\0y\0", 3);
	strcat(want, "y<NUL> ");
	check(in, n, 64, want);
	snprintf(want, sizeof(want), "%.64s<LF> ",
	    "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx");
	n = run(in, 64, 'x', "\n", 1);
	check(in, n, 64, want);
	n = run(in, 64, 'x', "\r\n", 2);
	check(in, n, 64, want);
	/* max bytes and a CR: could still be CR LF. */
	n = run(in, 64, 'x', "\r", 1);
	check(in, n, 64, "+65");
}

/*
 * One byte over `max` is refused as soon as that is certain, without
 * waiting for a terminator that may never come.
 */
static void
test_over_max(void **state)
{
	static char in[9000];
	size_t n;

	/* 65 bytes, none of them a CR: refused at the 65th. */
	n = run(in, 65, 'x', "\0", 1);
	check(in, n, 64, "REFUSED@65");
	n = run(in, 65, 'x', "", 0);
	check(in, n, 64, "REFUSED@65");
	n = run(in, 65, 'x', "\r\n", 2);
	check(in, n, 64, "REFUSED@65");
	/* A CR at the 65th byte is not a terminator unless LF follows. */
	n = run(in, 64, 'x', "\ry", 2);
	check(in, n, 64, "REFUSED@66");
	n = run(in, 64, 'x', "\r\0", 2);
	check(in, n, 64, "REFUSED@66");
	/* After good messages. */
	n = run(in, 0, 'x', "ok\0", 3);
	n += run(in + n, 100, 'z', "\0", 1);
	check(in, n, 64, "ok<NUL> REFUSED@68");
	/* Far too long, with or without a terminator somewhere. */
	n = run(in, 8000, 'q', "\0", 1);
	check(in, n, 4096, "REFUSED@4097");
	in[5000] = '\n';
	check(in, n, 4096, "REFUSED@4097");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_nothing_yet),
		cmocka_unit_test(test_several_in_one_buffer),
		cmocka_unit_test(test_terminators),
		cmocka_unit_test(test_split),
		cmocka_unit_test(test_exactly_max),
		cmocka_unit_test(test_over_max),
	};

	return cmocka_run_group_tests(tests, guard_setup, guard_teardown);
}
