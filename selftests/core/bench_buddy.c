// SPDX-License-Identifier: GPL-2.0
/*
 * Host build of the buddy core for instruction counts under callgrind
 * (scripts/bench.sh): only the measured loop is collected.
 */
#include <stdio.h>
#include <stdlib.h>
#include "../../module/core/buddy.h"

noinline void bench_order0_pairs(struct kml_buddy *b, unsigned long n)
{
	while (n--) {
		u32 idx = kml_buddy_alloc(b, 0, KML_KIND_TEST);

		kml_buddy_free(b, idx, 0, KML_KIND_TEST);
	}
}

int main(int argc, char **argv)
{
	unsigned long n = argc > 1 ? strtoul(argv[1], NULL, 0) : 100000;
	struct kml_buddy b;

	if (kml_buddy_init(&b, 16384, 10))
		return 1;
	bench_order0_pairs(&b, 1);	/* warm: the per-CPU list is filled */
	bench_order0_pairs(&b, n);
	kml_buddy_destroy(&b);
	printf("%lu order-0 alloc+free pairs\n", n);
	return 0;
}
