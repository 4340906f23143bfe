/* SPDX-License-Identifier: GPL-2.0 */
/* libkmemlab-malloc: allocation inside one arena. */

/* ---- allocation inside an arena --------------------------------------- */

/* Takes victim out of its bin and splits off what nb does not need. */
static void *take_chunk(struct kmm_arena *a, struct kmm_chunk *victim, size_t nb)
{
	size_t size = csize(victim), rsize = size - nb;
	struct kmm_chunk *rem;

	unlink_chunk(victim);
	if (rsize < MINSIZE) {
		set_inuse_at(victim, size);
		victim->size |= a->flag;
		return chunk2mem(victim);
	}
	rem = chunk_at(victim, nb);
	if (unsorted(a)->fd->bk != unsorted(a))
		kmm_fatal("malloc(): corrupted unsorted chunks");
	unsorted_push(a, rem, rsize);
	if (nb < MIN_LARGE_SIZE)
		a->last_remainder = rem;
	victim->size = nb | PREV_INUSE | a->flag;
	rem->size = rsize | PREV_INUSE;
	set_foot(rem, rsize);
	return chunk2mem(victim);
}

/* how far arena_malloc() may go */
#define AM_FREE		0	/* free chunks only */
#define AM_TOP		1	/* and the top chunk */
#define AM_GROW		2	/* and memory from the system */

static void *arena_malloc(struct kmm_arena *a, size_t nb, int reach)
{
	struct kmm_chunk *victim, *b, *bck, *ub = unsorted(a);
	size_t tci = tc_index(nb);
	bool cache = tc.active && nb <= TC_MAX_CHUNK, cached = false;
	int idx;

	if (nb <= mp.max_fast) {
		struct kmm_chunk **fb = &a->fast[fast_index(nb)];

		victim = *fb;
		if (victim) {
			if ((uintptr_t)victim & MALIGN_MASK)
				kmm_fatal("malloc(): unaligned fastbin chunk detected 2");
			*fb = reveal_ptr(&victim->fd, (uintptr_t)victim->fd);
			if (fast_index(csize(victim)) != fast_index(nb))
				kmm_fatal("malloc(): memory corruption (fast)");
			while (cache && tc.room[tci] && *fb) {
				struct kmm_chunk *p = *fb;

				if ((uintptr_t)p & MALIGN_MASK)
					kmm_fatal("malloc(): unaligned fastbin chunk detected 3");
				*fb = reveal_ptr(&p->fd, (uintptr_t)p->fd);
				tc_put(p, tci);
			}
			return chunk2mem(victim);
		}
	}
	if (nb < MIN_LARGE_SIZE) {
		idx = (int)(nb >> 4);
		b = bin_at(a, idx);
		victim = b->bk;
		if (victim != b) {
			if (victim->bk->fd != victim)
				kmm_fatal("malloc(): smallbin double linked list corrupted");
			unlink_chunk(victim);
			set_inuse_at(victim, nb);
			victim->size |= a->flag;
			while (cache && tc.room[tci] && b->bk != b) {
				struct kmm_chunk *p = b->bk;

				unlink_chunk(p);
				set_inuse_at(p, nb);
				p->size |= a->flag;
				tc_put(p, tci);
			}
			return chunk2mem(victim);
		}
	} else {
		idx = large_index(nb);
		if (a->have_fast)
			consolidate(a);
	}

	for (;;) {
		int iters = 0;

		while ((victim = ub->bk) != ub) {
			size_t size = csize(victim);
			struct kmm_chunk *next = chunk_at(victim, size);

			bck = victim->bk;
			if (victim->size <= HDR_SZ || size > a->system_mem)
				kmm_fatal("malloc(): invalid size (unsorted)");
			if (next->size < HDR_SZ || next->size > a->system_mem)
				kmm_fatal("malloc(): invalid next size (unsorted)");
			if (next->prev_size != size)
				kmm_fatal("malloc(): mismatching next->prev_size (unsorted)");
			if (bck->fd != victim || victim->fd != ub)
				kmm_fatal("malloc(): unsorted double linked list corrupted");
			if (next->size & PREV_INUSE)
				kmm_fatal("malloc(): invalid next->prev_inuse (unsorted)");

			if (nb < MIN_LARGE_SIZE && bck == ub && victim == a->last_remainder &&
			    size > nb + MINSIZE) {
				struct kmm_chunk *rem = chunk_at(victim, nb);

				ub->fd = rem;
				ub->bk = rem;
				rem->fd = ub;
				rem->bk = ub;
				if (size - nb >= MIN_LARGE_SIZE)
					rem->fd_nextsize = NULL;
				a->last_remainder = rem;
				victim->size = nb | PREV_INUSE | a->flag;
				rem->size = (size - nb) | PREV_INUSE;
				set_foot(rem, size - nb);
				return chunk2mem(victim);
			}
			ub->bk = bck;
			bck->fd = ub;
			if (size == nb) {
				set_inuse_at(victim, size);
				victim->size |= a->flag;
				if (cache && tc.room[tci]) {
					tc_put(victim, tci);
					cached = true;
					continue;
				}
				return chunk2mem(victim);
			}
			bin_insert(a, victim, size);
			if (++iters >= UNSORTED_MAX_ITERS)
				break;
		}
		if (cached)
			return tc_get(tci, tc.entries[tci]);

		if (nb >= MIN_LARGE_SIZE) {
			b = bin_at(a, idx);
			if (b->fd != b && csize(b->fd) >= nb) {
				/* from the smallest leader up to the first fit */
				victim = b->fd->bk_nextsize;
				while (csize(victim) < nb)
					victim = victim->bk_nextsize;
				/* a follower, if any, spares relinking the ring */
				if (victim != b->bk && csize(victim->fd) == csize(victim))
					victim = victim->fd;
				return take_chunk(a, victim, nb);
			}
		}

		/* the smallest chunk of the next non-empty bin fits */
		for (idx = next_marked_bin(a, idx + 1); idx < NBINS;
		     idx = next_marked_bin(a, idx + 1)) {
			b = bin_at(a, idx);
			if (b->bk != b)
				return take_chunk(a, b->bk, nb);
			a->binmap[idx >> 6] &= ~(1UL << (idx & 63));
		}

		victim = a->top;
		if (csize(victim) > a->system_mem)
			kmm_fatal("malloc(): corrupted top size");
		if (reach >= AM_TOP && csize(victim) >= nb + MINSIZE) {
			size_t size = csize(victim);

			a->top = chunk_at(victim, nb);
			a->top->size = (size - nb) | PREV_INUSE;
			victim->size = nb | PREV_INUSE | a->flag;
			return chunk2mem(victim);
		}
		if (!a->have_fast)
			return reach == AM_GROW ? sysmalloc(a, nb) : NULL;
		consolidate(a);
		idx = bin_index(nb);
	}
}
