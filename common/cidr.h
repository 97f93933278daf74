/* SPDX-License-Identifier: ISC */
/*
 * Addresses and address prefixes (CIDR): "192.0.2.7", "192.0.2.0/24",
 * "2001:db8::/32".  Shared by the hub (address bans, failed-login
 * throttling) and the handler (metrics_from, which decides who may read
 * /metrics), so both read an address the same way.  Pure: inet_pton(3)
 * and arithmetic, no I/O, no allocation.
 *
 * A client address ("remote") is the handler's "address:port" form,
 * "192.0.2.7:4321" or "[2001:db8::1]:4321"; an IPv4-mapped IPv6 address
 * (::ffff:192.0.2.7, what a dual-stack socket reports for an IPv4
 * client) counts as the IPv4 address.
 */
#ifndef SB_CIDR_H
#define SB_CIDR_H

#include <stddef.h>

#define CIDR_TEXT_MAX	49	/* "ffff:...:ffff/128": INET6_ADDRSTRLEN + 4 */
#define CIDR_LIST_MAX	32	/* prefixes in one list (metrics_from) */

struct cidr {
	int		 family;	/* AF_INET or AF_INET6 */
	unsigned char	 addr[16];	/* network order, host bits zero */
	unsigned	 prefix;	/* leading bits that must match */
};

/* cidr.c */
int	cidr_parse(struct cidr *, const char *, size_t, char *, size_t);
void	cidr_mask(unsigned char *, size_t, unsigned);
int	cidr_remote(const char *, unsigned char *, int *);
int	cidr_covers(const struct cidr *, const unsigned char *, int);
int	cidr_list_check(const char *, char *, size_t);
int	cidr_list_match(const char *, const char *);

#endif /* SB_CIDR_H */
