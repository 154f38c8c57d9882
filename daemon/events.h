/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Event notifications (events.subscribe): JSON-RPC notifications pushed to
 * the control connections that asked for a topic. */
#ifndef BALLOOND_EVENTS_H
#define BALLOOND_EVENTS_H

#include <stdbool.h>
#include <stddef.h>

#include <json-c/json.h>

struct engine;
struct engine_event;

/* Topics, as clients name them in events.subscribe. */
#define EVENTS_TOPIC_TARGET "target"	       /* a target or maxmem was written */
#define EVENTS_TOPIC_STATE "state"	       /* a balloon changed state */
#define EVENTS_TOPIC_PRESSURE "pressure"       /* host pressure level changed */
#define EVENTS_TOPIC_AUDIT "audit"	       /* an audit finished (with findings) */
#define EVENTS_TOPIC_RESERVATION "reservation" /* a reservation changed state */
#define EVENTS_TOPIC_DOMAIN "domain"	       /* a domain appeared or is gone */

/* Where notifications go: the subscribers, as the control server keeps
 * them (control.c implements it). Masks are events_topic_bit masks. */
struct events_sink_ops {
	/* Is anyone subscribed to a topic in mask? */
	bool (*subscribed)(void *arg, unsigned mask);
	/* Queue one serialized notification (without its newline) for every
	 * subscriber of a topic in mask. Never blocks. */
	void (*publish)(void *arg, unsigned mask, const char *line, size_t len);
	/* The topics of the connection whose request is being handled; false
	 * when no connection's request is. */
	bool (*caller_topics)(void *arg, unsigned *ret);
	/* Change them (only while caller_topics says there is a caller). */
	void (*caller_set_topics)(void *arg, unsigned topics);
};

/* A sink: ops NULL while there is nobody to tell. */
struct events_sink {
	const struct events_sink_ops *ops;
	void *arg;
};

/* Send {"jsonrpc":"2.0","method":"event","params":{"topic":topic,...params}}
 * to every connection subscribed to topic. Takes ownership of params (an
 * object; its members are merged into the notification's params). Never
 * blocks: a slow subscriber's queue is bounded by the control server. */
void events_publish(const struct events_sink *sink, const char *topic, json_object *params);

/* Publish one of the engine's per-step events under its topic (engine: for
 * the state of a reservation). */
void events_publish_engine(const struct events_sink *sink, const struct engine *engine,
			   const struct engine_event *ev);

/* The topic's bit in a subscription mask; 0 for an unknown topic. */
unsigned events_topic_bit(const char *topic);

/* A new notification {"jsonrpc":"2.0","method":"event","params":{"topic":
 * topic,"time":now,...params}}. Takes ownership of params (may be NULL). */
json_object *events_notification_new(const char *topic, json_object *params);

/* The events.subscribe and events.unsubscribe methods (for methods.c): they
 * change the topics of the sink's caller. */
json_object *events_method_subscribe(const struct events_sink *sink, json_object *params, int *code,
				     json_object **data, char *err, size_t errlen);
json_object *events_method_unsubscribe(const struct events_sink *sink, json_object *params,
				       int *code, json_object **data, char *err, size_t errlen);

#endif
