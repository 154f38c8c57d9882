#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# memctl on its own, without a daemon: help for every command, usage errors
# (exit 2) caught before connecting, a missing socket (exit 3, "is balloond
# running"), and, when socat is installed, a fake server that stays silent
# (timeout, exit 3), answers garbage (exit 1) or answers with an error
# (exit 1, the message shown). Exit codes follow automake: 0 pass, 1 fail,
# 77 skip.
set -u

top_builddir=${top_builddir:-.}
MEMCTL="$top_builddir/ctl/memctl"
[ -x "$MEMCTL" ] || { echo "SKIP: $MEMCTL is not built"; exit 77; }

TMP=$(mktemp -d "${TMPDIR:-/tmp}/memctl-cli.XXXXXX")
SERVER_PID=
# shellcheck disable=SC2317 # called by the trap
cleanup() {
	if [ -n "$SERVER_PID" ]; then
		kill "$SERVER_PID" 2>/dev/null
		wait "$SERVER_PID" 2>/dev/null
	fi
	rm -rf "$TMP"
}
trap cleanup EXIT

fail() {
	echo "FAIL: $*"
	exit 1
}

ok() {
	echo "ok: $*"
}

# run ARGS...: run memctl with the environment of the test; sets $rc, $out
# (stdout) and $err (stderr).
run() {
	"$MEMCTL" "$@" >"$TMP/out" 2>"$TMP/err"
	rc=$?
	out=$(cat "$TMP/out")
	err=$(cat "$TMP/err")
}

# expect CODE WHAT ARGS...: memctl ARGS must exit with CODE.
expect() {
	local code=$1 what=$2
	shift 2
	run "$@"
	[ "$rc" -eq "$code" ] ||
		fail "$what: 'memctl $*' exited $rc, expected $code; stderr: $err"
}

NOSOCK="$TMP/no-such.sock"
unset BALLOOND_SOCKET

# ---- help ----
expect 0 "--help" --help
grep -q "^usage: memctl" <<<"$out" || fail "--help prints no usage line: $out"
for c in status list show set-target unpin hello pause resume reload help; do
	grep -q "^  $c" <<<"$out" || fail "--help does not list the command $c"
done
ok "--help exits 0 and lists every command"

expect 0 "help" help
grep -q "^usage: memctl" <<<"$out" || fail "'memctl help' prints no usage line"
ok "'memctl help' exits 0"

for c in status list ls show set-target unpin hello version pause resume reload help; do
	expect 0 "$c --help" --socket "$NOSOCK" "$c" --help
	grep -q "memctl \[options\] $c" <<<"$out" || fail "'memctl $c --help' shows no usage: $out"
	[ -n "$(sed -n '3p' <<<"$out")$(sed -n '4p' <<<"$out")" ] ||
		fail "'memctl $c --help' has no description"
	expect 0 "help $c" help "$c"
done
ok "every COMMAND --help and 'help COMMAND' exits 0 with a usage line, without connecting"

expect 0 "--version" --version
grep -q "^memctl [0-9]" <<<"$out" || fail "--version prints: $out"
ok "--version exits 0"

# ---- usage errors: exit 2, a message, and no connection attempted ----
expect 2 "no command" --socket "$NOSOCK"
grep -q "memctl:" <<<"$err" || fail "no message for a missing command"
expect 2 "unknown command" --socket "$NOSOCK" frobnicate
grep -q 'unknown command "frobnicate"' <<<"$err" || fail "unknown command message: $err"
expect 2 "help for an unknown command" help frobnicate
ok "a missing or unknown command exits 2 with a message"

expect 2 "missing argument" --socket "$NOSOCK" show
grep -q "missing argument" <<<"$err" || fail "missing argument message: $err"
expect 2 "too many arguments" --socket "$NOSOCK" list extra
grep -q "too many arguments" <<<"$err" || fail "too many arguments message: $err"
expect 2 "one argument short" --socket "$NOSOCK" set-target web1
ok "wrong argument counts exit 2 with a message"

for size in 2X 2 1.5 G "" 1GG; do
	expect 2 "bad size '$size'" --socket "$NOSOCK" set-target web1 "$size"
	grep -q "bad size" <<<"$err" || fail "bad size '$size' message: $err"
	grep -q "is balloond running" <<<"$err" && fail "bad size '$size' tried to connect first"
done
expect 2 "size too large" --socket "$NOSOCK" set-target web1 99999999T
grep -q "too large" <<<"$err" || fail "size too large message: $err"
ok "bad sizes exit 2 with a message, checked before connecting"

expect 2 "empty DOM" --socket "$NOSOCK" show ""
expect 2 "domid out of range" --socket "$NOSOCK" show 99999999999
ok "bad DOM arguments exit 2"

expect 2 "unknown option" --socket "$NOSOCK" --frobnicate list
grep -q "unknown option" <<<"$err" || fail "unknown option message: $err"
expect 2 "bad timeout" --socket "$NOSOCK" --timeout soon list
grep -q -- "--timeout" <<<"$err" || fail "bad timeout message: $err"
expect 2 "option without its argument" list --socket
ok "bad options exit 2 with a message"

# ---- cannot connect: exit 3 and the hint ----
expect 3 "missing socket" --socket "$NOSOCK" status
grep -q "cannot connect to $NOSOCK" <<<"$err" || fail "message does not name the socket: $err"
grep -q "is balloond running" <<<"$err" || fail "no 'is balloond running' hint: $err"
[ -z "$out" ] || fail "something on stdout when the connection failed: $out"
ok "a missing socket exits 3 with 'is balloond running'"

BALLOOND_SOCKET="$TMP/from-env.sock" run hello
if [ "$rc" -ne 3 ] || ! grep -q "from-env.sock" <<<"$err"; then
	fail "BALLOOND_SOCKET not used: $err"
fi
BALLOOND_SOCKET="$TMP/from-env.sock" run --socket "$TMP/from-opt.sock" hello
if [ "$rc" -ne 3 ] || ! grep -q "from-opt.sock" <<<"$err"; then
	fail "--socket does not override BALLOOND_SOCKET: $err"
fi
ok "BALLOOND_SOCKET is used and --socket overrides it"

# ---- a fake server (needs socat) ----
if ! command -v socat >/dev/null; then
	echo "note: socat is not installed; the fake-server checks were skipped"
	exit 0
fi

SOCK="$TMP/fake.sock"
# serve SHELL-COMMAND: answer one connection with the command's output
# (the command reads memctl's request on its stdin).
serve() {
	if [ -n "$SERVER_PID" ]; then
		kill "$SERVER_PID" 2>/dev/null
		wait "$SERVER_PID" 2>/dev/null
	fi
	rm -f "$SOCK"
	socat UNIX-LISTEN:"$SOCK" SYSTEM:"$1" 2>/dev/null &
	SERVER_PID=$!
	for _ in $(seq 1 50); do
		[ -S "$SOCK" ] && return 0
		sleep 0.1
	done
	fail "the fake server did not start"
}

# reply JSON: answer one connection with this line, after saving the
# request line in $TMP/request.
reply() {
	printf '%s\n' "$1" >"$TMP/reply"
	serve "head -n 1 >$TMP/request; cat $TMP/reply"
}

serve 'read -r line; sleep 5'
SECONDS=0
expect 3 "silent server" --socket "$SOCK" --timeout 1 list
grep -q "no reply" <<<"$err" || fail "timeout message: $err"
[ "$SECONDS" -le 3 ] || fail "--timeout 1 took ${SECONDS}s"
ok "a silent server: exit 3 after --timeout"

serve 'read -r line; exit 0'
expect 3 "server hangs up" --socket "$SOCK" list
grep -q "closed the connection" <<<"$err" || fail "hang-up message: $err"
ok "a server that hangs up: exit 3"

reply 'this is not json'
expect 1 "garbage reply" --socket "$SOCK" list
grep -q "malformed reply from balloond" <<<"$err" || fail "garbage message: $err"
ok "a garbage reply: exit 1, 'malformed reply'"

reply '{"jsonrpc":"2.0","result":{"domains":[{"domid":"x"}]},"id":1}'
expect 1 "reply of the wrong shape" --socket "$SOCK" list
grep -q "malformed reply from balloond" <<<"$err" || fail "wrong-shape message: $err"
ok "a reply of the wrong shape: exit 1, 'malformed reply'"

reply '{"jsonrpc":"2.0","error":{"code":1,"message":"no domain named \"web9\""},"id":1}'
expect 1 "error reply" --socket "$SOCK" show web9
grep -q 'memctl: domain.get: no domain named "web9"' <<<"$err" || fail "error message: $err"
grep -q '"domain":"web9"' "$TMP/request" || fail "request sent: $(cat "$TMP/request")"
ok "an error reply: exit 1, the daemon's message on stderr"

reply '{"jsonrpc":"2.0","error":{"code":2,"message":"outside","data":{"min":1048576,"max":4194304}},"id":1}'
expect 1 "error reply with data, --json" --socket "$SOCK" --json set-target web1 8G
grep -q '"max"' <<<"$out" || fail "--json does not print the error object: $out"
ok "--json prints the error object on stdout"

reply '{"jsonrpc":"2.0","result":{"version":"0.1.0","api":1,"backend":"sim","capabilities":[]},"id":1}'
expect 0 "hello" --socket "$SOCK" hello
if ! grep -q "0.1.0" <<<"$out" || ! grep -q "sim" <<<"$out"; then
	fail "hello output: $out"
fi
if ! grep -q '"method":"hello"' "$TMP/request" || ! grep -q '"jsonrpc":"2.0"' "$TMP/request"; then
	fail "request sent: $(cat "$TMP/request")"
fi
ok "hello: one JSON-RPC 2.0 request line, the reply shown"
exit 0
