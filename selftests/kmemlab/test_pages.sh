#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Loads test_kmemlab_pages.ko (its checks run at load) and checks that each
# misuse it provokes was counted once in debugfs, with the allocator intact.
. ./lib.sh

plan 4
kinds="outside not_head wrong_order wrong_owner double_free"
# The counters before, one per kind, in the order of $kinds.
before=$(for k in $kinds; do echo "$(kml_stat misuse_$k)"; done)
test_module test_kmemlab_pages max_order="$(kml_stat max_order)"
want="outside=2 not_head=1 wrong_order=1 wrong_owner=1 double_free=2"
got=
set -- $before
for k in $kinds; do
	got="$got $k=$(( $(kml_stat misuse_$k) - ${1:-0} ))"
	shift
done
if [ "${got# }" = "$want" ]; then ok "misuse counted: $want"; else nok "misuse counted: want $want, got${got}"; fi
if clean; then ok "validate clean"; else cat $D/validate | sed 's/^/# /'; nok "validate clean"; fi
if baseline; then ok "all pages back: $(kml_stat free_pages) free, as after insmod"; else nok "all pages back: $(kml_stat free_pages) free, $(kml_stat baseline_free_pages) after insmod"; fi
finish
