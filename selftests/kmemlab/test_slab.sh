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

plan 8
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
