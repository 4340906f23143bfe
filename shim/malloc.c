// SPDX-License-Identifier: GPL-2.0
/*
 * libkmemlab-malloc: a malloc in the design of glibc's ptmalloc,
 * written from scratch for kmemlab. It gets memory through a backend table
 * (backend.h): /dev/kmemlab (kml_sbrk, kml_mmap, kml_munmap) or the real
 * brk(2) and mmap(2); every other call outside goes through os.h. The code
 * is in malloc/, one part per concern, included below in dependency order
 * (see README.md).
 *
 * Theory
 * ------
 * Chunks. Every block is a chunk whose 16-byte header sits right before
 * the user pointer:
 *
 *   chunk -> prev_size   size of the previous chunk, valid only while that
 *                        chunk is free (otherwise its user data)
 *            size        chunk size (a multiple of 16, at least 32) | flags:
 *                        PREV_INUSE (1) the previous chunk is in use,
 *                        IS_MMAPPED (2) a chunk of its own mapping,
 *                        NON_MAIN_ARENA (4) it belongs to a non-main arena
 *   mem   -> user data   (fd, bk while free); 16-byte aligned
 *
 * A chunk holding n bytes is max(32, round16(n + 8)) long: the in-use
 * chunk lends the next chunk's prev_size word to its user. A free chunk
 * repeats its size in the next chunk's prev_size (the boundary tag), and
 * the next chunk's PREV_INUSE bit tells whether a chunk is in use, so
 * free() finds and merges both neighbours in O(1).
 *
 * Bins. Per thread, a tcache: 64 singly linked LIFO lists of chunk sizes
 * 32..1040, at most 7 entries each, touched without any lock. Per arena:
 * 10 fast bins (LIFO, sizes 32..176, used up to max_fast, 128 by default;
 * their chunks still look in use and are merged only by consolidation),
 * the unsorted bin (bins[1]: every freed or split-off chunk lands here
 * first, and gets one chance to be reused before it is sorted), 62 small
 * bins of one size each (32..1008) and 63 large bins of size ranges, each
 * kept sorted by size, largest first, so that a search is best fit; the
 * first chunk of every size in a large bin is also on a second ring
 * (fd_nextsize, bk_nextsize) of distinct sizes, so that insertion and
 * search skip runs of equal sizes. The top chunk borders the end of the
 * arena's memory and is never in a bin.
 * Fast bin and tcache links are "safe-linked" (stored XOR the address of
 * the link >> 12) so that a stray write rarely goes unnoticed.
 *
 * malloc(n) tries, in order: the tcache bin; the exact fast bin (refilling
 * the tcache from it); the exact small bin (same); for a large request,
 * consolidation of the fast bins; the unsorted bin, oldest first, taking an
 * exact fit and, for a small request, splitting the last remainder when it
 * is alone there, sorting everything else into its bin; the request's large
 * bin, best fit; the next non-empty larger bin (binmap); the top chunk;
 * consolidation and another round if fast chunks exist; then the system:
 * requests of at least mmap_threshold get their own mapping, everything
 * else grows the top chunk (sbrk for the main arena, heap growth for the
 * others). A split remainder goes to the unsorted bin and, for small
 * requests, becomes the last remainder, so that runs of small requests
 * are served from one place.
 *
 * realloc(p, n) shrinks in place, grows into the top or a free next chunk,
 * or else moves; a chunk beyond tcache sizes that moves within its thread's
 * arena gets 1/32 more than asked (glibc gives none), so that buffers grown
 * step by step are not copied at every step.
 *
 * free(p) puts a tcache-sized chunk in the tcache while its bin has room,
 * a fast chunk in its fast bin, and merges anything else with free
 * neighbours into the unsorted bin or the top. Freeing 64 KiB or more
 * consolidates the fast bins and trims the top when more than
 * trim_threshold is free there (sbrk with a negative increment for the
 * main arena, tail remapping or heap removal for the others). An mmapped
 * chunk is unmapped at once, and raises mmap_threshold to its size (up to
 * 32 MiB; trim_threshold becomes twice that) unless a threshold was set by
 * mallopt or the environment, as glibc does.
 *
 * Arenas. The main arena lives in this library's data and grows with sbrk;
 * when sbrk fails it continues in mmapped segments of at least 1 MiB (it is
 * then "non-contiguous"). Other arenas live in heaps: 64 MiB reservations
 * aligned to 64 MiB (MAP_NORESERVE, readable and writable at once since the
 * backends offer no mprotect) that begin with a struct kmm_heap; their
 * chunks carry NON_MAIN_ARENA and find their arena by masking the address.
 * Heap memory is "used" up to heap->size; growing moves that mark, shrinking
 * maps fresh pages over the tail; a heap that becomes wholly free is
 * unmapped. The first thread uses the main arena; each new thread takes the
 * detached arena with the most memory, else a new one while there are fewer
 * than arena_max (8 x online CPUs by default), else the next arena round
 * robin. Before an arena grows, free chunks of other arenas that can be
 * trylocked are used (arena_borrow()). A thread that
 * exits empties its tcache and detaches (the destructor of a pthread key
 * set at its first malloc or free: unlike __cxa_thread_atexit_impl, which
 * is only the fallback, it allocates nothing, so a thread that only frees
 * never makes an arena).
 *
 * Locking. Each arena has a mutex protecting everything in it (bins, top,
 * heaps, statistics), taken only once the process has more than one thread
 * (__libc_single_threaded, as glibc does). kmm_list_lock protects the arena list, the free list,
 * attach counts and initialisation. Order: kmm_list_lock before arena locks
 * (only the fork handler takes both); at most one arena lock is held at a
 * time. The tcache is thread-local. Counters of mmapped chunks are atomic.
 * Fork: pthread_atfork handlers registered by the constructor (it does not
 * allocate in glibc 2.36) take every lock before fork and release them in
 * the parent; the child re-initialises them and detaches every arena but its
 * own.
 */

#include "malloc/internal.h"
#include "malloc/tcache.h"
#include "malloc/bins.h"
#include "malloc/sysmem.h"
#include "malloc/free.h"
#include "malloc/grow.h"
#include "malloc/alloc.h"
#include "malloc/arena.h"
#include "malloc/thread.h"
#include "malloc/init.h"
#include "malloc/stats.h"
#include "malloc/check.h"
#include "malloc/api.h"
#include "malloc/realloc.h"
#include "malloc/memalign.h"
#include "malloc/exports.h"
