/* SPDX-License-Identifier: ISC */
/*
 * Guarded buffers for the parser tests: guarded(p, len) copies p[0..len)
 * so that it ends exactly where an unreadable page starts, so a parser
 * that reads one byte too far faults (under ASan or not).  Use
 * guard_setup and guard_teardown as the group's setup and teardown.
 * Needs <cmocka.h>, <string.h>, <sys/mman.h> and <unistd.h> first.
 */
#ifndef SB_TEST_GUARD_H
#define SB_TEST_GUARD_H

#define GUARD_PAGES	8	/* readable pages before the guard page */

static unsigned char *guard_base;
static size_t guard_pg;

static int
guard_setup(void **state)
{
	(void)state;
	guard_pg = (size_t)sysconf(_SC_PAGESIZE);
	guard_base = mmap(NULL, (GUARD_PAGES + 1) * guard_pg,
	    PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (guard_base == MAP_FAILED)
		return -1;
	return mprotect(guard_base + GUARD_PAGES * guard_pg, guard_pg,
	    PROT_NONE);
}

static int
guard_teardown(void **state)
{
	(void)state;
	munmap(guard_base, (GUARD_PAGES + 1) * guard_pg);
	return 0;
}

/* A copy of p[0..len) that ends exactly where the unreadable page starts. */
static unsigned char *
guarded(const void *p, size_t len)
{
	unsigned char *d;

	assert_true(len <= GUARD_PAGES * guard_pg);
	d = guard_base + GUARD_PAGES * guard_pg - len;
	if (len > 0)
		memmove(d, p, len);
	return d;
}

#endif
