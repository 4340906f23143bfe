#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Shared by the suite's shell tests: KTAP output and kmemlab's debugfs.
D=/sys/kernel/debug/kmemlab
n=0 fails=0

ok() { n=$((n + 1)); echo "ok $n $1"; }
nok() { n=$((n + 1)); fails=$((fails + 1)); echo "not ok $n $1"; }
# check DESCRIPTION 'SHELL CONDITION'
check() { if eval "$2"; then ok "$1"; else nok "$1"; fi; }

# plan N: the KTAP header; every test needs the module loaded.
plan() {
	echo "TAP version 13"
	echo "1..$1"
	[ -d $D ] || { echo "# kmemlab is not loaded"; exit 1; }
}

# The test's exit status: 0 when nothing failed.
finish() { [ "$fails" = 0 ]; }

# test_module NAME [PARAMS]: a kselftest_module.h test module, whose checks
# run at load and whose load fails when one does; one KTAP result.
test_module() {
	m=$1
	shift
	if insmod "/kmemlab/$m.ko" "$@"; then
		ok "$m loads (all checks pass)"
		rmmod "$m"
	else
		dmesg | grep "$m" | tail -n 5 | sed 's/^/# /'
		nok "$m loads (all checks pass)"
	fi
}

stat() { awk -v k="$1" '$1 == k { print $2 }' $D/stats; }
cstat() { awk -v k="$2" '$1 == k { print $2 }' "$D/slab/$1/stats"; }
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
