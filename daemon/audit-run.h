/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The daemon's M2P/P2M audit scheduler (design/AUDIT.md): one audit at a
 * time, its scan on a worker thread so that neither the event loop nor the
 * control socket ever waits for it; findings confirmed by a re-check after
 * audit_settle; periodic audits every audit_interval and an audit of a
 * single domain when its balloon comes to rest. */
#ifndef BALLOOND_AUDIT_RUN_H
#define BALLOOND_AUDIT_RUN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>

#include "audit.h"

struct audit_sched;
struct backend;
struct backend_ops;
struct conf;
struct engine;
struct engine_event;
struct event_base;
struct events_sink;

/* Why an audit ran. */
enum audit_trigger {
	AUDIT_TRIGGER_REQUEST,	/* audit.run (memctl audit) */
	AUDIT_TRIGGER_PERIODIC, /* audit_interval */
	AUDIT_TRIGGER_BALLOON,	/* balloons came to rest */
};

/* What the scheduler works with; each must outlive it. */
struct audit_sched_env {
	struct event_base *base;
	const struct backend_ops *ops;
	struct backend *be;
	const struct engine *engine;
	const struct conf *conf;	  /* followed across reloads */
	const struct events_sink *events; /* where "audit" notifications go */
};

/* Set up the scheduler on env's event loop (after the backend and the
 * engine exist); arms the periodic timer. 0 or -errno. */
int audit_sched_new(const struct audit_sched_env *env, struct audit_sched **ret);

/* Join a worker still running (the audit in progress is abandoned: its
 * result is dropped), release its snapshot and everything kept.
 * audit_sched_free(NULL) is fine. Call before closing the backend. */
void audit_sched_free(struct audit_sched *s);

/* The configuration changed (reload): re-arm the periodic timer. */
void audit_sched_reconf(struct audit_sched *s);

/* Feed one of the engine's events: a balloon that went from converging to
 * idle queues an audit of its PV domain. */
void audit_sched_engine_event(struct audit_sched *s, const struct engine_event *ev);

/* Start an audit of domids (n == 0: every domain) now. 0 and *ret_id;
 * -EBUSY when one is running; -ENOTSUP when the backend cannot audit;
 * other -errno when the backend could not take its snapshot or no thread
 * could be started; err says why. */
int audit_sched_start(struct audit_sched *s, const uint32_t *domids, size_t n,
		      enum audit_trigger why, uint64_t *ret_id, char *err, size_t errlen);

bool audit_sched_running(const struct audit_sched *s);

/* Which audit and which findings a status or findings request wants. */
struct audit_query {
	bool has_id;
	uint64_t id; /* a kept audit; default the last completed one */
	bool has_domid;
	uint32_t domid;
	bool has_class;
	enum audit_class cls;
	size_t limit; /* findings per class; 0 = audit_examples */
};

/* audit.status: {running, id, queued, interval, last: AUDIT|null,
 * domains: [...]}; see doc/protocol.md. 0 and *ret (new reference), or
 * -ENOENT when q names an audit no longer kept (err says so). */
int audit_sched_status_json(struct audit_sched *s, const struct audit_query *q, json_object **ret,
			    char *err, size_t errlen);

/* audit.findings: {id, counts, findings: [...], truncated}; id null and
 * nothing else when no audit has completed. 0 and *ret (new reference), or
 * -ENOENT when q names an audit no longer kept (err says so). */
int audit_sched_findings_json(struct audit_sched *s, const struct audit_query *q,
			      json_object **ret, char *err, size_t errlen);

/* The methods audit.run, audit.status and audit.findings (methods.c's
 * table; doc/protocol.md); s NULL: no auditor runs. */
json_object *audit_method_run(struct audit_sched *s, json_object *params, int *code,
			      json_object **data, char *err, size_t errlen);
json_object *audit_method_status(struct audit_sched *s, json_object *params, int *code,
				 json_object **data, char *err, size_t errlen);
json_object *audit_method_findings(struct audit_sched *s, json_object *params, int *code,
				   json_object **data, char *err, size_t errlen);

#endif
