// SPDX-License-Identifier: GPL-2.0
/*
 * debugfs.c - /sys/kernel/debug/kmemlab/: the allocators' state in the
 * kernel's own formats where one exists.
 *
 *   buddyinfo       as /proc/buddyinfo, zone "kmemlab"
 *   pagetypeinfo    the free-count table of /proc/pagetypeinfo
 *   extfrag_index   as extfrag/extfrag_index (mm/vmstat.c)
 *   unusable_index  as extfrag/unusable_index
 *   vmallocinfo     as /proc/vmallocinfo, for kml_vmalloc and kml_vmap areas
 *   slabinfo, slab/ as /proc/slabinfo 2.1, and a directory per cache (slab_api.c)
 *   pagemap         every page of the region as runs: FIRST COUNT STATE ORDER
 *   heaps           a line per /dev/kmemlab heap: pid, break, chunks,
 *                   resident pages, faults, pages shared with other heaps,
 *                   pages copied on write (heap.c)
 *   users           a line per uid with an account (an open /dev/kmemlab or
 *                   a heap), in uid order: uid heaps charged_kB limit_kB
 *                   refused; limit_kB is "-" for a uid without a quota
 *                   (user.c)
 *   stats           counters, one "name value" a line
 *   validate        reading checks every invariant of the buddy allocator
 *                   and of every cache, and prints violations
 *   drain           writing finishes the vfrees deferred from atomic context,
 *                   gives back the heap pages whose outside references went,
 *                   flushes every cache's magazines, frees empty slabs, and
 *                   gives every per-CPU page back to the free lists
 */
#include <linux/debugfs.h>
#include <linux/seq_file.h>
#include <linux/uaccess.h>
#include "kmemlab_internal.h"

static struct dentry *kml_dir;

static void print_zone(struct seq_file *m)
{
	seq_printf(m, "Node %d, zone %8s ", 0, "kmemlab");
}

static int buddyinfo_show(struct seq_file *m, void *v)
{
	struct kml_buddy_stats st;
	unsigned int o;

	kml_buddy_stats(&kml_buddy, &st);
	print_zone(m);
	for (o = 0; o <= st.max_order; o++)
		seq_printf(m, "%6lu ", st.nr_free[o]);
	seq_putc(m, '\n');
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(buddyinfo);

static int pagetypeinfo_show(struct seq_file *m, void *v)
{
	struct kml_buddy_stats st;
	unsigned int o;

	kml_buddy_stats(&kml_buddy, &st);
	seq_printf(m, "Page block order: %u\n", st.max_order);
	seq_printf(m, "Pages per block:  %u\n\n", 1u << st.max_order);
	seq_printf(m, "%-43s ", "Free pages count per migrate type at order");
	for (o = 0; o <= st.max_order; o++)
		seq_printf(m, "%6u ", o);
	seq_putc(m, '\n');
	seq_printf(m, "Node %4d, zone %8s, type %12s ", 0, "kmemlab", "Unmovable");
	for (o = 0; o <= st.max_order; o++)
		seq_printf(m, "%6lu ", st.nr_free[o]);
	seq_putc(m, '\n');
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(pagetypeinfo);

/* One row of an mm/vmstat.c index: "Node 0, zone kmemlab" then each order. */
static void index_row(struct seq_file *m, const char *fmt,
		      int (*index)(const unsigned long *, unsigned int, unsigned int))
{
	struct kml_buddy_stats st;
	unsigned int o;

	kml_buddy_stats(&kml_buddy, &st);
	print_zone(m);
	for (o = 0; o <= st.max_order; o++) {
		int i = index(st.nr_free, st.max_order, o);

		seq_printf(m, fmt, i / 1000, i % 1000);
	}
	seq_putc(m, '\n');
}

static int extfrag_index_show(struct seq_file *m, void *v)
{
	index_row(m, "%2d.%03d ", kml_frag_index);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(extfrag_index);

static int unusable_index_show(struct seq_file *m, void *v)
{
	index_row(m, "%d.%03d ", kml_unusable_index);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(unusable_index);

static const char *run_state(u16 tag)
{
	switch (KML_TAG_STATE(tag)) {
	case KML_PG_FREE:
		return "free";
	case KML_PG_PCP:
		return "pcp";
	case KML_PG_FREEING:
		return "freeing";
	case KML_PG_HELD:
		return "held";
	case KML_PG_ALLOC:
		return kml_kind_name[KML_TAG_KIND(tag) % KML_NR_KINDS];
	default:
		return "corrupt";
	}
}

struct pagemap_run {
	struct seq_file *m;
	u32 first, n;
	u16 tag;
};

static void pagemap_flush(struct pagemap_run *r)
{
	if (r->n)
		seq_printf(r->m, "%u %u %s %u\n", r->first, r->n, run_state(r->tag),
			   KML_TAG_ORDER(r->tag));
	r->n = 0;
}

/* Consecutive blocks with the same tag print as one run. */
static void pagemap_block(void *ctx, u32 idx, u32 n, u16 tag)
{
	struct pagemap_run *r = ctx;

	if (r->n && tag != r->tag)
		pagemap_flush(r);
	if (!r->n) {
		r->first = idx;
		r->tag = tag;
	}
	r->n += n;
}

#define PAGEMAP_CHUNK	4096	/* pages walked per hold of the zone lock */

static int pagemap_show(struct seq_file *m, void *v)
{
	struct pagemap_run r = { .m = m };
	u32 idx = 0;

	seq_printf(m, "# kmemlab pagemap: %lu pages of %lu bytes; first count state order\n",
		   kml_region.npages, PAGE_SIZE);
	while (idx < kml_region.npages && !seq_has_overflowed(m)) {
		idx = kml_buddy_walk(&kml_buddy, idx, PAGEMAP_CHUNK, pagemap_block, &r);
		cond_resched();
	}
	pagemap_flush(&r);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(pagemap);

DEFINE_SHOW_ATTRIBUTE(kml_vmallocinfo);
DEFINE_SHOW_ATTRIBUTE(kml_slabinfo);
DEFINE_SHOW_ATTRIBUTE(kml_heaps);
DEFINE_SHOW_ATTRIBUTE(kml_users);

static int stats_show(struct seq_file *m, void *v)
{
	struct kml_slab_sys_stats ss;
	struct kml_buddy_stats st;
	unsigned int o, i;

	kml_buddy_stats(&kml_buddy, &st);
	kml_slab_sys_stats(&kml_slab, &ss);
	seq_printf(m, "region_pages %lu\n", kml_region.npages);
	seq_printf(m, "max_order %u\n", st.max_order);
	seq_printf(m, "free_pages %lu\n", st.free_pages);
	seq_printf(m, "baseline_free_pages %lu\n", kml_baseline_free);
	seq_printf(m, "pcp_pages %lu\n", st.pcp_pages);
	seq_printf(m, "pcp_high %u\npcp_batch %u\n", st.pcp_high, st.pcp_batch);
	seq_printf(m, "pcp_allocs %lu\npcp_frees %lu\n", st.pcp_allocs, st.pcp_frees);
	for (o = 0; o <= st.max_order; o++)
		seq_printf(m, "allocs_order%u %lu\n", o, st.allocs[o]);
	for (o = 0; o <= st.max_order; o++)
		seq_printf(m, "failed_order%u %lu\n", o, st.failed[o]);
	seq_printf(m, "splits %lu\nmerges %lu\ndrains %lu\n", st.splits, st.merges, st.drains);
	seq_printf(m, "held_pages %lu\n", st.held_pages);
	seq_printf(m, "vmalloc_allocs %lu\nvmalloc_frees %lu\nvmalloc_failed %lu\n",
		   KML_READ(kml_vm_stats.allocs), KML_READ(kml_vm_stats.frees),
		   KML_READ(kml_vm_stats.failed));
	seq_printf(m, "vmalloc_pages %lu\nmisuse_vfree %lu\n", KML_READ(kml_vm_stats.pages),
		   KML_READ(kml_vm_stats.bad_frees));
	seq_printf(m, "vfree_deferred %lu\nvmap_maps %lu\nvmap_unmaps %lu\nmisuse_vmap %lu\n",
		   KML_READ(kml_vm_stats.deferred), KML_READ(kml_vm_stats.vmaps),
		   KML_READ(kml_vm_stats.vunmaps), KML_READ(kml_vm_stats.bad_vmaps));
	seq_printf(m, "kmalloc_large_allocs %lu\nkmalloc_large_frees %lu\nmisuse_kfree %lu\n",
		   ss.large_allocs, ss.large_frees, ss.bad_frees);
	seq_printf(m, "heaps %ld\nheap_pages %ld\nheap_faults %ld\n",
		   atomic_long_read(&kml_heap_stats.heaps), atomic_long_read(&kml_heap_stats.pages),
		   atomic_long_read(&kml_heap_stats.faults));
	seq_printf(m, "heap_sigbus %ld\nheap_sigsegv %ld\nheap_fork_pages %ld\nheap_held %ld\n",
		   atomic_long_read(&kml_heap_stats.sigbus),
		   atomic_long_read(&kml_heap_stats.sigsegv),
		   atomic_long_read(&kml_heap_stats.fork_pages),
		   atomic_long_read(&kml_heap_stats.held));
	seq_printf(m, "heap_shared_pages %ld\nheap_cow_copies %ld\n",
		   atomic_long_read(&kml_heap_stats.shared),
		   atomic_long_read(&kml_heap_stats.cow_copies));
	seq_printf(m, "heap_committed_pages %ld\nheap_owned_pages %ld\nheap_commit_refused %ld\n",
		   atomic_long_read(&kml_heap_stats.committed),
		   atomic_long_read(&kml_heap_stats.owned),
		   atomic_long_read(&kml_heap_stats.commit_refused));
	seq_printf(m, "gfp_refused %ld\nnofail_waits %ld\nnofail_failed %ld\n",
		   atomic_long_read(&kml_gfp_stats.refused),
		   atomic_long_read(&kml_gfp_stats.nofail_waits),
		   atomic_long_read(&kml_gfp_stats.nofail_failed));
	for (i = 0; i < KML_NR_MISUSE; i++)
		seq_printf(m, "misuse_%s %lu\n", kml_misuse_name[i], st.misuse[i]);
	seq_printf(m, "user_refused %ld\n", atomic_long_read(&kml_user_refused));
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(stats);

__printf(2, 3) void kml_seq_print(void *ctx, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	seq_vprintf(ctx, fmt, ap);
	va_end(ap);
}

static int validate_show(struct seq_file *m, void *v)
{
	unsigned long n = kml_buddy_validate(&kml_buddy, kml_seq_print, m);

	if (n)
		seq_printf(m, "buddy: %lu violations\n", n);
	else
		seq_puts(m, "buddy: ok\n");
	n = kml_slab_validate_all(m);
	if (n)
		seq_printf(m, "slab: %lu violations\n", n);
	else
		seq_puts(m, "slab: ok\n");
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(validate);

static ssize_t drain_write(struct file *file, const char __user *buf,
			   size_t len, loff_t *ppos)
{
	bool yes;
	int err = kstrtobool_from_user(buf, len, &yes);

	if (err)
		return err;
	if (yes) {
		kml_vmalloc_flush();
		kml_heap_drain();
		kml_slab_shrink_all();
		kml_buddy_drain(&kml_buddy);
	}
	return len;
}

static const struct file_operations drain_fops = {
	.owner = THIS_MODULE,
	.write = drain_write,
	.llseek = noop_llseek,
};

int kml_debugfs_init(void)
{
	kml_dir = debugfs_create_dir("kmemlab", NULL);
	if (IS_ERR(kml_dir)) {
		pr_err("kmemlab: cannot create debugfs directory: %ld\n", PTR_ERR(kml_dir));
		return PTR_ERR(kml_dir);
	}
	debugfs_create_file("buddyinfo", 0444, kml_dir, NULL, &buddyinfo_fops);
	debugfs_create_file("pagetypeinfo", 0400, kml_dir, NULL, &pagetypeinfo_fops);
	debugfs_create_file("extfrag_index", 0444, kml_dir, NULL, &extfrag_index_fops);
	debugfs_create_file("unusable_index", 0444, kml_dir, NULL, &unusable_index_fops);
	debugfs_create_file("vmallocinfo", 0400, kml_dir, NULL, &kml_vmallocinfo_fops);
	debugfs_create_file("pagemap", 0400, kml_dir, NULL, &pagemap_fops);
	debugfs_create_file("stats", 0444, kml_dir, NULL, &stats_fops);
	debugfs_create_file("validate", 0400, kml_dir, NULL, &validate_fops);
	debugfs_create_file("drain", 0200, kml_dir, NULL, &drain_fops);
	debugfs_create_file("slabinfo", 0444, kml_dir, NULL, &kml_slabinfo_fops);
	debugfs_create_file("heaps", 0400, kml_dir, NULL, &kml_heaps_fops);
	debugfs_create_file("users", 0400, kml_dir, NULL, &kml_users_fops);
	kml_slab_debugfs_init(kml_dir);
	return 0;
}

void kml_debugfs_exit(void)
{
	kml_slab_debugfs_exit();
	debugfs_remove_recursive(kml_dir);
}
