/* SPDX-License-Identifier: ISC */
/*
 * switchboard-handler: one process per client connection (main.c).
 *
 * The handler's private header: the state of the one connection, and
 * every file's prototypes under its name.  docs/hacking.md draws the map.
 * The files that run a connection call one another in one direction only
 * (make cycles checks it):
 *
 *   main.c       the process: arguments, environment, file descriptors
 *   loop.c       the event loop: what to wait for, timeouts, heap trim,
 *                and each event handed to the role it belongs to
 *   modes.c      the mode machine: sniff, HTTP request, WebSocket,
 *                XMLSocket, server status
 *   serve.c      the HTTP answers (and the Flash policy), for modes.c
 *   chat.c       the chat session: dialect, the reply-ordering barrier,
 *                keepalive, what the hub says, the hub going away
 *   hublink.c    the hub socket: connect, queue, HELLO/RESUME, receive,
 *                reconnect with backoff, giving up
 *   client_io.c  the client's file descriptors and output queue; bytes
 *                only, no protocol
 *   tls.c        under client_io.c with --tls: GnuTLS, the key signed
 *                by the hub
 *   sandbox.c    --sandbox: the handler's own system call filter, for
 *                what the unit's cannot say (signals to other handlers)
 *
 * Below them, pure code with no I/O: sniff.c, proxy.c, http.c, ws*.c,
 * xmlsock.c, the dialects (dialect*.c, json_arena.c), www.c; UTF-8 and the
 * growable buffer are common/text.c's and common/buf.c's.
 *
 * struct conn has one sub-struct per role.  A sub-struct is written only
 * by its own file (serve.c writes modes.http); the others may read it.
 * The few members at the top belong to no role.
 *
 * Errors: a function that can fail returns 0 (or a count) or a negative
 * errno, and logs nothing; the caller that decides what happens next
 * logs once (docs/hacking.md, "The error convention").
 *
 * Memory: thousands of handlers run at once, so what one costs matters
 * (docs/benchmarks.md).  Buffers of a datagram or a read are static, not
 * on the stack (store.h): the process is single-threaded, and a static
 * buffer dirties only the pages a message fills, where a large stack
 * frame dirties every page it spans (stack-clash probing touches each).
 */
#ifndef SB_HANDLER_H
#define SB_HANDLER_H

#include <sys/syscall.h>

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "config.h"
#include "dialect.h"
#include "log.h"
#include "http.h"
#include "proto.h"
#include "proxy.h"
#include "store.h"
#include "ws.h"

#define HANDLER_CONFIG_WAIT_MS	5000	/* for the hub's C_CONFIG at start */
#define HANDLER_LINGER_MS	2000	/* draining input after the last reply */
#define HANDLER_HUBQ_MAX	(256 * 1024)	/* datagrams waiting for the hub */
#define HANDLER_HELD_MAX	(64 * 1024)	/* own replies waiting (chat.c) */
#define HANDLER_RECONNECT_MS	60000	/* how long to wait for a new hub */
#define HANDLER_BACKOFF_MIN_MS	50	/* first reconnect delay, doubling */
#define HANDLER_BACKOFF_MAX_MS	2000
#define HANDLER_ROOMS_MAX	32	/* rooms remembered for RESUME */
#define HANDLER_TRIM_BYTES	(16 * 1024) /* give freed heap back above this */
#define HANDLER_IDLE_TRIM_MS	500	/* quiet this long: give memory back once */
#define HANDLER_IDLE_TRIM_MAX_MS 60000	/* the longest wait the trim learns */
#define HANDLER_STACK_KEEP	1024	/* stack kept below the trim's frame */
#define HANDLER_STACK_TRIM	(64 * 1024)	/* and given back below that */
#define HANDLER_HUB_BATCHES	32	/* recvmmsg calls per wake-up, at most */
#define HANDLER_HEALTH_WAIT_MS	1000	/* /healthz: the hub answers in this */
#define HANDLER_METRICS_MAX	(256 * 1024)	/* bytes of /metrics, at most */

enum sniff_result {
	SNIFF_NEED_MORE, SNIFF_POLICY, SNIFF_HTTP, SNIFF_XMLSOCKET,
};

enum conn_mode {
	MODE_SNIFF,		/* waiting for the first bytes */
	MODE_HTTP,		/* reading a request head */
	MODE_STATUS,		/* waiting for the hub's C_STATUS */
	MODE_XMLSOCKET,		/* chat over raw XMLSocket */
	MODE_WEBSOCKET,		/* after the 101 */
};

enum ws_kind { WSK_CHAT, WSK_TUNNEL, WSK_ECHO };

/* What MODE_STATUS waits for from the hub (serve.c). */
enum http_wait {
	WAIT_SERVER_STATUS,	/* C_STATUS, for /server-status */
	WAIT_METRICS,		/* C_METRICS until the last, for /metrics */
	WAIT_HEALTH,		/* C_STATUS, for /healthz: the hub is there */
};

/* How a chat session's messages travel (chat.c). */
enum chat_framing {
	CHAT_NONE,		/* not a chat session */
	CHAT_XMLSOCKET,		/* NUL- or LF-terminated, as the client ends */
	CHAT_WS_TEXT,		/* one JSON message per WebSocket text frame */
	CHAT_WS_TUNNEL,		/* one NUL-terminated message per binary frame */
};

/* The loop's slots: one epoll registration each (loop.c). */
enum { W_IN, W_OUT, W_HUB, W_N };

/* What a new hub is told to resume this session with (hublink_retry). */
struct hub_resume {
	const char	*nick;		/* "": not identified, no RESUME */
	const char	*rooms;		/* space-separated */
	const char	*alias;		/* seed-003 id, "" if none */
	const char	*member;	/* member id, "" for a guest */
	const char	*dialect;	/* "" while not known (H_DIALECT) */
};

struct conn {
	/* Of no one role. */
	char		 remote[SB_REMOTE_MAX + 1];	/* the client's address */
	int		 trim;		/* a burst is over: trim the heap */

	/* loop.c */
	struct loop_state {
		int		 epfd;
		struct watch {
			int		fd;
			unsigned	gen;	/* the hub socket's hub.gen */
			uint32_t	events;	/* 0: not registered */
		}		 watch[W_N];
		uint64_t	 clock_ms;	/* now_ms() at the last wake-up */
		uint64_t	 busy_ms;	/* activity not yet followed by a trim */
		uint64_t	 trim_ms;	/* quiet before the idle trim; 0: the
						   least (loop_trim_wait) */
		uint64_t	 trimmed_ms;	/* the activity the last idle trim
						   followed; 0: none since */
	} loop;

	/* client_io.c */
	struct client_io {
		int		 in_fd, out_fd;	/* the same fd for fd 3 */
		struct buf	 out;		/* bytes for the client */
		int		 eof;		/* no more input: closed or broken */
		int		 closing;	/* finishing: flush, then exit */
		int		 overflow;	/* the queue overflowed, not yet told */
		int		 write_shut;
		uint64_t	 linger_until_ms;	/* when closing */
		int		 proxy;		/* --proxy: a PROXY header first */
		int		 read_any;	/* a byte has been read */
		const char	*refused;	/* why its input was refused */
		size_t		 proxy_len;	/* of the header, so far */
		unsigned char	 proxy_buf[PROXY_HEADER_MAX];
	} io;

	/* tls.c (GnuTLS's objects, opaque here) */
	struct conn_tls {
		int		 on;		/* --tls */
		int		 global;	/* gnutls_global_init() done */
		void		*session;	/* gnutls_session_t */
		void		*cred;		/* the chain and external key */
		void		*chain;		/* gnutls_pcert_st[ncerts] */
		unsigned	 ncerts;
		int		 owned;		/* the chain is cred's */
		int		 ready;		/* the handshake is done */
		int		 failed;	/* refused or broken: no more TLS */
		int		 want_write;	/* GnuTLS waits to write */
		int		 bye;		/* close_notify sent */
		size_t		 sending;	/* a record send to finish */
		size_t		 handshake_in;	/* bytes read during it */
		int		 too_long;	/* over TLS_HANDSHAKE_IN_MAX */
		uint64_t	 deadline_ms;	/* of the handshake */
		char		 error[192];	/* why it was refused */
		char		 sign_error[160];
	} tls;

	/* hublink.c */
	struct hub_link {
		const char	*path;
		int		 fd;		/* -1 when the hub is unreachable */
		unsigned	 gen;		/* hub sockets made so far */
		int		 broken;	/* a send failed: read what is left */
		char		 error[128];	/* why the hub is unreachable */
		int		 hello_sent;
		const char	*transport;	/* as sent in H_HELLO */
		uint64_t	 session;	/* from C_WELCOME */
		uint32_t	 epoch;		/* the hub's, from its datagrams */
		uint64_t	 seq;		/* last sequence number seen */
		struct buf	 q;		/* [u32 len][datagram]... to send */
		/* Datagrams taken by the last recvmmsg, handed out one by one. */
		unsigned	 rx_got, rx_next, rx_batches;
		uint32_t	 rx_len[2];
		/* In a C_BATCH among them: which, and how far (0: none). */
		unsigned	 inner_k;
		size_t		 inner_off;
		int		 reconnecting;	/* the hub went away; trying again */
		uint64_t	 retry_at_ms;
		uint64_t	 give_up_at_ms;
		unsigned	 backoff_ms;
	} hub;

	/* modes.c (and serve.c: http) */
	struct conn_modes {
		enum conn_mode	 mode;
		enum ws_kind	 ws_kind;
		struct buf	 in;		/* client bytes not yet understood */
		struct ws_conn	 ws;
		int		 ws_active;
		uint64_t	 started_ms;	/* monotonic */
		uint64_t	 deadline_ms;	/* 0: none; the mode's own */
		struct {			/* serve.c */
			int	 head_only;	/* HTTP HEAD */
			int	 status_json;	/* /server-status?json */
			enum http_wait wait;	/* MODE_STATUS's answer */
			struct buf body;	/* /metrics: the text so far */
		}		 http;
	} modes;

	/* chat.c */
	struct chat {
		enum chat_framing framing;
		char		 term;		/* XMLSocket reply terminator */
		struct ws_conn	*ws;		/* the WebSocket, if framed so */
		struct dialect	 dialect;	/* with the nick and the alias */
		int		 dialect_set;
		int		 errors;	/* client errors so far */
		int		 quitting;	/* the client sent QUIT */
		int		 ended;		/* the hub ended it (C_CLOSE) */
		uint64_t	 last_rx_ms;	/* last byte from the client */
		uint64_t	 ping_sent_ms;	/* 0: no ping outstanding */
		/* The reply-ordering barrier: own replies wait in `held`. */
		struct buf	 held;		/* [struct held_reply][bytes]... */
		uint64_t	 cmds_sent;	/* commands sent to the hub */
		uint64_t	 cmds_answered;	/* the first this many are answered */
		uint64_t	 barrier;	/* cmds_sent counted by the last barrier */
		int		 flushing;	/* in held_flush(): not re-entered */
		struct buf	 rendered;	/* one hub message, for the client */
		/*
		 * What a new hub needs to know after a restart (H_RESUME),
		 * with the dialect's nick and alias.
		 */
		char		 member[24];	/* member id, "" for a guest */
		char		 rooms[HANDLER_ROOMS_MAX][SB_ROOM_MAX + 1];
		unsigned	 nrooms;
	} chat;

	/*
	 * Defaults, then the hub's C_CONFIG: last, so that the pages a
	 * handler writes are the state above and the head of its keys
	 * (config.h), not the hub's keys behind them.
	 */
	struct sb_config cfg;
};

/*
 * The monotonic clock, in milliseconds: a system call, not the vDSO.
 * A handler reads it once per wake-up, each time the first touch of the
 * vDSO's two pages since its last turn; at N = 1000 those touches were
 * 8 % of the handlers' CPU (perf), three times what a system call costs
 * them (bench/analysis.md, 17th session).
 */
static inline uint64_t
now_ms(void)
{
	struct timespec ts;

	syscall(SYS_clock_gettime, CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* loop.c */
int	loop_run(struct conn *);
void	loop_client_bytes(struct conn *, const unsigned char *, size_t);
void	loop_client_eof(struct conn *);
void	loop_client_refused(struct conn *);
void	loop_hub_input(struct conn *);
void	loop_tick(struct conn *, uint64_t);
uint64_t loop_trim_wait(uint64_t);
void	loop_free(struct conn *);

/* modes.c */
void	modes_start(struct conn *, uint64_t);
void	modes_client_bytes(struct conn *, const unsigned char *, size_t);
void	modes_client_eof(struct conn *);
void	modes_client_slow(struct conn *);
void	modes_hub_message(struct conn *, const struct sb_msg *, uint64_t);
void	modes_hub_lost(struct conn *);
void	modes_tick(struct conn *, uint64_t);
void	modes_idle(struct conn *);
void	modes_free(struct conn *);

/* serve.c */
enum serve_next {
	SERVE_ANSWERED,		/* a response is written; finishing */
	SERVE_STATUS,		/* H_STATUS sent: wait for C_STATUS */
	SERVE_WEBSOCKET,	/* the 101 is written */
};
void	serve_policy(struct conn *);
enum serve_next serve_request(struct conn *, const struct http_request *,
	    enum ws_kind *);
void	serve_error(struct conn *, int, const char *);
void	serve_status(struct conn *, const struct sb_msg *);
void	serve_free(struct conn *);

/* chat.c */
void	chat_init(struct conn *, uint64_t);
void	chat_start(struct conn *, enum chat_framing, struct ws_conn *);
void	chat_heard(struct conn *, uint64_t);
void	chat_client_message(struct conn *, const char *, size_t, int);
void	chat_hub_message(struct conn *, const struct sb_msg *, uint64_t);
void	chat_hub_lost(struct conn *);
uint64_t chat_tick(struct conn *, uint64_t);
void	chat_send(struct conn *, const struct buf *);
void	chat_end(struct conn *, const char *, const char *);
void	chat_unavailable(struct conn *);
uint16_t chat_close_code(const char *);
void	chat_idle(struct conn *);
void	chat_free(struct conn *);

/* hublink.c */
void	hublink_init(struct conn *, const char *);
int	hublink_connect(struct conn *);
struct sb_packet *hublink_tx(void);
int	hublink_send(struct conn *, const struct sb_packet *);
int	hublink_pack(struct conn *, enum sb_type, ...)
	    __attribute__((sentinel));
int	hublink_await(struct conn *, enum sb_type, struct sb_msg *,
	    unsigned);
int	hublink_send_fd(struct conn *, const struct sb_packet *, int);
void	hublink_hello(struct conn *, const char *);
void	hublink_quit(struct conn *, const char *, const char *);
void	hublink_event(struct conn *, const char *, const char *, ...)
	    __attribute__((format(printf, 3, 4)));
void	hublink_failed(struct conn *, const char *, const char *,
	    const char *, ...) __attribute__((format(printf, 4, 5)));
void	hublink_flush(struct conn *);
int	hublink_receive(struct conn *, struct sb_msg *, uint64_t *);
void	hublink_drop_queue(struct conn *);
void	hublink_wait(struct conn *, uint64_t);
int	hublink_retry(struct conn *, uint64_t, const struct hub_resume *);
int	hublink_up(const struct conn *);
int	hublink_ready(const struct conn *);
int	hublink_backlogged(const struct conn *);
uint32_t hublink_events(const struct conn *);
uint64_t hublink_deadline(const struct conn *);
void	hublink_idle(struct conn *);
void	hublink_free(struct conn *);

/* client_io.c */
void	client_io_init(struct conn *, int, int, int);
int	client_io_tls(struct conn *, uint64_t);
ssize_t	client_io_read(struct conn *, unsigned char **);
void	client_io_forwarded(struct conn *, const struct http_request *);
int	client_io_write(struct conn *, const void *, size_t);
void	client_io_ws_write(void *, const unsigned char *, size_t);
int	client_io_flush(struct conn *);
void	client_io_finish(struct conn *);
int	client_io_closing(const struct conn *);
int	client_io_take_overflow(struct conn *);
uint32_t client_io_events(const struct conn *, int);
int	client_io_done(struct conn *, uint64_t);
int	client_io_pending(const struct conn *);
uint64_t client_io_deadline(const struct conn *);
int	client_io_expired(struct conn *, uint64_t);
void	client_io_idle(struct conn *);
void	client_io_free(struct conn *);

/* tls.c */
int	tls_setup(struct conn *, uint64_t);
ssize_t	tls_read(struct conn *, unsigned char *, size_t);
ssize_t	tls_write(struct conn *, const void *, size_t);
uint32_t tls_events(const struct conn *);
int	tls_pending(const struct conn *);
uint64_t tls_deadline(const struct conn *);
int	tls_expired(struct conn *, uint64_t);
void	tls_shutdown(struct conn *);
void	tls_free(struct conn *);

/* sniff.c */
enum sniff_result sniff(const char *, size_t);

/* xmlsock.c */
int	xmlsock_next(const char *, size_t, size_t, size_t *, char *);

/* version.c */
int	version_print(FILE *);

/* sandbox.c */
int	sandbox_seal(void);

/* www.c: the built-in page */
#define WWW_ETAG_LEN	18	/* "16 hex digits", with the quotes */
struct www_file {
	const char		*path;
	const char		*type;
	const unsigned char	*data;
	size_t			 size;
	const char		*etag;		/* WWW_ETAG_LEN, from the build */
};
const struct www_file *www_find(const char *, size_t);
int	www_not_modified(const struct http_request *, const struct www_file *);

#endif /* SB_HANDLER_H */
