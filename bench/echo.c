/* SPDX-License-Identifier: ISC */
/*
 * echo: copies stdin to stdout as it arrives, like cat(1) without stdio
 * buffering.  The program websocketd runs per connection for the
 * benchmarks: a static glibc binary, as small as switchboard-handler's
 * own start-up allows, so that the comparison is about the servers.
 */
#include <unistd.h>

int
main(void)
{
	char buf[65536];
	ssize_t r;

	while ((r = read(0, buf, sizeof(buf))) > 0)
		for (ssize_t o = 0, w; o < r; o += w)
			if ((w = write(1, buf + o, (size_t)(r - o))) <= 0)
				return 1;
	return 0;
}
