/* SPDX-License-Identifier: GPL-2.0 */
/* What the C suites share: kmemlab's debugfs stats, drain and validate. */
#ifndef KMEMLAB_TEST_H
#define KMEMLAB_TEST_H

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#define DIR "/sys/kernel/debug/kmemlab/"

/* A counter of debugfs stats ("name value" lines), or -1 when absent. */
static inline long stat_of(const char *name)
{
	char line[256], key[128];
	long v = -1, x;
	FILE *f = fopen(DIR "stats", "r");

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
	FILE *f = fopen(DIR "drain", "w");

	if (f) {
		fputs("1\n", f);
		fclose(f);
	}
}

/* debugfs validate: one ": ok" line per allocator. */
static inline bool validate_ok(void)
{
	char line[256];
	FILE *f = fopen(DIR "validate", "r");
	int good = 0, lines = 0;

	while (f && fgets(line, sizeof(line), f)) {
		lines++;
		good += strstr(line, ": ok") != NULL;
	}
	if (f)
		fclose(f);
	return lines == 2 && good == 2;
}

#endif /* KMEMLAB_TEST_H */
