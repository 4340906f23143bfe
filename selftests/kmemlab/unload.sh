#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# The last test of the suite: after everything, the buddy allocator is back
# in its initial state, rmmod succeeds, and Linux gets the region back.
D=/sys/kernel/debug/kmemlab
n=0 fails=0
ok() { n=$((n + 1)); echo "ok $n $1"; }
nok() { n=$((n + 1)); fails=$((fails + 1)); echo "not ok $n $1"; }
stat() { awk -v k="$1" '$1 == k { print $2 }' $D/stats; }
# validate prints one "...: ok" line per allocator when all is well.
clean() { [ -n "$(cat $D/validate)" ] && ! grep -qv ': ok$' $D/validate; }
# After a drain, as many pages free as right after insmod.
baseline() { echo 1 >$D/drain; [ "$(stat free_pages)" = "$(stat baseline_free_pages)" ]; }
# Free memory in kB, counting the pages Linux keeps on its per-CPU lists
# (/proc/zoneinfo "count:"), which MemFree leaves out.
memfree() {
	pcp=$(awk '$1 == "count:" { n += $2 } END { print n * 4 }' /proc/zoneinfo)
	awk -v p="$pcp" '$1 == "MemFree:" { print $2 + p }' /proc/meminfo
}

echo "TAP version 13"
echo "1..4"
[ -d $D ] || { echo "# kmemlab is not loaded"; exit 1; }
region=$(stat region_pages)
if baseline && clean; then
	ok "initial state: $(stat free_pages) pages free as after insmod, validate clean"
else
	nok "initial state: $(stat free_pages) pages free, $(stat baseline_free_pages) after insmod"
fi
before=$(memfree)
if rmmod kmemlab; then ok "rmmod kmemlab"; else nok "rmmod kmemlab"; fi
after=$(memfree)
kb=$((region * 4))
if [ $((after - before)) -ge $((kb * 9 / 10)) ]; then
	ok "free memory grew by $((after - before)) kB for a $kb kB region"
else
	nok "free memory grew by $((after - before)) kB for a $kb kB region"
fi
if dmesg | grep -q "kmemlab: unloaded; region of $region pages returned to the kernel, 0 of them"; then
	ok "no page was still allocated at unload"
else
	dmesg | grep kmemlab | tail -n 3 | sed 's/^/# /'
	nok "no page was still allocated at unload"
fi
[ $fails = 0 ]
