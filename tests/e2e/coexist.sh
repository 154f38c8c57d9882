#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Coexisting with xl: balloond reads xl.conf (xl_conf) and Xen's command
# line (the scenario's host.cmdline) and says in host.status, memctl status
# and its log what xl's autoballoon and claim_mode mean for it, at start
# and on reload; a bad, missing or unreadable xl.conf is said, never fatal.
. "$(dirname "$0")/lib.sh"

# scenario CMDLINE [EVENTS]: a small host whose Xen command line is CMDLINE.
scenario() {
	cat >"$TMP/scn.json" <<JSON
{
  "host": {"memory": "4G", "xen_reserved": "128M", "dom0": "1G", "cmdline": "$1"},
  "events": [${2:-}],
  "domains": [
    {"name": "g1", "type": "pv", "memory": "1G", "static_max": "2G",
     "dynamic_min": "512M", "dynamic_max": "2G",
     "balloon": {"rate": "2G/s", "behavior": "normal"}}
  ],
  "until": 3600
}
JSON
}

# xl FIELD: host.status's xl.FIELD.
xl() {
	memctl --json status | jq -c ".host.xl.$1"
}

# run XLCONF CMDLINE MANAGE_DOM0: start balloond over those.
run() {
	write_conf "xl_conf = $1" "manage_dom0 = $3"
	scenario "$2"
	start_daemon "$TMP/scn.json"
}

# expect FIELD VALUE
expect() {
	local got
	got=$(xl "$1")
	[ "$got" = "$2" ] || fail "xl.$1 is $got, expected $2 ($(xl summary))"
}

# off: fine whether or not balloond manages dom0; claim_mode 0 is read.
printf 'autoballoon="off"\nclaim_mode=0\n' >"$TMP/off.conf"
run "$TMP/off.conf" "" true
expect read '"read"'
expect autoballoon '"off"'
expect autoballoon_effective false
expect claim_mode false
expect verdict '"ok"'
expect dom0_mem false
memctl status | grep -q '^xl: .*xl autoballoon off (set off).*claim_mode off.*\[ok\]$' ||
	fail "memctl status has no ok xl line: $(memctl status | grep '^xl:')"
grep -q 'xl autoballoon off (set off), claim_mode off' "$LOG" || fail "no log line at start"
ok "autoballoon=off: ok, claim_mode 0 read"

# reload: the file now says on (1), and balloond manages dom0: a conflict,
# said again in the log as a warning with the advice.
printf 'autoballoon=1\n' >"$TMP/off.conf"
kill -HUP "$DAEMON_PID"
wait_until 5 "the reload to read xl.conf again" \
	sh -c "\"$MEMCTL\" --socket \"$SOCK\" --json status | jq -e '.host.xl.verdict == \"conflict\"'"
expect autoballoon '"on"'
expect autoballoon_effective true
expect claim_mode true
grep -q 'warning.*xl autoballoon on (set on).*behind balloond.s back.*autoballoon="off" in '"$TMP/off.conf" "$LOG" ||
	grep -q 'xl autoballoon on (set on).*autoballoon="off" in '"$TMP/off.conf" "$LOG" ||
	fail "no conflict line in the log after reload"
memctl status | grep -q '^xl: .*\[conflict\]: xl create shrinks dom0 behind balloond' ||
	fail "memctl status does not show the conflict: $(memctl status | grep '^xl:')"
stop_daemon
ok "reload: autoballoon=1 with manage_dom0 is a conflict"

# auto with dom0_mem on Xen's command line: xl does not balloon.
printf '# xl defaults\nautoballoon="auto"\n' >"$TMP/auto.conf"
: >"$LOG"
run "$TMP/auto.conf" "console=com1 dom0_mem=1024M,max:1024M" true
expect autoballoon '"auto"'
expect dom0_mem true
expect autoballoon_effective false
expect verdict '"ok"'
stop_daemon
ok "auto + dom0_mem: off, ok"

# auto without dom0_mem: on; dom0 not managed, so a note.
: >"$LOG"
run "$TMP/auto.conf" "console=com1" false
expect dom0_mem false
expect autoballoon_effective true
expect verdict '"note"'
grep -q 'no dom0_mem on Xen.s command line, so on' "$LOG" || fail "no note in the log"
stop_daemon
ok "auto without dom0_mem, dom0 unmanaged: on, a note"

# a missing file: xl's defaults (auto, claim_mode on), no warning.
: >"$LOG"
run "$TMP/none.conf" "" false
expect read '"missing"'
expect autoballoon '"auto"'
expect claim_mode true
grep -q 'no such file: xl.s defaults' "$LOG" || fail "the missing file is not said"
stop_daemon
ok "missing xl.conf: xl's defaults"

# hostile files: a value xl rejects, bad syntax, a FIFO (never read, no
# hang), a directory. balloond starts and says so.
printf 'autoballoon="sometimes"\n' >"$TMP/bad.conf"
: >"$LOG"
run "$TMP/bad.conf" "" false
expect read '"read"'
expect autoballoon '"auto"'
memctl --json status | jq -e '.host.xl.summary | test("invalid value")' >/dev/null ||
	fail "an invalid autoballoon value is not said"
stop_daemon
printf 'autoballoon = [ "x"\n' >"$TMP/syntax.conf"
mkfifo "$TMP/fifo.conf"
mkdir "$TMP/dir.conf"
for f in syntax fifo dir; do
	: >"$LOG"
	run "$TMP/$f.conf" "" false
	expect read '"bad"'
	grep -q "xl.conf: $TMP/$f.conf: .*assuming xl's defaults" "$LOG" ||
		fail "$f: no warning about the unreadable xl.conf"
	daemon_alive
	stop_daemon
done
ok "bad value, bad syntax, FIFO, directory: said, defaults assumed"

# a claim (libxl's claim_mode) for a domain being built: outstanding in
# host.status and the metrics, "claimed" in memctl status, and no guest is
# given it (g1 could grow to 2G, but 1G of the 1.9G free is claimed).
write_conf "xl_conf = $TMP/off.conf"
scenario "" '{"at": 0, "do": "claim", "name": "starting", "size": "1G"}'
: >"$LOG"
start_daemon "$TMP/scn.json"
wait_until 10 "g1 to settle" all_settled
[ "$(memctl --json status | jq '.host.outstanding')" = 1048576 ] ||
	fail "host.status outstanding is not the 1G claim: $(memctl --json status | jq -c .host)"
memctl status | grep -q '^memory: .*, claimed 1G$' || fail "memctl status does not say claimed 1G"
memctl metrics | grep -q '^balloond_host_outstanding_bytes  *1G$' ||
	fail "metrics: no 1G outstanding ($(memctl metrics | grep outstanding))"
free=$(memctl --json status | jq '.host.free - .host.outstanding - .host.pool')
[ "$free" -ge 0 ] || fail "a guest was given claimed memory (free less claims less pool: $free KiB)"
[ "$(dom_field g1 target)" -lt $((2048 * 1024)) ] || fail "g1 grew into the claim"
stop_daemon
ok "a claim: outstanding shown, never given to a guest"
