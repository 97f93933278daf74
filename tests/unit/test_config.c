/* SPDX-License-Identifier: ISC */
/*
 * Unit tests for common/config.c: defaults, every kind of key, errors
 * that name the key (and, from a file, the line), and the C_CONFIG round
 * trip of the keys handlers need.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "cidr.h"
#include "config.h"

/* The keys config_pack_handler() sends, as documented in config.h. */
static const char *const handler_keys[] = {
	"server_name", "policy_domains", "policy_ports", "redirect_url",
	"xmlsocket_max", "connect_timeout", "idle_timeout", "ping_timeout",
	"handshake_timeout", "ws_max_message", "ws_echo", "ws_origins",
	"ws_chat_paths", "outq_max", "backlog_max", "metrics_from",
	"proxy_from",
};

#define NHKEYS	(sizeof(handler_keys) / sizeof(handler_keys[0]))

/* Parse one line into c; returns the result, the message in err. */
static int
parse(struct sb_config *c, const char *line, char *err, size_t errsz)
{
	err[0] = '\0';
	return config_parse_line(c, line, err, errsz);
}

/* The line is refused and the error mentions `word`. */
static void
assert_refused(const char *line, const char *word)
{
	struct sb_config c, before;
	char err[256];

	config_defaults(&c);
	memcpy(&before, &c, sizeof(c));
	if (parse(&c, line, err, sizeof(err)) != -EINVAL)
		fail_msg("accepted: \"%s\"", line);
	if (strstr(err, word) == NULL)
		fail_msg("\"%s\": error \"%s\" does not mention \"%s\"", line,
		    err, word);
	/* A refused number, boolean or auth value changes nothing. */
	if (strncmp(line, "server_name", 11) != 0)
		assert_memory_equal(&c, &before, sizeof(c));
}

/* Write `text` to a fresh temporary file; the path goes in path. */
static void
temp_file(char *path, size_t size, const char *text)
{
	FILE *f;
	int fd;

	snprintf(path, size, "/tmp/sb-test-config.XXXXXX");
	fd = mkstemp(path);
	assert_true(fd >= 0);
	f = fdopen(fd, "w");
	assert_non_null(f);
	assert_int_equal(fputs(text, f) >= 0, 1);
	assert_int_equal(fclose(f), 0);
}

/* Load `text` from a file over defaults; returns config_load's answer. */
static int
load_text(struct sb_config *c, const char *text, char *err, size_t errsz,
    char *path, size_t pathsz)
{
	int r;

	temp_file(path, pathsz, text);
	config_defaults(c);
	err[0] = '\0';
	r = config_load(c, path, err, errsz);
	unlink(path);
	return r;
}

static void
test_defaults(void **state)
{
	struct sb_config c;

	memset(&c, 0x5a, sizeof(c));
	config_defaults(&c);
	assert_string_equal(c.handler_user, "switchboard");
	assert_string_equal(c.handler_group, "switchboard");
	assert_string_equal(c.admin_group, "switchboard-admin");
	assert_int_equal(c.max_clients, 4096);
	assert_string_equal(c.state_dir, "/var/lib/switchboard");
	assert_int_equal(c.auth, AUTH_GUEST);
	assert_string_equal(c.members_file, "members");
	assert_string_equal(c.tls_cert, "");	/* no TLS on 443 */
	assert_string_equal(c.tls_key, "");
	assert_string_equal(c.rooms, "lobby");
	assert_int_equal(c.room_create, 1);
	assert_int_equal(c.max_rooms, 256);
	assert_int_equal(c.history, 50);
	assert_int_equal(c.history_retention, 600);
	assert_int_equal(c.transcript, 0);
	assert_int_equal(c.flood_rate, 20);
	assert_int_equal(c.flood_burst, 10);
	assert_int_equal(c.flood_kick, 20);
	assert_string_equal(c.server_name, "switchboard");
	assert_string_equal(c.policy_domains, "*");
	assert_string_equal(c.policy_ports, "80,843");
	assert_string_equal(c.redirect_url, "");
	assert_int_equal(c.xmlsocket_max, 4096);
	assert_int_equal(c.connect_timeout, 30);
	assert_int_equal(c.idle_timeout, 120);
	assert_int_equal(c.ping_timeout, 30);
	assert_int_equal(c.handshake_timeout, 10);
	assert_int_equal(c.ws_max_message, 65536);
	assert_int_equal(c.ws_echo, 0);
	assert_string_equal(c.ws_origins, "");
	assert_string_equal(c.ws_chat_paths, "/chat/server.php*");
	assert_int_equal(c.outq_max, 1024 * 1024);
	assert_int_equal(c.backlog_max, 64 * 1024);
	assert_string_equal(c.cluster_redis, "");	/* alone, no Redis */
	assert_string_equal(c.cluster_password, "");
	assert_string_equal(c.cluster_node, "");	/* the hostname */
}

static void
test_strings(void **state)
{
	struct sb_config c;
	char err[256], line[600];

	config_defaults(&c);
	assert_int_equal(parse(&c, "server_name = Chat Central", err,
	    sizeof(err)), 0);
	assert_string_equal(c.server_name, "Chat Central");
	/* The TLS pair: the hub's keys (never in C_CONFIG: handler_keys). */
	assert_int_equal(parse(&c, "tls_key = /etc/switchboard/tls/privkey.pem",
	    err, sizeof(err)), 0);
	assert_string_equal(c.tls_key, "/etc/switchboard/tls/privkey.pem");
	/* Space and tab around the name, the '=' and the value; CR LF. */
	assert_int_equal(parse(&c, " \tserver_name\t=\t  x y \t \r\n", err,
	    sizeof(err)), 0);
	assert_string_equal(c.server_name, "x y");
	assert_int_equal(parse(&c, "server_name=", err, sizeof(err)), 0);
	assert_string_equal(c.server_name, "");
	assert_int_equal(parse(&c, "rooms = lobby, help  games", err,
	    sizeof(err)), 0);
	assert_string_equal(c.rooms, "lobby, help  games");
	assert_int_equal(parse(&c, "redirect_url = http://a/#x=1", err,
	    sizeof(err)), 0);
	assert_string_equal(c.redirect_url, "http://a/#x=1");
	/* server_name holds 63 bytes; 64 is refused with the key's name. */
	snprintf(line, sizeof(line), "server_name = %.63s",
	    "abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyzabcdefghijkl");
	assert_int_equal(parse(&c, line, err, sizeof(err)), 0);
	assert_int_equal(strlen(c.server_name), 63);
	snprintf(line, sizeof(line), "server_name = %.64s",
	    "abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyzabcdefghijkl");
	assert_refused(line, "server_name");
	assert_refused(line, "longer than 63 bytes");
	snprintf(line, sizeof(line), "cluster_node = %0*d", 33, 0);
	assert_refused(line, "longer than 32 bytes");
}

static void
test_numbers(void **state)
{
	struct sb_config c;
	char err[256];

	config_defaults(&c);
	assert_int_equal(parse(&c, "max_clients = 12", err, sizeof(err)), 0);
	assert_int_equal(c.max_clients, 12);
	/* The ends of the range are accepted. */
	assert_int_equal(parse(&c, "max_clients = 1", err, sizeof(err)), 0);
	assert_int_equal(c.max_clients, 1);
	assert_int_equal(parse(&c, "max_clients = 1000000", err, sizeof(err)),
	    0);
	assert_int_equal(c.max_clients, 1000000);
	assert_int_equal(parse(&c, "history = 0", err, sizeof(err)), 0);
	assert_int_equal(c.history, 0);
	assert_int_equal(parse(&c, "history_retention = 0", err, sizeof(err)),
	    0);
	assert_int_equal(c.history_retention, 0);
	assert_int_equal(parse(&c, "history_retention = 2592001", err,
	    sizeof(err)), -EINVAL);
	assert_int_equal(parse(&c, "xmlsocket_max = 64", err, sizeof(err)), 0);
	assert_int_equal(c.xmlsocket_max, 64);
	assert_int_equal(parse(&c, "xmlsocket_max = 8192", err, sizeof(err)),
	    0);
	assert_int_equal(c.xmlsocket_max, 8192);
	assert_int_equal(parse(&c, "ws_max_message=16777216\n", err,
	    sizeof(err)), 0);
	assert_int_equal(c.ws_max_message, 16777216);

	/* Everything else names the key and the range. */
	assert_refused("max_clients = 0", "max_clients");
	assert_refused("max_clients = 0", "from 1 to 1000000");
	assert_refused("max_clients = 1000001", "max_clients");
	assert_refused("max_clients = -1", "max_clients");
	assert_refused("max_clients = +5", "max_clients");
	assert_refused("max_clients = 12x", "max_clients");
	assert_refused("max_clients = 1 2", "max_clients");
	assert_refused("max_clients = 0x10", "max_clients");
	assert_refused("max_clients =", "max_clients");
	assert_refused("max_clients = lots", "\"lots\"");
	assert_refused("max_clients = 4294967297", "max_clients");
	assert_refused("max_clients = 99999999999999999999999", "max_clients");
	assert_refused("xmlsocket_max = 63", "xmlsocket_max");
	assert_refused("xmlsocket_max = 8193", "xmlsocket_max");
	assert_refused("idle_timeout = 4", "idle_timeout");
	assert_refused("flood_burst = 0", "flood_burst");
	assert_refused("outq_max = 4095", "outq_max");
}

static void
test_booleans(void **state)
{
	static const char *const yes[] = { "yes", "true", "1", "on" };
	static const char *const no[] = { "no", "false", "0", "off" };
	struct sb_config c;
	char err[256], line[64];
	size_t i;

	config_defaults(&c);
	for (i = 0; i < 4; i++) {
		snprintf(line, sizeof(line), "ws_echo = %s", yes[i]);
		c.ws_echo = 0;
		assert_int_equal(parse(&c, line, err, sizeof(err)), 0);
		assert_int_equal(c.ws_echo, 1);
		snprintf(line, sizeof(line), "room_create = %s", no[i]);
		c.room_create = 1;
		assert_int_equal(parse(&c, line, err, sizeof(err)), 0);
		assert_int_equal(c.room_create, 0);
	}
	assert_int_equal(parse(&c, "transcript = yes", err, sizeof(err)), 0);
	assert_int_equal(c.transcript, 1);
	assert_refused("ws_echo = maybe", "ws_echo");
	assert_refused("ws_echo = maybe", "yes or no");
	assert_refused("ws_echo = YES", "ws_echo");
	assert_refused("ws_echo = 2", "ws_echo");
	assert_refused("transcript =", "transcript");
}

static void
test_auth(void **state)
{
	struct sb_config c;
	char err[256];

	config_defaults(&c);
	assert_int_equal(parse(&c, "auth = members", err, sizeof(err)), 0);
	assert_int_equal(c.auth, AUTH_MEMBERS);
	assert_int_equal(parse(&c, "auth = both", err, sizeof(err)), 0);
	assert_int_equal(c.auth, AUTH_BOTH);
	assert_int_equal(parse(&c, "auth = guest", err, sizeof(err)), 0);
	assert_int_equal(c.auth, AUTH_GUEST);
	assert_refused("auth = admin", "auth");
	assert_refused("auth = admin", "guest, members or both");
	assert_refused("auth = Guest", "auth");
}

static void
test_syntax(void **state)
{
	struct sb_config c, before;
	char err[256];

	config_defaults(&c);
	memcpy(&before, &c, sizeof(c));
	/* Blank lines and comments do nothing. */
	assert_int_equal(parse(&c, "", err, sizeof(err)), 0);
	assert_int_equal(parse(&c, "\n", err, sizeof(err)), 0);
	assert_int_equal(parse(&c, "   \t \n", err, sizeof(err)), 0);
	assert_int_equal(parse(&c, "# max_clients = 0", err, sizeof(err)), 0);
	assert_int_equal(parse(&c, "   # indented comment", err, sizeof(err)),
	    0);
	assert_memory_equal(&c, &before, sizeof(c));

	assert_refused("max_clients", "expected \"key = value\"");
	assert_refused("max_clients 5", "expected \"key = value\"");
	assert_refused("= 5", "expected \"key = value\"");
	assert_refused("max-clients = 5", "expected \"key = value\"");
	assert_refused("max_clients: 5", "expected \"key = value\"");
	/* Unknown keys are named (and case matters). */
	assert_refused("no_such_key = 1", "unknown key \"no_such_key\"");
	assert_refused("Max_Clients = 1", "unknown key \"Max_Clients\"");
	assert_refused("max_client = 1", "unknown key \"max_client\"");
	assert_refused("max_clientsx = 1", "unknown key \"max_clientsx\"");
}

/* config_load: errors carry the file name and the line number. */
static void
test_load(void **state)
{
	struct sb_config c;
	char err[512], path[64], want[128];

	assert_int_equal(load_text(&c,
	    "# Switchboard\n"
	    "\n"
	    "max_clients = 10\n"
	    "  server_name = Test  \r\n"
	    "auth = both\n"
	    "ws_echo = on", err, sizeof(err), path, sizeof(path)), 0);
	assert_int_equal(c.max_clients, 10);
	assert_string_equal(c.server_name, "Test");
	assert_int_equal(c.auth, AUTH_BOTH);
	assert_int_equal(c.ws_echo, 1);	/* last line without a newline */

	assert_int_equal(load_text(&c,
	    "# one\n"
	    "max_clients = 10\n"
	    "max_clients = zero\n"
	    "server_name = never\n", err, sizeof(err), path, sizeof(path)),
	    -EINVAL);
	snprintf(want, sizeof(want), "%s:3: max_clients:", path);
	if (strstr(err, want) == NULL)
		fail_msg("error \"%s\" lacks \"%s\"", err, want);
	assert_int_equal(c.max_clients, 10);	/* applied up to the error */
	assert_string_equal(c.server_name, "switchboard");

	assert_int_equal(load_text(&c, "\n\n\n\nbogus = 1\n", err, sizeof(err),
	    path, sizeof(path)), -EINVAL);
	snprintf(want, sizeof(want), "%s:5: unknown key \"bogus\"", path);
	assert_string_equal(err, want);

	/* A missing file: the errno and the path. */
	err[0] = '\0';
	config_defaults(&c);
	assert_int_equal(config_load(&c, "/nonexistent/sb.conf", err,
	    sizeof(err)), -ENOENT);
	assert_non_null(strstr(err, "/nonexistent/sb.conf"));
}

/*
 * A line of CONFIG_LINE_MAX bytes (newline not counted) is read; one
 * byte more is an error naming the line, also as the last line.
 */
static void
test_load_long_lines(void **state)
{
	static char text[3 * CONFIG_LINE_MAX];
	struct sb_config c;
	char err[512], path[64], want[128];
	size_t n;

	/* Line 2: "#" and 2047 x = 2048 bytes. */
	n = (size_t)snprintf(text, sizeof(text), "max_clients = 7\n#");
	memset(text + n, 'x', CONFIG_LINE_MAX - 1);
	n += CONFIG_LINE_MAX - 1;
	n += (size_t)snprintf(text + n, sizeof(text) - n,
	    "\nserver_name = after\n");
	assert_int_equal(load_text(&c, text, err, sizeof(err), path,
	    sizeof(path)), 0);
	assert_int_equal(c.max_clients, 7);
	assert_string_equal(c.server_name, "after");

	/* Line 2 is 2049 bytes. */
	n = (size_t)snprintf(text, sizeof(text), "max_clients = 7\n#");
	memset(text + n, 'x', CONFIG_LINE_MAX);
	n += CONFIG_LINE_MAX;
	n += (size_t)snprintf(text + n, sizeof(text) - n,
	    "\nserver_name = after\n");
	assert_int_equal(load_text(&c, text, err, sizeof(err), path,
	    sizeof(path)), -EINVAL);
	snprintf(want, sizeof(want), "%s:2: line longer than %d bytes", path,
	    CONFIG_LINE_MAX);
	assert_string_equal(err, want);
	assert_string_equal(c.server_name, "switchboard");

	/* The same as the last line, without a newline. */
	n = (size_t)snprintf(text, sizeof(text), "max_clients = 7\n\n#");
	memset(text + n, 'x', CONFIG_LINE_MAX);
	text[n + CONFIG_LINE_MAX] = '\0';
	assert_int_equal(load_text(&c, text, err, sizeof(err), path,
	    sizeof(path)), -EINVAL);
	snprintf(want, sizeof(want), "%s:3: line longer than", path);
	if (strstr(err, want) == NULL)
		fail_msg("error \"%s\" lacks \"%s\"", err, want);

	/* Exactly CONFIG_LINE_MAX as the last line, without a newline. */
	text[n + CONFIG_LINE_MAX - 1] = '\0';
	assert_int_equal(load_text(&c, text, err, sizeof(err), path,
	    sizeof(path)), 0);

	/* A long line directly through config_parse_line. */
	memcpy(text, "rooms = ", 8);
	memset(text + 8, 'r', CONFIG_LINE_MAX + 10);
	text[8 + CONFIG_LINE_MAX + 10] = '\0';
	assert_refused(text, "rooms");
}

/* Values for every handler key that differ from the defaults. */
static void
handler_values(struct sb_config *c)
{
	char err[256];
	static const char *const lines[] = {
		"server_name = Round Trip", "policy_domains = a.example, *.b",
		"policy_ports = 843,8080", "redirect_url = https://x.example/",
		"xmlsocket_max = 100", "connect_timeout = 3",
		"idle_timeout = 6", "ping_timeout = 4",
		"handshake_timeout = 5", "ws_max_message = 200",
		"ws_echo = yes", "ws_origins = https://a https://b",
		"ws_chat_paths = /a, /b/*", "outq_max = 5000",
		"backlog_max = 0", "metrics_from = 192.0.2.0/24, 2001:db8::1",
		"proxy_from = 10.0.0.7 fd00::/8",
	};
	size_t i;

	for (i = 0; i < sizeof(lines) / sizeof(lines[0]); i++)
		assert_int_equal(parse(c, lines[i], err, sizeof(err)), 0);
}

static void
assert_handler_keys_equal(const struct sb_config *a, const struct sb_config *b)
{
	assert_string_equal(a->server_name, b->server_name);
	assert_string_equal(a->policy_domains, b->policy_domains);
	assert_string_equal(a->policy_ports, b->policy_ports);
	assert_string_equal(a->redirect_url, b->redirect_url);
	assert_int_equal(a->xmlsocket_max, b->xmlsocket_max);
	assert_int_equal(a->connect_timeout, b->connect_timeout);
	assert_int_equal(a->idle_timeout, b->idle_timeout);
	assert_int_equal(a->ping_timeout, b->ping_timeout);
	assert_int_equal(a->handshake_timeout, b->handshake_timeout);
	assert_int_equal(a->ws_max_message, b->ws_max_message);
	assert_int_equal(a->ws_echo, b->ws_echo);
	assert_string_equal(a->ws_origins, b->ws_origins);
	assert_string_equal(a->ws_chat_paths, b->ws_chat_paths);
	assert_int_equal(a->outq_max, b->outq_max);
	assert_int_equal(a->backlog_max, b->backlog_max);
	assert_string_equal(a->metrics_from, b->metrics_from);
	assert_string_equal(a->proxy_from, b->proxy_from);
}

/* Pack the handler keys, decode, apply onto defaults. */
static void
round_trip(const struct sb_config *hub, struct sb_config *handler)
{
	struct sb_packet p;
	struct sb_msg m;
	char err[256];
	const char *s;
	size_t i, lines;

	assert_int_equal(config_pack_handler(hub, &p), 0);
	assert_int_equal(sb_msg_decode(&m, p.buf, p.len), 0);
	assert_int_equal(m.type, SB_C_CONFIG);
	for (i = 0; i < NHKEYS; i++)
		assert_non_null(sb_config_get(&m, handler_keys[i]));
	/* Only handler keys travel, several to a field, one a line. */
	for (i = 0, lines = 0; i < m.nfields; i++, lines++)
		for (s = m.field[i]; (s = strchr(s, '\n')) != NULL; s++)
			lines++;
	assert_int_equal(lines, NHKEYS);
	assert_true(m.nfields < NHKEYS);
	assert_null(sb_config_get(&m, "max_clients"));
	assert_null(sb_config_get(&m, "handler_user"));
	config_defaults(handler);
	err[0] = '\0';
	assert_int_equal(config_apply_msg(handler, &m, err, sizeof(err)), 0);
}

static void
test_pack_apply(void **state)
{
	struct sb_config hub, handler, def;
	struct sb_packet p;
	struct sb_msg m;
	char err[256];

	config_defaults(&hub);
	round_trip(&hub, &handler);
	assert_memory_equal(&hub, &handler, sizeof(hub));

	handler_values(&hub);
	hub.max_clients = 3;
	hub.flood_kick = 2;
	strcpy(hub.rooms, "secret");
	round_trip(&hub, &handler);
	assert_handler_keys_equal(&hub, &handler);
	/* Hub keys stay as they were on the handler's side. */
	config_defaults(&def);
	assert_int_equal(handler.max_clients, def.max_clients);
	assert_int_equal(handler.flood_kick, def.flood_kick);
	assert_string_equal(handler.rooms, def.rooms);

	/* A newer hub's unknown key and a hub-only key are ignored. */
	assert_int_equal(sb_msg_pack(&p, SB_C_CONFIG, 0, "future_key=1",
	    "max_clients=1", "server_name=X", NULL), 0);
	assert_int_equal(sb_msg_decode(&m, p.buf, p.len), 0);
	config_defaults(&handler);
	assert_int_equal(config_apply_msg(&handler, &m, err, sizeof(err)), 0);
	assert_string_equal(handler.server_name, "X");
	assert_int_equal(handler.max_clients, def.max_clients);

	/* A field without '=' or a bad value is an error naming the key. */
	assert_int_equal(sb_msg_pack(&p, SB_C_CONFIG, 0, "server_name", NULL),
	    0);
	assert_int_equal(sb_msg_decode(&m, p.buf, p.len), 0);
	assert_int_equal(config_apply_msg(&handler, &m, err, sizeof(err)),
	    -EINVAL);
	assert_int_equal(sb_msg_pack(&p, SB_C_CONFIG, 0, "xmlsocket_max=1",
	    NULL), 0);
	assert_int_equal(sb_msg_decode(&m, p.buf, p.len), 0);
	err[0] = '\0';
	assert_int_equal(config_apply_msg(&handler, &m, err, sizeof(err)),
	    -EINVAL);
	assert_non_null(strstr(err, "xmlsocket_max"));
	assert_int_equal(sb_msg_pack(&p, SB_C_CONFIG, 0, "ws_echo=perhaps",
	    NULL), 0);
	assert_int_equal(sb_msg_decode(&m, p.buf, p.len), 0);
	assert_int_equal(config_apply_msg(&handler, &m, err, sizeof(err)),
	    -EINVAL);
	assert_non_null(strstr(err, "ws_echo"));
}

/*
 * A handler's config starts as zeros in static storage, and every page of
 * it that a handler touches costs each idle handler memory:
 * config_handler_defaults() gives the handler keys the values
 * config_defaults() gives them and leaves the hub's keys alone, and a
 * C_CONFIG of the values the config holds already writes nothing (the
 * whole config read-only, and no fault).
 */
static void
test_handler_config(void **state)
{
	size_t pg = (size_t)sysconf(_SC_PAGESIZE);
	size_t span = (sizeof(struct sb_config) + pg - 1) / pg * pg;
	struct sb_config def, *h;
	struct sb_packet p, q;
	struct sb_msg m;
	char err[256];

	config_defaults(&def);
	h = mmap(NULL, span, PROT_READ | PROT_WRITE,
	    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	assert_true(h != MAP_FAILED);
	config_handler_defaults(h);
	assert_int_equal(config_pack_handler(&def, &p), 0);
	assert_int_equal(config_pack_handler(h, &q), 0);
	assert_int_equal(p.len, q.len);
	assert_memory_equal(p.buf, q.buf, p.len);
	assert_string_equal(h->handler_user, "");
	assert_string_equal(h->rooms, "");
	assert_int_equal(h->max_clients, 0);

	assert_int_equal(sb_msg_decode(&m, p.buf, p.len), 0);
	assert_int_equal(mprotect(h, span, PROT_READ), 0);
	err[0] = '\0';
	assert_int_equal(config_apply_msg(h, &m, err, sizeof(err)), 0);
	assert_string_equal(err, "");
	assert_int_equal(munmap(h, span), 0);
}

/*
 * Whatever the loader accepts must reach the handlers: each handler
 * string key at the longest value config_parse_line() takes still
 * packs into C_CONFIG, and arrives intact.
 */
static void
test_pack_longest_values(void **state)
{
	struct sb_config hub, handler;
	static char line[CONFIG_LINE_MAX];
	static const struct { const char *key; size_t size; } str[] = {
		{ "server_name", sizeof(hub.server_name) },
		{ "policy_domains", sizeof(hub.policy_domains) },
		{ "policy_ports", sizeof(hub.policy_ports) },
		{ "redirect_url", sizeof(hub.redirect_url) },
		{ "ws_origins", sizeof(hub.ws_origins) },
	};
	/* metrics_from at its longest: CIDR_LIST_MAX of the longest form. */
	static const char v6[] = "ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255/128";
	char err[256];
	size_t i, n, len;

	config_defaults(&hub);
	for (i = 0; i < sizeof(str) / sizeof(str[0]); i++) {
		n = (size_t)snprintf(line, sizeof(line), "%s = ", str[i].key);
		for (len = str[i].size - 1; len > 0; len--) {
			memset(line + n, 'a' + (int)i, len);
			line[n + len] = '\0';
			if (parse(&hub, line, err, sizeof(err)) == 0)
				break;
		}
		assert_true(len >= str[i].size / 2);
	}
	n = (size_t)snprintf(line, sizeof(line), "metrics_from =");
	for (i = 0; n - 15 + sizeof(v6) < sizeof(hub.metrics_from); i++)
		n += (size_t)snprintf(line + n, sizeof(line) - n, " %s", v6);
	assert_int_equal(parse(&hub, line, err, sizeof(err)), 0);
	assert_true(i > CIDR_LIST_MAX / 2);
	assert_true(strlen(hub.metrics_from) > sizeof(hub.metrics_from) -
	    sizeof(v6) - 1);
	/* proxy_from too: the two longest lists still fit one C_CONFIG. */
	snprintf(line, sizeof(line), "proxy_from = %s", hub.metrics_from);
	assert_int_equal(parse(&hub, line, err, sizeof(err)), 0);
	round_trip(&hub, &handler);
	assert_handler_keys_equal(&hub, &handler);
}

/* Does `path` (the part before '?') match c's ws_chat_paths? */
static int
chat_path(const struct sb_config *c, const char *path)
{
	return config_ws_chat_path(c, path, strlen(path));
}

/*
 * ws_chat_paths: a list of paths and prefixes ('*' at the end), checked
 * entry by entry; a bad value is refused with the key's name and the
 * reason, at start and at reload alike (both go through the parser).
 */
static void
test_ws_chat_paths(void **state)
{
	struct sb_config c;
	char err[256], line[CONFIG_LINE_MAX];
	size_t i, n;

	/* The default takes the seed-003 page's own URL, with its ":9000". */
	config_defaults(&c);
	assert_true(chat_path(&c, "/chat/server.php"));
	assert_true(chat_path(&c, "/chat/server.php:9000"));
	assert_false(chat_path(&c, "/chat/server.ph"));
	assert_false(chat_path(&c, "/server.php"));
	assert_false(chat_path(&c, "/"));

	/* Exact paths and prefixes, separated by spaces and commas. */
	assert_int_equal(parse(&c, "ws_chat_paths = /a/b,/c/* \t/d", err,
	    sizeof(err)), 0);
	assert_true(chat_path(&c, "/a/b"));
	assert_false(chat_path(&c, "/a/bc"));
	assert_false(chat_path(&c, "/a"));
	assert_true(chat_path(&c, "/c/"));
	assert_true(chat_path(&c, "/c/x/y"));
	assert_false(chat_path(&c, "/c"));
	assert_true(chat_path(&c, "/d"));
	assert_false(chat_path(&c, "/chat/server.php"));
	/* The length given counts, not the NUL: "/a/b?x" up to '?'. */
	assert_true(config_ws_chat_path(&c, "/a/b?x", 4));
	/* A slash and a star alone make every path a chat path. */
	assert_int_equal(parse(&c, "ws_chat_paths = /*", err, sizeof(err)),
	    0);
	assert_true(chat_path(&c, "/anything"));
	/* Empty: no extra paths. */
	assert_int_equal(parse(&c, "ws_chat_paths =", err, sizeof(err)), 0);
	assert_false(chat_path(&c, "/chat/server.php"));
	assert_false(chat_path(&c, "/"));

	assert_refused("ws_chat_paths = chat", "does not start with '/'");
	assert_refused("ws_chat_paths = /ok *", "does not start with '/'");
	assert_refused("ws_chat_paths = /a*b", "'*' only at the end");
	assert_refused("ws_chat_paths = /a?b", "ws_chat_paths");
	assert_refused("ws_chat_paths = /a#b", "ws_chat_paths");
	assert_refused("ws_chat_paths = /caf\xc3\xa9", "printable ASCII");
	assert_refused("ws_chat_paths = /x /xmlsocket", "/xmlsocket is a "
	    "built-in");
	assert_refused("ws_chat_paths = /chat", "/chat is a built-in");
	assert_refused("ws_chat_paths = /echo", "built-in");
	assert_refused("ws_chat_paths = /", "built-in");
	assert_refused("ws_chat_paths = /1 /2 /3 /4 /5 /6 /7 /8 /9",
	    "more than 8 paths");

	/* CONFIG_WS_PATHS_MAX paths of CONFIG_WS_PATH_MAX bytes: taken... */
	n = (size_t)snprintf(line, sizeof(line), "ws_chat_paths =");
	for (i = 0; i < CONFIG_WS_PATHS_MAX; i++) {
		line[n++] = ' ';
		line[n++] = '/';
		memset(line + n, 'a' + (int)i, CONFIG_WS_PATH_MAX - 2);
		n += CONFIG_WS_PATH_MAX - 2;
		line[n++] = '*';
	}
	line[n] = '\0';
	config_defaults(&c);
	assert_int_equal(parse(&c, line, err, sizeof(err)), 0);
	/* The last prefix, "/hhh...h" without its '*', and more. */
	memmove(line, line + n - CONFIG_WS_PATH_MAX, CONFIG_WS_PATH_MAX - 1);
	strcpy(line + CONFIG_WS_PATH_MAX - 1, "/x");
	assert_true(chat_path(&c, line));
	line[CONFIG_WS_PATH_MAX - 2] = '\0';		/* one h short */
	assert_false(chat_path(&c, line));
	/* ...and they reach the handlers intact. */
	{
		struct sb_config handler;

		round_trip(&c, &handler);
		assert_string_equal(handler.ws_chat_paths, c.ws_chat_paths);
	}
	/* One byte more is refused. */
	snprintf(line, sizeof(line), "ws_chat_paths = /%0*d",
	    CONFIG_WS_PATH_MAX, 0);
	assert_refused(line, "longer than 120 bytes");

	/* From a file, the error names the line; a C_CONFIG is checked too. */
	{
		char path[64];
		struct sb_packet p;
		struct sb_msg m;

		assert_int_equal(load_text(&c, "# x\nws_chat_paths = nope\n",
		    err, sizeof(err), path, sizeof(path)), -EINVAL);
		assert_non_null(strstr(err, ":2: ws_chat_paths"));
		assert_int_equal(sb_msg_pack(&p, SB_C_CONFIG, 0,
		    "ws_chat_paths=/a*b", NULL), 0);
		assert_int_equal(sb_msg_decode(&m, p.buf, p.len), 0);
		config_defaults(&c);
		assert_int_equal(config_apply_msg(&c, &m, err, sizeof(err)),
		    -EINVAL);
		assert_non_null(strstr(err, "ws_chat_paths"));
		assert_string_equal(c.ws_chat_paths, CONFIG_WS_PATHS_DEFAULT);
	}
}

/*
 * metrics_from: a list of addresses and prefixes (common/cidr.h), the
 * loopback by default; a bad entry is refused with the key's name, in
 * the file and in a C_CONFIG alike.
 */
static void
test_proxy_keys(void **state)
{
	struct sb_config c;
	char err[256];

	(void)state;
	config_defaults(&c);
	assert_string_equal(c.proxy_from, CONFIG_PROXY_FROM_DEFAULT);
	assert_true(cidr_list_match(c.proxy_from, "127.0.0.1:5000"));
	assert_false(cidr_list_match(c.proxy_from, "192.0.2.1:5000"));
	assert_int_equal(c.max_per_address, 256);
	assert_int_equal(parse(&c, "proxy_from = 10.0.0.0/8", err,
	    sizeof(err)), 0);
	assert_true(cidr_list_match(c.proxy_from, "10.1.2.3:1"));
	assert_false(cidr_list_match(c.proxy_from, "127.0.0.1:1"));
	assert_refused("proxy_from = haproxy", "proxy_from: \"haproxy\" "
	    "is not an address");
	assert_int_equal(parse(&c, "max_per_address = 0", err, sizeof(err)),
	    0);
	assert_int_equal(c.max_per_address, 0);
	assert_refused("max_per_address = -1", "max_per_address");
}

static void
test_metrics_from(void **state)
{
	struct sb_config c;
	struct sb_packet p;
	struct sb_msg m;
	char err[256];

	config_defaults(&c);
	assert_string_equal(c.metrics_from, CONFIG_METRICS_FROM_DEFAULT);
	assert_true(cidr_list_match(c.metrics_from, "127.0.0.1:5000"));
	assert_true(cidr_list_match(c.metrics_from, "127.9.9.9:5000"));
	assert_true(cidr_list_match(c.metrics_from, "[::1]:5000"));
	assert_true(cidr_list_match(c.metrics_from, "[::ffff:127.0.0.1]:5"));
	assert_false(cidr_list_match(c.metrics_from, "192.0.2.1:5000"));
	assert_false(cidr_list_match(c.metrics_from, "local"));

	assert_int_equal(parse(&c, "metrics_from = 10.0.0.0/8,\t2001:db8::/32",
	    err, sizeof(err)), 0);
	assert_true(cidr_list_match(c.metrics_from, "10.1.2.3:1"));
	assert_true(cidr_list_match(c.metrics_from, "[2001:db8::7]:1"));
	assert_false(cidr_list_match(c.metrics_from, "127.0.0.1:1"));
	/* Empty: nobody. */
	assert_int_equal(parse(&c, "metrics_from =", err, sizeof(err)), 0);
	assert_false(cidr_list_match(c.metrics_from, "127.0.0.1:1"));

	assert_refused("metrics_from = localhost", "metrics_from: \"localhost\" "
	    "is not an address");
	assert_refused("metrics_from = 10.0.0.0/33", "from 0 to 32");
	assert_refused("metrics_from = ::1/129", "from 0 to 128");
	assert_refused("metrics_from = 10.0.0.0/", "metrics_from");
	/* Too long: refused whole; no cut list (perhaps "10.0") is left. */
	{
		char line[CONFIG_LINE_MAX];
		size_t n, i;

		config_defaults(&c);
		n = (size_t)snprintf(line, sizeof(line), "metrics_from =");
		for (i = 0; n < sizeof(c.metrics_from) + 32; i++)
			n += (size_t)snprintf(line + n, sizeof(line) - n,
			    " 2001:db8:ffff:ffff:ffff:ffff:ffff:%zx/128", i);
		assert_true(i <= CIDR_LIST_MAX);	/* long, not too many */
		assert_int_equal(parse(&c, line, err, sizeof(err)), -EINVAL);
		assert_string_equal(c.metrics_from, CONFIG_METRICS_FROM_DEFAULT);
	}

	assert_int_equal(sb_msg_pack(&p, SB_C_CONFIG, 0,
	    "metrics_from=0.0.0.0/0 nope", NULL), 0);
	assert_int_equal(sb_msg_decode(&m, p.buf, p.len), 0);
	config_defaults(&c);
	assert_int_equal(config_apply_msg(&c, &m, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "metrics_from"));
	assert_string_equal(c.metrics_from, CONFIG_METRICS_FROM_DEFAULT);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_strings),
		cmocka_unit_test(test_numbers),
		cmocka_unit_test(test_booleans),
		cmocka_unit_test(test_auth),
		cmocka_unit_test(test_syntax),
		cmocka_unit_test(test_load),
		cmocka_unit_test(test_load_long_lines),
		cmocka_unit_test(test_pack_apply),
		cmocka_unit_test(test_pack_longest_values),
		cmocka_unit_test(test_handler_config),
		cmocka_unit_test(test_ws_chat_paths),
		cmocka_unit_test(test_metrics_from),
		cmocka_unit_test(test_proxy_keys),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
