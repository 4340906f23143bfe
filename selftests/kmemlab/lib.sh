#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Shared by the suite's shell tests: KTAP output and kmemlab's debugfs.
D=/sys/kernel/debug/kmemlab
P=/sys/module/kmemlab/parameters
n=0 fails=0

ok() { n=$((n + 1)); echo "ok $n $1"; }
nok() { n=$((n + 1)); fails=$((fails + 1)); echo "not ok $n $1"; }
# CONDITION; result $? DESCRIPTION: one KTAP line for the condition's exit
# status (no eval: conditions are plain code, debugfs output only data).
result() { if [ "$1" = 0 ]; then ok "$2"; else nok "$2"; fi; }

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

# kml_params: kmemlab's module parameters as they are now, as NAME=VALUE
# words; a string parameter left unset (it reads empty or "(null)") is
# left out.
kml_params() {
	local f v

	for f in $P/*; do
		v=$(cat "$f")
		case $v in '' | '(null)') ;; *) printf '%s=%s ' "${f##*/}" "$v" ;; esac
	done
}

# kml_reload [NAME=VALUE]...: kmemlab again, with every parameter it has now
# and the ones given replacing theirs (rmmod, then insmod); when it is not
# loaded, with the ones given only. Says why and returns 1 when it cannot.
kml_reload() {
	local keep= kv new

	if [ -d $P ]; then
		for kv in $(kml_params); do
			for new in "$@"; do
				[ "${new%%=*}" = "${kv%%=*}" ] && continue 2
			done
			keep="$keep $kv"
		done
		rmmod kmemlab || { echo "# cannot unload kmemlab"; return 1; }
	fi
	insmod /kmemlab/kmemlab.ko $keep "$@" ||
		{ echo "# cannot load kmemlab$keep $*"; return 1; }
}

# kml_field FILE NAME: the value of FILE's "NAME VALUE" line (debugfs stats,
# a cache's stats and geometry), read as data, never run as shell code.
kml_field() { awk -v k="$2" '$1 == k { print $2 }' "$1"; }
# kml_stat NAME: a counter of debugfs stats; kml_cache_stat CACHE NAME: one
# of a cache's. (Not "stat": that is a command.)
kml_stat() { kml_field $D/stats "$1"; }
kml_cache_stat() { kml_field "$D/slab/$1/stats" "$2"; }
# validate prints one "...: ok" line per allocator when all is well.
clean() { [ -n "$(cat $D/validate)" ] && ! grep -qv ': ok$' $D/validate; }
# After a drain, as many pages free as right after insmod.
baseline() { echo 1 >$D/drain; [ "$(kml_stat free_pages)" = "$(kml_stat baseline_free_pages)" ]; }
# Free memory in kB, counting the pages Linux keeps on its per-CPU lists
# (/proc/zoneinfo "count:"), which MemFree leaves out.
memfree() {
	pcp=$(awk '$1 == "count:" { n += $2 } END { print n * 4 }' /proc/zoneinfo)
	awk -v p="$pcp" '$1 == "MemFree:" { print $2 + p }' /proc/meminfo
}
