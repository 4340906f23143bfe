// SPDX-License-Identifier: GPL-2.0
/*
 * The seed experiment: on a fresh heap malloc(128 KiB) is served by mmap,
 * not the break, and free() unmaps it at once.
 */
#include "tap.h"

int main(void)
{
	uintptr_t before = cur_brk(), after, after_free;
	char *p = malloc(128 * 1024);
	int mapped;

	after = cur_brk();
	memset(p, 1, 128 * 1024);
	mapped = page_mapped(p) && page_mapped(p + 128 * 1024 - 1);
	free(p);
	after_free = cur_brk();
	tap_start("seed: malloc(128 KiB) is mmapped");
	ok(after == before, "the break did not move (%#lx -> %#lx)", (unsigned long)before,
	   (unsigned long)after);
	ok(mapped && ((uintptr_t)p & 4095) == 16, "the block is mapped, 16 bytes into a page (%p)",
	   (void *)p);
	ok(!page_mapped(p) && !page_mapped(p + 128 * 1024 - 1),
	   "after free() its pages are unmapped (mincore: ENOMEM)");
	ok(after_free == before, "the break still did not move");
	return tap_done();
}
