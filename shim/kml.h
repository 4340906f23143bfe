/* SPDX-License-Identifier: GPL-2.0 */
/*
 * kml.h - brk(2), sbrk(3), mmap(2) and munmap(2) over /dev/kmemlab.
 *
 * The same signatures and errno behaviour as the real calls, for a
 * process-private heap served from kmemlab's region:
 *
 * kml_brk(addr)    sets the break; 0, or -1 with errno ENOMEM.
 * kml_sbrk(incr)   moves the break by incr and returns the old break;
 *                  kml_sbrk(0) returns the current break; on failure
 *                  (void *)-1 with errno ENOMEM.
 * kml_mmap(...)    anonymous private mappings only: flags must hold
 *                  MAP_PRIVATE | MAP_ANONYMOUS (MAP_FIXED,
 *                  MAP_FIXED_NOREPLACE and MAP_NORESERVE allowed), fd -1, offset 0; anything else
 *                  fails with EINVAL. Returns MAP_FAILED with errno on error.
 * kml_munmap(a, l) unmaps [a, a + l), also part of a chunk, as munmap(2).
 *
 * kml_heap_init() opens the device (O_CLOEXEC) and reserves the heap's
 * address range (KMEMLAB_BRK_RESERVE bytes, e.g. 512M or 2G; default 1G);
 * the other functions call it on first use. It returns 0, or the errno
 * that made the device unusable (ENOENT: module not loaded; EACCES), for
 * messages: the calls themselves fail with ENOMEM then, as brk and sbrk.
 *
 * Pages are allocated on first touch and zeroed. After fork() the child
 * has its own copy of the heap. Touching the heap above the break gets
 * SIGSEGV; a page the region cannot supply gets SIGBUS. The functions call no
 * libc function that allocates memory, so a malloc can sit on them.
 */
#ifndef KML_H
#define KML_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Exported by libkmemlab-malloc.so too, which is built -fvisibility=hidden. */
#define KML_PUBLIC __attribute__((visibility("default")))

KML_PUBLIC int kml_heap_init(void);
KML_PUBLIC int kml_brk(void *addr);
KML_PUBLIC void *kml_sbrk(intptr_t increment);
KML_PUBLIC void *kml_mmap(void *addr, size_t length, int prot, int flags, int fd, off_t offset);
KML_PUBLIC int kml_munmap(void *addr, size_t length);

#ifdef __cplusplus
}
#endif

#endif /* KML_H */
