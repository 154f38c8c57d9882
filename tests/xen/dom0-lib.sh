# SPDX-License-Identifier: GPL-2.0-or-later
# shellcheck shell=sh
# dom0-lib.sh - helpers for test scripts that run inside the test dom0
# (busybox sh). Installed as /xentest/lib.sh; source it with
#   . "$XENTEST_LIB"
# Markers (one line each, on the console):
#   XENTEST: ok NAME [(detail)]     a check passed
#   XENTEST: FAIL NAME [(detail)]   a check failed
#   XENTEST: info ...               progress
#   XENTEST: PASS | XENTEST: FAIL   the summary printed by xt_finish
# The verdict boot.sh acts on is the script's exit status (/init prints
# XENTEST-RESULT), so end a test with: xt_finish; exit $?

XT_OKS=0
XT_FAILS=0

xt_log() { echo "XENTEST: info $*"; }

# Record a passed check.
xt_ok() { XT_OKS=$((XT_OKS + 1)); echo "XENTEST: ok $1${2:+ ($2)}"; }

# Record a failed check.
xt_fail() { XT_FAILS=$((XT_FAILS + 1)); echo "XENTEST: FAIL $1${2:+ ($2)}"; }

# xt_check NAME CMD...: run CMD, record ok or FAIL under NAME.
xt_check() {
	_n=$1
	shift
	if "$@"; then xt_ok "$_n"; else xt_fail "$_n" "failed: $*"; fi
}

# Print the summary marker; return 0 only if at least one check ran and none
# failed.
xt_finish() {
	if [ "$XT_FAILS" -eq 0 ] && [ "$XT_OKS" -gt 0 ]; then
		echo "XENTEST: PASS ($XT_OKS checks)"
		return 0
	fi
	echo "XENTEST: FAIL ($XT_FAILS of $((XT_OKS + XT_FAILS)) checks failed)"
	return 1
}

# Seconds since dom0 boot, with centiseconds.
xt_now() { cut -d' ' -f1 /proc/uptime; }

# xt_since T0: seconds elapsed since xt_now printed T0.
xt_since() { awk -v t0="$1" '{ printf "%.1f", $1 - t0 }' /proc/uptime; }

# xt_domid NAME: the domain id of NAME (fails if there is none).
xt_domid() { xl domid "$1" 2>/dev/null; }

# xt_mem_kib DOMID: the domain's current allocation (tot_pages) in KiB.
xt_mem_kib() {
	xentop -b -i 1 -f 2>/dev/null |
		awk -v id="$1" -v name="$(xl domname "$1" 2>/dev/null)" \
			'$1 == name { print $5; found = 1; exit } END { if (!found) exit 1 }'
}

# xt_maxmem_kib DOMID: the hypervisor's cap (max_pages) in KiB.
xt_maxmem_kib() {
	xentop -b -i 1 -f 2>/dev/null |
		awk -v name="$(xl domname "$1" 2>/dev/null)" \
			'$1 == name { print $7; found = 1; exit } END { if (!found) exit 1 }'
}

# xt_set_target DOMID KIB: write the balloon target the way a toolstack does.
xt_set_target() { xenstore-write "/local/domain/$1/memory/target" "$2"; }

# xt_console NAME: path of xenconsoled's log of guest NAME.
xt_console() { echo "$XENTEST_CONSOLE_DIR/guest-$1.log"; }

# xt_wait_console NAME PATTERN [TIMEOUT]: wait until guest NAME printed a
# line matching the grep -E PATTERN on its console.
xt_wait_console() {
	_t0=$(xt_now)
	_lim=${3:-120}
	while :; do
		grep -qE "$2" "$(xt_console "$1")" 2>/dev/null && return 0
		[ "$(awk -v t0="$_t0" -v l="$_lim" '{ print ($1 - t0 > l) }' /proc/uptime)" = 0 ] || return 1
		sleep 0.5
	done
}

# xt_wait_ready NAME [TIMEOUT]: wait for the guest's readiness marker.
xt_wait_ready() { xt_wait_console "$1" "XENGUEST: ready name=$1( |\$)" "${2:-120}"; }

# xt_wait_mem DOMID KIB TOL_KIB [TIMEOUT]: wait until the domain's tot_pages
# is within TOL_KIB of KIB.
xt_wait_mem() {
	_t0=$(xt_now)
	_lim=${4:-60}
	while :; do
		_m=$(xt_mem_kib "$1") || _m=0
		[ "$_m" -ge $(($2 - $3)) ] && [ "$_m" -le $(($2 + $3)) ] && return 0
		[ "$(awk -v t0="$_t0" -v l="$_lim" '{ print ($1 - t0 > l) }' /proc/uptime)" = 0 ] || {
			echo "XENTEST: info domain $1 at ${_m} KiB, wanted $2 +- $3 KiB"
			return 1
		}
		sleep 0.2
	done
}

# xt_make_cfg NAME TYPE MEM_MIB [MAXMEM_MIB [VCPUS]]: write an xl config for
# another test guest (same kernel and image as the stock ones) and print its
# path. TYPE is pv or pvh.
xt_make_cfg() {
	_cfg=/run/xentest/$1.cfg
	mkdir -p /run/xentest
	{
		echo "name = \"$1\""
		echo "type = \"$2\""
		echo "kernel = \"$XENTEST_GUESTS/kernel\""
		echo "ramdisk = \"$XENTEST_GUESTS/guest.cpio.gz\""
		echo "extra = \"console=hvc0 rdinit=/init quiet xenguest=$1\""
		echo "memory = $3"
		[ -z "${4:-}" ] || echo "maxmem = $4"
		echo "vcpus = ${5:-1}"
		echo "on_crash = \"preserve\""
	} >"$_cfg"
	echo "$_cfg"
}

# xt_xs_ready DOMID: true once the guest wrote data/xentest-ready.
xt_xs_ready() {
	[ "$(xenstore-read "/local/domain/$1/data/xentest-ready" 2>/dev/null)" = 1 ]
}
