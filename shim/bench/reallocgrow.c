// SPDX-License-Identifier: GPL-2.0
/* realloc growth: many buffers grown a little at a time, as string builders do. */
#include "bench.h"

#define BUFS 64

int main(int argc, char **argv)
{
	long steps = argc > 1 ? atol(argv[1]) : 20000;
	static char *buf[BUFS];
	static size_t len[BUFS];
	unsigned int seed = 3;
	unsigned long long t0 = bench_ns();
	long rep, i;

	for (rep = 0; rep < 10; rep++) {
		for (i = 0; i < steps * BUFS; i++) {
			int k = bench_rand(&seed) % BUFS;
			size_t add = 1 + bench_rand(&seed) % 64;

			buf[k] = realloc(buf[k], len[k] + add);
			memset(buf[k] + len[k], (int)i, add);
			len[k] += add;
		}
		bench_sample();
		for (i = 0; i < BUFS; i++) {
			free(buf[i]);
			buf[i] = NULL;
			len[i] = 0;
		}
	}
	bench_report("reallocgrow", bench_ns() - t0);
	return 0;
}
