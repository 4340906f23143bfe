// SPDX-License-Identifier: GPL-2.0
/*
 * The environment: KMEMLAB_MALLOC_MMAP_THRESHOLD, _TOP_PAD, _TRIM_THRESHOLD,
 * _ARENA_MAX, _STATS and _BACKEND. Each case re-executes this program with
 * the variable set (the library reads it at first use) and a case name as
 * argument; the child's exit status says whether it saw the effect.
 */
#include <pthread.h>
#include "shim_test.h"
#include "../kmlsize.h"

extern char **environ;

static void *thread_alloc(void *arg)
{
	(void)arg;
	return malloc(100);
}

static int child(const char *what)
{
	if (!strcmp(what, "mmap")) {
		void *p = malloc(8192), *q;

		free(p);
		q = malloc(8192);
		return chunk_mmapped(p) && chunk_mmapped(q) ? 0 : 1;
	}
	if (!strcmp(what, "toppad")) {
		uintptr_t b = cur_brk();

		malloc(1);
		return cur_brk() - b == 4096 ? 0 : 1;
	}
	if (!strcmp(what, "brk")) {
		uintptr_t b = cur_brk();

		/* the pages the first malloc(1) moves the break by */
		malloc(1);
		return (int)((cur_brk() - b) >> 12) & 0xff;
	}
	if (!strcmp(what, "trim")) {
		void *v[100];
		uintptr_t b;
		int i;

		for (i = 0; i < 100; i++)
			v[i] = malloc(8000);
		b = cur_brk();
		for (i = 0; i < 100; i++)
			free(v[i]);
		return cur_brk() == b ? 0 : 1;
	}
	if (!strcmp(what, "arenas")) {
		char *main_p = malloc(100);
		pthread_t t;
		void *r;

		pthread_create(&t, NULL, thread_alloc, NULL);
		pthread_join(t, &r);
		/* one arena: the thread's block comes from the brk heap too */
		return (uintptr_t)r < cur_brk() && (char *)r > main_p - (1 << 20) ? 0 : 1;
	}
	if (!strcmp(what, "stats")) {
		free(malloc(100));
		return 0;
	}
	if (!strcmp(what, "nodev")) {
		void *p;

		errno = 0;
		p = malloc(10);
		return !p && errno == ENOMEM && !kml_malloc_backend() ? 0 : 1;
	}
	return 2;
}

struct exec_args {
	char **argv, **env;
};

static void exec_self(void *arg)
{
	struct exec_args *a = arg;

	execve("/proc/self/exe", a->argv, a->env);
	_exit(127);
}

/* Runs this program with one more variable; stderr into buf. */
static int rerun(const char *var, const char *what, char *buf, size_t len)
{
	char *env[256];
	char *argv[3];
	struct exec_args a = { argv, env };
	int n = 0, i;

	int sets_backend = !strncmp(var, "KMEMLAB_MALLOC_BACKEND=", 23);

	for (i = 0; environ[i] && n < 250; i++)
		if (!sets_backend || strncmp(environ[i], "KMEMLAB_MALLOC_BACKEND=", 23))
			env[n++] = environ[i];
	env[n++] = (char *)var;
	argv[0] = (char *)"t_env";
	argv[1] = (char *)what;
	argv[2] = NULL;
	env[n] = NULL;
	return run_child(exec_self, &a, buf, len);
}

/*
 * var holds a bad value: one line on stderr says so, and the value is
 * ignored (malloc(1) moves the break by the default 33 pages).
 */
static void bad_size(struct __test_metadata *_metadata, const char *var, const char *why)
{
	char buf[4096], want[256];
	int st = rerun(var, "brk", buf, sizeof(buf));

	snprintf(want, sizeof(want), "kmemlab-malloc: %s: %s; ignored\n", var, why);
	EXPECT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 33 && !strcmp(buf, want))
		TH_LOG("%s: reported once on stderr (\"%.*s\") and ignored", var,
		       (int)strcspn(buf, "\n"), buf);
}

TEST(environment)
{
	char buf[4096];
	int st;

	st = rerun("KMEMLAB_MALLOC_MMAP_THRESHOLD=4096", "mmap", buf, sizeof(buf));
	EXPECT_TRUE(st == 0)
		TH_LOG("KMEMLAB_MALLOC_MMAP_THRESHOLD=4096: 8 KiB mmapped, threshold fixed");
	st = rerun("KMEMLAB_MALLOC_TOP_PAD=0", "toppad", buf, sizeof(buf));
	EXPECT_TRUE(st == 0)
		TH_LOG("KMEMLAB_MALLOC_TOP_PAD=0: malloc(1) moves the break by one page");
	st = rerun("KMEMLAB_MALLOC_TRIM_THRESHOLD=1000000000", "trim", buf, sizeof(buf));
	EXPECT_TRUE(st == 0)
		TH_LOG("KMEMLAB_MALLOC_TRIM_THRESHOLD=1e9: freeing 800 KB does not trim");
	st = rerun("KMEMLAB_MALLOC_ARENA_MAX=1", "arenas", buf, sizeof(buf));
	EXPECT_TRUE(st == 0)
		TH_LOG("KMEMLAB_MALLOC_ARENA_MAX=1: a second thread shares the first arena");
	st = rerun("KMEMLAB_MALLOC_ARENA_MAX=8", "arenas", buf, sizeof(buf));
	EXPECT_TRUE(st != 0)
		TH_LOG("KMEMLAB_MALLOC_ARENA_MAX=8: a second thread gets an arena of its own");
	st = rerun("KMEMLAB_MALLOC_STATS=1", "stats", buf, sizeof(buf));
	EXPECT_TRUE(st == 0 && !strncmp(buf, "Arena 0:\n", 9) &&
		    strstr(buf, "Total (incl. mmap):\n"))
		TH_LOG("KMEMLAB_MALLOC_STATS=1: malloc_stats on stderr at exit");
	st = rerun("KMEMLAB_MALLOC_TOP_PAD=8K", "brk", buf, sizeof(buf));
	EXPECT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 3 && !buf[0])
		TH_LOG("KMEMLAB_MALLOC_TOP_PAD=8K: malloc(1) moves the break 3 pages (%d), quietly",
		       WEXITSTATUS(st));
	bad_size(_metadata, "KMEMLAB_MALLOC_TOP_PAD=12X", KML_SIZE_WHY);
	bad_size(_metadata, "KMEMLAB_MALLOC_TOP_PAD=-4096", KML_SIZE_WHY);
	bad_size(_metadata, "KMEMLAB_MALLOC_TRIM_THRESHOLD=1 M", KML_SIZE_WHY);
	bad_size(_metadata, "KMEMLAB_MALLOC_MMAP_THRESHOLD=64M", "more than 32M");
	bad_size(_metadata, "KMEMLAB_MALLOC_ARENA_MAX=0", "not at least 1");
	st = rerun("KMEMLAB_MALLOC_TOP_PAD=", "brk", buf, sizeof(buf));
	EXPECT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 33 && !buf[0])
		TH_LOG("KMEMLAB_MALLOC_TOP_PAD= (empty): taken as unset, no message");
	st = rerun("KMEMLAB_MALLOC_BACKEND=bogus", "nodev", buf, sizeof(buf));
	EXPECT_TRUE(st == 0 && strstr(buf, "KMEMLAB_MALLOC_BACKEND=bogus"))
		TH_LOG("unknown backend: refused with a message");
}

TEST(no_device)
{
	char buf[4096];
	int st;

	if (access("/dev/kmemlab", F_OK) == 0)
		SKIP(return, "/dev/kmemlab exists: no failure to observe");
	st = rerun("KMEMLAB_MALLOC_BACKEND=kmemlab", "nodev", buf, sizeof(buf));
	EXPECT_TRUE(st == 0 && !strncmp(buf, "kmemlab-malloc: /dev/kmemlab: ", 30) &&
		    strstr(buf, "; set KMEMLAB_MALLOC_BACKEND=sys\n") &&
		    strchr(buf, '\n') == buf + strlen(buf) - 1)
		TH_LOG("no device: one line \"%.*s\", malloc fails with ENOMEM",
		       (int)strcspn(buf, "\n"), buf);
}

TEST(brk_reserve)
{
	char buf[4096];
	int st;

	if (strcmp(shim_backend(), "kmemlab"))
		SKIP(return, "KMEMLAB_BRK_RESERVE is read on the kmemlab backend only");
	st = rerun("KMEMLAB_BRK_RESERVE=1T", "brk", buf, sizeof(buf));
	EXPECT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 33 &&
		    !strcmp(buf, "kml: KMEMLAB_BRK_RESERVE=1T: " KML_SIZE_WHY "; ignored\n"))
		TH_LOG("KMEMLAB_BRK_RESERVE=1T: reported once (\"%.*s\"), 1 GiB reserved",
		       (int)strcspn(buf, "\n"), buf);
}

/* The harness's main, unless re-executed for one case by rerun() */
int main(int argc, char **argv)
{
	if (argc > 1)
		return child(argv[1]);
	return test_harness_run(argc, argv);
}
