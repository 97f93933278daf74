/* SPDX-License-Identifier: ISC */
/*
 * Remote users: the identified users of the other machines of a cluster
 * (docs/cluster.md), as this hub knows them from Redis (cluster.c hands
 * each change here), and what the local sessions are told of them: their
 * logins, quits, joins, parts and nick changes, within presence_max as
 * for local users.  LIST, NAMES, the join answer and ROOMS count them
 * (peers.c, rooms.c); a private message to one goes through
 * ops->private_send (messages.c).  No I/O: the rules' side.
 */
#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bsd/string.h>

#include "hub.h"

/* Whether presence is told to every identified local session. */
static int
remote_loud(const struct hub *h)
{
	return h->named + h->rnamed <= h->cfg.presence_max;
}

/* One notice to every identified local session (a quiet server: none). */
static void
tell_all(struct hub *h, enum sb_type type, const char *a, const char *b)
{
	struct sb_packet pkt;
	struct peer *q;

	if (!remote_loud(h) || hub_pack(h, NULL, &pkt, type, a, b, NULL) < 0)
		return;
	RB_FOREACH(q, peer_nicks, &h->nicks)
		hub_send_packet(h, q, &pkt);
}

/* One notice to the local members of `room`, unless it is quiet. */
static void
tell_room(struct hub *h, const char *room, enum sb_type type, const char *a,
    const char *b, const char *c)
{
	struct room *r = hub_find_room(h, room);
	struct membership *o;
	struct sb_packet pkt;

	if (r == NULL || r->nmembers + remote_room_count(h, room) >
	    h->cfg.presence_max || hub_pack(h, NULL, &pkt, type, r->name, a,
	    b, c, NULL) < 0)
		return;
	TAILQ_FOREACH(o, &r->members, in_room)
		hub_send_packet(h, o->peer, &pkt);
}

/* Forget remote user `u` (no notice). */
static void
ruser_free(struct hub *h, struct ruser *u)
{
	RB_REMOVE(rusers_by_id, &h->rusers, u);
	RB_REMOVE(rusers_by_key, &h->rkeys, u);
	remote_unindex(h, u);
	h->rnamed--;
	free(u);
}

/*
 * A node read again after its hub restarted (a snapshot): its sessions
 * resumed under new numbers.  A user of `node` not yet read again
 * (stale) with the nick `key` is the same user: forgotten without a
 * notice, so that the new session is not told as a login either.
 * Returns 1 when there was one.
 */
static int
same_user_again(struct hub *h, const char *node, const char *key)
{
	struct ruser *u = remote_find_key(h, key);

	if (u == NULL || !u->stale || strcmp(u->node, node) != 0)
		return 0;
	ruser_free(h, u);
	return 1;
}

/*
 * The user `session` of `node` is now `u` (nick, name, rooms), after
 * event `ev` (with `a`, `b`: the room and reason of a join or part, the
 * old nick of a nick change); the local sessions are told what changed.
 * REMOTE_SYNC (a snapshot) tells a login for a user not known before.
 * Returns 0, or -EINVAL for a nick that breaks the rules, -ENOMEM.
 */
int
remote_set(struct hub *h, const char *node, uint64_t session,
    const struct remote_user *ru, enum remote_ev ev, const char *a,
    const char *b)
{
	struct ruser *u = remote_find(h, node, session);
	struct nick_id nid;
	const char *why;
	int fresh = u == NULL, quiet;

	if (nick_identify(ru->nick, &nid, &why) < 0)
		return -EINVAL;
	quiet = fresh && ev == REMOTE_SYNC &&
	    same_user_again(h, node, nid.key);
	if (fresh) {
		if ((u = calloc(1, sizeof(*u))) == NULL)
			return -ENOMEM;
		strlcpy(u->node, node, sizeof(u->node));
		u->session = session;
		RB_INSERT(rusers_by_id, &h->rusers, u);
		h->rnamed++;
	} else {
		RB_REMOVE(rusers_by_key, &h->rkeys, u);
		remote_unindex(h, u);
	}
	strlcpy(u->nick, ru->nick, sizeof(u->nick));
	strlcpy(u->key, nid.key, sizeof(u->key));
	strlcpy(u->name, ru->name, sizeof(u->name));
	memcpy(u->rooms, ru->rooms, sizeof(u->rooms));
	u->nrooms = ru->nrooms;
	u->stale = 0;
	RB_INSERT(rusers_by_key, &h->rkeys, u);
	remote_index(h, u, &nid);
	if (quiet)
		return 0;
	if (fresh && (ev == REMOTE_LOGIN || ev == REMOTE_SYNC))
		tell_all(h, SB_C_LOGIN, u->nick, u->name);
	else if (ev == REMOTE_JOIN)
		tell_room(h, a, SB_C_JOINED, u->nick, "", NULL);
	else if (ev == REMOTE_PART)
		tell_room(h, a, SB_C_PARTED, u->nick, b, NULL);
	else if (ev == REMOTE_NICK)
		tell_all(h, SB_C_NICKCHANGE, a, u->nick);
	return 0;
}

/* The user `session` of `node` quit (`reason`): told once, forgotten. */
void
remote_quit(struct hub *h, const char *node, uint64_t session,
    const char *reason)
{
	struct ruser *u = remote_find(h, node, session);

	if (u == NULL)
		return;
	tell_all(h, SB_C_QUIT, u->nick, reason);
	ruser_free(h, u);
}

/*
 * A snapshot of `node` begins (remote_node_mark) or ends
 * (remote_node_sweep): the users it did not name are gone, each with one
 * quit notice.  remote_node_sweep with nothing set between: the node is
 * gone (its hub died, or was cut off).
 */
void
remote_node_mark(struct hub *h, const char *node)
{
	struct ruser *u;

	RB_FOREACH(u, rusers_by_id, &h->rusers)
		if (strcmp(u->node, node) == 0)
			u->stale = 1;
}

void
remote_node_sweep(struct hub *h, const char *node, const char *reason)
{
	struct ruser *u, *next;

	for (u = RB_MIN(rusers_by_id, &h->rusers); u != NULL; u = next) {
		next = RB_NEXT(rusers_by_id, &h->rusers, u);
		if (u->stale && strcmp(u->node, node) == 0)
			remote_quit(h, u->node, u->session, reason);
	}
}

/* Forget every remote user, telling nobody (the hub stops). */
void
remote_free(struct hub *h)
{
	struct ruser *u;

	while ((u = RB_MIN(rusers_by_id, &h->rusers)) != NULL)
		ruser_free(h, u);
}
