/* SPDX-License-Identifier: ISC */
/*
 * Unit tests for hub/history.c: the ring per room, what survives a
 * restart (close and reopen), escaping, compaction past 2N records, torn
 * and garbage lines, limits, and a disk that fails: an injected write
 * failure (ENOSPC, EIO, a short write) and a real 64 KiB tmpfs mounted in
 * a private mount namespace (skipped where that is not allowed).  In
 * every failure the in-memory history stays whole and the file catches
 * up once writes work again.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../hub/history.h"
#include "tmpdir.h"

static char dir[256];		/* the state directory of a test */
static char hdir[300];		/* its history directory */
static char err[512];

static int
setup(void **state)
{
	tmpdir_make(dir, sizeof(dir), "history");
	snprintf(hdir, sizeof(hdir), "%s/history", dir);
	err[0] = '\0';
	return 0;
}

static int
teardown(void **state)
{
	tmpdir_remove(dir);
	return 0;
}

/* Collects what history_get replays. */
struct seen {
	int		 n;
	int64_t		 time[64];
	uint64_t	 seq[64];
	char		 kind[64][20];
	char		 from[64][40];
	char		 text[64][2100];
	int		 stop_at;	/* return 7 at this entry (0: never) */
};

static int
collect(const struct history_entry *e, void *arg)
{
	struct seen *s = arg;

	assert_true(s->n < 64);
	s->time[s->n] = e->time;
	s->seq[s->n] = e->seq;
	strcpy(s->kind[s->n], e->kind);
	strcpy(s->from[s->n], e->from);
	strcpy(s->text[s->n], e->text);
	s->n++;
	return s->n == s->stop_at ? 7 : 0;
}

static struct seen *
replay(struct history *h, const char *room)
{
	static struct seen s;

	memset(&s, 0, sizeof(s));
	assert_int_equal(history_get(h, room, 0, collect, &s), 0);
	return &s;
}

static struct history *
open_history(unsigned n)
{
	struct history *h;

	assert_int_equal(history_open(hdir, n, &h, err, sizeof(err)), 0);
	assert_non_null(h);
	return h;
}

static void
add_n(struct history *h, const char *room, int from, int to)
{
	char text[32];
	int i;

	for (i = from; i <= to; i++) {
		snprintf(text, sizeof(text), "message %d", i);
		assert_int_equal(history_add(h, room, "room", "alice", text,
		    1700000000 + i, NULL), 0);
	}
}

/* The texts replayed must be "message from" .. "message to". */
static void
expect_range(struct history *h, const char *room, int from, int to)
{
	struct seen *s = replay(h, room);
	char want[32];
	int i;

	assert_int_equal(s->n, to - from + 1);
	for (i = 0; i < s->n; i++) {
		snprintf(want, sizeof(want), "message %d", from + i);
		assert_string_equal(s->text[i], want);
		assert_int_equal(s->time[i], 1700000000 + from + i);
	}
}

/* Lines in the history file `name`, -1 when it does not exist. */
static int
file_lines(const char *name)
{
	char p[600], buf[65536];
	ssize_t n, i;
	int fd, lines = 0;

	snprintf(p, sizeof(p), "%s/%s", hdir, name);
	if ((fd = open(p, O_RDONLY)) < 0)
		return -1;
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		for (i = 0; i < n; i++)
			lines += buf[i] == '\n';
	close(fd);
	return lines;
}

static void
append_raw(const char *name, const char *bytes, size_t len)
{
	char p[600];
	int fd;

	snprintf(p, sizeof(p), "%s/%s", hdir, name);
	fd = open(p, O_WRONLY | O_APPEND | O_CREAT, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, bytes, len), (ssize_t)len);
	close(fd);
}

#define LOBBY	"6c6f626279.log"	/* hex of "lobby" */

/* ---- memory ---- */

static void
t_ring(void **state)
{
	struct history *h = open_history(5);
	struct seen *s;

	assert_int_equal(history_count(h, "lobby"), 0);
	s = replay(h, "lobby");
	assert_int_equal(s->n, 0);
	add_n(h, "lobby", 1, 3);
	expect_range(h, "lobby", 1, 3);
	add_n(h, "lobby", 4, 12);
	expect_range(h, "lobby", 8, 12);
	assert_int_equal(history_count(h, "lobby"), 5);

	/* Rooms are apart, and told apart by their folded name. */
	assert_int_equal(history_add(h, "Music", "action", "bob", "waves", 5, NULL),
	    0);
	s = replay(h, "MUSIC");
	assert_int_equal(s->n, 1);
	assert_string_equal(s->kind[0], "action");
	assert_string_equal(s->from[0], "bob");
	assert_string_equal(s->text[0], "waves");
	assert_int_equal(s->time[0], 5);
	expect_range(h, "LOBBY", 8, 12);

	/* The callback stops the walk with its value. */
	memset(s, 0, sizeof(*s));
	s->stop_at = 2;
	assert_int_equal(history_get(h, "lobby", 0, collect, s), 7);
	assert_int_equal(s->n, 2);
	assert_null(history_close(h));
	assert_null(history_close(NULL));
}

static void
t_limits(void **state)
{
	struct history *h = open_history(5), *h2;
	char big[2100];

	memset(big, 'x', sizeof(big));
	big[2048] = '\0';
	assert_int_equal(history_add(h, "lobby", "room", "a", big, 1, NULL), 0);
	big[2048] = 'x';
	big[2049] = '\0';
	assert_int_equal(history_add(h, "lobby", "room", "a", big, 1, NULL),
	    -EINVAL);
	assert_int_equal(history_add(h, "", "room", "a", "t", 1, NULL), -EINVAL);
	assert_int_equal(history_add(h, "abcdefghijklmnopqrstuvwxyz0123456",
	    "room", "a", "t", 1, NULL), -EINVAL);
	assert_int_equal(history_add(h, "lobby", "Room", "a", "t", 1, NULL),
	    -EINVAL);
	assert_int_equal(history_add(h, "lobby", "", "a", "t", 1, NULL), -EINVAL);
	assert_int_equal(history_add(h, "lobby", "a b", "a", "t", 1, NULL),
	    -EINVAL);
	assert_int_equal(history_add(h, "lobby", "room",
	    "abcdefghijklmnopqrstuvwxyz0123456", "t", 1, NULL), -EINVAL);
	assert_int_equal(history_add(h, "lobby", "room", "a", "t", -1, NULL),
	    -EINVAL);
	assert_int_equal(history_count(h, "lobby"), 1);
	assert_int_equal(history_add(h, "lobby", "announce", "", "t", 1, NULL), 0);
	history_close(h);

	assert_int_equal(history_open(hdir, HISTORY_PER_ROOM_MAX + 1, &h2, err,
	    sizeof(err)), -EINVAL);
	assert_null(h2);
	assert_non_null(strstr(err, "at most"));
}

static void
t_room_limit(void **state)
{
	struct history *h = open_history(1);
	char room[16];
	int i;

	for (i = 0; i < HISTORY_ROOMS_MAX; i++) {
		snprintf(room, sizeof(room), "r%d", i);
		assert_int_equal(history_add(h, room, "room", "a", "t", 1, NULL), 0);
	}
	assert_int_equal(history_add(h, "onemore", "room", "a", "t", 1, NULL),
	    -ENOBUFS);
	assert_int_equal(history_count(h, "onemore"), 0);
	/* Rooms that have history go on. */
	assert_int_equal(history_add(h, "r5", "room", "a", "u", 2, NULL), 0);
	assert_int_equal(history_forget(h, "r6"), 0);
	assert_int_equal(history_add(h, "onemore", "room", "a", "t", 1, NULL), 0);
	history_close(h);
}

static void
t_disabled(void **state)
{
	struct history *h = open_history(0);

	assert_int_equal(history_add(h, "lobby", "room", "a", "t", 1, NULL), 0);
	assert_int_equal(history_count(h, "lobby"), 0);
	assert_int_equal(replay(h, "lobby")->n, 0);
	assert_int_equal(access(hdir, F_OK), -1);	/* nothing written */

	/* Turned on by a reload: the directory appears, entries are kept. */
	assert_int_equal(history_set_limit(h, 3), 0);
	add_n(h, "lobby", 1, 4);
	expect_range(h, "lobby", 2, 4);
	assert_int_equal(access(hdir, F_OK), 0);
	history_close(h);
}

static void
t_set_limit(void **state)
{
	struct history *h = open_history(10);

	add_n(h, "lobby", 1, 10);
	assert_int_equal(history_set_limit(h, 4), 0);
	expect_range(h, "lobby", 7, 10);
	add_n(h, "lobby", 11, 12);
	expect_range(h, "lobby", 9, 12);
	assert_int_equal(history_set_limit(h, 6), 0);
	add_n(h, "lobby", 13, 15);
	expect_range(h, "lobby", 10, 15);

	/* Off frees memory; on again reads the file back. */
	assert_int_equal(history_set_limit(h, 0), 0);
	assert_int_equal(history_count(h, "lobby"), 0);
	assert_int_equal(history_add(h, "lobby", "room", "a", "lost", 1, NULL), 0);
	assert_int_equal(history_set_limit(h, 6), 0);
	expect_range(h, "lobby", 10, 15);
	assert_int_equal(history_set_limit(h, HISTORY_PER_ROOM_MAX + 1),
	    -EINVAL);
	history_close(h);
}

/* ---- disk ---- */

static void
t_persist(void **state)
{
	struct history *h = open_history(5);
	const char *tricky = "tab\there, line\nbreak, cr\r, back\\slash, "
	    "bell\a, esc\x1b[31m, del\x7f, \\x41 literal, caf\xc3\xa9 \xe2\x9c\x93";
	struct seen *s;

	add_n(h, "lobby", 1, 7);
	assert_int_equal(history_add(h, "Caf\xc3\xa9", "action", "b\\o\tb",
	    tricky, 42, NULL), 0);
	assert_int_equal(history_add(h, "lobby", "announce", "", "", 43, NULL), 0);
	history_close(h);

	assert_int_equal(file_lines(LOBBY), 8);
	h = open_history(5);
	s = replay(h, "lobby");
	assert_int_equal(s->n, 5);
	assert_string_equal(s->text[0], "message 4");
	assert_string_equal(s->text[3], "message 7");
	assert_string_equal(s->kind[4], "announce");
	assert_string_equal(s->from[4], "");
	assert_string_equal(s->text[4], "");
	s = replay(h, "caf\xc3\xa9");
	assert_int_equal(s->n, 1);
	assert_string_equal(s->from[0], "b\\o\tb");
	assert_string_equal(s->text[0], tricky);
	assert_int_equal(s->time[0], 42);
	history_close(h);

	/* A smaller limit on reopening keeps the newest. */
	h = open_history(2);
	s = replay(h, "lobby");
	assert_int_equal(s->n, 2);
	assert_string_equal(s->text[0], "message 7");
	history_close(h);
}

static void
t_file_format(void **state)
{
	struct history *h = open_history(5);
	char p[600], buf[256];
	ssize_t n;
	int fd;

	assert_int_equal(history_add(h, "Lobby", "room", "al\tice", "a\nb\\c",
	    1700000000, NULL), 0);
	history_close(h);
	snprintf(p, sizeof(p), "%s/%s", hdir, LOBBY);
	fd = open(p, O_RDONLY);
	assert_true(fd >= 0);
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	assert_true(n > 0);
	buf[n] = '\0';
	assert_string_equal(buf, "1700000000\t1\troom\tal\\tice\ta\\nb\\\\c\n");
	{
		struct stat st;

		assert_int_equal(stat(p, &st), 0);
		assert_int_equal(st.st_mode & 0777, 0600);
		assert_int_equal(stat(hdir, &st), 0);
		assert_int_equal(st.st_mode & 0777, 0700);
	}
}

static void
t_compaction(void **state)
{
	struct history *h = open_history(4);
	int i;

	for (i = 1; i <= 40; i++) {
		add_n(h, "lobby", i, i);
		assert_true(file_lines(LOBBY) <= 8);
		assert_true(file_lines(LOBBY) >= 4 || file_lines(LOBBY) == i);
	}
	expect_range(h, "lobby", 37, 40);
	history_close(h);
	h = open_history(4);
	expect_range(h, "lobby", 37, 40);
	history_close(h);
}

static void
t_torn_and_garbage_lines(void **state)
{
	struct history *h = open_history(10);
	char big[HISTORY_LINE_MAX + 100];

	add_n(h, "lobby", 1, 2);
	history_close(h);

	/* Garbage lines of every kind, then a torn record at the end. */
	append_raw(LOBBY, "not a record\n", 13);
	append_raw(LOBBY, "12\troom\tx\n", 10);		/* 3 fields */
	append_raw(LOBBY, "12\tRoom\tx\ty\n", 12);	/* bad kind */
	append_raw(LOBBY, "-5\troom\tx\ty\n", 12);	/* bad time */
	append_raw(LOBBY, "5\troom\tx\ty\tz\n", 14);	/* 5 fields */
	append_raw(LOBBY, "5\troom\tx\t\\q\n", 12);	/* bad escape */
	append_raw(LOBBY, "5\troom\tx\t\\x0\n", 13);	/* short escape */
	append_raw(LOBBY, "5\troom\tx\t\\x00\n", 14);	/* NUL */
	append_raw(LOBBY, "5\troom\tx\tbell\a\n", 14);	/* raw control */
	memset(big, 'y', sizeof(big));
	memcpy(big, "5\troom\tx\t", 9);
	big[sizeof(big) - 1] = '\n';
	append_raw(LOBBY, big, sizeof(big));		/* too long */
	append_raw(LOBBY, "1700000003\troom\talice\tmessage 3\n", 32);
	append_raw(LOBBY, "1700000004\troom\talice\tmess", 26);	/* torn */

	h = open_history(10);
	expect_range(h, "lobby", 1, 3);
	/* The next write repairs the file (it was marked dirty). */
	add_n(h, "lobby", 4, 4);
	assert_int_equal(file_lines(LOBBY), 4);
	history_close(h);
	h = open_history(10);
	expect_range(h, "lobby", 1, 4);
	history_close(h);
}

static void
t_torn_line_then_append(void **state)
{
	struct history *h = open_history(10);

	add_n(h, "lobby", 1, 1);
	/* A record cut short while the hub is running (another writer). */
	append_raw(LOBBY, "1700000002\troom\talice\tmes", 25);
	add_n(h, "lobby", 2, 2);
	assert_int_equal(file_lines(LOBBY), 2);	/* rewritten from memory */
	history_close(h);
	h = open_history(10);
	expect_range(h, "lobby", 1, 2);	/* "mes" is not a message */
	history_close(h);
}

/* ---- numbers (history.h, "Numbers") ---- */

/* What history_get(since) gives: n entries, numbered first, first+1... */
static void
expect_since(struct history *h, const char *room, uint64_t since, int n,
    uint64_t first)
{
	static struct seen s;
	int i;

	memset(&s, 0, sizeof(s));
	assert_int_equal(history_get(h, room, since, collect, &s), 0);
	assert_int_equal(s.n, n);
	for (i = 0; i < n; i++)
		assert_int_equal(s.seq[i], first + (uint64_t)i);
}

static void
t_numbers(void **state)
{
	struct history *h = open_history(3);
	uint64_t seq = 99;

	assert_int_equal(history_last(h, "lobby"), 0);
	assert_int_equal(history_add(h, "lobby", "room", "a", "one", 1, &seq),
	    0);
	assert_int_equal(seq, 1);
	assert_int_equal(history_add(h, "LOBBY", "action", "a", "two", 2,
	    &seq), 0);
	assert_int_equal(seq, 2);
	/* each room counts on its own */
	assert_int_equal(history_add(h, "music", "room", "b", "x", 3, &seq),
	    0);
	assert_int_equal(seq, 1);
	add_n(h, "lobby", 3, 5);		/* numbers 3, 4, 5; 1 and 2 go */
	assert_int_equal(history_last(h, "Lobby"), 5);
	expect_since(h, "lobby", 0, 3, 3);
	expect_since(h, "lobby", 3, 2, 4);
	expect_since(h, "lobby", 4, 1, 5);
	expect_since(h, "lobby", 5, 0, 0);
	expect_since(h, "lobby", 1000, 0, 0);
	/* not kept: no number, and none used up */
	assert_int_equal(history_add(h, "lobby", "Room", "a", "t", 1, &seq),
	    -EINVAL);
	assert_int_equal(seq, 0);
	assert_int_equal(history_last(h, "lobby"), 5);
	history_close(h);

	/* after a restart the numbers go on, from the file */
	h = open_history(3);
	assert_int_equal(history_last(h, "lobby"), 5);
	expect_since(h, "lobby", 0, 3, 3);
	assert_int_equal(history_add(h, "lobby", "room", "a", "six", 6, &seq),
	    0);
	assert_int_equal(seq, 6);
	assert_int_equal(history_last(h, "music"), 1);
	/* a room forgotten starts again at 1 */
	assert_int_equal(history_forget(h, "lobby"), 0);
	assert_int_equal(history_last(h, "lobby"), 0);
	assert_int_equal(history_add(h, "lobby", "room", "a", "new", 7, &seq),
	    0);
	assert_int_equal(seq, 1);
	history_close(h);
}

/* Files written before numbers: numbered on loading, then rewritten. */
static void
t_numbers_old_files(void **state)
{
	struct history *h = open_history(10);
	uint64_t seq;

	history_close(h);
	append_raw(LOBBY, "1700000001\troom\talice\tmessage 1\n", 32);
	append_raw(LOBBY, "1700000002\troom\talice\tmessage 2\n", 32);
	append_raw(LOBBY, "1700000003\troom\talice\tmessage 3\n", 32);
	h = open_history(10);
	expect_range(h, "lobby", 1, 3);
	expect_since(h, "lobby", 0, 3, 1);
	assert_int_equal(history_last(h, "lobby"), 3);
	assert_int_equal(history_add(h, "lobby", "room", "alice", "message 4",
	    1700000004, &seq), 0);
	assert_int_equal(seq, 4);
	history_close(h);
	/* the add rewrote the file with every number in it */
	h = open_history(10);
	expect_since(h, "lobby", 0, 4, 1);
	history_close(h);
	{
		char p[600], buf[512];
		ssize_t n;
		int fd;

		snprintf(p, sizeof(p), "%s/%s", hdir, LOBBY);
		assert_true((fd = open(p, O_RDONLY)) >= 0);
		n = read(fd, buf, sizeof(buf) - 1);
		close(fd);
		assert_true(n > 0);
		buf[n] = '\0';
		assert_string_equal(buf,
		    "1700000001\t1\troom\talice\tmessage 1\n"
		    "1700000002\t2\troom\talice\tmessage 2\n"
		    "1700000003\t3\troom\talice\tmessage 3\n"
		    "1700000004\t4\troom\talice\tmessage 4\n");
	}
}

/*
 * Numbers on disk: one not above the line before does not parse; a
 * hole (a line lost) stays a hole; an old line after numbered ones
 * takes the next number; a number beyond INT64_MAX does not parse.
 */
static void
t_numbers_on_disk(void **state)
{
	static const char lines[] =
	    "1\t4\troom\ta\tfour\n"
	    "2\t4\troom\ta\tfour again\n"		/* not above: skipped */
	    "3\t3\troom\ta\tthree\n"		/* not above: skipped */
	    "4\t7\troom\ta\tseven\n"		/* 5 and 6 are lost */
	    "5\troom\ta\told\n"			/* unnumbered: 8 */
	    "6\t0\troom\ta\tzero\n"		/* 0 is no number */
	    "7\t9223372036854775808\troom\ta\tbig\n"
	    "8\t01x\troom\ta\tbad\n";
	static struct seen s;
	struct history *h = open_history(10);

	history_close(h);
	append_raw(LOBBY, lines, sizeof(lines) - 1);
	h = open_history(10);
	memset(&s, 0, sizeof(s));
	assert_int_equal(history_get(h, "lobby", 0, collect, &s), 0);
	assert_int_equal(s.n, 3);
	assert_int_equal(s.seq[0], 4);
	assert_string_equal(s.text[0], "four");
	assert_int_equal(s.seq[1], 7);
	assert_int_equal(s.seq[2], 8);
	assert_string_equal(s.text[2], "old");
	assert_int_equal(history_last(h, "lobby"), 8);
	memset(&s, 0, sizeof(s));
	assert_int_equal(history_get(h, "lobby", 5, collect, &s), 0);
	assert_int_equal(s.n, 2);
	assert_int_equal(s.seq[0], 7);
	history_close(h);
}

static void
t_stray_files(void **state)
{
	struct history *h = open_history(3);
	char p[600];

	add_n(h, "lobby", 1, 1);
	history_close(h);
	append_raw("6c6f626279.tmp", "junk", 4);	/* a crashed rewrite */
	append_raw("README", "mine\n", 5);		/* not ours */
	append_raw("4C4F424259.log", "1\troom\ta\tb\n", 11);	/* upper hex */
	append_raw("4c4f424259.log", "1\troom\ta\tb\n", 11);	/* "LOBBY" */
	append_raw("6c6f62627.log", "1\troom\ta\tb\n", 11);	/* odd length */
	h = open_history(3);
	expect_range(h, "lobby", 1, 1);
	snprintf(p, sizeof(p), "%s/6c6f626279.tmp", hdir);
	assert_int_equal(access(p, F_OK), -1);
	snprintf(p, sizeof(p), "%s/README", hdir);
	assert_int_equal(access(p, F_OK), 0);
	history_close(h);
}

static void
t_forget(void **state)
{
	struct history *h = open_history(3);
	char p[600];

	add_n(h, "lobby", 1, 2);
	assert_int_equal(history_forget(h, "LOBBY"), 0);
	assert_int_equal(history_count(h, "lobby"), 0);
	snprintf(p, sizeof(p), "%s/%s", hdir, LOBBY);
	assert_int_equal(access(p, F_OK), -1);
	assert_int_equal(history_forget(h, "never"), 0);
	history_close(h);
}

static void
t_open_errors(void **state)
{
	struct history *h;
	char p[600];
	int fd;

	snprintf(p, sizeof(p), "%s/no/such/dir", dir);
	assert_int_equal(history_open(p, 5, &h, err, sizeof(err)), -ENOENT);
	assert_null(h);
	assert_non_null(strstr(err, "no/such/dir"));

	/* Something else where the directory should be. */
	fd = open(hdir, O_WRONLY | O_CREAT, 0600);
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(history_open(hdir, 5, &h, err, sizeof(err)),
	    -ENOTDIR);
	assert_null(h);
}

/* ---- a failing disk ---- */

static int fail_errno;		/* errno of injected failures, 0: none */
static int short_writes;	/* write half, then fail */

static ssize_t
failing_write(int fd, const void *buf, size_t len)
{
	if (short_writes && len > 1) {
		short_writes = 0;
		return write(fd, buf, len / 2);
	}
	if (fail_errno != 0) {
		errno = fail_errno;
		return -1;
	}
	return write(fd, buf, len);
}

static void
t_write_failure(void **state)
{
	struct history *h = open_history(4);

	add_n(h, "lobby", 1, 2);
	history_set_write(h, failing_write);
	fail_errno = ENOSPC;
	assert_int_equal(history_add(h, "lobby", "room", "alice", "message 3",
	    1700000003, NULL), -ENOSPC);
	assert_int_equal(history_add(h, "lobby", "room", "alice", "message 4",
	    1700000004, NULL), -ENOSPC);
	expect_range(h, "lobby", 1, 4);		/* memory is whole */
	assert_int_equal(file_lines(LOBBY), 2);	/* no torn line */

	fail_errno = EIO;
	assert_int_equal(history_add(h, "lobby", "room", "alice", "message 5",
	    1700000005, NULL), -EIO);
	expect_range(h, "lobby", 2, 5);

	/* The disk works again: the next write brings the file up to date. */
	fail_errno = 0;
	add_n(h, "lobby", 6, 6);
	assert_int_equal(file_lines(LOBBY), 4);
	history_close(h);
	h = open_history(4);
	expect_range(h, "lobby", 3, 6);
	history_close(h);
}

static void
t_short_write(void **state)
{
	struct history *h = open_history(8);

	add_n(h, "lobby", 1, 2);
	history_set_write(h, failing_write);
	short_writes = 1;
	fail_errno = ENOSPC;
	assert_int_equal(history_add(h, "lobby", "room", "alice", "message 3",
	    1700000003, NULL), -ENOSPC);
	/* The half record was cut off again. */
	assert_int_equal(file_lines(LOBBY), 2);
	history_close(h);
	h = open_history(8);
	expect_range(h, "lobby", 1, 2);
	history_close(h);

	h = open_history(8);
	add_n(h, "lobby", 3, 3);
	history_set_write(h, failing_write);
	fail_errno = ENOSPC;
	assert_true(history_add(h, "lobby", "room", "alice", "message 4",
	    1700000004, NULL) < 0);
	/* The rewrite fails too: the old file stays as it was. */
	assert_true(history_add(h, "lobby", "room", "alice", "message 5",
	    1700000005, NULL) < 0);
	assert_int_equal(file_lines(LOBBY), 3);
	expect_range(h, "lobby", 1, 5);
	history_set_write(h, NULL);
	fail_errno = 0;
	add_n(h, "lobby", 6, 6);
	history_close(h);
	h = open_history(8);
	expect_range(h, "lobby", 1, 6);
	history_close(h);
}

/*
 * A real full disk: a 64 KiB tmpfs, mounted in a mount namespace of our
 * own (made private first, so nothing leaks to the host).  Skipped
 * without the privilege to do so.
 */
static void
t_full_tmpfs(void **state)
{
	struct history *h;
	char text[2049], filler[600];
	int i, r, failures = 0, fd;

	if (unshare(CLONE_NEWNS) < 0 ||
	    mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0) {
		fprintf(stderr, "# no mount namespace (%s): skipped\n",
		    strerror(errno));
		skip();
	}
	assert_int_equal(mount("sbtest", dir, "tmpfs", 0, "size=64k,mode=0700"),
	    0);
	/* Leave room for a few records only: 52 KiB of the 64 taken. */
	snprintf(filler, sizeof(filler), "%s/filler", dir);
	fd = open(filler, O_WRONLY | O_CREAT, 0600);
	assert_true(fd >= 0);
	memset(text, 'f', sizeof(text));
	for (i = 0; i < 26; i++)
		assert_int_equal(write(fd, text, 2048), 2048);
	close(fd);

	h = open_history(8);
	memset(text, 'm', 2048);
	text[2048] = '\0';
	for (i = 0; i < 30; i++) {
		snprintf(text, 16, "message %d", i);
		text[strlen(text)] = ' ';
		r = history_add(h, "lobby", "room", "alice", text, 1000 + i, NULL);
		assert_true(r == 0 || r == -ENOSPC);
		failures += r < 0;
	}
	assert_true(failures > 0);
	assert_int_equal(history_count(h, "lobby"), 8);
	{
		struct seen *s = replay(h, "lobby");

		for (i = 0; i < 8; i++)
			assert_int_equal(s->time[i], 1000 + 22 + i);
	}
	/* Space again: the file catches up. */
	assert_int_equal(unlink(filler), 0);
	assert_int_equal(history_add(h, "lobby", "room", "alice", "after",
	    2000, NULL), 0);
	history_close(h);
	h = open_history(8);
	assert_int_equal(history_count(h, "lobby"), 8);
	{
		struct seen *s = replay(h, "lobby");

		assert_int_equal(s->time[0], 1000 + 23);
		assert_string_equal(s->text[7], "after");
	}
	history_close(h);
	tmpdir_remove(hdir);
	assert_int_equal(umount(dir), 0);
}

/* ---- room lifetime: issue 16, holes 5 and 6 ---- */

#define TMP	"746d70.log"		/* hex of "tmp" */

/* Retention 0: a temporary room's history goes with the room. */
static void
t_gone_forgotten(void **state)
{
	struct history *h = open_history(3);

	history_set_retention(h, 0);
	assert_int_equal(history_room_live(h, "tmp", 0, 100), 0);
	add_n(h, "tmp", 1, 2);
	assert_int_equal(file_lines(TMP), 2);
	assert_int_equal(history_room_gone(h, "TMP", 101), 0);
	assert_int_equal(history_count(h, "tmp"), 0);
	assert_int_equal(file_lines(TMP), -1);
	assert_int_equal(history_rooms(h), 0);
	/* The next room of that name starts empty. */
	assert_int_equal(history_room_live(h, "tmp", 0, 102), 0);
	assert_int_equal(replay(h, "tmp")->n, 0);
	history_close(h);
	/* Nor does a restart bring it back. */
	h = open_history(3);
	assert_int_equal(history_count(h, "tmp"), 0);
	history_close(h);
}

/* Within the retention a room keeps its history; after it, it is gone. */
static void
t_retention(void **state)
{
	struct history *h = open_history(3);

	history_set_retention(h, 10);
	assert_int_equal(history_room_live(h, "tmp", 0, 100), 0);
	add_n(h, "tmp", 1, 2);
	assert_int_equal(history_room_gone(h, "tmp", 100), 0);
	assert_int_equal(history_expire(h, 109), 0);
	assert_int_equal(history_room_live(h, "tmp", 0, 109), 0);
	expect_range(h, "tmp", 1, 2);	/* back in time: kept */
	assert_int_equal(history_room_gone(h, "tmp", 110), 0);
	assert_int_equal(history_expire(h, 119), 0);
	assert_int_equal(file_lines(TMP), 2);
	assert_int_equal(history_expire(h, 120), 1);
	assert_int_equal(history_count(h, "tmp"), 0);
	assert_int_equal(file_lines(TMP), -1);

	/* Created again past the retention, before any expire: empty. */
	add_n(h, "tmp", 3, 3);
	assert_int_equal(history_room_gone(h, "tmp", 200), 0);
	assert_int_equal(history_room_live(h, "tmp", 0, 210), 0);
	assert_int_equal(replay(h, "tmp")->n, 0);
	assert_int_equal(file_lines(TMP), -1);
	history_close(h);
}

/*
 * The attack of hole 5: more rooms than slots created, spoken in
 * and abandoned never use up the slots; the permanent lobby and every
 * new room keep history, and memory and disk stay within the slots.
 */
static void
t_churn(void **state)
{
	struct history *h = open_history(2);
	char room[16];
	int i;

	history_set_retention(h, 3600);
	assert_int_equal(history_room_live(h, "lobby", 1, 0), 0);
	for (i = 0; i < HISTORY_ROOMS_MAX + 300; i++) {
		snprintf(room, sizeof(room), "r%d", i);
		assert_int_equal(history_room_live(h, room, 0, (uint64_t)i), 0);
		assert_int_equal(history_add(h, room, "room", "a", "t", 1, NULL), 0);
		assert_int_equal(history_room_gone(h, room, (uint64_t)i), 0);
		assert_true(history_rooms(h) <= HISTORY_ROOMS_MAX);
	}
	assert_int_equal(history_rooms(h), HISTORY_ROOMS_MAX);
	add_n(h, "lobby", 1, 2);
	expect_range(h, "lobby", 1, 2);
	/* The oldest rooms went first; the newest are still there. */
	assert_int_equal(history_count(h, "r0"), 0);
	assert_int_equal(history_count(h, "r4395"), 1);
	history_close(h);
}

/* A permanent room takes a live temporary room's slot if it must. */
static void
t_permanent_never_starved(void **state)
{
	struct history *h = open_history(1);
	char room[16];
	int i;

	for (i = 0; i < HISTORY_ROOMS_MAX; i++) {
		snprintf(room, sizeof(room), "r%d", i);
		assert_int_equal(history_add(h, room, "room", "a", "t", 1, NULL), 0);
	}
	assert_int_equal(history_add(h, "more", "room", "a", "t", 1, NULL),
	    -ENOBUFS);
	assert_int_equal(history_room_live(h, "lobby", 1, 5), 0);
	assert_int_equal(history_rooms(h), HISTORY_ROOMS_MAX);
	add_n(h, "lobby", 1, 1);
	expect_range(h, "lobby", 1, 1);
	/* A permanent room is never gone, nor evicted. */
	assert_int_equal(history_room_gone(h, "lobby", 6), 0);
	assert_int_equal(history_expire(h, 1000000), 0);
	expect_range(h, "lobby", 1, 1);
	history_close(h);
}

/*
 * After a restart every loaded room is gone until the hub claims it:
 * the permanent lobby stays, an unclaimed temporary room is forgotten
 * after the retention, a claimed one (a resumed session) keeps its
 * history.
 */
static void
t_restart_claims(void **state)
{
	struct history *h = open_history(3);

	add_n(h, "lobby", 1, 2);
	add_n(h, "tmp", 1, 2);
	add_n(h, "kept", 1, 1);
	history_close(h);

	h = open_history(3);
	history_set_retention(h, 0);
	assert_int_equal(history_room_live(h, "lobby", 1, 7), 0);
	assert_int_equal(history_room_live(h, "kept", 0, 7), 0);
	assert_int_equal(history_expire(h, 7), 1);
	assert_int_equal(history_count(h, "tmp"), 0);
	assert_int_equal(file_lines(TMP), -1);
	expect_range(h, "lobby", 1, 2);
	expect_range(h, "kept", 1, 1);
	history_close(h);
}

/* A file the history did not load is not appended to by a new room. */
static void
t_stale_file(void **state)
{
	struct history *h = open_history(3);
	static const char old[] = "1\troom\tbob\told secret\n";

	append_raw(TMP, old, sizeof(old) - 1);
	add_n(h, "tmp", 1, 1);
	history_close(h);
	h = open_history(3);
	expect_range(h, "tmp", 1, 1);
	history_close(h);
}

/*
 * history_usage (the metrics): entries and bytes in memory, kept right
 * as rings fill, drop their oldest, shrink with the limit, and as rooms
 * go; after a restart, what was loaded from disk counts the same.
 */
static void
t_usage(void **state)
{
	struct history *h = open_history(5);
	size_t entries, bytes, one, rooms;

	assert_int_equal(history_usage(h, &entries, &bytes), 0);
	assert_int_equal(entries, 0);
	assert_int_equal(bytes, 0);
	add_n(h, "lobby", 1, 1);
	assert_int_equal(history_usage(h, &entries, &one), 1);
	assert_int_equal(entries, 1);
	/* "alice" and "message 1", their NULs, and the entry's header. */
	assert_true(one > strlen("alice") + strlen("message 1") + 2);
	add_n(h, "lobby", 2, 5);
	assert_int_equal(history_usage(h, &entries, &bytes), 1);
	assert_int_equal(entries, 5);
	assert_int_equal(bytes, 5 * one);
	/* Full: the oldest goes as each one comes ("message 10" is longer). */
	add_n(h, "lobby", 6, 10);
	assert_int_equal(history_usage(h, &entries, &bytes), 1);
	assert_int_equal(entries, 5);
	assert_int_equal(bytes, 4 * one + one + 1);
	add_n(h, "music", 1, 2);
	rooms = history_usage(h, &entries, &bytes);
	assert_int_equal(rooms, 2);
	assert_int_equal(entries, 7);
	assert_int_equal(bytes, 6 * one + one + 1);
	/* A lower limit drops the oldest. */
	assert_int_equal(history_set_limit(h, 2), 0);
	assert_int_equal(history_usage(h, &entries, &bytes), 2);
	assert_int_equal(entries, 4);
	assert_int_equal(bytes, (one + one + 1) + 2 * one);	/* 9, 10 */
	assert_int_equal(history_forget(h, "music"), 0);
	assert_int_equal(history_usage(h, &entries, &bytes), 1);
	assert_int_equal(entries, 2);
	assert_int_equal(bytes, one + one + 1);
	history_close(h);
	/* Loaded again from disk. */
	h = open_history(2);
	assert_int_equal(history_usage(h, &entries, &bytes), 1);
	assert_int_equal(entries, 2);
	assert_int_equal(bytes, one + one + 1);
	history_close(h);
}

/*
 * history_add_at: the cluster's numbers (hub/cluster.c) kept as given,
 * a skipped number a gap, a number not above the last refused, and the
 * numbers read back from disk as written.
 */
static void
t_numbers_given(void **state)
{
	struct history *h = open_history(10);
	struct seen *s;
	uint64_t seq;

	seq = 5;
	assert_int_equal(history_add_at(h, "lobby", "room", "a", "five", 1,
	    &seq), 0);
	assert_int_equal(seq, 5);
	seq = 9;
	assert_int_equal(history_add_at(h, "lobby", "room", "a", "nine", 2,
	    &seq), 0);
	seq = 9;
	assert_int_equal(history_add_at(h, "lobby", "room", "a", "again", 3,
	    &seq), -ERANGE);
	assert_int_equal(seq, 0);
	seq = 3;
	assert_int_equal(history_add_at(h, "lobby", "room", "a", "older", 3,
	    &seq), -ERANGE);
	seq = 0;	/* none given: the next one */
	assert_int_equal(history_add_at(h, "lobby", "room", "a", "ten", 4,
	    &seq), 0);
	assert_int_equal(seq, 10);
	assert_int_equal(history_last(h, "lobby"), 10);
	history_close(h);
	h = open_history(10);
	s = replay(h, "lobby");
	assert_int_equal(s->n, 3);
	assert_int_equal(s->seq[0], 5);
	assert_int_equal(s->seq[1], 9);
	assert_int_equal(s->seq[2], 10);
	assert_string_equal(s->text[1], "nine");
	history_close(h);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(t_ring, setup, teardown),
		cmocka_unit_test_setup_teardown(t_usage, setup, teardown),
		cmocka_unit_test_setup_teardown(t_limits, setup, teardown),
		cmocka_unit_test_setup_teardown(t_room_limit, setup, teardown),
		cmocka_unit_test_setup_teardown(t_disabled, setup, teardown),
		cmocka_unit_test_setup_teardown(t_set_limit, setup, teardown),
		cmocka_unit_test_setup_teardown(t_persist, setup, teardown),
		cmocka_unit_test_setup_teardown(t_file_format, setup, teardown),
		cmocka_unit_test_setup_teardown(t_compaction, setup, teardown),
		cmocka_unit_test_setup_teardown(t_torn_and_garbage_lines, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(t_torn_line_then_append, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(t_stray_files, setup, teardown),
		cmocka_unit_test_setup_teardown(t_numbers, setup, teardown),
		cmocka_unit_test_setup_teardown(t_numbers_given, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(t_numbers_old_files, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(t_numbers_on_disk, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(t_forget, setup, teardown),
		cmocka_unit_test_setup_teardown(t_open_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(t_write_failure, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(t_short_write, setup, teardown),
		cmocka_unit_test_setup_teardown(t_gone_forgotten, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(t_retention, setup, teardown),
		cmocka_unit_test_setup_teardown(t_churn, setup, teardown),
		cmocka_unit_test_setup_teardown(t_permanent_never_starved,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(t_restart_claims, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(t_stale_file, setup, teardown),
		/* Last: it leaves this process in its own mount namespace. */
		cmocka_unit_test_setup_teardown(t_full_tmpfs, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
