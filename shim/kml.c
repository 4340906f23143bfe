// SPDX-License-Identifier: GPL-2.0
/*
 * kml.c - brk, sbrk, mmap and munmap over /dev/kmemlab (see kml.h).
 *
 * The first call opens the device and reserves the heap's brk range with
 * one MAP_SHARED mapping at offset 0 (KMEMLAB_BRK_RESERVE bytes of address
 * space, 1 GiB unless the environment says otherwise; nothing is allocated
 * until touched). Every break move is one KMEMLAB_IOC_BRK: the kernel holds
 * the break, so threads and a forked child (whose heap the kernel copies)
 * agree with it without any state here. A chunk is one mmap at offset
 * KMEMLAB_MMAP_CHUNK; munmap is the real munmap(2).
 *
 * Only system calls are used: open, ioctl, mmap, munmap; no function that
 * could allocate, so that a malloc can be built on top.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>
#include "kmemlab.h"
#include "kml.h"
#include "kmlsize.h"

#define DEFAULT_RESERVE	0x40000000UL	/* 1 GiB */
#define HIGH_FD		512

static pthread_mutex_t init_lock = PTHREAD_MUTEX_INITIALIZER;
static int kml_fd = -1;
static int init_err;		/* the first failure's errno, once tried */

/*
 * KMEMLAB_BRK_RESERVE: a size (kmlsize.h), at most 1 TiB (more is cut to
 * that). Unset, empty or 0: 1 GiB; a bad value is reported and ignored.
 */
static unsigned long reserve_size(void)
{
	const char *s = getenv("KMEMLAB_BRK_RESERVE");
	size_t v = 0;

	if (s && *s && kml_parse_size(s, &v)) {
		kml_size_complain("kml", "KMEMLAB_BRK_RESERVE", s, KML_SIZE_WHY);
		v = 0;
	}
	if (v > KMEMLAB_BRK_MAX)
		v = KMEMLAB_BRK_MAX;
	v &= ~((size_t)sysconf(_SC_PAGESIZE) - 1);
	return v ? v : DEFAULT_RESERVE;
}

int kml_heap_init(void)
{
	int fd, high, err = 0;
	void *p;

	if (__atomic_load_n(&kml_fd, __ATOMIC_ACQUIRE) >= 0)
		return 0;
	pthread_mutex_lock(&init_lock);
	if (kml_fd >= 0 || init_err) {
		err = init_err;
		goto out;
	}
	fd = open("/dev/kmemlab", O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		err = errno;
		goto fail;
	}
	/* Out of the way of programs that dup2() onto the low numbers. */
	high = fcntl(fd, F_DUPFD_CLOEXEC, HIGH_FD);
	if (high >= 0) {
		close(fd);
		fd = high;
	}
	p = mmap(NULL, reserve_size(), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_NORESERVE,
		 fd, 0);
	if (p == MAP_FAILED) {
		err = errno;
		close(fd);
		goto fail;
	}
	__atomic_store_n(&kml_fd, fd, __ATOMIC_RELEASE);
	goto out;
fail:
	init_err = err;
out:
	pthread_mutex_unlock(&init_lock);
	return err;
}

static int brk_call(struct kmemlab_brk *req)
{
	if (kml_heap_init())
		return -1;
	return ioctl(kml_fd, KMEMLAB_IOC_BRK, req);
}

int kml_brk(void *addr)
{
	struct kmemlab_brk req = { .addr = (unsigned long)addr, .flags = KMEMLAB_BRK_SET };

	if (brk_call(&req)) {
		errno = ENOMEM;
		return -1;
	}
	return 0;
}

void *kml_sbrk(intptr_t increment)
{
	struct kmemlab_brk req = { .incr = increment, .flags = KMEMLAB_BRK_ADD };

	if (brk_call(&req)) {
		errno = ENOMEM;
		return (void *)-1;
	}
	return (void *)(unsigned long)req.old_brk;
}

void *kml_mmap(void *addr, size_t length, int prot, int flags, int fd, off_t offset)
{
	const int extra = MAP_FIXED | MAP_FIXED_NOREPLACE | MAP_NORESERVE;

	if ((flags & (MAP_PRIVATE | MAP_ANONYMOUS)) != (MAP_PRIVATE | MAP_ANONYMOUS) ||
	    (flags & ~(MAP_PRIVATE | MAP_ANONYMOUS | extra)) || fd != -1 || offset) {
		errno = EINVAL;
		return MAP_FAILED;
	}
	if (kml_heap_init()) {
		errno = ENOMEM;
		return MAP_FAILED;
	}
	return mmap(addr, length, prot, MAP_SHARED | (flags & extra), kml_fd,
		    (off_t)KMEMLAB_MMAP_CHUNK);
}

int kml_munmap(void *addr, size_t length)
{
	return munmap(addr, length);
}
