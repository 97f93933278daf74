/* SPDX-License-Identifier: ISC */
/*
 * Unit tests for common/buf.c: appending, consuming, compaction, the
 * hard limit and buf_printf.  The buffer's contents are checked against
 * a plain model (what was appended minus what was consumed) after every
 * step, and its allocation never exceeds its limit.  Then the same
 * buffer as text being built: always terminated, errors sticky until
 * buf_truncate; and buf_wipe.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"

/* The buffer holds exactly want[0..len). */
static void
assert_holds(const struct buf *b, const void *want, size_t len)
{
	assert_int_equal(b->len, len);
	assert_true(b->size <= b->max);
	assert_true(b->off + b->len <= b->size || (b->len == 0 && b->off == 0));
	if (len > 0)
		assert_memory_equal(buf_head(b), want, len);
}

static void
test_init_empty(void **state)
{
	struct buf b;

	buf_init(&b, 100);
	assert_null(b.buf);
	assert_int_equal(b.len, 0);
	assert_int_equal(b.off, 0);
	assert_int_equal(b.max, 100);
	assert_int_equal(buf_append(&b, "x", 0), 0);
	assert_int_equal(buf_append(&b, NULL, 0), 0);
	assert_int_equal(b.len, 0);
	buf_free(&b);
	buf_free(NULL);
}

static void
test_append_consume(void **state)
{
	struct buf b;

	buf_init(&b, 1024);
	assert_int_equal(buf_append(&b, "hello", 5), 0);
	assert_holds(&b, "hello", 5);
	assert_int_equal(buf_append(&b, " world", 6), 0);
	assert_holds(&b, "hello world", 11);
	buf_consume(&b, 0);
	assert_holds(&b, "hello world", 11);
	buf_consume(&b, 6);
	assert_holds(&b, "world", 5);
	assert_int_equal(b.off, 6);
	assert_int_equal(buf_append(&b, "!", 1), 0);
	assert_holds(&b, "world!", 6);
	/* Consuming everything rewinds to the start of the allocation. */
	buf_consume(&b, 6);
	assert_int_equal(b.len, 0);
	assert_int_equal(b.off, 0);
	assert_int_equal(buf_append(&b, "again", 5), 0);
	assert_holds(&b, "again", 5);
	buf_reset(&b);
	assert_int_equal(b.len, 0);
	assert_int_equal(b.off, 0);
	assert_int_equal(buf_append(&b, "ab", 2), 0);
	assert_holds(&b, "ab", 2);
	buf_free(&b);
	/* A freed buffer keeps its limit and can be used again. */
	assert_null(b.buf);
	assert_int_equal(b.max, 1024);
	assert_int_equal(buf_append(&b, "x", 1), 0);
	assert_holds(&b, "x", 1);
	buf_free(&b);
}

/*
 * Consumed bytes at the front are reused: the rest moves to the front
 * instead of the allocation growing.
 */
static void
test_compaction(void **state)
{
	unsigned char a[256], c[100];
	char *before;
	struct buf b;
	size_t i;

	for (i = 0; i < sizeof(a); i++)
		a[i] = (unsigned char)i;
	memset(c, 0xc3, sizeof(c));
	buf_init(&b, 4096);
	assert_int_equal(buf_append(&b, a, sizeof(a)), 0);
	assert_int_equal(b.size, 256);
	before = b.buf;
	buf_consume(&b, 200);
	assert_holds(&b, a + 200, 56);
	/* 200 + 56 + 100 > 256, but 56 + 100 fits once moved down. */
	assert_int_equal(buf_append(&b, c, sizeof(c)), 0);
	assert_int_equal(b.off, 0);
	assert_int_equal(b.size, 256);
	assert_ptr_equal(b.buf, before);
	assert_memory_equal(buf_head(&b), a + 200, 56);
	assert_memory_equal(buf_head(&b) + 56, c, sizeof(c));
	assert_int_equal(b.len, 156);
	/* Now it must grow: moved and then doubled, contents kept. */
	buf_consume(&b, 6);
	assert_int_equal(buf_append(&b, a, sizeof(a)), 0);
	assert_int_equal(b.len, 150 + 256);
	assert_int_equal(b.off, 0);
	assert_int_equal(b.size, 512);
	assert_memory_equal(buf_head(&b), a + 206, 50);
	assert_memory_equal(buf_head(&b) + 50, c, sizeof(c));
	assert_memory_equal(buf_head(&b) + 150, a, sizeof(a));
	buf_free(&b);
}

/* A long random-ish run against a model of the contents. */
static void
test_model(void **state)
{
	static unsigned char model[1 << 16];
	unsigned char chunk[700];
	size_t mlen = 0, i, n;
	unsigned x = 12345;
	struct buf b;
	int r;

	buf_init(&b, 5000);
	for (i = 0; i < 20000; i++) {
		x = x * 1103515245u + 12345u;
		n = (x >> 8) % sizeof(chunk);
		if ((x >> 4) % 3 != 0) {
			memset(chunk, (int)(i & 0xff), n);
			r = buf_append(&b, chunk, n);
			if (mlen + n > 5000) {
				assert_int_equal(r, -ENOBUFS);
			} else {
				assert_int_equal(r, 0);
				memcpy(model + mlen, chunk, n);
				mlen += n;
			}
		} else {
			n = n < mlen ? n : mlen;
			buf_consume(&b, n);
			memmove(model, model + n, mlen - n);
			mlen -= n;
		}
		assert_holds(&b, model, mlen);
	}
	buf_free(&b);
}

/* Over the limit: -ENOBUFS, nothing changed, and exactly max is fine. */
static void
test_hard_limit(void **state)
{
	unsigned char big[300];
	char *data;
	size_t cap, off;
	struct buf b;

	memset(big, 'z', sizeof(big));
	buf_init(&b, 10);
	assert_int_equal(buf_append(&b, big, 11), -ENOBUFS);
	assert_null(b.buf);
	assert_int_equal(b.len, 0);
	assert_int_equal(buf_append(&b, "0123456789", 10), 0);
	assert_holds(&b, "0123456789", 10);
	assert_int_equal(b.size, 10);	/* never more than the limit */
	data = b.buf;
	assert_int_equal(buf_append(&b, "x", 1), -ENOBUFS);
	assert_holds(&b, "0123456789", 10);
	assert_ptr_equal(b.buf, data);
	assert_int_equal(buf_printf(&b, "%d", 7), -ENOBUFS);
	assert_holds(&b, "0123456789", 10);
	/* The limit is on what is held, not on what went through. */
	buf_consume(&b, 4);
	off = b.off;
	cap = b.size;
	assert_int_equal(buf_append(&b, "abcde", 5), -ENOBUFS);
	assert_holds(&b, "456789", 6);
	assert_int_equal(b.off, off);
	assert_int_equal(b.size, cap);
	assert_int_equal(buf_append(&b, "abcd", 4), 0);
	assert_holds(&b, "456789abcd", 10);
	buf_free(&b);

	/* A limit that is not a power of two is reached exactly. */
	buf_init(&b, 1000);
	assert_int_equal(buf_append(&b, big, 300), 0);
	assert_int_equal(buf_append(&b, big, 300), 0);
	assert_int_equal(buf_append(&b, big, 300), 0);
	assert_int_equal(buf_append(&b, big, 101), -ENOBUFS);
	assert_int_equal(b.len, 900);
	assert_int_equal(buf_append(&b, big, 100), 0);
	assert_int_equal(b.len, 1000);
	assert_int_equal(b.size, 1000);
	buf_free(&b);

	/* A zero limit takes nothing. */
	buf_init(&b, 0);
	assert_int_equal(buf_append(&b, "x", 1), -ENOBUFS);
	assert_int_equal(buf_append(&b, "x", 0), 0);
	buf_free(&b);
}

/* want[] as n copies of 'q' and a NUL. */
static const char *
qs(char *want, size_t n)
{
	memset(want, 'q', n);
	want[n] = '\0';
	return want;
}

/* A buffer with storage of its own stays in it until it must grow. */
static void
test_fixed_storage(void **state)
{
	unsigned char store[16], want[64];
	struct buf b;
	size_t i;

	for (i = 0; i < sizeof(want); i++)
		want[i] = (unsigned char)('a' + i % 26);
	buf_init_fixed(&b, 64, store, sizeof(store));
	assert_ptr_equal(b.buf, store);
	assert_int_equal(buf_append(&b, want, 10), 0);
	assert_ptr_equal(b.buf, store);
	buf_consume(&b, 4);
	assert_int_equal(buf_append(&b, want + 10, 10), 0);	/* compacts */
	assert_ptr_equal(b.buf, store);
	assert_holds(&b, want + 4, 16);
	/* past the storage: to the heap, contents kept */
	assert_int_equal(buf_append(&b, want + 20, 30), 0);
	assert_ptr_not_equal(b.buf, store);
	assert_holds(&b, want + 4, 46);
	assert_int_equal(buf_append(&b, want, 30), -ENOBUFS);
	assert_holds(&b, want + 4, 46);
	/* shrinking an empty heap buffer goes back to the storage */
	assert_int_equal(buf_shrink(&b, 8), 0);	/* not empty */
	buf_consume(&b, 46);
	assert_int_equal(buf_shrink(&b, 8), 1);
	assert_ptr_equal(b.buf, store);
	assert_int_equal(b.size, sizeof(store));
	assert_int_equal(buf_shrink(&b, 8), 0);	/* nothing to free */
	assert_int_equal(buf_append(&b, want, 5), 0);
	assert_holds(&b, want, 5);
	/* and so does freeing; the storage is never freed */
	assert_int_equal(buf_append(&b, want, 40), 0);
	assert_ptr_not_equal(b.buf, store);
	buf_free(&b);
	assert_ptr_equal(b.buf, store);
	assert_int_equal(b.len, 0);
	assert_int_equal(b.max, 64);
	buf_free(&b);
	assert_ptr_equal(b.buf, store);
}

/* buf_idle(): an empty buffer goes home; one holding bytes is left. */
static void
test_idle(void **state)
{
	static unsigned char store[8192] __attribute__((aligned(4096)));
	static const unsigned char big[9000];
	struct buf b;

	buf_init_fixed(&b, 20000, store, sizeof(store));
	assert_int_equal(buf_append(&b, "kept", 4), 0);
	buf_idle(&b);
	assert_holds(&b, "kept", 4);
	assert_int_equal(buf_append(&b, big, sizeof(big)), 0);	/* to the heap */
	assert_ptr_not_equal(b.buf, store);
	buf_consume(&b, b.len);
	buf_idle(&b);
	assert_ptr_equal(b.buf, store);
	assert_int_equal(b.size, sizeof(store));
	assert_int_equal(store[0], 0);		/* its pages were given back */
	buf_init(&b, 100);			/* no storage: back to nothing */
	assert_int_equal(buf_append(&b, "x", 1), 0);
	buf_consume(&b, 1);
	buf_idle(&b);
	assert_null(b.buf);
}

static void
test_printf(void **state)
{
	char want[2000];
	struct buf b;

	buf_init(&b, 4096);
	assert_int_equal(buf_printf(&b, "%s=%d", "n", 42), 0);
	assert_holds(&b, "n=42", 4);	/* no NUL stored */
	assert_int_equal(buf_printf(&b, "%s", ""), 0);
	assert_holds(&b, "n=42", 4);
	/* Longer than the 512-byte stack buffer. */
	assert_int_equal(buf_printf(&b, "[%s]", qs(want, 1500)), 0);
	assert_int_equal(b.len, 4 + 1502);
	assert_memory_equal(buf_head(&b), "n=42[", 5);
	assert_memory_equal(buf_head(&b) + 5, want, 1500);
	assert_int_equal(buf_head(&b)[1505], ']');
	/* 511 and 512 bytes: both sides of the stack buffer. */
	buf_reset(&b);
	assert_int_equal(buf_printf(&b, "%s", qs(want, 511)), 0);
	assert_int_equal(b.len, 511);
	assert_int_equal(buf_printf(&b, "%s", qs(want, 512)), 0);
	assert_int_equal(b.len, 511 + 512);
	assert_memory_equal(buf_head(&b), qs(want, 1023), 1023);
	buf_free(&b);

	/* Over the limit, long or short: refused, buffer intact. */
	buf_init(&b, 600);
	assert_int_equal(buf_printf(&b, "abc"), 0);
	assert_int_equal(buf_printf(&b, "%s", qs(want, 1500)), -ENOBUFS);
	assert_holds(&b, "abc", 3);
	assert_int_equal(buf_printf(&b, "%s", qs(want, 598)), -ENOBUFS);
	assert_holds(&b, "abc", 3);
	assert_int_equal(buf_printf(&b, "%s", qs(want, 597)), 0);
	assert_int_equal(b.len, 600);
	assert_memory_equal(buf_head(&b), "abc", 3);
	assert_memory_equal(buf_head(&b) + 3, want, 597);
	buf_free(&b);
}

/* As text: NUL-terminated, and the contents are exactly what went in. */
static void
test_text(void **state)
{
	char want[2000];
	struct buf b;

	buf_init(&b, 2000);
	assert_int_equal(buf_catlen(&b, "", 0), 0);	/* "" is a string too */
	assert_non_null(b.buf);
	assert_string_equal(b.buf, "");
	assert_int_equal(buf_cat(&b, "ab"), 0);
	assert_int_equal(buf_catlen(&b, "cdef", 2), 0);
	assert_int_equal(buf_catf(&b, "%d-%s", 12, "x"), 0);
	assert_string_equal(b.buf, "abcd12-x");
	assert_int_equal(b.len, 8);
	/* Longer than the formatting buffer on the stack. */
	assert_int_equal(buf_catf(&b, "%s", qs(want, 1500)), 0);
	assert_int_equal(b.len, 1508);
	assert_memory_equal(b.buf + 8, want, 1501);	/* with the NUL */
	buf_truncate(&b, 3);
	assert_string_equal(b.buf, "abc");
	buf_truncate(&b, 0);
	assert_string_equal(b.buf, "");
	buf_free(&b);
	assert_null(b.buf);
	assert_int_equal(b.max, 2000);
}

/* Past the limit: -EMSGSIZE, kept until buf_truncate; exactly max fits. */
static void
test_text_sticky(void **state)
{
	char want[600];
	struct buf b;

	buf_init(&b, 8);
	assert_int_equal(buf_cat(&b, "abcdefgh"), 0);	/* exactly max */
	assert_string_equal(b.buf, "abcdefgh");
	assert_int_equal(buf_cat(&b, "i"), -EMSGSIZE);
	assert_int_equal(b.err, -EMSGSIZE);
	assert_int_equal(buf_catlen(&b, "", 0), -EMSGSIZE);
	assert_int_equal(buf_catf(&b, "%s", ""), -EMSGSIZE);
	assert_string_equal(b.buf, "abcdefgh");
	buf_truncate(&b, 4);
	assert_int_equal(b.err, 0);
	assert_int_equal(buf_cat(&b, "XY"), 0);
	assert_string_equal(b.buf, "abcdXY");
	/* A long format over the limit: refused, and sticky too. */
	assert_int_equal(buf_catf(&b, "%s", qs(want, 599)), -EMSGSIZE);
	assert_int_equal(buf_cat(&b, "z"), -EMSGSIZE);
	assert_string_equal(b.buf, "abcdXY");
	/* buf_reset empties and clears the error as well. */
	buf_reset(&b);
	assert_int_equal(b.err, 0);
	assert_int_equal(buf_cat(&b, "new"), 0);
	assert_string_equal(b.buf, "new");
	buf_free(&b);
	assert_int_equal(b.err, 0);
}

/* Text in storage of the caller's, moving to the heap and back. */
static void
test_text_fixed(void **state)
{
	char store[8];
	struct buf b;

	buf_init_fixed(&b, 100, store, sizeof(store));
	assert_int_equal(buf_cat(&b, "1234567"), 0);	/* and its NUL */
	assert_ptr_equal(b.buf, store);
	assert_int_equal(buf_cat(&b, "8"), 0);
	assert_ptr_not_equal(b.buf, store);
	assert_string_equal(b.buf, "12345678");
	buf_free(&b);
	assert_ptr_equal(b.buf, store);
}

/* buf_wipe(): the bytes are overwritten before they are let go. */
static void
test_wipe(void **state)
{
	char store[16];
	struct buf b;
	size_t i;

	buf_init_fixed(&b, 100, store, sizeof(store));
	assert_int_equal(buf_cat(&b, "secret"), 0);
	buf_wipe(&b);
	for (i = 0; i < sizeof(store); i++)
		assert_int_equal(store[i], 0);
	assert_int_equal(b.len, 0);
	assert_ptr_equal(b.buf, store);
	buf_init(&b, 100);
	assert_int_equal(buf_cat(&b, "hash"), 0);
	buf_wipe(&b);		/* on the heap: ASan sees the free */
	assert_null(b.buf);
	buf_wipe(NULL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_init_empty),
		cmocka_unit_test(test_append_consume),
		cmocka_unit_test(test_compaction),
		cmocka_unit_test(test_model),
		cmocka_unit_test(test_hard_limit),
		cmocka_unit_test(test_printf),
		cmocka_unit_test(test_fixed_storage),
		cmocka_unit_test(test_idle),
		cmocka_unit_test(test_text),
		cmocka_unit_test(test_text_sticky),
		cmocka_unit_test(test_text_fixed),
		cmocka_unit_test(test_wipe),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
