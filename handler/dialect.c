/* SPDX-License-Identifier: ISC */
/*
 * The dialect interface (see dialect.h): which dialect a session speaks,
 * and the dispatch of parse and render to dialect_text.c, dialect_xml.c
 * and dialect_json.c.  What those three share is in dialect_util.c, below
 * them: nothing there calls back up here.  The output buffer is
 * common/buf.c's, UTF-8 is common/text.c's.
 */
#include <assert.h>
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bsd/string.h>

#include "dialect.h"

/* The name of dialect `k`, as H_DIALECT tells the hub: text, xml, json. */
const char *
dialect_name(enum dialect_kind k)
{
	switch (k) {
	case DIALECT_TEXT: return "text";
	case DIALECT_XML: return "xml";
	case DIALECT_JSON: return "json";
	}
	return "";
}

/*
 * The dialect of an XMLSocket session, from its first message: XML if it
 * starts with '<' (after blanks), the seed-000 text commands otherwise.
 */
enum dialect_kind
dialect_detect(const char *msg, size_t len)
{
	size_t i = 0;

	assert(msg != NULL || len == 0);
	while (i < len && (msg[i] == ' ' || msg[i] == '\t' || msg[i] == '\r' ||
	    msg[i] == '\n'))
		i++;
	return i < len && msg[i] == '<' ? DIALECT_XML : DIALECT_TEXT;
}

/* A fresh session state; release it with dialect_free(). */
void
dialect_init(struct dialect *d, enum dialect_kind kind)
{
	assert(d != NULL);
	assert(kind == DIALECT_TEXT || kind == DIALECT_XML ||
	    kind == DIALECT_JSON);
	*d = (struct dialect){ .kind = kind };
	buf_init(&d->nicks, DIALECT_LIST_MAX);
	buf_init(&d->rooms, DIALECT_LIST_MAX);
}

void
dialect_free(struct dialect *d)
{
	if (d == NULL)
		return;
	buf_free(&d->nicks);
	buf_free(&d->rooms);
}

/* An error message for the client, in the session's dialect. */
static int
dialect_error(struct dialect *d, struct buf *out, const struct dialect_err *e)
{
	switch (d->kind) {
	case DIALECT_TEXT:
		return dialect_text_error(d, out, e);
	case DIALECT_XML:
		return dialect_xml_error(d, out, e);
	case DIALECT_JSON:
		return dialect_json_error(d, out, e);
	}
	return -EINVAL;
}

/*
 * Translate one complete client message msg[0..len) (terminator
 * stripped; any bytes).  Returns DIALECT_TO_HUB with `pkt` built,
 * DIALECT_REPLY with one error message appended to `reply`,
 * DIALECT_NOTHING, or a negative errno (out of memory, reply over its
 * cap): the caller should end the session.
 */
int
dialect_parse(struct dialect *d, const char *msg, size_t len,
    struct sb_packet *pkt, struct buf *reply)
{
	struct dialect_err e = { .code = "syntax", .identify = 0 };
	size_t mark;
	int r = -EINVAL;

	assert(d != NULL && pkt != NULL && reply != NULL);
	assert(msg != NULL || len == 0);
	switch (d->kind) {
	case DIALECT_TEXT:
		r = dialect_text_parse(d, msg, len, pkt, &e);
		break;
	case DIALECT_XML:
		r = dialect_xml_parse(d, msg, len, pkt, &e);
		break;
	case DIALECT_JSON:
		r = dialect_json_parse(d, msg, len, pkt, &e);
		break;
	}
	if (r != DIALECT_REPLY)
		return r;
	mark = reply->len;
	if ((r = dialect_error(d, reply, &e)) < 0) {
		buf_truncate(reply, mark);
		return r;
	}
	return DIALECT_REPLY;
}

/* Which fields each type needs before a renderer may read them. */
static size_t
dialect_fields_needed(enum sb_type t)
{
	switch (t) {
	case SB_C_IDENTIFIED: case SB_C_JOINED: case SB_C_PARTED:
	case SB_C_NICKLIST: case SB_C_GAP:
		return 3;
	case SB_C_LOGIN: case SB_C_QUIT: case SB_C_ERROR: case SB_C_ROOMLIST: case SB_C_NICKCHANGE: case SB_C_CLOSE:
		return 2;
	case SB_C_PONG: case SB_C_PING:
		return 1;
	case SB_C_MSG:
		return 7;
	default:
		return SIZE_MAX;
	}
}

/*
 * Gather the chunks of a NICKLIST or ROOMLIST (field 0 "1": more follow)
 * in `acc`.  Returns 1 when the list is complete, with `whole` pointing
 * at it; 0 when more chunks are awaited; -EMSGSIZE when the list went
 * over DIALECT_LIST_MAX (the accumulator is then reset).
 */
static int
dialect_accumulate(struct buf *acc, const struct sb_msg *m,
    struct sb_msg *whole)
{
	if (acc->len > 0 && m->flen[1] > 0)
		buf_catlen(acc, " ", 1);
	buf_catlen(acc, m->field[1], m->flen[1]);
	if (strcmp(m->field[0], "1") == 0)
		return 0;
	if (acc->err != 0) {
		buf_truncate(acc, 0);
		return -EMSGSIZE;
	}
	*whole = *m;
	whole->field[1] = acc->buf != NULL ? acc->buf : "";
	whole->flen[1] = acc->len;
	return 1;
}

/*
 * Render one decoded hub message for the client: append zero or more
 * client messages, each followed by a NUL, to `out`.  Returns how many
 * were appended, or a negative errno (-EBADMSG for a message the hub
 * should never send, -EMSGSIZE over the cap of `out`, -ENOMEM) with
 * `out` left as it was.  Types meant for the handler itself (CONFIG,
 * WELCOME, STATUS) render nothing.  Chunks of a nick or room list
 * render nothing until the last one.
 */
int
dialect_render(struct dialect *d, const struct sb_msg *m, struct buf *out)
{
	struct sb_msg whole;
	struct buf *acc = NULL;
	size_t mark;
	int r = -EINVAL;

	assert(d != NULL && m != NULL && out != NULL);
	if (m->type == SB_C_CONFIG || m->type == SB_C_WELCOME ||
	    m->type == SB_C_STATUS || m->type == SB_C_METRICS)
		return 0;
	if (m->nfields < dialect_fields_needed(m->type))
		return -EBADMSG;

	switch (m->type) {
	case SB_C_IDENTIFIED:
		if (strlcpy(d->nick, m->field[0], sizeof(d->nick)) >=
		    sizeof(d->nick))
			return -EBADMSG;
		break;
	case SB_C_NICKCHANGE:
		if (dialect_is_self(d, m->field[0]) && strlcpy(d->nick,
		    m->field[1], sizeof(d->nick)) >= sizeof(d->nick))
			return -EBADMSG;
		break;
	case SB_C_NICKLIST:
	case SB_C_ROOMLIST:
		acc = m->type == SB_C_NICKLIST ? &d->nicks : &d->rooms;
		if ((r = dialect_accumulate(acc, m, &whole)) == 0)
			return 0;
		if (r < 0) {
			struct dialect_err e = { .identify = 0 };

			dialect_fail(&e, "limit", "%s list too long",
			    m->type == SB_C_NICKLIST ? "Nick" : "Room");
			mark = out->len;
			if ((r = dialect_error(d, out, &e)) < 0)
				buf_truncate(out, mark);
			return r;
		}
		m = &whole;
		break;
	case SB_C_MSG:
		/*
		 * An announcement is packed once for every session, so it
		 * names no addressee: it is to us.
		 */
		if (m->flen[2] == 0 && strcmp(m->field[0], "announce") == 0) {
			whole = *m;
			whole.field[2] = d->nick;
			whole.flen[2] = strlen(d->nick);
			m = &whole;
		}
		break;
	default:
		break;
	}

	mark = out->len;
	switch (d->kind) {
	case DIALECT_TEXT:
		r = dialect_text_render(d, m, out);
		break;
	case DIALECT_XML:
		r = dialect_xml_render(d, m, out);
		break;
	case DIALECT_JSON:
		r = dialect_json_render(d, m, out);
		break;
	}
	if (r >= 0 && out->err != 0)
		r = out->err;
	if (r < 0)
		buf_truncate(out, mark);
	if (acc != NULL)
		buf_truncate(acc, 0);
	if (m->type == SB_C_IDENTIFIED || m->type == SB_C_ERROR)
		d->identify_pending = 0;
	return r;
}
