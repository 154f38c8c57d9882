/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Re-planning for lagging donors: while memory is owed (a reservation
 * waits, or a raised pin), a donor whose observed rate would keep the
 * others waiting far beyond the time the fastest feasible plan needs is
 * planned at what it can give by then; the rest of its share moves to the
 * donors that make progress, within their bounds. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "engine-internal.h"

#define LAG_WINDOW_MS 1000 /* asked this long and not moved: it gives nothing */
#define LAG_FACTOR 2.0	   /* lagging: it would need more than twice the plan's time */
#define LAG_MIN_S 2.0	   /* ... and more than this beyond it */

/* A balanced domain as a donor, in target terms. */
struct donor {
	size_t idx;	   /* its policy item */
	uint64_t held_kib; /* what it holds now */
	uint64_t cap_kib;  /* what it could give, down to its dynamic-min */
	uint64_t give_kib; /* what the fair share asks of it */
	double rate;	   /* KiB/s it gives back at, as observed */
	bool rested;	   /* at rest at its target: counted at the rate it last gave at */
};

/* Memory is owed when a reservation waits to be granted or a pin waits
 * for memory to be freed; *ret_resv is the first waiting reservation's
 * id (0 for a pin). */
static bool replan_owed(const struct engine *e, uint32_t *ret_resv)
{
	size_t i;

	for (i = 0; i < e->n_resv; i++)
		if (e->resv[i].state == RESV_PENDING) {
			*ret_resv = e->resv[i].id;
			return true;
		}
	*ret_resv = 0;
	for (i = 0; i < e->n; i++)
		if (e->doms[i]->managed && e->doms[i]->mode == MODE_PINNED &&
		    e->doms[i]->reason.code == REASON_PINNED_WAIT)
			return true;
	return false;
}

bool memory_owed(const struct engine *e)
{
	uint32_t resv;

	return replan_owed(e, &resv);
}

/* The rate (KiB/s) at which a donor gives memory back, as observed: 0 when
 * it is stalled, moves the wrong way, or was asked LAG_WINDOW_MS ago and
 * has not moved; -1 when it is not giving or not judged yet (a restarted
 * daemon does not know when it was asked: the stall timeout judges it). */
static double donor_rate(const struct engine_dom *d, uint64_t tolerance_kib, uint64_t now)
{
	if (d->actual_kib <= dom_aim(d, d->target_kib) + tolerance_kib)
		return -1;
	if (d->state == DOM_STALLED)
		return 0;
	if (d->has_rate && d->rate_kib_s < 0)
		return (double)-d->rate_kib_s;
	if (d->moved || (d->last_change_ms && now >= d->last_change_ms + LAG_WINDOW_MS))
		return 0;
	return -1;
}

/* A donor at rest at its target that was seen giving memory back: the rate
 * (KiB/s) it gave at, else 0. It counts, with all it could give down to
 * its dynamic-min, in the time the fastest plan needs (a fast donor that
 * gave its share before the others could be judged can take over theirs;
 * without it that time would be the laggards' own), but it is not judged
 * itself: it was not asked for more yet. */
static double donor_rest_rate(const struct engine_dom *d, uint64_t tolerance_kib)
{
	if (d->state != DOM_IDLE || !d->gave_rate_kib_s ||
	    d->actual_kib > dom_aim(d, d->target_kib) + tolerance_kib)
		return 0;
	return (double)d->gave_rate_kib_s;
}

static int donor_time_cmp(const void *a, const void *b)
{
	const struct donor *x = a, *y = b;
	double tx = (double)x->cap_kib / x->rate, ty = (double)y->cap_kib / y->rate;

	if (tx != ty)
		return tx < ty ? -1 : 1;
	return (x->idx > y->idx) - (x->idx < y->idx);
}

/* The shortest time (s) in which the n donors of known rate give need
 * between them, each at most its cap: the least T with
 * sum(min(cap, rate x T)) >= need. When even all of it falls short, the
 * time the slowest of them needs to give all; 0 when none moves (the
 * donors not judged yet are to give it). The donors are sorted (movers
 * first, by when each has given all). */
static double plan_time(struct donor *dn, size_t n, double need)
{
	double base = 0, slope = 0, t = -1;
	size_t i, m = 0;

	for (i = 0; i < n; i++)
		if (dn[i].rate > 0 && dn[i].cap_kib) {
			struct donor tmp = dn[m];

			dn[m] = dn[i];
			dn[i] = tmp;
			slope += dn[m++].rate;
		}
	if (!m)
		return 0;
	qsort(dn, m, sizeof(*dn), donor_time_cmp);
	for (i = 0; i < m; i++) {
		t = (double)dn[i].cap_kib / dn[i].rate;
		if (base + slope * t >= need)
			return (need - base) / slope;
		base += (double)dn[i].cap_kib;
		slope -= dn[i].rate;
	}
	return t;
}

/* Report a donor that started to lag, with what moved from it. */
static void replan_event(const struct engine_dom *d, uint32_t resv, struct engine_output *out)
{
	struct engine_event *ev = output_event_add(out, EV_RESERVATION, d);
	char a[32], b[32];

	if (!ev)
		return;
	ev->resv_id = resv;
	ev->new_kib = d->lag_floor_kib;
	if (d->lag_rate_kib_s)
		snprintf(ev->text, sizeof(ev->text),
			 "re-planned: %s lags at %s/s, %s moved to donors that make progress",
			 d->name, size_format(d->lag_rate_kib_s, a, sizeof(a)),
			 size_format(d->lag_moved_kib, b, sizeof(b)));
	else
		snprintf(ev->text, sizeof(ev->text),
			 "re-planned: %s gives nothing back, %s moved to donors that make "
			 "progress",
			 d->name, size_format(d->lag_moved_kib, b, sizeof(b)));
}

/* Judge the known donors against the plan's time t: fix each one that
 * lags at what it gives by then. The number fixed. */
static size_t replan_fix(struct engine *e, struct donor *dn, size_t n, double t, uint32_t resv,
			 struct engine_output *out)
{
	size_t i, fixed = 0;

	for (i = 0; i < n; i++) {
		struct engine_dom *d = e->work[dn[i].idx];
		struct policy_item *it = &e->items[dn[i].idx];
		double by_then = dn[i].rate * t;
		uint64_t floor;
		bool was = d->lagging;

		d->lagging = false;
		if (dn[i].rested || !dn[i].give_kib ||
		    (dn[i].rate > 0 &&
		     (double)dn[i].give_kib <= dn[i].rate * (t * LAG_FACTOR > t + LAG_MIN_S
								     ? t * LAG_FACTOR
								     : t + LAG_MIN_S)))
			continue;
		floor = by_then >= (double)dn[i].cap_kib
				? d->dmin_kib
				: page_ceil(dn[i].held_kib - (uint64_t)by_then);
		floor = u64_min(u64_max(floor, d->dmin_kib), d->ceiling_kib);
		if (floor <= it->out_kib)
			continue;
		d->lagging = true;
		d->lag_floor_kib = floor;
		d->lag_rate_kib_s = (uint64_t)dn[i].rate;
		d->lag_moved_kib = floor - it->out_kib;
		it->dmin_kib = it->ceiling_kib = floor;
		if (!was)
			replan_event(d, resv, out);
		fixed++;
	}
	return fixed;
}

int replan_lagging(struct engine *e, size_t nb, int64_t budget, uint64_t now,
		   struct engine_output *out)
{
	struct donor *dn;
	double need = -(double)budget, t;
	size_t i, n = 0, fixed = 0;
	uint32_t resv;

	for (i = 0; i < e->n; i++)
		if (!dom_balanced(e->doms[i]))
			e->doms[i]->lagging = false;
	if (!nb)
		return 0;
	if (!replan_owed(e, &resv)) {
		for (i = 0; i < nb; i++)
			e->work[i]->lagging = false;
		return 0;
	}
	dn = malloc(nb * sizeof(*dn));
	if (!dn)
		return -ENOMEM;
	/* What the balanced domains must give between them; those not judged
	 * yet are taken to give their fair share in time (those at rest that
	 * were seen giving count at that rate, all they could give). */
	for (i = 0; i < nb; i++) {
		struct engine_dom *d = e->work[i];
		uint64_t held = add_offset(d->actual_kib, -d->offset_kib);
		uint64_t want = e->items[i].out_kib;
		struct donor x = {.idx = i,
				  .held_kib = held,
				  .cap_kib = held > d->dmin_kib ? held - d->dmin_kib : 0,
				  .give_kib = held > want ? held - want : 0,
				  .rate = donor_rate(d, e->conf.reach_tolerance_kib, now)};
		double rest = x.rate < 0 && x.cap_kib
				      ? donor_rest_rate(d, e->conf.reach_tolerance_kib)
				      : 0;

		need += (double)held;
		if (rest > 0) {
			x.rate = rest;
			x.rested = true;
		}
		if (x.rate < 0) {
			need -= (double)x.give_kib;
			d->lagging = false;
		} else {
			dn[n++] = x;
		}
	}
	if (need > 0 && n) {
		t = plan_time(dn, n, need);
		fixed = replan_fix(e, dn, n, t, resv, out);
	} else
		for (i = 0; i < n; i++)
			e->work[dn[i].idx]->lagging = false;
	free(dn);
	return fixed > 0;
}
