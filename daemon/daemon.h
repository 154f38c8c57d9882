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
	struct event *step_ev;
	struct event *watchdog_ev;
	uint64_t start_ms;
	uint64_t last_step_ms;
	bool step_pending;
	uint64_t step_due_ms;  /* when the pending step fires */
	bool observe_failing;
	char last_status[256];
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
