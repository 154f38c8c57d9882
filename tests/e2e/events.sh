#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# The event stream: events.subscribe delivers JSON-RPC notifications for the
# topics asked (a pinned target arrives with the right domain and size,
# domains appearing and going arrive under "domain"), unknown topics are
# refused naming the topic, and a subscriber that never reads neither stalls
# other clients nor makes balloond grow: its events are dropped and, once it
# reads again, one "dropped" notice says how many (the count metrics has).
. "$(dirname "$0")/lib.sh"
command -v socat >/dev/null || { echo "SKIP: socat is not installed"; exit 77; }
command -v python3 >/dev/null || { echo "SKIP: python3 is not installed"; exit 77; }

SUB_PIDS=()
stop_subscribers() {
	local p
	for p in "${SUB_PIDS[@]}"; do
		kill "$p" 2>/dev/null
		wait "$p" 2>/dev/null
	done
	SUB_PIDS=()
}
trap 'stop_subscribers; cleanup' EXIT

# metric NAME: its unlabelled value from metrics {format: json}.
metric() {
	memctl --json metrics | jq -e --arg n "$1" '.metrics[] | select(.name == $n) | .samples[0].value'
}

subscribers_at_least() {
	[ "$(metric balloond_event_subscribers)" -ge "$1" ]
}

subscribers_exactly() {
	[ "$(metric balloond_event_subscribers)" -eq "$1" ]
}

# basic.json with "late" created at 10s and destroyed at 13s: time enough to
# subscribe first even on a loaded machine.
jq '.events[0].at = 10 | .events[1].at = 13' "$E2E/basic.json" >"$TMP/scenario.json"
start_daemon "$TMP/scenario.json"

# ---- subscribing; a pinned target arrives ----
"$MEMCTL" --socket "$SOCK" --json events target domain >"$TMP/ev.json" 2>"$TMP/ev.err" &
SUB_PIDS+=($!)
"$MEMCTL" --socket "$SOCK" events target state >"$TMP/ev.txt" 2>&1 &
SUB_PIDS+=($!)
wait_until 15 "two subscribers" subscribers_at_least 2
ok "memctl events subscribes (balloond_event_subscribers = 2)"

web1=$(dom_field web1 domid)
memctl set-target web1 1536M >/dev/null || fail "set-target web1 1536M"
has_target_event() {
	jq -e -s --argjson id "$web1" 'map(select(.topic == "target" and .kind == "target"
		and .domid == $id and .name == "web1" and .new == 1572864)) | length >= 1' \
		"$TMP/ev.json"
}
wait_until 15 "the target event of web1" has_target_event
jq -e -s --argjson id "$web1" 'map(select(.kind == "pin" and .domid == $id)) | .[0].new == 1572864' \
	"$TMP/ev.json" >/dev/null || fail "no pin event for web1: $(cat "$TMP/ev.json")"
jq -e -s 'all(.[]; (.time | type) == "number" and .time > 1000000000)' "$TMP/ev.json" \
	>/dev/null || fail "an event without a wall-clock time: $(cat "$TMP/ev.json")"
jq -e -s 'all(.[]; .topic == "target" or .topic == "domain")' "$TMP/ev.json" >/dev/null ||
	fail "a topic that was not asked for arrived: $(cat "$TMP/ev.json")"
ok "set-target web1 1536M: target event with domid $web1, name web1, new 1572864 KiB"

wait_until 15 "the human event line" grep -q "web1 ($web1): target .* -> 1.5G" "$TMP/ev.txt"
wait_until 15 "a state line of web1" \
	grep -Eq "web1 \($web1\): (idle|converging) -> (idle|converging): " "$TMP/ev.txt"
ok "memctl events prints one line per event: $(grep -m1 'target .* -> 1.5G' "$TMP/ev.txt")"

# The scenario creates "late" at 10s and destroys it at 13s.
has_domain_events() {
	jq -e -s 'map(select(.topic == "domain" and .name == "late") | .kind) == ["new", "gone"]' \
		"$TMP/ev.json"
}
wait_until 25 "late to appear and go" has_domain_events
ok "domain topic: late appeared, then went"

# ---- refusals ----
reply=$(rpc '{"jsonrpc":"2.0","method":"events.subscribe","params":{"topics":["target","bogus"]},"id":1}')
jq -e '.error.code == -32602 and (.error.message | contains("\"bogus\""))' <<<"$reply" \
	>/dev/null || fail "unknown topic not refused by name: $reply"
reply=$(rpc '{"jsonrpc":"2.0","method":"events.subscribe","params":{"topics":[]},"id":1}')
jq -e '.error.code == -32602' <<<"$reply" >/dev/null || fail "empty topics accepted: $reply"
reply=$(rpc '{"jsonrpc":"2.0","method":"events.subscribe","params":{"topic":["target"]},"id":1}')
jq -e '.error.code == -32602' <<<"$reply" >/dev/null || fail "unknown member accepted: $reply"
memctl events target bogus >"$TMP/out" 2>"$TMP/err"
rc=$?
[ "$rc" -eq 1 ] && grep -q bogus "$TMP/err" ||
	fail "memctl events bogus: exit $rc, stderr $(cat "$TMP/err")"
ok "unknown topic, empty list and unknown member refused with -32602 (memctl exits 1)"

sub='{"jsonrpc":"2.0","method":"events.subscribe"'
unsub='{"jsonrpc":"2.0","method":"events.unsubscribe"'
batch="[$sub,\"params\":{\"topics\":[\"state\",\"pressure\"]},\"id\":1},$sub,\"id\":2},"
batch+="$unsub,\"params\":{\"topics\":[\"state\"]},\"id\":3},$unsub,\"id\":4}]"
reply=$(rpc "$batch" | grep '^\[')
jq -e '.[0].result.topics == ["state","pressure"] and (.[1].result.topics | length) == 6
	and (.[2].result.topics | index("state")) == null and .[3].result.topics == []' \
	<<<"$reply" >/dev/null || fail "subscribe/unsubscribe results wrong: $reply"
ok "subscribe adds topics (none = all six), unsubscribe removes them"

stop_subscribers
wait_until 15 "the subscribers to leave" subscribers_exactly 0

# ---- a subscriber that never reads ----
rss_kib() { awk '/^VmRSS:/ {print $2}' "/proc/$DAEMON_PID/status"; }
rss_before=$(rss_kib)
dropped_before=$(metric balloond_events_dropped_total)
sent_before=$(metric balloond_events_sent_total)
python3 - "$SOCK" "$TMP" >"$TMP/slow.out" 2>&1 <<'EOF' &
# Subscribe, then read nothing until told to; then read what arrived.
import json, os, socket, sys, time
path, tmp = sys.argv[1], sys.argv[2]
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.connect(path)
s.sendall(b'{"jsonrpc":"2.0","method":"events.subscribe","params":{"topics":["target"]},"id":1}\n')
open(os.path.join(tmp, "slow.ready"), "w").close()
while not os.path.exists(os.path.join(tmp, "slow.go")):
    time.sleep(0.1)
s.settimeout(5)
buf, dropped, events, nbytes = b"", None, 0, 0
while True:
    try:
        chunk = s.recv(65536)
    except socket.timeout:
        break
    if not chunk:
        break
    nbytes += len(chunk)
    buf += chunk
    *lines, buf = buf.split(b"\n")
    for line in lines:
        msg = json.loads(line)
        if msg.get("method") != "event":
            continue
        if msg["params"]["topic"] == "dropped":
            dropped = msg["params"]["dropped"]
        else:
            events += 1
print(json.dumps({"dropped": dropped, "events": events, "bytes": nbytes}))
EOF
SLOW_PID=$!
SUB_PIDS+=($SLOW_PID)
slow_ready_or_dead() {
	test -e "$TMP/slow.ready" || ! kill -0 "$SLOW_PID" 2>/dev/null
}
wait_until 30 "the slow subscriber" slow_ready_or_dead
test -e "$TMP/slow.ready" || fail "the slow subscriber died: $(cat "$TMP/slow.out")"
wait_until 15 "the slow subscription" subscribers_at_least 1

# Flood: batches of pins alternating web1 between two sizes (each one a pin
# and a target event), while another client asks for the status.
python3 - "$SOCK" >"$TMP/flood.out" 2>&1 <<'EOF' &
import json, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.connect(sys.argv[1])
f = s.makefile("rb")
n = 0
for batch in range(200):  # batches of 32, the most balloond serves
    reqs = [{"jsonrpc": "2.0", "method": "domain.set_target", "id": i,
             "params": {"domain": "web1", "target": "1G" if (batch * 32 + i) % 2 else "1536M"}}
            for i in range(32)]
    s.sendall(json.dumps(reqs).encode() + b"\n")
    reply = json.loads(f.readline())
    n += sum(1 for r in reply if "result" in r)
print(n)
EOF
FLOOD_PID=$!
sleep 0.3
start=$SECONDS
memctl --timeout 10 status >/dev/null || fail "memctl status failed during the flood"
[ $((SECONDS - start)) -le 10 ] || fail "memctl status took $((SECONDS - start))s during the flood"
ok "memctl status answered within $((SECONDS - start))s during the flood"
wait "$FLOOD_PID" || fail "the flood client failed: $(cat "$TMP/flood.out")"
memctl --timeout 10 status >/dev/null || fail "memctl status failed after the flood"
ok "memctl status answers while the subscriber's queue is full"
[ "$(cat "$TMP/flood.out")" -eq 6400 ] || fail "flood: $(cat "$TMP/flood.out") of 6400 pins done"
daemon_alive

dropped=$(( $(metric balloond_events_dropped_total) - dropped_before ))
sent=$(( $(metric balloond_events_sent_total) - sent_before ))
[ "$dropped" -gt 0 ] || fail "6400 pins to a subscriber that does not read dropped nothing"
rss_after=$(rss_kib)
# (ASan's quarantine keeps freed memory: RSS says nothing there.)
if ! grep -qa __asan_init "$BALLOOND"; then
	[ $((rss_after - rss_before)) -lt 16384 ] ||
		fail "balloond grew from ${rss_before} to ${rss_after} KiB with one stuck subscriber"
fi
ok "$dropped events dropped for the stuck subscriber; RSS ${rss_before} -> ${rss_after} KiB"

touch "$TMP/slow.go"
wait "$SLOW_PID" || fail "the slow subscriber failed: $(cat "$TMP/slow.out")"
SUB_PIDS=()
res=$(tail -n 1 "$TMP/slow.out")
jq -e --argjson d "$dropped" '.dropped == $d' <<<"$res" >/dev/null ||
	fail "the dropped notice does not say $dropped: $res"
# Every event queued arrived; what it got is bounded by balloond's queue
# (256 KiB) and the socket buffers, well under the ~2.4 MB the 12800 events
# of the flood make.
jq -e --argjson s "$sent" '.events == $s and .bytes < 1048576 and .dropped > .events' \
	<<<"$res" >/dev/null ||
	fail "the slow subscriber got $res; balloond counted $sent sent, $dropped dropped"
ok "after catching up the subscriber got one notice: $res"
[ "$(dom_field web1 mode)" = pinned ] || fail "web1 is not pinned after the flood"

# ---- memctl events exits 3 when balloond goes away ----
"$MEMCTL" --socket "$SOCK" events >/dev/null 2>"$TMP/gone.err" &
GONE_PID=$!
wait_until 15 "a subscriber" subscribers_at_least 1
stop_daemon
rc=0
wait "$GONE_PID" || rc=$?
[ "$rc" -eq 3 ] || fail "memctl events exited $rc when balloond stopped: $(cat "$TMP/gone.err")"
grep -q "closed the connection" "$TMP/gone.err" || fail "no reason given: $(cat "$TMP/gone.err")"
ok "memctl events exits 3 when balloond goes away"
