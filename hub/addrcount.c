/* SPDX-License-Identifier: ISC */
/*
 * The chat sessions counted per client address, for max_per_address.
 * The address is the client's real one as its handler said at HELLO
 * (behind a proxy, the one the proxy named), so this is the limit that
 * systemd's MaxConnectionsPerSource cannot keep when every connection
 * comes from the proxy.  One tree node per address with sessions, freed
 * when its last one ends: memory follows the sessions.  No I/O, no
 * logging: peers.c decides and logs.
 */
#include <sys/socket.h>

#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cidr.h"
#include "hub.h"

static int
addr_count_cmp(struct addr_count *a, struct addr_count *b)
{
	if (a->family != b->family)
		return a->family < b->family ? -1 : 1;
	return memcmp(a->addr, b->addr, sizeof(a->addr));
}

RB_GENERATE(addr_counts, addr_count, entry, addr_count_cmp)

/*
 * Count `p`, a new chat session, against its address.  Returns
 * ADDR_ADMITTED (counted; or not counted, for a remote without an
 * address, such as "local", or with no limit set), ADDR_FULL when its
 * address has max_per_address sessions already (nothing counted), or
 * -ENOMEM.  *now is the address's count before this one.
 */
int
addrcount_take(struct hub *h, struct peer *p, unsigned *now)
{
	struct addr_count key, *a;

	assert(h != NULL && p != NULL && p->addr == NULL && now != NULL);
	*now = 0;
	memset(&key, 0, sizeof(key));
	if (h->cfg.max_per_address == 0 ||
	    cidr_remote(p->remote, key.addr, &key.family) < 0)
		return ADDR_ADMITTED;
	if ((a = RB_FIND(addr_counts, &h->per_address, &key)) != NULL) {
		*now = a->n;
		if (a->n >= h->cfg.max_per_address)
			return ADDR_FULL;
	} else {
		if ((a = calloc(1, sizeof(*a))) == NULL)
			return -ENOMEM;
		a->family = key.family;
		memcpy(a->addr, key.addr, sizeof(a->addr));
		RB_INSERT(addr_counts, &h->per_address, a);
	}
	a->n++;
	p->addr = a;
	return ADDR_ADMITTED;
}

/* `p` no longer counts against its address (once; none is fine). */
void
addrcount_release(struct hub *h, struct peer *p)
{
	struct addr_count *a;

	assert(h != NULL && p != NULL);
	if ((a = p->addr) == NULL)
		return;
	p->addr = NULL;
	if (--a->n == 0) {
		RB_REMOVE(addr_counts, &h->per_address, a);
		free(a);
	}
}
