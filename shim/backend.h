/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Where libkmemlab-malloc gets its memory from.
 *
 * The allocator never calls brk or mmap itself: it calls through one
 * table, chosen once at first use from KMEMLAB_MALLOC_BACKEND:
 *
 *   kmemlab (default)  kml_sbrk, kml_mmap, kml_munmap over /dev/kmemlab
 *   sys                brk(2) by syscall(SYS_brk), mmap(2), munmap(2)
 *
 * Every entry has the semantics of the system call it is named after.
 */
#ifndef KML_MALLOC_BACKEND_H
#define KML_MALLOC_BACKEND_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct kmm_backend {
	const char *name;
	void *(*sbrk)(intptr_t increment);
	void *(*mmap)(void *addr, size_t length, int prot, int flags, int fd, off_t offset);
	int (*munmap)(void *addr, size_t length);
};

/*
 * Picks the backend named by KMEMLAB_MALLOC_BACKEND and probes it. Returns
 * NULL after printing one line on stderr when it cannot be used.
 */
const struct kmm_backend *kmm_backend_select(void);

/* Small write(2)-based printing that never allocates. */
void kmm_puts(const char *s);
char *kmm_fmt_u(char *buf, unsigned long v, int width);

#endif /* KML_MALLOC_BACKEND_H */
