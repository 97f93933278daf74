/* SPDX-License-Identifier: ISC */
/*
 * Unit tests for handler/wsframe.c.  Each header is decoded whole and
 * one byte at a time, from the end of a page followed by an unreadable
 * page; a decoder must answer "more" for every proper prefix until the
 * byte that decides, and the same answer from there on.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "../../handler/ws.h"

/*
 * Decode h[0..len) by prefixes, each at the end of a guarded page.
 * Returns the answer for the whole input and how many bytes it took to
 * decide it in *decided_at.
 */
static int
decode(struct ws_frame *f, const unsigned char *h, size_t len,
    size_t *decided_at)
{
	size_t pg = (size_t)sysconf(_SC_PAGESIZE), k;
	unsigned char *base;
	int r = 0, prev = 0;

	base = mmap(NULL, 2 * pg, PROT_READ | PROT_WRITE,
	    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	assert_true(base != MAP_FAILED);
	assert_int_equal(mprotect(base + pg, pg, PROT_NONE), 0);
	*decided_at = 0;
	for (k = 0; k <= len; k++) {
		r = ws_frame_decode(f, memcpy(base + pg - k, h, k), k);
		if (prev != 0)
			assert_int_equal(r, prev);
		else if (r != 0)
			*decided_at = k;
		prev = r;
	}
	munmap(base, 2 * pg);
	return r;
}

static void
test_small_frames(void **state)
{
	static const unsigned char unmasked[] = { 0x81, 0x05 };
	static const unsigned char masked[] = {
		0x82, 0xfd, 0x37, 0xfa, 0x21, 0x3d,
	};
	static const unsigned char rsv[] = { 0xf3, 0x80, 1, 2, 3, 4 };
	struct ws_frame f;
	size_t at;

	assert_int_equal(decode(&f, unmasked, sizeof(unmasked), &at), 2);
	assert_int_equal(f.fin, 1);
	assert_int_equal(f.rsv, 0);
	assert_int_equal(f.opcode, WS_OP_TEXT);
	assert_int_equal(f.masked, 0);
	assert_int_equal(f.len, 5);

	assert_int_equal(decode(&f, masked, sizeof(masked), &at), 6);
	assert_int_equal(at, 6);
	assert_int_equal(f.opcode, WS_OP_BINARY);
	assert_int_equal(f.masked, 1);
	assert_int_equal(f.len, 125);
	assert_memory_equal(f.mask, masked + 2, 4);

	/* Reserved bits and opcodes are the connection's business. */
	assert_int_equal(decode(&f, rsv, sizeof(rsv), &at), 6);
	assert_int_equal(f.fin, 1);
	assert_int_equal(f.rsv, 7);
	assert_int_equal(f.opcode, 0x3);
	assert_int_equal(f.len, 0);
}

static void
test_extended_lengths(void **state)
{
	static const unsigned char l16[] = { 0x82, 0xfe, 0x00, 0x7e, 1, 2, 3, 4 };
	static const unsigned char l16max[] = { 0x02, 0x7e, 0xff, 0xff };
	static const unsigned char l64[] = {
		0x80, 0xff, 0, 0, 0, 0, 0, 1, 0, 0, 9, 8, 7, 6,
	};
	static const unsigned char l64max[] = {
		0x82, 0x7f, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	};
	struct ws_frame f;
	size_t at;

	assert_int_equal(decode(&f, l16, sizeof(l16), &at), 8);
	assert_int_equal(f.len, 126);
	assert_memory_equal(f.mask, l16 + 4, 4);
	assert_int_equal(decode(&f, l16max, sizeof(l16max), &at), 4);
	assert_int_equal(f.len, 0xffff);
	assert_int_equal(f.fin, 0);
	assert_int_equal(decode(&f, l64, sizeof(l64), &at), 14);
	assert_int_equal(f.len, 0x10000);
	assert_int_equal(f.opcode, WS_OP_CONT);
	assert_memory_equal(f.mask, l64 + 10, 4);
	assert_int_equal(decode(&f, l64max, sizeof(l64max), &at), 10);
	assert_int_equal(f.len, UINT64_C(0x7fffffffffffffff));
}

static void
test_protocol_errors(void **state)
{
	static const struct {
		const char	*what;
		unsigned char	 h[14];
		size_t		 len, decided_at;
	} t[] = {
		{ "16-bit length < 126", { 0x82, 0xfe, 0x00, 0x7d }, 4, 4 },
		{ "16-bit length 0", { 0x82, 0x7e, 0x00, 0x00 }, 4, 4 },
		{ "64-bit length < 65536",
		    { 0x82, 0xff, 0, 0, 0, 0, 0, 0, 0xff, 0xff }, 10, 10 },
		{ "64-bit length 126",
		    { 0x82, 0xff, 0, 0, 0, 0, 0, 0, 0, 126 }, 10, 10 },
		{ "64-bit high bit",
		    { 0x82, 0xff, 0x80, 0, 0, 0, 0, 0, 0, 0 }, 10, 10 },
		{ "ping of 126 bytes", { 0x89, 0xfe, 0x00, 0x7e }, 4, 2 },
		{ "close of 65536 bytes",
		    { 0x88, 0xff, 0, 0, 0, 0, 0, 1, 0, 0 }, 10, 2 },
		{ "fragmented ping", { 0x09, 0x80, 1, 2, 3, 4 }, 6, 2 },
		{ "fragmented pong", { 0x0a, 0x80, 1, 2, 3, 4 }, 6, 2 },
		{ "fragmented close", { 0x08, 0x80, 1, 2, 3, 4 }, 6, 2 },
		{ "reserved control 0xb", { 0x0b, 0x00 }, 2, 2 },
	};
	struct ws_frame f;
	size_t i, at;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		if (decode(&f, t[i].h, t[i].len, &at) != -WS_CLOSE_PROTOCOL ||
		    at != t[i].decided_at)
			fail_msg("%s: not rejected at byte %zu", t[i].what,
			    t[i].decided_at);
	}
}

static void
test_control_limits(void **state)
{
	static const unsigned char ping125[] = { 0x89, 0xfd, 1, 2, 3, 4 };
	static const unsigned char close0[] = { 0x88, 0x80, 1, 2, 3, 4 };
	struct ws_frame f;
	size_t at;

	assert_int_equal(decode(&f, ping125, sizeof(ping125), &at), 6);
	assert_int_equal(f.len, WS_CONTROL_MAX);
	assert_int_equal(decode(&f, close0, sizeof(close0), &at), 6);
	assert_int_equal(f.opcode, WS_OP_CLOSE);
}

/* Encoded headers decode to what was encoded, in the minimal form. */
static void
test_header_roundtrip(void **state)
{
	static const struct {
		uint64_t	len;
		size_t		size;
	} t[] = {
		{ 0, 2 }, { 1, 2 }, { 125, 2 }, { 126, 4 }, { 0xffff, 4 },
		{ 0x10000, 10 }, { UINT64_C(1) << 32, 10 },
		{ UINT64_C(0x7fffffffffffffff), 10 },
	};
	unsigned char h[10];
	struct ws_frame f;
	size_t i, at;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		assert_int_equal(ws_frame_header(h, 1, WS_OP_BINARY, t[i].len),
		    t[i].size);
		assert_int_equal(decode(&f, h, t[i].size, &at), (int)t[i].size);
		assert_int_equal(f.len, t[i].len);
		assert_int_equal(f.fin, 1);
		assert_int_equal(f.masked, 0);
		assert_int_equal(f.opcode, WS_OP_BINARY);
	}
	assert_int_equal(ws_frame_header(h, 0, WS_OP_TEXT, 3), 2);
	assert_int_equal(h[0], 0x01);
	assert_int_equal(h[1], 0x03);
	assert_int_equal(ws_frame_header(h, 1, WS_OP_CLOSE, 2), 2);
	assert_int_equal(h[0], 0x88);
	assert_int_equal(ws_frame_header(h, 1, WS_OP_TEXT, 300), 4);
	assert_int_equal(h[2], 0x01);
	assert_int_equal(h[3], 0x2c);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_small_frames),
		cmocka_unit_test(test_extended_lengths),
		cmocka_unit_test(test_protocol_errors),
		cmocka_unit_test(test_control_limits),
		cmocka_unit_test(test_header_roundtrip),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
