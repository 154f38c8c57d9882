#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# The metrics method: the Prometheus text (exposition format 0.0.4) parses
# strictly (every sample a metric name, optional labels and a number; every
# metric one HELP and one TYPE before its samples); the values agree with
# memctl --json status; a guest-chosen name with a quote, a backslash, a
# newline and an escape character is escaped; the counters count.
. "$(dirname "$0")/lib.sh"
command -v python3 >/dev/null || { echo "SKIP: python3 is not installed"; exit 77; }

# basic.json without its timed events (a steady host to compare against),
# and web2 renamed (through XenStore, as a toolstack or a hostile actor
# could) to: we"b\2 <newline> x <ESC>
jq '.events = [{"at": 0.5, "do": "xs-write", "name": "web2", "key": "name",
		 "value": "we\"b\\2\nx\u001b"}]' "$E2E/basic.json" >"$TMP/scenario.json"
start_daemon "$TMP/scenario.json"

evil_renamed() {
	memctl --json list | jq -e '.domains[] | select(.name == "we\"b\\2\nx\u001b")'
}
wait_until 10 "web2 to be renamed" evil_renamed
wait_until 20 "every balloon to settle" all_settled

# Strict parser of the text format; prints the samples as JSON lines
# {"name", "labels", "value"} or fails naming the bad line.
cat >"$TMP/promparse.py" <<'EOF'
import json, re, sys

NAME = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
LABEL = r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\\\|\\"|\\n)*)"'
SAMPLE = re.compile(r"^(%s)(\{(?:%s)(?:,%s)*\})? (\S+)$" % (NAME, LABEL, LABEL))
TYPES = {"counter", "gauge", "histogram", "summary", "untyped"}

def bad(n, line, why):
    sys.exit("line %d: %s: %r" % (n, why, line))

def unescape(v):
    return re.sub(r"\\(.)", lambda m: {"n": "\n", "\\": "\\", '"': '"'}[m.group(1)], v)

text = sys.stdin.buffer.read().decode("utf-8")  # must be UTF-8
if not text.endswith("\n"):
    sys.exit("the text does not end with a newline")
helps, types, seen, out = {}, {}, set(), []
for n, line in enumerate(text.split("\n")[:-1], 1):
    if line.startswith("# HELP "):
        parts = line.split(" ", 3)
        if len(parts) < 4 or not re.fullmatch(NAME, parts[2]) or parts[2] in helps:
            bad(n, line, "bad or repeated HELP")
        helps[parts[2]] = parts[3]
    elif line.startswith("# TYPE "):
        parts = line.split(" ")
        if len(parts) != 4 or parts[3] not in TYPES or parts[2] in types:
            bad(n, line, "bad or repeated TYPE")
        types[parts[2]] = parts[3]
    elif line.startswith("#"):
        continue
    else:
        m = SAMPLE.match(line)
        if not m:
            bad(n, line, "not a sample")
        name, labels, value = m.group(1), m.group(2) or "", m.group(m.lastindex)
        if name not in helps or name not in types:
            bad(n, line, "sample before its HELP and TYPE")
        if types[name] == "counter" and not name.endswith("_total"):
            bad(n, line, "counter not named *_total")
        try:
            v = float(value)
        except ValueError:
            bad(n, line, "value is not a number")
        pairs = re.findall(LABEL, labels)
        lab = {k: unescape(val) for k, val in pairs}
        if len(lab) != len(pairs):
            bad(n, line, "repeated label")
        key = (name, tuple(sorted(lab.items())))
        if key in seen:
            bad(n, line, "repeated sample")
        seen.add(key)
        out.append({"name": name, "labels": lab, "value": v, "type": types[name]})
for name in helps:
    if name not in types:
        sys.exit("%s has HELP but no TYPE" % name)
for s in out:
    print(json.dumps(s))
EOF

memctl metrics --prometheus >"$TMP/metrics.txt" || fail "memctl metrics --prometheus failed"
python3 "$TMP/promparse.py" <"$TMP/metrics.txt" >"$TMP/samples.json" ||
	fail "the Prometheus text does not parse"
n=$(wc -l <"$TMP/samples.json")
[ "$n" -ge 40 ] || fail "only $n samples"
ok "the Prometheus text parses strictly: $n samples, each metric with HELP and TYPE"

# ---- hostile names are escaped ----
grep -qF 'name="we\"b\\2\nx'$'\xef\xbf\xbd''"' "$TMP/metrics.txt" ||
	fail "the renamed domain's label is not escaped: $(grep -a 'we' "$TMP/metrics.txt" | head -3)"
if grep -q $'\x1b' "$TMP/metrics.txt"; then fail "an escape character reached the text"; fi
jq -e -s 'map(select(.name == "balloond_domain_info" and .labels.name == "we\"b\\2\nx\ufffd"))
	| length == 1' "$TMP/samples.json" >/dev/null ||
	fail "the parsed label is not the domain's name"
ok "a name with quote, backslash, newline and ESC is escaped (ESC as U+FFFD)"

# ---- values agree with memctl --json status ----
memctl --json status >"$TMP/status.json" || fail "memctl --json status"
memctl --json metrics --prometheus | jq -j .text | python3 "$TMP/promparse.py" \
	>"$TMP/samples.json" || fail "metrics --json --prometheus: the text does not parse"
jq -e -s --slurpfile st "$TMP/status.json" '
	($st[0]) as $s
	| (map({key: .name, value: .value}) | from_entries) as $m
	| [("total", "free", "pool", "committed", "reserved") as $k
	   | ($m["balloond_host_\($k)_bytes"] == $s.host[$k] * 1024)]
	| all' "$TMP/samples.json" >/dev/null || fail "host sizes disagree with status"
jq -e -s --slurpfile st "$TMP/status.json" '
	($st[0]) as $s
	| (map({key: .name, value: .value}) | from_entries) as $m
	| $m.balloond_domains == $s.host.domains
	  and $m.balloond_domains_managed == $s.host.managed
	  and $m.balloond_paused == 0' "$TMP/samples.json" >/dev/null ||
	fail "host counts disagree with status"
for d in $(jq -r '.domains[].domid' "$TMP/status.json"); do
	jq -e -s --slurpfile st "$TMP/status.json" --arg id "$d" '
		($st[0].domains[] | select(.domid == ($id | tonumber))) as $dom
		| map(select(.labels.domid == $id)) as $mine
		| ($mine | map({key: .name, value: .value}) | from_entries) as $m
		| ($mine[] | select(.name == "balloond_domain_info") | .labels) as $info
		| $m.balloond_domain_actual_bytes == $dom.actual * 1024
		  and $m.balloond_domain_maxmem_bytes == $dom.maxmem * 1024
		  and $m.balloond_domain_static_max_bytes == $dom.static_max * 1024
		  and $m.balloond_domain_dynamic_min_bytes == $dom.dmin * 1024
		  and $m.balloond_domain_dynamic_max_bytes == $dom.dmax * 1024
		  and ($dom.target == null or $m.balloond_domain_target_bytes == $dom.target * 1024)
		  and $info.name == ($dom.name | gsub("\u001b"; "\ufffd")) and $info.mode == $dom.mode
		  and $info.state == $dom.state and $info.type == $dom.type' \
		"$TMP/samples.json" >/dev/null || fail "domain $d: metrics disagree with status"
done
ok "host and per-domain values agree with memctl --json status"

# The JSON format carries the same samples.
memctl --json metrics >"$TMP/metrics.json" || fail "memctl --json metrics"
jq -e '.format == "json" and ([.metrics[] | .samples | length] | add) > 0' "$TMP/metrics.json" \
	>/dev/null || fail "metrics {format: json} result: $(head -c 300 "$TMP/metrics.json")"
[ "$(jq '[.metrics[] | .samples | length] | add' "$TMP/metrics.json")" -eq \
	"$(wc -l <"$TMP/samples.json")" ] || fail "json and prometheus formats differ in samples"
ok "format json lists the same samples"

# ---- counters count ----
# metric NAME: the unlabelled value from the JSON format.
metric() {
	memctl --json metrics | jq -e --arg n "$1" '.metrics[] | select(.name == $n) | .samples[0].value'
}
c1=$(metric balloond_control_connections_total)
memctl hello >/dev/null
memctl hello >/dev/null
memctl hello >/dev/null
c2=$(metric balloond_control_connections_total)
[ $((c2 - c1)) -eq 4 ] || fail "3 hellos and a metrics call counted as $((c2 - c1)) connections"
ok "control connections counted exactly ($c1 -> $c2)"

t1=$(metric balloond_target_writes_total)
s1=$(metric balloond_steps_total)
memctl set-target web1 1G >/dev/null || fail "set-target web1 1G"
t2=$(metric balloond_target_writes_total)
s2=$(metric balloond_steps_total)
[ "$t2" -gt "$t1" ] || fail "a pin wrote no target ($t1 -> $t2)"
[ "$s2" -gt "$s1" ] || fail "steps did not advance ($s1 -> $s2)"
[ "$(metric balloond_failed_actions_total)" -eq 0 ] || fail "failed actions on a healthy host"
ok "target writes ($t1 -> $t2) and steps ($s1 -> $s2) count; no failed actions"

# ---- the table, and refusals ----
memctl metrics >"$TMP/table.txt" || fail "memctl metrics"
head -1 "$TMP/table.txt" | grep -q "^METRIC  *LABELS  *VALUE$" || fail "no table header"
grep -q "^balloond_host_total_bytes  *12G$" "$TMP/table.txt" ||
	fail "the table does not show the host total: $(grep total "$TMP/table.txt")"
if grep -q $'\x1b' "$TMP/table.txt"; then fail "an escape character reached the table"; fi
ok "memctl metrics prints a table with human sizes"

rc=0
memctl status --prometheus >/dev/null 2>&1 || rc=$?
[ "$rc" -eq 2 ] || fail "--prometheus on status exited $rc, expected 2"
reply=$(printf '%s\n' '{"jsonrpc":"2.0","method":"metrics","params":{"format":"xml"},"id":1}' |
	socat -t 2 - "UNIX-CONNECT:$SOCK" 2>/dev/null) || true
if command -v socat >/dev/null; then
	jq -e '.error.code == -32602 and (.error.message | contains("xml"))' <<<"$reply" \
		>/dev/null || fail "format xml accepted: $reply"
fi
ok "--prometheus elsewhere is a usage error; an unknown format is -32602"
daemon_alive
