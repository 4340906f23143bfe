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
static struct dentry *slab_dir;
static struct dentry *cache_dirs[KML_MAX_CACHES];

static void cache_dir_add(struct kml_cache *c);

int kml_slab_api_init(struct dentry *dir)
{
	unsigned int flags = 0, id;
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
	if (err) {
		pr_err("kmemlab: slab layer: error %d: kmalloc_max=%u must be a power of two from 8192 to 131072 whose objects, with slab_debug's metadata, fit a max-order block\n",
		       err, kmalloc_max);
		return err;
	}
	slab_dir = debugfs_create_dir("slab", dir);
	for (id = 0; id < KML_MAX_CACHES; id++)
		if (kml_slab.sys_caches[id])
			cache_dir_add(kml_slab.sys_caches[id]);
	return 0;
}

void kml_slab_api_exit(void)
{
	kml_slab_exit(&kml_slab);
}

/* ---- the API ---- */

static bool name_taken(const char *name)
{
	unsigned long flags;
	unsigned int id;
	bool taken = false;

	spin_lock_irqsave(&kml_slab.sys_lock, flags);
	for (id = 0; id < KML_MAX_CACHES && !taken; id++)
		taken = kml_slab.sys_caches[id] &&
			!strcmp(kml_slab.sys_caches[id]->cache_name, name);
	spin_unlock_irqrestore(&kml_slab.sys_lock, flags);
	return taken;
}

struct kml_cache *kml_cache_create(const char *name, unsigned int size, unsigned int align,
				   unsigned int flags, void (*ctor)(void *))
{
	struct kml_cache *c;

	if (!name || !*name || strlen(name) >= KML_CACHE_NAME || strchr(name, '/') ||
	    (flags & ~(KML_SLAB_DEBUG | KML_SLAB_HWCACHE_ALIGN))) {
		pr_err_ratelimited("kmemlab: %s: bad name or flags %#x\n", __func__, flags);
		return NULL;
	}
	if (name_taken(name)) {
		pr_err_ratelimited("kmemlab: %s: a cache named %s exists\n", __func__, name);
		return NULL;
	}
	c = kml_slab_create(&kml_slab, name, size, align, flags, ctor);
	if (!c) {
		pr_err_ratelimited("kmemlab: %s(%s, %u, %u): cannot\n", __func__, name, size,
				   align);
		return NULL;
	}
	cache_dir_add(c);
	return c;
}
EXPORT_SYMBOL_GPL(kml_cache_create);

void kml_cache_destroy(struct kml_cache *c)
{
	unsigned int id;

	if (!c)
		return;
	id = c->cache_id;
	/* Open debugfs files pin nothing: remove them before the descriptor goes. */
	debugfs_remove_recursive(cache_dirs[id]);
	cache_dirs[id] = NULL;
	if (kml_slab_destroy(c))
		cache_dir_add(c);	/* kept, with its live objects */
}
EXPORT_SYMBOL_GPL(kml_cache_destroy);

void *kml_cache_alloc(struct kml_cache *c, gfp_t gfp)
{
	return kml_slab_alloc(c, gfp & __GFP_ZERO, __builtin_return_address(0));
}
EXPORT_SYMBOL_GPL(kml_cache_alloc);

void kml_cache_free(struct kml_cache *c, void *obj)
{
	kml_slab_free(c, obj, __builtin_return_address(0));
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
	struct kml_cache_stats st;

	kml_slab_stats(c, &st);
	info->object_size = c->cache_object_size;
	info->size = c->cache_size;
	info->order = c->cache_order;
	info->objs_per_slab = c->cache_objs;
	info->colours = c->cache_colours;
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
	return kml_slab_kmalloc(&kml_slab, size, gfp & __GFP_ZERO, __builtin_return_address(0));
}
EXPORT_SYMBOL_GPL(kml_kmalloc);

void *kml_kzalloc(size_t size, gfp_t gfp)
{
	return kml_slab_kmalloc(&kml_slab, size, true, __builtin_return_address(0));
}
EXPORT_SYMBOL_GPL(kml_kzalloc);

void *kml_kcalloc(size_t n, size_t size, gfp_t gfp)
{
	size_t bytes;

	if (check_mul_overflow(n, size, &bytes))
		return NULL;
	return kml_slab_kmalloc(&kml_slab, bytes, true, __builtin_return_address(0));
}
EXPORT_SYMBOL_GPL(kml_kcalloc);

void *kml_krealloc(const void *p, size_t size, gfp_t gfp)
{
	return kml_slab_krealloc(&kml_slab, p, size, gfp & __GFP_ZERO,
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
	kml_slab_kfree(&kml_slab, p, __builtin_return_address(0));
}
EXPORT_SYMBOL_GPL(kml_kfree);

/* ---- debugfs ---- */

int kml_slabinfo_show(struct seq_file *m, void *v)
{
	unsigned long flags;
	unsigned int id;

	seq_puts(m, "slabinfo - version: 2.1\n");
	seq_puts(m, "# name            <active_objs> <num_objs> <objsize> <objperslab> <pagesperslab>");
	seq_puts(m, " : tunables <limit> <batchcount> <sharedfactor>");
	seq_puts(m, " : slabdata <active_slabs> <num_slabs> <sharedavail>\n");
	spin_lock_irqsave(&kml_slab.sys_lock, flags);
	for (id = 0; id < KML_MAX_CACHES; id++) {
		struct kml_cache *c = kml_slab.sys_caches[id];
		struct kml_cache_stats st;

		if (!c)
			continue;
		kml_slab_stats(c, &st);
		seq_printf(m, "%-17s %6lu %6lu %6u %4u %4d", c->cache_name, st.active_objs,
			   st.num_objs, c->cache_size, c->cache_objs, 1 << c->cache_order);
		seq_printf(m, " : tunables %4u %4u %4u", c->cache_cpu_limit,
			   c->cache_cpu_batch, 0);
		seq_printf(m, " : slabdata %6lu %6lu %6lu\n", st.active_slabs, st.num_slabs, 0ul);
	}
	spin_unlock_irqrestore(&kml_slab.sys_lock, flags);
	return 0;
}

static int geometry_show(struct seq_file *m, void *v)
{
	struct kml_cache *c = m->private;
	unsigned int f = c->cache_flags;

	seq_printf(m, "name %s\nobject_size %u\nsize %u\nalign %u\n", c->cache_name,
		   c->cache_object_size, c->cache_size, c->cache_align);
	seq_printf(m, "order %u\nobjs_per_slab %u\n", c->cache_order, c->cache_objs);
	seq_printf(m, "waste_per_slab %lu\ncolours %u\ncolour_step %u\n",
		   (PAGE_SIZE << c->cache_order) - (unsigned long)c->cache_objs * c->cache_size,
		   c->cache_colours, L1_CACHE_BYTES);
	seq_printf(m, "free_link_offset %u\ntrack_offset %u\n", c->cache_free_off,
		   c->cache_track_off);
	seq_printf(m, "cpu_limit %u\ncpu_batch %u\nempty_max %u\n", c->cache_cpu_limit,
		   c->cache_cpu_batch, c->cache_empty_max);
	if (c->cache_ctor)
		seq_printf(m, "ctor %ps\n", c->cache_ctor);
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
	struct kml_cache_stats st;

	kml_slab_stats(c, &st);
	seq_printf(m, "active_objs %lu\nnum_objs %lu\ncpu_cached %lu\n", st.active_objs,
		   st.num_objs, st.cpu_cached);
	seq_printf(m, "slabs_full %lu\nslabs_partial %lu\nslabs_empty %lu\n", st.full,
		   st.partial, st.empty);
	seq_printf(m, "fast_allocs %lu\nfast_frees %lu\nslow_allocs %lu\nslow_frees %lu\n",
		   st.fast_allocs, st.fast_frees, st.slow_allocs, st.slow_frees);
	seq_printf(m, "grown %lu\nreaped %lu\nerrors %lu\ndead %d\n", st.grown, st.reaped,
		   st.errors, c->cache_dead);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(cache_stats);

static int cache_validate_show(struct seq_file *m, void *v)
{
	struct kml_cache *c = m->private;
	unsigned long n = kml_slab_validate(c, kml_seq_print, m);

	seq_printf(m, "%s: %s", c->cache_name, n ? "" : "ok\n");
	if (n)
		seq_printf(m, "%lu violations\n", n);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(cache_validate);

static void cache_dir_add(struct kml_cache *c)
{
	struct dentry *d = debugfs_create_dir(c->cache_name, slab_dir);

	if (IS_ERR(d))
		return;
	debugfs_create_file("geometry", 0444, d, c, &geometry_fops);
	debugfs_create_file("stats", 0444, d, c, &cache_stats_fops);
	debugfs_create_file("validate", 0400, d, c, &cache_validate_fops);
	cache_dirs[c->cache_id] = d;
}

/* Every cache, for the top-level validate file. */
unsigned long kml_slab_validate_all(struct seq_file *m)
{
	unsigned long errors = 0, flags;
	unsigned int id;

	spin_lock_irqsave(&kml_slab.sys_lock, flags);
	for (id = 0; id < KML_MAX_CACHES; id++)
		if (kml_slab.sys_caches[id])
			errors += kml_slab_validate(kml_slab.sys_caches[id], kml_seq_print, m);
	spin_unlock_irqrestore(&kml_slab.sys_lock, flags);
	return errors;
}

/* Every magazine flushed and every empty slab freed, for debugfs drain. */
void kml_slab_shrink_all(void)
{
	unsigned long flags;
	unsigned int id;

	spin_lock_irqsave(&kml_slab.sys_lock, flags);
	for (id = 0; id < KML_MAX_CACHES; id++)
		if (kml_slab.sys_caches[id])
			kml_slab_shrink(kml_slab.sys_caches[id]);
	spin_unlock_irqrestore(&kml_slab.sys_lock, flags);
}
