// SPDX-License-Identifier: GPL-2.0
/*
 * Running out: under a small RLIMIT_AS or RLIMIT_DATA malloc returns NULL
 * with ENOMEM and recovers once memory is freed; when the break cannot
 * move the main arena continues in mmapped memory.
 */
#include <sys/resource.h>
#include "shim_test.h"

#define MAXB 200000

static int fill_until_null(size_t n, int *count)
{
	static void *v[MAXB];
	int i, k = 0, err;

	for (k = 0; k < MAXB; k++) {
		errno = 0;
		v[k] = malloc(n);
		if (!v[k])
			break;
		memset(v[k], 1, n < 4096 ? n : 4096);
	}
	err = errno;
	*count = k;
	for (i = 0; i < k; i++)
		free(v[i]);
	return err;
}

static void limit(int res, size_t extra)
{
	struct rlimit rl;

	if (res == RLIMIT_AS) {
		FILE *f = fopen("/proc/self/statm", "r");
		unsigned long pages = 0;

		if (f && fscanf(f, "%lu", &pages) != 1)
			pages = 0;
		if (f)
			fclose(f);
		rl.rlim_cur = pages * sysconf(_SC_PAGESIZE) + extra;
	} else {
		rl.rlim_cur = extra;
	}
	rl.rlim_max = rl.rlim_cur;
	if (setrlimit(res, &rl))
		_exit(3);
}

static void as_child(void *arg)
{
	size_t n = (size_t)arg;
	int count, count2, err;

	limit(RLIMIT_AS, 64 << 20);
	err = fill_until_null(n, &count);
	if (count == 0 || count == MAXB || err != ENOMEM)
		_exit(10);
	err = fill_until_null(n, &count2);
	if (count2 == 0 || err != ENOMEM)
		_exit(11);
	errno = 0;
	if (malloc(256 << 20) || errno != ENOMEM)
		_exit(12);
	if (!malloc(100))
		_exit(13);
	_exit(0);
}

static void data_child(void *arg)
{
	int count, err;

	(void)arg;
	limit(RLIMIT_DATA, 32 << 20);
	err = fill_until_null(50000, &count);
	if (count == 0 || count == MAXB || err != ENOMEM)
		_exit(10);
	_exit(0);
}

static void thread_child(void *arg);

/*
 * 100 blocks of 50000 bytes, written and freed: how many were had, and how
 * many lie outside [lo, hi) (the heap the break can still grow into).
 */
static int alloc_100(uintptr_t lo, uintptr_t hi, int *outside)
{
	int i, good = 0;
	void *v[100];

	*outside = 0;
	for (i = 0; i < 100; i++) {
		v[i] = malloc(50000);
		if (v[i]) {
			memset(v[i], 2, 50000);
			good++;
			*outside += (uintptr_t)v[i] < lo || (uintptr_t)v[i] >= hi;
		}
	}
	for (i = 0; i < 100; i++)
		free(v[i]);
	return good;
}

/*
 * kmemlab's brk range is reserved at the first call, so the break meets its
 * end, not a mapping: run with a 1 MiB reservation and look past it.
 */
static int small_reserve_child(void)
{
	uintptr_t b0 = cur_brk();
	int outside, good = alloc_100(b0 - (1 << 20), b0 + (1 << 20), &outside);

	printf("%d/100, %d beyond\n", good, outside);
	return good == 100 && outside > 0 && cur_brk() - b0 < (1 << 20) ? 0 : 1;
}

static void blocked_sys(struct __test_metadata *_metadata)
{
	uintptr_t end = cur_brk(), pg = sysconf(_SC_PAGESIZE);
	void *block = (void *)((end + 4 * pg) & ~(pg - 1));
	void *m = mmap(block, pg, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE,
		       -1, 0);
	int outside, good = alloc_100(0, (uintptr_t)block, &outside);

	EXPECT_TRUE(m == block && good == 100 && outside > 0 && cur_brk() <= (uintptr_t)block)
		TH_LOG("break blocked by a mapping: malloc uses mmapped memory (%d/100, %d beyond)",
		       good, outside);
	free(malloc(1000));
}

static void blocked_kmemlab(struct __test_metadata *_metadata)
{
	int status;
	pid_t pid;

	fflush(stdout);
	pid = fork();
	if (!pid) {
		setenv("KMEMLAB_BRK_RESERVE", "1M", 1);
		execl("/proc/self/exe", "t_exhaust", "small-reserve", (char *)NULL);
		_exit(127);
	}
	EXPECT_TRUE(pid > 0 && waitpid(pid, &status, 0) == pid && WIFEXITED(status) &&
		    WEXITSTATUS(status) == 0)
		TH_LOG("break at the end of a 1 MiB reservation: malloc uses mmapped memory");
}

static const size_t sizes[] = { 1000, 50000, 1 << 20 };

TEST(rlimit_as)
{
	char buf[256];
	size_t i;
	int st;

	if (!strcmp(shim_backend(), "kmemlab"))
		SKIP(return,
		     "a kmemlab heap's brk range is reserved, and counted, at the first call");
	for (i = 0; i < ARRAY_SIZE(sizes); i++) {
		st = run_child(as_child, (void *)sizes[i], buf, sizeof(buf));
		EXPECT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0)
			TH_LOG("RLIMIT_AS +64M, %zu B blocks: NULL + ENOMEM, recovers (status %#x)",
			       sizes[i], st);
	}
}

TEST(rlimit_data)
{
	char buf[256];
	int st = run_child(data_child, NULL, buf, sizeof(buf));

	EXPECT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0)
		TH_LOG("RLIMIT_DATA 32 MiB: NULL + ENOMEM (status %#x)", st);
}

TEST(rlimit_as_thread)
{
	char buf[256];
	int st = run_child(thread_child, NULL, buf, sizeof(buf));

	EXPECT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0)
		TH_LOG("RLIMIT_AS: a new thread without room for an arena allocates (status %#x)",
		       st);
}

TEST(blocked_break)
{
	if (!strcmp(shim_backend(), "kmemlab"))
		blocked_kmemlab(_metadata);
	else
		blocked_sys(_metadata);
	EXPECT_TRUE(kml_malloc_check() == 0)
		TH_LOG("kml_malloc_check: every arena consistent at the end");
}

/* The harness's main, unless re-executed as blocked_kmemlab's child */
int main(int argc, char **argv)
{
	if (argc > 1 && !strcmp(argv[1], "small-reserve"))
		return small_reserve_child();
	return test_harness_run(argc, argv);
}

#include <pthread.h>

static void *thread_fn(void *arg)
{
	(void)arg;
	return malloc(1000);
}

static void thread_child(void *arg)
{
	pthread_t t;
	void *r = NULL;

	(void)arg;
	/* room for the thread's stack, not for a 128 MiB heap reservation */
	limit(RLIMIT_AS, 32 << 20);
	if (pthread_create(&t, NULL, thread_fn, NULL))
		_exit(20);
	pthread_join(t, &r);
	_exit(r ? 0 : 21);
}
