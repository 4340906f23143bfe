// SPDX-License-Identifier: GPL-2.0
/*
 * region.c - the memory kmemlab owns: taken from Linux once at insmod as
 * naturally aligned blocks of 2^chunk_order pages, given back at rmmod.
 *
 * Each block is split into order-0 pages, so that every page of the region
 * is an ordinary page with one reference: vmap() and vm_insert_page() take
 * any of them, and kmemlab's own buddy allocator decides how they group.
 */
#include <linux/gfp.h>
#include <linux/mm.h>
#include <linux/sort.h>
#include <linux/bsearch.h>
#include <linux/slab.h>
#include "kmemlab_internal.h"

struct kml_region kml_region;

static int cmp_pfn(const void *a, const void *b)
{
	unsigned long x = *(const unsigned long *)a, y = *(const unsigned long *)b;

	return x < y ? -1 : x > y;
}

static void give_back(unsigned int n)
{
	unsigned long i;

	while (n--)
		for (i = 0; i < 1ul << kml_region.chunk_order; i++)
			__free_page(pfn_to_page(kml_region.chunk_pfn[n] + i));
}

int kml_region_init(unsigned int region_mb, unsigned int chunk_order)
{
	unsigned long chunk_bytes = PAGE_SIZE << chunk_order;
	unsigned long bytes = (unsigned long)region_mb << 20;
	unsigned int i, n;

	if (!region_mb || bytes % chunk_bytes) {
		pr_err("kmemlab: region_mb=%u is not a multiple of the %lu KiB max-order block\n",
		       region_mb, chunk_bytes >> 10);
		return -EINVAL;
	}
	n = bytes / chunk_bytes;
	kml_region.chunk_order = chunk_order;
	kml_region.chunk_pfn = kvcalloc(n, sizeof(unsigned long), GFP_KERNEL);
	if (!kml_region.chunk_pfn)
		return -ENOMEM;
	for (i = 0; i < n; i++) {
		struct page *page = alloc_pages(GFP_KERNEL | __GFP_NOWARN |
						__GFP_NORETRY, chunk_order);

		if (!page) {
			pr_err("kmemlab: cannot take a %u MiB region from the kernel: got %u of %u blocks of %lu KiB\n",
			       region_mb, i, n, chunk_bytes >> 10);
			give_back(i);
			kvfree(kml_region.chunk_pfn);
			kml_region.chunk_pfn = NULL;
			return -ENOMEM;
		}
		split_page(page, chunk_order);
		kml_region.chunk_pfn[i] = page_to_pfn(page);
		cond_resched();
	}
	sort(kml_region.chunk_pfn, n, sizeof(unsigned long), cmp_pfn, NULL);
	kml_region.nchunks = n;
	kml_region.npages = (unsigned long)n << chunk_order;
	return 0;
}

void kml_region_exit(void)
{
	give_back(kml_region.nchunks);
	kvfree(kml_region.chunk_pfn);
	kml_region.chunk_pfn = NULL;
	kml_region.nchunks = 0;
	kml_region.npages = 0;
}

u32 kml_page_index(const struct page *page)
{
	unsigned long pfn = page_to_pfn(page);
	unsigned long base = pfn & ~((1ul << kml_region.chunk_order) - 1);
	unsigned long *hit;

	hit = bsearch(&base, kml_region.chunk_pfn, kml_region.nchunks,
		      sizeof(unsigned long), cmp_pfn);
	if (!hit)
		return KML_NIL;
	return ((u32)(hit - kml_region.chunk_pfn) << kml_region.chunk_order) |
	       (u32)(pfn - base);
}
