/* SPDX-License-Identifier: GPL-2.0 */
/*
 * kmemlab.h - the API other kernel modules call.
 *
 * Each function mirrors the kernel function without the kml_ prefix and
 * takes its memory from kmemlab's private region instead of from Linux.
 */
#ifndef _KMEMLAB_H
#define _KMEMLAB_H

#include <linux/gfp.h>
#include <linux/mm_types.h>

/* Page allocator: blocks of 2^order pages, order <= kmemlab's max_order. */
struct page *kml_alloc_pages(gfp_t gfp, unsigned int order);
void kml___free_pages(struct page *page, unsigned int order);
unsigned long kml_get_free_pages(gfp_t gfp, unsigned int order);
unsigned long kml_get_free_page(gfp_t gfp);
unsigned long kml_get_zeroed_page(gfp_t gfp);
void kml_free_pages(unsigned long addr, unsigned int order);
void kml_free_page(unsigned long addr);

/*
 * vmalloc: virtually contiguous memory built from single region pages,
 * mapped with vmap() behind a guard page. May sleep.
 */
void *kml_vmalloc(unsigned long size);
void *kml_vzalloc(unsigned long size);
void kml_vfree(const void *addr);
struct page *kml_vmalloc_to_page(const void *addr);

/* True when @addr lies in a page of kmemlab's region. */
bool kml_addr_in_region(const void *addr);

#endif /* _KMEMLAB_H */
