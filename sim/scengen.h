/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Seeded generator of simulator scenarios (JSON text in the format of
 * SIMULATOR.md) for property runs and benchmarks. The same seed and options
 * give the same text on every machine: a private PRNG (splitmix64), no
 * clock, no I/O, no globals. */
#ifndef BALLOOND_SCENGEN_H
#define BALLOOND_SCENGEN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum scengen_kind {
	SCENGEN_RANDOM,	  /* anything: hostile events, every balloon behaviour */
	SCENGEN_STANDARD, /* a plain convergence run: cooperative guests, keep-free, demand
			   * shifting at 0, 13.5 and 26.5 s, no events */
	SCENGEN_DONORS,	  /* memory owed by donors: either 100..1,000 small guests at their
			   * ceilings with reservations and a raised pin each guest's share
			   * of which is below the deadband, or a few large guests, some
			   * stuck, stopping or slow, with a reservation the fast ones can
			   * give; daemon restarts between the actions. The scenario's
			   * expect says what must be met (granted_within, final_target) */
};

/* Parts of a history that can be left out (scengen_opts.exclude):
 * balloons whose tot_pages rests off the target; xs-writes into
 * memory/dynamic-min|max; admin pins (set-target events and numeric
 * xs-writes into memory/target; garbage writes stay). */
#define SCENGEN_NO_OFFSETS 1u
#define SCENGEN_NO_BOUND_WRITES 2u
#define SCENGEN_NO_PINS 4u

struct scengen_opts {
	enum scengen_kind kind;
	unsigned exclude;		     /* SCENGEN_NO_* */
	unsigned min_guests, max_guests;     /* initial domains besides dom0 */
	uint64_t min_host_kib, max_host_kib; /* host RAM */
};

/* What the generator knows about the scenario it wrote, for the checks. */
struct scengen_info {
	uint64_t host_kib;
	unsigned guests;   /* initial domains besides dom0 */
	unsigned created;  /* create events */
	unsigned events;   /* all events */
	bool tight;	   /* the dynamic-mins fill most of the host */
	bool keep_free;	   /* surplus = keep-free (else distribute) */
	bool cooperative;  /* every balloon follows its target exactly: normal, slow or
			    * liar, no offset */
	bool pool_exempt;  /* something besides balloond may take memory: a create, or a
			    * greedy guest whose maxmem is above its memory */
	uint64_t quiet_ms; /* no event, demand step or pause after this */
	uint64_t until_ms;
	uint64_t settle_ms; /* until - quiet: enough for every balloon to move its range twice */
	char summary[192];  /* one line for humans */
};

/* Defaults: SCENGEN_RANDOM, 1..60 guests, hosts of 4..256 GiB (SCENGEN_DONORS
 * picks its own guest counts, and keeps within the host sizes). */
void scengen_opts_init(struct scengen_opts *o);

/* Write the scenario for seed into *ret_text (NUL-terminated, the caller
 * frees it) and describe it in *ret_info (may be NULL). 0, -EINVAL (bad
 * options) or -ENOMEM. */
int scengen_generate(uint64_t seed, const struct scengen_opts *o, char **ret_text,
		     struct scengen_info *ret_info);

#endif
