#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Install what balloond needs on Debian 12 (only what is missing), then
# configure and build it out of tree in build/ (or $BUILD_DIR).
# Usage: scripts/setup.sh [extra configure args...]
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD_DIR:-$top/build}

# Build: compiler, autotools, pkg-config. Libraries: libevent (event loop),
# json-c (JSON-RPC), libsystemd (sd_notify, socket activation), inih (config
# file), libxen-dev (Xen backend). Tests: cmocka (unit), jq and socat (e2e),
# clang and libclang-rt-14-dev (libFuzzer, for make fuzz).
packages=(build-essential autoconf automake pkg-config
	libevent-dev libjson-c-dev libsystemd-dev libinih-dev libxen-dev
	libcmocka-dev jq socat clang libclang-rt-14-dev)

. "$top/scripts/apt.sh"
apt_install_missing setup "${packages[@]}"

cd "$top"
if [ ! -x configure ] || [ configure.ac -nt configure ] || [ Makefile.am -nt Makefile.in ]; then
	echo "setup: autoreconf"
	autoreconf -fi >/dev/null 2>&1 || autoreconf -fi
fi
mkdir -p "$build"
cd "$build"
if [ ! -f Makefile ] || [ "$top/configure" -nt Makefile ] || [ -n "${1:-}" ]; then
	"$top/configure" --enable-werror "$@" >configure.out 2>&1 || {
		cat configure.out
		exit 1
	}
	grep -A6 '^  balloond' configure.out || true
fi
make -j"$(nproc)" >make.out 2>&1 || {
	tail -n 60 make.out
	exit 1
}
echo "setup: built $build/daemon/balloond and $build/ctl/memctl"
