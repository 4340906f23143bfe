#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# kml_vmalloc: the checks of test_kmemlab_vmalloc.ko, then vmallocinfo
# against the kernel's own /proc/vmallocinfo line for the same vmap().
. ./lib.sh

plan 6
test_module test_kmemlab_vmalloc
[ -z "$(cat $D/vmallocinfo)" ] && [ "$(kml_stat vmalloc_pages)" = 0 ]
result $? "no area left behind"

insmod /kmemlab/kmemlab_hold.ko vmalloc_kb=1000
# %pK: real addresses for root with kptr_restrict=1 (0 hashes them, and
# before the RNG is seeded hashes print as "(____ptrval____)").
restrict=$(cat /proc/sys/kernel/kptr_restrict)
echo 1 >/proc/sys/kernel/kptr_restrict
ours=$(cat $D/vmallocinfo)
echo "# ours:   $ours"
start=${ours%%-*}
theirs=$(grep "^$start-" /proc/vmallocinfo)
echo "$restrict" >/proc/sys/kernel/kptr_restrict
echo "# kernel: $theirs"
# 1000 KiB is 250 pages; the size counts vmap's guard page: 251 * 4096.
echo "$ours" | grep -Eq "^0x[0-9a-f]+-0x[0-9a-f]+ +1028096 hold_vmalloc\+0x[0-9a-f]+/0x[0-9a-f]+ \[kmemlab_hold\] pages=250 vmalloc$"
result $? "one area of 250 pages"
[ "$(echo "$ours" | awk "{ print \$1, \$2 }")" = "$(echo "$theirs" | awk "{ print \$1, \$2 }")" ]
result $? "range and size are the kernel's"
rmmod kmemlab_hold
[ -z "$(cat $D/vmallocinfo)" ]
result $? "vmallocinfo empty after vfree"
before=$(kml_stat misuse_vfree)
# vfree of a pointer inside an area, then of the area twice: two refusals.
insmod /kmemlab/kmemlab_hold.ko vmalloc_kb=8 double_free=1 && rmmod kmemlab_hold
[ $(( $(kml_stat misuse_vfree) - before )) = 2 ] && [ "$(kml_stat vmalloc_pages)" = 0 ] && clean
result $? "bad vfrees refused and counted, pages back"
finish
