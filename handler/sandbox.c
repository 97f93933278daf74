/* SPDX-License-Identifier: ISC */
/*
 * The handler's own system call filter (--sandbox), added to the unit's.
 *
 * All handlers run as one user, and the kernel lets a process signal any
 * other process of its user.  The units' SystemCallFilter= refuses kill()
 * and the calls like it, but it takes or refuses a call whole, and two
 * ways to signal need a look at the arguments:
 *
 *   - tkill() and tgkill(), which abort() needs for the handler itself:
 *     taken only for the handler's own pid;
 *   - naming another process the owner of a file (fcntl F_SETOWN,
 *     F_SETOWN_EX; ioctl FIOSETOWN, SIOCSPGRP), which the kernel then
 *     sends SIGIO or SIGURG, or any signal after F_SETSIG: refused.  The
 *     handler names no owner;
 *   - prlimit64() on another process, whose RLIMIT_CPU would have the
 *     kernel send it SIGKILL: taken only for pid 0 or the handler's own.
 *
 * It also refuses a new process or thread (clone, clone3, fork, vfork):
 * the handler never makes one, and a child would keep the filter with
 * its parent's pid as "itself", free to signal the parent.
 *
 * A refused call fails with EPERM, as under the unit's filter.  The
 * filter is a few classic BPF instructions on the stack (the handler's
 * pid is in it); the kernel keeps its own copy.
 *
 * Memory needs nothing here: reading another process's (process_vm_readv,
 * /proc/PID/mem) also needs the same user namespace or CAP_SYS_PTRACE in
 * the target's, and each handler has a user namespace of its own
 * (PrivateUsers=yes; units.test.sh tries it).
 */
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/syscall.h>

#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <unistd.h>

#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <linux/sockios.h>

#include "handler.h"

#if defined(__x86_64__)
#define SANDBOX_ARCH	AUDIT_ARCH_X86_64
#elif defined(__aarch64__)
#define SANDBOX_ARCH	AUDIT_ARCH_AARCH64
#endif

#ifndef F_SETOWN_EX
#define F_SETOWN_EX	15
#endif

/* aarch64 has neither fork nor vfork (only clone): test clone again. */
#ifdef __NR_fork
#define NR_FORK		__NR_fork
#define NR_VFORK	__NR_vfork
#else
#define NR_FORK		__NR_clone
#define NR_VFORK	__NR_clone
#endif

/* The low half of argument n (what the kernel reads of an int). */
#define ARG_LO(n)	(offsetof(struct seccomp_data, args[n]) + \
			    (__BYTE_ORDER__ == __ORDER_BIG_ENDIAN__ ? 4 : 0))

/* The filter's instructions, by name: a jump names where it goes. */
enum {
	I_ARCH, I_IS_ARCH, I_KILL, I_NR, I_X32, I_CLONE, I_CLONE3, I_FORK,
	I_VFORK, I_IS_FCNTL, I_FCNTL_CMD,
	I_SETOWN, I_SETOWN_EX, I_IS_IOCTL, I_IOCTL_CMD, I_FIOSETOWN,
	I_SIOCSPGRP, I_IS_TKILL, I_IS_TGKILL, I_IS_PRLIMIT, I_LIMIT_PID,
	I_LIMIT_ZERO, I_TARGET, I_SELF, I_ALLOW, I_DENY, I_COUNT
};

/* Instruction `at` of the filter: its position is named once. */
#define LD(at, off)	[at] = BPF_STMT(BPF_LD | BPF_W | BPF_ABS, (off))
#define RET(at, v)	[at] = BPF_STMT(BPF_RET | BPF_K, (v))
/* If A == k (JEQ) or A >= k (JGE), go to `yes`, else to `no` (the offsets
 * count from the next instruction). */
#define JEQ(at, k, yes, no) [at] = \
	BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (k), (yes) - (at) - 1, (no) - (at) - 1)
#define JGE(at, k, yes, no) [at] = \
	BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, (k), (yes) - (at) - 1, (no) - (at) - 1)

/*
 * Install the filter; it holds for the rest of the process's life.
 * Returns 0 or a negative errno (-ENOSYS on an architecture it does not
 * know).
 */
int
sandbox_seal(void)
{
#ifdef SANDBOX_ARCH
	const unsigned self = (unsigned)getpid();
	struct sock_filter code[I_COUNT] = {
		LD(I_ARCH, offsetof(struct seccomp_data, arch)),
		JEQ(I_IS_ARCH, SANDBOX_ARCH, I_NR, I_KILL),
		RET(I_KILL, SECCOMP_RET_KILL_PROCESS),
		LD(I_NR, offsetof(struct seccomp_data, nr)),
		/* x32 calls on x86_64: the handler makes none */
		JGE(I_X32, 0x40000000u, I_DENY, I_CLONE),
		/* no new process or thread */
		JEQ(I_CLONE, __NR_clone, I_DENY, I_CLONE3),
		JEQ(I_CLONE3, __NR_clone3, I_DENY, I_FORK),
		JEQ(I_FORK, NR_FORK, I_DENY, I_VFORK),
		JEQ(I_VFORK, NR_VFORK, I_DENY, I_IS_FCNTL),
		JEQ(I_IS_FCNTL, __NR_fcntl, I_FCNTL_CMD, I_IS_IOCTL),
		LD(I_FCNTL_CMD, ARG_LO(1)),
		JEQ(I_SETOWN, F_SETOWN, I_DENY, I_SETOWN_EX),
		JEQ(I_SETOWN_EX, F_SETOWN_EX, I_DENY, I_ALLOW),
		JEQ(I_IS_IOCTL, __NR_ioctl, I_IOCTL_CMD, I_IS_TKILL),
		LD(I_IOCTL_CMD, ARG_LO(1)),
		JEQ(I_FIOSETOWN, FIOSETOWN, I_DENY, I_SIOCSPGRP),
		JEQ(I_SIOCSPGRP, SIOCSPGRP, I_DENY, I_ALLOW),
		JEQ(I_IS_TKILL, __NR_tkill, I_TARGET, I_IS_TGKILL),
		JEQ(I_IS_TGKILL, __NR_tgkill, I_TARGET, I_IS_PRLIMIT),
		JEQ(I_IS_PRLIMIT, __NR_prlimit64, I_LIMIT_PID, I_ALLOW),
		LD(I_LIMIT_PID, ARG_LO(0)),
		JEQ(I_LIMIT_ZERO, 0, I_ALLOW, I_SELF),
		LD(I_TARGET, ARG_LO(0)),
		JEQ(I_SELF, self, I_ALLOW, I_DENY),
		RET(I_ALLOW, SECCOMP_RET_ALLOW),
		RET(I_DENY, SECCOMP_RET_ERRNO | (EPERM & SECCOMP_RET_DATA)),
	};
	struct sock_fprog prog = { .len = I_COUNT, .filter = code };

	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 ||
	    prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog, 0, 0) < 0)
		return -errno;
	return 0;
#else
	return -ENOSYS;
#endif
}
