#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# make stress (scripts/check.sh stress), in the guest with kmemlab loaded
# (a 256 MiB region): heap_scale_test at its big sizes, then heap_test
# with the fuzzers at 1 000 000 ioctl calls (4 processes of 2 threads, as
# uid 65534 in kmemlab's dev_group, with the mmap fuzzer), then every page
# back and validate clean. Nested KTAP, as the kselftest runner prints.
. ./lib.sh

plan 3
# prog NAME COMMAND...: one result for a kselftest program, its output nested.
prog() {
	name=$1
	shift
	echo "# selftests: kmemlab: $name"
	{ "$@" 2>&1; echo "rc=$?" >/tmp/stress.rc; } | sed 's/^/# /'
	result "$(sed 's/^rc=//' /tmp/stress.rc)" "selftests: kmemlab: $name"
}

prog heap_scale_test env KML_SCALE=stress ./heap_scale_test
prog heap_test env KML_FUZZ_CALLS=1000000 KML_FUZZ_PROCS=4 KML_FUZZ_THREADS=2 \
	KML_FUZZ_UID=65534 KML_FUZZ_MMAP=1 KML_FUZZ_TIMEOUT=14400 ./heap_test
if baseline && clean; then
	ok "every page back ($(kml_stat free_pages) free as after insmod), validate clean"
else
	nok "every page back: $(kml_stat free_pages) of $(kml_stat baseline_free_pages) free; validate:"
	sed 's/^/# /' $D/validate
fi
finish
