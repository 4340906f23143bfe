// SPDX-License-Identifier: GPL-2.0
/*
 * kmemlab's debugfs files: their layout against the kernel's own files in
 * the same guest, and their numbers against each other.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "kselftest_harness.h"
#include "kmemlab_test.h"

static char *slurp(const char *path)
{
	static char buf[1 << 20];
	FILE *f = fopen(path, "r");
	size_t n;

	if (!f)
		return NULL;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = 0;
	fclose(f);
	return buf;
}

/* Reads "Node 0, zone  kmemlab  n0 n1 ..." into nr[]; returns the count. */
static int read_zone_line(const char *path, const char *zone, char *line,
			  size_t linesz, unsigned long *nr, int max)
{
	char *s = slurp(path), *p, *end, name[32];
	int n = 0, node;

	if (!s)
		return -1;
	for (p = s; *p; p = end + 1) {
		end = strchrnul(p, '\n');
		if (sscanf(p, "Node %d, zone %31s", &node, name) == 2 &&
		    !strcmp(name, zone)) {
			char *q = strstr(p, name) + strlen(name);

			snprintf(line, linesz, "%.*s", (int)(end - p), p);
			while (n < max && q < end) {
				char *next;
				unsigned long v = strtoul(q, &next, 10);

				if (next == q)
					break;
				nr[n++] = v;
				q = next;
			}
			return n;
		}
		if (!*end)
			break;
	}
	return -1;
}

TEST(buddyinfo_has_the_kernels_layout)
{
	char ours[512], theirs[512];
	unsigned long nr[32], k[32], sum = 0;
	long max_order = stat_of("max_order");
	int n, kn, i;

	drain();
	ASSERT_LT(0, max_order);
	n = read_zone_line(KML_DEBUGFS "buddyinfo", "kmemlab", ours, sizeof(ours), nr, 32);
	ASSERT_EQ(max_order + 1, n);
	for (i = 0; i < n; i++)
		sum += nr[i] << i;
	EXPECT_EQ(stat_of("free_pages"), (long)sum);
	/* Same columns as the guest's own /proc/buddyinfo (orders 0..10). */
	kn = read_zone_line("/proc/buddyinfo", "Normal", theirs, sizeof(theirs), k, 32);
	if (kn < 0)
		kn = read_zone_line("/proc/buddyinfo", "DMA32", theirs, sizeof(theirs), k, 32);
	ASSERT_EQ(11, kn);
	if (n == kn)
		EXPECT_EQ(strlen(theirs), strlen(ours));
	EXPECT_EQ(0, strncmp(ours, "Node 0, zone  kmemlab ", 22));
}

TEST(fragmentation_indices_follow_buddyinfo)
{
	char line[512];
	unsigned long nr[32], pages = 0, blocks = 0;
	int n, o, i;
	char *s, *p;

	drain();
	n = read_zone_line(KML_DEBUGFS "buddyinfo", "kmemlab", line, sizeof(line), nr, 32);
	ASSERT_LT(0, n);
	for (o = 0; o < n; o++) {
		pages += nr[o] << o;
		blocks += nr[o];
	}
	s = slurp(KML_DEBUGFS "extfrag_index");
	ASSERT_NE(NULL, s);
	p = strstr(s, "kmemlab");
	ASSERT_NE(NULL, p);
	p += strlen("kmemlab");
	for (o = 0; o < n; o++) {
		unsigned long fit = 0;
		double want, got = strtod(p, &p);

		for (i = o; i < n; i++)
			fit += nr[i] << (i - o);
		/* Gorman's index: 1 - (1 + free/requested) / blocks */
		if (!blocks)
			want = 0;
		else if (fit)
			want = -1;
		else
			want = 1.0 - (1.0 + (double)pages / (1ul << o)) / blocks;
		EXPECT_GE(0.0015, got > want ? got - want : want - got);
	}
	s = slurp(KML_DEBUGFS "unusable_index");
	p = strstr(s, "kmemlab") + strlen("kmemlab");
	for (o = 0; o < n; o++) {
		unsigned long fit = 0;
		double got = strtod(p, &p), want;

		for (i = o; i < n; i++)
			fit += nr[i] << (i - o);
		want = pages ? (double)(pages - (fit << o)) / pages : 1.0;
		EXPECT_GE(0.0015, got > want ? got - want : want - got);
	}
}

TEST(pagemap_covers_the_region_once)
{
	char *s, *line, *save;
	long region = stat_of("region_pages"), next = 0, free_pages = 0;

	drain();
	s = slurp(KML_DEBUGFS "pagemap");
	ASSERT_NE(NULL, s);
	ASSERT_EQ(0, strncmp(s, "# kmemlab pagemap:", 18));
	for (line = strtok_r(s, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		long first, count;
		unsigned int order;
		char state[16];
		int fields;

		if (line[0] == '#')
			continue;
		fields = sscanf(line, "%ld %ld %15s %u", &first, &count, state, &order);
		ASSERT_EQ(4, fields);
		EXPECT_EQ(next, first);
		EXPECT_LT(0, count);
		EXPECT_GE(10u, order);
		if (!strcmp(state, "free"))
			free_pages += count;
		else
			EXPECT_TRUE(!strcmp(state, "pcp") || !strcmp(state, "pages") ||
				    !strcmp(state, "slab") || !strcmp(state, "vmalloc") ||
				    !strcmp(state, "user"));
		next = first + count;
	}
	EXPECT_EQ(region, next);
	EXPECT_EQ(stat_of("free_pages") - stat_of("pcp_pages"), free_pages);
}

TEST(validate_is_clean)
{
	char *s = slurp(KML_DEBUGFS "validate");

	ASSERT_NE(NULL, s);
	EXPECT_STREQ("buddy: ok\nslab: ok\n", s);
}

TEST_HARNESS_MAIN
