// SPDX-License-Identifier: GPL-2.0
/*
 * test_kmemlab_stress - one kthread per online CPU allocating and freeing
 * from kmemlab for @seconds, about a quarter of it freed by another CPU
 * than the one that took it: blocks of mixed orders, or with slab=1,
 * objects of a shared cache and kmallocs of mixed sizes. Every block or
 * object carries its owner's stamp; a stamp found changed means memory
 * was handed out twice. Loading succeeds only when no thread found one.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/module.h>
#include <linux/kthread.h>
#include <linux/mm.h>
#include <linux/random.h>
#include <linux/slab.h>
#include <linux/delay.h>
#include <linux/completion.h>
#include "kselftest_module.h"
#include "../include/kmemlab.h"

KSTM_MODULE_GLOBALS();

static unsigned int seconds = 10;
module_param(seconds, uint, 0444);
MODULE_PARM_DESC(seconds, "how long each thread runs (default 10)");

static unsigned int max_order = 6;
module_param(max_order, uint, 0444);

static bool slab;
module_param(slab, bool, 0444);
MODULE_PARM_DESC(slab, "objects of a cache and kmallocs instead of page blocks");

static struct kml_cache *cache;

#define HELD 64

struct block {
	struct page *page;	/* a page block, or */
	u64 *obj;		/* an object: of @cache when size is 0 */
	unsigned int order;
	size_t size;
	u64 stamp;
};

/* Blocks passed between CPUs: any thread may free what another took. */
static DEFINE_SPINLOCK(exchange_lock);
static struct block exchange[256];
static unsigned int exchange_n;

static atomic_t corrupt, running;
static atomic_long_t ops, crossed;
static DECLARE_COMPLETION(all_done);

static void stamp(struct block *b)
{
	unsigned int i;

	if (b->obj) {	/* the first 8 bytes, and the last one when apart */
		b->obj[0] = b->stamp;
		if (b->size != 8)
			((u8 *)b->obj)[(b->size ?: 96) - 1] = (u8)b->stamp;
		return;
	}
	for (i = 0; i < 1u << b->order; i++)
		*(u64 *)page_address(b->page + i) = b->stamp;
}

static void release(struct block *b)
{
	unsigned int i;

	if (b->obj) {
		if (b->obj[0] != b->stamp ||
		    (b->size != 8 && ((u8 *)b->obj)[(b->size ?: 96) - 1] != (u8)b->stamp))
			atomic_inc(&corrupt);
		if (b->size)
			kml_kfree(b->obj);
		else
			kml_cache_free(cache, b->obj);
		return;
	}
	for (i = 0; i < 1u << b->order; i++)
		if (*(u64 *)page_address(b->page + i) != b->stamp)
			atomic_inc(&corrupt);
	kml___free_pages(b->page, b->order);
}

/* A new block or object; false when memory ran short. */
static bool take(struct block *b)
{
	u32 r = get_random_u32();	/* fresh bits: the caller's chose to take */

	memset(b, 0, sizeof(*b));
	if (slab && r % 2) {
		b->size = 8 + (r >> 4) % 2040;
		b->obj = kml_kmalloc(b->size, GFP_KERNEL);
	} else if (slab) {
		b->obj = kml_cache_alloc(cache, GFP_KERNEL);
	} else {
		b->order = r % 4 ? 0 : (r >> 4) % (max_order + 1);
		b->page = kml_alloc_pages(GFP_KERNEL | __GFP_NOWARN, b->order);
	}
	return b->obj || b->page;
}

static int worker(void *arg)
{
	unsigned long id = (unsigned long)arg, n = 0, seq = 0;
	unsigned long end = jiffies + seconds * HZ;
	struct block *held, b;

	held = kmalloc_array(HELD, sizeof(*held), GFP_KERNEL);
	if (!held) {
		atomic_inc(&corrupt);	/* counted as a failure */
		goto out;
	}
	while (time_before(jiffies, end)) {
		u32 r = get_random_u32();

		if (n == HELD || (n && r % 2)) {
			unsigned int k = (r >> 8) % n;

			b = held[k];
			held[k] = held[--n];
			if (r % 4 == 1) {	/* hand it to whichever CPU comes next */
				spin_lock(&exchange_lock);
				if (exchange_n < ARRAY_SIZE(exchange)) {
					exchange[exchange_n++] = b;
					b.page = NULL;
					b.obj = NULL;
				}
				spin_unlock(&exchange_lock);
			}
			if (b.page || b.obj)
				release(&b);
		} else if (take(&b)) {
			b.stamp = (u64)id << 48 | ++seq;
			stamp(&b);
			held[n++] = b;
		}
		spin_lock(&exchange_lock);
		b.page = NULL;
		b.obj = NULL;
		if (exchange_n && r % 8 == 0)
			b = exchange[--exchange_n];
		spin_unlock(&exchange_lock);
		if (b.page || b.obj) {
			release(&b);
			atomic_long_inc(&crossed);
		}
		atomic_long_inc(&ops);
		cond_resched();
	}
	while (n)
		release(&held[--n]);
	kfree(held);
out:
	if (atomic_dec_and_test(&running))
		complete(&all_done);
	return 0;
}

static int run(void)
{
	unsigned int cpu, started = 0;

	if (slab) {
		cache = kml_cache_create("stress", 96, 0, 0, NULL);
		if (!cache)
			return -ENOMEM;
	}
	atomic_set(&running, num_online_cpus());
	for_each_online_cpu(cpu) {
		struct task_struct *t = kthread_create_on_cpu(worker, (void *)(unsigned long)cpu,
							      cpu, "kml_stress/%u");

		if (IS_ERR(t)) {
			/* The workers that did start may all be done already. */
			if (atomic_sub_and_test(num_online_cpus() - started, &running))
				complete(&all_done);
			break;
		}
		wake_up_process(t);
		started++;
	}
	if (started)
		wait_for_completion(&all_done);
	while (exchange_n) {
		struct block b = exchange[--exchange_n];

		release(&b);
	}
	kml_cache_destroy(cache);
	pr_info("%u threads, %ld operations, %ld %s freed on another CPU, %d corrupt\n",
		started, atomic_long_read(&ops), atomic_long_read(&crossed),
		slab ? "objects" : "blocks", atomic_read(&corrupt));
	return started == num_online_cpus() && !atomic_read(&corrupt) ? 0 : -EIO;
}

static void __init selftest(void)
{
	KSTM_CHECK_ZERO(run());
}

KSTM_MODULE_LOADERS(test_kmemlab_stress);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("kmemlab SMP stress of the page allocator, run at load");
