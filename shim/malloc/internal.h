/* SPDX-License-Identifier: GPL-2.0 */
/*
 * libkmemlab-malloc: constants, chunk, arena and tcache layouts, the
 * global state and small helpers used by every other part.
 */
#include "../os.h"
#include "../backend.h"
#include "../kmemlab-malloc.h"

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
	kmm_abort();
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
	if (!kmm_single_threaded())
		kmm_mutex_lock(&a->lock);
}

static inline void kmm_unlock(struct kmm_arena *a)
{
	if (!kmm_single_threaded())
		kmm_mutex_unlock(&a->lock);
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
