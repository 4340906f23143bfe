// SPDX-License-Identifier: GPL-2.0
/*
 * Heaps at scale and under races: many VMAs on one heap (the refused
 * mremap and munmap paths), many heaps beside another user's sbrk, threads
 * of one process racing on one heap, the fork snapshot under writing
 * threads, copy-on-write fork, MADV_DONTFORK on the reservation, the
 * per-user quota, and unload with a heap page held by a pipe.
 *
 * Sizes: small by default (make check); KML_SCALE=stress gives the big
 * ones (make stress); KML_VMAS, KML_VMA_TAIL, KML_HEAPS, KML_FORKS,
 * KML_RACE_ITERS and KML_COW_PAGES override one each. Times are printed
 * as "# ..." lines and never asserted.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "kselftest_harness.h"
#include "kmemlab.h"
#include "kmemlab_test.h"

/*
 * An hour per test: make stress's sizes on the debug kernel under TCG.
 * Under make check the runner's limit (settings: 20 minutes for the
 * whole program) comes first.
 */
#undef TEST_TIMEOUT_DEFAULT
#define TEST_TIMEOUT_DEFAULT 3600

#define PG 4096UL
#define PARAMS "/sys/module/kmemlab/parameters/"
#define NOBODY 65534

struct scale {
	long vmas, vma_tail, heaps, sbrk_pairs, race_iters, race_forks, forks, writers, cow_pages;
};

static bool stress(void)
{
	const char *s = getenv("KML_SCALE");

	return s && !strcmp(s, "stress");
}

static long knob(const char *env, long small, long big)
{
	const char *s = getenv(env);

	return s && *s ? atol(s) : stress() ? big : small;
}

static struct scale sizes(void)
{
	struct scale s = {
		.vmas = knob("KML_VMAS", 4000, 64000),
		.vma_tail = knob("KML_VMA_TAIL", 2000, 28000),
		.heaps = knob("KML_HEAPS", 1000, 32000),
		.sbrk_pairs = knob("KML_SBRK_PAIRS", 2000, 5000),
		.race_iters = knob("KML_RACE_ITERS", 2000, 20000),
		.race_forks = knob("KML_RACE_FORKS", 40, 400),
		.forks = knob("KML_FORKS", 200, 3000),
		.writers = knob("KML_WRITERS", 2, 3),
		.cow_pages = knob("KML_COW_PAGES", 16384, 16384),
	};
	return s;
}

/*
 * The "# ..." lines go to stdout, a pipe under the runner: line-buffered,
 * so that a test's child (the harness ends it with _exit) loses none.
 */
static void __attribute__((constructor)) line_buffered(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
}

static double now_us(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1e6 + t.tv_nsec / 1e3;
}

static int open_dev(void)
{
	return open("/dev/kmemlab", O_RDWR | O_CLOEXEC);
}

static char *map_dev(int fd, size_t len, off_t off)
{
	char *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, off);

	return p == MAP_FAILED ? NULL : p;
}

static long read_long(const char *path)
{
	FILE *f = fopen(path, "r");
	long v = -1;

	if (f) {
		if (fscanf(f, "%ld", &v) != 1)
			v = -1;
		fclose(f);
	}
	return v;
}

static int write_long(const char *path, long v)
{
	FILE *f = fopen(path, "w");
	int ok;

	if (!f)
		return -1;
	ok = fprintf(f, "%ld\n", v) > 0;
	return fclose(f) == 0 && ok ? 0 : -1;
}

/* Free pages after a drain: the baseline a test compares its end with. */
static long drained_free(void)
{
	drain();
	return stat_of("free_pages");
}

/* A delayed work gives held pages back: wait as long as a busy host may delay it. */
static void wait_held(long held0)
{
	int i;

	for (i = 0; i < 1200 && stat_of("heap_held") > held0; i++)
		usleep(100000);
}

/*
 * The debugfs "heaps" line of pid: resident pages, and the shared and cow
 * columns (after state) of the copy-on-write heap.c; false when there is
 * no line or it lacks the two columns.
 */
static bool heap_cols(pid_t pid, long *resident, long *shared, long *cow)
{
	char line[512], comm[64], state[16];
	unsigned long start, brk, kb, chunks, ckb, res, faults;
	bool found = false;
	long s, c;
	int p;
	FILE *f = fopen(KML_DEBUGFS "heaps", "r");

	while (!found && f && fgets(line, sizeof(line), f))
		if (sscanf(line, "%d %63s %lx %lx %lu %lu %lu %lu %lu %15s %ld %ld", &p, comm,
			   &start, &brk, &kb, &chunks, &ckb, &res, &faults, state, &s, &c) == 12 &&
		    p == pid) {
			found = true;
			*resident = res;
			*shared = s;
			*cow = c;
		}
	if (f)
		fclose(f);
	return found;
}

/*
 * dev_group: the group uid 65534 needs to open /dev/kmemlab. When kmemlab
 * has none, it is reloaded with dev_group=4242 (lib.sh keeps its other
 * parameters; the runner starts tests in their directory) and *reloaded
 * says to undo it.
 */
static int nobody_group(bool *reloaded)
{
	long g = read_long(PARAMS "dev_group");

	*reloaded = false;
	if (g >= 0)
		return g;
	if (system(". ./lib.sh && kml_reload dev_group=4242"))
		return -1;
	*reloaded = true;
	return 4242;
}

static void undo_group(bool reloaded)
{
	if (reloaded && system(". ./lib.sh && kml_reload dev_group=-1"))
		fprintf(stderr, "# could not reload kmemlab with dev_group=-1\n");
}

/* In a child: become uid 65534 with group gid. */
static bool become_nobody(int gid)
{
	gid_t groups[1] = { gid };

	return !setgroups(1, groups) && !setgid(NOBODY) && !setuid(NOBODY);
}

/*
 * Many VMAs on one heap: a chunk whose first vmas - 1 pages are split one
 * VMA per page by mprotect (every other one read-only, every other one
 * touched) and whose tail of vma_tail pages stays one VMA, all touched.
 * Moving the tail is refused (the old heap.c took time proportional to
 * VMAs x resident pages to undo it, 261 s at 64 000 VMAs); munmap of it
 * all closes every VMA.
 */
TEST(many_vmas)
{
	struct scale sc = sizes();
	long maxmap = read_long("/proc/sys/vm/max_map_count"), before, free_pages;
	long vmas = sc.vmas, tail = sc.vma_tail, split, total, resident, i, bad = 0;
	double t0, t_mprotect, t_mremap, t_munmap;
	char *c, *dst, *r;
	int fd;

	before = drained_free();
	/* The process has a few dozen VMAs of its own; mremap needs 5 more. */
	if (maxmap > 0 && vmas > maxmap - 200) {
		TH_LOG("vm.max_map_count %ld: %ld VMAs instead of %ld", maxmap, maxmap - 200, vmas);
		vmas = maxmap - 200;
	}
	split = vmas - 1;
	resident = (split + 1) / 2 + tail;
	free_pages = before;
	if (resident > free_pages - 512) {
		long f = (free_pages - 512) / (double)resident * 1000;

		tail = tail * f / 1000;
		split = split * f / 1000;
		vmas = split + 1;
		resident = (split + 1) / 2 + tail;
		TH_LOG("%ld free pages: %ld VMAs and a tail of %ld pages", free_pages, vmas, tail);
	}
	total = split + tail;
	fd = open_dev();
	ASSERT_LE(0, fd);
	/* More pages than the region has free: only half the split part is touched. */
	c = mmap(NULL, total * PG, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_NORESERVE, fd,
		 KMEMLAB_MMAP_CHUNK);
	ASSERT_NE(MAP_FAILED, c);
	/* Each touched page names itself in its first word. */
	for (i = 0; i < total; i++)
		if (i >= split || i % 2 == 0)
			*(long *)(c + i * PG) = i;
	t0 = now_us();
	for (i = 1; i < split; i += 2)
		ASSERT_EQ(0, mprotect(c + i * PG, PG, PROT_READ)) TH_LOG("page %ld", i);
	t_mprotect = now_us() - t0;

	/* Move the tail (one VMA of tail resident pages) elsewhere: refused. */
	dst = mmap(NULL, tail * PG, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, dst);
	t0 = now_us();
	r = mremap(c + split * PG, tail * PG, tail * PG, MREMAP_MAYMOVE | MREMAP_FIXED, dst);
	t_mremap = now_us() - t0;
	EXPECT_EQ(MAP_FAILED, r);
	EXPECT_EQ(EINVAL, errno);
	/* Growing in place is refused too (VM_DONTEXPAND). */
	EXPECT_EQ(MAP_FAILED, mremap(c + split * PG, tail * PG, (tail + 1) * PG, 0));
	munmap(dst, tail * PG);
	for (i = 0; i < total; i++)
		if ((i >= split || i % 2 == 0) && *(long *)(c + i * PG) != i)
			bad++;
	EXPECT_EQ(0, bad) TH_LOG("%ld pages lost their contents", bad);
	/* Still a working mapping: the tail takes writes. */
	c[(total - 1) * PG + 8] = 1;

	t0 = now_us();
	ASSERT_EQ(0, munmap(c, total * PG));
	t_munmap = now_us() - t0;
	close(fd);
	ksft_print_msg("many_vmas: %ld VMAs, %ld resident pages: mprotect splits %.0f ms\n",
		       vmas, resident, t_mprotect / 1000);
	ksft_print_msg("many_vmas: refused mremap of %ld pages %.3f ms, munmap %.1f ms\n",
		       tail, t_mremap / 1000, t_munmap / 1000);
	EXPECT_EQ(before, drained_free());
	EXPECT_TRUE(validate_ok());
}

/* Average us of an sbrk(+page), sbrk(-page) pair, over n pairs or 20 s. */
static double sbrk_pair_us(int fd, long n, long *done)
{
	double t0 = now_us(), t;
	long i;

	for (i = 0; i < n; i++) {
		if (!sbrk_raw(fd, PG) || !sbrk_raw(fd, -(int64_t)PG))
			return -1;
		if (i % 64 == 63 && now_us() - t0 > 20e6) {
			i++;
			break;
		}
	}
	t = now_us() - t0;
	*done = i;
	return t / i;
}

/* uid 65534 in kmemlab's dev_group, given one for the test if it has none. */
FIXTURE(nobody) {
	bool reloaded;
	int gid;
};

FIXTURE_SETUP(nobody)
{
	self->gid = nobody_group(&self->reloaded);
	ASSERT_LE(0, self->gid) TH_LOG("cannot give uid %d access to /dev/kmemlab", NOBODY);
}

FIXTURE_TEARDOWN(nobody)
{
	undo_group(self->reloaded);
}

/*
 * Many heaps of root (one per open file, each with a reservation and one
 * touched page) beside uid 65534's heap: its sbrk pair costs what it cost
 * with none (the old heap.c walked every heap on each call: 4 us became
 * 1.9 ms with 32 000). The child is forked before the heaps exist, so
 * that fork does not copy them, and measures on a heap made before
 * root's, then on one made after them.
 */
TEST_F(nobody, many_heaps)
{
	struct scale sc = sizes();
	long n = sc.heaps, i, before, touched = 0, opened = 0;
	int *fds, go[2], back[2], status, gid = self->gid;
	double *res, t0, t_open;
	struct rlimit rl;
	char **maps, x;
	pid_t pid;

	before = drained_free();
	ASSERT_EQ(0, getrlimit(RLIMIT_NOFILE, &rl));
	if (rl.rlim_max < (rlim_t)n + 64)
		rl.rlim_max = n + 64;
	rl.rlim_cur = rl.rlim_max;
	ASSERT_EQ(0, setrlimit(RLIMIT_NOFILE, &rl));
	fds = calloc(n, sizeof(*fds));
	maps = calloc(n, sizeof(*maps));
	res = mmap(NULL, PG, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(NULL, fds);
	ASSERT_NE(NULL, maps);
	ASSERT_NE(MAP_FAILED, res);
	ASSERT_EQ(0, pipe(go));
	ASSERT_EQ(0, pipe(back));
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		long done[2] = { 0, 0 };
		int fd;
		char *s;

		close(go[1]);
		close(back[0]);
		if (!become_nobody(gid))
			_exit(10);
		fd = open_dev();
		s = fd >= 0 ? map_dev(fd, 16 << 20, 0) : NULL;
		if (!s)
			_exit(11);
		res[0] = sbrk_pair_us(fd, sc.sbrk_pairs, &done[0]);
		munmap(s, 16 << 20);
		close(fd);
		if (write(back[1], "r", 1) != 1 || read(go[0], &x, 1) != 1)
			_exit(12);
		/* A heap made after root's: the last a list of all heaps would find. */
		fd = open_dev();
		s = fd >= 0 ? map_dev(fd, 16 << 20, 0) : NULL;
		if (!s)
			_exit(15);
		res[1] = sbrk_pair_us(fd, sc.sbrk_pairs, &done[1]);
		res[2] = done[0];
		res[3] = done[1];
		/* The heap still works. */
		if (!sbrk_raw(fd, PG))
			_exit(13);
		s[0] = 'n';
		_exit(s[0] == 'n' && res[0] > 0 && res[1] > 0 ? 0 : 14);
	}
	close(go[0]);
	close(back[1]);
	ASSERT_EQ(1, read(back[0], &x, 1));
	t0 = now_us();
	for (i = 0; i < n; i++) {
		fds[i] = open_dev();
		if (fds[i] < 0)
			break;
		opened++;
		maps[i] = map_dev(fds[i], PG, 0);
		if (!maps[i])
			break;
		/* One touched page each while the region has plenty. */
		if (i % 64 == 0 || stat_of("free_pages") > 2048) {
			if (!sbrk_raw(fds[i], PG))
				break;
			maps[i][0] = 1;
			touched++;
		}
	}
	t_open = now_us() - t0;
	EXPECT_EQ(n, i) TH_LOG("heap %ld: %s", i, strerror(errno));
	ASSERT_EQ(1, write(go[1], "g", 1));
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_EQ(0, status) TH_LOG("uid %d's child: status %#x", NOBODY, status);
	ksft_print_msg("many_heaps: %ld heaps of root (%ld with a touched page) made in %.0f ms\n",
		       opened, touched, t_open / 1000);
	ksft_print_msg("many_heaps: uid %d's sbrk grow+shrink pair: %.2f us (%.0f pairs) alone,\n",
		       NOBODY, res[0], res[2]);
	ksft_print_msg("many_heaps: %.2f us (%.0f pairs) beside %ld heaps\n", res[1], res[3],
		       opened);
	for (i = 0; i < opened; i++) {
		if (maps[i])
			munmap(maps[i], PG);
		close(fds[i]);
	}
	munmap(res, PG);
	free(maps);
	free(fds);
	EXPECT_EQ(before, drained_free());
	EXPECT_TRUE(validate_ok());
}

/*
 * Threads of one process racing on one heap: the break moving above a
 * fixed base, faults on the base, chunks mapped, touched and unmapped,
 * mprotect splitting the reservation and a chunk, fork, and vmsplice of
 * heap pages into a pipe (on 6.12 vmsplice of a heap page fails with
 * EFAULT: counted, not an error).
 */
#define BASE 256		/* pages always below the break */
#define SWING 64		/* the break moves in [BASE, BASE + SWING] */
#define FAULT_THREADS 2
#define FAULT_PAGES 64		/* pages [t * 64, t * 64 + 64) of fault thread t */
#define CHILD_PAGE 128		/* written by fork children only */
#define VSPLICE_FIRST 160	/* [160, 176): the vmsplice thread's */
#define MPROT_FIRST 192		/* [192, 256): the mprotect thread's */

struct race {
	int fd;
	char *s;
	long iters, forks;
	long errors, efault, spliced, forked;
	char first_error[128];
};

static void race_error(struct race *r, const char *what, long v)
{
	if (__atomic_fetch_add(&r->errors, 1, __ATOMIC_RELAXED) == 0)
		snprintf(r->first_error, sizeof(r->first_error), "%s (%ld)", what, v);
}

static __u64 xs(__u64 *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static bool page_is(const char *p, long v)
{
	const long *w = (const long *)p;
	size_t i;

	for (i = 0; i < PG / sizeof(long); i++)
		if (w[i] != v)
			return false;
	return true;
}

static void page_set(char *p, long v)
{
	long *w = (long *)p;
	size_t i;

	for (i = 0; i < PG / sizeof(long); i++)
		w[i] = v;
}

static void *brk_thread(void *arg)
{
	struct race *r = arg;
	long i, top = BASE, want, p;
	__u64 seed = 1;

	for (i = 0; i < r->iters; i++) {
		want = BASE + xs(&seed) % (SWING + 1);
		if (!sbrk_raw(r->fd, (want - top) * (int64_t)PG)) {
			race_error(r, "sbrk", want);
			break;
		}
		/* New pages read zero; then they hold one word. */
		for (p = top; p < want; p++) {
			if (*(long *)(r->s + p * PG))
				race_error(r, "fresh brk page not zero", p);
			*(long *)(r->s + p * PG) = i + 1;
		}
		top = want;
	}
	return NULL;
}

static void *fault_thread(void *arg)
{
	struct race *r = ((struct race **)arg)[0];
	long t = (long)((struct race **)arg)[1], i, vals[FAULT_PAGES] = { 0 };
	__u64 seed = t + 7;

	for (i = 0; i < r->iters; i++) {
		long pg = xs(&seed) % FAULT_PAGES;
		char *p = r->s + (t * FAULT_PAGES + pg) * PG;

		if (!page_is(p, vals[pg]))
			race_error(r, "fault page changed under its thread", pg);
		vals[pg] = i + 1;
		page_set(p, vals[pg]);
		if (i % 256 == 0)	/* PTEs dropped, pages kept (heap semantics) */
			madvise(r->s + t * FAULT_PAGES * PG, FAULT_PAGES * PG, MADV_DONTNEED);
	}
	for (i = 0; i < FAULT_PAGES; i++)
		if (!page_is(r->s + (t * FAULT_PAGES + i) * PG, vals[i]))
			race_error(r, "fault page at the end", i);
	return NULL;
}

static void *chunk_thread(void *arg)
{
	struct race *r = arg;
	__u64 seed = 99;
	long i;

	for (i = 0; i < r->iters; i++) {
		long n = xs(&seed) % 16 + 2, k = xs(&seed) % (n - 1) + 1, j;
		char *c = map_dev(r->fd, n * PG, KMEMLAB_MMAP_CHUNK);

		if (!c) {
			race_error(r, "chunk mmap", n);
			break;
		}
		for (j = 0; j < n; j++)
			*(long *)(c + j * PG) = j + i;
		/* The first k pages go, the rest must still be there. */
		if (munmap(c, k * PG))
			race_error(r, "chunk partial munmap", k);
		for (j = k; j < n; j++)
			if (*(long *)(c + j * PG) != j + i)
				race_error(r, "chunk page after partial munmap", j);
		if (munmap(c + k * PG, (n - k) * PG))
			race_error(r, "chunk munmap", n - k);
	}
	return NULL;
}

static void *mprotect_thread(void *arg)
{
	struct race *r = arg;
	char *m = r->s + MPROT_FIRST * PG, *c = map_dev(r->fd, 16 * PG, KMEMLAB_MMAP_CHUNK);
	long i, n = BASE - MPROT_FIRST;
	__u64 seed = 5;

	if (!c) {
		race_error(r, "mprotect chunk", 0);
		return NULL;
	}
	for (i = 0; i < n; i++)
		*(long *)(m + i * PG) = -i;
	for (i = 0; i < 16; i++)
		*(long *)(c + i * PG) = -i;
	for (i = 0; i < r->iters; i++) {
		long a = xs(&seed) % n, len = xs(&seed) % (n - a) + 1, j;
		int prot = xs(&seed) % 2 ? PROT_READ : PROT_READ | PROT_WRITE;

		if (mprotect(m + a * PG, len * PG, prot))
			race_error(r, "mprotect of the reservation", a);
		a = xs(&seed) % 16;
		if (mprotect(c + a * PG, PG, prot))
			race_error(r, "mprotect of a chunk", a);
		for (j = 0; j < n; j++)
			if (*(long *)(m + j * PG) != -j)
				race_error(r, "mprotect page", j);
		for (j = 0; j < 16; j++)
			if (*(long *)(c + j * PG) != -j)
				race_error(r, "mprotect chunk page", j);
	}
	mprotect(m, n * PG, PROT_READ | PROT_WRITE);
	munmap(c, 16 * PG);
	return NULL;
}

static void *fork_thread(void *arg)
{
	struct race *r = arg;
	int status;
	long i;

	for (i = 0; i < r->forks; i++) {
		pid_t pid = fork();

		if (pid < 0) {
			race_error(r, "fork", errno);
			break;
		}
		if (!pid) {
			/* The child's own heap: the base is there, writable, its own. */
			char *b = sbrk_raw(r->fd, 0);

			if (!b || b < r->s + BASE * PG || b > r->s + (BASE + SWING) * PG)
				_exit(1);
			*(long *)(r->s + CHILD_PAGE * PG) = getpid();
			_exit(*(long *)(r->s + CHILD_PAGE * PG) == getpid() ? 0 : 2);
		}
		if (waitpid(pid, &status, 0) != pid || status)
			race_error(r, "fork child status", status);
		r->forked++;
	}
	return NULL;
}

static void *vmsplice_thread(void *arg)
{
	struct race *r = arg;
	char buf[PG];
	__u64 seed = 3;
	int pfd[2];
	long i;

	if (pipe(pfd)) {
		race_error(r, "pipe", errno);
		return NULL;
	}
	for (i = 0; i < r->iters; i++) {
		/* A page of its own, or one of the moving break's. */
		bool own = xs(&seed) % 2;
		long pg = own ? VSPLICE_FIRST + xs(&seed) % 16 : BASE + xs(&seed) % SWING;
		struct iovec iov = { .iov_base = r->s + pg * PG, .iov_len = PG };
		ssize_t n;

		if (own)
			page_set(r->s + pg * PG, i);
		n = vmsplice(pfd[1], &iov, 1, 0);
		if (n < 0) {
			if (errno != EFAULT)
				race_error(r, "vmsplice", errno);
			r->efault++;
			continue;
		}
		r->spliced++;
		if (read(pfd[0], buf, n) != n)
			race_error(r, "read of the pipe", n);
		else if (own && !page_is(buf, i))
			race_error(r, "spliced page of its own", pg);
		/* The break's pages hold one word (their thread's) and zeroes. */
		else if (!own && !all(buf + 8, n - 8, 0))
			race_error(r, "spliced break page reused by someone else", pg);
	}
	close(pfd[0]);
	close(pfd[1]);
	return NULL;
}

TEST(threads_race)
{
	struct scale sc = sizes();
	struct race r = { .iters = sc.race_iters, .forks = sc.race_forks };
	void *fargs[FAULT_THREADS][2];
	pthread_t th[FAULT_THREADS + 5];
	long before, held0 = stat_of("heap_held");
	int nth = 0, i;

	before = drained_free();
	r.fd = open_dev();
	ASSERT_LE(0, r.fd);
	r.s = map_dev(r.fd, 64 << 20, 0);
	ASSERT_NE(NULL, r.s);
	ASSERT_EQ(r.s, sbrk_raw(r.fd, BASE * PG));
	ASSERT_EQ(0, pthread_create(&th[nth++], NULL, brk_thread, &r));
	for (i = 0; i < FAULT_THREADS; i++) {
		fargs[i][0] = &r;
		fargs[i][1] = (void *)(long)i;
		ASSERT_EQ(0, pthread_create(&th[nth++], NULL, fault_thread, fargs[i]));
	}
	ASSERT_EQ(0, pthread_create(&th[nth++], NULL, chunk_thread, &r));
	ASSERT_EQ(0, pthread_create(&th[nth++], NULL, mprotect_thread, &r));
	ASSERT_EQ(0, pthread_create(&th[nth++], NULL, fork_thread, &r));
	ASSERT_EQ(0, pthread_create(&th[nth++], NULL, vmsplice_thread, &r));
	for (i = 0; i < nth; i++)
		pthread_join(th[i], NULL);
	ksft_print_msg("threads_race: %d threads, %ld iterations each, %ld forks\n", nth, r.iters,
		       r.forked);
	ksft_print_msg("threads_race: %ld pages spliced, %ld vmsplice EFAULT\n", r.spliced,
		       r.efault);
	EXPECT_EQ(0, r.errors) TH_LOG("%ld errors, the first: %s", r.errors, r.first_error);
	EXPECT_TRUE(validate_ok());
	munmap(r.s, 64 << 20);
	close(r.fd);
	wait_held(held0);
	EXPECT_EQ(before, drained_free());
	EXPECT_TRUE(validate_ok());
}

/*
 * The fork snapshot under writing threads. Writer w owns page A_w at the
 * start of the heap and B_w at its end, with the generation pages between;
 * it writes seq into every word of A_w, then of B_w, ascending, then seq + 1.
 * Every state the parent ever has, read A_w then B_w, is a run of seq
 * followed by a run of seq - 1 (either may be empty). The main thread
 * writes the fork's number into every generation page before each fork.
 * A child that sees anything else saw a state the parent never had (the
 * old heap.c copied pages one by one while the writers went on: 1291 of
 * 3000 children).
 */
#define GEN_PAGES 256
#define WORDS (PG / sizeof(long))

struct snap {
	char *s;
	long writers, stop, seqs;
};

struct writer {
	struct snap *sn;
	long w;
};

static void *snap_writer(void *arg)
{
	struct writer *wr = arg;
	struct snap *sn = wr->sn;
	long *a = (long *)(sn->s + wr->w * PG);
	long *b = (long *)(sn->s + (sn->writers + GEN_PAGES + wr->w) * PG);
	long seq = 0;
	size_t i;

	while (!__atomic_load_n(&sn->stop, __ATOMIC_RELAXED)) {
		seq++;
		/* One store per word, in order (x86 keeps stores in order). */
		for (i = 0; i < WORDS; i++)
			__atomic_store_n(&a[i], seq, __ATOMIC_RELAXED);
		for (i = 0; i < WORDS; i++)
			__atomic_store_n(&b[i], seq, __ATOMIC_RELAXED);
	}
	__atomic_fetch_add(&sn->seqs, seq, __ATOMIC_RELAXED);
	return NULL;
}

/* In the child: 0 if the heap is a state the parent had, else what is wrong. */
static int snap_check(struct snap *sn, long gen)
{
	long w, i;

	for (i = 0; i < GEN_PAGES; i++)
		if (*(long *)(sn->s + (sn->writers + i) * PG) != gen)
			return 1;
	for (w = 0; w < sn->writers; w++) {
		long *a = (long *)(sn->s + w * PG);
		long *b = (long *)(sn->s + (sn->writers + GEN_PAGES + w) * PG);
		long first = a[0], prev = first, v;

		for (i = 0; i < 2 * (long)WORDS; i++) {
			v = i < (long)WORDS ? a[i] : b[i - WORDS];
			if (v > prev || v < first - 1)
				return 2;
			prev = v;
		}
	}
	return 0;
}

TEST(fork_snapshot)
{
	struct scale sc = sizes();
	long n = sc.forks, k, bad = 0, before, pages;
	struct writer wr[16];
	pthread_t th[16];
	struct snap sn;
	double t0;
	int fd, status;

	sn.writers = sc.writers < 16 ? sc.writers : 16;
	sn.stop = 0;
	sn.seqs = 0;
	pages = 2 * sn.writers + GEN_PAGES;
	before = drained_free();
	fd = open_dev();
	ASSERT_LE(0, fd);
	sn.s = map_dev(fd, 16 << 20, 0);
	ASSERT_NE(NULL, sn.s);
	ASSERT_EQ(sn.s, sbrk_raw(fd, pages * PG));
	memset(sn.s, 0, pages * PG);
	for (k = 0; k < sn.writers; k++) {
		wr[k].sn = &sn;
		wr[k].w = k;
		ASSERT_EQ(0, pthread_create(&th[k], NULL, snap_writer, &wr[k]));
	}
	t0 = now_us();
	for (k = 1; k <= n; k++) {
		long i;
		pid_t pid;

		for (i = 0; i < GEN_PAGES; i++)
			*(long *)(sn.s + (sn.writers + i) * PG) = k;
		pid = fork();
		if (pid < 0)
			break;
		if (!pid)
			_exit(snap_check(&sn, k));
		if (waitpid(pid, &status, 0) != pid)
			break;
		if (status) {
			if (bad < 5)
				TH_LOG("fork %ld: child status %#x (%s)", k, status,
				       status == 1 << 8 ? "generation" :
				       status == 2 << 8 ? "a writer's pages torn" : "killed");
			bad++;
		}
	}
	__atomic_store_n(&sn.stop, 1, __ATOMIC_RELAXED);
	for (k = 0; k < sn.writers; k++)
		pthread_join(th[k], NULL);
	ksft_print_msg("fork_snapshot: %ld forks of a %ld-page heap under %ld writers in %.0f ms\n",
		       n, pages, sn.writers, (now_us() - t0) / 1000);
	ksft_print_msg("fork_snapshot: %ld rounds written; %ld children saw a state never had\n",
		       sn.seqs, bad);
	EXPECT_EQ(0, bad);
	munmap(sn.s, 16 << 20);
	close(fd);
	EXPECT_EQ(before, drained_free());
	EXPECT_TRUE(validate_ok());
}

/*
 * Copy-on-write fork of a 64 MiB resident heap (less on a smaller region):
 * nothing copied at fork, every page shared while the child lives, one
 * write copies one page, and neither side sees the other's writes.
 */
TEST(cow)
{
	struct scale sc = sizes();
	long before, n = sc.cow_pages, copies0, shared0, fork0, i, res, shared, cow;
	int fd, to_child[2], to_parent[2], status;
	double t0, t_fork;
	bool cols;
	char x, *p;
	pid_t pid;

	before = drained_free();
	if (n > before * 3 / 4) {
		TH_LOG("%ld free pages: a heap of %ld pages instead of %ld", before, before * 3 / 4,
		       n);
		n = before * 3 / 4;
	}
	fd = open_dev();
	ASSERT_LE(0, fd);
	p = map_dev(fd, 1UL << 30, 0);
	ASSERT_NE(NULL, p);
	ASSERT_EQ(p, sbrk_raw(fd, n * PG));
	for (i = 0; i < n; i++)
		*(long *)(p + i * PG) = i;
	copies0 = stat_of("heap_cow_copies");
	shared0 = stat_of("heap_shared_pages");
	fork0 = stat_of("heap_fork_pages");
	ASSERT_EQ(0, pipe(to_child));
	ASSERT_EQ(0, pipe(to_parent));
	t0 = now_us();
	pid = fork();
	if (!pid) {
		long j;

		close(to_child[1]);
		close(to_parent[0]);
		/* Step 1: one write, one copy (the parent counts it). */
		if (read(to_child[0], &x, 1) != 1)
			_exit(10);
		p[100] = 'c';
		if (write(to_parent[1], "w", 1) != 1 || read(to_child[0], &x, 1) != 1)
			_exit(11);
		/* Step 2: the parent wrote page 1 and page 0: not seen here. */
		if (p[PG + 100] || p[200] || p[100] != 'c')
			_exit(12);
		for (j = 0; j < n; j++)
			if (*(long *)(p + j * PG) != j)
				_exit(13);
		_exit(0);
	}
	t_fork = now_us() - t0;
	ASSERT_LT(0, pid);
	close(to_child[0]);
	close(to_parent[1]);
	ksft_print_msg("cow: fork of a heap of %ld resident pages: %.0f us\n", n, t_fork);
	ksft_print_msg("cow: pages copied at fork: %ld (heap_fork_pages +%ld)\n",
		       copies0 >= 0 ? stat_of("heap_cow_copies") - copies0 :
		       stat_of("heap_fork_pages") - fork0, stat_of("heap_fork_pages") - fork0);
	ASSERT_LE(0, copies0) TH_LOG("no heap_cow_copies in debugfs stats: no copy-on-write fork");
	EXPECT_EQ(copies0, stat_of("heap_cow_copies"));
	EXPECT_LE(shared0 + n, stat_of("heap_shared_pages"));
	EXPECT_LE(fork0 + n, stat_of("heap_fork_pages"));
	/* heaps: every page of ours shared, none copied. */
	cols = heap_cols(getpid(), &res, &shared, &cow);
	EXPECT_TRUE(cols) TH_LOG("no heaps line with shared and cow columns");
	if (cols) {
		EXPECT_EQ(n, res);
		EXPECT_LE(n, shared);
		EXPECT_EQ(0, cow);
	}
	/* The child writes one byte: exactly one page copied. */
	ASSERT_EQ(1, write(to_child[1], "1", 1));
	ASSERT_EQ(1, read(to_parent[0], &x, 1));
	EXPECT_EQ(copies0 + 1, stat_of("heap_cow_copies"));
	/* The child's line (its pid is known once it has called in). */
	cols = heap_cols(pid, &res, &shared, &cow);
	EXPECT_TRUE(cols) TH_LOG("no heaps line for the child after its write");
	if (cols) {
		EXPECT_LE(n - 1, shared);
		EXPECT_EQ(1, cow);
	}
	/* The parent writes a page still shared: one more copy, its own. */
	p[PG + 100] = 'p';
	EXPECT_EQ(copies0 + 2, stat_of("heap_cow_copies"));
	if (heap_cols(getpid(), &res, &shared, &cow))
		EXPECT_EQ(1, cow);
	p[200] = 'p';
	ASSERT_EQ(1, write(to_child[1], "2", 1));
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_EQ(0, status) TH_LOG("child status %#x", status);
	/* Reads in the child copied nothing. */
	EXPECT_EQ(copies0 + 2, stat_of("heap_cow_copies"));
	EXPECT_EQ(0, p[100]);
	EXPECT_EQ('p', p[PG + 100]);
	EXPECT_EQ(shared0, stat_of("heap_shared_pages"));
	for (i = 0; i < n; i++)
		if (*(long *)(p + i * PG) != i)
			break;
	EXPECT_EQ(n, i);
	munmap(p, 1UL << 30);
	close(fd);
	EXPECT_EQ(before, drained_free());
	EXPECT_TRUE(validate_ok());
}

/*
 * MADV_DONTFORK on the reservation: the child has a chunk of the heap but
 * no reservation. Its brk fails with ENOMEM and it may make its own at
 * offset 0 (the old heap.c gave it the parent's bounds: EBUSY forever).
 */
TEST(dontfork)
{
	int fd, status;
	char *s, *c;
	pid_t pid;

	fd = open_dev();
	ASSERT_LE(0, fd);
	s = map_dev(fd, 16 << 20, 0);
	ASSERT_NE(NULL, s);
	ASSERT_EQ(s, sbrk_raw(fd, 4 * PG));
	memset(s, 'r', 4 * PG);
	c = map_dev(fd, 4 * PG, KMEMLAB_MMAP_CHUNK);
	ASSERT_NE(NULL, c);
	memset(c, 'k', 4 * PG);
	if (!have_madvise())
		SKIP(return, "no madvise(2) in this kernel (CONFIG_ADVISE_SYSCALLS=n)");
	ASSERT_EQ(0, madvise(s, 16 << 20, MADV_DONTFORK));
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		struct kmemlab_brk r;
		char *n;

		if (!all(c, 4 * PG, 'k'))
			_exit(1);
		if (brk_req(fd, KMEMLAB_BRK_ADD, 0, PG, &r) != -ENOMEM)
			_exit(2);
		n = map_dev(fd, 1 << 20, 0);
		if (!n)
			_exit(errno == EBUSY ? 3 : 4);
		if (sbrk_raw(fd, 2 * PG) != n || !all(n, 2 * PG, 0))
			_exit(5);
		memset(n, 'n', 2 * PG);
		_exit(all(n, 2 * PG, 'n') ? 0 : 6);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_TRUE(WIFEXITED(status));
	/* 2: brk did not fail with ENOMEM, 3: mmap at offset 0 got EBUSY. */
	EXPECT_EQ(0, WEXITSTATUS(status)) TH_LOG("the child's step %d failed", WEXITSTATUS(status));
	/* The parent's heap is untouched. */
	EXPECT_TRUE(all(s, 4 * PG, 'r'));
	EXPECT_EQ(s + 4 * PG, sbrk_raw(fd, PG));
	s[4 * PG] = 1;
	munmap(s, 16 << 20);
	munmap(c, 4 * PG);
	close(fd);
}

/*
 * The per-user quota: uid 65534 fills its quota (brk or mmap refused with
 * ENOMEM, or SIGBUS on a fault) while root's heap keeps working, and
 * debugfs users shows it at its limit.
 */
FIXTURE(quota) {
	long pct;
	bool reloaded;
	int gid;
};

FIXTURE_SETUP(quota)
{
	/* A failed setup has no teardown: nothing to undo before this. */
	self->pct = read_long(PARAMS "user_quota_pct");
	ASSERT_LE(0, self->pct) TH_LOG("no parameter user_quota_pct");
	self->gid = nobody_group(&self->reloaded);
	ASSERT_LE(0, self->gid);
}

FIXTURE_TEARDOWN(quota)
{
	if (self->pct >= 0 && write_long(PARAMS "user_quota_pct", self->pct))
		TH_LOG("could not restore user_quota_pct=%ld", self->pct);
	undo_group(self->reloaded);
}

static sigjmp_buf bus_jmp;

static void on_sigbus(int sig)
{
	siglongjmp(bus_jmp, 1);
}

/* The users line of uid: charged and limit in kB, refused; false when absent. */
static bool user_line(int uid, long *charged, long *limit, long *refused)
{
	char line[256];
	long u, h, c, l, r;
	bool found = false;
	FILE *f = fopen(KML_DEBUGFS "users", "r");

	while (!found && f && fgets(line, sizeof(line), f))
		if (sscanf(line, "%ld %ld %ld %ld %ld", &u, &h, &c, &l, &r) == 5 && u == uid) {
			found = true;
			*charged = c, *limit = l, *refused = r;
		}
	if (f)
		fclose(f);
	return found;
}

TEST_F(quota, one_user_fills_its_quota)
{
	long region = stat_of("region_pages"), before, pct, refused0, ch = 0, lim = 0, ref = 0;
	int fd, to_child[2], to_parent[2], status;
	long *out;
	char x, *s, *c;
	pid_t pid;

	/* About 1024 pages of quota whatever the region size. */
	pct = 1024 * 100 / region + 1;
	before = drained_free();
	ASSERT_EQ(0, write_long(PARAMS "user_quota_pct", pct));
	refused0 = stat_of("user_refused");
	/* Root's heap, granted and touched before the other user fills up. */
	fd = open_dev();
	ASSERT_LE(0, fd);
	s = map_dev(fd, 64 << 20, 0);
	ASSERT_NE(NULL, s);
	ASSERT_EQ(s, sbrk_raw(fd, 64 * PG));
	memset(s, 'r', 64 * PG);
	out = mmap(NULL, PG, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, out);
	ASSERT_EQ(0, pipe(to_child));
	ASSERT_EQ(0, pipe(to_parent));
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		int cfd;
		char *cs;

		close(to_child[1]);
		close(to_parent[0]);
		if (!become_nobody(self->gid))
			_exit(10);
		cfd = open_dev();
		cs = cfd >= 0 ? map_dev(cfd, 1UL << 30, 0) : NULL;
		if (!cs)
			_exit(11);
		signal(SIGBUS, on_sigbus);
		/* The count is in out[0]: it survives the longjmp. */
		if (sigsetjmp(bus_jmp, 1)) {
			out[1] = SIGBUS;	/* a fault over the quota */
		} else {
			for (;;) {
				char *b = sbrk_raw(cfd, 16 * PG);

				if (!b) {
					out[1] = ENOMEM;
					break;
				}
				memset(b, 'u', 16 * PG);
				out[0] += 16;
				if (out[0] > region)
					_exit(12);
			}
		}
		/* A chunk is refused as well now. */
		out[2] = mmap(NULL, 64 * PG, PROT_READ | PROT_WRITE, MAP_SHARED, cfd,
			      KMEMLAB_MMAP_CHUNK) == MAP_FAILED ? errno : 0;
		if (write(to_parent[1], "f", 1) != 1 || read(to_child[0], &x, 1) != 1)
			_exit(13);
		_exit(0);
	}
	close(to_child[0]);
	close(to_parent[1]);
	ASSERT_EQ(1, read(to_parent[0], &x, 1));
	ksft_print_msg("quota: user_quota_pct=%ld of %ld pages: uid %d touched %ld, then %s\n",
		       pct, region, NOBODY, out[0],
		       out[1] == SIGBUS ? "SIGBUS on a fault" : "brk failed with ENOMEM");
	/* Root keeps working: its pages, a bigger break, new faults, a chunk. */
	EXPECT_TRUE(all(s, 64 * PG, 'r'));
	EXPECT_EQ(s + 64 * PG, sbrk_raw(fd, 256 * PG));
	memset(s + 64 * PG, 'R', 256 * PG);
	EXPECT_TRUE(all(s + 64 * PG, 256 * PG, 'R'));
	c = map_dev(fd, 64 * PG, KMEMLAB_MMAP_CHUNK);
	EXPECT_NE(NULL, c);
	if (c)
		memset(c, 'R', 64 * PG);
	if (out[1] == ENOMEM)
		EXPECT_EQ(ENOMEM, out[2]);
	EXPECT_LT(refused0, stat_of("user_refused"));
	ASSERT_TRUE(user_line(NOBODY, &ch, &lim, &ref)) TH_LOG("no users line for %d", NOBODY);
	ksft_print_msg("quota: users: uid %d charged %ld kB of %ld kB, %ld refused\n", NOBODY, ch,
		       lim, ref);
	/* region * pct / 100 pages, give or take one. */
	EXPECT_GE(4, labs(region * pct / 100 * 4 - lim));
	EXPECT_LE(ch, lim);
	/* At the limit: the next 16-page request did not fit. */
	EXPECT_LT(lim - 16 * 4, ch);
	EXPECT_LT(0, ref);
	ASSERT_EQ(1, write(to_child[1], "x", 1));
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_EQ(0, status);
	if (c)
		munmap(c, 64 * PG);
	munmap(s, 64 << 20);
	close(fd);
	munmap(out, PG);
	EXPECT_EQ(before, drained_free());
	EXPECT_TRUE(validate_ok());
}

/*
 * Unload while a pipe holds a heap page (vmsplice, 6.1 only: 6.12 refuses
 * to pin heap pages): rmmod works, the page keeps its contents for the
 * pipe and Linux frees it at the last reference; the module loads again
 * with every page free.
 */
TEST(unload_with_held_page)
{
	struct iovec iov = { .iov_len = PG };
	int fd, pfd[2];
	char buf[PG];
	long held0;
	char *s;

	held0 = stat_of("heap_held");
	fd = open_dev();
	ASSERT_LE(0, fd);
	s = map_dev(fd, 16 * PG, 0);
	ASSERT_NE(NULL, s);
	ASSERT_EQ(s, sbrk_raw(fd, 2 * PG));
	memset(s, 'v', 2 * PG);
	ASSERT_EQ(0, pipe(pfd));
	iov.iov_base = s;
	if (vmsplice(pfd[1], &iov, 1, 0) < 0) {
		EXPECT_EQ(EFAULT, errno);
		munmap(s, 16 * PG);
		close(fd);
		SKIP(return, "vmsplice cannot pin a heap page on this kernel");
	}
	munmap(s, 16 * PG);
	close(fd);
	EXPECT_EQ(held0 + 1, stat_of("heap_held"));
	ASSERT_EQ(0, system(". ./lib.sh && kml_reload"));
	ASSERT_EQ(0, system("dmesg | grep -e 'kmemlab: unloaded' -e referenced | sed 's/^/# /'"));
	ASSERT_EQ(PG, read(pfd[0], buf, PG));
	EXPECT_TRUE(all(buf, PG, 'v'));
	close(pfd[0]);
	close(pfd[1]);
	EXPECT_EQ(0, stat_of("heap_held"));
	EXPECT_EQ(stat_of("baseline_free_pages"), drained_free());
	EXPECT_TRUE(validate_ok());
}

TEST_HARNESS_MAIN
