#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Should a host keep headroom for VM starts (ESXi's minFree) instead of
# distributing every free byte (surplus = distribute)? One simulated host,
# run by `balloond --simulate` once per headroom H (0 = today's default):
# 32G, six guests that want more than there is (so every byte is given
# out), balloons at 512M/s; the headroom is balloond.conf's keep_free (the
# pool stays 72M), and for comparison the pool raised by 2G instead. Then:
#   plain starts: `xl create` of 512M, 1G, 2G and 4G without a reservation
#     (autoballoon off, each destroyed 30 s later): started or failed;
#   reserved starts: a reservation of 512M, 1G, 2G, 4G (then cancelled):
#     how long until granted (the start's latency with memctl reserve);
#   idle: memory free beyond the 72M pool at rest (final free - 72M), which
#     no guest can use, and what the guests hold at rest (and its ratio to
#     the run without headroom).
# Prints the table (and writes it to $1 when given). Not a test: nothing is
# asserted. usage: headroom.sh [OUT.txt] [BALLOOND]
set -eu
out=${1:-}
balloond=${2:-$(dirname "$0")/../../build/daemon/balloond}
command -v jq >/dev/null || { echo "headroom.sh needs jq" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

guest() { # NAME
	printf '{"name": "%s", "type": "pv", "memory": "4G", "static_max": "8G",
	  "dynamic_min": "2G", "dynamic_max": "8G",
	  "balloon": {"rate": "512M/s", "behavior": "normal"},
	  "demand": [{"at": 0, "used": "5G"}]}' "$1"
}

vm() { # NAME SIZE
	printf '{"name": "%s", "type": "pv", "memory": "%s", "static_max": "%s",
	  "balloon": {"rate": "512M/s", "behavior": "normal"}}' "$1" "$2" "$2"
}

scenario() { # CONFIG: members of "config"
	local sizes="512M 1G 2G 4G" i=0 s t events=""
	for s in $sizes; do
		t=$((60 + 60 * i))
		events+="{\"at\": $t, \"do\": \"create\", \"domain\": $(vm "plain$i" "$s")},"
		events+="{\"at\": $((t + 30)), \"do\": \"destroy\", \"name\": \"plain$i\"},"
		i=$((i + 1))
	done
	i=0
	for s in $sizes; do
		t=$((300 + 60 * i))
		events+="{\"at\": $t, \"do\": \"reserve\", \"size\": \"$s\", \"ttl\": 50},"
		events+="{\"at\": $((t + 40)), \"do\": \"cancel\", \"id\": $((i + 1))},"
		i=$((i + 1))
	done
	cat <<JSON
{"host": {"memory": "32G", "xen_reserved": "256M", "dom0": "2G"},
 "config": {$1, "reserve_timeout": "30s"},
 "domains": [$(guest g1), $(guest g2), $(guest g3), $(guest g4), $(guest g5), $(guest g6)],
 "events": [${events%,}],
 "until": 600}
JSON
}

# run NAME CONFIG: one run; prints its row (tab-separated).
run() {
	scenario "$2" >"$tmp/$1.json"
	"$balloond" --simulate "$tmp/$1.json" >"$tmp/$1.out" 2>/dev/null || true
	jq -r --arg name "$1" '
		def gib: . / 1048576 * 100 | round / 100 | tostring + "G";
		def mib: . / 1024 | round | tostring + "M";
		[ .event_errors[] | .error | select(test("^creating plain")) ] as $fails
		| ([range(0;4) | "plain\(.)" ] | map(. as $n
			| if any($fails[]; test("creating \($n):")) then "fail" else "ok" end)
		   | join("/")) as $plain
		| ([.reservations[] | if .granted then (.granted_after * 100 | round / 100
			| tostring) else "refused" end] | join(" / ")) as $lat
		| ([.domains[] | select(.name | test("^g[0-9]")) | .actual] | add) as $held
		| [$name, $plain, $lat, ((.final_free - 73728) | mib), ($held | gib), $held]
		| @tsv' "$tmp/$1.out"
}

table() {
	local base=
	printf '%-16s %-27s %-27s %-8s %-12s %s\n' "headroom" "plain starts 512M/1G/2G/4G" \
		"reserved latency (s)" "idle" "guests hold" "vs none"
	{
		run "none" '"keep_free": "0M"'
		run "keep_free 512M" '"keep_free": "512M"'
		run "keep_free 1G" '"keep_free": "1G"'
		run "keep_free 2G" '"keep_free": "2G"'
		run "pool +2G" '"pool": "2120M"'
	} | while IFS=$'\t' read -r name plain lat idle held kib; do
		[ -n "$base" ] || base=$kib
		printf '%-16s %-27s %-27s %-8s %-12s %s\n' "$name" "$plain" "$lat" "$idle" "$held" \
			"$(awk -v a="$kib" -v b="$base" 'BEGIN { printf "%.3f", a / b }')"
	done
}

if [ -n "$out" ]; then
	table | tee "$out"
else
	table
fi
