/* SPDX-License-Identifier: ISC */
/*
 * Fuzz target: the ban list file (hub/ban.c, bans_parse), bans.json as
 * the hub reads it at start.
 *
 * Properties: a file is either refused with a reason (and nothing is
 * kept) or loaded; what is loaded has at most BANS_MAX bans, no target
 * twice, every target in its canonical form (it parses back to itself),
 * and every loaded nick ban with no end matches its own nick.
 */
#include <string.h>

#include "fuzz.h"
#include "hub.h"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct bans l = { NULL, 0, 0 };
	struct ban again;
	char err[512];
	size_t i;

	err[0] = '\0';
	if (bans_parse(&l, (const char *)data, size, err, sizeof(err)) < 0) {
		FUZZ_CHECK(l.n == 0 && l.v == NULL && err[0] != '\0');
		return 0;
	}
	FUZZ_CHECK(l.n <= BANS_MAX);
	for (i = 0; i < l.n; i++) {
		const struct ban *b = &l.v[i];

		FUZZ_CHECK(ban_target_parse(&again, b->target, err,
		    sizeof(err)) == 0);
		FUZZ_CHECK(strcmp(again.target, b->target) == 0);
		FUZZ_CHECK(again.kind == b->kind);
		FUZZ_CHECK(b->kind != BAN_NICK || b->until != 0 ||
		    bans_match_nick(&l, b->target, 0) != NULL);
	}
	bans_free(&l);
	return 0;
}
