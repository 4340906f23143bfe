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
#include <linux/slab.h>		/* slab_flags_t, SLAB_* */
#include <linux/types.h>	/* struct rcu_head */
#include "kmemlab_flags.h"	/* KML_SLAB_* */

/*
 * Semantics shared by every call below, as Linux has them (README.md's
 * table lists where kmemlab still differs):
 *
 * - gfp: GFP_ATOMIC and GFP_NOWAIT never sleep and work in softirq and
 *   hard IRQ context (not hard IRQ on PREEMPT_RT, as for Linux); a gfp that
 *   allows direct reclaim may sleep (might_alloc() checks it). __GFP_ZERO
 *   zeroes; __GFP_NOWARN silences the failure report; __GFP_NOFAIL with
 *   reclaim allowed waits until memory comes back; __GFP_NORETRY and
 *   __GFP_RETRY_MAYFAIL never loop. Hints kmemlab has no use for
 *   (__GFP_MOVABLE, __GFP_RECLAIMABLE, __GFP_ACCOUNT, __GFP_HIGHMEM for
 *   pages, ...) are accepted. Unknown bits and zones kmemlab's region
 *   cannot supply (__GFP_DMA, __GFP_DMA32) fail the call with a report.
 * - The kernel's init_on_alloc= and init_on_free= settings apply, as
 *   want_init_on_alloc() and want_init_on_free() read them; kmemlab's
 *   module parameters init_on_alloc and init_on_free (-1: follow the
 *   kernel) override them.
 * - node arguments are accepted and ignored: the region is one node.
 */

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
 * Page references: a block freed while someone still holds a reference to
 * one of its pages (get_page()) goes back to kmemlab only after the last
 * kml_put_page() drops it (or, for references Linux code drops with
 * put_page(), when kmemlab next looks: at most a second later, and before
 * an allocation fails). kml_put_page() takes any page; a page that is not
 * kmemlab's goes to put_page().
 */
void kml_put_page(struct page *page);
/*
 * With __GFP_COMP, kml_alloc_pages returns a compound page: compound_order()
 * and page_size() read its order and get_page() on any page pins the head.
 * kml_split_page makes an order-@order block (not compound) into single
 * pages, each freed on its own.
 */
void kml_split_page(struct page *page, unsigned int order);
/* Exactly PAGE_ALIGN(size) bytes of pages; the rest of the block goes back. */
void *kml_alloc_pages_exact(size_t size, gfp_t gfp);
void kml_free_pages_exact(void *virt, size_t size);

/*
 * vmalloc: virtually contiguous memory built from single region pages,
 * mapped with vmap() behind a guard page. Allocation may sleep: the gfp
 * must allow direct reclaim, as for Linux's vmalloc (GFP_ATOMIC and
 * GFP_NOWAIT are refused with a report); GFP_NOFS and GFP_NOIO work.
 * kml_vfree works in every context kfree does, deferring the unmapping to
 * a worker in atomic context, as vfree does from interrupt. @align: a
 * power of two up to IOREMAP_MAX_ORDER (1 GiB on x86-64); an area smaller
 * than an alignment above PAGE_SIZE is backed by @align bytes of pages.
 * @caller: shown in vmallocinfo. init_on_free zeroes the pages at vfree.
 */
void *kml_vmalloc(unsigned long size);
void *kml_vzalloc(unsigned long size);
void *kml___vmalloc(unsigned long size, gfp_t gfp);
void *kml_vmalloc_node(unsigned long size, int node);
void *kml_vzalloc_node(unsigned long size, int node);
void *kml___vmalloc_node(unsigned long size, unsigned long align, gfp_t gfp, int node,
			 const void *caller);
void kml_vfree(const void *addr);
struct page *kml_vmalloc_to_page(const void *addr);
/*
 * A virtual mapping of @count pages that the caller allocated from kmemlab
 * (and keeps: kml_vunmap unmaps, the pages stay the caller's). Pages that
 * are not kmemlab's, or not allocated, are refused.
 */
void *kml_vmap(struct page **pages, unsigned int count, unsigned long flags, pgprot_t prot);
void kml_vunmap(const void *addr);

/*
 * kvmalloc: kmalloc, and vmalloc when the size is beyond a page and kmalloc
 * cannot serve it at once (it is tried with __GFP_NOWARN and __GFP_NORETRY),
 * as Linux decides; a gfp without __GFP_DIRECT_RECLAIM (GFP_ATOMIC,
 * GFP_NOWAIT) only ever gets kmalloc, GFP_NOFS and GFP_NOIO may get vmalloc
 * (6.1 and 6.12 alike). n * size overflowing gives NULL. kml_kvfree frees
 * either, in every context.
 */
void *kml_kvmalloc(size_t size, gfp_t gfp);
void *kml_kvzalloc(size_t size, gfp_t gfp);
void *kml_kvmalloc_node(size_t size, gfp_t gfp, int node);
void *kml_kvzalloc_node(size_t size, gfp_t gfp, int node);
void *kml_kvmalloc_array(size_t n, size_t size, gfp_t gfp);
void *kml_kvcalloc(size_t n, size_t size, gfp_t gfp);
/* 6.12's signature: the old size is kmemlab's to know. */
void *kml_kvrealloc(const void *p, size_t size, gfp_t gfp);
void kml_kvfree(const void *p);
void kml_kvfree_sensitive(const void *p, size_t len);

/*
 * Object caches (kmem_cache_*). Flags: the KML_SLAB_* of kmemlab_flags.h.
 * A constructor runs when a slab is populated; freed objects must be handed
 * back in their constructed state. Names are unique and at most 31 bytes.
 * kml_cache_create returns NULL on failure, as kmem_cache_create does;
 * kml_cache_create_err returns why: -EINVAL (bad name, size, align or
 * flags), -EEXIST (the name is taken), -ENOSPC (too many caches), -ENOMEM.
 * kml_kmem_cache_create takes the kernel's SLAB_* flags (slab_flags_t):
 * each is honoured, accepted where it has no meaning here, or refused with
 * -EINVAL and a report (README.md lists which).
 */
struct kml_cache *kml_cache_create(const char *name, unsigned int size, unsigned int align,
				   unsigned int flags, void (*ctor)(void *));
int kml_cache_create_err(const char *name, unsigned int size, unsigned int align,
			 unsigned int flags, void (*ctor)(void *), struct kml_cache **cp);
struct kml_cache *kml_kmem_cache_create(const char *name, unsigned int size,
					unsigned int align, slab_flags_t flags,
					void (*ctor)(void *));
void kml_cache_destroy(struct kml_cache *c);
void *kml_cache_alloc(struct kml_cache *c, gfp_t gfp);
void kml_cache_free(struct kml_cache *c, void *obj);
void *kml_cache_zalloc(struct kml_cache *c, gfp_t gfp);
void *kml_cache_alloc_node(struct kml_cache *c, gfp_t gfp, int node);
/* All @nr objects or none: returns @nr, or 0 with nothing kept. */
int kml_cache_alloc_bulk(struct kml_cache *c, gfp_t gfp, size_t nr, void **p);
void kml_cache_free_bulk(struct kml_cache *c, size_t nr, void **p);
/* The object size the cache was created with (kmem_cache_size). */
unsigned int kml_cache_size(struct kml_cache *c);
/*
 * Process context; may sleep, as kmem_cache_shrink: every CPU's magazines
 * are emptied on that CPU, and on a KML_SLAB_TYPESAFE_BY_RCU cache it
 * waits for the grace period its released slabs need.
 */
int kml_cache_shrink(struct kml_cache *c);

struct kml_cache_info {
	unsigned int object_size, size, order, objs_per_slab, colours;
	unsigned long active_objs;	/* handed out and not freed */
	unsigned long num_slabs, grown, reaped, errors;
	unsigned long rcu_pending;	/* empty slabs waiting for a grace period */
	/*
	 * The per-CPU layer: objects per magazine (0: none, a debug cache),
	 * full magazines the depot keeps, and the free objects held in CPUs'
	 * magazines and the depot now (not in active_objs). A CPU keeps at
	 * most two magazines, so at most (2 * CPUs + depot_max) * magazine
	 * free objects stay out of the slabs.
	 */
	unsigned int magazine, depot_max;
	unsigned long cached;
};

void kml_cache_info(struct kml_cache *c, struct kml_cache_info *info);

/* kmalloc on general caches kmalloc-8 ... kmalloc_max, whole blocks beyond. */
void *kml_kmalloc(size_t size, gfp_t gfp);
void *kml_kzalloc(size_t size, gfp_t gfp);
void *kml_kcalloc(size_t n, size_t size, gfp_t gfp);
void *kml_krealloc(const void *p, size_t size, gfp_t gfp);
size_t kml_ksize(const void *p);
void kml_kfree(const void *p);
void *kml_kmalloc_array(size_t n, size_t size, gfp_t gfp);
void *kml_krealloc_array(void *p, size_t n, size_t size, gfp_t gfp);
void *kml_kmalloc_node(size_t size, gfp_t gfp, int node);
void *kml_kzalloc_node(size_t size, gfp_t gfp, int node);
void *kml_kcalloc_node(size_t n, size_t size, gfp_t gfp, int node);
void *kml_kmalloc_array_node(size_t n, size_t size, gfp_t gfp, int node);
/* kfree, after zeroing the whole object (its ksize()). */
void kml_kfree_sensitive(const void *p);
void *kml_kmemdup(const void *src, size_t len, gfp_t gfp);
char *kml_kstrdup(const char *s, gfp_t gfp);
char *kml_kstrndup(const char *s, size_t max, gfp_t gfp);

/*
 * kfree_rcu / kvfree_rcu: @ptr (from kml_kmalloc, kml_cache_alloc,
 * kml_kvmalloc or kml_vmalloc) is freed after an RCU grace period; @head
 * lies inside the object. Any context. The single-argument form has no
 * rcu_head: it waits for the grace period (may sleep), as Linux's fallback.
 * kmemlab's unload waits for every pending callback (rcu_barrier()). A
 * NULL @head is the headless form (6.12's kvfree_call_rcu(NULL, ptr)); a
 * @head outside @ptr's object, or a @ptr kmemlab did not hand out, is
 * reported and counted (misuse_kfree) and nothing is freed.
 */
void kml_kvfree_call_rcu(struct rcu_head *head, void *ptr);
void kml_kvfree_rcu_mightsleep(void *ptr);

/* True when @addr lies in a page of kmemlab's region. */
bool kml_addr_in_region(const void *addr);

#endif /* _KMEMLAB_H */
