/* SPDX-License-Identifier: ISC */
/*
 * The hub as a whole: its state made and freed (hub_init, hub_free), and
 * the handler settings every handler gets first (C_CONFIG), packed once
 * and sent again to every handler after a reload.
 */
#include <assert.h>
#include <stdlib.h>
#include <time.h>

#include "hub.h"

/*
 * A hub with config `cfg`, no sessions, no rooms yet (hub_rooms_configure
 * makes the permanent ones), reaching the world through `ops`, whose
 * functions get `ctx` back as h->ctx.  The member store, the bans and
 * the history are loaded by the caller (server.c).
 */
void
hub_init(struct hub *h, const struct sb_config *cfg, const struct hub_ops *ops,
    void *ctx)
{
	assert(h != NULL && cfg != NULL && ops != NULL);
	*h = (struct hub){
		.cfg = *cfg,
		.ops = ops,
		.ctx = ctx,
		.next_session = 1,
		.created = time(NULL),
		.handler_uid = (uid_t)-1,
		.handler_gid = (gid_t)-1,
	};
	RB_INIT(&h->nicks);
	RB_INIT(&h->skels);
	RB_INIT(&h->sessions);
	RB_INIT(&h->rooms);
	RB_INIT(&h->per_address);
	RB_INIT(&h->rusers);
	RB_INIT(&h->rkeys);
	RB_INIT(&h->rskels);
	TAILQ_INIT(&h->reaplist);
	TAILQ_INIT(&h->held);
	TAILQ_INIT(&h->spare);
	/* Without them every password check is refused (login_busy). */
	h->fail_nicks = throttle_new();
	h->fail_addrs = throttle_new();
}

/*
 * Free every peer and room, and what the hub holds (members, bans,
 * history, held messages); the caller has closed the fds.  NULL is
 * fine.
 */
void
hub_free(struct hub *h)
{
	struct peer *p, *pn;

	if (h == NULL)
		return;
	while (!TAILQ_EMPTY(&h->held)) {
		struct held *x = TAILQ_FIRST(&h->held);

		TAILQ_REMOVE(&h->held, x, entry);
		free(x);
	}
	RB_FOREACH_SAFE(p, peer_sessions, &h->sessions, pn)
		hub_peer_free(h, p);
	rooms_free(h);
	remote_free(h);
	h->members = members_free(h->members);
	h->fail_nicks = throttle_free(h->fail_nicks);
	h->fail_addrs = throttle_free(h->fail_addrs);
	h->history = history_close(h->history);
	bans_free(&h->bans);
	hub_spare_free(h);
}

/*
 * The C_CONFIG datagram every new handler gets first: packed once, and
 * again after a reload (hub_config_changed).  NULL when the settings do
 * not fit in one.
 */
const struct sb_packet *
hub_config_packet(struct hub *h)
{
	if (h->cfg_packed == 0)
		h->cfg_packed = config_pack_handler(&h->cfg, &h->cfg_pkt) < 0 ?
		    -1 : 1;
	return h->cfg_packed > 0 ? &h->cfg_pkt : NULL;
}

/* After a reload: send the new handler settings to every handler. */
void
hub_config_changed(struct hub *h)
{
	const struct sb_packet *pkt;
	struct peer *p;

	h->cfg_packed = 0;
	if ((pkt = hub_config_packet(h)) == NULL)
		return;
	RB_FOREACH(p, peer_sessions, &h->sessions)
		if (!p->dead)
			h->ops->send(h, p, pkt);
}
