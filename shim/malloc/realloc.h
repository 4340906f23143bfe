/* SPDX-License-Identifier: GPL-2.0 */
/* libkmemlab-malloc: realloc and reallocarray. */

/* ---- realloc ---------------------------------------------------------- */

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
