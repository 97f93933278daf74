/* SPDX-License-Identifier: ISC */
/*
 * Resuming after a hub restart.  A handler whose hub went away keeps its
 * client and, once a hub is back, re-registers the session (RESUME: the
 * nick, the rooms, the alias, the member id); nobody is told, as nobody
 * saw it leave.  While the resumes keep coming, routed messages are held
 * (hold_extend here; the holding and the release are dispatch's, see
 * hub_hold_release) so that the first back do not talk to an empty room.
 */
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#include <bsd/stdlib.h>
#include <bsd/string.h>

#include "hub.h"

/*
 * After a restart the handlers come back one by one.  So that a message
 * sent by one who is back already reaches those still on their way, the
 * hub holds routed messages, in arrival order, while resumes keep coming:
 * until HUB_RESUME_QUIET_USEC pass without one, at most
 * HUB_RESUME_HOLD_USEC after the first.
 */
static void
hold_extend(struct hub *h)
{
	uint64_t now = h->ops->now_usec(h), until;

	if (h->hold_until == 0)
		h->hold_started = now;
	until = now + HUB_RESUME_QUIET_USEC;
	if (until > h->hold_started + HUB_RESUME_HOLD_USEC)
		until = h->hold_started + HUB_RESUME_HOLD_USEC;
	h->hold_until = until;
	if (h->ops->arm != NULL)
		h->ops->arm(h, until);
}

/*
 * A resume is checked against the member store as it is now, as an
 * IDENTIFY is: `member` is the member id the session was identified as
 * ("" for a guest).  A member who was disabled meanwhile is closed; a
 * session whose member login no longer holds (the member is gone, or has
 * another id), and a guest on a nick that now belongs to a member (or on
 * a server that now takes members only), get nick_lost and must identify
 * again.  Returns 1 when the resume was refused (the client is told).
 */
static int
resume_refused(struct hub *h, struct peer *p, const char *nick,
    const char *member)
{
	const struct member *mem;
	const char *why = NULL;

	if (h->cfg.auth == AUTH_GUEST)
		return 0;
	mem = h->members != NULL ? members_find(h->members, nick) : NULL;
	if (member[0] != '\0') {
		if (mem == NULL || strtonum(member, 1, MEMBERS_ID_MAX, NULL) !=
		    (long long)mem->id)
			why = "member login no longer valid";
		else if (!mem->active) {
			hub_log_peer(SB_EV_LOGIN_FAILED, p,
			    &(struct sb_log_fields){ .nick = nick,
			    .reason = "member disabled" }, "resume refused: "
			    "member %s is disabled", nick);
			hub_peer_kill(h, p, "login_disabled", "This member is "
			    "disabled.");
			return 1;
		}
	} else if (mem != NULL)
		why = "nick now belongs to a member";
	else if (h->cfg.auth == AUTH_MEMBERS)
		why = "guests may no longer log in";
	if (why == NULL)
		return 0;
	hub_log_peer(SB_EV_LOGIN_FAILED, p, &(struct sb_log_fields){
	    .nick = nick, .reason = why }, "resume refused: %s", why);
	send_error(h, p, "nick_lost", "The server restarted and you must "
	    "identify again.");
	return 1;
}

/*
 * A handler whose hub went away re-registers its session with the new
 * hub: the nick and the rooms it was in.  Nobody is told (the others
 * never saw it leave); a nick taken in the meantime, or a room that can
 * no longer be entered, is reported to the client as an error.
 */
int
cmd_resume(struct hub *h, struct peer *p, const struct sb_msg *m,
    struct cmd_args *a)
{
	char list[SB_LIST_MAX / 2 + 1], *s = list, *t;
	struct nick_id nid;
	long long alias = 0;
	const char *why;
	struct peer *o;
	struct room *r;
	int n = 0;

	if (p->nick[0] != '\0')
		return -EPROTO;
	if (m->flen[2] > 0 && sb_field_num(m, 2, 1, INT64_MAX, &alias) < 0)
		return -EPROTO;
	if (m->flen[0] > 0) {
		const struct ban *b = bans_match_nick(&h->bans, m->field[0],
		    time(NULL));

		if (b != NULL) {
			char text[SB_REASON_MAX + 1];

			ban_describe(b, text, sizeof(text));
			hub_log_peer(SB_EV_BANNED, p, &(struct sb_log_fields){
			    .nick = m->field[0], .reason = text },
			    "resume refused: %s", text);
			hub_peer_kill(h, p, "banned", text);
			return 0;
		}
		if (resume_refused(h, p, m->field[0], m->nfields > 3 ?
		    m->field[3] : ""))
			return 0;
		if (nick_identify(m->field[0], &nid, &why) < 0 ||
		    nick_clash(h, p, &nid, &o) != NICK_FREE ||
		    remote_find_key(h, nid.key) != NULL ||
		    remote_lookalike(h, &nid) != NULL) {
			hub_log_peer(SB_EV_LOGIN_FAILED, p, &(struct sb_log_fields){
			    .nick = m->field[0], .reason = "nick lost in restart" },
			    "resume refused: nick %s is taken", m->field[0]);
			return send_error(h, p, "nick_lost", "The server restarted "
			    "and your nick was taken; identify again.");
		}
		if (hub_find_alias(h, (uint64_t)alias) != NULL) {
			hub_log_peer(SB_EV_LOGIN_FAILED, p, &(struct sb_log_fields){
			    .nick = m->field[0], .reason = "id lost in restart" },
			    "resume refused: id %lld is taken", alias);
			return send_error(h, p, "nick_lost", "The server restarted "
			    "and your id was taken; identify again.");
		}
		nick_claim(h, p, m->field[0], &nid);
		p->alias = (uint64_t)alias;
		p->resumed = 1;
		h->metrics.resumed++;
	}
	strlcpy(list, m->field[1], sizeof(list));
	while (p->nick[0] != '\0' && (t = strsep(&s, " ")) != NULL) {
		if (*t == '\0' || room_name_check(t, &why) < 0)
			continue;
		if ((r = hub_find_room(h, t)) == NULL && h->cfg.room_create &&
		    h->nrooms < h->cfg.max_rooms)
			r = room_create(h, t, 0);
		if (r == NULL || room_enter_quietly(p, r) < 0)
			send_error(h, p, "no_such_room", "After the restart this "
			    "room could not be entered again.");
		else
			n++;
	}
	if (p->nick[0] != '\0' && h->ops->user_event != NULL)
		h->ops->user_event(h, p, REMOTE_LOGIN, NULL, NULL);
	if (p->nick[0] != '\0')
		hub_log_peer(SB_EV_LOGIN, p, &(struct sb_log_fields){
		    .reason = "resumed" }, "%s resumed after a hub restart "
		    "(%d rooms)", p->nick, n);
	hold_extend(h);
	return 0;
}
