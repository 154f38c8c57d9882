/* SPDX-License-Identifier: GPL-2.0-or-later */
/* What the engine's files share and callers never see: struct engine, the
 * size helpers every phase uses, and the prototypes between the files
 * (engine.c, engine-table.c, engine-observe.c, engine-policy.c,
 * engine-decide.c, engine-replan.c, engine-reserve.c, engine-share.c). */
#ifndef BALLOON_ENGINE_INTERNAL_H
#define BALLOON_ENGINE_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "engine.h"
#include "units.h"

/* engine_dom.pin_dirty */
#define PIN_DIRTY_EVENT 1u /* report the pin or unpin */
#define PIN_DIRTY_MODE 2u  /* persist mode */
#define PIN_DIRTY_VALUE 4u /* persist pin */

struct restore_entry {
	uint32_t domid;
	char key[16];
	char value[64];
};

struct engine {
	struct conf conf;
	struct engine_dom **doms; /* sorted by domid */
	size_t n, cap;
	struct restore_entry *restore;
	size_t n_restore;
	struct engine_host host;
	uint64_t low_mem_kib; /* Xen's low_mem_virq threshold, last observed */
	/* Counts what changes the picture from outside the guests' own
	 * numbers: a domain came or went, a reservation, a pin, a policy, a
	 * reload, pause. Oscillation damping only holds back reversals that
	 * happen within one epoch. */
	uint64_t epoch;
	bool paused;
	bool have_obs;
	/* scratch for the policy, grown as needed */
	struct policy_item *items;
	double *scratch;
	struct engine_dom **work;
	struct increase *inc; /* the round's increases (engine-decide.c) */
	size_t scratch_cap;
	/* reservations, by id; ended ones are kept RESV_KEEP_MS for listing */
	struct engine_resv *resv;
	size_t n_resv, cap_resv;
	uint32_t next_resv_id;
	bool *resv_dirty;     /* parallel to resv: persist at the next step */
	bool resv_next_dirty; /* persist next_resv_id */
};

/* ---- sizes ---- */

static inline uint64_t page_floor(uint64_t kib)
{
	return kib - kib % ENGINE_PAGE_KIB;
}

static inline uint64_t page_ceil(uint64_t kib)
{
	return page_floor(kib + ENGINE_PAGE_KIB - 1);
}

static inline uint64_t u64_min(uint64_t a, uint64_t b)
{
	return a < b ? a : b;
}

static inline uint64_t u64_max(uint64_t a, uint64_t b)
{
	return a > b ? a : b;
}

static inline uint64_t u64_dist(uint64_t a, uint64_t b)
{
	return a > b ? a - b : b - a;
}

/* a + b for a size and a signed offset, never below 0. */
static inline uint64_t add_offset(uint64_t a, int64_t b)
{
	if (b < 0 && (uint64_t)-b > a)
		return 0;
	return b < 0 ? a - (uint64_t)-b : a + (uint64_t)b;
}

/* kib x (100 + pct) / 100 without overflow for any size we accept. */
static inline uint64_t with_buffer(uint64_t kib, unsigned pct)
{
	return kib / 100 * (100 + pct) + kib % 100 * (100 + pct) / 100;
}

/* ---- what a domain is, in the round's terms ---- */

/* The part of a domain's offset that is not learned: the videoram libxl
 * leaves out of an HVM guest's target. */
static inline int64_t dom_base_offset(const struct engine_dom *d)
{
	return d->offset_kib - d->learned_offset_kib;
}

/* Where tot_pages settles for a target: the target plus the domain's offset
 * (videoram, firmware and what the guest kernel keeps outside its balloon),
 * never above static-max, which its memory map cannot grow past. */
static inline uint64_t dom_aim(const struct engine_dom *d, uint64_t target_kib)
{
	uint64_t aim = add_offset(target_kib, d->offset_kib);

	return d->static_max_kib && aim > d->static_max_kib ? d->static_max_kib : aim;
}

/* A domain the policy may shrink or grow right now. */
static inline bool dom_balanced(const struct engine_dom *d)
{
	return d->managed && d->mode == MODE_AUTO && d->state != DOM_UNCOOPERATIVE;
}

/* Memory a domain will still take from the host if it reaches its target.
 * The maxmem slack above it is not: it is a ceiling, not memory in use
 * (the pool covers a guest that populates it on its own), and the budget
 * the balanced domains share does not count it either, so counting it
 * here would leave an increase or a pin forever a few MiB short. */
static inline uint64_t dom_commitment(const struct engine *e, const struct engine_dom *d)
{
	uint64_t top;

	(void)e;
	if (!d->has_target || d->state == DOM_DYING || d->state == DOM_BUILDING)
		return 0;
	top = dom_aim(d, d->target_kib);
	return top > d->actual_kib ? top - d->actual_kib : 0;
}
/* ---- engine.c: the output ---- */

/* Grow *v (of *cap elements of elem bytes) to hold need; 0 or -ENOMEM. */
int array_grow(void **v, size_t *cap, size_t need, size_t elem);
/* Append an action for domid to out (NULL when out of memory). */
struct engine_action *output_action_add(struct engine_output *out, enum engine_action_type type,
					uint32_t domid);
/* Append an ACT_PERSIST of key = the formatted value for domid. */
int output_action_persist(struct engine_output *out, uint32_t domid, const char *key,
			  const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/* Append an event about d (or the host when d is NULL) to out. */
struct engine_event *output_event_add(struct engine_output *out, enum engine_event_type type,
				      const struct engine_dom *d);

/* Render reason r (text: the domain's reason_text) into buf, as
 * engine_dom_reason does. */
void reason_format(const struct engine_reason *r, const char *text, char *buf, size_t len);

/* ---- engine-table.c: the domain table ---- */

/* The domain with this domid, or NULL. */
struct engine_dom *table_find(const struct engine *e, uint32_t domid);
/* A new domain entry for domid, in domid order (NULL when out of memory). */
struct engine_dom *table_insert(struct engine *e, uint32_t domid);
/* Record a decision in d's ring of the last ENGINE_DECISIONS. */
void decision_log(struct engine_dom *d, uint64_t now, bool has_old, uint64_t old_kib,
		  uint64_t new_kib, const char *reason);
/* Set d's reason to a text (pins and unpins). */
void dom_reason_text(struct engine_dom *d, const char *text);
/* Move d to state s, with an EV_STATE event saying why. */
void set_state(struct engine_dom *d, enum dom_state s, struct engine_output *out, const char *why);
/* Apply (and drop) what was persisted for a domain seen for the first time. */
void restore_apply(struct engine *e, struct engine_dom *d, uint64_t now);

/* ---- engine-observe.c: observation ---- */

/* Merge one observed domain into its entry; advance its balloon state. */
void dom_observe(struct engine *e, struct engine_dom *d, const struct engine_obs_domain *o,
		 uint64_t now, struct engine_output *out);

/* ---- engine-policy.c: pins, policy overrides, modes ---- */

/* Parse the persisted policy form "1 DMIN DMAX WEIGHT MODE"; 0 or -EINVAL. */
int policy_parse(const char *value, struct engine_policy *ret);
/* The configured mode for a domain that is not pinned. */
enum domain_mode dom_conf_mode(const struct engine *e, const struct engine_dom *d);
/* Pin d at kib (an external write of memory/target), persisted. */
void pin_domain(struct engine_dom *d, uint64_t kib, uint64_t now, const char *why,
		struct engine_output *out);
/* Report and persist an admin's pin or policy change since the last step. */
void dom_admin_flush(struct engine_dom *d, struct engine_output *out);

/* ---- engine-decide.c: the decision round ---- */

/* The decision round over the whole table; 0 or -ENOMEM. */
int round_run(struct engine *e, uint64_t now, struct engine_output *out);

/* ---- engine-replan.c: lagging donors ---- */

/* While memory is owed (a reservation or a raised pin waits), fix each of
 * the nb balanced domains (e->work, e->items after the fair share) that
 * lags at what it can give in the time the fastest feasible plan needs
 * (its item's dmin = ceiling); lagging says which. 1 when some donor was
 * fixed (share the budget again), 0 when none, -ENOMEM. */
int replan_lagging(struct engine *e, size_t nb, int64_t budget, uint64_t now,
		   struct engine_output *out);
/* A reservation waits to be granted, or a pin for memory to be freed. */
bool memory_owed(const struct engine *e);

/* ---- engine-reserve.c: reservations ---- */

/* Some reservation is still waiting for memory to be freed. */
bool resv_pending(const struct engine *e);
/* What could be free beyond the pool if every balanced domain but skip
 * went to its dynamic-min (claims and reservations not counted). */
int64_t host_capacity(const struct engine *e, const struct engine_dom *skip);
/* Memory kept for domains being started, given what reservations hold:
 * the larger of that and Xen's outstanding claims, not their sum, since
 * the VM a reservation was made for claims the reserved memory when it is
 * built (memctl reserve, then xl create with claim_mode). A claim beyond
 * what is held still counts in full. */
uint64_t host_set_aside(const struct engine *e, uint64_t held_kib);
/* What the fair share and increases leave free beyond the pool: that, or
 * keep_free (headroom for VM starts, which reservations and claims draw
 * on) when it is larger. */
uint64_t budget_set_aside(const struct engine *e, uint64_t held_kib);
/* Before the round: end what expired or was taken; what each holds. */
void resv_update(struct engine *e, uint64_t now, struct engine_output *out);
/* After the round: grant, fail or wait for each pending reservation. */
void resv_answer(struct engine *e, uint64_t now, struct engine_output *out);

#endif
