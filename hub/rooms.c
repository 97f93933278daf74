/* SPDX-License-Identifier: ISC */
/*
 * Rooms: the room tree, who is in which room (memberships), rooms made
 * on JOIN or named in the config (permanent), and going away when the
 * last member leaves; JOIN, PART, NAMES and ROOMS.  A room's history
 * lives as long as the room plus the retention (hub_history_expire); its
 * replay on JOIN and the recording of messages are in replay.c.
 */
#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bsd/string.h>

#include "hub.h"

static int
room_cmp(struct room *a, struct room *b)
{
	return strcmp(a->key, b->key);
}

RB_GENERATE(rooms, room, entry, room_cmp)

/*
 * Presence (logins, quits, nick changes, joins and parts) is told one by
 * one only where that stays cheap: in a room of at most presence_max
 * members, and server-wide while at most presence_max sessions are
 * identified.  Past that, N clients arriving would cost N * N notices;
 * clients ask NAMES and LIST for the lists.
 */
int
room_quiet(const struct hub *h, const struct room *r)
{
	return r->nmembers > h->cfg.presence_max;
}

/* The room named `name` (compared by ascii_fold), or NULL. */
struct room *
hub_find_room(struct hub *h, const char *name)
{
	struct room k = { 0 };	/* only the key is compared */

	ascii_fold(k.key, sizeof(k.key), name);
	return RB_FIND(rooms, &h->rooms, &k);
}

/* The membership of `p` in room `r`, or NULL when it is not in it. */
struct membership *
room_membership(struct peer *p, struct room *r)
{
	struct membership *m;

	TAILQ_FOREACH(m, &p->rooms, in_peer)
		if (m->room == r)
			return m;
	return NULL;
}

/* The clock of the history's room lifetimes: monotonic seconds. */
static uint64_t
history_now(struct hub *h)
{
	return h->ops->now_usec(h) / 1000000;
}

/*
 * Forget the history of temporary rooms gone longer than the retention
 * (history_retention).  The hub's status timer calls it every few
 * seconds, and this file whenever a room comes or goes.
 */
void
hub_history_expire(struct hub *h)
{
	if (h->history != NULL && h->cfg.history > 0)
		history_expire(h->history, history_now(h));
}

/*
 * Tell the history that the hub has these rooms now: each permanent room
 * reserves its slot, and the temporary ones (resumed after a restart)
 * claim theirs.  The rest of what was loaded from disk is gone from now
 * on.  Called after the config is (re)loaded, once the history is open.
 */
static void
hub_history_sync(struct hub *h)
{
	struct room *r;
	uint64_t now;

	if (h->history == NULL || h->cfg.history == 0)
		return;
	now = history_now(h);
	history_set_retention(h->history, h->cfg.history_retention);
	RB_FOREACH(r, rooms, &h->rooms)
		if (history_room_live(h->history, r->name, r->permanent,
		    now) < 0)
			sb_log_event(SB_EV_HUB_ERROR, &(struct sb_log_fields){
			    .room = r->name, .reason = "no history slot" },
			    "history: no slot for room %s", r->name);
	history_expire(h->history, now);
}

/*
 * A new room `name` (a valid room name, not in the tree yet), permanent
 * or not.  Returns it, or NULL when out of memory.
 */
struct room *
room_create(struct hub *h, const char *name, int permanent)
{
	struct room *r;

	if ((r = calloc(1, sizeof(*r))) == NULL)
		return NULL;
	strlcpy(r->name, name, sizeof(r->name));
	ascii_fold(r->key, sizeof(r->key), name);
	r->permanent = permanent;
	TAILQ_INIT(&r->members);
	RB_INSERT(rooms, &h->rooms, r);
	h->nrooms++;
	/*
	 * A room of a name gone within the retention gets its history back;
	 * one gone longer starts empty.  (Permanent rooms: hub_history_sync.)
	 */
	if (!permanent && h->history != NULL && h->cfg.history > 0) {
		hub_history_expire(h);
		history_room_live(h->history, name, 0, history_now(h));
	}
	return r;
}

/*
 * Check the permanent rooms of `cfg` (space or comma separated) against
 * the room name rules, touching nothing.  The start and every reload
 * (load_config in server.c) call it, so a reload refuses exactly what a
 * start refuses.  Returns 0, or -EINVAL with `err` naming the first bad
 * name and why.
 */
int
hub_rooms_check(const struct sb_config *cfg, char *err, size_t errsz)
{
	char list[sizeof(cfg->rooms)], *s = list, *t;
	const char *why;

	assert(cfg != NULL && err != NULL);
	strlcpy(list, cfg->rooms, sizeof(list));
	while ((t = strsep(&s, " ,\t")) != NULL)
		if (*t != '\0' && room_name_check(t, &why) < 0) {
			snprintf(err, errsz, "rooms: \"%s\" is not a valid "
			    "room name: %s", t, why);
			return -EINVAL;
		}
	return 0;
}

/*
 * Create the rooms named in the config (space or comma separated), or
 * mark them permanent.  Returns 0, or -EINVAL when a name breaks the
 * rules (then nothing is changed), or -ENOMEM.
 */
int
hub_rooms_configure(struct hub *h)
{
	char list[sizeof(h->cfg.rooms)], *s = list, *t, err[160];

	if (hub_rooms_check(&h->cfg, err, sizeof(err)) < 0)
		return -EINVAL;
	strlcpy(list, h->cfg.rooms, sizeof(list));
	while ((t = strsep(&s, " ,\t")) != NULL) {
		struct room *r;

		if (*t == '\0')
			continue;
		if ((r = hub_find_room(h, t)) != NULL)
			r->permanent = 1;
		else if (room_create(h, t, 1) == NULL)
			return -ENOMEM;
	}
	hub_history_sync(h);
	return 0;
}

/* Free every room (hub_free: the sessions are gone already). */
void
rooms_free(struct hub *h)
{
	struct room *r, *rn;

	RB_FOREACH_SAFE(r, rooms, &h->rooms, rn) {
		RB_REMOVE(rooms, &h->rooms, r);
		free(r);
	}
}

/* Put membership `mb` of `p` in `r` into both lists; nobody is told. */
static void
membership_link(struct membership *mb, struct peer *p, struct room *r)
{
	mb->room = r;
	mb->peer = p;
	TAILQ_INSERT_TAIL(&r->members, mb, in_room);
	TAILQ_INSERT_TAIL(&p->rooms, mb, in_peer);
	r->nmembers++;
	p->nrooms++;
	if (r->nmembers == 1 && p->hub->ops->room_follow != NULL)
		p->hub->ops->room_follow(p->hub, r, 1);
}

/*
 * Remove a membership, telling the other members (C_PARTED) when
 * `notify`; a room that is not permanent goes away when it is empty.
 */
void
room_leave(struct hub *h, struct membership *m, const char *reason, int notify)
{
	struct room *r = m->room;
	struct peer *p = m->peer;
	struct membership *o;
	struct sb_packet pkt;

	if (room_quiet(h, r))
		notify = 0;
	TAILQ_REMOVE(&r->members, m, in_room);
	TAILQ_REMOVE(&p->rooms, m, in_peer);
	r->nmembers--;
	p->nrooms--;
	free(m);
	if (!p->gone && p->nick[0] != '\0' && h->ops->user_event != NULL)
		h->ops->user_event(h, p, REMOTE_PART, r->name, reason);
	if (notify && !TAILQ_EMPTY(&r->members) && hub_pack(h, p, &pkt,
	    SB_C_PARTED, r->name, p->nick, reason, NULL) == 0)
		TAILQ_FOREACH(o, &r->members, in_room)
			hub_send_packet(h, o->peer, &pkt);
	if (r->nmembers == 0 && h->ops->room_follow != NULL)
		h->ops->room_follow(h, r, 0);
	if (r->nmembers == 0 && !r->permanent) {
		/* Its history goes too, after the retention (history.h). */
		if (h->history != NULL && h->cfg.history > 0) {
			history_room_gone(h->history, r->name, history_now(h));
			hub_history_expire(h);
		}
		RB_REMOVE(rooms, &h->rooms, r);
		h->nrooms--;
		free(r);
	}
}

/*
 * Add `p` to room `r` without telling anyone (a resumed session).
 * Returns 0 (also when it is in already, or in as many rooms as it may
 * be), or -ENOMEM.
 */
int
room_enter_quietly(struct peer *p, struct room *r)
{
	struct membership *mb;

	if (room_membership(p, r) != NULL || p->nrooms >= HUB_ROOMS_PER_PEER)
		return 0;
	if ((mb = calloc(1, sizeof(*mb))) == NULL)
		return -ENOMEM;
	membership_link(mb, p, r);
	return 0;
}

/* The remote members of `r` added to a join answer's list, while they fit. */
static void
remote_members(struct hub *h, const struct room *r, char *list, size_t size,
    size_t *len)
{
	struct ruser *u;

	RB_FOREACH(u, rusers_by_key, &h->rkeys)
		if (remote_in_room(u, r->name) &&
		    list_add(list, size, len, u->nick) < 0)
			return;	/* past one datagram, the joiner asks NAMES */
}

/*
 * JOIN room [since]: enter a room (created unless the server does not
 * create rooms on join), tell its members, answer C_JOINED with the
 * member list, then replay the room's history (after `since`, if given:
 * replay_join).
 */
int
cmd_join(struct hub *h, struct peer *p, const struct sb_msg *m,
    struct cmd_args *a)
{
	char members[SB_LIST_MAX / 2 + 1];
	struct membership *mb, *o;
	struct sb_packet pkt;
	long long since = -1;
	const char *why;
	struct room *r;
	size_t len = 0;
	int later, quiet, tell;

	/* The handler checked `since`: a bad one breaks the contract. */
	if (m->nfields > 1 && m->flen[1] > 0 &&
	    sb_field_num(m, 1, 0, INT64_MAX, &since) < 0)
		return -EPROTO;
	if (room_name_check(m->field[0], &why) < 0)
		return send_error(h, p, "room_invalid", why);
	if ((r = hub_find_room(h, m->field[0])) == NULL) {
		if (!h->cfg.room_create)
			return send_error(h, p, "no_such_room", "No such room; "
			    "this server does not create rooms on join.");
		if (h->nrooms >= h->cfg.max_rooms)
			return send_error(h, p, "too_many_rooms", "The server "
			    "has too many rooms.");
		if ((r = room_create(h, m->field[0], 0)) == NULL)
			return -ENOMEM;
	}
	if (room_membership(p, r) != NULL)
		return send_error(h, p, "already_joined", "You are already "
		    "in that room.");
	if (p->nrooms >= HUB_ROOMS_PER_PEER)
		return send_error(h, p, "too_many_rooms", "You are in too "
		    "many rooms.");
	if ((mb = calloc(1, sizeof(*mb))) == NULL)
		return -ENOMEM;
	quiet = r->nmembers + 1 > h->cfg.presence_max;
	/* The others are told with one datagram, packed once. */
	tell = !quiet && !TAILQ_EMPTY(&r->members) && hub_pack(h, p, &pkt,
	    SB_C_JOINED, r->name, p->nick, "", NULL) == 0;
	TAILQ_FOREACH(o, &r->members, in_room) {
		if (tell)
			hub_send_packet(h, o->peer, &pkt);
		/* Past what one datagram holds, the joiner asks NAMES. */
		if (list_add(members, sizeof(members), &len,
		    o->peer->nick) < 0 && quiet)
			break;
	}
	membership_link(mb, p, r);
	list_add(members, sizeof(members), &len, p->nick);
	remote_members(h, r, members, sizeof(members), &len);
	/* Asked first: a replay that waits holds the answer too (hub.h). */
	later = h->ops->room_replay != NULL && h->ops->room_replay(h, p, r,
	    since) != 0;
	hub_send(h, p, SB_C_JOINED, r->name, p->nick, members, NULL);
	if (h->ops->user_event != NULL)
		h->ops->user_event(h, p, REMOTE_JOIN, r->name, NULL);
	if (!later)
		replay_join(h, p, r, since);
	hub_log_peer(SB_EV_JOIN, p, &(struct sb_log_fields){ .room = r->name },
	    "%s joined %s", p->nick, r->name);
	return 0;
}

/* PART room: leave it; the members are told. */
int
cmd_part(struct hub *h, struct peer *p, const struct sb_msg *m,
    struct cmd_args *a)
{
	struct membership *mb;
	struct room *r;
	char name[SB_ROOM_MAX + 1];

	if ((r = hub_find_room(h, m->field[0])) == NULL ||
	    (mb = room_membership(p, r)) == NULL)
		return send_error(h, p, "not_in_room", "You are not in that "
		    "room.");
	strlcpy(name, r->name, sizeof(name));
	room_leave(h, mb, "left", 1);
	hub_send(h, p, SB_C_PARTED, name, p->nick, "left", NULL);
	hub_log_peer(SB_EV_PART, p, &(struct sb_log_fields){ .room = name },
	    "%s left %s", p->nick, name);
	return 0;
}

/*
 * NAMES room: the nicks in a room, on every machine; a room with members
 * on other machines only is answered too, as its nodes spell it.
 */
int
cmd_names(struct hub *h, struct peer *p, const struct sb_msg *m,
    struct cmd_args *a)
{
	struct chunker c = { .h = h, .p = p, .type = SB_C_NICKLIST };
	struct membership *o;
	struct ruser *u;
	struct room *r;

	if ((r = hub_find_room(h, m->field[0])) != NULL)
		c.room = r->name;
	else if ((c.room = remote_room_name(h, m->field[0])) == NULL)
		return send_error(h, p, "no_such_room", "No such room.");
	if (r != NULL)
		TAILQ_FOREACH(o, &r->members, in_room)
			chunk_add(&c, o->peer->nick);
	RB_FOREACH(u, rusers_by_key, &h->rkeys)
		if (remote_in_room(u, c.room))
			chunk_add(&c, u->nick);
	chunk_flush(&c, 1);
	return 0;
}

/*
 * Call fn for every room of the cluster, in the order of the rooms'
 * keys: the rooms here, their members here and on other machines
 * counted, and the rooms with members on other machines only (not
 * permanent here).  On one machine: the rooms here.  Returns 0, or
 * -ENOMEM before any call.
 */
int
rooms_each(struct hub *h, rooms_each_fn *fn, void *arg)
{
	struct rroom *rv = NULL;
	struct room *r;
	ssize_t nr;
	size_t i = 0;
	unsigned remote;
	int c;

	if ((nr = remote_rooms(h, &rv)) < 0)
		return (int)nr;
	RB_FOREACH(r, rooms, &h->rooms) {
		remote = 0;
		for (; i < (size_t)nr && (c = strcmp(rv[i].key, r->key)) <= 0;
		    i++) {
			if (c == 0)
				remote = rv[i].members;
			else
				fn(arg, rv[i].name, rv[i].members, 0);
		}
		fn(arg, r->name, r->nmembers + remote, r->permanent);
	}
	for (; i < (size_t)nr; i++)
		fn(arg, rv[i].name, rv[i].members, 0);
	free(rv);
	return 0;
}

static void
rooms_item(void *arg, const char *name, unsigned members, int permanent)
{
	char item[SB_ROOM_MAX + 16];

	snprintf(item, sizeof(item), "%s:%u", name, members);
	chunk_add(arg, item);
}

/* ROOMS: every room of the cluster, as name:members. */
int
cmd_rooms(struct hub *h, struct peer *p, const struct sb_msg *m,
    struct cmd_args *a)
{
	struct chunker c = { .h = h, .p = p, .type = SB_C_ROOMLIST };

	if (rooms_each(h, rooms_item, &c) < 0)
		return send_error(h, p, "busy", "The server is out of memory; "
		    "try again.");
	chunk_flush(&c, 1);
	return 0;
}

/*
 * The busiest rooms, for switchboardctl top: the rooms with the most
 * messages (room->msgs, counted by messages.c) since the last look, at
 * most `n`
 * into out[], busiest first; *window gets the seconds the look
 * spans.
 * A look less than a second after the one before gives that one's
 * answer again (each room keeps its count of that window, `recent`),
 * so several viewers at once still see whole seconds.  Returns how
 * many rooms are in out[].
 */
size_t
rooms_busiest(struct hub *h, uint64_t now, struct room **out, size_t n,
    double *window)
{
	struct hub_metrics *mt = &h->metrics;
	struct room *r;
	size_t k = 0, i;

	assert(h != NULL && (out != NULL || n == 0) && window != NULL);
	if (mt->busiest_at == 0 || now >= mt->busiest_at + 1000000) {
		mt->busiest_window = mt->busiest_at ? now - mt->busiest_at : 0;
		mt->busiest_at = now;
		RB_FOREACH(r, rooms, &h->rooms) {
			r->recent = r->msgs - r->msgs_mark;
			r->msgs_mark = r->msgs;
		}
	}
	*window = (double)mt->busiest_window / 1e6;
	RB_FOREACH(r, rooms, &h->rooms) {
		if (r->recent == 0)
			continue;
		/* Insert in order, keeping the n busiest. */
		for (i = k; i > 0 && out[i - 1]->recent < r->recent; i--)
			if (i < n)
				out[i] = out[i - 1];
		if (i < n) {
			out[i] = r;
			if (k < n)
				k++;
		}
	}
	return k;
}
