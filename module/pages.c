// SPDX-License-Identifier: GPL-2.0
/*
 * pages.c - the alloc_pages family over kmemlab's buddy allocator.
 *
 * A caller's mistakes (a page or address that is not kmemlab's, a double
 * free, a wrong order) are reported with pr_err and counted, and change
 * nothing: the allocator goes on as if the call had not been made.
 */
#include <linux/export.h>
#include <linux/highmem.h>
#include <linux/mm.h>
#include "kmemlab_internal.h"
#include "include/kmemlab.h"

struct page *kml_alloc_pages(gfp_t gfp, unsigned int order)
{
	struct page *page;
	u32 idx;

	idx = kml_buddy_alloc(&kml_buddy, order, KML_KIND_PAGES);
	if (idx == KML_NIL) {
		if (!(gfp & __GFP_NOWARN))
			pr_warn_ratelimited("kmemlab: page allocation failure: order:%u, mode:%#x(%pGg), %lu pages free\n",
					    order, gfp, &gfp,
					    kml_buddy_free_pages(&kml_buddy));
		return NULL;
	}
	page = kml_index_page(idx);
	if (gfp & __GFP_ZERO)
		memset(page_address(page), 0, PAGE_SIZE << order);
	return page;
}
EXPORT_SYMBOL_GPL(kml_alloc_pages);

void kml___free_pages(struct page *page, unsigned int order)
{
	u32 idx = page ? kml_page_index(page) : KML_NIL;

	if (idx == KML_NIL) {
		kml_buddy_note_misuse(&kml_buddy, KML_BAD_OUTSIDE);
		pr_err("kmemlab: free of page %p (order %u) that is not in the region, from %pS\n",
		       page, order, __builtin_return_address(0));
		return;
	}
	kml_buddy_free(&kml_buddy, idx, order, KML_KIND_PAGES);
}
EXPORT_SYMBOL_GPL(kml___free_pages);

unsigned long kml_get_free_pages(gfp_t gfp, unsigned int order)
{
	struct page *page = kml_alloc_pages(gfp & ~__GFP_HIGHMEM, order);

	return page ? (unsigned long)page_address(page) : 0;
}
EXPORT_SYMBOL_GPL(kml_get_free_pages);

unsigned long kml_get_free_page(gfp_t gfp)
{
	return kml_get_free_pages(gfp, 0);
}
EXPORT_SYMBOL_GPL(kml_get_free_page);

unsigned long kml_get_zeroed_page(gfp_t gfp)
{
	return kml_get_free_pages(gfp | __GFP_ZERO, 0);
}
EXPORT_SYMBOL_GPL(kml_get_zeroed_page);

bool kml_addr_in_region(const void *addr)
{
	return kml_addr_page(addr) != KML_NIL;
}
EXPORT_SYMBOL_GPL(kml_addr_in_region);

void kml_free_pages(unsigned long addr, unsigned int order)
{
	if (!addr)
		return;
	if (offset_in_page(addr) || !kml_addr_in_region((void *)addr)) {
		kml_buddy_note_misuse(&kml_buddy, KML_BAD_OUTSIDE);
		pr_err("kmemlab: free_pages(%p, %u) of an address that is not a region page, from %pS\n",
		       (void *)addr, order, __builtin_return_address(0));
		return;
	}
	kml___free_pages(virt_to_page((void *)addr), order);
}
EXPORT_SYMBOL_GPL(kml_free_pages);

void kml_free_page(unsigned long addr)
{
	kml_free_pages(addr, 0);
}
EXPORT_SYMBOL_GPL(kml_free_page);
