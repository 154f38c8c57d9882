/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The control socket server. */
#ifndef BALLOOND_CONTROL_H
#define BALLOOND_CONTROL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "daemon.h"

/* Listen on the socket systemd passed (socket activation) or bind path.
 * Refuses to take over a socket a live daemon serves. 0 or -errno with a
 * sentence in err. */
int control_open(struct control **ret, struct daemon *d, const char *path, char *err,
		 size_t errlen);

/* Close every client and the listening socket (removing the file if we
 * created it). control_close(NULL) is fine. */
void control_close(struct control *ctl);

/* The topics (events_topic_bit mask) a connection is subscribed to. A
 * subscribed connection is exempt from the idle and slow-client timeouts:
 * its event queue is bounded instead. */
unsigned control_client_topics(const struct client *c);
void control_client_set_topics(struct client *c, unsigned topics);

/* Is any connection subscribed to a topic in mask? */
bool control_has_subscribers(const struct control *ctl, unsigned mask);

/* Queue one serialized notification (without its newline) on every
 * connection subscribed to a topic in mask. A connection whose queue is
 * over its bound loses the event; once it has caught up it gets one
 * "dropped" notification saying how many it lost. Never blocks. */
void control_publish(struct control *ctl, unsigned mask, const char *line, size_t len);

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
