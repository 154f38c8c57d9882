/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The balancing engine: a pure state machine. engine_step() takes what the
 * backend observed and the current time, and returns the actions to carry
 * out (set a target, set maxmem, persist state) and events to report.
 * Nothing here reads a clock, does I/O or knows which backend runs it. */
#ifndef BALLOOND_ENGINE_H
#define BALLOOND_ENGINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "conf.h"

#define ENGINE_NAME_MAX 64
#define ENGINE_DECISIONS 16      /* per-domain decision history kept */
#define ENGINE_PAGE_KIB 4
#define ENGINE_REASON_MAX 128    /* a reason's text, with its NUL */

enum dom_type { DOM_PV, DOM_PVH, DOM_HVM };

/* Lifecycle and balloon state of a domain, as reported to operators. */
enum dom_state {
	DOM_IDLE,          /* actual is at target */
	DOM_CONVERGING,    /* moving toward target */
	DOM_STALLED,       /* no progress for stall_timeout; re-armed */
	DOM_UNCOOPERATIVE, /* stalled for uncooperative_timeout; counted as it is */
	DOM_BUILDING,      /* not fully introduced yet (no name/static-max) */
	DOM_DYING,         /* dying or shut down (a migration's suspend too) */
	DOM_PAUSED,        /* paused (xl pause, a migration's receiving end): left alone */
	DOM_NO_DRIVER,     /* its balloon driver is not ready: no target written */
};

/* Where a domain's demand comes from. */
enum report_source { REPORT_NONE, REPORT_DATA, REPORT_QUBES, REPORT_DOM0 };

/* Where a bound came from, for explain. */
enum bound_source { BOUND_DEFAULT, BOUND_XENSTORE, BOUND_CONFIG, BOUND_ADMIN };

/* One domain as the backend saw it. Guest-written values are not here:
 * they arrive as raw strings and are parsed by the engine. */
struct engine_obs_domain {
	uint32_t domid;
	char name[ENGINE_NAME_MAX]; /* "" while unknown */
	enum dom_type type;
	bool dying;
	bool shutdown;
	bool paused;                /* the hypervisor's paused flag */
	/* control/feature-balloon (guest-written): "1" or "0", else absent */
	bool has_feature_balloon, feature_balloon;
	uint64_t tot_kib;           /* tot_pages * 4 */
	uint64_t max_kib;           /* max_pages * 4 (maxmem) */
	uint64_t static_max_kib;    /* memory/static-max; 0 = unknown */
	bool has_target;
	uint64_t target_kib;        /* memory/target as read now */
	bool has_xs_dmin, has_xs_dmax;
	uint64_t xs_dmin_kib, xs_dmax_kib; /* memory/dynamic-min|max */
	/* What the guest says of itself (data/meminfo_total, _free): digits
	 * only, as parsed by the backend; the engine judges plausibility. */
	bool has_report;
	uint64_t report_total_kib, report_free_kib;
	/* Qubes' meminfo-writer (memory/meminfo): the KiB the guest uses,
	 * swap included; digits only, as parsed by the backend. Used when
	 * there is no data/meminfo report. */
	bool has_qubes_report;
	uint64_t qubes_used_kib;
	/* memory/videoram (HVM, written by the toolstack): libxl's target
	 * leaves it out, so tot_pages sits this much above memory/target. */
	uint64_t videoram_kib;
	/* dom0 only, read by balloond itself (trusted): memory pressure
	 * stall information, "some avg10" in hundredths of a percent. dom0's
	 * report above comes from its own /proc/meminfo. */
	bool has_psi;
	unsigned psi_some_avg10_centi;
};

struct engine_obs {
	uint64_t total_kib;
	uint64_t free_kib;
	uint64_t scrub_kib;
	uint64_t outstanding_kib;
	uint64_t low_mem_virq_kib; /* Xen's low-memory alarm; the pool never goes below it */
	const struct engine_obs_domain *doms; /* any order; domids unique */
	size_t n;
};

enum engine_action_type {
	ACT_SET_MAXMEM,   /* xc_domain_setmaxmem(domid, kib) */
	ACT_SET_TARGET,   /* write memory/target = kib */
	ACT_PERSIST,      /* write /tool/balloond/domain/<domid>/<key> = value */
	ACT_FORGET,       /* remove /tool/balloond/domain/<domid> */
	ACT_PERSIST_RESV, /* write /tool/balloond/reservation/<domid = id> = value */
	ACT_FORGET_RESV,  /* remove /tool/balloond/reservation/<domid = id> */
	ACT_FLAG_UNCOOP,  /* kib 1: write memory/uncooperative = 1; kib 0: remove it */
};

struct engine_action {
	enum engine_action_type type;
	uint32_t domid; /* the reservation id for *_RESV */
	uint64_t kib;
	char key[16];
	char value[256];
};

enum engine_event_type {
	EV_DOMAIN_NEW,
	EV_DOMAIN_GONE,
	EV_TARGET,        /* balloond set a new target */
	EV_STATE,         /* balloon state changed */
	EV_PIN,           /* pinned (by memctl or an external memory/target write) */
	EV_UNPIN,
	EV_PRESSURE,      /* host pressure level changed */
	EV_RESERVATION,   /* a reservation changed state (resv_id, text) */
};

struct engine_event {
	enum engine_event_type type;
	uint32_t domid;
	char name[ENGINE_NAME_MAX];
	uint64_t old_kib, new_kib;
	enum dom_state old_state, new_state;
	uint32_t resv_id;
	char text[256];
};

/* What one step produced. Arrays are owned by the output; reuse one output
 * across steps (engine_output_reset) and free it with engine_output_free. */
struct engine_output {
	struct engine_action *actions;
	size_t n_actions, cap_actions;
	struct engine_event *events;
	size_t n_events, cap_events;
	uint64_t next_wake_ms; /* UINT64_MAX: nothing to do until something changes */
};

void engine_output_reset(struct engine_output *out);
void engine_output_free(struct engine_output *out);

struct engine_decision {
	uint64_t at_ms;
	bool has_old;
	uint64_t old_kib, new_kib;
	char reason[128];
};

/* Why a domain's goal is what it is, kept as a code and the numbers its
 * text needs, so that a step formats nothing: engine_dom_reason() renders
 * it when someone reads it. */
enum reason_code {
	REASON_NONE,          /* "" (nothing decided yet) */
	REASON_TEXT,          /* the text in engine_dom.reason_text (pin, unpin) */
	REASON_DEMAND_GIVES,  /* kib[0] used, kib[1] demand */
	REASON_DEMAND_TAKES,  /* kib[0] demand */
	REASON_SHORT,         /* kib[0] dynamic-min */
	REASON_CEILING,       /* kib[0] ceiling; count 1: static-max, 0: dynamic-max */
	REASON_FAIR,          /* fraction of kib[0] dmin .. kib[1] ceiling; count weight */
	REASON_KEEP_FREE,     /* surplus kept free */
	REASON_PINNED,        /* kib[0] the pin */
	REASON_PINNED_WAIT,   /* kib[0] the pin, waiting for memory */
	REASON_PINNED_MAXMEM, /* pinned above its maxmem */
	REASON_DAMPED,        /* count reversals, kib[0] held back, ms the window */
	REASON_LAGGING,       /* kib[0] its rate (KiB/s, 0: none), kib[1] what moved to others */
};

/* How a reason is put when an increase only goes part of the way. */
enum reason_wrap {
	REASON_AS_IS,
	REASON_WAITING, /* "waiting for free memory to grow (REASON)" */
	REASON_STEP,    /* "a step toward wrap_kib as memory is freed; REASON" */
};

struct engine_reason {
	enum reason_code code;
	enum reason_wrap wrap;
	unsigned count;
	uint64_t kib[2];
	uint64_t wrap_kib;
	uint64_t ms;
	double fraction;
};

enum pressure_level { PRESSURE_NONE, PRESSURE_TIGHT, PRESSURE_CRITICAL };

/* Per-domain overrides set by an admin (domain.set_policy): they win over
 * balloond.conf and XenStore until reset, and survive a restart. */
struct engine_policy {
	bool has_dmin, has_dmax, has_weight, has_mode;
	uint64_t dmin_kib, dmax_kib;
	unsigned weight;
	enum domain_mode mode; /* auto, frozen or excluded */
};

/* A domain as the engine knows it (read-only for callers). */
struct engine_dom {
	uint32_t domid;
	char name[ENGINE_NAME_MAX];
	enum dom_type type;
	enum domain_mode mode;
	enum dom_state state;
	bool managed;               /* balloond may change its target now */
	uint64_t actual_kib, maxmem_kib, static_max_kib;
	uint64_t dmin_kib, dmax_kib, ceiling_kib;
	enum bound_source dmin_source, dmax_source;
	unsigned weight;
	bool has_target;
	uint64_t target_kib;        /* what memory/target holds */
	uint64_t goal_kib;          /* what balloond wants it to reach (target before re-arm nudges) */
	uint64_t pin_kib;           /* when mode == MODE_PINNED */
	bool has_demand;
	enum report_source report_source; /* where the demand came from */
	uint64_t used_kib;          /* what the guest reports using */
	uint64_t demand_kib;        /* need = used x (1 + demand_buffer), within dmin..ceiling */
	bool report_rejected;       /* the last report was implausible */
	bool report_stale;          /* not renewed since the domain was resized */
	bool under_pressure;        /* dom0: memory PSI at or above psi_threshold */
	int64_t offset_kib;         /* tot_pages - target at rest: videoram + learned */
	int64_t learned_offset_kib; /* the learned part, within +-offset_max */
	bool offset_learned;
	bool damped;                /* a goal reversal is being held back (oscillation) */
	unsigned reversals;         /* goal direction reversals, each within the window */
	int64_t rate_kib_s;         /* measured, signed; 0 when unknown */
	bool has_rate;
	uint64_t gave_rate_kib_s;   /* the rate it was last seen giving memory back at, kept
	                             * while it rests at its target (0: unknown, or it stalled) */
	struct engine_reason reason; /* why the current goal (engine_dom_reason) */
	char reason_text[ENGINE_REASON_MAX]; /* for REASON_TEXT */
	struct engine_decision decisions[ENGINE_DECISIONS]; /* ring */
	unsigned n_decisions, decision_head;

	/* state machine internals */
	bool written_valid;
	uint64_t written_kib;       /* the last value balloond wrote (or adopted) */
	uint64_t last_actual_kib;
	uint64_t last_progress_ms;
	uint64_t last_sample_ms;
	uint64_t stalled_since_ms;
	uint64_t last_rearm_ms;
	unsigned rearms;
	unsigned uncoop_rearms;     /* re-arms since it became uncooperative: the backoff */
	uint64_t maxmem_requested_kib; /* last setmaxmem we asked for (0 = none) */
	uint64_t prev_written_kib;  /* to undo a failed write */
	bool has_intent_prev;       /* restored: the target before the persisted intent */
	uint64_t intent_prev_kib;   /* (memory/target may still hold it after a crash) */
	bool target_restore;        /* memory/target was refused: write written_kib again */
	bool has_intent;            /* what /tool/balloond/.../target holds is known: */
	uint64_t intent_kib;        /* "intent_kib intent_prev_kib" */
	bool moved;                 /* actual changed since the target was last written */
	uint64_t report_used_kib;   /* the accepted report */
	uint64_t report_total_kib;  /* ... and the total it came with (data/meminfo) */
	uint64_t report_ms;         /* when it was accepted (0 = none) */
	uint64_t report_actual_kib; /* the domain's size then */
	uint64_t report_true_ms;    /* when that size was last the domain's own */
	int last_dir;               /* direction of the last goal change: -1, 0, 1 */
	uint64_t last_change_ms;    /* when the goal last changed */
	uint64_t change_epoch;      /* the engine's epoch then */
	size_t policy_idx;          /* index into the policy items this round */
	int demand_role;            /* this round: 0 none, 1 gave, 2 took */
	bool lagging;               /* re-planned at lag_floor_kib: too slow for what is owed */
	uint64_t lag_floor_kib;     /* what it gives by the plan's time */
	uint64_t lag_rate_kib_s;    /* the rate it was judged by (0: it gives nothing) */
	uint64_t lag_moved_kib;     /* what of its share moved to other donors */
	uint64_t grow_step_kib;     /* the least partial increase while it grows (0: not growing) */
	unsigned pin_dirty;         /* pin/unpin to report next step; PIN_DIRTY_* to persist */
	struct engine_policy pol;   /* admin overrides (memctl set-policy) */
	bool pol_dirty;             /* persist the overrides next step */
	bool seen;                  /* mark for the merge */
};

struct engine_host {
	uint64_t total_kib, free_kib, scrub_kib, outstanding_kib;
	uint64_t pool_kib, committed_kib, reserved_kib;
	int64_t available_kib;
	enum pressure_level pressure;
	bool paused;
	unsigned domains, managed, converging, stalled, uncooperative;
};

struct engine;

/* A new engine using a copy of conf; NULL on ENOMEM. */
struct engine *engine_new(const struct conf *conf);
void engine_free(struct engine *e);

/* Replace the configuration (SIGHUP). Domain modes and bounds are
 * recomputed on the next step; pins are kept. 0 or -ENOMEM. */
int engine_set_conf(struct engine *e, const struct conf *conf);
const struct conf *engine_conf(const struct engine *e);

/* Feed back one persisted key for a domain (from /tool/balloond/), before
 * the domain is first observed. Unknown keys and bad values are ignored
 * (-EINVAL) so that a damaged store never stops the daemon. */
int engine_restore(struct engine *e, uint32_t domid, const char *key, const char *value);

/* One decision round: merge the observation, run every domain's state
 * machine and the policy, fill out (after resetting it). 0 or -ENOMEM. */
int engine_step(struct engine *e, const struct engine_obs *obs, uint64_t now_ms,
		struct engine_output *out);

/* Merge p into domid's overrides (reset first clears them). -ENOENT,
 * -EINVAL (dmin > dmax, above static-max, weight outside 1..10000, mode
 * pinned), -EPERM (dom0 without manage_dom0), -ENOSPC (a raised dmin the
 * host cannot provide). err gets a sentence. */
int engine_set_policy(struct engine *e, uint32_t domid, const struct engine_policy *p, bool reset,
		      uint64_t now_ms, char *err, size_t errlen);

/* A dry run: what engine_step would do with this observation now, without
 * changing e (a copy decides; as_running: as if not paused). 0 or -ENOMEM. */
int engine_plan(const struct engine *e, const struct engine_obs *obs, uint64_t now_ms,
		bool as_running, struct engine_output *out);

/* Admin requests (from the control socket). They change engine state only
 * when they succeed; the caller then runs a step. Errors:
 * -ENOENT no such domain, -EPERM not manageable (excluded, frozen, dom0,
 * building, dying), -ERANGE outside [dmin, static-max] (ret_min and ret_max
 * say the range), -ENOSPC the host cannot free that much. err gets a
 * sentence. */
int engine_pin(struct engine *e, uint32_t domid, uint64_t target_kib, uint64_t now_ms,
	       uint64_t *ret_min, uint64_t *ret_max, char *err, size_t errlen);
int engine_unpin(struct engine *e, uint32_t domid, uint64_t now_ms, char *err, size_t errlen);

void engine_pause(struct engine *e, bool paused);

/* ---- reservations (POLICY.md 9): memory freed for a VM about to start ----
 * pending: balloond frees memory (decreases now, no increase meanwhile);
 * granted: free >= amount + pool, held until transferred, cancelled or the
 * TTL ends; transferred: held for one domain until it has taken the amount
 * (its growth since the transfer is subtracted), it runs, or the TTL ends;
 * failed: not granted by the deadline, or every donor settled short of it
 * (why names the domains that did not give back). Active ones are persisted
 * (times are the caller's monotonic clock, which survives a daemon restart). */
enum resv_state {
	RESV_PENDING,
	RESV_GRANTED,
	RESV_TRANSFERRED,
	RESV_FAILED,
	RESV_EXPIRED,
	RESV_CANCELLED,
	RESV_DONE, /* transferred and taken by its domain */
};

#define ENGINE_RESV_MAX 64 /* active reservations at once */

struct engine_resv {
	uint32_t id;
	enum resv_state state;
	uint64_t min_kib, max_kib;
	uint64_t amount_kib;   /* what it wants (pending) or holds at most */
	uint64_t held_kib;     /* what it keeps out of the fair share now */
	uint64_t created_ms, answer_by_ms, expires_ms, ended_ms;
	uint32_t domid;        /* transferred to */
	bool dom_seen;         /* that domain has been observed since */
	char for_name[ENGINE_NAME_MAX]; /* handed to the domain of this name when
					 * it appears ("" when not named) */
	char why[256];         /* failure reason, naming the domains that refused */
};

const char *resv_state_name(enum resv_state s);
/* Still holding (or trying to hold) memory. */
bool resv_active(const struct engine_resv *r);

/* Reserve between min and max KiB (equal for a fixed size) for ttl_ms.
 * Answers at once with the id; the reservation is granted or fails in a
 * later step. -EINVAL (bad sizes or ttl), -ENOSPC (the host cannot free
 * even min: err says how much it can), -EBUSY (too many active). */
int engine_reserve(struct engine *e, uint64_t min_kib, uint64_t max_kib, uint64_t ttl_ms,
		   uint64_t now_ms, uint32_t *ret_id, char *err, size_t errlen);
/* The same, for the domain named for_name ("" or NULL: none): once granted,
 * it is transferred to that domain when a step observes it, as a transfer
 * call would; it expires as usual if no such domain appears within its TTL.
 * Also -EINVAL for a name that is not one (empty, too long, control
 * characters), -EEXIST when a domain of that name exists already or
 * another active reservation is for it. */
int engine_reserve_for(struct engine *e, uint64_t min_kib, uint64_t max_kib, uint64_t ttl_ms,
		       const char *for_name, uint64_t now_ms, uint32_t *ret_id, char *err,
		       size_t errlen);
/* What a new reservation could get now: -ENOSPC's "at most" (KiB). */
uint64_t engine_reservable_kib(const struct engine *e);
/* A name engine_reserve_for takes. */
bool engine_resv_name_ok(const char *name);
/* -ENOENT no such reservation, -EINVAL no longer active. */
int engine_reservation_cancel(struct engine *e, uint32_t id, uint64_t now_ms, char *err,
			      size_t errlen);
/* Hand a granted reservation to a domain (the VM it was made for). -ENOENT
 * no such reservation or domain, -EINVAL not granted. */
int engine_reservation_transfer(struct engine *e, uint32_t id, uint32_t domid, uint64_t now_ms,
				char *err, size_t errlen);
/* Feed back one persisted reservation record (before the first step).
 * Damaged records are ignored with -EINVAL. */
int engine_restore_reservation(struct engine *e, uint32_t id, const char *value);
size_t engine_reservation_count(const struct engine *e);
const struct engine_resv *engine_reservation_at(const struct engine *e, size_t i);
const struct engine_resv *engine_reservation_find(const struct engine *e, uint32_t id);

/* The backend could not carry out an action from the last step: forget
 * that it was done so the next step retries (or re-reads) instead of
 * taking the old value for an external change. */
void engine_action_failed(struct engine *e, const struct engine_action *a);

/* Queries. Domains are kept sorted by domid. */
size_t engine_count(const struct engine *e);
const struct engine_dom *engine_at(const struct engine *e, size_t i);
const struct engine_dom *engine_find(const struct engine *e, uint32_t domid);
const struct engine_dom *engine_find_name(const struct engine *e, const char *name);
void engine_host_status(const struct engine *e, struct engine_host *ret);

/* Why d's goal is what it is, as text into buf (len bytes; the whole
 * text fits in ENGINE_REASON_MAX). Returns buf. */
char *engine_dom_reason(const struct engine_dom *d, char *buf, size_t len);

/* Decision i of a domain, 0 = newest; NULL past the end. */
const struct engine_decision *engine_dom_decision(const struct engine_dom *d, unsigned i);

const char *dom_state_name(enum dom_state s);
const char *dom_type_name(enum dom_type t);
const char *bound_source_name(enum bound_source s);
const char *pressure_name(enum pressure_level p);
const char *report_source_name(enum report_source s);

/* The policy core, exposed for tests and benchmarks: water-fill budget over
 * n domains so that each gets dmin + min(1, f*weight/100)*(ceiling-dmin)
 * for the largest f that fits. Targets are page-aligned (rounded down) and
 * never below dmin nor above ceiling; sum <= budget unless sum(dmin) alone
 * exceeds it (then every target is dmin and the function returns 1).
 * scratch must hold 2*n doubles. Returns 0, or 1 when short. */
struct policy_item {
	uint64_t dmin_kib, ceiling_kib;
	unsigned weight;
	uint64_t out_kib;
	double fraction;  /* out: the fraction of dmin..ceiling given */
};
int policy_fair_share(struct policy_item *items, size_t n, int64_t budget_kib,
		      double *scratch);

#endif
