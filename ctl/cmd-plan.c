/* SPDX-License-Identifier: GPL-2.0-or-later */
/* memctl plan: what balloond would change now (a dry run), as a table. */
#include "config.h"

#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>

#include <json-c/json.h>

#include "client.h"
#include "cmd.h"
#include "render.h"

/* plan: balloond's dry run as a table of actions, then its notes. */
static int cmd_plan(struct memctl *m, const struct memctl_cmd *cmd, int argc, char **argv)
{
	static const bool left[] = {false, true, true, false, false, true};
	json_object *reply = NULL, *result = NULL, *acts, *notes, *v;
	struct table t;
	size_t i, n;
	int r;

	r = ctl_call(m, "plan", NULL, false, &reply, &result);
	if (r != MEMCTL_EXIT_OK)
		return r;
	if (m->json) {
		print_json(result);
		json_object_put(reply);
		return MEMCTL_EXIT_OK;
	}
	if (!json_object_object_get_ex(result, "actions", &acts) ||
	    !json_object_is_type(acts, json_type_array) ||
	    !json_object_object_get_ex(result, "notes", &notes) ||
	    !json_object_is_type(notes, json_type_array)) {
		json_object_put(reply);
		return malformed("plan", "no \"actions\" or \"notes\" array");
	}
	if (json_object_object_get_ex(result, "paused", &v) && json_object_get_boolean(v))
		printf("balloond is paused; after 'memctl resume' it would:\n");
	n = json_object_array_length(acts);
	if (n == 0)
		printf("nothing to change: every target stands\n");
	if (n && table_init(&t, 6, left, n) == 0) {
		static const char *const head[] = {"DOMID", "NAME", "WHAT", "FROM", "TO", "WHY"};
		char(*row)[CELL_MAX] = table_add_row(&t);

		for (i = 0; i < 6; i++)
			snprintf(row[i], CELL_MAX, "%s", head[i]);
		for (i = 0; i < n; i++) {
			json_object *o = json_object_array_get_idx(acts, i);
			const char *s;
			char err[128];
			int64_t x;
			bool isnull;

			row = table_add_row(&t);
			if (!row)
				break;
			if (get_int(o, "domid", false, &x, NULL, err, sizeof(err)) == 0)
				snprintf(row[0], CELL_MAX, "%" PRId64, x);
			if (get_str(o, "name", &s, err, sizeof(err)) == 0)
				sanitize(s, row[1], CELL_MAX, NAME_COLS);
			if (get_str(o, "what", &s, err, sizeof(err)) == 0)
				sanitize(s, row[2], CELL_MAX, 0);
			if (get_kib(o, "from", true, &x, &isnull, err, sizeof(err)) == 0)
				isnull ? snprintf(row[3], CELL_MAX, "-") : (void)fmt_kib(x, row[3], CELL_MAX);
			if (get_kib(o, "to", false, &x, NULL, err, sizeof(err)) == 0)
				fmt_kib(x, row[4], CELL_MAX);
			if (get_str(o, "reason", &s, err, sizeof(err)) == 0)
				sanitize(s, row[5], CELL_MAX, 0);
			else
				snprintf(row[5], CELL_MAX, "-");
		}
		table_print(&t, stdout);
		table_free(&t);
	}
	for (i = 0; i < json_object_array_length(notes); i++) {
		char s[CELL_MAX];

		printf("note: %s\n", sanitize(json_object_get_string(json_object_array_get_idx(notes, i)),
					      s, sizeof(s), 0));
	}
	json_object_put(reply);
	return MEMCTL_EXIT_OK;
}

const struct memctl_cmd cmd_plan_entry = {
	.name = "plan",
	.args = "",
	.min_args = 0,
	.max_args = 0,
	.summary = "dry run: what balloond would change now",
	.help = "Ask balloond to decide on the host as it is now without writing anything:\n"
		"the targets and maxmem values it would write, from what to what and why,\n"
		"and reservation or state changes it would make. When balloond is paused,\n"
		"what it would do after 'memctl resume'.",
	.exec = cmd_plan,
};
