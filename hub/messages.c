/* SPDX-License-Identifier: ISC */
/*
 * Chat messages: PRIVMSG (to a nick), PRIVMSG_ALIAS (to a seed-003 id),
 * ROOMMSG, ACTION (/me, to a room or a nick), and the operator's
 * announcements.  Each becomes one C_MSG per recipient; room messages
 * also go into the room's history (replay.c).  Nothing here is metered
 * by hand: the command table (hub_cmds) says which commands cost a
 * flood token.
 */
#include <stdio.h>
#include <time.h>

#include "hub.h"

/*
 * Pack one C_MSG, stamped with the time now (seconds, wall clock), for
 * as many recipients as hub_send_packet() is then given.  `about`: the
 * sender, or NULL; `seq`: the room's number for a room message, or NULL
 * for none.  Returns 0 or a negative errno (logged).
 */
static int
msg_pack(struct hub *h, const struct peer *about, struct sb_packet *pkt,
    const char *kind, const char *from, const char *tonick, const char *room,
    const char *text, const char *extra, const char *seq)
{
	char t[24];

	snprintf(t, sizeof(t), "%lld", (long long)time(NULL));
	return hub_pack(h, about, pkt, SB_C_MSG, kind, from, tonick, room,
	    text, t, extra, seq, NULL);
}

/*
 * One room message, packed once, to every member of `r`: with its time
 * `t` and the room's number `n` (0: none).
 */
static void
room_send(struct hub *h, const struct peer *about, struct room *r,
    const char *kind, const char *from, const char *text, int64_t t,
    uint64_t n)
{
	struct sb_packet pkt;
	struct membership *o;
	char seq[24], ts[24];

	snprintf(seq, sizeof(seq), "%llu", (unsigned long long)n);
	snprintf(ts, sizeof(ts), "%lld", (long long)t);
	h->metrics.deliveries += r->nmembers;
	if (hub_pack(h, about, &pkt, SB_C_MSG, kind, from, "", r->name, text,
	    ts, "", n > 0 ? seq : NULL, NULL) == 0)
		TAILQ_FOREACH(o, &r->members, in_room)
			hub_send_packet(h, o->peer, &pkt);
}

/* One C_MSG to `to`; `seq` as for msg_pack(). */
static void
deliver(struct hub *h, struct peer *to, const char *kind, const char *from,
    const char *tonick, const char *room, const char *text, const char *extra,
    const char *seq)
{
	struct sb_packet pkt;

	h->metrics.deliveries++;
	if (msg_pack(h, to, &pkt, kind, from, tonick, room, text, extra,
	    seq) == 0)
		hub_send_packet(h, to, &pkt);
}

/*
 * A journal event per message only when asked for (log_messages, or
 * transcript with the text): on a busy server one entry per message
 * would cost journald more than the chat, and its rate limit would then
 * drop the events that matter (logins, errors, kicks).
 */
static void
log_message(struct hub *h, struct peer *p, const char *to, const char *room,
    const char *text)
{
	if (!h->cfg.log_messages && !h->cfg.transcript)
		return;
	hub_log_peer(SB_EV_MESSAGE, p, &(struct sb_log_fields){
	    .room = room[0] ? room : NULL,
	    .text = h->cfg.transcript ? text : NULL },
	    "%s -> %s%s", p->nick, room[0] ? "#" : "", room[0] ? room : to);
}

/*
 * A private message (as privmsg_send) to a user of another machine, sent
 * through ops->private_send and echoed to the sender here; none there:
 * no_such_nick; the outbox for other machines full: busy.
 */
static int
remote_privmsg(struct hub *h, struct peer *p, const struct sb_msg *m,
    const char *kind)
{
	struct ruser *u = remote_find_nick(h, m->field[0]);
	struct sb_packet pkt;

	if (u == NULL || h->ops->private_send == NULL)
		return send_error(h, p, "no_such_nick", "User is already left.");
	if (h->ops->private_send(h, p, u, kind, m->field[1]) < 0)
		return send_error(h, p, "busy", "The server cannot reach the "
		    "other machines, and too much is waiting for them; the "
		    "message was not sent. Try again later.");
	h->metrics.routed[METRICS_KIND_PRIVATE]++;
	h->metrics.deliveries++;
	if (msg_pack(h, p, &pkt, kind, p->nick, u->nick, "", m->field[1], "",
	    NULL) == 0)
		hub_send_packet(h, p, &pkt);
	log_message(h, p, u->nick, "", m->field[1]);
	return 0;
}

/*
 * A private message (`kind` "private" or "action") of `p` to the nick
 * m->field[0]: to its holder, echoed to the sender, packed once.
 */
static int
privmsg_send(struct hub *h, struct peer *p, const struct sb_msg *m,
    const char *kind)
{
	struct sb_packet pkt;
	struct peer *to;

	if ((to = hub_find_nick(h, m->field[0])) == NULL || to->dead)
		return remote_privmsg(h, p, m, kind);
	h->metrics.routed[METRICS_KIND_PRIVATE]++;
	h->metrics.deliveries += to != p ? 2 : 1;
	if (msg_pack(h, p, &pkt, kind, p->nick, to->nick, "", m->field[1], "",
	    NULL) == 0) {
		hub_send_packet(h, to, &pkt);
		if (to != p)
			hub_send_packet(h, p, &pkt);
	}
	log_message(h, p, to->nick, "", m->field[1]);
	return 0;
}

/*
 * A private message from another machine (cluster.c) to the local
 * session `to`: from `from`, of `kind`, sent at `t`.
 */
void
cluster_private(struct hub *h, struct peer *to, const char *kind,
    const char *from, const char *text, int64_t t)
{
	struct sb_packet pkt;
	char ts[24];

	snprintf(ts, sizeof(ts), "%lld", (long long)t);
	h->metrics.deliveries++;
	if (hub_pack(h, to, &pkt, SB_C_MSG, kind, from, to->nick, "", text, ts,
	    "", NULL, NULL) == 0)
		hub_send_packet(h, to, &pkt);
}

/* PRIVMSG nick text. */
int
cmd_privmsg(struct hub *h, struct peer *p, const struct sb_msg *m,
    struct cmd_args *a)
{
	return privmsg_send(h, p, m, "private");
}

/* PRIVMSG_ALIAS's check: a->to gets the holder of the seed-003 id. */
int
cmd_privmsg_alias_check(struct hub *h, struct peer *p, const struct sb_msg *m,
    struct cmd_args *a)
{
	long long id;

	if (sb_field_num(m, 0, 1, INT64_MAX, &id) < 0) {
		send_error(h, p, "bad_id", "to_id must be a positive number.");
		return CMD_DONE;
	}
	if ((a->to = hub_find_alias(h, (uint64_t)id)) == NULL || a->to->dead) {
		send_error(h, p, "no_such_nick", "User is already left.");
		return CMD_DONE;
	}
	return CMD_GO;
}

/* PRIVMSG_ALIAS id text extra: to the session registered with the id. */
int
cmd_privmsg_alias(struct hub *h, struct peer *p, const struct sb_msg *m,
    struct cmd_args *a)
{
	h->metrics.routed[METRICS_KIND_PRIVATE]++;
	deliver(h, a->to, "private", p->nick, a->to->nick, "", m->field[1],
	    m->field[2], NULL);
	log_message(h, p, a->to->nick, "", m->field[1]);
	return 0;
}

/*
 * A message of `kind` ("room", "action") from `p` to every member of
 * `r`, the sender too, packed once; logged if asked, kept in the room's
 * history first, so that each member gets the number the room gave it
 * (none when it was not kept).
 */
static void
room_deliver(struct hub *h, struct peer *p, struct room *r, const char *kind,
    const char *text)
{
	int64_t t = (int64_t)time(NULL);
	int c = 0;

	if (h->ops->room_publish != NULL &&
	    (c = h->ops->room_publish(h, r, kind, p->nick, text, t)) < 0) {
		send_error(h, p, "busy", "The server cannot reach the other "
		    "machines, and too much is waiting for them; the message "
		    "was not sent. Try again later.");
		return;
	}
	h->metrics.routed[METRICS_KIND_ROOM]++;
	r->msgs++;
	log_message(h, p, "", r->name, text);
	if (h->ops->room_publish != NULL) {
		/* 0: from Redis, in the room's order; 1: here now, unnumbered */
		if (c == 1)
			room_send(h, p, r, kind, p->nick, text, t, 0);
		return;
	}
	room_send(h, p, r, kind, p->nick, text, t,
	    replay_record(h, r, kind, p->nick, text));
}

/*
 * A room message from the cluster (cluster.c), in the room's order, each
 * number once: kept in the history under its number, and delivered to
 * the room's members here when `deliver` (not when this hub gave it to
 * them already while Redis was away, nor when it only fills the history).
 */
void
cluster_arrived(struct hub *h, const struct cluster_msg *m, int deliver)
{
	struct room *r = hub_find_room(h, m->room);
	uint64_t seq = m->seq;

	if (h->history != NULL && h->cfg.history > 0)
		(void)history_add_at(h->history, m->room, m->kind, m->from,
		    m->text, m->time, &seq);	/* a repeat: kept already */
	if (deliver && r != NULL)
		room_send(h, NULL, r, m->kind, m->from, m->text, m->time,
		    m->seq);
}

/*
 * The room's messages after `since`, before `first`, are gone for this
 * hub's members (trimmed from the stream before they were fetched), or,
 * with `first` 1, the room's history restarted (Redis lost its data: a
 * new epoch): the history kept here is forgotten.  Each local member gets
 * a C_GAP, the form a catch-up's gap has (docs/cluster.md).  `first` 0:
 * only forget (the room's first fetch from Redis replaces the history).
 */
void
cluster_restarted(struct hub *h, const char *room, uint64_t since,
    uint64_t first)
{
	struct room *r = hub_find_room(h, room);
	struct membership *o;
	char s[24], f[24];

	if (first <= 1 && h->history != NULL)
		(void)history_forget(h->history, room);	/* disk: a copy */
	if (r == NULL || first == 0)
		return;
	snprintf(s, sizeof(s), "%llu", (unsigned long long)since);
	snprintf(f, sizeof(f), "%llu", (unsigned long long)first);
	TAILQ_FOREACH(o, &r->members, in_room)
		hub_send(h, o->peer, SB_C_GAP, r->name, s, f, NULL);
}

/* ROOMMSG's check: the sender is in the room (a->room). */
int
cmd_roommsg_check(struct hub *h, struct peer *p, const struct sb_msg *m,
    struct cmd_args *a)
{
	if ((a->room = hub_find_room(h, m->field[0])) == NULL ||
	    room_membership(p, a->room) == NULL) {
		send_error(h, p, "not_in_room", "You are not in that room.");
		return CMD_DONE;
	}
	return CMD_GO;
}

/* ROOMMSG room text: to every member, and into the room's history. */
int
cmd_roommsg(struct hub *h, struct peer *p, const struct sb_msg *m,
    struct cmd_args *a)
{
	room_deliver(h, p, a->room, "room", m->field[1]);
	return 0;
}

/* ACTION's check: an action without a target needs a room to go to. */
int
cmd_action_check(struct hub *h, struct peer *p, const struct sb_msg *m,
    struct cmd_args *a)
{
	if (m->flen[0] == 0 && TAILQ_EMPTY(&p->rooms)) {
		send_error(h, p, "no_target", "ME needs a room or a nick when "
		    "you are in no room.");
		return CMD_DONE;
	}
	return CMD_GO;
}

/*
 * ACTION target text: no target, to every room of the sender; a room the
 * sender is in, to that room; anything else is a nick (privmsg_send).
 */
int
cmd_action(struct hub *h, struct peer *p, const struct sb_msg *m,
    struct cmd_args *a)
{
	struct membership *mb;
	struct room *r;

	if (m->flen[0] == 0) {
		TAILQ_FOREACH(mb, &p->rooms, in_peer)
			room_deliver(h, p, mb->room, "action", m->field[1]);
		return 0;
	}
	if ((r = hub_find_room(h, m->field[0])) != NULL &&
	    room_membership(p, r) != NULL) {
		room_deliver(h, p, r, "action", m->field[1]);
		return 0;
	}
	return privmsg_send(h, p, m, "action");
}

/*
 * An announcement from the operator to every identified session, packed
 * once: it names no addressee, and each handler reads it as to its own
 * session (handler/dialect.c dialect_render()).
 */
void
hub_announce(struct hub *h, const char *text)
{
	struct sb_packet pkt;
	struct peer *o;

	h->metrics.routed[METRICS_KIND_ANNOUNCE]++;
	if (msg_pack(h, NULL, &pkt, "announce", "", "", "", text, "",
	    NULL) == 0)
		RB_FOREACH(o, peer_nicks, &h->nicks) {
			h->metrics.deliveries++;
			hub_send_packet(h, o, &pkt);
		}
	sb_log_event(SB_EV_ANNOUNCE, &(struct sb_log_fields){ .text = text },
	    "announcement to %u clients", h->clients);
}
