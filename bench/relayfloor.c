/* SPDX-License-Identifier: ISC */
/*
 * relayfloor: the floor of the relay figure.  A handler and a hub that do
 * nothing but move bytes, in Switchboard's process layout, so that the
 * round trip measures only the hand-offs the design makes:
 *
 *   client -> handler A -> hub -> handler B -> client, and back.
 *
 *   relayfloor hub PATH [copy]   listen on a SOCK_SEQPACKET socket at
 *                                PATH; each datagram goes to every other
 *                                peer (with "copy": and back to its
 *                                sender, as Switchboard copies a private
 *                                message to its sender); a datagram that
 *                                contains "login" is answered with a
 *                                welcome, the one reply wsload waits for.
 *   relayfloor handler           per connection, under systemd-socket-
 *                                activate --inetd, the client on fd 0/1
 *                                and the hub at $SWITCHBOARD_HUB_SOCKET:
 *                                a 101 to any request, then each client
 *                                frame's payload to the hub as one
 *                                datagram and each datagram to the client
 *                                as one text frame.
 *
 * Not a server: no parsing, no limits, no checks beyond what keeps the
 * loop bounded.  Built static on musl, like switchboard-handler.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#define DGRAM_MAX	16384
#define PEERS_MAX	64

static int
unix_addr(struct sockaddr_un *sa, const char *path)
{
	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	if (path == NULL || strlen(path) >= sizeof(sa->sun_path))
		return -1;
	strcpy(sa->sun_path, path);
	return 0;
}

static int
hub(const char *path, int copy)
{
	static char dg[DGRAM_MAX];
	static const char welcome[] = "{\"type\":\"welcome\"}";
	struct epoll_event ev = { .events = EPOLLIN }, evs[16];
	struct sockaddr_un sa;
	int peer[PEERS_MAX], npeer = 0, lfd, ep;

	if (unix_addr(&sa, path) < 0)
		return 2;
	unlink(path);
	if ((lfd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK, 0)) < 0 ||
	    bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    listen(lfd, 64) < 0 || (ep = epoll_create1(0)) < 0) {
		perror("relayfloor hub");
		return 1;
	}
	ev.data.fd = lfd;
	epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev);
	for (;;) {
		int n = epoll_wait(ep, evs, 16, -1);

		for (int i = 0; i < n; i++) {
			int fd = evs[i].data.fd, c;
			ssize_t r;

			if (fd == lfd) {
				if ((c = accept4(lfd, NULL, NULL,
				    SOCK_NONBLOCK)) < 0)
					continue;
				if (npeer == PEERS_MAX) {
					close(c);
					continue;
				}
				peer[npeer++] = c;
				ev.data.fd = c;
				epoll_ctl(ep, EPOLL_CTL_ADD, c, &ev);
				continue;
			}
			while ((r = recv(fd, dg, sizeof(dg), 0)) > 0) {
				if (memmem(dg, (size_t)r, "login", 5) != NULL) {
					send(fd, welcome, sizeof(welcome) - 1, 0);
					continue;
				}
				for (int j = 0; j < npeer; j++)
					if (peer[j] != fd)
						send(peer[j], dg, (size_t)r, 0);
				if (copy)
					send(fd, dg, (size_t)r, 0);
			}
			if (r == 0 || (errno != EAGAIN && errno != EINTR)) {
				close(fd);
				for (int j = 0; j < npeer; j++)
					if (peer[j] == fd)
						peer[j--] = peer[--npeer];
			}
		}
	}
}

/* Write all of p, or fail. */
static int
put(int fd, const void *p, size_t n)
{
	for (size_t o = 0; o < n;) {
		ssize_t w = write(fd, (const char *)p + o, n - o);

		if (w <= 0)
			return -1;
		o += (size_t)w;
	}
	return 0;
}

/*
 * Move the client's complete frames (masked, payload < 64 KiB) in
 * in[0..*have) to the hub; keep a partial one.  -1: close or bad frame.
 */
static int
frames_to_hub(int hfd, unsigned char *in, size_t *have)
{
	size_t off = 0;

	while (*have - off >= 2) {
		unsigned char *f = in + off;
		size_t len = f[1] & 0x7f, hl = 2;

		if (len == 126) {
			if (*have - off < 4)
				break;
			len = (size_t)f[2] << 8 | f[3];
			hl = 4;
		} else if (len == 127 || !(f[1] & 0x80))
			return -1;
		if (*have - off < hl + 4 + len)
			break;
		if ((f[0] & 0x0f) == 8 || len > DGRAM_MAX)
			return -1;
		for (size_t j = 0; j < len; j++)
			f[hl + 4 + j] ^= f[hl + (j & 3)];
		send(hfd, f + hl + 4, len, 0);
		off += hl + 4 + len;
	}
	memmove(in, in + off, *have - off);
	*have -= off;
	return 0;
}

static int
handler(void)
{
	static unsigned char in[65536], dg[4 + DGRAM_MAX];
	static const char ok[] = "HTTP/1.1 101 Switching Protocols\r\n"
	    "Upgrade: websocket\r\nConnection: Upgrade\r\n"
	    "Sec-WebSocket-Accept: floor\r\n\r\n";
	struct epoll_event ev = { .events = EPOLLIN }, evs[2];
	struct sockaddr_un sa;
	size_t have = 0;
	char *end = NULL;
	ssize_t r;
	int hfd, ep;

	if (unix_addr(&sa, getenv("SWITCHBOARD_HUB_SOCKET")) < 0 ||
	    (hfd = socket(AF_UNIX, SOCK_SEQPACKET, 0)) < 0 ||
	    connect(hfd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		return 1;
	while (end == NULL && have < sizeof(in) - 1 &&
	    (r = read(0, in + have, sizeof(in) - 1 - have)) > 0) {
		have += (size_t)r;
		in[have] = '\0';
		end = strstr((char *)in, "\r\n\r\n");
	}
	if (end == NULL || put(1, ok, sizeof(ok) - 1) < 0)
		return 1;
	have -= (size_t)(end + 4 - (char *)in);
	memmove(in, end + 4, have);
	if ((ep = epoll_create1(0)) < 0)
		return 1;
	ev.data.fd = 0;
	epoll_ctl(ep, EPOLL_CTL_ADD, 0, &ev);
	ev.data.fd = hfd;
	epoll_ctl(ep, EPOLL_CTL_ADD, hfd, &ev);
	if (frames_to_hub(hfd, in, &have) < 0)
		return 0;
	for (;;) {
		int n = epoll_wait(ep, evs, 2, -1);

		for (int i = 0; i < n; i++) {
			if (evs[i].data.fd == 0) {
				if ((r = read(0, in + have,
				    sizeof(in) - have)) <= 0)
					return 0;
				have += (size_t)r;
				if (frames_to_hub(hfd, in, &have) < 0 ||
				    have == sizeof(in))
					return 0;
				continue;
			}
			if ((r = recv(hfd, dg + 4, DGRAM_MAX, 0)) <= 0)
				return 0;
			if (r < 126) {
				dg[2] = 0x81;
				dg[3] = (unsigned char)r;
				if (put(1, dg + 2, 2 + (size_t)r) < 0)
					return 0;
			} else {
				dg[0] = 0x81;
				dg[1] = 126;
				dg[2] = (unsigned char)(r >> 8);
				dg[3] = (unsigned char)r;
				if (put(1, dg, 4 + (size_t)r) < 0)
					return 0;
			}
		}
	}
}

int
main(int argc, char *argv[])
{
	if (argc >= 3 && strcmp(argv[1], "hub") == 0)
		return hub(argv[2], argc > 3 && strcmp(argv[3], "copy") == 0);
	if (argc == 2 && strcmp(argv[1], "handler") == 0)
		return handler();
	fprintf(stderr, "usage: relayfloor hub PATH [copy] | "
	    "relayfloor handler\n");
	return 2;
}
