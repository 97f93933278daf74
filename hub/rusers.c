/* SPDX-License-Identifier: ISC */
/*
 * The users of other machines (cluster), as remote.c keeps them: their
 * two trees and the look-ups the rules make (LIST, NAMES, ROOMS, nick
 * uniqueness, private messages).  Apart from remote.c, which tells the
 * local sessions of changes and so calls rooms.c, so that rooms.c may
 * look here without a circle.  No I/O.
 */
#include <string.h>

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

RB_GENERATE(rusers_by_id, ruser, by_id, ruser_id_cmp)
RB_GENERATE(rusers_by_key, ruser, by_key, ruser_key_cmp)

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

