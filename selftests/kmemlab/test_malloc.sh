#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# libkmemlab-malloc on the kmemlab backend: the shim's own test programs,
# then the host's sort, gzip, find and python3 under LD_PRELOAD, compared
# with their plain runs, and debugfs heaps while one of them runs.
# The programs need more than the default 64 MiB region (calloc's test
# alone holds 192 MiB): kmemlab is reloaded with 256 MiB, then as it was.
. ./lib.sh
[ -d $D ] || { echo "# kmemlab is not loaded"; exit 1; }
params=$(for p in region_mb max_order kmalloc_max dev_group; do
	printf '%s=%s ' $p "$(cat /sys/module/kmemlab/parameters/$p)"; done)
reload() {
	rmmod kmemlab && insmod /kmemlab/kmemlab.ko "$@" ||
		{ echo "# cannot reload kmemlab $*"; exit 1; }
}
reload region_mb=256
KMEMLAB_MALLOC_BACKEND=kmemlab KMM_HOSTBIN=/kmemlab/host/bin \
	KMM_FIND_DIR=/usr/lib/python3.11 /kmemlab/shim/tests/run.sh
rc=$?
if ! baseline || ! clean; then
	echo "# kmemlab is not back to its initial state after the programs: $(stat free_pages) pages free, $(stat baseline_free_pages) after insmod"
	rc=1
fi
reload $params
exit $rc
