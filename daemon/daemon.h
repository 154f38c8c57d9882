/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The daemon's shared state: what main wires together. */
#ifndef BALLOOND_DAEMON_H
#define BALLOOND_DAEMON_H

#include <stdbool.h>
#include <stdint.h>

#include <event2/event.h>
#include <json-c/json.h>

#include "backend.h"
#include "conf.h"
#include "engine.h"
#include "jsonrpc.h"

struct control;
struct client;
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
	struct audit_sched *audit; /* NULL until set up (and in --simulate) */
	struct event *step_ev;
	struct event *watchdog_ev;
	uint64_t start_ms;
	uint64_t last_step_ms;
	bool step_pending;
	uint64_t step_due_ms;  /* when the pending step fires */
	bool observe_failing;
	char last_status[256];
	/* The control connection whose request is being dispatched (NULL
	 * otherwise): for methods that act on their own connection
	 * (events.subscribe). */
	struct client *rpc_client;
	/* Counters for the metrics method: decision rounds, and what
	 * backend_apply did over the daemon's life. */
	uint64_t steps;
	struct apply_stats applied;
};

/* Monotonic milliseconds. */
uint64_t daemon_now_ms(void);

/* Observe, decide, act now. 0 or -errno (logged). */
int daemon_step(struct daemon *d);

/* Schedule a decision round soon (coalesced: at most one per 50 ms). */
void daemon_request_step(struct daemon *d);

/* Make sure the engine's view is at most max_age_ms old. */
void daemon_refresh(struct daemon *d, uint64_t max_age_ms);

/* Load the config: an explicit path must exist; the default one may be
 * missing (built-in defaults). 0 or -errno with "file:line: message". */
int daemon_load_conf(const char *path, bool explicit_path, struct conf *ret, char *err,
		     size_t errlen);

/* balloond --simulate: run a scenario in virtual time (simulate.c). */
int simulate_main(const char *scenario_path, const char *conf_path, bool conf_explicit);

/* The same run without printing: the scenario is the file at path, or text
 * (named path in messages) when text is not NULL. *ret_report gets the
 * report (caller puts it) when the run happened. Returns 0 (clean, expect
 * met), 1 (not) or 2 (could not run; message on stderr, no report). */
int simulate_run(const char *path, const char *text, const char *conf_path, bool conf_explicit,
		 json_object **ret_report);

/* balloond --simulate-random SEED [--count N] [--print]: generated
 * scenarios (seeds SEED..SEED+N-1) run like --simulate and checked for the
 * properties of a clean run; --print writes the scenario of SEED instead
 * (property.c). Returns the exit status. */
int property_main(const char *seed, const char *count, bool print, const char *conf_path,
		  bool conf_explicit);

/* Re-read the config file; keeps the old config when the new one is bad.
 * 0 or -errno with a sentence in err. */
int daemon_reload(struct daemon *d, char *err, size_t errlen);

/* JSON-RPC method dispatch (methods.c). Returns a new reference to the
 * reply object, or NULL for a notification. read_only limits the caller to
 * methods that change nothing. */
json_object *methods_dispatch(struct daemon *d, const struct rpc_request *req, bool read_only);

/* Method names, for hello's capabilities. */
json_object *methods_capabilities(void);

#endif
