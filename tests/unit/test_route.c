/* SPDX-License-Identifier: ISC */
/*
 * Unit tests for the hub's rules (the files hub/hub.h lists under "The
 * rules": dispatch.c, peers.c, identity.c, resume.c, rooms.c, replay.c,
 * messages.c, flood.c, send.c, hub.c, with nick.c's uniqueness).  They do
 * no I/O: they hand every datagram to hub->ops->send and ask
 * hub->ops->now_usec for the time.  Here send records each datagram
 * (after checking that it decodes, carries the hub's epoch and the peer's
 * next sequence number) and the clock is a number the test moves.  Peers are made with
 * hub_peer_new(h, -1); messages are built with sb_msg_pack, decoded with
 * sb_msg_decode and fed to hub_dispatch, as the hub's socket loop does.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <crypt.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bsd/string.h>

#include "buf.h"
#include "../../hub/hub.h"
#include "tmpdir.h"

#define EPOCH	0x5eed1234U
#define STR_(x)	#x
#define STR(x)	STR_(x)
#define PROTO_V	STR(SB_PROTO_VERSION)	/* H_HELLO's version field */

struct rec {
	uint64_t	 session;
	unsigned char	*buf;
	struct sb_msg	 m;		/* points into buf */
};

struct fx {
	struct hub	 h;
	struct rec	*rec;		/* what was sent, in order */
	size_t		 nrec, caprec;
	int		 record;	/* 0: check, but keep nothing */
	uint64_t	 now;		/* usec */
	uint64_t	*lastseq;	/* by session */
	size_t		 nlastseq;
	struct sb_packet in;		/* the message being dispatched */
	FILE		*quiet_file;	/* stderr while quiet */
	int		 quiet_saved;	/* the real stderr */
	/* Password checks asked of async_ops, answered by check_answer(). */
	struct check {
		uint64_t session;
		char	 setting[MEMBERS_HASH_MAX + 1];
		char	 password[MEMBERS_PASS_MAX + 1];
	}		 checks[HUB_CHECKS_MAX + 8];
	size_t		 nchecks;
	int		 check_refuse;	/* check_password says -EAGAIN */
	struct peer	*behind;	/* its socket is full: queued */
};

/* --- the recording ops table ------------------------------------------- */

static int
rec_send(struct hub *h, struct peer *p, const struct sb_packet *pkt)
{
	struct fx *f = h->ctx;
	struct sb_hdr hdr;
	struct rec *r;

	assert_true(pkt->len >= SB_HDR_SIZE && pkt->len <= SB_MSG_MAX);
	assert_false(p->dead);
	memcpy(&hdr, pkt->buf, sizeof(hdr));
	assert_int_equal(hdr.session, p->session);
	if (p == f->behind) {	/* as server.c's ops_send() on EAGAIN; its */
		int q = hub_queue(h, p, pkt);	/* numbers: drain_behind() */

		if (q < 0)
			hub_peer_unqueued(h, p, q);
		return q;
	}
	if (hdr.type != SB_C_CONFIG) {
		/* Every event: this hub's epoch, the peer's next number. */
		if (p->session >= f->nlastseq) {
			size_t n = p->session * 2 + 16;

			f->lastseq = realloc(f->lastseq,
			    n * sizeof(*f->lastseq));
			assert_non_null(f->lastseq);
			memset(f->lastseq + f->nlastseq, 0,
			    (n - f->nlastseq) * sizeof(*f->lastseq));
			f->nlastseq = n;
		}
		assert_int_equal(hdr.epoch, EPOCH);
		assert_int_equal(hdr.seq, f->lastseq[p->session] + 1);
		f->lastseq[p->session] = hdr.seq;
	}
	if (hdr.type == SB_C_ERROR) {
		/* Every error code is one the metrics count by name. */
		struct sb_msg em;

		assert_int_equal(sb_msg_decode(&em, pkt->buf, pkt->len), 0);
		if (!metrics_error_known(em.field[0]))
			fail_msg("error code %s is not in metrics.c's table",
			    em.field[0]);
	}
	if (!f->record)
		return 0;
	if (f->nrec == f->caprec) {
		f->caprec = f->caprec ? f->caprec * 2 : 64;
		f->rec = realloc(f->rec, f->caprec * sizeof(*f->rec));
		assert_non_null(f->rec);
	}
	r = &f->rec[f->nrec];
	r->session = p->session;
	r->buf = malloc(pkt->len);
	assert_non_null(r->buf);
	memcpy(r->buf, pkt->buf, pkt->len);
	assert_int_equal(sb_msg_decode(&r->m, r->buf, pkt->len), 0);
	f->nrec++;
	return 0;
}

static uint64_t
rec_now(struct hub *h)
{
	return ((struct fx *)h->ctx)->now;
}

static const struct hub_ops rec_ops = {
	.send = rec_send,
	.now_usec = rec_now,
};

/* ops->check_password as the hub's workers take it: noted, answered later. */
static int
rec_check(struct hub *h, uint64_t session, const char *setting,
    const char *password)
{
	struct fx *f = h->ctx;
	struct check *c;

	if (f->check_refuse)
		return -EAGAIN;
	assert_true(f->nchecks < sizeof(f->checks) / sizeof(f->checks[0]));
	c = &f->checks[f->nchecks++];
	c->session = session;
	assert_true(strlcpy(c->setting, setting, sizeof(c->setting)) <
	    sizeof(c->setting));
	assert_true(strlcpy(c->password, password, sizeof(c->password)) <
	    sizeof(c->password));
	return 0;
}

static const struct hub_ops async_ops = {
	.send = rec_send,
	.now_usec = rec_now,
	.check_password = rec_check,
};

/* Answer the k-th check still open, as a worker would (crypt and all). */
static void
check_answer(struct fx *f, size_t k)
{
	struct check c;

	assert_true(k < f->nchecks);
	c = f->checks[k];
	memmove(&f->checks[k], &f->checks[k + 1],
	    (f->nchecks - k - 1) * sizeof(f->checks[0]));
	f->nchecks--;
	hub_password_checked(&f->h, c.session, members_verify(c.password,
	    c.setting));
}

/* --- fixture ------------------------------------------------------------ */

/*
 * Send stderr (the hub's log lines) to a scratch file during a bulk
 * setup.  quiet_end(f, 0) drops what was written; the teardown calls
 * quiet_end(f, 1) when a failure jumped out of the quiet part, so the
 * end of what was written (cmocka's message) is shown after all.
 */
static void
quiet_begin(struct fx *f)
{
	fflush(stderr);
	f->quiet_saved = dup(2);
	f->quiet_file = tmpfile();
	assert_true(f->quiet_saved >= 0 && f->quiet_file != NULL);
	dup2(fileno(f->quiet_file), 2);
}

static void
quiet_end(struct fx *f, int show)
{
	char tail[4096];
	long size;
	size_t n;

	if (f->quiet_file == NULL)
		return;
	fflush(stderr);
	dup2(f->quiet_saved, 2);
	close(f->quiet_saved);
	if (show && (size = ftell(f->quiet_file)) >= 0 &&
	    fseek(f->quiet_file, size > (long)sizeof(tail) ?
	    size - (long)sizeof(tail) : 0, SEEK_SET) == 0) {
		n = fread(tail, 1, sizeof(tail), f->quiet_file);
		fwrite(tail, 1, n, stderr);
	}
	fclose(f->quiet_file);
	f->quiet_file = NULL;
}

static void
fx_clear(struct fx *f)
{
	size_t i;

	for (i = 0; i < f->nrec; i++)
		free(f->rec[i].buf);
	f->nrec = 0;
}

static void
fx_init(struct fx *f, const struct sb_config *cfg)
{
	hub_init(&f->h, cfg, &rec_ops, f);
	f->h.epoch = EPOCH;
	f->record = 1;
	f->now = 1000000000ULL;
	assert_int_equal(hub_rooms_configure(&f->h), 0);
}

static int
fx_setup(void **state)
{
	struct sb_config cfg;
	struct fx *f;

	if ((f = calloc(1, sizeof(*f))) == NULL)
		return -1;
	config_defaults(&cfg);
	cfg.max_per_address = 0;	/* fx_peer()s share one address */
	fx_init(f, &cfg);
	*state = f;
	return 0;
}

static int
fx_teardown(void **state)
{
	struct fx *f = *state;

	quiet_end(f, 1);
	hub_free(&f->h);
	fx_clear(f);
	free(f->rec);
	free(f->lastseq);
	free(f);
	return 0;
}

/* Start again with another config. */
static void
fx_config(struct fx *f, const struct sb_config *cfg)
{
	hub_free(&f->h);
	fx_clear(f);
	free(f->lastseq);
	f->lastseq = NULL;
	f->nlastseq = 0;
	fx_init(f, cfg);
}

/* Close dead peers the way the hub's main loop does. */
static void
fx_reap(struct fx *f)
{
	struct peer *p;

	while ((p = TAILQ_FIRST(&f->h.reaplist)) != NULL) {
		TAILQ_REMOVE(&f->h.reaplist, p, reap);
		hub_peer_gone(&f->h, p, "Connection closed");
		hub_peer_free(&f->h, p);
	}
}

/* Dispatch f->in, just packed, as from peer p. */
static int
fx_dispatch(struct fx *f, struct peer *p)
{
	struct sb_msg m;

	assert_int_equal(sb_msg_decode(&m, f->in.buf, f->in.len), 0);
	return hub_dispatch(&f->h, p, &m);
}

/* SEND(f, peer, type, fields...): what the handler of `peer` sends. */
#define SEND(f, p, type, ...)						\
	(assert_int_equal(sb_msg_pack(&(f)->in, (type), (p)->session,	\
	    ##__VA_ARGS__, (const char *)NULL), 0), fx_dispatch((f), (p)))

/* --- looking at what was sent ----------------------------------------- */

/* Datagrams sent to p (of `type`; SB_NONE: any). */
static size_t
fx_count(const struct fx *f, const struct peer *p, enum sb_type type)
{
	size_t i, n = 0;

	for (i = 0; i < f->nrec; i++)
		if (f->rec[i].session == p->session &&
		    (type == SB_NONE || f->rec[i].m.type == type))
			n++;
	return n;
}

/* The k-th datagram of `type` sent to p. */
static const struct sb_msg *
fx_get(const struct fx *f, const struct peer *p, enum sb_type type, size_t k)
{
	size_t i, left = k;

	for (i = 0; i < f->nrec; i++)
		if (f->rec[i].session == p->session &&
		    f->rec[i].m.type == type && left-- == 0)
			return &f->rec[i].m;
	fail_msg("session %llu got no %s #%zu", (unsigned long long)p->session,
	    sb_type_name(type), k);
	return NULL;
}

/* p got exactly one datagram, of `type`. */
static const struct sb_msg *
fx_only(const struct fx *f, const struct peer *p, enum sb_type type)
{
	size_t i;

	if (fx_count(f, p, SB_NONE) != 1 || fx_count(f, p, type) != 1) {
		for (i = 0; i < f->nrec; i++)
			if (f->rec[i].session == p->session)
				print_message("  session %llu got %s\n",
				    (unsigned long long)p->session,
				    sb_type_name(f->rec[i].m.type));
		fail_msg("session %llu: expected one %s only",
		    (unsigned long long)p->session, sb_type_name(type));
	}
	return fx_get(f, p, type, 0);
}

static void
fx_none(const struct fx *f, const struct peer *p)
{
	size_t n = fx_count(f, p, SB_NONE);

	if (n != 0)
		fail_msg("session %llu got %zu datagrams, expected none",
		    (unsigned long long)p->session, n);
}

/* Field i of m is s. */
static void
assert_field(const struct sb_msg *m, size_t i, const char *s)
{
	assert_true(i < m->nfields);
	if (strcmp(m->field[i], s) != 0)
		fail_msg("%s field %zu: \"%s\", expected \"%s\"",
		    sb_type_name(m->type), i, m->field[i], s);
}

/* p got one C_ERROR only, with `code` (and `text` unless NULL). */
static void
assert_error(const struct fx *f, const struct peer *p, const char *code,
    const char *text)
{
	const struct sb_msg *m = fx_only(f, p, SB_C_ERROR);

	assert_field(m, 0, code);
	if (text != NULL)
		assert_field(m, 1, text);
}

/* A C_MSG with these fields (the time is checked to be a number). */
static void
assert_chat(const struct sb_msg *m, const char *kind, const char *from,
    const char *to, const char *room, const char *text, const char *extra)
{
	long long t;

	assert_int_equal(m->type, SB_C_MSG);
	assert_field(m, 0, kind);
	assert_field(m, 1, from);
	assert_field(m, 2, to);
	assert_field(m, 3, room);
	assert_field(m, 4, text);
	assert_int_equal(sb_field_num(m, 5, 1, INT64_MAX, &t), 0);
	assert_field(m, 6, extra);
	assert_int_equal(m->epoch, EPOCH);
}

/* Is `word` one of the space-separated words of `list`? */
static int
has_word(const char *list, const char *word)
{
	size_t wl = strlen(word);
	const char *s = list;

	while ((s = strstr(s, word)) != NULL) {
		if ((s == list || s[-1] == ' ') && (s[wl] == ' ' ||
		    s[wl] == '\0'))
			return 1;
		s += wl;
	}
	return 0;
}

static size_t
count_words(const char *list)
{
	size_t n = 0;
	const char *s;

	for (s = list; *s != '\0'; s++)
		if (*s != ' ' && (s == list || s[-1] == ' '))
			n++;
	return n;
}

/* --- making peers ------------------------------------------------------ */

/* A new handler connection from `remote` that has said H_HELLO. */
static struct peer *
fx_peer_from(struct fx *f, const char *transport, const char *remote)
{
	struct peer *p = hub_peer_new(&f->h, -1);
	const struct sb_msg *m;
	char sess[24], ep[24];

	assert_non_null(p);
	assert_int_equal(SEND(f, p, SB_H_HELLO, PROTO_V, transport, remote), 0);
	m = fx_only(f, p, SB_C_WELCOME);
	snprintf(sess, sizeof(sess), "%llu", (unsigned long long)p->session);
	snprintf(ep, sizeof(ep), "%lu", (unsigned long)EPOCH);
	assert_field(m, 0, sess);
	assert_field(m, 1, ep);
	fx_clear(f);
	return p;
}

/* A new handler connection that has said H_HELLO for `transport`. */
static struct peer *
fx_peer(struct fx *f, const char *transport)
{
	return fx_peer_from(f, transport, "192.0.2.7:4321");
}

/* A chat client identified as `nick` (and alias `alias`, "" for none). */
static struct peer *
fx_user_alias(struct fx *f, const char *nick, const char *alias)
{
	struct peer *p = fx_peer(f, "xmlsocket");
	const struct sb_msg *m;

	assert_int_equal(SEND(f, p, SB_H_IDENTIFY, nick, "", alias), 0);
	m = fx_get(f, p, SB_C_IDENTIFIED, 0);
	assert_field(m, 0, nick);
	fx_clear(f);
	return p;
}

static struct peer *
fx_user(struct fx *f, const char *nick)
{
	return fx_user_alias(f, nick, "");
}

static void
fx_join(struct fx *f, struct peer *p, const char *room)
{
	assert_int_equal(SEND(f, p, SB_H_JOIN, room), 0);
	assert_int_equal(fx_count(f, p, SB_C_ERROR), 0);
	assert_int_equal(fx_count(f, p, SB_C_JOINED), 1);
	fx_clear(f);
}

/* --- tests ---------------------------------------------------------------- */

static void
test_hello_first(void **state)
{
	struct fx *f = *state;
	struct peer *p = hub_peer_new(&f->h, -1);

	assert_non_null(p);
	assert_int_equal(SEND(f, p, SB_H_PING, "x"), -EPROTO);
	assert_int_equal(SEND(f, p, SB_H_LIST), -EPROTO);
	assert_int_equal(SEND(f, p, SB_H_IDENTIFY, "bob", "", ""), -EPROTO);
	assert_int_equal(SEND(f, p, SB_H_QUIT, ""), -EPROTO);
	/* Wrong protocol version. */
	assert_int_equal(SEND(f, p, SB_H_HELLO, "1", "xmlsocket", ""),
	    -EPROTO);	/* the version before room numbers */
	assert_int_equal(SEND(f, p, SB_H_HELLO, "x", "xmlsocket", ""),
	    -EPROTO);
	fx_none(f, p);
	assert_int_equal(f->h.clients, 0);

	assert_int_equal(SEND(f, p, SB_H_HELLO, PROTO_V, "xmlsocket",
	    "1.2.3.4:5"), 0);
	fx_only(f, p, SB_C_WELCOME);
	assert_int_equal(f->h.clients, 1);
	assert_string_equal(p->remote, "1.2.3.4:5");
	fx_clear(f);
	/* Only one HELLO. */
	assert_int_equal(SEND(f, p, SB_H_HELLO, PROTO_V, "xmlsocket", ""),
	    -EPROTO);
	fx_none(f, p);
	/* Non-chat transports are not clients. */
	fx_peer(f, "http");
	fx_peer(f, "policy");
	assert_int_equal(f->h.clients, 1);
	fx_peer(f, "websocket");
	fx_peer(f, "tunnel");
	assert_int_equal(f->h.clients, 3);
}

/* Hub-to-handler types coming from a handler break the contract. */
static void
test_client_types_refused(void **state)
{
	static const struct { enum sb_type t; size_t n; } c[] = {
		{ SB_C_CONFIG, 0 }, { SB_C_WELCOME, 2 }, { SB_C_STATUS, 4 },
		{ SB_C_IDENTIFIED, 3 }, { SB_C_LOGIN, 2 }, { SB_C_QUIT, 2 },
		{ SB_C_MSG, 7 }, { SB_C_ERROR, 2 }, { SB_C_NICKLIST, 3 },
		{ SB_C_ROOMLIST, 2 }, { SB_C_JOINED, 3 }, { SB_C_PARTED, 3 },
		{ SB_C_NICKCHANGE, 2 }, { SB_C_PONG, 1 }, { SB_C_CLOSE, 2 },
		{ SB_C_PING, 1 }, { SB_C_GAP, 3 }, { SB_C_METRICS, 2 },
		{ SB_C_TLS_CHAIN, 1 }, { SB_C_TLS_SIGNATURE, 1 },
	};
	const char *v[SB_FIELDS_MAX] = {
		"1", "1", "1", "1", "1", "1", "1", "1",
	};
	struct fx *f = *state;
	struct peer *p = fx_user(f, "alice"), *q = fx_user(f, "bob");
	struct sb_packet pk;
	struct sb_msg m;
	size_t i;

	/* Every C_* type. */
	assert_int_equal(sizeof(c) / sizeof(c[0]) + 1,	/* + C_BATCH */
	    SB_TYPE_COUNT - SB_C_CONFIG);
	for (i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		assert_int_equal(sb_msg_encode(&pk, c[i].t, p->session, 0, 0,
		    v, c[i].n), 0);
		assert_int_equal(sb_msg_decode(&m, pk.buf, pk.len), 0);
		if (hub_dispatch(&f->h, p, &m) != -EPROTO)
			fail_msg("%s from a handler accepted",
			    sb_type_name(c[i].t));
	}
	/* A batch, which only the hub sends. */
	assert_int_equal(sb_msg_encode(&pk, SB_C_PONG, p->session, 0, 0, v,
	    1), 0);
	m.nfields = 0;
	{
		static unsigned char b[SB_MSG_MAX];
		size_t bl = 0;

		assert_int_equal(sb_batch_add(b, &bl, pk.buf, pk.len), 0);
		assert_int_equal(sb_msg_decode(&m, b, bl), 0);
		assert_int_equal(hub_dispatch(&f->h, p, &m), -EPROTO);
	}
	fx_none(f, p);
	fx_none(f, q);
}

static void
test_identify(void **state)
{
	struct fx *f = *state;
	struct peer *a = fx_user(f, "alice");
	struct peer *u = fx_peer(f, "websocket");	/* not identified */
	struct peer *c = fx_peer(f, "xmlsocket");
	struct peer *d;
	const struct sb_msg *m;
	char id[24];

	assert_int_equal(SEND(f, c, SB_H_IDENTIFY, "Carol", "pw", ""), 0);
	m = fx_only(f, c, SB_C_IDENTIFIED);
	snprintf(id, sizeof(id), "%llu", (unsigned long long)c->session);
	assert_field(m, 0, "Carol");
	assert_field(m, 1, "Carol");
	assert_field(m, 2, id);
	m = fx_only(f, a, SB_C_LOGIN);
	assert_field(m, 0, "Carol");
	assert_field(m, 1, "Carol");
	fx_none(f, u);
	assert_ptr_equal(hub_find_nick(&f->h, "carol"), c);
	fx_clear(f);

	d = fx_peer(f, "tunnel");
	assert_int_equal(SEND(f, d, SB_H_IDENTIFY, "dave", "", ""), 0);
	fx_only(f, d, SB_C_IDENTIFIED);
	assert_field(fx_only(f, a, SB_C_LOGIN), 0, "dave");
	assert_field(fx_only(f, c, SB_C_LOGIN), 0, "dave");
	fx_none(f, u);
	fx_clear(f);

	/* Once only. */
	assert_int_equal(SEND(f, c, SB_H_IDENTIFY, "carl", "", ""), 0);
	assert_error(f, c, "already_identified", "Already identified.");
	fx_none(f, a);
	assert_null(hub_find_nick(&f->h, "carl"));
}

static void
test_identify_nick_taken(void **state)
{
	struct fx *f = *state;
	struct peer *a = fx_user(f, "Alice");
	struct peer *b = fx_peer(f, "xmlsocket");

	assert_int_equal(SEND(f, b, SB_H_IDENTIFY, "aLICE", "", ""), 0);
	assert_error(f, b, "nick_taken", "Nick is already in use.");
	fx_none(f, a);
	assert_string_equal(b->nick, "");
	assert_ptr_equal(hub_find_nick(&f->h, "alice"), a);
	fx_clear(f);
	assert_int_equal(SEND(f, b, SB_H_IDENTIFY, "alice2", "", ""), 0);
	fx_only(f, b, SB_C_IDENTIFIED);
}

/*
 * Issue 16, hole 4: a nick that looks like one in use (a UTS #39
 * skeleton in common) is refused on IDENTIFY, NICK and RESUME with
 * nick_confusable or nick_lost, and one with invisible characters as
 * nick_invalid; the nick is free again once its holder has gone, and
 * the skeleton index follows every change.  Before the fix "alice" +
 * U+FE0F and all-Cyrillic "асе" were both accepted next to alice.
 */
static void
test_identify_nick_confusable(void **state)
{
	struct fx *f = *state;
	struct peer *a = fx_user(f, "alice");
	struct peer *c = fx_user(f, "ace");
	struct peer *b = fx_peer(f, "xmlsocket");
	struct peer *r = fx_peer(f, "xmlsocket");

	assert_int_equal(SEND(f, b, SB_H_IDENTIFY, "alice\xef\xb8\x8f", "",
	    ""), 0);
	assert_error(f, b, "nick_invalid", "Nick contains an invisible or "
	    "bidi control character");
	fx_clear(f);
	assert_int_equal(SEND(f, b, SB_H_IDENTIFY, "\xd0\xb0lice", "", ""),
	    0);
	assert_error(f, b, "nick_invalid", "Nick mixes scripts or number "
	    "systems, or hides a mark (UTS #39)");
	fx_clear(f);
	/* All Cyrillic: a valid nick, but it looks like "ace". */
	assert_int_equal(SEND(f, b, SB_H_IDENTIFY, "\xd0\xb0\xd1\x81\xd0\xb5",
	    "", ""), 0);
	assert_error(f, b, "nick_confusable",
	    "Nick looks like one already in use.");
	fx_none(f, a);
	fx_clear(f);
	/* Capital I for l. */
	assert_int_equal(SEND(f, b, SB_H_IDENTIFY, "aIice", "", ""), 0);
	assert_error(f, b, "nick_confusable",
	    "Nick looks like one already in use.");
	fx_clear(f);
	assert_string_equal(b->nick, "");

	/* NICK: to a look-alike of another's nick, no; of one's own, yes. */
	fx_user(f, "bob");
	assert_int_equal(SEND(f, a, SB_H_NICK, "b\xd0\xbe" "b"), 0);
	assert_error(f, a, "nick_invalid", NULL);
	fx_clear(f);
	assert_int_equal(SEND(f, a, SB_H_NICK, "rnary"), 0);
	fx_only(f, a, SB_C_NICKCHANGE);
	fx_clear(f);
	assert_int_equal(SEND(f, b, SB_H_IDENTIFY, "mary", "", ""), 0);
	assert_error(f, b, "nick_confusable", NULL);
	fx_clear(f);
	assert_int_equal(SEND(f, a, SB_H_NICK, "mary"), 0);
	fx_only(f, a, SB_C_NICKCHANGE);
	fx_clear(f);
	/* "alice" is free again, and then "aIice" is not. */
	assert_int_equal(SEND(f, b, SB_H_IDENTIFY, "aIice", "", ""), 0);
	fx_only(f, b, SB_C_IDENTIFIED);
	fx_clear(f);

	/* RESUME: a look-alike of a nick in use is lost. */
	assert_int_equal(SEND(f, r, SB_H_RESUME, "\xd0\xb0\xd1\x81\xd0\xb5",
	    "games", ""), 0);
	assert_error(f, r, "nick_lost", NULL);
	assert_string_equal(r->nick, "");
	fx_clear(f);

	/* Gone: its look-alikes are free. */
	hub_peer_gone(&f->h, c, "bye");
	hub_peer_free(&f->h, c);
	fx_clear(f);
	assert_int_equal(SEND(f, r, SB_H_RESUME, "\xd0\xb0\xd1\x81\xd0\xb5",
	    "", ""), 0);
	assert_int_equal(fx_count(f, r, SB_C_ERROR), 0);
	assert_ptr_equal(hub_find_nick(&f->h, "\xd0\x90\xd0\xa1\xd0\x95"),
	    r);
	fx_clear(f);
}

/*
 * Issue 20: a nick that looks like the nick of a user of another machine
 * (known from its presence, remote_set) is refused as one of a local
 * session's is: IDENTIFY and NICK get nick_confusable, RESUME nick_lost;
 * the skeleton index follows that user's nick change and quit.  Before,
 * "pauIa" was accepted next to a remote "paula".
 */
static void
test_identify_nick_confusable_remote(void **state)
{
	struct fx *f = *state;
	struct remote_user ru = { .nick = "paula" };
	struct peer *g = fx_user(f, "gina");
	struct peer *b = fx_peer(f, "xmlsocket");
	struct peer *r = fx_peer(f, "xmlsocket");

	assert_int_equal(remote_set(&f->h, "m2", 7, &ru, REMOTE_LOGIN, NULL,
	    NULL), 0);
	fx_clear(f);
	assert_int_equal(SEND(f, b, SB_H_IDENTIFY, "pauIa", "", ""), 0);
	assert_error(f, b, "nick_confusable",
	    "Nick looks like one already in use.");
	assert_string_equal(b->nick, "");
	fx_clear(f);
	assert_int_equal(SEND(f, g, SB_H_NICK, "pauIa"), 0);
	assert_error(f, g, "nick_confusable", NULL);
	assert_string_equal(g->nick, "gina");
	fx_clear(f);
	assert_int_equal(SEND(f, r, SB_H_RESUME, "pauIa", "", ""), 0);
	assert_error(f, r, "nick_lost", NULL);
	fx_clear(f);

	/* The remote user is now "zed": "pauIa" is free, "2ed" is not. */
	strlcpy(ru.nick, "zed", sizeof(ru.nick));
	assert_int_equal(remote_set(&f->h, "m2", 7, &ru, REMOTE_NICK, "paula",
	    NULL), 0);
	fx_clear(f);
	assert_int_equal(SEND(f, b, SB_H_IDENTIFY, "pauIa", "", ""), 0);
	fx_only(f, b, SB_C_IDENTIFIED);
	fx_clear(f);
	assert_int_equal(SEND(f, g, SB_H_NICK, "ZED"), 0);
	assert_error(f, g, "nick_taken", NULL);
	fx_clear(f);

	/* It quits: its look-alikes are free. */
	remote_quit(&f->h, "m2", 7, "bye");
	fx_clear(f);
	assert_ptr_equal(remote_lookalike(&f->h, &(struct nick_id){
	    .key = "zed", .skel = { "zed" }, .nskel = 1 }), NULL);
	assert_int_equal(SEND(f, g, SB_H_NICK, "zed"), 0);
	fx_only(f, g, SB_C_NICKCHANGE);
	fx_clear(f);
}

/*
 * A seed-003 id names one session, as a nick does: a second session that
 * registers an id in use is refused, and PRIVMSG_ALIAS still reaches the
 * first holder.  Before issue 16 the thief took the id and its messages.
 */
static void
test_identify_id_taken(void **state)
{
	struct fx *f = *state;
	struct peer *a = fx_user_alias(f, "alice", "7");
	struct peer *b = fx_user_alias(f, "bob", "");
	struct peer *t = fx_peer(f, "websocket");
	struct peer *c = fx_peer(f, "websocket");

	assert_int_equal(SEND(f, t, SB_H_IDENTIFY, "thief", "", "7"), 0);
	assert_error(f, t, "id_taken", "This id is already in use by another "
	    "session.");
	fx_none(f, a);
	fx_none(f, b);
	assert_string_equal(t->nick, "");
	fx_clear(f);
	assert_int_equal(SEND(f, b, SB_H_PRIVMSG_ALIAS, "7", "for alice", ""),
	    0);
	assert_chat(fx_only(f, a, SB_C_MSG), "private", "bob", "alice", "",
	    "for alice", "");
	fx_none(f, t);
	fx_clear(f);
	/* Another id, or none, is fine; once alice is gone, 7 is free. */
	assert_int_equal(SEND(f, t, SB_H_IDENTIFY, "thief", "", "8"), 0);
	fx_get(f, t, SB_C_IDENTIFIED, 0);
	fx_clear(f);
	hub_peer_drop(&f->h, a);
	fx_reap(f);
	fx_clear(f);
	assert_int_equal(SEND(f, c, SB_H_IDENTIFY, "carol", "", "7"), 0);
	fx_get(f, c, SB_C_IDENTIFIED, 0);
	fx_clear(f);

	/* A resume may not take an id in use either. */
	t = fx_peer(f, "websocket");
	assert_int_equal(SEND(f, t, SB_H_RESUME, "mallory", "", "8"), 0);
	assert_error(f, t, "nick_lost", "The server restarted and your id "
	    "was taken; identify again.");
	assert_string_equal(t->nick, "");
	assert_null(hub_find_nick(&f->h, "mallory"));
}

static void
test_identify_nick_invalid(void **state)
{
	static const struct { const char *nick, *why; } bad[] = {
		{ "1abc", "Nick must not start with a digit, # or *" },
		{ "#abc", "Nick must not start with a digit, # or *" },
		{ "a b", "Nick contains a space or one of , : \" ' < > & \\" },
		{ "a<b", "Nick contains a space or one of , : \" ' < > & \\" },
		{ "", "Nick is empty" },
		{ "a\x01", "Nick contains a control character" },
		{ "\xe2\x80\xae" "bob", "Nick contains an invisible or bidi "
		    "control character" },
		{ "a\xc0\x80", "Nick is not valid UTF-8" },
	};
	struct fx *f = *state;
	struct peer *a = fx_user(f, "alice");
	struct peer *b = fx_peer(f, "xmlsocket");
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(SEND(f, b, SB_H_IDENTIFY, bad[i].nick, "", ""),
		    0);
		assert_error(f, b, "nick_invalid", bad[i].why);
		fx_none(f, a);
		fx_clear(f);
	}
	/* A bad seed-003 id. */
	assert_int_equal(SEND(f, b, SB_H_IDENTIFY, "bob", "", "0"), 0);
	assert_error(f, b, "bad_id", NULL);
	fx_clear(f);
	assert_int_equal(SEND(f, b, SB_H_IDENTIFY, "bob", "", "x7"), 0);
	assert_error(f, b, "bad_id", NULL);
	assert_string_equal(b->nick, "");
}

static void
test_not_identified(void **state)
{
	struct fx *f = *state;
	struct peer *a = fx_user(f, "alice");
	struct peer *u = fx_peer(f, "xmlsocket");

	fx_join(f, a, "lobby");
#define NOT_ID(...) do {						\
	assert_int_equal(SEND(f, u, __VA_ARGS__), 0);			\
	assert_error(f, u, "not_identified", "Not identified.");	\
	fx_none(f, a);							\
	fx_clear(f);							\
} while (0)
	NOT_ID(SB_H_PRIVMSG, "alice", "hi");
	NOT_ID(SB_H_PRIVMSG_ALIAS, "1", "hi", "");
	NOT_ID(SB_H_JOIN, "lobby");
	NOT_ID(SB_H_PART, "lobby");
	NOT_ID(SB_H_ROOMMSG, "lobby", "hi");
	NOT_ID(SB_H_NICK, "bob");
	NOT_ID(SB_H_ACTION, "alice", "waves");
	NOT_ID(SB_H_ACTION, "", "waves");
#undef NOT_ID
}

static void
test_privmsg(void **state)
{
	struct fx *f = *state;
	struct peer *a = fx_user(f, "alice");
	struct peer *b = fx_user(f, "Bob");
	struct peer *c = fx_user(f, "carol");

	assert_int_equal(SEND(f, a, SB_H_PRIVMSG, "bob", "hello, Bob"), 0);
	assert_chat(fx_only(f, b, SB_C_MSG), "private", "alice", "Bob", "",
	    "hello, Bob", "");
	/* The sender sees its own message. */
	assert_chat(fx_only(f, a, SB_C_MSG), "private", "alice", "Bob", "",
	    "hello, Bob", "");
	fx_none(f, c);
	fx_clear(f);

	/* To oneself: one copy. */
	assert_int_equal(SEND(f, a, SB_H_PRIVMSG, "ALICE", "note"), 0);
	assert_chat(fx_only(f, a, SB_C_MSG), "private", "alice", "alice", "",
	    "note", "");
	fx_none(f, b);
}

static void
test_privmsg_gone(void **state)
{
	struct fx *f = *state;
	struct peer *a = fx_user(f, "alice");
	struct peer *b = fx_user(f, "bob");

	assert_int_equal(SEND(f, a, SB_H_PRIVMSG, "ghost", "hi"), 0);
	assert_error(f, a, "no_such_nick", "User is already left.");
	fx_clear(f);
	/* Killed, not yet reaped: already gone for messages. */
	hub_peer_drop(&f->h, b);
	assert_int_equal(SEND(f, a, SB_H_PRIVMSG, "bob", "hi"), 0);
	assert_error(f, a, "no_such_nick", "User is already left.");
	fx_clear(f);
	fx_reap(f);
	assert_field(fx_only(f, a, SB_C_QUIT), 0, "bob");
	fx_clear(f);
	assert_int_equal(SEND(f, a, SB_H_PRIVMSG, "bob", "hi"), 0);
	assert_error(f, a, "no_such_nick", "User is already left.");
}

static void
test_privmsg_alias(void **state)
{
	struct fx *f = *state;
	struct peer *a = fx_user_alias(f, "alice", "7");
	struct peer *b = fx_user_alias(f, "bob", "");
	struct peer *c = fx_user_alias(f, "carol", "8");

	assert_int_equal(SEND(f, b, SB_H_PRIVMSG_ALIAS, "7", "hi there",
	    "#ff0000"), 0);
	assert_chat(fx_only(f, a, SB_C_MSG), "private", "bob", "alice", "",
	    "hi there", "#ff0000");
	fx_none(f, c);
	fx_clear(f);
	assert_int_equal(SEND(f, b, SB_H_PRIVMSG_ALIAS, "8", "x", ""), 0);
	assert_chat(fx_only(f, c, SB_C_MSG), "private", "bob", "carol", "",
	    "x", "");
	fx_none(f, a);
	fx_clear(f);

	assert_int_equal(SEND(f, b, SB_H_PRIVMSG_ALIAS, "99", "x", ""), 0);
	assert_error(f, b, "no_such_nick", "User is already left.");
	fx_clear(f);
	assert_int_equal(SEND(f, b, SB_H_PRIVMSG_ALIAS, "0", "x", ""), 0);
	assert_error(f, b, "bad_id", "to_id must be a positive number.");
	fx_clear(f);
	assert_int_equal(SEND(f, b, SB_H_PRIVMSG_ALIAS, "seven", "x", ""), 0);
	assert_error(f, b, "bad_id", NULL);
	fx_none(f, a);
	fx_clear(f);
	/* Killed, not yet reaped: gone. */
	hub_peer_drop(&f->h, c);
	assert_int_equal(SEND(f, b, SB_H_PRIVMSG_ALIAS, "8", "x", ""), 0);
	assert_error(f, b, "no_such_nick", "User is already left.");
}

static void
test_list(void **state)
{
	struct fx *f = *state;
	struct peer *a = fx_user(f, "alice");
	const struct sb_msg *m;

	fx_user(f, "Bob");
	fx_peer(f, "xmlsocket");	/* not identified: not listed */
	fx_user(f, "carol");
	assert_int_equal(SEND(f, a, SB_H_LIST), 0);
	m = fx_only(f, a, SB_C_NICKLIST);
	assert_field(m, 0, "0");
	assert_field(m, 2, "");
	assert_int_equal(count_words(m->field[1]), 3);
	assert_true(has_word(m->field[1], "alice"));
	assert_true(has_word(m->field[1], "Bob"));
	assert_true(has_word(m->field[1], "carol"));
}

/*
 * A list longer than one datagram comes in chunks, each as full as the
 * contract allows, "more" = 1 on all but the last; every nick once.
 */
static void
test_list_chunks(void **state)
{
	enum { N = 2000 };
	struct fx *f = *state;
	struct peer *a;
	const struct sb_msg *m;
	static char seen[N];
	char nick[40];
	size_t k, chunks, total = 0, i;
	unsigned long v;

	quiet_begin(f);
	for (i = 0; i < N; i++) {
		struct peer *p = hub_peer_new(&f->h, -1);

		snprintf(nick, sizeof(nick), "n%029zu", i);
		f->record = 0;
		assert_int_equal(SEND(f, p, SB_H_HELLO, PROTO_V, "websocket", ""),
		    0);
		assert_int_equal(SEND(f, p, SB_H_IDENTIFY, nick, "", ""), 0);
	}
	quiet_end(f, 0);
	f->record = 1;
	assert_int_equal(strlen(nick), 30);
	snprintf(nick, sizeof(nick), "n%029d", 0);
	a = hub_find_nick(&f->h, nick);
	assert_non_null(a);

	assert_int_equal(SEND(f, a, SB_H_LIST), 0);
	chunks = fx_count(f, a, SB_NONE);
	assert_int_equal(chunks, fx_count(f, a, SB_C_NICKLIST));
	/* 2000 * 31 bytes need at least four datagrams. */
	assert_true(chunks >= (N * 31 + SB_LIST_MAX - 1) / SB_LIST_MAX);
	memset(seen, 0, sizeof(seen));
	for (k = 0; k < chunks; k++) {
		const char *s;

		m = fx_get(f, a, SB_C_NICKLIST, k);
		assert_field(m, 0, k + 1 < chunks ? "1" : "0");
		assert_field(m, 2, "");
		assert_true(m->flen[1] <= SB_LIST_MAX);
		/* Full: the next nick would not have fitted. */
		if (k + 1 < chunks)
			assert_true(m->flen[1] + 31 > SB_LIST_MAX);
		for (s = m->field[1]; *s != '\0'; s += 30 + (s[30] == ' ')) {
			assert_int_equal(s[0], 'n');
			v = strtoul(s + 1, NULL, 10);
			assert_true(v < N);
			assert_int_equal(seen[v], 0);
			seen[v] = 1;
			total++;
		}
	}
	assert_int_equal(total, N);
}

static void
test_rooms_join(void **state)
{
	struct fx *f = *state;
	struct peer *a = fx_user(f, "alice");
	struct peer *b = fx_user(f, "bob");
	struct peer *c = fx_user(f, "carol");
	const struct sb_msg *m;
	struct room *r;
	unsigned nrooms = f->h.nrooms;

	assert_null(hub_find_room(&f->h, "games"));
	assert_int_equal(SEND(f, a, SB_H_JOIN, "Games"), 0);
	m = fx_only(f, a, SB_C_JOINED);
	assert_field(m, 0, "Games");
	assert_field(m, 1, "alice");
	assert_field(m, 2, "alice");
	fx_none(f, b);
	fx_none(f, c);
	assert_non_null(r = hub_find_room(&f->h, "games"));
	assert_int_equal(f->h.nrooms, nrooms + 1);
	fx_clear(f);

	/* The joiner gets the members; members get the joiner. */
	assert_int_equal(SEND(f, b, SB_H_JOIN, "GAMES"), 0);
	m = fx_only(f, b, SB_C_JOINED);
	assert_field(m, 0, "Games");
	assert_field(m, 1, "bob");
	assert_int_equal(count_words(m->field[2]), 2);
	assert_true(has_word(m->field[2], "alice"));
	assert_true(has_word(m->field[2], "bob"));
	m = fx_only(f, a, SB_C_JOINED);
	assert_field(m, 0, "Games");
	assert_field(m, 1, "bob");
	assert_field(m, 2, "");
	fx_none(f, c);
	assert_int_equal(r->nmembers, 2);
	fx_clear(f);

	assert_int_equal(SEND(f, b, SB_H_JOIN, "games"), 0);
	assert_error(f, b, "already_joined", NULL);
	fx_none(f, a);
	fx_clear(f);
	assert_int_equal(SEND(f, c, SB_H_JOIN, "a b"), 0);
	assert_error(f, c, "room_invalid", "Room name contains a space or "
	    "one of , : \" ' < > & \\");
	fx_clear(f);
	assert_int_equal(SEND(f, c, SB_H_JOIN, ""), 0);
	assert_error(f, c, "room_invalid", "Room name is empty");
	assert_int_equal(f->h.nrooms, nrooms + 1);
}

/*
 * Joining a room with many members: every member hears of the joiner,
 * even when the member list sent to the joiner has to be cut short.
 */
static void
test_join_notifies_every_member(void **state)
{
	enum { N = 300 };
	struct fx *f = *state;
	struct peer *p[N], *j;
	struct sb_config cfg;
	char nick[40];
	size_t i, missed = 0;

	config_defaults(&cfg);
	cfg.max_per_address = 0;	/* fx_peer()s share one address */
	cfg.presence_max = N + 1;	/* not a quiet room */
	fx_config(f, &cfg);
	quiet_begin(f);
	for (i = 0; i < N; i++) {
		snprintf(nick, sizeof(nick), "m%031zu", i);
		p[i] = fx_user(f, nick);
		fx_join(f, p[i], "big");
	}
	j = fx_user(f, "joiner");
	quiet_end(f, 0);
	assert_int_equal(hub_find_room(&f->h, "big")->nmembers, N);
	assert_int_equal(SEND(f, j, SB_H_JOIN, "big"), 0);
	assert_true(fx_only(f, j, SB_C_JOINED)->flen[2] <= SB_LIST_MAX / 2);
	for (i = 0; i < N; i++)
		if (fx_count(f, p[i], SB_C_JOINED) != 1)
			missed++;
	if (missed > 0)
		fail_msg("%zu of %d members were not told of the joiner",
		    missed, N);
}

/*
 * presence_max: past it, joins and parts in a room are not told one by
 * one, nor logins and quits server-wide; what is still told goes to those
 * sharing a room that is not quiet, once each.
 */
static void
test_presence_quiet(void **state)
{
	enum { MAX = 4 };
	struct fx *f = *state;
	struct sb_config cfg;
	struct peer *p[MAX + 2], *x, *y;
	const struct sb_msg *m;
	char nick[16];
	size_t i;

	config_defaults(&cfg);
	cfg.presence_max = MAX;
	fx_config(f, &cfg);
	for (i = 0; i < MAX - 1; i++) {
		snprintf(nick, sizeof(nick), "u%zu", i);
		p[i] = fx_user(f, nick);
	}
	/* Up to MAX identified: every login told to all the others. */
	p[MAX - 1] = fx_peer(f, "xmlsocket");
	assert_int_equal(SEND(f, p[MAX - 1], SB_H_IDENTIFY, "u3", "", ""), 0);
	for (i = 0; i < MAX - 1; i++)
		assert_field(fx_only(f, p[i], SB_C_LOGIN), 0, "u3");
	fx_clear(f);
	for (i = 0; i < MAX; i++)
		fx_join(f, p[i], "big");
	fx_clear(f);

	/* The room's member MAX + 1: the others are not told. */
	p[MAX] = fx_user(f, "late");
	for (i = 0; i < MAX; i++)
		fx_none(f, p[i]);		/* no C_LOGIN either */
	fx_clear(f);
	assert_int_equal(SEND(f, p[MAX], SB_H_JOIN, "big"), 0);
	m = fx_only(f, p[MAX], SB_C_JOINED);
	assert_int_equal(count_words(m->field[2]), MAX + 1);
	for (i = 0; i < MAX; i++)
		fx_none(f, p[i]);
	fx_clear(f);
	/* NAMES still lists them all. */
	assert_int_equal(SEND(f, p[0], SB_H_NAMES, "big"), 0);
	assert_true(has_word(fx_only(f, p[0], SB_C_NICKLIST)->field[1],
	    "late"));
	fx_clear(f);

	/* A small room on the quiet server: its members hear one another. */
	x = p[1];
	y = p[2];
	fx_join(f, x, "small");
	assert_int_equal(SEND(f, y, SB_H_JOIN, "small"), 0);
	m = fx_only(f, x, SB_C_JOINED);
	assert_field(m, 1, "u2");
	fx_clear(f);
	fx_join(f, x, "small2");
	fx_join(f, y, "small2");
	assert_int_equal(SEND(f, x, SB_H_NICK, "renamed"), 0);
	m = fx_only(f, y, SB_C_NICKCHANGE);	/* once, though two rooms */
	assert_field(m, 0, "u1");
	assert_field(m, 1, "renamed");
	fx_only(f, x, SB_C_NICKCHANGE);
	fx_none(f, p[0]);			/* only in the quiet room */
	fx_none(f, p[MAX]);
	fx_clear(f);

	/* A part from the quiet room is not told; a quit on the quiet server
	 * goes to room-mates in rooms that are not quiet. */
	assert_int_equal(SEND(f, p[0], SB_H_PART, "big"), 0);
	fx_only(f, p[0], SB_C_PARTED);
	for (i = 1; i <= MAX; i++)
		fx_none(f, p[i]);
	fx_clear(f);
	p[MAX + 1] = fx_user(f, "spare");	/* still quiet after a quit */
	assert_int_equal(SEND(f, y, SB_H_QUIT, "bye"), 0);
	m = fx_only(f, x, SB_C_QUIT);		/* once, though three rooms */
	assert_field(m, 0, "u2");
	fx_only(f, p[3], SB_C_QUIT);		/* big has MAX members again */
	fx_only(f, p[MAX], SB_C_QUIT);
	fx_none(f, p[0]);
	fx_none(f, p[MAX + 1]);
	fx_clear(f);
	fx_reap(f);

	/* Back to MAX identified: told to all again. */
	assert_int_equal(f->h.named, MAX + 1);
	assert_int_equal(SEND(f, p[MAX], SB_H_QUIT, ""), 0);
	fx_reap(f);
	assert_int_equal(f->h.named, MAX);
	fx_only(f, p[0], SB_C_QUIT);
	fx_only(f, p[MAX + 1], SB_C_QUIT);
}

static void
test_rooms_part(void **state)
{
	struct fx *f = *state;
	struct peer *a = fx_user(f, "alice");
	struct peer *b = fx_user(f, "bob");
	struct peer *c = fx_user(f, "carol");
	struct peer *d = fx_user(f, "dave");
	const struct sb_msg *m;
	unsigned nrooms;

	fx_join(f, a, "games");
	fx_join(f, b, "games");
	fx_join(f, c, "games");
	nrooms = f->h.nrooms;

	assert_int_equal(SEND(f, b, SB_H_PART, "GAMES"), 0);
	m = fx_only(f, a, SB_C_PARTED);
	assert_field(m, 0, "games");
	assert_field(m, 1, "bob");
	assert_field(m, 2, "left");
	fx_only(f, c, SB_C_PARTED);
	m = fx_only(f, b, SB_C_PARTED);
	assert_field(m, 1, "bob");
	fx_none(f, d);
	assert_int_equal(hub_find_room(&f->h, "games")->nmembers, 2);
	fx_clear(f);

	assert_int_equal(SEND(f, b, SB_H_PART, "games"), 0);
	assert_error(f, b, "not_in_room", "You are not in that room.");
	fx_none(f, a);
	fx_clear(f);
	assert_int_equal(SEND(f, d, SB_H_PART, "nowhere"), 0);
	assert_error(f, d, "not_in_room", "You are not in that room.");
	fx_clear(f);

	/* The last one out: a room made by JOIN goes away. */
	assert_int_equal(SEND(f, a, SB_H_PART, "games"), 0);
	assert_int_equal(SEND(f, c, SB_H_PART, "games"), 0);
	assert_null(hub_find_room(&f->h, "games"));
	assert_int_equal(f->h.nrooms, nrooms - 1);
	fx_clear(f);
	/* A room from the config stays, empty. */
	fx_join(f, a, "lobby");
	assert_int_equal(SEND(f, a, SB_H_PART, "lobby"), 0);
	assert_non_null(hub_find_room(&f->h, "lobby"));
	assert_int_equal(hub_find_room(&f->h, "lobby")->nmembers, 0);
	assert_int_equal(f->h.nrooms, nrooms - 1);
}

static void
test_permanent_rooms(void **state)
{
	struct fx *f = *state;
	struct sb_config cfg;
	struct peer *a;
	const struct sb_msg *m;

	config_defaults(&cfg);
	strcpy(cfg.rooms, "lobby, Help\tgames,,");
	fx_config(f, &cfg);
	assert_int_equal(f->h.nrooms, 3);
	assert_true(hub_find_room(&f->h, "help")->permanent);
	a = fx_user(f, "alice");
	fx_join(f, a, "help");
	assert_int_equal(SEND(f, a, SB_H_PART, "help"), 0);
	assert_non_null(hub_find_room(&f->h, "help"));
	fx_clear(f);
	assert_int_equal(SEND(f, a, SB_H_ROOMS), 0);
	m = fx_only(f, a, SB_C_ROOMLIST);
	assert_field(m, 0, "0");
	assert_int_equal(count_words(m->field[1]), 3);
	assert_true(has_word(m->field[1], "lobby:0"));
	assert_true(has_word(m->field[1], "Help:0"));
	assert_true(has_word(m->field[1], "games:0"));

	/* A bad name in the config is refused. */
	strcpy(cfg.rooms, "lobby bad<name");
	hub_free(&f->h);
	hub_init(&f->h, &cfg, &rec_ops, f);
	f->h.epoch = EPOCH;
	assert_int_equal(hub_rooms_configure(&f->h), -EINVAL);
}

static void
test_room_create_off(void **state)
{
	struct fx *f = *state;
	struct sb_config cfg;
	struct peer *a;

	config_defaults(&cfg);
	cfg.room_create = 0;
	fx_config(f, &cfg);
	a = fx_user(f, "alice");
	assert_int_equal(SEND(f, a, SB_H_JOIN, "new"), 0);
	assert_error(f, a, "no_such_room", NULL);
	assert_null(hub_find_room(&f->h, "new"));
	fx_clear(f);
	fx_join(f, a, "lobby");
}

static void
test_room_limits(void **state)
{
	struct fx *f = *state;
	struct sb_config cfg;
	struct peer *a, *b;
	char room[16];
	int i;

	config_defaults(&cfg);
	cfg.max_rooms = 3;		/* lobby and two more */
	fx_config(f, &cfg);
	a = fx_user(f, "alice");
	fx_join(f, a, "r1");
	fx_join(f, a, "r2");
	assert_int_equal(SEND(f, a, SB_H_JOIN, "r3"), 0);
	assert_error(f, a, "too_many_rooms", "The server has too many rooms.");
	fx_clear(f);

	cfg.max_rooms = 1000;
	cfg.flood_burst = 1000;		/* JOIN is metered */
	fx_config(f, &cfg);
	b = fx_user(f, "bob");
	for (i = 0; i < HUB_ROOMS_PER_PEER; i++) {
		snprintf(room, sizeof(room), "room%d", i);
		fx_join(f, b, room);
	}
	assert_int_equal(SEND(f, b, SB_H_JOIN, "onemore"), 0);
	assert_error(f, b, "too_many_rooms", "You are in too many rooms.");
}

static void
test_roommsg(void **state)
{
	struct fx *f = *state;
	struct peer *a = fx_user(f, "alice");
	struct peer *b = fx_user(f, "bob");
	struct peer *c = fx_user(f, "carol");

	fx_join(f, a, "games");
	fx_join(f, b, "games");
	fx_join(f, c, "lobby");
	assert_int_equal(SEND(f, a, SB_H_ROOMMSG, "GAMES", "gg"), 0);
	assert_chat(fx_only(f, a, SB_C_MSG), "room", "alice", "", "games",
	    "gg", "");
	assert_chat(fx_only(f, b, SB_C_MSG), "room", "alice", "", "games",
	    "gg", "");
	fx_none(f, c);
	fx_clear(f);

	assert_int_equal(SEND(f, c, SB_H_ROOMMSG, "games", "hi"), 0);
	assert_error(f, c, "not_in_room", "You are not in that room.");
	fx_none(f, a);
	fx_none(f, b);
	fx_clear(f);
	assert_int_equal(SEND(f, c, SB_H_ROOMMSG, "nowhere", "hi"), 0);
	assert_error(f, c, "not_in_room", NULL);
}

/*
 * What goes to many is packed once and only stamped per recipient: a
 * room message, a JOINED and a PARTED to the others, a presence notice,
 * an announcement.  Each recipient still gets its own session and next
 * sequence number (rec_send checks both).
 */
static void
test_fanout_packed_once(void **state)
{
	struct fx *f = *state;
	struct peer *p[40], *late;
	const struct sb_msg *m;
	char nick[16];
	uint64_t before;
	size_t i;

	for (i = 0; i < 40; i++) {
		snprintf(nick, sizeof(nick), "user%zu", i);
		p[i] = fx_user(f, nick);
		fx_join(f, p[i], "crowd");
	}
	before = f->h.packed;
	assert_int_equal(SEND(f, p[3], SB_H_ROOMMSG, "crowd", "hi all"), 0);
	assert_int_equal(f->h.packed - before, 1);
	for (i = 0; i < 40; i++)
		assert_chat(fx_only(f, p[i], SB_C_MSG), "room", "user3", "",
		    "crowd", "hi all", "");
	fx_clear(f);

	late = fx_user(f, "late");
	before = f->h.packed;
	assert_int_equal(SEND(f, late, SB_H_JOIN, "crowd"), 0);
	assert_int_equal(f->h.packed - before, 2);	/* theirs, its own */
	for (i = 0; i < 40; i++)
		assert_field(fx_only(f, p[i], SB_C_JOINED), 1, "late");
	fx_clear(f);
	before = f->h.packed;
	assert_int_equal(SEND(f, late, SB_H_PART, "crowd"), 0);
	assert_int_equal(f->h.packed - before, 2);
	for (i = 0; i < 40; i++)
		assert_field(fx_only(f, p[i], SB_C_PARTED), 1, "late");
	fx_clear(f);

	before = f->h.packed;
	assert_int_equal(SEND(f, p[0], SB_H_NICK, "renamed"), 0);
	assert_int_equal(f->h.packed - before, 1);
	for (i = 0; i < 40; i++)
		assert_field(fx_only(f, p[i], SB_C_NICKCHANGE), 1, "renamed");
	fx_clear(f);

	before = f->h.packed;
	hub_announce(&f->h, "Reboot");
	assert_int_equal(f->h.packed - before, 1);
	for (i = 0; i < 40; i++) {
		m = fx_only(f, p[i], SB_C_MSG);
		assert_field(m, 0, "announce");
		assert_field(m, 2, "");		/* to each its own */
		assert_field(m, 4, "Reboot");
	}
}

/*
 * What the handler of `p` reads from its queue, as hublink.c does: each
 * datagram decoded, a C_BATCH's messages one by one.  Checks that the
 * sequence goes on with no gap and no repeat from *seq, and that every
 * C_MSG's text is "m<n>" for n = *next, *next + 1, ...  Returns the
 * datagrams read; `last` gets the type of the last message.
 */
static size_t
drain_behind(struct hub *h, struct peer *p, uint64_t *seq, unsigned *next,
    enum sb_type *last)
{
	struct pkt *k;
	struct sb_msg b, m;
	char want[16];
	size_t n = 0, off;

	while ((k = TAILQ_FIRST(&p->outq)) != NULL) {
		assert_int_equal(sb_msg_decode(&b, k->buf, k->len), 0);
		off = 0;
		while (b.type != SB_C_BATCH ? off++ == 0 :
		    sb_batch_next(k->buf, k->len, &off, &m) == 1) {
			if (b.type != SB_C_BATCH)
				m = b;
			assert_int_equal(m.seq, ++*seq);
			assert_int_equal(m.epoch, EPOCH);
			assert_int_equal(m.session, p->session);
			if (m.type == SB_C_MSG) {
				snprintf(want, sizeof(want), "m%u", (*next)++);
				assert_field(&m, 4, want);
			}
			*last = m.type;
		}
		TAILQ_REMOVE(&p->outq, k, entry);
		p->outq_bytes -= k->len;
		hub_pkt_free(h, k);	/* as server.c's peer_flush() */
		n++;
	}
	assert_int_equal(p->outq_bytes, 0);
	return n;
}

/*
 * A handler that is behind gets what waited for it coalesced into
 * C_BATCH datagrams: every message once, in order, each with its own
 * sequence number; far behind, it is ended with slow_reader, its last
 * message the C_CLOSE, never a gap.
 */
static void
test_batch_when_behind(void **state)
{
	struct fx *f = *state;
	struct peer *a = fx_user(f, "alice"), *b = fx_user(f, "bob");
	enum sb_type last = SB_NONE;
	uint64_t seq;
	unsigned next = 0, sent = 0;
	char text[16];
	size_t got;

	fx_join(f, a, "busy");
	fx_join(f, b, "busy");
	seq = b->seq;
	f->behind = b;
	for (; sent < 200; sent++) {
		snprintf(text, sizeof(text), "m%u", sent);
		a->tokens = 1e9;	/* no flood limit here */
		assert_int_equal(SEND(f, a, SB_H_ROOMMSG, "busy", text), 0);
	}
	assert_int_equal(fx_count(f, a, SB_C_MSG), 200);
	got = drain_behind(&f->h, b, &seq, &next, &last);
	assert_int_equal(next, 200);
	assert_true(got > 0 && got <= 3);	/* 200 x 62 bytes: 13 KiB */
	assert_int_equal(last, SB_C_MSG);
	assert_false(b->dead);

	/* Far behind: past HUB_PEER_QUEUE_MAX, ended, nothing skipped. */
	fx_clear(f);
	f->record = 0;
	while (!b->dead) {
		snprintf(text, sizeof(text), "m%u", sent++);
		a->tokens = 1e9;
		assert_int_equal(SEND(f, a, SB_H_ROOMMSG, "busy", text), 0);
		assert_true(b->outq_bytes <= HUB_PEER_QUEUE_MAX + 64);
		assert_true(sent < 100000);
	}
	assert_true(sent > 8000);		/* 512 KiB of 62-byte messages */
	got = drain_behind(&f->h, b, &seq, &next, &last);
	assert_int_equal(last, SB_C_CLOSE);
	assert_int_equal(next, sent - 1);	/* the last one ended it */
	assert_true(got < (sent - 200) / 100);
	f->behind = NULL;
	fx_reap(f);
}

/*
 * A C_BATCH's buffer, once its handler has read it, makes the next
 * batch (the one freed last first), and what it held before does not
 * show through; at most HUB_SPARE_MAX are kept, the rest freed (ASan
 * sees a leak otherwise).
 */
static void
test_batch_buffers_reused(void **state)
{
	struct fx *f = *state;
	struct peer *a = fx_user(f, "alice"), *b = fx_user(f, "bob");
	enum sb_type last = SB_NONE;
	struct pkt *k, *first;
	uint64_t seq;
	unsigned next = 0, sent = 0, i;
	char text[16];

	fx_join(f, a, "busy");
	fx_join(f, b, "busy");
	seq = b->seq;
	f->behind = b;
	f->record = 0;
	for (; sent < 300; sent++) {	/* 300 x 62 bytes: two batches */
		snprintf(text, sizeof(text), "m%u", sent);
		a->tokens = 1e9;
		assert_int_equal(SEND(f, a, SB_H_ROOMMSG, "busy", text), 0);
	}
	first = TAILQ_FIRST(&b->outq);
	assert_int_equal(f->h.nspare, 0);
	assert_int_equal(drain_behind(&f->h, b, &seq, &next, &last), 2);
	assert_int_equal(f->h.nspare, 2);
	assert_ptr_equal(TAILQ_LAST(&f->h.spare, pktq), first);

	/* The next batches come from them, and read right. */
	for (; sent < 303; sent++) {
		snprintf(text, sizeof(text), "m%u", sent);
		a->tokens = 1e9;
		assert_int_equal(SEND(f, a, SB_H_ROOMMSG, "busy", text), 0);
	}
	assert_int_equal(f->h.nspare, 1);
	assert_int_equal(drain_behind(&f->h, b, &seq, &next, &last), 1);
	assert_int_equal(next, 303);
	assert_int_equal(f->h.nspare, 2);

	/* At most HUB_SPARE_MAX kept; a single message is never kept. */
	for (i = 0; i < HUB_SPARE_MAX + 10; i++) {
		size_t len = 0;
		struct sb_packet pk;

		assert_int_equal(sb_msg_pack(&pk, SB_C_PING, 1, "t", NULL), 0);
		assert_non_null(k = malloc(sizeof(*k) + SB_MSG_MAX));
		assert_int_equal(sb_batch_add(k->buf, &len, pk.buf, pk.len),
		    0);
		k->len = len;
		hub_pkt_free(&f->h, k);
	}
	assert_int_equal(f->h.nspare, HUB_SPARE_MAX);
	{
		struct sb_packet pk;

		assert_int_equal(sb_msg_pack(&pk, SB_C_PING, 1, "t", NULL), 0);
		assert_non_null(k = malloc(sizeof(*k) + pk.len));
		k->len = pk.len;
		memcpy(k->buf, pk.buf, pk.len);
		hub_spare_free(&f->h);
		hub_pkt_free(&f->h, k);
		assert_int_equal(f->h.nspare, 0);
	}
	f->behind = NULL;
	fx_reap(f);
}

static void
test_names(void **state)
{
	struct fx *f = *state;
	struct peer *a = fx_user(f, "alice");
	struct peer *b = fx_user(f, "bob");
	const struct sb_msg *m;

	fx_join(f, a, "games");
	fx_join(f, b, "games");
	assert_int_equal(SEND(f, a, SB_H_NAMES, "Games"), 0);
	m = fx_only(f, a, SB_C_NICKLIST);
	assert_field(m, 0, "0");
	assert_field(m, 2, "games");
	assert_int_equal(count_words(m->field[1]), 2);
	assert_true(has_word(m->field[1], "alice"));
	assert_true(has_word(m->field[1], "bob"));
	fx_clear(f);
	assert_int_equal(SEND(f, a, SB_H_NAMES, "nowhere"), 0);
	assert_error(f, a, "no_such_room", NULL);
}

static void
test_nick_change(void **state)
{
	struct fx *f = *state;
	struct peer *a = fx_user(f, "alice");
	struct peer *b = fx_user(f, "bob");
	struct peer *u = fx_peer(f, "xmlsocket");
	const struct sb_msg *m;

	fx_join(f, a, "games");
	fx_join(f, b, "games");
	assert_int_equal(SEND(f, a, SB_H_NICK, "Alicia"), 0);
	m = fx_only(f, a, SB_C_NICKCHANGE);
	assert_field(m, 0, "alice");
	assert_field(m, 1, "Alicia");
	m = fx_only(f, b, SB_C_NICKCHANGE);
	assert_field(m, 0, "alice");
	assert_field(m, 1, "Alicia");
	fx_none(f, u);
	assert_ptr_equal(hub_find_nick(&f->h, "alicia"), a);
	assert_null(hub_find_nick(&f->h, "alice"));
	fx_clear(f);

	/* The new nick is the one others see. */
	assert_int_equal(SEND(f, a, SB_H_ROOMMSG, "games", "hi"), 0);
	assert_chat(fx_only(f, b, SB_C_MSG), "room", "Alicia", "", "games",
	    "hi", "");
	fx_clear(f);
	assert_int_equal(SEND(f, b, SB_H_PRIVMSG, "ALICIA", "yo"), 0);
	assert_chat(fx_only(f, a, SB_C_MSG), "private", "bob", "Alicia", "",
	    "yo", "");
	fx_clear(f);

	/* Taken (any case) or invalid: refused, nobody else hears. */
	assert_int_equal(SEND(f, b, SB_H_NICK, "aLiCiA"), 0);
	assert_error(f, b, "nick_taken", "Nick is already in use.");
	fx_none(f, a);
	fx_clear(f);
	assert_int_equal(SEND(f, b, SB_H_NICK, "#bob"), 0);
	assert_error(f, b, "nick_invalid",
	    "Nick must not start with a digit, # or *");
	fx_clear(f);
	assert_int_equal(SEND(f, b, SB_H_NICK, "b\xe2\x80\x8b"), 0);
	assert_error(f, b, "nick_invalid", "Nick contains an invisible or "
	    "bidi control character");
	fx_none(f, a);
	assert_ptr_equal(hub_find_nick(&f->h, "bob"), b);
	fx_clear(f);

	/* A change of case of one's own nick is fine. */
	assert_int_equal(SEND(f, b, SB_H_NICK, "BOB"), 0);
	assert_field(fx_only(f, a, SB_C_NICKCHANGE), 1, "BOB");
	assert_ptr_equal(hub_find_nick(&f->h, "bob"), b);
	/* The old nick is free again. */
	fx_user(f, "alice");
}

static void
test_action(void **state)
{
	struct fx *f = *state;
	struct peer *a = fx_user(f, "alice");
	struct peer *b = fx_user(f, "bob");
	struct peer *c = fx_user(f, "carol");
	struct peer *d = fx_user(f, "dave");

	fx_join(f, a, "games");
	fx_join(f, b, "games");
	fx_join(f, a, "lobby");
	fx_join(f, c, "lobby");

	/* To a room. */
	assert_int_equal(SEND(f, a, SB_H_ACTION, "games", "waves"), 0);
	assert_chat(fx_only(f, a, SB_C_MSG), "action", "alice", "", "games",
	    "waves", "");
	assert_chat(fx_only(f, b, SB_C_MSG), "action", "alice", "", "games",
	    "waves", "");
	fx_none(f, c);
	fx_none(f, d);
	fx_clear(f);

	/* To a nick. */
	assert_int_equal(SEND(f, a, SB_H_ACTION, "dave", "pokes"), 0);
	assert_chat(fx_only(f, d, SB_C_MSG), "action", "alice", "dave", "",
	    "pokes", "");
	assert_chat(fx_only(f, a, SB_C_MSG), "action", "alice", "dave", "",
	    "pokes", "");
	fx_none(f, b);
	fx_clear(f);

	/* No target: every room one is in. */
	assert_int_equal(SEND(f, a, SB_H_ACTION, "", "dances"), 0);
	assert_int_equal(fx_count(f, a, SB_C_MSG), 2);
	assert_int_equal(fx_count(f, a, SB_NONE), 2);
	assert_chat(fx_only(f, b, SB_C_MSG), "action", "alice", "", "games",
	    "dances", "");
	assert_chat(fx_only(f, c, SB_C_MSG), "action", "alice", "", "lobby",
	    "dances", "");
	fx_none(f, d);
	fx_clear(f);
	assert_int_equal(SEND(f, d, SB_H_ACTION, "", "sulks"), 0);
	assert_error(f, d, "no_target", NULL);
	fx_clear(f);

	/* A room one is not in, or nobody: no such nick. */
	assert_int_equal(SEND(f, d, SB_H_ACTION, "ghost", "x"), 0);
	assert_error(f, d, "no_such_nick", "User is already left.");
	fx_none(f, a);
}

static void
test_ping_status_event(void **state)
{
	struct fx *f = *state;
	struct peer *p = fx_peer(f, "xmlsocket");
	const struct sb_msg *m;
	char created[24];

	assert_int_equal(SEND(f, p, SB_H_PING, "tok-1"), 0);
	assert_field(fx_only(f, p, SB_C_PONG), 0, "tok-1");
	fx_clear(f);
	assert_int_equal(SEND(f, p, SB_H_PING, ""), 0);
	assert_field(fx_only(f, p, SB_C_PONG), 0, "");
	fx_clear(f);

	fx_user(f, "alice");
	assert_int_equal(SEND(f, p, SB_H_STATUS), 0);
	m = fx_only(f, p, SB_C_STATUS);
	snprintf(created, sizeof(created), "%lld", (long long)f->h.created);
	assert_field(m, 0, "2");
	assert_field(m, 1, "4096");
	assert_field(m, 2, created);
	assert_field(m, 3, "2");
	fx_clear(f);

	/* Events a handler may report, and one it may not. */
	assert_int_equal(SEND(f, p, SB_H_EVENT, "policy", "served"), 0);
	assert_int_equal(SEND(f, p, SB_H_EVENT, "slow_reader", "x"), 0);
	assert_int_equal(SEND(f, p, SB_H_EVENT, "login", "forged"), -EPROTO);
	assert_int_equal(SEND(f, p, SB_H_EVENT, "nonsense", "x"), -EPROTO);
	fx_none(f, p);
}

static void
test_quit(void **state)
{
	struct fx *f = *state;
	struct peer *a = fx_user(f, "alice");
	struct peer *b = fx_user(f, "bob");
	struct peer *c = fx_user(f, "carol");
	struct peer *u = fx_peer(f, "xmlsocket");
	const struct sb_msg *m;
	unsigned clients = f->h.clients;

	fx_join(f, a, "games");
	fx_join(f, b, "games");
	assert_int_equal(SEND(f, a, SB_H_QUIT, "bye now"), 0);
	assert_true(a->dead);
	/* The handler is told the session is over, so that it closes
	 * instead of resuming it as after a hub crash. */
	m = fx_only(f, a, SB_C_CLOSE);
	assert_field(m, 0, "quit");
	assert_field(m, 1, "bye now");
	m = fx_only(f, b, SB_C_QUIT);
	assert_field(m, 0, "alice");
	assert_field(m, 1, "bye now");
	fx_only(f, c, SB_C_QUIT);
	fx_none(f, u);
	assert_null(hub_find_nick(&f->h, "alice"));
	assert_int_equal(f->h.clients, clients - 1);
	assert_int_equal(hub_find_room(&f->h, "games")->nmembers, 1);
	/* Anything after QUIT is ignored. */
	assert_int_equal(SEND(f, a, SB_H_PRIVMSG, "bob", "still here?"), 0);
	fx_clear(f);

	/* Closing the socket later sends nothing more. */
	fx_reap(f);
	fx_none(f, b);
	fx_none(f, c);
	assert_int_equal(f->h.clients, clients - 1);
	/* The nick is free. */
	fx_user(f, "Alice");

	/* An empty reason becomes "Quit". */
	assert_int_equal(SEND(f, c, SB_H_QUIT, ""), 0);
	assert_field(fx_only(f, b, SB_C_QUIT), 1, "Quit");
}

static void
test_peer_gone(void **state)
{
	struct fx *f = *state;
	struct peer *a = fx_user(f, "alice");
	struct peer *b = fx_user(f, "bob");
	struct peer *u = fx_peer(f, "xmlsocket");
	unsigned clients = f->h.clients;

	fx_join(f, a, "games");
	fx_join(f, b, "games");
	/* The handler of b went away. */
	hub_peer_gone(&f->h, b, "Connection reset");
	hub_peer_gone(&f->h, b, "Connection reset");
	assert_field(fx_only(f, a, SB_C_QUIT), 1, "Connection reset");
	fx_none(f, u);
	assert_int_equal(f->h.clients, clients - 1);
	assert_int_equal(hub_find_room(&f->h, "games")->nmembers, 1);
	hub_peer_free(&f->h, b);
	fx_clear(f);

	/* An unidentified one leaves quietly. */
	hub_peer_gone(&f->h, u, "Connection reset");
	fx_none(f, a);
	assert_int_equal(f->h.clients, clients - 2);
	hub_peer_free(&f->h, u);
}

/* Send one PRIVMSG from a to b; 1 if b got it. */
static int
flood_try(struct fx *f, struct peer *a, struct peer *b)
{
	int got;

	fx_clear(f);
	assert_int_equal(SEND(f, a, SB_H_PRIVMSG, "bob", "spam"), 0);
	got = (int)fx_count(f, b, SB_C_MSG);
	if (!got && !a->dead)
		assert_error(f, a, "flood", "You are sending too fast; "
		    "message dropped");
	return got;
}

/* Start again with the defaults and this flood control. */
static void
fx_flood_config(struct fx *f, struct sb_config *cfg, unsigned burst,
    unsigned rate, unsigned kick)
{
	config_defaults(cfg);
	cfg->flood_burst = burst;
	cfg->flood_rate = rate;
	cfg->flood_kick = kick;
	fx_config(f, cfg);
}

static void
test_flood(void **state)
{
	struct fx *f = *state;
	struct sb_config cfg;
	struct peer *a, *b;
	int i;

	fx_flood_config(f, &cfg, 3, 10, 4);	/* one a second */
	a = fx_user(f, "alice");
	b = fx_user(f, "bob");

	for (i = 0; i < 3; i++)
		assert_int_equal(flood_try(f, a, b), 1);
	assert_int_equal(flood_try(f, a, b), 0);
	/* A second later, one more. */
	f->now += 1100000;
	assert_int_equal(flood_try(f, a, b), 1);
	f->now += 500000;
	assert_int_equal(flood_try(f, a, b), 0);
	f->now += 600000;
	assert_int_equal(flood_try(f, a, b), 1);
	/* A long pause fills the bucket up to the burst, no more. */
	f->now += 3600ULL * 1000000;
	for (i = 0; i < 3; i++)
		assert_int_equal(flood_try(f, a, b), 1);
	/* Three refusals in a row are errors; the fourth disconnects. */
	for (i = 0; i < 3; i++)
		assert_int_equal(flood_try(f, a, b), 0);
	fx_clear(f);
	assert_int_equal(SEND(f, a, SB_H_PRIVMSG, "bob", "spam"), 0);
	fx_none(f, b);
	assert_true(a->dead);
	assert_field(fx_only(f, a, SB_C_CLOSE), 0, "flood");
	fx_clear(f);
	/* Dead: nothing more in or out, even with a full bucket. */
	f->now += 3600ULL * 1000000;
	assert_int_equal(SEND(f, a, SB_H_PRIVMSG, "bob", "spam"), 0);
	assert_int_equal(SEND(f, a, SB_H_PING, "x"), 0);
	fx_none(f, a);
	fx_none(f, b);
	fx_reap(f);
	assert_field(fx_only(f, b, SB_C_QUIT), 0, "alice");
}

/* A message that passes ends a run of refusals. */
static void
test_flood_refusals_in_a_row(void **state)
{
	struct fx *f = *state;
	struct sb_config cfg;
	struct peer *a, *b;
	int i, round;

	fx_flood_config(f, &cfg, 2, 10, 3);
	a = fx_user(f, "alice");
	b = fx_user(f, "bob");
	fx_join(f, a, "games");
	f->now += 3600ULL * 1000000;	/* the JOIN's token back */

	for (i = 0; i < 2; i++)
		assert_int_equal(flood_try(f, a, b), 1);
	for (round = 0; round < 5; round++) {
		for (i = 0; i < 2; i++)
			assert_int_equal(flood_try(f, a, b), 0);
		f->now += 1100000;
		assert_int_equal(flood_try(f, a, b), 1);
	}
	assert_false(a->dead);
	/* Room messages, nick changes and actions use the same bucket. */
	for (i = 0; i < 2; i++)
		assert_int_equal(flood_try(f, a, b), 0);
	fx_clear(f);
	assert_int_equal(SEND(f, a, SB_H_ROOMMSG, "games", "x"), 0);
	assert_true(a->dead);
	fx_only(f, a, SB_C_CLOSE);
	fx_none(f, b);

	fx_config(f, &cfg);
	a = fx_user(f, "alice");
	fx_join(f, a, "games");
	f->now += 3600ULL * 1000000;
	assert_int_equal(SEND(f, a, SB_H_NICK, "alice2"), 0);
	assert_int_equal(SEND(f, a, SB_H_ACTION, "games", "x"), 0);
	fx_clear(f);
	assert_int_equal(SEND(f, a, SB_H_ROOMMSG, "games", "x"), 0);
	assert_error(f, a, "flood", NULL);
}

/*
 * JOIN and PART tell every member of the room: they are metered like
 * messages.  Before issue 16 (hole 7) a client toggling JOIN/PART sent
 * notices to every member without ever hitting the limit.
 */
static void
test_flood_join_part(void **state)
{
	struct fx *f = *state;
	struct sb_config cfg;
	struct peer *a, *b;
	int i;

	fx_flood_config(f, &cfg, 4, 10, 3);
	a = fx_user(f, "alice");
	b = fx_user(f, "bob");
	fx_join(f, b, "games");

	/* The burst: two JOIN/PART pairs reach bob. */
	for (i = 0; i < 2; i++) {
		assert_int_equal(SEND(f, a, SB_H_JOIN, "games"), 0);
		assert_int_equal(SEND(f, a, SB_H_PART, "games"), 0);
	}
	assert_int_equal(fx_count(f, b, SB_C_JOINED), 2);
	assert_int_equal(fx_count(f, b, SB_C_PARTED), 2);
	assert_int_equal(fx_count(f, a, SB_C_ERROR), 0);
	fx_clear(f);
	/* Then a JOIN is refused and nobody is told. */
	assert_int_equal(SEND(f, a, SB_H_JOIN, "games"), 0);
	assert_error(f, a, "flood", "You are sending too fast; message "
	    "dropped");
	fx_none(f, b);
	assert_int_equal(hub_find_room(&f->h, "games")->nmembers, 1);
	fx_clear(f);
	/* A second later, one more; the PART right after it is refused. */
	f->now += 1100000;
	assert_int_equal(SEND(f, a, SB_H_JOIN, "games"), 0);
	assert_int_equal(fx_count(f, b, SB_C_JOINED), 1);
	fx_clear(f);
	assert_int_equal(SEND(f, a, SB_H_PART, "games"), 0);
	assert_error(f, a, "flood", NULL);
	fx_none(f, b);
	assert_int_equal(hub_find_room(&f->h, "games")->nmembers, 2);
	fx_clear(f);
	/* Refusals in a row end the session, as for messages. */
	assert_int_equal(SEND(f, a, SB_H_PART, "games"), 0);
	assert_error(f, a, "flood", NULL);
	fx_clear(f);
	assert_int_equal(SEND(f, a, SB_H_PART, "games"), 0);
	assert_true(a->dead);
	assert_field(fx_only(f, a, SB_C_CLOSE), 0, "flood");
	fx_none(f, b);
}

/*
 * max_per_address: the N+1th chat session from one address is refused
 * and told why; other addresses, other ports of the same address, HTTP
 * and a remote without an address are not; the count drops as one
 * leaves.
 */
static void
test_max_per_address(void **state)
{
	struct fx *f = *state;
	struct sb_config cfg;
	struct peer *a, *p;
	const struct sb_msg *m;

	config_defaults(&cfg);
	cfg.max_per_address = 2;
	fx_config(f, &cfg);
	a = fx_peer_from(f, "xmlsocket", "192.0.2.7:1");
	fx_peer_from(f, "websocket", "192.0.2.7:2");
	fx_peer_from(f, "websocket", "192.0.2.8:1");
	fx_peer_from(f, "websocket", "[2001:db8::1]:1");
	fx_peer_from(f, "http", "192.0.2.7:3");
	fx_peer_from(f, "websocket", "local");
	fx_peer_from(f, "websocket", "local");
	fx_peer_from(f, "websocket", "local");

	p = hub_peer_new(&f->h, -1);
	assert_int_equal(SEND(f, p, SB_H_HELLO, PROTO_V, "tunnel",
	    "192.0.2.7:4"), 0);
	m = fx_only(f, p, SB_C_CLOSE);
	assert_field(m, 0, "too_many_connections");
	assert_true(p->dead);
	assert_false(p->chat);
	fx_clear(f);
	fx_reap(f);

	/* One leaves, one more may come; a mapped IPv4 is the same. */
	assert_int_equal(SEND(f, a, SB_H_QUIT, ""), 0);
	fx_reap(f);
	fx_peer_from(f, "websocket", "[::ffff:192.0.2.7]:5");
	p = hub_peer_new(&f->h, -1);
	assert_int_equal(SEND(f, p, SB_H_HELLO, PROTO_V, "xmlsocket",
	    "192.0.2.7:6"), 0);
	assert_field(fx_only(f, p, SB_C_CLOSE), 0, "too_many_connections");
	fx_clear(f);
	fx_reap(f);
	/* The metrics name the reason (two refused). */
	assert_int_equal(f->h.metrics.sessions_ended[METRICS_END_TOO_MANY],
	    2);

	/* 0: no limit. */
	cfg.max_per_address = 0;
	fx_config(f, &cfg);
	fx_peer_from(f, "websocket", "192.0.2.7:7");
}

static void
test_max_clients(void **state)
{
	struct fx *f = *state;
	struct sb_config cfg;
	struct peer *a, *p;
	const struct sb_msg *m;

	config_defaults(&cfg);
	cfg.max_clients = 2;
	fx_config(f, &cfg);
	a = fx_user(f, "alice");
	fx_peer(f, "websocket");
	assert_int_equal(f->h.clients, 2);

	p = hub_peer_new(&f->h, -1);
	assert_int_equal(SEND(f, p, SB_H_HELLO, PROTO_V, "tunnel", ""), 0);
	m = fx_only(f, p, SB_C_CLOSE);
	assert_field(m, 0, "server_full");
	assert_field(m, 1, "Server is full");
	assert_true(p->dead);
	assert_int_equal(f->h.clients, 2);
	fx_clear(f);
	/* HTTP and policy connections are not clients. */
	fx_peer(f, "http");
	fx_peer(f, "policy");
	fx_reap(f);
	fx_none(f, a);

	/* One leaves, one more may come. */
	assert_int_equal(SEND(f, a, SB_H_QUIT, ""), 0);
	fx_reap(f);
	assert_int_equal(f->h.clients, 1);
	fx_user(f, "bob");
	assert_int_equal(f->h.clients, 2);
	assert_int_equal(f->h.peak, 2);
}

/*
 * The recorder checks every datagram's epoch and sequence number; here
 * the numbers of one peer are looked at directly.
 */
static void
test_epoch_and_sequence(void **state)
{
	struct fx *f = *state;
	struct peer *a = fx_peer(f, "xmlsocket");
	struct peer *b = fx_user(f, "bob");
	const struct sb_msg *m;
	size_t i, k = 0;
	uint64_t first;

	/* a's WELCOME was 1. */
	assert_int_equal(a->seq, 1);
	first = a->seq;
	assert_int_equal(SEND(f, a, SB_H_IDENTIFY, "alice", "", ""), 0);
	for (i = 0; i < 5; i++) {
		assert_int_equal(SEND(f, a, SB_H_PRIVMSG, "bob", "x"), 0);
		assert_int_equal(SEND(f, b, SB_H_PRIVMSG, "alice", "y"), 0);
	}
	assert_int_equal(SEND(f, a, SB_H_PING, "t"), 0);
	for (i = 0; i < f->nrec; i++) {
		m = &f->rec[i].m;
		if (f->rec[i].session != a->session)
			continue;
		assert_int_equal(m->session, a->session);
		assert_int_equal(m->epoch, EPOCH);
		assert_int_equal(m->seq, first + ++k);
	}
	/* IDENTIFIED, 5 echoes, 5 from bob, PONG. */
	assert_int_equal(k, 12);
	assert_int_equal(fx_count(f, a, SB_C_MSG), 10);
	assert_int_equal(a->seq, first + 12);
}

/*
 * After a hub restart a handler re-registers its session (H_RESUME)
 * without telling anyone; routed messages are held until the resumes
 * stop, then delivered in order.
 */
/* Load a member store from `text` into the hub (auth = both). */
static void
fx_members_text(struct fx *f, const char *text)
{
	char path[] = "/tmp/sb-route-members-XXXXXX", err[256];
	struct sb_config cfg;
	int fd;

	config_defaults(&cfg);
	cfg.auth = AUTH_BOTH;
	fx_config(f, &cfg);
	assert_true((fd = mkstemp(path)) >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	assert_int_equal(members_load(path, &f->h.members, err, sizeof(err)),
	    0);
	unlink(path);
}

/*
 * A resume is checked against the member store as an IDENTIFY is: a
 * member disabled meanwhile is closed, a guest on a nick that became a
 * member's gets nick_lost, a member login that no longer holds too.
 */
static void
test_resume_members(void **state)
{
	struct fx *f = *state;
	struct peer *p;
	const struct sb_msg *m;

	fx_members_text(f, "1:enobrev:$y$j9T$abc$def:1\n2:gone:$y$j9T$abc$def:0\n");
	/* The member itself, with its id: back in. */
	p = fx_peer(f, "xmlsocket");
	assert_int_equal(SEND(f, p, SB_H_RESUME, "enobrev", "", "", "1"), 0);
	assert_string_equal(p->nick, "enobrev");
	fx_none(f, p);
	/* A member disabled while the hub was down: closed. */
	p = fx_peer(f, "xmlsocket");
	assert_int_equal(SEND(f, p, SB_H_RESUME, "gone", "", "", "2"), 0);
	m = fx_only(f, p, SB_C_CLOSE);
	assert_field(m, 0, "login_disabled");
	assert_true(p->dead);
	assert_null(hub_find_nick(&f->h, "gone"));
	fx_clear(f);
	/* A guest on a nick that is now a member's: nick_lost. */
	fx_reap(f);
	p = fx_peer(f, "websocket");
	assert_int_equal(SEND(f, p, SB_H_RESUME, "Gone", "", ""), 0);
	assert_error(f, p, "nick_lost", "The server restarted and you must "
	    "identify again.");
	assert_string_equal(p->nick, "");
	fx_clear(f);
	/* A member login whose id no longer matches: nick_lost. */
	p = fx_peer(f, "websocket");
	assert_int_equal(SEND(f, p, SB_H_RESUME, "enobrev2", "", "", "1"), 0);
	assert_error(f, p, "nick_lost", NULL);
	assert_null(hub_find_nick(&f->h, "enobrev2"));
	fx_clear(f);
	/* A guest on a free guest nick is fine. */
	p = fx_peer(f, "websocket");
	assert_int_equal(SEND(f, p, SB_H_RESUME, "visitor", "", ""), 0);
	assert_string_equal(p->nick, "visitor");
}

static void
test_resume_and_hold(void **state)
{
	struct fx *f = *state;
	struct peer *a = fx_peer(f, "xmlsocket");
	struct peer *b = fx_peer(f, "xmlsocket");
	struct peer *c = fx_peer(f, "websocket");
	const struct sb_msg *m;

	assert_int_equal(SEND(f, a, SB_H_RESUME, "alice", "games lobby", "7"),
	    0);
	fx_none(f, a);
	fx_none(f, b);
	assert_ptr_equal(hub_find_nick(&f->h, "alice"), a);
	assert_int_equal(a->alias, 7);
	assert_int_equal(hub_find_room(&f->h, "games")->nmembers, 1);
	assert_int_equal(hub_find_room(&f->h, "lobby")->nmembers, 1);
	assert_true(f->h.hold_until > f->now);

	/* While resumes come in, routed messages wait. */
	assert_int_equal(SEND(f, b, SB_H_IDENTIFY, "bob", "", ""), 0);
	assert_int_equal(SEND(f, b, SB_H_PRIVMSG, "alice", "welcome back"),
	    0);
	fx_none(f, a);
	fx_none(f, b);
	/* A nick taken in the meantime is lost. */
	assert_int_equal(SEND(f, c, SB_H_RESUME, "ALICE", "games", ""), 0);
	assert_error(f, c, "nick_lost", NULL);
	assert_int_equal(hub_find_room(&f->h, "games")->nmembers, 1);
	fx_clear(f);

	/* The timer fires: everything goes out, in order. */
	hub_hold_release(&f->h);
	assert_int_equal(f->h.hold_until, 0);
	assert_int_equal(fx_count(f, b, SB_C_IDENTIFIED), 1);
	assert_field(fx_get(f, a, SB_C_LOGIN, 0), 0, "bob");
	m = fx_get(f, a, SB_C_MSG, 0);
	assert_chat(m, "private", "bob", "alice", "", "welcome back", "");
	assert_int_equal(fx_count(f, a, SB_NONE), 2);
	fx_clear(f);
	/* And nothing is held any more. */
	assert_int_equal(SEND(f, a, SB_H_ROOMMSG, "games", "hi"), 0);
	fx_only(f, a, SB_C_MSG);
	/* A second RESUME, or one after IDENTIFY, breaks the contract. */
	assert_int_equal(SEND(f, a, SB_H_RESUME, "alice", "", ""), -EPROTO);
}

/* --- history of temporary rooms: issue 16, holes 5 and 6 --------------- */

/* A hub with history in a fresh directory, retention `retention`. */
static void
fx_history(struct fx *f, char *dir, size_t dirsz, unsigned retention)
{
	struct sb_config cfg;
	char hdir[300], err[256];

	config_defaults(&cfg);
	cfg.history = 5;
	cfg.history_retention = retention;
	cfg.flood_rate = cfg.flood_burst = 100000;
	fx_config(f, &cfg);
	tmpdir_make(dir, dirsz, "route-hist");
	snprintf(hdir, sizeof(hdir), "%s/history", dir);
	assert_int_equal(history_open(hdir, cfg.history, &f->h.history, err,
	    sizeof(err)), 0);
	assert_int_equal(hub_rooms_configure(&f->h), 0);
}

/* fx_history(), and alice and bob identified: *a, *b. */
static void
fx_history_pair(struct fx *f, char *dir, size_t dirsz, unsigned retention,
    struct peer **a, struct peer **b)
{
	fx_history(f, dir, dirsz, retention);
	*a = fx_user(f, "alice");
	*b = fx_user(f, "bob");
}

static void
fx_history_end(struct fx *f, const char *dir)
{
	f->h.history = history_close(f->h.history);
	tmpdir_remove(dir);
	assert_int_equal(access(dir, F_OK), -1);
}

/* JOIN `room`; how many history entries were replayed. */
static size_t
fx_join_replayed(struct fx *f, struct peer *p, const char *room)
{
	size_t i, n = 0;

	fx_clear(f);
	assert_int_equal(SEND(f, p, SB_H_JOIN, room), 0);
	assert_int_equal(fx_count(f, p, SB_C_JOINED), 1);
	for (i = 0; i < f->nrec; i++)
		if (f->rec[i].m.type == SB_C_MSG &&
		    strstr(f->rec[i].m.field[0], "history") != NULL)
			n++;
	fx_clear(f);
	return n;
}

static void
fx_say_part(struct fx *f, struct peer *p, const char *room, const char *text)
{
	assert_int_equal(SEND(f, p, SB_H_ROOMMSG, room, text), 0);
	assert_int_equal(SEND(f, p, SB_H_PART, room), 0);
	fx_clear(f);
}

/* Retention 0: a room created again never gets the old room's messages. */
static void
test_history_gone_with_room(void **state)
{
	struct fx *f = *state;
	struct peer *a, *b;
	char dir[64];

	fx_history_pair(f, dir, sizeof(dir), 0, &a, &b);
	assert_int_equal(fx_join_replayed(f, a, "secret"), 0);
	fx_say_part(f, a, "secret", "the password is swordfish");
	assert_int_equal(fx_join_replayed(f, b, "SECRET"), 0);
	/* The permanent lobby keeps its history when it empties. */
	assert_int_equal(fx_join_replayed(f, a, "lobby"), 0);
	fx_say_part(f, a, "lobby", "hello");
	assert_int_equal(fx_join_replayed(f, b, "lobby"), 1);
	fx_history_end(f, dir);
}

/* Within the retention the history comes back; after it, it does not. */
static void
test_history_retention(void **state)
{
	struct fx *f = *state;
	struct peer *a;
	char dir[64];

	fx_history(f, dir, sizeof(dir), 60);
	a = fx_user(f, "alice");
	assert_int_equal(fx_join_replayed(f, a, "games"), 0);
	fx_say_part(f, a, "games", "gg");
	f->now += 59 * 1000000ULL;
	assert_int_equal(fx_join_replayed(f, a, "games"), 1);
	assert_int_equal(SEND(f, a, SB_H_PART, "games"), 0);
	f->now += 60 * 1000000ULL;
	hub_history_expire(&f->h);	/* the status timer */
	assert_int_equal(fx_join_replayed(f, a, "games"), 0);
	fx_history_end(f, dir);
}

/*
 * More throw-away rooms than history slots: the lobby, quiet until
 * then, still keeps history, and the slots in use never pass the limit.
 */
static void
test_history_churn(void **state)
{
	struct fx *f = *state;
	struct peer *a;
	char dir[64], room[16];
	int i;

	fx_history(f, dir, sizeof(dir), 3600);
	a = fx_user(f, "alice");
	quiet_begin(f);
	for (i = 0; i < HISTORY_ROOMS_MAX + 100; i++) {
		snprintf(room, sizeof(room), "r%d", i);
		assert_int_equal(SEND(f, a, SB_H_JOIN, room), 0);
		fx_say_part(f, a, room, "x");
		assert_true(history_rooms(f->h.history) <= HISTORY_ROOMS_MAX);
	}
	quiet_end(f, 0);
	assert_int_equal(fx_join_replayed(f, a, "lobby"), 0);
	assert_int_equal(SEND(f, a, SB_H_ROOMMSG, "lobby", "still here"), 0);
	assert_int_equal(history_count(f->h.history, "lobby"), 1);
	fx_history_end(f, dir);
}

/*
 * Every slot held by a live room: a new room's message is not kept, and
 * the log says so (it used to say "kept in memory"); the permanent lobby,
 * whose slot is reserved, keeps its history all the same.
 */
static void
test_history_not_kept_logged(void **state)
{
	struct fx *f = *state;
	char dir[64], room[16], log[4096];
	struct peer *a;
	size_t n;
	int i;

	fx_history(f, dir, sizeof(dir), 3600);
	a = fx_user(f, "alice");
	for (i = 0; history_rooms(f->h.history) < HISTORY_ROOMS_MAX; i++) {
		snprintf(room, sizeof(room), "f%d", i);
		assert_int_equal(history_add(f->h.history, room, "room", "a",
		    "t", 1, NULL), 0);
	}
	fx_join(f, a, "fresh");
	quiet_begin(f);
	assert_int_equal(SEND(f, a, SB_H_ROOMMSG, "fresh", "lost"), 0);
	fflush(stderr);
	rewind(f->quiet_file);
	n = fread(log, 1, sizeof(log) - 1, f->quiet_file);
	log[n] = '\0';
	quiet_end(f, 0);
	assert_non_null(strstr(log, "history of room fresh not kept"));
	assert_null(strstr(log, "kept in memory"));
	assert_int_equal(history_count(f->h.history, "fresh"), 0);
	fx_join(f, a, "lobby");
	assert_int_equal(SEND(f, a, SB_H_ROOMMSG, "lobby", "kept"), 0);
	assert_int_equal(history_count(f->h.history, "lobby"), 1);
	fx_history_end(f, dir);
}

/* --- numbered room messages, JOIN since, C_GAP: issue 21 --------------- */

/*
 * JOIN room with `since` ("": none) after a clear; what p got after its
 * C_JOINED as a string: "g S F" for a C_GAP, the room number of each
 * C_MSG, space-separated.
 */
static const char *
fx_catch_up(struct fx *f, struct peer *p, const char *room, const char *since)
{
	static char out[512];
	size_t i, o = 0;

	fx_clear(f);
	if (since[0] != '\0')
		assert_int_equal(SEND(f, p, SB_H_JOIN, room, since), 0);
	else
		assert_int_equal(SEND(f, p, SB_H_JOIN, room), 0);
	assert_int_equal(fx_count(f, p, SB_C_JOINED), 1);
	out[0] = '\0';
	for (i = 0; i < f->nrec; i++) {
		const struct sb_msg *m = &f->rec[i].m;

		if (f->rec[i].session != p->session)
			continue;
		if (m->type == SB_C_GAP)
			o += (size_t)snprintf(out + o, sizeof(out) - o,
			    "%sg %s %s", o ? " " : "", m->field[1], m->field[2]);
		else if (m->type == SB_C_MSG) {
			assert_int_equal(m->nfields, 8);
			assert_non_null(strstr(m->field[0], "history"));
			o += (size_t)snprintf(out + o, sizeof(out) - o, "%s%s",
			    o ? " " : "", m->field[7]);
		}
	}
	fx_clear(f);
	return out;
}

/* p says "m<from>" .. "m<to>" in room. */
static void
fx_say_n(struct fx *f, struct peer *p, const char *room, int from, int to)
{
	char text[16];
	int i;

	for (i = from; i <= to; i++) {
		snprintf(text, sizeof(text), "m%d", i);
		assert_int_equal(SEND(f, p, SB_H_ROOMMSG, room, text), 0);
	}
}

/* For each { since, want }: p joins room with since, gets want, parts. */
static void
catch_up_each(struct fx *f, struct peer *p, const char *room,
    const char *const cases[][2], size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		assert_string_equal(fx_catch_up(f, p, room, cases[i][0]),
		    cases[i][1]);
		assert_int_equal(SEND(f, p, SB_H_PART, room), 0);
	}
}

/* Room messages carry the room's number; private ones none. */
static void
test_room_numbers(void **state)
{
	struct fx *f = *state;
	struct peer *a, *b;
	char dir[64];

	fx_history_pair(f, dir, sizeof(dir), 60, &a, &b);
	fx_join(f, a, "lobby");
	fx_join(f, b, "lobby");
	fx_join(f, a, "games");
	fx_clear(f);
	assert_int_equal(SEND(f, a, SB_H_ROOMMSG, "lobby", "one"), 0);
	assert_int_equal(SEND(f, b, SB_H_ACTION, "lobby", "waves"), 0);
	assert_int_equal(SEND(f, a, SB_H_ROOMMSG, "games", "gg"), 0);
	assert_int_equal(SEND(f, a, SB_H_PRIVMSG, "bob", "psst"), 0);
	/* both members, the sender too, get the same number */
	assert_int_equal(fx_count(f, b, SB_C_MSG), 3);
	assert_field(fx_get(f, b, SB_C_MSG, 0), 7, "1");
	assert_field(fx_get(f, a, SB_C_MSG, 0), 7, "1");
	assert_field(fx_get(f, b, SB_C_MSG, 1), 7, "2");
	assert_chat(fx_get(f, a, SB_C_MSG, 1), "action", "bob", "", "lobby",
	    "waves", "");
	assert_field(fx_get(f, a, SB_C_MSG, 2), 7, "1");	/* games */
	assert_int_equal(fx_get(f, b, SB_C_MSG, 2)->nfields, 7); /* private */
	/* and the history keeps it */
	assert_string_equal(fx_catch_up(f, b, "games", ""), "1");
	fx_history_end(f, dir);
}

/*
 * JOIN with since: exactly what came after, nothing again; a C_GAP when
 * the history no longer holds some of it, or when the room's numbers
 * began again.
 */
static void
test_join_since(void **state)
{
	struct fx *f = *state;
	/* { since, what comes }: "g S F" a C_GAP, a number a C_MSG */
	static const char *const early[][2] = {
		{ "", "1 2 3" }, { "1", "2 3" }, { "3", "" }, { "0", "1 2 3" },
	};
	static const char *const late[][2] = {
		{ "2", "g 2 5 5 6 7 8 9" }, { "4", "5 6 7 8 9" },
		{ "0", "g 0 5 5 6 7 8 9" },
		/* a number the room never gave: it began again */
		{ "500", "g 500 1 g 0 5 5 6 7 8 9" },
	};
	struct peer *a, *b;
	char dir[64];

	/* history = 5 entries a room, retention 0 */
	fx_history_pair(f, dir, sizeof(dir), 0, &a, &b);
	fx_join(f, a, "lobby");
	fx_say_n(f, a, "lobby", 1, 3);
	/* no since: the recent history, as before */
	catch_up_each(f, b, "lobby", early, 4);
	/* 1 to 4 fall out of the history of 5 */
	fx_say_n(f, a, "lobby", 4, 9);
	catch_up_each(f, b, "lobby", late, 4);
	/* a temporary room forgotten and made again starts at 1 */
	fx_join(f, a, "tmp");
	assert_int_equal(SEND(f, a, SB_H_ROOMMSG, "tmp", "old"), 0);
	assert_int_equal(SEND(f, a, SB_H_ROOMMSG, "tmp", "older"), 0);
	assert_int_equal(SEND(f, a, SB_H_PART, "tmp"), 0);
	assert_string_equal(fx_catch_up(f, a, "tmp", "2"), "g 2 1");
	assert_int_equal(SEND(f, a, SB_H_ROOMMSG, "tmp", "new"), 0);
	assert_string_equal(fx_catch_up(f, b, "tmp", "2"), "g 2 1 1");
	fx_history_end(f, dir);
}

/* A `since` that is not a number breaks the contract (handlers check). */
static void
test_join_since_bad(void **state)
{
	struct fx *f = *state;
	struct peer *a = fx_user(f, "alice");

	assert_int_equal(SEND(f, a, SB_H_JOIN, "lobby", "x"), -EPROTO);
	assert_int_equal(SEND(f, a, SB_H_JOIN, "lobby", "-1"), -EPROTO);
	assert_int_equal(SEND(f, a, SB_H_JOIN, "lobby", "9223372036854775808"),
	    -EPROTO);
	/* an empty since is no since */
	fx_clear(f);
	assert_int_equal(SEND(f, a, SB_H_JOIN, "lobby", ""), 0);
	assert_int_equal(fx_count(f, a, SB_C_JOINED), 1);
}

/* --- password checks and failed logins -------------------------------- */

/*
 * auth = both with three members, hashed with a cheap crypt method so
 * that the tests run fast (the hub takes any method libcrypt knows):
 * alice / wonderland (1), bob / builder (2), dave / disabled (3, off).
 * `async`: password checks go to rec_check and wait for check_answer().
 */
static void
fx_members(struct fx *f, int async)
{
	static const struct { const char *nick, *pass; int active; } m[] = {
		{ "alice", "wonderland", 1 },
		{ "bob", "builder", 1 },
		{ "dave", "disabled", 0 },
	};
	char path[] = "/tmp/test_route_members.XXXXXX", err[256];
	struct crypt_data cd;
	struct sb_config cfg;
	size_t i;
	FILE *fp;
	int fd;

	config_defaults(&cfg);
	cfg.auth = AUTH_BOTH;
	fx_config(f, &cfg);
	if (async)
		f->h.ops = &async_ops;
	assert_true((fd = mkstemp(path)) >= 0);
	assert_non_null(fp = fdopen(fd, "w"));
	for (i = 0; i < sizeof(m) / sizeof(m[0]); i++) {
		memset(&cd, 0, sizeof(cd));
		fprintf(fp, "%zu:%s:%s:%d\n", i + 1, m[i].nick,
		    crypt_r(m[i].pass, "$5$rounds=1000$testsalt$", &cd),
		    m[i].active);
	}
	assert_int_equal(fclose(fp), 0);
	assert_int_equal(members_load(path, &f->h.members, err, sizeof(err)),
	    0);
	unlink(path);
}

/* The datagram types `p` got, in order, as "TYPE TYPE ...". */
static void
fx_types(const struct fx *f, const struct peer *p, char *buf, size_t size)
{
	size_t i;

	buf[0] = '\0';
	for (i = 0; i < f->nrec; i++)
		if (f->rec[i].session == p->session) {
			if (buf[0] != '\0')
				strlcat(buf, " ", size);
			strlcat(buf, sb_type_name(f->rec[i].m.type), size);
		}
}

/*
 * A password is checked away from the rules (ops->check_password), and
 * meanwhile the session's later messages wait, in order, while every
 * other session goes on.  Failed before the fix: the answer came at
 * once, from a crypt run inside the event loop.
 */
static void
test_password_check_async(void **state)
{
	struct fx *f = *state;
	struct peer *a, *g;
	char types[256];

	fx_members(f, 1);
	a = fx_peer(f, "xmlsocket");
	assert_int_equal(SEND(f, a, SB_H_IDENTIFY, "alice", "wonderland", ""),
	    0);
	assert_int_equal(f->nchecks, 1);
	assert_string_equal(f->checks[0].password, "wonderland");
	fx_none(f, a);
	assert_int_equal(SEND(f, a, SB_H_JOIN, "lobby"), 0);
	assert_int_equal(SEND(f, a, SB_H_ROOMMSG, "lobby", "first"), 0);
	assert_int_equal(SEND(f, a, SB_H_PING, "p1"), 0);
	fx_none(f, a);

	/* Nobody else waits: a guest gets in and talks meanwhile. */
	g = fx_user(f, "guest");
	fx_join(f, g, "lobby");
	assert_int_equal(SEND(f, g, SB_H_ROOMMSG, "lobby", "hello"), 0);
	assert_chat(fx_only(f, g, SB_C_MSG), "room", "guest", "", "lobby",
	    "hello", "");
	fx_clear(f);

	/* The answer: alice is in, then her messages, in the order sent. */
	check_answer(f, 0);
	fx_types(f, a, types, sizeof(types));
	assert_string_equal(types, "C_IDENTIFIED C_JOINED C_MSG C_PONG");
	assert_field(fx_get(f, a, SB_C_IDENTIFIED, 0), 0, "alice");
	assert_chat(fx_get(f, g, SB_C_MSG, 0), "room", "alice", "", "lobby",
	    "first", "");
	fx_clear(f);
	/* Nothing waits any more. */
	assert_int_equal(SEND(f, a, SB_H_PING, "p2"), 0);
	fx_only(f, a, SB_C_PONG);
	assert_int_equal(f->h.nchecks, 0);
}

/*
 * A session that goes away while its password is checked: the answer
 * finds no session and changes nothing else (a freed peer would crash
 * under ASan here).  A check that cannot be queued is refused with
 * login_busy, and so is one past HUB_CHECKS_MAX.
 */
static void
test_password_check_session_gone(void **state)
{
	struct fx *f = *state;
	struct peer *a, *b, *p[HUB_CHECKS_MAX];
	size_t i;

	fx_members(f, 1);
	a = fx_peer(f, "xmlsocket");
	assert_int_equal(SEND(f, a, SB_H_IDENTIFY, "alice", "wonderland", ""),
	    0);
	assert_int_equal(SEND(f, a, SB_H_JOIN, "lobby"), 0);
	hub_peer_drop(&f->h, a);
	fx_reap(f);
	b = fx_user(f, "bystander");
	check_answer(f, 0);
	fx_none(f, b);
	assert_null(hub_find_nick(&f->h, "alice"));
	assert_int_equal(f->h.nchecks, 0);
	/* An answer for no check at all is ignored. */
	hub_password_checked(&f->h, 12345, 1);

	/* The workers are full. */
	f->check_refuse = 1;
	a = fx_peer(f, "xmlsocket");
	assert_int_equal(SEND(f, a, SB_H_IDENTIFY, "alice", "wonderland", ""),
	    0);
	assert_error(f, a, "login_busy", NULL);
	fx_clear(f);
	/* And the attempt was undone: it is not running any more. */
	assert_int_equal(f->h.nchecks, 0);
	assert_int_equal(a->checking, 0);
	f->check_refuse = 0;

	/* At most HUB_CHECKS_MAX at once (unknown nicks: no nick limit). */
	quiet_begin(f);
	for (i = 0; i < HUB_CHECKS_MAX; i++) {
		char nick[16], remote[32];

		snprintf(nick, sizeof(nick), "nobody%zu", i);
		snprintf(remote, sizeof(remote), "10.0.%zu.%zu:1", i / 200,
		    i % 200);
		p[i] = fx_peer_from(f, "xmlsocket", remote);
		assert_int_equal(SEND(f, p[i], SB_H_IDENTIFY, nick, "x", ""),
		    0);
	}
	quiet_end(f, 0);
	assert_int_equal(f->nchecks, HUB_CHECKS_MAX);
	assert_int_equal(SEND(f, a, SB_H_IDENTIFY, "alice", "wonderland", ""),
	    0);
	assert_error(f, a, "login_busy", NULL);
	fx_clear(f);
	while (f->nchecks > 0)
		check_answer(f, 0);
	for (i = 0; i < HUB_CHECKS_MAX; i++)
		assert_error(f, p[i], "login_failed", NULL);
}

/* Try `nick` / `pass` from a new connection at `remote`; the answer. */
static const struct sb_msg *
try_login(struct fx *f, const char *remote, const char *nick,
    const char *pass)
{
	struct peer *p = fx_peer_from(f, "xmlsocket", remote);

	assert_int_equal(SEND(f, p, SB_H_IDENTIFY, nick, pass, ""), 0);
	assert_int_equal(fx_count(f, p, SB_NONE), 1);
	return fx_count(f, p, SB_C_ERROR) ? fx_get(f, p, SB_C_ERROR, 0) :
	    fx_get(f, p, SB_C_IDENTIFIED, 0);
}

#define ASSERT_LOGIN(f, remote, nick, pass, code, text) do {		\
	const struct sb_msg *m_ = try_login((f), (remote), (nick), (pass)); \
	if (strcmp((code), "identified") == 0)				\
		assert_int_equal(m_->type, SB_C_IDENTIFIED);		\
	else {								\
		assert_int_equal(m_->type, SB_C_ERROR);			\
		assert_field(m_, 0, (code));				\
		if ((text) != NULL)					\
			assert_field(m_, 1, (text));			\
	}								\
	fx_clear(f);							\
} while (0)

/*
 * Failed logins are limited per member nick and per address, with a
 * delay that doubles, whatever the connection.  Failed before the fix:
 * every new connection got a fresh set of guesses.
 */
static void
test_login_throttle(void **state)
{
	struct fx *f = *state;
	char remote[32];
	int i;

	fx_members(f, 0);
	/* Per nick: five failures, from five addresses, are free. */
	for (i = 1; i <= THROTTLE_FREE; i++) {
		snprintf(remote, sizeof(remote), "203.0.113.%d:999", i);
		ASSERT_LOGIN(f, remote, "alice", "guess", "login_failed",
		    "Wrong nick or password.");
	}
	/* Then alice waits, from anywhere, even with her password. */
	ASSERT_LOGIN(f, "198.51.100.1:1", "ALICE", "wonderland",
	    "login_throttled", "Too many failed logins for this nick; try "
	    "again in 1 second.");
	ASSERT_LOGIN(f, "198.51.100.1:1", "1", "wonderland",
	    "login_throttled", NULL);	/* her id is the same nick */
	/* One attempt after the delay; failing doubles it. */
	f->now += 1000000;
	ASSERT_LOGIN(f, "203.0.113.9:1", "alice", "guess", "login_failed",
	    NULL);
	ASSERT_LOGIN(f, "198.51.100.1:1", "alice", "wonderland",
	    "login_throttled", "Too many failed logins for this nick; try "
	    "again in 2 seconds.");
	/* Others are not held up: bob and guests go on. */
	ASSERT_LOGIN(f, "203.0.113.9:2", "bob", "builder", "identified", NULL);
	ASSERT_LOGIN(f, "203.0.113.9:3", "guest", "", "identified", NULL);
	f->now += 2000000;
	/* A right password gets in and forgets the failures. */
	ASSERT_LOGIN(f, "198.51.100.1:1", "alice", "wonderland", "identified",
	    NULL);
	ASSERT_LOGIN(f, "198.51.100.1:1", "alice", "guess", "login_failed",
	    NULL);

	/* Per address: unknown nicks count against the address only. */
	for (i = 1; i <= THROTTLE_FREE; i++) {
		char nick[16];

		snprintf(nick, sizeof(nick), "mallory%d", i);
		snprintf(remote, sizeof(remote), "192.0.2.99:%d", 1000 + i);
		ASSERT_LOGIN(f, remote, nick, "x", "login_failed", NULL);
	}
	ASSERT_LOGIN(f, "192.0.2.99:2000", "dave", "disabled",
	    "login_throttled", "Too many failed logins from your address; "
	    "try again in 1 second.");
	/* A guest from there still gets in: no password, no guessing. */
	ASSERT_LOGIN(f, "192.0.2.99:2001", "guest2", "", "identified", NULL);
	/* Another address is not held up. */
	ASSERT_LOGIN(f, "192.0.2.100:2000", "dave", "disabled",
	    "login_disabled", NULL);
	/* A disabled member's right password is no failed guess. */
	for (i = 0; i < THROTTLE_FREE + 2; i++)
		ASSERT_LOGIN(f, "192.0.2.101:1", "dave", "disabled",
		    "login_disabled", NULL);

	/* IPv6: a /64 is one address. */
	for (i = 1; i <= THROTTLE_FREE; i++) {
		snprintf(remote, sizeof(remote), "[2001:db8::%d]:1", i);
		ASSERT_LOGIN(f, remote, "nobody", "x", "login_failed", NULL);
	}
	ASSERT_LOGIN(f, "[2001:db8::ffff]:1", "nobody", "x", "login_throttled",
	    NULL);
	ASSERT_LOGIN(f, "[2001:db8:0:1::1]:1", "nobody", "x", "login_failed",
	    NULL);

	/* An hour after the last failure, the address is forgotten. */
	f->now += THROTTLE_FORGET * 1000000ULL;
	ASSERT_LOGIN(f, "[2001:db8::ffff]:1", "nobody", "x", "login_failed",
	    NULL);
}

/*
 * Checks running at once count: while THROTTLE_FREE guesses on one nick
 * are being checked, a further one waits for their answers.  Failed
 * before the fix (no limit at all).
 */
static void
test_login_throttle_in_flight(void **state)
{
	struct fx *f = *state;
	struct peer *p[THROTTLE_FREE];
	char remote[32];
	int i;

	fx_members(f, 1);
	for (i = 0; i < THROTTLE_FREE; i++) {
		snprintf(remote, sizeof(remote), "203.0.113.%d:1", i + 1);
		p[i] = fx_peer_from(f, "xmlsocket", remote);
		assert_int_equal(SEND(f, p[i], SB_H_IDENTIFY, "alice", "guess",
		    ""), 0);
	}
	assert_int_equal(f->nchecks, THROTTLE_FREE);
	ASSERT_LOGIN(f, "203.0.113.77:1", "alice", "wonderland",
	    "login_throttled", NULL);
	assert_int_equal(f->nchecks, THROTTLE_FREE);
	while (f->nchecks > 0)
		check_answer(f, 0);
	for (i = 0; i < THROTTLE_FREE; i++)
		assert_error(f, p[i], "login_failed", NULL);
	fx_clear(f);
	ASSERT_LOGIN(f, "203.0.113.77:1", "alice", "wonderland",
	    "login_throttled", "Too many failed logins for this nick; try "
	    "again in 1 second.");
}

/*
 * The failed-login table has a fixed size: after far more keys than it
 * has slots it still counts and delays a key it sees now, and a key
 * being delayed is not pushed out by a spray of keys that delay nobody.
 */
static void
test_throttle_table_bounded(void **state)
{
	struct throttle *t = throttle_new();
	uint64_t now = 1000000000ULL;
	char key[THROTTLE_KEY_MAX + 1];
	unsigned i;

	(void)state;
	assert_non_null(t);
	for (i = 0; i < 4 * THROTTLE_SLOTS; i++) {
		snprintf(key, sizeof(key), "10.%u.%u.%u", i >> 16,
		    (i >> 8) & 0xff, i & 0xff);
		throttle_begin(t, key, now);
		throttle_end(t, key, now, 1);
	}
	now += 1000000;
	for (i = 0; i < THROTTLE_FREE; i++) {
		assert_int_equal(throttle_wait(t, "hot", now), 0);
		throttle_begin(t, "hot", now);
		assert_int_equal(throttle_end(t, "hot", now, 1),
		    i + 1 == THROTTLE_FREE ? 1 : 0);
	}
	assert_int_equal(throttle_wait(t, "hot", now), 1);
	/* A spray of new keys pushes out keys that delay nobody, not "hot". */
	now += 1000;
	for (i = 0; i < THROTTLE_SLOTS; i++) {
		snprintf(key, sizeof(key), "192.0.%u.%u", i >> 8, i & 0xff);
		throttle_begin(t, key, now);
		throttle_end(t, key, now, 1);
	}
	assert_int_equal(throttle_wait(t, "hot", now), 1);
	/* The delay doubles, and is capped. */
	for (i = 0; i < 20; i++) {
		now += (uint64_t)THROTTLE_DELAY_MAX * 1000000;
		assert_int_equal(throttle_wait(t, "hot", now), 0);
		throttle_begin(t, "hot", now);
		throttle_end(t, "hot", now, 1);
	}
	assert_int_equal(throttle_wait(t, "hot", now), THROTTLE_DELAY_MAX);
	/* Forgotten an hour after the last failure. */
	now += (uint64_t)THROTTLE_FORGET * 1000000;
	assert_int_equal(throttle_wait(t, "hot", now), 0);
	throttle_free(t);
}

/* --- metrics ------------------------------------------------------------- */

/*
 * The metrics text `p` gets for H_STATUS "metrics", its C_METRICS
 * chunks joined (each checked: "more" but on the last, within
 * METRICS_CHUNK_MAX, cut after a line).  The caller frees it.
 */
static char *
fx_metrics(struct fx *f, struct peer *p)
{
	const struct sb_msg *m;
	size_t i, k, n = 0;
	char *text = NULL;

	fx_clear(f);
	assert_int_equal(SEND(f, p, SB_H_STATUS, "metrics"), 0);
	k = fx_count(f, p, SB_C_METRICS);
	assert_true(k >= 1);
	assert_int_equal(fx_count(f, p, SB_NONE), k);
	for (i = 0; i < k; i++) {
		m = fx_get(f, p, SB_C_METRICS, i);
		assert_field(m, 0, i + 1 < k ? "1" : "0");
		assert_true(m->flen[1] > 0 && m->flen[1] <= METRICS_CHUNK_MAX);
		assert_int_equal(m->field[1][m->flen[1] - 1], '\n');
		text = realloc(text, n + m->flen[1] + 1);
		assert_non_null(text);
		memcpy(text + n, m->field[1], m->flen[1] + 1);
		n += m->flen[1];
	}
	fx_clear(f);
	return text;
}

/* The value of `series` ("name" or "name{labels}") in `text`. */
static double
metric(const char *text, const char *series)
{
	size_t sl = strlen(series);
	const char *s = text;

	while ((s = strstr(s, series)) != NULL) {
		if ((s == text || s[-1] == '\n') && s[sl] == ' ')
			return strtod(s + sl + 1, NULL);
		s += sl;
	}
	fail_msg("no series %s in the metrics", series);
	return -1;
}

/* What a series should read. */
struct want {
	const char	*series;
	double		 value;
};

/* Every series of want[0..n) reads its value in `text`. */
static void
expect(const char *text, const struct want *w, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (metric(text, w[i].series) != w[i].value)
			fail_msg("%s is %g, expected %g", w[i].series,
			    metric(text, w[i].series), w[i].value);
}

#define EXPECT(text, ...) do {						\
	const struct want w_[] = { __VA_ARGS__ };			\
	expect((text), w_, sizeof(w_) / sizeof(w_[0]));			\
} while (0)

/* Does `text` hold a sample of the metric `name` at all? */
static int
has_metric(const char *text, const char *name)
{
	char key[128];

	snprintf(key, sizeof(key), "\n%s", name);
	return strstr(text, key) != NULL;
}

/*
 * The text keeps the exposition format's rules, as promtool checks them
 * (tests/integration/metrics.test.mjs runs promtool too): every family
 * has HELP, then TYPE, once; every sample belongs to the family declared
 * last (a histogram's _bucket, _sum and _count), counters end in _total,
 * no series is there twice, every value is a number, and a histogram's
 * buckets only grow, up to +Inf, which is its count.
 */
static void
check_format(const char *text)
{
	char fam[128] = "", type[16] = "", name[128], seen[512][160];
	const char *line = text, *nl;
	double v, last = -1;
	size_t nseen = 0, i;
	char *end;

	while (*line != '\0') {
		size_t len, nl_len;

		nl = strchr(line, '\n');
		assert_non_null(nl);
		len = (size_t)(nl - line);
		if (strncmp(line, "# HELP ", 7) == 0) {
			nl_len = strcspn(line + 7, " \n");
			assert_true(nl_len < sizeof(fam));
			assert_true(strncmp(line + 7, fam, nl_len) != 0 ||
			    fam[nl_len] != '\0');
			memcpy(fam, line + 7, nl_len);
			fam[nl_len] = '\0';
			type[0] = '\0';
			last = -1;
		} else if (strncmp(line, "# TYPE ", 7) == 0) {
			assert_int_equal(sscanf(line + 7, "%127s %15s", name,
			    type), 2);
			assert_string_equal(name, fam);
			assert_true(strcmp(type, "counter") == 0 ||
			    strcmp(type, "gauge") == 0 ||
			    strcmp(type, "histogram") == 0);
			if (strcmp(type, "counter") == 0)
				assert_non_null(strstr(fam, "_total"));
			else
				assert_null(strstr(fam, "_total"));
		} else {
			nl_len = strcspn(line, "{ ");
			assert_true(nl_len < sizeof(name) && type[0] != '\0');
			memcpy(name, line, nl_len);
			name[nl_len] = '\0';
			if (strcmp(type, "histogram") == 0) {
				assert_int_equal(strncmp(name, fam,
				    strlen(fam)), 0);
				assert_true(strcmp(name + strlen(fam),
				    "_bucket") == 0 || strcmp(name +
				    strlen(fam), "_sum") == 0 || strcmp(name +
				    strlen(fam), "_count") == 0);
			} else
				assert_string_equal(name, fam);
			nl_len = (size_t)(memchr(line, ' ', len) != NULL ?
			    (const char *)memrchr(line, ' ', len) - line : 0);
			assert_true(nl_len > 0 && nl_len < sizeof(seen[0]));
			for (i = 0; i < nseen; i++)
				assert_false(strlen(seen[i]) == nl_len &&
				    strncmp(seen[i], line, nl_len) == 0);
			assert_true(nseen < sizeof(seen) / sizeof(seen[0]));
			memcpy(seen[nseen], line, nl_len);
			seen[nseen++][nl_len] = '\0';
			v = strtod(line + nl_len + 1, &end);
			assert_ptr_equal(end, nl);
			if (strstr(name, "_bucket") != NULL) {
				assert_true(v >= last);
				last = v;
			} else if (strstr(name, "_count") != NULL &&
			    strcmp(type, "histogram") == 0)
				assert_true(v == last);
		}
		line = nl + 1;
	}
}

/* An idle hub: the families are there, every count is where it starts. */
static void
test_metrics_idle(void **state)
{
	struct fx *f = *state;
	struct peer *p = fx_peer(f, "http");
	char *t = fx_metrics(f, p);

	check_format(t);
	EXPECT(t,
	    { "switchboard_connections{transport=\"http\","
	      "dialect=\"none\"}", 1 },
	    { "switchboard_connections{transport=\"websocket\","
	      "dialect=\"json\"}", 0 },
	    { "switchboard_clients", 0 },
	    { "switchboard_clients_max", 4096 },
	    { "switchboard_rooms", 1 }, /* lobby */
	    { "switchboard_sessions_started_total", 0 },
	    { "switchboard_sessions_ended_total{reason=\"quit\"}", 0 },
	    /* The HELLO, and the request itself, counted before it ran. */
	    { "switchboard_commands_total{command=\"hello\"}", 1 },
	    { "switchboard_commands_total{command=\"status\"}", 1 },
	    { "switchboard_commands_total{command=\"dialect\"}", 0 },
	    { "switchboard_flood_refusals_total{command=\"privmsg\"}", 0 });
	assert_null(strstr(t, "switchboard_flood_refusals_total{command="
	    "\"ping\"}"));	/* not metered */
	EXPECT(t,
	    { "switchboard_errors_total{code=\"other\"}", 0 },
	    { "switchboard_routing_seconds_bucket{le=\"+Inf\"}", 0 });
	assert_true(metric(t, "switchboard_build_info{version=\"" SB_VERSION
	    "\",protocol=\"" PROTO_V "\"}") == 1);
	EXPECT(t,
	    { "switchboard_hub_start_time_seconds", (double)f->h.created });
	/* Without ops->proc_stats, no process metrics. */
	assert_false(has_metric(t, "switchboard_hub_cpu_seconds_total"));
	free(t);
}

/* A busy hub: each counter moves with what it counts. */
static void
test_metrics_counting(void **state)
{
	struct fx *f = *state;
	struct peer *a = fx_user(f, "alice"), *b = fx_user(f, "bob");
	struct peer *c = fx_peer(f, "websocket"), *x = fx_peer(f, "http");
	char *t;

	assert_int_equal(SEND(f, c, SB_H_IDENTIFY, "carol", "", ""), 0);
	fx_join(f, a, "lobby");
	fx_join(f, b, "lobby");
	fx_join(f, c, "lobby");
	assert_int_equal(SEND(f, a, SB_H_DIALECT, "text"), 0);
	assert_int_equal(SEND(f, b, SB_H_DIALECT, "klingon"), 0);
	fx_none(f, a);
	assert_int_equal(SEND(f, a, SB_H_ROOMMSG, "lobby", "hi all"), 0);
	assert_int_equal(SEND(f, a, SB_H_PRIVMSG, "bob", "hi bob"), 0);
	assert_int_equal(SEND(f, a, SB_H_PRIVMSG, "nobody", "hello?"), 0);
	assert_int_equal(SEND(f, b, SB_H_ACTION, "", "waves"), 0);
	hub_announce(&f->h, "maintenance at noon");
	t = fx_metrics(f, x);
	check_format(t);
	EXPECT(t,
	    { "switchboard_connections{transport=\"xmlsocket\","
	      "dialect=\"text\"}", 1 });
	assert_true(metric(t, "switchboard_connections{transport=\"xmlsocket\","
	    "dialect=\"none\"}") == 1);		/* an unknown dialect */
	EXPECT(t,
	    { "switchboard_connections{transport=\"websocket\","
	      "dialect=\"json\"}", 1 },
	    { "switchboard_clients", 3 },
	    { "switchboard_identified_users", 3 },
	    { "switchboard_sessions_started_total", 3 },
	    { "switchboard_commands_total{command=\"identify\"}", 3 },
	    { "switchboard_commands_total{command=\"join\"}", 3 },
	    { "switchboard_commands_total{command=\"privmsg\"}", 2 },
	    /* Routed: the room message and the action to the room, one
	 * private message (the other found nobody), the announcement. */
	    { "switchboard_messages_routed_total{kind=\"room\"}", 2 },
	    { "switchboard_messages_routed_total{kind=\"private\"}", 1 },
	    { "switchboard_messages_routed_total{kind=\"announce\"}", 1 },
	    /* 3 + 3 in the room, 2 private (the echo too), 3 announced. */
	    { "switchboard_deliveries_total", 11 },
	    { "switchboard_errors_total{code=\"no_such_nick\"}", 1 },
	    /* Each message command's run is timed, the failed one too. */
	    { "switchboard_routing_seconds_count", 4 },
	    { "switchboard_routing_seconds_bucket{"
	      "le=\"1e-05\"}", 4 } /* the fake clock stands still */);
	free(t);
}

/* Why sessions end, and what comes back after a restart. */
static void
test_metrics_sessions(void **state)
{
	struct fx *f = *state;
	struct peer *p[6], *x = fx_peer(f, "http"), *r;
	const struct sb_msg *m;
	size_t i;
	char *t;

	for (i = 0; i < 6; i++)
		p[i] = fx_peer(f, i % 2 ? "websocket" : "xmlsocket");
	assert_int_equal(SEND(f, p[0], SB_H_QUIT, "bye"), 0);
	assert_int_equal(SEND(f, p[1], SB_H_QUIT, "Ping timeout", "timeout"),
	    0);
	assert_int_equal(SEND(f, p[2], SB_H_QUIT, "?", "no_such_cause"), 0);
	assert_int_equal(SEND(f, p[3], SB_H_QUIT, "Connection closed",
	    "closed"), 0);
	hub_peer_drop(&f->h, p[4]);	/* the handler went away */
	hub_peer_kill(&f->h, p[5], "kicked", "Kicked");
	fx_reap(f);
	/* A handler back from the hub before this one: twice, one epoch. */
	for (i = 0; i < 2; i++) {
		struct sb_packet pk;
		struct sb_msg hm;
		const char *hf[3] = { PROTO_V, "websocket", "192.0.2.9:1" };

		r = hub_peer_new(&f->h, -1);
		assert_int_equal(sb_msg_encode(&pk, SB_H_HELLO, r->session,
		    0x1234, 0, hf, 3), 0);
		assert_int_equal(sb_msg_decode(&hm, pk.buf, pk.len), 0);
		assert_int_equal(hub_dispatch(&f->h, r, &hm), 0);
		m = fx_only(f, r, SB_C_WELCOME);
		(void)m;
		fx_clear(f);
	}
	assert_int_equal(SEND(f, r, SB_H_RESUME, "dave", "lobby", "", ""), 0);
	/* Handshakes refused, as the handlers tell them; old handlers
	 * send no third field, and count nothing. */
	assert_int_equal(SEND(f, x, SB_H_EVENT, "http", "404 No such page",
	    "404"), 0);
	assert_int_equal(SEND(f, x, SB_H_EVENT, "protocol_error",
	    "nothing received in 30 s", "timeout"), 0);
	assert_int_equal(SEND(f, x, SB_H_EVENT, "http", "?", "299"), 0);
	assert_int_equal(SEND(f, x, SB_H_EVENT, "http", "200 ok"), 0);
	t = fx_metrics(f, x);
	check_format(t);
	EXPECT(t,
	    { "switchboard_sessions_started_total", 8 },
	    { "switchboard_sessions_ended_total{reason=\"quit\"}", 1 },
	    { "switchboard_sessions_ended_total{reason=\"timeout\"}", 1 },
	    { "switchboard_sessions_ended_total{reason=\"error\"}", 1 },
	    { "switchboard_sessions_ended_total{reason=\"closed\"}", 2 },
	    { "switchboard_sessions_ended_total{reason=\"kicked\"}", 1 },
	    { "switchboard_clients", 2 },
	    { "switchboard_reconnects_total", 2 },
	    { "switchboard_epoch_changes_total", 1 },
	    { "switchboard_sessions_resumed_total", 1 },
	    { "switchboard_handshake_failures_total{reason=\"404\"}", 1 },
	    { "switchboard_handshake_failures_total{reason=\"timeout\"}", 1 },
	    { "switchboard_handshake_failures_total{reason=\"other\"}", 1 });
	free(t);
}

/* Flood refusals by command; a flood ending a session is a reason. */
static void
test_metrics_flood(void **state)
{
	struct fx *f = *state;
	struct sb_config cfg;
	struct peer *a, *b, *x;
	char *t;
	int i;

	fx_flood_config(f, &cfg, 2, 10, 3);
	a = fx_user(f, "alice");
	b = fx_user(f, "bob");
	x = fx_peer(f, "http");
	for (i = 0; i < 5; i++)
		flood_try(f, a, b);
	fx_reap(f);
	t = fx_metrics(f, x);
	EXPECT(t,
	    { "switchboard_flood_refusals_total{command=\"privmsg\"}", 3 },
	    { "switchboard_errors_total{code=\"flood\"}", 2 },
	    { "switchboard_sessions_ended_total{reason=\"flood\"}", 1 });
	free(t);
}

/*
 * At its largest (every counter at its most), the text still keeps the
 * format and its limit, and its chunks join to what metrics_render()
 * makes.
 */
static void
test_metrics_largest(void **state)
{
	struct fx *f = *state;
	struct peer *x = fx_peer(f, "http");
	struct hub_metrics *mt = &f->h.metrics;
	uint64_t *u = (uint64_t *)(void *)mt;
	struct buf b;
	char *t;
	size_t i;

	for (i = 0; i < offsetof(struct hub_metrics, last_old_epoch) /
	    sizeof(*u); i++)
		u[i] = UINT64_MAX;
	memset(mt->handshake_failures, 0xff, sizeof(mt->handshake_failures) +
	    sizeof(mt->commands) + sizeof(mt->flood_refusals) +
	    sizeof(mt->routed) + sizeof(mt->deliveries) +
	    sizeof(mt->replayed) + sizeof(mt->errors));
	for (i = 0; i < METRICS_BUCKETS_MAX; i++)
		mt->queue.bucket[i] = mt->routing.bucket[i] = 1000000;
	mt->queue.count = mt->routing.count = 1000000 * METRICS_BUCKETS_MAX;
	mt->queue.sum = mt->routing.sum = UINT64_MAX;
	mt->commands[SB_H_STATUS] = UINT64_MAX - 1;	/* + the request */
	t = fx_metrics(f, x);
	check_format(t);
	assert_true(strlen(t) < METRICS_TEXT_MAX);
	assert_true(strlen(t) > METRICS_CHUNK_MAX);	/* in chunks */
	buf_init(&b, METRICS_TEXT_MAX);
	assert_int_equal(hub_metrics_text(&f->h, hub_cmd_table(), &b), 0);
	assert_int_equal(b.len, strlen(t));
	assert_memory_equal(buf_head(&b), t, b.len);
	buf_free(&b);
	free(t);
}

/* The busiest rooms: by messages in the last window of a second or more. */
static void
test_rooms_busiest(void **state)
{
	struct fx *f = *state;
	struct peer *a = fx_user(f, "alice");
	struct room *out[2];
	double w;
	int i;

	fx_join(f, a, "quiet");
	fx_join(f, a, "busy");
	fx_join(f, a, "some");
	f->now += 3600ULL * 1000000;	/* a full flood bucket */
	for (i = 0; i < 5; i++)
		SEND(f, a, SB_H_ROOMMSG, "busy", "x");
	for (i = 0; i < 2; i++)
		SEND(f, a, SB_H_ROOMMSG, "some", "x");
	SEND(f, a, SB_H_ROOMMSG, "quiet", "x");
	assert_int_equal(fx_count(f, a, SB_C_ERROR), 0);
	fx_clear(f);
	/* The first look: everything so far, over no known window. */
	assert_int_equal(rooms_busiest(&f->h, f->now, out, 2, &w), 2);
	assert_string_equal(out[0]->name, "busy");
	assert_int_equal(out[0]->recent, 5);
	assert_string_equal(out[1]->name, "some");
	assert_true(w == 0);
	/* Within the second, the same answer. */
	SEND(f, a, SB_H_ROOMMSG, "quiet", "x");
	assert_int_equal(rooms_busiest(&f->h, f->now + 500000, out, 2, &w),
	    2);
	assert_string_equal(out[0]->name, "busy");
	/* 1.5 s later: only what came since the first look. */
	SEND(f, a, SB_H_ROOMMSG, "quiet", "x");
	fx_clear(f);
	assert_int_equal(rooms_busiest(&f->h, f->now + 1500000, out, 2, &w),
	    1);
	assert_string_equal(out[0]->name, "quiet");
	assert_int_equal(out[0]->recent, 2);
	assert_true(w == 1.5);
	assert_int_equal(rooms_busiest(&f->h, f->now + 3000000, out, 2, &w),
	    0);
}

/*
 * STATUS may come before HELLO: /healthz asks only that, so a health
 * check is neither a session nor a line in the journal.
 */
static void
test_status_first(void **state)
{
	struct fx *f = *state;
	struct peer *p = hub_peer_new(&f->h, -1);
	char *t;

	assert_non_null(p);
	assert_int_equal(SEND(f, p, SB_H_STATUS), 0);
	assert_field(fx_only(f, p, SB_C_STATUS), 0, "0");
	assert_false(p->hello);
	t = fx_metrics(f, p);
	assert_true(metric(t, "switchboard_connections{transport=\"unknown\","
	    "dialect=\"none\"}") == 1);
	free(t);
	/* Nothing else does. */
	assert_int_equal(SEND(f, p, SB_H_LIST), -EPROTO);
	assert_int_equal(f->h.clients, 0);
}

/*
 * hub_send packs with the shared packer, which never cuts a message
 * short: more fields than the contract allows is an error, logged as the
 * bug it is, and nothing is sent (hub_send used to send the first 16).
 */
static void
test_send_never_cut(void **state)
{
	struct fx *f = *state;
	struct peer *p = fx_peer(f, "xmlsocket");

	quiet_begin(f);
	assert_int_equal(hub_send(&f->h, p, SB_C_CONFIG, "1", "2", "3", "4",
	    "5", "6", "7", "8", "9", "10", "11", "12", "13", "14", "15", "16",
	    "17", NULL), -E2BIG);
	quiet_end(f, 0);
	fx_none(f, p);
	assert_int_equal(hub_send(&f->h, p, SB_C_CONFIG, "a=1", NULL), 0);
	assert_field(fx_only(f, p, SB_C_CONFIG), 0, "a=1");
}

int
main(void)
{
#define T(t)	cmocka_unit_test_setup_teardown(t, fx_setup, fx_teardown)
	const struct CMUnitTest tests[] = {
		T(test_hello_first),
		T(test_history_gone_with_room),
		T(test_history_retention),
		T(test_history_churn),
		T(test_history_not_kept_logged),
		T(test_room_numbers),
		T(test_join_since),
		T(test_join_since_bad),
		T(test_client_types_refused),
		T(test_identify),
		T(test_identify_nick_taken),
		T(test_identify_nick_confusable),
		T(test_identify_nick_confusable_remote),
	T(test_identify_id_taken),
		T(test_identify_nick_invalid),
		T(test_not_identified),
		T(test_privmsg),
		T(test_privmsg_gone),
		T(test_privmsg_alias),
		T(test_list),
		T(test_list_chunks),
		T(test_rooms_join),
		T(test_join_notifies_every_member),
		T(test_presence_quiet),
		T(test_rooms_part),
		T(test_permanent_rooms),
		T(test_room_create_off),
		T(test_room_limits),
		T(test_roommsg),
		T(test_fanout_packed_once),
		T(test_batch_when_behind),
		T(test_batch_buffers_reused),
		T(test_names),
		T(test_nick_change),
		T(test_action),
		T(test_ping_status_event),
		T(test_quit),
		T(test_peer_gone),
		T(test_flood),
		T(test_flood_refusals_in_a_row),
		T(test_flood_join_part),
		T(test_max_clients),
		T(test_max_per_address),
		T(test_epoch_and_sequence),
		T(test_resume_and_hold),
		T(test_resume_members),
		T(test_password_check_async),
		T(test_password_check_session_gone),
		T(test_login_throttle),
		T(test_login_throttle_in_flight),
		T(test_throttle_table_bounded),
		T(test_send_never_cut),
		T(test_status_first),
		T(test_metrics_idle),
		T(test_metrics_counting),
		T(test_metrics_sessions),
		T(test_metrics_flood),
		T(test_metrics_largest),
		T(test_rooms_busiest),
	};
#undef T

	hub_log_open(0);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
