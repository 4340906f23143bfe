// SPDX-License-Identifier: GPL-2.0
/*
 * kvmalloc.c - kmalloc when it can serve at once, vmalloc otherwise, with
 * the kernel's decisions (mm/util.c in 6.1; the same in 6.12):
 *
 *   - up to PAGE_SIZE: kmalloc only, with the caller's gfp;
 *   - beyond: kmalloc first, without failure reports or retries
 *     (__GFP_NOWARN, __GFP_NORETRY unless the caller asked for
 *     __GFP_RETRY_MAYFAIL, no __GFP_NOFAIL: vmalloc keeps that promise);
 *     then vmalloc with the caller's gfp, when that gfp may sleep (a
 *     GFP_ATOMIC or GFP_NOWAIT caller gets kmalloc's answer only);
 *   - above INT_MAX bytes nothing is tried (Linux WARNs once; kmemlab
 *     reports a line unless __GFP_NOWARN).
 *
 * kml_kvfree tells the two apart by the address (is_vmalloc_addr) and
 * works in every context: kml_vfree defers what cannot run there.
 * kml_kvrealloc has 6.12's signature and behaviour: a kmalloc'ed pointer
 * goes through krealloc and, when that fails, moves to kvmalloc'ed memory
 * (its old size is kml_ksize's); a vmalloc area is resized in its pages or
 * moved to a larger area (vrealloc).
 */
#include <linux/export.h>
#include <linux/mm.h>
#include <linux/overflow.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/vmalloc.h>
#include "kmemlab_internal.h"
#include "include/kmemlab.h"

/* The gfp of kvmalloc's kmalloc attempt, which has vmalloc behind it. */
static gfp_t kmalloc_attempt_gfp(gfp_t gfp, size_t size)
{
	if (size <= PAGE_SIZE)
		return gfp;
	gfp |= __GFP_NOWARN;
	if (!(gfp & __GFP_RETRY_MAYFAIL))
		gfp |= __GFP_NORETRY;
	return gfp & ~__GFP_NOFAIL;
}

static void *kvmalloc_caller(size_t size, gfp_t gfp, const void *caller)
{
	void *p = kml_kmalloc(size, kmalloc_attempt_gfp(gfp, size));

	if (p || size <= PAGE_SIZE)
		return p;
	if (!gfpflags_allow_blocking(gfp))
		return NULL;
	if (unlikely(size > INT_MAX)) {
		if (!(gfp & __GFP_NOWARN))
			pr_warn_ratelimited("kmemlab: kvmalloc(%zu bytes) from %pS: above INT_MAX, refused\n",
					    size, caller);
		return NULL;
	}
	return kml___vmalloc_node(size, 1, gfp, NUMA_NO_NODE, caller);
}

void *kml_kvmalloc_node(size_t size, gfp_t gfp, int node)
{
	return kvmalloc_caller(size, gfp, __builtin_return_address(0));
}
EXPORT_SYMBOL_GPL(kml_kvmalloc_node);

void *kml_kvzalloc_node(size_t size, gfp_t gfp, int node)
{
	return kvmalloc_caller(size, gfp | __GFP_ZERO, __builtin_return_address(0));
}
EXPORT_SYMBOL_GPL(kml_kvzalloc_node);

void *kml_kvmalloc(size_t size, gfp_t gfp)
{
	return kvmalloc_caller(size, gfp, __builtin_return_address(0));
}
EXPORT_SYMBOL_GPL(kml_kvmalloc);

void *kml_kvzalloc(size_t size, gfp_t gfp)
{
	return kvmalloc_caller(size, gfp | __GFP_ZERO, __builtin_return_address(0));
}
EXPORT_SYMBOL_GPL(kml_kvzalloc);

void *kml_kvmalloc_array(size_t n, size_t size, gfp_t gfp)
{
	size_t bytes;

	if (unlikely(check_mul_overflow(n, size, &bytes)))
		return NULL;
	return kvmalloc_caller(bytes, gfp, __builtin_return_address(0));
}
EXPORT_SYMBOL_GPL(kml_kvmalloc_array);

void *kml_kvcalloc(size_t n, size_t size, gfp_t gfp)
{
	size_t bytes;

	if (unlikely(check_mul_overflow(n, size, &bytes)))
		return NULL;
	return kvmalloc_caller(bytes, gfp | __GFP_ZERO, __builtin_return_address(0));
}
EXPORT_SYMBOL_GPL(kml_kvcalloc);

void kml_kvfree(const void *p)
{
	if (is_vmalloc_addr(p))
		kml_vfree(p);
	else
		kml_kfree(p);
}
EXPORT_SYMBOL_GPL(kml_kvfree);

void kml_kvfree_sensitive(const void *p, size_t len)
{
	if (ZERO_OR_NULL_PTR(p))
		return;
	/*
	 * Only what kmemlab handed out is cleared: a bad pointer gets the
	 * free's report and no write.
	 */
	if (is_vmalloc_addr(p) ? kml_vmalloc_size(p) : kml_addr_in_region(p))
		memzero_explicit((void *)p, len);
	kml_kvfree(p);
}
EXPORT_SYMBOL_GPL(kml_kvfree_sensitive);

/* vrealloc: in place while the area's pages suffice, else a new area. */
static void *vrealloc_caller(const void *p, size_t size, gfp_t gfp, const void *caller)
{
	size_t old = kml_vmalloc_size(p);
	void *n;

	if (!old) {
		pr_err("kmemlab: kvrealloc(%p): not the start of a kmemlab vmalloc area, from %pS\n",
		       p, caller);
		return NULL;
	}
	if (!size) {
		kml_vfree(p);
		return NULL;
	}
	if (kml_vmalloc_resize(p, size, gfp))
		return (void *)p;
	n = kml___vmalloc_node(size, 1, gfp, NUMA_NO_NODE, caller);
	if (!n)
		return NULL;
	memcpy(n, p, min(old, size));
	kml_vfree(p);
	return n;
}

void *kml_kvrealloc(const void *p, size_t size, gfp_t gfp)
{
	const void *caller = __builtin_return_address(0);
	size_t old;
	void *n;

	if (is_vmalloc_addr(p))
		return vrealloc_caller(p, size, gfp, caller);
	n = kml_krealloc(p, size, kmalloc_attempt_gfp(gfp, size));
	if (n)
		return n;
	/* krealloc failed (or refused p, reported): kvmalloc, then move. */
	old = ZERO_OR_NULL_PTR(p) ? 0 : kml_ksize(p);
	if (!ZERO_OR_NULL_PTR(p) && !old)
		return NULL;	/* not kmemlab's: ksize reported it */
	n = kvmalloc_caller(size, gfp, caller);
	if (!n)
		return NULL;
	if (old) {
		memcpy(n, p, min(old, size));
		kml_kfree(p);
	}
	return n;
}
EXPORT_SYMBOL_GPL(kml_kvrealloc);
