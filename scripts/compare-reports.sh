#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Proof that a change left behaviour alone: runs every scenario under
# tests/scenarios/ and the generated property hosts (seeds 1..100 by default)
# with two balloond binaries and compares their reports, leaving out only
# what measures the machine (wall-clock times) and the scenario's path.
# Usage: scripts/compare-reports.sh OLD_BALLOOND NEW_BALLOOND [FIRST..LAST]
# REASONS=1: each run also has BALLOOND_SIM_TRACE=reasons, which prints on
# stderr after every step each event with its text and each domain's reason
# and newest decision, so every text the engine gives operators is compared
# byte for byte too (both binaries must know the trace).
# Prints one line per difference and a summary; exits 1 if anything differs.
set -uo pipefail

old=${1:?usage: compare-reports.sh OLD_BALLOOND NEW_BALLOOND [FIRST..LAST]}
new=${2:?usage: compare-reports.sh OLD_BALLOOND NEW_BALLOOND [FIRST..LAST]}
range=${3:-1..100}
top=$(cd "$(dirname "$0")/.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
command -v jq >/dev/null || { echo "compare-reports: needs jq" >&2; exit 2; }

strip='del(.wall_ms, .scenario)'
same=0
differ=0

trace=()
[ -n "${REASONS:-}" ] && trace=(env BALLOOND_SIM_TRACE=reasons)
lines=0

compare_one() { # LABEL SCENARIO_FILE
	local label=$1 scn=$2
	"${trace[@]}" "$old" --simulate "$scn" >"$tmp/old.json" 2>"$tmp/old.err"
	local rc_old=$?
	"${trace[@]}" "$new" --simulate "$scn" >"$tmp/new.json" 2>"$tmp/new.err"
	local rc_new=$?
	if [ "$rc_old" -ne "$rc_new" ] ||
		! diff -q <(jq -S "$strip" "$tmp/old.json") <(jq -S "$strip" "$tmp/new.json") >/dev/null ||
		! diff -q "$tmp/old.err" "$tmp/new.err" >/dev/null; then
		echo "DIFFERS: $label (exit $rc_old -> $rc_new)"
		diff <(jq -S "$strip" "$tmp/old.json") <(jq -S "$strip" "$tmp/new.json") | sed -n 1,20p
		diff "$tmp/old.err" "$tmp/new.err" | sed -n 1,10p
		differ=$((differ + 1))
	else
		same=$((same + 1))
		lines=$((lines + $(wc -l <"$tmp/new.err")))
	fi
}

for scn in "$top"/tests/scenarios/*.json; do
	compare_one "scenario $(basename "$scn" .json)" "$scn"
done

first=${range%%..*}
last=${range##*..}
for ((seed = first; seed <= last; seed++)); do
	"$old" --simulate-random "$seed" --print >"$tmp/scn-old.json" 2>/dev/null
	"$new" --simulate-random "$seed" --print >"$tmp/scn.json" 2>/dev/null
	if ! cmp -s "$tmp/scn-old.json" "$tmp/scn.json"; then
		echo "DIFFERS: seed $seed generates another host"
		differ=$((differ + 1))
		continue
	fi
	compare_one "seed $seed" "$tmp/scn.json"
done

# The property summary (converged hosts, target writes, virtual seconds),
# without its wall-clock figure.
summary() { "$1" --simulate-random "$first" --count $((last - first + 1)) 2>&1 |
	sed -E 's/,? [0-9.]+ s wall//'; }
if [ "$(summary "$old")" = "$(summary "$new")" ]; then
	same=$((same + 1))
	summary "$new" | tail -n 1
else
	echo "DIFFERS: the property summary"
	diff <(summary "$old") <(summary "$new")
	differ=$((differ + 1))
fi

[ -n "${REASONS:-}" ] && echo "compare-reports: $lines trace lines compared"
echo "compare-reports: $same identical, $differ different"
[ "$differ" -eq 0 ]
