/* SPDX-License-Identifier: ISC */
/*
 * Unit tests for hub/cluster_order.c: a followed room's messages from
 * Redis delivered in the order of their numbers, each once; a repeat
 * dropped; a later number kept while the missing ones are fetched; a gap
 * the stream no longer has told; a new epoch (Redis lost the room's
 * history) told once, and the room counted from 1 again, without losing
 * what the channel brought of the new epoch while a fetch was answered.
 *
 * The fake cluster.c below records what the order asks: the deliveries
 * (epoch and number), the gaps told, the restarts logged, the fetches;
 * its fetch marks one in flight as room_sync() does.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bsd/string.h>

#include "../../hub/hub.h"

#define SEEN_MAX	(2 * CLUSTER_PENDING_MAX + 16)

struct seen {
	struct corder	*o;
	char		 epoch[SEEN_MAX][CLUSTER_EPOCH_MAX + 1];
	uint64_t	 seq[SEEN_MAX];
	unsigned	 n;
	uint64_t	 gap_since[8], gap_first[8];
	unsigned	 ngaps;
	unsigned	 restarts;
	unsigned	 fetches;
	unsigned	 ahead;		/* dropped, numbered ahead */
};

static void
fake_deliver(void *arg, const struct cluster_msg *m)
{
	struct seen *s = arg;

	assert_true(s->n < SEEN_MAX);
	strlcpy(s->epoch[s->n], m->epoch, sizeof(s->epoch[0]));
	s->seq[s->n++] = m->seq;
}

static void
fake_gap(void *arg, uint64_t since, uint64_t first)
{
	struct seen *s = arg;

	assert_true(s->ngaps < 8);
	s->gap_since[s->ngaps] = since;
	s->gap_first[s->ngaps++] = first;
}

static void
fake_restarted(void *arg, const char *old, const char *now)
{
	struct seen *s = arg;

	(void)old;
	(void)now;
	s->restarts++;
}

/* As room_sync(): one fetch in flight; asked again, once more after. */
static void
fake_fetch(void *arg)
{
	struct seen *s = arg;

	s->fetches++;
	if (s->o->fetching)
		s->o->again = 1;
	else
		corder_fetching(s->o);
}

static void
fake_ahead(void *arg, const struct cluster_msg *m)
{
	struct seen *s = arg;

	(void)m;
	s->ahead++;
}

static const struct corder_ops ops = {
	.deliver = fake_deliver,
	.gap = fake_gap,
	.restarted = fake_restarted,
	.fetch = fake_fetch,
	.ahead = fake_ahead,
};

static struct cluster_msg *
msg(const char *epoch, uint64_t seq)
{
	struct cluster_msg *m = calloc(1, sizeof(*m));

	assert_non_null(m);
	strlcpy(m->epoch, epoch, sizeof(m->epoch));
	m->seq = seq;
	snprintf(m->text, sizeof(m->text), "m-%llu", (unsigned long long)seq);
	return m;
}

/* A room followed, its first fetch done: epoch `epoch`, next `next`. */
static void
start(struct corder *o, struct seen *s, const char *epoch, uint64_t next)
{
	memset(o, 0, sizeof(*o));
	memset(s, 0, sizeof(*s));
	s->o = o;
	strlcpy(o->epoch, epoch, sizeof(o->epoch));
	o->next = next;
}

static void
take(struct corder *o, struct seen *s, const char *epoch, uint64_t seq)
{
	corder_take(o, msg(epoch, seq), &ops, s);
}

/* A fetch's answer from `from` on: its epoch, entries, the top. */
static void
answer(struct corder *o, struct seen *s, const char *epoch,
    const uint64_t *entries, size_t n, uint64_t top)
{
	struct cluster_msg m;
	size_t i;
	int more;

	assert_true(o->fetching);
	o->fetching = 0;
	if (corder_epoch(o, epoch, &ops, s))
		more = o->epoch[0] != '\0';
	else {
		for (i = 0; i < n; i++) {
			memset(&m, 0, sizeof(m));
			strlcpy(m.epoch, o->epoch, sizeof(m.epoch));
			m.seq = entries[i];
			corder_fill(o, &m, &ops, s);
		}
		more = corder_filled(o, top, 0, &ops, s);
	}
	corder_settle(o, more, &ops, s);
}

static void
assert_delivered(const struct seen *s, const char *epoch, uint64_t first,
    unsigned n)
{
	unsigned i;

	assert_int_equal(s->n, n);
	for (i = 0; i < n; i++) {
		assert_string_equal(s->epoch[i], epoch);
		assert_int_equal(s->seq[i], first + i);
	}
}

static void
test_in_order_and_repeats_dropped(void **state)
{
	struct corder o;
	struct seen s;

	(void)state;
	start(&o, &s, "100", 1);
	take(&o, &s, "100", 1);
	take(&o, &s, "100", 2);
	take(&o, &s, "100", 2);
	take(&o, &s, "100", 1);
	take(&o, &s, "100", 3);
	assert_delivered(&s, "100", 1, 3);
	assert_int_equal(o.repeats, 2);
	assert_int_equal(o.next, 4);
	assert_int_equal(s.fetches, 0);
	assert_int_equal(s.ngaps, 0);
}

static void
test_later_number_waits_for_the_fetch(void **state)
{
	const uint64_t fill[] = { 5, 6, 7, 8 };
	struct corder o;
	struct seen s;

	(void)state;
	start(&o, &s, "100", 5);
	take(&o, &s, "100", 7);		/* 5 and 6 missing */
	assert_int_equal(s.n, 0);
	assert_int_equal(s.fetches, 1);
	take(&o, &s, "100", 8);		/* waits: a fetch in flight */
	assert_int_equal(s.n, 0);
	answer(&o, &s, "100", fill, 4, 8);
	assert_delivered(&s, "100", 5, 4);
	assert_int_equal(o.npending, 0);
	assert_int_equal(s.ngaps, 0);
	corder_clear(&o);
}

/* A message numbered past what the stream holds (forged, or of a counter
 * Redis rolled back): one fetch finds nothing for it, and it is dropped,
 * not fetched for again; the room goes on. */
static void
test_ahead_of_the_stream_dropped(void **state)
{
	const uint64_t fill[] = { 5 };
	struct corder o;
	struct seen s;

	(void)state;
	start(&o, &s, "100", 5);
	take(&o, &s, "100", 6);		/* published after the read */
	take(&o, &s, "100", 9);		/* came while it was in flight */
	assert_int_equal(s.fetches, 1);
	answer(&o, &s, "100", fill, 1, 5);
	assert_delivered(&s, "100", 5, 2);
	/* the fetch in flight may have been read before 7 and 8 (refused
	 * on the channel, say) were published: one more, to be sure */
	assert_int_equal(s.ahead, 0);
	assert_int_equal(s.fetches, 2);
	answer(&o, &s, "100", NULL, 0, 6);
	assert_int_equal(s.ahead, 1);
	assert_int_equal(s.fetches, 2);
	assert_int_equal(o.npending, 0);
	assert_int_equal(s.ngaps, 0);
	take(&o, &s, "100", 7);
	assert_int_equal(s.n, 3);
	assert_int_equal(o.next, 8);
}

/* A message refused on the channel leaves a hole that the fetch in
 * flight did not see: the next one fills it, nothing is dropped. */
static void
test_hole_after_the_fetch_filled_by_the_next(void **state)
{
	const uint64_t first[] = { 5, 6 }, then[] = { 7, 8 };
	struct corder o;
	struct seen s;

	(void)state;
	start(&o, &s, "100", 5);
	take(&o, &s, "100", 6);		/* 5 missing: fetched */
	/* 7 refused on the channel (bad data): never taken */
	take(&o, &s, "100", 8);		/* while the fetch is in flight */
	answer(&o, &s, "100", first, 2, 6);
	assert_int_equal(s.ahead, 0);
	assert_int_equal(s.fetches, 2);
	answer(&o, &s, "100", then, 2, 8);
	assert_delivered(&s, "100", 5, 4);
	assert_int_equal(s.ahead, 0);
	assert_int_equal(o.npending, 0);
}

/* The first fetch answered (cluster.c's first_fetch): history up to `top`
 * of epoch `epoch`, then what waited. */
static void
first_answer(struct corder *o, struct seen *s, const char *epoch,
    uint64_t top)
{
	o->fetching = 0;
	strlcpy(o->epoch, epoch, sizeof(o->epoch));
	o->next = top + 1;
	corder_settle(o, 0, &ops, s);
}

static void
test_before_first_fetch_all_waits(void **state)
{
	struct corder o;
	struct seen s;

	(void)state;
	start(&o, &s, "", 0);
	o.fetching = 1;		/* the first fetch, in flight */
	take(&o, &s, "100", 5);
	take(&o, &s, "100", 4);
	assert_int_equal(s.n, 0);
	assert_int_equal(o.npending, 2);
	assert_int_equal(s.fetches, 0);
	first_answer(&o, &s, "100", 3);
	assert_delivered(&s, "100", 4, 2);
	assert_int_equal(s.restarts, 0);
}

/* A first fetch refused (an answer that did not check): the room is not
 * deaf, the next message fetches again; one in flight is not asked twice. */
static void
test_first_fetch_refused_fetches_again(void **state)
{
	struct corder o;
	struct seen s;

	(void)state;
	start(&o, &s, "", 0);
	take(&o, &s, "100", 5);
	assert_int_equal(s.fetches, 1);
	assert_int_equal(o.fetching, 1);
	take(&o, &s, "100", 6);
	assert_int_equal(s.fetches, 1);
	assert_int_equal(o.npending, 2);
	assert_int_equal(s.n, 0);
	first_answer(&o, &s, "100", 4);
	assert_delivered(&s, "100", 5, 2);
}

static void
test_gap_the_stream_lost(void **state)
{
	const uint64_t fill[] = { 8, 9, 10 };
	struct corder o;
	struct seen s;

	(void)state;
	start(&o, &s, "100", 5);
	take(&o, &s, "100", 10);
	answer(&o, &s, "100", fill, 3, 10);	/* 5 to 7 trimmed */
	assert_int_equal(s.ngaps, 1);
	assert_int_equal(s.gap_since[0], 4);
	assert_int_equal(s.gap_first[0], 8);
	assert_delivered(&s, "100", 8, 3);
	assert_int_equal(o.gaps, 1);
}

static void
test_stream_lost_them_all(void **state)
{
	struct corder o;
	struct seen s;

	(void)state;
	start(&o, &s, "100", 5);
	take(&o, &s, "100", 9);
	answer(&o, &s, "100", NULL, 0, 8);	/* 5 to 8: none kept */
	assert_int_equal(s.ngaps, 1);
	assert_int_equal(s.gap_since[0], 4);
	assert_int_equal(s.gap_first[0], 9);
	assert_delivered(&s, "100", 9, 1);
}

/* The channel brings a new epoch: told once, counted from 1. */
static void
test_new_epoch_on_the_channel(void **state)
{
	struct corder o;
	struct seen s;

	(void)state;
	start(&o, &s, "100", 11);
	take(&o, &s, "200", 1);
	take(&o, &s, "200", 2);
	assert_int_equal(s.restarts, 1);
	assert_int_equal(s.ngaps, 1);
	assert_int_equal(s.gap_since[0], 10);
	assert_int_equal(s.gap_first[0], 1);
	assert_delivered(&s, "200", 1, 2);
}

/*
 * Redis restarted empty: the fetch after the reconnect finds no epoch
 * (no message yet), but before its answer is read the channel brings
 * the first messages of the new epoch, published by another hub right
 * after the fetch.  They are delivered, and the restart told once.
 */
static void
test_new_epoch_while_fetch_answers_none(void **state)
{
	struct corder o;
	struct seen s;

	(void)state;
	start(&o, &s, "100", 11);
	o.fetching = 1;		/* the fetch after the reconnect */
	take(&o, &s, "200", 1);
	take(&o, &s, "200", 2);
	take(&o, &s, "200", 3);
	assert_int_equal(s.n, 0);
	answer(&o, &s, "", NULL, 0, 0);
	assert_int_equal(s.restarts, 1);
	assert_int_equal(s.ngaps, 1);
	assert_int_equal(s.gap_first[0], 1);
	assert_delivered(&s, "200", 1, 3);
	assert_int_equal(o.next, 4);
	take(&o, &s, "200", 4);
	assert_delivered(&s, "200", 1, 4);
	assert_int_equal(s.restarts, 1);
}

/* The same, the answer already of the new epoch: fetched from 1 again. */
static void
test_new_epoch_in_the_answer(void **state)
{
	const uint64_t fill[] = { 1, 2, 3 };
	struct corder o;
	struct seen s;

	(void)state;
	start(&o, &s, "100", 11);
	o.fetching = 1;
	take(&o, &s, "200", 2);
	take(&o, &s, "200", 3);
	answer(&o, &s, "200", NULL, 0, 3);	/* asked from 11 */
	assert_int_equal(s.restarts, 1);
	assert_int_equal(s.n, 0);
	assert_int_equal(s.fetches, 1);		/* again, from 1 */
	assert_int_equal(o.next, 1);
	answer(&o, &s, "200", fill, 3, 3);
	assert_delivered(&s, "200", 1, 3);
	assert_int_equal(s.restarts, 1);
	assert_int_equal(o.npending, 0);
}

/* What waits of the old epoch is superseded by an answer of a new one. */
static void
test_old_epoch_waiting_is_dropped(void **state)
{
	struct corder o;
	struct seen s;

	(void)state;
	start(&o, &s, "100", 11);
	take(&o, &s, "100", 13);	/* 11, 12 missing: fetch */
	assert_int_equal(o.npending, 1);
	answer(&o, &s, "200", NULL, 0, 0);
	assert_int_equal(o.npending, 0);
	assert_int_equal(s.restarts, 1);
	assert_int_equal(s.n, 0);
	assert_int_equal(s.fetches, 2);		/* again, from 1 */
	answer(&o, &s, "200", NULL, 0, 0);
	assert_int_equal(s.n, 0);
	assert_int_equal(s.restarts, 1);
	take(&o, &s, "200", 1);
	assert_delivered(&s, "200", 1, 1);
}

/* More waiting than pending holds: none lost, fetched again. */
static void
test_overflow_fetches_again(void **state)
{
	uint64_t fill[CLUSTER_PENDING_MAX + 3];
	struct corder o;
	struct seen s;
	unsigned i, n = CLUSTER_PENDING_MAX + 3;

	(void)state;
	start(&o, &s, "100", 1);
	o.fetching = 1;
	for (i = 0; i < n; i++)
		fill[i] = 1 + i;
	for (i = 1; i < n; i++)
		take(&o, &s, "100", 1 + i);
	assert_int_equal(o.npending, CLUSTER_PENDING_MAX);
	assert_int_equal(o.overflow, 1);
	answer(&o, &s, "100", fill, n, n);
	assert_delivered(&s, "100", 1, n);
	assert_true(o.fetching);	/* what was dropped: fetched again */
	answer(&o, &s, "100", NULL, 0, n);
	assert_delivered(&s, "100", 1, n);
	assert_int_equal(s.ngaps, 0);
	assert_int_equal(o.npending, 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_in_order_and_repeats_dropped),
		cmocka_unit_test(test_later_number_waits_for_the_fetch),
		cmocka_unit_test(test_before_first_fetch_all_waits),
		cmocka_unit_test(test_first_fetch_refused_fetches_again),
		cmocka_unit_test(test_gap_the_stream_lost),
		cmocka_unit_test(test_ahead_of_the_stream_dropped),
		cmocka_unit_test(test_hole_after_the_fetch_filled_by_the_next),
		cmocka_unit_test(test_stream_lost_them_all),
		cmocka_unit_test(test_new_epoch_on_the_channel),
		cmocka_unit_test(test_new_epoch_while_fetch_answers_none),
		cmocka_unit_test(test_new_epoch_in_the_answer),
		cmocka_unit_test(test_old_epoch_waiting_is_dropped),
		cmocka_unit_test(test_overflow_fetches_again),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
