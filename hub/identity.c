/* SPDX-License-Identifier: ISC */
/*
 * Identity: who a session is.  IDENTIFY as a guest or as a member (the
 * password checked by crypt(3) away from the event loop, failed logins
 * throttled per nick and per address), and NICK, a guest's nick change.
 * Both go through the same gates: the nick rules (nick.h), bans, the
 * members' reserved and look-alike nicks, and uniqueness among the
 * sessions (nick_clash, nick.c).  A session coming back after a restart
 * (RESUME) is resume.c's.
 */
#include <assert.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <bsd/string.h>

#include "hub.h"

/*
 * Identify `p` as `nick` (already checked) and tell everyone.  `id` is
 * the member id, or NULL for a guest (whose id is the session number).
 */
static int
identify_as(struct hub *h, struct peer *p, const char *nick,
    const struct nick_id *nid, const char *id)
{
	char sess[24];

	nick_claim(h, p, nick, nid);
	snprintf(sess, sizeof(sess), "%llu", (unsigned long long)p->session);
	hub_send(h, p, SB_C_IDENTIFIED, p->nick, p->name, id ? id : sess,
	    id ? id : "", NULL);
	presence_tell(h, p, 0, SB_C_LOGIN, p->nick, p->name);
	if (h->ops->user_event != NULL)
		h->ops->user_event(h, p, REMOTE_LOGIN, NULL, NULL);
	hub_log_peer(SB_EV_LOGIN, p, NULL, "%s identified", p->nick);
	return 0;
}

/*
 * Refuse `nick` to `p` if a ban is in force on it: an error that names
 * the ban and when it ends, and an event.  Returns 1 when refused.
 */
static int
nick_banned(struct hub *h, struct peer *p, const char *nick)
{
	const struct ban *b = bans_match_nick(&h->bans, nick, time(NULL));
	char text[SB_REASON_MAX + 1];

	if (b == NULL)
		return 0;
	ban_describe(b, text, sizeof(text));
	hub_log_peer(SB_EV_BANNED, p, &(struct sb_log_fields){ .nick = nick,
	    .reason = text }, "refused the banned nick %s", b->target);
	send_error(h, p, "banned", text);
	return 1;
}

/*
 * Refuse an identification: a login_failed event saying `why` (for the
 * operator), and error `code` with `text` to the client.  Returns 0.
 */
static int
login_failed(struct hub *h, struct peer *p, const char *nick,
    const char *code, const char *text, const char *why)
{
	hub_log_peer(SB_EV_LOGIN_FAILED, p, &(struct sb_log_fields){
	    .nick = nick, .reason = why }, "identify refused: %s", why);
	return send_error(h, p, code, text);
}

/* Is `nick` a member's nick (reserved for them)? */
static int
nick_reserved(const struct hub *h, const char *nick)
{
	return h->members != NULL && members_find(h->members, nick) != NULL;
}

/*
 * Refuse `nick` (whose comparison key and skeletons are `nid`) to `p`
 * when it looks like a member's nick, or like the nick of session `o`
 * (nick_clash said NICK_LOOKALIKE; NULL: no session's here), or like
 * the nick of a user on another machine, without being that nick (UTS
 * #39 skeletons, docs/protocol.md): error nick_confusable and an
 * event.  Returns 1 when refused.
 */
static int
nick_looks_taken(struct hub *h, struct peer *p, const char *nick,
    const struct nick_id *nid, const struct peer *o)
{
	const struct member *mem = h->members == NULL ? NULL :
	    members_confusable(h->members, nid);
	const struct ruser *u = o == NULL ? remote_lookalike(h, nid) : NULL;
	char why[SB_REASON_MAX + 1];

	if (mem == NULL && o == NULL && u == NULL)
		return 0;
	snprintf(why, sizeof(why), "nick looks like %s's nick %s",
	    mem != NULL ? "member" : o != NULL ? "session" : "a user of "
	    "another machine", mem != NULL ? mem->nick : o != NULL ?
	    o->nick : u->nick);
	hub_log_peer(SB_EV_LOGIN_FAILED, p, &(struct sb_log_fields){
	    .nick = nick, .reason = why }, "nick refused: %s", why);
	send_error(h, p, "nick_confusable", mem != NULL ? "Nick looks like a "
	    "member's nick." : "Nick looks like one already in use.");
	return 1;
}

/*
 * The last steps of an IDENTIFY, once the nick is known to be the
 * client's to ask for (a guest nick, or a member's after the password):
 * the nick rules, bans, nicks and ids in use.  `id` is the member id, 0
 * for a guest.
 */
static int
identify_finish(struct hub *h, struct peer *p, const char *nick,
    unsigned long id, uint64_t alias)
{
	enum nick_clash clash;
	const char *why;
	struct nick_id nid;
	struct peer *o;
	char idbuf[24];

	if (nick_identify(nick, &nid, &why) < 0)
		return login_failed(h, p, NULL, "nick_invalid", why, why);
	if (nick_banned(h, p, nick))
		return 0;
	if ((clash = nick_clash(h, p, &nid, &o)) == NICK_TAKEN ||
	    remote_find_key(h, nid.key) != NULL)
		return login_failed(h, p, nick, "nick_taken",
		    "Nick is already in use.", clash == NICK_TAKEN ?
		    "nick in use" : "nick in use on another machine");
	if (nick_looks_taken(h, p, nick, &nid, clash == NICK_LOOKALIKE ? o :
	    NULL))
		return 0;
	if (hub_find_alias(h, alias) != NULL)
		return login_failed(h, p, nick, "id_taken", "This id is "
		    "already in use by another session.", "id in use");
	p->alias = alias;
	idbuf[0] = '\0';
	if (id != 0)
		snprintf(idbuf, sizeof(idbuf), "%lu", id);
	if (h->ops->nick_claim != NULL &&
	    h->ops->nick_claim(h, p, nid.key) == 1) {
		/* The cluster decides; what the session sends waits. */
		strlcpy(p->claiming, nick, sizeof(p->claiming));
		strlcpy(p->claim_id, idbuf, sizeof(p->claim_id));
		p->checking = 1;
		return 0;
	}
	return identify_as(h, p, nick, &nid, id != 0 ? idbuf : NULL);
}

/*
 * The cluster's answer to the claim of the nick `session` asked for
 * (identify_finish): held, it is identified, unless a session here or
 * elsewhere took the nick, or one like it, meanwhile; taken: nick_taken;
 * refused (Redis answered with an error): busy.  Returns the session, no
 * longer waiting, or NULL (gone meanwhile).
 */
struct peer *
nick_claimed(struct hub *h, uint64_t session, enum claim_answer a)
{
	enum nick_clash clash = NICK_FREE;
	struct nick_id nid;
	const char *why;
	struct peer *p, *o;

	if ((p = hub_find_session(h, session)) == NULL || p->dead ||
	    !p->checking || p->claiming[0] == '\0')
		return NULL;
	p->checking = 0;
	if (a == CLAIM_REFUSED)
		login_failed(h, p, p->claiming, "busy", "The server cannot "
		    "check the nick with the other machines now; try again "
		    "later.", "Redis refused the nick claim");
	else if (a == CLAIM_TAKEN || nick_identify(p->claiming, &nid, &why) < 0 ||
	    (clash = nick_clash(h, p, &nid, &o)) == NICK_TAKEN ||
	    remote_find_key(h, nid.key) != NULL)
		login_failed(h, p, p->claiming, "nick_taken",
		    "Nick is already in use.", "nick in use on another "
		    "machine");
	else if (!nick_looks_taken(h, p, p->claiming, &nid,
	    clash == NICK_LOOKALIKE ? o : NULL))
		identify_as(h, p, p->claiming, &nid, p->claim_id[0] ?
		    p->claim_id : NULL);
	p->claiming[0] = '\0';
	return p;
}

/*
 * Refuse a password attempt on a nick or from an address that failed
 * too often lately (throttle.c): login_throttled, with the seconds to
 * wait.  Returns 1 when refused.
 */
static int
login_throttled(struct hub *h, struct peer *p, const char *login,
    const char *nick_key, const char *addr_key)
{
	uint64_t now = h->ops->now_usec(h);
	unsigned wn, wa, w;
	char text[SB_REASON_MAX + 1], why[64];

	wn = throttle_wait(h->fail_nicks, nick_key, now);
	wa = throttle_wait(h->fail_addrs, addr_key, now);
	if (wn == 0 && wa == 0)
		return 0;
	w = wn > wa ? wn : wa;
	snprintf(why, sizeof(why), "throttled (%s, %u s)",
	    wn >= wa ? "nick" : "address", w);
	snprintf(text, sizeof(text), "Too many failed logins %s; try again "
	    "in %u second%s.", wn >= wa ? "for this nick" :
	    "from your address", w, w == 1 ? "" : "s");
	login_failed(h, p, login, "login_throttled", text, why);
	return 1;
}

/* The slot of the check for `session`, or NULL. */
static struct login_check *
check_find(struct hub *h, uint64_t session)
{
	unsigned i;

	for (i = 0; i < HUB_CHECKS_MAX; i++)
		if (h->checks[i].session == session)
			return &h->checks[i];
	return NULL;
}

/*
 * A member login: look the member up, refuse a throttled nick or
 * address, then have the password checked (ops->check_password, away
 * from the event loop), the session's later messages held until the
 * answer (hub_password_checked).  Every login runs crypt once, an
 * unknown one against a dummy hash, so the time taken does not say who
 * is a member.
 */
static int
identify_member(struct hub *h, struct peer *p, const char *login,
    const char *pass, uint64_t alias)
{
	const struct member *mem;
	struct login_check *c;
	char addr_key[THROTTLE_KEY_MAX + 1];
	uint64_t now = h->ops->now_usec(h);
	int r;

	if (h->members == NULL)
		return login_failed(h, p, login, "login_failed",
		    "Wrong nick or password.", "no member store");
	mem = members_lookup(h->members, login);
	throttle_remote_key(addr_key, sizeof(addr_key), p->remote);
	if (login_throttled(h, p, login, mem ? mem->key : "", addr_key))
		return 0;
	if (h->fail_nicks == NULL || h->fail_addrs == NULL ||
	    (c = check_find(h, 0)) == NULL)
		return login_failed(h, p, login, "login_busy", "The server is "
		    "busy checking passwords; try again in a moment.",
		    "password checks full");
	*c = (struct login_check){ .session = p->session,
	    .member = mem ? mem->id : 0, .alias = alias };
	strlcpy(c->login, login, sizeof(c->login));
	strlcpy(c->nick_key, mem ? mem->key : "", sizeof(c->nick_key));
	strlcpy(c->addr_key, addr_key, sizeof(c->addr_key));
	h->nchecks++;
	throttle_begin(h->fail_nicks, c->nick_key, now);
	throttle_begin(h->fail_addrs, c->addr_key, now);
	p->checking = 1;
	if (h->ops->check_password == NULL) {
		/* Answered in place: nothing can have waited meanwhile. */
		login_checked(h, p->session, members_verify(pass,
		    mem ? mem->hash : h->members->dummy));
		return 0;
	}
	if ((r = h->ops->check_password(h, p->session, mem ? mem->hash :
	    h->members->dummy, pass)) < 0) {
		/* Not an attempt after all: undo it. */
		throttle_end(h->fail_nicks, c->nick_key, now, 0);
		throttle_end(h->fail_addrs, c->addr_key, now, 0);
		*c = (struct login_check){ 0 };
		h->nchecks--;
		p->checking = 0;
		return login_failed(h, p, login, "login_busy", "The server is "
		    "busy checking passwords; try again in a moment.",
		    strerror(-r));
	}
	return 0;
}

/* Count a failed attempt; log when it makes a key wait. */
static void
login_count(struct hub *h, struct peer *p, const struct login_check *c,
    int failed)
{
	uint64_t now = h->ops->now_usec(h);
	char why[96];
	unsigned w;

	if ((w = throttle_end(h->fail_nicks, c->nick_key, now, failed)) > 0) {
		snprintf(why, sizeof(why), "nick throttled for %u s", w);
		sb_log_event(SB_EV_LOGIN_THROTTLED, &(struct sb_log_fields){
		    .nick = c->nick_key, .remote = p ? p->remote : NULL,
		    .reason = why }, "failed logins as %s: the next attempt "
		    "waits %u s", c->nick_key, w);
	}
	if ((w = throttle_end(h->fail_addrs, c->addr_key, now, failed)) > 0) {
		snprintf(why, sizeof(why), "address throttled for %u s", w);
		sb_log_event(SB_EV_LOGIN_THROTTLED, &(struct sb_log_fields){
		    .nick = c->login, .remote = c->addr_key, .reason = why },
		    "failed logins from %s: the next attempt waits %u s",
		    c->addr_key, w);
	}
}

/*
 * The answer to the password check of `session`: `match` is 1 when the
 * password was right.  The session may have ended meanwhile (its slot
 * only counts the attempt then), and the member store may have been
 * reloaded: the member is looked up again by id, so one removed or
 * disabled during the check does not get in.  Returns the session, no
 * longer checking, whose messages held meanwhile may now go on
 * (hub_password_checked), or NULL.
 */
struct peer *
login_checked(struct hub *h, uint64_t session, int match)
{
	struct login_check c, *slot;
	const struct member *mem = NULL;
	enum member_result res;
	unsigned long id = 0;
	struct peer *p;

	assert(h != NULL);
	if (session == 0 || (slot = check_find(h, session)) == NULL)
		return NULL;
	c = *slot;
	*slot = (struct login_check){ 0 };
	h->nchecks--;
	if ((p = hub_find_session(h, session)) != NULL && p->dead)
		p = NULL;
	if (c.member != 0 && h->members != NULL)
		mem = members_find_id(h->members, c.member);
	res = members_result(c.member != 0 ? mem : NULL, match, &id);
	if (c.member != 0 && mem == NULL && match)
		res = MEMBER_UNKNOWN;	/* removed during the check */
	/* A right password of a disabled member is no guess. */
	login_count(h, p, &c, res != MEMBER_OK && res != MEMBER_DISABLED);
	if (p == NULL)
		return NULL;
	p->checking = 0;
	switch (res) {
	case MEMBER_OK:
		identify_finish(h, p, mem->nick, id, c.alias);
		break;
	case MEMBER_DISABLED:
		login_failed(h, p, c.login, "login_disabled",
		    "This member is disabled.", "member disabled");
		break;
	default:
		login_failed(h, p, c.login, "login_failed",
		    "Wrong nick or password.", c.member != 0 && mem == NULL ?
		    "member vanished" : "wrong nick or password");
		break;
	}
	return p;
}

/* Is this IDENTIFY a member login (a password to check)? */
static int
identify_is_member(const struct hub *h, const struct sb_msg *m)
{
	return h->cfg.auth == AUTH_MEMBERS ||
	    (h->cfg.auth == AUTH_BOTH && m->field[1][0] != '\0');
}

/*
 * IDENTIFY's check: refuse a second IDENTIFY and a bad alias (a->num
 * gets the alias, 0 for none).  A member login goes on metered: each
 * costs a crypt(3); a guest login costs nothing (CMD_GO_FREE).
 */
int
cmd_identify_check(struct hub *h, struct peer *p, const struct sb_msg *m,
    struct cmd_args *a)
{
	if (p->nick[0] != '\0') {
		send_error(h, p, "already_identified", "Already identified.");
		return CMD_DONE;
	}
	if (m->flen[2] > 0 && sb_field_num(m, 2, 1, INT64_MAX, &a->num) < 0) {
		send_error(h, p, "bad_id", "The id must be a positive number.");
		return CMD_DONE;
	}
	return identify_is_member(h, m) ? CMD_GO : CMD_GO_FREE;
}

/*
 * IDENTIFY nick password [alias].  With auth = guest any free nick is
 * taken; with members the password is checked against the member store
 * (crypt(3) in a worker, identify_member); with both, an empty password
 * asks for a guest nick, and members' nicks are reserved.
 */
int
cmd_identify(struct hub *h, struct peer *p, const struct sb_msg *m,
    struct cmd_args *a)
{
	const char *nick = m->field[0], *pass = m->field[1];

	if (identify_is_member(h, m))
		return identify_member(h, p, nick, pass, (uint64_t)a->num);
	if (nick_reserved(h, nick))
		return login_failed(h, p, nick, "nick_reserved", "This nick "
		    "belongs to a member; give its password.", "nick reserved");
	return identify_finish(h, p, nick, 0, (uint64_t)a->num);
}

/*
 * NICK's check: the nick rules, a guest's nick only, no member's nick,
 * no nick in use or looking like one, no banned nick.  a->nid gets the
 * new nick's comparison key and skeletons.
 */
int
cmd_nick_check(struct hub *h, struct peer *p, const struct sb_msg *m,
    struct cmd_args *a)
{
	enum nick_clash clash;
	const char *why;
	struct peer *o;

	if (nick_identify(m->field[0], &a->nid, &why) < 0) {
		send_error(h, p, "nick_invalid", why);
		return CMD_DONE;
	}
	if (h->cfg.auth == AUTH_MEMBERS) {
		send_error(h, p, "nick_fixed", "Members keep their member "
		    "nick.");
		return CMD_DONE;
	}
	if (nick_reserved(h, m->field[0])) {
		send_error(h, p, "nick_reserved", "This nick belongs to a "
		    "member.");
		return CMD_DONE;
	}
	if ((clash = nick_clash(h, p, &a->nid, &o)) == NICK_TAKEN ||
	    remote_find_key(h, a->nid.key) != NULL) {
		send_error(h, p, "nick_taken", "Nick is already in use.");
		return CMD_DONE;
	}
	if (nick_looks_taken(h, p, m->field[0], &a->nid,
	    clash == NICK_LOOKALIKE ? o : NULL) ||
	    nick_banned(h, p, m->field[0]))
		return CMD_DONE;
	return CMD_GO;
}

/* NICK new: change the sender's nick and tell everyone who sees it. */
int
cmd_nick(struct hub *h, struct peer *p, const struct sb_msg *m,
    struct cmd_args *a)
{
	char old[SB_NICK_MAX + 1];

	strlcpy(old, p->nick, sizeof(old));
	nick_claim(h, p, m->field[0], &a->nid);
	presence_tell(h, p, 1, SB_C_NICKCHANGE, old, p->nick);
	if (h->ops->user_event != NULL)
		h->ops->user_event(h, p, REMOTE_NICK, old, NULL);
	hub_log_peer(SB_EV_NICK, p, &(struct sb_log_fields){ .reason = old },
	    "%s is now known as %s", old, p->nick);
	return 0;
}
