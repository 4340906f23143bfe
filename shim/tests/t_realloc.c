// SPDX-License-Identifier: GPL-2.0
/* realloc: grow and shrink in place, into the top, into a free neighbour, and moves. */
#include "tap.h"

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

int main(void)
{
	unsigned char *p, *q, *r, *guard;
	size_t n, prev;
	int bad;

	tap_start("realloc");
	mallopt(M_MXFAST, 0);	/* freed neighbours merge at once */

	p = realloc(NULL, 100);
	ok(p && malloc_usable_size(p) >= 100, "realloc(NULL, n) is malloc");
	fill(p, 100, 1);

	q = realloc(p, 50);
	ok(q == p && check(q, 50, 1), "shrink 100 -> 50: in place, contents kept");
	p = malloc(5000);
	guard = malloc(16);
	fill(p, 5000, 2);
	q = realloc(p, 1000);
	ok(q == p && check(q, 1000, 2) && malloc_usable_size(q) < 1100,
	   "shrink 5000 -> 1000: in place, tail given back");
	r = malloc(3000);
	ok(r == p + 1008, "the given-back tail is reused (%p vs %p)", (void *)r,
	   (void *)(p + 1008));
	free(r);

	/* grow into a free neighbour */
	q = realloc(p, 3000);
	ok(q == p && check(q, 1000, 2), "grow 1000 -> 3000 into the free neighbour: in place");
	free(q);
	free(guard);

	/* grow into the top */
	p = malloc(2000);
	fill(p, 2000, 3);
	q = realloc(p, 60000);
	ok(q == p && check(q, 2000, 3), "grow into the top chunk: in place (%p -> %p)",
	   (void *)p, (void *)q);
	p = q;

	/* grow blocked by an in-use neighbour: moves */
	guard = malloc(32);
	fill(p, 60000, 4);
	q = realloc(p, 100000);
	ok(q && q != p && check(q, 60000, 4),
	   "grow past an in-use neighbour: moves, contents kept");
	free(q);
	free(guard);

	/* mmapped chunks */
	p = malloc(4 << 20);
	ok(chunk_mmapped(p), "4 MiB is mmapped");
	fill(p, 4 << 20, 5);
	q = realloc(p, (4 << 20) - 100);
	ok(q == p, "mmapped shrink by a little: same block");
	q = realloc(p, 8 << 20);
	ok(q && check(q, 4 << 20, 5), "mmapped grow 4 -> 8 MiB: contents kept");
	p = realloc(q, 1000);
	ok(p && check(p, 1000, 5) && !chunk_mmapped(p), "mmapped shrink to 1000: into the heap");
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
	ok(!bad, "growth by 3/2 to 300 KiB and back: contents kept, aligned");
	ok(kml_malloc_check() == 0, "kml_malloc_check: every arena consistent at the end");
	return tap_done();
}
