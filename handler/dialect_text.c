/* SPDX-License-Identifier: ISC */
/*
 * The seed-000 dialect: IRC-like text commands from the client, XML
 * elements back (docs/protocol-dialects.md, "Text dialect").
 *
 * A command is one line: a case-insensitive command word, then arguments
 * separated by runs of spaces; a trailing text (MSG, SAY, ME, QUIT, the
 * IDENTIFY password) is the rest of the line, kept as is.
 */
#include <assert.h>
#include <errno.h>
#include <string.h>
#include <strings.h>

#include "dialect.h"
#include "store.h"

/* How a command takes its arguments. */
enum text_shape {
	TS_NONE,	/* CMD */
	TS_WORD,	/* CMD word */
	TS_WORD_OPTWORD,/* CMD word [word2]: word2 is `rest` */
	TS_WORD_REST,	/* CMD word rest (rest required) */
	TS_WORD_OPTREST,/* CMD word [rest] */
	TS_OPTWORD,	/* CMD [word] */
	TS_OPTREST,	/* CMD [rest] */
	TS_ME,		/* CMD [@target] rest */
};

struct text_cmd {
	const char	*name;
	enum sb_type	 type;
	enum text_shape	 shape;
	const char	*word;		/* what the word is: "nick", "room" */
	size_t		 wmax;
	const char	*rest;		/* what the rest is: "text", ... */
	size_t		 rmax;
	const char	*usage;		/* error when an argument is missing */
};

static const struct text_cmd text_cmds[] = {
	{ "IDENTIFY", SB_H_IDENTIFY, TS_WORD_OPTREST, "nick", SB_NICK_MAX,
	    "password", SB_PASS_MAX, "IDENTIFY needs a nick" },
	{ "MSG", SB_H_PRIVMSG, TS_WORD_REST, "nick", SB_NICK_MAX,
	    "text", SB_TEXT_MAX, "MSG needs a nick and a text" },
	{ "LIST", SB_H_LIST, TS_NONE, NULL, 0, NULL, 0, NULL },
	{ "ROOMS", SB_H_ROOMS, TS_NONE, NULL, 0, NULL, 0, NULL },
	{ "JOIN", SB_H_JOIN, TS_WORD_OPTWORD, "room", SB_ROOM_MAX, "since",
	    32, "JOIN needs a room" },
	{ "PART", SB_H_PART, TS_WORD, "room", SB_ROOM_MAX, NULL, 0,
	    "PART needs a room" },
	{ "NAMES", SB_H_NAMES, TS_WORD, "room", SB_ROOM_MAX, NULL, 0,
	    "NAMES needs a room" },
	{ "SAY", SB_H_ROOMMSG, TS_WORD_REST, "room", SB_ROOM_MAX,
	    "text", SB_TEXT_MAX, "SAY needs a room and a text" },
	{ "NICK", SB_H_NICK, TS_WORD, "nick", SB_NICK_MAX, NULL, 0,
	    "NICK needs a nick" },
	{ "ME", SB_H_ACTION, TS_ME, "target",
	    SB_NICK_MAX > SB_ROOM_MAX ? SB_NICK_MAX : SB_ROOM_MAX,
	    "text", SB_TEXT_MAX, "ME needs a text" },
	{ "PING", SB_H_PING, TS_OPTWORD, "token", DIALECT_TOKEN_MAX, NULL, 0,
	    NULL },
	{ "PONG", SB_H_PING, TS_OPTWORD, "token", DIALECT_TOKEN_MAX, NULL, 0,
	    NULL },
	{ "QUIT", SB_H_QUIT, TS_OPTREST, NULL, 0, "reason", SB_REASON_MAX,
	    NULL },
};

/* Skip the run of spaces at p. */
static char *
text_skip(char *p)
{
	while (*p == ' ')
		p++;
	return p;
}

/* Cut the word at *p off with a NUL and move *p to what follows. */
static char *
text_word(char **p)
{
	char *w = text_skip(*p), *e = w;

	while (*e != '\0' && *e != ' ')
		e++;
	if (*e != '\0')
		*e++ = '\0';
	*p = e;
	return w;
}

/*
 * Check a whole command line and copy it, NUL-terminated, into `line`
 * (DIALECT_INPUT_MAX + 1 bytes).  The line is refused if it holds a NUL,
 * another control character or invalid UTF-8, so no argument can carry
 * one to the hub.  Returns 0, or DIALECT_REPLY with `e` filled.
 */
static int
text_line(char *line, const char *msg, size_t len, struct dialect_err *e)
{
	size_t i;

	if (len > 0 && msg[len - 1] == '\r')
		len--;
	if (len > DIALECT_INPUT_MAX)
		return dialect_fail(e, "limit",
		    "Command too long (max %d bytes)", DIALECT_INPUT_MAX);
	for (i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)msg[i];

		if (ch == 0)
			return dialect_fail(e, "encoding",
			    "NUL byte in command");
		if (ch < 0x20 || ch == 0x7f)
			return dialect_fail(e, "encoding",
			    "Control character in command");
	}
	if (!utf8_valid(msg, len))
		return dialect_fail(e, "encoding", "Invalid UTF-8 in command");
	if (len > 0)
		memcpy(line, msg, len);
	line[len] = '\0';
	return 0;
}

/*
 * Split the arguments after command `c` (at `p`) by its shape: `*word`
 * and `*rest` point into the line, or stay NULL when the shape has no
 * such argument.  Returns 0, or DIALECT_REPLY with `e` filled.
 */
static int
text_args(const struct text_cmd *c, char *p, char **word, char **rest,
    struct dialect_err *e)
{
	switch (c->shape) {
	case TS_NONE:
		if (*text_skip(p) != '\0')
			return dialect_fail(e, "syntax", "%s takes no argument",
			    c->name);
		break;
	case TS_WORD:
	case TS_OPTWORD:
		*word = text_word(&p);
		if (*text_skip(p) != '\0')
			return dialect_fail(e, "syntax",
			    "%s takes a single %s", c->name, c->word);
		if (**word == '\0' && c->shape == TS_WORD)
			return dialect_fail(e, "syntax", "%s", c->usage);
		break;
	case TS_WORD_OPTWORD:
		*word = text_word(&p);
		*rest = text_word(&p);
		if (*text_skip(p) != '\0')
			return dialect_fail(e, "syntax", "%s takes a %s and "
			    "an optional %s", c->name, c->word, c->rest);
		if (**word == '\0')
			return dialect_fail(e, "syntax", "%s", c->usage);
		if (**rest != '\0' && dialect_since(e, *rest, strlen(*rest)))
			return DIALECT_REPLY;
		break;
	case TS_WORD_REST:
	case TS_WORD_OPTREST:
		*word = text_word(&p);
		*rest = text_skip(p);
		if (**word == '\0' || (**rest == '\0' &&
		    c->shape == TS_WORD_REST))
			return dialect_fail(e, "syntax", "%s", c->usage);
		break;
	case TS_OPTREST:
		*rest = text_skip(p);
		break;
	case TS_ME:
		*rest = text_skip(p);
		*word = (char *)"";
		if (**rest == '@') {
			if ((*rest)[1] == ' ' || (*rest)[1] == '\0')
				return dialect_fail(e, "syntax",
				    "ME needs a target after @");
			p = *rest + 1;
			*word = text_word(&p);
			if (**word == '\0' || *p == '\0')
				return dialect_fail(e, "syntax",
				    "ME needs a text after @target");
			*rest = text_skip(p);
		}
		if (**rest == '\0')
			return dialect_fail(e, "syntax", "%s", c->usage);
		break;
	}
	return 0;
}

/*
 * Parse one text command (see dialect.h, dialect_parse()): the line is
 * checked (text_line), the command looked up in text_cmds, its arguments
 * split by its shape (text_args) and checked as fields, and the packet
 * built.
 */
int
dialect_text_parse(struct dialect *d, const char *msg, size_t len,
    struct sb_packet *pkt, struct dialect_err *e)
{
	char *line = handler_store.text_line, *p, *cmd;
	char *word = NULL, *rest = NULL;
	const struct text_cmd *c = NULL;
	size_t i;

	assert(d != NULL && pkt != NULL && e != NULL);
	assert(msg != NULL || len == 0);
	if (text_line(line, msg, len, e) != 0)
		return DIALECT_REPLY;
	p = line;
	cmd = text_word(&p);
	if (*cmd == '\0')
		return DIALECT_NOTHING;
	for (i = 0; i < sizeof(text_cmds) / sizeof(text_cmds[0]); i++)
		if (strcasecmp(cmd, text_cmds[i].name) == 0)
			c = &text_cmds[i];
	if (c == NULL) {
		if (strlen(cmd) > DIALECT_ECHO_MAX)
			return dialect_fail(e, "syntax", "Unknown command");
		return dialect_fail(e, "syntax", "Unknown command %s", cmd);
	}
	if (text_args(c, p, &word, &rest, e) != 0)
		return DIALECT_REPLY;
	if (word != NULL && dialect_field(e, c->word, word, strlen(word),
	    c->wmax, DF_EMPTY_OK) != 0)
		return DIALECT_REPLY;
	if (rest != NULL && dialect_field(e, c->rest, rest, strlen(rest),
	    c->rmax, DF_EMPTY_OK) != 0)
		return DIALECT_REPLY;

	switch (c->type) {
	case SB_H_IDENTIFY:
		return dialect_pack(d, pkt, c->type, e, word, rest, "", NULL);
	case SB_H_PRIVMSG: case SB_H_ROOMMSG: case SB_H_ACTION:
		return dialect_pack(d, pkt, c->type, e, word, rest, NULL);
	case SB_H_JOIN:
		/* With a since, the client gets room numbers from now on. */
		d->numbered |= *rest != '\0';
		return dialect_pack(d, pkt, c->type, e, word, *rest ? rest :
		    NULL, NULL);
	case SB_H_PART: case SB_H_NAMES: case SB_H_NICK: case SB_H_PING:
		return dialect_pack(d, pkt, c->type, e, word, NULL);
	case SB_H_QUIT:
		return dialect_pack(d, pkt, c->type, e, rest, NULL);
	default:
		return dialect_pack(d, pkt, c->type, e, NULL);
	}
}

/* `<nick aid="N" name="N" />` for each word of a space-separated list. */
static void
text_nicks(struct buf *b, const char *list, size_t len)
{
	const char *p = list, *w;
	size_t wl;

	while (dialect_word_next(&p, list + len, &w, &wl)) {
		buf_cat(b, "<nick");
		dialect_attr(b, "aid", w, wl);
		dialect_attr(b, "name", w, wl);
		buf_cat(b, " />");
	}
}

/* `<error value="TEXT" code="CODE" />`, the seed-000 error element. */
int
dialect_text_error(struct dialect *d, struct buf *b,
    const struct dialect_err *e)
{
	assert(b != NULL && e != NULL);
	buf_cat(b, "<error");
	dialect_attr(b, "value", e->text, strlen(e->text));
	dialect_attr(b, "code", e->code, strlen(e->code));
	buf_cat(b, " />");
	return dialect_end(b);
}

/*
 * <msg aid time msg from to [room] [room_seq] [action] [history] />; the
 * room_seq only for a client that asked for numbers (a JOIN with since),
 * so the seed's clients get the seed's bytes.
 */
static int
text_msg(const struct dialect *d, const struct sb_msg *m, struct buf *b)
{
	int flags = dialect_msg_flags(m);
	char hms[9];

	if (flags < 0)
		return flags;
	dialect_hms(dialect_msg_time(m, 5), hms);
	buf_cat(b, "<msg");
	if (flags & DM_ANNOUNCE)
		dialect_attr(b, "aid", "", 0);
	else
		dialect_fattr(b, "aid", m, 1);
	dialect_attr(b, "time", hms, strlen(hms));
	dialect_fattr(b, "msg", m, 4);
	if (flags & DM_ANNOUNCE)
		dialect_attr(b, "from", "", 0);
	else
		dialect_fattr(b, "from", m, 1);
	dialect_fattr(b, "to", m, 2);
	if (m->flen[3] > 0)
		dialect_fattr(b, "room", m, 3);
	if (d->numbered && m->nfields > 7 && m->flen[7] > 0)
		dialect_fattr(b, "room_seq", m, 7);
	if (flags & DM_ACTION)
		buf_cat(b, " action=\"1\"");
	if (flags & DM_HISTORY)
		buf_cat(b, " history=\"1\"");
	buf_cat(b, " />");
	return dialect_end(b);
}

/* <rooms><room id="NAME" count="N" />...</rooms> */
static int
text_rooms(const struct sb_msg *m, struct buf *b)
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
		buf_catf(b, " count=\"%lu\" />", count);
	}
	buf_cat(b, "</rooms>");
	return dialect_end(b);
}

/*
 * Render a hub message as seed-000 elements (see dialect_render()).  The
 * elements beyond the seed (rooms, join, part, nick, ping, pong, close)
 * are listed in docs/protocol-dialects.md.
 */
int
dialect_text_render(struct dialect *d, const struct sb_msg *m,
    struct buf *b)
{
	assert(d != NULL && m != NULL && b != NULL);
	switch (m->type) {
	case SB_C_IDENTIFIED:
	case SB_C_LOGIN:
		buf_cat(b, m->type == SB_C_LOGIN ? "<login" : "<identify");
		dialect_fattr(b, "aid", m, 0);
		dialect_fattr(b, "name", m, 1);
		buf_cat(b, " />");
		return dialect_end(b);
	case SB_C_QUIT:
		return dialect_element(b, "quit", m, "aid", 0, "reason", 1,
		    NULL);
	case SB_C_MSG:
		return text_msg(d, m, b);
	case SB_C_ERROR:
		return dialect_element(b, "error", m, "value", 1, "code", 0,
		    NULL);
	case SB_C_NICKLIST:
		buf_cat(b, "<nicklist");
		if (m->flen[2] > 0)
			dialect_fattr(b, "room", m, 2);
		buf_cat(b, ">");
		text_nicks(b, m->field[1], m->flen[1]);
		buf_cat(b, "</nicklist>");
		return dialect_end(b);
	case SB_C_ROOMLIST:
		return text_rooms(m, b);
	case SB_C_JOINED:
		buf_cat(b, "<join");
		dialect_fattr(b, "room", m, 0);
		dialect_fattr(b, "aid", m, 1);
		if (m->flen[2] == 0) {
			buf_cat(b, " />");
			return dialect_end(b);
		}
		buf_cat(b, ">");
		text_nicks(b, m->field[2], m->flen[2]);
		buf_cat(b, "</join>");
		return dialect_end(b);
	case SB_C_PARTED:
		return dialect_element(b, "part", m, "room", 0, "aid", 1,
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
		return dialect_element(b, "gap", m, "room", 0, "since", 1,
		    "first", 2, NULL);
	default:
		return -EBADMSG;
	}
}
