#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Configuration checks, reload with a good and a bad file, a second daemon
# on the same socket, clean shutdown, and the refusal off Xen.
. "$(dirname "$0")/lib.sh"

write_conf "pool = 96M"
"$BALLOOND" --check-config --config "$CONF" >/dev/null || fail "--check-config rejected a good file"
printf '[balloond]\npool = 96Q\n' >"$TMP/bad.conf"
out=$("$BALLOOND" --check-config --config "$TMP/bad.conf" 2>&1)
rc=$?
# 78 (EX_CONFIG): the unit's RestartPreventExitStatus= relies on it.
[ $rc -eq 78 ] || fail "--check-config on a bad file exited $rc, not 78: $out"
grep -q "bad.conf:2" <<<"$out" || fail "error does not name file:line: $out"
ok "--check-config: good accepted, bad refused with file:line (exit 78)"
out=$("$BALLOOND" --config "$TMP/missing.conf" --check-config 2>&1)
rc=$?
[ $rc -eq 78 ] || fail "a missing --config exited $rc, not 78: $out"
ok "a missing explicit config is an error (exit 78)"

out=$("$BALLOOND" --backend auto --socket "$TMP/x.sock" --config "$CONF" 2>&1)
rc=$?
if ! grep -q control_d /proc/xen/capabilities 2>/dev/null; then
	[ $rc -eq 69 ] || fail "--backend=auto off Xen exited $rc, not 69: $out"
	grep -q -- "--backend=sim" <<<"$out" || fail "refusal does not point at --backend=sim: $out"
	ok "--backend=auto refuses off Xen (exit 69) and points at --backend=sim"
fi

start_daemon "$E2E/basic.json"
memctl --json status | jq -e '.host.pool == 98304' >/dev/null || fail "pool from config not used"

# A second daemon must not steal the socket.
out=$("$BALLOOND" --config "$CONF" --socket "$SOCK" --backend sim \
	--scenario "$E2E/basic.json" 2>&1) && fail "a second daemon started on the same socket"
grep -q "another balloond" <<<"$out" || fail "second daemon message unclear: $out"
memctl hello >/dev/null || fail "first daemon no longer serving"
ok "a second daemon refuses to take over a live socket"

# Reload: a good change is applied, a bad file keeps the old config.
write_conf "pool = 128M"
kill -HUP "$DAEMON_PID"
wait_until 5 "pool 128M applied" \
	bash -c "\"$MEMCTL\" --socket \"$SOCK\" --json status | jq -e '.host.pool == 131072'"
ok "SIGHUP applied a valid config"
printf '[balloond]\nnonsense = 1\n' >"$CONF"
kill -HUP "$DAEMON_PID"
sleep 0.5
daemon_alive
memctl --json status | jq -e '.host.pool == 131072' >/dev/null || fail "a bad reload changed the config"
grep -q "reload failed, keeping the running configuration" "$LOG" || fail "bad reload not logged"
ok "SIGHUP with a bad file kept the running config"

stop_daemon
[ ! -e "$SOCK" ] || fail "socket file left behind after shutdown"
ok "SIGTERM: exit 0, socket removed"

# A stale socket file from a crashed daemon is taken over.
write_conf
start_daemon "$E2E/basic.json"
kill -KILL "$DAEMON_PID"
wait "$DAEMON_PID" 2>/dev/null
DAEMON_PID=
[ -S "$SOCK" ] || fail "expected a stale socket after SIGKILL"
start_daemon "$E2E/basic.json"
ok "restarted over a stale socket left by a killed daemon"
stop_daemon
