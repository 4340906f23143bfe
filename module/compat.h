/* SPDX-License-Identifier: GPL-2.0 */
/*
 * compat.h - the kernel API as the newest supported kernel spells it, for
 * the older ones. The rest of kmemlab is written as current kernel code
 * (6.12); each block below supplies one later interface on the kernels that
 * predate it, keyed on LINUX_VERSION_CODE. Supported: 6.1 (Debian 12, also
 * PREEMPT_RT) and 6.12 (Debian 13).
 */
#ifndef _KMEMLAB_COMPAT_H
#define _KMEMLAB_COMPAT_H

#include <linux/version.h>
#include <linux/mm.h>
#include <linux/mmzone.h>

/*
 * The largest buddy order. 6.4 made MAX_ORDER inclusive (it had been one
 * past the largest order) and 6.8 renamed it MAX_PAGE_ORDER.
 */
#if LINUX_VERSION_CODE < KERNEL_VERSION(6, 4, 0)
#define MAX_PAGE_ORDER	(MAX_ORDER - 1)
#elif LINUX_VERSION_CODE < KERNEL_VERSION(6, 8, 0)
#define MAX_PAGE_ORDER	MAX_ORDER
#endif

#if LINUX_VERSION_CODE < KERNEL_VERSION(6, 3, 0)
/* 6.3 made vm_flags read-only outside these helpers (per-VMA locking). */
static inline void vm_flags_set(struct vm_area_struct *vma, vm_flags_t flags)
{
	vma->vm_flags |= flags;
}

/*
 * 6.3 removed zap_page_range() and exported zap_page_range_single(); on 6.1
 * the former, for a range inside one VMA, does what the latter does.
 */
static inline void kml_zap_page_range_single(struct vm_area_struct *vma, unsigned long addr,
					     unsigned long size, struct zap_details *details)
{
	WARN_ON_ONCE(details);
	zap_page_range(vma, addr, size);
}

#define zap_page_range_single kml_zap_page_range_single
#endif

#endif /* _KMEMLAB_COMPAT_H */
