/* SPDX-License-Identifier: ISC */
/*
 * switchboard-hub's command line; the daemon itself is hubd_run()
 * (server.c), and hub/hub.h lists the hub's files by concern.
 *
 *   switchboard-hub [-c CONFIG] [-s PATH] [-C CONTROL-PATH]
 *
 * The listening AF_UNIX SOCK_SEQPACKET sockets come from systemd (the
 * fds named "hub" and "control", or the only one passed) or, when
 * started by hand, are bound at PATH and CONTROL-PATH.  SIGHUP reloads
 * the config; SIGTERM and SIGINT stop.
 *
 * Exit codes: 0 stopped by a signal, 1 a system call failed at start-up,
 * 2 usage or configuration error.
 */
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "hub.h"

static void __attribute__((noreturn))
usage(void)
{
	fprintf(stderr, "usage: switchboard-hub [-c config] [-s socket] "
	    "[-C control-socket]\n");
	exit(2);
}

int
main(int argc, char *argv[])
{
	const char *config = CONFIG_DEFAULT_PATH, *sockpath = NULL;
	const char *ctlpath = NULL;
	int ch, required = 0;

	while ((ch = getopt(argc, argv, "c:s:C:h")) != -1) {
		switch (ch) {
		case 'c':
			config = optarg;
			required = 1;
			break;
		case 's':
			sockpath = optarg;
			break;
		case 'C':
			ctlpath = optarg;
			break;
		default:
			usage();
		}
	}
	if (optind != argc)
		usage();
	/*
	 * Freed memory at the top of the heap goes back to the kernel only
	 * past HUB_TRIM_BYTES, not glibc's 128 KiB.  In a burst every
	 * handler that is behind takes a C_BATCH buffer (hub/send.c); with
	 * the default the heap shrank after each burst and grew again in
	 * the next, a page fault every 5 deliveries at N = 1000, about half
	 * of the hub's CPU in the slow phase (bench/analysis.md, twentieth
	 * session).  The hub keeps what a burst took, up to that much.
	 */
#ifdef __GLIBC__
	mallopt(M_TRIM_THRESHOLD, HUB_TRIM_BYTES);
#endif
	return hubd_run(config, required, sockpath, ctlpath);
}
