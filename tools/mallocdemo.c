// SPDX-License-Identifier: GPL-2.0
/*
 * mallocdemo - the seed notes' malloc experiments, measured. Run it plain
 * (glibc's malloc, on the real brk and mmap) and under
 * LD_PRELOAD=libkmemlab-malloc.so (on kmemlab's heap) to compare:
 *
 *   1. malloc(1) on a fresh heap: how far the break moves, where the block is;
 *   2. malloc'd memory becomes resident only when touched;
 *   3. a 128 KiB request: from the heap or its own mapping; what free does;
 *   4. freed heap memory stays with malloc and is reused;
 *   5. more than 128 KiB free at the top of the heap is trimmed;
 *   6. free(p) finds the size in the header 16 bytes before p.
 *
 * The first two run before anything else can allocate (stdio buffers
 * included); their results are printed after. The shim's functions are
 * weak references, bound only when it is preloaded.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

void *kml_sbrk(intptr_t increment);
const char *kml_malloc_backend(void);
#pragma weak kml_sbrk
#pragma weak kml_malloc_backend

static int on_kmemlab;

/* The break malloc moves: its kmemlab heap's, or the process's own. */
static uintptr_t brk_now(void)
{
	return on_kmemlab ? (uintptr_t)kml_sbrk(0) : (uintptr_t)syscall(SYS_brk, 0);
}

/* Pages of [p, p + len) that are resident (mapped in this process). */
static long resident(const void *p, size_t len)
{
	uintptr_t first = (uintptr_t)p & ~4095UL, end = ((uintptr_t)p + len + 4095) & ~4095UL;
	unsigned char vec[256];
	long n = 0;
	size_t i;

	if ((end - first) / 4096 > sizeof(vec) || mincore((void *)first, end - first, vec))
		return -1;
	for (i = 0; i < (end - first) / 4096; i++)
		n += vec[i] & 1;
	return n;
}

static int mapped(const void *p)
{
	unsigned char vec;

	return mincore((void *)((uintptr_t)p & ~4095UL), 4096, &vec) == 0 || errno != ENOMEM;
}

int main(void)
{
	uintptr_t b0, b1, b, top, hdr;
	char *p, *q, *v[100];
	long r1, r2;
	size_t word;
	int i;

	on_kmemlab = kml_malloc_backend && kml_sbrk && !strcmp(kml_malloc_backend(), "kmemlab");
	b0 = brk_now();
	p = malloc(1);
	b1 = brk_now();
	q = malloc(100 << 10);
	r1 = resident(q, 100 << 10);
	memset(q, 1, 100 << 10);
	r2 = resident(q, 100 << 10);
	printf("malloc: %s\n", !kml_malloc_backend ? "glibc" : on_kmemlab ?
	       "libkmemlab-malloc on kmemlab's heap" : "libkmemlab-malloc on the real brk");
	printf("1. malloc(1) on a fresh heap: the break moves by %lu bytes (%lu KiB);"
	       " the block is at heap start + %lu\n",
	       (unsigned long)(b1 - b0), (unsigned long)(b1 - b0) >> 10,
	       (unsigned long)((uintptr_t)p - b0));
	printf("2. malloc(100 KiB) from the heap: %ld of its pages resident (mincore);"
	       " after writing all of it %ld\n", r1, r2);
	free(q);

	b = brk_now();
	q = malloc(128 << 10);
	memset(q, 1, 128 << 10);
	printf("3. malloc(128 KiB) = %p: %s; the break %s\n", (void *)q,
	       (uintptr_t)q >= b0 && (uintptr_t)q < brk_now() ? "inside the heap" :
	       "its own mapping, outside the heap", brk_now() == b ? "did not move" : "moved");
	free(q);
	printf("   after free: its pages are %s\n",
	       mapped(q) ? "still mapped (kept by malloc)" :
	       "unmapped: back to the system at once");

	q = malloc(1000);
	free(q);
	b = brk_now();
	p = malloc(1000);
	printf("4. malloc(1000), free, malloc(1000): the same block again: %s; the break %s\n",
	       p == q ? "yes" : "no", brk_now() == b ? "did not move" : "moved");
	free(p);

	b = brk_now();
	for (i = 0; i < 100; i++)
		v[i] = malloc(4000);
	top = brk_now();
	for (i = 99; i >= 0; i--)
		free(v[i]);
	printf("5. 100 blocks of 4000 bytes move the break up by %lu KiB;"
	       " freeing them all brings it down by %lu KiB (trimmed at the top)\n",
	       (unsigned long)(top - b) >> 10, (unsigned long)(top - brk_now()) >> 10);

	p = malloc(100);
	/* Hide p's origin from the compiler, which knows nothing of headers. */
	hdr = (uintptr_t)p - sizeof(word);
	__asm__("" : "+r"(hdr));
	memcpy(&word, (void *)hdr, sizeof(word));
	printf("6. p = malloc(100): the chunk header starts at p - 16; at p - 8: %#zx,\n",
	       word);
	printf("   a %zu-byte chunk, flags %zu (1: previous chunk in use): free(p) reads it.\n",
	       word & ~(size_t)7, word & 7);
	free(p);
	return 0;
}
