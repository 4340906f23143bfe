// SPDX-License-Identifier: GPL-2.0
/*
 * bench_kmemlab_pages - kmemlab's page allocator and vmalloc next to the
 * kernel's on the same work, in the same boot. A benchmark, not a test:
 * it prints, it asserts nothing. `kmemlab bench` in the guest loads it and
 * prints the table.
 *
 * Each case runs kmemlab and the kernel alternately, three rounds each, and
 * keeps each side's fastest round. Lines: "bench: CASE OPS KML_NS KERNEL_NS",
 * nanoseconds per operation times ten.
 */
#define pr_fmt(fmt) "bench: " fmt

#include <linux/module.h>
#include <linux/mm.h>
#include <linux/slab.h>
#include <linux/vmalloc.h>
#include <linux/ktime.h>
#include "../include/kmemlab.h"

#define BATCH 10000

static struct page **batch;

static u64 pairs(bool kml, unsigned int order, unsigned long n)
{
	u64 t = ktime_get_ns();
	unsigned long i;

	for (i = 0; i < n; i++) {
		struct page *p = kml ? kml_alloc_pages(GFP_KERNEL, order) :
				       alloc_pages(GFP_KERNEL, order);

		if (!p)
			return U64_MAX;
		if (kml)
			kml___free_pages(p, order);
		else
			__free_pages(p, order);
	}
	return ktime_get_ns() - t;
}

static u64 batches(bool kml, unsigned int order, unsigned long n)
{
	u64 t = ktime_get_ns();
	unsigned long r, i;

	for (r = 0; r < n / BATCH; r++) {
		unsigned long got;

		for (got = 0; got < BATCH; got++) {
			batch[got] = kml ? kml_alloc_pages(GFP_KERNEL | __GFP_NOWARN, 0) :
					   alloc_page(GFP_KERNEL);
			if (!batch[got])
				break;
		}
		for (i = 0; i < got; i++) {
			if (kml)
				kml___free_pages(batch[i], 0);
			else
				__free_page(batch[i]);
		}
		if (got < BATCH)	/* a region smaller than a batch */
			return U64_MAX;
	}
	return ktime_get_ns() - t;
}

static u64 vmallocs(bool kml, unsigned int kb, unsigned long n)
{
	u64 t = ktime_get_ns();
	unsigned long i;

	for (i = 0; i < n; i++) {
		void *p = kml ? kml_vmalloc(kb << 10) : vmalloc(kb << 10);

		if (!p)
			return U64_MAX;
		if (kml)
			kml_vfree(p);
		else
			vfree(p);
		cond_resched();
	}
	return ktime_get_ns() - t;
}

static void run(const char *name, u64 (*fn)(bool, unsigned int, unsigned long),
		unsigned int arg, unsigned long n)
{
	u64 best[2] = { U64_MAX, U64_MAX };
	int round, side;

	for (round = 0; round < 3; round++)
		for (side = 0; side < 2; side++)
			best[side] = min(best[side], fn(side == 0, arg, n));
	if (best[0] == U64_MAX || best[1] == U64_MAX) {
		pr_info("%s %lu n/a n/a\n", name, n);	/* not enough memory */
		return;
	}
	pr_info("%s %lu %llu %llu\n", name, n, div64_u64(best[0] * 10, n),
		div64_u64(best[1] * 10, n));
}

static int __init bench_init(void)
{
	batch = kvmalloc_array(BATCH, sizeof(*batch), GFP_KERNEL);
	if (!batch)
		return -ENOMEM;
	run("order0_alloc_free", pairs, 0, 200000);
	run("order3_alloc_free", pairs, 3, 100000);
	run("order9_alloc_free", pairs, 9, 10000);
	run("order0_batch10000", batches, 0, 20 * BATCH);
	run("vmalloc_64k", vmallocs, 64, 2000);
	run("vmalloc_1m", vmallocs, 1024, 200);
	kvfree(batch);
	return 0;
}

static void __exit bench_exit(void)
{
}

module_init(bench_init);
module_exit(bench_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("kmemlab vs kernel page allocator and vmalloc timings");
