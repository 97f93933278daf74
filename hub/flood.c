/* SPDX-License-Identifier: ISC */
/*
 * Flood control: a token bucket per session.  Which commands cost a
 * token is said in one place, the command table (hub_cmds, dispatch.c),
 * and charged in one place, cmd_run(); this file is the bucket.  The
 * clock is hub->ops->now_usec, so the unit tests move it by hand.
 */
#include "hub.h"

/*
 * Flood control: a token bucket per session, flood_rate tokens per ten
 * seconds up to flood_burst.  Returns 1 when the message may pass; else
 * sends an error, and after flood_kick refusals in a row disconnects.
 */
int
flood_ok(struct hub *h, struct peer *p)
{
	uint64_t now = h->ops->now_usec(h);
	double rate = h->cfg.flood_rate / 10e6;	/* tokens per usec */

	p->tokens += (double)(now - p->tokens_at) * rate;
	if (p->tokens > h->cfg.flood_burst)
		p->tokens = h->cfg.flood_burst;
	p->tokens_at = now;
	if (p->tokens >= 1.0) {
		p->tokens -= 1.0;
		p->refusals = 0;
		return 1;
	}
	if (++p->refusals >= h->cfg.flood_kick) {
		hub_log_peer(SB_EV_FLOOD, p, &(struct sb_log_fields){
		    .reason = "flooding" }, "%s disconnected for flooding",
		    p->nick[0] ? p->nick : "session");
		hub_peer_kill(h, p, "flood", "Disconnected for flooding");
	} else {
		if (p->refusals == 1)
			hub_log_peer(SB_EV_FLOOD, p, NULL, "%s is flooding",
			    p->nick[0] ? p->nick : "session");
		send_error(h, p, "flood", "You are sending too fast; "
		    "message dropped");
	}
	return 0;
}
