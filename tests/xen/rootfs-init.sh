#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# /init of the boot initramfs of the systemd tier (mkinitrd.sh --rootfs-boot;
# busybox sh). Loads the virtio and ext4 modules, mounts the root file system
# on /dev/vda (a per-run overlay of mkrootfs.sh's image), copies this run's
# files from /payload to the root's /xentest, enables the test unit, and
# hands over to the root's /sbin/init (systemd). Prints, for boot.sh:
#   XENTEST-INIT: start ...       this script started
#   XENTEST-INIT: setup failed: ...  then XENTEST-RESULT: FAIL
PATH=/usr/sbin:/usr/bin

fail() {
	echo "XENTEST-INIT: setup failed: $*"
	echo "XENTEST-RESULT: FAIL"
	poweroff -f
	sleep 60
}

mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
echo "XENTEST-INIT: start uptime=$(cut -d' ' -f1 /proc/uptime) (boot initramfs)"
kver=$(cat /etc/xentest/kver)
while read -r m; do
	insmod "/lib/modules/$kver/$m" || fail "insmod $m"
done </etc/xentest/modules
i=0
until [ -b /dev/vda ]; do
	i=$((i + 1))
	[ "$i" -lt 100 ] || fail "no /dev/vda"
	sleep 0.1
done
mkdir -p /newroot
mount -t ext4 -o rw,noatime /dev/vda /newroot || fail "mount /dev/vda"
# (an absolute symlink to systemd: test it as a link)
[ -L /newroot/sbin/init ] || [ -x /newroot/sbin/init ] || fail "no /sbin/init on /dev/vda"

# This run's files. The test unit is enabled here (not in the cached
# image) so that the image does not change when the test does. It is
# wanted by graphical.target (Debian's default target), which comes after
# multi-user.target: the unit can then be ordered after multi-user.target
# without a cycle (a target is ordered after what it wants).
mkdir -p /newroot/xentest
cp -a /payload/. /newroot/xentest/
if [ -r /newroot/xentest/xentest.service ]; then
	cp /newroot/xentest/xentest.service /newroot/etc/systemd/system/
	mkdir -p /newroot/etc/systemd/system/graphical.target.wants
	ln -sf /etc/systemd/system/xentest.service \
		/newroot/etc/systemd/system/graphical.target.wants/xentest.service
fi

umount /proc /sys
mount --move /dev /newroot/dev 2>/dev/null || umount /dev
exec switch_root /newroot /sbin/init
