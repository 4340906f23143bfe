/* SPDX-License-Identifier: GPL-2.0 */
/*
 * libkmemlab-malloc: the allocation entry points, their __libc_* aliases,
 * the constructor and destructor.
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
	return kmm_pagesize ? kmm_pagesize : kmm_page_size();
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
	kmm_atfork(kmm_fork_prepare, kmm_fork_parent, kmm_fork_child);
	kmm_ready();
}

__attribute__((destructor)) static void kmm_dtor(void)
{
	if (kmm_stats_at_exit)
		malloc_stats();
}
