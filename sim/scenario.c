/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Scenario files: strict JSON (json-c) into struct scenario.
 *
 * Every object is checked against the members it may have, so a typo is an
 * error, never a silently ignored setting; every error names the file and
 * the JSON path of the member at fault ("demo.json: domains[2].balloon.
 * behaviour: unknown member"). Sizes are strings with a unit (size_parse),
 * rates are sizes per second ("256M/s"), times are numbers of seconds
 * (fractions allowed, rounded to the millisecond). */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "audit.h"
#include "scenario.h"
#include "units.h"

#define PATH_LEN 256
#define SCENARIO_FILE_MAX (16u << 20)
#define DEFAULT_XEN_RESERVED_KIB (256ull << 10)
#define DEFAULT_DOM0_KIB (1ull << 20)
#define DEFAULT_UNTIL_MS 60000u
#define DEFAULT_TTL_MS 60000u
#define TIME_MAX_S (30.0 * 86400.0)
#define WEIGHT_MAX 10000

struct ctx {
	const char *file;
	char *err;
	size_t errlen;
};

static int bad(const struct ctx *c, const char *path, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int bad(const struct ctx *c, const char *path, const char *fmt, ...)
{
	char msg[320];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (c->err && c->errlen)
		snprintf(c->err, c->errlen, "%s: %s: %s", c->file, path, msg);
	return -EINVAL;
}

/* A member that must be there: "name" is required. */
static int required(const struct ctx *c, const char *path)
{
	const char *last = strrchr(path, '.');

	return bad(c, path, "\"%s\" is required", last ? last + 1 : path);
}

/* path + ".key" (or just key at the root). */
static void path_member(char *dst, const char *path, const char *key)
{
	if (path[0])
		snprintf(dst, PATH_LEN, "%.180s.%.60s", path, key);
	else
		snprintf(dst, PATH_LEN, "%.60s", key);
}

static void path_index(char *dst, const char *path, size_t i)
{
	snprintf(dst, PATH_LEN, "%.200s[%zu]", path, i);
}

static const char *type_name(json_object *v)
{
	switch (json_object_get_type(v)) {
	case json_type_null: return "null";
	case json_type_boolean: return "a boolean";
	case json_type_double:
	case json_type_int: return "a number";
	case json_type_object: return "an object";
	case json_type_array: return "an array";
	case json_type_string: return "a string";
	}
	return "something else";
}

static bool in_list(const char *key, const char *const *list)
{
	for (; *list; list++)
		if (strcmp(*list, key) == 0)
			return true;
	return false;
}

/* An object whose members are all in allowed. */
static int want_object(const struct ctx *c, const char *path, json_object *o,
		       const char *const *allowed)
{
	char p[PATH_LEN];

	if (!json_object_is_type(o, json_type_object))
		return bad(c, path[0] ? path : "(top level)", "must be an object, not %s",
			   type_name(o));
	json_object_object_foreach(o, key, val)
	{
		(void)val;
		if (!in_list(key, allowed)) {
			path_member(p, path, key);
			return bad(c, p, "unknown member");
		}
	}
	return 0;
}

static json_object *member(json_object *o, const char *key)
{
	json_object *v;

	return json_object_object_get_ex(o, key, &v) ? v : NULL;
}

static int get_string(const struct ctx *c, const char *path, json_object *v, char *dst, size_t size)
{
	if (!json_object_is_type(v, json_type_string))
		return bad(c, path, "must be a string, not %s", type_name(v));
	if ((size_t)json_object_get_string_len(v) >= size)
		return bad(c, path, "longer than %zu characters", size - 1);
	if (strlen(json_object_get_string(v)) != (size_t)json_object_get_string_len(v))
		return bad(c, path, "contains a NUL character");
	memcpy(dst, json_object_get_string(v), (size_t)json_object_get_string_len(v) + 1);
	return 0;
}

static int get_size(const struct ctx *c, const char *path, json_object *v, uint64_t *ret)
{
	char s[64];
	int r;

	if (!json_object_is_type(v, json_type_string))
		return bad(c, path, "must be a size string such as \"2G\", not %s", type_name(v));
	if (get_string(c, path, v, s, sizeof(s)) < 0)
		return -EINVAL;
	r = size_parse(s, ret);
	if (r == -ERANGE)
		return bad(c, path, "\"%s\" is too large", s);
	if (r < 0)
		return bad(c, path, "\"%s\" is not a size (a number with K, M, G or T)", s);
	return 0;
}

/* A size that may be negative ("-8M"), for offsets. */
static int get_signed_size(const struct ctx *c, const char *path, json_object *v, int64_t *ret)
{
	const char *s;
	uint64_t k;
	int r;

	if (!json_object_is_type(v, json_type_string))
		return bad(c, path, "must be a size string such as \"8M\" or \"-8M\", not %s",
			   type_name(v));
	s = json_object_get_string(v);
	r = size_parse(s[0] == '-' ? s + 1 : s, &k);
	if (r < 0 || k > (UINT64_C(1) << 40))
		return bad(c, path, "\"%s\" is not a size (a number with K, M, G or T)", s);
	*ret = s[0] == '-' ? -(int64_t)k : (int64_t)k;
	return 0;
}

/* Seconds (a number, fractions allowed) into milliseconds. */
static int get_time(const struct ctx *c, const char *path, json_object *v, uint64_t *ret)
{
	double d;

	if (!json_object_is_type(v, json_type_int) && !json_object_is_type(v, json_type_double))
		return bad(c, path, "must be a number of seconds, not %s", type_name(v));
	d = json_object_get_double(v);
	if (!isfinite(d) || d < 0 || d > TIME_MAX_S)
		return bad(c, path, "must be 0 to %.0f seconds", TIME_MAX_S);
	*ret = (uint64_t)llround(d * 1000.0);
	return 0;
}

/* A rate: a size per second, "256M/s". */
static int get_rate(const struct ctx *c, const char *path, json_object *v, uint64_t *ret)
{
	char s[64];
	size_t n;

	if (get_string(c, path, v, s, sizeof(s)) < 0)
		return -EINVAL;
	n = strlen(s);
	if (n < 3 || strcmp(s + n - 2, "/s") != 0)
		return bad(c, path, "\"%s\" is not a rate such as \"256M/s\"", s);
	s[n - 2] = '\0';
	if (size_parse(s, ret) < 0 || *ret < SIM_PAGE_KIB)
		return bad(c, path, "\"%s/s\" is not a rate of at least 4K/s such as \"256M/s\"",
			   s);
	return 0;
}

static int get_bool(const struct ctx *c, const char *path, json_object *v, bool *ret)
{
	if (!json_object_is_type(v, json_type_boolean))
		return bad(c, path, "must be true or false, not %s", type_name(v));
	*ret = json_object_get_boolean(v);
	return 0;
}

static int get_int(const struct ctx *c, const char *path, json_object *v, int64_t min, int64_t max,
		   int64_t *ret)
{
	int64_t x;

	if (!json_object_is_type(v, json_type_int))
		return bad(c, path, "must be a whole number, not %s", type_name(v));
	errno = 0;
	x = json_object_get_int64(v);
	if (errno || x < min || x > max)
		return bad(c, path, "must be %" PRId64 " to %" PRId64, min, max);
	*ret = x;
	return 0;
}

static bool name_ok(const char *s)
{
	size_t i;

	for (i = 0; s[i]; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
		      (s[i] >= '0' && s[i] <= '9') || s[i] == '_' || s[i] == '.' || s[i] == '-'))
			return false;
	return i > 0;
}

/* ---- domains ---- */

/* Which behaviours take which parameters. */
static bool behavior_moves(enum sim_behavior b)
{
	return b != SIM_BALLOON_STUCK && b != SIM_BALLOON_NONE;
}

static int parse_balloon(const struct ctx *c, const char *path, json_object *o,
			 struct sim_balloon *b)
{
	static const char *const keys[] = {"behavior", "rate",	 "after", "floor",
					   "period",   "offset", NULL};
	json_object *v;
	char p[PATH_LEN], s[32];

	if (want_object(c, path, o, keys) < 0)
		return -EINVAL;
	memset(b, 0, sizeof(*b));
	if ((v = member(o, "behavior"))) {
		path_member(p, path, "behavior");
		if (get_string(c, p, v, s, sizeof(s)) < 0)
			return -EINVAL;
		if (sim_behavior_parse(s, &b->behavior) < 0)
			return bad(c, p,
				   "\"%s\" is not one of normal, slow, stuck, stuck_after, "
				   "floor, intermittent, greedy, none, liar",
				   s);
	}
	if ((v = member(o, "rate"))) {
		path_member(p, path, "rate");
		if (!behavior_moves(b->behavior))
			return bad(c, p, "a %s balloon has no rate",
				   sim_behavior_name(b->behavior));
		if (get_rate(c, p, v, &b->rate_kib_s) < 0)
			return -EINVAL;
	}
	path_member(p, path, "after");
	if ((v = member(o, "after"))) {
		if (b->behavior != SIM_BALLOON_STUCK_AFTER)
			return bad(c, p, "only for behavior stuck_after");
		if (get_size(c, p, v, &b->after_kib) < 0)
			return -EINVAL;
	} else if (b->behavior == SIM_BALLOON_STUCK_AFTER) {
		return bad(c, p, "required for behavior stuck_after (how much it moves)");
	}
	path_member(p, path, "floor");
	if ((v = member(o, "floor"))) {
		if (b->behavior != SIM_BALLOON_FLOOR)
			return bad(c, p, "only for behavior floor");
		if (get_size(c, p, v, &b->floor_kib) < 0)
			return -EINVAL;
	} else if (b->behavior == SIM_BALLOON_FLOOR) {
		return bad(c, p, "required for behavior floor (the size it will not go below)");
	}
	path_member(p, path, "period");
	if ((v = member(o, "period"))) {
		if (b->behavior != SIM_BALLOON_INTERMITTENT)
			return bad(c, p, "only for behavior intermittent");
		if (get_time(c, p, v, &b->period_ms) < 0)
			return -EINVAL;
		if (!b->period_ms)
			return bad(c, p, "must be above 0");
	} else if (b->behavior == SIM_BALLOON_INTERMITTENT) {
		return bad(c, p, "required for behavior intermittent (seconds moving, then stuck)");
	}
	if ((v = member(o, "offset"))) {
		path_member(p, path, "offset");
		if (get_signed_size(c, p, v, &b->offset_kib) < 0)
			return -EINVAL;
	}
	return 0;
}

static int parse_demand(const struct ctx *c, const char *path, json_object *a,
			struct sim_domain_spec *d)
{
	static const char *const keys[] = {"at", "used", NULL};
	size_t i, n;
	char p[PATH_LEN], q[PATH_LEN];

	if (!json_object_is_type(a, json_type_array))
		return bad(c, path, "must be an array of {\"at\": seconds, \"used\": size}, not %s",
			   type_name(a));
	n = json_object_array_length(a);
	d->demand = calloc(n ? n : 1, sizeof(*d->demand));
	if (!d->demand)
		return -ENOMEM;
	for (i = 0; i < n; i++) {
		json_object *e = json_object_array_get_idx(a, i), *v;

		path_index(p, path, i);
		if (want_object(c, p, e, keys) < 0)
			return -EINVAL;
		path_member(q, p, "at");
		if (!(v = member(e, "at")))
			return required(c, q);
		if (get_time(c, q, v, &d->demand[i].at_ms) < 0)
			return -EINVAL;
		if (i && d->demand[i].at_ms <= d->demand[i - 1].at_ms)
			return bad(c, q, "demand points must be in increasing time order");
		path_member(q, p, "used");
		if (!(v = member(e, "used")))
			return required(c, q);
		if (get_size(c, q, v, &d->demand[i].used_kib) < 0)
			return -EINVAL;
		d->n_demand = i + 1;
	}
	return 0;
}

/* Size members of a domain, in the order they are checked. */
static const struct {
	const char *key;
	size_t off;
} domain_sizes[] = {
	{"memory", offsetof(struct sim_domain_spec, memory_kib)},
	{"static_max", offsetof(struct sim_domain_spec, static_max_kib)},
	{"dynamic_min", offsetof(struct sim_domain_spec, dynamic_min_kib)},
	{"dynamic_max", offsetof(struct sim_domain_spec, dynamic_max_kib)},
	{"maxmem", offsetof(struct sim_domain_spec, maxmem_kib)},
};

static int parse_domain(const struct ctx *c, const char *path, json_object *o,
			struct sim_domain_spec *d)
{
	static const char *const keys[] = {"name",	 "type",	"width",       "memory",
					   "static_max", "dynamic_min", "dynamic_max", "maxmem",
					   "weight",	 "balloon",	"demand",      "agent",
					   "agent_stops", "driver_ready", NULL};
	json_object *v;
	char p[PATH_LEN], s[16];
	int64_t x;
	size_t i;

	memset(d, 0, sizeof(*d));
	if (want_object(c, path, o, keys) < 0)
		return -EINVAL;
	path_member(p, path, "name");
	if (!(v = member(o, "name")))
		return required(c, p);
	if (get_string(c, p, v, d->name, sizeof(d->name)) < 0)
		return -EINVAL;
	if (!name_ok(d->name))
		return bad(c, p, "\"%s\" is not a domain name (A-Z a-z 0-9 _ . -)", d->name);
	if (strcmp(d->name, "Domain-0") == 0)
		return bad(c, p, "Domain-0 is the host's own domain (see host.dom0)");
	if ((v = member(o, "type"))) {
		path_member(p, path, "type");
		if (get_string(c, p, v, s, sizeof(s)) < 0)
			return -EINVAL;
		if (sim_dom_type_parse(s, &d->type) < 0)
			return bad(c, p, "\"%s\" is not one of pv, pvh, hvm", s);
	}
	d->width = 64;
	if ((v = member(o, "width"))) {
		path_member(p, path, "width");
		if (d->type != SIM_PV)
			return bad(c, p, "only PV guests have a width");
		if (get_int(c, p, v, 32, 64, &x) < 0 || (x != 32 && x != 64))
			return bad(c, p, "must be 32 or 64");
		d->width = (unsigned)x;
	}
	for (i = 0; i < sizeof(domain_sizes) / sizeof(*domain_sizes); i++) {
		if (!(v = member(o, domain_sizes[i].key)))
			continue;
		path_member(p, path, domain_sizes[i].key);
		if (get_size(c, p, v, (uint64_t *)((char *)d + domain_sizes[i].off)) < 0)
			return -EINVAL;
	}
	path_member(p, path, "memory");
	if (!member(o, "memory"))
		return required(c, p);
	if (d->memory_kib < SIM_PAGE_KIB)
		return bad(c, p, "must be at least 4K");
	if (!d->static_max_kib)
		d->static_max_kib = d->memory_kib;
	if (d->memory_kib > d->static_max_kib) {
		path_member(p, path, "static_max");
		return bad(c, p, "is below memory");
	}
	if (d->dynamic_max_kib && d->dynamic_max_kib > d->static_max_kib) {
		path_member(p, path, "dynamic_max");
		return bad(c, p, "is above static_max");
	}
	if (d->dynamic_min_kib &&
	    d->dynamic_min_kib > (d->dynamic_max_kib ? d->dynamic_max_kib : d->static_max_kib)) {
		path_member(p, path, "dynamic_min");
		return bad(c, p, "is above %s", d->dynamic_max_kib ? "dynamic_max" : "static_max");
	}
	if (member(o, "dynamic_min") && !d->dynamic_min_kib) {
		path_member(p, path, "dynamic_min");
		return bad(c, p, "must be above 0");
	}
	if (member(o, "dynamic_max") && !d->dynamic_max_kib) {
		path_member(p, path, "dynamic_max");
		return bad(c, p, "must be above 0");
	}
	if (member(o, "maxmem") && d->maxmem_kib < d->memory_kib) {
		path_member(p, path, "maxmem");
		return bad(c, p, "is below memory");
	}
	if ((v = member(o, "weight"))) {
		path_member(p, path, "weight");
		if (get_int(c, p, v, 1, WEIGHT_MAX, &x) < 0)
			return -EINVAL;
		d->weight = (unsigned)x;
	}
	if ((v = member(o, "balloon"))) {
		path_member(p, path, "balloon");
		if (parse_balloon(c, p, v, &d->balloon) < 0)
			return -EINVAL;
	}
	if ((v = member(o, "agent"))) {
		path_member(p, path, "agent");
		if (get_string(c, p, v, s, sizeof(s)) < 0)
			return -EINVAL;
		if (strcmp(s, "xe") == 0)
			d->agent = SIM_AGENT_XE;
		else if (strcmp(s, "qubes") == 0)
			d->agent = SIM_AGENT_QUBES;
		else
			return bad(c, p, "\"%s\" is not one of xe, qubes", s);
	}
	if ((v = member(o, "agent_stops"))) {
		path_member(p, path, "agent_stops");
		if (get_time(c, p, v, &d->agent_stops_ms) < 0)
			return -EINVAL;
		if (!d->agent_stops_ms)
			return bad(c, p, "must be above 0");
	}
	if ((v = member(o, "driver_ready"))) {
		path_member(p, path, "driver_ready");
		if (get_time(c, p, v, &d->driver_ready_ms) < 0)
			return -EINVAL;
	}
	if ((v = member(o, "demand"))) {
		path_member(p, path, "demand");
		return parse_demand(c, p, v, d);
	}
	return 0;
}

/* ---- events ---- */

static const struct {
	const char *name;
	enum scenario_action action;
	const char *const members[6]; /* besides "at" and "do" */
} event_types[] = {
	{"create", SCN_CREATE, {"domain"}},
	{"destroy", SCN_DESTROY, {"name"}},
	{"reserve", SCN_RESERVE, {"size", "min", "max", "ttl", "for"}},
	{"set-target", SCN_SET_TARGET, {"name", "target"}},
	{"xs-write", SCN_XS_WRITE, {"name", "key", "value"}},
	{"corrupt", SCN_CORRUPT, {"class", "name"}},
	{"restart", SCN_RESTART, {NULL}},
	{"pause", SCN_PAUSE, {NULL}},
	{"resume", SCN_RESUME, {NULL}},
	{"transfer", SCN_TRANSFER, {"id", "name"}},
	{"cancel", SCN_CANCEL, {"id"}},
	{"claim", SCN_CLAIM, {"name", "size"}},
	{"crash", SCN_CRASH, {"point"}},
	{"fail-persist", SCN_FAIL_PERSIST, {"name"}},
	{"pause-domain", SCN_DOMAIN_PAUSE, {"name"}},
	{"unpause-domain", SCN_DOMAIN_UNPAUSE, {"name"}},
};

#define N_EVENT_TYPES (sizeof(event_types) / sizeof(*event_types))

/* A XenStore key relative to /local/domain/N: components of XenStore's
 * characters separated by single slashes. */
static bool xs_key_ok(const char *k)
{
	size_t i;

	if (!k[0] || k[0] == '/')
		return false;
	for (i = 0; k[i]; i++) {
		char ch = k[i];

		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		      (ch >= '0' && ch <= '9') || ch == '/' || ch == '_' || ch == '@' ||
		      ch == '.' || ch == '-'))
			return false;
		if (ch == '/' && (k[i + 1] == '/' || k[i + 1] == '\0'))
			return false;
	}
	return true;
}

static int event_name(const struct ctx *c, const char *path, json_object *o,
		      struct scenario_event *ev)
{
	char p[PATH_LEN];
	json_object *v;

	path_member(p, path, "name");
	if (!(v = member(o, "name")))
		return required(c, p);
	if (get_string(c, p, v, ev->name, sizeof(ev->name)) < 0)
		return -EINVAL;
	if (!name_ok(ev->name))
		return bad(c, p, "\"%s\" is not a domain name", ev->name);
	return 0;
}

static int parse_event(const struct ctx *c, const char *path, json_object *o,
		       struct scenario_event *ev)
{
	static const char *const all[] = {"at",	 "do",	   "domain", "name",  "size",  "min", "max",
					  "ttl", "target", "key",    "value", "class", "id", "for",
					  "point", NULL};
	char p[PATH_LEN], act[24];
	json_object *v;
	size_t t;

	memset(ev, 0, sizeof(*ev));
	if (want_object(c, path, o, all) < 0)
		return -EINVAL;
	path_member(p, path, "do");
	if (!(v = member(o, "do")))
		return required(c, p);
	if (get_string(c, p, v, act, sizeof(act)) < 0)
		return -EINVAL;
	for (t = 0; t < N_EVENT_TYPES; t++)
		if (strcmp(act, event_types[t].name) == 0)
			break;
	if (t == N_EVENT_TYPES)
		return bad(c, p,
			   "\"%s\" is not one of create, destroy, reserve, transfer, cancel, "
			   "set-target, xs-write, corrupt, restart, pause, resume, claim, crash, "
			   "fail-persist, pause-domain, unpause-domain",
			   act);
	ev->action = event_types[t].action;
	/* members this kind of event does not take */
	json_object_object_foreach(o, key, val)
	{
		size_t k;
		bool ok = strcmp(key, "at") == 0 || strcmp(key, "do") == 0;

		(void)val;
		for (k = 0; !ok && k < 6 && event_types[t].members[k]; k++)
			ok = strcmp(key, event_types[t].members[k]) == 0;
		if (!ok) {
			path_member(p, path, key);
			return bad(c, p, "unknown member for a \"%s\" event", act);
		}
	}
	path_member(p, path, "at");
	if (!(v = member(o, "at")))
		return required(c, p);
	if (get_time(c, p, v, &ev->at_ms) < 0)
		return -EINVAL;

	switch (ev->action) {
	case SCN_CREATE:
		path_member(p, path, "domain");
		if (!(v = member(o, "domain")))
			return required(c, p);
		return parse_domain(c, p, v, &ev->domain);
	case SCN_DESTROY: return event_name(c, path, o, ev);
	case SCN_RESERVE:
		if ((v = member(o, "size"))) {
			path_member(p, path, "size");
			if (member(o, "min") || member(o, "max"))
				return bad(c, p, "give either size or min and max, not both");
			if (get_size(c, p, v, &ev->size_kib) < 0)
				return -EINVAL;
			if (!ev->size_kib)
				return bad(c, p, "must be above 0");
			ev->min_kib = ev->max_kib = ev->size_kib;
		} else {
			json_object *lo = member(o, "min"), *hi = member(o, "max");

			if (!lo || !hi) {
				path_member(p, path, lo ? "max" : "min");
				return bad(c, p, "\"%s\" is required (or give \"size\")",
					   lo ? "max" : "min");
			}
			path_member(p, path, "min");
			if (get_size(c, p, lo, &ev->min_kib) < 0)
				return -EINVAL;
			if (!ev->min_kib)
				return bad(c, p, "must be above 0");
			path_member(p, path, "max");
			if (get_size(c, p, hi, &ev->max_kib) < 0)
				return -EINVAL;
			if (ev->max_kib < ev->min_kib)
				return bad(c, p, "is below min");
		}
		ev->ttl_ms = DEFAULT_TTL_MS;
		if ((v = member(o, "ttl"))) {
			path_member(p, path, "ttl");
			if (get_time(c, p, v, &ev->ttl_ms) < 0)
				return -EINVAL;
			if (!ev->ttl_ms)
				return bad(c, p, "must be above 0");
		}
		if ((v = member(o, "for"))) {
			path_member(p, path, "for");
			if (get_string(c, p, v, ev->name, sizeof(ev->name)) < 0)
				return -EINVAL;
			if (!name_ok(ev->name))
				return bad(c, p, "\"%s\" is not a domain name", ev->name);
		}
		return 0;
	case SCN_CLAIM:
		if (event_name(c, path, o, ev) < 0)
			return -EINVAL;
		path_member(p, path, "size");
		if (!(v = member(o, "size")))
			return required(c, p);
		if (get_size(c, p, v, &ev->size_kib) < 0)
			return -EINVAL;
		if (!ev->size_kib)
			return bad(c, p, "must be above 0");
		return 0;
	case SCN_SET_TARGET:
		if (event_name(c, path, o, ev) < 0)
			return -EINVAL;
		path_member(p, path, "target");
		if (!(v = member(o, "target")))
			return required(c, p);
		return get_size(c, p, v, &ev->target_kib);
	case SCN_XS_WRITE:
		if (event_name(c, path, o, ev) < 0)
			return -EINVAL;
		path_member(p, path, "key");
		if (!(v = member(o, "key")))
			return required(c, p);
		if (get_string(c, p, v, ev->key, sizeof(ev->key)) < 0)
			return -EINVAL;
		if (!xs_key_ok(ev->key))
			return bad(c, p, "\"%s\" is not a key relative to /local/domain/N",
				   ev->key);
		path_member(p, path, "value");
		if (!(v = member(o, "value")))
			return required(c, p);
		return get_string(c, p, v, ev->value, sizeof(ev->value));
	case SCN_CORRUPT:
		if (event_name(c, path, o, ev) < 0)
			return -EINVAL;
		path_member(p, path, "class");
		if (!(v = member(o, "class")))
			return required(c, p);
		if (get_string(c, p, v, ev->fault_class, sizeof(ev->fault_class)) < 0)
			return -EINVAL;
		if (!sim_fault_class_valid(ev->fault_class))
			return bad(
				c, p,
				"\"%s\" is not one of M2P_MISMATCH, M2P_INVALID_FOR_MAPPED, "
				"M2P_SHARED_IN_PV, M2P_OUT_OF_RANGE, P2M_ALIAS, MFN_CROSS_CLAIM, "
				"P2M_UNOWNED_MFN, P2M_MFN_OUT_OF_RANGE, P2M_IDENTITY_MISMATCH, "
				"P2M_STRUCTURE_ERROR, PAGE_COUNT_DELTA",
				ev->fault_class);
		return 0;
	case SCN_TRANSFER:
	case SCN_CANCEL: {
		int64_t id;

		if (ev->action == SCN_TRANSFER && event_name(c, path, o, ev) < 0)
			return -EINVAL;
		path_member(p, path, "id");
		if (!(v = member(o, "id")))
			return required(c, p);
		if (get_int(c, p, v, 1, 64, &id) < 0)
			return -EINVAL;
		ev->resv = (unsigned)id;
		return 0;
	}
	case SCN_CRASH:
		path_member(p, path, "point");
		if (!(v = member(o, "point")))
			return required(c, p);
		if (get_string(c, p, v, act, sizeof(act)) < 0)
			return -EINVAL;
		if (strcmp(act, "before-target") != 0 && strcmp(act, "after-target") != 0)
			return bad(c, p, "\"%s\" is not before-target or after-target", act);
		ev->crash_after_target = strcmp(act, "after-target") == 0;
		return 0;
	case SCN_FAIL_PERSIST:
	case SCN_DOMAIN_PAUSE:
	case SCN_DOMAIN_UNPAUSE: return event_name(c, path, o, ev);
	case SCN_RESTART:
	case SCN_PAUSE:
	case SCN_RESUME: return 0;
	}
	return 0;
}

/* ---- config ---- */

/* A JSON scalar in the form balloond.conf would have it. */
static int config_value(const struct ctx *c, const char *path, json_object *v, char *dst,
			size_t size)
{
	switch (json_object_get_type(v)) {
	case json_type_string: return get_string(c, path, v, dst, size);
	case json_type_boolean:
		snprintf(dst, size, "%s", json_object_get_boolean(v) ? "true" : "false");
		return 0;
	case json_type_int: snprintf(dst, size, "%" PRId64, json_object_get_int64(v)); return 0;
	case json_type_double:
		if (!isfinite(json_object_get_double(v)))
			return bad(c, path, "must be a finite number");
		snprintf(dst, size, "%.15g", json_object_get_double(v));
		return 0;
	default:
		return bad(c, path, "must be a string, a number or a boolean, not %s",
			   type_name(v));
	}
}

static int config_add(struct scenario *s, const char *section, const char *key, const char *value)
{
	struct scenario_config_item *it =
		realloc(s->config, (s->n_config + 1) * sizeof(*s->config));

	if (!it)
		return -ENOMEM;
	s->config = it;
	it = &s->config[s->n_config++];
	memset(it, 0, sizeof(*it));
	snprintf(it->section, sizeof(it->section), "%s", section);
	snprintf(it->key, sizeof(it->key), "%s", key);
	snprintf(it->value, sizeof(it->value), "%s", value);
	return 0;
}

/* "config": {"pool": "64M", ..., "defaults": {...}, "domain NAME": {...}}.
 * Each value is tried on a scratch struct conf so that a bad key or value
 * is reported with its JSON path at parse time. */
static int parse_config(const struct ctx *c, json_object *o, struct scenario *s)
{
	struct scenario_config_item probe;
	struct conf scratch;
	char p[PATH_LEN], q[PATH_LEN], msg[256];
	int r = 0;

	if (!json_object_is_type(o, json_type_object))
		return bad(c, "config", "must be an object, not %s", type_name(o));
	conf_init(&scratch);
	json_object_object_foreach(o, key, val)
	{
		path_member(p, "config", key);
		if (strlen(key) >= sizeof(probe.key) || strlen(key) >= sizeof(probe.section)) {
			r = bad(c, p, "name too long");
			break;
		}
		if (json_object_is_type(val, json_type_object)) {
			json_object_object_foreach(val, k2, v2)
			{
				path_member(q, p, k2);
				if (strlen(k2) >= sizeof(probe.key)) {
					r = bad(c, q, "name too long");
					break;
				}
				r = config_value(c, q, v2, probe.value, sizeof(probe.value));
				if (r < 0)
					break;
				if (conf_set(&scratch, key, k2, probe.value, msg, sizeof(msg)) <
				    0) {
					r = bad(c, q, "%s", msg);
					break;
				}
				r = config_add(s, key, k2, probe.value);
				if (r < 0)
					break;
			}
			if (r < 0)
				break;
			continue;
		}
		r = config_value(c, p, val, probe.value, sizeof(probe.value));
		if (r < 0)
			break;
		if (conf_set(&scratch, "balloond", key, probe.value, msg, sizeof(msg)) < 0) {
			r = bad(c, p, "%s", msg);
			break;
		}
		r = config_add(s, "balloond", key, probe.value);
		if (r < 0)
			break;
	}
	conf_free(&scratch);
	return r;
}

/* ---- expect ---- */

/* expect.reservations_end: the state each reserve event ends in, in order
 * ("refused" when it was refused at once). */
static int parse_reservations_end(const struct ctx *c, json_object *v, struct scenario_expect *e)
{
	static const char *const states[] = {"refused",	 "pending",   "granted", "transferred",
					      "failed",	 "expired",   "cancelled", "done", NULL};
	char p[PATH_LEN];
	size_t i, k;

	if (!json_object_is_type(v, json_type_array))
		return bad(c, "expect.reservations_end", "must be an array, not %s", type_name(v));
	if (json_object_array_length(v) > SCENARIO_RESV_MAX)
		return bad(c, "expect.reservations_end", "more than %d states", SCENARIO_RESV_MAX);
	for (i = 0; i < json_object_array_length(v); i++) {
		char *st = e->reservations_end[i];

		snprintf(p, sizeof(p), "expect.reservations_end[%zu]", i);
		if (get_string(c, p, json_object_array_get_idx(v, i), st, 16) < 0)
			return -EINVAL;
		for (k = 0; states[k] && strcmp(states[k], st) != 0; k++)
			;
		if (!states[k])
			return bad(c, p, "\"%s\" is not a reservation state", st);
	}
	e->n_reservations_end = i;
	e->has_reservations_end = true;
	return 0;
}

/* expect.final_target or final_actual: {"NAME": {"min": SIZE, "max": SIZE}}. */
static int parse_final_bounds(const struct ctx *c, const char *path, json_object *v,
			      struct scenario_final_target **ret, size_t *ret_n)
{
	static const char *const bound_keys[] = {"min", "max", NULL};
	char p[PATH_LEN];
	size_t n;

	if (!json_object_is_type(v, json_type_object))
		return bad(c, path, "must be an object, not %s", type_name(v));
	n = (size_t)json_object_object_length(v);
	*ret = calloc(n ? n : 1, sizeof(**ret));
	if (!*ret)
		return -ENOMEM;
	json_object_object_foreach(v, key, val)
	{
		struct scenario_final_target *f = &(*ret)[*ret_n];
		json_object *b;
		char q[PATH_LEN];

		path_member(p, path, key);
		if (!name_ok(key) || strlen(key) >= sizeof(f->name))
			return bad(c, p, "is not a domain name");
		if (want_object(c, p, val, bound_keys) < 0)
			return -EINVAL;
		snprintf(f->name, sizeof(f->name), "%s", key);
		if ((b = member(val, "min"))) {
			path_member(q, p, "min");
			if (get_size(c, q, b, &f->min_kib) < 0)
				return -EINVAL;
		}
		if ((b = member(val, "max"))) {
			path_member(q, p, "max");
			if (get_size(c, q, b, &f->max_kib) < 0)
				return -EINVAL;
			if (f->max_kib < f->min_kib)
				return bad(c, q, "is below min");
		}
		(*ret_n)++;
	}
	return 0;
}

static int parse_expect(const struct ctx *c, json_object *o, struct scenario_expect *e)
{
	static const char *const keys[] = {"invariants",	      "converged_by",
					   "reservations_ok",	      "audit_findings",
					   "target_writes_at_most", "final_target",
					   "reservations_end",	      "final_actual",
					   "granted_within",	      NULL};
	json_object *v;
	char p[PATH_LEN];
	size_t n;

	if (want_object(c, "expect", o, keys) < 0)
		return -EINVAL;
	if ((v = member(o, "invariants"))) {
		if (get_bool(c, "expect.invariants", v, &e->invariants) < 0)
			return -EINVAL;
		e->has_invariants = true;
	}
	if ((v = member(o, "converged_by"))) {
		if (get_time(c, "expect.converged_by", v, &e->converged_by_ms) < 0)
			return -EINVAL;
		e->has_converged_by = true;
	}
	if ((v = member(o, "reservations_ok"))) {
		if (get_bool(c, "expect.reservations_ok", v, &e->reservations_ok) < 0)
			return -EINVAL;
		e->has_reservations_ok = true;
	}
	if ((v = member(o, "reservations_end")) && parse_reservations_end(c, v, e) < 0)
		return -EINVAL;
	if ((v = member(o, "audit_findings"))) {
		if (!json_object_is_type(v, json_type_object))
			return bad(c, "expect.audit_findings", "must be an object, not %s",
				   type_name(v));
		n = (size_t)json_object_object_length(v);
		e->audit_findings = calloc(n ? n : 1, sizeof(*e->audit_findings));
		if (!e->audit_findings)
			return -ENOMEM;
		e->has_audit_findings = true;
		json_object_object_foreach(v, key, val)
		{
			struct scenario_finding_count *f = &e->audit_findings[e->n_audit_findings];
			enum audit_class ac;
			int64_t x;

			path_member(p, "expect.audit_findings", key);
			if (audit_class_parse(key, &ac) < 0)
				return bad(c, p, "unknown finding class");
			if (get_int(c, p, val, 0, INT64_MAX, &x) < 0)
				return -EINVAL;
			snprintf(f->fault_class, sizeof(f->fault_class), "%s", key);
			f->count = (uint64_t)x;
			e->n_audit_findings++;
		}
	}
	if ((v = member(o, "granted_within"))) {
		if (get_time(c, "expect.granted_within", v, &e->granted_within_ms) < 0)
			return -EINVAL;
		e->has_granted_within = true;
	}
	if ((v = member(o, "target_writes_at_most"))) {
		int64_t x;

		if (get_int(c, "expect.target_writes_at_most", v, 0, INT64_MAX, &x) < 0)
			return -EINVAL;
		e->has_target_writes_max = true;
		e->target_writes_max = (uint64_t)x;
	}
	if ((v = member(o, "final_target")) &&
	    parse_final_bounds(c, "expect.final_target", v, &e->final_targets,
			       &e->n_final_targets) < 0)
		return -EINVAL;
	if ((v = member(o, "final_actual")) &&
	    parse_final_bounds(c, "expect.final_actual", v, &e->final_actuals,
			       &e->n_final_actuals) < 0)
		return -EINVAL;
	return 0;
}

/* ---- the whole file ---- */

/* Event names must refer to a domain that exists at that moment: the
 * initial ones and Domain-0, plus created, minus destroyed, in time order.
 * orig[i] is the index in the file of sorted event i, for messages. */
static int check_timeline(const struct ctx *c, const struct scenario *s, const size_t *orig)
{
	size_t cap = s->n_domains + s->n_events + 1, n = 0, i, j;
	const char **alive = calloc(cap, sizeof(*alive));
	char p[PATH_LEN];
	int r = 0;

	if (!alive)
		return -ENOMEM;
	alive[n++] = "Domain-0";
	for (i = 0; i < s->n_domains; i++)
		alive[n++] = s->domains[i].name;
	for (i = 0; i < s->n_events && !r; i++) {
		const struct scenario_event *ev = &s->events[i];
		const char *name = ev->action == SCN_CREATE ? ev->domain.name : ev->name;
		size_t found = n;

		if (!name[0] || ev->action == SCN_RESERVE) /* "for" names one still to come */
			continue;
		for (j = 0; j < n; j++)
			if (strcmp(alive[j], name) == 0)
				found = j;
		snprintf(p, sizeof(p), "events[%zu].%s", orig[i],
			 ev->action == SCN_CREATE ? "domain.name" : "name");
		if (ev->action == SCN_CREATE) {
			if (found < n)
				r = bad(c, p, "\"%s\" already exists at %.3f s", name,
					(double)ev->at_ms / 1000);
			else
				alive[n++] = name;
		} else if (ev->action == SCN_CLAIM) {
			/* a claim is for a domain still to be created */
			if (found < n)
				r = bad(c, p, "\"%s\" already exists at %.3f s", name,
					(double)ev->at_ms / 1000);
		} else if (found == n) {
			r = bad(c, p, "no domain \"%s\" exists at %.3f s", name,
				(double)ev->at_ms / 1000);
		} else if (ev->action == SCN_DESTROY) {
			if (found == 0)
				r = bad(c, p, "Domain-0 cannot be destroyed");
			else
				alive[found] = alive[--n];
		}
	}
	free(alive);
	return r;
}

/* Stable sort of the events by time; orig records where each came from. */
static int events_sort(struct scenario *s, size_t **ret_orig)
{
	size_t n = s->n_events, i, j;
	size_t *orig = malloc((n ? n : 1) * sizeof(*orig));

	if (!orig)
		return -ENOMEM;
	for (i = 0; i < n; i++)
		orig[i] = i;
	for (i = 1; i < n; i++) { /* insertion sort: stable, and event lists are short */
		struct scenario_event tmp = s->events[i];
		size_t o = orig[i];

		for (j = i; j > 0 && s->events[j - 1].at_ms > tmp.at_ms; j--) {
			s->events[j] = s->events[j - 1];
			orig[j] = orig[j - 1];
		}
		s->events[j] = tmp;
		orig[j] = o;
	}
	*ret_orig = orig;
	return 0;
}

static int parse_host(const struct ctx *c, json_object *o, struct scenario *s)
{
	static const char *const keys[] = {"memory", "xen_reserved", "dom0", "cmdline", NULL};
	json_object *v;

	if (want_object(c, "host", o, keys) < 0)
		return -EINVAL;
	if (!(v = member(o, "memory")))
		return required(c, "host.memory");
	if (get_size(c, "host.memory", v, &s->host_memory_kib) < 0)
		return -EINVAL;
	if ((v = member(o, "xen_reserved")) &&
	    get_size(c, "host.xen_reserved", v, &s->xen_reserved_kib) < 0)
		return -EINVAL;
	if ((v = member(o, "dom0")) && get_size(c, "host.dom0", v, &s->dom0_kib) < 0)
		return -EINVAL;
	if ((v = member(o, "cmdline")) &&
	    get_string(c, "host.cmdline", v, s->cmdline, sizeof(s->cmdline)) < 0)
		return -EINVAL;
	if (s->host_memory_kib < 16 * 1024 || s->host_memory_kib > (16ull << 30))
		return bad(c, "host.memory", "must be 16M to 16T");
	if (s->dom0_kib < 16 * 1024)
		return bad(c, "host.dom0", "must be at least 16M");
	if (s->xen_reserved_kib + s->dom0_kib >= s->host_memory_kib)
		return bad(c, "host", "xen_reserved + dom0 leave nothing for guests");
	return 0;
}

static int parse_root(const struct ctx *c, json_object *root, struct scenario *s)
{
	static const char *const keys[] = {"description", "host",  "config", "domains",
					   "events",	  "until", "expect", NULL};
	json_object *v;
	size_t i, j, n, *orig = NULL;
	uint64_t sum;
	char p[PATH_LEN], q[PATH_LEN];
	int r;

	if (want_object(c, "", root, keys) < 0)
		return -EINVAL;
	s->xen_reserved_kib = DEFAULT_XEN_RESERVED_KIB;
	s->dom0_kib = DEFAULT_DOM0_KIB;
	s->until_ms = DEFAULT_UNTIL_MS;
	if ((v = member(root, "description")) && !json_object_is_type(v, json_type_string))
		return bad(c, "description", "must be a string, not %s", type_name(v));
	if (!(v = member(root, "host")))
		return required(c, "host");
	if (parse_host(c, v, s) < 0)
		return -EINVAL;
	if ((v = member(root, "config")) && (r = parse_config(c, v, s)) < 0)
		return r;
	if ((v = member(root, "domains"))) {
		if (!json_object_is_type(v, json_type_array))
			return bad(c, "domains", "must be an array, not %s", type_name(v));
		n = json_object_array_length(v);
		s->domains = calloc(n ? n : 1, sizeof(*s->domains));
		if (!s->domains)
			return -ENOMEM;
		sum = s->xen_reserved_kib + s->dom0_kib;
		for (i = 0; i < n; i++) {
			path_index(p, "domains", i);
			s->n_domains = i + 1;
			r = parse_domain(c, p, json_object_array_get_idx(v, i), &s->domains[i]);
			if (r < 0)
				return r;
			for (j = 0; j < i; j++)
				if (strcmp(s->domains[j].name, s->domains[i].name) == 0) {
					path_member(q, p, "name");
					return bad(c, q,
						   "duplicate name \"%s\" (already domains[%zu])",
						   s->domains[i].name, j);
				}
			sum += s->domains[i].memory_kib;
			if (sum > s->host_memory_kib) {
				path_member(q, p, "memory");
				return bad(c, q, "the host's memory is used up by this domain");
			}
		}
	}
	if ((v = member(root, "until"))) {
		if (get_time(c, "until", v, &s->until_ms) < 0)
			return -EINVAL;
		if (!s->until_ms)
			return bad(c, "until", "must be above 0");
	}
	if ((v = member(root, "events"))) {
		if (!json_object_is_type(v, json_type_array))
			return bad(c, "events", "must be an array, not %s", type_name(v));
		n = json_object_array_length(v);
		s->events = calloc(n ? n : 1, sizeof(*s->events));
		if (!s->events)
			return -ENOMEM;
		for (i = 0; i < n; i++) {
			path_index(p, "events", i);
			s->n_events = i + 1;
			r = parse_event(c, p, json_object_array_get_idx(v, i), &s->events[i]);
			if (r < 0)
				return r;
			if (s->events[i].at_ms > s->until_ms) {
				path_member(q, p, "at");
				return bad(c, q, "is after until (%.3f s): it would never happen",
					   (double)s->until_ms / 1000);
			}
		}
		r = events_sort(s, &orig);
		if (r < 0)
			return r;
		r = check_timeline(c, s, orig);
		free(orig);
		if (r < 0)
			return r;
	}
	if ((v = member(root, "expect"))) {
		r = parse_expect(c, v, &s->expect);
		if (r < 0)
			return r;
		if (s->expect.has_converged_by && s->expect.converged_by_ms > s->until_ms)
			return bad(c, "expect.converged_by", "is after until");
	}
	return 0;
}

/* "name:line:col" for a JSON syntax error at byte offset off. */
static void syntax_where(const char *text, size_t off, unsigned *ret_line, unsigned *ret_col)
{
	unsigned line = 1, col = 1;
	size_t i;

	for (i = 0; i < off && text[i]; i++) {
		if (text[i] == '\n') {
			line++;
			col = 1;
		} else {
			col++;
		}
	}
	*ret_line = line;
	*ret_col = col;
}

int scenario_parse_string(const char *text, const char *name, struct scenario *ret, char *err,
			  size_t errlen)
{
	struct ctx c = {name ? name : "scenario", err, errlen};
	struct json_tokener *tok;
	struct scenario s;
	json_object *root;
	size_t len, end;
	unsigned line, col;
	int r;

	if (!text || !ret)
		return -EINVAL;
	memset(&s, 0, sizeof(s));
	len = strlen(text);
	if (len > SCENARIO_FILE_MAX || len > INT32_MAX) {
		bad(&c, "(file)", "larger than 16 MiB");
		return -EFBIG;
	}
	tok = json_tokener_new_ex(64);
	if (!tok)
		return -ENOMEM;
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
	root = json_tokener_parse_ex(tok, text, (int)len);
	end = json_tokener_get_parse_end(tok);
	if (!root || json_tokener_get_error(tok) != json_tokener_success) {
		enum json_tokener_error e = json_tokener_get_error(tok);

		syntax_where(text, end, &line, &col);
		if (err && errlen)
			snprintf(err, errlen, "%s:%u:%u: not valid JSON: %s", c.file, line, col,
				 e == json_tokener_continue ? "unexpected end of input"
							    : json_tokener_error_desc(e));
		json_object_put(root);
		json_tokener_free(tok);
		return -EINVAL;
	}
	json_tokener_free(tok);
	while (end < len &&
	       (text[end] == ' ' || text[end] == '\t' || text[end] == '\n' || text[end] == '\r'))
		end++;
	if (end < len) {
		syntax_where(text, end, &line, &col);
		if (err && errlen)
			snprintf(err, errlen,
				 "%s:%u:%u: not valid JSON: text after the top-level "
				 "object",
				 c.file, line, col);
		json_object_put(root);
		return -EINVAL;
	}
	r = parse_root(&c, root, &s);
	json_object_put(root);
	if (r < 0) {
		if (r == -ENOMEM && err && errlen)
			snprintf(err, errlen, "%s: out of memory", c.file);
		scenario_free(&s);
		return r;
	}
	*ret = s;
	return 0;
}

int scenario_parse_file(const char *path, struct scenario *ret, char *err, size_t errlen)
{
	FILE *f;
	char *buf;
	size_t n;
	int r;

	if (!path || !ret)
		return -EINVAL;
	f = fopen(path, "re");
	if (!f) {
		r = -errno;
		if (err && errlen)
			snprintf(err, errlen, "%s: %s", path, strerror(-r));
		return r;
	}
	buf = malloc(SCENARIO_FILE_MAX + 2);
	if (!buf) {
		fclose(f);
		return -ENOMEM;
	}
	n = fread(buf, 1, SCENARIO_FILE_MAX + 1, f);
	if (ferror(f)) {
		r = -EIO;
		if (err && errlen)
			snprintf(err, errlen, "%s: read error", path);
	} else if (n > SCENARIO_FILE_MAX) {
		r = -EFBIG;
		if (err && errlen)
			snprintf(err, errlen, "%s: larger than 16 MiB", path);
	} else if (memchr(buf, '\0', n)) {
		r = -EINVAL;
		if (err && errlen)
			snprintf(err, errlen, "%s: contains a NUL byte", path);
	} else {
		buf[n] = '\0';
		r = scenario_parse_string(buf, path, ret, err, errlen);
	}
	fclose(f);
	free(buf);
	return r;
}

void scenario_free(struct scenario *s)
{
	size_t i;

	if (!s)
		return;
	for (i = 0; i < s->n_domains; i++)
		free(s->domains[i].demand);
	for (i = 0; i < s->n_events; i++)
		free(s->events[i].domain.demand);
	free(s->domains);
	free(s->events);
	free(s->config);
	free(s->expect.audit_findings);
	free(s->expect.final_targets);
	free(s->expect.final_actuals);
	memset(s, 0, sizeof(*s));
}

int scenario_apply_config(const struct scenario *s, struct conf *c, char *err, size_t errlen)
{
	char msg[256], section[CONF_NAME_MAX + 8], w[16];
	size_t i;

	for (i = 0; i < s->n_config; i++) {
		const struct scenario_config_item *it = &s->config[i];

		if (conf_set(c, it->section, it->key, it->value, msg, sizeof(msg)) < 0) {
			if (err && errlen) {
				if (strcmp(it->section, "balloond") == 0)
					snprintf(err, errlen, "scenario config.%s: %s", it->key,
						 msg);
				else
					snprintf(err, errlen, "scenario config.%s.%s: %s",
						 it->section, it->key, msg);
			}
			return -EINVAL;
		}
	}
	for (i = 0; i < s->n_domains + s->n_events; i++) {
		const struct sim_domain_spec *d;

		if (i < s->n_domains)
			d = &s->domains[i];
		else if (s->events[i - s->n_domains].action == SCN_CREATE)
			d = &s->events[i - s->n_domains].domain;
		else
			continue;
		if (!d->weight)
			continue;
		snprintf(section, sizeof(section), "domain %s", d->name);
		snprintf(w, sizeof(w), "%u", d->weight);
		if (conf_set(c, section, "weight", w, msg, sizeof(msg)) < 0) {
			if (err && errlen)
				snprintf(err, errlen, "scenario weight of %s: %s", d->name, msg);
			return -EINVAL;
		}
	}
	return 0;
}

struct simhost *scenario_build_host(const struct scenario *s, uint64_t now_ms, char *err,
				    size_t errlen)
{
	struct simhost *h;
	size_t i;

	h = simhost_new(s->host_memory_kib, s->xen_reserved_kib, s->dom0_kib, now_ms);
	if (!h) {
		if (err && errlen)
			snprintf(err, errlen,
				 "cannot build a host of %" PRIu64 " KiB with %" PRIu64
				 " KiB for Xen and %" PRIu64 " KiB for dom0",
				 s->host_memory_kib, s->xen_reserved_kib, s->dom0_kib);
		return NULL;
	}
	for (i = 0; i < s->n_domains; i++) {
		uint32_t domid;
		int r = simhost_create(h, &s->domains[i], now_ms, &domid);

		if (r < 0) {
			if (err && errlen)
				snprintf(err, errlen, "creating domains[%zu] (%s): %s", i,
					 s->domains[i].name,
					 r == -ENOMEM ? "not enough free memory on the host"
						      : strerror(-r));
			simhost_free(h);
			return NULL;
		}
	}
	return h;
}
