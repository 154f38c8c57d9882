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
#   memctl-audit-clean        memctl audit on balloond agrees (if memctl has it)
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

	# (a) every P2M entry of each PV guest, and dom0's, against xen-mfndump
	for _g in $1; do
		audit_compare_p2m "$_g" "$(xt_domid "$_g")"
	done
	audit_compare_p2m dom0 0
	# (b) every M2P entry
	audit_compare_m2p

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
		*) xt_fail "audit-not-auditable-$_g" "${_l:-no line}" ;;
		esac
	done
	_l=$(audit_dom_line "$AUDIT_TMP/audit.out" 0)
	case $_l in
	*" audited "*" findings=0"*) xt_ok audit-clean-dom0 "${_l#dom }" ;;
	*) xt_fail audit-clean-dom0 "${_l:-no line}" ;;
	esac

	# (d) clean while a PV guest balloons down and up, and after. An audit
	# "during the move" saw tot_pages more than 4 MiB away from both ends.
	_g=${1%% *}
	_id=$(xt_domid "$_g")
	_top=$(xenstore-read "/local/domain/$_id/memory/target")
	_low=$((_top - 150 * 1024))
	_runs=0 _moving=0 _bad=0 _transient=0 _from=$_top
	for _to in $_low $_top; do
		xt_set_target "$_id" "$_to"
		_k=0 _settled=0
		while [ $_k -lt 60 ] && [ $_settled -lt 2 ]; do
			audit_run_once "$AUDIT_TMP/move.out"
			_rc=$?
			_runs=$((_runs + 1))
			_tp=$(audit_dom_line "$AUDIT_TMP/move.out" "$_id" |
				sed -n 's/.* tot_pages=\([0-9]*\) .*/\1/p')
			_kib=$((${_tp:-0} * 4))
			if [ $(((_kib - _from) * (_kib - _from))) -gt $((4096 * 4096)) ] &&
				[ $(((_kib - _to) * (_kib - _to))) -gt $((4096 * 4096)) ]; then
				_moving=$((_moving + 1))
			fi
			if grep -q '^first pass:' "$AUDIT_TMP/move.out"; then
				_transient=$((_transient + 1))
				xt_log "audit at $_kib KiB: $(grep '^first pass:\|^finding\|^result:' "$AUDIT_TMP/move.out" | tr '\n' ' ' | cut -c1-400)"
			fi
			if [ "$_rc" != 0 ]; then
				_bad=$((_bad + 1))
				sed 's/^/XENTEST: info   | /' "$AUDIT_TMP/move.out"
			fi
			if [ $(((_kib - _to) * (_kib - _to))) -le $((4096 * 4096)) ]; then
				_settled=$((_settled + 1))
			fi
			_k=$((_k + 1))
		done
		_from=$_to
	done
	if [ "$_bad" = 0 ] && [ "$_moving" -gt 0 ]; then
		xt_ok audit-clean-ballooning "$_g $_top -> $_low -> $_top KiB: $_runs audits, $_moving during the moves, $_transient with first-pass findings gone on re-check, 0 confirmed"
	else
		xt_fail audit-clean-ballooning "$_runs audits, $_moving during the moves, $_bad with confirmed findings"
	fi
	audit_run_once "$AUDIT_TMP/after.out"
	_rc=$?
	if [ "$_rc" = 0 ]; then
		xt_ok audit-clean-settled "$(sed -n 's/^audit: //p' "$AUDIT_TMP/after.out")"
	else
		xt_fail audit-clean-settled
		sed 's/^/XENTEST: info   | /' "$AUDIT_TMP/after.out"
	fi

	# memctl audit, once balloond has it
	if [ -n "${3:-}" ] && /test/memctl --socket "$3" help 2>&1 | grep -q '^ *audit'; then
		if /test/memctl --socket "$3" audit >"$AUDIT_TMP/memctl.out" 2>&1; then
			xt_ok memctl-audit-clean "$(tr '\n' ' ' <"$AUDIT_TMP/memctl.out" | cut -c1-300)"
		else
			xt_fail memctl-audit-clean "$(tr '\n' ' ' <"$AUDIT_TMP/memctl.out" | cut -c1-300)"
		fi
	else
		xt_log "memctl has no audit command in this build: memctl-audit not checked"
	fi
	rm -rf "$AUDIT_TMP"
}
