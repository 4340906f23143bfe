#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Unmodified kernel modules on kmemlab: brd.ko and minix.ko, built from the
# lane's Debian linux-source with kmemlab/redirect.h (Makefile: extern). A
# minix filesystem on a ram disk takes a few thousand files, copies them,
# deletes them; its pages, inodes and buffers all come from kmemlab's
# region, and all go back at rmmod.
. ./lib.sh
X=/kmemlab/extern
M=/tmp/minix
RD_KB=16384
SMALL=1500	# small files per copy, in 12 directories
BIG=6		# 512 KiB files per copy

# The sum of a slabinfo column ($2 active objects, $15 slabs) over the
# caches whose name matches $1, after a drain (magazines flushed: objects
# handed out only).
slab_sum() { echo 1 >$D/drain; awk -v re="$1" -v c="$2" '$1 ~ re { n += $c } END { print n + 0 }' $D/slabinfo; }
# Region pages allocated by alloc_pages (brd's), from the pagemap.
page_pages() { awk '$3 == "pages" { n += $2 } END { print n + 0 }' $D/pagemap; }
# Free pages on the buddy allocator's free lists (buddyinfo), after a drain.
buddy_free() {
	echo 1 >$D/drain
	awk '{ m = 1; for (i = 5; i <= NF; i++) { n += $i * m; m *= 2 } } END { print n }' $D/buddyinfo
}
# md5sums of every file under $1, by path relative to it.
sums() { (cd "$1" && find . -type f | LC_ALL=C sort | xargs md5sum); }
misuse() { grep -E '^misuse_' $D/stats | awk '{ n += $2 } END { print n }'; }

plan 14
misuse_before=$(misuse)
free_before=$(buddy_free)

# The workload's source files, on tmpfs: small ones written by the shell,
# large ones of random bytes.
rm -rf /tmp/src && mkdir -p /tmp/src
pad=0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ
i=0
while [ $i -lt $SMALL ]; do
	d=/tmp/src/d$((i % 12))
	[ -d $d ] || mkdir $d
	# 30 to 1950 bytes: one to two of minix's 1 KiB blocks
	j=$((i % 31)) line="file $i of kmemlab test_minix"
	while [ $j -gt 0 ]; do line="$line $pad" j=$((j - 1)); done
	echo "$line" >$d/f$i
	i=$((i + 1))
done
i=0
while [ $i -lt $BIG ]; do
	head -c 524288 /dev/urandom >/tmp/src/big$i
	i=$((i + 1))
done
sums /tmp/src >/tmp/src.md5
nfiles=$(wc -l </tmp/src.md5)
bytes=$(find /tmp/src -type f -exec cat {} + | wc -c)
kb=$((bytes / 1024))

insmod $X/brd.ko rd_nr=1 rd_size=$RD_KB
result $? "insmod brd.ko rd_nr=1 rd_size=$RD_KB (drivers/block/brd.c, unmodified)"
insmod $X/minix.ko
result $? "insmod minix.ko (fs/minix, unmodified)"
grep -q '^minix_inode_cache ' $D/slabinfo && ! grep -q '^minix_inode_cache ' /proc/slabinfo
result $? "minix_inode_cache is kmemlab's cache, not the kernel's"

mkfs.minix -3 -i 8192 /dev/ram0 >/tmp/mkfs.log 2>&1
result $? "mkfs.minix -3 on /dev/ram0"
kmalloc_before=$(slab_sum '^kmalloc-' 2)
mkdir -p $M && mount -t minix /dev/ram0 $M
result $? "mount -t minix /dev/ram0"

cp -a /tmp/src $M/a && cp -a $M/a $M/b && sync
result $? "copy $nfiles files ($kb KiB) in, then again inside the filesystem"

# While mounted: kmemlab's views of the filesystem and the disk.
inodes=$(slab_sum '^minix_inode_cache$' 2)
islabs=$(slab_sum '^minix_inode_cache$' 15)
kmalloc_now=$(slab_sum '^kmalloc-' 2)
rd_pages=$(cat /sys/kernel/debug/ramdisk_pages/ram0 2>/dev/null || echo 0)
kml_pages=$(page_pages)
free_now=$(buddy_free)
echo "# minix_inode_cache: $inodes objects in $islabs slabs; kmalloc objects $kmalloc_before -> $kmalloc_now"
echo "# brd holds $rd_pages pages; kmemlab's pagemap: $kml_pages pages allocated as pages;" \
	"buddyinfo: $free_before -> $free_now free"
grep -E '^(# name|minix_inode_cache|kmalloc-(32|64|128|256|512|1k) )' $D/slabinfo | sed 's/^/#   /'
[ "$inodes" -ge $((2 * nfiles)) ] && [ "$islabs" -gt 0 ] && [ "$kmalloc_now" -gt "$kmalloc_before" ]
result $? "slabinfo: minix_inode_cache holds the files' inodes, kmalloc classes minix's objects"
[ "$rd_pages" -ge $((2 * bytes / 4096)) ] && [ "$kml_pages" -ge "$rd_pages" ] &&
	[ $((free_before - free_now)) -ge "$rd_pages" ]
result $? "brd's $rd_pages pages are region pages (pagemap, buddyinfo)"

# Read back from the disk, not the page cache: mount again.
umount $M && mount -t minix /dev/ram0 $M && sums $M/a >/tmp/a.md5 && sums $M/b >/tmp/b.md5 &&
	cmp -s /tmp/src.md5 /tmp/a.md5 && cmp -s /tmp/src.md5 /tmp/b.md5
result $? "after a remount both copies have the md5sums of the originals"
rm -rf $M/b && [ ! -e $M/b ] && sums $M/a >/tmp/a.md5 && cmp -s /tmp/src.md5 /tmp/a.md5
result $? "delete one copy: the other is intact"
df -k $M | tail -n 1 | awk '{ print "# minix: " $3 " KiB used, " $4 " KiB free" }'
umount $M
result $? "umount"
fsck.minix -f /dev/ram0 >/tmp/fsck.log 2>&1
rc=$?
[ $rc = 0 ] || sed 's/^/# /' /tmp/fsck.log | tail -n 10
result $rc "fsck.minix -f: clean"
rmmod minix && rmmod brd
result $? "rmmod minix brd"
baseline && clean && [ "$(misuse)" = "$misuse_before" ] && ! grep -q '^minix_inode_cache ' $D/slabinfo
result $? "every page back, validate clean, no misuse reported, the cache gone"
echo "# numbers: files=$((2 * nfiles)) MiB=$((2 * kb / 1024)) brd_pages=$rd_pages" \
	"inode_objects=$inodes inode_slabs=$islabs kmalloc_objects=$((kmalloc_now - kmalloc_before))"
rm -rf /tmp/src /tmp/src.md5 /tmp/a.md5 /tmp/b.md5
finish
