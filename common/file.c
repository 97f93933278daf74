/* SPDX-License-Identifier: ISC */
/*
 * Atomic replacement of a whole file (file.h).
 */
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <bsd/string.h>

#include "file.h"

/*
 * Write data[0..len) to `path` atomically: a temporary file in the same
 * directory (mode `mode`, owner `uid`/`gid` when they are not ours),
 * fsync, rename over `path`, fsync the directory `dirfd` (-1: open it
 * here).  Returns 0, or a negative errno with a message naming the file
 * in err.
 */
int
sb_file_write_atomic(int dirfd, const char *path, const void *data,
    size_t len, mode_t mode, uid_t uid, gid_t gid, char *err, size_t errsz)
{
	char tmp[PATH_MAX], dir[PATH_MAX];
	const char *slash;
	size_t off = 0;
	int fd, r, own_dir = -1;

	assert(path != NULL && (data != NULL || len == 0) && err != NULL);
	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmpXXXXXX", path) >=
	    sizeof(tmp)) {
		snprintf(err, errsz, "%s: path too long", path);
		return -ENAMETOOLONG;
	}
	if ((fd = mkostemp(tmp, O_CLOEXEC)) < 0) {
		r = -errno;
		snprintf(err, errsz, "%s: %s", tmp, strerror(errno));
		return r;
	}
	if (fchmod(fd, mode) < 0 ||
	    ((uid != geteuid() || gid != getegid()) &&
	    fchown(fd, uid, gid) < 0))
		goto fail;
	while (off < len) {
		ssize_t n = write(fd, (const char *)data + off, len - off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			goto fail;
		off += (size_t)n;
	}
	if (fsync(fd) < 0)
		goto fail;
	if (close(fd) < 0) {
		fd = -1;
		goto fail;
	}
	fd = -1;
	if (rename(tmp, path) < 0)
		goto fail;
	if (dirfd < 0) {
		slash = strrchr(path, '/');
		if (slash == NULL)
			strlcpy(dir, ".", sizeof(dir));
		else
			snprintf(dir, sizeof(dir), "%.*s", slash == path ? 1 :
			    (int)(slash - path), path);
		dirfd = own_dir = open(dir, O_RDONLY | O_DIRECTORY |
		    O_CLOEXEC);
	}
	if (dirfd >= 0)
		(void)fsync(dirfd);	/* the rename; data is already safe */
	if (own_dir >= 0)
		close(own_dir);
	return 0;
fail:
	r = -errno;
	snprintf(err, errsz, "%s: %s", path, strerror(errno));
	if (fd >= 0)
		close(fd);
	unlink(tmp);
	return r;
}
