/* SPDX-License-Identifier: ISC */
/*
 * spawncost: the wall time of fork + exec + exit + wait of a program,
 * averaged over N runs (stdin /dev/null, stdout/stderr /dev/null), and
 * the minor page faults each run took (from wait4's rusage).
 *
 *   spawncost N PROGRAM [ARG...]
 *   spawncost --cpuid      the cost of one CPUID instruction here
 *   spawncost --loop       the wall time of a fixed CPU loop (50 million
 *                          dependent multiply-adds, no system call, no
 *                          memory traffic): the machine-speed probe's
 *                          second half (bench/run.sh)
 *   spawncost --fault      the cost of one page fault: the first touch of
 *                          each of 2000 fresh anonymous pages (the kernel
 *                          zeroes and maps each one; under a hypervisor
 *                          with shadow page tables, as here, an exit too)
 */
#include <cpuid.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double
now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

int
main(int argc, char *argv[])
{
	long n, faults = 0;
	double t0, best = 1e18, sum = 0;
	int null;

	if (argc == 2 && strcmp(argv[1], "--cpuid") == 0) {
		unsigned a, b, c, d;

		t0 = now_us();
		for (int i = 0; i < 20000; i++) {
			__cpuid_count(7, 0, a, b, c, d);
			__asm__ volatile("" : : "r"(a), "r"(b), "r"(c), "r"(d));
		}
		printf("cpuid_instruction ns=%.0f\n", (now_us() - t0) * 1000 / 20000);
		return 0;
	}
	if (argc == 2 && strcmp(argv[1], "--fault") == 0) {
		const size_t pg = 4096, np = 2000;
		volatile char *p = mmap(NULL, pg * np, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

		if (p == MAP_FAILED)
			return 1;
		t0 = now_us();
		for (size_t i = 0; i < np; i++)
			p[i * pg] = 1;
		printf("page_fault ns=%.0f\n", (now_us() - t0) * 1000 / np);
		return 0;
	}
	if (argc == 2 && strcmp(argv[1], "--loop") == 0) {
		unsigned long long x = 1;

		t0 = now_us();
		for (long i = 0; i < 50000000; i++)
			x = x * 6364136223846793005ULL + 1442695040888963407ULL;
		__asm__ volatile("" : : "r"(x));
		printf("loop ms=%.2f\n", (now_us() - t0) / 1000);
		return 0;
	}
	if (argc < 3) {
		fprintf(stderr, "usage: spawncost N PROGRAM [ARG...]\n");
		return 2;
	}
	n = atol(argv[1]);
	null = open("/dev/null", O_RDWR);
	for (long i = 0; i < n; i++) {
		struct rusage ru;
		int st;
		pid_t p;
		double t;

		t0 = now_us();
		if ((p = fork()) == 0) {
			dup2(null, 0);
			dup2(null, 1);
			dup2(null, 2);
			execv(argv[2], argv + 2);
			_exit(127);
		}
		if (p < 0 || wait4(p, &st, 0, &ru) < 0) {
			perror("spawncost");
			return 1;
		}
		t = now_us() - t0;
		sum += t;
		if (t < best)
			best = t;
		faults += ru.ru_minflt;
	}
	printf("spawn prog=%s runs=%ld mean_us=%.1f min_us=%.1f minflt=%.1f\n",
	    argv[2], n, sum / (double)n, best, (double)faults / (double)n);
	return 0;
}
