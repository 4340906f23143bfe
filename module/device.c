// SPDX-License-Identifier: GPL-2.0
/*
 * device.c - /dev/kmemlab: kernel allocations driven from user space by
 * handle (see include/uapi/kmemlab.h).
 *
 * Each open file keeps its handles in an xarray under its own mutex; a
 * handle names a cache this file made, an object of such a cache, or a
 * kmalloc'd block. Nothing is ever addressed by kernel pointer, one file
 * cannot see another's handles, and release frees what the file holds:
 * objects first, then caches. mmap and KMEMLAB_IOC_BRK are the heaps of
 * heap.c.
 *
 * What a file costs Linux (the kml_file, its handles and the xarray's
 * nodes) is charged to the opener's memory cgroup; the region memory of
 * its objects and kmalloc blocks is charged to the opener's uid (user.c)
 * and refused with ENOMEM past that uid's quota.
 *
 * The node is root's (0600). dev_group=GID makes it 0666 and lets open
 * succeed for root and the members of that group only.
 */
#include <linux/capability.h>
#include <linux/cred.h>
#include <linux/ctype.h>
#include <linux/fs.h>
#include <linux/miscdevice.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <linux/xarray.h>
#include "kmemlab_internal.h"
#include "include/kmemlab.h"
#include "include/uapi/kmemlab.h"

enum { H_CACHE = 1, H_OBJ, H_KMALLOC };

struct kml_handle {
	int type;
	void *ptr;			/* the cache, object or block */
	struct kml_handle *cache;	/* H_OBJ: its cache's handle */
	unsigned long live;		/* H_CACHE: this file's objects in it */
	/*
	 * H_OBJ, H_KMALLOC: the region bytes charged to the file's uid (the
	 * cache's slot, or ksize). H_CACHE: the slot size its objects charge.
	 */
	unsigned long bytes;
};

struct kml_file {
	struct mutex lock;		/* handles and each handle's fields */
	struct xarray handles;
	struct kml_heap_file *heaps;	/* heap.c's: one heap per mm */
	struct kml_user *user;		/* the opener's fsuid: charged for objects */
};

static int dev_group = -1;
module_param(dev_group, int, 0444);
MODULE_PARM_DESC(dev_group, "a group whose members may open /dev/kmemlab besides root (default -1: root only)");

#define MAX_OBJECT	(4u << 20)
#define CACHE_FLAGS	(KMEMLAB_CACHE_DEBUG_CHECKS | KMEMLAB_CACHE_DEBUG_REDZONE | \
			 KMEMLAB_CACHE_DEBUG_POISON | KMEMLAB_CACHE_DEBUG_OWNER | \
			 KMEMLAB_CACHE_HWCACHE_ALIGN)

static int kml_open(struct inode *inode, struct file *file)
{
	struct kml_file *f;

	if (dev_group >= 0 && !capable(CAP_DAC_OVERRIDE) &&
	    !in_group_p(make_kgid(&init_user_ns, dev_group)))
		return -EACCES;
	f = kzalloc(sizeof(*f), GFP_KERNEL_ACCOUNT);
	if (!f)
		return -ENOMEM;
	f->user = kml_user_get(file->f_cred->fsuid);
	if (!f->user) {
		kfree(f);
		return -ENOMEM;
	}
	mutex_init(&f->lock);
	xa_init_flags(&f->handles, XA_FLAGS_ALLOC1 | XA_FLAGS_ACCOUNT);
	f->heaps = kml_heap_open();
	if (IS_ERR(f->heaps)) {
		int err = PTR_ERR(f->heaps);

		kml_user_put(f->user);
		kfree(f);
		return err;
	}
	file->private_data = f;
	return 0;
}

static void release_handle(struct kml_file *f, struct kml_handle *h)
{
	switch (h->type) {
	case H_OBJ:
		kml_cache_free(h->cache->ptr, h->ptr);
		h->cache->live--;
		kml_user_uncharge(f->user, h->bytes);
		break;
	case H_KMALLOC:
		kml_kfree(h->ptr);
		kml_user_uncharge(f->user, h->bytes);
		break;
	case H_CACHE:
		kml_cache_destroy(h->ptr);
		break;
	}
	kfree(h);
}

static int kml_release(struct inode *inode, struct file *file)
{
	struct kml_file *f = file->private_data;
	struct kml_handle *h;
	unsigned long id;
	int pass;

	/* Objects (pass 0) before the caches they live in (pass 1). */
	for (pass = 0; pass < 2; pass++)
		xa_for_each(&f->handles, id, h) {
			bool cache = h->type == H_CACHE;

			if (cache != pass)
				continue;
			xa_erase(&f->handles, id);
			release_handle(f, h);
			cond_resched();		/* up to KMEMLAB_MAX_HANDLES */
		}
	xa_destroy(&f->handles);
	kml_heap_release(f->heaps);
	kml_user_put(f->user);
	kfree(f);
	return 0;
}

static struct kml_handle *lookup(struct kml_file *f, u32 id, int type, int *err)
{
	struct kml_handle *h = id ? xa_load(&f->handles, id) : NULL;

	*err = !h ? -ENOENT : h->type != type ? -EINVAL : 0;
	return *err ? NULL : h;
}

/*
 * A new handle for @ptr. @bytes: for H_OBJ and H_KMALLOC, what @ptr takes
 * of the region, charged to the file's uid here (ENOMEM past its quota);
 * for H_CACHE, what each object will take. On failure nothing is kept or
 * charged, and the caller frees @ptr.
 */
static int add_handle(struct kml_file *f, int type, void *ptr, struct kml_handle *cache,
		      unsigned long bytes, u32 *id)
{
	static const char * const what[] = {
		[H_CACHE] = "cache", [H_OBJ] = "cache object", [H_KMALLOC] = "kmalloc",
	};
	struct kml_handle *h;
	int err;

	if (type != H_CACHE) {
		err = kml_user_charge(f->user, bytes, what[type]);
		if (err)
			return err;
	}
	h = kzalloc(sizeof(*h), GFP_KERNEL_ACCOUNT);
	if (!h) {
		err = -ENOMEM;
		goto uncharge;
	}
	h->type = type;
	h->ptr = ptr;
	h->cache = cache;
	h->bytes = bytes;
	err = xa_alloc(&f->handles, id, h, XA_LIMIT(1, KMEMLAB_MAX_HANDLES),
		       GFP_KERNEL_ACCOUNT);
	if (err) {
		kfree(h);
		if (err == -EBUSY) {
			pr_warn_ratelimited("kmemlab: pid %d: file holds KMEMLAB_MAX_HANDLES=%d handles: %s refused\n",
					    task_pid_nr(current), KMEMLAB_MAX_HANDLES,
					    what[type]);
			err = -ENOSPC;
		}
		goto uncharge;
	}
	if (cache)
		cache->live++;
	return 0;

uncharge:
	if (type != H_CACHE)
		kml_user_uncharge(f->user, bytes);
	return err;
}

static bool name_ok(const char *name)
{
	const char *p;

	for (p = name; *p; p++)
		if (!isalnum(*p) && *p != '-' && *p != '_' && *p != '.')
			return false;
	/* A name is a debugfs directory too. */
	return p != name && strcmp(name, ".") && strcmp(name, "..");
}

static long cache_create(struct kml_file *f, void __user *arg)
{
	struct kmemlab_cache_req req;
	char name[KMEMLAB_NAME_MAX + 1];
	struct kml_cache_geometry g;
	struct kml_cache *c;
	long len;
	int err;

	if (copy_from_user(&req, arg, sizeof(req)))
		return -EFAULT;
	if (req.reserved[0] || req.reserved[1] || req.flags & ~CACHE_FLAGS ||
	    !req.size || req.size > MAX_OBJECT ||
	    (req.align & (req.align - 1)) || req.align > PAGE_SIZE)
		return -EINVAL;
	len = strncpy_from_user(name, u64_to_user_ptr(req.name), sizeof(name));
	if (len < 0)
		return -EFAULT;
	if (len == sizeof(name))
		return -ENAMETOOLONG;
	if (!name_ok(name))
		return -EINVAL;
	/* The uapi flag bits are the KML_SLAB_* bits. */
	BUILD_BUG_ON((KMEMLAB_CACHE_DEBUG_CHECKS ^ KML_SLAB_CONSISTENCY) |
		     (KMEMLAB_CACHE_DEBUG_REDZONE ^ KML_SLAB_RED_ZONE) |
		     (KMEMLAB_CACHE_DEBUG_POISON ^ KML_SLAB_POISON) |
		     (KMEMLAB_CACHE_DEBUG_OWNER ^ KML_SLAB_STORE_USER) |
		     (KMEMLAB_CACHE_HWCACHE_ALIGN ^ KML_SLAB_HWCACHE_ALIGN));
	err = kml_cache_create_err(name, req.size, req.align, req.flags, NULL, &c);
	if (err)
		return err;
	kml_slab_geometry(c, &g);
	mutex_lock(&f->lock);
	err = add_handle(f, H_CACHE, c, NULL, g.size, &req.handle);
	mutex_unlock(&f->lock);
	if (err) {
		kml_cache_destroy(c);
		return err;
	}
	if (copy_to_user(arg, &req, sizeof(req)))
		return -EFAULT;		/* the cache stays, freed at close */
	return 0;
}

static long obj_op(struct kml_file *f, unsigned int cmd, void __user *arg)
{
	gfp_t gfp = GFP_KERNEL;
	struct kmemlab_obj_req req;
	struct kml_handle *h, *c;
	void *p;
	int err = 0;

	if (copy_from_user(&req, arg, sizeof(req)))
		return -EFAULT;
	if (req.reserved[0] || req.reserved[1] || req.flags & ~KMEMLAB_OBJ_ZERO)
		return -EINVAL;
	/* Fields a command does not read must be zero, to keep them for later. */
	if ((cmd != KMEMLAB_IOC_CACHE_ALLOC && cmd != KMEMLAB_IOC_CACHE_DESTROY && req.cache) ||
	    (cmd != KMEMLAB_IOC_KMALLOC && req.size) ||
	    ((cmd == KMEMLAB_IOC_CACHE_ALLOC || cmd == KMEMLAB_IOC_KMALLOC ||
	      cmd == KMEMLAB_IOC_CACHE_DESTROY) && req.handle) ||
	    (req.flags && cmd != KMEMLAB_IOC_CACHE_ALLOC && cmd != KMEMLAB_IOC_KMALLOC))
		return -EINVAL;
	if (req.flags & KMEMLAB_OBJ_ZERO)
		gfp |= __GFP_ZERO;
	mutex_lock(&f->lock);
	switch (cmd) {
	case KMEMLAB_IOC_CACHE_DESTROY:
		c = lookup(f, req.cache, H_CACHE, &err);
		if (c && c->live)
			err = -EBUSY;
		else if (c)
			release_handle(f, xa_erase(&f->handles, req.cache));
		break;
	case KMEMLAB_IOC_CACHE_ALLOC:
		c = lookup(f, req.cache, H_CACHE, &err);
		if (!c)
			break;
		p = kml_cache_alloc(c->ptr, gfp);
		if (!p) {
			err = -ENOMEM;
			break;
		}
		err = add_handle(f, H_OBJ, p, c, c->bytes, &req.handle);
		if (err)
			kml_cache_free(c->ptr, p);
		else
			req.size = kml_slab_object_size(c->ptr);
		break;
	case KMEMLAB_IOC_KMALLOC:
		if (!req.size || req.size > MAX_OBJECT) {
			err = -EINVAL;
			break;
		}
		p = kml_kmalloc(req.size, gfp | __GFP_NOWARN);
		if (!p) {
			err = -ENOMEM;
			break;
		}
		req.size = kml_ksize(p);
		err = add_handle(f, H_KMALLOC, p, NULL, req.size, &req.handle);
		if (err)
			kml_kfree(p);
		break;
	case KMEMLAB_IOC_CACHE_FREE:
	case KMEMLAB_IOC_KFREE:
		h = lookup(f, req.handle, cmd == KMEMLAB_IOC_KFREE ? H_KMALLOC : H_OBJ, &err);
		if (h)
			release_handle(f, xa_erase(&f->handles, req.handle));
		break;
	}
	mutex_unlock(&f->lock);
	if (!err && copy_to_user(arg, &req, sizeof(req)))
		err = -EFAULT;
	return err;
}

static long kml_ioctl(struct file *file, unsigned int cmd, unsigned long arg)
{
	struct kml_file *f = file->private_data;

	switch (cmd) {
	case KMEMLAB_IOC_CACHE_CREATE:
		return cache_create(f, (void __user *)arg);
	case KMEMLAB_IOC_CACHE_DESTROY:
	case KMEMLAB_IOC_CACHE_ALLOC:
	case KMEMLAB_IOC_CACHE_FREE:
	case KMEMLAB_IOC_KMALLOC:
	case KMEMLAB_IOC_KFREE:
		return obj_op(f, cmd, (void __user *)arg);
	case KMEMLAB_IOC_BRK:
		return kml_heap_brk(f->heaps, (void __user *)arg);
	default:
		return -ENOTTY;
	}
}

static int kml_mmap(struct file *file, struct vm_area_struct *vma)
{
	struct kml_file *f = file->private_data;

	return kml_heap_mmap(f->heaps, vma);
}

static const struct file_operations kml_fops = {
	.owner = THIS_MODULE,
	.open = kml_open,
	.release = kml_release,
	.unlocked_ioctl = kml_ioctl,
	.mmap = kml_mmap,
	.compat_ioctl = compat_ptr_ioctl,
	.llseek = noop_llseek,
};

static struct miscdevice kml_misc = {
	.minor = MISC_DYNAMIC_MINOR,
	.name = "kmemlab",
	.fops = &kml_fops,
	.mode = 0600,
};

int kml_device_init(void)
{
	int err;

	if (dev_group >= 0)
		kml_misc.mode = 0666;	/* kml_open checks the group */
	err = misc_register(&kml_misc);

	if (err)
		pr_err("kmemlab: cannot register /dev/kmemlab: %d\n", err);
	return err;
}

void kml_device_exit(void)
{
	misc_deregister(&kml_misc);
}
