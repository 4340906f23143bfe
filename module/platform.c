// SPDX-License-Identifier: GPL-2.0
/*
 * platform.c - the kernel side of core/platform.h's functions (the macros
 * are in platform.h itself).
 *
 * kml_on_each_cpu is how the core reaches another CPU's per-CPU data
 * (magazines, page lists) without a lock on the owner's fast path: the
 * work runs on the owner CPU, in a bound worker, under the same local lock
 * the fast path takes. One work item per CPU, queued on all online CPUs at
 * once and then waited for, so a call costs about one worker wake-up per
 * CPU, in parallel. A CPU that is not online runs nothing, so its data is
 * handled by the caller; cpus_read_lock keeps CPUs from coming or going
 * meanwhile. Calls are serialised by one mutex, since the work items are
 * shared.
 */
#include <linux/cpu.h>
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

static void kml_cpu_call_run(struct work_struct *work)
{
	struct kml_cpu_call *call = container_of(work, struct kml_cpu_call, work);

	call->fn(call->arg, call->cpu);
}

void kml_on_each_cpu(void (*fn)(void *arg, unsigned int cpu), void *arg)
{
	unsigned int cpu;

	might_sleep();
	cpus_read_lock();
	mutex_lock(&kml_cpu_calls_lock);
	for_each_online_cpu(cpu) {
		struct kml_cpu_call *call = per_cpu_ptr(&kml_cpu_calls, cpu);

		call->fn = fn;
		call->arg = arg;
		call->cpu = cpu;
		INIT_WORK(&call->work, kml_cpu_call_run);
		queue_work_on(cpu, system_wq, &call->work);
	}
	for_each_possible_cpu(cpu) {
		if (cpu_online(cpu))
			flush_work(&per_cpu_ptr(&kml_cpu_calls, cpu)->work);
		else
			fn(arg, cpu);
	}
	mutex_unlock(&kml_cpu_calls_lock);
	cpus_read_unlock();
}
