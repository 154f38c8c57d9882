/* Event notifications (events.subscribe): JSON-RPC notifications pushed to
 * the control connections that asked for a topic. */
#ifndef BALLOOND_EVENTS_H
#define BALLOOND_EVENTS_H

#include <json-c/json.h>

struct daemon;

/* Topics, as clients name them in events.subscribe. */
#define EVENTS_TOPIC_TARGET "target"	       /* a target or maxmem was written */
#define EVENTS_TOPIC_STATE "state"	       /* a balloon changed state */
#define EVENTS_TOPIC_PRESSURE "pressure"       /* host pressure level changed */
#define EVENTS_TOPIC_AUDIT "audit"	       /* an audit finished (with findings) */
#define EVENTS_TOPIC_RESERVATION "reservation" /* a reservation changed state */

/* Send {"jsonrpc":"2.0","method":"event","params":{"topic":topic,...params}}
 * to every connection subscribed to topic. Takes ownership of params (an
 * object; its members are merged into the notification's params). Never
 * blocks: a slow subscriber's queue is bounded by the control server. */
void events_publish(struct daemon *d, const char *topic, json_object *params);

#endif
