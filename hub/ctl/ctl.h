/* SPDX-License-Identifier: ISC */
/*
 * switchboardctl's header: what it takes from the hub, and no more.  The
 * control socket's exchange (control.h), the nick rules (nick.h, from
 * hub/nick.c, linked in), the member store's writing side (members.h,
 * hub/members.c), the default socket path (common/config.h); and its own
 * limits.  It never sees the hub's state (hub/hub.h).
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

#endif /* SB_CTL_H */
