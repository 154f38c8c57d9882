/* SPDX-License-Identifier: GPL-2.0-or-later */
/* JSON-RPC methods: one table entry per method (name, read-only or not,
 * handler). Handlers validate everything before changing anything. */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "audit-run.h"
#include "clock.h"
#include "daemon.h"
#include "events.h"
#include "log.h"
#include "methods.h"
#include "metrics.h"
#include "utf8.h"

#include <json-c/printbuf.h>

#define REFRESH_MAX_AGE_MS 200

struct method {
	const char *name;
	bool read_only;
	/* Returns the result (new reference) or NULL with *code and err set. */
	json_object *(*fn)(struct daemon *d, json_object *params, int *code, json_object **data,
			   char *err, size_t errlen);
	/* What a call costs against a batch's and a turn's budget
	 * (doc/protocol.md): 1, more for the methods with big replies. */
	unsigned cost;
	/* Its reply covers every domain: it costs more on a host of many
	 * (at 1,000 domains a metrics reply is 0.5 MB and 23 ms of work). */
	bool per_domain;
};

static json_object *json_kib(uint64_t kib)
{
	return json_object_new_int64((int64_t)kib);
}

/* Scratch objects for the base fields' text: json-c writes the strings
 * and fractions exactly as it would inside a tree. */
struct dom_text {
	struct printbuf *pb;
	json_object *str, *dbl;
	int flags;
	bool first; /* no field written yet in this object */
};

static void text_lit(struct dom_text *t, const char *s)
{
	printbuf_memappend_fast(t->pb, s, (int)strlen(s));
}

/* "key": after a comma unless it is the object's first field */
static void text_key(struct dom_text *t, const char *key)
{
	if (!t->first)
		printbuf_memappend_fast(t->pb, ",", 1);
	t->first = false;
	printbuf_memappend_fast(t->pb, "\"", 1);
	text_lit(t, key);
	printbuf_memappend_fast(t->pb, "\":", 2);
}

static void text_i64(struct dom_text *t, const char *key, int64_t v)
{
	char buf[24], *p = buf + sizeof(buf);
	uint64_t u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;

	text_key(t, key);
	do
		*--p = (char)('0' + u % 10);
	while (u /= 10);
	if (v < 0)
		*--p = '-';
	printbuf_memappend_fast(t->pb, p, (int)(buf + sizeof(buf) - p));
}

static void text_kib_or_null(struct dom_text *t, const char *key, bool has, uint64_t kib)
{
	if (has) {
		text_i64(t, key, (int64_t)kib);
	} else {
		text_key(t, key);
		text_lit(t, "null");
	}
}

/* A string as json-c escapes it. */
static void text_str(struct dom_text *t, const char *key, const char *v)
{
	text_key(t, key);
	json_object_set_string(t->str, v);
	text_lit(t, json_object_to_json_string_ext(t->str, t->flags));
}

static void text_dbl(struct dom_text *t, const char *key, double v)
{
	text_key(t, key);
	json_object_set_double(t->dbl, v);
	text_lit(t, json_object_to_json_string_ext(t->dbl, t->flags));
}

static int dom_text_init(struct dom_text *t, int flags)
{
	t->pb = printbuf_new();
	t->str = json_object_new_string("");
	t->dbl = json_object_new_double(0);
	t->flags = flags;
	return t->pb && t->str && t->dbl ? 0 : -ENOMEM;
}

static void dom_text_fini(struct dom_text *t)
{
	json_object_put(t->str);
	json_object_put(t->dbl);
	if (t->pb)
		printbuf_free(t->pb);
}

/* A domain's base fields as the protocol shows them (doc/protocol.md,
 * DOMAIN), as one JSON object's text: what domain.list sends for each
 * domain, written straight into the reply (building a tree of json-c
 * objects for 1,000 domains cost more than everything else the call
 * does), and what domain.get and the others parse and add to. */
static void dom_base_text(struct dom_text *t, const struct engine_dom *dom)
{
	bool live = dom->state != DOM_BUILDING && dom->state != DOM_DYING;
	uint64_t dist;
	int64_t aim;

	printbuf_memappend_fast(t->pb, "{", 1);
	t->first = true;
	text_i64(t, "domid", dom->domid);
	text_str(t, "name", dom->name);
	text_str(t, "type", dom_type_name(dom->type));
	text_str(t, "mode", domain_mode_name(dom->mode));
	text_str(t, "state", dom_state_name(dom->state));
	text_i64(t, "dmin", (int64_t)dom->dmin_kib);
	text_i64(t, "dmax", (int64_t)dom->dmax_kib);
	text_i64(t, "static_max", (int64_t)dom->static_max_kib);
	text_i64(t, "weight", dom->weight);
	text_kib_or_null(t, "target", dom->has_target, dom->target_kib);
	text_i64(t, "actual", (int64_t)dom->actual_kib);
	text_i64(t, "maxmem", (int64_t)dom->maxmem_kib);
	text_kib_or_null(t, "demand", dom->has_demand, dom->demand_kib);
	text_kib_or_null(t, "used", dom->has_demand, dom->used_kib);
	if (dom->has_rate && live) {
		text_i64(t, "rate", dom->rate_kib_s);
	} else {
		text_key(t, "rate");
		text_lit(t, "null");
	}
	/* how far it still has to go: to the target plus its offset */
	aim = (int64_t)dom->target_kib + dom->offset_kib;
	dist = (int64_t)dom->actual_kib > aim ? (uint64_t)((int64_t)dom->actual_kib - aim)
					      : (uint64_t)(aim - (int64_t)dom->actual_kib);
	if (live && dom->has_rate && dom->state == DOM_CONVERGING && dom->rate_kib_s != 0 &&
	    ((dom->rate_kib_s < 0) == ((int64_t)dom->actual_kib > aim))) {
		double rate = dom->rate_kib_s < 0 ? -(double)dom->rate_kib_s : (double)dom->rate_kib_s;

		text_dbl(t, "eta", (double)dist / rate);
	} else {
		text_key(t, "eta");
		text_lit(t, "null");
	}
	printbuf_memappend_fast(t->pb, "}", 1);
}

/* A json-c object that prints as the text it carries (a printbuf). */
static int text_serialize(json_object *jso, struct printbuf *pb, int level, int flags)
{
	const struct printbuf *text = json_object_get_userdata(jso);

	(void)level;
	(void)flags;
	printbuf_memappend(pb, text->buf, text->bpos);
	return 0;
}

static void text_free(json_object *jso, void *userdata)
{
	(void)jso;
	printbuf_free(userdata);
}

/* A domain as the protocol shows it (doc/protocol.md, DOMAIN): the base
 * fields, and with detail the engine's view of its bounds, reason, report
 * and decisions. */
static json_object *dom_to_json(const struct engine_dom *dom, bool detail, uint64_t now)
{
	struct dom_text t;
	json_object *o = NULL;

	if (dom_text_init(&t, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE) == 0) {
		dom_base_text(&t, dom);
		o = json_tokener_parse(t.pb->buf);
	}
	dom_text_fini(&t);
	if (!o)
		return NULL;
	if (detail) {
		json_object *b = json_object_new_object(), *decs = json_object_new_array();
		const struct engine_decision *dec;
		char reason[ENGINE_REASON_MAX];
		unsigned i;

		json_object_object_add(b, "dmin_source",
				       json_object_new_string(bound_source_name(dom->dmin_source)));
		json_object_object_add(b, "dmax_source",
				       json_object_new_string(bound_source_name(dom->dmax_source)));
		json_object_object_add(b, "ceiling", json_kib(dom->ceiling_kib));
		json_object_object_add(o, "bounds", b);
		json_object_object_add(o, "reason", json_object_new_string(engine_dom_reason(
							       dom, reason, sizeof(reason))));
		json_object_object_add(o, "report", json_object_new_string(
			dom->report_rejected ? "rejected (implausible)"
			: dom->report_stale ? "stale"
			: dom->has_demand && dom->report_source != REPORT_NONE ? "used"
			: "none"));
		json_object_object_add(o, "report_source",
				       dom->report_source == REPORT_NONE
					       ? NULL
					       : json_object_new_string(
							 report_source_name(dom->report_source)));
		json_object_object_add(o, "offset", json_object_new_int64(dom->offset_kib));
		json_object_object_add(o, "offset_learned",
				       json_object_new_boolean(dom->offset_learned));
		json_object_object_add(o, "under_pressure",
				       json_object_new_boolean(dom->under_pressure));
		json_object_object_add(o, "damped", json_object_new_boolean(dom->damped));
		for (i = 0; (dec = engine_dom_decision(dom, i)); i++) {
			json_object *j = json_object_new_object();

			json_object_object_add(j, "ago", json_object_new_double(
				(double)(now - dec->at_ms) / 1000.0));
			json_object_object_add(j, "old", dec->has_old ? json_kib(dec->old_kib) : NULL);
			json_object_object_add(j, "new", json_kib(dec->new_kib));
			json_object_object_add(j, "reason", json_object_new_string(dec->reason));
			json_object_array_add(decs, j);
		}
		json_object_object_add(o, "decisions", decs);
	}
	return o;
}

/* Resolve a domain reference or fail with "no such domain". */
static const struct engine_dom *dom_lookup(struct daemon *d, const struct rpc_domain_ref *ref,
					   int *code, char *err, size_t errlen)
{
	const struct engine_dom *dom = ref->by_name ? engine_find_name(d->engine, ref->name)
						    : engine_find(d->engine, ref->domid);

	if (!dom) {
		*code = RPC_ERR_NO_SUCH_DOMAIN;
		if (ref->by_name)
			snprintf(err, errlen, "no domain named \"%s\"", ref->name);
		else
			snprintf(err, errlen, "no domain %u", ref->domid);
	}
	return dom;
}

static bool params_none(json_object *params, int *code, char *err, size_t errlen)
{
	static const struct rpc_field none[] = {{NULL}};
	char dummy;

	if (rpc_params_decode(params, none, &dummy, err, errlen) != 0) {
		*code = RPC_INVALID_PARAMS;
		return false;
	}
	return true;
}

static json_object *m_hello(struct daemon *d, json_object *params, int *code, json_object **data,
			    char *err, size_t errlen)
{
	json_object *o;

	if (!params_none(params, code, err, errlen))
		return NULL;
	o = json_object_new_object();
	json_object_object_add(o, "version", json_object_new_string(PACKAGE_VERSION));
	json_object_object_add(o, "api", json_object_new_int(RPC_API_VERSION));
	json_object_object_add(o, "backend", json_object_new_string(d->bops->name));
	json_object_object_add(o, "capabilities", methods_capabilities());
	return o;
}

/* host.status's "xl": what xl itself does with memory, and the verdict. */
static json_object *coexist_to_json(const struct daemon *d)
{
	const struct coexist *c = &d->coexist;
	const struct xl_facts *f = &c->facts;
	json_object *o = json_object_new_object();

	json_object_object_add(o, "config", json_object_new_string(
		d->conf.xl_conf[0] ? d->conf.xl_conf : CONF_DEFAULT_XL_CONF));
	json_object_object_add(o, "read", json_object_new_string(xl_conf_source_name(f->source)));
	json_object_object_add(o, "autoballoon",
			       json_object_new_string(xl_autoballoon_name(f->autoballoon)));
	json_object_object_add(o, "dom0_mem",
			       f->cmdline_known ? json_object_new_boolean(f->dom0_mem) : NULL);
	json_object_object_add(o, "autoballoon_effective",
			       json_object_new_boolean(c->autoballoon_on));
	json_object_object_add(o, "claim_mode", json_object_new_boolean(f->claim_mode));
	json_object_object_add(o, "verdict",
			       json_object_new_string(coexist_verdict_name(c->verdict)));
	json_object_object_add(o, "summary", json_object_new_string(c->summary));
	json_object_object_add(o, "advice", json_object_new_string(c->advice));
	return o;
}

static json_object *m_host_status(struct daemon *d, json_object *params, int *code,
				  json_object **data, char *err, size_t errlen)
{
	struct engine_host h;
	json_object *o;

	if (!params_none(params, code, err, errlen))
		return NULL;
	daemon_refresh(d, REFRESH_MAX_AGE_MS);
	engine_host_status(d->engine, &h);
	o = json_object_new_object();
	json_object_object_add(o, "backend", json_object_new_string(d->bops->name));
	json_object_object_add(o, "mode", json_object_new_string(h.paused ? "paused" : "running"));
	json_object_object_add(o, "uptime", json_object_new_double(
		(double)(clock_now_ms() - d->start_ms) / 1000.0));
	json_object_object_add(o, "total", json_kib(h.total_kib));
	json_object_object_add(o, "free", json_kib(h.free_kib));
	json_object_object_add(o, "scrub", json_kib(h.scrub_kib));
	json_object_object_add(o, "outstanding", json_kib(h.outstanding_kib));
	json_object_object_add(o, "pool", json_kib(h.pool_kib));
	json_object_object_add(o, "committed", json_kib(h.committed_kib));
	json_object_object_add(o, "available", json_object_new_int64(h.available_kib));
	json_object_object_add(o, "reserved", json_kib(h.reserved_kib));
	json_object_object_add(o, "pressure", json_object_new_string(pressure_name(h.pressure)));
	json_object_object_add(o, "domains", json_object_new_int64(h.domains));
	json_object_object_add(o, "managed", json_object_new_int64(h.managed));
	json_object_object_add(o, "converging", json_object_new_int64(h.converging));
	json_object_object_add(o, "stalled", json_object_new_int64(h.stalled));
	json_object_object_add(o, "uncooperative", json_object_new_int64(h.uncooperative));
	json_object_object_add(o, "xl", coexist_to_json(d));
	return o;
}

static json_object *m_domain_list(struct daemon *d, json_object *params, int *code,
				  json_object **data, char *err, size_t errlen)
{
	struct dom_text t;
	json_object *o, *arr;
	size_t i;

	if (!params_none(params, code, err, errlen))
		return NULL;
	daemon_refresh(d, REFRESH_MAX_AGE_MS);
	if (dom_text_init(&t, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE) < 0 ||
	    !(arr = json_object_new_array())) {
		dom_text_fini(&t);
		*code = RPC_INTERNAL_ERROR;
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	printbuf_memappend_fast(t.pb, "[", 1);
	for (i = 0; i < engine_count(d->engine); i++) {
		if (i)
			printbuf_memappend_fast(t.pb, ",", 1);
		dom_base_text(&t, engine_at(d->engine, i));
	}
	printbuf_memappend_fast(t.pb, "]", 1);
	/* the array prints as the text (an empty array to anyone who looks inside) */
	json_object_set_serializer(arr, text_serialize, t.pb, text_free);
	t.pb = NULL;
	dom_text_fini(&t);
	o = json_object_new_object();
	json_object_object_add(o, "domains", arr);
	return o;
}

struct domain_params {
	struct rpc_domain_ref domain;
	uint64_t target;
};

static const struct rpc_field domain_only_fields[] = {
	{"domain", RPC_FIELD_DOMAIN, offsetof(struct domain_params, domain), 0, true, 0,
	 RPC_NO_PRESENT},
	{NULL},
};

static const struct rpc_field set_target_fields[] = {
	{"domain", RPC_FIELD_DOMAIN, offsetof(struct domain_params, domain), 0, true, 0,
	 RPC_NO_PRESENT},
	{"target", RPC_FIELD_SIZE, offsetof(struct domain_params, target), 0, true, 0,
	 RPC_NO_PRESENT},
	{NULL},
};

static json_object *m_domain_get(struct daemon *d, json_object *params, int *code,
				 json_object **data, char *err, size_t errlen)
{
	struct domain_params p = {0};
	const struct engine_dom *dom;

	if (rpc_params_decode(params, domain_only_fields, &p, err, errlen) != 0) {
		*code = RPC_INVALID_PARAMS;
		return NULL;
	}
	daemon_refresh(d, REFRESH_MAX_AGE_MS);
	dom = dom_lookup(d, &p.domain, code, err, errlen);
	return dom ? dom_to_json(dom, true, clock_now_ms()) : NULL;
}

static json_object *m_domain_set_target(struct daemon *d, json_object *params, int *code,
					json_object **data, char *err, size_t errlen)
{
	struct domain_params p = {0};
	const struct engine_dom *dom;
	uint64_t min = 0, max = 0;
	uint32_t domid;
	int r;

	if (rpc_params_decode(params, set_target_fields, &p, err, errlen) != 0) {
		*code = RPC_INVALID_PARAMS;
		return NULL;
	}
	daemon_refresh(d, 0);
	dom = dom_lookup(d, &p.domain, code, err, errlen);
	if (!dom)
		return NULL;
	domid = dom->domid;
	r = engine_pin(d->engine, domid, p.target, clock_now_ms(), &min, &max, err, errlen);
	switch (r) {
	case 0:
		break;
	case -ERANGE:
		*code = RPC_ERR_OUT_OF_BOUNDS;
		*data = json_object_new_object();
		json_object_object_add(*data, "min", json_kib(min));
		json_object_object_add(*data, "max", json_kib(max));
		return NULL;
	case -ENOSPC:
		*code = RPC_ERR_INSUFFICIENT_MEMORY;
		return NULL;
	case -EPERM:
		*code = RPC_ERR_NOT_MANAGED;
		return NULL;
	case -ENOENT:
		*code = RPC_ERR_NO_SUCH_DOMAIN;
		return NULL;
	default:
		*code = RPC_INTERNAL_ERROR;
		return NULL;
	}
	daemon_step(d);
	dom = engine_find(d->engine, domid);
	if (!dom) {
		*code = RPC_ERR_NO_SUCH_DOMAIN;
		snprintf(err, errlen, "domain %u went away", domid);
		return NULL;
	}
	return dom_to_json(dom, false, clock_now_ms());
}

static json_object *m_domain_unpin(struct daemon *d, json_object *params, int *code,
				   json_object **data, char *err, size_t errlen)
{
	struct domain_params p = {0};
	const struct engine_dom *dom;
	uint32_t domid;

	if (rpc_params_decode(params, domain_only_fields, &p, err, errlen) != 0) {
		*code = RPC_INVALID_PARAMS;
		return NULL;
	}
	daemon_refresh(d, 0);
	dom = dom_lookup(d, &p.domain, code, err, errlen);
	if (!dom)
		return NULL;
	domid = dom->domid;
	if (engine_unpin(d->engine, domid, clock_now_ms(), err, errlen) < 0) {
		*code = RPC_INVALID_PARAMS;
		return NULL;
	}
	daemon_step(d);
	dom = engine_find(d->engine, domid);
	if (!dom) {
		*code = RPC_ERR_NO_SUCH_DOMAIN;
		snprintf(err, errlen, "domain %u went away", domid);
		return NULL;
	}
	return dom_to_json(dom, false, clock_now_ms());
}

static json_object *m_pause_resume(struct daemon *d, json_object *params, int *code,
				   char *err, size_t errlen, bool pause)
{
	struct engine_host h;
	json_object *o;

	if (!params_none(params, code, err, errlen))
		return NULL;
	engine_pause(d->engine, pause);
	log_notice("%s by admin", pause ? "paused: no target is written until resume"
					 : "resumed");
	daemon_step(d);
	engine_host_status(d->engine, &h);
	o = json_object_new_object();
	json_object_object_add(o, "mode", json_object_new_string(h.paused ? "paused" : "running"));
	return o;
}

static json_object *m_pause(struct daemon *d, json_object *params, int *code, json_object **data,
			    char *err, size_t errlen)
{
	return m_pause_resume(d, params, code, err, errlen, true);
}

static json_object *m_resume(struct daemon *d, json_object *params, int *code,
			     json_object **data, char *err, size_t errlen)
{
	return m_pause_resume(d, params, code, err, errlen, false);
}

static json_object *m_config_reload(struct daemon *d, json_object *params, int *code,
				    json_object **data, char *err, size_t errlen)
{
	json_object *o;

	if (!params_none(params, code, err, errlen))
		return NULL;
	if (daemon_reload(d, err, errlen) < 0) {
		*code = RPC_INVALID_PARAMS;
		return NULL;
	}
	log_notice("configuration reloaded from %s (config.reload)", d->conf_path);
	o = json_object_new_object();
	json_object_object_add(o, "config", json_object_new_string(d->conf_path));
	return o;
}

/* ---- per-domain policy overrides ---- */

struct policy_params {
	struct rpc_domain_ref domain;
	uint64_t dmin, dmax, weight;
	char mode[16];
	bool reset, has_dmin, has_dmax, has_weight, has_mode;
};

static const struct rpc_field set_policy_fields[] = {
	{"domain", RPC_FIELD_DOMAIN, offsetof(struct policy_params, domain), 0, true, 0,
	 RPC_NO_PRESENT},
	{"dmin", RPC_FIELD_SIZE, offsetof(struct policy_params, dmin), 0, false, 0,
	 offsetof(struct policy_params, has_dmin)},
	{"dmax", RPC_FIELD_SIZE, offsetof(struct policy_params, dmax), 0, false, 0,
	 offsetof(struct policy_params, has_dmax)},
	{"weight", RPC_FIELD_U64, offsetof(struct policy_params, weight), 0, false, 10000,
	 offsetof(struct policy_params, has_weight)},
	{"mode", RPC_FIELD_STRING, offsetof(struct policy_params, mode),
	 sizeof(((struct policy_params *)0)->mode), false, 0,
	 offsetof(struct policy_params, has_mode)},
	{"reset", RPC_FIELD_BOOL, offsetof(struct policy_params, reset), 0, false, 0,
	 RPC_NO_PRESENT},
	{NULL},
};

static json_object *m_domain_set_policy(struct daemon *d, json_object *params, int *code,
					json_object **data, char *err, size_t errlen)
{
	struct policy_params p = {0};
	struct engine_policy pol = {0};
	const struct engine_dom *dom;
	uint32_t domid;
	int r;

	if (rpc_params_decode(params, set_policy_fields, &p, err, errlen) != 0) {
		*code = RPC_INVALID_PARAMS;
		return NULL;
	}
	if (p.has_mode && (domain_mode_parse(p.mode, &pol.mode) < 0 || pol.mode == MODE_PINNED)) {
		*code = RPC_INVALID_PARAMS;
		snprintf(err, errlen, "mode \"%.15s\" is not one of auto, frozen, excluded", p.mode);
		return NULL;
	}
	if (!p.has_dmin && !p.has_dmax && !p.has_weight && !p.has_mode && !p.reset) {
		*code = RPC_INVALID_PARAMS;
		snprintf(err, errlen, "give at least one of dmin, dmax, weight, mode, reset");
		return NULL;
	}
	if (p.has_weight && !p.weight) {
		*code = RPC_INVALID_PARAMS;
		snprintf(err, errlen, "weight must be 1..10000");
		return NULL;
	}
	pol.has_dmin = p.has_dmin;
	pol.dmin_kib = p.dmin;
	pol.has_dmax = p.has_dmax;
	pol.dmax_kib = p.dmax;
	pol.has_weight = p.has_weight;
	pol.weight = (unsigned)p.weight;
	pol.has_mode = p.has_mode;
	daemon_refresh(d, 0);
	dom = dom_lookup(d, &p.domain, code, err, errlen);
	if (!dom)
		return NULL;
	domid = dom->domid;
	r = engine_set_policy(d->engine, domid, &pol, p.reset, clock_now_ms(), err, errlen);
	switch (r) {
	case 0: break;
	case -ENOENT: *code = RPC_ERR_NO_SUCH_DOMAIN; return NULL;
	case -EPERM: *code = RPC_ERR_NOT_MANAGED; return NULL;
	case -ENOSPC: *code = RPC_ERR_INSUFFICIENT_MEMORY; return NULL;
	case -EINVAL: *code = RPC_ERR_OUT_OF_BOUNDS; return NULL;
	default: *code = RPC_INTERNAL_ERROR; return NULL;
	}
	log_notice("domain %u (%s): policy set by admin", domid, dom->name);
	daemon_step(d);
	dom = engine_find(d->engine, domid);
	if (!dom) {
		*code = RPC_ERR_NO_SUCH_DOMAIN;
		snprintf(err, errlen, "domain %u went away", domid);
		return NULL;
	}
	return dom_to_json(dom, true, clock_now_ms());
}

/* ---- plan: a dry run of the next decision round ---- */

static json_object *m_plan(struct daemon *d, json_object *params, int *code, json_object **data,
			   char *err, size_t errlen)
{
	struct engine_output out = {0};
	struct engine_obs obs;
	struct engine_host h;
	json_object *o, *acts, *notes;
	size_t i, j;
	int r;

	if (!params_none(params, code, err, errlen))
		return NULL;
	r = d->bops->observe(d->be, &obs);
	if (r < 0) {
		*code = RPC_ERR_BACKEND;
		snprintf(err, errlen, "observing the host failed: %s", strerror(-r));
		return NULL;
	}
	engine_host_status(d->engine, &h);
	r = engine_plan(d->engine, &obs, clock_now_ms(), true, &out);
	if (r < 0) {
		engine_output_free(&out);
		*code = RPC_INTERNAL_ERROR;
		snprintf(err, errlen, "planning failed: %s", strerror(-r));
		return NULL;
	}
	acts = json_object_new_array();
	for (i = 0; i < out.n_actions; i++) {
		const struct engine_action *a = &out.actions[i];
		const struct engine_dom *dom = engine_find(d->engine, a->domid);
		json_object *j_a;

		if (a->type != ACT_SET_TARGET && a->type != ACT_SET_MAXMEM)
			continue;
		j_a = json_object_new_object();
		json_object_object_add(j_a, "domid", json_object_new_int64(a->domid));
		json_object_object_add(j_a, "name", json_object_new_string(dom ? dom->name : ""));
		json_object_object_add(j_a, "what", json_object_new_string(
							    a->type == ACT_SET_TARGET ? "target"
										      : "maxmem"));
		json_object_object_add(j_a, "from",
				       !dom ? NULL
				       : a->type == ACT_SET_TARGET
					       ? (dom->has_target ? json_kib(dom->target_kib) : NULL)
					       : json_kib(dom->maxmem_kib));
		json_object_object_add(j_a, "to", json_kib(a->kib));
		for (j = 0; j < out.n_events; j++)
			if (out.events[j].type == EV_TARGET && out.events[j].domid == a->domid &&
			    a->type == ACT_SET_TARGET)
				json_object_object_add(j_a, "reason",
						       json_object_new_string(out.events[j].text));
		json_object_array_add(acts, j_a);
	}
	notes = json_object_new_array();
	for (j = 0; j < out.n_events; j++)
		if (out.events[j].type == EV_RESERVATION || out.events[j].type == EV_STATE ||
		    out.events[j].type == EV_PRESSURE)
			json_object_array_add(notes, json_object_new_string(out.events[j].text));
	o = json_object_new_object();
	json_object_object_add(o, "paused", json_object_new_boolean(h.paused));
	json_object_object_add(o, "actions", acts);
	json_object_object_add(o, "notes", notes);
	engine_output_free(&out);
	return o;
}

/* ---- reservations ---- */

static json_object *resv_to_json(struct daemon *d, const struct engine_resv *r, uint64_t now)
{
	json_object *o = json_object_new_object();
	const struct engine_dom *dom = r->domid ? engine_find(d->engine, r->domid) : NULL;

	json_object_object_add(o, "id", json_object_new_int64(r->id));
	json_object_object_add(o, "state", json_object_new_string(resv_state_name(r->state)));
	json_object_object_add(o, "min", json_kib(r->min_kib));
	json_object_object_add(o, "max", json_kib(r->max_kib));
	json_object_object_add(o, "amount", json_kib(r->amount_kib));
	json_object_object_add(o, "held", json_kib(r->held_kib));
	json_object_object_add(o, "age", json_object_new_double((double)(now - r->created_ms) /
								1000.0));
	if (resv_active(r)) {
		uint64_t by = r->state == RESV_PENDING ? r->answer_by_ms : r->expires_ms;

		json_object_object_add(o, r->state == RESV_PENDING ? "answer_in" : "expires_in",
				       json_object_new_double(by > now ? (double)(by - now) / 1000.0
									: 0.0));
	}
	if (r->domid) {
		json_object_object_add(o, "domid", json_object_new_int64(r->domid));
		json_object_object_add(o, "domain",
				       dom ? json_object_new_string(dom->name) : NULL);
	}
	if (r->for_name[0])
		json_object_object_add(o, "for", json_object_new_string(r->for_name));
	if (r->why[0])
		json_object_object_add(o, "why", json_object_new_string(r->why));
	return o;
}

struct reserve_params {
	uint64_t size, min, max, ttl, id;
	bool has_size, has_min, has_max;
	char for_name[ENGINE_NAME_MAX];
	struct rpc_domain_ref domain;
};

static const struct rpc_field reserve_fields[] = {
	{"size", RPC_FIELD_SIZE, offsetof(struct reserve_params, size), 0, false, 0,
	 offsetof(struct reserve_params, has_size)},
	{"min", RPC_FIELD_SIZE, offsetof(struct reserve_params, min), 0, false, 0,
	 offsetof(struct reserve_params, has_min)},
	{"max", RPC_FIELD_SIZE, offsetof(struct reserve_params, max), 0, false, 0,
	 offsetof(struct reserve_params, has_max)},
	{"ttl", RPC_FIELD_DURATION, offsetof(struct reserve_params, ttl), 0, false, 0,
	 RPC_NO_PRESENT},
	{"for", RPC_FIELD_STRING, offsetof(struct reserve_params, for_name), ENGINE_NAME_MAX,
	 false, 0, RPC_NO_PRESENT},
	{NULL},
};

static const struct rpc_field resv_id_fields[] = {
	{"id", RPC_FIELD_U64, offsetof(struct reserve_params, id), 0, true, UINT32_MAX,
	 RPC_NO_PRESENT},
	{NULL},
};

static const struct rpc_field transfer_fields[] = {
	{"id", RPC_FIELD_U64, offsetof(struct reserve_params, id), 0, true, UINT32_MAX,
	 RPC_NO_PRESENT},
	{"domain", RPC_FIELD_DOMAIN, offsetof(struct reserve_params, domain), 0, true, 0,
	 RPC_NO_PRESENT},
	{NULL},
};

static json_object *m_reserve(struct daemon *d, json_object *params, int *code,
			      json_object **data, char *err, size_t errlen)
{
	struct reserve_params p = {0};
	uint32_t id;
	int r;

	if (rpc_params_decode(params, reserve_fields, &p, err, errlen) != 0) {
		*code = RPC_INVALID_PARAMS;
		return NULL;
	}
	if (p.has_size == (p.has_min || p.has_max) || p.has_min != p.has_max) {
		*code = RPC_INVALID_PARAMS;
		snprintf(err, errlen, "give either \"size\" or both \"min\" and \"max\"");
		return NULL;
	}
	if (p.has_size)
		p.min = p.max = p.size;
	daemon_refresh(d, 0);
	if (p.for_name[0] && !engine_resv_name_ok(p.for_name)) {
		*code = RPC_INVALID_PARAMS;
		snprintf(err, errlen, "params.for: not a domain name (no control characters)");
		return NULL;
	}
	r = engine_reserve_for(d->engine, p.min, p.max, p.ttl, p.for_name, clock_now_ms(), &id,
			       err, errlen);
	switch (r) {
	case 0: break;
	case -EINVAL:
	case -EEXIST: *code = RPC_INVALID_PARAMS; return NULL;
	case -ENOSPC:
		*code = RPC_ERR_INSUFFICIENT_MEMORY;
		*data = json_object_new_object();
		json_object_object_add(*data, "needed", json_kib(p.min));
		json_object_object_add(*data, "available",
				       json_kib(engine_reservable_kib(d->engine)));
		return NULL;
	case -EBUSY: *code = RPC_ERR_BUSY; return NULL;
	default: *code = RPC_INTERNAL_ERROR; return NULL;
	}
	if (p.for_name[0])
		log_notice("reservation %u: %" PRIu64 "..%" PRIu64 " KiB asked for %s", id, p.min,
			   p.max, p.for_name);
	else
		log_notice("reservation %u: %" PRIu64 "..%" PRIu64 " KiB asked", id, p.min, p.max);
	daemon_step(d);
	return resv_to_json(d, engine_reservation_find(d->engine, id), clock_now_ms());
}

static json_object *m_reservation_list(struct daemon *d, json_object *params, int *code,
				       json_object **data, char *err, size_t errlen)
{
	json_object *o, *arr;
	uint64_t now = clock_now_ms();
	size_t i;

	if (!params_none(params, code, err, errlen))
		return NULL;
	arr = json_object_new_array();
	for (i = 0; i < engine_reservation_count(d->engine); i++)
		json_object_array_add(arr,
				      resv_to_json(d, engine_reservation_at(d->engine, i), now));
	o = json_object_new_object();
	json_object_object_add(o, "reservations", arr);
	return o;
}

static json_object *m_reservation_cancel(struct daemon *d, json_object *params, int *code,
					 json_object **data, char *err, size_t errlen)
{
	struct reserve_params p = {0};
	int r;

	if (rpc_params_decode(params, resv_id_fields, &p, err, errlen) != 0) {
		*code = RPC_INVALID_PARAMS;
		return NULL;
	}
	r = engine_reservation_cancel(d->engine, (uint32_t)p.id, clock_now_ms(), err, errlen);
	if (r < 0) {
		*code = r == -ENOENT ? RPC_ERR_NO_SUCH_RESERVATION : RPC_INVALID_PARAMS;
		return NULL;
	}
	log_notice("reservation %u: cancelled by admin", (uint32_t)p.id);
	daemon_step(d);
	return resv_to_json(d, engine_reservation_find(d->engine, (uint32_t)p.id),
			    clock_now_ms());
}

static json_object *m_reservation_transfer(struct daemon *d, json_object *params, int *code,
					   json_object **data, char *err, size_t errlen)
{
	struct reserve_params p = {0};
	uint32_t domid;
	int r;

	if (rpc_params_decode(params, transfer_fields, &p, err, errlen) != 0) {
		*code = RPC_INVALID_PARAMS;
		return NULL;
	}
	daemon_refresh(d, 0);
	/* A name must be known; a bare domid may be one just created. */
	if (p.domain.by_name) {
		const struct engine_dom *dom = dom_lookup(d, &p.domain, code, err, errlen);

		if (!dom)
			return NULL;
		domid = dom->domid;
	} else {
		domid = p.domain.domid;
	}
	r = engine_reservation_transfer(d->engine, (uint32_t)p.id, domid, clock_now_ms(), err,
					errlen);
	if (r < 0) {
		*code = r != -ENOENT			   ? RPC_INVALID_PARAMS
			: strncmp(err, "no reservation", 14) == 0 ? RPC_ERR_NO_SUCH_RESERVATION
								  : RPC_ERR_NO_SUCH_DOMAIN;
		return NULL;
	}
	log_notice("reservation %u: transferred to domain %u", (uint32_t)p.id, domid);
	daemon_step(d);
	return resv_to_json(d, engine_reservation_find(d->engine, (uint32_t)p.id),
			    clock_now_ms());
}

/* ---- methods of the events and of the auditor ---- */

static json_object *m_events_subscribe(struct daemon *d, json_object *params, int *code,
				       json_object **data, char *err, size_t errlen)
{
	return events_method_subscribe(&d->events, params, code, data, err, errlen);
}

static json_object *m_events_unsubscribe(struct daemon *d, json_object *params, int *code,
					 json_object **data, char *err, size_t errlen)
{
	return events_method_unsubscribe(&d->events, params, code, data, err, errlen);
}

static json_object *m_audit_run(struct daemon *d, json_object *params, int *code,
				json_object **data, char *err, size_t errlen)
{
	return audit_method_run(d->audit, params, code, data, err, errlen);
}

static json_object *m_audit_status(struct daemon *d, json_object *params, int *code,
				   json_object **data, char *err, size_t errlen)
{
	return audit_method_status(d->audit, params, code, data, err, errlen);
}

static json_object *m_audit_findings(struct daemon *d, json_object *params, int *code,
				     json_object **data, char *err, size_t errlen)
{
	return audit_method_findings(d->audit, params, code, data, err, errlen);
}

static const struct method methods[] = {
	{"hello", true, m_hello, 1, false},
	{"host.status", true, m_host_status, 4, false},
	{"domain.list", true, m_domain_list, 4, true},
	{"domain.get", true, m_domain_get, 1, false},
	{"domain.set_target", false, m_domain_set_target, 1, false},
	{"domain.unpin", false, m_domain_unpin, 1, false},
	{"domain.set_policy", false, m_domain_set_policy, 1, false},
	{"pause", false, m_pause, 1, false},
	{"resume", false, m_resume, 1, false},
	{"config.reload", false, m_config_reload, 8, false},
	{"events.subscribe", true, m_events_subscribe, 1, false},
	{"events.unsubscribe", true, m_events_unsubscribe, 1, false},
	{"metrics", true, metrics_method, 8, true},
	{"plan", true, m_plan, 8, true},
	{"reserve", false, m_reserve, 1, false},
	{"reservation.list", true, m_reservation_list, 2, false},
	{"reservation.cancel", false, m_reservation_cancel, 1, false},
	{"reservation.transfer", false, m_reservation_transfer, 1, false},
	{"audit.run", false, m_audit_run, 4, false},
	{"audit.status", true, m_audit_status, 2, false},
	{"audit.findings", true, m_audit_findings, 4, false},
};

json_object *methods_capabilities(void)
{
	json_object *a = json_object_new_array();
	size_t i;

	for (i = 0; i < sizeof(methods) / sizeof(*methods); i++)
		json_object_array_add(a, json_object_new_string(methods[i].name));
	return a;
}

unsigned methods_cost(const struct daemon *d, const char *method)
{
	/* domains are counted by domid (fewer than 2^15): no overflow */
	unsigned i, per = d->engine ? (unsigned)(engine_count(d->engine) / COST_DOMAINS) : 0;

	for (i = 0; i < sizeof(methods) / sizeof(*methods); i++)
		if (strcmp(methods[i].name, method) == 0)
			return methods[i].cost + (methods[i].per_domain ? per : 0);
	return 1;
}

json_object *methods_dispatch(struct daemon *d, const struct rpc_request *req, bool read_only)
{
	const struct method *m = NULL;
	json_object *result, *data = NULL;
	char err[512] = "";
	int code = RPC_INTERNAL_ERROR;
	size_t i;

	for (i = 0; i < sizeof(methods) / sizeof(*methods); i++)
		if (strcmp(methods[i].name, req->method) == 0)
			m = &methods[i];
	if (!m) {
		if (req->notification)
			return NULL;
		snprintf(err, sizeof(err), "method not found: %.*s",
			 (int)utf8_prefix(req->method, 64), req->method);
		return rpc_make_error(req->id, RPC_METHOD_NOT_FOUND, err, NULL);
	}
	if (read_only && !m->read_only) {
		if (req->notification)
			return NULL;
		snprintf(err, sizeof(err), "not permitted: %s needs root", m->name);
		return rpc_make_error(req->id, RPC_ERR_NOT_PERMITTED, err, NULL);
	}
	result = m->fn(d, req->params, &code, &data, err, sizeof(err));
	if (req->notification) {
		json_object_put(result);
		json_object_put(data);
		return NULL;
	}
	if (!result) {
		if (!err[0])
			snprintf(err, sizeof(err), "%s", rpc_error_name(code));
		return rpc_make_error(req->id, code, err, data);
	}
	return rpc_make_result(req->id, result);
}
