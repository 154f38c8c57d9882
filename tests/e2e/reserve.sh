#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Reservations through memctl on the simulated host: freed and granted,
# held against the guests, listed, cancelled (the guests grow back);
# impossible ones refused with the reason; bad requests change nothing.
. "$(dirname "$0")/lib.sh"

command -v socat >/dev/null || { echo "SKIP: socat is not installed"; exit 77; }
start_daemon "$E2E/basic.json"
# basic.json creates "late" at 4 s and destroys it at 8 s: a VM created
# outside a reservation would take the reserved memory, so start after it.
wait_until 30 "the late domain to come and go" grep -q "(late): gone" "$LOG"
wait_until 20 "the guests settle" all_settled

free_now() { memctl --json status | jq -r .host.free; }
pool=$(memctl --json status | jq -r .host.pool)
[ "$(free_now)" -lt $((pool + 1024 * 1024)) ] || fail "the host is not full to begin with"

out=$(memctl reserve 2G --ttl 10m) || fail "reserve 2G failed: $out"
grep -q "^reservation 1 granted: 2G" <<<"$out" || fail "unexpected answer: $out"
free=$(free_now)
[ "$free" -ge $((pool + 2 * 1024 * 1024)) ] || fail "granted, but only $free KiB free (pool $pool)"
memctl --json status | jq -e '.host.reserved == 2097152' >/dev/null ||
	fail "host.status does not show the 2G reserved"
ok "reserve 2G: guests gave memory back, granted with $free KiB free"

memctl reservations | grep -Eq "^ +1 +granted +2G" || fail "reservations: $(memctl reservations)"
sleep 2
[ "$(free_now)" -ge $((pool + 2 * 1024 * 1024)) ] || fail "the guests grew into the reservation"
ok "the reservation is listed and held"

rc=0
out=$(memctl reserve 64G 2>&1) || rc=$?
[ "$rc" -eq 1 ] || fail "reserve 64G exited $rc: $out"
grep -q "cannot free 64G" <<<"$out" || fail "no reason given: $out"
rc=0
memctl reserve 3G..1G >/dev/null 2>&1 || rc=$?
[ "$rc" -eq 2 ] || fail "reserve 3G..1G exited $rc, want 2 (usage)"
reply=$(rpc '{"jsonrpc":"2.0","method":"reserve","params":{"size":"1G","min":"1G"},"id":1}')
jq -e '.error.code == -32602' <<<"$reply" >/dev/null || fail "size and min together: $reply"
reply=$(rpc '{"jsonrpc":"2.0","method":"reservation.cancel","params":{"id":77},"id":2}')
jq -e '.error.code == 8' <<<"$reply" >/dev/null || fail "cancel of no reservation: $reply"
reply=$(rpc '{"jsonrpc":"2.0","method":"reservation.transfer","params":{"id":1,"domain":"nosuch"},"id":3}')
jq -e '.error.code == 1' <<<"$reply" >/dev/null || fail "transfer to no domain: $reply"
[ "$(memctl --json reservations | jq '.reservations | length')" -eq 1 ] ||
	fail "a refused request left a reservation behind"
ok "impossible and malformed requests refused; nothing changed"

out=$(memctl --no-wait reserve 512M) || fail "reserve --no-wait failed: $out"
grep -Eq "^reservation 2 (pending|granted)" <<<"$out" || fail "--no-wait: $out"
memctl cancel 2 | grep -q "cancelled" || fail "cancel 2"

memctl cancel 1 | grep -q "^reservation 1 cancelled" || fail "cancel 1"
wait_until 20 "the guests grow back into the freed memory" \
	bash -c "[ \$($MEMCTL --socket $SOCK --json status | jq .host.free) -lt $((pool + 1024 * 1024)) ]"
memctl --json reservations | jq -e '[.reservations[].state] | all(. == "cancelled")' >/dev/null ||
	fail "cancelled reservations not listed as such"
host_invariants || fail "invariants broken at the end"
ok "cancelled: the memory went back to the guests"

daemon_alive
