/* SPDX-License-Identifier: GPL-2.0 */
/* libkmemlab-malloc: the per-thread cache's lists (no lock). */

/* ---- tcache ----------------------------------------------------------- */

static inline void tc_put(struct kmm_chunk *p, size_t idx)
{
	struct kmm_tentry *e = chunk2mem(p);

	e->key = kmm_tcache_key;
	e->next = protect_ptr(&e->next, tc.entries[idx]);
	tc.entries[idx] = e;
	tc.room[idx]--;
}

static inline void *tc_get(size_t idx, struct kmm_tentry *e)
{
	struct kmm_tentry *next = reveal_ptr(&e->next, e->next);

	if (unlikely((uintptr_t)next & MALIGN_MASK))
		kmm_fatal("malloc(): unaligned tcache chunk detected");
	tc.entries[idx] = next;
	tc.room[idx]++;
	e->key = 0;
	return e;
}

static __noreturn __cold noinline void tc_double_free(void)
{
	kmm_fatal("free(): double free detected in tcache 2");
}

/* e carries the tcache key: it is in a tcache, or the key is a coincidence. */
static __cold noinline void tc_check_double_free(struct kmm_tentry *e, size_t idx)
{
	struct kmm_tentry *t;
	unsigned int n = 0;

	for (t = tc.entries[idx]; t; t = reveal_ptr(&t->next, t->next)) {
		if (n++ >= TC_FILL)
			kmm_fatal("free(): too many chunks detected in tcache");
		if ((uintptr_t)t & MALIGN_MASK)
			kmm_fatal("free(): unaligned chunk detected in tcache 2");
		if (t == e)
			tc_double_free();
	}
}
