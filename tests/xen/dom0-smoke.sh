#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# dom0-smoke.sh - proves the real-Xen platform from inside the test dom0
# (runs as /test/run under busybox sh). Two PV guests and one PVH guest;
# balloon targets through XenStore; a target above the libxl-built cap,
# first capped, then reached after xl mem-max; xen-mfndump on a PV guest;
# guest destruction. One "XENTEST: ok|FAIL NAME" line per check.
# shellcheck source-path=SCRIPTDIR source=dom0-lib.sh
. "${XENTEST_LIB:-/xentest/lib.sh}"

MIB=1024
TOL=$((4 * MIB))

xt_log "dom0 $(uname -r), $(xl info 2>/dev/null | awk '/^xen_version/ { print "xen " $3 }')"
xt_log "host free_memory $(xl info | awk '/^free_memory/ { print $3 }') MiB"

# --- create the guests (xl create returns once the domain runs)
for g in pv1 pv2 pvh1; do
	t0=$(xt_now)
	if out=$(xl create "$XENTEST_GUESTS/$g.cfg" 2>&1); then
		xt_ok "create-$g" "$(xt_since "$t0") s"
	else
		xt_fail "create-$g" "$(echo "$out" | tail -n 3 | tr '\n' ' ')"
	fi
done
xl list

# --- readiness: the guest's /init prints a marker on hvc0
for g in pv1 pv2 pvh1; do
	t0=$(xt_now)
	if xt_wait_ready "$g" 180; then
		xt_ok "ready-$g" "$(xt_since "$t0") s after create"
	else
		xt_fail "ready-$g" "no readiness marker in $(xt_console "$g")"
	fi
done

# --- the guests reach XenStore (they write data/xentest-ready themselves)
for g in pv1 pv2 pvh1; do
	id=$(xt_domid "$g") || continue
	xt_check "guest-xenstore-$g" xt_xs_ready "$id"
done

PV1=$(xt_domid pv1) || PV1=
PV2=$(xt_domid pv2) || PV2=
PVH1=$(xt_domid pvh1) || PVH1=
xt_log "domids pv1=$PV1 pv2=$PV2 pvh1=$PVH1"
for g in pv1 pv2 pvh1; do
	id=$(xt_domid "$g") || continue
	xt_log "$g: tot $(xt_mem_kib "$id") KiB, max $(xt_maxmem_kib "$id") KiB," \
		"target $(xenstore-read "/local/domain/$id/memory/target") KiB," \
		"static-max $(xenstore-read "/local/domain/$id/memory/static-max") KiB"
done

# balloon DOMID NAME KIB: set a target and check tot_pages converges.
balloon() {
	t0=$(xt_now)
	xt_set_target "$1" "$3"
	if xt_wait_mem "$1" "$3" "$TOL" 60; then
		xt_ok "$2" "$(xt_mem_kib "$1") KiB after $(xt_since "$t0") s"
	else
		xt_fail "$2" "target $3 KiB not reached"
	fi
}

# --- shrink and regrow through memory/target
if [ -n "$PV1" ]; then
	balloon "$PV1" target-down-pv1 $((128 * MIB))
	balloon "$PV1" target-up-pv1 $((200 * MIB))
fi
if [ -n "$PVH1" ]; then
	balloon "$PVH1" target-down-pvh1 $((160 * MIB))
fi

# --- a target above the cap libxl set (memory + 1 MiB) is not reached until
# the cap is raised; then a new target value wakes the balloon driver.
if [ -n "$PV2" ]; then
	cap=$(xt_maxmem_kib "$PV2")
	xt_set_target "$PV2" $((320 * MIB))
	sleep 5
	m=$(xt_mem_kib "$PV2")
	if [ "$m" -le "$cap" ]; then
		xt_ok over-cap-capped-pv2 "$m KiB <= cap $cap KiB"
	else
		xt_fail over-cap-capped-pv2 "$m KiB > cap $cap KiB"
	fi
	if xl mem-max "$PV2" 400m; then
		xt_ok mem-max-pv2 "cap now $(xt_maxmem_kib "$PV2") KiB"
	else
		xt_fail mem-max-pv2 "xl mem-max failed"
	fi
	balloon "$PV2" target-above-build-cap-pv2 $((384 * MIB))
fi

# --- M2P / P2M dumps of a PV guest
if [ -n "$PV1" ]; then
	n=$(xen-mfndump dump-m2p 2>/dev/null | wc -l)
	if [ "$n" -gt 1000 ]; then
		xt_ok mfndump-m2p "$n lines"
	else
		xt_fail mfndump-m2p "$n lines"
	fi
	n=$(xen-mfndump dump-p2m "$PV1" 2>/dev/null | wc -l)
	if [ "$n" -gt 1000 ]; then
		xt_ok mfndump-p2m-pv1 "$n lines"
	else
		xt_fail mfndump-p2m-pv1 "$n lines"
	fi
fi

# --- destroy a guest and see it gone
if [ -n "$PV1" ]; then
	t0=$(xt_now)
	xl destroy "$PV1"
	if xt_domid pv1 >/dev/null; then
		xt_fail destroy-pv1 "pv1 still listed"
	else
		xt_ok destroy-pv1 "$(xt_since "$t0") s"
	fi
fi
xl list

xt_finish
