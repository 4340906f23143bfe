// SPDX-License-Identifier: GPL-2.0
/*
 * vmalloc.c - virtually contiguous memory from scattered region pages.
 *
 * kml_vmalloc takes one order-0 page at a time from kmemlab's buddy
 * allocator (so any size fits while enough single pages are free, however
 * fragmented), maps them with the kernel's vmap(), which puts an unmapped
 * guard page after the area, and records the area by its address.
 *
 * Each area's descriptor holds its page array and its node in an rbtree
 * keyed by address, so that an area costs one metadata allocation and no
 * index memory. Locking: kml_vm_lock (a spinlock) protects the tree, the
 * counters and each area's lifetime; kml_vmalloc and kml_vfree may sleep
 * (vmap, vunmap), as vmalloc and vfree do, but never under the lock.
 */
#include <linux/export.h>
#include <linux/mm.h>
#include <linux/overflow.h>
#include <linux/rbtree.h>
#include <linux/seq_file.h>
#include <linux/slab.h>
#include <linux/vmalloc.h>
#include "kmemlab_internal.h"
#include "include/kmemlab.h"

struct kml_vm_area {
	struct rb_node node;
	void *addr;
	unsigned int nr_pages;
	const void *caller;
	struct page *pages[];
};

static DEFINE_SPINLOCK(kml_vm_lock);
static struct rb_root kml_vm_areas = RB_ROOT;
struct kml_vm_stats kml_vm_stats;

static void insert_area(struct kml_vm_area *area)
{
	struct rb_node **link = &kml_vm_areas.rb_node, *parent = NULL;

	while (*link) {
		parent = *link;
		if (area->addr < rb_entry(parent, struct kml_vm_area, node)->addr)
			link = &parent->rb_left;
		else
			link = &parent->rb_right;
	}
	rb_link_node(&area->node, parent, link);
	rb_insert_color(&area->node, &kml_vm_areas);
}

static struct kml_vm_area *find_area(const void *addr)
{
	struct rb_node *n = kml_vm_areas.rb_node;

	while (n) {
		struct kml_vm_area *area = rb_entry(n, struct kml_vm_area, node);

		if (addr == area->addr)
			return area;
		n = addr < area->addr ? n->rb_left : n->rb_right;
	}
	return NULL;
}

#define CHUNK 64	/* pages per hold of the per-CPU list lock */

static void give_back_pages(struct page **pages, unsigned int n)
{
	u32 idx[CHUNK];
	unsigned int i, k;

	for (i = 0; i < n; i += k) {
		for (k = 0; k < CHUNK && i + k < n; k++)
			idx[k] = kml_page_index(pages[i + k]);
		kml_buddy_free_bulk(&kml_buddy, idx, k, KML_KIND_VMALLOC);
		cond_resched();
	}
}

/* Fills @pages with @n region pages, a chunk at a time; false if short. */
static bool take_pages(struct page **pages, unsigned int n, gfp_t gfp)
{
	unsigned int i = 0, k, got;
	u32 idx[CHUNK];

	while (i < n) {
		k = min_t(unsigned int, CHUNK, n - i);
		got = kml_buddy_alloc_bulk(&kml_buddy, k, KML_KIND_VMALLOC, idx);
		if (!got) {
			/* The slow path drains the per-CPU lists and reclaims. */
			idx[0] = kml_buddy_alloc(&kml_buddy, 0, KML_KIND_VMALLOC);
			if (idx[0] == KML_NIL) {
				give_back_pages(pages, i);
				return false;
			}
			got = 1;
		}
		for (k = 0; k < got; k++, i++) {
			pages[i] = kml_index_page(idx[k]);
			if (gfp & __GFP_ZERO)
				clear_page(page_address(pages[i]));
		}
		cond_resched();
	}
	return true;
}

static void *vmalloc_caller(unsigned long size, gfp_t gfp, const void *caller)
{
	unsigned long n = PAGE_ALIGN(size) >> PAGE_SHIFT;
	struct kml_vm_area *area;

	might_sleep();
	if (!size || n > kml_buddy_free_pages(&kml_buddy) || n > UINT_MAX)
		goto fail;
	area = kvmalloc(struct_size(area, pages, n), GFP_KERNEL);
	if (!area)
		goto fail;
	if (!take_pages(area->pages, n, gfp))
		goto fail_area;
	area->nr_pages = n;
	area->caller = caller;
	area->addr = vmap(area->pages, n, VM_MAP, PAGE_KERNEL);
	if (!area->addr) {
		give_back_pages(area->pages, n);
		goto fail_area;
	}
	spin_lock(&kml_vm_lock);
	insert_area(area);
	kml_vm_stats.allocs++;
	kml_vm_stats.pages += n;
	spin_unlock(&kml_vm_lock);
	return area->addr;

fail_area:
	kvfree(area);
fail:
	spin_lock(&kml_vm_lock);
	kml_vm_stats.failed++;
	spin_unlock(&kml_vm_lock);
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
	struct kml_vm_area *area;

	if (!addr)
		return;
	might_sleep();
	spin_lock(&kml_vm_lock);
	area = find_area(addr);
	if (area) {
		rb_erase(&area->node, &kml_vm_areas);
		kml_vm_stats.frees++;
		kml_vm_stats.pages -= area->nr_pages;
	} else {
		kml_vm_stats.bad_frees++;
	}
	spin_unlock(&kml_vm_lock);
	if (!area) {
		pr_err("kmemlab: vfree(%p): not the start of a kmemlab vmalloc area (freed twice, or never allocated), from %pS\n",
		       addr, __builtin_return_address(0));
		return;
	}
	vunmap(area->addr);
	give_back_pages(area->pages, area->nr_pages);
	kvfree(area);
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
	struct rb_node *n;

	spin_lock(&kml_vm_lock);
	for (n = rb_first(&kml_vm_areas); n; n = rb_next(n)) {
		struct kml_vm_area *area = rb_entry(n, struct kml_vm_area, node);
		unsigned long size = ((unsigned long)area->nr_pages + 1) << PAGE_SHIFT;

		seq_printf(m, "0x%pK-0x%pK %7ld %pS pages=%u vmalloc", area->addr,
			   area->addr + size, size, area->caller, area->nr_pages);
		if (is_vmalloc_addr(area))
			seq_puts(m, " vpages");
		seq_putc(m, '\n');
	}
	spin_unlock(&kml_vm_lock);
	return 0;
}

/* At unload: areas a caller never freed go back, with a report each. */
void kml_vmalloc_exit(void)
{
	struct rb_node *n;

	while ((n = rb_first(&kml_vm_areas))) {
		struct kml_vm_area *area = rb_entry(n, struct kml_vm_area, node);

		pr_err("kmemlab: vmalloc area %p of %u pages from %pS was never freed\n",
		       area->addr, area->nr_pages, area->caller);
		kml_vfree(area->addr);
	}
}
