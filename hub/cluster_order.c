/* SPDX-License-Identifier: ISC */
/*
 * A followed room's messages from Redis, in the order of their numbers,
 * each once (docs/cluster.md, "Order and loss").  Pure: hub/cluster.c
 * feeds it what the room's channel and its stream fetches bring, and it
 * says, through struct corder_ops, what to deliver, which gap to tell,
 * and when to fetch.  Unit test: tests/unit/test_cluster_order.c.
 *
 * A number below the next expected is a repeat, dropped; the next is
 * delivered; a later one waits in `pending` while what is missing is
 * fetched.  Before the room's first fetch, and while a fetch is in
 * flight, everything waits.  A message of another epoch than the one
 * known means Redis lost the room's history: the members are told once,
 * and the room counts again from 1.
 */
#include <stdlib.h>
#include <string.h>

#include <bsd/string.h>

#include "hub.h"

/* Forget what waits. */
void
corder_clear(struct corder *o)
{
	while (o->npending > 0)
		free(o->pending[--o->npending]);
}

/* Keep `m` (taken over) until the numbers before it are here. */
static void
pending_add(struct corder *o, struct cluster_msg *m)
{
	unsigned i;

	if (o->npending > 0 && strcmp(o->pending[0]->epoch, m->epoch) != 0)
		corder_clear(o);	/* an older epoch's: superseded */
	for (i = 0; i < o->npending; i++)
		if (o->pending[i]->seq >= m->seq)
			break;
	if ((i < o->npending && o->pending[i]->seq == m->seq) ||
	    o->npending >= CLUSTER_PENDING_MAX) {
		o->overflow |= o->npending >= CLUSTER_PENDING_MAX;
		free(m);	/* a repeat, or no room: the stream has it */
		return;
	}
	memmove(&o->pending[i + 1], &o->pending[i],
	    (o->npending - i) * sizeof(o->pending[0]));
	m->fetches = o->nfetch;
	o->pending[i] = m;
	o->npending++;
}

/* A fetch is sent (the caller's ops->fetch): one in flight. */
void
corder_fetching(struct corder *o)
{
	o->fetching = 1;
	o->nfetch++;
}

/* Deliver `m`, the room's next number. */
static void
deliver_next(struct corder *o, const struct cluster_msg *m,
    const struct corder_ops *ops, void *arg)
{
	ops->deliver(arg, m);
	o->next = m->seq + 1;
}

/*
 * The room's epoch is `epoch` ("": none), not the one known: its history
 * restarted, and its members are told (not when none was known yet).
 */
static void
epoch_changed(struct corder *o, const char *epoch,
    const struct corder_ops *ops, void *arg)
{
	if (o->epoch[0] != '\0') {
		ops->restarted(arg, o->epoch, epoch);
		ops->gap(arg, o->next > 0 ? o->next - 1 : 0, 1);
		o->next = 1;
	}
	strlcpy(o->epoch, epoch, sizeof(o->epoch));
}

/* One message, taken over: waits, is dropped, delivered, or fetched for. */
static void
take(struct corder *o, struct cluster_msg *m, const struct corder_ops *ops,
    void *arg)
{
	if (o->next == 0 || o->fetching) {
		pending_add(o, m);
		if (!o->fetching)	/* the first fetch was refused: again */
			ops->fetch(arg);
		return;
	}
	if (strcmp(m->epoch, o->epoch) != 0) {
		epoch_changed(o, m->epoch, ops, arg);
		/* what waits is of one epoch: the old one's is superseded */
		if (o->npending > 0 &&
		    strcmp(o->pending[0]->epoch, m->epoch) != 0)
			corder_clear(o);
	}
	if (m->seq < o->next) {
		o->repeats++;
		free(m);
	} else if (m->seq == o->next) {
		deliver_next(o, m, ops, arg);
		free(m);
	} else {
		pending_add(o, m);
		ops->fetch(arg);
	}
}

/*
 * What waited and is next now is delivered; if the next number is still
 * missing, it is fetched.  But right after a fetch that found all there
 * was (`complete`) and was sent after the message came (so that its
 * read followed the message's publish), a message still ahead of the
 * next number is none of the room's: what was published after that read
 * is numbered on from it.  It is forged, or of a counter Redis rolled
 * back: dropped (ops->ahead), where fetching for it would go on without
 * end.  (One fetch is not enough: a message refused on the channel may
 * have left a hole that a fetch in flight when it came had not seen.)
 */
static void
drain(struct corder *o, int complete, const struct corder_ops *ops,
    void *arg)
{
	struct cluster_msg *m;
	int ahead;

	while (!o->fetching && o->next > 0 && o->npending > 0) {
		m = o->pending[0];
		ahead = m->seq > o->next && strcmp(m->epoch, o->epoch) == 0;
		if (ahead && (!complete || m->fetches >= o->nfetch)) {
			ops->fetch(arg);
			break;
		}
		memmove(&o->pending[0], &o->pending[1],
		    (o->npending - 1) * sizeof(o->pending[0]));
		o->npending--;
		if (ahead) {
			ops->ahead(arg, m);
			free(m);
		} else
			take(o, m, ops, arg);
	}
}

void
corder_drain(struct corder *o, const struct corder_ops *ops, void *arg)
{
	drain(o, 0, ops, arg);
}

/* A message from the room's channel (taken over). */
void
corder_take(struct corder *o, struct cluster_msg *m,
    const struct corder_ops *ops, void *arg)
{
	take(o, m, ops, arg);
	corder_drain(o, ops, arg);
}

/*
 * A fetch's answer says the room's epoch is `epoch` ("": none yet).
 * Returns 1 when that is not the one known (the members are told, and
 * the room counts from 1 again), else 0.  What waits of the old epoch is
 * superseded; what waits of another (the channel brought messages that
 * were published after the fetch was answered) stays, and is taken in
 * turn.
 */
int
corder_epoch(struct corder *o, const char *epoch,
    const struct corder_ops *ops, void *arg)
{
	char old[sizeof(o->epoch)];

	if (strcmp(epoch, o->epoch) == 0)
		return 0;
	strlcpy(old, o->epoch, sizeof(old));
	epoch_changed(o, epoch, ops, arg);
	if (o->npending > 0 && strcmp(o->pending[0]->epoch, old) == 0)
		corder_clear(o);
	return 1;
}

/* One entry of a gap fill (oldest first; not taken over). */
void
corder_fill(struct corder *o, const struct cluster_msg *m,
    const struct corder_ops *ops, void *arg)
{
	if (m->seq < o->next)
		return;
	if (m->seq > o->next) {
		o->gaps++;
		ops->gap(arg, o->next - 1, m->seq);
	}
	deliver_next(o, m, ops, arg);
}

/*
 * The gap fill's end: `top` the room's last number, `full` if the answer
 * had all it could hold.  Returns 1 when more may wait.
 */
int
corder_filled(struct corder *o, uint64_t top, int full,
    const struct corder_ops *ops, void *arg)
{
	if (full)
		return 1;
	corder_skip(o, top, ops, arg);	/* the stream lost them all */
	return 0;
}

/*
 * The numbers up to `last` are not to be had (the stream lost them, or
 * a full answer held nothing that could be taken): told as a gap, and
 * the next number is after them.
 */
void
corder_skip(struct corder *o, uint64_t last, const struct corder_ops *ops,
    void *arg)
{
	if (last < o->next)
		return;
	o->gaps++;
	ops->gap(arg, o->next - 1, last + 1);
	o->next = last + 1;
}

/*
 * A fetch answered and applied: fetch again (`more`, or what the channel
 * dropped or brought meanwhile), or deliver what waited.
 */
void
corder_settle(struct corder *o, int more, const struct corder_ops *ops,
    void *arg)
{
	if (o->overflow || o->again) {
		o->overflow = o->again = 0;
		more = 1;
	}
	if (more)
		ops->fetch(arg);
	else
		drain(o, 1, ops, arg);
}
