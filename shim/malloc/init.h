/* SPDX-License-Identifier: GPL-2.0 */
/* libkmemlab-malloc: the environment, initialisation and fork handlers. */

/* ---- initialisation --------------------------------------------------- */

/*
 * A size (kmlsize.h: bytes, K, M or G) from the environment, from min to
 * max: true with *out set. A bad value is reported once, by the one call
 * at initialisation, and ignored; an empty one is taken as unset.
 */
static bool env_size(const char *name, size_t min, size_t max, const char *range, size_t *out)
{
	const char *s = kmm_getenv(name);
	size_t v;

	if (!s || !*s)
		return false;
	if (kml_parse_size(s, &v)) {
		kml_size_complain("kmemlab-malloc", name, s, KML_SIZE_WHY);
		return false;
	}
	if (v < min || v > max) {
		kml_size_complain("kmemlab-malloc", name, s, range);
		return false;
	}
	*out = v;
	return true;
}

static void kmm_read_env(void)
{
	size_t v;
	const char *s;

	if (env_size("KMEMLAB_MALLOC_MMAP_THRESHOLD", 0, MMAP_THRESHOLD_MAX, "more than 32M", &v)) {
		mp.mmap_threshold = v;
		mp.no_dyn_threshold = true;
	}
	if (env_size("KMEMLAB_MALLOC_TRIM_THRESHOLD", 0, SIZE_MAX, "", &v)) {
		mp.trim_threshold = v;
		mp.no_dyn_threshold = true;
	}
	if (env_size("KMEMLAB_MALLOC_TOP_PAD", 0, SIZE_MAX, "", &v)) {
		mp.top_pad = v;
		mp.no_dyn_threshold = true;
	}
	if (env_size("KMEMLAB_MALLOC_ARENA_MAX", 1, SIZE_MAX, "not at least 1", &v))
		mp.arena_max = v;
	s = kmm_getenv("KMEMLAB_MALLOC_STATS");
	kmm_stats_at_exit = s && s[0] == '1';
}

static __cold noinline void kmm_init(void)
{
	kmm_mutex_lock(&kmm_list_lock);
	if (kmm_state == 0) {
		kmm_pagesize = kmm_page_size();
		kmm_be = kmm_backend_select();
		if (!kmm_be) {
			kmm_state = -1;
		} else {
			uintptr_t key = 0;

			kmm_read_env();
			kmm_exit_key_ok = kmm_key_create(&kmm_exit_key, tc_thread_exit);
			arena_init(&main_arena);
			main_arena.attached = 1;
			if (!kmm_random(&key, sizeof(key)))
				key = (uintptr_t)&key * 0x9e3779b97f4a7c15ULL;
			kmm_tcache_key = key | 1;
			thread_arena = &main_arena;
			__atomic_store_n(&kmm_state, 1, __ATOMIC_RELEASE);
		}
	}
	kmm_mutex_unlock(&kmm_list_lock);
}

static inline bool kmm_ready(void)
{
	if (likely(__atomic_load_n(&kmm_state, __ATOMIC_ACQUIRE) == 1))
		return true;
	if (kmm_state == 0)
		kmm_init();
	return kmm_state == 1;
}

/* ---- fork ------------------------------------------------------------- */

static void kmm_fork_prepare(void)
{
	struct kmm_arena *a;

	kmm_mutex_lock(&kmm_list_lock);
	for (a = &main_arena; a; a = a->next)
		kmm_lock(a);
}

static void kmm_fork_parent(void)
{
	struct kmm_arena *a;

	for (a = &main_arena; a; a = a->next)
		kmm_unlock(a);
	kmm_mutex_unlock(&kmm_list_lock);
}

static void kmm_fork_child(void)
{
	struct kmm_arena *a;

	kmm_free_list = NULL;
	for (a = &main_arena; a; a = a->next) {
		kmm_mutex_init(&a->lock);
		a->attached = a == thread_arena;
		if (a != &main_arena && a != thread_arena) {
			a->next_free = kmm_free_list;
			kmm_free_list = a;
		}
	}
	kmm_mutex_init(&kmm_list_lock);
}
