// SPDX-License-Identifier: GPL-2.0
/*
 * Heaps on /dev/kmemlab: brk and chunks with demand paging, as brk(2),
 * sbrk(3), mmap(2) and munmap(2) behave, through the raw ioctl/mmap ABI
 * (kml_test.c tests the shim's kml_* functions on top of it).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/uio.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <grp.h>
#include <unistd.h>
#include "kselftest_harness.h"
#include "kmemlab.h"
#include "kmemlab_test.h"
#define PG 4096UL
#define RESERVE (256UL << 20)

struct heap_line {
	unsigned long start, brk, reserved_kb, chunks, chunk_kb, resident, faults;
	char state[16];
};

/* The debugfs "heaps" line of pid's heap (the first one); false when absent. */
static bool heap_of(pid_t pid, struct heap_line *h)
{
	char line[512], comm[64];
	bool found = false;
	FILE *f = fopen(KML_DEBUGFS "heaps", "r");
	int p;

	while (!found && f && fgets(line, sizeof(line), f))
		found = sscanf(line, "%d %63s %lx %lx %lu %lu %lu %lu %lu %15s", &p, comm,
			       &h->start, &h->brk, &h->reserved_kb, &h->chunks, &h->chunk_kb,
			       &h->resident, &h->faults, h->state) == 10 && p == pid;
	if (f)
		fclose(f);
	return found;
}

static int kml_brk_raw(int fd, char *addr)
{
	return brk_req(fd, KMEMLAB_BRK_SET, (uintptr_t)addr, 0, NULL);
}

static int open_dev(void)
{
	return open("/dev/kmemlab", O_RDWR | O_CLOEXEC);
}

static char *reserve(int fd, size_t len)
{
	char *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);

	return p == MAP_FAILED ? NULL : p;
}

static char *chunk(int fd, size_t len)
{
	char *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, KMEMLAB_MMAP_CHUNK);

	return p == MAP_FAILED ? NULL : p;
}

static void touch(char *p, size_t len, int c)
{
	size_t i;

	for (i = 0; i < len; i += PG)
		p[i] = (char)c;
}

FIXTURE(heap) {
	int fd;
	char *start;
};

FIXTURE_SETUP(heap)
{
	self->fd = open_dev();
	ASSERT_LE(0, self->fd);
	self->start = reserve(self->fd, RESERVE);
	ASSERT_NE(NULL, self->start);
}

FIXTURE_TEARDOWN(heap)
{
	munmap(self->start, RESERVE);
	close(self->fd);
}

TEST_F(heap, brk_grow_shrink_query)
{
	struct kmemlab_brk r;
	char *b;

	ASSERT_EQ(0, brk_req(self->fd, KMEMLAB_BRK_ADD, 0, 0, &r));
	EXPECT_EQ((uintptr_t)self->start, r.start);
	EXPECT_EQ((uintptr_t)self->start + RESERVE, r.limit);
	EXPECT_EQ((uintptr_t)self->start, r.old_brk);
	EXPECT_EQ(r.old_brk, r.new_brk);

	b = sbrk_raw(self->fd, 10000);
	EXPECT_EQ(self->start, b);
	EXPECT_EQ(self->start + 10000, sbrk_raw(self->fd, 0));
	/* brk(2): an absolute break, unaligned is fine. */
	ASSERT_EQ(0, brk_req(self->fd, KMEMLAB_BRK_SET, (uintptr_t)self->start + 5 * PG + 7, 0,
			     &r));
	EXPECT_EQ((uintptr_t)self->start + 10000, r.old_brk);
	EXPECT_EQ((uintptr_t)self->start + 5 * PG + 7, r.new_brk);
	/* The page holding the break is usable up to its end. */
	self->start[5 * PG + PG - 1] = 1;
	/* Shrink with a negative increment: sbrk returns the old break. */
	EXPECT_EQ(self->start + 5 * PG + 7, sbrk_raw(self->fd, -(int64_t)(PG + 7)));
	EXPECT_EQ(self->start + 4 * PG, sbrk_raw(self->fd, 0));

	/* Out of range: ENOMEM, with the break unchanged and reported. */
	EXPECT_EQ(-ENOMEM, brk_req(self->fd, KMEMLAB_BRK_SET, (uintptr_t)self->start - PG, 0, &r));
	EXPECT_EQ((uintptr_t)self->start + 4 * PG, r.new_brk);
	EXPECT_EQ(-ENOMEM, brk_req(self->fd, KMEMLAB_BRK_SET,
				   (uintptr_t)self->start + RESERVE + 1, 0, NULL));
	EXPECT_EQ(-ENOMEM, brk_req(self->fd, KMEMLAB_BRK_ADD, 0, -(int64_t)(5 * PG), NULL));
	EXPECT_EQ(-ENOMEM, brk_req(self->fd, KMEMLAB_BRK_ADD, 0, INT64_MAX, NULL));
	EXPECT_EQ(-ENOMEM, brk_req(self->fd, KMEMLAB_BRK_ADD, 0, INT64_MIN, NULL));
	EXPECT_EQ(self->start + 4 * PG, sbrk_raw(self->fd, 0));
	/* Back to the start: empty heap. */
	ASSERT_EQ(0, brk_req(self->fd, KMEMLAB_BRK_SET, (uintptr_t)self->start, 0, NULL));
	EXPECT_EQ(self->start, sbrk_raw(self->fd, 0));
}

TEST_F(heap, lazy_faulting_in_debugfs)
{
	struct heap_line h;

	ASSERT_NE(NULL, sbrk_raw(self->fd, 1 << 20));
	ASSERT_TRUE(heap_of(getpid(), &h));
	EXPECT_EQ((uintptr_t)self->start, h.start);
	EXPECT_EQ((uintptr_t)self->start + (1 << 20), h.brk);
	EXPECT_EQ(RESERVE >> 10, h.reserved_kb);
	EXPECT_EQ(0, h.resident);
	EXPECT_EQ(0, h.faults);
	touch(self->start, 128 * PG, 1);
	ASSERT_TRUE(heap_of(getpid(), &h));
	EXPECT_EQ(128, h.resident);
	EXPECT_EQ(128, h.faults);
	/* A second touch of the same pages costs nothing. */
	touch(self->start, 128 * PG, 2);
	ASSERT_TRUE(heap_of(getpid(), &h));
	EXPECT_EQ(128, h.faults);
	EXPECT_STREQ("ok", h.state);
}

TEST_F(heap, zero_fill_also_recycled)
{
	char *p;

	p = sbrk_raw(self->fd, 64 * PG);
	ASSERT_NE(NULL, p);
	EXPECT_TRUE(all(p, 64 * PG, 0));
	memset(p, 0xa5, 64 * PG);
	/* Shrink: the pages go back; regrow: the same memory, zeroed again. */
	ASSERT_NE(NULL, sbrk_raw(self->fd, -64 * (int64_t)PG));
	drain();
	ASSERT_NE(NULL, sbrk_raw(self->fd, 64 * PG));
	EXPECT_TRUE(all(p, 64 * PG, 0));
}

TEST_F(heap, other_process_data_never_seen)
{
	int status, i;
	pid_t pid;
	char *p;

	/* A child fills pages of its own heap with a secret, then exits. */
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		int fd = open_dev();
		char *s = fd >= 0 ? reserve(fd, RESERVE) : NULL;

		if (!s || !sbrk_raw(fd, 512 * PG))
			_exit(1);
		memset(s, 0x5e, 512 * PG);
		_exit(0);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_EQ(0, status);
	drain();
	/* Whatever pages the parent now gets, none holds the secret. */
	p = sbrk_raw(self->fd, 1024 * PG);
	ASSERT_NE(NULL, p);
	for (i = 0; i < 1024; i++)
		if (memchr(p + i * PG, 0x5e, PG))
			break;
	EXPECT_EQ(1024, i);
}

/* Touching the page above the break kills with SIGSEGV. */
TEST_SIGNAL(sigsegv_above_break, SIGSEGV)
{
	int fd = open_dev();
	char *s = reserve(fd, RESERVE);

	ASSERT_NE(NULL, s);
	ASSERT_NE(NULL, sbrk_raw(fd, 3 * PG));
	s[3 * PG - 1] = 1;
	s[3 * PG] = 1;
}

TEST_SIGNAL(sigsegv_after_shrink, SIGSEGV)
{
	int fd = open_dev();
	char *s = reserve(fd, RESERVE);

	ASSERT_NE(NULL, s);
	ASSERT_NE(NULL, sbrk_raw(fd, 8 * PG));
	memset(s, 1, 8 * PG);
	ASSERT_NE(NULL, sbrk_raw(fd, -4 * (int64_t)PG));
	/* The PTE went with the page: no stale mapping survives the shrink. */
	s[5 * PG] = 1;
}

TEST_F(heap, shrink_and_munmap_return_pages_at_once)
{
	long before, touched;
	char *c;

	drain();
	before = stat_of("free_pages");
	ASSERT_NE(NULL, sbrk_raw(self->fd, 256 * PG));
	touch(self->start, 256 * PG, 1);
	touched = stat_of("free_pages");
	EXPECT_EQ(before - 256, touched);
	ASSERT_NE(NULL, sbrk_raw(self->fd, -128 * (int64_t)PG));
	EXPECT_EQ(before - 128, stat_of("free_pages"));

	/* A chunk: all of it, then a middle part, then the rest. */
	c = chunk(self->fd, 64 * PG);
	ASSERT_NE(NULL, c);
	touch(c, 64 * PG, 3);
	EXPECT_EQ(before - 192, stat_of("free_pages"));
	ASSERT_EQ(0, munmap(c + 16 * PG, 16 * PG));
	EXPECT_EQ(before - 176, stat_of("free_pages"));
	/* The rest keeps its contents. */
	EXPECT_EQ(3, c[0]);
	EXPECT_EQ(3, c[63 * PG]);
	ASSERT_EQ(0, munmap(c, 64 * PG));
	EXPECT_EQ(before - 128, stat_of("free_pages"));
	ASSERT_NE(NULL, sbrk_raw(self->fd, -128 * (int64_t)PG));
	EXPECT_EQ(before, stat_of("free_pages"));
}

/* The running kernel's version as major * 1000 + minor (6.12: 6012). */
static int kernel_version(void)
{
	struct utsname u;
	int major = 0, minor = 0;

	if (uname(&u) || sscanf(u.release, "%d.%d", &major, &minor) != 2)
		return 0;
	return major * 1000 + minor;
}

/*
 * vmsplice pins heap pages with get_user_pages_fast(). On 6.1 GUP-fast
 * walks the page tables without looking at the VMA, so VM_IO does not stop
 * it: a page the heap lets go while the pipe holds it is held, keeps its
 * contents for the pipe, and goes back to the buddy allocator after.
 *
 * On 6.12 GUP-fast first rules out secretmem for every order-0 folio
 * (mm/gup.c, gup_fast_folio_allowed()): a folio without a mapping, as a
 * driver's page has, cannot be ruled out, so it falls back to the slow
 * path, whose check_vma_flags() refuses VM_IO: vmsplice fails with EFAULT
 * and the heap's pages can never be pinned.
 */
TEST_F(heap, pinned_page_is_held_until_released)
{
	struct iovec iov = { .iov_len = PG };
	long before, held0;
	char buf[PG];
	int pfd[2], i;
	char *p;

	drain();
	before = stat_of("free_pages");
	held0 = stat_of("heap_held");
	p = sbrk_raw(self->fd, 2 * PG);
	ASSERT_NE(NULL, p);
	memset(p, 'v', 2 * PG);
	ASSERT_EQ(0, pipe(pfd));
	iov.iov_base = p;
	if (kernel_version() >= 6012) {
		ASSERT_EQ(-1, vmsplice(pfd[1], &iov, 1, 0));
		EXPECT_EQ(EFAULT, errno);
		close(pfd[0]);
		close(pfd[1]);
		ASSERT_NE(NULL, sbrk_raw(self->fd, -2 * (int64_t)PG));
		EXPECT_EQ(held0, stat_of("heap_held"));
		EXPECT_EQ(before, stat_of("free_pages"));
		return;
	}
	ASSERT_EQ(PG, vmsplice(pfd[1], &iov, 1, 0));
	/* The heap lets both pages go: one is free at once, the other held. */
	ASSERT_NE(NULL, sbrk_raw(self->fd, -2 * (int64_t)PG));
	EXPECT_EQ(held0 + 1, stat_of("heap_held"));
	EXPECT_EQ(before - 1, stat_of("free_pages"));
	/* New pages never reuse it while the pipe has it. */
	p = sbrk_raw(self->fd, 64 * PG);
	ASSERT_NE(NULL, p);
	memset(p, 'n', 64 * PG);
	ASSERT_EQ(PG, read(pfd[0], buf, PG));
	EXPECT_TRUE(all(buf, PG, 'v'));
	close(pfd[0]);
	close(pfd[1]);
	ASSERT_NE(NULL, sbrk_raw(self->fd, -64 * (int64_t)PG));
	/*
	 * A delayed work gives it back; wait for it as long as a loaded host
	 * may delay the guest (no test may fail because the machine is busy).
	 */
	for (i = 0; i < 1200 && stat_of("heap_held") != held0; i++)
		usleep(100000);
	EXPECT_EQ(held0, stat_of("heap_held"));
	drain();
	EXPECT_EQ(before, stat_of("free_pages"));
}

TEST_SIGNAL(sigsegv_in_unmapped_chunk_part, SIGSEGV)
{
	int fd = open_dev();
	char *c = mmap(NULL, 8 * PG, PROT_READ | PROT_WRITE, MAP_SHARED, fd, KMEMLAB_MMAP_CHUNK);

	ASSERT_NE(MAP_FAILED, c);
	memset(c, 1, 8 * PG);
	ASSERT_EQ(0, munmap(c + 2 * PG, 2 * PG));
	c[3 * PG] = 1;
}

TEST_F(heap, chunks_in_debugfs)
{
	struct heap_line h;
	char *a, *b;

	a = chunk(self->fd, 16 * PG);
	b = chunk(self->fd, 32 * PG);
	ASSERT_NE(NULL, a);
	ASSERT_NE(NULL, b);
	ASSERT_TRUE(heap_of(getpid(), &h));
	EXPECT_EQ(2, h.chunks);
	EXPECT_EQ(48 * 4, h.chunk_kb);
	EXPECT_EQ(0, h.resident);
	touch(b, 32 * PG, 9);
	ASSERT_TRUE(heap_of(getpid(), &h));
	EXPECT_EQ(32, h.resident);
	/* A hole in the middle splits the chunk in two mappings. */
	ASSERT_EQ(0, munmap(b + 8 * PG, 8 * PG));
	ASSERT_TRUE(heap_of(getpid(), &h));
	EXPECT_EQ(3, h.chunks);
	EXPECT_EQ(40 * 4, h.chunk_kb);
	EXPECT_EQ(24, h.resident);
	EXPECT_EQ(0, munmap(a, 16 * PG));
	EXPECT_EQ(0, munmap(b, 32 * PG));
	ASSERT_TRUE(heap_of(getpid(), &h));
	EXPECT_EQ(0, h.chunks);
	EXPECT_EQ(0, h.resident);
}

TEST(bad_mappings_refused)
{
	int fd = open_dev();
	char *s, *p;

	ASSERT_LE(0, fd);
	/* MAP_PRIVATE would copy on write into pages that are not the region's. */
	p = mmap(NULL, PG, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
	EXPECT_EQ(MAP_FAILED, p);
	EXPECT_EQ(EINVAL, errno);
	/* Offsets other than 0 and KMEMLAB_MMAP_CHUNK. */
	p = mmap(NULL, PG, PROT_READ, MAP_SHARED, fd, PG);
	EXPECT_EQ(MAP_FAILED, p);
	EXPECT_EQ(EINVAL, errno);
	p = mmap(NULL, PG, PROT_READ, MAP_SHARED, fd, KMEMLAB_MMAP_CHUNK + PG);
	EXPECT_EQ(MAP_FAILED, p);
	/* One reservation per heap. */
	s = reserve(fd, 16 * PG);
	ASSERT_NE(NULL, s);
	p = mmap(NULL, PG, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	EXPECT_EQ(MAP_FAILED, p);
	EXPECT_EQ(EBUSY, errno);
	/* mremap cannot move or grow it. */
	p = mremap(s, 16 * PG, 32 * PG, MREMAP_MAYMOVE);
	EXPECT_EQ(MAP_FAILED, p);
	p = mremap(s, 16 * PG, 16 * PG, MREMAP_MAYMOVE | MREMAP_FIXED, s + 64 * PG);
	EXPECT_EQ(MAP_FAILED, p);
	/* The heap is intact after the refused move. */
	ASSERT_NE(NULL, sbrk_raw(fd, PG));
	s[0] = 42;
	EXPECT_EQ(42, s[0]);
	/* Unmapping the whole reservation allows a new one. */
	ASSERT_EQ(0, munmap(s, 16 * PG));
	s = reserve(fd, 16 * PG);
	EXPECT_NE(NULL, s);
	EXPECT_EQ(s, sbrk_raw(fd, 0));
	close(fd);
}

TEST(ioctl_validation)
{
	struct kmemlab_brk r;
	int fd = open_dev();

	ASSERT_LE(0, fd);
	/* No reservation yet: ENOMEM, like a brk that cannot move. */
	EXPECT_EQ(-ENOMEM, brk_req(fd, KMEMLAB_BRK_ADD, 0, PG, NULL));
	ASSERT_NE(NULL, reserve(fd, 16 * PG));
	memset(&r, 0, sizeof(r));
	EXPECT_EQ(-1, ioctl(fd, KMEMLAB_IOC_BRK, &r));	/* no flag */
	EXPECT_EQ(EINVAL, errno);
	r.flags = KMEMLAB_BRK_SET | KMEMLAB_BRK_ADD;
	EXPECT_EQ(-1, ioctl(fd, KMEMLAB_IOC_BRK, &r));
	EXPECT_EQ(EINVAL, errno);
	r.flags = KMEMLAB_BRK_ADD;
	r.reserved[1] = 1;
	EXPECT_EQ(-1, ioctl(fd, KMEMLAB_IOC_BRK, &r));
	EXPECT_EQ(EINVAL, errno);
	r.reserved[1] = 0;
	r.pad = 1;
	EXPECT_EQ(-1, ioctl(fd, KMEMLAB_IOC_BRK, &r));
	EXPECT_EQ(EINVAL, errno);
	r.pad = 0;
	r.new_brk = 1;		/* output fields are ignored: a retry may reuse r */
	r.start = 2;
	EXPECT_EQ(0, ioctl(fd, KMEMLAB_IOC_BRK, &r));
	EXPECT_EQ(r.old_brk, r.new_brk);
	r.old_brk = 0, r.new_brk = 0, r.start = 0, r.limit = 0;
	r.addr = 1;		/* addr with BRK_ADD */
	EXPECT_EQ(-1, ioctl(fd, KMEMLAB_IOC_BRK, &r));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, ioctl(fd, KMEMLAB_IOC_BRK, NULL));
	EXPECT_EQ(EFAULT, errno);
	EXPECT_EQ(-1, ioctl(fd, KMEMLAB_IOC_BRK, (void *)-4096L));
	EXPECT_EQ(EFAULT, errno);
	EXPECT_EQ(-1, ioctl(fd, _IOWR(KMEMLAB_IOC_MAGIC, 99, struct kmemlab_brk), &r));
	EXPECT_EQ(ENOTTY, errno);
	close(fd);
}

TEST(rlimit_data)
{
	struct rlimit rl = { 1 << 20, 1 << 20 };
	int fd = open_dev();
	char *s, *c;

	ASSERT_LE(0, fd);
	s = reserve(fd, 16 << 20);
	ASSERT_NE(NULL, s);
	ASSERT_EQ(0, setrlimit(RLIMIT_DATA, &rl));
	EXPECT_EQ(NULL, sbrk_raw(fd, 2 << 20));
	EXPECT_EQ(s, sbrk_raw(fd, 512 << 10));
	/* Chunks count too: 512 KiB of break + 768 KiB > 1 MiB. */
	c = mmap(NULL, 768 << 10, PROT_READ | PROT_WRITE, MAP_SHARED, fd, KMEMLAB_MMAP_CHUNK);
	EXPECT_EQ(MAP_FAILED, c);
	EXPECT_EQ(ENOMEM, errno);
	c = chunk(fd, 256 << 10);
	EXPECT_NE(NULL, c);
	EXPECT_EQ(NULL, sbrk_raw(fd, 512 << 10));
	EXPECT_NE(NULL, sbrk_raw(fd, 256 << 10));
	close(fd);
}

/* Exhaustion: the call fails first when it can; else the toucher gets SIGBUS. */
TEST(exhaustion)
{
	long free_pages = stat_of("free_pages"), before;
	int fd, status;
	pid_t pid;
	char *s, *c;

	ASSERT_LT(0, free_pages);
	drain();
	before = stat_of("free_pages");
	fd = open_dev();
	s = reserve(fd, 1UL << 36);
	ASSERT_NE(NULL, s);
	/* More than the region has free, in one request. */
	EXPECT_EQ(NULL, sbrk_raw(fd, (free_pages + 16) * PG));
	EXPECT_EQ(MAP_FAILED, mmap(NULL, (free_pages + 16) * PG, PROT_READ | PROT_WRITE,
				   MAP_SHARED, fd, KMEMLAB_MMAP_CHUNK));
	/* Unless it is MAP_NORESERVE, as with the kernel's overcommit heuristic. */
	c = mmap(NULL, (free_pages + 16) * PG, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_NORESERVE,
		 fd, KMEMLAB_MMAP_CHUNK);
	EXPECT_NE(MAP_FAILED, c);
	if (c != MAP_FAILED)
		munmap(c, (free_pages + 16) * PG);
	/* In two requests that each fit, touched by a child: SIGBUS. */
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		int cfd = open_dev();
		char *cs = reserve(cfd, 1UL << 36);

		if (!cs || !sbrk_raw(cfd, free_pages * 3 / 4 * PG) ||
		    !sbrk_raw(cfd, free_pages * 3 / 4 * PG))
			_exit(1);
		touch(cs, free_pages * 3 / 2 * PG, 1);
		_exit(2);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_TRUE(WIFSIGNALED(status));
	EXPECT_EQ(SIGBUS, WTERMSIG(status));
	EXPECT_LT(0, stat_of("heap_sigbus"));
	/* Everything came back, and this heap still works. */
	drain();
	EXPECT_EQ(before, stat_of("free_pages"));
	ASSERT_EQ(s, sbrk_raw(fd, 16 * PG));
	memset(s, 7, 16 * PG);
	EXPECT_TRUE(all(s, 16 * PG, 7));
	EXPECT_TRUE(validate_ok());
	close(fd);
}

/*
 * What madvise, mprotect, mremap and mlock do on a heap, as the uapi header
 * says: MADV_DONTNEED drops PTEs and keeps the pages; what needs anonymous
 * memory (MADV_FREE, MADV_WIPEONFORK) or a file system (MADV_REMOVE) is
 * refused; MADV_DONTFORK works and cannot be undone (MADV_DOFORK is refused
 * on VM_IO); mprotect splits; mremap cannot move or grow, only shrink;
 * mlock succeeds and locks nothing (VM_IO).
 */
TEST_F(heap, madvise_mprotect_mremap_mlock)
{
	char *p = sbrk_raw(self->fd, 4 * PG), *c, *q;

	ASSERT_NE(NULL, p);
	memset(p, 'x', 4 * PG);
	if (!have_madvise()) {
		ksft_print_msg("no madvise(2) in this kernel: its cases are skipped\n");
	} else {
		EXPECT_EQ(0, madvise(p, PG, MADV_DONTNEED));
		EXPECT_EQ('x', p[0]);
		EXPECT_EQ(-1, madvise(p, PG, MADV_FREE));
		EXPECT_EQ(EINVAL, errno);
		EXPECT_EQ(-1, madvise(p, PG, MADV_WIPEONFORK));
		EXPECT_EQ(EINVAL, errno);
		EXPECT_EQ(-1, madvise(p, PG, MADV_REMOVE));
		EXPECT_EQ(ENODEV, errno);
		EXPECT_EQ(-1, madvise(p, PG, MADV_DOFORK));
		EXPECT_EQ(EINVAL, errno);
	}
	EXPECT_EQ(0, mlock(p, PG));
	EXPECT_EQ(0, munlock(p, PG));
	/* mprotect: read-only and back, the contents kept. */
	EXPECT_EQ(0, mprotect(p + PG, PG, PROT_READ));
	EXPECT_EQ('x', p[PG]);
	EXPECT_EQ(0, mprotect(p + PG, PG, PROT_READ | PROT_WRITE));
	p[PG] = 'y';
	EXPECT_EQ('y', p[PG]);
	/* mremap of a chunk: grows and moves refused, a shrink unmaps the tail. */
	c = chunk(self->fd, 8 * PG);
	ASSERT_NE(NULL, c);
	memset(c, 'c', 8 * PG);
	EXPECT_EQ(MAP_FAILED, mremap(c, 8 * PG, 16 * PG, 0));
	EXPECT_EQ(EFAULT, errno);
	EXPECT_EQ(MAP_FAILED, mremap(c, 8 * PG, 16 * PG, MREMAP_MAYMOVE));
	EXPECT_EQ(EFAULT, errno);
	q = mmap(NULL, 8 * PG, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, q);
	EXPECT_EQ(MAP_FAILED, mremap(c, 8 * PG, 8 * PG, MREMAP_MAYMOVE | MREMAP_FIXED, q));
	EXPECT_EQ(EINVAL, errno);
	munmap(q, 8 * PG);
	EXPECT_TRUE(all(c, 8 * PG, 'c'));
	EXPECT_EQ(c, mremap(c, 8 * PG, 4 * PG, 0));
	EXPECT_TRUE(all(c, 4 * PG, 'c'));
	EXPECT_EQ(0, munmap(c, 4 * PG));
	EXPECT_TRUE(validate_ok());
}

static void set_strict_commit(int on)
{
	FILE *f = fopen("/sys/module/kmemlab/parameters/strict_commit", "w");

	if (f) {
		fprintf(f, "%d\n", on);
		fclose(f);
	}
}

/*
 * strict_commit: brk and mmap promise the pages they grant (MAP_NORESERVE
 * too), refuse what the region cannot promise, and kernel allocations
 * cannot take promised pages: touching everything granted never SIGBUSes.
 */
TEST(strict_commit)
{
	long before, granted, refused, committed, i;
	struct kmemlab_obj_req r;
	int fd, blocks = 0;
	char *s;

	drain();
	before = stat_of("free_pages");
	refused = stat_of("heap_commit_refused");
	committed = stat_of("heap_committed_pages");
	set_strict_commit(1);
	fd = open_dev();
	ASSERT_LE(0, fd);
	s = reserve(fd, 1UL << 36);
	ASSERT_NE(NULL, s);
	granted = before * 3 / 4;
	ASSERT_EQ(s, sbrk_raw(fd, granted * PG));
	EXPECT_EQ(committed + granted, stat_of("heap_committed_pages"));
	/* What cannot be promised any more is refused, and counted. */
	EXPECT_EQ(NULL, sbrk_raw(fd, before / 2 * PG));
	EXPECT_EQ(MAP_FAILED, mmap(NULL, before / 2 * PG, PROT_READ | PROT_WRITE,
				   MAP_SHARED | MAP_NORESERVE, fd, KMEMLAB_MMAP_CHUNK));
	EXPECT_EQ(refused + 2, stat_of("heap_commit_refused"));
	/* Kernel allocations get what is not promised, no more. */
	for (;;) {
		r = (struct kmemlab_obj_req){ .size = 64 << 10 };
		if (ioctl(fd, KMEMLAB_IOC_KMALLOC, &r))
			break;
		blocks++;
	}
	EXPECT_EQ(ENOMEM, errno);
	EXPECT_LT(0, blocks);
	EXPECT_GE(stat_of("free_pages"), granted);
	/* Every granted page is there: touching them all gets no SIGBUS. */
	for (i = 0; i < granted; i++)
		s[i * PG] = 2;
	EXPECT_TRUE(all(s, 1, 2));
	close(fd);
	munmap(s, 1UL << 36);
	set_strict_commit(0);
	drain();
	EXPECT_EQ(committed, stat_of("heap_committed_pages"));
	EXPECT_EQ(before, stat_of("free_pages"));
	EXPECT_TRUE(validate_ok());
}

TEST_F(heap, fork_gives_the_child_a_copy)
{
	long shared, copies;
	int pipefd[2], status;
	struct heap_line h;
	char *p, *c, go;
	pid_t pid;

	p = sbrk_raw(self->fd, 8 * PG);
	ASSERT_NE(NULL, p);
	memset(p, 'A', 8 * PG);
	c = chunk(self->fd, 4 * PG);
	ASSERT_NE(NULL, c);
	memset(c, 'a', 4 * PG);
	ASSERT_EQ(0, pipe(pipefd));
	shared = stat_of("heap_fork_pages");
	copies = stat_of("heap_cow_copies");
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		int bad = 0;

		/* The heap as it was at the fork. */
		bad |= !all(p, 8 * PG, 'A') || !all(c, 4 * PG, 'a');
		/* Its own break: growing it here does not move the parent's. */
		bad |= sbrk_raw(self->fd, 0) != p + 8 * PG;
		bad |= sbrk_raw(self->fd, PG) != p + 8 * PG;
		memset(p, 'C', 9 * PG);
		memset(c, 'c', 4 * PG);
		if (read(pipefd[0], &go, 1) != 1)
			bad = 1;
		/* The parent wrote 'P' meanwhile: still 'C' here. */
		bad |= !all(p, 9 * PG, 'C') || !all(c, 4 * PG, 'c');
		_exit(bad);
	}
	memset(p, 'P', 8 * PG);
	memset(c, 'p', 4 * PG);
	ASSERT_EQ(1, write(pipefd[1], "x", 1));
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_EQ(0, status);
	EXPECT_TRUE(all(p, 8 * PG, 'P'));
	EXPECT_TRUE(all(c, 4 * PG, 'p'));
	EXPECT_EQ(p + 8 * PG, sbrk_raw(self->fd, 0));
	/* fork shared the 12 pages; each was copied once, by its first writer. */
	EXPECT_EQ(12, stat_of("heap_fork_pages") - shared);
	EXPECT_EQ(12, stat_of("heap_cow_copies") - copies);
	EXPECT_EQ(0, stat_of("heap_shared_pages"));
	/* The child's heap went with it. */
	EXPECT_FALSE(heap_of(pid, &h));
	ASSERT_TRUE(heap_of(getpid(), &h));
	EXPECT_EQ(12, h.resident);
}

static sigjmp_buf bus_jmp;
static long touched;	/* not an automatic variable: siglongjmp keeps it */

static void on_bus(int sig)
{
	siglongjmp(bus_jmp, 1);
}

/*
 * fork copies nothing, so it needs no room; a write to a shared page needs
 * one. With the region empty, the writer (here the child) gets SIGBUS, as
 * the kernel's copy-on-write gets OOM; the other side keeps its pages, and
 * every page comes back.
 */
TEST_F(heap, cow_without_room_fails_only_the_writer)
{
	long before, n;
	int status;
	pid_t pid;
	char *p;

	drain();
	before = stat_of("free_pages");
	n = before / 3;
	p = sbrk_raw(self->fd, n * PG);
	ASSERT_NE(NULL, p);
	touch(p, n * PG, 'q');
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		long free_pages = stat_of("free_pages") + 16;
		int cfd = open_dev();
		char *c;

		/* Shared: reading needs no page. */
		if (__atomic_load_n(&p[0], __ATOMIC_RELAXED) != 'q' ||
		    __atomic_load_n(&p[(n - 1) * PG], __ATOMIC_RELAXED) != 'q')
			_exit(1);
		/* Empty the region through a chunk of this child's own. */
		c = mmap(NULL, free_pages * PG, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_NORESERVE,
			 cfd, KMEMLAB_MMAP_CHUNK);
		if (c == MAP_FAILED)
			_exit(2);
		signal(SIGBUS, on_bus);
		if (!sigsetjmp(bus_jmp, 1))
			for (touched = 0; touched < free_pages; touched++)
				c[touched * PG] = 1;
		if (touched == free_pages)
			_exit(3);	/* never ran out */
		signal(SIGBUS, SIG_DFL);
		p[0] = 'c';		/* the copy cannot be made */
		_exit(4);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_TRUE(WIFSIGNALED(status)) TH_LOG("child exit %d", WEXITSTATUS(status));
	EXPECT_EQ(SIGBUS, WTERMSIG(status));
	EXPECT_EQ('q', p[0]);
	EXPECT_EQ('q', p[(n - 1) * PG]);
	p[0] = 'r';
	EXPECT_EQ('r', p[0]);
	EXPECT_EQ(0, stat_of("heap_shared_pages"));
	ASSERT_NE(NULL, sbrk_raw(self->fd, -n * (int64_t)PG));
	drain();
	EXPECT_EQ(before, stat_of("free_pages"));
	EXPECT_TRUE(validate_ok());
}

TEST(sixteen_processes_in_parallel)
{
	long before;
	int i, status, failed = 0;
	pid_t pids[16];

	drain();
	before = stat_of("free_pages");
	for (i = 0; i < 16; i++) {
		pids[i] = fork();
		ASSERT_LE(0, pids[i]);
		if (!pids[i]) {
			int fd = open_dev(), round, bad = 0;
			char *s = fd >= 0 ? reserve(fd, 64 << 20) : NULL;
			unsigned int seed = i;

			if (!s)
				_exit(1);
			for (round = 0; round < 200 && !bad; round++) {
				size_t n = (rand_r(&seed) % 64 + 1) * PG, keep;
				char *b = sbrk_raw(fd, n);

				if (!b)
					_exit(2);
				/* Fresh pages read zero; then they carry our mark. */
				bad |= !all(b, n, 0);
				memset(b, 'a' + i, n);
				bad |= !all(s, b + n - s, 'a' + i);
				/* Shrink to a random size of at most 128 pages. */
				keep = rand_r(&seed) % 129 * PG;
				if ((size_t)(b + n - s) > keep)
					bad |= kml_brk_raw(fd, s + keep);
			}
			_exit(bad ? 3 : 0);
		}
	}
	for (i = 0; i < 16; i++) {
		ASSERT_EQ(pids[i], waitpid(pids[i], &status, 0));
		if (status)
			TH_LOG("process %d: status %#x", i, status);
		failed += status != 0;
	}
	EXPECT_EQ(0, failed);
	drain();
	EXPECT_EQ(before, stat_of("free_pages"));
	EXPECT_TRUE(validate_ok());
}

TEST(rmmod_refused_while_open)
{
	int fd = open_dev();
	char *s = reserve(fd, 16 * PG);

	ASSERT_NE(NULL, s);
	ASSERT_NE(NULL, sbrk_raw(fd, PG));
	s[0] = 1;
	/* The mapping alone holds the file, and so the module. */
	close(fd);
	EXPECT_NE(0, system("rmmod kmemlab 2>/dev/null"));
	EXPECT_EQ(1, s[0]);
	munmap(s, 16 * PG);
}

/* errno of open(/dev/kmemlab) by uid 65534 with the given groups (0 = success). */
static int open_as_nobody(gid_t group)
{
	int status;
	pid_t pid = fork();

	if (!pid) {
		gid_t groups[1] = { group };
		int fd;

		if (setgroups(group ? 1 : 0, groups) || setgid(65534) || setuid(65534))
			_exit(100);
		fd = open_dev();
		if (fd < 0)
			_exit(errno);
		/* A heap works for a group member as for root. */
		if (!reserve(fd, 16 * PG) || !sbrk_raw(fd, PG))
			_exit(101);
		_exit(0);
	}
	if (pid < 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status))
		return -1;
	return WEXITSTATUS(status);
}

/*
 * Root only by default; dev_group=GID adds that group's members. kmemlab
 * is reloaded by lib.sh's kml_reload (the runner starts each test in its
 * directory), which keeps its other parameters.
 */
TEST(dev_group)
{
	EXPECT_EQ(EACCES, open_as_nobody(0));
	EXPECT_EQ(EACCES, open_as_nobody(4242));
	ASSERT_EQ(0, system(". ./lib.sh && kml_reload dev_group=4242"));
	EXPECT_EQ(0, open_as_nobody(4242));
	EXPECT_EQ(EACCES, open_as_nobody(4243));
	EXPECT_EQ(EACCES, open_as_nobody(0));
	ASSERT_EQ(0, system(". ./lib.sh && kml_reload dev_group=-1"));
}

/*
 * The fuzzer: random commands, sizes and pointers, then the heap and the
 * allocator must be intact and every page must come back.
 */
static const unsigned long cmds[] = {
	KMEMLAB_IOC_BRK, KMEMLAB_IOC_CACHE_CREATE, KMEMLAB_IOC_CACHE_ALLOC,
	KMEMLAB_IOC_KMALLOC, KMEMLAB_IOC_KFREE, KMEMLAB_IOC_CACHE_FREE,
	KMEMLAB_IOC_CACHE_DESTROY, _IOWR(KMEMLAB_IOC_MAGIC, 8, struct kmemlab_brk),
	_IOR(KMEMLAB_IOC_MAGIC, 7, struct kmemlab_brk), _IO(KMEMLAB_IOC_MAGIC, 7), 0, ~0UL,
};

static __u64 xs(__u64 *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static __u64 fuzz_value(__u64 *s)
{
	static const __u64 special[] = {
		0, 1, 4095, 4096, 4097, 1 << 20, INT64_MAX, (__u64)INT64_MIN, ~0ULL,
		0xffffffff80000000ULL, 0xffff888000000000ULL, 0x7ffffffff000ULL,
	};

	return xs(s) % 2 ? special[xs(s) % ARRAY_SIZE(special)] : xs(s);
}

/*
 * The fuzzer's size, from the environment (make stress; make check keeps
 * the defaults: 100000 calls in one thread of one process as root):
 * KML_FUZZ_CALLS ioctl calls in all, shared by KML_FUZZ_PROCS processes of
 * KML_FUZZ_THREADS threads each; KML_FUZZ_UID runs them as that uid, a
 * member of kmemlab's dev_group (see the fixture); KML_FUZZ_MMAP=1 adds random mmap, munmap,
 * mprotect, mremap and madvise calls on the heap's mappings, with their
 * contents checked; KML_FUZZ_TIMEOUT raises the test's time limit.
 */
#include <pthread.h>

static long fuzz_env(const char *name, long def)
{
	const char *v = getenv(name);

	return v && *v ? atol(v) : def;
}

struct fuzz_proc {
	int fd;
	char *s;
	bool threaded;		/* addresses it unmaps may be another thread's at once */
	bool guarded;		/* faults from a racing shrink or a full quota are expected */
	bool mmap_fuzz;
};

/* Totals of all processes, in a shared page. */
struct fuzz_totals {
	unsigned long long calls, ok, map_calls, caught;
};

struct fuzz_thread {
	struct fuzz_proc *proc;
	struct fuzz_totals *totals;
	__u64 seed, calls;
	int bad;
};

/*
 * A touch that may fault for a reason the fuzzer causes itself (another
 * thread moved the break, the region or the uid's quota is full): the
 * fault ends the touch instead of the process.
 */
static __thread sigjmp_buf *fuzz_jmp;

static void fuzz_fault(int sig, siginfo_t *si, void *uc)
{
	char msg[96];
	int n;

	if (!fuzz_jmp) {
		n = snprintf(msg, sizeof(msg), "# fuzz: signal %d at %p outside a guarded touch\n",
			     sig, si->si_addr);
		if (write(2, msg, n) != n)
			n = 0;
		signal(sig, SIG_DFL);
		raise(sig);
		return;
	}
	siglongjmp(*fuzz_jmp, sig);
}

/* memset, or a byte per page; returns the signal that stopped it, or 0. */
static int fuzz_fill(struct fuzz_thread *t, char *p, size_t len, int c, bool per_page)
{
	sigjmp_buf env;
	int sig;

	if (!t->proc->guarded) {
		if (per_page)
			touch(p, len, c);
		else
			memset(p, c, len);
		return 0;
	}
	sig = sigsetjmp(env, 1);
	if (!sig) {
		fuzz_jmp = &env;
		if (per_page)
			touch(p, len, c);
		else
			memset(p, c, len);
	} else {
		__atomic_fetch_add(&t->totals->caught, 1, __ATOMIC_RELAXED);
	}
	fuzz_jmp = NULL;
	return sig;
}

/*
 * The mmap fuzzer's own mappings: chunks (and their pieces) with each
 * page's protection and the byte last written at its start (-1: unknown,
 * after an madvise that may drop it).
 */
#define FUZZ_MAPS 8
#define FUZZ_MAP_PAGES 32

struct fuzz_map {
	char *p;
	long n;
	int prot[FUZZ_MAP_PAGES];
	int val[FUZZ_MAP_PAGES];
};

static void map_drop(struct fuzz_map *m, long first, long n)
{
	memmove(&m->prot[first], &m->prot[first + n], (m->n - first - n) * sizeof(int));
	memmove(&m->val[first], &m->val[first + n], (m->n - first - n) * sizeof(int));
	m->n -= n;
}

/* Read a tracked page: its byte as last written. Exit on a mismatch. */
static void map_check(struct fuzz_thread *t, struct fuzz_map *m, long i)
{
	unsigned char v;

	if (!(m->prot[i] & PROT_READ) || m->val[i] < 0)
		return;
	v = m->p[i * PG];
	if (v != m->val[i]) {
		printf("# mmap fuzz: page %ld of %p reads %d, %d was written\n", i, m->p, v,
		       m->val[i]);
		t->bad = 7;
	}
}

static void mmap_fuzz_step(struct fuzz_thread *t, struct fuzz_map *maps, __u64 *seed)
{
	static const int advice[] = {
		MADV_DONTNEED, MADV_WILLNEED, MADV_NORMAL, MADV_RANDOM, MADV_SEQUENTIAL,
		MADV_DONTFORK, MADV_DOFORK, MADV_FREE, MADV_COLD, MADV_PAGEOUT, MADV_REMOVE,
		MADV_DONTDUMP, MADV_DODUMP, MADV_HUGEPAGE, MADV_MERGEABLE,
	};
	static const int prots[] = { PROT_NONE, PROT_READ, PROT_READ | PROT_WRITE };
	struct fuzz_map *m = &maps[xs(seed) % FUZZ_MAPS];
	long first, n, i;
	int prot, op = xs(seed) % 8;
	char *r;

	__atomic_fetch_add(&t->totals->map_calls, 1, __ATOMIC_RELAXED);
	if (!m->n) {
		/* A new chunk, sometimes MAP_NORESERVE or MAP_POPULATE, any protection. */
		int flags = MAP_SHARED | (xs(seed) % 4 ? 0 : MAP_NORESERVE) |
			    (xs(seed) % 4 ? 0 : MAP_POPULATE);

		n = xs(seed) % FUZZ_MAP_PAGES + 1;
		prot = prots[xs(seed) % 3];
		m->p = mmap(NULL, n * PG, prot, flags, t->proc->fd, KMEMLAB_MMAP_CHUNK);
		if (m->p == MAP_FAILED)
			return;		/* RLIMIT_DATA, the region or the quota */
		m->n = n;
		for (i = 0; i < n; i++) {
			m->prot[i] = prot;
			m->val[i] = 0;
		}
		return;
	}
	first = xs(seed) % m->n;
	n = xs(seed) % (m->n - first) + 1;
	switch (op) {
	case 0:		/* munmap of the head or the tail or all */
		if (first && first + n < m->n)
			n = m->n - first;
		if (munmap(m->p + first * PG, n * PG)) {
			t->bad = 8;
			return;
		}
		if (!first)
			m->p += n * PG;
		map_drop(m, first, n);
		break;
	case 1:		/* mprotect of any part */
		prot = prots[xs(seed) % 3];
		if (mprotect(m->p + first * PG, n * PG, prot)) {
			t->bad = 9;
			return;
		}
		for (i = first; i < first + n; i++)
			m->prot[i] = prot;
		break;
	case 2:		/* mremap: growing or moving is refused; shrinking unmaps */
		r = mremap(m->p, m->n * PG, (m->n + n) * PG, MREMAP_MAYMOVE);
		if (r != MAP_FAILED) {
			printf("# mmap fuzz: mremap grew a heap mapping\n");
			t->bad = 10;
			return;
		}
		if (n < m->n) {
			r = mremap(m->p, m->n * PG, n * PG, 0);
			if (r != MAP_FAILED && r != m->p) {
				t->bad = 11;
				return;
			}
			if (r == m->p)
				map_drop(m, n, m->n - n);
		}
		break;
	case 3:		/* madvise: whatever it says, the mapping stays */
		if (!madvise(m->p + first * PG, n * PG, advice[xs(seed) % ARRAY_SIZE(advice)]))
			for (i = first; i < first + n; i++)
				m->val[i] = -1;
		break;
	case 4:		/* move it elsewhere: refused, contents intact */
		r = mmap(NULL, m->n * PG, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (r == MAP_FAILED)
			break;
		if (mremap(m->p, m->n * PG, m->n * PG, MREMAP_MAYMOVE | MREMAP_FIXED, r) !=
		    MAP_FAILED) {
			printf("# mmap fuzz: mremap moved a heap mapping\n");
			t->bad = 12;
			return;
		}
		/*
		 * The refused move unmapped r first; with threads, r may be
		 * another thread's mapping by now.
		 */
		if (!t->proc->threaded)
			munmap(r, m->n * PG);
		for (i = 0; i < m->n; i++)
			map_check(t, m, i);
		break;
	default:	/* touch: write where writable, check where readable */
		for (i = first; i < first + n; i++) {
			if (m->prot[i] & PROT_WRITE) {
				int v = xs(seed) % 256;

				m->val[i] = -1;
				if (!fuzz_fill(t, m->p + i * PG, 1, v, false))
					m->val[i] = v;
			} else {
				map_check(t, m, i);
			}
		}
	}
}

static void *fuzz_thread_fn(void *arg)
{
	struct fuzz_thread *t = arg;
	struct fuzz_proc *pr = t->proc;
	struct fuzz_map maps[FUZZ_MAPS] = {};
	int fd = pr->fd;
	char *s = pr->s;
	__u64 seed = t->seed, i, n, ok = 0;
	char *buf = mmap(NULL, 2 * PG, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (buf == MAP_FAILED) {
		t->bad = 1;
		return NULL;
	}
	for (i = 0; i < t->calls && !t->bad; i++) {
		unsigned long cmd = cmds[xs(&seed) % ARRAY_SIZE(cmds)];
		__u64 *w = (__u64 *)buf;
		void *arg;
		int j;

		for (j = 0; j < 8; j++)
			w[j] = fuzz_value(&seed);
		if (xs(&seed) % 4 == 0) {
			/* A mostly valid brk request, to move the break a lot. */
			struct kmemlab_brk *req = (struct kmemlab_brk *)buf;

			memset(buf, 0, 64);
			req->flags = KMEMLAB_BRK_ADD;
			req->incr = (int64_t)(xs(&seed) % (64 * PG)) - 32 * (int64_t)PG;
			cmd = KMEMLAB_IOC_BRK;
		}
		switch (xs(&seed) % 8) {
		case 0:
			arg = NULL;
			break;
		case 1:
			arg = (void *)(uintptr_t)fuzz_value(&seed);
			break;
		case 2:
			arg = buf + 2 * PG - 8;		/* runs off the end */
			break;
		case 3:
			arg = buf + 1 + xs(&seed) % 7;	/* misaligned */
			break;
		default:
			arg = buf;
		}
		if (!ioctl(fd, cmd, arg))
			ok++;
		if (xs(&seed) % 64 == 0) {
			/* Mappings too: random sizes, offsets and partial unmaps. */
			size_t len = (xs(&seed) % 32 + 1) * PG;
			size_t off = xs(&seed) % len & ~(PG - 1);
			off_t at = xs(&seed) % 4 ? KMEMLAB_MMAP_CHUNK :
				   fuzz_value(&seed) & ~(PG - 1);
			char *c = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, at);

			if (c != MAP_FAILED) {
				size_t cut = xs(&seed) % ((len - off) / PG) * PG + PG;

				fuzz_fill(t, c, len, 0x22, true);
				munmap(c + off, cut);
				/*
				 * With threads, an address unmapped here may be
				 * another thread's by now: only c's own pieces.
				 */
				if ((!pr->threaded || off) &&
				    mremap(c, PG, 2 * PG, MREMAP_MAYMOVE) != MAP_FAILED)
					t->bad = 5;
				if (pr->threaded) {
					munmap(c, off);
					munmap(c + off + cut, len - off - cut);
				} else {
					munmap(c, len);
				}
			}
		}
		if (pr->mmap_fuzz && xs(&seed) % 8 == 0)
			mmap_fuzz_step(t, maps, &seed);
		if (i % 997 == 0) {
			char *b = sbrk_raw(fd, 0);

			if (b && b > s)
				fuzz_fill(t, s, b - s, 0x11, false);
		}
	}
	n = i;
	for (i = 0; i < FUZZ_MAPS; i++)
		if (maps[i].n)
			munmap(maps[i].p, maps[i].n * PG);
	munmap(buf, 2 * PG);
	__atomic_fetch_add(&t->totals->calls, n, __ATOMIC_RELAXED);
	__atomic_fetch_add(&t->totals->ok, ok, __ATOMIC_RELAXED);
	return NULL;
}

/* One fuzzing process: its heap, its threads; the exit status says what failed. */
static int fuzz_process(long p, long threads, __u64 calls, int uid, gid_t gid,
			struct fuzz_totals *totals)
{
	struct fuzz_thread *t = calloc(threads, sizeof(*t));
	pthread_t *th = calloc(threads, sizeof(*th));
	struct fuzz_proc pr = {
		.threaded = threads > 1,
		.guarded = threads > 1 || uid >= 0,
		.mmap_fuzz = fuzz_env("KML_FUZZ_MMAP", 0),
	};
	long i;
	int bad = 0;

	if (uid >= 0 && (setgroups(1, &gid) || setgid(uid) || setuid(uid)))
		return 2;
	pr.fd = open_dev();
	pr.s = reserve(pr.fd, 64 << 20);
	if (!pr.s || !t || !th)
		return 1;
	if (pr.guarded) {
		struct sigaction sa = { .sa_sigaction = fuzz_fault, .sa_flags = SA_SIGINFO };

		sigaction(SIGSEGV, &sa, NULL);
		sigaction(SIGBUS, &sa, NULL);
	}
	for (i = 0; i < threads; i++) {
		t[i].proc = &pr;
		t[i].totals = totals;
		t[i].calls = calls / threads + (i < (long)(calls % threads));
		/* Process 0's first thread fuzzes as the suite always has. */
		t[i].seed = 0x9e3779b97f4a7c15ULL ^
			    ((__u64)(p * threads + i) * 0xbf58476d1ce4e5b9ULL);
		if (i && pthread_create(&th[i], NULL, fuzz_thread_fn, &t[i]))
			return 3;
	}
	fuzz_thread_fn(&t[0]);
	for (i = 0; i < threads; i++) {
		if (i)
			pthread_join(th[i], NULL);
		if (t[i].bad && !bad)
			bad = t[i].bad;
	}
	return bad;
}

/*
 * The fuzzer gets 15 minutes: the debug kernel (KASAN, lockdep) is slow.
 * With KML_FUZZ_UID, kmemlab needs a dev_group: when it has none, the
 * fixture reloads it with dev_group=4242 (lib.sh's kml_reload) and back.
 */
FIXTURE(fuzz) {
	int gid;
	bool reloaded;
};

FIXTURE_SETUP(fuzz)
{
	FILE *f;

	self->gid = -1;
	if (fuzz_env("KML_FUZZ_UID", -1) < 0)
		return;
	f = fopen("/sys/module/kmemlab/parameters/dev_group", "r");
	ASSERT_NE(NULL, f);
	ASSERT_EQ(1, fscanf(f, "%d", &self->gid));
	fclose(f);
	if (self->gid < 0) {
		ASSERT_EQ(0, system(". ./lib.sh && kml_reload dev_group=4242"));
		self->reloaded = true;
		self->gid = 4242;
	}
}

FIXTURE_TEARDOWN(fuzz)
{
	if (self->reloaded && system(". ./lib.sh && kml_reload dev_group=-1"))
		TH_LOG("cannot reload kmemlab with dev_group=-1");
}

TEST_F_TIMEOUT(fuzz, ioctl_fuzz, 900)
{
	long procs = fuzz_env("KML_FUZZ_PROCS", 1), threads = fuzz_env("KML_FUZZ_THREADS", 1);
	__u64 calls = fuzz_env("KML_FUZZ_CALLS", 100000);
	int uid = fuzz_env("KML_FUZZ_UID", -1), status, failed = 0;
	struct fuzz_totals *totals;
	long before, p;
	pid_t pids[64];

	ASSERT_LE(1, procs);
	ASSERT_GE(64, procs);
	ASSERT_LE(1, threads);
	totals = mmap(NULL, PG, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, totals);
	drain();
	before = stat_of("free_pages");
	for (p = 0; p < procs; p++) {
		pids[p] = fork();
		ASSERT_LE(0, pids[p]);
		if (!pids[p])
			_exit(fuzz_process(p, threads, calls / procs + (p < (long)(calls % procs)),
					   uid, self->gid, totals));
	}
	for (p = 0; p < procs; p++) {
		ASSERT_EQ(pids[p], waitpid(pids[p], &status, 0));
		if (status)
			TH_LOG("process %ld: status %#x", p, status);
		failed += status != 0;
	}
	printf("# %llu of %llu calls succeeded", totals->ok, totals->calls);
	if (procs > 1 || threads > 1 || uid >= 0 || totals->map_calls)
		printf(" (%ld processes of %ld threads, uid %d); %llu mmap calls; %llu caught",
		       procs, threads, uid < 0 ? 0 : uid, totals->map_calls, totals->caught);
	printf("\n");
	fflush(stdout);		/* the harness ends this process with _exit */
	EXPECT_EQ(0, failed);
	EXPECT_LT(0, totals->ok);
	EXPECT_EQ(calls, totals->calls);
	drain();
	EXPECT_EQ(before, stat_of("free_pages"));
	EXPECT_TRUE(validate_ok());
}

/* make stress fuzzes longer than the 15 minutes above: KML_FUZZ_TIMEOUT seconds. */
static void __attribute__((constructor)) fuzz_timeout(void)
{
	long t = fuzz_env("KML_FUZZ_TIMEOUT", 0);

	if (t > 0)
		_fuzz_ioctl_fuzz_object.timeout = t;
}

TEST_HARNESS_MAIN
