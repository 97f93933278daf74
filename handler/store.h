/* SPDX-License-Identifier: ISC */
/*
 * The handler's large static buffers, in one page-aligned object.
 *
 * Each buffer starts on a page of its own, so that sb_pages_release()
 * can give all of its pages back when the handler is idle.  They are
 * members of one object rather than separate arrays: between two
 * separately aligned arrays the linker leaves a gap that the small static
 * variables of the next object file fill, and a short connection then
 * paid a page fault for each such page (two when a variable was read
 * before it was written: the zero page, then a copy).
 */
#ifndef SB_STORE_H
#define SB_STORE_H

#include "dialect.h"
#include "http.h"
#include "proto.h"

#define STORE_PAGE		4096
#define STORE_ALIGNED		__attribute__((aligned(STORE_PAGE)))
#define HANDLER_READ_CHUNK	16384	/* bytes read from the client at once */
#define HANDLER_BUF_KEEP	4096	/* a drained buffer keeps this much */
#define STORE_RX_SIZE	(SB_MSG_MAX > HANDLER_READ_CHUNK ? SB_MSG_MAX : \
			    HANDLER_READ_CHUNK)
#define STORE_JARENA_SIZE	16384	/* jansson's arena (json_arena.c) */

struct handler_store {
	/* What was just received: a datagram from the hub, or a read from
	 * the client (each is handled to the end before the next receive). */
	unsigned char	rx[STORE_RX_SIZE] STORE_ALIGNED;
	/* A second datagram taken by the same recvmmsg() call. */
	unsigned char	rx2[SB_MSG_MAX] STORE_ALIGNED;
	/* A message being packed for the hub. */
	struct sb_packet hub_tx STORE_ALIGNED;
	/* Where the client input, the client output and the hub queue
	 * start (buf_init_fixed). */
	unsigned char	in[HANDLER_BUF_KEEP] STORE_ALIGNED;
	unsigned char	out[HANDLER_BUF_KEEP] STORE_ALIGNED;
	unsigned char	hubq[HANDLER_BUF_KEEP] STORE_ALIGNED;
	/* Where a WebSocket message from the client is put together
	 * (ws_conn_storage), and where one hub message is rendered for the
	 * client (chat.c): a usual message touches no malloc, so an idle
	 * handler holds no heap at all. */
	unsigned char	ws_msg[HANDLER_BUF_KEEP] STORE_ALIGNED;
	char		rendered[HANDLER_BUF_KEEP] STORE_ALIGNED;
	/* jansson's bump allocator (json_arena.c). */
	unsigned char	jarena[STORE_JARENA_SIZE] STORE_ALIGNED;
	/* A text command being split (dialect_text.c), and the bytes that
	 * came behind a WebSocket handshake (modes.c): static rather
	 * than on the stack, where they would dirty pages of their own. */
	char		text_line[DIALECT_INPUT_MAX + 1] STORE_ALIGNED;
	unsigned char	early[HTTP_HEAD_MAX + 1] STORE_ALIGNED;
};

extern struct handler_store handler_store;

/* store.c */
void	store_idle(void);

#endif
