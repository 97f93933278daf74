/* SPDX-License-Identifier: ISC */
/*
 * Unit tests for handler/sandbox.c, the handler's own system call filter:
 * in a child that installed it, every way to name another process the
 * owner of a file, and tkill/tgkill/prlimit64 on another process, fail
 * with EPERM, as does every way to make a new process (fork, vfork,
 * clone, clone3), while the same calls go through in a child without it; the
 * calls the handler makes still work, and abort() still ends the process
 * with SIGABRT (tkill to itself).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

#include <linux/sockios.h>

#include "../../handler/handler.h"

/* The calls tried in the child, in this order. */
enum {
	C_SETOWN_PARENT, C_SETOWN_SELF, C_SETOWN_EX, C_FIOSETOWN, C_SIOCSPGRP,
	C_TKILL_PARENT, C_TGKILL_PARENT, C_PRLIMIT_PARENT, C_GETFL, C_GETOWN,
	C_FIONREAD, C_TKILL_SELF, C_TGKILL_SELF, C_PRLIMIT_SELF, C_PRLIMIT_0,
	C_FORK, C_VFORK, C_CLONE, C_CLONE3, C_SYS_FORK, C_COUNT
};

/* 0 if the call succeeded, else its errno. */
static int
res(long r)
{
	return r < 0 ? errno : 0;
}

/*
 * What came of a call that makes a process, in the caller: 0 if the new
 * process ran and exited 0, else the call's errno (ECHILD if it ran but
 * did not exit 0).  The new process exits at once.
 */
static int
spawned(pid_t pid)
{
	int st;

	if (pid == 0)
		_exit(0);
	if (pid < 0)
		return errno;
	return waitpid(pid, &st, 0) == pid && WIFEXITED(st) &&
	    WEXITSTATUS(st) == 0 ? 0 : ECHILD;
}

/*
 * Fork; the child installs the filter if `seal`, tries each call and
 * sends what came of it; returns the results in out[].
 */
static void
try_calls(int seal, int out[C_COUNT])
{
	int p[2], st;
	pid_t pid;

	assert_int_equal(pipe(p), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		int r[C_COUNT], sv[2], n, who;
		pid_t v;
		pid_t parent = getppid(), self = getpid();
		struct f_owner_ex ex = { F_OWNER_PID, parent };
		struct rlimit lim;
		/* struct clone_args, version 0: flags, pidfd, child_tid,
		 * parent_tid, exit_signal, stack, stack_size, tls */
		uint64_t cl[8] = { 0, 0, 0, 0, SIGCHLD, 0, 0, 0 };

		if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0 ||
		    (seal && sandbox_seal() < 0))
			_exit(2);
		who = parent;
		r[C_SETOWN_PARENT] = res(fcntl(sv[0], F_SETOWN, parent));
		r[C_SETOWN_SELF] = res(fcntl(sv[0], F_SETOWN, self));
		r[C_SETOWN_EX] = res(fcntl(sv[0], F_SETOWN_EX, &ex));
		r[C_FIOSETOWN] = res(ioctl(sv[0], FIOSETOWN, &who));
		r[C_SIOCSPGRP] = res(ioctl(sv[0], SIOCSPGRP, &who));
		r[C_TKILL_PARENT] = res(syscall(SYS_tkill, parent, 0));
		r[C_TGKILL_PARENT] = res(syscall(SYS_tgkill, parent, parent, 0));
		r[C_PRLIMIT_PARENT] = res(syscall(SYS_prlimit64, parent,
		    RLIMIT_CPU, NULL, &lim));
		r[C_GETFL] = res(fcntl(sv[0], F_GETFL));
		r[C_GETOWN] = res(fcntl(sv[0], F_GETOWN));
		r[C_FIONREAD] = res(ioctl(sv[0], FIONREAD, &n));
		r[C_TKILL_SELF] = res(syscall(SYS_tkill, self, 0));
		r[C_TGKILL_SELF] = res(syscall(SYS_tgkill, self, self, 0));
		r[C_PRLIMIT_SELF] = res(syscall(SYS_prlimit64, self,
		    RLIMIT_CPU, NULL, &lim));
		r[C_PRLIMIT_0] = res(syscall(SYS_prlimit64, 0, RLIMIT_CPU,
		    NULL, &lim));
		r[C_FORK] = spawned(fork());	/* clone, in glibc */
		/* the vfork child may only _exit(): no call before it */
		if ((v = vfork()) == 0)
			_exit(0);
		r[C_VFORK] = spawned(v);
		/* clone as fork: flags (the signal), no new stack */
		r[C_CLONE] = spawned((pid_t)syscall(SYS_clone, SIGCHLD, 0, 0, 0,
		    0));
		r[C_CLONE3] = spawned((pid_t)syscall(SYS_clone3, cl, sizeof(cl)));
#ifdef SYS_fork
		r[C_SYS_FORK] = spawned((pid_t)syscall(SYS_fork));
#else
		r[C_SYS_FORK] = EPERM;	/* aarch64 has no fork */
#endif
		_exit(write(p[1], r, sizeof(r)) == (ssize_t)sizeof(r) ? 0 : 3);
	}
	close(p[1]);
	assert_int_equal(read(p[0], out, sizeof(int) * C_COUNT),
	    (ssize_t)(sizeof(int) * C_COUNT));
	close(p[0]);
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
}

/* Without the filter, every call goes through: the test can fail. */
static void
test_without(void **state)
{
	int r[C_COUNT], i;

	(void)state;
	try_calls(0, r);
	for (i = 0; i < C_COUNT; i++) {
#ifndef SYS_fork
		if (i == C_SYS_FORK)
			continue;
#endif
		/* a kernel before 5.3 (or a container's filter) has no clone3 */
		if (i == C_CLONE3 && r[i] == ENOSYS)
			continue;
		assert_int_equal(r[i], 0);
	}
}

static void
test_sealed(void **state)
{
	int r[C_COUNT];

	(void)state;
	try_calls(1, r);
	/* no owner for a file, not even itself; no tkill to another */
	assert_int_equal(r[C_SETOWN_PARENT], EPERM);
	assert_int_equal(r[C_SETOWN_SELF], EPERM);
	assert_int_equal(r[C_SETOWN_EX], EPERM);
	assert_int_equal(r[C_FIOSETOWN], EPERM);
	assert_int_equal(r[C_SIOCSPGRP], EPERM);
	assert_int_equal(r[C_TKILL_PARENT], EPERM);
	assert_int_equal(r[C_TGKILL_PARENT], EPERM);
	assert_int_equal(r[C_PRLIMIT_PARENT], EPERM);
	/* no new process: it would keep the filter, the parent's pid as
	 * "itself" */
	assert_int_equal(r[C_FORK], EPERM);
	assert_int_equal(r[C_VFORK], EPERM);
	assert_int_equal(r[C_CLONE], EPERM);
	assert_int_equal(r[C_CLONE3], EPERM);
	assert_int_equal(r[C_SYS_FORK], EPERM);
	/* what the handler does still works */
	assert_int_equal(r[C_GETFL], 0);
	assert_int_equal(r[C_GETOWN], 0);
	assert_int_equal(r[C_FIONREAD], 0);
	assert_int_equal(r[C_TKILL_SELF], 0);
	assert_int_equal(r[C_TGKILL_SELF], 0);
	assert_int_equal(r[C_PRLIMIT_SELF], 0);
	assert_int_equal(r[C_PRLIMIT_0], 0);
}

/* abort() under the filter: SIGABRT, as without it. */
static void
test_abort(void **state)
{
	pid_t pid;
	int st;

	(void)state;
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		if (sandbox_seal() < 0)
			_exit(2);
		abort();
	}
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFSIGNALED(st));
	assert_int_equal(WTERMSIG(st), SIGABRT);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_without),
		cmocka_unit_test(test_sealed),
		cmocka_unit_test(test_abort),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
