/* SPDX-License-Identifier: ISC */
/*
 * Fuzz target: what comes from Redis (hub/cluster_msg.c): a room message
 * from the channel ("EPOCH SEQ BODY") and from the stream (an id "SEQ-0"
 * and a BODY), a presence event ("COUNTER JSON"), a user record, a
 * private message (and an inbox entry's "SEQ " before it, and the
 * hub's place in the inbox as kept on disk, "SEQ EPOCH"), a ban of
 * the cluster's list (the input up to its first newline the field, the
 * rest the value), the member store's
 * version and digest (the first two lines; the rest the text).
 *
 * Properties: decoding refuses with -EBADMSG or -EMSGSIZE or succeeds,
 * never reading past the input (an exact-size copy); what decodes has
 * every field within its limit, terminated, a number from 1, a kind of
 * "room" or "action"; and its body, encoded again, decodes to the same
 * message; a ban that decodes has plain text for a reason, and encoded
 * again decodes to the same ban under the same field.
 */
#include <errno.h>

#include "fuzz.h"
#include "../../hub/hub.h"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/* m's body encoded and decoded again gives m. */
static void
roundtrip(const struct cluster_msg *m)
{
	static char buf[CLUSTER_BODY_MAX + 1];
	struct cluster_msg back;
	int n;

	n = cluster_body_encode(m, buf, sizeof(buf));
	FUZZ_CHECK(n > 0 || n == -EMSGSIZE);
	if (n < 0)
		return;
	FUZZ_CHECK(cluster_body_decode(buf, (size_t)n, &back) == 0);
	FUZZ_CHECK(strcmp(back.kind, m->kind) == 0);
	FUZZ_CHECK(strcmp(back.from, m->from) == 0);
	FUZZ_CHECK(strcmp(back.room, m->room) == 0);
	FUZZ_CHECK(strcmp(back.text, m->text) == 0);
	FUZZ_CHECK(strcmp(back.node, m->node) == 0);
	FUZZ_CHECK(strcmp(back.id, m->id) == 0);
	FUZZ_CHECK(back.time == m->time && back.pre == m->pre);
}

static void
check_decoded(const struct cluster_msg *m)
{
	FUZZ_CHECK(strcmp(m->kind, "room") == 0 ||
	    strcmp(m->kind, "action") == 0);
	FUZZ_CHECK(memchr(m->from, '\0', sizeof(m->from)) != NULL);
	FUZZ_CHECK(memchr(m->text, '\0', sizeof(m->text)) != NULL);
	FUZZ_CHECK(m->room[0] != '\0' && m->node[0] != '\0');
	FUZZ_CHECK(cluster_node_ok(m->node, strlen(m->node)));
	FUZZ_CHECK(m->time >= 0 && m->time <= CLUSTER_TIME_MAX);
	roundtrip(m);
}

/* A ban: the field before the first newline, the value after it. */
static void
ban_decode(const char *b, size_t size)
{
	static char val[CLUSTER_BAN_MAX + 1], field[CLUSTER_BAN_FIELD_MAX + 1];
	const char *nl = memchr(b, '\n', size);
	struct ban ban, back;
	size_t flen;
	int r, n;

	if (nl == NULL)
		return;
	flen = (size_t)(nl - b);
	r = cluster_ban_decode(b, flen, nl + 1, size - flen - 1, &ban);
	FUZZ_CHECK(r == 0 || r == -EBADMSG || r == -EMSGSIZE);
	if (r != 0)
		return;
	FUZZ_CHECK(text_plain(ban.reason, strlen(ban.reason)));
	FUZZ_CHECK(ban.shared[0] == '\0' && ban.since >= 0 && ban.until >= 0);
	n = cluster_ban_field(&ban, field, sizeof(field));
	FUZZ_CHECK(n >= 0 && (size_t)n == flen && memcmp(field, b, flen) == 0);
	n = cluster_ban_encode(&ban, val, sizeof(val));
	FUZZ_CHECK(n > 0 || n == -EMSGSIZE);
	if (n < 0)
		return;
	FUZZ_CHECK(cluster_ban_decode(field, flen, val, (size_t)n, &back) == 0);
	FUZZ_CHECK(back.kind == ban.kind && back.since == ban.since &&
	    back.until == ban.until);
	FUZZ_CHECK(strcmp(back.target, ban.target) == 0 &&
	    strcmp(back.reason, ban.reason) == 0);
}

/* The member store's fields: `v` and `d` the first two lines, `t` the rest. */
static void
members_fields(const char *b, size_t size)
{
	const char *nl1 = memchr(b, '\n', size), *nl2;
	uint64_t version = 0;
	size_t dlen;
	int r;

	if (nl1 == NULL || (nl2 = memchr(nl1 + 1, '\n',
	    size - (size_t)(nl1 + 1 - b))) == NULL)
		return;
	dlen = (size_t)(nl2 - nl1 - 1);
	r = cluster_members_decode(b, (size_t)(nl1 - b), nl1 + 1, dlen,
	    size - (size_t)(nl2 + 1 - b), &version);
	FUZZ_CHECK(r == 0 || r == -EBADMSG || r == -EMSGSIZE);
	if (r == 0)
		FUZZ_CHECK(dlen == MEMBERS_DIGEST_LEN);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cluster_msg m;
	uint64_t seq;
	char *b;
	int r;

	if ((b = malloc(size + 1)) == NULL)
		abort();
	memcpy(b, data, size);
	r = cluster_msg_decode(b, size, &m);
	FUZZ_CHECK(r == 0 || r == -EBADMSG || r == -EMSGSIZE);
	if (r == 0) {
		FUZZ_CHECK(m.seq >= 1 && m.seq <= INT64_MAX);
		FUZZ_CHECK(strlen(m.epoch) >= 1 &&
		    strlen(m.epoch) <= CLUSTER_EPOCH_MAX);
		check_decoded(&m);
	}
	r = cluster_body_decode(b, size, &m);
	FUZZ_CHECK(r == 0 || r == -EBADMSG || r == -EMSGSIZE);
	if (r == 0)
		check_decoded(&m);
	{
		static struct cluster_pres ev;
		static struct remote_user u;
		static struct cluster_pm pm;

		r = cluster_pres_decode(b, size, &ev);
		FUZZ_CHECK(r == 0 || r == -EBADMSG || r == -EMSGSIZE);
		if (r == 0)
			FUZZ_CHECK(ev.down == (ev.counter == 0) &&
			    ev.user.nrooms <= HUB_ROOMS_PER_PEER);
		r = cluster_record_decode(b, size, &u);
		FUZZ_CHECK(r == 0 || r == -EBADMSG || r == -EMSGSIZE);
		r = cluster_pm_decode(b, size, &pm);
		FUZZ_CHECK(r == 0 || r == -EBADMSG || r == -EMSGSIZE);
		if (r == 0)	/* the kinds pm_arrive acts on, no other */
			FUZZ_CHECK(strcmp(pm.kind, "private") == 0 ||
			    strcmp(pm.kind, "action") == 0 ||
			    strcmp(pm.kind, "kick") == 0 ||
			    strcmp(pm.kind, "ban") == 0);
	}
	ban_decode(b, size);
	members_fields(b, size);
	r = cluster_entry_id(b, size, &seq);
	FUZZ_CHECK(r == 0 || r == -EBADMSG);
	if (r == 0)
		FUZZ_CHECK(seq >= 1 && seq <= INT64_MAX);
	{
		size_t off;

		r = cluster_inbox_entry(b, size, &seq, &off);
		FUZZ_CHECK(r == 0 || r == -EBADMSG);
		if (r == 0)	/* the body, then, as pm_arrive reads it */
			FUZZ_CHECK(seq >= 1 && seq <= INT64_MAX &&
			    off >= 2 && off <= size && b[off - 1] == ' ');
	}
	{
		char epoch[CLUSTER_EPOCH_MAX + 1];

		r = cluster_inbox_place(b, size, &seq, epoch);
		FUZZ_CHECK(r == 0 || r == -EBADMSG);
		if (r == 0)
			FUZZ_CHECK(seq >= 1 && strlen(epoch) >= 1 &&
			    strspn(epoch, "0123456789") == strlen(epoch));
	}
	free(b);
	return 0;
}
