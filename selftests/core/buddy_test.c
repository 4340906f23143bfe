// SPDX-License-Identifier: GPL-2.0
/*
 * Host tests of module/core/buddy.c, built with ASan and UBSan.
 * Every test checks the allocator's invariants with kml_buddy_validate().
 */
#include <pthread.h>
#include <stdarg.h>
#include "kselftest_harness.h"
#include "../../module/core/buddy.h"

static unsigned long check(struct kml_buddy *b)
{
	return kml_buddy_validate(b, kml_host_print, NULL);
}

/* A buddy with no per-CPU caching, so that every free merges at once. */
static void init_nopcp(struct kml_buddy *b, u32 npages, unsigned int max_order)
{
	if (kml_buddy_init(b, npages, max_order))
		abort();
	b->pcp_high = 0;
	b->pcp_batch = 1;
}

TEST(init_rejects_bad_geometry)
{
	struct kml_buddy b;

	EXPECT_EQ(-EINVAL, kml_buddy_init(&b, 0, 3));
	EXPECT_EQ(-EINVAL, kml_buddy_init(&b, 12, 3));	/* not a multiple of 8 */
	EXPECT_EQ(-EINVAL, kml_buddy_init(&b, 64, KML_MAX_ORDER_LIMIT + 1));
	ASSERT_EQ(0, kml_buddy_init(&b, 64, 3));
	EXPECT_EQ(8, b.nr_free[3]);
	EXPECT_EQ(64, kml_buddy_free_pages(&b));
	EXPECT_TRUE(kml_buddy_pristine(&b));
	EXPECT_EQ(0, check(&b));
	kml_buddy_destroy(&b);
}

TEST(split_then_merge)
{
	struct kml_buddy b;
	u32 a, c;
	unsigned int o;

	init_nopcp(&b, 16, 4);
	a = kml_buddy_alloc(&b, 0, KML_KIND_TEST);
	ASSERT_EQ(0, a);
	/* One order-4 block split into 8 + 4 + 2 + 1 free and 1 taken. */
	for (o = 0; o < 4; o++)
		EXPECT_EQ(1, b.nr_free[o]);
	EXPECT_EQ(0, b.nr_free[4]);
	EXPECT_EQ(4, b.splits);
	EXPECT_EQ(0, check(&b));

	c = kml_buddy_alloc(&b, 2, KML_KIND_TEST);
	EXPECT_EQ(4, c);	/* the free order-2 buddy */
	EXPECT_EQ(0, b.nr_free[2]);
	EXPECT_EQ(0, check(&b));

	ASSERT_EQ(0, kml_buddy_free(&b, a, 0, KML_KIND_TEST));
	/* 0 merges with 1, then 0-1 with 2-3; 4-7 is still taken. */
	EXPECT_EQ(2, b.merges);
	EXPECT_EQ(0, check(&b));
	ASSERT_EQ(0, kml_buddy_free(&b, c, 2, KML_KIND_TEST));
	EXPECT_TRUE(kml_buddy_pristine(&b));
	EXPECT_EQ(1, b.nr_free[4]);
	EXPECT_EQ(0, check(&b));
	kml_buddy_destroy(&b);
}

TEST(exhaustion_then_drain)
{
	struct kml_buddy b;
	u32 got[64];
	unsigned int i;

	ASSERT_EQ(0, kml_buddy_init(&b, 64, 3));
	for (i = 0; i < 64; i++) {
		got[i] = kml_buddy_alloc(&b, 0, KML_KIND_TEST);
		ASSERT_NE(KML_NIL, got[i]);
	}
	EXPECT_EQ(KML_NIL, kml_buddy_alloc(&b, 0, KML_KIND_TEST));
	EXPECT_EQ(KML_NIL, kml_buddy_alloc(&b, 3, KML_KIND_TEST));
	EXPECT_EQ(KML_NIL, kml_buddy_alloc(&b, 4, KML_KIND_TEST));	/* > max */
	EXPECT_EQ(1, b.failed[0]);
	EXPECT_EQ(1, b.failed[3]);
	EXPECT_EQ(0, kml_buddy_free_pages(&b));
	EXPECT_EQ(0, check(&b));
	for (i = 0; i < 64; i++)
		ASSERT_EQ(0, kml_buddy_free(&b, got[i], 0, KML_KIND_TEST));
	/* Freed pages wait on the per-CPU list until drained. */
	EXPECT_EQ(64, kml_buddy_free_pages(&b));
	kml_buddy_drain(&b);
	EXPECT_TRUE(kml_buddy_pristine(&b));
	EXPECT_EQ(0, check(&b));
	kml_buddy_destroy(&b);
}

/*
 * Another CPU's list is its own: an allocation about to fail drains only
 * this CPU's (it may run where nothing may wait); kml_buddy_drain, which
 * runs on each CPU, gives every list back.
 */
TEST(other_cpus_pages_come_back_by_drain)
{
	struct kml_buddy b;
	unsigned int i, n = 0, theirs;
	u32 got[64], p;

	ASSERT_EQ(0, kml_buddy_init(&b, 64, 3));
	b.pcp_batch = 8;
	b.pcp_high = 32;
	kml_host_slot = 1;
	p = kml_buddy_alloc(&b, 0, KML_KIND_TEST);	/* CPU 1 takes a batch */
	ASSERT_NE(KML_NIL, p);
	ASSERT_EQ(0, kml_buddy_free(&b, p, 0, KML_KIND_TEST));
	theirs = kml_per_cpu(b.pcp, 1)->pcp_count;
	EXPECT_EQ(b.pcp_batch, theirs);
	kml_host_slot = 0;
	while (n < 64 && (got[n] = kml_buddy_alloc(&b, 0, KML_KIND_TEST)) != KML_NIL)
		n++;
	EXPECT_EQ(64 - theirs, n);
	EXPECT_EQ(theirs, kml_buddy_free_pages(&b));
	kml_buddy_drain(&b);
	EXPECT_EQ(0, kml_per_cpu(b.pcp, 1)->pcp_count);
	for (i = 0; i < theirs; i++)
		ASSERT_NE(KML_NIL, got[n++] = kml_buddy_alloc(&b, 0, KML_KIND_TEST));
	EXPECT_EQ(0, kml_buddy_free_pages(&b));
	EXPECT_EQ(0, check(&b));
	for (i = 0; i < n; i++)
		ASSERT_EQ(0, kml_buddy_free(&b, got[i], 0, KML_KIND_TEST));
	kml_buddy_drain(&b);
	EXPECT_TRUE(kml_buddy_pristine(&b));
	kml_buddy_destroy(&b);
}

static int reclaim_calls;
static struct kml_buddy *reclaim_b;
static u32 reclaim_page = KML_NIL;

/* Plays a cache that holds a page and gives it back when asked. */
static void give_back(void *ctx)
{
	(void)ctx;
	reclaim_calls++;
	if (reclaim_page != KML_NIL)
		kml_buddy_free(reclaim_b, reclaim_page, 3, KML_KIND_TEST);
	reclaim_page = KML_NIL;
}

/* Strict commit: the pages promised to heaps are theirs alone. */
TEST(reserve_is_for_user_pages_only)
{
	struct kml_buddy b;
	u32 got[16], idx;
	unsigned int i;

	init_nopcp(&b, 16, 4);
	b.reserve = 12;
	for (i = 0; i < 4; i++)
		ASSERT_NE(KML_NIL, kml_buddy_alloc(&b, 0, KML_KIND_TEST));
	/* 12 free, 12 promised: nothing for the others, single or bulk. */
	EXPECT_EQ(KML_NIL, kml_buddy_alloc(&b, 0, KML_KIND_TEST));
	EXPECT_EQ(0, kml_buddy_alloc_bulk(&b, 1, KML_KIND_TEST, got));
	EXPECT_EQ(1, b.failed[0]);
	/* Everything for the heaps. */
	for (i = 0; i < 12; i++) {
		idx = kml_buddy_alloc(&b, 0, KML_KIND_USER);
		ASSERT_NE(KML_NIL, idx);
		got[i] = idx;
	}
	b.reserve = 0;
	for (i = 0; i < 12; i++)
		EXPECT_EQ(0, kml_buddy_free(&b, got[i], 0, KML_KIND_USER));
	/* A reserve of 0 or less promises nothing. */
	b.reserve = -5;
	idx = kml_buddy_alloc(&b, 3, KML_KIND_TEST);
	EXPECT_NE(KML_NIL, idx);
	EXPECT_EQ(0, kml_buddy_free(&b, idx, 3, KML_KIND_TEST));
	EXPECT_EQ(0, check(&b));
	kml_buddy_destroy(&b);
}

TEST(short_allocation_asks_reclaim_first)
{
	struct kml_buddy b;

	init_nopcp(&b, 8, 3);
	b.reclaim = give_back;
	reclaim_b = &b;
	reclaim_page = kml_buddy_alloc(&b, 3, KML_KIND_TEST);
	ASSERT_EQ(0, reclaim_page);
	/* Nothing is free, but the hook frees the cached block: success. */
	EXPECT_EQ(0, kml_buddy_alloc(&b, 3, KML_KIND_TEST));
	EXPECT_EQ(1, reclaim_calls);
	EXPECT_EQ(0, b.failed[3]);
	EXPECT_EQ(0, kml_buddy_free(&b, 0, 3, KML_KIND_TEST));
	EXPECT_EQ(0, check(&b));
	kml_buddy_destroy(&b);
}

TEST(misuse_is_reported_and_changes_nothing)
{
	struct kml_buddy b;
	unsigned long e0 = kml_host_errors;
	u32 a, p;

	ASSERT_EQ(0, kml_buddy_init(&b, 64, 3));
	a = kml_buddy_alloc(&b, 2, KML_KIND_TEST);
	p = kml_buddy_alloc(&b, 0, KML_KIND_TEST);
	ASSERT_NE(KML_NIL, a);
	ASSERT_NE(KML_NIL, p);

	EXPECT_EQ(-EINVAL, kml_buddy_free(&b, 64, 0, KML_KIND_TEST));
	EXPECT_EQ(1, b.misuse[KML_BAD_OUTSIDE]);
	EXPECT_EQ(-EINVAL, kml_buddy_free(&b, a + 1, 0, KML_KIND_TEST));
	EXPECT_EQ(1, b.misuse[KML_BAD_NOT_HEAD]);
	EXPECT_EQ(-EINVAL, kml_buddy_free(&b, a, 1, KML_KIND_TEST));
	EXPECT_EQ(1, b.misuse[KML_BAD_ORDER]);
	EXPECT_EQ(-EINVAL, kml_buddy_free(&b, a, 2, KML_KIND_SLAB));
	EXPECT_EQ(1, b.misuse[KML_BAD_KIND]);
	EXPECT_EQ(0, check(&b));

	/* The block is still allocated and frees once, correctly. */
	EXPECT_EQ(0, kml_buddy_free(&b, a, 2, KML_KIND_TEST));
	EXPECT_EQ(-EINVAL, kml_buddy_free(&b, a, 2, KML_KIND_TEST));
	EXPECT_EQ(1, b.misuse[KML_BAD_DOUBLE_FREE]);
	/* An order-0 page sits on a per-CPU list: freeing it again is caught. */
	EXPECT_EQ(0, kml_buddy_free(&b, p, 0, KML_KIND_TEST));
	EXPECT_EQ(-EINVAL, kml_buddy_free(&b, p, 0, KML_KIND_TEST));
	EXPECT_EQ(2, b.misuse[KML_BAD_DOUBLE_FREE]);
	/* After draining, the page merged away: still a double free. */
	kml_buddy_drain(&b);
	EXPECT_EQ(-EINVAL, kml_buddy_free(&b, p, 0, KML_KIND_TEST));
	EXPECT_EQ(3, b.misuse[KML_BAD_DOUBLE_FREE]);
	EXPECT_EQ(7, kml_host_errors - e0);
	EXPECT_EQ(0, check(&b));
	EXPECT_TRUE(kml_buddy_pristine(&b));
	kml_buddy_destroy(&b);
}

/* busy callback for kml_buddy_unpark: one block stays referenced. */
static bool busy_if_match(void *ctx, u32 idx, unsigned int order)
{
	return idx == *(u32 *)ctx;
}

TEST(held_blocks_wait_for_their_references)
{
	struct kml_buddy b;
	unsigned long e0 = kml_host_errors;
	struct kml_held out[4];
	u32 a, c, keep;

	init_nopcp(&b, 64, 3);
	a = kml_buddy_alloc(&b, 2, KML_KIND_TEST);
	c = kml_buddy_alloc(&b, 0, KML_KIND_TEST);
	ASSERT_NE(KML_NIL, a);
	ASSERT_NE(KML_NIL, c);
	/* A claim with the wrong order is refused as a free would be. */
	EXPECT_EQ(-EINVAL, kml_buddy_claim(&b, a, 1, KML_KIND_TEST));
	EXPECT_EQ(1, b.misuse[KML_BAD_ORDER]);
	EXPECT_EQ(2, kml_buddy_block_order(&b, a, KML_KIND_TEST, false));

	ASSERT_EQ(0, kml_buddy_claim(&b, a, 2, KML_KIND_TEST));
	ASSERT_EQ(0, kml_buddy_claim(&b, c, 0, KML_KIND_TEST));
	EXPECT_EQ(2, kml_buddy_block_order(&b, a, KML_KIND_TEST, true));
	EXPECT_EQ(-1, kml_buddy_block_order(&b, a, KML_KIND_TEST, false));
	kml_buddy_park(&b, a);
	kml_buddy_park(&b, c);
	EXPECT_EQ(5, b.held_pages);
	EXPECT_EQ(0, check(&b));
	/* Held is not free: not counted free, and a second free is a double free. */
	EXPECT_EQ(64 - 5, kml_buddy_free_pages(&b));
	EXPECT_EQ(-EINVAL, kml_buddy_free(&b, a, 2, KML_KIND_TEST));
	EXPECT_EQ(-EINVAL, kml_buddy_claim(&b, c, 0, KML_KIND_TEST));
	EXPECT_EQ(2, b.misuse[KML_BAD_DOUBLE_FREE]);

	/* a is still referenced: only c comes off the list. */
	keep = a;
	ASSERT_EQ(1, kml_buddy_unpark(&b, busy_if_match, &keep, out, 4));
	EXPECT_EQ(c, out[0].idx);
	EXPECT_EQ(0, out[0].order);
	EXPECT_EQ(KML_KIND_TEST, out[0].kind);
	EXPECT_EQ(4, b.held_pages);
	ASSERT_EQ(0, kml_buddy_free_claimed(&b, c, 0, KML_KIND_TEST));
	EXPECT_EQ(0, check(&b));
	keep = KML_NIL;
	ASSERT_EQ(1, kml_buddy_unpark(&b, busy_if_match, &keep, out, 4));
	EXPECT_EQ(a, out[0].idx);
	EXPECT_EQ(2, out[0].order);
	EXPECT_EQ(0, kml_buddy_unpark(&b, busy_if_match, &keep, out, 4));
	/* Unparked blocks stay claimed: only free_claimed frees them. */
	EXPECT_EQ(-EINVAL, kml_buddy_free(&b, a, 2, KML_KIND_TEST));
	ASSERT_EQ(0, kml_buddy_free_claimed(&b, a, 2, KML_KIND_TEST));
	EXPECT_EQ(0, b.held_pages);
	EXPECT_TRUE(kml_buddy_pristine(&b));
	EXPECT_EQ(4, kml_host_errors - e0);
	EXPECT_EQ(0, check(&b));
	kml_buddy_destroy(&b);
}

TEST(split_block_frees_page_by_page)
{
	struct kml_buddy b;
	u32 a, i;

	init_nopcp(&b, 16, 3);
	a = kml_buddy_alloc(&b, 3, KML_KIND_TEST);
	ASSERT_NE(KML_NIL, a);
	ASSERT_EQ(0, kml_buddy_split(&b, a, 3, KML_KIND_TEST));
	EXPECT_EQ(0, check(&b));
	/* The old order is wrong now; every page is its own block. */
	EXPECT_EQ(-EINVAL, kml_buddy_free(&b, a, 3, KML_KIND_TEST));
	for (i = 7; i > 0; i--)
		ASSERT_EQ(0, kml_buddy_free(&b, a + i, 0, KML_KIND_TEST));
	EXPECT_EQ(0, check(&b));
	ASSERT_EQ(0, kml_buddy_free(&b, a, 0, KML_KIND_TEST));
	EXPECT_TRUE(kml_buddy_pristine(&b));
	EXPECT_EQ(0, check(&b));
	kml_buddy_destroy(&b);
}

TEST(bulk_alloc_and_free)
{
	struct kml_buddy b;
	unsigned long e0 = kml_host_errors;
	u32 idx[100], bad[2];
	unsigned int i, j;

	ASSERT_EQ(0, kml_buddy_init(&b, 64, 3));
	ASSERT_EQ(40, kml_buddy_alloc_bulk(&b, 40, KML_KIND_TEST, idx));
	for (i = 0; i < 40; i++)
		for (j = i + 1; j < 40; j++)
			ASSERT_NE(idx[i], idx[j]);
	EXPECT_EQ(24, kml_buddy_free_pages(&b));
	EXPECT_EQ(0, check(&b));
	/* Only 24 left: a bulk request returns what there is. */
	ASSERT_EQ(24, kml_buddy_alloc_bulk(&b, 30, KML_KIND_TEST, idx + 40));
	EXPECT_EQ(0, kml_buddy_alloc_bulk(&b, 1, KML_KIND_TEST, idx + 64));
	EXPECT_EQ(0, kml_buddy_free_bulk(&b, idx, 64, KML_KIND_TEST));
	/* A bulk free checks each page like kml_buddy_free. */
	bad[0] = idx[3];
	bad[1] = 64;
	EXPECT_EQ(2, kml_buddy_free_bulk(&b, bad, 2, KML_KIND_TEST));
	EXPECT_EQ(1, b.misuse[KML_BAD_DOUBLE_FREE]);
	EXPECT_EQ(1, b.misuse[KML_BAD_OUTSIDE]);
	EXPECT_EQ(2, kml_host_errors - e0);
	kml_buddy_drain(&b);
	EXPECT_TRUE(kml_buddy_pristine(&b));
	EXPECT_EQ(0, check(&b));
	kml_buddy_destroy(&b);
}

TEST(validate_catches_corruption)
{
	struct kml_buddy b;
	u32 a;

	init_nopcp(&b, 64, 3);
	a = kml_buddy_alloc(&b, 0, KML_KIND_TEST);
	b.pages[a + 1].pg_tag = KML_TAG(KML_PG_FREE, 0, 3);	/* lie */
	EXPECT_NE(0, check(&b));
	b.pages[a + 1].pg_tag = KML_TAG(KML_PG_FREE, 0, 0);
	EXPECT_EQ(0, check(&b));
	b.nr_free[1]++;
	EXPECT_NE(0, check(&b));
	b.nr_free[1]--;
	kml_buddy_destroy(&b);
}

/* Whether the model's npages (owner[]: 0 when free) have an aligned free run of 1 << order. */
static bool model_fits(const u8 *owner, u32 npages, unsigned int order)
{
	u32 base, i;
	bool fits = false;

	for (base = 0; base < npages && !fits; base += 1u << order) {
		fits = true;
		for (i = 0; i < (1u << order); i++)
			if (owner[base + i])
				fits = false;
	}
	return fits;
}

/* Random alloc/free against a model that owns each page explicitly. */
TEST(random_against_model)
{
	enum { NPAGES = 1024, MAXO = 10, SLOTS = 256, STEPS = 40000 };
	static u8 owner[NPAGES];	/* 0 free, else slot + 1 (mod 255) */
	struct { u32 idx; unsigned int order; bool live; } slot[SLOTS];
	unsigned long model_free = NPAGES;
	struct kml_buddy b;
	unsigned int step, i, s;

	srandom(1234);
	memset(slot, 0, sizeof(slot));
	memset(owner, 0, sizeof(owner));
	ASSERT_EQ(0, kml_buddy_init(&b, NPAGES, MAXO));
	for (step = 0; step < STEPS; step++) {
		s = random() % SLOTS;

		if (slot[s].live) {
			for (i = 0; i < (1u << slot[s].order); i++)
				owner[slot[s].idx + i] = 0;
			ASSERT_EQ(0, kml_buddy_free(&b, slot[s].idx, slot[s].order,
						    KML_KIND_TEST));
			model_free += 1u << slot[s].order;
			slot[s].live = false;
		} else {
			unsigned int order = random() % 100 < 70 ? 0 : random() % (MAXO + 1);
			u32 idx = kml_buddy_alloc(&b, order, KML_KIND_TEST);

			if (idx == KML_NIL) {
				/* Only when no aligned free run exists in the model. */
				ASSERT_FALSE(model_fits(owner, NPAGES, order));
				continue;
			}
			ASSERT_EQ(0, idx & ((1u << order) - 1));
			for (i = 0; i < (1u << order); i++) {
				ASSERT_EQ(0, owner[idx + i]);
				owner[idx + i] = s % 255 + 1;
			}
			slot[s] = (typeof(slot[0])){ idx, order, true };
			model_free -= 1u << order;
		}
		ASSERT_EQ(model_free, kml_buddy_free_pages(&b));
		if (step % 8 == 0 || step > STEPS - 100)
			ASSERT_EQ(0, check(&b));
	}
	for (s = 0; s < SLOTS; s++)
		if (slot[s].live)
			ASSERT_EQ(0, kml_buddy_free(&b, slot[s].idx, slot[s].order,
						    KML_KIND_TEST));
	kml_buddy_drain(&b);
	EXPECT_TRUE(kml_buddy_pristine(&b));
	EXPECT_EQ(0, check(&b));
	kml_buddy_destroy(&b);
}

static struct kml_buddy shared;

static void *churn(void *arg)
{
	u32 held[32];
	unsigned int order[32], n = 0, i;
	unsigned int seed = (unsigned int)(uintptr_t)arg;

	for (i = 0; i < 200000; i++) {
		if (n == 32 || (n && rand_r(&seed) % 2)) {
			unsigned int k = rand_r(&seed) % n;

			if (kml_buddy_free(&shared, held[k], order[k], KML_KIND_TEST))
				abort();
			held[k] = held[--n];
			order[k] = order[n];
		} else {
			unsigned int o = rand_r(&seed) % 4 ? 0 : rand_r(&seed) % 4;
			u32 idx = kml_buddy_alloc(&shared, o, KML_KIND_TEST);

			if (idx != KML_NIL) {
				held[n] = idx;
				order[n++] = o;
			}
		}
	}
	while (n--)
		if (kml_buddy_free(&shared, held[n], order[n], KML_KIND_TEST))
			abort();
	return NULL;
}

TEST(threads_share_one_allocator)
{
	pthread_t t[4];
	uintptr_t i;

	ASSERT_EQ(0, kml_buddy_init(&shared, 1024, 10));
	for (i = 0; i < 4; i++)
		ASSERT_EQ(0, pthread_create(&t[i], NULL, churn, (void *)(i + 1)));
	for (i = 0; i < 4; i++)
		ASSERT_EQ(0, pthread_join(t[i], NULL));
	EXPECT_EQ(0, check(&shared));
	kml_buddy_drain(&shared);
	EXPECT_TRUE(kml_buddy_pristine(&shared));
	EXPECT_EQ(0, check(&shared));
	kml_buddy_destroy(&shared);
}

TEST(fragmentation_indices)
{
	/* max_order 3: two free order-0 pages and one order-1 block. */
	unsigned long nr_free[4] = { 2, 1, 0, 0 };
	unsigned long none[4] = { 0, 0, 0, 0 };

	/* An order-0 or order-1 request can be met. */
	EXPECT_EQ(-1000, kml_frag_index(nr_free, 3, 0));
	EXPECT_EQ(-1000, kml_frag_index(nr_free, 3, 1));
	/* Order 2: 4 free pages in 3 blocks: 1 - (1 + 4/4) / 3 = 0.333 */
	EXPECT_EQ(334, kml_frag_index(nr_free, 3, 2));
	/* Order 3: 1 - (1 + 4/8) / 3 = 0.5 */
	EXPECT_EQ(500, kml_frag_index(nr_free, 3, 3));
	EXPECT_EQ(0, kml_frag_index(none, 3, 2));

	EXPECT_EQ(0, kml_unusable_index(nr_free, 3, 0));
	EXPECT_EQ(500, kml_unusable_index(nr_free, 3, 1));	/* 2 of 4 */
	EXPECT_EQ(1000, kml_unusable_index(nr_free, 3, 2));
	EXPECT_EQ(1000, kml_unusable_index(none, 3, 0));
}

TEST_HARNESS_MAIN
