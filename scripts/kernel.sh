#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The guest kernels kmemlab is built for and booted on, one lane each:
#
#   6.1    Debian 12 (bookworm)'s kernel, the default (alias: std)
#   6.12   Debian 13 (trixie)'s series, as bookworm-security ships it (+deb12)
#   rt     Debian 12's PREEMPT_RT kernel (6.1, linux-image-rt-amd64)
#   debug  6.1 from linux-source-6.1 with KASAN, lockdep, kmemleak and the
#          lockup detectors (scripts/debug-kernel.sh builds and caches it)
#
#   scripts/kernel.sh LANE --image     the bzImage to boot
#   scripts/kernel.sh LANE --kdir      the tree to build modules against
#   scripts/kernel.sh LANE --release   its uname -r
#   scripts/kernel.sh LANE --config    its .config
#   scripts/kernel.sh --lanes          the lane names, one a line
#
# The Debian lanes' image and headers are fetched from Debian's archive with
# apt-get download and unpacked with dpkg -x into the cache (KMEMLAB_CACHE,
# default ~/.cache/kmemlab), keyed by the package version: the host's own
# kernel packages are never installed or replaced. The newest version the
# archive offers for the lane is used; with no archive at hand, the newest
# one already cached.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
die() { echo "kernel.sh: $*" >&2; exit 1; }
cache=${KMEMLAB_CACHE:-$HOME/.cache/kmemlab}
lanes="6.1 6.12 rt debug"

[ "${1:-}" = --lanes ] && { printf '%s\n' $lanes; exit 0; }
[ $# = 2 ] || die "usage: scripts/kernel.sh LANE --image|--kdir|--release|--config (LANE: ${lanes// /, })"
lane=$1 what=$2
[ "$lane" = std ] && lane=6.1
case $what in
--image | --kdir | --release | --config) ;;
*) die "unknown option '$what' (--image, --kdir, --release or --config)" ;;
esac

# answer IMAGE KDIR RELEASE: what the caller asked for.
answer() {
	case $what in
	--image) echo "$1" ;;
	--kdir) echo "$2" ;;
	--release) echo "$3" ;;
	--config) echo "$2/.config" ;;
	esac
}

if [ "$lane" = debug ]; then
	# One build at a time: a second caller waits, then finds it cached.
	mkdir -p "$cache"
	exec 9>"$cache/debug-kernel.lock"
	flock 9
	dir=$("$top/scripts/debug-kernel.sh") || die "no debug kernel (scripts/debug-kernel.sh failed)"
	answer "$dir/obj/arch/x86/boot/bzImage" "$dir/obj" "$(cat "$dir/obj/include/config/kernel.release")"
	exit 0
fi

# The headers package that names a lane's kernel ABI.
case $lane in
6.1) pattern='^linux-headers-6\.1\.0-[0-9]+-amd64$' ;;
6.12) pattern='^linux-headers-6\.12\.[0-9]+\+deb12-amd64$' ;;
rt) pattern='^linux-headers-6\.1\.0-[0-9]+-rt-amd64$' ;;
*) die "unknown kernel '$lane' (one of: ${lanes// /, })" ;;
esac

newest_known() {
	{ apt-cache pkgnames linux-headers- 2>/dev/null || true; } | { grep -E "$pattern" || true; } |
		sort -V | tail -n 1
}

newest_cached() {
	local d
	for d in "$cache"/kernel-*/complete; do
		[ -f "$d" ] || continue
		d=${d%/complete}
		echo "linux-headers-${d##*/kernel-}"
	done | { grep -E "$pattern" || true; } | sort -V | tail -n 1
}

hdr=$(newest_known)
if [ -z "$hdr" ] && [ "$(id -u)" = 0 ]; then
	apt-get update -qq >/dev/null 2>&1 || true
	hdr=$(newest_known)
fi
cached=$(newest_cached)
[ -n "$hdr" ] || hdr=$cached
[ -n "$hdr" ] || die "kernel $lane: Debian's archive offers no package matching $pattern and none is cached (apt-get update, network?)"

# Where lane $1's kernel ABI $2 lives.
locate() {
	abi=${1#linux-headers-}
	dir=$cache/kernel-$abi
	root=$dir/root
	kdir=$root/usr/src/linux-headers-$abi
	image=$root/boot/vmlinuz-$abi
}
locate "$hdr"

verified() {
	[ -f "$dir/complete" ] && (cd "$dir" && sha256sum --quiet -c complete) >/dev/null 2>&1
}

# fetch: download and unpack $hdr's kernel into $dir; false on failure.
fetch() {
	rm -rf "$dir"
	mkdir -p "$dir/debs"
	# The headers need their common part and kbuild; the image is the
	# unsigned one (the signed package only wraps it for Secure Boot).
	pkgs="$hdr linux-image-$abi-unsigned $(apt-cache depends --no-recommends --no-suggests --no-conflicts --no-breaks \
		--no-replaces --no-enhances "$hdr" 2>/dev/null |
		awk '/Depends:/ { print $2 }' |
		{ grep -E '^linux-(headers-.*-common(-rt)?|kbuild-.*)$' || true; } | sort -u | tr '\n' ' ')"
	case $pkgs in
	*linux-kbuild-*) ;;
	*) echo "kernel.sh: kernel $lane: cannot tell which packages $hdr needs (apt-cache depends)" >&2; return 1 ;;
	esac
	echo "kernel.sh: fetching kernel $lane ($abi) from Debian's archive into $dir" >&2
	log=$dir/fetch.log
	# shellcheck disable=SC2086
	if ! (cd "$dir/debs" && apt-get download -q -o APT::Sandbox::User=root $pkgs) >"$log" 2>&1; then
		tail -n 5 "$log" >&2
		echo "kernel.sh: kernel $lane: apt-get download $pkgs failed (log: $log)" >&2
		return 1
	fi
	for deb in "$dir"/debs/*.deb; do
		dpkg -x "$deb" "$root" || { echo "kernel.sh: kernel $lane: dpkg -x $deb failed" >&2; return 1; }
	done
	rm -rf "$dir/debs" "$root/lib/modules/$abi/kernel"
	if [ ! -f "$kdir/Makefile" ] || [ ! -f "$image" ]; then
		echo "kernel.sh: kernel $lane: $abi's packages hold no $kdir/Makefile or $image" >&2
		return 1
	fi
	# Debian's headers include their common part by absolute path.
	sed -i "s|/usr/src/|$root/usr/src/|g" "$kdir/Makefile"
	chmod a+r "$image"
	(cd "$dir" && sha256sum "${image#"$dir"/}" "${kdir#"$dir"/}/Makefile" \
		"${kdir#"$dir"/}/.config" >complete)
}

# One fetch at a time per kernel: a second caller waits, then finds it done.
mkdir -p "$cache"
exec 9>"$cache/kernel-$abi.lock"
flock 9
if ! verified; then
	[ -e "$dir" ] && echo "kernel.sh: cache entry $dir is incomplete or corrupt: fetching again" >&2
	if ! fetch; then
		rm -rf "$dir"
		# An archive that lists a newer kernel than it can deliver (stale
		# apt lists, no network) still leaves the one already cached.
		[ -n "$cached" ] && [ "$cached" != "$hdr" ] || die "kernel $lane: cannot fetch $abi"
		echo "kernel.sh: kernel $lane: using the cached ${cached#linux-headers-} instead" >&2
		hdr=$cached
		locate "$hdr"
		verified || die "kernel $lane: the cached ${cached#linux-headers-} does not verify"
	fi
fi
answer "$image" "$kdir" "$abi"
