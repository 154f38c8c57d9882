/* Scenario files: strict JSON (json-c) into struct scenario. Every error
 * names the file and the JSON path of the member at fault. */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "scenario.h"
#include "units.h"

struct ctx {
	const char *file;
	char *err;
	size_t errlen;
};

static int bad(struct ctx *c, const char *path, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int bad(struct ctx *c, const char *path, const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	snprintf(c->err, c->errlen, "%s: %s: %s", c->file, path, msg);
	return -EINVAL;
}

/* Refuse members of obj not in the NULL-terminated list allowed. */
static int only(struct ctx *c, const char *path, json_object *obj, const char *const *allowed)
{
	json_object_object_foreach(obj, key, val)
	{
		const char *const *a;

		(void)val;
		for (a = allowed; *a; a++)
			if (strcmp(*a, key) == 0)
				break;
		if (!*a) {
			char p[256];

			snprintf(p, sizeof(p), "%.200s.%s", path, key);
			return bad(c, p, "unknown member");
		}
	}
	return 0;
}

static int want_object(struct ctx *c, const char *path, json_object *v)
{
	return json_object_is_type(v, json_type_object) ? 0 : bad(c, path, "must be an object");
}

static int get_size(struct ctx *c, const char *path, json_object *v, uint64_t *ret)
{
	if (!json_object_is_type(v, json_type_string))
		return bad(c, path, "must be a size string such as \"2G\"");
	if (size_parse(json_object_get_string(v), ret) < 0)
		return bad(c, path, "\"%s\" is not a size (use K, M, G or T)",
			   json_object_get_string(v));
	return 0;
}

/* Seconds (a JSON number, may be fractional) into ms. */
static int get_time(struct ctx *c, const char *path, json_object *v, uint64_t *ret)
{
	double d;

	if (!json_object_is_type(v, json_type_int) && !json_object_is_type(v, json_type_double))
		return bad(c, path, "must be a number of seconds");
	d = json_object_get_double(v);
	if (!(d >= 0) || d > 30.0 * 86400)
		return bad(c, path, "must be 0..2592000 seconds");
	*ret = (uint64_t)llround(d * 1000.0);
	return 0;
}

static int get_string(struct ctx *c, const char *path, json_object *v, char *dst, size_t size)
{
	if (!json_object_is_type(v, json_type_string))
		return bad(c, path, "must be a string");
	if ((size_t)json_object_get_string_len(v) >= size)
		return bad(c, path, "longer than %zu characters", size - 1);
	snprintf(dst, size, "%s", json_object_get_string(v));
	return 0;
}

static bool name_ok(const char *s)
{
	size_t i;

	if (!s[0])
		return false;
	for (i = 0; s[i]; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
		      (s[i] >= '0' && s[i] <= '9') || s[i] == '_' || s[i] == '.' || s[i] == '-'))
			return false;
	return true;
}

/* A rate "256M/s". */
static int get_rate(struct ctx *c, const char *path, json_object *v, uint64_t *ret)
{
	char buf[32];
	size_t n;

	if (get_string(c, path, v, buf, sizeof(buf)) < 0)
		return -EINVAL;
	n = strlen(buf);
	if (n < 3 || strcmp(buf + n - 2, "/s") != 0)
		return bad(c, path, "\"%s\" is not a rate such as \"256M/s\"", buf);
	buf[n - 2] = '\0';
	if (size_parse(buf, ret) < 0 || *ret == 0)
		return bad(c, path, "\"%s/s\" is not a rate such as \"256M/s\"", buf);
	return 0;
}

static int parse_balloon(struct ctx *c, const char *path, json_object *o, struct sim_balloon *b)
{
	static const char *const keys[] = {"rate", "behavior", "after", "floor", "period",
					   "offset", NULL};
	json_object *v;
	char p[256];

	if (want_object(c, path, o) < 0 || only(c, path, o, keys) < 0)
		return -EINVAL;
	if (json_object_object_get_ex(o, "behavior", &v)) {
		char s[32];

		snprintf(p, sizeof(p), "%.200s.behavior", path);
		if (get_string(c, p, v, s, sizeof(s)) < 0)
			return -EINVAL;
		if (sim_behavior_parse(s, &b->behavior) < 0)
			return bad(c, p, "\"%s\" is not one of normal, slow, stuck, stuck_after, "
				   "floor, intermittent, greedy, none, liar", s);
	}
	snprintf(p, sizeof(p), "%.200s.rate", path);
	if (json_object_object_get_ex(o, "rate", &v) && get_rate(c, p, v, &b->rate_kib_s) < 0)
		return -EINVAL;
	snprintf(p, sizeof(p), "%.200s.after", path);
	if (json_object_object_get_ex(o, "after", &v) && get_size(c, p, v, &b->after_kib) < 0)
		return -EINVAL;
	snprintf(p, sizeof(p), "%.200s.floor", path);
	if (json_object_object_get_ex(o, "floor", &v) && get_size(c, p, v, &b->floor_kib) < 0)
		return -EINVAL;
	snprintf(p, sizeof(p), "%.200s.period", path);
	if (json_object_object_get_ex(o, "period", &v) && get_time(c, p, v, &b->period_ms) < 0)
		return -EINVAL;
	if (json_object_object_get_ex(o, "offset", &v)) {
		uint64_t k;

		snprintf(p, sizeof(p), "%.200s.offset", path);
		if (get_size(c, p, v, &k) < 0)
			return -EINVAL;
		b->offset_kib = (int64_t)k;
	}
	if (b->behavior == SIM_BALLOON_STUCK_AFTER && !json_object_object_get_ex(o, "after", &v))
		return bad(c, path, "behavior stuck_after needs \"after\"");
	if (b->behavior == SIM_BALLOON_FLOOR && !json_object_object_get_ex(o, "floor", &v))
		return bad(c, path, "behavior floor needs \"floor\"");
	if (b->behavior == SIM_BALLOON_INTERMITTENT && !b->period_ms)
		return bad(c, path, "behavior intermittent needs a \"period\" above 0");
	return 0;
}

static int parse_domain(struct ctx *c, const char *path, json_object *o,
			struct sim_domain_spec *d)
{
	static const char *const keys[] = {"name", "type", "width", "memory", "static_max",
					   "dynamic_min", "dynamic_max", "maxmem", "weight",
					   "balloon", "demand", NULL};
	static const struct {
		const char *key;
		size_t off;
	} sizes[] = {
		{"memory", offsetof(struct sim_domain_spec, memory_kib)},
		{"static_max", offsetof(struct sim_domain_spec, static_max_kib)},
		{"dynamic_min", offsetof(struct sim_domain_spec, dynamic_min_kib)},
		{"dynamic_max", offsetof(struct sim_domain_spec, dynamic_max_kib)},
		{"maxmem", offsetof(struct sim_domain_spec, maxmem_kib)},
	};
	json_object *v;
	char p[256];
	size_t i;

	memset(d, 0, sizeof(*d));
	d->width = 64;
	if (want_object(c, path, o) < 0 || only(c, path, o, keys) < 0)
		return -EINVAL;
	snprintf(p, sizeof(p), "%.200s.name", path);
	if (!json_object_object_get_ex(o, "name", &v))
		return bad(c, path, "\"name\" is required");
	if (get_string(c, p, v, d->name, sizeof(d->name)) < 0)
		return -EINVAL;
	if (!name_ok(d->name) || strcmp(d->name, "Domain-0") == 0)
		return bad(c, p, "\"%s\" is not a valid guest name", d->name);
	if (json_object_object_get_ex(o, "type", &v)) {
		char s[8];

		snprintf(p, sizeof(p), "%.200s.type", path);
		if (get_string(c, p, v, s, sizeof(s)) < 0)
			return -EINVAL;
		if (sim_dom_type_parse(s, &d->type) < 0)
			return bad(c, p, "\"%s\" is not pv, pvh or hvm", s);
	}
	if (json_object_object_get_ex(o, "width", &v)) {
		snprintf(p, sizeof(p), "%.200s.width", path);
		if (!json_object_is_type(v, json_type_int) ||
		    (json_object_get_int(v) != 32 && json_object_get_int(v) != 64))
			return bad(c, p, "must be 32 or 64");
		d->width = (unsigned)json_object_get_int(v);
	}
	for (i = 0; i < sizeof(sizes) / sizeof(*sizes); i++) {
		if (!json_object_object_get_ex(o, sizes[i].key, &v))
			continue;
		snprintf(p, sizeof(p), "%.200s.%s", path, sizes[i].key);
		if (get_size(c, p, v, (uint64_t *)((char *)d + sizes[i].off)) < 0)
			return -EINVAL;
	}
	if (!d->memory_kib)
		return bad(c, path, "\"memory\" is required and above 0");
	if (!d->static_max_kib)
		d->static_max_kib = d->memory_kib;
	if (d->memory_kib > d->static_max_kib)
		return bad(c, path, "memory is above static_max");
	if (d->dynamic_min_kib && d->dynamic_max_kib && d->dynamic_min_kib > d->dynamic_max_kib)
		return bad(c, path, "dynamic_min is above dynamic_max");
	if (d->dynamic_max_kib > d->static_max_kib || d->dynamic_min_kib > d->static_max_kib)
		return bad(c, path, "dynamic_min/dynamic_max above static_max");
	if (json_object_object_get_ex(o, "weight", &v)) {
		snprintf(p, sizeof(p), "%.200s.weight", path);
		if (!json_object_is_type(v, json_type_int) || json_object_get_int64(v) < 1 ||
		    json_object_get_int64(v) > 10000)
			return bad(c, p, "must be an integer 1..10000");
		d->weight = (unsigned)json_object_get_int(v);
	}
	if (json_object_object_get_ex(o, "balloon", &v)) {
		snprintf(p, sizeof(p), "%.200s.balloon", path);
		if (parse_balloon(c, p, v, &d->balloon) < 0)
			return -EINVAL;
	}
	if (json_object_object_get_ex(o, "demand", &v)) {
		size_t n;

		snprintf(p, sizeof(p), "%.200s.demand", path);
		if (!json_object_is_type(v, json_type_array))
			return bad(c, p, "must be an array");
		n = json_object_array_length(v);
		d->demand = calloc(n ? n : 1, sizeof(*d->demand));
		if (!d->demand)
			return -ENOMEM;
		for (i = 0; i < n; i++) {
			static const char *const dk[] = {"at", "used", NULL};
			json_object *e = json_object_array_get_idx(v, i), *x;
			char q[300];

			snprintf(q, sizeof(q), "%.200s.demand[%zu]", path, i);
			if (want_object(c, q, e) < 0 || only(c, q, e, dk) < 0)
				return -EINVAL;
			if (!json_object_object_get_ex(e, "at", &x) ||
			    get_time(c, q, x, &d->demand[i].at_ms) < 0)
				return bad(c, q, "needs \"at\" (seconds)");
			if (!json_object_object_get_ex(e, "used", &x) ||
			    get_size(c, q, x, &d->demand[i].used_kib) < 0)
				return bad(c, q, "needs \"used\" (a size)");
			if (i && d->demand[i].at_ms < d->demand[i - 1].at_ms)
				return bad(c, q, "demand points must be in time order");
		}
		d->n_demand = n;
	}
	return 0;
}

static int parse_event(struct ctx *c, const char *path, json_object *o,
		       struct scenario_event *ev)
{
	static const char *const keys[] = {"at", "do", "domain", "name", "size", "min", "max",
					   "ttl", "target", "key", "value", "class", NULL};
	json_object *v;
	char act[16], p[256];

	memset(ev, 0, sizeof(*ev));
	if (want_object(c, path, o) < 0 || only(c, path, o, keys) < 0)
		return -EINVAL;
	snprintf(p, sizeof(p), "%.200s.at", path);
	if (!json_object_object_get_ex(o, "at", &v) || get_time(c, p, v, &ev->at_ms) < 0)
		return bad(c, path, "needs \"at\" (seconds)");
	snprintf(p, sizeof(p), "%.200s.do", path);
	if (!json_object_object_get_ex(o, "do", &v) || get_string(c, p, v, act, sizeof(act)) < 0)
		return bad(c, path, "needs \"do\"");
	if (json_object_object_get_ex(o, "name", &v)) {
		snprintf(p, sizeof(p), "%.200s.name", path);
		if (get_string(c, p, v, ev->name, sizeof(ev->name)) < 0)
			return -EINVAL;
	}
#define NEED_NAME()                                                      \
	do {                                                             \
		if (!ev->name[0])                                        \
			return bad(c, path, "\"%s\" needs \"name\"", act); \
	} while (0)
	if (strcmp(act, "create") == 0) {
		ev->action = SCN_CREATE;
		snprintf(p, sizeof(p), "%.200s.domain", path);
		if (!json_object_object_get_ex(o, "domain", &v))
			return bad(c, path, "create needs \"domain\"");
		return parse_domain(c, p, v, &ev->domain);
	}
	if (strcmp(act, "destroy") == 0) {
		ev->action = SCN_DESTROY;
		NEED_NAME();
	} else if (strcmp(act, "reserve") == 0) {
		ev->action = SCN_RESERVE;
		if (json_object_object_get_ex(o, "size", &v)) {
			if (get_size(c, path, v, &ev->size_kib) < 0)
				return -EINVAL;
			ev->min_kib = ev->max_kib = ev->size_kib;
		} else {
			json_object *lo, *hi;

			if (!json_object_object_get_ex(o, "min", &lo) ||
			    !json_object_object_get_ex(o, "max", &hi))
				return bad(c, path, "reserve needs \"size\" or \"min\" and \"max\"");
			if (get_size(c, path, lo, &ev->min_kib) < 0 ||
			    get_size(c, path, hi, &ev->max_kib) < 0)
				return -EINVAL;
			if (ev->min_kib > ev->max_kib)
				return bad(c, path, "min is above max");
		}
		ev->ttl_ms = 60000;
		snprintf(p, sizeof(p), "%.200s.ttl", path);
		if (json_object_object_get_ex(o, "ttl", &v) && get_time(c, p, v, &ev->ttl_ms) < 0)
			return -EINVAL;
	} else if (strcmp(act, "set-target") == 0) {
		ev->action = SCN_SET_TARGET;
		NEED_NAME();
		snprintf(p, sizeof(p), "%.200s.target", path);
		if (!json_object_object_get_ex(o, "target", &v) ||
		    get_size(c, p, v, &ev->target_kib) < 0)
			return bad(c, path, "set-target needs \"target\" (a size)");
	} else if (strcmp(act, "xs-write") == 0) {
		ev->action = SCN_XS_WRITE;
		NEED_NAME();
		if (!json_object_object_get_ex(o, "key", &v) ||
		    get_string(c, path, v, ev->key, sizeof(ev->key)) < 0)
			return bad(c, path, "xs-write needs \"key\"");
		if (!json_object_object_get_ex(o, "value", &v) ||
		    get_string(c, path, v, ev->value, sizeof(ev->value)) < 0)
			return bad(c, path, "xs-write needs \"value\"");
	} else if (strcmp(act, "corrupt") == 0) {
		ev->action = SCN_CORRUPT;
		NEED_NAME();
		if (!json_object_object_get_ex(o, "class", &v) ||
		    get_string(c, path, v, ev->fault_class, sizeof(ev->fault_class)) < 0)
			return bad(c, path, "corrupt needs \"class\"");
	} else if (strcmp(act, "restart") == 0) {
		ev->action = SCN_RESTART;
	} else if (strcmp(act, "pause") == 0) {
		ev->action = SCN_PAUSE;
	} else if (strcmp(act, "resume") == 0) {
		ev->action = SCN_RESUME;
	} else {
		return bad(c, p, "\"%s\" is not one of create, destroy, reserve, set-target, "
			   "xs-write, corrupt, restart, pause, resume", act);
	}
#undef NEED_NAME
	return 0;
}

static int event_cmp(const void *a, const void *b)
{
	const struct scenario_event *x = a, *y = b;

	if (x->at_ms != y->at_ms)
		return x->at_ms < y->at_ms ? -1 : 1;
	return 0;
}

/* Stable sort (insertion): event lists are short and order matters. */
static void events_sort(struct scenario_event *ev, size_t n)
{
	size_t i, j;

	for (i = 1; i < n; i++) {
		struct scenario_event tmp = ev[i];

		for (j = i; j > 0 && event_cmp(&ev[j - 1], &tmp) > 0; j--)
			ev[j] = ev[j - 1];
		ev[j] = tmp;
	}
}

static int parse_root(struct ctx *c, json_object *root, struct scenario *s)
{
	static const char *const keys[] = {"host", "config", "domains", "events", "until",
					   "expect", "description", NULL};
	json_object *v;
	size_t i, j, n;

	if (want_object(c, "$", root) < 0 || only(c, "$", root, keys) < 0)
		return -EINVAL;
	s->xen_reserved_kib = 256 * 1024;
	s->dom0_kib = 1024 * 1024;
	s->until_ms = 60000;
	if (!json_object_object_get_ex(root, "host", &v))
		return bad(c, "$", "\"host\" is required");
	{
		static const char *const hk[] = {"memory", "xen_reserved", "dom0", NULL};
		json_object *x;

		if (want_object(c, "host", v) < 0 || only(c, "host", v, hk) < 0)
			return -EINVAL;
		if (!json_object_object_get_ex(v, "memory", &x))
			return bad(c, "host", "\"memory\" (a size) is required");
		if (get_size(c, "host.memory", x, &s->host_memory_kib) < 0)
			return -EINVAL;
		if (json_object_object_get_ex(v, "xen_reserved", &x) &&
		    get_size(c, "host.xen_reserved", x, &s->xen_reserved_kib) < 0)
			return -EINVAL;
		if (json_object_object_get_ex(v, "dom0", &x) &&
		    get_size(c, "host.dom0", x, &s->dom0_kib) < 0)
			return -EINVAL;
	}
	if (json_object_object_get_ex(root, "config", &v)) {
		if (want_object(c, "config", v) < 0)
			return -EINVAL;
		n = (size_t)json_object_object_length(v);
		s->config = calloc(n ? n : 1, sizeof(*s->config));
		if (!s->config)
			return -ENOMEM;
		json_object_object_foreach(v, key, val)
		{
			struct scenario_config_item *it = &s->config[s->n_config];
			char p[128];

			snprintf(p, sizeof(p), "config.%s", key);
			snprintf(it->section, sizeof(it->section), "balloond");
			if (strlen(key) >= sizeof(it->key))
				return bad(c, p, "key too long");
			snprintf(it->key, sizeof(it->key), "%s", key);
			if (json_object_is_type(val, json_type_string) ||
			    json_object_is_type(val, json_type_int) ||
			    json_object_is_type(val, json_type_boolean))
				snprintf(it->value, sizeof(it->value), "%s", json_object_get_string(val));
			else
				return bad(c, p, "must be a string, an integer or a boolean");
			s->n_config++;
		}
	}
	if (json_object_object_get_ex(root, "domains", &v)) {
		if (!json_object_is_type(v, json_type_array))
			return bad(c, "domains", "must be an array");
		n = json_object_array_length(v);
		s->domains = calloc(n ? n : 1, sizeof(*s->domains));
		if (!s->domains)
			return -ENOMEM;
		for (i = 0; i < n; i++) {
			char p[64];

			snprintf(p, sizeof(p), "domains[%zu]", i);
			s->n_domains = i + 1;
			if (parse_domain(c, p, json_object_array_get_idx(v, i), &s->domains[i]) < 0)
				return -EINVAL;
			for (j = 0; j < i; j++)
				if (strcmp(s->domains[j].name, s->domains[i].name) == 0)
					return bad(c, p, "duplicate name \"%s\"", s->domains[i].name);
		}
	}
	if (json_object_object_get_ex(root, "events", &v)) {
		if (!json_object_is_type(v, json_type_array))
			return bad(c, "events", "must be an array");
		n = json_object_array_length(v);
		s->events = calloc(n ? n : 1, sizeof(*s->events));
		if (!s->events)
			return -ENOMEM;
		for (i = 0; i < n; i++) {
			char p[64];

			snprintf(p, sizeof(p), "events[%zu]", i);
			s->n_events = i + 1;
			if (parse_event(c, p, json_object_array_get_idx(v, i), &s->events[i]) < 0)
				return -EINVAL;
		}
		events_sort(s->events, s->n_events);
	}
	/* every name an event refers to must exist at some point */
	for (i = 0; i < s->n_events; i++) {
		const char *name = s->events[i].name;
		bool found = false;

		if (!name[0] || s->events[i].action == SCN_CREATE)
			continue;
		for (j = 0; j < s->n_domains && !found; j++)
			found = strcmp(s->domains[j].name, name) == 0;
		for (j = 0; j < s->n_events && !found; j++)
			found = s->events[j].action == SCN_CREATE &&
				strcmp(s->events[j].domain.name, name) == 0;
		if (!found) {
			char p[64];

			snprintf(p, sizeof(p), "events[%zu].name", i);
			return bad(c, p, "no domain \"%s\" in this scenario", name);
		}
	}
	if (json_object_object_get_ex(root, "until", &v) && get_time(c, "until", v, &s->until_ms) < 0)
		return -EINVAL;
	if (json_object_object_get_ex(root, "expect", &v)) {
		static const char *const ek[] = {"invariants", "converged_by", "reservations_ok",
						 "audit_findings", NULL};
		struct scenario_expect *e = &s->expect;
		json_object *x;

		if (want_object(c, "expect", v) < 0 || only(c, "expect", v, ek) < 0)
			return -EINVAL;
		if (json_object_object_get_ex(v, "invariants", &x)) {
			if (!json_object_is_type(x, json_type_boolean))
				return bad(c, "expect.invariants", "must be true or false");
			e->has_invariants = true;
			e->invariants = json_object_get_boolean(x);
		}
		if (json_object_object_get_ex(v, "converged_by", &x)) {
			if (get_time(c, "expect.converged_by", x, &e->converged_by_ms) < 0)
				return -EINVAL;
			e->has_converged_by = true;
		}
		if (json_object_object_get_ex(v, "reservations_ok", &x)) {
			if (!json_object_is_type(x, json_type_boolean))
				return bad(c, "expect.reservations_ok", "must be true or false");
			e->has_reservations_ok = true;
			e->reservations_ok = json_object_get_boolean(x);
		}
		if (json_object_object_get_ex(v, "audit_findings", &x)) {
			if (want_object(c, "expect.audit_findings", x) < 0)
				return -EINVAL;
			n = (size_t)json_object_object_length(x);
			e->audit_findings = calloc(n ? n : 1, sizeof(*e->audit_findings));
			if (!e->audit_findings)
				return -ENOMEM;
			e->has_audit_findings = true;
			json_object_object_foreach(x, key, val)
			{
				struct scenario_finding_count *f = &e->audit_findings[e->n_audit_findings];

				if (!json_object_is_type(val, json_type_int) ||
				    json_object_get_int64(val) < 0)
					return bad(c, "expect.audit_findings", "counts must be integers >= 0");
				snprintf(f->fault_class, sizeof(f->fault_class), "%s", key);
				f->count = (uint64_t)json_object_get_int64(val);
				e->n_audit_findings++;
			}
		}
	}
	return 0;
}

int scenario_parse_string(const char *text, const char *name, struct scenario *ret, char *err,
			  size_t errlen)
{
	struct ctx c = {name, err, errlen};
	struct json_tokener *tok;
	struct scenario s;
	json_object *root;
	int r;

	memset(&s, 0, sizeof(s));
	tok = json_tokener_new_ex(64);
	if (!tok)
		return -ENOMEM;
	root = json_tokener_parse_ex(tok, text, (int)strlen(text));
	if (!root || json_tokener_get_error(tok) != json_tokener_success) {
		snprintf(err, errlen, "%s: not valid JSON: %s", name,
			 json_tokener_error_desc(json_tokener_get_error(tok)));
		json_object_put(root);
		json_tokener_free(tok);
		return -EINVAL;
	}
	json_tokener_free(tok);
	r = parse_root(&c, root, &s);
	json_object_put(root);
	if (r < 0) {
		scenario_free(&s);
		return r;
	}
	*ret = s;
	return 0;
}

int scenario_parse_file(const char *path, struct scenario *ret, char *err, size_t errlen)
{
	FILE *f = fopen(path, "re");
	char *buf;
	long n;
	int r;

	if (!f) {
		r = -errno;
		snprintf(err, errlen, "%s: %s", path, strerror(-r));
		return r;
	}
	if (fseek(f, 0, SEEK_END) < 0 || (n = ftell(f)) < 0 || n > (16 << 20) ||
	    fseek(f, 0, SEEK_SET) < 0) {
		fclose(f);
		snprintf(err, errlen, "%s: unreadable or larger than 16 MiB", path);
		return -EINVAL;
	}
	buf = malloc((size_t)n + 1);
	if (!buf) {
		fclose(f);
		return -ENOMEM;
	}
	if (fread(buf, 1, (size_t)n, f) != (size_t)n) {
		free(buf);
		fclose(f);
		snprintf(err, errlen, "%s: read error", path);
		return -EIO;
	}
	buf[n] = '\0';
	fclose(f);
	r = scenario_parse_string(buf, path, ret, err, errlen);
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
	memset(s, 0, sizeof(*s));
}

int scenario_apply_config(const struct scenario *s, struct conf *c, char *err, size_t errlen)
{
	char msg[256], section[CONF_NAME_MAX + 8], w[16];
	size_t i;

	for (i = 0; i < s->n_config; i++)
		if (conf_set(c, s->config[i].section, s->config[i].key, s->config[i].value, msg,
			     sizeof(msg)) < 0) {
			snprintf(err, errlen, "scenario config.%s: %s", s->config[i].key, msg);
			return -EINVAL;
		}
	for (i = 0; i < s->n_domains + s->n_events; i++) {
		const struct sim_domain_spec *d = i < s->n_domains ? &s->domains[i]
			: s->events[i - s->n_domains].action == SCN_CREATE
			? &s->events[i - s->n_domains].domain : NULL;

		if (!d || !d->weight)
			continue;
		snprintf(section, sizeof(section), "domain %s", d->name);
		snprintf(w, sizeof(w), "%u", d->weight);
		if (conf_set(c, section, "weight", w, msg, sizeof(msg)) < 0) {
			snprintf(err, errlen, "scenario weight of %s: %s", d->name, msg);
			return -EINVAL;
		}
	}
	return 0;
}

struct simhost *scenario_build_host(const struct scenario *s, uint64_t now_ms, char *err,
				    size_t errlen)
{
	struct simhost *h = simhost_new(s->host_memory_kib, s->xen_reserved_kib, s->dom0_kib, now_ms);
	size_t i;

	if (!h) {
		snprintf(err, errlen, "cannot build a host of %llu KiB with %llu KiB for Xen and "
			 "%llu KiB for dom0", (unsigned long long)s->host_memory_kib,
			 (unsigned long long)s->xen_reserved_kib, (unsigned long long)s->dom0_kib);
		return NULL;
	}
	for (i = 0; i < s->n_domains; i++) {
		uint32_t domid;
		int r = simhost_create(h, &s->domains[i], now_ms, &domid);

		if (r < 0) {
			snprintf(err, errlen, "creating %s: %s", s->domains[i].name,
				 r == -ENOMEM ? "not enough free memory on the host" : strerror(-r));
			simhost_free(h);
			return NULL;
		}
	}
	return h;
}
