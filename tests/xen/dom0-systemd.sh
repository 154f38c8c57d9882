#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# dom0-systemd.sh - the systemd tier's test (run as /xentest/run by
# xentest.service in a Debian 12 dom0 booted with systemd as PID 1 under
# Xen 4.17; dash). Two boots of the same disk, chosen by xentest.phase= on
# the kernel command line:
#   install  dpkg -i the balloond package under systemd (its maintainer
#            scripts enable and start the units), show what the first start
#            logged, power off;
#   check    the boot after: the units came up at boot, read_group, socket
#            activation, the watchdog, reload, PV guests ballooned and
#            pinned under the unit, nothing denied by the sandbox, and a
#            stop that leaves every guest's memory as it was.
# Prints XENTEST: ok/FAIL NAME lines (dom0-lib.sh), then XENTEST-RESULT for
# boot.sh, and powers off.
PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin:/usr/lib/xen-4.17/bin
XENTEST_GUESTS=/xentest
XENTEST_CONSOLE_DIR=/var/log/xen/console
XENTEST_LIB=/xentest/lib.sh
export PATH XENTEST_GUESTS XENTEST_CONSOLE_DIR XENTEST_LIB
# shellcheck source-path=SCRIPTDIR source=dom0-lib.sh
. "$XENTEST_LIB"

MIB=1024
TOL=$((4 * MIB))
CONF=/etc/balloond.conf
SOCK=/run/balloond/control.sock
# The test's own drop-ins (the packaged units themselves stay untouched).
SOCK_DROPIN=/etc/systemd/system/balloond.socket.d/xentest.conf
WD_DROPIN=/etc/systemd/system/balloond.service.d/xentest-watchdog.conf
WATCHDOG_S=6
# Bounds (seconds) on this TCG-emulated dom0 with one vCPU.
READY_BOUND=20

phase=$(sed -n 's/.*xentest\.phase=\([a-z]*\).*/\1/p' /proc/cmdline)

# end RC: the verdict for boot.sh. The disk is synced and remounted
# read-only first (the install phase's changes must reach the overlay
# before boot.sh stops QEMU on the marker).
end() {
	if [ "$1" -ne 0 ]; then
		echo "---- systemctl status balloond.service balloond.socket"
		systemctl --no-pager status balloond.service balloond.socket 2>&1 | tail -n 30
		echo "---- journalctl -u balloond (last 40)"
		journalctl --no-pager -b -u balloond.service -u balloond.socket -n 40 2>&1
		echo "---- xl list"
		xl list 2>&1
	fi
	sync
	echo s >/proc/sysrq-trigger
	echo u >/proc/sysrq-trigger
	sleep 1
	echo "XENTEST-EXIT: $1"
	if [ "$1" -eq 0 ]; then echo "XENTEST-RESULT: PASS"; else echo "XENTEST-RESULT: FAIL"; fi
	echo o >/proc/sysrq-trigger
	sleep 60
	exit "$1"
}

# prop UNIT PROPERTY: one property's value (systemctl show --value).
prop() { systemctl show -p "$2" --value "$1"; }

# mono_s UNIT PROPERTY: a ...TimestampMonotonic property in seconds.
mono_s() { awk -v u="$(prop "$1" "$2")" 'BEGIN { printf "%.1f", u / 1e6 }'; }

# conf_set KEY VALUE: set KEY in /etc/balloond.conf's [balloond] section
# (uncommenting the packaged line, or adding one).
conf_set() {
	if grep -qE "^#?$1 *=" "$CONF"; then
		sed -i -E "0,/^#?$1 *=.*/s//$1 = $2/" "$CONF"
	else
		sed -i "/^\[balloond\]/a $1 = $2" "$CONF"
	fi
}

# wait_for SECONDS CMD...: poll CMD every 0.5 s until it succeeds.
wait_for() {
	_lim=$(($1 * 2))
	shift
	_i=0
	while [ $_i -lt $_lim ]; do
		"$@" >/dev/null 2>&1 && return 0
		sleep 0.5
		_i=$((_i + 1))
	done
	return 1
}

# dom_field NAME FIELD: a field of the domain from memctl --json list.
dom_field() {
	memctl --json list 2>/dev/null | jq -r --arg n "$1" ".domains[] | select(.name == \$n) | .$2"
}

# field_is NAME FIELD VALUE
field_is() { [ "$(dom_field "$1" "$2")" = "$3" ]; }

# as USER CMD...: run CMD as USER with USER's groups.
as() {
	_u=$1
	shift
	setpriv --reuid "$_u" --regid "$(id -g "$_u")" --init-groups "$@"
}

wait_xen() {
	if ! wait_for 60 systemctl is-active --quiet xen.service; then
		echo "XENTEST-INIT: setup failed: xen.service is $(systemctl is-active xen.service)"
		systemctl --no-pager status xen.service 2>&1 | tail -n 20
		end 100
	fi
	echo "XENTEST-INIT: xen ready uptime=$(xt_now) (xen.service active, systemd $(systemctl --version | awk 'NR == 1 { print $2 }'))"
}

# sandbox_probe: what /proc/xen/capabilities reads as under each of the
# unit's sandboxing options alone (one oneshot unit per option; there is
# no D-Bus in this dom0 for systemd-run), for a unit that cannot see that
# dom0 is dom0.
sandbox_probe() {
	xt_log "outside any sandbox: capabilities '$(cat /proc/xen/capabilities 2>&1)', $(grep -c xenfs /proc/mounts) xenfs mount(s)"
	i=0
	for p in Nice=0 ProtectSystem=strict ProtectHome=yes PrivateTmp=yes PrivateMounts=yes \
		ProtectKernelTunables=yes ProtectKernelModules=yes ProtectKernelLogs=yes \
		ProtectControlGroups=yes ProtectHostname=yes PrivateNetwork=yes \
		"CapabilityBoundingSet=CAP_CHOWN CAP_IPC_LOCK" DevicePolicy=closed \
		NoNewPrivileges=yes SystemCallFilter=@system-service RestrictNamespaces=yes \
		MemoryDenyWriteExecute=yes ProtectProc=invisible; do
		i=$((i + 1))
		printf '[Service]\nType=oneshot\n%s\nStandardOutput=file:/run/probe-%s.out\nStandardError=inherit\nExecStart=/bin/sh -c "cat /proc/xen/capabilities; echo \\" rc=$$?\\"; grep -c xenfs /proc/self/mounts"\n' \
			"$p" "$i" >"/run/systemd/system/xtprobe-$i.service"
		echo "$p" >"/run/probe-$i.name"
	done
	systemctl daemon-reload
	j=1
	while [ $j -le $i ]; do
		systemctl start "xtprobe-$j.service" 2>&1 | head -n 2
		xt_log "sandbox $(cat "/run/probe-$j.name"): $(tr '\n' ' ' <"/run/probe-$j.out" 2>&1)"
		j=$((j + 1))
	done
}

# ------------------------------------------------------------------ install
phase_install() {
	echo "XENTEST-INIT: run /xentest/run (phase install)"
	deb=$(ls /xentest/balloond_*.deb 2>/dev/null | head -n 1)
	[ -n "$deb" ] || { xt_fail package-installs "no balloond_*.deb in /xentest"; xt_finish; end 1; }
	t0=$(xt_now)
	if dpkg -i "$deb" >/run/dpkg.out 2>&1; then
		xt_ok package-installs "$(basename "$deb") in $(xt_since "$t0") s"
	else
		xt_fail package-installs "dpkg -i: $(tail -n 5 /run/dpkg.out | tr '\n' ' ')"
	fi
	sed 's/^/  dpkg: /' /run/dpkg.out
	en=$(systemctl is-enabled balloond.socket balloond.service 2>&1 | tr '\n' ' ')
	case $en in
	"enabled enabled ") xt_ok package-enables-units "socket and service: $en" ;;
	*) xt_fail package-enables-units "is-enabled: $en" ;;
	esac
	# The maintainer scripts start the units on a running systemd.
	if wait_for 30 systemctl is-active --quiet balloond.service; then
		xt_ok package-starts-service "$(prop balloond.service StatusText)"
	else
		xt_fail package-starts-service "balloond.service is $(systemctl is-active balloond.service)"
		sandbox_probe
	fi
	echo "---- journalctl -u balloond (first start, after dpkg -i)"
	journalctl --no-pager -b -o short-monotonic -u balloond.service -u balloond.socket 2>&1
	echo "---- systemctl status balloond.service balloond.socket"
	systemctl --no-pager -l status balloond.service balloond.socket 2>&1
	echo "----"
	boot_times
	xt_finish
	end $?
}

# boot_times: how long this boot took and what took longest (the tier's
# budget is mostly systemd's boot under TCG).
boot_times() {
	echo "---- boot timeline (PID 1, monotonic s)"
	journalctl --no-pager -b -o short-monotonic _PID=1 2>&1 |
		grep -E 'Reached target|Finished|Started|Mounted|Listening' | cut -c1-110 | tail -n 60
	echo "----"
}

# -------------------------------------------------------------------- check
check_boot() {
	en=$(systemctl is-enabled balloond.socket 2>&1)
	st=$(prop balloond.service ActiveState)
	start=$(mono_s balloond.service ExecMainStartTimestampMonotonic)
	ready=$(mono_s balloond.service ActiveEnterTimestampMonotonic)
	xen=$(mono_s xen.service ActiveEnterTimestampMonotonic)
	nr=$(prop balloond.service NRestarts)
	took=$(awk -v a="$start" -v b="$ready" 'BEGIN { printf "%.1f", b - a }')
	detail="socket $en, service $st, started at ${start} s, READY at ${ready} s ($took s), xen.service active at ${xen} s, NRestarts=$nr"
	if [ "$en" = enabled ] && [ "$st" = active ] && [ "$nr" = 0 ] &&
		awk -v t="$took" -v b="$READY_BOUND" 'BEGIN { exit !(t >= 0 && t <= b) }'; then
		xt_ok balloond-active-after-boot "$detail"
	else
		xt_fail balloond-active-after-boot "$detail"
	fi
	echo "---- journalctl -u balloond (this boot)"
	journalctl --no-pager -b -o short-monotonic -u balloond.service -u balloond.socket 2>&1
	echo "---- systemctl status balloond.service"
	systemctl --no-pager -l status balloond.service 2>&1
	echo "----"
}

check_read_group() {
	groupadd xtread
	useradd -M -N -g users -G xtread xtmember
	useradd -M -N -g users xtother
	conf_set read_group xtread
	# The socket's group as balloond.socket documents it (a drop-in).
	mkdir -p "$(dirname "$SOCK_DROPIN")"
	printf '[Socket]\nSocketGroup=xtread\n' >"$SOCK_DROPIN"
	systemctl daemon-reload
	systemctl stop balloond.service balloond.socket
	systemctl start balloond.socket balloond.service
	ls -l "$SOCK" | sed 's/^/  /'
	if out=$(as xtmember memctl status 2>&1); then
		if as xtother memctl status >/run/other.out 2>&1; then
			xt_fail memctl-status-read-group "xtother (not in xtread) was served"
		elif ! grep -qiE 'permission denied|not permitted' /run/other.out; then
			xt_fail memctl-status-read-group "xtother failed, but not for lack of permission: $(head -n 2 /run/other.out | tr '\n' ' ')"
		else
			xt_ok memctl-status-read-group "member served ($(echo "$out" | wc -l) lines), non-member refused: $(head -n 1 /run/other.out)"
		fi
	else
		xt_fail memctl-status-read-group "xtmember: $out"
	fi
	# Read-only: a member may not change anything.
	if as xtmember memctl set-target Domain-0 1G >/run/member-set.out 2>&1; then
		xt_fail read-group-is-read-only "xtmember could call set-target"
	elif ! grep -q 'needs root' /run/member-set.out; then
		xt_fail read-group-is-read-only "set-target failed otherwise: $(head -n 2 /run/member-set.out | tr '\n' ' ')"
	else
		xt_ok read-group-is-read-only "$(head -n 1 /run/member-set.out)"
	fi
}

check_socket_activation() {
	pid0=$(prop balloond.service MainPID)
	systemctl stop balloond.service
	s1=$(systemctl is-active balloond.service)
	k1=$(systemctl is-active balloond.socket)
	if [ "$s1" != inactive ] || [ "$k1" != active ] || [ ! -S "$SOCK" ]; then
		xt_fail socket-activation "after stop: service $s1, socket $k1, $(ls -l "$SOCK" 2>&1)"
		return
	fi
	t0=$(xt_now)
	if out=$(memctl status 2>&1) && [ "$(systemctl is-active balloond.service)" = active ]; then
		xt_ok socket-activation "service stopped (socket listening), memctl status started it in $(xt_since "$t0") s: pid $pid0 -> $(prop balloond.service MainPID)"
	else
		xt_fail socket-activation "memctl: $(echo "$out" | tail -n 2 | tr '\n' ' '); service $(systemctl is-active balloond.service)"
	fi
}

start_guests() {
	ln -sf /var/lib/xentest/kernel /xentest/kernel
	for g in pv1 pv2; do
		cfg=$(xt_make_cfg "$g" pv 256 512)
		xl create "$cfg" >/run/xl-create-$g.out 2>&1 || xt_fail "create-$g" "$(tail -n 3 /run/xl-create-$g.out)"
	done
	PV1=$(xt_domid pv1)
	PV2=$(xt_domid pv2)
	# Ready: the guest's /init wrote data/xentest-ready (guest-init.sh).
	for d in "$PV1" "$PV2"; do
		if ! wait_for 120 xt_xs_ready "$d"; then
			xt_fail "ready-$(xl domname "$d")" "$(xl list 2>&1 | tr '\n' '|')"
			ls -l "$XENTEST_CONSOLE_DIR" 2>&1 | sed 's/^/  /'
			ps -o args= -C xenconsoled | sed 's/^/  xenconsoled: /'
			tail -n 20 "$(xt_console "$(xl domname "$d")")" 2>&1 | sed 's/^/  console: /'
		fi
	done
	xt_log "pv1=$PV1 pv2=$PV2 (PV, memory 256 MiB, maxmem 512 MiB)"
}

# The PV guests in auto mode: the host has spare memory, balloond
# distributes it (dynamic_max 100% of static-max), so their targets move
# from 256 MiB and tot_pages follows. Then a pin on pv1.
check_balloon() {
	ok=1
	for d in "$PV1" "$PV2"; do
		wait_for 60 target_moved "$d" || ok=0
	done
	t1=$(xenstore-read "/local/domain/$PV1/memory/target")
	t2=$(xenstore-read "/local/domain/$PV2/memory/target")
	if [ "$ok" = 1 ] && xt_wait_mem "$PV1" "$t1" "$TOL" 60 && xt_wait_mem "$PV2" "$t2" "$TOL" 60; then
		xt_ok balloon-pv-under-unit "targets 262144 -> pv1 $t1, pv2 $t2 KiB; tot_pages $(xt_mem_kib "$PV1"), $(xt_mem_kib "$PV2") KiB"
	else
		xt_fail balloon-pv-under-unit "targets pv1 $t1, pv2 $t2 KiB; tot_pages $(xt_mem_kib "$PV1"), $(xt_mem_kib "$PV2") KiB"
	fi
	t0=$(xt_now)
	# (dynamic_min is 50% of the 512 MiB static-max: a pin must be above 256 MiB)
	out=$(memctl set-target pv1 300M 2>&1) || xt_fail pin-pv-under-unit "memctl set-target pv1 300M: $out"
	if xt_wait_mem "$PV1" $((300 * MIB)) "$TOL" 60 && field_is pv1 mode pinned &&
		[ "$(xenstore-read "/local/domain/$PV1/memory/target")" = $((300 * MIB)) ]; then
		xt_ok pin-pv-under-unit "pv1 pinned, at $(xt_mem_kib "$PV1") KiB in $(xt_since "$t0") s"
	else
		xt_fail pin-pv-under-unit "pv1 mode $(dom_field pv1 mode), target $(xenstore-read "/local/domain/$PV1/memory/target"), at $(xt_mem_kib "$PV1") KiB"
	fi
}

# balloond writes to the journal with its own fields (balloond(8) LOGGING):
# the pin of pv1 is an entry with the pins' MESSAGE_ID, DOMAIN=pv1 and
# pv1's DOMID, in one line that also says the target change.
check_journal_fields() {
	jf=$(journalctl --no-pager -b -u balloond.service -o json \
		MESSAGE_ID=ea8e82808aaf4a5ea21e436c9777c2f8 DOMAIN=pv1 2>/dev/null |
		jq -r --arg id "$PV1" 'select(.DOMID == $id) | .MESSAGE' 2>/dev/null | tail -n 1)
	case $jf in
	*"pinned at 300M by admin (target "*) xt_ok journal-structured-fields "MESSAGE_ID, DOMAIN=pv1, DOMID=$PV1: $jf" ;;
	*) xt_fail journal-structured-fields "no pin entry with the fields: '$jf'; $(journalctl --no-pager -b -u balloond.service -o json -n 3 | jq -c '{MESSAGE, DOMID, DOMAIN, MESSAGE_ID}' 2>&1 | tr '\n' ' ')" ;;
	esac
}

# target_moved DOMID: the domain's target is no longer libxl's 256 MiB.
target_moved() { [ "$(xenstore-read "/local/domain/$1/memory/target")" != 262144 ]; }

# WatchdogSec is 30 s in the unit; a drop-in shortens it to WATCHDOG_S for
# this check so that the test does not wait half a minute.
check_watchdog() {
	mkdir -p "$(dirname "$WD_DROPIN")"
	printf '[Service]\nWatchdogSec=%ss\n' "$WATCHDOG_S" >"$WD_DROPIN"
	systemctl daemon-reload
	systemctl restart balloond.service
	wait_for 20 memctl hello || { xt_fail watchdog-restart "no answer after restart"; return; }
	out=$(memctl set-target pv2 384M 2>&1) || xt_log "memctl set-target pv2 384M: $out"
	xt_wait_mem "$PV2" $((384 * MIB)) "$TOL" 60 || xt_log "pv2 did not reach 384 MiB before the watchdog check"
	pid0=$(prop balloond.service MainPID)
	nr0=$(prop balloond.service NRestarts)
	t0=$(xt_now)
	kill -STOP "$pid0"
	if wait_for 60 restarted "$pid0" && wait_for 20 memctl hello; then
		took=$(xt_since "$t0")
		wd=$(journalctl --no-pager -b -u balloond.service | grep -c 'Watchdog timeout')
		if [ "$wd" -ge 1 ] && [ "$(prop balloond.service NRestarts)" -gt "$nr0" ] &&
			field_is pv2 mode pinned && field_is pv2 target $((384 * MIB)) &&
			[ "$(xenstore-read "/local/domain/$PV2/memory/target")" = $((384 * MIB)) ] &&
			field_is pv1 mode pinned && field_is pv1 target $((300 * MIB)); then
			xt_ok watchdog-restart "SIGSTOP pid $pid0: killed by the watchdog (WatchdogSec=${WATCHDOG_S}s drop-in) and restarted as pid $(prop balloond.service MainPID) after $took s, NRestarts $nr0 -> $(prop balloond.service NRestarts); pins kept (pv2 384M, pv1 300M)"
		else
			xt_fail watchdog-restart "watchdog lines $wd, NRestarts $nr0 -> $(prop balloond.service NRestarts), pv2 $(dom_field pv2 mode) $(dom_field pv2 target), pv1 $(dom_field pv1 mode) $(dom_field pv1 target)"
		fi
	else
		xt_fail watchdog-restart "not restarted: state $(prop balloond.service ActiveState)/$(prop balloond.service SubState), MainPID $(prop balloond.service MainPID)"
		kill -CONT "$pid0" 2>/dev/null
	fi
	journalctl --no-pager -b -o short-monotonic -u balloond.service | grep -E 'Watchdog|code=|Scheduled restart|Started|Stopped|Starting' | tail -n 8 | sed 's/^/  /'
	# Back to the unit's own WatchdogSec for the rest of the test.
	rm -f "$WD_DROPIN"
	systemctl daemon-reload
	systemctl restart balloond.service
	wait_for 20 memctl hello || xt_log "balloond does not answer after the restart without the drop-in"
}

# restarted PID: balloond.service is active with a main process other than PID.
restarted() {
	[ "$(prop balloond.service ActiveState)" = active ] &&
		_p=$(prop balloond.service MainPID) && [ "$_p" != 0 ] && [ "$_p" != "$1" ]
}

check_reload() {
	pid0=$(prop balloond.service MainPID)
	pool0=$(memctl --json status | jq -r .host.pool)
	cp "$CONF" /run/balloond.conf.good
	conf_set pool 100M
	if systemctl reload balloond.service && wait_for 10 pool_is $((100 * MIB)) &&
		[ "$(prop balloond.service MainPID)" = "$pid0" ]; then
		xt_ok reload-applies "pool $pool0 -> $(memctl --json status | jq -r .host.pool) KiB, same pid $pid0"
	else
		xt_fail reload-applies "pool $pool0 -> $(memctl --json status | jq -r .host.pool), pid $pid0 -> $(prop balloond.service MainPID)"
	fi
	cp "$CONF" /run/balloond.conf.applied
	conf_set pool banana
	if systemctl reload balloond.service >/run/reload.out 2>&1; then
		xt_fail reload-refuses-broken "systemctl reload succeeded with pool = banana"
	elif sleep 1 && [ "$(systemctl is-active balloond.service)" = active ] &&
		[ "$(prop balloond.service MainPID)" = "$pid0" ] && pool_is $((100 * MIB)) && memctl hello >/dev/null; then
		xt_ok reload-refuses-broken "reload failed ($(journalctl --no-pager -b -u balloond.service -n 20 | grep -m 1 -i banana | sed 's/.*balloond[^:]*: //')); still active, pid $pid0, pool $(memctl --json status | jq -r .host.pool) KiB"
	else
		xt_fail reload-refuses-broken "after the refused reload: $(systemctl is-active balloond.service), pid $(prop balloond.service MainPID), pool $(memctl --json status 2>&1 | jq -r .host.pool 2>&1)"
	fi
	cp /run/balloond.conf.applied "$CONF"
}

pool_is() { [ "$(memctl --json status | jq -r .host.pool)" = "$1" ]; }

check_journal() {
	pat='seccomp|EPERM|EACCES|Permission denied|Operation not permitted'
	bad=$(journalctl --no-pager -b -u balloond.service -u balloond.socket | grep -E "$pat")
	kern=$(journalctl --no-pager -b -k | grep -E 'type=1326|audit.*seccomp|SECCOMP' | grep balloond)
	n=$(journalctl --no-pager -b -u balloond.service | wc -l)
	if [ -z "$bad" ] && [ -z "$kern" ]; then
		xt_ok journal-nothing-denied "$n journal lines of balloond, none matching /$pat/, no seccomp audit of balloond in the kernel log"
	else
		xt_fail journal-nothing-denied "$(printf '%s\n%s' "$bad" "$kern" | head -n 5 | tr '\n' '|')"
	fi
}

check_stop() {
	before=
	for d in "$PV1" "$PV2"; do
		before="$before $d:$(xenstore-read "/local/domain/$d/memory/target"):$(xt_mem_kib "$d"):$(xt_maxmem_kib "$d")"
	done
	systemctl stop balloond.service balloond.socket
	sleep 3
	st="$(systemctl is-active balloond.service) $(systemctl is-active balloond.socket)"
	after=
	ok=1
	for e in $before; do
		d=${e%%:*}
		rest=${e#*:}
		t=${rest%%:*}
		rest=${rest#*:}
		m=${rest%%:*}
		mx=${rest#*:}
		t2=$(xenstore-read "/local/domain/$d/memory/target")
		m2=$(xt_mem_kib "$d")
		mx2=$(xt_maxmem_kib "$d")
		after="$after $d:$t2:$m2:$mx2"
		[ "$t2" = "$t" ] && [ "$mx2" = "$mx" ] &&
			[ "$m2" -ge $((m - TOL)) ] && [ "$m2" -le $((m + TOL)) ] || ok=0
	done
	if [ "$ok" = 1 ] && [ "$st" = "inactive inactive" ] && [ ! -e "$SOCK" ]; then
		xt_ok stop-leaves-targets "both units stopped; domid:target:tot_pages:maxmem KiB before$before, after$after"
	else
		xt_fail stop-leaves-targets "units $st; before$before, after$after; socket file $(ls "$SOCK" 2>&1)"
	fi
}

phase_check() {
	echo "XENTEST-INIT: run /xentest/run (phase check)"
	check_boot
	check_read_group
	check_socket_activation
	start_guests
	check_balloon
	check_journal_fields
	check_watchdog
	check_reload
	check_journal
	check_stop
	for d in "$PV1" "$PV2"; do xl destroy "$d" 2>/dev/null; done
	boot_times
	xt_finish
	end $?
}

wait_xen
case $phase in
install) phase_install ;;
check) phase_check ;;
*)
	echo "XENTEST-INIT: setup failed: no xentest.phase=install|check on the kernel command line"
	end 101
	;;
esac
