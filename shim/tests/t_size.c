// SPDX-License-Identifier: GPL-2.0
/*
 * kml_parse_size() (kmlsize.h), the one parser of sizes: the malloc's
 * environment, KMEMLAB_BRK_RESERVE and kmlheap's arguments use it.
 */
#include "shim_test.h"
#include "../kmlsize.h"

static void good(struct __test_metadata *_metadata, const char *s, size_t want)
{
	size_t v = 12345;
	int r = kml_parse_size(s, &v);

	EXPECT_TRUE(r == 0 && v == want)
		TH_LOG("\"%s\" is %zu (got %d, %zu)", s, want, r, v);
}

static void bad(struct __test_metadata *_metadata, const char *s)
{
	size_t v = 12345;
	int r = kml_parse_size(s, &v);

	EXPECT_TRUE(r == -1 && v == 12345)
		TH_LOG("\"%s\" is no size, *out untouched (got %d, %zu)", s, r, v);
}

TEST(size_parser)
{
	good(_metadata, "0", 0);
	good(_metadata, "4096", 4096);
	good(_metadata, "007", 7);
	good(_metadata, "64K", 64UL << 10);
	good(_metadata, "64k", 64UL << 10);
	good(_metadata, "2M", 2UL << 20);
	good(_metadata, "2m", 2UL << 20);
	good(_metadata, "1G", 1UL << 30);
	good(_metadata, "3g", 3UL << 30);
	good(_metadata, "0K", 0);
	good(_metadata, "18446744073709551615", SIZE_MAX);
	good(_metadata, "17179869183G", 17179869183UL << 30);
	bad(_metadata, NULL);
	bad(_metadata, "");
	bad(_metadata, "K");
	bad(_metadata, "-1");
	bad(_metadata, "+1");
	bad(_metadata, " 1");
	bad(_metadata, "1 ");
	bad(_metadata, "0x10");
	bad(_metadata, "1.5M");
	bad(_metadata, "12KB");
	bad(_metadata, "12KK");
	bad(_metadata, "1T");
	bad(_metadata, "18446744073709551616");
	bad(_metadata, "99999999999999999999999");
	bad(_metadata, "17179869184G");
	bad(_metadata, "18014398509481984K");
}

TEST_HARNESS_MAIN
