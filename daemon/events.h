/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Event notifications (events.subscribe): JSON-RPC notifications pushed to
 * the control connections that asked for a topic. */
#ifndef BALLOOND_EVENTS_H
#define BALLOOND_EVENTS_H

#include <json-c/json.h>

struct daemon;
struct engine_event;

/* Topics, as clients name them in events.subscribe. */
#define EVENTS_TOPIC_TARGET "target"	       /* a target or maxmem was written */
#define EVENTS_TOPIC_STATE "state"	       /* a balloon changed state */
#define EVENTS_TOPIC_PRESSURE "pressure"       /* host pressure level changed */
#define EVENTS_TOPIC_AUDIT "audit"	       /* an audit finished (with findings) */
#define EVENTS_TOPIC_RESERVATION "reservation" /* a reservation changed state */
#define EVENTS_TOPIC_DOMAIN "domain"	       /* a domain appeared or is gone */

/* Send {"jsonrpc":"2.0","method":"event","params":{"topic":topic,...params}}
 * to every connection subscribed to topic. Takes ownership of params (an
 * object; its members are merged into the notification's params). Never
 * blocks: a slow subscriber's queue is bounded by the control server. */
void events_publish(struct daemon *d, const char *topic, json_object *params);

/* Publish one of the engine's per-step events under its topic. */
void events_publish_engine(struct daemon *d, const struct engine_event *ev);

/* The topic's bit in a subscription mask; 0 for an unknown topic. */
unsigned events_topic_bit(const char *topic);

/* A new notification {"jsonrpc":"2.0","method":"event","params":{"topic":
 * topic,"time":now,...params}}. Takes ownership of params (may be NULL). */
json_object *events_notification_new(const char *topic, json_object *params);

/* The events.subscribe and events.unsubscribe methods (for methods.c). */
json_object *events_method_subscribe(struct daemon *d, json_object *params, int *code,
				     json_object **data, char *err, size_t errlen);
json_object *events_method_unsubscribe(struct daemon *d, json_object *params, int *code,
				       json_object **data, char *err, size_t errlen);

#endif
