// SPDX-License-Identifier: GPL-2.0
/*
 * platform.c - the kernel side of core/platform.h's functions (the macros
 * are in platform.h itself), and what CPU hotplug asks of the core.
 *
 * kml_on_each_cpu is how the core reaches another CPU's per-CPU data
 * (magazines, page lists) without a lock on the owner's fast path: the
 * work runs on the owner CPU, in a worker bound to it, with migration off
 * and under the same local lock the fast path takes. One CPU at a time,
 * so that the callbacks share their caller's state without a lock of
 * their own; a call costs one worker wake-up per online CPU. The work
 * items are shared, so calls are serialised by a mutex. The workqueue is
 * kmemlab's own, WQ_MEM_RECLAIM, since an allocation about to fail waits
 * on it.
 *
 * CPU hotplug: only online CPUs are visited, and no hotplug lock is taken,
 * so the allocator may call this under any lock its caller holds (Linux's
 * page allocator drains the same way). A CPU that goes offline may find a
 * work item still queued: it then runs elsewhere and does nothing (it
 * checks where it runs, with migration off, so the CPU cannot finish going
 * down under it). Its data is emptied once it is dead, by the hotplug
 * callback below, on the CPU that took it down.
 */
#include <linux/cpu.h>
#include <linux/cpuhotplug.h>
#include <linux/mutex.h>
#include <linux/percpu.h>
#include <linux/workqueue.h>
#include "kmemlab_internal.h"

struct kml_cpu_call {
	struct work_struct work;
	void (*fn)(void *arg, unsigned int cpu);
	void *arg;
	unsigned int cpu;
};

static DEFINE_PER_CPU(struct kml_cpu_call, kml_cpu_calls);
static DEFINE_MUTEX(kml_cpu_calls_lock);
static struct workqueue_struct *kml_wq;
static int kml_cpuhp_state;

static void kml_cpu_call_run(struct work_struct *work)
{
	struct kml_cpu_call *call = container_of(work, struct kml_cpu_call, work);

	migrate_disable();
	if (raw_smp_processor_id() == call->cpu)
		call->fn(call->arg, call->cpu);
	migrate_enable();
}

void kml_on_each_cpu(void (*fn)(void *arg, unsigned int cpu), void *arg)
{
	unsigned int cpu;

	might_sleep();
	mutex_lock(&kml_cpu_calls_lock);
	for_each_online_cpu(cpu) {
		struct kml_cpu_call *call = per_cpu_ptr(&kml_cpu_calls, cpu);

		call->fn = fn;
		call->arg = arg;
		call->cpu = cpu;
		INIT_WORK(&call->work, kml_cpu_call_run);
		queue_work_on(cpu, kml_wq, &call->work);
		flush_work(&call->work);
	}
	mutex_unlock(&kml_cpu_calls_lock);
}

/* A CPU is dead: its magazines and free pages go back, from here. */
static int kml_cpu_dead(unsigned int cpu)
{
	kml_slab_cpu_dead(&kml_slab, cpu);
	kml_buddy_drain_cpu(&kml_buddy, cpu);
	return 0;
}

/* First at load, last at unload: the core's per-CPU walks need the workqueue. */
int kml_platform_init(void)
{
	kml_wq = alloc_workqueue("kmemlab", WQ_MEM_RECLAIM, 0);
	return kml_wq ? 0 : -ENOMEM;
}

void kml_platform_exit(void)
{
	destroy_workqueue(kml_wq);
}

/* While the buddy and slab layers are up. */
int kml_hotplug_init(void)
{
	int state = cpuhp_setup_state_nocalls(CPUHP_BP_PREPARE_DYN, "kmemlab:dead", NULL,
					      kml_cpu_dead);

	if (state < 0)
		return state;
	kml_cpuhp_state = state;
	return 0;
}

void kml_hotplug_exit(void)
{
	cpuhp_remove_state_nocalls(kml_cpuhp_state);
}
