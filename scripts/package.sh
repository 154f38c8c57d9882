#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Build balloond's Debian package (dpkg-buildpackage -b) from a clean copy
# of the tree in a temporary directory, check it with lintian (no errors,
# no warnings), and leave balloond_*.deb (with its .changes and .buildinfo)
# in DIR. The working tree and its parent get nothing.
# Usage: scripts/package.sh [--out DIR] [--nocheck]
#   --out DIR   where the package goes (default: build/deb)
#   --nocheck   do not run make check inside the package build (for when
#               the tests have just run, as in scripts/test.sh)
# Installs what the build needs when it is missing (root or sudo).
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
out=$top/build/deb
nocheck=0
while [ $# -gt 0 ]; do
	case $1 in
	--out)
		[ $# -ge 2 ] || { echo "package: --out needs a directory" >&2; exit 2; }
		out=$2
		shift 2
		;;
	--nocheck)
		nocheck=1
		shift
		;;
	-h | --help)
		sed -n '3,11p' "$0" | sed 's/^# \{0,1\}//'
		exit 0
		;;
	*)
		echo "package: unknown argument \"$1\" (see --help)" >&2
		exit 2
		;;
	esac
done
mkdir -p "$out"
out=$(cd "$out" && pwd)

sudo=
[ "$(id -u)" -eq 0 ] || sudo=sudo
apt_get() {
	DEBIAN_FRONTEND=noninteractive $sudo apt-get -o DPkg::Lock::Timeout=600 "$@"
}

# The tools around the build; debian/control's Build-Depends come next.
tools=(dpkg-dev debhelper lintian git)
missing=()
for p in "${tools[@]}"; do
	[ "$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null)" = "install ok installed" ] ||
		missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
	echo "package: installing ${missing[*]}"
	apt_get update -qq
	apt_get install -y -qq "${missing[@]}" >/dev/null
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/balloond-package.XXXXXX")
trap 'rm -rf "$work"' EXIT
version=$(dpkg-parsechangelog -l "$top/debian/changelog" -S Version)
upstream=${version%-*}
src=$work/balloond-$upstream

# A clean copy: the committed tree plus uncommitted changes to tracked
# files (git stash create makes a commit of them without touching the
# worktree or the stash); untracked files and build directories stay out.
mkdir -p "$src"
if git -C "$top" rev-parse --git-dir >/dev/null 2>&1; then
	rev=$(git -C "$top" stash create 2>/dev/null || true)
	git -C "$top" archive --format=tar "${rev:-HEAD}" | tar -x -C "$src"
else
	tar -C "$top" --exclude='./build' --exclude='./build-*' -cf - . | tar -x -C "$src"
fi

opts="parallel=$(nproc)"
profiles=()
apt_profiles=()
if [ $nocheck = 1 ]; then
	opts="$opts nocheck"
	profiles=(-Pnocheck)
	apt_profiles=(--build-profiles=nocheck)
fi
cd "$src"
if ! dpkg-checkbuilddeps "${profiles[@]}" >/dev/null 2>&1; then
	echo "package: installing the build dependencies (debian/control)"
	apt_get update -qq
	apt_get build-dep -y -qq "${apt_profiles[@]}" "$src" >/dev/null
fi

echo "package: dpkg-buildpackage -us -uc -b (DEB_BUILD_OPTIONS=\"$opts\") in $src"
if ! DEB_BUILD_OPTIONS=$opts dpkg-buildpackage -us -uc -b "${profiles[@]}" >"$work/build.log" 2>&1; then
	tail -n 80 "$work/build.log"
	cp "$work/build.log" "$out/build.log"
	echo "package: the build failed (log: $out/build.log)" >&2
	exit 1
fi
cp "$work/build.log" "$out/build.log"

changes=$(ls "$work"/balloond_"$version"_*.changes)
echo "package: lintian --fail-on error,warning $(basename "$changes")"
if ! lintian --fail-on error,warning "$changes"; then
	echo "package: lintian found errors or warnings" >&2
	exit 1
fi

rm -f "$out"/balloond_*.deb "$out"/balloond_*.changes "$out"/balloond_*.buildinfo
cp "$work"/balloond_"$version"_*.deb "$changes" "$work"/balloond_"$version"_*.buildinfo "$out"/
ls "$out"/balloond_*.deb
