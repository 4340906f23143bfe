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
#include <linux/rcupdate.h>
#include <linux/slab.h>
#include <linux/vmalloc.h>
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
	/* Large kmalloc blocks wait for outside page references, as pages do. */
	kml_slab.sys_hold = kml_pages_hold_if_busy;
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
	/* No callback of kmemlab's may run once its caches or text are gone. */
	kml_slab_rcu_barrier();
	kml_slab_exit(&kml_slab);
}

/* ---- gfp, init and failure reports ---- */

/* KML_INIT_* for an allocation: __GFP_ZERO, or init_on_alloc's policy. */
static inline unsigned int alloc_init(gfp_t gfp)
{
	if (gfp & __GFP_ZERO)
		return KML_INIT_ZERO;
	return kml_want_init_on_alloc(gfp) ? KML_INIT_ALLOC : 0;
}

static inline unsigned int free_init(void)
{
	return kml_want_init_on_free() ? KML_INIT_FREE : 0;
}

/* As Linux's slab_out_of_memory, in one line; __GFP_NOWARN silences it. */
static void alloc_failed(gfp_t gfp, const char *what, const char *cache, size_t size,
			 const void *caller)
{
	if (gfp & __GFP_NOWARN)
		return;
	pr_warn_ratelimited("kmemlab: SLUB: Unable to allocate memory: %s(%s, %zu bytes, gfp %#x(%pGg)) from %pS\n",
			    what, cache, size, (__force unsigned int)gfp, &gfp, caller);
}

/* Can kmalloc ever serve @size? (Else __GFP_NOFAIL must not wait for it.) */
static bool kmalloc_can_fit(size_t size)
{
	return size <= PAGE_SIZE << kml_buddy.max_order;
}

static void *cache_alloc(struct kml_cache *c, gfp_t gfp, const char *what, const void *caller)
{
	struct kml_cache_geometry g;
	unsigned int attempt = 0;
	void *obj;

	if (unlikely(!c)) {
		pr_err_ratelimited("kmemlab: %s(NULL cache) from %pS\n", what, caller);
		return NULL;
	}
	if (!kml_gfp_begin(gfp, what, caller))
		return NULL;
	do
		obj = kml_slab_alloc(c, alloc_init(gfp), caller);
	while (unlikely(!obj) && kml_gfp_retry(gfp, &attempt, what, caller));
	if (unlikely(!obj)) {
		kml_slab_geometry(c, &g);
		alloc_failed(gfp, what, g.name, g.object_size, caller);
	}
	return obj;
}

static void *kmalloc_caller(size_t size, gfp_t gfp, const char *what, const void *caller)
{
	unsigned int attempt = 0;
	void *p;

	if (!kml_gfp_begin(gfp, what, caller))
		return NULL;
	do
		p = kml_slab_kmalloc(&kml_slab, size, alloc_init(gfp), caller);
	while (unlikely(!p) && kmalloc_can_fit(size) &&
	       kml_gfp_retry(gfp, &attempt, what, caller));
	if (unlikely(!p))
		alloc_failed(gfp, what, "kmalloc", size, caller);
	return p;
}

/* ---- the API ---- */

int kml_cache_create_err(const char *name, unsigned int size, unsigned int align,
			 unsigned int flags, void (*ctor)(void *), struct kml_cache **cp)
{
	int err;

	might_sleep();
	*cp = NULL;
	if (!name || !*name || strlen(name) >= KML_CACHE_NAME || strchr(name, '/') ||
	    (flags & ~KML_SLAB_ALL)) {
		pr_err_ratelimited("kmemlab: kml_cache_create: bad name or flags %#x\n", flags);
		err = -EINVAL;
		goto out;
	}
	err = kml_slab_create(&kml_slab, name, size, align, flags, ctor, cp);
	if (err == -EEXIST)
		pr_err_ratelimited("kmemlab: kml_cache_create: a cache named %s exists\n", name);
	else if (err)
		pr_err_ratelimited("kmemlab: kml_cache_create(%s, %u, %u): error %d\n", name, size,
				   align, err);
	if (!err)
		cache_dir_add(*cp, NULL);
out:
	if (err && (flags & KML_SLAB_PANIC))
		panic("kmemlab: cannot create cache %s (SLAB_PANIC): error %d\n",
		      name ? name : "(null)", err);
	return err;
}
EXPORT_SYMBOL_GPL(kml_cache_create_err);

struct kml_cache *kml_cache_create(const char *name, unsigned int size, unsigned int align,
				   unsigned int flags, void (*ctor)(void *))
{
	struct kml_cache *c;

	return kml_cache_create_err(name, size, align, flags, ctor, &c) ? NULL : c;
}
EXPORT_SYMBOL_GPL(kml_cache_create);

/*
 * The kernel's SLAB_* flags, by name: their values differ between kernels
 * (6.1 defines them as constants, 6.12 as bit numbers, and some are 0 when
 * their feature is configured out), so each is looked up as the kernel
 * being built against spells it. README.md has this table.
 */
enum { FLAG_MAP, FLAG_IGNORE, FLAG_REFUSE };

struct slab_flag_rule {
	const char *name;
	slab_flags_t flag;
	unsigned int kml;	/* FLAG_MAP: the KML_SLAB_* bits */
	int how;
	const char *why;	/* FLAG_REFUSE: the report */
};

#define MAP(f, k)	{ #f, f, k, FLAG_MAP, NULL }
#define IGNORE(f)	{ #f, f, 0, FLAG_IGNORE, NULL }
#define REFUSE(f, w)	{ #f, f, 0, FLAG_REFUSE, w }

static const struct slab_flag_rule slab_flag_rules[] = {
	MAP(SLAB_CONSISTENCY_CHECKS, KML_SLAB_CONSISTENCY),
	MAP(SLAB_RED_ZONE, KML_SLAB_RED_ZONE),
	MAP(SLAB_POISON, KML_SLAB_POISON),
	MAP(SLAB_STORE_USER, KML_SLAB_STORE_USER),
	MAP(SLAB_HWCACHE_ALIGN, KML_SLAB_HWCACHE_ALIGN),
	MAP(SLAB_TYPESAFE_BY_RCU, KML_SLAB_TYPESAFE_BY_RCU),
	MAP(SLAB_ACCOUNT, KML_SLAB_ACCOUNT),
	MAP(SLAB_RECLAIM_ACCOUNT, KML_SLAB_RECLAIM_ACCOUNT),
	MAP(SLAB_PANIC, KML_SLAB_PANIC),
	IGNORE(SLAB_TRACE),
	IGNORE(SLAB_DEBUG_OBJECTS),
	IGNORE(SLAB_NOLEAKTRACE),
	IGNORE(SLAB_FAILSLAB),
	IGNORE(SLAB_KASAN),
	IGNORE(SLAB_NO_USER_FLAGS),
	IGNORE(SLAB_SKIP_KFENCE),
#ifdef SLAB_MEM_SPREAD
	IGNORE(SLAB_MEM_SPREAD),
#endif
#ifdef SLAB_NO_MERGE
	IGNORE(SLAB_NO_MERGE),
#endif
#ifdef SLAB_NO_OBJ_EXT
	IGNORE(SLAB_NO_OBJ_EXT),
#endif
	REFUSE(SLAB_CACHE_DMA, "kmemlab's region has no DMA zone"),
	REFUSE(SLAB_CACHE_DMA32, "kmemlab's region has no DMA32 zone"),
	REFUSE(SLAB_KMALLOC, "it marks the kernel's own kmalloc caches"),
};

struct kml_cache *kml_kmem_cache_create(const char *name, unsigned int size,
					unsigned int align, slab_flags_t flags,
					void (*ctor)(void *))
{
	slab_flags_t left = flags;
	unsigned int kml = 0, i;
	struct kml_cache *c;

	for (i = 0; i < ARRAY_SIZE(slab_flag_rules); i++) {
		const struct slab_flag_rule *r = &slab_flag_rules[i];

		if (!r->flag || !(flags & r->flag))
			continue;	/* 0: configured out of this kernel */
		if (r->how == FLAG_REFUSE) {
			pr_err_ratelimited("kmemlab: kmem_cache_create(%s) from %pS: %s refused: %s\n",
					   name, __builtin_return_address(0), r->name, r->why);
			goto refuse;
		}
		if (r->how == FLAG_MAP)
			kml |= r->kml;
		left &= ~r->flag;
	}
	if (left) {
		pr_err_ratelimited("kmemlab: kmem_cache_create(%s) from %pS: unknown SLAB_* flags %#x refused\n",
				   name, __builtin_return_address(0), (__force unsigned int)left);
		goto refuse;
	}
	return kml_cache_create_err(name, size, align, kml, ctor, &c) ? NULL : c;
refuse:
	if (flags & SLAB_PANIC)
		panic("kmemlab: cannot create cache %s (SLAB_PANIC): refused flags\n", name);
	return NULL;
}
EXPORT_SYMBOL_GPL(kml_kmem_cache_create);

static void kvfree_rcu_wait(void);

void kml_cache_destroy(struct kml_cache *c)
{
	struct kml_cache_geometry g;

	if (!c)
		return;
	might_sleep();
	/* As 6.12's kmem_cache_destroy: objects queued by kfree_rcu go first. */
	kvfree_rcu_wait();
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
	return cache_alloc(c, gfp, "kmem_cache_alloc", __builtin_return_address(0));
}
EXPORT_SYMBOL_GPL(kml_cache_alloc);

void *kml_cache_zalloc(struct kml_cache *c, gfp_t gfp)
{
	return cache_alloc(c, gfp | __GFP_ZERO, "kmem_cache_zalloc", __builtin_return_address(0));
}
EXPORT_SYMBOL_GPL(kml_cache_zalloc);

void *kml_cache_alloc_node(struct kml_cache *c, gfp_t gfp, int node)
{
	return cache_alloc(c, gfp, "kmem_cache_alloc_node", __builtin_return_address(0));
}
EXPORT_SYMBOL_GPL(kml_cache_alloc_node);

void kml_cache_free(struct kml_cache *c, void *obj)
{
	kml_slab_free(c, obj, free_init(), __builtin_return_address(0));
}
EXPORT_SYMBOL_GPL(kml_cache_free);

/* All or nothing, as 6.1's kmem_cache_alloc_bulk. */
int kml_cache_alloc_bulk(struct kml_cache *c, gfp_t gfp, size_t nr, void **p)
{
	const void *caller = __builtin_return_address(0);
	size_t i;

	if (!nr || nr > INT_MAX)
		return 0;
	for (i = 0; i < nr; i++) {
		p[i] = cache_alloc(c, gfp, "kmem_cache_alloc_bulk", caller);
		if (unlikely(!p[i])) {
			while (i--)
				kml_slab_free(c, p[i], free_init(), caller);
			return 0;
		}
	}
	return nr;
}
EXPORT_SYMBOL_GPL(kml_cache_alloc_bulk);

/* NULL entries are skipped; a NULL cache frees each as kfree does. */
void kml_cache_free_bulk(struct kml_cache *c, size_t nr, void **p)
{
	const void *caller = __builtin_return_address(0);
	unsigned int init = free_init();
	size_t i;

	for (i = 0; i < nr; i++) {
		if (!p[i])
			continue;
		if (c)
			kml_slab_free(c, p[i], init, caller);
		else
			kml_slab_kfree(&kml_slab, p[i], init, caller);
	}
}
EXPORT_SYMBOL_GPL(kml_cache_free_bulk);

unsigned int kml_cache_size(struct kml_cache *c)
{
	return c ? kml_slab_object_size(c) : 0;
}
EXPORT_SYMBOL_GPL(kml_cache_size);

/*
 * Process context; may sleep, as kmem_cache_shrink: every CPU's magazines
 * are emptied on that CPU, and a KML_SLAB_TYPESAFE_BY_RCU cache's empty
 * slabs go back after a grace period, which it waits for.
 */
int kml_cache_shrink(struct kml_cache *c)
{
	struct kml_cache_geometry g;

	might_sleep();
	kml_slab_shrink(c);
	kml_slab_geometry(c, &g);
	if (g.flags & KML_SLAB_TYPESAFE_BY_RCU)
		kml_slab_rcu_wait(c);
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
	/* Cached in magazines is not in use. Read without the cache lock: never below zero. */
	info->active_objs = st.active_objs > st.cpu_cached + st.depot_objs ?
			    st.active_objs - st.cpu_cached - st.depot_objs : 0;
	info->num_slabs = st.num_slabs;
	info->grown = st.grown;
	info->reaped = st.reaped;
	info->errors = st.errors;
	info->rcu_pending = st.rcu_pending;
	info->magazine = g.cpu_limit;
	info->depot_max = g.depot_max;
	info->cached = st.cpu_cached + st.depot_objs;
}
EXPORT_SYMBOL_GPL(kml_cache_info);

void *kml_kmalloc(size_t size, gfp_t gfp)
{
	return kmalloc_caller(size, gfp, "kmalloc", __builtin_return_address(0));
}
EXPORT_SYMBOL_GPL(kml_kmalloc);

void *kml_kzalloc(size_t size, gfp_t gfp)
{
	return kmalloc_caller(size, gfp | __GFP_ZERO, "kzalloc", __builtin_return_address(0));
}
EXPORT_SYMBOL_GPL(kml_kzalloc);

void *kml_kmalloc_node(size_t size, gfp_t gfp, int node)
{
	return kmalloc_caller(size, gfp, "kmalloc_node", __builtin_return_address(0));
}
EXPORT_SYMBOL_GPL(kml_kmalloc_node);

void *kml_kzalloc_node(size_t size, gfp_t gfp, int node)
{
	return kmalloc_caller(size, gfp | __GFP_ZERO, "kzalloc_node",
			      __builtin_return_address(0));
}
EXPORT_SYMBOL_GPL(kml_kzalloc_node);

/* n * size, or NULL without a report when it overflows (as Linux). */
static void *array_caller(size_t n, size_t size, gfp_t gfp, const char *what,
			  const void *caller)
{
	size_t bytes;

	if (unlikely(check_mul_overflow(n, size, &bytes)))
		return NULL;
	return kmalloc_caller(bytes, gfp, what, caller);
}

void *kml_kmalloc_array(size_t n, size_t size, gfp_t gfp)
{
	return array_caller(n, size, gfp, "kmalloc_array", __builtin_return_address(0));
}
EXPORT_SYMBOL_GPL(kml_kmalloc_array);

void *kml_kmalloc_array_node(size_t n, size_t size, gfp_t gfp, int node)
{
	return array_caller(n, size, gfp, "kmalloc_array_node", __builtin_return_address(0));
}
EXPORT_SYMBOL_GPL(kml_kmalloc_array_node);

void *kml_kcalloc(size_t n, size_t size, gfp_t gfp)
{
	return array_caller(n, size, gfp | __GFP_ZERO, "kcalloc", __builtin_return_address(0));
}
EXPORT_SYMBOL_GPL(kml_kcalloc);

void *kml_kcalloc_node(size_t n, size_t size, gfp_t gfp, int node)
{
	return array_caller(n, size, gfp | __GFP_ZERO, "kcalloc_node",
			    __builtin_return_address(0));
}
EXPORT_SYMBOL_GPL(kml_kcalloc_node);

static void *krealloc_caller(const void *p, size_t size, gfp_t gfp, const char *what,
			     const void *caller)
{
	unsigned int attempt = 0;
	void *q;

	if (!kml_gfp_begin(gfp, what, caller))
		return NULL;
	/* A pointer kmemlab did not hand out: reported once, never retried. */
	if (p && p != ZERO_SIZE_PTR && !kml_slab_usable(&kml_slab, p, what, caller))
		return NULL;
	do
		q = kml_slab_krealloc(&kml_slab, p, size, alloc_init(gfp) | free_init(), caller);
	while (unlikely(!q) && kmalloc_can_fit(size) &&
	       kml_gfp_retry(gfp, &attempt, what, caller));
	if (unlikely(!q))
		alloc_failed(gfp, what, "kmalloc", size, caller);
	return q;
}

void *kml_krealloc(const void *p, size_t size, gfp_t gfp)
{
	return krealloc_caller(p, size, gfp, "krealloc", __builtin_return_address(0));
}
EXPORT_SYMBOL_GPL(kml_krealloc);

void *kml_krealloc_array(void *p, size_t n, size_t size, gfp_t gfp)
{
	size_t bytes;

	if (unlikely(check_mul_overflow(n, size, &bytes)))
		return NULL;
	return krealloc_caller(p, bytes, gfp, "krealloc_array", __builtin_return_address(0));
}
EXPORT_SYMBOL_GPL(kml_krealloc_array);

size_t kml_ksize(const void *p)
{
	return kml_slab_usable(&kml_slab, p, "ksize", __builtin_return_address(0));
}
EXPORT_SYMBOL_GPL(kml_ksize);

void kml_kfree(const void *p)
{
	kml_slab_kfree(&kml_slab, p, free_init(), __builtin_return_address(0));
}
EXPORT_SYMBOL_GPL(kml_kfree);

void kml_kfree_sensitive(const void *p)
{
	kml_slab_kfree_sensitive(&kml_slab, p, __builtin_return_address(0));
}
EXPORT_SYMBOL_GPL(kml_kfree_sensitive);

void *kml_kmemdup(const void *src, size_t len, gfp_t gfp)
{
	void *p = kmalloc_caller(len, gfp, "kmemdup", __builtin_return_address(0));

	if (p)
		memcpy(p, src, len);
	return p;
}
EXPORT_SYMBOL_GPL(kml_kmemdup);

char *kml_kstrdup(const char *s, gfp_t gfp)
{
	size_t len;
	char *p;

	if (!s)
		return NULL;
	len = strlen(s) + 1;
	p = kmalloc_caller(len, gfp, "kstrdup", __builtin_return_address(0));
	if (p)
		memcpy(p, s, len);
	return p;
}
EXPORT_SYMBOL_GPL(kml_kstrdup);

char *kml_kstrndup(const char *s, size_t max, gfp_t gfp)
{
	size_t len;
	char *p;

	if (!s)
		return NULL;
	len = strnlen(s, max);
	p = kmalloc_caller(len + 1, gfp, "kstrndup", __builtin_return_address(0));
	if (p) {
		memcpy(p, s, len);
		p[len] = '\0';
	}
	return p;
}
EXPORT_SYMBOL_GPL(kml_kstrndup);

/*
 * kvfree_rcu. Objects wait in kmemlab's own batches, as Linux's kfree_rcu
 * keeps its own: each object's rcu_head is the batch's storage (its first
 * word links the batch, its second holds the object's start, so the
 * callback needs no lookup), and one rcu_head of kmemlab's carries a batch
 * through each grace period. rcu_free_next collects objects until a grace
 * period is started for them; they then move to rcu_free_wait, which the
 * callback frees, starting the next batch if one has gathered. The lock is
 * raw and held only to splice lists, so that kml_kvfree_call_rcu works in
 * every context, hard IRQ on PREEMPT_RT included, as kvfree_call_rcu does.
 */
struct rcu_free {
	struct rcu_free *next;
	const void *ptr;
};

static DEFINE_RAW_SPINLOCK(rcu_free_lock);
/* rcu_free_head is queued exactly while rcu_free_wait is not empty. */
static struct rcu_free *rcu_free_next, *rcu_free_wait;
static struct rcu_head rcu_free_head;

/* kvfree: vmalloc'd memory to kml_vfree, the rest to kfree. */
static void free_any(const void *ptr, const void *caller)
{
	if (is_vmalloc_addr(ptr))
		kml_vfree(ptr);
	else
		kml_slab_kfree(&kml_slab, ptr, free_init(), caller);
}

/* What has collected goes into the next grace period; true if anything did. */
static bool start_batch_locked(void)
{
	lockdep_assert_held(&rcu_free_lock);
	rcu_free_wait = rcu_free_next;
	rcu_free_next = NULL;
	return rcu_free_wait;
}

static void rcu_free_batch(struct rcu_head *unused)
{
	struct rcu_free *done;
	unsigned long flags;
	bool again;

	raw_spin_lock_irqsave(&rcu_free_lock, flags);
	done = rcu_free_wait;
	again = start_batch_locked();
	raw_spin_unlock_irqrestore(&rcu_free_lock, flags);
	if (again)
		call_rcu(&rcu_free_head, rcu_free_batch);
	while (done) {
		struct rcu_free *next = done->next;

		free_any(done->ptr, rcu_free_batch);
		done = next;
	}
}

void kml_kvfree_call_rcu(struct rcu_head *head, void *ptr)
{
	const void *caller = __builtin_return_address(0);
	struct rcu_free *f = (struct rcu_free *)head;
	unsigned long flags;
	size_t size = 0;
	bool start;

	BUILD_BUG_ON(sizeof(struct rcu_free) > sizeof(struct rcu_head));
	if (!head) {		/* 6.12's headless form */
		kml_kvfree_rcu_mightsleep(ptr);
		return;
	}
	if (!ptr || ptr == ZERO_SIZE_PTR)
		return;
	if (!is_vmalloc_addr(ptr)) {
		size = kml_slab_usable(&kml_slab, ptr, "kvfree_call_rcu", caller);
		if (!size)
			return;		/* reported */
	}
	/* The head is the object's own storage, or the free would corrupt memory. */
	if ((void *)head < ptr || (size && (void *)(head + 1) > ptr + size) ||
	    (!size && !is_vmalloc_addr(head))) {
		kml_slab_note_bad_free(&kml_slab);
		pr_err_ratelimited("kmemlab: kvfree_call_rcu(%p, %p) from %pS: the rcu_head is not inside the object; not freed\n",
				   head, ptr, caller);
		return;
	}
	raw_spin_lock_irqsave(&rcu_free_lock, flags);
	f->ptr = ptr;
	f->next = rcu_free_next;
	rcu_free_next = f;
	start = !rcu_free_wait && start_batch_locked();
	raw_spin_unlock_irqrestore(&rcu_free_lock, flags);
	if (start)
		call_rcu(&rcu_free_head, rcu_free_batch);
}
EXPORT_SYMBOL_GPL(kml_kvfree_call_rcu);

void kml_kvfree_rcu_mightsleep(void *ptr)
{
	might_sleep();
	if (!ptr || ptr == ZERO_SIZE_PTR)
		return;
	synchronize_rcu();
	free_any(ptr, __builtin_return_address(0));
}
EXPORT_SYMBOL_GPL(kml_kvfree_rcu_mightsleep);

/* Every object queued by kml_kvfree_call_rcu is freed when this returns. */
/* Every object queued by kml_kvfree_call_rcu so far is freed on return. */
static void kvfree_rcu_wait(void)
{
	unsigned long flags;
	bool busy;

	for (;;) {
		raw_spin_lock_irqsave(&rcu_free_lock, flags);
		busy = rcu_free_wait;
		raw_spin_unlock_irqrestore(&rcu_free_lock, flags);
		if (!busy)
			break;
		rcu_barrier();	/* the batch in flight, then the one it started */
	}
}

void kml_slab_rcu_barrier(void)
{
	kvfree_rcu_wait();
	/* And every callback of the core's (type-safe caches' slabs). */
	rcu_barrier();
}

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
	/* As SLAB: per-CPU limit and batch, the shared (depot) size, its objects */
	seq_printf(m, " : tunables %4u %4u %4u", g.cpu_limit, g.cpu_batch, g.depot_max);
	seq_printf(m, " : slabdata %6lu %6lu %6lu\n", st.active_slabs, st.num_slabs,
		   st.depot_objs);
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
	seq_printf(m, "cpu_limit %u\ncpu_batch %u\ndepot_max %u\nempty_max %u\n", g.cpu_limit,
		   g.cpu_batch, g.depot_max, g.empty_max);
	if (g.ctor)
		seq_printf(m, "ctor %ps\n", g.ctor);
	else
		seq_puts(m, "ctor none\n");
	/* T: type-safe by RCU; a, r: memcg and reclaimable accounting asked for */
	seq_printf(m, "flags %s%s%s%s%s%s%s%s\n", f & KML_SLAB_CONSISTENCY ? "F" : "",
		   f & KML_SLAB_RED_ZONE ? "Z" : "", f & KML_SLAB_POISON ? "P" : "",
		   f & KML_SLAB_STORE_USER ? "U" : "", f & KML_SLAB_HWCACHE_ALIGN ? "A" : "",
		   f & KML_SLAB_TYPESAFE_BY_RCU ? "T" : "", f & KML_SLAB_ACCOUNT ? "a" : "",
		   f & KML_SLAB_RECLAIM_ACCOUNT ? "r" : "");
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
	seq_printf(m, "rcu_pending %lu\n", st.rcu_pending);
	seq_printf(m, "depot_objs %lu\ndepot_full %lu\ndepot_empty %lu\n", st.depot_objs,
		   st.depot_full, st.depot_empty);
	seq_printf(m, "depot_hits %lu\ndepot_misses %lu\nmag_swaps %lu\ndepot_reaped %lu\n",
		   st.depot_hits, st.depot_misses, st.mag_swaps, st.depot_reaped);
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

static int rcu_wait_one(struct kml_cache *c, void *arg)
{
	kml_slab_rcu_wait(c);	/* a type-safe cache's slabs: back after a grace period */
	cond_resched();
	return 0;
}

/*
 * Every magazine and depot emptied and every empty slab freed, for debugfs
 * drain; it waits for type-safe caches' slabs and for kvfree_rcu's pending
 * objects.
 */
void kml_slab_shrink_all(void)
{
	kml_slab_rcu_barrier();
	kml_slab_drain(&kml_slab);
	kml_slab_for_each(&kml_slab, rcu_wait_one, NULL);
}
