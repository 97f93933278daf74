/* SPDX-License-Identifier: ISC */
/*
 * Files the hub and switchboardctl write: a whole file replaced
 * atomically, so that a crash leaves the old file or the new one, never
 * half of either.
 */
#ifndef SB_FILE_H
#define SB_FILE_H

#include <stddef.h>
#include <sys/types.h>

int	 sb_file_write_atomic(int, const char *, const void *, size_t, mode_t,
	    uid_t, gid_t, char *, size_t);

#endif /* SB_FILE_H */
