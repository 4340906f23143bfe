// SPDX-License-Identifier: GPL-2.0
/*
 * Host tests of module/core/slab.c over the buddy core and an arena,
 * built with ASan and UBSan. Caches are checked with kml_slab_validate()
 * and the buddy allocator must be pristine once everything is destroyed.
 */
#include <pthread.h>
#include <stdarg.h>
#include "kselftest_harness.h"
#include "../../module/core/slab.h"

#define NPAGES	2048	/* 8 MiB: two order-10 blocks */

/* kml_slab_create's cache, or NULL whatever the error. */
static struct kml_cache *create(struct kml_slab_sys *sys, const char *name, unsigned int size,
				unsigned int align, unsigned int flags, void (*ctor)(void *))
{
	struct kml_cache *c;

	return kml_slab_create(sys, name, size, align, flags, ctor, &c) ? NULL : c;
}

FIXTURE(slab) {
	struct kml_buddy b;
	struct kml_slab_sys sys;
};

FIXTURE_SETUP(slab)
{
	kml_host_arena = aligned_alloc(KML_PAGE_SIZE, NPAGES * KML_PAGE_SIZE);
	kml_host_arena_pages = NPAGES;
	ASSERT_NE(NULL, kml_host_arena);
	ASSERT_EQ(0, kml_buddy_init(&self->b, NPAGES, 10));
	ASSERT_EQ(0, kml_slab_init(&self->sys, &self->b, 0, 128 << 10));
}

FIXTURE_TEARDOWN(slab)
{
	kml_slab_exit(&self->sys);
	kml_buddy_drain(&self->b);
	EXPECT_TRUE(kml_buddy_pristine(&self->b));
	EXPECT_EQ(0, kml_buddy_validate(&self->b, kml_host_print, NULL));
	kml_buddy_destroy(&self->b);
	free(kml_host_arena);
	kml_host_arena = NULL;
}

static unsigned long check(struct kml_cache *c)
{
	return kml_slab_validate(c, kml_host_print, NULL);
}

static u32 cache_of(struct kml_slab_sys *sys, const void *p)
{
	u32 h = kml_buddy_block_head(sys->sys_buddy, kml_addr_page(p));

	return sys->sys_buddy->pages[h].pg_private;
}

TEST_F(slab, cache_cache_describes_itself)
{
	struct kml_cache *cc = self->sys.sys_cache_cache;
	struct kml_cache *c = create(&self->sys, "thing", 100, 0, 0, NULL);

	ASSERT_NE(NULL, c);
	EXPECT_STREQ("kmem_cache", cc->cache_name);
	EXPECT_EQ(0, cc->cache_id);
	/* Its descriptor is an object in one of its own slabs ... */
	EXPECT_EQ(0, cache_of(&self->sys, cc));
	/* ... and so is every other cache's. */
	EXPECT_EQ(0, cache_of(&self->sys, c));
	EXPECT_EQ(0, kml_slab_destroy(c));
	EXPECT_EQ(0, check(cc));
}

TEST_F(slab, general_caches_as_linux)
{
	static const unsigned int sizes[] = { 8, 16, 32, 64, 96, 128, 192, 256, 512,
		1024, 2048, 4096, 8192, 16384, 32768, 65536, 131072 };
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(sizes); i++) {
		struct kml_cache *c = kml_slab_kmalloc_cache(&self->sys, sizes[i]);

		ASSERT_NE(NULL, c);
		EXPECT_EQ(sizes[i], c->cache_object_size);
		/* one byte more goes to the next class */
		if (i + 1 < ARRAY_SIZE(sizes)) {
			struct kml_cache *next = kml_slab_kmalloc_cache(&self->sys, sizes[i] + 1);

			EXPECT_EQ(sizes[i + 1], next->cache_object_size);
		}
		/* waste stays under 1/8 of a slab */
		EXPECT_GT((KML_PAGE_SIZE << c->cache_order) / 8,
			  (KML_PAGE_SIZE << c->cache_order) - c->cache_objs * c->cache_size);
	}
	EXPECT_STREQ("kmalloc-96", kml_slab_kmalloc_cache(&self->sys, 65)->cache_name);
	EXPECT_STREQ("kmalloc-192", kml_slab_kmalloc_cache(&self->sys, 129)->cache_name);
	EXPECT_STREQ("kmalloc-8k", kml_slab_kmalloc_cache(&self->sys, 8000)->cache_name);
	EXPECT_EQ(NULL, kml_slab_kmalloc_cache(&self->sys, (128 << 10) + 1));
	EXPECT_EQ(512, kml_slab_kmalloc_cache(&self->sys, 8)->cache_objs);	/* a page of 8s */
}

TEST_F(slab, slabs_grow_fill_colour_and_reap)
{
	struct kml_cache *c = create(&self->sys, "c200", 200, 0, 0, NULL);
	unsigned int per, i, offs[3];
	void *objs[64];
	struct kml_cache_stats st;

	ASSERT_NE(NULL, c);
	per = c->cache_objs;
	ASSERT_EQ(20, per);		/* 4096 / 200, 96 bytes left */
	EXPECT_EQ(2, c->cache_colours);	/* offsets 0 and 64 */
	for (i = 0; i < 3 * per; i++) {
		objs[i] = kml_slab_alloc(c, 0, NULL);
		ASSERT_NE(NULL, objs[i]);
		memset(objs[i], i, 200);
	}
	kml_slab_stats(c, &st);
	EXPECT_EQ(3, st.grown);
	EXPECT_EQ(3 * per, st.active_objs + 0 * st.cpu_cached);
	/* Successive slabs start at successive cache-line offsets. */
	for (i = 0; i < 3; i++)
		offs[i] = ((uintptr_t)objs[i * per] % KML_PAGE_SIZE) / KML_CACHE_LINE;
	EXPECT_NE(offs[0], offs[1]);
	EXPECT_NE(offs[1], offs[2]);
	EXPECT_EQ(0, check(c));
	for (i = 0; i < 3 * per; i++) {
		/* Braced: a failed ASSERT ends the test here, not after the loop. */
		ASSERT_EQ(0, kml_slab_free(c, objs[i], 0, NULL));
	}
	/* Magazines hold some; shrinking returns everything to the buddy. */
	kml_slab_shrink(c);
	kml_slab_stats(c, &st);
	EXPECT_EQ(0, st.num_slabs);
	EXPECT_EQ(0, st.active_objs);
	EXPECT_EQ(3, st.reaped);
	EXPECT_EQ(0, check(c));
	EXPECT_EQ(0, kml_slab_destroy(c));
}

static int ctor_runs;

static void ctor(void *obj)
{
	ctor_runs++;
	memcpy(obj, "constructed", 12);
}

TEST_F(slab, constructor_runs_once_per_object)
{
	struct kml_cache *c = create(&self->sys, "ctor", 64, 0, 0, ctor);
	unsigned int i;
	void *o;

	ASSERT_NE(NULL, c);
	ctor_runs = 0;
	o = kml_slab_alloc(c, 0, NULL);
	ASSERT_NE(NULL, o);
	EXPECT_EQ(c->cache_objs, ctor_runs);	/* the whole slab, once */
	EXPECT_EQ(0, memcmp(o, "constructed", 12));
	/* Freed objects come back constructed, with no constructor run. */
	for (i = 0; i < 1000; i++) {
		kml_slab_free(c, o, 0, NULL);
		o = kml_slab_alloc(c, 0, NULL);
		ASSERT_EQ(0, memcmp(o, "constructed", 12));
	}
	EXPECT_EQ(c->cache_objs, ctor_runs);
	/* The free link lives outside the object. */
	EXPECT_LE(64, c->cache_free_off);
	kml_slab_free(c, o, 0, NULL);
	EXPECT_EQ(0, kml_slab_destroy(c));
}

TEST_F(slab, kmalloc_family)
{
	struct kml_slab_sys *sys = &self->sys;
	unsigned long before = sys->sys_bad_frees;
	char *p, *q, local;
	int i;

	EXPECT_EQ(KML_ZERO_SIZE_PTR, kml_slab_kmalloc(sys, 0, 0, NULL));
	kml_slab_kfree(sys, KML_ZERO_SIZE_PTR, 0, NULL);
	kml_slab_kfree(sys, NULL, 0, NULL);
	for (i = 1; i <= 8192; i += 37) {
		p = kml_slab_kmalloc(sys, i, KML_INIT_ZERO, NULL);
		ASSERT_NE(NULL, p);
		ASSERT_LE(i, kml_slab_ksize(sys, p));
		ASSERT_EQ(0, p[i - 1]);
		kml_slab_kfree(sys, p, 0, NULL);
	}
	EXPECT_EQ(96, kml_slab_ksize(sys, p = kml_slab_kmalloc(sys, 90, 0, NULL)));
	memset(p, 'a', 90);
	q = kml_slab_krealloc(sys, p, 96, 0, NULL);		/* same class: in place */
	EXPECT_EQ(p, q);
	q = kml_slab_krealloc(sys, p, 100, KML_INIT_ZERO, NULL);	/* kmalloc-128: moves */
	ASSERT_NE(NULL, q);
	EXPECT_NE(p, q);
	EXPECT_EQ('a', q[89]);
	EXPECT_EQ(0, q[99]);
	EXPECT_EQ(KML_ZERO_SIZE_PTR, kml_slab_krealloc(sys, q, 0, 0, NULL));
	/* Beyond the largest general cache: whole buddy blocks. */
	p = kml_slab_kmalloc(sys, (128 << 10) + 1, 0, NULL);
	ASSERT_NE(NULL, p);
	EXPECT_EQ(256 << 10, kml_slab_ksize(sys, p));
	EXPECT_EQ(NULL, kml_slab_kmalloc(sys, (4 << 20) + 1, 0, NULL));
	/* Pointers kmemlab did not hand out are refused. */
	kml_slab_kfree(sys, &local, 0, NULL);
	kml_slab_kfree(sys, p + 4096, 0, NULL);
	kml_slab_kfree(sys, p, 0, NULL);
	kml_slab_kfree(sys, p, 0, NULL);				/* free memory now */
	EXPECT_EQ(3, sys->sys_bad_frees - before);
	EXPECT_EQ(1, sys->sys_large_frees);
}

TEST_F(slab, wrong_pointers_are_refused)
{
	struct kml_cache *a = create(&self->sys, "a", 64, 0, 0, NULL);
	struct kml_cache *b = create(&self->sys, "b", 64, 0, 0, NULL);
	char *o = kml_slab_alloc(a, 0, NULL);

	ASSERT_NE(NULL, o);
	EXPECT_EQ(-EINVAL, kml_slab_free(b, o, 0, NULL));	/* another cache's */
	EXPECT_EQ(-EINVAL, kml_slab_free(a, o + 8, 0, NULL));	/* inside an object */
	EXPECT_EQ(-EINVAL, kml_slab_free(a, &o, 0, NULL));	/* not in the region */
	EXPECT_EQ(0, kml_slab_free(a, o, 0, NULL));
	EXPECT_EQ(-EINVAL, kml_slab_free(a, o, 0, NULL));	/* still in the magazine */
	EXPECT_EQ(3, b->cache_errors + a->cache_errors - 1);
	EXPECT_EQ(0, check(a));
	EXPECT_EQ(0, kml_slab_destroy(a));
	EXPECT_EQ(0, kml_slab_destroy(b));
}

TEST_F(slab, debug_detects_misuse)
{
	struct kml_cache *c = create(&self->sys, "dbg", 40, 0, KML_SLAB_DEBUG, NULL);
	unsigned long e0 = kml_host_errors;
	u8 *o, *p;

	ASSERT_NE(NULL, c);
	EXPECT_EQ(0, c->cache_cpu_limit);	/* every call is checked */
	o = kml_slab_alloc(c, 0, NULL);
	ASSERT_NE(NULL, o);
	EXPECT_EQ(KML_RED_ACTIVE, o[40]);
	EXPECT_EQ(0, kml_slab_free(c, o, 0, NULL));
	EXPECT_EQ(KML_POISON_FREE, o[0]);
	EXPECT_EQ(KML_POISON_END, o[39]);
	EXPECT_EQ(KML_RED_INACTIVE, o[40]);
	EXPECT_EQ(-EINVAL, kml_slab_free(c, o, 0, NULL));	/* double free */
	EXPECT_EQ(1, c->cache_errors);

	o[3] = 1;					/* write after free */
	EXPECT_NE(0, check(c));				/* validate sees it */
	p = kml_slab_alloc(c, 0, NULL);			/* LIFO: the same object */
	EXPECT_EQ(o, p);
	EXPECT_EQ(2, c->cache_errors);			/* and so does allocation */

	p[40] = 0;					/* write past the end */
	EXPECT_EQ(0, kml_slab_free(c, p, 0, NULL));		/* reported, then freed */
	EXPECT_EQ(3, c->cache_errors);
	EXPECT_EQ(0, check(c));				/* red zone restored */
	EXPECT_LE(3, kml_host_errors - e0);

	/* Destroying with live objects reports each and keeps their slabs. */
	o = kml_slab_alloc(c, 0, NULL);
	p = kml_slab_alloc(c, 0, NULL);
	EXPECT_EQ(-EBUSY, kml_slab_destroy(c));
	EXPECT_TRUE(c->cache_dead);
	EXPECT_EQ(5, c->cache_errors);
	EXPECT_EQ(0, kml_slab_free(c, o, 0, NULL));		/* still usable */
	EXPECT_EQ(0, kml_slab_free(c, p, 0, NULL));
	EXPECT_EQ(0, kml_slab_destroy(c));
}

/* A double free after the red zone was overwritten is still a double free. */
TEST_F(slab, double_free_after_red_zone_overwrite)
{
	struct kml_cache *c = create(&self->sys, "rz", 40, 0, KML_SLAB_RED_ZONE, NULL);
	u8 *x, *y, *z;

	ASSERT_NE(NULL, c);
	x = kml_slab_alloc(c, 0, NULL);
	ASSERT_EQ(0, kml_slab_free(c, x, 0, NULL));
	x[40] = 0;				/* past the end of a free object */
	EXPECT_EQ(-EINVAL, kml_slab_free(c, x, 0, NULL));
	EXPECT_EQ(0, kml_slab_validate(c, kml_host_print, NULL) > 0 ? 0 : 1);
	x[40] = KML_RED_INACTIVE;		/* repair, so validate is clean */
	y = kml_slab_alloc(c, 0, NULL);
	z = kml_slab_alloc(c, 0, NULL);
	EXPECT_NE(y, z);			/* not handed out twice */
	EXPECT_EQ(0, check(c));
	kml_slab_free(c, y, 0, NULL);
	kml_slab_free(c, z, 0, NULL);
	EXPECT_EQ(0, kml_slab_destroy(c));
}

TEST_F(slab, ksize_and_krealloc_refuse_interior_pointers)
{
	char *p = kml_slab_kmalloc(&self->sys, 100, 0, NULL);

	ASSERT_NE(NULL, p);
	EXPECT_EQ(128, kml_slab_ksize(&self->sys, p));
	EXPECT_EQ(0, kml_slab_ksize(&self->sys, p + 50));
	EXPECT_EQ(NULL, kml_slab_krealloc(&self->sys, p + 50, 500, 0, NULL));
	kml_slab_kfree(&self->sys, p, 0, NULL);
}

TEST_F(slab, cache_names_are_unique)
{
	struct kml_cache *a = create(&self->sys, "same", 64, 0, 0, NULL), *c = (void *)1;

	ASSERT_NE(NULL, a);
	EXPECT_EQ(NULL, create(&self->sys, "same", 32, 0, 0, NULL));
	EXPECT_EQ(NULL, create(&self->sys, "kmalloc-64", 64, 0, 0, NULL));
	/* The errno says why, and nothing is handed out. */
	EXPECT_EQ(-EEXIST, kml_slab_create(&self->sys, "same", 32, 0, 0, NULL, &c));
	EXPECT_EQ(NULL, c);
	EXPECT_EQ(-EINVAL, kml_slab_create(&self->sys, "odd", 64, 3, 0, NULL, &c));
	EXPECT_EQ(NULL, c);
	EXPECT_EQ(0, kml_slab_destroy(a));
}

TEST_F(slab, global_debug_flags_apply_to_kmalloc)
{
	struct kml_slab_sys dsys;
	char *p;

	kml_slab_exit(&self->sys);
	ASSERT_EQ(0, kml_slab_init(&dsys, &self->b, KML_SLAB_DEBUG, 8192));
	p = kml_slab_kmalloc(&dsys, 20, 0, NULL);
	ASSERT_NE(NULL, p);
	p[32] = 'x';		/* kmalloc-32: past its end, into the red zone */
	kml_slab_kfree(&dsys, p, 0, NULL);
	EXPECT_EQ(1, kml_slab_kmalloc_cache(&dsys, 20)->cache_errors);
	kml_slab_exit(&dsys);
	ASSERT_EQ(0, kml_slab_init(&self->sys, &self->b, 0, 128 << 10));
}

TEST_F(slab, reclaim_when_the_buddy_runs_short)
{
	struct kml_cache *c = create(&self->sys, "r", 512, 0, 0, NULL);
	struct kml_cache_stats st;
	void *objs[2048];
	u32 pages[NPAGES];
	unsigned int i, n = 0, got;

	ASSERT_NE(NULL, c);
	for (i = 0; i < 2048; i++) {
		/* Braced: a failed ASSERT ends the test here, not after the loop. */
		ASSERT_NE(NULL, objs[i] = kml_slab_alloc(c, 0, NULL));
	}
	for (i = 0; i < 2048; i++)
		kml_slab_free(c, objs[i], 0, NULL);
	/* Empty slabs beyond the limit were reaped; magazines hold objects. */
	EXPECT_LT(0, c->cache_reaped);
	/* Take every page: the last ones come from the cache's slabs. */
	while ((got = kml_buddy_alloc(&self->b, 0, KML_KIND_TEST)) != KML_NIL)
		pages[n++] = got;
	kml_buddy_drain(&self->b);
	EXPECT_EQ(0, c->cache_list[KML_SLABS_EMPTY] == KML_NIL ? 0 : 1);
	/* The depot gave its objects back; only this CPU's two magazines hold any. */
	kml_slab_stats(c, &st);
	EXPECT_EQ(0, st.depot_objs);
	EXPECT_LT(0, st.depot_empty);
	EXPECT_EQ(st.cpu_cached, c->cache_active);
	EXPECT_EQ(0, check(c));
	for (i = 0; i < n; i++)
		kml_buddy_free(&self->b, pages[i], 0, KML_KIND_TEST);
	EXPECT_EQ(0, kml_slab_destroy(c));
}

/* The host's CPU slot of this thread: what a test moves between "CPUs". */
static void on_cpu(unsigned int cpu)
{
	kml_host_slot = cpu;
}

/* Objects an allocating CPU takes from the slabs, a freeing CPU gives back. */
static void produce_consume(struct kml_cache *c, void **objs, unsigned int n)
{
	unsigned int i;

	on_cpu(0);
	for (i = 0; i < n; i++)
		objs[i] = kml_slab_alloc(c, 0, NULL);
	on_cpu(1);
	for (i = 0; i < n; i++)
		if (objs[i])
			kml_slab_free(c, objs[i], 0, NULL);
}

TEST_F(slab, producer_and_consumer_meet_in_the_depot)
{
	struct kml_cache *c = create(&self->sys, "pc", 64, 0, 0, NULL);
	struct kml_cache_stats before, after;
	unsigned int round, n;
	void *objs[256];

	ASSERT_NE(NULL, c);
	n = 4 * c->cache_cpu_limit;
	ASSERT_GE(ARRAY_SIZE(objs), n);
	for (round = 0; round < 3; round++)	/* until the magazines are there */
		produce_consume(c, objs, n);
	kml_slab_stats(c, &before);
	for (round = 0; round < 100; round++) {
		produce_consume(c, objs, n);
		kml_slab_stats(c, &after);
		ASSERT_GE(c->cache_depot_max, after.depot_full);
	}
	/* Every object went from the freeing CPU to the allocating one whole. */
	EXPECT_EQ(before.slow_allocs, after.slow_allocs);
	EXPECT_EQ(before.grown, after.grown);
	EXPECT_LE(before.depot_hits + 100 * 2 * (n / c->cache_cpu_limit - 2), after.depot_hits);
	EXPECT_EQ(0, check(c));
	/* Shrink gives back every object and every magazine. */
	kml_slab_shrink(c);
	kml_slab_stats(c, &after);
	EXPECT_EQ(0, after.active_objs);
	EXPECT_EQ(0, after.cpu_cached + after.depot_objs + after.depot_full + after.depot_empty);
	EXPECT_EQ(0, self->sys.sys_mag_cache->cache_active);
	EXPECT_EQ(0, kml_slab_destroy(c));
	on_cpu(0);
}

TEST_F(slab, magazines_and_depot_hold_a_bounded_amount)
{
	struct kml_cache *c = create(&self->sys, "bound", 256, 0, 0, NULL);
	static void *objs[6000];
	struct kml_cache_stats st;
	unsigned int cpu, i;

	ASSERT_NE(NULL, c);
	produce_consume(c, objs, ARRAY_SIZE(objs));
	kml_slab_stats(c, &st);
	EXPECT_GE(2 * c->cache_cpu_limit * kml_nr_cpus(), st.cpu_cached);
	EXPECT_EQ(c->cache_depot_max, st.depot_full);
	EXPECT_EQ(st.depot_full * c->cache_cpu_limit, st.depot_objs);
	EXPECT_EQ(st.cpu_cached + st.depot_objs, c->cache_active);
	EXPECT_EQ(0, check(c));
	/* Each CPU frees another's objects, in turn: nothing is lost or doubled. */
	for (cpu = 0; cpu < kml_nr_cpus(); cpu++) {
		on_cpu(cpu);
		for (i = 0; i < ARRAY_SIZE(objs); i++)
			ASSERT_NE(NULL, objs[i] = kml_slab_alloc(c, 0, NULL));
		on_cpu((cpu + 1) % kml_nr_cpus());
		for (i = 0; i < ARRAY_SIZE(objs); i++)
			ASSERT_EQ(0, kml_slab_free(c, objs[i], 0, NULL));
	}
	EXPECT_EQ(0, check(c));
	kml_slab_shrink(c);
	EXPECT_EQ(0, c->cache_active);
	EXPECT_EQ(0, kml_slab_destroy(c));
	on_cpu(0);
}

/* One allocation and free on @cpu, whose empty magazines send it to the depot. */
static void visit_depot(struct kml_cache *c, unsigned int cpu, struct kml_cache_stats *st)
{
	void *o;

	on_cpu(cpu);
	o = kml_slab_alloc(c, 0, NULL);
	KML_ASSERT(o);
	kml_slab_free(c, o, 0, NULL);
	kml_slab_stats(c, st);
}

/* Bonwick's working set: full magazines the depot kept unused for an interval go back. */
TEST_F(slab, depot_gives_back_what_it_kept_unused_for_a_second)
{
	struct kml_cache *c = create(&self->sys, "ws", 64, 0, 0, NULL);
	struct kml_cache_stats st, was;
	static void *objs[640];
	void *o;

	ASSERT_NE(NULL, c);
	ASSERT_EQ(ARRAY_SIZE(objs), 10 * c->cache_cpu_limit);
	ASSERT_LE(8, c->cache_depot_max);
	produce_consume(c, objs, ARRAY_SIZE(objs));	/* CPU 1 keeps two, the depot eight */
	kml_slab_stats(c, &was);
	EXPECT_EQ(8, was.depot_full);
	/* Within the interval, a visit takes one magazine and reaps nothing. */
	visit_depot(c, 2, &st);
	EXPECT_EQ(0, st.depot_reaped);
	EXPECT_EQ(7, st.depot_full);
	/* An interval on, the first visit reaps what stayed below its low mark: none yet. */
	kml_host_ticks += KML_HZ;
	visit_depot(c, 3, &st);
	EXPECT_EQ(0, st.depot_reaped);
	EXPECT_EQ(6, st.depot_full);
	/*
	 * Another interval: the six it kept throughout go back to the slabs
	 * whole, at the next visit (CPU 0's magazines are empty: it allocated
	 * exactly twenty refills).
	 */
	kml_host_ticks += KML_HZ;
	kml_slab_stats(c, &was);
	on_cpu(0);
	ASSERT_NE(NULL, o = kml_slab_alloc(c, 0, NULL));
	kml_slab_stats(c, &st);
	EXPECT_EQ(6, st.depot_reaped);
	EXPECT_EQ(0, st.depot_full);
	EXPECT_EQ(was.active_objs - 6 * c->cache_cpu_limit + c->cache_cpu_batch, st.active_objs);
	EXPECT_EQ(0, check(c));
	kml_slab_free(c, o, 0, NULL);
	EXPECT_EQ(0, kml_slab_destroy(c));
}

/* What a caller that may sleep does before it fails: everything comes back. */
TEST_F(slab, drain_takes_back_every_cpus_magazines_and_pages)
{
	struct kml_cache *c = create(&self->sys, "dr", 128, 0, 0, NULL);
	struct kml_cache_stats st;
	static void *objs[3000];
	unsigned int cpu;

	ASSERT_NE(NULL, c);
	for (cpu = 0; cpu < kml_nr_cpus(); cpu++) {
		produce_consume(c, objs, ARRAY_SIZE(objs));	/* 0 allocates, 1 frees */
		on_cpu(cpu);
		kml_slab_free(c, kml_slab_alloc(c, 0, NULL), 0, NULL);
		kml_buddy_free(&self->b, kml_buddy_alloc(&self->b, 0, KML_KIND_TEST), 0,
			       KML_KIND_TEST);
	}
	kml_slab_stats(c, &st);
	EXPECT_LT(0, st.cpu_cached);
	EXPECT_LT(0, st.depot_objs);
	on_cpu(0);
	EXPECT_LT(0, kml_slab_drain(&self->sys));
	kml_slab_stats(c, &st);
	EXPECT_EQ(0, st.active_objs + st.cpu_cached + st.depot_objs + st.depot_full);
	EXPECT_EQ(0, st.num_slabs);
	EXPECT_EQ(0, self->sys.sys_mag_cache->cache_active);
	/* Only the caller's list has pages: the slabs it just freed. */
	for (cpu = 1; cpu < kml_nr_cpus(); cpu++)
		EXPECT_EQ(0, kml_per_cpu(self->b.pcp, cpu)->pcp_count);
	EXPECT_EQ(0, check(c));
	EXPECT_EQ(0, kml_slab_destroy(c));
}

static bool all_bytes(const void *p, int v, size_t n)
{
	const unsigned char *b = p;

	while (n--)
		if (*b++ != v)
			return false;
	return true;
}

static unsigned long rcu_pending(struct kml_cache *c)
{
	struct kml_cache_stats st;

	kml_slab_stats(c, &st);
	return st.rcu_pending;
}

/* Free pages, counting those of magazines, which come and go with traffic. */
static unsigned long free_pages(struct kml_slab_sys *sys)
{
	struct kml_cache *m = sys->sys_mag_cache;

	kml_buddy_drain(sys->sys_buddy);
	return kml_buddy_free_pages(sys->sys_buddy) +
	       ((m->cache_nr[0] + m->cache_nr[1] + m->cache_nr[2]) << m->cache_order);
}

/* The tag of @p's page (the head of an order-0 slab), whatever its state. */
static u16 slab_tag(struct kml_slab_sys *sys, const void *p)
{
	return sys->sys_buddy->pages[kml_addr_page(p)].pg_tag;
}

TEST_F(slab, typesafe_by_rcu_objects_are_reused_at_once)
{
	struct kml_cache *c = create(&self->sys, "rcu", 64, 0, KML_SLAB_TYPESAFE_BY_RCU, NULL);
	char *o, *p;

	ASSERT_NE(NULL, c);
	/* Nothing of the cache's lives inside a free object. */
	EXPECT_LE(64, c->cache_free_off);
	o = kml_slab_alloc(c, 0, NULL);
	ASSERT_NE(NULL, o);
	memset(o, 0x5a, 64);
	EXPECT_EQ(0, kml_slab_free(c, o, KML_INIT_FREE, NULL));	/* init_on_free: not here */
	EXPECT_TRUE(all_bytes(o, 0x5a, 64));
	p = kml_slab_alloc(c, KML_INIT_ALLOC, NULL);	/* at once, and untouched */
	EXPECT_EQ(o, p);
	EXPECT_TRUE(all_bytes(p, 0x5a, 64));
	kml_slab_free(c, p, 0, NULL);
	p = kml_slab_alloc(c, KML_INIT_ZERO, NULL);	/* __GFP_ZERO still zeroes */
	EXPECT_TRUE(all_bytes(p, 0, 64));
	kml_slab_free(c, p, 0, NULL);
	EXPECT_EQ(0, check(c));
	EXPECT_EQ(0, kml_slab_destroy(c));
}

TEST_F(slab, typesafe_by_rcu_slabs_wait_for_a_grace_period)
{
	struct kml_cache *c = create(&self->sys, "rcu", 512, 0, KML_SLAB_TYPESAFE_BY_RCU, NULL);
	unsigned long free0, errors;
	unsigned int per, i;
	void *a[64], *b[64];
	u16 busy;

	ASSERT_NE(NULL, c);
	per = c->cache_objs;
	ASSERT_GE(64, per);
	ASSERT_EQ(0, c->cache_order);
	kml_host_rcu_barrier();
	for (i = 0; i < per; i++)
		ASSERT_NE(NULL, a[i] = kml_slab_alloc(c, 0, NULL));
	for (i = 0; i < per; i++)
		ASSERT_NE(NULL, b[i] = kml_slab_alloc(c, 0, NULL));
	busy = slab_tag(&self->sys, a[0]);
	kml_buddy_drain(&self->b);
	free0 = free_pages(&self->sys);
	for (i = 0; i < per; i++)
		kml_slab_free(c, a[i], 0, NULL);
	EXPECT_EQ(1, kml_slab_shrink(c));	/* a's slab: released ... */
	EXPECT_EQ(1, rcu_pending(c));
	kml_buddy_drain(&self->b);
	EXPECT_EQ(free0, free_pages(&self->sys));	/* ... not yet back */
	EXPECT_EQ(busy, slab_tag(&self->sys, a[0]));
	EXPECT_EQ(0, check(c));
	/* A pointer into the waiting slab is no object. */
	errors = c->cache_errors;
	EXPECT_EQ(-EINVAL, kml_slab_free(c, a[1], 0, NULL));
	EXPECT_EQ(errors + 1, c->cache_errors);
	EXPECT_EQ(0, kml_slab_ksize(&self->sys, a[1]));
	/* Released while a grace period is in flight: waits for the next one. */
	for (i = 0; i < per; i++)
		kml_slab_free(c, b[i], 0, NULL);
	EXPECT_EQ(1, kml_slab_shrink(c));
	EXPECT_EQ(2, rcu_pending(c));
	EXPECT_EQ(0, check(c));
	EXPECT_EQ(1, kml_host_grace_period());
	EXPECT_EQ(1, rcu_pending(c));
	kml_buddy_drain(&self->b);
	EXPECT_EQ(free0 + 1, free_pages(&self->sys));
	EXPECT_EQ(0, check(c));
	EXPECT_EQ(1, kml_host_grace_period());
	EXPECT_EQ(0, rcu_pending(c));
	kml_buddy_drain(&self->b);
	EXPECT_EQ(free0 + 2, free_pages(&self->sys));
	EXPECT_EQ(0, kml_host_grace_period());	/* nothing left queued */
	EXPECT_EQ(2, c->cache_reaped);
	EXPECT_EQ(0, check(c));
	EXPECT_EQ(0, kml_slab_destroy(c));
}

TEST_F(slab, typesafe_by_rcu_destroy_waits_for_pending_slabs)
{
	struct kml_cache *c = create(&self->sys, "rcu", 100, 0, KML_SLAB_TYPESAFE_BY_RCU, NULL);
	void *o;

	ASSERT_NE(NULL, c);
	o = kml_slab_alloc(c, 0, NULL);
	ASSERT_NE(NULL, o);
	kml_slab_free(c, o, 0, NULL);
	/* destroy shrinks (the slab waits), then waits: pristine at teardown. */
	EXPECT_EQ(0, kml_slab_destroy(c));
	EXPECT_EQ(0, kml_host_grace_period());
	kml_buddy_drain(&self->b);
}

TEST_F(slab, typesafe_by_rcu_reclaim_defers_too)
{
	struct kml_cache *c = create(&self->sys, "rcu", 512, 0, KML_SLAB_TYPESAFE_BY_RCU, NULL);
	void *objs[1024];
	u32 pages[NPAGES];
	unsigned int i, n = 0, m, got;
	unsigned long pend;

	ASSERT_NE(NULL, c);
	for (i = 0; i < 1024; i++)
		ASSERT_NE(NULL, objs[i] = kml_slab_alloc(c, 0, NULL));
	for (i = 0; i < 1024; i++)
		kml_slab_free(c, objs[i], 0, NULL);
	/* Reaped slabs wait; the region runs dry before they come back. */
	EXPECT_LT(0, rcu_pending(c));
	while ((got = kml_buddy_alloc(&self->b, 0, KML_KIND_TEST)) != KML_NIL)
		pages[n++] = got;
	EXPECT_LT(0, rcu_pending(c));
	EXPECT_EQ(0, check(c));
	pend = rcu_pending(c);
	kml_host_rcu_barrier();
	EXPECT_EQ(0, rcu_pending(c));
	m = n;
	while ((got = kml_buddy_alloc(&self->b, 0, KML_KIND_TEST)) != KML_NIL)
		pages[n++] = got;	/* now they are there */
	EXPECT_LE(pend, n - m);
	for (i = 0; i < n; i++)
		kml_buddy_free(&self->b, pages[i], 0, KML_KIND_TEST);
	EXPECT_EQ(0, kml_slab_destroy(c));
}

TEST_F(slab, init_on_alloc_and_free_as_linux)
{
	struct kml_cache *plain = create(&self->sys, "plain", 64, 0, 0, NULL);
	struct kml_cache *built = create(&self->sys, "built", 64, 0, 0, ctor);
	struct kml_cache *pois = create(&self->sys, "pois", 64, 0, KML_SLAB_POISON, NULL);
	struct kml_slab_sys *sys = &self->sys;
	unsigned long errors;
	char *o, *p;

	ASSERT_NE(NULL, plain);
	ASSERT_NE(NULL, built);
	ASSERT_NE(NULL, pois);
	/* init_on_alloc: a plain cache's object comes back zeroed ... */
	o = kml_slab_alloc(plain, 0, NULL);
	memset(o, 0xaa, 64);
	kml_slab_free(plain, o, 0, NULL);
	p = kml_slab_alloc(plain, 0, NULL);
	EXPECT_EQ(o, p);
	EXPECT_TRUE(all_bytes(p, 0xaa, 64));	/* policy off: as it was */
	kml_slab_free(plain, p, 0, NULL);
	p = kml_slab_alloc(plain, KML_INIT_ALLOC, NULL);
	EXPECT_TRUE(all_bytes(p, 0, 64));
	/* init_on_free: zeroed as it goes */
	memset(p, 0xaa, 64);
	kml_slab_free(plain, p, KML_INIT_FREE, NULL);
	EXPECT_TRUE(all_bytes(p, 0, 64));
	/* ... a constructor's object never, not even for __GFP_ZERO (reported) */
	o = kml_slab_alloc(built, KML_INIT_ALLOC, NULL);
	EXPECT_EQ(0, memcmp(o, "constructed", 12));
	kml_slab_free(built, o, KML_INIT_FREE, NULL);
	EXPECT_EQ(0, memcmp(o, "constructed", 12));
	errors = kml_host_errors;
	o = kml_slab_alloc(built, KML_INIT_ZERO, NULL);
	EXPECT_EQ(0, memcmp(o, "constructed", 12));
	EXPECT_EQ(errors + 1, kml_host_errors);
	kml_slab_free(built, o, 0, NULL);
	/* ... a poisoned one keeps its poison by policy, zeroes on __GFP_ZERO */
	o = kml_slab_alloc(pois, KML_INIT_ALLOC, NULL);
	EXPECT_NE(0, o[0]);
	kml_slab_free(pois, o, KML_INIT_FREE, NULL);
	EXPECT_EQ(0, check(pois));	/* poison intact: init_on_free left it */
	o = kml_slab_alloc(pois, KML_INIT_ZERO, NULL);
	EXPECT_TRUE(all_bytes(o, 0, 64));
	kml_slab_free(pois, o, 0, NULL);
	/* kmalloc, small and large, follows the same flags */
	o = kml_slab_kmalloc(sys, 100, 0, NULL);
	memset(o, 0xaa, 100);
	kml_slab_kfree(sys, o, KML_INIT_FREE, NULL);
	EXPECT_TRUE(all_bytes(o, 0, 100));
	o = kml_slab_kmalloc(sys, 200 << 10, 0, NULL);
	ASSERT_NE(NULL, o);
	memset(o, 0xaa, 200 << 10);
	kml_slab_kfree(sys, o, 0, NULL);
	o = kml_slab_kmalloc(sys, 200 << 10, KML_INIT_ALLOC, NULL);
	EXPECT_TRUE(all_bytes(o, 0, 256 << 10));
	kml_slab_kfree(sys, o, 0, NULL);
	EXPECT_EQ(0, check(plain));
	EXPECT_EQ(0, kml_slab_destroy(plain));
	EXPECT_EQ(0, kml_slab_destroy(built));
	EXPECT_EQ(0, kml_slab_destroy(pois));
}

TEST_F(slab, kfree_sensitive_zeroes_the_whole_object)
{
	struct kml_slab_sys *sys = &self->sys;
	unsigned long before = sys->sys_bad_frees;
	char *o = kml_slab_kmalloc(sys, 90, 0, NULL), *l;

	ASSERT_NE(NULL, o);
	memset(o, 0xaa, 96);		/* ksize is 96 */
	kml_slab_kfree_sensitive(sys, o, NULL);
	EXPECT_TRUE(all_bytes(o, 0, 96));
	l = kml_slab_kmalloc(sys, 200 << 10, 0, NULL);
	ASSERT_NE(NULL, l);
	memset(l, 0xaa, 256 << 10);
	kml_slab_kfree_sensitive(sys, l, NULL);
	EXPECT_TRUE(all_bytes(l, 0, 256 << 10));
	kml_slab_kfree_sensitive(sys, &before, NULL);	/* refused, reported */
	kml_slab_kfree_sensitive(sys, l + 8, NULL);
	EXPECT_EQ(2, sys->sys_bad_frees - before);
}

/* Random use of several caches and kmalloc against a model of contents. */
TEST_F(slab, random_against_model)
{
	enum { SLOTS = 512, STEPS = 60000 };
	struct { u8 *p; size_t size; u8 fill; int cache; } slot[SLOTS];
	struct kml_cache *caches[3];
	unsigned int step, i;

	caches[0] = create(&self->sys, "m24", 24, 0, 0, NULL);
	caches[1] = create(&self->sys, "m300", 300, 64, KML_SLAB_HWCACHE_ALIGN, NULL);
	caches[2] = create(&self->sys, "m5000", 5000, 0, 0, NULL);
	memset(slot, 0, sizeof(slot));
	srandom(99);
	for (step = 0; step < STEPS; step++) {
		unsigned int s = random() % SLOTS;

		if (slot[s].p) {
			for (i = 0; i < slot[s].size; i++)
				ASSERT_EQ(slot[s].fill, slot[s].p[i]);
			if (slot[s].cache >= 0) {
				/* Braced: the ASSERT is more than one statement. */
				ASSERT_EQ(0, kml_slab_free(caches[slot[s].cache], slot[s].p, 0,
							   NULL));
			} else {
				kml_slab_kfree(&self->sys, slot[s].p, 0, NULL);
			}
			slot[s].p = NULL;
		} else {
			int k = random() % 4 - 1;
			size_t size = k >= 0 ? caches[k]->cache_object_size :
				      1 + random() % (random() % 8 ? 2048 : 200000);
			u8 *p = k >= 0 ? kml_slab_alloc(caches[k], 0, NULL) :
				kml_slab_kmalloc(&self->sys, size, 0, NULL);

			if (!p)
				continue;
			if (k == 1) {
				/* Braced: the ASSERT is more than one statement. */
				ASSERT_EQ(0, (uintptr_t)p % 64);
			}
			slot[s].p = p;
			slot[s].size = size;
			slot[s].fill = step;
			slot[s].cache = k;
			memset(p, slot[s].fill, size);
		}
		if (step % 997 == 0) {
			for (i = 0; i < 3; i++)
				ASSERT_EQ(0, check(caches[i]));
		}
	}
	for (i = 0; i < SLOTS; i++)
		if (slot[i].p) {
			if (slot[i].cache >= 0)
				kml_slab_free(caches[slot[i].cache], slot[i].p, 0, NULL);
			else
				kml_slab_kfree(&self->sys, slot[i].p, 0, NULL);
		}
	for (i = 0; i < 3; i++) {
		EXPECT_EQ(0, check(caches[i]));
		EXPECT_EQ(0, kml_slab_destroy(caches[i]));
	}
}

static struct kml_cache *shared_cache;
/* Exchanged with __atomic builtins; read plainly once the threads are joined. */
static void *handoff[8];

/* Each thread allocates, and frees both its own objects and others'. */
static void *worker(void *arg)
{
	unsigned int seed = (unsigned int)(uintptr_t)arg, i;
	void *mine[32];
	unsigned int n = 0;

	for (i = 0; i < 100000; i++) {
		unsigned int r = rand_r(&seed);

		if (n < 32 && r % 2) {
			mine[n] = kml_slab_alloc(shared_cache, 0, NULL);
			if (mine[n]) {
				/* stamp: the object's own address, in every word */
				uintptr_t *w = mine[n++];

				for (unsigned int k = 0; k < 16; k++)
					w[k] = (uintptr_t)w;
			}
		} else if (n) {
			void *o = mine[--n];
			void *other = __atomic_exchange_n(&handoff[r % 8], o, __ATOMIC_ACQ_REL);
			uintptr_t *w = other;

			for (unsigned int k = 0; other && k < 16; k++)
				if (w[k] != (uintptr_t)w)
					abort();	/* handed out twice */
			if (other && kml_slab_free(shared_cache, other, 0, NULL))
				abort();
		}
	}
	while (n)
		kml_slab_free(shared_cache, mine[--n], 0, NULL);
	return NULL;
}

TEST_F(slab, threads_free_each_others_objects)
{
	pthread_t t[4];
	uintptr_t i;

	shared_cache = create(&self->sys, "shared", 128, 0, 0, NULL);
	ASSERT_NE(NULL, shared_cache);
	for (i = 0; i < 4; i++)
		ASSERT_EQ(0, pthread_create(&t[i], NULL, worker, (void *)(i + 1)));
	for (i = 0; i < 4; i++)
		ASSERT_EQ(0, pthread_join(t[i], NULL));
	for (i = 0; i < 8; i++)
		if (handoff[i])
			kml_slab_free(shared_cache, handoff[i], 0, NULL);
	EXPECT_EQ(0, check(shared_cache));
	kml_slab_shrink(shared_cache);
	EXPECT_EQ(0, shared_cache->cache_active);
	EXPECT_EQ(0, kml_slab_destroy(shared_cache));
}

TEST_HARNESS_MAIN
