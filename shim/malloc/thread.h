/* SPDX-License-Identifier: GPL-2.0 */
/* libkmemlab-malloc: a thread's tcache set up at first use, flushed at exit. */

/* ---- thread start and exit ------------------------------------------- */

#define TC_EXIT_TRIM	4	/* arenas tidied at thread exit, at most */

/*
 * Thread exit: every cached chunk goes back to its arena. Those arenas and
 * the thread's own, then every other one not locked at the time, merge
 * their fast chunks and give back a free top:
 * memory that comes back in small pieces (chunks freed by other threads
 * into a detached arena, a consumer's cache) would otherwise stay split by
 * fast chunks until that arena next frees 64 KiB at once.
 */
static void tc_thread_exit(void *unused)
{
	struct kmm_arena *seen[TC_EXIT_TRIM], *a;
	size_t i, j, n = 0;

	(void)unused;
	tc.dead = true;
	if (thread_arena)
		seen[n++] = thread_arena;
	for (i = 0; i < TC_BINS; i++) {
		while (tc.entries[i]) {
			struct kmm_tentry *e = tc.entries[i];
			struct kmm_chunk *p = mem2chunk(e);

			a = arena_of(p);
			tc.entries[i] = reveal_ptr(&e->next, e->next);
			e->key = 0;
			kmm_free_chunk(a, p, csize(p));
			for (j = 0; j < n && seen[j] != a; j++)
				;
			if (j == n && n < TC_EXIT_TRIM)
				seen[n++] = a;
		}
		tc.room[i] = 0;
	}
	for (j = 0; j < n; j++)
		arena_tidy(seen[j]);
	kmm_detach_arena();
	/* the others, above all detached ones, if nobody holds them */
	for (a = &main_arena; a; a = __atomic_load_n(&a->next, __ATOMIC_ACQUIRE)) {
		for (j = 0; j < n && seen[j] != a; j++)
			;
		if (j == n && kmm_mutex_trylock(&a->lock)) {
			tidy_locked(a);
			kmm_mutex_unlock(&a->lock);
		}
	}
}

static __cold noinline void tc_thread_init(void)
{
	size_t i;

	if (tc.active || tc.dead || kmm_state != 1)
		return;
	for (i = 0; i < TC_BINS; i++)
		tc.room[i] = TC_FILL;
	tc.active = true;
	/*
	 * The main thread's cache dies with the process. Others are flushed
	 * by a thread-specific key's destructor: setting a key allocates
	 * nothing, so a thread that only frees gets no arena.
	 */
	if (kmm_is_main_thread())
		return;
	if (!kmm_exit_key_ok || !kmm_key_set(kmm_exit_key, &tc))
		kmm_thread_atexit(tc_thread_exit);
}
