#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# A reload revokes at once what the new configuration no longer grants
# (read_group removed: the readers' connections are closed, the socket is
# 0600 root:root again) and grants what it adds; the command line's
# overrides (--log-level, --socket) survive it.
. "$(dirname "$0")/lib.sh"
need_nobody

write_conf "read_group = nogroup"
chmod 755 "$TMP"
start_daemon "$E2E/basic.json" # with --log-level debug and --socket
cp "$MEMCTL" "$TMP/memctl"
chmod 755 "$TMP/memctl"
as_reader() { setpriv --reuid=nobody --regid=nogroup --clear-groups "$@"; }
as_reader "$TMP/memctl" --socket "$SOCK" status >/dev/null || fail "the reader cannot read"
[ "$(stat -c '%a %G' "$SOCK")" = "660 nogroup" ] || fail "socket is $(stat -c '%a %G' "$SOCK")"

# A reader subscribed, waiting for events.
as_reader "$sys_python" - "$SOCK" >"$TMP/reader.out" 2>&1 <<'PY' &
import json, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.connect(sys.argv[1])
s.sendall(b'{"jsonrpc":"2.0","method":"events.subscribe","id":1}\n')
s.settimeout(20)
f = s.makefile("rb")
for line in f:
    print(line.decode().strip(), flush=True)
print("EOF", flush=True)
PY
READER_PID=$!
wait_until 10 "the reader's subscription" grep -q '"result"' "$TMP/reader.out"

write_conf # no read_group
memctl reload >/dev/null || fail "reload failed"
wait_until 5 "the reader's connection to be closed" grep -q '^EOF' "$TMP/reader.out"
grep -q "access revoked" "$TMP/reader.out" || fail "the reader was not told: $(cat "$TMP/reader.out")"
wait "$READER_PID"
ok "removing read_group closes the readers' connections at once"
[ "$(stat -c '%a %U %G' "$SOCK")" = "600 root root" ] ||
	fail "after the reload the socket is $(stat -c '%a %U %G' "$SOCK")"
out=$(as_reader "$TMP/memctl" --socket "$SOCK" status 2>&1) && fail "the former reader can still read"
ok "the socket is 0600 root:root again; the former reader is refused ($out)"

# The command line's --log-level debug and --socket survive the reload.
grep -q "take effect at restart" "$LOG" && fail "the reload took the file's socket over --socket"
mark=$(wc -l <"$LOG")
memctl set-target web1 1G >/dev/null || fail "set-target"
wait_until 5 "a debug line after the reload" bash -c "tail -n +$((mark + 1)) '$LOG' | grep -q 'debug:'"
ok "--log-level and --socket survive a reload"

write_conf "read_group = nogroup"
kill -HUP "$DAEMON_PID"
wait_until 5 "the socket's group back" bash -c "[ \"\$(stat -c '%a %G' '$SOCK')\" = '660 nogroup' ]"
as_reader "$TMP/memctl" --socket "$SOCK" status >/dev/null || fail "read_group added back: the reader cannot read"
ok "adding read_group back on SIGHUP grants access again"
stop_daemon
