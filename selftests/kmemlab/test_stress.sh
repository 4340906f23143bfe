#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# SMP stress: one kthread per CPU for 10 s on page blocks, then 10 s on a
# cache and kmalloc (test_kmemlab_stress.ko); then every slab is reaped,
# every page is back as after insmod, and validate is clean.
. ./lib.sh

plan 5
cpus=$(grep -c ^processor /proc/cpuinfo)
[ "$cpus" -ge 2 ] || { echo "# SKIP needs at least 2 CPUs, has $cpus"; exit 4; }
for mode in pages slab; do
	arg=
	[ $mode = slab ] && arg=slab=1
	if insmod /kmemlab/test_kmemlab_stress.ko seconds=10 $arg; then
		ok "$mode: $cpus threads for 10 s, nothing handed out twice"
		rmmod test_kmemlab_stress
	else
		nok "$mode: $cpus threads for 10 s, nothing handed out twice"
	fi
	dmesg | grep 'test_kmemlab_stress: .* threads' | tail -n 1 | sed 's/^.*stress: /# /'
done
echo 1 >$D/drain
slabs=$(awk 'NR > 2 && $1 != "kmem_cache" { n += $15 } END { print n + 0 }' $D/slabinfo)
if [ "$slabs" = 0 ] && [ ! -d $D/slab/stress ]; then ok "every slab reaped"; else nok "every slab reaped: $slabs left"; fi
if baseline; then ok "all memory back: $(kml_stat free_pages) pages free, as after insmod"; else nok "all memory back: $(kml_stat free_pages) of $(kml_stat baseline_free_pages) pages free"; fi
if clean; then ok "validate clean"; else nok "validate clean"; fi
finish
