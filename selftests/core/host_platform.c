// SPDX-License-Identifier: GPL-2.0
/* Host side of module/core/platform.h: CPU slots for threads. */
#include "host_platform.h"
#include "../../module/core/buddy.h"

#define HOST_CPUS 4

unsigned long kml_host_errors;
unsigned long kml_host_ticks;
static unsigned int next_slot;
__thread unsigned int kml_host_slot = ~0u;
__thread char kml_host_me;	/* its address names the thread: lock owners */

unsigned int kml_host_cpu_first(void)
{
	kml_host_slot = __atomic_fetch_add(&next_slot, 1, __ATOMIC_RELAXED) % HOST_CPUS;
	return kml_host_slot;
}

unsigned int kml_host_nr_cpus(void)
{
	return HOST_CPUS;
}

void *kml_host_percpu_alloc(size_t size)
{
	return calloc(HOST_CPUS, size);
}

void kml_on_each_cpu(void (*fn)(void *arg, unsigned int cpu), void *arg)
{
	unsigned int cpu;

	for (cpu = 0; cpu < HOST_CPUS; cpu++)
		fn(arg, cpu);
}

/* Deferred calls, newest first; taken whole by a grace period. */
static kml_rcu_head_t *rcu_queue;

void kml_call_rcu(kml_rcu_head_t *head, void (*fn)(kml_rcu_head_t *head))
{
	head->func = fn;
	head->next = __atomic_load_n(&rcu_queue, __ATOMIC_RELAXED);
	while (!__atomic_compare_exchange_n(&rcu_queue, &head->next, head, false,
					    __ATOMIC_RELEASE, __ATOMIC_RELAXED))
		;
}

unsigned int kml_host_grace_period(void)
{
	kml_rcu_head_t *h = __atomic_exchange_n(&rcu_queue, NULL, __ATOMIC_ACQUIRE), *prev = NULL;
	unsigned int n = 0;

	while (h) {		/* oldest first, as queued */
		kml_rcu_head_t *next = h->next;

		h->next = prev;
		prev = h;
		h = next;
	}
	while (prev) {
		kml_rcu_head_t *next = prev->next;

		prev->func(prev);
		prev = next;
		n++;
	}
	return n;
}

void kml_host_rcu_barrier(void)
{
	while (kml_host_grace_period())
		;
}

char *kml_host_arena;
unsigned long kml_host_arena_pages;

void *kml_page_addr(u32 idx)
{
	return kml_host_arena + (size_t)idx * KML_PAGE_SIZE;
}

u32 kml_addr_page(const void *addr)
{
	const char *p = addr;

	if (!kml_host_arena || p < kml_host_arena ||
	    p >= kml_host_arena + kml_host_arena_pages * KML_PAGE_SIZE)
		return KML_NIL;
	return (u32)((p - kml_host_arena) / KML_PAGE_SIZE);
}

void kml_host_print(void *ctx, const char *fmt, ...)
{
	va_list ap;

	(void)ctx;
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
}
