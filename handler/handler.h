/* SPDX-License-Identifier: ISC */
/*
 * switchboard-handler: one process per client connection.
 *
 * It sniffs the first bytes (sniff.c) and then speaks exactly one of: the
 * Flash socket policy, a small HTTP/1.1 subset (serve.c), WebSocket
 * (ws*.c), or XMLSocket (xmlsock.c).  Chat traffic is translated by the
 * dialects (dialect*.c) into normalized messages for the hub.  main.c
 * owns the file descriptors, the buffers and the deadlines; session.c
 * decides what each byte means.
 *
 * Memory: thousands of handlers run at once, so what one costs matters
 * (docs/benchmarks.md).  Buffers of a datagram or a read are static, not
 * on the stack: the process is single-threaded, and a static buffer dirties
 * only the pages a message fills, where a large stack frame dirties every
 * page it spans (stack-clash probing touches each one).
 */
#ifndef SB_HANDLER_H
#define SB_HANDLER_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "buf.h"
#include "config.h"
#include "dialect.h"
#include "log.h"
#include "http.h"
#include "proto.h"
#include "store.h"
#include "ws.h"

#define HANDLER_CONFIG_WAIT_MS	5000	/* for the hub's C_CONFIG at start */
#define HANDLER_LINGER_MS	2000	/* draining input after the last reply */
#define HANDLER_HUBQ_MAX	(256 * 1024)	/* datagrams waiting for the hub */
#define HANDLER_HELD_MAX	(64 * 1024)	/* own replies waiting (session.c) */
#define HANDLER_RECONNECT_MS	60000	/* how long to wait for a new hub */
#define HANDLER_BACKOFF_MIN_MS	50	/* first reconnect delay, doubling */
#define HANDLER_BACKOFF_MAX_MS	2000
#define HANDLER_ROOMS_MAX	32	/* rooms remembered for RESUME */
#define HANDLER_TRIM_BYTES	(16 * 1024) /* give freed heap back above this */
#define HANDLER_IDLE_TRIM_MS	500	/* quiet this long: give memory back once */

enum sniff_result {
	SNIFF_NEED_MORE, SNIFF_POLICY, SNIFF_HTTP, SNIFF_XMLSOCKET,
};

enum conn_mode {
	MODE_SNIFF,		/* waiting for the first bytes */
	MODE_HTTP,		/* reading a request head */
	MODE_STATUS,		/* waiting for the hub's C_STATUS */
	MODE_XMLSOCKET,		/* chat over raw XMLSocket */
	MODE_WEBSOCKET,		/* after the 101 */
	MODE_CLOSING,		/* flushing the last bytes, then exit */
};

enum ws_kind { WSK_CHAT, WSK_TUNNEL, WSK_ECHO };

struct conn {
	int		 in_fd, out_fd;	/* the client (same fd for fd 3) */
	int		 hub_fd;	/* -1 when the hub is unreachable */
	unsigned	 hub_gen;	/* hub sockets made so far */
	int		 hub_broken;	/* a send failed: read what is left */
	const char	*hub_path;
	char		 hub_error[128];	/* why the hub is unreachable */
	struct sb_config cfg;		/* defaults, then the hub's C_CONFIG */
	int		 have_config;
	enum conn_mode	 mode;
	enum ws_kind	 ws_kind;
	char		 remote[SB_REMOTE_MAX + 1];
	uint64_t	 session;	/* from C_WELCOME */
	uint32_t	 epoch;		/* the hub's, from its datagrams */
	uint64_t	 seq;		/* last sequence number seen */
	int		 hello_sent;

	struct buf	 in;		/* client bytes not yet understood */
	struct buf	 out;		/* bytes for the client */
	struct buf	 hubq;		/* [u32 len][datagram]... for the hub */
	/* The handler's own replies wait for the hub's answers (session.c). */
	struct buf	 held;		/* [struct held_reply][bytes]... */
	uint64_t	 cmds_sent;	/* commands sent to the hub */
	uint64_t	 cmds_answered;	/* the first this many are answered */
	uint64_t	 barrier;	/* cmds_sent counted by the last barrier */

	struct dialect	 dialect;	/* chat sessions */
	int		 dialect_set;
	char		 term;		/* XMLSocket reply terminator */
	struct ws_conn	 ws;
	int		 ws_active;
	int		 head_only;	/* HTTP HEAD */
	int		 status_json;	/* /server-status?json */

	uint64_t	 started_ms;	/* monotonic */
	uint64_t	 deadline_ms;	/* 0: none; mode-specific */
	uint64_t	 last_rx_ms;	/* last byte from the client */
	uint64_t	 ping_sent_ms;	/* 0: no ping outstanding */
	int		 client_eof;
	int		 done;		/* exit as soon as `out` is flushed */
	int		 quitting;	/* the client sent QUIT */
	int		 ended;		/* the hub ended it (C_CLOSE) */
	int		 write_shut;
	int		 trim;		/* a burst is over: trim the heap */
	uint64_t	 clock_ms;	/* now_ms() at the last wake-up */
	uint64_t	 busy_ms;	/* last activity not yet followed by a trim */

	/* What a new hub needs to know after a restart (H_RESUME). */
	const char	*transport;	/* as sent in H_HELLO */
	char		 nick[SB_NICK_MAX + 1];	/* "" until identified */
	char		 alias[24];	/* seed-003 id, "" if none */
	char		 member[24];	/* member id, "" for a guest */
	char		 rooms[HANDLER_ROOMS_MAX][SB_ROOM_MAX + 1];
	unsigned	 nrooms;
	int		 reconnecting;	/* the hub went away; trying again */
	uint64_t	 reconnect_at_ms;
	uint64_t	 reconnect_until_ms;
	unsigned	 backoff_ms;
};

/* sniff.c */
enum sniff_result sniff(const char *, size_t);

/* xmlsock.c */
int	xmlsock_next(const char *, size_t, size_t, size_t *, char *);

/* conn.c: the I/O side */
int	conn_run(struct conn *);
struct sb_packet *conn_tx(void);
void	conn_buffers_init(struct conn *);
void	conn_free(struct conn *);
void	conn_remote_init(struct conn *);
int	conn_hub_connect(struct conn *, int);
int	conn_hub_reconnect(struct conn *);
int	conn_hub_datagram(struct conn *, const unsigned char *, size_t);
void	conn_client_bytes(struct conn *, const unsigned char *, size_t);
uint64_t now_ms(void);
int	conn_write(struct conn *, const void *, size_t);
int	conn_hub_send(struct conn *, const struct sb_packet *);
int	conn_hub_pack(struct conn *, enum sb_type, ...);
void	conn_hello(struct conn *, const char *);
void	conn_finish(struct conn *);
void	conn_event(struct conn *, const char *, const char *, ...)
	    __attribute__((format(printf, 3, 4)));

/* session.c */
void	session_client_bytes(struct conn *);
int	session_ws_feed(struct conn *, const unsigned char *, size_t);
void	session_hub_message(struct conn *, const struct sb_msg *);
void	session_hub_lost(struct conn *);
void	session_tick(struct conn *, uint64_t);
void	session_trim(void);
void	session_client_eof(struct conn *);
uint16_t session_close_code(const char *);

/* serve.c */
void	serve_policy(struct conn *);
void	serve_request(struct conn *, const struct http_request *);
void	serve_error(struct conn *, int, const char *);
void	serve_status(struct conn *, const struct sb_msg *);

/* version.c */
int	version_print(FILE *);

/* www.c: the built-in page */
struct www_file {
	const char		*path;
	const char		*type;
	const unsigned char	*data;
	size_t			 size;
	char			 etag[19];	/* "16 hex digits" */
};
const struct www_file *www_find(const char *, size_t);
int	www_not_modified(const struct http_request *, const struct www_file *);

#endif /* SB_HANDLER_H */
