#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# SMP stress: one kthread per CPU for 10 s (test_kmemlab_stress.ko), then
# every page is back, in max-order blocks, and validate is clean.
D=/sys/kernel/debug/kmemlab
n=0 fails=0
ok() { n=$((n + 1)); echo "ok $n $1"; }
nok() { n=$((n + 1)); fails=$((fails + 1)); echo "not ok $n $1"; }
stat() { awk -v k="$1" '$1 == k { print $2 }' $D/stats; }
# validate prints one "...: ok" line per allocator when all is well.
clean() { [ -n "$(cat $D/validate)" ] && ! grep -qv ': ok$' $D/validate; }
# After a drain, as many pages free as right after insmod.
baseline() { echo 1 >$D/drain; [ "$(stat free_pages)" = "$(stat baseline_free_pages)" ]; }

echo "TAP version 13"
echo "1..3"
[ -d $D ] || { echo "# kmemlab is not loaded"; exit 1; }
cpus=$(grep -c ^processor /proc/cpuinfo)
[ "$cpus" -ge 2 ] || { echo "# SKIP needs at least 2 CPUs, has $cpus"; exit 4; }
if insmod /kmemlab/test_kmemlab_stress.ko seconds=10; then
	ok "$cpus threads for 10 s: no block handed out twice"
	rmmod test_kmemlab_stress
else
	nok "$cpus threads for 10 s: no block handed out twice"
fi
dmesg | grep 'test_kmemlab_stress: .* threads' | tail -n 1 | sed 's/^.*stress: /# /'
if baseline; then ok "all memory back: $(stat free_pages) pages free, as after insmod"; else nok "all memory back: $(stat free_pages) of $(stat baseline_free_pages) pages free"; fi
if clean; then ok "validate clean"; else nok "validate clean"; fi
[ $fails = 0 ]
