// SPDX-License-Identifier: GPL-2.0
/*
 * gfp.c - what every kmemlab call makes of a gfp mask, in one place:
 *
 *   kml_gfp_begin       might_alloc() (a gfp that allows reclaim may sleep,
 *                       so lockdep and might_sleep check the context), then
 *                       refuses bits that are unknown and zones the region
 *                       cannot supply (__GFP_DMA, __GFP_DMA32), with a report;
 *   kml_want_init_*     the kernel's init_on_alloc= / init_on_free= boot
 *                       settings, or kmemlab's parameters overriding them;
 *   kml_gfp_retry       __GFP_NOFAIL: wait and try again, while the gfp lets
 *                       the caller sleep.
 */
#include <linux/sched.h>
#include <linux/gfp.h>
#include <linux/mm.h>
#include <linux/moduleparam.h>
#include <linux/sched/mm.h>
#include "kmemlab_internal.h"

struct kml_gfp_stats kml_gfp_stats;

/* -1 follows the kernel's setting; 0 and 1 override it (for benchmarks). */
static int param_set_tristate(const char *val, const struct kernel_param *kp)
{
	int v, err = kstrtoint(val, 0, &v);

	if (err || v < -1 || v > 1)
		return -EINVAL;
	WRITE_ONCE(*(int *)kp->arg, v);
	return 0;
}

static const struct kernel_param_ops tristate_ops = {
	.set = param_set_tristate,
	.get = param_get_int,
};

static int param_init_on_alloc = -1;
module_param_cb(init_on_alloc, &tristate_ops, &param_init_on_alloc, 0644);
MODULE_PARM_DESC(init_on_alloc, "zero every allocation: -1 as the kernel's init_on_alloc (default), 0 never, 1 always");

static int param_init_on_free = -1;
module_param_cb(init_on_free, &tristate_ops, &param_init_on_free, 0644);
MODULE_PARM_DESC(init_on_free, "zero memory when it is freed: -1 as the kernel's init_on_free (default), 0 never, 1 always");

bool kml_want_init_on_alloc(gfp_t gfp)
{
	int v = READ_ONCE(param_init_on_alloc);

	if (gfp & __GFP_ZERO)
		return true;
	return v < 0 ? want_init_on_alloc(gfp) : v;
}

bool kml_want_init_on_free(void)
{
	int v = READ_ONCE(param_init_on_free);

	return v < 0 ? want_init_on_free() : v;
}

bool kml_gfp_begin(gfp_t gfp, const char *what, const void *caller)
{
	gfp_t unknown = gfp & ~__GFP_BITS_MASK;

	might_alloc(gfp);
	if (likely(!(unknown | (gfp & (__GFP_DMA | __GFP_DMA32)))))
		return true;
	atomic_long_inc(&kml_gfp_stats.refused);
	pr_err_ratelimited("kmemlab: %s(gfp %#x) from %pS refused: %s\n", what, gfp, caller,
			   unknown ? "bits that are not gfp flags" :
			   "kmemlab's region has no DMA or DMA32 zone");
	return false;
}

bool kml_gfp_retry(gfp_t gfp, unsigned int *attempt, const char *what, const void *caller)
{
	/*
	 * Free objects and pages may sit in other CPUs' magazines and lists,
	 * which only a caller that may sleep can reach (kml_slab_drain runs on
	 * each CPU): once, as Linux's direct reclaim drains every CPU's pages
	 * before it fails.
	 */
	if (gfpflags_allow_blocking(gfp) && !*attempt) {
		++*attempt;
		kml_slab_drain(&kml_slab);
		return true;
	}
	if (!(gfp & __GFP_NOFAIL))
		return false;
	if (!gfpflags_allow_blocking(gfp)) {
		/* Linux would spin on its reserves; kmemlab has none. */
		atomic_long_inc(&kml_gfp_stats.nofail_failed);
		pr_err_ratelimited("kmemlab: %s(gfp %#x) from %pS: __GFP_NOFAIL without direct reclaim cannot wait; failing\n",
				   what, gfp, caller);
		return false;
	}
	atomic_long_inc(&kml_gfp_stats.nofail_waits);
	if (++*attempt % 1000 == 0)
		pr_warn_ratelimited("kmemlab: %s(gfp %#x) from %pS: __GFP_NOFAIL still waiting for memory after %u tries\n",
				    what, gfp, caller, *attempt);
	kml_buddy_drain(&kml_buddy);
	schedule_timeout_uninterruptible(1);
	return true;
}
