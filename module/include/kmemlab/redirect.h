/* SPDX-License-Identifier: GPL-2.0 */
/*
 * redirect.h - build unmodified kernel code on kmemlab's allocators.
 *
 * Compile a kernel module's sources with
 *	-include <this header>
 * and every call of the kernel's allocator API in them (kmalloc, kfree,
 * kmem_cache_*, vmalloc, vfree, kvmalloc, kfree_rcu, alloc_pages,
 * __free_pages, put_page, ...) becomes the kml_* call of kmemlab.h, served
 * from kmemlab's region. The module then needs kmemlab loaded (its kml_*
 * symbols come from kmemlab's Module.symvers: KBUILD_EXTRA_SYMBOLS).
 *
 * How: the kernel headers that declare the API are included here first, so
 * their declarations and inline functions are parsed as the kernel wrote
 * them and their include guards keep them from being parsed again; then
 * each name is #undef'd (on 6.10 and later most are alloc_hooks() macros)
 * and #defined onto kmemlab. This works the same on 6.1 and 6.12 headers.
 *
 * Where the kernel's own code would meet a kmemlab pointer:
 * - struct kmem_cache is renamed struct kml_cache. Every kernel function
 *   declared above that takes a struct kmem_cache * (mempool_create_slab_pool,
 *   a kernel inline, ...) then refuses a kmemlab cache at compile time
 *   (incompatible pointer types is an error in Kbuild); 6.12's
 *   mempool_create_slab_pool and mempool_init_slab_pool, macros that cast
 *   it to void *, are refused by name.
 * - alloc_inode_sb() and kmem_cache_alloc_lru() (fs.h, slab.h) would hand
 *   a kmemlab cache to the kernel's slab: mapped onto kml_cache_alloc (the
 *   list_lru argument only pre-allocates memcg lists; kmemlab's objects
 *   are charged to no cgroup).
 * - kfree_rcu() and kvfree_rcu() expand to the kernel's kvfree_call_rcu(),
 *   which frees with the kernel's kvfree: mapped onto kml_kvfree_call_rcu()
 *   (an rcu_head in the object) and kml_kvfree_rcu_mightsleep() (none).
 * - Kernel functions that allocate memory for the caller to kfree or vfree
 *   (kmemdup_nul, kstrdup_const/kfree_const, kvmemdup, memdup_user,
 *   memdup_user_nul, vmemdup_user, memdup_array_user, kasprintf,
 *   kvasprintf, vmalloc_array, vcalloc, kfree_link as a delayed call):
 *   re-done here on kmemlab. Those kmemlab cannot mirror (vmalloc_user,
 *   vmalloc_32, vmalloc_huge, __vmalloc_node_range, folio_alloc,
 *   strndup_user, kmem_buckets) fail the build with a message.
 * - A kernel function this header does not know that returns memory the
 *   caller frees with kfree (bio_kmalloc, kobject_get_path, ...) hands
 *   kml_kfree a pointer that is not kmemlab's: it is refused, reported and
 *   counted (debugfs stats misuse_kfree), never passed on. put_page(), by
 *   contrast, takes any page: page-cache pages go to the kernel's put_page.
 * - kvfree_call_rcu() called directly, folio_put() and call_rcu()
 *   callbacks are not mapped: code that frees kmemlab memory through them
 *   must call the kmemlab name.
 * - Kernel headers first included after this one are rewritten too: an
 *   inline function there that allocates from a kernel-owned cache
 *   (jbd2.h's jbd2_alloc_inode, for one) would hand that cache to kmemlab.
 *   Code that includes such a header must include it before this one
 *   (e.g. with a second -include ahead of it).
 */
#ifndef _KMEMLAB_REDIRECT_H
#define _KMEMLAB_REDIRECT_H

#include <linux/fs.h>
#include <linux/gfp.h>
#include <linux/highmem.h>
#include <linux/kernel.h>
#include <linux/mempool.h>
#include <linux/mm.h>
#include <linux/pagemap.h>
#include <linux/rcupdate.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/uaccess.h>
#include <linux/vmalloc.h>
#include <asm/sections.h>
#include "../kmemlab.h"

/* KML_REDIRECT_NARG(...): how many arguments (1 to 7). */
#define KML_REDIRECT_NARG_(_1, _2, _3, _4, _5, _6, _7, n, ...) n
#define KML_REDIRECT_NARG(...) KML_REDIRECT_NARG_(__VA_ARGS__, 7, 6, 5, 4, 3, 2, 1, 0)
#define KML_REDIRECT_CAT_(a, b) a##b
#define KML_REDIRECT_CAT(a, b) KML_REDIRECT_CAT_(a, b)
/* KML_REDIRECT_BY_NARG(name_, ...): name_N(...) for N arguments. */
#define KML_REDIRECT_BY_NARG(name, ...) \
	KML_REDIRECT_CAT(name, KML_REDIRECT_NARG(__VA_ARGS__))(__VA_ARGS__)
/* A call kmemlab does not mirror: the build stops with @msg. */
#define KML_REDIRECT_REFUSE(msg) ({ static_assert(0, "kmemlab/redirect.h: " msg); NULL; })

/* Renamed after the kernel's declarations: see above. */
#define kmem_cache kml_cache

/* kmalloc */
#undef kmalloc
#define kmalloc(size, gfp)			kml_kmalloc(size, gfp)
#undef __kmalloc
#define __kmalloc(size, gfp)			kml_kmalloc(size, gfp)
#undef kzalloc
#define kzalloc(size, gfp)			kml_kzalloc(size, gfp)
#undef kcalloc
#define kcalloc(n, size, gfp)			kml_kcalloc(n, size, gfp)
#undef krealloc
#define krealloc(p, size, gfp)			kml_krealloc(p, size, gfp)
#undef kmalloc_array
#define kmalloc_array(n, size, gfp)		kml_kmalloc_array(n, size, gfp)
#undef krealloc_array
#define krealloc_array(p, n, size, gfp)		kml_krealloc_array(p, n, size, gfp)
#undef kmalloc_node
#define kmalloc_node(size, gfp, node)		kml_kmalloc_node(size, gfp, node)
#undef __kmalloc_node
#define __kmalloc_node(size, gfp, node)		kml_kmalloc_node(size, gfp, node)
#undef kzalloc_node
#define kzalloc_node(size, gfp, node)		kml_kzalloc_node(size, gfp, node)
#undef kcalloc_node
#define kcalloc_node(n, size, gfp, node)	kml_kcalloc_node(n, size, gfp, node)
#undef kmalloc_array_node
#define kmalloc_array_node(n, size, gfp, node)	kml_kmalloc_array_node(n, size, gfp, node)
/* The frees are object-like: code passes them as callbacks too. */
#undef kfree
#define kfree					kml_kfree
#undef kfree_sensitive
#define kfree_sensitive				kml_kfree_sensitive
#undef ksize
#define ksize					kml_ksize
#undef kmemdup
#define kmemdup(src, len, gfp)			kml_kmemdup(src, len, gfp)
#undef kstrdup
#define kstrdup(s, gfp)				kml_kstrdup(s, gfp)
#undef kstrndup
#define kstrndup(s, max, gfp)			kml_kstrndup(s, max, gfp)

/* kmem_cache_* */
#ifdef kmem_cache_create
/* 6.12: kmem_cache_create takes a struct kmem_cache_args * or the old five. */
#define KML_REDIRECT_CACHE_ARGS
#endif
#undef kmem_cache_create
#define kmem_cache_create(...)	KML_REDIRECT_BY_NARG(kml_redirect_cache_create_, __VA_ARGS__)
/* The kernel's five arguments, as 6.1 has them and 6.12 still takes them. */
#define kml_redirect_cache_create_5(name, size, align, flags, ctor) \
	kml_kmem_cache_create(name, size, align, flags, ctor)
#ifdef KML_REDIRECT_CACHE_ARGS
/*
 * 6.12's four: a struct kmem_cache_args * (or NULL) and flags. KMEM_CACHE
 * passes a compound literal, commas and all, to __kmem_cache_create_args:
 * the C call sorts them out.
 */
#define kml_redirect_cache_create_4(name, size, args, flags) \
	kml_redirect_cache_create_args(name, size, args, flags)
#undef __kmem_cache_create_args
#define __kmem_cache_create_args(name, size, ...) \
	kml_redirect_cache_create_args(name, size, __VA_ARGS__)
#else
#define kml_redirect_cache_create_4(...) \
	KML_REDIRECT_REFUSE("kmem_cache_create(name, size, args, flags) is 6.12's")
#endif
#undef kmem_cache_create_usercopy
/*
 * The usercopy window is hardened usercopy's whitelist of slab objects;
 * kmemlab's objects are not in the kernel's slab pages, so it never asks.
 */
#define kmem_cache_create_usercopy(name, size, align, flags, useroffset, usersize, ctor) \
	kml_kmem_cache_create(name, size, align, flags, ctor)

#undef kmem_cache_destroy
#define kmem_cache_destroy			kml_cache_destroy
#undef kmem_cache_alloc
#define kmem_cache_alloc(c, gfp)		kml_cache_alloc(c, gfp)
#undef kmem_cache_zalloc
#define kmem_cache_zalloc(c, gfp)		kml_cache_zalloc(c, gfp)
#undef kmem_cache_alloc_node
#define kmem_cache_alloc_node(c, gfp, node)	kml_cache_alloc_node(c, gfp, node)
#undef kmem_cache_alloc_lru
#define kmem_cache_alloc_lru(c, lru, gfp)	kml_cache_alloc(c, gfp)
#undef alloc_inode_sb
#define alloc_inode_sb(sb, c, gfp)		kml_cache_alloc(c, gfp)
#undef kmem_cache_free
#define kmem_cache_free				kml_cache_free
#undef kmem_cache_alloc_bulk
#define kmem_cache_alloc_bulk(c, gfp, nr, p)	kml_cache_alloc_bulk(c, gfp, nr, p)
#undef kmem_cache_free_bulk
#define kmem_cache_free_bulk(c, nr, p)		kml_cache_free_bulk(c, nr, p)
#undef kmem_cache_size
#define kmem_cache_size(c)			kml_cache_size(c)
#undef kmem_cache_shrink
#define kmem_cache_shrink(c)			kml_cache_shrink(c)
/*
 * mempool_create(n, mempool_alloc_slab, mempool_free_slab, cache) hands
 * the cache over as a void *: the slab element callbacks are kmemlab's.
 */
static inline void *kml_redirect_mempool_alloc_slab(gfp_t gfp, void *pool_data)
{
	return kml_cache_alloc(pool_data, gfp);
}

static inline void kml_redirect_mempool_free_slab(void *element, void *pool_data)
{
	kml_cache_free(pool_data, element);
}

#undef mempool_alloc_slab
#define mempool_alloc_slab			kml_redirect_mempool_alloc_slab
#undef mempool_free_slab
#define mempool_free_slab			kml_redirect_mempool_free_slab
/* 6.12's mempool macros cast the cache to void *: refused by name. */
#undef mempool_create_slab_pool
#define mempool_create_slab_pool(...) \
	KML_REDIRECT_REFUSE("mempool_create_slab_pool: the mempool would call the kernel's slab")
#undef mempool_init_slab_pool
#define mempool_init_slab_pool(...) \
	KML_REDIRECT_REFUSE("mempool_init_slab_pool: the mempool would call the kernel's slab")
#undef kmem_buckets_create
#define kmem_buckets_create(...)	KML_REDIRECT_REFUSE("kmem_buckets are not mirrored")

/* vmalloc */
#undef vmalloc
#define vmalloc(size)				kml_vmalloc(size)
#undef vzalloc
#define vzalloc(size)				kml_vzalloc(size)
#undef __vmalloc
#define __vmalloc(size, gfp)			kml___vmalloc(size, gfp)
#undef vmalloc_node
#define vmalloc_node(size, node)		kml_vmalloc_node(size, node)
#undef vzalloc_node
#define vzalloc_node(size, node)		kml_vzalloc_node(size, node)
#undef __vmalloc_node
#define __vmalloc_node(size, align, gfp, node, caller) \
	kml___vmalloc_node(size, align, gfp, node, caller)
#undef vfree
#define vfree					kml_vfree
#undef vmap
#define vmap(pages, count, flags, prot)		kml_vmap(pages, count, flags, prot)
#undef vunmap
#define vunmap(addr)				kml_vunmap(addr)
/*
 * vmalloc_to_page stays the kernel's: it reads the page tables, which
 * kmemlab's areas are in too, and it also serves the module's own
 * addresses (kml_vmalloc_to_page answers only for kmemlab's pages).
 */
/* 6.12's vrealloc would vfree a kmemlab area with the kernel's vfree. */
#undef vrealloc
#define vrealloc(...)	KML_REDIRECT_REFUSE("vrealloc is not mirrored: use kvrealloc")
#undef vmalloc_array
#define vmalloc_array(n, size, gfp)		kml_redirect_vmalloc_array(n, size, gfp, false)
#undef vcalloc
#define vcalloc(n, size, gfp)			kml_redirect_vmalloc_array(n, size, gfp, true)
#undef vmalloc_user
#define vmalloc_user(...)	KML_REDIRECT_REFUSE("vmalloc_user: kmemlab has no VM_USERMAP areas")
#undef vmalloc_32
#define vmalloc_32(...)		KML_REDIRECT_REFUSE("vmalloc_32: the region is not below 4 GiB")
#undef vmalloc_32_user
#define vmalloc_32_user(...)	KML_REDIRECT_REFUSE("vmalloc_32_user: the region is not low")
#undef vmalloc_huge
#define vmalloc_huge(...)	KML_REDIRECT_REFUSE("vmalloc_huge: kmemlab maps single pages")
#undef __vmalloc_node_range
#define __vmalloc_node_range(...) KML_REDIRECT_REFUSE("__vmalloc_node_range: kmemlab has no ranges")

/* kvmalloc */
#undef kvmalloc
#define kvmalloc(size, gfp)			kml_kvmalloc(size, gfp)
#undef kvzalloc
#define kvzalloc(size, gfp)			kml_kvzalloc(size, gfp)
#undef kvmalloc_node
#define kvmalloc_node(size, gfp, node)		kml_kvmalloc_node(size, gfp, node)
#undef kvzalloc_node
#define kvzalloc_node(size, gfp, node)		kml_kvzalloc_node(size, gfp, node)
#undef kvmalloc_array
#define kvmalloc_array(n, size, gfp)		kml_kvmalloc_array(n, size, gfp)
#undef kvcalloc
#define kvcalloc(n, size, gfp)			kml_kvcalloc(n, size, gfp)
/* 6.1: kvrealloc(p, oldsize, newsize, gfp); 6.12: kvrealloc(p, size, gfp). */
#undef kvrealloc
#define kvrealloc(...)		KML_REDIRECT_BY_NARG(kml_redirect_kvrealloc_, __VA_ARGS__)
#define kml_redirect_kvrealloc_4(p, oldsize, size, gfp)	kml_kvrealloc(p, size, gfp)
#define kml_redirect_kvrealloc_3(p, size, gfp)		kml_kvrealloc(p, size, gfp)
#undef kvfree
#define kvfree					kml_kvfree
#undef kvfree_sensitive
#define kvfree_sensitive			kml_kvfree_sensitive

/* kfree_rcu: with an rcu_head in the object (two arguments) or without. */
#undef kfree_rcu
#define kfree_rcu(...)		KML_REDIRECT_BY_NARG(kml_redirect_kvfree_rcu_, __VA_ARGS__)
#undef kvfree_rcu
#define kvfree_rcu(...)		KML_REDIRECT_BY_NARG(kml_redirect_kvfree_rcu_, __VA_ARGS__)
#undef kfree_rcu_mightsleep
#define kfree_rcu_mightsleep(ptr)		kml_redirect_kvfree_rcu_1(ptr)
#undef kvfree_rcu_mightsleep
#define kvfree_rcu_mightsleep(ptr)		kml_redirect_kvfree_rcu_1(ptr)
#define kml_redirect_kvfree_rcu_2(ptr, rhf)					\
do {										\
	typeof(ptr) ___p = (ptr);						\
										\
	if (___p)								\
		kml_kvfree_call_rcu(&___p->rhf, (void *)___p);			\
} while (0)
#define kml_redirect_kvfree_rcu_1(ptr)						\
do {										\
	typeof(ptr) ___p = (ptr);						\
										\
	if (___p)								\
		kml_kvfree_rcu_mightsleep((void *)___p);			\
} while (0)

/* Pages */
#undef alloc_pages
#define alloc_pages(gfp, order)			kml_alloc_pages(gfp, order)
#undef alloc_pages_node
#define alloc_pages_node(node, gfp, order)	kml_alloc_pages(gfp, order)
#undef alloc_page
#define alloc_page(gfp)				kml_alloc_pages(gfp, 0)
#undef __get_free_pages
#define __get_free_pages(gfp, order)		kml_get_free_pages(gfp, order)
#undef __get_free_page
#define __get_free_page(gfp)			kml_get_free_page(gfp)
#undef get_zeroed_page
#define get_zeroed_page(gfp)			kml_get_zeroed_page(gfp)
#undef __free_pages
#define __free_pages(page, order)		kml___free_pages(page, order)
#undef __free_page
#define __free_page(page)			kml___free_pages(page, 0)
#undef free_pages
#define free_pages(addr, order)			kml_free_pages(addr, order)
#undef free_page
#define free_page(addr)				kml_free_page(addr)
#undef alloc_pages_exact
#define alloc_pages_exact(size, gfp)		kml_alloc_pages_exact(size, gfp)
#undef free_pages_exact
#define free_pages_exact(virt, size)		kml_free_pages_exact(virt, size)
#undef put_page
#define put_page(page)				kml_put_page(page)
#undef folio_alloc
#define folio_alloc(...)	KML_REDIRECT_REFUSE("folio_alloc: kmemlab has no folios")

/* Kernel functions that return memory for the caller to free, on kmemlab. */
#undef kmemdup_nul
#define kmemdup_nul(s, len, gfp)		kml_redirect_kmemdup_nul(s, len, gfp)
#undef kstrdup_const
#define kstrdup_const(s, gfp)			kml_redirect_kstrdup_const(s, gfp)
#undef kfree_const
#define kfree_const(p)				kml_redirect_kfree_const(p)
#undef kvmemdup
#define kvmemdup(src, len, gfp)			kml_redirect_kvmemdup(src, len, gfp)
#undef memdup_user
#define memdup_user(src, len)			kml_redirect_memdup_user(src, len, false, false)
#undef memdup_user_nul
#define memdup_user_nul(src, len)		kml_redirect_memdup_user(src, len, true, false)
#undef vmemdup_user
#define vmemdup_user(src, len)			kml_redirect_memdup_user(src, len, false, true)
#undef memdup_array_user
#define memdup_array_user(src, n, size)		kml_redirect_memdup_array_user(src, n, size, false)
#undef vmemdup_array_user
#define vmemdup_array_user(src, n, size)	kml_redirect_memdup_array_user(src, n, size, true)
#undef strndup_user
#define strndup_user(...)	KML_REDIRECT_REFUSE("strndup_user: use memdup_user_nul")
#undef kasprintf
#define kasprintf				kml_redirect_kasprintf
#undef kvasprintf
#define kvasprintf				kml_redirect_kvasprintf
#undef kfree_link
#define kfree_link				kml_redirect_kfree_link

static inline void *kml_redirect_vmalloc_array(size_t n, size_t size, gfp_t gfp, bool zero)
{
	size_t bytes;

	if (unlikely(check_mul_overflow(n, size, &bytes)))
		return NULL;
	return kml___vmalloc(bytes, zero ? gfp | __GFP_ZERO : gfp);
}

static inline char *kml_redirect_kmemdup_nul(const char *s, size_t len, gfp_t gfp)
{
	char *buf;

	if (!s)
		return NULL;
	buf = kml_kmalloc(len + 1, gfp);
	if (buf) {
		memcpy(buf, s, len);
		buf[len] = '\0';
	}
	return buf;
}

static inline const char *kml_redirect_kstrdup_const(const char *s, gfp_t gfp)
{
	if (is_kernel_rodata((unsigned long)s))
		return s;
	return kml_kstrdup(s, gfp);
}

static inline void kml_redirect_kfree_const(const void *p)
{
	if (!is_kernel_rodata((unsigned long)p))
		kml_kfree(p);
}

static inline void *kml_redirect_kvmemdup(const void *src, size_t len, gfp_t gfp)
{
	void *p = kml_kvmalloc(len, gfp);

	if (p)
		memcpy(p, src, len);
	return p;
}

static inline void *kml_redirect_memdup_user(const void __user *src, size_t len, bool nul,
					     bool kv)
{
	char *p;

	p = kv ? kml_kvmalloc(len + nul, GFP_USER) : kml_kmalloc(len + nul, GFP_USER);
	if (!p)
		return ERR_PTR(-ENOMEM);
	if (copy_from_user(p, src, len)) {
		if (kv)
			kml_kvfree(p);
		else
			kml_kfree(p);
		return ERR_PTR(-EFAULT);
	}
	if (nul)
		p[len] = '\0';
	return p;
}

static inline void *kml_redirect_memdup_array_user(const void __user *src, size_t n, size_t size,
						   bool kv)
{
	size_t bytes;

	if (unlikely(check_mul_overflow(n, size, &bytes)))
		return ERR_PTR(-EOVERFLOW);
	return kml_redirect_memdup_user(src, bytes, false, kv);
}

static inline __printf(2, 0) char *kml_redirect_kvasprintf(gfp_t gfp, const char *fmt, va_list ap)
{
	va_list aq;
	char *p;
	int len;

	va_copy(aq, ap);
	len = vsnprintf(NULL, 0, fmt, aq);
	va_end(aq);
	p = kml_kmalloc(len + 1, gfp);
	if (p)
		vsnprintf(p, len + 1, fmt, ap);
	return p;
}

static inline __printf(2, 3) char *kml_redirect_kasprintf(gfp_t gfp, const char *fmt, ...)
{
	va_list ap;
	char *p;

	va_start(ap, fmt);
	p = kml_redirect_kvasprintf(gfp, fmt, ap);
	va_end(ap);
	return p;
}

static inline void kml_redirect_kfree_link(void *p)
{
	kml_kfree(p);
}

#ifdef KML_REDIRECT_CACHE_ARGS
static inline struct kml_cache *kml_redirect_cache_create_args(const char *name, unsigned int size,
							       struct kmem_cache_args *args,
							       slab_flags_t flags)
{
	if (!args)
		return kml_kmem_cache_create(name, size, 0, flags, NULL);
	/* Where the free pointer lives is the slab allocator's own business. */
	if (args->use_freeptr_offset) {
		pr_err("kmemlab: kmem_cache_create(%s): freeptr_offset is not mirrored\n", name);
		return NULL;
	}
	/* useroffset and usersize: see kmem_cache_create_usercopy above. */
	return kml_kmem_cache_create(name, size, args->align, flags, args->ctor);
}
#endif

#endif /* _KMEMLAB_REDIRECT_H */
