/* SPDX-License-Identifier: GPL-2.0 */
/*
 * libkmemlab-malloc: memory from the backend: mmapped chunks, heaps of
 * non-main arenas, giving back the top.
 */

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

/*
 * Non-main arena: unmap wholly free heaps, then, if the top has at least
 * threshold bytes, shrink the top's heap so that pad bytes of it are left.
 */
static void heap_trim(struct kmm_arena *a, size_t threshold, size_t pad)
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
	/* as the main arena: a top of threshold is cut down to pad */
	top_size = csize(a->top);
	if (top_size < threshold || top_size < MINSIZE + 1 + pad)
		return;
	extra = (top_size - MINSIZE - 1 - pad) & ~(kmm_pagesize - 1);
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
