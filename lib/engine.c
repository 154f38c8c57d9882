/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The engine's vocabulary, beneath every other engine file: the names of
 * its enums and the output (actions and events) a step fills. The entry
 * points are in engine-step.c. See POLICY.md. */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine-internal.h"

static const char *const state_names[] = {
	[DOM_IDLE] = "idle",	     [DOM_CONVERGING] = "converging",
	[DOM_STALLED] = "stalled",   [DOM_UNCOOPERATIVE] = "uncooperative",
	[DOM_BUILDING] = "building", [DOM_DYING] = "dying",
	[DOM_PAUSED] = "paused",     [DOM_NO_DRIVER] = "no-driver",
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

int array_grow(void **v, size_t *cap, size_t need, size_t elem)
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

struct engine_action *output_action_add(struct engine_output *out, enum engine_action_type type,
					uint32_t domid)
{
	struct engine_action *a;

	if (array_grow((void **)&out->actions, &out->cap_actions, out->n_actions + 1, sizeof(*a)) <
	    0)
		return NULL;
	a = &out->actions[out->n_actions++];
	memset(a, 0, sizeof(*a));
	a->type = type;
	a->domid = domid;
	return a;
}

int output_action_persist(struct engine_output *out, uint32_t domid, const char *key,
			  const char *fmt, ...)
{
	struct engine_action *a = output_action_add(out, ACT_PERSIST, domid);
	va_list ap;

	if (!a)
		return -ENOMEM;
	snprintf(a->key, sizeof(a->key), "%s", key);
	va_start(ap, fmt);
	vsnprintf(a->value, sizeof(a->value), fmt, ap);
	va_end(ap);
	return 0;
}

struct engine_event *output_event_add(struct engine_output *out, enum engine_event_type type,
				      const struct engine_dom *d)
{
	struct engine_event *ev;

	if (array_grow((void **)&out->events, &out->cap_events, out->n_events + 1, sizeof(*ev)) < 0)
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

/* The text of a reason without its wrap, as the round used to write it. */
static void reason_format_base(const struct engine_reason *r, const char *text, char *buf,
			       size_t len)
{
	char a[32], b[32];

	switch (r->code) {
	case REASON_NONE: buf[0] = '\0'; break;
	case REASON_TEXT: snprintf(buf, len, "%s", text); break;
	case REASON_DEMAND_GIVES:
		snprintf(buf, len,
			 "demand: uses %s, needs %s; gives the rest to guests that need it",
			 size_format(r->kib[0], a, sizeof(a)),
			 size_format(r->kib[1], b, sizeof(b)));
		break;
	case REASON_DEMAND_TAKES:
		snprintf(buf, len,
			 "demand: needs %s, above its fair share; given what others spare",
			 size_format(r->kib[0], a, sizeof(a)));
		break;
	case REASON_SHORT:
		snprintf(buf, len, "held at dynamic-min %s: host short of memory",
			 size_format(r->kib[0], a, sizeof(a)));
		break;
	case REASON_CEILING:
		snprintf(buf, len, "up to its ceiling %s (%s)",
			 size_format(r->kib[0], a, sizeof(a)),
			 r->count ? "static-max" : "dynamic-max");
		break;
	case REASON_FAIR:
		snprintf(buf, len, "fair share: %.0f%% of %s..%s (weight %u)", r->fraction * 100.0,
			 size_format(r->kib[0], a, sizeof(a)), size_format(r->kib[1], b, sizeof(b)),
			 r->count);
		break;
	case REASON_KEEP_FREE:
		snprintf(buf, len, "surplus kept free (keep-free): not grown");
		break;
	case REASON_PINNED:
		snprintf(buf, len, "pinned at %s by admin", size_format(r->kib[0], a, sizeof(a)));
		break;
	case REASON_PINNED_WAIT:
		snprintf(buf, len, "pinned at %s by admin: waiting for memory to be freed",
			 size_format(r->kib[0], a, sizeof(a)));
		break;
	case REASON_PINNED_MAXMEM:
		snprintf(buf, len, "pinned above its maxmem: waiting for memory to raise it");
		break;
	case REASON_DAMPED:
		snprintf(buf, len,
			 "damped: goal reversed %u times in a row; %s held back until %s after its "
			 "last change",
			 r->count, size_format(r->kib[0], a, sizeof(a)),
			 duration_format(r->ms, b, sizeof(b)));
		break;
	case REASON_LAGGING:
		if (r->kib[0])
			snprintf(buf, len,
				 "re-planned: lags at %s/s, %s of its share moved to donors that "
				 "make progress",
				 size_format(r->kib[0], a, sizeof(a)),
				 size_format(r->kib[1], b, sizeof(b)));
		else
			snprintf(buf, len,
				 "re-planned: gives nothing back, %s of its share moved to donors "
				 "that make progress",
				 size_format(r->kib[1], b, sizeof(b)));
		break;
	default: snprintf(buf, len, "?"); break;
	}
}

void reason_format(const struct engine_reason *r, const char *text, char *buf, size_t len)
{
	char base[ENGINE_REASON_MAX], whole[ENGINE_REASON_MAX], a[32];

	reason_format_base(r, text, base, sizeof(base));
	switch (r->wrap) {
	case REASON_WAITING:
		snprintf(whole, sizeof(whole), "waiting for free memory to grow (%.80s)", base);
		break;
	case REASON_STEP:
		snprintf(whole, sizeof(whole), "a step toward %s as memory is freed; %.80s",
			 size_format(r->wrap_kib, a, sizeof(a)), base);
		break;
	default: snprintf(whole, sizeof(whole), "%s", base); break;
	}
	snprintf(buf, len, "%s", whole);
}

char *engine_dom_reason(const struct engine_dom *d, char *buf, size_t len)
{
	reason_format(&d->reason, d->reason_text, buf, len);
	return buf;
}
