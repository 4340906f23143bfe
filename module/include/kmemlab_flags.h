/* SPDX-License-Identifier: GPL-2.0 */
/*
 * kmemlab_flags.h - the cache flags of kml_cache_create(), shared by the
 * public API (kmemlab.h) and the slab core (core/slab.h). The debug flags
 * are slub_debug's letters F, Z, P and U.
 */
#ifndef _KMEMLAB_FLAGS_H
#define _KMEMLAB_FLAGS_H

#define KML_SLAB_CONSISTENCY	0x01	/* F: full checks on free */
#define KML_SLAB_RED_ZONE	0x02	/* Z: guard bytes after each object */
#define KML_SLAB_POISON		0x04	/* P: fill free objects with 0x6b */
#define KML_SLAB_STORE_USER	0x08	/* U: last alloc and free owner */
#define KML_SLAB_DEBUG		0x0f
#define KML_SLAB_HWCACHE_ALIGN	0x10	/* align objects to cache lines */
/*
 * A slab's pages go back to the buddy allocator only after an RCU grace
 * period; its objects may be reused at once (as SLAB_TYPESAFE_BY_RCU).
 */
#define KML_SLAB_TYPESAFE_BY_RCU 0x20
#define KML_SLAB_ACCOUNT	0x40	/* accepted: no memory cgroup is charged */
#define KML_SLAB_RECLAIM_ACCOUNT 0x80	/* counted as reclaimable */
#define KML_SLAB_PANIC		0x100	/* creation failure panics, as SLAB_PANIC */
#define KML_SLAB_ALL		0x1ff

#endif /* _KMEMLAB_FLAGS_H */
