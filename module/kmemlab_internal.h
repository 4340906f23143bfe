/* SPDX-License-Identifier: GPL-2.0 */
/* Shared by kmemlab's kernel glue; not part of any API. */
#ifndef _KMEMLAB_INTERNAL_H
#define _KMEMLAB_INTERNAL_H

#include <linux/mm.h>
#include "compat.h"
#include "core/slab.h"

/*
 * The region: nchunks naturally aligned blocks of 2^chunk_order pages taken
 * from Linux at insmod, each split into order-0 pages, sorted by pfn. Page
 * index i of the buddy allocator is page (i mod 2^chunk_order) of chunk
 * i >> chunk_order.
 */
struct kml_region {
	unsigned int chunk_order;
	unsigned int nchunks;
	unsigned long *chunk_pfn;	/* first pfn of each chunk, ascending */
	unsigned long npages;
};

extern struct kml_region kml_region;
extern struct kml_buddy kml_buddy;
extern unsigned long kml_baseline_free;

/* gfp.c: one policy for the gfp masks of every call. */
struct kml_gfp_stats {
	atomic_long_t refused;		/* unknown bits, DMA zones */
	atomic_long_t nofail_waits;	/* __GFP_NOFAIL retries */
	atomic_long_t nofail_failed;	/* __GFP_NOFAIL that could not wait */
};

extern struct kml_gfp_stats kml_gfp_stats;
/* might_alloc(), then false (reported, counted) for a gfp kmemlab refuses. */
bool kml_gfp_begin(gfp_t gfp, const char *what, const void *caller);
bool kml_want_init_on_alloc(gfp_t gfp);
bool kml_want_init_on_free(void);
/*
 * After a failed attempt: true when the caller should try again: once for
 * a gfp that may sleep, after every CPU's magazines and free pages went
 * back (kml_slab_drain); then for as long as __GFP_NOFAIL wants.
 */
bool kml_gfp_retry(gfp_t gfp, unsigned int *attempt, const char *what, const void *caller);

int kml_region_init(unsigned int region_mb, unsigned int chunk_order);
void kml_region_exit(void);
u32 kml_page_index(const struct page *page);	/* KML_NIL if foreign */
/* pages.c: held blocks whose last reference has gone come back; at unload. */
void kml_pages_exit(void);
/*
 * An allocated block of @kind whose pages others still reference (counts
 * above kmemlab's own) is held until they drop them; true when it was (the
 * caller must not free it). vmalloc's pages and large kmalloc blocks.
 */
bool kml_pages_hold_if_busy(u32 idx, unsigned int order, enum kml_page_kind kind);

static inline struct page *kml_index_page(u32 idx)
{
	unsigned int shift = kml_region.chunk_order;

	return pfn_to_page(kml_region.chunk_pfn[idx >> shift] +
			   (idx & ((1u << shift) - 1)));
}

struct kml_vm_stats {
	unsigned long allocs, frees, failed, bad_frees;
	unsigned long pages;	/* mapped now */
	unsigned long deferred;	/* vfrees whose unmapping went to the worker */
	unsigned long vmaps, vunmaps, bad_vmaps;
};

extern struct kml_vm_stats kml_vm_stats;
struct seq_file;
int kml_vmallocinfo_show(struct seq_file *m, void *v);
/* Waits for the vfrees deferred from atomic context (debugfs drain, unload). */
void kml_vmalloc_flush(void);
void kml_vmalloc_exit(void);
/* kvmalloc.c's view of an area: its requested size (0: not a vmalloc area). */
size_t kml_vmalloc_size(const void *addr);
/* Resizes an area within its pages (vrealloc in place); false if it cannot. */
bool kml_vmalloc_resize(const void *addr, unsigned long size, gfp_t gfp);

extern struct kml_slab_sys kml_slab;

/* platform.c: the workqueue of kml_on_each_cpu; what a dead CPU held. */
int kml_platform_init(void);
void kml_platform_exit(void);
int kml_hotplug_init(void);
void kml_hotplug_exit(void);
struct dentry;
int kml_slab_api_init(void);
void kml_slab_debugfs_init(struct dentry *dir);
void kml_slab_debugfs_exit(void);
void kml_slab_api_exit(void);
int kml_slabinfo_show(struct seq_file *m, void *v);
unsigned long kml_slab_validate_all(struct seq_file *m);
void kml_slab_shrink_all(void);
/* Waits for every RCU callback of the slab layer (kvfree_rcu, type-safe slabs). */
void kml_slab_rcu_barrier(void);

/*
 * user.c: the region memory each uid holds (heap pages and ioctl objects),
 * charged against user_quota_pct of the region, and its heaps, counted
 * against user_max_heaps. Root is exempt unless quota_root is set. A NULL
 * account (none could be made for a heap fork cannot refuse) is charged nothing.
 */
struct kml_user;
/* @uid's account with a reference, made on first use; NULL without memory. */
struct kml_user *kml_user_get(kuid_t uid);
void kml_user_put(struct kml_user *u);
/* 0, or -ENOMEM when @bytes more would pass the quota (counted, reported once per burst). */
int kml_user_charge(struct kml_user *u, unsigned long bytes, const char *what);
/* Never refused: what fork shares, which no VMA's ->open can turn down. */
void kml_user_force_charge(struct kml_user *u, unsigned long bytes);
void kml_user_uncharge(struct kml_user *u, unsigned long bytes);
/* 0, or -EMFILE past user_max_heaps (reported). */
int kml_user_add_heap(struct kml_user *u);
void kml_user_del_heap(struct kml_user *u);
int kml_users_show(struct seq_file *m, void *v);	/* debugfs users */
extern atomic_long_t kml_user_refused;	/* quota and heap-limit refusals, all uids */
void kml_user_exit(void);

/* heap.c: brk and mmap emulation on /dev/kmemlab. */
struct kml_heap_stats {
	atomic_long_t heaps, pages, faults, sigbus, sigsegv, fork_pages, held;
	atomic_long_t shared;		/* region pages named by more than one heap */
	atomic_long_t cow_copies;	/* pages copied on write after a fork */
	atomic_long_t committed;	/* pages of every heap's brk range and chunks */
	atomic_long_t owned;		/* region pages that some heap names */
	atomic_long_t commit_refused;	/* brk and mmap refused by strict_commit */
};

extern struct kml_heap_stats kml_heap_stats;
struct kml_heap_file;	/* the heaps of one open file */
struct kml_heap_file *kml_heap_open(void);
void kml_heap_release(struct kml_heap_file *hf);
int kml_heap_mmap(struct kml_heap_file *hf, struct vm_area_struct *vma);
long kml_heap_brk(struct kml_heap_file *hf, void __user *arg);
int kml_heaps_show(struct seq_file *m, void *v);
/* Gives back the held heap pages nobody references any more (debugfs drain). */
void kml_heap_drain(void);
void kml_heap_exit(void);

int kml_device_init(void);
void kml_device_exit(void);

/* A kml_print_fn that prints into a seq_file. */
__printf(2, 3) void kml_seq_print(void *ctx, const char *fmt, ...);
int kml_debugfs_init(void);
void kml_debugfs_exit(void);

#endif /* _KMEMLAB_INTERNAL_H */
