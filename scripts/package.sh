#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Build balloond's Debian package (dpkg-buildpackage -b) from a clean copy
# of the tree in a temporary directory, check it with lintian (no errors,
# no warnings), and leave balloond_*.deb (with its .changes and .buildinfo)
# in DIR (and balloond-dbgsym_*.deb). The working tree and its parent get
# nothing.
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
		sed -n '3,/^set -e/p' "$0" | sed '$d; s/^# \{0,1\}//'
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

# The tools around the build; debian/control's Build-Depends come next.
. "$top/scripts/apt.sh"
apt_install_missing package dpkg-dev debhelper lintian git

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

# Every file the .changes names (balloond and its -dbgsym package, the
# .buildinfo), so that lintian or dput can be run on the copy too.
rm -f "$out"/balloond_*.deb "$out"/balloond-dbgsym_*.deb "$out"/balloond_*.changes "$out"/balloond_*.buildinfo
cp "$work"/balloond*_"$version"_*.deb "$changes" "$work"/balloond_"$version"_*.buildinfo "$out"/
ls "$out"/balloond_*.deb
