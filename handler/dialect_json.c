/* SPDX-License-Identifier: ISC */
/*
 * The JSON dialect of WebSocket /chat, with the seed-003 shapes
 * (docs/protocol-dialects.md, "JSON dialect").
 *
 * A command is one JSON object with a string "type".  Nesting is capped
 * before jansson sees the text, duplicate keys are refused, and every
 * field must have the type it is documented with.  Events are written
 * compact, byte for byte as jansson would dump them; a hub string that is
 * not valid UTF-8 turns the event into an error event instead.
 */
#include <assert.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "buf.h"
#include "dialect.h"
#include "json_arena.h"

#define TARGET_MAX	(SB_NICK_MAX > SB_ROOM_MAX ? SB_NICK_MAX : SB_ROOM_MAX)
#define ALIAS_DIGITS	19	/* a decimal up to LLONG_MAX */
#define JSON_BADUTF8	"Invalid UTF-8 from the server"

/*
 * The JSON dialect is idle: give back what its parser holds (jansson's
 * arena, json_arena.c).
 */
void
dialect_json_trim(void)
{
	json_arena_trim();
}

/* Is the nesting of the JSON text s[0..len) within the cap? */
static int
json_depth_ok(const char *s, size_t len)
{
	int depth = 0, instr = 0, esc = 0;
	size_t i;

	for (i = 0; i < len; i++) {
		if (instr) {
			if (esc)
				esc = 0;
			else if (s[i] == '\\')
				esc = 1;
			else if (s[i] == '"')
				instr = 0;
		} else if (s[i] == '"') {
			instr = 1;
		} else if (s[i] == '{' || s[i] == '[') {
			if (++depth > DIALECT_JSON_DEPTH_MAX)
				return 0;
		} else if (s[i] == '}' || s[i] == ']') {
			depth--;
		}
	}
	return 1;
}

/*
 * The string member `key` of `o`, checked as field `what` (see
 * dialect_field()).  Absent and not `required`: "".  Returns 0 with *v
 * set, or DIALECT_REPLY.
 */
static int
json_str(struct dialect_err *e, json_t *o, const char *key, int required,
    const char *what, size_t max, unsigned flags, const char **v)
{
	json_t *j = json_object_get(o, key);

	if (j == NULL) {
		if (required)
			return dialect_fail(e, "syntax",
			    "Field \"%s\" is required", key);
		*v = "";
		return dialect_field(e, what, "", 0, max, flags | DF_EMPTY_OK);
	}
	if (!json_is_string(j))
		return dialect_fail(e, "syntax", "Field \"%s\" must be a string",
		    key);
	*v = json_string_value(j);
	return dialect_field(e, what, *v, json_string_length(j), max, flags);
}

/*
 * A number from the client: a seed-003 id (`id`, `to_id`), or the
 * `since` of a join.  A non-negative integer, or a string of decimal
 * digits, up to LLONG_MAX; written in decimal to out.  Absent and not
 * `required`: "".
 */
static int
json_alias(struct dialect_err *e, json_t *o, const char *key, int required,
    char out[ALIAS_DIGITS + 1])
{
	json_t *j = json_object_get(o, key);
	const char *s;
	size_t n;

	out[0] = '\0';
	if (j == NULL && !required)
		return 0;
	if (j == NULL)
		return dialect_fail(e, "syntax", "Field \"%s\" is required",
		    key);
	if (json_is_integer(j) && json_integer_value(j) >= 0) {
		snprintf(out, ALIAS_DIGITS + 1, "%lld",
		    (long long)json_integer_value(j));
		return 0;
	}
	if (json_is_string(j)) {
		s = json_string_value(j);
		n = json_string_length(j);
		if (dialect_decimal_ok(s, n)) {
			memcpy(out, s, n + 1);
			return 0;
		}
	}
	return dialect_fail(e, "syntax",
	    "Field \"%s\" must be a non-negative integer", key);
}

/* Does a seed-003 color match ^#?[0-9A-Za-z]{1,20}$ ? */
static int
json_color_ok(const char *s, size_t len)
{
	size_t i = 0;

	if (len > 0 && s[0] == '#')
		i = 1;
	if (len - i < 1 || len - i > DIALECT_COLOR_MAX - 1)
		return 0;
	for (; i < len; i++)
		if (!((s[i] >= '0' && s[i] <= '9') ||
		    (s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z')))
			return 0;
	return 1;
}

/* {"type":"system","id":N,"name":NICK,...}: seed-003 registration. */
static int
json_seed003_system(struct dialect *d, json_t *o, struct sb_packet *pkt,
    struct dialect_err *e)
{
	char alias[ALIAS_DIGITS + 1];
	const char *name;

	e->identify = 1;
	if (json_alias(e, o, "id", 1, alias) || json_str(e, o, "name", 1,
	    "name", SB_NICK_MAX, DF_WORD, &name))
		return DIALECT_REPLY;
	d->seed003 = 1;
	return dialect_pack(d, pkt, SB_H_IDENTIFY, e, name, "", alias, NULL);
}

/* {"type":"user","to_id":N,"message":TEXT,"color":C,...}: seed 003. */
static int
json_seed003_user(struct dialect *d, json_t *o, struct sb_packet *pkt,
    struct dialect_err *e)
{
	char alias[ALIAS_DIGITS + 1];
	const char *text, *color = "";
	json_t *j;

	if (json_alias(e, o, "to_id", 1, alias) || json_str(e, o, "message", 1,
	    "message", SB_TEXT_MAX, 0, &text))
		return DIALECT_REPLY;
	j = json_object_get(o, "color");
	if (json_is_string(j) && json_color_ok(json_string_value(j),
	    json_string_length(j)))
		color = json_string_value(j);
	d->seed003 = 1;
	return dialect_pack(d, pkt, SB_H_PRIVMSG_ALIAS, e, alias, text,
	    color, NULL);
}

/* {"type":"me","text":T} with "room":R or "to":N or neither: ACTION. */
static int
json_me(struct dialect *d, json_t *o, struct sb_packet *pkt,
    struct dialect_err *e)
{
	int has_room = json_object_get(o, "room") != NULL;
	int has_to = json_object_get(o, "to") != NULL;
	const char *a, *b;

	if (has_room && has_to)
		return dialect_fail(e, "syntax",
		    "Fields \"room\" and \"to\" exclude each other");
	if (json_str(e, o, has_room ? "room" : "to", 0, has_room ? "room" :
	    has_to ? "nick" : "target", TARGET_MAX, DF_WORD |
	    (has_room || has_to ? 0 : DF_EMPTY_OK), &a) ||
	    json_str(e, o, "text", 1, "text", SB_TEXT_MAX, 0, &b))
		return DIALECT_REPLY;
	return dialect_pack(d, pkt, SB_H_ACTION, e, a, b, NULL);
}

/* The command of a parsed object, by its "type". */
static int
json_command(struct dialect *d, json_t *o, const char *type,
    struct sb_packet *pkt, struct dialect_err *e)
{
	char since[ALIAS_DIGITS + 1];
	const char *a, *b;

	if (strcmp(type, "login") == 0) {
		e->identify = 1;
		if (json_str(e, o, "nick", 1, "nick", SB_NICK_MAX, DF_WORD, &a) ||
		    json_str(e, o, "password", 0, "password", SB_PASS_MAX,
		    DF_EMPTY_OK, &b))
			return DIALECT_REPLY;
		return dialect_pack(d, pkt, SB_H_IDENTIFY, e, a, b, "", NULL);
	}
	if (strcmp(type, "msg") == 0) {
		if (json_str(e, o, "to", 1, "nick", SB_NICK_MAX, DF_WORD, &a) ||
		    json_str(e, o, "text", 1, "text", SB_TEXT_MAX, 0, &b))
			return DIALECT_REPLY;
		return dialect_pack(d, pkt, SB_H_PRIVMSG, e, a, b, NULL);
	}
	if (strcmp(type, "say") == 0) {
		if (json_str(e, o, "room", 1, "room", SB_ROOM_MAX, DF_WORD, &a) ||
		    json_str(e, o, "text", 1, "text", SB_TEXT_MAX, 0, &b))
			return DIALECT_REPLY;
		return dialect_pack(d, pkt, SB_H_ROOMMSG, e, a, b, NULL);
	}
	if (strcmp(type, "users") == 0)
		return dialect_pack(d, pkt, SB_H_LIST, e, NULL);
	if (strcmp(type, "rooms") == 0)
		return dialect_pack(d, pkt, SB_H_ROOMS, e, NULL);
	if (strcmp(type, "join") == 0) {
		if (json_str(e, o, "room", 1, "room", SB_ROOM_MAX, DF_WORD,
		    &a) || json_alias(e, o, "since", 0, since))
			return DIALECT_REPLY;
		return dialect_pack(d, pkt, SB_H_JOIN, e, a, since[0] ? since :
		    NULL, NULL);
	}
	if (strcmp(type, "part") == 0 || strcmp(type, "names") == 0) {
		if (json_str(e, o, "room", 1, "room", SB_ROOM_MAX, DF_WORD, &a))
			return DIALECT_REPLY;
		return dialect_pack(d, pkt, type[0] == 'p' ? SB_H_PART :
		    SB_H_NAMES, e, a, NULL);
	}
	if (strcmp(type, "nick") == 0) {
		if (json_str(e, o, "nick", 1, "nick", SB_NICK_MAX, DF_WORD, &a))
			return DIALECT_REPLY;
		return dialect_pack(d, pkt, SB_H_NICK, e, a, NULL);
	}
	if (strcmp(type, "me") == 0)
		return json_me(d, o, pkt, e);
	if (strcmp(type, "ping") == 0 || strcmp(type, "pong") == 0) {
		if (json_str(e, o, "token", 0, "token", DIALECT_TOKEN_MAX,
		    DF_WORD | DF_EMPTY_OK, &a))
			return DIALECT_REPLY;
		return dialect_pack(d, pkt, SB_H_PING, e, a, NULL);
	}
	if (strcmp(type, "quit") == 0) {
		if (json_str(e, o, "reason", 0, "reason", SB_REASON_MAX,
		    DF_EMPTY_OK, &a))
			return DIALECT_REPLY;
		return dialect_pack(d, pkt, SB_H_QUIT, e, a, NULL);
	}
	if (strcmp(type, "system") == 0)
		return json_seed003_system(d, o, pkt, e);
	if (strcmp(type, "user") == 0)
		return json_seed003_user(d, o, pkt, e);
	if (strlen(type) > DIALECT_ECHO_MAX)
		return dialect_fail(e, "syntax", "Unknown type");
	return dialect_fail(e, "syntax", "Unknown type \"%s\"", type);
}

/*
 * Parse one JSON command (see dialect.h, dialect_parse()).
 */
int
dialect_json_parse(struct dialect *d, const char *msg, size_t len,
    struct sb_packet *pkt, struct dialect_err *e)
{
	json_error_t jerr;
	json_t *o, *t;
	int r;

	assert(d != NULL && pkt != NULL && e != NULL);
	assert(msg != NULL || len == 0);
	if (len > DIALECT_INPUT_MAX)
		return dialect_fail(e, "limit",
		    "Message too long (max %d bytes)", DIALECT_INPUT_MAX);
	if (!json_depth_ok(msg, len))
		return dialect_fail(e, "limit", "JSON nested too deeply (max %d)",
		    DIALECT_JSON_DEPTH_MAX);
	json_arena_init();
	o = json_loadb(msg != NULL ? msg : "", len, JSON_REJECT_DUPLICATES,
	    &jerr);
	if (o == NULL)
		return dialect_fail(e, "syntax", "Invalid JSON: %s", jerr.text);
	t = json_object_get(o, "type");
	if (!json_is_object(o))
		r = dialect_fail(e, "syntax", "Message must be a JSON object");
	else if (t == NULL)
		r = dialect_fail(e, "syntax", "Field \"type\" is required");
	else if (!json_is_string(t))
		r = dialect_fail(e, "syntax", "Field \"type\" must be a string");
	else
		r = json_command(d, o, json_string_value(t), pkt, e);
	json_decref(o);
	return r;
}

/*
 * An event being written.  Events are flat objects of strings, integers,
 * booleans and arrays, and every string is checked as UTF-8 first, so they
 * are written straight into the output buffer (jansson's dump of a built
 * object cost ten times more per delivery); the bytes are the same as
 * json_dumps(JSON_COMPACT) of the same object.
 */
struct jev {
	struct buf	*b;
	size_t		 start;		/* where the event began in b */
	int		 err0;		/* b's sticky error before the event */
	int		 n;		/* members written */
	int		 badutf8;	/* a hub string was not UTF-8 */
};

/*
 * A JSON string of s[0..len), valid UTF-8: '"', '\' and the control
 * characters escaped as jansson does (the short forms, else \u00XX); the
 * rest, UTF-8 included, as it is.
 */
static void
json_put_str(struct buf *b, const char *s, size_t len)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t i, run = 0;
	char esc[6];

	buf_catlen(b, "\"", 1);
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		size_t n = 2;

		if (c >= 0x20 && c != '"' && c != '\\')
			continue;
		esc[0] = '\\';
		switch (c) {
		case '"': esc[1] = '"'; break;
		case '\\': esc[1] = '\\'; break;
		case '\b': esc[1] = 'b'; break;
		case '\f': esc[1] = 'f'; break;
		case '\n': esc[1] = 'n'; break;
		case '\r': esc[1] = 'r'; break;
		case '\t': esc[1] = 't'; break;
		default:
			memcpy(esc + 1, "u00", 3);
			esc[4] = hex[c >> 4];
			esc[5] = hex[c & 15];
			n = 6;
		}
		buf_catlen(b, s + run, i - run);
		buf_catlen(b, esc, n);
		run = i + 1;
	}
	buf_catlen(b, s + run, len - run);
	buf_catlen(b, "\"", 1);
}

/* The member's name: `,"key":` (no comma before the first). */
static void
jev_key(struct jev *j, const char *key)
{
	char k[40];
	size_t n = strlen(key), o = 0;

	assert(n + 4 <= sizeof(k));
	if (j->n++ > 0)
		k[o++] = ',';
	k[o++] = '"';
	memcpy(k + o, key, n);
	o += n;
	k[o++] = '"';
	k[o++] = ':';
	buf_catlen(j->b, k, o);
}

/* Begin an event in b: `{`. */
static void
jev_begin(struct jev *j, struct buf *b)
{
	*j = (struct jev){ .b = b, .start = b->len, .err0 = b->err };
	buf_catlen(b, "{", 1);
}

/* o[key] = the string s[0..len), which must be valid UTF-8. */
static void
jev_str(struct jev *j, const char *key, const char *s, size_t len)
{
	if (!utf8_valid(s, len)) {
		j->badutf8 = 1;
		return;
	}
	jev_key(j, key);
	json_put_str(j->b, s, len);
}

/* o[key] = a constant ASCII string that needs no escape. */
static void
jev_lit(struct jev *j, const char *key, const char *s)
{
	jev_key(j, key);
	buf_catlen(j->b, "\"", 1);
	buf_cat(j->b, s);
	buf_catlen(j->b, "\"", 1);
}

static void
jev_field(struct jev *j, const char *key, const struct sb_msg *m, size_t i)
{
	jev_str(j, key, m->field[i], m->flen[i]);
}

static void
jev_true(struct jev *j, const char *key)
{
	jev_key(j, key);
	buf_catlen(j->b, "true", 4);
}

/* o[key] = v, as jansson writes a json_int_t. */
static void
jev_int(struct jev *j, const char *key, long long v)
{
	unsigned long long u = v < 0 ? 0ULL - (unsigned long long)v :
	    (unsigned long long)v;
	char d[24];
	size_t o = sizeof(d);

	do
		d[--o] = (char)('0' + u % 10);
	while ((u /= 10) != 0);
	if (v < 0)
		d[--o] = '-';
	jev_key(j, key);
	buf_catlen(j->b, d + o, sizeof(d) - o);
}

/* Field i of m, a number from the hub (0 to INT64_MAX), or -1. */
static long long
json_hub_num(const struct sb_msg *m, size_t i)
{
	long long v;

	return sb_field_num(m, i, 0, INT64_MAX, &v) < 0 ? -1 : v;
}

/* A new event {"type":TYPE,"time":ISO,"from":FROM}. */
static void
jev_start(struct jev *j, struct buf *b, const char *type, time_t t,
    const char *from, size_t fromlen)
{
	char iso[21];

	jev_begin(j, b);
	dialect_iso(t, iso);
	jev_lit(j, "type", type);
	jev_lit(j, "time", iso);
	jev_str(j, "from", from, fromlen);
}

/* o[key] = an array of the words of a space-separated list. */
static void
jev_words(struct jev *j, const char *key, const char *list, size_t len)
{
	const char *p = list, *w;
	size_t wl;
	int n = 0;

	jev_key(j, key);
	buf_catlen(j->b, "[", 1);
	while (dialect_word_next(&p, list + len, &w, &wl)) {
		if (!utf8_valid(w, wl)) {
			j->badutf8 = 1;
			continue;
		}
		if (n++ > 0)
			buf_catlen(j->b, ",", 1);
		json_put_str(j->b, w, wl);
	}
	buf_catlen(j->b, "]", 1);
}

static int jev_emit(struct jev *);

/* {"type":"error","time":..,"from":"","code":CODE,"text":TEXT} */
static int
json_error_event(struct buf *b, const char *code, size_t clen,
    const char *text, size_t tlen, int seed003)
{
	struct jev j;

	if (seed003) {
		jev_begin(&j, b);
		jev_lit(&j, "type", "system");
		jev_str(&j, "message", text, tlen);
		return jev_emit(&j);
	}
	jev_start(&j, b, "error", time(NULL), "", 0);
	jev_str(&j, "code", code, clen);
	jev_str(&j, "text", text, tlen);
	return jev_emit(&j);
}

/*
 * Close the event: one compact JSON message.  If a hub string was not
 * valid UTF-8, an error event takes its place; if the buffer failed
 * (cap, memory), what the event wrote is taken back.
 */
static int
jev_emit(struct jev *j)
{
	struct buf *b = j->b;
	int r;

	if (j->err0 != 0)		/* sticky: nothing was added */
		return j->err0;
	buf_catlen(b, "}", 1);
	if (b->err != 0 || j->badutf8) {
		r = b->err;
		buf_truncate(b, j->start);
		if (r < 0)
			return r;
		return json_error_event(b, "encoding", strlen("encoding"),
		    JSON_BADUTF8, strlen(JSON_BADUTF8), 0);
	}
	if ((r = dialect_end(b)) < 0)
		return r;
	return 1;
}

/* A client-side error, in this dialect. */
int
dialect_json_error(struct dialect *d, struct buf *b,
    const struct dialect_err *e)
{
	assert(d != NULL && b != NULL && e != NULL);
	return json_error_event(b, e->code, strlen(e->code), e->text,
	    strlen(e->text), d->seed003);
}

/* msg (or the seed-003 usermsg) */
static int
json_msg(struct dialect *d, const struct sb_msg *m, struct buf *b)
{
	int flags = dialect_msg_flags(m);
	int room = m->flen[3] > 0, r;
	long long room_seq = 0;
	uint64_t seq;
	struct jev j;

	if (flags < 0)
		return flags;
	/* The room's number for the message (docs/delivery.md). */
	if (m->nfields > 7 && m->flen[7] > 0 &&
	    (room_seq = json_hub_num(m, 7)) < 0)
		return -EBADMSG;
	if (!room && (d->seed003 || m->flen[6] > 0)) {
		jev_begin(&j, b);
		jev_lit(&j, "type", "usermsg");
		jev_field(&j, "name", m, 1);
		jev_field(&j, "message", m, 4);
		jev_field(&j, "color", m, 6);
		return jev_emit(&j);
	}
	jev_start(&j, b, "msg", dialect_msg_time(m, 5), m->field[1],
	    flags & DM_ANNOUNCE ? 0 : m->flen[1]);
	if (room)
		jev_field(&j, "room", m, 3);
	else
		jev_field(&j, "to", m, 2);
	jev_field(&j, "text", m, 4);
	if (flags & DM_ACTION)
		jev_true(&j, "action");
	if (flags & DM_HISTORY)
		jev_true(&j, "history");
	if (flags & DM_ANNOUNCE)
		jev_true(&j, "announce");
	if (room_seq > 0)
		jev_int(&j, "room_seq", room_seq);
	/*
	 * The hub's epoch, and the number of this msg among those the
	 * session was shown in it: one more than the last, and more only
	 * after a loss (dialect_lost(), docs/delivery.md).  The hub's own
	 * sequence also counts what the client never sees numbered.
	 */
	if (m->epoch == 0)
		return jev_emit(&j);
	dialect_epoch(d, m->epoch);
	seq = d->seq + 1 + d->lost;
	jev_int(&j, "epoch", (long long)m->epoch);
	jev_int(&j, "seq", (long long)seq);
	r = jev_emit(&j);
	if (r == 1 && !j.badutf8) {
		d->seq = seq;
		d->lost = 0;
	} else
		dialect_lost(d, m->epoch, 1);	/* not shown as a msg */
	return r;
}

/* gap: {"room":R,"since":S,"first":F} (docs/delivery.md, "Catching up") */
static int
json_gap(const struct sb_msg *m, struct buf *b)
{
	struct jev j;

	if (json_hub_num(m, 1) < 0 || json_hub_num(m, 2) < 0)
		return -EBADMSG;
	jev_start(&j, b, "gap", time(NULL), "", 0);
	jev_field(&j, "room", m, 0);
	jev_int(&j, "since", json_hub_num(m, 1));
	jev_int(&j, "first", json_hub_num(m, 2));
	return jev_emit(&j);
}

/* rooms: [{"name":NAME,"members":N},...] */
static int
json_rooms(const struct sb_msg *m, struct buf *b)
{
	const char *p = m->field[1], *w;
	unsigned long count;
	size_t wl, nl;
	struct jev j, r;
	int n = 0;

	jev_start(&j, b, "rooms", time(NULL), "", 0);
	jev_key(&j, "rooms");
	buf_catlen(b, "[", 1);
	while (dialect_word_next(&p, m->field[1] + m->flen[1], &w, &wl)) {
		if (dialect_room_split(w, wl, &nl, &count) < 0) {
			if (j.err0 == 0)
				buf_truncate(b, j.start);
			return -EBADMSG;
		}
		if (!utf8_valid(w, nl)) {
			j.badutf8 = 1;
			continue;
		}
		if (n++ > 0)
			buf_catlen(b, ",", 1);
		r = (struct jev){ .b = b };
		buf_catlen(b, "{", 1);
		jev_str(&r, "name", w, nl);
		jev_int(&r, "members", (long long)count);
		buf_catlen(b, "}", 1);
	}
	buf_catlen(b, "]", 1);
	return jev_emit(&j);
}

/*
 * Render a hub message as one JSON event (see dialect_render());
 * every event is listed in docs/protocol-dialects.md.
 */
int
dialect_json_render(struct dialect *d, const struct sb_msg *m,
    struct buf *b)
{
	struct jev j;

	assert(d != NULL && m != NULL && b != NULL);
	switch (m->type) {
	case SB_C_IDENTIFIED:
		if (d->seed003) {
			jev_begin(&j, b);
			jev_lit(&j, "type", "system");
			jev_lit(&j, "message", "Initial message received");
			return jev_emit(&j);
		}
		jev_start(&j, b, "welcome", time(NULL), "", 0);
		jev_field(&j, "nick", m, 0);
		jev_field(&j, "name", m, 1);
		jev_field(&j, "id", m, 2);
		return jev_emit(&j);
	case SB_C_LOGIN:
		jev_start(&j, b, "login", time(NULL), "", 0);
		jev_field(&j, "nick", m, 0);
		jev_field(&j, "name", m, 1);
		return jev_emit(&j);
	case SB_C_QUIT:
		jev_start(&j, b, "quit", time(NULL), "", 0);
		jev_field(&j, "nick", m, 0);
		jev_field(&j, "reason", m, 1);
		return jev_emit(&j);
	case SB_C_MSG:
		return json_msg(d, m, b);
	case SB_C_ERROR:
		return json_error_event(b, m->field[0], m->flen[0], m->field[1],
		    m->flen[1], d->seed003);
	case SB_C_NICKLIST:
		jev_start(&j, b, "users", time(NULL), "", 0);
		if (m->flen[2] > 0)
			jev_field(&j, "room", m, 2);
		jev_words(&j, "users", m->field[1], m->flen[1]);
		return jev_emit(&j);
	case SB_C_ROOMLIST:
		return json_rooms(m, b);
	case SB_C_JOINED:
		jev_start(&j, b, "join", time(NULL), "", 0);
		jev_field(&j, "room", m, 0);
		jev_field(&j, "nick", m, 1);
		if (m->flen[2] > 0)
			jev_words(&j, "members", m->field[2], m->flen[2]);
		return jev_emit(&j);
	case SB_C_PARTED:
		jev_start(&j, b, "part", time(NULL), "", 0);
		jev_field(&j, "room", m, 0);
		jev_field(&j, "nick", m, 1);
		jev_field(&j, "reason", m, 2);
		return jev_emit(&j);
	case SB_C_NICKCHANGE:
		jev_start(&j, b, "nick", time(NULL), "", 0);
		jev_field(&j, "old", m, 0);
		jev_field(&j, "new", m, 1);
		return jev_emit(&j);
	case SB_C_PONG:
	case SB_C_PING:
		jev_start(&j, b, m->type == SB_C_PONG ? "pong" : "ping",
		    time(NULL), "", 0);
		jev_field(&j, "token", m, 0);
		return jev_emit(&j);
	case SB_C_CLOSE:
		jev_start(&j, b, "close", time(NULL), "", 0);
		jev_field(&j, "code", m, 0);
		jev_field(&j, "reason", m, 1);
		return jev_emit(&j);
	case SB_C_GAP:
		return json_gap(m, b);
	default:
		return -EBADMSG;
	}
}
