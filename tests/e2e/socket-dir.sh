#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# The socket's directory must be owned by root (or the daemon's uid) and
# not writable by group or others: whoever can write there could swap the
# socket for a symlink and have balloond chmod/chown a file of its choice.
. "$(dirname "$0")/lib.sh"
[ "$(id -u)" -eq 0 ] || { echo "SKIP: needs root to own files as another user"; exit 77; }
getent passwd nobody >/dev/null || { echo "SKIP: no user nobody"; exit 77; }

write_conf "read_group = nogroup"
victim=$TMP/victim
echo secret >"$victim"
chmod 600 "$victim"

# A directory owned by another user, with the socket name a symlink to a
# root file: refused, the file untouched.
mkdir "$TMP/theirs"
ln -s "$victim" "$TMP/theirs/control.sock"
chown -h nobody "$TMP/theirs" "$TMP/theirs/control.sock"
out=$("$BALLOOND" --foreground --config "$CONF" --socket "$TMP/theirs/control.sock" \
	--backend sim --scenario "$E2E/basic.json" 2>&1)
rc=$?
[ $rc -ne 0 ] || fail "balloond accepted a socket directory owned by nobody"
grep -q "must be owned by root" <<<"$out" || fail "no clear refusal: $out"
[ "$(stat -c '%a %U %G' "$victim")" = "600 root root" ] ||
	fail "the symlink's target changed: $(stat -c '%a %U %G' "$victim")"
ok "directory owned by another user refused; symlink target untouched"

# refused SOCKET WHAT MESSAGE: balloond refuses to serve SOCKET (it exits
# with an error naming MESSAGE, not serving until the timeout).
refused() {
	local out rc
	out=$(timeout 5 "$BALLOOND" --foreground --config "$CONF" --socket "$1" \
		--backend sim --scenario "$E2E/basic.json" 2>&1)
	rc=$?
	[ $rc -ne 0 ] && [ $rc -ne 124 ] || fail "balloond served from $2 (rc $rc)"
	grep -q "$3" <<<"$out" || fail "no clear refusal for $2: $out"
}

# The same directory without a symlink is refused too (the race is the
# danger, not what is there now).
rm "$TMP/theirs/control.sock"
refused "$TMP/theirs/control.sock" "a directory owned by nobody" "must be owned by root"
ok "empty directory owned by another user refused"

# A root directory writable by group is refused as well.
mkdir -m 775 "$TMP/groupw"
refused "$TMP/groupw/control.sock" "a group-writable directory" "not writable by group or others"
ok "group-writable directory refused"

# A sticky directory of root's, like /tmp, is safe (only a name's owner
# may remove or rename it): served, and the socket is root's.
mkdir -m 1777 "$TMP/sticky"
"$BALLOOND" --foreground --config "$CONF" --socket "$TMP/sticky/control.sock" \
	--backend sim --scenario "$E2E/basic.json" >"$TMP/sticky.log" 2>&1 &
sticky_pid=$!
served=false
for _ in $(seq 1 50); do
	"$MEMCTL" --socket "$TMP/sticky/control.sock" hello >/dev/null 2>&1 && { served=true; break; }
	kill -0 "$sticky_pid" 2>/dev/null || break
	sleep 0.1
done
kill "$sticky_pid" 2>/dev/null
wait "$sticky_pid" 2>/dev/null
$served || fail "balloond refused a sticky root directory: $(tail -n 2 "$TMP/sticky.log")"
ok "sticky root directory (like /tmp) served"

# A safe directory works, and the socket gets 0660 root:nogroup.
start_daemon "$E2E/basic.json"
[ "$(stat -c '%a %U %G' "$SOCK")" = "660 root nogroup" ] ||
	fail "socket is $(stat -c '%a %U %G' "$SOCK")"
ok "socket in a root directory: 0660 root:nogroup"
stop_daemon
