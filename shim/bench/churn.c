// SPDX-License-Identifier: GPL-2.0
/* Small-object churn on one thread: random sizes 8..512, random slots. */
#include "bench.h"

#define SLOTS 4096

int main(int argc, char **argv)
{
	long ops = argc > 1 ? atol(argv[1]) : 20000000;
	static void *slot[SLOTS];
	unsigned int seed = 1;
	unsigned long long t0 = bench_ns();
	long i;

	for (i = 0; i < ops; i++) {
		unsigned int r = bench_rand(&seed);
		void **s = &slot[r % SLOTS];

		free(*s);
		*s = malloc(8 + (r >> 12) % 505);
		*(char *)*s = (char)i;
		if ((i & 0xfffff) == 0)
			bench_sample();
	}
	for (i = 0; i < SLOTS; i++)
		free(slot[i]);
	bench_report("churn", bench_ns() - t0);
	return 0;
}
