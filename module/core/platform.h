/* SPDX-License-Identifier: GPL-2.0 */
/*
 * platform.h - the only seam between kmemlab's allocator core and its host.
 *
 * The files of module/core/ include nothing else, so the same files compile into the
 * kernel module and into the host test programs (selftests/core/).
 *
 * Contract of each primitive, on both sides:
 *
 *   u8 .. u64, size_t, bool     the usual fixed-width types.
 *   kml_lock_t                            the kernel's spinlock_t, usable in
 *                                         every context kmalloc is. Without
 *                                         PREEMPT_RT it spins and kml_lock()
 *                                         disables local interrupts until
 *                                         kml_unlock(); on PREEMPT_RT it is
 *                                         a sleeping lock that leaves
 *                                         interrupts on, so it must not be
 *                                         taken in hard IRQ context, under a
 *                                         raw spinlock or with preemption
 *                                         disabled (nor may kmalloc there).
 *                                         Never held across a voluntary sleep.
 *   kml_cpu_get() / kml_cpu_put()         the current CPU slot in
 *                                         [0, kml_nr_cpus()); between the
 *                                         two calls the caller is not
 *                                         migrated but may be preempted
 *                                         (migrate_disable(), as on RT), so
 *                                         the slot is not exclusive: data
 *                                         behind it needs its own lock (on
 *                                         the host: a stable slot per thread).
 *   __percpu, kml_percpu_alloc(type)      per-CPU data: one instance of
 *   kml_percpu_free(p), kml_per_cpu(p, c) @type per possible CPU (alloc_percpu,
 *                                         process context; NULL when out of
 *                                         memory); kml_per_cpu is CPU @c's.
 *   kml_for_each_cpu(cpu)                 every possible CPU.
 *   kml_pcpu_lock_t, kml_pcpu_lock_init   the kernel's local_lock_t: the
 *                                         member pcpu_lock of a per-CPU type.
 *   kml_local_lock(p, flags)              locks this CPU's instance of @p
 *                                         and returns it. No atomic
 *                                         read-modify-write: interrupts off
 *                                         (local_lock_irqsave); on PREEMPT_RT
 *                                         a per-CPU spinlock_t with migration
 *                                         off. Any context kml_lock_t is.
 *   kml_cpu_lock(p, cpu, flags)           the same for CPU @cpu's instance,
 *                                         only in a function kml_on_each_cpu
 *                                         calls for @cpu, or for a dead CPU.
 *   kml_local_unlock(p, pc, flags)        unlocks @pc, which either returned.
 *   kml_on_each_cpu(fn, arg)              calls fn(arg, cpu) for every online
 *                                         CPU, one at a time, on that CPU (a
 *                                         bound worker, process context,
 *                                         migration off): how work reaches
 *                                         another CPU's data without a lock on
 *                                         the owner's fast path. Process
 *                                         context, may sleep; no spinlock and
 *                                         no lock fn takes may be held. A CPU
 *                                         that goes offline meanwhile may be
 *                                         skipped: the glue empties a dead
 *                                         CPU's data (kml_slab_cpu_dead,
 *                                         kml_buddy_cpu_dead). On the host:
 *                                         every slot, in the caller.
 *   kml_mutex_t                           a sleeping lock, for process
 *                                         context only (the kernel's mutex).
 *   kml_lock_assert_held(l)               the caller holds lock or mutex @l:
 *                                         lockdep_assert_held() in the
 *                                         kernel, an owner check on the host
 *                                         (from KML_DEBUG 1).
 *   KML_DEBUG                             0: no internal checks; 1: cheap
 *                                         asserts on tags, lists and locks
 *                                         (KML_DEBUG_ASSERT); 2: also a full
 *                                         validate after each public
 *                                         operation (the host tests).
 *   kml_cmpxchg16(p, old, new)            atomic compare-and-exchange on a
 *                                         u16, returns the old value.
 *   KML_READ(x) / KML_WRITE(x, v)         single, untorn access to a
 *                                         location that others change
 *                                         concurrently (READ_ONCE, WRITE_ONCE).
 *   kml_meta_zalloc(size) / kml_meta_free metadata memory from the host,
 *                                         zeroed; may sleep.
 *   kml_err(fmt, ...)                     a report about misuse; never fatal.
 *   KML_ASSERT(cond)                      an internal invariant. The kernel
 *                                         warns once; the host aborts.
 *   kml_print_fn                          where validate walkers print.
 *   kml_trylock(l, flags)                 kml_lock that gives up at once;
 *                                         true when it took the lock.
 *   kml_page_addr(idx) / kml_addr_page(p) region page index <-> address of
 *                                         its first byte; KML_NIL when @p
 *                                         is not in the region. O(1).
 *   KML_PAGE_SIZE, KML_CACHE_LINE         sizes in bytes.
 *   kml_caller()                          the caller of the function that
 *                                         uses it, for owner tracking.
 *   kml_now() / kml_pid()                 a tick count and the task id, ditto;
 *   KML_HZ                                ticks a second (on the host, the
 *                                         tests move the clock).
 *   KML_PS                                printf conversion for a code address
 *                                         (a symbol in the kernel).
 *   kml_rcu_head_t                          storage for one deferred call,
 *                                         owned by the platform from
 *                                         kml_call_rcu until fn runs.
 *   kml_call_rcu(head, fn)                calls fn(head) once, after an RCU
 *                                         grace period: every reader that
 *                                         may have seen the memory before
 *                                         the call is done. Any context, even
 *                                         under kml_lock_t; fn runs in a
 *                                         context that may take kml_lock_t
 *                                         and must not sleep (call_rcu; on
 *                                         the host, a list that
 *                                         kml_host_grace_period() runs).
 *   kml_rcu_barrier()                     returns once every fn queued
 *                                         before it has run; may sleep,
 *                                         process context, no kmemlab lock
 *                                         held (rcu_barrier; on the host,
 *                                         runs the list).
 */
#ifndef KML_PLATFORM_H
#define KML_PLATFORM_H

#ifdef __KERNEL__
#include <linux/types.h>
#include <linux/kernel.h>
#include <linux/spinlock.h>
#include <linux/mutex.h>
#include <linux/lockdep.h>
#include <linux/smp.h>
#include <linux/preempt.h>
#include <linux/cpumask.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/printk.h>
#include <linux/compiler.h>
#include <linux/cache.h>
#include <linux/errno.h>
#include <linux/jiffies.h>
#include <linux/sched.h>
#include <linux/rcupdate.h>
#include <linux/percpu.h>
#include <linux/local_lock.h>

#define kml_lock_t			spinlock_t
#define kml_lock_init(l)		spin_lock_init(l)
#define kml_lock(l, flags)		spin_lock_irqsave(l, flags)
#define kml_trylock(l, flags)		spin_trylock_irqsave(l, flags)
#define kml_unlock(l, flags)		spin_unlock_irqrestore(l, flags)
#define kml_mutex_t			struct mutex
#define kml_mutex_init(m)		mutex_init(m)
#define kml_mutex_lock(m)		mutex_lock(m)
#define kml_mutex_unlock(m)		mutex_unlock(m)
#define kml_lock_assert_held(l)		lockdep_assert_held(l)
#define kml_cpu_get()			({ migrate_disable(); smp_processor_id(); })
#define kml_cpu_put()			migrate_enable()
#define kml_nr_cpus()			nr_cpu_ids
#define kml_cmpxchg16(p, o, n)		cmpxchg(p, o, n)
#define KML_READ(x)			READ_ONCE(x)
#define KML_WRITE(x, v)			WRITE_ONCE(x, v)
#define kml_meta_zalloc(size)		kvzalloc(size, GFP_KERNEL)
#define kml_meta_free(p)		kvfree(p)
#define kml_err(fmt, ...)		pr_err("kmemlab: " fmt, ##__VA_ARGS__)
#define KML_ASSERT(cond)		WARN_ON_ONCE(!(cond))
#define KML_CACHELINE			____cacheline_aligned_in_smp
#define KML_PAGE_SIZE			PAGE_SIZE
#define KML_CACHE_LINE			L1_CACHE_BYTES
#define kml_caller()			__builtin_return_address(0)
#define KML_PS				"%pS"
#define kml_now()			((unsigned long)jiffies)
#define KML_HZ				HZ
#define kml_pid()			((int)current->pid)
#define kml_rcu_head_t			struct rcu_head
#define kml_call_rcu(head, fn)		call_rcu(head, fn)
#define kml_rcu_barrier()		rcu_barrier()
#define kml_percpu_alloc(type)		alloc_percpu(type)
#define kml_percpu_free(p)		free_percpu(p)
#define kml_per_cpu(p, cpu)		per_cpu_ptr(p, cpu)
#define kml_for_each_cpu(cpu)		for_each_possible_cpu(cpu)
#define kml_pcpu_lock_t			local_lock_t
#define kml_pcpu_lock_init(l)		local_lock_init(l)
#define kml_local_lock(p, flags)	\
	({ typeof(p) p_ = (p); local_lock_irqsave(&p_->pcpu_lock, flags); this_cpu_ptr(p_); })
#define kml_cpu_lock(p, cpu, flags)	\
	({ typeof(p) p_ = (p); local_lock_irqsave(&p_->pcpu_lock, flags); per_cpu_ptr(p_, cpu); })
#define kml_local_unlock(p, pc, flags)	local_unlock_irqrestore(&(p)->pcpu_lock, flags)
void kml_on_each_cpu(void (*fn)(void *arg, unsigned int cpu), void *arg);

#if defined(KML_DEBUG) && KML_DEBUG >= 2
#error "KML_DEBUG 2 validates after every call, in every context: host tests only"
#endif

#else
#include "host_platform.h"	/* selftests/core/: the same contract in user space */
#endif

#ifndef KML_DEBUG
#define KML_DEBUG	0
#endif
/* An invariant checked from KML_DEBUG 1 on. */
#define KML_DEBUG_ASSERT(cond)	do { if (KML_DEBUG >= 1) KML_ASSERT(cond); } while (0)
/* A whole-allocator check (a validate walk returning its count), from 2 on. */
#define KML_DEBUG_CHECK(count)	do { if (KML_DEBUG >= 2) KML_ASSERT(!(count)); } while (0)

void *kml_page_addr(u32 idx);
u32 kml_addr_page(const void *addr);

typedef void (*kml_print_fn)(void *ctx, const char *fmt, ...) __printf(2, 3);

#endif /* KML_PLATFORM_H */
