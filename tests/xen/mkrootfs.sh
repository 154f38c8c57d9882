#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# mkrootfs.sh - build (once) the Debian 12 root file system that the systemd
# tier (run-systemd.sh) boots as dom0: systemd as PID 1, Debian's Xen 4.17
# tools with their sysv init scripts (xen, xendomains), the libraries the
# balloond package needs, the kernel modules and the guest kernel from
# prepare.sh. The result is a raw ext4 image, used read-only as the backing
# file of a per-run qcow2 overlay, so it stays pristine.
#
# The image is cached in CACHE/rootfs/KEY/, where KEY hashes this script
# (the package list and the customisation below are part of it) and the
# kernel version: a change of either builds a new image.
#
# Usage: mkrootfs.sh [--cache DIR] [--print]
#   --print   only print the image's path (exit 1 if it is not built)
# Prints the image's path on the last line of stdout.
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
CACHE=${XEN_TEST_CACHE:-/var/cache/balloond-xen-test}
PRINT=0
while [ $# -gt 0 ]; do
	case $1 in
	--cache) CACHE=$2; shift 2 ;;
	--print) PRINT=1; shift ;;
	-h|--help) sed -n '2,/^set -e/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
	*) echo "mkrootfs.sh: unknown argument: $1" >&2; exit 2 ;;
	esac
done

say() { echo "mkrootfs: $*" >&2; }
die() { echo "mkrootfs: error: $*" >&2; exit 1; }

[ -r "$CACHE/env" ] || die "$CACHE/env missing: run prepare.sh first"
# shellcheck disable=SC1091
. "$CACHE/env"

# What dom0 runs: systemd, the Xen tools (xen-utils-common brings the init
# scripts, udev rules and xenstore-utils), the runtime libraries of the
# balloond package (it is installed at test time with dpkg -i, without a
# network), and what the test script uses (jq, procps, passwd for
# groupadd/useradd; util-linux's setpriv is essential).
PACKAGES=(systemd systemd-sysv udev kmod procps passwd jq
	xen-utils-4.17 xen-utils-common xenstore-utils
	libevent-2.1-7 libjson-c5 libinih1 libsystemd0
	libxenstore4 libxenmisc4.17)

KEY=$( (cat "$0"; echo "$KVER"; basename "$VMLINUX") | sha256sum | cut -c1-16)
DIR=$CACHE/rootfs/$KEY
IMG=$DIR/rootfs.ext4
if [ -s "$IMG" ] && [ -e "$DIR/.complete" ]; then
	echo "$IMG"
	exit 0
fi
[ "$PRINT" = 0 ] || exit 1
[ "$(id -u)" = 0 ] || die "must run as root (mmdebstrap, mkfs.ext4 -d)"

need=()
command -v mmdebstrap >/dev/null || need+=(mmdebstrap)
command -v mkfs.ext4 >/dev/null || need+=(e2fsprogs)
command -v qemu-img >/dev/null || need+=(qemu-utils)
if [ ${#need[@]} -gt 0 ]; then
	say "installing ${need[*]}"
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq -o DPkg::Lock::Timeout=600 \
		--no-install-recommends "${need[@]}" >/dev/null
fi

# The host's Debian sources (deb.debian.org with bookworm-updates and
# -security), so that the image's Xen tools match the hypervisor prepare.sh
# downloaded.
SOURCES=/etc/apt/sources.list.d/debian.sources
[ -r "$SOURCES" ] || SOURCES=/etc/apt/sources.list
[ -r "$SOURCES" ] || die "no Debian apt sources on this host"

rm -rf "$DIR"
mkdir -p "$DIR"
ROOT=$DIR/root
t0=$SECONDS
say "mmdebstrap bookworm (${#PACKAGES[@]} packages and their dependencies) into $ROOT"
# Only the sources file's entries: mmdebstrap reads a *.sources file
# given as the mirror argument.
list=$(IFS=,; echo "${PACKAGES[*]}")
mmdebstrap --quiet --mode=root --variant=minbase --include="$list" \
	--aptopt='Acquire::Retries "3"' \
	--dpkgopt='path-exclude=/usr/share/doc/*' --dpkgopt='path-exclude=/usr/share/man/*' \
	--dpkgopt='path-exclude=/usr/share/locale/*' \
	bookworm "$ROOT" "$SOURCES" >&2
say "mmdebstrap took $((SECONDS - t0)) s"

# ---- customisation
echo xentest-dom0 >"$ROOT/etc/hostname"
echo "127.0.1.1 xentest-dom0" >>"$ROOT/etc/hosts"
# The root is mounted read-write by the boot initramfs; no fsck (the image
# is a fresh overlay each run).
echo "/dev/vda / ext4 rw,noatime 0 0" >"$ROOT/etc/fstab"
# dom0's memory is fixed on Xen's command line.
cat >"$ROOT/etc/xen/xl.conf" <<'EOF'
autoballoon="off"
EOF
# Nothing that would compete for the one vCPU or talk to a network: no
# login prompt on the console (the test's output goes there), no apt timers.
for u in serial-getty@hvc0.service getty@tty1.service apt-daily.timer \
	apt-daily-upgrade.timer e2scrub_all.timer e2scrub_reap.service \
	systemd-timesyncd.service; do
	ln -sf /dev/null "$ROOT/etc/systemd/system/$u"
done
# Guest consoles logged to /var/log/xen/console/guest-NAME.log (the
# test waits for the guests' readiness markers there).
echo 'XENCONSOLED_ARGS="--log=guest"' >>"$ROOT/etc/default/xen"
# Guests are created by the test, not restored from a save directory.
sed -i 's/^XENDOMAINS_SAVE=.*/XENDOMAINS_SAVE=/' "$ROOT/etc/default/xendomains"
# The kernel's modules that this dom0 uses (the xen init script loads
# drivers/xen ones, systemd autofs4 and friends from fs/) and the guest
# kernel. Not all of them: every module udev can load for QEMU's emulated
# hardware (parport, floppy, drm, sound...) costs seconds at boot under TCG.
mkdir -p "$ROOT/usr/lib/modules/$KVER" "$ROOT/var/lib/xentest"
for sub in drivers/xen drivers/virtio drivers/block drivers/char fs lib crypto arch; do
	[ -d "$MODDIR/kernel/$sub" ] || continue
	mkdir -p "$ROOT/usr/lib/modules/$KVER/kernel/$(dirname "$sub")"
	cp -a "$MODDIR/kernel/$sub" "$ROOT/usr/lib/modules/$KVER/kernel/$sub"
done
rm -f "$ROOT/usr/lib/modules/$KVER/kernel/drivers/block/floppy.ko"*
cp -a "$MODDIR"/modules.builtin* "$MODDIR"/modules.order "$ROOT/usr/lib/modules/$KVER/"
depmod -b "$ROOT" "$KVER"
cp "$VMLINUX" "$ROOT/var/lib/xentest/kernel"
rm -rf "$ROOT/var/cache/apt/archives/"*.deb "$ROOT/var/lib/apt/lists/"*_Packages

# ---- the ext4 image: contents plus room for the run (journal, a .deb,
# guest logs); the overlay only stores what a run writes.
used_mb=$(du -sm "$ROOT" | cut -f1)
size_mb=$((used_mb + used_mb / 4 + 512))
say "mkfs.ext4 -d ($used_mb MiB used, image $size_mb MiB)"
truncate -s "${size_mb}M" "$IMG.tmp"
mkfs.ext4 -q -F -L xentest-root -d "$ROOT" "$IMG.tmp" >&2
mv "$IMG.tmp" "$IMG"
rm -rf "$ROOT"
printf '%s\n' "${PACKAGES[@]}" >"$DIR/packages"
(cd "$HERE" && git rev-parse --short HEAD 2>/dev/null || true) >"$DIR/built-from"
touch "$DIR/.complete"
say "built $IMG in $((SECONDS - t0)) s"
echo "$IMG"
