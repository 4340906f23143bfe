// SPDX-License-Identifier: GPL-2.0
/*
 * pair32: N pairs of malloc(32) and free, for callgrind:
 *
 *   valgrind --tool=callgrind --callgrind-out-file=cg.out \
 *     env LD_PRELOAD=./libkmemlab-malloc.so KMEMLAB_MALLOC_BACKEND=sys \
 *     bench/pair32 1000000
 *
 * and divide the instructions of malloc plus free by N (or compare runs
 * with two N). Built with -fno-builtin, so every call stays.
 */
#include "bench.h"

void *pair32_sink;

int main(int argc, char **argv)
{
	long n = argc > 1 ? atol(argv[1]) : 1000000, i;
	unsigned long long t0 = bench_ns();

	for (i = 0; i < n; i++) {
		pair32_sink = malloc(32);
		free(pair32_sink);
	}
	bench_report("pair32", bench_ns() - t0);
	return 0;
}
