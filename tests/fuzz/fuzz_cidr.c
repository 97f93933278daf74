/* SPDX-License-Identifier: ISC */
/*
 * Fuzz target: lists of address prefixes (common/cidr.c), as
 * metrics_from holds them, and the client addresses matched against
 * them.
 *
 * The input is a list and a client address ("address:port"), split at
 * the first newline.  Properties: checking the list either succeeds or
 * gives a reason; a list that checks has every entry parse, with no
 * host bit set past its prefix, and covers each entry's own network
 * address, as a client would give it; matching any client against any
 * list never fails in any other way than "no".
 */
#include <arpa/inet.h>
#include <errno.h>
#include <sys/socket.h>

#include "fuzz.h"
#include "cidr.h"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/* Every entry of a checked list, and its network as a client. */
static void
check_entries(const char *list)
{
	char err[256], host[INET6_ADDRSTRLEN], remote[INET6_ADDRSTRLEN + 8];
	struct cidr c;
	unsigned char m[16];
	const char *p;
	size_t len, bytes;

	for (p = list + strspn(list, " \t,"); *p != '\0';
	    p += len, p += strspn(p, " \t,")) {
		len = strcspn(p, " \t,");
		FUZZ_CHECK(cidr_parse(&c, p, len, err, sizeof(err)) == 0);
		FUZZ_CHECK(c.family == AF_INET || c.family == AF_INET6);
		bytes = c.family == AF_INET ? 4 : 16;
		FUZZ_CHECK(c.prefix <= bytes * 8);
		memcpy(m, c.addr, bytes);
		cidr_mask(m, bytes, c.prefix);
		FUZZ_CHECK(memcmp(m, c.addr, bytes) == 0);
		FUZZ_CHECK(inet_ntop(c.family, c.addr, host, sizeof(host)) !=
		    NULL);
		snprintf(remote, sizeof(remote), c.family == AF_INET ?
		    "%s:80" : "[%s]:80", host);
		/* An IPv4-mapped entry is an IPv6 prefix no client matches. */
		if (c.family == AF_INET6 && memcmp(c.addr,
		    "\0\0\0\0\0\0\0\0\0\0\xff\xff", 12) == 0)
			continue;
		FUZZ_CHECK(cidr_list_match(list, remote));
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *nl = memchr(data, '\n', size);
	size_t ll = nl != NULL ? (size_t)(nl - data) : size;
	char *list, *remote, err[256];
	int r;

	if ((list = malloc(ll + 1)) == NULL ||
	    (remote = malloc(size - ll + 1)) == NULL)
		abort();
	memcpy(list, data, ll);
	list[ll] = '\0';
	memcpy(remote, data + ll + (nl != NULL), size - ll - (nl != NULL));
	remote[size - ll - (nl != NULL)] = '\0';

	err[0] = '\0';
	r = cidr_list_check(list, err, sizeof(err));
	FUZZ_CHECK(r == 0 || r == -EINVAL);
	if (r < 0)
		FUZZ_CHECK(err[0] != '\0' && memchr(err, '\0', sizeof(err)));
	else
		check_entries(list);
	r = cidr_list_match(list, remote);
	FUZZ_CHECK(r == 0 || r == 1);
	free(list);
	free(remote);
	return 0;
}
