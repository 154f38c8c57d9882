#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Install, build and run every test: unit tests (cmocka) and end-to-end
# tests, once in a -Werror build and once under ASan+UBSan; the scenarios;
# make distcheck; the Debian package (lintian clean); each fuzz harness for
# FUZZ_SECONDS (60) under clang with ASan+UBSan+libFuzzer; the real-Xen tier.
# Prints "N passed, N failed" at the end; exits non-zero on any failure.
set -uo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
pass=0
fail=0
status=0

run_suite() { # NAME BUILD_DIR [configure args]
	local name=$1 dir=$2
	shift 2
	echo "=== $name: build ($dir) ==="
	BUILD_DIR=$dir "$top/scripts/setup.sh" "$@" || { status=1; fail=$((fail + 1)); return; }
	echo "=== $name: make check ==="
	make -C "$dir" check -j"$(nproc)" 2>&1 | grep -E '^(PASS|FAIL|ERROR|SKIP|XFAIL|XPASS):|^# '
	local rc=${PIPESTATUS[0]}
	local p f
	p=$(awk '/^# PASS:/ {print $3; exit}' "$dir/test-suite.log" 2>/dev/null)
	f=$(awk '/^# (FAIL|ERROR|XPASS):/ {s += $3} END {print s + 0}' "$dir/test-suite.log" 2>/dev/null)
	pass=$((pass + ${p:-0}))
	fail=$((fail + ${f:-0}))
	if [ "$rc" -ne 0 ]; then
		status=1
		[ "${f:-0}" -gt 0 ] || fail=$((fail + 1))
		for log in $(grep -l -E '^(FAIL|ERROR)' $(find "$dir/tests" -name '*.log') 2>/dev/null); do
			echo "---- $log ----"
			tail -n 60 "$log"
		done
	fi
}

run_suite "default" "$top/build"
run_suite "asan+ubsan" "$top/build-san" --enable-sanitizers

# Scenarios in virtual time: every file in tests/scenarios/ must pass.
for scn in "$top"/tests/scenarios/*.json; do
	[ -e "$scn" ] || continue
	name=$(basename "$scn" .json)
	if "$top/build/daemon/balloond" --simulate "$scn" >"$top/build/scenario-$name.json"; then
		echo "PASS: scenario $name"
		pass=$((pass + 1))
	else
		echo "FAIL: scenario $name (report: build/scenario-$name.json)"
		jq -c '{violations, violation_list, event_errors, expect}' "$top/build/scenario-$name.json" 2>/dev/null
		fail=$((fail + 1))
		status=1
	fi
done

# run_step NAME LOG COMMAND...: one counted step, its output in LOG (shown
# in part when it fails).
run_step() {
	local name=$1 log=$2
	shift 2
	echo "=== $name ==="
	if "$@" >"$log" 2>&1; then
		echo "PASS: $name"
		pass=$((pass + 1))
	else
		tail -n 40 "$log"
		echo "FAIL: $name (log: $log)"
		fail=$((fail + 1))
		status=1
	fi
}

# The release tarball: make distcheck builds it, then configures, builds and
# tests from it out of tree and checks that install and uninstall are clean.
run_step "distcheck" "$top/build/distcheck.out" make -C "$top/build" distcheck
# The Debian package, built from a clean copy and checked by lintian. Its
# own make check is left out (nocheck): the same tests have just passed.
run_step "package (lintian clean)" "$top/build/package.out" \
	"$top/scripts/package.sh" --nocheck --out "$top/build/deb"

# Fuzzing: each harness of tests/fuzz/ for FUZZ_SECONDS, one counted step
# each ("PASS: fuzz NAME (N runs, S s)").
for name in jsonrpc conf units scenario engine; do
	if out=$(make -s -C "$top/build" fuzz FUZZ_NAMES="$name" FUZZ_SECONDS="${FUZZ_SECONDS:-60}" 2>&1) &&
		grep -q "^PASS: fuzz $name" <<<"$out"; then
		grep "^PASS: fuzz $name" <<<"$out"
		pass=$((pass + 1))
	else
		grep -E "^FAIL|oracle:|ERROR:|SUMMARY" <<<"$out" | sed -n 1,8p
		grep -q "^FAIL: fuzz $name" <<<"$out" || echo "FAIL: fuzz $name"
		fail=$((fail + 1))
		status=1
	fi
done

# xen_tier NAME TARGET: run a real-Xen make target, counted as one pass;
# skipped when not root or with BALLOOND_SKIP_XEN=1.
xen_tier() {
	if [ "${BALLOOND_SKIP_XEN:-0}" = 1 ]; then
		echo "SKIP: $1 (BALLOOND_SKIP_XEN=1)"
	elif [ "$(id -u)" -ne 0 ]; then
		echo "SKIP: $1 (needs root)"
	else
		echo "=== $1: make $2 ==="
		if make -C "$top/build" "$2"; then
			pass=$((pass + 1))
		else
			fail=$((fail + 1))
			status=1
		fi
	fi
}

# The real-Xen tier (root, ~2.2 GiB for QEMU, a few minutes; downloads
# Debian's Xen and kernel packages once).
xen_tier "real Xen" check-xen
# The systemd tier: the Debian package on a Debian 12 dom0 booted with
# systemd under the same Xen (builds a root file system once, ~1 GB in
# the cache).
xen_tier "real Xen under systemd" check-xen-systemd

echo
echo "$pass passed, $fail failed"
exit $status
