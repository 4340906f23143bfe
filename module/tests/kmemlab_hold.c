// SPDX-License-Identifier: GPL-2.0
/*
 * kmemlab_hold - takes kmemlab blocks at load and gives them back at unload,
 * so that the demo and the tests can watch splits and merges.
 *
 *   insmod kmemlab_hold.ko orders=0,3      one order-0 page, one order-3 block
 *   insmod kmemlab_hold.ko vmalloc_kb=1024 one 1 MiB kml_vmalloc area
 *   insmod kmemlab_hold.ko fragment=1      every odd page of the region, so that
 *                                          no two free pages are buddies
 *   insmod kmemlab_hold.ko vmalloc_kb=8 double_free=1
 *                                          at unload, also vfrees the area's
 *                                          second page, then the area twice
 *   insmod kmemlab_hold.ko orders=2 double_free=1
 *                                          at unload, frees the first block
 *                                          twice (kmemlab reports the second)
 */
#include <linux/module.h>
#include <linux/mm.h>
#include "../include/kmemlab.h"

#define MAX_HELD 64

static unsigned int orders[MAX_HELD];
static int nr_orders;
module_param_array(orders, uint, &nr_orders, 0444);
MODULE_PARM_DESC(orders, "orders of the blocks to hold, comma separated");

static bool double_free;
module_param(double_free, bool, 0444);
MODULE_PARM_DESC(double_free, "free the first block (and the vmalloc area) wrongly at unload");

static unsigned int vmalloc_kb;
module_param(vmalloc_kb, uint, 0444);
MODULE_PARM_DESC(vmalloc_kb, "size of a kml_vmalloc area to hold, in KiB");

static bool fragment;
module_param(fragment, bool, 0444);
MODULE_PARM_DESC(fragment, "hold every odd page of the region");

static struct page *held[MAX_HELD];
static LIST_HEAD(odd_pages);
static void *area;

/* Not __init: vmallocinfo names the caller, and init text is freed. */
static noinline void *hold_vmalloc(unsigned long size)
{
	void *p = kml_vmalloc(size);

	barrier();	/* no tail call: the caller is this function */
	return p;
}

static void take_odd_pages(void)
{
	LIST_HEAD(even);
	struct page *page, *tmp;

	while ((page = kml_alloc_pages(GFP_KERNEL | __GFP_NOWARN, 0)))
		list_add(&page->lru, page_to_pfn(page) & 1 ? &odd_pages : &even);
	list_for_each_entry_safe(page, tmp, &even, lru) {
		list_del(&page->lru);
		kml___free_pages(page, 0);
	}
}

static void give_back_odd_pages(void)
{
	struct page *page, *tmp;

	list_for_each_entry_safe(page, tmp, &odd_pages, lru) {
		list_del(&page->lru);
		kml___free_pages(page, 0);
	}
}

static int __init hold_init(void)
{
	int i;

	if (fragment)
		take_odd_pages();

	for (i = 0; i < nr_orders; i++) {
		held[i] = kml_alloc_pages(GFP_KERNEL, orders[i]);
		if (!held[i]) {
			while (i--)
				kml___free_pages(held[i], orders[i]);
			give_back_odd_pages();
			return -ENOMEM;
		}
	}
	if (vmalloc_kb) {
		area = hold_vmalloc((unsigned long)vmalloc_kb << 10);
		if (!area) {
			for (i = 0; i < nr_orders; i++)
				kml___free_pages(held[i], orders[i]);
			give_back_odd_pages();
			return -ENOMEM;
		}
	}
	return 0;
}

static void __exit hold_exit(void)
{
	int i;

	if (double_free && area)
		kml_vfree(area + PAGE_SIZE);	/* inside the area */
	kml_vfree(area);
	if (double_free)
		kml_vfree(area);		/* twice (a no-op when NULL) */
	give_back_odd_pages();
	for (i = 0; i < nr_orders; i++)
		kml___free_pages(held[i], orders[i]);
	if (double_free && nr_orders)
		kml___free_pages(held[0], orders[0]);
}

module_init(hold_init);
module_exit(hold_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("holds kmemlab pages between insmod and rmmod");
