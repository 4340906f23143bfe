/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What libkmemlab-malloc exports besides the standard malloc family of
 * <stdlib.h> and <malloc.h>: glibc's aliases and compatibility names, and
 * two functions of its own.
 */
#ifndef KMEMLAB_MALLOC_H
#define KMEMLAB_MALLOC_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The backend serving this process, "kmemlab" or "sys"; NULL if none works. */
const char *kml_malloc_backend(void);

/*
 * For tests: checks the invariants of every arena's chunks and bins and of
 * the calling thread's tcache; the number of problems, each told on stderr.
 */
unsigned long kml_malloc_check(void);

void cfree(void *mem);
void *__libc_malloc(size_t n);
void __libc_free(void *mem);
void *__libc_calloc(size_t nmemb, size_t size);
void *__libc_realloc(void *mem, size_t n);
void *__libc_memalign(size_t align, size_t n);
void *__libc_valloc(size_t n);
void *__libc_pvalloc(size_t n);

#ifdef __cplusplus
}
#endif

#endif /* KMEMLAB_MALLOC_H */
