#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# make bench: instruction counts of the host build under callgrind, then, on
# each lane given (default 6.1 and 6.12; make bench passes its KERNEL first),
# two VM boots with kmemlab next to the kernel's allocators: every benchmark
# with 2 vCPUs, then the SMP scaling row again with 4. Prints, never asserts.
# Each lane's initramfs must be built (make image KERNEL=LANE).
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
[ $# -gt 0 ] || set -- 6.1 6.12
out=build/bench
mkdir -p "$out"
n=100000

echo "== callgrind: instructions per operation of the host build (-O2)"
echo "   counted: the entry points and all they call; the host's per-CPU local lock is one"
echo "   compare-and-swap and one store (the kernel's: interrupts saved, off, restored), no mutex"
# Only the allocator's entry points (and what they call) are collected,
# not the loop around them; the calls are one warm-up pair and n measured.
valgrind --tool=callgrind --callgrind-out-file="$out/callgrind.buddy" \
	--toggle-collect=kml_buddy_alloc --toggle-collect=kml_buddy_free \
	build/host-bench/bench_buddy $n >/dev/null 2>"$out/valgrind.log"
ir=$(awk '/^totals:/ { print $2 }' "$out/callgrind.buddy")
awk -v ir="$ir" -v n=$n 'BEGIN { printf "  buddy order-0 kml_buddy_alloc + kml_buddy_free: %.1f instructions a pair (%d pairs)\n", ir / (n + 1), n }'

# Debian's kernel zeroes every allocation (init_on_alloc=1) and kmemlab
# follows the kernel's setting (its init_on_alloc parameter is -1): the VM
# boots with init_on_alloc=0, so that neither side's timings are zeroing.
valgrind --tool=callgrind --callgrind-out-file="$out/callgrind.slab" \
	--toggle-collect=kml_slab_alloc --toggle-collect=kml_slab_free \
	build/host-bench/bench_slab $n >/dev/null 2>>"$out/valgrind.log"
ir=$(awk '/^totals:/ { print $2 }' "$out/callgrind.slab")
awk -v ir="$ir" -v n=$n 'BEGIN { printf "  slab fast path kml_slab_alloc + kml_slab_free (64 B): %.1f instructions a pair (%d pairs)\n", ir / (n + 1), n }'

# The shim's tcache fast path: malloc(32) + free, on the sys backend.
KMEMLAB_MALLOC_BACKEND=sys LD_PRELOAD="$top/shim/libkmemlab-malloc.so" \
	valgrind --tool=callgrind --callgrind-out-file="$out/callgrind.shim" \
	--toggle-collect=malloc --toggle-collect=free \
	shim/bench/pair32 $n >/dev/null 2>>"$out/valgrind.log"
ir=$(awk '/^totals:/ { print $2 }' "$out/callgrind.shim")
awk -v ir="$ir" -v n=$n 'BEGIN { printf "  libkmemlab-malloc malloc(32) + free: %.1f instructions a pair (%d pairs)\n", ir / n, n }'

# region_mb=256: the heap benchmark faults in 64 MiB, malloc's frag holds 100 MiB.
vm() {
	scripts/vm.sh --kernel "$1" --smp "$2" --mem 2G --append init_on_alloc=0 \
		--load 'kmemlab region_mb=256' -- kmemlab bench ${3:+"$3"}
}
# How busy the host's CPUs were over one second (before a boot): under TCG
# each vCPU is a host thread, and anything else running skews the timings,
# the scaling row's most.
host_busy() {
	local a b
	read -ra a </proc/stat; sleep 1; read -ra b </proc/stat
	awk -v u=$((b[1] + b[2] + b[3] + b[6] + b[7] - a[1] - a[2] - a[3] - a[6] - a[7])) \
		-v i=$((b[4] + b[5] - a[4] - a[5])) -v n="$(nproc)" \
		'BEGIN { printf "%d host CPUs, %.0f%% busy", n, u + i ? 100 * u / (u + i) : 0 }'
}
failed=
for lane in "$@"; do
	echo
	echo "== in the VM (kernel $lane, init_on_alloc=0): ns per operation, best of 3 rounds each; ratio = kmemlab / kernel"
	echo "bench.sh: booting kernel $lane with 2 vCPUs for every benchmark ($(host_busy) before)"
	vm "$lane" 2 || failed="$failed $lane/smp2"
	echo "bench.sh: booting kernel $lane with 4 vCPUs for the SMP scaling row ($(host_busy) before)"
	vm "$lane" 4 scale || failed="$failed $lane/smp4"
done
if [ -n "$failed" ]; then
	echo "bench.sh: these VM runs failed:$failed (build/vm/kernel.log has the last)" >&2
	exit 1
fi
