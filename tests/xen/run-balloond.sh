#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# run-balloond.sh - the real-Xen tier for balloond: prepare.sh, mkinitrd.sh
# with this build's balloond + memctl and dom0-balloond.sh as /test/run,
# boot.sh. Exit 0 only when every check in dom0 passed.
#
# Usage: run-balloond.sh BUILD_DIR [--timeout SEC] [--quiet]
# Env:   XEN_TEST_CACHE (see prepare.sh); output in XEN_TEST_OUT (default
#        CACHE/balloond/; concurrent runs need their own).
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
BUILD=${1:?usage: run-balloond.sh BUILD_DIR [--timeout SEC] [--quiet]}
shift
CACHE=${XEN_TEST_CACHE:-/var/cache/balloond-xen-test}
OUT=${XEN_TEST_OUT:-$CACHE/balloond}
BOOT_ARGS=()
while [ $# -gt 0 ]; do
	case $1 in
	--timeout) BOOT_ARGS+=(--timeout "$2"); shift 2 ;;
	--quiet) BOOT_ARGS+=(--quiet); shift ;;
	*) echo "run-balloond.sh: unknown argument: $1" >&2; exit 2 ;;
	esac
done
for b in daemon/balloond ctl/memctl tests/xen/xen-audit-read; do
	[ -x "$BUILD/$b" ] || { echo "run-balloond.sh: $BUILD/$b not built" >&2; exit 2; }
done
command -v jq >/dev/null || { echo "run-balloond.sh: jq missing" >&2; exit 2; }

now() { date +%s%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", (b - a) / 1e9 }'; }

t0=$(now)
"$HERE/prepare.sh" --cache "$CACHE"
t1=$(now)
extra=$(mktemp -d)
trap 'rm -rf "$extra"' EXIT
cp "$HERE/dom0-balloond.sh" "$extra/run"
cp "$BUILD/daemon/balloond" "$BUILD/ctl/memctl" "$BUILD/tests/xen/xen-audit-read" \
	"$HERE/dom0-audit.sh" "$extra/"
"$HERE/mkinitrd.sh" --cache "$CACHE" --out "$OUT" --extra "$extra" --bin "$(command -v jq)"
t2=$(now)
rc=0
"$HERE/boot.sh" --cache "$CACHE" --initrd "$OUT/dom0.cpio.gz" \
	--log "$OUT/serial.log" "${BOOT_ARGS[@]}" || rc=$?
t3=$(now)
echo "run-balloond: prepare $(secs "$t0" "$t1")s, mkinitrd $(secs "$t1" "$t2")s," \
	"boot+test $(secs "$t2" "$t3")s, total $(secs "$t0" "$t3")s"
if [ "$rc" = 0 ]; then echo "run-balloond: PASS"; else echo "run-balloond: FAIL (serial log $OUT/serial.log)"; fi
exit "$rc"
