// SPDX-License-Identifier: GPL-2.0
/*
 * Fragmentation stress: fill memory with interleaved short- and long-lived
 * blocks of mixed sizes, free the short-lived ones, then ask for larger
 * blocks that only fit if free neighbours merge; repeated in phases. The
 * peak columns show how much the holes cost.
 */
#include "bench.h"

#define N 200000

int main(int argc, char **argv)
{
	int phases = argc > 1 ? atoi(argv[1]) : 10;
	static void *keep[N], *tmp[N];
	unsigned int seed = 5;
	unsigned long long t0 = bench_ns();
	int ph, i;

	for (ph = 0; ph < phases; ph++) {
		for (i = 0; i < N; i++) {
			tmp[i] = malloc(16 + bench_rand(&seed) % 200);
			if (i % 8 == 0) {
				free(keep[i]);
				keep[i] = malloc(16 + bench_rand(&seed) % 3000);
			}
		}
		bench_sample();
		for (i = 0; i < N; i++)
			free(tmp[i]);
		for (i = 0; i < N / 4; i++)
			tmp[i] = malloc(300 + bench_rand(&seed) % 2000);
		bench_sample();
		for (i = 0; i < N / 4; i++)
			free(tmp[i]);
	}
	for (i = 0; i < N; i++)
		free(keep[i]);
	bench_report("frag", bench_ns() - t0);
	return 0;
}
