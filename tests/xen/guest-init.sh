#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# /init of the test guests (busybox). Prints a readiness marker on the
# console (hvc0), writes data/xentest-ready=1 to its XenStore directory, runs
# /guest-test/run in the background if the image has one, then idles,
# printing a line whenever the balloon driver's target or current size
# changes, so dom0 can follow the guest's view in xenconsoled's log
# (/var/log/xen/console/guest-NAME.log).
# The guest name comes from the kernel command line: xenguest=NAME.
PATH=/usr/bin:/usr/sbin
export PATH
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null
mkdir -p /tmp /run
name=${xenguest:-guest}
bal=/sys/devices/system/xen_memory/xen_memory0
memtotal=$(awk '/^MemTotal:/ { print $2 }' /proc/meminfo)
echo "XENGUEST: ready name=$name kernel=$(uname -r) memtotal_kb=$memtotal"
# A relative XenStore path is relative to /local/domain/<own domid>.
if xenstore-write data/xentest-ready 1 2>/dev/null; then
	echo "XENGUEST: xenstore ok name=$name"
else
	echo "XENGUEST: xenstore FAILED name=$name"
fi
if [ -x /guest-test/run ]; then
	echo "XENGUEST: starting /guest-test/run name=$name"
	(cd /guest-test && XENGUEST_NAME=$name ./run) </dev/null &
fi
last=
while :; do
	cur=$(cat "$bal/info/current_kb" 2>/dev/null || echo "?")
	tgt=$(cat "$bal/target_kb" 2>/dev/null || echo "?")
	if [ "$cur $tgt" != "$last" ]; then
		echo "XENGUEST: mem name=$name current_kb=$cur target_kb=$tgt"
		last="$cur $tgt"
	fi
	sleep 2
done
