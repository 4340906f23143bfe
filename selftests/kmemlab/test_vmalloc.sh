#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# kml_vmalloc, kml_vmap and kvmalloc: the checks of test_kmemlab_vmalloc.ko
# (the basic ones at once, then one behaviour per load with check=NAME),
# then vmallocinfo against the kernel's own /proc/vmallocinfo line for the
# same vmap().
. ./lib.sh

plan 26
M=/kmemlab/test_kmemlab_vmalloc.ko

# vm_check NAME: loads the module with check=NAME; true when the check passes.
vm_check() {
	if insmod $M check="$1"; then
		rmmod test_kmemlab_vmalloc
		return 0
	fi
	dmesg | grep test_kmemlab_vmalloc | tail -n 5 | sed 's/^/# /'
	return 1
}

# mark: a line in the kernel log; since_mark: the lines after the last one,
# but the test module's own.
mark() { echo "kmemlab-test-mark $$" >/dev/kmsg; }
since_mark() {
	dmesg | awk -v m="kmemlab-test-mark $$" 'index($0, m) { n = NR } { l[NR] = $0 }
		END { for (i = n + 1; i <= NR; i++) print l[i] }' | grep -v '] test_kmemlab_vmalloc: '
}

# First, while the kernel's failure reports are not yet rate-limited.
mark
vm_check nowarn && [ -z "$(since_mark)" ]
result $? "__vmalloc with __GFP_NOWARN: a failure adds no kernel-log line"
mark
vm_check warn && [ "$(since_mark | grep -c 'vmalloc of 1099511627776 bytes failed')" = 1 ]
result $? "__vmalloc without __GFP_NOWARN: a failure adds its line"

test_module test_kmemlab_vmalloc
[ -z "$(cat $D/vmallocinfo)" ] && [ "$(kml_stat vmalloc_pages)" = 0 ]
result $? "no area left behind"

# vfree from each context: deferred (counted) outside process context; after
# a drain (which finishes deferred frees) nothing is left.
# vfree_check NAME DESCRIPTION DEFERRALS
vfree_check() {
	before=$(kml_stat vfree_deferred)
	vm_check $1 && [ $(($(kml_stat vfree_deferred) - before)) = "$3" ] &&
		echo 1 >$D/drain && [ "$(kml_stat vmalloc_pages)" = 0 ] &&
		[ -z "$(cat $D/vmallocinfo)" ] && clean
	result $? "$2"
}
vfree_check vfree_process "vfree in process context unmaps at once" 0
vfree_check vfree_softirq "vfree from a timer (softirq) is deferred" 1
if [ "$(cat /sys/kernel/realtime 2>/dev/null)" = 1 ]; then
	ok "vfree from hard IRQ # SKIP PREEMPT_RT: not from hard IRQ, as kfree"
else
	vfree_check vfree_hardirq "vfree from hard IRQ (hrtimer) is deferred" 1
fi
vfree_check vfree_rcu "vfree from an RCU callback is deferred" 1
vfree_check vfree_bh "vfree with bottom halves disabled is deferred" 1
vfree_check vfree_irqs_off "vfree with interrupts disabled is deferred" 1

refused=$(kml_stat gfp_refused)
vm_check gfp && [ $(($(kml_stat gfp_refused) - refused)) = 2 ]
result $? "__vmalloc: GFP_ATOMIC and GFP_NOWAIT refused (counted), GFP_NOFS and GFP_NOIO served"

# init_on_alloc and init_on_free: -1 follows the kernel, 0 and 1 override.
ioa=$(cat $P/init_on_alloc) iof=$(cat $P/init_on_free)
echo 0 >$P/init_on_free
echo 1 >$P/init_on_alloc
vm_check init_on_alloc
result $? "init_on_alloc=1: vmalloc's pages read zero though they were dirty"
echo 0 >$P/init_on_alloc
vm_check no_init_on_alloc
result $? "init_on_alloc=0: vmalloc leaves old bytes, __GFP_ZERO still zeroes"
echo 1 >$P/init_on_free
vm_check init_on_free
result $? "init_on_free=1: vfree zeroes the pages"
echo "$ioa" >$P/init_on_alloc
echo "$iof" >$P/init_on_free

vm_check align
result $? "__vmalloc_node alignments up to 2 MiB; not a power of two refused"

maps=$(kml_stat vmap_maps) unmaps=$(kml_stat vmap_unmaps)
vm_check vmap && [ $(($(kml_stat vmap_maps) - maps)) = 1 ] &&
	[ $(($(kml_stat vmap_unmaps) - unmaps)) = 1 ]
result $? "vmap maps kmemlab pages, vunmap leaves them to the caller"
bad=$(kml_stat misuse_vmap)
vm_check vmap_foreign && [ $(($(kml_stat misuse_vmap) - bad)) = 2 ]
result $? "vmap refuses a page that is not kmemlab's and a free one (counted)"

vm_check kvmalloc
result $? "kvmalloc: kmalloc up to its largest block, vmalloc beyond (not for GFP_ATOMIC)"
vm_check kvmalloc_fragmented
result $? "kvmalloc on a fragmented region: vmalloc beyond a page, kmalloc up to it"
vm_check kvrealloc
result $? "kvrealloc keeps the contents across kmalloc -> vmalloc -> larger vmalloc"

before=$(kml_stat misuse_vfree)
vm_check bad && [ $(($(kml_stat misuse_vfree) - before)) = 4 ] && clean
result $? "bad vfree/kvfree/vunmap reported and counted; vmalloc still works"

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
baseline
result $? "every page back after a drain"
finish
