/* SPDX-License-Identifier: ISC */
/*
 * tls-nofree: an experiment for bench/tls-cost.sh, not an allocator to
 * use.  malloc() takes from one static 8 MiB arena and free() keeps
 * everything, so a process started for one handshake never calls mmap()
 * or munmap() for its heap.  Linked into tls-srv-gnutls-nofree, it
 * shows what musl's malloc, which hands freed memory back to the kernel
 * early, costs GnuTLS (docs/tls.md).  A static musl program may replace
 * malloc() this way.
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define ARENA	(8u << 20)
#define ALIGN	16

static _Alignas(ALIGN) unsigned char arena[ARENA];
static size_t top;

/* Each block is preceded by its size, in the ALIGN bytes before it. */
void *
malloc(size_t n)
{
	unsigned char *p;

	if (n > ARENA)
		goto nomem;
	n = (n + ALIGN - 1) & ~(size_t)(ALIGN - 1);
	if (ARENA - top < n + ALIGN)
		goto nomem;
	p = arena + top + ALIGN;
	memcpy(p - sizeof(size_t), &n, sizeof(n));
	top += n + ALIGN;
	return p;
nomem:
	errno = ENOMEM;
	return NULL;
}

void
free(void *p)
{
	(void)p;
}

size_t
malloc_usable_size(void *p)
{
	size_t n;

	if (p == NULL)
		return 0;
	memcpy(&n, (unsigned char *)p - sizeof(n), sizeof(n));
	return n;
}

/* The arena starts zeroed and nothing is reused: no memset().  (With
 * one, GCC would turn malloc() + memset() into a call to calloc().) */
void *
calloc(size_t a, size_t b)
{
	if (b != 0 && a > (size_t)-1 / b) {
		errno = ENOMEM;
		return NULL;
	}
	return malloc(a * b);
}

void *
realloc(void *old, size_t n)
{
	size_t have = malloc_usable_size(old);
	void *p;

	if (old != NULL && n <= have)
		return old;
	if ((p = malloc(n)) != NULL && old != NULL)
		memcpy(p, old, have);
	return p;
}

/* A block of n bytes at a multiple of align (a power of two); its size
 * is stored before it, as malloc() does, so realloc() works on it. */
void *
aligned_alloc(size_t align, size_t n)
{
	unsigned char *p, *q;

	if (align <= ALIGN)
		return malloc(n);
	if (n > ARENA || (p = malloc(n + align)) == NULL)
		return NULL;
	q = (unsigned char *)(((uintptr_t)p + align - 1) & ~(uintptr_t)(align - 1));
	memcpy(q - sizeof(n), &n, sizeof(n));
	/* p is inside the arena and never freed: that is the experiment. */
	// cppcheck-suppress memleak
	return q;
}

void *
memalign(size_t align, size_t n)
{
	return aligned_alloc(align, n);
}

int
posix_memalign(void **res, size_t align, size_t n)
{
	void *p = aligned_alloc(align, n);

	if (p == NULL)
		return ENOMEM;
	*res = p;
	return 0;
}
