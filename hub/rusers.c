/* SPDX-License-Identifier: ISC */
/*
 * The users of other machines (cluster), as remote.c keeps them: their
 * two trees and the look-ups the rules make (LIST, NAMES, ROOMS, nick
 * uniqueness, private messages).  Apart from remote.c, which tells the
 * local sessions of changes and so calls rooms.c, so that rooms.c may
 * look here without a circle.  No I/O.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <bsd/stdlib.h>
#include <bsd/string.h>

#include "hub.h"

static int
ruser_id_cmp(struct ruser *a, struct ruser *b)
{
	int c = strcmp(a->node, b->node);

	if (c != 0)
		return c;
	return a->session < b->session ? -1 : a->session > b->session;
}

static int
ruser_key_cmp(struct ruser *a, struct ruser *b)
{
	int c = strcmp(a->key, b->key);

	return c != 0 ? c : ruser_id_cmp(a, b);
}

static int
ruser_skel_cmp(struct ruser_skel *a, struct ruser_skel *b)
{
	int c = strcmp(a->skel, b->skel);

	if (c != 0)
		return c;
	return (uintptr_t)a->u < (uintptr_t)b->u ? -1 :
	    (uintptr_t)a->u > (uintptr_t)b->u;
}

RB_GENERATE(rusers_by_id, ruser, by_id, ruser_id_cmp)
RB_GENERATE(rusers_by_key, ruser, by_key, ruser_key_cmp)
RB_GENERATE(ruser_skels, ruser_skel, entry, ruser_skel_cmp)

/* Index remote user `u` by its nick's skeletons (from `nid`). */
void
remote_index(struct hub *h, struct ruser *u, const struct nick_id *nid)
{
	int i;

	for (i = 0; i < nid->nskel; i++) {
		strlcpy(u->skels[i].skel, nid->skel[i],
		    sizeof(u->skels[i].skel));
		u->skels[i].u = u;
		RB_INSERT(ruser_skels, &h->rskels, &u->skels[i]);
	}
	u->nskels = nid->nskel;
}

/* Take remote user `u`'s skeletons out of the index. */
void
remote_unindex(struct hub *h, struct ruser *u)
{
	int i;

	for (i = 0; i < u->nskels; i++)
		RB_REMOVE(ruser_skels, &h->rskels, &u->skels[i]);
	u->nskels = 0;
}

/*
 * A remote user whose nick looks like the nick of `nid` (a UTS #39
 * skeleton in common) without being it (another comparison key), or
 * NULL: look-alikes are refused across machines as on one.
 */
struct ruser *
remote_lookalike(struct hub *h, const struct nick_id *nid)
{
	struct ruser_skel k, *s;
	int i;

	for (i = 0; i < nid->nskel; i++) {
		strlcpy(k.skel, nid->skel[i], sizeof(k.skel));
		k.u = NULL;
		for (s = RB_NFIND(ruser_skels, &h->rskels, &k);
		    s != NULL && strcmp(s->skel, k.skel) == 0;
		    s = RB_NEXT(ruser_skels, &h->rskels, s))
			if (strcmp(s->u->key, nid->key) != 0)
				return s->u;
	}
	return NULL;
}

/* The remote user holding the nick with comparison key `key`, or NULL. */
struct ruser *
remote_find_key(struct hub *h, const char *key)
{
	struct ruser k = { 0 }, *u;

	strlcpy(k.key, key, sizeof(k.key));
	u = RB_NFIND(rusers_by_key, &h->rkeys, &k);
	return u != NULL && strcmp(u->key, key) == 0 ? u : NULL;
}

/* The remote user holding `nick` (any case the rules fold), or NULL. */
struct ruser *
remote_find_nick(struct hub *h, const char *nick)
{
	struct nick_id nid;
	const char *why;

	if (nick_identify(nick, &nid, &why) < 0)
		return NULL;
	return remote_find_key(h, nid.key);
}

/* The user `session` of `node`, or NULL. */
struct ruser *
remote_find(struct hub *h, const char *node, uint64_t session)
{
	struct ruser k = { 0 };

	strlcpy(k.node, node, sizeof(k.node));
	k.session = session;
	return RB_FIND(rusers_by_id, &h->rusers, &k);
}

/* 1 if remote user `u` is in the room named `room` (ascii_fold). */
int
remote_in_room(const struct ruser *u, const char *room)
{
	char k[SB_ROOM_MAX + 1], rk[SB_ROOM_MAX + 1];
	unsigned i;

	ascii_fold(k, sizeof(k), room);
	for (i = 0; i < u->nrooms; i++) {
		ascii_fold(rk, sizeof(rk), u->rooms[i]);
		if (strcmp(rk, k) == 0)
			return 1;
	}
	return 0;
}

/* Remote members of the room named `room`. */
unsigned
remote_room_count(struct hub *h, const char *room)
{
	struct ruser *u;
	unsigned n = 0;

	RB_FOREACH(u, rusers_by_id, &h->rusers)
		n += remote_in_room(u, room);
	return n;
}


/*
 * The room named `room` as one of its remote members spells it (the
 * spelling its node gave it), or NULL when no remote user is in it.
 */
const char *
remote_room_name(struct hub *h, const char *room)
{
	char k[SB_ROOM_MAX + 1], rk[SB_ROOM_MAX + 1];
	struct ruser *u;
	unsigned i;

	ascii_fold(k, sizeof(k), room);
	RB_FOREACH(u, rusers_by_id, &h->rusers)
		for (i = 0; i < u->nrooms; i++) {
			ascii_fold(rk, sizeof(rk), u->rooms[i]);
			if (strcmp(rk, k) == 0)
				return u->rooms[i];
		}
	return NULL;
}

/* Add one remote member to room `name` (key `key`) in the sorted v[]. */
static int
rroom_count(struct rroom **v, size_t *n, size_t *cap, const char *key,
    const char *name)
{
	size_t lo = 0, hi = *n, mid;
	struct rroom *nv;
	int c;

	while (lo < hi) {
		mid = (lo + hi) / 2;
		if ((c = strcmp((*v)[mid].key, key)) == 0) {
			(*v)[mid].members++;
			return 0;
		}
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (*n == *cap) {
		size_t ncap = *cap ? *cap * 2 : 16;

		if ((nv = reallocarray(*v, ncap, sizeof(*nv))) == NULL)
			return -ENOMEM;
		*v = nv;
		*cap = ncap;
	}
	memmove(&(*v)[lo + 1], &(*v)[lo], (*n - lo) * sizeof(**v));
	strlcpy((*v)[lo].key, key, sizeof((*v)[lo].key));
	strlcpy((*v)[lo].name, name, sizeof((*v)[lo].name));
	(*v)[lo].members = 1;
	(*n)++;
	return 0;
}

/*
 * Every room that has remote members, with how many, in the order of
 * the rooms' keys (as the room tree's): *out gets an array to free().
 * Returns how many, or -ENOMEM.
 */
ssize_t
remote_rooms(struct hub *h, struct rroom **out)
{
	char k[SB_ROOM_MAX + 1];
	struct rroom *v = NULL;
	size_t n = 0, cap = 0;
	struct ruser *u;
	unsigned i;

	RB_FOREACH(u, rusers_by_id, &h->rusers)
		for (i = 0; i < u->nrooms; i++) {
			ascii_fold(k, sizeof(k), u->rooms[i]);
			if (rroom_count(&v, &n, &cap, k, u->rooms[i]) < 0) {
				free(v);
				return -ENOMEM;
			}
		}
	*out = v;
	return (ssize_t)n;
}
