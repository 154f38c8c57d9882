/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Simulator scenario files (JSON, format in SIMULATOR.md). Parsing is
 * strict: unknown members, bad sizes and bad times are errors that name the
 * member. */
#ifndef BALLOOND_SCENARIO_H
#define BALLOOND_SCENARIO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "conf.h"
#include "simhost.h"

enum scenario_action {
	SCN_CREATE,      /* domain */
	SCN_DESTROY,     /* name */
	SCN_RESERVE,     /* size or min..max, ttl */
	SCN_SET_TARGET,  /* name, target (an admin pin via the control API) */
	SCN_XS_WRITE,    /* name, key (relative to /local/domain/N/), value: an external write */
	SCN_CORRUPT,     /* class, name: inject an audit fault */
	SCN_RESTART,     /* restart the daemon (engine state rebuilt from XenStore) */
	SCN_PAUSE,
	SCN_RESUME,
	SCN_TRANSFER,    /* id (the n-th reserve event, from 1), name */
	SCN_CANCEL,      /* id */
	SCN_CLAIM,       /* name, size: the toolstack claims memory for a domain it will create */
	SCN_CRASH,       /* point: the daemon dies at its next target write, before or
			  * after it (at_target false, true), and restarts */
	SCN_FAIL_PERSIST, /* name: the next persist of that domain's target fails */
	SCN_DOMAIN_PAUSE, /* name: the toolstack pauses the domain (xl pause) */
	SCN_DOMAIN_UNPAUSE, /* name */
};
#define SCN_LAST SCN_DOMAIN_UNPAUSE /* the last event kind: keep it so */

struct scenario_event {
	uint64_t at_ms;
	enum scenario_action action;
	struct sim_domain_spec domain; /* SCN_CREATE */
	char name[SIM_NAME_MAX];       /* SCN_RESERVE: its "for", "" when none */
	uint64_t size_kib, min_kib, max_kib, ttl_ms, target_kib;
	unsigned resv;                 /* SCN_TRANSFER, SCN_CANCEL */
	char key[128];
	char value[256];
	char fault_class[32];
	bool crash_after_target;       /* SCN_CRASH: "after-target" */
};

struct scenario_config_item {
	char section[CONF_NAME_MAX + 8];
	char key[64];
	char value[256];
};

struct scenario_finding_count {
	char fault_class[32];
	uint64_t count;
};

/* expect.final_target (final_actual): where a domain's memory/target
 * (tot_pages) must end up. */
struct scenario_final_target {
	char name[SIM_NAME_MAX];
	uint64_t min_kib, max_kib; /* max 0 = no upper bound */
};

#define SCENARIO_RESV_MAX 64

struct scenario_expect {
	bool has_invariants;
	bool invariants;
	bool has_converged_by;
	uint64_t converged_by_ms;
	bool has_reservations_ok;
	bool reservations_ok;
	bool has_audit_findings;
	struct scenario_finding_count *audit_findings;
	size_t n_audit_findings;
	bool has_granted_within;
	uint64_t granted_within_ms;  /* every reservation granted this soon after it was asked */
	bool has_target_writes_max;
	uint64_t target_writes_max;  /* memory/target writes by balloond, at most */
	struct scenario_final_target *final_targets;
	size_t n_final_targets;
	/* expect.reservations_end: each reserve event's last state, in order */
	bool has_reservations_end;
	char reservations_end[SCENARIO_RESV_MAX][16];
	size_t n_reservations_end;
	struct scenario_final_target *final_actuals; /* where tot_pages must end up */
	size_t n_final_actuals;
};

struct scenario {
	uint64_t host_memory_kib;
	uint64_t xen_reserved_kib; /* default 256M */
	uint64_t dom0_kib;         /* "host": {"dom0": "1G"}, default 1G */
	char cmdline[1024];        /* "host": {"cmdline": "..."}: Xen's, default "" */
	struct scenario_config_item *config;
	size_t n_config;
	struct sim_domain_spec *domains; /* demand arrays owned by the scenario */
	size_t n_domains;
	struct scenario_event *events;   /* sorted by at_ms, stable */
	size_t n_events;
	uint64_t until_ms;               /* default 60 s */
	struct scenario_expect expect;
};

/* Parse; 0 or -EINVAL/-errno with a message naming file and member. */
int scenario_parse_file(const char *path, struct scenario *ret, char *err, size_t errlen);
int scenario_parse_string(const char *text, const char *name, struct scenario *ret,
			  char *err, size_t errlen);
void scenario_free(struct scenario *s);

/* Apply the scenario's "config" members ([balloond] keys by name) and each
 * domain's "weight" (as [domain NAME] weight) to c with conf_set. 0 or
 * -EINVAL with a message. */
int scenario_apply_config(const struct scenario *s, struct conf *c, char *err, size_t errlen);

/* Create the scenario's host and its initial domains. NULL with a message
 * on failure. */
struct simhost *scenario_build_host(const struct scenario *s, uint64_t now_ms,
				    char *err, size_t errlen);

#endif
