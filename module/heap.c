// SPDX-License-Identifier: GPL-2.0
/*
 * heap.c - per-process heaps on /dev/kmemlab: brk, anonymous chunks,
 * demand paging from the region and copy-on-write fork.
 *
 * Theory. A heap belongs to one (open file, mm) pair. Its address space is
 * a set of VMAs that map the device MAP_SHARED: one brk reservation (mmap
 * offset 0) and any number of chunks (offset KMEMLAB_MMAP_CHUNK). Each VMA
 * carries a kml_area in its heap's interval tree. A page of the heap is
 * named by its page offset in the file (pgoff), not by an address: the brk
 * range is pgoff 0.., and each chunk gets a fresh pgoff range above
 * KML_CHUNK_PGOFF that is never reused. The heap's pages sit in an xarray
 * keyed by pgoff, so a split, a partial munmap or a fork only changes which
 * VMAs cover which pgoffs.
 *
 * Nothing is allocated before a page is touched: the fault handler takes an
 * order-0 region page, zeroes it and returns it with a reference that the
 * PTE then holds, as a file's page cache would. The VMAs are VM_IO, so
 * get_user_pages() refuses them; mremap cannot grow them (VM_DONTEXPAND)
 * and moving one is refused. A page goes back to the buddy allocator when
 * no VMA of its heap covers its pgoff any more (close, after the kernel has
 * zapped the range), or when the break moves below it (brk, after
 * zap_page_range_single()). get_user_pages_fast() does not look at VM_IO, so
 * a vmsplice() can still hold a page when its heap lets it go: such a page
 * is "held" (out of the heap, not yet in the buddy allocator) and given
 * back once its last outside reference is dropped. Never handed out twice.
 *
 * Coverage. Close must not free a pgoff another VMA of the heap still
 * covers: mremap and split open a VMA over the same pgoffs before they
 * close the old one. The areas sit in an interval tree keyed by the pgoff
 * range each had when it was linked. The kernel shrinks a VMA in place when
 * it splits it (a close-less VMA is never merged or grown, and moving one
 * opens a new VMA), so a stored range can only be wider than the live one:
 * a lookup that meets a stale range refits it from the VMA and looks again.
 * Each refit pays for one split, so a query costs O((k + 1) log n) for the
 * k areas it meets, whatever the heap's size.
 *
 * Copy-on-write fork. dup_mmap() calls ->open on each of the child's VMAs
 * with both mms write-locked. open finds or makes the child's heap and
 * gives it the parent's pages in the VMA's range: both xarrays name the
 * same region page, and kml_shared counts its extra sharers. Writes must
 * then fault: the VMAs have ->page_mkwrite, so the kernel maps their pages
 * read-only and asks before making a PTE writable; the parent's PTEs of the
 * range are zapped at fork (a module can neither change another VMA's PTE
 * protections nor flush its TLB: change_protection() and
 * flush_tlb_mm_range() are not exported, zap_page_range_single() is). A
 * parent thread writing meanwhile faults, and waits for the fork to drop
 * the mmap_lock; so the child's view is the parent's heap at the moment
 * each VMA was shared, as with the kernel's own fork. A write to a shared
 * page: ->page_mkwrite zaps that one PTE, the write faults again, and
 * ->fault, seeing FAULT_FLAG_WRITE, copies the page for this heap alone.
 * The last sharer owns the page again and writes it in place. A copy that
 * finds the region empty gets SIGBUS, as the kernel's COW gets OOM.
 *
 * Accounting. Every heap is charged to its uid (user.c): its resident pages,
 * shared ones included, against user_quota_pct (a copy on write needs the
 * uid below it), and the heap itself against user_max_heaps. Kernel memory
 * made for a user (heaps, areas, xarray nodes) is charged to its memory
 * cgroup (GFP_KERNEL_ACCOUNT).
 *
 * Locking. mm's mmap_lock -> a file's hf_lock -> heap_lock -> the xarray
 * and buddy allocator's locks. hf_lock guards the file's tree of heaps by
 * mm; kml_heaps_lock (a spinlock) only links and unlinks heaps on the
 * global list that debugfs reads under RCU, without any heap's lock. Fork
 * takes the parent's heap_lock, then the child's. The interval tree changes
 * only under heap_lock with the heap's mm write-locked, or read-locked at a
 * close whose VMA is already detached; pages and counters change under
 * heap_lock. A fault holds its mm's mmap_lock for reading until the PTE is
 * set (->fault and ->page_mkwrite are never called under a per-VMA lock
 * for a VMA without ->map_pages). brk shrinks with it held for writing, so
 * no fault can be about to map a page it frees.
 */
#include <linux/highmem.h>
#include <linux/interval_tree_generic.h>
#include <linux/moduleparam.h>
#include <linux/mm.h>
#include <linux/mmap_lock.h>
#include <linux/mutex.h>
#include <linux/pagemap.h>
#include <linux/rbtree.h>
#include <linux/rculist.h>
#include <linux/refcount.h>
#include <linux/sched/mm.h>
#include <linux/sched/signal.h>
#include <linux/seq_file.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <linux/workqueue.h>
#include <linux/xarray.h>
#include "kmemlab_internal.h"
#include "include/uapi/kmemlab.h"

#define KML_CHUNK_PGOFF	(KMEMLAB_MMAP_CHUNK >> PAGE_SHIFT)
/* pgoffs stay below this so that pgoff << PAGE_SHIFT fits a loff_t. */
#define KML_PGOFF_MAX	(LLONG_MAX >> PAGE_SHIFT)

/* The heaps of one open /dev/kmemlab: one per mm that maps it. */
struct kml_heap_file {
	struct mutex hf_lock;		/* hf_heaps */
	struct rb_root hf_heaps;	/* kml_heap by heap_mm */
	struct kml_heap *hf_opener;	/* the opener's, held until release */
};

struct kml_heap {
	struct rb_node heap_file_node;	/* on hf_heaps */
	struct list_head heap_node;	/* on kml_heaps, RCU */
	struct rcu_head heap_rcu;
	struct kml_heap_file *heap_hf;
	struct mm_struct *heap_mm;	/* identity, held by mmgrab() */
	struct kml_user *heap_user;	/* charged for pages and the heap; or NULL */
	bool heap_counted;		/* against user_max_heaps (fork may pass it) */
	refcount_t heap_users;		/* one per area, one for the opener */
	pid_t heap_pid;			/* 0 until the owner first calls in */
	char heap_comm[TASK_COMM_LEN];

	struct mutex heap_lock;		/* everything below */
	struct rb_root_cached heap_areas;
	struct xarray heap_pages;	/* pgoff -> xa_mk_value(page index) */
	unsigned long heap_start;	/* the brk reservation; 0: none */
	unsigned long heap_brk;
	unsigned long heap_limit;
	unsigned long heap_next_pgoff;	/* the next chunk's first pgoff */
	unsigned long heap_chunks;	/* chunk VMAs */
	unsigned long heap_chunk_pages;	/* their pages, for RLIMIT_DATA */
	unsigned long heap_resident;
	unsigned long heap_faults;
	unsigned long heap_cow;		/* pages this heap copied on write */
	long heap_committed;		/* its part of kml_heap_stats.committed */
	bool heap_broken;		/* fork could not share: faults get SIGBUS */
};

struct kml_area {
	struct rb_node area_rb;		/* in heap_areas */
	struct list_head area_stale;	/* on refit()'s list while it refits */
	unsigned long area_first;	/* the pgoffs when linked: [first, last] */
	unsigned long area_last;
	unsigned long area_subtree_last;
	struct kml_heap *area_heap;
	struct vm_area_struct *area_vma;
};

#define AREA_FIRST(a) ((a)->area_first)
#define AREA_LAST(a) ((a)->area_last)
INTERVAL_TREE_DEFINE(struct kml_area, area_rb, unsigned long, area_subtree_last,
		     AREA_FIRST, AREA_LAST, static, area_tree)

struct kml_heap_stats kml_heap_stats;

/* Every heap, for debugfs: linked and unlinked under the lock, read under RCU. */
static LIST_HEAD(kml_heaps);
static DEFINE_SPINLOCK(kml_heaps_lock);

/* Region pages shared by several heaps: index -> xa_mk_value(extra sharers). */
static DEFINE_XARRAY(kml_shared);

static const struct vm_operations_struct kml_vm_ops;

/*
 * Commit accounting, as the kernel's Committed_AS: every heap's pages below
 * its break and in its chunks are committed; the region pages that heaps
 * name are owned. With strict_commit, brk and mmap grow a heap only while
 * committed - owned (the pages still promised) fits the free pages, and the
 * buddy allocator keeps that many free pages for heap faults alone
 * (kml_buddy.reserve), so a granted page is always there. fork cannot be
 * refused from ->open, so a child commits nothing for what it inherits:
 * its copies, and its parent's once they share, may find the region
 * empty (the kernel would have failed the fork instead).
 */
static bool strict_commit;
static DEFINE_SPINLOCK(kml_commit_lock);

static void publish_reserve(void)
{
	lockdep_assert_held(&kml_commit_lock);
	WRITE_ONCE(kml_buddy.reserve, !READ_ONCE(strict_commit) ? 0 :
		   atomic_long_read(&kml_heap_stats.committed) -
		   atomic_long_read(&kml_heap_stats.owned));
}

static int strict_commit_set(const char *val, const struct kernel_param *kp)
{
	int err = param_set_bool(val, kp);

	spin_lock(&kml_commit_lock);
	publish_reserve();
	spin_unlock(&kml_commit_lock);
	return err;
}

static const struct kernel_param_ops strict_commit_ops = {
	.set = strict_commit_set,
	.get = param_get_bool,
};
module_param_cb(strict_commit, &strict_commit_ops, &strict_commit, 0644);
MODULE_PARM_DESC(strict_commit, "1: brk and mmap reserve the pages they grant, as vm.overcommit_memory=2, so that a granted heap page never fails (default 0: the heuristic)");

/* pages more (or fewer) committed by h: 0, or -ENOMEM if strict and refusable. */
static int commit(struct kml_heap *h, long pages, bool force)
{
	long promised, free_pages = 0;
	int err = 0;

	spin_lock(&kml_commit_lock);
	promised = atomic_long_read(&kml_heap_stats.committed) + pages -
		   atomic_long_read(&kml_heap_stats.owned);
	if (!force && pages > 0 && READ_ONCE(strict_commit)) {
		free_pages = kml_buddy_free_pages(&kml_buddy);
		if (promised > free_pages)
			err = -ENOMEM;
	}
	if (!err) {
		atomic_long_add(pages, &kml_heap_stats.committed);
		h->heap_committed += pages;
		publish_reserve();
	}
	spin_unlock(&kml_commit_lock);
	if (err) {
		atomic_long_inc(&kml_heap_stats.commit_refused);
		pr_warn_ratelimited("kmemlab: strict_commit: %ld kB more refused to pid %d: %ld kB would be promised, %ld kB are free\n",
				    pages << (PAGE_SHIFT - 10), task_tgid_nr(current),
				    promised << (PAGE_SHIFT - 10), free_pages << (PAGE_SHIFT - 10));
	}
	return err;
}

static void own(long pages)
{
	spin_lock(&kml_commit_lock);
	atomic_long_add(pages, &kml_heap_stats.owned);
	publish_reserve();
	spin_unlock(&kml_commit_lock);
}

static void set_owner(struct kml_heap *h)
{
	if (likely(h->heap_pid))
		return;
	get_task_comm(h->heap_comm, current);
	smp_store_release(&h->heap_pid, task_tgid_nr(current));	/* after the name */
}

/* Pages freed by their heap while something else still held them. */
static DEFINE_XARRAY(kml_held);
static void held_work_fn(struct work_struct *work);
static DECLARE_DELAYED_WORK(held_work, held_work_fn);

static void release_page(u32 idx)
{
	struct page *page = kml_index_page(idx);

	/* Flags the mapping left behind (zap and mkwrite mark dirty and accessed). */
	ClearPageDirty(page);
	folio_clear_referenced(page_folio(page));
	kml_buddy_free(&kml_buddy, idx, 0, KML_KIND_USER);
}

/* Give back the held pages nobody else references any more; true if any. */
static bool release_held(void)
{
	unsigned long idx;
	bool any = false;
	void *entry;

	xa_for_each(&kml_held, idx, entry)
		if (page_ref_count(kml_index_page(idx)) == 1 && xa_erase(&kml_held, idx)) {
			atomic_long_dec(&kml_heap_stats.held);
			release_page(idx);
			any = true;
		}
	return any;
}

void kml_heap_drain(void)
{
	release_held();
}

static void held_work_fn(struct work_struct *work)
{
	release_held();
	if (!xa_empty(&kml_held))
		schedule_delayed_work(&held_work, HZ);
}

/* One more heap names page idx. */
static void share(u32 idx)
{
	void *old = NULL, *cur;
	unsigned long n;

	for (;;) {
		n = old ? xa_to_value(old) + 1 : 1;
		cur = xa_cmpxchg(&kml_shared, idx, old, xa_mk_value(n), GFP_KERNEL | __GFP_NOFAIL);
		if (cur == old)
			break;
		old = cur;
	}
	if (n == 1)
		atomic_long_inc(&kml_heap_stats.shared);
}

/* One heap lets go of page idx: true when it was the only one naming it. */
static bool unshare(u32 idx)
{
	void *old = xa_load(&kml_shared, idx), *cur;

	for (;;) {
		if (!old)
			return true;
		cur = xa_cmpxchg(&kml_shared, idx, old,
				 xa_to_value(old) > 1 ? xa_mk_value(xa_to_value(old) - 1) : NULL,
				 GFP_KERNEL);
		if (cur == old)
			break;
		old = cur;
	}
	if (xa_to_value(old) == 1)
		atomic_long_dec(&kml_heap_stats.shared);
	return false;
}

static bool is_shared(u32 idx)
{
	return xa_load(&kml_shared, idx);
}

/* Page idx, which no heap names any more, goes back (or is held). */
static void free_unnamed(u32 idx)
{
	own(-1);
	if (page_ref_count(kml_index_page(idx)) == 1) {
		release_page(idx);
		return;
	}
	/* Pinned (vmsplice, O_DIRECT): free it when the pin goes. */
	if (xa_err(xa_store(&kml_held, idx, xa_mk_value(1), GFP_KERNEL | __GFP_NOFAIL)))
		return;
	atomic_long_inc(&kml_heap_stats.held);
	schedule_delayed_work(&held_work, HZ);
}

/*
 * The region page idx leaves a heap; it goes back if no other heap names
 * it. Under the page lock, as cow_page() copies: a page being copied keeps
 * its sharers until the copy is made, and the last sharer frees it only
 * after the others have let go of its lock.
 */
static void drop_page(u32 idx)
{
	struct folio *folio = page_folio(kml_index_page(idx));
	bool last;

	folio_lock(folio);
	last = unshare(idx);
	folio_unlock(folio);
	if (last)
		free_unnamed(idx);
}

static void forget_page(struct kml_heap *h, unsigned long pgoff, void *entry)
{
	xa_erase(&h->heap_pages, pgoff);
	h->heap_resident--;
	atomic_long_dec(&kml_heap_stats.pages);
	kml_user_uncharge(h->heap_user, PAGE_SIZE);
	drop_page(xa_to_value(entry));
}

/* Every page of h at pgoffs [first, last], forgotten. */
static void forget_range(struct kml_heap *h, unsigned long first, unsigned long last)
{
	unsigned long pgoff;
	void *entry;

	xa_for_each_range(&h->heap_pages, pgoff, entry, first, last) {
		forget_page(h, pgoff, entry);
		cond_resched();
	}
}

/* At unload: the held pages go with the region, whatever holds them. */
void kml_heap_exit(void)
{
	cancel_delayed_work_sync(&held_work);
	release_held();
	if (!xa_empty(&kml_held))
		pr_err("kmemlab: %ld heap pages still referenced from outside at unload\n",
		       atomic_long_read(&kml_heap_stats.held));
	xa_destroy(&kml_held);
	WARN_ON(!xa_empty(&kml_shared));
	xa_destroy(&kml_shared);
}

/* A region page with copy's contents, or zeroes; KML_NIL if none is free. */
static u32 alloc_user_page(const void *copy)
{
	u32 idx = kml_buddy_alloc(&kml_buddy, 0, KML_KIND_USER);
	void *addr;

	if (idx == KML_NIL && release_held())
		idx = kml_buddy_alloc(&kml_buddy, 0, KML_KIND_USER);
	if (idx == KML_NIL) {		/* free pages on other CPUs' lists */
		kml_buddy_drain(&kml_buddy);
		idx = kml_buddy_alloc(&kml_buddy, 0, KML_KIND_USER);
	}
	if (idx == KML_NIL)
		return KML_NIL;
	own(1);
	addr = page_address(kml_index_page(idx));
	if (copy)
		copy_page(addr, (void *)copy);
	else
		clear_page(addr);
	return idx;
}

/* A new zeroed page of h at pgoff, charged to its user; KML_NIL if none. */
static u32 new_user_page(struct kml_heap *h, unsigned long pgoff)
{
	u32 idx;

	if (kml_user_charge(h->heap_user, PAGE_SIZE, "heap fault"))
		return KML_NIL;
	idx = alloc_user_page(NULL);
	if (idx == KML_NIL)
		goto uncharge;
	if (xa_err(xa_store(&h->heap_pages, pgoff, xa_mk_value(idx), GFP_KERNEL_ACCOUNT))) {
		free_unnamed(idx);
		goto uncharge;
	}
	h->heap_resident++;
	atomic_long_inc(&kml_heap_stats.pages);
	return idx;
uncharge:
	kml_user_uncharge(h->heap_user, PAGE_SIZE);
	return KML_NIL;
}

/*
 * The page h may write at vmf's pgoff, where it names the shared page idx:
 * its own copy, or idx itself if the other sharers copied or let go first.
 * Under the page lock, which drop_page() and every fault mapping idx take
 * too: of two sharers writing at once one copies and the last keeps the
 * page, and the PTE h may have of idx goes before another heap may write
 * idx in place. KML_NIL if the uid is at its quota or the region is empty.
 */
static u32 cow_page(struct kml_heap *h, struct vm_fault *vmf, u32 idx)
{
	struct folio *folio = page_folio(kml_index_page(idx));
	u32 copy = idx;

	folio_lock(folio);
	if (is_shared(idx)) {
		/* Copies need room in the quota: fork charged the shared pages. */
		copy = KML_NIL;
		if (!kml_user_charge(h->heap_user, PAGE_SIZE, "copy on write")) {
			kml_user_uncharge(h->heap_user, PAGE_SIZE);
			copy = alloc_user_page(folio_address(folio));
		}
	}
	if (copy != KML_NIL && copy != idx) {
		/* Replacing an entry allocates nothing. */
		xa_store(&h->heap_pages, vmf->pgoff, xa_mk_value(copy), GFP_KERNEL_ACCOUNT);
		zap_page_range_single(vmf->vma, vmf->address & PAGE_MASK, PAGE_SIZE, NULL);
		/* Shared under the lock, so another heap still names it. */
		WARN_ON_ONCE(unshare(idx));
		h->heap_cow++;
		atomic_long_inc(&kml_heap_stats.cow_copies);
	}
	folio_unlock(folio);
	return copy;
}

static unsigned long vma_first(const struct vm_area_struct *vma)
{
	return vma->vm_pgoff;
}

static unsigned long vma_last(struct vm_area_struct *vma)
{
	return vma->vm_pgoff + vma_pages(vma) - 1;
}

static bool is_chunk(const struct vm_area_struct *vma)
{
	return vma->vm_pgoff >= KML_CHUNK_PGOFF;
}

/* Not from the VMA: a failed split empties it and zeroes its pgoff. */
static bool area_is_chunk(const struct kml_area *a)
{
	return a->area_first >= KML_CHUNK_PGOFF;
}

static void area_link(struct kml_heap *h, struct kml_area *a)
{
	a->area_first = vma_first(a->area_vma);
	a->area_last = vma_last(a->area_vma);
	area_tree_insert(a, &h->heap_areas);
}

/*
 * After this, every area of h whose stored range meets [first, last] has
 * its VMA's live range: the stale ones (wider, after a split) are refitted,
 * each once, after one walk (the walk cannot go on past a removal).
 */
static void refit(struct kml_heap *h, unsigned long first, unsigned long last)
{
	struct kml_area *a, *next;
	LIST_HEAD(stale);

	for (a = area_tree_iter_first(&h->heap_areas, first, last); a;
	     a = area_tree_iter_next(a, first, last))
		if (a->area_first != vma_first(a->area_vma) ||
		    a->area_last != vma_last(a->area_vma))
			list_add(&a->area_stale, &stale);
	list_for_each_entry_safe(a, next, &stale, area_stale) {
		area_tree_remove(a, &h->heap_areas);
		area_link(h, a);
	}
}

/* The first area of h (by pgoff) that covers a pgoff in [first, last], or NULL. */
static struct kml_area *first_cover(struct kml_heap *h, unsigned long first,
				    unsigned long last)
{
	refit(h, first, last);
	return area_tree_iter_first(&h->heap_areas, first, last);
}

static unsigned long brk_pages(const struct kml_heap *h)
{
	return DIV_ROUND_UP(h->heap_brk - h->heap_start, PAGE_SIZE);
}

/*
 * After a shrink: h gives back what it committed beyond its break and
 * chunks. Growth nobody could refuse (a fork's child, the transient copy
 * of a refused mremap) commits nothing, so that it never eats into the
 * pages promised to others.
 */
static void commit_sync(struct kml_heap *h)
{
	long now = brk_pages(h) + h->heap_chunk_pages;

	if (now < h->heap_committed)
		commit(h, now - h->heap_committed, true);
}

/*
 * Can the heap grow by bytes now? Within RLIMIT_DATA (the heap below its
 * break and its chunks), within its user's quota, and, as the kernel's
 * heuristic overcommit, not beyond the region's free pages in one request
 * unless the mapping is MAP_NORESERVE.
 */
static bool may_grow(struct kml_heap *h, unsigned long bytes, bool noreserve, const char *what)
{
	unsigned long total = h->heap_brk - h->heap_start + (h->heap_chunk_pages << PAGE_SHIFT);

	total += bytes;
	if (total < bytes || total > rlimit(RLIMIT_DATA))
		return false;
	if (noreserve)
		return true;
	if (bytes >> PAGE_SHIFT > kml_buddy_free_pages(&kml_buddy))
		return false;
	/* Heuristic too: one request larger than what is left of the quota. */
	if (kml_user_charge(h->heap_user, bytes, what))
		return false;
	kml_user_uncharge(h->heap_user, bytes);
	return true;
}

static struct kml_heap *heap_find(struct kml_heap_file *hf, struct mm_struct *mm,
				  struct rb_node ***link, struct rb_node **parent)
{
	struct rb_node **p = &hf->hf_heaps.rb_node, *up = NULL;

	while (*p) {
		struct kml_heap *h = rb_entry(*p, struct kml_heap, heap_file_node);

		if (h->heap_mm == mm)
			return h;
		up = *p;
		p = mm < h->heap_mm ? &(*p)->rb_left : &(*p)->rb_right;
	}
	*link = p;
	*parent = up;
	return NULL;
}

/*
 * The heap of (hf, mm) with a reference, or NULL. With create, a missing
 * one is made: an ERR_PTR when its user is at user_max_heaps, unless
 * forced (fork: ->open cannot fail), in which case it is never an error.
 */
static struct kml_heap *heap_get(struct kml_heap_file *hf, struct mm_struct *mm,
				 bool create, bool force)
{
	struct rb_node **link, *parent;
	struct kml_heap *h;
	gfp_t gfp = GFP_KERNEL_ACCOUNT | (force ? __GFP_NOFAIL : 0);
	int err;

	mutex_lock(&hf->hf_lock);
	h = heap_find(hf, mm, &link, &parent);
	if (h) {
		refcount_inc(&h->heap_users);	/* unlinked before its count reaches 0 */
		goto out;
	}
	if (!create)
		goto out;
	h = kzalloc(sizeof(*h), gfp);
	if (!h) {
		h = ERR_PTR(-ENOMEM);
		goto out;
	}
	/* Without an account (no memory), a forced heap is charged to nobody. */
	h->heap_user = kml_user_get(current_uid());
	err = h->heap_user ? kml_user_add_heap(h->heap_user) : -ENOMEM;
	if (err && !force) {
		if (h->heap_user)
			kml_user_put(h->heap_user);
		kfree(h);
		h = ERR_PTR(err);
		goto out;
	}
	h->heap_counted = !err;
	h->heap_hf = hf;
	h->heap_mm = mm;
	mmgrab(mm);
	refcount_set(&h->heap_users, 1);
	mutex_init(&h->heap_lock);
	h->heap_areas = RB_ROOT_CACHED;
	xa_init_flags(&h->heap_pages, XA_FLAGS_ACCOUNT);
	h->heap_next_pgoff = KML_CHUNK_PGOFF;
	rb_link_node(&h->heap_file_node, parent, link);
	rb_insert_color(&h->heap_file_node, &hf->hf_heaps);
	spin_lock(&kml_heaps_lock);
	list_add_tail_rcu(&h->heap_node, &kml_heaps);
	spin_unlock(&kml_heaps_lock);
	atomic_long_inc(&kml_heap_stats.heaps);
out:
	mutex_unlock(&hf->hf_lock);
	return h;
}

static void heap_put(struct kml_heap *h)
{
	struct kml_heap_file *hf = h->heap_hf;

	if (!refcount_dec_and_mutex_lock(&h->heap_users, &hf->hf_lock))
		return;
	rb_erase(&h->heap_file_node, &hf->hf_heaps);
	mutex_unlock(&hf->hf_lock);
	spin_lock(&kml_heaps_lock);
	list_del_rcu(&h->heap_node);
	spin_unlock(&kml_heaps_lock);
	/* No area is left, so no page should be: free any that is. */
	forget_range(h, 0, ULONG_MAX);
	commit(h, -h->heap_committed, true);
	xa_destroy(&h->heap_pages);
	mmdrop(h->heap_mm);
	if (h->heap_counted)
		kml_user_del_heap(h->heap_user);
	if (h->heap_user)
		kml_user_put(h->heap_user);
	atomic_long_dec(&kml_heap_stats.heaps);
	kfree_rcu(h, heap_rcu);
}

/* The opener's file of heaps, with its heap if it has an mm; an ERR_PTR on failure. */
struct kml_heap_file *kml_heap_open(void)
{
	struct kml_heap_file *hf = kzalloc(sizeof(*hf), GFP_KERNEL_ACCOUNT);
	struct kml_heap *h;

	if (!hf)
		return ERR_PTR(-ENOMEM);
	mutex_init(&hf->hf_lock);
	hf->hf_heaps = RB_ROOT;
	if (!current->mm)
		return hf;
	h = heap_get(hf, current->mm, true, false);
	if (IS_ERR(h)) {
		kfree(hf);
		return ERR_CAST(h);
	}
	set_owner(h);
	hf->hf_opener = h;
	return hf;
}

/* At the file's release: every VMA is gone, so the opener's heap is the last. */
void kml_heap_release(struct kml_heap_file *hf)
{
	if (hf->hf_opener)
		heap_put(hf->hf_opener);
	WARN_ON(!RB_EMPTY_ROOT(&hf->hf_heaps));
	kfree(hf);
}

static vm_fault_t kml_vm_fault(struct vm_fault *vmf)
{
	struct kml_area *a = vmf->vma->vm_private_data;
	unsigned long pgoff = vmf->pgoff;
	struct kml_heap *h;
	vm_fault_t ret;
	void *entry;
	u32 idx;

	if (!a)
		return VM_FAULT_SIGBUS;
	h = a->area_heap;
	mutex_lock(&h->heap_lock);
	set_owner(h);
	ret = VM_FAULT_SIGBUS;
	if (h->heap_broken)
		goto sigbus;
	if (pgoff < KML_CHUNK_PGOFF && pgoff >= brk_pages(h)) {
		ret = VM_FAULT_SIGSEGV;		/* above the break */
		atomic_long_inc(&kml_heap_stats.sigsegv);
		goto out;
	}
	entry = xa_load(&h->heap_pages, pgoff);
	if (entry) {
		idx = xa_to_value(entry);
		if ((vmf->flags & FAULT_FLAG_WRITE) && is_shared(idx))
			idx = cow_page(h, vmf, idx);
	} else {
		idx = new_user_page(h, pgoff);
	}
	if (idx == KML_NIL)
		goto sigbus;		/* the region or the user's quota is exhausted */
	vmf->page = kml_index_page(idx);
	get_page(vmf->page);		/* the PTE's reference */
	/*
	 * Locked until the PTE is set: a copy of this page (cow_page(),
	 * under the same lock) then finds the PTE and unmaps it.
	 */
	folio_lock(page_folio(vmf->page));
	ret = VM_FAULT_LOCKED;
	h->heap_faults++;
	atomic_long_inc(&kml_heap_stats.faults);
	goto out;
sigbus:
	atomic_long_inc(&kml_heap_stats.sigbus);
out:
	mutex_unlock(&h->heap_lock);
	return ret;
}

/*
 * A write through a read-only PTE. A page the heap owns alone becomes
 * writable in place. A shared one is copied here, and the PTE of the old
 * one unmapped (only ->fault can map another page): the access faults
 * again and maps the copy. The copy cannot wait for that fault to see a
 * write: an instruction that reads before it writes faults as a read.
 * The PTE may be stale, when another thread copied the page first: it is
 * unmapped too, never made writable over a page the heap no longer names.
 */
static vm_fault_t kml_vm_mkwrite(struct vm_fault *vmf)
{
	struct kml_area *a = vmf->vma->vm_private_data;
	struct folio *folio = page_folio(vmf->page);
	u32 idx = kml_page_index(vmf->page);
	struct kml_heap *h;
	void *entry;

	if (!a)
		return VM_FAULT_SIGBUS;
	h = a->area_heap;
	mutex_lock(&h->heap_lock);
	entry = xa_load(&h->heap_pages, vmf->pgoff);
	if (entry && xa_to_value(entry) == idx) {
		if (!is_shared(idx)) {
			/* Locked under the heap: no copy starts before the PTE is writable. */
			folio_lock(folio);
			mutex_unlock(&h->heap_lock);
			return VM_FAULT_LOCKED;
		}
		if (cow_page(h, vmf, idx) == KML_NIL) {
			mutex_unlock(&h->heap_lock);
			atomic_long_inc(&kml_heap_stats.sigbus);
			return VM_FAULT_SIGBUS;
		}
	}
	mutex_unlock(&h->heap_lock);
	zap_page_range_single(vmf->vma, vmf->address & PAGE_MASK, PAGE_SIZE, NULL);
	return VM_FAULT_NOPAGE;	/* the access faults again, and maps the heap's page */
}

/*
 * fork: the child's heap names the parent's pages in vma's range, and the
 * parent's PTEs of its own VMA over them go, so that its next write faults.
 * Both heaps are locked by the caller.
 */
static void share_range(struct kml_heap *child, struct kml_heap *parent,
			struct vm_area_struct *vma, struct vm_area_struct *parent_vma)
{
	unsigned long pgoff, n = 0;
	void *entry;

	xa_for_each_range(&parent->heap_pages, pgoff, entry, vma_first(vma), vma_last(vma)) {
		if (!n++)
			zap_page_range_single(parent_vma, parent_vma->vm_start,
					      parent_vma->vm_end - parent_vma->vm_start, NULL);
		if (xa_err(xa_store(&child->heap_pages, pgoff, entry, GFP_KERNEL_ACCOUNT))) {
			child->heap_broken = true;
			return;
		}
		share(xa_to_value(entry));
		child->heap_resident++;
		atomic_long_inc(&kml_heap_stats.pages);
		kml_user_force_charge(child->heap_user, PAGE_SIZE);
		atomic_long_inc(&kml_heap_stats.fork_pages);
		cond_resched();
	}
}

/* fork: vma is the child's copy of src's VMA; the child's area for it, linked. */
static struct kml_heap *fork_open(struct vm_area_struct *vma, struct kml_area *src)
{
	struct kml_heap *parent = src->area_heap, *h;

	h = heap_get(parent->heap_hf, vma->vm_mm, true, true);
	mutex_lock(&parent->heap_lock);
	mutex_lock_nested(&h->heap_lock, SINGLE_DEPTH_NESTING);
	/* The brk bounds come with the brk reservation, not with a chunk. */
	if (!is_chunk(vma) && !h->heap_limit) {
		h->heap_start = parent->heap_start;
		h->heap_brk = parent->heap_brk;
		h->heap_limit = parent->heap_limit;
	}
	h->heap_next_pgoff = max(h->heap_next_pgoff, parent->heap_next_pgoff);
	/* What a broken parent would pass on reads as zeroes: stay broken. */
	h->heap_broken |= parent->heap_broken;
	if (!h->heap_broken)
		share_range(h, parent, vma, src->area_vma);
	mutex_unlock(&parent->heap_lock);
	return h;	/* locked */
}

/*
 * A new VMA over an existing area's pgoffs: a split or mremap in the same
 * mm, or the child's copy at fork.
 */
static void kml_vm_open(struct vm_area_struct *vma)
{
	struct kml_area *src = vma->vm_private_data;
	struct vm_area_struct *old;
	struct kml_heap *h;
	struct kml_area *a;

	vma->vm_private_data = NULL;
	if (!src)
		return;
	a = kzalloc(sizeof(*a), GFP_KERNEL_ACCOUNT | __GFP_NOFAIL);
	h = src->area_heap;
	old = src->area_vma;
	if (vma->vm_mm == h->heap_mm) {
		refcount_inc(&h->heap_users);
		mutex_lock(&h->heap_lock);
		/*
		 * A split cuts vma out of old, which shrinks in place after
		 * this (its pages are not new); a move opens vma elsewhere.
		 */
		if (is_chunk(vma) &&
		    !(vma->vm_start >= old->vm_start && vma->vm_end <= old->vm_end))
			h->heap_chunk_pages += vma_pages(vma);
	} else {
		h = fork_open(vma, src);
		if (is_chunk(vma))
			h->heap_chunk_pages += vma_pages(vma);
	}
	if (is_chunk(vma))
		h->heap_chunks++;
	a->area_heap = h;
	a->area_vma = vma;
	area_link(h, a);
	mutex_unlock(&h->heap_lock);
	vma->vm_private_data = a;
}

/* Frees the pages of [first, last] that no area of h covers any more. */
static void forget_uncovered(struct kml_heap *h, unsigned long first, unsigned long last)
{
	struct kml_area *a;

	while (first <= last) {
		a = first_cover(h, first, last);
		if (!a) {
			forget_range(h, first, last);
			return;
		}
		if (a->area_first > first)
			forget_range(h, first, a->area_first - 1);
		if (a->area_last >= last)
			return;
		first = max(first, a->area_last + 1);
	}
}

static void kml_vm_close(struct vm_area_struct *vma)
{
	struct kml_area *a = vma->vm_private_data;
	struct kml_heap *h;

	if (!a)
		return;
	h = a->area_heap;
	mutex_lock(&h->heap_lock);
	area_tree_remove(a, &h->heap_areas);
	if (area_is_chunk(a)) {
		h->heap_chunks--;
		h->heap_chunk_pages -= vma_pages(vma);
	}
	/* A failed split closes its new VMA emptied: it covered nothing. */
	if (vma->vm_start < vma->vm_end)
		forget_uncovered(h, vma_first(vma), vma_last(vma));
	/* With the whole brk range unmapped, a new reservation may be made. */
	if (!area_is_chunk(a) && !first_cover(h, 0, KML_CHUNK_PGOFF - 1))
		h->heap_start = 0, h->heap_brk = 0, h->heap_limit = 0;
	commit_sync(h);
	mutex_unlock(&h->heap_lock);
	vma->vm_private_data = NULL;
	kfree(a);
	heap_put(h);
}

/* Moving a heap VMA would leave its break behind: refused (the move is undone). */
static int kml_vm_mremap(struct vm_area_struct *vma)
{
	return -EINVAL;
}

static const struct vm_operations_struct kml_vm_ops = {
	.open = kml_vm_open,
	.close = kml_vm_close,
	.mremap = kml_vm_mremap,
	.fault = kml_vm_fault,
	.page_mkwrite = kml_vm_mkwrite,
};

int kml_heap_mmap(struct kml_heap_file *hf, struct vm_area_struct *vma)
{
	unsigned long npages = vma_pages(vma), len = vma->vm_end - vma->vm_start;
	struct kml_heap *h;
	struct kml_area *a;
	int err = 0;

	if (!(vma->vm_flags & VM_SHARED))
		return -EINVAL;		/* MAP_SHARED on a file opened O_RDWR */
	if (vma->vm_pgoff != 0 && vma->vm_pgoff != KML_CHUNK_PGOFF)
		return -EINVAL;
	if (!vma->vm_pgoff && len > KMEMLAB_BRK_MAX)
		return -EINVAL;
	a = kzalloc(sizeof(*a), GFP_KERNEL_ACCOUNT);
	if (!a)
		return -ENOMEM;
	h = heap_get(hf, vma->vm_mm, true, false);
	if (IS_ERR(h)) {
		kfree(a);
		return PTR_ERR(h);
	}
	mutex_lock(&h->heap_lock);
	set_owner(h);
	if (!vma->vm_pgoff) {
		if (h->heap_limit) {
			err = -EBUSY;	/* one reservation per heap */
		} else {
			h->heap_start = vma->vm_start;
			h->heap_brk = vma->vm_start;
			h->heap_limit = vma->vm_end;
		}
	} else if (!may_grow(h, len, vma->vm_flags & VM_NORESERVE, "mmap") ||
		   npages > KML_PGOFF_MAX - h->heap_next_pgoff || commit(h, npages, false)) {
		err = -ENOMEM;
	} else {
		/* Before the VMA is linked: its pgoffs are the chunk's name. */
		vma->vm_pgoff = h->heap_next_pgoff;
		h->heap_next_pgoff += npages;
		h->heap_chunks++;
		h->heap_chunk_pages += npages;
	}
	if (!err) {
		a->area_heap = h;
		a->area_vma = vma;
		area_link(h, a);
	}
	mutex_unlock(&h->heap_lock);
	if (err) {
		kfree(a);
		heap_put(h);
		return err;
	}
	vm_flags_set(vma, VM_IO | VM_DONTEXPAND | VM_DONTDUMP);
	vma->vm_ops = &kml_vm_ops;
	vma->vm_private_data = a;
	return 0;
}

/* Unmap and free the heap's pages at brk pgoffs [first, last]. */
static void shrink(struct kml_heap *h, unsigned long first, unsigned long last)
{
	struct kml_area *a;

	refit(h, first, last);
	for (a = area_tree_iter_first(&h->heap_areas, first, last); a;
	     a = area_tree_iter_next(a, first, last)) {
		struct vm_area_struct *vma = a->area_vma;
		unsigned long lo = max(first, a->area_first), hi = min(last, a->area_last);

		zap_page_range_single(vma, vma->vm_start + ((lo - vma->vm_pgoff) << PAGE_SHIFT),
				      (hi - lo + 1) << PAGE_SHIFT, NULL);
	}
	forget_range(h, first, last);
}

static int move_brk(struct kml_heap *h, struct kmemlab_brk *req)
{
	unsigned long old = h->heap_brk, new, new_pages;
	unsigned long old_pages = brk_pages(h);

	req->old_brk = old;
	req->new_brk = old;
	req->start = h->heap_start;
	req->limit = h->heap_limit;
	if (!h->heap_limit)
		return -ENOMEM;
	if (req->flags == KMEMLAB_BRK_SET)
		new = req->addr;
	else if (req->incr >= 0 && (u64)req->incr <= h->heap_limit - old)
		new = old + req->incr;
	else if (req->incr < 0 && -(u64)req->incr <= old - h->heap_start)
		new = old - -(u64)req->incr;
	else
		return -ENOMEM;
	if (new < h->heap_start || new > h->heap_limit)
		return -ENOMEM;
	new_pages = DIV_ROUND_UP(new - h->heap_start, PAGE_SIZE);
	if (new_pages > old_pages &&
	    (!may_grow(h, (new_pages - old_pages) << PAGE_SHIFT, false, "brk") ||
	     commit(h, new_pages - old_pages, false)))
		return -ENOMEM;
	h->heap_brk = new;
	if (new_pages < old_pages) {
		shrink(h, new_pages, old_pages - 1);
		commit_sync(h);
	}
	req->new_brk = new;
	return 0;
}

long kml_heap_brk(struct kml_heap_file *hf, void __user *arg)
{
	struct mm_struct *mm = current->mm;
	struct kmemlab_brk req;
	struct kml_heap *h;
	int err;

	if (copy_from_user(&req, arg, sizeof(req)))
		return -EFAULT;
	if (req.pad || req.reserved[0] || req.reserved[1] ||
	    (req.flags == KMEMLAB_BRK_SET && req.incr) ||
	    (req.flags == KMEMLAB_BRK_ADD && req.addr) ||
	    (req.flags != KMEMLAB_BRK_SET && req.flags != KMEMLAB_BRK_ADD))
		return -EINVAL;
	if (!mm)
		return -EINVAL;
	if (mmap_write_lock_killable(mm))
		return -EINTR;
	h = heap_get(hf, mm, false, false);
	if (h) {
		mutex_lock(&h->heap_lock);
		set_owner(h);
		err = move_brk(h, &req);
		mutex_unlock(&h->heap_lock);
		heap_put(h);
	} else {
		err = -ENOMEM;	/* this process has no reservation on the file */
		req.old_brk = 0, req.new_brk = 0, req.start = 0, req.limit = 0;
	}
	mmap_write_unlock(mm);
	if ((!err || err == -ENOMEM) && copy_to_user(arg, &req, sizeof(req)))
		return -EFAULT;
	return err;
}

/* h's pages that another heap names too; under RCU, without h's lock. */
static unsigned long shared_pages(struct kml_heap *h)
{
	unsigned long pgoff, n = 0;
	void *entry;

	xa_for_each(&h->heap_pages, pgoff, entry)
		n += is_shared(xa_to_value(entry));
	return n;
}

/*
 * debugfs heaps: kmemlab's /proc/PID/maps and VmRSS, a line per heap. It
 * reads each heap without its lock (xarray walks are safe under RCU): a
 * heap busy for a long time delays nobody's view, and the view delays no
 * heap.
 */
int kml_heaps_show(struct seq_file *m, void *v)
{
	struct kml_heap *h;

	seq_printf(m, "%7s %-16s %-16s %-16s %11s %6s %10s %8s %8s %-6s %8s %8s\n", "pid", "comm",
		   "start", "brk", "reserved_kB", "chunks", "chunk_kB", "resident", "faults",
		   "state", "shared", "cow");
	rcu_read_lock();
	list_for_each_entry_rcu(h, &kml_heaps, heap_node) {
		/* Pairs with set_owner(): a pid read means its comm is written. */
		pid_t pid = smp_load_acquire(&h->heap_pid);
		unsigned long start = READ_ONCE(h->heap_start), limit = READ_ONCE(h->heap_limit);

		seq_printf(m, "%7d %-16s %016lx %016lx %11lu %6lu %10lu %8lu %8lu %-6s %8lu %8lu\n",
			   pid, pid ? h->heap_comm : "-", start, READ_ONCE(h->heap_brk),
			   limit > start ? (limit - start) >> 10 : 0, READ_ONCE(h->heap_chunks),
			   READ_ONCE(h->heap_chunk_pages) << (PAGE_SHIFT - 10),
			   READ_ONCE(h->heap_resident), READ_ONCE(h->heap_faults),
			   READ_ONCE(h->heap_broken) ? "broken" : "ok", shared_pages(h),
			   READ_ONCE(h->heap_cow));
	}
	rcu_read_unlock();
	return 0;
}
