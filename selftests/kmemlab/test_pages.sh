#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Loads test_kmemlab_pages.ko (its checks run at load) and checks that each
# misuse it provokes was counted once in debugfs, with the allocator intact.
D=/sys/kernel/debug/kmemlab
n=0 fails=0
ok() { n=$((n + 1)); echo "ok $n $1"; }
nok() { n=$((n + 1)); fails=$((fails + 1)); echo "not ok $n $1"; }
stat() { awk -v k="$1" '$1 == k { print $2 }' $D/stats; }
# validate prints one "...: ok" line per allocator when all is well.
clean() { [ -n "$(cat $D/validate)" ] && ! grep -qv ': ok$' $D/validate; }
# After a drain, as many pages free as right after insmod.
baseline() { echo 1 >$D/drain; [ "$(stat free_pages)" = "$(stat baseline_free_pages)" ]; }

echo "TAP version 13"
echo "1..4"
[ -d $D ] || { echo "# kmemlab is not loaded"; exit 1; }
for m in outside not_head wrong_order wrong_owner double_free; do
	eval "before_$m=$(stat misuse_$m)"
done
if insmod /kmemlab/test_kmemlab_pages.ko max_order="$(stat max_order)"; then
	ok "test_kmemlab_pages loads (all checks pass)"
	rmmod test_kmemlab_pages
else
	dmesg | grep test_kmemlab_pages | tail -n 5 | sed 's/^/# /'
	nok "test_kmemlab_pages loads (all checks pass)"
fi
want="outside=2 not_head=1 wrong_order=1 wrong_owner=1 double_free=2"
got=
for m in outside not_head wrong_order wrong_owner double_free; do
	eval "got=\"\$got $m=\$(( \$(stat misuse_$m) - before_$m ))\""
done
if [ "${got# }" = "$want" ]; then ok "misuse counted: $want"; else nok "misuse counted: want $want, got${got}"; fi
if clean; then ok "validate clean"; else cat $D/validate | sed 's/^/# /'; nok "validate clean"; fi
if baseline; then ok "all pages back: $(stat free_pages) free, as after insmod"; else nok "all pages back: $(stat free_pages) free, $(stat baseline_free_pages) after insmod"; fi
[ $fails = 0 ]
