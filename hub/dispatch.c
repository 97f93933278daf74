/* SPDX-License-Identifier: ISC */
/*
 * The dispatch: every message from a handler comes in at hub_dispatch(),
 * which runs it as its row in the command table (hub_cmds, below) says:
 * whether the sender must be identified, what its command checks for
 * free, whether it costs a flood token, and whether it may wait.  A
 * message waits behind its sender's password check (wait_message,
 * released by hub_password_checked) and, after a restart, while the
 * sessions resume (hold_message, released by hub_hold_release); both
 * release paths come back through hub_dispatch(), so they are here.
 *
 * Like every file of the hub's rules (hub.h), no I/O: datagrams leave
 * through hub->ops->send, time comes from hub->ops->now_usec.
 */
#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "hub.h"

/*
 * Keep a copy of `m` from `p` for hub_hold_release().  Returns 0, or a
 * negative errno when it cannot be kept (-ENOBUFS: HUB_HOLD_MAX bytes
 * held already); the caller then releases the hold and routes it now.
 */
static int
hold_message(struct hub *h, struct peer *p, const struct sb_msg *m)
{
	struct sb_packet pkt;
	struct held *x;
	int r;

	if (h->held_bytes >= HUB_HOLD_MAX)
		return -ENOBUFS;
	if ((r = sb_msg_encode(&pkt, m->type, p->session, 0, 0, m->field,
	    m->nfields)) < 0)
		return r;
	if ((x = malloc(sizeof(*x) + pkt.len)) == NULL)
		return -ENOMEM;
	x->session = p->session;
	x->len = pkt.len;
	memcpy(x->buf, pkt.buf, pkt.len);
	TAILQ_INSERT_TAIL(&h->held, x, entry);
	h->held_bytes += pkt.len;
	return 0;
}

/*
 * Keep `m` until the password check of `p` is answered, so that what a
 * client sends after its IDENTIFY is handled after it, in order.  Past
 * HUB_WAITING_MAX bytes the session is flooding: it is ended.  Returns
 * 0, or a negative errno (as hub_dispatch).
 */
static int
wait_message(struct hub *h, struct peer *p, const struct sb_msg *m)
{
	struct sb_packet pkt;
	struct pkt *k;

	if (sb_msg_encode(&pkt, m->type, p->session, 0, 0, m->field,
	    m->nfields) < 0)
		return -EPROTO;
	if (p->waiting_bytes + pkt.len > HUB_WAITING_MAX) {
		hub_log_peer(SB_EV_FLOOD, p, &(struct sb_log_fields){
		    .reason = "flooding" }, "session %llu sent too much while "
		    "its password was checked", (unsigned long long)p->session);
		hub_peer_kill(h, p, "flood", "Disconnected for flooding");
		return 0;
	}
	if ((k = malloc(sizeof(*k) + pkt.len)) == NULL)
		return -ENOMEM;
	k->len = pkt.len;
	memcpy(k->buf, pkt.buf, pkt.len);
	TAILQ_INSERT_TAIL(&p->waiting, k, entry);
	p->waiting_bytes += pkt.len;
	return 0;
}

/*
 * Stop holding: route every held message, in the order it arrived (a
 * message whose sender is gone meanwhile is dropped).  The hold timer
 * (ops->arm) calls it, and hub_dispatch() when a hold is over or full.
 */
void
hub_hold_release(struct hub *h)
{
	struct held *x;
	struct sb_msg m;
	struct peer *p;

	h->hold_until = 0;
	while ((x = TAILQ_FIRST(&h->held)) != NULL) {
		TAILQ_REMOVE(&h->held, x, entry);
		h->held_bytes -= x->len;
		p = hub_find_session(h, x->session);
		if (p != NULL && !p->dead &&
		    sb_msg_decode(&m, x->buf, x->len) == 0 &&
		    hub_dispatch(h, p, &m) < 0)
			hub_peer_kill(h, p, "protocol_error", "Internal error");
		free(x);
	}
}

/* Dispatch what `p` sent while its password was being checked. */
static void
waiting_release(struct hub *h, struct peer *p)
{
	struct pkt *k;
	struct sb_msg m;

	while (!p->checking && !p->dead &&
	    (k = TAILQ_FIRST(&p->waiting)) != NULL) {
		TAILQ_REMOVE(&p->waiting, k, entry);
		p->waiting_bytes -= k->len;
		if (sb_msg_decode(&m, k->buf, k->len) < 0 ||
		    hub_dispatch(h, p, &m) < 0)
			hub_peer_kill(h, p, "protocol_error", "Internal error");
		free(k);
	}
}

/*
 * The password workers' answer for `session` (`match`: 1 when the
 * password was right): the login goes on (login_checked, identity.c),
 * then the messages its session sent meanwhile, in order.
 */
void
hub_password_checked(struct hub *h, uint64_t session, int match)
{
	struct peer *p;

	assert(h != NULL);
	if ((p = login_checked(h, session, match)) != NULL)
		waiting_release(h, p);
}

/*
 * The cluster's answer to the nick claim of `session`: the IDENTIFY ends
 * (nick_claimed), then what waited meanwhile.
 */
void
hub_nick_claimed(struct hub *h, uint64_t session, enum claim_answer a)
{
	struct peer *p;

	assert(h != NULL);
	if ((p = nick_claimed(h, session, a)) != NULL)
		waiting_release(h, p);
}

/*
 * The command table: one row per message a handler may send, indexed by
 * its type (common/proto.h), in the manner of Redis's command table.
 * This is the one place that says what each command needs and what it
 * costs; hub_dispatch() reads its policy from here and nowhere else.
 *
 *   check	NULL, or what must hold before the command costs anything:
 *		answers the client itself (an error) and returns CMD_DONE,
 *		or CMD_GO / CMD_GO_FREE, or a negative errno.  What it
 *		found goes to run in struct cmd_args.
 *   run	the command.  Returns 0, or a negative errno when the
 *		handler broke the contract (the caller ends the handler).
 *   flags	CMD_FIRST	may come before HELLO (HELLO; STATUS, which
 *				a health check sends alone: /healthz)
 *		CMD_IDENTIFIED	the sender must be identified, else the
 *				error not_identified (free)
 *		CMD_METERED	costs one flood token once past its check
 *				(flood_ok: the command is dropped when the
 *				bucket is empty).  The metered commands are
 *				those that cost others or the hub something:
 *				messages, actions, nick changes, JOIN, PART,
 *				the lists, and member logins (a crypt(3)
 *				each; IDENTIFY's check lets guests through
 *				free with CMD_GO_FREE).
 *		CMD_UNHELD	never held while sessions resume after a
 *				restart (hub_hold_release)
 *		CMD_NOWAIT	never waits behind the sender's password
 *				check (wait_message)
 *		CMD_ROUTES	routes a chat message to others: its run is
 *				timed for the routing-time histogram
 *
 * The per-command counters (calls, flood refusals: struct hub_metrics)
 * sit beside this table, indexed the same way, counted in cmd_run(), the
 * one place every command passes with its row.
 */
static const struct hub_cmd hub_cmds[SB_TYPE_COUNT] = {
/*	 type			  check			run		flags */
	[SB_H_HELLO] =		{ NULL,			cmd_hello,
				  CMD_FIRST | CMD_UNHELD },
	[SB_H_EVENT] =		{ NULL,			cmd_event,
				  CMD_UNHELD | CMD_NOWAIT },
	[SB_H_STATUS] =		{ NULL,			cmd_status,
				  CMD_FIRST | CMD_UNHELD | CMD_NOWAIT },
	[SB_H_RESUME] =		{ NULL,			cmd_resume,
				  CMD_UNHELD },
	[SB_H_IDENTIFY] =	{ cmd_identify_check,	cmd_identify,
				  CMD_METERED },
	[SB_H_NICK] =		{ cmd_nick_check,	cmd_nick,
				  CMD_IDENTIFIED | CMD_METERED },
	[SB_H_PRIVMSG] =	{ NULL,			cmd_privmsg,
				  CMD_IDENTIFIED | CMD_METERED | CMD_ROUTES },
	[SB_H_PRIVMSG_ALIAS] =	{ cmd_privmsg_alias_check, cmd_privmsg_alias,
				  CMD_IDENTIFIED | CMD_METERED | CMD_ROUTES },
	[SB_H_ROOMMSG] =	{ cmd_roommsg_check,	cmd_roommsg,
				  CMD_IDENTIFIED | CMD_METERED | CMD_ROUTES },
	[SB_H_ACTION] =		{ cmd_action_check,	cmd_action,
				  CMD_IDENTIFIED | CMD_METERED | CMD_ROUTES },
	[SB_H_JOIN] =		{ NULL,			cmd_join,
				  CMD_IDENTIFIED | CMD_METERED },
	[SB_H_PART] =		{ NULL,			cmd_part,
				  CMD_IDENTIFIED | CMD_METERED },
	[SB_H_LIST] =		{ NULL,			cmd_list,
				  CMD_METERED },
	[SB_H_ROOMS] =		{ NULL,			cmd_rooms,
				  CMD_METERED },
	[SB_H_NAMES] =		{ NULL,			cmd_names,
				  CMD_METERED },
	[SB_H_PING] =		{ NULL,			cmd_ping,	0 },
	[SB_H_QUIT] =		{ NULL,			cmd_quit,	0 },
	[SB_H_DIALECT] =	{ NULL,			cmd_dialect,
				  CMD_UNHELD | CMD_NOWAIT },
};

/*
 * The command table itself, SB_TYPE_COUNT rows (a row without `run` is
 * not a command), for what describes it (hub_metrics_view).
 */
const struct hub_cmd *
hub_cmd_table(void)
{
	return hub_cmds;
}

/* The row of message type `type`, or NULL: not a command (a C_* type). */
static const struct hub_cmd *
cmd_find(unsigned type)
{
	if (type >= SB_TYPE_COUNT || hub_cmds[type].run == NULL)
		return NULL;
	return &hub_cmds[type];
}

/*
 * Run command `c` for `p` as its row says: identified or not_identified,
 * the check, one flood token, then the command; counted (the metrics),
 * and a message's routing timed.  Returns as c->run.
 */
static int
cmd_run(struct hub *h, struct peer *p, const struct sb_msg *m,
    const struct hub_cmd *c)
{
	struct cmd_args a = { .table = hub_cmds };
	uint64_t start;
	int v = CMD_GO, r;

	h->metrics.commands[m->type]++;
	if ((c->flags & CMD_IDENTIFIED) && p->nick[0] == '\0')
		return send_error(h, p, "not_identified", "Not identified.");
	if (c->check != NULL && (v = c->check(h, p, m, &a)) <= CMD_DONE)
		return v < 0 ? v : 0;
	if ((c->flags & CMD_METERED) && v != CMD_GO_FREE && !flood_ok(h, p)) {
		h->metrics.flood_refusals[m->type]++;
		return 0;
	}
	if (!(c->flags & CMD_ROUTES))
		return c->run(h, p, m, &a);
	start = h->ops->now_usec(h);
	r = c->run(h, p, m, &a);
	metrics_routed_in(h, h->ops->now_usec(h) - start);
	return r;
}

/*
 * Act on one message from a handler.  Returns 0, or a negative errno when
 * the handler broke the contract (the caller closes it).  Before its
 * command runs, a message may wait: behind its sender's password check
 * (wait_message), or while sessions resume after a restart
 * (hold_message); the rows' CMD_NOWAIT and CMD_UNHELD exempt it.
 */
int
hub_dispatch(struct hub *h, struct peer *p, const struct sb_msg *m)
{
	const struct hub_cmd *c;
	unsigned flags;

	assert(h != NULL && p != NULL && m != NULL);
	c = cmd_find(m->type);
	flags = c != NULL ? c->flags : 0;
	if (p->dead)
		return 0;
	if (!(flags & CMD_FIRST) && !p->hello)
		return -EPROTO;
	if (p->checking && !(flags & CMD_NOWAIT))
		return wait_message(h, p, m);
	if (h->hold_until != 0 && !(flags & CMD_UNHELD)) {
		if (h->ops->now_usec(h) < h->hold_until &&
		    hold_message(h, p, m) == 0)
			return 0;
		hub_hold_release(h);
	}
	if (c == NULL)		/* a C_* type from a handler */
		return -EPROTO;
	return cmd_run(h, p, m, c);
}
