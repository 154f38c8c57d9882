/* SPDX-License-Identifier: GPL-2.0-or-later */
/* memctl reserve, reservations, transfer and cancel: memory freed and held
 * for a domain about to start, and what became of it. */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <json-c/json.h>

#include "client.h"
#include "cmd.h"
#include "render.h"
#include "units.h"

/* "4G" or "2G..3G" into KiB. 0 or -EINVAL/-ERANGE. */
static int range_parse(const char *s, uint64_t *ret_min, uint64_t *ret_max)
{
	const char *dots = strstr(s, "..");
	char lo[64];
	int r;

	if (!dots) {
		r = size_parse(s, ret_min);
		*ret_max = *ret_min;
		return r;
	}
	if ((size_t)(dots - s) >= sizeof(lo))
		return -EINVAL;
	memcpy(lo, s, (size_t)(dots - s));
	lo[dots - s] = '\0';
	r = size_parse(lo, ret_min);
	if (r == 0)
		r = size_parse(dots + 2, ret_max);
	if (r == 0 && *ret_min > *ret_max)
		return -EINVAL;
	return r;
}

/* One reservation in words: "3 granted 4G (held 4G, expires in 4m 58s)". */
static int resv_describe(json_object *o, char *buf, size_t len)
{
	const char *state, *why = NULL, *dom = NULL, *for_name = NULL;
	char err[128], a[32], b[32], c[32], st[32], w[200], dn[64];
	int64_t id, amount, mn, mx;
	double in = 0;
	bool has_in = false, dummy;
	json_object *v;

	if (get_int(o, "id", false, &id, NULL, err, sizeof(err)) < 0 ||
	    get_str(o, "state", &state, err, sizeof(err)) < 0 ||
	    get_kib(o, "amount", false, &amount, NULL, err, sizeof(err)) < 0 ||
	    get_kib(o, "min", false, &mn, NULL, err, sizeof(err)) < 0 ||
	    get_kib(o, "max", false, &mx, NULL, err, sizeof(err)) < 0)
		return -EPROTO;
	has_in = get_num(o, "expires_in", false, &in, &dummy, err, sizeof(err)) == 0 ||
		 get_num(o, "answer_in", false, &in, &dummy, err, sizeof(err)) == 0;
	if (json_object_object_get_ex(o, "why", &v) && json_object_is_type(v, json_type_string))
		why = json_object_get_string(v);
	if (json_object_object_get_ex(o, "domain", &v) && json_object_is_type(v, json_type_string))
		dom = json_object_get_string(v);
	if (json_object_object_get_ex(o, "for", &v) && json_object_is_type(v, json_type_string))
		for_name = json_object_get_string(v);
	if (!dom)
		dom = for_name;
	snprintf(buf, len, "reservation %" PRId64 " %s: %s%s%s%s%s%s%s%s", id,
		 sanitize(state, st, sizeof(st), 0), fmt_kib(amount, a, sizeof(a)),
		 mn != mx ? " (asked " : "", mn != mx ? fmt_kib(mn, b, sizeof(b)) : "",
		 mn != mx ? ".." : "", mn != mx ? fmt_kib(mx, c, sizeof(c)) : "",
		 mn != mx ? ")" : "", dom ? " for " : "", dom ? sanitize(dom, dn, sizeof(dn), 0) : "");
	if (has_in) {
		char t[32];

		snprintf(buf + strlen(buf), len - strlen(buf), "; %s in %s",
			 strcmp(state, "pending") == 0 ? "answer due" : "expires",
			 fmt_secs(in, true, t, sizeof(t)));
	}
	if (why)
		snprintf(buf + strlen(buf), len - strlen(buf), "; %s",
			 sanitize(why, w, sizeof(w), 0));
	return 0;
}

/* The reservation id from the list, or NULL (borrowed from result). */
static json_object *resv_pick(json_object *result, int64_t id)
{
	json_object *arr;
	size_t i;

	if (!json_object_object_get_ex(result, "reservations", &arr) ||
	    !json_object_is_type(arr, json_type_array))
		return NULL;
	for (i = 0; i < json_object_array_length(arr); i++) {
		json_object *o = json_object_array_get_idx(arr, i);
		int64_t v;
		char err[64];

		if (get_int(o, "id", false, &v, NULL, err, sizeof(err)) == 0 && v == id)
			return o;
	}
	return NULL;
}

/* Poll reservation id while its state is `while_state`, until deadline (ms);
 * *cur is replaced by each newer view. MEMCTL_EXIT_OK or a call's error. */
int resv_wait(struct memctl *m, int64_t id, const char *while_state, int64_t deadline,
	      json_object **cur)
{
	json_object *reply = NULL, *result = NULL, *found;
	const char *state;
	char err[128];
	int r;

	while (get_str(*cur, "state", &state, err, sizeof(err)) == 0 &&
	       strcmp(state, while_state) == 0 && now_ms() < deadline) {
		usleep(200 * 1000);
		r = ctl_call(m, "reservation.list", NULL, false, &reply, &result);
		if (r != MEMCTL_EXIT_OK)
			return r;
		found = resv_pick(result, id);
		if (found) {
			json_object_put(*cur);
			*cur = json_object_get(found);
		}
		json_object_put(reply);
		if (!found)
			break;
	}
	return MEMCTL_EXIT_OK;
}

int resv_ask(struct memctl *m, json_object *params, int64_t *ret_id, json_object **ret_cur)
{
	json_object *reply = NULL, *result = NULL;
	char err[256];
	int r;

	r = ctl_call(m, "reserve", params, false, &reply, &result);
	if (r != MEMCTL_EXIT_OK)
		return r;
	if (get_int(result, "id", false, ret_id, NULL, err, sizeof(err)) < 0) {
		json_object_put(reply);
		return malformed("reserve", err);
	}
	*ret_cur = json_object_get(result);
	json_object_put(reply);
	if (m->no_wait)
		return MEMCTL_EXIT_OK;
	/* Wait for the answer unless told not to: balloond frees memory now. */
	r = resv_wait(m, *ret_id, "pending", now_ms() + (int64_t)m->wait_s * 1000, ret_cur);
	if (r != MEMCTL_EXIT_OK)
		json_object_put(*ret_cur);
	return r;
}

int resv_print(json_object *o)
{
	char line[512];

	if (resv_describe(o, line, sizeof(line)) < 0)
		return malformed("reservation.list", "a reservation lacks a member");
	printf("%s\n", line);
	return MEMCTL_EXIT_OK;
}

/* reserve SIZE|MIN..MAX: ask, then wait for the answer unless --no-wait. */
static int cmd_reserve(struct memctl *m, const struct memctl_cmd *cmd, int argc, char **argv)
{
	json_object *params, *cur;
	uint64_t mn, mx;
	int64_t id;
	const char *state;
	char line[512], err[256];
	int r;

	r = range_parse(argv[0], &mn, &mx);
	if (r < 0 || !mn)
		return usage_error(cmd, "%s: bad size \"%s\": give SIZE (e.g. 4G) or MIN..MAX "
					"(e.g. 2G..4G)", cmd->name, argv[0]);
	params = json_object_new_object();
	if (mn == mx) {
		json_object_object_add(params, "size", json_object_new_int64((int64_t)mn));
	} else {
		json_object_object_add(params, "min", json_object_new_int64((int64_t)mn));
		json_object_object_add(params, "max", json_object_new_int64((int64_t)mx));
	}
	if (m->ttl_s)
		json_object_object_add(params, "ttl", json_object_new_int64(m->ttl_s));
	if (m->for_name)
		json_object_object_add(params, "for", json_object_new_string(m->for_name));
	r = resv_ask(m, params, &id, &cur);
	if (r != MEMCTL_EXIT_OK)
		return r;
	if (m->json) {
		print_json(cur);
	} else if (resv_describe(cur, line, sizeof(line)) < 0) {
		json_object_put(cur);
		return malformed("reservation.list", "a reservation lacks a member");
	} else {
		printf("%s\n", line);
	}
	r = get_str(cur, "state", &state, err, sizeof(err)) == 0 &&
			    (strcmp(state, "failed") == 0 || strcmp(state, "expired") == 0 ||
			     strcmp(state, "cancelled") == 0)
		    ? MEMCTL_EXIT_DAEMON
		    : MEMCTL_EXIT_OK;
	if (!m->json && r == MEMCTL_EXIT_OK && strcmp(state, "granted") == 0 && m->for_name)
		printf("it goes to the domain named %s when that is created (e.g. xl create)\n",
		       sanitize(m->for_name, line, sizeof(line), 0));
	else if (!m->json && r == MEMCTL_EXIT_OK && strcmp(state, "granted") == 0)
		printf("hand it to the new domain with: memctl transfer %" PRId64 " DOM\n", id);
	json_object_put(cur);
	return r;
}

/* reservations: one table row per reservation. */
static int cmd_reservations(struct memctl *m, const struct memctl_cmd *cmd, int argc, char **argv)
{
	static const bool left[] = {false, true, false, false, false, false, true, false, true};
	json_object *reply = NULL, *result = NULL, *arr;
	struct table t;
	size_t i;
	int r;

	r = ctl_call(m, "reservation.list", NULL, false, &reply, &result);
	if (r != MEMCTL_EXIT_OK)
		return r;
	if (m->json) {
		print_json(result);
		json_object_put(reply);
		return MEMCTL_EXIT_OK;
	}
	if (!json_object_object_get_ex(result, "reservations", &arr) ||
	    !json_object_is_type(arr, json_type_array)) {
		json_object_put(reply);
		return malformed("reservation.list", "no \"reservations\" array");
	}
	if (json_object_array_length(arr) == 0) {
		printf("no reservation\n");
		json_object_put(reply);
		return MEMCTL_EXIT_OK;
	}
	if (table_init(&t, 9, left, json_object_array_length(arr)) < 0) {
		json_object_put(reply);
		return MEMCTL_EXIT_DAEMON;
	}
	{
		static const char *const head[] = {"ID",   "STATE",  "AMOUNT", "MIN", "MAX",
						   "HELD", "DOMAIN", "IN",     "WHY"};
		char(*row)[CELL_MAX] = table_add_row(&t);

		for (i = 0; i < 9; i++)
			snprintf(row[i], CELL_MAX, "%s", head[i]);
	}
	for (i = 0; i < json_object_array_length(arr); i++) {
		json_object *o = json_object_array_get_idx(arr, i), *v;
		char(*row)[CELL_MAX] = table_add_row(&t);
		char err[128];
		const char *s;
		int64_t x;
		double in;
		bool dummy;

		if (!row)
			break;
		if (get_int(o, "id", false, &x, NULL, err, sizeof(err)) < 0 ||
		    get_str(o, "state", &s, err, sizeof(err)) < 0) {
			table_free(&t);
			json_object_put(reply);
			return malformed("reservation.list", err);
		}
		snprintf(row[0], CELL_MAX, "%" PRId64, x);
		sanitize(s, row[1], CELL_MAX, 0);
		if (get_kib(o, "amount", false, &x, NULL, err, sizeof(err)) == 0)
			fmt_kib(x, row[2], CELL_MAX);
		if (get_kib(o, "min", false, &x, NULL, err, sizeof(err)) == 0)
			fmt_kib(x, row[3], CELL_MAX);
		if (get_kib(o, "max", false, &x, NULL, err, sizeof(err)) == 0)
			fmt_kib(x, row[4], CELL_MAX);
		if (get_kib(o, "held", false, &x, NULL, err, sizeof(err)) == 0)
			fmt_kib(x, row[5], CELL_MAX);
		if (json_object_object_get_ex(o, "domain", &v) &&
		    json_object_is_type(v, json_type_string))
			sanitize(json_object_get_string(v), row[6], CELL_MAX, NAME_COLS);
		else if (json_object_object_get_ex(o, "for", &v) &&
			 json_object_is_type(v, json_type_string))
			sanitize(json_object_get_string(v), row[6], CELL_MAX, NAME_COLS);
		else
			snprintf(row[6], CELL_MAX, "-");
		if (get_num(o, "expires_in", false, &in, &dummy, err, sizeof(err)) == 0 ||
		    get_num(o, "answer_in", false, &in, &dummy, err, sizeof(err)) == 0)
			fmt_secs(in, true, row[7], CELL_MAX);
		else
			snprintf(row[7], CELL_MAX, "-");
		if (json_object_object_get_ex(o, "why", &v) &&
		    json_object_is_type(v, json_type_string))
			sanitize(json_object_get_string(v), row[8], CELL_MAX, 0);
		else
			snprintf(row[8], CELL_MAX, "-");
	}
	table_print(&t, stdout);
	table_free(&t);
	json_object_put(reply);
	return MEMCTL_EXIT_OK;
}

/* A reservation id argument; -1 when it is not one. */
static int64_t resv_id_arg(const char *s)
{
	uint64_t v;

	return u64_parse_strict(s, UINT32_MAX, &v) == 0 && v ? (int64_t)v : -1;
}

/* cancel ID / transfer ID DOM: call, then say what became of it. */
static int resv_call(struct memctl *m, const struct memctl_cmd *cmd, const char *method,
		     json_object *params)
{
	json_object *reply = NULL, *result = NULL;
	char line[512];
	int r = ctl_call(m, method, params, false, &reply, &result);

	if (r != MEMCTL_EXIT_OK)
		return r;
	if (m->json)
		print_json(result);
	else if (resv_describe(result, line, sizeof(line)) < 0)
		r = malformed(method, "the result is not a reservation");
	else
		printf("%s\n", line);
	json_object_put(reply);
	return r;
}

/* cancel --for NAME: every active reservation made for NAME (none is fine:
 * a libvirt release hook calls it whether or not one is left). */
static int cancel_for(struct memctl *m, const char *name)
{
	json_object *reply = NULL, *result = NULL, *arr;
	int64_t ids[64];
	size_t i, n = 0;
	char nm[64];
	int r;

	r = ctl_call(m, "reservation.list", NULL, false, &reply, &result);
	if (r != MEMCTL_EXIT_OK)
		return r;
	if (!json_object_object_get_ex(result, "reservations", &arr) ||
	    !json_object_is_type(arr, json_type_array)) {
		json_object_put(reply);
		return malformed("reservation.list", "no \"reservations\" array");
	}
	for (i = 0; i < json_object_array_length(arr) && n < 64; i++) {
		json_object *o = json_object_array_get_idx(arr, i), *v;
		const char *st = NULL;
		char err[64];
		int64_t id;

		if (json_object_object_get_ex(o, "for", &v) &&
		    json_object_is_type(v, json_type_string) &&
		    strcmp(json_object_get_string(v), name) == 0 &&
		    get_str(o, "state", &st, err, sizeof(err)) == 0 &&
		    (strcmp(st, "pending") == 0 || strcmp(st, "granted") == 0 ||
		     strcmp(st, "transferred") == 0) &&
		    get_int(o, "id", false, &id, NULL, err, sizeof(err)) == 0)
			ids[n++] = id;
	}
	json_object_put(reply);
	if (!n && !m->json)
		printf("no active reservation for %s\n", sanitize(name, nm, sizeof(nm), 0));
	for (i = 0; i < n && r == MEMCTL_EXIT_OK; i++) {
		json_object *params = json_object_new_object();

		json_object_object_add(params, "id", json_object_new_int64(ids[i]));
		r = resv_call(m, NULL, "reservation.cancel", params);
	}
	return r;
}

/* cancel ID | cancel --for NAME */
static int cmd_cancel(struct memctl *m, const struct memctl_cmd *cmd, int argc, char **argv)
{
	int64_t id;
	json_object *params;

	if (argc == 0 && m->for_name)
		return cancel_for(m, m->for_name);
	if (argc == 0 || m->for_name)
		return usage_error(cmd, "%s: give a reservation ID or --for NAME", cmd->name);
	id = resv_id_arg(argv[0]);
	if (id < 0)
		return usage_error(cmd, "%s: \"%s\" is not a reservation id", cmd->name, argv[0]);
	params = json_object_new_object();
	json_object_object_add(params, "id", json_object_new_int64(id));
	return resv_call(m, cmd, "reservation.cancel", params);
}

/* transfer ID DOM */
static int cmd_transfer(struct memctl *m, const struct memctl_cmd *cmd, int argc, char **argv)
{
	int64_t id = resv_id_arg(argv[0]);
	json_object *params, *dom;

	if (id < 0)
		return usage_error(cmd, "%s: \"%s\" is not a reservation id", cmd->name, argv[0]);
	dom = domain_arg(cmd, argv[1]);
	if (!dom)
		return MEMCTL_EXIT_USAGE;
	params = json_object_new_object();
	json_object_object_add(params, "id", json_object_new_int64(id));
	json_object_object_add(params, "domain", dom);
	return resv_call(m, cmd, "reservation.transfer", params);
}

const struct memctl_cmd cmd_reserve_entry = {
	.name = "reserve",
	.args = "SIZE|MIN..MAX [--for NAME]",
	.min_args = 1,
	.max_args = 1,
	.summary = "free memory for a VM about to start",
	.help = "Ask balloond to free SIZE (or as much as it can between MIN and MAX) and\n"
		"hold it for a new domain: guests give memory back first, and the\n"
		"reservation is granted once host free memory covers it beyond the safety\n"
		"pool. memctl waits for the answer (up to reserve_timeout; --no-wait returns\n"
		"at once) and exits 1 when it failed, naming the guests that did not give\n"
		"memory back. A granted reservation is held for --ttl (default\n"
		"reserve_ttl in balloond.conf) until 'memctl transfer' hands it to the new\n"
		"domain or 'memctl cancel' gives it back. With --for NAME it is handed to\n"
		"the domain named NAME by itself as soon as balloond sees it (start it with\n"
		"xl create once granted), or expires with its TTL. Reservations survive a\n"
		"restart of balloond.\n"
		"Example: memctl reserve 4G --ttl 10m; memctl reserve 2G..4G;\n"
		"memctl reserve 1G --for web3 && xl create web3.cfg",
	.exec = cmd_reserve,
};

const struct memctl_cmd cmd_reservations_entry = {
	.name = "reservations",
	.args = "",
	.min_args = 0,
	.max_args = 0,
	.summary = "reservations and what became of them",
	.help = "One line per reservation: id, state (pending, granted, transferred, failed,\n"
		"expired, cancelled, done), the amount, the range asked for, what it holds\n"
		"now, the domain it was transferred to, the time left (to its answer while\n"
		"pending, to its expiry after) and why it ended. Ended ones are listed\n"
		"for a minute.",
	.exec = cmd_reservations,
};

const struct memctl_cmd cmd_transfer_entry = {
	.name = "transfer",
	.args = "ID DOM",
	.min_args = 2,
	.max_args = 2,
	.summary = "hand a granted reservation to its domain",
	.help = "The domain DOM (just created for it) takes reservation ID's memory: the\n"
		"reservation holds what the domain has not populated yet and ends when the\n"
		"domain runs. DOM may be a domid balloond has not seen yet.",
	.exec = cmd_transfer,
};

const struct memctl_cmd cmd_cancel_entry = {
	.name = "cancel",
	.args = "ID | --for NAME",
	.min_args = 0,
	.max_args = 1,
	.summary = "give a reservation's memory back",
	.help = "End reservation ID now; its memory returns to the guests. With --for NAME\n"
		"instead of an ID: every active reservation made for NAME (none is not an\n"
		"error), e.g. from a libvirt hook when a start is given up.",
	.exec = cmd_cancel,
};
