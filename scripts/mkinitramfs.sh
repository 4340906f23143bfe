#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Build a newc cpio archive from a list of "HOSTPATH GUESTPATH" lines on stdin.
# Dynamically linked ELF files bring their glibc loader and libraries along.
#
#   scripts/mkinitramfs.sh STAGING_DIR OUTPUT.cpio < manifest
set -eu
stage=$1
out=$2
rm -rf "$stage"
mkdir -p "$stage"

put() {
	dst="$stage/${2#/}"
	mkdir -p "$(dirname "$dst")"
	if [ -d "$1" ]; then
		cp -a "$1/." "$dst/"
	else
		cp -L "$1" "$dst"
	fi
}

libs_of() {
	# ldd prints "name => /path (addr)" and "/lib64/ld-linux-x86-64.so.2 (addr)"
	ldd "$1" 2>/dev/null | awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }'
}

while read -r host guest; do
	[ -n "$host" ] || continue
	if [ ! -e "$host" ]; then
		echo "mkinitramfs: $host does not exist" >&2
		exit 1
	fi
	put "$host" "$guest"
	files=$host
	[ -d "$host" ] && files=$(find "$host" -type f)
	for f in $files; do
		head -c 4 "$f" 2>/dev/null | grep -q ELF || continue
		for l in $(libs_of "$f"); do
			[ -e "$stage$l" ] || put "$l" "$l"
		done
	done
done
(cd "$stage" && find . | LC_ALL=C sort | cpio -o -H newc --quiet -R 0:0) >"$out.tmp"
mv "$out.tmp" "$out"
