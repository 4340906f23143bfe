// SPDX-License-Identifier: GPL-2.0
/*
 * The shim's kml_brk, kml_sbrk, kml_mmap and kml_munmap (shim/kml.c) on
 * /dev/kmemlab: the semantics and errno of brk(2), sbrk(3), mmap(2) and
 * munmap(2). heap_test.c tests the device's raw ABI underneath.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include "kselftest_harness.h"
#include "kml.h"
#include "kmemlab_test.h"
#define PG 4096UL

/* The shim: the calls' own semantics and errno. */
TEST(shim_brk_sbrk_mmap_munmap)
{
	char *b0, *b1, *m;

	ASSERT_EQ(0, kml_heap_init());
	b0 = kml_sbrk(0);
	ASSERT_NE((void *)-1, b0);
	EXPECT_EQ(b0, kml_sbrk(100));
	b1 = kml_sbrk(0);
	EXPECT_EQ(b0 + 100, b1);
	memset(b0, 1, 100);
	EXPECT_EQ(0, kml_brk(b0 + 3 * PG));
	EXPECT_EQ(b0 + 3 * PG, kml_sbrk(0));
	errno = 0;
	EXPECT_EQ(-1, kml_brk(b0 - PG));
	EXPECT_EQ(ENOMEM, errno);
	errno = 0;
	EXPECT_EQ((void *)-1, kml_sbrk(INTPTR_MIN));
	EXPECT_EQ(ENOMEM, errno);
	EXPECT_EQ(0, kml_brk(b0));

	m = kml_mmap(NULL, 5 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, m);
	EXPECT_TRUE(all(m, 5 * PG, 0));
	memset(m, 2, 5 * PG);
	EXPECT_EQ(0, kml_munmap(m + PG, PG));
	EXPECT_EQ(0, kml_munmap(m, 5 * PG));
	/* Anything but an anonymous private mapping is EINVAL. */
	errno = 0;
	EXPECT_EQ(MAP_FAILED, kml_mmap(NULL, PG, PROT_READ, MAP_SHARED | MAP_ANONYMOUS, -1, 0));
	EXPECT_EQ(EINVAL, errno);
	errno = 0;
	EXPECT_EQ(MAP_FAILED, kml_mmap(NULL, PG, PROT_READ, MAP_PRIVATE, 0, 0));
	EXPECT_EQ(EINVAL, errno);
	errno = 0;
	EXPECT_EQ(MAP_FAILED, kml_mmap(NULL, PG, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, PG));
	EXPECT_EQ(EINVAL, errno);
	errno = 0;
	EXPECT_EQ(MAP_FAILED, kml_mmap(NULL, 0, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
	EXPECT_EQ(EINVAL, errno);
	errno = 0;
	EXPECT_EQ(-1, kml_munmap(m + 1, PG));
	EXPECT_EQ(EINVAL, errno);
}

TEST_HARNESS_MAIN
