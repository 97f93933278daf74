/* SPDX-License-Identifier: ISC */
/*
 * The client dialects of a handler: pure translation, no I/O.
 *
 * A handler speaks one dialect with its client and normalized messages
 * (proto.h) with the hub:
 *   DIALECT_TEXT  seed-000 IRC-like text commands, XML elements back
 *   DIALECT_XML   seed-001 XML commands and replies
 *   DIALECT_JSON  the WebSocket /chat dialect (with the seed-003 shapes)
 * docs/protocol-dialects.md describes every command and event.
 *
 * dialect_parse() turns one complete client message into a packet for the
 * hub or an error reply; dialect_render() turns one decoded hub message
 * into zero or more client messages.  Output goes to a struct buf
 * (common/buf.h) built as text, with a hard cap, as whole client
 * messages each followed by one NUL byte (no message contains a NUL),
 * without XMLSocket terminator or WebSocket framing: the caller sends
 * each as it needs.
 */
#ifndef SB_DIALECT_H
#define SB_DIALECT_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "buf.h"
#include "proto.h"
#include "text.h"

#define DIALECT_INPUT_MAX	16384	/* bytes of one client message */
#define DIALECT_LIST_MAX	(256 * 1024)	/* accumulated nick/room list */
#define DIALECT_OUT_MAX		(4 * 1024 * 1024) /* cap for an output buffer */
#define DIALECT_TOKEN_MAX	64	/* PING/PONG token (H_PING field) */
#define DIALECT_ECHO_MAX	32	/* bytes of a client word quoted back */
#define DIALECT_XML_DEPTH_MAX	4	/* element nesting in an XML command */
#define DIALECT_XML_ELEMS_MAX	8	/* elements in an XML command */
#define DIALECT_XML_ATTRS_MAX	8	/* attributes on the command element */
#define DIALECT_JSON_DEPTH_MAX	4	/* nesting of a JSON command */
#define DIALECT_COLOR_MAX	21	/* seed-003 color: ^#?[0-9A-Za-z]{1,20}$ */
#define DIALECT_ALIAS_MAX	20	/* seed-003 id: a decimal number */

enum dialect_kind { DIALECT_TEXT, DIALECT_XML, DIALECT_JSON };

/* dialect_parse() results; a negative errno is a fatal (internal) error. */
enum {
	DIALECT_NOTHING = 0,	/* nothing to do (an empty line) */
	DIALECT_TO_HUB = 1,	/* send the packet to the hub */
	DIALECT_REPLY = 2,	/* send the reply to the client */
};

/* One session's dialect state. */
struct dialect {
	enum dialect_kind kind;
	int		 seed003;	/* JSON: registered the seed-003 way */
	int		 identify_pending; /* an IDENTIFY awaits its answer */
	uint64_t	 session;	/* header session id of packets to the hub */
	char		 nick[SB_NICK_MAX + 1]; /* ours once identified, or "" */
	enum sb_type	 sent;		/* what the last DIALECT_TO_HUB built */
	char		 alias[DIALECT_ALIAS_MAX + 1]; /* of the last IDENTIFY */
	struct buf	 nicks;		/* NICKLIST chunks being accumulated */
	struct buf	 rooms;		/* ROOMLIST chunks being accumulated */
	uint32_t	 epoch;		/* JSON: the hub epoch `seq` counts in */
	uint64_t	 seq;		/* JSON: the last seq a msg event showed */
	uint64_t	 lost;		/* hub datagrams lost since that msg */
	int		 numbered;	/* text, XML: the client joined with
					 * `since`; room messages show their
					 * room_seq from then on */
};

/* dialect.c: the interface */
enum dialect_kind dialect_detect(const char *, size_t);
const char *dialect_name(enum dialect_kind);
void	dialect_init(struct dialect *, enum dialect_kind);
void	dialect_free(struct dialect *);
int	dialect_parse(struct dialect *, const char *, size_t,
	    struct sb_packet *, struct buf *);
int	dialect_render(struct dialect *, const struct sb_msg *, struct buf *);
/* (dialect_util.c, dialect_json.c: of the interface too) */
void	dialect_lost(struct dialect *, uint32_t, uint64_t);
void	dialect_json_trim(void);

/* ---- Shared by the dialect*.c files only. ---- */

/* An error found in a client message, rendered back in its dialect. */
struct dialect_err {
	const char	*code;		/* "syntax", "limit" or "encoding" */
	int		 identify;	/* the failed command was a login */
	char		 text[SB_REASON_MAX + 1];
};

/* Flags of dialect_field(). */
#define DF_EMPTY_OK	0x1		/* "" is allowed */
#define DF_WORD		0x2		/* no spaces (nicks, rooms) */

/* What dialect_msg_flags() finds in the kind field of a C_MSG. */
#define DM_ACTION	0x1
#define DM_ANNOUNCE	0x2
#define DM_HISTORY	0x4

/* dialect_util.c: helpers, below dialect.c and the three dialects */
int	dialect_fail(struct dialect_err *, const char *, const char *, ...)
	    __attribute__((format(printf, 3, 4)));
int	dialect_field(struct dialect_err *, const char *, const char *,
	    size_t, size_t, unsigned);
int	dialect_pack(struct dialect *, struct sb_packet *, enum sb_type,
	    struct dialect_err *, ...) __attribute__((sentinel));
int	dialect_xml_escape(struct buf *, const char *, size_t);
void	dialect_attr(struct buf *, const char *, const char *, size_t);
void	dialect_fattr(struct buf *, const char *, const struct sb_msg *,
	    size_t);
int	dialect_element(struct buf *, const char *, const struct sb_msg *,
	    ...);
int	dialect_end(struct buf *);
time_t	dialect_msg_time(const struct sb_msg *, size_t);
void	dialect_epoch(struct dialect *, uint32_t);
void	dialect_hms(time_t, char[9]);
void	dialect_iso(time_t, char[21]);
int	dialect_msg_flags(const struct sb_msg *);
int	dialect_word_next(const char **, const char *, const char **, size_t *);
int	dialect_room_split(const char *, size_t, size_t *, unsigned long *);
int	dialect_is_self(const struct dialect *, const char *);
int	dialect_decimal_ok(const char *, size_t);
int	dialect_since(struct dialect_err *, const char *, size_t);

/* dialect_text.c */
int	dialect_text_parse(struct dialect *, const char *, size_t,
	    struct sb_packet *, struct dialect_err *);
int	dialect_text_render(struct dialect *, const struct sb_msg *,
	    struct buf *);
int	dialect_text_error(struct dialect *, struct buf *,
	    const struct dialect_err *);

/* dialect_xml.c */
int	dialect_xml_parse(struct dialect *, const char *, size_t,
	    struct sb_packet *, struct dialect_err *);
int	dialect_xml_render(struct dialect *, const struct sb_msg *,
	    struct buf *);
int	dialect_xml_error(struct dialect *, struct buf *,
	    const struct dialect_err *);

/* dialect_json.c */
int	dialect_json_parse(struct dialect *, const char *, size_t,
	    struct sb_packet *, struct dialect_err *);
int	dialect_json_render(struct dialect *, const struct sb_msg *,
	    struct buf *);
int	dialect_json_error(struct dialect *, struct buf *,
	    const struct dialect_err *);

#endif /* SB_DIALECT_H */
