/* SPDX-License-Identifier: ISC */
/*
 * Reading switchboard.conf (see config.h).
 */
#include <assert.h>
#include <ctype.h>
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bsd/string.h>

#include "cidr.h"
#include "config.h"

enum ctype { C_STR, C_UINT, C_BOOL, C_AUTH, C_PATHS, C_CIDRS };

struct ckey {
	const char	*name;
	enum ctype	 type;
	size_t		 off;
	size_t		 size;		/* C_STR, C_PATHS: buffer size */
	unsigned	 min, max;	/* C_UINT */
	int		 handler;	/* forwarded to handlers */
};

#define S(f, h)		{ #f, C_STR, offsetof(struct sb_config, f), \
			  sizeof(((struct sb_config *)0)->f), 0, 0, h }
#define U(f, lo, hi, h)	{ #f, C_UINT, offsetof(struct sb_config, f), 0, \
			  lo, hi, h }
#define B(f, h)		{ #f, C_BOOL, offsetof(struct sb_config, f), 0, 0, 1, h }

static const struct ckey keys[] = {
	S(handler_user, 0), S(handler_group, 0), S(admin_group, 0),
	U(max_clients, 1, 1000000, 0), U(max_per_address, 0, 1000000, 0),
	S(state_dir, 0),
	S(cluster_redis, 0), S(cluster_password, 0), S(cluster_node, 0),
	{ "auth", C_AUTH, offsetof(struct sb_config, auth), 0, 0, 2, 0 },
	S(members_file, 0), S(rooms, 0), B(room_create, 0),
	U(max_rooms, 1, 100000, 0), U(presence_max, 0, 1000000, 0),
	U(history, 0, 10000, 0), U(history_retention, 0, 2592000, 0),
	B(transcript, 0),
	B(log_messages, 0),
	U(flood_rate, 1, 100000, 0), U(flood_burst, 1, 100000, 0),
	U(flood_kick, 1, 100000, 0),
	S(tls_cert, 0), S(tls_key, 0),
	S(server_name, 1), S(policy_domains, 1), S(policy_ports, 1),
	S(redirect_url, 1),
	U(xmlsocket_max, 64, SB_TEXT_MAX * 4, 1),
	U(connect_timeout, 1, 3600, 1), U(idle_timeout, 5, 86400, 1),
	U(ping_timeout, 1, 3600, 1), U(handshake_timeout, 1, 600, 1),
	U(ws_max_message, 125, 16 * 1024 * 1024, 1), B(ws_echo, 1),
	S(ws_origins, 1),
	{ "ws_chat_paths", C_PATHS, offsetof(struct sb_config, ws_chat_paths),
	  sizeof(((struct sb_config *)0)->ws_chat_paths), 0, 0, 1 },
	U(outq_max, 4096, 64 * 1024 * 1024, 1),
	U(backlog_max, 0, 16 * 1024 * 1024, 1),
	{ "metrics_from", C_CIDRS, offsetof(struct sb_config, metrics_from),
	  sizeof(((struct sb_config *)0)->metrics_from), 0, 0, 1 },
	{ "proxy_from", C_CIDRS, offsetof(struct sb_config, proxy_from),
	  sizeof(((struct sb_config *)0)->proxy_from), 0, 0, 1 },
};

#undef S
#undef U
#undef B

_Static_assert(CONFIG_WS_PATHS_MAX * (CONFIG_WS_PATH_MAX + 1) <=
    sizeof(((struct sb_config *)0)->ws_chat_paths),
    "the longest ws_chat_paths list does not fit its buffer");

/* The WebSocket paths the handler serves itself (handler/serve.c). */
static const char *const builtin_ws_paths[] = {
	"/", "/chat", "/xmlsocket", "/echo",
};

/* The separators of a ws_chat_paths list. */
#define PATHS_SEP	" \t,"

/*
 * Check one ws_chat_paths entry, v[0..len): it starts with '/', holds
 * printable ASCII without '?', '#', ',' or blanks, at most
 * CONFIG_WS_PATH_MAX bytes, '*' only as the last byte (a prefix), and
 * is not a built-in path.  Returns 0 or -EINVAL with the reason in err.
 */
static int
config_check_path(const char *v, size_t len, char *err, size_t errsz)
{
	size_t i;

	if (len > CONFIG_WS_PATH_MAX) {
		snprintf(err, errsz, "ws_chat_paths: \"%.40s...\" is longer "
		    "than %d bytes", v, CONFIG_WS_PATH_MAX);
		return -EINVAL;
	}
	if (v[0] != '/') {
		snprintf(err, errsz, "ws_chat_paths: \"%.*s\" does not start "
		    "with '/'", (int)len, v);
		return -EINVAL;
	}
	for (i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)v[i];

		if (ch <= 0x20 || ch >= 0x7f || ch == '?' || ch == '#' ||
		    (ch == '*' && i + 1 != len)) {
			snprintf(err, errsz, "ws_chat_paths: \"%.*s\": only "
			    "printable ASCII without '?' or '#' is allowed, "
			    "and '*' only at the end", (int)len, v);
			return -EINVAL;
		}
	}
	for (i = 0; i < sizeof(builtin_ws_paths) /
	    sizeof(builtin_ws_paths[0]); i++)
		if (strlen(builtin_ws_paths[i]) == len &&
		    memcmp(builtin_ws_paths[i], v, len) == 0) {
			snprintf(err, errsz, "ws_chat_paths: %s is a built-in "
			    "WebSocket path", builtin_ws_paths[i]);
			return -EINVAL;
		}
	return 0;
}

/*
 * Check a whole ws_chat_paths value: entries separated by blanks or
 * commas, at most CONFIG_WS_PATHS_MAX.  Returns 0 or -EINVAL (err).
 */
static int
config_check_paths(const char *v, char *err, size_t errsz)
{
	size_t n = 0, len;

	for (v += strspn(v, PATHS_SEP); *v != '\0';
	    v += len, v += strspn(v, PATHS_SEP)) {
		len = strcspn(v, PATHS_SEP);
		if (++n > CONFIG_WS_PATHS_MAX) {
			snprintf(err, errsz, "ws_chat_paths: more than %d "
			    "paths", CONFIG_WS_PATHS_MAX);
			return -EINVAL;
		}
		if (config_check_path(v, len, err, errsz) < 0)
			return -EINVAL;
	}
	return 0;
}

/*
 * Check the value of a list key, ws_chat_paths (C_PATHS) or a list of
 * address prefixes (C_CIDRS, common/cidr.h).  Returns 0 or -EINVAL
 * with the reason, naming the key, in err.
 */
static int
config_check_list(const struct ckey *k, const char *v, char *err,
    size_t errsz)
{
	char why[128];

	if (k->type == C_PATHS)
		return config_check_paths(v, err, errsz);
	if (cidr_list_check(v, why, sizeof(why)) < 0) {
		snprintf(err, errsz, "%s: %s", k->name, why);
		return -EINVAL;
	}
	return 0;
}

/*
 * Is the request path path[0..len) (before any '?', not decoded) one of
 * the ws_chat_paths?  An entry matches byte for byte; one ending in '*'
 * matches every path that starts with the bytes before it.
 */
int
config_ws_chat_path(const struct sb_config *c, const char *path, size_t len)
{
	const char *v;
	size_t n;

	assert(c != NULL && path != NULL);
	for (v = c->ws_chat_paths + strspn(c->ws_chat_paths, PATHS_SEP);
	    *v != '\0'; v += n, v += strspn(v, PATHS_SEP)) {
		n = strcspn(v, PATHS_SEP);
		if (v[n - 1] == '*') {
			if (len >= n - 1 && memcmp(path, v, n - 1) == 0)
				return 1;
		} else if (len == n && memcmp(path, v, n) == 0)
			return 1;
	}
	return 0;
}

/*
 * The defaults of every key: the hub's, then the handlers'
 * (config_handler_defaults).
 */
void
config_defaults(struct sb_config *c)
{
	assert(c != NULL);
	*c = (struct sb_config){
		.max_clients = 4096,
		.max_per_address = 256,
		.auth = AUTH_GUEST,
		.room_create = 1,
		.max_rooms = 256,
		.presence_max = 250,
		.history = 50,
		.history_retention = 600,
		.flood_rate = 20,
		.flood_burst = 10,
		.flood_kick = 20,
	};
	strlcpy(c->handler_user, "switchboard", sizeof(c->handler_user));
	strlcpy(c->handler_group, "switchboard", sizeof(c->handler_group));
	strlcpy(c->admin_group, "switchboard-admin", sizeof(c->admin_group));
	strlcpy(c->state_dir, "/var/lib/switchboard", sizeof(c->state_dir));
	strlcpy(c->members_file, "members", sizeof(c->members_file));
	strlcpy(c->rooms, "lobby", sizeof(c->rooms));
	config_handler_defaults(c);
}

/*
 * The defaults of the keys handlers need, onto a config whose handler
 * keys are zeros (config_defaults' own, or a handler's in static
 * storage): only what is not zero is written, so a handler never touches
 * the pages of the keys it leaves empty or does not use.
 */
void
config_handler_defaults(struct sb_config *c)
{
	assert(c != NULL);
	c->xmlsocket_max = 4096;
	c->connect_timeout = 30;
	c->idle_timeout = 120;
	c->ping_timeout = 30;
	c->handshake_timeout = 10;
	c->ws_max_message = 65536;
	c->outq_max = 1024 * 1024;
	c->backlog_max = 64 * 1024;
	strlcpy(c->server_name, "switchboard", sizeof(c->server_name));
	strlcpy(c->policy_domains, "*", sizeof(c->policy_domains));
	strlcpy(c->policy_ports, "80,843", sizeof(c->policy_ports));
	strlcpy(c->ws_chat_paths, CONFIG_WS_PATHS_DEFAULT,
	    sizeof(c->ws_chat_paths));
	strlcpy(c->metrics_from, CONFIG_METRICS_FROM_DEFAULT,
	    sizeof(c->metrics_from));
	strlcpy(c->proxy_from, CONFIG_PROXY_FROM_DEFAULT,
	    sizeof(c->proxy_from));
}

static int
config_key_is(const struct ckey *k, const char *name, size_t len)
{
	return strncmp(k->name, name, len) == 0 && k->name[len] == '\0';
}

/*
 * The key called name[0..len), or NULL.  Every handler start looks up
 * each key of the C_CONFIG message, which lists them in table order: the
 * search starts after the key found last.
 */
static const struct ckey *
config_key(const char *name, size_t len)
{
	static size_t next;
	size_t i, n = sizeof(keys) / sizeof(keys[0]);

	for (i = 0; i < n; i++) {
		const struct ckey *k = &keys[(next + i) % n];

		if (config_key_is(k, name, len)) {
			next = (size_t)(k - keys) + 1;
			return k;
		}
	}
	return NULL;
}

/*
 * Set a number or a boolean (an unsigned or an int, the same size) at p,
 * unless it holds that value already.  Handlers get every key in
 * C_CONFIG, mostly values they hold already, and a write dirties a page
 * of every handler's memory even when it changes nothing; config_set()
 * does the same for strings.
 */
static void
config_store(char *p, unsigned v)
{
	_Static_assert(sizeof(int) == sizeof(unsigned), "int and unsigned");
	if (memcmp(p, &v, sizeof(v)) != 0)
		memcpy(p, &v, sizeof(v));
}

/* Set one key from its text value; errors go into err. */
static int
config_set(struct sb_config *c, const struct ckey *k, const char *v,
    char *err, size_t errsz)
{
	char *p = (char *)c + k->off;
	unsigned long n;
	char *e;

	switch (k->type) {
	case C_PATHS:
	case C_CIDRS:
		if (config_check_list(k, v, err, errsz) < 0)
			return -EINVAL;
		/* FALLTHROUGH */
	case C_STR:
		/* Too long: refused whole, the old value left as it was. */
		if (strlen(v) >= k->size) {
			snprintf(err, errsz, "%s: value longer than %zu bytes",
			    k->name, k->size - 1);
			return -EINVAL;
		}
		if (strcmp(p, v) != 0)		/* see config_store() */
			strlcpy(p, v, k->size);
		return 0;
	case C_UINT:
		errno = 0;
		n = strtoul(v, &e, 10);
		if (*v < '0' || *v > '9' || *e != '\0' || errno != 0 ||
		    n < k->min || n > k->max) {
			snprintf(err, errsz, "%s: expected a number from %u to %u, "
			    "got \"%.40s\"", k->name, k->min, k->max, v);
			return -EINVAL;
		}
		config_store(p, (unsigned)n);
		return 0;
	case C_BOOL:
		if (strcmp(v, "yes") == 0 || strcmp(v, "true") == 0 ||
		    strcmp(v, "1") == 0 || strcmp(v, "on") == 0)
			config_store(p, 1);
		else if (strcmp(v, "no") == 0 || strcmp(v, "false") == 0 ||
		    strcmp(v, "0") == 0 || strcmp(v, "off") == 0)
			config_store(p, 0);
		else {
			snprintf(err, errsz, "%s: expected yes or no, got "
			    "\"%.40s\"", k->name, v);
			return -EINVAL;
		}
		return 0;
	case C_AUTH:
		if (strcmp(v, "guest") == 0)
			c->auth = AUTH_GUEST;
		else if (strcmp(v, "members") == 0)
			c->auth = AUTH_MEMBERS;
		else if (strcmp(v, "both") == 0)
			c->auth = AUTH_BOTH;
		else {
			snprintf(err, errsz, "auth: expected guest, members or "
			    "both, got \"%.40s\"", v);
			return -EINVAL;
		}
		return 0;
	}
	return -EINVAL;
}

/*
 * Apply one line of a config file.  Returns 0 (also for blank lines and
 * comments) or -EINVAL with the reason in err.
 */
int
config_parse_line(struct sb_config *c, const char *line, char *err,
    size_t errsz)
{
	const struct ckey *k;
	const char *p, *name, *v, *end;
	char val[CONFIG_LINE_MAX];
	size_t nl;

	assert(c != NULL && line != NULL && err != NULL);
	p = line;
	while (*p == ' ' || *p == '\t')
		p++;
	if (*p == '\0' || *p == '#' || *p == '\n')
		return 0;
	name = p;
	while (*p == '_' || isalnum((unsigned char)*p))
		p++;
	nl = (size_t)(p - name);
	while (*p == ' ' || *p == '\t')
		p++;
	if (nl == 0 || *p != '=') {
		snprintf(err, errsz, "expected \"key = value\"");
		return -EINVAL;
	}
	if ((k = config_key(name, nl)) == NULL) {
		snprintf(err, errsz, "unknown key \"%.*s\"", (int)(nl > 40 ? 40 : nl),
		    name);
		return -EINVAL;
	}
	v = p + 1;
	while (*v == ' ' || *v == '\t')
		v++;
	end = v + strlen(v);
	while (end > v && (end[-1] == ' ' || end[-1] == '\t' ||
	    end[-1] == '\n' || end[-1] == '\r'))
		end--;
	if ((size_t)(end - v) >= sizeof(val)) {
		snprintf(err, errsz, "%s: value too long", k->name);
		return -EINVAL;
	}
	memcpy(val, v, (size_t)(end - v));
	val[end - v] = '\0';
	return config_set(c, k, val, err, errsz);
}

/*
 * Read the file at `path` over the values already in `c` (call
 * config_defaults first).  On error, `c` may be partly changed: callers
 * that must keep an old config load into a copy.  The message in err names
 * the file and line.  Returns 0 or a negative errno.
 */
int
config_load(struct sb_config *c, const char *path, char *err, size_t errsz)
{
	char line[CONFIG_LINE_MAX + 2], why[256];
	unsigned lineno = 0;
	FILE *f;
	int r = 0;

	assert(c != NULL && path != NULL && err != NULL);
	if ((f = fopen(path, "re")) == NULL) {
		r = -errno;
		snprintf(err, errsz, "%s: %s", path, strerror(errno));
		return r;
	}
	while (fgets(line, sizeof(line), f) != NULL) {
		lineno++;
		if (strchr(line, '\n') == NULL && !feof(f)) {
			snprintf(err, errsz, "%s:%u: line longer than %d bytes",
			    path, lineno, CONFIG_LINE_MAX);
			r = -EINVAL;
			break;
		}
		if (config_parse_line(c, line, why, sizeof(why)) < 0) {
			snprintf(err, errsz, "%s:%u: %s", path, lineno, why);
			r = -EINVAL;
			break;
		}
	}
	if (r == 0 && ferror(f)) {
		snprintf(err, errsz, "%s: read error", path);
		r = -EIO;
	}
	fclose(f);
	return r;
}

/*
 * The keys handlers need (the rows marked for handlers in keys[]), as one
 * C_CONFIG message of "key=value" fields.  Several keys share a field,
 * separated by newlines (a value holds none), as long as the field stays
 * within CONFIG_FIELD_MAX: there are more keys than SB_FIELDS_MAX.
 * Returns 0, -EINVAL (a value with a line break), -EMSGSIZE (a key too
 * long for a field) or -E2BIG (more fields than SB_FIELDS_MAX).
 */
int
config_pack_handler(const struct sb_config *c, struct sb_packet *p)
{
	const char *f[SB_FIELDS_MAX];
	char buf[SB_FIELDS_MAX][CONFIG_FIELD_MAX + 1];
	char one[CONFIG_FIELD_MAX + 1];
	size_t i, n = 0, used = 0;

	assert(c != NULL && p != NULL);
	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		const struct ckey *k = &keys[i];
		const char *base = (const char *)c + k->off;
		int w;

		if (!k->handler)
			continue;
		if (k->type == C_STR || k->type == C_PATHS ||
		    k->type == C_CIDRS) {
			if (strchr(base, '\n') != NULL)
				return -EINVAL;
			w = snprintf(one, sizeof(one), "%s=%s", k->name, base);
		} else
			w = snprintf(one, sizeof(one), "%s=%u", k->name,
			    *(const unsigned *)(const void *)base);
		if (w < 0 || (size_t)w >= sizeof(one))
			return -EMSGSIZE;
		if (n > 0 && used + 1 + (size_t)w <= CONFIG_FIELD_MAX) {
			buf[n - 1][used++] = '\n';
			memcpy(buf[n - 1] + used, one, (size_t)w + 1);
			used += (size_t)w;
			continue;
		}
		if (n == SB_FIELDS_MAX)
			return -E2BIG;
		memcpy(buf[n], one, (size_t)w + 1);
		used = (size_t)w;
		f[n] = buf[n];
		n++;
	}
	return sb_msg_encode(p, SB_C_CONFIG, 0, 0, 0, f, n);
}

/* One "key=value" of a C_CONFIG field, line[0..len), applied to `c`. */
static int
config_apply_one(struct sb_config *c, const char *line, size_t len,
    char *err, size_t errsz)
{
	char v[CONFIG_FIELD_MAX + 1];
	const char *eq = memchr(line, '=', len);
	const struct ckey *k;

	if (eq == NULL) {
		snprintf(err, errsz, "config field without '='");
		return -EINVAL;
	}
	k = config_key(line, (size_t)(eq - line));
	if (k == NULL || !k->handler)
		return 0;
	if ((size_t)(line + len - eq - 1) >= sizeof(v)) {
		snprintf(err, errsz, "%s: value too long", k->name);
		return -EINVAL;
	}
	memcpy(v, eq + 1, (size_t)(line + len - eq - 1));
	v[line + len - eq - 1] = '\0';
	return config_set(c, k, v, err, errsz) < 0 ? -EINVAL : 0;
}

/*
 * Apply the fields of a C_CONFIG message to `c`: each a "key=value", or
 * several separated by newlines.  Unknown keys are ignored (a newer hub
 * may send more); bad values are errors.
 */
int
config_apply_msg(struct sb_config *c, const struct sb_msg *m, char *err,
    size_t errsz)
{
	const char *s, *nl;
	size_t i;

	assert(c != NULL && m != NULL && m->type == SB_C_CONFIG);
	for (i = 0; i < m->nfields; i++)
		for (s = m->field[i]; ; s = nl + 1) {
			nl = strchr(s, '\n');
			if (config_apply_one(c, s, nl ? (size_t)(nl - s) :
			    strlen(s), err, errsz) < 0)
				return -EINVAL;
			if (nl == NULL)
				break;
		}
	return 0;
}
