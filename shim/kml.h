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
 *                  MAP_PRIVATE | MAP_ANONYMOUS (MAP_FIXED and
 *                  MAP_NORESERVE allowed), fd -1, offset 0; anything else
 *                  fails with EINVAL. Returns MAP_FAILED with errno on error.
 * kml_munmap(a, l) unmaps [a, a + l), also part of a chunk, as munmap(2).
 *
 * The device is opened (O_CLOEXEC) and the heap's address range reserved
 * on first use. Pages are allocated on first touch and zeroed. After
 * fork() the child has its own copy of the heap. The functions call no
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

int kml_brk(void *addr);
void *kml_sbrk(intptr_t increment);
void *kml_mmap(void *addr, size_t length, int prot, int flags, int fd, off_t offset);
int kml_munmap(void *addr, size_t length);

#ifdef __cplusplus
}
#endif

#endif /* KML_H */
