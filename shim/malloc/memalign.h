/* SPDX-License-Identifier: GPL-2.0 */
/*
 * libkmemlab-malloc: the aligned allocations (memalign, posix_memalign,
 * aligned_alloc, valloc, pvalloc) and malloc_usable_size.
 */

/* ---- aligned allocation ----------------------------------------------- */

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
