// SPDX-License-Identifier: GPL-2.0
/*
 * buddy.c - a binary buddy page allocator over kmemlab's private region.
 *
 * Theory. The region is npages pages, a multiple of 2^max_order, known here
 * only by index. A block of order k is 2^k pages whose first index is a
 * multiple of 2^k; its buddy is the block at index ^ 2^k. Allocation takes
 * the first block of the smallest order >= k that has one and splits it,
 * putting each upper half on the free list of its order. Freeing merges the
 * block with its buddy while the buddy is free and of the same order. Both
 * walk at most max_order steps.
 *
 * Metadata lives outside the pages handed out: one struct kml_page per page.
 * Its 16-bit tag says what the page is: the head of a free, per-CPU,
 * allocated or freeing block (with the block's order and, when allocated,
 * its owner), or a tail inside some block. Every split marks the new upper
 * head; every merge marks the absorbed head a tail; so each page is always
 * either a head or inside the block of the nearest head below it whose
 * order covers it. That is what lets a free be checked in O(max_order):
 * the tag of a correctly freed page is exactly ALLOC(kind, order), and any
 * other tag says which misuse it is.
 *
 * Frees claim the block with a compare-and-exchange of the tag from
 * ALLOC(kind, order) to PCP or FREEING, so that of two racing frees of one
 * block exactly one wins and the other is reported as a double free.
 *
 * Per-CPU lists. Order-0 pages are served from, and freed to, a list per
 * CPU in per-CPU memory under that CPU's local lock (interrupts off, no
 * atomic beyond the tag's compare-and-exchange; a per-CPU lock on
 * PREEMPT_RT), so single-page traffic on different CPUs does not meet on
 * the zone lock. A list is refilled with pcp_batch pages at once when
 * empty and drained by pcp_batch pages when longer than pcp_high. Pages on
 * these lists are not merged. Only the owner touches its list: others run
 * there (kml_on_each_cpu), so kml_buddy_drain() and validate are process
 * context. An allocation about to fail, in any context, asks the owner's
 * reclaim hook to shrink its caches and drains its own CPU's list before
 * it gives up; up to pcp_high pages per other CPU stay out of its reach,
 * as in Linux, where only direct reclaim drains every CPU's lists. The
 * glue's callers that may sleep do that (kml_gfp_retry, heap faults).
 *
 * Locking. A CPU's local lock nests outside zone_lock; no two are ever
 * held together. zone_lock protects the free lists, nr_free, the
 * FREE/TAIL tags, and the counters other than the per-CPU ones. A pcp list
 * and its counters belong to its lock. Tags of allocated blocks change only
 * through the compare-and-exchange above or under the lock of the list the
 * page goes to or comes from.
 */
#include "buddy.h"

const char *const kml_kind_name[KML_NR_KINDS] = {
	"none", "pages", "slab", "vmalloc", "user", "test", "kmalloc",
};

const char *const kml_misuse_name[KML_NR_MISUSE] = {
	"outside", "double_free", "not_head", "wrong_order", "wrong_owner",
};

static const char *const state_name[] = {
	"tail", "free", "pcp", "allocated", "freeing", "held",
};

static inline struct kml_page *pg(struct kml_buddy *b, u32 idx)
{
	return &b->pages[idx];
}

static inline void set_tag(struct kml_buddy *b, u32 idx, u16 tag)
{
	KML_WRITE(pg(b, idx)->pg_tag, tag);
}

static inline u16 get_tag(struct kml_buddy *b, u32 idx)
{
	return KML_READ(pg(b, idx)->pg_tag);
}

static void free_list_add(struct kml_buddy *b, u32 idx, unsigned int order)
{
	kml_lock_assert_held(&b->zone_lock);
	kml_page_list_push(b->pages, &b->free_head[order], idx);
	b->nr_free[order]++;
	set_tag(b, idx, KML_TAG(KML_PG_FREE, KML_KIND_NONE, order));
}

static void free_list_del(struct kml_buddy *b, u32 idx, unsigned int order)
{
	kml_lock_assert_held(&b->zone_lock);
	KML_DEBUG_ASSERT(get_tag(b, idx) == KML_TAG(KML_PG_FREE, KML_KIND_NONE, order));
	kml_page_list_del(b->pages, &b->free_head[order], idx);
	b->nr_free[order]--;
}

/* Takes a block of exactly @order off the free lists. */
static u32 rmqueue(struct kml_buddy *b, unsigned int order)
{
	unsigned int o;
	u32 idx;

	kml_lock_assert_held(&b->zone_lock);
	for (o = order; o <= b->max_order; o++)
		if (b->free_head[o] != KML_NIL)
			break;
	if (o > b->max_order)
		return KML_NIL;
	idx = b->free_head[o];
	free_list_del(b, idx, o);
	while (o > order) {
		o--;
		b->splits++;
		free_list_add(b, idx + (1u << o), o);
	}
	return idx;
}

/* Gives a block whose tag is not FREE back, merging. */
static void free_block(struct kml_buddy *b, u32 idx, unsigned int order)
{
	kml_lock_assert_held(&b->zone_lock);
	KML_DEBUG_ASSERT(KML_TAG_STATE(get_tag(b, idx)) != KML_PG_FREE);
	while (order < b->max_order) {
		u32 buddy = idx ^ (1u << order);

		if (get_tag(b, buddy) != KML_TAG(KML_PG_FREE, KML_KIND_NONE, order))
			break;
		free_list_del(b, buddy, order);
		set_tag(b, idx > buddy ? idx : buddy, KML_TAG(KML_PG_TAIL, 0, 0));
		idx = idx < buddy ? idx : buddy;
		order++;
		b->merges++;
	}
	free_list_add(b, idx, order);
}

size_t kml_buddy_meta_bytes(u32 npages, unsigned int nr_cpus)
{
	return sizeof(struct kml_buddy) + (size_t)npages * sizeof(struct kml_page) +
	       (size_t)nr_cpus * sizeof(struct kml_pcp);
}

int kml_buddy_init(struct kml_buddy *b, u32 npages, unsigned int max_order)
{
	unsigned long flags = 0;
	u32 idx;
	unsigned int i;

	memset(b, 0, sizeof(*b));
	if (max_order > KML_MAX_ORDER_LIMIT || npages == 0 || npages >= KML_NIL ||
	    npages & ((1u << max_order) - 1))
		return -EINVAL;
	b->npages = npages;
	b->max_order = max_order;
	b->pages = kml_meta_zalloc((size_t)npages * sizeof(struct kml_page));
	b->pcp = kml_percpu_alloc(struct kml_pcp);
	if (!b->pages || !b->pcp) {
		kml_buddy_destroy(b);
		return -ENOMEM;
	}
	kml_lock_init(&b->zone_lock);
	for (i = 0; i <= KML_MAX_ORDER_LIMIT; i++)
		b->free_head[i] = KML_NIL;
	b->held_head = KML_NIL;
	kml_for_each_cpu(i) {
		kml_pcpu_lock_init(&kml_per_cpu(b->pcp, i)->pcpu_lock);
		kml_per_cpu(b->pcp, i)->pcp_head = KML_NIL;
	}
	/* Linux sizes its batch from the zone; a 64 MiB region gets 16. */
	b->pcp_batch = npages >> 10;
	if (b->pcp_batch < 1)
		b->pcp_batch = 1;
	if (b->pcp_batch > 63)
		b->pcp_batch = 63;
	b->pcp_high = 4 * b->pcp_batch;
	/*
	 * Tags start zeroed, i.e. all tails; put each max-order head on its
	 * list, last first, so that allocation starts at the region's start.
	 */
	kml_lock(&b->zone_lock, flags);
	for (idx = npages; idx; idx -= 1u << max_order)
		free_list_add(b, idx - (1u << max_order), max_order);
	kml_unlock(&b->zone_lock, flags);
	return 0;
}

void kml_buddy_destroy(struct kml_buddy *b)
{
	kml_meta_free(b->pages);
	if (b->pcp)
		kml_percpu_free(b->pcp);
	b->pages = NULL;
	b->pcp = NULL;
}

/* Moves up to @n pages from the per-CPU list @pcp to the free lists. */
static noinline void pcp_drain_locked(struct kml_buddy *b, struct kml_pcp *pcp,
				      unsigned int n)
{
	unsigned long flags = 0;

	kml_lock(&b->zone_lock, flags);
	while (n-- && pcp->pcp_count) {
		u32 idx = pcp->pcp_head;

		pcp->pcp_head = pg(b, idx)->pg_next;
		pcp->pcp_count--;
		free_block(b, idx, 0);
	}
	kml_unlock(&b->zone_lock, flags);
}

void kml_buddy_drain_cpu(struct kml_buddy *b, unsigned int cpu)
{
	unsigned long flags = 0;
	struct kml_pcp *pcp;

	pcp = kml_cpu_lock(b->pcp, cpu, flags);
	if (pcp->pcp_count)
		pcp_drain_locked(b, pcp, pcp->pcp_count);
	kml_local_unlock(b->pcp, pcp, flags);
}

static void pcp_drain_cpu(void *arg, unsigned int cpu)
{
	kml_buddy_drain_cpu(arg, cpu);
}

/* This CPU's list, whole; any context. */
static void pcp_drain_local(struct kml_buddy *b)
{
	unsigned long flags = 0;
	struct kml_pcp *pcp;

	pcp = kml_local_lock(b->pcp, flags);
	if (pcp->pcp_count)
		pcp_drain_locked(b, pcp, pcp->pcp_count);
	kml_local_unlock(b->pcp, pcp, flags);
}

void kml_buddy_drain(struct kml_buddy *b)
{
	unsigned long flags = 0;

	kml_on_each_cpu(pcp_drain_cpu, b);
	kml_lock(&b->zone_lock, flags);
	b->drains++;
	kml_unlock(&b->zone_lock, flags);
}

/* Refills an empty per-CPU list with @want pages from the free lists. */
static noinline void pcp_refill(struct kml_buddy *b, struct kml_pcp *pcp,
				unsigned int want)
{
	unsigned long flags = 0;
	unsigned int n;

	KML_DEBUG_ASSERT(!pcp->pcp_count);
	kml_lock(&b->zone_lock, flags);
	for (n = 0; n < want; n++) {
		u32 i = rmqueue(b, 0);

		if (i == KML_NIL)
			break;
		pg(b, i)->pg_next = pcp->pcp_head;
		set_tag(b, i, KML_TAG(KML_PG_PCP, KML_KIND_NONE, 0));
		pcp->pcp_head = i;
		pcp->pcp_count++;
	}
	kml_unlock(&b->zone_lock, flags);
}

static inline u32 pcp_alloc(struct kml_buddy *b, enum kml_page_kind kind)
{
	unsigned long flags = 0;
	struct kml_pcp *pcp;
	u32 idx = KML_NIL;

	pcp = kml_local_lock(b->pcp, flags);
	if (unlikely(!pcp->pcp_count))
		pcp_refill(b, pcp, b->pcp_batch);
	if (likely(pcp->pcp_count)) {
		idx = pcp->pcp_head;
		pcp->pcp_head = pg(b, idx)->pg_next;
		pcp->pcp_count--;
		pcp->pcp_allocs++;
		set_tag(b, idx, KML_TAG(KML_PG_ALLOC, kind, 0));
	}
	kml_local_unlock(b->pcp, pcp, flags);
	return idx;
}

static u32 zone_alloc(struct kml_buddy *b, unsigned int order,
		      enum kml_page_kind kind)
{
	unsigned long flags = 0;
	u32 idx;

	kml_lock(&b->zone_lock, flags);
	idx = rmqueue(b, order);
	if (idx != KML_NIL) {
		b->allocs[order]++;
		set_tag(b, idx, KML_TAG(KML_PG_ALLOC, kind, order));
	}
	kml_unlock(&b->zone_lock, flags);
	return idx;
}

/*
 * Higher orders, and order 0 when the per-CPU list and the free lists had
 * nothing: when short, give back what the per-CPU lists and the owner's
 * caches hold, then try once more.
 */
static noinline u32 alloc_slow(struct kml_buddy *b, unsigned int order,
			       enum kml_page_kind kind, bool tried)
{
	unsigned long flags = 0;
	u32 idx;

	if (order > b->max_order)
		return KML_NIL;
	if (!tried) {
		idx = order ? zone_alloc(b, order, kind) : pcp_alloc(b, kind);
		if (idx != KML_NIL)
			return idx;
	}
	if (b->reclaim)
		b->reclaim(b->reclaim_ctx);
	pcp_drain_local(b);
	idx = order ? zone_alloc(b, order, kind) : pcp_alloc(b, kind);
	if (idx != KML_NIL)
		return idx;
	kml_lock(&b->zone_lock, flags);
	b->failed[order]++;
	kml_unlock(&b->zone_lock, flags);
	return KML_NIL;
}

/* Would this allocation take pages promised to the heaps? */
static bool into_reserve(struct kml_buddy *b, unsigned long pages, enum kml_page_kind kind)
{
	long reserve = KML_READ(b->reserve);

	return unlikely(reserve > 0) && kind != KML_KIND_USER &&
	       kml_buddy_free_pages(b) < (unsigned long)reserve + pages;
}

u32 kml_buddy_alloc(struct kml_buddy *b, unsigned int order,
		    enum kml_page_kind kind)
{
	unsigned long flags = 0;
	u32 idx;

	if (into_reserve(b, 1ul << order, kind)) {
		kml_lock(&b->zone_lock, flags);
		b->failed[order > b->max_order ? b->max_order : order]++;
		kml_unlock(&b->zone_lock, flags);
		return KML_NIL;
	}
	if (likely(order == 0)) {
		idx = pcp_alloc(b, kind);
		if (unlikely(idx == KML_NIL))
			idx = alloc_slow(b, 0, kind, true);
	} else {
		idx = alloc_slow(b, order, kind, false);
	}
	KML_DEBUG_CHECK(kml_buddy_validate(b, NULL, NULL));
	return idx;
}

unsigned int kml_buddy_alloc_bulk(struct kml_buddy *b, unsigned int n,
				  enum kml_page_kind kind, u32 *out)
{
	unsigned long flags = 0;
	unsigned int got = 0;
	struct kml_pcp *pcp;

	if (into_reserve(b, n, kind))
		return 0;
	pcp = kml_local_lock(b->pcp, flags);
	while (got < n) {
		u32 idx;

		if (!pcp->pcp_count) {
			/* At most pcp_high pages per hold of the zone lock. */
			unsigned int want = n - got;

			want = want < b->pcp_batch ? b->pcp_batch : want;
			pcp_refill(b, pcp, want > b->pcp_high ? b->pcp_high : want);
			if (!pcp->pcp_count)
				break;
		}
		idx = pcp->pcp_head;
		pcp->pcp_head = pg(b, idx)->pg_next;
		pcp->pcp_count--;
		set_tag(b, idx, KML_TAG(KML_PG_ALLOC, kind, 0));
		out[got++] = idx;
	}
	pcp->pcp_allocs += got;
	kml_local_unlock(b->pcp, pcp, flags);
	KML_DEBUG_CHECK(kml_buddy_validate(b, NULL, NULL));
	return got;
}

u32 kml_buddy_block_head(struct kml_buddy *b, u32 idx)
{
	unsigned int o;

	if (idx >= b->npages)
		return KML_NIL;
	for (o = 0; o <= b->max_order; o++) {
		u32 h = idx & ~((1u << o) - 1);
		u16 t = get_tag(b, h);

		if (KML_TAG_STATE(t) != KML_PG_TAIL && KML_TAG_ORDER(t) >= o)
			return h;
	}
	return KML_NIL;
}

static noinline int misuse(struct kml_buddy *b, u32 idx, unsigned int order,
			   enum kml_page_kind kind, u16 tag)
{
	unsigned long flags = 0;
	enum kml_misuse m;
	u32 head = idx;

	kml_lock(&b->zone_lock, flags);
	if (KML_TAG_STATE(tag) == KML_PG_TAIL) {
		head = kml_buddy_block_head(b, idx);
		tag = head == KML_NIL ? 0 : get_tag(b, head);
	}
	switch (KML_TAG_STATE(tag)) {
	case KML_PG_FREE:
	case KML_PG_PCP:
	case KML_PG_FREEING:
	case KML_PG_HELD:
		m = KML_BAD_DOUBLE_FREE;
		break;
	case KML_PG_ALLOC:
		if (head != idx)
			m = KML_BAD_NOT_HEAD;
		else if (KML_TAG_KIND(tag) != kind)
			m = KML_BAD_KIND;
		else
			m = KML_BAD_ORDER;
		break;
	default:
		m = KML_BAD_NOT_HEAD;
		break;
	}
	b->misuse[m]++;
	kml_unlock(&b->zone_lock, flags);

	switch (m) {
	case KML_BAD_DOUBLE_FREE:
		kml_err("double free of page %u (order %u): it is in a %s block of order %u at page %u\n",
			idx, order, state_name[KML_TAG_STATE(tag)],
			KML_TAG_ORDER(tag), head);
		break;
	case KML_BAD_NOT_HEAD:
		kml_err("free of page %u (order %u): not the first page of a block; it is inside the order-%u block at page %u\n",
			idx, order, KML_TAG_ORDER(tag), head);
		break;
	case KML_BAD_KIND:
		kml_err("free of page %u as %s: it was allocated by %s\n",
			idx, kml_kind_name[kind], kml_kind_name[KML_TAG_KIND(tag)]);
		break;
	default:
		kml_err("free of page %u with order %u: it was allocated with order %u\n",
			idx, order, KML_TAG_ORDER(tag));
		break;
	}
	return -EINVAL;
}

void kml_buddy_note_misuse(struct kml_buddy *b, enum kml_misuse m)
{
	unsigned long flags = 0;

	kml_lock(&b->zone_lock, flags);
	b->misuse[m]++;
	kml_unlock(&b->zone_lock, flags);
}

/* The range checks of free_slow, for calls that do not free. */
static int check_range(struct kml_buddy *b, u32 idx, unsigned int order)
{
	if (idx >= b->npages) {
		kml_buddy_note_misuse(b, KML_BAD_OUTSIDE);
		kml_err("free of page %u order %u: not in the region (%u pages)\n",
			idx, order, b->npages);
		return -EINVAL;
	}
	if (order > b->max_order) {
		kml_buddy_note_misuse(b, KML_BAD_ORDER);
		kml_err("free of page %u with order %u: above max_order %u\n",
			idx, order, b->max_order);
		return -EINVAL;
	}
	return 0;
}

/* Higher orders and calls that fail the fast path's range check. */
static noinline int free_slow(struct kml_buddy *b, u32 idx, unsigned int order,
			      enum kml_page_kind kind, unsigned int state)
{
	u16 expect = KML_TAG(state, kind, order);
	unsigned long flags = 0;
	u16 old;

	if (check_range(b, idx, order))
		return -EINVAL;
	old = kml_cmpxchg16(&pg(b, idx)->pg_tag, expect,
			    KML_TAG(KML_PG_FREEING, kind, order));
	if (old != expect)
		return misuse(b, idx, order, kind, old);
	kml_lock(&b->zone_lock, flags);
	free_block(b, idx, order);
	kml_unlock(&b->zone_lock, flags);
	return 0;
}

/* Frees a block in @state: ALLOC, or HELD when its caller claimed it. */
static inline int buddy_free(struct kml_buddy *b, u32 idx, unsigned int order,
			     enum kml_page_kind kind, unsigned int state)
{
	u16 expect = KML_TAG(state, kind, 0);
	unsigned long flags = 0;
	struct kml_pcp *pcp;
	u16 old;

	if (unlikely(order != 0 || idx >= b->npages))
		return free_slow(b, idx, order, kind, state);
	pcp = kml_local_lock(b->pcp, flags);
	old = kml_cmpxchg16(&pg(b, idx)->pg_tag, expect,
			    KML_TAG(KML_PG_PCP, KML_KIND_NONE, 0));
	if (likely(old == expect)) {
		pg(b, idx)->pg_next = pcp->pcp_head;
		pcp->pcp_head = idx;
		pcp->pcp_frees++;
		if (unlikely(++pcp->pcp_count > b->pcp_high))
			pcp_drain_locked(b, pcp, b->pcp_batch);
	}
	kml_local_unlock(b->pcp, pcp, flags);
	if (unlikely(old != expect))
		return misuse(b, idx, order, kind, old);
	return 0;
}

int kml_buddy_free(struct kml_buddy *b, u32 idx, unsigned int order,
		   enum kml_page_kind kind)
{
	int ret = buddy_free(b, idx, order, kind, KML_PG_ALLOC);

	KML_DEBUG_CHECK(kml_buddy_validate(b, NULL, NULL));
	return ret;
}

int kml_buddy_free_claimed(struct kml_buddy *b, u32 idx, unsigned int order,
			   enum kml_page_kind kind)
{
	int ret = buddy_free(b, idx, order, kind, KML_PG_HELD);

	KML_DEBUG_CHECK(kml_buddy_validate(b, NULL, NULL));
	return ret;
}

unsigned int kml_buddy_free_bulk(struct kml_buddy *b, const u32 *idx,
				 unsigned int n, enum kml_page_kind kind)
{
	u16 expect = KML_TAG(KML_PG_ALLOC, kind, 0);
	unsigned int i, bad = 0;
	unsigned long flags = 0;
	struct kml_pcp *pcp;

	pcp = kml_local_lock(b->pcp, flags);
	for (i = 0; i < n; i++) {
		u16 old = KML_TAG(KML_PG_TAIL, 0, 0);

		if (idx[i] < b->npages)
			old = kml_cmpxchg16(&pg(b, idx[i])->pg_tag, expect,
					    KML_TAG(KML_PG_PCP, KML_KIND_NONE, 0));
		if (unlikely(old != expect)) {
			/* Reported outside the list lock, as kml_buddy_free does. */
			kml_local_unlock(b->pcp, pcp, flags);
			if (idx[i] < b->npages)
				misuse(b, idx[i], 0, kind, old);
			else
				free_slow(b, idx[i], 0, kind, KML_PG_ALLOC);
			bad++;
			pcp = kml_local_lock(b->pcp, flags);
			continue;
		}
		pg(b, idx[i])->pg_next = pcp->pcp_head;
		pcp->pcp_head = idx[i];
		pcp->pcp_frees++;
		if (++pcp->pcp_count > b->pcp_high)
			pcp_drain_locked(b, pcp, b->pcp_batch);
	}
	kml_local_unlock(b->pcp, pcp, flags);
	KML_DEBUG_CHECK(kml_buddy_validate(b, NULL, NULL));
	return bad;
}

int kml_buddy_claim(struct kml_buddy *b, u32 idx, unsigned int order,
		    enum kml_page_kind kind)
{
	u16 expect = KML_TAG(KML_PG_ALLOC, kind, order), old;

	if (check_range(b, idx, order))
		return -EINVAL;
	old = kml_cmpxchg16(&pg(b, idx)->pg_tag, expect, KML_TAG(KML_PG_HELD, kind, order));
	if (old != expect)
		return misuse(b, idx, order, kind, old);
	return 0;
}

void kml_buddy_park(struct kml_buddy *b, u32 idx)
{
	unsigned long flags = 0;

	kml_lock(&b->zone_lock, flags);
	KML_DEBUG_ASSERT(KML_TAG_STATE(get_tag(b, idx)) == KML_PG_HELD);
	kml_page_list_push(b->pages, &b->held_head, idx);
	b->held_pages += 1ul << KML_TAG_ORDER(get_tag(b, idx));
	kml_unlock(&b->zone_lock, flags);
	KML_DEBUG_CHECK(kml_buddy_validate(b, NULL, NULL));
}

unsigned int kml_buddy_unpark(struct kml_buddy *b, kml_busy_fn busy, void *ctx,
			      struct kml_held *out, unsigned int max)
{
	unsigned long flags = 0;
	unsigned int n = 0;
	u32 idx, next;

	kml_lock(&b->zone_lock, flags);
	for (idx = b->held_head; idx != KML_NIL && n < max; idx = next) {
		u16 tag = get_tag(b, idx);
		unsigned int order = KML_TAG_ORDER(tag);

		next = pg(b, idx)->pg_next;
		KML_DEBUG_ASSERT(KML_TAG_STATE(tag) == KML_PG_HELD);
		if (busy(ctx, idx, order))
			continue;
		kml_page_list_del(b->pages, &b->held_head, idx);
		b->held_pages -= 1ul << order;
		out[n].idx = idx;
		out[n].order = order;
		out[n].kind = KML_TAG_KIND(tag);
		n++;
	}
	kml_unlock(&b->zone_lock, flags);
	return n;
}

int kml_buddy_block_order(struct kml_buddy *b, u32 idx, enum kml_page_kind kind,
			  bool held)
{
	u16 tag;

	if (idx >= b->npages)
		return -1;
	tag = get_tag(b, idx);
	if (KML_TAG_STATE(tag) != (held ? KML_PG_HELD : KML_PG_ALLOC) ||
	    KML_TAG_KIND(tag) != kind)
		return -1;
	return KML_TAG_ORDER(tag);
}

int kml_buddy_split(struct kml_buddy *b, u32 idx, unsigned int order,
		    enum kml_page_kind kind)
{
	u16 expect = KML_TAG(KML_PG_ALLOC, kind, order), old;
	unsigned long flags = 0;
	u32 i;

	if (check_range(b, idx, order))
		return -EINVAL;
	/* FREEING, while the tails change: no free can claim the block meanwhile. */
	old = kml_cmpxchg16(&pg(b, idx)->pg_tag, expect, KML_TAG(KML_PG_FREEING, kind, order));
	if (old != expect)
		return misuse(b, idx, order, kind, old);
	kml_lock(&b->zone_lock, flags);
	for (i = (1u << order) - 1; i > 0; i--)
		set_tag(b, idx + i, KML_TAG(KML_PG_ALLOC, kind, 0));
	set_tag(b, idx, KML_TAG(KML_PG_ALLOC, kind, 0));
	kml_unlock(&b->zone_lock, flags);
	KML_DEBUG_CHECK(kml_buddy_validate(b, NULL, NULL));
	return 0;
}

unsigned long kml_buddy_free_pages(struct kml_buddy *b)
{
	unsigned long n = 0;
	unsigned int i;

	for (i = 0; i <= b->max_order; i++)
		n += KML_READ(b->nr_free[i]) << i;
	kml_for_each_cpu(i)
		n += KML_READ(kml_per_cpu(b->pcp, i)->pcp_count);
	return n;
}

void kml_buddy_stats(struct kml_buddy *b, struct kml_buddy_stats *st)
{
	unsigned int i;

	memset(st, 0, sizeof(*st));
	st->max_order = b->max_order;
	st->pcp_high = b->pcp_high;
	st->pcp_batch = b->pcp_batch;
	kml_for_each_cpu(i) {
		struct kml_pcp *pcp = kml_per_cpu(b->pcp, i);

		st->pcp_pages += KML_READ(pcp->pcp_count);
		st->pcp_allocs += KML_READ(pcp->pcp_allocs);
		st->pcp_frees += KML_READ(pcp->pcp_frees);
	}
	st->free_pages = st->pcp_pages;
	for (i = 0; i <= b->max_order; i++) {
		st->nr_free[i] = KML_READ(b->nr_free[i]);
		st->free_pages += st->nr_free[i] << i;
		st->allocs[i] = KML_READ(b->allocs[i]);
		st->failed[i] = KML_READ(b->failed[i]);
	}
	st->splits = KML_READ(b->splits);
	st->merges = KML_READ(b->merges);
	st->drains = KML_READ(b->drains);
	st->held_pages = KML_READ(b->held_pages);
	for (i = 0; i < KML_NR_MISUSE; i++)
		st->misuse[i] = KML_READ(b->misuse[i]);
}

bool kml_buddy_pristine(struct kml_buddy *b)
{
	unsigned long flags = 0;
	bool ok;

	kml_lock(&b->zone_lock, flags);
	ok = (b->nr_free[b->max_order] << b->max_order) == b->npages;
	kml_unlock(&b->zone_lock, flags);
	return ok;
}

u32 kml_buddy_walk(struct kml_buddy *b, u32 from, u32 n,
		   void (*fn)(void *ctx, u32 idx, u32 n, u16 tag), void *ctx)
{
	unsigned long flags = 0;
	u32 idx = from, end = from + n > b->npages ? b->npages : from + n;

	kml_lock(&b->zone_lock, flags);
	while (idx < end) {
		u16 t = get_tag(b, idx);
		u32 size = KML_TAG_STATE(t) == KML_PG_TAIL ? 1 : 1u << KML_TAG_ORDER(t);

		if (size > b->npages - idx)
			size = b->npages - idx;
		fn(ctx, idx, size, t);
		idx += size;
	}
	kml_unlock(&b->zone_lock, flags);
	return idx;
}

#define VALIDATE_SHOW	16	/* violations printed; the rest are counted */

/* Where a walk with no printer of its own reports: the kernel log. */
static __printf(2, 3) void print_err(void *ctx, const char *fmt, ...)
{
	char buf[200];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	kml_err("%s", buf);
}

void kml_violation(struct kml_validation *v, const char *fmt, ...)
{
	char buf[160];
	va_list ap;

	if (v->errors++ >= VALIDATE_SHOW)
		return;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	(v->pr ?: print_err)(v->ctx, "%s: %s\n", v->who, buf);
}

unsigned long kml_validation_end(struct kml_validation *v)
{
	if (v->errors > VALIDATE_SHOW)
		(v->pr ?: print_err)(v->ctx, "%s: ... %lu more\n", v->who,
				     v->errors - VALIDATE_SHOW);
	return v->errors;
}

/* The held list: HELD heads only, linked both ways, as many pages as counted. */
static void held_validate(struct kml_buddy *b, struct kml_validation *v)
{
	unsigned long pages = 0;
	u32 idx, prev = KML_NIL;

	for (idx = b->held_head; idx != KML_NIL; idx = pg(b, idx)->pg_next) {
		u16 tag;

		if (idx >= b->npages) {
			kml_violation(v, "held list: link to page %u, off the region", idx);
			break;
		}
		tag = get_tag(b, idx);
		if (KML_TAG_STATE(tag) != KML_PG_HELD)
			kml_violation(v, "held list: page %u has tag %#x", idx, tag);
		if (pg(b, idx)->pg_prev != prev)
			kml_violation(v, "held list: page %u links back to %u, not %u", idx,
				      pg(b, idx)->pg_prev, prev);
		prev = idx;
		pages += 1ul << KML_TAG_ORDER(tag);
		if (pages > b->held_pages)
			break;
	}
	if (pages != b->held_pages)
		kml_violation(v, "held list: %lu pages counted, %lu%s linked", b->held_pages,
			      pages, pages > b->held_pages ? " or more" : "");
}

struct validate_pcp {
	struct kml_buddy *b;
	struct kml_validation *v;
};

/* kml_on_each_cpu: CPU @cpu's list. */
static void validate_pcp(void *arg, unsigned int cpu)
{
	struct validate_pcp *vp = arg;
	struct kml_buddy *b = vp->b;
	unsigned long flags = 0;
	struct kml_pcp *pcp;
	u32 idx, n = 0;

	pcp = kml_cpu_lock(b->pcp, cpu, flags);
	for (idx = pcp->pcp_head; idx != KML_NIL && n <= pcp->pcp_count;
	     idx = pg(b, idx)->pg_next, n++) {
		if (idx >= b->npages) {
			kml_violation(vp->v, "cpu %u list: link to page %u outside the region",
				      cpu, idx);
			break;
		}
		if (get_tag(b, idx) != KML_TAG(KML_PG_PCP, KML_KIND_NONE, 0))
			kml_violation(vp->v, "cpu %u list: page %u has tag %#x", cpu, idx,
				      get_tag(b, idx));
	}
	if (n != pcp->pcp_count)
		kml_violation(vp->v, "cpu %u list: count %u, %u pages linked", cpu,
			      pcp->pcp_count, n);
	kml_local_unlock(b->pcp, pcp, flags);
}

unsigned long kml_buddy_validate(struct kml_buddy *b, kml_print_fn pr, void *ctx)
{
	unsigned long heads[KML_MAX_ORDER_LIMIT + 1] = { 0 };
	struct kml_validation v = { .pr = pr, .ctx = ctx, .who = "buddy" };
	struct validate_pcp vp = { .b = b, .v = &v };
	unsigned long flags = 0;
	unsigned int o;
	u32 idx;

	kml_on_each_cpu(validate_pcp, &vp);

	kml_lock(&b->zone_lock, flags);
	for (o = 0; o <= KML_MAX_ORDER_LIMIT; o++) {
		u32 prev = KML_NIL;
		unsigned long n = 0;

		if (o > b->max_order) {
			if (b->free_head[o] != KML_NIL || b->nr_free[o])
				kml_violation(&v, "order %u above max_order has free blocks", o);
			continue;
		}
		for (idx = b->free_head[o]; idx != KML_NIL; idx = pg(b, idx)->pg_next) {
			if (idx >= b->npages) {
				kml_violation(&v, "order %u list: link to page %u, off the region",
					      o, idx);
				break;
			}
			if (get_tag(b, idx) != KML_TAG(KML_PG_FREE, KML_KIND_NONE, o))
				kml_violation(&v, "order %u list: page %u has tag %#x", o, idx,
					      get_tag(b, idx));
			if (pg(b, idx)->pg_prev != prev)
				kml_violation(&v, "order %u list: page %u links back to %u, not %u",
					      o, idx, pg(b, idx)->pg_prev, prev);
			prev = idx;
			if (++n > b->nr_free[o])
				break;
		}
		if (n != b->nr_free[o])
			kml_violation(&v, "order %u list: nr_free %lu, %lu%s blocks linked", o,
				      b->nr_free[o], n, n > b->nr_free[o] ? " or more" : "");
	}
	held_validate(b, &v);

	for (idx = 0; idx < b->npages;) {
		u16 t = get_tag(b, idx);
		unsigned int st = KML_TAG_STATE(t), order = KML_TAG_ORDER(t);
		u32 size = 1u << order, j;

		if (st == KML_PG_TAIL || st > KML_PG_HELD || order > b->max_order ||
		    KML_TAG_KIND(t) >= KML_NR_KINDS) {
			kml_violation(&v, "page %u: tag %#x where a block should start", idx, t);
			idx++;
			continue;
		}
		if (idx & (size - 1))
			kml_violation(&v, "page %u: order-%u block not aligned", idx, order);
		if (size > b->npages - idx)
			size = b->npages - idx;
		for (j = 1; j < size; j++)
			if (get_tag(b, idx + j) != KML_TAG(KML_PG_TAIL, 0, 0))
				kml_violation(&v, "page %u: in the order-%u block at %u, tag %#x",
					      idx + j, order, idx, get_tag(b, idx + j));
		if (st == KML_PG_FREE) {
			heads[order]++;
			if (order < b->max_order &&
			    get_tag(b, idx ^ size) == KML_TAG(KML_PG_FREE, KML_KIND_NONE, order))
				kml_violation(&v, "page %u: free order-%u buddies %u, %u unmerged",
					      idx, order, idx, idx ^ size);
		}
		idx += size;
	}
	for (o = 0; o <= b->max_order; o++)
		if (heads[o] != b->nr_free[o])
			kml_violation(&v, "order %u: %lu free heads, nr_free %lu", o, heads[o],
				      b->nr_free[o]);
	kml_unlock(&b->zone_lock, flags);
	return kml_validation_end(&v);
}

struct free_summary {
	unsigned long pages;	/* free pages */
	unsigned long blocks;	/* free blocks of any order */
	unsigned long fit;	/* free blocks of @order that the lists hold */
};

static struct free_summary summarise(const unsigned long *nr_free,
				     unsigned int max_order, unsigned int order)
{
	struct free_summary s = { 0, 0, 0 };
	unsigned int o;

	for (o = 0; o <= max_order; o++) {
		s.blocks += nr_free[o];
		s.pages += nr_free[o] << o;
		if (o >= order)
			s.fit += nr_free[o] << (o - order);
	}
	return s;
}

int kml_frag_index(const unsigned long *nr_free, unsigned int max_order,
		   unsigned int order)
{
	struct free_summary s = summarise(nr_free, max_order, order);

	if (!s.blocks)
		return 0;
	if (s.fit)
		return -1000;
	/* 1 - (1 + free pages / requested pages) / free blocks */
	return 1000 - (int)((1000 + (s.pages * 1000) / (1ul << order)) / s.blocks);
}

int kml_unusable_index(const unsigned long *nr_free, unsigned int max_order,
		       unsigned int order)
{
	struct free_summary s = summarise(nr_free, max_order, order);

	if (!s.pages)
		return 1000;
	return (int)(((s.pages - (s.fit << order)) * 1000) / s.pages);
}
