// SPDX-License-Identifier: GPL-2.0
/*
 * The two memory backends of libkmemlab-malloc.
 *
 * "sys" moves the real program break with the raw brk system call (the
 * kernel returns the new break on success and the old one on failure) and
 * maps with mmap(2); "kmemlab" goes through kml.h. Nothing here allocates,
 * since it runs underneath malloc.
 */
#include "os.h"
#include "backend.h"
#include "kml.h"

void kmm_puts(const char *s)
{
	kml_puts(s);
}

/*
 * Writes v in decimal, right-aligned in width columns, into buf (at least
 * 24 + width bytes) and returns buf.
 */
char *kmm_fmt_u(char *buf, unsigned long v, int width)
{
	char tmp[24];
	int n = 0, i = 0;

	do {
		tmp[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	while (width-- > n)
		buf[i++] = ' ';
	while (n)
		buf[i++] = tmp[--n];
	buf[i] = '\0';
	return buf;
}

static void *sys_sbrk(intptr_t increment)
{
	uintptr_t cur = (uintptr_t)syscall(SYS_brk, 0);
	uintptr_t want = cur + (uintptr_t)increment;

	if (increment == 0)
		return (void *)cur;
	if ((increment > 0 && want < cur) || (increment < 0 && want > cur)) {
		errno = ENOMEM;
		return (void *)-1;
	}
	if ((uintptr_t)syscall(SYS_brk, want) != want) {
		errno = ENOMEM;
		return (void *)-1;
	}
	return (void *)cur;
}

static void *sys_mmap(void *addr, size_t length, int prot, int flags, int fd, off_t offset)
{
	return mmap(addr, length, prot, flags, fd, offset);
}

static int sys_munmap(void *addr, size_t length)
{
	return munmap(addr, length);
}

static const struct kmm_backend backend_sys = {
	.name = "sys",
	.sbrk = sys_sbrk,
	.mmap = sys_mmap,
	.munmap = sys_munmap,
};

static const struct kmm_backend backend_kmemlab = {
	.name = "kmemlab",
	.sbrk = kml_sbrk,
	.mmap = kml_mmap,
	.munmap = kml_munmap,
};

const struct kmm_backend *kmm_backend_select(void)
{
	const char *want = kmm_getenv("KMEMLAB_MALLOC_BACKEND");
	const char *why;
	int saved = errno, err;

	if (want && strcmp(want, "sys") == 0)
		return &backend_sys;
	if (want && *want && strcmp(want, "kmemlab") != 0) {
		kmm_puts("kmemlab-malloc: KMEMLAB_MALLOC_BACKEND=");
		kmm_puts(want);
		kmm_puts(": unknown backend (kmemlab or sys)\n");
		return NULL;
	}
	/* Opens the device and reserves the heap; 0 or why not. */
	err = kml_heap_init();
	if (!err) {
		errno = saved;
		return &backend_kmemlab;
	}
	why = strerrordesc_np(err);
	kmm_puts("kmemlab-malloc: /dev/kmemlab: ");
	kmm_puts(why ? why : "cannot be initialised");
	kmm_puts("; set KMEMLAB_MALLOC_BACKEND=sys\n");
	errno = saved;
	return NULL;
}
