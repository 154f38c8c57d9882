#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Build the libFuzzer harnesses with clang (ASan + UBSan + libFuzzer) and
# run each for a bounded time; prints "PASS: fuzz NAME (N runs, S s)" per
# harness, or FAIL with where the crashing input was kept.
# Usage: run.sh TOP_SRCDIR OUT_DIR "NAMES" SOURCES...  (make fuzz passes them)
# Environment: FUZZ_CC (clang), FUZZ_SECONDS (60), FUZZ_CFLAGS, FUZZ_LIBS.
set -uo pipefail

top=$1 out=$2 names=$3
shift 3
cc=${FUZZ_CC:-clang}
seconds=${FUZZ_SECONDS:-60}
flags=(-g -O1 -fno-omit-frame-pointer -fsanitize=fuzzer,address,undefined
	-fno-sanitize-recover=undefined -std=gnu11
	-I"$top/lib" -I"$top/sim" -I"$top/tests/fuzz")
# shellcheck disable=SC2206 # word splitting of pkg-config output is wanted
cflags=(${FUZZ_CFLAGS:-}) libs=(${FUZZ_LIBS:-})

command -v "$cc" >/dev/null || {
	echo "FAIL: fuzz: $cc not found (scripts/setup.sh installs clang and libclang-rt-14-dev)"
	exit 1
}
mkdir -p "$out/obj" "$out/bin"
objs=()
for src in "$@"; do
	case $src in *.c) ;; *) continue ;; esac
	obj=$out/obj/$(echo "$src" | tr / _).o
	if [ ! -e "$obj" ] || [ "$top/$src" -nt "$obj" ] || [ -n "$(find "$top/lib" "$top/sim" -name '*.h' -newer "$obj" 2>/dev/null)" ]; then
		# -fsanitize=fuzzer-no-link: coverage for the library, main() from the harness
		"$cc" "${flags[@]/-fsanitize=fuzzer,/-fsanitize=fuzzer-no-link,}" "${cflags[@]}" \
			-c "$top/$src" -o "$obj" || { echo "FAIL: fuzz: cannot build $src"; exit 1; }
	fi
	objs+=("$obj")
done

status=0
for name in $names; do
	bin=$out/bin/fuzz-$name
	if ! "$cc" "${flags[@]}" "${cflags[@]}" "$top/tests/fuzz/fuzz-$name.c" "${objs[@]}" \
		"${libs[@]}" -lm -o "$bin"; then
		echo "FAIL: fuzz $name (does not build)"
		status=1
		continue
	fi
	work=$out/work/$name art=$out/artifacts/$name/
	mkdir -p "$work" "$art"
	dirs=("$work" "$top/tests/fuzz/corpus/$name")
	[ -d "$top/tests/fuzz/crashes/$name" ] && dirs+=("$top/tests/fuzz/crashes/$name")
	log=$out/fuzz-$name.log
	"$bin" -max_total_time="$seconds" -timeout=25 -print_final_stats=1 \
		-artifact_prefix="$art" "${dirs[@]}" >"$log" 2>&1
	rc=$?
	runs=$(sed -n 's/^Done \([0-9]*\) runs in \([0-9]*\) second.*/\1/p' "$log" | tail -1)
	secs=$(sed -n 's/^Done \([0-9]*\) runs in \([0-9]*\) second.*/\2/p' "$log" | tail -1)
	if [ "$rc" -eq 0 ] && [ -n "$runs" ]; then
		echo "PASS: fuzz $name ($runs runs, $secs s)"
	else
		echo "FAIL: fuzz $name (exit $rc; input kept in $art; log $log)"
		grep -E 'oracle:|ERROR: |SUMMARY' "$log" | sed -n 1,5p
		status=1
	fi
done
exit $status
