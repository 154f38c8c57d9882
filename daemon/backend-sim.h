/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The sim backend's extra entry points, for balloond --simulate. */
#ifndef BALLOOND_BACKEND_SIM_H
#define BALLOOND_BACKEND_SIM_H

#include "backend.h"
#include "scenario.h"
#include "simhost.h"

/* Open the sim backend on a scenario with a virtual clock: *vclock is the
 * simulated time in ms, advanced by the caller; no timer runs and the
 * caller plays the scenario's events. 0 or -errno with a sentence. */
int backend_sim_open_virtual(struct backend **ret, const char *scenario_path,
			     const uint64_t *vclock, char *err, size_t errlen);

/* The same on a scenario held in memory (text, named name in messages);
 * text NULL reads the file name. */
int backend_sim_open_virtual_text(struct backend **ret, const char *name, const char *text,
				  const uint64_t *vclock, char *err, size_t errlen);

struct simhost *backend_sim_host(struct backend *b);
const struct scenario *backend_sim_scenario(struct backend *b);

/* Carry out one host-level scenario event (create, destroy, xs-write,
 * corrupt). Returns 0, or -errno with a sentence; -ENOTSUP for events
 * that need the daemon (set-target, reserve, restart, pause, resume). */
int backend_sim_play(struct backend *b, const struct scenario_event *ev, uint64_t now,
		     char *err, size_t errlen);

#endif
