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
	uint64_t	 next;	/* the number the client lacks next; 0: it
				 * gave no `since`, so no GAP is told */
};

/* C_GAP: the room's messages after `since`, before `first`, are gone. */
static void
replay_gap(struct replay *rp, uint64_t since, uint64_t first)
{
	char s[24], f[24];

	snprintf(s, sizeof(s), "%llu", (unsigned long long)since);
	snprintf(f, sizeof(f), "%llu", (unsigned long long)first);
	hub_send(rp->h, rp->p, SB_C_GAP, rp->room, s, f, NULL);
}

/*
 * Send history entry `e` as a C_MSG of kind "KIND,history" with its own
 * time and number, after a C_GAP if numbers the client lacks are gone.
 * Returns nonzero to stop (the joiner was cut off meanwhile).
 */
static int
replay_one(const struct history_entry *e, void *arg)
{
	struct replay *rp = arg;
	char kind[HISTORY_KIND_MAX + 16], t[24], seq[24];

	if (rp->next > 0) {
		if (e->seq > rp->next)
			replay_gap(rp, rp->next - 1, e->seq);
		rp->next = e->seq + 1;
	}
	snprintf(kind, sizeof(kind), "%s,history", e->kind);
	snprintf(t, sizeof(t), "%lld", (long long)e->time);
	snprintf(seq, sizeof(seq), "%llu", (unsigned long long)e->seq);
	rp->h->metrics.replayed++;
	hub_send(rp->h, rp->p, SB_C_MSG, kind, e->from, "", rp->room, e->text,
	    t, "", seq, NULL);
	return rp->p->dead;
}

/*
 * Keep a room message in the history; returns the number the room gave
 * it, 0 when it was not kept.  A failure is logged once (until a
 * message is kept again) and routing goes on: a failed disk write (full
 * disk) keeps the entry in memory; no slot or no memory keeps nothing,
 * and the log says so.
 */
uint64_t
replay_record(struct hub *h, const struct room *r, const char *kind,
    const char *from, const char *text)
{
	uint64_t seq;
	int e;

	if (h->history == NULL || h->cfg.history == 0)
		return 0;
	e = history_add(h->history, r->name, kind, from, text,
	    (int64_t)time(NULL), &seq);
	if (e < 0 && !h->history_failing) {
		if (e == -ENOBUFS || e == -ENOMEM || e == -EINVAL ||
		    e == -ERANGE)
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
	return seq;
}

/*
 * Send `p`, who has just joined room `r`, the room's history, oldest
 * first: every message held or, when the JOIN gave `since` (>= 0), those
 * numbered above it, with a C_GAP for each run of numbers after `since`
 * the history no longer holds (docs/delivery.md, "Catching up").  A
 * `since` beyond the room's last number (its history was forgotten and
 * its numbers began again) gets a C_GAP with first 1, then what a
 * `since` of 0 gets.
 */
void
replay_join(struct hub *h, struct peer *p, const struct room *r,
    long long since)
{
	struct replay rp = { h, p, r->name, 0 };
	uint64_t last, from = 0;

	if (h->history == NULL || h->cfg.history == 0)
		return;
	last = history_last(h->history, r->name);
	if (since >= 0) {
		from = (uint64_t)since;
		if (from > last) {
			replay_gap(&rp, from, 1);
			from = 0;
		}
		rp.next = from + 1;
	}
	history_get(h->history, r->name, from, replay_one, &rp);
	if (rp.next > 0 && rp.next <= last && !p->dead)
		replay_gap(&rp, rp.next - 1, last + 1);
}
