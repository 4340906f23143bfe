// SPDX-License-Identifier: GPL-2.0
/*
 * kmlheap - a process with a kmemlab heap, driven step by step from the
 * command line (the demo's brk/mmap chapter), and the heap benchmark.
 *
 *   kmlheap STEP...    run the steps in order, in one process:
 *     sbrk N           move the break by N bytes (K/M suffix; may be negative)
 *     touch OFF LEN    write one byte in each page of [start+OFF, start+OFF+LEN)
 *     zero OFF LEN     check that [start+OFF, start+OFF+LEN) reads zero
 *     mmap LEN         make a chunk with kml_mmap and touch nothing
 *     touchmap LEN     write one byte in each page of the first LEN of the chunk
 *     munmap           kml_munmap the chunk
 *     heap             this process's line of debugfs heaps, with its header
 *     fork             fork: the child runs the steps after this one, the
 *                      parent says how long fork() took, waits for the child
 *                      and exits with its status
 *     sh CMD           run CMD with sh -c
 *   kmlheap bench MB   fault rate: kmemlab's brk and chunks next to the
 *                      kernel's own brk and anonymous mmap, touched page by page
 *                      (the kernel's with MADV_NOHUGEPAGE: one fault a page, as
 *                      kmemlab; minor faults are counted with getrusage)
 */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "kml.h"
#include "kmlsize.h"

#define HEAPS "/sys/kernel/debug/kmemlab/heaps"

static char *start, *chunk;
static size_t chunk_len;
static long page_size;

/* A size (kmlsize.h), with a leading '-' for sbrk; LONG_MIN when bad. */
static long parse(const char *s)
{
	int neg = *s == '-';
	size_t v;

	if (kml_parse_size(s + neg, &v) || v > LONG_MAX)
		return LONG_MIN;
	return neg ? -(long)v : (long)v;
}

static int fork_step(void)
{
	struct timespec t0, t1;
	int status;
	pid_t pid;

	fflush(stdout);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	pid = fork();
	if (pid < 0) {
		perror("kmlheap: fork");
		return 1;
	}
	if (!pid)
		return 0;	/* the child goes on with the next step */
	clock_gettime(CLOCK_MONOTONIC, &t1);
	printf("fork() took %ld us; child %d runs the next steps\n",
	       (t1.tv_sec - t0.tv_sec) * 1000000 + (t1.tv_nsec - t0.tv_nsec) / 1000, pid);
	fflush(stdout);
	if (waitpid(pid, &status, 0) != pid)
		return 1;
	exit(WIFEXITED(status) ? WEXITSTATUS(status) : 1);
}

static int show_heap(void)
{
	char line[512], mine[16];
	FILE *f = fopen(HEAPS, "r");
	int n = 0;

	if (!f) {
		perror(HEAPS);
		return 1;
	}
	snprintf(mine, sizeof(mine), "%d ", getpid());
	while (fgets(line, sizeof(line), f))
		if (n++ == 0 || !strncmp(line + strspn(line, " "), mine, strlen(mine)))
			fputs(line, stdout);
	fclose(f);
	return 0;
}

static void touch(char *p, size_t len)
{
	size_t i;

	for (i = 0; i < len; i += page_size)
		p[i] = 1;
}

static double now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec + t.tv_nsec / 1e9;
}

enum { KML_BRK, KML_CHUNK, SYS_BRK, SYS_MMAP };

static long minflt(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_minflt;
}

/*
 * Seconds to fault in len bytes of fresh memory of the given kind, and the
 * faults taken in *faults; < 0 on failure.
 */
static double fault_run(int kind, size_t len, long *faults)
{
	double t0, t;
	long f0;
	char *p;

	switch (kind) {
	case KML_BRK:
		p = kml_sbrk(len);
		break;
	case SYS_BRK:
		p = sbrk(len);
		break;
	case KML_CHUNK:
		p = kml_mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		break;
	default:
		p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	}
	if (p == (void *)-1)
		return -1;
	if (kind == SYS_BRK || kind == SYS_MMAP) {
		char *a = (char *)(((unsigned long)p + page_size - 1) & ~(page_size - 1));

		madvise(a, len - (a - p), MADV_NOHUGEPAGE);
	}
	f0 = minflt();
	t0 = now();
	touch(p, len);
	t = now() - t0;
	*faults = minflt() - f0;
	if (kind == KML_BRK)
		kml_sbrk(-(long)len);
	else if (kind == SYS_BRK)
		sbrk(-(long)len);
	else if (kind == KML_CHUNK)
		kml_munmap(p, len);
	else
		munmap(p, len);
	return t;
}

/* Best of 5 rounds: faults per second for each kind, and the ratios. */
static int bench(long mb)
{
	static const char *const name[] = {
		"kmemlab brk", "kmemlab chunk", "kernel brk", "kernel mmap",
	};
	size_t len = (size_t)mb << 20;
	long faults[4];
	double best[4];
	int kind, round;

	for (kind = 0; kind < 4; kind++) {
		best[kind] = 1e9;
		for (round = 0; round < 5; round++) {
			double t = fault_run(kind, len, &faults[kind]);

			if (t < 0) {
				fprintf(stderr, "kmlheap: %s of %ld MiB failed: %s\n",
					name[kind], mb, strerror(errno));
				return 1;
			}
			if (t < best[kind])
				best[kind] = t;
		}
	}
	printf("  %-16s %8s %12s %10s   (%ld MiB touched page by page, best of 5)\n", "heap",
	       "faults", "faults/s", "ns/fault", mb);
	for (kind = 0; kind < 4; kind++)
		printf("  %-16s %8ld %12.0f %10.0f\n", name[kind], faults[kind],
		       faults[kind] / best[kind],
		       best[kind] * 1e9 / (faults[kind] ? faults[kind] : 1));
	printf("  ratio kmemlab brk / kernel brk (time per fault): %.2f\n",
	       best[KML_BRK] / best[SYS_BRK]);
	printf("  ratio kmemlab chunk / kernel mmap (time per fault): %.2f\n",
	       best[KML_CHUNK] / best[SYS_MMAP]);
	return 0;
}

static int step(char **argv, int *i)
{
	const char *cmd = argv[*i];
	long a, b;
	char *p;

	if (!strcmp(cmd, "heap"))
		return show_heap();
	if (!strcmp(cmd, "fork"))
		return fork_step();
	if (!strcmp(cmd, "munmap")) {
		printf("kml_munmap(%p, %zu)\n", (void *)chunk, chunk_len);
		return chunk && kml_munmap(chunk, chunk_len) ? 1 : 0;
	}
	if (!argv[*i + 1])
		goto usage;
	if (!strcmp(cmd, "sh")) {
		fflush(stdout);
		return system(argv[++*i]) ? 1 : 0;
	}
	a = parse(argv[++*i]);
	if (a == LONG_MIN)
		goto usage;
	if (!strcmp(cmd, "sbrk")) {
		p = kml_sbrk(a);
		if (p == (void *)-1) {
			printf("kml_sbrk(%ld) failed: %s\n", a, strerror(errno));
			return 1;
		}
		printf("kml_sbrk(%ld) = %p: the break moves from %p to %p\n", a, (void *)p,
		       (void *)p, kml_sbrk(0));
		return 0;
	}
	if (!strcmp(cmd, "mmap") || !strcmp(cmd, "touchmap")) {
		if (cmd[0] == 't') {
			touch(chunk, a);
			printf("touched %ld pages of the chunk\n", a / page_size);
			return 0;
		}
		chunk_len = a;
		chunk = kml_mmap(NULL, a, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
				 -1, 0);
		if (chunk == MAP_FAILED) {
			printf("kml_mmap(%ld) failed: %s\n", a, strerror(errno));
			return 1;
		}
		printf("kml_mmap(NULL, %ld, ...) = %p\n", a, (void *)chunk);
		return 0;
	}
	if (!argv[*i + 1] || a < 0)
		goto usage;
	b = parse(argv[++*i]);
	if (b < 0)
		goto usage;
	if (!strcmp(cmd, "touch")) {
		touch(start + a, b);
		printf("touched %ld pages at heap start + %ld\n", b / page_size, a);
		return 0;
	}
	if (!strcmp(cmd, "zero")) {
		for (p = start + a; p < start + a + b; p++)
			if (*p) {
				printf("byte at heap start + %ld is %d, not 0\n",
				       (long)(p - start), *p);
				return 1;
			}
		printf("%ld bytes at heap start + %ld read zero\n", b, a);
		return 0;
	}
usage:
	fprintf(stderr, "kmlheap: unknown command or bad arguments: '%s'\n", cmd);
	return 2;
}

int main(int argc, char **argv)
{
	int i, err;

	page_size = sysconf(_SC_PAGESIZE);
	err = kml_heap_init();
	if (err) {
		fprintf(stderr, "kmlheap: /dev/kmemlab: %s\n", strerror(err));
		return 1;
	}
	if (argc == 3 && !strcmp(argv[1], "bench")) {
		long mb = parse(argv[2]);

		if (mb <= 0) {
			fprintf(stderr, "kmlheap: bench: '%s' is no count of MiB\n", argv[2]);
			return 2;
		}
		return bench(mb);
	}
	start = kml_sbrk(0);
	for (i = 1; i < argc; i++) {
		err = step(argv, &i);
		if (err)
			return err;
	}
	return 0;
}
