// SPDX-License-Identifier: GPL-2.0
/*
 * A long random run of malloc, calloc, memalign, realloc and free. Every
 * block carries a pattern derived from its slot and generation and is
 * checked before it changes; every so often all live blocks are sorted by
 * address and checked for overlaps (using malloc_usable_size), and the
 * library's arena checker (kml_malloc_check) walks every chunk and bin.
 */
#include "shim_test.h"

#define SLOTS	3000
#define OPS	400000

struct slot {
	unsigned char *p;
	size_t n;
	unsigned int gen;
};

static struct slot s[SLOTS];
static int overlaps, corrupt, misaligned, failed;
static unsigned long arena_errors;

static unsigned char pat(size_t i, unsigned int gen)
{
	return (unsigned char)(gen * 31 + i * 13 + (i >> 8));
}

static void fill(struct slot *x)
{
	size_t i;

	for (i = 0; i < x->n; i++)
		x->p[i] = pat(i, x->gen);
}

static void verify(struct slot *x, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (x->p[i] != pat(i, x->gen)) {
			corrupt++;
			return;
		}
}

static int by_addr(const void *a, const void *b)
{
	const struct slot *x = *(struct slot *const *)a, *y = *(struct slot *const *)b;

	return x->p < y->p ? -1 : x->p > y->p;
}

static void check_overlaps(void)
{
	static struct slot *live[SLOTS];
	int i, n = 0;

	for (i = 0; i < SLOTS; i++)
		if (s[i].p)
			live[n++] = &s[i];
	qsort(live, n, sizeof(live[0]), by_addr);
	for (i = 1; i < n; i++)
		if (live[i - 1]->p + malloc_usable_size(live[i - 1]->p) > live[i]->p)
			overlaps++;
}

static size_t rsize(unsigned int *seed)
{
	unsigned int r = rand_r(seed) % 1000;

	if (r < 600)
		return rand_r(seed) % 128;
	if (r < 900)
		return rand_r(seed) % 2048;
	if (r < 990)
		return rand_r(seed) % 65536;
	return rand_r(seed) % 600000;
}

/*
 * In a child: a free chunk's boundary tag (arg 0) or an in-use chunk's
 * NON_MAIN_ARENA bit (arg 1) is spoilt; the checker must say so.
 */
static void spoil(void *arg)
{
	size_t *a = malloc(2000), *b = malloc(2000);

	free(a);	/* beyond the tcache: to the unsorted bin */
	malloc(100);	/* between b and the top */
	/* the header is outside the object: hide b's origin from the compiler */
	__asm__ volatile("" : "+r"(b));
	if (arg)
		b[-1] |= 4;
	else
		b[-2] += 16;
	_exit(kml_malloc_check() ? 0 : 1);
}

static void check_finds(struct __test_metadata *_metadata, int what, const char *msg)
{
	char buf[4096];
	int st = run_child(spoil, what ? (void *)1 : NULL, buf, sizeof(buf));

	EXPECT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0 && strstr(buf, msg))
		TH_LOG("kml_malloc_check finds a spoilt %s: \"%.*s\"",
		       what ? "NON_MAIN_ARENA bit" : "boundary tag", (int)strcspn(buf, "\n"), buf);
}

TEST(random_operations)
{
	unsigned int seed = 12345;
	long op;
	int i;

	/* first, while the chunks malloc returns come one after the other */
	check_finds(_metadata, 0, "boundary tag differs from the size");
	check_finds(_metadata, 1, "NON_MAIN_ARENA wrong in an in-use chunk");
	for (op = 0; op < OPS; op++) {
		struct slot *x = &s[rand_r(&seed) % SLOTS];
		unsigned int what = rand_r(&seed) % 10;
		size_t n = rsize(&seed);

		if (x->p) {
			verify(x, x->n);
			if (what < 3) {
				unsigned char *q = realloc(x->p, n + 1);

				if (!q) {
					failed++;
					continue;
				}
				x->p = q;
				verify(x, x->n < n + 1 ? x->n : n + 1);
				x->n = n + 1;
				x->gen++;
			} else {
				free(x->p);
				x->p = NULL;
				continue;
			}
		} else if (what < 2) {
			size_t i2;

			x->p = calloc(1, n);
			for (i2 = 0; x->p && i2 < n; i2++)
				if (x->p[i2])
					corrupt++;
			x->n = n;
		} else if (what < 3) {
			size_t a = (size_t)16 << (rand_r(&seed) % 9);

			x->p = memalign(a, n);
			if ((uintptr_t)x->p & (a - 1))
				misaligned++;
			x->n = n;
		} else {
			x->p = malloc(n);
			x->n = n;
		}
		if (!x->p) {
			failed++;
			continue;
		}
		if ((uintptr_t)x->p & 15 || malloc_usable_size(x->p) < x->n)
			misaligned++;
		x->gen++;
		fill(x);
		if (op % 20000 == 0) {
			check_overlaps();
			arena_errors += kml_malloc_check();
		}
	}
	check_overlaps();
	arena_errors += kml_malloc_check();
	for (i = 0; i < SLOTS; i++) {
		if (s[i].p)
			verify(&s[i], s[i].n);
		free(s[i].p);
	}
	EXPECT_TRUE(!failed)
		TH_LOG("%d ops: no failed allocation (%d)", OPS, failed);
	EXPECT_TRUE(!misaligned)
		TH_LOG("every block aligned, usable size >= request (%d bad)", misaligned);
	EXPECT_TRUE(!corrupt)
		TH_LOG("every block kept its contents, calloc zeroed (%d bad)", corrupt);
	EXPECT_TRUE(!overlaps)
		TH_LOG("no two live blocks overlap (%d)", overlaps);
	EXPECT_TRUE(mallinfo2().hblks == 0)
		TH_LOG("every mmapped block unmapped at the end");
	EXPECT_TRUE(!arena_errors)
		TH_LOG("kml_malloc_check along the run: chunks, (fast) bins, tcache (%lu problems)",
		       arena_errors);
	arena_errors = kml_malloc_check();
	EXPECT_TRUE(!arena_errors)
		TH_LOG("kml_malloc_check: consistent after every block is freed (%lu problems)",
		       arena_errors);
}

TEST_HARNESS_MAIN
