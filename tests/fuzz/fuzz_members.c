/* SPDX-License-Identifier: ISC */
/*
 * Fuzz target: the member store file (hub/members.c, members_load),
 * "id:nick:crypt-hash:active" lines, as the hub reads it at start and on
 * reload, and the same text as it comes from Redis in a cluster
 * (members_parse): both take it or both refuse it, with the same members.
 *
 * Properties: a file is either refused with a reason or loaded; what is
 * loaded has unique ids from 1 to MEMBERS_ID_MAX and unique nicks that
 * pass the nick rules, sorted by folded nick, each found again by nick
 * (case-folded) and by id.  Passwords are not checked here (crypt(3) is
 * slow and not a parser).
 */
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fuzz.h"
#include "hub.h"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static char path[256];

static void
remove_file(void)
{
	unlink(path);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct members *ms;
	const char *why;
	char err[512], up[MEMBERS_NICK_MAX + 1];
	size_t i, k;
	int fd, r;

	if (path[0] == '\0') {
		const char *t = getenv("TMPDIR");

		snprintf(path, sizeof(path), "%s/sb-fuzz-members-XXXXXX",
		    t != NULL && *t != '\0' ? t : "/dev/shm");
		if ((fd = mkstemp(path)) < 0)
			abort();
		close(fd);
		atexit(remove_file);
	}
	if ((fd = open(path, O_WRONLY | O_TRUNC)) < 0 ||
	    (size > 0 && write(fd, data, size) != (ssize_t)size))
		abort();
	fchmod(fd, 0600);
	close(fd);

	err[0] = '\0';
	r = members_load(path, &ms, err, sizeof(err));
	{
		struct members *from_redis;
		char e2[512] = "";
		int r2 = members_parse("redis", (const char *)data, size,
		    &from_redis, e2, sizeof(e2));

		FUZZ_CHECK((r < 0) == (r2 < 0));
		FUZZ_CHECK(r2 < 0 ? e2[0] != '\0' && from_redis == NULL :
		    from_redis != NULL && from_redis->count == ms->count);
		for (i = 0; r2 == 0 && i < ms->count; i++)
			FUZZ_CHECK(strcmp(from_redis->by_key[i].key,
			    ms->by_key[i].key) == 0 &&
			    from_redis->by_key[i].id == ms->by_key[i].id);
		members_free(from_redis);
	}
	if (r < 0) {
		FUZZ_CHECK(err[0] != '\0' && ms == NULL);
		return 0;
	}
	FUZZ_CHECK(ms != NULL);
	for (i = 0; i < ms->count; i++) {
		const struct member *m = &ms->by_key[i];

		FUZZ_CHECK(m->id >= 1 && m->id <= MEMBERS_ID_MAX);
		FUZZ_CHECK(m->active == 0 || m->active == 1);
		FUZZ_CHECK(nick_check(m->nick, &why) == 0);
		FUZZ_CHECK(strlen(m->hash) <= MEMBERS_HASH_MAX);
		if (i > 0)
			FUZZ_CHECK(strcmp(ms->by_key[i - 1].key, m->key) < 0);
		FUZZ_CHECK(members_find(ms, m->nick) == m);
		FUZZ_CHECK(members_find_id(ms, m->id) == m);
		for (k = 0; m->nick[k] != '\0'; k++)
			up[k] = (m->nick[k] >= 'a' && m->nick[k] <= 'z') ?
			    (char)(m->nick[k] - 'a' + 'A') : m->nick[k];
		up[k] = '\0';
		FUZZ_CHECK(members_find(ms, up) == m);
		FUZZ_CHECK(m->id <= ms->max_id);
	}
	for (i = 0; i < ms->count; i++)
		for (k = i + 1; k < ms->count && k < i + 64; k++)
			FUZZ_CHECK(ms->by_key[i].id != ms->by_key[k].id);
	members_free(ms);
	return 0;
}
