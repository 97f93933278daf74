/* SPDX-License-Identifier: ISC */
/*
 * Sending to handlers: every datagram the rules send is packed here
 * (hub_send: the fields, the epoch, the session's next sequence number)
 * and handed to hub->ops->send, so the rules never touch a socket.  What
 * goes to many (a room message, an announcement, a presence notice) is
 * packed once (hub_pack) and only addressed and stamped per recipient
 * (hub_send_packet).  What waits for a handler that is behind is
 * coalesced into C_BATCH datagrams (hub_queue), the slow-reader limit
 * applied.  Also
 * the client errors (send_error) and the lists sent in chunks of as many
 * words as one datagram holds (the chunker: LIST, NAMES, ROOMS).
 */
#include <assert.h>
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
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

/* Is the queued datagram `k` a C_BATCH (allocated SB_MSG_MAX long)? */
static int
pkt_is_batch(const struct pkt *k)
{
	struct sb_hdr hdr;

	memcpy(&hdr, k->buf, sizeof(hdr));
	return hdr.type == SB_C_BATCH;
}

/*
 * A buffer for a C_BATCH (SB_MSG_MAX long): the one freed last, or a
 * new one.  Each handler that is behind takes one per batch, and gives
 * it back as soon as its handler has read it (hub_pkt_free()); taken
 * from malloc every time, they were the hub's first cost at N = 1000
 * (perf: _int_malloc 31 % of its samples, bench/analysis.md, 16th
 * session).  NULL when there is no memory.
 */
static struct pkt *
spare_take(struct hub *h)
{
	struct pkt *b;

	if ((b = TAILQ_FIRST(&h->spare)) == NULL)
		return malloc(sizeof(*b) + SB_MSG_MAX);
	TAILQ_REMOVE(&h->spare, b, entry);
	h->nspare--;
	return b;
}

/*
 * Free a datagram that left a queue: a C_BATCH's buffer is kept for the
 * next one (spare_take()), HUB_SPARE_MAX of them at most (4 MiB), the
 * rest given back to malloc.
 */
void
hub_pkt_free(struct hub *h, struct pkt *k)
{
	if (h->nspare >= HUB_SPARE_MAX || !pkt_is_batch(k)) {
		free(k);
		return;
	}
	TAILQ_INSERT_HEAD(&h->spare, k, entry);
	h->nspare++;
}

/* Give every datagram of `q` back to malloc; `q` is left empty. */
void
pktq_free(struct pktq *q)
{
	struct pkt *k;

	while ((k = TAILQ_FIRST(q)) != NULL) {
		TAILQ_REMOVE(q, k, entry);
		free(k);
	}
}

/* Give the kept C_BATCH buffers back to malloc (hub_free()). */
void
hub_spare_free(struct hub *h)
{
	pktq_free(&h->spare);
	h->nspare = 0;
}

/*
 * The last queued datagram of `p` as a C_BATCH that can take `more`
 * bytes, made from it when it is a single message; NULL when there is
 * none, it cannot take them, or there is no memory (it then stays).
 */
static struct pkt *
queue_tail_batch(struct hub *h, struct peer *p, size_t more)
{
	struct pkt *k = TAILQ_LAST(&p->outq, pktq), *b;

	if (k == NULL)
		return NULL;
	if (pkt_is_batch(k))
		return k->len + more <= SB_MSG_MAX ? k : NULL;
	if (SB_HDR_SIZE + k->len + more > SB_MSG_MAX ||
	    (b = spare_take(h)) == NULL)
		return NULL;
	b->len = 0;
	if (sb_batch_add(b->buf, &b->len, k->buf, k->len) < 0) {
		free(b);	/* (C_BATCH itself is never queued alone) */
		return NULL;
	}
	TAILQ_INSERT_AFTER(&p->outq, k, b, entry);
	TAILQ_REMOVE(&p->outq, k, entry);
	free(k);
	p->outq_bytes += SB_HDR_SIZE;
	return b;
}

/*
 * Give back the sequence number of `pkt`, the last one stamped for `p`
 * (hub_send_packet()): it was not sent.
 */
static void
queue_unnumber(struct peer *p, const struct sb_packet *pkt)
{
	struct sb_hdr hdr;

	memcpy(&hdr, pkt->buf, sizeof(hdr));
	assert(hdr.seq == p->seq);
	p->seq--;
}

/*
 * Queue `pkt` for `p`, whose handler has not read what was sent before:
 * the I/O side's ops->send calls this when the socket would block, or
 * when something waits already.  What waits is coalesced: `pkt` goes
 * into the last queued C_BATCH, or makes one of the last queued
 * datagram, when the two fit in one datagram (sb_batch_add()), so that
 * a handler that is behind reads many messages with one receive.  Each
 * message keeps its own header, epoch and sequence number, in order;
 * nothing is dropped.  The bytes queued (p->outq_bytes, the batches'
 * headers too) are held to HUB_PEER_QUEUE_MAX: a handler past it is not
 * reading, and is ended with slow_reader (the C_CLOSE passes a full
 * queue, and takes the number of the message refused).  Returns 0, or -ENOBUFS or -ENOMEM when `p` was ended.
 */
int
hub_queue(struct hub *h, struct peer *p, const struct sb_packet *pkt)
{
	struct pkt *k;

	assert(h != NULL && p != NULL && pkt != NULL);
	if (p->outq_bytes + SB_HDR_SIZE + pkt->len > HUB_PEER_QUEUE_MAX &&
	    !p->closing) {
		queue_unnumber(p, pkt);
		return -ENOBUFS;
	}
	if ((k = queue_tail_batch(h, p, pkt->len)) != NULL) {
		(void)sb_batch_add(k->buf, &k->len, pkt->buf, pkt->len);
		p->outq_bytes += pkt->len;
		return 0;
	}
	if ((k = malloc(sizeof(*k) + pkt->len)) == NULL) {
		queue_unnumber(p, pkt);
		return -ENOMEM;
	}
	k->len = pkt->len;
	memcpy(k->buf, pkt->buf, pkt->len);
	TAILQ_INSERT_TAIL(&p->outq, k, entry);
	p->outq_bytes += pkt->len;
	return 0;
}

/*
 * An error for the client.  Returns 0: whether it could be sent is the
 * I/O side's business (a handler that stopped reading is cut off there),
 * never a reason to treat the handler as broken.
 */
int
send_error(struct hub *h, struct peer *p, const char *code, const char *text)
{
	metrics_error(h, code);
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
