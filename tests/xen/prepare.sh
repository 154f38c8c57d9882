#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# prepare.sh - fetch and unpack everything the real-Xen test tier needs.
#
# Idempotent. Installs the host packages (QEMU, busybox, the Xen tools that
# are copied into the dom0 initramfs), downloads the Xen hypervisor and the
# current Debian 6.1 kernel as .deb files into a cache directory, unpacks them
# there with dpkg-deb -x (nothing goes to /boot) and decompresses the
# hypervisor into an ELF that QEMU's -kernel can load.
#
# Usage: prepare.sh [--cache DIR] [--quiet]
# Env:   XEN_TEST_CACHE      cache directory (default /var/cache/balloond-xen-test)
#        XEN_TEST_KERNEL_PKG force a kernel package (e.g. linux-image-6.1.0-56-amd64-unsigned)
# Output: $CACHE/env, a shell fragment with XEN_ELF, KERNEL (bzImage),
#         VMLINUX (the same kernel as an ELF), KVER, MODDIR.
set -euo pipefail

CACHE=${XEN_TEST_CACHE:-/var/cache/balloond-xen-test}
QUIET=0
while [ $# -gt 0 ]; do
	case $1 in
	--cache) CACHE=$2; shift 2 ;;
	--quiet) QUIET=1; shift ;;
	-h|--help) sed -n '2,/^set -e/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
	*) echo "prepare.sh: unknown argument: $1" >&2; exit 2 ;;
	esac
done

say() { [ "$QUIET" = 1 ] || echo "prepare: $*" >&2; }
die() { echo "prepare: error: $*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || die "must run as root (apt-get install, dpkg-deb)"

HOST_PKGS=(qemu-system-x86 busybox-static cpio gzip xz-utils kmod
	xen-utils-4.17 xenstore-utils libgcc-s1)
APT_UPDATED=0
apt_update_once() {
	if [ "$APT_UPDATED" = 0 ]; then
		say "apt-get update"
		apt-get update -qq >/dev/null
		APT_UPDATED=1
	fi
}

# 1. Host packages.
missing=()
for p in "${HOST_PKGS[@]}"; do
	if [ "$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null)" != 'install ok installed' ]; then
		missing+=("$p")
	fi
done
if [ ${#missing[@]} -gt 0 ]; then
	apt_update_once
	say "installing ${missing[*]}"
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
		"${missing[@]}" >/dev/null
fi

# 2. Resolve the kernel package. Debian 12 ships the kernel twice: the
# linux-image-6.1.0-N-amd64 package (what linux-image-amd64 depends on)
# carries a vmlinuz with an Authenticode signature for Secure Boot, and
# linux-image-6.1.0-N-amd64-unsigned the same kernel without it. Both are
# bzImages that Xen can load; we take the unsigned one so that the image Xen
# parses is the plain build output.
resolve_kernel_pkg() {
	local signed cand
	signed=$(apt-cache depends linux-image-amd64 2>/dev/null |
		sed -n 's/^ *Depends: \(linux-image-6\.1\.[0-9]*-[0-9]*-amd64\)$/\1/p' | sed -n 1p)
	if [ -z "$signed" ]; then
		signed=$(apt-cache pkgnames linux-image-6.1.0- 2>/dev/null |
			grep -E '^linux-image-6\.1\.0-[0-9]+-amd64$' | sort -V | tail -n1)
	fi
	if [ -z "$signed" ]; then
		echo "prepare: no linux-image-6.1.*-amd64 in the apt lists" >&2
		return 1
	fi
	cand=$signed-unsigned
	if apt-cache show "$cand" >/dev/null 2>&1; then
		echo "$cand"
	else
		echo "$signed"
	fi
}

XPKG=xen-hypervisor-4.17-amd64
choose_kernel_pkg() {
	if [ -n "${XEN_TEST_KERNEL_PKG:-}" ]; then
		echo "$XEN_TEST_KERNEL_PKG"
	else
		resolve_kernel_pkg
	fi
}

# 3. Download into the cache (skip what is there already). Prints the .deb's
# path; fails if the package is unknown or the download fails.
mkdir -p "$CACHE/debs"
chmod 755 "$CACHE" "$CACHE/debs"
fetch_deb() {
	local pkg=$1 ver file
	ver=$(apt-cache policy "$pkg" 2>/dev/null | sed -n 's/^ *Candidate: //p')
	if [ -z "$ver" ] || [ "$ver" = "(none)" ]; then
		echo "prepare: package $pkg not in the apt lists" >&2
		return 1
	fi
	# .deb file names encode the epoch colon as %3a.
	file="$CACHE/debs/${pkg}_${ver//:/%3a}_amd64.deb"
	if [ ! -s "$file" ]; then
		say "downloading $pkg $ver"
		# apt's _apt user cannot write a root-only cache; apt then warns
		# that it downloads unsandboxed, which is harmless here.
		(cd "$CACHE/debs" || exit 1
			apt-get download -qq "$pkg=$ver" 2>&1 |
				grep -v 'Download is performed unsandboxed' >&2) || true
		[ -s "$file" ] || return 1
	fi
	echo "$file"
}

# Stale apt lists name versions the mirror no longer has: on any failure,
# update the lists once and resolve again.
fetch_all() {
	KPKG=$(choose_kernel_pkg) || return 1
	say "kernel package: $KPKG; hypervisor package: $XPKG"
	KDEB=$(fetch_deb "$KPKG") || return 1
	XDEB=$(fetch_deb "$XPKG") || return 1
}
if ! fetch_all; then
	[ "$APT_UPDATED" = 0 ] || die "cannot download $XPKG and a linux-image-6.1 package"
	apt_update_once
	fetch_all || die "cannot download $XPKG and a linux-image-6.1 package"
fi

# 4. Unpack (once per .deb; a stamp names the .deb that was unpacked).
unpack() {
	local deb=$1 dir=$2
	if [ "$(cat "$dir/.unpacked-from" 2>/dev/null)" != "$(basename "$deb")" ]; then
		say "unpacking $(basename "$deb")"
		rm -rf "$dir"
		mkdir -p "$dir"
		dpkg-deb -x "$deb" "$dir"
		basename "$deb" >"$dir/.unpacked-from"
	fi
}
unpack "$KDEB" "$CACHE/linux"
unpack "$XDEB" "$CACHE/xen"

KERNEL=$(find "$CACHE/linux/boot" -name 'vmlinuz-*' | sed -n 1p)
[ -n "$KERNEL" ] || die "no vmlinuz in $KDEB"
KVER=${KERNEL##*/vmlinuz-}
MODDIR=$CACHE/linux/lib/modules/$KVER
[ -d "$MODDIR" ] || die "no modules for $KVER in $KDEB"
if [ ! -s "$MODDIR/modules.dep" ]; then
	say "depmod $KVER"
	depmod -b "$CACHE/linux" "$KVER"
fi

# 5. QEMU's multiboot loader wants the hypervisor as an uncompressed ELF.
XEN_GZ=$(find "$CACHE/xen/boot" -name 'xen-*.gz' | sed -n 1p)
[ -n "$XEN_GZ" ] || die "no xen-*.gz in $XDEB"
XEN_ELF=$CACHE/xen.elf
if [ ! -s "$XEN_ELF" ] || [ "$XEN_GZ" -nt "$XEN_ELF" ]; then
	say "decompressing $(basename "$XEN_GZ")"
	zcat "$XEN_GZ" >"$XEN_ELF.tmp"
	mv "$XEN_ELF.tmp" "$XEN_ELF"
fi

# 6. The kernel as an uncompressed ELF. Xen's dom0 builder and libxenguest
# both accept it, and skipping the in-guest-builder xz decompression (slow
# under TCG) saves about 5 s per domain built.
extract_vmlinux() {
	local img=$1 out=$2 magic cmd off
	local -a kinds=("xz -dc" $'\xfd7zXZ' "zstd -qdc" $'\x28\xb5\x2f\xfd'
		"gzip -dc" $'\x1f\x8b\x08' "lz4 -dc" $'\x02\x21\x4c\x18')
	for ((i = 0; i < ${#kinds[@]}; i += 2)); do
		cmd=${kinds[i]}
		magic=${kinds[i + 1]}
		command -v "${cmd%% *}" >/dev/null || continue
		while read -r off; do
			# Trailing data after the stream makes the tool fail;
			# the ELF check below is what counts.
			tail -c +$((off + 1)) "$img" | $cmd >"$out.tmp" 2>/dev/null || true
			if [ "$(head -c4 "$out.tmp" | od -An -c | tr -d ' ')" = '177ELF' ]; then
				mv "$out.tmp" "$out"
				return 0
			fi
		done < <(LC_ALL=C grep -abo "$magic" "$img" | cut -d: -f1)
	done
	rm -f "$out.tmp"
	return 1
}
VMLINUX=$CACHE/vmlinux-$KVER
if [ ! -s "$VMLINUX" ] || [ "$KERNEL" -nt "$VMLINUX" ]; then
	say "extracting vmlinux from $(basename "$KERNEL")"
	extract_vmlinux "$KERNEL" "$VMLINUX" || {
		say "warning: could not extract an ELF vmlinux; using the bzImage"
		VMLINUX=$KERNEL
	}
fi

cat >"$CACHE/env.tmp" <<ENV
# written by tests/xen/prepare.sh
XEN_ELF=$XEN_ELF
KERNEL=$KERNEL
VMLINUX=$VMLINUX
KVER=$KVER
MODDIR=$MODDIR
KERNEL_PKG=$KPKG
ENV
mv "$CACHE/env.tmp" "$CACHE/env"
say "ready: $CACHE/env"
[ "$QUIET" = 1 ] || sed 's/^/  /' "$CACHE/env"
