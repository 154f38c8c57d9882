#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# run-smoke.sh - the real-Xen smoke test end to end: prepare.sh, mkinitrd.sh
# with dom0-smoke.sh as /test/run, boot.sh; prints how long each phase took.
#
# Usage: run-smoke.sh [--timeout SEC] [--quiet]
# Env:   XEN_TEST_CACHE (see prepare.sh). Images and the serial log go to
#        CACHE/smoke/. Exit status is boot.sh's: 0 only on PASS.
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
CACHE=${XEN_TEST_CACHE:-/var/cache/balloond-xen-test}
OUT=$CACHE/smoke
BOOT_ARGS=()
while [ $# -gt 0 ]; do
	case $1 in
	--timeout) BOOT_ARGS+=(--timeout "$2"); shift 2 ;;
	--quiet) BOOT_ARGS+=(--quiet); shift ;;
	-h|--help) sed -n '2,/^set -e/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
	*) echo "run-smoke.sh: unknown argument: $1" >&2; exit 2 ;;
	esac
done

now() { date +%s%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", (b - a) / 1e9 }'; }

t0=$(now)
"$HERE/prepare.sh" --cache "$CACHE"
t1=$(now)
"$HERE/mkinitrd.sh" --cache "$CACHE" --out "$OUT" --test "$HERE/dom0-smoke.sh"
t2=$(now)
rc=0
"$HERE/boot.sh" --cache "$CACHE" --initrd "$OUT/dom0.cpio.gz" \
	--log "$OUT/serial.log" "${BOOT_ARGS[@]}" || rc=$?
t3=$(now)

echo "run-smoke: prepare $(secs "$t0" "$t1")s, mkinitrd $(secs "$t1" "$t2")s," \
	"boot+test $(secs "$t2" "$t3")s, total $(secs "$t0" "$t3")s"
if [ "$rc" = 0 ]; then
	echo "run-smoke: PASS"
else
	echo "run-smoke: FAIL (boot.sh exit $rc; serial log $OUT/serial.log)"
fi
exit "$rc"
