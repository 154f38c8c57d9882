#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# What the log says is what happened: an admin's pin is one line (with the
# target change it causes), no line shows a change that its sizes cannot
# tell apart ("target 3.4G -> 3.4G"), a partial increase does not claim the
# domain is at its ceiling, and a repeated message is rate-limited.
. "$(dirname "$0")/lib.sh"

start_daemon "$E2E/basic.json"
wait_until 20 "the guests settle" all_settled

before=$(grep -c "(web1)" "$LOG")
memctl set-target web1 1G >/dev/null || fail "set-target web1 1G"
wait_until 10 "web1 reaches its pin" \
	bash -c "[ \"\$(\"$MEMCTL\" --socket \"$SOCK\" --json list | jq -r '.domains[] | select(.name == \"web1\") | .actual')\" -le 1048576 ]"
after=$(grep -c "(web1)" "$LOG")
pins=$(grep "(web1)" "$LOG" | tail -n $((after - before)) | grep -v "debug:" )
[ "$(grep -c "" <<<"$pins")" -eq 1 ] || fail "set-target logged $(grep -c "" <<<"$pins") lines: $pins"
grep -q "notice: domain [0-9]* (web1): pinned at 1G by admin (target .* -> 1G)" <<<"$pins" ||
	fail "the pin's line does not say the target change: $pins"
ok "one line for set-target: ${pins#*: }"

memctl unpin web1 >/dev/null || fail "unpin web1"
wait_until 20 "the guests settle after unpin" all_settled
stop_daemon

same=$(grep -E "target ([0-9.]+[KMGT]) -> \1:" "$LOG")
[ -z "$same" ] || fail "a target change shown as no change: $same"
ok "no 'target X -> X' line"

grep "up to its ceiling" "$LOG" | grep -v "a step toward" | while read -r line; do
	# A line that says "up to its ceiling C" without "a step toward" must
	# have reached C.
	to=$(sed -E 's/.* -> ([0-9.]+[KMGT]): .*/\1/' <<<"$line")
	c=$(sed -E 's/.*up to its ceiling ([0-9.]+[KMGT]).*/\1/' <<<"$line")
	[ "$to" = "$c" ] || { echo "FAIL: says ceiling but ends below it: $line"; exit 1; }
done || fail "a ceiling reason that is not true"
ok "ceiling reasons are true"
