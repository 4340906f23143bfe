// SPDX-License-Identifier: GPL-2.0
/*
 * /dev/kmemlab's handle ABI: life of caches and objects, isolation between
 * open files, cleanup at close, every validation, and a fuzzer; what a
 * file costs charged to the opener's memory cgroup, and its objects to the
 * opener's uid (user_quota_pct, debugfs users).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include "kselftest_harness.h"
#include "kmemlab.h"
#include "kmemlab_test.h"

static int create(int fd, const char *name, unsigned int size, unsigned int flags)
{
	struct kmemlab_cache_req r = { .name = (uintptr_t)name, .size = size, .flags = flags };

	return ioctl(fd, KMEMLAB_IOC_CACHE_CREATE, &r) ? -errno : (int)r.handle;
}

static int obj(int fd, unsigned long cmd, unsigned int cache, unsigned int handle,
	       unsigned int size)
{
	struct kmemlab_obj_req r = { .cache = cache, .handle = handle, .size = size };
	bool makes = cmd == KMEMLAB_IOC_CACHE_ALLOC || cmd == KMEMLAB_IOC_KMALLOC;

	/* -errno; else the new handle, or 0 for a command that makes none */
	return ioctl(fd, cmd, &r) ? -errno : makes ? (int)r.handle : 0;
}

FIXTURE(dev) {
	int fd;
};

FIXTURE_SETUP(dev)
{
	self->fd = open("/dev/kmemlab", O_RDWR);
	ASSERT_LE(0, self->fd);
}

FIXTURE_TEARDOWN(dev)
{
	close(self->fd);
}

TEST_F(dev, cache_and_objects_live_and_die)
{
	int c = create(self->fd, "ioc-life", 100, 0), o[50], i;

	ASSERT_LT(0, c);
	EXPECT_EQ(0, slab_active("ioc-life"));
	for (i = 0; i < 50; i++) {
		o[i] = obj(self->fd, KMEMLAB_IOC_CACHE_ALLOC, c, 0, 0);
		ASSERT_LT(0, o[i]);
	}
	EXPECT_LE(50, slab_active("ioc-life"));	/* magazines count as active */
	EXPECT_EQ(-EBUSY, obj(self->fd, KMEMLAB_IOC_CACHE_DESTROY, c, 0, 0));
	for (i = 0; i < 50; i++)
		ASSERT_EQ(0, obj(self->fd, KMEMLAB_IOC_CACHE_FREE, 0, o[i], 0));
	EXPECT_EQ(-ENOENT, obj(self->fd, KMEMLAB_IOC_CACHE_FREE, 0, o[0], 0));
	EXPECT_EQ(0, obj(self->fd, KMEMLAB_IOC_CACHE_DESTROY, c, 0, 0));
	EXPECT_EQ(-1, slab_active("ioc-life"));
}

TEST_F(dev, kmalloc_by_handle)
{
	struct kmemlab_obj_req r = { .size = 100, .flags = KMEMLAB_OBJ_ZERO };

	ASSERT_EQ(0, ioctl(self->fd, KMEMLAB_IOC_KMALLOC, &r));
	EXPECT_EQ(128, r.size);				/* ksize: kmalloc-128 */
	EXPECT_EQ(-EINVAL, obj(self->fd, KMEMLAB_IOC_CACHE_FREE, 0, r.handle, 0));
	EXPECT_EQ(0, obj(self->fd, KMEMLAB_IOC_KFREE, 0, r.handle, 0));
	EXPECT_EQ(-EINVAL, obj(self->fd, KMEMLAB_IOC_KMALLOC, 0, 0, 0));
	EXPECT_EQ(-EINVAL, obj(self->fd, KMEMLAB_IOC_KMALLOC, 0, 0, (4 << 20) + 1));
	r = (struct kmemlab_obj_req){ .size = 3 << 20 };	/* a whole 4 MiB block */
	ASSERT_EQ(0, ioctl(self->fd, KMEMLAB_IOC_KMALLOC, &r));
	EXPECT_EQ(4 << 20, r.size);
}

TEST_F(dev, handles_belong_to_their_file)
{
	int other = open("/dev/kmemlab", O_RDWR);
	int c = create(self->fd, "ioc-own", 64, 0), o;

	ASSERT_LE(0, other);
	ASSERT_LT(0, c);
	o = obj(self->fd, KMEMLAB_IOC_CACHE_ALLOC, c, 0, 0);
	ASSERT_LT(0, o);
	EXPECT_EQ(-ENOENT, obj(other, KMEMLAB_IOC_CACHE_FREE, 0, o, 0));
	EXPECT_EQ(-ENOENT, obj(other, KMEMLAB_IOC_CACHE_ALLOC, c, 0, 0));
	EXPECT_EQ(-ENOENT, obj(other, KMEMLAB_IOC_CACHE_DESTROY, c, 0, 0));
	/* A name is taken for every file. */
	EXPECT_EQ(-EEXIST, create(other, "ioc-own", 64, 0));
	close(other);
	EXPECT_EQ(0, obj(self->fd, KMEMLAB_IOC_CACHE_FREE, 0, o, 0));
}

TEST(close_frees_everything)
{
	long before = stat_of("free_pages");
	int fd = open("/dev/kmemlab", O_RDWR), c, i;
	FILE *f;

	ASSERT_LE(0, fd);
	c = create(fd, "ioc-close", 2000, 0);
	ASSERT_LT(0, c);
	for (i = 0; i < 3000; i++) {
		int h = i % 2 ? obj(fd, KMEMLAB_IOC_CACHE_ALLOC, c, 0, 0) :
			obj(fd, KMEMLAB_IOC_KMALLOC, 0, 0, 500);

		ASSERT_LT(0, h);
	}
	EXPECT_LT(stat_of("free_pages"), before - 500);
	close(fd);
	EXPECT_EQ(-1, slab_active("ioc-close"));
	f = fopen(KML_DEBUGFS "drain", "w");
	ASSERT_NE(NULL, f);
	fputs("1", f);
	fclose(f);
	EXPECT_EQ(stat_of("baseline_free_pages"), stat_of("free_pages"));
}

TEST_F(dev, bad_requests_fail_cleanly)
{
	struct kmemlab_cache_req r = { .name = (uintptr_t)"ioc-bad", .size = 64 };
	char longname[64];

	EXPECT_EQ(-ENOTTY, ioctl(self->fd, _IO(KMEMLAB_IOC_MAGIC, 99), 0) ? -errno : 0);
	EXPECT_EQ(-ENOTTY, ioctl(self->fd, 0x1234, 0) ? -errno : 0);
	EXPECT_EQ(-EFAULT, ioctl(self->fd, KMEMLAB_IOC_CACHE_CREATE, NULL) ? -errno : 0);
	EXPECT_EQ(-EFAULT, ioctl(self->fd, KMEMLAB_IOC_KMALLOC, (void *)-4096L) ? -errno : 0);
	r.reserved[1] = 1;
	EXPECT_EQ(-EINVAL, ioctl(self->fd, KMEMLAB_IOC_CACHE_CREATE, &r) ? -errno : 0);
	r.reserved[1] = 0;
	r.name = 0;
	EXPECT_EQ(-EFAULT, ioctl(self->fd, KMEMLAB_IOC_CACHE_CREATE, &r) ? -errno : 0);
	r.name = 0xffffffff80000000ull;			/* a kernel address */
	EXPECT_EQ(-EFAULT, ioctl(self->fd, KMEMLAB_IOC_CACHE_CREATE, &r) ? -errno : 0);
	memset(longname, 'a', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = 0;
	EXPECT_EQ(-ENAMETOOLONG, create(self->fd, longname, 64, 0));
	EXPECT_EQ(-EINVAL, create(self->fd, "", 64, 0));
	EXPECT_EQ(-EINVAL, create(self->fd, "a/b", 64, 0));
	EXPECT_EQ(-EINVAL, create(self->fd, "ioc-bad", 0, 0));
	EXPECT_EQ(-EINVAL, create(self->fd, "ioc-bad", 64, 0x100));
	r.name = (uintptr_t)"ioc-bad";
	r.align = 3;
	EXPECT_EQ(-EINVAL, ioctl(self->fd, KMEMLAB_IOC_CACHE_CREATE, &r) ? -errno : 0);
	EXPECT_EQ(-EEXIST, create(self->fd, "kmalloc-64", 64, 0));	/* taken */
	EXPECT_EQ(-ENOENT, obj(self->fd, KMEMLAB_IOC_CACHE_ALLOC, 12345, 0, 0));
	EXPECT_EQ(-ENOENT, obj(self->fd, KMEMLAB_IOC_KFREE, 0, 0, 0));
	EXPECT_EQ(-EINVAL, create(self->fd, "..", 64, 0));
	/* Fields a command does not read must be zero. */
	EXPECT_EQ(-EINVAL, obj(self->fd, KMEMLAB_IOC_KMALLOC, 1, 0, 64));
	EXPECT_EQ(-EINVAL, obj(self->fd, KMEMLAB_IOC_CACHE_ALLOC, 1, 0, 64));
	EXPECT_EQ(-EINVAL, obj(self->fd, KMEMLAB_IOC_KFREE, 1, 1, 0));
	EXPECT_EQ(-1, slab_active("ioc-bad"));
}

/* Random commands, sizes, handles and pointers; nothing may break. */
TEST(fuzz_100000_calls)
{
	static const unsigned long cmds[] = {
		KMEMLAB_IOC_CACHE_CREATE, KMEMLAB_IOC_CACHE_DESTROY, KMEMLAB_IOC_CACHE_ALLOC,
		KMEMLAB_IOC_CACHE_FREE, KMEMLAB_IOC_KMALLOC, KMEMLAB_IOC_KFREE,
		_IOWR(KMEMLAB_IOC_MAGIC, 7, struct kmemlab_obj_req), 0xc0de0001,
	};
	void *unmapped = mmap(NULL, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	int fds[2] = { open("/dev/kmemlab", O_RDWR), open("/dev/kmemlab", O_RDWR) };
	unsigned long calls, ok = 0;
	char names[4][16];
	FILE *f;

	ASSERT_LE(0, fds[0]);
	ASSERT_LE(0, fds[1]);
	srandom(7);
	for (calls = 0; calls < 4; calls++)
		snprintf(names[calls], sizeof(names[0]), "fz%lu", calls);
	for (calls = 0; calls < 100000; calls++) {
		union {
			struct kmemlab_cache_req c;
			struct kmemlab_obj_req o;
			__u32 w[16];
		} u;
		void *arg = &u;
		unsigned int i, r = random();

		for (i = 0; i < 16; i++)
			u.w[i] = random() % 4 ? random() % 64 : random();
		/* About half the calls are well-formed, so that state builds up. */
		if (r % 2) {
			unsigned long cmd = cmds[(r >> 1) % 8];
			__u32 small = random() % 64;

			memset(&u, 0, sizeof(u));
			if (cmd == KMEMLAB_IOC_CACHE_CREATE) {
				u.c.name = (uintptr_t)names[random() % 4];
				u.c.size = 1 + random() % 5000;
				u.c.align = random() % 3 ? 0 : 1u << (random() % 13);
				u.c.flags = random() % 0x20;
			} else if (cmd == KMEMLAB_IOC_KMALLOC) {
				u.o.size = 1 + random() % 9000;
				u.o.flags = random() % 2;
			} else if (cmd == KMEMLAB_IOC_CACHE_ALLOC) {
				u.o.cache = small;
				u.o.flags = random() % 2;
			} else if (cmd == KMEMLAB_IOC_CACHE_DESTROY) {
				u.o.cache = small;
			} else {
				u.o.handle = small;
			}
		}
		switch (r % 41) {
		case 0:
			arg = NULL;
			break;
		case 1:
			arg = unmapped;
			break;
		case 2:
			arg = (void *)0xffffffff81000000ul;	/* kernel */
			break;
		case 3:
			arg = (char *)&u + 1;			/* misaligned */
			break;
		case 4:
			arg = (void *)-1L;
			break;
		}
		if (!ioctl(fds[(r >> 4) & 1], cmds[(r >> 1) % 8], arg))
			ok++;
	}
	ksft_print_msg("%lu of 100000 calls succeeded\n", ok);
	close(fds[0]);
	close(fds[1]);
	f = fopen(KML_DEBUGFS "drain", "w");
	ASSERT_NE(NULL, f);
	fputs("1", f);
	fclose(f);
	EXPECT_LT(100, ok);
	EXPECT_EQ(stat_of("baseline_free_pages"), stat_of("free_pages"));
	for (calls = 0; calls < 4; calls++)
		EXPECT_EQ(-1, slab_active(names[calls]));
}

/* A whole small file (sysfs, cgroupfs) into buf; its length, or -errno. */
static int read_file(const char *path, char *buf, size_t size)
{
	int fd = open(path, O_RDONLY), n;

	if (fd < 0)
		return -errno;
	n = read(fd, buf, size - 1);
	if (n < 0)
		n = -errno;
	else
		buf[n] = 0;
	close(fd);
	return n;
}

/* One write of s to path: 0 or -errno (a refused parameter value). */
static int write_file(const char *path, const char *s)
{
	int fd = open(path, O_WRONLY), err = 0;

	if (fd < 0)
		return -errno;
	if (write(fd, s, strlen(s)) < 0)
		err = -errno;
	close(fd);
	return err;
}

/* The number in a file of one number (memory.current), or -1. */
static long long number_in(const char *path)
{
	char buf[64];

	return read_file(path, buf, sizeof(buf)) > 0 ? atoll(buf) : -1;
}

#define PARAMS "/sys/module/kmemlab/parameters/"

/* debugfs users' line of uid: false when it has none. limit is "-" or kB. */
struct user_line {
	long heaps, charged_kb, refused;
	char limit[32];
};

static bool user_line(unsigned long uid, struct user_line *u)
{
	FILE *f = fopen(KML_DEBUGFS "users", "r");
	char line[256];
	unsigned long id;
	bool found = false;

	if (!f)
		return false;
	if (!fgets(line, sizeof(line), f) ||
	    strcmp(line, "uid heaps charged_kB limit_kB refused\n"))
		goto out;
	while (!found && fgets(line, sizeof(line), f))
		found = sscanf(line, "%lu %ld %ld %31s %ld", &id, &u->heaps, &u->charged_kb,
			       u->limit, &u->refused) == 5 && id == uid;
out:
	fclose(f);
	return found;
}

/* MemAvailable of /proc/meminfo in kB. */
static long mem_available_kb(void)
{
	return number_after("/proc/meminfo", "MemAvailable:");
}

/*
 * A child that makes handles, stops at the first failure, reports through
 * shared memory and holds everything until the parent lets it go (or the
 * teardown does, after a failed assertion).
 */
struct stop {
	long handles, files;
	int err;
	char call[16];
	int ready;		/* the child is done and holds everything */
};

struct held {
	struct stop *st;	/* shared with the child */
	int go[2];		/* closing go[1] lets the child exit */
	pid_t pid;
};

FIXTURE(child) {
	struct held h;
	bool mounted;		/* cgroup2, by this test */
	bool reloaded;		/* kmemlab, with dev_group */
};

FIXTURE_SETUP(child)
{
	struct held *h = &self->h;

	h->st = mmap(NULL, sizeof(*h->st), PROT_READ | PROT_WRITE,
		     MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, h->st);
	memset(h->st, 0, sizeof(*h->st));
	ASSERT_EQ(0, pipe(h->go));
	h->pid = -1;
}

/*
 * The parent's side: 0 once the child is ready, or its wait status when it
 * died instead. Polled: a pipe write could need a page the child's cgroup
 * no longer has.
 */
static int wait_for_child(struct held *h)
{
	int status;

	close(h->go[0]);
	while (!__atomic_load_n(&h->st->ready, __ATOMIC_ACQUIRE)) {
		if (waitpid(h->pid, &status, WNOHANG) == h->pid) {
			h->pid = -1;
			return status ? status : -1;
		}
		usleep(10000);
	}
	return 0;
}

/* Lets the child exit; its wait status. */
static int release_child(struct held *h)
{
	int status = -1;

	if (h->pid > 0) {
		close(h->go[1]);
		h->go[1] = -1;
		if (waitpid(h->pid, &status, 0) != h->pid)
			status = -1;
		h->pid = -1;
	}
	return status;
}

/* The child's side, first: only the parent may hold go's write end. */
static void child_start(struct held *h)
{
	close(h->go[1]);
}

/* The child's side, last: tells the parent, waits for its word, exits. */
static void hold_until_told(struct held *h)
{
	char c;

	__atomic_store_n(&h->st->ready, 1, __ATOMIC_RELEASE);
	_exit(read(h->go[0], &c, 1) < 0 ? 3 : 0);
}

#define CG_ROOT		"/sys/fs/cgroup"
#define CG		CG_ROOT "/kmemlab-device-test"
#define CG_FILES	64
#define CG_PER_FILE	16384	/* handles; at most 1 Mi in all */
#define QUOTA_GROUP	"4242"

FIXTURE_TEARDOWN(child)
{
	release_child(&self->h);
	if (!access(CG, F_OK)) {
		write_file(CG "/memory.max", "max");
		rmdir(CG);
	}
	if (self->mounted)
		umount(CG_ROOT);
	if (self->reloaded) {
		write_file(PARAMS "user_quota_pct", "50");
		write_file(PARAMS "quota_root", "0");
		if (system(". ./lib.sh && kml_reload dev_group=-1"))
			TH_LOG("cannot reload kmemlab with dev_group=-1");
	}
	munmap(self->h.st, sizeof(*self->h.st));
}

/*
 * The child in the memory cgroup: it opens /dev/kmemlab many times and
 * kmallocs 8 bytes per handle until a call fails. Its pages are made
 * private and resident first, so that no page fault of its own meets the
 * full cgroup: mlockall faults in every page of its writable mappings for
 * writing (copy-on-write broken), the 128 KiB of stack that exec set up
 * included. oom_score_adj -1000 keeps the cgroup's OOM killer off it: the
 * failure comes back as an errno.
 */
static void memcg_child(struct held *h)
{
	struct rlimit rl = { 4096, 4096 };	/* more files than CG_FILES */
	struct stop *st = h->st;
	char pid[32];
	int f, i;

	child_start(h);
	snprintf(pid, sizeof(pid), "%d", getpid());
	if (setrlimit(RLIMIT_NOFILE, &rl) || mlockall(MCL_CURRENT) ||
	    write_file("/proc/self/oom_score_adj", "-1000") ||
	    write_file(CG "/cgroup.procs", pid))
		_exit(2);
	for (f = 0; f < CG_FILES && !st->err; f++) {
		int fd = open("/dev/kmemlab", O_RDWR);

		if (fd < 0) {
			st->err = errno;
			strcpy(st->call, "open");
			break;
		}
		st->files++;
		for (i = 0; i < CG_PER_FILE; i++) {
			struct kmemlab_obj_req r = { .size = 8 };

			if (ioctl(fd, KMEMLAB_IOC_KMALLOC, &r)) {
				st->err = errno;
				strcpy(st->call, "kmalloc");
				break;
			}
			st->handles++;
		}
	}
	hold_until_told(h);
}

/* The count after "key " in the cgroup's memory.events, or -1. */
static long long event(const char *key)
{
	char buf[512], *p;
	size_t n = strlen(key);

	if (read_file(CG "/memory.events", buf, sizeof(buf)) <= 0)
		return -1;
	for (p = buf; p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
		if (!strncmp(p, key, n) && p[n] == ' ')
			return atoll(p + n + 1);
	return -1;
}

/*
 * What a file and its handles cost Linux is charged to the opener's memory
 * cgroup: a child in a cgroup with memory.max 16M stops with ENOMEM at that
 * limit, long before the machine or the region run short, and everything
 * comes back when it exits. cgroup2 is mounted here when the guest has not.
 */
TEST_F(child, memcg_limits_handles)
{
	long long cur, max, left = -1;
	struct stop *st = self->h.st;
	char buf[512];
	long before;
	int tries;

	if (access(CG_ROOT "/cgroup.controllers", F_OK)) {
		if (read_file("/proc/filesystems", buf, sizeof(buf)) <= 0 ||
		    !strstr(buf, "\tcgroup2\n"))
			SKIP(return, "the kernel has no cgroup2 (CONFIG_CGROUPS)");
		if (mount("none", CG_ROOT, "cgroup2", 0, NULL))
			SKIP(return, "cannot mount cgroup2 on " CG_ROOT ": %s", strerror(errno));
		self->mounted = true;
	}
	if (read_file(CG_ROOT "/cgroup.controllers", buf, sizeof(buf)) <= 0 ||
	    !strstr(buf, "memory"))
		SKIP(return, "no memory controller in cgroup2 (CONFIG_MEMCG?)");
	rmdir(CG);	/* left by an earlier run */
	ASSERT_EQ(0, write_file(CG_ROOT "/cgroup.subtree_control", "+memory"));
	ASSERT_EQ(0, mkdir(CG, 0755));
	ASSERT_EQ(0, write_file(CG "/memory.max", "16M"));
	max = number_in(CG "/memory.max");
	ASSERT_EQ(16 << 20, max);
	drain();
	before = stat_of("free_pages");

	self->h.pid = fork();
	ASSERT_LE(0, self->h.pid);
	if (!self->h.pid)
		memcg_child(&self->h);
	ASSERT_EQ(0, wait_for_child(&self->h));
	cur = number_in(CG "/memory.current");
	TH_LOG("%ld handles on %ld files under memory.max 16M, then %s: %s",
	       st->handles, st->files, st->call, strerror(st->err));
	TH_LOG("memory.current %lld, memory.events max %lld oom %lld",
	       cur, event("max"), event("oom"));
	EXPECT_EQ(ENOMEM, st->err);
	EXPECT_LT(0, event("max"));		/* the cgroup said no ... */
	EXPECT_LE(max - (1 << 20), cur);	/* ... at its limit ... */
	EXPECT_LT(256 << 10, mem_available_kb());	/* ... not the machine */
	EXPECT_LT(before / 2, stat_of("free_pages"));	/* nor the region */
	/* Room again, so that nothing the child's exit needs is refused. */
	EXPECT_EQ(0, write_file(CG "/memory.max", "max"));
	EXPECT_EQ(0, release_child(&self->h));
	/* The cgroup gets its charges back (some of them after RCU). */
	for (tries = 0; tries < 100; tries++) {
		left = number_in(CG "/memory.current");
		if (left < 1 << 20)
			break;
		usleep(100000);
	}
	TH_LOG("memory.current %lld after the child exited", left);
	EXPECT_GT(1 << 20, left);
	EXPECT_EQ(0, rmdir(CG));
	drain();
	EXPECT_EQ(before, stat_of("free_pages"));
}

/* uid 65534, in QUOTA_GROUP, kmallocs 4 KiB blocks until a call fails. */
static void quota_child(struct held *h)
{
	gid_t groups[1] = { atoi(QUOTA_GROUP) };
	struct stop *st = h->st;
	int fd;

	child_start(h);
	if (setgroups(1, groups) || setgid(65534) || setuid(65534))
		_exit(2);
	fd = open("/dev/kmemlab", O_RDWR);
	if (fd < 0) {
		st->err = errno;
		strcpy(st->call, "open");
	}
	while (fd >= 0 && !st->err && st->handles < 100000) {
		struct kmemlab_obj_req r = { .size = 4096 };

		if (ioctl(fd, KMEMLAB_IOC_KMALLOC, &r)) {
			st->err = errno;
			strcpy(st->call, "kmalloc");
		} else {
			st->handles++;
		}
	}
	hold_until_told(h);
}

/*
 * uid 65534 kmallocs 4 KiB blocks under user_quota_pct=1 until ENOMEM:
 * debugfs users shows its charge at the limit and the refusal, root is
 * exempt (unless quota_root), and closing uncharges everything. kmemlab
 * is reloaded with dev_group (lib.sh's kml_reload, as heap_test's
 * dev_group) so that the uid can open the device, and restored after.
 */
TEST_F(child, user_quota)
{
	struct kmemlab_obj_req r;
	struct stop *st = self->h.st;
	long limit_kb, refused;
	struct user_line u;
	char pct[16];
	int fd;

	ASSERT_LT(0, read_file(PARAMS "user_quota_pct", pct, sizeof(pct)));
	ASSERT_STREQ("50\n", pct);	/* the default, which the teardown restores */
	self->reloaded = true;
	ASSERT_EQ(0, system(". ./lib.sh && kml_reload dev_group=" QUOTA_GROUP));
	EXPECT_EQ(-EINVAL, write_file(PARAMS "user_quota_pct", "101"));
	EXPECT_EQ(-EINVAL, write_file(PARAMS "user_quota_pct", "-1"));
	ASSERT_EQ(0, write_file(PARAMS "user_quota_pct", "1"));
	limit_kb = stat_of("region_pages") / 100 * 4;	/* 1% of the pages, 4 kB each */
	refused = stat_of("user_refused");

	self->h.pid = fork();
	ASSERT_LE(0, self->h.pid);
	if (!self->h.pid)
		quota_child(&self->h);
	ASSERT_EQ(0, wait_for_child(&self->h));
	TH_LOG("uid 65534: %ld blocks of 4 KiB, then %s: %s (quota %ld kB)",
	       st->handles, st->call, strerror(st->err), limit_kb);
	EXPECT_EQ(ENOMEM, st->err);
	EXPECT_STREQ("kmalloc", st->call);
	ASSERT_TRUE(user_line(65534, &u));
	EXPECT_EQ(limit_kb, atol(u.limit));
	EXPECT_EQ(st->handles * 4, u.charged_kb);
	EXPECT_LT(limit_kb - 4, u.charged_kb);		/* at the limit */
	EXPECT_EQ(1, u.refused);
	EXPECT_EQ(refused + 1, stat_of("user_refused"));

	/* Root is exempt: 1 MiB is beyond the quota. */
	fd = open("/dev/kmemlab", O_RDWR);
	ASSERT_LE(0, fd);
	r = (struct kmemlab_obj_req){ .size = 1 << 20 };
	EXPECT_EQ(0, ioctl(fd, KMEMLAB_IOC_KMALLOC, &r));
	ASSERT_TRUE(user_line(0, &u));
	EXPECT_STREQ("-", u.limit);
	EXPECT_EQ(1024, u.charged_kb);
	/* ... unless quota_root. */
	EXPECT_EQ(0, write_file(PARAMS "quota_root", "1"));
	r = (struct kmemlab_obj_req){ .size = 1 << 20 };
	EXPECT_EQ(-ENOMEM, ioctl(fd, KMEMLAB_IOC_KMALLOC, &r) ? -errno : 0);
	ASSERT_TRUE(user_line(0, &u));
	EXPECT_EQ(limit_kb, atol(u.limit));
	EXPECT_EQ(1, u.refused);
	EXPECT_EQ(refused + 2, stat_of("user_refused"));
	EXPECT_EQ(0, write_file(PARAMS "quota_root", "0"));
	/* No quota at all with 0. */
	EXPECT_EQ(0, write_file(PARAMS "user_quota_pct", "0"));
	ASSERT_TRUE(user_line(65534, &u));
	EXPECT_STREQ("-", u.limit);

	/* Closing uncharges: an account goes with its last file. */
	EXPECT_EQ(0, release_child(&self->h));
	EXPECT_FALSE(user_line(65534, &u));
	close(fd);
	EXPECT_FALSE(user_line(0, &u));
}

TEST_HARNESS_MAIN
