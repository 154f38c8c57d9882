#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# The M2P/P2M audit through balloond and memctl on the simulated host (PV
# guests of both widths, an HVM guest, a balloon still moving): clean before
# the scenario's fault, exactly that fault after it (exit 4); the control
# socket answers while an audit runs; a one-domain audit reports the others
# as not audited; balloons at rest and audit_interval start audits by
# themselves; bad params and read-only callers are refused; SIGTERM during
# an audit is a clean exit; on a settled clean host periodic audits are
# skipped, at most five in a row.
. "$(dirname "$0")/lib.sh"

command -v socat >/dev/null || { echo "SKIP: socat is not installed"; exit 77; }
FAULT_AT=10 # tests/e2e/audit.json: M2P_MISMATCH in pv32 at 10 s

# rpc_q METHOD PARAMS: one request; the reply's JSON.
rpc_q() {
	rpc "{\"jsonrpc\":\"2.0\",\"method\":\"$1\",\"params\":$2,\"id\":1}"
}

# start_audit: start one with --no-wait, retrying while balloond is busy
# with an audit of its own (balloons coming to rest start some); prints its id.
start_audit() {
	local end=$((SECONDS + 20)) out
	while [ $SECONDS -le $end ]; do
		if out=$(memctl --json audit --no-wait 2>/dev/null); then
			jq -e .id <<<"$out"
			return
		fi
		sleep 0.1
	done
	fail "no audit could be started within 20s"
}

write_conf "audit_settle = 500ms"
start_daemon "$E2E/audit.json"

# ---- before the fault: clean, while slowpv's balloon moves ----
[ "$(dom_field slowpv state)" = converging ] || fail "slowpv is not ballooning: $(dom_json slowpv)"
out=$(memctl audit 2>&1)
rc=$?
grep -q "scenario event at $FAULT_AT.0s" "$LOG" &&
	fail "the machine is too slow: the fault at ${FAULT_AT}s came before the first audit"
[ $rc -eq 0 ] || fail "the audit before the fault exited $rc: $out"
grep -q "^clean: 4 PV domains, [0-9]* pages, no finding$" <<<"$out" || fail "not clean: $out"
grep -q "^hvm1: not auditable (the P2M is inside Xen)$" <<<"$out" ||
	fail "hvm1 is not reported as not auditable: $out"
json=$(memctl --json audit) || fail "memctl --json audit exited $? before the fault"
jq -e '[.status.domains[] | {(.name): .status}] | add ==
	{"Domain-0": "audited", "pv64": "audited", "pv32": "audited", "slowpv": "audited",
	 "hvm1": "not auditable"}' <<<"$json" >/dev/null || fail "domain statuses: $json"
jq -e '.status.last.findings == 0 and (.findings.findings | length) == 0 and
	.status.last.pages == ([.status.domains[] | .scanned] | add) and .status.last.pages > 0' \
	<<<"$json" >/dev/null || fail "clean audit totals: $json"
[ "$(dom_field slowpv state)" = converging ] || fail "slowpv stopped ballooning too early"
ok "before the fault: clean (both widths audited, hvm1 not auditable, slowpv ballooning)"

# ---- a one-domain audit: the others are not audited, not in the totals ----
json=$(memctl --json audit pv64) || fail "memctl --json audit pv64 exited $?"
jq -e '.status.last.scope == "domains" and
	([.status.domains[] | select(.status == "audited") | .name] == ["pv64"]) and
	([.status.domains[] | select(.status == "not audited")] | length) == 4 and
	.status.last.pages == (.status.domains[] | select(.name == "pv64") | .scanned)' \
	<<<"$json" >/dev/null || fail "audit of pv64 alone: $json"
ok "a one-domain audit reports the other domains as not audited"

# ---- after the fault: exactly it ----
wait_until 30 "the fault injected at ${FAULT_AT}s" grep -q "scenario event at $FAULT_AT.0s done" "$LOG"
rc=0
json=$(memctl --json audit) || rc=$?
[ $rc -eq 4 ] || fail "memctl --json audit after the fault exited $rc: $json"
jq -e '.findings.counts == {"M2P_MISMATCH": 1} and (.findings.findings | length) == 1 and
	.findings.findings[0].class == "M2P_MISMATCH" and .findings.findings[0].name == "pv32" and
	.findings.findings[0].m2p != .findings.findings[0].pfn and
	.status.last.findings == 1 and .status.last.classes == {"M2P_MISMATCH": 1} and
	([.status.domains[] | select(.findings > 0) | {(.name): .findings}] | add) == {"pv32": 1}' \
	<<<"$json" >/dev/null || fail "after the fault, not exactly one M2P_MISMATCH in pv32: $json"
rc=0
out=$(memctl audit 2>&1) || rc=$?
[ $rc -eq 4 ] || fail "memctl audit after the fault exited $rc: $out"
grep -q "^M2P_MISMATCH: 1$" <<<"$out" || fail "no M2P_MISMATCH count: $out"
grep -Eq "^  pv32 \(domid [0-9]+\): pfn 0x[0-9a-f]+  mfn 0x[0-9a-f]+  m2p 0x[0-9a-f]+$" <<<"$out" ||
	fail "no example of the finding: $out"
grep -q "guest bug or attack" <<<"$out" || fail "no word on guest bugs: $out"
grep -q "warning: audit [0-9]*: domain [0-9]* (pv32): 1 confirmed M2P_MISMATCH finding; a finding is usually a guest bug or attack" "$LOG" ||
	fail "the confirmed finding is not logged as a warning"
ok "after the fault: exactly one M2P_MISMATCH in pv32 (precision and recall 1.0), exit 4"

# ---- the control socket answers while an audit runs ----
id=$(start_audit) || fail "no audit could be started"
memctl --json status >/dev/null || fail "status failed while audit $id ran"
st=$(rpc_q audit.status '{}')
jq -e --argjson id "$id" '(.result.running and .result.id == $id) or .result.last.id >= $id' \
	<<<"$st" >/dev/null || fail "audit.status during audit $id: $st"
wait_until 20 "audit $id to finish" eval "rpc_q audit.status '{}' | jq -e '.result.running | not'"
ok "status and audit.status answer while audit $id runs ($(jq -c '.result | {running, id}' <<<"$st"))"

# ---- bad params ----
for p in '{"domain": -1}' '{"domain": 1.5}' '{"bogus": 1}' '[1, 2]' '[-1]' '{"domain": "x", "y": 2}'; do
	jq -e '.error.code == -32602' <<<"$(rpc_q audit.run "$p")" >/dev/null ||
		fail "audit.run $p: not -32602: $(rpc_q audit.run "$p")"
done
jq -e '.error.code == 1' <<<"$(rpc_q audit.run '{"domain": "nosuch"}')" >/dev/null ||
	fail "audit.run of an unknown domain is not error 1"
for p in '{"class": "NOPE"}' '{"limit": 0}' '{"limit": 1001}' '{"id": "x"}'; do
	jq -e '.error.code == -32602' <<<"$(rpc_q audit.findings "$p")" >/dev/null ||
		fail "audit.findings $p: not -32602: $(rpc_q audit.findings "$p")"
done
jq -e '.error.code == -32602' <<<"$(rpc_q audit.status '{"id": 999999}')" >/dev/null ||
	fail "audit.status of an audit never run is not -32602"
jq -e '.result.findings | length == 1' \
	<<<"$(rpc_q audit.findings '{"domain": "pv32", "class": "M2P_MISMATCH", "limit": 1}')" \
	>/dev/null || fail "audit.findings filtered by domain and class"
jq -e '.result.findings | length == 0' <<<"$(rpc_q audit.findings '{"domain": "pv64"}')" \
	>/dev/null || fail "audit.findings of pv64 is not empty"
ok "bad params are refused with -32602, an unknown domain with 1"

# ---- a balloon at rest is audited by itself ----
last=$(rpc_q audit.status '{}' | jq .result.last.id)
memctl set-target pv64 1200M >/dev/null || fail "set-target pv64"
wait_until 20 "an audit after pv64's balloon settled" eval \
	"rpc_q audit.status '{}' | jq -e --argjson l $last '.result.last.id > \$l and
	 .result.last.trigger == \"balloon\" and
	 (.result.domains[] | select(.name == \"pv64\") | .status) == \"audited\" and
	 (.result.domains[] | select(.name == \"hvm1\") | .status) == \"not audited\"'"
ok "pv64's balloon came to rest: pv64 audited by itself"

# ---- periodic audits after a reload with audit_interval = 1s ----
write_conf "audit_settle = 500ms" "audit_interval = 1s"
memctl reload >/dev/null || fail "reload with audit_interval = 1s"
wait_until 20 "a periodic audit" eval \
	"rpc_q audit.status '{}' | jq -e '.result.last.trigger == \"periodic\" and .result.interval == 1'"
ok "audit_interval: periodic audits after a reload"

# ---- who may start one ----
if [ "$(id -u)" -eq 0 ] && command -v setpriv >/dev/null && getent group nogroup >/dev/null; then
	stop_daemon
	write_conf "audit_settle = 500ms" "read_group = nogroup"
	chmod 755 "$TMP"
	start_daemon "$E2E/audit.json"
	cp "$MEMCTL" "$TMP/memctl"
	chmod 755 "$TMP/memctl"
	gid=$(getent group nogroup | cut -d: -f3)
	as_reader() { setpriv --reuid=65534 --regid="$gid" --clear-groups "$@"; }
	rc=0
	out=$(as_reader "$TMP/memctl" --socket "$SOCK" audit 2>&1) || rc=$?
	[ $rc -eq 1 ] || fail "a read_group member's audit exited $rc: $out"
	grep -qi "not permitted" <<<"$out" || fail "no 'not permitted': $out"
	out=$(printf '%s\n' '{"jsonrpc":"2.0","method":"audit.status","id":1}' |
		as_reader socat -t 2 - "UNIX-CONNECT:$SOCK")
	jq -e '.result.running == false' <<<"$out" >/dev/null ||
		fail "a read_group member cannot read audit.status: $out"
	out=$(printf '%s\n' '{"jsonrpc":"2.0","method":"audit.findings","id":1}' |
		as_reader socat -t 2 - "UNIX-CONNECT:$SOCK")
	jq -e '.result.findings == []' <<<"$out" >/dev/null ||
		fail "a read_group member cannot read audit.findings: $out"
	ok "a read_group member may read audit.status and audit.findings, not start an audit"
else
	echo "skip: the read-only caller check needs root, setpriv and group nogroup"
fi

# ---- SIGTERM while an audit runs ----
start_audit >/dev/null
stop_daemon
ok "SIGTERM during an audit: clean exit"

# ---- a settled, clean host: periodic audits skipped, five in a row at most ----
write_conf "audit_settle = 500ms" "audit_interval = 1s"
start_daemon "$E2E/audit-idle.json"
wait_until 30 "five periodic audits skipped on a settled host" eval \
	"rpc_q audit.status '{}' | jq -e '.result.skipped >= 5'"
last=$(rpc_q audit.status '{}' | jq -e '.result.last.id') || fail "no audit before the skips"
wait_until 20 "a periodic audit after five skipped" eval \
	"rpc_q audit.status '{}' | jq -e --argjson l $last '.result.last.id > \$l and
	 .result.last.trigger == \"periodic\" and .result.last.result == \"clean\"'"
out=$(rpc_q audit.status '{}')
jq -e '.result.skipped >= 5 and .result.skipped <= 20' <<<"$out" >/dev/null ||
	fail "skipped periodic audits out of bounds: $out"
ok "audit_interval on a settled host: skipped while nothing changed, still one every 6 intervals"
stop_daemon
