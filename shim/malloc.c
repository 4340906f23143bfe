// SPDX-License-Identifier: GPL-2.0
/*
 * libkmemlab-malloc: a malloc in the design of glibc's ptmalloc,
 * written from scratch for kmemlab. It gets memory through a backend table
 * (backend.h): /dev/kmemlab (kml_sbrk, kml_mmap, kml_munmap) or the real
 * brk(2) and mmap(2).
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
#include <errno.h>
#include <limits.h>
#include <malloc.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/single_threaded.h>
#include <sys/syscall.h>

#include "backend.h"
#include "compiler.h"
#include "kmemlab-malloc.h"

#define KMM_EXPORT	__visible_default
#define KMM_TLS		__tls_initial_exec

#define SIZE_SZ		sizeof(size_t)
#define MALIGN		16UL
#define MALIGN_MASK	(MALIGN - 1)
#define MINSIZE		32UL
#define HDR_SZ		16UL

#define PREV_INUSE	1UL
#define IS_MMAPPED	2UL
#define NON_MAIN_ARENA	4UL
#define SIZE_FLAGS	7UL

#define NBINS		128
#define NSMALLBINS	64
#define MIN_LARGE_SIZE	1024UL
#define NFASTBINS	10
#define DEFAULT_MXFAST	128UL
#define MAX_MXFAST_REQ	160UL

#define TC_BINS		64
#define TC_FILL		7
#define TC_MAX_CHUNK	1040UL
#define TC_MAX_REQ	(TC_MAX_CHUNK - SIZE_SZ)

#define DEFAULT_MMAP_THRESHOLD	(128UL * 1024)
#define MMAP_THRESHOLD_MAX	(32UL * 1024 * 1024)
#define DEFAULT_TRIM_THRESHOLD	(128UL * 1024)
#define DEFAULT_TOP_PAD		(128UL * 1024)
#define DEFAULT_MMAP_MAX	65536
#define HEAP_MAX		(2 * MMAP_THRESHOLD_MAX)
#define MMAP_AS_MORECORE	(1024UL * 1024)
#define CONSOLIDATE_AT		(64UL * 1024)
#define UNSORTED_MAX_ITERS	10000
#define REALLOC_SLACK_SHIFT	5	/* a moved chunk gets 1/32 more */

/* glibc's words for misuse found in functions of the same name */
#define MSG_REALLOC_POINTER	"realloc(): invalid pointer"
#define MSG_REALLOC_OLD_SIZE	"realloc(): invalid old size"
#define MSG_MUNMAP_POINTER	"munmap_chunk(): invalid pointer"
#define MSG_LARGEBIN_NEXTSIZE	"malloc(): largebin double linked list corrupted (nextsize)"

struct kmm_chunk {
	size_t prev_size;
	size_t size;
	struct kmm_chunk *fd;
	struct kmm_chunk *bk;
	/* large bins only: the next smaller / larger size, see bin_insert() */
	struct kmm_chunk *fd_nextsize;
	struct kmm_chunk *bk_nextsize;
};

struct kmm_arena {
	pthread_mutex_t lock;
	size_t flag;			/* NON_MAIN_ARENA or 0 */
	bool contiguous;		/* main arena: all memory from one brk run */
	bool have_fast;
	struct kmm_chunk *fast[NFASTBINS];	/* safe-linked */
	struct kmm_chunk *top;
	struct kmm_chunk *last_remainder;
	unsigned long binmap[NBINS / 64];
	size_t system_mem;
	size_t max_system_mem;
	struct kmm_arena *next;		/* all arenas; kmm_list_lock */
	struct kmm_arena *next_free;	/* detached arenas; kmm_list_lock */
	size_t attached;		/* threads using it; kmm_list_lock */
	struct kmm_chunk initial_top;	/* size 0: the top before any memory */
	struct kmm_chunk bins[NBINS];	/* list heads; fd, bk, fd_nextsize */
};

/* At the start of every 64 MiB aligned heap of a non-main arena. */
struct kmm_heap {
	struct kmm_arena *ar;
	struct kmm_heap *prev;
	size_t size;			/* bytes in use from the heap's start */
	size_t pad;
};

struct kmm_tentry {
	uintptr_t next;			/* safe-linked */
	uintptr_t key;			/* kmm_tcache_key while in a tcache */
};

struct kmm_tcache {
	struct kmm_tentry *entries[TC_BINS];
	unsigned short room[TC_BINS];		/* free slots; 0 while inactive */
	bool active;
	bool dead;			/* thread exit: no tcache any more */
};

struct kmm_params {
	size_t mmap_threshold;
	size_t trim_threshold;
	size_t top_pad;
	size_t max_fast;
	int n_mmaps_max;
	bool no_dyn_threshold;
	size_t arena_max;		/* 0: 8 x online CPUs */
	size_t narenas;
	/* atomic */
	size_t n_mmaps;
	size_t max_n_mmaps;
	size_t mmapped_mem;
	size_t max_mmapped_mem;
};

static struct kmm_arena main_arena = { .lock = PTHREAD_MUTEX_INITIALIZER };
static pthread_mutex_t kmm_list_lock = PTHREAD_MUTEX_INITIALIZER;
static struct kmm_arena *kmm_free_list;
static struct kmm_arena *kmm_next_reuse;
static struct kmm_params mp = {
	.mmap_threshold = DEFAULT_MMAP_THRESHOLD,
	.trim_threshold = DEFAULT_TRIM_THRESHOLD,
	.top_pad = DEFAULT_TOP_PAD,
	.max_fast = DEFAULT_MXFAST,
	.n_mmaps_max = DEFAULT_MMAP_MAX,
	.narenas = 1,
};

static const struct kmm_backend *kmm_be;
static int kmm_state;			/* 0 not yet, 1 ready, -1 no backend */
static uintptr_t kmm_tcache_key;
static size_t kmm_pagesize;
static bool kmm_stats_at_exit;
static pthread_key_t kmm_exit_key;	/* its destructor: tc_thread_exit() */
static bool kmm_exit_key_ok;

static __thread struct kmm_tcache tc KMM_TLS;
static __thread struct kmm_arena *thread_arena KMM_TLS;

/* ---- small helpers ---------------------------------------------------- */

static __noreturn __cold noinline void kmm_fatal(const char *msg)
{
	char buf[160];
	size_t n = strlen(msg);

	if (n > sizeof(buf) - 2)
		n = sizeof(buf) - 2;
	memcpy(buf, msg, n);
	buf[n++] = '\n';
	buf[n] = '\0';
	kmm_puts(buf);
	abort();
}

static inline size_t csize(const struct kmm_chunk *p)
{
	return p->size & ~SIZE_FLAGS;
}

static inline struct kmm_chunk *chunk_at(void *p, size_t off)
{
	return (struct kmm_chunk *)((char *)p + off);
}

static inline struct kmm_chunk *mem2chunk(void *mem)
{
	return (struct kmm_chunk *)((char *)mem - HDR_SZ);
}

static inline void *chunk2mem(struct kmm_chunk *p)
{
	return (char *)p + HDR_SZ;
}

static inline bool inuse(struct kmm_chunk *p)
{
	return chunk_at(p, csize(p))->size & PREV_INUSE;
}

static inline void set_inuse_at(struct kmm_chunk *p, size_t off)
{
	chunk_at(p, off)->size |= PREV_INUSE;
}

static inline void set_foot(struct kmm_chunk *p, size_t size)
{
	chunk_at(p, size)->prev_size = size;
}

static inline size_t req2size(size_t n)
{
	size_t s = (n + SIZE_SZ + MALIGN_MASK) & ~MALIGN_MASK;

	return s < MINSIZE ? MINSIZE : s;
}

static inline uintptr_t protect_ptr(const void *pos, const void *ptr)
{
	return ((uintptr_t)pos >> 12) ^ (uintptr_t)ptr;
}

static inline void *reveal_ptr(const void *pos, uintptr_t val)
{
	return (void *)(((uintptr_t)pos >> 12) ^ val);
}

static inline size_t align_up(size_t v, size_t a)
{
	return (v + a - 1) & ~(a - 1);
}

static inline struct kmm_heap *heap_of(const void *p)
{
	return (struct kmm_heap *)((uintptr_t)p & ~(HEAP_MAX - 1));
}

static inline struct kmm_arena *arena_of(struct kmm_chunk *p)
{
	return (p->size & NON_MAIN_ARENA) ? heap_of(p)->ar : &main_arena;
}

static inline struct kmm_chunk *bin_at(struct kmm_arena *a, int i)
{
	return &a->bins[i];
}

static inline struct kmm_chunk *unsorted(struct kmm_arena *a)
{
	return &a->bins[1];
}

static inline int fast_index(size_t sz)
{
	return (int)(sz >> 4) - 2;
}

static inline int large_index(size_t sz)
{
	if ((sz >> 6) <= 48)
		return 48 + (int)(sz >> 6);
	if ((sz >> 9) <= 20)
		return 91 + (int)(sz >> 9);
	if ((sz >> 12) <= 10)
		return 110 + (int)(sz >> 12);
	if ((sz >> 15) <= 4)
		return 119 + (int)(sz >> 15);
	if ((sz >> 18) <= 2)
		return 124 + (int)(sz >> 18);
	return 126;
}

static inline int bin_index(size_t sz)
{
	return sz < MIN_LARGE_SIZE ? (int)(sz >> 4) : large_index(sz);
}

static inline void mark_bin(struct kmm_arena *a, int i)
{
	a->binmap[i >> 6] |= 1UL << (i & 63);
}

/* The first bin from idx on that is marked in the binmap, or NBINS. */
static inline int next_marked_bin(const struct kmm_arena *a, int idx)
{
	int w = idx >> 6;
	unsigned long bits;

	if (idx >= NBINS)
		return NBINS;
	bits = a->binmap[w] & (~0UL << (idx & 63));
	while (!bits) {
		if (++w == NBINS / 64)
			return NBINS;
		bits = a->binmap[w];
	}
	return (w << 6) + __builtin_ctzl(bits);
}

static inline size_t tc_index(size_t csz)
{
	return (csz >> 4) - 2;
}

/*
 * While the process has one thread, nobody can contend: the arena locks are
 * skipped, as glibc does. __libc_single_threaded only turns false, in
 * pthread_create() of that one thread, which is never between a kmm_lock()
 * and its kmm_unlock() (a fork child, where it may turn true, initialises
 * every lock afresh).
 */
static inline void kmm_lock(struct kmm_arena *a)
{
	if (!__libc_single_threaded)
		pthread_mutex_lock(&a->lock);
}

static inline void kmm_unlock(struct kmm_arena *a)
{
	if (!__libc_single_threaded)
		pthread_mutex_unlock(&a->lock);
}

static void stat_add(size_t *v, size_t *max, size_t d)
{
	size_t now = __atomic_add_fetch(v, d, __ATOMIC_RELAXED);
	size_t old = __atomic_load_n(max, __ATOMIC_RELAXED);

	while (now > old &&
	       !__atomic_compare_exchange_n(max, &old, now, true, __ATOMIC_RELAXED,
					    __ATOMIC_RELAXED))
		;
}

/* ---- tcache ----------------------------------------------------------- */

static inline void tc_put(struct kmm_chunk *p, size_t idx)
{
	struct kmm_tentry *e = chunk2mem(p);

	e->key = kmm_tcache_key;
	e->next = protect_ptr(&e->next, tc.entries[idx]);
	tc.entries[idx] = e;
	tc.room[idx]--;
}

static inline void *tc_get(size_t idx, struct kmm_tentry *e)
{
	struct kmm_tentry *next = reveal_ptr(&e->next, e->next);

	if (unlikely((uintptr_t)next & MALIGN_MASK))
		kmm_fatal("malloc(): unaligned tcache chunk detected");
	tc.entries[idx] = next;
	tc.room[idx]++;
	e->key = 0;
	return e;
}

static __noreturn __cold noinline void tc_double_free(void)
{
	kmm_fatal("free(): double free detected in tcache 2");
}

/* e carries the tcache key: it is in a tcache, or the key is a coincidence. */
static __cold noinline void tc_check_double_free(struct kmm_tentry *e, size_t idx)
{
	struct kmm_tentry *t;
	unsigned int n = 0;

	for (t = tc.entries[idx]; t; t = reveal_ptr(&t->next, t->next)) {
		if (n++ >= TC_FILL)
			kmm_fatal("free(): too many chunks detected in tcache");
		if ((uintptr_t)t & MALIGN_MASK)
			kmm_fatal("free(): unaligned chunk detected in tcache 2");
		if (t == e)
			tc_double_free();
	}
}

static void kmm_free_chunk(struct kmm_arena *a, struct kmm_chunk *p, size_t size);
static void kmm_detach_arena(void);

#define TC_EXIT_TRIM	4	/* arenas tidied at thread exit, at most */

static void arena_tidy(struct kmm_arena *a);
static void tidy_locked(struct kmm_arena *a);

/*
 * Thread exit: every cached chunk goes back to its arena. Those arenas and
 * the thread's own, then every other one not locked at the time, merge
 * their fast chunks and give back a free top:
 * memory that comes back in small pieces (chunks freed by other threads
 * into a detached arena, a consumer's cache) would otherwise stay split by
 * fast chunks until that arena next frees 64 KiB at once.
 */
static void tc_thread_exit(void *unused)
{
	struct kmm_arena *seen[TC_EXIT_TRIM], *a;
	size_t i, j, n = 0;

	(void)unused;
	tc.dead = true;
	if (thread_arena)
		seen[n++] = thread_arena;
	for (i = 0; i < TC_BINS; i++) {
		while (tc.entries[i]) {
			struct kmm_tentry *e = tc.entries[i];
			struct kmm_chunk *p = mem2chunk(e);

			a = arena_of(p);
			tc.entries[i] = reveal_ptr(&e->next, e->next);
			e->key = 0;
			kmm_free_chunk(a, p, csize(p));
			for (j = 0; j < n && seen[j] != a; j++)
				;
			if (j == n && n < TC_EXIT_TRIM)
				seen[n++] = a;
		}
		tc.room[i] = 0;
	}
	for (j = 0; j < n; j++)
		arena_tidy(seen[j]);
	kmm_detach_arena();
	/* the others, above all detached ones, if nobody holds them */
	for (a = &main_arena; a; a = __atomic_load_n(&a->next, __ATOMIC_ACQUIRE)) {
		for (j = 0; j < n && seen[j] != a; j++)
			;
		if (j == n && !pthread_mutex_trylock(&a->lock)) {
			tidy_locked(a);
			pthread_mutex_unlock(&a->lock);
		}
	}
}

static void kmm_init(void);

static __cold noinline void tc_thread_init(void)
{
	size_t i;

	if (tc.active || tc.dead || kmm_state != 1)
		return;
	for (i = 0; i < TC_BINS; i++)
		tc.room[i] = TC_FILL;
	tc.active = true;
	/*
	 * The main thread's cache dies with the process. Others are flushed
	 * by a thread-specific key's destructor: setting a key allocates
	 * nothing, so a thread that only frees gets no arena.
	 */
	if (syscall(SYS_gettid) == getpid())
		return;
	if (!kmm_exit_key_ok || pthread_setspecific(kmm_exit_key, &tc))
		__cxa_thread_atexit_impl(tc_thread_exit, NULL, &__dso_handle);
}

/* ---- bins ------------------------------------------------------------- */

/*
 * Large bins hold their chunks sorted by size, largest at fd. The first
 * chunk of each size (its leader) is also on a ring through fd_nextsize
 * (towards the next smaller size, from the smallest back to the largest)
 * and bk_nextsize (the other way), so that insertion and best-fit search
 * step over runs of equal sizes. Other chunks of a large size, and large
 * chunks in the unsorted bin, have a NULL fd_nextsize. Bin heads have a
 * non-NULL one (themselves), so a leader followed by the head is not taken
 * for a leader followed by a chunk of its own size.
 */
static void unlink_nextsize(struct kmm_chunk *p)
{
	struct kmm_chunk *fd = p->fd, *fns = p->fd_nextsize, *bns = p->bk_nextsize;

	if (fns->bk_nextsize != p || bns->fd_nextsize != p)
		kmm_fatal("corrupted double-linked list (not small)");
	if (fd->fd_nextsize) {
		/* p was alone with its size */
		fns->bk_nextsize = bns;
		bns->fd_nextsize = fns;
	} else if (fns == p) {
		/* the only size in the bin: fd becomes the ring */
		fd->fd_nextsize = fd;
		fd->bk_nextsize = fd;
	} else {
		/* fd, of p's size, leads now */
		fd->fd_nextsize = fns;
		fd->bk_nextsize = bns;
		fns->bk_nextsize = fd;
		bns->fd_nextsize = fd;
	}
}

static inline void unlink_chunk(struct kmm_chunk *p)
{
	struct kmm_chunk *fd = p->fd, *bk = p->bk;
	size_t size = csize(p);

	if (size != chunk_at(p, size)->prev_size)
		kmm_fatal("corrupted size vs. prev_size");
	if (fd->bk != p || bk->fd != p)
		kmm_fatal("corrupted double-linked list");
	fd->bk = bk;
	bk->fd = fd;
	if (size >= MIN_LARGE_SIZE && p->fd_nextsize)
		unlink_nextsize(p);
}

/* p goes to the unsorted bin; size is what p will be, for large chunks. */
static void unsorted_push(struct kmm_arena *a, struct kmm_chunk *p, size_t size)
{
	struct kmm_chunk *bck = unsorted(a), *fwd = bck->fd;

	if (fwd->bk != bck)
		kmm_fatal("free(): corrupted unsorted chunks");
	p->fd = fwd;
	p->bk = bck;
	bck->fd = p;
	fwd->bk = p;
	if (size >= MIN_LARGE_SIZE)
		p->fd_nextsize = NULL;
}

/* Large bin b: links p, of the given size, into its place by size. */
static void large_insert(struct kmm_chunk *b, struct kmm_chunk *p, size_t size)
{
	struct kmm_chunk *fwd, *bck, *lead;

	p->fd_nextsize = NULL;
	if (b->fd == b) {
		p->fd_nextsize = p;
		p->bk_nextsize = p;
		fwd = b;
	} else if (size < csize(b->bk)) {
		/* smaller than all: a new leader between smallest and largest */
		fwd = b;
		lead = b->fd;
		p->fd_nextsize = lead;
		p->bk_nextsize = lead->bk_nextsize;
		lead->bk_nextsize = p;
		p->bk_nextsize->fd_nextsize = p;
	} else {
		/* b->fd leads the largest size; the walk ends at the smallest */
		fwd = b->fd;
		while (size < csize(fwd))
			fwd = fwd->fd_nextsize;
		if (size == csize(fwd)) {
			/* behind the leader, which stays */
			fwd = fwd->fd;
		} else {
			p->fd_nextsize = fwd;
			p->bk_nextsize = fwd->bk_nextsize;
			if (fwd->bk_nextsize->fd_nextsize != fwd)
				kmm_fatal(MSG_LARGEBIN_NEXTSIZE);
			fwd->bk_nextsize = p;
			p->bk_nextsize->fd_nextsize = p;
		}
	}
	bck = fwd->bk;
	if (bck->fd != fwd)
		kmm_fatal("malloc(): largebin double linked list corrupted (bk)");
	p->fd = fwd;
	p->bk = bck;
	fwd->bk = p;
	bck->fd = p;
}

/* Small bins: LIFO at the head. Large bins: sorted, largest at fd. */
static void bin_insert(struct kmm_arena *a, struct kmm_chunk *p, size_t size)
{
	int i = bin_index(size);
	struct kmm_chunk *b = bin_at(a, i), *fwd;

	mark_bin(a, i);
	if (i >= NSMALLBINS) {
		large_insert(b, p, size);
		return;
	}
	fwd = b->fd;
	p->fd = fwd;
	p->bk = b;
	fwd->bk = p;
	b->fd = p;
}

/*
 * Merges free chunk p of the given size with its free neighbours and puts
 * the result in the unsorted bin or into the top. Returns the merged size.
 */
static inline size_t merge_chunk(struct kmm_arena *a, struct kmm_chunk *p, size_t size)
{
	struct kmm_chunk *next = chunk_at(p, size);
	size_t nsize = csize(next);

	if (!(p->size & PREV_INUSE)) {
		size_t psz = p->prev_size;

		p = chunk_at(p, -psz);
		if (csize(p) != psz)
			kmm_fatal("corrupted size vs. prev_size while consolidating");
		unlink_chunk(p);
		size += psz;
	}
	if (next != a->top) {
		if (!inuse(next)) {
			unlink_chunk(next);
			size += nsize;
		} else {
			next->size &= ~PREV_INUSE;
		}
		unsorted_push(a, p, size);
		p->size = size | PREV_INUSE;
		set_foot(p, size);
	} else {
		size += nsize;
		p->size = size | PREV_INUSE;
		a->top = p;
	}
	return size;
}

static void consolidate(struct kmm_arena *a)
{
	int i;

	a->have_fast = false;
	for (i = 0; i < NFASTBINS; i++) {
		struct kmm_chunk *p = a->fast[i];

		a->fast[i] = NULL;
		while (p) {
			struct kmm_chunk *next;

			if ((uintptr_t)p & MALIGN_MASK)
				kmm_fatal("malloc_consolidate(): unaligned fastbin chunk detected");
			if (fast_index(csize(p)) != i)
				kmm_fatal("malloc_consolidate(): invalid chunk size");
			next = reveal_ptr(&p->fd, (uintptr_t)p->fd);
			merge_chunk(a, p, csize(p));
			p = next;
		}
	}
}

static bool systrim(struct kmm_arena *a, size_t pad);
static void heap_trim(struct kmm_arena *a);

/* Merges the fast chunks and trims the top beyond trim_threshold. */
static void tidy_locked(struct kmm_arena *a)
{
	int saved = errno;	/* free() keeps errno */

	if (a->have_fast)
		consolidate(a);
	if (a == &main_arena) {
		if (csize(a->top) >= mp.trim_threshold)
			systrim(a, mp.top_pad);
	} else {
		heap_trim(a);
	}
	errno = saved;
}

/* Frees a non-mmapped chunk into arena a, which the caller has locked. */
static void free_locked(struct kmm_arena *a, struct kmm_chunk *p, size_t size, bool may_trim)
{
	struct kmm_chunk *next = chunk_at(p, size);

	if (size <= mp.max_fast) {
		int i = fast_index(size);
		struct kmm_chunk *old = a->fast[i];

		if (next->size <= HDR_SZ || csize(next) >= a->system_mem)
			kmm_fatal("free(): invalid next size (fast)");
		if (old == p)
			kmm_fatal("double free or corruption (fasttop)");
		if (old && fast_index(csize(old)) != i)
			kmm_fatal("invalid fastbin entry (free)");
		p->fd = (struct kmm_chunk *)protect_ptr(&p->fd, old);
		a->fast[i] = p;
		a->have_fast = true;
		return;
	}
	if (p == a->top)
		kmm_fatal("double free or corruption (top)");
	if (a == &main_arena && a->contiguous &&
	    (char *)next >= (char *)a->top + csize(a->top))
		kmm_fatal("double free or corruption (out)");
	if (!(next->size & PREV_INUSE))
		kmm_fatal("double free or corruption (!prev)");
	if (next->size <= HDR_SZ || csize(next) >= a->system_mem)
		kmm_fatal("free(): invalid next size (normal)");
	size = merge_chunk(a, p, size);
	if (may_trim && size >= CONSOLIDATE_AT)
		tidy_locked(a);
}

static void kmm_free_chunk(struct kmm_arena *a, struct kmm_chunk *p, size_t size)
{
	kmm_lock(a);
	free_locked(a, p, size, true);
	kmm_unlock(a);
}

static void arena_tidy(struct kmm_arena *a)
{
	kmm_lock(a);
	tidy_locked(a);
	kmm_unlock(a);
}

/* ---- system memory ---------------------------------------------------- */

static void *be_mmap(size_t len, int extra)
{
	void *m = kmm_be->mmap(NULL, len, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS | extra, -1, 0);

	return m == MAP_FAILED ? NULL : m;
}

static void *mmap_chunk(size_t nb)
{
	size_t size = align_up(nb + SIZE_SZ, kmm_pagesize);
	struct kmm_chunk *p;

	if (size < nb)
		return NULL;
	p = be_mmap(size, 0);
	if (!p)
		return NULL;
	p->prev_size = 0;
	p->size = size | IS_MMAPPED;
	stat_add(&mp.n_mmaps, &mp.max_n_mmaps, 1);
	stat_add(&mp.mmapped_mem, &mp.max_mmapped_mem, size);
	return chunk2mem(p);
}

static void munmap_chunk(struct kmm_chunk *p)
{
	size_t off = p->prev_size, total = off + csize(p);
	char *block = (char *)p - off;

	if (((uintptr_t)block | total) & (kmm_pagesize - 1))
		kmm_fatal(MSG_MUNMAP_POINTER);
	__atomic_sub_fetch(&mp.n_mmaps, 1, __ATOMIC_RELAXED);
	__atomic_sub_fetch(&mp.mmapped_mem, total, __ATOMIC_RELAXED);
	kmm_be->munmap(block, total);
}

/*
 * The top chunk is abandoned for memory elsewhere: end it with two 16-byte
 * in-use fenceposts, so that nothing merges past its end, and free the rest.
 */
static void retire_top(struct kmm_arena *a, struct kmm_chunk *old, size_t old_size)
{
	size_t keep;

	if (old_size < MINSIZE)
		return;
	keep = old_size - 2 * HDR_SZ;
	chunk_at(old, keep)->size = HDR_SZ | PREV_INUSE;
	chunk_at(old, keep + HDR_SZ)->size = HDR_SZ | PREV_INUSE;
	if (keep >= MINSIZE) {
		old->size = keep | (old->size & PREV_INUSE) | a->flag;
		free_locked(a, old, keep, false);
	} else if (keep) {
		old->size = keep | (old->size & PREV_INUSE);
	}
}

static void new_top(struct kmm_arena *a, void *base, size_t len)
{
	uintptr_t start = align_up((uintptr_t)base, MALIGN);
	size_t size = ((uintptr_t)base + len - start) & ~MALIGN_MASK;
	struct kmm_chunk *old = a->top;

	a->top = (struct kmm_chunk *)start;
	a->top->size = size | PREV_INUSE;
	retire_top(a, old, csize(old));
}

static void account(struct kmm_arena *a, size_t add)
{
	a->system_mem += add;
	if (a->system_mem > a->max_system_mem)
		a->max_system_mem = a->system_mem;
}

static struct kmm_heap *new_heap(size_t size, size_t pad)
{
	char *m, *aligned;
	struct kmm_heap *h;

	size = align_up(size, kmm_pagesize);
	if (size > HEAP_MAX)
		return NULL;
	if (size + pad <= HEAP_MAX)
		size = align_up(size + pad, kmm_pagesize);
	m = be_mmap(2 * HEAP_MAX, MAP_NORESERVE);
	if (!m)
		return NULL;
	aligned = (char *)align_up((uintptr_t)m, HEAP_MAX);
	if (aligned != m)
		kmm_be->munmap(m, aligned - m);
	kmm_be->munmap(aligned + HEAP_MAX, m + HEAP_MAX - aligned);
	h = (struct kmm_heap *)aligned;
	h->size = size;
	h->prev = NULL;
	return h;
}

/* Drops the pages of the heap's tail by mapping fresh ones over them. */
static void shrink_heap(struct kmm_heap *h, size_t by)
{
	char *tail = (char *)h + h->size - by;
	void *m = kmm_be->mmap(tail, by, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED | MAP_NORESERVE, -1, 0);

	if (m != MAP_FAILED)
		h->size -= by;
}

/* Non-main arena: unmap wholly free heaps, then shrink the top's heap. */
static void heap_trim(struct kmm_arena *a)
{
	struct kmm_heap *h = heap_of(a->top);
	size_t top_size, extra;

	while (h->prev && (char *)a->top == (char *)(h + 1)) {
		struct kmm_heap *prev = h->prev;
		struct kmm_chunk *fence = chunk_at(prev, prev->size - 2 * HDR_SZ);
		struct kmm_chunk *top = fence;
		size_t size = 2 * HDR_SZ;

		if (!(fence->size & PREV_INUSE)) {
			top = chunk_at(fence, -fence->prev_size);
			unlink_chunk(top);
			size += csize(top);
		}
		a->system_mem -= h->size;
		kmm_be->munmap(h, HEAP_MAX);
		h = prev;
		a->top = top;
		top->size = size | PREV_INUSE;
	}
	/* as the main arena: a top of trim_threshold is cut down to top_pad */
	top_size = csize(a->top);
	if (top_size < mp.trim_threshold || top_size < MINSIZE + 1 + mp.top_pad)
		return;
	extra = (top_size - MINSIZE - 1 - mp.top_pad) & ~(kmm_pagesize - 1);
	if (!extra)
		return;
	shrink_heap(h, extra);
	if ((char *)h + h->size == (char *)a->top + top_size - extra) {
		a->system_mem -= extra;
		a->top->size = (top_size - extra) | PREV_INUSE;
	}
}

/* Main arena: give back the free top beyond pad with a negative sbrk. */
static bool systrim(struct kmm_arena *a, size_t pad)
{
	size_t top_size = csize(a->top), extra;
	char *cur, *now;

	if (top_size < MINSIZE + 1 + pad)
		return false;
	extra = (top_size - MINSIZE - 1 - pad) & ~(kmm_pagesize - 1);
	if (!extra)
		return false;
	cur = kmm_be->sbrk(0);
	if (cur != (char *)a->top + top_size)
		return false;
	kmm_be->sbrk(-(intptr_t)extra);
	now = kmm_be->sbrk(0);
	if (now == (char *)-1 || now >= cur)
		return false;
	a->system_mem -= cur - now;
	a->top->size = (top_size - (cur - now)) | PREV_INUSE;
	return true;
}

static bool grow_main(struct kmm_arena *a, size_t nb)
{
	struct kmm_chunk *top = a->top;
	size_t old_size = csize(top);
	char *old_end = (char *)top + old_size;
	size_t size = nb + mp.top_pad + MINSIZE;
	char *brk;

	if (a->contiguous && old_size)
		size -= old_size;
	size = align_up(size, kmm_pagesize);
	if (!old_size && a->contiguous) {
		/* first extension: start the heap on a page boundary */
		uintptr_t cur = (uintptr_t)kmm_be->sbrk(0);

		if (cur != (uintptr_t)-1 && (cur & (kmm_pagesize - 1)))
			kmm_be->sbrk(kmm_pagesize - (cur & (kmm_pagesize - 1)));
	}
	brk = (char *)-1;
	if (size < (size_t)PTRDIFF_MAX)
		brk = kmm_be->sbrk((intptr_t)size);
	if (brk != (char *)-1) {
		if (brk == old_end && old_size) {
			top->size = (old_size + size) | PREV_INUSE;
		} else {
			if (old_size)
				a->contiguous = false;
			new_top(a, brk, size);
		}
		account(a, size);
		return true;
	}
	/* sbrk failed: carry on in mmapped memory */
	size = align_up(nb + mp.top_pad + MINSIZE, kmm_pagesize);
	if (size < MMAP_AS_MORECORE)
		size = MMAP_AS_MORECORE;
	brk = be_mmap(size, 0);
	if (!brk) {
		size = align_up(nb + MINSIZE, kmm_pagesize);
		brk = be_mmap(size, 0);
		if (!brk)
			return false;
	}
	a->contiguous = false;
	new_top(a, brk, size);
	account(a, size);
	return true;
}

static bool grow_heap_arena(struct kmm_arena *a, size_t nb)
{
	struct kmm_chunk *top = a->top;
	size_t old_size = csize(top);
	struct kmm_heap *h = heap_of(top), *nh;
	size_t need = align_up(nb + MINSIZE - old_size, kmm_pagesize);

	if (h->size + need <= HEAP_MAX) {
		h->size += need;
		top->size = (old_size + need) | PREV_INUSE;
		account(a, need);
		return true;
	}
	nh = new_heap(sizeof(*nh) + nb + MINSIZE, mp.top_pad);
	if (!nh)
		return false;
	nh->ar = a;
	nh->prev = h;
	account(a, nh->size);
	new_top(a, nh + 1, nh->size - sizeof(*nh));
	return true;
}

/* Called with a locked when nothing in it fits nb. */
static void *sysmalloc(struct kmm_arena *a, size_t nb)
{
	struct kmm_chunk *top;
	size_t size;
	bool tried = false;
	void *m;

	if (nb >= mp.mmap_threshold &&
	    __atomic_load_n(&mp.n_mmaps, __ATOMIC_RELAXED) < (size_t)mp.n_mmaps_max) {
		m = mmap_chunk(nb);
		if (m)
			return m;
		tried = true;
	}
	if (!(a == &main_arena ? grow_main(a, nb) : grow_heap_arena(a, nb)))
		return tried ? NULL : mmap_chunk(nb);
	top = a->top;
	size = csize(top);
	if (size < nb + MINSIZE)
		return NULL;
	a->top = chunk_at(top, nb);
	a->top->size = (size - nb) | PREV_INUSE;
	top->size = nb | PREV_INUSE | a->flag;
	return chunk2mem(top);
}

/* ---- allocation inside an arena --------------------------------------- */

/* Takes victim out of its bin and splits off what nb does not need. */
static void *take_chunk(struct kmm_arena *a, struct kmm_chunk *victim, size_t nb)
{
	size_t size = csize(victim), rsize = size - nb;
	struct kmm_chunk *rem;

	unlink_chunk(victim);
	if (rsize < MINSIZE) {
		set_inuse_at(victim, size);
		victim->size |= a->flag;
		return chunk2mem(victim);
	}
	rem = chunk_at(victim, nb);
	if (unsorted(a)->fd->bk != unsorted(a))
		kmm_fatal("malloc(): corrupted unsorted chunks");
	unsorted_push(a, rem, rsize);
	if (nb < MIN_LARGE_SIZE)
		a->last_remainder = rem;
	victim->size = nb | PREV_INUSE | a->flag;
	rem->size = rsize | PREV_INUSE;
	set_foot(rem, rsize);
	return chunk2mem(victim);
}

/* how far arena_malloc() may go */
#define AM_FREE		0	/* free chunks only */
#define AM_TOP		1	/* and the top chunk */
#define AM_GROW		2	/* and memory from the system */

static void *arena_malloc(struct kmm_arena *a, size_t nb, int reach)
{
	struct kmm_chunk *victim, *b, *bck, *ub = unsorted(a);
	size_t tci = tc_index(nb);
	bool cache = tc.active && nb <= TC_MAX_CHUNK, cached = false;
	int idx;

	if (nb <= mp.max_fast) {
		struct kmm_chunk **fb = &a->fast[fast_index(nb)];

		victim = *fb;
		if (victim) {
			if ((uintptr_t)victim & MALIGN_MASK)
				kmm_fatal("malloc(): unaligned fastbin chunk detected 2");
			*fb = reveal_ptr(&victim->fd, (uintptr_t)victim->fd);
			if (fast_index(csize(victim)) != fast_index(nb))
				kmm_fatal("malloc(): memory corruption (fast)");
			while (cache && tc.room[tci] && *fb) {
				struct kmm_chunk *p = *fb;

				if ((uintptr_t)p & MALIGN_MASK)
					kmm_fatal("malloc(): unaligned fastbin chunk detected 3");
				*fb = reveal_ptr(&p->fd, (uintptr_t)p->fd);
				tc_put(p, tci);
			}
			return chunk2mem(victim);
		}
	}
	if (nb < MIN_LARGE_SIZE) {
		idx = (int)(nb >> 4);
		b = bin_at(a, idx);
		victim = b->bk;
		if (victim != b) {
			if (victim->bk->fd != victim)
				kmm_fatal("malloc(): smallbin double linked list corrupted");
			unlink_chunk(victim);
			set_inuse_at(victim, nb);
			victim->size |= a->flag;
			while (cache && tc.room[tci] && b->bk != b) {
				struct kmm_chunk *p = b->bk;

				unlink_chunk(p);
				set_inuse_at(p, nb);
				p->size |= a->flag;
				tc_put(p, tci);
			}
			return chunk2mem(victim);
		}
	} else {
		idx = large_index(nb);
		if (a->have_fast)
			consolidate(a);
	}

	for (;;) {
		int iters = 0;

		while ((victim = ub->bk) != ub) {
			size_t size = csize(victim);
			struct kmm_chunk *next = chunk_at(victim, size);

			bck = victim->bk;
			if (victim->size <= HDR_SZ || size > a->system_mem)
				kmm_fatal("malloc(): invalid size (unsorted)");
			if (next->size < HDR_SZ || next->size > a->system_mem)
				kmm_fatal("malloc(): invalid next size (unsorted)");
			if (next->prev_size != size)
				kmm_fatal("malloc(): mismatching next->prev_size (unsorted)");
			if (bck->fd != victim || victim->fd != ub)
				kmm_fatal("malloc(): unsorted double linked list corrupted");
			if (next->size & PREV_INUSE)
				kmm_fatal("malloc(): invalid next->prev_inuse (unsorted)");

			if (nb < MIN_LARGE_SIZE && bck == ub && victim == a->last_remainder &&
			    size > nb + MINSIZE) {
				struct kmm_chunk *rem = chunk_at(victim, nb);

				ub->fd = rem;
				ub->bk = rem;
				rem->fd = ub;
				rem->bk = ub;
				if (size - nb >= MIN_LARGE_SIZE)
					rem->fd_nextsize = NULL;
				a->last_remainder = rem;
				victim->size = nb | PREV_INUSE | a->flag;
				rem->size = (size - nb) | PREV_INUSE;
				set_foot(rem, size - nb);
				return chunk2mem(victim);
			}
			ub->bk = bck;
			bck->fd = ub;
			if (size == nb) {
				set_inuse_at(victim, size);
				victim->size |= a->flag;
				if (cache && tc.room[tci]) {
					tc_put(victim, tci);
					cached = true;
					continue;
				}
				return chunk2mem(victim);
			}
			bin_insert(a, victim, size);
			if (++iters >= UNSORTED_MAX_ITERS)
				break;
		}
		if (cached)
			return tc_get(tci, tc.entries[tci]);

		if (nb >= MIN_LARGE_SIZE) {
			b = bin_at(a, idx);
			if (b->fd != b && csize(b->fd) >= nb) {
				/* from the smallest leader up to the first fit */
				victim = b->fd->bk_nextsize;
				while (csize(victim) < nb)
					victim = victim->bk_nextsize;
				/* a follower, if any, spares relinking the ring */
				if (victim != b->bk && csize(victim->fd) == csize(victim))
					victim = victim->fd;
				return take_chunk(a, victim, nb);
			}
		}

		/* the smallest chunk of the next non-empty bin fits */
		for (idx = next_marked_bin(a, idx + 1); idx < NBINS;
		     idx = next_marked_bin(a, idx + 1)) {
			b = bin_at(a, idx);
			if (b->bk != b)
				return take_chunk(a, b->bk, nb);
			a->binmap[idx >> 6] &= ~(1UL << (idx & 63));
		}

		victim = a->top;
		if (csize(victim) > a->system_mem)
			kmm_fatal("malloc(): corrupted top size");
		if (reach >= AM_TOP && csize(victim) >= nb + MINSIZE) {
			size_t size = csize(victim);

			a->top = chunk_at(victim, nb);
			a->top->size = (size - nb) | PREV_INUSE;
			victim->size = nb | PREV_INUSE | a->flag;
			return chunk2mem(victim);
		}
		if (!a->have_fast)
			return reach == AM_GROW ? sysmalloc(a, nb) : NULL;
		consolidate(a);
		idx = bin_index(nb);
	}
}

/* ---- arenas ----------------------------------------------------------- */

static void arena_init(struct kmm_arena *a)
{
	int i;

	for (i = 0; i < NBINS; i++) {
		a->bins[i].fd = &a->bins[i];
		a->bins[i].bk = &a->bins[i];
		a->bins[i].fd_nextsize = &a->bins[i];
	}
	a->initial_top.size = 0;
	a->top = &a->initial_top;
	a->contiguous = true;
}

static size_t arena_limit(void)
{
	long n;

	if (mp.arena_max)
		return mp.arena_max;
	n = sysconf(_SC_NPROCESSORS_ONLN);
	return 8 * (size_t)(n > 0 ? n : 1);
}

static struct kmm_arena *new_arena(void)
{
	struct kmm_heap *h = new_heap(sizeof(*h) + sizeof(struct kmm_arena) + MALIGN, mp.top_pad);
	struct kmm_arena *a;
	char *top;

	if (!h)
		return NULL;
	a = (struct kmm_arena *)(h + 1);
	memset(a, 0, sizeof(*a));
	pthread_mutex_init(&a->lock, NULL);
	arena_init(a);
	a->flag = NON_MAIN_ARENA;
	a->contiguous = false;
	h->ar = a;
	top = (char *)align_up((uintptr_t)(a + 1), MALIGN);
	a->top = (struct kmm_chunk *)top;
	a->top->size = ((char *)h + h->size - top) | PREV_INUSE;
	account(a, h->size);
	a->next = main_arena.next;
	__atomic_store_n(&main_arena.next, a, __ATOMIC_RELEASE);	/* arena_borrow() */
	mp.narenas++;
	return a;
}

/*
 * The detached arena with the most memory: it is likeliest to have room for
 * the new thread's blocks while other threads still free its old ones into
 * it, so that fewer arenas grow. Under kmm_list_lock; system_mem is read
 * without the arena's lock (remote frees may be trimming it): only a hint.
 */
static struct kmm_arena *take_free_arena(void)
{
	struct kmm_arena **best = &kmm_free_list, **pp, *a;

	if (!kmm_free_list)
		return NULL;
	for (pp = &kmm_free_list; *pp; pp = &(*pp)->next_free)
		if (__atomic_load_n(&(*pp)->system_mem, __ATOMIC_RELAXED) >
		    __atomic_load_n(&(*best)->system_mem, __ATOMIC_RELAXED))
			best = pp;
	a = *best;
	*best = a->next_free;
	return a;
}

/* A thread's first arena: a detached one, a new one, or a shared one. */
static __cold noinline struct kmm_arena *arena_attach(void)
{
	struct kmm_arena *a;

	pthread_mutex_lock(&kmm_list_lock);
	a = take_free_arena();
	if (!a && mp.narenas < arena_limit())
		a = new_arena();
	if (!a) {
		a = kmm_next_reuse ? kmm_next_reuse : &main_arena;
		kmm_next_reuse = a->next;
	}
	a->attached++;
	pthread_mutex_unlock(&kmm_list_lock);
	thread_arena = a;
	return a;
}

static void kmm_detach_arena(void)
{
	struct kmm_arena *a = thread_arena;

	if (!a)
		return;
	pthread_mutex_lock(&kmm_list_lock);
	if (a->attached && --a->attached == 0 && a != &main_arena) {
		a->next_free = kmm_free_list;
		kmm_free_list = a;
	}
	pthread_mutex_unlock(&kmm_list_lock);
	thread_arena = &main_arena;
}

static inline struct kmm_arena *arena_get(void)
{
	struct kmm_arena *a = thread_arena;

	return a ? a : arena_attach();
}

/* ---- initialisation --------------------------------------------------- */

static bool env_size(const char *name, size_t *out)
{
	const char *s = getenv(name);
	size_t v = 0;

	if (!s || !*s)
		return false;
	for (; *s; s++) {
		if (*s < '0' || *s > '9' || v > (SIZE_MAX - 9) / 10)
			return false;
		v = v * 10 + (size_t)(*s - '0');
	}
	*out = v;
	return true;
}

static void kmm_read_env(void)
{
	size_t v;
	const char *s;

	if (env_size("KMEMLAB_MALLOC_MMAP_THRESHOLD", &v) && v <= MMAP_THRESHOLD_MAX) {
		mp.mmap_threshold = v;
		mp.no_dyn_threshold = true;
	}
	if (env_size("KMEMLAB_MALLOC_TRIM_THRESHOLD", &v)) {
		mp.trim_threshold = v;
		mp.no_dyn_threshold = true;
	}
	if (env_size("KMEMLAB_MALLOC_TOP_PAD", &v)) {
		mp.top_pad = v;
		mp.no_dyn_threshold = true;
	}
	if (env_size("KMEMLAB_MALLOC_ARENA_MAX", &v) && v > 0)
		mp.arena_max = v;
	s = getenv("KMEMLAB_MALLOC_STATS");
	kmm_stats_at_exit = s && s[0] == '1';
}

static __cold noinline void kmm_init(void)
{
	pthread_mutex_lock(&kmm_list_lock);
	if (kmm_state == 0) {
		kmm_pagesize = (size_t)sysconf(_SC_PAGESIZE);
		kmm_be = kmm_backend_select();
		if (!kmm_be) {
			kmm_state = -1;
		} else {
			uintptr_t key = 0;

			kmm_read_env();
			kmm_exit_key_ok = !pthread_key_create(&kmm_exit_key, tc_thread_exit);
			arena_init(&main_arena);
			main_arena.attached = 1;
			if (getrandom(&key, sizeof(key), GRND_NONBLOCK) != sizeof(key))
				key = (uintptr_t)&key * 0x9e3779b97f4a7c15ULL;
			kmm_tcache_key = key | 1;
			thread_arena = &main_arena;
			__atomic_store_n(&kmm_state, 1, __ATOMIC_RELEASE);
		}
	}
	pthread_mutex_unlock(&kmm_list_lock);
}

static inline bool kmm_ready(void)
{
	if (likely(__atomic_load_n(&kmm_state, __ATOMIC_ACQUIRE) == 1))
		return true;
	if (kmm_state == 0)
		kmm_init();
	return kmm_state == 1;
}

/* ---- fork ------------------------------------------------------------- */

static void kmm_fork_prepare(void)
{
	struct kmm_arena *a;

	pthread_mutex_lock(&kmm_list_lock);
	for (a = &main_arena; a; a = a->next)
		kmm_lock(a);
}

static void kmm_fork_parent(void)
{
	struct kmm_arena *a;

	for (a = &main_arena; a; a = a->next)
		kmm_unlock(a);
	pthread_mutex_unlock(&kmm_list_lock);
}

static void kmm_fork_child(void)
{
	struct kmm_arena *a;

	kmm_free_list = NULL;
	for (a = &main_arena; a; a = a->next) {
		pthread_mutex_init(&a->lock, NULL);
		a->attached = a == thread_arena;
		if (a != &main_arena && a != thread_arena) {
			a->next_free = kmm_free_list;
			kmm_free_list = a;
		}
	}
	pthread_mutex_init(&kmm_list_lock, NULL);
}

/* ---- entry points ----------------------------------------------------- */

static void *kmm_malloc_slow(size_t n);

static inline void *kmm_malloc(size_t n)
{
	if (likely(n <= TC_MAX_REQ)) {
		size_t idx = (n + SIZE_SZ + MALIGN_MASK) >> 4;
		struct kmm_tentry *e;

		idx = idx < 2 ? 0 : idx - 2;
		e = tc.entries[idx];
		if (likely(e))
			return tc_get(idx, e);
	}
	return kmm_malloc_slow(n);
}

/*
 * Before arena a grows, free chunks that another arena already holds are
 * used: when threads free each other's blocks (a server handing work from
 * thread to thread), the arena a thread allocates from fills up while
 * blocks freed into the others wait there, and every arena would grow to
 * the most it ever held. Only free chunks: another arena's top is its own
 * reserve. Arenas whose lock is taken are skipped; nothing is waited for.
 */
static void *arena_borrow(struct kmm_arena *a, size_t nb)
{
	struct kmm_arena *b;
	void *m;

	for (b = &main_arena; b; b = __atomic_load_n(&b->next, __ATOMIC_ACQUIRE)) {
		if (b == a || pthread_mutex_trylock(&b->lock))
			continue;
		m = arena_malloc(b, nb, AM_FREE);
		pthread_mutex_unlock(&b->lock);
		if (m)
			return m;
	}
	return NULL;
}

static void *arena_alloc(size_t nb)
{
	struct kmm_arena *a = arena_get(), *b;
	bool borrow = !__libc_single_threaded && nb < mp.mmap_threshold &&
		      main_arena.next;
	void *m;

	kmm_lock(a);
	m = arena_malloc(a, nb, borrow ? AM_TOP : AM_GROW);
	kmm_unlock(a);
	if (m)
		return m;
	if (borrow) {
		m = arena_borrow(a, nb);
		if (m)
			return m;
		kmm_lock(a);
		m = arena_malloc(a, nb, AM_GROW);
		kmm_unlock(a);
		if (m)
			return m;
	}
	/* as glibc: a failing arena lets another one try */
	b = a != &main_arena ? &main_arena : main_arena.next;
	if (!b)
		return NULL;
	kmm_lock(b);
	m = arena_malloc(b, nb, AM_GROW);
	kmm_unlock(b);
	return m;
}

static noinline void *kmm_malloc_slow(size_t n)
{
	void *m;
	size_t nb;

	if (unlikely(!kmm_ready()) || n > PTRDIFF_MAX) {
		errno = ENOMEM;
		return NULL;
	}
	nb = req2size(n);
	if (!tc.active)
		tc_thread_init();
	if (nb <= TC_MAX_CHUNK && tc.entries[tc_index(nb)])
		return tc_get(tc_index(nb), tc.entries[tc_index(nb)]);
	m = arena_alloc(nb);
	if (!m)
		errno = ENOMEM;
	return m;
}

KMM_EXPORT void *malloc(size_t n)
{
	return kmm_malloc(n);
}

static void kmm_free_slow(void *mem);

static inline void kmm_free(void *mem)
{
	struct kmm_chunk *p;
	size_t size;

	if (unlikely(!mem))
		return;
	p = mem2chunk(mem);
	size = p->size;
	if (likely(size <= TC_MAX_CHUNK + SIZE_FLAGS && !(size & (IS_MMAPPED | 8)) &&
		   size >= MINSIZE && !((uintptr_t)p & MALIGN_MASK))) {
		struct kmm_tentry *e = mem;
		size_t idx = tc_index(size & ~SIZE_FLAGS);

		/* a key match (maybe a double free) is checked on the slow path */
		if (likely(e->key != kmm_tcache_key && tc.room[idx])) {
			tc_put(p, idx);
			return;
		}
	}
	kmm_free_slow(mem);
}

KMM_EXPORT void free(void *mem)
{
	kmm_free(mem);
}

/* Keeps errno: only munmap, trimming and a thread's first free touch it. */
static noinline void kmm_free_slow(void *mem)
{
	struct kmm_chunk *p = mem2chunk(mem);
	size_t size = csize(p);
	int saved;

	if (p->size & IS_MMAPPED) {
		saved = errno;
		if (!mp.no_dyn_threshold && size > mp.mmap_threshold &&
		    size <= MMAP_THRESHOLD_MAX) {
			mp.mmap_threshold = size;
			mp.trim_threshold = 2 * size;
		}
		munmap_chunk(p);
		errno = saved;
		return;
	}
	if ((uintptr_t)p > -size || ((uintptr_t)p & MALIGN_MASK))
		kmm_fatal("free(): invalid pointer");
	if (size < MINSIZE || (size & MALIGN_MASK))
		kmm_fatal("free(): invalid size");
	if (kmm_state != 1)
		kmm_fatal("free(): invalid pointer");
	if (size <= TC_MAX_CHUNK) {
		struct kmm_tentry *e = mem;
		size_t idx = tc_index(size);

		if (!tc.active) {
			saved = errno;
			tc_thread_init();
			errno = saved;
		}
		if (e->key == kmm_tcache_key)
			tc_check_double_free(e, idx);
		if (tc.room[idx]) {
			tc_put(p, idx);
			return;
		}
	}
	kmm_free_chunk(arena_of(p), p, size);
}

KMM_EXPORT void cfree(void *mem)
{
	kmm_free(mem);
}

KMM_EXPORT void *calloc(size_t nmemb, size_t size)
{
	size_t total;
	void *m;

	if (__builtin_mul_overflow(nmemb, size, &total)) {
		errno = ENOMEM;
		return NULL;
	}
	m = kmm_malloc(total);
	if (m && !(mem2chunk(m)->size & IS_MMAPPED))
		memset(m, 0, total);
	return m;
}

/* Under a's lock: gives back the tail of in-use chunk p beyond nb. */
static void shrink_in_place(struct kmm_arena *a, struct kmm_chunk *p, size_t size, size_t nb)
{
	size_t rsize = size - nb;
	struct kmm_chunk *rem;

	if (rsize < MINSIZE) {
		p->size = size | (p->size & SIZE_FLAGS);
		set_inuse_at(p, size);
		return;
	}
	rem = chunk_at(p, nb);
	p->size = nb | (p->size & SIZE_FLAGS);
	rem->size = rsize | PREV_INUSE | a->flag;
	set_inuse_at(rem, rsize);
	free_locked(a, rem, rsize, true);
}

/* Under a's lock: resizes p in place if it can; false if it must move. */
static bool realloc_in_place(struct kmm_arena *a, struct kmm_chunk *p, size_t size, size_t nb)
{
	struct kmm_chunk *next = chunk_at(p, size);
	size_t nsize = csize(next);

	if (next->size <= HDR_SZ || nsize >= a->system_mem)
		kmm_fatal("realloc(): invalid next size");
	if (size >= nb) {
		shrink_in_place(a, p, size, nb);
		return true;
	}
	if (next == a->top) {
		if (size + nsize < nb + MINSIZE)
			return false;
		p->size = nb | (p->size & SIZE_FLAGS);
		a->top = chunk_at(p, nb);
		a->top->size = (size + nsize - nb) | PREV_INUSE;
		return true;
	}
	if (inuse(next) || size + nsize < nb)
		return false;
	unlink_chunk(next);
	set_inuse_at(p, size + nsize);
	shrink_in_place(a, p, size + nsize, nb);
	return true;
}

/*
 * Under a's lock, a being this thread's arena and nb too big for the
 * tcache: moves in-use chunk p to a new chunk of a, all with one locking
 * (as glibc's _int_realloc). A chunk of tcache size is left for the caller
 * to free. NULL if a has no room: the caller tries the ordinary way.
 *
 * Unlike glibc, the new chunk is 1/32 larger than asked: a buffer that is
 * grown a little at a time then grows in place for a while instead of
 * being copied again at once (a third of the copying in bench/reallocgrow,
 * for about 5% more memory at the peak).
 */
static void *realloc_move_locked(struct kmm_arena *a, struct kmm_chunk *p, size_t size,
				 size_t nb, size_t n)
{
	size_t copy = size - SIZE_SZ;
	size_t slack = (nb >> REALLOC_SLACK_SHIFT) & ~MALIGN_MASK;
	void *m = arena_malloc(a, nb + slack, AM_GROW);

	if (!m)
		m = arena_malloc(a, nb, AM_GROW);

	if (!m)
		return NULL;
	memcpy(m, chunk2mem(p), copy < n ? copy : n);
	if (size > TC_MAX_CHUNK)
		free_locked(a, p, size, true);
	return m;
}

KMM_EXPORT void *realloc(void *mem, size_t n)
{
	struct kmm_chunk *p;
	struct kmm_arena *a;
	size_t size, nb, copy;
	void *m;
	bool done;

	if (!mem)
		return kmm_malloc(n);
	if (n == 0) {
		kmm_free(mem);
		return NULL;
	}
	p = mem2chunk(mem);
	size = csize(p);
	if ((uintptr_t)p > -size || ((uintptr_t)p & MALIGN_MASK))
		kmm_fatal(MSG_REALLOC_POINTER);
	if (n > PTRDIFF_MAX) {
		errno = ENOMEM;
		return NULL;
	}
	nb = req2size(n);
	if (p->size & IS_MMAPPED) {
		if (size - SIZE_SZ >= nb && nb >= size / 2)
			return mem;
		copy = size - HDR_SZ;
	} else {
		if (p->size <= HDR_SZ || (size & MALIGN_MASK))
			kmm_fatal(MSG_REALLOC_OLD_SIZE);
		a = arena_of(p);
		kmm_lock(a);
		if (size >= a->system_mem)
			kmm_fatal(MSG_REALLOC_OLD_SIZE);
		done = realloc_in_place(a, p, size, nb);
		m = NULL;
		if (!done && nb > TC_MAX_CHUNK && a == thread_arena)
			m = realloc_move_locked(a, p, size, nb, n);
		kmm_unlock(a);
		if (done)
			return mem;
		copy = size - SIZE_SZ;
		if (m) {
			if (size <= TC_MAX_CHUNK)
				kmm_free(mem);
			return m;
		}
	}
	m = kmm_malloc(n);
	if (!m)
		return NULL;
	memcpy(m, mem, copy < n ? copy : n);
	kmm_free(mem);
	return m;
}

KMM_EXPORT void *reallocarray(void *mem, size_t nmemb, size_t size)
{
	size_t total;

	if (__builtin_mul_overflow(nmemb, size, &total)) {
		errno = ENOMEM;
		return NULL;
	}
	return realloc(mem, total);
}

KMM_EXPORT void *memalign(size_t align, size_t n)
{
	struct kmm_chunk *p, *q;
	struct kmm_arena *a;
	size_t nb, size;
	char *m;

	if (align <= MALIGN)
		return kmm_malloc(n);
	if (align > SIZE_MAX / 2 + 1) {
		errno = EINVAL;
		return NULL;
	}
	if (align & (align - 1))
		align = 1UL << (64 - __builtin_clzl(align));
	if (n > PTRDIFF_MAX - align - MINSIZE) {
		errno = ENOMEM;
		return NULL;
	}
	nb = req2size(n);
	m = kmm_malloc(nb + align + MINSIZE);
	if (!m)
		return NULL;
	p = mem2chunk(m);
	if ((uintptr_t)m & (align - 1)) {
		size_t lead;

		q = mem2chunk((void *)align_up((uintptr_t)m, align));
		if ((char *)q - (char *)p < (ptrdiff_t)MINSIZE)
			q = chunk_at(q, align);
		lead = (char *)q - (char *)p;
		size = csize(p) - lead;
		if (p->size & IS_MMAPPED) {
			q->prev_size = p->prev_size + lead;
			q->size = size | IS_MMAPPED;
			return chunk2mem(q);
		}
		a = arena_of(p);
		kmm_lock(a);
		q->size = size | PREV_INUSE | a->flag;
		p->size = lead | (p->size & SIZE_FLAGS);
		free_locked(a, p, lead, false);
		p = q;
	} else {
		if (p->size & IS_MMAPPED)
			return m;
		a = arena_of(p);
		kmm_lock(a);
	}
	size = csize(p);
	if (size >= nb + MINSIZE) {
		q = chunk_at(p, nb);
		q->size = (size - nb) | PREV_INUSE | a->flag;
		p->size = nb | (p->size & SIZE_FLAGS);
		free_locked(a, q, size - nb, false);
	}
	kmm_unlock(a);
	return chunk2mem(p);
}

KMM_EXPORT int posix_memalign(void **out, size_t align, size_t n)
{
	int saved = errno, ret = EINVAL;
	void *m;

	if (align == 0 || align % sizeof(void *) ||
	    ((align / sizeof(void *)) & (align / sizeof(void *) - 1)))
		return ret;
	m = memalign(align, n);
	errno = saved;
	ret = ENOMEM;
	if (!m)
		return ret;
	*out = m;
	return 0;
}

KMM_EXPORT void *aligned_alloc(size_t align, size_t n)
{
	return memalign(align, n);
}

static size_t pagesize(void)
{
	return kmm_pagesize ? kmm_pagesize : (size_t)sysconf(_SC_PAGESIZE);
}

KMM_EXPORT void *valloc(size_t n)
{
	return memalign(pagesize(), n);
}

KMM_EXPORT void *pvalloc(size_t n)
{
	size_t ps = pagesize();

	if (n > SIZE_MAX - ps) {
		errno = ENOMEM;
		return NULL;
	}
	return memalign(ps, align_up(n ? n : 1, ps));
}

KMM_EXPORT size_t malloc_usable_size(void *mem)
{
	struct kmm_chunk *p;

	if (!mem)
		return 0;
	p = mem2chunk(mem);
	if (p->size & IS_MMAPPED)
		return csize(p) - HDR_SZ;
	return inuse(p) ? csize(p) - SIZE_SZ : 0;
}

KMM_EXPORT int mallopt(int param, int value)
{
	size_t v = (size_t)value;
	int ret = 1;

	if (!kmm_ready())
		return 0;
	kmm_lock(&main_arena);
	consolidate(&main_arena);
	switch (param) {
	case M_MXFAST:
		if (value >= 0 && v <= MAX_MXFAST_REQ)
			mp.max_fast = value ? req2size(v) : MINSIZE - 1;
		else
			ret = 0;
		break;
	case M_TRIM_THRESHOLD:
		mp.trim_threshold = v;
		mp.no_dyn_threshold = true;
		break;
	case M_TOP_PAD:
		mp.top_pad = v;
		mp.no_dyn_threshold = true;
		break;
	case M_MMAP_THRESHOLD:
		if (value < 0 || v > MMAP_THRESHOLD_MAX) {
			ret = 0;
			break;
		}
		mp.mmap_threshold = v;
		mp.no_dyn_threshold = true;
		break;
	case M_MMAP_MAX:
		mp.n_mmaps_max = value;
		mp.no_dyn_threshold = true;
		break;
	case M_ARENA_MAX:
		if (value > 0)
			mp.arena_max = v;
		break;
	default:
		/* M_CHECK_ACTION, M_PERTURB, M_ARENA_TEST, unknown: accepted */
		break;
	}
	kmm_unlock(&main_arena);
	return ret;
}

struct kmm_arena_stat {
	size_t system, avail, fast_count, fast_bytes, nblocks;
};

static void arena_stat(struct kmm_arena *a, struct kmm_arena_stat *s)
{
	int i;

	kmm_lock(a);
	s->system = a->system_mem;
	s->avail = csize(a->top);
	s->nblocks = 1;
	s->fast_count = 0;
	s->fast_bytes = 0;
	for (i = 0; i < NFASTBINS; i++) {
		struct kmm_chunk *p;

		for (p = a->fast[i]; p; p = reveal_ptr(&p->fd, (uintptr_t)p->fd)) {
			s->fast_count++;
			s->fast_bytes += csize(p);
		}
	}
	s->avail += s->fast_bytes;
	for (i = 1; i < NBINS; i++) {
		struct kmm_chunk *b = bin_at(a, i), *p;

		for (p = b->bk; p != b; p = p->bk) {
			s->nblocks++;
			s->avail += csize(p);
		}
	}
	kmm_unlock(a);
}

KMM_EXPORT struct mallinfo2 mallinfo2(void)
{
	struct mallinfo2 mi;
	struct kmm_arena *a;

	memset(&mi, 0, sizeof(mi));
	if (!kmm_ready())
		return mi;
	for (a = &main_arena; a; a = a->next) {
		struct kmm_arena_stat s;

		arena_stat(a, &s);
		mi.arena += s.system;
		mi.ordblks += s.nblocks;
		mi.smblks += s.fast_count;
		mi.fsmblks += s.fast_bytes;
		mi.fordblks += s.avail;
		mi.uordblks += s.system - s.avail;
		if (a == &main_arena)
			mi.keepcost = csize(a->top);
	}
	mi.hblks = __atomic_load_n(&mp.n_mmaps, __ATOMIC_RELAXED);
	mi.hblkhd = __atomic_load_n(&mp.mmapped_mem, __ATOMIC_RELAXED);
	return mi;
}

KMM_EXPORT struct mallinfo mallinfo(void)
{
	struct mallinfo2 m2 = mallinfo2();
	struct mallinfo mi;

	mi.arena = (int)m2.arena;
	mi.ordblks = (int)m2.ordblks;
	mi.smblks = (int)m2.smblks;
	mi.hblks = (int)m2.hblks;
	mi.hblkhd = (int)m2.hblkhd;
	mi.usmblks = (int)m2.usmblks;
	mi.fsmblks = (int)m2.fsmblks;
	mi.uordblks = (int)m2.uordblks;
	mi.fordblks = (int)m2.fordblks;
	mi.keepcost = (int)m2.keepcost;
	return mi;
}

static void stat_line(const char *label, unsigned long v)
{
	char buf[64];

	kmm_puts(label);
	kmm_puts(kmm_fmt_u(buf, v, 10));
	kmm_puts("\n");
}

KMM_EXPORT void malloc_stats(void)
{
	size_t system = 0, in_use = 0;
	struct kmm_arena *a;
	unsigned long i = 0;
	char buf[64];
	int saved = errno;

	if (!kmm_ready())
		return;
	for (a = &main_arena; a; a = a->next, i++) {
		struct kmm_arena_stat s;

		arena_stat(a, &s);
		kmm_puts("Arena ");
		kmm_puts(kmm_fmt_u(buf, i, 0));
		kmm_puts(":\n");
		stat_line("system bytes     = ", (unsigned int)s.system);
		stat_line("in use bytes     = ", (unsigned int)(s.system - s.avail));
		system += s.system;
		in_use += s.system - s.avail;
	}
	kmm_puts("Total (incl. mmap):\n");
	stat_line("system bytes     = ", (unsigned int)(system + mp.mmapped_mem));
	stat_line("in use bytes     = ", (unsigned int)(in_use + mp.mmapped_mem));
	stat_line("max mmap regions = ", (unsigned int)mp.max_n_mmaps);
	stat_line("max mmap bytes   = ", mp.max_mmapped_mem);
	errno = saved;
}

KMM_EXPORT int malloc_trim(size_t pad)
{
	struct kmm_arena *a;
	int released = 0;

	if (!kmm_ready())
		return 0;
	for (a = &main_arena; a; a = a->next) {
		size_t before;

		kmm_lock(a);
		consolidate(a);
		before = a->system_mem;
		if (a == &main_arena) {
			released |= systrim(a, pad);
		} else {
			size_t saved_pad = mp.top_pad, saved_trim = mp.trim_threshold;

			mp.top_pad = pad;
			mp.trim_threshold = 0;
			heap_trim(a);
			mp.top_pad = saved_pad;
			mp.trim_threshold = saved_trim;
			released |= a->system_mem < before;
		}
		kmm_unlock(a);
	}
	return released;
}

/* Which backend serves this process: "sys", "kmemlab" or NULL (none). */
KMM_EXPORT const char *kml_malloc_backend(void)
{
	if (!kmm_ready())
		return NULL;
	return kmm_be->name;
}

KMM_EXPORT void *__libc_malloc(size_t n) __alias(malloc) __copy(malloc);
KMM_EXPORT void __libc_free(void *mem) __alias(free) __copy(free);
KMM_EXPORT void *__libc_calloc(size_t nmemb, size_t size) __alias(calloc) __copy(calloc);
KMM_EXPORT void *__libc_realloc(void *mem, size_t n) __alias(realloc) __copy(realloc);
KMM_EXPORT void *__libc_memalign(size_t align, size_t n) __alias(memalign) __copy(memalign);
KMM_EXPORT void *__libc_valloc(size_t n) __alias(valloc) __copy(valloc);
KMM_EXPORT void *__libc_pvalloc(size_t n) __alias(pvalloc) __copy(pvalloc);

__attribute__((constructor)) static void kmm_ctor(void)
{
	pthread_atfork(kmm_fork_prepare, kmm_fork_parent, kmm_fork_child);
	kmm_ready();
}

__attribute__((destructor)) static void kmm_dtor(void)
{
	if (kmm_stats_at_exit)
		malloc_stats();
}
