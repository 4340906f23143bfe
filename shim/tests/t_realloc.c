// SPDX-License-Identifier: GPL-2.0
/* realloc: grow and shrink in place, into the top, into a free neighbour, and moves. */
#include "shim_test.h"

static void fill(unsigned char *p, size_t n, unsigned int seed)
{
	size_t i;

	for (i = 0; i < n; i++)
		p[i] = (unsigned char)(seed + i * 7);
}

static int check(const unsigned char *p, size_t n, unsigned int seed)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (p[i] != (unsigned char)(seed + i * 7))
			return 0;
	return 1;
}

TEST(realloc_cases)
{
	unsigned char *p, *q, *r, *guard;
	size_t n, prev;
	int bad;

	mallopt(M_MXFAST, 0);	/* freed neighbours merge at once */

	p = realloc(NULL, 100);
	EXPECT_TRUE(p && malloc_usable_size(p) >= 100)
		TH_LOG("realloc(NULL, n) is malloc");
	fill(p, 100, 1);

	q = realloc(p, 50);
	EXPECT_TRUE(q == p && check(q, 50, 1))
		TH_LOG("shrink 100 -> 50: in place, contents kept");
	p = malloc(5000);
	/* too big for the tcache: its free below merges all into the top */
	guard = malloc(2000);
	fill(p, 5000, 2);
	q = realloc(p, 1000);
	EXPECT_TRUE(q == p && check(q, 1000, 2) && malloc_usable_size(q) < 1100)
		TH_LOG("shrink 5000 -> 1000: in place, tail given back");
	r = malloc(3000);
	EXPECT_TRUE(r == p + 1008)
		TH_LOG("the given-back tail is reused (%p vs %p)", (void *)r, (void *)(p + 1008));
	free(r);

	/* grow into a free neighbour */
	q = realloc(p, 3000);
	EXPECT_TRUE(q == p && check(q, 1000, 2))
		TH_LOG("grow 1000 -> 3000 into the free neighbour: in place");
	free(q);
	free(guard);

	/* grow into the top */
	p = malloc(2000);
	fill(p, 2000, 3);
	q = realloc(p, 60000);
	EXPECT_TRUE(q == p && check(q, 2000, 3))
		TH_LOG("grow into the top chunk: in place (%p -> %p)", (void *)p, (void *)q);
	p = q;

	/* grow blocked by an in-use neighbour: moves */
	guard = malloc(32);
	fill(p, 60000, 4);
	q = realloc(p, 100000);
	EXPECT_TRUE(q && q != p && check(q, 60000, 4))
		TH_LOG("grow past an in-use neighbour: moves, contents kept");
	free(q);
	free(guard);

	/* mmapped chunks */
	p = malloc(4 << 20);
	EXPECT_TRUE(chunk_mmapped(p))
		TH_LOG("4 MiB is mmapped");
	fill(p, 4 << 20, 5);
	q = realloc(p, (4 << 20) - 100);
	EXPECT_TRUE(q == p)
		TH_LOG("mmapped shrink by a little: same block");
	q = realloc(p, 8 << 20);
	EXPECT_TRUE(q && check(q, 4 << 20, 5))
		TH_LOG("mmapped grow 4 -> 8 MiB: contents kept");
	p = realloc(q, 1000);
	EXPECT_TRUE(p && check(p, 1000, 5) && !chunk_mmapped(p))
		TH_LOG("mmapped shrink to 1000: into the heap");
	free(p);

	/* many sizes, up and down */
	bad = 0;
	p = NULL;
	prev = 0;
	for (n = 1; n < 300000; n = n * 3 / 2 + 1) {
		q = realloc(p, n);
		if (!q || ((uintptr_t)q & 15) || !check(q, prev, 6))
			bad++;
		fill(q, n, 6);
		p = q;
		prev = n;
	}
	for (n = prev; n > 1; n = n * 2 / 3) {
		q = realloc(p, n);
		if (!q || !check(q, n, 6))
			bad++;
		p = q;
	}
	free(p);
	EXPECT_TRUE(!bad)
		TH_LOG("growth by 3/2 to 300 KiB and back: contents kept, aligned");
	EXPECT_TRUE(kml_malloc_check() == 0)
		TH_LOG("kml_malloc_check: every arena consistent at the end");
}

TEST_HARNESS_MAIN
