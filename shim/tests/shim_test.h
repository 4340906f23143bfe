/* SPDX-License-Identifier: GPL-2.0 */
/*
 * shim_test.h - what the shim's tests share, on kselftest_harness.h.
 *
 * Tests are ordinary programs run with LD_PRELOAD=libkmemlab-malloc.so and
 * KMEMLAB_MALLOC_BACKEND=sys (on the host) or kmemlab (in the VM). Each
 * program's first test, shim_active, fails unless the library is really the
 * malloc in use, on that backend.
 *
 * The harness forks a child per test from a parent that never allocates:
 * stdout is made unbuffered before main (stdio would otherwise malloc its
 * buffer at the harness's first printf), so every test starts on a fresh
 * heap and the seed tests can measure the first malloc.
 */
#ifndef KMM_SHIM_TEST_H
#define KMM_SHIM_TEST_H

#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "kselftest_harness.h"
#include "../compiler.h"
#include "../kmemlab-malloc.h"
#include "../kml.h"

/* A hang, not slowness, ends a test: run.sh allows a program 1200 s. */
#undef TEST_TIMEOUT_DEFAULT
#define TEST_TIMEOUT_DEFAULT 600

/* NULL unless the library is loaded: its own symbols, looked up weakly */
#pragma weak kml_malloc_backend
#pragma weak kml_malloc_check
#pragma weak kml_sbrk

/* Before the harness prints: an unbuffered stdout never allocates. */
static void __attribute__((constructor(101))) shim_test_unbuffered(void)
{
	setvbuf(stdout, NULL, _IONBF, 0);
}

/* The backend the environment asks for: the library's default is kmemlab. */
static inline const char *shim_backend(void)
{
	const char *be = getenv("KMEMLAB_MALLOC_BACKEND");

	return be && *be ? be : "kmemlab";
}

/* The shim must be the malloc of this process, on the asked-for backend. */
TEST(shim_active)
{
	const char *be = kml_malloc_backend ? kml_malloc_backend() : NULL;
	void *p = malloc(1);

	ASSERT_TRUE(be && strcmp(be, shim_backend()) == 0 && !((uintptr_t)p & 15) &&
		    malloc_usable_size(p) == 24)
		TH_LOG("libkmemlab-malloc active on the %s backend (got %s)", shim_backend(),
		       be ? be : "no shim");
	free(p);
}

/* The break the malloc moves: the process's own, or its kmemlab heap's. */
static inline uintptr_t cur_brk(void)
{
	if (kml_sbrk && !strcmp(shim_backend(), "kmemlab"))
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
static __maybe_unused int run_child(void (*fn)(void *), void *arg, char *buf, size_t len)
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
		alarm(300);	/* a hang, not a slow guest */
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

#endif /* KMM_SHIM_TEST_H */
