// SPDX-License-Identifier: GPL-2.0
/*
 * The seed experiments, continued: freed brk memory stays in the pool and
 * is reused; more than 128 KiB free at the top is given back with a
 * negative sbrk; the mmap threshold rises after an mmapped block is freed
 * (and stays put once set by mallopt).
 */
#include "shim_test.h"

static void fixed_threshold(void *arg)
{
	size_t n = mallinfo2().fordblks + (1 << 20);	/* more than the arena has free */
	void *p, *q;

	(void)arg;
	mallopt(M_MMAP_THRESHOLD, 128 * 1024);
	p = malloc(n);
	free(p);
	q = malloc(n);
	_exit(chunk_mmapped(p) && chunk_mmapped(q) ? 0 : 1);
}

TEST(seed_reuse_trim_threshold)
{
	uintptr_t b0, b1, b2;
	void *v[40], *p, *q, *guard;
	char buf[64];
	int i, st;

	p = malloc(1000);
	free(p);
	q = malloc(1000);
	EXPECT_TRUE(p == q)
		TH_LOG("malloc(1000), free, malloc(1000): the same block");
	free(q);

	p = malloc(50000);
	guard = malloc(100);
	b0 = cur_brk();
	free(p);
	q = malloc(50000);
	EXPECT_TRUE(p == q && cur_brk() == b0)
		TH_LOG("a freed 50000-byte brk block is reused, the break unmoved");
	free(q);
	free(guard);

	/* three neighbours freed out of order merge into one free chunk */
	v[0] = malloc(2000);
	v[1] = malloc(2000);
	v[2] = malloc(2000);
	guard = malloc(100);
	EXPECT_TRUE((char *)v[1] == (char *)v[0] + 2016 && (char *)v[2] == (char *)v[1] + 2016)
		TH_LOG("three 2000-byte blocks are neighbours (2016-byte chunks)");
	free(v[0]);
	free(v[2]);
	free(v[1]);
	p = malloc(3 * 2016 - 8);
	EXPECT_TRUE(p == v[0])
		TH_LOG("freed in the order 1, 3, 2 they merge: malloc(6040) = the first");
	free(p);
	free(guard);

	b0 = cur_brk();
	for (i = 0; i < 40; i++)
		v[i] = malloc(8000);
	b1 = cur_brk();
	for (i = 39; i >= 0; i--)
		free(v[i]);
	b2 = cur_brk();
	EXPECT_TRUE(b1 > b0 && b2 < b1)
		TH_LOG("40 x 8000 bytes grow the break (+%lu); freeing them trims it (-%lu)",
		       (unsigned long)(b1 - b0), (unsigned long)(b1 - b2));
	EXPECT_TRUE(mallinfo2().keepcost <= 128 * 1024 + 4096 + 32)
		TH_LOG("after the trim the top keeps about the 128 KiB pad (%zu)",
		       mallinfo2().keepcost);

	for (i = 0; i < 40; i++)
		v[i] = malloc(2000);
	b1 = cur_brk();
	for (i = 0; i < 40; i++)
		free(v[i]);
	EXPECT_TRUE(cur_brk() == b1)
		TH_LOG("freeing less than the trim threshold keeps the break");

	p = malloc(1 << 20);
	EXPECT_TRUE(chunk_mmapped(p))
		TH_LOG("malloc(1 MiB) is mmapped");
	free(p);
	b1 = cur_brk();
	q = malloc(1 << 20);
	EXPECT_TRUE(!chunk_mmapped(q) && cur_brk() > b1)
		TH_LOG("after its free the threshold rose: the next 1 MiB comes from the break");
	free(q);
	st = run_child(fixed_threshold, NULL, buf, sizeof(buf));
	EXPECT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0)
		TH_LOG("with M_MMAP_THRESHOLD set by mallopt the threshold stays (both mmapped)");
	EXPECT_TRUE(kml_malloc_check() == 0)
		TH_LOG("kml_malloc_check: every arena consistent at the end");
}

TEST_HARNESS_MAIN
