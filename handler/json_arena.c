/* SPDX-License-Identifier: ISC */
/*
 * jansson's memory in the handler: a bump allocator over one static
 * block, handler_store.jarena (store.h).  A tuning, not a feature: the
 * JSON dialect behaves the same with jansson on plain malloc.
 *
 * Why: parsing one command makes a dozen small allocations and frees them
 * all before json_loadb()'s caller returns, on every message of every
 * client.  The arena takes them in order and starts over whenever
 * nothing in it is live, so a parse costs no malloc and the memory it
 * touches is the same few pages every time.
 *
 * The contract:
 *   - json_arena_init() routes jansson's allocations here; call it before
 *     the first jansson call (repeat calls do nothing).  It is not called
 *     at start-up, so a connection that never sends a command never
 *     touches jansson's code or the arena's pages.
 *   - A request that does not fit the block's free end (or is larger than
 *     the block) goes to malloc, and its free to free: the arena never
 *     fails where malloc would not.
 *   - Blocks are 16-byte aligned, as malloc's are on x86-64.
 *   - json_arena_trim() gives the block's pages back to the kernel when
 *     nothing in it is live; the handler calls it when idle.
 *   - Each block carries its size in front, so that under AddressSanitizer
 *     a freed block is poisoned until the arena starts over, and the
 *     unused rest of the block always is.
 * Single-threaded, as the handler is.
 */
#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#if defined(__SANITIZE_ADDRESS__)
#define JARENA_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define JARENA_ASAN 1
#endif
#endif
#ifdef JARENA_ASAN
#include <sanitizer/asan_interface.h>
#else
#define ASAN_POISON_MEMORY_REGION(p, n)		((void)(p), (void)(n))
#define ASAN_UNPOISON_MEMORY_REGION(p, n)	((void)(p), (void)(n))
#endif

#include "buf.h"
#include "store.h"
#include "json_arena.h"

#define JARENA_SIZE	STORE_JARENA_SIZE
#define JARENA_ALIGN	16
#define jarena		handler_store.jarena	/* the block (store.h) */
static size_t jarena_used, jarena_live, jarena_high;

static int
jarena_has(const void *p)
{
	uintptr_t a = (uintptr_t)p, lo = (uintptr_t)jarena;

	return a >= lo && a < lo + JARENA_SIZE;
}

/* jansson's malloc: the next n bytes of the block, or malloc's. */
static void *
jarena_alloc(size_t n)
{
	size_t need = JARENA_ALIGN + ((n + JARENA_ALIGN - 1) &
	    ~(size_t)(JARENA_ALIGN - 1));
	unsigned char *p;

	if (n > JARENA_SIZE || need > JARENA_SIZE - jarena_used)
		return malloc(n);
	p = jarena + jarena_used;
	ASAN_UNPOISON_MEMORY_REGION(p, need);
	memcpy(p, &n, sizeof(n));
	jarena_used += need;
	if (jarena_used > jarena_high)
		jarena_high = jarena_used;
	jarena_live++;
	return p + JARENA_ALIGN;
}

/* jansson's free: the last live block's free starts the arena over. */
static void
jarena_free(void *p)
{
	size_t n;

	if (p == NULL)
		return;
	if (!jarena_has(p)) {
		free(p);
		return;
	}
	assert(jarena_live > 0);
	memcpy(&n, (unsigned char *)p - JARENA_ALIGN, sizeof(n));
	ASAN_POISON_MEMORY_REGION(p, n);
	if (--jarena_live == 0) {
		ASAN_POISON_MEMORY_REGION(jarena, jarena_used);
		jarena_used = 0;
	}
}

/* Route jansson's allocations through the arena (see the top comment). */
void
json_arena_init(void)
{
	static int done;

	if (done)
		return;
	done = 1;
	ASAN_POISON_MEMORY_REGION(jarena, sizeof(jarena));
	json_set_alloc_funcs(jarena_alloc, jarena_free);
}

/*
 * Give the arena's pages back when the handler is idle, as it does with
 * its heap: an idle handler then keeps at most the page the arena shares
 * with other data.
 */
void
json_arena_trim(void)
{
	if (jarena_live == 0 && jarena_high > 0) {
		sb_pages_release(jarena, sizeof(jarena));
		ASAN_POISON_MEMORY_REGION(jarena, sizeof(jarena));
		jarena_high = 0;
	}
}
