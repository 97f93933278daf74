/* SPDX-License-Identifier: ISC */
/* The handler's large static buffers (store.h). */
#include <stddef.h>

#include "buf.h"
#include "store.h"

struct handler_store handler_store STORE_ALIGNED;

/*
 * The handler is idle: give back the pages of the members that hold
 * nothing from one turn of its loop to the next.  Those are rx, rx2 and
 * hub_tx (a message is packed and sent, or queued, within one turn),
 * text_line and early: two runs of neighbouring members, so two calls,
 * each up to the page-aligned member after it.  The buffers' storage
 * (in, out, hubq, ws_msg, rendered) goes back with buf_idle() when empty,
 * jansson's arena with json_arena_trim() (dialect_json_trim()) when
 * nothing in it is live.
 */
void
store_idle(void)
{
	struct handler_store *st = &handler_store;

	sb_pages_release(st->rx, offsetof(struct handler_store, in));
	sb_pages_release(st->text_line, sizeof(*st) -
	    offsetof(struct handler_store, text_line));
}
