/* SPDX-License-Identifier: ISC */
/*
 * The member store: who may identify with a password.
 *
 * A text file owned by the hub (mode 0600), one member per line, the
 * columns of the seed's members table:
 *
 *	id:nick:crypt-hash:active
 *
 * id is a decimal number from 1 to MEMBERS_ID_MAX, unique; nick follows
 * the nick rules (nick_check) and is unique under nick_fold (the RFC 8266
 * comparison key), and no two members' nicks look alike (share a UTS #39
 * skeleton, nick_identify); crypt-hash is a crypt(3) hash (yescrypt "$y$" when
 * switchboardctl writes it; any method libcrypt knows is accepted); active
 * is 1 or 0.  Blank lines and lines starting with '#' are comments, kept
 * as they are when the file is rewritten.
 *
 * The hub reads the whole file into a struct members (members_load) and
 * checks passwords against it (members_check); switchboardctl changes the
 * file (members_add, members_set_active, members_rekey), each change an
 * atomic rewrite under a lock, and the hub sees it on its next reload.
 * In a cluster the hub also takes the cluster's copy of the file
 * (hub/cluster.c): checked as a file is (members_parse), then written
 * under the same lock (members_replace).
 */
#ifndef SB_MEMBERS_H
#define SB_MEMBERS_H

#include <stddef.h>

#define MEMBERS_FILE_MAX	(8 * 1024 * 1024)	/* bytes in the file */
#define MEMBERS_LINE_MAX	512	/* bytes in one line, without '\n' */
#define MEMBERS_MAX		65536	/* members in one file */
#define MEMBERS_ID_MAX		2147483647UL
#define MEMBERS_HASH_MAX	255	/* bytes of one crypt hash */
#define MEMBERS_NICK_MAX	32	/* = SB_NICK_MAX */
#define MEMBERS_KEY_MAX		64	/* = NICK_KEY_MAX */
#define MEMBERS_PASS_MAX	256	/* = SB_PASS_MAX */
#define MEMBERS_DIGEST_LEN	64	/* hex digits of a text's SHA-256 */
#define MEMBERS_DEFAULT_PATH	"/var/lib/switchboard/members"

/* What members_check() found. */
enum member_result {
	MEMBER_OK,		/* known, active, password right */
	MEMBER_BAD_PASSWORD,	/* known, password wrong (active or not) */
	MEMBER_DISABLED,	/* known, password right, active = 0 */
	MEMBER_UNKNOWN,		/* no such nick or id */
};

struct member {
	unsigned long	 id;
	unsigned	 line;		/* in the file, for messages */
	int		 active;
	char		 nick[MEMBERS_NICK_MAX + 1];
	char		 key[MEMBERS_KEY_MAX + 1];	/* nick_fold()ed nick */
	char		 hash[MEMBERS_HASH_MAX + 1];
};

/* One UTS #39 skeleton of a member's nick (a nick has one or two). */
struct member_skel {
	char		*skel;
	size_t		 i;		/* in by_key */
};

/* A loaded file; read-only once loaded. */
struct members {
	struct member	*by_key;	/* sorted by key */
	size_t		 count;
	struct member_skel *skels;	/* sorted by skel */
	size_t		 nskels;
	unsigned long	 max_id;
	char		 dummy[MEMBERS_HASH_MAX + 1];	/* for unknown nicks */
};

/* members.c: reading (the hub) */
int		 members_path(char *, size_t, const char *, const char *);
int		 members_load(const char *, struct members **, char *, size_t);
int		 members_load_text(const char *, struct members **, char **,
		    size_t *, char *, size_t);
int		 members_parse(const char *, const char *, size_t,
		    struct members **, char *, size_t);
void		 members_digest(const char *, size_t,
		    char [MEMBERS_DIGEST_LEN + 1]);
struct members	*members_free(struct members *);
struct members	*members_empty(void);
const struct member *members_find(const struct members *, const char *);
const struct member *members_find_id(const struct members *, unsigned long);
struct nick_id;
const struct member *members_confusable(const struct members *,
		    const struct nick_id *);
const struct member *members_lookup(const struct members *, const char *);
int		 members_verify(const char *, const char *);
enum member_result members_result(const struct member *, int,
		    unsigned long *);
enum member_result members_check(const struct members *, const char *,
		    const char *, unsigned long *);

/* members.c: writing (switchboardctl) */
int		 members_add(const char *, const char *, const char *,
		    unsigned long *, char *, size_t);
int		 members_set_active(const char *, const char *, int, char *,
		    size_t);
int		 members_rekey(const char *, const char *, const char *, char *,
		    size_t);
int		 members_replace(const char *, const char *, size_t,
		    const char *, char *, size_t);
const char	*member_result_str(enum member_result);

#endif /* SB_MEMBERS_H */
