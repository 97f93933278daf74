/* SPDX-License-Identifier: ISC */
/*
 * Fuzz target: the WebSocket frame header decoder (handler/wsframe.c).
 *
 * Properties: every prefix is decoded from a buffer of exactly its size;
 * once decided (a header size or a protocol error) more bytes never
 * change the answer; a decoded header obeys RFC 6455 (control frames
 * final and at most 125 bytes, minimal length encoding, 63-bit length)
 * and re-encodes, with ws_frame_header(), to the same bytes without the
 * mask bit and the reserved bits.
 */
#include "fuzz.h"
#include "ws.h"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ws_frame f;
	unsigned char out[10];
	size_t k, ext, hl;
	int r = 0, decided = 0;
	char *b;

	for (k = 0; k <= size && k <= 16; k++) {
		b = fuzz_dup(data, k);
		r = ws_frame_decode(&f, (const unsigned char *)b, k);
		free(b);
		FUZZ_CHECK(r == 0 || r == -WS_CLOSE_PROTOCOL ||
		    (r >= 2 && r <= 14 && (size_t)r <= k));
		if (decided != 0)
			FUZZ_CHECK(r == decided);
		decided = r;
		if (k >= 14)
			FUZZ_CHECK(r != 0);
	}
	if (r <= 0)
		return 0;

	FUZZ_CHECK(f.fin == (data[0] >> 7));
	FUZZ_CHECK(f.rsv == (data[0] >> 4 & 7));
	FUZZ_CHECK(f.opcode == (data[0] & 0xf));
	FUZZ_CHECK(f.masked == (data[1] >> 7));
	FUZZ_CHECK(f.len >> 63 == 0);
	if (f.opcode & 0x8)
		FUZZ_CHECK(f.fin && f.len <= WS_CONTROL_MAX);
	ext = (data[1] & 0x7f) == 126 ? 2 : (data[1] & 0x7f) == 127 ? 8 : 0;
	FUZZ_CHECK((size_t)r == 2 + ext + (f.masked ? 4 : 0));
	if (f.masked)
		FUZZ_CHECK(memcmp(f.mask, data + 2 + ext, 4) == 0);

	hl = ws_frame_header(out, f.fin, f.opcode, f.len);
	FUZZ_CHECK(hl == 2 + ext);
	FUZZ_CHECK(out[0] == (data[0] & 0x8f));
	FUZZ_CHECK(out[1] == (data[1] & 0x7f));
	FUZZ_CHECK(memcmp(out + 2, data + 2, ext) == 0);
	return 0;
}
