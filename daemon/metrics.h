/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The metrics method: host, domain and daemon counters as JSON or as the
 * Prometheus text exposition format 0.0.4. */
#ifndef BALLOOND_METRICS_H
#define BALLOOND_METRICS_H

#include <stddef.h>

#include <json-c/json.h>

struct daemon;

/* metrics {format?: "json" | "prometheus"} (for methods.c). */
json_object *metrics_method(struct daemon *d, json_object *params, int *code, json_object **data,
			    char *err, size_t errlen);

/* Render a metric list as the result of metrics {format: "json"} has it
 * ({"metrics": [{name, type, help, samples: [{labels, value}]}]}) into
 * Prometheus text; a new string the caller frees, NULL on ENOMEM. Exposed
 * for tests. */
char *metrics_to_prometheus(json_object *metrics);

#endif
