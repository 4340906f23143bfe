// SPDX-License-Identifier: GPL-2.0
/*
 * vmalloc.c - virtually contiguous memory from scattered region pages.
 *
 * kml_vmalloc takes one order-0 page at a time from kmemlab's buddy
 * allocator (so any size fits while enough single pages are free, however
 * fragmented), maps them with the kernel's vmap(), which puts an unmapped
 * guard page after the area, and records the area by its address.
 *
 * Locking: kml_vm_lock (a mutex; all of this may sleep, as vmalloc and
 * vfree do) protects the area index and each area's lifetime.
 */
#include <linux/export.h>
#include <linux/mm.h>
#include <linux/mutex.h>
#include <linux/seq_file.h>
#include <linux/slab.h>
#include <linux/vmalloc.h>
#include <linux/xarray.h>
#include "kmemlab_internal.h"
#include "include/kmemlab.h"

struct kml_vm_area {
	void *addr;
	unsigned int nr_pages;
	struct page **pages;
	const void *caller;
};

static DEFINE_MUTEX(kml_vm_lock);
static DEFINE_XARRAY(kml_vm_areas);	/* addr >> PAGE_SHIFT -> area */
struct kml_vm_stats kml_vm_stats;

static void give_back_pages(struct page **pages, unsigned int n)
{
	while (n--)
		kml_buddy_free(&kml_buddy, kml_page_index(pages[n]), 0, KML_KIND_VMALLOC);
}

static void *vmalloc_caller(unsigned long size, gfp_t gfp, const void *caller)
{
	unsigned long n = PAGE_ALIGN(size) >> PAGE_SHIFT;
	struct kml_vm_area *area;
	unsigned int i;
	int err;

	might_sleep();
	if (!size || n > kml_buddy_free_pages(&kml_buddy) || n > UINT_MAX)
		goto fail;
	area = kzalloc(sizeof(*area), GFP_KERNEL);
	if (!area)
		goto fail;
	area->pages = kvmalloc_array(n, sizeof(struct page *), GFP_KERNEL);
	if (!area->pages)
		goto fail_area;
	for (i = 0; i < n; i++) {
		u32 idx = kml_buddy_alloc(&kml_buddy, 0, KML_KIND_VMALLOC);

		if (idx == KML_NIL) {
			give_back_pages(area->pages, i);
			goto fail_pages;
		}
		area->pages[i] = kml_index_page(idx);
		if (gfp & __GFP_ZERO)
			clear_page(page_address(area->pages[i]));
		cond_resched();
	}
	area->nr_pages = n;
	area->caller = caller;
	area->addr = vmap(area->pages, n, VM_MAP, PAGE_KERNEL);
	if (!area->addr)
		goto fail_map;
	mutex_lock(&kml_vm_lock);
	err = xa_err(xa_store(&kml_vm_areas, (unsigned long)area->addr >> PAGE_SHIFT,
			      area, GFP_KERNEL));
	if (!err) {
		kml_vm_stats.allocs++;
		kml_vm_stats.pages += n;
	}
	mutex_unlock(&kml_vm_lock);
	if (err) {
		vunmap(area->addr);
		goto fail_map;
	}
	return area->addr;

fail_map:
	give_back_pages(area->pages, n);
fail_pages:
	kvfree(area->pages);
fail_area:
	kfree(area);
fail:
	mutex_lock(&kml_vm_lock);
	kml_vm_stats.failed++;
	mutex_unlock(&kml_vm_lock);
	if (!(gfp & __GFP_NOWARN))
		pr_warn_ratelimited("kmemlab: vmalloc of %lu bytes failed, from %pS\n",
				    size, caller);
	return NULL;
}

void *kml_vmalloc(unsigned long size)
{
	return vmalloc_caller(size, GFP_KERNEL, __builtin_return_address(0));
}
EXPORT_SYMBOL_GPL(kml_vmalloc);

void *kml_vzalloc(unsigned long size)
{
	return vmalloc_caller(size, GFP_KERNEL | __GFP_ZERO, __builtin_return_address(0));
}
EXPORT_SYMBOL_GPL(kml_vzalloc);

void kml_vfree(const void *addr)
{
	struct kml_vm_area *area = NULL;

	if (!addr)
		return;
	might_sleep();
	mutex_lock(&kml_vm_lock);
	if (PAGE_ALIGNED(addr))
		area = xa_erase(&kml_vm_areas, (unsigned long)addr >> PAGE_SHIFT);
	if (area) {
		kml_vm_stats.frees++;
		kml_vm_stats.pages -= area->nr_pages;
	} else {
		kml_vm_stats.bad_frees++;
	}
	mutex_unlock(&kml_vm_lock);
	if (!area) {
		pr_err("kmemlab: vfree(%p): not the start of a kmemlab vmalloc area (freed twice, or never allocated), from %pS\n",
		       addr, __builtin_return_address(0));
		return;
	}
	vunmap(area->addr);
	give_back_pages(area->pages, area->nr_pages);
	kvfree(area->pages);
	kfree(area);
}
EXPORT_SYMBOL_GPL(kml_vfree);

struct page *kml_vmalloc_to_page(const void *addr)
{
	struct page *page;

	if (!is_vmalloc_addr(addr))
		return NULL;
	page = vmalloc_to_page(addr);
	if (!page || kml_page_index(page) == KML_NIL)
		return NULL;
	return page;
}
EXPORT_SYMBOL_GPL(kml_vmalloc_to_page);

/* The layout of /proc/vmallocinfo; the size counts the guard page. */
int kml_vmallocinfo_show(struct seq_file *m, void *v)
{
	struct kml_vm_area *area;
	unsigned long index;

	mutex_lock(&kml_vm_lock);
	xa_for_each(&kml_vm_areas, index, area) {
		unsigned long size = ((unsigned long)area->nr_pages + 1) << PAGE_SHIFT;

		seq_printf(m, "0x%pK-0x%pK %7ld %pS pages=%u vmalloc", area->addr,
			   area->addr + size, size, area->caller, area->nr_pages);
		if (is_vmalloc_addr(area->pages))
			seq_puts(m, " vpages");
		seq_putc(m, '\n');
	}
	mutex_unlock(&kml_vm_lock);
	return 0;
}

/* At unload: areas a caller never freed go back, with a report each. */
void kml_vmalloc_exit(void)
{
	struct kml_vm_area *area;
	unsigned long index;

	xa_for_each(&kml_vm_areas, index, area) {
		pr_err("kmemlab: vmalloc area %p of %u pages from %pS was never freed\n",
		       area->addr, area->nr_pages, area->caller);
		kml_vfree(area->addr);
	}
	xa_destroy(&kml_vm_areas);
}
