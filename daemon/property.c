/* SPDX-License-Identifier: GPL-2.0-or-later */
/* balloond --simulate-random SEED [--count N] [--print]: property runs.
 *
 * Each seed gives a scenario (sim/scengen.c) that runs exactly like
 * `balloond --simulate` (simulate_run: the real engine on the simulated
 * host, every invariant of SIMULATOR.md checked at every step). The report
 * must then show:
 *  - invariants: no violation at any step, except that free memory below
 *    the pool (or below the pool plus granted reservations) is the
 *    scenario's doing from its first overcommitted creation on: a creation
 *    not covered by a reservation that was granted and transferred to it
 *    (simulate.c only allows a new domain 1 s of grace);
 *  - events: no event failed except those the host may refuse (a creation
 *    without the memory, an admin pin out of range or on a domain that
 *    cannot be pinned, a transfer of a reservation that was not granted, a
 *    cancel of one that already ended)
 *    and those naming a domain whose creation was refused;
 *  - pool: when nothing but balloond could take memory (no creation, no
 *    greedy guest allowed above its memory by maxmem), host free never
 *    went below the pool, not for a single step and with no grace;
 *  - bounds: every managed domain that is at rest (idle) sits within
 *    [dynamic-min, ceiling] with its target in the same range;
 *  - cooperative hosts (every balloon follows its target exactly): after
 *    the last change and settle time, the run converged (in the last 30
 *    virtual seconds no target or maxmem written, no balloon moved, every
 *    managed domain idle), and the
 *    pool is free again unless every managed domain is down to its
 *    dynamic-min.
 * A failing seed is printed with the command that reproduces it alone.
 *
 * Nothing generated is left out: offsets, hostile writes into the bounds
 * and admin pins (set-target, external writes of memory/target) are all
 * part of the histories. */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <json-c/json.h>

#include "simulate.h"
#include "scengen.h"
#include "units.h"

#define TAIL_MS 30000	   /* quiet at the end of a converged run */
#define TOLERANCE_KIB 1024 /* reach_tolerance's default; scengen never sets it */
#define PAGE_KIB 4
#define COUNT_MAX 1000000

struct prop_stats {
	unsigned runs, failed, cooperative, converged, mixed_converged, overcommitted;
	double virtual_s, converge_s_sum;
	uint64_t target_writes;
};

static uint64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static int64_t jint(json_object *o, const char *key)
{
	json_object *v;

	return json_object_object_get_ex(o, key, &v) ? json_object_get_int64(v) : 0;
}

static double jdouble(json_object *o, const char *key)
{
	json_object *v;

	return json_object_object_get_ex(o, key, &v) ? json_object_get_double(v) : 0.0;
}

static const char *jstr(json_object *o, const char *key)
{
	json_object *v;

	return json_object_object_get_ex(o, key, &v) ? json_object_get_string(v) : "";
}

/* Record one broken property (the first detail is kept). */
static void fail(char *why, size_t len, unsigned *n, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static void fail(char *why, size_t len, unsigned *n, const char *fmt, ...)
{
	va_list ap;
	size_t used = strlen(why);

	if ((*n)++ >= 4 || used + 4 >= len)
		return;
	if (used)
		used += (size_t)snprintf(why + used, len - used, "; ");
	va_start(ap, fmt);
	vsnprintf(why + used, len - used, fmt, ap);
	va_end(ap);
}

/* The scenario event at time t (events have distinct times), or NULL. */
static json_object *event_at(json_object *events, double t)
{
	size_t i;

	for (i = 0; events && i < json_object_array_length(events); i++) {
		json_object *e = json_object_array_get_idx(events, i);

		if ((int64_t)(jdouble(e, "at") * 1000 + 0.5) == (int64_t)(t * 1000 + 0.5))
			return e;
	}
	return NULL;
}

/* The domain an event names. */
static const char *event_domain(json_object *e)
{
	json_object *d;

	if (json_object_object_get_ex(e, "domain", &d))
		return jstr(d, "name");
	return jstr(e, "name");
}

/* Whether name is in the list of refused creations. */
static bool refused(json_object *names, const char *name)
{
	size_t i;

	for (i = 0; i < json_object_array_length(names); i++)
		if (strcmp(json_object_get_string(json_object_array_get_idx(names, i)), name) == 0)
			return true;
	return false;
}

/* Whether the event at time t failed. */
static bool event_failed(json_object *rep, double t)
{
	json_object *errs = json_object_object_get(rep, "event_errors");
	size_t i;

	for (i = 0; errs && i < json_object_array_length(errs); i++)
		if ((int64_t)(jdouble(json_object_array_get_idx(errs, i), "at") * 1000 + 0.5) ==
		    (int64_t)(t * 1000 + 0.5))
			return true;
	return false;
}

/* The time of the first creation that took memory without a reservation
 * granted and transferred to it, or -1. */
static double overcommitted_at(json_object *rep, json_object *scn)
{
	json_object *events = json_object_object_get(scn, "events");
	size_t i, j, n = events ? json_object_array_length(events) : 0;

	for (i = 0; i < n; i++) {
		json_object *e = json_object_array_get_idx(events, i);
		bool covered = false;

		if (strcmp(jstr(e, "do"), "create") != 0 || event_failed(rep, jdouble(e, "at")))
			continue;
		for (j = i + 1; j < n && !covered; j++) {
			json_object *t = json_object_array_get_idx(events, j);

			covered = strcmp(jstr(t, "do"), "transfer") == 0 &&
				  strcmp(jstr(t, "name"), event_domain(e)) == 0 &&
				  !event_failed(rep, jdouble(t, "at"));
		}
		if (!covered)
			return jdouble(e, "at");
	}
	return -1;
}

/* A pool violation (simulate.c's wording). */
static bool is_pool_violation(const char *what)
{
	return strstr(what, "below the pool") || strstr(what, "is free beyond the pool");
}

/* Event errors the scenario may cause by itself; anything else breaks
 * the property. */
static void check_events(json_object *rep, json_object *scn, char *why, size_t len, unsigned *n)
{
	json_object *errs = json_object_object_get(rep, "event_errors");
	json_object *events = json_object_object_get(scn, "events");
	json_object *gone = json_object_new_array();
	size_t i;

	for (i = 0; errs && i < json_object_array_length(errs); i++) {
		json_object *er = json_object_array_get_idx(errs, i);
		json_object *e = event_at(events, jdouble(er, "at"));
		const char *what = e ? jstr(e, "do") : "?";
		const char *msg = jstr(er, "error");

		if (e && strcmp(what, "create") == 0 && strstr(msg, "not enough free memory")) {
			json_object_array_add(gone, json_object_new_string(event_domain(e)));
			continue;
		}
		if (e && (strcmp(what, "set-target") == 0 || strcmp(what, "transfer") == 0 ||
			  strcmp(what, "cancel") == 0))
			continue; /* the engine may refuse an admin request */
		if (e && refused(gone, event_domain(e)))
			continue;
		fail(why, len, n, "events: %s at %.3f s failed: %s", what, jdouble(er, "at"), msg);
	}
	json_object_put(gone);
}

/* What the generator expects beyond the invariants (scengen's donors
 * kind): every reservation granted, soon enough, and the pin reached. */
static void check_expect(json_object *rep, char *why, size_t len, unsigned *n)
{
	static const char *const keys[] = {"reservations_ok", "granted_within", "final_target"};
	json_object *exp = json_object_object_get(rep, "expect");
	json_object *resv = json_object_object_get(rep, "reservations"), *r0;
	size_t i;

	for (i = 0; i < sizeof(keys) / sizeof(*keys); i++) {
		json_object *item = json_object_object_get(exp, keys[i]);
		bool ok = true;

		if (!item)
			continue;
		if (strcmp(keys[i], "final_target") == 0) {
			json_object_object_foreach(item, name, dom)
			{
				(void)name;
				ok = ok &&
				     json_object_get_boolean(json_object_object_get(dom, "ok"));
			}
		} else {
			ok = json_object_get_boolean(json_object_object_get(item, "ok"));
		}
		if (ok)
			continue;
		r0 = resv ? json_object_array_get_idx(resv, 0) : NULL;
		fail(why, len, n, "expect: %s not met (first reservation: %s%s%.2f s)", keys[i],
		     r0 ? jstr(r0, "state") : "none", r0 ? ", granted after " : "",
		     r0 ? jdouble(r0, "granted_after") : 0.0);
	}
}

/* Check one run's report against the properties; why gets what broke. */
static unsigned check_report(json_object *rep, json_object *scn, const struct scengen_info *info,
			     struct prop_stats *st, char *why, size_t len)
{
	json_object *doms = json_object_object_get(rep, "domains");
	json_object *xs = json_object_object_get(rep, "xenstore");
	double until = (double)info->until_ms / 1000.0;
	double conv = jdouble(rep, "converged_at"),
	       last_write = jdouble(rep, "last_target_write_at");
	double settled = jdouble(rep, "settled_at");
	int64_t pool = jint(rep, "pool");
	bool converged = conv <= until - TAIL_MS / 1000.0 && settled <= until - TAIL_MS / 1000.0;
	bool all_at_dmin = true;
	unsigned n = 0;
	size_t i;

	why[0] = '\0';
	if (jint(rep, "violations") > jint(rep, "pool_violations")) {
		json_object *vl = json_object_object_get(rep, "violation_list");
		json_object *v0 = NULL;

		for (i = 0; vl && i < json_object_array_length(vl) && !v0; i++)
			if (!is_pool_violation(jstr(json_object_array_get_idx(vl, i), "what")))
				v0 = json_object_array_get_idx(vl, i);
		fail(why, len, &n, "invariants: %" PRId64 " violations, first at %.3f s: %s",
		     jint(rep, "violations") - jint(rep, "pool_violations"),
		     v0 ? jdouble(v0, "at") : 0.0, v0 ? jstr(v0, "what") : "(past the list)");
	}
	if (jint(rep, "pool_violations")) {
		double over = overcommitted_at(rep, scn);
		double first = jdouble(rep, "first_pool_violation_at");

		if (over < 0 || first < over)
			fail(why, len, &n,
			     "invariants: %" PRId64
			     " steps with free below the pool, first at %.3f s%s",
			     jint(rep, "pool_violations"), first,
			     over < 0 ? "" : ", before any overcommitted creation");
		else
			st->overcommitted++;
	}
	check_events(rep, scn, why, len, &n);
	check_expect(rep, why, len, &n);
	if (!info->pool_exempt && jint(rep, "min_free") < pool)
		fail(why, len, &n, "pool: host free went down to %" PRId64 " KiB, pool %" PRId64,
		     jint(rep, "min_free"), pool);
	for (i = 0; doms && i < json_object_array_length(doms); i++) {
		json_object *d = json_object_array_get_idx(doms, i);
		/* Bounds are in memory/target terms: a guest rests at its
		 * target plus its offset (videoram, or learned at rest). */
		int64_t actual = jint(d, "actual") - jint(d, "offset"), target = jint(d, "target");
		int64_t dmin = jint(d, "dmin"), ceiling = jint(d, "ceiling");
		bool managed = json_object_get_boolean(json_object_object_get(d, "managed"));
		const char *state = jstr(d, "state");

		if (!managed || strcmp(jstr(d, "mode"), "auto") != 0)
			continue;
		if (actual > dmin + TOLERANCE_KIB)
			all_at_dmin = false;
		if (strcmp(state, "idle") != 0) {
			if (info->cooperative && converged)
				fail(why, len, &n, "converged: %s is %s at the end",
				     jstr(d, "name"), state);
			continue;
		}
		if (actual + TOLERANCE_KIB < dmin || actual > ceiling + TOLERANCE_KIB ||
		    target + PAGE_KIB < dmin || target > ceiling + PAGE_KIB)
			fail(why, len, &n,
			     "bounds: %s at rest with actual %" PRId64 " target %" PRId64
			     " KiB outside %" PRId64 "..%" PRId64,
			     jstr(d, "name"), actual, target, dmin, ceiling);
	}
	if (info->cooperative) {
		st->cooperative++;
		if (!converged)
			fail(why, len, &n,
			     "converged: last unsettled at %.2f s, last target write at %.2f s, "
			     "host at rest from %.2f s, quiet from %.1f s, until %.1f s",
			     conv, last_write, settled, (double)info->quiet_ms / 1000.0, until);
		else if (jint(rep, "final_free") < pool && !all_at_dmin)
			fail(why, len, &n,
			     "pool: free %" PRId64 " KiB below the pool %" PRId64
			     " at the end while managed domains are above dynamic-min",
			     jint(rep, "final_free"), pool);
		if (converged) {
			st->converged++;
			st->converge_s_sum += settled > (double)info->quiet_ms / 1000.0
						      ? settled - (double)info->quiet_ms / 1000.0
						      : 0;
		}
	} else if (converged) {
		st->mixed_converged++;
	}
	st->virtual_s += jdouble(rep, "virtual_seconds");
	st->target_writes += (uint64_t)jint(xs, "target_writes");
	return n;
}

/* "A" or "A..B" into first and count (count from --count when given). */
static int parse_seeds(const char *s, const char *count_s, uint64_t *first, uint64_t *count)
{
	const char *dots = strstr(s, "..");
	char a[32];
	uint64_t last;

	if (dots) {
		if ((size_t)(dots - s) >= sizeof(a))
			return -EINVAL;
		memcpy(a, s, (size_t)(dots - s));
		a[dots - s] = '\0';
		if (u64_parse_strict(a, UINT64_MAX, first) < 0 ||
		    u64_parse_strict(dots + 2, UINT64_MAX, &last) < 0 || last < *first ||
		    last - *first >= COUNT_MAX)
			return -EINVAL;
		*count = last - *first + 1;
	} else if (u64_parse_strict(s, UINT64_MAX, first) < 0) {
		return -EINVAL;
	} else {
		*count = 1;
	}
	if (count_s && (u64_parse_strict(count_s, COUNT_MAX, count) < 0 || !*count))
		return -EINVAL;
	return 0;
}

int property_main(const char *seed_s, const char *count_s, bool print, const char *conf_path,
		  bool conf_explicit)
{
	struct scengen_opts opts;
	struct prop_stats st = {0};
	uint64_t first, count, k, t0 = mono_ms();
	const char *env;
	char repro_env[128];

	if (parse_seeds(seed_s, count_s, &first, &count) < 0) {
		fprintf(stderr,
			"balloond: --simulate-random: \"%s\" is not SEED or FIRST..LAST, or "
			"--count is not 1..%d\n",
			seed_s, COUNT_MAX);
		return 2;
	}
	scengen_opts_init(&opts);
	env = getenv("BALLOOND_PROPERTY_KIND");
	if (env && strcmp(env, "donors") == 0) {
		opts.kind = SCENGEN_DONORS;
	} else if (env && strcmp(env, "random") != 0) {
		fprintf(stderr,
			"balloond: BALLOOND_PROPERTY_KIND: \"%s\" is not random or donors\n", env);
		return 2;
	}
	env = getenv("BALLOOND_PROPERTY_MAX_HOST");
	if (env &&
	    (size_parse(env, &opts.max_host_kib) < 0 || opts.max_host_kib < opts.min_host_kib)) {
		fprintf(stderr,
			"balloond: BALLOOND_PROPERTY_MAX_HOST: \"%s\" is not a size of "
			"at least 4G\n",
			env);
		return 2;
	}
	env = getenv("BALLOOND_PROPERTY_MAX_GUESTS");
	if (env && (u64_parse_strict(env, 1000, &k) < 0 || !k)) {
		fprintf(stderr, "balloond: BALLOOND_PROPERTY_MAX_GUESTS: \"%s\" is not 1..1000\n",
			env);
		return 2;
	}
	if (env)
		opts.max_guests = (unsigned)k;
	if (print) {
		struct scengen_info info;
		char *text;

		if (scengen_generate(first, &opts, &text, &info) < 0) {
			fprintf(stderr, "balloond: cannot generate seed %" PRIu64 "\n", first);
			return 2;
		}
		printf("%s\n", text);
		fprintf(stderr, "seed %" PRIu64 ": %s\n", first, info.summary);
		free(text);
		return 0;
	}
	repro_env[0] = '\0';
	if (getenv("BALLOOND_PROPERTY_MAX_HOST"))
		snprintf(repro_env + strlen(repro_env), sizeof(repro_env) - strlen(repro_env),
			 "BALLOOND_PROPERTY_MAX_HOST=%.16s ", getenv("BALLOOND_PROPERTY_MAX_HOST"));
	if (getenv("BALLOOND_PROPERTY_MAX_GUESTS"))
		snprintf(repro_env + strlen(repro_env), sizeof(repro_env) - strlen(repro_env),
			 "BALLOOND_PROPERTY_MAX_GUESTS=%.4s ", getenv("BALLOOND_PROPERTY_MAX_GUESTS"));
	if (opts.kind == SCENGEN_DONORS)
		snprintf(repro_env + strlen(repro_env), sizeof(repro_env) - strlen(repro_env),
			 "BALLOOND_PROPERTY_KIND=donors ");
	for (k = 0; k < count; k++) {
		uint64_t seed = first + k, t1 = mono_ms();
		struct scengen_info info;
		json_object *rep = NULL, *scn;
		char name[48], why[1024];
		char *text;
		unsigned bad;
		int rc;

		if (scengen_generate(seed, &opts, &text, &info) < 0) {
			fprintf(stderr, "balloond: out of memory\n");
			return 2;
		}
		snprintf(name, sizeof(name), "seed-%" PRIu64, seed);
		rc = simulate_run(name, text, conf_path, conf_explicit, &rep);
		scn = json_tokener_parse(text);
		st.runs++;
		if (rc == 2 || !rep || !scn) {
			snprintf(why, sizeof(why),
				 "the generated scenario did not run (see above)");
			bad = 1;
		} else {
			bad = check_report(rep, scn, &info, &st, why, sizeof(why));
		}
		if (bad) {
			st.failed++;
			printf("FAIL seed %" PRIu64 " (%s): %s\n", seed, info.summary, why);
			printf("  reproduce: %sballoond --simulate-random %" PRIu64
			       "   (scenario: add --print)\n",
			       repro_env, seed);
		} else {
			printf("ok   seed %" PRIu64 " (%s) %.2f s wall\n", seed, info.summary,
			       (double)(mono_ms() - t1) / 1000.0);
		}
		fflush(stdout);
		json_object_put(rep);
		json_object_put(scn);
		free(text);
	}
	printf("property runs: seeds %" PRIu64 "..%" PRIu64 ": %u passed, %u failed; "
	       "cooperative hosts converged %u/%u (mean %.1f s after the last change), "
	       "mixed hosts converged %u/%u; %u runs below the pool after an overcommitted "
	       "creation; %.0f virtual s, %" PRIu64 " target writes, %.1f s wall\n",
	       first, first + count - 1, st.runs - st.failed, st.failed, st.converged,
	       st.cooperative, st.converged ? st.converge_s_sum / st.converged : 0.0,
	       st.mixed_converged, st.runs - st.cooperative, st.overcommitted, st.virtual_s,
	       st.target_writes, (double)(mono_ms() - t0) / 1000.0);
	return st.failed ? 1 : 0;
}
