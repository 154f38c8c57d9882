/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Backends observe the host and carry out the engine's actions; they never
 * decide. One ops struct each, picked by name (sim, xen). */
#ifndef BALLOOND_BACKEND_H
#define BALLOOND_BACKEND_H

#include <stddef.h>
#include <stdint.h>

#include <event2/event.h>

#include "audit.h"
#include "conf.h"
#include "engine.h"

struct backend;
struct backend_audit; /* a backend's audit snapshot */

/* Called by a backend when something may have changed (a XenStore watch
 * fired, a domain came or went): the daemon schedules a decision round. */
typedef void (*backend_notify_fn)(void *arg);

/* Called once per persisted key by restore. A reservation record
 * (/tool/balloond/reservation/<id>) comes as key BACKEND_KEY_RESERVATION
 * with the id in domid. */
typedef void (*backend_restore_fn)(void *arg, uint32_t domid, const char *key,
				   const char *value);

/* persist() with this key writes (value) or removes (NULL) the record of
 * reservation <domid> instead of a domain key. */
#define BACKEND_KEY_RESERVATION "@reservation"
#define BACKEND_RESV_ID_MAX 0xffffffffu

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
	/* Optional: write (on) or remove /local/domain/<domid>/memory/uncooperative,
	 * the flag toolstacks read (squeezed's convention). 0 or -errno. */
	int (*flag_uncooperative)(struct backend *b, uint32_t domid, bool on);
	/* Optional: let the backend adjust the configuration (the simulator
	 * applies its scenario's "config" block and weights). Called after
	 * open and on every reload. 0 or -EINVAL with a sentence in err. */
	int (*adjust_conf)(struct backend *b, struct conf *conf, char *err, size_t errlen);
	/* Read back everything persisted (called once at start). */
	int (*restore)(struct backend *b, backend_restore_fn fn, void *arg);
	/* Optional: the hypervisor's command line as read at open (xl reads
	 * dom0_mem there to resolve autoballoon="auto"); NULL when unknown. */
	const char *(*xen_cmdline)(struct backend *b);
	/* Optional: check the connection to the host now (the daemon calls it
	 * on each systemd watchdog ping, a wake-up it pays anyway); a backend
	 * with a keepalive timer of its own pushes it out when this succeeds,
	 * and notifies as usual when the connection is gone. */
	void (*keepalive)(struct backend *b);

	/* ---- M2P/P2M audit source (design/AUDIT.md); all three optional
	 * together: NULL means the backend cannot audit. ----
	 * audit_open runs on the event loop and must be quick: it captures
	 * (sim: copies) or prepares (xen: remembers domids, nothing mapped)
	 * what an audit of the listed domains needs; ndomids == 0 means every
	 * domain. audit_read then runs on a worker thread and fills t with the
	 * tables as they are now; t and everything it points at stay valid
	 * until audit_close. audit_read must not touch struct backend, the
	 * event loop or libevent (xen: its own xc/xenforeignmemory handles,
	 * opened in audit_read). A re-check after the settle delay is a second
	 * open/read/close. 0 or -errno with a sentence in err; audit_open's
	 * -EAGAIN means "not ready yet, try again in a moment". */
	int (*audit_open)(struct backend *b, const uint32_t *domids, size_t ndomids,
			  struct backend_audit **ret, char *err, size_t errlen);
	int (*audit_read)(struct backend_audit *a, struct audit_tables *t, char *err,
			  size_t errlen);
	void (*audit_close)(struct backend_audit *a);
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
 * makes room for, a target's persisted intent before the target); a failed
 * action is logged and reported back to the engine, and a target whose
 * intent could not be persisted is not written. stats may be NULL. */
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
