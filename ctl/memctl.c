/* SPDX-License-Identifier: GPL-2.0-or-later */
/* memctl: the command-line client of balloond. This file is main: the
 * global options, finding the command in the table (cmd.c, one entry per
 * command in cmd-*.c), checking its argument count and running it. The
 * JSON-RPC client is client.c, the tables and sizes render.c; human tables
 * by default, the daemon's result verbatim with --json.
 *
 * Exit status: 0 ok, 1 balloond answered with an error (or an unreadable
 * reply), 2 usage, 3 balloond could not be reached or went away, 4 the
 * audit found confirmed inconsistencies. */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>
#include <unistd.h>

#include "client.h"
#include "cmd.h"
#include "jsonrpc.h"
#include "units.h"

#define DEFAULT_TIMEOUT_MS 10000
#define MAX_TIMEOUT_S 86400.0

/* --timeout: seconds, possibly fractional ("2.5"), or a duration ("500ms").
 * 0 or -EINVAL. */
static int timeout_parse(const char *s, int *ret_ms)
{
	char *end;
	double v;
	uint64_t ms;

	errno = 0;
	v = strtod(s, &end);
	if (end != s && *end == '\0' && errno == 0 && isfinite(v) && v >= 0 && v <= MAX_TIMEOUT_S &&
	    (s[0] >= '0' && s[0] <= '9')) {
		*ret_ms = (int)(v * 1000 + 0.5);
		if (*ret_ms == 0 && v > 0)
			*ret_ms = 1;
		return 0;
	}
	if (duration_parse(s, &ms) == 0 && ms <= (uint64_t)(MAX_TIMEOUT_S * 1000)) {
		*ret_ms = (int)ms;
		return 0;
	}
	return -EINVAL;
}

/* The command word is "create": what follows it is xl's (its options are
 * not memctl's), so memctl's options go before it. */
static bool command_is_create(int argc, char **argv)
{
	static const char *const with_value[] = {"-s", "-t", "-T", "--socket", "--timeout",
						 "--ttl", "--for", NULL};
	int i, k;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--") == 0)
			return i + 1 < argc && strcmp(argv[i + 1], "create") == 0;
		if (argv[i][0] != '-' || !argv[i][1])
			return strcmp(argv[i], "create") == 0;
		for (k = 0; with_value[k]; k++)
			if (strcmp(argv[i], with_value[k]) == 0)
				i++;
	}
	return false;
}

/* The options, before or after the command ("memctl show web1 --json");
 * "--" ends them (and the command "create": see above). -1 to go on, else
 * the exit status (--version, or a usage error already printed). */
static int options_parse(struct memctl *m, int argc, char **argv, bool *ret_help)
{
	static const struct option opts[] = {
		{"socket", required_argument, NULL, 's'},
		{"json", no_argument, NULL, 'j'},
		{"timeout", required_argument, NULL, 't'},
		{"help", no_argument, NULL, 'h'},
		{"version", no_argument, NULL, 'V'},
		{"no-wait", no_argument, NULL, 'W'},
		{"ttl", required_argument, NULL, 'T'},
		{"for", required_argument, NULL, 'F'},
		{"prometheus", no_argument, NULL, 'P'},
		{NULL, 0, NULL, 0},
	};
	int c;

	const char *optstring = command_is_create(argc, argv) ? "+:s:jt:hVWT:" : ":s:jt:hVWT:";

	opterr = 0;
	while ((c = getopt_long(argc, argv, optstring, opts, NULL)) != -1) {
		switch (c) {
		case 'W': m->no_wait = true; break;
		case 'F': m->for_name = optarg; break;
		case 'P': m->prometheus = true; break;
		case 'T': {
			uint64_t ms;

			if (duration_parse(optarg, &ms) < 0 || ms < 1000 || ms > 86400000)
				return usage_error(NULL,
						   "--ttl: \"%s\" is not a duration from 1s "
						   "to 24h (e.g. 90s, 10m)",
						   optarg);
			m->ttl_s = (int64_t)((ms + 999) / 1000);
			break;
		}
		case 's': m->socket_path = optarg; break;
		case 'j': m->json = true; break;
		case 't':
			if (timeout_parse(optarg, &m->timeout_ms) < 0)
				return usage_error(NULL,
						   "--timeout: \"%s\" is not a number of seconds "
						   "(0 to %.0f)",
						   optarg, MAX_TIMEOUT_S);
			break;
		case 'h': *ret_help = true; break;
		case 'V':
			printf("memctl %s (balloond control protocol API %d)\n", PACKAGE_VERSION,
			       RPC_API_VERSION);
			return MEMCTL_EXIT_OK;
		case ':': return usage_error(NULL, "option %s needs an argument", argv[optind - 1]);
		default:
			if (optopt)
				return usage_error(NULL, "unknown option -%c", optopt);
			return usage_error(NULL, "unknown option %s", argv[optind - 1]);
		}
	}
	return -1;
}

/* Options, the command and its argument count, then run it; flush stdout. */
int main(int argc, char **argv)
{
	struct memctl mm = {.fd = -1,
			    .next_id = 1,
			    .timeout_ms = DEFAULT_TIMEOUT_MS,
			    .wait_s = 3600},
		      *m = &mm;
	const struct memctl_cmd *cmd;
	const char *env;
	bool help = false;
	int r, nargs;

	r = options_parse(m, argc, argv, &help);
	if (r >= 0)
		return r;
	if (optind >= argc) {
		if (help) {
			help_general(stdout);
			return MEMCTL_EXIT_OK;
		}
		memctl_warnx("no command given");
		fprintf(stderr, "usage: memctl [--socket PATH] [--json] [--timeout SECONDS] "
				"COMMAND [ARGS]\n"
				"Try 'memctl help' for the list of commands.\n");
		return MEMCTL_EXIT_USAGE;
	}
	cmd = cmd_find(argv[optind]);
	if (!cmd) {
		memctl_warnx("unknown command \"%s\"", argv[optind]);
		fprintf(stderr, "Try 'memctl help' for the list of commands.\n");
		return MEMCTL_EXIT_USAGE;
	}
	if (help) {
		help_command(stdout, cmd);
		return MEMCTL_EXIT_OK;
	}
	if (m->prometheus && strcmp(cmd->name, "metrics") != 0)
		return usage_error(cmd, "--prometheus applies to 'memctl metrics' only");
	if (m->for_name && strcmp(cmd->name, "reserve") != 0 && strcmp(cmd->name, "cancel") != 0)
		return usage_error(cmd, "--for applies to 'memctl reserve' and 'memctl cancel' only");
	nargs = argc - optind - 1;
	if (nargs < cmd->min_args || nargs > cmd->max_args)
		return usage_error(cmd, "%s: %s", cmd->name,
				   nargs < cmd->min_args ? "missing argument"
							 : "too many arguments");

	if (!m->socket_path) {
		env = getenv(SOCKET_ENV);
		m->socket_path = env && env[0] ? env : DEFAULT_SOCKET;
	}
	if (!m->socket_path[0] ||
	    strlen(m->socket_path) >= sizeof(((struct sockaddr_un *)0)->sun_path))
		return usage_error(NULL, "socket path \"%.40s%s\" is %s", m->socket_path,
				   strlen(m->socket_path) > 40 ? "..." : "",
				   m->socket_path[0] ? "too long" : "empty");

	r = cmd->exec(m, cmd, nargs, argv + optind + 1);

	if (m->fd >= 0)
		close(m->fd);
	free(m->buf);
	if (fflush(stdout) != 0 || ferror(stdout)) {
		memctl_warnx("writing the output: %s", strerror(errno));
		if (r == MEMCTL_EXIT_OK)
			r = MEMCTL_EXIT_DAEMON;
	}
	return r;
}
