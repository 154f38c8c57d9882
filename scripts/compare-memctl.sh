#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Compare two memctl binaries byte for byte: stdout, stderr and exit status
# of each invocation, against ONE balloond on the simulated demo host.
#
#   scripts/compare-memctl.sh OLD_MEMCTL [NEW_MEMCTL [BALLOOND]]
#
# NEW_MEMCTL and BALLOOND default to this tree's build/. Every invocation
# runs old, new, old again, back to back ("a sandwich"): the new output must
# equal one of the two old ones exactly, so a clock that ticks (status's
# uptime, an ETA) between two runs is no reason to mask anything. A few
# invocations print what the daemon numbers anew for each run (audit and
# reservation ids, an audit's duration); those are compared with just these
# fields masked, and the script shows that the two OLD runs differ there too.
# Commands that change something run between a setup and an undo, so each
# binary finds the same state. Prints one line per invocation and a total;
# exits 0 when all are the same, 1 otherwise, 77 when it cannot run.
# VERBOSE=1 also shows what the new memctl printed (first lines) and its exit.
# SETUP, UNDO and the masks are code and sed expressions kept for later:
# shellcheck disable=SC2016
set -u

top=$(cd "$(dirname "$0")/.." && pwd)
OLD=${1:?usage: $0 OLD_MEMCTL [NEW_MEMCTL [BALLOOND]]}
NEW=${2:-$top/build/ctl/memctl}
BALLOOND=${3:-$top/build/daemon/balloond}
for b in "$OLD" "$NEW" "$BALLOOND"; do
	[ -x "$b" ] || { echo "SKIP: $b is not an executable"; exit 77; }
done
command -v jq >/dev/null || { echo "SKIP: jq is not installed"; exit 77; }

TMP=$(mktemp -d "${TMPDIR:-/tmp}/cmpctl.XXXXXX")
chmod 755 "$TMP" # the "not permitted" checks run memctl as nobody
SOCK="$TMP/x.sock"
DAEMON_PID=
# shellcheck disable=SC2317 # called by the trap
cleanup() {
	if [ -n "$DAEMON_PID" ]; then
		kill -TERM "$DAEMON_PID" 2>/dev/null
		wait "$DAEMON_PID" 2>/dev/null
	fi
	rm -rf "$TMP"
}
trap cleanup EXIT
unset BALLOOND_SOCKET

total=0 same=0 differ=0 RID=
# RUNAS: empty, or a command prefix such as "runuser -u nobody --".
RUNAS=()

# one BIN TAG ARGS...: run BIN with ARGS into $TMP/TAG.{out,err,rc}.
one() {
	local bin=$1 tag=$2 a
	local -a args=()
	shift 2
	for a in "$@"; do # a literal '$RID' is the id the setup just made
		[ "$a" = '$RID' ] && a=$RID
		args+=("$a")
	done
	"${RUNAS[@]}" "$bin" "${args[@]}" >"$TMP/$tag.out" 2>"$TMP/$tag.err" </dev/null
	echo $? >"$TMP/$tag.rc"
}

# equal A B: the runs tagged A and B printed and exited the same.
equal() {
	cmp -s "$TMP/$1.out" "$TMP/$2.out" && cmp -s "$TMP/$1.err" "$TMP/$2.err" &&
		cmp -s "$TMP/$1.rc" "$TMP/$2.rc"
}

show_diff() {
	local f
	for f in out err rc; do
		diff -u --label "old.$f" --label "new.$f" "$TMP/$1.$f" "$TMP/$2.$f" | sed 's/^/    /'
	done
}

verdict() { # verdict OK LABEL [NOTE]
	total=$((total + 1))
	if [ -n "${VERBOSE:-}" ] && [ -f "$TMP/n.rc" ]; then # what the new one said
		echo "       exit $(cat "$TMP/n.rc"); $(head -c 300 "$TMP/n.err" | head -n 2 | tr '\n' '|') $(head -n 2 "$TMP/n.out" | tr '\n' '|')"
	fi
	if [ "$1" = 1 ]; then
		same=$((same + 1))
		echo "same   memctl $2${3:+  ($3)}"
	else
		differ=$((differ + 1))
		echo "DIFFER memctl $2"
	fi
}

SETUP=: UNDO=:

# runs ARGS...: old, new, old, each between the setup and the undo.
runs() {
	local tag bin
	for tag in o1 n o2; do
		bin=$OLD
		[ "$tag" = n ] && bin=$NEW
		eval "$SETUP"
		one "$bin" "$tag" "$@"
		eval "$UNDO"
	done
}

# sandwich ARGS...: old, new, old; new must equal either old run.
sandwich() {
	runs "$@"
	if equal o1 n || equal o2 n; then
		verdict 1 "$*"
	else
		verdict 0 "$*"
		show_diff o1 n
	fi
}

# masked SEDEXPR ARGS...: like sandwich, with SEDEXPR applied to stdout and
# stderr of all three runs; says whether the old runs differ unmasked.
masked() {
	local expr=$1 t f note
	shift
	runs "$@"
	if equal o1 o2; then note="old runs identical unmasked"; else note="old runs differ unmasked too"; fi
	for t in o1 n o2; do
		for f in out err; do
			sed -E "$expr" "$TMP/$t.$f" >"$TMP/m$t.$f"
		done
		cp "$TMP/$t.rc" "$TMP/m$t.rc"
	done
	if equal mo1 mn || equal mo2 mn; then
		verdict 1 "$*" "masked; $note"
	else
		verdict 0 "$*"
		show_diff mo1 mn
	fi
}

S=(--socket "$SOCK")
DOMS=(status list show explain plan set-target set-policy unpin hello pause resume reload
	reserve reservations transfer cancel events audit metrics help)

echo "== without a daemon: help, usage errors, cannot connect"
sandwich
sandwich --help
sandwich -h
sandwich --version
sandwich -V
sandwich help
sandwich help ls
sandwich help version
sandwich help bogus
sandwich help status list
for c in "${DOMS[@]}"; do
	sandwich "$c" --help
	sandwich help "$c"
done
sandwich ls --help
sandwich version -h
sandwich bogus
sandwich --bogus status
sandwich -x status
sandwich --socket
sandwich status --timeout
sandwich --timeout abc status
sandwich --timeout -1 status
sandwich --timeout 99999999 status
sandwich --ttl 0 reserve 1G
sandwich --ttl abc reserve 1G
sandwich --ttl 25h reserve 1G
sandwich --prometheus status
sandwich "${S[@]}" show
sandwich "${S[@]}" show a b
sandwich "${S[@]}" status extra
sandwich "${S[@]}" set-target web1
sandwich "${S[@]}" set-target web1 abc
sandwich "${S[@]}" set-target web1 1.5
sandwich "${S[@]}" set-target web1 99999999999T
sandwich "${S[@]}" set-target "" 1G
sandwich "${S[@]}" set-target 99999999999 1G
sandwich "${S[@]}" set-policy web1
sandwich "${S[@]}" set-policy web1 foo
sandwich "${S[@]}" set-policy web1 weight=0
sandwich "${S[@]}" set-policy web1 weight=10001
sandwich "${S[@]}" set-policy web1 dmin=abc
sandwich "${S[@]}" set-policy web1 a b c d e f
sandwich "${S[@]}" reserve
sandwich "${S[@]}" reserve 0
sandwich "${S[@]}" reserve abc
sandwich "${S[@]}" reserve 2G..1G
sandwich "${S[@]}" cancel abc
sandwich "${S[@]}" cancel 0
sandwich "${S[@]}" transfer x web1
sandwich "${S[@]}" transfer 1 ""
sandwich "${S[@]}" audit a b
sandwich "${S[@]}" events a b c d e f g h i
sandwich --socket "" status
sandwich --socket "$TMP/$(printf 'x%.0s' $(seq 1 120))" status
sandwich --socket "$TMP/none.sock" status
sandwich --socket "$TMP/none.sock" --json hello
sandwich --socket /nonexistent/dir/x.sock list
BALLOOND_SOCKET="$TMP/env.sock" sandwich hello

# ---- one daemon on the simulated demo host ----
cat >"$TMP/balloond.conf" <<EOF
[balloond]
poll_interval = 100ms
stall_timeout = 1s
uncooperative_timeout = 3s
reserve_timeout = 2s
read_group = nogroup
EOF
"$BALLOOND" -f --backend sim --scenario "$top/conf/demo.json" --config "$TMP/balloond.conf" \
	--socket "$SOCK" >"$TMP/balloond.log" 2>&1 &
DAEMON_PID=$!
settled() {
	"$OLD" "${S[@]}" --json list 2>/dev/null | jq -e '
		[.domains[] | select(.mode == "auto" or .mode == "pinned")
		 | select(.state != "idle" and .state != "uncooperative")] | length == 0' \
		>/dev/null
}
# Settled: every managed domain idle (or uncooperative) twice, a second apart;
# batch gives memory back slowly, so this takes about a minute.
for _ in $(seq 1 1200); do
	settled && sleep 1 && settled && break
	kill -0 "$DAEMON_PID" 2>/dev/null || { echo "FAIL: balloond exited"; cat "$TMP/balloond.log"; exit 1; }
	sleep 0.1
done
settled || { echo "FAIL: the demo host did not settle within 120s"; exit 1; }

# Masks, each for fields that change between two runs of the same binary
# (masked() shows that the old runs do differ unmasked):
# JSON times in milliseconds (uptime, a decision's age, an audit's clock);
JSON_TIMES='s/"(uptime|ago|age|eta|started|finished|duration|elapsed|loop_time|time|expires_in|answer_in)":[-0-9.e+]+/"\1":T/g; s/"rate":[0-9]+\.[0-9]+/"rate":R/g'
# every memctl run is a new control connection, and uptime is in ms;
METRICS='s/(balloond_uptime_seconds[ ]+)[0-9.]+/\1T/; s/(balloond_control_connections_total[ ]+)[0-9]+/\1N/;
	s/(balloond_uptime_seconds[^"]*"value":)[0-9.]+/\1T/'
# the AGO column of a domain's recent decisions (each row ticks on its own);
AGO='s/^AGO +/AGO /; s/^ *[0-9]+[smh][0-9smh]* +/AGE /'
# each audit gets the next id and takes its own time.
AUDIT='s/audit [0-9]+/audit N/g; s/"id":[0-9]+/"id":N/g; s/in [0-9]+\.[0-9]{3}s/in D.DDDs/'

echo "== balloond running, settled"
sandwich "${S[@]}" hello
sandwich "${S[@]}" version
sandwich "${S[@]}" --json hello
sandwich "${S[@]}" status
masked "$JSON_TIMES" "${S[@]}" --json status
sandwich "${S[@]}" list
sandwich "${S[@]}" ls
sandwich "${S[@]}" list --json
for d in web1 web2 db batch legacy 0 1; do
	masked "$AGO" "${S[@]}" show "$d"
	masked "$AGO" "${S[@]}" explain "$d"
done
masked "$JSON_TIMES" "${S[@]}" --json show db
masked "$JSON_TIMES" "${S[@]}" --json explain web2
sandwich "${S[@]}" show nosuch
sandwich "${S[@]}" show 999
sandwich "${S[@]}" --json show nosuch
sandwich "${S[@]}" explain nosuch
sandwich "${S[@]}" plan
sandwich "${S[@]}" --json plan
sandwich "${S[@]}" reservations
sandwich "${S[@]}" --json reservations
# metrics --json: the uptime sample's value is on the line after its labels
masked "$METRICS" "${S[@]}" metrics
masked "$METRICS" "${S[@]}" metrics --prometheus
masked 's/(uptime_seconds [0-9.]+|connections_total [0-9]+)/X/g' "${S[@]}" --json metrics --prometheus
sandwich "${S[@]}" reload
sandwich "${S[@]}" --json reload
sandwich "${S[@]}" cancel 999
sandwich "${S[@]}" --json cancel 999
sandwich "${S[@]}" transfer 999 web1
sandwich "${S[@]}" set-target web1 100M
sandwich "${S[@]}" --json set-target web1 100M
sandwich "${S[@]}" set-target web1 100T
sandwich "${S[@]}" set-target nosuch 1G
sandwich "${S[@]}" set-policy web1 mode=bogus
sandwich "${S[@]}" --json set-policy web1 mode=bogus
sandwich "${S[@]}" set-policy nosuch weight=5
sandwich "${S[@]}" set-policy web1 dmin=100T
sandwich "${S[@]}" unpin nosuch
sandwich "${S[@]}" events bogus
sandwich "${S[@]}" --json events bogus
sandwich "${S[@]}" audit nosuch
sandwich "${S[@]}" --timeout 0.001 status
UNDO='sleep 0.5' # let the audit end before the next run
masked "$AUDIT" "${S[@]}" audit
masked "$AUDIT" "${S[@]}" audit web1
masked "$AUDIT" "${S[@]}" audit legacy
masked "$AUDIT" "${S[@]}" audit db
masked "$AUDIT; $JSON_TIMES" "${S[@]}" --json audit
masked "$AUDIT; $JSON_TIMES" "${S[@]}" --json audit web2
masked "$AUDIT" "${S[@]}" audit --no-wait
masked "$AUDIT" "${S[@]}" --json audit --no-wait
UNDO=:

echo "== as nobody (a member of read_group): reads allowed, changes not permitted"
RUNAS=(runuser -u nobody --)
sandwich "${S[@]}" hello
sandwich "${S[@]}" list
sandwich "${S[@]}" set-target web1 2G
sandwich "${S[@]}" --json set-target web1 2G
sandwich "${S[@]}" unpin web1
sandwich "${S[@]}" pause
sandwich "${S[@]}" reserve 1G
sandwich "${S[@]}" audit
RUNAS=()

echo "== events while something happens (old and new listen at the same time)"
for mode in "" --json; do
	"$OLD" "${S[@]}" $mode events >"$TMP/eo.out" 2>"$TMP/eo.err" &
	po=$!
	"$NEW" "${S[@]}" $mode events >"$TMP/en.out" 2>"$TMP/en.err" &
	pn=$!
	sleep 0.5
	"$OLD" "${S[@]}" set-target web1 2G >/dev/null
	sleep 1
	"$OLD" "${S[@]}" unpin web1 >/dev/null
	sleep 1
	kill -TERM "$po" "$pn"
	wait "$po"
	echo $? >"$TMP/eo.rc"
	wait "$pn"
	echo $? >"$TMP/en.rc"
	if [ -s "$TMP/eo.out" ] && equal eo en; then
		verdict 1 "$mode events" "$(wc -l <"$TMP/eo.out") lines, killed: exit $(cat "$TMP/eo.rc")"
	else
		verdict 0 "$mode events (or no event seen)"
		show_diff eo en
	fi
done

echo "== paused (nothing moves); changes between a setup and an undo"
UNDO='"$OLD" "${S[@]}" pause >/dev/null 2>&1'
sandwich "${S[@]}" pause
sandwich "${S[@]}" --json pause
sandwich "${S[@]}" resume
sandwich "${S[@]}" --json resume
UNDO=:
sandwich "${S[@]}" status
sandwich "${S[@]}" list
sandwich "${S[@]}" plan
sandwich "${S[@]}" --json plan
UNDO='"$OLD" "${S[@]}" unpin web1 >/dev/null 2>&1'
sandwich "${S[@]}" set-target web1 2G
sandwich "${S[@]}" --json set-target web1 1536M
sandwich "${S[@]}" set-target 2 3G
sandwich "${S[@]}" set-target legacy 1G
SETUP='"$OLD" "${S[@]}" set-target web1 2G >/dev/null 2>&1'
sandwich "${S[@]}" unpin web1
masked "$JSON_TIMES" "${S[@]}" --json unpin 1
sandwich "${S[@]}" plan
masked "$AGO" "${S[@]}" show web1
masked "$AGO" "${S[@]}" explain web1
SETUP=:
# set-policy prints the domain's recent decisions: each run (old or new)
# adds "policy set by admin" ones, so the table's rows are masked; show and
# explain above compare the same table unmasked.
DECISIONS='/^ *[0-9]+[smh]/d'
UNDO='"$OLD" "${S[@]}" set-policy db reset >/dev/null 2>&1'
masked "$DECISIONS" "${S[@]}" set-policy db weight=300
masked "$DECISIONS" "${S[@]}" set-policy db reset mode=frozen
masked "$DECISIONS" "${S[@]}" set-policy 3 dmin=3G dmax=5G weight=150 mode=auto
masked 's/"(ago|old|new)":[-0-9.e+]+/"\1":X/g; /"reason":"policy set by admin"/d' "${S[@]}" --json set-policy db dmax=5G
UNDO=:
# reservations: each gets the next id; "IN" counts down.
RESV='s/reservation [0-9]+/reservation N/g; s/"id":[0-9]+/"id":N/g; s/transfer [0-9]+ DOM/transfer N DOM/; s/"(expires_in|answer_in|created|expires)":[-0-9.e+]+/"\1":T/g'
UNDO='for i in $("$OLD" "${S[@]}" --json reservations | jq -r ".reservations[] | select(.state == \"pending\" or .state == \"granted\") | .id"); do "$OLD" "${S[@]}" cancel "$i" >/dev/null; done'
masked "$RESV" "${S[@]}" reserve 256M --no-wait
masked "$RESV; $JSON_TIMES" "${S[@]}" --json reserve 512M --no-wait
masked "$RESV" "${S[@]}" reserve 128M..1G --no-wait --ttl 10m
masked "$RESV" "${S[@]}" reserve 64M
masked "$RESV" "${S[@]}" reserve 1000T
UNDO=:
SETUP='RID=$("$OLD" "${S[@]}" --json reserve 64M --no-wait | jq -r .id)'
masked "$RESV" "${S[@]}" cancel '$RID'
masked "$RESV; $JSON_TIMES" "${S[@]}" --json cancel '$RID'
SETUP=:
sandwich "${S[@]}" reservations
masked "$JSON_TIMES" "${S[@]}" --json reservations

echo "== running again: reservations that are granted, and a transfer"
"$OLD" "${S[@]}" resume >/dev/null
settle() {
	for _ in $(seq 1 100); do
		settled && return 0
		sleep 0.1
	done
}
settle
CANCEL_ALL='for i in $("$OLD" "${S[@]}" --json reservations | jq -r ".reservations[] | select(.state == \"pending\" or .state == \"granted\" or .state == \"transferred\") | .id"); do "$OLD" "${S[@]}" cancel "$i" >/dev/null; done'
UNDO="$CANCEL_ALL; settle"
# small enough for the free memory beyond the pool: granted at once
masked "$RESV" "${S[@]}" reserve 8M
masked "$RESV; $JSON_TIMES" "${S[@]}" --json reserve 4M
masked "$RESV" "${S[@]}" reserve 64M
SETUP='RID=$("$OLD" "${S[@]}" --json reserve 8M | jq -r .id)'
masked "$RESV" "${S[@]}" transfer '$RID' 77
masked "$RESV; $JSON_TIMES" "${S[@]}" --json transfer '$RID' 78
SETUP=: UNDO=:

if ! kill -0 "$DAEMON_PID" 2>/dev/null; then
	echo "FAIL: balloond died during the comparison"
	exit 1
fi
echo "total $total invocations: $same same, $differ differ"
[ "$differ" -eq 0 ]
