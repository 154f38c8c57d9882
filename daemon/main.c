/* SPDX-License-Identifier: GPL-2.0-or-later */
/* balloond: arguments, configuration, systemd, signals; wires the backend,
 * the engine and the control socket around one libevent loop. */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include <systemd/sd-daemon.h>

#include "audit-run.h"
#include "control.h"
#include "daemon.h"
#include "events.h"
#include "log.h"
#include "units.h"

#define DEFAULT_CONFIG SYSCONFDIR "/balloond.conf"
#define STEP_COALESCE_MS 50

uint64_t daemon_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void log_event(const struct engine_event *ev)
{
	char a[32], b[32];

	switch (ev->type) {
	case EV_DOMAIN_NEW:
		log_info("domain %u (%s): appeared", ev->domid, ev->name);
		break;
	case EV_DOMAIN_GONE:
		log_info("domain %u (%s): gone", ev->domid, ev->name);
		break;
	case EV_TARGET:
		log_info("domain %u (%s): target %s -> %s: %s", ev->domid, ev->name,
			 size_format(ev->old_kib, a, sizeof(a)), size_format(ev->new_kib, b, sizeof(b)),
			 ev->text);
		break;
	case EV_STATE:
		if (ev->new_state == DOM_STALLED || ev->new_state == DOM_UNCOOPERATIVE)
			log_warnx("domain %u (%s): %s -> %s: %s", ev->domid, ev->name,
				  dom_state_name(ev->old_state), dom_state_name(ev->new_state), ev->text);
		else
			log_debug("domain %u (%s): %s -> %s: %s", ev->domid, ev->name,
				  dom_state_name(ev->old_state), dom_state_name(ev->new_state), ev->text);
		break;
	case EV_PIN:
	case EV_UNPIN:
		log_notice("domain %u (%s): %s", ev->domid, ev->name, ev->text);
		break;
	case EV_RESERVATION:
		log_notice("%s", ev->text);
		break;
	case EV_PRESSURE:
		if (ev->new_kib == PRESSURE_NONE)
			log_info("%s", ev->text);
		else
			log_warnx("%s", ev->text);
		break;
	}
}

static void daemon_status(struct daemon *d)
{
	struct engine_host h;
	char status[256], fr[32];

	engine_host_status(d->engine, &h);
	snprintf(status, sizeof(status),
		 "STATUS=%u domains, %u managed, %u converging, %u stalled, %u uncooperative; "
		 "%s free, pressure %s%s",
		 h.domains, h.managed, h.converging, h.stalled, h.uncooperative,
		 size_format(h.free_kib, fr, sizeof(fr)), pressure_name(h.pressure),
		 h.paused ? ", paused" : "");
	if (strcmp(status, d->last_status) != 0) {
		sd_notify(0, status);
		snprintf(d->last_status, sizeof(d->last_status), "%s", status);
	}
}

/* Arm the step timer to fire delay_ms from now. */
static void step_schedule(struct daemon *d, uint64_t delay_ms)
{
	struct timeval tv = {(time_t)(delay_ms / 1000), (suseconds_t)(delay_ms % 1000 * 1000)};

	evtimer_add(d->step_ev, &tv);
	d->step_pending = true;
	d->step_due_ms = daemon_now_ms() + delay_ms;
}

int daemon_step(struct daemon *d)
{
	struct engine_obs obs;
	uint64_t now = daemon_now_ms();
	size_t i;
	int r;

	d->step_pending = false;
	evtimer_del(d->step_ev);
	r = d->bops->observe(d->be, &obs);
	if (r < 0) {
		/* Say it once; keep retrying quietly until it works again. */
		if (!d->observe_failing)
			log_warnx("observing the host failed: %s; retrying every second",
				  strerror(-r));
		else
			log_debug("observing the host failed again: %s", strerror(-r));
		d->observe_failing = true;
		step_schedule(d, 1000);
		return r;
	}
	if (d->observe_failing) {
		log_notice("observing the host works again");
		d->observe_failing = false;
	}
	r = engine_step(d->engine, &obs, now, &d->out);
	d->last_step_ms = now;
	if (r < 0) {
		log_errx("engine step failed: %s", strerror(-r));
		return r;
	}
	for (i = 0; i < d->out.n_events; i++)
		log_event(&d->out.events[i]);
	d->steps++;
	backend_apply(d->bops, d->be, d->engine, &d->out, &d->applied);
	for (i = 0; i < d->out.n_events; i++) {
		events_publish_engine(d, &d->out.events[i]);
		audit_sched_engine_event(d->audit, &d->out.events[i]);
	}
	daemon_status(d);
	if (d->out.next_wake_ms != UINT64_MAX)
		step_schedule(d, d->out.next_wake_ms > now ? d->out.next_wake_ms - now : 0);
	return 0;
}

static void daemon_step_cb(evutil_socket_t fd, short what, void *arg)
{
	daemon_step(arg);
}

void daemon_request_step(struct daemon *d)
{
	uint64_t now = daemon_now_ms(), delay = 0;

	if (now - d->last_step_ms < STEP_COALESCE_MS)
		delay = STEP_COALESCE_MS - (now - d->last_step_ms);
	/* Already due at least as soon: nothing to do (coalescing). */
	if (d->step_pending && d->step_due_ms <= now + delay)
		return;
	step_schedule(d, delay);
}

void daemon_refresh(struct daemon *d, uint64_t max_age_ms)
{
	if (daemon_now_ms() - d->last_step_ms > max_age_ms || d->last_step_ms == 0)
		daemon_step(d);
}

static void backend_notify_cb(void *arg)
{
	daemon_request_step(arg);
}

/* Load the config: an explicit --config must exist; the default path may
 * be missing (built-in defaults apply). */
int daemon_load_conf(const char *path, bool explicit_path, struct conf *ret, char *err,
		      size_t errlen)
{
	struct conf_error ce;
	int r;

	r = conf_parse_file(path, ret, &ce);
	if (r == -ENOENT && !explicit_path) {
		conf_init(ret);
		return 0;
	}
	if (r < 0) {
		if (ce.line)
			snprintf(err, errlen, "%s:%u: %s", ce.file, ce.line, ce.msg);
		else
			snprintf(err, errlen, "%s: %s", ce.file[0] ? ce.file : path,
				 ce.msg[0] ? ce.msg : strerror(-r));
	}
	return r;
}

int daemon_reload(struct daemon *d, char *err, size_t errlen)
{
	struct conf nc;
	int r;

	sd_notify(0, "RELOADING=1");
	r = daemon_load_conf(d->conf_path, d->conf_path_explicit, &nc, err, errlen);
	if (r == 0 && (strcmp(nc.socket, d->conf.socket) != 0 ||
		       strcmp(nc.backend, d->conf.backend) != 0)) {
		log_notice("reload: socket and backend changes take effect at restart");
		snprintf(nc.socket, sizeof(nc.socket), "%s", d->conf.socket);
		snprintf(nc.backend, sizeof(nc.backend), "%s", d->conf.backend);
	}
	if (r == 0 && d->bops->adjust_conf) {
		r = d->bops->adjust_conf(d->be, &nc, err, errlen);
		if (r < 0)
			conf_free(&nc);
	}
	if (r == 0) {
		r = engine_set_conf(d->engine, &nc);
		if (r == 0) {
			conf_free(&d->conf);
			d->conf = nc;
			log_set_level(d->conf.log_level);
			if (d->audit)
				audit_sched_reconf(d->audit);
		} else {
			conf_free(&nc);
			snprintf(err, errlen, "out of memory");
		}
	}
	sd_notify(0, "READY=1");
	if (r == 0)
		daemon_request_step(d);
	return r;
}

static void sighup_cb(evutil_socket_t sig, short what, void *arg)
{
	struct daemon *d = arg;
	char err[512];

	if (daemon_reload(d, err, sizeof(err)) == 0)
		log_notice("configuration reloaded from %s", d->conf_path);
	else
		log_errx("reload failed, keeping the running configuration: %s", err);
}

static void sigterm_cb(evutil_socket_t sig, short what, void *arg)
{
	struct daemon *d = arg;

	log_notice("signal %d: shutting down", (int)sig);
	sd_notify(0, "STOPPING=1");
	event_base_loopexit(d->base, NULL);
}

static void watchdog_cb(evutil_socket_t fd, short what, void *arg)
{
	sd_notify(0, "WATCHDOG=1");
}

static void restore_cb(void *arg, uint32_t domid, const char *key, const char *value)
{
	if (strcmp(key, BACKEND_KEY_RESERVATION) == 0) {
		if (engine_restore_reservation(arg, domid, value) < 0)
			log_warnx("ignoring persisted reservation %u: \"%.64s\"", domid, value);
		else
			log_info("restored reservation %u: %s", domid, value);
		return;
	}
	if (engine_restore(arg, domid, key, value) < 0)
		log_warnx("ignoring persisted state for domain %u: %s = \"%.32s\"", domid, key, value);
	else
		log_debug("restored domain %u: %s = %s", domid, key, value);
}

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
	struct daemon dd = {0}, *d = &dd;
	struct event *ev_hup, *ev_term, *ev_int;
	const char *bname;
	bool check_only = false;
	uint64_t wd_usec = 0;
	char err[512];
	int c, r;

	snprintf(d->conf_path, sizeof(d->conf_path), "%s", DEFAULT_CONFIG);
	while ((c = getopt_long(argc, argv, "fc:s:nVh", opts, NULL)) != -1) {
		switch (c) {
		case 'f':
			break;
		case 'c':
			if (strlen(optarg) >= sizeof(d->conf_path)) {
				fprintf(stderr, "balloond: --config: path too long\n");
				return 2;
			}
			snprintf(d->conf_path, sizeof(d->conf_path), "%s", optarg);
			d->conf_path_explicit = true;
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
		return simulate_main(opt_simulate, d->conf_path, d->conf_path_explicit);
	if (opt_random)
		return property_main(opt_random, opt_count, opt_print, d->conf_path,
				     d->conf_path_explicit);
	if (opt_count || opt_print) {
		fprintf(stderr, "balloond: --count and --print go with --simulate-random\n");
		return 2;
	}
	r = daemon_load_conf(d->conf_path, d->conf_path_explicit, &d->conf, err, sizeof(err));
	if (r < 0) {
		fprintf(stderr, "balloond: %s\n", err);
		return EX_CONFIG; /* not retried by the unit (RestartPreventExitStatus=) */
	}
	/* Command-line overrides go through the same validation as the file. */
	{
		const char *keys[] = {"socket", "backend", "scenario", "log_level"};
		const char *vals[] = {opt_socket, opt_backend, opt_scenario, opt_log};
		size_t i;

		for (i = 0; i < 4; i++) {
			if (!vals[i])
				continue;
			if (conf_set(&d->conf, "balloond", keys[i], vals[i], err, sizeof(err)) < 0) {
				fprintf(stderr, "balloond: --%s: %s\n",
					strcmp(keys[i], "log_level") ? keys[i] : "log-level", err);
				return 2;
			}
		}
	}
	if (check_only) {
		printf("%s: configuration OK\n", d->conf_path);
		conf_free(&d->conf);
		return 0;
	}
	log_set_level(d->conf.log_level);

	bname = d->conf.backend;
	if (strcmp(bname, "auto") == 0) {
		bname = backend_detect(err, sizeof(err));
		if (!bname) {
			log_errx("%s", err);
			return EX_UNAVAILABLE; /* not a dom0: permanent, like the next one */
		}
	}
	d->bops = backend_find(bname);
	if (!d->bops) {
		log_errx("backend \"%s\" is not available in this build%s", bname,
			 strcmp(bname, "xen") == 0 ? " (rebuild with libxen-dev installed)" : "");
		return EX_UNAVAILABLE;
	}

	signal(SIGPIPE, SIG_IGN);
	d->base = event_base_new();
	if (!d->base)
		fatalx("cannot create the event loop");
	d->start_ms = daemon_now_ms();
	d->step_ev = evtimer_new(d->base, daemon_step_cb, d);

	r = d->bops->open(&d->be, &d->conf, d->base, backend_notify_cb, d, err, sizeof(err));
	if (r < 0) {
		log_errx("%s backend: %s", d->bops->name, err);
		return 1;
	}
	if (d->bops->adjust_conf &&
	    d->bops->adjust_conf(d->be, &d->conf, err, sizeof(err)) < 0) {
		log_errx("%s backend: %s", d->bops->name, err);
		d->bops->close(d->be);
		return 1;
	}
	d->engine = engine_new(&d->conf);
	if (!d->engine)
		fatalx("out of memory");
	r = d->bops->restore(d->be, restore_cb, d->engine);
	if (r < 0)
		log_warnx("reading persisted state failed: %s; starting without it", strerror(-r));
	r = audit_sched_new(d, &d->audit);
	if (r < 0)
		fatalx("cannot set up the auditor: %s", strerror(-r));

	r = control_open(&d->ctl, d, d->conf.socket, err, sizeof(err));
	if (r < 0) {
		log_errx("control socket: %s", err);
		d->bops->close(d->be);
		return 1;
	}

	ev_hup = evsignal_new(d->base, SIGHUP, sighup_cb, d);
	ev_term = evsignal_new(d->base, SIGTERM, sigterm_cb, d);
	ev_int = evsignal_new(d->base, SIGINT, sigterm_cb, d);
	event_add(ev_hup, NULL);
	event_add(ev_term, NULL);
	event_add(ev_int, NULL);
	if (sd_watchdog_enabled(0, &wd_usec) > 0 && wd_usec > 0) {
		struct timeval tv = {(time_t)(wd_usec / 2 / 1000000),
				     (suseconds_t)(wd_usec / 2 % 1000000)};

		d->watchdog_ev = event_new(d->base, -1, EV_PERSIST, watchdog_cb, d);
		event_add(d->watchdog_ev, &tv);
	}

	daemon_step(d);
	log_notice("balloond %s ready: backend %s, control socket %s", PACKAGE_VERSION,
		   d->bops->name, d->conf.socket);
	sd_notify(0, "READY=1");

	event_base_dispatch(d->base);

	audit_sched_free(d->audit);
	d->audit = NULL;
	control_close(d->ctl);
	d->bops->close(d->be);
	engine_output_free(&d->out);
	engine_free(d->engine);
	event_free(ev_hup);
	event_free(ev_term);
	event_free(ev_int);
	if (d->watchdog_ev)
		event_free(d->watchdog_ev);
	event_free(d->step_ev);
	event_base_free(d->base);
	conf_free(&d->conf);
	log_notice("stopped");
	return 0;
}
