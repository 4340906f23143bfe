/* SPDX-License-Identifier: GPL-2.0 */
/*
 * libkmemlab-malloc: the arena checker, for tests (kml_malloc_check()).
 *
 * For each arena, under its lock: every chunk of its memory from the first
 * to the top (the main arena while its memory is one brk run; every heap
 * of the others), then every bin and fast bin; then the calling thread's
 * tcache. What it verifies:
 *
 *   walk    sizes aligned and at least MINSIZE (but for the two 16-byte
 *           fenceposts that end a heap the top has left), no chunk past
 *           its region, the top last and PREV_INUSE set in it, a clear
 *           PREV_INUSE matching the previous chunk's size, no two free
 *           chunks side by side, boundary tags of free chunks, in-use
 *           chunks carrying the arena's NON_MAIN_ARENA and not IS_MMAPPED,
 *           the regions adding up to system_mem;
 *   bins    links both ways, chunks free (next PREV_INUSE clear, tag),
 *           in the bin of their size, large bins sorted and their
 *           fd_nextsize ring on the first chunk of each size, the binmap
 *           bit of every non-empty bin; as many free chunks and bytes in
 *           the bins as the walk found;
 *   fast    aligned, of the bin's size, still marked in use, have_fast;
 *   tcache  aligned, of the bin's size, marked in use, carrying the key,
 *           as many entries as the bin's room says.
 *
 * Problems go to stderr, one line each (the first 20), with write(2).
 */

/* ---- arena checker ---------------------------------------------------- */

#define CHECK_MAX_LIST	(64UL * 1024 * 1024)	/* longer lists are taken for loops */
#define CHECK_MAX_SAID	20

struct kmm_check {
	struct kmm_arena *a;
	unsigned long idx;		/* arena number, as in malloc_stats */
	unsigned long errors;
	size_t walk_free, walk_bytes;	/* free chunks met by the walk */
	size_t bin_free, bin_bytes;	/* chunks in the bins */
	bool walked;
};

static char *check_hex(char *buf, uintptr_t v)
{
	char *s = buf + 2 + 2 * sizeof(v);

	*s = '\0';
	do {
		*--s = "0123456789abcdef"[v & 15];
		v >>= 4;
	} while (v);
	*--s = 'x';
	*--s = '0';
	return s;
}

static void check_fail(struct kmm_check *c, const char *what, const void *where)
{
	char buf[40];

	if (c->errors++ >= CHECK_MAX_SAID)
		return;
	kmm_puts("kmemlab-malloc: check: arena ");
	kmm_puts(kmm_fmt_u(buf, c->idx, 0));
	kmm_puts(": ");
	kmm_puts(what);
	kmm_puts(" at ");
	kmm_puts(check_hex(buf, (uintptr_t)where));
	kmm_puts("\n");
}

/* Walks [start, end): chunks side by side; the top ends the last region. */
static void check_region(struct kmm_check *c, char *start, char *end, bool last)
{
	struct kmm_arena *a = c->a;
	struct kmm_chunk *p = (struct kmm_chunk *)start, *prev = NULL;
	bool prev_free = false, fence = false;

	if ((uintptr_t)start & MALIGN_MASK) {
		check_fail(c, "region start unaligned", start);
		return;
	}
	while ((char *)p < end) {
		size_t sz = csize(p);
		struct kmm_chunk *next = chunk_at(p, sz);
		bool is_free;

		if (!(p->size & PREV_INUSE) && (!prev || p->prev_size != csize(prev)))
			check_fail(c, "PREV_INUSE clear but prev_size wrong", p);
		if (p == a->top) {
			if (!last || (char *)next != end)
				check_fail(c, "top is not the last chunk", p);
			if (!(p->size & PREV_INUSE))
				check_fail(c, "PREV_INUSE clear in the top", p);
			return;
		}
		if (sz & MALIGN_MASK || (p->size & IS_MMAPPED)) {
			check_fail(c, "bad size or IS_MMAPPED in an arena", p);
			return;
		}
		if (sz == HDR_SZ && !last && (char *)p + 3 * HDR_SZ >= end) {
			/* fenceposts (and a 16-byte rest) where a top was left */
			prev = p;
			prev_free = false;
			fence = true;
			p = next;
			continue;
		}
		if (sz < MINSIZE) {
			check_fail(c, "chunk smaller than MINSIZE", p);
			return;
		}
		if ((char *)next + HDR_SZ > end) {
			check_fail(c, "chunk runs past its region", p);
			return;
		}
		is_free = !(next->size & PREV_INUSE);
		if (is_free) {
			if (prev_free)
				check_fail(c, "two free chunks side by side", p);
			if (next->prev_size != sz)
				check_fail(c, "boundary tag differs from the size", p);
			c->walk_free++;
			c->walk_bytes += sz;
		} else if ((p->size & NON_MAIN_ARENA) != a->flag) {
			check_fail(c, "NON_MAIN_ARENA wrong in an in-use chunk", p);
		}
		prev = p;
		prev_free = is_free;
		p = next;
	}
	if (last)
		check_fail(c, "no top at the end of memory", p);
	else if (!fence || (char *)p != end)
		check_fail(c, "region without fenceposts", p);
}

static void check_walk(struct kmm_check *c)
{
	struct kmm_arena *a = c->a;
	char *top_end = (char *)a->top + csize(a->top);
	struct kmm_heap *h;
	size_t total = 0;
	bool last = true;

	if (!a->system_mem)
		return;
	if (a == &main_arena) {
		if (!a->contiguous)
			return;	/* mmapped segments: not walkable from here */
		check_region(c, top_end - a->system_mem, top_end, true);
		c->walked = true;
		return;
	}
	for (h = heap_of(a->top); h; h = h->prev, last = false) {
		char *start = (char *)(h + 1);

		if (h->ar != a) {
			check_fail(c, "heap of another arena", h);
			return;
		}
		if (h == heap_of(a))
			start = (char *)align_up((uintptr_t)(a + 1), MALIGN);
		if (last && top_end != (char *)h + h->size)
			check_fail(c, "top does not end its heap", a->top);
		check_region(c, start, (char *)h + h->size, last);
		total += h->size;
	}
	if (total != a->system_mem)
		check_fail(c, "heap sizes do not add up to system_mem", a);
	c->walked = true;
}

static void check_bin(struct kmm_check *c, int i)
{
	struct kmm_arena *a = c->a;
	struct kmm_chunk *b = bin_at(a, i), *p;
	size_t n = 0, last = SIZE_MAX;

	if (b->fd != b && i >= 2 && !(a->binmap[i >> 6] & (1UL << (i & 63))))
		check_fail(c, "non-empty bin not marked in the binmap", b);
	for (p = b->fd; p != b; p = p->fd) {
		size_t sz = csize(p);
		struct kmm_chunk *next = chunk_at(p, sz);

		if (++n > CHECK_MAX_LIST || p->fd->bk != p || p->bk->fd != p ||
		    ((uintptr_t)p & MALIGN_MASK)) {
			check_fail(c, "bin list broken", p);
			return;
		}
		c->bin_free++;
		c->bin_bytes += sz;
		if (sz < MINSIZE || (sz & MALIGN_MASK) || sz > a->system_mem) {
			check_fail(c, "bad size in a bin", p);
			continue;
		}
		if ((next->size & PREV_INUSE) || next->prev_size != sz)
			check_fail(c, "chunk in a bin is not free", p);
		if (i >= 2 && bin_index(sz) != i)
			check_fail(c, "chunk in the bin of another size", p);
		if (i < NSMALLBINS)
			continue;
		if (sz > last)
			check_fail(c, "large bin not sorted", p);
		if ((p->bk == b || csize(p->bk) != sz) != !!p->fd_nextsize)
			check_fail(c, "fd_nextsize not on the first chunk of its size", p);
		if (p->fd_nextsize && (p->fd_nextsize->bk_nextsize != p ||
				       p->bk_nextsize->fd_nextsize != p))
			check_fail(c, "nextsize ring broken", p);
		last = sz;
	}
}

static void check_fast(struct kmm_check *c)
{
	struct kmm_arena *a = c->a;
	int i;

	for (i = 0; i < NFASTBINS; i++) {
		struct kmm_chunk *p;
		size_t n = 0;

		if (a->fast[i] && !a->have_fast)
			check_fail(c, "fast chunks but have_fast false", a);
		for (p = a->fast[i]; p; p = reveal_ptr(&p->fd, (uintptr_t)p->fd)) {
			if (++n > CHECK_MAX_LIST || ((uintptr_t)p & MALIGN_MASK)) {
				check_fail(c, "fast bin list broken", p);
				break;
			}
			if (fast_index(csize(p)) != i)
				check_fail(c, "chunk in the fast bin of another size", p);
			else if (!inuse(p))
				check_fail(c, "fast chunk not marked in use", p);
		}
	}
}

static void check_tcache(struct kmm_check *c)
{
	size_t i;

	for (i = 0; i < TC_BINS; i++) {
		struct kmm_tentry *e;
		size_t n = 0;

		for (e = tc.entries[i]; e; e = reveal_ptr(&e->next, e->next)) {
			struct kmm_chunk *p = mem2chunk(e);

			if (++n > TC_FILL || ((uintptr_t)e & MALIGN_MASK)) {
				check_fail(c, "tcache list broken", e);
				break;
			}
			if (e->key != kmm_tcache_key)
				check_fail(c, "tcache entry without the key", p);
			if ((p->size & IS_MMAPPED) || tc_index(csize(p)) != i)
				check_fail(c, "chunk in the tcache bin of another size", p);
			else if (!inuse(p))
				check_fail(c, "tcache chunk not marked in use", p);
		}
		if (tc.active && n + tc.room[i] != TC_FILL)
			check_fail(c, "tcache count differs from its room", &tc.entries[i]);
	}
}

static void check_arena(struct kmm_check *c)
{
	struct kmm_arena *a = c->a;
	int i;

	if (csize(a->top) > a->system_mem)
		check_fail(c, "top larger than the arena", a->top);
	check_walk(c);
	for (i = 1; i < NBINS; i++)
		check_bin(c, i);
	check_fast(c);
	if (c->walked && (c->walk_free != c->bin_free || c->walk_bytes != c->bin_bytes))
		check_fail(c, "free chunks in memory and in the bins differ", a);
}

/*
 * Checks every arena and the calling thread's tcache; the number of
 * problems found (each on stderr), 0 if none. For tests: it takes each
 * arena's lock in turn, and the tcaches of other threads are not seen.
 */
KMM_EXPORT unsigned long kml_malloc_check(void)
{
	struct kmm_check c = { .errors = 0 };
	unsigned long errors = 0, idx = 0;
	struct kmm_arena *a;
	int saved = errno;

	if (!kmm_ready())
		return 0;
	for (a = &main_arena; a; a = __atomic_load_n(&a->next, __ATOMIC_ACQUIRE), idx++) {
		memset(&c, 0, sizeof(c));
		c.a = a;
		c.idx = idx;
		kmm_lock(a);
		check_arena(&c);
		kmm_unlock(a);
		errors += c.errors;
	}
	memset(&c, 0, sizeof(c));
	c.idx = idx;
	check_tcache(&c);
	errno = saved;
	return errors + c.errors;
}
