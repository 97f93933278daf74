/* SPDX-License-Identifier: ISC */
/*
 * The contract between switchboard-handler and switchboard-hub.
 *
 * Every message crosses an AF_UNIX SOCK_SEQPACKET socket as one datagram:
 * a fixed 32-byte header followed by `nfields` NUL-terminated strings,
 * `len` bytes in all.  Which fields a type carries, and how long each may
 * be, is written down once, in the table in proto.c; sb_msg_decode()
 * checks every datagram against it, so a receiver never sees an
 * unterminated, oversized or unexpected field.
 *
 * Names: SB_H_* travel from a handler to the hub, SB_C_* from the hub to a
 * handler ("to the client").  Numbers travel as decimal strings and are
 * read back with sb_field_num(), which range-checks them.
 */
#ifndef SB_PROTO_H
#define SB_PROTO_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#define SB_VERSION		"0.1"	/* the release, for --version */
#define SB_PROTO_VERSION	2	/* 2: room message numbers, GAP, BATCH */
#define SB_HDR_SIZE		32	/* bytes of struct sb_hdr on the wire */
#define SB_MSG_MAX		16384	/* whole datagram, header included */
#define SB_PAYLOAD_MAX		(SB_MSG_MAX - SB_HDR_SIZE)
#define SB_FIELDS_MAX		16

/* Limits on what clients control; handlers enforce them before sending. */
#define SB_NICK_MAX		32	/* bytes of UTF-8 in a nick */
#define SB_ROOM_MAX		32	/* bytes in a room name */
#define SB_TEXT_MAX		2048	/* bytes of message text */
#define SB_PASS_MAX		256	/* bytes of a password */
#define SB_REASON_MAX		256	/* quit/kick reasons, error texts */
#define SB_REMOTE_MAX		64	/* "address:port" */
#define SB_LIST_MAX		(SB_PAYLOAD_MAX - 64)	/* a packed nick/room list */

enum sb_type {
	SB_NONE = 0,

	/* handler -> hub */
	SB_H_HELLO,		/* version, transport, remote: first message */
	SB_H_EVENT,		/* event, detail[, failure]: something the
				 * hub should log; failure: why a connection
				 * was refused before a session, an HTTP
				 * status ("404") or "timeout" (metrics) */
	SB_H_STATUS,		/* [what]: "": the counters of
				 * /server-status (C_STATUS); "metrics":
				 * the metrics text (C_METRICS) */
	SB_H_IDENTIFY,		/* nick, password, alias */
	SB_H_PRIVMSG,		/* to, text: private message to a nick */
	SB_H_PRIVMSG_ALIAS,	/* alias, text, extra: seed-003 to_id message */
	SB_H_LIST,		/* list every identified nick */
	SB_H_ROOMS,		/* list rooms */
	SB_H_JOIN,		/* room, [since]: messages after that number
				 * are replayed, else the recent history */
	SB_H_PART,		/* room */
	SB_H_NAMES,		/* room */
	SB_H_ROOMMSG,		/* room, text */
	SB_H_NICK,		/* new nick */
	SB_H_ACTION,		/* target (nick or room, may be ""), text */
	SB_H_PING,		/* token */
	SB_H_QUIT,		/* reason[, cause]: the client is leaving;
				 * cause, for the metrics: quit (it said
				 * so), closed, timeout, slow_reader, error */
	SB_H_RESUME,		/* nick, rooms, alias, member id ("": guest):
				 * re-register after a hub restart */
	SB_H_DIALECT,		/* dialect (text, xml): once the handler
				 * knows; again after H_HELLO on a reconnect
				 * (the WebSocket chat transport is JSON) */
	SB_H_TLS_START,		/* no fields, the client's TCP socket passed
				 * along (SCM_RIGHTS): a --tls handler asks
				 * for the certificate chain (C_TLS_CHAIN);
				 * the hub takes the connection's addresses
				 * from the socket and closes its copy */
	SB_H_TLS_SIGN,		/* version (12, 13), scheme (TLS
				 * SignatureScheme, decimal), kind (digest,
				 * digestinfo), data (hex): the one signature
				 * of this connection's handshake, before
				 * H_HELLO (common/tlssign.h) */

	/* hub -> handler */
	SB_C_CONFIG,		/* key=value ...: settings for this handler */
	SB_C_WELCOME,		/* session, epoch: reply to HELLO/RESUME */
	SB_C_STATUS,		/* clients, max, created, peak[, node,
				 * users here, users on every machine] */
	SB_C_IDENTIFIED,	/* nick, name, id, member id ("": guest):
				 * you are identified */
	SB_C_LOGIN,		/* nick, name: someone identified */
	SB_C_QUIT,		/* nick, reason: someone left */
	SB_C_MSG,		/* kind, from, to, room, text, time, extra,
				 * [seq]: the room's number for it; an
				 * announcement's to is "": the session's own */
	SB_C_ERROR,		/* code, text */
	SB_C_NICKLIST,		/* more, nicks (space separated), room ("": all) */
	SB_C_ROOMLIST,		/* more, rooms (space separated "name:count") */
	SB_C_JOINED,		/* room, nick, members (space separated) */
	SB_C_PARTED,		/* room, nick, reason */
	SB_C_NICKCHANGE,	/* old, new */
	SB_C_PONG,		/* token */
	SB_C_CLOSE,		/* code, reason: disconnect this client */
	SB_C_PING,		/* token: keepalive, the handler pings its client */
	SB_C_GAP,		/* room, since, first: the room's messages
				 * after since and before first are no
				 * longer in the history (answers JOIN) */
	SB_C_METRICS,		/* more, text: the metrics text (Prometheus
				 * 0.0.4), in chunks, "more" = 1 but on the
				 * last; the reply to H_STATUS "metrics" */
	SB_C_TLS_CHAIN,		/* chain: the certificates, PEM, leaf first;
				 * "" when the hub has none (tls_cert) */
	SB_C_TLS_SIGNATURE,	/* signature (hex), "" when refused: the
				 * answer to H_TLS_SIGN */
	SB_C_BATCH,		/* no fields: the payload is whole C_* datagrams
				 * (not batches), one after another, each with
				 * its own header, epoch and seq: what waited
				 * for a handler that was behind (sb_batch_next) */

	SB_TYPE_COUNT
};

/*
 * How a client reached its handler: the second field of H_HELLO, by name
 * (sb_transport_name), and in the hub's logs, control replies and ban
 * checks.
 */
enum sb_transport {
	SB_TRANSPORT_UNKNOWN,		/* a name the table does not know */
	SB_TRANSPORT_XMLSOCKET,		/* Flash XMLSocket */
	SB_TRANSPORT_WEBSOCKET,		/* WebSocket, JSON chat dialect */
	SB_TRANSPORT_TUNNEL,		/* XMLSocket tunnelled in WebSocket */
	SB_TRANSPORT_HTTP,		/* a plain HTTP request */
	SB_TRANSPORT_POLICY,		/* a Flash policy-file request */
	SB_TRANSPORT_COUNT
};

/* The fixed header, in host byte order (both ends share one kernel). */
struct sb_hdr {
	uint16_t	type;		/* enum sb_type */
	uint16_t	nfields;	/* strings in the payload */
	uint32_t	len;		/* payload bytes after the header */
	uint32_t	epoch;		/* hub incarnation; from a handler 0,
					 * but in the H_HELLO of a reconnect
					 * the epoch of the hub it lost */
	uint32_t	reserved;	/* zero */
	uint64_t	session;	/* session id, 0 before WELCOME */
	uint64_t	seq;		/* per-session delivery sequence */
};

/* A decoded message; fields point into the buffer given to decode. */
struct sb_msg {
	enum sb_type	type;
	uint32_t	epoch;
	uint64_t	session;
	uint64_t	seq;
	size_t		nfields;
	const char	*field[SB_FIELDS_MAX];
	size_t		flen[SB_FIELDS_MAX];	/* strlen of each field */
};

/* A datagram being built. */
struct sb_packet {
	size_t		len;			/* bytes used in buf */
	unsigned char	buf[SB_MSG_MAX];
};

/* proto.c */
const char	*sb_type_name(int);
int		 sb_msg_encode(struct sb_packet *, enum sb_type, uint64_t,
		    uint32_t, uint64_t, const char *const *, size_t);
int		 sb_msg_pack(struct sb_packet *, enum sb_type, uint64_t, ...)
		    __attribute__((sentinel));
int		 sb_msg_vpack(struct sb_packet *, enum sb_type, uint64_t,
		    va_list);
void		 sb_packet_stamp(struct sb_packet *, uint32_t, uint64_t);
void		 sb_packet_address(struct sb_packet *, uint64_t);
int		 sb_msg_decode(struct sb_msg *, const void *, size_t);
int		 sb_batch_add(void *, size_t *, const void *, size_t);
int		 sb_batch_next(const void *, size_t, size_t *, struct sb_msg *);
int		 sb_field_num(const struct sb_msg *, size_t, long long,
		    long long, long long *);
const char	*sb_config_get(const struct sb_msg *, const char *);
size_t		 sb_msg_size(const struct sb_msg *);
const char	*sb_transport_name(int);
enum sb_transport sb_transport_parse(const char *);

#endif /* SB_PROTO_H */
