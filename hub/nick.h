/* SPDX-License-Identifier: ISC */
/*
 * The nick and room name rules (hub/nick.c), for the hub and for
 * switchboardctl: what a valid name is, and what two nicks are compared
 * by.  Which session holds which nick (uniqueness) is the hub's and is
 * declared in hub.h.
 */
#ifndef SB_NICK_H
#define SB_NICK_H

#include <stddef.h>

#include "proto.h"

/*
 * Bytes of a nick's comparison key (RFC 8266: lower case can grow a name
 * by half, U+0130 to i + U+0307) and of a UTS #39 skeleton (a Hangul
 * syllable becomes three jamo: 7 times the bytes).  nick.c refuses a
 * name whose key or skeleton would not fit.
 */
#define NICK_KEY_MAX		(2 * SB_NICK_MAX)
#define NICK_SKEL_MAX		(8 * SB_NICK_MAX)

/* What two nicks are compared by (nick_identify). */
struct nick_id {
	char	 key[NICK_KEY_MAX + 1];		/* same key: same nick */
	char	 skel[2][NICK_SKEL_MAX + 1];	/* of the nick, of its key */
	int	 nskel;				/* 1 when the two are equal */
};

int		 nick_check(const char *, const char **);
int		 nick_identify(const char *, struct nick_id *, const char **);
int		 room_name_check(const char *, const char **);
/* Nicks fold by RFC 8266, room names by ascii_fold() (common/text.h). */
int		 nick_fold(char *, size_t, const char *);

#endif /* SB_NICK_H */
