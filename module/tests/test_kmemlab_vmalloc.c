// SPDX-License-Identifier: GPL-2.0
/*
 * test_kmemlab_vmalloc - checks of kml_vmalloc, kml_vmap and the kvmalloc
 * family, run at load. Loading succeeds only when every check passes
 * (kselftest_module.h).
 *
 *   insmod test_kmemlab_vmalloc.ko             the basic checks
 *   insmod test_kmemlab_vmalloc.ko check=NAME  one behaviour only (the
 *                                              names: checks[] below), so
 *                                              that test_vmalloc.sh reports
 *                                              one KTAP line for each
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/completion.h>
#include <linux/delay.h>
#include <linux/hrtimer.h>
#include <linux/interrupt.h>
#include <linux/module.h>
#include <linux/mm.h>
#include <linux/rcupdate.h>
#include <linux/timer.h>
#include <linux/vmalloc.h>
#include "kselftest_module.h"
#include "../include/kmemlab.h"

KSTM_MODULE_GLOBALS();

static char *check;
module_param(check, charp, 0444);
MODULE_PARM_DESC(check, "run this check only (default: the basic checks)");

/* Every byte written through the vmalloc view reads back, and reads the
 * same through each backing page's direct mapping.
 */
static int check_size(unsigned long size)
{
	unsigned long i, n = PAGE_ALIGN(size) >> PAGE_SHIFT;
	u8 *p = kml_vmalloc(size);
	int err = 0;

	if (!p)
		return -ENOMEM;
	if (!is_vmalloc_addr(p) || !PAGE_ALIGNED(p))
		err = -EINVAL;
	for (i = 0; i < size; i++)
		p[i] = (u8)(i * 13 + (i >> 12));
	for (i = 0; i < size && !err; i++)
		if (p[i] != (u8)(i * 13 + (i >> 12)))
			err = -EIO;
	for (i = 0; i < n && !err; i++) {
		struct page *page = kml_vmalloc_to_page(p + i * PAGE_SIZE + 5);
		u8 *direct;

		if (!page || !kml_addr_in_region(page_address(page))) {
			err = -EFAULT;
			break;
		}
		direct = page_address(page);
		if (memcmp(direct, p + i * PAGE_SIZE,
			   min(PAGE_SIZE, size - i * PAGE_SIZE)))
			err = -EIO;
	}
	kml_vfree(p);
	if (err)
		pr_warn("size %lu: error %d\n", size, err);
	return err;
}

static int check_zeroed(void)
{
	unsigned long i, size = 256 << 10;
	u8 *p = kml_vmalloc(size);
	int err = 0;

	if (!p)
		return -ENOMEM;
	memset(p, 0xa5, size);
	kml_vfree(p);
	p = kml_vzalloc(size);
	if (!p)
		return -ENOMEM;
	for (i = 0; i < size; i++)
		if (p[i])
			err = -EIO;
	kml_vfree(p);
	return err;
}

static int check_limits(void)
{
	int x;

	if (kml_vmalloc(0))
		return -EINVAL;
	/* More than the whole region (1 TiB) cannot be had. */
	if (kml_vmalloc(1ul << 40))
		return -EINVAL;
	if (kml_vmalloc_to_page(&x))	/* not a vmalloc address */
		return -EINVAL;
	kml_vfree(NULL);
	return 0;
}

/* Virtually contiguous from scattered pages: hold every odd page, so that
 * no two free pages are buddies and no free block is larger than a page,
 * and still map 1 MiB.
 */
static int check_fragmented(void)
{
	LIST_HEAD(held);
	LIST_HEAD(spare);
	struct page *page, *tmp;
	int err = 0;
	void *p;

	while ((page = kml_alloc_pages(GFP_KERNEL | __GFP_NOWARN, 0)))
		list_add(&page->lru, page_to_pfn(page) & 1 ? &held : &spare);
	list_for_each_entry_safe(page, tmp, &spare, lru) {
		list_del(&page->lru);
		kml___free_pages(page, 0);
	}
	page = kml_alloc_pages(GFP_KERNEL | __GFP_NOWARN, 1);
	if (page) {		/* there should be no free order-1 block */
		kml___free_pages(page, 1);
		err = -EINVAL;
	}
	p = kml_vmalloc(1 << 20);
	if (!p)
		err = -ENOMEM;
	else
		memset(p, 1, 1 << 20);
	kml_vfree(p);
	list_for_each_entry_safe(page, tmp, &held, lru) {
		list_del(&page->lru);
		kml___free_pages(page, 0);
	}
	return err;
}

/* ---- kml_vfree from every context kfree works in ---- */

/*
 * After a deferred vfree the worker unmaps the area: wait for it (the
 * limit only catches a worker that never runs; nothing is timed).
 */
static int wait_unmapped(const void *p)
{
	unsigned int i;

	for (i = 0; i < 60000 && kml_vmalloc_to_page(p); i++)
		usleep_range(1000, 2000);
	return kml_vmalloc_to_page(p) ? -ETIMEDOUT : 0;
}

static struct {
	void *p;
	bool in_context;	/* the callback ran where it was meant to */
	bool still_mapped;	/* right after kml_vfree, in the callback */
	struct completion done;
	struct timer_list timer;
	struct hrtimer hrtimer;
	struct rcu_head rcu;
} ctx;

static void *dirty_area(unsigned long size)
{
	void *p = kml_vmalloc(size);

	if (p)
		memset(p, 0x5a, size);
	return p;
}

static void timer_fn(struct timer_list *t)
{
	ctx.in_context = in_serving_softirq() || IS_ENABLED(CONFIG_PREEMPT_RT);
	kml_vfree(ctx.p);
	complete(&ctx.done);
}

/* A timer callback: softirq context (a softirq thread on PREEMPT_RT). */
static int check_vfree_softirq(void)
{
	ctx.p = dirty_area(64 << 10);
	if (!ctx.p)
		return -ENOMEM;
	init_completion(&ctx.done);
	timer_setup(&ctx.timer, timer_fn, 0);
	mod_timer(&ctx.timer, jiffies + 1);
	wait_for_completion(&ctx.done);
	del_timer_sync(&ctx.timer);
	if (!ctx.in_context)
		return -EINVAL;
	return wait_unmapped(ctx.p);
}

static enum hrtimer_restart hrtimer_fn(struct hrtimer *t)
{
	ctx.in_context = in_hardirq();
	kml_vfree(ctx.p);
	/* The worker is queued on this CPU, which is in the interrupt. */
	ctx.still_mapped = kml_vmalloc_to_page(ctx.p);
	complete(&ctx.done);
	return HRTIMER_NORESTART;
}

#define SKIPPED 1	/* a check's result: not run here */

/* A hard hrtimer's callback: hard IRQ context (not on PREEMPT_RT). */
static int check_vfree_hardirq(void)
{
	if (IS_ENABLED(CONFIG_PREEMPT_RT)) {
		pr_info("vfree from hard IRQ: skipped, PREEMPT_RT forbids it as for kfree\n");
		return SKIPPED;
	}
	ctx.p = dirty_area(64 << 10);
	if (!ctx.p)
		return -ENOMEM;
	init_completion(&ctx.done);
	hrtimer_init(&ctx.hrtimer, CLOCK_MONOTONIC, HRTIMER_MODE_REL_HARD);
	ctx.hrtimer.function = hrtimer_fn;
	hrtimer_start(&ctx.hrtimer, ns_to_ktime(1000), HRTIMER_MODE_REL_HARD);
	wait_for_completion(&ctx.done);
	hrtimer_cancel(&ctx.hrtimer);
	if (!ctx.in_context || !ctx.still_mapped)
		return -EINVAL;
	return wait_unmapped(ctx.p);
}

static void rcu_fn(struct rcu_head *head)
{
	kml_vfree(ctx.p);
	complete(&ctx.done);
}

static int check_vfree_rcu(void)
{
	ctx.p = dirty_area(64 << 10);
	if (!ctx.p)
		return -ENOMEM;
	init_completion(&ctx.done);
	call_rcu(&ctx.rcu, rcu_fn);
	wait_for_completion(&ctx.done);
	rcu_barrier();
	return wait_unmapped(ctx.p);
}

static int check_vfree_bh(void)
{
	void *p = dirty_area(64 << 10);

	if (!p)
		return -ENOMEM;
	local_bh_disable();
	kml_vfree(p);
	local_bh_enable();
	return wait_unmapped(p);
}

static int check_vfree_irqs_off(void)
{
	unsigned long flags;
	bool still_mapped;
	void *p = dirty_area(64 << 10);

	if (!p)
		return -ENOMEM;
	local_irq_save(flags);
	kml_vfree(p);
	still_mapped = kml_vmalloc_to_page(p);
	local_irq_restore(flags);
	if (!still_mapped)
		return -EINVAL;
	return wait_unmapped(p);
}

/* In process context vfree unmaps before it returns. */
static int check_vfree_process(void)
{
	void *p = dirty_area(64 << 10);

	if (!p)
		return -ENOMEM;
	kml_vfree(p);
	return kml_vmalloc_to_page(p) ? -EINVAL : 0;
}

/* ---- gfp ---- */

/* A huge __vmalloc fails; test_vmalloc.sh counts the log lines it adds. */
static int check_huge(gfp_t gfp)
{
	return kml___vmalloc(1ul << 40, gfp) ? -EINVAL : 0;
}

static int check_nowarn(void)
{
	return check_huge(GFP_KERNEL | __GFP_NOWARN);
}

static int check_warn(void)
{
	return check_huge(GFP_KERNEL);
}

/* vmalloc may sleep: a gfp that cannot is refused, and NOFS/NOIO work. */
static int check_gfp(void)
{
	void *p;

	if (kml___vmalloc(PAGE_SIZE, GFP_ATOMIC) || kml___vmalloc(PAGE_SIZE, GFP_NOWAIT))
		return -EINVAL;
	p = kml___vmalloc(3 * PAGE_SIZE, GFP_NOFS);
	if (!p)
		return -ENOMEM;
	kml_vfree(p);
	p = kml___vmalloc(3 * PAGE_SIZE, GFP_NOIO | __GFP_ZERO);
	if (!p || memchr_inv(p, 0, 3 * PAGE_SIZE)) {
		kml_vfree(p);
		return -EINVAL;
	}
	kml_vfree(p);
	return 0;
}

#define INIT_PAGES 16

/*
 * Dirties INIT_PAGES pages through an area, frees it and allocates again
 * with @gfp on the same CPU, whose per-CPU list hands the same pages back
 * (last in, first out). Returns the new area; *reused counts pages seen in
 * both and *stale bytes of the old pattern found in the new area.
 */
static void *realloc_dirty(gfp_t gfp, unsigned int *reused, unsigned long *stale)
{
	unsigned long size = INIT_PAGES * PAGE_SIZE, i;
	struct page *old[INIT_PAGES];
	unsigned int j, k;
	u8 *p, *q;

	*reused = 0;
	*stale = 0;
	migrate_disable();
	p = kml_vmalloc(size);
	if (!p) {
		migrate_enable();
		return NULL;
	}
	memset(p, 0xa5, size);
	for (j = 0; j < INIT_PAGES; j++)
		old[j] = kml_vmalloc_to_page(p + j * PAGE_SIZE);
	kml_vfree(p);
	q = kml___vmalloc(size, gfp);
	migrate_enable();
	if (!q)
		return NULL;
	for (j = 0; j < INIT_PAGES; j++)
		for (k = 0; k < INIT_PAGES; k++)
			if (kml_vmalloc_to_page(q + j * PAGE_SIZE) == old[k])
				++*reused;
	for (i = 0; i < size; i++)
		*stale += q[i] == 0xa5;
	return q;
}

/*
 * A dirtied area freed and another allocated with @gfp: its reused pages
 * must read zero (@want_zero) or still hold the old bytes.
 */
static int check_realloc(gfp_t gfp, bool want_zero, const char *what)
{
	unsigned long stale;
	unsigned int reused;
	void *q = realloc_dirty(gfp, &reused, &stale);
	int err = 0;

	if (!q)
		return -ENOMEM;
	pr_info("%s: %u pages reused, %lu stale bytes\n", what, reused, stale);
	if (!reused || (want_zero ? stale || memchr_inv(q, 0, INIT_PAGES * PAGE_SIZE) : !stale))
		err = -EINVAL;
	kml_vfree(q);
	return err;
}

/* With init_on_alloc=1 (test_vmalloc.sh sets it) reused pages read zero. */
static int check_init_on_alloc(void)
{
	return check_realloc(GFP_KERNEL, true, "init_on_alloc on");
}

/*
 * With init_on_alloc=0 and init_on_free=0 the old bytes are still there;
 * __GFP_ZERO still zeroes.
 */
static int check_no_init_on_alloc(void)
{
	return check_realloc(GFP_KERNEL, false, "init_on_alloc off") ?:
	       check_realloc(GFP_KERNEL | __GFP_ZERO, true, "__GFP_ZERO");
}

/* With init_on_free=1 the pages of a freed area read zero at once. */
static int check_init_on_free(void)
{
	unsigned long size = INIT_PAGES * PAGE_SIZE;
	struct page *old[INIT_PAGES];
	unsigned int j;
	int err = 0;
	u8 *p = kml_vmalloc(size);

	if (!p)
		return -ENOMEM;
	memset(p, 0xa5, size);
	for (j = 0; j < INIT_PAGES; j++)
		old[j] = kml_vmalloc_to_page(p + j * PAGE_SIZE);
	kml_vfree(p);
	/* Free pages of the region: still mapped in the direct map. */
	for (j = 0; j < INIT_PAGES; j++)
		if (!old[j] || memchr_inv(page_address(old[j]), 0, PAGE_SIZE))
			err = -EINVAL;
	return err;
}

/* ---- alignment ---- */

static int one_aligned(unsigned long size, unsigned long align)
{
	unsigned long i;
	int err = 0;
	u8 *p = kml___vmalloc_node(size, align, GFP_KERNEL, NUMA_NO_NODE,
				   __builtin_return_address(0));

	if (!p)
		return -ENOMEM;
	if (!is_vmalloc_addr(p) || !IS_ALIGNED((unsigned long)p, max(align, PAGE_SIZE)))
		err = -EINVAL;
	for (i = 0; i < size; i++)
		p[i] = (u8)(i ^ (i >> 9));
	for (i = 0; i < size && !err; i++)
		if (p[i] != (u8)(i ^ (i >> 9)))
			err = -EIO;
	for (i = 0; i < size && !err; i += PAGE_SIZE)
		if (!kml_vmalloc_to_page(p + i))
			err = -EFAULT;
	if (err)
		pr_warn("size %lu align %lu: %p, error %d\n", size, align, p, err);
	kml_vfree(p);
	return err;
}

static int check_align(void)
{
	static const unsigned long sizes[] = { 1, PAGE_SIZE, 3 * PAGE_SIZE + 5, 1 << 20 };
	static const unsigned long aligns[] = { 1, 64, PAGE_SIZE, 2 * PAGE_SIZE, 16 * PAGE_SIZE,
						256 << 10, 2 << 20 };
	unsigned int s, a;
	int err = 0;

	for (s = 0; s < ARRAY_SIZE(sizes); s++)
		for (a = 0; a < ARRAY_SIZE(aligns); a++)
			err = err ?: one_aligned(sizes[s], aligns[a]);
	/* Not powers of two: refused (NULL, a report), never a crash. */
	if (kml___vmalloc_node(PAGE_SIZE, 3 * PAGE_SIZE, GFP_KERNEL, NUMA_NO_NODE, NULL) ||
	    kml___vmalloc_node(PAGE_SIZE, 0, GFP_KERNEL, NUMA_NO_NODE, NULL))
		err = -EINVAL;
	return err;
}

/* ---- vmap ---- */

#define VMAP_PAGES 8

static int check_vmap(void)
{
	struct page *pages[VMAP_PAGES], *block;
	unsigned int i;
	int err = 0;
	u8 *v;

	block = kml_alloc_pages(GFP_KERNEL, 2);	/* 4 pages of a block ... */
	if (!block)
		return -ENOMEM;
	for (i = 0; i < 4; i++)
		pages[i] = block + i;
	for (; i < VMAP_PAGES; i++) {		/* ... and 4 single pages */
		pages[i] = kml_alloc_pages(GFP_KERNEL, 0);
		if (!pages[i])
			err = -ENOMEM;
	}
	for (i = 0; i < VMAP_PAGES && !err; i++)
		memset(page_address(pages[i]), i + 1, PAGE_SIZE);
	v = err ? NULL : kml_vmap(pages, VMAP_PAGES, VM_MAP, PAGE_KERNEL);
	if (!err && (!v || !is_vmalloc_addr(v)))
		err = -EINVAL;
	for (i = 0; i < VMAP_PAGES && !err; i++) {
		if (kml_vmalloc_to_page(v + i * PAGE_SIZE) != pages[i] ||
		    memchr_inv(v + i * PAGE_SIZE, i + 1, PAGE_SIZE))
			err = -EIO;
		v[i * PAGE_SIZE + 7] = 0xee;	/* seen through the direct map */
	}
	kml_vunmap(v);
	if (v && kml_vmalloc_to_page(v))
		err = -EINVAL;
	/* The pages are still the caller's, with what was written. */
	for (i = 0; i < VMAP_PAGES && !err; i++)
		if (((u8 *)page_address(pages[i]))[7] != 0xee)
			err = -EIO;
	for (i = 4; i < VMAP_PAGES; i++)
		if (pages[i])
			kml___free_pages(pages[i], 0);
	kml___free_pages(block, 2);
	return err;
}

/* Pages that are not kmemlab's, or free, are refused with a report. */
static int check_vmap_foreign(void)
{
	struct page *pages[2];
	int err = 0;

	pages[0] = kml_alloc_pages(GFP_KERNEL, 0);
	pages[1] = alloc_page(GFP_KERNEL);	/* Linux's */
	if (!pages[0] || !pages[1]) {
		err = -ENOMEM;
		goto out;
	}
	if (kml_vmap(pages, 2, VM_MAP, PAGE_KERNEL))
		err = -EINVAL;
	kml___free_pages(pages[0], 0);
	if (kml_vmap(pages, 1, VM_MAP, PAGE_KERNEL))	/* a free page */
		err = -EINVAL;
	pages[0] = NULL;
out:
	if (pages[0])
		kml___free_pages(pages[0], 0);
	if (pages[1])
		__free_page(pages[1]);
	return err;
}

/* ---- kvmalloc ---- */

/* 4 MiB: kmemlab's largest kmalloc with the default max_order=10. */
#define KMALLOC_LARGEST (PAGE_SIZE << 10)

static int kv_where(size_t size, gfp_t gfp, int want_vmalloc)
{
	void *p = kml_kvmalloc(size, gfp);
	int err = 0;

	if (want_vmalloc < 0) {		/* must fail */
		err = p ? -EINVAL : 0;
	} else if (!p) {
		err = -ENOMEM;
	} else {
		if (is_vmalloc_addr(p) != want_vmalloc)
			err = -EINVAL;
		memset(p, 0x11, size);
	}
	if (err)
		pr_warn("kvmalloc(%zu, %#x): %p, wanted %d\n", size, gfp, p, want_vmalloc);
	kml_kvfree(p);
	return err;
}

/*
 * With memory to spare, kmalloc serves every size it has (up to its
 * largest block); beyond it kvmalloc takes vmalloc, unless the gfp cannot
 * sleep.
 */
static int check_kvmalloc(void)
{
	int err = 0;

	err = err ?: kv_where(PAGE_SIZE, GFP_KERNEL, 0);
	err = err ?: kv_where(PAGE_SIZE + 1, GFP_KERNEL, 0);
	err = err ?: kv_where(KMALLOC_LARGEST, GFP_KERNEL, 0);
	err = err ?: kv_where(KMALLOC_LARGEST + 1, GFP_KERNEL, 1);
	err = err ?: kv_where(KMALLOC_LARGEST + 1, GFP_NOFS, 1);
	err = err ?: kv_where(KMALLOC_LARGEST + 1, GFP_ATOMIC | __GFP_NOWARN, -1);
	if (kml_kvmalloc_array(SIZE_MAX / 2, 3, GFP_KERNEL) ||
	    kml_kvcalloc(3, SIZE_MAX / 2, GFP_KERNEL))
		err = -EINVAL;	/* n * size overflows: NULL */
	return err;
}

/*
 * On a region where no two free pages are buddies, kmalloc beyond a page
 * fails and kvmalloc switches to vmalloc; up to a page it never does.
 */
static int check_kvmalloc_fragmented(void)
{
	LIST_HEAD(held);
	LIST_HEAD(spare);
	struct page *page, *tmp;
	int err = 0;
	u8 *z;

	while ((page = kml_alloc_pages(GFP_KERNEL | __GFP_NOWARN, 0)))
		list_add(&page->lru, page_to_pfn(page) & 1 ? &held : &spare);
	list_for_each_entry_safe(page, tmp, &spare, lru) {
		list_del(&page->lru);
		kml___free_pages(page, 0);
	}
	err = err ?: kv_where(PAGE_SIZE, GFP_KERNEL, 0);
	err = err ?: kv_where(3 * PAGE_SIZE, GFP_KERNEL, 1);
	err = err ?: kv_where(3 * PAGE_SIZE, GFP_NOFS, 1);
	err = err ?: kv_where(3 * PAGE_SIZE, GFP_ATOMIC | __GFP_NOWARN, -1);
	z = kml_kvcalloc(3, PAGE_SIZE, GFP_KERNEL);
	if (!z || !is_vmalloc_addr(z) || memchr_inv(z, 0, 3 * PAGE_SIZE))
		err = -EINVAL;
	kml_kvfree_sensitive(z, 3 * PAGE_SIZE);
	list_for_each_entry_safe(page, tmp, &held, lru) {
		list_del(&page->lru);
		kml___free_pages(page, 0);
	}
	return err;
}

static bool has_pattern(const u8 *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (p[i] != (u8)(i * 7 + 3))
			return false;
	return true;
}

/* The contents survive every move: kmalloc, larger kmalloc, vmalloc. */
static int check_kvrealloc(void)
{
	size_t n = 1000, i, big = KMALLOC_LARGEST + PAGE_SIZE;
	int err = 0;
	u8 *p, *q;

	p = kml_kvmalloc(n, GFP_KERNEL);
	if (!p)
		return -ENOMEM;
	for (i = 0; i < n; i++)
		p[i] = (u8)(i * 7 + 3);
	q = kml_kvrealloc(p, 2 * PAGE_SIZE, GFP_KERNEL);
	if (!q || is_vmalloc_addr(q) || !has_pattern(q, n)) {
		kml_kvfree(q ?: p);
		return -EINVAL;
	}
	p = q;
	q = kml_kvrealloc(p, big, GFP_KERNEL | __GFP_ZERO);
	if (!q || !is_vmalloc_addr(q) || !has_pattern(q, n)) {
		kml_kvfree(q ?: p);
		return -EINVAL;
	}
	p = q;
	/* In place within the area's pages; a shrink keeps the start. */
	q = kml_kvrealloc(p, n, GFP_KERNEL);
	if (q != p || !has_pattern(q, n))
		err = -EINVAL;
	q = kml_kvrealloc(p, big, GFP_KERNEL | __GFP_ZERO);
	if (q != p || memchr_inv(q + n, 0, big - n))
		err = -EINVAL;
	/* Beyond the pages: a new area, contents copied. */
	q = kml_kvrealloc(p, 2 * big, GFP_KERNEL);
	if (!q || !is_vmalloc_addr(q) || !has_pattern(q, n)) {
		kml_kvfree(q ?: p);
		return -EINVAL;
	}
	kml_kvfree(q);
	/* NULL allocates; size 0 frees. */
	p = kml_kvrealloc(NULL, 3 * PAGE_SIZE, GFP_KERNEL);
	if (!p)
		return -ENOMEM;
	kml_kvfree(kml_kvrealloc(p, 0, GFP_KERNEL));
	return err;
}

/* ---- bad input: reported and counted (test_vmalloc.sh counts) ---- */

static int check_bad(void)
{
	struct page *page;
	u8 *p, *v;
	int err = 0;

	p = kml_kvmalloc(KMALLOC_LARGEST + 1, GFP_KERNEL);
	if (!p || !is_vmalloc_addr(p))
		return -ENOMEM;
	kml_vfree(p + PAGE_SIZE);		/* inside the area: 1 */
	kml_kvfree(p);
	kml_kvfree(p);				/* twice: 2 */
	page = kml_alloc_pages(GFP_KERNEL, 0);
	if (!page)
		return -ENOMEM;
	v = kml_vmap(&page, 1, VM_MAP, PAGE_KERNEL);
	if (!v)
		err = -ENOMEM;
	kml_vfree(v);				/* a vmap area: 3 */
	kml_vunmap(v);
	kml_vunmap(v);				/* twice: 4 */
	kml___free_pages(page, 0);
	/* And everything still works. */
	return err ?: check_size(3 * PAGE_SIZE);
}

struct vm_check {
	const char *name;
	int (*fn)(void);
};

static const struct vm_check checks[] = {
	{ "vfree_process", check_vfree_process },
	{ "vfree_softirq", check_vfree_softirq },
	{ "vfree_hardirq", check_vfree_hardirq },
	{ "vfree_rcu", check_vfree_rcu },
	{ "vfree_bh", check_vfree_bh },
	{ "vfree_irqs_off", check_vfree_irqs_off },
	{ "nowarn", check_nowarn },
	{ "warn", check_warn },
	{ "gfp", check_gfp },
	{ "init_on_alloc", check_init_on_alloc },
	{ "no_init_on_alloc", check_no_init_on_alloc },
	{ "init_on_free", check_init_on_free },
	{ "align", check_align },
	{ "vmap", check_vmap },
	{ "vmap_foreign", check_vmap_foreign },
	{ "kvmalloc", check_kvmalloc },
	{ "kvmalloc_fragmented", check_kvmalloc_fragmented },
	{ "kvrealloc", check_kvrealloc },
	{ "bad", check_bad },
};

static void __init selftest(void)
{
	unsigned int i;

	if (check) {
		for (i = 0; i < ARRAY_SIZE(checks); i++) {
			if (!strcmp(check, checks[i].name)) {
				int err = checks[i].fn();

				if (err == SKIPPED)
					skipped_tests++;
				else
					KSTM_CHECK_ZERO(err);
				return;
			}
		}
		pr_err("check=%s: no such check\n", check);
		KSTM_CHECK_ZERO(-EINVAL);
		return;
	}
	KSTM_CHECK_ZERO(check_size(1));
	KSTM_CHECK_ZERO(check_size(PAGE_SIZE));
	KSTM_CHECK_ZERO(check_size(64 << 10));
	KSTM_CHECK_ZERO(check_size((1 << 20) + 123));
	KSTM_CHECK_ZERO(check_size(8 << 20));	/* twice a max-order block */
	KSTM_CHECK_ZERO(check_zeroed());
	KSTM_CHECK_ZERO(check_limits());
	KSTM_CHECK_ZERO(check_fragmented());
}

KSTM_MODULE_LOADERS(test_kmemlab_vmalloc);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("kmemlab vmalloc checks, run at load");
