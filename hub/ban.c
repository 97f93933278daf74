/* SPDX-License-Identifier: ISC */
/*
 * The ban list (ban.h): parsing targets and durations, matching nicks
 * and addresses, and the bans.json file.
 */
#include <arpa/inet.h>
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <bsd/stdlib.h>
#include <bsd/string.h>
#include <jansson.h>

#include "ban.h"
#include "file.h"
#include "hub.h"

/*
 * Parse an address with an optional "/prefix" into b (kind, the network
 * and its canonical target).  Returns as cidr_parse: 0, 1 when `s` is
 * not an address at all (it may be a nick), or -EINVAL with a message
 * for an address that is malformed (a bad prefix).
 */
static int
address_parse(struct ban *b, const char *s, char *err, size_t errsz)
{
	char text[INET6_ADDRSTRLEN];
	int r;

	if ((r = cidr_parse(&b->net, s, strlen(s), err, errsz)) != 0)
		return r;
	inet_ntop(b->net.family, b->net.addr, text, sizeof(text));
	if (b->net.prefix == (b->net.family == AF_INET ? 32 : 128))
		strlcpy(b->target, text, sizeof(b->target));
	else
		snprintf(b->target, sizeof(b->target), "%s/%u", text,
		    b->net.prefix);
	b->kind = BAN_ADDRESS;
	return 0;
}

/*
 * Fill in what a ban is of from `s`: an IPv4 or IPv6 address with an
 * optional /prefix (host bits are cleared: 192.0.2.7/24 bans
 * 192.0.2.0/24), or else a nick under the nick rules.  Returns 0 or
 * -EINVAL with a message in err.
 */
int
ban_target_parse(struct ban *b, const char *s, char *err, size_t errsz)
{
	const char *why;
	int r;

	assert(b != NULL && s != NULL && err != NULL);
	b->net = (struct cidr){ 0 };
	b->key[0] = '\0';
	b->shared[0] = '\0';
	if ((r = address_parse(b, s, err, errsz)) <= 0)
		return r;
	if (nick_check(s, &why) < 0) {
		snprintf(err, errsz, "not an address, and not a nick: %s", why);
		return -EINVAL;
	}
	b->kind = BAN_NICK;
	strlcpy(b->target, s, sizeof(b->target));
	nick_fold(b->key, sizeof(b->key), s);
	return 0;
}

/*
 * A duration: a number with a unit, s, m, h, d or w ("90s", "10m",
 * "2h", "7d"), or "forever" (*secs = 0).  At most BAN_DURATION_MAX.
 * Returns 0 or -EINVAL.
 */
int
ban_duration_parse(const char *s, long long *secs)
{
	static const struct { char unit; long long mul; } units[] = {
		{ 's', 1 }, { 'm', 60 }, { 'h', 3600 }, { 'd', 86400 },
		{ 'w', 7 * 86400 },
	};
	char num[24];
	size_t n, i;
	const char *e;
	long long v;

	assert(s != NULL && secs != NULL);
	n = strlen(s);
	if (strcmp(s, "forever") == 0) {
		*secs = 0;
		return 0;
	}
	if (n < 2 || n >= sizeof(num))
		return -EINVAL;
	memcpy(num, s, n - 1);
	num[n - 1] = '\0';
	if (num[0] < '0' || num[0] > '9')
		return -EINVAL;
	v = strtonum(num, 1, BAN_DURATION_MAX, &e);
	if (e != NULL)
		return -EINVAL;
	for (i = 0; i < sizeof(units) / sizeof(units[0]); i++)
		if (s[n - 1] == units[i].unit) {
			if (v > BAN_DURATION_MAX / units[i].mul)
				return -EINVAL;
			*secs = v * units[i].mul;
			return 0;
		}
	return -EINVAL;
}

/* "until 2026-12-02 05:30:00 UTC", or "with no end", for messages. */
void
ban_until_str(const struct ban *b, char *buf, size_t size)
{
	struct tm tm;

	if (b->until == 0 || gmtime_r(&b->until, &tm) == NULL) {
		strlcpy(buf, "with no end", size);
		return;
	}
	strftime(buf, size, "until %Y-%m-%d %H:%M:%S UTC", &tm);
}

/* The ban of the same nick (any case) or address as `b`, or NULL. */
static struct ban *
bans_find(const struct bans *l, const struct ban *b)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		if (l->v[i].kind == b->kind && (b->kind == BAN_NICK ?
		    strcmp(l->v[i].key, b->key) == 0 :
		    strcmp(l->v[i].target, b->target) == 0))
			return &l->v[i];
	return NULL;
}

/*
 * Add `b`, or replace the ban of the same target (a new duration or
 * reason).  Returns 0, -ENOSPC past BANS_MAX, or -ENOMEM.
 */
int
bans_add(struct bans *l, const struct ban *b)
{
	struct ban *old, *v;

	assert(l != NULL && b != NULL);
	if ((old = bans_find(l, b)) != NULL) {
		*old = *b;
		return 0;
	}
	if (l->n >= BANS_MAX)
		return -ENOSPC;
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 16;

		if ((v = reallocarray(l->v, cap, sizeof(*v))) == NULL)
			return -ENOMEM;
		l->v = v;
		l->cap = cap;
	}
	l->v[l->n++] = *b;
	return 0;
}

/*
 * Lift the ban on what `b` names (ban_target_parse), copying it to
 * `removed` unless that is NULL.  Returns 0 or -ENOENT.
 */
int
bans_remove(struct bans *l, const struct ban *b, struct ban *removed)
{
	struct ban *old;

	assert(l != NULL && b != NULL);
	if ((old = bans_find(l, b)) == NULL)
		return -ENOENT;
	if (removed != NULL)
		*removed = *old;
	*old = l->v[--l->n];
	return 0;
}

/* Forget the bans that ended by `now`; returns how many. */
size_t
bans_expire(struct bans *l, time_t now)
{
	size_t i = 0, n = 0;

	while (i < l->n) {
		if (l->v[i].until != 0 && l->v[i].until <= now) {
			l->v[i] = l->v[--l->n];
			n++;
		} else
			i++;
	}
	return n;
}

/*
 * Take ban `b` of the cluster's list, of epoch `epoch`, into `l`, marked
 * shared in that epoch: added, or replacing the ban of the same target
 * unless that is the same ban.  Returns an enum ban_change, or -ENOSPC
 * past BANS_MAX, -ENOMEM.
 */
int
bans_share(struct bans *l, const struct ban *b, const char *epoch)
{
	struct ban *old, nb;
	int r;

	assert(l != NULL && b != NULL && epoch != NULL);
	if ((old = bans_find(l, b)) != NULL && old->since == b->since &&
	    old->until == b->until && strcmp(old->reason, b->reason) == 0 &&
	    strcmp(old->target, b->target) == 0) {
		if (strcmp(old->shared, epoch) == 0)
			return BAN_SAME;
		strlcpy(old->shared, epoch, sizeof(old->shared));
		return BAN_MARKED;
	}
	nb = *b;
	strlcpy(nb.shared, epoch, sizeof(nb.shared));
	if ((r = bans_add(l, &nb)) < 0)
		return r;
	return BAN_NEW;
}

/*
 * Merge the cluster's list `r` of epoch `epoch` (read whole, none ended)
 * into `l` after a connect to Redis (docs/cluster.md, "Bans"): a ban of
 * `l` not shared in this epoch (given here while Redis was away, kept
 * from before the cluster, or seen in a list Redis has lost since) stays
 * and is copied to out->unsent, to be written to the cluster's list,
 * where it replaces a ban of the same target; a ban shared in this
 * epoch that `r` no longer has was lifted on another machine (or ended):
 * removed, copied to out->lifted; every other ban of `r` is taken
 * (bans_share), the new or changed ones copied to out->added.  Returns
 * 1 when `l` changed, 0 when it did not, or -ENOSPC / -ENOMEM (`l`
 * merged in part; out to be freed all the same).
 */
int
bans_merge(struct bans *l, const struct bans *r, const char *epoch,
    struct bans_merged *out)
{
	const struct ban *old;
	int changed = 0, c, e;
	size_t i = 0;

	assert(l != NULL && r != NULL && epoch != NULL && out != NULL);
	*out = (struct bans_merged){ { NULL, 0, 0 }, { NULL, 0, 0 },
	    { NULL, 0, 0 } };
	while (i < l->n) {
		if (strcmp(l->v[i].shared, epoch) != 0) {
			if ((c = bans_add(&out->unsent, &l->v[i++])) < 0)
				return c;
		} else if (bans_find(r, &l->v[i]) == NULL) {
			if ((c = bans_add(&out->lifted, &l->v[i])) < 0)
				return c;
			l->v[i] = l->v[--l->n];
			changed = 1;
		} else
			i++;
	}
	for (i = 0; i < r->n; i++) {
		if ((old = bans_find(l, &r->v[i])) != NULL &&
		    strcmp(old->shared, epoch) != 0)
			continue;	/* given here meanwhile: it wins */
		if ((c = bans_share(l, &r->v[i], epoch)) < 0)
			return c;
		if (c == BAN_NEW && (e = bans_add(&out->added, &r->v[i])) < 0)
			return e;
		changed |= c != BAN_SAME;
	}
	return changed;
}

void
bans_merged_free(struct bans_merged *m)
{
	if (m == NULL)
		return;
	bans_free(&m->added);
	bans_free(&m->lifted);
	bans_free(&m->unsent);
}

static int
in_force(const struct ban *b, time_t now)
{
	return b->until == 0 || b->until > now;
}

/* The ban in force at `now` on `nick` (any case), or NULL. */
const struct ban *
bans_match_nick(const struct bans *l, const char *nick, time_t now)
{
	char key[BAN_TARGET_MAX + 1];
	size_t i;

	assert(l != NULL && nick != NULL);
	nick_fold(key, sizeof(key), nick);
	for (i = 0; i < l->n; i++)
		if (l->v[i].kind == BAN_NICK && in_force(&l->v[i], now) &&
		    strcmp(l->v[i].key, key) == 0)
			return &l->v[i];
	return NULL;
}

/* Is `b` an address ban in force at `now` that covers `remote`? */
int
ban_covers_remote(const struct ban *b, const char *remote, time_t now)
{
	unsigned char a[16];
	int fam;

	assert(b != NULL && remote != NULL);
	return b->kind == BAN_ADDRESS && in_force(b, now) &&
	    cidr_remote(remote, a, &fam) == 0 && cidr_covers(&b->net, a, fam);
}

/* The ban in force at `now` on the address of `remote`, or NULL. */
const struct ban *
bans_match_remote(const struct bans *l, const char *remote, time_t now)
{
	size_t i;

	assert(l != NULL && remote != NULL);
	for (i = 0; i < l->n; i++)
		if (ban_covers_remote(&l->v[i], remote, now))
			return &l->v[i];
	return NULL;
}

/*
 * What a banned client is told: "The nick troll is banned until
 * 2026-12-02 05:30:00 UTC: spam", "This address is banned with no end".
 */
void
ban_describe(const struct ban *b, char *buf, size_t size)
{
	char until[64];

	ban_until_str(b, until, sizeof(until));
	if (b->kind == BAN_NICK)
		snprintf(buf, size, "The nick %s is banned %s%s%s", b->target,
		    until, b->reason[0] ? ": " : "", b->reason);
	else
		snprintf(buf, size, "This address is banned %s%s%s", until,
		    b->reason[0] ? ": " : "", b->reason);
}

/*
 * Read one ban, as bans.json holds it, from the JSON object `o` into b:
 * {"nick"|"address": TARGET, "since": N, "until": N, "reason": TEXT
 * [, "shared": EPOCH]}.  Returns 0 or -EINVAL with a message in err.
 */
int
ban_json_read(struct ban *b, struct json_t *o, char *err, size_t errsz)
{
	const char *nick = NULL, *addr = NULL, *reason = "", *shared = "";
	json_int_t since = 0, until = 0;
	char why[200];
	json_error_t je;

	if (json_unpack_ex(o, &je, JSON_STRICT, "{s?s, s?s, s:I, s:I, s:s, "
	    "s?s}", "nick", &nick, "address", &addr, "since", &since,
	    "until", &until, "reason", &reason, "shared", &shared) < 0) {
		snprintf(err, errsz, "%s", je.text);
		return -EINVAL;
	}
	if ((nick == NULL) == (addr == NULL)) {
		snprintf(err, errsz, "needs either \"nick\" or \"address\"");
		return -EINVAL;
	}
	if (ban_target_parse(b, nick ? nick : addr, why, sizeof(why)) < 0 ||
	    b->kind != (nick ? BAN_NICK : BAN_ADDRESS)) {
		snprintf(err, errsz, "%s is not a valid %s", nick ? "nick" :
		    "address", nick ? "nick" : "address");
		return -EINVAL;
	}
	if (since < 0 || until < 0 || strlen(reason) > BAN_REASON_MAX) {
		snprintf(err, errsz, "bad time or reason");
		return -EINVAL;
	}
	if (strlen(shared) > BAN_EPOCH_MAX ||
	    strspn(shared, "0123456789") != strlen(shared)) {
		snprintf(err, errsz, "\"shared\" is not an epoch");
		return -EINVAL;
	}
	b->since = (time_t)since;
	b->until = (time_t)until;
	strlcpy(b->reason, reason, sizeof(b->reason));
	strlcpy(b->shared, shared, sizeof(b->shared));
	return 0;
}

/*
 * `b` as bans.json holds it (ban_json_read reads it back), "shared"
 * only when `with_shared` and it is shared; NULL when out of memory.
 */
struct json_t *
ban_json_write(const struct ban *b, int with_shared)
{
	json_t *o;

	o = json_pack("{s:s, s:I, s:I, s:s}", b->kind == BAN_NICK ? "nick" :
	    "address", b->target, "since", (json_int_t)b->since, "until",
	    (json_int_t)b->until, "reason", b->reason);
	if (o != NULL && with_shared && b->shared[0] != '\0' &&
	    json_object_set_new(o, "shared", json_string(b->shared)) < 0) {
		json_decref(o);
		return NULL;
	}
	return o;
}

/*
 * Parse the text of bans.json (buf[0..len)) into `l`, which must be
 * empty.  Returns 0, or -EINVAL with a message in err (and `l` empty).
 */
int
bans_parse(struct bans *l, const char *buf, size_t len, char *err,
    size_t errsz)
{
	json_error_t je;
	json_t *root, *arr, *o;
	char why[256];
	struct ban b;
	size_t i;
	int r = 0;

	assert(l != NULL && l->n == 0 && buf != NULL && err != NULL);
	if ((root = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &je)) ==
	    NULL) {
		snprintf(err, errsz, "line %d: %s", je.line, je.text);
		return -EINVAL;
	}
	if ((arr = json_object_get(root, "bans")) == NULL ||
	    !json_is_array(arr) || json_object_size(root) != 1) {
		snprintf(err, errsz, "expected {\"bans\": [...]}");
		r = -EINVAL;
	}
	json_array_foreach(arr, i, o) {
		if (r < 0)
			break;
		if ((r = ban_json_read(&b, o, why, sizeof(why))) < 0) {
			snprintf(err, errsz, "ban %zu: %s", i + 1, why);
			break;
		}
		if (bans_find(l, &b) != NULL) {
			snprintf(err, errsz, "ban %zu: %s is banned twice",
			    i + 1, b.target);
			r = -EINVAL;
		} else if ((r = bans_add(l, &b)) < 0)
			snprintf(err, errsz, "ban %zu: %s", i + 1,
			    r == -ENOSPC ? "more than BANS_MAX bans" :
			    strerror(-r));
	}
	json_decref(root);
	if (r < 0)
		bans_free(l);
	return r;
}

/*
 * Load `path` into the empty list `l`.  A missing file is an empty list.
 * Returns 0 or a negative errno with a message naming the file in err.
 */
int
bans_load(struct bans *l, const char *path, char *err, size_t errsz)
{
	char why[256], *text;
	struct stat st;
	ssize_t n;
	size_t off = 0;
	int fd, r;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
		if (errno == ENOENT)
			return 0;
		r = -errno;
		snprintf(err, errsz, "%s: %s", path, strerror(errno));
		return r;
	}
	if (fstat(fd, &st) < 0 || st.st_size > BANS_FILE_MAX) {
		snprintf(err, errsz, "%s: %s", path, st.st_size > BANS_FILE_MAX ?
		    "too large" : strerror(errno));
		close(fd);
		return -EFBIG;
	}
	if ((text = malloc((size_t)st.st_size + 1)) == NULL) {
		close(fd);
		snprintf(err, errsz, "%s: out of memory", path);
		return -ENOMEM;
	}
	while (off < (size_t)st.st_size &&
	    (n = read(fd, text + off, (size_t)st.st_size - off)) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			r = -errno;
			snprintf(err, errsz, "%s: %s", path, strerror(errno));
			free(text);
			close(fd);
			return r;
		}
		off += (size_t)n;
	}
	close(fd);
	if ((r = bans_parse(l, text, off, why, sizeof(why))) < 0)
		snprintf(err, errsz, "%s: %s", path, why);
	free(text);
	return r;
}

/* Write `l` to `path` atomically (mode 0600).  0 or a negative errno. */
int
bans_save(const struct bans *l, const char *path, char *err, size_t errsz)
{
	json_t *root, *arr;
	char *text;
	size_t i;
	int r;

	if ((root = json_object()) == NULL || (arr = json_array()) == NULL ||
	    json_object_set_new(root, "bans", arr) < 0) {
		json_decref(root);
		snprintf(err, errsz, "out of memory");
		return -ENOMEM;
	}
	for (i = 0; i < l->n; i++)
		json_array_append_new(arr, ban_json_write(&l->v[i], 1));
	text = json_dumps(root, JSON_INDENT(1));
	json_decref(root);
	if (text == NULL) {
		snprintf(err, errsz, "out of memory");
		return -ENOMEM;
	}
	r = sb_file_write_atomic(-1, path, text, strlen(text), 0600,
	    geteuid(), getegid(), err, errsz);
	free(text);
	return r;
}

void
bans_free(struct bans *l)
{
	if (l == NULL)
		return;
	free(l->v);
	*l = (struct bans){ NULL, 0, 0 };
}
