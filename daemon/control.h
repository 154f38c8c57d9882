/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The control socket server. */
#ifndef BALLOOND_CONTROL_H
#define BALLOOND_CONTROL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <event2/event.h>
#include <json-c/json.h>

#include "conf.h"
#include "events.h"
#include "jsonrpc.h"

struct control;

/* What the control server does with a request, given by whoever opens it. */
struct control_handler {
	/* Answer one request of a connection (read_only: the caller is not
	 * root). Returns the reply (new reference) or NULL for none. */
	json_object *(*dispatch)(void *arg, const struct rpc_request *req, bool read_only);
	void *arg;
};

/* Listen on the socket systemd passed (socket activation) or bind path, on
 * base's loop, with the limits of conf (followed across reloads: it must
 * outlive the server). Refuses to take over a socket a live daemon serves.
 * 0 or -errno with a sentence in err. */
int control_open(struct control **ret, struct event_base *base, const struct conf *conf,
		 const char *path, const struct control_handler *handler, char *err, size_t errlen);

/* Close every client and the listening socket (removing the file if we
 * created it). control_close(NULL) is fine. */
void control_close(struct control *ctl);

/* The server as the sink of event notifications: its connections are the
 * subscribers, the caller is the connection whose request is being
 * dispatched. A subscribed connection is exempt from the idle and
 * slow-client timeouts: its event queue is bounded instead. A connection
 * whose queue is over its bound loses events; once it has caught up it
 * gets one "dropped" notification saying how many it lost. */
void control_events_sink(struct control *ctl, struct events_sink *ret);

/* What the control server has counted, for the metrics method. */
struct control_stats {
	uint64_t connections;	 /* accepted since start */
	uint64_t events_sent;	 /* notifications queued */
	uint64_t events_dropped; /* notifications lost to full queues */
	unsigned clients;	 /* connected now */
	unsigned subscribers;	 /* of which subscribed to a topic */
};

void control_get_stats(const struct control *ctl, struct control_stats *ret);

#endif
