/* SPDX-License-Identifier: ISC */
/*
 * Unit tests for common/file.c, the atomic replacement of a file: all at
 * once and piece by piece, with a write function that fails, writes
 * short, is interrupted or writes nothing; after any failure the old
 * file is intact and no temporary file is left.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "file.h"
#include "tmpdir.h"

static char dir[64], path[128], err[8192];

static int
setup(void **state)
{
	(void)state;
	tmpdir_make(dir, sizeof(dir), "test-file");
	snprintf(path, sizeof(path), "%s/data", dir);
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	tmpdir_remove(dir);
	return 0;
}

/* The whole contents of path, NUL-terminated, in a static buffer. */
static const char *
contents(void)
{
	static char buf[4096];
	FILE *f = fopen(path, "r");
	size_t n;

	assert_non_null(f);
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	return buf;
}

/* How many files in dir are temporary files of file.c's. */
static int
temps(void)
{
	return tmpdir_count(dir, sb_file_is_temp);
}

/* Write functions for the tests. */
static int calls, fail_errno;

static ssize_t
fail_second(int fd, const void *p, size_t n)	/* the second call fails */
{
	if (++calls == 2) {
		errno = fail_errno;
		return -1;
	}
	return write(fd, p, n);
}

static ssize_t
half(int fd, const void *p, size_t n)		/* at most half, and EINTR */
{
	if (++calls % 3 == 0) {
		errno = EINTR;
		return -1;
	}
	return write(fd, p, n > 1 ? n / 2 : n);
}

static ssize_t
nothing(int fd, const void *p, size_t n)		/* writes 0 bytes */
{
	(void)fd, (void)p, (void)n;
	return 0;
}

static void
t_write_atomic(void **state)
{
	struct stat st;

	assert_int_equal(sb_file_write_atomic(-1, path, "one\n", 4, 0600,
	    geteuid(), getegid(), err, sizeof(err)), 0);
	assert_string_equal(contents(), "one\n");
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	assert_int_equal(sb_file_write_atomic(-1, path, "two", 3, 0640,
	    geteuid(), getegid(), err, sizeof(err)), 0);
	assert_string_equal(contents(), "two");
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0640);
	assert_int_equal(sb_file_write_atomic(-1, path, NULL, 0, 0600,
	    geteuid(), getegid(), err, sizeof(err)), 0);
	assert_string_equal(contents(), "");
	assert_int_equal(temps(), 0);
}

static void
t_pieces(void **state)
{
	struct sb_file_atomic a;
	int dfd = open(dir, O_RDONLY | O_DIRECTORY);

	assert_true(dfd >= 0);
	assert_int_equal(sb_file_write_atomic(dfd, path, "old", 3, 0600,
	    geteuid(), getegid(), err, sizeof(err)), 0);
	assert_int_equal(sb_file_atomic_begin(&a, dfd, path, 0600, geteuid(),
	    getegid()), 0);
	assert_int_equal(temps(), 1);
	assert_int_equal(sb_file_atomic_write(&a, "ab", 2), 0);
	assert_int_equal(sb_file_atomic_write(&a, "", 0), 0);
	assert_int_equal(sb_file_atomic_write(&a, "cd", 2), 0);
	assert_string_equal(contents(), "old");	/* not until the commit */
	assert_int_equal(sb_file_atomic_commit(&a), 0);
	assert_string_equal(contents(), "abcd");
	assert_int_equal(temps(), 0);
	close(dfd);

	/* Given up: the old file stays; abort twice is harmless. */
	assert_int_equal(sb_file_atomic_begin(&a, -1, path, 0600, geteuid(),
	    getegid()), 0);
	assert_int_equal(sb_file_atomic_write(&a, "new", 3), 0);
	sb_file_atomic_abort(&a);
	sb_file_atomic_abort(&a);
	assert_string_equal(contents(), "abcd");
	assert_int_equal(temps(), 0);
}

static void
t_failing_write(void **state)
{
	struct sb_file_atomic a;

	assert_int_equal(sb_file_write_atomic(-1, path, "old", 3, 0600,
	    geteuid(), getegid(), err, sizeof(err)), 0);
	assert_int_equal(sb_file_atomic_begin(&a, -1, path, 0600, geteuid(),
	    getegid()), 0);
	a.write = fail_second;
	calls = 0;
	fail_errno = ENOSPC;
	assert_int_equal(sb_file_atomic_write(&a, "first", 5), 0);
	assert_int_equal(sb_file_atomic_write(&a, "second", 6), -ENOSPC);
	sb_file_atomic_abort(&a);	/* done already by the failure */
	assert_string_equal(contents(), "old");
	assert_int_equal(temps(), 0);

	/* A write that writes nothing is an error, not a loop. */
	assert_int_equal(sb_file_atomic_begin(&a, -1, path, 0600, geteuid(),
	    getegid()), 0);
	a.write = nothing;
	assert_int_equal(sb_file_atomic_write(&a, "x", 1), -EIO);
	assert_string_equal(contents(), "old");
	assert_int_equal(temps(), 0);
}

static void
t_short_and_interrupted(void **state)
{
	struct sb_file_atomic a;
	char text[1000];

	memset(text, 'q', sizeof(text) - 1);
	text[sizeof(text) - 1] = '\0';
	assert_int_equal(sb_file_atomic_begin(&a, -1, path, 0600, geteuid(),
	    getegid()), 0);
	a.write = half;
	calls = 0;
	assert_int_equal(sb_file_atomic_write(&a, text, strlen(text)), 0);
	assert_int_equal(sb_file_atomic_commit(&a), 0);
	assert_string_equal(contents(), text);
	assert_true(calls > 3);
	assert_int_equal(sb_file_write_all(-1, "", 0, NULL), 0);
}

static void
t_errors(void **state)
{
	char p[400], longp[5000];

	snprintf(p, sizeof(p), "%s/no/such/file", dir);
	assert_int_equal(sb_file_write_atomic(-1, p, "x", 1, 0600, geteuid(),
	    getegid(), err, sizeof(err)), -ENOENT);
	assert_non_null(strstr(err, p));
	memset(longp, 'a', sizeof(longp) - 1);
	longp[sizeof(longp) - 1] = '\0';
	assert_int_equal(sb_file_write_atomic(-1, longp, "x", 1, 0600,
	    geteuid(), getegid(), err, sizeof(err)), -ENAMETOOLONG);
	assert_non_null(strstr(err, "path too long"));
	assert_int_equal(temps(), 0);
}

static void
t_is_temp(void **state)
{
	assert_true(sb_file_is_temp("members.tmpAbc123"));
	assert_true(sb_file_is_temp("6c6f626279.log.tmp0zZ9aA"));
	assert_false(sb_file_is_temp("members"));
	assert_false(sb_file_is_temp("members.tmp"));
	assert_false(sb_file_is_temp(".tmpAbc123"));
	assert_false(sb_file_is_temp("members.tmpAbc12"));
	assert_false(sb_file_is_temp("members.tmpAbc12!"));
	assert_false(sb_file_is_temp("members.tmpXAbc123"));
	assert_false(sb_file_is_temp(""));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(t_write_atomic, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(t_pieces, setup, teardown),
		cmocka_unit_test_setup_teardown(t_failing_write, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(t_short_and_interrupted, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(t_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(t_is_temp, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
