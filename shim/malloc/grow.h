/* SPDX-License-Identifier: GPL-2.0 */
/* libkmemlab-malloc: growing an arena with system memory. */

/* ---- growing an arena ------------------------------------------------ */

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
