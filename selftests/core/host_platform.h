/* SPDX-License-Identifier: GPL-2.0 */
/*
 * host_platform.h - module/core/platform.h's contract in user space, for
 * the host tests: spinlocks on GCC atomics, a CPU slot per thread, calloc.
 */
#ifndef KML_HOST_PLATFORM_H
#define KML_HOST_PLATFORM_H

#include <stdint.h>
#include <stddef.h>
#include <stdbool.h>
#include <string.h>
#include <stdio.h>
#include <stdlib.h>
#include <errno.h>
#include <stdarg.h>
#include <time.h>
#include <unistd.h>
#include <linux/types.h>

typedef __u8 u8;
typedef __u16 u16;
typedef __u32 u32;
typedef __u64 u64;

/* Attributes in the kernel's spellings, which is how checkpatch wants them. */
#define KML_HOST_ATTR(...)		__attribute__((__VA_ARGS__))
#define __printf(a, b)			KML_HOST_ATTR(__format__(printf, a, b))
#define noinline			KML_HOST_ATTR(__noinline__)

/*
 * A spinlock that knows its owner (a thread-local address), so that
 * kml_lock_assert_held can check it. kml_mutex_t is the same lock: the
 * host tests need its exclusion, not its sleeping.
 */
struct kml_host_lock { const void *owner; };
#define kml_lock_t struct kml_host_lock
#define kml_mutex_t struct kml_host_lock
extern __thread char kml_host_me;

static inline void kml_lock_init(kml_lock_t *l)
{
	l->owner = NULL;
}

static inline bool kml_lock_try(kml_lock_t *l)
{
	const void *none = NULL;

	return __atomic_compare_exchange_n(&l->owner, &none, (const void *)&kml_host_me, false,
					   __ATOMIC_ACQUIRE, __ATOMIC_RELAXED);
}

static inline void kml_lock_acquire(kml_lock_t *l)
{
	while (!kml_lock_try(l))
		while (__atomic_load_n(&l->owner, __ATOMIC_RELAXED))
			__builtin_ia32_pause();
}

static inline void kml_lock_release(kml_lock_t *l)
{
	__atomic_store_n(&l->owner, NULL, __ATOMIC_RELEASE);
}

#define kml_lock(l, flags)		do { (void)(flags); kml_lock_acquire(l); } while (0)
#define kml_trylock(l, flags)		((void)(flags), kml_lock_try(l))
#define kml_unlock(l, flags)		do { (void)(flags); kml_lock_release(l); } while (0)
#define kml_mutex_init(m)		kml_lock_init(m)
#define kml_mutex_lock(m)		kml_lock_acquire(m)
#define kml_mutex_unlock(m)		kml_lock_release(m)
#define kml_lock_assert_held(l) \
	KML_DEBUG_ASSERT(__atomic_load_n(&(l)->owner, __ATOMIC_RELAXED) == &kml_host_me)

/* Host CPU slots: each thread picks one on first use, round robin. */
extern __thread unsigned int kml_host_slot;
unsigned int kml_host_cpu_first(void);
unsigned int kml_host_nr_cpus(void);
#define kml_cpu_get()			(__builtin_expect(kml_host_slot != ~0u, 1) ? \
					 kml_host_slot : kml_host_cpu_first())
#define kml_cpu_put()			do { } while (0)
#define kml_nr_cpus()			kml_host_nr_cpus()

/*
 * Per-CPU data: an array of one instance per slot. The local lock is a
 * real lock on the host, since threads share slots; it costs what the
 * kernel's interrupt toggling costs in instructions (a compare-and-swap
 * and a store), and a remote call takes the slot's lock in the caller.
 */
#define __percpu
#define kml_pcpu_lock_t			struct kml_host_lock
#define kml_pcpu_lock_init(l)		kml_lock_init(l)
void *kml_host_percpu_alloc(size_t size);
#define kml_percpu_alloc(type)		((type *)kml_host_percpu_alloc(sizeof(type)))
#define kml_percpu_free(p)		free(p)
#define kml_per_cpu(p, cpu)		(&(p)[cpu])
#define kml_for_each_cpu(cpu)		\
	for (unsigned int i_ = 0; i_ < kml_nr_cpus() && ((cpu) = i_, 1); i_++)
#define kml_cpu_lock(p, cpu, flags)	\
	({ __typeof__(p) pc_ = kml_per_cpu(p, cpu); (void)(flags); \
	   kml_lock_acquire(&pc_->pcpu_lock); pc_; })
#define kml_local_lock(p, flags)	kml_cpu_lock(p, kml_cpu_get(), flags)
#define kml_local_unlock(p, pc, flags)	\
	do { (void)(flags); kml_lock_release(&(pc)->pcpu_lock); } while (0)
void kml_on_each_cpu(void (*fn)(void *arg, unsigned int cpu), void *arg);

static inline u16 kml_cmpxchg16(u16 *p, u16 old, u16 new)
{
	__atomic_compare_exchange_n(p, &old, new, false, __ATOMIC_ACQ_REL,
				    __ATOMIC_ACQUIRE);
	return old;
}

#define KML_READ(x)			__atomic_load_n(&(x), __ATOMIC_RELAXED)
#define KML_WRITE(x, v)			__atomic_store_n(&(x), (v), __ATOMIC_RELAXED)
#define kml_meta_zalloc(size)		calloc(1, size)
#define kml_meta_free(p)		free(p)
extern unsigned long kml_host_errors;	/* kml_err() calls, for tests */
#define kml_err(fmt, ...)						\
	do {								\
		__atomic_fetch_add(&kml_host_errors, 1, __ATOMIC_RELAXED);	\
		fprintf(stderr, "kmemlab: " fmt, ##__VA_ARGS__);	\
	} while (0)
#define KML_ASSERT(cond)		do { if (!(cond)) { \
	fprintf(stderr, "%s:%d: assertion '%s' failed\n", \
		__FILE__, __LINE__, #cond); abort(); } } while (0)
#define KML_CACHELINE			KML_HOST_ATTR(__aligned__(64))
#define KML_PAGE_SIZE			4096ul
#define KML_CACHE_LINE			64
#define kml_caller()			__builtin_return_address(0)
#define KML_PS				"%p"
extern unsigned long kml_host_ticks;	/* the clock: tests move it */
#define kml_now()			KML_READ(kml_host_ticks)
#define KML_HZ				100
#define kml_pid()			((int)getpid())

/*
 * RCU on the host: no readers to wait for, but the deferral stays real.
 * kml_call_rcu queues @fn; it runs at the next kml_host_grace_period()
 * (a test's "grace period ends here") or kml_rcu_barrier(), never inside
 * kml_call_rcu, so that a test sees what waits and callers' locks are not
 * re-entered.
 */
struct kml_host_rcu_head {
	struct kml_host_rcu_head *next;
	void (*func)(struct kml_host_rcu_head *head);
};

#define kml_rcu_head_t			struct kml_host_rcu_head
void kml_call_rcu(kml_rcu_head_t *head, void (*fn)(kml_rcu_head_t *head));
/* Runs the callbacks queued before it; returns how many ran. */
unsigned int kml_host_grace_period(void);
void kml_host_rcu_barrier(void);
#define kml_rcu_barrier()		kml_host_rcu_barrier()
#ifndef ARRAY_SIZE
#define ARRAY_SIZE(a)			(sizeof(a) / sizeof((a)[0]))
#endif
#define likely(x)			__builtin_expect(!!(x), 1)
#define unlikely(x)			__builtin_expect(!!(x), 0)

/*
 * The host region: tests point it at an aligned arena of their own
 * (kml_host_arena, kml_host_arena_pages) before using addresses.
 */
extern char *kml_host_arena;
/* A kml_print_fn for the tests: validate's findings go to stderr. */
void kml_host_print(void *ctx, const char *fmt, ...) __printf(2, 3);
extern unsigned long kml_host_arena_pages;

#endif /* KML_HOST_PLATFORM_H */
