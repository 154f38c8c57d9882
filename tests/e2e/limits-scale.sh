#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# The cost of a call whose reply covers every domain grows with the domains
# (doc/protocol.md, "Limits"): at 1,000 domains a metrics reply is 0.5 MB
# and about 23 ms of work, and with fixed costs a read-only user's batch of
# 8 of them (cost 64) held root behind 0.2 s turns. Now a batch holds one
# such call at 1,000 domains; a batch of one call is always served.
. "$(dirname "$0")/lib.sh"
command -v socat >/dev/null || { echo "SKIP: socat is not installed"; exit 77; }

n=1000
jq -n --argjson n $n '{
  host: {memory: "96G", xen_reserved: "1G", dom0: "4G"},
  domains: [range($n) | {name: "g\(.)", type: "pv", memory: "64M", static_max: "128M",
    dynamic_min: "32M", dynamic_max: "128M", balloon: {rate: "2G/s", behavior: "normal"}}],
  until: 3600}' >"$TMP/scale.json"
write_conf "max_message = 64K"
start_daemon "$TMP/scale.json"
for i in $(seq 1 100); do
	[ "$(memctl --json status | jq '.host.domains // (.domains | length)')" -ge $n ] 2>/dev/null && break
	sleep 0.1
done

# refused N METHOD COST: a batch of N calls of METHOD is refused for its cost
refused() {
	local reply
	reply=$(rpc "$(batch "$1" "$2")")
	check ".error.code == -32600 and (.error.message | test(\"costs $3\"))" "$reply" ||
		fail "a batch of $1 $2 at $n domains (cost $3) was not refused: $(head -c 300 <<<"$reply")"
}

reply=$(rpc "$(batch 1 metrics)")
check 'length == 1 and (.[0].result | type == "object")' "$reply" ||
	fail "a batch of one metrics call at $n domains was not served: $(head -c 300 <<<"$reply")"
refused 2 metrics 78      # 2 x 39
refused 8 metrics 312     # the issue's batch of 8
refused 2 domain.list 70  # 2 x 35
reply=$(rpc "$(jq -cn '[{jsonrpc: "2.0", method: "domain.list", id: 0}] + [range(29) | {jsonrpc: "2.0", method: "hello", id: (. + 1)}]')")
check 'length == 30 and (.[0].result.domains | length) >= 1000' "$reply" ||
	fail "domain.list and 29 hellos (cost 64) were not served: $(head -c 300 <<<"$reply")"
reply=$(rpc '{"jsonrpc":"2.0","method":"metrics","id":1}')
check '.id == 1 and (.result | type == "object")' "$reply" ||
	fail "a single metrics call at $n domains was not served: $(head -c 300 <<<"$reply")"
ok "at $n domains a batch holds one metrics or domain.list: 1 served, 2 refused (78, 70), 8 refused (312); single calls served"
stop_daemon
