// SPDX-License-Identifier: GPL-2.0
/*
 * Host build of the slab core for instruction counts under callgrind
 * (scripts/bench.sh): a fast-path kml_slab_alloc + kml_slab_free pair on
 * a warm 64-byte cache.
 */
#include <stdio.h>
#include <stdlib.h>
#include "../../module/core/slab.h"

int main(int argc, char **argv)
{
	unsigned long n = argc > 1 ? strtoul(argv[1], NULL, 0) : 100000, i;
	struct kml_slab_sys sys;
	struct kml_buddy b;
	struct kml_cache *c;

	kml_host_arena = aligned_alloc(KML_PAGE_SIZE, 2048 * KML_PAGE_SIZE);
	kml_host_arena_pages = 2048;
	if (!kml_host_arena || kml_buddy_init(&b, 2048, 10) ||
	    kml_slab_init(&sys, &b, 0, 8192))
		return 1;
	if (kml_slab_create(&sys, "bench64", 64, 0, 0, NULL, &c))
		return 1;
	kml_slab_free(c, kml_slab_alloc(c, 0, NULL), 0, NULL);	/* warm */
	for (i = 0; i < n; i++)
		kml_slab_free(c, kml_slab_alloc(c, 0, NULL), 0, NULL);
	printf("%lu alloc+free pairs\n", n);
	kml_slab_destroy(c);
	kml_slab_exit(&sys);
	return 0;
}
