/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The daemon object: the backend, the engine, the auditor and the control
 * socket around one libevent loop; decision rounds (observe, decide, act)
 * on the engine's schedule and on the backend's notifications, reload on
 * SIGHUP, systemd notifications. */
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sysexits.h>

#include <systemd/sd-daemon.h>

#include "audit-run.h"
#include "clock.h"
#include "conf-load.h"
#include "control.h"
#include "daemon.h"
#include "events.h"
#include "log.h"
#include "units.h"
#include "utf8.h"
#include "xlconf.h"

#define STEP_COALESCE_MS 50

/* Logs one engine event, with the journal fields of its domain. A target
 * change that only carries out an admin's pin of the same step is said in
 * the pin's line (target), not in a line of its own. */
static void log_event(const struct engine_event *ev, const struct engine_event *target)
{
	struct log_about about = {ev->domid, ev->name[0] ? ev->name : NULL, NULL};
	char a[32], b[32];

	switch (ev->type) {
	case EV_DOMAIN_NEW:
		log_about(LOG_INFO, &about, "domain %u (%s): appeared", ev->domid, ev->name);
		break;
	case EV_DOMAIN_GONE:
		log_about(LOG_INFO, &about, "domain %u (%s): gone", ev->domid, ev->name);
		break;
	case EV_TARGET:
		size_format_pair(ev->old_kib, ev->new_kib, a, b, sizeof(a));
		log_about(LOG_INFO, &about, "domain %u (%s): target %s -> %s: %s", ev->domid,
			  ev->name, a, b, ev->text);
		break;
	case EV_STATE:
		about.message_id = LOG_MSGID_STATE;
		log_about(ev->new_state == DOM_STALLED || ev->new_state == DOM_UNCOOPERATIVE
				  ? LOG_WARNING
			  : ev->old_state == DOM_UNCOOPERATIVE ? LOG_NOTICE /* it recovered */
								 : LOG_DEBUG,
			  &about, "domain %u (%s): %s -> %s: %s", ev->domid, ev->name,
			  dom_state_name(ev->old_state), dom_state_name(ev->new_state), ev->text);
		break;
	case EV_PIN:
	case EV_UNPIN:
		about.message_id = LOG_MSGID_PIN;
		if (target) {
			size_format_pair(target->old_kib, target->new_kib, a, b, sizeof(a));
			log_about(LOG_NOTICE, &about, "domain %u (%s): %s (target %s -> %s)",
				  ev->domid, ev->name, ev->text, a, b);
		} else {
			log_about(LOG_NOTICE, &about, "domain %u (%s): %s", ev->domid, ev->name,
				  ev->text);
		}
		break;
	case EV_RESERVATION:
		about = (struct log_about){LOG_NO_DOMID, NULL, LOG_MSGID_RESERVATION};
		log_about(LOG_NOTICE, &about, "%s", ev->text);
		break;
	case EV_PRESSURE:
		about = (struct log_about){LOG_NO_DOMID, NULL, NULL};
		log_about(ev->new_kib == PRESSURE_NONE ? LOG_INFO : LOG_WARNING, &about, "%s",
			  ev->text);
		break;
	}
}

/* Logs a step's events: one line an event, a pin and the target change it
 * causes in the same step as one line. */
static void log_events(const struct engine_output *out)
{
	bool *said = out->n_events ? calloc(out->n_events, sizeof(*said)) : NULL;
	size_t i, j;

	for (i = 0; i < out->n_events; i++) {
		const struct engine_event *ev = &out->events[i];
		const struct engine_event *target = NULL;

		if (said && said[i])
			continue;
		if (ev->type == EV_PIN && said)
			for (j = i + 1; j < out->n_events && !target; j++)
				if (out->events[j].type == EV_TARGET &&
				    out->events[j].domid == ev->domid) {
					target = &out->events[j];
					said[j] = true;
				}
		log_event(ev, target);
	}
	free(said);
}

/* Tell systemd the host's state (STATUS=) when it changed. */
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
	d->step_due_ms = clock_now_ms() + delay_ms;
}

int daemon_step(struct daemon *d)
{
	struct engine_obs obs;
	uint64_t now = clock_now_ms();
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
	log_events(&d->out);
	d->steps++;
	backend_apply(d->bops, d->be, d->engine, &d->out, &d->applied);
	for (i = 0; i < d->out.n_events; i++) {
		events_publish_engine(&d->events, d->engine, &d->out.events[i]);
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
	uint64_t now = clock_now_ms(), delay = 0;

	if (now - d->last_step_ms < STEP_COALESCE_MS)
		delay = STEP_COALESCE_MS - (now - d->last_step_ms);
	/* Already due at least as soon: nothing to do (coalescing). */
	if (d->step_pending && d->step_due_ms <= now + delay)
		return;
	step_schedule(d, delay);
}

void daemon_refresh(struct daemon *d, uint64_t max_age_ms)
{
	if (clock_now_ms() - d->last_step_ms > max_age_ms || d->last_step_ms == 0)
		daemon_step(d);
}

static void backend_notify_cb(void *arg)
{
	daemon_request_step(arg);
}

int daemon_apply_overrides(struct conf *conf, const char *const *overrides, char *err,
			   size_t errlen)
{
	char msg[400];
	size_t i;

	for (i = 0; overrides && overrides[i] && overrides[i + 1]; i += 2) {
		const char *key = overrides[i];

		if (conf_set(conf, "balloond", key, overrides[i + 1], msg, sizeof(msg)) < 0) {
			snprintf(err, errlen, "--%s: %s",
				 strcmp(key, "log_level") ? key : "log-level", msg);
			return -EINVAL;
		}
	}
	return 0;
}

/* Read xl.conf and Xen's command line again, judge what xl's own
 * ballooning means for balloond now, and say it in the log. */
static void daemon_coexist_check(struct daemon *d)
{
	static const int prio[] = {[COEXIST_OK] = LOG_INFO,
				   [COEXIST_NOTE] = LOG_NOTICE,
				   [COEXIST_CONFLICT] = LOG_WARNING};
	struct log_about about = {LOG_NO_DOMID, NULL, LOG_MSGID_COEXIST};
	const char *path = d->conf.xl_conf[0] ? d->conf.xl_conf : CONF_DEFAULT_XL_CONF;
	const char *cmdline = d->bops->xen_cmdline ? d->bops->xen_cmdline(d->be) : NULL;
	struct xl_facts f;
	char why[CONF_PATH_MAX + 64];

	xlconf_read(path, cmdline, &f, why, sizeof(why));
	if (why[0] && f.source != XL_CONF_MISSING)
		log_warnx("xl.conf: %s; assuming xl's defaults", why);
	coexist_judge(&f, d->conf.manage_dom0, path, &d->coexist);
	log_about(prio[d->coexist.verdict], &about, "%s: %s", d->coexist.summary,
		  d->coexist.advice);
}

int daemon_reload(struct daemon *d, char *err, size_t errlen)
{
	struct conf nc;
	int r;

	sd_notify(0, "RELOADING=1");
	r = conf_load_file(d->conf_path, d->conf_path_explicit, &nc, err, errlen);
	if (r == 0) {
		r = daemon_apply_overrides(&nc, d->overrides, err, errlen);
		if (r < 0)
			conf_free(&nc);
	}
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
			control_reconf(d->ctl);
			if (d->audit)
				audit_sched_reconf(d->audit);
			daemon_coexist_check(d);
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

/* The watchdog ping, and the backend's keepalive in the same wake-up. */
static void watchdog_cb(evutil_socket_t fd, short what, void *arg)
{
	struct daemon *d = arg;

	sd_notify(0, "WATCHDOG=1");
	if (d->bops->keepalive)
		d->bops->keepalive(d->be);
}

/* Hand one persisted record back to the engine; say what is ignored. */
static void restore_cb(void *arg, uint32_t domid, const char *key, const char *value)
{
	if (strcmp(key, BACKEND_KEY_RESERVATION) == 0) {
		if (engine_restore_reservation(arg, domid, value) < 0)
			log_warnx("ignoring persisted reservation %u: \"%.*s\"", domid,
				  (int)utf8_prefix(value, 64), value);
		else
			log_info("restored reservation %u: %s", domid, value);
		return;
	}
	if (engine_restore(arg, domid, key, value) < 0)
		log_warnx("ignoring persisted state for domain %u: %s = \"%.*s\"", domid, key,
			  (int)utf8_prefix(value, 32), value);
	else
		log_debug("restored domain %u: %s = %s", domid, key, value);
}

/* The control server's handler: the dispatch daemon_run was given. */
static json_object *dispatch_cb(void *arg, const struct rpc_request *req, bool read_only)
{
	struct daemon *d = arg;

	return d->dispatch(d, req, read_only);
}

/* The control server's cost: the method table's. */
static unsigned cost_cb(void *arg, const char *method)
{
	struct daemon *d = arg;

	return d->cost ? d->cost(d, method) : 1;
}

/* Wire the backend, the engine, the auditor and the control socket around
 * one loop, run it until a stop signal, then take it all down. */
int daemon_run(const char *conf_path, bool conf_path_explicit, struct conf *conf,
	       const char *const *overrides, const struct daemon_methods *methods)
{
	struct daemon dd = {0}, *d = &dd;
	struct control_handler handler = {dispatch_cb, cost_cb, d};
	struct audit_sched_env env = {0};
	struct event *ev_hup, *ev_term, *ev_int;
	const char *bname;
	uint64_t wd_usec = 0;
	char err[512];
	int r;

	snprintf(d->conf_path, sizeof(d->conf_path), "%s", conf_path);
	d->conf_path_explicit = conf_path_explicit;
	d->conf = *conf;
	d->dispatch = methods->dispatch;
	d->cost = methods->cost;
	d->overrides = overrides;
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
	d->base = control_new_base();
	if (!d->base)
		fatalx("cannot create the event loop");
	d->start_ms = clock_now_ms();
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
	daemon_coexist_check(d);
	r = d->bops->restore(d->be, restore_cb, d->engine);
	if (r < 0)
		log_warnx("reading persisted state failed: %s; starting without it", strerror(-r));
	env.base = d->base;
	env.ops = d->bops;
	env.be = d->be;
	env.engine = d->engine;
	env.conf = &d->conf;
	env.events = &d->events;
	r = audit_sched_new(&env, &d->audit);
	if (r < 0)
		fatalx("cannot set up the auditor: %s", strerror(-r));

	r = control_open(&d->ctl, d->base, &d->conf, d->conf.socket, &handler, err, sizeof(err));
	if (r < 0) {
		log_errx("control socket: %s", err);
		d->bops->close(d->be);
		return 1;
	}
	control_events_sink(d->ctl, &d->events);

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
	d->events.ops = NULL;
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
