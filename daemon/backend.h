/* Backends observe the host and carry out the engine's actions; they never
 * decide. One ops struct each, picked by name (sim, xen). */
#ifndef BALLOOND_BACKEND_H
#define BALLOOND_BACKEND_H

#include <stddef.h>
#include <stdint.h>

#include <event2/event.h>

#include "conf.h"
#include "engine.h"

struct backend;

/* Called by a backend when something may have changed (a XenStore watch
 * fired, a domain came or went): the daemon schedules a decision round. */
typedef void (*backend_notify_fn)(void *arg);

/* Called once per persisted key by restore. */
typedef void (*backend_restore_fn)(void *arg, uint32_t domid, const char *key,
				   const char *value);

struct backend_ops {
	const char *name;
	/* Connect to the host. err gets a sentence on failure. */
	int (*open)(struct backend **ret, const struct conf *conf, struct event_base *base,
		    backend_notify_fn notify, void *arg, char *err, size_t errlen);
	void (*close)(struct backend *b);
	/* Fill obs with the host and every domain now. The arrays belong to
	 * the backend and stay valid until the next observe or close. */
	int (*observe)(struct backend *b, struct engine_obs *obs);
	/* Write /local/domain/<domid>/memory/target (KiB). 0 or -errno. */
	int (*set_target)(struct backend *b, uint32_t domid, uint64_t kib);
	/* Set the hypervisor's max_pages for the domain. 0 or -errno. */
	int (*set_maxmem)(struct backend *b, uint32_t domid, uint64_t kib);
	/* Persist balloond's own state under /tool/balloond/domain/<domid>/key;
	 * key NULL removes the domain's whole subtree. 0 or -errno. */
	int (*persist)(struct backend *b, uint32_t domid, const char *key, const char *value);
	/* Optional: let the backend adjust the configuration (the simulator
	 * applies its scenario's "config" block and weights). Called after
	 * open and on every reload. 0 or -EINVAL with a sentence in err. */
	int (*adjust_conf)(struct backend *b, struct conf *conf, char *err, size_t errlen);
	/* Read back everything persisted (called once at start). */
	int (*restore)(struct backend *b, backend_restore_fn fn, void *arg);
};

/* Every backend starts with this. */
struct backend {
	const struct backend_ops *ops;
};

extern const struct backend_ops backend_sim_ops;
#ifdef HAVE_XEN
extern const struct backend_ops backend_xen_ops;
#endif

/* What backend_apply did, for reports. */
struct apply_stats {
	uint64_t targets, maxmems, persists, failures;
};

/* Carry out one step's actions in order (maxmem comes before the target it
 * makes room for); a failed action is logged and reported back to the
 * engine. stats may be NULL. */
void backend_apply(const struct backend_ops *ops, struct backend *be, struct engine *e,
		   const struct engine_output *out, struct apply_stats *stats);

/* The backend called name ("sim", "xen"); NULL if unknown or not built. */
const struct backend_ops *backend_find(const char *name);

/* For --backend=auto: "xen" on a Xen dom0, else NULL with a sentence in
 * err saying why and pointing at --backend=sim. */
const char *backend_detect(char *err, size_t errlen);

/* Parse a XenStore value written by the toolstack or a guest: digits only,
 * bounded. Guest values are hostile: never trust more than this. */
int backend_parse_kib(const char *s, uint64_t *ret);

#endif
