/* SPDX-License-Identifier: ISC */
/*
 * History replay: what a room's history gives whoever joins it
 * (replay_join, after C_JOINED), and what it keeps of each room message
 * (replay_record).  The history itself, in memory and on disk, is
 * history.c; how long a room's history outlives the room is rooms.c's
 * (hub_history_expire).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "hub.h"

/* Where replay_one() sends the entries of one room. */
struct replay {
	struct hub	*h;
	struct peer	*p;
	const char	*room;
};

/*
 * Send history entry `e` as a C_MSG of kind "KIND,history" with its own
 * time.  Returns nonzero to stop (the joiner was cut off meanwhile).
 */
static int
replay_one(const struct history_entry *e, void *arg)
{
	struct replay *rp = arg;
	char kind[HISTORY_KIND_MAX + 16], t[24];

	snprintf(kind, sizeof(kind), "%s,history", e->kind);
	snprintf(t, sizeof(t), "%lld", (long long)e->time);
	hub_send(rp->h, rp->p, SB_C_MSG, kind, e->from, "", rp->room, e->text,
	    t, "", NULL);
	return rp->p->dead;
}

/*
 * Keep a room message in the history.  A failure is logged once (until
 * a message is kept again) and routing goes on: a failed disk write
 * (full disk) keeps the entry in memory; no slot or no memory keeps
 * nothing, and the log says so.
 */
void
replay_record(struct hub *h, const struct room *r, const char *kind,
    const char *from, const char *text)
{
	int e;

	if (h->history == NULL || h->cfg.history == 0)
		return;
	e = history_add(h->history, r->name, kind, from, text,
	    (int64_t)time(NULL));
	if (e < 0 && !h->history_failing) {
		if (e == -ENOBUFS || e == -ENOMEM || e == -EINVAL)
			sb_log_event(SB_EV_HUB_ERROR, &(struct sb_log_fields){
			    .room = r->name, .reason = strerror(-e) },
			    "history of room %s not kept (%s); routing goes "
			    "on", r->name, e == -ENOBUFS ? "every history "
			    "slot is held by a room that exists" :
			    strerror(-e));
		else
			sb_log_event(SB_EV_HUB_ERROR, &(struct sb_log_fields){
			    .room = r->name, .reason = strerror(-e) },
			    "history not written to disk (%s); kept in memory "
			    "and written again later, routing goes on",
			    strerror(-e));
	}
	h->history_failing = e < 0;
}

/* Send `p`, who has just joined room `r`, the room's history, oldest first. */
void
replay_join(struct hub *h, struct peer *p, const struct room *r)
{
	struct replay rp = { h, p, r->name };

	if (h->history != NULL && h->cfg.history > 0)
		history_get(h->history, r->name, replay_one, &rp);
}
