/* SPDX-License-Identifier: GPL-2.0 */
/*
 * buddy.h - kmemlab's binary buddy page allocator, in page-index space.
 *
 * The allocator knows pages only by their index in the region, 0..npages-1;
 * the glue maps indices to struct page and addresses. See buddy.c.
 */
#ifndef KML_BUDDY_H
#define KML_BUDDY_H

#include "platform.h"

#define KML_MAX_ORDER_LIMIT	15	/* order fits the tag's 4 bits */
#define KML_NIL			((u32)~0u)

/* Page states, the high nibble of the low byte of a tag. */
enum kml_page_state {
	KML_PG_TAIL = 0,	/* inside a block, not its first page */
	KML_PG_FREE,		/* heads a block on a buddy free list */
	KML_PG_PCP,		/* an order-0 page on a per-CPU list */
	KML_PG_ALLOC,		/* heads an allocated block */
	KML_PG_FREEING,		/* heads a block on its way back (transient) */
	KML_PG_HELD,		/* freed by its owner, still referenced: waits */
};

/* Who owns an allocated block: the tag's high byte. */
enum kml_page_kind {
	KML_KIND_NONE = 0,
	KML_KIND_PAGES,		/* kml_alloc_pages and friends */
	KML_KIND_SLAB,
	KML_KIND_VMALLOC,
	KML_KIND_USER,		/* /dev/kmemlab heaps and chunks */
	KML_KIND_TEST,		/* host tests */
	KML_KIND_LARGE,		/* kmalloc beyond the largest general cache */
	KML_NR_KINDS
};

#define KML_TAG(state, kind, order) \
	((u16)(((kind) << 8) | ((state) << 4) | (order)))
#define KML_TAG_ORDER(t)	((t) & 0xf)
#define KML_TAG_STATE(t)	(((t) >> 4) & 0xf)
#define KML_TAG_KIND(t)		((t) >> 8)

/*
 * Per-page metadata: 20 bytes per 4 KiB page (0.49% of the region). The
 * links serve the free lists while a block is free and its owner (the slab
 * lists) while it is allocated; pg_flags, pg_private and pg_aux are the
 * owner's (slab.c: objects in use, cache id or head index, free list and
 * colour), as struct page's fields are a slab's in SLUB.
 */
struct kml_page {
	u32 pg_next;	/* list link, KML_NIL ends */
	u32 pg_prev;	/* back link */
	u16 pg_tag;	/* KML_TAG(state, kind, order) */
	u16 pg_flags;	/* owner's use */
	u32 pg_private;	/* owner's use */
	u32 pg_aux;	/* owner's use */
};

/*
 * Doubly linked lists of pages by index, through pg_next and pg_prev, ended
 * by KML_NIL: the buddy's free lists and the slab lists share them.
 */
static inline void kml_page_list_push(struct kml_page *pages, u32 *head, u32 idx)
{
	pages[idx].pg_prev = KML_NIL;
	pages[idx].pg_next = *head;
	if (*head != KML_NIL)
		pages[*head].pg_prev = idx;
	*head = idx;
}

static inline void kml_page_list_del(struct kml_page *pages, u32 *head, u32 idx)
{
	struct kml_page *p = &pages[idx];

	if (p->pg_prev != KML_NIL)
		pages[p->pg_prev].pg_next = p->pg_next;
	else
		*head = p->pg_next;
	if (p->pg_next != KML_NIL)
		pages[p->pg_next].pg_prev = p->pg_prev;
}

/*
 * A CPU's list of order-0 pages, in per-CPU memory, under that CPU's local
 * lock (only that CPU takes it); the lock nests outside the zone lock.
 */
struct kml_pcp {
	kml_pcpu_lock_t pcpu_lock;
	u32 pcp_head;
	u32 pcp_count;
	unsigned long pcp_allocs;	/* served from the list */
	unsigned long pcp_frees;	/* taken onto the list */
};

enum kml_misuse {
	KML_BAD_OUTSIDE,	/* index outside the region */
	KML_BAD_DOUBLE_FREE,	/* block already free */
	KML_BAD_NOT_HEAD,	/* inside an allocated block */
	KML_BAD_ORDER,		/* freed with another order than allocated */
	KML_BAD_KIND,		/* freed through another owner's call */
	KML_NR_MISUSE
};

struct kml_buddy {
	kml_lock_t zone_lock;	/* free lists, nr_free, merge/split, counters */
	u32 npages;	/* a multiple of 1 << max_order */
	unsigned int max_order;
	u32 free_head[KML_MAX_ORDER_LIMIT + 1];
	unsigned long nr_free[KML_MAX_ORDER_LIMIT + 1];
	unsigned long allocs[KML_MAX_ORDER_LIMIT + 1];	/* by order */
	unsigned long failed[KML_MAX_ORDER_LIMIT + 1];	/* by order */
	unsigned long splits, merges, drains;
	unsigned long misuse[KML_NR_MISUSE];
	u32 held_head;		/* HELD blocks, linked through pg_next/pg_prev */
	unsigned long held_pages;
	unsigned int pcp_high;	/* drain to pcp_batch above this */
	unsigned int pcp_batch;	/* pages moved per refill or drain */
	struct kml_pcp __percpu *pcp;
	struct kml_page *pages;	/* npages entries */
	/* Called, unlocked, when an allocation is about to fail. */
	void (*reclaim)(void *ctx);
	void *reclaim_ctx;
	/*
	 * Pages promised to user heaps (strict commit): other kinds may not
	 * take the free pages below this many; <= 0 promises nothing.
	 */
	long reserve;
};

int kml_buddy_init(struct kml_buddy *b, u32 npages, unsigned int max_order);
void kml_buddy_destroy(struct kml_buddy *b);
size_t kml_buddy_meta_bytes(u32 npages, unsigned int nr_cpus);

/* Returns the index of the first page of a 1 << order block, or KML_NIL. */
u32 kml_buddy_alloc(struct kml_buddy *b, unsigned int order,
		    enum kml_page_kind kind);
/* Returns 0, or -EINVAL after reporting and counting a misuse (nothing changes). */
int kml_buddy_free(struct kml_buddy *b, u32 idx, unsigned int order,
		   enum kml_page_kind kind);
/*
 * Up to @n order-0 pages at once, under one hold of this CPU's list lock:
 * returns how many were written to @out (fewer only when the free lists
 * ran out; no reclaim is tried). kml_buddy_free_bulk frees such pages,
 * each checked as kml_buddy_free checks it; returns the misuses found.
 */
unsigned int kml_buddy_alloc_bulk(struct kml_buddy *b, unsigned int n,
				  enum kml_page_kind kind, u32 *out);
unsigned int kml_buddy_free_bulk(struct kml_buddy *b, const u32 *idx,
				 unsigned int n, enum kml_page_kind kind);
/*
 * The first page of the block that contains page @idx, from the tags
 * (KML_NIL if none). Stable while that block stays allocated; otherwise
 * a best guess, for reports.
 */
u32 kml_buddy_block_head(struct kml_buddy *b, u32 idx);
/*
 * A block whose owner frees it while others still hold references to its
 * pages (the glue knows: page reference counts) is held, not freed. A free
 * in two steps: kml_buddy_claim turns a correctly freed block (ALLOC of
 * @kind and @order) into a HELD one, or reports and counts the misuse as
 * kml_buddy_free would, changing nothing; so of two racing frees exactly
 * one claims. The claimant then either frees it (kml_buddy_free_claimed)
 * or parks it on the held list (kml_buddy_park), from which
 * kml_buddy_unpark takes up to @max blocks that @busy says nothing
 * references any more (still HELD, for the caller to free with
 * kml_buddy_free_claimed). @busy runs under the zone lock.
 */
typedef bool (*kml_busy_fn)(void *ctx, u32 idx, unsigned int order);
struct kml_held {
	u32 idx;
	u16 order, kind;
};

int kml_buddy_claim(struct kml_buddy *b, u32 idx, unsigned int order,
		    enum kml_page_kind kind);
int kml_buddy_free_claimed(struct kml_buddy *b, u32 idx, unsigned int order,
			   enum kml_page_kind kind);
void kml_buddy_park(struct kml_buddy *b, u32 idx);
unsigned int kml_buddy_unpark(struct kml_buddy *b, kml_busy_fn busy, void *ctx,
			      struct kml_held *out, unsigned int max);
/*
 * The order of the @kind block at @idx, ALLOC (or HELD when @held), or -1
 * if it is not one. A read, for callers that decide before they claim.
 */
int kml_buddy_block_order(struct kml_buddy *b, u32 idx, enum kml_page_kind kind,
			  bool held);
/* An allocated block of @order becomes 1 << @order allocated order-0 blocks. */
int kml_buddy_split(struct kml_buddy *b, u32 idx, unsigned int order,
		    enum kml_page_kind kind);
/* Counts a misuse the caller found before it had a page index. */
void kml_buddy_note_misuse(struct kml_buddy *b, enum kml_misuse m);
/*
 * Gives every per-CPU page back to the free lists: each CPU's on that CPU
 * (kml_on_each_cpu). Process context, may sleep, no kmemlab lock held.
 * An allocation about to fail, in any context, drains only its own CPU's
 * list: a caller that may sleep drains them all and tries again.
 */
void kml_buddy_drain(struct kml_buddy *b);
/* CPU @cpu's list: in a kml_on_each_cpu callback for @cpu, or for a dead CPU. */
void kml_buddy_drain_cpu(struct kml_buddy *b, unsigned int cpu);
/* Counts free pages (free lists and per-CPU lists). */
unsigned long kml_buddy_free_pages(struct kml_buddy *b);

/* The allocator's shape and counters, read without locks (for debugfs). */
struct kml_buddy_stats {
	unsigned int max_order, pcp_high, pcp_batch;
	unsigned long free_pages;		/* free lists and per-CPU lists */
	unsigned long pcp_pages, pcp_allocs, pcp_frees;	/* summed over CPUs */
	unsigned long nr_free[KML_MAX_ORDER_LIMIT + 1];	/* blocks by order */
	unsigned long allocs[KML_MAX_ORDER_LIMIT + 1], failed[KML_MAX_ORDER_LIMIT + 1];
	unsigned long splits, merges, drains;
	unsigned long misuse[KML_NR_MISUSE];
	unsigned long held_pages;	/* freed, still referenced */
};

void kml_buddy_stats(struct kml_buddy *b, struct kml_buddy_stats *st);
/* True when all memory is in max-order blocks on the free lists. */
bool kml_buddy_pristine(struct kml_buddy *b);
/* Checks every invariant; prints each violation; returns their count. */
unsigned long kml_buddy_validate(struct kml_buddy *b, kml_print_fn pr, void *ctx);

/*
 * One printer for every validate walk: the first violations are printed
 * through @pr as "WHO: what", the rest only counted; kml_validation_end
 * prints how many went unprinted and returns the count.
 */
struct kml_validation {
	kml_print_fn pr;	/* NULL: the kernel log (kml_err) */
	void *ctx;
	const char *who;	/* "buddy", or a cache's name */
	unsigned long errors;
};

__printf(2, 3) void kml_violation(struct kml_validation *v, const char *fmt, ...);
unsigned long kml_validation_end(struct kml_validation *v);
/*
 * Calls fn for each block (or stray page) that starts in [from, from + n),
 * in index order, under the zone lock; returns where the next walk starts
 * (past the last block, which may end beyond from + n).
 */
u32 kml_buddy_walk(struct kml_buddy *b, u32 from, u32 n,
		   void (*fn)(void *ctx, u32 idx, u32 n, u16 tag), void *ctx);

/*
 * Fragmentation of the free lists for a request of @order, in thousandths,
 * as /proc/sys/vm/extfrag_threshold and debugfs extfrag/ report them:
 * kml_frag_index: -1000 when a free block of @order exists, 0 when nothing
 * is free or failure would be for lack of memory, towards 1000 when it
 * would be for fragmentation. kml_unusable_index: the share of free memory
 * in blocks too small for @order (1000 when nothing is free).
 */
int kml_frag_index(const unsigned long *nr_free, unsigned int max_order,
		   unsigned int order);
int kml_unusable_index(const unsigned long *nr_free, unsigned int max_order,
		       unsigned int order);

extern const char *const kml_kind_name[KML_NR_KINDS];
extern const char *const kml_misuse_name[KML_NR_MISUSE];

#endif /* KML_BUDDY_H */
