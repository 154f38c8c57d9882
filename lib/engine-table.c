/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The domain table (sorted by domid), each domain's decision log and
 * state changes. */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine-internal.h"

/* Index of the first domain with domid >= id. */
static size_t table_lower_bound(const struct engine *e, uint32_t domid)
{
	size_t lo = 0, hi = e->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (e->doms[mid]->domid < domid)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

struct engine_dom *table_find(const struct engine *e, uint32_t domid)
{
	size_t i = table_lower_bound(e, domid);

	return i < e->n && e->doms[i]->domid == domid ? e->doms[i] : NULL;
}

struct engine_dom *table_insert(struct engine *e, uint32_t domid)
{
	struct engine_dom *d;
	size_t i;

	if (array_grow((void **)&e->doms, &e->cap, e->n + 1, sizeof(*e->doms)) < 0)
		return NULL;
	d = calloc(1, sizeof(*d));
	if (!d)
		return NULL;
	d->domid = domid;
	d->weight = 100;
	i = table_lower_bound(e, domid);
	memmove(&e->doms[i + 1], &e->doms[i], (e->n - i) * sizeof(*e->doms));
	e->doms[i] = d;
	e->n++;
	return d;
}

size_t engine_count(const struct engine *e)
{
	return e->n;
}

const struct engine_dom *engine_at(const struct engine *e, size_t i)
{
	return i < e->n ? e->doms[i] : NULL;
}

const struct engine_dom *engine_find(const struct engine *e, uint32_t domid)
{
	return table_find(e, domid);
}

const struct engine_dom *engine_find_name(const struct engine *e, const char *name)
{
	size_t i;

	for (i = 0; i < e->n; i++)
		if (e->doms[i]->name[0] && strcmp(e->doms[i]->name, name) == 0)
			return e->doms[i];
	return NULL;
}

void engine_host_status(const struct engine *e, struct engine_host *ret)
{
	*ret = e->host;
}

const struct engine_decision *engine_dom_decision(const struct engine_dom *d, unsigned i)
{
	unsigned idx;

	if (i >= d->n_decisions)
		return NULL;
	idx = (d->decision_head + ENGINE_DECISIONS - 1 - i) % ENGINE_DECISIONS;
	return &d->decisions[idx];
}

void decision_log(struct engine_dom *d, uint64_t now, bool has_old, uint64_t old_kib,
		  uint64_t new_kib, const char *reason)
{
	struct engine_decision *dec = &d->decisions[d->decision_head];

	dec->at_ms = now;
	dec->has_old = has_old;
	dec->old_kib = old_kib;
	dec->new_kib = new_kib;
	snprintf(dec->reason, sizeof(dec->reason), "%s", reason);
	d->decision_head = (d->decision_head + 1) % ENGINE_DECISIONS;
	if (d->n_decisions < ENGINE_DECISIONS)
		d->n_decisions++;
}

void dom_reason_text(struct engine_dom *d, const char *text)
{
	d->reason = (struct engine_reason){.code = REASON_TEXT};
	snprintf(d->reason_text, sizeof(d->reason_text), "%s", text);
}

void set_state(struct engine_dom *d, enum dom_state s, struct engine_output *out, const char *why)
{
	struct engine_event *ev;

	if (d->state == s)
		return;
	ev = output_event_add(out, EV_STATE, d);
	if (ev) {
		ev->old_state = d->state;
		ev->new_state = s;
		snprintf(ev->text, sizeof(ev->text), "%s", why);
	}
	d->state = s;
}
