#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The Debian linux-source tarball that matches a lane's kernel, from which
# the build extracts unmodified kernel sources (brd.c, fs/minix: Makefile's
# extern target). Nothing of it is ever committed.
#
#   scripts/linux-source.sh LANE     print the tarball's path, fetching it if needed
#
#   6.1, rt, debug   /usr/src/linux-source-6.1.tar.xz (linux-source-6.1,
#                    installed by scripts/deps.sh)
#   6.12             linux-source-6.12 of the version of the lane's headers,
#                    from bookworm-security: apt-get download and dpkg -x into
#                    the cache (KMEMLAB_CACHE, default ~/.cache/kmemlab), one
#                    fetch at a time (flock), as scripts/kernel.sh does
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
die() { echo "linux-source.sh: $*" >&2; exit 1; }
cache=${KMEMLAB_CACHE:-$HOME/.cache/kmemlab}

[ $# = 1 ] || die "usage: scripts/linux-source.sh LANE"
lane=$1
[ "$lane" = std ] && lane=6.1

# hdr_version ABI: the Debian version of the headers package of kernel ABI.
hdr_version() {
	apt-cache show "linux-headers-$1" 2>/dev/null | awk '/^Version:/ { print $2; exit }'
}

case $lane in
6.1 | rt | debug)
	tarball=/usr/src/linux-source-6.1.tar.xz
	[ -r $tarball ] || "$top/scripts/deps.sh" >&2
	[ -r $tarball ] || die "$tarball is missing (linux-source-6.1)"
	if [ "$lane" != debug ]; then
		# The debug kernel is built from this very tarball; the Debian
		# lanes' kernels should be of its version too.
		abi=$("$top/scripts/kernel.sh" "$lane" --release)
		want=$(hdr_version "$abi")
		have=$(dpkg-query -W -f '${Version}' linux-source-6.1)
		[ -z "$want" ] || [ "$want" = "$have" ] ||
			echo "linux-source.sh: note: linux-source-6.1 is $have, kernel $lane ($abi) is $want" >&2
	fi
	echo $tarball
	;;
6.12)
	abi=$("$top/scripts/kernel.sh" 6.12 --release)
	ver=$(hdr_version "$abi")
	[ -n "$ver" ] || die "kernel 6.12 ($abi): apt-cache knows no linux-headers-$abi (apt-get update?)"
	dir=$cache/linux-source-6.12-$ver
	tarball=$dir/root/usr/src/linux-source-6.12.tar.xz
	mkdir -p "$cache"
	exec 9>"$dir.lock"
	flock 9
	if ! { [ -f "$dir/complete" ] && (cd "$dir" && sha256sum --quiet -c complete) >/dev/null 2>&1; }; then
		rm -rf "$dir"
		mkdir -p "$dir/debs"
		echo "linux-source.sh: fetching linux-source-6.12 $ver into $dir" >&2
		if ! (cd "$dir/debs" && apt-get download -q -o APT::Sandbox::User=root \
			"linux-source-6.12=$ver") >"$dir/fetch.log" 2>&1; then
			tail -n 5 "$dir/fetch.log" >&2
			rm -rf "$dir"
			die "apt-get download linux-source-6.12=$ver failed"
		fi
		dpkg -x "$dir"/debs/*.deb "$dir/root" || { rm -rf "$dir"; die "dpkg -x failed"; }
		rm -rf "$dir/debs"
		[ -f "$tarball" ] || { rm -rf "$dir"; die "the package holds no $tarball"; }
		(cd "$dir" && sha256sum "${tarball#"$dir"/}" >complete)
	fi
	echo "$tarball"
	;;
*) die "unknown lane '$lane' (6.1, 6.12, rt or debug)" ;;
esac
