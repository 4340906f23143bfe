// SPDX-License-Identifier: GPL-2.0
/*
 * test_kmemlab_slab - checks of kmemlab's kmem_cache and kmalloc families,
 * run at load; loading succeeds only when every check passes
 * (kselftest_module.h). The misuse checks provoke reports on purpose.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/module.h>
#include <linux/mm.h>
#include <linux/slab.h>
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

static void __init selftest(void)
{
	KSTM_CHECK_ZERO(check_cache_life());
	KSTM_CHECK_ZERO(check_alignment());
	KSTM_CHECK_ZERO(check_kmalloc());
	KSTM_CHECK_ZERO(check_kfree_misuse());
	KSTM_CHECK_ZERO(check_debug());
}

KSTM_MODULE_LOADERS(test_kmemlab_slab);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("kmemlab slab and kmalloc checks, run at load");
