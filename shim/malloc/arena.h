/* SPDX-License-Identifier: GPL-2.0 */
/* libkmemlab-malloc: creating arenas and attaching threads to them. */

/* ---- arenas ----------------------------------------------------------- */

static void arena_init(struct kmm_arena *a)
{
	int i;

	for (i = 0; i < NBINS; i++) {
		a->bins[i].fd = &a->bins[i];
		a->bins[i].bk = &a->bins[i];
		a->bins[i].fd_nextsize = &a->bins[i];
	}
	a->initial_top.size = 0;
	a->top = &a->initial_top;
	a->contiguous = true;
}

static size_t arena_limit(void)
{
	long n;

	if (mp.arena_max)
		return mp.arena_max;
	n = kmm_online_cpus();
	return 8 * (size_t)(n > 0 ? n : 1);
}

static struct kmm_arena *new_arena(void)
{
	struct kmm_heap *h = new_heap(sizeof(*h) + sizeof(struct kmm_arena) + MALIGN, mp.top_pad);
	struct kmm_arena *a;
	char *top;

	if (!h)
		return NULL;
	a = (struct kmm_arena *)(h + 1);
	memset(a, 0, sizeof(*a));
	kmm_mutex_init(&a->lock);
	arena_init(a);
	a->flag = NON_MAIN_ARENA;
	a->contiguous = false;
	h->ar = a;
	top = (char *)align_up((uintptr_t)(a + 1), MALIGN);
	a->top = (struct kmm_chunk *)top;
	a->top->size = ((char *)h + h->size - top) | PREV_INUSE;
	account(a, h->size);
	a->next = main_arena.next;
	__atomic_store_n(&main_arena.next, a, __ATOMIC_RELEASE);	/* arena_borrow() */
	mp.narenas++;
	return a;
}

/*
 * The detached arena with the most memory: it is likeliest to have room for
 * the new thread's blocks while other threads still free its old ones into
 * it, so that fewer arenas grow. Under kmm_list_lock; system_mem is read
 * without the arena's lock (remote frees may be trimming it): only a hint.
 */
static struct kmm_arena *take_free_arena(void)
{
	struct kmm_arena **best = &kmm_free_list, **pp, *a;

	if (!kmm_free_list)
		return NULL;
	for (pp = &kmm_free_list; *pp; pp = &(*pp)->next_free)
		if (__atomic_load_n(&(*pp)->system_mem, __ATOMIC_RELAXED) >
		    __atomic_load_n(&(*best)->system_mem, __ATOMIC_RELAXED))
			best = pp;
	a = *best;
	*best = a->next_free;
	return a;
}

/* A thread's first arena: a detached one, a new one, or a shared one. */
static __cold noinline struct kmm_arena *arena_attach(void)
{
	struct kmm_arena *a;

	kmm_mutex_lock(&kmm_list_lock);
	a = take_free_arena();
	if (!a && mp.narenas < arena_limit())
		a = new_arena();
	if (!a) {
		a = kmm_next_reuse ? kmm_next_reuse : &main_arena;
		kmm_next_reuse = a->next;
	}
	a->attached++;
	kmm_mutex_unlock(&kmm_list_lock);
	thread_arena = a;
	return a;
}

static void kmm_detach_arena(void)
{
	struct kmm_arena *a = thread_arena;

	if (!a)
		return;
	kmm_mutex_lock(&kmm_list_lock);
	if (a->attached && --a->attached == 0 && a != &main_arena) {
		a->next_free = kmm_free_list;
		kmm_free_list = a;
	}
	kmm_mutex_unlock(&kmm_list_lock);
	thread_arena = &main_arena;
}

static inline struct kmm_arena *arena_get(void)
{
	struct kmm_arena *a = thread_arena;

	return a ? a : arena_attach();
}
