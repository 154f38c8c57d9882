/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The engine: domain table, per-domain balloon state machine, and the
 * decision round that turns an observation into actions. See POLICY.md. */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine.h"
#include "units.h"

#define DOM0_DEFAULT_DMIN_KIB (UINT64_C(1) << 20) /* 1 GiB */
#define RESTORE_MAX 65536

/* engine_dom.pin_dirty */
#define PIN_DIRTY_EVENT 1u /* report the pin or unpin */
#define PIN_DIRTY_MODE 2u  /* persist mode */
#define PIN_DIRTY_VALUE 4u /* persist pin */

struct restore_entry {
	uint32_t domid;
	char key[16];
	char value[64];
};

struct engine {
	struct conf conf;
	struct engine_dom **doms; /* sorted by domid */
	size_t n, cap;
	struct restore_entry *restore;
	size_t n_restore;
	struct engine_host host;
	uint64_t low_mem_kib; /* Xen's low_mem_virq threshold, last observed */
	/* Counts what changes the picture from outside the guests' own
	 * numbers: a domain came or went, a reservation, a pin, a policy, a
	 * reload, pause. Oscillation damping only holds back reversals that
	 * happen within one epoch. */
	uint64_t epoch;
	bool paused;
	bool have_obs;
	/* scratch for the policy, grown as needed */
	struct policy_item *items;
	double *scratch;
	struct engine_dom **work;
	size_t scratch_cap;
	/* reservations, by id; ended ones are kept RESV_KEEP_MS for listing */
	struct engine_resv *resv;
	size_t n_resv, cap_resv;
	uint32_t next_resv_id;
	bool *resv_dirty;      /* parallel to resv: persist at the next step */
	bool resv_next_dirty;  /* persist next_resv_id */
};

#define RESV_KEEP_MS (UINT64_C(60) * 1000)
#define RESV_TTL_MAX_MS (UINT64_C(24) * 3600 * 1000)

static const char *const state_names[] = {
	[DOM_IDLE] = "idle",
	[DOM_CONVERGING] = "converging",
	[DOM_STALLED] = "stalled",
	[DOM_UNCOOPERATIVE] = "uncooperative",
	[DOM_BUILDING] = "building",
	[DOM_DYING] = "dying",
};

const char *dom_state_name(enum dom_state s)
{
	return (unsigned)s < sizeof(state_names) / sizeof(*state_names) ? state_names[s] : "?";
}

const char *dom_type_name(enum dom_type t)
{
	switch (t) {
	case DOM_PV: return "pv";
	case DOM_PVH: return "pvh";
	case DOM_HVM: return "hvm";
	}
	return "?";
}

const char *bound_source_name(enum bound_source s)
{
	switch (s) {
	case BOUND_DEFAULT: return "default";
	case BOUND_XENSTORE: return "xenstore";
	case BOUND_CONFIG: return "config";
	case BOUND_ADMIN: return "admin";
	}
	return "?";
}

const char *report_source_name(enum report_source s)
{
	switch (s) {
	case REPORT_NONE: return "none";
	case REPORT_DATA: return "data/meminfo";
	case REPORT_QUBES: return "memory/meminfo";
	case REPORT_DOM0: return "dom0 /proc";
	}
	return "?";
}

const char *pressure_name(enum pressure_level p)
{
	switch (p) {
	case PRESSURE_NONE: return "none";
	case PRESSURE_TIGHT: return "tight";
	case PRESSURE_CRITICAL: return "critical";
	}
	return "?";
}

static uint64_t page_floor(uint64_t kib)
{
	return kib - kib % ENGINE_PAGE_KIB;
}

static uint64_t page_ceil(uint64_t kib)
{
	return page_floor(kib + ENGINE_PAGE_KIB - 1);
}

static uint64_t u64_min(uint64_t a, uint64_t b)
{
	return a < b ? a : b;
}

static uint64_t u64_max(uint64_t a, uint64_t b)
{
	return a > b ? a : b;
}

static uint64_t u64_dist(uint64_t a, uint64_t b)
{
	return a > b ? a - b : b - a;
}

/* a + b for a size and a signed offset, never below 0. */
static uint64_t add_offset(uint64_t a, int64_t b)
{
	if (b < 0 && (uint64_t)-b > a)
		return 0;
	return b < 0 ? a - (uint64_t)-b : a + (uint64_t)b;
}

/* kib x (100 + pct) / 100 without overflow for any size we accept. */
static uint64_t with_buffer(uint64_t kib, unsigned pct)
{
	return kib / 100 * (100 + pct) + kib % 100 * (100 + pct) / 100;
}

/* The part of a domain's offset that is not learned: the videoram libxl
 * leaves out of an HVM guest's target. */
static int64_t dom_base_offset(const struct engine_dom *d)
{
	return d->offset_kib - d->learned_offset_kib;
}

/* Where tot_pages settles for a target: the target plus the domain's offset
 * (videoram, firmware and what the guest kernel keeps outside its balloon),
 * never above static-max, which its memory map cannot grow past. */
static uint64_t dom_aim(const struct engine_dom *d, uint64_t target_kib)
{
	uint64_t aim = add_offset(target_kib, d->offset_kib);

	return d->static_max_kib && aim > d->static_max_kib ? d->static_max_kib : aim;
}

/* ---- output ---- */

void engine_output_reset(struct engine_output *out)
{
	out->n_actions = 0;
	out->n_events = 0;
	out->next_wake_ms = UINT64_MAX;
}

void engine_output_free(struct engine_output *out)
{
	if (!out)
		return;
	free(out->actions);
	free(out->events);
	memset(out, 0, sizeof(*out));
}

static int grow(void **v, size_t *cap, size_t need, size_t elem)
{
	size_t ncap;
	void *nv;

	if (need <= *cap)
		return 0;
	ncap = *cap ? *cap * 2 : 16;
	while (ncap < need)
		ncap *= 2;
	nv = realloc(*v, ncap * elem);
	if (!nv)
		return -ENOMEM;
	*v = nv;
	*cap = ncap;
	return 0;
}

static struct engine_action *action_add(struct engine_output *out, enum engine_action_type type,
					uint32_t domid)
{
	struct engine_action *a;

	if (grow((void **)&out->actions, &out->cap_actions, out->n_actions + 1, sizeof(*a)) < 0)
		return NULL;
	a = &out->actions[out->n_actions++];
	memset(a, 0, sizeof(*a));
	a->type = type;
	a->domid = domid;
	return a;
}

static int action_persist(struct engine_output *out, uint32_t domid, const char *key,
			  const char *fmt, ...)
{
	struct engine_action *a = action_add(out, ACT_PERSIST, domid);
	va_list ap;

	if (!a)
		return -ENOMEM;
	snprintf(a->key, sizeof(a->key), "%s", key);
	va_start(ap, fmt);
	vsnprintf(a->value, sizeof(a->value), fmt, ap);
	va_end(ap);
	return 0;
}

static struct engine_event *event_add(struct engine_output *out, enum engine_event_type type,
				      const struct engine_dom *d)
{
	struct engine_event *ev;

	if (grow((void **)&out->events, &out->cap_events, out->n_events + 1, sizeof(*ev)) < 0)
		return NULL;
	ev = &out->events[out->n_events++];
	memset(ev, 0, sizeof(*ev));
	ev->type = type;
	if (d) {
		ev->domid = d->domid;
		snprintf(ev->name, sizeof(ev->name), "%s", d->name);
		ev->old_state = ev->new_state = d->state;
	}
	return ev;
}

/* ---- table ---- */

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
	c->scratch_cap = 0;
	c->cap_resv = 0;
	c->n_resv = 0;
	c->n_restore = 0;
	if (conf_copy(&c->conf, &e->conf) < 0) {
		free(c);
		return NULL;
	}
	if (grow((void **)&c->doms, &c->cap, e->n ? e->n : 1, sizeof(*c->doms)) < 0)
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

int engine_plan(const struct engine *e, const struct engine_obs *obs, uint64_t now,
		bool as_running, struct engine_output *out)
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

static struct engine_dom *table_find(const struct engine *e, uint32_t domid)
{
	size_t i = table_lower_bound(e, domid);

	return i < e->n && e->doms[i]->domid == domid ? e->doms[i] : NULL;
}

static struct engine_dom *table_insert(struct engine *e, uint32_t domid)
{
	struct engine_dom *d;
	size_t i;

	if (grow((void **)&e->doms, &e->cap, e->n + 1, sizeof(*e->doms)) < 0)
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

static void decision_log(struct engine_dom *d, uint64_t now, bool has_old, uint64_t old_kib,
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

/* ---- admin policy overrides ---- */

/* The persisted form: "1 DMIN DMAX WEIGHT MODE", "-" where not set. */
static void policy_format(const struct engine_policy *p, char *buf, size_t len)
{
	char a[24] = "-", b[24] = "-", w[12] = "-";

	if (p->has_dmin)
		snprintf(a, sizeof(a), "%" PRIu64, p->dmin_kib);
	if (p->has_dmax)
		snprintf(b, sizeof(b), "%" PRIu64, p->dmax_kib);
	if (p->has_weight)
		snprintf(w, sizeof(w), "%u", p->weight);
	snprintf(buf, len, "1 %s %s %s %s", a, b, w, p->has_mode ? domain_mode_name(p->mode) : "-");
}

/* One field of the persisted form: "-" or digits within max. */
static int policy_field(const char *s, uint64_t max, bool *has, uint64_t *v)
{
	*has = strcmp(s, "-") != 0;
	return *has ? u64_parse_strict(s, max, v) : 0;
}

static int policy_parse(const char *value, struct engine_policy *ret)
{
	char f[5][24];
	struct engine_policy p = {0};
	uint64_t w = 0;
	size_t i, n = 0, k = 0;

	/* exactly five fields of [0-9a-z-] separated by single spaces */
	memset(f, 0, sizeof(f));
	for (i = 0; value[i]; i++) {
		char ch = value[i];

		if (ch == ' ') {
			if (!k || ++n == 5)
				return -EINVAL;
			k = 0;
		} else if ((ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'z') || ch == '-') {
			if (k + 1 >= sizeof(f[0]))
				return -EINVAL;
			f[n][k++] = ch;
		} else {
			return -EINVAL;
		}
	}
	if (n != 4 || !k || strcmp(f[0], "1") != 0)
		return -EINVAL;
	if (policy_field(f[1], SIZE_MAX_KIB, &p.has_dmin, &p.dmin_kib) < 0 ||
	    policy_field(f[2], SIZE_MAX_KIB, &p.has_dmax, &p.dmax_kib) < 0 ||
	    policy_field(f[3], 10000, &p.has_weight, &w) < 0 || (p.has_weight && !w) ||
	    (p.has_dmin && p.has_dmax && p.dmin_kib > p.dmax_kib))
		return -EINVAL;
	p.weight = (unsigned)w;
	if (strcmp(f[4], "-") != 0) {
		p.has_mode = true;
		if (strcmp(f[4], "auto") == 0)
			p.mode = MODE_AUTO;
		else if (strcmp(f[4], "frozen") == 0)
			p.mode = MODE_FROZEN;
		else if (strcmp(f[4], "excluded") == 0)
			p.mode = MODE_EXCLUDED;
		else
			return -EINVAL;
	}
	*ret = p;
	return 0;
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
static void restore_apply(struct engine *e, struct engine_dom *d, uint64_t now)
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

/* ---- per-domain observation ---- */

static uint64_t bound_resolve(const struct conf_bound *b, uint64_t static_max)
{
	if (b->is_pct)
		return page_floor(static_max / 100 * b->pct + static_max % 100 * b->pct / 100);
	return b->kib;
}

/* Work out dmin/dmax/ceiling and their sources: a [domain NAME] section
 * wins over XenStore (toolstack), which wins over [defaults]. A XenStore
 * bound of 0 means none (never "balloon it to nothing"). */
static void dom_bounds(const struct engine *e, struct engine_dom *d,
		       const struct engine_obs_domain *o)
{
	const struct conf_domain *sec = d->name[0] ? conf_find_domain(&e->conf, d->name) : NULL;
	const struct conf_domain *def = &e->conf.defaults;
	uint64_t smax = d->static_max_kib;

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
	if (d->dmin_kib > d->ceiling_kib)
		d->dmin_kib = d->ceiling_kib;
	d->weight = sec && sec->weight_set ? sec->weight : def->weight_set ? def->weight : 100;
	if (d->pol.has_weight)
		d->weight = d->pol.weight;
}

/* The configured mode for a domain that is not pinned. */
static enum domain_mode dom_conf_mode(const struct engine *e, const struct engine_dom *d)
{
	const struct conf_domain *sec = d->name[0] ? conf_find_domain(&e->conf, d->name) : NULL;

	if (d->domid == 0 && !e->conf.manage_dom0)
		return MODE_EXCLUDED;
	if (d->pol.has_mode)
		return d->pol.mode;
	if (sec && sec->mode_set)
		return sec->mode;
	if (e->conf.defaults.mode_set)
		return e->conf.defaults.mode;
	return MODE_AUTO;
}

static void set_state(struct engine_dom *d, enum dom_state s, struct engine_output *out,
		      const char *why)
{
	struct engine_event *ev;

	if (d->state == s)
		return;
	ev = event_add(out, EV_STATE, d);
	if (ev) {
		ev->old_state = d->state;
		ev->new_state = s;
		snprintf(ev->text, sizeof(ev->text), "%s", why);
	}
	d->state = s;
}

static void pin_domain(struct engine_dom *d, uint64_t kib, uint64_t now, const char *why,
		       struct engine_output *out)
{
	struct engine_event *ev = event_add(out, EV_PIN, d);

	if (ev) {
		ev->old_kib = d->goal_kib;
		ev->new_kib = kib;
		snprintf(ev->text, sizeof(ev->text), "%s", why);
	}
	if (d->mode != MODE_PINNED)
		action_persist(out, d->domid, "mode", "pinned");
	if (d->mode != MODE_PINNED || d->pin_kib != kib)
		action_persist(out, d->domid, "pin", "%" PRIu64, kib);
	d->mode = MODE_PINNED;
	d->pin_kib = kib;
	decision_log(d, now, d->has_target, d->goal_kib, kib, why);
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
	enum report_source src = REPORT_NONE;
	uint64_t used = 0, total = 0, need;

	d->has_demand = false;
	d->report_rejected = false;
	d->report_stale = false;
	d->under_pressure = false;
	if (o->has_report) {
		src = d->domid == 0 ? REPORT_DOM0 : REPORT_DATA;
		if (o->report_total_kib == 0 || o->report_free_kib > o->report_total_kib ||
		    (d->static_max_kib && o->report_total_kib > d->static_max_kib + (64 << 10)))
			d->report_rejected = true;
		else
			used = o->report_total_kib - o->report_free_kib, total = o->report_total_kib;
	} else if (o->has_qubes_report) {
		/* Swap in use is counted, so it may exceed static-max, but not
		 * twice over. */
		src = REPORT_QUBES;
		if (o->qubes_used_kib == 0 ||
		    (d->static_max_kib && o->qubes_used_kib > 2 * d->static_max_kib))
			d->report_rejected = true;
		else
			used = o->qubes_used_kib;
	}
	d->report_source = src;
	if (src != REPORT_NONE && !d->report_rejected) {
		if (!d->report_ms || used != d->report_used_kib || total != d->report_total_kib) {
			if (d->report_ms && now < d->report_ms + c->demand_interval_ms) {
				/* Too soon: keep the last one, look again later. */
				out->next_wake_ms = u64_min(out->next_wake_ms,
							    d->report_ms + c->demand_interval_ms);
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
			out->next_wake_ms = u64_min(out->next_wake_ms,
						    d->report_true_ms + c->demand_stale_ms);
	}
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
	struct engine_action *a = action_add(out, ACT_FLAG_UNCOOP, d->domid);

	if (a)
		a->kib = on;
	action_persist(out, d->domid, "uncooperative", on ? "1" : "0");
}

/* A domain at rest this close to where it should settle has an offset,
 * not a stuck balloon: its learned part (*ret) stays within offset_max. */
static bool offset_learnable(const struct conf *c, const struct engine_dom *d, int64_t *ret)
{
	*ret = (int64_t)d->actual_kib - (int64_t)d->target_kib - dom_base_offset(d);
	return c->offset_max_kib && (uint64_t)(*ret < 0 ? -*ret : *ret) <= c->offset_max_kib;
}

/* Merge one observed domain into its table entry and advance its balloon
 * state machine. */
static void dom_observe(struct engine *e, struct engine_dom *d, const struct engine_obs_domain *o,
			uint64_t now, struct engine_output *out)
{
	const struct conf *c = &e->conf;
	uint64_t dist, last_dist, aim;
	int64_t learned;

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

	if (o->dying || o->shutdown) {
		set_state(d, DOM_DYING, out, "domain is dying or shut down");
		d->managed = false;
		return;
	}
	if (!o->name[0] || !o->static_max_kib || !o->has_target) {
		set_state(d, DOM_BUILDING, out, "domain is being built");
		d->managed = false;
		return;
	}
	if (d->state == DOM_BUILDING || d->state == DOM_DYING)
		d->state = DOM_IDLE;

	d->has_target = true;
	d->target_kib = o->target_kib;
	if (!d->written_valid) {
		/* First sight: adopt the current value as balloond's own. */
		d->written_valid = true;
		d->written_kib = o->target_kib;
		d->goal_kib = o->target_kib;
		d->last_progress_ms = now;
		d->moved = false;
	} else if (o->target_kib != d->written_kib) {
		/* Someone else wrote memory/target (xl mem-set, an admin):
		 * that is a pin; balloond never fights it. */
		char why[128];
		char sz[32];

		snprintf(why, sizeof(why), "external write of memory/target (%s): pinned",
			 size_format(o->target_kib, sz, sizeof(sz)));
		pin_domain(d, o->target_kib, now, why, out);
		d->written_kib = o->target_kib;
		d->goal_kib = o->target_kib;
		d->last_progress_ms = now;
		d->moved = false;
		action_persist(out, d->domid, "target", "%" PRIu64, d->written_kib);
	}
	if (!d->goal_kib)
		d->goal_kib = d->written_kib;

	d->managed = d->mode == MODE_AUTO || d->mode == MODE_PINNED;

	/* Balloon state machine, judged against where tot_pages settles for
	 * what memory/target holds. */
	aim = dom_aim(d, d->target_kib);
	dist = u64_dist(d->actual_kib, aim);
	last_dist = u64_dist(d->last_actual_kib, aim);
	if (d->last_sample_ms && d->actual_kib != d->last_actual_kib)
		d->moved = true;
	if (d->last_sample_ms && now > d->last_sample_ms && d->actual_kib != d->last_actual_kib) {
		int64_t delta = (int64_t)d->actual_kib - (int64_t)d->last_actual_kib;
		int64_t inst = delta * 1000 / (int64_t)(now - d->last_sample_ms);

		d->rate_kib_s = d->has_rate ? (d->rate_kib_s + inst) / 2 : inst;
		d->has_rate = true;
	}
	if (dist <= c->reach_tolerance_kib) {
		if (d->state == DOM_UNCOOPERATIVE)
			uncoop_flag(d, false, out);
		set_state(d, DOM_IDLE, out, "target reached");
		d->rearms = 0;
		d->last_progress_ms = now;
		d->has_rate = false;
		d->rate_kib_s = 0;
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
		/* It moved toward the target and came to rest close by: that is
		 * where this guest settles (squeezed's memory-offset). */
		char why[96], sz[32];

		d->offset_kib = dom_base_offset(d) + learned;
		d->learned_offset_kib = learned;
		d->offset_learned = true;
		snprintf(why, sizeof(why), "at rest %s%s from its target: offset learned",
			 d->offset_kib < 0 ? "-" : "+",
			 size_format((uint64_t)(d->offset_kib < 0 ? -d->offset_kib : d->offset_kib), sz,
				     sizeof(sz)));
		action_persist(out, d->domid, "offset", "%" PRId64, d->learned_offset_kib);
		decision_log(d, now, true, d->target_kib, d->target_kib, why);
		set_state(d, DOM_IDLE, out, why);
		d->rearms = 0;
		d->last_progress_ms = now;
		d->has_rate = false;
		d->rate_kib_s = 0;
	} else if (now - d->last_progress_ms >= c->stall_timeout_ms) {
		if (d->state != DOM_STALLED && d->state != DOM_UNCOOPERATIVE) {
			set_state(d, DOM_STALLED, out, "no progress toward target");
			d->stalled_since_ms = now;
			d->last_rearm_ms = 0;
			d->has_rate = false;
			d->rate_kib_s = 0;
		}
		if (d->state == DOM_STALLED &&
		    now - d->stalled_since_ms >= c->uncooperative_timeout_ms) {
			set_state(d, DOM_UNCOOPERATIVE, out,
				  "stalled too long: excluded from donors, counted as it is");
			uncoop_flag(d, true, out);
		}
	} else if (d->state == DOM_IDLE) {
		set_state(d, DOM_CONVERGING, out, "new target");
	}
	d->last_actual_kib = d->actual_kib;
	d->last_sample_ms = now;
}

/* ---- actions ---- */

/* Write a new target (and persist it as balloond's own value). */
static void write_target(struct engine_dom *d, uint64_t kib, uint64_t now,
			 struct engine_output *out)
{
	struct engine_action *a = action_add(out, ACT_SET_TARGET, d->domid);

	if (!a)
		return;
	a->kib = kib;
	d->prev_written_kib = d->written_kib;
	d->written_kib = kib;
	d->target_kib = kib;
	d->moved = false;
	action_persist(out, d->domid, "target", "%" PRIu64, kib);
}

static void write_maxmem(struct engine_dom *d, uint64_t kib, struct engine_output *out)
{
	struct engine_action *a;

	kib = page_ceil(kib);
	if (kib == d->maxmem_kib || kib == d->maxmem_requested_kib)
		return;
	a = action_add(out, ACT_SET_MAXMEM, d->domid);
	if (!a)
		return;
	a->kib = kib;
	d->maxmem_requested_kib = kib;
}

/* Set a new goal with a reason, logging a decision when it changes. */
static void goal_set(const struct engine *e, struct engine_dom *d, uint64_t kib, uint64_t now,
		     const char *reason, struct engine_output *out)
{
	struct engine_event *ev;

	snprintf(d->reason, sizeof(d->reason), "%s", reason);
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
		decision_log(d, now, true, d->goal_kib, kib, reason);
		ev = event_add(out, EV_TARGET, d);
		if (ev) {
			ev->old_kib = d->goal_kib;
			ev->new_kib = kib;
			snprintf(ev->text, sizeof(ev->text), "%s", reason);
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

/* A domain the policy may shrink or grow right now. */
static bool dom_balanced(const struct engine_dom *d)
{
	return d->managed && d->mode == MODE_AUTO && d->state != DOM_UNCOOPERATIVE;
}

/* Memory a domain will still take from the host if it reaches its target. */
static uint64_t dom_commitment(const struct engine *e, const struct engine_dom *d)
{
	uint64_t top;

	if (!d->has_target || d->state == DOM_DYING || d->state == DOM_BUILDING)
		return 0;
	/* A managed guest may also take the maxmem slack above its target. */
	top = dom_aim(d, d->target_kib);
	if (d->managed && d->maxmem_kib > top)
		top = u64_min(d->maxmem_kib, top + e->conf.maxmem_slack_kib);
	return top > d->actual_kib ? top - d->actual_kib : 0;
}

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
		if (!d->has_demand)
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
			: page_floor((uint64_t)((double)excess[k] * (double)left / (double)pool));
		e->items[k].out_kib = e->work[k]->demand_kib + back;
		e->work[k]->demand_role = 1;
	}
	free(excess);
	return 0;
}

struct increase {
	struct engine_dom *d;
	uint64_t want_kib;
	double priority; /* lower = served first */
	char reason[128];
};

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

static void resv_update(struct engine *e, uint64_t now, struct engine_output *out);
static bool resv_pending(const struct engine *e);
static void resv_answer(struct engine *e, uint64_t now, struct engine_output *out);

/* The decision round proper: fair share for balanced domains, pins, two
 * phases (decreases now, increases only as free memory allows), maxmem. */
static int decide(struct engine *e, uint64_t now, struct engine_output *out)
{
	const struct conf *c = &e->conf;
	struct engine_host *h = &e->host;
	struct increase *inc = NULL;
	size_t i, nb = 0, ninc = 0;
	int64_t budget, avail;
	uint64_t committed = 0;
	bool short_of_memory = false, waiting = false, pool_short;
	int r;

	r = scratch_reserve(e, e->n ? e->n : 1);
	if (r < 0)
		return r;

	/* Budget for balanced domains: what would be free if every domain
	 * reached its target, less the pool and what reservations hold. Fixed
	 * domains hold max(actual, target): they may still grow to their
	 * target. */
	budget = (int64_t)h->free_kib - (int64_t)h->outstanding_kib - (int64_t)h->pool_kib -
		 (int64_t)h->reserved_kib;
	for (i = 0; i < e->n; i++) {
		struct engine_dom *d = e->doms[i];

		if (dom_balanced(d)) {
			budget += (int64_t)d->actual_kib - d->offset_kib;
			e->work[nb] = d;
			d->policy_idx = nb;
			e->items[nb].dmin_kib = d->dmin_kib;
			e->items[nb].ceiling_kib = d->ceiling_kib;
			e->items[nb].weight = d->weight;
			nb++;
		} else if (d->managed && d->mode == MODE_PINNED && d->state != DOM_UNCOOPERATIVE) {
			budget += (int64_t)d->actual_kib - (int64_t)dom_aim(d, d->pin_kib);
		} else {
			budget -= (int64_t)dom_commitment(e, d);
		}
	}
	if (nb) {
		short_of_memory = policy_fair_share(e->items, nb, budget, e->scratch) == 1;
		r = demand_adjust(e, nb);
		if (r < 0)
			return r;
	}

	/* Below the pool once every target is reached (a guest overshot, or
	 * grabbed pages): then even small decreases are worth writing. */
	for (i = 0; i < e->n; i++)
		committed += dom_commitment(e, e->doms[i]);
	pool_short = (int64_t)h->free_kib - (int64_t)h->outstanding_kib - (int64_t)committed <
		     (int64_t)h->pool_kib;

	inc = calloc(e->n ? e->n : 1, sizeof(*inc));
	if (!inc)
		return -ENOMEM;

	/* Phase 1: decide every goal; write decreases now. */
	for (i = 0; i < e->n; i++) {
		struct engine_dom *d = e->doms[i];
		uint64_t want;
		char reason[128], a[32], b[32];

		if (d->pin_dirty) {
			struct engine_event *ev = event_add(out, d->mode == MODE_PINNED ? EV_PIN : EV_UNPIN, d);

			if (ev) {
				ev->old_kib = d->goal_kib;
				ev->new_kib = d->pin_kib;
				snprintf(ev->text, sizeof(ev->text), "%s", d->reason);
			}
			if (d->pin_dirty & PIN_DIRTY_MODE)
				action_persist(out, d->domid, "mode", "%s",
					       d->mode == MODE_PINNED ? "pinned" : "auto");
			if (d->mode == MODE_PINNED && (d->pin_dirty & PIN_DIRTY_VALUE))
				action_persist(out, d->domid, "pin", "%" PRIu64, d->pin_kib);
			d->pin_dirty = 0;
		}

		if (d->pol_dirty) {
			char v[96];

			policy_format(&d->pol, v, sizeof(v));
			action_persist(out, d->domid, "policy", "%s", v);
			d->pol_dirty = false;
		}
		if (!d->managed)
			continue;
		if (d->state == DOM_UNCOOPERATIVE) {
			/* Not asked to give; but what its re-arms write follows
			 * the bounds and the pin as they are now. */
			uint64_t g = d->goal_kib;

			if (d->mode == MODE_PINNED)
				g = d->pin_kib;
			else if (g > d->ceiling_kib)
				g = d->ceiling_kib;
			else if (g < d->dmin_kib)
				g = d->dmin_kib;
			if (g != d->goal_kib) {
				decision_log(d, now, true, d->goal_kib, g,
					     "uncooperative: goal follows its bounds or pin");
				d->goal_kib = g;
			}
			continue;
		}
		if (d->mode == MODE_PINNED) {
			want = d->pin_kib;
			snprintf(reason, sizeof(reason), "pinned at %s by admin",
				 size_format(want, a, sizeof(a)));
		} else {
			size_t k = d->policy_idx;

			if (!dom_balanced(d))
				continue;
			want = e->items[k].out_kib;
			if (d->demand_role == 1)
				snprintf(reason, sizeof(reason),
					 "demand: uses %s, needs %s; gives the rest to guests that need it",
					 size_format(d->used_kib, a, sizeof(a)),
					 size_format(d->demand_kib, b, sizeof(b)));
			else if (d->demand_role == 2)
				snprintf(reason, sizeof(reason),
					 "demand: needs %s, above its fair share; given what others spare",
					 size_format(d->demand_kib, a, sizeof(a)));
			else if (short_of_memory)
				snprintf(reason, sizeof(reason),
					 "held at dynamic-min %s: host short of memory",
					 size_format(d->dmin_kib, a, sizeof(a)));
			else if (want >= d->ceiling_kib)
				snprintf(reason, sizeof(reason), "at ceiling %s (%s)",
					 size_format(d->ceiling_kib, a, sizeof(a)),
					 d->ceiling_kib < d->dmax_kib ? "static-max" : "dynamic-max");
			else
				snprintf(reason, sizeof(reason),
					 "fair share: %.0f%% of %s..%s (weight %u)",
					 e->items[k].fraction * 100.0,
					 size_format(d->dmin_kib, a, sizeof(a)),
					 size_format(d->ceiling_kib, b, sizeof(b)), d->weight);
			if (c->surplus == SURPLUS_KEEP_FREE && want > d->goal_kib &&
			    d->goal_kib >= d->dmin_kib) {
				want = d->goal_kib;
				snprintf(reason, sizeof(reason),
					 "surplus kept free (keep-free): not grown");
			}
			/* Deadband: small changes are not worth a balloon
			 * move, unless the goal is outside the bounds. */
			if (u64_dist(want, d->goal_kib) < c->deadband_kib &&
			    !(pool_short && want < d->goal_kib) &&
			    d->goal_kib >= d->dmin_kib && d->goal_kib <= d->ceiling_kib) {
				want = d->goal_kib;
				if (!d->reason[0])
					snprintf(d->reason, sizeof(d->reason), "%s", reason);
				continue;
			}
			/* Oscillation damping: a goal that already reversed
			 * twice, each time within the window, does not reverse
			 * again until the window has passed since its last
			 * change, unless the pool or a reservation needs it. */
			d->damped = false;
			if (c->oscillation_window_ms && d->reversals >= 2 && d->last_dir &&
			    d->change_epoch == e->epoch &&
			    (want > d->goal_kib ? 1 : -1) != d->last_dir &&
			    now < d->last_change_ms + c->oscillation_window_ms &&
			    !(want < d->goal_kib && (pool_short || resv_pending(e))) &&
			    d->goal_kib >= d->dmin_kib && d->goal_kib <= d->ceiling_kib) {
				char w[32];

				d->damped = true;
				snprintf(d->reason, sizeof(d->reason),
					 "damped: goal reversed %u times in a row; %s held back until %s after its last change",
					 d->reversals, size_format(want, a, sizeof(a)),
					 duration_format(c->oscillation_window_ms, w, sizeof(w)));
				out->next_wake_ms = u64_min(out->next_wake_ms,
							    d->last_change_ms + c->oscillation_window_ms);
				continue;
			}
			if (c->max_step_kib && u64_dist(want, d->goal_kib) > c->max_step_kib &&
			    d->goal_kib >= d->dmin_kib && d->goal_kib <= d->ceiling_kib)
				want = want > d->goal_kib ? d->goal_kib + c->max_step_kib
							  : d->goal_kib - c->max_step_kib;
		}
		if (e->paused)
			continue;
		if (want < d->goal_kib) {
			goal_set(e, d, want, now, reason, out);
		} else if (want > d->goal_kib) {
			inc[ninc].d = d;
			inc[ninc].want_kib = want;
			inc[ninc].priority = d->ceiling_kib > d->dmin_kib
				? (double)(d->actual_kib > d->dmin_kib ? d->actual_kib - d->dmin_kib : 0) /
				  (double)(d->ceiling_kib - d->dmin_kib)
				: 1.0;
			/* Domains under pressure, and guests that need more than
			 * their share, are served first. */
			if (d->under_pressure || d->demand_role == 2)
				inc[ninc].priority -= 2.0;
			snprintf(inc[ninc].reason, sizeof(inc[ninc].reason), "%s", reason);
			ninc++;
		} else {
			snprintf(d->reason, sizeof(d->reason), "%s", reason);
		}
	}

	/* Phase 2: increases, only from memory that is free now. */
	committed = 0;
	for (i = 0; i < e->n; i++)
		committed += dom_commitment(e, e->doms[i]);
	avail = (int64_t)h->free_kib - (int64_t)h->outstanding_kib - (int64_t)h->pool_kib -
		(int64_t)committed - (int64_t)h->reserved_kib;
	qsort(inc, ninc, sizeof(*inc), increase_cmp);
	for (i = 0; i < ninc; i++) {
		struct engine_dom *d = inc[i].d;
		/* In target terms: what the domain holds or will hold. */
		uint64_t from = u64_max(d->target_kib, add_offset(d->actual_kib, -d->offset_kib));
		uint64_t grant = inc[i].want_kib;
		int64_t cost;
		char a[32];

		if (grant > from) {
			cost = (int64_t)(grant - from);
			if (cost > avail) {
				grant = avail > 0 ? page_floor(from + (uint64_t)avail) : from;
				waiting = true;
			}
		}
		cost = grant > from ? (int64_t)(grant - from) : 0;
		/* A pin is written whole, once there is room for it: an admin
		 * who set 2G should not read 1.6G in memory/target. */
		if (grant < inc[i].want_kib && d->mode == MODE_PINNED) {
			snprintf(d->reason, sizeof(d->reason),
				 "pinned at %s by admin: waiting for memory to be freed",
				 size_format(inc[i].want_kib, a, sizeof(a)));
			continue;
		}
		/* A partial increase is only worth writing when it is big
		 * enough; otherwise wait for more memory. While donors are
		 * still shrinking, grow in large chunks (a quarter of the way
		 * at least) rather than by every page that frees up: fewer
		 * XenStore writes. */
		if (grant < inc[i].want_kib &&
		    (grant <= d->goal_kib ||
		     grant - d->goal_kib < u64_max(c->deadband_kib,
						   (inc[i].want_kib - d->goal_kib) / 4))) {
			snprintf(d->reason, sizeof(d->reason),
				 "waiting for free memory to grow (%.80s)", inc[i].reason);
			continue;
		}
		if (d->maxmem_kib < dom_maxmem_for(c, d, grant))
			write_maxmem(d, dom_maxmem_for(c, d, grant), out);
		goal_set(e, d, grant, now, inc[i].reason, out);
		avail -= cost;
	}
	free(inc);

	/* A pin written by someone else (xenstore-write, not xl mem-set) may
	 * be above the maxmem balloond lowered: raise it once the host has
	 * the room, as libxl would have. */
	for (i = 0; i < e->n && !e->paused; i++) {
		struct engine_dom *d = e->doms[i];
		uint64_t need, have;
		int64_t extra;

		if (!d->managed || d->mode != MODE_PINNED || d->state == DOM_UNCOOPERATIVE ||
		    d->target_kib != d->pin_kib)
			continue;
		need = page_ceil(dom_maxmem_for(c, d, d->pin_kib));
		have = u64_max(d->maxmem_kib, d->actual_kib);
		if (d->maxmem_kib >= need || d->maxmem_requested_kib >= need)
			continue;
		extra = need > have ? (int64_t)(need - have) : 0;
		if (extra > avail) {
			snprintf(d->reason, sizeof(d->reason),
				 "pinned above its maxmem: waiting for memory to raise it");
			continue;
		}
		write_maxmem(d, need, out);
		avail -= extra;
	}

	/* maxmem never stays above target + slack, so a guest cannot populate
	 * pages back or past its target (and grab the pool) on its own. */
	for (i = 0; i < e->n && !e->paused; i++) {
		struct engine_dom *d = e->doms[i];
		uint64_t want;

		if (!d->managed || !d->has_target)
			continue;
		want = dom_maxmem_for(c, d, u64_max(d->goal_kib, d->target_kib));
		if (d->maxmem_kib > page_ceil(want))
			write_maxmem(d, want, out);
	}

	/* Re-arm stalled balloons; retry uncooperative ones now and then. */
	for (i = 0; i < e->n && !e->paused; i++) {
		struct engine_dom *d = e->doms[i];
		uint64_t every;

		if (!d->managed)
			continue;
		if (d->state == DOM_STALLED)
			every = c->stall_timeout_ms;
		else if (d->state == DOM_UNCOOPERATIVE)
			every = c->uncooperative_timeout_ms;
		else
			continue;
		if (!d->last_rearm_ms || now - d->last_rearm_ms >= every)
			rearm(e, d, now, out);
	}

	/* Host summary and the next wake-up. */
	committed = 0;
	h->managed = h->converging = h->stalled = h->uncooperative = 0;
	for (i = 0; i < e->n; i++) {
		struct engine_dom *d = e->doms[i];

		committed += dom_commitment(e, d);
		h->managed += d->managed;
		if (!d->managed)
			continue;
		switch (d->state) {
		case DOM_CONVERGING:
			h->converging++;
			out->next_wake_ms = u64_min(out->next_wake_ms, now + c->poll_interval_ms);
			break;
		case DOM_STALLED:
			h->stalled++;
			out->next_wake_ms = u64_min(out->next_wake_ms, now + c->poll_interval_ms);
			break;
		case DOM_UNCOOPERATIVE:
			h->uncooperative++;
			out->next_wake_ms = u64_min(out->next_wake_ms,
						    d->last_rearm_ms + c->uncooperative_timeout_ms);
			break;
		default:
			break;
		}
	}
	/* Waiting for memory is worth a timer only while some balloon is
	 * still giving memory back; otherwise the next event will do. */
	if (waiting) {
		for (i = 0; i < e->n; i++) {
			const struct engine_dom *d = e->doms[i];

			if (d->state == DOM_CONVERGING && d->actual_kib > d->target_kib) {
				out->next_wake_ms = u64_min(out->next_wake_ms,
							    now + c->poll_interval_ms);
				break;
			}
		}
	}
	h->committed_kib = committed;
	h->available_kib = (int64_t)h->free_kib - (int64_t)h->outstanding_kib -
			   (int64_t)h->pool_kib - (int64_t)committed;
	{
		enum pressure_level p = PRESSURE_NONE;
		struct engine_event *ev;

		if (h->free_kib < h->pool_kib + h->outstanding_kib)
			p = PRESSURE_CRITICAL;
		else if (short_of_memory)
			p = PRESSURE_TIGHT;
		if (p != h->pressure) {
			ev = event_add(out, EV_PRESSURE, NULL);
			if (ev) {
				ev->old_kib = h->pressure;
				ev->new_kib = p;
				snprintf(ev->text, sizeof(ev->text), "host pressure %s -> %s",
					 pressure_name(h->pressure), pressure_name(p));
			}
			h->pressure = p;
		}
	}
	return 0;
}

int engine_step(struct engine *e, const struct engine_obs *obs, uint64_t now,
		struct engine_output *out)
{
	size_t i, j;
	int r;

	engine_output_reset(out);
	e->host.total_kib = obs->total_kib;
	e->host.free_kib = obs->free_kib;
	e->host.scrub_kib = obs->scrub_kib;
	e->host.outstanding_kib = obs->outstanding_kib;
	e->low_mem_kib = obs->low_mem_virq_kib;
	e->host.pool_kib = u64_max(e->conf.pool_kib, obs->low_mem_virq_kib);
	e->host.paused = e->paused;
	e->have_obs = true;

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
			ev = event_add(out, EV_DOMAIN_NEW, d);
			if (ev)
				snprintf(ev->text, sizeof(ev->text), "domain appeared");
		}
		if (d->seen)
			continue; /* duplicate domid in one observation: keep the first */
		d->seen = true;
		dom_observe(e, d, o, now, out);
	}
	for (i = 0, j = 0; i < e->n; i++) {
		struct engine_dom *d = e->doms[i];

		if (d->seen) {
			e->doms[j++] = d;
			continue;
		}
		{
			struct engine_event *ev = event_add(out, EV_DOMAIN_GONE, d);

			if (ev)
				snprintf(ev->text, sizeof(ev->text), "domain is gone");
		}
		action_add(out, ACT_FORGET, d->domid);
		e->epoch++;
		free(d);
	}
	e->n = j;
	e->host.domains = (unsigned)e->n;
	resv_update(e, now, out);
	r = decide(e, now, out);
	if (r < 0)
		return r;
	resv_answer(e, now, out);
	return 0;
}

/* ---- admin requests ---- */

static int dom_check_manageable(const struct engine_dom *d, char *err, size_t errlen)
{
	if (d->state == DOM_BUILDING || d->state == DOM_DYING) {
		snprintf(err, errlen, "domain %u is %s", d->domid, dom_state_name(d->state));
		return -EPERM;
	}
	if (d->mode == MODE_EXCLUDED || d->mode == MODE_FROZEN) {
		snprintf(err, errlen, "domain %u (%s) is %s%s", d->domid, d->name,
			 domain_mode_name(d->mode),
			 d->domid == 0 ? " (set manage_dom0 = true to manage dom0)" : "");
		return -EPERM;
	}
	return 0;
}

int engine_pin(struct engine *e, uint32_t domid, uint64_t target_kib, uint64_t now,
	       uint64_t *ret_min, uint64_t *ret_max, char *err, size_t errlen)
{
	struct engine_dom *d = table_find(e, domid);
	char a[32], b[32], t[32], why[128];
	int64_t can;
	size_t i;
	int r;

	e->epoch++;

	if (!d) {
		snprintf(err, errlen, "no domain %u", domid);
		return -ENOENT;
	}
	r = dom_check_manageable(d, err, errlen);
	if (r < 0)
		return r;
	if (target_kib < d->dmin_kib || target_kib > d->static_max_kib) {
		snprintf(err, errlen, "%s is outside %s's range %s..%s (dynamic-min..static-max)",
			 size_format(target_kib, t, sizeof(t)), d->name,
			 size_format(d->dmin_kib, a, sizeof(a)),
			 size_format(d->static_max_kib, b, sizeof(b)));
		if (ret_min)
			*ret_min = d->dmin_kib;
		if (ret_max)
			*ret_max = d->static_max_kib;
		return -ERANGE;
	}
	/* Can the host make room? Everything free beyond the pool plus what
	 * every other balanced domain could give down to its dynamic-min. */
	if (target_kib > u64_max(d->actual_kib, d->target_kib)) {
		can = (int64_t)e->host.free_kib - (int64_t)e->host.outstanding_kib -
		      (int64_t)e->host.pool_kib - (int64_t)e->host.reserved_kib;
		for (i = 0; i < e->n; i++) {
			const struct engine_dom *o = e->doms[i];

			if (o == d)
				continue;
			if (dom_balanced(o))
				can += (int64_t)o->actual_kib - (int64_t)dom_aim(o, o->dmin_kib);
			else
				can -= (int64_t)dom_commitment(e, o);
		}
		if ((int64_t)(target_kib - u64_max(d->actual_kib, d->target_kib)) > can) {
			snprintf(err, errlen,
				 "the host cannot free %s for %s (at most %s can be made available)",
				 size_format(target_kib - u64_max(d->actual_kib, d->target_kib), a,
					     sizeof(a)),
				 d->name, size_format(can > 0 ? (uint64_t)can : 0, b, sizeof(b)));
			return -ENOSPC;
		}
	}
	snprintf(why, sizeof(why), "pinned at %s by admin", size_format(target_kib, t, sizeof(t)));
	/* Persisted next step, only what changed (no write repeats a value). */
	d->pin_dirty |= PIN_DIRTY_EVENT | (d->mode != MODE_PINNED ? PIN_DIRTY_MODE : 0) |
			(d->mode != MODE_PINNED || d->pin_kib != target_kib ? PIN_DIRTY_VALUE : 0);
	d->mode = MODE_PINNED;
	d->pin_kib = target_kib;
	decision_log(d, now, true, d->goal_kib, target_kib, why);
	snprintf(d->reason, sizeof(d->reason), "%s", why);
	return 0;
}

int engine_unpin(struct engine *e, uint32_t domid, uint64_t now, char *err, size_t errlen)
{
	struct engine_dom *d = table_find(e, domid);

	e->epoch++;

	if (!d) {
		snprintf(err, errlen, "no domain %u", domid);
		return -ENOENT;
	}
	if (d->mode != MODE_PINNED) {
		snprintf(err, errlen, "domain %u (%s) is not pinned", domid, d->name);
		return -EINVAL;
	}
	d->mode = dom_conf_mode(e, d);
	d->pin_kib = 0;
	decision_log(d, now, true, d->goal_kib, d->goal_kib, "unpinned by admin");
	snprintf(d->reason, sizeof(d->reason), "unpinned: back to %s", domain_mode_name(d->mode));
	d->pin_dirty |= PIN_DIRTY_EVENT | PIN_DIRTY_MODE;
	return 0;
}

void engine_action_failed(struct engine *e, const struct engine_action *a)
{
	struct engine_dom *d = table_find(e, a->domid);

	if (!d)
		return;
	switch (a->type) {
	case ACT_SET_TARGET:
		if (d->written_kib == a->kib)
			d->written_kib = d->prev_written_kib;
		break;
	case ACT_SET_MAXMEM:
		d->maxmem_requested_kib = 0;
		break;
	default:
		break;
	}
}

static int64_t host_capacity(const struct engine *e, const struct engine_dom *skip);

int engine_set_policy(struct engine *e, uint32_t domid, const struct engine_policy *p, bool reset,
		      uint64_t now, char *err, size_t errlen)
{
	struct engine_dom *d = table_find(e, domid);
	struct engine_policy np;
	uint64_t smax, lo, hi;
	char a[32], b[32], why[128];

	e->epoch++;

	if (!d) {
		snprintf(err, errlen, "no domain %u", domid);
		return -ENOENT;
	}
	if (domid == 0 && !e->conf.manage_dom0) {
		snprintf(err, errlen, "dom0 is not managed (set manage_dom0 = true)");
		return -EPERM;
	}
	np = reset ? (struct engine_policy){0} : d->pol;
	if (p->has_dmin) {
		np.has_dmin = true;
		np.dmin_kib = page_ceil(p->dmin_kib);
	}
	if (p->has_dmax) {
		np.has_dmax = true;
		np.dmax_kib = page_floor(p->dmax_kib);
	}
	if (p->has_weight) {
		if (p->weight < 1 || p->weight > 10000) {
			snprintf(err, errlen, "weight %u is outside 1..10000", p->weight);
			return -EINVAL;
		}
		np.has_weight = true;
		np.weight = p->weight;
	}
	if (p->has_mode) {
		if (p->mode == MODE_PINNED) {
			snprintf(err, errlen, "pin with set-target, not with a mode");
			return -EINVAL;
		}
		np.has_mode = true;
		np.mode = p->mode;
	}
	smax = d->static_max_kib;
	lo = np.has_dmin ? np.dmin_kib : d->dmin_kib;
	hi = np.has_dmax ? np.dmax_kib : d->dmax_kib;
	if (lo > hi || (smax && lo > smax)) {
		snprintf(err, errlen, "dynamic-min %s is above %s %s", size_format(lo, a, sizeof(a)),
			 lo > hi ? "dynamic-max" : "static-max",
			 size_format(lo > hi ? hi : smax, b, sizeof(b)));
		return -EINVAL;
	}
	/* A raised minimum must be something the host can give. */
	if (np.has_dmin && lo > u64_max(d->actual_kib, d->target_kib) && d->mode == MODE_AUTO &&
	    (int64_t)(lo - u64_max(d->actual_kib, d->target_kib)) >
		    host_capacity(e, d) - (int64_t)e->host.reserved_kib) {
		snprintf(err, errlen, "the host cannot give %s a dynamic-min of %s", d->name,
			 size_format(lo, a, sizeof(a)));
		return -ENOSPC;
	}
	d->pol = np;
	d->pol_dirty = true;
	snprintf(why, sizeof(why), "policy set by admin");
	decision_log(d, now, true, d->goal_kib, d->goal_kib, why);
	return 0;
}

void engine_pause(struct engine *e, bool paused)
{
	e->paused = paused;
	e->host.paused = paused;
	e->epoch++;
}

/* ---- reservations ---- */

static const char *const resv_state_names[] = {
	[RESV_PENDING] = "pending",	[RESV_GRANTED] = "granted",
	[RESV_TRANSFERRED] = "transferred", [RESV_FAILED] = "failed",
	[RESV_EXPIRED] = "expired",	[RESV_CANCELLED] = "cancelled",
	[RESV_DONE] = "done",
};

const char *resv_state_name(enum resv_state s)
{
	return (unsigned)s < sizeof(resv_state_names) / sizeof(*resv_state_names)
		       ? resv_state_names[s]
		       : "?";
}

bool resv_active(const struct engine_resv *r)
{
	return r->state == RESV_PENDING || r->state == RESV_GRANTED ||
	       r->state == RESV_TRANSFERRED;
}

size_t engine_reservation_count(const struct engine *e)
{
	return e->n_resv;
}

const struct engine_resv *engine_reservation_at(const struct engine *e, size_t i)
{
	return i < e->n_resv ? &e->resv[i] : NULL;
}

static struct engine_resv *resv_find(struct engine *e, uint32_t id)
{
	size_t i;

	for (i = 0; i < e->n_resv; i++)
		if (e->resv[i].id == id)
			return &e->resv[i];
	return NULL;
}

const struct engine_resv *engine_reservation_find(const struct engine *e, uint32_t id)
{
	return resv_find((struct engine *)e, id);
}

static void resv_mark(struct engine *e, const struct engine_resv *r)
{
	e->resv_dirty[r - e->resv] = true;
}

/* Append a reservation; ids stay in increasing order (FIFO for grants). */
static struct engine_resv *resv_add(struct engine *e, uint32_t id)
{
	size_t cap = e->cap_resv, i;
	void *nv;

	if (grow((void **)&e->resv, &e->cap_resv, e->n_resv + 1, sizeof(*e->resv)) < 0)
		return NULL;
	if (e->cap_resv != cap || !e->resv_dirty) {
		nv = realloc(e->resv_dirty, e->cap_resv * sizeof(*e->resv_dirty));
		if (!nv)
			return NULL;
		e->resv_dirty = nv;
	}
	for (i = e->n_resv; i > 0 && e->resv[i - 1].id > id; i--) {
		e->resv[i] = e->resv[i - 1];
		e->resv_dirty[i] = e->resv_dirty[i - 1];
	}
	memset(&e->resv[i], 0, sizeof(e->resv[i]));
	e->resv[i].id = id;
	e->resv_dirty[i] = true;
	e->n_resv++;
	return &e->resv[i];
}

/* Memory that active reservations keep out of the fair share, skipping one. */
/* Some reservation is still waiting for memory to be freed. */
static bool resv_pending(const struct engine *e)
{
	size_t i;

	for (i = 0; i < e->n_resv; i++)
		if (e->resv[i].state == RESV_PENDING)
			return true;
	return false;
}

static uint64_t resv_held_total(const struct engine *e, const struct engine_resv *skip)
{
	uint64_t sum = 0;
	size_t i;

	for (i = 0; i < e->n_resv; i++)
		if (&e->resv[i] != skip && resv_active(&e->resv[i]))
			sum += e->resv[i].held_kib;
	return sum;
}

/* What could be free beyond the pool (reservations not counted) if every
 * balanced domain but skip went to its dynamic-min and every other domain
 * took what it is still owed. */
static int64_t host_capacity(const struct engine *e, const struct engine_dom *skip)
{
	int64_t can = (int64_t)e->host.free_kib - (int64_t)e->host.outstanding_kib -
		      (int64_t)e->host.pool_kib;
	size_t i;

	for (i = 0; i < e->n; i++) {
		const struct engine_dom *o = e->doms[i];

		if (o == skip)
			continue;
		if (dom_balanced(o))
			can += (int64_t)o->actual_kib - (int64_t)dom_aim(o, o->dmin_kib);
		else if (o->managed && o->mode == MODE_PINNED && o->state != DOM_UNCOOPERATIVE)
			can += (int64_t)o->actual_kib - (int64_t)dom_aim(o, o->pin_kib);
		else
			can -= (int64_t)dom_commitment(e, o);
	}
	return can;
}

static struct engine_event *resv_event(struct engine_output *out, const struct engine_resv *r,
				       const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static struct engine_event *resv_event(struct engine_output *out, const struct engine_resv *r,
				       const char *fmt, ...)
{
	struct engine_event *ev = event_add(out, EV_RESERVATION, NULL);
	va_list ap;

	if (!ev)
		return NULL;
	ev->resv_id = r->id;
	ev->domid = r->domid;
	ev->new_kib = r->amount_kib;
	va_start(ap, fmt);
	vsnprintf(ev->text, sizeof(ev->text), fmt, ap);
	va_end(ap);
	return ev;
}

int engine_reserve(struct engine *e, uint64_t min_kib, uint64_t max_kib, uint64_t ttl_ms,
		   uint64_t now, uint32_t *ret_id, char *err, size_t errlen)
{
	struct engine_resv *r;
	char a[32], b[32];
	size_t i, active = 0;
	int64_t can;

	e->epoch++;

	if (!min_kib || min_kib > max_kib || max_kib > SIZE_MAX_KIB) {
		snprintf(err, errlen, "a reservation needs 0 < min <= max");
		return -EINVAL;
	}
	if (ttl_ms > RESV_TTL_MAX_MS) {
		snprintf(err, errlen, "ttl above 24h");
		return -EINVAL;
	}
	if (!ttl_ms)
		ttl_ms = e->conf.reserve_ttl_ms;
	for (i = 0; i < e->n_resv; i++)
		active += resv_active(&e->resv[i]);
	if (active >= ENGINE_RESV_MAX) {
		snprintf(err, errlen, "%zu reservations are active already", active);
		return -EBUSY;
	}
	can = host_capacity(e, NULL) - (int64_t)resv_held_total(e, NULL);
	if (!e->have_obs || can < (int64_t)min_kib) {
		snprintf(err, errlen,
			 "the host cannot free %s (at most %s, with every balanced guest at its "
			 "dynamic-min and the pool kept)",
			 size_format(min_kib, a, sizeof(a)),
			 size_format(can > 0 ? page_floor((uint64_t)can) : 0, b, sizeof(b)));
		return -ENOSPC;
	}
	r = resv_add(e, e->next_resv_id);
	if (!r) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	r->state = RESV_PENDING;
	r->min_kib = page_ceil(min_kib);
	r->max_kib = page_ceil(max_kib);
	r->amount_kib = page_floor(u64_min(r->max_kib, (uint64_t)can));
	if (r->amount_kib < r->min_kib)
		r->amount_kib = r->min_kib;
	r->held_kib = r->amount_kib;
	r->created_ms = now;
	r->expires_ms = now + ttl_ms;
	r->answer_by_ms = u64_min(now + e->conf.reserve_timeout_ms, r->expires_ms);
	e->next_resv_id++;
	e->resv_next_dirty = true;
	*ret_id = r->id;
	return 0;
}

/* End an active reservation: it holds nothing any more. */
static void resv_end(struct engine *e, struct engine_resv *r, enum resv_state s, uint64_t now)
{
	r->state = s;
	r->held_kib = 0;
	r->ended_ms = now;
	resv_mark(e, r);
	e->epoch++;
}

int engine_reservation_cancel(struct engine *e, uint32_t id, uint64_t now, char *err,
			      size_t errlen)
{
	struct engine_resv *r = resv_find(e, id);

	if (!r) {
		snprintf(err, errlen, "no reservation %u", id);
		return -ENOENT;
	}
	if (!resv_active(r)) {
		snprintf(err, errlen, "reservation %u is %s already", id, resv_state_name(r->state));
		return -EINVAL;
	}
	resv_end(e, r, RESV_CANCELLED, now);
	snprintf(r->why, sizeof(r->why), "cancelled by admin");
	return 0;
}

int engine_reservation_transfer(struct engine *e, uint32_t id, uint32_t domid, uint64_t now,
				char *err, size_t errlen)
{
	struct engine_resv *r = resv_find(e, id);
	const struct engine_dom *d = domid < 0x7ff0 ? table_find(e, domid) : NULL;

	e->epoch++;

	(void)now;
	if (!r) {
		snprintf(err, errlen, "no reservation %u", id);
		return -ENOENT;
	}
	if (r->state != RESV_GRANTED) {
		snprintf(err, errlen, "reservation %u is %s, not granted", id,
			 resv_state_name(r->state));
		return -EINVAL;
	}
	/* A domain the engine has not observed yet (just created) is fine:
	 * the reservation holds until it appears and takes its memory. */
	if (domid == 0 || domid >= 0x7ff0) {
		snprintf(err, errlen, "%u is not a guest domid", domid);
		return -ENOENT;
	}
	r->state = RESV_TRANSFERRED;
	r->domid = domid;
	r->dom_seen = d != NULL;
	resv_mark(e, r);
	return 0;
}

/* The persisted form: "1 STATE MIN MAX AMOUNT CREATED ANSWER_BY EXPIRES DOMID"
 * (sizes in KiB, times in the caller's monotonic ms). */
static void resv_persist(struct engine *e, struct engine_resv *r, struct engine_output *out)
{
	struct engine_action *a;

	if (!resv_active(r)) {
		action_add(out, ACT_FORGET_RESV, r->id);
		return;
	}
	a = action_add(out, ACT_PERSIST_RESV, r->id);
	if (!a)
		return;
	snprintf(a->value, sizeof(a->value),
		 "1 %s %" PRIu64 " %" PRIu64 " %" PRIu64 " %" PRIu64 " %" PRIu64 " %" PRIu64 " %u",
		 resv_state_name(r->state), r->min_kib, r->max_kib, r->amount_kib, r->created_ms,
		 r->answer_by_ms, r->expires_ms, r->domid);
	(void)e;
}

int engine_restore_reservation(struct engine *e, uint32_t id, const char *value)
{
	char state[16], tail[2];
	uint64_t v[7];
	unsigned domid, version;
	struct engine_resv *r;
	enum resv_state s;
	size_t i;

	/* digits and lowercase words separated by single spaces, nothing else
	 * (sscanf alone would take signs, tabs and trailing newlines) */
	for (i = 0; value[i]; i++)
		if (!((value[i] >= '0' && value[i] <= '9') || (value[i] >= 'a' && value[i] <= 'z') ||
		      (value[i] == ' ' && i > 0 && value[i + 1] && value[i + 1] != ' ')))
			return -EINVAL;
	if (id == 0) { /* the id counter */
		if (sscanf(value, "next %" SCNu64 "%1s", &v[0], tail) != 1 || !v[0] ||
		    v[0] > UINT32_MAX)
			return -EINVAL;
		if (v[0] > e->next_resv_id)
			e->next_resv_id = (uint32_t)v[0];
		return 0;
	}
	if (strlen(value) > 127 ||
	    sscanf(value,
		   "%u %15s %" SCNu64 " %" SCNu64 " %" SCNu64 " %" SCNu64 " %" SCNu64 " %" SCNu64
		   " %u%1s",
		   &version, state, &v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &domid, tail) != 9 ||
	    version != 1)
		return -EINVAL;
	if (strcmp(state, "pending") == 0)
		s = RESV_PENDING;
	else if (strcmp(state, "granted") == 0)
		s = RESV_GRANTED;
	else if (strcmp(state, "transferred") == 0)
		s = RESV_TRANSFERRED;
	else
		return -EINVAL;
	if (!v[0] || v[0] > v[1] || v[1] > SIZE_MAX_KIB || v[2] < v[0] || v[2] > v[1] ||
	    v[4] > v[5] || v[5] < v[3] || v[5] - v[3] > RESV_TTL_MAX_MS || resv_find(e, id) ||
	    e->n_resv >= 2 * ENGINE_RESV_MAX)
		return -EINVAL;
	r = resv_add(e, id);
	if (!r)
		return -ENOMEM;
	r->state = s;
	r->min_kib = v[0];
	r->max_kib = v[1];
	r->amount_kib = r->held_kib = v[2];
	r->created_ms = v[3];
	r->answer_by_ms = v[4];
	r->expires_ms = v[5];
	r->domid = domid;
	e->resv_dirty[r - e->resv] = false;
	if (id >= e->next_resv_id)
		e->next_resv_id = id + 1;
	return 0;
}

/* Before the decision: end what expired or was taken, and settle what each
 * reservation holds this round. */
static void resv_update(struct engine *e, uint64_t now, struct engine_output *out)
{
	size_t i, j;
	char a[32];

	for (i = 0; i < e->n_resv; i++) {
		struct engine_resv *r = &e->resv[i];
		const struct engine_dom *d;

		if (!resv_active(r))
			continue;
		if (now >= r->expires_ms && r->state != RESV_PENDING) {
			resv_end(e, r, RESV_EXPIRED, now);
			snprintf(r->why, sizeof(r->why), "its TTL ended before it was %s",
				 r->domid ? "taken" : "transferred");
			resv_event(out, r, "reservation %u expired: %s returns to the guests", r->id,
				   size_format(r->amount_kib, a, sizeof(a)));
			continue;
		}
		if (r->state != RESV_TRANSFERRED)
			continue;
		/* The domain's memory came from the reservation: it holds
		 * what the domain has not taken yet, until the domain runs. */
		d = table_find(e, r->domid);
		if (!d && !r->dom_seen) {
			continue; /* not observed yet: hold it all */
		} else if (!d || d->state == DOM_DYING) {
			resv_end(e, r, RESV_DONE, now);
			snprintf(r->why, sizeof(r->why), "domain %u is gone", r->domid);
		} else if (d->actual_kib >= r->amount_kib || d->state != DOM_BUILDING) {
			resv_end(e, r, RESV_DONE, now);
			snprintf(r->why, sizeof(r->why), "taken by domain %u (%s)", d->domid,
				 d->name);
		} else {
			r->dom_seen = true;
			r->held_kib = r->amount_kib - d->actual_kib;
			continue;
		}
		resv_event(out, r, "reservation %u: %s", r->id, r->why);
	}
	/* Ended ones are listed for a while, then forgotten. */
	for (i = 0, j = 0; i < e->n_resv; i++) {
		if (!resv_active(&e->resv[i]) && now >= e->resv[i].ended_ms + RESV_KEEP_MS &&
		    !e->resv_dirty[i])
			continue;
		e->resv_dirty[j] = e->resv_dirty[i];
		e->resv[j++] = e->resv[i];
	}
	e->n_resv = j;
	e->host.reserved_kib = resv_held_total(e, NULL);
}

/* Name the managed domains still above what balloond asked of them. */
static void resv_refusers(const struct engine *e, char *buf, size_t len)
{
	size_t i, off = 0;
	char a[32];

	buf[0] = '\0';
	for (i = 0; i < e->n && off + 1 < len; i++) {
		const struct engine_dom *d = e->doms[i];
		uint64_t asked = d->has_target ? u64_min(d->target_kib, d->goal_kib) : 0;
		int n;

		if (!d->managed || !d->has_target ||
		    d->actual_kib <= asked + e->conf.reach_tolerance_kib)
			continue;
		n = snprintf(buf + off, len - off, "%s%s (%s, %s above its target)",
			     off ? ", " : "", d->name, dom_state_name(d->state),
			     size_format(d->actual_kib - asked, a, sizeof(a)));
		if (n < 0)
			break;
		off += (size_t)n < len - off ? (size_t)n : len - off - 1;
	}
}

/* After the decision: grant pending reservations in order when the memory
 * is free, fail them when it will not come. */
static void resv_answer(struct engine *e, uint64_t now, struct engine_output *out)
{
	const struct conf *c = &e->conf;
	struct engine_host *h = &e->host;
	int64_t free_now;
	bool giving = false;
	size_t i;
	char a[32], b[32], who[200];

	/* Free beyond the pool once every increase written has landed (the
	 * maxmem slack is the pool's to cover, as in the fair share). */
	free_now = (int64_t)h->free_kib - (int64_t)h->outstanding_kib - (int64_t)h->pool_kib;
	for (i = 0; i < e->n; i++) {
		const struct engine_dom *d = e->doms[i];

		if (d->has_target && d->state != DOM_DYING && d->state != DOM_BUILDING &&
		    d->target_kib > d->actual_kib)
			free_now -= (int64_t)(d->target_kib - d->actual_kib);
	}
	for (i = 0; i < e->n_resv; i++)
		if (e->resv[i].state == RESV_GRANTED || e->resv[i].state == RESV_TRANSFERRED)
			free_now -= (int64_t)e->resv[i].held_kib;
	for (i = 0; i < e->n; i++) {
		const struct engine_dom *d = e->doms[i];

		if (d->managed && d->has_target &&
		    (d->state == DOM_CONVERGING || d->state == DOM_STALLED) &&
		    d->actual_kib > d->target_kib + c->reach_tolerance_kib)
			giving = true;
	}
	for (i = 0; i < e->n_resv; i++) {
		struct engine_resv *r = &e->resv[i];
		int64_t can;

		if (r->state != RESV_PENDING)
			continue;
		/* A range shrinks toward its minimum when the host cannot
		 * free its maximum any more (a donor turned uncooperative). */
		can = host_capacity(e, NULL) - (int64_t)resv_held_total(e, r);
		if (r->min_kib < r->max_kib && can < (int64_t)r->amount_kib) {
			uint64_t amt = can > (int64_t)r->min_kib ? page_floor((uint64_t)can)
								 : r->min_kib;

			if (amt != r->amount_kib) {
				r->amount_kib = r->held_kib = amt;
				resv_mark(e, r);
			}
		}
		if (free_now >= (int64_t)r->amount_kib && !e->paused) {
			r->state = RESV_GRANTED;
			resv_mark(e, r);
			free_now -= (int64_t)r->amount_kib;
			resv_event(out, r, "reservation %u granted: %s held for %s", r->id,
				   size_format(r->amount_kib, a, sizeof(a)),
				   duration_format(r->expires_ms - now, b, sizeof(b)));
			continue;
		}
		if (now >= r->answer_by_ms ||
		    (!giving && !e->paused && now >= r->created_ms + c->stall_timeout_ms)) {
			resv_refusers(e, who, sizeof(who));
			if (who[0])
				snprintf(r->why, sizeof(r->why), "%s; not given back by: %s",
					 now >= r->answer_by_ms ? "timed out" : "donors settled", who);
			else
				snprintf(r->why, sizeof(r->why),
					 "%s with %s free beyond the pool, %s needed",
					 now >= r->answer_by_ms ? "timed out" : "donors settled",
					 size_format(free_now > 0 ? (uint64_t)free_now : 0, a,
						     sizeof(a)),
					 size_format(r->amount_kib, b, sizeof(b)));
			resv_end(e, r, RESV_FAILED, now);
			resv_event(out, r, "reservation %u failed: %s", r->id, r->why);
			continue;
		}
		/* wake for the deadline even if nothing else moves */
		out->next_wake_ms = u64_min(out->next_wake_ms, r->answer_by_ms);
		if (now < r->created_ms + c->stall_timeout_ms)
			out->next_wake_ms =
				u64_min(out->next_wake_ms, r->created_ms + c->stall_timeout_ms);
	}
	/* Wake for expiries, and persist what changed. */
	for (i = 0; i < e->n_resv; i++) {
		struct engine_resv *r = &e->resv[i];

		if (resv_active(r) && r->state != RESV_PENDING)
			out->next_wake_ms = u64_min(out->next_wake_ms, r->expires_ms);
		if (e->resv_dirty[i]) {
			resv_persist(e, r, out);
			e->resv_dirty[i] = false;
		}
	}
	if (e->resv_next_dirty) {
		struct engine_action *act = action_add(out, ACT_PERSIST_RESV, 0);

		if (act)
			snprintf(act->value, sizeof(act->value), "next %u", e->next_resv_id);
		e->resv_next_dirty = false;
	}
}
