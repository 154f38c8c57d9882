/* SPDX-License-Identifier: GPL-2.0-or-later */
/* memctl status, list, show and explain: the host and its domains as
 * balloond sees them, as tables and "key: value" lines. */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <json-c/json.h>

#include "client.h"
#include "cmd.h"
#include "render.h"

/* ---- output of domains ---- */

static const struct field domain_columns[] = {
	{"DOMID", "domid", FIELD_INT},	      {"NAME", "name", FIELD_NAME},
	{"TYPE", "type", FIELD_STR},	      {"MODE", "mode", FIELD_STR},
	{"STATE", "state", FIELD_STR},	      {"ACTUAL", "actual", FIELD_KIB},
	{"TARGET", "target", FIELD_KIB_NULL}, {"DMIN", "dmin", FIELD_KIB},
	{"DMAX", "dmax", FIELD_KIB},	      {"MAXMEM", "maxmem", FIELD_KIB},
	{"RATE", "rate", FIELD_RATE},	      {"ETA", "eta", FIELD_ETA},
};
#define N_DOMAIN_COLUMNS (sizeof(domain_columns) / sizeof(*domain_columns))
static const bool domain_left[N_DOMAIN_COLUMNS] = {false, true, true, true, true};

/* The domains array of a domain.list result (borrowed), or NULL. */
static json_object *list_domains(json_object *result)
{
	json_object *doms;

	if (!json_object_is_type(result, json_type_object) ||
	    !json_object_object_get_ex(result, "domains", &doms) ||
	    !json_object_is_type(doms, json_type_array))
		return NULL;
	return doms;
}

/* The domain table (list, status). */
static int print_domains(const char *method, json_object *doms)
{
	size_t i, c, n = json_object_array_length(doms);
	struct table t;
	char(*row)[CELL_MAX];
	char err[256], what[320];

	if (n == 0) {
		printf("no domains\n");
		return MEMCTL_EXIT_OK;
	}
	if (table_init(&t, N_DOMAIN_COLUMNS, domain_left, n) < 0) {
		memctl_warnx("out of memory");
		return MEMCTL_EXIT_DAEMON;
	}
	row = table_add_row(&t);
	for (c = 0; c < N_DOMAIN_COLUMNS; c++)
		snprintf(row[c], CELL_MAX, "%s", domain_columns[c].label);
	for (i = 0; i < n; i++) {
		json_object *dom = json_object_array_get_idx(doms, i);

		row = table_add_row(&t);
		if (!row) {
			table_free(&t);
			memctl_warnx("out of memory");
			return MEMCTL_EXIT_DAEMON;
		}
		for (c = 0; c < N_DOMAIN_COLUMNS; c++)
			if (field_format(dom, &domain_columns[c], row[c], CELL_MAX, err,
					 sizeof(err)) < 0) {
				table_free(&t);
				snprintf(what, sizeof(what), "domains[%zu]: %s", i, err);
				return malformed(method, what);
			}
	}
	table_print(&t, stdout);
	table_free(&t);
	return MEMCTL_EXIT_OK;
}

/* list: the domain table. */
static int cmd_list(struct memctl *m, const struct memctl_cmd *cmd, int argc, char **argv)
{
	json_object *reply = NULL, *result = NULL, *doms;
	int r;

	r = ctl_call(m, "domain.list", NULL, false, &reply, &result);
	if (r != MEMCTL_EXIT_OK)
		return r;
	doms = list_domains(result);
	if (!doms)
		r = malformed("domain.list", "member \"domains\" is missing or not an array");
	else if (m->json)
		print_json(result);
	else
		r = print_domains("domain.list", doms);
	json_object_put(reply);
	return r;
}

/* The pressure level in words, or NULL when balloond names one we do not know. */
static const char *pressure_words(const char *p)
{
	if (strcmp(p, "none") == 0)
		return "none (every target honoured)";
	if (strcmp(p, "tight") == 0)
		return "tight (some domains held at dynamic-min: the host is short)";
	if (strcmp(p, "critical") == 0)
		return "critical (host free memory is below the safety pool)";
	return NULL;
}

/* The xl line of status (host.status's "xl", absent from older daemons):
 * the facts, and the advice unless all is well. */
static void print_xl(json_object *h)
{
	json_object *xl, *v;
	const char *summary = NULL, *verdict = NULL, *advice = NULL;
	char b1[512], b2[32], b3[512];

	if (!json_object_object_get_ex(h, "xl", &xl) || !json_object_is_type(xl, json_type_object))
		return;
	if (json_object_object_get_ex(xl, "summary", &v) && json_object_is_type(v, json_type_string))
		summary = json_object_get_string(v);
	if (json_object_object_get_ex(xl, "verdict", &v) && json_object_is_type(v, json_type_string))
		verdict = json_object_get_string(v);
	if (json_object_object_get_ex(xl, "advice", &v) && json_object_is_type(v, json_type_string))
		advice = json_object_get_string(v);
	if (!summary || !verdict)
		return;
	printf("xl:        %s [%s]", sanitize(summary, b1, sizeof(b1), 400),
	       sanitize(verdict, b2, sizeof(b2), 16));
	if (strcmp(verdict, "ok") != 0 && advice)
		printf(": %s", sanitize(advice, b3, sizeof(b3), 400));
	printf("\n");
}

/* The host summary of status, from a host.status result. */
static int print_host(json_object *h)
{
	static const char *const sizes[] = {"total",	 "free",      "pool",
					    "committed", "available", "reserved"};
	static const char *const counts[] = {"domains", "managed", "converging", "stalled",
					     "uncooperative"};
	int64_t kib[6], n[5], claimed;
	const char *backend, *mode, *pressure, *words;
	char s[6][32], err[256], buf[64], up[32];
	double uptime;
	size_t i;

	for (i = 0; i < 6; i++)
		if (get_int(h, sizes[i], false, &kib[i], NULL, err, sizeof(err)) < 0)
			return malformed("host.status", err);
	for (i = 0; i < 5; i++)
		if (get_int(h, counts[i], false, &n[i], NULL, err, sizeof(err)) < 0)
			return malformed("host.status", err);
	if (get_str(h, "backend", &backend, err, sizeof(err)) < 0 ||
	    get_str(h, "mode", &mode, err, sizeof(err)) < 0 ||
	    get_str(h, "pressure", &pressure, err, sizeof(err)) < 0 ||
	    get_num(h, "uptime", false, &uptime, NULL, err, sizeof(err)) < 0)
		return malformed("host.status", err);
	for (i = 0; i < 6; i++)
		fmt_kib(kib[i], s[i], sizeof(s[i]));
	printf("memory:    %s total, %s free, pool %s, committed %s, available %s, reserved %s",
	       s[0], s[1], s[2], s[3], s[4], s[5]);
	/* claims of domains being built (libxl's claim_mode), when there are */
	if (get_int(h, "outstanding", false, &claimed, NULL, err, sizeof(err)) == 0 && claimed > 0) {
		fmt_kib(claimed, s[0], sizeof(s[0]));
		printf(", claimed %s", s[0]);
	}
	printf("\n");
	words = pressure_words(pressure);
	printf("pressure:  %s\n", words ? words : sanitize(pressure, buf, sizeof(buf), 32));
	printf("mode:      %s", sanitize(mode, buf, sizeof(buf), 32));
	printf(" (backend %s, up %s)\n", sanitize(backend, buf, sizeof(buf), 32),
	       fmt_secs(uptime, false, up, sizeof(up)));
	printf("domains:   %" PRId64 ", %" PRId64 " managed, %" PRId64 " converging, %" PRId64
	       " stalled, %" PRId64 " uncooperative\n",
	       n[0], n[1], n[2], n[3], n[4]);
	print_xl(h);
	return MEMCTL_EXIT_OK;
}

/* status: the host summary, then the domain table. */
static int cmd_status(struct memctl *m, const struct memctl_cmd *cmd, int argc, char **argv)
{
	json_object *hreply = NULL, *host = NULL, *lreply = NULL, *list = NULL, *doms;
	int r;

	r = ctl_call(m, "host.status", NULL, false, &hreply, &host);
	if (r != MEMCTL_EXIT_OK)
		return r;
	r = ctl_call(m, "domain.list", NULL, false, &lreply, &list);
	if (r != MEMCTL_EXIT_OK) {
		json_object_put(hreply);
		return r;
	}
	doms = list_domains(list);
	if (!json_object_is_type(host, json_type_object)) {
		r = malformed("host.status", "the result is not an object");
	} else if (!doms) {
		r = malformed("domain.list", "member \"domains\" is missing or not an array");
	} else if (m->json) {
		json_object *o = json_object_new_object();

		json_object_object_add(o, "host", json_object_get(host));
		json_object_object_add(o, "domains", json_object_get(doms));
		print_json(o);
		json_object_put(o);
	} else {
		r = print_host(host);
		if (r == MEMCTL_EXIT_OK) {
			printf("\n");
			r = print_domains("domain.list", doms);
		}
	}
	json_object_put(hreply);
	json_object_put(lreply);
	return r;
}

static const struct field show_fields[] = {
	{"domid", "domid", FIELD_INT},
	{"name", "name", FIELD_STR},
	{"type", "type", FIELD_STR},
	{"mode", "mode", FIELD_STR},
	{"state", "state", FIELD_STR},
	{"actual", "actual", FIELD_KIB},
	{"target", "target", FIELD_KIB_NULL},
	{"maxmem", "maxmem", FIELD_KIB},
	{"dynamic-min", "dmin", FIELD_KIB},
	{"dynamic-max", "dmax", FIELD_KIB},
	{"static-max", "static_max", FIELD_KIB},
	{"weight", "weight", FIELD_INT},
	{"demand", "demand", FIELD_KIB_NULL},
	{"rate", "rate", FIELD_RATE},
	{"eta", "eta", FIELD_ETA},
};

static const struct field decision_columns[] = {
	{"AGO", "ago", FIELD_AGO},
	{"OLD", "old", FIELD_KIB_NULL},
	{"NEW", "new", FIELD_KIB},
	{"REASON", "reason", FIELD_STR},
};
static const bool decision_left[] = {false, false, false, true};

/* One "key: value" line, values aligned. */
static void print_kv(const char *key, const char *value)
{
	size_t n = strlen(key);

	printf("%s:%*s %s\n", key, n < 12 ? (int)(12 - n) : 0, "", value);
}

/* "key: value" lines, bounds, the reason, then the decisions table. */
int print_domain_detail(json_object *dom)
{
	const char *method = "domain.get", *dmin_src, *dmax_src, *reason;
	json_object *bounds, *decs;
	char val[CELL_MAX], err[256], what[320], c[32];
	int64_t ceiling;
	struct table t;
	size_t i, k, n;

	for (i = 0; i < sizeof(show_fields) / sizeof(*show_fields); i++) {
		if (field_format(dom, &show_fields[i], val, sizeof(val), err, sizeof(err)) < 0)
			return malformed(method, err);
		print_kv(show_fields[i].label, val);
	}
	if (!json_object_object_get_ex(dom, "bounds", &bounds) ||
	    get_str(bounds, "dmin_source", &dmin_src, err, sizeof(err)) < 0 ||
	    get_str(bounds, "dmax_source", &dmax_src, err, sizeof(err)) < 0 ||
	    get_kib(bounds, "ceiling", false, &ceiling, NULL, err, sizeof(err)) < 0) {
		if (!bounds)
			snprintf(err, sizeof(err), "member \"bounds\" is missing");
		snprintf(what, sizeof(what), "bounds: %s", err);
		return malformed(method, what);
	}
	snprintf(what, sizeof(what), "%s (dynamic-min from %s, ", fmt_kib(ceiling, c, sizeof(c)),
		 sanitize(dmin_src, val, 32, 0));
	snprintf(what + strlen(what), sizeof(what) - strlen(what), "dynamic-max from %s)",
		 sanitize(dmax_src, val, 32, 0));
	print_kv("ceiling", what);
	if (get_str(dom, "reason", &reason, err, sizeof(err)) < 0)
		return malformed(method, err);
	print_kv("reason", sanitize(reason, val, sizeof(val), 0));

	if (!json_object_object_get_ex(dom, "decisions", &decs) ||
	    !json_object_is_type(decs, json_type_array))
		return malformed(method, "member \"decisions\" is missing or not an array");
	n = json_object_array_length(decs);
	printf("\n");
	if (n == 0) {
		printf("no decisions yet\n");
		return MEMCTL_EXIT_OK;
	}
	printf("recent decisions (newest first):\n");
	if (table_init(&t, 4, decision_left, n) < 0) {
		memctl_warnx("out of memory");
		return MEMCTL_EXIT_DAEMON;
	}
	{
		char(*row)[CELL_MAX] = table_add_row(&t);

		for (k = 0; k < 4; k++)
			snprintf(row[k], CELL_MAX, "%s", decision_columns[k].label);
		for (i = 0; i < n; i++) {
			json_object *d = json_object_array_get_idx(decs, i);

			row = table_add_row(&t);
			if (!row) {
				table_free(&t);
				memctl_warnx("out of memory");
				return MEMCTL_EXIT_DAEMON;
			}
			for (k = 0; k < 4; k++)
				if (field_format(d, &decision_columns[k], row[k], CELL_MAX, err,
						 sizeof(err)) < 0) {
					table_free(&t);
					snprintf(what, sizeof(what), "decisions[%zu]: %s", i, err);
					return malformed(method, what);
				}
		}
	}
	table_print(&t, stdout);
	table_free(&t);
	return MEMCTL_EXIT_OK;
}

/* show DOM: every field, bounds, reason and recent decisions. */
static int cmd_show(struct memctl *m, const struct memctl_cmd *cmd, int argc, char **argv)
{
	json_object *params = domain_params(cmd, argv[0]), *reply = NULL, *result = NULL;
	int r;

	if (!params)
		return MEMCTL_EXIT_USAGE;
	r = ctl_call(m, "domain.get", params, false, &reply, &result);
	if (r != MEMCTL_EXIT_OK)
		return r;
	if (m->json)
		print_json(result);
	else
		r = print_domain_detail(result);
	json_object_put(reply);
	return r;
}

/* explain DOM: the decisive reason first, then the whole picture. */
static int cmd_explain(struct memctl *m, const struct memctl_cmd *cmd, int argc, char **argv)
{
	json_object *params = domain_params(cmd, argv[0]), *reply = NULL, *result = NULL;
	const char *reason, *state, *mode, *report = NULL, *source = NULL;
	char name[128], r1[CELL_MAX], s1[32], m1[32], a[32], t[32], err[256];
	int64_t actual, target = 0, used = 0, demand = 0;
	bool tnull = false, unull = true, dnull = true;
	json_object *v;
	int r;

	if (!params)
		return MEMCTL_EXIT_USAGE;
	r = ctl_call(m, "domain.get", params, false, &reply, &result);
	if (r != MEMCTL_EXIT_OK)
		return r;
	if (m->json) {
		print_json(result);
		json_object_put(reply);
		return MEMCTL_EXIT_OK;
	}
	if (!result_name(result, name, sizeof(name)) ||
	    get_str(result, "reason", &reason, err, sizeof(err)) < 0 ||
	    get_str(result, "state", &state, err, sizeof(err)) < 0 ||
	    get_str(result, "mode", &mode, err, sizeof(err)) < 0 ||
	    get_kib(result, "actual", false, &actual, NULL, err, sizeof(err)) < 0 ||
	    get_kib(result, "target", true, &target, &tnull, err, sizeof(err)) < 0) {
		json_object_put(reply);
		return malformed("domain.get", err);
	}
	get_kib(result, "used", true, &used, &unull, err, sizeof(err));
	get_kib(result, "demand", true, &demand, &dnull, err, sizeof(err));
	if (json_object_object_get_ex(result, "report", &v) && json_object_is_type(v, json_type_string))
		report = json_object_get_string(v);
	printf("%s: target %s, actual %s (%s, %s)\n", name,
	       tnull ? "unset" : fmt_kib(target, t, sizeof(t)), fmt_kib(actual, a, sizeof(a)),
	       sanitize(mode, m1, sizeof(m1), 0), sanitize(state, s1, sizeof(s1), 0));
	printf("decided by: %s\n", sanitize(reason, r1, sizeof(r1), 0));
	if (json_object_object_get_ex(result, "report_source", &v) &&
	    json_object_is_type(v, json_type_string))
		source = json_object_get_string(v);
	if (!unull && !dnull && report && strcmp(report, "used") == 0)
		printf("demand:     uses %s by its own report (%s), needs %s (used + demand_buffer)\n",
		       fmt_kib(used, a, sizeof(a)), sanitize(source ? source : "?", r1, sizeof(r1), 0),
		       fmt_kib(demand, t, sizeof(t)));
	else if (!unull && !dnull)
		printf("demand:     under memory pressure: needs %s\n", fmt_kib(demand, t, sizeof(t)));
	else
		printf("demand:     %s\n",
		       report && strncmp(report, "rejected", 8) == 0
			       ? "its report was rejected as implausible"
		       : report && strcmp(report, "stale") == 0
			       ? "its report is stale (not renewed since it was resized): the weighted fair share decides"
			       : "no report: the weighted fair share decides");
	if (json_object_object_get_ex(result, "offset", &v) && json_object_is_type(v, json_type_int) &&
	    json_object_get_int64(v) != 0) {
		int64_t off = json_object_get_int64(v);
		json_object *l = NULL;

		json_object_object_get_ex(result, "offset_learned", &l);
		printf("offset:     rests %s%s from its target (%s)\n", off < 0 ? "-" : "+",
		       fmt_kib((uint64_t)(off < 0 ? -off : off), a, sizeof(a)),
		       l && json_object_get_boolean(l) ? "learned at rest" : "videoram");
	}
	if (json_object_object_get_ex(result, "damped", &v) && json_object_get_boolean(v))
		printf("damping:    its target reversed too often: held back for now\n");
	if (strcmp(state, "uncooperative") == 0)
		printf("state:      uncooperative: counted as it is, not asked to give memory\n");
	else if (strcmp(state, "stalled") == 0)
		printf("state:      stalled: its target is re-armed\n");
	else if (strcmp(state, "paused") == 0)
		printf("state:      paused: left alone (nothing written) until it runs again\n");
	else if (strcmp(state, "no-driver") == 0)
		printf("state:      no-driver: no target written until its balloon driver is "
		       "ready\n");
	printf("\n");
	r = print_domain_detail(result);
	json_object_put(reply);
	return r;
}

const struct memctl_cmd cmd_status_entry = {
	.name = "status",
	.args = "",
	.min_args = 0,
	.max_args = 0,
	.summary = "host summary, then every domain",
	.help = "Show the host's memory (total, free, the safety pool, memory committed to\n"
		"targets still being reached, what is available, reservations), the\n"
		"pressure level and mode, then the domain table of 'memctl list'.\n"
		"With --json: {\"host\": <host.status>, \"domains\": [<domain>...]}.",
	.exec = cmd_status,
};

const struct memctl_cmd cmd_list_entry = {
	.name = "list",
	.alias = "ls",
	.args = "",
	.min_args = 0,
	.max_args = 0,
	.summary = "every domain as a table",
	.help = "One line per domain: id, name, type, mode (auto, pinned, frozen, excluded),\n"
		"balloon state (idle, converging, stalled, uncooperative, building, dying,\n"
		"paused, no-driver),\n"
		"actual memory, target, dynamic-min, dynamic-max, maxmem, the rate the\n"
		"balloon moves at (negative: shrinking) and the time left to reach the\n"
		"target. \"-\" means unknown or not applicable. Names longer than 20\n"
		"characters are cut and end in \"~\".",
	.exec = cmd_list,
};

const struct memctl_cmd cmd_show_entry = {
	.name = "show",
	.args = "DOM",
	.min_args = 1,
	.max_args = 1,
	.summary = "one domain: bounds, why its target, recent decisions",
	.help = "Every field of one domain, where its bounds come from, the reason for its\n"
		"current target, and balloond's last decisions about it (newest first).\n"
		"DOM is a domain id (all digits) or a name.",
	.exec = cmd_show,
};

const struct memctl_cmd cmd_explain_entry = {
	.name = "explain",
	.args = "DOM",
	.min_args = 1,
	.max_args = 1,
	.summary = "why a domain has its target",
	.help = "What decided DOM's target (a bound, its demand, its weight's fair share, a\n"
		"pin, its balloon state), what it reports using, then every field and\n"
		"balloond's recent decisions about it, newest first.",
	.exec = cmd_explain,
};
