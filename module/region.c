// SPDX-License-Identifier: GPL-2.0
/*
 * region.c - the memory kmemlab owns: taken from Linux once at insmod as
 * naturally aligned blocks of 2^chunk_order pages, given back at rmmod.
 *
 * Each block is split into order-0 pages, so that every page of the region
 * is an ordinary page with one reference: vmap() and vm_insert_page() take
 * any of them, and kmemlab's own buddy allocator decides how they group.
 * Chunks are sorted by pfn and numbered in that order: region page index i
 * is page i mod 2^chunk_order of chunk i >> chunk_order.
 */
#include <linux/gfp.h>
#include <linux/mm.h>
#include <linux/sort.h>
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
	unsigned long i, j;

	while (n--) {
		for (i = 0; i < 1ul << kml_region.chunk_order; i++) {
			struct page *page = pfn_to_page(kml_region.chunk_pfn[n] + i);

			if (PageHead(page)) {
				unsigned int order = compound_order(page);

				if (page_ref_count(page) > 1) {
					/*
					 * Still referenced (reported by kml_pages_exit):
					 * Linux frees the compound page, whole, at its
					 * last put_page.
					 */
					for (j = 0; j < 1ul << order; j++)
						set_page_private(page + j, 0);
					put_page(page);
					i += (1ul << order) - 1;
					continue;
				}
				/* A compound block a caller never freed. */
				kml_clear_compound(page, order);
			}
			set_page_private(page, 0);
			__free_page(page);
		}
		cond_resched();
	}
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
	if (bytes >> PAGE_SHIFT >= KML_NIL) {
		pr_err("kmemlab: region_mb=%u is more pages than kmemlab counts\n", region_mb);
		return -EINVAL;
	}
	/* Ask only for what Linux can spare, rather than push it into OOM. */
	if (bytes >> PAGE_SHIFT > si_mem_available()) {
		pr_err("kmemlab: cannot take a %u MiB region from the kernel: %lu MiB available\n",
		       region_mb, si_mem_available() >> (20 - PAGE_SHIFT));
		return -ENOMEM;
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
	for (i = 0; i < kml_region.npages; i++)
		set_page_private(kml_index_page(i), i + 1);
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

/*
 * Region pages carry their index + 1 in page->private, set at insmod; a
 * foreign page's private field means anything, so the index is trusted
 * only when it maps back to the same page.
 */
u32 kml_page_index(const struct page *page)
{
	unsigned long idx = page_private(page) - 1;

	if (idx >= kml_region.npages || kml_index_page(idx) != page)
		return KML_NIL;
	return idx;
}

void *kml_page_addr(u32 idx)
{
	return page_address(kml_index_page(idx));
}

u32 kml_addr_page(const void *addr)
{
	if (!virt_addr_valid(addr))
		return KML_NIL;
	return kml_page_index(virt_to_page(addr));
}
