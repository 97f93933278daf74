/* SPDX-License-Identifier: ISC */
/*
 * switchboard-hub: presence, rooms and routing for all handlers.
 *
 * The hub never sees a protocol byte.  Each handler process is one peer on
 * the SOCK_SEQPACKET socket and carries one client session; the hub reads
 * normalized messages (common/proto.h), routes them, and writes normalized
 * events back.  route.c holds the rules and does no I/O: it hands packets
 * to hub->ops, so unit tests run the rules with a recording ops table.
 */
#ifndef SB_HUB_H
#define SB_HUB_H

#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include <bsd/sys/cdefs.h>
#include <bsd/sys/queue.h>
#include <bsd/sys/tree.h>

#include "ban.h"
#include "config.h"
#include "history.h"
#include "log.h"
#include "members.h"
#include "proto.h"
#include "text.h"

#define HUB_ROOMS_PER_PEER	32	/* rooms one session may be in */
#define HUB_PEER_QUEUE_MAX	(512 * 1024)	/* bytes waiting for one handler */
#define HUB_RESUME_QUIET_USEC	(300 * 1000ULL)	/* hold until resumes stop */
#define HUB_RESUME_HOLD_USEC	(3 * 1000000ULL) /* hold at most this long */
#define HUB_HOLD_MAX		(4 * 1024 * 1024) /* bytes of held messages */
#define HUB_CHECKS_MAX		64	/* password checks queued or running */
#define HUB_WAITING_MAX		(64 * 1024)	/* bytes held for one session */

/* Failed logins (throttle.c): per member nick and per client address. */
#define THROTTLE_FREE		5	/* failures before any delay */
#define THROTTLE_DELAY_MAX	300	/* seconds: the longest delay */
#define THROTTLE_FORGET		3600	/* seconds after the last failure */
#define THROTTLE_SLOTS		4096	/* keys remembered, per table */
#define THROTTLE_WAYS		8	/* slots a key may take */
#define THROTTLE_KEY_MAX	64	/* bytes of a key (nick, address) */

struct hub;
struct room;

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

/*
 * One skeleton of an identified session's nick, in the hub's skeleton
 * index: a nick is refused when one of its skeletons is in the index
 * under another session (route.c, nick_confusable).
 */
struct peer_skel {
	RB_ENTRY(peer_skel)	 entry;
	struct peer		*peer;
	char			 skel[NICK_SKEL_MAX + 1];
};

struct pkt {
	TAILQ_ENTRY(pkt) entry;
	size_t		 len;
	unsigned char	 buf[];		/* one datagram */
};
TAILQ_HEAD(pktq, pkt);

struct membership {
	struct room		*room;
	struct peer		*peer;
	TAILQ_ENTRY(membership)	 in_room;	/* room->members */
	TAILQ_ENTRY(membership)	 in_peer;	/* peer->rooms */
};
TAILQ_HEAD(membership_list, membership);

/* One handler connection = one client session. */
struct peer {
	struct hub		*hub;
	int			 fd;		/* -1 in unit tests */
	void			*io;		/* sd_event_source, owned by main.c */
	uint64_t		 session;
	uint64_t		 seq;		/* last seq delivered to this peer */
	pid_t			 pid;		/* from SO_PEERCRED */
	uid_t			 uid;
	int			 hello;		/* H_HELLO seen */
	int			 transport;	/* enum sb_transport */
	int			 chat;		/* counts as a client */
	int			 dead;		/* to be closed after this turn */
	int			 closing;	/* hub_peer_kill() sends C_CLOSE */
	int			 gone;		/* hub_peer_gone() has run */
	int			 write_broken;	/* it closed: read what is left */
	char			 kill_reason[SB_REASON_MAX + 1]; /* for the quit notice */
	char			 remote[SB_REMOTE_MAX + 1];
	char			 nick[SB_NICK_MAX + 1];	/* "" until identified */
	char			 key[NICK_KEY_MAX + 1];	/* nick_fold()ed nick */
	struct peer_skel	 skels[2];	/* in hub->skels when named */
	int			 nskels;	/* how many of skels are */
	uint64_t		 alias;		/* seed-003 id, 0 = none */
	char			 name[SB_NICK_MAX + 1];	/* member name */
	struct membership_list	 rooms;
	unsigned		 nrooms;
	struct pktq		 outq;		/* datagrams not yet sent */
	size_t			 outq_bytes;
	double			 tokens;	/* flood control bucket */
	uint64_t		 tokens_at;	/* monotonic usec of last refill */
	unsigned		 refusals;	/* consecutive flood refusals */
	unsigned		 mark;		/* told this presence change */
	int			 checking;	/* its password is being checked */
	struct pktq		 waiting;	/* its messages, held meanwhile */
	size_t			 waiting_bytes;
	RB_ENTRY(peer)		 by_nick;	/* when identified */
	RB_ENTRY(peer)		 by_session;
	TAILQ_ENTRY(peer)	 reap;		/* when dead */
};
RB_HEAD(peer_nicks, peer);
RB_HEAD(peer_sessions, peer);
RB_HEAD(peer_skels, peer_skel);

struct room {
	char			 name[SB_ROOM_MAX + 1];
	char			 key[SB_ROOM_MAX + 1];	/* ascii_fold()ed */
	int			 permanent;	/* from the config */
	unsigned		 nmembers;
	struct membership_list	 members;
	RB_ENTRY(room)		 entry;
};
RB_HEAD(rooms, room);

/* What route.c needs from the outside world. */
/* A message held while sessions resume after a restart. */
struct held {
	TAILQ_ENTRY(held)	 entry;
	uint64_t		 session;
	size_t			 len;
	unsigned char		 buf[];
};
TAILQ_HEAD(heldq, held);

struct hub_ops {
	/* Queue a datagram for a peer; <0 when it cannot (peer is killed). */
	int	(*send)(struct hub *, struct peer *, const struct sb_packet *);
	/* Monotonic time in microseconds (for flood control). */
	uint64_t (*now_usec)(struct hub *);
	/* Call hub_hold_release() at this monotonic time (0: never). */
	void	(*arm)(struct hub *, uint64_t);
	/*
	 * Check `password` against the crypt(3) hash `setting` away from
	 * the event loop, and call hub_password_checked() with the answer
	 * and `session` later (never from inside this call).  Returns 0, or
	 * a negative errno when it cannot take the check now.  NULL: the
	 * hub checks in place (members_verify), as the unit tests may.
	 */
	int	(*check_password)(struct hub *, uint64_t, const char *,
		    const char *);
};

/* An IDENTIFY whose password is being checked (route.c). */
struct login_check {
	uint64_t		 session;	/* 0: free */
	unsigned long		 member;	/* id, 0 for an unknown login */
	uint64_t		 alias;		/* seed-003 id asked for */
	char			 login[SB_NICK_MAX + 1];	/* as given */
	char			 nick_key[THROTTLE_KEY_MAX + 1]; /* "": none */
	char			 addr_key[THROTTLE_KEY_MAX + 1];
};

struct hub {
	struct sb_config	 cfg;
	const struct hub_ops	*ops;
	void			*ctx;		/* main.c's state */
	uint32_t		 epoch;		/* this incarnation */
	uint64_t		 next_session;
	time_t			 created;
	unsigned		 clients;	/* chat sessions now */
	unsigned		 peak;		/* most chat sessions at once */
	unsigned		 named;		/* identified sessions now */
	unsigned		 mark;		/* presence change being told */
	unsigned		 nrooms;
	uid_t			 handler_uid;	/* (uid_t)-1 if unknown */
	gid_t			 handler_gid;	/* (gid_t)-1 if unknown */
	struct peer_nicks	 nicks;
	struct peer_skels	 skels;		/* skeletons of the nicks */
	struct peer_sessions	 sessions;
	struct rooms		 rooms;
	TAILQ_HEAD(, peer)	 reaplist;
	struct members		*members;	/* NULL: none loaded */
	struct bans		 bans;		/* ban.h */
	char			 bans_path[512];	/* "": not saved */
	struct history		*history;	/* NULL: no history */
	int			 history_failing; /* last write failed (logged) */
	struct heldq		 held;		/* messages held during resumes */
	size_t			 held_bytes;
	uint64_t		 hold_until;	/* 0: not holding */
	uint64_t		 hold_started;
	struct login_check	 checks[HUB_CHECKS_MAX];
	unsigned		 nchecks;	/* slots in use */
	struct throttle		*fail_nicks;	/* failed logins per nick */
	struct throttle		*fail_addrs;	/* and per address */
	int			 cfg_packed;	/* 1: cfg_pkt is cfg; -1: cannot */
	struct sb_packet	 cfg_pkt;	/* C_CONFIG for new handlers */
};

/* route.c: the trees are walked with RB_FOREACH by other hub files too */
RB_PROTOTYPE(peer_nicks, peer, by_nick, peer_nick_cmp)
RB_PROTOTYPE(peer_sessions, peer, by_session, peer_session_cmp)
RB_PROTOTYPE(peer_skels, peer_skel, entry, peer_skel_cmp)
RB_PROTOTYPE(rooms, room, entry, room_cmp)

void		 hub_init(struct hub *, const struct sb_config *,
		    const struct hub_ops *, void *);
void		 hub_free(struct hub *);
const struct sb_packet *hub_config_packet(struct hub *);
struct peer	*hub_peer_new(struct hub *, int);
void		 hub_peer_gone(struct hub *, struct peer *, const char *);
void		 hub_peer_free(struct hub *, struct peer *);
void		 hub_peer_kill(struct hub *, struct peer *, const char *,
		    const char *);
void		 hub_peer_drop(struct hub *, struct peer *);
int		 hub_dispatch(struct hub *, struct peer *, const struct sb_msg *);
void		 hub_password_checked(struct hub *, uint64_t, int);
struct peer	*hub_find_nick(struct hub *, const char *);
struct room	*hub_find_room(struct hub *, const char *);
int		 hub_send(struct hub *, struct peer *, enum sb_type, ...)
		    __attribute__((sentinel));
void		 hub_announce(struct hub *, const char *);
void		 hub_config_changed(struct hub *);
void		 hub_hold_release(struct hub *);
unsigned	 hub_ban_enforce(struct hub *, const struct ban *);
int		 hub_rooms_check(const struct sb_config *, char *, size_t);
int		 hub_rooms_configure(struct hub *);
void		 hub_history_expire(struct hub *);

/* server.c */
int		 hub_reload(struct hub *, char *, size_t);
int		 hubd_run(const char *, int, const char *, const char *);

/* control.c: switchboardctl's socket */
struct sd_event;
int		 control_listen(struct hub *, struct sd_event *, int);

/* throttle.c */
struct throttle	*throttle_new(void);
struct throttle	*throttle_free(struct throttle *);
unsigned	 throttle_wait(struct throttle *, const char *, uint64_t);
void		 throttle_begin(struct throttle *, const char *, uint64_t);
unsigned	 throttle_end(struct throttle *, const char *, uint64_t, int);
void		 throttle_remote_key(char *, size_t, const char *);

/* authpool.c: the password workers (threads) */
struct authpool;
int		 authpool_new(struct authpool **);
int		 authpool_fd(const struct authpool *);
int		 authpool_submit(struct authpool *, uint64_t, const char *,
		    const char *);
void		 authpool_collect(struct authpool *, struct hub *);
struct authpool	*authpool_free(struct authpool *);

/* nick.c */
int		 nick_check(const char *, const char **);
int		 nick_identify(const char *, struct nick_id *, const char **);
int		 room_name_check(const char *, const char **);
/* Nicks fold by RFC 8266, room names by ascii_fold() (common/text.h). */
int		 nick_fold(char *, size_t, const char *);

/* journal.c */
void		 hub_log_open(int);
size_t		 hub_log_line(char *, size_t, enum sb_event,
		    const struct sb_log_fields *, const char *, const char *);
void		 hub_log_peer(enum sb_event, const struct peer *,
		    const struct sb_log_fields *, const char *, ...)
		    __attribute__((format(printf, 4, 5)));

#endif /* SB_HUB_H */
