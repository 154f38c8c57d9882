/* SPDX-License-Identifier: GPL-2.0-or-later */
/* balloond: the arguments and the configuration; then --simulate,
 * --simulate-random, --check-config or the daemon (daemon.c) answering the
 * control socket with the method table (methods.c). */
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <sysexits.h>

#include "conf-load.h"
#include "daemon.h"
#include "log.h"
#include "methods.h"
#include "simulate.h"

#define DEFAULT_CONFIG SYSCONFDIR "/balloond.conf"

static void usage(FILE *f)
{
	fprintf(f,
		"usage: balloond [options]\n"
		"\n"
		"Memory balloon manager for Xen hosts.\n"
		"\n"
		"  -f, --foreground        stay in the foreground (the only mode; for systemd)\n"
		"  -c, --config FILE       configuration file (default %s)\n"
		"  -s, --socket PATH       control socket (overrides the config)\n"
		"      --backend NAME      auto, xen or sim (overrides the config)\n"
		"      --scenario FILE     simulated host to run (sim backend)\n"
		"      --simulate FILE     run a scenario in virtual time, print a JSON report\n"
		"      --simulate-random SEED [--count N] [--print]\n"
		"                          run generated scenarios (seeds SEED..SEED+N-1) and\n"
		"                          check their properties; --print shows SEED's scenario\n"
		"  -n, --check-config      check the configuration and exit\n"
		"      --log-level LEVEL   err, warning, info or debug\n"
		"  -V, --version           print the version and exit\n"
		"  -h, --help              this help\n",
		DEFAULT_CONFIG);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"foreground", no_argument, NULL, 'f'},
		{"config", required_argument, NULL, 'c'},
		{"socket", required_argument, NULL, 's'},
		{"backend", required_argument, NULL, 'B'},
		{"scenario", required_argument, NULL, 'S'},
		{"simulate", required_argument, NULL, 'M'},
		{"simulate-random", required_argument, NULL, 'R'},
		{"count", required_argument, NULL, 'C'},
		{"print", no_argument, NULL, 'P'},
		{"check-config", no_argument, NULL, 'n'},
		{"log-level", required_argument, NULL, 'L'},
		{"version", no_argument, NULL, 'V'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *opt_socket = NULL, *opt_backend = NULL, *opt_scenario = NULL;
	const char *opt_log = NULL, *opt_simulate = NULL;
	const char *opt_random = NULL, *opt_count = NULL;
	bool opt_print = false;
	char conf_path[CONF_PATH_MAX];
	bool conf_path_explicit = false;
	struct conf conf = {0};
	bool check_only = false;
	char err[512];
	const char *const *daemon_overrides = NULL;
	static const struct daemon_methods methods = {methods_dispatch, methods_cost};
	int c, r;

	snprintf(conf_path, sizeof(conf_path), "%s", DEFAULT_CONFIG);
	while ((c = getopt_long(argc, argv, "fc:s:nVh", opts, NULL)) != -1) {
		switch (c) {
		case 'f':
			break;
		case 'c':
			if (strlen(optarg) >= sizeof(conf_path)) {
				fprintf(stderr, "balloond: --config: path too long\n");
				return 2;
			}
			snprintf(conf_path, sizeof(conf_path), "%s", optarg);
			conf_path_explicit = true;
			break;
		case 's':
			opt_socket = optarg;
			break;
		case 'B':
			opt_backend = optarg;
			break;
		case 'S':
			opt_scenario = optarg;
			break;
		case 'M':
			opt_simulate = optarg;
			break;
		case 'R':
			opt_random = optarg;
			break;
		case 'C':
			opt_count = optarg;
			break;
		case 'P':
			opt_print = true;
			break;
		case 'n':
			check_only = true;
			break;
		case 'L':
			opt_log = optarg;
			break;
		case 'V':
			printf("balloond %s\n", PACKAGE_VERSION);
			return 0;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "balloond: unexpected argument \"%s\"\n", argv[optind]);
		usage(stderr);
		return 2;
	}

	log_init(LOG_LEVEL_INFO);
	if (opt_simulate)
		return simulate_main(opt_simulate, conf_path, conf_path_explicit);
	if (opt_random)
		return property_main(opt_random, opt_count, opt_print, conf_path,
				     conf_path_explicit);
	if (opt_count || opt_print) {
		fprintf(stderr, "balloond: --count and --print go with --simulate-random\n");
		return 2;
	}
	r = conf_load_file(conf_path, conf_path_explicit, &conf, err, sizeof(err));
	if (r < 0) {
		fprintf(stderr, "balloond: %s\n", err);
		return EX_CONFIG; /* not retried by the unit (RestartPreventExitStatus=) */
	}
	/* Command-line overrides go through the same validation as the file,
	 * and are applied again on every reload. */
	{
		static const char *overrides[9];
		const char *keys[] = {"socket", "backend", "scenario", "log_level"};
		const char *vals[] = {opt_socket, opt_backend, opt_scenario, opt_log};
		size_t i, n = 0;

		for (i = 0; i < 4; i++)
			if (vals[i]) {
				overrides[n++] = keys[i];
				overrides[n++] = vals[i];
			}
		overrides[n] = NULL;
		if (daemon_apply_overrides(&conf, overrides, err, sizeof(err)) < 0) {
			fprintf(stderr, "balloond: %s\n", err);
			conf_free(&conf);
			return 2;
		}
		daemon_overrides = overrides;
	}
	if (check_only) {
		printf("%s: configuration OK\n", conf_path);
		conf_free(&conf);
		return 0;
	}
	return daemon_run(conf_path, conf_path_explicit, &conf, daemon_overrides, &methods);
}
