#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# A target set with memctl is reached by the simulated guest; the others
# rebalance around it; bounds and the pool hold throughout; domains that
# come and go are discovered and forgotten.
. "$(dirname "$0")/lib.sh"

start_daemon "$E2E/basic.json"

wait_until 20 "the initial balance settles" all_settled
host_invariants || fail "invariants broken after the initial balance"
ok "initial balance settled within bounds, free >= pool"

[ "$(dom_field web1 mode)" = auto ] || fail "web1 should start in auto mode"
memctl set-target web1 1536M >/dev/null || fail "set-target web1 1536M failed"
[ "$(dom_field web1 mode)" = pinned ] || fail "web1 is not pinned after set-target"
[ "$(dom_field web1 target)" = $((1536 * 1024)) ] || fail "web1 target is not 1536M"
web1_reached() {
	d=$(dom_json web1) || return 1
	a=$(jq -r .actual <<<"$d")
	[ $((a > 1536 * 1024 ? a - 1536 * 1024 : 1536 * 1024 - a)) -le 1024 ] &&
		[ "$(jq -r .state <<<"$d")" = idle ]
}
wait_until 15 "web1 reaches 1536M" web1_reached
ok "web1 reached its pinned target 1536M"
wait_until 20 "the others settle around the pin" all_settled
host_invariants || fail "invariants broken after the pin"
ok "others rebalanced around the pin within bounds"

# The decision log explains the pin.
memctl --json show web1 | jq -e '.decisions[0].reason | test("pinned")' >/dev/null ||
	fail "show web1 does not explain the pin"
ok "show explains the pin"

# Out of bounds: refused, nothing changes.
out=$(memctl set-target web1 100M 2>&1) && fail "a target below dynamic-min was accepted"
grep -q "outside" <<<"$out" || fail "out-of-bounds message unclear: $out"
[ "$(dom_field web1 target)" = $((1536 * 1024)) ] || fail "a refused set-target changed the target"
ok "out-of-bounds target refused, nothing changed"

out=$(memctl set-target nosuch 1G 2>&1) && fail "set-target of an unknown domain succeeded"
grep -qi "no domain" <<<"$out" || fail "unknown-domain message unclear: $out"
ok "unknown domain refused"

memctl unpin web1 >/dev/null || fail "unpin failed"
[ "$(dom_field web1 mode)" = auto ] || fail "web1 not back to auto after unpin"
wait_until 20 "settles after unpin" all_settled
host_invariants || fail "invariants broken after unpin"
ok "unpinned web1 rebalanced"

# The scenario creates "late" at 4s and destroys it at 8s (sim time).
wait_until 15 "late is discovered" grep -q "(late): appeared" "$LOG"
wait_until 15 "late is forgotten" grep -q "(late): gone" "$LOG"
memctl --json list | jq -e '[.domains[] | select(.name == "late")] | length == 0' >/dev/null ||
	fail "memctl still lists the destroyed domain"
ok "a created domain was discovered and its destruction noticed"

daemon_alive
stop_daemon
ok "clean shutdown"
