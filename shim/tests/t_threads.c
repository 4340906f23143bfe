// SPDX-License-Identifier: GPL-2.0
/*
 * Threads: 8 threads allocate, stamp and check blocks, and hand half of
 * them to the next thread to free (cross-thread and cross-arena frees);
 * then waves of short-lived threads, whose caches and arenas must be
 * recycled rather than leaked.
 */
#include <pthread.h>
#include "shim_test.h"

#define NTHREADS	8
#define ROUNDS		20000
#define SLOTS		256

struct mailbox {
	pthread_mutex_t lock;
	void *items[SLOTS];
	int n;
};

static struct mailbox box[NTHREADS];
static int errors;

static void stamp(unsigned char *p, size_t n, unsigned int tag)
{
	size_t i;

	memcpy(p, &n, sizeof(n) < n ? sizeof(n) : n);
	for (i = sizeof(n); i < n; i++)
		p[i] = (unsigned char)(tag + i);
}

static int stamped(const unsigned char *p, unsigned int tag)
{
	size_t n, i;

	memcpy(&n, p, sizeof(n));
	for (i = sizeof(n); i < n; i++)
		if (p[i] != (unsigned char)(tag + i))
			return 0;
	return 1;
}

static void *worker(void *arg)
{
	long id = (long)arg;
	unsigned int seed = (unsigned int)id * 7919 + 1;
	void *mine[SLOTS] = { 0 };
	int r, k;

	for (r = 0; r < ROUNDS; r++) {
		size_t n = 8 + rand_r(&seed) % (r % 64 == 0 ? 200000 : 2000);

		k = rand_r(&seed) % SLOTS;
		if (mine[k]) {
			if (!stamped(mine[k], 0x30))
				__atomic_add_fetch(&errors, 1, __ATOMIC_RELAXED);
			if (rand_r(&seed) & 1) {
				free(mine[k]);
			} else {
				struct mailbox *b = &box[(id + 1) % NTHREADS];

				pthread_mutex_lock(&b->lock);
				if (b->n < SLOTS)
					b->items[b->n++] = mine[k];
				else
					free(mine[k]);
				pthread_mutex_unlock(&b->lock);
			}
		}
		mine[k] = malloc(n);
		if (!mine[k] || ((uintptr_t)mine[k] & 15)) {
			__atomic_add_fetch(&errors, 1, __ATOMIC_RELAXED);
			return NULL;
		}
		stamp(mine[k], n, 0x30);
		if (r % 16 == 0) {
			struct mailbox *b = &box[id];

			pthread_mutex_lock(&b->lock);
			while (b->n) {
				void *p = b->items[--b->n];

				if (!stamped(p, 0x30))
					__atomic_add_fetch(&errors, 1, __ATOMIC_RELAXED);
				free(p);
			}
			pthread_mutex_unlock(&b->lock);
		}
	}
	for (k = 0; k < SLOTS; k++)
		free(mine[k]);
	return NULL;
}

static void *short_lived(void *arg)
{
	void *v[100];
	int i;

	(void)arg;
	for (i = 0; i < 100; i++)
		v[i] = malloc(16 + i * 8);
	for (i = 0; i < 100; i++)
		free(v[i]);
	return NULL;
}

TEST(threads)
{
	pthread_t t[NTHREADS];
	struct mallinfo2 before, after;
	long i;
	int wave, created = 1;

	for (i = 0; i < NTHREADS; i++)
		pthread_mutex_init(&box[i].lock, NULL);
	for (i = 0; i < NTHREADS; i++)
		created &= pthread_create(&t[i], NULL, worker, (void *)i) == 0;
	for (i = 0; i < NTHREADS; i++)
		pthread_join(t[i], NULL);
	for (i = 0; i < NTHREADS; i++)
		while (box[i].n) {
			if (!stamped(box[i].items[--box[i].n], 0x30))
				errors++;
			free(box[i].items[box[i].n]);
		}
	EXPECT_TRUE(created && errors == 0)
		TH_LOG("8 threads, %d rounds each, cross-thread frees: %d errors", ROUNDS, errors);
	after = mallinfo2();
	EXPECT_TRUE(after.hblks == 0)
		TH_LOG("every mmapped block was unmapped (%zu left)", after.hblks);
	EXPECT_TRUE(kml_malloc_check() == 0)
		TH_LOG("kml_malloc_check: every arena consistent after the threads");

	for (wave = 0; wave < 3; wave++) {
		if (wave == 1)
			before = mallinfo2();
		for (i = 0; i < 50; i++) {
			pthread_t s;

			pthread_create(&s, NULL, short_lived, NULL);
			pthread_join(s, NULL);
		}
	}
	after = mallinfo2();
	EXPECT_TRUE(after.arena <= before.arena && after.uordblks <= before.uordblks + 4096)
		TH_LOG("100 more brief threads: no growth (arena %zu -> %zu, in use %zu -> %zu)",
		       before.arena, after.arena, before.uordblks, after.uordblks);

	/* the threads' arenas keep a free top of about top_pad each */
	before = after;
	i = malloc_trim(0);
	after = mallinfo2();
	EXPECT_TRUE(i == 1 && after.arena + 4096 * 2 < before.arena)
		TH_LOG("malloc_trim(0) gives back the free tops of every arena (arena %zu -> %zu)",
		       before.arena, after.arena);
	EXPECT_TRUE(kml_malloc_check() == 0)
		TH_LOG("kml_malloc_check: every arena consistent after malloc_trim");
}

TEST_HARNESS_MAIN
