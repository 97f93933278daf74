/* SPDX-License-Identifier: ISC */
/*
 * The handler's answers that are not chat: the Flash socket policy and a
 * small HTTP/1.1 subset, for the mode machine (modes.c).  Every HTTP
 * answer is complete (status line, Content-Length, Connection: close)
 * and ends the connection, but for an upgrade to WebSocket and the
 * answers the hub gives (/server-status, /metrics, /healthz), which the
 * mode machine waits for in MODE_STATUS.
 */
#include <assert.h>
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <bsd/string.h>

#include "cidr.h"
#include "handler.h"

/* The reason phrase of an HTTP status code this file answers with. */
static const char *
status_text(int code)
{
	switch (code) {
	case 200: return "OK";
	case 301: return "Moved Permanently";
	case 304: return "Not Modified";
	case 400: return "Bad Request";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 408: return "Request Timeout";
	case 414: return "URI Too Long";
	case 426: return "Upgrade Required";
	case 431: return "Request Header Fields Too Large";
	case 500: return "Internal Server Error";
	case 503: return "Service Unavailable";
	case 505: return "HTTP Version Not Supported";
	default: return "Error";
	}
}

/*
 * Write one complete response and finish the connection.  `extra` holds
 * additional header lines, each ending in CRLF, or is NULL.  A 304 has
 * neither body nor Content-Length (RFC 9110, 15.4.5).
 */
static void
respond(struct conn *c, int code, const char *type, const char *extra,
    const void *body, size_t len)
{
	char head[1024];
	int n;

	if (code == 304)
		n = snprintf(head, sizeof(head),
		    "HTTP/1.1 304 %s\r\n"
		    "Server: switchboard\r\n"
		    "Cache-Control: no-cache\r\n"
		    "%s"
		    "Connection: close\r\n\r\n",
		    status_text(code), extra ? extra : "");
	else
		n = snprintf(head, sizeof(head),
		    "HTTP/1.1 %d %s\r\n"
		    "Server: switchboard\r\n"
		    "Content-Type: %s\r\n"
		    "Content-Length: %zu\r\n"
		    "Cache-Control: no-cache\r\n"
		    "X-Content-Type-Options: nosniff\r\n"
		    "%s"
		    "Connection: close\r\n\r\n",
		    code, status_text(code), type, len, extra ? extra : "");
	if (n > 0 && (size_t)n < sizeof(head))
		client_io_write(c, head, (size_t)n);
	if (!c->modes.http.head_only && code != 304 && len > 0)
		client_io_write(c, body, len);
	client_io_finish(c);
}

/* An error page: the status, a line of text. */
void
serve_error(struct conn *c, int code, const char *why)
{
	char body[256], failure[8];
	int n;

	hublink_hello(c, "http");
	n = snprintf(body, sizeof(body), "%d %s: %s\n", code,
	    status_text(code), why);
	if (n < 0 || (size_t)n >= sizeof(body))
		n = 0;
	snprintf(failure, sizeof(failure), "%d", code);
	hublink_failed(c, failure, "http", "%d %s", code, why);
	respond(c, code, "text/plain; charset=utf-8",
	    code == 405 ? "Allow: GET, HEAD\r\n" : NULL, body, (size_t)n);
}

/*
 * The cross-domain policy from the config: one allow-access-from per
 * domain (space or comma separated), all on the configured ports.
 */
static int
policy_xml(const struct conn *c, struct buf *d)
{
	char list[sizeof(c->cfg.policy_domains)], *s = list, *t;

	buf_cat(d, "<?xml version=\"1.0\"?>\n"
	    "<!DOCTYPE cross-domain-policy SYSTEM "
	    "\"/xml/dtds/cross-domain-policy.dtd\">\n"
	    "<cross-domain-policy>\n"
	    "<site-control permitted-cross-domain-policies=\"master-only\"/>\n");
	strlcpy(list, c->cfg.policy_domains, sizeof(list));
	while ((t = strsep(&s, " ,\t")) != NULL) {
		if (*t == '\0')
			continue;
		buf_cat(d, "<allow-access-from domain=\"");
		dialect_xml_escape(d, t, strlen(t));
		buf_cat(d, "\" to-ports=\"");
		dialect_xml_escape(d, c->cfg.policy_ports,
		    strlen(c->cfg.policy_ports));
		buf_cat(d, "\"/>\n");
	}
	buf_cat(d, "</cross-domain-policy>");
	return d->err;
}

/* A Flash <policy-file-request/>: the policy and a NUL, then close. */
void
serve_policy(struct conn *c)
{
	struct buf d;

	hublink_hello(c, "policy");
	hublink_event(c, "policy", "policy file request");
	buf_init(&d, 16384);
	if (policy_xml(c, &d) == 0)
		client_io_write(c, d.buf, d.len + 1);	/* with its NUL */
	buf_free(&d);
	client_io_finish(c);
}

/*
 * C_STATUS's cluster part (fields 4 to 6: node, identified users here,
 * on every machine), as JSON members or text lines in `out`; "" when
 * the hub is alone or the fields are not well formed.
 */
static void
status_cluster(const struct sb_msg *m, int json, char *out, size_t size)
{
	long long users = 0, all = 0;
	size_t i;

	out[0] = '\0';
	if (m->nfields < 7 || m->flen[4] < 1 || m->flen[4] > 32 ||
	    sb_field_num(m, 5, 0, INT64_MAX, &users) < 0 ||
	    sb_field_num(m, 6, 0, INT64_MAX, &all) < 0)
		return;
	for (i = 0; i < m->flen[4]; i++)
		if (!isalnum((unsigned char)m->field[4][i]) &&
		    strchr("._-", m->field[4][i]) == NULL)
			return;
	if (json)
		snprintf(out, size, ",\"node\":\"%s\",\"users\":%lld,"
		    "\"cluster_users\":%lld", m->field[4], users, all);
	else
		snprintf(out, size, "Node: %s\nUsers: %lld here, %lld on every "
		    "machine\n", m->field[4], users, all);
}

/* C_STATUS has arrived for /server-status. */
static void
server_status(struct conn *c, const struct sb_msg *m)
{
	long long clients = 0, max = 0, created = 0, peak = 0;
	char body[640], when[32], iso[32], cl[128];
	int json = c->modes.http.status_json, n;
	time_t cr, now = time(NULL);
	struct tm tm;

	sb_field_num(m, 0, 0, INT64_MAX, &clients);
	sb_field_num(m, 1, 0, INT64_MAX, &max);
	sb_field_num(m, 2, 0, INT64_MAX, &created);
	sb_field_num(m, 3, 0, INT64_MAX, &peak);
	status_cluster(m, json, cl, sizeof(cl));
	cr = (time_t)created;
	gmtime_r(&cr, &tm);
	strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S", &tm);
	strftime(iso, sizeof(iso), "%Y-%m-%dT%H:%M:%SZ", &tm);
	if (json)
		n = snprintf(body, sizeof(body), "{\"status\":\"OK\","
		    "\"clients\":%lld,\"max\":%lld,\"peak\":%lld,"
		    "\"created\":\"%s\",\"uptime_seconds\":%lld%s}\n",
		    clients, max, peak, iso, (long long)(now - cr), cl);
	else
		n = snprintf(body, sizeof(body), "OK\nClients: %lld/%lld\n"
		    "Created: %s\nUptime: %lld days\n%s", clients, max, when,
		    (long long)(now - cr) / 86400, cl);
	if (n < 0 || (size_t)n >= sizeof(body))
		n = 0;
	hublink_event(c, "status", "server status%s", json ? " (json)" : "");
	respond(c, 200, json ? "application/json" :
	    "text/plain; charset=utf-8", NULL, body, (size_t)n);
}

/*
 * A chunk of the metrics text (C_METRICS) for /metrics: kept until the
 * last, then the whole text in the Prometheus text format, 0.0.4.
 */
static void
serve_metrics(struct conn *c, const struct sb_msg *m)
{
	struct buf *b = &c->modes.http.body;

	if (buf_catlen(b, m->field[1], m->flen[1]) < 0) {
		serve_error(c, 500, "The metrics are too large");
		return;
	}
	if (strcmp(m->field[0], "0") != 0)
		return;		/* more to come */
	hublink_event(c, "http", "%s /metrics 200", c->modes.http.head_only ?
	    "HEAD" : "GET");
	respond(c, 200, "text/plain; version=0.0.4; charset=utf-8", NULL,
	    b->len > 0 ? b->buf : "", b->len);
	buf_free(b);
}

/*
 * What the hub answered while MODE_STATUS waits (modes.c): the server
 * status, a piece of the metrics, or for /healthz that it is there at
 * all.  Anything else is not for this mode.
 */
void
serve_status(struct conn *c, const struct sb_msg *m)
{
	switch (c->modes.http.wait) {
	case WAIT_SERVER_STATUS:
		if (m->type == SB_C_STATUS)
			server_status(c, m);
		return;
	case WAIT_METRICS:
		if (m->type == SB_C_METRICS)
			serve_metrics(c, m);
		return;
	case WAIT_HEALTH:
		if (m->type == SB_C_STATUS)
			respond(c, 200, "text/plain; charset=utf-8", NULL,
			    "ok\n", 3);
		return;
	}
}

/* Is the request's path (the target before any '?') exactly `p`? */
static int
path_is(const struct http_request *r, const char *p)
{
	return r->path_len == strlen(p) && memcmp(r->target, p, r->path_len) == 0;
}

/* A page not served here: to redirect_url if there is one, else 404. */
static void
serve_redirect_or_404(struct conn *c, const struct http_request *r)
{
	char loc[sizeof(c->cfg.redirect_url) + 16];

	if (c->cfg.redirect_url[0] == '\0') {
		serve_error(c, 404, "No such page");
		return;
	}
	hublink_hello(c, "http");
	snprintf(loc, sizeof(loc), "Location: %s\r\n", c->cfg.redirect_url);
	hublink_event(c, "http", "%.*s %.*s 301", (int)r->method_len, r->method,
	    (int)(r->target_len > 200 ? 200 : r->target_len), r->target);
	respond(c, 301, "text/plain; charset=utf-8", loc, "Moved\n", 6);
}

/*
 * An upgrade request: the 101, or a refusal.  Returns SERVE_WEBSOCKET
 * with the endpoint's `kind`, or SERVE_ANSWERED.
 */
static enum serve_next
serve_upgrade(struct conn *c, const struct http_request *r,
    enum ws_kind *kind)
{
	struct ws_handshake_policy pol = { .origins = c->cfg.ws_origins };
	char reply[1024];
	int code;

	if (path_is(r, "/chat") || path_is(r, "/"))
		*kind = WSK_CHAT;
	else if (path_is(r, "/xmlsocket"))
		*kind = WSK_TUNNEL;
	else if (path_is(r, "/echo") && c->cfg.ws_echo)
		*kind = WSK_ECHO;
	else if (config_ws_chat_path(&c->cfg, r->target, r->path_len))
		*kind = WSK_CHAT;	/* e.g. seed 003's /chat/server.php */
	else {
		serve_error(c, 404, "No WebSocket endpoint at this path");
		return SERVE_ANSWERED;
	}
	code = ws_handshake(r, &pol, reply, sizeof(reply));
	if (code != 101) {
		char failure[8];

		snprintf(failure, sizeof(failure), "%d", code);
		hublink_hello(c, "http");
		hublink_failed(c, failure, "http", "WebSocket handshake "
		    "refused: %d", code);
		if (code > 0)
			client_io_write(c, reply, strlen(reply));
		client_io_finish(c);
		return SERVE_ANSWERED;
	}
	client_io_write(c, reply, strlen(reply));
	hublink_hello(c, *kind == WSK_CHAT ? "websocket" :
	    *kind == WSK_TUNNEL ? "tunnel" : "http");
	return SERVE_WEBSOCKET;
}

/*
 * The pages the hub answers: /metrics, for clients in metrics_from only
 * (the others get what any unknown page gets), and /healthz, for load
 * balancers, which says only that the hub answers: it sends no H_HELLO
 * (H_STATUS may come first), so the hub logs nothing per check.  Returns
 * SERVE_STATUS (the question is out) or SERVE_ANSWERED.
 */
static enum serve_next
serve_hub_page(struct conn *c, const struct http_request *r)
{
	int metrics = path_is(r, "/metrics");

	if (metrics && !cidr_list_match(c->cfg.metrics_from, c->remote)) {
		serve_redirect_or_404(c, r);
		return SERVE_ANSWERED;
	}
	c->modes.http.wait = metrics ? WAIT_METRICS : WAIT_HEALTH;
	if (metrics) {
		hublink_hello(c, "http");
		buf_init(&c->modes.http.body, HANDLER_METRICS_MAX);
	}
	if (hublink_pack(c, SB_H_STATUS, metrics ? "metrics" : NULL,
	    NULL) < 0) {
		serve_error(c, 503, "The chat hub did not answer");
		return SERVE_ANSWERED;
	}
	return SERVE_STATUS;
}

/*
 * A complete request head has been read: answer it.  Returns what the
 * mode machine goes on with: nothing (SERVE_ANSWERED), the hub's status
 * (SERVE_STATUS), or a WebSocket of `kind` (SERVE_WEBSOCKET).
 */
enum serve_next
serve_request(struct conn *c, const struct http_request *r,
    enum ws_kind *kind)
{
	const struct www_file *f;

	c->modes.http.head_only = r->method_len == 4 &&
	    memcmp(r->method, "HEAD", 4) == 0;
	if (!c->modes.http.head_only && !(r->method_len == 3 &&
	    memcmp(r->method, "GET", 3) == 0)) {
		serve_error(c, 405, "Only GET and HEAD are served here");
		return SERVE_ANSWERED;
	}
	if (!hublink_up(c)) {
		serve_error(c, 503, "The chat hub is not running");
		return SERVE_ANSWERED;
	}
	if (ws_is_upgrade(r))
		return serve_upgrade(c, r, kind);
	if (path_is(r, "/crossdomain.xml")) {
		struct buf d;

		hublink_hello(c, "http");
		hublink_event(c, "policy", "GET /crossdomain.xml");
		buf_init(&d, 16384);
		if (policy_xml(c, &d) == 0)
			respond(c, 200, "text/x-cross-domain-policy", NULL,
			    d.buf, d.len);
		else
			serve_error(c, 500, "Policy too large");
		buf_free(&d);
		return SERVE_ANSWERED;
	}
	if (path_is(r, "/server-status")) {
		const char *q = r->target + r->path_len;
		size_t ql = r->target_len - r->path_len;

		c->modes.http.status_json = ql == 5 &&
		    memcmp(q, "?json", 5) == 0;
		c->modes.http.wait = WAIT_SERVER_STATUS;
		hublink_hello(c, "http");
		if (hublink_pack(c, SB_H_STATUS, NULL) < 0) {
			serve_error(c, 503, "The chat hub did not answer");
			return SERVE_ANSWERED;
		}
		return SERVE_STATUS;
	}
	if (path_is(r, "/metrics") || path_is(r, "/healthz"))
		return serve_hub_page(c, r);
	if (c->cfg.redirect_url[0] == '\0' &&
	    (f = www_find(r->target, r->path_len)) != NULL) {
		char etag[WWW_ETAG_LEN + 16];
		int code = www_not_modified(r, f) ? 304 : 200;

		snprintf(etag, sizeof(etag), "ETag: %s\r\n", f->etag);
		hublink_hello(c, "http");
		hublink_event(c, "http", "%s %.*s %d",
		    c->modes.http.head_only ? "HEAD" : "GET",
		    (int)r->path_len, r->target, code);
		respond(c, code, f->type, etag, f->data, f->size);
		return SERVE_ANSWERED;
	}
	if (path_is(r, "/favicon.ico")) {
		serve_error(c, 404, "No icon");
		return SERVE_ANSWERED;
	}
	serve_redirect_or_404(c, r);
	return SERVE_ANSWERED;
}

/* What serve.c holds (the metrics text while it comes). */
void
serve_free(struct conn *c)
{
	buf_free(&c->modes.http.body);
}
