#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Slab layer: test_kmemlab_slab.ko's checks, the reports its misuse leaves,
# slabinfo against the guest's own /proc/slabinfo, the per-cache files.
. ./lib.sh
# The shape of a slabinfo 2.1 row: 16 fields, ':' and the section names.
rows_ok() {
	awk 'NR > 2 && !(NF == 16 && $7 == ":" && $8 == "tunables" && $12 == ":" &&
	     $13 == "slabdata") { bad++ } END { exit bad > 0 }' "$1"
}

# one NAME: test_kmemlab_slab.ko's check NAME alone (loads when it passes).
one() {
	if insmod /kmemlab/test_kmemlab_slab.ko check="$1"; then
		rmmod test_kmemlab_slab
		return 0
	fi
	dmesg | grep test_kmemlab_slab | tail -n 5 | sed 's/^/# /'
	return 1
}
unable() { dmesg | grep -c "SLUB: Unable to allocate memory"; }

plan 24
kfree_before=$(kml_stat misuse_kfree)
k64_before=$(kml_cache_stat kmalloc-64 errors)
test_module test_kmemlab_slab
[ $(( $(kml_stat misuse_kfree) - kfree_before )) = 3 ] && [ "$(kml_cache_stat kmalloc-64 errors)" = "$k64_before" ] &&
	dmesg | grep -q "kfree(.*): not a pointer kmemlab.s kmalloc handed out (not the start of an object)"
result $? "kfree of foreign pointers (2) and inside an object (1) refused and counted"
dmesg | grep -A2 'test_debug: double free' | head -n 3 | sed 's/^.*kmemlab: /# /'
dmesg | grep -q "test_debug: double free: object" &&
	dmesg | grep -q "test_debug:   last allocated by check_debug" &&
	dmesg | grep -q "test_debug:   freed again by check_debug"
result $? "a report names the cache, the object, and who allocated and freed it"
dmesg | grep -q "test_debug: write after free" &&
	dmesg | grep -q "test_debug: red zone overwritten" &&
	dmesg | grep -q "test_debug: object still allocated at destroy"
result $? "write after free, red zone and destroy-with-live reports"

# Contexts: GFP_ATOMIC/GFP_NOWAIT allocations and frees of objects taken
# in process context, as the kernel allows them.
one softirq
result $? "kmalloc, kmem_cache_alloc (GFP_ATOMIC) and their frees in softirq (a timer)"
if uname -v | grep -q PREEMPT_RT; then
	ok "# SKIP hard IRQ allocation: not allowed on PREEMPT_RT (as Linux)"
else
	one hardirq
	result $? "kmalloc, kmem_cache_alloc (GFP_ATOMIC) and their frees in hard IRQ (hrtimer)"
fi
one rcu
result $? "kmalloc, kmem_cache_alloc (GFP_ATOMIC) and their frees in an RCU callback"

# init_on_alloc / init_on_free through kmemlab's parameters (-1: the kernel's).
echo 1 >$P/init_on_alloc && echo 0 >$P/init_on_free && one init_on_alloc
result $? "init_on_alloc=1: freed bytes read zero on allocation; ctor and RCU caches untouched"
echo 0 >$P/init_on_alloc && echo 1 >$P/init_on_free && one init_on_free
result $? "init_on_free=1: bytes zeroed on free; ctor and RCU caches untouched"
echo 0 >$P/init_on_alloc && echo 0 >$P/init_on_free && one init_off
result $? "init_on_alloc=0 init_on_free=0: nothing zeroed, a ctor's object never"
echo -1 >$P/init_on_alloc
echo -1 >$P/init_on_free

before=$(unable)
one nowarn && [ "$(unable)" = "$before" ]
result $? "__GFP_NOWARN failures (kmalloc, cache, bulk, a full region) print nothing"
before=$(unable)
one warn && [ "$(unable)" -gt "$before" ]
result $? "a failure without __GFP_NOWARN prints Linux's 'SLUB: Unable to allocate memory' line"
before=$(kml_stat gfp_refused)
one gfp_refused && [ $(($(kml_stat gfp_refused) - before)) = 2 ]
result $? "__GFP_DMA and __GFP_DMA32 refused with a report"
before=$(kml_stat nofail_waits)
one nofail
result $? "__GFP_NOFAIL on a full region waits until another context frees"
echo "# __GFP_NOFAIL waited $(($(kml_stat nofail_waits) - before)) times"
one bulk && clean
result $? "kmem_cache_alloc_bulk: all or nothing (a full region: 0, nothing kept), validate clean"
one typesafe && clean
result $? "SLAB_TYPESAFE_BY_RCU: reused at once, type-stable, slabs back only after the grace period"
if [ "$(grep -c ^processor /proc/cpuinfo)" -lt 2 ]; then
	ok "# SKIP CPU hotplug: one CPU"
else
	one hotplug && clean
	result $? "a CPU taken offline gives back its magazines; online again, it works; validate clean"
fi
large=$(kml_stat kmalloc_large_frees)
bad=$(kml_stat misuse_kfree)
one kfree_rcu && [ $(($(kml_stat kmalloc_large_frees) - large)) = 1 ] &&
	[ "$(kml_stat misuse_kfree)" = "$bad" ]
result $? "kvfree_call_rcu: not freed inside a read-side section, freed after rcu_barrier"
one kernel_flags && dmesg | grep -q "SLAB_CACHE_DMA refused" &&
	dmesg | grep -q "unknown SLAB_\* flags"
result $? "kmem_cache_create with the kernel's SLAB_* flags: accepted, or refused with EINVAL"
bad=$(kml_stat misuse_kfree)
one new_misuse && [ $(($(kml_stat misuse_kfree) - bad)) = 4 ] && clean
result $? "kfree_sensitive, kvfree_call_rcu, krealloc, free_bulk of bad pointers: reported, counted"

cat /proc/slabinfo >/tmp/theirs
cat $D/slabinfo >/tmp/ours
[ "$(head -n 2 /tmp/ours)" = "$(head -n 2 /tmp/theirs)" ]
result $? "slabinfo header is /proc/slabinfo's"
rows_ok /tmp/theirs && rows_ok /tmp/ours && grep -q "^kmem_cache " /tmp/ours &&
	[ "$(grep -c "^kmalloc-" /tmp/ours)" -ge 13 ] && ! grep -q "^test_" /tmp/ours
result $? "slabinfo rows have /proc/slabinfo's fields, kmem_cache included"
bad=
for d in $D/slab/*; do
	g=$d/geometry
	name=$(kml_field $g name)
	[ $(($(kml_field $g objs_per_slab) * $(kml_field $g size) + $(kml_field $g waste_per_slab))) = \
	  $((4096 << $(kml_field $g order))) ] || bad="$bad $name"
	grep -q "^$name " /tmp/ours || bad="$bad $name(no slabinfo row)"
done
[ -z "$bad" ]
result $? "every cache's geometry adds up to its slab${bad:+, not:$bad}"
clean && baseline
result $? "validate clean, and all pages back after the test caches went"
finish
