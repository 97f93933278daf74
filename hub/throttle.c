/* SPDX-License-Identifier: ISC */
/*
 * Failed logins, counted per key (a member's folded nick, or a client's
 * address), with a growing delay: after THROTTLE_FREE failures each
 * further attempt waits 2^k seconds (k = failures - THROTTLE_FREE), at
 * most THROTTLE_DELAY_MAX, and only one attempt per key runs at a time.
 * A key is forgotten THROTTLE_FORGET seconds after its last failure.
 *
 * The table has a fixed size: THROTTLE_SLOTS slots in sets of
 * THROTTLE_WAYS, a key hashed (with a random seed) to one set.  A new key
 * takes a free or forgotten slot of its set, else one that has no
 * attempt running: one that delays nobody now before one that does, the
 * least recently failed first.  Memory never grows, whatever
 * the keys.  No I/O, no logging: identity.c decides what a number means.
 */
#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <arpa/inet.h>

#include <bsd/stdlib.h>
#include <bsd/string.h>

#include "hub.h"

#define THROTTLE_SETS	(THROTTLE_SLOTS / THROTTLE_WAYS)

struct throttle_slot {
	char		 key[THROTTLE_KEY_MAX + 1];	/* "": free */
	unsigned	 failures;	/* since the key was (re)made */
	unsigned	 pending;	/* attempts being checked now */
	uint64_t	 last;		/* usec of the last failure or attempt */
	uint64_t	 until;		/* usec: no attempt before */
};

struct throttle {
	uint32_t		 seed;
	struct throttle_slot	 slot[THROTTLE_SLOTS];
};

struct throttle *
throttle_new(void)
{
	struct throttle *t;

	if ((t = calloc(1, sizeof(*t))) == NULL)
		return NULL;
	t->seed = arc4random();
	return t;
}

struct throttle *
throttle_free(struct throttle *t)
{
	free(t);
	return NULL;
}

/* FNV-1a over the seed and the key. */
static unsigned
throttle_set(const struct throttle *t, const char *key)
{
	uint32_t x = 2166136261U ^ t->seed;

	for (; *key != '\0'; key++)
		x = (x ^ (unsigned char)*key) * 16777619U;
	x ^= x >> 15;
	return x % THROTTLE_SETS;
}

static int
slot_forgotten(const struct throttle_slot *s, uint64_t now)
{
	return s->key[0] == '\0' || (s->pending == 0 &&
	    now >= s->last + THROTTLE_FORGET * 1000000ULL);
}

/*
 * Should `a` give way before `b`?  A key that is not delaying anyone now
 * goes first, so that a spray of new keys with one failure each cannot
 * push out a key that is being throttled; among equals, the least
 * recently failed.
 */
static int
slot_older(const struct throttle_slot *a, const struct throttle_slot *b,
    uint64_t now)
{
	int da = a->until > now, db = b->until > now;

	if (da != db)
		return db;
	return a->last < b->last;
}

/*
 * The slot of `key`, or NULL.  With `make`, a slot is made for a key
 * that has none (NULL only when every slot of its set has an attempt
 * running).
 */
static struct throttle_slot *
slot_get(struct throttle *t, const char *key, uint64_t now, int make)
{
	struct throttle_slot *set = &t->slot[throttle_set(t, key) *
	    THROTTLE_WAYS], *s, *victim = NULL;
	unsigned i;

	for (i = 0; i < THROTTLE_WAYS; i++) {
		s = &set[i];
		if (!slot_forgotten(s, now) && strcmp(s->key, key) == 0)
			return s;
	}
	if (!make)
		return NULL;
	for (i = 0; i < THROTTLE_WAYS; i++) {
		s = &set[i];
		if (slot_forgotten(s, now)) {
			victim = s;
			break;
		}
		if (s->pending == 0 && (victim == NULL ||
		    slot_older(s, victim, now)))
			victim = s;
	}
	if (victim == NULL)
		return NULL;
	*victim = (struct throttle_slot){ .last = now };
	strlcpy(victim->key, key, sizeof(victim->key));
	return victim;
}

/*
 * May an attempt on `key` start at `now`?  Returns 0 when it may, else
 * the seconds to wait (at least 1).  While failures stay under
 * THROTTLE_FREE, attempts run side by side as long as the ones running
 * could not take the key past it; after that, one at a time.
 */
unsigned
throttle_wait(struct throttle *t, const char *key, uint64_t now)
{
	struct throttle_slot *s;

	assert(t != NULL && key != NULL);
	if (key[0] == '\0' || (s = slot_get(t, key, now, 0)) == NULL)
		return 0;
	if (s->failures + s->pending < THROTTLE_FREE)
		return 0;
	if (s->pending == 0 && now >= s->until)
		return 0;
	if (now >= s->until)	/* an attempt is running: its answer first */
		return 1;
	return (unsigned)((s->until - now + 999999) / 1000000);
}

/* An attempt on `key` starts (throttle_wait said it may). */
void
throttle_begin(struct throttle *t, const char *key, uint64_t now)
{
	struct throttle_slot *s;

	assert(t != NULL && key != NULL);
	if (key[0] != '\0' && (s = slot_get(t, key, now, 1)) != NULL) {
		s->pending++;
		s->last = now;
	}
}

/*
 * The attempt on `key` ended; `failed` says whether it was a failure.
 * Returns the seconds the next attempt must now wait (0: none).  A
 * success forgets the key.
 */
unsigned
throttle_end(struct throttle *t, const char *key, uint64_t now, int failed)
{
	struct throttle_slot *s;
	unsigned k;
	uint64_t delay;

	assert(t != NULL && key != NULL);
	if (key[0] == '\0' || (s = slot_get(t, key, now, failed)) == NULL)
		return 0;
	if (s->pending > 0)
		s->pending--;
	if (!failed) {
		if (s->pending == 0)
			s->key[0] = '\0';
		return 0;
	}
	s->last = now;
	if (++s->failures < THROTTLE_FREE)
		return 0;
	k = s->failures - THROTTLE_FREE;
	delay = k >= 16 ? THROTTLE_DELAY_MAX : 1ULL << k;
	if (delay > THROTTLE_DELAY_MAX)
		delay = THROTTLE_DELAY_MAX;
	s->until = now + delay * 1000000ULL;
	return (unsigned)delay;
}

/*
 * The throttling key of a client address (hub->remote, with its port):
 * the address, an IPv6 address cut to its /64 (one host's usual share);
 * the text as it is when it holds no address.
 */
void
throttle_remote_key(char *buf, size_t size, const char *remote)
{
	unsigned char a[16];
	char text[INET6_ADDRSTRLEN];
	int fam;

	assert(buf != NULL && size > 0 && remote != NULL);
	if (cidr_remote(remote, a, &fam) < 0) {
		strlcpy(buf, remote, size);
		return;
	}
	if (fam == AF_INET6)
		memset(a + 8, 0, 8);
	if (inet_ntop(fam, a, text, sizeof(text)) == NULL)
		strlcpy(buf, remote, size);
	else
		snprintf(buf, size, "%s%s", text, fam == AF_INET6 ? "/64" : "");
}
