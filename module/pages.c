// SPDX-License-Identifier: GPL-2.0
/*
 * pages.c - the alloc_pages family over kmemlab's buddy allocator, with the
 * page allocator's semantics: gfp (gfp.c), __GFP_COMP, init_on_alloc and
 * init_on_free, and struct page reference counts.
 *
 * References. Every region page holds one reference of kmemlab's own from
 * insmod to rmmod, so that no put_page() anywhere can hand a region page
 * to Linux's allocator; an allocated block's first page holds one more,
 * the owner's (page_count() reads 2 where Linux's reads 1). A block goes
 * back when nothing but kmemlab references it. When its owner frees it
 * while others still hold references (get_page() on any of its pages),
 * the block is held: the buddy allocator keeps it off the free lists, and
 * it goes back when the last reference goes, at the kml_put_page() that
 * drops it or, for references dropped with Linux's put_page(), at the
 * next sweep (a worker every second while any block is held, and every
 * allocation that would otherwise fail).
 *
 * A caller's mistakes (a page or address that is not kmemlab's, a double
 * free, a wrong order, a reference dropped twice) are reported with pr_err
 * and counted, and change nothing.
 */
#include <linux/export.h>
#include <linux/highmem.h>
#include <linux/mm.h>
#include <linux/workqueue.h>
#include "kmemlab_internal.h"
#include "include/kmemlab.h"

static atomic_t held_blocks = ATOMIC_INIT(0);
static void sweep_work_fn(struct work_struct *work);
static DECLARE_DELAYED_WORK(sweep_work, sweep_work_fn);

/* Whether anything but kmemlab and @owner_refs owner references holds the block. */
static bool block_busy(struct page *page, unsigned int order, int owner_refs)
{
	unsigned long i;

	if (page_ref_count(page) > 1 + owner_refs)
		return true;
	if (PageHead(page))
		return false;	/* a compound page's references are all the head's */
	for (i = 1; i < 1ul << order; i++)
		if (page_ref_count(page + i) > 1)
			return true;
	return false;
}

static void zero_block(struct page *page, unsigned int order)
{
	unsigned long i;

	for (i = 0; i < 1ul << order; i++)
		clear_highpage(page + i);
}

/* A claimed block that nothing else references goes back, undone. */
static void release_claimed(struct page *page, u32 idx, unsigned int order,
			    enum kml_page_kind kind)
{
	if (PageHead(page))
		kml_clear_compound(page, order);
	if (kml_want_init_on_free())
		zero_block(page, order);
	kml_buddy_free_claimed(&kml_buddy, idx, order, kind);
}

static bool held_busy(void *ctx, u32 idx, unsigned int order)
{
	return block_busy(kml_index_page(idx), order, 0);
}

/* Gives back every held block that nothing references any more. */
static void sweep(void)
{
	struct kml_held h[16];
	unsigned int i, n;

	do {
		n = kml_buddy_unpark(&kml_buddy, held_busy, NULL, h, ARRAY_SIZE(h));
		for (i = 0; i < n; i++) {
			atomic_dec(&held_blocks);
			release_claimed(kml_index_page(h[i].idx), h[i].idx, h[i].order, h[i].kind);
		}
	} while (n == ARRAY_SIZE(h));
}

static void sweep_work_fn(struct work_struct *work)
{
	sweep();
	if (atomic_read(&held_blocks))
		schedule_delayed_work(&sweep_work, HZ);
}

/* A claimed block others still reference waits on the held list. */
static void park(u32 idx)
{
	atomic_inc(&held_blocks);
	kml_buddy_park(&kml_buddy, idx);
	sweep();	/* the last reference may have gone meanwhile */
	if (atomic_read(&held_blocks))
		schedule_delayed_work(&sweep_work, HZ);
}

bool kml_pages_hold_if_busy(u32 idx, unsigned int order, enum kml_page_kind kind)
{
	if (!block_busy(kml_index_page(idx), order, 0))
		return false;
	if (!kml_buddy_claim(&kml_buddy, idx, order, kind))
		park(idx);
	return true;	/* kept, or a misuse reported: not the caller's to free */
}

static struct page *alloc_pages_caller(gfp_t gfp, unsigned int order, const void *caller)
{
	unsigned int attempt = 0;
	struct page *page;
	u32 idx;

	if (!kml_gfp_begin(gfp, "alloc_pages", caller))
		return NULL;
	if (order > kml_buddy.max_order) {
		if (!(gfp & __GFP_NOWARN))
			pr_warn_ratelimited("kmemlab: alloc_pages: order %u above max_order %u, from %pS\n",
					    order, kml_buddy.max_order, caller);
		return NULL;
	}
	for (;;) {
		idx = kml_buddy_alloc(&kml_buddy, order, KML_KIND_PAGES);
		if (idx != KML_NIL)
			break;
		if (atomic_read(&held_blocks)) {
			sweep();
			idx = kml_buddy_alloc(&kml_buddy, order, KML_KIND_PAGES);
			if (idx != KML_NIL)
				break;
		}
		if (kml_gfp_retry(gfp, &attempt, "alloc_pages", caller))
			continue;
		if (!(gfp & __GFP_NOWARN))
			pr_warn_ratelimited("kmemlab: page allocation failure: order:%u, mode:%#x(%pGg), %lu pages free, from %pS\n",
					    order, gfp, &gfp, kml_buddy_free_pages(&kml_buddy),
					    caller);
		return NULL;
	}
	page = kml_index_page(idx);
	if (kml_want_init_on_alloc(gfp))
		zero_block(page, order);
	if ((gfp & __GFP_COMP) && order)
		kml_prep_compound(page, order);
	page_ref_inc(page);	/* the owner's */
	return page;
}

struct page *kml_alloc_pages(gfp_t gfp, unsigned int order)
{
	return alloc_pages_caller(gfp, order, __builtin_return_address(0));
}
EXPORT_SYMBOL_GPL(kml_alloc_pages);

static u32 region_index(struct page *page, const char *what, unsigned int order,
			const void *caller)
{
	u32 idx = page ? kml_page_index(page) : KML_NIL;

	if (idx == KML_NIL) {
		kml_buddy_note_misuse(&kml_buddy, KML_BAD_OUTSIDE);
		pr_err("kmemlab: %s of page %p (order %u) that is not in the region, from %pS\n",
		       what, page, order, caller);
	}
	return idx;
}

static void free_pages_caller(struct page *page, unsigned int order, const void *caller)
{
	u32 idx = region_index(page, "free", order, caller);
	bool busy;

	if (idx == KML_NIL)
		return;
	/*
	 * A held block is the refcount's: __free_pages from a holder drops
	 * that reference, as Linux's put_page_testzero() would.
	 */
	if (kml_buddy_block_order(&kml_buddy, idx, KML_KIND_PAGES, true) == (int)order &&
	    page_ref_count(page) > 1) {
		page_ref_dec(page);
		sweep();
		return;
	}
	/* Claimed first, so that of two racing frees one is reported. */
	if (kml_buddy_claim(&kml_buddy, idx, order, KML_KIND_PAGES))
		return;
	busy = block_busy(page, order, 1);
	page_ref_dec(page);	/* the owner's */
	if (busy)
		park(idx);
	else
		release_claimed(page, idx, order, KML_KIND_PAGES);
}

void kml___free_pages(struct page *page, unsigned int order)
{
	free_pages_caller(page, order, __builtin_return_address(0));
}
EXPORT_SYMBOL_GPL(kml___free_pages);

void kml_put_page(struct page *page)
{
	const void *caller = __builtin_return_address(0);
	struct page *head = compound_head(page);
	u32 idx = kml_page_index(head);
	int refs, order;

	if (idx == KML_NIL) {
		put_page(page);
		return;
	}
	refs = page_ref_dec_return(head);
	if (refs < 1) {
		page_ref_inc(head);
		kml_buddy_note_misuse(&kml_buddy, KML_BAD_DOUBLE_FREE);
		pr_err("kmemlab: put_page(%p): no reference left to drop (page %u), from %pS\n",
		       page, idx, caller);
		return;
	}
	order = kml_buddy_block_order(&kml_buddy, idx, KML_KIND_PAGES, false);
	if (order < 0) {
		if (refs == 1)
			sweep();	/* a held block's last reference, or a page in one */
		return;
	}
	if (order != compound_order(head)) {
		if (refs > 1)
			return;	/* a tail reference of a plain block: the owner frees it */
		page_ref_inc(head);
		kml_buddy_note_misuse(&kml_buddy, KML_BAD_ORDER);
		pr_err("kmemlab: put_page(%p) drops the last reference to an order-%d block that is not compound: free it with __free_pages, from %pS\n",
		       page, order, caller);
		return;
	}
	/*
	 * Linux frees a page at its last put, whoever drops it. A put that
	 * leaves references (the owner's, or others') hands the block to the
	 * refcount: held, it goes back when the count says nothing is left,
	 * however the last reference is dropped.
	 */
	if (kml_buddy_claim(&kml_buddy, idx, order, KML_KIND_PAGES)) {
		page_ref_inc(head);
		return;
	}
	if (refs > 1)
		park(idx);
	else
		release_claimed(head, idx, order, KML_KIND_PAGES);
}
EXPORT_SYMBOL_GPL(kml_put_page);

void kml_split_page(struct page *page, unsigned int order)
{
	const void *caller = __builtin_return_address(0);
	u32 idx = region_index(page, "split_page", order, caller);
	unsigned long i;

	if (idx == KML_NIL)
		return;
	if (PageCompound(page)) {
		pr_err("kmemlab: split_page(%p, %u) of a compound page, from %pS\n", page, order,
		       caller);
		return;
	}
	if (kml_buddy_split(&kml_buddy, idx, order, KML_KIND_PAGES))
		return;
	for (i = 1; i < 1ul << order; i++)
		page_ref_inc(page + i);	/* each page its own owner's reference */
}
EXPORT_SYMBOL_GPL(kml_split_page);

void *kml_alloc_pages_exact(size_t size, gfp_t gfp)
{
	const void *caller = __builtin_return_address(0);
	unsigned int order;
	struct page *page;
	unsigned long i;

	if (!size || size > (PAGE_SIZE << kml_buddy.max_order)) {
		if (!(gfp & __GFP_NOWARN))
			pr_warn_ratelimited("kmemlab: alloc_pages_exact(%zu) from %pS: size out of range\n",
					    size, caller);
		return NULL;
	}
	if (gfp & __GFP_COMP) {
		pr_err_ratelimited("kmemlab: alloc_pages_exact with __GFP_COMP from %pS: the pages are split, not compound; flag ignored\n",
				   caller);
		gfp &= ~__GFP_COMP;
	}
	order = get_order(size);
	page = alloc_pages_caller(gfp, order, caller);
	if (!page)
		return NULL;
	kml_split_page(page, order);
	for (i = PAGE_ALIGN(size) >> PAGE_SHIFT; i < 1ul << order; i++)
		free_pages_caller(page + i, 0, caller);
	return page_address(page);
}
EXPORT_SYMBOL_GPL(kml_alloc_pages_exact);

void kml_free_pages_exact(void *virt, size_t size)
{
	const void *caller = __builtin_return_address(0);
	unsigned long i;

	if (!virt)
		return;
	if (!PAGE_ALIGNED(virt) || !kml_addr_in_region(virt)) {
		kml_buddy_note_misuse(&kml_buddy, KML_BAD_OUTSIDE);
		pr_err("kmemlab: free_pages_exact(%p, %zu) of an address that is not a region page, from %pS\n",
		       virt, size, caller);
		return;
	}
	for (i = 0; i < PAGE_ALIGN(size) >> PAGE_SHIFT; i++)
		free_pages_caller(virt_to_page(virt) + i, 0, caller);
}
EXPORT_SYMBOL_GPL(kml_free_pages_exact);

/* __get_free_pages: the block's address (never highmem), or 0. */
static unsigned long get_free_pages_caller(gfp_t gfp, unsigned int order, const void *caller)
{
	struct page *page = alloc_pages_caller(gfp & ~__GFP_HIGHMEM, order, caller);

	return page ? (unsigned long)page_address(page) : 0;
}

unsigned long kml_get_free_pages(gfp_t gfp, unsigned int order)
{
	return get_free_pages_caller(gfp, order, __builtin_return_address(0));
}
EXPORT_SYMBOL_GPL(kml_get_free_pages);

unsigned long kml_get_free_page(gfp_t gfp)
{
	return get_free_pages_caller(gfp, 0, __builtin_return_address(0));
}
EXPORT_SYMBOL_GPL(kml_get_free_page);

unsigned long kml_get_zeroed_page(gfp_t gfp)
{
	return get_free_pages_caller(gfp | __GFP_ZERO, 0, __builtin_return_address(0));
}
EXPORT_SYMBOL_GPL(kml_get_zeroed_page);

bool kml_addr_in_region(const void *addr)
{
	return kml_addr_page(addr) != KML_NIL;
}
EXPORT_SYMBOL_GPL(kml_addr_in_region);

static void free_addr_caller(unsigned long addr, unsigned int order, const void *caller)
{
	if (!addr)
		return;
	if (offset_in_page(addr) || !kml_addr_in_region((void *)addr)) {
		kml_buddy_note_misuse(&kml_buddy, KML_BAD_OUTSIDE);
		pr_err("kmemlab: free_pages(%p, %u) of an address that is not a region page, from %pS\n",
		       (void *)addr, order, caller);
		return;
	}
	free_pages_caller(virt_to_page((void *)addr), order, caller);
}

void kml_free_pages(unsigned long addr, unsigned int order)
{
	free_addr_caller(addr, order, __builtin_return_address(0));
}
EXPORT_SYMBOL_GPL(kml_free_pages);

void kml_free_page(unsigned long addr)
{
	free_addr_caller(addr, 0, __builtin_return_address(0));
}
EXPORT_SYMBOL_GPL(kml_free_page);

/*
 * At unload, before the region goes: the held blocks whose references are
 * gone come back; the rest stay with Linux, which frees each page when its
 * last reference goes (kmemlab drops its own as it gives the region back).
 */
void kml_pages_exit(void)
{
	cancel_delayed_work_sync(&sweep_work);
	sweep();
	if (atomic_read(&held_blocks))
		pr_err("kmemlab: %d freed blocks are still referenced at unload: left to Linux, which frees them at their last put_page\n",
		       atomic_read(&held_blocks));
}
