#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# run-systemd.sh - the systemd tier: balloond's Debian package on a Debian 12
# dom0 booted with systemd as PID 1 under Xen 4.17 in QEMU (TCG).
#
# prepare.sh (Xen, kernel), mkrootfs.sh (the cached root file system),
# scripts/package.sh (the .deb from this tree), mkinitrd.sh --rootfs-boot
# (boot initramfs carrying dom0-systemd.sh, xentest.service, the .deb and
# the guest image), a qcow2 overlay over the cached image, then two boots
# of that overlay with boot.sh: xentest.phase=install (dpkg -i under
# systemd) and xentest.phase=check (the checks, after a reboot).
# Exit 0 only when both boots passed every check.
#
# Usage: run-systemd.sh SRC_DIR [--deb FILE] [--timeout SEC] [--quiet]
#   --deb FILE   install FILE instead of building the package
# Env:   XEN_TEST_CACHE (see prepare.sh); output in XEN_TEST_OUT (default
#        CACHE/systemd/; concurrent runs need their own).
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
SRC=${1:?usage: run-systemd.sh SRC_DIR [--deb FILE] [--timeout SEC] [--quiet]}
shift
SRC=$(cd "$SRC" && pwd)
CACHE=${XEN_TEST_CACHE:-/var/cache/balloond-xen-test}
OUT=${XEN_TEST_OUT:-$CACHE/systemd}
DEB=
TIMEOUT=${XEN_TEST_TIMEOUT:-600}
BOOT_ARGS=()
while [ $# -gt 0 ]; do
	case $1 in
	--deb) DEB=$(readlink -f "$2"); shift 2 ;;
	--timeout) TIMEOUT=$2; shift 2 ;;
	--quiet) BOOT_ARGS+=(--quiet); shift ;;
	*) echo "run-systemd.sh: unknown argument: $1" >&2; exit 2 ;;
	esac
done

now() { date +%s%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", (b - a) / 1e9 }'; }

t0=$(now)
"$HERE/prepare.sh" --cache "$CACHE" --quiet
t1=$(now)
IMG=$("$HERE/mkrootfs.sh" --cache "$CACHE" | tail -n 1)
t2=$(now)
mkdir -p "$OUT"
rm -rf "$OUT/deb" "$OUT/payload"
mkdir -p "$OUT/deb" "$OUT/payload"
if [ -z "$DEB" ]; then
	# --nocheck: the unit and e2e tests are make check's job (scripts/test.sh
	# runs them first); this tier tests the package on Xen.
	"$SRC/scripts/package.sh" --out "$OUT/deb" --nocheck >"$OUT/package.log" 2>&1 || {
		tail -n 30 "$OUT/package.log"
		echo "run-systemd: scripts/package.sh failed (log $OUT/package.log)" >&2
		exit 1
	}
	DEB=$(find "$OUT/deb" -maxdepth 1 -name 'balloond_*.deb' | sed -n 1p)
	[ -n "$DEB" ] || { echo "run-systemd: package.sh made no balloond_*.deb" >&2; exit 1; }
fi
[ -r "$DEB" ] || { echo "run-systemd: $DEB not readable" >&2; exit 2; }
t3=$(now)
cp "$DEB" "$OUT/payload/"
cp "$HERE/dom0-systemd.sh" "$OUT/payload/run"
chmod 755 "$OUT/payload/run"
cp "$HERE/xentest.service" "$OUT/payload/"
"$HERE/mkinitrd.sh" --cache "$CACHE" --out "$OUT" --rootfs-boot --extra "$OUT/payload"
# A fresh copy-on-write overlay: the cached image is only read.
rm -f "$OUT/dom0.qcow2"
qemu-img create -q -f qcow2 -b "$IMG" -F raw "$OUT/dom0.qcow2"
t4=$(now)

rc=0
boot() {
	"$HERE/boot.sh" --cache "$CACHE" --initrd "$OUT/rootboot.cpio.gz" \
		--disk "$OUT/dom0.qcow2" --append "xentest.phase=$1" \
		--log "$OUT/serial-$1.log" --timeout "$TIMEOUT" "${BOOT_ARGS[@]}"
}
echo "run-systemd: boot 1 (install $(basename "$DEB"))"
boot install || rc=$?
t5=$(now)
t6=$t5
# The second boot also runs when only a check of the first failed (the
# package is installed): its checks say more than the first failure.
if grep -q 'XENTEST: ok package-installs' "$OUT/serial-install.log"; then
	echo "run-systemd: boot 2 (check)"
	boot check || rc=$?
	t6=$(now)
fi
echo "run-systemd: check lines:"
grep -hE 'XENTEST: (ok|FAIL|PASS)' "$OUT/serial-install.log" "$OUT/serial-check.log" 2>/dev/null |
	sed 's/^.*\(XENTEST: \)/  \1/' || true
echo "run-systemd: prepare $(secs "$t0" "$t1")s, rootfs $(secs "$t1" "$t2")s," \
	"package $(secs "$t2" "$t3")s, initramfs+overlay $(secs "$t3" "$t4")s," \
	"boot install $(secs "$t4" "$t5")s, boot check $(secs "$t5" "$t6")s, total $(secs "$t0" "$t6")s"
if [ "$rc" = 0 ]; then
	echo "run-systemd: PASS"
else
	echo "run-systemd: FAIL (serial logs $OUT/serial-install.log, $OUT/serial-check.log)"
fi
exit "$rc"
