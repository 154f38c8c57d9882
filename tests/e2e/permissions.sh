#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# SO_PEERCRED: root may do everything, members of read_group may only read,
# everyone else is refused with a JSON-RPC error.
. "$(dirname "$0")/lib.sh"
[ "$(id -u)" -eq 0 ] || { echo "SKIP: needs root to switch users"; exit 77; }
command -v setpriv >/dev/null || { echo "SKIP: setpriv missing"; exit 77; }
getent group nogroup >/dev/null && getent passwd 1 >/dev/null || { echo "SKIP: no nogroup or uid 1"; exit 77; }

write_conf "read_group = nogroup"
chmod 755 "$TMP"
start_daemon "$E2E/basic.json"
[ "$(stat -c %G "$SOCK")" = nogroup ] || fail "socket group is $(stat -c %G "$SOCK"), not nogroup"
[ "$(stat -c %a "$SOCK")" = 660 ] || fail "socket mode is $(stat -c %a "$SOCK"), not 660"
ok "socket is 0660, group nogroup"

# Another user may not be able to reach the build tree: use a copy.
cp "$MEMCTL" "$TMP/memctl"
chmod 755 "$TMP/memctl"
MEMCTL_COPY=$TMP/memctl

as_reader() { setpriv --reuid=65534 --regid="$(getent group nogroup | cut -d: -f3)" --clear-groups "$@"; }
as_stranger() { setpriv --reuid=1 --regid=1 --clear-groups "$@"; } # daemon:daemon

as_reader "$MEMCTL_COPY" --socket "$SOCK" status >/dev/null || fail "a read_group member cannot read"
out=$(as_reader "$MEMCTL_COPY" --socket "$SOCK" set-target web1 1G 2>&1)
rc=$?
[ $rc -eq 1 ] || fail "read_group member set-target exited $rc: $out"
grep -qi "not permitted" <<<"$out" || fail "no 'not permitted' message: $out"
[ "$(dom_field web1 mode)" = auto ] || fail "a refused set-target changed web1"
ok "read_group member may read, may not write"

# A stranger may reach the socket only if the mode lets it; make it so to
# prove the daemon itself refuses (the socket mode is the first fence).
chmod 666 "$SOCK"
out=$(as_stranger "$MEMCTL_COPY" --socket "$SOCK" status 2>&1)
rc=$?
[ $rc -eq 1 ] || fail "a stranger's status exited $rc: $out"
grep -qi "not permitted" <<<"$out" || fail "no 'not permitted' message for a stranger: $out"
ok "other users are refused by the daemon"

memctl set-target web1 1G >/dev/null || fail "root cannot write"
ok "root may write"
stop_daemon
