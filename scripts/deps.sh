#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Install what kmemlab needs to build and test, and nothing that is already there.
#
#   scripts/deps.sh            install the missing packages (quiet no-op when none is)
#   scripts/deps.sh --debug    also what building the debug kernel needs
#   scripts/deps.sh --lint     also what make lint needs (sparse)
#   scripts/deps.sh --kver     print the release of the default guest kernel (the
#                              6.1 lane of scripts/kernel.sh), fetching it if needed
#
# The guest kernels are not installed on the host: scripts/kernel.sh unpacks
# their packages into a cache. Their kbuild tools need libelf and libssl.
set -eu

pkgs="build-essential qemu-system-x86 busybox-static cpio kmod linux-source-6.1
xz-utils coreutils perl rsync valgrind gzip findutils python3 libelf1 libssl3"
debug_pkgs="bc bison flex libelf-dev libssl-dev python3 dwarves"
lint_pkgs="sparse"

case "${1:-}" in
--kver) exec "$(dirname "$0")/kernel.sh" 6.1 --release ;;
--debug) pkgs="$pkgs $debug_pkgs" ;;
--lint) pkgs="$pkgs $lint_pkgs" ;;
"") ;;
*) echo "deps.sh: unknown option '$1' (use --debug, --lint or --kver)" >&2; exit 2 ;;
esac

missing=
for p in $pkgs; do
	s=$(dpkg-query -W -f '${db:Status-Status}' "$p" 2>/dev/null || true)
	[ "$s" = installed ] || missing="$missing $p"
done
[ -z "$missing" ] && exit 0

if [ "$(id -u)" != 0 ]; then
	echo "deps.sh: missing packages:$missing; run 'sudo scripts/deps.sh' (apt-get needs root)" >&2
	exit 1
fi
echo "deps.sh: installing$missing (apt-get; a few minutes, once)" >&2
export DEBIAN_FRONTEND=noninteractive
log=$(mktemp)
if ! { apt-get update -qq && apt-get install -y -qq --no-install-recommends $missing; } >"$log" 2>&1; then
	tail -n 20 "$log" >&2
	rm -f "$log"
	echo "deps.sh: apt-get failed to install:$missing" >&2
	exit 1
fi
rm -f "$log"
