#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Build (once) the debug kernel: tinyconfig + scripts/debug-kernel.config on
# Debian's linux-source-6.1, with KASAN, lockdep and kmemleak.
#
#   scripts/debug-kernel.sh            build it if the cache has none; print its directory
#   scripts/debug-kernel.sh --image    the same, but print the bzImage path
#   scripts/debug-kernel.sh --kdir     the same, but print the tree to build modules against
#
# The cache lives outside the clone (KMEMLAB_CACHE, default ~/.cache/kmemlab),
# keyed by the source package version and the fragment's and this script's
# hashes. An entry is used only when its checksums verify; anything else is
# deleted and rebuilt.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
die() { echo "debug-kernel.sh: $*" >&2; exit 1; }

what=dir
case ${1:-} in
--image) what=image ;;
--kdir) what=kdir ;;
"") ;;
*) echo "debug-kernel.sh: unknown option '$1' (use --image or --kdir)" >&2; exit 2 ;;
esac

"$top/scripts/deps.sh" --debug >&2
tarball=/usr/src/linux-source-6.1.tar.xz
[ -r "$tarball" ] || die "$tarball is missing (linux-source-6.1)"
srcver=$(dpkg-query -W -f '${Version}' linux-source-6.1)
frag=$top/scripts/debug-kernel.config
key=$(cat <(echo "$srcver") "$frag" "$0" | sha256sum | cut -c1-16)
cache=${KMEMLAB_CACHE:-$HOME/.cache/kmemlab}
dir=$cache/debug-kernel-$key
obj=$dir/obj

verified() {
	[ -f "$dir/complete" ] && (cd "$dir" && sha256sum --quiet -c complete) >/dev/null 2>&1
}

if ! verified; then
	[ -e "$dir" ] && echo "debug-kernel.sh: cache entry $dir is incomplete or corrupt: rebuilding" >&2
	rm -rf "$dir"
	mkdir -p "$dir"
	log=$dir/build.log
	start=$(date +%s)
	echo "debug-kernel.sh: building the debug kernel in $dir (about 15 minutes with 2 CPUs)" >&2
	tar -xJf "$tarball" -C "$dir"
	src=$dir/linux-source-6.1
	mkdir -p "$obj"
	jobs=$(nproc)
	if ! {
		make -C "$src" O="$obj" tinyconfig &&
		"$src/scripts/kconfig/merge_config.sh" -m -O "$obj" "$obj/.config" "$frag" &&
		make -C "$src" O="$obj" olddefconfig
	} >"$log" 2>&1; then
		tail -n 30 "$log" >&2
		die "configuring the kernel failed (log: $log)"
	fi
	missing=$(grep -E '^CONFIG_' "$frag" | while IFS= read -r l; do
		opt=${l%%=*}
		case $l in
		*=n) grep -q "^$opt=" "$obj/.config" && echo "$l" ;;
		*) grep -qx "$l" "$obj/.config" || echo "$l" ;;
		esac
	done)
	[ -z "$missing" ] || die "options the kernel did not take: $(echo $missing)"
	if ! make -C "$src" O="$obj" -j"$jobs" bzImage modules >>"$log" 2>&1; then
		grep -E 'error|Error' "$log" | tail -n 10 >&2
		tail -n 20 "$log" >&2
		die "the kernel build failed (log: $log)"
	fi
	(cd "$dir" && sha256sum obj/arch/x86/boot/bzImage obj/Module.symvers obj/.config >complete)
	echo "debug-kernel.sh: built in $(( $(date +%s) - start )) s" >&2
fi
case $what in
dir) echo "$dir" ;;
image) echo "$obj/arch/x86/boot/bzImage" ;;
kdir) echo "$obj" ;;
esac
