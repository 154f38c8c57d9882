# SPDX-License-Identifier: GPL-2.0-or-later
# shellcheck shell=sh
# dom0-audit.sh - the M2P/P2M auditor's Xen source (daemon/audit-xen.c, via
# /test/xen-audit-read) on the real hypervisor. Sourced by a dom0 test
# script after /xentest/lib.sh; call
#   audit_checks "PV_NAMES" "PVH_NAMES" [MEMCTL_SOCKET]
# with the guests settled at their targets. Checks:
#   p2m-matches-mfndump-NAME  every P2M entry equals xen-mfndump dump-p2m
#   m2p-matches-mfndump       every M2P entry equals xen-mfndump dump-m2p
#   audit-clean-NAME          the audit says clean for each PV guest
#   audit-not-auditable-NAME  ... and "not auditable" for each PVH guest
#   audit-clean-ballooning    clean (after the 1 s re-check) while a PV guest
#                             moves down and up, and after it settles
#   owner-callback            the ownership answers suspects would get
#   memctl-audit-clean        memctl --json audit through balloond: the PV
#                             guests audited and clean, no PVH audited
AR=/test/xen-audit-read
AUDIT_TMP=/tmp/audit-check

# audit_norm_p2m: xen-mfndump dump-p2m lines as "0xPFN 0xMFN".
audit_norm_p2m() {
	sed -n 's/^  pfn=\(0x[0-9a-f]*\) ==> mfn=\(0x[0-9a-f]*\) .*/\1 \2/p'
}

# audit_diff A B: the number of line positions where A and B differ, plus
# the line-count difference.
audit_diff() {
	awk 'NR == FNR { a[FNR] = $0; na = FNR; next }
		{ nb = FNR; if (a[FNR] != $0) d++ }
		END { if (na > nb) d += na - nb; print d + 0 }' "$1" "$2"
}

# audit_first_diffs A B: the first differing lines, for the log.
audit_first_diffs() {
	awk 'NR == FNR { a[FNR] = $0; next }
		a[FNR] != $0 && n < 5 { print "line " FNR ": " a[FNR] " vs " $0; n++ }' "$1" "$2"
}

# audit_compare_p2m NAME DOMID
audit_compare_p2m() {
	_t0=$(xt_now)
	if ! "$AR" p2m "$2" >"$AUDIT_TMP/ours.p2m" 2>"$AUDIT_TMP/ours.err"; then
		xt_fail "p2m-matches-mfndump-$1" "xen-audit-read: $(cat "$AUDIT_TMP/ours.err")"
		return
	fi
	_tours=$(xt_since "$_t0")
	_t0=$(xt_now)
	xen-mfndump dump-p2m "$2" 2>/dev/null | audit_norm_p2m >"$AUDIT_TMP/ref.p2m"
	_tref=$(xt_since "$_t0")
	_n=$(wc -l <"$AUDIT_TMP/ours.p2m")
	_m=$(wc -l <"$AUDIT_TMP/ref.p2m")
	if [ "$_m" = 0 ] && [ "$2" = 0 ]; then
		xt_log "xen-mfndump dump-p2m 0 printed no entries: dom0's P2M ($_n entries) not compared"
		return
	fi
	if [ "$_n" -gt 0 ] && cmp -s "$AUDIT_TMP/ours.p2m" "$AUDIT_TMP/ref.p2m"; then
		xt_ok "p2m-matches-mfndump-$1" "$_n entries compared, all equal ($(cat "$AUDIT_TMP/ours.err"); ours ${_tours} s, xen-mfndump ${_tref} s)"
	else
		xt_fail "p2m-matches-mfndump-$1" "ours $_n entries, xen-mfndump $_m, $(audit_diff "$AUDIT_TMP/ours.p2m" "$AUDIT_TMP/ref.p2m") differ"
		audit_first_diffs "$AUDIT_TMP/ours.p2m" "$AUDIT_TMP/ref.p2m" | sed 's/^/XENTEST: info   /'
	fi
}

# audit_compare_m2p: all of it, in xen-mfndump's own format (a regex over
# half a million lines is minutes under TCG; cmp is not).
audit_compare_m2p() {
	_t0=$(xt_now)
	xen-mfndump dump-m2p 2>/dev/null >"$AUDIT_TMP/ref.raw"
	_tref=$(xt_since "$_t0")
	_max=$(head -n 2 "$AUDIT_TMP/ref.raw" | sed -n 's/^ Max MFN: \([0-9]*\)$/\1/p')
	sed '1,2d;$d' "$AUDIT_TMP/ref.raw" >"$AUDIT_TMP/ref.m2p"
	rm -f "$AUDIT_TMP/ref.raw"
	_t0=$(xt_now)
	if ! "$AR" m2p 0 "${_max:-0}" --mfndump >"$AUDIT_TMP/ours.m2p" 2>"$AUDIT_TMP/ours.err"; then
		xt_fail m2p-matches-mfndump "xen-audit-read: $(cat "$AUDIT_TMP/ours.err")"
		return
	fi
	_tours=$(xt_since "$_t0")
	_n=$(wc -l <"$AUDIT_TMP/ours.m2p")
	if [ -n "$_max" ] && [ "$_n" = "$_max" ] && cmp -s "$AUDIT_TMP/ours.m2p" "$AUDIT_TMP/ref.m2p"; then
		xt_ok m2p-matches-mfndump "$_n entries compared, all equal ($(cat "$AUDIT_TMP/ours.err"); ours ${_tours} s, xen-mfndump ${_tref} s)"
	else
		xt_fail m2p-matches-mfndump "max MFN ${_max:-?}, ours $_n entries, $(audit_diff "$AUDIT_TMP/ours.m2p" "$AUDIT_TMP/ref.m2p") differ"
		audit_first_diffs "$AUDIT_TMP/ours.m2p" "$AUDIT_TMP/ref.m2p" | sed 's/^/XENTEST: info   /'
	fi
	rm -f "$AUDIT_TMP/ours.m2p" "$AUDIT_TMP/ref.m2p"
}

# audit_set_target DOMID KIB [MEMCTL_SOCKET]
audit_set_target() {
	if [ -n "${3:-}" ]; then
		/test/memctl --socket "$3" set-target "$1" "${2}K" >/dev/null
	else
		xt_set_target "$1" "$2"
	fi
}

# audit_run_once OUT: xen-audit-read audit into OUT; its exit status.
audit_run_once() {
	"$AR" audit >"$1" 2>&1
}

# audit_dom_line OUT DOMID: that domain's line of an audit output.
audit_dom_line() {
	awk -v id="$2" '$1 == "dom" && $2 == id' "$1"
}

audit_checks() {
	mkdir -p "$AUDIT_TMP"
	if [ ! -x "$AR" ]; then
		xt_fail audit-tool "$AR missing"
		return
	fi
	for _g in $1; do
		_id=$(xt_domid "$_g")
		xt_wait_mem "$_id" "$(xenstore-read "/local/domain/$_id/memory/target")" 4096 30 ||
			xt_log "$_g not settled at its target"
	done

	xt_log "audit checks start at $(xt_now) s"
	# (a) every P2M entry of each PV guest, and dom0's, against xen-mfndump
	for _g in $1; do
		audit_compare_p2m "$_g" "$(xt_domid "$_g")"
	done
	audit_compare_p2m dom0 0
	# (b) every M2P entry
	audit_compare_m2p
	xt_log "mfndump comparisons done at $(xt_now) s"

	# The owner callback (only suspects reach it, so a clean audit never
	# does): three RAM entries of each PV domain's P2M (dom0 too) are owned
	# by it ("DOMID 0xMFN OWNER" lines); the legacy VGA/BIOS frame 0xa0
	# (not E820 RAM) is DOMID_IO (32753).
	_ids=0
	for _g in $1; do _ids="$_ids $(xt_domid "$_g")"; done
	# shellcheck disable=SC2086 # one argument per domain
	"$AR" owner-sample $_ids >"$AUDIT_TMP/owner.out" 2>&1
	_n=$(wc -l <"$AUDIT_TMP/owner.out")
	_bad=$(awk '$1 != $3' "$AUDIT_TMP/owner.out" | wc -l)
	[ "$_bad" = 0 ] || sed 's/^/XENTEST: info   | /' "$AUDIT_TMP/owner.out"
	_o=$("$AR" owner 0xa0 2>/dev/null | awk '{ print $2 }')
	if [ "$_bad" = 0 ] && [ "$_n" -ge 9 ] && [ "$_o" = 32753 ]; then
		xt_ok owner-callback "$_n RAM frames owned by the right domain, frame 0xa0 DOMID_IO"
	else
		xt_fail owner-callback "$_bad of $_n wrong, frame 0xa0 owner ${_o:-?}"
	fi

	xt_log "owner checks done at $(xt_now) s"
	# (c) the audit: clean for every PV guest, not auditable for PVH
	audit_run_once "$AUDIT_TMP/audit.out"
	_rc=$?
	sed 's/^/XENTEST: info   | /' "$AUDIT_TMP/audit.out"
	for _g in $1; do
		_l=$(audit_dom_line "$AUDIT_TMP/audit.out" "$(xt_domid "$_g")")
		case $_l in
		*" pv audited "*" findings=0"*) xt_ok "audit-clean-$_g" "${_l#dom }" ;;
		*) xt_fail "audit-clean-$_g" "${_l:-no line} (exit $_rc)" ;;
		esac
	done
	for _g in $2; do
		_l=$(audit_dom_line "$AUDIT_TMP/audit.out" "$(xt_domid "$_g")")
		case $_l in
		*" pvh not-auditable "*) xt_ok "audit-not-auditable-$_g" "${_l##*reason: }" ;;
		*)
			# dom0-balloond.sh's pvh_fail does not count a PVH guest
			# rebooted by the emulator (see there)
			if type pvh_fail >/dev/null 2>&1; then
				pvh_fail "audit-not-auditable-$_g" "${_l:-no line}"
			else
				xt_fail "audit-not-auditable-$_g" "${_l:-no line}"
			fi
			;;
		esac
	done
	_l=$(audit_dom_line "$AUDIT_TMP/audit.out" 0)
	case $_l in
	*" audited "*" findings=0"*) xt_ok audit-clean-dom0 "${_l#dom }" ;;
	*) xt_fail audit-clean-dom0 "${_l:-no line}" ;;
	esac

	# (d) clean while a PV guest balloons down and up, and after: audits run
	# back to back in the background while the target moves. An audit
	# "during the move" saw tot_pages more than 4 MiB from both ends.
	_g=${1%% *}
	_id=$(xt_domid "$_g")
	_top=$(xenstore-read "/local/domain/$_id/memory/target")
	_low=$((_top - 96 * 1024))
	rm -f "$AUDIT_TMP/stop"
	(
		_i=0
		while [ ! -e "$AUDIT_TMP/stop" ] && [ $_i -lt 500 ]; do
			audit_run_once "$AUDIT_TMP/bg.$_i"
			echo $? >"$AUDIT_TMP/bg.$_i.rc"
			_i=$((_i + 1))
		done
	) &
	_bgpid=$!
	xt_log "ballooning $_g with audits running at $(xt_now) s"
	# A 100 MiB move takes Linux well under a second, so the target walks
	# in 8 MiB steps (the way balloond moves it) to keep the guest moving
	# for several seconds; sleep rather than poll xentop: dom0 has one vCPU.
	# With balloond running the target goes through it (it keeps maxmem
	# just above the target and raises it first on the way up).
	_to=$_top
	while [ "$_to" -gt "$_low" ]; do
		_to=$((_to - 8192))
		audit_set_target "$_id" "$_to" "${3:-}"
		sleep 0.2
	done
	sleep 2
	while [ "$_to" -lt "$_top" ]; do
		_to=$((_to + 8192))
		audit_set_target "$_id" "$_to" "${3:-}"
		sleep 0.2
	done
	sleep 2
	: >"$AUDIT_TMP/stop"
	wait "$_bgpid"
	xt_log "ballooning done at $(xt_now) s"
	xt_wait_mem "$_id" "$_top" 4096 10 || xt_log "$_g did not get back to $_top KiB"
	_runs=0 _moving=0 _bad=0 _transient=0
	for _f in "$AUDIT_TMP"/bg.*.rc; do
		_o=${_f%.rc}
		_runs=$((_runs + 1))
		_tp=$(audit_dom_line "$_o" "$_id" | sed -n 's/.* tot_pages=\([0-9]*\) .*/\1/p')
		_kib=$((${_tp:-0} * 4))
		if [ $(((_kib - _top) * (_kib - _top))) -gt $((4096 * 4096)) ] &&
			[ $(((_kib - _low) * (_kib - _low))) -gt $((4096 * 4096)) ]; then
			_moving=$((_moving + 1))
		fi
		if grep -q '^first pass:' "$_o"; then
			_transient=$((_transient + 1))
			xt_log "audit at $_kib KiB: $(grep '^first pass:\|^finding\|^result:' "$_o" | tr '\n' ' ' | cut -c1-300)"
		fi
		if [ "$(cat "$_f")" != 0 ]; then
			_bad=$((_bad + 1))
			sed 's/^/XENTEST: info   | /' "$_o"
		fi
	done
	rm -f "$AUDIT_TMP"/bg.*
	if [ "$_bad" = 0 ] && [ "$_moving" -gt 0 ]; then
		xt_ok audit-clean-ballooning "$_g $_top -> $_low -> $_top KiB: $_runs audits, $_moving during the moves, $_transient with first-pass findings gone on re-check, 0 confirmed"
	else
		xt_fail audit-clean-ballooning "$_runs audits, $_moving during the moves, $_bad with confirmed findings or errors"
	fi
	audit_run_once "$AUDIT_TMP/after.out"
	_rc=$?
	if [ "$_rc" = 0 ]; then
		xt_ok audit-clean-settled "$(sed -n 's/^audit: //p' "$AUDIT_TMP/after.out")"
	else
		xt_fail audit-clean-settled
		sed 's/^/XENTEST: info   | /' "$AUDIT_TMP/after.out"
	fi

	# memctl audit, once balloond has it: the same guests through the daemon.
	# The PV guests must be audited and clean; no PVH guest may ever be
	# "audited". A PVH guest under QEMU TCG sometimes triple-faults and is
	# rebuilt by xl (seen on this rig, not caused by balloond), so one that is
	# being rebuilt at this moment may be "not audited" or missing.
	if [ -n "${3:-}" ] && /test/memctl --socket "$3" help 2>&1 | grep -q '^ *audit'; then
		/test/memctl --socket "$3" --json audit >"$AUDIT_TMP/memctl.json" 2>"$AUDIT_TMP/memctl.err"
		_rc=$?
		if [ "$_rc" = 0 ] && jq -e --arg pv "$1" --arg pvh "$2" '
			($pv | split(" ")) as $p | ($pvh | split(" ")) as $h |
			.status.last.result == "clean" and .status.last.findings == 0 and
			([.status.domains[] | select(.name as $n | any($p[]; . == $n)) |
				.status == "audited" and .findings == 0 and .scanned > 0] |
				length == ($p | length) and all) and
			([.status.domains[] | select(.name as $n | any($h[]; . == $n)) |
				.status == "not auditable"] | all) and
			([.status.domains[] | select(.type != "pv") | .status != "audited"] | all)' \
			"$AUDIT_TMP/memctl.json" >/dev/null; then
			xt_ok memctl-audit-clean "$(jq -r '.status.last | "\(.pages) pages in \(.duration) s (\(.rate) pages/s), elapsed \(.elapsed) s, \(.transient) transient"' "$AUDIT_TMP/memctl.json"); $(jq -r '[.status.domains[] | "\(.name)=\(.status)"] | join(" ")' "$AUDIT_TMP/memctl.json")"
		else
			xt_fail memctl-audit-clean "exit $_rc: $(cat "$AUDIT_TMP/memctl.err") $(cut -c1-600 "$AUDIT_TMP/memctl.json")"
		fi
	else
		xt_log "memctl has no audit command in this build: memctl-audit not checked"
	fi
	rm -rf "$AUDIT_TMP"
}
