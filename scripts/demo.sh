#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Install, build, and run balloond on the demo simulated host
# (conf/demo.json), showing `memctl status` while the guests converge.
# Usage: scripts/demo.sh [most seconds to watch, default 90]
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
"$top/scripts/setup.sh"
build=${BUILD_DIR:-$top/build}
watch=${1:-90}

run=$(mktemp -d /tmp/balloond-demo.XXXXXX)
sock=$run/control.sock
memctl() { "$build/ctl/memctl" --socket "$sock" "$@"; }

"$build/daemon/balloond" --foreground --config "$top/conf/balloond.conf" \
	--backend sim --scenario "$top/conf/demo.json" --socket "$sock" \
	>"$run/balloond.log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null; rm -rf "$run"' EXIT
for _ in $(seq 1 50); do
	memctl hello >/dev/null 2>&1 && break
	sleep 0.1
done
memctl hello

end=$((SECONDS + watch))
while [ $SECONDS -lt $end ]; do
	echo
	echo "=== memctl status (t=${SECONDS}s) ==="
	memctl status
	if memctl --json list | jq -e '[.domains[] | select(.mode == "auto" or .mode == "pinned")
			| select(.state == "converging" or .state == "stalled")] | length == 0' >/dev/null &&
		[ $SECONDS -gt 12 ]; then
		echo
		echo "demo: every managed guest has settled (a stuck one is marked uncooperative)."
		break
	fi
	sleep 5
done

echo
echo "=== what balloond logged ==="
cat "$run/balloond.log"
echo
echo "demo: to keep it running yourself:"
echo "  $build/daemon/balloond -f --backend sim --scenario $top/conf/demo.json --socket /tmp/b.sock &"
echo "  $build/ctl/memctl --socket /tmp/b.sock status"
