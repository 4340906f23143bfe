// SPDX-License-Identifier: GPL-2.0
/*
 * bench_kmemlab_slab - kmemlab's caches and kmalloc next to the kernel's
 * (SLUB in Debian's kernel) on the same work, in the same boot. Prints,
 * asserts nothing; `kmemlab bench` loads it and prints the table.
 *
 * Lines: "bench: CASE OPS KML KERNEL": ns per operation times ten, best of
 * three rounds each; for mem_* cases, pages holding 100 000 live objects.
 * The kernel's caches are made with kmem_cache_create_usercopy so that
 * SLUB does not merge them into kmalloc-N (the layout is the same).
 */
#define pr_fmt(fmt) "bench: " fmt

#include <linux/module.h>
#include <linux/mm.h>
#include <linux/slab.h>
#include <linux/sort.h>
#include <linux/ktime.h>
#include "../include/kmemlab.h"

#define BATCH	10000
#define LIVE	100000

static void **objs;

struct side {
	struct kml_cache *kml;
	struct kmem_cache *kernel;
	size_t size;
};

static u64 pairs(bool kml, struct side *s, unsigned long n)
{
	u64 t = ktime_get_ns();
	unsigned long i;

	for (i = 0; i < n; i++) {
		void *p = kml ? kml_cache_alloc(s->kml, GFP_KERNEL) :
				kmem_cache_alloc(s->kernel, GFP_KERNEL);

		if (!p)
			return U64_MAX;
		if (kml)
			kml_cache_free(s->kml, p);
		else
			kmem_cache_free(s->kernel, p);
	}
	return ktime_get_ns() - t;
}

static u64 kmalloc_pairs(bool kml, struct side *s, unsigned long n)
{
	u64 t = ktime_get_ns();
	unsigned long i;

	for (i = 0; i < n; i++) {
		void *p = kml ? kml_kmalloc(s->size, GFP_KERNEL) : kmalloc(s->size, GFP_KERNEL);

		if (!p)
			return U64_MAX;
		if (kml)
			kml_kfree(p);
		else
			kfree(p);
	}
	return ktime_get_ns() - t;
}

static u64 batches(bool kml, struct side *s, unsigned long n)
{
	u64 t = ktime_get_ns();
	unsigned long r, i, got;
	bool short_of_memory = false;

	for (r = 0; r < n / BATCH && !short_of_memory; r++) {
		for (got = 0; got < BATCH; got++) {
			objs[got] = kml ? kml_cache_alloc(s->kml, GFP_KERNEL) :
					  kmem_cache_alloc(s->kernel, GFP_KERNEL);
			if (!objs[got])
				break;
		}
		short_of_memory = got < BATCH;
		for (i = 0; i < got; i++) {
			if (kml)
				kml_cache_free(s->kml, objs[i]);
			else
				kmem_cache_free(s->kernel, objs[i]);
		}
	}
	return short_of_memory ? U64_MAX : ktime_get_ns() - t;
}

static void run(const char *name, size_t size, struct side *s,
		u64 (*fn)(bool, struct side *, unsigned long), unsigned long n)
{
	u64 best[2] = { U64_MAX, U64_MAX };
	int round, side;

	for (round = 0; round < 3; round++)
		for (side = 0; side < 2; side++)
			best[side] = min(best[side], fn(side == 0, s, n));
	if (best[0] == U64_MAX || best[1] == U64_MAX) {
		pr_info("%s_%zu %lu n/a n/a\n", name, size, n);
		return;
	}
	pr_info("%s_%zu %lu %llu %llu\n", name, size, n, div64_u64(best[0] * 10, n),
		div64_u64(best[1] * 10, n));
}

static int cmp_ptr(const void *a, const void *b)
{
	unsigned long x = *(const unsigned long *)a, y = *(const unsigned long *)b;

	return x < y ? -1 : x > y;
}

/* Pages of the kernel's slabs that hold objs[0..n): distinct slab heads. */
static unsigned long kernel_pages(unsigned long n)
{
	unsigned long i, pages = 0;

	for (i = 0; i < n; i++)
		objs[i] = virt_to_head_page(objs[i]);
	sort(objs, n, sizeof(void *), cmp_ptr, NULL);
	for (i = 0; i < n; i++)
		if (!i || objs[i] != objs[i - 1])
			pages += compound_nr(objs[i]);
	return pages;
}

static void memory(struct side *s)
{
	struct kml_cache_info info;
	unsigned long i, n, kml_pages = 0, k_pages = 0;

	for (n = 0; n < LIVE; n++) {
		objs[n] = kml_cache_alloc(s->kml, GFP_KERNEL);
		if (!objs[n])
			break;
	}
	if (n == LIVE) {
		kml_cache_info(s->kml, &info);
		kml_pages = info.num_slabs << info.order;
	}
	for (i = 0; i < n; i++)
		kml_cache_free(s->kml, objs[i]);
	for (n = 0; n < LIVE; n++) {
		objs[n] = kmem_cache_alloc(s->kernel, GFP_KERNEL);
		if (!objs[n])
			break;
	}
	for (i = 0; i < n; i++)
		kmem_cache_free(s->kernel, objs[i]);	/* pointers still counted below */
	if (n == LIVE && kml_pages)
		k_pages = kernel_pages(n);
	if (k_pages)
		pr_info("mem_%zu %d %lu %lu\n", s->size, LIVE, kml_pages, k_pages);
	else
		pr_info("mem_%zu %d n/a n/a\n", s->size, LIVE);
}

static int __init bench_init(void)
{
	static const size_t sizes[] = { 8, 64, 256, 1024, 4096 };
	static const size_t live_sizes[] = { 64, 192 };
	char name[32];
	unsigned int i;

	objs = kvmalloc_array(LIVE, sizeof(void *), GFP_KERNEL);
	if (!objs)
		return -ENOMEM;
	for (i = 0; i < ARRAY_SIZE(sizes) + ARRAY_SIZE(live_sizes); i++) {
		bool live = i >= ARRAY_SIZE(sizes);
		struct side s = {
			.size = live ? live_sizes[i - ARRAY_SIZE(sizes)] : sizes[i],
		};

		snprintf(name, sizeof(name), "bench%zu", s.size);
		s.kml = kml_cache_create(name, s.size, 0, 0, NULL);
		s.kernel = kmem_cache_create_usercopy(name, s.size, 0, 0, 0, s.size, NULL);
		if (s.kml && s.kernel) {
			if (live) {
				memory(&s);
			} else {
				run("cache_alloc_free", s.size, &s, pairs, 1000000);
				run("cache_batch10000", s.size, &s, batches, 5 * BATCH);
				run("kmalloc_kfree", s.size, &s, kmalloc_pairs, 1000000);
			}
		}
		kml_cache_destroy(s.kml);
		kmem_cache_destroy(s.kernel);
	}
	kvfree(objs);
	return 0;
}

static void __exit bench_exit(void)
{
}

module_init(bench_init);
module_exit(bench_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("kmemlab vs kernel slab and kmalloc timings and memory");
