/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The virtual-time runs: balloond --simulate (simulate.c) and
 * --simulate-random (property.c), the engine on the simulated host
 * without the daemon's loop. */
#ifndef BALLOOND_SIMULATE_H
#define BALLOOND_SIMULATE_H

#include <stdbool.h>

#include <json-c/json.h>

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

#endif
