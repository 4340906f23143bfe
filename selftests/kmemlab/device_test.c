// SPDX-License-Identifier: GPL-2.0
/*
 * /dev/kmemlab's handle ABI: life of caches and objects, isolation between
 * open files, cleanup at close, every validation, and a fuzzer.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
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

TEST_HARNESS_MAIN
