/* SPDX-License-Identifier: GPL-2.0-or-later */
/* What a restarted daemon read back from /tool/balloond/ for a domain
 * (mode, pin, policy, learned offset, uncooperative flag), kept until the
 * domain is first seen and then applied to it. */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine-internal.h"

#define RESTORE_MAX 65536

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

/* A persisted target: "NEW" (adopted or an external write), or "NEW PREV"
 * (balloond's intent, persisted before memory/target was written; PREV is
 * what it held then). *ret_prev is NEW when there is no PREV. */
static int intent_parse(const char *s, uint64_t *ret_new, uint64_t *ret_prev)
{
	const char *sp = strchr(s, ' ');
	char head[24];
	uint64_t n, p;

	if (!sp)
		return u64_parse_strict(s, SIZE_MAX_KIB, ret_new) < 0
			       ? -EINVAL
			       : (*ret_prev = *ret_new, 0);
	if ((size_t)(sp - s) >= sizeof(head))
		return -EINVAL;
	memcpy(head, s, (size_t)(sp - s));
	head[sp - s] = '\0';
	if (u64_parse_strict(head, SIZE_MAX_KIB, &n) < 0 ||
	    u64_parse_strict(sp + 1, SIZE_MAX_KIB, &p) < 0)
		return -EINVAL;
	*ret_new = n;
	*ret_prev = p;
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
	} else if (strcmp(key, "pin") == 0) {
		if (u64_parse_strict(value, SIZE_MAX_KIB, &v) < 0)
			return -EINVAL;
	} else if (strcmp(key, "target") == 0) {
		uint64_t prev;

		if (intent_parse(value, &v, &prev) < 0)
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
			   intent_parse(r->value, &v, &d->intent_prev_kib) == 0) {
			d->written_valid = true;
			d->written_kib = v;
			d->has_intent_prev = true;
			d->has_intent = true;
			d->intent_kib = v;
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
	/* A restarted daemon has seen no balloon move yet: the stall clock
	 * starts now, not at 0 (a guest still converging is not stalled). */
	if (d->written_valid)
		d->last_progress_ms = now;
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
