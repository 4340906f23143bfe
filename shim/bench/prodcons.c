// SPDX-License-Identifier: GPL-2.0
/*
 * Producer/consumer across threads: producers allocate and fill blocks,
 * consumers check and free them, through bounded rings (every free is a
 * remote free into another thread's arena).
 */
#include <pthread.h>
#include "bench.h"

#define PAIRS	2
#define RING	1024

struct ring {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	void *items[RING];
	unsigned int head, tail;
};

static struct ring rings[PAIRS];
static long per_producer = 2000000;

static void *producer(void *arg)
{
	struct ring *r = arg;
	unsigned int seed = 7;
	long i;

	for (i = 0; i <= per_producer; i++) {
		size_t n = 16 + bench_rand(&seed) % 1000;
		char *p = i < per_producer ? malloc(n) : NULL;

		if (p)
			memset(p, 0x5a, 16);
		pthread_mutex_lock(&r->lock);
		while (r->head - r->tail == RING)
			pthread_cond_wait(&r->cond, &r->lock);
		r->items[r->head++ % RING] = p;
		pthread_cond_broadcast(&r->cond);
		pthread_mutex_unlock(&r->lock);
	}
	return NULL;
}

static void *consumer(void *arg)
{
	struct ring *r = arg;

	for (;;) {
		void *p;

		pthread_mutex_lock(&r->lock);
		while (r->head == r->tail)
			pthread_cond_wait(&r->cond, &r->lock);
		p = r->items[r->tail++ % RING];
		pthread_cond_broadcast(&r->cond);
		pthread_mutex_unlock(&r->lock);
		if (!p)
			return NULL;
		free(p);
	}
}

int main(int argc, char **argv)
{
	pthread_t t[2 * PAIRS];
	unsigned long long t0;
	int i;

	if (argc > 1)
		per_producer = atol(argv[1]);
	t0 = bench_ns();
	for (i = 0; i < PAIRS; i++) {
		pthread_mutex_init(&rings[i].lock, NULL);
		pthread_cond_init(&rings[i].cond, NULL);
		pthread_create(&t[2 * i], NULL, producer, &rings[i]);
		pthread_create(&t[2 * i + 1], NULL, consumer, &rings[i]);
	}
	for (i = 0; i < 2 * PAIRS; i++)
		pthread_join(t[i], NULL);
	bench_report("prodcons", bench_ns() - t0);
	return 0;
}
