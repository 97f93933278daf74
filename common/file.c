/* SPDX-License-Identifier: ISC */
/*
 * Atomic replacement of a whole file (file.h): a temporary file beside
 * it, written, fsync()ed, renamed over it, and the directory fsync()ed so
 * that the rename lasts too.
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

#define TMP_SUFFIX	".tmpXXXXXX"	/* mkostemp() fills in the X */

/*
 * Write all of buf[0..len) to fd with `fn` (write(2) when NULL), again
 * after EINTR and short writes.  Returns 0 or a negative errno (-EIO for
 * a write that wrote nothing).
 */
int
sb_file_write_all(int fd, const void *buf, size_t len, sb_write_fn fn)
{
	const char *p = buf;

	assert(buf != NULL || len == 0);
	if (fn == NULL)
		fn = write;
	while (len > 0) {
		ssize_t n = fn(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return errno != 0 ? -errno : -EIO;
		if (n == 0)
			return -EIO;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/*
 * Start replacing `path`: a new temporary file beside it (mode `mode`,
 * owner `uid`/`gid` when they are not ours).  `dirfd` is an open
 * descriptor of path's directory, fsync()ed at the commit, or -1 to open
 * it then.  Returns 0, or a negative errno with nothing left behind.
 */
int
sb_file_atomic_begin(struct sb_file_atomic *a, int dirfd, const char *path,
    mode_t mode, uid_t uid, gid_t gid)
{
	int r;

	assert(a != NULL && path != NULL);
	*a = (struct sb_file_atomic){ .fd = -1, .dirfd = dirfd,
	    .write = write };
	if (strlcpy(a->path, path, sizeof(a->path)) >= sizeof(a->path) ||
	    strlcpy(a->tmp, path, sizeof(a->tmp)) + strlen(TMP_SUFFIX) >=
	    sizeof(a->tmp))
		return -ENAMETOOLONG;
	strlcat(a->tmp, TMP_SUFFIX, sizeof(a->tmp));
	if ((a->fd = mkostemp(a->tmp, O_CLOEXEC)) < 0)
		return -errno;
	if (fchmod(a->fd, mode) < 0 ||
	    ((uid != geteuid() || gid != getegid()) &&
	    fchown(a->fd, uid, gid) < 0)) {
		r = -errno;
		sb_file_atomic_abort(a);
		return r;
	}
	return 0;
}

/*
 * Append buf[0..len) to the new contents.  Returns 0, or a negative
 * errno after which the replacement is abandoned (the old file stays).
 */
int
sb_file_atomic_write(struct sb_file_atomic *a, const void *buf, size_t len)
{
	int r;

	assert(a != NULL && a->fd >= 0);
	if ((r = sb_file_write_all(a->fd, buf, len, a->write)) < 0)
		sb_file_atomic_abort(a);
	return r;
}

/* fsync() the directory of a->path (its entry changed); errors ignored. */
static void
sync_dir(const struct sb_file_atomic *a)
{
	char dir[PATH_MAX];
	const char *slash;
	int fd = a->dirfd;

	if (fd < 0) {
		slash = strrchr(a->path, '/');
		if (slash == NULL)
			strlcpy(dir, ".", sizeof(dir));
		else
			snprintf(dir, sizeof(dir), "%.*s", slash == a->path ?
			    1 : (int)(slash - a->path), a->path);
		fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	}
	if (fd >= 0)
		(void)fsync(fd);	/* the rename; the data is safe */
	if (fd >= 0 && fd != a->dirfd)
		close(fd);
}

/*
 * Make the new contents the file: fsync, rename over the path, fsync the
 * directory.  Returns 0, or a negative errno after which the old file is
 * as it was.
 */
int
sb_file_atomic_commit(struct sb_file_atomic *a)
{
	int r, fd;

	assert(a != NULL && a->fd >= 0);
	fd = a->fd;
	a->fd = -1;
	if (fsync(fd) < 0) {
		r = -errno;
		close(fd);
		goto fail;
	}
	if (close(fd) < 0 || rename(a->tmp, a->path) < 0) {
		r = -errno;
		goto fail;
	}
	sync_dir(a);
	return 0;
fail:
	unlink(a->tmp);
	return r;
}

/* Give up: the temporary file goes, the old file stays.  Idempotent. */
void
sb_file_atomic_abort(struct sb_file_atomic *a)
{
	assert(a != NULL);
	if (a->fd < 0)
		return;
	close(a->fd);
	a->fd = -1;
	unlink(a->tmp);
}

/*
 * Write data[0..len) to `path` atomically, all at once (see
 * sb_file_atomic_begin for the rest of the arguments).  Returns 0, or a
 * negative errno with a message naming the file in err.
 */
int
sb_file_write_atomic(int dirfd, const char *path, const void *data,
    size_t len, mode_t mode, uid_t uid, gid_t gid, char *err, size_t errsz)
{
	struct sb_file_atomic a;
	int r;

	assert(path != NULL && (data != NULL || len == 0) && err != NULL);
	if ((r = sb_file_atomic_begin(&a, dirfd, path, mode, uid, gid)) < 0 ||
	    (r = sb_file_atomic_write(&a, data, len)) < 0 ||
	    (r = sb_file_atomic_commit(&a)) < 0) {
		if (r == -ENAMETOOLONG)
			snprintf(err, errsz, "%s: path too long", path);
		else
			snprintf(err, errsz, "%s: %s", path, strerror(-r));
	}
	return r;
}

/*
 * Is `name` (a file name, no directory) one of the temporary files this
 * module makes, that a crash may have left behind?  1 or 0.
 */
int
sb_file_is_temp(const char *name)
{
	size_t len, sl = strlen(TMP_SUFFIX), i;

	assert(name != NULL);
	len = strlen(name);
	if (len <= sl || strncmp(name + len - sl, TMP_SUFFIX, sl - 6) != 0)
		return 0;
	for (i = len - 6; i < len; i++)
		if (!((name[i] >= 'a' && name[i] <= 'z') ||
		    (name[i] >= 'A' && name[i] <= 'Z') ||
		    (name[i] >= '0' && name[i] <= '9')))
			return 0;
	return 1;
}
