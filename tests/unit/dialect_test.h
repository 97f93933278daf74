/* SPDX-License-Identifier: ISC */
/*
 * What the three dialect unit tests share: one session of the dialect
 * named by TEST_DIALECT, its parse result and reply, and the check that a
 * client message becomes exactly the expected hub message.  Included by
 * test_dialect_text.c, test_dialect_xml.c and test_dialect_json.c (after
 * <cmocka.h>); every function is static to the including file.
 */
#ifndef SB_DIALECT_TEST_H
#define SB_DIALECT_TEST_H

#include "../../handler/dialect.h"

static struct dialect D;
static struct sb_packet P;
static struct buf R;		/* replies and renders */
static struct sb_packet MP;	/* the hub message being rendered */
static struct sb_msg M;

static int
setup(void **state)
{
	dialect_init(&D, TEST_DIALECT);
	buf_init(&R, DIALECT_OUT_MAX);
	return 0;
}

static int
teardown(void **state)
{
	dialect_free(&D);
	buf_free(&R);
	return 0;
}

static int
parsen(const char *s, size_t n)
{
	buf_truncate(&R, 0);
	return dialect_parse(&D, s, n, &P, &R);
}

static int
parse(const char *s)
{
	return parsen(s, strlen(s));
}

static void
expect_cmd(const char *input, enum sb_type type, size_t n, ...)
{
	struct sb_msg m;
	va_list ap;
	size_t i;

	assert_int_equal(parse(input), DIALECT_TO_HUB);
	assert_int_equal(R.len, 0);
	assert_int_equal(sb_msg_decode(&m, P.buf, P.len), 0);
	assert_int_equal(m.type, type);
	assert_int_equal(m.nfields, n);
	va_start(ap, n);
	for (i = 0; i < n; i++)
		assert_string_equal(m.field[i], va_arg(ap, const char *));
	va_end(ap);
}

/* Build hub message `type` stamped (epoch, seq) from fields `ap` into M. */
static void
vbuild(enum sb_type type, uint32_t epoch, uint64_t seq, va_list ap)
{
	const char *f[SB_FIELDS_MAX];
	size_t n = 0;

	while ((f[n] = va_arg(ap, const char *)) != NULL)
		n++;
	assert_int_equal(sb_msg_encode(&MP, type, 1, epoch, seq, f, n), 0);
	assert_int_equal(sb_msg_decode(&M, MP.buf, MP.len), 0);
}

/*
 * Build the hub message `type` from NULL-terminated fields into M.  Epoch
 * 0: JSON events then carry no "epoch"/"seq" (test_dialect_json.c has
 * tests with them, made by build_seq()).
 */
static void
build(enum sb_type type, ...)
{
	va_list ap;

	va_start(ap, type);
	vbuild(type, 0, 0, ap);
	va_end(ap);
}

/* build(), stamped with epoch and sequence number as the hub does. */
static __attribute__((unused)) void
build_seq(enum sb_type type, uint32_t epoch, uint64_t seq, ...)
{
	va_list ap;

	va_start(ap, seq);
	vbuild(type, epoch, seq, ap);
	va_end(ap);
}

static int
render(void)
{
	buf_truncate(&R, 0);
	return dialect_render(&D, &M, &R);
}

/* Render M; it must give exactly the one message `want`. */
static void
expect_render(const char *want)
{
	assert_int_equal(render(), 1);
	assert_string_equal(R.buf, want);
	assert_int_equal(R.len, strlen(want) + 1);
}

/* How often `needle` occurs in `hay`. */
static __attribute__((unused)) size_t
count(const char *hay, const char *needle)
{
	size_t n = 0;

	while ((hay = strstr(hay, needle)) != NULL)
		n++, hay++;
	return n;
}

#endif /* SB_DIALECT_TEST_H */
