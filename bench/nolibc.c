/* SPDX-License-Identifier: ISC */
/*
 * nolibc: a static program without libc start-up (no CPUID probing, no
 * IRELATIVE relocations, no TLS set-up): _start calls exit_group.  The
 * floor of fork + exec on this machine, for bench/handler-cost.sh, and
 * bench/run.sh's machine-speed probe.
 */
void _start(void) __attribute__((noreturn));

void
_start(void)
{
	__asm__ volatile("mov $231, %eax\n\txor %edi, %edi\n\tsyscall");
	__builtin_unreachable();
}
