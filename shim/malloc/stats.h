/* SPDX-License-Identifier: GPL-2.0 */
/*
 * libkmemlab-malloc: the tuning and statistics entry points: mallopt,
 * mallinfo2, mallinfo, malloc_stats, malloc_trim.
 */

/* ---- tuning and statistics ------------------------------------------ */

KMM_EXPORT int mallopt(int param, int value)
{
	size_t v = (size_t)value;
	int ret = 1;

	if (!kmm_ready())
		return 0;
	kmm_lock(&main_arena);
	consolidate(&main_arena);
	switch (param) {
	case M_MXFAST:
		if (value >= 0 && v <= MAX_MXFAST_REQ)
			mp.max_fast = value ? req2size(v) : MINSIZE - 1;
		else
			ret = 0;
		break;
	case M_TRIM_THRESHOLD:
		mp.trim_threshold = v;
		mp.no_dyn_threshold = true;
		break;
	case M_TOP_PAD:
		mp.top_pad = v;
		mp.no_dyn_threshold = true;
		break;
	case M_MMAP_THRESHOLD:
		if (value < 0 || v > MMAP_THRESHOLD_MAX) {
			ret = 0;
			break;
		}
		mp.mmap_threshold = v;
		mp.no_dyn_threshold = true;
		break;
	case M_MMAP_MAX:
		mp.n_mmaps_max = value;
		mp.no_dyn_threshold = true;
		break;
	case M_ARENA_MAX:
		if (value > 0)
			mp.arena_max = v;
		break;
	default:
		/* M_CHECK_ACTION, M_PERTURB, M_ARENA_TEST, unknown: accepted */
		break;
	}
	kmm_unlock(&main_arena);
	return ret;
}

struct kmm_arena_stat {
	size_t system, avail, fast_count, fast_bytes, nblocks;
};

static void arena_stat(struct kmm_arena *a, struct kmm_arena_stat *s)
{
	int i;

	kmm_lock(a);
	s->system = a->system_mem;
	s->avail = csize(a->top);
	s->nblocks = 1;
	s->fast_count = 0;
	s->fast_bytes = 0;
	for (i = 0; i < NFASTBINS; i++) {
		struct kmm_chunk *p;

		for (p = a->fast[i]; p; p = reveal_ptr(&p->fd, (uintptr_t)p->fd)) {
			s->fast_count++;
			s->fast_bytes += csize(p);
		}
	}
	s->avail += s->fast_bytes;
	for (i = 1; i < NBINS; i++) {
		struct kmm_chunk *b = bin_at(a, i), *p;

		for (p = b->bk; p != b; p = p->bk) {
			s->nblocks++;
			s->avail += csize(p);
		}
	}
	kmm_unlock(a);
}

KMM_EXPORT struct mallinfo2 mallinfo2(void)
{
	struct mallinfo2 mi;
	struct kmm_arena *a;

	memset(&mi, 0, sizeof(mi));
	if (!kmm_ready())
		return mi;
	for (a = &main_arena; a; a = a->next) {
		struct kmm_arena_stat s;

		arena_stat(a, &s);
		mi.arena += s.system;
		mi.ordblks += s.nblocks;
		mi.smblks += s.fast_count;
		mi.fsmblks += s.fast_bytes;
		mi.fordblks += s.avail;
		mi.uordblks += s.system - s.avail;
		if (a == &main_arena)
			mi.keepcost = csize(a->top);
	}
	mi.hblks = __atomic_load_n(&mp.n_mmaps, __ATOMIC_RELAXED);
	mi.hblkhd = __atomic_load_n(&mp.mmapped_mem, __ATOMIC_RELAXED);
	return mi;
}

KMM_EXPORT struct mallinfo mallinfo(void)
{
	struct mallinfo2 m2 = mallinfo2();
	struct mallinfo mi;

	mi.arena = (int)m2.arena;
	mi.ordblks = (int)m2.ordblks;
	mi.smblks = (int)m2.smblks;
	mi.hblks = (int)m2.hblks;
	mi.hblkhd = (int)m2.hblkhd;
	mi.usmblks = (int)m2.usmblks;
	mi.fsmblks = (int)m2.fsmblks;
	mi.uordblks = (int)m2.uordblks;
	mi.fordblks = (int)m2.fordblks;
	mi.keepcost = (int)m2.keepcost;
	return mi;
}

static void stat_line(const char *label, unsigned long v)
{
	char buf[64];

	kmm_puts(label);
	kmm_puts(kmm_fmt_u(buf, v, 10));
	kmm_puts("\n");
}

KMM_EXPORT void malloc_stats(void)
{
	size_t system = 0, in_use = 0;
	struct kmm_arena *a;
	unsigned long i = 0;
	char buf[64];
	int saved = errno;

	if (!kmm_ready())
		return;
	for (a = &main_arena; a; a = a->next, i++) {
		struct kmm_arena_stat s;

		arena_stat(a, &s);
		kmm_puts("Arena ");
		kmm_puts(kmm_fmt_u(buf, i, 0));
		kmm_puts(":\n");
		stat_line("system bytes     = ", (unsigned int)s.system);
		stat_line("in use bytes     = ", (unsigned int)(s.system - s.avail));
		system += s.system;
		in_use += s.system - s.avail;
	}
	kmm_puts("Total (incl. mmap):\n");
	stat_line("system bytes     = ", (unsigned int)(system + mp.mmapped_mem));
	stat_line("in use bytes     = ", (unsigned int)(in_use + mp.mmapped_mem));
	stat_line("max mmap regions = ", (unsigned int)mp.max_n_mmaps);
	stat_line("max mmap bytes   = ", mp.max_mmapped_mem);
	errno = saved;
}

KMM_EXPORT int malloc_trim(size_t pad)
{
	struct kmm_arena *a;
	int released = 0;

	if (!kmm_ready())
		return 0;
	for (a = &main_arena; a; a = a->next) {
		size_t before;

		kmm_lock(a);
		consolidate(a);
		before = a->system_mem;
		if (a == &main_arena) {
			released |= systrim(a, pad);
		} else {
			heap_trim(a, 0, pad);
			released |= a->system_mem < before;
		}
		kmm_unlock(a);
	}
	return released;
}
