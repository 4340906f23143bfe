// SPDX-License-Identifier: GPL-2.0
/*
 * Stands in for kml.c until it exists, so that
 * libkmemlab-malloc links on the host. Every call fails with ENODEV, as if
 * there were no /dev/kmemlab; host tests use KMEMLAB_MALLOC_BACKEND=sys.
 * The Makefile builds kml.c instead as soon as it is there.
 */
#include <errno.h>
#include <sys/mman.h>

#include "kml.h"

int kml_brk(void *addr)
{
	(void)addr;
	errno = ENODEV;
	return -1;
}

void *kml_sbrk(intptr_t increment)
{
	(void)increment;
	errno = ENODEV;
	return (void *)-1;
}

void *kml_mmap(void *addr, size_t length, int prot, int flags, int fd, off_t offset)
{
	(void)addr;
	(void)length;
	(void)prot;
	(void)flags;
	(void)fd;
	(void)offset;
	errno = ENODEV;
	return MAP_FAILED;
}

int kml_munmap(void *addr, size_t length)
{
	(void)addr;
	(void)length;
	errno = ENODEV;
	return -1;
}
