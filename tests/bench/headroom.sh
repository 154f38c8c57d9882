#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Should a host keep headroom for VM starts (ESXi's minFree) instead of
# distributing every free byte (surplus = distribute)? One simulated host,
# run by `balloond --simulate` once per headroom H (0 = today's default):
# 32G, six guests that want more than there is (so every byte is given
# out), balloons at 512M/s. balloond has no separate keep_free key: the
# headroom is the pool raised by H (pool = 72M + H), which keeps exactly H
# more free at rest. Then:
#   plain starts: `xl create` of 512M, 1G, 2G and 4G without a reservation
#     (autoballoon off, each destroyed 30 s later): started or failed;
#   reserved starts: a reservation of 512M, 1G, 2G, 4G (then cancelled):
#     how long until granted (the start's latency with memctl reserve);
#   idle: memory free beyond the 72M pool at rest (final free - 72M), which
#     no guest can use, and what the guests hold at rest.
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

scenario() { # POOL
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
 "config": {"pool": "$1", "reserve_timeout": "30s"},
 "domains": [$(guest g1), $(guest g2), $(guest g3), $(guest g4), $(guest g5), $(guest g6)],
 "events": [${events%,}],
 "until": 600}
JSON
}

table() {
	printf '%-9s %-8s %-23s %-31s %-10s %s\n' "headroom" "pool" \
		"plain starts 512M/1G/2G/4G" "reserved start latency (s)" "idle" "guests hold"
	for h in 0 512 1024 2048; do
		pool=$((72 + h))
		scenario "${pool}M" >"$tmp/h$h.json"
		"$balloond" --simulate "$tmp/h$h.json" >"$tmp/h$h.out" 2>/dev/null || true
		jq -r --arg h "${h}M" --arg pool "${pool}M" '
			def gib: . / 1048576 * 100 | round / 100 | tostring + "G";
			def mib: . / 1024 | round | tostring + "M";
			[ .event_errors[] | .error | select(test("^creating plain")) ] as $fails
			| ([range(0;4) | "plain\(.)" ] | map(. as $n
				| if any($fails[]; test("creating \($n):")) then "fail" else "ok" end)
			   | join("/")) as $plain
			| ([.reservations[] | if .granted then (.granted_after * 100 | round / 100
				| tostring) else "refused" end] | join(" / ")) as $lat
			| ([.domains[] | select(.name | test("^g[0-9]")) | .actual] | add) as $held
			| [$h, $pool, $plain, $lat, ((.final_free - 73728) | mib), ($held | gib)]
			| @tsv' "$tmp/h$h.out" |
			awk -F'\t' '{printf "%-9s %-8s %-23s %-31s %-10s %s\n", $1, $2, $3, $4, $5, $6}'
	done
}

if [ -n "$out" ]; then
	table | tee "$out"
else
	table
fi
