/* The sim backend: the simulated hypervisor (sim/) driven in real time by
 * a libevent timer. It observes and acts exactly like the Xen backend does,
 * through the simulated XenStore and hypercalls. */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "backend-sim.h"
#include "log.h"
#include "scenario.h"
#include "simhost.h"
#include "units.h"

#define SIM_TICK_MS 100
#define DEFAULT_SCENARIO PKGDATADIR "/scenarios/demo.json"

struct backend_sim {
	struct backend base;
	struct simhost *host;
	struct scenario scn;
	struct event_base *evb;
	struct event *tick;     /* NULL in virtual time */
	const uint64_t *vclock; /* virtual time, or NULL for real time */
	backend_notify_fn notify;
	void *notify_arg;
	uint64_t t0_ms;
	size_t next_event;
	struct sim_dominfo *info;
	struct engine_obs_domain *doms;
	size_t cap;
};

static uint64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static uint64_t sim_now(const struct backend_sim *s)
{
	return s->vclock ? *s->vclock : mono_ms() - s->t0_ms;
}

int backend_sim_play(struct backend *b, const struct scenario_event *ev, uint64_t now,
		     char *err, size_t errlen)
{
	struct backend_sim *s = (struct backend_sim *)b;
	uint32_t domid = 0;
	char path[256];
	int r;

	if (ev->action != SCN_CREATE && ev->name[0] &&
	    simhost_lookup(s->host, ev->name, &domid) < 0) {
		snprintf(err, errlen, "no domain \"%s\" now", ev->name);
		return -ENOENT;
	}
	switch (ev->action) {
	case SCN_CREATE:
		r = simhost_create(s->host, &ev->domain, now, &domid);
		if (r < 0)
			snprintf(err, errlen, "creating %s: %s", ev->domain.name,
				 r == -ENOMEM ? "not enough free memory" : strerror(-r));
		return r;
	case SCN_DESTROY:
		return simhost_destroy(s->host, domid, now);
	case SCN_XS_WRITE:
		snprintf(path, sizeof(path), "/local/domain/%u/%s", domid, ev->key);
		r = simxs_write(simhost_xs(s->host), 0, path, ev->value);
		if (r < 0)
			snprintf(err, errlen, "writing %s: %s", path, strerror(-r));
		return r;
	case SCN_CORRUPT:
		return simhost_inject_fault(s->host, domid, ev->fault_class, err, errlen);
	default:
		snprintf(err, errlen, "this event needs the daemon");
		return -ENOTSUP;
	}
}

struct simhost *backend_sim_host(struct backend *b)
{
	return ((struct backend_sim *)b)->host;
}

const struct scenario *backend_sim_scenario(struct backend *b)
{
	return &((struct backend_sim *)b)->scn;
}

/* Play the scenario's host events that are due (real time). Events that
 * need the daemon's control API run only under --simulate. */
static void sim_play_events(struct backend_sim *s, uint64_t now)
{
	while (s->next_event < s->scn.n_events && s->scn.events[s->next_event].at_ms <= now) {
		const struct scenario_event *ev = &s->scn.events[s->next_event++];
		char err[256];
		int r = backend_sim_play(&s->base, ev, now, err, sizeof(err));

		if (r == -ENOTSUP)
			log_info("sim: scenario event at %.1fs needs --simulate; ignored in real time",
				 (double)ev->at_ms / 1000.0);
		else if (r < 0)
			log_warnx("sim: scenario event at %.1fs failed: %s",
				  (double)ev->at_ms / 1000.0, err);
		else
			log_info("sim: scenario event at %.1fs done", (double)ev->at_ms / 1000.0);
	}
}

/* Schedule the next tick: soon while anything moves or an event is due. */
static void sim_schedule(struct backend_sim *s)
{
	uint64_t now = sim_now(s), next = simhost_next_change_ms(s->host, now), delay;
	struct timeval tv;

	if (s->next_event < s->scn.n_events && s->scn.events[s->next_event].at_ms < next)
		next = s->scn.events[s->next_event].at_ms;
	if (next == UINT64_MAX)
		return;
	delay = next > now ? next - now : 0;
	if (delay < SIM_TICK_MS)
		delay = SIM_TICK_MS;
	tv.tv_sec = (time_t)(delay / 1000);
	tv.tv_usec = (suseconds_t)(delay % 1000 * 1000);
	evtimer_add(s->tick, &tv);
}

static void sim_tick_cb(evutil_socket_t fd, short what, void *arg)
{
	struct backend_sim *s = arg;
	struct simxs *xs = simhost_xs(s->host);
	uint64_t now = sim_now(s);
	char path[SIMXS_PATH_MAX], token[64];
	bool changed = false;

	simhost_advance(s->host, now);
	sim_play_events(s, now);
	while (simxs_next_event(xs, path, sizeof(path), token, sizeof(token)))
		changed = true;
	if (changed)
		s->notify(s->notify_arg);
	sim_schedule(s);
}

/* After balloond acts, let the simulated guests see it promptly. */
static void sim_kick(struct backend_sim *s)
{
	struct timeval tv = {0, 0};

	if (!s->tick)
		return;
	evtimer_del(s->tick);
	evtimer_add(s->tick, &tv);
}

/* Parse the scenario and build the host; shared by both clocks. */
static int sim_new(struct backend_sim **ret, const char *path, const uint64_t *vclock, char *err,
		   size_t errlen)
{
	struct backend_sim *s = calloc(1, sizeof(*s));
	struct simxs *xs;
	int r;

	if (!s)
		return -ENOMEM;
	r = scenario_parse_file(path, &s->scn, err, errlen);
	if (r < 0) {
		free(s);
		return r;
	}
	s->vclock = vclock;
	s->t0_ms = mono_ms();
	s->host = scenario_build_host(&s->scn, vclock ? *vclock : 0, err, errlen);
	if (!s->host) {
		scenario_free(&s->scn);
		free(s);
		return -EINVAL;
	}
	s->base.ops = &backend_sim_ops;
	xs = simhost_xs(s->host);
	simxs_watch(xs, "@introduceDomain", "introduce");
	simxs_watch(xs, "@releaseDomain", "release");
	simxs_watch(xs, "/local/domain", "domains");
	*ret = s;
	return 0;
}

static int sim_open(struct backend **ret, const struct conf *conf, struct event_base *base,
		    backend_notify_fn notify, void *arg, char *err, size_t errlen)
{
	const char *path = conf->scenario[0] ? conf->scenario : DEFAULT_SCENARIO;
	struct backend_sim *s;
	int r = sim_new(&s, path, NULL, err, errlen);

	if (r < 0)
		return r;
	s->evb = base;
	s->notify = notify;
	s->notify_arg = arg;
	s->tick = evtimer_new(base, sim_tick_cb, s);
	log_info("sim: host from %s: %" PRIu64 " MiB, %zu domains", path,
		 s->scn.host_memory_kib / 1024, s->scn.n_domains + 1);
	sim_kick(s);
	*ret = &s->base;
	return 0;
}

int backend_sim_open_virtual(struct backend **ret, const char *scenario_path,
			     const uint64_t *vclock, char *err, size_t errlen)
{
	struct backend_sim *s;
	int r = sim_new(&s, scenario_path, vclock, err, errlen);

	if (r < 0)
		return r;
	*ret = &s->base;
	return 0;
}

static void sim_close(struct backend *b)
{
	struct backend_sim *s = (struct backend_sim *)b;

	if (!s)
		return;
	if (s->tick)
		event_free(s->tick);
	simhost_free(s->host);
	scenario_free(&s->scn);
	free(s->info);
	free(s->doms);
	free(s);
}

/* Read a KiB value from XenStore; false when absent or malformed. */
static bool xs_read_kib(struct simxs *xs, uint32_t domid, const char *key, uint64_t *ret)
{
	char path[128], buf[64];

	snprintf(path, sizeof(path), "/local/domain/%u/%s", domid, key);
	if (simxs_read(xs, 0, path, buf, sizeof(buf)) < 0)
		return false;
	return backend_parse_kib(buf, ret) == 0;
}

static int sim_observe(struct backend *b, struct engine_obs *obs)
{
	struct backend_sim *s = (struct backend_sim *)b;
	struct simxs *xs = simhost_xs(s->host);
	struct sim_physinfo pi;
	size_t n, i, want = 64;

	simhost_advance(s->host, sim_now(s));
	for (;;) {
		if (want > s->cap) {
			void *a = realloc(s->info, want * sizeof(*s->info));
			void *c;

			if (!a)
				return -ENOMEM;
			s->info = a;
			c = realloc(s->doms, want * sizeof(*s->doms));
			if (!c)
				return -ENOMEM;
			s->doms = c;
			s->cap = want;
		}
		n = simhost_getinfolist(s->host, 0, s->info, s->cap);
		if (n < s->cap)
			break;
		want = s->cap * 2;
	}
	for (i = 0; i < n; i++) {
		const struct sim_dominfo *in = &s->info[i];
		struct engine_obs_domain *o = &s->doms[i];
		char path[128];

		memset(o, 0, sizeof(*o));
		o->domid = in->domid;
		o->type = in->type == SIM_PV ? DOM_PV : in->type == SIM_PVH ? DOM_PVH : DOM_HVM;
		o->dying = in->dying;
		o->shutdown = in->shutdown;
		o->tot_kib = in->tot_kib;
		o->max_kib = in->max_kib;
		snprintf(path, sizeof(path), "/local/domain/%u/name", in->domid);
		if (simxs_read(xs, 0, path, o->name, sizeof(o->name)) < 0)
			o->name[0] = '\0';
		xs_read_kib(xs, in->domid, "memory/static-max", &o->static_max_kib);
		o->has_target = xs_read_kib(xs, in->domid, "memory/target", &o->target_kib);
		o->has_xs_dmin = xs_read_kib(xs, in->domid, "memory/dynamic-min", &o->xs_dmin_kib);
		o->has_xs_dmax = xs_read_kib(xs, in->domid, "memory/dynamic-max", &o->xs_dmax_kib);
		/* guest-written: digits only or nothing */
		o->has_report = xs_read_kib(xs, in->domid, "data/meminfo_total", &o->report_total_kib) &&
				xs_read_kib(xs, in->domid, "data/meminfo_free", &o->report_free_kib);
	}
	simhost_physinfo(s->host, &pi);
	obs->total_kib = pi.total_kib;
	obs->free_kib = pi.free_kib;
	obs->scrub_kib = pi.scrub_kib;
	obs->outstanding_kib = pi.outstanding_kib;
	obs->doms = s->doms;
	obs->n = n;
	return 0;
}

static int sim_set_target(struct backend *b, uint32_t domid, uint64_t kib)
{
	struct backend_sim *s = (struct backend_sim *)b;
	char path[128], val[32];
	int r;

	snprintf(path, sizeof(path), "/local/domain/%u/memory/target", domid);
	snprintf(val, sizeof(val), "%" PRIu64, kib);
	r = simxs_write(simhost_xs(s->host), 0, path, val);
	sim_kick(s);
	return r;
}

static int sim_set_maxmem(struct backend *b, uint32_t domid, uint64_t kib)
{
	struct backend_sim *s = (struct backend_sim *)b;

	return simhost_setmaxmem(s->host, domid, kib);
}

static int sim_persist(struct backend *b, uint32_t domid, const char *key, const char *value)
{
	struct backend_sim *s = (struct backend_sim *)b;
	char path[128];

	if (key && strcmp(key, BACKEND_KEY_RESERVATION) == 0) {
		snprintf(path, sizeof(path), "/tool/balloond/reservation/%u", domid);
		if (!value)
			return simxs_rm(simhost_xs(s->host), 0, path);
		return simxs_write(simhost_xs(s->host), 0, path, value);
	}
	if (!key) {
		snprintf(path, sizeof(path), "/tool/balloond/domain/%u", domid);
		return simxs_rm(simhost_xs(s->host), 0, path);
	}
	snprintf(path, sizeof(path), "/tool/balloond/domain/%u/%s", domid, key);
	return simxs_write(simhost_xs(s->host), 0, path, value);
}

static int sim_restore(struct backend *b, backend_restore_fn fn, void *arg)
{
	struct backend_sim *s = (struct backend_sim *)b;
	struct simxs *xs = simhost_xs(s->host);
	char **doms = NULL, **keys = NULL;
	int n, i, j;

	n = simxs_directory(xs, 0, "/tool/balloond/reservation", &doms);
	for (i = 0; i < n; i++) {
		uint64_t id;
		char path[256], val[160];

		snprintf(path, sizeof(path), "/tool/balloond/reservation/%s", doms[i]);
		if (u64_parse_strict(doms[i], BACKEND_RESV_ID_MAX, &id) == 0 &&
		    simxs_read(xs, 0, path, val, sizeof(val)) >= 0)
			fn(arg, (uint32_t)id, BACKEND_KEY_RESERVATION, val);
	}
	if (n >= 0)
		simxs_strv_free(doms);
	doms = NULL;
	n = simxs_directory(xs, 0, "/tool/balloond/domain", &doms);
	if (n == -ENOENT)
		return 0;
	if (n < 0)
		return n;
	for (i = 0; i < n; i++) {
		uint64_t domid;
		char path[256], val[64];
		int m;

		if (u64_parse_strict(doms[i], 0x7fef, &domid) < 0)
			continue;
		snprintf(path, sizeof(path), "/tool/balloond/domain/%s", doms[i]);
		m = simxs_directory(xs, 0, path, &keys);
		for (j = 0; j < m; j++) {
			snprintf(path, sizeof(path), "/tool/balloond/domain/%s/%s", doms[i], keys[j]);
			if (simxs_read(xs, 0, path, val, sizeof(val)) >= 0)
				fn(arg, (uint32_t)domid, keys[j], val);
		}
		if (m >= 0)
			simxs_strv_free(keys);
		keys = NULL;
	}
	simxs_strv_free(doms);
	return 0;
}

static int sim_adjust_conf(struct backend *b, struct conf *conf, char *err, size_t errlen)
{
	struct backend_sim *s = (struct backend_sim *)b;

	return scenario_apply_config(&s->scn, conf, err, errlen);
}

const struct backend_ops backend_sim_ops = {
	.name = "sim",
	.open = sim_open,
	.close = sim_close,
	.observe = sim_observe,
	.set_target = sim_set_target,
	.set_maxmem = sim_set_maxmem,
	.persist = sim_persist,
	.adjust_conf = sim_adjust_conf,
	.restore = sim_restore,
};
