// SPDX-License-Identifier: GPL-2.0
/*
 * slab_api.c - the kmem_cache and kmalloc families over kmemlab's slab
 * core (core/slab.c), their module parameters and their debugfs views:
 *
 *   slabinfo            as /proc/slabinfo version 2.1, every cache
 *   slab/NAME/geometry  object size, stride, align, order, objects per slab,
 *                       colours, magazine, constructor, flags
 *   slab/NAME/stats     counters: fast and slow allocs and frees, slabs
 *                       grown and reaped, live and per-CPU cached objects
 *   slab/NAME/validate  reading walks the cache and prints what is wrong
 */
#include <linux/debugfs.h>
#include <linux/export.h>
#include <linux/moduleparam.h>
#include <linux/overflow.h>
#include <linux/seq_file.h>
#include <linux/slab.h>
#include "kmemlab_internal.h"
#include "include/kmemlab.h"

static char *slab_debug = "";
module_param(slab_debug, charp, 0444);
MODULE_PARM_DESC(slab_debug, "debug every cache, as slub_debug: F (checks) Z (red zones) P (poison) U (owners), e.g. FZPU");

static unsigned int kmalloc_max = 8192;
module_param(kmalloc_max, uint, 0444);
MODULE_PARM_DESC(kmalloc_max, "largest general cache, a power of two from 8192 (Linux's SLUB) to 131072 (the old SLAB)");

struct kml_slab_sys kml_slab;
static DEFINE_MUTEX(dirs_lock);		/* slab_dir and cache_dirs */
static struct dentry *slab_dir;		/* NULL until debugfs is up */
static struct dentry *cache_dirs[KML_MAX_CACHES];

static int cache_dir_add(struct kml_cache *c, void *unused);

int kml_slab_api_init(void)
{
	unsigned int flags = 0;
	const char *p;
	int err;

	/* F, Z, P, U are KML_SLAB_CONSISTENCY, _RED_ZONE, _POISON, _STORE_USER. */
	for (p = slab_debug; *p; p++) {
		const char *f = strchr("FZPU", *p);

		if (!f) {
			pr_err("kmemlab: slab_debug=%s: '%c' is not one of F, Z, P, U\n",
			       slab_debug, *p);
			return -EINVAL;
		}
		flags |= 1u << (f - "FZPU");
	}
	err = kml_slab_init(&kml_slab, &kml_buddy, flags, kmalloc_max);
	if (err == -EINVAL)
		pr_err("kmemlab: kmalloc_max=%u: a power of two from 8192 to 131072 whose objects, with slab_debug's metadata, fit a max-order block\n",
		       kmalloc_max);
	else if (err)
		pr_err("kmemlab: slab layer: error %d setting up the caches\n", err);
	return err;
}

/* debugfs slab/: a directory for every cache, now and as they come. */
void kml_slab_debugfs_init(struct dentry *dir)
{
	mutex_lock(&dirs_lock);
	slab_dir = debugfs_create_dir("slab", dir);
	mutex_unlock(&dirs_lock);
	/* A cache created meanwhile gets its directory once, from either side. */
	kml_slab_for_each(&kml_slab, cache_dir_add, NULL);
}

void kml_slab_debugfs_exit(void)
{
	mutex_lock(&dirs_lock);
	debugfs_remove_recursive(slab_dir);
	slab_dir = NULL;
	memset(cache_dirs, 0, sizeof(cache_dirs));
	mutex_unlock(&dirs_lock);
}

void kml_slab_api_exit(void)
{
	kml_slab_exit(&kml_slab);
}

/* ---- the API ---- */

int kml_cache_create_err(const char *name, unsigned int size, unsigned int align,
			 unsigned int flags, void (*ctor)(void *), struct kml_cache **cp)
{
	int err;

	*cp = NULL;
	if (!name || !*name || strlen(name) >= KML_CACHE_NAME || strchr(name, '/') ||
	    (flags & ~(KML_SLAB_DEBUG | KML_SLAB_HWCACHE_ALIGN))) {
		pr_err_ratelimited("kmemlab: kml_cache_create: bad name or flags %#x\n", flags);
		return -EINVAL;
	}
	err = kml_slab_create(&kml_slab, name, size, align, flags, ctor, cp);
	if (err == -EEXIST)
		pr_err_ratelimited("kmemlab: kml_cache_create: a cache named %s exists\n", name);
	else if (err)
		pr_err_ratelimited("kmemlab: kml_cache_create(%s, %u, %u): error %d\n", name, size,
				   align, err);
	if (err)
		return err;
	cache_dir_add(*cp, NULL);
	return 0;
}

struct kml_cache *kml_cache_create(const char *name, unsigned int size, unsigned int align,
				   unsigned int flags, void (*ctor)(void *))
{
	struct kml_cache *c;

	return kml_cache_create_err(name, size, align, flags, ctor, &c) ? NULL : c;
}
EXPORT_SYMBOL_GPL(kml_cache_create);

void kml_cache_destroy(struct kml_cache *c)
{
	struct kml_cache_geometry g;

	if (!c)
		return;
	kml_slab_geometry(c, &g);
	/* Open debugfs files pin nothing: remove them before the descriptor goes. */
	mutex_lock(&dirs_lock);
	debugfs_remove_recursive(cache_dirs[g.id]);
	cache_dirs[g.id] = NULL;
	mutex_unlock(&dirs_lock);
	if (kml_slab_destroy(c))
		cache_dir_add(c, NULL);	/* kept, with its live objects */
}
EXPORT_SYMBOL_GPL(kml_cache_destroy);

void *kml_cache_alloc(struct kml_cache *c, gfp_t gfp)
{
	return kml_slab_alloc(c, gfp & __GFP_ZERO ? KML_INIT_ZERO : 0, __builtin_return_address(0));
}
EXPORT_SYMBOL_GPL(kml_cache_alloc);

void kml_cache_free(struct kml_cache *c, void *obj)
{
	kml_slab_free(c, obj, 0, __builtin_return_address(0));
}
EXPORT_SYMBOL_GPL(kml_cache_free);

int kml_cache_shrink(struct kml_cache *c)
{
	kml_slab_shrink(c);
	return 0;
}
EXPORT_SYMBOL_GPL(kml_cache_shrink);

void kml_cache_info(struct kml_cache *c, struct kml_cache_info *info)
{
	struct kml_cache_geometry g;
	struct kml_cache_stats st;

	kml_slab_stats(c, &st);
	kml_slab_geometry(c, &g);
	info->object_size = g.object_size;
	info->size = g.size;
	info->order = g.order;
	info->objs_per_slab = g.objs;
	info->colours = g.colours;
	/* cpu_cached is read without the cache lock: never go below zero */
	info->active_objs = st.active_objs > st.cpu_cached ? st.active_objs - st.cpu_cached : 0;
	info->num_slabs = st.num_slabs;
	info->grown = st.grown;
	info->reaped = st.reaped;
	info->errors = st.errors;
}
EXPORT_SYMBOL_GPL(kml_cache_info);

void *kml_kmalloc(size_t size, gfp_t gfp)
{
	return kml_slab_kmalloc(&kml_slab, size, gfp & __GFP_ZERO ? KML_INIT_ZERO : 0,
				__builtin_return_address(0));
}
EXPORT_SYMBOL_GPL(kml_kmalloc);

void *kml_kzalloc(size_t size, gfp_t gfp)
{
	return kml_slab_kmalloc(&kml_slab, size, KML_INIT_ZERO, __builtin_return_address(0));
}
EXPORT_SYMBOL_GPL(kml_kzalloc);

void *kml_kcalloc(size_t n, size_t size, gfp_t gfp)
{
	size_t bytes;

	if (check_mul_overflow(n, size, &bytes))
		return NULL;
	return kml_slab_kmalloc(&kml_slab, bytes, KML_INIT_ZERO, __builtin_return_address(0));
}
EXPORT_SYMBOL_GPL(kml_kcalloc);

void *kml_krealloc(const void *p, size_t size, gfp_t gfp)
{
	return kml_slab_krealloc(&kml_slab, p, size, gfp & __GFP_ZERO ? KML_INIT_ZERO : 0,
				 __builtin_return_address(0));
}
EXPORT_SYMBOL_GPL(kml_krealloc);

size_t kml_ksize(const void *p)
{
	return kml_slab_ksize(&kml_slab, p);
}
EXPORT_SYMBOL_GPL(kml_ksize);

void kml_kfree(const void *p)
{
	kml_slab_kfree(&kml_slab, p, 0, __builtin_return_address(0));
}
EXPORT_SYMBOL_GPL(kml_kfree);

/* ---- debugfs ---- */

static int slabinfo_row(struct kml_cache *c, void *arg)
{
	struct seq_file *m = arg;
	struct kml_cache_geometry g;
	struct kml_cache_stats st;

	kml_slab_geometry(c, &g);
	kml_slab_stats(c, &st);
	seq_printf(m, "%-17s %6lu %6lu %6u %4u %4d", g.name, st.active_objs, st.num_objs,
		   g.size, g.objs, 1 << g.order);
	seq_printf(m, " : tunables %4u %4u %4u", g.cpu_limit, g.cpu_batch, 0);
	seq_printf(m, " : slabdata %6lu %6lu %6lu\n", st.active_slabs, st.num_slabs, 0ul);
	return 0;
}

int kml_slabinfo_show(struct seq_file *m, void *v)
{
	seq_puts(m, "slabinfo - version: 2.1\n");
	seq_puts(m, "# name            <active_objs> <num_objs> <objsize> <objperslab> <pagesperslab>");
	seq_puts(m, " : tunables <limit> <batchcount> <sharedfactor>");
	seq_puts(m, " : slabdata <active_slabs> <num_slabs> <sharedavail>\n");
	kml_slab_for_each(&kml_slab, slabinfo_row, m);
	return 0;
}

static int geometry_show(struct seq_file *m, void *v)
{
	struct kml_cache_geometry g;
	unsigned int f;

	kml_slab_geometry(m->private, &g);
	f = g.flags;
	seq_printf(m, "name %s\nobject_size %u\nsize %u\nalign %u\n", g.name, g.object_size,
		   g.size, g.align);
	seq_printf(m, "order %u\nobjs_per_slab %u\n", g.order, g.objs);
	seq_printf(m, "waste_per_slab %u\ncolours %u\ncolour_step %u\n", g.waste, g.colours,
		   L1_CACHE_BYTES);
	seq_printf(m, "free_link_offset %u\ntrack_offset %u\n", g.free_off, g.track_off);
	seq_printf(m, "cpu_limit %u\ncpu_batch %u\nempty_max %u\n", g.cpu_limit, g.cpu_batch,
		   g.empty_max);
	if (g.ctor)
		seq_printf(m, "ctor %ps\n", g.ctor);
	else
		seq_puts(m, "ctor none\n");
	seq_printf(m, "flags %s%s%s%s%s\n", f & KML_SLAB_CONSISTENCY ? "F" : "",
		   f & KML_SLAB_RED_ZONE ? "Z" : "", f & KML_SLAB_POISON ? "P" : "",
		   f & KML_SLAB_STORE_USER ? "U" : "", f & KML_SLAB_HWCACHE_ALIGN ? "A" : "");
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(geometry);

static int cache_stats_show(struct seq_file *m, void *v)
{
	struct kml_cache *c = m->private;
	struct kml_cache_geometry g;
	struct kml_cache_stats st;

	kml_slab_stats(c, &st);
	seq_printf(m, "active_objs %lu\nnum_objs %lu\ncpu_cached %lu\n", st.active_objs,
		   st.num_objs, st.cpu_cached);
	seq_printf(m, "slabs_full %lu\nslabs_partial %lu\nslabs_empty %lu\n", st.full,
		   st.partial, st.empty);
	seq_printf(m, "fast_allocs %lu\nfast_frees %lu\nslow_allocs %lu\nslow_frees %lu\n",
		   st.fast_allocs, st.fast_frees, st.slow_allocs, st.slow_frees);
	kml_slab_geometry(c, &g);
	seq_printf(m, "grown %lu\nreaped %lu\nerrors %lu\ndead %d\n", st.grown, st.reaped,
		   st.errors, g.dead);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(cache_stats);

static int cache_validate_show(struct seq_file *m, void *v)
{
	struct kml_cache *c = m->private;
	unsigned long n = kml_slab_validate(c, kml_seq_print, m);
	struct kml_cache_geometry g;

	kml_slab_geometry(c, &g);
	seq_printf(m, "%s: %s", g.name, n ? "" : "ok\n");
	if (n)
		seq_printf(m, "%lu violations\n", n);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(cache_validate);

/* A cache's debugfs directory, unless debugfs is not up yet or it has one. */
static int cache_dir_add(struct kml_cache *c, void *unused)
{
	struct kml_cache_geometry g;
	struct dentry *d;

	kml_slab_geometry(c, &g);
	mutex_lock(&dirs_lock);
	if (slab_dir && !cache_dirs[g.id]) {
		d = debugfs_create_dir(g.name, slab_dir);
		if (!IS_ERR(d)) {
			debugfs_create_file("geometry", 0444, d, c, &geometry_fops);
			debugfs_create_file("stats", 0444, d, c, &cache_stats_fops);
			debugfs_create_file("validate", 0400, d, c, &cache_validate_fops);
			cache_dirs[g.id] = d;
		}
	}
	mutex_unlock(&dirs_lock);
	return 0;
}

struct validate_all {
	struct seq_file *m;
	unsigned long errors;
};

static int validate_one(struct kml_cache *c, void *arg)
{
	struct validate_all *v = arg;

	v->errors += kml_slab_validate(c, kml_seq_print, v->m);
	cond_resched();
	return 0;
}

/* Every cache, for the top-level validate file; returns the violations. */
unsigned long kml_slab_validate_all(struct seq_file *m)
{
	struct validate_all v = { .m = m };

	kml_slab_for_each(&kml_slab, validate_one, &v);
	return v.errors;
}

static int shrink_one(struct kml_cache *c, void *arg)
{
	kml_slab_shrink(c);
	cond_resched();
	return 0;
}

/* Every magazine flushed and every empty slab freed, for debugfs drain. */
void kml_slab_shrink_all(void)
{
	kml_slab_for_each(&kml_slab, shrink_one, NULL);
}
