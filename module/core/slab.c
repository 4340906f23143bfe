// SPDX-License-Identifier: GPL-2.0
/*
 * slab.c - object caches over the buddy allocator, in Bonwick's design,
 * and the kmalloc family on general caches.
 *
 * Theory. A cache hands out objects of one size. It takes slabs, blocks of
 * 2^order pages, from the buddy allocator (kind SLAB), with the smallest
 * order that wastes less than an eighth of the slab; the waste left over
 * colours the slabs: successive slabs start their first object one cache
 * line further in, up to the waste, so that objects at the same index in
 * different slabs fall in different cache sets. A slab's free objects are
 * linked through a 32-bit index stored in each free object (inside it when
 * nothing else lives there, after it when a constructor, poisoning or a
 * red zone needs the object's bytes). Slabs sit on one of three lists,
 * full, partial and empty, and allocation takes from partial slabs first.
 *
 * A slab's descriptor is not in the slab: as SLUB keeps it in struct page,
 * kmemlab keeps it in the region's per-page metadata of the slab's first
 * page: pg_next/pg_prev link the slab lists, pg_flags counts objects in
 * use, pg_private is the cache's id, pg_aux holds the first free object's
 * index (low 16 bits) and the colour (high 16). So objects per slab are
 * what the page size allows, and an address finds its cache in O(1): its
 * page, the block's first page (buddy tags), the id, the cache table.
 *
 * Every cache descriptor is an object of cache_cache ("kmem_cache"), whose
 * own descriptor is its first object: kml_slab_init builds it in borrowed
 * memory, allocates one object from it, and moves it there.
 *
 * Object caching. Constructors run when a slab is populated, never on
 * allocation: objects go back to the cache still constructed and are
 * handed out again as they are. Poisoning would destroy that state, so a
 * cache with a constructor is never poisoned (as in SLUB).
 *
 * Per-CPU layer: magazines and a depot (Bonwick & Adams 2001). A magazine
 * is a stack of cache_cpu_limit constructed objects. Each CPU holds two
 * per cache, in per-CPU memory (struct kml_slab_cpu): allocation pops from
 * the loaded one and free pushes to it, under the CPU's local lock only,
 * which takes no atomic read-modify-write (interrupts off; a per-CPU lock
 * on PREEMPT_RT). When the loaded magazine runs empty (or full) and the
 * previous one is full (or empty), the two swap. Otherwise the CPU goes to
 * the cache's depot, under its lock, and exchanges whole magazines: an
 * empty one for a full one, a full one for an empty one. So a CPU that
 * only frees and one that only allocates meet in the depot, passing
 * cache_cpu_limit objects per exchange, never in the slab lists. When the
 * depot has no full magazine, the empty one is filled with cache_cpu_batch
 * objects from the slabs (one hold of cache_lock); when it has no empty
 * one, a new magazine is taken from the magazine cache. The depot keeps at
 * most cache_depot_max full magazines: beyond that, a full magazine goes
 * back to the slabs whole and is reused empty. Within that, the depot
 * keeps its working set (Bonwick): the full magazines it held unused
 * through a whole second (its low mark over the interval) go back to the
 * slabs, on its first visit after that second (there is no timer).
 *
 * Another CPU's magazines (shrink, destroy, validate) are reached by
 * running on that CPU (kml_on_each_cpu: a bound worker per CPU, process
 * context), so the fast path needs no lock that anyone else takes.
 * Reclaim, which may run in any context, empties the depot and the empty
 * slabs only; what sits in the CPUs' own two magazines (at most
 * 2 * cache_cpu_limit objects a CPU) comes back at the next shrink.
 *
 * Magazines are objects of the magazine cache ("kmem_magazine", id 1),
 * which, like cache_cache, has no per-CPU layer of its own: taking one
 * only takes that cache's lock and the buddy's, so it may be done under
 * any lock of another cache. Caches with debug flags have no magazines
 * either, so that every allocation and free is checked against the
 * object's exact state (as SLUB's debug path).
 *
 * Reaping: grow when short, shrink when long. A slab whose last object
 * comes back is freed to the buddy allocator when the cache already keeps
 * cache_empty_max empty slabs. kml_slab_shrink flushes every magazine and
 * frees every empty slab; the buddy allocator calls kml_slab_reclaim before
 * it fails an allocation, which does the same for every cache whose locks
 * it can take at once (it may run under any of them).
 *
 * Type-safe by RCU (KML_SLAB_TYPESAFE_BY_RCU, as SLAB_TYPESAFE_BY_RCU):
 * an object may be freed and handed out again at once, but its memory
 * stays an object of this cache until every RCU reader that might still
 * look at it is done. So nothing writes into a free object's bytes (no
 * poison, no init_on_alloc/free zeroing, the free link after the object),
 * and an empty slab does not go straight back to the buddy allocator: it
 * joins the cache's rcu_next list, marked KML_SLAB_RCU_PENDING in its
 * pg_private (so that no pointer into it passes for an object), and the
 * cache's one kml_rcu_head_t carries the batch through a grace period
 * (rcu_next becomes rcu_wait when the call is queued; slabs released
 * meanwhile wait for the next one). Destroy, and anything that must see
 * the pages back, waits with kml_slab_rcu_wait.
 *
 * Initialisation: the glue passes KML_INIT_* (from the gfp and the
 * kernel's init_on_alloc / init_on_free); as Linux's slab, caches with a
 * constructor, type-safe by RCU or poisoned are not initialised by policy,
 * only by an explicit __GFP_ZERO (never for a constructor's cache).
 *
 * Debugging (slub_debug=FZPU): red zones after each object (0xcc while
 * allocated, 0xbb while free), poison in free objects (0x6b, last byte
 * 0xa5), the last allocating and freeing caller, CPU, pid and time, and
 * full checks on free. Misuse is reported with the cache, the object and
 * its owners, counted, and otherwise ignored.
 *
 * Locking, outermost first: sys_mutex (which caches exist: create,
 * destroy and every walk over the table, in process context); sys_lock
 * (the table's entries, for reclaim, and the kmalloc counters); a CPU's
 * local lock (pcpu_lock); cache_depot_lock; cache_lock (slab lists,
 * colours, counters, the RCU release lists), the magazine cache's last;
 * then the buddy's locks. The RCU release callback takes only cache_lock
 * and the buddy's.
 * New slabs are taken from the buddy allocator with no slab lock held,
 * since the buddy allocator may call kml_slab_reclaim, which only ever
 * tries locks.
 */
#include "slab.h"

#define FREE_NONE	0xffffu		/* end of a slab's free list */
#define RED_MIN		8		/* bytes of red zone at least */

static const unsigned int kmalloc_sizes[] = {
	8, 16, 32, 64, 96, 128, 192, 256, 512, 1024, 2048, 4096, 8192,
	16384, 32768, 65536, 131072,
};

#define NR_KMALLOC	ARRAY_SIZE(kmalloc_sizes)

static inline struct kml_page *pg(struct kml_cache *c, u32 idx)
{
	return &c->cache_sys->sys_buddy->pages[idx];
}

/* The cache a slab's pg_private names, or NULL (none, or a released slab). */
static inline struct kml_cache *cache_by_id(struct kml_slab_sys *sys, u32 id)
{
	return id < KML_MAX_CACHES ? KML_READ(sys->sys_caches[id]) : NULL;
}

static inline bool obj_untouchable(struct kml_cache *c)
{
	return c->cache_ctor || (c->cache_flags & (KML_SLAB_TYPESAFE_BY_RCU | KML_SLAB_POISON));
}

/*
 * KML_DEBUG 2: after each public operation, @c (if any) and the pages,
 * whole. A cache that has reported misuse is not asserted on: the damage
 * a caller did to its objects is what validate would find.
 */
static void debug_check(struct kml_slab_sys *sys, struct kml_cache *c)
{
	if (KML_DEBUG < 2)
		return;
	if (c && !KML_READ(c->cache_errors))
		KML_DEBUG_CHECK(kml_slab_validate(c, NULL, NULL));
	KML_DEBUG_CHECK(kml_buddy_validate(sys->sys_buddy, NULL, NULL));
}

static inline unsigned int slab_free_head(struct kml_cache *c, u32 head)
{
	return pg(c, head)->pg_aux & 0xffff;
}

static inline void set_free_head(struct kml_cache *c, u32 head, unsigned int i)
{
	struct kml_page *p = pg(c, head);

	KML_WRITE(p->pg_aux, (p->pg_aux & 0xffff0000u) | i);
}

static inline char *slab_first(struct kml_cache *c, u32 head)
{
	return (char *)kml_page_addr(head) + (pg(c, head)->pg_aux >> 16) * KML_CACHE_LINE;
}

static inline void *obj_at(struct kml_cache *c, u32 head, unsigned int i)
{
	return slab_first(c, head) + (size_t)i * c->cache_size;
}

static inline u32 *free_link(struct kml_cache *c, void *obj)
{
	return (u32 *)((char *)obj + c->cache_free_off);
}

static inline struct kml_track *track(struct kml_cache *c, void *obj, int which)
{
	return (struct kml_track *)((char *)obj + c->cache_track_off) + which;
}

static int slab_list_of(struct kml_cache *c, unsigned int inuse)
{
	if (!inuse)
		return KML_SLABS_EMPTY;
	return inuse == c->cache_objs ? KML_SLABS_FULL : KML_SLABS_PARTIAL;
}

static void slab_list_add(struct kml_cache *c, u32 head, int l)
{
	kml_lock_assert_held(&c->cache_lock);
	kml_page_list_push(c->cache_sys->sys_buddy->pages, &c->cache_list[l], head);
	c->cache_nr[l]++;
}

static void slab_list_del(struct kml_cache *c, u32 head, int l)
{
	kml_lock_assert_held(&c->cache_lock);
	kml_page_list_del(c->cache_sys->sys_buddy->pages, &c->cache_list[l], head);
	c->cache_nr[l]--;
}

/* The slab's use count moved from @was; fix its list. */
static void relist(struct kml_cache *c, u32 head, unsigned int was)
{
	int from = slab_list_of(c, was), to = slab_list_of(c, pg(c, head)->pg_flags);

	kml_lock_assert_held(&c->cache_lock);
	if (from != to) {
		slab_list_del(c, head, from);
		slab_list_add(c, head, to);
	}
}

/* ---- debug checks ---- */

static void poison(struct kml_cache *c, void *obj)
{
	memset(obj, KML_POISON_FREE, c->cache_object_size - 1);
	((u8 *)obj)[c->cache_object_size - 1] = KML_POISON_END;
}

static void set_red(struct kml_cache *c, void *obj, u8 v)
{
	memset((char *)obj + c->cache_object_size, v,
	       c->cache_free_off - c->cache_object_size);
}

/* The first byte of [from, to) that is not @v, or NULL. */
static u8 *first_not(u8 *from, u8 *to, u8 v)
{
	for (; from < to; from++)
		if (*from != v)
			return from;
	return NULL;
}

static u8 *red_bad(struct kml_cache *c, void *obj, u8 v)
{
	return first_not((u8 *)obj + c->cache_object_size,
			 (u8 *)obj + c->cache_free_off, v);
}

static u8 *poison_bad(struct kml_cache *c, void *obj)
{
	u8 *end = (u8 *)obj + c->cache_object_size - 1;
	u8 *bad = first_not(obj, end, KML_POISON_FREE);

	return bad ? bad : (*end != KML_POISON_END ? end : NULL);
}

static void set_track(struct kml_cache *c, void *obj, int which, const void *caller)
{
	struct kml_track *t = track(c, obj, which);

	t->tr_caller = caller;
	t->tr_when = kml_now();
	t->tr_cpu = (int)kml_cpu_get();
	kml_cpu_put();
	t->tr_pid = kml_pid();
}

static void report(struct kml_cache *c, void *obj, const char *what)
{
	u32 idx = kml_addr_page(obj);

	c->cache_errors++;
	kml_err("%s: %s: object %p (page %u +%#lx)\n", c->cache_name, what, obj,
		idx, (unsigned long)((char *)obj - (char *)kml_page_addr(idx)));
	if (c->cache_track_off) {
		struct kml_track *a = track(c, obj, 0), *f = track(c, obj, 1);

		if (a->tr_caller)
			kml_err("%s:   last allocated by " KML_PS " on cpu %d pid %d at %lu\n",
				c->cache_name, a->tr_caller, a->tr_cpu, a->tr_pid, a->tr_when);
		if (f->tr_caller)
			kml_err("%s:   last freed by " KML_PS " on cpu %d pid %d at %lu\n",
				c->cache_name, f->tr_caller, f->tr_cpu, f->tr_pid, f->tr_when);
	}
}

/* A debug object leaving its slab's free list. */
static void check_alloc(struct kml_cache *c, void *obj, const void *caller)
{
	u8 *bad = c->cache_flags & KML_SLAB_POISON ? poison_bad(c, obj) : NULL;

	kml_lock_assert_held(&c->cache_lock);
	if (bad) {
		report(c, obj, "write after free (poison overwritten)");
		kml_err("%s:   first changed byte at offset %ld: %#x\n", c->cache_name,
			(long)(bad - (u8 *)obj), *bad);
	}
	if ((c->cache_flags & KML_SLAB_RED_ZONE) && red_bad(c, obj, KML_RED_INACTIVE))
		report(c, obj, "red zone of a free object overwritten");
	if (c->cache_flags & KML_SLAB_RED_ZONE)
		set_red(c, obj, KML_RED_ACTIVE);
	if (c->cache_track_off)
		set_track(c, obj, 0, caller);
}

/* Is object @i of the slab on its free list? */
static bool on_free_list(struct kml_cache *c, u32 head, unsigned int i)
{
	unsigned int j = slab_free_head(c, head), n = 0;

	kml_lock_assert_held(&c->cache_lock);
	while (j != FREE_NONE && n++ <= c->cache_objs) {
		if (j == i)
			return true;
		j = *free_link(c, obj_at(c, head, j));
	}
	return false;
}

/*
 * A debug object coming back. Returns false when the free
 * must not happen (the object is already free).
 */
static bool check_free(struct kml_cache *c, u32 head, unsigned int i, void *obj,
		       const void *caller)
{
	/*
	 * Already free: its red zone says so, or, when there is none or it
	 * was overwritten (neither all inactive nor all active), the free
	 * list does.
	 */
	bool free_now;

	kml_lock_assert_held(&c->cache_lock);
	if (!(c->cache_flags & KML_SLAB_RED_ZONE))
		free_now = on_free_list(c, head, i);
	else if (!red_bad(c, obj, KML_RED_INACTIVE))
		free_now = true;
	else
		free_now = red_bad(c, obj, KML_RED_ACTIVE) && on_free_list(c, head, i);
	if (free_now) {
		report(c, obj, "double free");
		kml_err("%s:   freed again by " KML_PS "\n", c->cache_name, caller);
		return false;
	}
	if ((c->cache_flags & KML_SLAB_RED_ZONE) && red_bad(c, obj, KML_RED_ACTIVE)) {
		report(c, obj, "red zone overwritten (write past the end)");
		kml_err("%s:   freed by " KML_PS "\n", c->cache_name, caller);
	}
	if (c->cache_track_off)
		set_track(c, obj, 1, caller);
	if (c->cache_flags & KML_SLAB_RED_ZONE)
		set_red(c, obj, KML_RED_INACTIVE);
	if (c->cache_flags & KML_SLAB_POISON)
		poison(c, obj);
	return true;
}

/* ---- slabs ---- */

/* Takes a slab from the buddy allocator and populates it; no lock held. */
static u32 slab_grow(struct kml_cache *c)
{
	struct kml_buddy *b = c->cache_sys->sys_buddy;
	unsigned long flags = 0;
	unsigned int colour, i;
	u32 head;

	head = kml_buddy_alloc(b, c->cache_order, KML_KIND_SLAB);
	if (head == KML_NIL)
		return KML_NIL;
	kml_lock(&c->cache_lock, flags);
	colour = c->cache_colour_next;
	if (++c->cache_colour_next >= c->cache_colours)
		c->cache_colour_next = 0;
	kml_unlock(&c->cache_lock, flags);

	pg(c, head)->pg_private = c->cache_id;
	pg(c, head)->pg_flags = 0;
	pg(c, head)->pg_aux = colour << 16;
	for (i = 0; i < c->cache_objs; i++) {
		void *obj = obj_at(c, head, i);

		if (c->cache_flags & KML_SLAB_RED_ZONE)
			set_red(c, obj, KML_RED_INACTIVE);
		if (c->cache_flags & KML_SLAB_POISON)
			poison(c, obj);
		if (c->cache_track_off)
			memset(track(c, obj, 0), 0, 2 * sizeof(struct kml_track));
		if (c->cache_ctor)
			c->cache_ctor(obj);
		*free_link(c, obj) = i + 1 < c->cache_objs ? i + 1 : FREE_NONE;
	}
	set_free_head(c, head, 0);

	kml_lock(&c->cache_lock, flags);
	slab_list_add(c, head, KML_SLABS_EMPTY);
	c->cache_grown++;
	kml_unlock(&c->cache_lock, flags);
	return head;
}

static void rcu_release(kml_rcu_head_t *rh);

/* rcu_next becomes the batch in flight: the caller queues the call. */
static void rcu_start(struct kml_cache *c)
{
	kml_lock_assert_held(&c->cache_lock);
	c->cache_rcu_wait = c->cache_rcu_next;
	c->cache_rcu_next = KML_NIL;
	c->cache_rcu_busy = true;
	kml_call_rcu(&c->cache_rcu_head, rcu_release);
}

/*
 * A grace period has passed since the batch in rcu_wait was queued: its
 * slabs go back to the buddy allocator, and the next batch, if any, starts.
 * When rcu_busy goes false, @c is not touched after the unlock, so that
 * destroy (which waits for that under cache_lock) may free it.
 */
static void rcu_release(kml_rcu_head_t *rh)
{
	struct kml_cache *c = (struct kml_cache *)((char *)rh -
						   offsetof(struct kml_cache, cache_rcu_head));
	struct kml_buddy *b = c->cache_sys->sys_buddy;
	unsigned long flags = 0;

	kml_lock(&c->cache_lock, flags);
	while (c->cache_rcu_wait != KML_NIL) {
		u32 head = c->cache_rcu_wait;

		kml_page_list_del(b->pages, &c->cache_rcu_wait, head);
		c->cache_rcu_slabs--;
		c->cache_reaped++;
		pg(c, head)->pg_private = c->cache_id;
		kml_buddy_free(b, head, c->cache_order, KML_KIND_SLAB);
	}
	if (c->cache_rcu_next != KML_NIL)
		rcu_start(c);
	else
		c->cache_rcu_busy = false;
	kml_unlock(&c->cache_lock, flags);
}

/* Gives an empty slab back to the buddy allocator (after a grace period for RCU). */
static void slab_free(struct kml_cache *c, u32 head)
{
	kml_lock_assert_held(&c->cache_lock);
	slab_list_del(c, head, KML_SLABS_EMPTY);
	if (c->cache_flags & KML_SLAB_TYPESAFE_BY_RCU) {
		pg(c, head)->pg_private = c->cache_id | KML_SLAB_RCU_PENDING;
		kml_page_list_push(c->cache_sys->sys_buddy->pages, &c->cache_rcu_next, head);
		c->cache_rcu_slabs++;
		if (!c->cache_rcu_busy)
			rcu_start(c);
		return;
	}
	c->cache_reaped++;
	kml_buddy_free(c->cache_sys->sys_buddy, head, c->cache_order, KML_KIND_SLAB);
}

/* An object off a partial or empty slab, or NULL. */
static void *slab_take(struct kml_cache *c)
{
	u32 head = c->cache_list[KML_SLABS_PARTIAL];
	unsigned int i;
	void *obj;

	kml_lock_assert_held(&c->cache_lock);
	if (head == KML_NIL)
		head = c->cache_list[KML_SLABS_EMPTY];
	if (head == KML_NIL)
		return NULL;
	i = slab_free_head(c, head);
	obj = obj_at(c, head, i);
	set_free_head(c, head, *free_link(c, obj));
	pg(c, head)->pg_flags++;
	relist(c, head, pg(c, head)->pg_flags - 1);
	c->cache_active++;
	return obj;
}

/* Object @i goes back on its slab's free list. */
static void slab_put(struct kml_cache *c, u32 head, unsigned int i, void *obj)
{
	kml_lock_assert_held(&c->cache_lock);
	*free_link(c, obj) = slab_free_head(c, head);
	set_free_head(c, head, i);
	pg(c, head)->pg_flags--;
	relist(c, head, pg(c, head)->pg_flags + 1);
	c->cache_active--;
	if (!pg(c, head)->pg_flags && c->cache_nr[KML_SLABS_EMPTY] > c->cache_empty_max)
		slab_free(c, head);
}

/*
 * Where @obj lives, in O(1): a slab of @c is a naturally aligned block of
 * cache_order pages, so its first page is the page's index rounded down;
 * the tag and cache id there must be @c's, and the offset must fall on an
 * object. The index comes from the offset by the reciprocal of the stride:
 * for off = k * size < 2^22, (off * ceil(2^32 / size)) >> 32 is exactly k,
 * and multiplying back catches any other offset. Returns false for a
 * pointer that is not an object of @c.
 */
static inline bool obj_index_at(struct kml_cache *c, const void *obj, u32 idx,
				u32 *head, unsigned int *i)
{
	struct kml_page *p;
	unsigned long off;

	if (unlikely(idx == KML_NIL))
		return false;
	*head = idx & ~((1u << c->cache_order) - 1);
	p = pg(c, *head);
	if (unlikely(KML_READ(p->pg_tag) != KML_TAG(KML_PG_ALLOC, KML_KIND_SLAB, c->cache_order) ||
		     p->pg_private != c->cache_id))
		return false;
	off = ((unsigned long)obj & (KML_PAGE_SIZE - 1)) + (idx - *head) * KML_PAGE_SIZE;
	off -= (KML_READ(p->pg_aux) >> 16) * KML_CACHE_LINE;	/* the colour */
	*i = (unsigned int)(((u64)off * c->cache_recip) >> 32);
	return off < ((unsigned long)KML_PAGE_SIZE << c->cache_order) &&
	       *i * c->cache_size == off && *i < c->cache_objs;
}

static inline bool obj_index(struct kml_cache *c, const void *obj, u32 *head,
			     unsigned int *i)
{
	return obj_index_at(c, obj, kml_addr_page(obj), head, i);
}

/* @obj is not an object of @c: says why, counts it. */
static noinline int bad_pointer(struct kml_cache *c, const void *obj, const void *caller)
{
	struct kml_buddy *b = c->cache_sys->sys_buddy;
	u32 idx = kml_addr_page(obj);
	u32 h = idx == KML_NIL ? KML_NIL : kml_buddy_block_head(b, idx);
	u16 tag = h == KML_NIL ? 0 : KML_READ(b->pages[h].pg_tag);
	const char *why;
	unsigned long flags = 0;

	if (idx == KML_NIL)
		why = "not in kmemlab's region";
	else if (KML_TAG_STATE(tag) != KML_PG_ALLOC || KML_TAG_KIND(tag) != KML_KIND_SLAB)
		why = "not in a slab";
	else if (KML_READ(b->pages[h].pg_private) == (c->cache_id | KML_SLAB_RCU_PENDING))
		why = "in an empty slab waiting for its RCU grace period (freed already)";
	else if (KML_READ(b->pages[h].pg_private) != c->cache_id)
		why = "an object of another cache";
	else
		why = "not the start of an object (inside one, or in the slab's slack)";
	kml_lock(&c->cache_lock, flags);
	c->cache_errors++;
	kml_unlock(&c->cache_lock, flags);
	kml_err("%s: free of %p: %s, from " KML_PS "\n", c->cache_name, obj, why, caller);
	return -EINVAL;
}

/* ---- caches ---- */

static inline unsigned int align_up(unsigned int x, unsigned int a)
{
	return (x + a - 1) & ~(a - 1);
}

/*
 * Magazine sizes by object size, as SLAB's array_cache limits: 64 objects
 * up to 256 bytes, 32 up to 1 KiB, 16 up to a page; above, 32 KiB of
 * objects at most, and at least one. The depot may keep full magazines
 * (objects and magazines) up to 1/64 of the region, at least one per CPU
 * and two; what it keeps unused for a second goes back (depot_reap). One
 * for objects above a page, so that a cache of large objects holds little
 * beyond its CPUs' own magazines (SLAB had no shared array there).
 */
static void cache_set_tunables(struct kml_cache *c)
{
	unsigned int size = c->cache_size, cpus = c->cache_sys->sys_nr_cpus, max;
	unsigned long share = (unsigned long)c->cache_sys->sys_buddy->npages * KML_PAGE_SIZE / 64;

	if (size <= KML_PAGE_SIZE)
		c->cache_cpu_limit = size <= 256 ? 64 : size <= 1024 ? 32 : 16;
	else
		c->cache_cpu_limit = size >= (32u << 10) ? 1 : (32u << 10) / size;
	c->cache_cpu_batch = c->cache_cpu_limit > 1 ? c->cache_cpu_limit / 2 : 1;
	max = share / ((unsigned long)c->cache_cpu_limit * size + sizeof(struct kml_mag));
	if (max < cpus)
		max = cpus;
	c->cache_depot_max = size > KML_PAGE_SIZE ? 1 : max < 2 ? 2 : max;
}

/* @magazines: give the cache a per-CPU layer (unless it debugs). */
static int cache_setup(struct kml_slab_sys *sys, struct kml_cache *c,
		       const char *name, unsigned int size, unsigned int align,
		       unsigned int flags, void (*ctor)(void *), bool magazines)
{
	unsigned int max = KML_PAGE_SIZE << sys->sys_buddy->max_order;
	unsigned long best_bytes = 0, best_waste = 0;
	unsigned int off, o, cpu;

	if (!size || size > max || (align & (align - 1)) || align > KML_PAGE_SIZE)
		return -EINVAL;
	memset(c, 0, sizeof(*c));
	for (o = 0; o < KML_CACHE_NAME - 1 && name[o]; o++)
		c->cache_name[o] = name[o];
	flags |= sys->sys_debug & KML_SLAB_DEBUG;
	/* Poison would undo a constructor, and RCU readers may still read. */
	if (ctor || (flags & KML_SLAB_TYPESAFE_BY_RCU))
		flags &= ~KML_SLAB_POISON;
	if (align < 8)
		align = 8;
	if ((flags & KML_SLAB_HWCACHE_ALIGN) && align < KML_CACHE_LINE)
		align = KML_CACHE_LINE;
	c->cache_object_size = size;
	c->cache_align = align;
	c->cache_flags = flags;
	c->cache_ctor = ctor;
	c->cache_sys = sys;

	/* [object][red zone][free link][alloc track][free track], aligned */
	off = size;
	if (flags & KML_SLAB_RED_ZONE)
		off = align_up(size, 8) + RED_MIN;
	if (ctor || (flags & (KML_SLAB_POISON | KML_SLAB_RED_ZONE | KML_SLAB_TYPESAFE_BY_RCU))) {
		c->cache_free_off = align_up(off, 4);
		off = c->cache_free_off + sizeof(u32);
	}
	if (flags & KML_SLAB_STORE_USER) {
		c->cache_track_off = align_up(off, 8);
		off = c->cache_track_off + 2 * sizeof(struct kml_track);
	}
	c->cache_size = align_up(off < sizeof(u32) ? sizeof(u32) : off, align);
	if (c->cache_size > max)
		return -EINVAL;

	/* The smallest order that wastes under 1/8; else the least waste. */
	for (o = 0; o <= sys->sys_buddy->max_order; o++) {
		unsigned long bytes = KML_PAGE_SIZE << o, n, waste;

		n = bytes / c->cache_size;
		if (n > FREE_NONE - 1)
			n = FREE_NONE - 1;
		if (!n)
			continue;
		waste = bytes - n * c->cache_size;
		if (!c->cache_objs || waste * best_bytes < best_waste * bytes) {
			c->cache_order = o;
			c->cache_objs = n;
			best_bytes = bytes;
			best_waste = waste;
		}
		if (waste * 8 < bytes) {
			c->cache_order = o;
			c->cache_objs = n;
			break;
		}
	}
	c->cache_recip = (u32)((((u64)1 << 32) + c->cache_size - 1) / c->cache_size);
	c->cache_colours = (KML_PAGE_SIZE << c->cache_order) - c->cache_objs * c->cache_size;
	c->cache_colours = c->cache_colours / KML_CACHE_LINE + 1;
	if (c->cache_colours > 0xffff)
		c->cache_colours = 0xffff;

	c->cache_empty_max = 1;
	kml_lock_init(&c->cache_lock);
	kml_lock_init(&c->cache_depot_lock);
	for (o = 0; o < 3; o++)
		c->cache_list[o] = KML_NIL;
	c->cache_rcu_next = KML_NIL;
	c->cache_rcu_wait = KML_NIL;
	if (!magazines || (flags & KML_SLAB_DEBUG))
		return 0;
	c->cache_cpu = kml_percpu_alloc(struct kml_slab_cpu);
	if (!c->cache_cpu)
		return -ENOMEM;
	kml_for_each_cpu(cpu)
		kml_pcpu_lock_init(&kml_per_cpu(c->cache_cpu, cpu)->pcpu_lock);
	cache_set_tunables(c);
	return 0;
}

/* Enters @c in the table: 0, -EEXIST (names are unique) or -ENOSPC. */
static int cache_register(struct kml_slab_sys *sys, struct kml_cache *c)
{
	unsigned int id, free = KML_MAX_CACHES;
	unsigned long flags = 0;

	kml_lock_assert_held(&sys->sys_mutex);
	for (id = 0; id < KML_MAX_CACHES; id++) {
		if (!sys->sys_caches[id])
			free = free < id ? free : id;
		else if (!strcmp(sys->sys_caches[id]->cache_name, c->cache_name))
			return -EEXIST;
	}
	if (free == KML_MAX_CACHES)
		return -ENOSPC;
	c->cache_id = free;
	kml_lock(&sys->sys_lock, flags);
	sys->sys_caches[free] = c;
	kml_unlock(&sys->sys_lock, flags);
	return 0;
}

/* What a descriptor owns besides its slabs; the caller frees the descriptor. */
static void cache_release(struct kml_cache *c)
{
	if (c->cache_cpu)
		kml_percpu_free(c->cache_cpu);
	c->cache_cpu = NULL;
}

static int cache_create(struct kml_slab_sys *sys, const char *name, unsigned int size,
			unsigned int align, unsigned int flags, void (*ctor)(void *),
			bool magazines, struct kml_cache **cp)
{
	struct kml_cache *c;
	int err;

	*cp = NULL;
	c = kml_slab_alloc(sys->sys_cache_cache, 0, kml_caller());
	if (!c)
		return -ENOMEM;
	err = cache_setup(sys, c, name, size, align, flags, ctor, magazines);
	if (!err) {
		kml_mutex_lock(&sys->sys_mutex);
		err = cache_register(sys, c);
		kml_mutex_unlock(&sys->sys_mutex);
	}
	if (err) {
		cache_release(c);
		kml_slab_free(sys->sys_cache_cache, c, 0, kml_caller());
		return err;
	}
	*cp = c;
	return 0;
}

int kml_slab_create(struct kml_slab_sys *sys, const char *name, unsigned int size,
		    unsigned int align, unsigned int flags, void (*ctor)(void *),
		    struct kml_cache **cp)
{
	return cache_create(sys, name, size, align, flags, ctor, true, cp);
}

int kml_slab_for_each(struct kml_slab_sys *sys, int (*fn)(struct kml_cache *c, void *arg),
		      void *arg)
{
	unsigned int id;
	int ret = 0;

	kml_mutex_lock(&sys->sys_mutex);
	for (id = 0; id < KML_MAX_CACHES && !ret; id++)
		if (sys->sys_caches[id])
			ret = fn(sys->sys_caches[id], arg);
	kml_mutex_unlock(&sys->sys_mutex);
	return ret;
}

/* ---- magazines and the depot ---- */

static void *alloc_slow(struct kml_cache *c, const void *caller);
static int free_caller(struct kml_cache *c, void *obj, unsigned int init,
		       const void *caller);

/*
 * A new, empty magazine, or NULL. The magazine cache has no per-CPU layer:
 * this takes its cache_lock and the buddy's locks only, so any lock of
 * another cache may be held.
 */
static struct kml_mag *mag_new(struct kml_cache *c)
{
	return alloc_slow(c->cache_sys->sys_mag_cache, kml_caller());
}

static void mag_free(struct kml_cache *c, struct kml_mag *m)
{
	free_caller(c->cache_sys->sys_mag_cache, m, 0, kml_caller());
}

/* The first @n objects of @m back to their slabs, under cache_lock. */
static void mag_put_objs(struct kml_cache *c, struct kml_mag *m, unsigned int n)
{
	unsigned int k, i;
	u32 head;

	kml_lock_assert_held(&c->cache_lock);
	for (k = 0; k < n; k++)
		if (obj_index(c, m->mag_objs[k], &head, &i))	/* checked on free */
			slab_put(c, head, i, m->mag_objs[k]);
}

static void mag_empty(struct kml_cache *c, struct kml_mag *m, unsigned int n)
{
	unsigned long flags = 0;

	if (!n)
		return;
	kml_lock(&c->cache_lock, flags);
	mag_put_objs(c, m, n);
	kml_unlock(&c->cache_lock, flags);
}

static inline struct kml_mag *depot_pop(struct kml_mag **list, unsigned int *n)
{
	struct kml_mag *m = *list;

	if (m) {
		*list = m->mag_next;
		(*n)--;
	}
	return m;
}

static inline void depot_push(struct kml_mag **list, unsigned int *n, struct kml_mag *m)
{
	m->mag_next = *list;
	*list = m;
	(*n)++;
}

#define DEPOT_REAP_TICKS	KML_HZ	/* Bonwick's working-set interval: a second */

/*
 * Bonwick's working set, reaped lazily (there is no timer: on the depot's
 * next visit once an interval has passed): the full magazines the depot
 * kept through the whole interval, its fewest since the last reap, were
 * not needed and come off, to go back to the slabs. Depot lock held;
 * returns them linked through mag_next.
 */
static struct kml_mag *depot_reap(struct kml_cache *c)
{
	struct kml_mag *list = NULL, *m;
	unsigned int n;

	kml_lock_assert_held(&c->cache_depot_lock);
	if (kml_now() - c->cache_depot_reaped_at < DEPOT_REAP_TICKS)
		return NULL;
	for (n = c->cache_depot_min; n; n--) {
		m = depot_pop(&c->cache_depot_full, &c->cache_depot_nfull);
		if (!m)
			break;
		m->mag_next = list;
		list = m;
		c->cache_depot_reaps++;
	}
	c->cache_depot_min = c->cache_depot_nfull;
	c->cache_depot_reaped_at = kml_now();
	return list;
}

/* A full magazine left the depot for a CPU: the working set's low mark. */
static inline void depot_took_full(struct kml_cache *c)
{
	if (c->cache_depot_nfull < c->cache_depot_min)
		c->cache_depot_min = c->cache_depot_nfull;
}

/*
 * Reaped magazines back to the slabs; the first is kept (empty) in *@keep
 * if it is NULL, the rest go to the magazine cache. No depot lock held.
 */
static void reaped_put(struct kml_cache *c, struct kml_mag *list, struct kml_mag **keep)
{
	while (list) {
		struct kml_mag *m = list;

		list = m->mag_next;
		mag_empty(c, m, c->cache_cpu_limit);
		if (keep && !*keep)
			*keep = m;
		else
			mag_free(c, m);
	}
}

static inline void swap_mags(struct kml_slab_cpu *cc)
{
	struct kml_mag *m = cc->cpu_loaded;
	unsigned int n = cc->cpu_avail;

	cc->cpu_loaded = cc->cpu_prev;
	cc->cpu_avail = cc->cpu_prev_avail;
	cc->cpu_prev = m;
	cc->cpu_prev_avail = n;
	cc->cpu_swaps++;
}

/*
 * The loaded magazine is empty (or there is none). A full previous one is
 * swapped in; else the depot gives a full one for the empty; else the empty
 * one (or one from the depot, or a new one) is filled with up to
 * cache_cpu_batch objects from the slabs. Under the CPU's local lock; the
 * rounds now loaded: 0 when the slabs are empty too, or no magazine could
 * be had (cpu_loaded stays NULL).
 */
static noinline unsigned int cpu_reload(struct kml_cache *c, struct kml_slab_cpu *cc)
{
	struct kml_mag *m, *reaped;
	unsigned long flags = 0;

	if (cc->cpu_prev_avail) {
		swap_mags(cc);
		return cc->cpu_avail;
	}
	kml_lock(&c->cache_depot_lock, flags);
	reaped = depot_reap(c);
	m = depot_pop(&c->cache_depot_full, &c->cache_depot_nfull);
	if (m) {
		depot_took_full(c);
		c->cache_depot_hits++;
		if (cc->cpu_loaded && !cc->cpu_prev)	/* empty: kept for frees */
			cc->cpu_prev = cc->cpu_loaded;
		else if (cc->cpu_loaded)
			depot_push(&c->cache_depot_empty, &c->cache_depot_nempty, cc->cpu_loaded);
		kml_unlock(&c->cache_depot_lock, flags);
		reaped_put(c, reaped, NULL);
		cc->cpu_loaded = m;
		cc->cpu_room = c->cache_cpu_limit;
		cc->cpu_avail = c->cache_cpu_limit;
		return cc->cpu_avail;
	}
	c->cache_depot_misses++;
	if (!cc->cpu_loaded)
		cc->cpu_loaded = depot_pop(&c->cache_depot_empty, &c->cache_depot_nempty);
	kml_unlock(&c->cache_depot_lock, flags);
	reaped_put(c, reaped, &cc->cpu_loaded);
	if (!cc->cpu_loaded)
		cc->cpu_loaded = mag_new(c);
	if (!cc->cpu_loaded)
		return 0;
	cc->cpu_room = c->cache_cpu_limit;
	kml_lock(&c->cache_lock, flags);
	while (cc->cpu_avail < c->cache_cpu_batch) {
		void *obj = slab_take(c);

		if (!obj)
			break;
		cc->cpu_loaded->mag_objs[cc->cpu_avail++] = obj;
	}
	c->cache_slow_allocs += cc->cpu_avail;
	kml_unlock(&c->cache_lock, flags);
	return cc->cpu_avail;
}

/*
 * The loaded magazine is full (or there is none). An empty previous one is
 * swapped in; else the previous one (full) goes to the depot, or back to
 * the slabs whole when the depot keeps cache_depot_max already, and an
 * empty one is loaded: from the depot, the one just emptied, or a new one.
 * Under the CPU's local lock; false when no magazine could be had.
 */
static noinline bool cpu_make_room(struct kml_cache *c, struct kml_slab_cpu *cc)
{
	struct kml_mag *m = NULL, *spill = NULL, *reaped;
	unsigned int spilled = cc->cpu_prev_avail;
	unsigned long flags = 0;

	if (cc->cpu_prev && !cc->cpu_prev_avail) {
		swap_mags(cc);
		return true;
	}
	kml_lock(&c->cache_depot_lock, flags);
	reaped = depot_reap(c);
	if (cc->cpu_prev && c->cache_depot_nfull < c->cache_depot_max)
		depot_push(&c->cache_depot_full, &c->cache_depot_nfull, cc->cpu_prev);
	else
		spill = cc->cpu_prev;
	cc->cpu_prev = NULL;
	cc->cpu_prev_avail = 0;
	if (!spill)
		m = depot_pop(&c->cache_depot_empty, &c->cache_depot_nempty);
	if (m)
		c->cache_depot_hits++;
	else
		c->cache_depot_misses++;
	kml_unlock(&c->cache_depot_lock, flags);
	reaped_put(c, reaped, m || spill ? NULL : &m);
	if (spill) {
		mag_empty(c, spill, spilled);
		m = spill;
	} else if (!m) {
		m = mag_new(c);
		if (!m)
			return false;
	}
	cc->cpu_prev = cc->cpu_loaded;
	cc->cpu_prev_avail = cc->cpu_avail;
	cc->cpu_loaded = m;
	cc->cpu_avail = 0;
	cc->cpu_room = c->cache_cpu_limit;
	return true;
}

/* kml_on_each_cpu: CPU @cpu's magazines of @c back to the slabs, and freed. */
static void cpu_drain(void *arg, unsigned int cpu)
{
	struct kml_cache *c = arg;
	struct kml_slab_cpu *cc;
	struct kml_mag *m[2];
	unsigned long flags = 0;
	unsigned int n[2], k;

	cc = kml_cpu_lock(c->cache_cpu, cpu, flags);
	m[0] = cc->cpu_loaded;
	n[0] = cc->cpu_avail;
	m[1] = cc->cpu_prev;
	n[1] = cc->cpu_prev_avail;
	cc->cpu_loaded = NULL;
	cc->cpu_prev = NULL;
	cc->cpu_avail = 0;
	cc->cpu_prev_avail = 0;
	cc->cpu_room = 0;
	kml_local_unlock(c->cache_cpu, cc, flags);
	for (k = 0; k < 2; k++) {
		if (!m[k])
			continue;
		mag_empty(c, m[k], n[k]);
		mag_free(c, m[k]);
	}
}

/* Whether any CPU may hold a magazine of @c (a racy look, for shrink). */
static bool cpus_hold_magazines(struct kml_cache *c)
{
	unsigned int cpu;

	kml_for_each_cpu(cpu)
		if (KML_READ(kml_per_cpu(c->cache_cpu, cpu)->cpu_loaded))
			return true;
	return false;
}

/* The depot's full magazines become empty ones: the objects go back to the slabs. */
static void depot_empty_locked(struct kml_cache *c)
{
	struct kml_mag *m;

	kml_lock_assert_held(&c->cache_depot_lock);
	while ((m = depot_pop(&c->cache_depot_full, &c->cache_depot_nfull))) {
		mag_put_objs(c, m, c->cache_cpu_limit);
		depot_push(&c->cache_depot_empty, &c->cache_depot_nempty, m);
	}
	c->cache_depot_min = 0;
}

/*
 * The depot's full magazines back to the slabs. With @try (reclaim, which
 * may run under any lock) only if both locks are free at once, and the
 * magazines stay in the depot, empty; else they go to the magazine cache.
 * Each lock is taken and dropped in one branch, so that every path through
 * the function holds the same locks (sparse checks it).
 */
static void depot_drain(struct kml_cache *c, bool try)
{
	struct kml_mag *full, *empty, *m;
	unsigned long flags = 0, flags2 = 0;

	if (try) {
		if (kml_trylock(&c->cache_depot_lock, flags)) {
			if (kml_trylock(&c->cache_lock, flags2)) {
				depot_empty_locked(c);
				kml_unlock(&c->cache_lock, flags2);
			}
			kml_unlock(&c->cache_depot_lock, flags);
		}
		return;
	}
	kml_lock(&c->cache_depot_lock, flags);
	full = c->cache_depot_full;
	empty = c->cache_depot_empty;
	c->cache_depot_full = NULL;
	c->cache_depot_empty = NULL;
	c->cache_depot_nfull = 0;
	c->cache_depot_nempty = 0;
	c->cache_depot_min = 0;
	kml_unlock(&c->cache_depot_lock, flags);
	while (full) {
		m = full;
		full = m->mag_next;
		mag_empty(c, m, c->cache_cpu_limit);
		mag_free(c, m);
	}
	while (empty) {
		m = empty;
		empty = m->mag_next;
		mag_free(c, m);
	}
}

/* Frees every empty slab; returns the pages freed. */
static unsigned long free_empty_slabs(struct kml_cache *c)
{
	unsigned long pages = 0;

	kml_lock_assert_held(&c->cache_lock);
	while (c->cache_list[KML_SLABS_EMPTY] != KML_NIL) {
		slab_free(c, c->cache_list[KML_SLABS_EMPTY]);
		pages += 1ul << c->cache_order;
	}
	return pages;
}

/*
 * @try: reclaim, which may run in any context and under any lock: take no
 * lock that is not free at once, and leave the CPUs' own magazines alone.
 * Else process context: every CPU's magazines come back too.
 */
static unsigned long shrink(struct kml_cache *c, bool try)
{
	unsigned long flags = 0, pages = 0;

	if (c->cache_cpu) {
		if (!try && cpus_hold_magazines(c))
			kml_on_each_cpu(cpu_drain, c);
		depot_drain(c, try);
		/* and the slabs of the magazines that went (not counted as @c's) */
		if (!try)
			shrink(c->cache_sys->sys_mag_cache, false);
	}
	if (!try) {
		kml_lock(&c->cache_lock, flags);
		pages += free_empty_slabs(c);
		kml_unlock(&c->cache_lock, flags);
	} else if (kml_trylock(&c->cache_lock, flags)) {
		pages += free_empty_slabs(c);
		kml_unlock(&c->cache_lock, flags);
	}
	return pages;
}

void kml_slab_rcu_wait(struct kml_cache *c)
{
	unsigned long flags = 0;
	bool busy;

	for (;;) {
		/* Under the lock: rcu_release clears it there, and then leaves @c alone. */
		kml_lock(&c->cache_lock, flags);
		busy = c->cache_rcu_busy;
		kml_unlock(&c->cache_lock, flags);
		if (!busy)
			return;
		kml_rcu_barrier();	/* the batch in flight, then any it started */
	}
}

unsigned long kml_slab_shrink(struct kml_cache *c)
{
	unsigned long pages = shrink(c, false);

	debug_check(c->cache_sys, c);
	return pages;
}

void kml_slab_reclaim(void *arg)
{
	struct kml_slab_sys *sys = arg;
	unsigned long flags = 0;
	unsigned int id;

	if (!kml_trylock(&sys->sys_lock, flags))
		return;
	for (id = 0; id < KML_MAX_CACHES; id++)
		if (sys->sys_caches[id])
			shrink(sys->sys_caches[id], true);
	kml_unlock(&sys->sys_lock, flags);
}

/* Every cache's magazines on CPU @cpu; sys_mutex held (by the caller's caller). */
static void drain_cpu_caches(struct kml_slab_sys *sys, unsigned int cpu)
{
	unsigned int id;

	for (id = 0; id < KML_MAX_CACHES; id++) {
		struct kml_cache *c = sys->sys_caches[id];

		if (c && c->cache_cpu)
			cpu_drain(c, cpu);
	}
}

/* kml_on_each_cpu: the magazines, then the free pages, of CPU @cpu. */
static void drain_cpu(void *arg, unsigned int cpu)
{
	struct kml_slab_sys *sys = arg;

	drain_cpu_caches(sys, cpu);
	kml_buddy_drain_cpu(sys->sys_buddy, cpu);
}

unsigned long kml_slab_drain(struct kml_slab_sys *sys)
{
	unsigned long pages = 0;
	unsigned int id;

	kml_mutex_lock(&sys->sys_mutex);
	kml_on_each_cpu(drain_cpu, sys);
	for (id = 0; id < KML_MAX_CACHES; id++)
		if (sys->sys_caches[id])
			pages += shrink(sys->sys_caches[id], false);
	kml_mutex_unlock(&sys->sys_mutex);
	return pages;
}

void kml_slab_cpu_dead(struct kml_slab_sys *sys, unsigned int cpu)
{
	kml_mutex_lock(&sys->sys_mutex);
	drain_cpu_caches(sys, cpu);
	kml_mutex_unlock(&sys->sys_mutex);
}

#define LIVE_SHOW	16	/* live objects reported by name at destroy */

/* Reports the first objects still allocated, then their number. */
static void report_live(struct kml_cache *c)
{
	unsigned long n = 0;
	int l;

	kml_lock_assert_held(&c->cache_lock);
	for (l = KML_SLABS_FULL; l <= KML_SLABS_PARTIAL && n < LIVE_SHOW; l++) {
		u32 head;

		for (head = c->cache_list[l]; head != KML_NIL && n < LIVE_SHOW;
		     head = pg(c, head)->pg_next) {
			unsigned int i;

			for (i = 0; i < c->cache_objs && n < LIVE_SHOW; i++) {
				if (on_free_list(c, head, i))
					continue;
				report(c, obj_at(c, head, i), "object still allocated at destroy");
				n++;
			}
		}
	}
	c->cache_errors += c->cache_active - n;	/* the unnamed ones */
}

static int cache_destroy(struct kml_cache *c)
{
	struct kml_slab_sys *sys = c->cache_sys;
	unsigned long flags = 0, live;

	shrink(c, false);
	kml_slab_rcu_wait(c);
	kml_lock(&c->cache_lock, flags);
	live = c->cache_active;
	if (live)
		report_live(c);
	kml_unlock(&c->cache_lock, flags);
	if (live) {
		kml_err("%s: destroyed with %lu objects allocated: their slabs stay\n",
			c->cache_name, live);
		KML_WRITE(c->cache_dead, true);
		return -EBUSY;
	}
	kml_mutex_lock(&sys->sys_mutex);
	kml_lock(&sys->sys_lock, flags);
	sys->sys_caches[c->cache_id] = NULL;
	kml_unlock(&sys->sys_lock, flags);
	kml_mutex_unlock(&sys->sys_mutex);
	cache_release(c);
	kml_slab_free(sys->sys_cache_cache, c, 0, kml_caller());
	return 0;
}

int kml_slab_destroy(struct kml_cache *c)
{
	if (!c)
		return 0;
	/* The system's own caches go only with it (kml_slab_exit). */
	if (c == c->cache_sys->sys_cache_cache || c == c->cache_sys->sys_mag_cache)
		return -EBUSY;
	return cache_destroy(c);
}

/* ---- allocation and free ---- */

static noinline void *alloc_slow(struct kml_cache *c, const void *caller)
{
	unsigned long flags = 0;
	void *obj;

	for (;;) {
		kml_lock(&c->cache_lock, flags);
		obj = slab_take(c);
		if (obj) {
			c->cache_slow_allocs++;
			if (c->cache_flags & KML_SLAB_DEBUG)
				check_alloc(c, obj, caller);
		}
		kml_unlock(&c->cache_lock, flags);
		if (obj || slab_grow(c) == KML_NIL)
			return obj;
	}
}

/* The loaded magazine was empty or there is none: reload, grow, or go to slabs. */
static noinline void *alloc_miss(struct kml_cache *c, bool zero, const void *caller)
{
	unsigned long flags = 0;
	void *obj = NULL;
	bool mag;

	while (c->cache_cpu) {
		struct kml_slab_cpu *cc = kml_local_lock(c->cache_cpu, flags);

		if (cc->cpu_avail || cpu_reload(c, cc)) {
			obj = cc->cpu_loaded->mag_objs[--cc->cpu_avail];
			cc->cpu_allocs++;
		}
		mag = cc->cpu_loaded;
		kml_local_unlock(c->cache_cpu, cc, flags);
		if (obj)
			goto out;
		if (!mag)
			break;		/* no memory for a magazine: straight from the slabs */
		if (slab_grow(c) == KML_NIL)
			return NULL;
	}
	obj = alloc_slow(c, caller);
	if (!obj)
		return NULL;
out:
	if (zero)
		memset(obj, 0, c->cache_object_size);
	return obj;
}

static __always_inline void *alloc_caller(struct kml_cache *c, bool zero, const void *caller)
{
	struct kml_slab_cpu *cc;
	unsigned long flags = 0;
	void *obj = NULL;

	if (likely(c->cache_cpu)) {
		cc = kml_local_lock(c->cache_cpu, flags);
		if (likely(cc->cpu_avail)) {
			obj = cc->cpu_loaded->mag_objs[--cc->cpu_avail];
			cc->cpu_allocs++;
		}
		kml_local_unlock(c->cache_cpu, cc, flags);
		if (likely(obj && !zero))
			return obj;
	}
	if (obj) {
		memset(obj, 0, c->cache_object_size);
		return obj;
	}
	return alloc_miss(c, zero, caller);
}

/* Whether an allocation from @c with @init zeroes the object. */
static inline bool want_zero(struct kml_cache *c, unsigned int init, const void *caller)
{
	if (likely(!init))
		return false;
	if (unlikely(c->cache_ctor)) {
		/* Zeroing would undo the constructor (Linux warns too). */
		if (init & KML_INIT_ZERO)
			kml_err("%s: zeroed allocation from a cache with a constructor, from "
				KML_PS ": not zeroed\n", c->cache_name, caller);
		return false;
	}
	return (init & KML_INIT_ZERO) || ((init & KML_INIT_ALLOC) && !obj_untouchable(c));
}

void *kml_slab_alloc(struct kml_cache *c, unsigned int init, const void *caller)
{
	void *obj;

	obj = alloc_caller(c, want_zero(c, init, caller), caller);
	debug_check(c->cache_sys, c);
	return obj;
}

static noinline int free_slow(struct kml_cache *c, void *obj, u32 head, unsigned int i,
			      bool wipe, const void *caller)
{
	unsigned long flags = 0;
	int err = 0;

	kml_lock(&c->cache_lock, flags);
	/*
	 * Slabs are freed only under cache_lock: look again now, since a
	 * bogus or doubly freed pointer's slab may have gone meanwhile.
	 */
	if (!obj_index(c, obj, &head, &i)) {
		kml_unlock(&c->cache_lock, flags);
		return bad_pointer(c, obj, caller);
	}
	if (!(c->cache_flags & KML_SLAB_DEBUG) || check_free(c, head, i, obj, caller)) {
		if (wipe)
			memset(obj, 0, c->cache_object_size);
		c->cache_slow_frees++;
		slab_put(c, head, i, obj);
	} else {
		err = -EINVAL;
	}
	kml_unlock(&c->cache_lock, flags);
	return err;
}

static noinline int magazine_double_free(struct kml_cache *c, void *obj)
{
	unsigned long flags = 0;

	kml_lock(&c->cache_lock, flags);
	report(c, obj, "double free (the object is in this CPU's magazine)");
	kml_unlock(&c->cache_lock, flags);
	return -EINVAL;
}

/*
 * @obj is object @i of the slab at @head of @c. @init: KML_INIT_FREE zeroes
 * it first (init_on_free), unless the cache's bytes are not ours to touch.
 */
static __always_inline int free_object(struct kml_cache *c, void *obj, u32 head,
				       unsigned int i, unsigned int init, const void *caller)
{
	bool wipe = unlikely(init & KML_INIT_FREE) && !obj_untouchable(c);
	unsigned long flags = 0;
	struct kml_slab_cpu *cc;
	bool again, kept = false;

	if (unlikely(!c->cache_cpu))
		return free_slow(c, obj, head, i, wipe, caller);
	if (wipe)
		memset(obj, 0, c->cache_object_size);
	cc = kml_local_lock(c->cache_cpu, flags);
	/* The one double free a magazine can see cheaply: the last object. */
	again = cc->cpu_avail && cc->cpu_loaded->mag_objs[cc->cpu_avail - 1] == obj;
	if (likely(!again) &&
	    (likely(cc->cpu_avail < cc->cpu_room) || cpu_make_room(c, cc))) {
		cc->cpu_loaded->mag_objs[cc->cpu_avail++] = obj;
		cc->cpu_frees++;
		kept = true;
	}
	kml_local_unlock(c->cache_cpu, cc, flags);
	if (likely(kept))
		return 0;
	if (again)
		return magazine_double_free(c, obj);
	return free_slow(c, obj, head, i, false, caller);	/* no magazine to be had */
}

static __always_inline int free_caller(struct kml_cache *c, void *obj, unsigned int init,
				       const void *caller)
{
	unsigned int i;
	u32 head;

	if (unlikely(!obj_index(c, obj, &head, &i)))
		return bad_pointer(c, obj, caller);
	return free_object(c, obj, head, i, init, caller);
}

int kml_slab_free(struct kml_cache *c, void *obj, unsigned int init, const void *caller)
{
	int ret = free_caller(c, obj, init, caller);

	debug_check(c->cache_sys, c);
	return ret;
}

/* ---- kmalloc ---- */

/*
 * The general cache for @size: as Linux's kmalloc_index, a table for the
 * small sizes (so that 65..96 and 129..192 have their own classes) and the
 * power of two above.
 */
static const u8 small_index[24] = {	/* by (size - 1) / 8, sizes 1..192 */
	0, 1, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 6, 6, 6, 6, 6, 6, 6, 6,
};

struct kml_cache *kml_slab_kmalloc_cache(struct kml_slab_sys *sys, size_t size)
{
	unsigned int i;

	if (unlikely(size > sys->sys_kmalloc_max))
		return NULL;
	if (size <= 192)
		return sys->sys_kmalloc[size ? small_index[(size - 1) / 8] : 0];
	/* 256 is index 7: one more per doubling. */
	i = 64 - __builtin_clzll((unsigned long long)size - 1);	/* ceil(log2) */
	return sys->sys_kmalloc[i - 1];
}

static inline void *slab_kmalloc(struct kml_slab_sys *sys, size_t size, unsigned int init,
				 const void *caller)
{
	struct kml_buddy *b = sys->sys_buddy;
	struct kml_cache *c;
	unsigned int order = 0;
	unsigned long flags = 0;
	u32 idx;

	if (!size)
		return KML_ZERO_SIZE_PTR;
	c = kml_slab_kmalloc_cache(sys, size);
	if (c)
		return alloc_caller(c, want_zero(c, init, caller), caller);
	while ((KML_PAGE_SIZE << order) < size && order <= b->max_order)
		order++;
	if (order > b->max_order)
		return NULL;
	idx = kml_buddy_alloc(b, order, KML_KIND_LARGE);
	if (idx == KML_NIL)
		return NULL;
	kml_lock(&sys->sys_lock, flags);
	sys->sys_large_allocs++;
	kml_unlock(&sys->sys_lock, flags);
	if (init & (KML_INIT_ZERO | KML_INIT_ALLOC))
		memset(kml_page_addr(idx), 0, KML_PAGE_SIZE << order);
	return kml_page_addr(idx);
}

/* The cache of a kmalloc'd object, or NULL with *order set for a large one,
 * or NULL with *order = -1 after reporting a foreign pointer.
 */
static struct kml_cache *owner_of(struct kml_slab_sys *sys, const void *p, int *order,
				  const char *what, const void *caller)
{
	struct kml_buddy *b = sys->sys_buddy;
	u32 idx = kml_addr_page(p), h = KML_NIL;
	unsigned long flags = 0;
	u16 tag = 0;

	if (idx != KML_NIL)
		h = kml_buddy_block_head(b, idx);
	if (h != KML_NIL)
		tag = KML_READ(b->pages[h].pg_tag);
	*order = -1;
	if (KML_TAG_STATE(tag) == KML_PG_ALLOC && KML_TAG_KIND(tag) == KML_KIND_SLAB) {
		struct kml_cache *c = cache_by_id(sys, KML_READ(b->pages[h].pg_private));
		unsigned int i;
		u32 head;

		if (c && obj_index_at(c, p, idx, &head, &i))
			return c;
	}
	if (KML_TAG_STATE(tag) == KML_PG_ALLOC && KML_TAG_KIND(tag) == KML_KIND_LARGE &&
	    p == kml_page_addr(h)) {
		*order = KML_TAG_ORDER(tag);
		return NULL;
	}
	kml_lock(&sys->sys_lock, flags);
	sys->sys_bad_frees++;
	kml_unlock(&sys->sys_lock, flags);
	kml_err("%s(%p): not a pointer kmemlab's kmalloc handed out (%s), from " KML_PS "\n",
		what, p, idx == KML_NIL ? "outside the region" :
		KML_TAG_STATE(tag) != KML_PG_ALLOC ? "in free memory" :
		KML_TAG_KIND(tag) == KML_KIND_LARGE ? "inside a large kmalloc block" :
		KML_TAG_KIND(tag) == KML_KIND_SLAB &&
		(KML_READ(b->pages[h].pg_private) & KML_SLAB_RCU_PENDING) ?
		"in a released slab waiting for its RCU grace period" :
		KML_TAG_KIND(tag) == KML_KIND_SLAB ? "not the start of an object" :
		"in pages of another owner", caller);
	return NULL;
}

void *kml_slab_kmalloc(struct kml_slab_sys *sys, size_t size, unsigned int init,
		       const void *caller)
{
	void *p = slab_kmalloc(sys, size, init, caller);

	debug_check(sys, kml_slab_kmalloc_cache(sys, size));
	return p;
}

static inline void slab_kfree(struct kml_slab_sys *sys, const void *p, unsigned int init,
			      const char *what, const void *caller)
{
	struct kml_buddy *b = sys->sys_buddy;
	struct kml_cache *c;
	unsigned long flags = 0;
	u32 idx, head;
	unsigned int i;
	int order;

	if (!p || p == KML_ZERO_SIZE_PTR)
		return;
	/* The common case first: an object of an order-0 slab. */
	idx = kml_addr_page(p);
	if (likely(idx != KML_NIL) &&
	    KML_TAG_KIND(KML_READ(b->pages[idx].pg_tag)) == KML_KIND_SLAB &&
	    KML_TAG_STATE(KML_READ(b->pages[idx].pg_tag)) == KML_PG_ALLOC) {
		c = cache_by_id(sys, KML_READ(b->pages[idx].pg_private));
		if (likely(c && obj_index_at(c, p, idx, &head, &i))) {
			free_object(c, (void *)p, head, i, init, caller);
			return;
		}
	}
	c = owner_of(sys, p, &order, what, caller);
	if (c) {
		free_caller(c, (void *)p, init, caller);
	} else if (order >= 0) {
		idx = kml_addr_page(p);
		if (!sys->sys_hold || !sys->sys_hold(idx, order, KML_KIND_LARGE)) {
			if (init & KML_INIT_FREE)
				memset((void *)p, 0, KML_PAGE_SIZE << order);
			kml_buddy_free(sys->sys_buddy, idx, order, KML_KIND_LARGE);
		}
		kml_lock(&sys->sys_lock, flags);
		sys->sys_large_frees++;
		kml_unlock(&sys->sys_lock, flags);
	}
}

void kml_slab_kfree(struct kml_slab_sys *sys, const void *p, unsigned int init,
		    const void *caller)
{
	slab_kfree(sys, p, init, "kfree", caller);
	debug_check(sys, NULL);
}

void kml_slab_kfree_sensitive(struct kml_slab_sys *sys, const void *p, const void *caller)
{
	struct kml_cache *c;
	int order;

	if (!p || p == KML_ZERO_SIZE_PTR)
		return;
	c = owner_of(sys, p, &order, "kfree_sensitive", caller);
	if (!c && order < 0)
		return;		/* reported */
	/* A constructor's state goes too: the caller asked for the bytes gone. */
	memset((void *)p, 0, c ? c->cache_object_size : KML_PAGE_SIZE << order);
	slab_kfree(sys, p, 0, "kfree_sensitive", caller);
	debug_check(sys, NULL);
}

size_t kml_slab_usable(struct kml_slab_sys *sys, const void *p, const char *what,
		       const void *caller)
{
	struct kml_cache *c;
	int order;

	if (!p || p == KML_ZERO_SIZE_PTR)
		return 0;
	c = owner_of(sys, p, &order, what, caller);
	if (c)
		return c->cache_object_size;
	return order >= 0 ? KML_PAGE_SIZE << order : 0;
}

size_t kml_slab_ksize(struct kml_slab_sys *sys, const void *p)
{
	return kml_slab_usable(sys, p, "ksize", kml_caller());
}

void kml_slab_note_bad_free(struct kml_slab_sys *sys)
{
	unsigned long flags = 0;

	kml_lock(&sys->sys_lock, flags);
	sys->sys_bad_frees++;
	kml_unlock(&sys->sys_lock, flags);
}

void *kml_slab_krealloc(struct kml_slab_sys *sys, const void *p, size_t size,
			unsigned int init, const void *caller)
{
	size_t have;
	void *q;

	if (!p || p == KML_ZERO_SIZE_PTR)
		return kml_slab_kmalloc(sys, size, init, caller);
	have = kml_slab_ksize(sys, p);
	if (!have)
		return NULL;	/* reported by ksize */
	if (!size) {
		kml_slab_kfree(sys, p, init, caller);
		return KML_ZERO_SIZE_PTR;
	}
	if (size <= have)
		return (void *)p;	/* the size class still fits */
	/* The copy overwrites the head: zero only the tail, if asked to. */
	q = kml_slab_kmalloc(sys, size, 0, caller);
	if (!q)
		return NULL;
	memcpy(q, p, have);
	if (init & (KML_INIT_ZERO | KML_INIT_ALLOC))
		memset((char *)q + have, 0, size - have);
	kml_slab_kfree(sys, p, init, caller);
	return q;
}

/* ---- the system ---- */

int kml_slab_init(struct kml_slab_sys *sys, struct kml_buddy *b,
		  unsigned int debug, unsigned int kmalloc_max)
{
	struct kml_cache *boot, *self;
	char name[KML_CACHE_NAME];
	unsigned int i;
	int err;

	memset(sys, 0, sizeof(*sys));
	if (kmalloc_max < 8192 || kmalloc_max > KML_KMALLOC_MAX_LIMIT ||
	    (kmalloc_max & (kmalloc_max - 1)) ||
	    kmalloc_max > KML_PAGE_SIZE << b->max_order)
		return -EINVAL;
	sys->sys_buddy = b;
	sys->sys_nr_cpus = kml_nr_cpus();
	sys->sys_debug = debug & KML_SLAB_DEBUG;
	sys->sys_kmalloc_max = kmalloc_max;
	kml_mutex_init(&sys->sys_mutex);
	kml_lock_init(&sys->sys_lock);

	/* cache_cache, built in borrowed memory, then moved into itself. */
	boot = kml_meta_zalloc(sizeof(*boot));
	if (!boot)
		return -ENOMEM;
	err = cache_setup(sys, boot, "kmem_cache", sizeof(*boot), KML_CACHE_LINE, 0, NULL,
			  false);
	if (err)
		goto out_boot;
	sys->sys_caches[0] = boot;
	sys->sys_cache_cache = boot;
	self = kml_slab_alloc(boot, 0, kml_caller());
	err = -ENOMEM;
	if (!self)
		goto out_boot;
	memcpy(self, boot, sizeof(*boot));
	sys->sys_caches[0] = self;
	sys->sys_cache_cache = self;
	kml_meta_free(boot);
	err = cache_create(sys, "kmem_magazine", sizeof(struct kml_mag), 0, 0, NULL, false,
			   &sys->sys_mag_cache);
	if (err) {
		kml_slab_exit(sys);
		return err;
	}

	for (i = 0; i < NR_KMALLOC && kmalloc_sizes[i] <= kmalloc_max; i++) {
		unsigned int sz = kmalloc_sizes[i];

		if (sz >= 1024)
			snprintf(name, sizeof(name), "kmalloc-%uk", sz >> 10);
		else
			snprintf(name, sizeof(name), "kmalloc-%u", sz);
		err = kml_slab_create(sys, name, sz, 0, 0, NULL, &sys->sys_kmalloc[i]);
		if (err) {
			kml_slab_exit(sys);
			return err;
		}
	}
	b->reclaim = kml_slab_reclaim;
	b->reclaim_ctx = sys;
	return 0;

out_boot:
	sys->sys_caches[0] = NULL;
	sys->sys_cache_cache = NULL;
	kml_meta_free(boot);
	return err;
}

/* Gives every slab of @c back to the buddy allocator, objects or not. */
static void free_all_slabs(struct kml_cache *c)
{
	unsigned long flags = 0;
	int l;

	kml_lock(&c->cache_lock, flags);
	for (l = 0; l < 3; l++)
		while (c->cache_list[l] != KML_NIL) {
			u32 head = c->cache_list[l];

			slab_list_del(c, head, l);
			kml_buddy_free(c->cache_sys->sys_buddy, head, c->cache_order,
				       KML_KIND_SLAB);
		}
	kml_unlock(&c->cache_lock, flags);
}

void kml_slab_exit(struct kml_slab_sys *sys)
{
	struct kml_cache *cc, *copy;
	unsigned int id;

	if (!sys->sys_cache_cache)
		return;
	sys->sys_buddy->reclaim = NULL;
	/*
	 * Every cache goes; one destroyed with live objects keeps its slabs
	 * (reported): free them too, since the region goes.
	 */
	for (id = KML_MAX_CACHES - 1; id > 0; id--) {	/* the magazine cache (1) last */
		struct kml_cache *c = sys->sys_caches[id];

		if (!c || !cache_destroy(c))
			continue;
		free_all_slabs(c);
		cache_release(c);
		sys->sys_caches[id] = NULL;
	}
	/*
	 * cache_cache lives in its own slabs: free them from a copy of its
	 * descriptor (with a lock of its own), since the first of them holds
	 * the descriptor itself.
	 */
	cc = sys->sys_cache_cache;
	shrink(cc, false);
	copy = kml_meta_zalloc(sizeof(*copy));
	if (!copy)
		return;		/* its slabs stay allocated: reported at unload */
	memcpy(copy, cc, sizeof(*copy));
	kml_lock_init(&copy->cache_lock);
	free_all_slabs(copy);
	kml_meta_free(copy);
	memset(sys->sys_kmalloc, 0, sizeof(sys->sys_kmalloc));
	sys->sys_mag_cache = NULL;
	sys->sys_caches[0] = NULL;
	sys->sys_cache_cache = NULL;
}

/* ---- inspection ---- */

void kml_slab_stats(struct kml_cache *c, struct kml_cache_stats *st)
{
	unsigned long flags = 0;
	unsigned int cpu;

	memset(st, 0, sizeof(*st));
	if (c->cache_cpu) {
		kml_for_each_cpu(cpu) {
			struct kml_slab_cpu *cc = kml_per_cpu(c->cache_cpu, cpu);

			st->fast_allocs += KML_READ(cc->cpu_allocs);
			st->fast_frees += KML_READ(cc->cpu_frees);
			st->cpu_cached += KML_READ(cc->cpu_avail) + KML_READ(cc->cpu_prev_avail);
			st->mag_swaps += KML_READ(cc->cpu_swaps);
		}
		kml_lock(&c->cache_depot_lock, flags);
		st->depot_reaped = c->cache_depot_reaps;
		st->depot_full = c->cache_depot_nfull;
		st->depot_empty = c->cache_depot_nempty;
		st->depot_objs = st->depot_full * c->cache_cpu_limit;
		st->depot_hits = c->cache_depot_hits;
		st->depot_misses = c->cache_depot_misses;
		kml_unlock(&c->cache_depot_lock, flags);
	}
	kml_lock(&c->cache_lock, flags);
	st->full = c->cache_nr[KML_SLABS_FULL];
	st->partial = c->cache_nr[KML_SLABS_PARTIAL];
	st->empty = c->cache_nr[KML_SLABS_EMPTY];
	st->num_slabs = st->full + st->partial + st->empty;
	st->active_slabs = st->full + st->partial;
	st->num_objs = st->num_slabs * c->cache_objs;
	st->active_objs = c->cache_active;
	st->slow_allocs = c->cache_slow_allocs;
	st->slow_frees = c->cache_slow_frees;
	st->grown = c->cache_grown;
	st->reaped = c->cache_reaped;
	st->errors = c->cache_errors;
	st->rcu_pending = c->cache_rcu_slabs;
	kml_unlock(&c->cache_lock, flags);
}

void kml_slab_geometry(struct kml_cache *c, struct kml_cache_geometry *g)
{
	g->name = c->cache_name;
	g->id = c->cache_id;
	g->object_size = c->cache_object_size;
	g->size = c->cache_size;
	g->align = c->cache_align;
	g->order = c->cache_order;
	g->objs = c->cache_objs;
	g->waste = (KML_PAGE_SIZE << c->cache_order) - c->cache_objs * c->cache_size;
	g->colours = c->cache_colours;
	g->free_off = c->cache_free_off;
	g->track_off = c->cache_track_off;
	g->cpu_limit = c->cache_cpu_limit;
	g->cpu_batch = c->cache_cpu_batch;
	g->depot_max = c->cache_depot_max;
	g->empty_max = c->cache_empty_max;
	g->flags = c->cache_flags;
	g->ctor = c->cache_ctor;
	g->dead = KML_READ(c->cache_dead);
}

unsigned int kml_slab_object_size(struct kml_cache *c)
{
	return c->cache_object_size;
}

void kml_slab_sys_stats(struct kml_slab_sys *sys, struct kml_slab_sys_stats *st)
{
	unsigned long flags = 0;

	kml_lock(&sys->sys_lock, flags);
	st->large_allocs = sys->sys_large_allocs;
	st->large_frees = sys->sys_large_frees;
	st->bad_frees = sys->sys_bad_frees;
	kml_unlock(&sys->sys_lock, flags);
}

/* One slab's descriptor, free list and objects. */
static void validate_slab(struct kml_validation *v, struct kml_cache *c, u32 head, int l)
{
	unsigned int used = pg(c, head)->pg_flags, free = 0, i;
	u16 tag = KML_READ(c->cache_sys->sys_buddy->pages[head].pg_tag);

	kml_lock_assert_held(&c->cache_lock);
	if (tag != KML_TAG(KML_PG_ALLOC, KML_KIND_SLAB, c->cache_order) ||
	    pg(c, head)->pg_private != c->cache_id) {
		kml_violation(v, "slab at page %u: tag %#x, cache id %u", head, tag,
			      pg(c, head)->pg_private);
		return;
	}
	if (slab_list_of(c, used) != l)
		kml_violation(v, "slab at page %u: %u of %u in use, on list %d", head, used,
			      c->cache_objs, l);
	for (i = slab_free_head(c, head); i != FREE_NONE; free++) {
		void *obj;

		if (i >= c->cache_objs || free >= c->cache_objs) {
			kml_violation(v, "slab at page %u: free list broken at %u", head, i);
			break;
		}
		obj = obj_at(c, head, i);
		if ((c->cache_flags & KML_SLAB_POISON) && poison_bad(c, obj))
			kml_violation(v, "object %p (page %u #%u): write after free",
				      obj, head, i);
		i = *free_link(c, obj);
	}
	if (free + used != c->cache_objs)
		kml_violation(v, "slab at page %u: %u free and %u in use of %u", head, free,
			      used, c->cache_objs);
	if (!(c->cache_flags & KML_SLAB_RED_ZONE))
		return;
	for (i = 0; i < c->cache_objs; i++) {
		void *obj = obj_at(c, head, i);

		if (red_bad(c, obj, KML_RED_INACTIVE) && red_bad(c, obj, KML_RED_ACTIVE))
			kml_violation(v, "object %p (page %u #%u): red zone overwritten",
				      obj, head, i);
	}
}

/* The slabs waiting for a grace period: tagged, marked, counted. */
static void validate_rcu(struct kml_validation *v, struct kml_cache *c)
{
	u32 lists[2] = { c->cache_rcu_next, c->cache_rcu_wait }, head;
	unsigned long n = 0;
	int l;

	kml_lock_assert_held(&c->cache_lock);
	for (l = 0; l < 2; l++)
		for (head = lists[l]; head != KML_NIL && n <= c->cache_rcu_slabs;
		     head = pg(c, head)->pg_next, n++) {
			u16 tag = KML_READ(c->cache_sys->sys_buddy->pages[head].pg_tag);

			if (tag != KML_TAG(KML_PG_ALLOC, KML_KIND_SLAB, c->cache_order) ||
			    pg(c, head)->pg_private != (c->cache_id | KML_SLAB_RCU_PENDING) ||
			    pg(c, head)->pg_flags)
				kml_violation(v, "released slab %u: tag %#x, id %#x, %u used",
					      head, tag, pg(c, head)->pg_private,
					      pg(c, head)->pg_flags);
		}
	if (n != c->cache_rcu_slabs)
		kml_violation(v, "%lu slabs waiting for a grace period, %lu counted", n,
			      c->cache_rcu_slabs);
	if (c->cache_rcu_slabs && !c->cache_rcu_busy)
		kml_violation(v, "slabs wait for a grace period but none is queued");
}

/* Magazine @m of @c holds @n objects; @where names it in reports. */
static void validate_mag(struct kml_validation *v, struct kml_cache *c, struct kml_mag *m,
			 unsigned int n, const char *where, unsigned int cpu)
{
	unsigned int k, i;
	u32 head;

	if (!obj_index(c->cache_sys->sys_mag_cache, m, &head, &i)) {
		kml_violation(v, "%s %u: %p is not a magazine", where, cpu, m);
		return;
	}
	if (n > c->cache_cpu_limit) {
		kml_violation(v, "%s %u: a magazine holds %u of %u", where, cpu, n,
			      c->cache_cpu_limit);
		return;
	}
	for (k = 0; k < n; k++)
		if (!obj_index(c, m->mag_objs[k], &head, &i))
			kml_violation(v, "%s %u: a magazine holds a foreign %p", where, cpu,
				      m->mag_objs[k]);
}

struct validate_cpu {
	struct kml_cache *c;
	struct kml_validation *v;
};

/* kml_on_each_cpu: CPU @cpu's two magazines. */
static void validate_cpu(void *arg, unsigned int cpu)
{
	struct validate_cpu *vc = arg;
	struct kml_cache *c = vc->c;
	struct kml_slab_cpu *cc;
	unsigned long flags = 0;

	cc = kml_cpu_lock(c->cache_cpu, cpu, flags);
	if (cc->cpu_loaded)
		validate_mag(vc->v, c, cc->cpu_loaded, cc->cpu_avail, "cpu", cpu);
	else if (cc->cpu_avail || cc->cpu_room || cc->cpu_prev)
		kml_violation(vc->v, "cpu %u: %u objects, room %u, a previous one, none loaded",
			      cpu, cc->cpu_avail, cc->cpu_room);
	if (cc->cpu_prev)
		validate_mag(vc->v, c, cc->cpu_prev, cc->cpu_prev_avail, "cpu", cpu);
	if (cc->cpu_prev_avail && cc->cpu_prev_avail != c->cache_cpu_limit)
		kml_violation(vc->v, "cpu %u: the previous magazine holds %u, neither 0 nor %u",
			      cpu, cc->cpu_prev_avail, c->cache_cpu_limit);
	kml_local_unlock(c->cache_cpu, cc, flags);
}

static void validate_depot(struct kml_validation *v, struct kml_cache *c)
{
	unsigned long flags = 0;
	unsigned int n = 0, e = 0;
	struct kml_mag *m;

	kml_lock(&c->cache_depot_lock, flags);
	for (m = c->cache_depot_full; m && n <= c->cache_depot_nfull; m = m->mag_next, n++)
		validate_mag(v, c, m, c->cache_cpu_limit, "depot full", n);
	for (m = c->cache_depot_empty; m && e <= c->cache_depot_nempty; m = m->mag_next, e++)
		validate_mag(v, c, m, 0, "depot empty", e);
	if (n != c->cache_depot_nfull || e != c->cache_depot_nempty)
		kml_violation(v, "depot: %u full and %u empty magazines counted, %u and %u linked",
			      c->cache_depot_nfull, c->cache_depot_nempty, n, e);
	if (n > c->cache_depot_max)
		kml_violation(v, "depot: %u full magazines, at most %u", n, c->cache_depot_max);
	kml_unlock(&c->cache_depot_lock, flags);
}

unsigned long kml_slab_validate(struct kml_cache *c, kml_print_fn pr, void *ctx)
{
	struct kml_validation v = { .pr = pr, .ctx = ctx, .who = c->cache_name };
	struct validate_cpu vc = { .c = c, .v = &v };
	unsigned long flags = 0, inuse = 0;
	int l;

	if (c->cache_cpu) {
		kml_on_each_cpu(validate_cpu, &vc);
		validate_depot(&v, c);
	}

	kml_lock(&c->cache_lock, flags);
	for (l = 0; l < 3; l++) {
		u32 head, prev = KML_NIL;
		unsigned long n = 0;

		for (head = c->cache_list[l]; head != KML_NIL && n <= c->cache_nr[l];
		     head = pg(c, head)->pg_next, n++) {
			if (pg(c, head)->pg_prev != prev)
				kml_violation(&v, "slab at page %u: back link %u, not %u", head,
					      pg(c, head)->pg_prev, prev);
			prev = head;
			validate_slab(&v, c, head, l);
			inuse += pg(c, head)->pg_flags;
		}
		if (n != c->cache_nr[l])
			kml_violation(&v, "list %d: %lu slabs counted, %lu linked", l,
				      c->cache_nr[l], n);
	}
	if (inuse != c->cache_active)
		kml_violation(&v, "%lu objects in use in slabs, %lu counted", inuse,
			      c->cache_active);
	validate_rcu(&v, c);
	kml_unlock(&c->cache_lock, flags);
	return kml_validation_end(&v);
}
