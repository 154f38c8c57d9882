/* SPDX-License-Identifier: GPL-2.0-or-later */
/* memctl hello, pause, resume and reload: questions and orders about
 * balloond itself rather than a domain. */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <json-c/json.h>

#include "client.h"
#include "cmd.h"
#include "jsonrpc.h"
#include "render.h"

/* hello: balloond's version, API and backend; warns when the API differs. */
static int cmd_hello(struct memctl *m, const struct memctl_cmd *cmd, int argc, char **argv)
{
	json_object *reply = NULL, *result = NULL;
	const char *version, *backend;
	char err[256], v[64], b[64];
	int64_t api;
	int r;

	r = ctl_call(m, "hello", NULL, false, &reply, &result);
	if (r != MEMCTL_EXIT_OK)
		return r;
	if (get_str(result, "version", &version, err, sizeof(err)) < 0 ||
	    get_int(result, "api", false, &api, NULL, err, sizeof(err)) < 0 ||
	    get_str(result, "backend", &backend, err, sizeof(err)) < 0) {
		json_object_put(reply);
		return malformed("hello", err);
	}
	if (m->json) {
		print_json(result);
	} else {
		printf("balloond %s\n", sanitize(version, v, sizeof(v), 0));
		printf("api:     %" PRId64 "\n", api);
		printf("backend: %s\n", sanitize(backend, b, sizeof(b), 0));
	}
	if (api != RPC_API_VERSION)
		memctl_warnx("warning: balloond speaks API %" PRId64 ", this memctl API %d", api,
			     RPC_API_VERSION);
	json_object_put(reply);
	return MEMCTL_EXIT_OK;
}

/* Call a method without params whose result has one string member, and
 * print it (sanitized) between before and after. */
static int call_and_say(struct memctl *m, const char *method, const char *key, const char *before,
			const char *after)
{
	json_object *reply = NULL, *result = NULL;
	const char *v;
	char err[256], val[CELL_MAX];
	int r;

	r = ctl_call(m, method, NULL, false, &reply, &result);
	if (r != MEMCTL_EXIT_OK)
		return r;
	if (get_str(result, key, &v, err, sizeof(err)) < 0) {
		json_object_put(reply);
		return malformed(method, err);
	}
	if (m->json)
		print_json(result);
	else
		printf("%s%s%s\n", before, sanitize(v, val, sizeof(val), 0), after);
	json_object_put(reply);
	return MEMCTL_EXIT_OK;
}

/* pause: stop balloond writing targets. */
static int cmd_pause(struct memctl *m, const struct memctl_cmd *cmd, int argc, char **argv)
{
	return call_and_say(m, "pause", "mode",
			    "balloond: ", "; no target or maxmem is written until 'memctl resume'");
}

/* resume: balance again. */
static int cmd_resume(struct memctl *m, const struct memctl_cmd *cmd, int argc, char **argv)
{
	return call_and_say(m, "resume", "mode", "balloond: ", "");
}

/* reload: re-read balloond.conf. */
static int cmd_reload(struct memctl *m, const struct memctl_cmd *cmd, int argc, char **argv)
{
	return call_and_say(m, "config.reload", "config", "balloond: configuration reloaded from ",
			    "");
}

const struct memctl_cmd cmd_hello_entry = {
	.name = "hello",
	.alias = "version",
	.args = "",
	.min_args = 0,
	.max_args = 0,
	.summary = "balloond's version, API and backend",
	.help = "Ask balloond for its version, the control protocol API it speaks and the\n"
		"backend it runs on (xen or sim). A quick check that it is up.",
	.exec = cmd_hello,
};

const struct memctl_cmd cmd_pause_entry = {
	.name = "pause",
	.args = "",
	.min_args = 0,
	.max_args = 0,
	.summary = "stop writing targets until resume",
	.help = "Stop balloond from writing any target or maxmem; it keeps observing the\n"
		"balloons (status still shows them moving toward the targets already\n"
		"written). For maintenance, or to take over by hand for a while.",
	.exec = cmd_pause,
};

const struct memctl_cmd cmd_resume_entry = {
	.name = "resume",
	.args = "",
	.min_args = 0,
	.max_args = 0,
	.summary = "start balancing again after pause",
	.help = "Undo 'memctl pause': balloond decides and writes targets again.",
	.exec = cmd_resume,
};

const struct memctl_cmd cmd_reload_entry = {
	.name = "reload",
	.args = "",
	.min_args = 0,
	.max_args = 0,
	.summary = "re-read balloond.conf",
	.help = "Ask balloond to re-read its configuration file, like SIGHUP. A file that\n"
		"does not parse is refused (the error names file:line) and the running\n"
		"configuration stays in force.",
	.exec = cmd_reload,
};
