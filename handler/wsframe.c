/* SPDX-License-Identifier: ISC */
/*
 * The WebSocket frame header (RFC 6455 section 5.2), both ways.  What the
 * header alone can break is checked here, as soon as the byte that
 * breaks it arrives; what depends on the connection (masking, reserved
 * bits, opcodes, fragmentation state) is checked in wsconn.c.
 */
#include <assert.h>

#include "ws.h"

#define WS_LEN16	126	/* 7-bit length values that announce */
#define WS_LEN64	127	/* a 16- or 64-bit extended length */

/*
 * Decode a frame header from buf[0..len) into f.  Besides the encoding
 * rules (minimal length, 64-bit length below 2^63), a control frame must
 * be final and carry at most WS_CONTROL_MAX bytes.  Returns the header
 * size, 0 for more bytes, or -WS_CLOSE_PROTOCOL.
 */
int
ws_frame_decode(struct ws_frame *f, const unsigned char *buf, size_t len)
{
	size_t need, ext, i;

	assert(f != NULL);
	assert(buf != NULL || len == 0);

	if (len < 2)
		return 0;
	f->fin = buf[0] >> 7;
	f->rsv = buf[0] >> 4 & 0x7;
	f->opcode = buf[0] & 0xf;
	f->masked = buf[1] >> 7;
	f->len = buf[1] & 0x7f;
	if ((f->opcode & 0x8) && (!f->fin || f->len > WS_CONTROL_MAX))
		return -WS_CLOSE_PROTOCOL;

	ext = f->len == WS_LEN16 ? 2 : f->len == WS_LEN64 ? 8 : 0;
	need = 2 + ext + (f->masked ? 4 : 0);
	if (len < 2 + ext)
		return 0;
	if (ext != 0) {
		f->len = 0;
		for (i = 0; i < ext; i++)
			f->len = f->len << 8 | buf[2 + i];
		if (ext == 2 && f->len < WS_LEN16)
			return -WS_CLOSE_PROTOCOL;
		if (ext == 8 && (f->len >> 63 || f->len <= 0xffff))
			return -WS_CLOSE_PROTOCOL;
	}
	if (len < need)
		return 0;
	for (i = 0; i < 4; i++)
		f->mask[i] = f->masked ? buf[2 + ext + i] : 0;
	return (int)need;
}

/* Encode an unmasked header for a frame of len bytes; returns its size. */
size_t
ws_frame_header(unsigned char out[10], int fin, int opcode, uint64_t len)
{
	size_t ext, i;

	assert(out != NULL);
	assert(opcode >= 0 && opcode <= 0xf);
	assert(len >> 63 == 0);

	out[0] = (unsigned char)((fin ? 0x80 : 0) | opcode);
	if (len < WS_LEN16) {
		out[1] = (unsigned char)len;
		return 2;
	}
	ext = len <= 0xffff ? 2 : 8;
	out[1] = ext == 2 ? WS_LEN16 : WS_LEN64;
	for (i = 0; i < ext; i++)
		out[2 + i] = (unsigned char)(len >> (8 * (ext - 1 - i)));
	return 2 + ext;
}
