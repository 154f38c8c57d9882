/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Reservations: memory set aside for a domain about to be built
 * (memctl reserve), granted in order once it is free, transferred to the
 * domain, and persisted across restarts. */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine-internal.h"

#define RESV_KEEP_MS (UINT64_C(60) * 1000)
#define RESV_TTL_MAX_MS (UINT64_C(24) * 3600 * 1000)

static const char *const resv_state_names[] = {
	[RESV_PENDING] = "pending", [RESV_GRANTED] = "granted", [RESV_TRANSFERRED] = "transferred",
	[RESV_FAILED] = "failed",   [RESV_EXPIRED] = "expired", [RESV_CANCELLED] = "cancelled",
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
	return r->state == RESV_PENDING || r->state == RESV_GRANTED || r->state == RESV_TRANSFERRED;
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

	if (array_grow((void **)&e->resv, &e->cap_resv, e->n_resv + 1, sizeof(*e->resv)) < 0)
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

/* Some reservation is still waiting for memory to be freed. */
bool resv_pending(const struct engine *e)
{
	size_t i;

	for (i = 0; i < e->n_resv; i++)
		if (e->resv[i].state == RESV_PENDING)
			return true;
	return false;
}

/* Memory that active reservations keep out of the fair share, skipping one. */
static uint64_t resv_held_total(const struct engine *e, const struct engine_resv *skip)
{
	uint64_t sum = 0;
	size_t i;

	for (i = 0; i < e->n_resv; i++)
		if (&e->resv[i] != skip && resv_active(&e->resv[i]))
			sum += e->resv[i].held_kib;
	return sum;
}

uint64_t host_set_aside(const struct engine *e, uint64_t held_kib)
{
	return u64_max(e->host.outstanding_kib, held_kib);
}

uint64_t budget_set_aside(const struct engine *e, uint64_t held_kib)
{
	return u64_max(e->conf.keep_free_kib, host_set_aside(e, held_kib));
}

/* What could be free beyond the pool (claims and reservations not
 * counted: host_set_aside) if every balanced domain but skip went to its
 * dynamic-min and every other domain took what it is still owed. */
int64_t host_capacity(const struct engine *e, const struct engine_dom *skip)
{
	int64_t can = (int64_t)e->host.free_kib - (int64_t)e->host.pool_kib;
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
	struct engine_event *ev = output_event_add(out, EV_RESERVATION, NULL);
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

bool engine_resv_name_ok(const char *name)
{
	size_t i;

	if (!name || !name[0])
		return false;
	for (i = 0; name[i]; i++)
		if (i >= ENGINE_NAME_MAX - 1 || (unsigned char)name[i] < 0x20 || name[i] == 0x7f)
			return false;
	return true;
}

/* A name is free for a new reservation: no domain has it, and no other
 * active reservation waits for it. 0 or -EEXIST with a sentence. */
static int resv_name_free(const struct engine *e, const char *name, char *err, size_t errlen)
{
	const struct engine_dom *d = engine_find_name(e, name);
	size_t i;

	if (d && d->state != DOM_DYING) {
		snprintf(err, errlen, "a domain named %s exists already (domain %u)", name,
			 d->domid);
		return -EEXIST;
	}
	for (i = 0; i < e->n_resv; i++)
		if (resv_active(&e->resv[i]) && strcmp(e->resv[i].for_name, name) == 0) {
			snprintf(err, errlen, "reservation %u is for %s already", e->resv[i].id,
				 name);
			return -EEXIST;
		}
	return 0;
}

uint64_t engine_reservable_kib(const struct engine *e)
{
	int64_t can = host_capacity(e, NULL) - (int64_t)resv_held_total(e, NULL);

	return e->have_obs && can > 0 ? page_floor((uint64_t)can) : 0;
}

int engine_reserve(struct engine *e, uint64_t min_kib, uint64_t max_kib, uint64_t ttl_ms,
		   uint64_t now, uint32_t *ret_id, char *err, size_t errlen)
{
	return engine_reserve_for(e, min_kib, max_kib, ttl_ms, NULL, now, ret_id, err, errlen);
}

int engine_reserve_for(struct engine *e, uint64_t min_kib, uint64_t max_kib, uint64_t ttl_ms,
		       const char *for_name, uint64_t now, uint32_t *ret_id, char *err,
		       size_t errlen)
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
	if (for_name && for_name[0]) {
		if (!engine_resv_name_ok(for_name)) {
			snprintf(err, errlen, "not a domain name (1 to %d characters, no control "
					      "characters)", ENGINE_NAME_MAX - 1);
			return -EINVAL;
		}
		if (resv_name_free(e, for_name, err, errlen) < 0)
			return -EEXIST;
	}
	for (i = 0; i < e->n_resv; i++)
		active += resv_active(&e->resv[i]);
	if (active >= ENGINE_RESV_MAX) {
		snprintf(err, errlen, "%zu reservations are active already", active);
		return -EBUSY;
	}
	can = host_capacity(e, NULL) - (int64_t)host_set_aside(e, resv_held_total(e, NULL));
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
	if (for_name)
		snprintf(r->for_name, sizeof(r->for_name), "%s", for_name);
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

int engine_reservation_cancel(struct engine *e, uint32_t id, uint64_t now, char *err, size_t errlen)
{
	struct engine_resv *r = resv_find(e, id);

	if (!r) {
		snprintf(err, errlen, "no reservation %u", id);
		return -ENOENT;
	}
	if (!resv_active(r)) {
		snprintf(err, errlen, "reservation %u is %s already", id,
			 resv_state_name(r->state));
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
 * (sizes in KiB, times in the caller's monotonic ms); "2 ... DOMID NAME" for
 * a reservation made for a domain name, NAME its bytes in lowercase hex (the
 * record stays digits and lowercase words whatever the name holds). */
static void resv_persist(struct engine *e, struct engine_resv *r, struct engine_output *out)
{
	struct engine_action *a;
	size_t i, off;

	if (!resv_active(r)) {
		output_action_add(out, ACT_FORGET_RESV, r->id);
		return;
	}
	a = output_action_add(out, ACT_PERSIST_RESV, r->id);
	if (!a)
		return;
	snprintf(a->value, sizeof(a->value),
		 "%d %s %" PRIu64 " %" PRIu64 " %" PRIu64 " %" PRIu64 " %" PRIu64 " %" PRIu64 " %u",
		 r->for_name[0] ? 2 : 1, resv_state_name(r->state), r->min_kib, r->max_kib,
		 r->amount_kib, r->created_ms, r->answer_by_ms, r->expires_ms, r->domid);
	off = strlen(a->value);
	if (r->for_name[0] && off + 1 < sizeof(a->value))
		a->value[off++] = ' ';
	for (i = 0; r->for_name[i] && off + 2 < sizeof(a->value); i++, off += 2)
		snprintf(a->value + off, 3, "%02x", (unsigned char)r->for_name[i]);
	(void)e;
}

/* The hex form of a name back into for_name. 0 or -EINVAL. */
static int resv_name_unhex(const char *hex, char *name, size_t size)
{
	size_t n = strlen(hex), i;

	if (!n || n % 2 || n / 2 >= size)
		return -EINVAL;
	for (i = 0; i < n / 2; i++) {
		unsigned v;

		if (sscanf(hex + 2 * i, "%2x", &v) != 1 || !isxdigit((unsigned char)hex[2 * i + 1]))
			return -EINVAL;
		name[i] = (char)v;
	}
	name[i] = '\0';
	return engine_resv_name_ok(name) ? 0 : -EINVAL;
}

int engine_restore_reservation(struct engine *e, uint32_t id, const char *value)
{
	char state[16], tail[2], hex[2 * ENGINE_NAME_MAX], name[ENGINE_NAME_MAX] = "";
	uint64_t v[7];
	unsigned domid, version;
	int n;
	struct engine_resv *r;
	enum resv_state s;
	size_t i;

	/* digits and lowercase words separated by single spaces, nothing else
	 * (sscanf alone would take signs, tabs and trailing newlines) */
	for (i = 0; value[i]; i++)
		if (!((value[i] >= '0' && value[i] <= '9') ||
		      (value[i] >= 'a' && value[i] <= 'z') ||
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
	if (strlen(value) > 255)
		return -EINVAL;
	n = sscanf(value,
		   "%u %15s %" SCNu64 " %" SCNu64 " %" SCNu64 " %" SCNu64 " %" SCNu64 " %" SCNu64
		   " %u %127s%1s",
		   &version, state, &v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &domid, hex, tail);
	if (!((version == 1 && n == 9) || (version == 2 && n == 10)))
		return -EINVAL;
	if (version == 2 && resv_name_unhex(hex, name, sizeof(name)) < 0)
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
	snprintf(r->for_name, sizeof(r->for_name), "%s", name);
	e->resv_dirty[r - e->resv] = false;
	if (id >= e->next_resv_id)
		e->next_resv_id = id + 1;
	return 0;
}

/* A granted reservation made for a name goes to the domain of that name
 * once it is observed, exactly as a transfer call would hand it over. */
static void resv_hand_over(struct engine *e, struct engine_resv *r, struct engine_output *out)
{
	const struct engine_dom *d = engine_find_name(e, r->for_name);

	if (!d || d->state == DOM_DYING)
		return;
	r->state = RESV_TRANSFERRED;
	r->domid = d->domid;
	r->dom_seen = true;
	resv_mark(e, r);
	resv_event(out, r, "reservation %u: handed to domain %u (%s), which appeared", r->id,
		   d->domid, d->name);
}

/* What a pending reservation asks of the guests beyond its amount: a
 * balloon counts as at its target within reach_tolerance, so each donor
 * may settle up to that much above it (seen on real Xen: Linux guests a
 * few pages short, the grant 0.1 MiB short, failed as "donors settled"). */
static uint64_t resv_pending_margin(const struct engine *e)
{
	size_t i, n = 0;

	for (i = 0; i < e->n; i++)
		n += dom_balanced(e->doms[i]);
	return n * e->conf.reach_tolerance_kib;
}

/* Before the decision: end what expired or was taken, and settle what each
 * reservation holds this round. */
void resv_update(struct engine *e, uint64_t now, struct engine_output *out)
{
	uint64_t margin = resv_pending_margin(e);
	size_t i, j;
	char a[32];

	for (i = 0; i < e->n_resv; i++) {
		struct engine_resv *r = &e->resv[i];
		const struct engine_dom *d;

		if (!resv_active(r))
			continue;
		if (now >= r->expires_ms && r->state != RESV_PENDING) {
			resv_end(e, r, RESV_EXPIRED, now);
			if (r->for_name[0] && !r->domid)
				snprintf(r->why, sizeof(r->why),
					 "its TTL ended before a domain named %s appeared",
					 r->for_name);
			else
				snprintf(r->why, sizeof(r->why), "its TTL ended before it was %s",
					 r->domid ? "taken" : "transferred");
			resv_event(out, r, "reservation %u expired: %s%s%s returns to the guests",
				   r->id, r->for_name[0] ? r->why : "", r->for_name[0] ? "; " : "",
				   size_format(r->amount_kib, a, sizeof(a)));
			continue;
		}
		if (r->state == RESV_PENDING)
			r->held_kib = r->amount_kib + margin;
		if (r->state == RESV_GRANTED && r->for_name[0])
			resv_hand_over(e, r, out);
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

/* Free beyond the pool once every increase written has landed and the
 * granted reservations are taken (the maxmem slack is the pool's to cover,
 * as in the fair share). */
static int64_t resv_free_now(const struct engine *e)
{
	const struct engine_host *h = &e->host;
	uint64_t held = 0;
	int64_t free_now;
	size_t i;

	free_now = (int64_t)h->free_kib - (int64_t)h->pool_kib;
	for (i = 0; i < e->n; i++) {
		const struct engine_dom *d = e->doms[i];

		if (d->has_target && d->state != DOM_DYING && d->state != DOM_BUILDING &&
		    d->target_kib > d->actual_kib)
			free_now -= (int64_t)(d->target_kib - d->actual_kib);
	}
	for (i = 0; i < e->n_resv; i++)
		if (e->resv[i].state == RESV_GRANTED || e->resv[i].state == RESV_TRANSFERRED)
			held += e->resv[i].held_kib;
	return free_now - (int64_t)host_set_aside(e, held);
}

/* Some managed balloon is still giving memory back toward its target. */
static bool resv_donors_giving(const struct engine *e)
{
	bool giving = false;
	size_t i;

	for (i = 0; i < e->n; i++) {
		const struct engine_dom *d = e->doms[i];

		if (d->managed && d->has_target &&
		    (d->state == DOM_CONVERGING || d->state == DOM_STALLED) &&
		    d->actual_kib > d->target_kib + e->conf.reach_tolerance_kib)
			giving = true;
	}
	return giving;
}

/* A range shrinks toward its minimum when the host cannot free its maximum
 * any more (a donor turned uncooperative). */
static void resv_shrink(struct engine *e, struct engine_resv *r)
{
	int64_t can = host_capacity(e, NULL) - (int64_t)host_set_aside(e, resv_held_total(e, r));

	if (r->min_kib < r->max_kib && can < (int64_t)r->amount_kib) {
		uint64_t amt = can > (int64_t)r->min_kib ? page_floor((uint64_t)can) : r->min_kib;

		if (amt != r->amount_kib) {
			r->amount_kib = r->held_kib = amt;
			resv_mark(e, r);
		}
	}
}

/* Fail a pending reservation that timed out or whose donors settled,
 * naming who did not give back, or what was free. */
static void resv_fail(struct engine *e, struct engine_resv *r, int64_t free_now, uint64_t now,
		      struct engine_output *out)
{
	char a[32], b[32], who[200];

	resv_refusers(e, who, sizeof(who));
	if (who[0])
		snprintf(r->why, sizeof(r->why), "%s; not given back by: %s",
			 now >= r->answer_by_ms ? "timed out" : "donors settled", who);
	else
		snprintf(r->why, sizeof(r->why), "%s with %s free beyond the pool, %s needed",
			 now >= r->answer_by_ms ? "timed out" : "donors settled",
			 size_format(free_now > 0 ? (uint64_t)free_now : 0, a, sizeof(a)),
			 size_format(r->amount_kib, b, sizeof(b)));
	resv_end(e, r, RESV_FAILED, now);
	resv_event(out, r, "reservation %u failed: %s", r->id, r->why);
}

/* Answer one pending reservation: granted from *free_now when it is free,
 * failed when it will not come, else a wake-up for its deadline. */
static void resv_answer_one(struct engine *e, struct engine_resv *r, int64_t *free_now, bool giving,
			    uint64_t now, struct engine_output *out)
{
	const struct conf *c = &e->conf;
	char a[32], b[32];

	resv_shrink(e, r);
	if (*free_now >= (int64_t)r->amount_kib && !e->paused) {
		r->state = RESV_GRANTED;
		r->held_kib = r->amount_kib;
		resv_mark(e, r);
		*free_now -= (int64_t)r->amount_kib;
		resv_event(out, r, "reservation %u granted: %s held for %s", r->id,
			   size_format(r->amount_kib, a, sizeof(a)),
			   duration_format(r->expires_ms - now, b, sizeof(b)));
		return;
	}
	if (now >= r->answer_by_ms ||
	    (!giving && !e->paused && now >= r->created_ms + c->stall_timeout_ms)) {
		resv_fail(e, r, *free_now, now, out);
		return;
	}
	/* wake for the deadline even if nothing else moves */
	out->next_wake_ms = u64_min(out->next_wake_ms, r->answer_by_ms);
	if (now < r->created_ms + c->stall_timeout_ms)
		out->next_wake_ms = u64_min(out->next_wake_ms, r->created_ms + c->stall_timeout_ms);
}

/* Wake for expiries, and persist what changed (and the id counter). */
static void resv_flush(struct engine *e, struct engine_output *out)
{
	size_t i;

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
		struct engine_action *act = output_action_add(out, ACT_PERSIST_RESV, 0);

		if (act)
			snprintf(act->value, sizeof(act->value), "next %u", e->next_resv_id);
		e->resv_next_dirty = false;
	}
}

/* After the decision: grant pending reservations in order when the memory
 * is free, fail them when it will not come. */
void resv_answer(struct engine *e, uint64_t now, struct engine_output *out)
{
	int64_t free_now = resv_free_now(e);
	bool giving = resv_donors_giving(e);
	size_t i;

	for (i = 0; i < e->n_resv; i++)
		if (e->resv[i].state == RESV_PENDING)
			resv_answer_one(e, &e->resv[i], &free_now, giving, now, out);
	/* what they hold now: a granted one no longer holds its pending margin */
	e->host.reserved_kib = resv_held_total(e, NULL);
	resv_flush(e, out);
}
