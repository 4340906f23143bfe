// SPDX-License-Identifier: GPL-2.0
/*
 * kmemlab - Linux's memory allocators re-implemented over a private region,
 * so that every decision they make can be watched and tested.
 *
 * main.c: module parameters, load and unload.
 */
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/mmzone.h>
#include "kmemlab_internal.h"

static unsigned int region_mb = 64;
module_param(region_mb, uint, 0444);
MODULE_PARM_DESC(region_mb, "size of the private region in MiB, a multiple of the max-order block (default 64)");

static unsigned int max_order = MAX_PAGE_ORDER;
module_param(max_order, uint, 0444);
MODULE_PARM_DESC(max_order, "largest buddy order, at most the kernel's MAX_PAGE_ORDER (default 10: 4 MiB)");

struct kml_buddy kml_buddy;
unsigned long kml_baseline_free;	/* free pages once loaded: the initial state */

static int __init kmemlab_init(void)
{
	size_t meta;
	int err;

	if (max_order > MAX_PAGE_ORDER) {
		pr_err("kmemlab: max_order=%u: the kernel supplies blocks up to order %d\n",
		       max_order, MAX_PAGE_ORDER);
		return -EINVAL;
	}
	err = kml_platform_init();
	if (err)
		return err;
	err = kml_region_init(region_mb, max_order);
	if (err)
		goto out_platform;
	err = kml_buddy_init(&kml_buddy, kml_region.npages, max_order);
	if (err) {
		pr_err("kmemlab: no memory for the buddy allocator's metadata\n");
		goto out_region;
	}
	err = kml_slab_api_init();
	if (err)
		goto out_buddy;
	err = kml_hotplug_init();
	if (err)
		goto out_slab;
	err = kml_device_init();
	if (err)
		goto out_hotplug;
	/* Last, so that no reader ever sees a layer before it is set up. */
	err = kml_debugfs_init();
	if (err)
		goto out_device;
	kml_buddy_drain(&kml_buddy);
	kml_baseline_free = kml_buddy_free_pages(&kml_buddy);
	meta = kml_buddy_meta_bytes(kml_region.npages, kml_nr_cpus()) +
	       kml_region.nchunks * sizeof(unsigned long);
	pr_info("kmemlab: region %u MiB: %lu pages in %u blocks of order %u; metadata %zu bytes (%zu.%02zu%% of the region)\n",
		region_mb, kml_region.npages, kml_region.nchunks, max_order, meta,
		meta * 100 / (kml_region.npages * PAGE_SIZE),
		meta * 10000 / (kml_region.npages * PAGE_SIZE) % 100);
	return 0;

out_device:
	kml_device_exit();
	kml_heap_exit();
	kml_user_exit();
out_hotplug:
	kml_hotplug_exit();
out_slab:
	kml_slab_api_exit();
out_buddy:
	kml_buddy_destroy(&kml_buddy);
out_region:
	kml_region_exit();
out_platform:
	kml_platform_exit();
	return err;
}

/* The reverse of kmemlab_init; debugfs first, so that no reader outlives a layer. */
static void __exit kmemlab_exit(void)
{
	unsigned long npages = kml_region.npages, left;

	kml_debugfs_exit();
	kml_device_exit();
	kml_heap_exit();
	kml_user_exit();	/* after every file and heap dropped its account */
	kml_slab_rcu_barrier();	/* kvfree_rcu's pending frees may be vmalloc'd */
	kml_vmalloc_exit();
	kml_hotplug_exit();
	kml_slab_api_exit();
	kml_pages_exit();
	kml_buddy_drain(&kml_buddy);
	left = npages - kml_buddy_free_pages(&kml_buddy);
	if (left)
		pr_err("kmemlab: %lu pages still allocated at unload (a caller leaked them)\n",
		       left);
	kml_buddy_destroy(&kml_buddy);
	kml_region_exit();
	kml_platform_exit();
	pr_info("kmemlab: unloaded; region of %lu pages returned to the kernel, %lu of them were still allocated\n",
		npages, left);
}

module_init(kmemlab_init);
module_exit(kmemlab_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("Linux's page, slab and vmalloc allocators over a private region, observable");
