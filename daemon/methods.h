/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The JSON-RPC methods of the control socket (methods.c): the top of the
 * daemon, calling into the daemon object, the events, the auditor and the
 * metrics. */
#ifndef BALLOOND_METHODS_H
#define BALLOOND_METHODS_H

#include <stdbool.h>

#include <json-c/json.h>

#include "jsonrpc.h"

struct daemon;

/* JSON-RPC method dispatch. Returns a new reference to the reply object,
 * or NULL for a notification. read_only limits the caller to methods that
 * change nothing. */
json_object *methods_dispatch(struct daemon *d, const struct rpc_request *req, bool read_only);

/* What a call of method costs against the control server's batch and
 * per-turn budgets (1 for an unknown method): the table's cost, and for a
 * method whose reply covers every domain one more per COST_DOMAINS domains
 * the daemon has (the control server caps it at a batch's limit). */
#define COST_DOMAINS 32
unsigned methods_cost(const struct daemon *d, const char *method);

/* Method names, for hello's capabilities. */
json_object *methods_capabilities(void);

#endif
