/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The metrics method. One list of metric families is built from the engine,
 * the daemon's counters and the control server's; it is the JSON result as
 * is, and the Prometheus text (exposition format 0.0.4) is rendered from
 * it, so that both always say the same. Domain names are chosen by guests
 * and toolstacks: they are escaped, never trusted. */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "control.h"
#include "daemon.h"
#include "metrics.h"

#define METRICS_REFRESH_MAX_AGE_MS 200
#define KIB 1024

/* Append a family {name, type, help, samples: []} to list; returns its
 * samples array (borrowed). */
static json_object *family_add(json_object *list, const char *name, const char *type,
			       const char *help)
{
	json_object *f = json_object_new_object(), *samples = json_object_new_array();

	json_object_object_add(f, "name", json_object_new_string(name));
	json_object_object_add(f, "type", json_object_new_string(type));
	json_object_object_add(f, "help", json_object_new_string(help));
	json_object_object_add(f, "samples", samples);
	json_object_array_add(list, f);
	return samples;
}

/* Append {labels, value} to samples; labels (may be NULL) and value are taken. */
static void sample_add(json_object *samples, json_object *labels, json_object *value)
{
	json_object *s = json_object_new_object();

	json_object_object_add(s, "labels", labels ? labels : json_object_new_object());
	json_object_object_add(s, "value", value);
	json_object_array_add(samples, s);
}

/* A family with one unlabelled integer sample. */
static void gauge_one(json_object *list, const char *name, const char *type, const char *help,
		      int64_t v)
{
	sample_add(family_add(list, name, type, help), NULL, json_object_new_int64(v));
}

/* The {domid, name} labels of a domain (a new object). */
static json_object *dom_labels(const struct engine_dom *dom)
{
	json_object *l = json_object_new_object();
	char id[16];

	snprintf(id, sizeof(id), "%" PRIu32, dom->domid);
	json_object_object_add(l, "domid", json_object_new_string(id));
	json_object_object_add(l, "name", json_object_new_string(dom->name));
	return l;
}

/* Per-domain size gauges: which member of engine_dom each one shows. */
struct dom_gauge {
	const char *name, *help;
	size_t offset; /* uint64_t KiB in struct engine_dom */
	ptrdiff_t has; /* bool in struct engine_dom saying it is known, or -1 */
};

static const struct dom_gauge dom_gauges[] = {
	{"balloond_domain_actual_bytes", "Memory the domain has now (Xen tot_pages).",
	 offsetof(struct engine_dom, actual_kib), -1},
	{"balloond_domain_target_bytes", "The domain's balloon target (memory/target).",
	 offsetof(struct engine_dom, target_kib), offsetof(struct engine_dom, has_target)},
	{"balloond_domain_maxmem_bytes", "The hypervisor's cap on the domain (maxmem).",
	 offsetof(struct engine_dom, maxmem_kib), -1},
	{"balloond_domain_static_max_bytes", "The domain's static-max.",
	 offsetof(struct engine_dom, static_max_kib), -1},
	{"balloond_domain_dynamic_min_bytes", "The lowest target balloond may set (dmin).",
	 offsetof(struct engine_dom, dmin_kib), -1},
	{"balloond_domain_dynamic_max_bytes", "The highest target balloond may set (dmax).",
	 offsetof(struct engine_dom, dmax_kib), -1},
	{"balloond_domain_demand_bytes", "What the domain needs by its own report.",
	 offsetof(struct engine_dom, demand_kib), offsetof(struct engine_dom, has_demand)},
};

/* Every metric family, as the JSON result lists them. */
static json_object *metrics_collect(struct daemon *d)
{
	static const enum pressure_level levels[] = {PRESSURE_NONE, PRESSURE_TIGHT,
						     PRESSURE_CRITICAL};
	json_object *list = json_object_new_array(), *s, *l;
	struct control_stats cs = {0};
	struct engine_host h;
	size_t i, g, n = engine_count(d->engine);
	char up[32];

	engine_host_status(d->engine, &h);
	if (d->ctl)
		control_get_stats(d->ctl, &cs);

	s = family_add(list, "balloond_info", "gauge", "balloond's version and backend.");
	l = json_object_new_object();
	json_object_object_add(l, "version", json_object_new_string(PACKAGE_VERSION));
	json_object_object_add(l, "backend", json_object_new_string(d->bops->name));
	sample_add(s, l, json_object_new_int(1));
	s = family_add(list, "balloond_uptime_seconds", "gauge", "Seconds since balloond started.");
	snprintf(up, sizeof(up), "%.3f", (double)(clock_now_ms() - d->start_ms) / 1000.0);
	sample_add(s, NULL, json_object_new_double_s(strtod(up, NULL), up));
	gauge_one(list, "balloond_paused", "gauge", "1 while paused (no target is written).",
		  h.paused);

	gauge_one(list, "balloond_host_total_bytes", "gauge", "Host memory Xen manages.",
		  (int64_t)h.total_kib * KIB);
	gauge_one(list, "balloond_host_free_bytes", "gauge", "Host memory free in Xen.",
		  (int64_t)h.free_kib * KIB);
	gauge_one(list, "balloond_host_scrub_bytes", "gauge", "Free memory not scrubbed yet.",
		  (int64_t)h.scrub_kib * KIB);
	gauge_one(list, "balloond_host_outstanding_bytes", "gauge",
		  "Memory claimed by domains being built.", (int64_t)h.outstanding_kib * KIB);
	gauge_one(list, "balloond_host_pool_bytes", "gauge", "The safety pool balloond keeps free.",
		  (int64_t)h.pool_kib * KIB);
	gauge_one(list, "balloond_host_committed_bytes", "gauge",
		  "Memory that targets above actuals will still take.",
		  (int64_t)h.committed_kib * KIB);
	gauge_one(list, "balloond_host_reserved_bytes", "gauge", "Memory held for reservations.",
		  (int64_t)h.reserved_kib * KIB);
	gauge_one(list, "balloond_host_available_bytes", "gauge",
		  "Free minus pool, outstanding and committed (may be negative).",
		  h.available_kib * KIB);
	s = family_add(list, "balloond_host_pressure", "gauge",
		       "1 for the host's pressure level now, 0 for the others.");
	for (i = 0; i < sizeof(levels) / sizeof(*levels); i++) {
		l = json_object_new_object();
		json_object_object_add(l, "level",
				       json_object_new_string(pressure_name(levels[i])));
		sample_add(s, l, json_object_new_int(h.pressure == levels[i]));
	}
	gauge_one(list, "balloond_domains", "gauge", "Domains balloond knows.", h.domains);
	gauge_one(list, "balloond_domains_managed", "gauge", "Domains balloond balances.",
		  h.managed);
	gauge_one(list, "balloond_domains_converging", "gauge",
		  "Domains whose balloon is moving toward its target.", h.converging);
	gauge_one(list, "balloond_domains_stalled", "gauge",
		  "Domains whose balloon made no progress lately.", h.stalled);
	gauge_one(list, "balloond_domains_uncooperative", "gauge",
		  "Domains that do not follow their target.", h.uncooperative);

	s = family_add(list, "balloond_domain_info", "gauge",
		       "1 per domain, with its type, mode and balloon state as labels.");
	for (i = 0; i < n; i++) {
		const struct engine_dom *dom = engine_at(d->engine, i);

		l = dom_labels(dom);
		json_object_object_add(l, "type", json_object_new_string(dom_type_name(dom->type)));
		json_object_object_add(l, "mode",
				       json_object_new_string(domain_mode_name(dom->mode)));
		json_object_object_add(l, "state",
				       json_object_new_string(dom_state_name(dom->state)));
		sample_add(s, l, json_object_new_int(1));
	}
	for (g = 0; g < sizeof(dom_gauges) / sizeof(*dom_gauges); g++) {
		s = family_add(list, dom_gauges[g].name, "gauge", dom_gauges[g].help);
		for (i = 0; i < n; i++) {
			const struct engine_dom *dom = engine_at(d->engine, i);
			const char *base = (const char *)dom;
			uint64_t kib;

			if (dom_gauges[g].has >= 0 && !*(const bool *)(base + dom_gauges[g].has))
				continue;
			memcpy(&kib, base + dom_gauges[g].offset, sizeof(kib));
			sample_add(s, dom_labels(dom), json_object_new_int64((int64_t)kib * KIB));
		}
	}

	gauge_one(list, "balloond_steps_total", "counter", "Decision rounds run.",
		  (int64_t)d->steps);
	gauge_one(list, "balloond_target_writes_total", "counter",
		  "memory/target writes attempted.", (int64_t)d->applied.targets);
	gauge_one(list, "balloond_maxmem_writes_total", "counter", "maxmem changes attempted.",
		  (int64_t)d->applied.maxmems);
	gauge_one(list, "balloond_persist_writes_total", "counter",
		  "State records written to XenStore.", (int64_t)d->applied.persists);
	gauge_one(list, "balloond_failed_actions_total", "counter",
		  "Actions the hypervisor or XenStore refused.", (int64_t)d->applied.failures);
	gauge_one(list, "balloond_control_connections_total", "counter",
		  "Control socket connections accepted.", (int64_t)cs.connections);
	gauge_one(list, "balloond_control_clients", "gauge", "Control connections open now.",
		  cs.clients);
	gauge_one(list, "balloond_event_subscribers", "gauge",
		  "Control connections subscribed to events.", cs.subscribers);
	gauge_one(list, "balloond_events_sent_total", "counter",
		  "Event notifications queued to subscribers.", (int64_t)cs.events_sent);
	gauge_one(list, "balloond_events_dropped_total", "counter",
		  "Event notifications dropped because a subscriber read too slowly.",
		  (int64_t)cs.events_dropped);
	return list;
}

/* Write s to f with the escapes of a label value (escape_quote) or of HELP
 * text: backslash, newline and (label values) double quote. Other control
 * characters and bytes that are not valid UTF-8 become U+FFFD, so that the
 * text stays UTF-8 and cannot drive a terminal. */
static void prom_escape(FILE *f, const char *s, bool escape_quote)
{
	const unsigned char *p = (const unsigned char *)s;

	while (*p) {
		size_t len = 0, i;
		unsigned cp = 0;

		if (*p < 0x80) {
			if (*p == '\\')
				fputs("\\\\", f);
			else if (*p == '\n')
				fputs("\\n", f);
			else if (*p == '"' && escape_quote)
				fputs("\\\"", f);
			else if (*p < 0x20 || *p == 0x7f)
				fputs("\xef\xbf\xbd", f);
			else
				fputc(*p, f);
			p++;
			continue;
		}
		if (*p >= 0xc2 && *p <= 0xdf)
			len = 2, cp = *p & 0x1f;
		else if (*p >= 0xe0 && *p <= 0xef)
			len = 3, cp = *p & 0x0f;
		else if (*p >= 0xf0 && *p <= 0xf4)
			len = 4, cp = *p & 0x07;
		for (i = 1; i < len; i++) {
			if ((p[i] & 0xc0) != 0x80)
				break;
			cp = cp << 6 | (p[i] & 0x3f);
		}
		if (len == 0 || i < len ||
		    (len == 3 && (cp < 0x800 || (cp >= 0xd800 && cp < 0xe000))) ||
		    (len == 4 && (cp < 0x10000 || cp > 0x10ffff))) {
			fputs("\xef\xbf\xbd", f);
			p++;
			continue;
		}
		fwrite(p, 1, len, f);
		p += len;
	}
}

/* A sample value: integers exactly, other numbers with millisecond digits. */
static void prom_value(FILE *f, json_object *v)
{
	if (json_object_is_type(v, json_type_int))
		fprintf(f, "%" PRId64, json_object_get_int64(v));
	else
		fprintf(f, "%.3f", json_object_get_double(v));
}

char *metrics_to_prometheus(json_object *metrics)
{
	char *buf = NULL;
	size_t len = 0, i, j, nf = json_object_array_length(metrics);
	FILE *f = open_memstream(&buf, &len);

	if (!f)
		return NULL;
	for (i = 0; i < nf; i++) {
		json_object *fam = json_object_array_get_idx(metrics, i), *name, *type, *help;
		json_object *samples;
		size_t ns;

		if (!json_object_object_get_ex(fam, "name", &name) ||
		    !json_object_object_get_ex(fam, "type", &type) ||
		    !json_object_object_get_ex(fam, "help", &help) ||
		    !json_object_object_get_ex(fam, "samples", &samples))
			continue;
		fprintf(f, "# HELP %s ", json_object_get_string(name));
		prom_escape(f, json_object_get_string(help), false);
		fprintf(f, "\n# TYPE %s %s\n", json_object_get_string(name),
			json_object_get_string(type));
		ns = json_object_array_length(samples);
		for (j = 0; j < ns; j++) {
			json_object *sm = json_object_array_get_idx(samples, j), *labels, *value;
			bool first = true;

			if (!json_object_object_get_ex(sm, "labels", &labels) ||
			    !json_object_object_get_ex(sm, "value", &value))
				continue;
			fputs(json_object_get_string(name), f);
			json_object_object_foreach(labels, key, val)
			{
				fprintf(f, "%s%s=\"", first ? "{" : ",", key);
				prom_escape(f, json_object_get_string(val), true);
				fputc('"', f);
				first = false;
			}
			if (!first)
				fputc('}', f);
			fputc(' ', f);
			prom_value(f, value);
			fputc('\n', f);
		}
	}
	if (fclose(f) != 0) {
		free(buf);
		return NULL;
	}
	return buf;
}

struct metrics_params {
	char format[16];
};

static const struct rpc_field metrics_fields[] = {
	{"format", RPC_FIELD_STRING, offsetof(struct metrics_params, format),
	 sizeof(((struct metrics_params *)0)->format), false, 0, RPC_NO_PRESENT},
	{NULL},
};

json_object *metrics_method(struct daemon *d, json_object *params, int *code, json_object **data,
			    char *err, size_t errlen)
{
	struct metrics_params p = {"json"};
	json_object *list, *o;
	char *text;

	if (rpc_params_decode(params, metrics_fields, &p, err, errlen) != 0) {
		*code = RPC_INVALID_PARAMS;
		return NULL;
	}
	if (strcmp(p.format, "json") != 0 && strcmp(p.format, "prometheus") != 0) {
		*code = RPC_INVALID_PARAMS;
		snprintf(err, errlen, "format must be \"json\" or \"prometheus\", not \"%s\"",
			 p.format);
		return NULL;
	}
	daemon_refresh(d, METRICS_REFRESH_MAX_AGE_MS);
	list = metrics_collect(d);
	o = json_object_new_object();
	json_object_object_add(o, "format", json_object_new_string(p.format));
	if (strcmp(p.format, "json") == 0) {
		json_object_object_add(o, "metrics", list);
		return o;
	}
	text = metrics_to_prometheus(list);
	json_object_put(list);
	if (!text) {
		json_object_put(o);
		*code = RPC_INTERNAL_ERROR;
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	json_object_object_add(o, "text", json_object_new_string(text));
	free(text);
	return o;
}
