/* SPDX-License-Identifier: GPL-2.0-or-later */
/* memctl events and metrics: balloond's event stream as lines of words,
 * and its metrics as a table or in the Prometheus text format. */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <json-c/json.h>

#include "client.h"
#include "cmd.h"
#include "jsonrpc.h"
#include "render.h"

/* An integer member, or -1 when missing or not an integer. */
static int64_t member_int(json_object *o, const char *key)
{
	json_object *v;

	if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_int))
		return -1;
	return json_object_get_int64(v);
}

/* A string member sanitized into buf, or NULL when missing or not a string. */
static const char *member_str(json_object *o, const char *key, char *buf, size_t len)
{
	json_object *v;

	if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string))
		return NULL;
	return sanitize(json_object_get_string(v), buf, len, 0);
}

/* A size member in words: "2G", or "unset" when null or missing. */
static const char *member_kib(json_object *o, const char *key, char *buf, size_t len)
{
	int64_t v = member_int(o, key);

	if (v < 0)
		snprintf(buf, len, "unset");
	else
		fmt_kib(v, buf, len);
	return buf;
}

/* One event notification's params as one line of words: local time, topic,
 * the domain, what changed and why. Unknown kinds show their members. */
static void print_event(json_object *p)
{
	char when[32] = "?", topic[32], name[NAME_COLS + 1], what[320], reason[256];
	char a[64], b[64], c[32];
	const char *kind;
	double t = 0;
	int64_t domid = member_int(p, "domid");

	if (get_num(p, "time", false, &t, NULL, what, sizeof(what)) == 0) {
		time_t secs = (time_t)t;
		struct tm tm;

		if (localtime_r(&secs, &tm))
			strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S", &tm);
	}
	if (!member_str(p, "topic", topic, sizeof(topic)))
		snprintf(topic, sizeof(topic), "?");
	kind = member_str(p, "kind", c, sizeof(c));
	if (!kind)
		kind = "";
	what[0] = '\0';
	if (strcmp(topic, "dropped") == 0)
		snprintf(what, sizeof(what),
			 "%" PRId64 " events were dropped: this client read too slowly",
			 member_int(p, "dropped"));
	else if (strcmp(kind, "target") == 0)
		snprintf(what, sizeof(what), "target %s -> %s", member_kib(p, "old", a, sizeof(a)),
			 member_kib(p, "new", b, sizeof(b)));
	else if (strcmp(kind, "pin") == 0)
		snprintf(what, sizeof(what), "pinned at %s", member_kib(p, "new", a, sizeof(a)));
	else if (strcmp(kind, "unpin") == 0)
		snprintf(what, sizeof(what), "unpinned");
	else if (strcmp(kind, "new") == 0 || strcmp(kind, "gone") == 0)
		snprintf(what, sizeof(what), "%s", kind[0] == 'n' ? "appeared" : "is gone");
	else if (strcmp(kind, "state") == 0 || strcmp(kind, "pressure") == 0)
		snprintf(what, sizeof(what), "%s%s -> %s", kind[0] == 'p' ? "pressure " : "",
			 member_str(p, "old", a, sizeof(a)) ? a : "?",
			 member_str(p, "new", b, sizeof(b)) ? b : "?");
	else if (strcmp(kind, "reservation") == 0)
		snprintf(what, sizeof(what), "reservation %" PRId64 " %s, %s", member_int(p, "id"),
			 member_str(p, "state", a, sizeof(a)) ? a : "?",
			 member_kib(p, "amount", b, sizeof(b)));
	else
		sanitize(json_object_to_json_string_ext(p, JSON_C_TO_STRING_PLAIN), what,
			 sizeof(what), 200);
	printf("%s  %-11s ", when, topic);
	if (domid >= 0)
		printf("%s (%" PRId64 "): ",
		       member_str(p, "name", name, sizeof(name)) ? name : "?", domid);
	printf("%s", what);
	if (member_str(p, "reason", reason, sizeof(reason)) && reason[0])
		printf(": %s", reason);
	printf("\n");
}

/* events [TOPIC...]: subscribe, then print each event until balloond goes away. */
static int cmd_events(struct memctl *m, const struct memctl_cmd *cmd, int argc, char **argv)
{
	json_object *params = NULL, *reply = NULL, *result = NULL, *msg, *method, *p;
	char err[256];
	size_t len;
	int i, r;

	if (argc > 0) {
		json_object *topics = json_object_new_array();

		for (i = 0; i < argc; i++)
			json_object_array_add(topics, json_object_new_string(argv[i]));
		params = json_object_new_object();
		json_object_object_add(params, "topics", topics);
	}
	r = ctl_call(m, "events.subscribe", params, false, &reply, &result);
	if (r != MEMCTL_EXIT_OK)
		return r;
	json_object_put(reply);
	for (;;) {
		r = ctl_read_line(m, -1, &len);
		if (r == -ECONNRESET || r == -EPIPE) {
			memctl_warnx("events: balloond closed the connection (%s)", m->socket_path);
			return MEMCTL_EXIT_CONNECT;
		}
		if (r == -EMSGSIZE)
			return malformed("events", "notification longer than 16 MiB");
		if (r < 0) {
			memctl_warnx("events: %s: %s", m->socket_path, strerror(-r));
			return MEMCTL_EXIT_CONNECT;
		}
		if (rpc_parse(m->buf, len, REPLY_MAX_DEPTH, &msg, err, sizeof(err)) != 0) {
			char what[300];

			snprintf(what, sizeof(what), "not JSON (%s)", err);
			return malformed("events", what);
		}
		if (!is_notification(msg) || !json_object_object_get_ex(msg, "method", &method) ||
		    !json_object_is_type(method, json_type_string) ||
		    strcmp(json_object_get_string(method), "event") != 0 ||
		    !json_object_object_get_ex(msg, "params", &p) ||
		    !json_object_is_type(p, json_type_object)) {
			int code;
			const char *message;
			json_object *data;

			/* The daemon may say why it drops the connection. */
			if (null_id_error(msg, &code, &message, &data)) {
				r = report_error(m, "events", code, message, data);
				json_object_put(msg);
				return r;
			}
			json_object_put(msg);
			continue;
		}
		if (m->json)
			printf("%s\n", json_object_to_json_string_ext(
					       p, JSON_C_TO_STRING_PLAIN |
							  JSON_C_TO_STRING_NOSLASHESCAPE));
		else
			print_event(p);
		json_object_put(msg);
		if (fflush(stdout) != 0)
			return MEMCTL_EXIT_DAEMON; /* main reports the write error */
	}
}

/* The labels object of a sample as "k=v,k=v", sanitized. */
static const char *labels_format(json_object *labels, char *buf, size_t len)
{
	char tmp[CELL_MAX * 2] = "";
	size_t n = 0;

	if (json_object_is_type(labels, json_type_object)) {
		json_object_object_foreach(labels, key, val)
		{
			int w = snprintf(tmp + n, sizeof(tmp) - n, "%s%s=%s", n ? "," : "", key,
					 json_object_get_string(val));

			if (w < 0 || (size_t)w >= sizeof(tmp) - n)
				break;
			n += (size_t)w;
		}
	}
	return sanitize(tmp, buf, len, 0);
}

/* The metrics table: NAME, LABELS, VALUE (sizes in words). */
static int print_metrics(json_object *result)
{
	static const bool left[3] = {true, true, false};
	json_object *list, *fam, *name, *samples, *s, *labels, *value;
	char(*row)[CELL_MAX];
	struct table t;
	size_t i, j;

	if (!json_object_object_get_ex(result, "metrics", &list) ||
	    !json_object_is_type(list, json_type_array))
		return malformed("metrics", "member \"metrics\" is missing or not an array");
	if (table_init(&t, 3, left, 64) < 0) {
		memctl_warnx("out of memory");
		return MEMCTL_EXIT_DAEMON;
	}
	row = table_add_row(&t);
	snprintf(row[0], CELL_MAX, "METRIC");
	snprintf(row[1], CELL_MAX, "LABELS");
	snprintf(row[2], CELL_MAX, "VALUE");
	for (i = 0; i < json_object_array_length(list); i++) {
		fam = json_object_array_get_idx(list, i);
		if (!json_object_object_get_ex(fam, "name", &name) ||
		    !json_object_is_type(name, json_type_string) ||
		    !json_object_object_get_ex(fam, "samples", &samples) ||
		    !json_object_is_type(samples, json_type_array)) {
			table_free(&t);
			return malformed("metrics", "a metric without a name or samples");
		}
		for (j = 0; j < json_object_array_length(samples); j++) {
			const char *n = json_object_get_string(name);
			size_t nl = strlen(n);

			s = json_object_array_get_idx(samples, j);
			if (!json_object_object_get_ex(s, "labels", &labels) ||
			    !json_object_object_get_ex(s, "value", &value) ||
			    (!json_object_is_type(value, json_type_int) &&
			     !json_object_is_type(value, json_type_double))) {
				table_free(&t);
				return malformed("metrics", "a sample without labels or value");
			}
			row = table_add_row(&t);
			if (!row) {
				table_free(&t);
				memctl_warnx("out of memory");
				return MEMCTL_EXIT_DAEMON;
			}
			sanitize(n, row[0], CELL_MAX, 0);
			labels_format(labels, row[1], CELL_MAX);
			if (json_object_is_type(value, json_type_double))
				snprintf(row[2], CELL_MAX, "%.3f", json_object_get_double(value));
			else if (nl > 6 && strcmp(n + nl - 6, "_bytes") == 0)
				fmt_kib(json_object_get_int64(value) / 1024, row[2], CELL_MAX);
			else
				snprintf(row[2], CELL_MAX, "%" PRId64,
					 json_object_get_int64(value));
		}
	}
	table_print(&t, stdout);
	table_free(&t);
	return MEMCTL_EXIT_OK;
}

/* metrics: the table, the Prometheus text (--prometheus) or the result. */
static int cmd_metrics(struct memctl *m, const struct memctl_cmd *cmd, int argc, char **argv)
{
	json_object *params = json_object_new_object(), *reply = NULL, *result = NULL;
	const char *text;
	char err[256];
	int r;

	json_object_object_add(params, "format",
			       json_object_new_string(m->prometheus ? "prometheus" : "json"));
	r = ctl_call(m, "metrics", params, false, &reply, &result);
	if (r != MEMCTL_EXIT_OK)
		return r;
	if (m->json)
		print_json(result);
	else if (!m->prometheus)
		r = print_metrics(result);
	else if (get_str(result, "text", &text, err, sizeof(err)) < 0)
		r = malformed("metrics", err);
	else
		fputs(text, stdout);
	json_object_put(reply);
	return r;
}

const struct memctl_cmd cmd_events_entry = {
	.name = "events",
	.args = "[TOPIC...]",
	.min_args = 0,
	.max_args = 8,
	.summary = "follow balloond's events as they happen",
	.help = "Print one line per event until interrupted: the local time, the topic, the\n"
		"domain and what changed, and why. TOPIC is target (targets written, pins),\n"
		"state (balloon states), domain (domains appearing and going), pressure,\n"
		"reservation or audit; without one, every topic. With --json, each event's\n"
		"params object on its own line. If memctl reads too slowly, balloond drops\n"
		"events and then says how many. Exits 3 when balloond goes away.\n"
		"Example: memctl events target state",
	.exec = cmd_events,
};

const struct memctl_cmd cmd_metrics_entry = {
	.name = "metrics",
	.args = "",
	.min_args = 0,
	.max_args = 0,
	.summary = "host, domain and daemon metrics",
	.help = "Every metric balloond exports: host memory, each domain's sizes, type, mode\n"
		"and state, and counters (decision rounds, target and maxmem writes, failed\n"
		"actions, control connections, events sent and dropped), as a table.\n"
		"--prometheus prints the Prometheus text exposition format (0.0.4) instead,\n"
		"e.g. for node_exporter's textfile collector; --json the result verbatim.",
	.exec = cmd_metrics,
};
