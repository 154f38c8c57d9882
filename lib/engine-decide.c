/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The decision round: budget, fair share and demand for the balanced
 * domains, pins, goals written in two phases (decreases now, increases
 * only as free memory allows), maxmem, re-arms, and the host summary. */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine-internal.h"

/* How often a domain left alone (paused, or without a balloon driver) is
 * looked at again: the hypervisor says nothing when it is unpaused. */
#define HELD_RECHECK_MS 1000

/* Write a new target, its intent persisted first as "NEW PREV" (PREV: what
 * memory/target holds now): whatever point a crash stops at, a restarted
 * daemon finds memory/target at one of the two and knows the value for its
 * own, never for an admin's pin. The backend writes no target whose intent
 * it could not persist. */
static void write_target(struct engine_dom *d, uint64_t kib, uint64_t now,
			 struct engine_output *out)
{
	struct engine_action *a;

	(void)now;
	/* After a restart the same intent may be stored already. */
	if (!(d->has_intent && d->intent_kib == kib && d->intent_prev_kib == d->written_kib)) {
		if (output_action_persist(out, d->domid, "target", "%" PRIu64 " %" PRIu64, kib,
					  d->written_kib) < 0)
			return;
		d->has_intent = true;
		d->intent_kib = kib;
		d->intent_prev_kib = d->written_kib;
	}
	a = output_action_add(out, ACT_SET_TARGET, d->domid);
	if (!a)
		return;
	a->kib = kib;
	d->prev_written_kib = d->written_kib;
	d->written_kib = kib;
	d->target_kib = kib;
	d->moved = false;
}

static void write_maxmem(struct engine_dom *d, uint64_t kib, struct engine_output *out)
{
	struct engine_action *a;

	kib = page_ceil(kib);
	if (kib == d->maxmem_kib || kib == d->maxmem_requested_kib)
		return;
	a = output_action_add(out, ACT_SET_MAXMEM, d->domid);
	if (!a)
		return;
	a->kib = kib;
	d->maxmem_requested_kib = kib;
}

/* Set a new goal with a reason, logging a decision when it changes. */
static void goal_set(const struct engine *e, struct engine_dom *d, uint64_t kib, uint64_t now,
		     const struct engine_reason *reason, struct engine_output *out)
{
	struct engine_event *ev;
	char text[ENGINE_REASON_MAX];

	d->reason = *reason;
	if (kib == d->goal_kib && d->written_kib == kib)
		return;
	if (kib != d->goal_kib) {
		int dir = kib > d->goal_kib ? 1 : -1;
		uint64_t window = e->conf.oscillation_window_ms;

		/* Count reversals that follow the last change within the window;
		 * a quiet window starts the count again. */
		if (d->last_change_ms && now - d->last_change_ms < window &&
		    d->change_epoch == e->epoch) {
			if (d->last_dir && dir != d->last_dir)
				d->reversals++;
		} else {
			d->reversals = 0;
		}
		d->last_dir = dir;
		d->last_change_ms = now;
		d->change_epoch = e->epoch;
		/* The text is only made when a decision is logged. */
		reason_format(reason, d->reason_text, text, sizeof(text));
		decision_log(d, now, true, d->goal_kib, kib, text);
		ev = output_event_add(out, EV_TARGET, d);
		if (ev) {
			ev->old_kib = d->goal_kib;
			ev->new_kib = kib;
			snprintf(ev->text, sizeof(ev->text), "%s", text);
		}
	}
	d->goal_kib = kib;
	/* memory/target may hold it already (a re-arm nudge landed on it):
	 * never write a value that changes nothing. */
	if (d->written_kib != kib)
		write_target(d, kib, now, out);
	/* A new goal is a fresh chance: restart the progress clock. */
	d->last_progress_ms = now;
	d->stalled_since_ms = 0;
	if (u64_dist(d->actual_kib, kib) > e->conf.reach_tolerance_kib)
		set_state(d, DOM_CONVERGING, out, "new target");
}

/* The maxmem a target needs: the target, the videoram libxl leaves out of
 * it, and the slack. A learned offset is not added: a guest that sits
 * above its target must not be let to creep further. */
static uint64_t dom_maxmem_for(const struct conf *c, const struct engine_dom *d, uint64_t target)
{
	return add_offset(target, dom_base_offset(d)) + c->maxmem_slack_kib;
}

/* An increase decided in phase 1, served in phase 2. */
struct increase {
	struct engine_dom *d;
	uint64_t want_kib;
	double priority; /* lower = served first */
	struct engine_reason reason;
};

static int scratch_reserve(struct engine *e, size_t n)
{
	void *a, *b, *c;

	if (n <= e->scratch_cap)
		return 0;
	a = realloc(e->items, n * sizeof(*e->items));
	if (!a)
		return -ENOMEM;
	e->items = a;
	b = realloc(e->scratch, 2 * n * sizeof(*e->scratch));
	if (!b)
		return -ENOMEM;
	e->scratch = b;
	c = realloc(e->work, n * sizeof(*e->work));
	if (!c)
		return -ENOMEM;
	e->work = c;
	c = realloc(e->inc, n * sizeof(*e->inc));
	if (!c)
		return -ENOMEM;
	e->inc = c;
	e->scratch_cap = n;
	return 0;
}

/* Demand moves memory within the fair shares: a reporting guest that
 * needs less than its share gives the rest to reporting guests that need
 * more. What nobody needs goes back to the givers (distribute) or stays
 * free (keep-free). A guest that does not report keeps its fair share, and
 * a giver never drops below its own need: a guest that lies can only take
 * what honest guests said they do not need, or starve itself. */
static int demand_adjust(struct engine *e, size_t nb)
{
	uint64_t *excess, *want, pool = 0, want_total = 0, give, given = 0, left;
	bool keep_free = e->conf.surplus == SURPLUS_KEEP_FREE;
	size_t k;

	excess = calloc(2 * nb, sizeof(*excess));
	if (!excess)
		return -ENOMEM;
	want = excess + nb;
	for (k = 0; k < nb; k++) {
		const struct engine_dom *d = e->work[k];
		const struct policy_item *it = &e->items[k];

		e->work[k]->demand_role = 0;
		/* A lagging donor is planned at what it can give in time. */
		if (!d->has_demand || d->lagging)
			continue;
		if (d->demand_kib < it->out_kib) {
			excess[k] = it->out_kib - d->demand_kib;
			pool += excess[k];
		} else if (d->demand_kib > it->out_kib) {
			want[k] = d->demand_kib - it->out_kib;
			want_total += want[k];
		}
	}
	if (!want_total && (!keep_free || !pool)) {
		free(excess);
		return 0;
	}
	give = pool < want_total ? pool : want_total;
	for (k = 0; k < nb && give; k++) {
		uint64_t g;

		if (!want[k])
			continue;
		g = page_floor((uint64_t)((double)want[k] * (double)give / (double)want_total));
		e->items[k].out_kib += g;
		e->work[k]->demand_role = 2;
		given += g;
	}
	left = pool - given;
	for (k = 0; k < nb; k++) {
		uint64_t back;

		if (!excess[k])
			continue;
		back = keep_free ? 0
				 : page_floor((uint64_t)((double)excess[k] * (double)left /
							 (double)pool));
		e->items[k].out_kib = e->work[k]->demand_kib + back;
		e->work[k]->demand_role = 1;
	}
	free(excess);
	return 0;
}

static int increase_cmp(const void *a, const void *b)
{
	const struct increase *x = a, *y = b;

	if (x->priority != y->priority)
		return x->priority < y->priority ? -1 : 1;
	return (x->d->domid > y->d->domid) - (x->d->domid < y->d->domid);
}

/* Re-arm a stalled balloon: Linux's driver only wakes when the value of
 * memory/target changes, so alternate between the goal and one page off. */
static void rearm(struct engine *e, struct engine_dom *d, uint64_t now, struct engine_output *out)
{
	uint64_t nudge;
	char why[128];

	if (d->target_kib != d->goal_kib) {
		nudge = d->goal_kib;
	} else if (d->goal_kib >= d->dmin_kib + ENGINE_PAGE_KIB) {
		nudge = d->goal_kib - ENGINE_PAGE_KIB;
	} else {
		nudge = d->goal_kib + ENGINE_PAGE_KIB;
	}
	d->last_rearm_ms = now;
	d->rearms++;
	snprintf(why, sizeof(why), "re-arm #%u after stall", d->rearms);
	decision_log(d, now, true, d->target_kib, nudge, why);
	write_target(d, nudge, now, out);
	/* A re-arm is not progress: keep the stall clock running. */
	d->last_progress_ms = d->stalled_since_ms ? d->stalled_since_ms : now;
	(void)e;
}

/* A balloon still giving memory back toward its target. */
static bool dom_giving(const struct engine_dom *d)
{
	return d->state == DOM_CONVERGING && d->actual_kib > d->target_kib;
}

/* ---- the round, phase by phase ---- */

/* What the phases of one decision round share. */
struct round_state {
	struct engine *e;
	const struct conf *c;
	struct engine_host *h;
	uint64_t now;
	struct engine_output *out;
	size_t nb;	      /* balanced domains, in e->work and e->items */
	int64_t budget;	      /* what the balanced domains may hold together */
	bool short_of_memory; /* the budget does not cover every dynamic-min */
	bool pool_short;      /* below the pool once every target is reached */
	int64_t over_kib;     /* the balanced goals hold this much beyond the budget */
	uint64_t *needed;     /* by policy_idx: a goal the deadband must not stop (0: none) */
	bool waiting;	      /* some increase waits for memory to be freed */
	bool giving;	      /* some balloon still gives memory back */
	bool owed;	      /* a pin or a dynamic-min is not yet held: decreases make room */
	int64_t avail;	      /* free now for increases and maxmem raises */
	struct increase *inc; /* increases decided in phase 1, served in phase 2 */
	size_t ninc;
};

/* Memory every domain will still take from the host. */
static uint64_t round_committed(const struct engine *e)
{
	uint64_t committed = 0;
	size_t i;

	for (i = 0; i < e->n; i++)
		committed += dom_commitment(e, e->doms[i]);
	return committed;
}

/* Budget for balanced domains: what would be free if every domain reached
 * its target, less the pool and what reservations hold and claims keep (or
 * keep_free when larger: budget_set_aside); also lists the
 * balanced domains as fair-share items. Fixed domains hold max(actual,
 * target): they may still grow to their target. */
static void round_budget(struct round_state *rs)
{
	struct engine *e = rs->e;
	struct engine_host *h = rs->h;
	int64_t budget;
	size_t i, nb = 0;

	budget = (int64_t)h->free_kib - (int64_t)h->pool_kib -
		 (int64_t)budget_set_aside(e, h->reserved_kib);
	for (i = 0; i < e->n; i++) {
		struct engine_dom *d = e->doms[i];

		if (dom_balanced(d)) {
			budget += (int64_t)d->actual_kib - d->offset_kib;
			if (d->goal_kib < d->dmin_kib)
				rs->owed = true;
			e->work[nb] = d;
			d->policy_idx = nb;
			e->items[nb].dmin_kib = d->dmin_kib;
			e->items[nb].ceiling_kib = d->ceiling_kib;
			e->items[nb].weight = d->weight;
			nb++;
		} else if (d->managed && d->mode == MODE_PINNED && d->state != DOM_UNCOOPERATIVE) {
			budget += (int64_t)d->actual_kib - (int64_t)dom_aim(d, d->pin_kib);
			if (dom_aim(d, d->pin_kib) > d->actual_kib + rs->c->reach_tolerance_kib)
				rs->owed = true;
		} else {
			budget -= (int64_t)dom_commitment(e, d);
		}
	}
	rs->budget = budget;
	rs->nb = nb;
}

/* Fair share of the budget over the balanced domains, then demand moves
 * memory between them within it. */
static int round_share(struct round_state *rs)
{
	struct engine *e = rs->e;

	if (!rs->nb)
		return 0;
	rs->short_of_memory = policy_fair_share(e->items, rs->nb, rs->budget, e->scratch) == 1;
	return demand_adjust(e, rs->nb);
}

/* While memory is owed, donors that lag are planned at what they can give
 * in time, and the budget is shared again over the others. */
static int round_replan(struct round_state *rs)
{
	int r = replan_lagging(rs->e, rs->nb, rs->budget, rs->now, rs->out);

	return r > 0 ? round_share(rs) : r;
}

/* Below the pool once every target is reached (a guest overshot, or
 * grabbed pages) by more than reach_tolerance (how closely a balloon
 * settles; a guest resting just under its target commits what it never
 * takes): then even small decreases are worth writing. */
static void round_pool_check(struct round_state *rs)
{
	struct engine_host *h = rs->h;
	uint64_t committed = round_committed(rs->e);

	rs->pool_short = (int64_t)h->free_kib - (int64_t)h->outstanding_kib - (int64_t)committed +
				 (int64_t)rs->c->reach_tolerance_kib <
			 (int64_t)h->pool_kib;
}

/* An uncooperative domain is not asked to give; but what its re-arms write
 * follows the bounds and the pin as they are now. */
static void round_uncoop_goal(struct round_state *rs, struct engine_dom *d)
{
	uint64_t g = d->goal_kib;

	if (d->mode == MODE_PINNED)
		g = d->pin_kib;
	else if (g > d->ceiling_kib)
		g = d->ceiling_kib;
	else if (g < d->dmin_kib)
		g = d->dmin_kib;
	if (g != d->goal_kib) {
		decision_log(d, rs->now, true, d->goal_kib, g,
			     "uncooperative: goal follows its bounds or pin");
		d->goal_kib = g;
	}
}

/* Why a balanced domain gets what it gets: demand, a short host, its
 * ceiling, or its fair-share fraction. */
static void share_reason(const struct round_state *rs, const struct engine_dom *d, uint64_t want,
			 struct engine_reason *r)
{
	if (d->lagging)
		*r = (struct engine_reason){.code = REASON_LAGGING,
					    .kib = {d->lag_rate_kib_s, d->lag_moved_kib}};
	else if (d->demand_role == 1)
		*r = (struct engine_reason){.code = REASON_DEMAND_GIVES,
					    .kib = {d->used_kib, d->demand_kib}};
	else if (d->demand_role == 2)
		*r = (struct engine_reason){.code = REASON_DEMAND_TAKES, .kib = {d->demand_kib}};
	else if (rs->short_of_memory)
		*r = (struct engine_reason){.code = REASON_SHORT, .kib = {d->dmin_kib}};
	else if (want >= d->ceiling_kib)
		*r = (struct engine_reason){.code = REASON_CEILING,
					    .kib = {d->ceiling_kib},
					    .count = d->ceiling_kib < d->dmax_kib};
	else
		*r = (struct engine_reason){.code = REASON_FAIR,
					    .fraction = rs->e->items[d->policy_idx].fraction,
					    .kib = {d->dmin_kib, d->ceiling_kib},
					    .count = d->weight};
}

/* The deadband: a change smaller than it is not worth a balloon move,
 * unless the goal is outside the bounds or the decrease is needed (the
 * pool is short, a pin or another's dynamic-min is not yet held, or
 * round_needed chose it). While memory is owed, a decrease within twice
 * reach_tolerance is held too: a balloon that close to its target is at
 * it, so such a decrease could never be seen given or not given (a crowd
 * of 209 donors asked 328 KiB each left a raised pin waiting for good);
 * round_needed asks fewer donors for more instead. */
static bool round_deadband_holds(const struct round_state *rs, const struct engine_dom *d,
				 uint64_t want)
{
	if (u64_dist(want, d->goal_kib) >= rs->c->deadband_kib || d->goal_kib < d->dmin_kib ||
	    d->goal_kib > d->ceiling_kib)
		return false;
	if (want >= d->goal_kib)
		return true;
	if (rs->pool_short || (rs->needed && rs->needed[d->policy_idx]))
		return false;
	return !(rs->owed && d->goal_kib - want >= 2 * rs->c->reach_tolerance_kib);
}

/* A decrease the fair share asks for that the deadband would hold back. */
struct small_decrease {
	uint64_t kib;
	size_t idx;
};

static int small_decrease_cmp(const void *a, const void *b)
{
	const struct small_decrease *x = a, *y = b;

	if (x->kib != y->kib)
		return x->kib > y->kib ? -1 : 1;
	return (x->idx > y->idx) - (x->idx < y->idx);
}

/* What the balanced domains' goals hold beyond the budget is memory the
 * pool, a reservation or a pin needs back: the deadband only spares
 * discretionary moves, never that. Decreases the deadband would hold back
 * are marked needed (rs->needed), the largest first, until they and the
 * decreases made anyway cover it; each asks at least twice reach_tolerance
 * (within its bounds), so that a donor that does not give is seen not to
 * (a balloon within reach_tolerance of its target is at it). Unless memory
 * is owed, an excess within
 * reach_tolerance (how closely a balloon settles anyway; page rounding,
 * re-arm nudges) is not worth a write. 0 or -ENOMEM. */
static int round_needed(struct round_state *rs)
{
	struct engine *e = rs->e;
	uint64_t step = rs->c->max_step_kib;
	struct small_decrease *cand;
	int64_t over = -rs->budget, left;
	size_t k, nc = 0;

	rs->needed = NULL;
	/* a lagging donor holds what it is planned at, whatever it is asked */
	for (k = 0; k < rs->nb; k++)
		over += (int64_t)(e->work[k]->lagging
					  ? u64_max(e->work[k]->goal_kib, e->work[k]->lag_floor_kib)
					  : e->work[k]->goal_kib);
	rs->over_kib = over;
	if (over <= 0 || !rs->nb ||
	    (over <= (int64_t)rs->c->reach_tolerance_kib && !memory_owed(e)))
		return 0;
	cand = malloc(rs->nb * sizeof(*cand));
	if (!cand)
		return -ENOMEM;
	left = over;
	for (k = 0; k < rs->nb; k++) {
		const struct engine_dom *d = e->work[k];
		uint64_t want = e->items[k].out_kib;

		if (want >= d->goal_kib)
			continue;
		if (round_deadband_holds(rs, d, want))
			cand[nc++] = (struct small_decrease){d->goal_kib - want, k};
		else
			left -= (int64_t)(step ? u64_min(d->goal_kib - want, step)
					       : d->goal_kib - want);
	}
	if (left > 0 && nc) {
		rs->needed = calloc(rs->nb, sizeof(*rs->needed));
		if (!rs->needed) {
			free(cand);
			return -ENOMEM;
		}
		qsort(cand, nc, sizeof(*cand), small_decrease_cmp);
		for (k = 0; k < nc && left > 0; k++) {
			const struct engine_dom *d = e->work[cand[k].idx];
			uint64_t dec = u64_max(cand[k].kib, u64_min(2 * rs->c->reach_tolerance_kib,
								    d->goal_kib - d->dmin_kib));

			rs->needed[cand[k].idx] = page_floor(d->goal_kib - dec);
			left -= (int64_t)dec;
		}
	}
	free(cand);
	return 0;
}

/* Oscillation damping: a goal that already reversed twice, each time
 * within the window, does not reverse again until the window has passed
 * since its last change, unless the pool or a reservation needs it. True
 * when want is held back. */
static bool round_damped(struct round_state *rs, struct engine_dom *d, uint64_t want)
{
	const struct conf *c = rs->c;

	d->damped = false;
	if (!(c->oscillation_window_ms && d->reversals >= 2 && d->last_dir &&
	      d->change_epoch == rs->e->epoch && (want > d->goal_kib ? 1 : -1) != d->last_dir &&
	      rs->now < d->last_change_ms + c->oscillation_window_ms &&
	      !(want < d->goal_kib &&
		(rs->pool_short || rs->over_kib > 0 || resv_pending(rs->e))) &&
	      d->goal_kib >= d->dmin_kib && d->goal_kib <= d->ceiling_kib))
		return false;
	d->damped = true;
	d->reason = (struct engine_reason){.code = REASON_DAMPED,
					   .count = d->reversals,
					   .kib = {want},
					   .ms = c->oscillation_window_ms};
	rs->out->next_wake_ms =
		u64_min(rs->out->next_wake_ms, d->last_change_ms + c->oscillation_window_ms);
	return true;
}

/* A balanced domain's new goal (*ret_want) and its reason: its share, then
 * keep-free, the deadband, damping and max_step. False when the goal
 * stays as it is this round. */
static bool round_balanced_goal(struct round_state *rs, struct engine_dom *d, uint64_t *ret_want,
				struct engine_reason *reason)
{
	const struct conf *c = rs->c;
	uint64_t want = rs->e->items[d->policy_idx].out_kib;

	share_reason(rs, d, want, reason);
	/* A donor that gives nothing keeps being asked for what it was: its
	 * plan only moves its share to others. */
	if (d->lagging && !d->lag_rate_kib_s && want > d->goal_kib) {
		d->reason = *reason;
		return false;
	}
	if (c->surplus == SURPLUS_KEEP_FREE && want > d->goal_kib && d->goal_kib >= d->dmin_kib) {
		want = d->goal_kib;
		*reason = (struct engine_reason){.code = REASON_KEEP_FREE};
	}
	if (rs->needed && rs->needed[d->policy_idx] && rs->needed[d->policy_idx] < want)
		want = rs->needed[d->policy_idx];
	if (round_deadband_holds(rs, d, want)) {
		if (d->reason.code == REASON_NONE)
			d->reason = *reason;
		return false;
	}
	if (round_damped(rs, d, want))
		return false;
	if (c->max_step_kib && u64_dist(want, d->goal_kib) > c->max_step_kib &&
	    d->goal_kib >= d->dmin_kib && d->goal_kib <= d->ceiling_kib)
		want = want > d->goal_kib ? d->goal_kib + c->max_step_kib
					  : d->goal_kib - c->max_step_kib;
	*ret_want = want;
	return true;
}

/* Act on a domain's new goal: a decrease is written now, an increase waits
 * for phase 2, the most starved (and those under pressure or short of
 * their demand) first. */
static void round_goal_write(struct round_state *rs, struct engine_dom *d, uint64_t want,
			     const struct engine_reason *reason)
{
	struct increase *in;

	if (want <= d->goal_kib)
		d->grow_step_kib = 0;
	if (want < d->goal_kib) {
		goal_set(rs->e, d, want, rs->now, reason, rs->out);
	} else if (want > d->goal_kib) {
		in = &rs->inc[rs->ninc];
		in->d = d;
		in->want_kib = want;
		in->priority =
			d->ceiling_kib > d->dmin_kib
				? (double)(d->actual_kib > d->dmin_kib ? d->actual_kib - d->dmin_kib
								       : 0) /
					  (double)(d->ceiling_kib - d->dmin_kib)
				: 1.0;
		/* Domains under pressure, and guests that need more than
		 * their share, are served first. */
		if (d->under_pressure || d->demand_role == 2)
			in->priority -= 2.0;
		in->reason = *reason;
		rs->ninc++;
	} else {
		d->reason = *reason;
	}
}

/* Phase 1, for one domain: report what an admin changed, then decide its
 * goal (pin or balanced share) and write it if it is a decrease. */
static void round_goal(struct round_state *rs, struct engine_dom *d)
{
	uint64_t want;
	struct engine_reason reason;

	dom_admin_flush(d, rs->out);
	if (!d->managed)
		return;
	if (d->state == DOM_UNCOOPERATIVE) {
		round_uncoop_goal(rs, d);
		return;
	}
	if (d->target_restore && !rs->e->paused) {
		d->target_restore = false;
		write_target(d, d->written_kib, rs->now, rs->out);
	}
	if (d->mode == MODE_PINNED) {
		want = d->pin_kib;
		reason = (struct engine_reason){.code = REASON_PINNED, .kib = {want}};
		/* A goal the guest cannot tell from the pin (both past its
		 * static-max, as a restart finds an external pin above it)
		 * is the pin: nothing to write. */
		if (d->goal_kib > want && dom_aim(d, d->goal_kib) == dom_aim(d, want))
			d->goal_kib = want;
	} else {
		if (!dom_balanced(d))
			return;
		if (!round_balanced_goal(rs, d, &want, &reason))
			return;
	}
	if (rs->e->paused)
		return;
	round_goal_write(rs, d, want, &reason);
}

/* The least partial increase worth writing. While donors still give
 * memory back, a quarter of the whole way, fixed when the growth began
 * (d->grow_step_kib), so that growth ends in a few writes instead of
 * creeping up by ever smaller steps; once no donor gives, what is free is
 * all there will be: the deadband, or a quarter of what is left. */
static uint64_t grant_min_step(const struct round_state *rs, struct engine_dom *d, uint64_t want)
{
	uint64_t quarter = u64_max(rs->c->deadband_kib, (want - d->goal_kib) / 4);

	if (!rs->giving)
		return quarter;
	d->grow_step_kib = u64_max(d->grow_step_kib, quarter);
	return d->grow_step_kib;
}

/* Grant one increase what is free now (rs->avail): a pin whole or not at
 * all, a partial increase only when it is big enough. */
static void round_grant(struct round_state *rs, const struct increase *in)
{
	const struct conf *c = rs->c;
	struct engine_dom *d = in->d;
	/* In target terms: what the domain holds or will hold. */
	uint64_t from = u64_max(d->target_kib, add_offset(d->actual_kib, -d->offset_kib));
	uint64_t grant = in->want_kib;
	int64_t cost;
	struct engine_reason part;

	if (grant > from) {
		cost = (int64_t)(grant - from);
		if (cost > rs->avail) {
			grant = rs->avail > 0 ? page_floor(from + (uint64_t)rs->avail) : from;
			rs->waiting = true;
		}
	}
	cost = grant > from ? (int64_t)(grant - from) : 0;
	/* A pin is written whole, once there is room for it: an admin who set
	 * 2G should not read 1.6G in memory/target. */
	if (grant < in->want_kib && d->mode == MODE_PINNED) {
		d->reason =
			(struct engine_reason){.code = REASON_PINNED_WAIT, .kib = {in->want_kib}};
		return;
	}
	/* A partial increase is only worth writing when it is big enough;
	 * otherwise wait for more memory. */
	if (grant < in->want_kib &&
	    (grant <= d->goal_kib || grant - d->goal_kib < grant_min_step(rs, d, in->want_kib))) {
		d->reason = in->reason;
		d->reason.wrap = REASON_WAITING;
		return;
	}
	if (d->maxmem_kib < dom_maxmem_for(c, d, grant))
		write_maxmem(d, dom_maxmem_for(c, d, grant), rs->out);
	part = in->reason;
	if (grant < in->want_kib) {
		/* Say that this is part of the way, not where it ends. */
		part.wrap = REASON_STEP;
		part.wrap_kib = in->want_kib;
	}
	goal_set(rs->e, d, grant, rs->now, &part, rs->out);
	rs->avail -= cost;
	if (grant == in->want_kib)
		d->grow_step_kib = 0;
}

/* Phase 2: increases, only from memory that is free now, in priority
 * order. */
static void round_increases(struct round_state *rs)
{
	struct engine_host *h = rs->h;
	uint64_t committed = round_committed(rs->e);
	size_t i;

	rs->avail = (int64_t)h->free_kib - (int64_t)h->pool_kib - (int64_t)committed -
		    (int64_t)budget_set_aside(rs->e, h->reserved_kib);
	rs->giving = false;
	for (i = 0; i < rs->e->n && !rs->giving; i++)
		rs->giving = dom_giving(rs->e->doms[i]);
	qsort(rs->inc, rs->ninc, sizeof(*rs->inc), increase_cmp);
	for (i = 0; i < rs->ninc; i++)
		round_grant(rs, &rs->inc[i]);
}

/* A pin written by someone else (xenstore-write, not xl mem-set) may be
 * above the maxmem balloond lowered: raise it once the host has the room,
 * as libxl would have. The pin is already counted in rs->avail (the
 * domain's commitment); the raise costs only what that does not cover.
 * An uncooperative domain is raised too: a maxmem below its target is
 * what holds it back. */
static void round_maxmem_raise(struct round_state *rs)
{
	struct engine *e = rs->e;
	size_t i;

	for (i = 0; i < e->n && !e->paused; i++) {
		struct engine_dom *d = e->doms[i];
		uint64_t need, counted, top;
		int64_t extra;

		if (!d->managed || d->mode != MODE_PINNED || d->target_kib < d->pin_kib)
			continue;
		need = page_ceil(dom_maxmem_for(rs->c, d, d->pin_kib));
		if (d->maxmem_kib >= need || d->maxmem_requested_kib >= need)
			continue;
		counted = d->actual_kib + dom_commitment(e, d);
		top = dom_aim(d, d->pin_kib);
		extra = top > counted ? (int64_t)(top - counted) : 0;
		if (extra > rs->avail) {
			d->reason = (struct engine_reason){.code = REASON_PINNED_MAXMEM};
			continue;
		}
		write_maxmem(d, need, rs->out);
		rs->avail -= extra;
	}
}

/* maxmem never stays above target + slack, so a guest cannot populate
 * pages back or past its target (and grab the pool) on its own. */
static void round_maxmem_cap(struct round_state *rs)
{
	struct engine *e = rs->e;
	size_t i;

	for (i = 0; i < e->n && !e->paused; i++) {
		struct engine_dom *d = e->doms[i];
		uint64_t want;

		if (!d->managed || !d->has_target)
			continue;
		want = dom_maxmem_for(rs->c, d, u64_max(d->goal_kib, d->target_kib));
		if (d->maxmem_kib > page_ceil(want))
			write_maxmem(d, want, rs->out);
	}
}

/* How long an uncooperative balloon waits for its next re-arm: the
 * uncooperative timeout, doubled after each re-arm it ignored, up to
 * uncooperative_retry_max (at or below the timeout: no backoff). The count
 * starts again when it becomes uncooperative anew, which a move or a new
 * target (both make it converging) is needed for. */
static uint64_t uncoop_retry_ms(const struct conf *c, const struct engine_dom *d)
{
	uint64_t every = c->uncooperative_timeout_ms;
	uint64_t cap = u64_max(c->uncooperative_retry_max_ms, every);
	unsigned k;

	for (k = 0; k < d->uncoop_rearms && every < cap; k++)
		every *= 2;
	return u64_min(every, cap);
}

/* Re-arm stalled balloons; retry uncooperative ones now and then, less
 * and less often. */
static void round_rearm(struct round_state *rs)
{
	struct engine *e = rs->e;
	size_t i;

	for (i = 0; i < e->n && !e->paused; i++) {
		struct engine_dom *d = e->doms[i];
		uint64_t every;

		if (!d->managed)
			continue;
		/* A raised pin still waiting for room: nudging the old goal
		 * would write a value the admin replaced. */
		if (d->mode == MODE_PINNED && d->goal_kib != d->pin_kib)
			continue;
		if (d->state == DOM_STALLED)
			every = rs->c->stall_timeout_ms;
		else if (d->state == DOM_UNCOOPERATIVE)
			every = uncoop_retry_ms(rs->c, d);
		else
			continue;
		if (!d->last_rearm_ms || rs->now - d->last_rearm_ms >= every) {
			if (d->state == DOM_UNCOOPERATIVE && d->last_rearm_ms)
				d->uncoop_rearms++;
			rearm(e, d, rs->now, rs->out);
		}
	}
}

/* Waiting for memory is worth a timer only while some balloon is still
 * giving memory back; otherwise the next event will do. */
static void round_wait_wake(struct round_state *rs)
{
	struct engine *e = rs->e;
	size_t i;

	for (i = 0; i < e->n; i++) {
		const struct engine_dom *d = e->doms[i];

		if (dom_giving(d)) {
			rs->out->next_wake_ms =
				u64_min(rs->out->next_wake_ms, rs->now + rs->c->poll_interval_ms);
			break;
		}
	}
}

/* Host summary (counts, committed, available) and the next wake-up for the
 * domains still moving. */
static void round_summary(struct round_state *rs)
{
	struct engine *e = rs->e;
	struct engine_host *h = rs->h;
	struct engine_output *out = rs->out;
	uint64_t committed = 0, now = rs->now;
	size_t i;

	h->managed = h->converging = h->stalled = h->uncooperative = 0;
	for (i = 0; i < e->n; i++) {
		struct engine_dom *d = e->doms[i];

		committed += dom_commitment(e, d);
		h->managed += d->managed;
		/* Left alone: an unpause sends no XenStore event, so look again. */
		if (d->state == DOM_PAUSED || d->state == DOM_NO_DRIVER)
			out->next_wake_ms = u64_min(out->next_wake_ms, now + HELD_RECHECK_MS);
		if (!d->managed)
			continue;
		switch (d->state) {
		case DOM_CONVERGING:
			h->converging++;
			out->next_wake_ms =
				u64_min(out->next_wake_ms, now + rs->c->poll_interval_ms);
			break;
		case DOM_STALLED:
			h->stalled++;
			out->next_wake_ms =
				u64_min(out->next_wake_ms, now + rs->c->poll_interval_ms);
			break;
		case DOM_UNCOOPERATIVE:
			h->uncooperative++;
			out->next_wake_ms =
				u64_min(out->next_wake_ms,
					d->last_rearm_ms + uncoop_retry_ms(rs->c, d));
			break;
		default: break;
		}
	}
	if (rs->waiting)
		round_wait_wake(rs);
	h->committed_kib = committed;
	h->available_kib = (int64_t)h->free_kib - (int64_t)h->outstanding_kib -
			   (int64_t)h->pool_kib - (int64_t)committed;
}

/* The host's pressure level, and an event when it changes. */
static void round_pressure(struct round_state *rs)
{
	struct engine_host *h = rs->h;
	enum pressure_level p = PRESSURE_NONE;
	struct engine_event *ev;

	if (h->free_kib < h->pool_kib + h->outstanding_kib)
		p = PRESSURE_CRITICAL;
	else if (rs->short_of_memory)
		p = PRESSURE_TIGHT;
	if (p == h->pressure)
		return;
	ev = output_event_add(rs->out, EV_PRESSURE, NULL);
	if (ev) {
		ev->old_kib = h->pressure;
		ev->new_kib = p;
		snprintf(ev->text, sizeof(ev->text), "host pressure %s -> %s",
			 pressure_name(h->pressure), pressure_name(p));
	}
	h->pressure = p;
}

/* The decision round: budget, fair share and demand for the balanced
 * domains; every goal decided, decreases written (phase 1); increases only
 * as free memory allows (phase 2); maxmem raised and capped; stalled
 * balloons re-armed; the host summarised. */
int round_run(struct engine *e, uint64_t now, struct engine_output *out)
{
	struct round_state rs = {.e = e, .c = &e->conf, .h = &e->host, .now = now, .out = out};
	size_t i;
	int r;

	r = scratch_reserve(e, e->n ? e->n : 1);
	if (r < 0)
		return r;
	round_budget(&rs);
	r = round_share(&rs);
	if (r >= 0)
		r = round_replan(&rs);
	if (r < 0)
		return r;
	round_pool_check(&rs);
	r = round_needed(&rs);
	if (r < 0)
		return r;
	rs.inc = e->inc;
	for (i = 0; i < e->n; i++)
		round_goal(&rs, e->doms[i]);
	free(rs.needed);
	round_increases(&rs);
	round_maxmem_raise(&rs);
	round_maxmem_cap(&rs);
	round_rearm(&rs);
	round_summary(&rs);
	round_pressure(&rs);
	return 0;
}
