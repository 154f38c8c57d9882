/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The sim backend: the simulated hypervisor (sim/) driven in real time by
 * a libevent timer. It observes and acts exactly like the Xen backend does,
 * through the simulated XenStore and hypercalls. */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
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
#define SIM_FROZEN_TICK_MS 5 /* how soon to look again while an audit copies */
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
	/* What the last observation read from XenStore holds while XenStore
	 * has not changed (its generation): then only the hypercall's
	 * figures are read again. */
	size_t obs_n;
	uint64_t obs_gen;
	bool obs_valid;
	struct sim_audit *audit_spare; /* buffers of the last audit, for the next */
	pthread_t audit_warm;	       /* faulting in the first snapshot's buffers */
	bool audit_warming;
	atomic_bool audit_warm_done;   /* set by that thread when it is over */
	/* An audit worker is copying the host's frame tables: until it says
	 * it is done, the loop leaves them alone (no simhost_advance, no
	 * scenario event) and serves everything else. */
	atomic_bool audit_copying;
	bool fail_persist;	       /* the next persist of fail_persist_domid's target fails */
	uint32_t fail_persist_domid;
};

static void sim_audit_free(struct sim_audit *a);
static void sim_audit_prepare(struct backend_sim *s);

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

/* May the loop change the host's frames now (no audit copying them)? */
static bool sim_host_runnable(struct backend_sim *s)
{
	return !atomic_load_explicit(&s->audit_copying, memory_order_acquire);
}

/* Run the host up to now, unless an audit is copying its tables: then it
 * stays where it is (the simulator catches up later, event by event, to
 * the same state). */
static void sim_advance(struct backend_sim *s)
{
	if (sim_host_runnable(s))
		simhost_advance(s->host, sim_now(s));
}

int backend_sim_play(struct backend *b, const struct scenario_event *ev, uint64_t now,
		     char *err, size_t errlen)
{
	struct backend_sim *s = (struct backend_sim *)b;
	uint32_t domid = 0;
	char path[256];
	int r;

	if (ev->action != SCN_CREATE && ev->action != SCN_CLAIM && ev->name[0] &&
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
	case SCN_CLAIM:
		r = simhost_claim(s->host, ev->name, ev->size_kib, now);
		if (r < 0)
			snprintf(err, errlen, "claiming %" PRIu64 "M for %s: %s", ev->size_kib / 1024,
				 ev->name,
				 r == -ENOMEM ? "not enough unclaimed free memory" : strerror(-r));
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
	case SCN_FAIL_PERSIST:
		s->fail_persist = true;
		s->fail_persist_domid = domid;
		return 0;
	case SCN_DOMAIN_PAUSE:
	case SCN_DOMAIN_UNPAUSE: {
		struct sim_dominfo info;

		if (simhost_getinfolist(s->host, domid, &info, 1) != 1 || info.domid != domid)
			return -ENOENT;
		return simhost_set_flags(s->host, domid, info.shutdown,
					 ev->action == SCN_DOMAIN_PAUSE);
	}
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
	if (!sim_host_runnable(s))
		next = now + SIM_FROZEN_TICK_MS;
	if (next == UINT64_MAX)
		return;
	delay = next > now ? next - now : 0;
	if (delay < SIM_TICK_MS && sim_host_runnable(s))
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

	if (sim_host_runnable(s)) {
		simhost_advance(s->host, now);
		sim_play_events(s, now);
	}
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

/* Parse the scenario (the file at path, or text named path when text is
 * not NULL) and build the host; shared by both clocks. */
static int sim_new(struct backend_sim **ret, const char *path, const char *text,
		   const uint64_t *vclock, char *err, size_t errlen)
{
	struct backend_sim *s = calloc(1, sizeof(*s));
	struct simxs *xs;
	int r;

	if (!s)
		return -ENOMEM;
	r = text ? scenario_parse_string(text, path, &s->scn, err, errlen)
		 : scenario_parse_file(path, &s->scn, err, errlen);
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
	int r = sim_new(&s, path, NULL, NULL, err, errlen);

	if (r < 0)
		return r;
	s->evb = base;
	s->notify = notify;
	s->notify_arg = arg;
	s->tick = evtimer_new(base, sim_tick_cb, s);
	log_info("sim: host from %s: %" PRIu64 " MiB, %zu domains", path,
		 s->scn.host_memory_kib / 1024, s->scn.n_domains + 1);
	if (conf->audit_interval_ms)
		sim_audit_prepare(s);
	sim_kick(s);
	*ret = &s->base;
	return 0;
}

int backend_sim_open_virtual(struct backend **ret, const char *scenario_path,
			     const uint64_t *vclock, char *err, size_t errlen)
{
	return backend_sim_open_virtual_text(ret, scenario_path, NULL, vclock, err, errlen);
}

int backend_sim_open_virtual_text(struct backend **ret, const char *name, const char *text,
				  const uint64_t *vclock, char *err, size_t errlen)
{
	struct backend_sim *s;
	int r = sim_new(&s, name, text, vclock, err, errlen);

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
	if (s->audit_warming)
		pthread_join(s->audit_warm, NULL);
	sim_audit_free(s->audit_spare);
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

/* What the hypercall tells of a domain. */
static void sim_observe_info(struct engine_obs_domain *o, const struct sim_dominfo *in)
{
	o->domid = in->domid;
	o->type = in->type == SIM_PV ? DOM_PV : in->type == SIM_PVH ? DOM_PVH : DOM_HVM;
	o->dying = in->dying;
	o->shutdown = in->shutdown;
	o->paused = in->paused;
	o->tot_kib = in->tot_kib;
	o->max_kib = in->max_kib;
}

/* Everything about a domain: the hypercall's figures and its XenStore keys. */
static void sim_observe_dom(struct simxs *xs, struct engine_obs_domain *o,
			    const struct sim_dominfo *in)
{
	char path[128];
	uint64_t fb;

	memset(o, 0, sizeof(*o));
	sim_observe_info(o, in);
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
	o->has_qubes_report = xs_read_kib(xs, in->domid, "memory/meminfo", &o->qubes_used_kib);
	o->has_feature_balloon = xs_read_kib(xs, in->domid, "control/feature-balloon", &fb) && fb <= 1;
	o->feature_balloon = o->has_feature_balloon && fb == 1;
	if (o->type == DOM_HVM)
		xs_read_kib(xs, in->domid, "memory/videoram", &o->videoram_kib);
}

/* May the last observation's XenStore figures be used again: nothing in
 * XenStore changed since, and the same domains are there? */
static bool sim_observe_cached(const struct backend_sim *s, size_t n)
{
	size_t i;

	if (!s->obs_valid || n != s->obs_n ||
	    simxs_generation(simhost_xs(s->host)) != s->obs_gen)
		return false;
	for (i = 0; i < n; i++)
		if (s->doms[i].domid != s->info[i].domid)
			return false;
	return true;
}

static int sim_observe(struct backend *b, struct engine_obs *obs)
{
	struct backend_sim *s = (struct backend_sim *)b;
	struct simxs *xs = simhost_xs(s->host);
	struct sim_physinfo pi;
	size_t n, i, want = 64;

	sim_advance(s);
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
	if (sim_observe_cached(s, n)) {
		for (i = 0; i < n; i++)
			sim_observe_info(&s->doms[i], &s->info[i]);
	} else {
		for (i = 0; i < n; i++)
			sim_observe_dom(xs, &s->doms[i], &s->info[i]);
		s->obs_n = n;
		s->obs_gen = simxs_generation(xs);
		s->obs_valid = true;
	}
	simhost_physinfo(s->host, &pi);
	obs->total_kib = pi.total_kib;
	obs->free_kib = pi.free_kib;
	obs->scrub_kib = pi.scrub_kib;
	obs->outstanding_kib = pi.outstanding_kib;
	obs->low_mem_virq_kib = SIM_LOW_MEM_VIRQ_KIB;
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

static int sim_flag_uncooperative(struct backend *b, uint32_t domid, bool on)
{
	struct backend_sim *s = (struct backend_sim *)b;
	char path[128], v[32];
	int r;

	/* Never create a directory for a domain that has gone. */
	snprintf(path, sizeof(path), "/local/domain/%u/memory/target", domid);
	r = simxs_read(simhost_xs(s->host), 0, path, v, sizeof(v));
	if (r < 0)
		return r;
	snprintf(path, sizeof(path), "/local/domain/%u/memory/uncooperative", domid);
	return on ? simxs_write(simhost_xs(s->host), 0, path, "1")
		  : simxs_rm(simhost_xs(s->host), 0, path);
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
	if (s->fail_persist && domid == s->fail_persist_domid && strcmp(key, "target") == 0) {
		s->fail_persist = false; /* a scenario's fail-persist: this one fails */
		return -EIO;
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
		char path[256], val[320];

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

/* An audit snapshot: private copies of the host's tables, so that the
 * audit itself never reads the live simulator. The loop lists the domains
 * (audit_open); the worker copies the tables (audit_read) while the loop
 * leaves the frames alone (audit_copying), so that the copy is the host of
 * one instant however long it takes, and the loop serves its clients
 * meanwhile. Its buffers are kept for the next snapshot (touching fresh
 * memory costs more than copying): an audit must be closed before the
 * backend. */
struct sim_audit {
	struct backend_sim *sim;
	bool pending; /* listed, not copied yet: the host is held for it */
	uint64_t *m2p;
	uint32_t *owners;
	uint64_t nframes;
	unsigned char *arena; /* every P2M, one after the other */
	size_t arena_cap;
	struct audit_domain *doms;
	size_t ndoms;
};

static void sim_audit_free(struct sim_audit *a)
{
	if (!a)
		return;
	free(a->m2p);
	free(a->owners);
	free(a->arena);
	free(a->doms);
	free(a);
}

/* The copy is over (or will not be made): the loop may run the host. */
static void sim_audit_release(struct sim_audit *a)
{
	if (!a->pending)
		return;
	a->pending = false;
	atomic_store_explicit(&a->sim->audit_copying, false, memory_order_release);
}

static void sim_audit_close(struct backend_audit *ba)
{
	struct sim_audit *a = (struct sim_audit *)ba;

	if (!a)
		return;
	sim_audit_release(a);
	free(a->doms);
	a->doms = NULL;
	a->ndoms = 0;
	if (!a->sim->audit_spare)
		a->sim->audit_spare = a;
	else
		sim_audit_free(a);
}

/* A P2M's room in the arena, rounded up so that the next one is aligned. */
static size_t sim_audit_p2m_bytes(const struct audit_domain *ad)
{
	return (size_t)(ad->npfns * (ad->width / 8) + 7) & ~(size_t)7;
}

/* Runs on a helper thread: touch the first snapshot's buffers, so that the
 * first audit_open copies into memory already mapped (a fresh page costs
 * more to fault in than to copy). */
static void *sim_audit_warm(void *arg)
{
	struct sim_audit *a = arg;

	memset(a->m2p, 0, a->nframes * sizeof(*a->m2p));
	memset(a->owners, 0, a->nframes * sizeof(*a->owners));
	memset(a->arena, 0, a->arena_cap);
	atomic_store_explicit(&a->sim->audit_warm_done, true, memory_order_release);
	return NULL;
}

/* Allocate the first snapshot's buffers for the host as it starts and fault
 * them in on a helper thread; a failure only makes the first audit slower. */
static void sim_audit_prepare(struct backend_sim *s)
{
	struct sim_audit *a = calloc(1, sizeof(*a));
	struct sim_dominfo info[64];
	size_t n, i;
	uint32_t first = 0;
	sigset_t all, old;
	int r;

	if (!a)
		return;
	a->sim = s;
	simhost_m2p(s->host, &a->nframes);
	do {
		n = simhost_getinfolist(s->host, first, info, 64);
		for (i = 0; i < n; i++) {
			struct audit_domain ad = {.width = 64};
			uint64_t npfns = 0;

			if (info[i].type != SIM_PV || !simhost_p2m(s->host, info[i].domid, &npfns))
				continue;
			if (simhost_guest_width(s->host, info[i].domid) == 32)
				ad.width = 32;
			ad.npfns = npfns;
			a->arena_cap += sim_audit_p2m_bytes(&ad);
		}
		if (n)
			first = info[n - 1].domid + 1;
	} while (n == 64);
	a->m2p = malloc(a->nframes * sizeof(*a->m2p));
	a->owners = malloc(a->nframes * sizeof(*a->owners));
	a->arena = malloc(a->arena_cap ? a->arena_cap : 1);
	if (!a->m2p || !a->owners || !a->arena) {
		sim_audit_free(a);
		return;
	}
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	r = pthread_create(&s->audit_warm, NULL, sim_audit_warm, a);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (r != 0) {
		sim_audit_free(a);
		return;
	}
	s->audit_warming = true;
	s->audit_spare = a;
}

/* The domains to audit (all when ndomids is 0) with their P2M sizes; the
 * P2Ms themselves are copied afterwards. Returns the bytes they need. */
static size_t sim_audit_list(struct sim_audit *a, const struct simhost *h,
			     const struct sim_dominfo *info, size_t n, const uint32_t *domids,
			     size_t ndomids)
{
	size_t i, j, bytes = 0;

	for (i = 0; i < n; i++) {
		const struct sim_dominfo *in = &info[i];
		struct audit_domain *ad = &a->doms[a->ndoms];
		uint64_t npfns = 0;

		if (ndomids) {
			for (j = 0; j < ndomids && domids[j] != in->domid; j++)
				;
			if (j == ndomids)
				continue;
		}
		memset(ad, 0, sizeof(*ad));
		ad->domid = in->domid;
		ad->guest = in->type == SIM_PV ? AUDIT_GUEST_PV
			    : in->type == SIM_PVH ? AUDIT_GUEST_PVH : AUDIT_GUEST_HVM;
		ad->width = in->type == SIM_PV && simhost_guest_width(h, in->domid) == 32 ? 32 : 64;
		ad->flags = (in->dying ? AUDIT_DOM_DYING : 0) | (in->shutdown ? AUDIT_DOM_SHUTDOWN : 0);
		ad->tot_pages = in->tot_kib / SIM_PAGE_KIB;
		if (ad->guest == AUDIT_GUEST_PV && simhost_p2m(h, in->domid, &npfns)) {
			ad->npfns = npfns;
			bytes += sim_audit_p2m_bytes(ad);
		}
		a->ndoms++;
	}
	return bytes;
}

/* Snapshot the M2P, the frame owners and each listed domain's P2M as they
 * are now (domids that no longer exist are left out): list the domains
 * and hold the host still; sim_audit_read copies. */
static int sim_audit_open(struct backend *b, const uint32_t *domids, size_t ndomids,
			  struct backend_audit **ret, char *err, size_t errlen)
{
	struct backend_sim *s = (struct backend_sim *)b;
	struct sim_dominfo *info = NULL;
	struct sim_audit *a = s->audit_spare;
	size_t n, want = 64, bytes;
	uint64_t nframes;

	/* Never wait for the warm-up on the event loop: come back later. */
	if (s->audit_warming &&
	    !atomic_load_explicit(&s->audit_warm_done, memory_order_acquire)) {
		snprintf(err, errlen, "the simulator is still preparing its audit buffers");
		return -EAGAIN;
	}
	if (s->audit_warming) {
		pthread_join(s->audit_warm, NULL);
		s->audit_warming = false;
	}
	s->audit_spare = NULL;
	simhost_advance(s->host, sim_now(s));
	if (!a && !(a = calloc(1, sizeof(*a))))
		goto nomem;
	a->sim = s;
	for (;;) {
		void *p = realloc(info, want * sizeof(*info));

		if (!p)
			goto nomem;
		info = p;
		n = simhost_getinfolist(s->host, 0, info, want);
		if (n < want)
			break;
		want *= 2;
	}
	a->doms = calloc(n ? n : 1, sizeof(*a->doms));
	if (!a->doms)
		goto nomem;
	bytes = sim_audit_list(a, s->host, info, n, domids, ndomids);
	if (bytes > a->arena_cap) {
		free(a->arena);
		a->arena_cap = 0;
		a->arena = malloc(bytes);
		if (!a->arena)
			goto nomem;
		a->arena_cap = bytes;
	}
	simhost_m2p(s->host, &nframes);
	if (nframes != a->nframes) {
		free(a->m2p);
		free(a->owners);
		a->nframes = 0;
		a->m2p = malloc(nframes * sizeof(*a->m2p));
		a->owners = malloc(nframes * sizeof(*a->owners));
		if (!a->m2p || !a->owners)
			goto nomem;
		a->nframes = nframes;
	}
	free(info);
	a->pending = true;
	atomic_store_explicit(&s->audit_copying, true, memory_order_release);
	*ret = (struct backend_audit *)a;
	return 0;
nomem:
	free(info);
	sim_audit_free(a);
	snprintf(err, errlen, "out of memory copying the simulated host's tables");
	return -ENOMEM;
}

/* Copy the held host's tables into the snapshot (on the worker: the loop
 * only reads the host meanwhile and changes none of these), then let the
 * loop run the host again. */
static void sim_audit_copy(struct sim_audit *a)
{
	const struct simhost *h = a->sim->host;
	size_t i, off = 0;

	memcpy(a->m2p, simhost_m2p(h, NULL), a->nframes * sizeof(*a->m2p));
	memcpy(a->owners, simhost_owner_array(h, NULL), a->nframes * sizeof(*a->owners));
	for (i = 0; i < a->ndoms; i++) {
		struct audit_domain *ad = &a->doms[i];
		void *dst = a->arena + off;

		if (!ad->npfns)
			continue;
		if (ad->width == 32)
			simhost_p2m_copy32(h, ad->domid, dst, ad->npfns);
		else
			memcpy(dst, simhost_p2m(h, ad->domid, NULL), ad->npfns * 8);
		ad->p2m = dst;
		off += sim_audit_p2m_bytes(ad);
	}
	sim_audit_release(a);
}

/* Runs on the worker: copy the tables, then hand them over. */
static int sim_audit_read(struct backend_audit *ba, struct audit_tables *t, char *err,
			  size_t errlen)
{
	struct sim_audit *a = (struct sim_audit *)ba;

	if (a->pending)
		sim_audit_copy(a);
	memset(t, 0, sizeof(*t));
	t->m2p = a->m2p;
	t->nframes = a->nframes;
	t->owner_array = a->owners;
	t->doms = a->doms;
	t->ndoms = a->ndoms;
	return 0;
}

/* The simulated hypervisor's command line: the scenario's host.cmdline. */
static const char *sim_xen_cmdline(struct backend *b)
{
	return ((struct backend_sim *)b)->scn.cmdline;
}

const struct backend_ops backend_sim_ops = {
	.name = "sim",
	.open = sim_open,
	.close = sim_close,
	.observe = sim_observe,
	.set_target = sim_set_target,
	.set_maxmem = sim_set_maxmem,
	.persist = sim_persist,
	.flag_uncooperative = sim_flag_uncooperative,
	.adjust_conf = sim_adjust_conf,
	.restore = sim_restore,
	.xen_cmdline = sim_xen_cmdline,
	.audit_open = sim_audit_open,
	.audit_read = sim_audit_read,
	.audit_close = sim_audit_close,
};
