/* SPDX-License-Identifier: GPL-2.0 */
/* What the C suites share: kmemlab's debugfs stats, drain and validate. */
#ifndef KMEMLAB_TEST_H
#define KMEMLAB_TEST_H

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

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

/* A counter of debugfs stats ("name value" lines), or -1 when absent. */
static inline long stat_of(const char *name)
{
	char line[256], key[128];
	long v = -1, x;
	FILE *f = fopen(KML_DEBUGFS "stats", "r");

	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "%127s %ld", key, &x) == 2 && !strcmp(key, name))
			v = x;
	if (f)
		fclose(f);
	return v;
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

#endif /* KMEMLAB_TEST_H */
