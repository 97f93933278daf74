/* SPDX-License-Identifier: ISC */
/*
 * Fuzz target: the text form of the hub's events (common/log.c,
 * sb_log_format() and sb_log_parse(); issue 16, hole 9).
 *
 * Input: byte 0 picks the output buffer size; the rest is up to nine
 * field values separated by NUL bytes, any other bytes.  Properties:
 *   - the fields formatted parse back to exactly the same keys and
 *     values, in order, and the line holds no newline;
 *   - in a buffer too small, the line still parses, to a prefix of the
 *     fields whose last value may be cut;
 *   - the whole input, taken as a line, either does not parse or is
 *     exactly what sb_log_format() makes of the fields it parses to.
 */
#include <string.h>

#include "fuzz.h"
#include "log.h"

#define FIELDS		9
#define VALUE_MAX	1024

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static const char *const keys[FIELDS] = { "EVENT", "NICK", "ROOM",
    "REMOTE", "TRANSPORT", "SESSION", "REASON", "TEXT", "MESSAGE" };

static char vals[FIELDS][VALUE_MAX + 1];
static char line[FIELDS * (4 * VALUE_MAX + 16)], again[sizeof(line)];
static char buf[sizeof(line) * 2];

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in = { data, size };
	struct sb_log_kv kv[FIELDS], got[FIELDS + 1];
	size_t n = 0, sz, len, i, l;
	char *text;
	int r;

	sz = 1 + fuzz_byte(&in) * 8;
	/* The rest as a line: parses only as sb_log_format() writes it. */
	text = malloc(in.n + 1);
	if (text == NULL)
		abort();
	memcpy(text, in.p, in.n);
	text[in.n] = '\0';
	r = sb_log_parse(text, got, FIELDS + 1, buf, sizeof(buf));
	if (r >= 0 && in.n < sizeof(again)) {
		sb_log_format(again, sizeof(again), got, (size_t)r);
		FUZZ_CHECK(strcmp(again, text) == 0);
	}
	free(text);
	/* The rest as values. */
	while (n < FIELDS && in.n > 0) {
		l = strnlen((const char *)in.p, in.n);
		if (l > VALUE_MAX)
			l = VALUE_MAX;
		memcpy(vals[n], in.p, l);
		vals[n][l] = '\0';
		kv[n] = (struct sb_log_kv){ keys[n], vals[n] };
		n++;
		l = strnlen((const char *)in.p, in.n);
		in.p += l < in.n ? l + 1 : l;
		in.n -= l < in.n ? l + 1 : l;
	}
	len = sb_log_format(line, sizeof(line), kv, n);
	FUZZ_CHECK(len == strlen(line) && strchr(line, '\n') == NULL);
	FUZZ_CHECK(sb_log_parse(line, got, FIELDS + 1, buf, sizeof(buf)) ==
	    (int)n);
	for (i = 0; i < n; i++)
		FUZZ_CHECK(strcmp(got[i].key, kv[i].key) == 0 &&
		    strcmp(got[i].value, kv[i].value) == 0);
	if (sz > sizeof(line))
		return 0;
	sb_log_format(line, sz, kv, n);
	r = sb_log_parse(line, got, FIELDS + 1, buf, sizeof(buf));
	FUZZ_CHECK(r >= 0 && (size_t)r <= n);
	for (i = 0; i < (size_t)r; i++)
		FUZZ_CHECK(strcmp(got[i].key, kv[i].key) == 0 &&
		    strncmp(got[i].value, kv[i].value,
		    strlen(got[i].value)) == 0 &&
		    (i + 1 == (size_t)r ||
		    strcmp(got[i].value, kv[i].value) == 0));
	return 0;
}
