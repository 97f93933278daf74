/* SPDX-License-Identifier: ISC */
/*
 * Temporary directories for the unit tests that write files: make one
 * under /tmp, count what is left in it, and remove it with all it holds.
 * Needs <cmocka.h>, <dirent.h>, <stdio.h>, <stdlib.h>, <string.h> and
 * <unistd.h> first.
 */
#ifndef SB_TEST_TMPDIR_H
#define SB_TEST_TMPDIR_H

/*
 * Make /tmp/sb-NAME-XXXXXX into dir (at most size bytes); the test fails
 * if it cannot.
 */
static inline void
tmpdir_make(char *dir, size_t size, const char *name)
{
	assert_true((size_t)snprintf(dir, size, "/tmp/sb-%s-XXXXXX", name) <
	    size);
	assert_non_null(mkdtemp(dir));
}

/* Remove dir and everything below it; quietly, as a teardown does. */
static inline void
tmpdir_remove(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	char p[4096];

	if (d == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		snprintf(p, sizeof(p), "%s/%s", dir, de->d_name);
		if (unlink(p) < 0)
			tmpdir_remove(p);
	}
	closedir(d);
	rmdir(dir);
}

/* How many entries of dir (but "." and "..") match(name) says to count. */
static inline int
tmpdir_count(const char *dir, int (*match)(const char *))
{
	DIR *d = opendir(dir);
	struct dirent *de;
	int n = 0;

	assert_non_null(d);
	while ((de = readdir(d)) != NULL)
		if (strcmp(de->d_name, ".") != 0 &&
		    strcmp(de->d_name, "..") != 0 && match(de->d_name))
			n++;
	closedir(d);
	return n;
}

#endif
