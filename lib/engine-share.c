/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The fair-share rule: every domain gets the same weighted fraction of its
 * dynamic-min..ceiling range (squeezed's rule, with weights), found by
 * water-filling over sorted saturation points: O(n log n). */
#include <errno.h>
#include <math.h>
#include <stdlib.h>

#include "engine.h"

struct breakpoint {
	double f;   /* fraction parameter at which the item saturates */
	size_t idx;
};

static int breakpoint_cmp(const void *a, const void *b)
{
	const struct breakpoint *x = a, *y = b;

	if (x->f < y->f)
		return -1;
	if (x->f > y->f)
		return 1;
	return (x->idx > y->idx) - (x->idx < y->idx);
}

static uint64_t page_floor(uint64_t kib)
{
	return kib - kib % ENGINE_PAGE_KIB;
}

/* Give item i the fraction min(1, f*w/100) of its range, page-aligned. */
static void item_apply(struct policy_item *it, double f)
{
	uint64_t span = it->ceiling_kib - it->dmin_kib;
	double frac = f * (double)it->weight / 100.0;
	uint64_t out;

	if (frac >= 1.0 || span == 0)
		frac = 1.0;
	if (frac < 0.0)
		frac = 0.0;
	out = it->dmin_kib + (uint64_t)llround(frac * (double)span);
	if (frac < 1.0)
		out = page_floor(out);
	if (out < it->dmin_kib)
		out = it->dmin_kib;
	if (out > it->ceiling_kib)
		out = it->ceiling_kib;
	it->out_kib = out;
	it->fraction = span ? (double)(out - it->dmin_kib) / (double)span : 1.0;
}

int policy_fair_share(struct policy_item *items, size_t n, int64_t budget_kib,
		      double *scratch)
{
	struct breakpoint *bp = (struct breakpoint *)scratch;
	double base = 0, slope = 0, f = 0;
	uint64_t sum_min = 0, sum_max = 0, sum = 0;
	size_t i, nbp = 0;

	for (i = 0; i < n; i++) {
		if (items[i].ceiling_kib < items[i].dmin_kib)
			items[i].ceiling_kib = items[i].dmin_kib;
		if (items[i].weight == 0)
			items[i].weight = 1;
		sum_min += items[i].dmin_kib;
		sum_max += items[i].ceiling_kib;
	}
	if (budget_kib <= 0 || (uint64_t)budget_kib <= sum_min) {
		for (i = 0; i < n; i++) {
			items[i].out_kib = items[i].dmin_kib;
			items[i].fraction = items[i].ceiling_kib > items[i].dmin_kib ? 0.0 : 1.0;
		}
		return (budget_kib < 0 || (uint64_t)budget_kib < sum_min) ? 1 : 0;
	}
	if ((uint64_t)budget_kib >= sum_max) {
		for (i = 0; i < n; i++) {
			items[i].out_kib = items[i].ceiling_kib;
			items[i].fraction = 1.0;
		}
		return 0;
	}

	base = (double)sum_min;
	for (i = 0; i < n; i++) {
		uint64_t span = items[i].ceiling_kib - items[i].dmin_kib;

		if (span == 0)
			continue;
		slope += (double)items[i].weight * (double)span / 100.0;
		bp[nbp].f = 100.0 / (double)items[i].weight;
		bp[nbp].idx = i;
		nbp++;
	}
	qsort(bp, nbp, sizeof(*bp), breakpoint_cmp);

	f = -1;
	for (i = 0; i < nbp; i++) {
		const struct policy_item *it = &items[bp[i].idx];
		double at = base + slope * bp[i].f;

		if (at >= (double)budget_kib) {
			f = ((double)budget_kib - base) / slope;
			break;
		}
		base += (double)(it->ceiling_kib - it->dmin_kib);
		slope -= (double)it->weight * (double)(it->ceiling_kib - it->dmin_kib) / 100.0;
	}
	if (f < 0) /* cannot happen: budget < sum_max; be safe */
		f = bp[nbp - 1].f;

	for (i = 0; i < n; i++) {
		item_apply(&items[i], f);
		sum += items[i].out_kib;
	}
	/* Floating point may overshoot by a few KiB: take it back page by page
	 * from the largest shares, never below dmin. */
	for (i = 0; sum > (uint64_t)budget_kib && i < n; i++) {
		struct policy_item *it = &items[i];
		uint64_t excess = sum - (uint64_t)budget_kib;
		uint64_t room = it->out_kib - it->dmin_kib;
		uint64_t take = excess < room ? excess : room;

		take = (take + ENGINE_PAGE_KIB - 1) / ENGINE_PAGE_KIB * ENGINE_PAGE_KIB;
		if (take > room)
			take = room;
		it->out_kib -= take;
		sum -= take;
	}
	return 0;
}
