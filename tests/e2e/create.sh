#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Starting VMs on a host whose guests hold all memory (create.json): plain
# creation fails; memctl create reserves what the config needs for its name,
# runs xl (a fake one: the scenario builds the domain) and the new domain
# takes the reservation with no transfer call; xl failing cancels it; an
# unreadable config and an impossible size leave nothing behind and never
# run xl. Then the libvirt libxl hook: prepare reserves for the name from
# the domain XML, the domain takes it, release cancels what is left.
. "$(dirname "$0")/lib.sh"

export FAKE_XL_LOG="$TMP/xl.log" MEMCTL SOCK BALLOOND_SOCKET="$SOCK"
: >"$FAKE_XL_LOG"
XL="$E2E/fake-xl"
cfg() { # NAME MEM_MIB: a PV config as xl takes it
	printf 'name = "%s"\ntype = "pv"\nkernel = "/boot/vmlinuz"\nmemory = %s\nvcpus = 1\n' \
		"$1" "$2" >"$TMP/$1.cfg"
}
resv_json() { memctl --json reservations | jq -c "[.reservations[] | select(.for == \"$1\")]"; }

# xl create takes longer than client_timeout here (vm1 appears at 10 s):
# memctl must not keep its connection idle across it
write_conf "client_timeout = 2s"
start_daemon "$E2E/create.json"
wait_until 20 "vm0's creation with nothing reserved to fail" \
	grep -q "event at 3.0s failed: .*not enough free memory" "$LOG"
ok "with the guests holding all memory, creating vm0 (nothing reserved) fails"

# memctl create: reserved for vm1, granted, xl run, taken by vm1 at 10 s
cfg vm1 512
out=$(memctl create --xl "$XL" "$TMP/vm1.cfg" -p 2>&1) || fail "memctl create vm1: $out"
grep -q "^vm1: pv, memory 512M, maxmem 512M: needs 518M free" <<<"$out" ||
	fail "the size computed is not memory + shadow + overhead: $out"
grep -q "granted: 518M for vm1" <<<"$out" || fail "no grant before xl ran: $out"
grep -q "Parsing config from $TMP/vm1.cfg" <<<"$out" || fail "xl's output is not shown: $out"
grep -qx "create $TMP/vm1.cfg -p" "$FAKE_XL_LOG" || fail "xl was not run as asked: $(cat "$FAKE_XL_LOG")"
grep -Eq "^reservation 1 (transferred|done): .*vm1" <<<"$out" || fail "vm1 did not take it: $out"
grep -q "event at 10.0s failed" "$LOG" && fail "vm1's creation failed in the simulator"
[ "$(dom_field vm1 actual)" -ge $((512 * 1024)) ] || fail "vm1 has $(dom_field vm1 actual) KiB"
grep -q "reservation 1: handed to domain [0-9]* (vm1), which appeared" "$LOG" ||
	fail "no hand-over logged"
ok "memctl create vm1: 518M reserved for vm1, xl run, vm1 built with its 512M and took it"

# xl fails: its output is shown, the reservation is cancelled
cfg vmfail 256
rc=0
out=$(FAKE_XL_FAIL=1 memctl create --xl "$XL" "$TMP/vmfail.cfg" 2>&1) || rc=$?
[ "$rc" -eq 1 ] || fail "a failing xl gave exit $rc: $out"
grep -q "libxl: error: .*fake failure for vmfail" <<<"$out" || fail "xl's error not shown: $out"
grep -q "xl create failed (exit status 3); reservation 2 cancelled" <<<"$out" ||
	fail "no cancel said: $out"
resv_json vmfail | jq -e 'length == 1 and .[0].state == "cancelled" and .[0].held == 0' \
	>/dev/null || fail "the reservation is not cancelled: $(resv_json vmfail)"
ok "xl create failing: its error shown, reservation 2 cancelled, nothing held"

# an unreadable config, a config without a name, and an impossible size
calls=$(wc -l <"$FAKE_XL_LOG")
rc=0
out=$(memctl create --xl "$XL" "$TMP/nosuch.cfg" 2>&1) || rc=$?
[ "$rc" -eq 2 ] && grep -q "cannot read $TMP/nosuch.cfg: No such file" <<<"$out" ||
	fail "unreadable config: exit $rc: $out"
printf 'memory = 256\n' >"$TMP/noname.cfg"
rc=0
out=$(memctl create --xl "$XL" "$TMP/noname.cfg" 2>&1) || rc=$?
[ "$rc" -eq 2 ] && grep -q "names no domain" <<<"$out" || fail "config without a name: $rc: $out"
cfg huge 65536
rc=0
out=$(memctl create --xl "$XL" "$TMP/huge.cfg" 2>&1) || rc=$?
[ "$rc" -eq 1 ] || fail "an impossible size gave exit $rc: $out"
grep -q "cannot free 64.5G" <<<"$out" && grep -q "59.[0-9]G missing: 64.5G needed, at most 5.[0-9]G" <<<"$out" ||
	fail "not said how much is missing: $out"
grep -q "xl create not run" <<<"$out" || fail "not said that xl was not run: $out"
[ "$(wc -l <"$FAKE_XL_LOG")" -eq "$calls" ] || fail "xl was run for a refused create"
[ "$(resv_json huge)" = "[]" ] || fail "a refused create left a reservation: $(resv_json huge)"
ok "unreadable or nameless config (exit 2), impossible size (exit 1): xl not run, nothing left"

# the libvirt hook: prepare reserves for vm2 from its XML, vm2 takes it at 22 s
HOOK="$top_srcdir/contrib/libvirt/libxl-hook"
export MEMCTL
out=$("$HOOK" vm2 prepare begin - <"$top_srcdir/contrib/libvirt/example-domain.xml" 2>&1) ||
	fail "hook prepare: $out"
grep -q "granted: 260M for vm2" <<<"$out" || fail "hook prepare: $out"
wait_until 20 "vm2 to take its reservation" \
	bash -c "$MEMCTL --socket $SOCK --json reservations | jq -e '.reservations[] | select(.for == \"vm2\") | select(.state == \"done\")' >/dev/null"
grep -q "event at 22.0s failed" "$LOG" && fail "vm2's creation failed in the simulator"
"$HOOK" vm2 release end - </dev/null || fail "hook release after the start"
ok "libvirt hook: prepare reserved 260M for vm2 from its XML, vm2 took it"

# a start given up: prepare, then release cancels what is held
out=$("$HOOK" vm3 prepare begin - < <(sed 's/vm2/vm3/' "$top_srcdir/contrib/libvirt/example-domain.xml")) ||
	fail "hook prepare vm3: $out"
resv_json vm3 | jq -e '.[0].state == "granted"' >/dev/null || fail "vm3: $(resv_json vm3)"
"$HOOK" vm3 release end - </dev/null || fail "hook release vm3"
resv_json vm3 | jq -e '.[0].state == "cancelled" and .[0].held == 0' >/dev/null ||
	fail "release left vm3's reservation: $(resv_json vm3)"
rc=0
"$HOOK" vm3 prepare begin - </dev/null >/dev/null 2>&1 || rc=$?
[ "$rc" -ne 0 ] || fail "prepare without an XML succeeded"
ok "libvirt hook: release cancels a start given up; prepare without XML fails"

# a PVH domain (libvirt's os type xenpvh) has libxl's HVM/PVH overhead of
# 2 MiB, not PV's 1 MiB: 256M + 3M shadow + 2M, rounded up to 2 MiB, is 262M
# (the PV vm2 above: 260M)
out=$("$HOOK" vm4 prepare begin - < <(sed -e 's/vm2/vm4/' \
	-e "s|machine='xenpv'>linux</type>|machine='xenpvh'>xenpvh</type>|" \
	"$top_srcdir/contrib/libvirt/example-domain.xml") 2>&1) || fail "hook prepare vm4: $out"
grep -q "granted: 262M for vm4" <<<"$out" || fail "hook prepare of a PVH domain: $out"
"$HOOK" vm4 release end - </dev/null || fail "hook release vm4"
ok "libvirt hook: a PVH domain (xenpvh) is sized with libxl's 2 MiB PVH overhead (262M)"

host_invariants || fail "invariants broken at the end"
daemon_alive
stop_daemon

# a guest that does not give back: memctl create names it and runs no xl.
# stuck1's balloon never moves (stalled, not yet uncooperative within 60s),
# so the 1G that only it could free is not freed by reserve_timeout.
printf '[balloond]\npoll_interval = 100ms\nstall_timeout = 1s\nuncooperative_timeout = 60s\nreserve_timeout = 5s\n' >"$CONF"
cat >"$TMP/stuck.json" <<'JSON'
{"host": {"memory": "4G", "xen_reserved": "128M", "dom0": "1G"},
 "domains": [
   {"name": "stuck1", "type": "pv", "memory": "2G", "static_max": "2G",
    "dynamic_min": "256M", "dynamic_max": "2G", "balloon": {"behavior": "stuck"}},
   {"name": "ok1", "type": "pv", "memory": "512M", "static_max": "1G",
    "dynamic_min": "256M", "dynamic_max": "1G",
    "balloon": {"rate": "1G/s", "behavior": "normal"}}],
 "until": 3600}
JSON
start_daemon "$TMP/stuck.json"
cfg vm5 1024
calls=$(wc -l <"$FAKE_XL_LOG")
rc=0
out=$(memctl create --xl "$XL" "$TMP/vm5.cfg" 2>&1) || rc=$?
[ "$rc" -eq 1 ] || fail "a create the guests did not free memory for gave exit $rc: $out"
grep -q "reservation [0-9]* failed: .*not given back by: stuck1" <<<"$out" ||
	fail "the guest that did not give back is not named: $out"
grep -q "could not free .*; xl create not run" <<<"$out" || fail "not said that xl was not run: $out"
[ "$(wc -l <"$FAKE_XL_LOG")" -eq "$calls" ] || fail "xl was run for a failed reservation"
resv_json vm5 | jq -e 'length == 1 and .[0].state == "failed" and .[0].held == 0' >/dev/null ||
	fail "the failed reservation holds memory: $(resv_json vm5)"
ok "guests not giving back: memctl create names stuck1, xl not run, nothing held"
daemon_alive
