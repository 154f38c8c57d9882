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

/* The loop's event priorities (control_new_base): root's connections and
 * the listening socket are served first; everything else (other clients,
 * timers, the backend) shares the lower one, and the loop looks for new
 * events after each of those callbacks, so that root waits for at most one
 * turn of another connection, not for a turn of every one. */
#define CONTROL_PRIORITIES 2
#define CONTROL_PRIO_ROOT 0

/* A new event loop with those priorities, or NULL. */
struct event_base *control_new_base(void);

/* What the control server does with a request, given by whoever opens it. */
struct control_handler {
	/* Answer one request of a connection (read_only: the caller is not
	 * root). Returns the reply (new reference) or NULL for none. */
	json_object *(*dispatch)(void *arg, const struct rpc_request *req, bool read_only);
	/* What serving a call of method costs (1 for most; used to bound
	 * batches and the work done per turn); NULL: every call costs 1. */
	unsigned (*cost)(void *arg, const char *method);
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

/* Follow a reloaded conf: resolve the read group again, give the socket
 * file its group and mode again (never following a symlink), and close the
 * connections of users who no longer qualify. */
void control_reconf(struct control *ctl);

/* The server as the sink of event notifications: its connections are the
 * subscribers, the caller is the connection whose request is being
 * dispatched. A subscribed connection is exempt from the idle timeout
 * (it may stay silent) but not from the slow-reader one: events it leaves
 * unread for client_timeout drop it; its event queue is bounded. A connection
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
