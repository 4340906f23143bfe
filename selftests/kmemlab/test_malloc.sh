#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# libkmemlab-malloc on the kmemlab backend: the shim's own test programs,
# then the host's sort, gzip, find and python3 under LD_PRELOAD, compared
# with their plain runs, and debugfs heaps while one of them runs.
# The programs need more than the default 64 MiB region (calloc's test
# alone holds 192 MiB): kmemlab is reloaded with 256 MiB, then as it was.
. ./lib.sh
[ -d $D ] || { echo "# kmemlab is not loaded"; exit 1; }
orig=$(kml_params)
kml_reload region_mb=256 || exit 1
KMEMLAB_MALLOC_BACKEND=kmemlab KMM_HOSTBIN=/kmemlab/host/bin \
	KMM_FIND_DIR=/usr/lib/python3.11 /kmemlab/shim/tests/run.sh
rc=$?
if ! baseline || ! clean; then
	echo "# kmemlab is not back to its initial state after the programs: $(kml_stat free_pages) pages free, $(kml_stat baseline_free_pages) after insmod"
	rc=1
fi
kml_reload $orig || exit 1
exit $rc
