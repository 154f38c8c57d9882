#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# A guest whose balloon never moves is marked stalled, re-armed, then
# uncooperative; the other guests still converge and host free memory never
# drops below the pool while that happens.
. "$(dirname "$0")/lib.sh"

start_daemon "$E2E/stuck.json"

samples=0
for i in $(seq 1 40); do
	host_invariants >/dev/null || fail "invariant broken at sample $i: $(memctl --json status)"
	samples=$((samples + 1))
	[ "$(dom_field big-stuck state)" = uncooperative ] && break
	sleep 0.25
done
[ "$(dom_field big-stuck state)" = uncooperative ] ||
	fail "big-stuck never became uncooperative (state $(dom_field big-stuck state))"
ok "stuck guest marked uncooperative; free >= pool in $samples samples"

grep -q "(big-stuck): converging -> stalled\|(big-stuck): idle -> stalled" "$LOG" ||
	fail "no stalled transition logged"
grep -q "re-arm" <(memctl --json show big-stuck | jq -r '.decisions[].reason') ||
	fail "the stalled balloon was never re-armed"
ok "stalled balloon was re-armed before giving up"

wait_until 20 "the cooperative guests settle" all_settled
for n in small1 small2; do
	d=$(dom_json $n)
	a=$(jq -r .actual <<<"$d")
	t=$(jq -r .target <<<"$d")
	[ "$(jq -r .state <<<"$d")" = idle ] || fail "$n is not idle"
	[ $((a > t ? a - t : t - a)) -le 1024 ] || fail "$n actual $a far from target $t"
	[ "$a" -gt $((512 * 1024)) ] || fail "$n did not grow into the memory that was free"
done
host_invariants || fail "invariants broken at the end"
memctl --json status | jq -e '.host.uncooperative == 1' >/dev/null ||
	fail "host.status does not count the uncooperative guest"
ok "the cooperative guests converged despite the stuck one"

daemon_alive
stop_daemon
