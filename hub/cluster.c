/* SPDX-License-Identifier: ISC */
/*
 * The cluster: many machines, one chat, through one Redis (docs/cluster.md
 * has the design, the keys and channels, and the guarantees).  Only with
 * cluster_redis set; without it the hub never comes here.
 *
 * Two connections through hiredis's async API on the hub's sd-event loop
 * (the adapter is below: hiredis asks to read or write, sd-event says
 * when): `cmd` for commands, `sub` for the subscriptions.  They are up
 * and down together: either one lost takes both down, and they come back
 * together after a backoff (100 ms doubling to 5 s; 100 ms again once a
 * connection lasted 5 s), with AUTH, the subscriptions again, and every
 * followed room caught up from its stream.  An error to a read the hub's
 * state rests on is a lost connection too (on_answer): read again after
 * the reconnect, until Redis answers it.
 * A PING each second finds a Redis that went silent (a partition).
 *
 * A room message is one script call (PUBLISH_LUA): the room's number,
 * its stream, the publish.  The hub follows (subscribes to) only the
 * rooms with local members, and delivers each followed room's messages
 * in the order of their numbers, each once: a number below the next
 * expected is a repeat and dropped; one above it waits while the
 * missing ones are fetched from the stream (SYNC_LUA).  While Redis is
 * away, messages wait in the outbox (at most CLUSTER_OUTBOX_MAX, then
 * the sender is told `busy`), delivered here at once and marked so, and
 * are sent when Redis is back, in their order.
 */
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/stat.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include <bsd/stdlib.h>
#include <bsd/string.h>
#include <hiredis/async.h>
#include <hiredis/hiredis.h>
#include <jansson.h>
#include <sha1.h>
#include <systemd/sd-event.h>

#include "hub.h"

#define CLUSTER_WAITERS_MAX	64	/* joins waiting for a room's history */
#define CLUSTER_FETCH_MAX	500	/* stream entries per fetch */
/* A room's stream keeps at least this many, so that a hub that was away
 * catches up even after other hubs sent their whole outbox to it. */
#define CLUSTER_STREAM_MIN	(2 * CLUSTER_OUTBOX_MAX)
#define CLUSTER_ID_TTL_MS	"120000"	/* a message id's memory */
#define CLUSTER_BACKOFF_MIN	100	/* ms */
#define CLUSTER_BACKOFF_MAX	5000	/* ms */
#define CLUSTER_PING_USEC	(1000 * 1000ULL)
#define CLUSTER_SILENT_USEC	(3 * 1000 * 1000ULL)	/* then it is down */
/*
 * A hub that just started announces its users only once the sessions of
 * its handlers have come back (the resume hold is over, and at least
 * this long after the start: a handler retries within 2 s), so that a
 * hub restarted within its lease is not seen to lose and regain them.
 */
#define CLUSTER_FIRST_ANNOUNCE_USEC	(2500 * 1000ULL)
#define CLUSTER_KEY_MAX		(16 + SB_ROOM_MAX + CLUSTER_NODE_MAX + 40)
#define CLUSTER_INBOX_MAX	"10000"	/* private messages a node may owe */
#define CLUSTER_PRES_CHANNEL	"sb:pres"
#define CLUSTER_BANS_KEY	"sb:bans"
#define CLUSTER_BANS_CHANNEL	"sb:banned"
#define CLUSTER_MEMBERS_KEY	"sb:members"
#define CLUSTER_MEMBERS_CHANNEL	"sb:members"

/* KEYS: the nicks' hash.  ARGV: a key, its holder: let go if it holds. */
static const char RELEASE_LUA[] =
	"if redis.call('HGET', KEYS[1], ARGV[1]) == ARGV[2] then\n"
	"  redis.call('HDEL', KEYS[1], ARGV[1])\n"
	"end\n";
#define CLUSTER_LEASE_MS	"5000"	/* a node's lease: its users' life */
#define CLUSTER_LEASE_USEC	(5 * 1000 * 1000ULL)

/*
 * KEYS: the room's hash, its stream, the message id's key.  ARGV: the
 * body, the stream's length, the channel, the id key's lifetime (ms).
 * A room without an epoch (new, or Redis lost it) gets one from the
 * clock, and an empty stream; a stream that refuses the entry (someone
 * else wrote a higher id into it) is started again.  A message id seen already answers what
 * it got then (a retry after a lost reply).  Returns "EPOCH SEQ".
 */
static const char PUBLISH_LUA[] =
	"local d = redis.call('GET', KEYS[3])\n"
	"if d then return d end\n"
	"local s = redis.call('HINCRBY', KEYS[1], 'seq', 1)\n"
	"local e = redis.call('HGET', KEYS[1], 'epoch')\n"
	"if s == 1 or not e then\n"
	"  local t = redis.call('TIME')\n"
	"  e = t[1] .. string.format('%06d', tonumber(t[2]))\n"
	"  redis.call('HSET', KEYS[1], 'epoch', e)\n"
	"  redis.call('DEL', KEYS[2])\n"
	"end\n"
	"local x = redis.pcall('XADD', KEYS[2], 'MAXLEN', '~', ARGV[2], "
	"s .. '-0', 'm', ARGV[1])\n"
	"if type(x) == 'table' and x.err then\n"
	"  redis.call('DEL', KEYS[2])\n"
	"  redis.call('XADD', KEYS[2], s .. '-0', 'm', ARGV[1])\n"
	"end\n"
	"local r = e .. ' ' .. s\n"
	"redis.call('PUBLISH', ARGV[3], r .. ' ' .. ARGV[1])\n"
	"redis.call('SET', KEYS[3], r, 'PX', ARGV[4])\n"
	"return r\n";

/*
 * KEYS: the room's hash, its stream.  ARGV: the first number wanted (0:
 * the newest), how many.  Returns {EPOCH or "", SEQ or "0", entries},
 * the entries oldest first from the number, or newest first for 0.
 */
static const char SYNC_LUA[] =
	"local m = redis.call('HMGET', KEYS[1], 'epoch', 'seq')\n"
	"local r\n"
	"if ARGV[1] == '0' then\n"
	"  r = redis.call('XREVRANGE', KEYS[2], '+', '-', 'COUNT', ARGV[2])\n"
	"else\n"
	"  r = redis.call('XRANGE', KEYS[2], ARGV[1] .. '-0', '+', 'COUNT', "
	"ARGV[2])\n"
	"end\n"
	"return {m[1] or '', m[2] or '0', r}\n";

/* A room message waiting for Redis, or sent and not yet answered. */
struct obx {
	TAILQ_ENTRY(obx)	 entry;
	char			 key[SB_ROOM_MAX + 1];	/* the room's, folded */
	char			 chan[CLUSTER_KEY_MAX];	/* a private message:
							 * the node; "" */
	char			 id[CLUSTER_ID_MAX + 1];
	int			 seen;	/* came back already: not again */
	size_t			 len;
	char			 body[];	/* the JSON */
};
TAILQ_HEAD(obxq, obx);

/*
 * Another machine, as its presence events say: the last counter applied,
 * and while its snapshot is read, the events that came meanwhile.
 */
#define CLUSTER_NODE_EVENTS_MAX	1024
struct rnode {
	RB_ENTRY(rnode)		 entry;
	char			 name[CLUSTER_NODE_MAX + 1];
	uint64_t		 last;		/* counter last applied */
	uint64_t		 gen;		/* tells a stale snapshot */
	int			 syncing;	/* a snapshot in flight */
	int			 live;		/* in sb:nodes (a resync) */
	uint64_t		 gone_at;	/* not live at a reconnect:
						 * gone then, unless it
						 * announces (monotonic usec) */
	struct cluster_pres	*queued[CLUSTER_NODE_EVENTS_MAX];
	unsigned		 nqueued;
};
RB_HEAD(rnodes, rnode);

/* A JOIN whose history replay waits for the room's first fetch. */
struct waiter {
	uint64_t		 session;
	long long		 since;
};

/* A room this hub follows: it has local members. */
struct croom {
	RB_ENTRY(croom)		 entry;
	char			 key[SB_ROOM_MAX + 1];	/* ascii_fold()ed */
	char			 name[SB_ROOM_MAX + 1];
	struct corder		 o;	/* its order: hub/cluster_order.c */
	uint64_t		 gen;	/* tells a stale answer */
	int			 subscribed;	/* SUBSCRIBE answered */
	int64_t			 live_after;	/* followed while Redis was
					 * away: entries from this time on
					 * are news, not history (0: none) */
	int64_t			 followed_at;	/* unix time of the follow */
	unsigned		 retry_s;	/* a refused fetch's wait, s */
	uint64_t		 retry_at;	/* usec, fetch again (0: no) */
	struct waiter		 waiters[CLUSTER_WAITERS_MAX];
	unsigned		 nwaiters;
};
RB_HEAD(crooms, croom);

/* One connection's link to sd-event (the adapter). */
struct adapter {
	struct cluster		*c;
	redisAsyncContext	*ac;
	sd_event_source		*io;
	uint32_t		 events;
};

struct cluster {
	struct hub		*h;
	sd_event		*ev;
	redisAsyncContext	*cmd, *sub;
	int			 cmd_ready, sub_ready, up, stopping, downing;
	sd_event_source		*retry, *tick;
	unsigned		 backoff;	/* ms, the next wait */
	uint64_t		 up_at;		/* usec, connected then */
	uint64_t		 ping_sent;	/* usec; 0: none waiting */
	char			 host[256];
	int			 port;		/* 0: host is a socket path */
	char			 user[128], pass[256];
	char			 node[CLUSTER_NODE_MAX + 1];
	char			 boot[17];	/* this run, in message ids */
	uint64_t		 nextid;
	char			 pub_sha[41], sync_sha[41];
	struct obxq		 outbox;	/* waiting for Redis */
	struct obxq		 inflight;	/* sent, not yet answered */
	unsigned		 nout;
	size_t			 outbytes;
	struct crooms		 rooms;
	struct rnodes		 nodes;		/* the other machines */
	int			 announced;	/* our users are in Redis */
	int			 ever_announced;
	int			 announce_later;	/* see announce() */
	uint64_t		 started;	/* monotonic usec */
	int64_t			 started_unix;	/* the same, unix seconds */
	unsigned		 syncs;		/* snapshots awaited first */
	char			 pres_sha[41], hb_sha[41], reap_sha[41];
	char			 reset_sha[41], nick_sha[41], release_sha[41];
	char			 pm_sha[41], drain_sha[41];
	/* This node's inbox: the next number to deliver (0: none known),
	 * its counter's epoch, whether a drain on this connection told
	 * them (else a publish drains first), the last number let go of,
	 * and the file that keeps the place over a restart of the hub
	 * (-1: none; then each delivery lets go at once). */
	uint64_t		 in_next;
	char			 in_epoch[CLUSTER_EPOCH_MAX + 1];
	int			 in_synced, draining, drain_again;
	int			 drain_held;	/* until the first announce */
	uint64_t		 in_trimmed;
	int			 in_fd;
	char			 ban_sha[41], unban_sha[41], bans_sha[41];
	struct bans		 unbans;	/* lifted here, not yet in Redis */
	char			 bans_epoch[BAN_EPOCH_MAX + 1];	/* of the
					 * list, at the last merge; "": none */
	char			 mget_sha[41], mput_sha[41];
	/* The member store (see "members" below): the digest of the file
	 * the hub's store was loaded from, and of the text this hub last
	 * agreed on with the cluster (the file at start, then Redis's). */
	char			 mem_loaded[MEMBERS_DIGEST_LEN + 1];
	char			 mem_base[MEMBERS_DIGEST_LEN + 1];
	int			 mem_have;	/* the file exists */
	int			 mem_dirty;	/* changed here: to upload */
	int			 mem_bad;	/* Redis's copy was refused */
	uint64_t		 mem_version;	/* Redis's, last seen */
	uint64_t		 gens;
	uint64_t		 refused;	/* for the log */
};

static int
croom_cmp(struct croom *a, struct croom *b)
{
	return strcmp(a->key, b->key);
}

RB_PROTOTYPE(crooms, croom, entry, croom_cmp)
RB_GENERATE(crooms, croom, entry, croom_cmp)

static int
rnode_cmp(struct rnode *a, struct rnode *b)
{
	return strcmp(a->name, b->name);
}

RB_PROTOTYPE(rnodes, rnode, entry, rnode_cmp)
RB_GENERATE(rnodes, rnode, entry, rnode_cmp)

static void	cluster_down(struct cluster *, const redisAsyncContext *);
static int	script_run_n(struct cluster *, const char *, const char *,
		    char [41], const char *, const char **, int);
static void	room_sync(struct cluster *, struct croom *);
static void	refuse(struct cluster *, const char *, int, const char *);

static struct croom *
croom_find(struct cluster *c, const char *key)
{
	struct croom k = { 0 };	/* only the key is compared */

	strlcpy(k.key, key, sizeof(k.key));
	return RB_FIND(crooms, &c->rooms, &k);
}

/* --- the sd-event adapter for hiredis ----------------------------------- */

static int
adapter_io(sd_event_source *s, int fd, uint32_t revents, void *arg)
{
	struct adapter *a = arg;
	struct hub *h = a->c->h;

	/* One of the two per wake-up: a read may free the context.  What
	 * a read delivers goes out as one burst (ops->burst): the room
	 * messages of many publishes in as few datagrams per handler. */
	if (revents & (EPOLLIN | EPOLLERR | EPOLLHUP)) {
		if (h->ops->burst != NULL)
			h->ops->burst(h, 1);
		redisAsyncHandleRead(a->ac);
		if (h->ops->burst != NULL)
			h->ops->burst(h, 0);
	} else if (revents & EPOLLOUT)
		redisAsyncHandleWrite(a->ac);
	return 0;
}

static void
adapter_set(struct adapter *a, uint32_t on, uint32_t off)
{
	uint32_t ev = (a->events | on) & ~off;

	if (ev == a->events || a->io == NULL)
		return;
	a->events = ev;
	sd_event_source_set_io_events(a->io, ev);
	sd_event_source_set_enabled(a->io, ev != 0 ? SD_EVENT_ON :
	    SD_EVENT_OFF);
}

static void adapter_add_read(void *p) { adapter_set(p, EPOLLIN, 0); }
static void adapter_del_read(void *p) { adapter_set(p, 0, EPOLLIN); }
static void adapter_add_write(void *p) { adapter_set(p, EPOLLOUT, 0); }
static void adapter_del_write(void *p) { adapter_set(p, 0, EPOLLOUT); }

/* hiredis is done with the context: its source goes (safe in its own
 * callback, sd-event frees it after the dispatch). */
static void
adapter_cleanup(void *p)
{
	struct adapter *a = p;

	a->io = sd_event_source_disable_unref(a->io);
	free(a);
}

/* Hook the context `ac` to the event loop.  Returns 0 or a negative errno. */
static int
adapter_attach(struct cluster *c, redisAsyncContext *ac)
{
	struct adapter *a;
	int r;

	if ((a = calloc(1, sizeof(*a))) == NULL)
		return -ENOMEM;
	a->c = c;
	a->ac = ac;
	if ((r = sd_event_add_io(c->ev, &a->io, ac->c.fd, 0, adapter_io,
	    a)) < 0) {
		free(a);
		return r;
	}
	sd_event_source_set_enabled(a->io, SD_EVENT_OFF);
	ac->ev.data = a;
	ac->ev.addRead = adapter_add_read;
	ac->ev.delRead = adapter_del_read;
	ac->ev.addWrite = adapter_add_write;
	ac->ev.delWrite = adapter_del_write;
	ac->ev.cleanup = adapter_cleanup;
	return 0;
}

/* --- names in Redis ------------------------------------------------------ */

static void
key_of(char *buf, size_t sz, const char *what, const char *room)
{
	snprintf(buf, sz, "sb:%s:%s", what, room);
}

/* The SHA-1 of a script, as EVALSHA names it. */
static void
script_sha(const char *script, char out[41])
{
	SHA1Data((const uint8_t *)script, strlen(script), out);
}

/* A reply that is an error, or none (the connection went): logged here. */
static int
reply_failed(struct cluster *c, const redisReply *r, const char *what)
{
	if (r == NULL)
		return 1;
	if (r->type != REDIS_REPLY_ERROR)
		return 0;
	sb_log_event(SB_EV_HUB_ERROR, &(struct sb_log_fields){
	    .reason = r->str }, "cluster: %s: Redis said: %.200s", what,
	    r->str);
	return 1;
}

/* A command's caller: its answer goes through on_answer(). */
struct scall {
	struct cluster		*c;
	redisCallbackFn		*fn;	/* NULL: nobody waits for it */
	void			*arg;
	const char		*what;	/* for the log line of an error */
	int			 need;	/* a read the hub's state rests on */
};

/*
 * An error that says Redis did nothing and cannot now, but will after a
 * while or a new connection: it forgot the scripts (NOSCRIPT: SCRIPT
 * FLUSH), it is loading its data, running a long script (BUSY), or is
 * not (or no longer) the primary.  Logged, and Redis is taken as lost:
 * the hub connects again after the backoff.  Returns 1 when it was one.
 */
static int
redis_not_now(struct cluster *c, const redisReply *r)
{
	static const char *const kinds[] = { "NOSCRIPT", "LOADING ", "BUSY ",
	    "MASTERDOWN ", "READONLY ", "TRYAGAIN " };
	size_t i;

	if (r == NULL || c->stopping || r->type != REDIS_REPLY_ERROR)
		return 0;
	for (i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
		if (strncmp(r->str, kinds[i], strlen(kinds[i])) == 0)
			break;
	if (i == sizeof(kinds) / sizeof(kinds[0]))
		return 0;
	sb_log(LOG_WARNING, "cluster: Redis at %s answered \"%.80s\": "
	    "connecting again", c->host, r->str);
	cluster_down(c, NULL);
	return 1;
}

/*
 * Every answer to a command sent with cmd_send().  One that Redis did
 * not run for now (redis_not_now: NOSCRIPT, LOADING, BUSY, ...) is a
 * lost connection to every caller, which knows what to send again after
 * the reconnect (which loads the scripts again): the answer is none.
 * Any other error is logged when nobody waits for the answer; to a read
 * the hub's state rests on (need) it is a lost connection too, read
 * again after the reconnect, until Redis answers it.  The rest go to
 * the caller as they are.
 */
static void
on_answer(redisAsyncContext *ac, void *reply, void *arg)
{
	struct scall *sc = arg;
	struct cluster *c = sc->c;
	redisReply *r = reply;

	if (redis_not_now(c, r))
		reply = NULL;
	else if (r != NULL && !c->stopping && (sc->fn == NULL || sc->need) &&
	    reply_failed(c, r, sc->what) && sc->need) {	/* logged there */
		cluster_down(c, NULL);
		reply = NULL;
	}
	if (sc->fn != NULL)
		sc->fn(ac, reply, sc->arg);
	free(sc);
}

/*
 * Send a command of `argc` words (lengths in `alen`, NULL: strings) on
 * the command connection, its answer for `how` (on_answer).  Returns 0,
 * or -ENOTCONN when the connection is going (the caller's retry comes
 * after the reconnect), -ENOMEM.
 */
static int
cmd_send(struct cluster *c, const struct scall *how, int argc,
    const char **argv, const size_t *alen)
{
	struct scall *sc;

	if ((sc = malloc(sizeof(*sc))) == NULL)
		return -ENOMEM;
	*sc = *how;
	sc->c = c;
	if (c->cmd == NULL || redisAsyncCommandArgv(c->cmd, on_answer, sc,
	    argc, argv, alen) != REDIS_OK) {
		free(sc);
		return -ENOTCONN;
	}
	return 0;
}

/* cmd_send() of a read the hub's state rests on: `fn` gets the answer,
 * none after an error (the hub connects again, and reads it then). */
static int
cmd_read(struct cluster *c, const char *what, redisCallbackFn *fn,
    void *arg, int argc, const char **argv)
{
	return cmd_send(c, &(struct scall){ .fn = fn, .arg = arg,
	    .what = what, .need = 1 }, argc, argv, NULL);
}

/*
 * Run `script` with `nkeys` keys and the `n` keys and arguments in `args`
 * (lengths in `lens`, NULL: strings), its answer for `how`: EVALSHA once
 * this connection has seen it (sha set), EVAL the first time.  Returns
 * what cmd_send() does.
 */
static int
script_send(struct cluster *c, const char *script, char sha[41],
    const struct scall *how, const char *nkeys, const char **args,
    const size_t *lens, int n)
{
	const char **argv = calloc((size_t)n + 3, sizeof(*argv));
	size_t *alen = calloc((size_t)n + 3, sizeof(*alen));
	int i, r;

	if (argv == NULL || alen == NULL) {
		free(argv);
		free(alen);
		return -ENOMEM;
	}
	argv[0] = sha[0] ? "EVALSHA" : "EVAL";
	argv[1] = sha[0] ? sha : script;
	argv[2] = nkeys;
	for (i = 0; i < n; i++)
		argv[i + 3] = args[i];
	for (i = 0; i < n + 3; i++)
		alen[i] = i >= 3 && lens != NULL ? lens[i - 3] :
		    strlen(argv[i]);
	if ((r = cmd_send(c, how, n + 3, argv, alen)) == 0 && !sha[0])
		script_sha(script, sha);
	free(argv);
	free(alen);
	return r;
}

/* script_send() whose answer `fn` takes as it is, errors too. */
static int
script_run(struct cluster *c, const char *script, char sha[41],
    redisCallbackFn *fn, void *arg, const char *nkeys, const char **args,
    const size_t *lens, int n)
{
	return script_send(c, script, sha, &(struct scall){ .fn = fn,
	    .arg = arg, .what = "a script" }, nkeys, args, lens, n);
}

/* script_send() of a read the hub's state rests on (see cmd_read()). */
static int
script_read(struct cluster *c, const char *what, const char *script,
    char sha[41], redisCallbackFn *fn, void *arg, const char *nkeys,
    const char **args, int n)
{
	return script_send(c, script, sha, &(struct scall){ .fn = fn,
	    .arg = arg, .what = what, .need = 1 }, nkeys, args, NULL, n);
}

/* script_send() of a script whose answer nobody waits for: an error is
 * logged as "cluster: `what`: Redis said: …". */
static int
script_run_n(struct cluster *c, const char *what, const char *script,
    char sha[41], const char *nkeys, const char **args, int n)
{
	return script_send(c, script, sha, &(struct scall){ .what = what },
	    nkeys, args, NULL, n);
}

/*
 * The inbox counter's epoch (KEYS[2]'s field `e`): set from Redis's clock
 * when it has none (new, or Redis lost it), so that a node tells a
 * counter that started again from the one it knew.
 */
#define INBOX_EPOCH_LUA \
	"local ep = redis.call('HGET', KEYS[2], 'e')\n" \
	"if not ep then\n" \
	"  local t = redis.call('TIME')\n" \
	"  ep = t[1] .. string.format('%06d', tonumber(t[2]))\n" \
	"  redis.call('HSET', KEYS[2], 'e', ep)\n" \
	"end\n"

/*
 * KEYS: the addressee node's inbox, its counter (a hash: `n` the last
 * number, `e` its epoch).  ARGV: the message, the node's channel, the
 * inbox's bound.  The message is numbered, "SEQ BODY", kept in the inbox
 * and published whole: the node delivers the publish at once
 * (inbox_heard); the inbox keeps it for a node not subscribed at this
 * moment (coming back from a restart of Redis or of itself), or one that
 * missed a number, until the node lets go of it (TAKE_LUA).
 */
static const char PM_LUA[] =
	INBOX_EPOCH_LUA
	"local e = redis.call('HINCRBY', KEYS[2], 'n', 1) .. ' ' .. ARGV[1]\n"
	"redis.call('RPUSH', KEYS[1], e)\n"
	"redis.call('LTRIM', KEYS[1], -tonumber(ARGV[3]), -1)\n"
	"redis.call('PUBLISH', ARGV[2], e)\n";

/*
 * KEYS: this node's inbox, its counter.  ARGV: the last number this node
 * delivered, the counter's epoch it knows ("": none), how many to take.
 * Lets go of the entries up to that number (all of them are new if the
 * epoch is not the one known), then takes (and returns) the oldest
 * ARGV[3] of the rest: {COUNTER, EPOCH, {ENTRY...}}.
 */
static const char TAKE_LUA[] =
	INBOX_EPOCH_LUA
	"local after = tonumber(ARGV[1])\n"
	"if ep ~= ARGV[2] then after = 0 end\n"
	"while true do\n"
	"  local h = redis.call('LINDEX', KEYS[1], 0)\n"
	"  local s = h and tonumber(string.match(h, '^(%d+) '))\n"
	"  if not s or s > after then break end\n"
	"  redis.call('LPOP', KEYS[1])\n"
	"end\n"
	"local m = {}\n"
	"if tonumber(ARGV[3]) > 0 then\n"
	"  m = redis.call('LRANGE', KEYS[1], 0, tonumber(ARGV[3]) - 1)\n"
	"  redis.call('LTRIM', KEYS[1], #m, -1)\n"
	"end\n"
	"return {redis.call('HGET', KEYS[2], 'n') or '0', ep, m}\n";
#define CLUSTER_TAKE_MAX	100	/* inbox entries a TAKE_LUA returns */
#define CLUSTER_INBOX_FILE	"cluster-inbox"	/* in state_dir */

/* --- the outbox and publishing ------------------------------------------ */

static void
obx_free(struct cluster *c, struct obxq *q, struct obx *o)
{
	TAILQ_REMOVE(q, o, entry);
	c->nout--;
	c->outbytes -= o->len;
	free(o);
}

static void	obx_send(struct cluster *, struct obx *);

/*
 * PUBLISH_LUA's answer, for the oldest message in flight (answers come in
 * order).  None (the connection went): it stays, and goes again after the
 * reconnect (cluster_down).  An error: logged, and the message dropped.
 */
static void
on_published(redisAsyncContext *ac, void *reply, void *arg)
{
	struct cluster *c = ac->data;
	redisReply *r = reply;
	struct obx *o = TAILQ_FIRST(&c->inflight);

	if (r == NULL || c->stopping || o == NULL)
		return;
	if (reply_failed(c, r, "a room message was not sent"))
		c->refused++;
	obx_free(c, &c->inflight, o);
}

/* Send one message of the outbox: EVALSHA, or EVAL when not loaded. */
static void
obx_send(struct cluster *c, struct obx *o)
{
	char hash[CLUSTER_KEY_MAX], stream[CLUSTER_KEY_MAX], idk[CLUSTER_KEY_MAX];
	char chan[CLUSTER_KEY_MAX], maxlen[16], inbox[CLUSTER_KEY_MAX];
	const char *args[7] = { hash, stream, idk, o->body, maxlen, chan,
	    CLUSTER_ID_TTL_MS };
	size_t lens[7];
	int i;

	if (o->chan[0] != '\0') {	/* a private message: chan is the node */
		const char *pa[5] = { inbox, idk, o->body, chan,
		    CLUSTER_INBOX_MAX };
		size_t pl[5];

		key_of(inbox, sizeof(inbox), "inbox", o->chan);
		key_of(idk, sizeof(idk), "inseq", o->chan);
		key_of(chan, sizeof(chan), "to", o->chan);
		for (i = 0; i < 5; i++)
			pl[i] = i == 2 ? o->len : strlen(pa[i]);
		if (script_run(c, PM_LUA, c->pm_sha, on_published, NULL, "2",
		    pa, pl, 5) < 0)
			c->refused++;
		return;
	}
	key_of(hash, sizeof(hash), "room", o->key);
	key_of(stream, sizeof(stream), "hist", o->key);
	key_of(chan, sizeof(chan), "msg", o->key);
	snprintf(idk, sizeof(idk), "sb:id:%s:%s", c->node, o->id);
	snprintf(maxlen, sizeof(maxlen), "%u", c->h->cfg.history >
	    CLUSTER_STREAM_MIN ? c->h->cfg.history : CLUSTER_STREAM_MIN);
	for (i = 0; i < 7; i++)
		lens[i] = i == 3 ? o->len : strlen(args[i]);
	if (script_run(c, PUBLISH_LUA, c->pub_sha, on_published, NULL, "3",
	    args, lens, 7) < 0)
		c->refused++;	/* only when it is going down: sent again */
}

/* Send everything in the outbox, oldest first. */
static void
outbox_flush(struct cluster *c)
{
	struct obx *o;

	while (c->up && (o = TAILQ_FIRST(&c->outbox)) != NULL) {
		TAILQ_REMOVE(&c->outbox, o, entry);
		TAILQ_INSERT_TAIL(&c->inflight, o, entry);
		if (o->seen)
			obx_free(c, &c->inflight, o);
		else
			obx_send(c, o);
	}
}

/*
 * Send (Redis up) or keep in the outbox (Redis away) a room message
 * (`key` and `id`; `chan` "") or a PUBLISH of `body` on `chan`.  Returns
 * 0 when it went, 1 when it waits, -ENOBUFS past the outbox's bounds,
 * -ENOMEM.
 */
static int
obx_queue(struct cluster *c, const char *key, const char *id,
    const char *chan, const char *body, size_t len)
{
	struct obx *o;

	if (!c->up && (c->nout >= CLUSTER_OUTBOX_MAX ||
	    c->outbytes >= CLUSTER_OUTBOX_BYTES))
		return -ENOBUFS;
	if ((o = malloc(sizeof(*o) + len + 1)) == NULL)
		return -ENOMEM;
	*o = (struct obx){ .len = len };
	strlcpy(o->key, key, sizeof(o->key));
	strlcpy(o->id, id, sizeof(o->id));
	strlcpy(o->chan, chan, sizeof(o->chan));
	memcpy(o->body, body, len + 1);
	c->nout++;
	c->outbytes += o->len;
	if (!c->up) {
		TAILQ_INSERT_TAIL(&c->outbox, o, entry);
		return 1;
	}
	TAILQ_INSERT_TAIL(&c->inflight, o, entry);
	obx_send(c, o);
	return 0;
}

/*
 * ops->room_publish: a room message to Redis.  Returns 0 when it went (it
 * comes back through the room's channel), 1 when Redis is away and it
 * waits in the outbox (the caller delivers it here now), -ENOBUFS when
 * the outbox is full, -EMSGSIZE or -ENOMEM.
 */
int
cluster_room_publish(struct hub *h, const struct room *r, const char *kind,
    const char *from, const char *text, int64_t t)
{
	struct cluster *c = h->cluster;
	struct cluster_msg m = { .time = t };
	char body[CLUSTER_BODY_MAX + 1];
	int len;

	if (c == NULL)
		return -ENOTCONN;
	if (!c->up && (c->nout >= CLUSTER_OUTBOX_MAX ||
	    c->outbytes >= CLUSTER_OUTBOX_BYTES))
		return -ENOBUFS;
	m.pre = !c->up;
	strlcpy(m.kind, kind, sizeof(m.kind));
	strlcpy(m.from, from, sizeof(m.from));
	strlcpy(m.room, r->name, sizeof(m.room));
	strlcpy(m.text, text, sizeof(m.text));
	strlcpy(m.node, c->node, sizeof(m.node));
	snprintf(m.id, sizeof(m.id), "%s-%llx", c->boot,
	    (unsigned long long)++c->nextid);
	if ((len = cluster_body_encode(&m, body, sizeof(body))) < 0)
		return len;
	return obx_queue(c, r->key, m.id, "", body, (size_t)len);
}

/* A message of this node came back: one still waiting is not sent again. */
static void
outbox_seen(struct cluster *c, const struct cluster_msg *m)
{
	struct obx *o;

	if (strcmp(m->node, c->node) != 0)
		return;
	TAILQ_FOREACH(o, &c->outbox, entry)
		if (strcmp(o->id, m->id) == 0)
			o->seen = 1;
	TAILQ_FOREACH(o, &c->inflight, entry)
		if (strcmp(o->id, m->id) == 0)
			o->seen = 1;
}

/* --- following rooms: order, repeats, gaps ------------------------------ */

/* One room, for what hub/cluster_order.c asks (follow_ops). */
struct follow {
	struct cluster		*c;
	struct croom		*cr;
};

/* Deliver the room's next message here (not when this node did). */
static void
follow_deliver(void *arg, const struct cluster_msg *m)
{
	struct follow *f = arg;

	outbox_seen(f->c, m);
	cluster_arrived(f->c->h, m, !(m->pre &&
	    strcmp(m->node, f->c->node) == 0));
}

/* Tell the room's members of a gap, or that its history restarted. */
static void
follow_gap(void *arg, uint64_t since, uint64_t first)
{
	struct follow *f = arg;

	cluster_restarted(f->c->h, f->cr->name, since, first);
}

static void
follow_restarted(void *arg, const char *old, const char *now)
{
	struct follow *f = arg;

	sb_log_event(SB_EV_CLUSTER, &(struct sb_log_fields){
	    .room = f->cr->name, .reason = "history restarted" },
	    "cluster: room %s: Redis lost its history (epoch %s, now %s); "
	    "its members are told", f->cr->name, old, now[0] ? now : "none");
}

static void
follow_fetch(void *arg)
{
	struct follow *f = arg;

	room_sync(f->c, f->cr);
}

static void
follow_ahead(void *arg, const struct cluster_msg *m)
{
	struct follow *f = arg;

	(void)m;
	refuse(f->c, f->cr->name, -EBADMSG, "a message numbered after the "
	    "room's last");
}

static const struct corder_ops follow_ops = {
	.deliver = follow_deliver,
	.gap = follow_gap,
	.restarted = follow_restarted,
	.fetch = follow_fetch,
	.ahead = follow_ahead,
};

#define FOLLOW(c, cr)	(&(struct follow){ (c), (cr) })

/* --- fetching from a room's stream -------------------------------------- */

/* What a fetch's answer is for: the room by name, and which follow. */
struct fetch {
	struct cluster		*c;
	char			 key[SB_ROOM_MAX + 1];
	uint64_t		 gen;
	uint64_t		 from;	/* 0: the room's first fetch */
};

/* A string or status reply's text, or NULL. */
static const char *
reply_str(const redisReply *r)
{
	if (r == NULL || (r->type != REDIS_REPLY_STRING &&
	    r->type != REDIS_REPLY_STATUS))
		return NULL;
	if (strlen(r->str) != r->len)
		return NULL;
	return r->str;
}

/*
 * One stream entry, [ID, ["m", BODY]], into m (its epoch: `epoch`).
 * Returns 0, or -EBADMSG / -EMSGSIZE for one that is refused.
 */
static int
entry_decode(const redisReply *e, const char *epoch, struct cluster_msg *m)
{
	const redisReply *f;

	if (e->type != REDIS_REPLY_ARRAY || e->elements != 2 ||
	    e->element[0]->type != REDIS_REPLY_STRING ||
	    (f = e->element[1])->type != REDIS_REPLY_ARRAY ||
	    f->elements != 2 || f->element[0]->type != REDIS_REPLY_STRING ||
	    f->element[1]->type != REDIS_REPLY_STRING ||
	    strcmp(f->element[0]->str, "m") != 0)
		return -EBADMSG;
	if (cluster_entry_id(e->element[0]->str, e->element[0]->len,
	    &m->seq) < 0)
		return -EBADMSG;
	strlcpy(m->epoch, epoch, sizeof(m->epoch));
	return cluster_body_decode(f->element[1]->str, f->element[1]->len, m);
}

/* Refused data from Redis: logged, counted, and the hub goes on. */
static void
refuse(struct cluster *c, const char *room, int e, const char *what)
{
	c->refused++;
	sb_log_event(SB_EV_HUB_ERROR, &(struct sb_log_fields){
	    .room = room[0] ? room : NULL, .reason = strerror(-e) },
	    "cluster: refused %s from Redis%s%s: %s", what,
	    room[0] ? " for room " : "", room, strerror(-e));
}

/*
 * The room's first fetch: the newest entries (newest first in `list`)
 * become its history here, delivered to nobody (a joiner gets them as
 * its replay, which waited for them); the next number is after the top.
 */
static void
first_fetch(struct cluster *c, struct croom *cr, const redisReply *list,
    uint64_t top)
{
	struct cluster_msg *m;
	size_t i;

	cluster_restarted(c->h, cr->name, 0, 0);	/* forget, tell nobody */
	if ((m = malloc(sizeof(*m))) == NULL)
		return;
	for (i = list->elements; i-- > 0;) {
		int e = entry_decode(list->element[i], cr->o.epoch, m);

		if (e < 0)
			refuse(c, cr->name, e, "a stream entry");
		else {
			outbox_seen(c, m);
			cluster_arrived(c->h, m, cr->live_after > 0 &&
			    m->time >= cr->live_after &&
			    !(m->pre && strcmp(m->node, c->node) == 0));
		}
	}
	free(m);
	cr->o.next = top + 1;
	cr->live_after = 0;
}

/*
 * A gap fill: the entries from cr->o.next on (oldest first), delivered; a
 * run of numbers the stream no longer has is told as a gap.  Returns 1
 * when more may wait (a full answer).
 */
static int
gap_fetch(struct cluster *c, struct croom *cr, const redisReply *list,
    uint64_t top)
{
	struct cluster_msg *m;
	const redisReply *id;
	uint64_t from = cr->o.next, last = 0, n;
	size_t i;

	if ((m = malloc(sizeof(*m))) == NULL)
		return 0;
	for (i = 0; i < list->elements; i++) {
		int e = entry_decode(list->element[i], cr->o.epoch, m);

		if (e < 0)
			refuse(c, cr->name, e, "a stream entry");
		else
			corder_fill(&cr->o, m, &follow_ops, FOLLOW(c, cr));
		if (list->element[i]->type == REDIS_REPLY_ARRAY &&
		    list->element[i]->elements == 2 &&
		    (id = list->element[i]->element[0])->type ==
		    REDIS_REPLY_STRING &&
		    cluster_entry_id(id->str, id->len, &n) == 0 && n > last)
			last = n;
	}
	free(m);
	if (list->elements < CLUSTER_FETCH_MAX || cr->o.next > from)
		return corder_filled(&cr->o, top, list->elements ==
		    CLUSTER_FETCH_MAX, &follow_ops, FOLLOW(c, cr));
	/*
	 * A full answer that moved nothing (all of it refused) would come
	 * again as it is: the room's numbers in it are told as a gap and
	 * skipped, and the fetch goes on after them; entries whose ids are
	 * not the room's numbers (above its last) end it, as all there is.
	 */
	if (last >= from && last <= top) {
		corder_skip(&cr->o, last, &follow_ops, FOLLOW(c, cr));
		return 1;
	}
	return corder_filled(&cr->o, top, 0, &follow_ops, FOLLOW(c, cr));
}

/*
 * The joins that waited for the room's first fetch get their replay
 * (`replay`; 0: the room is no longer followed), and what was sent to
 * their sessions meanwhile, held since the JOIN (cluster_room_replay),
 * is let out after it.
 */
static void
waiters_release(struct cluster *c, struct croom *cr, int replay)
{
	struct room *r = hub_find_room(c->h, cr->name);
	struct peer *p;
	unsigned i;

	for (i = 0; i < cr->nwaiters; i++) {
		if ((p = hub_find_session(c->h, cr->waiters[i].session)) ==
		    NULL)
			continue;
		if (replay && !p->dead && r != NULL &&
		    room_membership(p, r) != NULL)
			replay_join(c->h, p, r, cr->waiters[i].since);
		if (c->h->ops->hold != NULL)
			c->h->ops->hold(c->h, p, 0);
	}
	cr->nwaiters = 0;
}

/*
 * The room's first fetch failed or was cut off: its joiners get the
 * history held here now, and what came since the join (by its time) is
 * news at the next first fetch.
 */
static void
first_fetch_lost(struct cluster *c, struct croom *cr)
{
	if (cr->o.next == 0 && cr->live_after == 0)
		cr->live_after = cr->followed_at;
	if (!c->stopping)
		waiters_release(c, cr, 1);
}

/* SYNC_LUA's answer checked: {EPOCH, SEQ, entries}; NULL if refused. */
static const redisReply *
sync_reply(struct cluster *c, struct croom *cr, const redisReply *r,
    uint64_t *top)
{
	const char *epoch, *seq;
	uint64_t n = 0;

	if (r->type != REDIS_REPLY_ARRAY || r->elements != 3 ||
	    (epoch = reply_str(r->element[0])) == NULL ||
	    (seq = reply_str(r->element[1])) == NULL ||
	    r->element[2]->type != REDIS_REPLY_ARRAY ||
	    strlen(epoch) > CLUSTER_EPOCH_MAX ||
	    strspn(epoch, "0123456789") != strlen(epoch) ||
	    strspn(seq, "0123456789") != strlen(seq) || strlen(seq) > 18 ||
	    strlen(seq) == 0) {
		refuse(c, cr->name, -EBADMSG, "a fetch's answer");
		return NULL;
	}
	n = strtoull(seq, NULL, 10);
	*top = n;
	return r->element[2];
}

/*
 * Apply a fetch's answer: a new epoch is a restart (its members told);
 * the first fetch fills the history; a later one fills the gap.
 */
static void
sync_apply(struct cluster *c, struct croom *cr, const redisReply *r,
    uint64_t from)
{
	const redisReply *list;
	uint64_t top;
	int more = 0;

	if ((list = sync_reply(c, cr, r, &top)) == NULL)
		return;
	if (from == 0) {
		strlcpy(cr->o.epoch, r->element[0]->str, sizeof(cr->o.epoch));
		first_fetch(c, cr, list, top);
		waiters_release(c, cr, 1);
	} else if (corder_epoch(&cr->o, r->element[0]->str, &follow_ops,
	    FOLLOW(c, cr)))
		more = cr->o.epoch[0] != '\0';	/* again, from 1 */
	else
		more = gap_fetch(c, cr, list, top);
	corder_settle(&cr->o, more, &follow_ops, FOLLOW(c, cr));
}

/*
 * A fetch Redis answered with an error (a key of another type, an ACL
 * without it, ...): this room's alone, so the hub stays, and the room is
 * fetched again after a wait, 1 s doubling to 60 s (on_tick).
 */
static void
fetch_retry(struct cluster *c, struct croom *cr)
{
	cr->retry_s = cr->retry_s == 0 ? 1 : cr->retry_s * 2 > 60 ? 60 :
	    cr->retry_s * 2;
	cr->retry_at = c->h->ops->now_usec(c->h) + cr->retry_s * 1000000ULL;
}

/* The rooms whose refused fetch is due again (fetch_retry). */
static void
fetch_retries(struct cluster *c, uint64_t now)
{
	struct croom *cr;

	RB_FOREACH(cr, crooms, &c->rooms)
		if (cr->retry_at != 0 && now >= cr->retry_at) {
			cr->retry_at = 0;
			room_sync(c, cr);
		}
}

static void
on_synced(redisAsyncContext *ac, void *reply, void *arg)
{
	struct fetch *f = arg;
	struct cluster *c = f->c;
	struct croom *cr;

	if (!c->stopping && (cr = croom_find(c, f->key)) != NULL &&
	    cr->gen == f->gen) {
		cr->o.fetching = 0;
		if (reply != NULL && reply_failed(c, reply, "fetching a "
		    "room's messages"))
			fetch_retry(c, cr);
		else if (reply != NULL) {
			cr->retry_s = 0;
			sync_apply(c, cr, reply, f->from);
		}
		/*
		 * A first fetch refused (an error, an answer that does not
		 * check): its joiners are answered now.  A connection lost
		 * is cluster_down()'s.
		 */
		if (reply != NULL && cr->o.next == 0 && !cr->o.fetching)
			first_fetch_lost(c, cr);
	}
	free(f);
}

/*
 * Fetch what the room lacks from its stream: its newest entries the
 * first time, then from the next number.  Only when up and subscribed
 * (the answer then covers all that the channel did not bring).
 */
static void
room_sync(struct cluster *c, struct croom *cr)
{
	char hash[CLUSTER_KEY_MAX], stream[CLUSTER_KEY_MAX], from[24], n[16];
	const char *args[4] = { hash, stream, from, n };
	struct fetch *f;

	if (cr->o.fetching)
		cr->o.again = 1;	/* what the channel brought meanwhile */
	if (!c->up || (cr->o.next > 0 && !cr->subscribed) || cr->o.fetching ||
	    (f = malloc(sizeof(*f))) == NULL)
		return;
	*f = (struct fetch){ .c = c, .gen = cr->gen, .from = cr->o.next };
	strlcpy(f->key, cr->key, sizeof(f->key));
	key_of(hash, sizeof(hash), "room", cr->key);
	key_of(stream, sizeof(stream), "hist", cr->key);
	snprintf(from, sizeof(from), "%llu", (unsigned long long)cr->o.next);
	/* a first fetch after a cut fetches what may be news as well */
	snprintf(n, sizeof(n), "%u", cr->o.next != 0 ? CLUSTER_FETCH_MAX :
	    cr->live_after > 0 ? CLUSTER_STREAM_MIN + c->h->cfg.history :
	    c->h->cfg.history > 0 ? c->h->cfg.history : 1);
	if (script_run(c, SYNC_LUA, c->sync_sha, on_synced, f, "2", args,
	    NULL, 4) < 0) {
		free(f);
		return;
	}
	corder_fetching(&cr->o);
	cr->o.again = 0;
}

/* 1 if the room name `name` folds to `key`. */
static int
room_is(const char *name, const char *key)
{
	char k[SB_ROOM_MAX + 1];

	ascii_fold(k, sizeof(k), name);
	return strcmp(k, key) == 0;
}

static void	pres_arrive(struct cluster *, struct cluster_pres *);
static void	inbox_drain(struct cluster *);
static void	nodes_read(struct cluster *);
static void	inbox_heard(struct cluster *, const char *, size_t);
static void	ban_heard(struct cluster *, const char *, size_t);
static void	bans_sync(struct cluster *);
static void	members_heard(struct cluster *, const char *, size_t);
static void	members_sync(struct cluster *);

/* A message on sb:pres or on this node's sb:to:NODE. */
static void
other_message(struct cluster *c, const char *chan, const redisReply *v)
{
	struct cluster_pres *ev;
	int e;

	if (strcmp(chan, CLUSTER_PRES_CHANNEL) == 0) {
		if ((ev = malloc(sizeof(*ev))) == NULL)
			return;
		if ((e = cluster_pres_decode(v->str, v->len, ev)) < 0) {
			refuse(c, "", e, "a presence event");
			free(ev);
			return;
		}
		pres_arrive(c, ev);
	} else if (strncmp(chan, "sb:to:", 6) == 0 &&
	    strcmp(chan + 6, c->node) == 0)
		inbox_heard(c, v->str, v->len);
	else if (strcmp(chan, CLUSTER_BANS_CHANNEL) == 0)
		ban_heard(c, v->str, v->len);
	else if (strcmp(chan, CLUSTER_MEMBERS_CHANNEL) == 0)
		members_heard(c, v->str, v->len);
}

/* --- subscriptions -------------------------------------------------------- */

/*
 * Everything the `sub` connection hears: the answer to a SUBSCRIBE (the
 * room is followed from now on: fetch what came before), and messages.
 * A message that does not decode is refused and logged.
 */
static void
on_sub(redisAsyncContext *ac, void *reply, void *arg)
{
	struct cluster *c = arg;
	redisReply *r = reply;
	struct cluster_msg *m;
	struct croom *cr;
	const char *kind, *chan;
	int e;

	if (r == NULL || c->stopping || r->type != REDIS_REPLY_ARRAY ||
	    r->elements != 3 || (kind = reply_str(r->element[0])) == NULL ||
	    (chan = reply_str(r->element[1])) == NULL)
		return;
	if (strcmp(kind, "message") == 0 &&
	    r->element[2]->type == REDIS_REPLY_STRING &&
	    strncmp(chan, "sb:msg:", 7) != 0) {
		other_message(c, chan, r->element[2]);
		return;
	}
	if (strcmp(kind, "subscribe") == 0 &&
	    strcmp(chan, CLUSTER_PRES_CHANNEL) == 0) {
		nodes_read(c);	/* the nodes as they are from now on */
		return;
	}
	if (strcmp(kind, "subscribe") == 0 && strncmp(chan, "sb:to:", 6) == 0) {
		inbox_drain(c);	/* what came while this node was away */
		return;
	}
	if (strcmp(kind, "subscribe") == 0 &&
	    strcmp(chan, CLUSTER_BANS_CHANNEL) == 0) {
		bans_sync(c);	/* the bans given while it was away */
		return;
	}
	if (strcmp(kind, "subscribe") == 0 &&
	    strcmp(chan, CLUSTER_MEMBERS_CHANNEL) == 0) {
		members_sync(c);	/* the store changed while away */
		return;
	}
	if (strncmp(chan, "sb:msg:", 7) != 0 ||
	    (cr = croom_find(c, chan + 7)) == NULL)
		return;
	if (strcmp(kind, "subscribe") == 0) {
		cr->subscribed = 1;
		room_sync(c, cr);
		return;
	}
	if (strcmp(kind, "message") != 0 ||
	    r->element[2]->type != REDIS_REPLY_STRING)
		return;
	if ((m = malloc(sizeof(*m))) == NULL)
		return;
	if ((e = cluster_msg_decode(r->element[2]->str, r->element[2]->len,
	    m)) < 0 || !room_is(m->room, cr->key)) {
		refuse(c, cr->name, e < 0 ? e : -EBADMSG, "a message");
		free(m);
		return;
	}
	corder_take(&cr->o, m, &follow_ops, FOLLOW(c, cr));
}

/* SUBSCRIBE or UNSUBSCRIBE the room's channel. */
static void
room_subscribe(struct cluster *c, const struct croom *cr, int on)
{
	char chan[CLUSTER_KEY_MAX];
	const char *argv[2] = { on ? "SUBSCRIBE" : "UNSUBSCRIBE", chan };

	if (!c->sub_ready)
		return;
	key_of(chan, sizeof(chan), "msg", cr->key);
	(void)redisAsyncCommandArgv(c->sub, on_sub, c, 2, argv, NULL);
	/* a failure is a connection going down: subscribed again later */
}

/*
 * Write what waits for `cmd` now, not at the loop's next turn: the first
 * fetch of a room, whose answer the joiner's JOIN answer waits for
 * (cluster_room_replay holds it), so that it waits no longer than it
 * must.  A failure is found at the next turn (hiredis's own write, then
 * cluster_down), not here in the middle of a rule.
 */
static void
write_now(struct cluster *c)
{
	int done;

	if (c->up)	/* connected: hiredis's first write is its own */
		(void)redisBufferWrite(&c->cmd->c, &done);
}

/* ops->room_follow: the room's first local member came, or its last went. */
void
cluster_room_follow(struct hub *h, const struct room *r, int on)
{
	struct cluster *c = h->cluster;
	struct croom *cr;

	if (c == NULL)	/* stopped: the hub is going */
		return;
	cr = croom_find(c, r->key);
	if (on && cr == NULL) {
		if ((cr = calloc(1, sizeof(*cr))) == NULL)
			return;	/* not followed: no messages from others */
		strlcpy(cr->key, r->key, sizeof(cr->key));
		strlcpy(cr->name, r->name, sizeof(cr->name));
		cr->gen = ++c->gens;
		cr->followed_at = (int64_t)time(NULL);
		if (!c->up)
			cr->live_after = cr->followed_at;
		RB_INSERT(crooms, &c->rooms, cr);
		room_subscribe(c, cr, 1);
		room_sync(c, cr);	/* the history as of this join */
		write_now(c);
	} else if (!on && cr != NULL) {
		waiters_release(c, cr, 0);	/* they left before it came */
		room_subscribe(c, cr, 0);
		RB_REMOVE(crooms, &c->rooms, cr);
		corder_clear(&cr->o);
		free(cr);
	}
}

/*
 * ops->room_replay: a joiner's replay waits for the room's first fetch
 * (1), unless the room has had it, Redis is away or the fetch could not
 * be asked (0: replay now).
 */
int
cluster_room_replay(struct hub *h, struct peer *p, const struct room *r,
    long long since)
{
	struct cluster *c = h->cluster;
	struct croom *cr = c != NULL ? croom_find(c, r->key) : NULL;

	if (cr == NULL || cr->o.next > 0 || !c->up || !cr->o.fetching ||
	    cr->nwaiters >= CLUSTER_WAITERS_MAX)
		return 0;	/* no fetch on its way: nothing to wait for */
	cr->waiters[cr->nwaiters++] = (struct waiter){ p->session, since };
	/*
	 * Its answer and all after it too: a busy Redis reads what waits on
	 * its connections in no causal order, so what another machine
	 * writes once this joiner is answered could run before the fetch,
	 * and be replayed to it as history (docs/cluster.md).
	 */
	if (h->ops->hold != NULL)
		h->ops->hold(h, p, 1);
	return 1;
}

/* --- presence: the users of every machine -------------------------------- */

/*
 * KEYS: this node's users hash, the nicks' hash.  ARGV: the session, its
 * record ("": it quit), the event, the channel, a nick key to release
 * ("" none), one to hold ("" none), "NODE SESSION".  The hash, the nicks
 * and the event move together, numbered by the hash's counter `_c`.
 */
static const char PRES_LUA[] =
	"local c = redis.call('HINCRBY', KEYS[1], '_c', 1)\n"
	"if ARGV[2] == '' then redis.call('HDEL', KEYS[1], ARGV[1])\n"
	"else redis.call('HSET', KEYS[1], ARGV[1], ARGV[2]) end\n"
	"if ARGV[5] ~= '' and redis.call('HGET', KEYS[2], ARGV[5]) == "
	"ARGV[7] then redis.call('HDEL', KEYS[2], ARGV[5]) end\n"
	"if ARGV[6] ~= '' then redis.call('HSET', KEYS[2], ARGV[6], ARGV[7]) "
	"end\n"
	"redis.call('PUBLISH', ARGV[4], c .. ' ' .. ARGV[3])\n"
	"return c\n";

/*
 * KEYS: the nicks' hash, the nodes' sorted set.  ARGV: the nick's key,
 * "NODE SESSION".  The nick is this session's unless a live node (its
 * lease not ended) other than this one holds it.  Returns 1 or 0.
 */
static const char NICK_LUA[] =
	"local v = redis.call('HGET', KEYS[1], ARGV[1])\n"
	"if v then\n"
	"  local node = string.match(v, '^(%S+)')\n"
	"  local mine = string.match(ARGV[2], '^(%S+)')\n"
	"  if node ~= mine then\n"
	"    local exp = redis.call('ZSCORE', KEYS[2], node)\n"
	"    local t = redis.call('TIME')\n"
	"    local now = tonumber(t[1]) * 1000 + "
	"math.floor(tonumber(t[2]) / 1000)\n"
	"    if exp and tonumber(exp) > now then return 0 end\n"
	"  end\n"
	"end\n"
	"redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])\n"
	"return 1\n";

/*
 * KEYS: this node's users hash, the nodes' sorted set, the nicks' hash.
 * ARGV: the node, its lease (ms), the channel, then session, record and
 * nick key, for each user.  All of this node's users at once (after a
 * (re)connect), its nicks claimed again, its lease renewed.
 */
static const char RESET_LUA[] =
	"local c = redis.call('HINCRBY', KEYS[1], '_c', 1)\n"
	"redis.call('DEL', KEYS[1])\n"
	"redis.call('HSET', KEYS[1], '_c', c)\n"
	"local all = redis.call('HGETALL', KEYS[3])\n"
	"for i = 1, #all, 2 do\n"
	"  if string.match(all[i + 1], '^(%S+)') == ARGV[1] then\n"
	"    redis.call('HDEL', KEYS[3], all[i])\n"
	"  end\n"
	"end\n"
	"for i = 4, #ARGV, 3 do\n"
	"  redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1])\n"
	"  redis.call('HSET', KEYS[3], ARGV[i + 2], ARGV[1] .. ' ' .. ARGV[i])\n"
	"end\n"
	"local t = redis.call('TIME')\n"
	"local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)\n"
	"redis.call('ZADD', KEYS[2], now + tonumber(ARGV[2]), ARGV[1])\n"
	"redis.call('PUBLISH', ARGV[3], c .. ' {\"e\":\"reset\",\"n\":\"' .. "
	"ARGV[1] .. '\"}')\n"
	"return c\n";

/*
 * KEYS: the nodes' sorted set.  ARGV: the node, its lease (ms).  The
 * lease renewed by Redis's clock; returns the nodes whose lease ended.
 */
static const char HB_LUA[] =
	"local t = redis.call('TIME')\n"
	"local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)\n"
	"redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[1])\n"
	"return redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', '(' .. now)\n";

/*
 * KEYS: the nodes' sorted set, the dead node's users.  ARGV: the dead
 * node, the channel.  Only one hub's call finds the lease ended: it
 * alone removes the node and publishes its end (one quit notice per
 * user, from that one event).
 */
static const char REAP_LUA[] =
	"local t = redis.call('TIME')\n"
	"local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)\n"
	"local s = redis.call('ZSCORE', KEYS[1], ARGV[1])\n"
	"if not s or tonumber(s) > now then return 0 end\n"
	"redis.call('ZREM', KEYS[1], ARGV[1])\n"
	"redis.call('DEL', KEYS[2])\n"
	"redis.call('PUBLISH', ARGV[2], '0 {\"e\":\"down\",\"n\":\"' .. "
	"ARGV[1] .. '\"}')\n"
	"return 1\n";

static void	node_sync(struct cluster *, struct rnode *);
static void	announce(struct cluster *);
static void	announce_now(struct cluster *);

/* The record of local session `p`: {"k":NICK,"m":NAME,"r":[ROOMS]}. */
static char *
record_of(const struct peer *p)
{
	json_t *rooms = json_array(), *o;
	struct membership *m;
	char *s;

	if (rooms == NULL)
		return NULL;
	TAILQ_FOREACH(m, &p->rooms, in_peer)
		json_array_append_new(rooms, json_string(m->room->name));
	if ((o = json_pack("{s:s,s:s,s:o}", "k", p->nick, "m", p->name, "r",
	    rooms)) == NULL)
		return NULL;
	s = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	return s;
}

/* ops->user_event: publish what a local user did (once announced). */
void
cluster_user_event(struct hub *h, const struct peer *p, enum remote_ev ev,
    const char *a, const char *b)
{
	struct cluster *c = h->cluster;
	char users[CLUSTER_KEY_MAX], sess[24], *rec = NULL, *evs = NULL;
	char holder[CLUSTER_NODE_MAX + 24], oldkey[NICK_KEY_MAX + 1] = "";
	const char *args[9];
	struct nick_id nid;
	const char *why;
	json_t *o;

	if (c == NULL || !c->up || !c->announced)
		return;	/* the next announce() carries it */
	key_of(users, sizeof(users), "users", c->node);
	snprintf(sess, sizeof(sess), "%llu", (unsigned long long)p->session);
	if (ev != REMOTE_QUIT && (rec = record_of(p)) == NULL)
		return;
	o = json_pack("{s:s,s:s,s:I,s:s,s:s,s:o}", "e", cluster_pres_name(ev),
	    "n", c->node, "s", (json_int_t)p->session, "a", a ? a : "",
	    "b", b ? b : "", "u", rec ? json_loads(rec, 0, NULL) : json_null());
	if (o != NULL)
		evs = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	if (ev == REMOTE_NICK && a != NULL && nick_identify(a, &nid, &why) == 0)
		strlcpy(oldkey, nid.key, sizeof(oldkey));
	snprintf(holder, sizeof(holder), "%s %llu", c->node,
	    (unsigned long long)p->session);
	args[0] = users;
	args[1] = "sb:nicks";
	args[2] = sess;
	args[3] = rec ? rec : "";
	args[4] = evs;
	args[5] = CLUSTER_PRES_CHANNEL;
	args[6] = ev == REMOTE_QUIT ? p->key : oldkey;
	args[7] = ev == REMOTE_NICK ? p->key : "";
	args[8] = holder;
	if (evs != NULL)
		(void)script_run_n(c, "a presence change", PRES_LUA,
		    c->pres_sha, "2", args, 9);
		/* lost with the connection: announce() carries it */
	free(rec);
	free(evs);
}

/* What a nick claim's answer is for. */
struct claim {
	struct cluster		*c;
	uint64_t		 session;
	char			 key[NICK_KEY_MAX + 1];
};

static void
on_claimed(redisAsyncContext *ac, void *reply, void *arg)
{
	struct claim *cl = arg;
	redisReply *r = reply;
	struct cluster *c = cl->c;
	char holder[CLUSTER_NODE_MAX + 24];
	const char *args[3] = { "sb:nicks", cl->key, holder };

	if (!c->stopping) {
		/* no answer (Redis went): this hub decides, as when away;
		 * an error (logged): the login is refused, `busy` */
		enum claim_answer ans = r == NULL || (r->type ==
		    REDIS_REPLY_INTEGER && r->integer == 1) ? CLAIM_HELD :
		    CLAIM_TAKEN;

		if (r != NULL && r->type != REDIS_REPLY_INTEGER) {
			if (!reply_failed(c, r, "claiming a nick"))
				refuse(c, "", -EBADMSG, "a nick claim's answer");
			ans = CLAIM_REFUSED;
		}

		hub_nick_claimed(c->h, cl->session, ans);
		if (ans == CLAIM_HELD && r != NULL && hub_find_session(c->h,
		    cl->session) == NULL) {	/* gone meanwhile: let go */
			snprintf(holder, sizeof(holder), "%s %llu", c->node,
			    (unsigned long long)cl->session);
			(void)script_run_n(c, "letting go of a nick",
			    RELEASE_LUA, c->release_sha, "1", args, 3);
		}
	}
	free(cl);
}

/* ops->nick_claim: ask Redis (NICK_LUA); 0 when it is away. */
int
cluster_nick_claim(struct hub *h, const struct peer *p, const char *key)
{
	struct cluster *c = h->cluster;
	char holder[CLUSTER_NODE_MAX + 24];
	const char *args[4] = { "sb:nicks", "sb:nodes", key, holder };
	struct claim *cl;

	if (c == NULL || !c->up || !c->announced ||
	    (cl = calloc(1, sizeof(*cl))) == NULL)
		return 0;
	*cl = (struct claim){ .c = c, .session = p->session };
	strlcpy(cl->key, key, sizeof(cl->key));
	snprintf(holder, sizeof(holder), "%s %llu", c->node,
	    (unsigned long long)p->session);
	if (script_run(c, NICK_LUA, c->nick_sha, on_claimed, cl, "2", args,
	    NULL, 4) < 0) {
		free(cl);
		return 0;
	}
	return 1;
}

/* Put {k,f,t,s,x,w} in the inbox of remote user `u`'s node (PM_LUA). */
static int
inbox_send(struct cluster *c, const struct ruser *u, const char *kind,
    const char *from, const char *text)
{
	char chan[CLUSTER_KEY_MAX], *body;
	json_t *o;
	int r;

	strlcpy(chan, u->node, sizeof(chan));	/* obx_send: its inbox */
	o = json_pack("{s:s,s:s,s:s,s:I,s:s,s:I}", "k", kind, "f", from,
	    "t", u->nick, "s", (json_int_t)u->session, "x", text,
	    "w", (json_int_t)time(NULL));
	body = o != NULL ? json_dumps(o, JSON_COMPACT) : NULL;
	json_decref(o);
	if (body == NULL)
		return -ENOMEM;
	r = obx_queue(c, "", "", chan, body, strlen(body));
	free(body);
	return r < 0 ? r : 0;
}

/* ops->private_send: to remote user `u`, through its node's channel. */
int
cluster_private_send(struct hub *h, const struct peer *p,
    const struct ruser *u, const char *kind, const char *text)
{
	if (h->cluster == NULL)
		return -ENOTCONN;
	return inbox_send(h->cluster, u, kind, p->nick, text);
}

/*
 * ops->remote_kick: end remote user `u` on its node (kind "kick" or
 * "ban"), through the node's inbox as a private message goes, so that
 * it is not lost when the node is not subscribed at this moment.
 */
int
cluster_remote_kick(struct hub *h, const struct ruser *u, const char *kind,
    const char *text)
{
	if (h->cluster == NULL)
		return -ENOTCONN;
	return inbox_send(h->cluster, u, kind, h->cluster->node, text);
}

static void	pm_arrive(struct cluster *, const char *, size_t);

/* Ask TAKE_LUA to let go of the inbox up to `after`, and take `n`. */
static int
inbox_take(struct cluster *c, uint64_t after, unsigned n,
    redisCallbackFn *fn)
{
	char inbox[CLUSTER_KEY_MAX], inseq[CLUSTER_KEY_MAX], a[24], k[16];
	const char *args[5] = { inbox, inseq, a, c->in_epoch, k };

	key_of(inbox, sizeof(inbox), "inbox", c->node);
	key_of(inseq, sizeof(inseq), "inseq", c->node);
	snprintf(a, sizeof(a), "%llu", (unsigned long long)after);
	snprintf(k, sizeof(k), "%u", n);
	return script_send(c, TAKE_LUA, c->drain_sha, &(struct scall){
	    .fn = fn, .arg = c, .what = fn != NULL ? "taking the inbox" :
	    "letting go of the inbox", .need = fn != NULL }, "2", args, NULL,
	    5);
}

/*
 * Keep this node's place in its inbox on disk, before what it delivers
 * leaves the hub: a hub restarted (its handlers alive) does not deliver
 * again what the inbox still holds.  Without the file, the inbox lets go
 * of each message as it is delivered.
 */
static void
inbox_save(struct cluster *c)
{
	char line[64];
	int n;

	if (c->in_next <= 1)
		return;
	if (c->in_fd < 0) {
		(void)inbox_take(c, c->in_next - 1, 0, NULL);
		write_now(c);
		return;
	}
	n = snprintf(line, sizeof(line), "%llu %s\n",
	    (unsigned long long)(c->in_next - 1), c->in_epoch);
	if (n > 0 && pwrite(c->in_fd, line, (size_t)n, 0) != n) {
		sb_log(LOG_WARNING, "cluster: %s: %m; the inbox lets go of "
		    "each message now", CLUSTER_INBOX_FILE);
		close(c->in_fd);
		c->in_fd = -1;
		inbox_save(c);
	}
}

/* The place kept by inbox_save(), at start; the file opened for it. */
static void
inbox_load(struct cluster *c, const char *state_dir)
{
	char path[PATH_MAX], buf[64];
	ssize_t n;
	uint64_t seq;

	c->in_fd = -1;
	if (state_dir[0] == '\0' || snprintf(path, sizeof(path), "%s/%s",
	    state_dir, CLUSTER_INBOX_FILE) >= (int)sizeof(path))
		return;
	if ((c->in_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW,
	    0600)) < 0) {
		sb_log(LOG_WARNING, "cluster: %s: %m; the inbox lets go of "
		    "each message as it is delivered", path);
		return;
	}
	if ((n = pread(c->in_fd, buf, sizeof(buf), 0)) <= 0)
		return;
	if (cluster_inbox_place(buf, (size_t)n, &seq, c->in_epoch) < 0) {
		sb_log(LOG_WARNING, "cluster: %s: not a place in the inbox; "
		    "ignored", path);
		c->in_epoch[0] = '\0';
		return;
	}
	c->in_next = seq + 1;
}

/* TAKE_LUA's answer checked: {COUNTER, EPOCH, entries}; NULL if not. */
static const redisReply *
take_reply(const redisReply *r, uint64_t *top, const char **epoch)
{
	const char *n;

	if (r->type != REDIS_REPLY_ARRAY || r->elements != 3 ||
	    (n = reply_str(r->element[0])) == NULL || strlen(n) == 0 ||
	    strlen(n) > 18 || strspn(n, "0123456789") != strlen(n) ||
	    (*epoch = reply_str(r->element[1])) == NULL ||
	    strlen(*epoch) == 0 || strlen(*epoch) > CLUSTER_EPOCH_MAX ||
	    strspn(*epoch, "0123456789") != strlen(*epoch) ||
	    r->element[2]->type != REDIS_REPLY_ARRAY)
		return NULL;
	*top = strtoull(n, NULL, 10);
	return r->element[2];
}

/*
 * TAKE_LUA's answer to a drain: each private message delivered, in
 * order; the next number is after the last taken, or after the counter
 * when all was taken.  A counter of another epoch starts from nothing.
 * Publishes heard meanwhile: drained again.
 */
static void
on_drained(redisAsyncContext *ac, void *reply, void *arg)
{
	struct cluster *c = arg;
	const redisReply *r = reply, *list;
	const char *epoch;
	uint64_t seq, top;
	size_t i, off;

	if (c->stopping)
		return;
	c->draining = 0;
	if (r == NULL)	/* lost, or an error: again after the reconnect */
		return;
	if ((list = take_reply(r, &top, &epoch)) == NULL) {
		refuse(c, "", -EBADMSG, "the inbox's answer");
		return;
	}
	if (strcmp(epoch, c->in_epoch) != 0) {
		strlcpy(c->in_epoch, epoch, sizeof(c->in_epoch));
		c->in_next = 0;
	}
	c->in_synced = 1;
	for (i = 0; i < list->elements; i++) {
		if (list->element[i]->type != REDIS_REPLY_STRING ||
		    cluster_inbox_entry(list->element[i]->str,
		    list->element[i]->len, &seq, &off) < 0) {
			refuse(c, "", -EBADMSG, "an inbox entry");
			continue;
		}
		if (c->in_next != 0 && seq < c->in_next)
			continue;	/* delivered from its publish */
		c->in_next = seq + 1;
		pm_arrive(c, list->element[i]->str + off,
		    list->element[i]->len - off);
	}
	if (list->elements < CLUSTER_TAKE_MAX && top + 1 > c->in_next)
		c->in_next = top + 1;	/* all up to the counter is here */
	c->in_trimmed = c->in_next > 0 ? c->in_next - 1 : 0;
	if (c->in_fd >= 0)
		inbox_save(c);
	if (list->elements == CLUSTER_TAKE_MAX || c->drain_again)
		inbox_drain(c);	/* more wait */
}

/*
 * Take what this node's inbox holds (at a subscribe, a number missed,
 * or a publish heard before a drain told the next number).  A hub that
 * just started waits until its handlers' sessions are back (its first
 * announce), or what waited for them would find nobody.
 */
static void
inbox_drain(struct cluster *c)
{
	if (!c->ever_announced) {	/* the sessions are not back yet */
		c->drain_held = 1;
		return;
	}
	if (c->draining) {
		c->drain_again = 1;
		return;
	}
	c->drain_again = 0;
	if (inbox_take(c, c->in_next > 0 ? c->in_next - 1 : 0,
	    CLUSTER_TAKE_MAX, on_drained) == 0)
		c->draining = 1;
}

/*
 * A publish on sb:to:NODE, "SEQ BODY": the next number is delivered at
 * once, its place kept first (inbox_save); a repeat is dropped; anything
 * else drains the inbox.  The inbox lets go of what was delivered once a
 * second (on_tick), or at once without the file.
 */
static void
inbox_heard(struct cluster *c, const char *buf, size_t len)
{
	uint64_t seq;
	size_t off;

	if (cluster_inbox_entry(buf, len, &seq, &off) < 0 || !c->in_synced ||
	    c->draining || c->in_next == 0 || seq > c->in_next) {
		inbox_drain(c);
		return;
	}
	if (seq < c->in_next)
		return;
	c->in_next = seq + 1;
	inbox_save(c);
	pm_arrive(c, buf + off, len - off);
}

/* Once a second: the inbox lets go of what was delivered since. */
static void
inbox_trim(struct cluster *c)
{
	if (!c->up || !c->in_synced || c->in_fd < 0 || c->in_next <= 1 ||
	    c->in_next - 1 <= c->in_trimmed)
		return;
	if (inbox_take(c, c->in_next - 1, 0, NULL) == 0)
		c->in_trimmed = c->in_next - 1;
}

/* A private message for a session here, from this node's inbox. */
static void
pm_arrive(struct cluster *c, const char *buf, size_t len)
{
	struct cluster_pm pm;
	struct peer *p;
	int e;

	if ((e = cluster_pm_decode(buf, len, &pm)) < 0) {
		refuse(c, "", e, "a private message");
		return;
	}
	p = hub_find_session(c->h, pm.session);
	if ((p == NULL || strcmp(p->nick, pm.to) != 0) &&
	    pm.time <= c->started_unix) {
		/* sent to a session of the hub before this one: the session
		 * came back here (RESUME) under a new number, with its nick */
		p = hub_find_nick(c->h, pm.to);
		if (p != NULL && !p->resumed)
			p = NULL;
	}
	if (p == NULL || p->dead || strcmp(p->nick, pm.to) != 0)
		return;	/* gone meanwhile */
	if (strcmp(pm.kind, "kick") == 0 || strcmp(pm.kind, "ban") == 0)
		hub_kick_remote(c->h, p, pm.kind[0] == 'b', pm.text,
		    pm.from);
	else
		cluster_private(c->h, p, pm.kind, pm.from, pm.text, pm.time);
}

/* --- bans: one list for every machine -------------------------------------- */

/*
 * The list's epoch, `e`: its field "_e", set from the clock when the
 * hash has none (new, or Redis lost it).  A ban a hub saw in the list is
 * shared in that epoch; in another, the hub writes it again.
 */
#define BANS_EPOCH_LUA \
	"local e = redis.call('HGET', KEYS[1], '_e')\n" \
	"if not e then\n" \
	"  local t = redis.call('TIME')\n" \
	"  e = t[1] .. string.format('%06d', tonumber(t[2]))\n" \
	"  redis.call('HSET', KEYS[1], '_e', e)\n" \
	"end\n"

/*
 * KEYS: the bans' hash.  ARGV: the ban's field, its value, the channel.
 * The ban goes into the list, and every hub is told which field changed
 * (each reads it: what it reads is checked, not what was published).
 */
static const char BAN_LUA[] =
	BANS_EPOCH_LUA
	"redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])\n"
	"redis.call('PUBLISH', ARGV[3], ARGV[1])\n";

/* KEYS: the bans' hash.  Returns {EPOCH, the hash's fields and values}. */
static const char BANS_LUA[] =
	BANS_EPOCH_LUA
	"return {e, redis.call('HGETALL', KEYS[1])}\n";

/*
 * KEYS: the bans' hash.  ARGV: the ban's field, the value it must have,
 * the channel.  The ban leaves the list only if it is the one meant (a
 * ban lifted here while Redis was away does not take a newer ban given
 * elsewhere meanwhile), and every hub is told.  Returns 1 or 0.
 */
static const char UNBAN_LUA[] =
	"local v = redis.call('HGET', KEYS[1], ARGV[1])\n"
	"if v ~= ARGV[2] then return 0 end\n"
	"redis.call('HDEL', KEYS[1], ARGV[1])\n"
	"redis.call('PUBLISH', ARGV[3], ARGV[1])\n"
	"return 1\n";

/* BAN_LUA or UNBAN_LUA for `field` and `value`; 0 or -ENOTCONN. */
static int
bans_run(struct cluster *c, int lift, const char *field, const char *value,
    redisCallbackFn *fn, void *arg)
{
	const char *args[4] = { CLUSTER_BANS_KEY, field, value,
	    CLUSTER_BANS_CHANNEL };

	return script_run(c, lift ? UNBAN_LUA : BAN_LUA, lift ? c->unban_sha :
	    c->ban_sha, fn, arg, "1", args, NULL, 4);
}

/* A write to the list answered: an error is logged. */
static void
on_ban_written(redisAsyncContext *ac, void *reply, void *arg)
{
	struct cluster *c = ac->data;

	if (reply != NULL && !c->stopping)
		(void)reply_failed(c, reply, "writing a ban");
}

/*
 * An unban answered (arg: the ban, freed here): it no longer waits.
 * None (the connection went): it waits, sent again after the reconnect.
 */
static void
on_unbanned(redisAsyncContext *ac, void *reply, void *arg)
{
	struct cluster *c = ac->data;
	struct ban *b = arg;

	if (reply != NULL && !c->stopping &&
	    !reply_failed(c, reply, "lifting a ban"))
		(void)bans_remove(&c->unbans, b, NULL);
	free(b);
}

/*
 * Write ban `b` to the list, or (lift) take it out if the list still has
 * this very ban.  Lost with the connection: a ban stays not shared here,
 * and an unban waits in c->unbans, both sent again after the reconnect.
 */
static void
ban_send(struct cluster *c, const struct ban *b, int lift)
{
	char field[CLUSTER_BAN_FIELD_MAX + 1], val[CLUSTER_BAN_MAX + 1];
	struct ban *copy = NULL;

	if (cluster_ban_field(b, field, sizeof(field)) < 0 ||
	    cluster_ban_encode(b, val, sizeof(val)) < 0 ||
	    (lift && (copy = malloc(sizeof(*copy))) == NULL))
		return;	/* a ban of the hub always fits */
	if (copy != NULL)
		*copy = *b;
	if (bans_run(c, lift, field, val, lift ? on_unbanned : on_ban_written,
	    copy) < 0)
		free(copy);
}

/* Save the list after a change from the cluster; a failure is logged. */
static void
bans_saved(struct cluster *c)
{
	char warn[512];

	if (bans_save(&c->h->bans, c->h->bans_path, warn, sizeof(warn)) < 0)
		sb_log(LOG_ERR, "bans: not saved: %s", warn);
}

/* A ban from another machine is in force here: logged and enforced. */
static void
ban_arrived(struct cluster *c, const struct ban *b)
{
	char until[64];

	ban_until_str(b, until, sizeof(until));
	sb_log_event(SB_EV_BAN, &(struct sb_log_fields){
	    .nick = b->kind == BAN_NICK ? b->target : NULL,
	    .remote = b->kind == BAN_ADDRESS ? b->target : NULL,
	    .reason = b->reason }, "%s %s banned through the cluster %s%s%s",
	    b->kind == BAN_NICK ? "nick" : "address", b->target, until,
	    b->reason[0] ? ": " : "", b->reason);
	(void)hub_ban_enforce(c->h, b);
}

/* A ban lifted on another machine, gone from the list here: logged. */
static void
ban_lifted(const struct ban *b, const char *how)
{
	sb_log_event(SB_EV_UNBAN, &(struct sb_log_fields){
	    .nick = b->kind == BAN_NICK ? b->target : NULL,
	    .remote = b->kind == BAN_ADDRESS ? b->target : NULL },
	    "ban on %s lifted %s", b->target, how);
}

/* A ban read from the list after its publish: kept here, and enforced. */
static void
ban_take(struct cluster *c, const struct ban *b)
{
	struct hub *h = c->h;
	time_t now = time(NULL);
	int r;

	if (b->until != 0 && b->until <= now)
		return;	/* ended: the next merge takes it out of the list */
	(void)bans_expire(&h->bans, now);
	if ((r = bans_share(&h->bans, b, c->bans_epoch)) < 0) {
		sb_log_event(SB_EV_HUB_ERROR, &(struct sb_log_fields){
		    .reason = "bans full" }, "cluster: the ban on %s is not "
		    "kept here: %s", b->target, r == -ENOSPC ? "the ban list "
		    "is full" : strerror(-r));
		return;
	}
	if (r == BAN_SAME)
		return;
	bans_saved(c);
	if (r == BAN_NEW)
		ban_arrived(c, b);
}

/* The list no longer has the ban of `field`: lifted here too. */
static void
ban_gone(struct cluster *c, const char *field)
{
	char f[CLUSTER_BAN_FIELD_MAX + 1];
	struct hub *h = c->h;
	struct ban b;
	size_t i;

	for (i = 0; i < h->bans.n; i++)
		if (cluster_ban_field(&h->bans.v[i], f, sizeof(f)) >= 0 &&
		    strcmp(f, field) == 0)
			break;
	if (i == h->bans.n)
		return;
	(void)bans_remove(&h->bans, &h->bans.v[i], &b);
	(void)bans_remove(&c->unbans, &b, NULL);	/* done, elsewhere */
	bans_saved(c);
	ban_lifted(&b, "on another machine");
}

/* HGET of a field just published (arg: the field, freed here). */
static void
on_ban_read(redisAsyncContext *ac, void *reply, void *arg)
{
	struct cluster *c = ac->data;
	redisReply *r = reply;
	char *field = arg;
	struct ban b;
	int e;

	/* an error (logged): the next connect reads the whole list */
	if (r != NULL && !c->stopping && !reply_failed(c, r, "reading a ban")) {
		if (r->type == REDIS_REPLY_NIL)
			ban_gone(c, field);
		else if (r->type != REDIS_REPLY_STRING)
			refuse(c, "", -EBADMSG, "a ban");
		else if ((e = cluster_ban_decode(field, strlen(field), r->str,
		    r->len, &b)) < 0)
			refuse(c, "", e, "a ban");
		else
			ban_take(c, &b);
	}
	free(field);
}

/* A field published on sb:banned: read what the list holds for it now. */
static void
ban_heard(struct cluster *c, const char *field, size_t len)
{
	const char *argv[3] = { "HGET", CLUSTER_BANS_KEY, NULL };
	char *f;

	if (len == 0 || len > CLUSTER_BAN_FIELD_MAX ||
	    memchr(field, '\0', len) != NULL) {
		refuse(c, "", len > CLUSTER_BAN_FIELD_MAX ? -EMSGSIZE :
		    -EBADMSG, "the name of a ban");
		return;
	}
	if (!c->up || (f = strndup(field, len)) == NULL)
		return;
	argv[2] = f;
	if (cmd_send(c, &(struct scall){ .fn = on_ban_read, .arg = f,
	    .what = "reading a ban" }, 3, argv, NULL) < 0)
		free(f);
}

/*
 * The list as read after a connect, merged (bans_merge): the bans given
 * elsewhere meanwhile enforced here, those lifted elsewhere lifted here,
 * this hub's bans not yet in the list written to it.
 */
static void
bans_merged(struct cluster *c, const struct bans *list)
{
	struct hub *h = c->h;
	struct bans_merged m;
	size_t i;
	int r;

	(void)bans_expire(&h->bans, time(NULL));
	if ((r = bans_merge(&h->bans, list, c->bans_epoch, &m)) < 0)
		sb_log_event(SB_EV_HUB_ERROR, &(struct sb_log_fields){
		    .reason = "bans full" }, "cluster: not every ban of Redis "
		    "is kept here: %s", r == -ENOSPC ? "the ban list is full" :
		    strerror(-r));
	if (r != 0)
		bans_saved(c);
	for (i = 0; i < m.lifted.n; i++)
		ban_lifted(&m.lifted.v[i], "on another machine while this "
		    "one was away from Redis");
	for (i = 0; i < m.added.n; i++)
		ban_arrived(c, &m.added.v[i]);
	for (i = 0; i < m.unsent.n; i++)
		ban_send(c, &m.unsent.v[i], 0);
	sb_log(LOG_INFO, "cluster: bans: %zu in Redis, %zu new here, %zu "
	    "lifted here, %zu of this hub's written", list->n, m.added.n,
	    m.lifted.n, m.unsent.n);
	bans_merged_free(&m);
}

/*
 * One field of the list read after a connect: its epoch is skipped, a
 * ban that ended is taken out of the list (if it is still that one),
 * the rest goes into `list`.  Returns 0, or why a ban is refused.
 */
static int
bans_field(struct cluster *c, const redisReply *k, const redisReply *v,
    time_t now, struct bans *list)
{
	struct ban b;
	int e;

	if (k->type != REDIS_REPLY_STRING || v->type != REDIS_REPLY_STRING)
		return -EBADMSG;
	if (strcmp(k->str, "_e") == 0)
		return 0;
	if ((e = cluster_ban_decode(k->str, k->len, v->str, v->len, &b)) < 0)
		return e;
	if (b.until != 0 && b.until <= now) {	/* ended */
		(void)bans_run(c, 1, k->str, v->str, on_ban_written, NULL);
		return 0;
	}
	return bans_add(list, &b);
}

/*
 * BANS_LUA's answer after a connect, {EPOCH, fields and values}: each
 * ban checked (the refused ones logged once, with how many), and the
 * rest merged.
 */
static void
on_bans(redisAsyncContext *ac, void *reply, void *arg)
{
	struct cluster *c = arg;
	struct bans list = { NULL, 0, 0 };
	const redisReply *r = reply, *all;
	const char *epoch;
	time_t now = time(NULL);
	unsigned refused = 0;
	size_t i;
	int e, why = 0;

	if (r == NULL || c->stopping)
		return;
	if (r->type != REDIS_REPLY_ARRAY || r->elements != 2 ||
	    (epoch = reply_str(r->element[0])) == NULL || epoch[0] == '\0' ||
	    strlen(epoch) > BAN_EPOCH_MAX ||
	    strspn(epoch, "0123456789") != strlen(epoch) ||
	    (all = r->element[1])->type != REDIS_REPLY_ARRAY ||
	    all->elements % 2 != 0) {
		refuse(c, "", -EBADMSG, "the bans");
		return;
	}
	for (i = 0; i + 1 < all->elements; i += 2)
		if ((e = bans_field(c, all->element[i], all->element[i + 1],
		    now, &list)) < 0) {
			refused++;
			why = e;
		}
	if (refused > 0) {
		c->refused += refused;
		sb_log_event(SB_EV_HUB_ERROR, &(struct sb_log_fields){
		    .reason = strerror(-why) }, "cluster: refused %u bans from "
		    "Redis (%s)", refused, why == -ENOSPC ? "more than "
		    "BANS_MAX" : strerror(-why));
	}
	strlcpy(c->bans_epoch, epoch, sizeof(c->bans_epoch));
	bans_merged(c, &list);
	bans_free(&list);
}

/*
 * After a connect, once sb:banned is subscribed (so that nothing
 * published from now on is missed): the unbans given here while Redis
 * was away first, then the whole list read (BANS_LUA, on_bans).
 */
static void
bans_sync(struct cluster *c)
{
	const char *args[1] = { CLUSTER_BANS_KEY };
	size_t i;

	if (!c->up)
		return;
	for (i = 0; i < c->unbans.n; i++)
		ban_send(c, &c->unbans.v[i], 1);
	(void)script_read(c, "reading the bans", BANS_LUA, c->bans_sha,
	    on_bans, c, "1", args, 1);
}

/*
 * ops->ban_share: ban `b` given here (on) goes into the list, now or at
 * the next connect's merge (it is not shared until then); a ban lifted
 * here leaves it, now or at the next connect (c->unbans).
 */
void
cluster_ban_share(struct hub *h, const struct ban *b, int on)
{
	struct cluster *c = h->cluster;

	if (c == NULL)
		return;
	if (on) {
		(void)bans_remove(&c->unbans, b, NULL);	/* given again */
		if (c->up)
			ban_send(c, b, 0);
		return;
	}
	if (bans_add(&c->unbans, b) < 0)
		sb_log(LOG_WARNING, "cluster: the ban on %s is lifted here "
		    "only: too many unbans wait for Redis", b->target);
	else if (c->up)
		ban_send(c, b, 1);
}

/* --- members: one member store for every machine ------------------------ */

/*
 * The whole members file is shared, as a text: the hash sb:members holds
 * `v` (a version Redis counts up), `d` (the text's SHA-256) and `t` (the
 * text), written together by one script that publishes the version on
 * the channel sb:members.  The rule (docs/cluster.md, "Members"): at the
 * hub's start and at each connect the cluster's copy wins (taken into
 * the file here, and loaded), unless the operator changed the file here
 * and reloaded since the hub last agreed with the cluster: then this
 * machine's file wins and is written to Redis.  A publish from another
 * hub is taken as at a connect.
 */

/*
 * KEYS: the members' hash.  ARGV: the digest of this hub's file.
 * Returns {} when Redis has no copy, {V, D} when the copy is this very
 * text, else {V, D, T}.
 */
static const char MEMBERS_GET_LUA[] =
	"local m = redis.call('HMGET', KEYS[1], 'v', 'd')\n"
	"if not m[1] then return {} end\n"
	"if m[2] == ARGV[1] then return {m[1], m[2]} end\n"
	"return {m[1], m[2] or '', redis.call('HGET', KEYS[1], 't') or ''}\n";

/*
 * KEYS: the members' hash.  ARGV: the text's digest, the text, the
 * channel.  Unless the hash holds this very text already: the next
 * version, the text and its digest at once, and the version published.
 * Returns the version.
 */
static const char MEMBERS_PUT_LUA[] =
	"local v = redis.call('HGET', KEYS[1], 'v')\n"
	"if v and redis.call('HGET', KEYS[1], 'd') == ARGV[1] then\n"
	"  return v\n"
	"end\n"
	"v = string.format('%d', (tonumber(v or '0') or 0) + 1)\n"
	"redis.call('HSET', KEYS[1], 'v', v, 'd', ARGV[1], 't', ARGV[2])\n"
	"redis.call('PUBLISH', ARGV[3], v)\n"
	"return v\n";

/*
 * This hub's members file, read and checked as the hub loads it: 1 and
 * its text (*text, *len: the caller wipes and frees it), 0 when there is
 * none, or a negative errno with the reason in err.
 */
static int
members_local(struct cluster *c, char **text, size_t *len, char *err,
    size_t errsz)
{
	char path[512];
	struct members *ms;
	int r;

	*text = NULL;
	*len = 0;
	if (members_path(path, sizeof(path), c->h->cfg.state_dir,
	    c->h->cfg.members_file) < 0) {
		snprintf(err, errsz, "members_file: path too long");
		return -ENAMETOOLONG;
	}
	if ((r = members_load_text(path, &ms, text, len, err, errsz)) ==
	    -ENOENT)
		return 0;
	if (r < 0)
		return r;
	members_free(ms);
	return 1;
}

static void
text_wipe(char *text, size_t len)
{
	if (text != NULL) {
		explicit_bzero(text, len);
		free(text);
	}
}

/* The hub has a member store (auth is not `guest`). */
static int
members_on(const struct cluster *c)
{
	return c->h->cfg.auth != AUTH_GUEST;
}

/*
 * Note the digest of the file the store was just loaded from (at start
 * and at a reload).  Returns 0, or a negative errno (logged) when the
 * file no longer loads: then nothing is noted.
 */
static int
members_note(struct cluster *c)
{
	char err[512], *text;
	size_t len;
	int r;

	if ((r = members_local(c, &text, &len, err, sizeof(err))) < 0) {
		sb_log_event(SB_EV_HUB_ERROR, &(struct sb_log_fields){
		    .reason = err }, "cluster: members: %s", err);
		return r;
	}
	members_digest(text, len, c->mem_loaded);
	c->mem_have = r == 1;
	text_wipe(text, len);
	return 0;
}

/* The put's answer (arg: the digest written, freed here). */
static void
on_members_put(redisAsyncContext *ac, void *reply, void *arg)
{
	struct cluster *c = ac->data;
	const redisReply *r = reply;
	char *digest = arg;
	const char *v;
	uint64_t n = 0;

	if (r != NULL && !c->stopping &&
	    !reply_failed(c, r, "writing the members")) {
		if ((v = reply_str(r)) == NULL ||
		    cluster_members_decode(v, strlen(v), digest,
		    strlen(digest), 0, &n) < 0)
			refuse(c, "", -EBADMSG, "the members' version");
		else if (strcmp(digest, c->mem_loaded) == 0) {
			c->mem_dirty = c->mem_bad = 0;
			c->mem_version = n;
			strlcpy(c->mem_base, digest, sizeof(c->mem_base));
			sb_log(LOG_INFO, "cluster: members: this machine's "
			    "file is the cluster's, version %llu",
			    (unsigned long long)n);
		}
	}
	free(digest);
}

/*
 * Write this machine's file to Redis (MEMBERS_PUT_LUA): the file as the
 * store was loaded from it (one changed since, not reloaded, waits for
 * its reload).  Lost with the connection: it stays to be written
 * (mem_dirty), at the next connect.
 */
static void
members_upload(struct cluster *c)
{
	char digest[MEMBERS_DIGEST_LEN + 1], err[512], *text, *arg;
	const char *args[4] = { CLUSTER_MEMBERS_KEY, digest, NULL,
	    CLUSTER_MEMBERS_CHANNEL };
	size_t len, lens[4];
	int r, i;

	if ((r = members_local(c, &text, &len, err, sizeof(err))) <= 0) {
		if (r < 0)
			sb_log_event(SB_EV_HUB_ERROR, &(struct sb_log_fields){
			    .reason = err }, "cluster: members: not shared: "
			    "%s", err);
		return;
	}
	members_digest(text, len, digest);
	if (strcmp(digest, c->mem_loaded) != 0) {
		sb_log(LOG_WARNING, "cluster: members: the file changed "
		    "since it was loaded; shared at its reload");
		text_wipe(text, len);
		return;
	}
	args[2] = text;
	for (i = 0; i < 4; i++)
		lens[i] = i == 2 ? len : strlen(args[i]);
	if ((arg = strdup(digest)) != NULL &&
	    script_run(c, MEMBERS_PUT_LUA, c->mput_sha, on_members_put, arg,
	    "1", args, lens, 4) < 0)
		free(arg);
	text_wipe(text, len);
}

/*
 * Take the cluster's text (version `version`, digest `digest`): checked
 * as the file is (members_parse), written to this machine's file (unless
 * the operator changed it here since it was loaded), and loaded.  A text
 * refused or not written is logged; the file and the store stay.
 */
static void
members_take(struct cluster *c, const char *text, size_t len,
    const char *digest, uint64_t version)
{
	struct hub *h = c->h;
	struct members *ms;
	char path[512], err[512];
	int r;

	if ((r = members_parse(CLUSTER_MEMBERS_KEY, text, len, &ms, err,
	    sizeof(err))) < 0) {
		c->refused++;
		c->mem_bad = 1;
		sb_log_event(SB_EV_HUB_ERROR, &(struct sb_log_fields){
		    .reason = err }, "cluster: refused the members from Redis "
		    "(version %llu): %s; this machine's file is kept",
		    (unsigned long long)version, err);
		return;
	}
	if (members_path(path, sizeof(path), h->cfg.state_dir,
	    h->cfg.members_file) < 0)
		snprintf(err, sizeof(err), "members_file: path too long");
	else if (members_replace(path, text, len, c->mem_loaded, err,
	    sizeof(err)) == 0) {
		members_free(h->members);
		h->members = ms;
		strlcpy(c->mem_loaded, digest, sizeof(c->mem_loaded));
		strlcpy(c->mem_base, digest, sizeof(c->mem_base));
		c->mem_have = 1;
		c->mem_bad = 0;
		c->mem_version = version;
		sb_log(LOG_NOTICE, "cluster: members: took version %llu from "
		    "Redis into %s (%zu members)", (unsigned long long)version,
		    path, ms->count);
		return;
	}
	members_free(ms);
	sb_log_event(SB_EV_HUB_ERROR, &(struct sb_log_fields){
	    .reason = err }, "cluster: members: version %llu from Redis not "
	    "taken: %s", (unsigned long long)version, err);
}

/*
 * MEMBERS_GET_LUA's answer: no copy in Redis (this hub's file becomes
 * it), the same text as here, or another text: checked, and taken
 * unless this machine's file is to win.
 */
static void
on_members_got(redisAsyncContext *ac, void *reply, void *arg)
{
	struct cluster *c = ac->data;
	const redisReply *r = reply, *t;
	char digest[MEMBERS_DIGEST_LEN + 1];
	const char *v, *d;
	uint64_t n;
	int e;

	(void)arg;
	if (r == NULL || c->stopping)
		return;
	if (r->type != REDIS_REPLY_ARRAY || r->elements == 1 ||
	    r->elements > 3) {
		c->mem_bad = 1;
		refuse(c, "", -EBADMSG, "the members");
		return;
	}
	if (r->elements == 0) {	/* Redis has none: this hub's, if any */
		if (c->mem_have)
			members_upload(c);
		return;
	}
	t = r->elements == 3 ? r->element[2] : NULL;
	if ((v = reply_str(r->element[0])) == NULL ||
	    (d = reply_str(r->element[1])) == NULL ||
	    (t != NULL && t->type != REDIS_REPLY_STRING)) {
		c->mem_bad = 1;
		refuse(c, "", -EBADMSG, "the members");
		return;
	}
	if ((e = cluster_members_decode(v, strlen(v), d, strlen(d),
	    t != NULL ? t->len : 0, &n)) < 0) {
		c->mem_bad = 1;
		refuse(c, "", e, "the members");
		return;
	}
	if (t == NULL) {	/* the very text of this hub */
		c->mem_version = n;
		c->mem_bad = 0;
		if (!c->mem_dirty)
			strlcpy(c->mem_base, d, sizeof(c->mem_base));
		return;
	}
	members_digest(t->str, t->len, digest);
	if (strcmp(digest, d) != 0) {
		c->mem_bad = 1;
		refuse(c, "", -EBADMSG, "the members (not the text's digest)");
		return;
	}
	if (c->mem_dirty)	/* changed here: this machine's wins */
		members_upload(c);
	else
		members_take(c, t->str, t->len, d, n);
}

/* Read the cluster's copy, with this hub's digest (MEMBERS_GET_LUA). */
static void
members_fetch(struct cluster *c)
{
	const char *args[2] = { CLUSTER_MEMBERS_KEY, c->mem_loaded };

	if (c->up)
		(void)script_read(c, "reading the members", MEMBERS_GET_LUA,
		    c->mget_sha, on_members_got, NULL, "1", args, 2);
}

/* After a connect, once sb:members is subscribed: one side wins. */
static void
members_sync(struct cluster *c)
{
	if (!members_on(c) || !c->up)
		return;
	if (c->mem_dirty)
		members_upload(c);
	else
		members_fetch(c);
}

/* A version published on sb:members: read the copy. */
static void
members_heard(struct cluster *c, const char *v, size_t len)
{
	size_t i;

	for (i = 0; i < len && v[i] >= '0' && v[i] <= '9'; i++)
		;
	if (len == 0 || len > 19 || i != len) {
		refuse(c, "", -EBADMSG, "the members' version");
		return;
	}
	if (members_on(c))
		members_fetch(c);
}

/*
 * The hub reloaded its member store (server.c): a file changed here
 * since the hub last agreed with the cluster is this machine's to share,
 * now or at the next connect, and so is any file when the cluster's copy
 * was refused here (it repairs it); an unchanged one is checked against
 * the cluster's copy.
 */
void
cluster_members_reloaded(struct hub *h)
{
	struct cluster *c = h->cluster;

	if (c == NULL || !members_on(c) || members_note(c) < 0)
		return;
	c->mem_dirty = c->mem_have && (c->mem_bad ||
	    strcmp(c->mem_loaded, c->mem_base) != 0);
	if (!c->up)
		return;	/* at the connect (members_sync) */
	if (c->mem_dirty)
		members_upload(c);
	else
		members_fetch(c);
}

static struct rnode *
rnode_get(struct cluster *c, const char *name, int make)
{
	struct rnode k = { 0 }, *n;	/* only the name is compared */

	strlcpy(k.name, name, sizeof(k.name));
	if ((n = RB_FIND(rnodes, &c->nodes, &k)) != NULL || !make)
		return n;
	if ((n = calloc(1, sizeof(*n))) == NULL)
		return NULL;
	strlcpy(n->name, name, sizeof(n->name));
	RB_INSERT(rnodes, &c->nodes, n);
	return n;
}

static void
rnode_clear(struct rnode *n)
{
	while (n->nqueued > 0)
		free(n->queued[--n->nqueued]);
}

/* Node `n` is gone: each of its users quits here, once. */
static void
rnode_gone(struct cluster *c, struct rnode *n, const char *reason)
{
	remote_node_mark(c->h, n->name);
	remote_node_sweep(c->h, n->name, reason);
	RB_REMOVE(rnodes, &c->nodes, n);
	rnode_clear(n);
	free(n);
}

/* Apply one event of node `n` (the next by its counter). */
static void
pres_apply(struct cluster *c, struct rnode *n, const struct cluster_pres *ev)
{
	n->last = ev->counter;
	n->gone_at = 0;
	if (ev->ev == REMOTE_QUIT)
		remote_quit(c->h, n->name, ev->session, ev->a);
	else if (remote_set(c->h, n->name, ev->session, &ev->user, ev->ev,
	    ev->a, ev->b) < 0)
		refuse(c, "", -EBADMSG, "a user");
}

/* Take an event of `n` (taken over): queued while its snapshot comes. */
static void
pres_take(struct cluster *c, struct rnode *n, struct cluster_pres *ev)
{
	if (n->syncing || ev->counter > n->last + 1) {
		if (n->nqueued < CLUSTER_NODE_EVENTS_MAX)
			n->queued[n->nqueued++] = ev;
		else
			free(ev);	/* the snapshot will have it */
		node_sync(c, n);
		return;
	}
	if (ev->counter == n->last + 1)
		pres_apply(c, n, ev);
	free(ev);
}

/* A presence event (taken over). */
static void
pres_arrive(struct cluster *c, struct cluster_pres *ev)
{
	struct rnode *n;

	if (strcmp(ev->node, c->node) == 0) {
		if (ev->down && c->announced)	/* reaped while alive */
			cluster_down(c, NULL);
		free(ev);
		return;
	}
	n = rnode_get(c, ev->node, !ev->down);
	if (ev->down) {
		if (n != NULL)
			rnode_gone(c, n, "Connection lost");
		free(ev);
	} else if (n == NULL)
		free(ev);
	else if (ev->ev == REMOTE_SYNC) {	/* a reset: read it all again */
		n->syncing = 0;
		free(ev);
		node_sync(c, n);
	} else
		pres_take(c, n, ev);
}

/* What a snapshot's answer is for. */
struct snap {
	struct cluster		*c;
	char			 node[CLUSTER_NODE_MAX + 1];
	uint64_t		 gen;
	int			 first;	/* counted in c->syncs */
};

/* One field of a snapshot: "_c" (the counter) or SESSION and a record. */
static void
snap_field(struct cluster *c, struct rnode *n, const redisReply *k,
    const redisReply *v)
{
	struct remote_user u;
	uint64_t s;
	char *e;
	int r;

	if (k->type != REDIS_REPLY_STRING || v->type != REDIS_REPLY_STRING)
		return;
	if (strcmp(k->str, "_c") == 0) {
		n->last = strtoull(v->str, &e, 10);
		return;
	}
	s = strtoull(k->str, &e, 10);
	if (*e != '\0' || s == 0 || k->len > 19 ||
	    (r = cluster_record_decode(v->str, v->len, &u)) < 0 ||
	    (r = remote_set(c->h, n->name, s, &u, REMOTE_SYNC, NULL, NULL)) < 0)
		refuse(c, "", -EBADMSG, "a user of a snapshot");
}

/* A node's snapshot applied, then the events that waited for it. */
static void
snap_apply(struct cluster *c, struct rnode *n, const redisReply *r)
{
	struct cluster_pres *q[CLUSTER_NODE_EVENTS_MAX];
	unsigned i, nq;
	size_t j;

	remote_node_mark(c->h, n->name);
	for (j = 0; j + 1 < r->elements; j += 2)
		snap_field(c, n, r->element[j], r->element[j + 1]);
	remote_node_sweep(c->h, n->name, "Connection lost");
	n->syncing = 0;
	n->gone_at = 0;
	nq = n->nqueued;
	memcpy(q, n->queued, nq * sizeof(q[0]));
	n->nqueued = 0;
	for (i = 0; i < nq; i++) {
		if (q[i]->counter <= n->last)
			free(q[i]);
		else if (q[i]->counter > n->last + 1) {
			/*
			 * What came after the read is numbered on from it,
			 * with no hole (one channel, in order): this event is
			 * of a counter Redis rolled back (an old RDB), or
			 * forged.  Reading again would find the same.
			 */
			refuse(c, "", -EBADMSG, "a presence event (not "
			    "after its node's snapshot)");
			free(q[i]);
		} else
			pres_take(c, n, q[i]);
	}
}

static void
on_snapshot(redisAsyncContext *ac, void *reply, void *arg)
{
	struct snap *sn = arg;
	struct cluster *c = sn->c;
	redisReply *r = reply;
	struct rnode *n;

	/* none (lost, or an error): read again after the reconnect; an
	 * answer that does not check: refused, and read again at the
	 * node's next event */
	if (!c->stopping && r != NULL && (n = rnode_get(c, sn->node, 0)) !=
	    NULL && n->gen == sn->gen) {
		if (r->type == REDIS_REPLY_ARRAY &&
		    r->elements % 2 == 0)
			snap_apply(c, n, r);
		else {
			refuse(c, "", -EBADMSG, "a snapshot");
			n->syncing = 0;
		}
	}
	if (!c->stopping && sn->first && c->syncs > 0 && --c->syncs == 0 &&
	    c->up)
		announce(c);
	free(sn);
}

/* Read node `n`'s users again (HGETALL); its events wait meanwhile. */
static void
node_sync_first(struct cluster *c, struct rnode *n, int first)
{
	char users[CLUSTER_KEY_MAX];
	const char *argv[2] = { "HGETALL", users };
	struct snap *sn;

	if (!c->up || (sn = calloc(1, sizeof(*sn))) == NULL)
		return;
	n->syncing = 1;
	*sn = (struct snap){ .c = c, .gen = ++n->gen, .first = first };
	strlcpy(sn->node, n->name, sizeof(sn->node));
	key_of(users, sizeof(users), "users", n->name);
	if (cmd_read(c, "reading a node's users", on_snapshot, sn, 2,
	    argv) < 0) {
		free(sn);
		return;
	}
	c->syncs += first;
}

static void
node_sync(struct cluster *c, struct rnode *n)
{
	if (!n->syncing)
		node_sync_first(c, n, 0);
}

/*
 * The live nodes (ZRANGE sb:nodes) after a (re)connect: each one read
 * again.  A node known here that is not among them is gone unless it
 * announces within a lease (nodes_reap): Redis may have lost its data,
 * and that node be on its way back, its users never gone.  Once all are
 * read, this node announces itself (announce()).
 */
static void
on_nodes(redisAsyncContext *ac, void *reply, void *arg)
{
	struct cluster *c = arg;
	redisReply *r = reply;
	struct rnode *n;
	size_t i;

	if (reply == NULL || c->stopping)
		return;
	if (r->type != REDIS_REPLY_ARRAY) {
		refuse(c, "", -EBADMSG, "the live nodes");
		cluster_down(c, NULL);	/* not announced: again, later */
		return;
	}
	RB_FOREACH(n, rnodes, &c->nodes)
		n->live = 0;
	for (i = 0; i < r->elements; i++) {
		const redisReply *e = r->element[i];

		if (e->type != REDIS_REPLY_STRING ||
		    !cluster_node_ok(e->str, e->len) ||
		    strcmp(e->str, c->node) == 0 ||
		    (n = rnode_get(c, e->str, 1)) == NULL)
			continue;
		n->live = 1;
		node_sync_first(c, n, 1);
	}
	RB_FOREACH(n, rnodes, &c->nodes)
		if (!n->live && n->gone_at == 0)
			n->gone_at = c->h->ops->now_usec(c->h) +
			    CLUSTER_LEASE_USEC;
	if (c->syncs == 0)
		announce(c);
}

/* Each second: the nodes not found at a reconnect that did not announce. */
static void
nodes_reap(struct cluster *c, uint64_t now)
{
	struct rnode *n, *next;

	for (n = RB_MIN(rnodes, &c->nodes); n != NULL; n = next) {
		next = RB_NEXT(rnodes, &c->nodes, n);
		if (c->up && n->gone_at != 0 && now >= n->gone_at)
			rnode_gone(c, n, "Connection lost");
	}
}

/*
 * Settle nick conflicts, then put this node's users in Redis at once
 * (RESET_LUA) and tell the others to read them.  A nick held here and on
 * another machine (both kept it through a partition) stays with the
 * other machine, which has held it in Redis meanwhile: the session here
 * is told nick_lost and ended (docs/cluster.md, "Nicks").
 */
static void
announce(struct cluster *c)
{
	struct hub *h = c->h;

	if (!c->ever_announced && (h->hold_until != 0 ||
	    h->ops->now_usec(h) < c->started + CLUSTER_FIRST_ANNOUNCE_USEC)) {
		c->announce_later = 1;	/* on_tick tries again */
		return;
	}
	c->announce_later = 0;
	c->ever_announced = 1;
	announce_now(c);
	if (c->drain_held) {	/* what waited for the sessions to resume */
		c->drain_held = 0;
		inbox_drain(c);
	}
}

/* announce() without the wait of a hub that just started. */
static void
announce_now(struct cluster *c)
{
	struct hub *h = c->h;
	char users[CLUSTER_KEY_MAX], nodes[CLUSTER_KEY_MAX];
	const char **args;
	char **recs, (*sess)[24];
	struct peer *p, *pn;
	size_t n = 0, i;

	RB_FOREACH_SAFE(p, peer_nicks, &h->nicks, pn) {
		if (p->dead || remote_find_key(h, p->key) == NULL)
			continue;
		send_error(h, p, "nick_lost", "Your nick was taken on another "
		    "machine while this one was cut off; identify again.");
		hub_log_peer(SB_EV_KICK, p, &(struct sb_log_fields){
		    .reason = "nick_lost" }, "%s: nick held on another machine "
		    "after a partition", p->nick);
		hub_peer_kill(h, p, "nick_lost", "Nick taken on another machine");
		hub_peer_gone(h, p, "Nick lost");
	}
	RB_FOREACH(p, peer_nicks, &h->nicks)
		n++;
	args = calloc(6 + 3 * n, sizeof(*args));
	recs = calloc(n + 1, sizeof(*recs));
	sess = calloc(n + 1, sizeof(*sess));
	if (args == NULL || recs == NULL || sess == NULL)
		goto out;
	key_of(users, sizeof(users), "users", c->node);
	snprintf(nodes, sizeof(nodes), "sb:nodes");
	args[0] = users;
	args[1] = nodes;
	args[2] = "sb:nicks";
	args[3] = c->node;
	args[4] = CLUSTER_LEASE_MS;
	args[5] = CLUSTER_PRES_CHANNEL;
	i = 0;
	RB_FOREACH(p, peer_nicks, &h->nicks) {
		if (i >= n || (recs[i] = record_of(p)) == NULL)
			break;
		snprintf(sess[i], sizeof(sess[i]), "%llu",
		    (unsigned long long)p->session);
		args[6 + 3 * i] = sess[i];
		args[7 + 3 * i] = recs[i];
		args[8 + 3 * i] = p->key;
		i++;
	}
	if (script_run_n(c, "announcing this node", RESET_LUA, c->reset_sha,
	    "3", args, (int)(6 + 3 * i)) == 0) {
		c->announced = 1;
		sb_log_event(SB_EV_CLUSTER, &(struct sb_log_fields){
		    .reason = "connected" }, "cluster: connected to Redis at "
		    "%s (port %d) as node %s, with %zu users; %u messages "
		    "sent after the wait", c->host, c->port, c->node, i,
		    c->nout);
	}
out:
	for (i = 0; recs != NULL && i < n; i++)
		free(recs[i]);
	free(recs);
	free(sess);
	free(args);
}

/* --- connecting, and coming back ------------------------------------------ */

static void	on_nodes(redisAsyncContext *, void *, void *);

/*
 * After a (re)connect: subscribe to the presence channel, this node's
 * private messages, the bans and the member store.  Once the presence
 * channel is subscribed (on_sub), the live nodes are read (nodes_read).
 */
static void
presence_start(struct cluster *c)
{
	char to[CLUSTER_KEY_MAX];
	const char *sub[5] = { "SUBSCRIBE", CLUSTER_PRES_CHANNEL, to,
	    CLUSTER_BANS_CHANNEL, CLUSTER_MEMBERS_CHANNEL };

	key_of(to, sizeof(to), "to", c->node);
	c->announced = 0;
	c->syncs = 0;
	(void)redisAsyncCommandArgv(c->sub, on_sub, c, 5, sub, NULL);
}

/*
 * Read the live nodes (on_nodes, then announce): only once sb:pres is
 * subscribed, so that a node's event published after its snapshot was
 * read is heard here, never lost between the two connections.
 */
static void
nodes_read(struct cluster *c)
{
	const char *zr[4] = { "ZRANGE", "sb:nodes", "0", "-1" };

	(void)cmd_read(c, "reading the live nodes", on_nodes, c, 4, zr);
}

static void	connect_both(struct cluster *);

/* Both connections ready: subscribe, send what waited, catch up. */
static void
cluster_ready(struct cluster *c)
{
	struct croom *cr;

	if (!c->cmd_ready || !c->sub_ready || c->up)
		return;
	c->up = 1;
	c->up_at = c->h->ops->now_usec(c->h);	/* the backoff: on_tick */
	sb_log(LOG_INFO, "cluster: connected to Redis at %s (port %d) as "
	    "node %s; %u messages waited", c->host, c->port, c->node,
	    c->nout);
	outbox_flush(c);
	presence_start(c);
	RB_FOREACH(cr, crooms, &c->rooms) {
		room_subscribe(c, cr, 1);
		if (cr->o.next == 0)
			room_sync(c, cr);
	}
}

static void
on_auth(redisAsyncContext *ac, void *reply, void *arg)
{
	struct cluster *c = arg;

	if (reply == NULL || c->stopping)
		return;
	if (reply_failed(c, reply, "AUTH")) {
		/* wrong password or user: down, and again after the backoff */
		c->backoff = CLUSTER_BACKOFF_MAX;
		cluster_down(c, NULL);
		return;
	}
	if (ac == c->cmd)
		c->cmd_ready = 1;
	else
		c->sub_ready = 1;
	cluster_ready(c);
}

/* AUTH as the password file says, or a PING to the same end. */
static void
send_auth(struct cluster *c, redisAsyncContext *ac)
{
	const char *argv[3] = { "AUTH" };
	int n = 1;

	if (c->user[0])
		argv[n++] = c->user;
	if (c->pass[0])
		argv[n++] = c->pass;
	else
		argv[0] = "PING";
	(void)redisAsyncCommandArgv(ac, on_auth, c, n, argv, NULL);
}

static void
on_connected(const redisAsyncContext *ac, int status)
{
	struct cluster *c = ac->data;

	if (status != REDIS_OK && !c->stopping) {
		sb_log(LOG_WARNING, "cluster: cannot connect to Redis at %s: "
		    "%s", c->host, ac->errstr);
		/* hiredis frees it after this; its twin goes too */
		cluster_down(c, ac);
	}
}

static void
on_disconnected(const redisAsyncContext *ac, int status)
{
	struct cluster *c = ac->data;

	/* one cluster_down() let go of already: not this connection's */
	if (!c->stopping && (ac == c->cmd || ac == c->sub))
		cluster_down(c, ac);
}

/* One connection, hooked to the loop, AUTH queued.  NULL: failed. */
static redisAsyncContext *
connect_one(struct cluster *c)
{
	redisAsyncContext *ac;

	ac = c->port == 0 ? redisAsyncConnectUnix(c->host) :
	    redisAsyncConnect(c->host, c->port);
	if (ac == NULL)
		return NULL;
	if (ac->err || adapter_attach(c, ac) < 0) {
		sb_log(LOG_WARNING, "cluster: cannot connect to Redis at %s: "
		    "%s", c->host, ac->err ? ac->errstr : "out of memory");
		redisAsyncFree(ac);
		return NULL;
	}
	ac->data = c;
	redisAsyncSetConnectCallback(ac, on_connected);
	redisAsyncSetDisconnectCallback(ac, on_disconnected);
	send_auth(c, ac);
	return ac;
}

static int
on_retry(sd_event_source *s, uint64_t usec, void *arg)
{
	connect_both(arg);
	return 0;
}

/* Try again after the backoff (100 ms doubling to 5 s, +-25 %). */
static void
retry_later(struct cluster *c)
{
	uint64_t ms = c->backoff * 3 / 4 + arc4random_uniform(c->backoff / 2
	    + 1);

	c->backoff = c->backoff * 2 > CLUSTER_BACKOFF_MAX ?
	    CLUSTER_BACKOFF_MAX : c->backoff * 2;
	c->retry = sd_event_source_disable_unref(c->retry);
	if (sd_event_add_time_relative(c->ev, &c->retry, CLOCK_MONOTONIC,
	    ms * 1000, 0, on_retry, c) < 0)
		sb_log(LOG_ERR, "cluster: cannot arm the reconnect timer");
}

static void
connect_both(struct cluster *c)
{
	c->pub_sha[0] = c->sync_sha[0] = c->pres_sha[0] = '\0';
	c->hb_sha[0] = c->reap_sha[0] = c->reset_sha[0] = '\0';
	c->nick_sha[0] = c->release_sha[0] = '\0';
	c->pm_sha[0] = c->drain_sha[0] = '\0';
	c->ban_sha[0] = c->unban_sha[0] = c->bans_sha[0] = '\0';
	c->mget_sha[0] = c->mput_sha[0] = '\0';
	c->ping_sent = 0;
	if ((c->cmd = connect_one(c)) == NULL ||
	    (c->sub = connect_one(c)) == NULL) {
		cluster_down(c, NULL);
		return;
	}
}

/* What was sent and not answered goes again first, then what waited. */
static void
outbox_requeue(struct cluster *c)
{
	struct obx *o;

	while ((o = TAILQ_LAST(&c->inflight, obxq)) != NULL) {
		TAILQ_REMOVE(&c->inflight, o, entry);
		TAILQ_INSERT_HEAD(&c->outbox, o, entry);
	}
}

/*
 * Redis is away (a connection lost or refused, a silent Redis, a bad
 * AUTH): both connections go (not `dying`, which hiredis is freeing),
 * every followed room will be subscribed and caught up again, the
 * joins that waited get the history kept here, and a reconnect is armed.
 */
static void
cluster_down(struct cluster *c, const redisAsyncContext *dying)
{
	redisAsyncContext *cmd = c->cmd, *sub = c->sub;
	struct croom *cr;
	struct rnode *n;

	if (c->downing)
		return;
	c->downing = 1;
	c->cmd = c->sub = NULL;
	c->cmd_ready = c->sub_ready = 0;
	if (cmd != NULL && cmd != dying)
		redisAsyncFree(cmd);
	if (sub != NULL && sub != dying)
		redisAsyncFree(sub);
	if (c->up)
		sb_log_event(SB_EV_HUB_ERROR, &(struct sb_log_fields){
		    .reason = "Redis lost" }, "cluster: lost Redis at %s; "
		    "messages for other machines wait (at most %u)", c->host,
		    CLUSTER_OUTBOX_MAX);
	c->up = 0;
	c->in_synced = 0;	/* a drain first: the epoch may change */
	c->draining = c->drain_again = 0;
	c->in_trimmed = 0;
	c->bans_epoch[0] = '\0';	/* read again at the merge */
	c->announced = 0;
	c->announce_later = 0;
	c->syncs = 0;
	RB_FOREACH(n, rnodes, &c->nodes)
		n->gone_at = 0;	/* as last known until Redis is back */
	outbox_requeue(c);
	RB_FOREACH(cr, crooms, &c->rooms) {
		cr->subscribed = cr->o.fetching = 0;
		cr->retry_at = 0;	/* fetched after the reconnect */
		cr->gen = ++c->gens;
		corder_clear(&cr->o);
		first_fetch_lost(c, cr);	/* if it was cut off */
	}
	c->downing = 0;
	if (!c->stopping)
		retry_later(c);
}

static void
on_pong(redisAsyncContext *ac, void *reply, void *arg)
{
	struct cluster *c = arg;

	if (reply != NULL && !c->stopping)
		c->ping_sent = 0;
}

/* The lease's answer: the nodes whose lease ended, each reaped once. */
static void
on_heartbeat(redisAsyncContext *ac, void *reply, void *arg)
{
	struct cluster *c = arg;
	redisReply *r = reply;
	char users[CLUSTER_KEY_MAX];
	const char *args[4] = { "sb:nodes", users, NULL,
	    CLUSTER_PRES_CHANNEL };
	size_t i;

	if (r == NULL || c->stopping || r->type != REDIS_REPLY_ARRAY)
		return;
	for (i = 0; i < r->elements; i++) {
		const redisReply *e = r->element[i];

		if (e->type != REDIS_REPLY_STRING ||
		    !cluster_node_ok(e->str, e->len) ||
		    strcmp(e->str, c->node) == 0)
			continue;
		key_of(users, sizeof(users), "users", e->str);
		args[2] = e->str;
		(void)script_run_n(c, "ending a node's lease", REAP_LUA,
		    c->reap_sha, "2", args, 4);
	}
}

/* Renew this node's lease (once announced), and find ended ones. */
static void
heartbeat(struct cluster *c)
{
	const char *args[3] = { "sb:nodes", c->node, CLUSTER_LEASE_MS };

	/* also before the first announce: the users the lease keeps
	 * are those of the last run, which are resuming */
	(void)script_read(c, "renewing the lease", HB_LUA, c->hb_sha,
	    on_heartbeat, c, "1", args, 3);
	if (c->announce_later && c->syncs == 0)
		announce(c);
}

/* Each second: a PING; one unanswered for 3 s takes Redis down. */
static int
on_tick(sd_event_source *s, uint64_t usec, void *arg)
{
	struct cluster *c = arg;
	const char *argv[1] = { "PING" };

	if (c->up && c->ping_sent != 0 &&
	    usec - c->ping_sent > CLUSTER_SILENT_USEC) {
		sb_log(LOG_WARNING, "cluster: Redis at %s did not answer for "
		    "%llu s", c->host, CLUSTER_SILENT_USEC / 1000000);
		cluster_down(c, NULL);
	} else if (c->up && c->ping_sent == 0 &&
	    redisAsyncCommandArgv(c->cmd, on_pong, c, 1, argv, NULL) ==
	    REDIS_OK) {
		c->ping_sent = usec;
		heartbeat(c);
	}
	/* a connection that lasted: the next wait is short again (one that
	 * a refused read ends at once keeps doubling it) */
	if (c->up && usec >= c->up_at &&
	    usec - c->up_at >= CLUSTER_BACKOFF_MAX * 1000ULL)
		c->backoff = CLUSTER_BACKOFF_MIN;
	if (c->up)
		fetch_retries(c, usec);
	inbox_trim(c);
	nodes_reap(c, usec);
	sd_event_source_set_time(s, usec + CLUSTER_PING_USEC);
	return 0;
}

/* --- start and stop ------------------------------------------------------- */

/*
 * The cluster's settings from the config: the address, the password
 * file, the node name.  Returns 0 or -EINVAL with the reason in err.
 */
static int
cluster_configure(struct cluster *c, const struct sb_config *cfg, char *err,
    size_t errsz)
{
	char line[512];
	struct stat st;
	FILE *f;
	int ok;

	if (cluster_addr_parse(cfg->cluster_redis, c->host, sizeof(c->host),
	    &c->port, err, errsz) < 0)
		return -EINVAL;
	if (cfg->cluster_node[0])
		strlcpy(c->node, cfg->cluster_node, sizeof(c->node));
	else if (gethostname(line, sizeof(line)) == 0) {
		line[strcspn(line, ".")] = '\0';	/* the short name */
		strlcpy(c->node, line, sizeof(c->node));
	}
	if (!cluster_node_ok(c->node, strlen(c->node))) {
		snprintf(err, errsz, "cluster_node: \"%.40s\" is not a node "
		    "name (1 to 32 of A-Z a-z 0-9 . _ -)", c->node);
		return -EINVAL;
	}
	if (cfg->cluster_password[0] == '\0')
		return 0;
	if ((f = fopen(cfg->cluster_password, "re")) == NULL) {
		snprintf(err, errsz, "cluster_password: %s: %s",
		    cfg->cluster_password, strerror(errno));
		return -EINVAL;
	}
	ok = fstat(fileno(f), &st) == 0 && (st.st_mode & 007) == 0 &&
	    fgets(line, sizeof(line), f) != NULL &&
	    cluster_password_parse(line, c->user, sizeof(c->user), c->pass,
	    sizeof(c->pass)) == 0;
	fclose(f);
	explicit_bzero(line, sizeof(line));
	if (!ok) {
		snprintf(err, errsz, "cluster_password: %s: expected one line, "
		    "\"USER PASSWORD\" or \"PASSWORD\", in a file others "
		    "cannot read", cfg->cluster_password);
		return -EINVAL;
	}
	return 0;
}

/*
 * Start the cluster on the loop `ev` (h->cluster is set): connecting
 * begins now, and goes on in the background until Redis answers.
 * Returns 0, or -EINVAL (logged here, with what to fix) or -ENOMEM.
 */
int
cluster_start(struct hub *h, sd_event *ev)
{
	struct cluster *c;
	char err[512];
	int r;

	if ((c = calloc(1, sizeof(*c))) == NULL)
		return -ENOMEM;
	c->h = h;
	c->ev = ev;
	c->backoff = CLUSTER_BACKOFF_MIN;
	c->started = h->ops->now_usec(h);
	c->started_unix = (int64_t)time(NULL);
	TAILQ_INIT(&c->outbox);
	TAILQ_INIT(&c->inflight);
	RB_INIT(&c->rooms);
	RB_INIT(&c->nodes);
	snprintf(c->boot, sizeof(c->boot), "%08x%08x", arc4random(),
	    arc4random());
	if ((r = cluster_configure(c, &h->cfg, err, sizeof(err))) < 0) {
		sb_log(LOG_ERR, "config: %s", err);
		free(c);
		return r;
	}
	inbox_load(c, h->cfg.state_dir);
	if ((r = sd_event_add_time_relative(ev, &c->tick, CLOCK_MONOTONIC,
	    CLUSTER_PING_USEC, 0, on_tick, c)) < 0) {
		if (c->in_fd >= 0)
			close(c->in_fd);
		free(c);
		return r;
	}
	sd_event_source_set_enabled(c->tick, SD_EVENT_ON);
	h->cluster = c;
	strlcpy(h->node, c->node, sizeof(h->node));
	/* The file as loaded at start: the cluster's copy wins over it. */
	if (members_on(c) && members_note(c) == 0)
		strlcpy(c->mem_base, c->mem_loaded, sizeof(c->mem_base));
	connect_both(c);
	return 0;
}

/* Stop: the connections closed, what waited dropped (logged). */
void
cluster_stop(struct hub *h)
{
	struct cluster *c = h->cluster;
	struct croom *cr;
	struct rnode *rn;
	struct obx *o;

	if (c == NULL)
		return;
	c->stopping = 1;
	if (c->nout > 0)
		sb_log(LOG_WARNING, "cluster: stopping with %u messages not "
		    "sent to Redis", c->nout);
	cluster_down(c, NULL);
	while ((o = TAILQ_FIRST(&c->outbox)) != NULL)
		obx_free(c, &c->outbox, o);
	while ((rn = RB_ROOT(&c->nodes)) != NULL) {
		RB_REMOVE(rnodes, &c->nodes, rn);
		rnode_clear(rn);
		free(rn);
	}
	while ((cr = RB_ROOT(&c->rooms)) != NULL) {
		RB_REMOVE(crooms, &c->rooms, cr);
		corder_clear(&cr->o);
		free(cr);
	}
	bans_free(&c->unbans);
	sd_event_source_disable_unref(c->retry);
	sd_event_source_disable_unref(c->tick);
	explicit_bzero(c->pass, sizeof(c->pass));
	if (c->in_fd >= 0)
		close(c->in_fd);
	free(c);
	h->cluster = NULL;
}

