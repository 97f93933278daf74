/* SPDX-License-Identifier: ISC */
/*
 * Sending to handlers: every datagram the rules send is packed here
 * (hub_send: the fields, the epoch, the session's next sequence number)
 * and handed to hub->ops->send, so the rules never touch a socket.  What
 * goes to many (a room message, an announcement, a presence notice) is
 * packed once (hub_pack) and only addressed and stamped per recipient
 * (hub_send_packet).  Also
 * the client errors (send_error) and the lists sent in chunks of as many
 * words as one datagram holds (the chunker: LIST, NAMES, ROOMS).
 */
#include <assert.h>
#include <errno.h>
#include <stdarg.h>
#include <string.h>

#include "hub.h"

/*
 * Pack a datagram for many recipients from a NULL-terminated list of
 * fields, once: hub_send_packet() then addresses and stamps it for each.
 * `about` (may be NULL) is the session whose action it tells, for the
 * log.  Returns 0, or the packer's negative errno, logged here: our own
 * message that does not fit the contract is a bug, and no caller could
 * do better than drop it.
 */
static int
hub_vpack(struct hub *h, const struct peer *about, struct sb_packet *pkt,
    enum sb_type type, va_list ap)
{
	int r;

	h->packed++;
	if ((r = sb_msg_vpack(pkt, type, 0, ap)) == 0)
		return 0;
	if (about != NULL)
		hub_log_peer(SB_EV_HUB_ERROR, about, NULL, "cannot encode %s: "
		    "%s", sb_type_name(type), strerror(-r));
	else
		sb_log_event(SB_EV_HUB_ERROR, NULL, "cannot encode %s: %s",
		    sb_type_name(type), strerror(-r));
	return r;
}

/* hub_vpack() with the fields as arguments, then NULL. */
int
hub_pack(struct hub *h, const struct peer *about, struct sb_packet *pkt,
    enum sb_type type, ...)
{
	va_list ap;
	int r;

	assert(h != NULL && pkt != NULL);
	va_start(ap, type);
	r = hub_vpack(h, about, pkt, type, ap);
	va_end(ap);
	return r;
}

/*
 * Address a packed datagram to `p`, stamp it with the epoch and the
 * peer's next sequence number, and hand it to ops->send.  `pkt` may be
 * sent again to the next recipient: only its header changes.  Dead peers
 * get nothing.  Returns 0 or a negative errno.
 */
int
hub_send_packet(struct hub *h, struct peer *p, struct sb_packet *pkt)
{
	assert(h != NULL && p != NULL && pkt != NULL);
	if (p->dead || p->write_broken)
		return -EPIPE;
	sb_packet_address(pkt, p->session);
	sb_packet_stamp(pkt, h->epoch, ++p->seq);
	return h->ops->send(h, p, pkt);
}

/*
 * Pack a datagram for `p` from a NULL-terminated list of fields (with
 * common/proto.c's packer, which never cuts it short) and send it
 * (hub_send_packet()).  Dead peers get nothing, and cost no encoding.
 * Returns 0 or a negative errno.
 */
int
hub_send(struct hub *h, struct peer *p, enum sb_type type, ...)
{
	struct sb_packet pkt;
	va_list ap;
	int r;

	assert(h != NULL && p != NULL);
	if (p->dead || p->write_broken)
		return -EPIPE;
	va_start(ap, type);
	r = hub_vpack(h, p, &pkt, type, ap);
	va_end(ap);
	if (r < 0)
		return r;
	return hub_send_packet(h, p, &pkt);
}

/*
 * An error for the client.  Returns 0: whether it could be sent is the
 * I/O side's business (a handler that stopped reading is cut off there),
 * never a reason to treat the handler as broken.
 */
int
send_error(struct hub *h, struct peer *p, const char *code, const char *text)
{
	hub_send(h, p, SB_C_ERROR, code, text, NULL);
	return 0;
}

/*
 * Append `word` to the space-separated list in list[size], *len bytes
 * long.  Returns 0, or -ENOBUFS when it does not fit (the list is then
 * as it was).
 */
int
list_add(char *list, size_t size, size_t *len, const char *word)
{
	size_t wl = strlen(word);

	if (*len + wl + 2 > size)
		return -ENOBUFS;
	if (*len > 0)
		list[(*len)++] = ' ';
	memcpy(list + *len, word, wl + 1);
	*len += wl;
	return 0;
}

/*
 * Send the words gathered in `c` as one datagram, "more" = 1 unless
 * `last`, and start an empty chunk.  The last chunk goes even when it
 * is empty: it tells the client the list is complete.
 */
void
chunk_flush(struct chunker *c, int last)
{
	if (c->type == SB_C_NICKLIST)
		hub_send(c->h, c->p, c->type, last ? "0" : "1", c->buf,
		    c->room, NULL);
	else
		hub_send(c->h, c->p, c->type, last ? "0" : "1", c->buf, NULL);
	c->len = 0;
	c->buf[0] = '\0';
}

/* Add `word` to the list, sending the chunk first when it is full. */
void
chunk_add(struct chunker *c, const char *word)
{
	if (list_add(c->buf, sizeof(c->buf), &c->len, word) < 0) {
		chunk_flush(c, 0);
		list_add(c->buf, sizeof(c->buf), &c->len, word);
	}
}
