/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Picking a backend by name, and helpers shared by backends. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <inttypes.h>

#include "backend.h"
#include "log.h"
#include "units.h"

static const struct backend_ops *const backends[] = {
	&backend_sim_ops,
#ifdef HAVE_XEN
	&backend_xen_ops,
#endif
};

const struct backend_ops *backend_find(const char *name)
{
	size_t i;

	for (i = 0; i < sizeof(backends) / sizeof(*backends); i++)
		if (strcmp(backends[i]->name, name) == 0)
			return backends[i];
	return NULL;
}

/* True when the first line of path contains needle. */
static int file_has(const char *path, const char *needle)
{
	char line[256];
	FILE *f = fopen(path, "re");
	int found = 0;

	if (!f)
		return 0;
	if (fgets(line, sizeof(line), f))
		found = strstr(line, needle) != NULL;
	fclose(f);
	return found;
}

const char *backend_detect(char *err, size_t errlen)
{
	int dom0 = file_has("/proc/xen/capabilities", "control_d");

	if (dom0) {
#ifdef HAVE_XEN
		return "xen";
#else
		snprintf(err, errlen,
			 "this is a Xen dom0 but balloond was built without the Xen backend "
			 "(install libxen-dev and rebuild), or use --backend=sim");
		return NULL;
#endif
	}
	if (file_has("/sys/hypervisor/type", "xen"))
		snprintf(err, errlen,
			 "this is a Xen guest, not dom0 (no control_d in /proc/xen/capabilities); "
			 "balloond runs in dom0. Use --backend=sim to run on the simulated host");
	else
		snprintf(err, errlen,
			 "this host is not a Xen dom0 (no /proc/xen/capabilities with control_d); "
			 "use --backend=sim to run on the simulated host");
	return NULL;
}

int backend_parse_kib(const char *s, uint64_t *ret)
{
	return u64_parse_strict(s, SIZE_MAX_KIB, ret);
}

void backend_apply(const struct backend_ops *ops, struct backend *be, struct engine *e,
		   const struct engine_output *out, struct apply_stats *stats)
{
	struct apply_stats none;
	/* The domain whose target intent could not be persisted: its target
	 * is not written (a restart would take it for an admin's pin). */
	uint32_t held = 0;
	bool holding = false;
	size_t i;

	if (!stats)
		stats = &none;
	for (i = 0; i < out->n_actions; i++) {
		const struct engine_action *a = &out->actions[i];
		int r = 0;

		if (a->type == ACT_SET_TARGET && holding && a->domid == held) {
			log_warnx("domain %u: memory/target = %" PRIu64
				  " not written: its intent could not be persisted",
				  a->domid, a->kib);
			holding = false;
			stats->failures++;
			engine_action_failed(e, a);
			continue;
		}
		switch (a->type) {
		case ACT_SET_MAXMEM:
			r = ops->set_maxmem(be, a->domid, a->kib);
			stats->maxmems++;
			if (r < 0)
				log_warnx("domain %u: setting maxmem to %" PRIu64 " KiB failed: %s",
					  a->domid, a->kib, strerror(-r));
			break;
		case ACT_SET_TARGET:
			r = ops->set_target(be, a->domid, a->kib);
			stats->targets++;
			if (r < 0)
				log_warnx("domain %u: writing memory/target = %" PRIu64 " failed: %s",
					  a->domid, a->kib, strerror(-r));
			break;
		case ACT_PERSIST:
			r = ops->persist(be, a->domid, a->key, a->value);
			stats->persists++;
			if (r < 0)
				log_warnx("domain %u: persisting %s failed: %s", a->domid, a->key,
					  strerror(-r));
			if (strcmp(a->key, "target") == 0) {
				holding = r < 0;
				held = a->domid;
			}
			break;
		case ACT_PERSIST_RESV:
		case ACT_FORGET_RESV:
			r = ops->persist(be, a->domid, BACKEND_KEY_RESERVATION,
					 a->type == ACT_PERSIST_RESV ? a->value : NULL);
			stats->persists++;
			if (r == -ENOENT && a->type == ACT_FORGET_RESV)
				r = 0;
			if (r < 0)
				log_warnx("reservation %u: persisting failed: %s", a->domid,
					  strerror(-r));
			break;
		case ACT_FLAG_UNCOOP:
			if (!ops->flag_uncooperative)
				break;
			r = ops->flag_uncooperative(be, a->domid, a->kib != 0);
			if (r == -ENOENT)
				r = 0; /* the domain is gone, or the flag was never set */
			if (r < 0)
				log_warnx("domain %u: %s memory/uncooperative failed: %s", a->domid,
					  a->kib ? "writing" : "removing", strerror(-r));
			break;
		case ACT_FORGET:
			r = ops->persist(be, a->domid, NULL, NULL);
			if (r == -ENOENT)
				r = 0;
			if (r < 0)
				log_debug("domain %u: forgetting state failed: %s", a->domid,
					  strerror(-r));
			break;
		}
		if (r < 0) {
			stats->failures++;
			engine_action_failed(e, a);
		}
	}
}
