/* SPDX-License-Identifier: ISC */
/*
 * The member store (see members.h): reading and checking for the hub,
 * atomic rewrites for switchboardctl.
 *
 * Passwords are checked with crypt_rn(3) and a constant-time compare of
 * the whole hash (hash_equal).  A nick that is not a member costs the same crypt time
 * as one that is (its password is hashed against a member's setting or a
 * built-in dummy), so the time a check takes does not say who is a
 * member.  Which answer the client gets is up to the caller.
 */
#include <assert.h>
#include <crypt.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <bsd/string.h>
#include <sha2.h>

#include "hub.h"
#include "buf.h"
#include "file.h"
#include "members.h"

_Static_assert(MEMBERS_NICK_MAX == SB_NICK_MAX, "nick limits differ");
_Static_assert(MEMBERS_KEY_MAX == NICK_KEY_MAX, "key limits differ");
_Static_assert(MEMBERS_PASS_MAX == SB_PASS_MAX, "password limits differ");
_Static_assert(MEMBERS_PASS_MAX < CRYPT_MAX_PASSPHRASE_SIZE,
    "crypt cannot take the longest password");

/*
 * Hashed against when the nick is unknown and the store holds no hash to
 * borrow a setting from: yescrypt with libcrypt's default cost.
 */
#define MEMBERS_DUMMY_HASH \
	"$y$j9T$q.VPB.jDxmbD/J4UrqZW61$yRxuA82ZjlxefEs0Pw0DzBbFWYUxuT9EVkMED1EEqD3"
#define MEMBERS_PREFIX	"$y$"	/* yescrypt, for new hashes */

enum members_op { OP_ADD, OP_ACTIVE, OP_REKEY };

/*
 * Join the members file name with the state directory: an absolute
 * `file` is used as it is, a relative one is taken under `state_dir`.
 * Returns 0, or -ENAMETOOLONG when the result does not fit `size`.
 */
int
members_path(char *buf, size_t size, const char *state_dir, const char *file)
{
	int n;

	assert(buf != NULL && size > 0 && state_dir != NULL && file != NULL);
	if (file[0] == '/')
		n = snprintf(buf, size, "%s", file);
	else
		n = snprintf(buf, size, "%s/%s", state_dir, file);
	if (n < 0 || (size_t)n >= size)
		return -ENAMETOOLONG;
	return 0;
}

/*
 * Parse a decimal id from s[0..len): digits only, no leading zero, 1 to
 * MEMBERS_ID_MAX.  Returns 0 and stores it, or -EINVAL.
 */
static int
parse_id(const char *s, size_t len, unsigned long *id)
{
	unsigned long v = 0;
	size_t i;

	if (len == 0 || len > 10 || s[0] == '0')
		return -EINVAL;
	for (i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -EINVAL;
		v = v * 10 + (unsigned long)(s[i] - '0');
	}
	if (v < 1 || v > MEMBERS_ID_MAX)
		return -EINVAL;
	*id = v;
	return 0;
}

/* A crypt hash is printable ASCII without ':' and without spaces. */
static int
hash_valid(const char *s, size_t len)
{
	size_t i;

	if (len == 0 || len > MEMBERS_HASH_MAX)
		return 0;
	for (i = 0; i < len; i++)
		if (s[i] <= ' ' || s[i] >= 0x7f || s[i] == ':')
			return 0;
	return 1;
}

/*
 * Parse one line (no '\n', no NUL, at most MEMBERS_LINE_MAX bytes) into
 * `m`.  Returns 1 for a member, 0 for a comment or blank line, or -EINVAL
 * with *why set to a static sentence.
 */
static int
parse_line(const char *line, size_t len, struct member *m, const char **why)
{
	char buf[MEMBERS_LINE_MAX + 1];
	char *c1, *c2, *c3;
	size_t n;

	if (len == 0 || line[0] == '#')
		return 0;
	memcpy(buf, line, len);
	buf[len] = '\0';
	if ((c1 = strchr(buf, ':')) == NULL ||
	    (c2 = strchr(c1 + 1, ':')) == NULL ||
	    (c3 = strrchr(buf, ':')) == c2) {
		*why = "expected id:nick:crypt-hash:active";
		return -EINVAL;
	}
	*c1 = *c2 = *c3 = '\0';
	*m = (struct member){ .line = 0 };
	if (parse_id(buf, (size_t)(c1 - buf), &m->id) < 0) {
		*why = "the id must be a number from 1 to 2147483647 without "
		    "leading zeros";
		return -EINVAL;
	}
	if (nick_check(c1 + 1, why) < 0)
		return -EINVAL;
	n = strlcpy(m->nick, c1 + 1, sizeof(m->nick));
	assert(n < sizeof(m->nick));	/* nick_check limits the length */
	nick_fold(m->key, sizeof(m->key), m->nick);
	if (!hash_valid(c2 + 1, (size_t)(c3 - c2 - 1))) {
		*why = "the hash must be 1 to 255 printable characters "
		    "without ':' or spaces";
		return -EINVAL;
	}
	if (strlcpy(m->hash, c2 + 1, sizeof(m->hash)) >= sizeof(m->hash)) {
		*why = "the hash is too long";
		return -EINVAL;
	}
	if (strcmp(c3 + 1, "1") == 0)
		m->active = 1;
	else if (strcmp(c3 + 1, "0") == 0)
		m->active = 0;
	else {
		*why = "active must be 1 or 0";
		return -EINVAL;
	}
	return 1;
}

/* qsort/bsearch order of members: by folded nick. */
static int
member_key_cmp(const void *a, const void *b)
{
	const struct member *x = a, *y = b;

	return strcmp(x->key, y->key);
}

/* qsort order of member pointers: by id. */
static int
member_ptr_id_cmp(const void *a, const void *b)
{
	const struct member *x = *(const struct member *const *)a;
	const struct member *y = *(const struct member *const *)b;

	return x->id < y->id ? -1 : x->id > y->id;
}

/*
 * Read all of `fd` (at most MEMBERS_FILE_MAX bytes) into a NUL-terminated
 * buffer the caller frees.  Returns 0 or a negative errno (-EFBIG when the
 * file is too big), with a message in err.
 */
static int
read_all(int fd, const char *path, char **out, size_t *outlen, char *err,
    size_t errsz)
{
	struct stat st;
	size_t len = 0, cap;
	char *buf;
	ssize_t n;

	if (fstat(fd, &st) < 0) {
		snprintf(err, errsz, "%s: %s", path, strerror(errno));
		return -errno;
	}
	if (!S_ISREG(st.st_mode)) {
		snprintf(err, errsz, "%s: not a regular file", path);
		return -EINVAL;
	}
	if (st.st_size > MEMBERS_FILE_MAX) {
		snprintf(err, errsz, "%s: larger than %d bytes", path,
		    MEMBERS_FILE_MAX);
		return -EFBIG;
	}
	cap = (size_t)st.st_size + 1;
	if ((buf = malloc(cap)) == NULL) {
		snprintf(err, errsz, "%s: out of memory", path);
		return -ENOMEM;
	}
	/* Read to the end even if the file grew since fstat, up to the cap. */
	for (;;) {
		if (len + 1 == cap) {
			char *nb;

			if (cap > MEMBERS_FILE_MAX) {
				free(buf);
				snprintf(err, errsz, "%s: larger than %d bytes",
				    path, MEMBERS_FILE_MAX);
				return -EFBIG;
			}
			if ((nb = realloc(buf, cap + 4096)) == NULL) {
				free(buf);
				snprintf(err, errsz, "%s: out of memory", path);
				return -ENOMEM;
			}
			buf = nb;
			cap += 4096;
		}
		n = read(fd, buf + len, cap - 1 - len);
		if (n < 0) {
			int e = errno;

			if (e == EINTR)
				continue;
			free(buf);
			snprintf(err, errsz, "%s: %s", path, strerror(e));
			return -e;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	buf[len] = '\0';
	*out = buf;
	*outlen = len;
	return 0;
}

/*
 * Put the member on the earlier line in *a: of two members that clash,
 * the later line is the one reported.
 */
static void
member_line_order(const struct member **a, const struct member **b)
{
	const struct member *t = *a;

	if (t->line > (*b)->line) {
		*a = *b;
		*b = t;
	}
}

/* qsort/bsearch order of skeletons. */
static int
member_skel_cmp(const void *a, const void *b)
{
	const struct member_skel *x = a, *y = b;

	return strcmp(x->skel, y->skel);
}

/*
 * Index the skeletons of the members' nicks (ms->by_key sorted), and
 * refuse two members whose nicks look alike: a guest could not take one
 * while the other is online, nor should a member.  Returns 0, or -EINVAL
 * or -ENOMEM with a message in err.
 */
static int
skels_index(const char *path, struct members *ms, char *err, size_t errsz)
{
	struct nick_id *id;
	const char *why;
	size_t i;
	int k;

	if ((ms->skels = reallocarray(NULL, ms->count * 2,
	    sizeof(*ms->skels))) == NULL || (id = malloc(sizeof(*id))) == NULL) {
		snprintf(err, errsz, "%s: out of memory", path);
		return -ENOMEM;
	}
	for (i = 0; i < ms->count; i++) {
		if (nick_identify(ms->by_key[i].nick, id, &why) < 0) {
			/* parse_line checked it; only ICU failing gets here */
			snprintf(err, errsz, "%s: line %u: %s", path,
			    ms->by_key[i].line, why);
			free(id);
			return -EINVAL;
		}
		for (k = 0; k < id->nskel; k++) {
			if ((ms->skels[ms->nskels].skel = strdup(id->skel[k])) ==
			    NULL) {
				snprintf(err, errsz, "%s: out of memory", path);
				free(id);
				return -ENOMEM;
			}
			ms->skels[ms->nskels++].i = i;
		}
	}
	free(id);
	qsort(ms->skels, ms->nskels, sizeof(*ms->skels), member_skel_cmp);
	for (i = 1; i < ms->nskels; i++) {
		const struct member *a = &ms->by_key[ms->skels[i - 1].i];
		const struct member *b = &ms->by_key[ms->skels[i].i];

		if (a == b || strcmp(ms->skels[i - 1].skel,
		    ms->skels[i].skel) != 0)
			continue;
		member_line_order(&a, &b);
		snprintf(err, errsz, "%s: line %u: nick \"%s\" looks like "
		    "\"%s\" on line %u (UTS #39 confusables)", path, b->line,
		    b->nick, a->nick, a->line);
		return -EINVAL;
	}
	return 0;
}

/*
 * Read the lines of a members file into ms->by_key, in file order, each
 * with its line number, and keep ms->max_id; blank lines and comments are
 * skipped.  Every error names the file and the line.  Returns 0 or
 * -EINVAL/-ENOMEM.
 */
static int
parse_lines(const char *path, const char *buf, size_t len,
    struct members *ms, char *err, size_t errsz)
{
	const char *p = buf, *end = buf + len, *nl, *why;
	struct member m;
	unsigned lineno = 0;
	size_t cap = 0, ll;
	int r;

	if (memchr(buf, '\0', len) != NULL) {
		snprintf(err, errsz, "%s: contains a NUL byte", path);
		return -EINVAL;
	}
	for (; p < end; p = nl + 1) {
		lineno++;
		if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL)
			nl = end;
		ll = (size_t)(nl - p);
		if (ll > MEMBERS_LINE_MAX) {
			snprintf(err, errsz, "%s: line %u: longer than %d bytes",
			    path, lineno, MEMBERS_LINE_MAX);
			return -EINVAL;
		}
		if ((r = parse_line(p, ll, &m, &why)) < 0) {
			snprintf(err, errsz, "%s: line %u: %s", path, lineno,
			    why);
			return r;
		}
		if (r == 0)
			continue;
		if (ms->count == MEMBERS_MAX) {
			snprintf(err, errsz, "%s: line %u: more than %d members",
			    path, lineno, MEMBERS_MAX);
			return -EINVAL;
		}
		if (ms->count == cap) {
			struct member *nv;

			cap = cap ? cap * 2 : 16;
			if ((nv = reallocarray(ms->by_key, cap,
			    sizeof(*nv))) == NULL) {
				snprintf(err, errsz, "%s: out of memory", path);
				return -ENOMEM;
			}
			ms->by_key = nv;
		}
		m.line = lineno;
		ms->by_key[ms->count++] = m;
		if (m.id > ms->max_id)
			ms->max_id = m.id;
	}
	return 0;
}

/*
 * Refuse two members with the same key (the folded nick) or the same id,
 * each reported at the later of the two lines.  Leaves ms->by_key sorted
 * by key.  Returns 0 or -EINVAL/-ENOMEM with the reason in `err`.
 */
static int
members_unique(const char *path, struct members *ms, char *err,
    size_t errsz)
{
	const struct member **by_id, *a, *b;
	size_t i;

	qsort(ms->by_key, ms->count, sizeof(*ms->by_key), member_key_cmp);
	for (i = 1; i < ms->count; i++) {
		a = &ms->by_key[i - 1];
		b = &ms->by_key[i];
		if (strcmp(a->key, b->key) == 0) {
			member_line_order(&a, &b);
			snprintf(err, errsz, "%s: line %u: nick \"%s\" is "
			    "already on line %u", path, b->line, b->nick,
			    a->line);
			return -EINVAL;
		}
	}
	if ((by_id = reallocarray(NULL, ms->count, sizeof(*by_id))) == NULL) {
		snprintf(err, errsz, "%s: out of memory", path);
		return -ENOMEM;
	}
	for (i = 0; i < ms->count; i++)
		by_id[i] = &ms->by_key[i];
	qsort(by_id, ms->count, sizeof(*by_id), member_ptr_id_cmp);
	for (i = 1; i < ms->count; i++) {
		a = by_id[i - 1];
		b = by_id[i];
		if (a->id == b->id) {
			member_line_order(&a, &b);
			snprintf(err, errsz, "%s: line %u: id %lu is already "
			    "on line %u", path, b->line, b->id, a->line);
			free(by_id);
			return -EINVAL;
		}
	}
	free(by_id);
	return 0;
}

/*
 * Parse the text of a members file into `ms` (zeroed by the caller): its
 * lines, then no nick, id or look-alike nick twice.  Every error names
 * the file and the line.  Returns 0 or -EINVAL/-ENOMEM.
 */
static int
parse_all(const char *path, const char *buf, size_t len, struct members *ms,
    char *err, size_t errsz)
{
	int r;

	if ((r = parse_lines(path, buf, len, ms, err, errsz)) < 0)
		return r;
	if (ms->count == 0)
		return 0;
	if ((r = members_unique(path, ms, err, errsz)) < 0)
		return r;
	return skels_index(path, ms, err, errsz);
}

/*
 * Pick the setting an unknown nick is hashed against: the hash of the
 * member on the first line, so an unknown nick costs what a member
 * costs; the built-in dummy when there is no member.
 */
static void
pick_dummy(struct members *ms)
{
	const struct member *first = NULL;
	size_t i, n;

	for (i = 0; i < ms->count; i++)
		if (first == NULL || ms->by_key[i].line < first->line)
			first = &ms->by_key[i];
	n = strlcpy(ms->dummy, first != NULL && first->hash[0] == '$' ?
	    first->hash : MEMBERS_DUMMY_HASH, sizeof(ms->dummy));
	assert(n < sizeof(ms->dummy));
}

/*
 * Read the members file at `path` into a new store (*out, free it with
 * members_free).  Refuses a file that is not a regular file, that others
 * may write to, that is larger than MEMBERS_FILE_MAX, or that has a bad
 * line (the message names the line).  Returns 0, or a negative errno
 * with a message in err.
 */
int
members_load(const char *path, struct members **out, char *err, size_t errsz)
{
	return members_load_text(path, out, NULL, NULL, err, errsz);
}

/*
 * members_load, and the text the store was read from in *text (*len
 * bytes, NUL-terminated; the caller wipes and frees it) when text is
 * not NULL.
 */
int
members_load_text(const char *path, struct members **out, char **text,
    size_t *tlen, char *err, size_t errsz)
{
	struct members *ms;
	struct stat st;
	size_t len;
	char *buf;
	int fd, r;

	assert(path != NULL && out != NULL && err != NULL && errsz > 0);
	assert(text == NULL || tlen != NULL);
	*out = NULL;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY)) < 0) {
		r = -errno;
		snprintf(err, errsz, "%s: %s", path, strerror(errno));
		return r;
	}
	if (fstat(fd, &st) == 0 && (st.st_mode & (S_IWGRP | S_IWOTH))) {
		snprintf(err, errsz, "%s: writable by group or others "
		    "(mode %04o); chmod 600 it", path,
		    (unsigned)(st.st_mode & 07777));
		close(fd);
		return -EPERM;
	}
	r = read_all(fd, path, &buf, &len, err, errsz);
	close(fd);
	if (r < 0)
		return r;
	if ((ms = calloc(1, sizeof(*ms))) == NULL) {
		free(buf);
		snprintf(err, errsz, "%s: out of memory", path);
		return -ENOMEM;
	}
	r = parse_all(path, buf, len, ms, err, errsz);
	if (r < 0 || text == NULL) {
		explicit_bzero(buf, len);
		free(buf);
	} else {
		*text = buf;
		*tlen = len;
	}
	if (r < 0) {
		members_free(ms);
		return r;
	}
	pick_dummy(ms);
	*out = ms;
	return 0;
}

/*
 * Parse the text of a members file that did not come from a file (the
 * cluster's copy, from Redis) into a new store (*out): the same rules as
 * members_load, and at most MEMBERS_FILE_MAX bytes.  `name` stands for
 * the file in messages.  Returns 0, or -EFBIG, -EINVAL or -ENOMEM with
 * the reason (naming the line) in err.
 */
int
members_parse(const char *name, const char *text, size_t len,
    struct members **out, char *err, size_t errsz)
{
	struct members *ms;
	int r;

	assert(name != NULL && text != NULL && out != NULL && err != NULL);
	*out = NULL;
	if (len > MEMBERS_FILE_MAX) {
		snprintf(err, errsz, "%s: larger than %d bytes", name,
		    MEMBERS_FILE_MAX);
		return -EFBIG;
	}
	if ((ms = calloc(1, sizeof(*ms))) == NULL) {
		snprintf(err, errsz, "%s: out of memory", name);
		return -ENOMEM;
	}
	if ((r = parse_all(name, text, len, ms, err, errsz)) < 0) {
		members_free(ms);
		return r;
	}
	pick_dummy(ms);
	*out = ms;
	return 0;
}

/* The SHA-256 of a members file's text, 64 lowercase hex digits. */
void
members_digest(const char *text, size_t len, char out[MEMBERS_DIGEST_LEN + 1])
{
	assert(text != NULL || len == 0);
	SHA256Data((const uint8_t *)(text != NULL ? text : ""), len, out);
}

/*
 * A store with no members, for a members file that does not exist yet
 * (switchboardctl member add creates it).  NULL when out of memory.
 */
struct members *
members_empty(void)
{
	struct members *ms;

	if ((ms = calloc(1, sizeof(*ms))) != NULL)
		pick_dummy(ms);
	return ms;
}

/* Free what a store holds, not the store. */
static void
members_clear(struct members *ms)
{
	size_t i;

	if (ms->by_key != NULL) {
		explicit_bzero(ms->by_key, ms->count * sizeof(*ms->by_key));
		free(ms->by_key);
		ms->by_key = NULL;
	}
	for (i = 0; i < ms->nskels; i++)
		free(ms->skels[i].skel);
	free(ms->skels);
	ms->skels = NULL;
	ms->count = ms->nskels = 0;
}

/* Free a store; takes NULL; returns NULL. */
struct members *
members_free(struct members *ms)
{
	if (ms == NULL)
		return NULL;
	members_clear(ms);
	free(ms);
	return NULL;
}

/* The member with this nick (the same nick_fold key), or NULL. */
const struct member *
members_find(const struct members *ms, const char *nick)
{
	struct member k = { 0 };	/* only the key is compared */

	assert(ms != NULL && nick != NULL);
	if (ms->count == 0 || strlen(nick) > MEMBERS_NICK_MAX)
		return NULL;
	nick_fold(k.key, sizeof(k.key), nick);
	return bsearch(&k, ms->by_key, ms->count, sizeof(*ms->by_key),
	    member_key_cmp);
}

/*
 * The member whose nick looks like the nick `id` describes (a skeleton
 * in common) without being it (another key), or NULL.  Two binary
 * searches, not a walk over the store.
 */
const struct member *
members_confusable(const struct members *ms, const struct nick_id *id)
{
	struct member_skel k;
	const struct member_skel *s;
	const struct member *m;
	size_t lo, hi, mid;
	int i;

	assert(ms != NULL && id != NULL);
	for (i = 0; i < id->nskel; i++) {
		/* The first entry not below the skeleton. */
		k.skel = (char *)(uintptr_t)id->skel[i];
		for (lo = 0, hi = ms->nskels; lo < hi; ) {
			mid = lo + (hi - lo) / 2;
			if (member_skel_cmp(&ms->skels[mid], &k) < 0)
				lo = mid + 1;
			else
				hi = mid;
		}
		for (s = &ms->skels[lo]; s < ms->skels + ms->nskels &&
		    strcmp(s->skel, k.skel) == 0; s++) {
			m = &ms->by_key[s->i];
			if (strcmp(m->key, id->key) != 0)
				return m;
		}
	}
	return NULL;
}

/* The member with this id, or NULL. */
const struct member *
members_find_id(const struct members *ms, unsigned long id)
{
	size_t i;

	assert(ms != NULL);
	for (i = 0; i < ms->count; i++)
		if (ms->by_key[i].id == id)
			return &ms->by_key[i];
	return NULL;
}

/*
 * Equal hashes, compared in time that depends only on their lengths.
 * libbsd on Debian 12 has no timingsafe_bcmp, so this is its loop: every
 * byte is looked at, and the difference is accumulated without branches.
 */
static int
hash_equal(const char *a, const char *b)
{
	const volatile unsigned char *x = (const volatile unsigned char *)a;
	const volatile unsigned char *y = (const volatile unsigned char *)b;
	size_t la = strlen(a), lb = strlen(b), n = la < lb ? la : lb, i;
	unsigned char diff = 0;

	for (i = 0; i < n; i++)
		diff |= (unsigned char)(x[i] ^ y[i]);
	return (diff | (la != lb)) == 0;
}

/*
 * The member `login` names: a nick (case-insensitive) or, as in the
 * seed's IDENTIFY id password, a member's decimal id (nicks never start
 * with a digit).  NULL when there is none.
 */
const struct member *
members_lookup(const struct members *ms, const char *login)
{
	unsigned long want;

	assert(ms != NULL && login != NULL);
	if (parse_id(login, strlen(login), &want) == 0)
		return members_find_id(ms, want);
	return members_find(ms, login);
}

/*
 * Does `password` hash to `setting` (a crypt(3) hash)?  Returns 1 or 0;
 * out of memory, or a hash crypt cannot use, is 0.  Costs the crypt time
 * of the hash (tens of milliseconds for yescrypt).  Touches nothing but
 * its arguments, so any thread may call it (the hub's password workers,
 * hub/authpool.c).
 */
int
members_verify(const char *password, const char *setting)
{
	struct crypt_data *cd;
	const char *out;
	int match = 0;

	assert(password != NULL && setting != NULL);
	if ((cd = calloc(1, sizeof(*cd))) != NULL) {
		out = crypt_rn(password, setting, cd, (int)sizeof(*cd));
		match = out != NULL && out[0] != '*' && hash_equal(out, setting);
		explicit_bzero(cd, sizeof(*cd));
		free(cd);
	}
	return match;
}

/*
 * What a password check found, from members_lookup's member (or NULL)
 * and members_verify's answer.  On MEMBER_OK stores the member's id in
 * *id.
 */
enum member_result
members_result(const struct member *m, int match, unsigned long *id)
{
	assert(id != NULL);
	if (m == NULL)
		return MEMBER_UNKNOWN;
	if (!match)
		return MEMBER_BAD_PASSWORD;
	if (!m->active)
		return MEMBER_DISABLED;
	*id = m->id;
	return MEMBER_OK;
}

/*
 * Check a password (members_lookup, members_verify, members_result in
 * one).  Every path runs crypt once, an unknown login against a dummy
 * setting, so the time a check takes does not say who is a member.
 */
enum member_result
members_check(const struct members *ms, const char *login,
    const char *password, unsigned long *id)
{
	const struct member *m;

	assert(ms != NULL && login != NULL && password != NULL && id != NULL);
	m = members_lookup(ms, login);
	return members_result(m, members_verify(password,
	    m != NULL ? m->hash : ms->dummy), id);
}

/* A word for each result, for logs. */
const char *
member_result_str(enum member_result r)
{
	switch (r) {
	case MEMBER_OK:
		return "ok";
	case MEMBER_BAD_PASSWORD:
		return "bad password";
	case MEMBER_DISABLED:
		return "disabled";
	case MEMBER_UNKNOWN:
		return "unknown";
	}
	return "?";
}

/* --- writing ------------------------------------------------------------ */

/*
 * Hash `password` with a fresh yescrypt salt into out[0..outsz).
 * Returns 0 or a negative errno with a message in err.
 */
static int
hash_password(const char *password, char *out, size_t outsz, char *err,
    size_t errsz)
{
	char salt[CRYPT_GENSALT_OUTPUT_SIZE];
	struct crypt_data *cd;
	const char *h;
	int r = 0;

	if (crypt_gensalt_rn(MEMBERS_PREFIX, 0, NULL, 0, salt,
	    (int)sizeof(salt)) == NULL) {
		r = errno ? -errno : -EINVAL;
		snprintf(err, errsz, "crypt_gensalt: %s", strerror(-r));
		return r;
	}
	if ((cd = calloc(1, sizeof(*cd))) == NULL) {
		snprintf(err, errsz, "out of memory");
		return -ENOMEM;
	}
	h = crypt_rn(password, salt, cd, (int)sizeof(*cd));
	if (h == NULL || h[0] == '*') {
		r = errno ? -errno : -EINVAL;
		snprintf(err, errsz, "crypt: %s", strerror(-r));
	} else if (strlcpy(out, h, outsz) >= outsz ||
	    !hash_valid(out, strlen(out))) {
		snprintf(err, errsz, "crypt gave an unusable hash");
		r = -EINVAL;
	}
	explicit_bzero(cd, sizeof(*cd));
	free(cd);
	return r;
}

/*
 * A password switchboardctl may store: 1 to MEMBERS_PASS_MAX bytes,
 * one line.  Returns 0 or -EINVAL with a message in err.
 */
static int
password_check(const char *password, char *err, size_t errsz)
{
	size_t len = strlen(password);

	if (len == 0) {
		snprintf(err, errsz, "the password is empty");
		return -EINVAL;
	}
	if (len > MEMBERS_PASS_MAX) {
		snprintf(err, errsz, "the password is longer than %d bytes",
		    MEMBERS_PASS_MAX);
		return -EINVAL;
	}
	if (strpbrk(password, "\n\r") != NULL) {
		snprintf(err, errsz, "the password contains a line break");
		return -EINVAL;
	}
	return 0;
}

/*
 * Append the line of member m to the text t.  Returns 0, -EINVAL (longer
 * than a line may be) or t's error (buf_catlen).
 */
static int
member_line(struct buf *t, const struct member *m)
{
	char line[MEMBERS_LINE_MAX + 2];
	int n;

	n = snprintf(line, sizeof(line), "%lu:%s:%s:%d\n", m->id, m->nick,
	    m->hash, m->active ? 1 : 0);
	if (n < 0 || (size_t)n >= sizeof(line))
		return -EINVAL;
	return buf_catlen(t, line, (size_t)n);
}

/*
 * The directory part of `path` in dir[0..size): "." for a bare name.
 * Returns 0 or -ENAMETOOLONG.
 */
static int
dir_of(const char *path, char *dir, size_t size)
{
	const char *slash = strrchr(path, '/');
	size_t n;

	if (slash == NULL)
		return strlcpy(dir, ".", size) >= size ? -ENAMETOOLONG : 0;
	n = slash == path ? 1 : (size_t)(slash - path);
	if (n >= size)
		return -ENAMETOOLONG;
	memcpy(dir, path, n);
	dir[n] = '\0';
	return 0;
}

/*
 * Open the directory of the members file at `path` (its stat in *dst) and
 * take an exclusive flock(2) on it, so that two switchboardctl runs do not
 * lose each other's change.  Returns the descriptor, whose close releases
 * the lock, or a negative errno with a message in err.
 */
static int
members_dir_lock(const char *path, struct stat *dst, char *err,
    size_t errsz)
{
	char dir[PATH_MAX];
	int dfd, r;

	if ((r = dir_of(path, dir, sizeof(dir))) < 0) {
		snprintf(err, errsz, "%s: path too long", path);
		return r;
	}
	if ((dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0 ||
	    fstat(dfd, dst) < 0) {
		r = -errno;
		snprintf(err, errsz, "%s: %s", dir, strerror(errno));
		goto fail;
	}
	if (flock(dfd, LOCK_EX) < 0) {
		r = -errno;
		snprintf(err, errsz, "%s: lock: %s", dir, strerror(errno));
		goto fail;
	}
	return dfd;
fail:
	if (dfd >= 0)
		close(dfd);
	return r;
}

/*
 * Read the members file at `path` into *text (*len bytes; the caller
 * frees it) and its owner into *uid and *gid.  When `create` is set, a
 * file that does not exist reads as empty, owned by whoever owns the
 * state directory (dst) if we are root, else by us.  Returns 0 or a
 * negative errno with a message in err.
 */
static int
members_text_read(const char *path, int create, const struct stat *dst,
    char **text, size_t *len, uid_t *uid, gid_t *gid, char *err,
    size_t errsz)
{
	struct stat st;
	int fd, r;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY |
	    O_NOFOLLOW)) < 0) {
		if (errno != ENOENT || !create) {
			r = -errno;
			snprintf(err, errsz, "%s: %s", path, strerror(errno));
			return r;
		}
		/* A new file belongs to whoever owns the state directory. */
		*uid = geteuid() == 0 ? dst->st_uid : geteuid();
		*gid = geteuid() == 0 ? dst->st_gid : getegid();
		if ((*text = strdup("")) == NULL) {
			snprintf(err, errsz, "out of memory");
			return -ENOMEM;
		}
		*len = 0;
		return 0;
	}
	if (fstat(fd, &st) < 0) {
		r = -errno;
		snprintf(err, errsz, "%s: %s", path, strerror(errno));
		close(fd);
		return r;
	}
	*uid = st.st_uid;
	*gid = st.st_gid;
	r = read_all(fd, path, text, len, err, errsz);
	close(fd);
	return r;
}

/*
 * The member an add writes, in *add: `nick` (its identity `id`) with the
 * next id, active, `password` hashed.  Refused (-EEXIST) if the nick or
 * one that looks like it is a member of ms already, -ENOSPC if the file
 * is full.  Returns 0 or a negative errno with a message in err.
 */
static int
member_new(const char *path, const struct members *ms, const char *nick,
    const struct nick_id *id, const char *password, struct member *add,
    char *err, size_t errsz)
{
	const struct member *found;

	if ((found = members_find(ms, nick)) != NULL) {
		snprintf(err, errsz, "%s is already a member (id %lu, "
		    "line %u)", found->nick, found->id, found->line);
		return -EEXIST;
	}
	if ((found = members_confusable(ms, id)) != NULL) {
		snprintf(err, errsz, "%s looks like member %s (id %lu, "
		    "line %u): UTS #39 confusables", nick, found->nick,
		    found->id, found->line);
		return -EEXIST;
	}
	if (ms->count >= MEMBERS_MAX || ms->max_id >= MEMBERS_ID_MAX) {
		snprintf(err, errsz, "%s: the file is full (%d members "
		    "or id %lu)", path, MEMBERS_MAX, MEMBERS_ID_MAX);
		return -ENOSPC;
	}
	*add = (struct member){ .id = ms->max_id + 1, .active = 1 };
	if (strlcpy(add->nick, nick, sizeof(add->nick)) >= sizeof(add->nick)) {
		snprintf(err, errsz, "nick too long");
		return -EINVAL;
	}
	return hash_password(password, add->hash, sizeof(add->hash), err,
	    errsz);
}

/*
 * The new text of the members file at `path` into out: every line of
 * text[0..len) as it was, but line number `line`, which becomes member
 * m's; with `line` 0, m's line is appended.  Returns 0, -EFBIG (larger
 * than a members file may be) or out's error, with a message in err.
 */
static int
members_text_edit(struct buf *out, const char *text, size_t len,
    unsigned line, const struct member *m, const char *path, char *err,
    size_t errsz)
{
	const char *p, *end, *nl;
	unsigned lineno = 0;
	int r = 0;

	for (p = text, end = text + len; p < end && r == 0; p = nl + 1) {
		lineno++;
		if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL)
			nl = end;
		if (lineno == line)
			r = member_line(out, m);
		else if ((r = buf_catlen(out, p, (size_t)(nl - p))) == 0)
			r = buf_cat(out, "\n");
	}
	if (r == 0 && line == 0)
		r = member_line(out, m);
	if (r == 0 && out->buf == NULL)
		r = buf_catlen(out, "", 0);
	if (r < 0) {
		snprintf(err, errsz, "out of memory");
		return r;
	}
	if (out->len > MEMBERS_FILE_MAX) {
		snprintf(err, errsz, "%s: would be larger than %d bytes", path,
		    MEMBERS_FILE_MAX);
		return -EFBIG;
	}
	return 0;
}

/*
 * One change to the file at `path`, under an exclusive flock(2) on its
 * directory so that two switchboardctl runs do not lose each other's
 * change: read and check the whole file (a broken file is not touched),
 * apply the change to the text (comments and order are kept), and write
 * it back atomically with the old owner, or for a new file the owner of
 * the directory.  Returns 0 or a negative errno with a message in err.
 */
static int
members_modify(const char *path, enum members_op op, const char *nick,
    const char *password, int active, unsigned long *newid, char *err,
    size_t errsz)
{
	struct members ms = { .by_key = NULL };
	struct buf out = { .max = SIZE_MAX };	/* members_text_edit checks */
	struct nick_id id;
	const struct member *found = NULL;
	struct member add;
	struct stat dst;
	const char *why;
	char *text = NULL;
	size_t len = 0;
	uid_t uid = (uid_t)-1;	/* set by members_text_read */
	gid_t gid = (gid_t)-1;
	int dfd = -1, r;

	assert(path != NULL && nick != NULL && err != NULL && errsz > 0);
	err[0] = '\0';
	if (nick_identify(nick, &id, &why) < 0) {
		snprintf(err, errsz, "%s", why);
		return -EINVAL;
	}
	if (password != NULL && (r = password_check(password, err, errsz)) < 0)
		return r;
	if ((dfd = r = members_dir_lock(path, &dst, err, errsz)) < 0)
		goto done;
	if ((r = members_text_read(path, op == OP_ADD, &dst, &text, &len,
	    &uid, &gid, err, errsz)) < 0)
		goto done;
	if ((r = parse_all(path, text, len, &ms, err, errsz)) < 0)
		goto done;

	switch (op) {
	case OP_ADD:
		r = member_new(path, &ms, nick, &id, password, &add, err, errsz);
		break;
	case OP_ACTIVE:
	case OP_REKEY:
		if ((found = members_find(&ms, nick)) == NULL) {
			snprintf(err, errsz, "%s is not a member", nick);
			r = -ENOENT;
			break;
		}
		add = *found;
		if (op == OP_ACTIVE)
			add.active = active;
		else
			r = hash_password(password, add.hash, sizeof(add.hash),
			    err, errsz);
		break;
	}
	if (r < 0)
		goto done;
	if ((r = members_text_edit(&out, text, len, found ? found->line : 0,
	    &add, path, err, errsz)) < 0)
		goto done;
	if ((r = sb_file_write_atomic(dfd, path, out.buf, out.len, 0600, uid,
	    gid, err, errsz)) < 0)
		goto done;
	if (newid != NULL)
		*newid = add.id;
done:
	explicit_bzero(&add, sizeof(add));
	buf_wipe(&out);	/* it held hashes */
	if (text != NULL) {
		explicit_bzero(text, len);
		free(text);
	}
	members_clear(&ms);
	if (dfd >= 0)
		close(dfd);	/* releases the lock */
	return r;
}

/*
 * Add a member with the next id (the largest in the file + 1), active,
 * its password hashed with yescrypt.  Creates the file (mode 0600) if it
 * does not exist.  Stores the id in *id when id is not NULL.  Returns 0
 * or a negative errno (-EEXIST: already a member, -EINVAL: a nick or
 * password against the rules or a broken file) with a message in err.
 */
int
members_add(const char *path, const char *nick, const char *password,
    unsigned long *id, char *err, size_t errsz)
{
	assert(path != NULL && nick != NULL && password != NULL);
	return members_modify(path, OP_ADD, nick, password, 1, id, err, errsz);
}

/*
 * Enable (1) or disable (0) a member.  Returns 0 or a negative errno
 * (-ENOENT: not a member) with a message in err.
 */
int
members_set_active(const char *path, const char *nick, int active, char *err,
    size_t errsz)
{
	assert(path != NULL && nick != NULL && (active == 0 || active == 1));
	return members_modify(path, OP_ACTIVE, nick, NULL, active, NULL, err,
	    errsz);
}

/*
 * Give a member a new password (a fresh yescrypt hash).  Returns 0 or a
 * negative errno (-ENOENT: not a member) with a message in err.
 */
int
members_rekey(const char *path, const char *nick, const char *password,
    char *err, size_t errsz)
{
	assert(path != NULL && nick != NULL && password != NULL);
	return members_modify(path, OP_REKEY, nick, password, 0, NULL, err,
	    errsz);
}

/*
 * Replace the members file at `path` with text[0..len) (the cluster's
 * copy, checked by the caller with members_parse), under the lock that
 * switchboardctl takes, atomically, mode 0600, with the old owner (a new
 * file: the state directory's).  When `expect` is not NULL the file must
 * still be the one whose digest it is (a file that does not exist counts
 * as empty): a file changed here since the hub read it is not replaced
 * (-EBUSY), so that an operator's change not yet reloaded is never lost
 * silently.  Returns 0 or a negative errno with a message in err.
 */
int
members_replace(const char *path, const char *text, size_t len,
    const char *expect, char *err, size_t errsz)
{
	char digest[MEMBERS_DIGEST_LEN + 1];
	struct stat dst;
	char *cur = NULL;
	size_t curlen = 0;
	uid_t uid = (uid_t)-1;
	gid_t gid = (gid_t)-1;
	int dfd, r;

	assert(path != NULL && text != NULL && err != NULL && errsz > 0);
	err[0] = '\0';
	if ((dfd = r = members_dir_lock(path, &dst, err, errsz)) < 0)
		return r;
	if ((r = members_text_read(path, 1, &dst, &cur, &curlen, &uid, &gid,
	    err, errsz)) < 0)
		goto done;
	members_digest(cur, curlen, digest);
	if (expect != NULL && strcmp(digest, expect) != 0) {
		snprintf(err, errsz, "%s: changed here since the hub last "
		    "read it (not reloaded yet)", path);
		r = -EBUSY;
		goto done;
	}
	r = sb_file_write_atomic(dfd, path, text, len, 0600, uid, gid, err,
	    errsz);
done:
	if (cur != NULL) {
		explicit_bzero(cur, curlen);
		free(cur);
	}
	close(dfd);	/* releases the lock */
	return r;
}
