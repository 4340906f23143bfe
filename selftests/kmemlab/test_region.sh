#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Module parameters: regions from 4 MiB to 1 GiB, a small max_order, and
# the refusals (bad size, bad order, more than Linux can give) that must
# leave nothing behind. Reloads kmemlab as it found it.
. ./lib.sh
top_blocks() { awk -v t="$(kml_stat max_order)" '/kmemlab/ { print $(5 + t) }' $D/buddyinfo; }
load() { insmod /kmemlab/kmemlab.ko "$@" 2>/dev/null; }

plan 8
orig=$(kml_params)
rmmod kmemlab || { echo "# cannot unload kmemlab"; exit 1; }

load region_mb=4
[ "$(kml_stat region_pages)" = 1024 ] && baseline && [ "$(kml_stat free_pages)" -gt 1000 ] && clean
result $? "region_mb=4: 1024 pages, all free but the caches' descriptors"
rmmod kmemlab

load max_order=3 region_mb=8
[ "$(awk "/kmemlab/ { print NF - 4 }" $D/buddyinfo)" = 4 ] && [ "$(top_blocks)" -gt 240 ]
result $? "max_order=3: 4 orders in buddyinfo, all but a few order-3 blocks free"
insmod /kmemlab/test_kmemlab_pages.ko max_order=3 && rmmod test_kmemlab_pages
result $? "max_order=3: the page API checks pass"
rmmod kmemlab

! load region_mb=6 && dmesg | tail -n 3 | grep -q "region_mb=6 is not a multiple"
result $? "region_mb=6 refused: not a multiple of the 4 MiB block"
! load max_order=11 && dmesg | tail -n 3 | grep -q "max_order=11"
result $? "max_order=11 refused"

before=$(memfree)
! load region_mb=65536 && dmesg | tail -n 3 | grep -q "cannot take a 65536 MiB region"
result $? "region_mb=65536 refused with ENOMEM"
after=$(memfree)
[ $((before - after)) -le 4096 ]
result $? "nothing leaked by the refusal (free memory $before -> $after kB)"

avail=$(awk '$1 == "MemAvailable:" { print $2 }' /proc/meminfo)
if [ "$avail" -ge $(( (1024 + 160) * 1024 )) ]; then
	before=$(memfree)
	if load region_mb=1024 && [ "$(kml_stat region_pages)" = 262144 ] && [ "$(top_blocks)" -ge 255 ]; then
		dmesg | grep 'kmemlab: region 1024 MiB' | tail -n 1 | sed 's/^.*kmemlab: /# /'
		rmmod kmemlab
		after=$(memfree)
		[ $((before - after)) -le 4096 ]
		result $? "region_mb=1024: loads, and rmmod gives it back ($before -> $after kB)"
	else
		nok "region_mb=1024 loads with $avail kB available"
		rmmod kmemlab 2>/dev/null
	fi
else
	ok "region_mb=1024 # SKIP only $avail kB available (the suite runs with --mem 2G)"
fi

kml_reload $orig || exit 1
finish
