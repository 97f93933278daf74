/* SPDX-License-Identifier: ISC */
/*
 * Recent history: the last N messages of each room, replayed to a joiner.
 *
 * In memory, one ring of N entries per room (rooms are told apart by
 * their ASCII-folded name, like hub_find_room).  On disk, in the
 * directory given to history_open, one append-only file per room named
 * "<hex of the folded room name>.log", one record per line:
 *
 *	<unix time> TAB <number> TAB <kind> TAB <from> TAB <text> LF
 *
 * with backslash, TAB, LF and CR in from and text written as \\ \t \n \r
 * and other control characters as \xHH.  When a file holds more than 2N
 * records it is rewritten with the N in memory (temporary file, fsync,
 * rename).  A line that does not parse (a torn write after a crash) is
 * skipped on loading.
 *
 * Numbers.  Each message of a room gets the next number of that room,
 * from 1 (history_add), kept with it in memory and on disk, so a client
 * that saw a room up to number S can be given exactly what came after
 * (history_get with since = S); the numbers of what it gets, and the
 * room's last number (history_last), tell what is no longer held.
 * Numbers go on across hub restarts; a room whose history is forgotten
 * (history_forget, retention) starts again at 1.  Lines written before
 * numbers existed (four fields) are numbered on loading, one more than
 * the line before; a numbered line not above the line before it does
 * not parse.
 *
 * The disk is a copy: when a write fails (disk full, I/O error) the entry
 * stays in memory, history_add returns the error, and the room's file is
 * rewritten from memory at its next successful write.
 *
 * Rooms and their lifetime.  At most HISTORY_ROOMS_MAX rooms have
 * history ("slots"), each in one of three states, set by the hub:
 *
 *	permanent	a room of the config: history_room_live(.., 1, ..)
 *			reserves its slot, and it is never taken away;
 *	live		a room that exists now (the default of a room
 *			history_add sees first);
 *	gone		a temporary room that went away (history_room_gone)
 *			and every room loaded from disk until the hub claims
 *			it.  Its history is forgotten, in memory and on
 *			disk, `retention` seconds later (0: at once), or
 *			earlier when a slot is needed: the room gone longest
 *			goes first.  A room that comes back in time
 *			(history_room_live) keeps its history.
 *
 * A permanent room that needs a slot when every slot is held by a live
 * room takes the slot of a live temporary room.  So memory and disk stay
 * within HISTORY_ROOMS_MAX rooms of per_room entries each, whatever the
 * clients do, and the permanent rooms always have history.
 */
#ifndef SB_HISTORY_H
#define SB_HISTORY_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "file.h"

#define HISTORY_PER_ROOM_MAX	10000	/* = the config's maximum */
#define HISTORY_ROOMS_MAX	4096	/* rooms with history (slots) */
#define HISTORY_RETENTION_MAX	2592000	/* seconds (30 days) = the config's */
#define HISTORY_KIND_MAX	16	/* bytes of a kind: [a-z_]+ */
#define HISTORY_FROM_MAX	32	/* = SB_NICK_MAX */
#define HISTORY_TEXT_MAX	2048	/* = SB_TEXT_MAX */
#define HISTORY_ROOM_MAX	32	/* = SB_ROOM_MAX */
#define HISTORY_SEQ_MAX	INT64_MAX	/* the last number a room gives */
/* One record on disk: every byte of from and text may become \xHH. */
#define HISTORY_LINE_MAX	(24 + 21 + HISTORY_KIND_MAX + \
				 4 * (HISTORY_FROM_MAX + HISTORY_TEXT_MAX) + 4)

struct history;

/* One message as stored; valid during the history_get callback only. */
struct history_entry {
	int64_t		 time;		/* unix seconds */
	uint64_t	 seq;		/* the room's number for it, from 1 */
	char		 kind[HISTORY_KIND_MAX + 1];	/* "room", "action" */
	const char	*from;		/* nick, may be "" */
	const char	*text;
};

/* Called for each entry, oldest first; a nonzero return stops the walk. */
typedef int (*history_cb)(const struct history_entry *, void *);

/* Writes the bytes of a record: write(2) unless a test replaces it. */
typedef sb_write_fn history_write_fn;

/* history.c */
int	 history_open(const char *, unsigned, struct history **, char *,
	    size_t);
struct history *history_close(struct history *);
int	 history_add(struct history *, const char *, const char *,
	    const char *, const char *, int64_t, uint64_t *);
int	 history_add_at(struct history *, const char *, const char *,
	    const char *, const char *, int64_t, uint64_t *);
int	 history_get(struct history *, const char *, uint64_t, history_cb,
	    void *);
uint64_t history_last(struct history *, const char *);
size_t	 history_count(struct history *, const char *);
int	 history_set_limit(struct history *, unsigned);
int	 history_forget(struct history *, const char *);
void	 history_set_write(struct history *, history_write_fn);
int	 history_room_live(struct history *, const char *, int, uint64_t);
int	 history_room_gone(struct history *, const char *, uint64_t);
size_t	 history_expire(struct history *, uint64_t);
void	 history_set_retention(struct history *, unsigned);
size_t	 history_rooms(struct history *);
size_t	 history_usage(struct history *, size_t *, size_t *);

#endif /* SB_HISTORY_H */
