/* SPDX-License-Identifier: GPL-2.0 */
/*
 * tap.h - the little TAP printer and helpers the host tests share.
 *
 * Tests are ordinary programs run with LD_PRELOAD=libkmemlab-malloc.so and
 * KMEMLAB_MALLOC_BACKEND=sys (on the host) or kmemlab (in the VM).
 * tap_start() fails the whole program unless the library is really the
 * malloc in use, on that backend.
 */
#ifndef KMM_TAP_H
#define KMM_TAP_H

#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "../compiler.h"
#include "../kmemlab-malloc.h"
#include "../kml.h"

/* NULL unless the library is loaded: its own symbols, looked up weakly */
#pragma weak kml_malloc_backend
#pragma weak kml_malloc_check
#pragma weak kml_sbrk

/* The backend the environment asks for: the library's default is kmemlab. */
static inline const char *tap_backend(void)
{
	const char *be = getenv("KMEMLAB_MALLOC_BACKEND");

	return be && *be ? be : "kmemlab";
}

static int tap_n, tap_failed;

#define TAP_UNUSED __maybe_unused

static __printf(2, 3) void tap_ok(int cond, const char *fmt, ...)
{
	va_list ap;

	printf("%sok %d ", cond ? "" : "not ", ++tap_n);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
	if (!cond)
		tap_failed++;
}

#define ok(cond, ...) tap_ok(!!(cond), __VA_ARGS__)

static int tap_done(void)
{
	printf("# %d tests, %d failed\n", tap_n, tap_failed);
	return tap_failed ? 1 : 0;
}

/* The shim must be the malloc of this process, on the asked-for backend. */
static void tap_start(const char *name)
{
	const char *be = kml_malloc_backend ? kml_malloc_backend() : NULL;
	void *p = malloc(1);

	printf("# %s\n", name);
	if (!be || strcmp(be, tap_backend()) != 0 || (uintptr_t)p & 15 ||
	    malloc_usable_size(p) != 24) {
		tap_ok(0, "%s: libkmemlab-malloc active on the %s backend (got %s)", name,
		       tap_backend(), be ? be : "no shim");
		exit(tap_done());
	}
	free(p);
}

/* The break the malloc moves: the process's own, or its kmemlab heap's. */
static inline uintptr_t cur_brk(void)
{
	if (kml_sbrk && !strcmp(tap_backend(), "kmemlab"))
		return (uintptr_t)kml_sbrk(0);
	return (uintptr_t)syscall(SYS_brk, 0);
}

/* 1 if the page holding p is mapped, 0 if not. */
static inline int page_mapped(const void *p)
{
	long ps = sysconf(_SC_PAGESIZE);
	unsigned char vec;
	void *page = (void *)((uintptr_t)p & ~(uintptr_t)(ps - 1));

	return mincore(page, ps, &vec) == 0 || errno != ENOMEM;
}

/* The chunk header word before the user pointer (size and flags). */
static inline size_t chunk_word(const void *p)
{
	return ((const size_t *)p)[-1];
}

static inline int chunk_mmapped(const void *p)
{
	return (chunk_word(p) & 2) != 0;
}

/*
 * Runs fn in a child with stderr captured; returns its wait status and
 * copies at most len - 1 bytes of its stderr into buf.
 */
static TAP_UNUSED int run_child(void (*fn)(void *), void *arg, char *buf, size_t len)
{
	int pfd[2], status = 0;
	size_t got = 0;
	ssize_t n;
	pid_t pid;

	if (pipe(pfd))
		return -1;
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		close(pfd[0]);
		dup2(pfd[1], 2);
		alarm(20);
		fn(arg);
		_exit(0);
	}
	close(pfd[1]);
	while (got + 1 < len && (n = read(pfd[0], buf + got, len - 1 - got)) > 0)
		got += n;
	buf[got] = '\0';
	close(pfd[0]);
	waitpid(pid, &status, 0);
	return status;
}

#endif /* KMM_TAP_H */
