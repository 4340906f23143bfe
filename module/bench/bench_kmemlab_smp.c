// SPDX-License-Identifier: GPL-2.0
/*
 * bench_kmemlab_smp - kmemlab's caches next to the kernel's across CPUs,
 * in the same boot, with kthreads bound to CPUs. Prints, asserts nothing;
 * `kmemlab bench` loads it and prints the tables.
 *
 * xcpu_SIZE (parameter xcpu, default Y): a kthread bound to CPU 0
 * allocates objs objects (default 200 000) of SIZE bytes from a cache and
 * passes each, through a ring of pointers, to a kthread bound to CPU 1,
 * which frees it. The ring is the same code for kmemlab and for the
 * kernel, so the handoff costs both sides the same. Line "bench:
 * xcpu_SIZE OPS KML KERNEL", as bench_kmemlab_slab's: ns per object times
 * ten, from the producer's first allocation to the consumer's last free
 * (the two run at once: the slower side and the handoff set the pace),
 * best of three.
 *
 * scale_64 (parameter scale, default Y): one kthread per CPU, bound, all
 * started at once, each making pairs (default 1 000 000) alloc+free pairs
 * on one 64-byte cache (the per-CPU fast path), first on CPU 0 alone, then
 * on every online CPU. Line "bench: scale_64 NCPUS PAIRS KML_1 KML_N
 * KERNEL_1 KERNEL_N": pairs per second of all threads together (their
 * pairs over the time from the first thread's start to the last one's
 * end), best of three, with one CPU and with NCPUS.
 *
 * Every kthread is stopped, and every object freed, before a round
 * returns, whatever failed; a side that could not run (an allocation
 * failed, a kthread could not be made, CPU 1 is offline) prints n/a.
 */
#define pr_fmt(fmt) "bench: " fmt

#include <linux/module.h>
#include <linux/slab.h>
#include <linux/kthread.h>
#include <linux/sched.h>
#include <linux/completion.h>
#include <linux/cpumask.h>
#include <linux/ktime.h>
#include <linux/math64.h>
#include "../include/kmemlab.h"

#define RING		512	/* pointers in flight; a power of two */
#define PUBLISH		16	/* the producer publishes its index every PUBLISH objects */
#define ROUNDS		3

static bool xcpu = true;
module_param(xcpu, bool, 0444);
MODULE_PARM_DESC(xcpu, "run the cross-CPU producer/consumer cases (default Y)");
static bool scale = true;
module_param(scale, bool, 0444);
MODULE_PARM_DESC(scale, "run the SMP scaling row (default Y)");
/* Smaller counts make a quick run, on the debug kernel say. */
static uint objs = 200000;
module_param(objs, uint, 0444);
MODULE_PARM_DESC(objs, "objects each xcpu round passes from CPU 0 to CPU 1 (default 200000)");
static uint pairs = 1000000;
module_param(pairs, uint, 0444);
MODULE_PARM_DESC(pairs, "alloc+free pairs of each thread of the scaling row (default 1000000)");

struct side {
	struct kml_cache *kml;
	struct kmem_cache *kernel;
};

static void *obj_alloc(struct side *s, bool kml)
{
	return kml ? kml_cache_alloc(s->kml, GFP_KERNEL) : kmem_cache_alloc(s->kernel, GFP_KERNEL);
}

static void obj_free(struct side *s, bool kml, void *p)
{
	if (kml)
		kml_cache_free(s->kml, p);
	else
		kmem_cache_free(s->kernel, p);
}

/* Busy-waiting for the other CPU: yield now and then (cond_resched). */
static void wait_a_little(unsigned long *spins)
{
	if (++*spins % 1024 == 0)
		cond_resched();
	else
		cpu_relax();
}

/*
 * A kthread's work is done: wait for kthread_stop, so that the thread
 * that made it can always stop it (and the task is not gone before).
 */
static int idle_until_stopped(void)
{
	for (;;) {
		set_current_state(TASK_INTERRUPTIBLE);
		if (kthread_should_stop())
			break;
		schedule();
	}
	__set_current_state(TASK_RUNNING);
	return 0;
}

/*
 * The ring between the two CPUs: the producer writes ring[head % RING]
 * and then head (release), the consumer reads head (acquire), frees up to
 * it and then writes tail (release); each index has its cache line.
 * done (release, after the last head) says no more objects will come.
 */
struct xcpu {
	struct side *s;
	bool kml;
	bool failed;
	unsigned long n;
	u64 t_start, t_end;
	struct completion go, produced, consumed;
	unsigned long head ____cacheline_aligned;
	unsigned long tail ____cacheline_aligned;
	int done ____cacheline_aligned;
	void *ring[RING] ____cacheline_aligned;
};

/* Producer: publish ring[..head), written before (pairs with ring_head). */
static void ring_publish(struct xcpu *x, unsigned long head)
{
	/* release: the slots' pointers are visible before head */
	smp_store_release(&x->head, head);
}

/* Consumer: what the producer published (pairs with ring_publish). */
static unsigned long ring_head(struct xcpu *x)
{
	/* acquire: the slots below head are read after head */
	return smp_load_acquire(&x->head);
}

/* Consumer: slots below tail may be reused (pairs with ring_tail). */
static void ring_release(struct xcpu *x, unsigned long tail)
{
	/* release: the slots were read before the producer may overwrite them */
	smp_store_release(&x->tail, tail);
}

/* Producer: how far the consumer has read (pairs with ring_release). */
static unsigned long ring_tail(struct xcpu *x)
{
	/* acquire: slots are overwritten only after the consumer read them */
	return smp_load_acquire(&x->tail);
}

static int xcpu_producer(void *arg)
{
	struct xcpu *x = arg;
	unsigned long head = 0, spins = 0;

	wait_for_completion(&x->go);
	x->t_start = ktime_get_ns();
	while (head < x->n) {
		void *p;

		if (head - ring_tail(x) == RING) {
			/* Full: what is in it must be visible to the consumer. */
			ring_publish(x, head);
			while (head - ring_tail(x) == RING)
				wait_a_little(&spins);
		}
		p = obj_alloc(x->s, x->kml);
		if (!p) {
			x->failed = true;
			break;
		}
		x->ring[head % RING] = p;
		head++;
		if (head % PUBLISH == 0) {
			ring_publish(x, head);
			if (head % 1024 == 0)
				cond_resched();
		}
	}
	ring_publish(x, head);
	/* release: the last head is visible before done (read in that order) */
	smp_store_release(&x->done, 1);
	complete(&x->produced);
	return idle_until_stopped();
}

static int xcpu_consumer(void *arg)
{
	struct xcpu *x = arg;
	unsigned long tail = 0, head, spins = 0;
	int done;

	wait_for_completion(&x->go);
	for (;;) {
		/* acquire: done before head, so that head is then the last */
		done = smp_load_acquire(&x->done);
		head = ring_head(x);
		if (head == tail) {
			if (done)
				break;
			wait_a_little(&spins);
			continue;
		}
		while (tail != head) {
			obj_free(x->s, x->kml, x->ring[tail % RING]);
			tail++;
		}
		ring_release(x, tail);
		cond_resched();
	}
	x->t_end = ktime_get_ns();
	complete(&x->consumed);
	return idle_until_stopped();
}

/* One round on one side: ns for x->n objects, U64_MAX if it could not run. */
static u64 xcpu_round(struct side *s, bool kml, unsigned long n)
{
	struct task_struct *prod, *cons;
	struct xcpu *x;
	u64 ns = U64_MAX;

	x = kzalloc(sizeof(*x), GFP_KERNEL);
	if (!x)
		return U64_MAX;
	x->s = s;
	x->kml = kml;
	x->n = n;
	init_completion(&x->go);
	init_completion(&x->produced);
	init_completion(&x->consumed);
	prod = kthread_create(xcpu_producer, x, "kml_xcpu_prod");
	if (IS_ERR(prod))
		goto out;
	cons = kthread_create(xcpu_consumer, x, "kml_xcpu_cons");
	if (IS_ERR(cons)) {
		kthread_stop(prod);	/* never woken: its function never runs */
		goto out;
	}
	kthread_bind(prod, 0);
	kthread_bind(cons, 1);
	wake_up_process(prod);
	wake_up_process(cons);
	complete_all(&x->go);
	wait_for_completion(&x->produced);
	wait_for_completion(&x->consumed);
	kthread_stop(prod);
	kthread_stop(cons);
	if (!x->failed)
		ns = x->t_end - x->t_start;
out:
	kfree(x);
	return ns;
}

static void xcpu_case(size_t size, struct side *s)
{
	u64 best[2] = { U64_MAX, U64_MAX };
	int round, side;

	for (round = 0; round < ROUNDS; round++)
		for (side = 0; side < 2; side++)
			best[side] = min(best[side], xcpu_round(s, side == 0, objs));
	if (best[0] == U64_MAX || best[1] == U64_MAX) {
		pr_info("xcpu_%zu %u n/a n/a\n", size, objs);
		return;
	}
	pr_info("xcpu_%zu %u %llu %llu\n", size, objs, div64_u64(best[0] * 10, objs),
		div64_u64(best[1] * 10, objs));
}

/* The scaling row: one thread per CPU, each with its own slot. */
struct scale_run {
	struct side *s;
	bool kml;
	bool failed;
	atomic_t left;
	struct completion go, finished;
};

struct scale_thread {
	struct scale_run *run;
	u64 t_start, t_end;
	struct task_struct *task;
};

static int scale_thread(void *arg)
{
	struct scale_thread *t = arg;
	struct scale_run *r = t->run;
	unsigned long i;

	wait_for_completion(&r->go);
	t->t_start = ktime_get_ns();
	for (i = 0; i < pairs; i++) {
		void *p = obj_alloc(r->s, r->kml);

		if (!p) {
			WRITE_ONCE(r->failed, true);
			break;
		}
		obj_free(r->s, r->kml, p);
		if (i % 1024 == 1023)
			cond_resched();
	}
	t->t_end = ktime_get_ns();
	if (atomic_dec_and_test(&r->left))
		complete(&r->finished);
	return idle_until_stopped();
}

/* Pairs per second on the first @ncpus online CPUs; 0 if it could not run. */
static u64 scale_round(struct side *s, bool kml, unsigned int ncpus)
{
	struct scale_thread *t;
	struct scale_run r = { .s = s, .kml = kml };
	unsigned int i, made = 0, cpu;
	u64 start = U64_MAX, end = 0, pps = 0;

	t = kcalloc(ncpus, sizeof(*t), GFP_KERNEL);
	if (!t)
		return 0;
	atomic_set(&r.left, ncpus);
	init_completion(&r.go);
	init_completion(&r.finished);
	for_each_online_cpu(cpu) {
		if (made == ncpus)
			break;
		t[made].run = &r;
		t[made].task = kthread_create(scale_thread, &t[made], "kml_scale/%u", cpu);
		if (IS_ERR(t[made].task))
			break;
		kthread_bind(t[made].task, cpu);
		made++;
	}
	if (made < ncpus) {	/* none was woken: stopping them runs nothing */
		for (i = 0; i < made; i++)
			kthread_stop(t[i].task);
		kfree(t);
		return 0;
	}
	for (i = 0; i < ncpus; i++)
		wake_up_process(t[i].task);
	complete_all(&r.go);
	wait_for_completion(&r.finished);
	for (i = 0; i < ncpus; i++) {
		kthread_stop(t[i].task);
		start = min(start, t[i].t_start);
		end = max(end, t[i].t_end);
	}
	if (!r.failed && end > start)
		pps = mul_u64_u64_div_u64((u64)ncpus * pairs, NSEC_PER_SEC, end - start);
	kfree(t);
	return pps;
}

static void scale_row(struct side *s)
{
	unsigned int n = num_online_cpus(), k, c;
	u64 best[2][2] = { { 0, 0 }, { 0, 0 } };	/* [kml, kernel][1 CPU, n CPUs] */
	int round, side;

	for (round = 0; round < ROUNDS; round++)
		for (k = 0; k < 2; k++)
			for (side = 0; side < 2; side++) {
				c = k ? n : 1;
				best[side][k] = max(best[side][k], scale_round(s, side == 0, c));
			}
	if (!best[0][0] || !best[0][1] || !best[1][0] || !best[1][1]) {
		pr_info("scale_64 %u %u n/a n/a n/a n/a\n", n, pairs);
		return;
	}
	pr_info("scale_64 %u %u %llu %llu %llu %llu\n", n, pairs,
		best[0][0], best[0][1], best[1][0], best[1][1]);
}

static int make_side(struct side *s, const char *name, size_t size)
{
	/* usercopy: SLUB must not merge it into kmalloc-N (as bench_kmemlab_slab) */
	s->kml = kml_cache_create(name, size, 0, 0, NULL);
	s->kernel = kmem_cache_create_usercopy(name, size, 0, 0, 0, size, NULL);
	return s->kml && s->kernel ? 0 : -ENOMEM;
}

static void destroy_side(struct side *s)
{
	kml_cache_destroy(s->kml);
	kmem_cache_destroy(s->kernel);
}

static int __init bench_init(void)
{
	static const size_t sizes[] = { 8, 64, 256, 1024, 4096 };
	bool two_cpus = cpu_online(0) && cpu_online(1);
	struct side s = {};
	char name[32];
	unsigned int i;

	if (!objs || !pairs)
		return -EINVAL;
	for (i = 0; xcpu && i < ARRAY_SIZE(sizes); i++) {
		s = (struct side){};
		snprintf(name, sizeof(name), "bench_xcpu%zu", sizes[i]);
		if (two_cpus && !make_side(&s, name, sizes[i]))
			xcpu_case(sizes[i], &s);
		else
			pr_info("xcpu_%zu %u n/a n/a\n", sizes[i], objs);
		destroy_side(&s);
	}
	if (scale) {
		if (!make_side(&s, "bench_scale64", 64))
			scale_row(&s);
		else
			pr_info("scale_64 %u %u n/a n/a n/a n/a\n", num_online_cpus(), pairs);
		destroy_side(&s);
	}
	return 0;
}

static void __exit bench_exit(void)
{
}

module_init(bench_init);
module_exit(bench_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("kmemlab vs kernel slab across CPUs: producer/consumer and SMP scaling");
