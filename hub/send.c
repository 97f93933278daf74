/* SPDX-License-Identifier: ISC */
/*
 * Sending to handlers: every datagram the rules send is packed here
 * (hub_send: the fields, the epoch, the session's next sequence number)
 * and handed to hub->ops->send, so the rules never touch a socket.  Also
 * the client errors (send_error) and the lists sent in chunks of as many
 * words as one datagram holds (the chunker: LIST, NAMES, ROOMS).
 */
#include <assert.h>
#include <errno.h>
#include <stdarg.h>
#include <string.h>

#include "hub.h"

/*
 * Pack a datagram for `p` from a NULL-terminated list of fields (with
 * common/proto.c's packer, which never cuts it short), stamp it with the
 * epoch and the peer's next sequence number, and hand it to ops->send.  Dead peers get nothing.  Returns 0 or a negative errno.
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
	r = sb_msg_vpack(&pkt, type, p->session, ap);
	va_end(ap);
	if (r < 0) {
		/*
		 * Our own message does not fit the contract: a bug.  Logged
		 * here, once: no caller could do better than drop it.
		 */
		hub_log_peer(SB_EV_HUB_ERROR, p, NULL,
		    "cannot encode %s: %s", sb_type_name(type), strerror(-r));
		return r;
	}
	sb_packet_stamp(&pkt, h->epoch, ++p->seq);
	return h->ops->send(h, p, &pkt);
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
