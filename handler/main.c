/* SPDX-License-Identifier: ISC */
/*
 * switchboard-handler: the process.  It finds its client connection and
 * its hub, sets up one connection's state, and hands it to the event loop
 * (loop.c); handler.h says which file does what.
 *
 *   switchboard-handler [--proxy | --tls] [--syslog] [--sandbox]
 *       [-s HUB_SOCKET]
 *   switchboard-handler --version
 *
 * The client connection is fd 3 when systemd passes it (LISTEN_FDS=1 for
 * this pid), else stdin/stdout (inetd style, StandardInput=socket).  The
 * hub is found at -s PATH, $SWITCHBOARD_HUB_SOCKET, or
 * /run/switchboard/hub.sock.  The client's address comes from
 * REMOTE_ADDR/REMOTE_PORT, else getpeername().
 *
 * --proxy: the connection comes from a proxy (switchboard-proxied.socket):
 * a PROXY protocol header, v1 or v2, must come first, from an address in
 * proxy_from, and gives the client's address (client_io.c).
 *
 * --tls: the connection is TLS (switchboard-tls.socket, port 443): the
 * handler gets the certificate chain from the hub, which holds the key
 * and signs each handshake for it (tls.c), and then serves what it
 * decrypts as on port 80.
 *
 * --syslog: the handler's own failures (the hub logs its events) go to
 * syslog(3), a datagram to /dev/log, instead of stderr.  The units set it
 * with StandardError=null: journald then keeps no stream open for each
 * connection, of the 4096 it takes in all (docs/deployment.md).
 *
 * --sandbox: before anything else, add the handler's own system call
 * filter to the unit's (sandbox.c): no signals to other processes.
 *
 * --version prints the handler's version and those of the libraries linked
 * into it (version.c) and exits.
 *
 * Exit codes: 0 the connection ended normally, 1 a system call failed,
 * 2 usage error.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "handler.h"

/* stdin and stdout are often one socket: set the flag once. */
static int
set_nonblock(int fd)
{
	int fl = fcntl(fd, F_GETFL);

	if (fl < 0)
		return -1;
	return fl & O_NONBLOCK ? 0 : fcntl(fd, F_SETFL, fl | O_NONBLOCK);
}

static void __attribute__((noreturn))
usage(void)
{
	fprintf(stderr, "usage: switchboard-handler [--proxy | --tls] "
	    "[--syslog] [--sandbox]\n"
	    "       [-s hub-socket]\n"
	    "       switchboard-handler --version\n");
	exit(2);
}

/* The command line's options. */
struct opts {
	const char	*hub_path;
	int		 proxy, tls, use_syslog, sandbox, version;
};

static void
parse_opts(int argc, char *argv[], struct opts *o)
{
	static const struct option longopts[] = {
		{ "proxy", no_argument, NULL, 'p' },
		{ "tls", no_argument, NULL, 't' },
		{ "syslog", no_argument, NULL, 'L' },
		{ "sandbox", no_argument, NULL, 'S' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	int ch;

	while ((ch = getopt_long(argc, argv, "s:", longopts, NULL)) != -1) {
		switch (ch) {
		case 'p':
			o->proxy = 1;
			break;
		case 't':
			o->tls = 1;
			break;
		case 'L':
			o->use_syslog = 1;
			break;
		case 'S':
			o->sandbox = 1;
			break;
		case 's':
			o->hub_path = optarg;
			break;
		case 'V':
			o->version = 1;
			break;
		default:
			usage();
		}
	}
	if (optind != argc || (o->proxy && o->tls))
		usage();
}

int
main(int argc, char *argv[])
{
	static struct conn c;
	const char *lfds = getenv("LISTEN_FDS"), *lpid = getenv("LISTEN_PID");
	struct opts o = { .hub_path = getenv("SWITCHBOARD_HUB_SOCKET") };
	const char *hub_path;
	enum sb_log_to to;
	int in_fd = 0, out_fd = 1, r;
	uint64_t now;

	parse_opts(argc, argv, &o);
	hub_path = o.hub_path;
	if (o.version)
		return version_print(stdout) == 0 ? 0 : 1;
	if (o.use_syslog)
		to = SB_LOG_SYSLOG;
	else if (getenv("JOURNAL_STREAM") != NULL)
		to = SB_LOG_JOURNAL_STREAM;
	else
		to = SB_LOG_STDERR;
	sb_log_init("switchboard-handler", to);
	if (o.sandbox && (r = sandbox_seal()) < 0) {
		sb_log(LOG_ERR, "--sandbox: cannot add the system call "
		    "filter: %s", strerror(-r));
		return 1;
	}
	if (hub_path == NULL || *hub_path == '\0')
		hub_path = CONFIG_HUB_SOCKET;
	/* sd_listen_fds() without libsystemd: one fd, passed to us. */
	if (lfds != NULL && lpid != NULL && strcmp(lfds, "1") == 0 &&
	    strtol(lpid, NULL, 10) == (long)getpid()) {
		in_fd = out_fd = 3;
		fcntl(3, F_SETFD, FD_CLOEXEC);
	}
	signal(SIGPIPE, SIG_IGN);
	/*
	 * Freed memory at the top of the heap goes back to the kernel past
	 * 16 KiB (not glibc's 128 KiB), large buffers are mmap'd and given
	 * back when freed: an idle handler should hold what it uses now,
	 * not its peak.  musl has no mallopt(): its allocator gives whole
	 * freed pages back by itself (madvise, munmap of empty groups).
	 */
#ifdef __GLIBC__
	mallopt(M_TRIM_THRESHOLD, HANDLER_TRIM_BYTES);
	mallopt(M_TOP_PAD, 0);
	mallopt(M_MMAP_THRESHOLD, 64 * 1024);
#endif
	if (set_nonblock(in_fd) < 0 || set_nonblock(out_fd) < 0) {
		sb_log(LOG_ERR, "no client connection on %s: %s",
		    in_fd == 3 ? "fd 3" : "stdin", strerror(errno));
		return 1;
	}

	config_handler_defaults(&c.cfg);	/* on zeros: few pages written */
	hublink_init(&c, hub_path);
	/* Without a hub the client still gets an answer of its own kind. */
	if (hublink_connect(&c) < 0)
		sb_log(LOG_ERR, "%s", c.hub.error);
	/* outq_max and proxy_from are the hub's */
	client_io_init(&c, in_fd, out_fd, o.proxy);
	now = now_ms();
	modes_start(&c, now);
	chat_init(&c, now);
	if (o.tls && client_io_tls(&c, now) < 0) {
		if (!hublink_up(&c))
			sb_log(LOG_ERR, "%s", c.io.refused);
		loop_client_refused(&c);
	}
	return loop_run(&c);
}
