/* SPDX-License-Identifier: GPL-2.0 */
/*
 * bench.h - what every benchmark prints: one line
 *
 *   name ns_total peak_rss_kb peak_backend_bytes
 *
 * peak_rss_kb is VmHWM from /proc/self/status. peak_backend_bytes is the
 * most memory the allocator held from its backend (mallinfo2 arena +
 * hblkhd, sampled by bench_sample()); on the kmemlab backend heap pages are
 * device pages and RSS means less, so compare this column there.
 */
#ifndef KMM_BENCH_H
#define KMM_BENCH_H

#include <malloc.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static size_t bench_peak;

static inline unsigned long long bench_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

/* Call now and then from one thread: tracks the backend high-water mark. */
static inline void bench_sample(void)
{
	struct mallinfo2 mi = mallinfo2();
	size_t now = mi.arena + mi.hblkhd;

	if (now > bench_peak)
		bench_peak = now;
}

static inline long bench_hwm_kb(void)
{
	char line[256];
	long kb = -1;
	FILE *f = fopen("/proc/self/status", "r");

	while (f && fgets(line, sizeof(line), f))
		if (!strncmp(line, "VmHWM:", 6))
			kb = strtol(line + 6, NULL, 10);
	if (f)
		fclose(f);
	return kb;
}

static inline void bench_report(const char *name, unsigned long long ns)
{
	bench_sample();
	printf("%s %llu %ld %zu\n", name, ns, bench_hwm_kb(), bench_peak);
}

static inline unsigned int bench_rand(unsigned int *s)
{
	*s = *s * 1103515245 + 12345;
	return *s >> 8;
}

#endif /* KMM_BENCH_H */
