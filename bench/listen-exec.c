/* SPDX-License-Identifier: ISC */
/*
 * listen-exec: open a TCP listening socket the way switchboard.socket
 * configures it (NoDelay=yes, Backlog=SOMAXCONN, ReuseAddress) and exec a
 * program with it as fd 3 and LISTEN_FDS=1, LISTEN_PID=$$: the protocol of
 * sd_listen_fds(3).  systemd-socket-activate takes such sockets over, so
 *
 *   listen-exec 127.0.0.1 PORT systemd-socket-activate -a --inetd ... HANDLER
 *
 * runs the handlers on connections that have TCP_NODELAY, as under
 * systemd (accepted sockets inherit it from the listener).  Without it
 * a handler's small writes wait for the client's delayed ACK (40 ms).
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int
main(int argc, char *argv[])
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	char pid[24];
	int fd, one = 1;

	if (argc < 4) {
		fprintf(stderr, "usage: listen-exec ADDR PORT PROGRAM [ARG...]\n");
		return 2;
	}
	sa.sin_port = htons((unsigned short)atoi(argv[2]));
	if (inet_pton(AF_INET, argv[1], &sa.sin_addr) != 1) {
		fprintf(stderr, "listen-exec: bad address %s\n", argv[1]);
		return 2;
	}
	if ((fd = socket(AF_INET, SOCK_STREAM, 0)) < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) < 0 ||
	    bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    listen(fd, SOMAXCONN) < 0) {
		perror("listen-exec");
		return 1;
	}
	if (fd != 3 && (dup2(fd, 3) < 0 || close(fd) < 0)) {
		perror("listen-exec: dup2");
		return 1;
	}
	snprintf(pid, sizeof(pid), "%d", (int)getpid());
	setenv("LISTEN_FDS", "1", 1);
	setenv("LISTEN_PID", pid, 1);
	execvp(argv[3], argv + 3);
	perror(argv[3]);
	return 127;
}
