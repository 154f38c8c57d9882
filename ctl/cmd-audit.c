/* SPDX-License-Identifier: GPL-2.0-or-later */
/* memctl audit: start an M2P/P2M audit of the PV guests, wait for it, and
 * report its domains and findings (exit 4 on confirmed findings). */
#include "config.h"

#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <json-c/json.h>

#include "audit.h"
#include "client.h"
#include "cmd.h"
#include "jsonrpc.h"
#include "render.h"

#define AUDIT_POLL_MS 200

/* An audit's state from audit.status: whether one runs, and its id (0 when
 * none). 0 or an exit status (printed). */
static int audit_state(struct memctl *m, bool *ret_running, int64_t *ret_id)
{
	json_object *reply = NULL, *result = NULL, *v;
	bool is_null = false;
	char err[256];
	int r;

	r = ctl_call(m, "audit.status", NULL, false, &reply, &result);
	if (r != MEMCTL_EXIT_OK)
		return r;
	if (!json_object_object_get_ex(result, "running", &v) ||
	    !json_object_is_type(v, json_type_boolean) ||
	    get_int(result, "id", true, ret_id, &is_null, err, sizeof(err)) < 0) {
		json_object_put(reply);
		return malformed("audit.status", "member \"running\" or \"id\" is missing");
	}
	*ret_running = json_object_get_boolean(v);
	if (is_null)
		*ret_id = 0;
	json_object_put(reply);
	return MEMCTL_EXIT_OK;
}

/* Poll every 200 ms while audit id (0: any) runs, until deadline (-1: none). */
static int audit_wait(struct memctl *m, int64_t id, int64_t deadline)
{
	bool running = false;
	int64_t cur = 0;
	int r;

	for (;;) {
		r = audit_state(m, &running, &cur);
		if (r != MEMCTL_EXIT_OK)
			return r;
		if (!running || (id && cur != id))
			return MEMCTL_EXIT_OK;
		if (deadline >= 0 && now_ms() + AUDIT_POLL_MS > deadline) {
			memctl_warnx("audit %" PRId64 " is still running after %gs; see 'memctl "
				     "--json audit --no-wait' and audit.status",
				     cur, m->timeout_ms / 1000.0);
			return MEMCTL_EXIT_CONNECT;
		}
		usleep(AUDIT_POLL_MS * 1000);
	}
}

/* A frame number member in hex, "-" when null. NULL when not a number. */
static const char *fmt_frame(json_object *o, const char *key, char *buf, size_t len)
{
	json_object *v = NULL;

	if (!json_object_object_get_ex(o, key, &v) || !v) {
		snprintf(buf, len, "-");
		return buf;
	}
	if (!json_object_is_type(v, json_type_int))
		return NULL;
	snprintf(buf, len, "0x%" PRIx64, json_object_get_uint64(v));
	return buf;
}

/* One finding as a line: where it is and what disagrees. */
static int print_finding(json_object *f)
{
	const char *cls, *name;
	char n[64], pfn[24], mfn[24], m2p[24], other[24], err[128];
	int64_t domid, delta = 0;
	bool no_delta = true;

	if (get_str(f, "class", &cls, err, sizeof(err)) < 0 ||
	    get_str(f, "name", &name, err, sizeof(err)) < 0 ||
	    get_int(f, "domid", false, &domid, NULL, err, sizeof(err)) < 0 ||
	    get_int(f, "delta", true, &delta, &no_delta, err, sizeof(err)) < 0 ||
	    !fmt_frame(f, "pfn", pfn, sizeof(pfn)) || !fmt_frame(f, "mfn", mfn, sizeof(mfn)) ||
	    !fmt_frame(f, "m2p", m2p, sizeof(m2p)) || !fmt_frame(f, "other", other, sizeof(other)))
		return malformed("audit.findings", "a finding lacks a member");
	printf("  %s (domid %" PRId64 "): ", sanitize(name, n, sizeof(n), NAME_COLS), domid);
	if (!no_delta) {
		printf("tot_pages - mapped RAM entries = %" PRId64 "\n", delta);
	} else if (strcmp(pfn, "-") == 0) {
		printf("its P2M could not be read\n");
	} else if (strcmp(cls, "P2M_ALIAS") == 0) {
		printf("pfn %s  mfn %s  m2p %s  (also mapped at pfn %s)\n", pfn, mfn, m2p, other);
	} else if (strcmp(other, "-") != 0) {
		uint64_t owner = strtoull(other, NULL, 16);

		printf("pfn %s  mfn %s  m2p %s  (frame owner: ", pfn, mfn, m2p);
		if (owner == AUDIT_OWNER_FREE)
			printf("none, free)\n");
		else if (owner == AUDIT_OWNER_XEN)
			printf("Xen)\n");
		else
			printf("domain %" PRIu64 ")\n", owner);
	} else {
		printf("pfn %s  mfn %s  m2p %s\n", pfn, mfn, m2p);
	}
	return MEMCTL_EXIT_OK;
}

/* The confirmed findings of an audit by class: each class's count and the
 * examples audit.findings holds. Returns the exit status (4, or 1 when the
 * reply is malformed). */
static int print_audit_findings(json_object *fi, int64_t findings)
{
	json_object *counts, *list;
	char err[256], buf[64];
	size_t i;

	if (!json_object_object_get_ex(fi, "counts", &counts) ||
	    !json_object_is_type(counts, json_type_object) ||
	    !json_object_object_get_ex(fi, "findings", &list) ||
	    !json_object_is_type(list, json_type_array))
		return malformed("audit.findings", "member \"counts\" or \"findings\" is missing");
	printf("\n%" PRId64 " confirmed finding%s:\n", findings, findings == 1 ? "" : "s");
	json_object_object_foreach(counts, cls, cnt)
	{
		size_t shown = 0;
		const char *c;

		printf("%s: %" PRId64 "\n", sanitize(cls, buf, sizeof(buf), 32),
		       json_object_get_int64(cnt));
		for (i = 0; i < json_object_array_length(list); i++) {
			json_object *f = json_object_array_get_idx(list, i);

			if (get_str(f, "class", &c, err, sizeof(err)) < 0 || strcmp(c, cls) != 0)
				continue;
			if (print_finding(f) != MEMCTL_EXIT_OK)
				return MEMCTL_EXIT_DAEMON;
			shown++;
		}
		if ((int64_t)shown < json_object_get_int64(cnt))
			printf("  ... and %" PRId64 " more\n",
			       json_object_get_int64(cnt) - (int64_t)shown);
	}
	printf("\nA finding is usually a guest bug or attack (a PV guest may write the M2P\n"
	       "entries of its own frames), not a hypervisor fault.\n");
	return MEMCTL_EXIT_FINDINGS;
}

/* The report of one audit: its domains, then its findings by class. Returns
 * the exit status: 4 with confirmed findings, 1 when it failed. */
static int print_audit(json_object *st, json_object *fi)
{
	const char *method = "audit.status", *result, *status, *type, *name;
	json_object *last, *doms, *err_v = NULL;
	int64_t id, pages, findings, unconfirmed, v;
	size_t i, nd, audited = 0;
	double duration;
	struct table t;
	char(*hrow)[CELL_MAX];
	char err[256];
	static const bool left[] = {false, true, true, true, false, false};
	static const char *const head[] = {"DOMID",  "NAME",	"TYPE",
					   "STATUS", "SCANNED", "FINDINGS"};

	if (!json_object_object_get_ex(st, "last", &last) || !last ||
	    !json_object_object_get_ex(st, "domains", &doms) ||
	    !json_object_is_type(doms, json_type_array) ||
	    get_int(last, "id", false, &id, NULL, err, sizeof(err)) < 0 ||
	    get_str(last, "result", &result, err, sizeof(err)) < 0 ||
	    get_int(last, "pages", false, &pages, NULL, err, sizeof(err)) < 0 ||
	    get_int(last, "findings", false, &findings, NULL, err, sizeof(err)) < 0 ||
	    get_int(last, "unconfirmed", false, &unconfirmed, NULL, err, sizeof(err)) < 0 ||
	    get_num(last, "duration", false, &duration, NULL, err, sizeof(err)) < 0)
		return malformed(method, "member \"last\" or \"domains\" is missing or incomplete");
	nd = json_object_array_length(doms);
	if (table_init(&t, 6, left, nd) < 0) {
		memctl_warnx("out of memory");
		return MEMCTL_EXIT_DAEMON;
	}
	hrow = table_add_row(&t);
	for (i = 0; hrow && i < 6; i++)
		snprintf(hrow[i], CELL_MAX, "%s", head[i]);
	for (i = 0; i < nd; i++) {
		json_object *d = json_object_array_get_idx(doms, i);
		char(*row)[CELL_MAX] = table_add_row(&t);
		bool is_null = false;
		int64_t dom;

		if (!row || get_int(d, "domid", false, &dom, NULL, err, sizeof(err)) < 0 ||
		    get_str(d, "name", &name, err, sizeof(err)) < 0 ||
		    get_str(d, "type", &type, err, sizeof(err)) < 0 ||
		    get_str(d, "status", &status, err, sizeof(err)) < 0) {
			table_free(&t);
			return malformed(method, "a domain row lacks a member");
		}
		snprintf(row[0], CELL_MAX, "%" PRId64, dom);
		sanitize(name, row[1], CELL_MAX, NAME_COLS);
		sanitize(type, row[2], CELL_MAX, 8);
		sanitize(status, row[3], CELL_MAX, 32);
		if (strcmp(status, "audited") == 0)
			audited++;
		if (get_int(d, "scanned", true, &v, &is_null, err, sizeof(err)) < 0)
			snprintf(row[4], CELL_MAX, "?");
		else
			snprintf(row[4], CELL_MAX,
				 is_null || strcmp(status, "audited") ? "-" : "%" PRId64, v);
		if (get_int(d, "findings", true, &v, &is_null, err, sizeof(err)) < 0)
			snprintf(row[5], CELL_MAX, "?");
		else
			snprintf(row[5], CELL_MAX,
				 is_null || strcmp(status, "audited") ? "-" : "%" PRId64, v);
	}
	printf("audit %" PRId64 ": %zu PV domain%s audited, %" PRId64 " pages in %.3fs\n", id,
	       audited, audited == 1 ? "" : "s", pages, duration);
	table_print(&t, stdout);
	table_free(&t);
	for (i = 0; i < nd; i++) {
		json_object *d = json_object_array_get_idx(doms, i);
		char nm[64];

		if (get_str(d, "status", &status, err, sizeof(err)) < 0 ||
		    get_str(d, "name", &name, err, sizeof(err)) < 0 ||
		    get_str(d, "type", &type, err, sizeof(err)) < 0)
			continue;
		if (strcmp(status, "not auditable") == 0)
			printf("%s: not auditable (%s)\n",
			       sanitize(name, nm, sizeof(nm), NAME_COLS),
			       strcmp(type, "pv") == 0 ? "its P2M could not be read"
						       : "the P2M is inside Xen");
		else if (strcmp(status, "skipped") == 0)
			printf("%s: skipped (dying, shut down or being built)\n",
			       sanitize(name, nm, sizeof(nm), NAME_COLS));
	}
	if (strcmp(result, "failed") == 0) {
		json_object_object_get_ex(last, "error", &err_v);
		memctl_warnx("audit %" PRId64 " failed: %s", id,
			     err_v && json_object_is_type(err_v, json_type_string)
				     ? sanitize(json_object_get_string(err_v), err, sizeof(err), 0)
				     : "no reason given");
		return MEMCTL_EXIT_DAEMON;
	}
	if (unconfirmed)
		printf("%" PRId64 " further findings could not be re-checked (too many to keep)\n",
		       unconfirmed);
	if (findings == 0 && !unconfirmed && audited == 0)
		printf("nothing audited: no PV domain in this audit could be checked\n");
	else if (findings == 0 && !unconfirmed)
		printf("clean: %zu PV domain%s, %" PRId64 " pages, no finding\n", audited,
		       audited == 1 ? "" : "s", pages);
	if (findings == 0)
		return MEMCTL_EXIT_OK;
	return print_audit_findings(fi, findings);
}

/* audit [DOM]: start an audit (after one already running), wait, report. */
static int cmd_audit(struct memctl *m, const struct memctl_cmd *cmd, int argc, char **argv)
{
	json_object *dom = NULL, *params, *reply = NULL, *result = NULL, *st_reply = NULL, *st;
	json_object *fi_reply = NULL, *fi = NULL, *last;
	int64_t id = 0, deadline = m->timeout_ms > 0 ? now_ms() + m->timeout_ms : -1, cur;
	bool running;
	char err[256];
	int r;

	if (argc == 1 && !(dom = domain_arg(cmd, argv[0])))
		return MEMCTL_EXIT_USAGE;
	for (;;) {
		params = json_object_new_object();
		if (dom)
			json_object_object_add(params, "domain", json_object_get(dom));
		/* Quiet when it may be "busy": then wait for that audit and ask again. */
		r = ctl_call(m, "audit.run", params, !m->no_wait, &reply, &result);
		if (r == MEMCTL_EXIT_OK || !m->error_reply || m->no_wait)
			break;
		if (m->error_code != RPC_ERR_BUSY || (deadline >= 0 && now_ms() >= deadline)) {
			/* Refused for another reason (or for too long): ask again and show it. */
			params = json_object_new_object();
			if (dom)
				json_object_object_add(params, "domain", json_object_get(dom));
			r = ctl_call(m, "audit.run", params, false, &reply, &result);
			break;
		}
		r = audit_state(m, &running, &cur);
		if (r == MEMCTL_EXIT_OK && running)
			r = audit_wait(m, cur, deadline);
		else if (r == MEMCTL_EXIT_OK) /* the backend is not ready yet */
			usleep(AUDIT_POLL_MS * 1000);
		if (r != MEMCTL_EXIT_OK)
			break;
	}
	json_object_put(dom);
	if (r != MEMCTL_EXIT_OK)
		return r;
	if (get_int(result, "id", false, &id, NULL, err, sizeof(err)) < 0) {
		json_object_put(reply);
		return malformed("audit.run", err);
	}
	if (m->no_wait) {
		if (m->json)
			print_json(result);
		else
			printf("audit %" PRId64 " started; see 'memctl audit' or audit.status\n", id);
		json_object_put(reply);
		return MEMCTL_EXIT_OK;
	}
	json_object_put(reply);
	r = audit_wait(m, id, deadline);
	if (r != MEMCTL_EXIT_OK)
		return r;
	params = json_object_new_object();
	json_object_object_add(params, "id", json_object_new_int64(id));
	r = ctl_call(m, "audit.status", params, false, &st_reply, &st);
	if (r != MEMCTL_EXIT_OK)
		return r;
	params = json_object_new_object();
	json_object_object_add(params, "id", json_object_new_int64(id));
	r = ctl_call(m, "audit.findings", params, false, &fi_reply, &fi);
	if (r != MEMCTL_EXIT_OK) {
		json_object_put(st_reply);
		return r;
	}
	if (m->json) {
		json_object *o = json_object_new_object();
		const char *res = "";
		int64_t n = 0;

		json_object_object_add(o, "status", json_object_get(st));
		json_object_object_add(o, "findings", json_object_get(fi));
		print_json(o);
		json_object_put(o);
		if (!json_object_object_get_ex(st, "last", &last) ||
		    get_str(last, "result", &res, err, sizeof(err)) < 0 ||
		    get_int(last, "findings", false, &n, NULL, err, sizeof(err)) < 0)
			r = malformed("audit.status", err);
		else
			r = strcmp(res, "failed") == 0 ? MEMCTL_EXIT_DAEMON
			    : n > 0		      ? MEMCTL_EXIT_FINDINGS
						      : MEMCTL_EXIT_OK;
	} else {
		r = print_audit(st, fi);
	}
	json_object_put(st_reply);
	json_object_put(fi_reply);
	return r;
}

const struct memctl_cmd cmd_audit_entry = {
	.name = "audit",
	.args = "[DOM]",
	.min_args = 0,
	.max_args = 1,
	.summary = "check the M2P/P2M of PV guests (exit 4 on findings)",
	.help = "Audit every PV guest's P2M (or DOM's only) against Xen's M2P and the owner\n"
		"of each frame, wait for the result (up to --timeout) and report it: a table\n"
		"of domains (DOMID NAME TYPE STATUS SCANNED FINDINGS), then per class of\n"
		"finding its count and first examples (pfn, mfn and M2P entry in hex). A\n"
		"finding counts only if it is still there when checked again a moment later\n"
		"(audit_settle). HVM and PVH guests are not auditable: their P2M is inside\n"
		"Xen. A finding is usually a guest bug or attack, not a hypervisor fault.\n"
		"If an audit is running already, memctl waits for it and then starts its own.\n"
		"--no-wait starts it and returns at once; --json prints {\"status\":\n"
		"<audit.status>, \"findings\": <audit.findings>}. Exit status 4: confirmed\n"
		"findings; 0: clean.",
	.exec = cmd_audit,
};
