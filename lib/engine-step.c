/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The engine's entry points, above every other engine file: lifetime,
 * configuration, dry runs, and the step that merges an observation, sweeps
 * departed domains, answers reservations and runs the decision round. */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine-internal.h"

/* ---- lifetime ---- */

struct engine *engine_new(const struct conf *conf)
{
	struct engine *e = calloc(1, sizeof(*e));

	if (!e)
		return NULL;
	if (conf_copy(&e->conf, conf) < 0) {
		free(e);
		return NULL;
	}
	e->host.pool_kib = conf->pool_kib;
	e->next_resv_id = 1;
	return e;
}

void engine_free(struct engine *e)
{
	size_t i;

	if (!e)
		return;
	for (i = 0; i < e->n; i++)
		free(e->doms[i]);
	free(e->doms);
	free(e->restore);
	free(e->items);
	free(e->scratch);
	free(e->work);
	free(e->inc);
	free(e->resv);
	free(e->resv_dirty);
	conf_free(&e->conf);
	free(e);
}

int engine_set_conf(struct engine *e, const struct conf *conf)
{
	struct conf copy;

	e->epoch++;

	if (conf_copy(&copy, conf) < 0)
		return -ENOMEM;
	conf_free(&e->conf);
	e->conf = copy;
	e->host.pool_kib = u64_max(conf->pool_kib, e->low_mem_kib);
	return 0;
}

/* A deep copy of e (scratch space is not copied), for dry runs. */
static struct engine *engine_clone(const struct engine *e)
{
	struct engine *c = calloc(1, sizeof(*c));
	size_t i;

	if (!c)
		return NULL;
	*c = *e;
	c->doms = NULL;
	c->cap = c->n = 0;
	c->restore = NULL;
	c->resv = NULL;
	c->resv_dirty = NULL;
	c->items = NULL;
	c->scratch = NULL;
	c->work = NULL;
	c->inc = NULL;
	c->scratch_cap = 0;
	c->cap_resv = 0;
	c->n_resv = 0;
	c->n_restore = 0;
	if (conf_copy(&c->conf, &e->conf) < 0) {
		free(c);
		return NULL;
	}
	if (array_grow((void **)&c->doms, &c->cap, e->n ? e->n : 1, sizeof(*c->doms)) < 0)
		goto fail;
	for (i = 0; i < e->n; i++) {
		c->doms[i] = malloc(sizeof(**c->doms));
		if (!c->doms[i])
			goto fail;
		*c->doms[i] = *e->doms[i];
		c->n++;
	}
	if (e->n_restore) {
		c->restore = malloc(e->n_restore * sizeof(*c->restore));
		if (!c->restore)
			goto fail;
		memcpy(c->restore, e->restore, e->n_restore * sizeof(*c->restore));
		c->n_restore = e->n_restore;
	}
	if (e->n_resv) {
		c->resv = malloc(e->cap_resv * sizeof(*c->resv));
		c->resv_dirty = malloc(e->cap_resv * sizeof(*c->resv_dirty));
		if (!c->resv || !c->resv_dirty)
			goto fail;
		memcpy(c->resv, e->resv, e->n_resv * sizeof(*c->resv));
		memcpy(c->resv_dirty, e->resv_dirty, e->n_resv * sizeof(*c->resv_dirty));
		c->n_resv = e->n_resv;
		c->cap_resv = e->cap_resv;
	}
	return c;
fail:
	engine_free(c);
	return NULL;
}

int engine_plan(const struct engine *e, const struct engine_obs *obs, uint64_t now, bool as_running,
		struct engine_output *out)
{
	struct engine *c = engine_clone(e);
	int r;

	if (!c)
		return -ENOMEM;
	if (as_running)
		engine_pause(c, false);
	r = engine_step(c, obs, now, out);
	engine_free(c);
	return r;
}

const struct conf *engine_conf(const struct engine *e)
{
	return &e->conf;
}

/* ---- the step ---- */

/* Take the host's numbers from an observation. */
static void step_host(struct engine *e, const struct engine_obs *obs)
{
	e->host.total_kib = obs->total_kib;
	e->host.free_kib = obs->free_kib;
	e->host.scrub_kib = obs->scrub_kib;
	e->host.outstanding_kib = obs->outstanding_kib;
	e->low_mem_kib = obs->low_mem_virq_kib;
	e->host.pool_kib = u64_max(e->conf.pool_kib, obs->low_mem_virq_kib);
	e->host.paused = e->paused;
	e->have_obs = true;
}

/* Merge every observed domain into the table, adding (and restoring) the
 * ones seen for the first time; marks each as seen. */
static int step_merge(struct engine *e, const struct engine_obs *obs, uint64_t now,
		      struct engine_output *out)
{
	size_t i;

	for (i = 0; i < e->n; i++)
		e->doms[i]->seen = false;
	for (i = 0; i < obs->n; i++) {
		const struct engine_obs_domain *o = &obs->doms[i];
		struct engine_dom *d = table_find(e, o->domid);
		struct engine_event *ev;

		if (!d) {
			d = table_insert(e, o->domid);
			if (!d)
				return -ENOMEM;
			e->epoch++;
			snprintf(d->name, sizeof(d->name), "%s", o->name);
			restore_apply(e, d, now);
			ev = output_event_add(out, EV_DOMAIN_NEW, d);
			if (ev)
				snprintf(ev->text, sizeof(ev->text), "domain appeared");
		}
		if (d->seen)
			continue; /* duplicate domid in one observation: keep the first */
		d->seen = true;
		dom_observe(e, d, o, now, out);
	}
	return 0;
}

/* Drop the domains the observation no longer holds, and forget them. */
static void step_sweep(struct engine *e, struct engine_output *out)
{
	size_t i, j;

	for (i = 0, j = 0; i < e->n; i++) {
		struct engine_dom *d = e->doms[i];

		if (d->seen) {
			e->doms[j++] = d;
			continue;
		}
		{
			struct engine_event *ev = output_event_add(out, EV_DOMAIN_GONE, d);

			if (ev)
				snprintf(ev->text, sizeof(ev->text), "domain is gone");
		}
		output_action_add(out, ACT_FORGET, d->domid);
		e->epoch++;
		free(d);
	}
	e->n = j;
	e->host.domains = (unsigned)e->n;
}

/* One step: the observation merged, reservations settled, the decision
 * round, then pending reservations answered. */
int engine_step(struct engine *e, const struct engine_obs *obs, uint64_t now,
		struct engine_output *out)
{
	int r;

	engine_output_reset(out);
	step_host(e, obs);
	r = step_merge(e, obs, now, out);
	if (r < 0)
		return r;
	step_sweep(e, out);
	resv_update(e, now, out);
	r = round_run(e, now, out);
	if (r < 0)
		return r;
	resv_answer(e, now, out);
	return 0;
}

void engine_action_failed(struct engine *e, const struct engine_action *a)
{
	struct engine_dom *d = table_find(e, a->domid);

	if (!d)
		return;
	switch (a->type) {
	case ACT_SET_TARGET:
		/* Not written (nor, maybe, its intent persisted): decide it
		 * again next step from what memory/target still holds. */
		if (d->written_kib == a->kib) {
			d->written_kib = d->prev_written_kib;
			if (d->goal_kib == a->kib)
				d->goal_kib = d->prev_written_kib;
		}
		break;
	case ACT_SET_MAXMEM: d->maxmem_requested_kib = 0; break;
	case ACT_PERSIST:
		if (strcmp(a->key, "target") == 0)
			d->has_intent = false; /* what is stored is not known now */
		break;
	default: break;
	}
}

void engine_pause(struct engine *e, bool paused)
{
	e->paused = paused;
	e->host.paused = paused;
	e->epoch++;
}
