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
#include "kmemlab_flags.h"	/* KML_SLAB_* */

struct kml_cache;		/* a cache; opaque */

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

/*
 * Object caches (kmem_cache_*). Flags: KML_SLAB_HWCACHE_ALIGN and the
 * debug flags KML_SLAB_CONSISTENCY, _RED_ZONE, _POISON, _STORE_USER. A
 * constructor runs when a slab is populated; freed objects must be handed
 * back in their constructed state. Names are unique and at most 31 bytes.
 */
struct kml_cache *kml_cache_create(const char *name, unsigned int size, unsigned int align,
				   unsigned int flags, void (*ctor)(void *));
void kml_cache_destroy(struct kml_cache *c);
void *kml_cache_alloc(struct kml_cache *c, gfp_t gfp);
void kml_cache_free(struct kml_cache *c, void *obj);
int kml_cache_shrink(struct kml_cache *c);

struct kml_cache_info {
	unsigned int object_size, size, order, objs_per_slab, colours;
	unsigned long active_objs;	/* handed out and not freed */
	unsigned long num_slabs, grown, reaped, errors;
};

void kml_cache_info(struct kml_cache *c, struct kml_cache_info *info);

/* kmalloc on general caches kmalloc-8 ... kmalloc_max, whole blocks beyond. */
void *kml_kmalloc(size_t size, gfp_t gfp);
void *kml_kzalloc(size_t size, gfp_t gfp);
void *kml_kcalloc(size_t n, size_t size, gfp_t gfp);
void *kml_krealloc(const void *p, size_t size, gfp_t gfp);
size_t kml_ksize(const void *p);
void kml_kfree(const void *p);

/* True when @addr lies in a page of kmemlab's region. */
bool kml_addr_in_region(const void *addr);

#endif /* _KMEMLAB_H */
