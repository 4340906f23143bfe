/* SPDX-License-Identifier: GPL-2.0 */
/*
 * libkmemlab-malloc: kml_malloc_backend, the __libc_* aliases of the entry
 * points, the constructor and the destructor.
 */

/* Which backend serves this process: "sys", "kmemlab" or NULL (none). */
KMM_EXPORT const char *kml_malloc_backend(void)
{
	if (!kmm_ready())
		return NULL;
	return kmm_be->name;
}

KMM_EXPORT void *__libc_malloc(size_t n) __alias(malloc) __copy(malloc);
KMM_EXPORT void __libc_free(void *mem) __alias(free) __copy(free);
KMM_EXPORT void *__libc_calloc(size_t nmemb, size_t size) __alias(calloc) __copy(calloc);
KMM_EXPORT void *__libc_realloc(void *mem, size_t n) __alias(realloc) __copy(realloc);
KMM_EXPORT void *__libc_memalign(size_t align, size_t n) __alias(memalign) __copy(memalign);
KMM_EXPORT void *__libc_valloc(size_t n) __alias(valloc) __copy(valloc);
KMM_EXPORT void *__libc_pvalloc(size_t n) __alias(pvalloc) __copy(pvalloc);

__attribute__((constructor)) static void kmm_ctor(void)
{
	kmm_atfork(kmm_fork_prepare, kmm_fork_parent, kmm_fork_child);
	kmm_ready();
}

__attribute__((destructor)) static void kmm_dtor(void)
{
	if (kmm_stats_at_exit)
		malloc_stats();
}
