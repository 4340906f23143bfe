#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Run the README's commands as a new user would, on a fresh Debian bookworm
# machine that has only git and build-essential: a minimal root built with
# debootstrap from Debian's archive (cached), this repository cloned into
# it, then `make demo` and `make check` there (in a chroot; QEMU runs inside
# with TCG). Not part of make check: it takes half an hour or more.
#
#   scripts/fresh-machine.sh [TARGET...]    default: demo check
#
# Needs root (debootstrap, chroot, mounts). The bootstrapped base is cached
# as a tarball in KMEMLAB_CACHE (default ~/.cache/kmemlab); every run starts
# from a new copy of it in build/fresh/root, whose log is build/fresh/log.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
die() { echo "fresh-machine.sh: $*" >&2; exit 1; }
[ "$(id -u)" = 0 ] || die "needs root (debootstrap, chroot and mounts)"
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(demo check)

if ! command -v debootstrap >/dev/null; then
	echo "fresh-machine.sh: installing debootstrap" >&2
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends debootstrap >/dev/null ||
		die "apt-get could not install debootstrap"
fi

# The host's Debian mirrors, so that the chroot reaches the same archive.
uris=$({ cat /etc/apt/sources.list.d/*.sources 2>/dev/null || true; } | awk '$1 == "URIs:" { print $2 }'
	{ cat /etc/apt/sources.list 2>/dev/null || true; } | awk '$1 == "deb" && $2 ~ /^http/ { print $2 }')
mirror=$(echo "$uris" | awk '/debian/ && !/security/ { print; exit }')
security=$(echo "$uris" | awk '/security/ { print; exit }')
mirror=${mirror:-http://deb.debian.org/debian}
security=${security:-http://deb.debian.org/debian-security}

cache=${KMEMLAB_CACHE:-$HOME/.cache/kmemlab}
base=$cache/bookworm-minbase.tar.gz
mkdir -p "$cache"
if [ ! -s "$base" ]; then
	echo "fresh-machine.sh: debootstrap bookworm (minbase + git + build-essential) from $mirror" >&2
	debootstrap --variant=minbase --include=git,build-essential,ca-certificates \
		--make-tarball="$base.tmp" bookworm "$cache/debootstrap-work" "$mirror" >"$cache/debootstrap.log" 2>&1 ||
		{ tail -n 20 "$cache/debootstrap.log" >&2; die "debootstrap failed (log: $cache/debootstrap.log)"; }
	rm -rf "$cache/debootstrap-work"
	mv "$base.tmp" "$base"
fi

out=$top/build/fresh
root=$out/root
umount_all() {
	local m
	for m in dev/pts dev sys proc; do
		mountpoint -q "$root/$m" && umount -l "$root/$m"
	done
	return 0
}
trap umount_all EXIT
umount_all
rm -rf --one-file-system "$out"
mkdir -p "$root"
start=$(date +%s)
debootstrap --variant=minbase --include=git,build-essential,ca-certificates \
	--unpack-tarball="$base" bookworm "$root" "$mirror" >"$out/debootstrap.log" 2>&1 ||
	{ tail -n 20 "$out/debootstrap.log" >&2; die "debootstrap from $base failed"; }
cat >"$root/etc/apt/sources.list" <<EOF
deb $mirror bookworm main
deb $mirror bookworm-updates main
deb $security bookworm-security main
EOF
cp /etc/resolv.conf "$root/etc/resolv.conf" 2>/dev/null || true
mount -t proc proc "$root/proc"
mount -t sysfs sysfs "$root/sys"
mount --bind /dev "$root/dev"
mount --bind /dev/pts "$root/dev/pts"
git clone -q "$top" "$root/root/kmemlab"
echo "fresh-machine.sh: bootstrapped in $(($(date +%s) - start)) s; running make ${targets[*]} in the chroot" >&2

rc=0
for t in "${targets[@]}"; do
	t0=$(date +%s)
	if chroot "$root" /usr/bin/env -i HOME=/root PATH=/usr/sbin:/usr/bin:/sbin:/bin TERM=dumb \
		/bin/bash -c "cd /root/kmemlab && make $t" </dev/null >"$out/make-$t.log" 2>&1; then
		r=ok
	else
		r="FAILED (exit $?)"
		rc=1
	fi
	echo "fresh-machine.sh: make $t: $r in $(($(date +%s) - t0)) s; last line: $(tail -n 1 "$out/make-$t.log")" |
		tee -a "$out/log"
	[ $rc = 0 ] || { tail -n 30 "$out/make-$t.log" >&2; break; }
done
echo "fresh-machine.sh: total $(($(date +%s) - start)) s" | tee -a "$out/log"
exit $rc
