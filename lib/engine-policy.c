/* SPDX-License-Identifier: GPL-2.0-or-later */
/* What an admin sets: pins (memctl set-target), policy overrides
 * (memctl set-policy) and their persisted form, and each domain's mode. */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine-internal.h"

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

int policy_parse(const char *value, struct engine_policy *ret)
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

/* The configured mode for a domain that is not pinned. */
enum domain_mode dom_conf_mode(const struct engine *e, const struct engine_dom *d)
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

void pin_domain(struct engine_dom *d, uint64_t kib, uint64_t now, const char *why,
		struct engine_output *out)
{
	struct engine_event *ev = output_event_add(out, EV_PIN, d);

	if (ev) {
		ev->old_kib = d->goal_kib;
		ev->new_kib = kib;
		snprintf(ev->text, sizeof(ev->text), "%s", why);
	}
	if (d->mode != MODE_PINNED)
		output_action_persist(out, d->domid, "mode", "pinned");
	if (d->mode != MODE_PINNED || d->pin_kib != kib)
		output_action_persist(out, d->domid, "pin", "%" PRIu64, kib);
	d->mode = MODE_PINNED;
	d->pin_kib = kib;
	decision_log(d, now, d->has_target, d->goal_kib, kib, why);
}

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
		can = (int64_t)e->host.free_kib - (int64_t)e->host.pool_kib -
		      (int64_t)host_set_aside(e, e->host.reserved_kib);
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
			snprintf(
				err, errlen,
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
	dom_reason_text(d, why);
	return 0;
}

int engine_unpin(struct engine *e, uint32_t domid, uint64_t now, char *err, size_t errlen)
{
	struct engine_dom *d = table_find(e, domid);
	char why[ENGINE_REASON_MAX];

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
	snprintf(why, sizeof(why), "unpinned: back to %s", domain_mode_name(d->mode));
	dom_reason_text(d, why);
	d->pin_dirty |= PIN_DIRTY_EVENT | PIN_DIRTY_MODE;
	return 0;
}

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
	if ((p->has_dmin && p->dmin_kib < CONF_BOUND_FLOOR_KIB) ||
	    (p->has_dmax && p->dmax_kib < CONF_BOUND_FLOOR_KIB)) {
		snprintf(err, errlen, "%s %s is below the 16M floor (no guest runs in less)",
			 p->has_dmin && p->dmin_kib < CONF_BOUND_FLOOR_KIB ? "dynamic-min"
									   : "dynamic-max",
			 size_format(p->has_dmin && p->dmin_kib < CONF_BOUND_FLOOR_KIB ? p->dmin_kib
										       : p->dmax_kib,
				     a, sizeof(a)));
		return -EINVAL;
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
		snprintf(err, errlen, "dynamic-min %s is above %s %s",
			 size_format(lo, a, sizeof(a)), lo > hi ? "dynamic-max" : "static-max",
			 size_format(lo > hi ? hi : smax, b, sizeof(b)));
		return -EINVAL;
	}
	/* A raised minimum must be something the host can give. */
	if (np.has_dmin && lo > u64_max(d->actual_kib, d->target_kib) && d->mode == MODE_AUTO &&
	    (int64_t)(lo - u64_max(d->actual_kib, d->target_kib)) >
		    host_capacity(e, d) - (int64_t)host_set_aside(e, e->host.reserved_kib)) {
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

/* Report a pin or unpin an admin made since the last step, and persist
 * what changed of it and of the domain's policy overrides. */
void dom_admin_flush(struct engine_dom *d, struct engine_output *out)
{
	if (d->pin_dirty) {
		struct engine_event *ev =
			output_event_add(out, d->mode == MODE_PINNED ? EV_PIN : EV_UNPIN, d);

		if (ev) {
			ev->old_kib = d->goal_kib;
			ev->new_kib = d->pin_kib;
			engine_dom_reason(d, ev->text, sizeof(ev->text));
		}
		if (d->pin_dirty & PIN_DIRTY_MODE)
			output_action_persist(out, d->domid, "mode", "%s",
					      d->mode == MODE_PINNED ? "pinned" : "auto");
		if (d->mode == MODE_PINNED && (d->pin_dirty & PIN_DIRTY_VALUE))
			output_action_persist(out, d->domid, "pin", "%" PRIu64, d->pin_kib);
		d->pin_dirty = 0;
	}

	if (d->pol_dirty) {
		char v[96];

		policy_format(&d->pol, v, sizeof(v));
		output_action_persist(out, d->domid, "policy", "%s", v);
		d->pol_dirty = false;
	}
}
