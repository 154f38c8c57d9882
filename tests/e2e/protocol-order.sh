#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# By-position params follow each method's field table; doc/protocol.md
# lists every signature in that order. For each documented signature
# "method {a, b?, ...}", one element too many by position makes balloond
# name its table's order ("at most N taken (a, b, ...)"), which must be the
# documented one.
. "$(dirname "$0")/lib.sh"
command -v socat >/dev/null || { echo "SKIP: socat is not installed"; exit 77; }
command -v python3 >/dev/null || { echo "SKIP: python3 is not installed"; exit 77; }

start_daemon "$E2E/basic.json"

checked=0
while IFS=' ' read -r method fields; do
	n=$(wc -w <<<"$fields")
	params=$(python3 -c 'import json, sys; print(json.dumps([None] * (int(sys.argv[1]) + 1)))' "$n")
	reply=$(rpc "{\"jsonrpc\":\"2.0\",\"method\":\"$method\",\"params\":$params,\"id\":1}")
	msg=$(jq -r '.error.message // ""' <<<"$reply")
	case $msg in
	"params: "*" given by position, at most $n taken ("*")") ;;
	*)
		# decoded by hand in the daemon (events.*): not a field table
		echo "note: $method: not a field table ($msg)"
		continue
		;;
	esac
	table=${msg#*taken (}
	table=${table%)}
	want=$(sed 's/ /, /g' <<<"$fields")
	[ "$table" = "$want" ] || fail "$method: the table takes ($table), doc/protocol.md says ($want)"
	checked=$((checked + 1))
done < <(python3 - "$top_srcdir/doc/protocol.md" <<'PY'
import re, sys
for line in open(sys.argv[1]):
    m = re.match(r'^([a-z][a-z_.]+) (\{.*?)(?:→|$)', line)
    if not m or '{' not in m.group(2):
        continue
    text = re.sub(r'"[^"]*"', '', m.group(2))
    names = re.findall(r'[a-z_]+(?=\?|[,}:])', text)
    print(m.group(1), ' '.join(names))
PY
)
[ "$checked" -ge 8 ] || fail "only $checked documented signatures checked"
ok "$checked documented signatures match the field tables' order"
stop_daemon
