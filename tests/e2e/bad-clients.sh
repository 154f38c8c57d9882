#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Hostile and confused clients get JSON-RPC errors (or are disconnected);
# the daemon keeps serving everyone else and nothing is half-applied.
. "$(dirname "$0")/lib.sh"
command -v socat >/dev/null || { echo "SKIP: socat is not installed"; exit 77; }

write_conf "max_message = 4K" "max_clients_per_uid = 4" "client_timeout = 2s"
start_daemon "$E2E/basic.json"

expect_error() { # LINE CODE WHAT
	local reply
	reply=$(rpc "$1")
	jq -e --argjson c "$2" '.error.code == $c' <<<"$reply" >/dev/null ||
		fail "$3: expected error $2, got: $reply"
	ok "$3 -> error $2"
}

expect_error '{"jsonrpc":"2.0","method":"hello","id":1' -32700 "truncated JSON"
expect_error 'this is not json' -32700 "garbage"
expect_error '{"jsonrpc":"2.0","method":"hello","id":1} trailing' -32700 "trailing garbage"
expect_error "$(printf '%.0s[' $(seq 1 100))" -32700 "nesting deeper than the limit"
expect_error '{"method":"hello","id":1}' -32600 "missing jsonrpc member"
expect_error '{"jsonrpc":"1.0","method":"hello","id":1}' -32600 "wrong jsonrpc version"
expect_error '{"jsonrpc":"2.0","method":42,"id":1}' -32600 "method not a string"
expect_error '{"jsonrpc":"2.0","method":"hello","params":"x","id":1}' -32600 "params not structured"
expect_error '[]' -32600 "empty batch"
expect_error '{"jsonrpc":"2.0","method":"no.such","id":1}' -32601 "unknown method"
expect_error '{"jsonrpc":"2.0","method":"rpc.discover","id":1}' -32601 "rpc.discover (not provided)"
expect_error '{"jsonrpc":"2.0","method":"hello","params":{"domain\u0000x":"db"},"id":1}' -32700 \
	"member name with \\u0000"
expect_error '{"jsonrpc":"2.0","method":"hello","id":1,"id":2}' -32700 "duplicate member name"
expect_error '{"jsonrpc":"2.0","method":"hello","id":"\ud800"}' -32700 "lone surrogate in an id"
expect_error '{"jsonrpc":"2.0","method":"hello","params":[1],"id":1}' -32602 \
	"by-position params for a method without any"
# Generic clients: [] for no params, by-position params, any integer id.
reply=$(rpc '{"jsonrpc":"2.0","method":"hello","params":[],"id":18446744073709551616}')
[[ $reply == *'"id":18446744073709551616}' ]] && jq -e '.result.api' <<<"$reply" >/dev/null ||
	fail "hello with [] and id 2^64: $reply"
ok "\"params\": [] accepted, id 2^64 echoed exactly"
reply=$(rpc '{"jsonrpc":"2.0","method":"domain.get","params":["web1"],"id":2}')
jq -e '.result.name == "web1"' <<<"$reply" >/dev/null || fail "domain.get by position: $reply"
ok "by-position params in the documented order"
expect_error '{"jsonrpc":"2.0","method":"domain.set_target","params":{"domain":"web1","target":"2X"},"id":1}' \
	-32602 "bad size in params"
expect_error '{"jsonrpc":"2.0","method":"domain.set_target","params":{"domain":"web1"},"id":1}' \
	-32602 "missing target"
expect_error '{"jsonrpc":"2.0","method":"domain.set_target","params":{"domain":"web1","target":"2G","extra":1},"id":1}' \
	-32602 "unknown param"
expect_error '{"jsonrpc":"2.0","method":"domain.get","params":{"domain":"nosuch"},"id":1}' \
	1 "no such domain"
expect_error '{"jsonrpc":"2.0","method":"domain.set_target","params":{"domain":"web1","target":"64G"},"id":1}' \
	2 "target out of bounds"
expect_error '{"jsonrpc":"2.0","method":"domain.set_target","params":{"domain":0,"target":"1G"},"id":1}' \
	6 "dom0 is not managed"
[ "$(dom_field web1 mode)" = auto ] || fail "a refused request pinned web1"
ok "refused requests changed nothing"

# Client text echoed in an error is cut at a character boundary, never
# inside a UTF-8 sequence: the reply stays valid JSON text (iconv checks the
# bytes; jq would quietly repair them).
a63=$(printf 'a%.0s' $(seq 1 63))
for line in "{\"jsonrpc\":\"2.0\",\"method\":\"events.subscribe\",\"params\":{\"topics\":[\"${a63}é€\"]},\"id\":1}" \
	"{\"jsonrpc\":\"2.0\",\"method\":\"events.subscribe\",\"params\":{\"${a63}é\":1},\"id\":1}"; do
	reply=$(rpc "$line")
	[ -n "$reply" ] || fail "no reply to $line"
	iconv -f UTF-8 -t UTF-8 <<<"$reply" >/dev/null 2>&1 || fail "reply is not UTF-8: $reply"
	jq -e --arg a "$a63" '.error.message | contains($a)' <<<"$reply" >/dev/null ||
		fail "reply does not echo the text: $reply"
done
ok "client text echoed in errors is cut at a UTF-8 boundary"

# Echo of the id; a notification gets no reply; a batch mixes both.
reply=$(rpc '{"jsonrpc":"2.0","method":"hello","id":"abc"}')
jq -e '.id == "abc" and .result.api == 1' <<<"$reply" >/dev/null || fail "id not echoed: $reply"
reply=$(rpc '{"jsonrpc":"2.0","method":"hello"}')
[ -z "$reply" ] || fail "a notification got a reply: $reply"
reply=$(rpc '[{"jsonrpc":"2.0","method":"hello","id":1},{"jsonrpc":"2.0","method":"hello"},{"foo":1},{"jsonrpc":"2.0","method":"nope","id":3}]')
jq -e 'length == 3 and .[0].id == 1 and .[1].error.code == -32600 and .[2].error.code == -32601' \
	<<<"$reply" >/dev/null || fail "batch reply wrong: $reply"
ok "ids echoed, notifications silent, batches answered element by element"

# Several requests pipelined on one connection are answered in order.
reply=$(printf '%s\n%s\n' '{"jsonrpc":"2.0","method":"hello","id":1}' \
	'{"jsonrpc":"2.0","method":"host.status","id":2}' | socat -t 2 - "UNIX-CONNECT:$SOCK")
[ "$(jq -s 'map(.id)' <<<"$reply" | jq -c .)" = "[1,2]" ] || fail "pipelining broken: $reply"
ok "pipelined requests answered in order"

# Oversized message: error, then disconnect.
big=$(head -c 8192 /dev/zero | tr '\0' 'a')
reply=$(rpc "{\"jsonrpc\":\"2.0\",\"method\":\"hello\",\"id\":1,\"x\":\"$big\"}")
jq -e '.error.code == -32600 and (.error.message | test("exceeds"))' <<<"$reply" >/dev/null ||
	fail "oversized message not refused: $reply"
ok "oversized message refused"
reply=$(head -c 100000 /dev/urandom | socat -t 2 - "UNIX-CONNECT:$SOCK" | head -c 2000)
jq -e '.error' <<<"$(head -n 1 <<<"$reply")" >/dev/null 2>&1 || [ -z "$reply" ] ||
	fail "binary garbage answered oddly: $reply"
ok "binary garbage handled"

# Silent clients do not block others; the per-uid cap refuses extras.
idle=()
for i in 1 2 3 4 5 6; do
	socat -u UNIX-CONNECT:"$SOCK" EXEC:"sleep 3" 2>/dev/null &
	idle+=($!)
done
sleep 0.5
reply=$(rpc '{"jsonrpc":"2.0","method":"hello","id":9}')
jq -e '.error.code == 5' <<<"$reply" >/dev/null || fail "per-uid connection cap not enforced: $reply"
ok "per-uid connection cap enforced"
wait "${idle[@]}"
sleep 0.3
reply=$(rpc '{"jsonrpc":"2.0","method":"hello","id":10}')
jq -e '.result.api == 1' <<<"$reply" >/dev/null || fail "daemon not serving after idle clients: $reply"
ok "idle clients timed out; daemon serving again"

# pause: nothing is written until resume (a pin waits too).
reply=$(rpc '{"jsonrpc":"2.0","method":"pause","id":1}')
jq -e '.result.mode == "paused"' <<<"$reply" >/dev/null || fail "pause: $reply"
before=$(dom_field web2 target)
memctl set-target web2 1G >/dev/null || fail "set-target while paused was refused"
sleep 1
[ "$(dom_field web2 target)" = "$before" ] || fail "a target was written while paused"
memctl --json status | jq -e '.host.mode == "paused"' >/dev/null || fail "status does not say paused"
reply=$(rpc '{"jsonrpc":"2.0","method":"resume","id":2}')
jq -e '.result.mode == "running"' <<<"$reply" >/dev/null || fail "resume: $reply"
wait_until 10 "the pin is applied after resume" \
	bash -c "[ \"\$(\"$MEMCTL\" --socket \"$SOCK\" --json show web2 | jq -r .target)\" = 1048576 ]"
ok "pause writes nothing; resume applies what waited"

# config.reload with the file as it is.
reply=$(rpc '{"jsonrpc":"2.0","method":"config.reload","id":3}')
jq -e '.result.config' <<<"$reply" >/dev/null || fail "config.reload: $reply"
ok "config.reload"

# A client that only half-sends a line and goes away.
printf '{"jsonrpc":"2.0","meth' | socat -t 1 - "UNIX-CONNECT:$SOCK" >/dev/null
daemon_alive
memctl status >/dev/null || fail "memctl status failed after the abuse"
host_invariants || fail "invariants broken after the abuse"
ok "daemon alive and consistent after every bad client"
stop_daemon
