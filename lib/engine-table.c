/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The domain table (sorted by domid), each domain's decision log and
 * state changes, and what was persisted for a domain, applied when it is
 * first seen. */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine-internal.h"

#define RESTORE_MAX 65536

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

/* ---- restore ---- */

/* A persisted learned offset: [-]digits, KiB, at most 1 GiB either way. */
static int offset_parse(const char *s, int64_t *ret)
{
	bool neg = s[0] == '-';
	uint64_t v;

	if (u64_parse_strict(s + neg, UINT64_C(1) << 20, &v) < 0)
		return -EINVAL;
	*ret = neg ? -(int64_t)v : (int64_t)v;
	return 0;
}

int engine_restore(struct engine *e, uint32_t domid, const char *key, const char *value)
{
	struct restore_entry *r;
	uint64_t v;
	void *nv;

	if (strcmp(key, "mode") == 0) {
		if (strcmp(value, "auto") != 0 && strcmp(value, "pinned") != 0)
			return -EINVAL;
	} else if (strcmp(key, "pin") == 0 || strcmp(key, "target") == 0) {
		if (u64_parse_strict(value, SIZE_MAX_KIB, &v) < 0)
			return -EINVAL;
	} else if (strcmp(key, "uncooperative") == 0) {
		if (strcmp(value, "0") != 0 && strcmp(value, "1") != 0)
			return -EINVAL;
	} else if (strcmp(key, "offset") == 0) {
		int64_t off;

		if (offset_parse(value, &off) < 0)
			return -EINVAL;
	} else if (strcmp(key, "policy") == 0) {
		struct engine_policy p;

		if (policy_parse(value, &p) < 0)
			return -EINVAL;
	} else {
		return -EINVAL;
	}
	if (strlen(value) >= sizeof(r->value) || e->n_restore >= RESTORE_MAX)
		return -EINVAL;
	nv = realloc(e->restore, (e->n_restore + 1) * sizeof(*e->restore));
	if (!nv)
		return -ENOMEM;
	e->restore = nv;
	r = &e->restore[e->n_restore++];
	r->domid = domid;
	snprintf(r->key, sizeof(r->key), "%s", key);
	snprintf(r->value, sizeof(r->value), "%s", value);
	return 0;
}

/* Apply (and drop) what was persisted for a domain seen for the first time. */
void restore_apply(struct engine *e, struct engine_dom *d, uint64_t now)
{
	bool pinned = false, have_pin = false, uncoop = false;
	uint64_t pin = 0, v;
	size_t i, j;

	for (i = 0, j = 0; i < e->n_restore; i++) {
		struct restore_entry *r = &e->restore[i];

		if (r->domid != d->domid) {
			e->restore[j++] = *r;
			continue;
		}
		if (strcmp(r->key, "mode") == 0) {
			pinned = strcmp(r->value, "pinned") == 0;
		} else if (strcmp(r->key, "pin") == 0 &&
			   u64_parse_strict(r->value, SIZE_MAX_KIB, &v) == 0) {
			have_pin = true;
			pin = v;
		} else if (strcmp(r->key, "target") == 0 &&
			   u64_parse_strict(r->value, SIZE_MAX_KIB, &v) == 0) {
			d->written_valid = true;
			d->written_kib = v;
		} else if (strcmp(r->key, "uncooperative") == 0 && strcmp(r->value, "1") == 0) {
			uncoop = true;
		} else if (strcmp(r->key, "policy") == 0) {
			policy_parse(r->value, &d->pol);
		} else if (strcmp(r->key, "offset") == 0 &&
			   offset_parse(r->value, &d->learned_offset_kib) == 0) {
			d->offset_learned = true;
		}
	}
	e->n_restore = j;
	if (pinned && have_pin) {
		d->mode = MODE_PINNED;
		d->pin_kib = pin;
		/* The last write may have been a re-arm nudge of the pin: the
		 * goal is still the pin, nothing needs rewriting. */
		if (d->written_valid && u64_dist(d->written_kib, pin) <= ENGINE_PAGE_KIB)
			d->goal_kib = pin;
	}
	if (uncoop) {
		d->state = DOM_UNCOOPERATIVE;
		d->stalled_since_ms = now;
		d->last_progress_ms = now;
		d->last_rearm_ms = now;
	}
}
