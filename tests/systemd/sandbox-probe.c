/* SPDX-License-Identifier: ISC */
/*
 * sandbox-probe kill|environ PID: what a process in a handler's sandbox
 * can do to the handler PID.  units.test.sh builds it static with musl
 * (as the handler is) and runs it as copies of switchboard@.service whose
 * only change is the ExecStart= line, so it runs under the handler's
 * exact system call allow-list: it makes no call that the handler does
 * not make (execve, open, read, write, close, exit), but the one tried.
 *
 * It prints its own "Seccomp_filters:" line of /proc/self/status (to
 * compare with the handler's), then:
 *   kill PID      kill(PID, 0): exit 0 if allowed, 1 if refused
 *   environ PID   open /proc/PID/environ: exit 0 if opened, 1 if not;
 *                 3 if it cannot open its own (the test would prove
 *                 nothing)
 * Exit 2: usage, or no status line.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void
say(const char *s)
{
	ssize_t n = write(1, s, strlen(s));
	(void)n;
}

static int
seccomp_line(void)
{
	char buf[4096], *p, *e;
	int fd = open("/proc/self/status", O_RDONLY | O_CLOEXEC);
	ssize_t n = fd < 0 ? -1 : read(fd, buf, sizeof(buf) - 1);

	if (fd >= 0)
		close(fd);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	if ((p = strstr(buf, "Seccomp_filters:")) == NULL)
		return -1;
	if ((e = strchr(p, '\n')) != NULL)
		e[1] = '\0';
	say(p);
	return 0;
}

int
main(int argc, char **argv)
{
	char path[64];
	long pid;
	int fd;

	if (argc != 3 || (pid = strtol(argv[2], NULL, 10)) <= 0)
		return 2;
	if (seccomp_line() < 0)
		return 2;
	if (strcmp(argv[1], "kill") == 0) {
		if (kill((pid_t)pid, 0) == 0) {
			say("kill: allowed\n");
			return 0;
		}
		say(errno == EPERM ? "kill: EPERM\n" : "kill: refused\n");
		return 1;
	}
	if (strcmp(argv[1], "environ") == 0) {
		if ((fd = open("/proc/self/environ", O_RDONLY | O_CLOEXEC)) < 0)
			return 3;
		close(fd);
		snprintf(path, sizeof(path), "/proc/%ld/environ", pid);
		if ((fd = open(path, O_RDONLY | O_CLOEXEC)) >= 0) {
			say("environ: opened\n");
			close(fd);
			return 0;
		}
		say("environ: refused\n");
		return 1;
	}
	return 2;
}
