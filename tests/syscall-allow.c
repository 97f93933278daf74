/* SPDX-License-Identifier: ISC */
/*
 * syscall-allow DEFAULTS LIST PROGRAM [ARG...]: run PROGRAM under a system
 * call allow-list, the one the handler's units give it, with libseccomp.
 *
 * Both files name system calls, blank separated, with comments from '#'
 * to the end of a line.  LIST is units/handler.syscalls: a name there that
 * libseccomp does not know is an error (a typo would quietly take a call
 * away from the unit).  DEFAULTS is systemd's "@default" set
 * (systemd-analyze syscall-filter @default, as tests/run-checks.sh writes
 * it), which SystemCallFilter= adds to every allow-list.  Calls of other
 * architectures only (mmap2, the *_time64 calls; open on aarch64) are
 * skipped in both, as the kernel would never see them here.
 *
 * A call that is not in the list kills the process (SIGSYS), where the
 * unit would have it fail with EPERM: a test that runs the handler under
 * this fails at the call the list forgot, instead of passing while the
 * handler quietly does less.  The kernel logs each such kill with the
 * call's number (audit type 1326 in dmesg).
 *
 * syscall-allow --name NR: the name of call NR (for the kernel's log).
 *
 * Only for the tests: make check builds it as build/syscall-allow.
 */
#include <errno.h>
#include <seccomp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int
allow_list(scmp_filter_ctx ctx, const char *path, int strict)
{
	char word[64];
	FILE *f = fopen(path, "r");
	int c, n = 0, len = 0, comment = 0;

	if (!f) {
		fprintf(stderr, "syscall-allow: %s: %s\n", path, strerror(errno));
		return -1;
	}
	do {
		c = getc(f);
		if (c == '#')
			comment = 1;
		if (c == EOF || c == ' ' || c == '\t' || c == '\n' || comment) {
			if (c == '\n')
				comment = 0;
			if (len == 0)
				continue;
			word[len] = '\0';
			len = 0;
			int nr = seccomp_syscall_resolve_name(word);
			if (nr == __NR_SCMP_ERROR && strict) {
				fprintf(stderr, "syscall-allow: %s: %s is no system call\n",
				    path, word);
				fclose(f);
				return -1;
			}
			/* a call of other architectures only: skipped */
			if (nr == __NR_SCMP_ERROR || nr < 0)
				continue;
			if (seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 0) < 0) {
				fprintf(stderr, "syscall-allow: %s: cannot add %s\n",
				    path, word);
				fclose(f);
				return -1;
			}
			n++;
		} else if (len + 1 < (int)sizeof(word)) {
			word[len++] = (char)c;
		} else {
			fprintf(stderr, "syscall-allow: %s: a name longer than %zu\n",
			    path, sizeof(word) - 1);
			fclose(f);
			return -1;
		}
	} while (c != EOF);
	fclose(f);
	if (n == 0) {
		fprintf(stderr, "syscall-allow: %s: no system call named\n", path);
		return -1;
	}
	return 0;
}

int
main(int argc, char **argv)
{
	if (argc == 3 && strcmp(argv[1], "--name") == 0) {
		char *name = seccomp_syscall_resolve_num_arch(SCMP_ARCH_NATIVE,
		    atoi(argv[2]));
		printf("%s\n", name ? name : "?");
		free(name);
		return name ? 0 : 1;
	}
	if (argc < 4) {
		fprintf(stderr, "usage: syscall-allow DEFAULTS LIST PROGRAM [ARG...]\n"
		    "       syscall-allow --name NR\n");
		return 2;
	}
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_KILL_PROCESS);
	if (!ctx) {
		fprintf(stderr, "syscall-allow: seccomp_init failed\n");
		return 1;
	}
	if (allow_list(ctx, argv[1], 0) < 0 || allow_list(ctx, argv[2], 1) < 0 ||
	    seccomp_attr_set(ctx, SCMP_FLTATR_CTL_LOG, 1) < 0)
		return 1;
	int r = seccomp_load(ctx);
	if (r < 0) {
		fprintf(stderr, "syscall-allow: seccomp_load: %s\n", strerror(-r));
		return 1;
	}
	execv(argv[3], argv + 3);
	fprintf(stderr, "syscall-allow: %s: %s\n", argv[3], strerror(errno));
	return 127;
}
