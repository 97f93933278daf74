/* SPDX-License-Identifier: ISC */
/*
 * The hub's metrics (metrics.h): the names behind each label, the few
 * functions that count what needs a lookup (an error code, a close
 * code, a histogram bucket), and the text in the Prometheus exposition
 * format 0.0.4, made on request (metrics_render) for the handler's
 * /metrics (C_METRICS) and the control socket alike.  It calls none of
 * the hub's files that count (they call it): the sessions and the
 * command table come in a struct metrics_view (peers.c).
 * docs/metrics.md explains every metric; a metric added here is added
 * there.
 *
 * One of the hub's rules: no I/O.  The process's own numbers (CPU,
 * memory, descriptors) come through hub->ops->proc_stats, which the
 * unit tests leave out.
 */
#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "hub.h"

/* --- the names of the labels --------------------------------------------- */

static const char *const end_names[METRICS_END_COUNT] = {
	[METRICS_END_CLOSED] = "closed",
	[METRICS_END_QUIT] = "quit",
	[METRICS_END_TIMEOUT] = "timeout",
	[METRICS_END_KICKED] = "kicked",
	[METRICS_END_BANNED] = "banned",
	[METRICS_END_FLOOD] = "flood",
	[METRICS_END_SLOW_READER] = "slow_reader",
	[METRICS_END_SERVER_FULL] = "server_full",
	[METRICS_END_TOO_MANY] = "too_many_connections",
	[METRICS_END_LOGIN_DISABLED] = "login_disabled",
	[METRICS_END_ENDED] = "ended",
	[METRICS_END_ERROR] = "error",
};

static const char *const hs_names[METRICS_HS_COUNT] = {
	[METRICS_HS_400] = "400", [METRICS_HS_403] = "403",
	[METRICS_HS_404] = "404", [METRICS_HS_405] = "405",
	[METRICS_HS_408] = "408", [METRICS_HS_414] = "414",
	[METRICS_HS_426] = "426", [METRICS_HS_431] = "431",
	[METRICS_HS_500] = "500", [METRICS_HS_503] = "503",
	[METRICS_HS_505] = "505", [METRICS_HS_TIMEOUT] = "timeout",
	[METRICS_HS_OTHER] = "other",
};

static const char *const kind_names[METRICS_KIND_COUNT] = {
	[METRICS_KIND_PRIVATE] = "private",
	[METRICS_KIND_ROOM] = "room",
	[METRICS_KIND_ANNOUNCE] = "announce",
};

static const char *const dialect_names[METRICS_DIALECT_COUNT] = {
	[METRICS_DIALECT_NONE] = "none",
	[METRICS_DIALECT_TEXT] = "text",
	[METRICS_DIALECT_XML] = "xml",
	[METRICS_DIALECT_JSON] = "json",
};

/*
 * Every error code the hub sends (send_error), sorted for bsearch;
 * docs/protocol.md lists them.  One not here counts as "other", the
 * last; tests/unit/test_route.c checks every error it sees is here.
 */
static const char *const error_names[METRICS_ERRORS] = {
	"already_identified", "already_joined", "bad_id", "banned", "flood",
	"id_taken", "login_busy", "login_disabled", "login_failed",
	"login_throttled", "nick_confusable", "nick_fixed", "nick_invalid",
	"nick_lost", "nick_reserved", "nick_taken", "no_such_nick",
	"no_such_room", "no_target", "not_identified", "not_in_room",
	"room_invalid", "too_many_rooms",
	"other",
};

/* The histograms' upper bounds, in their unit; +Inf follows the last. */
static const uint64_t queue_bounds[] = {	/* bytes */
	1024, 4096, 16384, 65536, 131072, 262144, 393216, HUB_PEER_QUEUE_MAX,
};
static const char *const queue_le[] = {
	"1024", "4096", "16384", "65536", "131072", "262144", "393216",
	"524288",
};
static const uint64_t routing_bounds[] = {	/* microseconds */
	10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 25000, 50000,
	100000,
};
static const char *const routing_le[] = {
	"1e-05", "2.5e-05", "5e-05", "0.0001", "0.00025", "0.0005", "0.001",
	"0.0025", "0.005", "0.01", "0.025", "0.05", "0.1",
};

#define NELEM(a)	(sizeof(a) / sizeof((a)[0]))

_Static_assert(NELEM(queue_bounds) == NELEM(queue_le) &&
    NELEM(queue_bounds) < METRICS_BUCKETS_MAX, "queue histogram");
_Static_assert(NELEM(routing_bounds) == NELEM(routing_le) &&
    NELEM(routing_bounds) < METRICS_BUCKETS_MAX, "routing histogram");
_Static_assert(HUB_PEER_QUEUE_MAX == 524288, "queue_le's last bound");

/* The index of `name` in names[0..n), or `dflt`. */
static int
name_index(const char *const *names, int n, const char *name, int dflt)
{
	int i;

	for (i = 0; i < n; i++)
		if (names[i] != NULL && strcmp(names[i], name) == 0)
			return i;
	return dflt;
}

static int
error_cmp(const void *key, const void *elem)
{
	return strcmp(key, *(const char *const *)elem);
}

/* --- counting ------------------------------------------------------------ */

/*
 * Why a session ends, from the C_CLOSE code hub_peer_kill() sends or
 * the cause a handler gives in H_QUIT: the reason of that name, a
 * protocol error as "error"; anything else is "error" too.
 */
enum metrics_end
metrics_end_reason(const char *code)
{
	assert(code != NULL);
	return (enum metrics_end)name_index(end_names, METRICS_END_COUNT,
	    code, METRICS_END_ERROR);
}

/* A handshake failed for `why` (H_EVENT's third field): count it. */
void
metrics_handshake_failed(struct hub *h, const char *why)
{
	assert(h != NULL && why != NULL);
	h->metrics.handshake_failures[name_index(hs_names, METRICS_HS_COUNT,
	    why, METRICS_HS_OTHER)]++;
}

/* The dialect named `name` (H_DIALECT), or METRICS_DIALECT_NONE. */
enum metrics_dialect
metrics_dialect_parse(const char *name)
{
	assert(name != NULL);
	return (enum metrics_dialect)name_index(dialect_names,
	    METRICS_DIALECT_COUNT, name, METRICS_DIALECT_NONE);
}

/* Error `code` went to a client: count it (unknown codes as "other"). */
void
metrics_error(struct hub *h, const char *code)
{
	const char *const *e;

	assert(h != NULL && code != NULL);
	e = bsearch(code, error_names, METRICS_ERRORS - 1,
	    sizeof(error_names[0]), error_cmp);
	h->metrics.errors[e != NULL ? e - error_names : METRICS_ERRORS - 1]++;
}

/* Is `code` one of the error codes counted by name (not "other")? */
int
metrics_error_known(const char *code)
{
	return bsearch(code, error_names, METRICS_ERRORS - 1,
	    sizeof(error_names[0]), error_cmp) != NULL;
}

/* Count `v` into histogram `x` whose upper bounds are bounds[0..n). */
static void
observe(struct metrics_hist *x, const uint64_t *bounds, size_t n,
    uint64_t v)
{
	size_t i;

	for (i = 0; i < n && v > bounds[i]; i++)
		continue;
	x->bucket[i]++;		/* i == n: +Inf */
	x->count++;
	x->sum += v;
}

/* A datagram waits in the hub for a handler, `bytes` queued now. */
void
metrics_queued(struct hub *h, size_t bytes)
{
	observe(&h->metrics.queue, queue_bounds, NELEM(queue_bounds), bytes);
}

/* A message took `usec` microseconds to route (cmd_run). */
void
metrics_routed_in(struct hub *h, uint64_t usec)
{
	observe(&h->metrics.routing, routing_bounds, NELEM(routing_bounds),
	    usec);
}

/*
 * The length of the next piece of text[0..len) to send in a message of
 * at most `max` bytes: all of it when it fits, else up to the last
 * newline within `max` (or `max` bytes, when a line is that long).
 */
size_t
metrics_chunk(const char *text, size_t len, size_t max)
{
	const char *cut;

	assert(text != NULL && max > 0);
	if (len <= max)
		return len;
	if ((cut = memrchr(text, '\n', max)) != NULL)
		return (size_t)(cut - text) + 1;
	return max;
}

/* --- the text ------------------------------------------------------------ */

/* The HELP and TYPE lines of a metric family. */
static void
family(struct buf *b, const char *name, const char *type,
    const char *help)
{
	buf_catf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* A family of one sample without labels. */
static void
single(struct buf *b, const char *name, const char *type,
    const char *help, uint64_t v)
{
	family(b, name, type, help);
	buf_catf(b, "%s %llu\n", name, (unsigned long long)v);
}

/* A family with one label `label`, the values v[i] named names[i]. */
static void
labelled(struct buf *b, const char *name, const char *type,
    const char *help, const char *label, const char *const *names,
    const uint64_t *v, size_t n)
{
	size_t i;

	family(b, name, type, help);
	for (i = 0; i < n; i++)
		buf_catf(b, "%s{%s=\"%s\"} %llu\n", name, label, names[i],
		    (unsigned long long)v[i]);
}

/*
 * A histogram: cumulative buckets, +Inf, the sum (times `scale`: the
 * bounds' unit to the metric's), the count.
 */
static void
histogram(struct buf *b, const char *name, const char *help,
    const struct metrics_hist *x, const char *const *le, size_t n,
    double scale)
{
	uint64_t cum = 0;
	size_t i;

	family(b, name, "histogram", help);
	for (i = 0; i < n; i++) {
		cum += x->bucket[i];
		buf_catf(b, "%s_bucket{le=\"%s\"} %llu\n", name, le[i],
		    (unsigned long long)cum);
	}
	buf_catf(b, "%s_bucket{le=\"+Inf\"} %llu\n", name,
	    (unsigned long long)x->count);
	if (scale == 1)
		buf_catf(b, "%s_sum %llu\n", name, (unsigned long long)x->sum);
	else
		buf_catf(b, "%s_sum %.6f\n", name, (double)x->sum * scale);
	buf_catf(b, "%s_count %llu\n", name, (unsigned long long)x->count);
}

/*
 * The connections now, by transport and dialect: a series for every
 * pair a handler can report, and any other pair that has connections.
 */
static void
render_connections(struct buf *b, const struct metrics_view *v)
{
	static const unsigned char usual[][2] = {
		{ SB_TRANSPORT_XMLSOCKET, METRICS_DIALECT_NONE },
		{ SB_TRANSPORT_XMLSOCKET, METRICS_DIALECT_TEXT },
		{ SB_TRANSPORT_XMLSOCKET, METRICS_DIALECT_XML },
		{ SB_TRANSPORT_WEBSOCKET, METRICS_DIALECT_JSON },
		{ SB_TRANSPORT_TUNNEL, METRICS_DIALECT_NONE },
		{ SB_TRANSPORT_TUNNEL, METRICS_DIALECT_TEXT },
		{ SB_TRANSPORT_TUNNEL, METRICS_DIALECT_XML },
		{ SB_TRANSPORT_HTTP, METRICS_DIALECT_NONE },
		{ SB_TRANSPORT_POLICY, METRICS_DIALECT_NONE },
		{ SB_TRANSPORT_UNKNOWN, METRICS_DIALECT_NONE },
	};
	int shown[SB_TRANSPORT_COUNT][METRICS_DIALECT_COUNT] = { { 0 } };
	size_t i, t, d;

	family(b, "switchboard_connections", "gauge", "Handler connections "
	    "now (every connection has one handler), by transport and "
	    "dialect.");
	for (i = 0; i < NELEM(usual); i++) {
		t = usual[i][0];
		d = usual[i][1];
		shown[t][d] = 1;
		buf_catf(b, "switchboard_connections{transport=\"%s\","
		    "dialect=\"%s\"} %llu\n", sb_transport_name((int)t),
		    dialect_names[d], (unsigned long long)v->connections[t][d]);
	}
	for (t = 0; t < SB_TRANSPORT_COUNT; t++)
		for (d = 0; d < METRICS_DIALECT_COUNT; d++)
			if (!shown[t][d] && v->connections[t][d] != 0)
				buf_catf(b, "switchboard_connections{transport="
				    "\"%s\",dialect=\"%s\"} %llu\n",
				    sb_transport_name((int)t),
				    dialect_names[d],
				    (unsigned long long)v->connections[t][d]);
}

/* A command's name in a label: "privmsg" for H_PRIVMSG. */
static void
command_name(char *buf, size_t size, unsigned type)
{
	const char *s = sb_type_name((int)type);
	size_t i;

	if (strncmp(s, "H_", 2) == 0)
		s += 2;
	for (i = 0; s[i] != '\0' && i + 1 < size; i++)
		buf[i] = (char)(s[i] >= 'A' && s[i] <= 'Z' ? s[i] - 'A' + 'a' :
		    s[i]);
	buf[i] = '\0';
}

/* Commands by type, and flood refusals of the metered ones. */
static void
render_commands(struct buf *b, const struct hub *h,
    const struct metrics_view *v)
{
	const struct hub_metrics *mt = &h->metrics;
	char name[32];
	unsigned t;

	family(b, "switchboard_commands_total", "counter", "Commands from "
	    "handlers, by type (the rows of the hub's command table).");
	for (t = 0; t < SB_TYPE_COUNT; t++)
		if (v->cmds[t] != METRICS_CMD_NONE) {
			command_name(name, sizeof(name), t);
			buf_catf(b, "switchboard_commands_total{command=\"%s\"} "
			    "%llu\n", name,
			    (unsigned long long)mt->commands[t]);
		}
	family(b, "switchboard_flood_refusals_total", "counter", "Commands "
	    "dropped by the flood limit, by type (the metered ones).");
	for (t = 0; t < SB_TYPE_COUNT; t++)
		if (v->cmds[t] == METRICS_CMD_METERED) {
			command_name(name, sizeof(name), t);
			buf_catf(b, "switchboard_flood_refusals_total{command="
			    "\"%s\"} %llu\n", name,
			    (unsigned long long)mt->flood_refusals[t]);
		}
}

/* Sessions now and over time: the gauges and counters of presence. */
static void
render_sessions(struct buf *b, const struct hub *h)
{
	const struct hub_metrics *mt = &h->metrics;

	single(b, "switchboard_clients", "gauge", "Chat sessions now (what "
	    "max_clients counts).", h->clients);
	single(b, "switchboard_clients_max", "gauge", "max_clients, from the "
	    "config.", h->cfg.max_clients);
	single(b, "switchboard_clients_peak", "gauge", "The most chat "
	    "sessions at once since the hub started.", h->peak);
	single(b, "switchboard_identified_users", "gauge", "Identified "
	    "sessions now (a nick each).", h->named);
	single(b, "switchboard_rooms", "gauge", "Rooms now.", h->nrooms);
	single(b, "switchboard_sessions_started_total", "counter", "Chat "
	    "sessions started (XMLSocket, WebSocket, the Flash tunnel).",
	    mt->sessions_started);
	labelled(b, "switchboard_sessions_ended_total", "counter", "Chat "
	    "sessions ended, by reason.", "reason", end_names,
	    mt->sessions_ended, METRICS_END_COUNT);
	single(b, "switchboard_sessions_resumed_total", "counter", "Sessions "
	    "re-registered with their nick after a hub restart.", mt->resumed);
	single(b, "switchboard_reconnects_total", "counter", "Handlers that "
	    "came back after their hub went away.", mt->reconnects);
	single(b, "switchboard_epoch_changes_total", "counter", "Earlier hub "
	    "incarnations that handlers came back from (restarts their "
	    "clients lived through).", mt->epoch_changes);
	labelled(b, "switchboard_handshake_failures_total", "counter",
	    "Connections refused before a session, by the HTTP status "
	    "answered, or timeout.", "reason", hs_names,
	    mt->handshake_failures, METRICS_HS_COUNT);
}

/* Messages, deliveries, errors and the history. */
static void
render_traffic(struct buf *b, struct hub *h)
{
	const struct hub_metrics *mt = &h->metrics;
	size_t entries = 0, bytes = 0, rooms = 0;

	labelled(b, "switchboard_messages_routed_total", "counter", "Chat "
	    "messages routed, by kind (an action counts as private or "
	    "room).", "kind", kind_names, mt->routed, METRICS_KIND_COUNT);
	single(b, "switchboard_deliveries_total", "counter", "Messages "
	    "handed to sessions (one per recipient), history replays "
	    "aside.", mt->deliveries);
	single(b, "switchboard_hub_datagrams_total", "counter", "Datagrams "
	    "the hub wrote to handlers: one per message, or one per batch "
	    "of the messages that waited for the same handler.",
	    mt->datagrams);
	labelled(b, "switchboard_errors_total", "counter", "Errors sent "
	    "to clients, by code.", "code", error_names, mt->errors,
	    METRICS_ERRORS);
	if (h->history != NULL)
		rooms = history_usage(h->history, &entries, &bytes);
	single(b, "switchboard_history_entries", "gauge", "Room history "
	    "entries held in memory.", entries);
	single(b, "switchboard_history_bytes", "gauge", "Bytes of room "
	    "history held in memory.", bytes);
	single(b, "switchboard_history_rooms", "gauge", "Rooms with a "
	    "history.", rooms);
	single(b, "switchboard_history_replayed_total", "counter", "History "
	    "entries sent to clients joining a room.", mt->replayed);
	histogram(b, "switchboard_routing_seconds", "Time the hub took to "
	    "route one chat message to every recipient.", &mt->routing,
	    routing_le, NELEM(routing_le), 1e-6);
}

/* The hub process: its build, CPU, memory, descriptors, start. */
static void
render_process(struct buf *b, struct hub *h)
{
	struct metrics_proc ps;

	family(b, "switchboard_build_info", "gauge", "The running version, "
	    "and the handler-hub protocol's.");
	buf_catf(b, "switchboard_build_info{version=\"%s\",protocol=\"%d\"} 1\n",
	    SB_VERSION, SB_PROTO_VERSION);
	single(b, "switchboard_hub_start_time_seconds", "gauge", "When the "
	    "hub started, in seconds since the epoch.",
	    (uint64_t)(h->created > 0 ? h->created : 0));
	if (h->ops->proc_stats == NULL || h->ops->proc_stats(h, &ps) < 0)
		return;
	family(b, "switchboard_hub_cpu_seconds_total", "counter", "CPU time "
	    "of the hub process, user and system, in seconds.");
	buf_catf(b, "switchboard_hub_cpu_seconds_total %.3f\n", ps.cpu_seconds);
	single(b, "switchboard_hub_resident_memory_bytes", "gauge",
	    "Resident memory of the hub process.", ps.resident_bytes);
	single(b, "switchboard_hub_virtual_memory_bytes", "gauge",
	    "Virtual memory of the hub process.", ps.virtual_bytes);
	single(b, "switchboard_hub_open_fds", "gauge", "Open file "
	    "descriptors of the hub (a handler holds one).", ps.open_fds);
	single(b, "switchboard_hub_max_fds", "gauge", "The hub's limit on "
	    "open file descriptors.", ps.max_fds);
}

/*
 * The whole text, appended to `out` (text: NUL-terminated), from the
 * hub's counters and `v` (hub_metrics_text, peers.c).  Returns 0, or out's
 * sticky error (-EMSGSIZE: more than out->max, or -ENOMEM; the text is
 * then incomplete).
 */
int
metrics_render(struct hub *h, const struct metrics_view *v, struct buf *out)
{
	assert(h != NULL && v != NULL && out != NULL);
	render_connections(out, v);
	render_sessions(out, h);
	render_commands(out, h, v);
	render_traffic(out, h);
	single(out, "switchboard_hub_queued_bytes", "gauge", "Bytes waiting "
	    "in the hub for handlers to read, now.", v->queued);
	histogram(out, "switchboard_hub_queue_bytes", "Bytes queued for a "
	    "handler, seen each time a datagram had to wait (the handler "
	    "was slow to read); past 524288 it is cut off.",
	    &h->metrics.queue, queue_le, NELEM(queue_le), 1);
	render_process(out, h);
	return out->err;
}
