/* SPDX-License-Identifier: GPL-2.0 */
/*
 * compat.h - the kernel API as the newest supported kernel spells it, for
 * the older ones. The rest of kmemlab is written as current kernel code
 * (6.12); each block below supplies one later interface on the kernels that
 * predate it, keyed on LINUX_VERSION_CODE. Supported: 6.1 (Debian 12, also
 * PREEMPT_RT) and 6.12 (Debian 13).
 */
#ifndef _KMEMLAB_COMPAT_H
#define _KMEMLAB_COMPAT_H

#include <linux/version.h>
#include <linux/mm.h>
#include <linux/mmzone.h>
#include <linux/page_ref.h>
#include <linux/poison.h>

/*
 * The largest buddy order. 6.4 made MAX_ORDER inclusive (it had been one
 * past the largest order) and 6.8 renamed it MAX_PAGE_ORDER.
 */
#if LINUX_VERSION_CODE < KERNEL_VERSION(6, 4, 0)
#define MAX_PAGE_ORDER	(MAX_ORDER - 1)
#elif LINUX_VERSION_CODE < KERNEL_VERSION(6, 8, 0)
#define MAX_PAGE_ORDER	MAX_ORDER
#endif

#if LINUX_VERSION_CODE < KERNEL_VERSION(6, 3, 0)
/* 6.3 made vm_flags read-only outside these helpers (per-VMA locking). */
static inline void vm_flags_set(struct vm_area_struct *vma, vm_flags_t flags)
{
	vma->vm_flags |= flags;
}

/*
 * 6.3 removed zap_page_range() and exported zap_page_range_single(); on 6.1
 * the former, for a range inside one VMA, does what the latter does.
 */
static inline void kml_zap_page_range_single(struct vm_area_struct *vma, unsigned long addr,
					     unsigned long size, struct zap_details *details)
{
	WARN_ON_ONCE(details);
	zap_page_range(vma, addr, size);
}

#define zap_page_range_single kml_zap_page_range_single
#endif

/*
 * Compound pages (__GFP_COMP) made of region pages. The page allocator's
 * prep_compound_page() is not exported, so kmemlab sets what
 * compound_order(), page_size(), compound_head() and folio reference
 * counting read, in each kernel's layout: PG_head on the first page, the
 * head pointer and TAIL_MAPPING in every tail, no reference count of their
 * own in the tails, and the order with the mapping counters in the first
 * tail (page[1].compound_* on 6.1; the folio's _flags_1 low byte and
 * fields on 6.12). kml_clear_compound() undoes all of it before the pages
 * go back, so that each is again an ordinary page holding one reference.
 * Unlike Linux, tails keep page->private: kmemlab's page index.
 */
static inline void kml_prep_compound(struct page *head, unsigned int order)
{
	unsigned long i, n = 1ul << order;

	__SetPageHead(head);
	for (i = 1; i < n; i++) {
		head[i].mapping = TAIL_MAPPING;
		set_compound_head(&head[i], head);
		set_page_count(&head[i], 0);
	}
#if LINUX_VERSION_CODE < KERNEL_VERSION(6, 3, 0)
	head[1].compound_dtor = COMPOUND_PAGE_DTOR;
	set_compound_order(head, order);
	atomic_set(compound_mapcount_ptr(head), -1);
	atomic_set(compound_pincount_ptr(head), 0);
#elif LINUX_VERSION_CODE >= KERNEL_VERSION(6, 12, 0)
	{
		struct folio *folio = (struct folio *)head;

		folio->_flags_1 = (folio->_flags_1 & ~0xfful) | order;
		folio->_folio_nr_pages = n;
		atomic_set(&folio->_large_mapcount, -1);
		atomic_set(&folio->_entire_mapcount, -1);
		atomic_set(&folio->_nr_pages_mapped, 0);
		atomic_set(&folio->_pincount, 0);
		if (order > 1)
			INIT_LIST_HEAD(&folio->_deferred_list);
	}
#else
#error "kmemlab: the compound page layout of this kernel is not known (6.1 and 6.12 are)"
#endif
}

static inline void kml_clear_compound(struct page *head, unsigned int order)
{
	unsigned long i, n = 1ul << order;

#if LINUX_VERSION_CODE < KERNEL_VERSION(6, 3, 0)
	head[1].compound_dtor = NULL_COMPOUND_DTOR;
	head[1].compound_order = 0;
#else
	head[1].flags &= ~0xfful;	/* the order, in the first tail's flags */
#endif
	for (i = 1; i < n; i++) {
		head[i].mapping = NULL;
		clear_compound_head(&head[i]);
		set_page_count(&head[i], 1);
	}
	__ClearPageHead(head);
}

#endif /* _KMEMLAB_COMPAT_H */
