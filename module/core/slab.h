/* SPDX-License-Identifier: GPL-2.0 */
/*
 * slab.h - kmemlab's object caches (Bonwick's slab allocator) and the
 * kmalloc family on general caches. See slab.c.
 */
#ifndef KML_SLAB_H
#define KML_SLAB_H

#include "buddy.h"

#include "../include/kmemlab_flags.h"	/* KML_SLAB_*: the cache flags */

/* The kernel's poison values (include/linux/poison.h). */
#define KML_POISON_FREE		0x6b
#define KML_POISON_END		0xa5
#define KML_RED_INACTIVE	0xbb
#define KML_RED_ACTIVE		0xcc

#define KML_CPU_OBJS		64	/* largest per-CPU magazine */
#define KML_MAX_CACHES		256
#define KML_CACHE_NAME		32
#define KML_KMALLOC_MIN		8
#define KML_KMALLOC_MAX_LIMIT	(128u << 10)
#define KML_ZERO_SIZE_PTR	((void *)16)	/* kmalloc(0), as ZERO_SIZE_PTR */

/*
 * What an allocation or a free does to the object's bytes. The glue decides
 * from the gfp and the init_on_alloc / init_on_free settings; the core
 * applies them per cache as Linux's slab does (mm/slab.h):
 *   KML_INIT_ZERO   __GFP_ZERO: zero the object, whatever the cache (a cache
 *                   with a constructor is reported and not zeroed);
 *   KML_INIT_ALLOC  init_on_alloc: zero unless the cache has a constructor,
 *                   is KML_SLAB_TYPESAFE_BY_RCU or poisons;
 *   KML_INIT_FREE   init_on_free: zero on free, with the same exceptions.
 * A large kmalloc block (whole pages) is zeroed by any of them, as Linux's
 * page allocator does.
 */
#define KML_INIT_ZERO		0x1
#define KML_INIT_ALLOC		0x2
#define KML_INIT_FREE		0x4

struct kml_track {
	const void *tr_caller;
	unsigned long tr_when;
	int tr_cpu;
	int tr_pid;
};

/*
 * A magazine (Bonwick): a stack of constructed objects, exchanged whole
 * between a CPU and its cache's depot. An object of the system's magazine
 * cache. In the depot it is full (cache_cpu_limit rounds) or empty.
 */
struct kml_mag {
	struct kml_mag *mag_next;	/* on a depot list */
	void *mag_objs[KML_CPU_OBJS];
};

/*
 * One CPU's magazines of a cache, in per-CPU memory, under its local lock:
 * cpu_loaded serves allocations and takes frees; cpu_prev is full or
 * empty (Bonwick's previous magazine), so that a CPU swinging between
 * allocating and freeing swaps the two and does not reach the depot.
 * cpu_prev is set only when cpu_loaded is.
 */
struct kml_slab_cpu {
	kml_pcpu_lock_t pcpu_lock;
	unsigned int cpu_avail;		/* rounds in cpu_loaded */
	unsigned int cpu_room;		/* cpu_loaded's capacity; 0 without one */
	unsigned int cpu_prev_avail;	/* rounds in cpu_prev: 0 or cpu_room */
	struct kml_mag *cpu_loaded, *cpu_prev;
	unsigned long cpu_allocs;	/* served from the magazines */
	unsigned long cpu_frees;	/* taken into the magazines */
	unsigned long cpu_swaps;	/* loaded and previous exchanged */
};

struct kml_slab_sys;

struct kml_cache {
	char cache_name[KML_CACHE_NAME];
	unsigned int cache_id;
	unsigned int cache_object_size;	/* what the creator asked for */
	unsigned int cache_size;	/* stride: object and its metadata */
	unsigned int cache_align;
	unsigned int cache_flags;
	unsigned int cache_order;	/* slab order */
	unsigned int cache_objs;	/* objects per slab */
	unsigned int cache_free_off;	/* the free link's offset in a stride */
	u32 cache_recip;		/* ceil(2^32 / cache_size): offset -> index */
	unsigned int cache_track_off;	/* two struct kml_track, or 0 */
	unsigned int cache_colours;	/* colour offsets 0..colours-1 lines */
	unsigned int cache_cpu_limit;	/* magazine size, 0 without a per-CPU layer */
	unsigned int cache_cpu_batch;	/* objects per refill from the slabs */
	unsigned int cache_depot_max;	/* full magazines the depot may keep */
	unsigned int cache_empty_max;	/* empty slabs kept before reaping */
	void (*cache_ctor)(void *obj);
	struct kml_slab_sys *cache_sys;
	bool cache_dead;		/* destroyed while objects lived */
	kml_rcu_head_t cache_rcu_head;	/* KML_SLAB_TYPESAFE_BY_RCU: the release batch */
	struct kml_slab_cpu __percpu *cache_cpu;	/* NULL without magazines */

	kml_lock_t cache_depot_lock;	/* the depot: the five below */
	struct kml_mag *cache_depot_full, *cache_depot_empty;
	unsigned int cache_depot_nfull, cache_depot_nempty;
	unsigned int cache_depot_min;	/* fewest full magazines since the last reap */
	unsigned long cache_depot_reaped_at;	/* kml_now() of the last reap */
	unsigned long cache_depot_reaps;	/* full magazines reaped, unused an interval */
	unsigned long cache_depot_hits;	/* a full or empty magazine was there */
	unsigned long cache_depot_misses;	/* none was: the slabs or a new one */

	kml_lock_t cache_lock;		/* everything below */
	unsigned int cache_colour_next;
	u32 cache_list[3];		/* full, partial, empty: head pages */
	unsigned long cache_nr[3];	/* slabs on each list */
	unsigned long cache_active;	/* objects off the slabs' free lists */
	unsigned long cache_slow_allocs, cache_slow_frees;
	unsigned long cache_grown, cache_reaped;
	unsigned long cache_errors;	/* misuse and corruption found */
	/*
	 * KML_SLAB_TYPESAFE_BY_RCU: empty slabs on their way back to the buddy
	 * allocator. rcu_next waits for a grace period to start, rcu_wait for
	 * the one in flight (cache_rcu_head is queued while rcu_busy); linked
	 * through pg_next/pg_prev, their pg_private has KML_SLAB_RCU_PENDING.
	 */
	u32 cache_rcu_next, cache_rcu_wait;
	unsigned long cache_rcu_slabs;	/* on both lists */
	bool cache_rcu_busy;
};

enum { KML_SLABS_FULL, KML_SLABS_PARTIAL, KML_SLABS_EMPTY };

/* In a slab's pg_private: released, waiting for its grace period. */
#define KML_SLAB_RCU_PENDING	0x80000000u

struct kml_slab_sys {
	struct kml_buddy *sys_buddy;
	unsigned int sys_nr_cpus;
	unsigned int sys_debug;		/* flags forced on every cache */
	unsigned int sys_kmalloc_max;	/* largest general cache */
	/*
	 * The cache table: entries change under both sys_mutex and sys_lock.
	 * Walks in process context hold sys_mutex (and may sleep); reclaim,
	 * which runs in any context, only ever tries sys_lock.
	 */
	kml_mutex_t sys_mutex;
	kml_lock_t sys_lock;		/* sys_caches, and the counters below */
	struct kml_cache *sys_caches[KML_MAX_CACHES];	/* by cache_id */
	struct kml_cache *sys_cache_cache;	/* describes itself, id 0 */
	struct kml_cache *sys_mag_cache;	/* magazines, id 1; no per-CPU layer */
	struct kml_cache *sys_kmalloc[20];	/* general caches by index */
	unsigned long sys_large_allocs, sys_large_frees;
	unsigned long sys_bad_frees;	/* pointers kmemlab did not hand out */
	/*
	 * Set by the glue, or NULL: called as a large kmalloc block is freed;
	 * true when the glue kept the block because others still reference
	 * its pages (it gives the block back when they are done).
	 */
	bool (*sys_hold)(u32 idx, unsigned int order, enum kml_page_kind kind);
};

int kml_slab_init(struct kml_slab_sys *sys, struct kml_buddy *b,
		  unsigned int debug, unsigned int kmalloc_max);
void kml_slab_exit(struct kml_slab_sys *sys);

/*
 * A new cache in *@cp; 0, or -EINVAL (bad size, align or flags), -EEXIST
 * (the name is taken), -ENOSPC (the table is full), -ENOMEM. May sleep.
 */
int kml_slab_create(struct kml_slab_sys *sys, const char *name, unsigned int size,
		    unsigned int align, unsigned int flags, void (*ctor)(void *),
		    struct kml_cache **cp);
/*
 * Calls @fn for every cache in id order, holding the table's mutex (so no
 * cache comes or goes meanwhile; @fn may sleep, and must not create or
 * destroy caches). Stops at a non-zero return and returns it.
 */
int kml_slab_for_each(struct kml_slab_sys *sys, int (*fn)(struct kml_cache *c, void *arg),
		      void *arg);
/*
 * 0, or -EBUSY when objects still lived (each reported, slabs kept). May
 * sleep: it waits for the cache's slabs still waiting for a grace period.
 */
int kml_slab_destroy(struct kml_cache *c);
/* @init: KML_INIT_ZERO, _ALLOC; @caller: whom owner tracking records. */
void *kml_slab_alloc(struct kml_cache *c, unsigned int init, const void *caller);
/* @init: KML_INIT_FREE. 0, or -EINVAL after reporting a misuse (nothing changes). */
int kml_slab_free(struct kml_cache *c, void *obj, unsigned int init, const void *caller);
/*
 * Empties every CPU's magazines and the depot, and frees every empty slab;
 * returns their pages. A KML_SLAB_TYPESAFE_BY_RCU cache's pages go back
 * only after a grace period (kml_slab_rcu_wait waits for them). Process
 * context, no kmemlab lock held: it may sleep (kml_on_each_cpu), as
 * kmem_cache_shrink.
 */
unsigned long kml_slab_shrink(struct kml_cache *c);
/*
 * Waits until every slab of @c released before the call is back in the
 * buddy allocator (kml_rcu_barrier); at once for other caches. May sleep.
 */
void kml_slab_rcu_wait(struct kml_cache *c);
/*
 * Every cache's magazines on every CPU (one kml_on_each_cpu pass, which
 * also drains each CPU's free pages) and every depot, and every empty
 * slab: all the free memory the slab layer and the per-CPU lists hold,
 * back to the buddy allocator. Returns the slab pages freed. Process
 * context, may sleep; what a caller that may sleep does before it fails.
 */
unsigned long kml_slab_drain(struct kml_slab_sys *sys);
/* CPU @cpu is dead: its magazines of every cache go back. May sleep. */
void kml_slab_cpu_dead(struct kml_slab_sys *sys, unsigned int cpu);
/*
 * The buddy's reclaim hook, any context: every cache whose locks are free
 * at once gives back its depot's objects and its empty slabs.
 */
void kml_slab_reclaim(void *sys);
/* Checks @c whole, its CPUs' magazines included; process context, may sleep. */
unsigned long kml_slab_validate(struct kml_cache *c, kml_print_fn pr, void *ctx);

/* @init: KML_INIT_* (kml_slab_alloc's and kml_slab_free's) */
void *kml_slab_kmalloc(struct kml_slab_sys *sys, size_t size, unsigned int init,
		       const void *caller);
void kml_slab_kfree(struct kml_slab_sys *sys, const void *p, unsigned int init,
		    const void *caller);
/* kfree after zeroing the whole object (its ksize), whatever init says. */
void kml_slab_kfree_sensitive(struct kml_slab_sys *sys, const void *p, const void *caller);
size_t kml_slab_ksize(struct kml_slab_sys *sys, const void *p);
/*
 * ksize with the caller's name in the report: 0 (reported, counted as a
 * bad free) for a pointer that is not the start of a live kmalloc object
 * or large block; NULL and ZERO_SIZE_PTR give 0 unreported.
 */
size_t kml_slab_usable(struct kml_slab_sys *sys, const void *p, const char *what,
		       const void *caller);
/* Counts a misuse the glue found (debugfs misuse_kfree). */
void kml_slab_note_bad_free(struct kml_slab_sys *sys);
void *kml_slab_krealloc(struct kml_slab_sys *sys, const void *p, size_t size,
			unsigned int init, const void *caller);
/* The general cache kml_kmalloc uses for @size, or NULL beyond them. */
struct kml_cache *kml_slab_kmalloc_cache(struct kml_slab_sys *sys, size_t size);

/* Per-cache counters, gathered for debugfs. */
struct kml_cache_stats {
	unsigned long active_objs, num_objs, active_slabs, num_slabs;
	unsigned long full, partial, empty;
	unsigned long fast_allocs, fast_frees, slow_allocs, slow_frees;
	unsigned long grown, reaped, cpu_cached, errors;
	unsigned long rcu_pending;	/* slabs waiting for a grace period */
	/* the depot: objects in its full magazines, its magazines, hits, misses */
	unsigned long depot_objs, depot_full, depot_empty, depot_hits, depot_misses;
	unsigned long mag_swaps;	/* a CPU's two magazines exchanged */
	unsigned long depot_reaped;	/* full magazines reaped, unused for a second */
};

void kml_slab_stats(struct kml_cache *c, struct kml_cache_stats *st);

/* A cache's layout and tunables, as debugfs geometry shows them. */
struct kml_cache_geometry {
	const char *name;		/* lives as long as the cache */
	unsigned int id;		/* its index in the cache table */
	unsigned int object_size, size, align, order, objs, waste, colours;
	unsigned int free_off, track_off, cpu_limit, cpu_batch, depot_max, empty_max, flags;
	void (*ctor)(void *obj);
	bool dead;			/* destroyed while objects lived */
};

void kml_slab_geometry(struct kml_cache *c, struct kml_cache_geometry *g);
unsigned int kml_slab_object_size(struct kml_cache *c);

/* The kmalloc family's counters beyond the caches. */
struct kml_slab_sys_stats {
	unsigned long large_allocs, large_frees, bad_frees;
};

void kml_slab_sys_stats(struct kml_slab_sys *sys, struct kml_slab_sys_stats *st);

#endif /* KML_SLAB_H */
