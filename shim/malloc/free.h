/* SPDX-License-Identifier: GPL-2.0 */
/* libkmemlab-malloc: freeing into an arena, and tidying one. */

/* ---- freeing into an arena ------------------------------------------- */

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
		heap_trim(a, mp.trim_threshold, mp.top_pad);
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
