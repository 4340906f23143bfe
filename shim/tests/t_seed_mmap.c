// SPDX-License-Identifier: GPL-2.0
/*
 * The seed experiment: on a fresh heap malloc(128 KiB) is served by mmap,
 * not the break, and free() unmaps it at once.
 */
#include "shim_test.h"

TEST(seed_mmap)
{
	uintptr_t before = cur_brk(), after, after_free;
	char *p = malloc(128 * 1024);
	int mapped;

	after = cur_brk();
	memset(p, 1, 128 * 1024);
	mapped = page_mapped(p) && page_mapped(p + 128 * 1024 - 1);
	free(p);
	after_free = cur_brk();
	EXPECT_TRUE(after == before)
		TH_LOG("the break did not move (%#lx -> %#lx)", (unsigned long)before,
		       (unsigned long)after);
	EXPECT_TRUE(mapped && ((uintptr_t)p & 4095) == 16)
		TH_LOG("the block is mapped, 16 bytes into a page (%p)", (void *)p);
	EXPECT_TRUE(!page_mapped(p) && !page_mapped(p + 128 * 1024 - 1))
		TH_LOG("after free() its pages are unmapped (mincore: ENOMEM)");
	EXPECT_TRUE(after_free == before)
		TH_LOG("the break still did not move");
}

TEST_HARNESS_MAIN
