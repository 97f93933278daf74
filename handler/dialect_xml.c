/* SPDX-License-Identifier: ISC */
/*
 * The seed-001 dialect: XML commands from the client, XML back
 * (docs/protocol-dialects.md, "XML dialect").
 *
 * A command is one element, parsed with expat.  A DOCTYPE or an entity
 * declaration is refused before anything is declared, so no entity can
 * be expanded and nothing external is ever loaded; nesting and the
 * number of elements are capped.  The seed sends <room id=".." uid="..">
 * without closing it: a lone start tag, with nothing after it, is
 * accepted as the whole command.
 */
#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bsd/string.h>
#include <expat.h>

#include "dialect.h"

/* What expat told us about one command. */
struct xml_cmd {
	struct dialect_err *e;
	XML_Parser	 p;
	int		 failed;	/* e is filled, the parser stopped */
	int		 depth;		/* open elements */
	int		 elements;	/* start tags seen */
	int		 closed;	/* the root element has ended */
	int		 children;	/* elements inside the root */
	int		 blank;		/* the root's text is all whitespace */
	char		 name[DIALECT_ECHO_MAX + 1]; /* root element, or "" */
	size_t		 nattrs;
	const char	*an[DIALECT_XML_ATTRS_MAX];	/* into arena */
	const char	*av[DIALECT_XML_ATTRS_MAX];
	size_t		 avlen[DIALECT_XML_ATTRS_MAX];
	size_t		 used;
	char		 arena[DIALECT_INPUT_MAX + 2 * DIALECT_XML_ATTRS_MAX];
	size_t		 textlen;
	int		 textlong;	/* more than SB_TEXT_MAX bytes */
	char		 text[SB_TEXT_MAX + 1];
};

/* Stop the parser with the error already recorded in c->e. */
static void
xml_stop(struct xml_cmd *c)
{
	c->failed = 1;
	XML_StopParser(c->p, XML_FALSE);
}

/* Copy a string into the arena; NULL when it is full. */
static const char *
xml_keep(struct xml_cmd *c, const char *s, size_t *lenp)
{
	size_t len = strlen(s);
	char *r;

	if (len + 1 > sizeof(c->arena) - c->used)
		return NULL;
	r = c->arena + c->used;
	memcpy(r, s, len + 1);
	c->used += len + 1;
	if (lenp != NULL)
		*lenp = len;
	return r;
}

/*
 * expat's start of an element: the command's element keeps its name and
 * attributes, a child is counted; nesting, element and attribute counts
 * over their caps stop the parse with a "limit" error.
 */
static void XMLCALL
xml_start(void *ud, const XML_Char *name, const XML_Char **atts)
{
	struct xml_cmd *c = ud;
	size_t i;

	if (c->failed)
		return;
	c->depth++;
	c->elements++;
	if (c->depth > DIALECT_XML_DEPTH_MAX) {
		dialect_fail(c->e, "limit", "XML nested too deeply (max %d)",
		    DIALECT_XML_DEPTH_MAX);
		xml_stop(c);
		return;
	}
	if (c->elements > DIALECT_XML_ELEMS_MAX) {
		dialect_fail(c->e, "limit", "Too many XML elements (max %d)",
		    DIALECT_XML_ELEMS_MAX);
		xml_stop(c);
		return;
	}
	if (c->depth > 1) {
		c->children++;
		return;
	}
	if (strlcpy(c->name, name, sizeof(c->name)) >= sizeof(c->name))
		c->name[0] = '\0';	/* no command has such a long name */
	for (i = 0; atts[i] != NULL && atts[i + 1] != NULL; i += 2) {
		if (c->nattrs == DIALECT_XML_ATTRS_MAX) {
			dialect_fail(c->e, "limit",
			    "Too many attributes (max %d)",
			    DIALECT_XML_ATTRS_MAX);
			xml_stop(c);
			return;
		}
		c->an[c->nattrs] = xml_keep(c, atts[i], NULL);
		c->av[c->nattrs] = xml_keep(c, atts[i + 1],
		    &c->avlen[c->nattrs]);
		if (c->an[c->nattrs] == NULL || c->av[c->nattrs] == NULL) {
			dialect_fail(c->e, "limit", "Attributes too long");
			xml_stop(c);
			return;
		}
		c->nattrs++;
	}
}

/* expat's end of an element: the command is closed with its element. */
static void XMLCALL
xml_end(void *ud, const XML_Char *name)
{
	struct xml_cmd *c = ud;

	if (c->failed)
		return;
	if (--c->depth == 0)
		c->closed = 1;
}

/*
 * expat's character data: the command element's own text is kept (up to
 * SB_TEXT_MAX, past which it is marked too long), and whether it is all
 * blank.
 */
static void XMLCALL
xml_chars(void *ud, const XML_Char *s, int len)
{
	struct xml_cmd *c = ud;
	size_t n = len > 0 ? (size_t)len : 0, i;

	if (c->failed || c->depth != 1)
		return;
	for (i = 0; i < n; i++)
		if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r' &&
		    s[i] != '\n')
			c->blank = 0;
	if (n > SB_TEXT_MAX - c->textlen) {
		c->textlong = 1;
		return;
	}
	memcpy(c->text + c->textlen, s, n);
	c->textlen += n;
	c->text[c->textlen] = '\0';
}

static void XMLCALL
xml_doctype(void *ud, const XML_Char *name, const XML_Char *sysid,
    const XML_Char *pubid, int has_internal_subset)
{
	struct xml_cmd *c = ud;

	dialect_fail(c->e, "syntax", "DOCTYPE is not allowed");
	xml_stop(c);
}

static void XMLCALL
xml_entity(void *ud, const XML_Char *name, int is_param,
    const XML_Char *value, int value_len, const XML_Char *base,
    const XML_Char *sysid, const XML_Char *pubid, const XML_Char *notation)
{
	struct xml_cmd *c = ud;

	dialect_fail(c->e, "syntax", "Entity declarations are not allowed");
	xml_stop(c);
}

/* The value of attribute `name` of the root element, or NULL. */
static const char *
xml_attr(const struct xml_cmd *c, const char *name, size_t *len)
{
	size_t i;

	for (i = 0; i < c->nattrs; i++)
		if (strcmp(c->an[i], name) == 0) {
			*len = c->avlen[i];
			return c->av[i];
		}
	return NULL;
}

/*
 * The attribute `name` (or `alt`, if not NULL and `name` is absent),
 * checked as field `what`.  Returns 0 with *v set (to "" if absent and
 * optional), or DIALECT_REPLY.
 */
static int
xml_field(struct xml_cmd *c, const char *name, const char *alt,
    const char *what, size_t max, unsigned flags, const char **v)
{
	size_t len = 0;

	*v = xml_attr(c, name, &len);
	if (*v == NULL && alt != NULL)
		*v = xml_attr(c, alt, &len);
	if (*v == NULL) {
		if (!(flags & DF_EMPTY_OK))
			return dialect_fail(c->e, "syntax", "<%s> needs %s=\"\"",
			    c->name, name);
		*v = "";
	}
	return dialect_field(c->e, what, *v, len, max, flags);
}

/* The root element's text as field "text": required, capped. */
static int
xml_text(struct xml_cmd *c)
{
	if (c->textlong)
		return dialect_fail(c->e, "limit",
		    "Text too long (max %d bytes)", SB_TEXT_MAX);
	if (c->textlen == 0)
		return dialect_fail(c->e, "syntax", "<%s> needs a text",
		    c->name);
	return dialect_field(c->e, "text", c->text, c->textlen, SB_TEXT_MAX,
	    0);
}

#define TARGET_MAX	(SB_NICK_MAX > SB_ROOM_MAX ? SB_NICK_MAX : SB_ROOM_MAX)

/*
 * <room id="R" [since="N"]>: JOIN; with a since, the client gets room
 * numbers from now on.
 */
static int
xml_join(struct dialect *d, struct xml_cmd *c, struct sb_packet *pkt)
{
	const char *a, *b;

	if (xml_field(c, "id", NULL, "room", SB_ROOM_MAX, DF_WORD, &a) ||
	    xml_field(c, "since", NULL, "since", 32, DF_WORD | DF_EMPTY_OK,
	    &b) || (*b != '\0' && dialect_since(c->e, b, strlen(b))))
		return DIALECT_REPLY;
	d->numbered |= *b != '\0';
	return dialect_pack(d, pkt, SB_H_JOIN, c->e, a, *b ? b : NULL, NULL);
}

/* Turn a parsed command element into a hub packet. */
static int
xml_command(struct dialect *d, struct xml_cmd *c, struct sb_packet *pkt)
{
	struct dialect_err *e = c->e;
	const char *a, *b;
	size_t l;

	if (strcmp(c->name, "login") == 0)
		e->identify = 1;
	if (c->children > 0)
		return dialect_fail(e, "syntax",
		    "<%s> must not contain elements", c->name);

	if (strcmp(c->name, "login") == 0) {
		if (xml_field(c, "u", "username", "nick", SB_NICK_MAX, DF_WORD,
		    &a) || xml_field(c, "p", "password", "password",
		    SB_PASS_MAX, DF_EMPTY_OK, &b))
			return DIALECT_REPLY;
		return dialect_pack(d, pkt, SB_H_IDENTIFY, e, a, b, "", NULL);
	}
	if (strcmp(c->name, "room") == 0)
		return xml_join(d, c, pkt);
	if (strcmp(c->name, "msg") == 0 || strcmp(c->name, "me") == 0) {
		int me = c->name[1] == 'e';
		int has_room = xml_attr(c, "room_id", &l) != NULL;
		int has_to = xml_attr(c, "to", &l) != NULL;

		if (has_room && has_to)
			return dialect_fail(e, "syntax",
			    "<%s> takes room_id or to, not both", c->name);
		if (!has_room && !has_to && !me)
			return dialect_fail(e, "syntax",
			    "<msg> needs room_id=\"\" or to=\"\"");
		if (has_room ? xml_field(c, "room_id", NULL, "room",
		    SB_ROOM_MAX, DF_WORD, &a) : xml_field(c, "to", NULL,
		    has_to ? "nick" : "target", has_to ? SB_NICK_MAX :
		    TARGET_MAX, DF_WORD | (has_to ? 0 : DF_EMPTY_OK), &a))
			return DIALECT_REPLY;
		if (xml_text(c))
			return DIALECT_REPLY;
		return dialect_pack(d, pkt, me ? SB_H_ACTION : has_room ?
		    SB_H_ROOMMSG : SB_H_PRIVMSG, e, a, c->text, NULL);
	}
	if (strcmp(c->name, "rooms") == 0)
		return dialect_pack(d, pkt, SB_H_ROOMS, e, NULL);
	if (strcmp(c->name, "list") == 0)
		return dialect_pack(d, pkt, SB_H_LIST, e, NULL);
	if (strcmp(c->name, "names") == 0 || strcmp(c->name, "part") == 0) {
		if (xml_field(c, "room_id", NULL, "room", SB_ROOM_MAX, DF_WORD,
		    &a))
			return DIALECT_REPLY;
		return dialect_pack(d, pkt, c->name[0] == 'n' ? SB_H_NAMES :
		    SB_H_PART, e, a, NULL);
	}
	if (strcmp(c->name, "nick") == 0) {
		if (xml_field(c, "name", NULL, "nick", SB_NICK_MAX, DF_WORD,
		    &a))
			return DIALECT_REPLY;
		return dialect_pack(d, pkt, SB_H_NICK, e, a, NULL);
	}
	if (strcmp(c->name, "ping") == 0 || strcmp(c->name, "pong") == 0) {
		if (xml_field(c, "token", NULL, "token", DIALECT_TOKEN_MAX,
		    DF_WORD | DF_EMPTY_OK, &a))
			return DIALECT_REPLY;
		return dialect_pack(d, pkt, SB_H_PING, e, a, NULL);
	}
	if (strcmp(c->name, "quit") == 0) {
		if (xml_field(c, "reason", NULL, "reason", SB_REASON_MAX,
		    DF_EMPTY_OK, &a))
			return DIALECT_REPLY;
		return dialect_pack(d, pkt, SB_H_QUIT, e, a, NULL);
	}
	if (c->name[0] == '\0')
		return dialect_fail(e, "syntax", "Unknown element");
	return dialect_fail(e, "syntax", "Unknown element <%s>", c->name);
}

/*
 * Parse one XML command (see dialect.h, dialect_parse()).
 */
int
dialect_xml_parse(struct dialect *d, const char *msg, size_t len,
    struct sb_packet *pkt, struct dialect_err *e)
{
	struct xml_cmd *c;
	enum XML_Status st;
	enum XML_Error code;
	int r;

	assert(d != NULL && pkt != NULL && e != NULL);
	assert(msg != NULL || len == 0);
	if (len > DIALECT_INPUT_MAX)
		return dialect_fail(e, "limit",
		    "Command too long (max %d bytes)", DIALECT_INPUT_MAX);
	if (len > 0 && memchr(msg, '\0', len) != NULL)
		return dialect_fail(e, "encoding", "NUL byte in command");
	if ((c = calloc(1, sizeof(*c))) == NULL)
		return -ENOMEM;
	c->e = e;
	c->blank = 1;
	if ((c->p = XML_ParserCreate("UTF-8")) == NULL) {
		free(c);
		return -ENOMEM;
	}
	XML_SetUserData(c->p, c);
	XML_SetElementHandler(c->p, xml_start, xml_end);
	XML_SetCharacterDataHandler(c->p, xml_chars);
	XML_SetStartDoctypeDeclHandler(c->p, xml_doctype);
	XML_SetEntityDeclHandler(c->p, xml_entity);
	XML_SetParamEntityParsing(c->p, XML_PARAM_ENTITY_PARSING_NEVER);

	st = XML_Parse(c->p, msg != NULL ? msg : "", (int)len, XML_FALSE);
	if (st == XML_STATUS_OK)
		st = XML_Parse(c->p, "", 0, XML_TRUE);
	code = XML_GetErrorCode(c->p);
	if (c->failed)
		r = DIALECT_REPLY;
	else if (st != XML_STATUS_OK && !(code == XML_ERROR_NO_ELEMENTS &&
	    c->elements == 1 && c->depth == 1 && c->blank))
		r = dialect_fail(e, "syntax", "Malformed XML: %s at column %lu",
		    XML_ErrorString(code),
		    (unsigned long)XML_GetCurrentColumnNumber(c->p));
	else
		r = xml_command(d, c, pkt);
	XML_ParserFree(c->p);
	free(c);
	return r;
}

/*
 * An error: <login ok="0" error="TEXT" code="CODE" /> when it answers a
 * login, <error code="CODE">TEXT</error> otherwise.
 */
static int
xml_error(struct buf *b, const char *code, size_t clen, const char *text,
    size_t tlen, int login)
{
	if (login) {
		buf_cat(b, "<login ok=\"0\"");
		dialect_attr(b, "error", text, tlen);
		dialect_attr(b, "code", code, clen);
		buf_cat(b, " />");
	} else {
		buf_cat(b, "<error");
		dialect_attr(b, "code", code, clen);
		buf_cat(b, ">");
		dialect_xml_escape(b, text, tlen);
		buf_cat(b, "</error>");
	}
	return dialect_end(b);
}

/* A client-side error, in this dialect. */
int
dialect_xml_error(struct dialect *d, struct buf *b,
    const struct dialect_err *e)
{
	assert(b != NULL && e != NULL);
	return xml_error(b, e->code, strlen(e->code), e->text, strlen(e->text),
	    e->identify);
}

/* <user id="A">A</user> for each word of a space-separated list. */
static void
xml_users(struct buf *b, const char *list, size_t len)
{
	const char *p = list, *w;
	size_t wl;

	while (dialect_word_next(&p, list + len, &w, &wl)) {
		buf_cat(b, "<user");
		dialect_attr(b, "id", w, wl);
		buf_cat(b, ">");
		dialect_xml_escape(b, w, wl);
		buf_cat(b, "</user>");
	}
}

/* <msg from_id="0" room_id="R">*NICK has entered|left[ (REASON)]</msg> */
static int
xml_notice(struct buf *b, const struct sb_msg *m, const char *what,
    int reason)
{
	buf_cat(b, "<msg from_id=\"0\"");
	dialect_fattr(b, "room_id", m, 0);
	buf_cat(b, ">*");
	dialect_xml_escape(b, m->field[1], m->flen[1]);
	buf_catf(b, " has %s", what);
	if (reason && m->flen[2] > 0) {
		buf_cat(b, " (");
		dialect_xml_escape(b, m->field[2], m->flen[2]);
		buf_cat(b, ")");
	}
	buf_cat(b, "</msg>");
	return dialect_end(b);
}

/*
 * <msg from_id to|room_id time [room_seq] [action] [history]>TEXT</msg>;
 * the room_seq only after a <room since=""> (the seed's bytes otherwise).
 */
static int
xml_msg(const struct dialect *d, const struct sb_msg *m, struct buf *b)
{
	int flags = dialect_msg_flags(m);
	char hms[9];

	if (flags < 0)
		return flags;
	dialect_hms(dialect_msg_time(m, 5), hms);
	buf_cat(b, "<msg");
	if (flags & DM_ANNOUNCE)
		buf_cat(b, " from_id=\"0\"");
	else
		dialect_fattr(b, "from_id", m, 1);
	if (m->flen[3] > 0)
		dialect_fattr(b, "room_id", m, 3);
	else if (m->flen[2] > 0)
		dialect_fattr(b, "to", m, 2);
	buf_catf(b, " time=\"%s\"", hms);
	if (d->numbered && m->nfields > 7 && m->flen[7] > 0)
		dialect_fattr(b, "room_seq", m, 7);
	if (flags & DM_ACTION)
		buf_cat(b, " action=\"1\"");
	if (flags & DM_HISTORY)
		buf_cat(b, " history=\"1\"");
	buf_cat(b, ">");
	dialect_xml_escape(b, m->field[4], m->flen[4]);
	buf_cat(b, "</msg>");
	return dialect_end(b);
}

/* <rooms><room id="NAME" count="N">NAME</room>...</rooms> */
static int
xml_rooms(const struct sb_msg *m, struct buf *b)
{
	const char *p = m->field[1], *w;
	unsigned long count;
	size_t wl, nl;

	buf_cat(b, "<rooms>");
	while (dialect_word_next(&p, m->field[1] + m->flen[1], &w, &wl)) {
		if (dialect_room_split(w, wl, &nl, &count) < 0)
			return -EBADMSG;
		buf_cat(b, "<room");
		dialect_attr(b, "id", w, nl);
		buf_catf(b, " count=\"%lu\">", count);
		dialect_xml_escape(b, w, nl);
		buf_cat(b, "</room>");
	}
	buf_cat(b, "</rooms>");
	return dialect_end(b);
}

/*
 * Render a hub message in the seed-001 shapes (see dialect_render());
 * every element is listed in docs/protocol-dialects.md.
 */
int
dialect_xml_render(struct dialect *d, const struct sb_msg *m, struct buf *b)
{
	assert(d != NULL && m != NULL && b != NULL);
	switch (m->type) {
	case SB_C_IDENTIFIED:
		buf_cat(b, "<login ok=\"1\"");
		dialect_fattr(b, "id", m, 2);
		dialect_fattr(b, "nick", m, 0);
		dialect_fattr(b, "name", m, 1);
		buf_cat(b, " />");
		return dialect_end(b);
	case SB_C_ERROR:
		return xml_error(b, m->field[0], m->flen[0], m->field[1],
		    m->flen[1], d->identify_pending);
	case SB_C_LOGIN:
		return dialect_element(b, "user_login", m, "id", 0, "name", 1,
		    NULL);
	case SB_C_QUIT:
		return dialect_element(b, "user_quit", m, "id", 0, "reason", 1,
		    NULL);
	case SB_C_MSG:
		return xml_msg(d, m, b);
	case SB_C_NICKLIST:
		buf_cat(b, "<users");
		if (m->flen[2] > 0)
			dialect_fattr(b, "room_id", m, 2);
		buf_cat(b, ">");
		xml_users(b, m->field[1], m->flen[1]);
		buf_cat(b, "</users>");
		return dialect_end(b);
	case SB_C_ROOMLIST:
		return xml_rooms(m, b);
	case SB_C_JOINED:
		if (!dialect_is_self(d, m->field[1]))
			return xml_notice(b, m, "entered", 0);
		buf_cat(b, "<joined");
		dialect_fattr(b, "room_id", m, 0);
		buf_cat(b, ">");
		xml_users(b, m->field[2], m->flen[2]);
		buf_cat(b, "</joined>");
		return dialect_end(b);
	case SB_C_PARTED:
		if (!dialect_is_self(d, m->field[1]))
			return xml_notice(b, m, "left", 1);
		return dialect_element(b, "parted", m, "room_id", 0,
		    "reason", 2, NULL);
	case SB_C_NICKCHANGE:
		return dialect_element(b, "nick", m, "old", 0, "new", 1, NULL);
	case SB_C_PONG:
	case SB_C_PING:
		buf_cat(b, m->type == SB_C_PONG ? "<pong" : "<ping");
		dialect_fattr(b, "token", m, 0);
		buf_cat(b, " />");
		return dialect_end(b);
	case SB_C_CLOSE:
		return dialect_element(b, "close", m, "code", 0, "reason", 1,
		    NULL);
	case SB_C_GAP:
		return dialect_element(b, "gap", m, "room_id", 0, "since", 1,
		    "first", 2, NULL);
	default:
		return -EBADMSG;
	}
}
