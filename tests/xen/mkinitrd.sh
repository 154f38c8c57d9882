#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# mkinitrd.sh - build the dom0 and guest initramfs images for the Xen tier.
#
# The guest image is busybox and the xenstore-* tools plus an /init that
# prints a readiness marker on hvc0, writes data/xentest-ready to XenStore and
# then idles, reporting balloon changes. The dom0 image is busybox,
# the Xen tools with their shared libraries, the Xen kernel modules, the guest
# kernel + guest image + xl configs under /guests, the test library under
# /xentest and the caller's test files under /test; its /init starts the Xen
# services, runs /test/run and prints the result as a marker.
#
# Usage: mkinitrd.sh [options]
#   --cache DIR    prepare.sh cache (default $XEN_TEST_CACHE or
#                  /var/cache/balloond-xen-test)
#   --out DIR      where dom0.cpio.gz and guest.cpio.gz go (default CACHE/build)
#   --test FILE    copy FILE to /test/run (the test entry point)
#   --extra DIR    copy DIR's contents into /test (repeatable; later wins)
#   --bin FILE     copy a host executable to /usr/local/bin (repeatable)
#   --guest-extra DIR  copy DIR's contents into /guest-test in the guest
#                  image (repeatable); the guest's /init starts
#                  /guest-test/run in the background once it is ready
#   --guest-kernel FILE  kernel for the guests (default: VMLINUX from
#                  prepare.sh, the uncompressed ELF; KERNEL, the bzImage, also
#                  works but each xl create then spends ~5 s decompressing it)
#   --rootfs-boot  instead of dom0.cpio.gz, build rootboot.cpio.gz: an
#                  initramfs that mounts the ext4 root on /dev/vda (the
#                  mkrootfs.sh image), copies the --extra files, the guest
#                  image and dom0-lib.sh into its /xentest and starts its
#                  /sbin/init (systemd); see rootfs-init.sh
# ELF executables and shared objects in /test and every --bin get their ldd
# closure copied too. Needs prepare.sh to have run.
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
CACHE=${XEN_TEST_CACHE:-/var/cache/balloond-xen-test}
OUT=
TEST_FILE=
EXTRAS=()
BINS=()
GUEST_KERNEL=
GUEST_EXTRAS=()
ROOTFS_BOOT=0
while [ $# -gt 0 ]; do
	case $1 in
	--cache) CACHE=$2; shift 2 ;;
	--out) OUT=$2; shift 2 ;;
	--test) TEST_FILE=$2; shift 2 ;;
	--extra) EXTRAS+=("$2"); shift 2 ;;
	--bin) BINS+=("$2"); shift 2 ;;
	--guest-kernel) GUEST_KERNEL=$2; shift 2 ;;
	--guest-extra) GUEST_EXTRAS+=("$2"); shift 2 ;;
	--rootfs-boot) ROOTFS_BOOT=1; shift ;;
	-h|--help) sed -n '2,/^set -e/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
	*) echo "mkinitrd.sh: unknown argument: $1" >&2; exit 2 ;;
	esac
done
OUT=${OUT:-$CACHE/build}

die() { echo "mkinitrd: error: $*" >&2; exit 1; }
[ -r "$CACHE/env" ] || die "$CACHE/env missing: run prepare.sh first"
# shellcheck disable=SC1091
. "$CACHE/env"
GUEST_KERNEL=${GUEST_KERNEL:-${VMLINUX:-$KERNEL}}
[ -r "$GUEST_KERNEL" ] || die "kernel $GUEST_KERNEL missing: run prepare.sh"
[ -s "$MODDIR/modules.dep" ] || die "$MODDIR/modules.dep missing: run prepare.sh"
BUSYBOX=/bin/busybox
if [ ! -x "$BUSYBOX" ] || ldd "$BUSYBOX" >/dev/null 2>&1; then
	die "$BUSYBOX is not the static busybox (apt-get install busybox-static)"
fi

XENBIN=/usr/lib/xen-4.17/bin
# Xen tools for dom0: the services, xl and its helpers, and diagnostics that
# tests may want (xen-mfndump for M2P/P2M, xentop for tot_pages in KiB).
XEN_TOOLS=(xl xenstored xen-init-dom0 xenconsoled xenconsole xen-mfndump
	libxl-save-helper xenstore-control xentop xen-lowmemd xen-diag lsevtchn
	readnotes xenpm)
XENSTORE_CMDS=(xenstore-chmod xenstore-exists xenstore-list xenstore-ls
	xenstore-read xenstore-rm xenstore-watch xenstore-write)
MODULES=(xen-evtchn xen-privcmd xenfs xen-gntdev xen-gntalloc)

WORK=$(mktemp -d "${TMPDIR:-/tmp}/xentest-initrd.XXXXXX")
trap 'rm -rf "$WORK"' EXIT

# Merged-/usr skeleton like Debian 12.
skeleton() {
	local root=$1
	mkdir -p "$root"/usr/bin "$root"/usr/sbin "$root"/usr/lib/x86_64-linux-gnu \
		"$root"/usr/lib64 "$root"/etc "$root"/proc "$root"/sys "$root"/dev \
		"$root"/tmp "$root"/run "$root"/var "$root"/root
	ln -s usr/bin "$root/bin"
	ln -s usr/sbin "$root/sbin"
	ln -s usr/lib "$root/lib"
	ln -s usr/lib64 "$root/lib64"
	ln -s ../run "$root/var/run"
	cp "$BUSYBOX" "$root/usr/bin/busybox"
	local applet
	while read -r applet; do
		applet=usr/${applet#usr/}
		[ -e "$root/$applet" ] || [ -L "$root/$applet" ] ||
			ln -s /usr/bin/busybox "$root/$applet"
	done < <("$BUSYBOX" --list-full)
}

# Map a host path to the merged-/usr path inside the image.
usr_path() {
	case $1 in
	/usr/*) echo "$1" ;;
	/*) echo "/usr$1" ;;
	esac
}

is_elf() { [ "$(head -c4 "$1" 2>/dev/null | od -An -c | tr -d ' ')" = '177ELF' ]; }

# Copy the shared libraries (and the ELF interpreter) FILE needs into ROOT.
copy_closure() {
	local root=$1 file=$2 line lib dest out
	is_elf "$file" || return 0
	if ! out=$(ldd "$file" 2>&1); then
		case $out in
		*"not a dynamic executable"*|*"statically linked"*) return 0 ;;
		*) die "ldd $file: $out" ;;
		esac
	fi
	case $out in *"not found"*) die "ldd $file: missing libraries:
$out" ;; esac
	while read -r line; do
		case $line in
		*"=> /"*) lib=${line#*=> }; lib=${lib%% (*} ;;
		/*) lib=${line%% (*} ;;
		*) continue ;;
		esac
		# Keep the name ldd shows (the soname), the host's directory
		# resolved, the content dereferenced.
		dest=$(usr_path "$(readlink -f "$(dirname "$lib")")/$(basename "$lib")")
		if [ ! -e "$root$dest" ]; then
			mkdir -p "$root$(dirname "$dest")"
			cp -L "$lib" "$root$dest"
		fi
	done <<<"$out"
}

# Copy the ELF files under DIR (inside ROOT) their ldd closure.
copy_tree_closure() {
	local root=$1 dir=$2 f
	while IFS= read -r -d '' f; do
		copy_closure "$root" "$f"
	done < <(find "$dir" -type f -print0)
}

# Install the xenstore-* multi-call tool into ROOT.
copy_xenstore_tools() {
	local root=$1 t
	copy_bin "$root" /usr/bin/xenstore /usr/bin/xenstore
	for t in "${XENSTORE_CMDS[@]}"; do
		ln -sf xenstore "$root/usr/bin/$t"
	done
}

# Copy a host executable to DEST inside ROOT with its closure.
copy_bin() {
	local root=$1 src=$2 dest=$3
	[ -r "$src" ] || die "$src not found"
	mkdir -p "$root$(dirname "$dest")"
	cp -L "$src" "$root$dest"
	chmod 755 "$root$dest"
	copy_closure "$root" "$src"
}

# Emit module paths (relative to MODDIR) in load order: dependencies first.
declare -A MOD_SEEN=()
module_order() {
	local rel=$1 deps dep
	[ -z "${MOD_SEEN[$rel]:-}" ] || return 0
	MOD_SEEN[$rel]=1
	deps=$(awk -v m="$rel:" '$1 == m { $1 = ""; print }' "$MODDIR/modules.dep")
	for dep in $deps; do
		module_order "$dep"
	done
	echo "$rel"
}

# copy_modules ROOT MODULE...: copy the modules and their dependencies
# (uncompressed) into ROOT and list them in load order in
# ROOT/etc/xentest/modules.
copy_modules() {
	local root=$1 m rel src dest
	shift
	mkdir -p "$root/etc/xentest" "$root/usr/lib/modules/$KVER"
	: >"$root/etc/xentest/modules"
	MOD_SEEN=()
	for m in "$@"; do
		rel=$(awk -F: -v m="$m" '{ n = $1; sub(/.*\//, "", n); sub(/\.ko.*$/, "", n);
			gsub(/_/, "-", n); mm = m; gsub(/_/, "-", mm);
			if (n == mm) { print $1; exit } }' "$MODDIR/modules.dep")
		[ -n "$rel" ] || die "module $m not in $MODDIR/modules.dep"
		module_order "$rel"
	done >"$WORK/modorder"
	while read -r rel; do
		src=$MODDIR/$rel
		dest=${rel%.ko*}.ko
		mkdir -p "$root/usr/lib/modules/$KVER/$(dirname "$dest")"
		case $rel in
		*.ko) cp "$src" "$root/usr/lib/modules/$KVER/$dest" ;;
		*.ko.xz) xz -dc "$src" >"$root/usr/lib/modules/$KVER/$dest" ;;
		*.ko.zst) zstd -qdc "$src" >"$root/usr/lib/modules/$KVER/$dest" ;;
		*.ko.gz) gzip -dc "$src" >"$root/usr/lib/modules/$KVER/$dest" ;;
		*) die "unknown module format: $rel" ;;
		esac
		echo "$dest" >>"$root/etc/xentest/modules"
	done <"$WORK/modorder"
	echo "$KVER" >"$root/etc/xentest/kver"
}

# copy_extras DEST: copy every --extra directory's contents into DEST.
copy_extras() {
	local e
	for e in "${EXTRAS[@]}"; do
		[ -d "$e" ] || die "--extra $e: not a directory"
		cp -a "$e/." "$1/"
	done
}

build_image() {
	local root=$1 out=$2
	(cd "$root" && find . -mindepth 1 | LC_ALL=C sort |
		cpio --quiet -o -H newc -R 0:0) | gzip -1 >"$out.tmp"
	mv "$out.tmp" "$out"
}

mkdir -p "$OUT"

# ---------------------------------------------------------------- guest image
G=$WORK/guest
skeleton "$G"
cp "$HERE/guest-init.sh" "$G/init"
chmod 755 "$G/init"
copy_xenstore_tools "$G"
if [ ${#GUEST_EXTRAS[@]} -gt 0 ]; then
	mkdir -p "$G/guest-test"
	for e in "${GUEST_EXTRAS[@]}"; do
		[ -d "$e" ] || die "--guest-extra $e: not a directory"
		cp -a "$e/." "$G/guest-test/"
	done
	copy_tree_closure "$G" "$G/guest-test"
fi
build_image "$G" "$OUT/guest.cpio.gz"

# ------------------------------------------- boot image of a disk root file system
# (--rootfs-boot): busybox, the modules that reach an ext4 root on a virtio
# disk, rootfs-init.sh as /init, and the --extra files as /payload, which
# /init copies into the root (/xentest) before it switches to it.
if [ "$ROOTFS_BOOT" = 1 ]; then
	R=$WORK/rootboot
	skeleton "$R"
	copy_modules "$R" virtio_pci virtio_blk crc32c_generic ext4
	cp "$HERE/rootfs-init.sh" "$R/init"
	chmod 755 "$R/init"
	mkdir -p "$R/payload"
	copy_extras "$R/payload"
	cp "$HERE/dom0-lib.sh" "$R/payload/lib.sh"
	cp "$OUT/guest.cpio.gz" "$R/payload/guest.cpio.gz"
	build_image "$R" "$OUT/rootboot.cpio.gz"
	echo "mkinitrd: $OUT/rootboot.cpio.gz ($(du -k "$OUT/rootboot.cpio.gz" | cut -f1) KiB)," \
		"$OUT/guest.cpio.gz ($(du -k "$OUT/guest.cpio.gz" | cut -f1) KiB)"
	exit 0
fi

# ----------------------------------------------------------------- dom0 image
D=$WORK/dom0
skeleton "$D"
for t in "${XEN_TOOLS[@]}"; do
	copy_bin "$D" "$XENBIN/$t" "$XENBIN/$t"
	ln -sf "$XENBIN/$t" "$D/usr/sbin/$t"
done
copy_xenstore_tools "$D"
# xl needs libgcc_s for pthread_cancel (glibc dlopens it); ldd cannot see that.
# awk reads ldconfig's whole list (no exit at the first match): a reader that
# quits early kills ldconfig with SIGPIPE, and pipefail makes that exit 141.
gcc_s=$(ldconfig -p | awk '/libgcc_s\.so\.1 .*x86-64/ && !f { f = $NF } END { print f }')
[ -n "$gcc_s" ] || die "libgcc_s.so.1 not found (apt-get install libgcc-s1)"
copy_bin "$D" "$gcc_s" "/usr/lib/x86_64-linux-gnu/libgcc_s.so.1"
chmod 644 "$D/usr/lib/x86_64-linux-gnu/libgcc_s.so.1"

# Kernel modules, in load order.
copy_modules "$D" "${MODULES[@]}"

# xl configuration: dom0 memory is fixed on the Xen command line.
mkdir -p "$D/etc/xen"
cat >"$D/etc/xen/xl.conf" <<'EOF'
autoballoon="off"
EOF

# Guests: kernel, image and one xl config per guest.
mkdir -p "$D/guests"
cp "$GUEST_KERNEL" "$D/guests/kernel"
cp "$OUT/guest.cpio.gz" "$D/guests/guest.cpio.gz"
guest_cfg() {
	local name=$1 type=$2 mem=$3 maxmem=$4
	{
		echo "# xl config for test guest $name (tests/xen/mkinitrd.sh)"
		echo "name = \"$name\""
		echo "type = \"$type\""
		echo "kernel = \"/guests/kernel\""
		echo "ramdisk = \"/guests/guest.cpio.gz\""
		echo "extra = \"console=hvc0 rdinit=/init quiet xenguest=$name\""
		echo "memory = $mem"
		[ -z "$maxmem" ] || echo "maxmem = $maxmem"
		echo "vcpus = 1"
		echo "on_crash = \"preserve\""
	} >"$D/guests/$name.cfg"
}
guest_cfg pv1 pv 256 512
guest_cfg pv2 pv 256 512
guest_cfg pvh1 pvh 256 ""

# Test library and /init.
mkdir -p "$D/xentest"
cp "$HERE/dom0-lib.sh" "$D/xentest/lib.sh"
cp "$HERE/dom0-init.sh" "$D/init"
chmod 755 "$D/init"

# The caller's test files.
mkdir -p "$D/test"
copy_extras "$D/test"
if [ -n "$TEST_FILE" ]; then
	[ -r "$TEST_FILE" ] || die "--test $TEST_FILE not readable"
	cp "$TEST_FILE" "$D/test/run"
	chmod 755 "$D/test/run"
fi
copy_tree_closure "$D" "$D/test"
for b in "${BINS[@]}"; do
	copy_bin "$D" "$b" "/usr/local/bin/$(basename "$b")"
done

build_image "$D" "$OUT/dom0.cpio.gz"
echo "mkinitrd: $OUT/dom0.cpio.gz ($(du -k "$OUT/dom0.cpio.gz" | cut -f1) KiB)," \
	"$OUT/guest.cpio.gz ($(du -k "$OUT/guest.cpio.gz" | cut -f1) KiB)"
