/* SPDX-License-Identifier: GPL-2.0-or-later */
/* balloond --simulate SCENARIO: the real engine on the simulated host under
 * a virtual clock, as fast as the CPU allows. Every invariant of
 * SIMULATOR.md is checked at every step; a JSON report goes to stdout and
 * the exit status says whether the run was clean and met its "expect". */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <json-c/json.h>

#include "audit.h"
#include "backend-sim.h"
#include "backend.h"
#include "conf-load.h"
#include "engine.h"
#include "log.h"
#include "simulate.h"
#include "units.h"

#define MAX_REPORTED_VIOLATIONS 20
#define CREATE_GRACE_MS 1000 /* a new domain may eat into the pool this long */
#define SIM_RESV_MAX 64

/* What became of each reserve event, in scenario order. */
struct sim_resv {
	uint32_t id;        /* the engine's; 0 when refused at once */
	uint64_t min_kib, max_kib, amount_kib, asked_ms, answer_by_ms;
	bool granted, failed, refused;
	uint64_t granted_ms;
	char state[16];
	char why[256];
};

struct sim_run {
	uint64_t vt;
	struct backend *be;
	struct simhost *host;
	const struct scenario *scn;
	struct conf conf;
	struct engine *engine;
	struct engine_output out;
	struct apply_stats apply;
	uint64_t steps;
	uint64_t last_unsettled_ms;
	uint64_t last_target_write_ms;
	uint64_t settled_ms;   /* the last target or maxmem write, or change of host free */
	uint64_t last_free_kib;
	bool trace;
	bool trace_reasons; /* BALLOOND_SIM_TRACE=reasons */
	uint64_t fixed_period_ms;
	uint64_t last_create_ms;
	bool created_any;
	uint64_t last_xs_target_ms; /* an external write of memory/target (0: none) */
	uint64_t *last_actual; /* by domid: to tell a guest growing on its own */
	uint64_t min_free_kib;
	uint64_t violations;
	uint64_t pool_violations; /* of them, free below the pool (+ granted reservations) */
	uint64_t first_pool_violation_ms;
	json_object *violation_list;
	unsigned failed_events;
	json_object *event_errors;
	struct sim_resv resv[SIM_RESV_MAX];
	unsigned n_resv;
	/* Domains someone pinned (set-target, or an xs-write of memory/target),
	 * and the ones found pinned without that, reported once. */
	char (*pin_names)[SIM_NAME_MAX];
	size_t n_pin_names;
	/* A crash event: the daemon dies at its next target write, before or
	 * after it, and restarts. */
	bool crash_armed, crash_after_target;
	unsigned crashes;
};

static void violation(struct sim_run *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void violation(struct sim_run *r, const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	r->violations++;
	if (json_object_array_length(r->violation_list) < MAX_REPORTED_VIOLATIONS) {
		json_object *v = json_object_new_object();

		json_object_object_add(v, "at", json_object_new_double((double)r->vt / 1000.0));
		json_object_object_add(v, "what", json_object_new_string(msg));
		json_object_array_add(r->violation_list, v);
	}
}

/* Pool violations are also counted apart: a property run tells those the
 * scenario caused (an overcommitted creation) from balloond's. */
static void pool_violation_count(struct sim_run *r)
{
	if (!r->pool_violations++)
		r->first_pool_violation_ms = r->vt;
}

static void restore_cb(void *arg, uint32_t domid, const char *key, const char *value)
{
	if (strcmp(key, BACKEND_KEY_RESERVATION) == 0)
		engine_restore_reservation(arg, domid, value);
	else
		engine_restore(arg, domid, key, value);
}

static int engine_start(struct sim_run *r)
{
	r->engine = engine_new(&r->conf);
	if (!r->engine)
		return -ENOMEM;
	return r->be->ops->restore(r->be, restore_cb, r->engine);
}

/* Actions that touch what must not be touched: frozen, excluded, or a
 * pinned domain moved away from its pin. */
static void check_actions(struct sim_run *r)
{
	size_t i;

	for (i = 0; i < r->out.n_actions; i++) {
		const struct engine_action *a = &r->out.actions[i];
		const struct engine_dom *d;

		if (a->type != ACT_SET_TARGET && a->type != ACT_SET_MAXMEM)
			continue;
		d = engine_find(r->engine, a->domid);
		if (!d)
			continue;
		if (d->mode == MODE_FROZEN || d->mode == MODE_EXCLUDED)
			violation(r, "domain %s is %s but balloond wrote its %s", d->name,
				  domain_mode_name(d->mode),
				  a->type == ACT_SET_TARGET ? "target" : "maxmem");
		if (d->mode == MODE_PINNED && a->type == ACT_SET_TARGET &&
		    (a->kib > d->pin_kib + ENGINE_PAGE_KIB || a->kib + ENGINE_PAGE_KIB < d->pin_kib))
			violation(r, "domain %s is pinned at %" PRIu64 " KiB but balloond wrote %" PRIu64,
				  d->name, d->pin_kib, a->kib);
		if (simhost_driver_pending(r->host, a->domid))
			violation(r, "domain %s: balloond wrote its %s before its balloon driver was "
				     "ready",
				  d->name, a->type == ACT_SET_TARGET ? "target" : "maxmem");
		{
			struct sim_dominfo info;

			if (simhost_getinfolist(r->host, a->domid, &info, 1) == 1 &&
			    info.domid == a->domid && info.paused)
				violation(r, "domain %s is paused but balloond wrote its %s", d->name,
					  a->type == ACT_SET_TARGET ? "target" : "maxmem");
		}
		if (a->type == ACT_SET_TARGET && d->static_max_kib && a->kib > d->static_max_kib)
			violation(r, "domain %s given target %" PRIu64 " KiB above its static-max %" PRIu64
				     " KiB: a value it can never reach",
				  d->name, a->kib, d->static_max_kib);
		if (a->type == ACT_SET_TARGET && a->kib < CONF_BOUND_FLOOR_KIB &&
		    (!d->static_max_kib || d->static_max_kib > CONF_BOUND_FLOOR_KIB + SIM_VIDEORAM_KIB))
			violation(r, "domain %s given target %" PRIu64 " KiB, below the floor",
				  d->name, a->kib);
		if (d->mode == MODE_AUTO && a->type == ACT_SET_TARGET &&
		    (a->kib + ENGINE_PAGE_KIB < d->dmin_kib || a->kib > d->ceiling_kib + ENGINE_PAGE_KIB))
			violation(r, "domain %s given target %" PRIu64 " KiB outside %" PRIu64 "..%" PRIu64,
				  d->name, a->kib, d->dmin_kib, d->ceiling_kib);
	}
}

/* Remember that name was pinned by the scenario (an admin or an external
 * write), or (bad) that balloond pinned it without being asked. */
static bool pin_name_add(struct sim_run *r, const char *name)
{
	void *nv;
	size_t i;

	for (i = 0; i < r->n_pin_names; i++)
		if (strcmp(r->pin_names[i], name) == 0)
			return false;
	nv = realloc(r->pin_names, (r->n_pin_names + 1) * sizeof(*r->pin_names));
	if (!nv)
		return false;
	r->pin_names = nv;
	snprintf(r->pin_names[r->n_pin_names++], SIM_NAME_MAX, "%s", name);
	return true;
}

/* A pin nobody asked for (balloond took its own write for someone
 * else's, after a crash or a failed write): reported once per domain. */
static void check_pins(struct sim_run *r)
{
	size_t i;

	for (i = 0; i < engine_count(r->engine); i++) {
		const struct engine_dom *d = engine_at(r->engine, i);

		if (d->mode == MODE_PINNED && pin_name_add(r, d->name))
			violation(r, "domain %s is pinned at %" PRIu64 " KiB but nobody pinned it",
				  d->name, d->pin_kib);
	}
}

/* The pool balloond must keep: the configured one, or Xen's low-memory
 * alarm if that is higher. */
static uint64_t sim_pool(const struct sim_run *r)
{
	return r->conf.pool_kib > SIM_LOW_MEM_VIRQ_KIB ? r->conf.pool_kib : SIM_LOW_MEM_VIRQ_KIB;
}

/* The simulated guest's true offset if it rests below its target, else 0. */
static int64_t sim_negative_offset(const struct sim_run *r, uint32_t domid)
{
	struct sim_balloon_status st;

	if (simhost_balloon_status(r->host, domid, &st) < 0 || st.offset_kib > 0)
		return 0;
	return st.offset_kib;
}

/* The host-level invariants, after every step. */
static void check_host(struct sim_run *r)
{
	const struct conf *c = &r->conf;
	struct sim_physinfo pi;
	struct simxs_stats xst;
	bool guest_grew = false, unsettled = false;
	uint64_t pool = sim_pool(r);
	char err[256];
	size_t i;

	if (simhost_check(r->host, err, sizeof(err)) < 0)
		violation(r, "host: %s", err);
	simxs_get_stats(simhost_xs(r->host), &xst);
	if (xst.dom0_noop_writes)
		violation(r, "%" PRIu64 " XenStore writes changed nothing", xst.dom0_noop_writes);
	simhost_physinfo(r->host, &pi);
	if (pi.free_kib < r->min_free_kib)
		r->min_free_kib = pi.free_kib;
	for (i = 0; i < engine_count(r->engine); i++) {
		const struct engine_dom *d = engine_at(r->engine, i);

		/* growing above its target: the guest's own doing */
		if (d->has_target && (int64_t)d->actual_kib > (int64_t)d->target_kib + d->offset_kib &&
		    d->domid < 0x8000 && d->actual_kib > r->last_actual[d->domid])
			guest_grew = true;
		if (d->domid < 0x8000)
			r->last_actual[d->domid] = d->actual_kib;
		/* A guest that rests below its target by nature (its offset,
		 * as the simulated guest really has it) is not below dmin by
		 * balloond's doing while its target is not; nor is one still
		 * growing toward a target at or above a dynamic-min that was
		 * just raised. */
		if (d->managed && d->mode == MODE_AUTO && d->state != DOM_UNCOOPERATIVE &&
		    (int64_t)(d->actual_kib + c->reach_tolerance_kib) <
			    (int64_t)d->dmin_kib + sim_negative_offset(r, d->domid) &&
		    d->target_kib >= d->dmin_kib &&
		    !(d->state == DOM_CONVERGING && d->actual_kib < d->target_kib))
			violation(r, "domain %s below dynamic-min: %" PRIu64 " < %" PRIu64 " KiB",
				  d->name, d->actual_kib, d->dmin_kib);
		if (d->managed && d->state != DOM_UNCOOPERATIVE && d->state != DOM_IDLE)
			unsettled = true;
	}
	/* Free memory below the pool is balloond's fault unless a guest grew
	 * on its own, a domain was just created (or claimed memory), or
	 * someone else just raised a memory/target (its guest grows into its
	 * maxmem slack at once). Claimed memory is free but not for the pool:
	 * it is the claimant's. */
	if (pi.free_kib < pool + pi.outstanding_kib && !guest_grew &&
	    !(r->created_any && r->vt - r->last_create_ms < CREATE_GRACE_MS) &&
	    !(r->last_xs_target_ms && r->vt - r->last_xs_target_ms < CREATE_GRACE_MS)) {
		pool_violation_count(r);
		if (pi.outstanding_kib)
			violation(r, "host free %" PRIu64 " KiB less %" PRIu64 " KiB claimed is "
				     "below the pool %" PRIu64 " KiB", pi.free_kib,
				  pi.outstanding_kib, pool);
		else
			violation(r, "host free %" PRIu64 " KiB below the pool %" PRIu64 " KiB",
				  pi.free_kib, pool);
	}
	for (i = 0; i < r->out.n_actions && !unsettled; i++) {
		const struct engine_dom *d = engine_find(r->engine, r->out.actions[i].domid);

		if (r->out.actions[i].type == ACT_SET_TARGET && d && d->state != DOM_UNCOOPERATIVE)
			unsettled = true;
	}
	if (unsettled)
		r->last_unsettled_ms = r->vt;
}

/* Every reservation is answered by its deadline; a granted one keeps its
 * memory free beyond the pool until it is transferred or ends. */
static void check_reservations(struct sim_run *r)
{
	const struct conf *c = &r->conf;
	struct sim_physinfo pi;
	uint64_t granted_held = 0, pool = sim_pool(r);
	size_t i;

	for (i = 0; i < r->n_resv; i++) {
		struct sim_resv *sr = &r->resv[i];
		const struct engine_resv *er = sr->id ? engine_reservation_find(r->engine, sr->id)
						      : NULL;

		if (!er)
			continue;
		snprintf(sr->state, sizeof(sr->state), "%s", resv_state_name(er->state));
		sr->amount_kib = er->amount_kib;
		if (er->state == RESV_GRANTED) {
			granted_held += er->held_kib;
			if (!sr->granted) {
				sr->granted = true;
				sr->granted_ms = r->vt;
			}
		}
		if (er->state == RESV_FAILED && !sr->failed) {
			sr->failed = true;
			snprintf(sr->why, sizeof(sr->why), "%s", er->why);
		}
		if (er->for_name[0] && er->why[0]) /* expired or taken: by whom */
			snprintf(sr->why, sizeof(sr->why), "%s", er->why);
		if (er->state == RESV_PENDING && r->vt > er->answer_by_ms + c->poll_interval_ms)
			violation(r, "reservation %u still pending %" PRIu64 " ms after its deadline",
				  er->id, r->vt - er->answer_by_ms);
	}
	simhost_physinfo(r->host, &pi);
	if (granted_held && pi.free_kib < pool + granted_held &&
	    !(r->created_any && r->vt - r->last_create_ms < CREATE_GRACE_MS)) {
		pool_violation_count(r);
		violation(r, "granted reservations hold %" PRIu64 " KiB but only %" PRIu64
			     " KiB is free beyond the pool", granted_held,
			  pi.free_kib > pool ? pi.free_kib - pool : 0);
	}
}

/* One scenario event at its time. */
static void play(struct sim_run *r, const struct scenario_event *ev)
{
	const struct engine_dom *d;
	char err[256] = "";
	int rc = 0;

	if (ev->action == SCN_SET_TARGET ||
	    (ev->action == SCN_XS_WRITE && strcmp(ev->key, "memory/target") == 0))
		pin_name_add(r, ev->name);
	if (ev->action == SCN_XS_WRITE && strcmp(ev->key, "memory/target") == 0)
		r->last_xs_target_ms = r->vt ? r->vt : 1;
	switch (ev->action) {
	case SCN_SET_TARGET:
		d = engine_find_name(r->engine, ev->name);
		if (!d) {
			snprintf(err, sizeof(err), "no domain %s", ev->name);
			rc = -ENOENT;
			break;
		}
		rc = engine_pin(r->engine, d->domid, ev->target_kib, r->vt, NULL, NULL, err,
				sizeof(err));
		break;
	case SCN_RESTART:
		engine_free(r->engine);
		rc = engine_start(r);
		if (rc < 0)
			snprintf(err, sizeof(err), "restart failed");
		break;
	case SCN_PAUSE:
	case SCN_RESUME:
		engine_pause(r->engine, ev->action == SCN_PAUSE);
		break;
	case SCN_CRASH:
		r->crash_armed = true;
		r->crash_after_target = ev->crash_after_target;
		break;
	case SCN_RESERVE: {
		struct sim_resv *sr;

		if (r->n_resv >= SIM_RESV_MAX) {
			snprintf(err, sizeof(err), "more than %d reservations", SIM_RESV_MAX);
			rc = -E2BIG;
			break;
		}
		sr = &r->resv[r->n_resv++];
		sr->min_kib = ev->min_kib;
		sr->max_kib = ev->max_kib;
		sr->asked_ms = r->vt;
		rc = engine_reserve_for(r->engine, ev->min_kib, ev->max_kib, ev->ttl_ms, ev->name,
					r->vt, &sr->id, sr->why, sizeof(sr->why));
		if (rc < 0) {
			/* a refusal is an answer, not a scenario error */
			sr->id = 0;
			sr->refused = true;
			snprintf(sr->state, sizeof(sr->state), "refused");
			rc = 0;
		} else {
			const struct engine_resv *er = engine_reservation_find(r->engine, sr->id);

			sr->answer_by_ms = er->answer_by_ms;
			sr->amount_kib = er->amount_kib;
			snprintf(sr->state, sizeof(sr->state), "pending");
		}
		break;
	}
	case SCN_TRANSFER:
	case SCN_CANCEL: {
		uint32_t domid;
		const struct sim_resv *sr = ev->resv <= r->n_resv ? &r->resv[ev->resv - 1] : NULL;

		if (!sr || !sr->id) {
			snprintf(err, sizeof(err), "no reservation %u was made", ev->resv);
			rc = -ENOENT;
			break;
		}
		if (ev->action == SCN_CANCEL) {
			rc = engine_reservation_cancel(r->engine, sr->id, r->vt, err, sizeof(err));
			break;
		}
		/* the toolstack knows the new domid before balloond sees it */
		if (simhost_lookup(r->host, ev->name, &domid) < 0) {
			snprintf(err, sizeof(err), "no domain %s", ev->name);
			rc = -ENOENT;
			break;
		}
		rc = engine_reservation_transfer(r->engine, sr->id, domid, r->vt, err,
						 sizeof(err));
		break;
	}
	default:
		rc = backend_sim_play(r->be, ev, r->vt, err, sizeof(err));
		if ((ev->action == SCN_CREATE || ev->action == SCN_CLAIM) && rc == 0) {
			r->created_any = true;
			r->last_create_ms = r->vt;
		}
		break;
	}
	if (rc < 0) {
		json_object *o = json_object_new_object();

		r->failed_events++;
		json_object_object_add(o, "at", json_object_new_double((double)ev->at_ms / 1000.0));
		json_object_object_add(o, "error", json_object_new_string(err));
		json_object_array_add(r->event_errors, o);
	}
}

static uint32_t sim_owner(void *arg, uint64_t mfn)
{
	return simhost_frame_owner(arg, mfn);
}

/* Audit the simulated host's M2P/P2M: a pass now, then a re-check one
 * settle delay later (virtual time moves on) that keeps only what is still
 * there. Returns the confirmed result (caller frees) or NULL. */
static struct audit_result *sim_audit(struct sim_run *r)
{
	struct sim_dominfo info[1024];
	struct audit_domain ad[1024];
	struct audit_tables t = {0};
	struct audit_result *first = NULL, *confirmed = NULL;
	size_t n, i, k = 0;
	int pass;

	for (pass = 0; pass < 2; pass++) {
		n = simhost_getinfolist(r->host, 0, info, 1024);
		for (i = 0, k = 0; i < n; i++) {
			uint64_t npfns = 0;

			ad[k].domid = info[i].domid;
			ad[k].guest = info[i].type == SIM_PV ? AUDIT_GUEST_PV
				      : info[i].type == SIM_PVH ? AUDIT_GUEST_PVH : AUDIT_GUEST_HVM;
			ad[k].width = 64; /* the simulator keeps every P2M widened */
			ad[k].flags = (info[i].dying ? AUDIT_DOM_DYING : 0) |
				      (info[i].shutdown ? AUDIT_DOM_SHUTDOWN : 0);
			ad[k].p2m = simhost_p2m(r->host, info[i].domid, &npfns);
			ad[k].npfns = npfns;
			ad[k].tot_pages = info[i].tot_kib / SIM_PAGE_KIB;
			k++;
		}
		t.m2p = simhost_m2p(r->host, &t.nframes);
		t.owner = sim_owner;
		t.owner_arg = r->host;
		t.doms = ad;
		t.ndoms = k;
		if (pass == 0) {
			if (audit_run(&t, NULL, &first) < 0)
				return NULL;
			r->vt += 1000; /* settle delay */
			simhost_advance(r->host, r->vt);
		} else if (audit_recheck(first, &t, &confirmed) < 0) {
			confirmed = NULL;
		}
	}
	audit_result_free(first);
	return confirmed;
}

/* BALLOOND_SIM_TRACE=reasons: after each step, on stderr, every event
 * with its text, and every domain's reason and newest decision; an exact
 * record of the texts the engine gives operators (compare-reasons.sh). */
static void trace_reasons(const struct sim_run *r)
{
	const struct engine_output *out = &r->out;
	size_t i;

	for (i = 0; i < out->n_events; i++) {
		const struct engine_event *ev = &out->events[i];

		fprintf(stderr,
			"%" PRIu64 " event %d dom%u '%s' %" PRIu64 " %" PRIu64 " %d %d resv%u '%s'\n",
			r->vt, (int)ev->type, ev->domid, ev->name, ev->old_kib, ev->new_kib,
			(int)ev->old_state, (int)ev->new_state, ev->resv_id, ev->text);
	}
	for (i = 0; i < engine_count(r->engine); i++) {
		const struct engine_dom *d = engine_at(r->engine, i);
		const struct engine_decision *dec = engine_dom_decision(d, 0);
		char reason[ENGINE_REASON_MAX];

		fprintf(stderr, "%" PRIu64 " dom%u reason '%s'\n", r->vt, d->domid,
			engine_dom_reason(d, reason, sizeof(reason)));
		if (dec)
			fprintf(stderr, "%" PRIu64 " dom%u decision %" PRIu64 " %d %" PRIu64
				" %" PRIu64 " '%s'\n",
				r->vt, d->domid, dec->at_ms, dec->has_old, dec->old_kib,
				dec->new_kib, dec->reason);
	}
}

/* An armed crash: if this step writes a target, carry out its actions up to
 * the first target write (and that write too, after-target), drop the rest
 * as a killed daemon would, and restart the engine from what was
 * persisted. 0 when it crashed, -EAGAIN when the step writes no target. */
static int crash_apply(struct sim_run *r)
{
	struct engine_output part = r->out;
	size_t i;

	for (i = 0; i < r->out.n_actions; i++)
		if (r->out.actions[i].type == ACT_SET_TARGET)
			break;
	if (i == r->out.n_actions)
		return -EAGAIN;
	part.n_actions = i + (r->crash_after_target ? 1 : 0);
	backend_apply(r->be->ops, r->be, r->engine, &part, &r->apply);
	r->crash_armed = false;
	r->crashes++;
	engine_free(r->engine);
	if (engine_start(r) < 0)
		violation(r, "the restart after a crash failed");
	return 0;
}

static int step(struct sim_run *r)
{
	struct engine_obs obs;
	int rc;

	rc = r->be->ops->observe(r->be, &obs);
	if (rc < 0)
		return rc;
	rc = engine_step(r->engine, &obs, r->vt, &r->out);
	if (rc < 0)
		return rc;
	check_actions(r);
	if (r->trace_reasons)
		trace_reasons(r);
	for (size_t i = 0; i < r->out.n_actions; i++) {
		const struct engine_action *a = &r->out.actions[i];

		if (a->type == ACT_SET_TARGET)
			r->last_target_write_ms = r->vt;
		if (a->type == ACT_SET_TARGET || a->type == ACT_SET_MAXMEM)
			r->settled_ms = r->vt;
		/* BALLOOND_SIM_TRACE=1: every target and maxmem write on stderr */
		if (r->trace && (a->type == ACT_SET_TARGET || a->type == ACT_SET_MAXMEM))
			fprintf(stderr, "%10.3f %s dom%u %" PRIu64 " KiB (free %" PRIu64 ")\n",
				(double)r->vt / 1000.0,
				a->type == ACT_SET_TARGET ? "target" : "maxmem", a->domid, a->kib,
				obs.free_kib);
	}
	if (r->crash_armed && crash_apply(r) == 0) {
		r->steps++;
		return 0;
	}
	backend_apply(r->be->ops, r->be, r->engine, &r->out, &r->apply);
	r->steps++;
	check_host(r);
	check_reservations(r);
	check_pins(r);
	return 0;
}

static uint64_t wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static json_object *expect_item(bool want, bool got)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "want", json_object_new_boolean(want));
	json_object_object_add(o, "got", json_object_new_boolean(got));
	json_object_object_add(o, "ok", json_object_new_boolean(want == got));
	return o;
}

/* expect.final_target (actual false) or final_actual: each named domain's
 * memory/target (tot_pages) within its bounds at the end; adds the check
 * to exp under key, true when every one holds. */
static bool expect_final(const struct sim_run *r, json_object *exp, const char *key,
			 const struct scenario_final_target *fs, size_t n, bool actual)
{
	json_object *ft = json_object_new_object();
	bool all = true;
	size_t i;

	for (i = 0; i < n; i++) {
		const struct scenario_final_target *f = &fs[i];
		const struct engine_dom *d = engine_find_name(r->engine, f->name);
		json_object *it = json_object_new_object();
		bool have = d && (actual || d->has_target);
		uint64_t v = have ? (actual ? d->actual_kib : d->target_kib) : 0;
		bool got = have && v >= f->min_kib && (!f->max_kib || v <= f->max_kib);

		json_object_object_add(it, actual ? "actual" : "target",
				       have ? json_object_new_int64((int64_t)v) : NULL);
		json_object_object_add(it, "ok", json_object_new_boolean(got));
		json_object_object_add(ft, f->name, it);
		all = all && got;
	}
	json_object_object_add(exp, key, ft);
	return all;
}

int simulate_run(const char *path, const char *text, const char *conf_path, bool conf_explicit,
		 json_object **ret_report)
{
	struct sim_run run = {0}, *r = &run;
	json_object *rep, *xs, *doms, *exp, *aud, *rs;
	struct audit_result *audit = NULL;
	struct simxs_stats xst;
	size_t next_event = 0, i;
	uint64_t t0 = wall_ms(), next_wake = 0;
	char err[512];
	bool ok = true;
	int rc;

	log_set_level(LOG_LEVEL_ERR);
	rc = conf_load_file(conf_path, conf_explicit, &r->conf, err, sizeof(err));
	if (rc < 0) {
		fprintf(stderr, "balloond: %s\n", err);
		return 2;
	}
	rc = backend_sim_open_virtual_text(&r->be, path, text, &r->vt, err, sizeof(err));
	if (rc < 0) {
		fprintf(stderr, "balloond: %s\n", err);
		conf_free(&r->conf);
		return 2;
	}
	r->host = backend_sim_host(r->be);
	r->scn = backend_sim_scenario(r->be);
	if (r->be->ops->adjust_conf(r->be, &r->conf, err, sizeof(err)) < 0) {
		fprintf(stderr, "balloond: %s\n", err);
		r->be->ops->close(r->be);
		conf_free(&r->conf);
		return 2;
	}
	r->violation_list = json_object_new_array();
	r->event_errors = json_object_new_array();
	r->min_free_kib = UINT64_MAX;
	r->trace = getenv("BALLOOND_SIM_TRACE") && strcmp(getenv("BALLOOND_SIM_TRACE"), "1") == 0;
	r->trace_reasons =
		getenv("BALLOOND_SIM_TRACE") && strcmp(getenv("BALLOOND_SIM_TRACE"), "reasons") == 0;
	/* BALLOOND_SIM_FIXED_PERIOD=SECONDS: step on a fixed clock, deaf to watches */
	if (getenv("BALLOOND_SIM_FIXED_PERIOD"))
		r->fixed_period_ms = strtoull(getenv("BALLOOND_SIM_FIXED_PERIOD"), NULL, 10) * 1000;
	r->last_actual = calloc(0x8000, sizeof(*r->last_actual));
	if (!r->last_actual) {
		fprintf(stderr, "balloond: out of memory\n");
		return 2;
	}
	if (engine_start(r) < 0) {
		fprintf(stderr, "balloond: out of memory\n");
		return 2;
	}

	for (;;) {
		struct simxs *sx = simhost_xs(r->host);
		char p[SIMXS_PATH_MAX], tok[64];
		bool dirty = false;
		uint64_t next;

		simhost_advance(r->host, r->vt);
		while (next_event < r->scn->n_events && r->scn->events[next_event].at_ms <= r->vt) {
			play(r, &r->scn->events[next_event++]);
			dirty = true;
		}
		while (simxs_next_event(sx, p, sizeof(p), tok, sizeof(tok)))
			dirty = !r->fixed_period_ms;
		/* a fixed period (a squeezed-like baseline for benchmarks): no
		 * watches, a step every period and at the engine's own wake-ups */
		if (r->fixed_period_ms && r->vt % r->fixed_period_ms == 0)
			dirty = true;
		if (dirty || r->vt >= next_wake) {
			rc = step(r);
			if (rc < 0) {
				violation(r, "step failed: %s", strerror(-rc));
				break;
			}
			next_wake = r->out.next_wake_ms;
			/* the step's own writes fire watches: drain them */
			while (simxs_next_event(sx, p, sizeof(p), tok, sizeof(tok)))
				;
		}
		{
			/* host free moves with every balloon batch, events and whoever steps */
			struct sim_physinfo pi;

			simhost_physinfo(r->host, &pi);
			if (pi.free_kib != r->last_free_kib)
				r->settled_ms = r->vt;
			if (pi.free_kib != r->last_free_kib && r->trace)
				fprintf(stderr, "%10.3f free %" PRIu64 " KiB\n", (double)r->vt / 1000.0,
					pi.free_kib);
			r->last_free_kib = pi.free_kib;
		}
		if (r->vt >= r->scn->until_ms)
			break;
		next = simhost_next_change_ms(r->host, r->vt);
		if (next_wake < next)
			next = next_wake;
		if (r->fixed_period_ms && (r->vt / r->fixed_period_ms + 1) * r->fixed_period_ms < next)
			next = (r->vt / r->fixed_period_ms + 1) * r->fixed_period_ms;
		if (next_event < r->scn->n_events && r->scn->events[next_event].at_ms < next)
			next = r->scn->events[next_event].at_ms;
		if (next > r->scn->until_ms)
			next = r->scn->until_ms;
		r->vt = next > r->vt ? next : r->vt + 1;
	}

	/* The M2P/P2M audit at the end: ballooning alone must leave nothing;
	 * injected faults must be found exactly. */
	audit = sim_audit(r);
	if (!audit)
		violation(r, "the audit could not run");

	/* The report. */
	rep = json_object_new_object();
	json_object_object_add(rep, "scenario", json_object_new_string(path));
	json_object_object_add(rep, "virtual_seconds", json_object_new_double((double)r->vt / 1000.0));
	json_object_object_add(rep, "wall_ms", json_object_new_int64((int64_t)(wall_ms() - t0)));
	json_object_object_add(rep, "steps", json_object_new_int64((int64_t)r->steps));
	json_object_object_add(rep, "converged_at",
			       json_object_new_double((double)r->last_unsettled_ms / 1000.0));
	json_object_object_add(rep, "min_free", json_object_new_int64((int64_t)r->min_free_kib));
	json_object_object_add(rep, "pool", json_object_new_int64((int64_t)r->conf.pool_kib));
	json_object_object_add(rep, "last_target_write_at",
			       json_object_new_double((double)r->last_target_write_ms / 1000.0));
	json_object_object_add(rep, "settled_at",
			       json_object_new_double((double)r->settled_ms / 1000.0));
	{
		struct sim_physinfo pi;

		simhost_physinfo(r->host, &pi);
		json_object_object_add(rep, "final_free", json_object_new_int64((int64_t)pi.free_kib));
	}
	simxs_get_stats(simhost_xs(r->host), &xst);
	xs = json_object_new_object();
	json_object_object_add(xs, "dom0_writes", json_object_new_int64((int64_t)xst.dom0_writes));
	json_object_object_add(xs, "noop_writes", json_object_new_int64((int64_t)xst.dom0_noop_writes));
	json_object_object_add(xs, "guest_writes", json_object_new_int64((int64_t)xst.guest_writes));
	json_object_object_add(xs, "target_writes", json_object_new_int64((int64_t)r->apply.targets));
	json_object_object_add(xs, "maxmem_sets", json_object_new_int64((int64_t)r->apply.maxmems));
	json_object_object_add(rep, "xenstore", xs);
	json_object_object_add(rep, "violations", json_object_new_int64((int64_t)r->violations));
	json_object_object_add(rep, "pool_violations",
			       json_object_new_int64((int64_t)r->pool_violations));
	if (r->pool_violations)
		json_object_object_add(rep, "first_pool_violation_at",
				       json_object_new_double((double)r->first_pool_violation_ms /
							      1000.0));
	if (r->crashes)
		json_object_object_add(rep, "crashes", json_object_new_int64(r->crashes));
	json_object_object_add(rep, "violation_list", r->violation_list);
	json_object_object_add(rep, "event_errors", r->event_errors);
	doms = json_object_new_array();
	for (i = 0; i < engine_count(r->engine); i++) {
		const struct engine_dom *d = engine_at(r->engine, i);
		json_object *o = json_object_new_object();

		json_object_object_add(o, "name", json_object_new_string(d->name));
		json_object_object_add(o, "mode", json_object_new_string(domain_mode_name(d->mode)));
		json_object_object_add(o, "state", json_object_new_string(dom_state_name(d->state)));
		json_object_object_add(o, "actual", json_object_new_int64((int64_t)d->actual_kib));
		json_object_object_add(o, "target", json_object_new_int64((int64_t)d->target_kib));
		json_object_object_add(o, "managed", json_object_new_boolean(d->managed));
		json_object_object_add(o, "dmin", json_object_new_int64((int64_t)d->dmin_kib));
		json_object_object_add(o, "ceiling", json_object_new_int64((int64_t)d->ceiling_kib));
		json_object_object_add(o, "offset", json_object_new_int64(d->offset_kib));
		json_object_array_add(doms, o);
	}
	json_object_object_add(rep, "domains", doms);
	rs = json_object_new_array();
	for (i = 0; i < r->n_resv; i++) {
		const struct sim_resv *sr = &r->resv[i];
		json_object *o = json_object_new_object();

		json_object_object_add(o, "id", json_object_new_int64(sr->id));
		json_object_object_add(o, "asked_at", json_object_new_double(sr->asked_ms / 1000.0));
		json_object_object_add(o, "min", json_object_new_int64((int64_t)sr->min_kib));
		json_object_object_add(o, "max", json_object_new_int64((int64_t)sr->max_kib));
		json_object_object_add(o, "amount", json_object_new_int64((int64_t)sr->amount_kib));
		json_object_object_add(o, "granted", json_object_new_boolean(sr->granted));
		if (sr->granted)
			json_object_object_add(o, "granted_after",
					       json_object_new_double((double)(sr->granted_ms -
										sr->asked_ms) /
								      1000.0));
		json_object_object_add(o, "state", json_object_new_string(sr->state));
		if (sr->why[0])
			json_object_object_add(o, "why", json_object_new_string(sr->why));
		json_object_array_add(rs, o);
	}
	json_object_object_add(rep, "reservations", rs);
	aud = json_object_new_object();
	if (audit) {
		int c;

		for (c = 0; c < AUDIT_NCLASSES; c++)
			if (audit_result_count(audit, (enum audit_class)c))
				json_object_object_add(aud, audit_class_name((enum audit_class)c),
						       json_object_new_int64((int64_t)audit_result_count(
							       audit, (enum audit_class)c)));
	}
	json_object_object_add(rep, "audit_findings", aud);

	exp = json_object_new_object();
	{
		/* A scenario may be built to break an invariant on purpose. */
		bool want = r->scn->expect.has_invariants ? r->scn->expect.invariants : true;
		bool got = r->violations == 0;

		json_object_object_add(exp, "invariants", expect_item(want, got));
		ok = want == got;
	}
	if (r->scn->expect.has_converged_by) {
		bool got = r->last_unsettled_ms <= r->scn->expect.converged_by_ms;

		json_object_object_add(exp, "converged_by", expect_item(true, got));
		ok = ok && got;
	}
	{
		/* Exact counts per class: named ones as given, all others 0. */
		bool got = audit != NULL;
		int c;

		for (c = 0; audit && c < AUDIT_NCLASSES; c++) {
			uint64_t want = 0;
			size_t j;

			for (j = 0; j < r->scn->expect.n_audit_findings; j++)
				if (strcmp(r->scn->expect.audit_findings[j].fault_class,
					   audit_class_name((enum audit_class)c)) == 0)
					want = r->scn->expect.audit_findings[j].count;
			if (audit_result_count(audit, (enum audit_class)c) != want)
				got = false;
		}
		for (c = 0; c < (int)r->scn->expect.n_audit_findings; c++) {
			enum audit_class ac;

			if (audit_class_parse(r->scn->expect.audit_findings[c].fault_class, &ac) < 0)
				got = false; /* a class that does not exist */
		}
		json_object_object_add(exp, "audit_findings", expect_item(true, got));
		ok = ok && got;
	}
	if (r->scn->expect.has_reservations_ok) {
		bool all = r->n_resv > 0;

		for (i = 0; i < r->n_resv; i++)
			all = all && r->resv[i].granted;
		json_object_object_add(exp, "reservations_ok",
				       expect_item(r->scn->expect.reservations_ok, all));
		ok = ok && all == r->scn->expect.reservations_ok;
	}
	if (r->scn->expect.has_reservations_end) {
		const struct scenario_expect *x = &r->scn->expect;
		json_object *got = json_object_new_array(), *it;
		bool same = x->n_reservations_end == r->n_resv;

		for (i = 0; i < r->n_resv; i++) {
			json_object_array_add(got, json_object_new_string(r->resv[i].state));
			same = same && i < x->n_reservations_end &&
			       strcmp(x->reservations_end[i], r->resv[i].state) == 0;
		}
		it = json_object_new_object();
		json_object_object_add(it, "got", got);
		json_object_object_add(it, "ok", json_object_new_boolean(same));
		json_object_object_add(exp, "reservations_end", it);
		ok = ok && same;
	}
	if (r->scn->expect.has_granted_within) {
		bool all = r->n_resv > 0;

		for (i = 0; i < r->n_resv; i++)
			all = all && r->resv[i].granted &&
			      r->resv[i].granted_ms - r->resv[i].asked_ms <=
				      r->scn->expect.granted_within_ms;
		json_object_object_add(exp, "granted_within", expect_item(true, all));
		ok = ok && all;
	}
	if (r->scn->expect.has_target_writes_max) {
		bool got = r->apply.targets <= r->scn->expect.target_writes_max;

		json_object_object_add(exp, "target_writes_at_most", expect_item(true, got));
		ok = ok && got;
	}
	if (r->scn->expect.n_final_targets)
		ok = expect_final(r, exp, "final_target", r->scn->expect.final_targets,
				  r->scn->expect.n_final_targets, false) && ok;
	if (r->scn->expect.n_final_actuals)
		ok = expect_final(r, exp, "final_actual", r->scn->expect.final_actuals,
				  r->scn->expect.n_final_actuals, true) && ok;
	if (r->failed_events) {
		ok = false;
	}
	json_object_object_add(rep, "expect", exp);
	json_object_object_add(rep, "ok", json_object_new_boolean(ok));
	*ret_report = rep;
	audit_result_free(audit);
	engine_output_free(&r->out);
	engine_free(r->engine);
	r->be->ops->close(r->be);
	conf_free(&r->conf);
	free(r->last_actual);
	free(r->pin_names);
	return ok ? 0 : 1;
}

int simulate_main(const char *path, const char *conf_path, bool conf_explicit)
{
	json_object *rep = NULL;
	int rc = simulate_run(path, NULL, conf_path, conf_explicit, &rep);

	if (rep)
		printf("%s\n", json_object_to_json_string_ext(rep, JSON_C_TO_STRING_PRETTY |
								      JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(rep);
	return rc;
}
