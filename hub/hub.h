/* SPDX-License-Identifier: ISC */
/*
 * switchboard-hub: presence, rooms and routing for all handlers.  The
 * hub's one private header: every type, constant and prototype of hub/,
 * the prototypes grouped under the name of their file.
 *
 * The hub never sees a protocol byte.  Each handler process is one peer on
 * the SOCK_SEQPACKET socket and carries one client session; the hub reads
 * normalized messages (common/proto.h), acts on them, and writes
 * normalized events back.  Its files, by concern:
 *
 *   The rules, no I/O (they reach the world through struct hub_ops, so
 *   the unit tests and the fuzz target run them with a recording table):
 *	dispatch.c	hub_dispatch() and the command table (hub_cmds)
 *	peers.c		sessions coming and going, presence, HELLO, QUIT
 *	addrcount.c	chat sessions per client address (max_per_address)
 *	identity.c	IDENTIFY (guests, members, password checks), NICK
 *	resume.c	RESUME after a hub restart, the hold while they come
 *	rooms.c		rooms and memberships, JOIN, PART, NAMES, ROOMS
 *	remote.c	the users of other machines (cluster), told locally
 *	rusers.c	their trees and look-ups (LIST, NAMES, nicks)
 *	replay.c	history replay on JOIN, recording room messages
 *	messages.c	PRIVMSG, PRIVMSG_ALIAS, ROOMMSG, ACTION, announcements
 *	flood.c		the flood bucket (which commands cost: hub_cmds)
 *	send.c		hub_send() and the other ways out to handlers
 *	hub.c		struct hub made and freed, the C_CONFIG datagram
 *	metrics.c	the counters' names, the Prometheus text (metrics.h)
 *   What the rules consult, also without I/O:
 *	nick.c		nick and room name rules (nick.h), nick uniqueness
 *	members.c	the member store (members.h)
 *	ban.c		the ban list (ban.h)
 *	history.c	room history in memory and on disk (history.h)
 *	throttle.c	failed logins per nick and per address
 *   The daemon around them:
 *	main.c		command line, then hubd_run() (server.c)
 *	server.c	the sd-event loop, the handlers' sockets, reloads
 *	control.c	switchboardctl's control socket
 *	authpool.c	the password workers (threads), which also make
 *			the TLS handshake signatures
 *	tlskey.c	the TLS key holder: tls_cert and tls_key, the chain
 *			for --tls handlers, their one signature each
 *	journal.c	events to journald or stderr
 *	cluster.c	many machines: Redis through hiredis (docs/cluster.md)
 *	cluster_msg.c	what travels through Redis, checked (no I/O)
 *
 * docs/hacking.md has the map, and the error convention: a negative
 * errno or a named result, and whoever decides what to do logs, once.
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
#include "metrics.h"
#include "nick.h"
#include "proto.h"
#include "text.h"
#include "tlssign.h"

#define HUB_ROOMS_PER_PEER	32	/* rooms one session may be in */
#define HUB_PEER_QUEUE_MAX	(512 * 1024)	/* bytes waiting for one handler */
#define HUB_SPARE_MAX		256	/* C_BATCH buffers kept for reuse */
#define HUB_TRIM_BYTES		(32 * 1024 * 1024) /* freed heap kept (main.c) */
#define HUB_LINGER_USEC		(5 * 1000000ULL) /* an ended handler's queue */
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
 * One skeleton of an identified session's nick, in the hub's skeleton
 * index: a nick is refused when one of its skeletons is in the index
 * under another session (nick.c, nick_clash).
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

/* The chat sessions from one client address (addrcount.c). */
struct addr_count {
	RB_ENTRY(addr_count)	 entry;
	int			 family;	/* AF_INET or AF_INET6 */
	unsigned char		 addr[16];
	unsigned		 n;
};
RB_HEAD(addr_counts, addr_count);

enum addr_verdict { ADDR_ADMITTED, ADDR_FULL };

/* One handler connection = one client session. */
struct peer {
	struct hub		*hub;
	int			 fd;		/* -1 in unit tests */
	void			*io;		/* server.c's sd_event_source */
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
	int			 counted;	/* a session in the metrics */
	int			 end;		/* enum metrics_end */
	int			 dialect;	/* enum metrics_dialect */
	int			 tls_state;	/* 1 H_TLS_START, 2 signed (tlskey.c) */
	char			 tls_conn[2 * SB_REMOTE_MAX + 24]; /* its TCP connection */
	char			 kill_reason[SB_REASON_MAX + 1]; /* for the quit notice */
	char			 remote[SB_REMOTE_MAX + 1];
	struct addr_count	*addr;		/* counted there, or NULL */
	char			 nick[SB_NICK_MAX + 1];	/* "" until identified */
	char			 key[NICK_KEY_MAX + 1];	/* nick_fold()ed nick */
	struct peer_skel	 skels[2];	/* in hub->skels when named */
	int			 nskels;	/* how many of skels are */
	uint64_t		 alias;		/* seed-003 id, 0 = none */
	int			 resumed;	/* came back from a hub before
					 * this one (RESUME) */
	char			 name[SB_NICK_MAX + 1];	/* member name */
	struct membership_list	 rooms;
	unsigned		 nrooms;
	struct pktq		 outq;		/* datagrams not yet sent */
	size_t			 outq_bytes;
	double			 tokens;	/* flood control bucket */
	uint64_t		 tokens_at;	/* monotonic usec of last refill */
	unsigned		 refusals;	/* consecutive flood refusals */
	unsigned		 mark;		/* told this presence change */
	int			 checking;	/* its password is being checked,
						 * or its nick claimed (cluster) */
	char			 claiming[SB_NICK_MAX + 1];	/* that nick */
	char			 claim_id[24];	/* its member id, "": guest */
	struct pktq		 waiting;	/* its messages, held meanwhile */
	size_t			 waiting_bytes;
	RB_ENTRY(peer)		 by_nick;	/* when identified */
	RB_ENTRY(peer)		 by_session;
	TAILQ_ENTRY(peer)	 reap;		/* when dead */
	int			 deferred;	/* in server.c's flush list */
	int			 blocked;	/* its socket refused the queue's head */
	unsigned		 held;		/* ops->hold: queued, not written */
	TAILQ_ENTRY(peer)	 flush;		/* there */
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
	uint64_t		 msgs;		/* messages to it, ever */
	uint64_t		 msgs_mark;	/* msgs at the last look */
	uint64_t		 recent;	/* msgs in the window */
	RB_ENTRY(room)		 entry;
};
RB_HEAD(rooms, room);

/*
 * An identified user of another machine of the cluster (remote.c), as
 * its hub published it through Redis: in two trees, by node and session
 * and by nick key (for LIST order and nick look-ups).
 */
#define REMOTE_NODE_MAX	32	/* = CLUSTER_NODE_MAX */
struct remote_user {		/* what a hub publishes of one user */
	char			 nick[SB_NICK_MAX + 1];
	char			 name[SB_NICK_MAX + 1];	/* member name, "" */
	char			 rooms[HUB_ROOMS_PER_PEER][SB_ROOM_MAX + 1];
	unsigned		 nrooms;
};
/* One UTS #39 skeleton of a remote user's nick, in hub->rskels. */
struct ruser_skel {
	RB_ENTRY(ruser_skel)	 entry;
	struct ruser		*u;
	char			 skel[NICK_SKEL_MAX + 1];
};

struct ruser {
	RB_ENTRY(ruser)		 by_id;
	RB_ENTRY(ruser)		 by_key;
	struct ruser_skel	 skels[2];	/* in hub->rskels */
	int			 nskels;
	char			 node[REMOTE_NODE_MAX + 1];
	uint64_t		 session;	/* on its node */
	char			 nick[SB_NICK_MAX + 1];
	char			 key[NICK_KEY_MAX + 1];	/* nick_fold()ed */
	char			 name[SB_NICK_MAX + 1];
	char			 rooms[HUB_ROOMS_PER_PEER][SB_ROOM_MAX + 1];
	unsigned		 nrooms;
	int			 stale;	/* not in the snapshot being read */
};
RB_HEAD(rusers_by_id, ruser);
RB_HEAD(rusers_by_key, ruser);
RB_HEAD(ruser_skels, ruser_skel);

/* What a remote user did (remote_set), and what local users did (ops). */
enum remote_ev {
	REMOTE_SYNC,		/* from a snapshot: told as a login if new */
	REMOTE_LOGIN,
	REMOTE_JOIN,		/* a: the room */
	REMOTE_PART,		/* a: the room, b: the reason */
	REMOTE_NICK,		/* a: the old nick */
	REMOTE_QUIT,		/* a: the reason (user_event only) */
};

/* A message held while sessions resume after a restart (dispatch.c). */
struct held {
	TAILQ_ENTRY(held)	 entry;
	uint64_t		 session;
	size_t			 len;
	unsigned char		 buf[];
};
TAILQ_HEAD(heldq, held);

/* What the rules need from the outside world (server.c, or a test). */
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
	/*
	 * The hub process's own numbers for the metrics (CPU, memory,
	 * descriptors).  Returns 0 or a negative errno; NULL: none.
	 */
	int	(*proc_stats)(struct hub *, struct metrics_proc *);
	/*
	 * A burst that does not come from a handler (what one read of
	 * Redis's socket brought, cluster.c): on, sends are held as in a
	 * handler's burst; off, each handler's are written coalesced and
	 * the sessions that ended meanwhile freed.  NULL: none (tests).
	 */
	void	(*burst)(struct hub *, int);
	/*
	 * The cluster (cluster.c; every one NULL on one machine, the
	 * default).  room_publish: send a room message to Redis; 0: it
	 * comes back to every member from there (cluster_arrived), 1:
	 * Redis is away, it waits in the outbox and the caller delivers
	 * it to the local members now, -ENOBUFS: the outbox is full.
	 * room_follow: the room's first local member came (on 1) or its
	 * last went (0).  room_replay: 1 when the joiner's replay waits
	 * for the room's history from Redis (cluster.c calls replay_join
	 * later, and holds the joiner's output until then: ops->hold), 0
	 * to replay now.  It is asked before the joiner is answered.
	 */
	int	(*room_publish)(struct hub *, const struct room *, const char *,
		    const char *, const char *, int64_t);
	void	(*room_follow)(struct hub *, const struct room *, int);
	/*
	 * user_event: an identified local session changed (logged in,
	 * joined, left, changed its nick, quit), for the other machines.
	 * private_send: a private message to a remote user; 0, or
	 * -ENOBUFS (the outbox is full: `busy`).
	 */
	void	(*user_event)(struct hub *, const struct peer *,
		    enum remote_ev, const char *, const char *);
	int	(*private_send)(struct hub *, const struct peer *,
		    const struct ruser *, const char *, const char *);
	/*
	 * remote_kick: end remote user `u` on its machine, kind "kick" or
	 * "ban", with the text its client is told; 0, -ENOTCONN (no
	 * cluster) or -ENOBUFS (the outbox is full).
	 */
	int	(*remote_kick)(struct hub *, const struct ruser *,
		    const char *, const char *);
	/*
	 * nick_claim: claim the nick with comparison key `key` for `p` in
	 * the whole cluster.  1: asked, hub_nick_claimed() answers later;
	 * 0: Redis is away, this hub decides alone.
	 */
	int	(*nick_claim)(struct hub *, const struct peer *, const char *);
	int	(*room_replay)(struct hub *, struct peer *, const struct room *,
		    long long);
	/*
	 * hold: on, what is sent to `p` is queued and not written (its
	 * JOIN answer waits for the room's first fetch: cluster.c); off,
	 * once every hold is let go, it is written.  Counted, so holds
	 * nest.  NULL: none (tests).
	 */
	void	(*hold)(struct hub *, struct peer *, int);
	/*
	 * ban_share: ban `b` was given here (1) or lifted here (0): for the
	 * cluster's list, which every machine enforces (cluster.c).
	 */
	void	(*ban_share)(struct hub *, const struct ban *, int);
};

/* An IDENTIFY whose password is being checked (identity.c). */
struct login_check {
	uint64_t		 session;	/* 0: free */
	unsigned long		 member;	/* id, 0 for an unknown login */
	uint64_t		 alias;		/* seed-003 id asked for */
	char			 login[SB_NICK_MAX + 1];	/* as given */
	char			 nick_key[THROTTLE_KEY_MAX + 1]; /* "": none */
	char			 addr_key[THROTTLE_KEY_MAX + 1];
};

struct tlskey;
struct authpool;

struct hub {
	struct sb_config	 cfg;
	struct tlskey		*tls;		/* tls_cert and tls_key, or NULL */
	const struct hub_ops	*ops;
	void			*ctx;		/* server.c's state (ops') */
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
	struct addr_counts	 per_address;	/* chat sessions per address */
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
	uint64_t		 packed;	/* datagrams encoded (send.c) */
	struct pktq		 spare;		/* C_BATCH buffers to reuse */
	unsigned		 nspare;	/* how many (HUB_SPARE_MAX) */
	struct hub_metrics	 metrics;	/* metrics.h */
	struct cluster		*cluster;	/* cluster.c; NULL: one machine */
	char			 node[REMOTE_NODE_MAX + 1];	/* cluster_node */
	struct rusers_by_id	 rusers;	/* other machines' users */
	struct rusers_by_key	 rkeys;
	struct ruser_skels	 rskels;	/* their nicks' skeletons */
	unsigned		 rnamed;	/* how many */
};

/*
 * dispatch.c: a command from a handler, as its row in the command table
 * (hub_cmds, where the fields and flags are explained) runs it.
 */
struct cmd_args {		/* what a command's check found, for its run */
	struct peer		*to;	/* PRIVMSG_ALIAS: the addressee */
	struct room		*room;	/* ROOMMSG: the room */
	long long		 num;	/* IDENTIFY: the alias, 0 for none */
	struct nick_id		 nid;	/* NICK: the new nick's ids */
	const struct hub_cmd	*table;	/* the command table (STATUS tells
					 * of it: hub_metrics_text) */
};

/* What a command's check decided; a negative errno: a broken contract. */
enum cmd_verdict {
	CMD_DONE,		/* answered (an error): stop, nothing charged */
	CMD_GO,			/* go on, metered if the row says so */
	CMD_GO_FREE,		/* go on without a charge */
};

#define CMD_FIRST	0x01	/* may come before HELLO */
#define CMD_IDENTIFIED	0x02	/* the sender must be identified */
#define CMD_METERED	0x04	/* costs a flood token past its check */
#define CMD_UNHELD	0x08	/* never held during the resume hold */
#define CMD_NOWAIT	0x10	/* never waits behind a password check */
#define CMD_ROUTES	0x20	/* routes a message: timed (metrics) */

/* A command's check or run: returns as hub_cmds explains. */
typedef int cmd_fn(struct hub *, struct peer *, const struct sb_msg *,
    struct cmd_args *);

struct hub_cmd {
	cmd_fn			*check;	/* NULL: nothing to check */
	cmd_fn			*run;
	unsigned		 flags;	/* CMD_* */
};

int		 hub_dispatch(struct hub *, struct peer *, const struct sb_msg *);
const struct hub_cmd *hub_cmd_table(void);
void		 hub_password_checked(struct hub *, uint64_t, int);
/* The cluster's answer to a nick claim (ops->nick_claim). */
enum claim_answer {
	CLAIM_HELD,		/* the nick is this session's */
	CLAIM_TAKEN,		/* another session's, here or elsewhere */
	CLAIM_REFUSED		/* Redis answered with an error: busy */
};

void		 hub_nick_claimed(struct hub *, uint64_t, enum claim_answer);
void		 hub_hold_release(struct hub *);

/* The trees, each generated in the file named; others walk them too. */
RB_PROTOTYPE(peer_sessions, peer, by_session, peer_session_cmp)	/* peers.c */
RB_PROTOTYPE(peer_nicks, peer, by_nick, peer_nick_cmp)		/* nick.c */
RB_PROTOTYPE(peer_skels, peer_skel, entry, peer_skel_cmp)	/* nick.c */
RB_PROTOTYPE(rooms, room, entry, room_cmp)			/* rooms.c */
RB_PROTOTYPE(addr_counts, addr_count, entry, addr_count_cmp)	/* addrcount.c */

/* hub.c */
void		 hub_init(struct hub *, const struct sb_config *,
		    const struct hub_ops *, void *);
void		 hub_free(struct hub *);
const struct sb_packet *hub_config_packet(struct hub *);
void		 hub_config_changed(struct hub *);

/* addrcount.c */
int		 addrcount_take(struct hub *, struct peer *, unsigned *);
void		 addrcount_release(struct hub *, struct peer *);

/* peers.c */
struct peer	*hub_peer_new(struct hub *, int);
void		 hub_peer_gone(struct hub *, struct peer *, const char *);
void		 hub_peer_free(struct hub *, struct peer *);
void		 hub_peer_kill(struct hub *, struct peer *, const char *,
		    const char *);
void		 hub_kick_remote(struct hub *, struct peer *, int,
		    const char *, const char *);
void		 hub_peer_unqueued(struct hub *, struct peer *, int);
void		 hub_peer_drop(struct hub *, struct peer *);
struct peer	*hub_find_session(struct hub *, uint64_t);
unsigned	 hub_ban_enforce(struct hub *, const struct ban *);
struct buf;
int		 hub_metrics_text(struct hub *, const struct hub_cmd *,
		    struct buf *);
void		 presence_tell(struct hub *, struct peer *, int, enum sb_type,
		    const char *, const char *);
cmd_fn		 cmd_hello, cmd_event, cmd_status, cmd_list, cmd_ping, cmd_quit;
cmd_fn		 cmd_dialect;

/* identity.c */
struct peer	*login_checked(struct hub *, uint64_t, int);
struct peer	*nick_claimed(struct hub *, uint64_t, enum claim_answer);
cmd_fn		 cmd_identify_check, cmd_identify, cmd_nick_check, cmd_nick;

/* resume.c */
cmd_fn		 cmd_resume;

/* rooms.c */
struct room	*hub_find_room(struct hub *, const char *);
int		 hub_rooms_check(const struct sb_config *, char *, size_t);
int		 hub_rooms_configure(struct hub *);
void		 hub_history_expire(struct hub *);
int		 room_quiet(const struct hub *, const struct room *);
struct membership *room_membership(struct peer *, struct room *);
struct room	*room_create(struct hub *, const char *, int);
void		 room_leave(struct hub *, struct membership *, const char *,
		    int);
int		 room_enter_quietly(struct peer *, struct room *);
void		 rooms_free(struct hub *);
size_t		 rooms_busiest(struct hub *, uint64_t, struct room **, size_t,
		    double *);
typedef void	 rooms_each_fn(void *, const char *, unsigned, int);
int		 rooms_each(struct hub *, rooms_each_fn *, void *);
cmd_fn		 cmd_join, cmd_part, cmd_names, cmd_rooms;

/* replay.c: history replay */
void		 replay_join(struct hub *, struct peer *, const struct room *,
		    long long);
uint64_t	 replay_record(struct hub *, const struct room *, const char *,
		    const char *, const char *);

/* messages.c */
void		 hub_announce(struct hub *, const char *);
struct cluster_msg;
void		 cluster_arrived(struct hub *, const struct cluster_msg *, int);
void		 cluster_private(struct hub *, struct peer *, const char *,
		    const char *, const char *, int64_t);
void		 cluster_restarted(struct hub *, const char *, uint64_t,
		    uint64_t);
cmd_fn		 cmd_privmsg, cmd_privmsg_alias_check, cmd_privmsg_alias;
cmd_fn		 cmd_roommsg_check, cmd_roommsg, cmd_action_check, cmd_action;

/* rusers.c: the users of other machines (cluster), looked up */
struct rroom {			/* a room as its remote members make it */
	char			 key[SB_ROOM_MAX + 1];	/* ascii_fold()ed */
	char			 name[SB_ROOM_MAX + 1];	/* one node's spelling */
	unsigned		 members;
};
RB_PROTOTYPE(rusers_by_id, ruser, by_id, ruser_id_cmp)
RB_PROTOTYPE(rusers_by_key, ruser, by_key, ruser_key_cmp)
RB_PROTOTYPE(ruser_skels, ruser_skel, entry, ruser_skel_cmp)
void		 remote_index(struct hub *, struct ruser *,
		    const struct nick_id *);
void		 remote_unindex(struct hub *, struct ruser *);
struct ruser	*remote_lookalike(struct hub *, const struct nick_id *);
struct ruser	*remote_find(struct hub *, const char *, uint64_t);
struct ruser	*remote_find_key(struct hub *, const char *);
struct ruser	*remote_find_nick(struct hub *, const char *);
int		 remote_in_room(const struct ruser *, const char *);
unsigned	 remote_room_count(struct hub *, const char *);
const char	*remote_room_name(struct hub *, const char *);
ssize_t		 remote_rooms(struct hub *, struct rroom **);

/* remote.c: the users of other machines, what the local users are told */
int		 remote_set(struct hub *, const char *, uint64_t,
		    const struct remote_user *, enum remote_ev, const char *,
		    const char *);
void		 remote_quit(struct hub *, const char *, uint64_t,
		    const char *);
void		 remote_node_mark(struct hub *, const char *);
void		 remote_node_sweep(struct hub *, const char *, const char *);
void		 remote_free(struct hub *);

/* metrics.c (the counters themselves: struct hub_metrics, metrics.h) */
enum metrics_end metrics_end_reason(const char *);
void		 metrics_handshake_failed(struct hub *, const char *);
enum metrics_dialect metrics_dialect_parse(const char *);
void		 metrics_error(struct hub *, const char *);
int		 metrics_error_known(const char *);
void		 metrics_queued(struct hub *, size_t);
void		 metrics_routed_in(struct hub *, uint64_t);
size_t		 metrics_chunk(const char *, size_t, size_t);
int		 metrics_render(struct hub *, const struct metrics_view *,
		    struct buf *);

/* flood.c */
int		 flood_ok(struct hub *, struct peer *);

/*
 * send.c: a list sent in chunks of C_NICKLIST (or C_ROOMLIST) datagrams,
 * each as full as the contract allows, "more" = 1 on all but the last.
 */
struct chunker {
	struct hub	*h;
	struct peer	*p;
	enum sb_type	 type;
	const char	*room;		/* C_NICKLIST's room ("": every nick) */
	char		 buf[SB_LIST_MAX + 1];
	size_t		 len;
};

int		 hub_send(struct hub *, struct peer *, enum sb_type, ...)
		    __attribute__((sentinel));
int		 hub_pack(struct hub *, const struct peer *, struct sb_packet *,
		    enum sb_type, ...) __attribute__((sentinel));
int		 hub_send_packet(struct hub *, struct peer *, struct sb_packet *);
int		 hub_queue(struct hub *, struct peer *, const struct sb_packet *);
void		 hub_pkt_free(struct hub *, struct pkt *);
void		 hub_spare_free(struct hub *);
void		 pktq_free(struct pktq *);
int		 send_error(struct hub *, struct peer *, const char *,
		    const char *);
int		 list_add(char *, size_t, size_t *, const char *);
void		 chunk_add(struct chunker *, const char *);
void		 chunk_flush(struct chunker *, int);

/*
 * nick.c: nick uniqueness among the sessions (the rules are in nick.h).
 * No two identified sessions hold the same nick, or nicks that look
 * alike (a UTS #39 skeleton in common).
 */
enum nick_clash {
	NICK_FREE,		/* no other session's nick is or looks like it */
	NICK_TAKEN,		/* another session holds this very nick */
	NICK_LOOKALIKE,		/* another session's nick looks like it */
};
struct peer	*hub_find_nick(struct hub *, const char *);
struct peer	*hub_find_alias(struct hub *, uint64_t);
enum nick_clash	 nick_clash(struct hub *, const struct peer *,
		    const struct nick_id *, struct peer **);
void		 nick_claim(struct hub *, struct peer *, const char *,
		    const struct nick_id *);
void		 nick_release(struct hub *, struct peer *);

/* throttle.c */
struct throttle	*throttle_new(void);
struct throttle	*throttle_free(struct throttle *);
unsigned	 throttle_wait(struct throttle *, const char *, uint64_t);
void		 throttle_begin(struct throttle *, const char *, uint64_t);
unsigned	 throttle_end(struct throttle *, const char *, uint64_t, int);
void		 throttle_remote_key(char *, size_t, const char *);

/*
 * cluster_msg.c: a room message as it travels through Redis, checked
 * before it is believed (docs/cluster.md); cluster.c: the connection to
 * Redis on the event loop, and what comes from it to the rules through
 * messages.c's cluster_arrived() and cluster_restarted().
 */
#define CLUSTER_NODE_MAX	32	/* bytes of a node name */
#define CLUSTER_EPOCH_MAX	20	/* digits of a room's epoch */
#define CLUSTER_ID_MAX		40	/* bytes of a message's id */
#define CLUSTER_BODY_MAX	(16 * 1024)	/* bytes of a message's JSON */
#define CLUSTER_MSG_MAX		(CLUSTER_BODY_MAX + 48)	/* and its stamp */
#define CLUSTER_TIME_MAX	253402300799LL	/* 9999-12-31 */
#define CLUSTER_OUTBOX_MAX	1024	/* messages waiting for Redis */
#define CLUSTER_OUTBOX_BYTES	(1024 * 1024)	/* and their bytes */
#define CLUSTER_BAN_FIELD_MAX	(5 + BAN_TARGET_MAX)	/* "nick:KEY" */
#define CLUSTER_BAN_MAX		1024	/* bytes of a ban's value */

struct cluster_msg {
	char		 epoch[CLUSTER_EPOCH_MAX + 1];
	uint64_t	 seq;		/* the room's number, from 1 */
	char		 kind[HISTORY_KIND_MAX + 1];	/* room, action */
	char		 from[SB_NICK_MAX + 1];
	char		 room[SB_ROOM_MAX + 1];
	char		 text[SB_TEXT_MAX + 1];
	int64_t		 time;		/* unix seconds */
	char		 node[CLUSTER_NODE_MAX + 1];	/* the sender's hub */
	char		 id[CLUSTER_ID_MAX + 1];	/* its name there */
	int		 pre;		/* delivered at its node already */
	uint64_t	 fetches;	/* cluster_order.c: the room's
					 * fetches begun when it came */
};

/* A presence event of another machine (sb:pres). */
struct cluster_pres {
	uint64_t		 counter;	/* its node's, from 1; 0: down */
	int			 down;		/* the node is gone (reaped) */
	enum remote_ev		 ev;		/* REMOTE_SYNC: "reset" */
	char			 node[CLUSTER_NODE_MAX + 1];
	uint64_t		 session;
	struct remote_user	 user;		/* but for quit, reset, down */
	char			 a[SB_REASON_MAX + 1];	/* room, old nick, reason */
	char			 b[SB_REASON_MAX + 1];	/* a part's reason */
};

/* A private message from another machine (sb:to:NODE). */
struct cluster_pm {
	char			 kind[HISTORY_KIND_MAX + 1];
	char			 from[SB_NICK_MAX + 1];
	char			 to[SB_NICK_MAX + 1];
	uint64_t		 session;	/* the addressee's, here */
	char			 text[SB_TEXT_MAX + 1];
	int64_t			 time;
};

int		 cluster_node_ok(const char *, size_t);
int		 cluster_record_decode(const char *, size_t,
		    struct remote_user *);
const char	*cluster_pres_name(enum remote_ev);
int		 cluster_pres_decode(const char *, size_t, struct cluster_pres *);
int		 cluster_pm_decode(const char *, size_t, struct cluster_pm *);
int		 cluster_body_decode(const char *, size_t, struct cluster_msg *);
int		 cluster_msg_decode(const char *, size_t, struct cluster_msg *);
int		 cluster_entry_id(const char *, size_t, uint64_t *);
int		 cluster_inbox_entry(const char *, size_t, uint64_t *, size_t *);
int		 cluster_inbox_place(const char *, size_t, uint64_t *, char *);
int		 cluster_body_encode(const struct cluster_msg *, char *, size_t);
int		 cluster_addr_parse(const char *, char *, size_t, int *, char *,
		    size_t);
int		 cluster_password_parse(const char *, char *, size_t, char *,
		    size_t);
int		 cluster_ban_field(const struct ban *, char *, size_t);
int		 cluster_ban_encode(const struct ban *, char *, size_t);
int		 cluster_ban_decode(const char *, size_t, const char *, size_t,
		    struct ban *);
int		 cluster_members_decode(const char *, size_t, const char *,
		    size_t, size_t, uint64_t *);

/*
 * cluster_order.c: a followed room's messages in the order of their
 * numbers, each once; what it asks of cluster.c, through corder_ops.
 */
#define CLUSTER_PENDING_MAX	256	/* messages waiting for a gap fill */

struct corder {
	char			 epoch[CLUSTER_EPOCH_MAX + 1];	/* "": none */
	uint64_t		 next;	/* to deliver next; 0: not fetched */
	int			 fetching;	/* a fetch in flight */
	int			 again;	/* fetch again when it is answered */
	int			 overflow;	/* pending dropped some */
	struct cluster_msg	*pending[CLUSTER_PENDING_MAX];	/* by seq */
	unsigned		 npending;
	uint64_t		 nfetch;	/* fetches begun (corder_fetching) */
	uint64_t		 repeats, gaps;
};

struct corder_ops {
	/* deliver m, the room's next message */
	void	(*deliver)(void *, const struct cluster_msg *);
	/* the messages after `since` and before `first` are gone; `first`
	 * 1: the history restarted (cluster_restarted()) */
	void	(*gap)(void *, uint64_t since, uint64_t first);
	/* the epoch was `old`, is `now` ("": none): for the log */
	void	(*restarted)(void *, const char *old, const char *now);
	/* fetch from the room's stream, from `next` */
	void	(*fetch)(void *);
	/* m is numbered ahead of what the stream holds: dropped, for the
	 * log */
	void	(*ahead)(void *, const struct cluster_msg *m);
};

void		 corder_clear(struct corder *);
void		 corder_take(struct corder *, struct cluster_msg *,
		    const struct corder_ops *, void *);
void		 corder_drain(struct corder *, const struct corder_ops *,
		    void *);
int		 corder_epoch(struct corder *, const char *,
		    const struct corder_ops *, void *);
void		 corder_fill(struct corder *, const struct cluster_msg *,
		    const struct corder_ops *, void *);
int		 corder_filled(struct corder *, uint64_t, int,
		    const struct corder_ops *, void *);
void		 corder_settle(struct corder *, int, const struct corder_ops *,
		    void *);
void		 corder_fetching(struct corder *);
void		 corder_skip(struct corder *, uint64_t,
		    const struct corder_ops *, void *);

/* cluster.c: the daemon's part */
struct cluster;
struct sd_event;
int		 cluster_start(struct hub *, struct sd_event *);
void		 cluster_stop(struct hub *);
int		 cluster_room_publish(struct hub *, const struct room *,
		    const char *, const char *, const char *, int64_t);
void		 cluster_room_follow(struct hub *, const struct room *, int);
int		 cluster_room_replay(struct hub *, struct peer *,
		    const struct room *, long long);
int		 cluster_nick_claim(struct hub *, const struct peer *,
		    const char *);
void		 cluster_user_event(struct hub *, const struct peer *,
		    enum remote_ev, const char *, const char *);
int		 cluster_private_send(struct hub *, const struct peer *,
		    const struct ruser *, const char *, const char *);
int		 cluster_remote_kick(struct hub *, const struct ruser *,
		    const char *, const char *);
void		 cluster_ban_share(struct hub *, const struct ban *, int);
void		 cluster_members_reloaded(struct hub *);

/* server.c */
int		 hubd_run(const char *, int, const char *, const char *);

/*
 * control.c: switchboardctl's socket.  The daemon's reload reaches it as
 * a callback: re-read the config, 0 or a negative errno with the reason
 * in the buffer.
 */
struct sd_event;
typedef int control_reload_fn(struct hub *, char *, size_t);
int		 control_listen(struct hub *, struct sd_event *, int,
		    control_reload_fn *);

/* tlskey.c: the TLS key holder */
/* A signature to make (tlskey_message), for the workers (authpool_sign). */
struct tls_sign_job {
	struct tlskey		*key;
	uint64_t		 session;
	unsigned		 scheme;
	enum tls_sign_kind	 kind;
	size_t			 len;
	unsigned char		 in[TLS_SIGN_IN_MAX];
};
int		 tlskey_load(const char *, const char *, struct tlskey **,
		    char *, size_t);
struct tlskey	*tlskey_ref(struct tlskey *);
void		 tlskey_unref(struct tlskey *);
int		 tlskey_sign(struct tlskey *, unsigned, enum tls_sign_kind,
		    const unsigned char *, size_t, unsigned char *, size_t);
int		 tlskey_message(struct hub *, struct peer *,
		    const struct sb_msg *, int, struct tls_sign_job *);
void		 tlskey_refuse(struct hub *, struct peer *, const char *);
void		 tlskey_signed(struct hub *, uint64_t, const unsigned char *,
		    int);

/* authpool.c: the password workers (threads) */
struct authpool;
int		 authpool_new(struct authpool **);
int		 authpool_fd(const struct authpool *);
int		 authpool_submit(struct authpool *, uint64_t, const char *,
		    const char *);
int		 authpool_sign(struct authpool *, const struct tls_sign_job *);
void		 authpool_collect(struct authpool *, struct hub *);
struct authpool	*authpool_free(struct authpool *);

/* journal.c */
void		 hub_log_open(int);
size_t		 hub_log_line(char *, size_t, enum sb_event,
		    const struct sb_log_fields *, const char *, const char *);
void		 hub_log_peer(enum sb_event, const struct peer *,
		    const struct sb_log_fields *, const char *, ...)
		    __attribute__((format(printf, 4, 5)));

#endif /* SB_HUB_H */
