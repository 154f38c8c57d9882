/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Observation: merge one observed domain into its table entry: bounds
 * and their sources, offsets, the guest's demand report, and the balloon
 * state machine (idle, converging, stalled, uncooperative). */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine-internal.h"

#define DOM0_DEFAULT_DMIN_KIB (UINT64_C(1) << 20) /* 1 GiB */

static uint64_t bound_resolve(const struct conf_bound *b, uint64_t static_max)
{
	if (b->is_pct)
		return page_floor(static_max / 100 * b->pct + static_max % 100 * b->pct / 100);
	return b->kib;
}

/* The most a pin may hold of a domain, in target terms: what its
 * static-max lets it use (less the videoram libxl leaves out of a target);
 * UINT64_MAX while static-max is unknown. */
static uint64_t dom_pin_max(const struct engine_dom *d)
{
	if (!d->static_max_kib)
		return UINT64_MAX;
	return page_floor(add_offset(d->static_max_kib, -(dom_base_offset(d) > 0 ? dom_base_offset(d)
										 : 0)));
}

/* Work out dmin/dmax/ceiling and their sources: a [domain NAME] section
 * wins over XenStore (toolstack), which wins over [defaults]. A XenStore
 * bound of 0 means none (never "balloon it to nothing"). */
static void dom_bounds(const struct engine *e, struct engine_dom *d,
		       const struct engine_obs_domain *o)
{
	const struct conf_domain *sec = d->name[0] ? conf_find_domain(&e->conf, d->name) : NULL;
	const struct conf_domain *def = &e->conf.defaults;
	uint64_t smax = d->static_max_kib, floor;

	if (d->pol.has_dmin) {
		d->dmin_kib = d->pol.dmin_kib;
		d->dmin_source = BOUND_ADMIN;
	} else if (sec && sec->dynamic_min.set) {
		d->dmin_kib = bound_resolve(&sec->dynamic_min, smax);
		d->dmin_source = BOUND_CONFIG;
	} else if (o->has_xs_dmin && o->xs_dmin_kib >= ENGINE_PAGE_KIB) {
		d->dmin_kib = o->xs_dmin_kib;
		d->dmin_source = BOUND_XENSTORE;
	} else {
		d->dmin_kib = bound_resolve(&def->dynamic_min, smax);
		d->dmin_source = BOUND_DEFAULT;
		if (d->domid == 0)
			d->dmin_kib = u64_max(d->dmin_kib, DOM0_DEFAULT_DMIN_KIB);
	}
	if (d->pol.has_dmax) {
		d->dmax_kib = d->pol.dmax_kib;
		d->dmax_source = BOUND_ADMIN;
	} else if (sec && sec->dynamic_max.set) {
		d->dmax_kib = bound_resolve(&sec->dynamic_max, smax);
		d->dmax_source = BOUND_CONFIG;
	} else if (o->has_xs_dmax && o->xs_dmax_kib >= ENGINE_PAGE_KIB) {
		d->dmax_kib = o->xs_dmax_kib;
		d->dmax_source = BOUND_XENSTORE;
	} else {
		d->dmax_kib = bound_resolve(&def->dynamic_max, smax);
		d->dmax_source = BOUND_DEFAULT;
	}
	d->ceiling_kib = smax ? u64_min(d->dmax_kib, smax) : d->dmax_kib;
	/* static-max counts an HVM guest's videoram, its target does not */
	if (dom_base_offset(d) > 0)
		d->ceiling_kib = add_offset(d->ceiling_kib, -dom_base_offset(d));
	d->ceiling_kib = page_floor(d->ceiling_kib);
	d->dmin_kib = page_ceil(d->dmin_kib);
	/* No target below the floor, whoever set the bound (a percentage of
	 * a small static-max, a toolstack's key, an old persisted policy),
	 * unless static-max itself is below it. */
	floor = u64_min(CONF_BOUND_FLOOR_KIB, dom_pin_max(d));
	d->dmin_kib = u64_max(d->dmin_kib, floor);
	d->ceiling_kib = u64_max(d->ceiling_kib, floor);
	if (d->dmin_kib > d->ceiling_kib)
		d->dmin_kib = d->ceiling_kib;
	d->weight = sec && sec->weight_set ? sec->weight : def->weight_set ? def->weight : 100;
	if (d->pol.has_weight)
		d->weight = d->pol.weight;
}

/* Which report the guest made, and whether it is rejected (not
 * self-consistent, or larger than the domain could be); *ret_used and
 * *ret_total are set only when it is accepted. */
static enum report_source dom_report_judge(struct engine_dom *d, const struct engine_obs_domain *o,
					   uint64_t *ret_used, uint64_t *ret_total)
{
	enum report_source src = REPORT_NONE;

	if (o->has_report) {
		src = d->domid == 0 ? REPORT_DOM0 : REPORT_DATA;
		if (o->report_total_kib == 0 || o->report_free_kib > o->report_total_kib ||
		    (d->static_max_kib && o->report_total_kib > d->static_max_kib + (64 << 10)))
			d->report_rejected = true;
		else
			*ret_used = o->report_total_kib - o->report_free_kib,
			*ret_total = o->report_total_kib;
	} else if (o->has_qubes_report) {
		/* Swap in use is counted, so it may exceed static-max, but not
		 * twice over. */
		src = REPORT_QUBES;
		if (o->qubes_used_kib == 0 ||
		    (d->static_max_kib && o->qubes_used_kib > 2 * d->static_max_kib))
			d->report_rejected = true;
		else
			*ret_used = o->qubes_used_kib;
	}
	return src;
}

/* Take an accepted report at most once per demand_interval, and judge
 * whether it went stale (data/meminfo only). */
static void dom_report_take(const struct conf *c, struct engine_dom *d, enum report_source src,
			    uint64_t used, uint64_t total, uint64_t now, struct engine_output *out)
{
	if (!d->report_ms || used != d->report_used_kib || total != d->report_total_kib) {
		if (d->report_ms && now < d->report_ms + c->demand_interval_ms) {
			/* Too soon: keep the last one, look again later. */
			out->next_wake_ms =
				u64_min(out->next_wake_ms, d->report_ms + c->demand_interval_ms);
		} else {
			d->report_used_kib = used;
			d->report_total_kib = total;
			d->report_ms = now ? now : 1;
			d->report_actual_kib = d->actual_kib;
		}
	}
	/* Stale: the domain was resized away from the size the report
	 * was made at, and stayed so for demand_stale without a new one. */
	if (u64_dist(d->actual_kib, d->report_actual_kib) <= c->deadband_kib)
		d->report_true_ms = now;
	else if (src == REPORT_DATA && now >= d->report_true_ms + c->demand_stale_ms)
		d->report_stale = true;
	else if (src == REPORT_DATA) /* look again when it would go stale */
		out->next_wake_ms =
			u64_min(out->next_wake_ms, d->report_true_ms + c->demand_stale_ms);
}

/* Judge what the guest reports about its memory use. A report is hostile
 * input: it must be self-consistent and no larger than the domain could
 * be; anything else is ignored (and says so in explain). A changed report
 * is taken at most once per demand_interval, so a guest that rewrites its
 * keys in a loop cannot make balloond churn; a data/meminfo report that
 * was not renewed for demand_stale while the domain was resized by more
 * than the deadband describes a guest that no longer exists and is
 * dropped (its agent died). dom0's own numbers are trusted, and memory
 * pressure (PSI) makes dom0 need more than it has. */
static void dom_demand(const struct engine *e, struct engine_dom *d,
		       const struct engine_obs_domain *o, uint64_t now, struct engine_output *out)
{
	const struct conf *c = &e->conf;
	enum report_source src;
	uint64_t used = 0, total = 0, need;

	d->has_demand = false;
	d->report_rejected = false;
	d->report_stale = false;
	d->under_pressure = false;
	src = dom_report_judge(d, o, &used, &total);
	d->report_source = src;
	if (src != REPORT_NONE && !d->report_rejected)
		dom_report_take(c, d, src, used, total, now, out);
	if (src == REPORT_NONE || d->report_rejected)
		d->report_ms = 0;
	if (d->domid == 0 && o->has_psi)
		d->under_pressure = o->psi_some_avg10_centi >= c->psi_threshold_pct * 100;
	if (d->report_ms && !d->report_stale) {
		d->used_kib = d->report_used_kib;
		need = page_ceil(with_buffer(d->used_kib, c->demand_buffer_pct));
	} else if (d->under_pressure) {
		d->used_kib = d->actual_kib;
		need = 0;
	} else {
		return;
	}
	/* Under pressure, a domain needs more than it has, whatever it says. */
	if (d->under_pressure)
		need = u64_max(need, page_ceil(with_buffer(d->actual_kib, c->demand_buffer_pct)));
	if (need < d->dmin_kib)
		need = d->dmin_kib;
	if (need > d->ceiling_kib)
		need = d->ceiling_kib;
	d->demand_kib = need;
	d->has_demand = true;
}

/* Flag (or clear) an uncooperative domain where the toolstack sees it,
 * memory/uncooperative as squeezed does, and remember it across a restart. */
static void uncoop_flag(struct engine_dom *d, bool on, struct engine_output *out)
{
	struct engine_action *a = output_action_add(out, ACT_FLAG_UNCOOP, d->domid);

	if (a)
		a->kib = on;
	output_action_persist(out, d->domid, "uncooperative", on ? "1" : "0");
}

/* A domain at rest this close to where it should settle has an offset,
 * not a stuck balloon: its learned part (*ret) stays within offset_max. */
static bool offset_learnable(const struct conf *c, const struct engine_dom *d, int64_t *ret)
{
	*ret = (int64_t)d->actual_kib - (int64_t)d->target_kib - dom_base_offset(d);
	return c->offset_max_kib && (uint64_t)(*ret < 0 ? -*ret : *ret) <= c->offset_max_kib;
}

/* Take what was observed of a domain: name, type, sizes, mode, offset,
 * bounds and demand. */
static void dom_merge(struct engine *e, struct engine_dom *d, const struct engine_obs_domain *o,
		      uint64_t now, struct engine_output *out)
{
	if (strncmp(d->name, o->name, sizeof(d->name) - 1) != 0)
		snprintf(d->name, sizeof(d->name), "%s", o->name);
	d->type = o->type;
	d->actual_kib = o->tot_kib;
	d->maxmem_kib = o->max_kib;
	d->static_max_kib = o->static_max_kib;
	if (d->mode != MODE_PINNED)
		d->mode = dom_conf_mode(e, d);
	/* libxl leaves videoram out of an HVM guest's target. */
	d->offset_kib = (d->type == DOM_HVM ? (int64_t)u64_min(o->videoram_kib, 1ULL << 30) : 0) +
			d->learned_offset_kib;
	dom_bounds(e, d, o);

	dom_demand(e, d, o, now, out);
}

/* A domain that is dying or still being built is not managed: true (and
 * its state says which) when o is one. */
static bool dom_unmanageable(struct engine_dom *d, const struct engine_obs_domain *o,
			     struct engine_output *out)
{
	if (o->dying || o->shutdown) {
		set_state(d, DOM_DYING, out, "domain is dying or shut down");
		d->managed = false;
		return true;
	}
	if (!o->name[0] || !o->static_max_kib || !o->has_target) {
		set_state(d, DOM_BUILDING, out, "domain is being built");
		d->managed = false;
		return true;
	}
	return false;
}


/* Someone wrote a memory/target below the floor (0, a typo, a hostile
 * script): it is not a pin. balloond's own target is put back (for a
 * domain it manages), with an event saying so. */
static void dom_target_refuse(struct engine_dom *d, const struct engine_obs_domain *o,
			      uint64_t now, struct engine_output *out)
{
	struct engine_event *ev;
	char why[160], sz[32];

	snprintf(why, sizeof(why),
		 "external write of memory/target (%s) below the 16M floor: not a pin; "
		 "balloond's target put back",
		 size_format(o->target_kib, sz, sizeof(sz)));
	decision_log(d, now, true, o->target_kib, d->written_kib, why);
	d->target_kib = d->written_kib;
	if (d->mode != MODE_AUTO && d->mode != MODE_PINNED)
		return;
	d->target_restore = true;
	ev = output_event_add(out, EV_TARGET, d);
	if (ev) {
		ev->old_kib = o->target_kib;
		ev->new_kib = d->written_kib;
		snprintf(ev->text, sizeof(ev->text), "%s", why);
	}
}

/* memory/target as observed: adopted as balloond's own at first sight, a
 * pin when someone else wrote it since (held at what static-max lets the
 * guest use), ignored below the floor. */
static void dom_take_target(struct engine_dom *d, const struct engine_obs_domain *o, uint64_t now,
			    struct engine_output *out)
{
	d->has_target = true;
	d->target_kib = o->target_kib;
	if (!d->written_valid) {
		/* First sight: adopt the current value as balloond's own. */
		d->written_valid = true;
		d->written_kib = o->target_kib;
		d->goal_kib = o->target_kib;
		d->last_progress_ms = now;
		d->moved = false;
	} else if (o->target_kib != d->written_kib && d->has_intent_prev &&
		   o->target_kib == d->intent_prev_kib) {
		/* A restart after balloond persisted its intent but before
		 * memory/target was written (a crash, or the write failed):
		 * still its own value. */
		d->written_kib = o->target_kib;
		d->goal_kib = o->target_kib;
	} else if (o->target_kib != d->written_kib && o->target_kib < CONF_BOUND_FLOOR_KIB) {
		dom_target_refuse(d, o, now, out);
	} else if (o->target_kib != d->written_kib) {
		/* Someone else wrote memory/target (xl mem-set, an admin):
		 * that is a pin; balloond never fights it. Above what
		 * static-max lets the guest use it is held there: nothing
		 * is freed, nor maxmem raised, nor re-armed for more. */
		uint64_t pin = u64_min(o->target_kib, dom_pin_max(d));
		char why[128];
		char sz[32], sm[32];

		if (pin < o->target_kib)
			snprintf(why, sizeof(why),
				 "external write of memory/target (%s): pinned, held at %s "
				 "(static-max)",
				 size_format(o->target_kib, sz, sizeof(sz)),
				 size_format(pin, sm, sizeof(sm)));
		else
			snprintf(why, sizeof(why), "external write of memory/target (%s): pinned",
				 size_format(o->target_kib, sz, sizeof(sz)));
		pin_domain(d, pin, now, why, out);
		d->written_kib = o->target_kib;
		d->goal_kib = pin;
		d->last_progress_ms = now;
		d->moved = false;
		output_action_persist(out, d->domid, "target", "%" PRIu64, d->written_kib);
		d->has_intent = true;
		d->intent_kib = d->intent_prev_kib = d->written_kib;
	}
	if (!d->goal_kib)
		d->goal_kib = d->written_kib;
	d->has_intent_prev = false; /* only the first sight after a restart */
}

/* Whether the balloon moved since the target was written, and its rate:
 * the mean of the last rate and the one since the last sample. */
static void dom_sample_rate(struct engine_dom *d, uint64_t now)
{
	if (d->last_sample_ms && d->actual_kib != d->last_actual_kib)
		d->moved = true;
	if (d->last_sample_ms && now > d->last_sample_ms && d->actual_kib != d->last_actual_kib) {
		int64_t delta = (int64_t)d->actual_kib - (int64_t)d->last_actual_kib;
		int64_t inst = delta * 1000 / (int64_t)(now - d->last_sample_ms);

		d->rate_kib_s = d->has_rate ? (d->rate_kib_s + inst) / 2 : inst;
		d->has_rate = true;
		if (d->rate_kib_s < 0)
			d->gave_rate_kib_s = (uint64_t)-d->rate_kib_s;
	}
}

/* The balloon is where it settles: no re-arms owed, no rate. */
static void dom_at_rest(struct engine_dom *d, uint64_t now)
{
	d->rearms = 0;
	d->last_progress_ms = now;
	d->has_rate = false;
	d->rate_kib_s = 0;
}

/* It moved toward the target and came to rest close by: that is where
 * this guest settles (squeezed's memory-offset), learned and persisted. */
static void dom_offset_learn(struct engine_dom *d, int64_t learned, uint64_t now,
			     struct engine_output *out)
{
	char why[96], sz[32];

	d->offset_kib = dom_base_offset(d) + learned;
	d->learned_offset_kib = learned;
	d->offset_learned = true;
	snprintf(why, sizeof(why), "at rest %s%s from its target: offset learned",
		 d->offset_kib < 0 ? "-" : "+",
		 size_format((uint64_t)(d->offset_kib < 0 ? -d->offset_kib : d->offset_kib), sz,
			     sizeof(sz)));
	output_action_persist(out, d->domid, "offset", "%" PRId64, d->learned_offset_kib);
	decision_log(d, now, true, d->target_kib, d->target_kib, why);
	set_state(d, DOM_IDLE, out, why);
	dom_at_rest(d, now);
}

/* No progress for stall_timeout: stalled; stalled for
 * uncooperative_timeout: uncooperative, and flagged so. */
static void dom_stall(const struct conf *c, struct engine_dom *d, uint64_t now,
		      struct engine_output *out)
{
	if (d->state != DOM_STALLED && d->state != DOM_UNCOOPERATIVE) {
		set_state(d, DOM_STALLED, out, "no progress toward target");
		d->stalled_since_ms = now;
		d->last_rearm_ms = 0;
		d->has_rate = false;
		d->rate_kib_s = 0;
		d->gave_rate_kib_s = 0; /* it gives nothing now */
	}
	if (d->state == DOM_STALLED && now - d->stalled_since_ms >= c->uncooperative_timeout_ms) {
		set_state(d, DOM_UNCOOPERATIVE, out,
			  "stalled too long: excluded from donors, counted as it is");
		d->uncoop_rearms = 0;
		uncoop_flag(d, true, out);
	}
}

/* Balloon state machine, judged against where tot_pages settles for what
 * memory/target holds: reached, converging, offset learned, stalled. */
static void dom_balloon_track(const struct conf *c, struct engine_dom *d, uint64_t now,
			      struct engine_output *out)
{
	uint64_t dist, last_dist, aim;
	int64_t learned;

	aim = dom_aim(d, d->target_kib);
	dist = u64_dist(d->actual_kib, aim);
	last_dist = u64_dist(d->last_actual_kib, aim);
	dom_sample_rate(d, now);
	if (dist <= c->reach_tolerance_kib) {
		if (d->state == DOM_UNCOOPERATIVE)
			uncoop_flag(d, false, out);
		set_state(d, DOM_IDLE, out, "target reached");
		dom_at_rest(d, now);
	} else if (d->last_sample_ms && dist + ENGINE_PAGE_KIB < last_dist) {
		/* More than a page closer: following a re-arm nudge of one
		 * page is not progress. */
		if (d->state == DOM_UNCOOPERATIVE)
			uncoop_flag(d, false, out);
		set_state(d, DOM_CONVERGING, out, "balloon moving toward target");
		d->last_progress_ms = now;
	} else if (now - d->last_progress_ms >= c->stall_timeout_ms && d->moved &&
		   d->state != DOM_UNCOOPERATIVE && d->mode != MODE_FROZEN &&
		   offset_learnable(c, d, &learned)) {
		dom_offset_learn(d, learned, now, out);
	} else if (now - d->last_progress_ms >= c->stall_timeout_ms) {
		dom_stall(c, d, now, out);
	} else if (d->state == DOM_IDLE) {
		set_state(d, DOM_CONVERGING, out, "new target");
	}
	d->last_actual_kib = d->actual_kib;
	d->last_sample_ms = now;
}

/* Whether the guest's balloon driver can take a target now (squeezed
 * writes no target without it): the guest says so in
 * control/feature-balloon (its PV drivers or agent write 1 or 0). Without
 * a word either way a PV or PVH guest is taken as ready (a PV kernel
 * always has the driver), an HVM guest is not (it may have no PV drivers
 * yet; under populate-on-demand a target before its driver is up crashes
 * it), unless Qubes' meminfo-writer reports for it (it runs only where
 * qmemman balloons). */
static bool dom_driver_ready(const struct engine_obs_domain *o)
{
	if (o->has_feature_balloon)
		return o->feature_balloon;
	return o->type != DOM_HVM || o->has_qubes_report;
}

/* A paused domain, or one whose balloon driver is not ready, is left
 * alone: no target or maxmem written, its memory counted as it is (and as
 * its target lets it grow). True (and its state says which) when d is one;
 * when it resumes, it is judged afresh. */
static bool dom_held(struct engine_dom *d, const struct engine_obs_domain *o, uint64_t now,
		     struct engine_output *out)
{
	enum dom_state s;

	if (o->paused)
		s = DOM_PAUSED;
	else if (!dom_driver_ready(o))
		s = DOM_NO_DRIVER;
	else
		return false;
	if (d->state == DOM_UNCOOPERATIVE)
		uncoop_flag(d, false, out);
	set_state(d, s,  out,
		  s == DOM_PAUSED ? "paused: left alone until it runs again"
				  : "no balloon driver yet (control/feature-balloon): no target written");
	d->managed = false;
	d->last_progress_ms = now;
	d->stalled_since_ms = 0;
	d->gave_rate_kib_s = 0; /* judged afresh when it resumes */
	d->last_actual_kib = d->actual_kib;
	d->last_sample_ms = now;
	return true;
}

/* Merge one observed domain into its table entry and advance its balloon
 * state machine. */
void dom_observe(struct engine *e, struct engine_dom *d, const struct engine_obs_domain *o,
		 uint64_t now, struct engine_output *out)
{
	dom_merge(e, d, o, now, out);
	if (dom_unmanageable(d, o, out))
		return;
	if (d->state == DOM_BUILDING || d->state == DOM_DYING)
		d->state = DOM_IDLE;
	dom_take_target(d, o, now, out);
	if (dom_held(d, o, now, out))
		return;
	if (d->state == DOM_PAUSED || d->state == DOM_NO_DRIVER)
		d->state = DOM_IDLE;
	d->managed = d->mode == MODE_AUTO || d->mode == MODE_PINNED;
	dom_balloon_track(&e->conf, d, now, out);
}
