// SPDX-License-Identifier: GPL-2.0
/* calloc returns zeroes, also when it recycles dirty memory of every kind. */
#include "tap.h"

static int zero(const unsigned char *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (p[i])
			return 0;
	return 1;
}

int main(void)
{
	static const size_t sizes[] = { 1, 24, 100, 120, 500, 1032, 2000, 40000, 200000,
					3 << 20 };
	void *v[64];
	size_t i, j;
	int bad = 0;

	tap_start("calloc");
	for (i = 0; i < ARRAY_SIZE(sizes); i++) {
		size_t n = sizes[i];

		for (j = 0; j < 64; j++) {
			v[j] = malloc(n);
			memset(v[j], 0xa5, malloc_usable_size(v[j]));
		}
		for (j = 0; j < 64; j++)
			free(v[j]);
		for (j = 0; j < 64; j++) {
			v[j] = calloc(1, n);
			if (!v[j] || !zero(v[j], n))
				bad++;
		}
		for (j = 0; j < 64; j++)
			free(v[j]);
		ok(!bad, "calloc(1, %zu) after dirty frees of the same size: all zero", n);
	}
	/* dirty split remainders and merged chunks */
	for (j = 0; j < 64; j++) {
		v[j] = malloc(j * 97 + 1);
		memset(v[j], 0xff, malloc_usable_size(v[j]));
	}
	for (j = 0; j < 64; j += 2)
		free(v[j]);
	bad = 0;
	for (j = 0; j < 64; j += 2) {
		v[j] = calloc(j + 1, 13);
		if (!zero(v[j], (j + 1) * 13))
			bad++;
	}
	ok(!bad, "calloc from split and merged dirty chunks: all zero");
	for (j = 0; j < 64; j++)
		free(v[j]);
	ok(calloc(0, 10), "calloc(0, 10) returns a block");
	ok(kml_malloc_check() == 0, "kml_malloc_check: every arena consistent at the end");
	return tap_done();
}
