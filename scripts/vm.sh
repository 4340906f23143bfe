#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Boot the Debian kernel under QEMU with kmemlab's initramfs and run a command.
usage() {
	cat <<'USAGE'
usage: scripts/vm.sh [--smp N] [--mem SIZE] [--timeout SECONDS]
                     [--load 'MODULE PARAMS'] [--add HOSTPATH:GUESTPATH]...
                     [--kernel std|debug] [--append 'ARGS'] [-- COMMAND]

Builds the initramfs (busybox, glibc, kmemlab.ko, the test modules and
selftests, the shim and the kmemlab tool under /kmemlab/), boots the kernel
under qemu-system-x86_64, mounts proc, sysfs, devtmpfs and debugfs, insmods
MODULE (a name under /kmemlab/ or a guest path) with PARAMS when --load is
given, runs COMMAND in the guest shell, powers off and exits with COMMAND's
status. Without COMMAND: an interactive shell on the console.

  --smp N          virtual CPUs (default 2)
  --mem SIZE       guest memory, as qemu's -m (default 1G)
  --timeout S      kill a batch guest after S seconds (default 600)
  --load 'M P..'   insmod module M with parameters P before COMMAND
  --add H:G        copy host file or directory H to guest path G (ELF files
                   bring their shared libraries); repeatable
  --kernel K       std: the Debian kernel (default); debug: the KASAN/lockdep/
                   kmemleak kernel built by scripts/debug-kernel.sh
  --append 'ARGS'  extra kernel command-line arguments

Logs: build/vm/console.log (COMMAND's output) and build/vm/kernel.log (the
guest kernel log); KML_VM_DIR overrides the directory. An Oops, BUG, WARNING,
KASAN, UBSAN or lockdep report in the kernel log fails the run.
USAGE
}
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
die() { echo "vm.sh: $*" >&2; exit 1; }

smp=2 mem=1G tmo=600 load= kernel=std adds=() cmd= have_cmd= extra=
while [ $# -gt 0 ]; do
	case $1 in
	--smp) [ $# -ge 2 ] || die "--smp needs a value"; smp=$2; shift 2 ;;
	--mem) [ $# -ge 2 ] || die "--mem needs a value"; mem=$2; shift 2 ;;
	--timeout) [ $# -ge 2 ] || die "--timeout needs a value"; tmo=$2; shift 2 ;;
	--load) [ $# -ge 2 ] || die "--load needs a value"; load=$2; shift 2 ;;
	--add) [ $# -ge 2 ] || die "--add needs a value"; adds+=("$2"); shift 2 ;;
	--kernel) [ $# -ge 2 ] || die "--kernel needs a value"; kernel=$2; shift 2 ;;
	--append) [ $# -ge 2 ] || die "--append needs a value"; extra="$extra $2"; shift 2 ;;
	-h | --help) usage; exit 0 ;;
	--) shift; have_cmd=1; cmd="$*"; break ;;
	*) echo "vm.sh: unknown option '$1' (see scripts/vm.sh --help)" >&2; exit 2 ;;
	esac
done
[[ $smp =~ ^[1-9][0-9]*$ ]] || die "--smp wants a positive number, not '$smp'"
[[ $tmo =~ ^[1-9][0-9]*$ ]] || die "--timeout wants seconds, not '$tmo'"
[[ $mem =~ ^[1-9][0-9]*[MG]?$ ]] || die "--mem wants a size like 1G or 512M, not '$mem'"
[ -n "$have_cmd" ] && [ -z "$cmd" ] && cmd=true

"$top/scripts/deps.sh"
case $kernel in
std)
	kver=$("$top/scripts/deps.sh" --kver) || die "no usable kernel"
	vmlinuz=/boot/vmlinuz-$kver
	make -s -C "$top" image || die "building the guest image failed"
	base=$top/build/std/initramfs.cpio
	;;
debug)
	vmlinuz=$("$top/scripts/debug-kernel.sh" --image) || die "no usable debug kernel (scripts/debug-kernel.sh failed)"
	make -s -C "$top" image-debug || die "building the debug guest image failed"
	base=$top/build/debug/initramfs.cpio
	;;
*) die "--kernel is std or debug, not '$kernel'" ;;
esac
[ -r "$vmlinuz" ] || die "no usable kernel: $vmlinuz is missing or unreadable"
[ -r "$base" ] || die "no initramfs at $base"

out=${KML_VM_DIR:-$top/build/vm}
mkdir -p "$out"
rm -f "$out/console.log" "$out/kernel.log" "$out/status"
manifest=$out/run.manifest
mode=batch
[ -z "$have_cmd" ] && mode=interactive
printf 'KML_LOAD=%q\nKML_MODE=%s\n' "$load" "$mode" >"$out/vm.conf"
printf '%s\n' "$cmd" >"$out/run.sh"
{
	echo "$out/vm.conf /kmemlab/vm.conf"
	echo "$out/run.sh /kmemlab/run.sh"
	for a in "${adds[@]}"; do
		h=${a%%:*} g=${a#*:}
		[ "$h" != "$a" ] && [ -n "$g" ] || die "--add wants HOSTPATH:GUESTPATH, not '$a'"
		[ -e "$h" ] || die "--add: $h does not exist"
		echo "$(realpath "$h") $g"
	done
} >"$manifest"
"$top/scripts/mkinitramfs.sh" "$out/run.stage" "$out/run.cpio" <"$manifest" ||
	die "could not build the per-run initramfs"
cat "$base" "$out/run.cpio" >"$out/initrd.cpio"

if [ -w /dev/kvm ]; then
	accel=(-accel kvm -cpu host)
else
	accel=(-accel tcg,thread=multi -cpu max)
fi
append="console=ttyS1 panic=-1 oops=panic mitigations=off nokaslr tsc=reliable no_timer_check i8042.noaux i8042.nopnp"
[ "$mode" = interactive ] && append="$append console=ttyS0"
append="$append$extra"
qemu=(qemu-system-x86_64 "${accel[@]}" -smp "$smp" -m "$mem" -nodefaults
	-no-reboot -display none -kernel "$vmlinuz" -initrd "$out/initrd.cpio"
	-append "$append" -device isa-debug-exit -nic none)

if [ "$mode" = interactive ]; then
	# Ctrl-C goes to the guest (signal=off); leave with exit or poweroff.
	"${qemu[@]}" -chardev stdio,id=con,signal=off -serial chardev:con \
		-serial "file:$out/kernel.log" -serial "file:$out/status" || true
else
	set +e
	timeout --kill-after=5 "$tmo" "${qemu[@]}" -serial stdio \
		-serial "file:$out/kernel.log" -serial "file:$out/status" </dev/null |
		tee "$out/console.log"
	rcs=("${PIPESTATUS[@]}")
	set -e
	if [ "${rcs[0]}" = 124 ] || [ "${rcs[0]}" = 137 ]; then
		echo "vm.sh: guest hung: killed after $tmo s while running '$cmd'; its last output:" >&2
		tail -n 5 "$out/console.log" | sed 's/^/vm.sh:   /' >&2
		exit 124
	fi
fi

status=$(tr -d '\r' <"$out/status" 2>/dev/null | tail -n 1)
bad='^(\[ *[0-9]+\.[0-9]+\] )?(WARNING:|BUG:|Oops|kernel BUG|general protection fault|Kernel panic|UBSAN:|INFO: task .* blocked|watchdog: BUG)|KASAN|possible (recursive|circular) locking|inconsistent lock state|lock inversion|DEBUG_LOCKS_WARN_ON|turning off the locking correctness validator|INFO: lockdep is turned off'
if grep -Eq "$bad" "$out/kernel.log" 2>/dev/null; then
	first=$(grep -En "$bad" "$out/kernel.log" | head -n 1 | cut -d: -f1)
	echo "vm.sh: the guest kernel log has a report (full log: $out/kernel.log):" >&2
	tail -n "+$first" "$out/kernel.log" | tr -d '\r' | head -n 40 | sed 's/^/vm.sh:   /' >&2
	exit 1
fi
case $status in
load-failed*) die "${status#load-failed }" ;;
'') die "the guest died before '$cmd' finished (see $out/kernel.log)" ;;
esac
[[ $status =~ ^[0-9]+$ ]] || die "unexpected status from the guest: $status"
exit "$status"
