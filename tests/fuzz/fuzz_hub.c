/* SPDX-License-Identifier: ISC */
/*
 * Fuzz target: the hub's rules (the no-I/O files of hub/, LINK_HUB_RULES
 * in tests/link.mk) driven by decoded handler messages from up to eight
 * sessions, the way hub/server.c drives them, with what the hub sends
 * rendered by each session's dialect as its handler would.
 *
 * Input: bytes 0-1 vary the configuration (max_clients, max_rooms,
 * room_create, presence_max, flood limits, auth = both with two members,
 * alice and the disabled bob, both with the password "secret"); then
 * steps [slot][op][...]: connect, disconnect, let time pass (the hold
 * timer fires when due), an early timer wake-up, the answer to the oldest
 * password check still open (checks are answered only then, in order, as
 * the workers of hub/authpool.c would), an announcement, a reload, or a
 * message [type][u16 length][fields separated by NUL] encoded as a
 * handler would and decoded as the hub does.  Properties:
 *   - everything the hub sends fits the contract (decodes), carries the
 *     peer's session and the next sequence number, and goes to live
 *     peers only; a message's sender is the nick of a session, never
 *     anything a client wrote;
 *   - rendered in the session's dialect it is well-formed;
 *   - a hold is armed for a time to come (the timer fires when due);
 *   - after every step: each identified session is found under its
 *     nick, the client count matches the sessions that count, every
 *     room's member count matches its members, no session is in more
 *     than HUB_ROOMS_PER_PEER rooms; every nick passes nick_check, and
 *     the skeleton index holds exactly the sessions' UTS #39 skeletons,
 *     no two sessions sharing one (no look-alike nicks); the hub's open
 *     checks are the ones asked and not yet answered, at most
 *     HUB_CHECKS_MAX; a session whose check is open is not identified
 *     and has one open, and one with none holds no waiting messages;
 *   - nothing leaks at the end (LeakSanitizer).
 */
#include <crypt.h>
#include <unistd.h>

#include <bsd/string.h>

#include "fuzz_dialect.h"
#include "hub.h"

#define SLOTS	8

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

struct slot {
	struct peer	*p;
	uint64_t	 session;
	uint64_t	 seq;
	struct dialect	 d;
};

static struct slot slots[SLOTS];
static uint64_t now;
static struct buf out;

/* Password checks asked for and not yet answered, oldest first. */
static struct pending {
	uint64_t	 session;
	int		 match;
}		 pend[HUB_CHECKS_MAX];
static size_t	 npend;

/* The journal is not the subject: format everything, write nothing. */
void
sb_log_event(enum sb_event ev, const struct sb_log_fields *lf,
    const char *fmt, ...)
{
	char msg[1024], esc[4096];
	va_list ap;

	FUZZ_CHECK(ev >= 0 && ev < SB_EV_COUNT);
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	sb_log_escape(esc, sizeof(esc), msg);
	FUZZ_CHECK(strchr(esc, '\n') == NULL);
	if (lf != NULL && lf->reason != NULL)
		sb_log_escape(esc, sizeof(esc), lf->reason);
	if (lf != NULL && lf->text != NULL)
		sb_log_escape(esc, sizeof(esc), lf->text);
}

void
hub_log_peer(enum sb_event ev, const struct peer *p,
    const struct sb_log_fields *lf, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	FUZZ_CHECK(p != NULL);
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	sb_log_event(ev, lf, "%s", msg);
}

static struct slot *
slot_of(const struct peer *p)
{
	size_t i;

	for (i = 0; i < SLOTS; i++)
		if (slots[i].p == p)
			return &slots[i];
	return NULL;
}

/* Is `nick` the nick of a session that exists?  (No sender is made up.) */
static int
is_live_nick(const char *nick)
{
	size_t i;

	for (i = 0; i < SLOTS; i++)
		if (slots[i].p != NULL && slots[i].p->nick[0] != '\0' &&
		    strcmp(slots[i].p->nick, nick) == 0)
			return 1;
	return 0;
}

static int
ops_send(struct hub *h, struct peer *p, const struct sb_packet *pkt)
{
	struct slot *s = slot_of(p);
	struct sb_msg m;
	size_t mark;
	int r;

	(void)h;
	FUZZ_CHECK(s != NULL);
	FUZZ_CHECK(!p->dead);
	FUZZ_CHECK(sb_msg_decode(&m, pkt->buf, pkt->len) == 0);
	FUZZ_CHECK(m.type >= SB_C_CONFIG);
	if (m.type == SB_C_MSG && strstr(m.field[0], "announce") == NULL &&
	    strstr(m.field[0], "history") == NULL)
		FUZZ_CHECK(is_live_nick(m.field[1]));
	if (m.type != SB_C_CONFIG) {
		FUZZ_CHECK(m.session == s->session);
		FUZZ_CHECK(m.seq == s->seq + 1);
		s->seq = m.seq;
	}
	mark = out.len;
	r = dialect_render(&s->d, &m, &out);
	if (r >= 0)
		FUZZ_CHECK(fuzz_client_messages(s->d.kind, &out, mark) == r);
	buf_truncate(&out, 0);
	return 0;
}

static uint64_t
ops_now(struct hub *h)
{
	(void)h;
	return now;
}

static void
ops_arm(struct hub *h, uint64_t when)
{
	(void)h;
	FUZZ_CHECK(when >= now);
}

/* ops->check_password: answered later, by an "answer" step. */
static int
ops_check(struct hub *h, uint64_t session, const char *setting,
    const char *password)
{
	size_t i;

	(void)h;
	FUZZ_CHECK(npend < HUB_CHECKS_MAX);
	for (i = 0; i < npend; i++)	/* one check per session at a time */
		FUZZ_CHECK(pend[i].session != session);
	pend[npend].session = session;
	pend[npend].match = members_verify(password, setting);
	npend++;
	return 0;
}

static void
answer_oldest(struct hub *h)
{
	struct pending a;

	if (npend == 0)
		return;
	a = pend[0];
	memmove(&pend[0], &pend[1], --npend * sizeof(pend[0]));
	hub_password_checked(h, a.session, a.match);
}

static int
is_pending(uint64_t session)
{
	size_t i;

	for (i = 0; i < npend; i++)
		if (pend[i].session == session)
			return 1;
	return 0;
}

static const struct hub_ops ops = {
	.send = ops_send,
	.now_usec = ops_now,
	.arm = ops_arm,
	.check_password = ops_check,
};

/*
 * The member store: alice (1) and bob (2, disabled), both "secret",
 * md5crypt so that a check costs microseconds.  Loaded once, by the
 * hub's own loader, so that every index it builds (the skeletons of
 * members_confusable) is there; the hub only borrows it (hub_free would
 * free it).
 */
static struct members *
fuzz_members(void)
{
	static struct members *ms;
	char path[] = "/tmp/fuzz_hub_members.XXXXXX", err[256], text[512];
	struct crypt_data cd;
	const char *hash;
	int fd, n;

	if (ms != NULL)
		return ms;
	memset(&cd, 0, sizeof(cd));
	if ((hash = crypt_r("secret", "$1$fuzzsalt$", &cd)) == NULL ||
	    hash[0] == '*')
		abort();
	n = snprintf(text, sizeof(text), "1:alice:%s:1\n2:bob:%s:0\n", hash,
	    hash);
	if (n < 0 || (size_t)n >= sizeof(text) || (fd = mkstemp(path)) < 0)
		abort();
	if (write(fd, text, (size_t)n) != n || close(fd) < 0 ||
	    members_load(path, &ms, err, sizeof(err)) < 0) {
		fprintf(stderr, "fuzz_hub: members: %s\n", err);
		abort();
	}
	unlink(path);
	return ms;
}

/* What server.c's hub_reap() does, without sockets. */
static void
reap(struct hub *h)
{
	struct peer *p;
	struct slot *s;

	while ((p = TAILQ_FIRST(&h->reaplist)) != NULL) {
		TAILQ_REMOVE(&h->reaplist, p, reap);
		hub_peer_gone(h, p, p->kill_reason[0] ? p->kill_reason :
		    "Connection closed");
		if ((s = slot_of(p)) != NULL) {
			dialect_free(&s->d);
			s->p = NULL;
		}
		hub_peer_free(h, p);
	}
}

/* server.c's on_hold_timer(). */
static void
hold_timer(struct hub *h)
{
	if (h->hold_until != 0 && now >= h->hold_until)
		hub_hold_release(h);
}

static void
check_hub(struct hub *h)
{
	struct membership *mb;
	struct room *r;
	struct peer *p;
	struct peer_skel *s, *prev;
	const char *why;
	unsigned clients = 0, n, k = 0;
	size_t i;

	for (i = 0; i < SLOTS; i++) {
		if ((p = slots[i].p) == NULL)
			continue;
		FUZZ_CHECK(!p->dead && !p->gone);
		if (p->chat)
			clients++;
		if (p->nick[0] != '\0')
			FUZZ_CHECK(hub_find_nick(h, p->nick) == p);
		n = 0;
		TAILQ_FOREACH(mb, &p->rooms, in_peer) {
			FUZZ_CHECK(mb->peer == p);
			n++;
		}
		FUZZ_CHECK(n == p->nrooms && n <= HUB_ROOMS_PER_PEER);
		if (p->checking)
			FUZZ_CHECK(p->nick[0] == '\0' && is_pending(p->session));
		else
			FUZZ_CHECK(TAILQ_EMPTY(&p->waiting));
		FUZZ_CHECK(p->waiting_bytes <= HUB_WAITING_MAX);
	}
	FUZZ_CHECK(h->nchecks == npend);
	FUZZ_CHECK(clients == h->clients);
	FUZZ_CHECK(h->clients <= h->cfg.max_clients);
	n = 0;
	RB_FOREACH(p, peer_nicks, &h->nicks) {
		FUZZ_CHECK(p->nick[0] != '\0' && slot_of(p) != NULL);
		/* Every named nick passes the rules it was taken under. */
		FUZZ_CHECK(nick_check(p->nick, &why) == 0);
		FUZZ_CHECK(p->nskels == 1 || p->nskels == 2);
		n++;
		k += (unsigned)p->nskels;
	}
	FUZZ_CHECK(n == h->named);
	/*
	 * The skeleton index holds exactly the named sessions' skeletons,
	 * and no two sessions share one: a nick that looks like another's
	 * is refused on every path (issue 16, hole 4).
	 */
	prev = NULL;
	RB_FOREACH(s, peer_skels, &h->skels) {
		FUZZ_CHECK(s->peer->nick[0] != '\0' && !s->peer->gone);
		FUZZ_CHECK(prev == NULL || strcmp(prev->skel, s->skel) != 0 ||
		    prev->peer == s->peer);
		prev = s;
		k--;
	}
	FUZZ_CHECK(k == 0);
	n = 0;
	RB_FOREACH(r, rooms, &h->rooms) {
		unsigned k = 0;

		TAILQ_FOREACH(mb, &r->members, in_room) {
			FUZZ_CHECK(mb->room == r);
			k++;
		}
		FUZZ_CHECK(k == r->nmembers);
		FUZZ_CHECK(k > 0 || r->permanent);
		n++;
	}
	FUZZ_CHECK(n == h->nrooms);
}

#define STR_(x)	#x
#define STR(x)	STR_(x)
static char proto_version[] = STR(SB_PROTO_VERSION);

static void
message(struct hub *h, struct slot *s, struct fuzz_in *in)
{
	/* The handler's types: they come before the hub's (proto.h). */
	enum sb_type type = (enum sb_type)(SB_H_HELLO +
	    fuzz_byte(in) % (SB_C_CONFIG - SB_H_HELLO));
	size_t len = fuzz_u16(in) % 2048, nf = 0, off = 0;
	const char *f[SB_FIELDS_MAX];
	struct sb_packet pkt;
	struct sb_msg m;
	char *pl;

	if (len > in->n)
		len = in->n;
	if ((pl = malloc(len + 1)) == NULL)
		abort();
	memcpy(pl, in->p, len);
	pl[len] = '\0';
	in->p += len;
	in->n -= len;
	while (len > 0 && off <= len && nf < SB_FIELDS_MAX) {
		f[nf++] = pl + off;
		off += strlen(pl + off) + 1;
	}
	/*
	 * The corpus was written when the contract was version 1: a HELLO
	 * saying "1" stands for the version this hub speaks, so the seeds
	 * still get past it; any other value is a wrong version, as before.
	 */
	if (type == SB_H_HELLO && nf > 0 && strcmp(f[0], "1") == 0)
		f[0] = proto_version;
	if (sb_msg_encode(&pkt, type, s->session, 0, 0, f, nf) == 0) {
		FUZZ_CHECK(sb_msg_decode(&m, pkt.buf, pkt.len) == 0);
		if (hub_dispatch(h, s->p, &m) < 0)
			hub_peer_kill(h, s->p, "protocol_error",
			    "Internal error");
	}
	free(pl);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in = { data, size };
	unsigned k0 = fuzz_byte(&in), k1 = fuzz_byte(&in);
	struct sb_config cfg;
	struct hub h;
	size_t i;

	config_defaults(&cfg);
	cfg.max_clients = 1 + k0 % 6;
	cfg.max_rooms = 1 + (k0 / 6) % 4;
	cfg.room_create = (k0 / 24) & 1;
	cfg.presence_max = (k0 / 48) % 4;	/* quiet rooms and server */
	cfg.flood_burst = 1 + k1 % 4;
	cfg.flood_rate = 1 + (k1 / 4) % 8;
	cfg.flood_kick = 1 + (k1 / 32) % 4;
	cfg.auth = k1 & 0x80 ? AUTH_BOTH : AUTH_GUEST;
	snprintf(cfg.rooms, sizeof(cfg.rooms), "lobby,Help");
	now = 1000000;
	memset(slots, 0, sizeof(slots));
	npend = 0;
	buf_init(&out, DIALECT_OUT_MAX);
	hub_init(&h, &cfg, &ops, NULL);
	h.epoch = 3;
	if (cfg.auth != AUTH_GUEST)
		h.members = fuzz_members();
	FUZZ_CHECK(hub_rooms_configure(&h) == 0);

	while (in.n > 0) {
		struct slot *s = &slots[fuzz_byte(&in) % SLOTS];
		unsigned op = fuzz_byte(&in);

		switch (op % 8) {
		case 0:		/* a handler connects */
			if (s->p != NULL)
				break;
			if ((s->p = hub_peer_new(&h, -1)) == NULL)
				abort();
			s->session = s->p->session;
			s->seq = 0;
			dialect_init(&s->d, (enum dialect_kind)((op / 8) % 3));
			s->d.seed003 = (op / 24) & 1;
			break;
		case 1:		/* its connection closes */
			if (s->p != NULL)
				hub_peer_drop(&h, s->p);
			break;
		case 2:		/* time passes; the hold timer fires when due */
			now += (uint64_t)fuzz_u16(&in) * (op & 0x80 ? 1000 : 10);
			hold_timer(&h);
			break;
		case 3:		/* a password is checked; or an early timer */
			if (op & 0x80)
				answer_oldest(&h);
			else
				hold_timer(&h);
			break;
		case 4:
			hub_announce(&h, op & 0x80 ? "maintenance <at> 5 & \"6\"" :
			    "");
			break;
		case 5:
			hub_config_changed(&h);
			break;
		default:	/* a message from the handler */
			if (s->p != NULL)
				message(&h, s, &in);
			break;
		}
		reap(&h);
		check_hub(&h);
	}

	for (i = 0; i < SLOTS; i++)
		if (slots[i].p != NULL)
			hub_peer_drop(&h, slots[i].p);
	reap(&h);
	while (npend > 0)	/* answers for sessions gone */
		answer_oldest(&h);
	FUZZ_CHECK(h.nchecks == 0);
	h.members = NULL;	/* fuzz_members() keeps it */
	hub_free(&h);
	buf_free(&out);
	return 0;
}
