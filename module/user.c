// SPDX-License-Identifier: GPL-2.0
/*
 * user.c - what each uid holds of the region, and how much it may.
 *
 * One account per uid (the opener's fsuid, as the device sees it), made on
 * first use and freed with its last reference. The accounts live in an
 * xarray keyed by the uid as init_user_ns numbers it, so lookups are a
 * short tree walk under the xarray's lock and debugfs lists them in uid
 * order without it. Every counter is an atomic: charging never takes a
 * lock, and reading them (debugfs users) never waits for a heap.
 *
 * Limits, checked at each charge: user_quota_pct of the region's pages in
 * charged bytes, and user_max_heaps heaps. Root is exempt from both unless
 * quota_root is set. A refusal is counted per uid and in kml_user_refused,
 * and reported in one rate-limited line that names the limit.
 */
#include <linux/cred.h>
#include <linux/moduleparam.h>
#include <linux/rcupdate.h>
#include <linux/refcount.h>
#include <linux/seq_file.h>
#include <linux/slab.h>
#include <linux/uidgid.h>
#include <linux/xarray.h>
#include "kmemlab_internal.h"

struct kml_user {
	refcount_t ref;
	kuid_t uid;
	atomic_long_t charged;		/* bytes of the region */
	atomic_long_t heaps;
	atomic_long_t refused;		/* charges and heaps turned down */
	struct rcu_head rcu;		/* debugfs walks the accounts under RCU */
};

/* An entry is present exactly while its reference count is above zero. */
static DEFINE_XARRAY(kml_users);

atomic_long_t kml_user_refused;

static int quota_pct_set(const char *val, const struct kernel_param *kp)
{
	return param_set_uint_minmax(val, kp, 0, 100);
}

static const struct kernel_param_ops quota_pct_ops = {
	.set = quota_pct_set,
	.get = param_get_uint,
};

static unsigned int user_quota_pct = 50;
module_param_cb(user_quota_pct, &quota_pct_ops, &user_quota_pct, 0644);
MODULE_PARM_DESC(user_quota_pct, "percent of the region one uid may hold, 0 to 100 (default 50; 0: no limit)");

static bool quota_root;
module_param(quota_root, bool, 0644);
MODULE_PARM_DESC(quota_root, "apply user_quota_pct and user_max_heaps to root too (default N)");

static unsigned int user_max_heaps = 65536;
module_param(user_max_heaps, uint, 0644);
MODULE_PARM_DESC(user_max_heaps, "heaps one uid may have (default 65536; 0: no limit)");

static uid_t user_id(const struct kml_user *u)
{
	return from_kuid(&init_user_ns, u->uid);
}

static bool exempt(const struct kml_user *u)
{
	return uid_eq(u->uid, GLOBAL_ROOT_UID) && !READ_ONCE(quota_root);
}

/* The quota in bytes, 0 when there is none. */
static unsigned long quota_bytes(const struct kml_user *u, unsigned int pct)
{
	if (!pct || exempt(u))
		return 0;
	return mult_frac(kml_region.npages, pct, 100) << PAGE_SHIFT;
}

/*
 * Adds @n to @v unless that would pass @limit (0: none). No transient
 * overshoot, so a charge that fits is never refused for a racing one that
 * does not.
 */
static bool add_within(atomic_long_t *v, unsigned long n, unsigned long limit, long *now)
{
	long old = atomic_long_read(v);

	do {
		if (limit && (n > limit || old > limit - n)) {
			*now = old;
			return false;
		}
	} while (!atomic_long_try_cmpxchg(v, &old, old + n));
	*now = old + n;
	return true;
}

static void count_refusal(struct kml_user *u)
{
	atomic_long_inc(&u->refused);
	atomic_long_inc(&kml_user_refused);
}

struct kml_user *kml_user_get(kuid_t uid)
{
	unsigned long key = from_kuid(&init_user_ns, uid);
	struct kml_user *u, *new = NULL;
	int err;

	for (;;) {
		xa_lock(&kml_users);
		u = xa_load(&kml_users, key);
		if (u) {
			refcount_inc(&u->ref);
			xa_unlock(&kml_users);
			kfree(new);
			return u;
		}
		if (new) {
			/* May drop the lock to allocate; -EBUSY if someone got in. */
			err = __xa_insert(&kml_users, key, new, GFP_KERNEL_ACCOUNT);
			xa_unlock(&kml_users);
			if (!err)
				return new;
			if (err != -EBUSY) {
				kfree(new);
				return NULL;
			}
			continue;
		}
		xa_unlock(&kml_users);
		new = kzalloc(sizeof(*new), GFP_KERNEL_ACCOUNT);
		if (!new)
			return NULL;
		refcount_set(&new->ref, 1);
		new->uid = uid;
	}
}

void kml_user_put(struct kml_user *u)
{
	long charged, heaps;

	/* refcount_dec_and_lock() spelled out, which sparse can follow. */
	if (!u || refcount_dec_not_one(&u->ref))
		return;
	xa_lock(&kml_users);
	if (!refcount_dec_and_test(&u->ref)) {
		xa_unlock(&kml_users);
		return;
	}
	__xa_erase(&kml_users, user_id(u));
	xa_unlock(&kml_users);
	charged = atomic_long_read(&u->charged);
	heaps = atomic_long_read(&u->heaps);
	if (charged || heaps)
		pr_err("kmemlab: uid %u: last reference dropped with %ld bytes charged and %ld heaps\n",
		       user_id(u), charged, heaps);
	kfree_rcu(u, rcu);
}

int kml_user_charge(struct kml_user *u, unsigned long bytes, const char *what)
{
	unsigned int pct = READ_ONCE(user_quota_pct);
	unsigned long limit;
	long now;

	if (!u)
		return 0;
	limit = quota_bytes(u, pct);
	if (add_within(&u->charged, bytes, limit, &now))
		return 0;
	count_refusal(u);
	pr_warn_ratelimited("kmemlab: uid %u over user_quota_pct=%u (%ld kB of %lu kB): %s of %lu bytes refused\n",
			    user_id(u), pct, now >> 10, limit >> 10, what, bytes);
	return -ENOMEM;
}

void kml_user_force_charge(struct kml_user *u, unsigned long bytes)
{
	if (u)
		atomic_long_add(bytes, &u->charged);
}

void kml_user_uncharge(struct kml_user *u, unsigned long bytes)
{
	long left = u ? atomic_long_sub_return(bytes, &u->charged) : 0;

	if (unlikely(left < 0))
		pr_err_ratelimited("kmemlab: uid %u: %lu bytes uncharged, %ld more than were charged\n",
				   user_id(u), bytes, -left);
}

int kml_user_add_heap(struct kml_user *u)
{
	unsigned int max = READ_ONCE(user_max_heaps);
	long now;

	if (add_within(&u->heaps, 1, exempt(u) ? 0 : max, &now))
		return 0;
	count_refusal(u);
	pr_warn_ratelimited("kmemlab: uid %u over user_max_heaps=%u (%ld heaps): heap refused\n",
			    user_id(u), max, now);
	return -EMFILE;
}

void kml_user_del_heap(struct kml_user *u)
{
	if (unlikely(atomic_long_dec_return(&u->heaps) < 0))
		pr_err_ratelimited("kmemlab: uid %u: more heaps deleted than added\n", user_id(u));
}

/* debugfs users: "-" in limit_kB when the uid has no quota. */
int kml_users_show(struct seq_file *m, void *v)
{
	unsigned int pct = READ_ONCE(user_quota_pct);
	struct kml_user *u;
	unsigned long key;

	seq_puts(m, "uid heaps charged_kB limit_kB refused\n");
	rcu_read_lock();
	xa_for_each(&kml_users, key, u) {
		unsigned long limit = quota_bytes(u, pct);

		seq_printf(m, "%lu %ld %ld ", key, atomic_long_read(&u->heaps),
			   atomic_long_read(&u->charged) >> 10);
		if (limit)
			seq_printf(m, "%lu", limit >> 10);
		else
			seq_putc(m, '-');
		seq_printf(m, " %ld\n", atomic_long_read(&u->refused));
	}
	rcu_read_unlock();
	return 0;
}

/* At unload, after every file and heap has gone: nothing should be left. */
void kml_user_exit(void)
{
	struct kml_user *u;
	unsigned long key;

	xa_for_each(&kml_users, key, u) {
		pr_err("kmemlab: uid %lu still has an account at unload: %ld bytes charged, %ld heaps\n",
		       key, atomic_long_read(&u->charged), atomic_long_read(&u->heaps));
		xa_erase(&kml_users, key);
		kfree(u);
	}
	xa_destroy(&kml_users);
}
