/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The daemon object (daemon.c): the backend, the engine, the auditor and
 * the control socket around one libevent loop, with the step schedule,
 * reload and refresh. What the methods work on. */
#ifndef BALLOOND_DAEMON_H
#define BALLOOND_DAEMON_H

#include <stdbool.h>
#include <stdint.h>

#include <event2/event.h>
#include <json-c/json.h>

#include "backend.h"
#include "coexist.h"
#include "conf.h"
#include "engine.h"
#include "events.h"
#include "jsonrpc.h"

struct control;
struct audit_sched;
struct daemon {
	struct event_base *base;
	struct conf conf;
	char conf_path[CONF_PATH_MAX];
	bool conf_path_explicit;
	struct engine *engine;
	struct engine_output out;
	const struct backend_ops *bops;
	struct backend *be;
	struct control *ctl;
	struct events_sink events; /* the control server, once it is open */
	struct audit_sched *audit; /* NULL until set up */
	/* How control requests are answered (the method table, given to
	 * daemon_run): the reply (new reference) or NULL for none. */
	json_object *(*dispatch)(struct daemon *d, const struct rpc_request *req, bool read_only);
	/* a call's cost (the method table, scaled by the domains it covers) */
	unsigned (*cost)(const struct daemon *d, const char *method);
	/* The command line's [balloond] settings: key, value pairs ending in
	 * NULL, applied over the file at start (by main) and on every reload. */
	const char *const *overrides;
	struct event *step_ev;
	struct event *watchdog_ev;
	uint64_t start_ms;
	uint64_t last_step_ms;
	bool step_pending;
	uint64_t step_due_ms; /* when the pending step fires */
	bool observe_failing;
	char last_status[256];
	/* What xl itself does with memory (xl.conf, Xen's command line), read
	 * at start and on every reload. */
	struct coexist coexist;
	/* Counters for the metrics method: decision rounds, and what
	 * backend_apply did over the daemon's life. */
	uint64_t steps;
	struct apply_stats applied;
};

/* How the daemon answers control requests: the method table. */
struct daemon_methods {
	json_object *(*dispatch)(struct daemon *d, const struct rpc_request *req, bool read_only);
	unsigned (*cost)(const struct daemon *d, const char *method);
};

/* Run the daemon with conf (taken; loaded from conf_path, which a reload
 * reads again, then overrides applied over it: key, value pairs ending in
 * NULL, which must outlive the daemon) until SIGTERM or SIGINT, answering
 * control requests with methods. Returns the exit status. */
int daemon_run(const char *conf_path, bool conf_path_explicit, struct conf *conf,
	       const char *const *overrides, const struct daemon_methods *methods);

/* Apply overrides (key, value pairs ending in NULL) to conf's [balloond]
 * section. 0 or -EINVAL with the key named in err. */
int daemon_apply_overrides(struct conf *conf, const char *const *overrides, char *err,
			   size_t errlen);

/* Observe, decide, act now. 0 or -errno (logged). */
int daemon_step(struct daemon *d);

/* Schedule a decision round soon (coalesced: at most one per 50 ms). */
void daemon_request_step(struct daemon *d);

/* Make sure the engine's view is at most max_age_ms old. */
void daemon_refresh(struct daemon *d, uint64_t max_age_ms);

/* Re-read the config file; keeps the old config when the new one is bad.
 * 0 or -errno with a sentence in err. */
int daemon_reload(struct daemon *d, char *err, size_t errlen);

#endif
