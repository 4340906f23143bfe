#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# make check: host tests of module/core under ASan/UBSan and of the malloc
# shim (sys backend), then the VM suites.
# Prints each suite's result and ends with "N passed, N failed" over all.
#
#   scripts/check.sh [LANE]     which kernel the VM suites boot (scripts/kernel.sh)
#   KML_CHECK_HOST=0            skip the host suites
#   KML_CHECK_VM=stress         the VM runs selftests/kmemlab/stress.sh (the
#                               big sizes and the fuzzers) instead of the
#                               collection (make stress)
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top" || exit 1
kernel=${1:-6.1}
[ "$kernel" = std ] && kernel=6.1
vm=${KML_CHECK_VM:-suites}
logs=build/check-$kernel
[ "$vm" = stress ] && logs=build/stress-$kernel
rm -rf "$logs" && mkdir -p "$logs"
passed=0 failed=0 skipped=0

# suite NAME COMMAND...: runs COMMAND, keeps its output in $logs/NAME.log.
suite() {
	local name=$1 rc p f s
	shift
	echo "=== suite $name: $*"
	"$@" 2>&1 | tee "$logs/$name.log"
	rc=${PIPESTATUS[0]}
	read -r p f s < <(scripts/ktap-count "$logs/$name.log")
	if [ "$rc" != 0 ] && [ "$f" = 0 ]; then
		echo "suite $name: exited $rc with no failing test: counted as one failure"
		f=1
	fi
	if [ $((p + f)) = 0 ]; then
		echo "suite $name: ran no test: counted as one failure"
		f=1
	fi
	echo "suite $name: $p passed, $f failed, $s skipped"
	passed=$((passed + p)) failed=$((failed + f)) skipped=$((skipped + s))
	summary+=("$name: $p passed, $f failed, $s skipped")
}

summary=()
if [ "${KML_CHECK_HOST:-1}" != 0 ]; then
	for t in build/host/*_test; do
		suite "host-$(basename "$t")" env ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
			UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 "$t"
	done
	# The malloc shim on the host, on the real brk and mmap (sys backend).
	suite host-shim shim/tests/run.sh
fi
# One boot runs the whole collection on 4 CPUs (the SMP stress needs them)
# and 2 GiB (a 1 GiB region must load),
# then a kmemleak scan (a SKIP on kernels without kmemleak).
if [ "$vm" = stress ]; then
	# A 256 MiB region holds 64 000 VMAs' 60 000 pages, and heap_test's
	# reservations (256 MiB) still hold two thirds of it.
	suite "vm-$kernel-stress" scripts/vm.sh --kernel "$kernel" --smp 4 --mem 2G --timeout 18000 \
		--load 'kmemlab region_mb=256' -- \
		'cd /kmemlab/selftests/kmemlab && ./stress.sh; rc=$?; kmemlab leakcheck || rc=1; exit $rc'
else
	suite "vm-$kernel-kmemlab" scripts/vm.sh --kernel "$kernel" --smp 4 --mem 2G --timeout 3600 \
		--load kmemlab -- 'kmemlab selftest kmemlab; rc=$?; kmemlab leakcheck || rc=1; exit $rc'
fi


echo "=== summary ($kernel kernel)"
printf '  %s\n' "${summary[@]}"
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" = 0 ]
