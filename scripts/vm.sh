#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Boot the Debian kernel under QEMU with kmemlab's initramfs and run a command.
usage() {
	cat <<'USAGE'
usage: scripts/vm.sh [--smp N] [--mem SIZE] [--timeout SECONDS]
                     [--load 'MODULE PARAMS'] [--add HOSTPATH:GUESTPATH]...
                     [--kernel 6.1|6.12|rt|debug] [--accel auto|kvm|tcg]
                     [--append 'ARGS'] [-- COMMAND]

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
  --kernel K       the guest kernel (scripts/kernel.sh; KERNEL for make):
                   6.1 Debian 12's (default; std is the same), 6.12 Debian
                   13's series, rt Debian 12's PREEMPT_RT, debug 6.1 with
                   KASAN, lockdep, kmemleak and the lockup detectors
  --accel A        auto (default; KMEMLAB_ACCEL for make): KVM when a short
                   probe boot with it succeeds, TCG otherwise, said in one
                   line; kvm: KVM or a clear error; tcg: software emulation
  --append 'ARGS'  extra kernel command-line arguments

Logs: build/vm/console.log (COMMAND's output) and build/vm/kernel.log (the
guest kernel log); KML_VM_DIR overrides the directory. An Oops, BUG, WARNING,
KASAN, UBSAN or lockdep report in the kernel log fails the run.
USAGE
}
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
die() { echo "vm.sh: $*" >&2; exit 1; }

smp=2 mem=1G tmo=600 load= kernel=6.1 adds=() cmd= have_cmd= extra=
accel_want=${KMEMLAB_ACCEL:-auto}
while [ $# -gt 0 ]; do
	case $1 in
	--smp) [ $# -ge 2 ] || die "--smp needs a value"; smp=$2; shift 2 ;;
	--mem) [ $# -ge 2 ] || die "--mem needs a value"; mem=$2; shift 2 ;;
	--timeout) [ $# -ge 2 ] || die "--timeout needs a value"; tmo=$2; shift 2 ;;
	--load) [ $# -ge 2 ] || die "--load needs a value"; load=$2; shift 2 ;;
	--add) [ $# -ge 2 ] || die "--add needs a value"; adds+=("$2"); shift 2 ;;
	--kernel) [ $# -ge 2 ] || die "--kernel needs a value"; kernel=$2; shift 2 ;;
	--accel) [ $# -ge 2 ] || die "--accel needs a value"; accel_want=$2; shift 2 ;;
	--append) [ $# -ge 2 ] || die "--append needs a value"; extra="$extra $2"; shift 2 ;;
	-h | --help) usage; exit 0 ;;
	--) shift; have_cmd=1; cmd="$*"; break ;;
	*) echo "vm.sh: unknown option '$1' (see scripts/vm.sh --help)" >&2; exit 2 ;;
	esac
done
[[ $smp =~ ^[1-9][0-9]*$ ]] || die "--smp wants a positive number, not '$smp'"
[[ $tmo =~ ^[1-9][0-9]*$ ]] || die "--timeout wants seconds, not '$tmo'"
[[ $mem =~ ^[1-9][0-9]*[MG]?$ ]] || die "--mem wants a size like 1G or 512M, not '$mem'"
case $accel_want in
auto | kvm | tcg) ;;
*) die "--accel is auto, kvm or tcg, not '$accel_want'" ;;
esac
[ "$kernel" = std ] && kernel=6.1
case " $("$top/scripts/kernel.sh" --lanes | tr '\n' ' ') " in
*" $kernel "*) ;;
*) die "--kernel is one of $("$top/scripts/kernel.sh" --lanes | tr '\n' ' ')(std = 6.1), not '$kernel'" ;;
esac
# QEMU's pc machine takes at most 255 CPUs; the kernel at most NR_CPUS.
[ "$smp" -le 255 ] || die "--smp $smp: QEMU's pc machine has at most 255 CPUs"
[ -n "$have_cmd" ] && [ -z "$cmd" ] && cmd=true

"$top/scripts/deps.sh"
vmlinuz=$("$top/scripts/kernel.sh" "$kernel" --image) || die "no usable $kernel kernel (scripts/kernel.sh failed)"
nr_cpus=$(sed -n 's/^CONFIG_NR_CPUS=//p' "$("$top/scripts/kernel.sh" "$kernel" --config)")
[ -z "$nr_cpus" ] || [ "$smp" -le "$nr_cpus" ] ||
	die "--smp $smp: the $kernel kernel supports at most $nr_cpus CPUs (CONFIG_NR_CPUS)"
make -s -C "$top" image KERNEL="$kernel" || die "building the guest image for kernel $kernel failed"
base=$top/build/$kernel/initramfs.cpio
[ -r "$vmlinuz" ] || die "no usable kernel: $vmlinuz is missing or unreadable"
[ -r "$base" ] || die "no initramfs at $base"

# Memory: the initramfs is unpacked into RAM next to its own archive, and
# the kernel needs its own share; below that the guest panics at boot.
mem_mb=${mem%[MG]}
[ "${mem: -1}" = G ] && mem_mb=$((mem_mb * 1024))
need_mb=$(( ($(stat -c %s "$base") * 3 / 1048576) + 160 ))
[ "$mem_mb" -ge "$need_mb" ] ||
	die "--mem $mem is too small: this initramfs ($(( $(stat -c %s "$base") / 1048576 )) MiB) and the kernel need at least ${need_mb}M"

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

# The accelerator. KVM only when a probe boot with it reaches the guest's
# init and back (a nested KVM may exist and still abort or hang). A success,
# or a QEMU that failed at once, is remembered for this host boot in
# build/vm-accel/verdict; a probe that timed out (perhaps only a busy host)
# is tried again next time.
tcg=(-accel tcg,thread=multi -cpu max)
kvm=(-accel kvm -cpu host)
probe_kvm() {
	local pdir key verdict rc probe_smp=$((smp < 2 ? smp : 2))
	if [ ! -e /dev/kvm ]; then
		why="no /dev/kvm"
		return 1
	fi
	if [ ! -w /dev/kvm ] || [ ! -r /dev/kvm ]; then
		why="/dev/kvm is not readable and writable by $(id -un)"
		return 1
	fi
	mkdir -p "$top/build/vm-accel"
	key=$(cat /proc/sys/kernel/random/boot_id 2>/dev/null)-$(qemu-system-x86_64 --version | head -n 1 | tr -cd '0-9.')-$kernel
	if [ -f "$top/build/vm-accel/verdict" ] && [ "$(head -n 1 "$top/build/vm-accel/verdict")" = "$key" ]; then
		verdict=$(sed -n 2p "$top/build/vm-accel/verdict")
		[ "$verdict" = ok ] && return 0
		why="$verdict (remembered; rm -r build/vm-accel to probe again)"
		return 1
	fi
	pdir=$(mktemp -d "$top/build/vm-accel/probe.XXXXXX")
	printf 'KML_LOAD=\nKML_MODE=batch\n' >"$pdir/vm.conf"
	echo true >"$pdir/run.sh"
	printf '%s /kmemlab/vm.conf\n%s /kmemlab/run.sh\n' "$pdir/vm.conf" "$pdir/run.sh" |
		"$top/scripts/mkinitramfs.sh" "$pdir/stage" "$pdir/run.cpio" ||
		die "could not build the probe's initramfs"
	cat "$base" "$pdir/run.cpio" >"$pdir/initrd.cpio"
	timeout --kill-after=2 30 qemu-system-x86_64 "${kvm[@]}" -smp "$probe_smp" -m "${need_mb}M" \
		-nodefaults -no-reboot -display none -kernel "$vmlinuz" -initrd "$pdir/initrd.cpio" \
		-append "console=ttyS1 panic=-1 quiet" -nic none -serial null \
		-serial "file:$pdir/kernel.log" -serial "file:$pdir/status" \
		</dev/null >"$pdir/qemu.log" 2>&1
	rc=$?
	if [ "$(tr -d '\r' <"$pdir/status" 2>/dev/null | tail -n 1)" = 0 ]; then
		verdict=ok
	elif [ "$rc" = 124 ] || [ "$rc" = 137 ]; then
		why="a KVM guest did not finish booting in 30 s"
	else
		verdict="a KVM guest failed (qemu exit $rc: $(grep -v '^$' "$pdir/qemu.log" | head -n 1 | cut -c1-100))"
		why=$verdict
	fi
	rm -rf "$pdir"
	if [ -n "${verdict:-}" ]; then
		printf '%s\n%s\n' "$key" "$verdict" >"$top/build/vm-accel/verdict.$$"
		mv "$top/build/vm-accel/verdict.$$" "$top/build/vm-accel/verdict"
	fi
	[ "${verdict:-}" = ok ]
}
why=
case $accel_want in
tcg) accel=("${tcg[@]}") accel_msg="TCG (--accel tcg)" ;;
kvm)
	probe_kvm || die "--accel kvm: KVM cannot run the guest here: $why (use --accel tcg or auto)"
	accel=("${kvm[@]}") accel_msg="KVM (--accel kvm)"
	;;
auto)
	if probe_kvm; then
		accel=("${kvm[@]}") accel_msg="KVM (a probe boot succeeded)"
	else
		accel=("${tcg[@]}") accel_msg="TCG ($why)"
	fi
	;;
esac
echo "vm.sh: kernel $kernel ($(basename "$vmlinuz")), accelerator $accel_msg" >&2

append="console=ttyS1 panic=-1 oops=panic mitigations=off nokaslr tsc=reliable no_timer_check i8042.noaux i8042.nopnp"
# Under TCG the guest's clock is the host's while its CPUs run tens of
# times slower and a busy host may stop them for a while: the lockup, stall
# and hung-task detectors get the kernel's largest thresholds there (a soft
# lockup after 120 s, an RCU stall after 300 s, a blocked task after
# 600 s), so that they report code that never yields, not a slow host.
[ "${accel[1]}" = kvm ] ||
	append="$append watchdog_thresh=60 rcupdate.rcu_cpu_stall_timeout=300 sysctl.kernel.hung_task_timeout_secs=600"
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
bad='^(\[ *[0-9]+\.[0-9]+\] )?(WARNING:|BUG:|Oops|kernel BUG|general protection fault|Kernel panic|UBSAN:|INFO: task .* blocked|watchdog: BUG|rcu: INFO: .*detected stalls?|rcu: INFO: .*self-detected stall)|KASAN|possible (recursive|circular) locking|inconsistent lock state|lock inversion|DEBUG_LOCKS_WARN_ON|turning off the locking correctness validator|INFO: lockdep is turned off'
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
