// SPDX-License-Identifier: GPL-2.0
/* calloc returns zeroes, also when it recycles dirty memory of every kind. */
#include "shim_test.h"

static int zero(const unsigned char *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (p[i])
			return 0;
	return 1;
}

TEST(calloc_zeroes)
{
	static const size_t sizes[] = { 1, 24, 100, 120, 500, 1032, 2000, 40000, 200000,
					3 << 20 };
	void *v[64];
	size_t i, j;
	int bad = 0;

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
		EXPECT_TRUE(!bad)
			TH_LOG("calloc(1, %zu) after dirty frees of the same size: all zero", n);
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
	EXPECT_TRUE(!bad)
		TH_LOG("calloc from split and merged dirty chunks: all zero");
	for (j = 0; j < 64; j++)
		free(v[j]);
	EXPECT_NE(NULL, calloc(0, 10))
		TH_LOG("calloc(0, 10) returns a block");
	EXPECT_TRUE(kml_malloc_check() == 0)
		TH_LOG("kml_malloc_check: every arena consistent at the end");
}

TEST_HARNESS_MAIN
