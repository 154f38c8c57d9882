# SPDX-License-Identifier: GPL-2.0-or-later
# Shared helpers for the end-to-end tests: start balloond on a simulated
# host with a private socket, drive memctl, check, clean up.
# Exit codes follow automake: 0 pass, 1 fail, 77 skip.
set -u

top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
top_builddir=${top_builddir:-$top_srcdir}
BALLOOND="$top_builddir/daemon/balloond"
MEMCTL="$top_builddir/ctl/memctl"
E2E="$top_srcdir/tests/e2e"

command -v jq >/dev/null || { echo "SKIP: jq is not installed"; exit 77; }

# jq 1.6 exits 0 under -e when its input holds no JSON value at all, so an
# empty reply (a daemon that closed the connection) would pass any check.
# Under -e, no output is a failure here, as jq already says for a filter
# that produces nothing (exit 4).
jq() {
	local a exit_status=false
	for a in "$@"; do
		case $a in
		--exit-status) exit_status=true ;;
		--*) ;;
		-*e*) [[ $a != *[!a-zA-Z-]* ]] && exit_status=true ;;
		esac
	done
	$exit_status || { command jq "$@"; return; }
	local out rc
	out=$(command jq "$@")
	rc=$?
	[ -z "$out" ] || printf '%s\n' "$out"
	[ "$rc" -eq 0 ] && [ -z "$out" ] && return 4
	return "$rc"
}

TMP=$(mktemp -d "${TMPDIR:-/tmp}/balloond-e2e.XXXXXX")
SOCK="$TMP/control.sock"
LOG="$TMP/balloond.log"
CONF="$TMP/balloond.conf"
DAEMON_PID=

cleanup() {
	if [ -n "$DAEMON_PID" ] && kill -0 "$DAEMON_PID" 2>/dev/null; then
		kill -TERM "$DAEMON_PID" 2>/dev/null
		wait "$DAEMON_PID" 2>/dev/null
	fi
	rm -rf "$TMP"
}
trap cleanup EXIT

fail() {
	echo "FAIL: $*"
	if [ -f "$LOG" ]; then
		echo "---- balloond log (last 40 lines) ----"
		tail -n 40 "$LOG"
	fi
	exit 1
}

ok() {
	echo "ok: $*"
}

memctl() {
	"$MEMCTL" --socket "$SOCK" "$@"
}

# write_conf LINES...: a config with fast timings for tests.
write_conf() {
	{
		echo "[balloond]"
		echo "poll_interval = 100ms"
		echo "stall_timeout = 1s"
		echo "uncooperative_timeout = 3s"
		for l in "$@"; do echo "$l"; done
	} >"$CONF"
}

# start_daemon SCENARIO [balloond args...]
start_daemon() {
	local scenario=$1
	shift
	[ -f "$CONF" ] || write_conf
	"$BALLOOND" --foreground --config "$CONF" --socket "$SOCK" --backend sim \
		--scenario "$scenario" --log-level debug "$@" >"$LOG" 2>&1 &
	DAEMON_PID=$!
	local i
	for i in $(seq 1 100); do
		if memctl hello >/dev/null 2>&1; then
			return 0
		fi
		kill -0 "$DAEMON_PID" 2>/dev/null || fail "balloond exited during start"
		sleep 0.1
	done
	fail "balloond did not answer on $SOCK within 10s"
}

stop_daemon() {
	kill -TERM "$DAEMON_PID" || fail "balloond is not running"
	local rc=0
	wait "$DAEMON_PID" || rc=$?
	DAEMON_PID=
	[ "$rc" -eq 0 ] || fail "balloond exited with $rc on SIGTERM"
}

daemon_alive() {
	kill -0 "$DAEMON_PID" 2>/dev/null || fail "balloond died"
}

# dom_json NAME: the domain's object from domain.list.
dom_json() {
	memctl --json list | jq -e --arg n "$1" '.domains[] | select(.name == $n)'
}

dom_field() {
	dom_json "$1" | jq -r ".$2"
}

# wait_until SECONDS DESCRIPTION COMMAND...: poll until COMMAND succeeds.
wait_until() {
	local limit=$1 what=$2
	shift 2
	local end=$((SECONDS + limit))
	while [ $SECONDS -le $end ]; do
		if "$@" >/dev/null 2>&1; then
			return 0
		fi
		sleep 0.2
	done
	fail "timed out after ${limit}s waiting for: $what"
}

# all_settled: every managed domain is idle, or out of the game
# (uncooperative), and no target is moving.
all_settled() {
	memctl --json list | jq -e '
		[.domains[] | select(.mode == "auto" or .mode == "pinned")
		 | select(.state != "idle" and .state != "uncooperative")] | length == 0'
}

# host_invariants: free >= pool; every managed domain's target within its
# bounds. Prints the violation.
host_invariants() {
	memctl --json status | jq -e '
		(.host.free >= .host.pool) and
		([.domains[] | select(.mode == "auto")
		  | select(.target < .dmin or .target > ([.dmax, .static_max] | min))]
		 | length == 0)'
}

# need_nobody: skip unless we are root and can run as nobody:nogroup
# (setpriv) with a python3 nobody can reach ($sys_python, the system's).
need_nobody() {
	[ "$(id -u)" -eq 0 ] || { echo "SKIP: needs root to switch users"; exit 77; }
	command -v setpriv >/dev/null || { echo "SKIP: setpriv missing"; exit 77; }
	getent group nogroup >/dev/null && getent passwd nobody >/dev/null ||
		{ echo "SKIP: no nobody/nogroup"; exit 77; }
	sys_python=/usr/bin/python3
	[ -x "$sys_python" ] || { echo "SKIP: needs /usr/bin/python3"; exit 77; }
}

# check FILTER TEXT: TEXT is JSON for which FILTER holds (jq -e alone
# passes on empty input).
check() { [ -n "$2" ] && jq -e "$1" <<<"$2" >/dev/null; }

# batch N METHOD: a JSON-RPC batch of N calls of METHOD, ids 0..N-1.
batch() {
	jq -cn --argjson n "$1" --arg m "$2" '[range($n) | {jsonrpc: "2.0", method: $m, id: .}]'
}

# rpc LINE: send one raw line to the socket, print the reply line(s).
rpc() {
	printf '%s\n' "$1" | socat -t 2 - "UNIX-CONNECT:$SOCK"
}
