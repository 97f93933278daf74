/* SPDX-License-Identifier: ISC */
/*
 * Unit tests for hub/members.c: loading (every error names its line),
 * lookups, password checks (yescrypt and an older method, disabled and
 * unknown members, the time an unknown nick costs), and the atomic
 * rewrites switchboardctl uses (add, disable/enable, rekey), which keep
 * comments and refuse to touch a broken file.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <crypt.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "../../hub/hub.h"	/* nick_identify(), and members.h */
#include "tmpdir.h"

static char dir[256];
static char path[300];
static char err[512];

/* yescrypt hashes made once, shared by the tests that only read. */
static char hash_alice[CRYPT_OUTPUT_SIZE];	/* "wonderland" */
static char hash_bob[CRYPT_OUTPUT_SIZE];	/* "builder" */
static char hash_sha[CRYPT_OUTPUT_SIZE];	/* "oldstyle", $6$ */

static void
make_hash(char *out, const char *prefix, const char *password)
{
	char salt[CRYPT_GENSALT_OUTPUT_SIZE];
	struct crypt_data cd;
	const char *h;

	memset(&cd, 0, sizeof(cd));
	assert_non_null(crypt_gensalt_rn(prefix, 0, NULL, 0, salt,
	    (int)sizeof(salt)));
	h = crypt_rn(password, salt, &cd, (int)sizeof(cd));
	assert_non_null(h);
	assert_true(strlen(h) < CRYPT_OUTPUT_SIZE);
	strcpy(out, h);
}

static int
group_setup(void **state)
{
	make_hash(hash_alice, "$y$", "wonderland");
	make_hash(hash_bob, "$y$", "builder");
	make_hash(hash_sha, "$6$", "oldstyle");
	return 0;
}

static int
setup(void **state)
{
	tmpdir_make(dir, sizeof(dir), "members");
	snprintf(path, sizeof(path), "%s/members", dir);
	err[0] = '\0';
	return 0;
}

static int
teardown(void **state)
{
	tmpdir_remove(dir);
	return 0;
}

static void
write_file(const char *text, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	assert_int_equal(fchmod(fd, mode), 0);
	close(fd);
}

static char *
read_text(void)
{
	static char buf[65536];
	int fd = open(path, O_RDONLY);
	ssize_t n;

	assert_true(fd >= 0);
	n = read(fd, buf, sizeof(buf) - 1);
	assert_true(n >= 0);
	buf[n] = '\0';
	close(fd);
	return buf;
}

static int
not_members(const char *name)
{
	return strcmp(name, "members") != 0;
}

/* The entries of dir other than "members" (left-over temporary files). */
static int
stray_files(void)
{
	return tmpdir_count(dir, not_members);
}

/* Write a file with the three standard members, one line per format. */
static void
write_standard(void)
{
	char text[2048];

	snprintf(text, sizeof(text),
	    "# Switchboard members\n"
	    "\n"
	    "1:Alice:%s:1\n"
	    "7:bob:%s:0\n"
	    "3:carol:%s:1\n", hash_alice, hash_bob, hash_sha);
	write_file(text, 0600);
}

/* Load `text`; it must fail with an error containing `want`. */
static void
expect_load_error(const char *text, int code, const char *want)
{
	struct members *ms = (struct members *)0x1;

	write_file(text, 0600);
	assert_int_equal(members_load(path, &ms, err, sizeof(err)), code);
	assert_null(ms);
	if (strstr(err, want) == NULL)
		fail_msg("error \"%s\" lacks \"%s\"", err, want);
}

/* ---- loading ---- */

static void
t_load_and_find(void **state)
{
	struct members *ms;
	const struct member *m;

	write_standard();
	assert_int_equal(members_load(path, &ms, err, sizeof(err)), 0);
	assert_int_equal(ms->count, 3);
	assert_int_equal(ms->max_id, 7);

	m = members_find(ms, "alice");
	assert_non_null(m);
	assert_string_equal(m->nick, "Alice");
	assert_int_equal(m->id, 1);
	assert_int_equal(m->line, 3);
	assert_int_equal(m->active, 1);
	assert_ptr_equal(members_find(ms, "ALICE"), m);
	assert_ptr_equal(members_find(ms, "aLiCe"), m);
	assert_null(members_find(ms, "alic"));
	assert_null(members_find(ms, "alicea"));
	assert_null(members_find(ms, "this-nick-is-longer-than-32-bytes-x"));

	m = members_find(ms, "BOB");
	assert_non_null(m);
	assert_int_equal(m->id, 7);
	assert_int_equal(m->active, 0);
	assert_ptr_equal(members_find_id(ms, 7), m);
	assert_null(members_find_id(ms, 2));
	assert_string_equal(members_find_id(ms, 3)->nick, "carol");
	members_free(ms);
	assert_null(members_free(NULL));
}

static void
t_load_empty_and_comments(void **state)
{
	struct members *ms;

	write_file("# nobody yet\n\n", 0600);
	assert_int_equal(members_load(path, &ms, err, sizeof(err)), 0);
	assert_int_equal(ms->count, 0);
	assert_null(members_find(ms, "alice"));
	members_free(ms);

	write_file("", 0600);
	assert_int_equal(members_load(path, &ms, err, sizeof(err)), 0);
	assert_int_equal(ms->count, 0);
	members_free(ms);
}

static void
t_load_errors_name_the_line(void **state)
{
	char text[2048];

	expect_load_error("# c\n1:alice\n", -EINVAL,
	    "line 2: expected id:nick:crypt-hash:active");
	expect_load_error("x:alice:$y$abc:1\n", -EINVAL, "line 1: the id");
	expect_load_error("0:alice:$y$abc:1\n", -EINVAL, "line 1: the id");
	expect_load_error("01:alice:$y$abc:1\n", -EINVAL, "line 1: the id");
	expect_load_error("2147483648:alice:$y$abc:1\n", -EINVAL,
	    "line 1: the id");
	expect_load_error("\n\n1:al ice:$y$abc:1\n", -EINVAL,
	    "line 3: Nick contains a space");
	expect_load_error("1:9lives:$y$abc:1\n", -EINVAL,
	    "line 1: Nick must not start with a digit");
	expect_load_error("1:alice:$y$abc:2\n", -EINVAL,
	    "line 1: active must be 1 or 0");
	expect_load_error("1:alice:$y$abc:\n", -EINVAL,
	    "line 1: active must be 1 or 0");
	expect_load_error("1:alice::1\n", -EINVAL, "line 1: the hash");
	expect_load_error("1:alice:$y$a c:1\n", -EINVAL, "line 1: the hash");
	expect_load_error("1:alice:$y$abc:1\r\n", -EINVAL,
	    "line 1: active must be 1 or 0");
	expect_load_error("1:alice:$y$abc:1\n2:ALICE:$y$abc:1\n", -EINVAL,
	    "line 2: nick \"ALICE\" is already on line 1");
	expect_load_error("5:alice:$y$abc:1\n#\n5:bob:$y$abc:1\n", -EINVAL,
	    "line 3: id 5 is already on line 1");

	memset(text, 'a', sizeof(text));
	memcpy(text, "1:alice:", 8);
	text[MEMBERS_LINE_MAX + 1] = '\0';
	expect_load_error(text, -EINVAL, "line 1: longer than 512 bytes");

	/* A NUL byte in the file. */
	{
		int fd = open(path, O_WRONLY | O_TRUNC);
		struct members *ms;

		assert_true(fd >= 0);
		assert_int_equal(write(fd, "1:a\0b:$y$x:1\n", 13), 13);
		close(fd);
		assert_int_equal(members_load(path, &ms, err, sizeof(err)),
		    -EINVAL);
		assert_non_null(strstr(err, "NUL byte"));
	}
}

static void
t_load_refuses_files(void **state)
{
	struct members *ms;
	int fd;

	/* Missing. */
	assert_int_equal(members_load(path, &ms, err, sizeof(err)), -ENOENT);
	assert_non_null(strstr(err, path));
	assert_non_null(strstr(err, "No such file"));

	/* Writable by others: anyone could make themselves a member. */
	write_file("", 0620);
	assert_int_equal(members_load(path, &ms, err, sizeof(err)), -EPERM);
	assert_non_null(strstr(err, "writable by group or others"));
	write_file("", 0602);
	assert_int_equal(members_load(path, &ms, err, sizeof(err)), -EPERM);
	write_file("", 0640);	/* readable is the admin's choice */
	assert_int_equal(members_load(path, &ms, err, sizeof(err)), 0);
	members_free(ms);

	/* Larger than the limit (sparse, so it costs no disk). */
	fd = open(path, O_WRONLY | O_TRUNC);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, MEMBERS_FILE_MAX + 1), 0);
	close(fd);
	assert_int_equal(members_load(path, &ms, err, sizeof(err)), -EFBIG);
	assert_non_null(strstr(err, "larger than"));

	/* Not a regular file. */
	assert_int_equal(members_load(dir, &ms, err, sizeof(err)), -EINVAL);
}

static void
t_path(void **state)
{
	char buf[64];

	assert_int_equal(members_path(buf, sizeof(buf), "/var/lib/sb",
	    "members"), 0);
	assert_string_equal(buf, "/var/lib/sb/members");
	assert_int_equal(members_path(buf, sizeof(buf), "/var/lib/sb",
	    "/etc/sb/members"), 0);
	assert_string_equal(buf, "/etc/sb/members");
	assert_int_equal(members_path(buf, 10, "/var/lib/sb", "members"),
	    -ENAMETOOLONG);
}

/* ---- checking ---- */

static void
t_check(void **state)
{
	struct members *ms;
	unsigned long id = 0;

	write_standard();
	assert_int_equal(members_load(path, &ms, err, sizeof(err)), 0);

	assert_int_equal(members_check(ms, "alice", "wonderland", &id),
	    MEMBER_OK);
	assert_int_equal(id, 1);
	id = 0;
	assert_int_equal(members_check(ms, "ALICE", "wonderland", &id),
	    MEMBER_OK);
	assert_int_equal(id, 1);
	assert_int_equal(members_check(ms, "alice", "Wonderland", &id),
	    MEMBER_BAD_PASSWORD);
	assert_int_equal(members_check(ms, "alice", "wonderlan", &id),
	    MEMBER_BAD_PASSWORD);
	assert_int_equal(members_check(ms, "alice", "", &id),
	    MEMBER_BAD_PASSWORD);

	/* Disabled: said only to who knows the password. */
	assert_int_equal(members_check(ms, "bob", "builder", &id),
	    MEMBER_DISABLED);
	assert_int_equal(members_check(ms, "bob", "wrong", &id),
	    MEMBER_BAD_PASSWORD);

	/* An older crypt method still works. */
	id = 0;
	assert_int_equal(members_check(ms, "carol", "oldstyle", &id),
	    MEMBER_OK);
	assert_int_equal(id, 3);

	assert_int_equal(members_check(ms, "mallory", "wonderland", &id),
	    MEMBER_UNKNOWN);
	/* The dummy is alice's hash, but her password opens nothing else. */
	assert_int_equal(members_check(ms, "nobody", "wonderland", &id),
	    MEMBER_UNKNOWN);

	/* Seed 000: IDENTIFY id password. */
	id = 0;
	assert_int_equal(members_check(ms, "3", "oldstyle", &id), MEMBER_OK);
	assert_int_equal(id, 3);
	assert_int_equal(members_check(ms, "1", "oldstyle", &id),
	    MEMBER_BAD_PASSWORD);
	assert_int_equal(members_check(ms, "2", "oldstyle", &id),
	    MEMBER_UNKNOWN);
	assert_int_equal(members_check(ms, "07", "builder", &id),
	    MEMBER_UNKNOWN);
	members_free(ms);

	assert_string_equal(member_result_str(MEMBER_OK), "ok");
	assert_string_equal(member_result_str(MEMBER_UNKNOWN), "unknown");
}

static void
t_check_locked_hash(void **state)
{
	struct members *ms;
	unsigned long id;

	/* "!" and "*" are how passwd(5) locks; crypt fails on them. */
	write_file("1:alice:!:1\n2:bob:*:1\n", 0600);
	assert_int_equal(members_load(path, &ms, err, sizeof(err)), 0);
	assert_int_equal(members_check(ms, "alice", "!", &id),
	    MEMBER_BAD_PASSWORD);
	assert_int_equal(members_check(ms, "bob", "*", &id),
	    MEMBER_BAD_PASSWORD);
	assert_int_equal(members_check(ms, "bob", "", &id),
	    MEMBER_BAD_PASSWORD);
	/* No hash to borrow: the built-in dummy is used. */
	assert_int_equal(members_check(ms, "carol", "x", &id),
	    MEMBER_UNKNOWN);
	members_free(ms);
}

static double
elapsed(const struct timespec *a, const struct timespec *b)
{
	return (double)(b->tv_sec - a->tv_sec) +
	    (double)(b->tv_nsec - a->tv_nsec) / 1e9;
}

/*
 * An unknown nick costs a crypt like a known one.  Without the dummy it
 * would answer in microseconds; with it, the times are within a factor
 * (the bound is loose so that a busy machine does not fail the test).
 */
static void
t_check_timing(void **state)
{
	struct members *ms;
	struct timespec t0, t1, t2;
	unsigned long id;
	double known, unknown;
	int i;

	write_standard();
	assert_int_equal(members_load(path, &ms, err, sizeof(err)), 0);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (i = 0; i < 3; i++)
		members_check(ms, "alice", "not-her-password", &id);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	for (i = 0; i < 3; i++)
		members_check(ms, "nobody-at-all", "not-her-password", &id);
	clock_gettime(CLOCK_MONOTONIC, &t2);
	known = elapsed(&t0, &t1);
	unknown = elapsed(&t1, &t2);
	if (unknown < known / 3 || unknown > known * 3)
		fail_msg("known %.3f s, unknown %.3f s", known, unknown);
	members_free(ms);
}

/*
 * Issue 16, hole 4: member nicks follow the same rules as every nick,
 * are unique by their RFC 8266 key, and no two look alike; a guest nick
 * that looks like a member's is found (members_confusable), not by a
 * walk.  Before the fix "alice" + U+FE0F loaded as a second member.
 */
static void
t_confusable(void **state)
{
	struct members *ms;
	struct nick_id id;
	const char *why;
	unsigned long n = 0;

	expect_load_error("1:alice:$y$abc:1\n2:alice\xef\xb8\x8f:$y$abc:1\n",
	    -EINVAL, "line 2: Nick contains an invisible");
	expect_load_error("1:\xc3\x89mile:$y$abc:1\n2:\xc3\xa9MILE:$y$abc:1\n",
	    -EINVAL, "is already on line 1");
	expect_load_error("1:alice:$y$abc:1\n#\n2:aIice:$y$abc:1\n", -EINVAL,
	    "line 3: nick \"aIice\" looks like \"alice\" on line 1");
	expect_load_error("1:\xd0\xb0\xd1\x81\xd0\xb5:$y$abc:1\n"
	    "2:ace:$y$abc:1\n", -EINVAL, "line 2: nick \"ace\" looks like");

	write_standard();
	assert_int_equal(members_load(path, &ms, err, sizeof(err)), 0);
	assert_int_equal(ms->nskels, 4);	/* Alice, alice, bob, carol */
	assert_int_equal(nick_identify("aIice", &id, &why), 0);
	assert_string_equal(members_confusable(ms, &id)->nick, "Alice");
	/* The member's own nick, in any case, is the member, not a look-alike. */
	assert_int_equal(nick_identify("ALICE", &id, &why), 0);
	assert_null(members_confusable(ms, &id));
	assert_int_equal(nick_identify("ca\xd0\xb3ol", &id, &why), -EINVAL);
	assert_int_equal(nick_identify("\xd1\x81\xd0\xb0\xd0\xb3\xd0\xbe\xd0\xb9",
	    &id, &why), 0);
	assert_null(members_confusable(ms, &id));
	assert_int_equal(nick_identify("b0b", &id, &why), 0);
	assert_null(members_confusable(ms, &id));
	assert_int_equal(nick_identify("caroI", &id, &why), 0);
	assert_string_equal(members_confusable(ms, &id)->nick, "carol");
	members_free(ms);

	/* switchboardctl's add: the same rules. */
	assert_int_equal(members_add(path, "caro1", "x", &n, err,
	    sizeof(err)), -EEXIST);
	assert_non_null(strstr(err, "caro1 looks like member carol (id 3"));
	assert_int_equal(members_add(path, "carol\xe2\x80\x8d", "x", &n,
	    err, sizeof(err)), -EINVAL);
	assert_int_equal(members_add(path, "\xef\xbd\x84" "ave", "x", &n, err,
	    sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "NFKC"));
}

/* ---- writing ---- */

static void
t_add(void **state)
{
	struct members *ms;
	unsigned long id = 0;
	struct stat st;

	/* The file does not exist yet: created, mode 0600. */
	assert_int_equal(members_add(path, "alice", "wonderland", &id, err,
	    sizeof(err)), 0);
	assert_int_equal(id, 1);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	assert_int_equal(members_add(path, "Bob", "builder", &id, err,
	    sizeof(err)), 0);
	assert_int_equal(id, 2);
	assert_int_equal(stray_files(), 0);

	assert_int_equal(members_add(path, "ALICE", "x", &id, err,
	    sizeof(err)), -EEXIST);
	assert_non_null(strstr(err, "alice is already a member (id 1"));
	assert_int_equal(members_add(path, "al ice", "x", &id, err,
	    sizeof(err)), -EINVAL);
	assert_string_equal(err, "Nick contains a space or one of , : \" ' "
	    "< > & \\");
	assert_int_equal(members_add(path, "a:b", "x", &id, err,
	    sizeof(err)), -EINVAL);
	assert_int_equal(members_add(path, "carol", "", &id, err,
	    sizeof(err)), -EINVAL);
	assert_string_equal(err, "the password is empty");
	assert_int_equal(members_add(path, "carol", "two\nlines", &id, err,
	    sizeof(err)), -EINVAL);

	assert_int_equal(members_load(path, &ms, err, sizeof(err)), 0);
	assert_int_equal(ms->count, 2);
	assert_string_equal(members_find(ms, "bob")->nick, "Bob");
	assert_int_equal(strncmp(members_find(ms, "bob")->hash, "$y$", 3), 0);
	assert_int_equal(members_check(ms, "bob", "builder", &id), MEMBER_OK);
	assert_int_equal(id, 2);
	assert_int_equal(members_check(ms, "alice", "wonderland", &id),
	    MEMBER_OK);
	members_free(ms);
}

static void
t_add_next_id_and_keeps_text(void **state)
{
	char before[4096], want[4096];
	unsigned long id = 0;
	char *after;

	/* Ids need not be in order; the new one is the largest + 1. */
	snprintf(before, sizeof(before), "# staff\n41:zed:%s:1\n\n"
	    "# old\n9:amy:%s:0", hash_alice, hash_bob);	/* no final LF */
	write_file(before, 0600);
	assert_int_equal(members_add(path, "newbie", "pw", &id, err,
	    sizeof(err)), 0);
	assert_int_equal(id, 42);
	after = read_text();
	snprintf(want, sizeof(want), "%s\n42:newbie:$y$", before);
	assert_int_equal(strncmp(after, want, strlen(want)), 0);
	assert_int_equal(after[strlen(after) - 1], '\n');
	assert_non_null(strstr(after, ":1\n"));
}

static void
t_set_active(void **state)
{
	struct members *ms;
	unsigned long id;
	char before[4096], *after;

	write_standard();
	strcpy(before, read_text());
	assert_int_equal(members_set_active(path, "ALICE", 0, err,
	    sizeof(err)), 0);
	after = read_text();
	/* Only her line changed: active 1 -> 0. */
	assert_int_equal(strlen(after), strlen(before));
	assert_non_null(strstr(after, hash_alice));
	assert_int_equal(members_load(path, &ms, err, sizeof(err)), 0);
	assert_int_equal(members_check(ms, "alice", "wonderland", &id),
	    MEMBER_DISABLED);
	members_free(ms);

	assert_int_equal(members_set_active(path, "alice", 1, err,
	    sizeof(err)), 0);
	assert_string_equal(read_text(), before);
	assert_int_equal(members_set_active(path, "bob", 1, err,
	    sizeof(err)), 0);
	assert_int_equal(members_load(path, &ms, err, sizeof(err)), 0);
	assert_int_equal(members_check(ms, "bob", "builder", &id), MEMBER_OK);
	assert_int_equal(id, 7);
	members_free(ms);

	assert_int_equal(members_set_active(path, "mallory", 0, err,
	    sizeof(err)), -ENOENT);
	assert_string_equal(err, "mallory is not a member");
	assert_int_equal(stray_files(), 0);
}

static void
t_rekey(void **state)
{
	struct members *ms;
	unsigned long id;
	char *after;

	write_standard();
	assert_int_equal(members_rekey(path, "carol", "newpass", err,
	    sizeof(err)), 0);
	after = read_text();
	assert_null(strstr(after, hash_sha));
	assert_non_null(strstr(after, hash_alice));	/* others untouched */
	assert_non_null(strstr(after, "# Switchboard members\n\n1:Alice:"));
	assert_int_equal(members_load(path, &ms, err, sizeof(err)), 0);
	assert_int_equal(members_check(ms, "carol", "oldstyle", &id),
	    MEMBER_BAD_PASSWORD);
	assert_int_equal(members_check(ms, "carol", "newpass", &id),
	    MEMBER_OK);
	assert_int_equal(id, 3);
	assert_int_equal(members_find(ms, "carol")->line, 5);
	assert_int_equal(strncmp(members_find(ms, "carol")->hash, "$y$", 3),
	    0);
	members_free(ms);

	assert_int_equal(members_rekey(path, "nobody", "x", err, sizeof(err)),
	    -ENOENT);
	/* A disabled member can be re-keyed and stays disabled. */
	assert_int_equal(members_rekey(path, "bob", "fresh", err,
	    sizeof(err)), 0);
	assert_int_equal(members_load(path, &ms, err, sizeof(err)), 0);
	assert_int_equal(members_check(ms, "bob", "fresh", &id),
	    MEMBER_DISABLED);
	members_free(ms);
}

static void
t_broken_file_untouched(void **state)
{
	char before[4096];
	unsigned long id;

	snprintf(before, sizeof(before), "1:alice:%s:1\nthis is not a "
	    "member\n", hash_alice);
	write_file(before, 0600);
	assert_int_equal(members_add(path, "bob", "pw", &id, err,
	    sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "line 2: expected"));
	assert_int_equal(members_set_active(path, "alice", 0, err,
	    sizeof(err)), -EINVAL);
	assert_int_equal(members_rekey(path, "alice", "pw", err,
	    sizeof(err)), -EINVAL);
	assert_string_equal(read_text(), before);
	assert_int_equal(stray_files(), 0);

	/* Only add may create the file. */
	unlink(path);
	assert_int_equal(members_set_active(path, "alice", 0, err,
	    sizeof(err)), -ENOENT);
	assert_int_equal(members_rekey(path, "alice", "pw", err,
	    sizeof(err)), -ENOENT);
	assert_int_equal(access(path, F_OK), -1);
}

static void
t_write_keeps_owner_and_mode(void **state)
{
	struct stat st;

	write_standard();
	assert_int_equal(chmod(path, 0640), 0);
	assert_int_equal(chown(path, getuid(), getgid()), 0);
	assert_int_equal(members_set_active(path, "bob", 1, err,
	    sizeof(err)), 0);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);	/* always 0600 */
	assert_int_equal(st.st_uid, getuid());

	/* Run as root, a new file goes to the owner of the directory. */
	if (geteuid() == 0) {
		unlink(path);
		assert_int_equal(chown(dir, 4242, 4343), 0);
		assert_int_equal(members_add(path, "alice", "pw", NULL, err,
		    sizeof(err)), 0);
		assert_int_equal(stat(path, &st), 0);
		assert_int_equal(st.st_uid, 4242);
		assert_int_equal(st.st_gid, 4343);
		assert_int_equal(chown(dir, 0, 0), 0);
	}
}

static void
t_missing_directory(void **state)
{
	char p[400];
	unsigned long id;

	snprintf(p, sizeof(p), "%s/nope/members", dir);
	assert_int_equal(members_add(p, "alice", "pw", &id, err, sizeof(err)),
	    -ENOENT);
	assert_non_null(strstr(err, "nope"));
}

/* ---- the cluster's copy: a text parsed, digested, written ---- */

static void
t_parse_text(void **state)
{
	char text[2048], digest[MEMBERS_DIGEST_LEN + 1];
	struct members *ms = NULL;
	char *big;

	snprintf(text, sizeof(text), "# x\n1:Alice:%s:1\n7:bob:%s:0\n",
	    hash_alice, hash_bob);
	assert_int_equal(members_parse("sb:members", text, strlen(text), &ms,
	    err, sizeof(err)), 0);
	assert_int_equal(ms->count, 2);
	assert_non_null(members_find(ms, "ALICE"));
	ms = members_free(ms);

	/* The file's rules, the errors named by the given name. */
	snprintf(text, sizeof(text), "1:alice:%s:1\n2:a1ice:%s:1\n",
	    hash_alice, hash_bob);
	assert_int_equal(members_parse("sb:members", text, strlen(text), &ms,
	    err, sizeof(err)), -EINVAL);
	assert_null(ms);
	assert_non_null(strstr(err, "sb:members: line 2"));
	assert_int_equal(members_parse("sb:members", "1:x\n", 4, &ms, err,
	    sizeof(err)), -EINVAL);
	assert_int_equal(members_parse("sb:members", "a\0b\n", 4, &ms, err,
	    sizeof(err)), -EINVAL);

	/* At most MEMBERS_FILE_MAX bytes; exactly that many is parsed. */
	assert_non_null(big = malloc(MEMBERS_FILE_MAX + 1));
	memset(big, '\n', MEMBERS_FILE_MAX + 1);
	assert_int_equal(members_parse("sb:members", big, MEMBERS_FILE_MAX + 1,
	    &ms, err, sizeof(err)), -EFBIG);
	assert_int_equal(members_parse("sb:members", big, MEMBERS_FILE_MAX,
	    &ms, err, sizeof(err)), 0);
	ms = members_free(ms);
	free(big);

	members_digest("", 0, digest);
	assert_string_equal(digest, "e3b0c44298fc1c149afbf4c8996fb924"
	    "27ae41e4649b934ca495991b7852b855");
}

static void
t_replace(void **state)
{
	char digest[MEMBERS_DIGEST_LEN + 1], text[2048], *got;
	struct members *ms = NULL;
	struct stat st;
	size_t len;

	/* No file yet: it counts as empty. */
	members_digest("", 0, digest);
	snprintf(text, sizeof(text), "1:alice:%s:1\n", hash_alice);
	assert_int_equal(members_replace(path, text, strlen(text), digest,
	    err, sizeof(err)), 0);
	assert_string_equal(read_text(), text);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	assert_int_equal(members_load_text(path, &ms, &got, &len, err,
	    sizeof(err)), 0);
	assert_int_equal(len, strlen(text));
	assert_memory_equal(got, text, len);
	free(got);
	ms = members_free(ms);

	/* Changed here since (not the digest expected): left alone. */
	assert_int_equal(members_replace(path, "", 0, digest, err,
	    sizeof(err)), -EBUSY);
	assert_non_null(strstr(err, "changed here"));
	assert_string_equal(read_text(), text);
	members_digest(text, strlen(text), digest);
	assert_int_equal(members_replace(path, "# none\n", 7, digest, err,
	    sizeof(err)), 0);
	assert_string_equal(read_text(), "# none\n");
	assert_int_equal(stray_files(), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(t_load_and_find, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(t_load_empty_and_comments,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(t_load_errors_name_the_line,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(t_load_refuses_files, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(t_confusable, setup, teardown),
		cmocka_unit_test(t_path),
		cmocka_unit_test_setup_teardown(t_check, setup, teardown),
		cmocka_unit_test_setup_teardown(t_check_locked_hash, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(t_check_timing, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(t_add, setup, teardown),
		cmocka_unit_test_setup_teardown(t_add_next_id_and_keeps_text,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(t_set_active, setup, teardown),
		cmocka_unit_test_setup_teardown(t_rekey, setup, teardown),
		cmocka_unit_test_setup_teardown(t_broken_file_untouched, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(t_write_keeps_owner_and_mode,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(t_missing_directory, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(t_parse_text, setup, teardown),
		cmocka_unit_test_setup_teardown(t_replace, setup, teardown),
	};

	return cmocka_run_group_tests(tests, group_setup, NULL);
}
