/* SPDX-License-Identifier: ISC */
/*
 * The memory floor of an idle connection in Switchboard's design: the
 * smallest process per connection, static musl like the handler, that
 * holds a TCP connection (fd 0, as systemd-socket-activate --inetd gives
 * it) and a Unix datagram socket (the hub link: a socketpair here),
 * registered in an epoll set, and blocks in epoll_wait.  Its PSS, summed
 * over many, is what a handler cannot go under (bench/analysis.md,
 * "Memory per idle connection"); bench/idlefloor.sh measures it.
 * Without a socket on fd 0 it makes a TCP connection of its own (to the
 * port in argv[1], on 127.0.0.1).
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <stdlib.h>
#include <unistd.h>

int
main(int argc, char *argv[])
{
	struct epoll_event ev = { .events = EPOLLIN };
	int sv[2], ep, tcp = 0;

	if (argc > 1) {
		struct sockaddr_in a = { .sin_family = AF_INET,
		    .sin_port = htons((unsigned short)atoi(argv[1])),
		    .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };

		if ((tcp = socket(AF_INET, SOCK_STREAM, 0)) < 0 ||
		    connect(tcp, (struct sockaddr *)&a, sizeof(a)) < 0)
			return 1;
	}
	if (socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv) < 0 ||
	    (ep = epoll_create1(0)) < 0)
		return 1;
	ev.data.fd = tcp;
	if (epoll_ctl(ep, EPOLL_CTL_ADD, tcp, &ev) < 0)
		return 1;
	ev.data.fd = sv[0];
	if (epoll_ctl(ep, EPOLL_CTL_ADD, sv[0], &ev) < 0)
		return 1;
	for (;;) {
		struct epoll_event got[2];
		int n = epoll_wait(ep, got, 2, -1);

		for (int i = 0; i < n; i++) {
			char b[512];

			if (read(got[i].data.fd, b, sizeof(b)) <= 0)
				return 0;
		}
	}
}
