#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# Instructions per engine step at N domains (default 1000), from callgrind:
# the difference between runs of 60 and 10 measured steps, over 50, so the
# table build, the warm-up and the process start cancel out.
# Usage: scripts/callgrind-step.sh BENCH-ENGINE [N] [sections]
set -eu
bench=$1
n=${2:-1000}
extra=${3:-}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
ir() {
	valgrind --tool=callgrind --callgrind-out-file="$tmp/cg.$1" "$bench" --only "$n" "$1" $extra \
		>/dev/null 2>&1
	callgrind_annotate "$tmp/cg.$1" 2>/dev/null | awk '/PROGRAM TOTALS/ { gsub(",", "", $1); print $1 }'
}
a=$(ir 10)
b=$(ir 60)
echo "$n domains${extra:+ ($extra)}: $(( (b - a) / 50 )) instructions per step"
