// SPDX-License-Identifier: GPL-2.0
/*
 * Larson-style server simulation: each thread owns a window of blocks and
 * replaces random ones; after each round its window is handed to a new
 * thread (which frees blocks another thread allocated), for several rounds.
 */
#include <pthread.h>
#include "bench.h"

#define THREADS	4
#define WINDOW	2000
#define ROUNDS	10

static long per_round = 500000;

struct lwork {
	void *blocks[WINDOW];
	unsigned int seed;
};

static struct lwork work[THREADS];

static void *larson_thread(void *arg)
{
	struct lwork *w = arg;
	long i;

	for (i = 0; i < per_round; i++) {
		unsigned int r = bench_rand(&w->seed);
		void **b = &w->blocks[r % WINDOW];

		free(*b);
		*b = malloc(10 + (r >> 12) % 1000);
		memset(*b, 1, 8);
	}
	return NULL;
}

int main(int argc, char **argv)
{
	pthread_t t[THREADS];
	unsigned long long t0;
	int i, round;

	if (argc > 1)
		per_round = atol(argv[1]);
	for (i = 0; i < THREADS; i++)
		work[i].seed = i + 1;
	t0 = bench_ns();
	for (round = 0; round < ROUNDS; round++) {
		for (i = 0; i < THREADS; i++)
			pthread_create(&t[i], NULL, larson_thread, &work[(i + round) % THREADS]);
		for (i = 0; i < THREADS; i++)
			pthread_join(t[i], NULL);
		bench_sample();
	}
	for (i = 0; i < THREADS; i++) {
		int k;

		for (k = 0; k < WINDOW; k++)
			free(work[i].blocks[k]);
	}
	bench_report("larson", bench_ns() - t0);
	return 0;
}
