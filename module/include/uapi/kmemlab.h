/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * kmemlab's ioctl ABI on /dev/kmemlab. Every structure is made of __u32
 * and __u64 with natural alignment and no implicit padding; reserved
 * fields must be zero (else EINVAL); user pointers travel in __u64.
 * Unknown commands fail with ENOTTY.
 *
 * Kernel allocations on behalf of user space (for tests and the demo) are
 * named by handles: small numbers that are valid only on the open file
 * that made them. Closing the file frees every object and destroys every
 * cache it made. Each open file holds at most KMEMLAB_MAX_HANDLES (ENOSPC
 * past it). Objects and kmalloc blocks count against the opener's uid's
 * share of the region (module parameter user_quota_pct): ENOMEM past it.
 *
 * Heaps (brk and mmap emulation): each process that uses an open file has
 * its own heap on it. mmap() of the file with MAP_SHARED at offset 0
 * reserves the heap's brk range (once per heap, at most KMEMLAB_BRK_MAX
 * bytes); KMEMLAB_IOC_BRK then moves the break inside it. mmap() at offset
 * KMEMLAB_MMAP_CHUNK makes a new anonymous chunk; munmap() releases all or
 * part of one. Pages are taken from the region on first touch and zeroed.
 * fork() is copy-on-write: the child shares the parent's pages until either
 * side writes one, which copies that page; a copy the region cannot supply
 * gets SIGBUS. Other calls on a heap mapping:
 *   mprotect()            works (splits the VMA); PROT_WRITE needs O_RDWR
 *   mremap()              shrinking unmaps the tail; growing fails with
 *                         EFAULT, moving with EINVAL (the mapping stays)
 *   MADV_DONTNEED         drops the PTEs only: the pages stay in the heap
 *                         and read back their contents
 *   MADV_DONTFORK         the child gets no copy of the range; for the brk
 *                         reservation, no break either (it may map its own);
 *                         MADV_DOFORK cannot undo it (EINVAL on VM_IO)
 *   MADV_FREE, MADV_WIPEONFORK   EINVAL (anonymous memory only)
 *   MADV_REMOVE           ENODEV (no file system behind the device)
 *   mlock()               succeeds and locks nothing: heap pages are never
 *                         reclaimed anyway
 * Each uid's heap pages count against the module parameter user_quota_pct
 * (brk and mmap get ENOMEM when one request cannot fit, a fault SIGBUS);
 * with strict_commit, brk and mmap reserve every page they grant
 * (MAP_NORESERVE too) and get ENOMEM when the region cannot promise them.
 */
#ifndef _UAPI_KMEMLAB_H
#define _UAPI_KMEMLAB_H

#include <linux/ioctl.h>
#include <linux/types.h>

#define KMEMLAB_IOC_MAGIC	0xDE
#define KMEMLAB_MAX_HANDLES	65536
#define KMEMLAB_NAME_MAX	31	/* bytes of a cache name, without NUL */

/* Cache flags: KMEMLAB_CACHE_DEBUG_* as slub_debug=F, Z, P, U. */
#define KMEMLAB_CACHE_DEBUG_CHECKS	0x01
#define KMEMLAB_CACHE_DEBUG_REDZONE	0x02
#define KMEMLAB_CACHE_DEBUG_POISON	0x04
#define KMEMLAB_CACHE_DEBUG_OWNER	0x08
#define KMEMLAB_CACHE_HWCACHE_ALIGN	0x10

/* Object flags. */
#define KMEMLAB_OBJ_ZERO		0x01	/* __GFP_ZERO */

/*
 * name: user pointer to a NUL-terminated name of letters, digits, '-', '_'
 * and '.'. handle (out): the new cache's handle. Errors: EINVAL (bad name,
 * size, align or flags), ENAMETOOLONG, EEXIST (a cache of that name exists,
 * made by anyone), ENOSPC (the cache table is full), ENOMEM.
 */
struct kmemlab_cache_req {
	__u64 name;		/* in */
	__u32 size;		/* in: object size, 1 .. 4 MiB */
	__u32 align;		/* in: 0 or a power of two up to 4096 */
	__u32 flags;		/* in: KMEMLAB_CACHE_* */
	__u32 handle;		/* out: the cache */
	__u64 reserved[2];
};

/*
 * cache (in): a cache handle, for CACHE_ALLOC and CACHE_DESTROY.
 * size: in, the bytes to kmalloc; out, the usable size (ksize).
 * handle: out, the new object (CACHE_ALLOC, KMALLOC); in, the object to
 * free (CACHE_FREE, KFREE). Fields a command does not read must be zero.
 */
struct kmemlab_obj_req {
	__u32 cache;
	__u32 size;
	__u32 flags;		/* in: KMEMLAB_OBJ_* */
	__u32 handle;
	__u64 reserved[2];
};

/*
 * flags: KMEMLAB_BRK_SET sets the break to addr (brk(2)); KMEMLAB_BRK_ADD
 * moves it by incr bytes (sbrk(3); 0 queries). Out, also on ENOMEM: the
 * break before and after the call, and the reservation [start, limit).
 * ENOMEM: no reservation, outside it, RLIMIT_DATA, or more pages than the
 * region has free. Output fields are ignored on input; pad and reserved
 * must be zero.
 */
#define KMEMLAB_BRK_SET		0x01
#define KMEMLAB_BRK_ADD		0x02
#define KMEMLAB_BRK_MAX		0x10000000000ULL	/* 1 TiB */
#define KMEMLAB_MMAP_CHUNK	0x10000000000ULL	/* mmap offset: a new chunk */

struct kmemlab_brk {
	__u64 addr;		/* in: the new break (BRK_SET) */
	__s64 incr;		/* in: bytes to add, may be negative (BRK_ADD) */
	__u32 flags;		/* in: KMEMLAB_BRK_SET or KMEMLAB_BRK_ADD */
	__u32 pad;
	__u64 old_brk;		/* out */
	__u64 new_brk;		/* out */
	__u64 start;		/* out */
	__u64 limit;		/* out */
	__u64 reserved[2];
};

#define KMEMLAB_IOC_CACHE_CREATE  _IOWR(KMEMLAB_IOC_MAGIC, 1, struct kmemlab_cache_req)
#define KMEMLAB_IOC_CACHE_DESTROY _IOWR(KMEMLAB_IOC_MAGIC, 2, struct kmemlab_obj_req)
#define KMEMLAB_IOC_CACHE_ALLOC   _IOWR(KMEMLAB_IOC_MAGIC, 3, struct kmemlab_obj_req)
#define KMEMLAB_IOC_CACHE_FREE    _IOWR(KMEMLAB_IOC_MAGIC, 4, struct kmemlab_obj_req)
#define KMEMLAB_IOC_KMALLOC       _IOWR(KMEMLAB_IOC_MAGIC, 5, struct kmemlab_obj_req)
#define KMEMLAB_IOC_KFREE         _IOWR(KMEMLAB_IOC_MAGIC, 6, struct kmemlab_obj_req)
#define KMEMLAB_IOC_BRK           _IOWR(KMEMLAB_IOC_MAGIC, 7, struct kmemlab_brk)

#endif /* _UAPI_KMEMLAB_H */
