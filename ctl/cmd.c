/* SPDX-License-Identifier: GPL-2.0-or-later */
/* memctl's command table, finding a command by name or alias, the help
 * texts, usage errors, and the arguments several commands share (DOM). */
#include "config.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <json-c/json.h>

#include "client.h"
#include "cmd.h"
#include "render.h"

/* Print a usage error with the command's synopsis; returns the usage status. */
__attribute__((format(printf, 2, 3))) int usage_error(const struct memctl_cmd *cmd, const char *fmt,
						      ...)
{
	va_list ap;

	va_start(ap, fmt);
	memctl_vwarnx(fmt, ap);
	va_end(ap);
	if (cmd)
		fprintf(stderr, "usage: memctl [options] %s%s%s\n", cmd->name,
			cmd->args[0] ? " " : "", cmd->args);
	fprintf(stderr, "Try 'memctl %s%s--help' for more information.\n", cmd ? cmd->name : "",
		cmd ? " " : "");
	return MEMCTL_EXIT_USAGE;
}

/* DOM on the command line: a domid when all digits, else a name. Returns a
 * new reference, or NULL after printing a usage error. */
json_object *domain_arg(const struct memctl_cmd *cmd, const char *s)
{
	const char *p;
	uint64_t v = 0;

	if (!s[0]) {
		usage_error(cmd, "%s: DOM is empty", cmd->name);
		return NULL;
	}
	for (p = s; *p >= '0' && *p <= '9'; p++) {
		v = v * 10 + (uint64_t)(*p - '0');
		if (v > UINT32_MAX) {
			usage_error(cmd, "%s: domain id %s is too large", cmd->name, s);
			return NULL;
		}
	}
	if (*p == '\0')
		return json_object_new_int64((int64_t)v);
	return json_object_new_string(s);
}

/* {"domain": DOM} */
json_object *domain_params(const struct memctl_cmd *cmd, const char *dom)
{
	json_object *d = domain_arg(cmd, dom), *p;

	if (!d)
		return NULL;
	p = json_object_new_object();
	json_object_object_add(p, "domain", d);
	return p;
}

/* "NAME: " for a one-line confirmation; name sanitized into buf. */
const char *result_name(json_object *dom, char *buf, size_t len)
{
	const char *name;
	char err[64];

	if (get_str(dom, "name", &name, err, sizeof(err)) < 0)
		return NULL;
	return sanitize(name, buf, len, 0);
}

/* help [COMMAND]: the general help, or one command's. */
static int cmd_help(struct memctl *m, const struct memctl_cmd *cmd, int argc, char **argv)
{
	const struct memctl_cmd *c;

	if (argc == 0) {
		help_general(stdout);
		return MEMCTL_EXIT_OK;
	}
	c = cmd_find(argv[0]);
	if (!c)
		return usage_error(cmd, "help: unknown command \"%s\"", argv[0]);
	help_command(stdout, c);
	return MEMCTL_EXIT_OK;
}

const struct memctl_cmd cmd_help_entry = {
	.name = "help",
	.args = "[COMMAND]",
	.min_args = 0,
	.max_args = 1,
	.summary = "this help, or one command's",
	.help = "Without an argument, list the commands and options; with one, explain\n"
		"that command (the same as 'memctl COMMAND --help').",
	.exec = cmd_help,
};

/* The commands, in the order "memctl help" lists them. */
static const struct memctl_cmd *const commands[] = {
	&cmd_status_entry,  &cmd_list_entry,	     &cmd_show_entry,	    &cmd_explain_entry,
	&cmd_plan_entry,    &cmd_set_target_entry,   &cmd_set_policy_entry, &cmd_unpin_entry,
	&cmd_hello_entry,   &cmd_pause_entry,	     &cmd_resume_entry,	    &cmd_reload_entry,
	&cmd_reserve_entry, &cmd_reservations_entry, &cmd_transfer_entry,   &cmd_cancel_entry,
	&cmd_create_entry,
	&cmd_events_entry,  &cmd_audit_entry,	     &cmd_metrics_entry,    &cmd_help_entry,
};
#define N_COMMANDS (sizeof(commands) / sizeof(*commands))

/* The command called name (or aliased so), or NULL. */
const struct memctl_cmd *cmd_find(const char *name)
{
	size_t i;

	for (i = 0; i < N_COMMANDS; i++)
		if (strcmp(commands[i]->name, name) == 0 ||
		    (commands[i]->alias && strcmp(commands[i]->alias, name) == 0))
			return commands[i];
	return NULL;
}

/* "memctl help": the synopsis, every command with its summary, the options. */
void help_general(FILE *f)
{
	size_t i;

	fprintf(f, "usage: memctl [--socket PATH] [--json] [--timeout SECONDS] COMMAND [ARGS]\n"
		   "\n"
		   "Control balloond, the memory balloon manager for Xen hosts.\n"
		   "\n"
		   "Commands:\n");
	for (i = 0; i < N_COMMANDS; i++) {
		char syn[64];

		snprintf(syn, sizeof(syn), "%s%s%s%s%s", commands[i]->name,
			 commands[i]->args[0] ? " " : "", commands[i]->args,
			 commands[i]->alias ? ", " : "", commands[i]->alias ? commands[i]->alias : "");
		fprintf(f, "  %-22s %s\n", syn, commands[i]->summary);
	}
	fprintf(f,
		"\n"
		"Options:\n"
		"  -s, --socket PATH      control socket (default: $" SOCKET_ENV ", else\n"
		"                         " DEFAULT_SOCKET ")\n"
		"  -j, --json             print balloond's result as JSON, for scripts\n"
		"  -t, --timeout SECONDS  wait at most this long for each reply (default 10,\n"
		"                         0 = no limit)\n"
		"  -W, --no-wait          reserve, audit: return at once, do not wait for the\n"
		"                         answer\n"
		"  -T, --ttl DURATION     reserve: hold the memory this long (1s to 24h)\n"
		"      --prometheus       metrics: the Prometheus text format\n"
		"  -h, --help             this help; after a command, that command's help\n"
		"  -V, --version          memctl's own version\n"
		"\n"
		"DOM is a domain id (all digits) or a name. SIZE has a binary unit: K, M, G, T.\n"
		"Exit status: 0 ok, 1 balloond reported an error, 2 usage error,\n"
		"3 balloond cannot be reached, 4 the audit found confirmed inconsistencies.\n"
		"See memctl(1).\n");
}

/* "memctl COMMAND --help": its synopsis (and its alias's) and its paragraph. */
void help_command(FILE *f, const struct memctl_cmd *cmd)
{
	fprintf(f, "usage: memctl [options] %s%s%s\n", cmd->name, cmd->args[0] ? " " : "",
		cmd->args);
	if (cmd->alias)
		fprintf(f, "   or: memctl [options] %s%s%s\n", cmd->alias, cmd->args[0] ? " " : "",
			cmd->args);
	fprintf(f, "\n%s\n", cmd->help);
}
