/* SPDX-License-Identifier: ISC */
/*
 * Files the hub and switchboardctl write: a whole file replaced
 * atomically, so that a crash leaves the old file or the new one, never
 * half of either.  The one way Switchboard replaces a file (the members
 * file, the bans, a room's history).
 *
 * All at once: sb_file_write_atomic().  Piece by piece (a file too large
 * to build in memory first): sb_file_atomic_begin(), then
 * sb_file_atomic_write() as often as needed, then
 * sb_file_atomic_commit(), or sb_file_atomic_abort() to leave the old
 * file as it was.  The new contents go to a temporary file beside the
 * old one, named "<path>.tmpXXXXXX"; one that a crash left behind is
 * recognized by sb_file_is_temp().
 */
#ifndef SB_FILE_H
#define SB_FILE_H

#include <limits.h>
#include <stddef.h>
#include <sys/types.h>

/* Writes a whole buffer or fails: write(2), or a test's failing one. */
typedef ssize_t	(*sb_write_fn)(int, const void *, size_t);

/* A replacement in progress. */
struct sb_file_atomic {
	int		 fd;		/* the temporary file; -1 when done */
	int		 dirfd;		/* the directory to fsync, or -1 */
	sb_write_fn	 write;		/* write(2) unless the caller sets it */
	char		 path[PATH_MAX];
	char		 tmp[PATH_MAX];
};

/* file.c */
int	 sb_file_write_all(int, const void *, size_t, sb_write_fn);
int	 sb_file_atomic_begin(struct sb_file_atomic *, int, const char *,
	    mode_t, uid_t, gid_t);
int	 sb_file_atomic_write(struct sb_file_atomic *, const void *, size_t);
int	 sb_file_atomic_commit(struct sb_file_atomic *);
void	 sb_file_atomic_abort(struct sb_file_atomic *);
int	 sb_file_write_atomic(int, const char *, const void *, size_t, mode_t,
	    uid_t, gid_t, char *, size_t);
int	 sb_file_is_temp(const char *);

#endif /* SB_FILE_H */
