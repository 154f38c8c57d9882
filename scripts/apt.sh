# SPDX-License-Identifier: GPL-2.0-or-later
# Sourced by scripts/setup.sh and scripts/package.sh: apt-get as root (or
# through sudo), waiting up to 10 minutes for a dpkg lock that another
# process holds, and installing only the packages that are missing.

# apt_get ARGS...: apt-get, non-interactive, as root.
apt_get() {
	local sudo=
	[ "$(id -u)" -eq 0 ] || sudo=sudo
	$sudo env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 "$@"
}

# apt_install_missing WHO PACKAGE...: install those of PACKAGE... that are
# not installed, saying so as WHO.
apt_install_missing() {
	local who=$1 p
	local missing=()
	shift
	for p in "$@"; do
		[ "$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null)" = "install ok installed" ] ||
			missing+=("$p")
	done
	[ ${#missing[@]} -gt 0 ] || return 0
	echo "$who: installing ${missing[*]}"
	apt_get update -qq
	apt_get install -y -qq "${missing[@]}" >/dev/null
}
