/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Every call libkmemlab-malloc makes outside itself, but for memory (that
 * is backend.h): the one file to read for the rule that nothing under
 * malloc may call a libc function that allocates, or takes a lock malloc
 * may hold. malloc.c (and its parts) and backend.c include system headers
 * only through this file, and `make -C shim seam` (run by `make test`)
 * fails when malloc.o or backend.o has an undefined symbol not named in
 * the table below. kml.c, the device library under the kmemlab backend,
 * is checked against the same table, but calls the functions itself: it
 * is also linked into tools that do without this header.
 *
 *   symbol                    used for, and why it is safe under malloc
 *   getenv                    the KMEMLAB_MALLOC_* variables, at init:
 *                             reads environ, allocates nothing
 *   sysconf                   the page size and online CPUs: glibc reads
 *                             auxv and /sys with a stack buffer
 *   getrandom                 the tcache key, once (a system call)
 *   syscall, getpid           gettid == getpid: the main thread; and the
 *                             sys backend's brk (backend.c)
 *   __libc_single_threaded    skip the arena locks while single threaded
 *   pthread_mutex_init, pthread_mutex_lock, pthread_mutex_trylock,
 *   pthread_mutex_unlock      the arena and list locks: no allocation
 *   pthread_key_create        the thread-exit key, at init: a static table
 *   pthread_setspecific       setting it: keys below 32 are in the thread
 *                             descriptor, nothing allocated
 *   __cxa_thread_atexit_impl, __dso_handle
 *                             the fallback when the key cannot be set: it
 *                             calls calloc, i.e. this malloc, so it is
 *                             only called with no lock held
 *   pthread_atfork            the fork handlers, from the constructor: no
 *                             allocation in glibc 2.36 (static storage)
 *   write                     messages on stderr (kml_puts, kmlsize.h)
 *   abort                     after a misuse message
 *   strerrordesc_np, strcmp   backend.c's choice and its message: static
 *                             strings, no locale, no allocation
 *   mmap, munmap              the sys backend (backend.c) and kml.c
 *   open, fcntl, ioctl, close kml.c: the device, its heap reservation and
 *                             break moves (system calls)
 *   memcpy, memset, strlen    pure memory functions
 *   __errno_location          errno (a thread-local variable)
 *   _GLOBAL_OFFSET_TABLE_     not a call: the linker's table
 *
 * The allocator itself calls the wrappers below, never the functions.
 */
#ifndef KML_MALLOC_OS_H
#define KML_MALLOC_OS_H

#include <errno.h>
#include <limits.h>
#include <malloc.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/single_threaded.h>
#include <sys/syscall.h>
#include <sys/types.h>

#include "compiler.h"
#include "kmlsize.h"

/* glibc's thread-exit destructors and this object's handle for them */
extern void *__dso_handle;
int __cxa_thread_atexit_impl(void (*func)(void *), void *obj, void *dso);

static inline const char *kmm_getenv(const char *name)
{
	return getenv(name);
}

static inline size_t kmm_page_size(void)
{
	return (size_t)sysconf(_SC_PAGESIZE);
}

static inline long kmm_online_cpus(void)
{
	return sysconf(_SC_NPROCESSORS_ONLN);
}

/* true when len random bytes are in buf */
static inline bool kmm_random(void *buf, size_t len)
{
	return getrandom(buf, len, GRND_NONBLOCK) == (ssize_t)len;
}

static inline bool kmm_is_main_thread(void)
{
	return syscall(SYS_gettid) == getpid();
}

static inline bool kmm_single_threaded(void)
{
	return __libc_single_threaded;
}

static inline void kmm_mutex_init(pthread_mutex_t *m)
{
	pthread_mutex_init(m, NULL);
}

static inline void kmm_mutex_lock(pthread_mutex_t *m)
{
	pthread_mutex_lock(m);
}

/* true when the mutex is taken */
static inline bool kmm_mutex_trylock(pthread_mutex_t *m)
{
	return !pthread_mutex_trylock(m);
}

static inline void kmm_mutex_unlock(pthread_mutex_t *m)
{
	pthread_mutex_unlock(m);
}

/* true when the key exists */
static inline bool kmm_key_create(pthread_key_t *key, void (*dtor)(void *))
{
	return !pthread_key_create(key, dtor);
}

/* true when set */
static inline bool kmm_key_set(pthread_key_t key, const void *value)
{
	return !pthread_setspecific(key, value);
}

/* fn(NULL) at this thread's exit; allocates with this malloc: no lock held */
static inline void kmm_thread_atexit(void (*fn)(void *))
{
	__cxa_thread_atexit_impl(fn, NULL, &__dso_handle);
}

static inline void kmm_atfork(void (*prepare)(void), void (*parent)(void), void (*child)(void))
{
	pthread_atfork(prepare, parent, child);
}

static inline __noreturn void kmm_abort(void)
{
	abort();
}

#endif /* KML_MALLOC_OS_H */
