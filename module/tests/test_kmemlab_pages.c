// SPDX-License-Identifier: GPL-2.0
/*
 * test_kmemlab_pages - checks of kmemlab's page API, run at load time.
 * Loading succeeds only when every check passes (kselftest_module.h).
 * Misuse checks provoke pr_err reports on purpose; the shell side compares
 * the misuse counters in debugfs stats.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/module.h>
#include <linux/mm.h>
#include <linux/slab.h>
#include <linux/vmalloc.h>
#include "kselftest_module.h"
#include "../include/kmemlab.h"

KSTM_MODULE_GLOBALS();

static unsigned int max_order = 10;
module_param(max_order, uint, 0444);

/* Fills every byte with a pattern from @seed and checks it back. */
static int fill_and_check(u8 *p, size_t len, u8 seed)
{
	size_t i;

	for (i = 0; i < len; i++)
		p[i] = (u8)(seed + i * 7);
	for (i = 0; i < len; i++)
		if (p[i] != (u8)(seed + i * 7))
			return -EIO;
	return 0;
}

static int check_orders(void)
{
	unsigned int order;

	for (order = 0; order <= max_order; order++) {
		struct page *page = kml_alloc_pages(GFP_KERNEL, order);
		void *addr;

		if (!page)
			return -ENOMEM;
		addr = page_address(page);
		if (!kml_addr_in_region(addr) ||
		    !kml_addr_in_region(addr + (PAGE_SIZE << order) - 1) ||
		    (page_to_pfn(page) & ((1ul << order) - 1)) ||
		    fill_and_check(addr, PAGE_SIZE << order, order)) {
			kml___free_pages(page, order);
			return -EINVAL;
		}
		kml___free_pages(page, order);
	}
	return 0;
}

static int check_zeroed(void)
{
	unsigned long a, z;
	int err = 0;
	size_t i;

	/* Dirty a page, give it back, and ask for a zeroed one: the same page
	 * comes back from the per-CPU list and must still be all zero.
	 */
	migrate_disable();	/* one CPU's list for both calls */
	a = kml_get_free_page(GFP_KERNEL);
	if (a) {
		memset((void *)a, 0x5a, PAGE_SIZE);
		kml_free_page(a);
	}
	z = kml_get_zeroed_page(GFP_KERNEL);
	migrate_enable();
	if (!a || !z)
		return -ENOMEM;
	for (i = 0; i < PAGE_SIZE; i++)
		if (((u8 *)z)[i])
			err = -EIO;
	if (z != a)	/* LIFO per-CPU list: the dirtied page again */
		err = err ?: -EAGAIN;
	kml_free_page(z);
	a = kml_get_free_pages(GFP_KERNEL | __GFP_ZERO, 2);
	if (!a)
		return -ENOMEM;
	for (i = 0; i < PAGE_SIZE << 2; i++)
		if (((u8 *)a)[i])
			err = -EIO;
	kml_free_pages(a, 2);
	return err;
}

static int check_exhaustion(void)
{
	LIST_HEAD(held);
	unsigned long n = 0, again = 0;
	struct page *page, *tmp;

	while ((page = kml_alloc_pages(GFP_KERNEL | __GFP_NOWARN, 0))) {
		list_add(&page->lru, &held);
		n++;
	}
	/* Everything is taken: order 3 fails too. */
	page = kml_alloc_pages(GFP_KERNEL | __GFP_NOWARN, 3);
	if (page) {
		kml___free_pages(page, 3);
		n = 0;		/* reported below, after giving all back */
	}
	list_for_each_entry_safe(page, tmp, &held, lru) {
		list_del(&page->lru);
		kml___free_pages(page, 0);
		again++;
	}
	pr_info("exhaustion: %lu order-0 pages taken and given back\n", again);
	return n == again && n > 0 ? 0 : -EINVAL;
}

/* Each misuse below is reported by kmemlab, counted, and changes nothing. */
static int check_misuse(void)
{
	struct page *mine = kml_alloc_pages(GFP_KERNEL, 2);
	struct page *linux_page = alloc_page(GFP_KERNEL);
	void *area = kml_vmalloc(PAGE_SIZE);
	unsigned long a = kml_get_free_page(GFP_KERNEL);
	int err = 0;

	if (!mine || !linux_page || !area || !a) {
		err = -ENOMEM;
		goto out;
	}
	kml___free_pages(linux_page, 0);		/* outside */
	kml_free_pages((unsigned long)page_address(mine) + 8, 2); /* outside */
	kml___free_pages(mine + 1, 0);			/* not_head */
	kml___free_pages(mine, 1);			/* wrong_order */
	kml___free_pages(kml_vmalloc_to_page(area), 0);	/* wrong_owner: vmalloc's */
	kml___free_pages(mine, 2);			/* correct */
	kml___free_pages(mine, 2);			/* double_free */
	mine = NULL;
	kml_free_page(a);
	kml_free_page(a);				/* double_free */
	a = 0;
	kml_free_page(0);				/* no-op, as free_page(0) */
out:
	if (mine)
		kml___free_pages(mine, 2);
	if (linux_page)
		__free_page(linux_page);
	kml_vfree(area);
	kml_free_page(a);
	return err;
}

static void __init selftest(void)
{
	KSTM_CHECK_ZERO(check_orders());
	KSTM_CHECK_ZERO(check_zeroed());
	KSTM_CHECK_ZERO(check_exhaustion());
	KSTM_CHECK_ZERO(check_misuse());
}

KSTM_MODULE_LOADERS(test_kmemlab_pages);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("kmemlab page allocator checks, run at load");
