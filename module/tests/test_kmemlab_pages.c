// SPDX-License-Identifier: GPL-2.0
/*
 * test_kmemlab_pages - checks of kmemlab's page API, run at load time.
 * Loading succeeds only when every check passes (kselftest_module.h).
 * Misuse checks provoke pr_err reports on purpose; the shell side compares
 * the misuse counters in debugfs stats.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/completion.h>
#include <linux/hrtimer.h>
#include <linux/module.h>
#include <linux/mm.h>
#include <linux/rcupdate.h>
#include <linux/slab.h>
#include <linux/timer.h>
#include <linux/vmalloc.h>
#include <linux/workqueue.h>
#include "kselftest_module.h"
#include "../include/kmemlab.h"

KSTM_MODULE_GLOBALS();

static unsigned int max_order = 10;
module_param(max_order, uint, 0444);

/* One semantic check by name (see checks[] below); empty: the basic ones. */
static char *check = "";
module_param(check, charp, 0444);

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

/*
 * Every free block of @order taken, linked through page->lru, so that the
 * next allocation of that order can only be a block given back meanwhile.
 */
static unsigned long exhaust(struct list_head *held, unsigned int order)
{
	unsigned long n = 0;
	struct page *page;

	while ((page = kml_alloc_pages(GFP_KERNEL | __GFP_NOWARN, order))) {
		list_add(&page->lru, held);
		n++;
	}
	return n;
}

static void give_back(struct list_head *held, unsigned int order)
{
	struct page *page, *tmp;

	list_for_each_entry_safe(page, tmp, held, lru) {
		list_del(&page->lru);
		kml___free_pages(page, order);
	}
}

/* After get_page(), a freed block waits for the last put. */
static int check_refcount_held(bool linux_put)
{
	struct page *page = kml_alloc_pages(GFP_KERNEL, 3), *again;
	LIST_HEAD(held);
	int err = 0;

	if (!page)
		return -ENOMEM;
	get_page(page + 1);
	kml___free_pages(page, 3);
	/* Still referenced: the whole region may be taken, never that block. */
	exhaust(&held, 3);
	again = kml_alloc_pages(GFP_KERNEL | __GFP_NOWARN, 3);
	if (again) {
		pr_err("refcount: an order-3 block came back while page %p is referenced\n",
		       page + 1);
		err = -EBUSY;
		kml___free_pages(again, 3);
	}
	/* The last reference goes: that block, and only it, is free again. */
	if (linux_put)
		put_page(page + 1);	/* kmemlab notices at its next sweep */
	else
		kml_put_page(page + 1);
	again = kml_alloc_pages(GFP_KERNEL | __GFP_NOWARN, 3);
	if (again != page) {
		pr_err("refcount: after the last put, got %p, not the block %p\n", again, page);
		err = err ?: -EINVAL;
	}
	if (again)
		kml___free_pages(again, 3);
	give_back(&held, 3);
	return err;
}

/*
 * With every other block of @order taken, the next allocation of @order
 * must be @want (@expect) or must fail; what it gets joins @held.
 */
static int next_is(struct list_head *held, unsigned int order, struct page *want,
		   bool expect, const char *what)
{
	struct page *got = kml_alloc_pages(GFP_KERNEL | __GFP_NOWARN, order);
	int err = 0;

	if (expect ? got != want : !!got) {
		pr_err("%s: order-%u allocation got %p, want %s%p\n", what, order, got,
		       expect ? "" : "none, not ", want);
		err = -EINVAL;
	}
	if (got)
		list_add(&got->lru, held);
	return err;
}

/* vfree of an area whose page someone still references: the page waits. */
static int check_vmalloc_ref(void)
{
	void *v = kml_vmalloc(PAGE_SIZE);
	struct page *page;
	LIST_HEAD(held);
	int err;

	if (!v)
		return -ENOMEM;
	page = kml_vmalloc_to_page(v);
	get_page(page);
	kml_vfree(v);
	exhaust(&held, 0);
	err = next_is(&held, 0, page, false, "vmalloc_ref before put");
	kml_put_page(page);
	err = err ?: next_is(&held, 0, page, true, "vmalloc_ref after put");
	give_back(&held, 0);
	return err;
}

/* kfree of a large kmalloc block whose page someone references: it waits. */
static int check_kmalloc_ref(void)
{
	void *p = kml_kmalloc(4 * PAGE_SIZE, GFP_KERNEL);	/* beyond kmalloc_max */
	struct page *page;
	LIST_HEAD(held);
	int err;

	if (!p)
		return -ENOMEM;
	page = virt_to_page(p);
	get_page(page + 1);
	kml_kfree(p);
	exhaust(&held, 2);
	err = next_is(&held, 2, page, false, "kmalloc_ref before put");
	kml_put_page(page + 1);
	err = err ?: next_is(&held, 2, page, true, "kmalloc_ref after put");
	give_back(&held, 2);
	return err;
}

/* A holder's __free_pages on a held block drops its reference, as Linux's. */
static int check_holder_free(void)
{
	struct page *page = kml_alloc_pages(GFP_KERNEL, 0);
	LIST_HEAD(held);
	int err;

	if (!page)
		return -ENOMEM;
	get_page(page);			/* the holder */
	kml___free_pages(page, 0);	/* the owner: held */
	exhaust(&held, 0);
	err = next_is(&held, 0, page, false, "holder_free while held");
	kml___free_pages(page, 0);	/* the holder's drop: the last one */
	err = err ?: next_is(&held, 0, page, true, "holder_free after");
	give_back(&held, 0);
	return err;
}

/* The owner's put_page while others hold it; their Linux put_page frees it. */
static int check_owner_put(void)
{
	struct page *page = kml_alloc_pages(GFP_KERNEL | __GFP_COMP, 1);
	LIST_HEAD(held);
	int err;

	if (!page)
		return -ENOMEM;
	get_page(page + 1);		/* another holder, through a tail */
	kml_put_page(page);		/* the owner lets go */
	exhaust(&held, 1);
	err = next_is(&held, 1, page, false, "owner_put while held");
	put_page(page + 1);		/* Linux's: kmemlab sweeps when short */
	err = err ?: next_is(&held, 1, page, true, "owner_put after");
	give_back(&held, 1);
	return err;
}

/* __GFP_COMP: what compound_order(), page_size() and folio refs read. */
static int check_compound(void)
{
	struct page *page = kml_alloc_pages(GFP_KERNEL | __GFP_COMP, 2), *plain, *again;
	LIST_HEAD(held);
	int err = 0, i;

	if (!page)
		return -ENOMEM;
	if (!PageHead(page) || compound_order(page) != 2 || page_size(page) != 4 * PAGE_SIZE)
		err = -EINVAL;
	for (i = 1; i < 4; i++)
		if (!PageTail(page + i) || compound_head(page + i) != page)
			err = -EINVAL;
	get_page(page + 3);		/* pins the head */
	if (page_count(page + 3) != page_count(page))
		err = err ?: -EINVAL;
	kml_put_page(page + 3);
	kml___free_pages(page, 2);
	for (i = 0; i < 4; i++)
		if (PageCompound(page + i) || page_count(page + i) != 1)
			err = err ?: -EFAULT;
	/* Without __GFP_COMP: an ordinary head. */
	plain = kml_alloc_pages(GFP_KERNEL, 2);
	if (!plain)
		return -ENOMEM;
	if (PageCompound(plain) || compound_order(plain) != 0)
		err = err ?: -EINVAL;
	kml___free_pages(plain, 2);
	/* Dropping the owner's reference with put_page frees a compound page. */
	page = kml_alloc_pages(GFP_KERNEL | __GFP_COMP, 1);
	if (!page)
		return -ENOMEM;
	exhaust(&held, 1);
	kml_put_page(page);
	again = kml_alloc_pages(GFP_KERNEL | __GFP_NOWARN, 1);
	if (again != page)
		err = err ?: -EBUSY;
	if (again)
		kml___free_pages(again, 1);
	give_back(&held, 1);
	if (err)
		pr_err("compound: error %d\n", err);
	return err;
}

/*
 * init_on_alloc / init_on_free as the shell set kmemlab's parameters:
 * a page dirtied and freed comes straight back (LIFO per-CPU list) and
 * reads zero (@want_zero) or still dirty.
 */
static int check_init(bool want_zero)
{
	unsigned long a, b;
	int err = 0;
	size_t i, dirty = 0;

	migrate_disable();
	a = kml_get_free_page(GFP_KERNEL);
	if (a) {
		memset((void *)a, 0x5a, PAGE_SIZE);
		kml_free_page(a);
	}
	b = kml_get_free_page(GFP_KERNEL);
	migrate_enable();
	if (!a || !b)
		return -ENOMEM;
	if (a != b)
		err = -EAGAIN;
	for (i = 0; i < PAGE_SIZE; i++)
		dirty += ((u8 *)b)[i] != 0;
	if (want_zero ? dirty : dirty != PAGE_SIZE)
		err = err ?: -EIO;
	kml_free_page(b);
	if (err)
		pr_err("init: want %s, %zu bytes dirty (error %d)\n", want_zero ? "zero" : "dirty",
		       dirty, err);
	return err;
}

/* gfp kmemlab cannot honour: NULL and a report, nothing taken. */
static int check_gfp_refused(void)
{
	struct page *dma = kml_alloc_pages(GFP_KERNEL | GFP_DMA, 0);
	struct page *junk = kml_alloc_pages(GFP_KERNEL | (__force gfp_t)(1u << 31), 0);

	if (dma)
		kml___free_pages(dma, 0);
	if (junk)
		kml___free_pages(junk, 0);
	return dma || junk ? -EINVAL : 0;
}

/* A failure with (@nowarn) and without __GFP_NOWARN; the shell counts lines. */
static int check_fail(bool nowarn)
{
	gfp_t gfp = GFP_KERNEL | (nowarn ? __GFP_NOWARN : 0);
	struct page *page = kml_alloc_pages(gfp, max_order + 1);

	if (page) {
		kml___free_pages(page, max_order + 1);
		return -EINVAL;
	}
	return 0;
}

struct delayed_free {
	struct delayed_work work;
	struct page *page;
};

static void delayed_free_fn(struct work_struct *work)
{
	struct delayed_free *d = container_of(work, struct delayed_free, work.work);

	kml___free_pages(d->page, 0);
}

/* __GFP_NOFAIL waits, with the region exhausted, until a page comes back. */
static int check_nofail(void)
{
	struct delayed_free d = { .page = NULL };
	struct page *page;
	LIST_HEAD(held);

	exhaust(&held, 0);
	if (list_empty(&held))
		return -ENOMEM;
	d.page = list_first_entry(&held, struct page, lru);
	list_del(&d.page->lru);
	INIT_DELAYED_WORK_ONSTACK(&d.work, delayed_free_fn);
	schedule_delayed_work(&d.work, HZ / 5);
	page = kml_alloc_pages(GFP_KERNEL | __GFP_NOFAIL, 0);
	flush_delayed_work(&d.work);
	destroy_delayed_work_on_stack(&d.work);
	if (page)
		list_add(&page->lru, &held);
	give_back(&held, 0);
	return page ? 0 : -ENOMEM;
}

/* Allocation (GFP_ATOMIC) and free in an interrupt or RCU callback. */
struct ctx_test {
	struct page *page;	/* freed in the callback */
	struct page *got;	/* allocated there */
	bool in_irq;
	struct completion done;
};

static void ctx_work(struct ctx_test *t)
{
	kml___free_pages(t->page, 1);
	t->got = kml_alloc_pages(GFP_ATOMIC, 1);
	if (t->got)
		kml___free_pages(t->got, 1);
	complete(&t->done);
}

static struct ctx_test softirq_t, hardirq_t, rcu_t;

static void softirq_fn(struct timer_list *timer)
{
	softirq_t.in_irq = in_serving_softirq();
	ctx_work(&softirq_t);
}

static enum hrtimer_restart hardirq_fn(struct hrtimer *timer)
{
	hardirq_t.in_irq = in_hardirq();
	ctx_work(&hardirq_t);
	return HRTIMER_NORESTART;
}

static struct rcu_head rcu_t_head;

static void rcu_fn(struct rcu_head *head)
{
	rcu_t.in_irq = true;
	ctx_work(&rcu_t);
}

static int ctx_result(const char *name, struct ctx_test *t)
{
	/* A generous bound: it only stops a test whose callback never runs. */
	bool ran = wait_for_completion_timeout(&t->done, 60 * HZ);

	if (!ran || !t->in_irq || !t->got) {
		pr_err("%s: ran %d, in context %d, allocated %d\n", name, ran, t->in_irq, !!t->got);
		return -EINVAL;
	}
	return 0;
}

static int check_softirq(void)
{
	struct timer_list timer;
	int err;

	init_completion(&softirq_t.done);
	softirq_t.page = kml_alloc_pages(GFP_KERNEL, 1);
	if (!softirq_t.page)
		return -ENOMEM;
	timer_setup_on_stack(&timer, softirq_fn, 0);
	mod_timer(&timer, jiffies + 1);
	err = ctx_result("softirq", &softirq_t);
	del_timer_sync(&timer);
	destroy_timer_on_stack(&timer);
	return err;
}

static int check_hardirq(void)
{
	struct hrtimer timer;
	int err;

	init_completion(&hardirq_t.done);
	hardirq_t.page = kml_alloc_pages(GFP_KERNEL, 1);
	if (!hardirq_t.page)
		return -ENOMEM;
	hrtimer_init_on_stack(&timer, CLOCK_MONOTONIC, HRTIMER_MODE_REL_HARD);
	timer.function = hardirq_fn;
	hrtimer_start(&timer, ms_to_ktime(1), HRTIMER_MODE_REL_HARD);
	err = ctx_result("hardirq", &hardirq_t);
	hrtimer_cancel(&timer);
	destroy_hrtimer_on_stack(&timer);
	return err;
}

static int check_rcu(void)
{
	init_completion(&rcu_t.done);
	rcu_t.page = kml_alloc_pages(GFP_KERNEL, 1);
	if (!rcu_t.page)
		return -ENOMEM;
	call_rcu(&rcu_t_head, rcu_fn);
	rcu_barrier();
	return ctx_result("rcu", &rcu_t);
}

/* alloc_pages_exact: the block's pages past the size are free at once. */
static int check_exact(void)
{
	void *p = kml_alloc_pages_exact(5 * PAGE_SIZE, GFP_KERNEL);
	struct page *page, *first;
	unsigned int found = 0;
	LIST_HEAD(held);

	if (!p)
		return -ENOMEM;
	first = virt_to_page(p);
	memset(p, 0x77, 5 * PAGE_SIZE);
	exhaust(&held, 0);
	list_for_each_entry(page, &held, lru)
		if (page >= first + 5 && page < first + 8)
			found++;
	give_back(&held, 0);
	kml_free_pages_exact(p, 5 * PAGE_SIZE);
	if (found != 3)
		pr_err("exact: %u of the 3 pages past 5 were free\n", found);
	return found == 3 ? 0 : -EINVAL;
}

static const struct {
	const char *name;
	int (*fn)(void);
} checks[] = {
	{ "compound", check_compound },
	{ "gfp_refused", check_gfp_refused },
	{ "nofail", check_nofail },
	{ "softirq", check_softirq },
	{ "hardirq", check_hardirq },
	{ "rcu", check_rcu },
	{ "exact", check_exact },
	{ "vmalloc_ref", check_vmalloc_ref },
	{ "kmalloc_ref", check_kmalloc_ref },
	{ "holder_free", check_holder_free },
	{ "owner_put", check_owner_put },
};

static int check_named(const char *name)
{
	unsigned int i;

	if (!strcmp(name, "refcount"))
		return check_refcount_held(false);
	if (!strcmp(name, "refcount_linux_put"))
		return check_refcount_held(true);
	if (!strcmp(name, "init_zero"))
		return check_init(true);
	if (!strcmp(name, "init_dirty"))
		return check_init(false);
	if (!strcmp(name, "fail_nowarn"))
		return check_fail(true);
	if (!strcmp(name, "fail_warn"))
		return check_fail(false);
	for (i = 0; i < ARRAY_SIZE(checks); i++)
		if (!strcmp(name, checks[i].name))
			return checks[i].fn();
	pr_err("check=%s: no such check\n", name);
	return -EINVAL;
}

static void __init selftest(void)
{
	if (*check) {
		KSTM_CHECK_ZERO(check_named(check));
		return;
	}
	KSTM_CHECK_ZERO(check_orders());
	KSTM_CHECK_ZERO(check_zeroed());
	KSTM_CHECK_ZERO(check_exhaustion());
	KSTM_CHECK_ZERO(check_misuse());
}

KSTM_MODULE_LOADERS(test_kmemlab_pages);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("kmemlab page allocator checks, run at load");
