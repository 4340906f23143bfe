#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Loads test_kmemlab_pages.ko (its checks run at load) and checks that each
# misuse it provokes was counted once in debugfs, with the allocator intact;
# then one load per semantic the page allocator shares with Linux's
# (check=NAME), one KTAP line each.
. ./lib.sh

plan 28
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

# sem NAME DESCRIPTION: the check NAME passes (the module loads).
sem() {
	if insmod /kmemlab/test_kmemlab_pages.ko check="$1" max_order="$(kml_stat max_order)"; then
		rmmod test_kmemlab_pages
		ok "$2"
	else
		dmesg | grep test_kmemlab_pages | tail -n 3 | sed 's/^/# /'
		nok "$2"
	fi
}

sem refcount "a freed block with a page still referenced waits for kml_put_page"
sem refcount_linux_put "... or for Linux's put_page, noticed by kmemlab's sweep"
sem holder_free "a holder's __free_pages on a held block drops its reference"
sem owner_put "the owner's put_page while others hold the page: the last put frees it"
sem vmalloc_ref "vfree of an area whose page is still referenced: the page waits"
sem kmalloc_ref "kfree of a large kmalloc block whose page is still referenced: it waits"
[ "$(kml_stat held_pages)" = 0 ]
result $? "no block left held"
sem compound "__GFP_COMP: compound_order, page_size, tails pin the head; put_page frees"
sem exact "alloc_pages_exact gives back the pages past its size"

echo 1 >$P/init_on_alloc
echo 0 >$P/init_on_free
sem init_zero "init_on_alloc=1: a dirtied page comes back zeroed"
echo 0 >$P/init_on_alloc
sem init_dirty "init_on_alloc=0 (and init_on_free=0): it comes back as it was freed"
echo 1 >$P/init_on_free
sem init_zero "init_on_free=1: it was zeroed when freed"
echo -1 >$P/init_on_alloc
echo -1 >$P/init_on_free
! echo 2 2>/dev/null >$P/init_on_alloc && [ "$(cat $P/init_on_alloc)" = -1 ]
result $? "init_on_alloc accepts only -1, 0 and 1"

before=$(kml_stat gfp_refused)
sem gfp_refused "__GFP_DMA and unknown gfp bits are refused"
[ $(( $(kml_stat gfp_refused) - before )) = 2 ]
result $? "each refusal counted"

reports() { dmesg | grep -c 'kmemlab: alloc_pages: order'; }
before=$(reports)
sem fail_nowarn "a failing allocation with __GFP_NOWARN"
[ "$(reports)" = "$before" ]
result $? "... reports nothing"
sem fail_warn "the same failure without __GFP_NOWARN"
[ "$(reports)" -gt "$before" ]
result $? "... is reported"

before=$(kml_stat nofail_waits)
sem nofail "__GFP_NOFAIL waits on an exhausted region until a page comes back"
[ "$(kml_stat nofail_waits)" -gt "$before" ]
result $? "... and it did wait"

sem softirq "free and GFP_ATOMIC allocation in a timer (softirq)"
if [ "$(cat /sys/kernel/realtime 2>/dev/null)" = 1 ]; then
	ok "free and GFP_ATOMIC allocation in hard IRQ context # SKIP PREEMPT_RT: as Linux's allocators, not in hard IRQ context"
else
	sem hardirq "free and GFP_ATOMIC allocation in hard IRQ context (hrtimer)"
fi
sem rcu "free and GFP_ATOMIC allocation in an RCU callback"
if clean; then ok "validate clean"; else cat $D/validate | sed 's/^/# /'; nok "validate clean"; fi
if baseline; then ok "all pages back: $(kml_stat free_pages) free, as after insmod"; else nok "all pages back: $(kml_stat free_pages) free, $(kml_stat baseline_free_pages) after insmod"; fi
finish
