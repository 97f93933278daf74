/* SPDX-License-Identifier: ISC */
/*
 * The cluster's words, without I/O: a room message as it travels through
 * Redis (published as "EPOCH SEQ BODY", kept in the room's stream as
 * BODY under the id "SEQ-0"), presence events, user records, inbox
 * entries, the bans of the cluster's list (sb:bans: a field
 * "nick:KEY" or "addr:TARGET" and a bans.json entry), the cluster's
 * copy of the member store (sb:members: version, digest, text), the
 * cluster_redis
 * address and the cluster_password file.  Everything read from Redis is
 * checked here
 * before the hub believes it: a malformed or oversized entry is refused
 * with -EBADMSG or -EMSGSIZE (hub/cluster.c logs it and goes on).
 *
 * BODY is a JSON object (docs/cluster.md, "Keys and channels"):
 *
 *	{"k":KIND,"f":FROM,"r":ROOM,"t":TEXT,"w":UNIX_TIME,"n":NODE,
 *	 "i":ID[,"p":1]}
 *
 * ID ([0-9a-f-], 1 to 40 bytes) names the message among its node's
 * (the node's boot and a counter), so that the node knows its own when
 * they come back.
 * "p":1 marks a message its node already delivered to its own members
 * while Redis was away (the outbox): that node records it, and does not
 * deliver it again.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bsd/string.h>
#include <jansson.h>

#include "hub.h"

/* A decimal of 1 to 19 digits, no sign, no leading zero, into *n. */
static int
decimal(const char *s, size_t len, uint64_t *n)
{
	uint64_t v = 0;
	size_t i;

	if (len == 0 || len > 19 || (s[0] == '0' && len > 1))
		return -EBADMSG;
	for (i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -EBADMSG;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	*n = v;
	return 0;
}

/* 1 if `s` (len bytes) is a node name: [A-Za-z0-9._-], 1 to 32 bytes. */
int
cluster_node_ok(const char *s, size_t len)
{
	size_t i;

	if (len == 0 || len > CLUSTER_NODE_MAX)
		return 0;
	for (i = 0; i < len; i++)
		if (strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
		    "0123456789._-", s[i]) == NULL || s[i] == '\0')
			return 0;
	return 1;
}

/*
 * Copy the JSON string member `key` of `o` into dst (size dstsz): it
 * must be there, hold no NUL, and fit; `empty` says whether "" will do.
 */
static int
member_str(json_t *o, const char *key, char *dst, size_t dstsz, int empty)
{
	json_t *v = json_object_get(o, key);
	size_t len;

	if (!json_is_string(v))
		return -EBADMSG;
	len = json_string_length(v);
	if (len >= dstsz)
		return -EMSGSIZE;
	if (memchr(json_string_value(v), '\0', len) != NULL ||
	    (len == 0 && !empty))
		return -EBADMSG;
	memcpy(dst, json_string_value(v), len + 1);
	return 0;
}

/* The checks of the body's members beyond their JSON types. */
static int
body_check(const struct cluster_msg *m)
{
	const char *why;

	if (strcmp(m->kind, "room") != 0 && strcmp(m->kind, "action") != 0)
		return -EBADMSG;
	if (room_name_check(m->room, &why) < 0 ||
	    !cluster_node_ok(m->node, strlen(m->node)))
		return -EBADMSG;
	if (strpbrk(m->from, " \t\r\n") != NULL ||
	    strspn(m->id, "0123456789abcdef-") != strlen(m->id))
		return -EBADMSG;
	return 0;
}

/* The body's members into m; the JSON object was parsed already. */
static int
body_members(json_t *o, void *arg)
{
	struct cluster_msg *m = arg;
	json_t *w = json_object_get(o, "w"), *p = json_object_get(o, "p");
	int r;

	if ((r = member_str(o, "k", m->kind, sizeof(m->kind), 0)) < 0 ||
	    (r = member_str(o, "f", m->from, sizeof(m->from), 1)) < 0 ||
	    (r = member_str(o, "r", m->room, sizeof(m->room), 0)) < 0 ||
	    (r = member_str(o, "t", m->text, sizeof(m->text), 1)) < 0 ||
	    (r = member_str(o, "n", m->node, sizeof(m->node), 0)) < 0 ||
	    (r = member_str(o, "i", m->id, sizeof(m->id), 0)) < 0)
		return r;
	if (!json_is_integer(w) || json_integer_value(w) < 0 ||
	    json_integer_value(w) > CLUSTER_TIME_MAX)
		return -EBADMSG;
	m->time = json_integer_value(w);
	if (p != NULL && (!json_is_integer(p) || json_integer_value(p) != 1))
		return -EBADMSG;
	m->pre = p != NULL;
	if (json_object_size(o) != 7u + (p != NULL))
		return -EBADMSG;	/* a member we do not know */
	return body_check(m);
}

/*
 * Parse `len` bytes of JSON (at most `max`, no duplicate keys) and hand
 * the value to `fn` with `arg`: its answer, or -EMSGSIZE, -EBADMSG.
 */
static int
json_decode(const char *buf, size_t len, size_t max,
    int (*fn)(json_t *, void *), void *arg)
{
	json_error_t e;
	json_t *o;
	int r;

	if (len > max)
		return -EMSGSIZE;
	if ((o = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &e)) == NULL)
		return -EBADMSG;
	r = json_is_object(o) ? fn(o, arg) : -EBADMSG;
	json_decref(o);
	return r;
}

/*
 * Decode a message's BODY (len bytes, no NUL needed) into m (its epoch
 * and seq are left alone).  Returns 0, -EMSGSIZE past CLUSTER_BODY_MAX
 * or a member past its limit, -EBADMSG for anything else wrong.
 */
int
cluster_body_decode(const char *buf, size_t len, struct cluster_msg *m)
{
	return json_decode(buf, len, CLUSTER_BODY_MAX, body_members, m);
}

/*
 * Decode a published message, "EPOCH SEQ BODY" (len bytes): EPOCH is
 * 1 to CLUSTER_EPOCH_MAX digits, SEQ a decimal from 1.  Returns as
 * cluster_body_decode().
 */
int
cluster_msg_decode(const char *buf, size_t len, struct cluster_msg *m)
{
	const char *sp1, *sp2, *end = buf + len;
	uint64_t epoch;

	if (len > CLUSTER_MSG_MAX)
		return -EMSGSIZE;
	if ((sp1 = memchr(buf, ' ', len)) == NULL ||
	    (sp2 = memchr(sp1 + 1, ' ', (size_t)(end - sp1 - 1))) == NULL)
		return -EBADMSG;
	if ((size_t)(sp1 - buf) > CLUSTER_EPOCH_MAX ||
	    decimal(buf, (size_t)(sp1 - buf), &epoch) < 0 ||
	    decimal(sp1 + 1, (size_t)(sp2 - sp1 - 1), &m->seq) < 0 ||
	    m->seq == 0 || m->seq > INT64_MAX)
		return -EBADMSG;
	memcpy(m->epoch, buf, (size_t)(sp1 - buf));
	m->epoch[sp1 - buf] = '\0';
	return cluster_body_decode(sp2 + 1, (size_t)(end - sp2 - 1), m);
}

/* A stream entry's id, "SEQ-0", into *seq.  Returns 0 or -EBADMSG. */
int
cluster_entry_id(const char *id, size_t len, uint64_t *seq)
{
	const char *dash = memchr(id, '-', len);

	if (dash == NULL || (size_t)(id + len - dash) != 2 || dash[1] != '0' ||
	    decimal(id, (size_t)(dash - id), seq) < 0 || *seq == 0 ||
	    *seq > INT64_MAX)
		return -EBADMSG;
	return 0;
}

/*
 * An entry of a node's inbox, or its publish, "SEQ BODY": its number
 * (the node's inbox counter, from 1) into *seq, and where BODY starts
 * into *off.  Returns 0 or -EBADMSG (a bare wake-up, "1", included).
 */
int
cluster_inbox_entry(const char *buf, size_t len, uint64_t *seq, size_t *off)
{
	const char *sp = memchr(buf, ' ', len);

	if (sp == NULL || decimal(buf, (size_t)(sp - buf), seq) < 0 ||
	    *seq == 0 || *seq > INT64_MAX)
		return -EBADMSG;
	*off = (size_t)(sp + 1 - buf);
	return 0;
}

/*
 * Where the hub is in its node's inbox, as it keeps that on disk: the
 * first line of buf, "SEQ EPOCH" (the last number delivered, the inbox
 * counter's epoch), into *seq and epoch (CLUSTER_EPOCH_MAX + 1 bytes).
 * What follows the first newline is ignored (a longer line written
 * before).  Returns 0 or -EBADMSG.
 */
int
cluster_inbox_place(const char *buf, size_t len, uint64_t *seq, char *epoch)
{
	const char *nl = memchr(buf, '\n', len);
	uint64_t e;
	size_t off, elen;

	if (nl == NULL || cluster_inbox_entry(buf, (size_t)(nl - buf), seq,
	    &off) < 0)
		return -EBADMSG;
	elen = (size_t)(nl - buf) - off;
	if (elen > CLUSTER_EPOCH_MAX || decimal(buf + off, elen, &e) < 0)
		return -EBADMSG;
	memcpy(epoch, buf + off, elen);
	epoch[elen] = '\0';
	return 0;
}

/*
 * Encode m's body (not its epoch or seq) into buf; returns its length,
 * or -EMSGSIZE (past CLUSTER_BODY_MAX or bufsz) or -ENOMEM.
 */
int
cluster_body_encode(const struct cluster_msg *m, char *buf, size_t bufsz)
{
	json_t *o;
	size_t n;

	o = json_pack("{s:s,s:s,s:s,s:s,s:I,s:s,s:s}", "k", m->kind,
	    "f", m->from, "r", m->room, "t", m->text, "w", (json_int_t)m->time,
	    "n", m->node, "i", m->id);
	if (o == NULL)
		return -ENOMEM;
	if (m->pre && json_object_set_new(o, "p", json_integer(1)) < 0) {
		json_decref(o);
		return -ENOMEM;
	}
	n = json_dumpb(o, buf, bufsz, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(o);
	if (n == 0)
		return -ENOMEM;
	if (n >= bufsz || n > CLUSTER_BODY_MAX)
		return -EMSGSIZE;
	buf[n] = '\0';
	return (int)n;
}

/*
 * cluster_redis: "/absolute/path" (a Unix socket: *port 0) or
 * "HOST:PORT", "[V6]:PORT".  Returns 0 or -EINVAL with the reason.
 */
int
cluster_addr_parse(const char *s, char *host, size_t hostsz, int *port,
    char *err, size_t errsz)
{
	const char *colon, *h = s, *hend;
	uint64_t n;

	*port = 0;
	if (s[0] == '/') {
		if (strlcpy(host, s, hostsz) >= hostsz || strlen(s) > 107) {
			snprintf(err, errsz, "cluster_redis: socket path too "
			    "long");
			return -EINVAL;
		}
		return 0;
	}
	colon = strrchr(s, ':');
	hend = colon;
	if (s[0] == '[') {
		h = s + 1;
		if (colon == NULL || colon == s || colon[-1] != ']') {
			snprintf(err, errsz, "cluster_redis: expected [ADDRESS]"
			    ":PORT, HOST:PORT or /path, got \"%.60s\"", s);
			return -EINVAL;
		}
		hend = colon - 1;
	}
	if (colon == NULL || hend <= h || (size_t)(hend - h) >= hostsz ||
	    memchr(h, ' ', (size_t)(hend - h)) != NULL ||
	    decimal(colon + 1, strlen(colon + 1), &n) < 0 || n == 0 ||
	    n > 65535) {
		snprintf(err, errsz, "cluster_redis: expected HOST:PORT (port "
		    "1 to 65535) or an absolute socket path, got \"%.60s\"", s);
		return -EINVAL;
	}
	memcpy(host, h, (size_t)(hend - h));
	host[hend - h] = '\0';
	*port = (int)n;
	return 0;
}

/*
 * The first line of a cluster_password file (NUL-terminated, the line
 * end included or not): "USER PASSWORD" or "PASSWORD".  user gets "" for
 * the second.  Returns 0 or -EINVAL (empty, control characters, more than
 * two words, too long).
 */
int
cluster_password_parse(const char *line, char *user, size_t usersz,
    char *pass, size_t passsz)
{
	size_t len = strcspn(line, "\r\n");
	const char *sp, *p;

	if (len == 0 || len >= passsz)
		return -EINVAL;
	for (p = line; p < line + len; p++)
		if ((unsigned char)*p < 0x20 && *p != ' ')
			return -EINVAL;
	user[0] = '\0';
	if ((sp = memchr(line, ' ', len)) == NULL) {
		memcpy(pass, line, len);
		pass[len] = '\0';
		return 0;
	}
	if (sp == line || (size_t)(sp - line) >= usersz ||
	    memchr(sp + 1, ' ', len - (size_t)(sp - line) - 1) != NULL ||
	    sp + 1 == line + len)
		return -EINVAL;
	memcpy(user, line, (size_t)(sp - line));
	user[sp - line] = '\0';
	memcpy(pass, sp + 1, len - (size_t)(sp - line) - 1);
	pass[len - (size_t)(sp - line) - 1] = '\0';
	return 0;
}

/*
 * A user record, {"k":NICK,"m":NAME,"r":[ROOM,...]}, into u; the nick's
 * rules are remote_set()'s to check, the rooms' here.
 */
static int
record_members(json_t *o, void *arg)
{
	struct remote_user *u = arg;
	json_t *rooms = json_object_get(o, "r"), *v;
	const char *why;
	size_t i;
	int r;

	if (!json_is_object(o) || json_object_size(o) != 3 ||
	    !json_is_array(rooms) || json_array_size(rooms) > HUB_ROOMS_PER_PEER)
		return -EBADMSG;
	if ((r = member_str(o, "k", u->nick, sizeof(u->nick), 0)) < 0 ||
	    (r = member_str(o, "m", u->name, sizeof(u->name), 1)) < 0)
		return r;
	u->nrooms = 0;
	json_array_foreach(rooms, i, v) {
		if (!json_is_string(v) ||
		    json_string_length(v) >= sizeof(u->rooms[0]) ||
		    room_name_check(json_string_value(v), &why) < 0)
			return -EBADMSG;
		strlcpy(u->rooms[u->nrooms++], json_string_value(v),
		    sizeof(u->rooms[0]));
	}
	return 0;
}

/* Decode a user record (len bytes) into u.  Returns as the others. */
int
cluster_record_decode(const char *buf, size_t len, struct remote_user *u)
{
	return json_decode(buf, len, CLUSTER_BODY_MAX, record_members, u);
}

static const char *const pres_names[] = {
	[REMOTE_SYNC] = "reset", [REMOTE_LOGIN] = "login",
	[REMOTE_JOIN] = "join", [REMOTE_PART] = "part",
	[REMOTE_NICK] = "nick", [REMOTE_QUIT] = "quit",
};

/* The event's name, or NULL. */
const char *
cluster_pres_name(enum remote_ev ev)
{
	return (size_t)ev < sizeof(pres_names) / sizeof(pres_names[0]) ?
	    pres_names[ev] : NULL;
}

/* The members of a presence event, after its counter. */
static int
pres_members(json_t *o, struct cluster_pres *ev)
{
	char name[16];
	json_t *s = json_object_get(o, "s"), *u = json_object_get(o, "u");
	size_t i;
	int r = 0;

	if (!json_is_object(o) ||
	    (r = member_str(o, "e", name, sizeof(name), 0)) < 0 ||
	    (r = member_str(o, "n", ev->node, sizeof(ev->node), 0)) < 0 ||
	    !cluster_node_ok(ev->node, strlen(ev->node)))
		return r < 0 ? r : -EBADMSG;
	ev->down = strcmp(name, "down") == 0;
	for (i = 0; i < sizeof(pres_names) / sizeof(pres_names[0]); i++)
		if (strcmp(name, pres_names[i]) == 0)
			break;
	if (ev->down)
		return json_object_size(o) == 2 ? 0 : -EBADMSG;
	if (i == sizeof(pres_names) / sizeof(pres_names[0]))
		return -EBADMSG;
	ev->ev = (enum remote_ev)i;
	if (ev->ev == REMOTE_SYNC)
		return json_object_size(o) == 2 ? 0 : -EBADMSG;
	if (!json_is_integer(s) || json_integer_value(s) < 1 ||
	    (r = member_str(o, "a", ev->a, sizeof(ev->a), 1)) < 0 ||
	    (r = member_str(o, "b", ev->b, sizeof(ev->b), 1)) < 0)
		return r < 0 ? r : -EBADMSG;
	ev->session = (uint64_t)json_integer_value(s);
	if (ev->ev == REMOTE_QUIT)
		return json_object_size(o) == 6 && json_is_null(u) ? 0 :
		    -EBADMSG;
	return json_object_size(o) == 6 ? record_members(u, &ev->user) :
	    -EBADMSG;
}

/*
 * A presence event from the channel sb:pres, "COUNTER JSON" (COUNTER 0:
 * a node's end, published by the hub that reaped it).  Returns 0,
 * -EBADMSG, -EMSGSIZE.
 */
int
cluster_pres_decode(const char *buf, size_t len, struct cluster_pres *ev)
{
	const char *sp = memchr(buf, ' ', len);
	json_error_t e;
	json_t *o;
	int r;

	if (len > CLUSTER_MSG_MAX)
		return -EMSGSIZE;
	memset(ev, 0, sizeof(*ev));
	if (sp == NULL || (sp == buf + 1 && buf[0] == '0' ? 0 :
	    decimal(buf, (size_t)(sp - buf), &ev->counter) < 0 ||
	    ev->counter == 0))
		return -EBADMSG;
	if ((o = json_loadb(sp + 1, (size_t)(buf + len - sp - 1),
	    JSON_REJECT_DUPLICATES, &e)) == NULL)
		return -EBADMSG;
	r = pres_members(o, ev);
	json_decref(o);
	if (r == 0 && (ev->down != (ev->counter == 0)))
		r = -EBADMSG;
	return r;
}

/*
 * A private message from another machine, on sb:to:NODE:
 * {"k":KIND,"f":FROM,"t":TO,"s":SESSION,"x":TEXT,"w":TIME}.  KIND
 * private or action; or kick or ban: an operator on node FROM ended
 * session TO there, TEXT the reason its client is told.
 */
int
cluster_pm_decode(const char *buf, size_t len, struct cluster_pm *pm)
{
	json_error_t e;
	json_t *o, *s, *w;
	int r;

	if (len > CLUSTER_BODY_MAX)
		return -EMSGSIZE;
	if ((o = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &e)) == NULL)
		return -EBADMSG;
	s = json_object_get(o, "s");
	w = json_object_get(o, "w");
	r = !json_is_object(o) || json_object_size(o) != 6 ||
	    !json_is_integer(s) || json_integer_value(s) < 1 ||
	    !json_is_integer(w) || json_integer_value(w) < 0 ||
	    json_integer_value(w) > CLUSTER_TIME_MAX ? -EBADMSG : 0;
	if (r == 0 &&
	    ((r = member_str(o, "k", pm->kind, sizeof(pm->kind), 0)) < 0 ||
	    (r = member_str(o, "f", pm->from, sizeof(pm->from), 0)) < 0 ||
	    (r = member_str(o, "t", pm->to, sizeof(pm->to), 0)) < 0 ||
	    (r = member_str(o, "x", pm->text, sizeof(pm->text), 1)) < 0))
		;
	else if (r == 0 && strcmp(pm->kind, "private") != 0 &&
	    strcmp(pm->kind, "action") != 0 && strcmp(pm->kind, "kick") != 0 &&
	    strcmp(pm->kind, "ban") != 0)
		r = -EBADMSG;
	if (r == 0) {
		pm->session = (uint64_t)json_integer_value(s);
		pm->time = json_integer_value(w);
	}
	json_decref(o);
	return r;
}

/*
 * A ban's field in the cluster's list (sb:bans): "nick:KEY" (the folded
 * nick) or "addr:TARGET" (the canonical address or prefix) into buf.
 * Returns its length, or -EMSGSIZE.
 */
int
cluster_ban_field(const struct ban *b, char *buf, size_t bufsz)
{
	int n;

	n = snprintf(buf, bufsz, "%s:%s", b->kind == BAN_NICK ? "nick" :
	    "addr", b->kind == BAN_NICK ? b->key : b->target);
	return n < 0 || (size_t)n >= bufsz || n > CLUSTER_BAN_FIELD_MAX ?
	    -EMSGSIZE : n;
}

/*
 * A ban's value in sb:bans: its bans.json entry without "shared", one
 * line, its members always in one order (so that two hubs write one ban
 * alike, and a value can be compared).  Returns its length, or
 * -EMSGSIZE, -ENOMEM.
 */
int
cluster_ban_encode(const struct ban *b, char *buf, size_t bufsz)
{
	json_t *o = ban_json_write(b, 0);
	size_t n;

	if (o == NULL)
		return -ENOMEM;
	n = json_dumpb(o, buf, bufsz, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(o);
	if (n == 0)
		return -ENOMEM;
	if (n >= bufsz || n > CLUSTER_BAN_MAX)
		return -EMSGSIZE;
	buf[n] = '\0';
	return (int)n;
}

/* A ban's members: as bans.json has them, no more, plain text. */
static int
ban_members(json_t *o, void *arg)
{
	struct ban *b = arg;
	const char *k;
	char why[256];
	json_t *v;

	if (json_object_size(o) != 4 || json_object_get(o, "shared") != NULL)
		return -EBADMSG;
	json_object_foreach(o, k, v)
		if (json_is_string(v) && memchr(json_string_value(v), '\0',
		    json_string_length(v)) != NULL)
			return -EBADMSG;
	if (json_is_string(v = json_object_get(o, "reason")) &&
	    json_string_length(v) > BAN_REASON_MAX)
		return -EMSGSIZE;
	if (ban_json_read(b, o, why, sizeof(why)) < 0)
		return -EBADMSG;
	if (b->since > CLUSTER_TIME_MAX || b->until > CLUSTER_TIME_MAX ||
	    !text_plain(b->reason, strlen(b->reason)))
		return -EBADMSG;
	return 0;
}

/*
 * A ban of the cluster's list: the field (flen bytes) and its value
 * (vlen bytes) from sb:bans, into b (not shared).  The value is checked
 * as bans.json is, its reason is plain text, and the field must be the
 * ban's own (cluster_ban_field).  Returns 0, -EMSGSIZE, -EBADMSG.
 */
int
cluster_ban_decode(const char *field, size_t flen, const char *val,
    size_t vlen, struct ban *b)
{
	char want[CLUSTER_BAN_FIELD_MAX + 1];
	int n, r;

	if (flen > CLUSTER_BAN_FIELD_MAX)
		return -EMSGSIZE;
	if ((r = json_decode(val, vlen, CLUSTER_BAN_MAX, ban_members, b)) < 0)
		return r;
	if ((n = cluster_ban_field(b, want, sizeof(want))) < 0 ||
	    (size_t)n != flen || memcmp(want, field, flen) != 0)
		return -EBADMSG;
	return 0;
}

/*
 * The cluster's copy of the member store, the fields of sb:members: `v`
 * (the version, a decimal), `d` (the text's SHA-256, 64 lowercase hex
 * digits) and `t` (the text, tlen bytes, at most MEMBERS_FILE_MAX).  Stores
 * the version in *version.  That `d` is the text's digest is checked by
 * the caller (members_digest), whether the text is a good members file
 * by members_parse.  Returns 0, -EMSGSIZE (the text too long) or
 * -EBADMSG.
 */
int
cluster_members_decode(const char *v, size_t vlen, const char *d,
    size_t dlen, size_t tlen, uint64_t *version)
{
	size_t i;

	if (decimal(v, vlen, version) < 0 || dlen != MEMBERS_DIGEST_LEN)
		return -EBADMSG;
	for (i = 0; i < dlen; i++)
		if (!((d[i] >= '0' && d[i] <= '9') || (d[i] >= 'a' &&
		    d[i] <= 'f')))
			return -EBADMSG;
	if (tlen > MEMBERS_FILE_MAX)
		return -EMSGSIZE;
	return 0;
}
