// SPDX-License-Identifier: GPL-2.0
/*
 * test_kmemlab_slab - checks of kmemlab's kmem_cache and kmalloc families,
 * run at load; loading succeeds only when every check passes
 * (kselftest_module.h). The misuse checks provoke reports on purpose.
 *
 * check=NAME runs one behaviour's check instead of the basic ones, so that
 * test_slab.sh reports one KTAP line per behaviour (some need kmemlab's
 * parameters set first: the script does that). No check times anything.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/completion.h>
#include <linux/cpu.h>
#include <linux/delay.h>
#include <linux/hrtimer.h>
#include <linux/module.h>
#include <linux/mm.h>
#include <linux/rcupdate.h>
#include <linux/slab.h>
#include <linux/timer.h>
#include <linux/workqueue.h>
#include "kselftest_module.h"
#include "../include/kmemlab.h"

KSTM_MODULE_GLOBALS();

static atomic_t ctor_runs;

static void ctor(void *obj)
{
	atomic_inc(&ctor_runs);
	memcpy(obj, "built", 6);
}

#define FAIL(...) ({ pr_warn(__VA_ARGS__); -EINVAL; })

static int check_cache_life(void)
{
	struct kml_cache *c = kml_cache_create("test_life", 200, 0, 0, ctor);
	struct kml_cache_info info;
	void **objs;
	unsigned int per, i, n;
	int err = 0;

	if (!c)
		return -ENOMEM;
	kml_cache_info(c, &info);
	per = info.objs_per_slab;
	n = 3 * per;
	objs = kcalloc(n, sizeof(void *), GFP_KERNEL);
	if (!objs) {
		kml_cache_destroy(c);
		return -ENOMEM;
	}
	atomic_set(&ctor_runs, 0);
	for (i = 0; i < n && !err; i++) {
		objs[i] = kml_cache_alloc(c, GFP_KERNEL);
		if (!objs[i] || !kml_addr_in_region(objs[i]) || memcmp(objs[i], "built", 6))
			err = FAIL("object %u: %p not constructed, or outside\n", i, objs[i]);
	}
	kml_cache_info(c, &info);
	if (!err && (info.grown != 3 || atomic_read(&ctor_runs) != 3 * per))
		err = FAIL("3 slabs of %u: grown %lu, %d constructor runs\n", per, info.grown,
			   atomic_read(&ctor_runs));
	/* Successive slabs start one cache line apart (colouring). */
	if (!err && info.colours > 1 &&
	    offset_in_page(objs[0]) == offset_in_page(objs[per]))
		err = FAIL("slabs 0 and 1 start at the same offset %lu\n", offset_in_page(objs[0]));
	while (i--)
		kml_cache_free(c, objs[i]);
	/* Freed and allocated again: constructed, with no constructor run. */
	for (i = 0; i < n && !err; i++) {
		objs[i] = kml_cache_alloc(c, GFP_KERNEL);
		if (!objs[i] || memcmp(objs[i], "built", 6))
			err = FAIL("reused object %u lost its constructed state\n", i);
	}
	if (!err && atomic_read(&ctor_runs) != 3 * per)
		err = FAIL("constructor ran again: %d\n", atomic_read(&ctor_runs));
	while (i--)
		kml_cache_free(c, objs[i]);
	kml_cache_shrink(c);
	kml_cache_info(c, &info);
	if (!err && (info.num_slabs || info.reaped != 3 || info.active_objs))
		err = FAIL("after shrink: %lu slabs, %lu reaped, %lu live\n", info.num_slabs,
			   info.reaped, info.active_objs);
	kfree(objs);
	kml_cache_destroy(c);
	return err;
}

static int check_alignment(void)
{
	struct kml_cache *c = kml_cache_create("test_align", 100, 0, KML_SLAB_HWCACHE_ALIGN, NULL);
	struct kml_cache *d = kml_cache_create("test_align256", 40, 256, 0, NULL);
	void *o[40];
	int i, err = 0;

	if (!c || !d)
		err = -ENOMEM;
	for (i = 0; i < 40 && !err; i++) {
		o[i] = kml_cache_alloc(i % 2 ? c : d, GFP_KERNEL);
		if (!o[i] || !IS_ALIGNED((unsigned long)o[i], i % 2 ? L1_CACHE_BYTES : 256))
			err = FAIL("object %p misaligned\n", o[i]);
		if (!o[i])
			break;
	}
	while (i-- > 0)
		kml_cache_free(i % 2 ? c : d, o[i]);
	kml_cache_destroy(c);
	kml_cache_destroy(d);
	return err;
}

static int check_kmalloc(void)
{
	static const struct { size_t ask, got; } classes[] = {
		{ 1, 8 }, { 9, 16 }, { 33, 64 }, { 65, 96 }, { 97, 128 }, { 129, 192 },
		{ 193, 256 }, { 1000, 1024 }, { 4097, 8192 }, { 8193, 16384 },
	};
	size_t i, n;
	char *p, *q;

	for (i = 0; i < ARRAY_SIZE(classes); i++) {
		p = kml_kmalloc(classes[i].ask, GFP_KERNEL);
		if (!p || kml_ksize(p) != classes[i].got || !kml_addr_in_region(p))
			return FAIL("kmalloc(%zu): ksize %zu, want %zu\n", classes[i].ask,
				    p ? kml_ksize(p) : 0, classes[i].got);
		memset(p, 0x77, classes[i].ask);
		kml_kfree(p);
	}
	p = kml_kzalloc(3000, GFP_KERNEL);
	for (n = 0; p && n < 3000; n++)
		if (p[n])
			return FAIL("kzalloc byte %zu is %d\n", n, p[n]);
	kml_kfree(p);
	if (kml_kcalloc(SIZE_MAX / 2, 4, GFP_KERNEL))
		return FAIL("kcalloc overflow did not fail\n");
	if (kml_kmalloc(0, GFP_KERNEL) != ZERO_SIZE_PTR)
		return FAIL("kmalloc(0) is not ZERO_SIZE_PTR\n");
	kml_kfree(ZERO_SIZE_PTR);
	kml_kfree(NULL);
	p = kml_kmalloc(90, GFP_KERNEL);
	if (!p)
		return -ENOMEM;
	memset(p, 'k', 90);
	q = kml_krealloc(p, 96, GFP_KERNEL);	/* the class still fits: in place */
	if (q != p)
		return FAIL("krealloc within kmalloc-96 moved\n");
	q = kml_krealloc(p, 500, GFP_KERNEL | __GFP_ZERO);
	if (!q || q == p || q[89] != 'k' || q[499])
		return FAIL("krealloc to 500 did not move and keep\n");
	kml_kfree(q);
	/* Beyond the largest general cache: a whole buddy block. */
	p = kml_kmalloc(200 << 10, GFP_KERNEL);
	if (!p || kml_ksize(p) != 256 << 10 || !PAGE_ALIGNED(p))
		return FAIL("kmalloc(200 KiB): ksize %zu\n", p ? kml_ksize(p) : 0);
	kml_kfree(p);
	if (kml_kmalloc(5 << 20, GFP_KERNEL | __GFP_NOWARN))
		return FAIL("kmalloc(5 MiB) above the largest block succeeded\n");
	return 0;
}

/* Each one is refused and reported; debugfs counts them (test_slab.sh). */
static int check_kfree_misuse(void)
{
	char *linux_obj = kmalloc(64, GFP_KERNEL);
	char *mine = kml_kmalloc(64, GFP_KERNEL);
	int local;

	if (!linux_obj || !mine) {
		kfree(linux_obj);
		kml_kfree(mine);
		return -ENOMEM;
	}
	kml_kfree(&local);		/* misuse_kfree: outside the region */
	kml_kfree(linux_obj);		/* misuse_kfree: Linux's kmalloc */
	kml_kfree(mine + 8);		/* misuse_kfree: inside an object */
	kml_kfree(mine);
	kfree(linux_obj);
	return 0;
}

/* The debug checks, each counted in the cache's errors. */
static noinline int check_debug(void)
{
	struct kml_cache *c = kml_cache_create("test_debug", 40, 0, KML_SLAB_DEBUG, NULL);
	struct kml_cache *other = kml_cache_create("test_other", 40, 0, 0, NULL);
	struct kml_cache_info info;
	u8 *a, *b, *x;
	int err = 0;

	if (!c || !other) {
		err = -ENOMEM;
		goto out;
	}
	a = kml_cache_alloc(c, GFP_KERNEL);
	x = kml_cache_alloc(other, GFP_KERNEL);
	if (!a || !x) {
		err = -ENOMEM;
		goto out;
	}
	kml_cache_free(c, a);
	kml_cache_free(c, a);			/* 1: double free */
	a[5] = 0;				/* write after free ... */
	b = kml_cache_alloc(c, GFP_KERNEL);	/* 2: ... found on allocation */
	if (b != a)
		err = FAIL("the debug cache did not hand the same object back\n");
	b[40] = 1;				/* write past the end ... */
	kml_cache_free(c, b);			/* 3: ... found on free */
	kml_cache_free(c, x);			/* 4: another cache's object */
	b = kml_cache_alloc(c, GFP_KERNEL);
	kml_cache_free(c, b + 4);		/* 5: inside an object */
	kml_cache_info(c, &info);
	if (!err && info.errors != 5)
		err = FAIL("debug cache counted %lu errors, want 5\n", info.errors);
	kml_cache_destroy(c);			/* 6: b still allocated: kept */
	kml_cache_info(c, &info);
	if (!err && (info.errors != 6 || info.num_slabs != 1))
		err = FAIL("destroy with a live object: %lu errors, %lu slabs\n", info.errors,
			   info.num_slabs);
	kml_cache_free(c, b);
	kml_cache_free(other, x);
out:
	kml_cache_destroy(c);
	kml_cache_destroy(other);
	return err;
}

/* ---- one behaviour per check= ---- */

static char *check = "";
module_param(check, charp, 0444);
MODULE_PARM_DESC(check, "run this one check (test_slab.sh's names) instead of the basic ones");

static bool all_bytes(const void *p, int v, size_t n)
{
	return !memchr_inv(p, v, n);
}

/* The region's every page, held in a chain through the pages themselves. */
struct fill {
	struct page *head;
	unsigned long n;
};

static void fill_region(struct fill *f)
{
	struct page *p;

	while ((p = kml_alloc_pages(GFP_KERNEL | __GFP_NOWARN, 0))) {
		*(struct page **)page_address(p) = f->head;
		f->head = p;
		f->n++;
	}
}

/* Gives back all but @keep of the held pages. */
static void unfill(struct fill *f, unsigned long keep)
{
	while (f->n > keep) {
		struct page *p = f->head;

		f->head = *(struct page **)page_address(p);
		f->n--;
		kml___free_pages(p, 0);
	}
}

/* Allocations and frees from an atomic context, as the kernel allows them. */
struct ctx_work {
	struct kml_cache *c;
	void *obj, *kobj;	/* allocated in process context, freed there */
	bool ok_ctx, ok_alloc;
	struct completion done;
	struct timer_list timer;
	struct hrtimer hrt;
	struct rcu_head rcu;
};

static void ctx_body(struct ctx_work *w, bool ctx)
{
	void *a = kml_cache_alloc(w->c, GFP_ATOMIC);
	void *b = kml_kmalloc(300, GFP_ATOMIC);
	void *z = kml_kzalloc(5000, GFP_NOWAIT);

	w->ok_ctx = ctx;
	w->ok_alloc = a && b && z && memcmp(a, "built", 6) == 0 && all_bytes(z, 0, 5000);
	kml_cache_free(w->c, a);
	kml_kfree(b);
	kml_kfree(z);
	kml_cache_free(w->c, w->obj);
	kml_kfree(w->kobj);
}

static void ctx_timer(struct timer_list *t)
{
	struct ctx_work *w = from_timer(w, t, timer);

	ctx_body(w, in_softirq() && !in_hardirq());
	complete(&w->done);
}

static enum hrtimer_restart ctx_hrtimer(struct hrtimer *t)
{
	struct ctx_work *w = container_of(t, struct ctx_work, hrt);

	ctx_body(w, in_hardirq());
	complete(&w->done);
	return HRTIMER_NORESTART;
}

static void ctx_rcu(struct rcu_head *head)
{
	struct ctx_work *w = container_of(head, struct ctx_work, rcu);

	ctx_body(w, !in_task() || IS_ENABLED(CONFIG_RCU_NOCB_CPU) || IS_ENABLED(CONFIG_PREEMPT_RT));
	complete(&w->done);
}

static int check_context(const char *how)
{
	struct ctx_work *w = kzalloc(sizeof(*w), GFP_KERNEL);
	int err = 0;

	if (!w)
		return -ENOMEM;
	w->c = kml_cache_create("test_ctx", 200, 0, 0, ctor);
	w->obj = w->c ? kml_cache_alloc(w->c, GFP_KERNEL) : NULL;
	w->kobj = kml_kmalloc(700, GFP_KERNEL);
	if (!w->obj || !w->kobj) {
		err = -ENOMEM;
		goto out;
	}
	init_completion(&w->done);
	if (!strcmp(how, "softirq")) {
		timer_setup(&w->timer, ctx_timer, 0);
		mod_timer(&w->timer, jiffies + 1);
		wait_for_completion(&w->done);
		del_timer_sync(&w->timer);
	} else if (!strcmp(how, "hardirq")) {
		hrtimer_init(&w->hrt, CLOCK_MONOTONIC, HRTIMER_MODE_REL_HARD);
		w->hrt.function = ctx_hrtimer;
		hrtimer_start(&w->hrt, ms_to_ktime(1), HRTIMER_MODE_REL_HARD);
		wait_for_completion(&w->done);
		hrtimer_cancel(&w->hrt);
	} else {
		call_rcu(&w->rcu, ctx_rcu);
		wait_for_completion(&w->done);
	}
	w->obj = NULL;
	w->kobj = NULL;
	if (!w->ok_ctx)
		err = FAIL("%s: the callback did not run in that context\n", how);
	else if (!w->ok_alloc)
		err = FAIL("%s: an atomic allocation failed or was not constructed/zeroed\n", how);
out:
	kml_kfree(w->kobj);
	if (w->obj)
		kml_cache_free(w->c, w->obj);
	kml_cache_destroy(w->c);
	kfree(w);
	return err;
}

/*
 * init_on_alloc / init_on_free as test_slab.sh set them: @alloc and @free
 * are what kmemlab's parameters say now. Objects are freed and taken back
 * on one CPU (migrate_disable), so the magazine hands the same one back.
 */
static int check_init(bool alloc, bool free)
{
	struct kml_cache *c = kml_cache_create("test_init", 64, 0, 0, NULL);
	struct kml_cache *b = kml_cache_create("test_init_ctor", 64, 0, 0, ctor);
	struct kml_cache *r = kml_kmem_cache_create("test_init_rcu", 64, 0, SLAB_TYPESAFE_BY_RCU,
						    NULL);
	u8 *o = NULL, *p = NULL;
	int err = 0;

	if (!c || !b || !r) {
		err = -ENOMEM;
		goto out;
	}
	migrate_disable();
	o = kml_cache_alloc(c, GFP_KERNEL);
	if (o) {
		memset(o, 0xaa, 64);
		kml_cache_free(c, o);
		p = kml_cache_alloc(c, GFP_KERNEL);
	}
	migrate_enable();
	if (!o || p != o)
		err = FAIL("init: the magazine did not hand the same object back\n");
	else if (alloc || free ? !all_bytes(p, 0, 64) : !all_bytes(p, 0xaa, 64))
		err = FAIL("init_on_alloc=%d init_on_free=%d: object reads %#x\n", alloc, free, *p);
	if (p)
		kml_cache_free(c, p);
	/* A constructor's object: never zeroed by policy. */
	o = kml_cache_alloc(b, GFP_KERNEL);
	if (!err && (!o || memcmp(o, "built", 6)))
		err = FAIL("init: a constructed object was zeroed\n");
	if (o)
		kml_cache_free(b, o);
	o = kml_cache_alloc(b, GFP_KERNEL);
	if (!err && (!o || memcmp(o, "built", 6)))
		err = FAIL("init: a constructed object was zeroed on free\n");
	if (o)
		kml_cache_free(b, o);
	/* Type-safe by RCU: never by policy, always for __GFP_ZERO. */
	migrate_disable();
	o = kml_cache_alloc(r, GFP_KERNEL);
	if (o) {
		memset(o, 0x5a, 64);
		kml_cache_free(r, o);
		p = kml_cache_alloc(r, GFP_KERNEL);
	}
	migrate_enable();
	if (!err && (!o || p != o || !all_bytes(p, 0x5a, 64)))
		err = FAIL("init: a type-safe object was touched between free and allocation\n");
	if (o && p == o)
		kml_cache_free(r, p);
	o = kml_cache_zalloc(r, GFP_KERNEL);
	if (!err && (!o || !all_bytes(o, 0, 64)))
		err = FAIL("init: kmem_cache_zalloc of a type-safe cache did not zero\n");
	if (o)
		kml_cache_free(r, o);
	/* kmalloc, a general cache and a large block: the same policy. */
	if (!err && alloc) {
		size_t sizes[] = { 100, 200 << 10 };
		int i;

		for (i = 0; i < 2 && !err; i++) {
			o = kml_kmalloc(sizes[i], GFP_KERNEL);
			if (!o)
				return -ENOMEM;
			memset(o, 0xaa, sizes[i]);
			kml_kfree(o);
			o = kml_kmalloc(sizes[i], GFP_KERNEL);
			if (!o || !all_bytes(o, 0, sizes[i]))
				err = FAIL("init_on_alloc: kmalloc(%zu) not zeroed\n", sizes[i]);
			kml_kfree(o);
		}
	}
out:
	kml_cache_destroy(c);
	kml_cache_destroy(b);
	kml_cache_destroy(r);
	return err;
}

/* Failures with __GFP_NOWARN print nothing (test_slab.sh counts lines). */
static int check_nowarn(void)
{
	struct kml_cache *c = kml_cache_create("test_nowarn", 512, 0, 0, NULL);
	struct fill f = {};
	void *objs[64];
	int err = 0;

	if (!c)
		return -ENOMEM;
	if (kml_kmalloc(5 << 20, GFP_KERNEL | __GFP_NOWARN))
		err = FAIL("kmalloc(5 MiB) succeeded\n");
	fill_region(&f);
	if (!err && kml_cache_alloc(c, GFP_KERNEL | __GFP_NOWARN))
		err = FAIL("a full region served a new slab\n");
	if (!err && kml_kmalloc(300 << 10, GFP_ATOMIC | __GFP_NOWARN))
		err = FAIL("a full region served a large kmalloc\n");
	if (!err && kml_cache_alloc_bulk(c, GFP_KERNEL | __GFP_NOWARN, 64, objs))
		err = FAIL("a full region served a bulk allocation\n");
	unfill(&f, 0);
	kml_cache_destroy(c);
	return err;
}

/* Without __GFP_NOWARN, one failure prints one line. */
static int check_warn(void)
{
	if (kml_kmalloc(5 << 20, GFP_KERNEL))
		return FAIL("kmalloc(5 MiB) succeeded\n");
	return 0;
}

/* Zones the region cannot supply are refused with a report (gfp_refused). */
static int check_gfp_refused(void)
{
	struct kml_cache *c = kml_cache_create("test_gfp", 64, 0, 0, NULL);
	int err = 0;

	if (!c)
		return -ENOMEM;
	if (kml_kmalloc(64, GFP_KERNEL | __GFP_DMA))
		err = FAIL("kmalloc(__GFP_DMA) was served\n");
	if (kml_cache_alloc(c, GFP_KERNEL | __GFP_DMA32))
		err = FAIL("kmem_cache_alloc(__GFP_DMA32) was served\n");
	kml_cache_destroy(c);
	return err;
}

/* __GFP_NOFAIL waits for memory that another context frees later. */
struct nofail_free {
	struct delayed_work dw;
	struct fill f;
};

static void nofail_giveback(struct work_struct *w)
{
	struct nofail_free *nf = container_of(to_delayed_work(w), struct nofail_free, dw);

	unfill(&nf->f, 0);
}

static int check_nofail(void)
{
	struct kml_cache *c = kml_cache_create("test_nofail", 1024, 0, 0, NULL);
	struct nofail_free nf = {};
	void *o;
	int err = 0, tries;

	if (!c)
		return -ENOMEM;
	INIT_DELAYED_WORK(&nf.dw, nofail_giveback);
	/* Full: a probe fails (reclaim runs inside; fill again what it found). */
	for (tries = 0; tries < 3; tries++) {
		fill_region(&nf.f);
		o = kml_cache_alloc(c, GFP_KERNEL | __GFP_NOWARN);
		if (!o)
			break;
		kml_cache_free(c, o);
	}
	if (tries == 3) {
		unfill(&nf.f, 0);
		kml_cache_destroy(c);
		return FAIL("nofail: the region never ran full\n");
	}
	schedule_delayed_work(&nf.dw, msecs_to_jiffies(100));
	o = kml_cache_alloc(c, GFP_KERNEL | __GFP_NOFAIL);
	flush_delayed_work(&nf.dw);
	if (!o)
		err = FAIL("__GFP_NOFAIL returned NULL\n");
	else
		kml_cache_free(c, o);
	kml_cache_destroy(c);
	return err;
}

/* Bulk allocation: all or nothing, nothing kept on failure. */
static int check_bulk(void)
{
	struct kml_cache *c = kml_cache_create("test_bulk", 256, 0, 0, NULL);
	struct kml_cache_info info;
	struct fill f = {};
	void *objs[64] = {};
	int err = 0, i, n;

	if (!c)
		return -ENOMEM;
	kml_cache_info(c, &info);
	n = 2 * info.objs_per_slab;	/* two slabs' worth: 32 */
	if (n > 64 || info.order) {
		kml_cache_destroy(c);
		return FAIL("bulk: unexpected geometry %u per slab, order %u\n",
			    info.objs_per_slab, info.order);
	}
	fill_region(&f);
	unfill(&f, f.n - 1);		/* room for one slab, not two */
	if (kml_cache_alloc_bulk(c, GFP_KERNEL | __GFP_NOWARN, n, objs))
		err = FAIL("bulk: %d objects from one free page\n", n);
	kml_cache_info(c, &info);
	if (!err && info.active_objs)
		err = FAIL("bulk: failure kept %lu objects\n", info.active_objs);
	unfill(&f, 0);
	if (!err && kml_cache_alloc_bulk(c, GFP_KERNEL, n, objs) != n)
		err = FAIL("bulk: %d objects not served from a free region\n", n);
	for (i = 0; !err && i < n; i++)
		if (!objs[i] || !kml_addr_in_region(objs[i]) || (i && objs[i] == objs[i - 1]))
			err = FAIL("bulk: object %d is %p\n", i, objs[i]);
	kml_cache_info(c, &info);
	if (!err && info.active_objs != n)
		err = FAIL("bulk: %lu objects live, want %d\n", info.active_objs, n);
	if (objs[0])
		kml_cache_free_bulk(c, n, objs);
	kml_cache_info(c, &info);
	if (!err && info.active_objs)
		err = FAIL("bulk: %lu objects live after kmem_cache_free_bulk\n", info.active_objs);
	kml_cache_destroy(c);
	return err;
}

/* SLAB_TYPESAFE_BY_RCU: reuse at once, pages back after a grace period. */
struct typed {
	char stamp[6];		/* the constructor's */
	int key;
	char rest[2048 - 12];
};

static void typed_ctor(void *p)
{
	memcpy(((struct typed *)p)->stamp, "built", 6);
}

static int check_typesafe(void)
{
	struct kml_cache *c = kml_kmem_cache_create("test_typesafe", sizeof(struct typed), 0,
						    SLAB_TYPESAFE_BY_RCU, typed_ctor);
	struct kml_cache_info info;
	struct typed **objs, *o, *p = NULL;
	unsigned long reaped;
	int err = 0, i, n;

	if (!c)
		return -ENOMEM;
	/*
	 * Enough frees that two slabs empty even if every object the CPUs'
	 * magazines and the depot keep is in a slab of its own.
	 */
	kml_cache_info(c, &info);
	n = ((2 * num_online_cpus() + info.depot_max) * info.magazine + 2) *
	    info.objs_per_slab;
	objs = kvmalloc_array(n, sizeof(*objs), GFP_KERNEL);
	if (!objs) {
		kml_cache_destroy(c);
		return -ENOMEM;
	}
	migrate_disable();
	o = kml_cache_alloc(c, GFP_KERNEL);
	if (o) {
		o->key = 42;
		kml_cache_free(c, o);
		p = kml_cache_alloc(c, GFP_KERNEL);	/* at once: the same object */
	}
	migrate_enable();
	if (!o || p != o || memcmp(p->stamp, "built", 6) || p->key != 42)
		err = FAIL("typesafe: freed and reallocated object is %p (was %p), key %d\n",
			   p, o, p ? p->key : -1);
	if (p)
		kml_cache_free(c, p);
	for (i = 0; i < n; i++) {
		objs[i] = kml_cache_alloc(c, GFP_KERNEL);
		if (!objs[i])
			break;
	}
	if (i < n) {
		while (i--)
			kml_cache_free(c, objs[i]);
		kvfree(objs);
		kml_cache_destroy(c);
		return -ENOMEM;
	}
	kml_cache_info(c, &info);
	reaped = info.reaped;
	rcu_read_lock();
	for (i = 0; i < n; i++)	/* empty slabs beyond the one kept are released */
		kml_cache_free(c, objs[i]);
	kml_cache_info(c, &info);
	if (!err && !info.rcu_pending)
		err = FAIL("typesafe: no slab waits for the grace period\n");
	if (!err && info.reaped != reaped)
		err = FAIL("typesafe: slabs went back inside a read-side section\n");
	/* Still an object of this cache for a reader that found it before. */
	if (!err && (memcmp(objs[0]->stamp, "built", 6) || !kml_addr_in_region(objs[0])))
		err = FAIL("typesafe: a released object lost its type\n");
	rcu_read_unlock();
	synchronize_rcu();
	rcu_barrier();
	kml_cache_info(c, &info);
	if (!err && (info.rcu_pending || info.reaped == reaped))
		err = FAIL("typesafe: after the grace period %lu slabs wait, %lu reaped\n",
			   info.rcu_pending, info.reaped - reaped);
	kvfree(objs);
	kml_cache_destroy(c);
	return err;
}

/* kvfree_call_rcu: freed after a grace period, not before. */
struct rcu_obj {
	int x;
	struct rcu_head rcu;
	char pad[100];
};

static int check_kfree_rcu(void)
{
	struct kml_cache *c = kml_cache_create("test_kfree_rcu", sizeof(struct rcu_obj), 0, 0,
					       NULL);
	struct kml_cache_info info;
	struct rcu_obj *o;
	char *k, *l;
	int err = 0;

	if (!c)
		return -ENOMEM;
	o = kml_cache_alloc(c, GFP_KERNEL);
	k = kml_kmalloc(200, GFP_KERNEL);
	l = kml_kmalloc(200 << 10, GFP_KERNEL);
	if (!o || !k || !l) {
		err = -ENOMEM;
		goto out;
	}
	rcu_read_lock();
	kml_kvfree_call_rcu(&o->rcu, o);
	kml_kvfree_call_rcu((struct rcu_head *)(k + 64), k);
	kml_kvfree_call_rcu((struct rcu_head *)(l + (100 << 10)), l);
	kml_cache_info(c, &info);
	if (info.active_objs != 1)
		err = FAIL("kfree_rcu: freed inside the read-side section\n");
	rcu_read_unlock();
	rcu_barrier();
	kml_cache_info(c, &info);
	if (!err && info.active_objs)
		err = FAIL("kfree_rcu: not freed after rcu_barrier\n");
	/* The single-argument form waits itself. */
	o = kml_cache_alloc(c, GFP_KERNEL);
	if (!o) {
		err = -ENOMEM;
		goto out;
	}
	kml_kvfree_rcu_mightsleep(o);
	kml_cache_info(c, &info);
	if (!err && info.active_objs)
		err = FAIL("kvfree_rcu_mightsleep: not freed when it returned\n");
	k = NULL;
	l = NULL;
	o = NULL;
out:
	kml_kfree(k);
	kml_kfree(l);
	if (o)
		kml_cache_free(c, o);
	kml_cache_destroy(c);
	return err;
}

/* kmem_cache_create with the kernel's SLAB_* flags. */
static int check_kernel_flags(void)
{
	slab_flags_t ok = SLAB_HWCACHE_ALIGN | SLAB_ACCOUNT | SLAB_RECLAIM_ACCOUNT |
			  SLAB_NOLEAKTRACE | SLAB_TYPESAFE_BY_RCU | SLAB_PANIC;
	struct kml_cache *c, *d;
	void *o;
	int err = 0, ret;

#ifdef SLAB_MEM_SPREAD
	ok |= SLAB_MEM_SPREAD;
#endif
#ifdef SLAB_NO_MERGE
	ok |= SLAB_NO_MERGE;
#endif
	c = kml_kmem_cache_create("test_kflags", 100, 0, ok, NULL);
	o = c ? kml_cache_alloc(c, GFP_KERNEL) : NULL;
	if (!o || !IS_ALIGNED((unsigned long)o, L1_CACHE_BYTES) || kml_cache_size(c) != 100)
		err = FAIL("kernel flags %#x refused, or not honoured\n", (__force u32)ok);
	if (o)
		kml_cache_free(c, o);
	kml_cache_destroy(c);
	if (kml_kmem_cache_create("test_kdma", 100, 0, SLAB_CACHE_DMA, NULL) ||
	    kml_kmem_cache_create("test_kdma32", 100, 0, SLAB_CACHE_DMA32, NULL) ||
	    kml_kmem_cache_create("test_kunknown", 100, 0, (__force slab_flags_t)0x80000000U,
				  NULL))
		err = FAIL("SLAB_CACHE_DMA, _DMA32 or an unknown flag accepted\n");
	ret = kml_cache_create_err("test_kerr", 100, 0, KML_SLAB_ALL + 1, NULL, &d);
	if (ret != -EINVAL || d)
		err = FAIL("kml_cache_create_err(unknown flag): %d\n", ret);
	ret = kml_cache_create_err("test_kerr", 100, 0, 0, NULL, &d);
	if (ret || !d)
		err = FAIL("kml_cache_create_err: %d\n", ret);
	ret = kml_cache_create_err("test_kerr", 100, 0, 0, NULL, &c);
	if (ret != -EEXIST)
		err = FAIL("kml_cache_create_err(a taken name): %d\n", ret);
	kml_cache_destroy(d);
	return err;
}

/* The new calls' bad input: reported and counted (misuse_kfree), no damage. */
static int check_new_misuse(void)
{
	struct kml_cache *c = kml_cache_create("test_bulk_misuse", 64, 0, 0, NULL);
	struct kml_cache *other = kml_cache_create("test_bulk_other", 64, 0, 0, NULL);
	char *linux_obj = kmalloc(64, GFP_KERNEL);
	struct kml_cache_info info;
	struct rcu_head on_stack;
	void *pair[2] = {};
	char *mine;
	int local, err = 0;

	mine = kml_kmalloc(64, GFP_KERNEL);
	if (!c || !other || !linux_obj || !mine) {
		err = -ENOMEM;
		goto out;
	}
	kml_kfree_sensitive(&local);			/* 1: outside the region */
	kml_kvfree_call_rcu(&on_stack, mine);		/* 2: the head is not in the object */
	kml_kvfree_call_rcu((struct rcu_head *)linux_obj, linux_obj);	/* 3: Linux's */
	if (kml_krealloc(linux_obj, 128, GFP_KERNEL))	/* 4: Linux's */
		err = FAIL("krealloc of a foreign pointer succeeded\n");
	pair[0] = kml_cache_alloc(other, GFP_KERNEL);
	pair[1] = kml_cache_alloc(c, GFP_KERNEL);
	kml_cache_free_bulk(c, 2, pair);		/* the first is another cache's */
	kml_cache_info(c, &info);
	if (!err && (info.errors != 1 || info.active_objs))
		err = FAIL("free_bulk with another cache's object: %lu errors, %lu live\n",
			   info.errors, info.active_objs);
	kml_cache_free(other, pair[0]);
	rcu_barrier();
out:
	kml_kfree(mine);
	kfree(linux_obj);
	kml_cache_destroy(c);
	kml_cache_destroy(other);
	return err;
}

/* Objects through @arg's cache on the CPU this runs on (work_on_cpu). */
static long cpu_traffic(void *arg)
{
	struct kml_cache *c = arg;
	void *objs[32];
	int i;

	for (i = 0; i < ARRAY_SIZE(objs); i++)
		objs[i] = kml_cache_alloc(c, GFP_KERNEL);
	for (i = 0; i < ARRAY_SIZE(objs); i++)
		if (objs[i])
			kml_cache_free(c, objs[i]);
	return 0;
}

/* A CPU that goes offline gives back what its magazines held. */
static int check_hotplug(void)
{
	unsigned int cpu = cpumask_last(cpu_online_mask);
	struct kml_cache *c = kml_cache_create("test_hotplug", 100, 0, 0, NULL);
	struct kml_cache_info info;
	int err = 0, ret;

	if (!c)
		return -ENOMEM;
	work_on_cpu(cpu, cpu_traffic, c);
	kml_cache_info(c, &info);
	if (!info.cached)
		err = FAIL("hotplug: cpu %u's magazines hold nothing\n", cpu);
	ret = err ? 0 : remove_cpu(cpu);
	if (ret)
		err = FAIL("hotplug: cpu %u did not go offline: %d\n", cpu, ret);
	if (!err) {
		kml_cache_info(c, &info);
		if (info.cached || info.active_objs)
			err = FAIL("hotplug: cpu %u died, %lu objects cached, %lu in use\n",
				   cpu, info.cached, info.active_objs);
		ret = add_cpu(cpu);
		if (ret)
			err = FAIL("hotplug: cpu %u did not come back: %d\n", cpu, ret);
	}
	if (!err) {
		work_on_cpu(cpu, cpu_traffic, c);	/* and works again */
		kml_cache_info(c, &info);
		if (info.active_objs || !info.cached)
			err = FAIL("hotplug: back online, %lu objects in use, %lu cached\n",
				   info.active_objs, info.cached);
	}
	kml_cache_destroy(c);
	return err;
}

static int __init run_check(const char *name)
{
	if (!strcmp(name, "softirq") || !strcmp(name, "hardirq") || !strcmp(name, "rcu"))
		return check_context(name);
	if (!strcmp(name, "init_on_alloc"))
		return check_init(true, false);
	if (!strcmp(name, "init_on_free"))
		return check_init(false, true);
	if (!strcmp(name, "init_off"))
		return check_init(false, false);
	if (!strcmp(name, "nowarn"))
		return check_nowarn();
	if (!strcmp(name, "warn"))
		return check_warn();
	if (!strcmp(name, "gfp_refused"))
		return check_gfp_refused();
	if (!strcmp(name, "nofail"))
		return check_nofail();
	if (!strcmp(name, "bulk"))
		return check_bulk();
	if (!strcmp(name, "typesafe"))
		return check_typesafe();
	if (!strcmp(name, "kfree_rcu"))
		return check_kfree_rcu();
	if (!strcmp(name, "kernel_flags"))
		return check_kernel_flags();
	if (!strcmp(name, "new_misuse"))
		return check_new_misuse();
	if (!strcmp(name, "hotplug"))
		return check_hotplug();
	return FAIL("check=%s: no such check\n", name);
}

static void __init selftest(void)
{
	if (*check) {
		KSTM_CHECK_ZERO(run_check(check));
		return;
	}
	KSTM_CHECK_ZERO(check_cache_life());
	KSTM_CHECK_ZERO(check_alignment());
	KSTM_CHECK_ZERO(check_kmalloc());
	KSTM_CHECK_ZERO(check_kfree_misuse());
	KSTM_CHECK_ZERO(check_debug());
}

KSTM_MODULE_LOADERS(test_kmemlab_slab);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("kmemlab slab and kmalloc checks, run at load");
