/* SPDX-License-Identifier: ISC */
/*
 * The cluster's words, without I/O: a room message as it travels through
 * Redis (published as "EPOCH SEQ BODY", kept in the room's stream as
 * BODY under the id "SEQ-0"), the cluster_redis address and the
 * cluster_password file.  Everything read from Redis is checked here
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
body_members(json_t *o, struct cluster_msg *m)
{
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
 * Decode a message's BODY (len bytes, no NUL needed) into m (its epoch
 * and seq are left alone).  Returns 0, -EMSGSIZE past CLUSTER_BODY_MAX
 * or a member past its limit, -EBADMSG for anything else wrong.
 */
int
cluster_body_decode(const char *buf, size_t len, struct cluster_msg *m)
{
	json_error_t e;
	json_t *o;
	int r;

	if (len > CLUSTER_BODY_MAX)
		return -EMSGSIZE;
	if ((o = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &e)) == NULL)
		return -EBADMSG;
	r = json_is_object(o) ? body_members(o, m) : -EBADMSG;
	json_decref(o);
	return r;
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
