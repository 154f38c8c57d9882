/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The control socket: newline-delimited JSON-RPC 2.0 over a Unix stream
 * socket, with peer credentials checked on accept, bounded messages,
 * bounded send queues, connection caps and idle timeouts. A bad client
 * gets an error or is disconnected; it never stalls the daemon. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <systemd/sd-daemon.h>

#include "control.h"
#include "events.h"
#include "log.h"

#define JSON_MAX_DEPTH 32
#define SEND_QUEUE_MAX (4u << 20) /* a client that does not read is dropped */
#define ACCEPT_BACKOFF_MS 1000
/* Stop serving a connection's requests while this much of its replies is
 * unread; serving resumes once it has read them. */
#define SEND_QUEUE_PAUSE (1u << 20)
/* Input read ahead past max_message (so an over-long line is seen). */
#define READ_AHEAD 4096
/* A batch has at most this many calls and costs at most this much (a call
 * costs what the handler says: 1 for most, more for the big replies). */
#define BATCH_MAX_CALLS 32
#define BATCH_MAX_COST 64
/* Work done for one connection before the loop serves the others. */
#define TURN_MAX_COST 64
/* Connection slots that only root may take (fewer when max_clients is
 * small: half of them). */
#define ROOT_SLOTS 4
/* Events queued for one subscriber at most; past it events are dropped
 * until the queue has drained to half (then one "dropped" notice). */
#define EVENTS_QUEUE_MAX (256u << 10)

enum client_role { ROLE_NONE, ROLE_READ, ROLE_ADMIN };

struct client {
	struct control *ctl;
	struct bufferevent *bev;
	uid_t uid;
	gid_t gid; /* primary, from SO_PEERCRED */
	pid_t pid;
	enum client_role role;
	bool closing; /* flush what is queued, then close */
	bool eof;     /* the peer shut down its side: serve what came, then close */
	bool failed;  /* closing on an error: linger before the close (client_linger) */
	size_t linger_left; /* bytes still to drop while lingering */
	struct event *resume_ev; /* serve the rest of the input on the next turn */
	struct event *line_ev;	 /* a request line not complete by then: drop */
	unsigned topics;  /* events subscribed to (events_topic_bit mask) */
	bool dropping;	  /* the event queue overflowed: dropping until it drains */
	uint64_t dropped; /* events lost since the last "dropped" notice */
	struct client *next;
};

struct control {
	struct event_base *base;
	const struct conf *conf;
	struct control_handler handler;
	struct client *caller; /* whose request is being dispatched, or NULL */
	int fd;
	bool owns_path; /* we created the socket file (not socket activation) */
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	char dir[sizeof(((struct sockaddr_un *)0)->sun_path)];	/* its directory */
	char base_name[sizeof(((struct sockaddr_un *)0)->sun_path)]; /* its name there */
	ino_t sock_ino; /* the socket file we bound, once seen */
	dev_t sock_dev;
	char errbuf[256];
	struct event *accept_ev;
	struct event *backoff_ev;
	struct client *clients;
	unsigned n_clients;
	gid_t read_gid;
	bool have_read_gid;
	uint64_t connections, events_sent, events_dropped;
	struct client *lingering; /* closed with an error, draining (client_linger) */
	unsigned n_lingering;
};

/* Closing a Unix socket with unread input resets the peer: a client still
 * writing its request when it is refused (too many clients, an oversized
 * message) would get EPIPE or ECONNRESET and never read the error reply.
 * So a connection closed on an error first shuts its write side (the
 * reply, then end of file), then reads and drops what the peer still
 * sends, for at most LINGER_MS and LINGER_MAX_BYTES, outside the client
 * count and its caps. At most LINGER_MAX_CLIENTS linger at once; beyond
 * that, the close is immediate. */
#define LINGER_MS 500
#define LINGER_MAX_BYTES (1024 * 1024)
#define LINGER_MAX_CLIENTS 16

struct event_base *control_new_base(void)
{
	struct event_config *cfg = event_config_new();
	struct event_base *base;

	if (!cfg)
		return NULL;
	/* after each callback of the lower priority, look for new events */
	event_config_set_max_dispatch_interval(cfg, NULL, 1, CONTROL_PRIO_ROOT + 1);
	base = event_base_new_with_config(cfg);
	event_config_free(cfg);
	if (base && event_base_priority_init(base, CONTROL_PRIORITIES) < 0) {
		event_base_free(base);
		return NULL;
	}
	return base;
}

/* Free a client's events, its connection and itself. */
static void client_release(struct client *c)
{
	if (c->resume_ev)
		event_free(c->resume_ev);
	if (c->line_ev)
		event_free(c->line_ev);
	bufferevent_free(c->bev);
	free(c);
}

static void client_unlink_from(struct client **list, struct client *c)
{
	struct client **pp;

	for (pp = list; *pp; pp = &(*pp)->next)
		if (*pp == c) {
			*pp = c->next;
			break;
		}
}

/* Take a client out of the served ones; accept again if the cap had
 * stopped it. */
static void client_unlink(struct client *c)
{
	struct control *ctl = c->ctl;

	client_unlink_from(&ctl->clients, c);
	ctl->n_clients--;
	if (ctl->caller == c)
		ctl->caller = NULL;
	if (!event_pending(ctl->accept_ev, EV_READ, NULL) &&
	    !event_pending(ctl->backoff_ev, EV_TIMEOUT, NULL))
		event_add(ctl->accept_ev, NULL);
}

/* Unlink a client and free it. */
static void client_free(struct client *c)
{
	client_unlink(c);
	client_release(c);
}

static void linger_free(struct client *c)
{
	client_unlink_from(&c->ctl->lingering, c);
	c->ctl->n_lingering--;
	client_release(c);
}

static void linger_read_cb(struct bufferevent *bev, void *arg)
{
	struct client *c = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	size_t n = evbuffer_get_length(in);

	evbuffer_drain(in, n);
	if (n >= c->linger_left) {
		linger_free(c);
		return;
	}
	c->linger_left -= n;
}

static void linger_event_cb(struct bufferevent *bev, short what, void *arg)
{
	linger_free(arg);
}

static void linger_timeout_cb(evutil_socket_t fd, short what, void *arg)
{
	linger_free(arg);
}

/* The error reply of a failed connection is written: shut the write side
 * and drain the peer's input for a moment before closing (see LINGER_MS). */
static void client_linger(struct client *c)
{
	struct control *ctl = c->ctl;
	struct timeval tv = {LINGER_MS / 1000, LINGER_MS % 1000 * 1000};

	if (c->eof || ctl->n_lingering >= LINGER_MAX_CLIENTS) {
		client_free(c);
		return;
	}
	client_unlink(c);
	c->next = ctl->lingering;
	ctl->lingering = c;
	ctl->n_lingering++;
	c->linger_left = LINGER_MAX_BYTES;
	shutdown(bufferevent_getfd(c->bev), SHUT_WR);
	event_del(c->resume_ev);
	event_free(c->line_ev);
	c->line_ev = evtimer_new(ctl->base, linger_timeout_cb, c);
	if (!c->line_ev) {
		linger_free(c);
		return;
	}
	evtimer_add(c->line_ev, &tv);
	bufferevent_set_timeouts(c->bev, NULL, NULL);
	bufferevent_setwatermark(c->bev, EV_READ, 0, 0);
	bufferevent_setcb(c->bev, linger_read_cb, NULL, linger_event_cb, c);
	bufferevent_enable(c->bev, EV_READ);
}

static unsigned clients_of_uid(const struct control *ctl, uid_t uid)
{
	const struct client *c;
	unsigned n = 0;

	for (c = ctl->clients; c; c = c->next)
		n += c->uid == uid;
	return n;
}

/* Queue one JSON value as a line. Takes the reference. */
static void client_send(struct client *c, json_object *obj)
{
	struct evbuffer *out = bufferevent_get_output(c->bev);
	const char *s;

	if (!obj)
		return;
	s = json_object_to_json_string_ext(obj, JSON_C_TO_STRING_PLAIN |
						    JSON_C_TO_STRING_NOSLASHESCAPE);
	evbuffer_add(out, s, strlen(s));
	evbuffer_add(out, "\n", 1);
	json_object_put(obj);
}

/* Send an error, then close once it is written. */
static void client_fail(struct client *c, int code, const char *msg)
{
	client_send(c, rpc_make_error(NULL, code, msg, NULL));
	c->closing = true;
	c->failed = true;
	evtimer_del(c->line_ev);
	bufferevent_disable(c->bev, EV_READ);
}

/* Handle one request object (an element of a batch or a whole message). */
static json_object *client_handle_one(struct client *c, json_object *obj)
{
	struct rpc_request req;
	json_object *id = NULL, *reply;
	char err[256];

	if (rpc_request_parse(obj, &req, &id, err, sizeof(err)) != 0)
		return rpc_make_error(id, RPC_INVALID_REQUEST, err, NULL);
	if (c->role == ROLE_NONE) {
		if (req.notification)
			return NULL;
		snprintf(err, sizeof(err),
			 "not permitted: uid %u is neither root nor in the read group", (unsigned)c->uid);
		return rpc_make_error(req.id, RPC_ERR_NOT_PERMITTED, err, NULL);
	}
	c->ctl->caller = c;
	reply = c->ctl->handler.dispatch(c->ctl->handler.arg, &req, c->role != ROLE_ADMIN);
	c->ctl->caller = NULL;
	return reply;
}

/* What one element of a message costs to serve: the handler's cost of
 * its method, 1 when it has none, at most a batch's limit (so a batch of
 * one call is always served). */
static unsigned client_cost_one(const struct client *c, json_object *obj)
{
	json_object *m;
	unsigned cost;

	if (!c->ctl->handler.cost || !json_object_is_type(obj, json_type_object) ||
	    !json_object_object_get_ex(obj, "method", &m) ||
	    !json_object_is_type(m, json_type_string))
		return 1;
	cost = c->ctl->handler.cost(c->ctl->handler.arg, json_object_get_string(m));
	return cost < BATCH_MAX_COST ? cost : BATCH_MAX_COST;
}

/* Serve a batch within its limits, building the reply in a buffer of its
 * own that may not push the connection's send queue past its bound (past
 * it the reply is replaced by an error). Returns what it cost. */
static unsigned client_handle_batch(struct client *c, json_object *msg)
{
	struct evbuffer *out = bufferevent_get_output(c->bev);
	size_t i, n = json_object_array_length(msg), queued = evbuffer_get_length(out);
	size_t room = queued < SEND_QUEUE_MAX ? SEND_QUEUE_MAX - queued : 0;
	struct evbuffer *reply;
	unsigned cost = 0, replies = 0;
	bool overflow = false;
	char err[160];

	if (n == 0) {
		client_send(c, rpc_make_error(NULL, RPC_INVALID_REQUEST, "empty batch", NULL));
		return 1;
	}
	if (n > BATCH_MAX_CALLS) {
		snprintf(err, sizeof(err), "batch of %zu calls: at most %d are served", n,
			 BATCH_MAX_CALLS);
		client_send(c, rpc_make_error(NULL, RPC_INVALID_REQUEST, err, NULL));
		return 1;
	}
	for (i = 0; i < n; i++)
		cost += client_cost_one(c, json_object_array_get_idx(msg, i));
	if (cost > BATCH_MAX_COST) {
		snprintf(err, sizeof(err),
			 "batch costs %u: at most %d is served (metrics, plan and the lists cost "
			 "more than one)",
			 cost, BATCH_MAX_COST);
		client_send(c, rpc_make_error(NULL, RPC_INVALID_REQUEST, err, NULL));
		return 1;
	}
	reply = evbuffer_new();
	if (!reply) {
		client_send(c, rpc_make_error(NULL, RPC_INTERNAL_ERROR, "out of memory", NULL));
		return cost;
	}
	for (i = 0; i < n; i++) {
		json_object *r = client_handle_one(c, json_object_array_get_idx(msg, i));
		const char *s;
		size_t len;

		if (!r)
			continue;
		s = json_object_to_json_string_ext(r, JSON_C_TO_STRING_PLAIN |
							      JSON_C_TO_STRING_NOSLASHESCAPE);
		len = strlen(s);
		if (!overflow && evbuffer_get_length(reply) + len + 2 <= room) {
			evbuffer_add(reply, replies++ ? "," : "[", 1);
			evbuffer_add(reply, s, len);
		} else {
			overflow = true;
		}
		json_object_put(r);
	}
	if (overflow) {
		snprintf(err, sizeof(err),
			 "the batch's reply would exceed the send queue's %u bytes; it was "
			 "served but its reply is dropped",
			 SEND_QUEUE_MAX);
		client_send(c, rpc_make_error(NULL, RPC_ERR_BUSY, err, NULL));
	} else if (replies) {
		evbuffer_add(reply, "]\n", 2);
		evbuffer_add_buffer(out, reply);
	}
	evbuffer_free(reply);
	return cost;
}

/* Handle one line: a request or a batch. Returns what it cost. */
static unsigned client_handle_line(struct client *c, const char *line, size_t len)
{
	json_object *msg = NULL;
	unsigned cost;
	char err[256];

	if (rpc_parse(line, len, JSON_MAX_DEPTH, &msg, err, sizeof(err)) != 0) {
		client_send(c, rpc_make_error(NULL, RPC_PARSE_ERROR, err, NULL));
		return 1;
	}
	if (json_object_is_type(msg, json_type_array)) {
		cost = client_handle_batch(c, msg);
	} else {
		cost = client_cost_one(c, msg);
		client_send(c, client_handle_one(c, msg));
	}
	json_object_put(msg);
	return cost;
}

/* Refuse a message over max_message bytes and close. */
static void client_fail_size(struct client *c, size_t max)
{
	char msg[96];

	snprintf(msg, sizeof(msg), "message exceeds %zu bytes", max);
	client_fail(c, RPC_INVALID_REQUEST, msg);
}

/* Arm the deadline for the request line now arriving, once: the whole
 * line must come within client_timeout however slowly it trickles. */
static void client_arm_line_deadline(struct client *c)
{
	uint64_t ms = c->ctl->conf->client_timeout_ms;
	struct timeval tv = {(time_t)(ms / 1000), (suseconds_t)(ms % 1000 * 1000)};

	if (!evtimer_pending(c->line_ev, NULL))
		evtimer_add(c->line_ev, &tv);
}

/* Serve the complete request lines a connection has sent, a bounded
 * amount per turn (the rest on the next turn, so one connection cannot
 * hold the loop), and not while its replies pile up unread. At the peer's
 * end of input a last line without its newline is served too. */
static void client_serve(struct client *c)
{
	struct evbuffer *in = bufferevent_get_input(c->bev);
	struct evbuffer *out = bufferevent_get_output(c->bev);
	size_t max = (size_t)c->ctl->conf->max_message;
	unsigned spent = 0;

	while (!c->closing) {
		struct evbuffer_ptr eol;
		char *line;
		size_t len;

		if (evbuffer_get_length(out) > SEND_QUEUE_PAUSE)
			return; /* client_write_cb serves the rest once it is read */
		if (spent >= TURN_MAX_COST) {
			event_active(c->resume_ev, EV_TIMEOUT, 0);
			return;
		}
		eol = evbuffer_search_eol(in, NULL, NULL, EVBUFFER_EOL_LF);
		if (eol.pos < 0) {
			len = evbuffer_get_length(in);
			if (len > max) {
				client_fail_size(c, max);
			} else if (c->eof) {
				if (len > 0) {
					line = (char *)evbuffer_pullup(in, -1);
					if (line[len - 1] == '\r')
						len--;
					if (len > 0)
						client_handle_line(c, line, len);
				}
				evbuffer_drain(in, evbuffer_get_length(in));
				c->closing = true;
			} else if (len > 0) {
				client_arm_line_deadline(c);
			}
			break;
		}
		if ((size_t)eol.pos > max) {
			client_fail_size(c, max);
			break;
		}
		evtimer_del(c->line_ev);
		line = evbuffer_readln(in, &len, EVBUFFER_EOL_LF);
		if (!line)
			break;
		if (len > 0 && line[len - 1] == '\r')
			len--;
		if (len > 0)
			spent += client_handle_line(c, line, len);
		else
			spent++;
		free(line);
		/* A client that does not read its replies and keeps sending is
		 * dropped. */
		if (evbuffer_get_length(out) > SEND_QUEUE_MAX) {
			log_warnx("control: dropping client pid %d: it does not read its replies",
				  (int)c->pid);
			client_free(c);
			return;
		}
	}
	if (c->closing) {
		evtimer_del(c->line_ev);
		bufferevent_disable(c->bev, EV_READ);
		if (evbuffer_get_length(out) == 0)
			client_free(c);
	}
}

static void client_read_cb(struct bufferevent *bev, void *arg)
{
	client_serve(arg);
}

static void client_resume_cb(evutil_socket_t fd, short what, void *arg)
{
	client_serve(arg);
}

/* The request line did not arrive in time (a trickling client). */
static void client_line_cb(evutil_socket_t fd, short what, void *arg)
{
	struct client *c = arg;

	log_debug("control: client pid %d did not complete a request within client_timeout, "
		  "disconnecting",
		  (int)c->pid);
	evbuffer_drain(bufferevent_get_input(c->bev),
		       evbuffer_get_length(bufferevent_get_input(c->bev)));
	client_fail(c, RPC_INVALID_REQUEST, "request line not complete within client_timeout");
}

/* Tell a subscriber that has caught up how many events it lost. */
static void client_send_dropped(struct client *c)
{
	json_object *p = json_object_new_object();

	json_object_object_add(p, "dropped", json_object_new_int64((int64_t)c->dropped));
	client_send(c, events_notification_new("dropped", p));
	c->dropped = 0;
	c->dropping = false;
}

static void client_write_cb(struct bufferevent *bev, void *arg)
{
	struct client *c = arg;

	if (c->closing) {
		if (c->failed)
			client_linger(c);
		else
			client_free(c);
		return;
	}
	if (c->dropping)
		client_send_dropped(c);
	if (evbuffer_get_length(bufferevent_get_input(bev)) > 0 || c->eof)
		client_serve(c);
}

/* Idle and slow-client timeouts: a subscriber may stay silent for hours
 * waiting for events (no read timeout), but like everyone it must read what
 * is sent to it (write timeout: output it has not taken for client_timeout
 * drops it). */
static void client_set_timeouts(struct client *c)
{
	uint64_t ms = c->ctl->conf->client_timeout_ms;
	struct timeval tv = {(time_t)(ms / 1000), (suseconds_t)(ms % 1000 * 1000)};

	bufferevent_set_timeouts(c->bev, c->topics ? NULL : &tv, &tv);
}

/* The sink's caller_topics: the topics of the connection being served. */
static bool sink_caller_topics(void *arg, unsigned *ret)
{
	const struct control *ctl = arg;

	if (!ctl->caller)
		return false;
	*ret = ctl->caller->topics;
	return true;
}

/* The sink's caller_set_topics; a connection that (un)subscribes changes
 * its timeouts. */
static void sink_caller_set_topics(void *arg, unsigned topics)
{
	struct control *ctl = arg;
	struct client *c = ctl->caller;
	bool was = c->topics != 0;

	c->topics = topics;
	if (was != (topics != 0))
		client_set_timeouts(c);
}

/* The sink's subscribed: is any connection subscribed to a topic in mask? */
static bool sink_subscribed(void *arg, unsigned mask)
{
	const struct control *ctl = arg;
	const struct client *c;

	for (c = ctl->clients; c; c = c->next)
		if (c->topics & mask)
			return true;
	return false;
}

/* The sink's publish: queue the line on every connection subscribed to a
 * topic in mask, within each one's bound. */
static void sink_publish(void *arg, unsigned mask, const char *line, size_t len)
{
	struct control *ctl = arg;
	struct client *c;

	for (c = ctl->clients; c; c = c->next) {
		struct evbuffer *out;
		size_t queued;

		if (!(c->topics & mask) || c->closing)
			continue;
		out = bufferevent_get_output(c->bev);
		queued = evbuffer_get_length(out);
		if (c->dropping && queued <= EVENTS_QUEUE_MAX / 2) {
			client_send_dropped(c);
			queued = evbuffer_get_length(out);
		}
		if (c->dropping || queued + len + 1 > EVENTS_QUEUE_MAX) {
			if (!c->dropping)
				log_debug("control: client pid %d reads events too slowly, "
					  "dropping them", (int)c->pid);
			c->dropping = true;
			c->dropped++;
			ctl->events_dropped++;
			continue;
		}
		evbuffer_add(out, line, len);
		evbuffer_add(out, "\n", 1);
		ctl->events_sent++;
	}
}

static const struct events_sink_ops control_sink_ops = {
	.subscribed = sink_subscribed,
	.publish = sink_publish,
	.caller_topics = sink_caller_topics,
	.caller_set_topics = sink_caller_set_topics,
};

void control_events_sink(struct control *ctl, struct events_sink *ret)
{
	ret->ops = &control_sink_ops;
	ret->arg = ctl;
}

void control_get_stats(const struct control *ctl, struct control_stats *ret)
{
	const struct client *c;

	memset(ret, 0, sizeof(*ret));
	ret->connections = ctl->connections;
	ret->events_sent = ctl->events_sent;
	ret->events_dropped = ctl->events_dropped;
	ret->clients = ctl->n_clients;
	for (c = ctl->clients; c; c = c->next)
		ret->subscribers += c->topics != 0;
}

static void client_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct client *c = arg;

	if ((what & BEV_EVENT_EOF) && (what & BEV_EVENT_READING) && !c->closing) {
		/* Half-closed: answer what it sent, then close. */
		c->eof = true;
		client_serve(c);
		return;
	}
	if (what & BEV_EVENT_TIMEOUT)
		log_debug("control: client pid %d idle, disconnecting", (int)c->pid);
	else if (what & BEV_EVENT_ERROR)
		log_debug("control: client pid %d: %s", (int)c->pid, strerror(errno));
	client_free(c);
}

/* Is uid (with primary gid) a member of the read group? */
static bool uid_in_group(uid_t uid, gid_t gid, gid_t want)
{
	struct passwd *pw;
	gid_t groups[256];
	int n = 256, i;

	if (gid == want)
		return true;
	pw = getpwuid(uid);
	if (!pw)
		return false;
	if (getgrouplist(pw->pw_name, pw->pw_gid, groups, &n) < 0)
		return false;
	for (i = 0; i < n; i++)
		if (groups[i] == want)
			return true;
	return false;
}

static void control_accept_cb(evutil_socket_t lfd, short what, void *arg)
{
	struct control *ctl = arg;
	const struct conf *conf = ctl->conf;
	struct ucred cred;
	socklen_t len = sizeof(cred);
	struct client *c;
	unsigned root_slots;
	int fd;

	fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (fd < 0) {
		if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
			struct timeval backoff = {ACCEPT_BACKOFF_MS / 1000, 0};

			log_warn("control: accept");
			event_del(ctl->accept_ev);
			evtimer_add(ctl->backoff_ev, &backoff);
		}
		return;
	}
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0) {
		log_warn("control: SO_PEERCRED");
		close(fd);
		return;
	}
	c = calloc(1, sizeof(*c));
	if (!c) {
		close(fd);
		return;
	}
	c->ctl = ctl;
	c->uid = cred.uid;
	c->gid = cred.gid;
	c->pid = cred.pid;
	if (cred.uid == 0)
		c->role = ROLE_ADMIN;
	else if (ctl->have_read_gid && uid_in_group(cred.uid, cred.gid, ctl->read_gid))
		c->role = ROLE_READ;
	else
		c->role = ROLE_NONE;
	c->bev = bufferevent_socket_new(ctl->base, fd, BEV_OPT_CLOSE_ON_FREE);
	if (!c->bev) {
		close(fd);
		free(c);
		return;
	}
	c->resume_ev = event_new(ctl->base, -1, 0, client_resume_cb, c);
	c->line_ev = evtimer_new(ctl->base, client_line_cb, c);
	if (!c->resume_ev || !c->line_ev) {
		client_release(c);
		return;
	}
	if (c->uid == 0) {
		bufferevent_priority_set(c->bev, CONTROL_PRIO_ROOT);
		event_priority_set(c->resume_ev, CONTROL_PRIO_ROOT);
	}
	c->next = ctl->clients;
	ctl->clients = c;
	ctl->n_clients++;
	ctl->connections++;
	bufferevent_setcb(c->bev, client_read_cb, client_write_cb, client_event_cb, c);
	/* Read no further ahead than one message past what is being served:
	 * requests wait in the socket, not in our memory. */
	bufferevent_setwatermark(c->bev, EV_READ, 0, (size_t)conf->max_message + READ_AHEAD);
	client_set_timeouts(c);
	bufferevent_enable(c->bev, EV_READ | EV_WRITE);

	root_slots = conf->max_clients >= 2 * ROOT_SLOTS ? ROOT_SLOTS : conf->max_clients / 2;
	if (ctl->n_clients > conf->max_clients) {
		log_warnx("control: too many clients (%u), refusing pid %d", ctl->n_clients - 1,
			  (int)c->pid);
		client_fail(c, RPC_ERR_BUSY, "too many clients");
	} else if (c->uid != 0 &&
		   ctl->n_clients - clients_of_uid(ctl, 0) > conf->max_clients - root_slots) {
		log_warnx("control: too many clients (%u, the last %u slots are kept for root), "
			  "refusing pid %d uid %u",
			  ctl->n_clients - 1, root_slots, (int)c->pid, (unsigned)c->uid);
		client_fail(c, RPC_ERR_BUSY, "too many clients");
	} else if (clients_of_uid(ctl, c->uid) > conf->max_clients_per_uid) {
		log_warnx("control: too many clients for uid %u, refusing pid %d",
			  (unsigned)c->uid, (int)c->pid);
		client_fail(c, RPC_ERR_BUSY, "too many clients for this uid");
	}
	/* A refused connection goes at once (it is served first, like root's),
	 * so that those still being refused never fill the slots themselves. */
	if (c->closing)
		bufferevent_priority_set(c->bev, CONTROL_PRIO_ROOT);
	/* Stop accepting while at the cap so a flood cannot grow memory. */
	if (ctl->n_clients > conf->max_clients)
		event_del(ctl->accept_ev);
}

static void control_backoff_cb(evutil_socket_t fd, short what, void *arg)
{
	struct control *ctl = arg;

	event_add(ctl->accept_ev, NULL);
}

/* Open the directory that holds the socket, refusing one that someone
 * other than root or us could change (who can write there could swap the
 * socket for a symlink between our calls, as OpenSMTPD and systemd also
 * refuse). Returns the directory's fd or -errno with a sentence in err. */
static int control_open_dir(const char *dir, char *err, size_t errlen)
{
	struct stat st;
	int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

	if (dfd < 0) {
		snprintf(err, errlen, "cannot open the socket directory %s: %s", dir,
			 strerror(errno));
		return -errno;
	}
	if (fstat(dfd, &st) < 0) {
		int e = errno;

		snprintf(err, errlen, "%s: %s", dir, strerror(e));
		close(dfd);
		return -e;
	}
	/* A sticky directory of root's (/tmp) is safe too: there nobody but
	 * a name's owner may remove or rename it, so the socket we bound
	 * cannot be swapped (and a name planted before is not a socket we
	 * bound, which control_set_mode checks). */
	if ((st.st_uid != 0 && st.st_uid != geteuid()) ||
	    ((st.st_mode & (S_IWGRP | S_IWOTH)) && !(st.st_uid == 0 && (st.st_mode & S_ISVTX)))) {
		snprintf(err, errlen,
			 "the socket directory %s is owned by uid %u with mode %04o: it must be "
			 "owned by root (or uid %u) and not writable by group or others, "
			 "unless it is root's and sticky like /tmp",
			 dir, (unsigned)st.st_uid, (unsigned)(st.st_mode & 07777),
			 (unsigned)geteuid());
		close(dfd);
		return -EPERM;
	}
	return dfd;
}

/* Give the socket file we bound its owner and mode (0660 with the read
 * group, else 0600), never following a symlink: the name is opened with
 * O_PATH|O_NOFOLLOW in the checked directory and must still be the socket
 * we bound (same inode); the change goes to that inode. 0 or -errno. */
static int control_set_mode(struct control *ctl)
{
	char proc[64];
	struct stat st;
	int dfd, fd, r = 0;

	if (!ctl->owns_path)
		return 0;
	dfd = control_open_dir(ctl->dir, ctl->errbuf, sizeof(ctl->errbuf));
	if (dfd < 0)
		return dfd;
	fd = openat(dfd, ctl->base_name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	close(dfd);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0 || !S_ISSOCK(st.st_mode) ||
	    (ctl->sock_ino && (st.st_ino != ctl->sock_ino || st.st_dev != ctl->sock_dev))) {
		close(fd);
		return -ESTALE;
	}
	ctl->sock_ino = st.st_ino;
	ctl->sock_dev = st.st_dev;
	if (geteuid() == 0 &&
	    fchownat(fd, "", 0, ctl->have_read_gid ? ctl->read_gid : 0, AT_EMPTY_PATH) < 0)
		r = -errno;
	/* chmod through the fd's /proc link reaches the pinned inode itself. */
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
	if (r == 0 && chmod(proc, ctl->have_read_gid ? 0660 : 0600) < 0)
		r = -errno;
	close(fd);
	return r;
}

/* Bind a fresh socket at path, refusing to steal one a live daemon uses
 * and refusing a directory others could tamper with. The file is created
 * 0600 (umask around bind) and then given its group and mode. */
static int control_bind(struct control *ctl, const char *path, char *err, size_t errlen)
{
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	struct stat st;
	const char *slash;
	mode_t old_umask;
	int fd, dfd, r;

	if (strlen(path) >= sizeof(sun.sun_path)) {
		snprintf(err, errlen, "socket path too long: %s", path);
		return -ENAMETOOLONG;
	}
	strcpy(sun.sun_path, path);
	slash = strrchr(path, '/');
	if (!slash)
		snprintf(ctl->dir, sizeof(ctl->dir), ".");
	else if (slash == path)
		snprintf(ctl->dir, sizeof(ctl->dir), "/");
	else
		snprintf(ctl->dir, sizeof(ctl->dir), "%.*s", (int)(slash - path), path);
	snprintf(ctl->base_name, sizeof(ctl->base_name), "%s", slash ? slash + 1 : path);
	if (!ctl->base_name[0]) {
		snprintf(err, errlen, "socket path %s names a directory", path);
		return -EINVAL;
	}
	if (mkdir(ctl->dir, 0755) < 0 && errno != EEXIST) {
		snprintf(err, errlen, "cannot create %s: %s", ctl->dir, strerror(errno));
		return -errno;
	}
	dfd = control_open_dir(ctl->dir, err, errlen);
	if (dfd < 0)
		return dfd;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		snprintf(err, errlen, "socket: %s", strerror(errno));
		close(dfd);
		return -errno;
	}
	if (fstatat(dfd, ctl->base_name, &st, AT_SYMLINK_NOFOLLOW) == 0) {
		int probe;

		if (!S_ISSOCK(st.st_mode)) {
			snprintf(err, errlen, "%s exists and is not a socket", path);
			close(fd);
			close(dfd);
			return -EEXIST;
		}
		probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (probe >= 0 && connect(probe, (struct sockaddr *)&sun, sizeof(sun)) == 0) {
			close(probe);
			close(fd);
			close(dfd);
			snprintf(err, errlen, "another balloond is serving %s", path);
			return -EADDRINUSE;
		}
		if (probe >= 0)
			close(probe);
		unlinkat(dfd, ctl->base_name, 0); /* stale socket from a crashed daemon */
	}
	close(dfd);
	old_umask = umask(0177);
	r = bind(fd, (struct sockaddr *)&sun, sizeof(sun));
	umask(old_umask);
	if (r < 0) {
		snprintf(err, errlen, "bind %s: %s", path, strerror(errno));
		close(fd);
		return -EADDRINUSE;
	}
	ctl->owns_path = true;
	snprintf(ctl->path, sizeof(ctl->path), "%s", path);
	r = control_set_mode(ctl);
	if (r < 0)
		log_warnx("control: setting the owner and mode of %s: %s", path, strerror(-r));
	if (listen(fd, 64) < 0) {
		snprintf(err, errlen, "listen %s: %s", path, strerror(errno));
		close(fd);
		unlink(path);
		ctl->owns_path = false;
		return -errno;
	}
	return fd;
}

/* Resolve the configured read group; false with a sentence in err when it
 * does not exist. */
static bool control_resolve_group(struct control *ctl, char *err, size_t errlen)
{
	const char *name = ctl->conf->read_group;
	struct group *gr;

	ctl->have_read_gid = false;
	if (!name[0])
		return true;
	gr = getgrnam(name);
	if (!gr) {
		snprintf(err, errlen, "read_group \"%s\" does not exist", name);
		return false;
	}
	ctl->read_gid = gr->gr_gid;
	ctl->have_read_gid = true;
	return true;
}

void control_reconf(struct control *ctl)
{
	char err[128];
	struct client *c;
	int r;

	if (!ctl)
		return;
	if (!control_resolve_group(ctl, err, sizeof(err)))
		log_warnx("control: %s: nobody but root has access now", err);
	r = control_set_mode(ctl);
	if (r < 0)
		log_warnx("control: setting the owner and mode of %s: %s", ctl->path,
			  r == -EPERM ? ctl->errbuf : strerror(-r));
	else if (!ctl->owns_path)
		log_info("control: the socket systemd passed keeps its owner and mode "
			 "(SocketGroup=, SocketMode= in balloond.socket)");
	/* Connections that no longer qualify lose their access now. */
	for (c = ctl->clients; c; c = c->next) {
		enum client_role role;

		if (c->uid == 0 || c->closing)
			continue;
		role = ctl->have_read_gid && uid_in_group(c->uid, c->gid, ctl->read_gid)
			       ? ROLE_READ
			       : ROLE_NONE;
		if (role == c->role)
			continue;
		c->role = role;
		if (role == ROLE_NONE) {
			log_notice("control: revoking the access of pid %d uid %u (not in the read "
				   "group any more)",
				   (int)c->pid, (unsigned)c->uid);
			client_fail(c, RPC_ERR_NOT_PERMITTED,
				    "access revoked: not in the read group any more");
		}
	}
}

int control_open(struct control **ret, struct event_base *base, const struct conf *conf,
		 const char *path, const struct control_handler *handler, char *err,
		 size_t errlen)
{
	struct control *ctl = calloc(1, sizeof(*ctl));
	int n, fd = -1;

	if (!ctl)
		return -ENOMEM;
	ctl->base = base;
	ctl->conf = conf;
	ctl->handler = *handler;
	if (!control_resolve_group(ctl, err, errlen)) {
		free(ctl);
		return -ENOENT;
	}
	n = sd_listen_fds(1);
	if (n > 0) {
		fd = SD_LISTEN_FDS_START;
		if (sd_is_socket_unix(fd, SOCK_STREAM, 1, NULL, 0) <= 0) {
			snprintf(err, errlen, "the socket systemd passed is not a listening Unix stream socket");
			free(ctl);
			return -EINVAL;
		}
		fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
		log_info("control: using the socket passed by systemd");
	} else {
		fd = control_bind(ctl, path, err, errlen);
		if (fd < 0) {
			free(ctl);
			return fd;
		}
	}
	ctl->fd = fd;
	ctl->accept_ev = event_new(base, fd, EV_READ | EV_PERSIST, control_accept_cb, ctl);
	ctl->backoff_ev = evtimer_new(base, control_backoff_cb, ctl);
	if (!ctl->accept_ev || !ctl->backoff_ev) {
		control_close(ctl);
		return -ENOMEM;
	}
	event_priority_set(ctl->accept_ev, CONTROL_PRIO_ROOT);
	event_add(ctl->accept_ev, NULL);
	*ret = ctl;
	return 0;
}

void control_close(struct control *ctl)
{
	if (!ctl)
		return;
	while (ctl->clients)
		client_free(ctl->clients);
	while (ctl->lingering)
		linger_free(ctl->lingering);
	if (ctl->accept_ev)
		event_free(ctl->accept_ev);
	if (ctl->backoff_ev)
		event_free(ctl->backoff_ev);
	if (ctl->fd >= 0)
		close(ctl->fd);
	if (ctl->owns_path)
		unlink(ctl->path);
	free(ctl);
}
