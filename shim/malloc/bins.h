/* SPDX-License-Identifier: GPL-2.0 */
/* libkmemlab-malloc: an arena's bins and the merging of free chunks. */

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
