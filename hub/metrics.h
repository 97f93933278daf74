/* SPDX-License-Identifier: ISC */
/*
 * The hub's counters, in one place (hub/metrics.c), and their text in
 * the Prometheus exposition format (0.0.4) for /metrics and
 * `switchboardctl metrics`; docs/metrics.md lists every metric.
 *
 * Counting costs nothing measurable: a counter is a plain uint64_t in
 * struct hub_metrics, bumped where its event happens (the hub runs on
 * one thread: no lock, no atomic), never allocated.  A counter with a
 * label is an array indexed by one of the enums below, whose names are
 * fixed tables in metrics.c: no label ever holds a nick, a room or
 * anything else a client chose.  What is a state rather than an event
 * (sessions now, rooms, history, the queues) is read when the text is
 * made, by walking the hub: no counting on the hot paths at all.
 *
 * metrics.c is below every file that counts (they call it, it calls
 * none of them): what it needs of the sessions and of the command table
 * comes to metrics_render() in a struct metrics_view.
 */
#ifndef SB_METRICS_H
#define SB_METRICS_H

#include <stdint.h>

#include "proto.h"

/*
 * Why a chat session ended: the C_CLOSE code of hub_peer_kill(), or
 * what the handler said in H_QUIT, or METRICS_END_CLOSED when the
 * handler went away without a word (zero: a session's default).
 */
enum metrics_end {
	METRICS_END_CLOSED, METRICS_END_QUIT, METRICS_END_TIMEOUT,
	METRICS_END_KICKED, METRICS_END_BANNED, METRICS_END_FLOOD,
	METRICS_END_SLOW_READER, METRICS_END_SERVER_FULL,
	METRICS_END_TOO_MANY, METRICS_END_LOGIN_DISABLED, METRICS_END_ENDED,
	METRICS_END_ERROR,
	METRICS_END_COUNT
};

/*
 * Why a connection failed before it became a session (H_EVENT's third
 * field): the HTTP status the handler answered, or "timeout" (nothing
 * came); any other word counts as "other".
 */
enum metrics_handshake {
	METRICS_HS_400, METRICS_HS_403, METRICS_HS_404, METRICS_HS_405,
	METRICS_HS_408, METRICS_HS_414, METRICS_HS_426, METRICS_HS_431,
	METRICS_HS_500, METRICS_HS_503, METRICS_HS_505, METRICS_HS_TIMEOUT,
	METRICS_HS_OTHER,
	METRICS_HS_COUNT
};

/* The kinds of messages routed (C_MSG's kind, history aside). */
enum metrics_kind {
	METRICS_KIND_PRIVATE, METRICS_KIND_ROOM, METRICS_KIND_ANNOUNCE,
	METRICS_KIND_COUNT
};

/* A session's dialect, told by its handler (H_DIALECT). */
enum metrics_dialect {
	METRICS_DIALECT_NONE, METRICS_DIALECT_TEXT, METRICS_DIALECT_XML,
	METRICS_DIALECT_JSON,
	METRICS_DIALECT_COUNT
};

#define METRICS_ERRORS	24	/* error codes (metrics.c), "other" last */
#define METRICS_BUCKETS_MAX 16	/* buckets of a histogram, +Inf too */
#define METRICS_CHUNK_MAX 8192	/* bytes of text in one C_METRICS */
#define METRICS_TEXT_MAX (256 * 1024)	/* the whole text, at most */

/* A histogram: counts per bucket (not cumulative), as observed. */
struct metrics_hist {
	uint64_t	 bucket[METRICS_BUCKETS_MAX];
	uint64_t	 count;
	uint64_t	 sum;		/* in the unit of the bounds */
};

struct hub_metrics {
	uint64_t	 sessions_started;
	uint64_t	 sessions_ended[METRICS_END_COUNT];
	uint64_t	 resumed;	/* sessions re-registered (RESUME) */
	uint64_t	 reconnects;	/* HELLOs carrying an earlier epoch */
	uint64_t	 epoch_changes;	/* earlier epochs seen, once each */
	uint32_t	 last_old_epoch;
	uint64_t	 handshake_failures[METRICS_HS_COUNT];
	uint64_t	 commands[SB_TYPE_COUNT];	/* hub_cmds' rows */
	uint64_t	 flood_refusals[SB_TYPE_COUNT];
	uint64_t	 routed[METRICS_KIND_COUNT];
	uint64_t	 deliveries;	/* C_MSG sent, history aside */
	uint64_t	 datagrams;	/* written to handlers (a batch: one) */
	uint64_t	 replayed;	/* history entries sent on JOIN */
	uint64_t	 errors[METRICS_ERRORS];
	struct metrics_hist queue;	/* bytes queued for handlers */
	struct metrics_hist routing;	/* usec to route a message */
	uint64_t	 busiest_at;	/* usec: the last busiest look */
	uint64_t	 busiest_window;	/* usec it spanned */
};

/* What a message type is, in the command table (for the text). */
enum metrics_cmd { METRICS_CMD_NONE, METRICS_CMD, METRICS_CMD_METERED };

/*
 * What the text needs of the hub above metrics.c, which calls it (the
 * sessions of peers.c, the command table of dispatch.c): read by
 * hub_metrics_text() (peers.c) and handed to metrics_render(), so that
 * metrics.c calls none of the files that count.
 */
struct metrics_view {
	uint64_t	 connections[SB_TRANSPORT_COUNT][METRICS_DIALECT_COUNT];
	uint64_t	 queued;	/* bytes waiting for handlers now */
	unsigned char	 cmds[SB_TYPE_COUNT];	/* enum metrics_cmd */
};

/* The hub's own process, for the text (struct hub_ops, proc_stats). */
struct metrics_proc {
	double		 cpu_seconds;	/* user + system, every thread */
	uint64_t	 resident_bytes;
	uint64_t	 virtual_bytes;
	uint64_t	 open_fds;
	uint64_t	 max_fds;
};

#endif /* SB_METRICS_H */
