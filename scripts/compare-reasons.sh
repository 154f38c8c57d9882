#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Proof that a change left every text the engine gives operators alone:
# runs every scenario under tests/scenarios/ and the generated property
# hosts (seeds 1..20 by default) with two balloond binaries under
# BALLOOND_SIM_TRACE=reasons, which prints after each step every event
# (with its text) and every domain's reason and newest decision, and
# compares the two traces byte for byte.
# Usage: scripts/compare-reasons.sh OLD_BALLOOND NEW_BALLOOND [FIRST..LAST]
# Prints one line per difference and a summary; exits 1 if anything differs.
set -uo pipefail

old=${1:?usage: compare-reasons.sh OLD_BALLOOND NEW_BALLOOND [FIRST..LAST]}
new=${2:?usage: compare-reasons.sh OLD_BALLOOND NEW_BALLOOND [FIRST..LAST]}
range=${3:-1..20}
top=$(cd "$(dirname "$0")/.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
same=0
differ=0
lines=0

compare_one() { # LABEL SCENARIO_FILE
	BALLOOND_SIM_TRACE=reasons "$old" --simulate "$2" >/dev/null 2>"$tmp/old.trace"
	BALLOOND_SIM_TRACE=reasons "$new" --simulate "$2" >/dev/null 2>"$tmp/new.trace"
	if cmp -s "$tmp/old.trace" "$tmp/new.trace"; then
		same=$((same + 1))
		lines=$((lines + $(wc -l <"$tmp/new.trace")))
	else
		echo "DIFFERS: $1"
		diff "$tmp/old.trace" "$tmp/new.trace" | sed -n 1,10p
		differ=$((differ + 1))
	fi
}

for scn in "$top"/tests/scenarios/*.json; do
	compare_one "scenario $(basename "$scn" .json)" "$scn"
done
first=${range%%..*}
last=${range##*..}
for ((seed = first; seed <= last; seed++)); do
	"$new" --simulate-random "$seed" --print >"$tmp/scn.json" 2>/dev/null
	compare_one "seed $seed" "$tmp/scn.json"
done
echo "compare-reasons: $same identical ($lines trace lines), $differ different"
[ "$differ" -eq 0 ]
