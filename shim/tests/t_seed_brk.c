// SPDX-License-Identifier: GPL-2.0
/*
 * The seed experiment: malloc(1) on a fresh heap moves the break by 132 KiB
 * (128 KiB top pad + the 32-byte chunk, page-rounded) and returns the
 * heap start + 16, past the chunk header. Nothing may allocate first: the
 * harness parent this test is forked from never does (shim_test.h).
 */
#include "shim_test.h"

TEST(seed_brk)
{
	uintptr_t before = cur_brk(), after;
	char *p = malloc(1);

	after = cur_brk();
	EXPECT_TRUE(after - before == 135168)
		TH_LOG("the break moved by %lu bytes (132 KiB = 135168)",
		       (unsigned long)(after - before));
	EXPECT_TRUE((uintptr_t)p == before + 16)
		TH_LOG("malloc(1) = heap start + 16 (%p, start %#lx)", (void *)p,
		       (unsigned long)before);
	EXPECT_TRUE(chunk_word(p) == (32 | 1))
		TH_LOG("its header says 32 bytes, previous in use (%#zx)", chunk_word(p));
}

TEST_HARNESS_MAIN
