/* SPDX-License-Identifier: ISC */
/*
 * switchboard.conf: "key = value" lines, '#' comments, blank lines.  The
 * hub reads the file; handlers get the keys they need from the hub in a
 * C_CONFIG message (config_pack_handler / config_apply_msg), so a spawn
 * reads no file.  Every key is in the table in config.c with its type and
 * range; an unknown key or a bad value is an error that names the line.
 */
#ifndef SB_CONFIG_H
#define SB_CONFIG_H

#include <stddef.h>

#include "proto.h"

#define CONFIG_LINE_MAX		2048
#define CONFIG_DEFAULT_PATH	"/etc/switchboard/switchboard.conf"
#define CONFIG_HUB_SOCKET	"/run/switchboard/hub.sock"
#define CONFIG_CONTROL_SOCKET	"/run/switchboard/control.sock"

/*
 * ws_chat_paths: extra WebSocket paths of the JSON chat dialect (beside
 * /chat and /), such as the seed-003 page's own /chat/server.php.  At most
 * this many, each at most this many bytes ('*' included); together they
 * always fit the key's buffer.
 */
#define CONFIG_WS_PATHS_MAX	8
#define CONFIG_WS_PATH_MAX	120
#define CONFIG_WS_PATHS_DEFAULT	"/chat/server.php*"

/* metrics_from: who may read /metrics (common/cidr.h); loopback. */
#define CONFIG_METRICS_FROM_DEFAULT	"127.0.0.0/8 ::1"

/* proxy_from: whose PROXY header and X-Forwarded-For are believed. */
#define CONFIG_PROXY_FROM_DEFAULT	"127.0.0.0/8 ::1"

/* One field of C_CONFIG: "key=" and a value, or several (config.c). */
#define CONFIG_FIELD_MAX	1056

enum config_auth { AUTH_GUEST, AUTH_MEMBERS, AUTH_BOTH };

/*
 * The keys handlers need come first, the numbers and the values that are
 * seldom empty before the rest: a handler writes only these
 * (config_handler_defaults, config_apply_msg), into a config of its own
 * that starts as zeros, so the fewer pages they span, the fewer an idle
 * handler holds (docs/benchmarks.md, "Memory").
 */
struct sb_config {
	/* handlers (sent in C_CONFIG) */
	unsigned	xmlsocket_max;		/* bytes in one XMLSocket message */
	unsigned	connect_timeout;	/* s until the first bytes */
	unsigned	idle_timeout;		/* s of silence before a ping */
	unsigned	ping_timeout;		/* s to answer a ping */
	unsigned	handshake_timeout;	/* s for an HTTP/WebSocket head,
						 * and for a TLS handshake */
	unsigned	ws_max_message;
	int		ws_echo;
	unsigned	outq_max;		/* bytes queued for one client */
	unsigned	backlog_max;		/* bytes held while the hub is away */
	char		server_name[64];
	char		policy_ports[128];
	char		policy_domains[512];	/* space or comma separated */
	char		ws_chat_paths[1024];	/* see CONFIG_WS_PATHS_MAX */
	char		metrics_from[1024];	/* prefixes that may read /metrics */
	char		proxy_from[1024];	/* prefixes of trusted proxies */
	char		redirect_url[512];	/* "" unless set */
	char		ws_origins[1024];	/* "" unless set */
	/* hub */
	char		handler_user[64];	/* peers allowed on the hub socket */
	char		handler_group[64];
	char		admin_group[64];	/* switchboardctl */
	unsigned	max_clients;
	unsigned	max_per_address;	/* chat sessions per client address */
	char		state_dir[256];
	int		auth;			/* enum config_auth */
	char		members_file[256];
	char		rooms[1024];		/* rooms that always exist */
	int		room_create;		/* join creates a room */
	unsigned	max_rooms;
	unsigned	presence_max;		/* presence told one by one up to */
	unsigned	history;		/* messages kept per room */
	unsigned	history_retention;	/* s a gone room's history stays */
	int		transcript;		/* log message text */
	int		log_messages;		/* a journal event per message */
	unsigned	flood_rate;		/* messages per 10 s */
	unsigned	flood_burst;
	unsigned	flood_kick;		/* refusals before disconnect */
	char		tls_cert[256];		/* PEM chain for --tls handlers */
	char		tls_key[256];		/* its key: the hub's alone */
	/* The cluster (hub only, read at start; docs/cluster.md). */
	char		cluster_redis[256];	/* HOST:PORT or /socket; "": none */
	char		cluster_password[256];	/* file: [USER] PASSWORD */
	char		cluster_node[33];	/* "": the hostname */
};

/* config.c */
void	config_defaults(struct sb_config *);
void	config_handler_defaults(struct sb_config *);
int	config_parse_line(struct sb_config *, const char *, char *, size_t);
int	config_load(struct sb_config *, const char *, char *, size_t);
int	config_pack_handler(const struct sb_config *, struct sb_packet *);
int	config_apply_msg(struct sb_config *, const struct sb_msg *, char *,
	    size_t);
int	config_ws_chat_path(const struct sb_config *, const char *, size_t);

#endif /* SB_CONFIG_H */
