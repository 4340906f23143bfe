// SPDX-License-Identifier: GPL-2.0
/*
 * Misuse is caught with glibc's message on stderr and abort(): each case
 * runs in a child that must die by SIGABRT having printed exactly the
 * message, on a line of its own.
 */
#include "shim_test.h"

/* keeps results the compiler would otherwise call unused */
static void *sink;

static void tcache_double(void *arg)
{
	void *p = malloc(40);

	(void)arg;
	free(p);
	free(p);
}

static void fasttop(void *arg)
{
	void *v[7], *p;
	int i;

	(void)arg;
	for (i = 0; i < 7; i++)
		v[i] = malloc(40);
	p = malloc(40);
	malloc(40);
	for (i = 0; i < 7; i++)
		free(v[i]);	/* the tcache bin is full now */
	free(p);
	free(p);
}

static void not_prev(void *arg)
{
	void *p = malloc(2000);

	(void)arg;
	sink = malloc(5000);	/* keeps p away from the top */
	free(p);
	free(p);
}

static void invalid_pointer(void *arg)
{
	char *p = malloc(100);

	(void)arg;
	free(p + 8);
}

static void invalid_size(void *arg)
{
	size_t *p = malloc(100);

	(void)arg;
	p[-1] = 8 | 1;		/* a chunk smaller than the minimum */
	free(p);
}

static void invalid_size_big(void *arg)
{
	size_t *p = malloc(2000);

	(void)arg;
	p[-1] = 0x7000 | 1;	/* not a multiple of 16 once the flags go */
	p[-1] |= 8;
	free(p);
}

static void corrupted_top(void *arg)
{
	char *p = malloc(100000);
	size_t *top;

	(void)arg;
	/* the chunk after p is the top; its size word follows p's last byte */
	top = (size_t *)(p + malloc_usable_size(p));
	*top = (size_t)-1 & ~(size_t)15;
	free(malloc(200000 - 100000));
	malloc(120000);
}

static void realloc_invalid(void *arg)
{
	char *p = malloc(100);

	(void)arg;
	sink = realloc(p + 8, 200);
}

static void munmap_invalid(void *arg)
{
	size_t *p = malloc(1 << 20);

	(void)arg;
	p[-2] = 8;		/* prev_size: offset of the mapping */
	free(p);
}

static void unsorted_corrupt(void *arg)
{
	size_t *p = malloc(2000), *q;

	(void)arg;
	sink = malloc(5000);
	free(p);
	p[-1] = 0x100000001;	/* a size bigger than the arena */
	q = malloc(3000);
	free(q);
}

static void fast_corrupt(void *arg)
{
	void *v[7];
	size_t *p;
	int i;

	(void)arg;
	for (i = 0; i < 7; i++)
		v[i] = malloc(56);
	p = malloc(56);
	malloc(16);
	for (i = 0; i < 7; i++)
		free(v[i]);
	free(p);		/* into the fast bin */
	p[-1] = 0x91;		/* now claims another fast bin's size */
	for (i = 0; i < 7; i++)
		v[i] = malloc(56);	/* empty the tcache bin */
	malloc(56);
}

static const struct {
	void (*fn)(void *arg);
	const char *msg;
} cases[] = {
	{ tcache_double, "free(): double free detected in tcache 2" },
	{ fasttop, "double free or corruption (fasttop)" },
	{ not_prev, "double free or corruption (!prev)" },
	{ invalid_pointer, "free(): invalid pointer" },
	{ invalid_size, "free(): invalid size" },
	{ invalid_size_big, "free(): invalid size" },
	{ corrupted_top, "malloc(): corrupted top size" },
	{ realloc_invalid, "realloc(): invalid pointer" },
	{ munmap_invalid, "munmap_chunk(): invalid pointer" },
	{ unsorted_corrupt, "malloc(): invalid size (unsorted)" },
	{ fast_corrupt, "malloc(): memory corruption (fast)" },
};

TEST(misuse_aborts)
{
	char buf[4096], want[200];
	size_t i;

	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		int status = run_child(cases[i].fn, NULL, buf, sizeof(buf));

		snprintf(want, sizeof(want), "%s\n", cases[i].msg);
		EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT &&
			    strcmp(buf, want) == 0)
			TH_LOG("\"%s\": SIGABRT (status %#x), stderr \"%.*s\"", cases[i].msg,
			       status, (int)strcspn(buf, "\n"), buf);
	}
}

TEST_HARNESS_MAIN
