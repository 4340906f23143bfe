// SPDX-License-Identifier: GPL-2.0
/*
 * vmalloc.c - virtually contiguous memory from scattered region pages.
 *
 * Allocation (kml_vmalloc, kml___vmalloc_node and the rest) takes one
 * order-0 page at a time from kmemlab's buddy allocator, so any size fits
 * while enough single pages are free, however fragmented; maps them with
 * the kernel's vmap(), which puts an unmapped guard page after the area;
 * and records the area by its address. It may sleep (vmap allocates page
 * tables with GFP_KERNEL), so the gfp must allow direct reclaim, as for
 * Linux's vmalloc; __GFP_NOFS and __GFP_NOIO masks are honoured with the
 * kernel's scoped API around the whole call.
 *
 * Alignment above PAGE_SIZE: the kernel exports no call that reserves
 * virtual space with a chosen alignment, but vmap() with VM_IOREMAP aligns
 * the area to its size rounded up to a power of two (up to
 * IOREMAP_MAX_ORDER). An area of at least @align bytes is therefore
 * aligned by that flag alone; a smaller one is backed by @align bytes of
 * pages (the memory cost of this way; the caller sees @size bytes).
 *
 * kml_vfree works in every context kfree does. Outside process context (in
 * interrupt, with bottom halves or interrupts disabled, preemption off or
 * inside an RCU read-side section) it takes the area out of the tree at
 * once, so double frees are still caught at the call, and leaves the
 * vunmap() (which must not run there) and the return of the pages to a
 * work item, as Linux's vfree does from interrupt. Unload and debugfs
 * "drain" flush that work.
 *
 * kml_vmap maps pages the caller allocated from kmemlab and keeps; the
 * area is recorded the same way (vmallocinfo shows "vmap") so that
 * kml_vunmap can tell its areas from anything else.
 *
 * Each area's descriptor holds its page array and its node in an rbtree
 * keyed by address. Locking: kml_vm_lock (a spinlock taken with interrupts
 * saved, since kml_vfree looks areas up in hard IRQ context) protects the
 * tree, the counters and each area's lifetime; nothing is allocated,
 * mapped or unmapped under it, and vmallocinfo takes it once per area.
 */
#include <linux/export.h>
#include <linux/llist.h>
#include <linux/log2.h>
#include <linux/mm.h>
#include <linux/overflow.h>
#include <linux/rbtree.h>
#include <linux/rcupdate.h>
#include <linux/sched/mm.h>
#include <linux/seq_file.h>
#include <linux/slab.h>
#include <linux/vmalloc.h>
#include <linux/workqueue.h>
#include "kmemlab_internal.h"
#include "include/kmemlab.h"

enum kml_vm_kind { KML_VM_ALLOC, KML_VM_MAP };

struct kml_vm_area {
	union {
		struct rb_node node;		/* in kml_vm_areas while live */
		struct llist_node free_node;	/* on kml_vm_deferred after vfree */
	};
	void *addr;		/* what the caller got */
	unsigned long size;	/* bytes asked for (kml_vmap: the pages') */
	unsigned int nr_pages;	/* pages mapped (ours for KML_VM_ALLOC) */
	enum kml_vm_kind kind;
	const void *caller;
	struct page *pages[];	/* KML_VM_ALLOC only */
};

static DEFINE_SPINLOCK(kml_vm_lock);
static struct rb_root kml_vm_areas = RB_ROOT;
struct kml_vm_stats kml_vm_stats;

static void deferred_free_work(struct work_struct *work);
static LLIST_HEAD(kml_vm_deferred);
static DECLARE_WORK(kml_vm_free_work, deferred_free_work);

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

/* The area with the lowest address above @addr, or NULL. */
static struct kml_vm_area *find_area_after(const void *addr)
{
	struct rb_node *n = kml_vm_areas.rb_node;
	struct kml_vm_area *best = NULL;

	while (n) {
		struct kml_vm_area *area = rb_entry(n, struct kml_vm_area, node);

		if (area->addr > addr) {
			best = area;
			n = n->rb_left;
		} else {
			n = n->rb_right;
		}
	}
	return best;
}

static void add_area(struct kml_vm_area *area)
{
	unsigned long flags;

	spin_lock_irqsave(&kml_vm_lock, flags);
	insert_area(area);
	if (area->kind == KML_VM_ALLOC) {
		kml_vm_stats.allocs++;
		kml_vm_stats.pages += area->nr_pages;
	} else {
		kml_vm_stats.vmaps++;
	}
	spin_unlock_irqrestore(&kml_vm_lock, flags);
}

#define CHUNK 64	/* pages per hold of the per-CPU list lock */

/* Gives back the pages of @pages that are not NULL. */
static void give_back_pages(struct page **pages, unsigned int n)
{
	unsigned int i = 0, k;
	u32 idx[CHUNK];

	while (i < n) {
		for (k = 0; k < CHUNK && i < n; i++)
			if (pages[i])
				idx[k++] = kml_page_index(pages[i]);
		kml_buddy_free_bulk(&kml_buddy, idx, k, KML_KIND_VMALLOC);
		cond_resched();
	}
}

/* Fills @pages with @n region pages, a chunk at a time; false if short. */
static bool take_pages(struct page **pages, unsigned int n, bool zero)
{
	unsigned int i = 0, k, got;
	u32 idx[CHUNK];

	while (i < n) {
		k = min_t(unsigned int, CHUNK, n - i);
		got = kml_buddy_alloc_bulk(&kml_buddy, k, KML_KIND_VMALLOC, idx);
		if (!got) {
			/* The slow path reclaims and drains this CPU's list. */
			idx[0] = kml_buddy_alloc(&kml_buddy, 0, KML_KIND_VMALLOC);
			if (idx[0] == KML_NIL) {
				give_back_pages(pages, i);
				return false;
			}
			got = 1;
		}
		for (k = 0; k < got; k++, i++) {
			pages[i] = kml_index_page(idx[k]);
			if (zero)
				clear_page(page_address(pages[i]));
		}
		cond_resched();
	}
	return true;
}

/* Process context: unmaps the area and gives its pages back. */
static void release_area(struct kml_vm_area *area)
{
	unsigned int i;

	vunmap(area->addr);
	if (area->kind == KML_VM_ALLOC) {
		bool init = kml_want_init_on_free();

		for (i = 0; i < area->nr_pages; i++) {
			/* A page someone took a reference to waits for them (pages.c). */
			if (kml_pages_hold_if_busy(kml_page_index(area->pages[i]), 0,
						   KML_KIND_VMALLOC))
				area->pages[i] = NULL;
			else if (init)
				clear_page(page_address(area->pages[i]));
			if (i % CHUNK == CHUNK - 1)
				cond_resched();
		}
		give_back_pages(area->pages, area->nr_pages);
	}
	kvfree(area);
}

static void deferred_free_work(struct work_struct *work)
{
	struct llist_node *list = llist_del_all(&kml_vm_deferred);
	struct kml_vm_area *area, *next;

	llist_for_each_entry_safe(area, next, list, free_node) {
		release_area(area);
		cond_resched();
	}
}

/* Waits until every vfree deferred so far has given its pages back. */
void kml_vmalloc_flush(void)
{
	flush_work(&kml_vm_free_work);
}

/*
 * Where vunmap() must not run (it sleeps and BUG()s in interrupt): in
 * interrupt or with bottom halves off (in_interrupt() counts both), with
 * interrupts or preemption off, or inside a preemptible RCU read-side
 * section (PREEMPT_RT's spinlocks are one).
 */
static bool vfree_must_defer(void)
{
	return in_interrupt() || irqs_disabled() || !preemptible() || rcu_preempt_depth();
}

static void *map_area(struct kml_vm_area *area, unsigned int count, unsigned long align)
{
	unsigned long flags = VM_MAP;

	/* VM_IOREMAP: the kernel aligns the area to count pages' power of two. */
	if (align > PAGE_SIZE)
		flags |= VM_IOREMAP;
	return vmap(area->pages, count, flags, PAGE_KERNEL);
}

static struct kml_vm_area *try_vmalloc(unsigned long size, unsigned long align, gfp_t gfp,
				       const void *caller)
{
	unsigned long n = PAGE_ALIGN(size) >> PAGE_SHIFT;
	struct kml_vm_area *area;
	bool flushed = false;

	/* An area smaller than its alignment is backed by @align bytes. */
	if (align > PAGE_SIZE)
		n = max(n, align >> PAGE_SHIFT);
	area = kvmalloc(struct_size(area, pages, n), GFP_KERNEL | __GFP_NOWARN);
	if (!area)
		return NULL;
	while (!take_pages(area->pages, n, kml_want_init_on_alloc(gfp))) {
		/* Pages that deferred vfrees still hold come back first. */
		if (flushed || llist_empty(&kml_vm_deferred)) {
			kvfree(area);
			return NULL;
		}
		kml_vmalloc_flush();
		flushed = true;
	}
	area->size = size;
	area->nr_pages = n;
	area->kind = KML_VM_ALLOC;
	area->caller = caller;
	area->addr = map_area(area, n, align);
	if (!area->addr || !IS_ALIGNED((unsigned long)area->addr, align)) {
		if (area->addr)	/* cannot happen while vmap aligns as it does */
			vunmap(area->addr);
		give_back_pages(area->pages, n);
		kvfree(area);
		return NULL;
	}
	return area;
}

static void count_failure(void)
{
	unsigned long flags;

	spin_lock_irqsave(&kml_vm_lock, flags);
	kml_vm_stats.failed++;
	spin_unlock_irqrestore(&kml_vm_lock, flags);
}

static void *vmalloc_caller(unsigned long size, unsigned long align, gfp_t gfp,
			    const void *caller)
{
	unsigned long n = PAGE_ALIGN(size) >> PAGE_SHIFT;
	unsigned int attempt = 0, scope = 0;
	struct kml_vm_area *area;
	const char *why;

	if (!kml_gfp_begin(gfp, "vmalloc", caller)) {
		count_failure();
		return NULL;
	}
	if (!gfpflags_allow_blocking(gfp)) {
		why = "vmalloc sleeps; a gfp without direct reclaim (GFP_ATOMIC) cannot";
		goto refuse;
	}
	if (!align || !is_power_of_2(align)) {
		why = "the alignment is not a power of two";
		goto refuse;
	}
	if (align > (1ul << IOREMAP_MAX_ORDER)) {
		why = "alignment above IOREMAP_MAX_ORDER is not supported";
		goto refuse;
	}
	might_sleep();
	if (align < PAGE_SIZE)
		align = PAGE_SIZE;
	/* Beyond the whole region no retry can help, not even __GFP_NOFAIL. */
	if (!size || n > kml_region.npages || (align >> PAGE_SHIFT) > kml_region.npages)
		goto fail;
	if (!(gfp & __GFP_IO))
		scope = memalloc_noio_save();
	else if (!(gfp & __GFP_FS))
		scope = memalloc_nofs_save();
	do {
		area = try_vmalloc(size, align, gfp, caller);
	} while (!area && kml_gfp_retry(gfp, &attempt, "vmalloc", caller));
	if (!(gfp & __GFP_IO))
		memalloc_noio_restore(scope);
	else if (!(gfp & __GFP_FS))
		memalloc_nofs_restore(scope);
	if (!area)
		goto fail;
	add_area(area);
	return area->addr;

refuse:
	atomic_long_inc(&kml_gfp_stats.refused);
	pr_err_ratelimited("kmemlab: vmalloc(%lu bytes, align %lu, gfp %#x) from %pS refused: %s\n",
			   size, align, gfp, caller, why);
	count_failure();
	return NULL;
fail:
	count_failure();
	if (!(gfp & __GFP_NOWARN))
		pr_warn_ratelimited("kmemlab: vmalloc of %lu bytes failed, from %pS\n",
				    size, caller);
	return NULL;
}

void *kml_vmalloc(unsigned long size)
{
	return vmalloc_caller(size, 1, GFP_KERNEL, __builtin_return_address(0));
}
EXPORT_SYMBOL_GPL(kml_vmalloc);

void *kml_vzalloc(unsigned long size)
{
	return vmalloc_caller(size, 1, GFP_KERNEL | __GFP_ZERO, __builtin_return_address(0));
}
EXPORT_SYMBOL_GPL(kml_vzalloc);

void *kml___vmalloc(unsigned long size, gfp_t gfp)
{
	return vmalloc_caller(size, 1, gfp, __builtin_return_address(0));
}
EXPORT_SYMBOL_GPL(kml___vmalloc);

void *kml_vmalloc_node(unsigned long size, int node)
{
	return vmalloc_caller(size, 1, GFP_KERNEL, __builtin_return_address(0));
}
EXPORT_SYMBOL_GPL(kml_vmalloc_node);

void *kml_vzalloc_node(unsigned long size, int node)
{
	return vmalloc_caller(size, 1, GFP_KERNEL | __GFP_ZERO, __builtin_return_address(0));
}
EXPORT_SYMBOL_GPL(kml_vzalloc_node);

void *kml___vmalloc_node(unsigned long size, unsigned long align, gfp_t gfp, int node,
			 const void *caller)
{
	return vmalloc_caller(size, align, gfp, caller);
}
EXPORT_SYMBOL_GPL(kml___vmalloc_node);

/*
 * Takes the area starting at @addr of @kind out of the tree, or reports
 * and counts why not (NULL).
 */
static struct kml_vm_area *unlink_area(const void *addr, enum kml_vm_kind kind, bool defer,
				       const char *what, const void *caller)
{
	struct kml_vm_area *area;
	unsigned long flags;

	spin_lock_irqsave(&kml_vm_lock, flags);
	area = find_area(addr);
	if (area && area->kind == kind) {
		rb_erase(&area->node, &kml_vm_areas);
		if (kind == KML_VM_ALLOC) {
			kml_vm_stats.frees++;
			kml_vm_stats.pages -= area->nr_pages;
			kml_vm_stats.deferred += defer;
		} else {
			kml_vm_stats.vunmaps++;
		}
	} else {
		kml_vm_stats.bad_frees++;
	}
	spin_unlock_irqrestore(&kml_vm_lock, flags);
	if (!area)
		pr_err("kmemlab: %s(%p): not the start of a kmemlab %s area (freed twice, or never allocated), from %pS\n",
		       what, addr, kind == KML_VM_ALLOC ? "vmalloc" : "vmap", caller);
	else if (area->kind != kind)
		pr_err("kmemlab: %s(%p): the area was made by %s; nothing freed, from %pS\n",
		       what, addr, area->kind == KML_VM_ALLOC ? "vmalloc (use vfree)" :
		       "vmap (use vunmap)", caller);
	return area && area->kind == kind ? area : NULL;
}

void kml_vfree(const void *addr)
{
	const void *caller = __builtin_return_address(0);
	struct kml_vm_area *area;
	bool defer;

	if (!addr)
		return;
	if (in_nmi()) {
		/* Linux BUG()s here; kmemlab keeps the area (a leak). */
		pr_err("kmemlab: vfree(%p) in NMI context, from %pS: refused, the area stays\n",
		       addr, caller);
		return;
	}
	defer = vfree_must_defer();
	if (!defer)
		might_sleep();
	area = unlink_area(addr, KML_VM_ALLOC, defer, "vfree", caller);
	if (!area)
		return;
	if (defer) {
		if (llist_add(&area->free_node, &kml_vm_deferred))
			schedule_work(&kml_vm_free_work);
		return;
	}
	release_area(area);
}
EXPORT_SYMBOL_GPL(kml_vfree);

/* The pages of the area at @addr (or in it); 0 if it is not one of ours. */
size_t kml_vmalloc_size(const void *addr)
{
	struct kml_vm_area *area;
	unsigned long flags;
	size_t size = 0;

	spin_lock_irqsave(&kml_vm_lock, flags);
	area = find_area(addr);
	if (area && area->kind == KML_VM_ALLOC)
		size = area->size;
	spin_unlock_irqrestore(&kml_vm_lock, flags);
	return size;
}

/*
 * kvrealloc's vmalloc side (vrealloc): shrinks and grows within the
 * area's pages in place, zeroing what the gfp or init_on_alloc ask for;
 * false when @addr is not a live vmalloc area or the pages do not suffice.
 */
bool kml_vmalloc_resize(const void *addr, unsigned long size, gfp_t gfp)
{
	struct kml_vm_area *area;
	unsigned long flags, old = 0;
	bool ok = false;

	spin_lock_irqsave(&kml_vm_lock, flags);
	area = find_area(addr);
	if (area && area->kind == KML_VM_ALLOC &&
	    size <= ((unsigned long)area->nr_pages << PAGE_SHIFT)) {
		old = area->size;
		area->size = size;
		ok = true;
	}
	spin_unlock_irqrestore(&kml_vm_lock, flags);
	if (!ok)
		return false;
	/* The area is the caller's; its bytes need no lock. */
	if (size > old && kml_want_init_on_alloc(gfp))
		memset((char *)addr + old, 0, size - old);
	else if (size < old && kml_want_init_on_free())
		memset((char *)addr + size, 0, old - size);
	return true;
}

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

/* True when @page heads or lies in an allocated block of the region. */
static bool page_allocated(struct page *page)
{
	u32 idx = kml_page_index(page), head;

	if (idx == KML_NIL)
		return false;
	head = kml_buddy_block_head(&kml_buddy, idx);
	return head != KML_NIL &&
	       KML_TAG_STATE(KML_READ(kml_buddy.pages[head].pg_tag)) == KML_PG_ALLOC;
}

void *kml_vmap(struct page **pages, unsigned int count, unsigned long flags, pgprot_t prot)
{
	const void *caller = __builtin_return_address(0);
	struct kml_vm_area *area;
	unsigned long irqflags;
	unsigned int i;

	might_sleep();
	if (!pages || !count || count > kml_region.npages) {
		pr_err("kmemlab: vmap(%p, %u pages) from %pS refused: %s\n", pages, count,
		       caller, count ? "more pages than the region has" : "no pages");
		goto refuse;
	}
	for (i = 0; i < count; i++) {
		if (!pages[i] || !page_allocated(pages[i])) {
			pr_err("kmemlab: vmap(%u pages) from %pS refused: page %u (%p) is %s\n",
			       count, caller, i, pages[i],
			       pages[i] && kml_page_index(pages[i]) != KML_NIL ?
			       "a free page of kmemlab's region" : "not kmemlab's");
			goto refuse;
		}
	}
	area = kzalloc(sizeof(*area), GFP_KERNEL);
	if (!area)
		return NULL;
	/*
	 * The pages stay the caller's: no VM_MAP_PUT_PAGES (the kernel would
	 * free them); no VM_NO_GUARD (vmap() WARNs and ignores it).
	 */
	area->addr = vmap(pages, count, (flags & ~(VM_MAP_PUT_PAGES | VM_NO_GUARD)) | VM_MAP,
			  prot);
	if (!area->addr) {
		kfree(area);
		return NULL;
	}
	area->size = (unsigned long)count << PAGE_SHIFT;
	area->nr_pages = count;
	area->kind = KML_VM_MAP;
	area->caller = caller;
	add_area(area);
	return area->addr;

refuse:
	spin_lock_irqsave(&kml_vm_lock, irqflags);
	kml_vm_stats.bad_vmaps++;
	spin_unlock_irqrestore(&kml_vm_lock, irqflags);
	return NULL;
}
EXPORT_SYMBOL_GPL(kml_vmap);

void kml_vunmap(const void *addr)
{
	struct kml_vm_area *area;

	if (!addr)
		return;
	might_sleep();
	area = unlink_area(addr, KML_VM_MAP, false, "vunmap", __builtin_return_address(0));
	if (area)
		release_area(area);
}
EXPORT_SYMBOL_GPL(kml_vunmap);

/*
 * The layout of /proc/vmallocinfo; the size counts the guard page. One
 * area per hold of the lock: interrupts stay off for a lookup only.
 */
int kml_vmallocinfo_show(struct seq_file *m, void *v)
{
	struct kml_vm_area *area, copy;
	unsigned long flags, size;
	const void *at = NULL;
	bool vpages;

	for (;;) {
		spin_lock_irqsave(&kml_vm_lock, flags);
		area = find_area_after(at);
		if (area) {
			copy = *area;
			vpages = is_vmalloc_addr(area);
		}
		spin_unlock_irqrestore(&kml_vm_lock, flags);
		if (!area)
			break;
		at = copy.addr;
		size = ((unsigned long)copy.nr_pages + 1) << PAGE_SHIFT;
		seq_printf(m, "0x%pK-0x%pK %7ld %pS", copy.addr, copy.addr + size, size,
			   copy.caller);
		if (copy.kind == KML_VM_ALLOC)
			seq_printf(m, " pages=%u vmalloc", copy.nr_pages);
		else
			seq_puts(m, " vmap");
		if (vpages)
			seq_puts(m, " vpages");
		seq_putc(m, '\n');
		cond_resched();
	}
	return 0;
}

/*
 * At unload: vfrees deferred so far finish (RCU callbacks that free
 * first), then areas a caller never freed go back, with a report each.
 */
void kml_vmalloc_exit(void)
{
	struct rb_node *n;

	rcu_barrier();
	kml_vmalloc_flush();
	while ((n = rb_first(&kml_vm_areas))) {
		struct kml_vm_area *area = rb_entry(n, struct kml_vm_area, node);

		pr_err("kmemlab: %s area %p of %u pages from %pS was never %s\n",
		       area->kind == KML_VM_ALLOC ? "vmalloc" : "vmap", area->addr,
		       area->nr_pages, area->caller,
		       area->kind == KML_VM_ALLOC ? "freed" : "unmapped");
		if (area->kind == KML_VM_ALLOC)
			kml_vfree(area->addr);
		else
			kml_vunmap(area->addr);
	}
	kml_vmalloc_flush();
}
