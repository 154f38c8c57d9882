#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# boot.sh - boot Xen + the test dom0 in QEMU (TCG) and wait for the verdict.
#
# Boots the hypervisor from prepare.sh with the kernel from prepare.sh and the
# dom0 initramfs from mkinitrd.sh as multiboot modules, copies the serial
# console to a log file and to stdout, and waits for the marker that dom0's
# /init prints after /test/run: "XENTEST-RESULT: PASS" or "...: FAIL".
# QEMU is killed on the marker, on timeout, on Ctrl-C and on any exit.
#
# Usage: boot.sh [options]
#   --cache DIR     prepare.sh cache (default $XEN_TEST_CACHE or
#                   /var/cache/balloond-xen-test)
#   --initrd FILE   dom0 initramfs (default CACHE/build/dom0.cpio.gz)
#   --kernel FILE   dom0 kernel (default VMLINUX from prepare.sh, the
#                   uncompressed ELF, which Xen loads faster than the bzImage)
#   --log FILE      serial log (default CACHE/build/serial.log)
#   --timeout SEC   overall timeout (default $XEN_TEST_TIMEOUT or 600)
#   --mem MIB       QEMU memory (default $XEN_TEST_QEMU_MEM or 2048)
#   --dom0-mem MIB  dom0 memory (default $XEN_TEST_DOM0_MEM or 512)
#   --append ARGS   extra dom0 kernel arguments; NAME=VALUE words reach
#                   /init and /test/run as environment variables
#   --xen-append ARGS  extra Xen command line arguments
#   --disk FILE     attach FILE as a virtio disk (repeatable: /dev/vda,
#                   /dev/vdb...; qcow2 if the name ends in .qcow2, else raw)
#   --quiet         do not copy the serial console to stdout
# Exit status: 0 on XENTEST-RESULT: PASS, 1 on FAIL, crash or timeout.
set -euo pipefail

CACHE=${XEN_TEST_CACHE:-/var/cache/balloond-xen-test}
INITRD=
DOM0_KERNEL=
LOG=
TIMEOUT=${XEN_TEST_TIMEOUT:-600}
QMEM=${XEN_TEST_QEMU_MEM:-2048}
DOM0_MEM=${XEN_TEST_DOM0_MEM:-512}
APPEND=
XEN_APPEND=
QUIET=0
DISKS=()
while [ $# -gt 0 ]; do
	case $1 in
	--cache) CACHE=$2; shift 2 ;;
	--initrd) INITRD=$2; shift 2 ;;
	--kernel) DOM0_KERNEL=$2; shift 2 ;;
	--log) LOG=$2; shift 2 ;;
	--timeout) TIMEOUT=$2; shift 2 ;;
	--mem) QMEM=$2; shift 2 ;;
	--dom0-mem) DOM0_MEM=$2; shift 2 ;;
	--append) APPEND=$2; shift 2 ;;
	--xen-append) XEN_APPEND=$2; shift 2 ;;
	--disk) DISKS+=("$2"); shift 2 ;;
	--quiet) QUIET=1; shift ;;
	-h|--help) sed -n '2,/^set -e/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
	*) echo "boot.sh: unknown argument: $1" >&2; exit 2 ;;
	esac
done
INITRD=${INITRD:-$CACHE/build/dom0.cpio.gz}
LOG=${LOG:-$CACHE/build/serial.log}

die() { echo "boot: error: $*" >&2; exit 1; }
[ -r "$CACHE/env" ] || die "$CACHE/env missing: run prepare.sh first"
# shellcheck disable=SC1091
. "$CACHE/env"
[ -r "$XEN_ELF" ] || die "$XEN_ELF missing: run prepare.sh"
DOM0_KERNEL=${DOM0_KERNEL:-${VMLINUX:-$KERNEL}}
[ -r "$DOM0_KERNEL" ] || die "$DOM0_KERNEL missing: run prepare.sh"
[ -r "$INITRD" ] || die "$INITRD missing: run mkinitrd.sh"
command -v qemu-system-x86_64 >/dev/null || die "qemu-system-x86_64 missing: run prepare.sh"

XEN_CMDLINE="console=com1 com1=115200,8n1 dom0_mem=${DOM0_MEM}M,max:${DOM0_MEM}M"
XEN_CMDLINE+=" dom0_max_vcpus=1 loglvl=all guest_loglvl=all"
XEN_CMDLINE+=" console_timestamps=boot"
XEN_CMDLINE+="${XEN_APPEND:+ $XEN_APPEND}"
# quiet: the dom0 kernel boots ~2.5 s faster under TCG when it does not print
# every message through Xen's serial console (--append loglevel=7 undoes it).
DOM0_CMDLINE="console=hvc0 rdinit=/init quiet${APPEND:+ $APPEND}"

# Multiboot modules for Xen: dom0 kernel with its command line, then the
# initramfs. QEMU splits -initrd at commas; a doubled comma is a literal one.
MODULES="$DOM0_KERNEL $DOM0_CMDLINE"
MODULES="${MODULES//,/,,},${INITRD//,/,,}"

DRIVES=()
for d in "${DISKS[@]}"; do
	[ -r "$d" ] || die "disk $d not readable"
	case $d in *.qcow2) fmt=qcow2 ;; *) fmt=raw ;; esac
	DRIVES+=(-drive "file=${d//,/,,},if=virtio,format=$fmt")
done

mkdir -p "$(dirname "$LOG")"
: >"$LOG"

QEMU_PID=
TAIL_PID=
# Runs from the EXIT trap.
# shellcheck disable=SC2317
cleanup() {
	local rc=$?
	trap - EXIT INT TERM HUP
	if [ -n "$QEMU_PID" ] && kill -0 "$QEMU_PID" 2>/dev/null; then
		kill "$QEMU_PID" 2>/dev/null || true
		for _ in 1 2 3 4 5 6 7 8 9 10; do
			kill -0 "$QEMU_PID" 2>/dev/null || break
			sleep 0.2
		done
		kill -9 "$QEMU_PID" 2>/dev/null || true
	fi
	[ -z "$QEMU_PID" ] || wait "$QEMU_PID" 2>/dev/null || true
	if [ -n "$TAIL_PID" ]; then
		# Let tail print what is left, then stop it.
		sleep 0.3
		kill "$TAIL_PID" 2>/dev/null || true
		wait "$TAIL_PID" 2>/dev/null || true
	fi
	exit "$rc"
}
trap cleanup EXIT
trap 'echo "boot: interrupted" >&2; exit 130' INT TERM HUP

echo "boot: xen: $XEN_CMDLINE"
echo "boot: dom0: $DOM0_KERNEL $DOM0_CMDLINE"
echo "boot: serial log: $LOG, timeout ${TIMEOUT}s"
# -nographic with the serial line sent to the log and no monitor: QEMU never
# touches the terminal, so Ctrl-C reaches this script.
qemu-system-x86_64 \
	-machine pc -cpu qemu64,+svm,+npt \
	-accel tcg,thread=multi -smp 2 -m "$QMEM" \
	-nographic -no-reboot -net none -monitor none \
	-serial "file:$LOG" \
	-kernel "$XEN_ELF" -append "$XEN_CMDLINE" \
	-initrd "$MODULES" "${DRIVES[@]}" \
	</dev/null >"$LOG.qemu" 2>&1 &
QEMU_PID=$!

if [ "$QUIET" = 0 ]; then
	tail -n +1 -F "$LOG" 2>/dev/null &
	TAIL_PID=$!
fi

# Markers that end the wait early.
PASS_RE='XENTEST-RESULT: PASS'
FAIL_RE='XENTEST-RESULT: FAIL|Kernel panic - not syncing|Panic on CPU|FATAL TRAP|d0v[0-9]+ Unhandled'
# Progress markers, timed from QEMU's start (resolution 0.5 s).
MARK_NAMES=("xen banner" "dom0 /init" "xen services up" "test started")
MARK_RES=('\(XEN\) (\[[^]]*\] )?Xen version' 'XENTEST-INIT: start' 'XENTEST-INIT: xen ready'
	'XENTEST-INIT: run ')
MARK_AT=()
verdict=
start_ns=$(date +%s%N)
start=$SECONDS
elapsed_s() { awk -v a="$start_ns" -v b="$(date +%s%N)" 'BEGIN { printf "%.1f", (b - a) / 1e9 }'; }
while :; do
	for i in "${!MARK_RES[@]}"; do
		if [ -z "${MARK_AT[i]:-}" ] && grep -qE "${MARK_RES[i]}" "$LOG"; then
			MARK_AT[i]=$(elapsed_s)
		fi
	done
	if grep -qE "$PASS_RE" "$LOG"; then
		verdict=PASS
		break
	fi
	if grep -qE "$FAIL_RE" "$LOG"; then
		verdict=FAIL
		# Let the failure diagnostics reach the log.
		sleep 2
		break
	fi
	if ! kill -0 "$QEMU_PID" 2>/dev/null; then
		verdict="FAIL (QEMU exited)"
		break
	fi
	if [ $((SECONDS - start)) -ge "$TIMEOUT" ]; then
		verdict="FAIL (timeout after ${TIMEOUT}s)"
		break
	fi
	sleep 0.5
done
elapsed=$(elapsed_s)
timings=
for i in "${!MARK_NAMES[@]}"; do
	timings+="${timings:+, }${MARK_NAMES[i]} ${MARK_AT[i]:-?}s"
done
echo "boot: timings from QEMU start: $timings, verdict ${elapsed}s"

if [ "$verdict" = PASS ]; then
	# Quiet: show what the test printed.
	[ "$QUIET" = 0 ] || sed -n '/XENTEST-INIT: run/,/XENTEST-RESULT/p' "$LOG" |
		grep -v '^(XEN)' || true
	echo "boot: PASS in ${elapsed}s (log: $LOG)"
	exit 0
fi
if [ -s "$LOG.qemu" ]; then
	echo "boot: QEMU said:"
	cat "$LOG.qemu"
fi
echo "boot: ---- last 60 lines of $LOG"
tail -n 60 "$LOG"
echo "boot: $verdict in ${elapsed}s (log: $LOG)"
exit 1
