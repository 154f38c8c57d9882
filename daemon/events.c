/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Event notifications: the topics, events.subscribe/unsubscribe, and the
 * mapping of the engine's per-step events to topics. A notification is
 * serialized once and handed to a sink (the control server), which queues
 * it on each subscribed connection within that connection's bound. */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "engine.h"
#include "events.h"
#include "jsonrpc.h"
#include "utf8.h"

#define EVENTS_TOPICS_MAX 32 /* entries accepted in a topics list */

static const char *const topic_names[] = {
	EVENTS_TOPIC_TARGET, EVENTS_TOPIC_STATE,       EVENTS_TOPIC_PRESSURE,
	EVENTS_TOPIC_AUDIT,  EVENTS_TOPIC_RESERVATION, EVENTS_TOPIC_DOMAIN,
};
#define N_TOPICS (sizeof(topic_names) / sizeof(*topic_names))

unsigned events_topic_bit(const char *topic)
{
	size_t i;

	for (i = 0; topic && i < N_TOPICS; i++)
		if (strcmp(topic_names[i], topic) == 0)
			return 1u << i;
	return 0;
}

/* Every known topic. */
static unsigned topics_all(void)
{
	return (1u << N_TOPICS) - 1;
}

/* The names of the topics in mask, as a new JSON array. */
static json_object *topics_to_json(unsigned mask)
{
	json_object *a = json_object_new_array();
	size_t i;

	for (i = 0; i < N_TOPICS; i++)
		if (mask & (1u << i))
			json_object_array_add(a, json_object_new_string(topic_names[i]));
	return a;
}

/* Wall-clock seconds (with milliseconds) for the "time" member. */
static double events_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + (double)(ts.tv_nsec / 1000000) / 1000.0;
}

json_object *events_notification_new(const char *topic, json_object *params)
{
	json_object *p = json_object_new_object(), *n = json_object_new_object();
	char t[32];

	json_object_object_add(p, "topic", json_object_new_string(topic));
	snprintf(t, sizeof(t), "%.3f", events_now());
	json_object_object_add(p, "time", json_object_new_double_s(strtod(t, NULL), t));
	if (params && json_object_is_type(params, json_type_object)) {
		json_object_object_foreach(params, key, val)
		{
			if (strcmp(key, "topic") != 0 && strcmp(key, "time") != 0)
				json_object_object_add(p, key, json_object_get(val));
		}
	}
	json_object_put(params);
	json_object_object_add(n, "jsonrpc", json_object_new_string("2.0"));
	json_object_object_add(n, "method", json_object_new_string("event"));
	json_object_object_add(n, "params", p);
	return n;
}

void events_publish(const struct events_sink *sink, const char *topic, json_object *params)
{
	unsigned bit = events_topic_bit(topic);
	json_object *n;
	const char *s;

	if (!sink->ops || !bit || !sink->ops->subscribed(sink->arg, bit)) {
		json_object_put(params);
		return;
	}
	n = events_notification_new(topic, params);
	s = json_object_to_json_string_ext(n,
					   JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
	sink->ops->publish(sink->arg, bit, s, strlen(s));
	json_object_put(n);
}

/* A KiB value, or null for 0 (no value yet). */
static json_object *kib_or_null(uint64_t kib)
{
	return kib ? json_object_new_int64((int64_t)kib) : NULL;
}

/* {"kind":kind,"domid":N,"name":"..."}: the start of a domain's event. */
static json_object *dom_params(const struct engine_event *ev, const char *kind)
{
	json_object *p = json_object_new_object();

	json_object_object_add(p, "kind", json_object_new_string(kind));
	json_object_object_add(p, "domid", json_object_new_int64(ev->domid));
	json_object_object_add(p, "name", json_object_new_string(ev->name));
	return p;
}

void events_publish_engine(const struct events_sink *sink, const struct engine *engine,
			   const struct engine_event *ev)
{
	const struct engine_resv *r;
	json_object *p;

	switch (ev->type) {
	case EV_TARGET:
		p = dom_params(ev, "target");
		json_object_object_add(p, "old", kib_or_null(ev->old_kib));
		json_object_object_add(p, "new", json_object_new_int64((int64_t)ev->new_kib));
		json_object_object_add(p, "reason", json_object_new_string(ev->text));
		events_publish(sink, EVENTS_TOPIC_TARGET, p);
		break;
	case EV_PIN:
		p = dom_params(ev, "pin");
		json_object_object_add(p, "old", kib_or_null(ev->old_kib));
		json_object_object_add(p, "new", json_object_new_int64((int64_t)ev->new_kib));
		json_object_object_add(p, "reason", json_object_new_string(ev->text));
		events_publish(sink, EVENTS_TOPIC_TARGET, p);
		break;
	case EV_UNPIN:
		p = dom_params(ev, "unpin");
		json_object_object_add(p, "reason", json_object_new_string(ev->text));
		events_publish(sink, EVENTS_TOPIC_TARGET, p);
		break;
	case EV_STATE:
		p = dom_params(ev, "state");
		json_object_object_add(p, "old",
				       json_object_new_string(dom_state_name(ev->old_state)));
		json_object_object_add(p, "new",
				       json_object_new_string(dom_state_name(ev->new_state)));
		json_object_object_add(p, "reason", json_object_new_string(ev->text));
		events_publish(sink, EVENTS_TOPIC_STATE, p);
		break;
	case EV_DOMAIN_NEW:
	case EV_DOMAIN_GONE:
		p = dom_params(ev, ev->type == EV_DOMAIN_NEW ? "new" : "gone");
		events_publish(sink, EVENTS_TOPIC_DOMAIN, p);
		break;
	case EV_PRESSURE:
		p = json_object_new_object();
		json_object_object_add(p, "kind", json_object_new_string("pressure"));
		json_object_object_add(
			p, "old",
			json_object_new_string(pressure_name((enum pressure_level)ev->old_kib)));
		json_object_object_add(
			p, "new",
			json_object_new_string(pressure_name((enum pressure_level)ev->new_kib)));
		json_object_object_add(p, "reason", json_object_new_string(ev->text));
		events_publish(sink, EVENTS_TOPIC_PRESSURE, p);
		break;
	case EV_RESERVATION:
		p = json_object_new_object();
		r = engine_reservation_find(engine, ev->resv_id);
		json_object_object_add(p, "kind", json_object_new_string("reservation"));
		json_object_object_add(p, "id", json_object_new_int64(ev->resv_id));
		json_object_object_add(
			p, "state", r ? json_object_new_string(resv_state_name(r->state)) : NULL);
		json_object_object_add(p, "amount", json_object_new_int64((int64_t)ev->new_kib));
		json_object_object_add(
			p, "domid",
			r && r->state == RESV_TRANSFERRED ? json_object_new_int64(r->domid) : NULL);
		json_object_object_add(p, "reason", json_object_new_string(ev->text));
		events_publish(sink, EVENTS_TOPIC_RESERVATION, p);
		break;
	}
}

/* Decode {"topics": [names]} into a mask: absent params or an absent member
 * give every topic. -32602 with a sentence naming what is wrong. */
static int topics_decode(json_object *params, unsigned *ret, char *err, size_t errlen)
{
	json_object *topics = NULL;
	unsigned mask = 0;
	size_t i, n;

	if (params && !json_object_is_type(params, json_type_object)) {
		snprintf(err, errlen, "params must be an object {\"topics\": [...]}");
		return RPC_INVALID_PARAMS;
	}
	if (params) {
		json_object_object_foreach(params, key, val)
		{
			if (strcmp(key, "topics") != 0) {
				snprintf(err, errlen, "unknown member \"%.*s\"", (int)utf8_prefix(key, 64), key);
				return RPC_INVALID_PARAMS;
			}
			topics = val;
		}
	}
	if (!topics) {
		*ret = topics_all();
		return 0;
	}
	if (!json_object_is_type(topics, json_type_array)) {
		snprintf(err, errlen, "topics must be an array of topic names");
		return RPC_INVALID_PARAMS;
	}
	n = json_object_array_length(topics);
	if (n == 0) {
		snprintf(err, errlen, "topics is empty: omit it to mean every topic");
		return RPC_INVALID_PARAMS;
	}
	if (n > EVENTS_TOPICS_MAX) {
		snprintf(err, errlen, "topics has more than %d entries", EVENTS_TOPICS_MAX);
		return RPC_INVALID_PARAMS;
	}
	for (i = 0; i < n; i++) {
		json_object *t = json_object_array_get_idx(topics, i);
		unsigned bit;

		if (!json_object_is_type(t, json_type_string)) {
			snprintf(err, errlen, "topics[%zu] is not a string", i);
			return RPC_INVALID_PARAMS;
		}
		bit = events_topic_bit(json_object_get_string(t));
		if (!bit) {
			snprintf(err, errlen,
				 "unknown topic \"%.*s\" (known: target, state, pressure, audit, "
				 "reservation, domain)",
				 (int)utf8_prefix(json_object_get_string(t), 64), json_object_get_string(t));
			return RPC_INVALID_PARAMS;
		}
		mask |= bit;
	}
	*ret = mask;
	return 0;
}

/* events.subscribe and events.unsubscribe: change the calling connection's
 * topics; the result lists the topics it is subscribed to afterwards. */
static json_object *events_change(const struct events_sink *sink, json_object *params,
				  bool subscribe, int *code, char *err, size_t errlen)
{
	unsigned mask, now;
	json_object *o;
	int r;

	r = topics_decode(params, &mask, err, errlen);
	if (r != 0) {
		*code = r;
		return NULL;
	}
	if (!sink->ops || !sink->ops->caller_topics(sink->arg, &now)) {
		*code = RPC_INTERNAL_ERROR;
		snprintf(err, errlen, "no connection to subscribe");
		return NULL;
	}
	now = subscribe ? now | mask : now & ~mask;
	sink->ops->caller_set_topics(sink->arg, now);
	o = json_object_new_object();
	json_object_object_add(o, "topics", topics_to_json(now));
	return o;
}

json_object *events_method_subscribe(const struct events_sink *sink, json_object *params,
				     int *code, json_object **data, char *err, size_t errlen)
{
	return events_change(sink, params, true, code, err, errlen);
}

json_object *events_method_unsubscribe(const struct events_sink *sink, json_object *params,
				       int *code, json_object **data, char *err, size_t errlen)
{
	return events_change(sink, params, false, code, err, errlen);
}
