/* SPDX-License-Identifier: ISC */
/*
 * Bans: nicks and client addresses (or address prefixes) that may not
 * chat, each until a time or for good.
 *
 * The list lives in the hub and in <state_dir>/bans.json, rewritten
 * atomically on every change, so bans survive a hub restart:
 *
 *	{"bans": [{"nick": "troll", "since": 1764650000,
 *	           "until": 1764653600, "reason": "spam"},
 *	          {"address": "192.0.2.0/24", "since": ..., "until": 0,
 *	           "reason": ""}]}
 *
 * "until" 0 is a ban with no end.  In a cluster (docs/cluster.md, "Bans")
 * a ban the hub has seen in the cluster's list also has "shared": EPOCH,
 * the epoch of that list (digits), so that after a restart the hub still
 * tells a ban lifted on another machine meanwhile (shared in the list's
 * epoch, and no longer in it) from one given here while Redis was away,
 * or seen in a list Redis has lost since (not shared in this epoch: to
 * be written to the list); a hub alone never writes it.  A file that
 * does not parse stops the
 * hub at start (a ban list that fails open would let every banned
 * client back in).  Everything here is pure but the file I/O in
 * bans_load() and bans_save(); the hub decides what a match means
 * (identity.c refuses IDENTIFY and NICK, resume.c a RESUME, peers.c a
 * HELLO and enforces a new ban; control.c sets and lifts bans).
 */
#ifndef SB_BAN_H
#define SB_BAN_H

#include <stddef.h>
#include <time.h>

#include "cidr.h"
#include "proto.h"

#define BANS_MAX		4096	/* bans in the list */
#define BANS_FILE_MAX		(4 * 1024 * 1024)	/* bytes of bans.json */
#define BAN_TARGET_MAX		64	/* "address/prefix", or a nick */
#define BAN_DURATION_MAX	(10LL * 366 * 24 * 3600)	/* 10 years */
#define BAN_REASON_MAX		160	/* bytes: ban_describe() fits a C_ERROR */
#define BAN_EPOCH_MAX		20	/* digits of the cluster list's epoch */

enum ban_kind { BAN_NICK, BAN_ADDRESS };

struct ban {
	enum ban_kind	 kind;
	char		 target[BAN_TARGET_MAX + 1];	/* canonical form */
	char		 key[BAN_TARGET_MAX + 1];	/* folded nick */
	struct cidr	 net;		/* addresses: the address, prefix */
	time_t		 since;
	time_t		 until;		/* 0: no end */
	char		 reason[BAN_REASON_MAX + 1];
	char		 shared[BAN_EPOCH_MAX + 1];	/* the epoch of the
					 * cluster's list it was seen in;
					 * "": not seen there */
};

struct bans {
	struct ban	*v;
	size_t		 n, cap;
};

/* What bans_share() did to the list. */
enum ban_change {
	BAN_SAME,		/* it had that ban, shared: nothing changed */
	BAN_MARKED,		/* it had that ban, now marked shared (saved) */
	BAN_NEW,		/* a ban it did not have, or another one */
};

/* What bans_merge() did, each a list of copies (bans_free them). */
struct bans_merged {
	struct bans	 added;		/* new or changed: enforce them */
	struct bans	 lifted;	/* lifted elsewhere, or ended */
	struct bans	 unsent;	/* not shared: to be written */
};

struct json_t;

/* ban.c */
int	 ban_target_parse(struct ban *, const char *, char *, size_t);
int	 ban_json_read(struct ban *, struct json_t *, char *, size_t);
struct json_t *ban_json_write(const struct ban *, int);
int	 ban_duration_parse(const char *, long long *);
void	 ban_until_str(const struct ban *, char *, size_t);
void	 ban_describe(const struct ban *, char *, size_t);
int	 ban_covers_remote(const struct ban *, const char *, time_t);
int	 bans_parse(struct bans *, const char *, size_t, char *, size_t);
int	 bans_load(struct bans *, const char *, char *, size_t);
int	 bans_save(const struct bans *, const char *, char *, size_t);
int	 bans_add(struct bans *, const struct ban *);
int	 bans_remove(struct bans *, const struct ban *, struct ban *);
size_t	 bans_expire(struct bans *, time_t);
int	 bans_share(struct bans *, const struct ban *, const char *);
int	 bans_merge(struct bans *, const struct bans *, const char *,
	    struct bans_merged *);
void	 bans_merged_free(struct bans_merged *);
const struct ban *bans_match_nick(const struct bans *, const char *, time_t);
const struct ban *bans_match_remote(const struct bans *, const char *,
	    time_t);
void	 bans_free(struct bans *);

#endif /* SB_BAN_H */
