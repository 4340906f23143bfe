// SPDX-License-Identifier: GPL-2.0
/*
 * test_kmemlab_vmalloc - checks of kml_vmalloc and friends, run at load.
 * Loading succeeds only when every check passes (kselftest_module.h).
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/module.h>
#include <linux/mm.h>
#include <linux/vmalloc.h>
#include "kselftest_module.h"
#include "../include/kmemlab.h"

KSTM_MODULE_GLOBALS();

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

static void __init selftest(void)
{
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
