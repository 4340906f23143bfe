// SPDX-License-Identifier: GPL-2.0
/*
 * Every entry point an LD_PRELOAD malloc must provide, alignment of what
 * they return, errno rules, mallopt, mallinfo2, malloc_stats and
 * malloc_trim.
 */
#include "shim_test.h"

/* glibc 2.36 links cfree only as a compatibility symbol */
#pragma weak cfree

static int aligned(void *p, size_t a)
{
	return p && ((uintptr_t)p & (a - 1)) == 0;
}

static void stats_child(void *arg)
{
	void *big = malloc(1 << 20);

	(void)arg;
	malloc_stats();
	free(big);
}

TEST(api)
{
	static const size_t sizes[] = { 0, 1, 8, 15, 16, 24, 25, 100, 1000, 1032, 1033, 4000,
					70000, 131072, 500000, 3 << 20 };
	long ps = sysconf(_SC_PAGESIZE);
	struct mallinfo2 mi;
	char buf[4096];
	void *p, *q;
	size_t i, a, big;
	int bad, rc, status;

	bad = 0;
	for (i = 0; i < ARRAY_SIZE(sizes); i++) {
		p = malloc(sizes[i]);
		if (!aligned(p, 16) || malloc_usable_size(p) < sizes[i])
			bad++;
		else
			memset(p, 0x5a, sizes[i]);
		free(p);
	}
	EXPECT_TRUE(!bad)
		TH_LOG("malloc: 16-byte aligned, usable size >= request for 16 sizes");

	p = malloc(1);
	EXPECT_TRUE(malloc_usable_size(p) == 24)
		TH_LOG("malloc(1): minimum chunk, 24 usable bytes");
	free(p);
	p = malloc(200);
	EXPECT_TRUE(malloc_usable_size(p) == 200)
		TH_LOG("malloc(200): usable size 200 (chunk 208)");
	free(p);
	EXPECT_TRUE(malloc_usable_size(NULL) == 0)
		TH_LOG("malloc_usable_size(NULL) == 0");

	bad = 0;
	for (a = 16; a <= (size_t)1 << 20; a <<= 1) {
		for (i = 0; i < 4; i++) {
			size_t n = i * 1000 + 1;

			p = memalign(a, n);
			q = aligned_alloc(a, n);
			if (!aligned(p, a) || !aligned(q, a) || malloc_usable_size(p) < n)
				bad++;
			else
				memset(p, 1, n);
			free(p);
			free(q);
		}
	}
	EXPECT_TRUE(!bad)
		TH_LOG("memalign, aligned_alloc: alignments 16..1 MiB");
	p = memalign(24, 10);
	EXPECT_TRUE(aligned(p, 32))
		TH_LOG("memalign(24): rounded up to 32");
	free(p);

	p = NULL;
	EXPECT_TRUE(posix_memalign(&p, 64, 100) == 0 && aligned(p, 64))
		TH_LOG("posix_memalign(64)");
	free(p);
	errno = 1234;
	q = (void *)1;
	rc = posix_memalign(&q, 24, 100);
	EXPECT_TRUE(rc == EINVAL && q == (void *)1 && errno == 1234)
		TH_LOG("posix_memalign(24): EINVAL, pointer and errno untouched");
	rc = posix_memalign(&q, 0, 100);
	EXPECT_TRUE(rc == EINVAL)
		TH_LOG("posix_memalign(0): EINVAL");
	errno = 1234;
	rc = posix_memalign(&q, 4096, SIZE_MAX - 8192);
	EXPECT_TRUE(rc == ENOMEM && q == (void *)1 && errno == 1234)
		TH_LOG("posix_memalign(huge): ENOMEM, errno untouched");

	p = valloc(10);
	EXPECT_TRUE(aligned(p, ps))
		TH_LOG("valloc: page aligned");
	free(p);
	p = pvalloc(ps + 1);
	EXPECT_TRUE(aligned(p, ps) && malloc_usable_size(p) >= (size_t)(2 * ps))
		TH_LOG("pvalloc: page aligned, rounded to pages");
	free(p);
	p = pvalloc(0);
	EXPECT_TRUE(aligned(p, ps) && malloc_usable_size(p) >= (size_t)ps)
		TH_LOG("pvalloc(0): one page");
	free(p);

	p = calloc(10, 10);
	EXPECT_TRUE(p && !((char *)p)[0] && !((char *)p)[99])
		TH_LOG("calloc(10, 10)");
	free(p);
	p = reallocarray(NULL, 10, 20);
	EXPECT_TRUE(aligned(p, 16) && malloc_usable_size(p) >= 200)
		TH_LOG("reallocarray(NULL, 10, 20)");
	errno = 0;
	q = reallocarray(p, SIZE_MAX / 2, 3);
	EXPECT_TRUE(!q && errno == ENOMEM)
		TH_LOG("reallocarray overflow: NULL, ENOMEM, block kept");
	free(p);

	errno = 0;
	EXPECT_TRUE(!malloc(SIZE_MAX) && errno == ENOMEM)
		TH_LOG("malloc(SIZE_MAX): NULL, ENOMEM");
	errno = 0;
	EXPECT_TRUE(!malloc(SIZE_MAX - 4096) && errno == ENOMEM)
		TH_LOG("malloc(SIZE_MAX - 4096): NULL, ENOMEM");
	errno = 0;
	EXPECT_TRUE(!malloc((size_t)PTRDIFF_MAX + 1) && errno == ENOMEM)
		TH_LOG("malloc(PTRDIFF_MAX + 1): ENOMEM");
	errno = 0;
	EXPECT_TRUE(!calloc(SIZE_MAX / 8, 16) && errno == ENOMEM)
		TH_LOG("calloc overflow: NULL, ENOMEM");
	errno = 0;
	EXPECT_TRUE(!calloc((size_t)1 << 33, (size_t)1 << 33) && errno == ENOMEM)
		TH_LOG("calloc 2^33 x 2^33: NULL, ENOMEM");
	errno = 0;
	p = malloc(8);
	q = realloc(p, SIZE_MAX);
	EXPECT_TRUE(!q && errno == ENOMEM && malloc_usable_size(p) == 24)
		TH_LOG("realloc(p, SIZE_MAX): NULL, ENOMEM, p intact");
	errno = 0;
	EXPECT_TRUE(!memalign(64, SIZE_MAX) && errno == ENOMEM)
		TH_LOG("memalign(64, SIZE_MAX): ENOMEM");
	errno = 0;
	EXPECT_TRUE(!memalign(SIZE_MAX / 2 + 2, 10) && errno == EINVAL)
		TH_LOG("memalign(bad alignment): EINVAL");
	EXPECT_TRUE(!realloc(p, 0))
		TH_LOG("realloc(p, 0) frees, returns NULL");

	bad = 0;
	for (i = 0; i < ARRAY_SIZE(sizes); i++) {
		p = malloc(sizes[i] + 1);
		errno = 4321;
		free(p);
		if (errno != 4321)
			bad++;
	}
	errno = 4321;
	free(NULL);
	EXPECT_TRUE(!bad && errno == 4321)
		TH_LOG("free keeps errno (brk and mmapped chunks, NULL)");

	p = __libc_malloc(40);
	p = __libc_realloc(p, 4000);
	q = __libc_calloc(3, 5);
	EXPECT_TRUE(aligned(p, 16) && q && !((char *)q)[14])
		TH_LOG("__libc_malloc, __libc_realloc, __libc_calloc");
	__libc_free(p);
	__libc_free(q);
	p = __libc_memalign(256, 10);
	q = __libc_valloc(10);
	EXPECT_TRUE(aligned(p, 256) && aligned(q, ps))
		TH_LOG("__libc_memalign, __libc_valloc");
	__libc_free(p);
	__libc_free(q);
	p = __libc_pvalloc(10);
	EXPECT_TRUE(aligned(p, ps))
		TH_LOG("__libc_pvalloc");
	EXPECT_TRUE(!!cfree)
		TH_LOG("cfree exported");
	if (cfree)
		cfree(p);

	EXPECT_TRUE(mallopt(M_MMAP_THRESHOLD, 64 * 1024) == 1)
		TH_LOG("mallopt(M_MMAP_THRESHOLD, 64 KiB) = 1");
	/* as in glibc, free arena memory that fits is used first: ask for more */
	big = mallinfo2().fordblks + 100 * 1024;
	p = malloc(big);
	EXPECT_TRUE(chunk_mmapped(p))
		TH_LOG("... then malloc(more than the arena has free) is mmapped");
	free(p);
	EXPECT_TRUE(mallopt(M_MMAP_THRESHOLD, 64 << 20) == 0)
		TH_LOG("mallopt(M_MMAP_THRESHOLD, 64 MiB) = 0");
	EXPECT_TRUE(mallopt(M_MMAP_THRESHOLD, 128 * 1024) == 1)
		TH_LOG("mallopt(M_MMAP_THRESHOLD, 128 KiB) = 1");
	EXPECT_TRUE(mallopt(M_TRIM_THRESHOLD, 256 * 1024) == 1)
		TH_LOG("mallopt(M_TRIM_THRESHOLD) = 1");
	EXPECT_TRUE(mallopt(M_TOP_PAD, 128 * 1024) == 1)
		TH_LOG("mallopt(M_TOP_PAD) = 1");
	EXPECT_TRUE(mallopt(M_ARENA_MAX, 4) == 1)
		TH_LOG("mallopt(M_ARENA_MAX) = 1");
	EXPECT_TRUE(mallopt(M_MXFAST, 1000) == 0)
		TH_LOG("mallopt(M_MXFAST, 1000) = 0");

	big = mallinfo2().fordblks + (1 << 20);
	p = malloc(big);
	q = malloc(5000);
	mi = mallinfo2();
	EXPECT_TRUE(mi.hblks >= 1 && mi.hblkhd >= big && mi.arena > 0 && mi.uordblks >= 5000 &&
		    mi.uordblks + mi.fordblks == mi.arena && mi.keepcost > 0)
		TH_LOG("mallinfo2: arena %zu, hblks %zu, hblkhd %zu, uordblks %zu, fordblks %zu",
		       mi.arena, mi.hblks, mi.hblkhd, mi.uordblks, mi.fordblks);
	free(p);
	EXPECT_TRUE(mallinfo2().hblkhd == mi.hblkhd - ((big + 24 + 4095) & ~4095UL))
		TH_LOG("mallinfo2: hblkhd drops by the mapping at free");
	EXPECT_TRUE(mallinfo().arena == (int)mallinfo2().arena)
		TH_LOG("mallinfo agrees with mallinfo2");
	free(q);

	status = run_child(stats_child, NULL, buf, sizeof(buf));
	EXPECT_TRUE(WIFEXITED(status) && !strncmp(buf, "Arena 0:\nsystem bytes     = ", 28) &&
		    strstr(buf, "\nin use bytes     = ") &&
		    strstr(buf, "\nTotal (incl. mmap):\n") &&
		    strstr(buf, "\nmax mmap regions = ") && strstr(buf, "\nmax mmap bytes   = "))
		TH_LOG("malloc_stats: glibc's format on stderr");
	EXPECT_NE(NULL, strstr(buf, "max mmap regions =          1\n"))
		TH_LOG("malloc_stats: %%10u columns");

	{
		void *v[64];
		uintptr_t before, after;

		mallopt(M_TRIM_THRESHOLD, 64 << 20);
		for (i = 0; i < 64; i++)
			v[i] = malloc(8000);
		before = cur_brk();
		for (i = 0; i < 64; i++)
			free(v[i]);
		EXPECT_TRUE(cur_brk() == before)
			TH_LOG("no trim with a high M_TRIM_THRESHOLD");
		EXPECT_TRUE(malloc_trim(0) == 1)
			TH_LOG("malloc_trim(0) returns 1 when it released memory");
		after = cur_brk();
		EXPECT_TRUE(after < before)
			TH_LOG("malloc_trim(0) lowers the break (%#lx -> %#lx)",
			       (unsigned long)before, (unsigned long)after);
	}
	EXPECT_TRUE(kml_malloc_check() == 0)
		TH_LOG("kml_malloc_check: every arena consistent at the end");
}

TEST_HARNESS_MAIN
