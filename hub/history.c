/* SPDX-License-Identifier: ISC */
/*
 * Recent history (see history.h): a ring per room in memory, an
 * append-only file per room on disk, compacted from memory.
 *
 * The hub calls history_add for every room message and history_get when
 * someone joins; both are cheap.  Disk writes are plain write(2) calls on
 * a file opened with O_APPEND (a crash of the hub loses nothing the
 * kernel has; a power cut may lose the last seconds).  A failed write
 * never costs the in-memory copy: the room is marked dirty and its file
 * is rewritten whole from memory at the next write that succeeds.
 */
#include <assert.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <bsd/string.h>
#include <bsd/sys/cdefs.h>
#include <bsd/sys/queue.h>
#include <bsd/sys/tree.h>

#include "file.h"
#include "history.h"
#include "text.h"

#define HISTORY_READ_CHUNK	65536	/* bytes read at a time on loading */
#define HISTORY_SUFFIX		".log"
#define HISTORY_TMP_SUFFIX	".tmp"	/* older hubs' rewrites */
#define HISTORY_TIME_MAX	253402300799LL	/* 9999-12-31 */

/* One stored message; from and text live in data[]. */
struct hentry {
	struct history_entry	 pub;
	char			 data[];
};

enum hroom_state {
	HROOM_LIVE,		/* a room that exists (the default) */
	HROOM_PERMANENT,	/* a room of the config: never evicted */
	HROOM_GONE,		/* on h->gone: forgotten after the retention */
};

struct hroom {
	char		 key[HISTORY_ROOM_MAX + 1];	/* folded name */
	enum hroom_state state;
	int		 unclaimed;	/* GONE: loaded, gone_at not set yet */
	uint64_t	 gone_at;	/* GONE: seconds (the caller's clock) */
	TAILQ_ENTRY(hroom) gone;	/* GONE: h->gone, oldest first */
	struct hentry	**ring;
	size_t		 cap;		/* slots in ring, at most per_room */
	size_t		 head;		/* oldest entry */
	size_t		 count;
	size_t		 bytes;		/* the entries' (entry_bytes) */
	size_t		 on_disk;	/* lines in the file */
	uint64_t	 last_seq;	/* the number last given, 0: none */
	int		 dirty;		/* file is behind memory: rewrite */
	RB_ENTRY(hroom)	 entry;
};
RB_HEAD(hrooms, hroom);
TAILQ_HEAD(hroomq, hroom);

struct history {
	char			 dir[PATH_MAX];
	int			 dirfd;		/* -1 while disabled */
	unsigned		 per_room;	/* 0: disabled */
	size_t			 nrooms;	/* slots in use */
	struct hrooms		 rooms;
	struct hroomq		 gone;		/* GONE rooms, oldest first */
	int			 unclaimed;	/* some GONE room is unclaimed */
	unsigned		 retention;	/* seconds a GONE room is kept */
	history_write_fn	 write_fn;
};

/* RB tree order of rooms: by folded name. */
static int
hroom_cmp(struct hroom *a, struct hroom *b)
{
	return strcmp(a->key, b->key);
}

#ifndef __unused	/* libbsd's cdefs.h only defines it in overlay mode */
#define __unused	__attribute__((__unused__))
#endif
RB_GENERATE_STATIC(hrooms, hroom, entry, hroom_cmp)

/* "<hex of key>.log" (or another suffix) into name; 0 or -ENAMETOOLONG. */
static int
file_name(char *name, size_t size, const char *key, const char *suffix)
{
	static const char hex[] = "0123456789abcdef";
	size_t i, o = 0;

	for (i = 0; key[i] != '\0'; i++) {
		if (o + 2 >= size)
			return -ENAMETOOLONG;
		name[o++] = hex[(unsigned char)key[i] >> 4];
		name[o++] = hex[(unsigned char)key[i] & 0xf];
	}
	name[o] = '\0';
	if (strlcat(name, suffix, size) >= size)
		return -ENAMETOOLONG;
	return 0;
}

/* The value of a lower-case hex digit, or -1. */
static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/*
 * The folded room name from a file name "<hex>.log".  Returns 0, or
 * -EINVAL for a name this module did not write.
 */
static int
key_from_file(char *key, size_t size, const char *name)
{
	size_t len = strlen(name), slen = strlen(HISTORY_SUFFIX), n, i;
	char k[HISTORY_ROOM_MAX + 1];

	if (len <= slen || strcmp(name + len - slen, HISTORY_SUFFIX) != 0)
		return -EINVAL;
	n = len - slen;
	if (n % 2 != 0 || n / 2 > HISTORY_ROOM_MAX)
		return -EINVAL;
	for (i = 0; i < n / 2; i++) {
		int hi = hexval(name[2 * i]), lo = hexval(name[2 * i + 1]);

		if (hi < 0 || lo < 0 || (hi == 0 && lo == 0))
			return -EINVAL;
		k[i] = (char)(hi << 4 | lo);
	}
	k[n / 2] = '\0';
	/* Only a name that is its own fold maps back to this file. */
	ascii_fold(key, size, k);
	if (strcmp(key, k) != 0)
		return -EINVAL;
	return 0;
}

/* A kind is 1 to HISTORY_KIND_MAX bytes of [a-z_]. */
static int
kind_valid(const char *kind)
{
	size_t i;

	for (i = 0; kind[i] != '\0'; i++)
		if ((kind[i] < 'a' || kind[i] > 'z') && kind[i] != '_')
			return 0;
	return i > 0 && i <= HISTORY_KIND_MAX;
}

/*
 * A new entry holding copies of the strings; NULL when out of memory
 * or when kind is too long.
 */
static struct hentry *
hentry_new(int64_t t, const char *kind, const char *from, const char *text)
{
	size_t fl = strlen(from), tl = strlen(text);
	struct hentry *e;
	char *d;

	if ((e = malloc(sizeof(*e) + fl + 1 + tl + 1)) == NULL)
		return NULL;
	e->pub.time = t;
	e->pub.seq = 0;
	if (strlcpy(e->pub.kind, kind, sizeof(e->pub.kind)) >=
	    sizeof(e->pub.kind)) {
		free(e);
		return NULL;
	}
	d = e->data;
	memcpy(d, from, fl + 1);
	e->pub.from = d;
	memcpy(d + fl + 1, text, tl + 1);
	e->pub.text = d + fl + 1;
	return e;
}

/* The memory one entry takes: its header, from and text. */
static size_t
entry_bytes(const struct hentry *e)
{
	return sizeof(*e) + strlen(e->pub.from) + 1 + strlen(e->pub.text) + 1;
}

/* The i-th entry, oldest first. */
static struct hentry *
ring_at(const struct hroom *r, size_t i)
{
	return r->ring[(r->head + i) % r->cap];
}

/*
 * Add `e` as the newest entry of `r`, dropping the oldest when the room
 * holds `limit`.  The ring grows up to `limit` slots as entries come, so
 * a quiet room costs little.  Returns 0 or -ENOMEM (e not taken).
 */
static int
ring_push(struct hroom *r, struct hentry *e, size_t limit)
{
	if (r->count == limit) {
		r->bytes -= entry_bytes(r->ring[r->head]);
		free(r->ring[r->head]);
		r->bytes += entry_bytes(e);
		r->ring[r->head] = e;
		r->head = (r->head + 1) % r->cap;
		return 0;
	}
	if (r->count == r->cap) {
		/* Not full yet, so head is 0 and the ring is in order. */
		size_t cap = r->cap ? r->cap * 2 : 8;
		struct hentry **nr;

		assert(r->head == 0);
		if (cap > limit)
			cap = limit;
		if ((nr = reallocarray(r->ring, cap, sizeof(*nr))) == NULL)
			return -ENOMEM;
		r->ring = nr;
		r->cap = cap;
	}
	r->ring[(r->head + r->count) % r->cap] = e;
	r->count++;
	r->bytes += entry_bytes(e);
	return 0;
}

/*
 * Keep the newest `limit` entries, in order from slot 0, in a ring of
 * exactly that many slots (or fewer while the room holds fewer).
 * Returns 0 or -ENOMEM (nothing changed).
 */
static int
ring_trim(struct hroom *r, size_t limit)
{
	struct hentry **nr = NULL;
	size_t keep = r->count < limit ? r->count : limit, drop, i;

	if (keep > 0 && (nr = reallocarray(NULL, keep, sizeof(*nr))) == NULL)
		return -ENOMEM;
	drop = r->count - keep;
	for (i = 0; i < drop; i++) {
		r->bytes -= entry_bytes(ring_at(r, i));
		free(ring_at(r, i));
	}
	for (i = 0; i < keep; i++)
		nr[i] = ring_at(r, drop + i);
	free(r->ring);
	r->ring = nr;
	r->cap = keep;
	r->head = 0;
	r->count = keep;
	return 0;
}

/* Free a room and its entries (it is out of the tree already). */
static void
hroom_free(struct hroom *r)
{
	size_t i;

	for (i = 0; i < r->count; i++)
		free(ring_at(r, i));
	free(r->ring);
	free(r);
}

/* The room with the folded name `key`, or NULL. */
static struct hroom *
hroom_find(struct history *h, const char *key)
{
	struct hroom k = { 0 };	/* only the key is compared */

	if (strlcpy(k.key, key, sizeof(k.key)) >= sizeof(k.key))
		return NULL;
	return RB_FIND(hrooms, &h->rooms, &k);
}

/* The room `room` (any case), or NULL when it has no history. */
static struct hroom *
hroom_of(struct history *h, const char *room)
{
	char key[HISTORY_ROOM_MAX + 1];

	if (strlen(room) > HISTORY_ROOM_MAX)
		return NULL;
	ascii_fold(key, sizeof(key), room);
	return hroom_find(h, key);
}

/*
 * Forget room `r`: out of the tree (and the gone list), its memory freed
 * and its file removed.  Returns 0 or the negative errno of the unlink
 * (the room is forgotten in memory all the same).
 */
static int
hroom_drop(struct history *h, struct hroom *r)
{
	char name[2 * HISTORY_ROOM_MAX + 8];
	int ret = 0;

	RB_REMOVE(hrooms, &h->rooms, r);
	if (r->state == HROOM_GONE)
		TAILQ_REMOVE(&h->gone, r, gone);
	h->nrooms--;
	if (h->dirfd >= 0 && file_name(name, sizeof(name), r->key,
	    HISTORY_SUFFIX) == 0 && unlinkat(h->dirfd, name, 0) < 0 &&
	    errno != ENOENT)
		ret = -errno;
	hroom_free(r);
	return ret;
}

/*
 * Free a slot for a new room: the room gone longest goes; failing that,
 * for a permanent room only, a live temporary room.  Returns 0, or
 * -ENOBUFS when every slot is held by a room that may keep it.
 */
static int
slot_free(struct history *h, int permanent)
{
	struct hroom *r;

	if ((r = TAILQ_FIRST(&h->gone)) != NULL) {
		(void)hroom_drop(h, r);
		return 0;
	}
	if (!permanent)
		return -ENOBUFS;
	RB_FOREACH(r, hrooms, &h->rooms)
		if (r->state == HROOM_LIVE) {
			(void)hroom_drop(h, r);
			return 0;
		}
	return -ENOBUFS;
}

/*
 * A new empty room in state `state`.  A room loaded from disk (`loading`)
 * never evicts another and starts GONE and unclaimed; any other new room
 * evicts one when the slots are full (slot_free), and removes a file of
 * the same name that it did not load (one left over when the slots were
 * full at start), so old messages never come back.  Returns 0, -ENOBUFS
 * (no slot) or -ENOMEM.
 */
static int
hroom_new(struct history *h, const char *key, enum hroom_state state,
    int loading, struct hroom **out)
{
	char name[2 * HISTORY_ROOM_MAX + 8];
	struct hroom *r;
	int ret;

	*out = NULL;
	if (strlen(key) > HISTORY_ROOM_MAX)
		return -EINVAL;
	if (h->nrooms >= HISTORY_ROOMS_MAX && (loading ||
	    (ret = slot_free(h, state == HROOM_PERMANENT)) < 0))
		return -ENOBUFS;
	if ((r = calloc(1, sizeof(*r))) == NULL)
		return -ENOMEM;
	strlcpy(r->key, key, sizeof(r->key));
	r->state = loading ? HROOM_GONE : state;
	if (loading) {
		r->unclaimed = 1;
		h->unclaimed = 1;
		TAILQ_INSERT_TAIL(&h->gone, r, gone);
	} else if (h->dirfd >= 0 && file_name(name, sizeof(name), key,
	    HISTORY_SUFFIX) == 0)
		(void)unlinkat(h->dirfd, name, 0);
	RB_INSERT(hrooms, &h->rooms, r);
	h->nrooms++;
	*out = r;
	return 0;
}

/* Make a GONE room live (or permanent) again. */
static void
hroom_claim(struct history *h, struct hroom *r, enum hroom_state state)
{
	if (r->state == HROOM_GONE)
		TAILQ_REMOVE(&h->gone, r, gone);
	r->state = state;
	r->unclaimed = 0;
}

/* --- records ------------------------------------------------------------- */

/* Append s escaped to out at *o (out has room: see HISTORY_LINE_MAX). */
static void
escape_into(char *out, size_t *o, const char *s)
{
	static const char hex[] = "0123456789abcdef";

	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;

		switch (c) {
		case '\\':
			out[(*o)++] = '\\'; out[(*o)++] = '\\';
			break;
		case '\t':
			out[(*o)++] = '\\'; out[(*o)++] = 't';
			break;
		case '\n':
			out[(*o)++] = '\\'; out[(*o)++] = 'n';
			break;
		case '\r':
			out[(*o)++] = '\\'; out[(*o)++] = 'r';
			break;
		default:
			if (c < 0x20 || c == 0x7f) {
				out[(*o)++] = '\\';
				out[(*o)++] = 'x';
				out[(*o)++] = hex[c >> 4];
				out[(*o)++] = hex[c & 0xf];
			} else
				out[(*o)++] = (char)c;
		}
	}
}

/*
 * One record as a line (with its LF) into out[HISTORY_LINE_MAX + 2].
 * Returns its length.
 */
static size_t
record_format(char *out, const struct history_entry *e)
{
	size_t o;
	int n;

	n = snprintf(out, 64 + HISTORY_KIND_MAX, "%lld\t%llu\t%s\t",
	    (long long)e->time, (unsigned long long)e->seq, e->kind);
	assert(n > 0);
	o = (size_t)n;
	escape_into(out, &o, e->from);
	out[o++] = '\t';
	escape_into(out, &o, e->text);
	out[o++] = '\n';
	assert(o <= HISTORY_LINE_MAX + 1);
	out[o] = '\0';
	return o;
}

/*
 * Undo escape_into on s[0..len) into out[0..size).  Returns the length,
 * or -EINVAL for a bad escape, a raw control character, a NUL, or more
 * than size - 1 bytes.
 */
static ssize_t
unescape(char *out, size_t size, const char *s, size_t len)
{
	size_t i, o = 0;

	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c < 0x20 || c == 0x7f)
			return -EINVAL;
		if (c == '\\') {
			if (++i == len)
				return -EINVAL;
			switch (s[i]) {
			case '\\': c = '\\'; break;
			case 't': c = '\t'; break;
			case 'n': c = '\n'; break;
			case 'r': c = '\r'; break;
			case 'x': {
				int hi, lo;

				if (i + 2 >= len)
					return -EINVAL;
				hi = hexval(s[i + 1]);
				lo = hexval(s[i + 2]);
				if (hi < 0 || lo < 0 || (hi == 0 && lo == 0))
					return -EINVAL;
				c = (unsigned char)(hi << 4 | lo);
				i += 2;
				break;
			}
			default:
				return -EINVAL;
			}
		}
		if (o + 1 >= size)
			return -EINVAL;
		out[o++] = (char)c;
	}
	out[o] = '\0';
	return (ssize_t)o;
}

/*
 * The decimal number in s[0..len): 1 to `digits` digits, at most max.
 * Returns 0 with *v set, or -EINVAL.
 */
static int
decimal(const char *s, size_t len, size_t digits, unsigned long long max,
    unsigned long long *v)
{
	size_t i;

	*v = 0;
	if (len == 0 || len > digits)
		return -EINVAL;
	for (i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9' ||
		    *v > (max - (unsigned long long)(s[i] - '0')) / 10)
			return -EINVAL;
		*v = *v * 10 + (unsigned long long)(s[i] - '0');
	}
	return 0;
}

/*
 * Parse one line (without its LF) into a new entry: five fields, or the
 * four of a line written before numbers (its seq is then 0, for the
 * loader to give).  Returns NULL for a line that is not a record (or
 * when out of memory).
 */
static struct hentry *
record_parse(const char *line, size_t len)
{
	char from[HISTORY_FROM_MAX + 1], text[HISTORY_TEXT_MAX + 1];
	char kind[HISTORY_KIND_MAX + 1];
	const char *f[5], *end = line + len, *p = line, *tab;
	unsigned long long t, seq = 0;
	size_t fl[5], n = 0, k;
	struct hentry *e;

	/* Split at TABs: 4 or 5 fields (no field holds a raw TAB). */
	while (n < 5) {
		tab = memchr(p, '\t', (size_t)(end - p));
		f[n] = p;
		fl[n++] = (size_t)((tab != NULL ? tab : end) - p);
		if (tab == NULL)
			break;
		p = tab + 1;
	}
	if (n < 4 || memchr(f[n - 1], '\t', fl[n - 1]) != NULL)
		return NULL;
	k = n - 4;	/* 1: the number is field 1 */
	if (decimal(f[0], fl[0], 12, HISTORY_TIME_MAX, &t) < 0 ||
	    (k == 1 && (decimal(f[1], fl[1], 20, HISTORY_SEQ_MAX, &seq) < 0 ||
	    seq == 0)) ||
	    fl[1 + k] == 0 || fl[1 + k] > HISTORY_KIND_MAX)
		return NULL;
	memcpy(kind, f[1 + k], fl[1 + k]);
	kind[fl[1 + k]] = '\0';
	if (!kind_valid(kind) ||
	    unescape(from, sizeof(from), f[2 + k], fl[2 + k]) < 0 ||
	    unescape(text, sizeof(text), f[3 + k], fl[3 + k]) < 0)
		return NULL;
	if ((e = hentry_new((int64_t)t, kind, from, text)) != NULL)
		e->pub.seq = seq;
	return e;
}

/* --- disk ---------------------------------------------------------------- */

/*
 * Write every entry of `r` to a new file and rename it over the room's
 * file.  Returns 0 (the room is clean) or a negative errno (it stays
 * dirty; the old file, if any, is untouched).
 */
static int
room_rewrite(struct history *h, struct hroom *r)
{
	char name[2 * HISTORY_ROOM_MAX + 8], path[PATH_MAX], *buf;
	struct sb_file_atomic a;
	size_t i, len = 0, cap;
	int ret;

	if (file_name(name, sizeof(name), r->key, HISTORY_SUFFIX) < 0 ||
	    (size_t)snprintf(path, sizeof(path), "%s/%s", h->dir, name) >=
	    sizeof(path))
		return -ENAMETOOLONG;
	cap = r->count * (HISTORY_LINE_MAX + 2) + 1;
	if (r->count > 64)	/* typical records are short: grow as needed */
		cap = 64 * (HISTORY_LINE_MAX + 2) + 1;
	if ((buf = malloc(cap)) == NULL)
		return -ENOMEM;
	if ((ret = sb_file_atomic_begin(&a, h->dirfd, path, 0600, geteuid(),
	    getegid())) < 0) {
		free(buf);
		return ret;
	}
	a.write = h->write_fn;
	for (i = 0; i < r->count && ret == 0; i++) {
		len += record_format(buf + len, &ring_at(r, i)->pub);
		if (cap - len < HISTORY_LINE_MAX + 2 || i + 1 == r->count) {
			ret = sb_file_atomic_write(&a, buf, len);
			len = 0;
		}
	}
	free(buf);
	if (ret == 0)	/* a failed write has abandoned the new file */
		ret = sb_file_atomic_commit(&a);
	if (ret < 0) {
		r->dirty = 1;
		return ret;
	}
	r->on_disk = r->count;
	r->dirty = 0;
	return 0;
}

/*
 * Append one record to the room's file.  A write that fails is cut back
 * off the file (so it leaves no torn line), and the room is marked dirty.
 * The file was opened O_RDWR only to look at its last byte.
 * Returns 0 or a negative errno.
 */
static int
room_append(struct history *h, struct hroom *r, const struct hentry *e)
{
	char name[2 * HISTORY_ROOM_MAX + 8], line[HISTORY_LINE_MAX + 2];
	struct stat st;
	size_t len;
	char last;
	int fd, ret;

	if (file_name(name, sizeof(name), r->key, HISTORY_SUFFIX) < 0)
		return -ENAMETOOLONG;
	fd = openat(h->dirfd, name, O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC |
	    O_NOFOLLOW, 0600);
	if (fd < 0) {
		r->dirty = 1;
		return -errno;
	}
	if (fstat(fd, &st) < 0) {
		ret = -errno;
		goto fail;
	}
	/*
	 * The file does not end with a whole line (someone else wrote to
	 * it): a torn record could read as a shorter one, so rewrite the
	 * file from memory instead.
	 */
	if (st.st_size > 0 && (pread(fd, &last, 1, st.st_size - 1) != 1 ||
	    last != '\n')) {
		close(fd);
		return room_rewrite(h, r);
	}
	len = record_format(line, &e->pub);
	if ((ret = sb_file_write_all(fd, line, len, h->write_fn)) < 0) {
		if (ftruncate(fd, st.st_size) < 0)
			r->on_disk++;	/* a torn line stays: count it */
		goto fail;
	}
	close(fd);
	r->on_disk++;
	return 0;
fail:
	close(fd);
	r->dirty = 1;
	return ret;
}

/*
 * Give a loaded entry its number: the one on its line, which must be
 * above the line before (else -EINVAL), or, on a line written before
 * numbers, the next one.
 */
static int
record_number(struct hroom *r, struct hentry *e)
{
	if (e->pub.seq == 0) {
		if (r->last_seq >= HISTORY_SEQ_MAX)
			return -EINVAL;
		e->pub.seq = r->last_seq + 1;
	} else if (e->pub.seq <= r->last_seq)
		return -EINVAL;
	r->last_seq = e->pub.seq;
	return 0;
}

/*
 * Load one room's file into memory: the newest per_room records, and
 * the room's last number.  Lines that do not parse are skipped; if there
 * were any, or more than 2N lines, or lines without their number, the
 * room is marked dirty so its next write compacts the file.
 */
static int
room_load(struct history *h, const char *key, const char *name)
{
	char *chunk = NULL, *line = NULL;
	size_t ll = 0, lines = 0, bad = 0, unnumbered = 0;
	int fd, toolong = 0, ret = 0;
	struct hroom *r;
	ssize_t n;

	if ((r = hroom_find(h, key)) == NULL &&
	    (ret = hroom_new(h, key, HROOM_GONE, 1, &r)) < 0)
		return ret;
	if ((fd = openat(h->dirfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) < 0)
		return -errno;
	if ((chunk = malloc(HISTORY_READ_CHUNK)) == NULL ||
	    (line = malloc(HISTORY_LINE_MAX + 1)) == NULL) {
		ret = -ENOMEM;
		goto done;
	}
	while ((n = read(fd, chunk, HISTORY_READ_CHUNK)) != 0) {
		const char *p = chunk, *e;

		if (n < 0) {
			if (errno == EINTR)
				continue;
			ret = -errno;
			goto done;
		}
		e = chunk + n;
		while (p < e) {
			const char *nl = memchr(p, '\n', (size_t)(e - p));
			size_t seg = (size_t)((nl != NULL ? nl : e) - p);

			if (!toolong && ll + seg > HISTORY_LINE_MAX)
				toolong = 1;
			if (!toolong) {
				memcpy(line + ll, p, seg);
				ll += seg;
			}
			if (nl == NULL)
				break;
			p = nl + 1;
			lines++;
			if (!toolong) {
				struct hentry *he = record_parse(line, ll);

				if (he != NULL && he->pub.seq == 0)
					unnumbered++;
				if (he == NULL || record_number(r, he) < 0) {
					free(he);
					bad++;
				} else if (ring_push(r, he, h->per_room) < 0) {
					free(he);
					ret = -ENOMEM;
					goto done;
				}
			} else
				bad++;
			ll = 0;
			toolong = 0;
		}
	}
	if (ll > 0 || toolong) {	/* a torn last line */
		lines++;
		bad++;
	}
done:
	free(chunk);
	free(line);
	close(fd);
	r->on_disk = lines;
	if (bad > 0 || unnumbered > 0 || lines > 2 * (size_t)h->per_room)
		r->dirty = 1;
	return ret;
}

/*
 * Load every room file of the directory; remove temporary files a crash
 * left behind.  Files this module did not name are left alone.  Returns
 * 0 or a negative errno (with a message in err) when the directory
 * cannot be read; a room that cannot be loaded is skipped.
 */
static int
history_load_all(struct history *h, char *err, size_t errsz)
{
	struct dirent *de;
	DIR *d;
	int fd;

	if ((fd = dup(h->dirfd)) < 0 || (d = fdopendir(fd)) == NULL) {
		int e = errno;

		if (fd >= 0)
			close(fd);
		snprintf(err, errsz, "%s: %s", h->dir, strerror(e));
		return -e;
	}
	rewinddir(d);
	while ((de = readdir(d)) != NULL) {
		char key[HISTORY_ROOM_MAX + 1];
		size_t len = strlen(de->d_name);
		size_t tl = strlen(HISTORY_TMP_SUFFIX);

		/* A rewrite a crash cut short (an older hub's, or file.c's). */
		if (sb_file_is_temp(de->d_name) || (len > tl &&
		    strcmp(de->d_name + len - tl, HISTORY_TMP_SUFFIX) == 0)) {
			unlinkat(h->dirfd, de->d_name, 0);
			continue;
		}
		if (key_from_file(key, sizeof(key), de->d_name) < 0)
			continue;
		(void)room_load(h, key, de->d_name);
	}
	closedir(d);
	return 0;
}

/* --- interface ----------------------------------------------------------- */

/*
 * Open the history kept in `dir` (created, mode 0700, if missing; its
 * parent must exist), keeping `per_room` entries per room (0: history is
 * off; nothing is read or written), and load what the files hold.
 * Returns 0 with *out set, or a negative errno with a message in err.
 */
int
history_open(const char *dir, unsigned per_room, struct history **out,
    char *err, size_t errsz)
{
	struct history *h;
	int r;

	assert(dir != NULL && out != NULL && err != NULL && errsz > 0);
	*out = NULL;
	if (per_room > HISTORY_PER_ROOM_MAX) {
		snprintf(err, errsz, "history: at most %d entries per room",
		    HISTORY_PER_ROOM_MAX);
		return -EINVAL;
	}
	if ((h = calloc(1, sizeof(*h))) == NULL) {
		snprintf(err, errsz, "history: out of memory");
		return -ENOMEM;
	}
	h->dirfd = -1;
	h->write_fn = write;
	RB_INIT(&h->rooms);
	TAILQ_INIT(&h->gone);
	if (strlcpy(h->dir, dir, sizeof(h->dir)) >= sizeof(h->dir)) {
		snprintf(err, errsz, "history: directory name too long");
		history_close(h);
		return -ENAMETOOLONG;
	}
	if ((r = history_set_limit(h, per_room)) < 0) {
		snprintf(err, errsz, "%s: %s", dir, strerror(-r));
		history_close(h);
		return r;
	}
	*out = h;
	return 0;
}

/* Free everything; files stay.  Takes NULL; returns NULL. */
struct history *
history_close(struct history *h)
{
	struct hroom *r, *rn;

	if (h == NULL)
		return NULL;
	RB_FOREACH_SAFE(r, hrooms, &h->rooms, rn) {
		RB_REMOVE(hrooms, &h->rooms, r);
		hroom_free(r);
	}
	if (h->dirfd >= 0)
		close(h->dirfd);
	free(h);
	return NULL;
}

/*
 * Change how many entries each room keeps (a reload of the config).
 * Fewer: the oldest go, and files are compacted at their next write.
 * 0: history is off and the memory is freed (files stay).  From 0 to
 * more: the directory is opened (created if missing) and loaded.
 * Returns 0 or a negative errno (nothing changed but the memory limit).
 */
int
history_set_limit(struct history *h, unsigned per_room)
{
	struct hroom *r, *rn;
	char err[256];
	int ret;

	assert(h != NULL);
	if (per_room > HISTORY_PER_ROOM_MAX)
		return -EINVAL;
	if (per_room == 0) {
		RB_FOREACH_SAFE(r, hrooms, &h->rooms, rn) {
			RB_REMOVE(hrooms, &h->rooms, r);
			hroom_free(r);
		}
		TAILQ_INIT(&h->gone);
		h->unclaimed = 0;
		h->nrooms = 0;
		h->per_room = 0;
		if (h->dirfd >= 0)
			close(h->dirfd);
		h->dirfd = -1;
		return 0;
	}
	if (h->dirfd < 0) {
		if (mkdir(h->dir, 0700) < 0 && errno != EEXIST)
			return -errno;
		if ((h->dirfd = open(h->dir, O_RDONLY | O_DIRECTORY |
		    O_CLOEXEC)) < 0)
			return -errno;
		h->per_room = per_room;
		if ((ret = history_load_all(h, err, sizeof(err))) < 0) {
			close(h->dirfd);
			h->dirfd = -1;
			h->per_room = 0;
			return ret;
		}
		return 0;
	}
	RB_FOREACH(r, hrooms, &h->rooms) {
		if ((ret = ring_trim(r, per_room)) < 0)
			return ret;
		if (r->on_disk > 2 * (size_t)per_room)
			r->dirty = 1;
	}
	h->per_room = per_room;
	return 0;
}

/*
 * Keep a message of `room`: `kind` is a word of [a-z_] ("room",
 * "action"), `from` the sender's nick ("" allowed), `text` the message,
 * `t` unix seconds.  A room new to the history is live (see history.h);
 * when the slots are full it takes the slot of the room gone longest.
 * A kept message gets the room's next number, in *seq (NULL: not
 * wanted); one not kept, 0.
 * Returns 0; -EINVAL for a value over its limit (not kept); -ENOBUFS
 * when every slot is held by a live or permanent room, -ERANGE when the
 * room has given its last number, or -ENOMEM (not kept); or
 * the negative errno of a failed disk write, in which case the entry IS
 * kept in memory and replayed, and the file catches up later.  The caller
 * logs the error (once, not per message) and carries on.
 */
int
history_add(struct history *h, const char *room, const char *kind,
    const char *from, const char *text, int64_t t, uint64_t *seq)
{
	if (seq != NULL)
		*seq = 0;
	return history_add_at(h, room, kind, from, text, t, seq);
}

/*
 * history_add(), with the number given by someone else (the cluster's
 * Redis, hub/cluster.c) when *seq is not 0 on entry: it must be above
 * the room's last number (-ERANGE if not: a repeat is the caller's to
 * drop); the numbers skipped are a gap, as a line lost on disk is.
 */
int
history_add_at(struct history *h, const char *room, const char *kind,
    const char *from, const char *text, int64_t t, uint64_t *seq)
{
	uint64_t want = seq != NULL ? *seq : 0;
	char key[HISTORY_ROOM_MAX + 1];
	struct hentry *e;
	struct hroom *r;
	int ret;

	assert(h != NULL && room != NULL && kind != NULL && from != NULL &&
	    text != NULL);
	if (seq != NULL)
		*seq = 0;
	if (want > HISTORY_SEQ_MAX)
		return -ERANGE;
	if (room[0] == '\0' || strlen(room) > HISTORY_ROOM_MAX ||
	    !kind_valid(kind) || strlen(from) > HISTORY_FROM_MAX ||
	    strlen(text) > HISTORY_TEXT_MAX || t < 0 || t > HISTORY_TIME_MAX)
		return -EINVAL;
	if (h->per_room == 0)
		return 0;
	ascii_fold(key, sizeof(key), room);
	if ((r = hroom_find(h, key)) == NULL &&
	    (ret = hroom_new(h, key, HROOM_LIVE, 0, &r)) < 0)
		return ret;
	if (r->state == HROOM_GONE)	/* a room that speaks exists */
		hroom_claim(h, r, HROOM_LIVE);
	if (r->last_seq >= HISTORY_SEQ_MAX ||
	    (want != 0 && want <= r->last_seq))
		return -ERANGE;
	if ((e = hentry_new(t, kind, from, text)) == NULL)
		return -ENOMEM;
	e->pub.seq = want != 0 ? want : r->last_seq + 1;
	if ((ret = ring_push(r, e, h->per_room)) < 0) {
		free(e);
		return ret;
	}
	r->last_seq = e->pub.seq;
	if (seq != NULL)
		*seq = e->pub.seq;
	if (r->dirty || r->on_disk + 1 > 2 * (size_t)h->per_room)
		return room_rewrite(h, r);
	return room_append(h, r, e);
}

/*
 * Call cb for each kept entry of `room` (folded) numbered above `since`
 * (0: every one), oldest first.  Returns 0 (also for a room without
 * history), or the first nonzero value cb returned (the walk stops
 * there).
 */
int
history_get(struct history *h, const char *room, uint64_t since,
    history_cb cb, void *arg)
{
	struct hroom *r;
	size_t i;
	int ret;

	assert(h != NULL && room != NULL && cb != NULL);
	if ((r = hroom_of(h, room)) == NULL)
		return 0;
	for (i = 0; i < r->count; i++) {
		const struct history_entry *e = &ring_at(r, i)->pub;

		if (e->seq > since && (ret = cb(e, arg)) != 0)
			return ret;
	}
	return 0;
}

/* The last number `room` gave (0: none yet, or no history). */
uint64_t
history_last(struct history *h, const char *room)
{
	struct hroom *r;

	assert(h != NULL && room != NULL);
	return (r = hroom_of(h, room)) != NULL ? r->last_seq : 0;
}

/* How many entries `room` has in memory. */
size_t
history_count(struct history *h, const char *room)
{
	struct hroom *r;

	assert(h != NULL && room != NULL);
	return (r = hroom_of(h, room)) != NULL ? r->count : 0;
}

/*
 * Drop the history of `room`, in memory and on disk (for a room that is
 * gone for good).  Returns 0 or the negative errno of the unlink.
 */
int
history_forget(struct history *h, const char *room)
{
	char key[HISTORY_ROOM_MAX + 1], name[2 * HISTORY_ROOM_MAX + 8];
	struct hroom *r;

	assert(h != NULL && room != NULL);
	if (strlen(room) > HISTORY_ROOM_MAX)
		return -EINVAL;
	ascii_fold(key, sizeof(key), room);
	if ((r = hroom_find(h, key)) != NULL)
		return hroom_drop(h, r);
	if (h->dirfd < 0 || file_name(name, sizeof(name), key,
	    HISTORY_SUFFIX) < 0)
		return 0;
	if (unlinkat(h->dirfd, name, 0) < 0 && errno != ENOENT)
		return -errno;
	return 0;
}

/* For tests: replace write(2) for record writes (NULL: write(2) again). */
void
history_set_write(struct history *h, history_write_fn fn)
{
	assert(h != NULL);
	h->write_fn = fn != NULL ? fn : write;
}

/*
 * The hub has room `room` now: created by a JOIN or a resume (`permanent`
 * 0), or a room of the config (1).  A GONE room whose retention has
 * passed by `now` (seconds, the same clock as history_room_gone) is
 * forgotten first, so the new room starts empty; one still within its
 * retention is live again with its history.  A permanent room gets its
 * slot now (taken from a gone room, else a live temporary one), so that
 * it never runs out.  Returns 0, or -ENOBUFS / -ENOMEM when a permanent
 * room gets no slot.
 */
int
history_room_live(struct history *h, const char *room, int permanent,
    uint64_t now)
{
	enum hroom_state state = permanent ? HROOM_PERMANENT : HROOM_LIVE;
	char key[HISTORY_ROOM_MAX + 1];
	struct hroom *r;

	assert(h != NULL && room != NULL);
	if (h->per_room == 0 || room[0] == '\0' ||
	    strlen(room) > HISTORY_ROOM_MAX)
		return 0;
	ascii_fold(key, sizeof(key), room);
	if ((r = hroom_find(h, key)) != NULL && r->state == HROOM_GONE &&
	    !r->unclaimed && (now < r->gone_at ||
	    now - r->gone_at >= h->retention)) {
		(void)hroom_drop(h, r);
		r = NULL;
	}
	if (r != NULL) {
		/* A permanent room stays one; rooms.c never demotes it. */
		if (r->state != HROOM_PERMANENT)
			hroom_claim(h, r, state);
		return 0;
	}
	return permanent ? hroom_new(h, key, state, 0, &r) : 0;
}

/*
 * Temporary room `room` went away at `now` (seconds): its history is
 * forgotten once the retention has passed (at once for retention 0).
 * A permanent room is never gone.  Returns 0 or the negative errno of
 * removing its file.
 */
int
history_room_gone(struct history *h, const char *room, uint64_t now)
{
	struct hroom *r;

	assert(h != NULL && room != NULL);
	if ((r = hroom_of(h, room)) == NULL || r->state != HROOM_LIVE)
		return 0;
	if (h->retention == 0)
		return hroom_drop(h, r);
	r->state = HROOM_GONE;
	r->gone_at = now;
	TAILQ_INSERT_TAIL(&h->gone, r, gone);
	return 0;
}

/*
 * Forget every gone room whose retention has passed at `now`.  Rooms
 * loaded from disk that nobody claimed (history_room_live) count as gone
 * from the first call on, so the hub claims its rooms before it calls
 * this.  Returns how many rooms were forgotten.
 */
size_t
history_expire(struct history *h, uint64_t now)
{
	struct hroom *r, *rn;
	size_t n = 0;
	int all = h->unclaimed;

	assert(h != NULL);
	h->unclaimed = 0;
	TAILQ_FOREACH_SAFE(r, &h->gone, gone, rn) {
		if (r->unclaimed) {
			r->unclaimed = 0;
			r->gone_at = now;
		}
		if (now >= r->gone_at && now - r->gone_at < h->retention) {
			if (!all)	/* the list is oldest first */
				break;
			continue;
		}
		(void)hroom_drop(h, r);
		n++;
	}
	return n;
}

/* How long a gone room keeps its history, in seconds (0: not at all). */
void
history_set_retention(struct history *h, unsigned seconds)
{
	assert(h != NULL);
	h->retention = seconds;
}

/*
 * What the history holds in memory, for the metrics: the entries of
 * every room in *entries, the bytes they take in *bytes.  Returns the
 * rooms with a slot.  Walks the rooms, not the entries.
 */
size_t
history_usage(struct history *h, size_t *entries, size_t *bytes)
{
	struct hroom *r;

	assert(h != NULL && entries != NULL && bytes != NULL);
	*entries = *bytes = 0;
	RB_FOREACH(r, hrooms, &h->rooms) {
		*entries += r->count;
		*bytes += r->bytes;
	}
	return h->nrooms;
}

/* How many rooms have a slot (for tests and the status line). */
size_t
history_rooms(struct history *h)
{
	assert(h != NULL);
	return h->nrooms;
}
