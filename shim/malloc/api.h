/* SPDX-License-Identifier: GPL-2.0 */
/*
 * libkmemlab-malloc: malloc, free, cfree and calloc, with the slow paths
 * behind their tcache fast paths.
 */

/* ---- entry points ----------------------------------------------------- */

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
		if (b == a || !kmm_mutex_trylock(&b->lock))
			continue;
		m = arena_malloc(b, nb, AM_FREE);
		kmm_mutex_unlock(&b->lock);
		if (m)
			return m;
	}
	return NULL;
}

static void *arena_alloc(size_t nb)
{
	struct kmm_arena *a = arena_get(), *b;
	bool borrow = !kmm_single_threaded() && nb < mp.mmap_threshold &&
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

KMM_EXPORT void *malloc(size_t n)
{
	return kmm_malloc(n);
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
