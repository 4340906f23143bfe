// SPDX-License-Identifier: GPL-2.0
/*
 * kml_parse_size() (kmlsize.h), the one parser of sizes: the malloc's
 * environment, KMEMLAB_BRK_RESERVE and kmlheap's arguments use it.
 */
#include "tap.h"
#include "../kmlsize.h"

static void good(const char *s, size_t want)
{
	size_t v = 12345;
	int r = kml_parse_size(s, &v);

	ok(r == 0 && v == want, "\"%s\" is %zu (got %d, %zu)", s, want, r, v);
}

static void bad(const char *s)
{
	size_t v = 12345;
	int r = kml_parse_size(s, &v);

	ok(r == -1 && v == 12345, "\"%s\" is no size, *out untouched (got %d, %zu)", s, r, v);
}

int main(void)
{
	tap_start("size parser");
	good("0", 0);
	good("4096", 4096);
	good("007", 7);
	good("64K", 64UL << 10);
	good("64k", 64UL << 10);
	good("2M", 2UL << 20);
	good("2m", 2UL << 20);
	good("1G", 1UL << 30);
	good("3g", 3UL << 30);
	good("0K", 0);
	good("18446744073709551615", SIZE_MAX);
	good("17179869183G", 17179869183UL << 30);
	bad(NULL);
	bad("");
	bad("K");
	bad("-1");
	bad("+1");
	bad(" 1");
	bad("1 ");
	bad("0x10");
	bad("1.5M");
	bad("12KB");
	bad("12KK");
	bad("1T");
	bad("18446744073709551616");
	bad("99999999999999999999999");
	bad("17179869184G");
	bad("18014398509481984K");
	return tap_done();
}
