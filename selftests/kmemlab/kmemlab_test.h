/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What the C suites share: kmemlab's debugfs stats, slabinfo, drain and
 * validate, a check of memory contents, and the raw brk ioctl.
 */
#ifndef KMEMLAB_TEST_H
#define KMEMLAB_TEST_H

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include "kmemlab.h"

#define KML_DEBUGFS "/sys/kernel/debug/kmemlab/"

/*
 * Time limits are for hangs, not for speed: each test gets 10 minutes
 * (the harness's default is 30 s), enough for the slowest lane (the debug
 * kernel under TCG) on a host whose CPUs are busy with other work. The
 * harness expands TEST_TIMEOUT_DEFAULT where a test is defined, so
 * redefining it here, after kselftest_harness.h, applies to every test.
 */
#ifdef TEST_TIMEOUT_DEFAULT
#undef TEST_TIMEOUT_DEFAULT
#define TEST_TIMEOUT_DEFAULT 600
#endif

/*
 * The number after name on the last line of a debugfs file that starts
 * with name, or -1 when there is none.
 */
static inline long number_after(const char *file, const char *name)
{
	char line[512], key[128];
	long v = -1, x;
	FILE *f = fopen(file, "r");

	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "%127s %ld", key, &x) == 2 && !strcmp(key, name))
			v = x;
	if (f)
		fclose(f);
	return v;
}

/* A counter of debugfs stats ("name value" lines), or -1 when absent. */
static inline long stat_of(const char *name)
{
	return number_after(KML_DEBUGFS "stats", name);
}

/* active_objs of a slabinfo row, or -1 when the cache is not listed. */
static inline long slab_active(const char *cache)
{
	return number_after(KML_DEBUGFS "slabinfo", cache);
}

/* Every byte of [p, p + len) is c. */
static inline bool all(const char *p, size_t len, int c)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (p[i] != (char)c)
			return false;
	return true;
}

/* Magazines flushed, empty slabs reaped, per-CPU pages back on the lists. */
static inline void drain(void)
{
	FILE *f = fopen(KML_DEBUGFS "drain", "w");

	if (f) {
		fputs("1\n", f);
		fclose(f);
	}
}

/* debugfs validate: one ": ok" line per allocator. */
static inline bool validate_ok(void)
{
	char line[256];
	FILE *f = fopen(KML_DEBUGFS "validate", "r");
	int good = 0, lines = 0;

	while (f && fgets(line, sizeof(line), f)) {
		lines++;
		good += !!strstr(line, ": ok");
	}
	if (f)
		fclose(f);
	return lines == 2 && good == 2;
}

/* KMEMLAB_IOC_BRK: 0 or -errno; out (if set) gets the kernel's answer. */
static inline int brk_req(int fd, unsigned int flags, uint64_t addr, int64_t incr,
			  struct kmemlab_brk *out)
{
	struct kmemlab_brk r = { .addr = addr, .incr = incr, .flags = flags };
	int ret = ioctl(fd, KMEMLAB_IOC_BRK, &r) ? -errno : 0;

	if (out)
		*out = r;
	return ret;
}

/* sbrk(3) on a kmemlab heap: the old break, or NULL. */
static inline char *sbrk_raw(int fd, int64_t incr)
{
	struct kmemlab_brk r;

	return brk_req(fd, KMEMLAB_BRK_ADD, 0, incr, &r) ? NULL : (char *)(uintptr_t)r.old_brk;
}

/*
 * Whether the kernel has madvise(2) at all: the debug kernel is built
 * without CONFIG_ADVISE_SYSCALLS. A zero length is valid, and does nothing.
 */
static inline bool have_madvise(void)
{
	return madvise(NULL, 0, MADV_NORMAL) == 0;
}

#endif /* KMEMLAB_TEST_H */
