/* SPDX-License-Identifier: ISC */
/*
 * Addresses, prefixes and lists of prefixes (see cidr.h).
 */
#include <arpa/inet.h>
#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include <bsd/stdlib.h>

#include "cidr.h"

/* The separators of a list of prefixes: blanks and commas. */
#define CIDR_SEP	" \t,"

/* Zero the bits of addr[0..len) past the first `prefix`. */
void
cidr_mask(unsigned char *addr, size_t len, unsigned prefix)
{
	size_t i;

	assert(addr != NULL || len == 0);
	for (i = 0; i < len; i++) {
		if (prefix >= 8) {
			prefix -= 8;
			continue;
		}
		addr[i] &= (unsigned char)(0xff << (8 - prefix));
		prefix = 0;
	}
}

/*
 * Parse s[0..len), an IPv4 or IPv6 address with an optional "/prefix",
 * into `c` (the host bits cleared: 192.0.2.7/24 is 192.0.2.0/24).
 * Returns 0; 1 when `s` is not an address at all (a caller may take it
 * for something else, a nick); or -EINVAL, the reason in err, for an
 * address with a bad prefix.
 */
int
cidr_parse(struct cidr *c, const char *s, size_t len, char *err,
    size_t errsz)
{
	char host[INET6_ADDRSTRLEN + 1], bits[8];
	const char *slash, *e;
	size_t hl, bl;
	unsigned max;
	long long v;

	assert(c != NULL && s != NULL && err != NULL);
	slash = memchr(s, '/', len);
	hl = slash ? (size_t)(slash - s) : len;
	if (hl == 0 || hl >= sizeof(host))
		return 1;
	memcpy(host, s, hl);
	host[hl] = '\0';
	memset(c->addr, 0, sizeof(c->addr));
	if (inet_pton(AF_INET, host, c->addr) == 1) {
		c->family = AF_INET;
		max = 32;
	} else if (inet_pton(AF_INET6, host, c->addr) == 1) {
		c->family = AF_INET6;
		max = 128;
	} else
		return 1;
	c->prefix = max;
	if (slash != NULL) {
		bl = len - hl - 1;
		if (bl > 0 && bl < sizeof(bits)) {
			memcpy(bits, slash + 1, bl);
			bits[bl] = '\0';
		}
		if (bl == 0 || bl >= sizeof(bits) || bits[0] < '0' ||
		    bits[0] > '9' ||
		    (v = strtonum(bits, 0, max, &e), e != NULL)) {
			snprintf(err, errsz, "%.*s: the prefix must be a number "
			    "from 0 to %u", (int)(len > 64 ? 64 : len), s, max);
			return -EINVAL;
		}
		c->prefix = (unsigned)v;
	}
	cidr_mask(c->addr, max / 8, c->prefix);
	return 0;
}

/*
 * The address of `remote` ("192.0.2.7:4321", "[2001:db8::1]:4321") in
 * a[16] and *fam.  An IPv4-mapped IPv6 address counts as the IPv4
 * address.  Returns 0, or -EINVAL when `remote` holds no address
 * ("local").
 */
int
cidr_remote(const char *remote, unsigned char *a, int *fam)
{
	char host[INET6_ADDRSTRLEN + 1];
	const char *end;
	size_t hl;

	assert(remote != NULL && a != NULL && fam != NULL);
	if (remote[0] == '[') {
		remote++;
		if ((end = strchr(remote, ']')) == NULL)
			return -EINVAL;
	} else
		end = strrchr(remote, ':');
	hl = end ? (size_t)(end - remote) : strlen(remote);
	if (hl >= sizeof(host))
		return -EINVAL;
	memcpy(host, remote, hl);
	host[hl] = '\0';
	memset(a, 0, 16);
	if (inet_pton(AF_INET, host, a) == 1)
		*fam = AF_INET;
	else if (inet_pton(AF_INET6, host, a) == 1) {
		*fam = AF_INET6;
		if (memcmp(a, "\0\0\0\0\0\0\0\0\0\0\xff\xff", 12) == 0) {
			memmove(a, a + 12, 4);
			memset(a + 4, 0, 12);
			*fam = AF_INET;
		}
	} else
		return -EINVAL;
	return 0;
}

/* Is the address a[16] of family `fam` (cidr_remote's) within `c`? */
int
cidr_covers(const struct cidr *c, const unsigned char *a, int fam)
{
	unsigned char m[16];
	size_t len = fam == AF_INET ? 4 : 16;

	assert(c != NULL && a != NULL);
	if (fam != c->family)
		return 0;
	memcpy(m, a, len);
	cidr_mask(m, len, c->prefix);
	return memcmp(m, c->addr, len) == 0;
}

/*
 * Check a list of prefixes, separated by blanks or commas, such as
 * "127.0.0.0/8 ::1": every entry an address with an optional prefix, at
 * most CIDR_LIST_MAX of them.  An empty list is valid (it matches
 * nobody).  Returns 0 or -EINVAL with the reason in err.
 */
int
cidr_list_check(const char *list, char *err, size_t errsz)
{
	struct cidr c;
	size_t n = 0, len;
	int r;

	assert(list != NULL && err != NULL);
	for (list += strspn(list, CIDR_SEP); *list != '\0';
	    list += len, list += strspn(list, CIDR_SEP)) {
		len = strcspn(list, CIDR_SEP);
		if (++n > CIDR_LIST_MAX) {
			snprintf(err, errsz, "more than %d addresses",
			    CIDR_LIST_MAX);
			return -EINVAL;
		}
		if ((r = cidr_parse(&c, list, len, err, errsz)) < 0)
			return r;
		if (r > 0) {
			snprintf(err, errsz, "\"%.*s\" is not an address or "
			    "a prefix (such as 127.0.0.0/8 or ::1)",
			    (int)(len > 64 ? 64 : len), list);
			return -EINVAL;
		}
	}
	return 0;
}

/*
 * Is the address of `remote` (the handler's "address:port") covered by
 * one of the prefixes in `list` (checked by cidr_list_check)?  A remote
 * without an address ("local") is covered by nothing.
 */
int
cidr_list_match(const char *list, const char *remote)
{
	unsigned char a[16];
	char err[8];
	struct cidr c;
	size_t len;
	int fam;

	assert(list != NULL && remote != NULL);
	if (cidr_remote(remote, a, &fam) < 0)
		return 0;
	for (list += strspn(list, CIDR_SEP); *list != '\0';
	    list += len, list += strspn(list, CIDR_SEP)) {
		len = strcspn(list, CIDR_SEP);
		if (cidr_parse(&c, list, len, err, sizeof(err)) == 0 &&
		    cidr_covers(&c, a, fam))
			return 1;
	}
	return 0;
}
