/* SPDX-License-Identifier: ISC */
/*
 * Fuzz target: the hub's history files (hub/history.c), read back after
 * a crash or by a new hub: "<time> TAB <kind> TAB <from> TAB <text>"
 * lines with backslash escapes, in one file per room.
 *
 * Input: byte 0 sets the entries kept per room (1-16); the rest is the
 * room's file.  Properties: loading never fails on a bad line (it is
 * skipped), keeps at most per_room entries, each with a valid kind and
 * from/text within their limits; an entry added afterwards, with any
 * bytes in from and text (TAB, LF, CR, backslash, invalid UTF-8), comes
 * back byte for byte after a reload, after the entries that were there.
 * Then the first bytes, again, drive the rooms' lifetimes (room_ops):
 * rooms come, speak, go and expire, eight names, one permanent, with a
 * retention of 0-3 seconds.  Properties: the permanent room never loses
 * an entry, a room created again after its retention replays nothing,
 * and there are never more files than rooms with history.
 * The files live in a private temporary directory ($TMPDIR, else
 * /dev/shm), emptied every run.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include "fuzz.h"
#include "history.h"

#define ROOM		"lobby"
#define ROOM_FILE	"6c6f626279.log"	/* hex of the folded name */
#define KEEP_MAX	16
#define OPS_MAX		64	/* lifetime steps per input */
#define NAMES		8

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

struct seen {
	size_t	n;
	struct {
		int64_t	time;
		uint64_t seq;
		char	kind[HISTORY_KIND_MAX + 1];
		char	from[HISTORY_FROM_MAX + 1];
		char	text[HISTORY_TEXT_MAX + 1];
	} e[KEEP_MAX + 1];
};

static char dir[256];

/* Files in the directory. */
static size_t
count_files(void)
{
	struct dirent *d;
	size_t n = 0;
	DIR *dp;

	if ((dp = opendir(dir)) == NULL)
		abort();
	while ((d = readdir(dp)) != NULL)
		n += d->d_name[0] != '.';
	closedir(dp);
	return n;
}

/*
 * Rooms come and go as the input says (two bits of op, three of name per
 * byte), on a clock that moves one second every fourth step.  Room r0 is
 * permanent.  What a correct history must do is tracked alongside.
 */
static void
room_ops(const uint8_t *p, size_t n, unsigned keep)
{
	unsigned retention = keep % 4;
	int live[NAMES] = { 0 }, gone[NAMES] = { 0 };
	uint64_t now = 0, gone_at[NAMES] = { 0 };
	struct history *h;
	char err[256], room[8];
	size_t i, perm = 0;

	FUZZ_CHECK(history_open(dir, keep, &h, err, sizeof(err)) == 0);
	history_set_retention(h, retention);
	FUZZ_CHECK(history_room_live(h, "r0", 1, now) == 0);
	live[0] = 1;
	perm = history_count(h, "r0");
	history_expire(h, now);		/* what was on disk is gone now */
	for (i = 0; i < n && i < OPS_MAX; i++) {
		unsigned op = p[i] & 3, k = (p[i] >> 2) % NAMES;

		snprintf(room, sizeof(room), "r%u", k);
		if (i % 4 == 3)
			now++;
		switch (op) {
		case 0:		/* JOIN creates the room */
			if (k == 0 || live[k])
				break;
			FUZZ_CHECK(history_room_live(h, room, 0, now) == 0);
			if (gone[k] && now - gone_at[k] >= retention)
				FUZZ_CHECK(history_count(h, room) == 0);
			live[k] = 1;
			gone[k] = 0;
			break;
		case 1:		/* SAY */
			if (!live[k])
				break;
			FUZZ_CHECK(history_add(h, room, "room", "a", "t",
			    1, NULL) == 0);
			if (k == 0 && perm < keep)
				perm++;
			break;
		case 2:		/* the last one leaves */
			if (k == 0 || !live[k])
				break;
			FUZZ_CHECK(history_room_gone(h, room, now) == 0);
			live[k] = 0;
			gone[k] = 1;
			gone_at[k] = now;
			break;
		default:	/* the status timer */
			history_expire(h, now);
		}
		FUZZ_CHECK(history_count(h, "r0") == perm);
		FUZZ_CHECK(count_files() <= history_rooms(h));
	}
	history_close(h);
}

static void
empty_dir(void)
{
	struct dirent *d;
	DIR *dp;
	char p[512];

	if ((dp = opendir(dir)) == NULL)
		abort();
	while ((d = readdir(dp)) != NULL) {
		if (d->d_name[0] == '.')
			continue;
		snprintf(p, sizeof(p), "%s/%s", dir, d->d_name);
		unlink(p);
	}
	closedir(dp);
}

static void
remove_dir(void)
{
	empty_dir();
	rmdir(dir);
}

static int
collect(const struct history_entry *e, void *arg)
{
	struct seen *s = arg;
	size_t k;

	FUZZ_CHECK(s->n <= KEEP_MAX);
	FUZZ_CHECK(e->kind[0] != '\0');
	for (k = 0; e->kind[k] != '\0'; k++)
		FUZZ_CHECK((e->kind[k] >= 'a' && e->kind[k] <= 'z') ||
		    e->kind[k] == '_');
	FUZZ_CHECK(k <= HISTORY_KIND_MAX);
	FUZZ_CHECK(strlen(e->from) <= HISTORY_FROM_MAX);
	FUZZ_CHECK(strlen(e->text) <= HISTORY_TEXT_MAX);
	FUZZ_CHECK(e->time >= 0);
	/* numbers only grow, and never pass the limit */
	FUZZ_CHECK(e->seq > (s->n > 0 ? s->e[s->n - 1].seq : 0));
	FUZZ_CHECK(e->seq <= HISTORY_SEQ_MAX);
	s->e[s->n].seq = e->seq;
	s->e[s->n].time = e->time;
	memcpy(s->e[s->n].kind, e->kind, k + 1);
	snprintf(s->e[s->n].from, sizeof(s->e[s->n].from), "%s", e->from);
	snprintf(s->e[s->n].text, sizeof(s->e[s->n].text), "%s", e->text);
	s->n++;
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in = { data, size };
	unsigned keep = 1 + fuzz_byte(&in) % KEEP_MAX;
	static struct seen a, b;
	struct history *h;
	uint64_t last, seq;
	char err[256], p[512], from[HISTORY_FROM_MAX + 1];
	char text[HISTORY_TEXT_MAX + 1];
	size_t fl, tl, i;
	int fd, r;

	if (dir[0] == '\0') {
		const char *t = getenv("TMPDIR");

		snprintf(dir, sizeof(dir), "%s/sb-fuzz-history-XXXXXX",
		    t != NULL && *t != '\0' ? t : "/dev/shm");
		if (mkdtemp(dir) == NULL)
			abort();
		atexit(remove_dir);
	}
	empty_dir();
	snprintf(p, sizeof(p), "%s/%s", dir, ROOM_FILE);
	if ((fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0600)) < 0 ||
	    (in.n > 0 && write(fd, in.p, in.n) != (ssize_t)in.n))
		abort();
	close(fd);

	r = history_open(dir, keep, &h, err, sizeof(err));
	FUZZ_CHECK(r == 0);
	a.n = 0;
	FUZZ_CHECK(history_get(h, ROOM, 0, collect, &a) == 0);
	FUZZ_CHECK(a.n <= keep && a.n == history_count(h, ROOM));
	last = history_last(h, ROOM);
	FUZZ_CHECK(a.n == 0 || a.e[a.n - 1].seq == last);

	/* A new entry made of the input's own bytes, NULs cut out. */
	for (i = fl = 0; i < in.n && fl < sizeof(from) - 1; i++)
		if (in.p[i] != '\0')
			from[fl++] = (char)in.p[i];
	from[fl] = '\0';
	for (i = tl = 0; i < in.n && tl < sizeof(text) - 1; i++)
		if (in.p[in.n - 1 - i] != '\0')
			text[tl++] = (char)in.p[in.n - 1 - i];
	text[tl] = '\0';
	if (last == HISTORY_SEQ_MAX) {	/* the room has no number left */
		FUZZ_CHECK(history_add(h, ROOM, "room_x", from, text,
		    1234567890, &seq) == -ERANGE && seq == 0);
		history_close(h);
		return 0;
	}
	FUZZ_CHECK(history_add(h, ROOM, "room_x", from, text, 1234567890,
	    &seq) == 0);
	FUZZ_CHECK(seq == last + 1);
	history_close(h);

	FUZZ_CHECK(history_open(dir, keep, &h, err, sizeof(err)) == 0);
	b.n = 0;
	FUZZ_CHECK(history_get(h, ROOM, 0, collect, &b) == 0);
	history_close(h);
	FUZZ_CHECK(b.n == (a.n < keep ? a.n + 1 : keep));
	FUZZ_CHECK(b.e[b.n - 1].seq == last + 1);
	FUZZ_CHECK(b.e[b.n - 1].time == 1234567890);
	FUZZ_CHECK(strcmp(b.e[b.n - 1].kind, "room_x") == 0);
	FUZZ_CHECK(strcmp(b.e[b.n - 1].from, from) == 0);
	FUZZ_CHECK(strcmp(b.e[b.n - 1].text, text) == 0);
	for (i = 0; i + 1 < b.n; i++) {
		size_t j = a.n - (b.n - 1) + i;

		FUZZ_CHECK(b.e[i].seq == a.e[j].seq);
		FUZZ_CHECK(b.e[i].time == a.e[j].time);
		FUZZ_CHECK(strcmp(b.e[i].kind, a.e[j].kind) == 0);
		FUZZ_CHECK(strcmp(b.e[i].from, a.e[j].from) == 0);
		FUZZ_CHECK(strcmp(b.e[i].text, a.e[j].text) == 0);
	}
	room_ops(data, size, keep);
	return 0;
}
