/* SPDX-License-Identifier: ISC */
/*
 * switchboardctl's header: what it takes from the hub, and no more.  The
 * control socket's exchange (control.h), the nick rules (nick.h, from
 * hub/nick.c, linked in), the member store's writing side (members.h,
 * hub/members.c), the default socket path (common/config.h); and its own
 * limits.  It never sees the hub's state (hub/hub.h).  Its files:
 *
 *	switchboardctl.c	the command line, the commands, their output
 *	top.c			switchboardctl top, the live view
 *	exchange.c		what both use: the control socket's exchange,
 *				fail(), a terminal's cells and durations
 */
#ifndef SB_CTL_H
#define SB_CTL_H

#include "config.h"
#include "../control.h"
#include "../members.h"
#include "../nick.h"

#define CTL_REQUEST_MAX		CONTROL_REQUEST_MAX
#define CTL_DGRAM_MAX		(64 * 1024)	/* a reply datagram, at most */
#define CTL_TOTAL_MAX		(8 * 1024 * 1024)	/* all replies */
#define CTL_TIMEOUT_MS		15000	/* for each reply datagram */
#define CTL_CELL_MAX		256	/* bytes printed of one table cell */
#define CTL_TOP_MS		1000	/* top: one look a second */

/* The exit codes (docs/admin.md). */
enum { EXIT_OK = 0, EXIT_FAIL = 1, EXIT_USAGE = 2 };

struct json_t;

/* exchange.c: what switchboardctl.c and top.c share */
extern const char ctl_prog[];	/* "switchboardctl", for messages */
extern int	 ctl_quiet;	/* fail() keeps the reason, says nothing */
int		 fail(const char *, ...)
		    __attribute__((format(printf, 1, 2)));
const char	*ctl_last_error(void);
size_t		 cell(char *, size_t, const char *);
void		 duration(char *, size_t, long long);
struct json_t	*ctl_exchange(const char *, const char *const *, size_t);

/* top.c */
int		 ctl_top(const char *);

#endif /* SB_CTL_H */
