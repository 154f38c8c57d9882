#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# /init of the dom0 initramfs (busybox sh). Brings up the Xen control plane
# (modules, xenfs, xenstored, xen-init-dom0, xenconsoled), runs /test/run and
# prints the result on the console for tests/xen/boot.sh:
#   XENTEST-INIT: <step>          progress
#   XENTEST-EXIT: <status>        exit status of /test/run
#   XENTEST-RESULT: PASS|FAIL     the verdict boot.sh waits for
# then powers the machine off.
PATH=/test:/usr/local/bin:/usr/lib/xen-4.17/bin:/usr/sbin:/usr/bin
HOME=/root
XENTEST_GUESTS=/guests
XENTEST_CONSOLE_DIR=/var/log/xen/console
XENTEST_LIB=/xentest/lib.sh
export PATH HOME XENTEST_GUESTS XENTEST_CONSOLE_DIR XENTEST_LIB

step() { echo "XENTEST-INIT: $*"; }

finish() {
	rc=$1
	echo "XENTEST-EXIT: $rc"
	if [ "$rc" -ne 0 ]; then
		echo "---- xl list"
		xl list 2>&1
		for f in "$XENTEST_CONSOLE_DIR"/*.log; do
			[ -e "$f" ] || continue
			echo "---- tail $f"
			tail -n 20 "$f"
		done
		echo "XENTEST-RESULT: FAIL"
	else
		echo "XENTEST-RESULT: PASS"
	fi
	sync
	poweroff -f
	sleep 60
	exit "$rc"
}

fail_setup() {
	echo "XENTEST-INIT: setup failed: $*"
	finish 100
}

uptime_s() { cut -d' ' -f1 /proc/uptime; }

mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mkdir -p /dev/pts /dev/shm
mount -t devpts devpts /dev/pts
mount -t tmpfs tmpfs /run
mount -t tmpfs tmpfs /tmp
step "start uptime=$(uptime_s)"

kver=$(cat /etc/xentest/kver)
while read -r m; do
	insmod "/lib/modules/$kver/$m" || fail_setup "insmod $m"
done </etc/xentest/modules
mkdir -p /proc/xen
mount -t xenfs xenfs /proc/xen || fail_setup "mount xenfs"
grep -q control_d /proc/xen/capabilities 2>/dev/null ||
	fail_setup "not running as Xen dom0 (/proc/xen/capabilities)"

mkdir -p /run/xen /run/xenstored /var/lib/xen /var/lib/xenstored \
	/var/log/xen/console /var/lock
xenstored --pid-file /run/xenstored.pid || fail_setup "xenstored"
i=0
until xenstore-read -s / >/dev/null 2>&1 || xenstore-exists / 2>/dev/null; do
	i=$((i + 1))
	[ "$i" -lt 100 ] || fail_setup "xenstored does not answer"
	sleep 0.1
done
xen-init-dom0 || fail_setup "xen-init-dom0"
xenconsoled --pid-file=/run/xenconsoled.pid --log=guest \
	--log-dir="$XENTEST_CONSOLE_DIR" || fail_setup "xenconsoled"
step "xen ready uptime=$(uptime_s)"

if [ ! -x /test/run ]; then
	echo "XENTEST-INIT: no executable /test/run"
	finish 101
fi
cd /test || finish 102
step "run /test/run"
/test/run </dev/null
finish $?
