// SPDX-License-Identifier: GPL-2.0
/*
 * heap.c - per-process heaps on /dev/kmemlab: brk, anonymous chunks and
 * demand paging from the region.
 *
 * Theory. A heap belongs to one (open file, mm) pair. Its address space is
 * a set of VMAs that map the device MAP_SHARED: one brk reservation (mmap
 * offset 0) and any number of chunks (offset KMEMLAB_MMAP_CHUNK). Each VMA
 * carries a kml_area on its heap's list. A page of the heap is named by
 * its page offset in the file (pgoff), not by an address: the brk range is
 * pgoff 0.., and each chunk gets a fresh pgoff range above KML_CHUNK_PGOFF
 * that is never reused. The heap's pages sit in an xarray keyed by pgoff,
 * so a split, a partial munmap or a fork only changes which VMAs cover
 * which pgoffs.
 *
 * Nothing is allocated before a page is touched: the fault handler takes an
 * order-0 region page (split at load, so refcounted on its own), zeroes it
 * and returns it with a reference that the PTE then holds, as a file's
 * page cache would. The VMAs are VM_IO, so get_user_pages() refuses them
 * and no pin can outlive a free; they are shared file mappings, so fork
 * copies no PTE and mremap cannot grow them (VM_DONTEXPAND). A page goes
 * back to the buddy allocator when no VMA of its heap covers its pgoff any
 * more (close, after the kernel has zapped the range), or when the break
 * moves below it (brk, after zap_page_range_single()). Close checks coverage by
 * the heap's other VMAs because mremap and split open a VMA over the same
 * pgoffs before they close the old one. Before a page is freed its
 * refcount must be back to the region's own one. get_user_pages_fast()
 * does not look at VM_IO, so a vmsplice() or O_DIRECT can still hold a
 * page when its heap lets it go: such a page is "held" (out of the heap,
 * not yet in the buddy allocator) and given back by a delayed work, by an
 * allocation that finds the region empty, or at unload, once its last
 * outside reference is dropped. Never handed out twice.
 *
 * fork(). dup_mmap() calls ->open on each of the child's VMAs. open sees a
 * foreign mm: it finds or makes the child's heap (a copy of the parent's
 * break and reservation) and copies every page in the VMA's range into a
 * fresh region page. The copy is eager and made while both mms are
 * write-locked, so the child sees the heap as it was at the fork and later
 * writes on either side stay private. If the region runs out during the
 * copy, the child's heap is marked broken and every fault on it gets
 * SIGBUS; the parent is never touched.
 *
 * Locking. mm's mmap_lock -> heap_lock -> the buddy allocator's locks.
 * kml_heaps_lock (the list of heaps) -> heap_lock, for lookup and debugfs;
 * never the other way. Fork takes the parent's heap_lock, then the child's.
 * heap_areas changes only with the heap's mm write-locked and heap_lock
 * held, and is read under heap_lock; pages and counters change only under
 * heap_lock. A fault holds its mm's mmap_lock for reading from ->fault until
 * the PTE is set. brk shrinks with it held for writing, so no fault can be
 * about to map a page it frees. close may run with it downgraded to reading
 * (munmap), but its VMA is already detached and zapped: a fault through
 * another VMA can only map pgoffs that VMA covers, and close does not free
 * covered pgoffs.
 */
#include <linux/highmem.h>
#include <linux/mm.h>
#include <linux/mmap_lock.h>
#include <linux/mutex.h>
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

struct kml_heap {
	struct list_head heap_node;	/* on kml_heaps */
	struct file *heap_file;		/* identity only */
	struct mm_struct *heap_mm;	/* identity, held by mmgrab() */
	refcount_t heap_users;		/* one per area, one for the opener */
	pid_t heap_pid;			/* 0 until the owner first calls in */
	char heap_comm[TASK_COMM_LEN];

	struct mutex heap_lock;		/* everything below */
	struct list_head heap_areas;
	struct xarray heap_pages;	/* pgoff -> xa_mk_value(page index) */
	unsigned long heap_start;	/* the brk reservation; 0: none */
	unsigned long heap_brk;
	unsigned long heap_limit;
	unsigned long heap_next_pgoff;	/* the next chunk's first pgoff */
	unsigned long heap_resident;
	unsigned long heap_faults;
	bool heap_broken;		/* a fork copy ran out of pages */
};

struct kml_area {
	struct list_head area_node;	/* on heap_areas */
	struct kml_heap *area_heap;
	struct vm_area_struct *area_vma;
};

struct kml_heap_stats kml_heap_stats;

static LIST_HEAD(kml_heaps);
static DEFINE_MUTEX(kml_heaps_lock);

static const struct vm_operations_struct kml_vm_ops;

static void set_owner(struct kml_heap *h)
{
	if (likely(h->heap_pid))
		return;
	h->heap_pid = task_tgid_nr(current);
	get_task_comm(h->heap_comm, current);
}

/* Pages freed by their heap while something else still held them. */
static DEFINE_XARRAY(kml_held);
static void held_work_fn(struct work_struct *work);
static DECLARE_DELAYED_WORK(held_work, held_work_fn);

static void release_page(u32 idx)
{
	struct page *page = kml_index_page(idx);

	/* Flags the mapping left behind (zap marks dirty and accessed). */
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

static void held_work_fn(struct work_struct *work)
{
	release_held();
	if (!xa_empty(&kml_held))
		schedule_delayed_work(&held_work, HZ);
}

static void free_user_page(struct kml_heap *h, unsigned long pgoff, void *entry)
{
	u32 idx = xa_to_value(entry);

	xa_erase(&h->heap_pages, pgoff);
	h->heap_resident--;
	atomic_long_dec(&kml_heap_stats.pages);
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

/* At unload: the held pages go with the region, whatever holds them. */
void kml_heap_exit(void)
{
	cancel_delayed_work_sync(&held_work);
	release_held();
	if (!xa_empty(&kml_held))
		pr_err("kmemlab: %ld heap pages still referenced from outside at unload\n",
		       atomic_long_read(&kml_heap_stats.held));
	xa_destroy(&kml_held);
}

/* A zeroed region page stored at pgoff, or KML_NIL. */
static u32 new_user_page(struct kml_heap *h, unsigned long pgoff, void *copy)
{
	u32 idx = kml_buddy_alloc(&kml_buddy, 0, KML_KIND_USER);
	void *addr;

	if (idx == KML_NIL && release_held())
		idx = kml_buddy_alloc(&kml_buddy, 0, KML_KIND_USER);
	if (idx == KML_NIL)
		return KML_NIL;
	addr = page_address(kml_index_page(idx));
	if (copy)
		copy_page(addr, copy);
	else
		clear_page(addr);
	if (xa_err(xa_store(&h->heap_pages, pgoff, xa_mk_value(idx), GFP_KERNEL))) {
		kml_buddy_free(&kml_buddy, idx, 0, KML_KIND_USER);
		return KML_NIL;
	}
	h->heap_resident++;
	atomic_long_inc(&kml_heap_stats.pages);
	return idx;
}

static unsigned long area_first(const struct kml_area *a)
{
	return a->area_vma->vm_pgoff;
}

static unsigned long area_end(const struct kml_area *a)
{
	return a->area_vma->vm_pgoff + vma_pages(a->area_vma);
}

/* Does any area of h other than skip cover a pgoff in [first, end)? */
static bool covered(struct kml_heap *h, struct kml_area *skip, unsigned long first,
		    unsigned long end)
{
	struct kml_area *a;

	list_for_each_entry(a, &h->heap_areas, area_node)
		if (a != skip && area_first(a) < end && first < area_end(a))
			return true;
	return false;
}

static unsigned long brk_pages(const struct kml_heap *h)
{
	return DIV_ROUND_UP(h->heap_brk - h->heap_start, PAGE_SIZE);
}

/* Bytes counted against RLIMIT_DATA: the heap below its break and its chunks. */
static unsigned long data_bytes(struct kml_heap *h)
{
	unsigned long bytes = h->heap_brk - h->heap_start;
	struct kml_area *a;

	list_for_each_entry(a, &h->heap_areas, area_node)
		if (area_first(a) >= KML_CHUNK_PGOFF)
			bytes += a->area_vma->vm_end - a->area_vma->vm_start;
	return bytes;
}

/*
 * Can the heap grow by bytes now? Within RLIMIT_DATA, and, as the kernel's
 * heuristic overcommit, not beyond the region's free pages in one request
 * unless the mapping is MAP_NORESERVE.
 */
static bool may_grow(struct kml_heap *h, unsigned long bytes, bool noreserve)
{
	unsigned long total = data_bytes(h) + bytes;

	return total >= bytes && total <= rlimit(RLIMIT_DATA) &&
	       (noreserve || bytes >> PAGE_SHIFT <= kml_buddy_free_pages(&kml_buddy));
}

/*
 * The heap of (file, mm) with a reference, or NULL. With create, a missing
 * one is made, a copy of parent's break and reservation when parent is set.
 */
static struct kml_heap *heap_get(struct file *file, struct mm_struct *mm, bool create,
				 struct kml_heap *parent)
{
	struct kml_heap *h;

	mutex_lock(&kml_heaps_lock);
	list_for_each_entry(h, &kml_heaps, heap_node)
		if (h->heap_file == file && h->heap_mm == mm &&
		    refcount_inc_not_zero(&h->heap_users))
			goto out;
	h = NULL;
	if (!create)
		goto out;
	/* Small and in a path that cannot fail (vm_ops->open): never NULL. */
	h = kzalloc(sizeof(*h), GFP_KERNEL | __GFP_NOFAIL);
	h->heap_file = file;
	h->heap_mm = mm;
	mmgrab(mm);
	refcount_set(&h->heap_users, 1);
	mutex_init(&h->heap_lock);
	INIT_LIST_HEAD(&h->heap_areas);
	xa_init(&h->heap_pages);
	h->heap_next_pgoff = KML_CHUNK_PGOFF;
	if (parent) {
		mutex_lock(&parent->heap_lock);
		h->heap_start = parent->heap_start;
		h->heap_brk = parent->heap_brk;
		h->heap_limit = parent->heap_limit;
		h->heap_next_pgoff = parent->heap_next_pgoff;
		/* A partial copy passed on would read as zeroes: stay broken. */
		h->heap_broken = parent->heap_broken;
		mutex_unlock(&parent->heap_lock);
	}
	list_add_tail(&h->heap_node, &kml_heaps);
	atomic_long_inc(&kml_heap_stats.heaps);
out:
	mutex_unlock(&kml_heaps_lock);
	return h;
}

static void heap_put(struct kml_heap *h)
{
	unsigned long pgoff;
	void *entry;

	if (!refcount_dec_and_mutex_lock(&h->heap_users, &kml_heaps_lock))
		return;
	list_del(&h->heap_node);
	mutex_unlock(&kml_heaps_lock);
	/* No area is left, so no page should be: free any that is. */
	xa_for_each(&h->heap_pages, pgoff, entry)
		free_user_page(h, pgoff, entry);
	xa_destroy(&h->heap_pages);
	mmdrop(h->heap_mm);
	atomic_long_dec(&kml_heap_stats.heaps);
	kfree(h);
}

/* The opener's heap, held until release; NULL for a task without an mm. */
struct kml_heap *kml_heap_open(struct file *file)
{
	struct kml_heap *h;

	if (!current->mm)
		return NULL;
	h = heap_get(file, current->mm, true, NULL);
	set_owner(h);
	return h;
}

void kml_heap_release(struct kml_heap *h)
{
	if (h)
		heap_put(h);
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
	if (h->heap_broken) {
		ret = VM_FAULT_SIGBUS;
		atomic_long_inc(&kml_heap_stats.sigbus);
		goto out;
	}
	if (pgoff < KML_CHUNK_PGOFF && pgoff >= brk_pages(h)) {
		ret = VM_FAULT_SIGSEGV;		/* above the break */
		atomic_long_inc(&kml_heap_stats.sigsegv);
		goto out;
	}
	entry = xa_load(&h->heap_pages, pgoff);
	if (entry) {
		idx = xa_to_value(entry);
	} else {
		idx = new_user_page(h, pgoff, NULL);
		if (idx == KML_NIL) {
			ret = VM_FAULT_SIGBUS;	/* the region is exhausted */
			atomic_long_inc(&kml_heap_stats.sigbus);
			goto out;
		}
	}
	vmf->page = kml_index_page(idx);
	get_page(vmf->page);		/* the PTE's reference */
	ret = 0;
	h->heap_faults++;
	atomic_long_inc(&kml_heap_stats.faults);
out:
	mutex_unlock(&h->heap_lock);
	return ret;
}

/* The child's copy of the pages in vma's range; the child is locked by the caller. */
static void copy_range(struct kml_heap *child, struct kml_heap *parent,
		       struct vm_area_struct *vma)
{
	unsigned long pgoff;
	void *entry;

	xa_for_each_range(&parent->heap_pages, pgoff, entry, vma->vm_pgoff,
			  vma->vm_pgoff + vma_pages(vma) - 1) {
		void *src = page_address(kml_index_page(xa_to_value(entry)));

		if (new_user_page(child, pgoff, src) == KML_NIL) {
			child->heap_broken = true;
			return;
		}
		atomic_long_inc(&kml_heap_stats.fork_pages);
	}
}

/*
 * A new VMA over an existing area's pgoffs: a split or mremap in the same
 * mm, or the child's copy at fork.
 */
static void kml_vm_open(struct vm_area_struct *vma)
{
	struct kml_area *src = vma->vm_private_data;
	struct kml_heap *h, *parent;
	struct kml_area *a;

	vma->vm_private_data = NULL;
	if (!src)
		return;
	a = kzalloc(sizeof(*a), GFP_KERNEL | __GFP_NOFAIL);
	h = src->area_heap;
	if (vma->vm_mm == h->heap_mm) {
		refcount_inc(&h->heap_users);
	} else {
		parent = h;
		h = heap_get(vma->vm_file, vma->vm_mm, true, parent);
		mutex_lock(&parent->heap_lock);
		mutex_lock_nested(&h->heap_lock, SINGLE_DEPTH_NESTING);
		if (!h->heap_broken)
			copy_range(h, parent, vma);
		mutex_unlock(&h->heap_lock);
		mutex_unlock(&parent->heap_lock);
	}
	a->area_heap = h;
	a->area_vma = vma;
	mutex_lock(&h->heap_lock);
	list_add_tail(&a->area_node, &h->heap_areas);
	mutex_unlock(&h->heap_lock);
	vma->vm_private_data = a;
}

static void kml_vm_close(struct vm_area_struct *vma)
{
	struct kml_area *a = vma->vm_private_data;
	unsigned long first = vma->vm_pgoff, end = first + vma_pages(vma), pgoff;
	struct kml_heap *h;
	bool shared;
	void *entry;

	if (!a)
		return;
	h = a->area_heap;
	mutex_lock(&h->heap_lock);
	list_del(&a->area_node);
	/* A failed split closes its new VMA emptied: it covered nothing. */
	if (first >= end)
		goto out;
	shared = covered(h, NULL, first, end);
	xa_for_each_range(&h->heap_pages, pgoff, entry, first, end - 1)
		if (!shared || !covered(h, NULL, pgoff, pgoff + 1))
			free_user_page(h, pgoff, entry);
	/* With the whole brk range unmapped, a new reservation may be made. */
	if (first < KML_CHUNK_PGOFF && !covered(h, NULL, 0, KML_CHUNK_PGOFF))
		h->heap_start = 0, h->heap_brk = 0, h->heap_limit = 0;
out:
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
};

int kml_heap_mmap(struct file *file, struct vm_area_struct *vma)
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
	a = kzalloc(sizeof(*a), GFP_KERNEL);
	if (!a)
		return -ENOMEM;
	h = heap_get(file, vma->vm_mm, true, NULL);
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
	} else if (!may_grow(h, len, vma->vm_flags & VM_NORESERVE) ||
		   npages > KML_PGOFF_MAX - h->heap_next_pgoff) {
		err = -ENOMEM;
	} else {
		/* Before the VMA is linked: its pgoffs are the chunk's name. */
		vma->vm_pgoff = h->heap_next_pgoff;
		h->heap_next_pgoff += npages;
	}
	if (!err) {
		a->area_heap = h;
		a->area_vma = vma;
		list_add_tail(&a->area_node, &h->heap_areas);
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

/* Unmap and free the heap's pages at brk pgoffs [first, end). */
static void shrink(struct kml_heap *h, unsigned long first, unsigned long end)
{
	struct kml_area *a;
	unsigned long pgoff;
	void *entry;

	list_for_each_entry(a, &h->heap_areas, area_node) {
		struct vm_area_struct *vma = a->area_vma;
		unsigned long lo = max(first, area_first(a)), hi = min(end, area_end(a));

		if (lo < hi)
			zap_page_range_single(vma, vma->vm_start +
					      ((lo - vma->vm_pgoff) << PAGE_SHIFT),
					      (hi - lo) << PAGE_SHIFT, NULL);
	}
	xa_for_each_range(&h->heap_pages, pgoff, entry, first, end - 1)
		free_user_page(h, pgoff, entry);
}

static int move_brk(struct kml_heap *h, struct kmemlab_brk *req)
{
	unsigned long old = h->heap_brk, new;
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
	if (new > old && !may_grow(h, PAGE_ALIGN(new) - PAGE_ALIGN(old), false))
		return -ENOMEM;
	h->heap_brk = new;
	if (brk_pages(h) < old_pages)
		shrink(h, brk_pages(h), old_pages);
	req->new_brk = new;
	return 0;
}

long kml_heap_brk(struct file *file, void __user *arg)
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
	h = heap_get(file, mm, false, NULL);
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

/* debugfs heaps: kmemlab's /proc/PID/maps and VmRSS, a line per heap. */
int kml_heaps_show(struct seq_file *m, void *v)
{
	struct kml_heap *h;
	struct kml_area *a;

	seq_printf(m, "%7s %-16s %-16s %-16s %11s %6s %10s %8s %8s %s\n", "pid", "comm",
		   "start", "brk", "reserved_kB", "chunks", "chunk_kB", "resident", "faults",
		   "state");
	mutex_lock(&kml_heaps_lock);
	list_for_each_entry(h, &kml_heaps, heap_node) {
		unsigned long chunks = 0, chunk_kb = 0;

		mutex_lock(&h->heap_lock);
		list_for_each_entry(a, &h->heap_areas, area_node)
			if (area_first(a) >= KML_CHUNK_PGOFF) {
				chunks++;
				chunk_kb += vma_pages(a->area_vma) << (PAGE_SHIFT - 10);
			}
		seq_printf(m, "%7d %-16s %016lx %016lx %11lu %6lu %10lu %8lu %8lu %s\n",
			   h->heap_pid, h->heap_pid ? h->heap_comm : "-", h->heap_start,
			   h->heap_brk, (h->heap_limit - h->heap_start) >> 10, chunks, chunk_kb,
			   h->heap_resident, h->heap_faults, h->heap_broken ? "broken" : "ok");
		mutex_unlock(&h->heap_lock);
	}
	mutex_unlock(&kml_heaps_lock);
	return 0;
}
