// SPDX-License-Identifier: GPL-2.0
/*
 * The seed experiment: malloc(1) on a fresh heap moves the break by 132 KiB
 * (128 KiB top pad + the 32-byte chunk, page-rounded) and returns the
 * heap start + 16, past the chunk header. Nothing may allocate first.
 */
#include "tap.h"

int main(void)
{
	uintptr_t before = cur_brk(), after;
	char *p = malloc(1);

	after = cur_brk();
	tap_start("seed: malloc(1) on a fresh heap");
	ok(after - before == 135168, "the break moved by %lu bytes (132 KiB = 135168)",
	   (unsigned long)(after - before));
	ok((uintptr_t)p == before + 16, "malloc(1) = heap start + 16 (%p, start %#lx)", (void *)p,
	   (unsigned long)before);
	ok(chunk_word(p) == (32 | 1), "its header says 32 bytes, previous in use (%#zx)",
	   chunk_word(p));
	return tap_done();
}
