#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# The last test of the suite: after everything, the buddy allocator is back
# in its initial state, rmmod succeeds, and Linux gets the region back.
. ./lib.sh

plan 4
region=$(kml_stat region_pages)
if baseline && clean; then
	ok "initial state: $(kml_stat free_pages) pages free as after insmod, validate clean"
else
	nok "initial state: $(kml_stat free_pages) pages free, $(kml_stat baseline_free_pages) after insmod"
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
finish
