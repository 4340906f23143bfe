// SPDX-License-Identifier: GPL-2.0
/* Host side of module/core/platform.h: CPU slots for threads. */
#include "host_platform.h"
#include "../../module/core/platform.h"

#define HOST_CPUS 4

unsigned long kml_host_errors;
static unsigned int next_slot;
__thread unsigned int kml_host_slot = ~0u;

unsigned int kml_host_cpu_first(void)
{
	kml_host_slot = __atomic_fetch_add(&next_slot, 1, __ATOMIC_RELAXED) % HOST_CPUS;
	return kml_host_slot;
}

unsigned int kml_host_nr_cpus(void)
{
	return HOST_CPUS;
}
