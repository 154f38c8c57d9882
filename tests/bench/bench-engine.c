/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Engine step cost at 10 .. 10,000 domains, next to a baseline measured in
 * the same run: qsort of the same number of doubles (O(n log n)). The
 * host is fed back what the engine did: its target and maxmem writes are
 * applied to the next observation and each guest's actual moves toward its
 * target, so the domains stay auto-managed and every step runs the real
 * round (fair share, two phases, maxmem). Three tables: the default
 * configuration, one [domain NAME] section per domain (both settled: free
 * memory wobbles by 64 MiB a step, which moves no target), and a
 * converging host with one section per domain: every guest reports its
 * use (Qubes' memory/meminfo) and swaps between high and low demand every
 * SHIFT_PERIOD steps (64 s: a guest that reversed sooner than the
 * oscillation window, 60 s, would be damped and left alone), the guests'
 * swaps staggered over the period, so demand moves memory and targets are
 * written and followed while the steps are timed (the writes column says
 * how many per step). Prints the median and the 90th-percentile step
 * and writes the tables to the file named by argv[1] (if given).
 * `bench-engine --only N STEPS [sections|converging]` runs N domains for
 * STEPS measured steps and prints nothing else (for callgrind: the
 * difference of two step counts is the cost of the extra steps). Not a
 * test: no timing is asserted anywhere. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "engine.h"

#define MIB 1024ull
#define MOVE_KIB (128 * MIB) /* how far a balloon moves per step */
#define WARMUP_STEPS 20
#define MAX_STEPS 2000
#define BUDGET_NS 3e8 /* time per table row, at least 5 steps */
#define SHIFT_PERIOD 256 /* converging: steps (of 250 ms) between a guest's swaps */

enum variant { V_DEFAULT, V_SECTIONS, V_CONVERGING };

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static int dbl_cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* A host of n domains with random sizes and bounds, roughly balanced. */
static void host_build(struct engine_obs *obs, struct engine_obs_domain *d, size_t n,
		       bool reports, unsigned *seed)
{
	uint64_t used = 0;
	size_t i;

	/* Every field the engine reads: scrub, outstanding (claims) and
	 * low_mem_virq were stack garbage before, and a large outstanding
	 * left the host "short of memory" in some runs and not others. */
	memset(obs, 0, sizeof(*obs));
	for (i = 0; i < n; i++) {
		uint64_t dmin = (uint64_t)(256 + rand_r(seed) % 1024) * MIB;
		uint64_t dmax = dmin + (uint64_t)(rand_r(seed) % 4096) * MIB;

		memset(&d[i], 0, sizeof(d[i]));
		d[i].domid = (uint32_t)i + 1;
		snprintf(d[i].name, sizeof(d[i].name), "vm%zu", i);
		d[i].tot_kib = dmin + (dmax - dmin) / 2;
		d[i].tot_kib -= d[i].tot_kib % 4;
		d[i].max_kib = d[i].tot_kib + MIB;
		d[i].static_max_kib = dmax;
		d[i].has_target = true;
		d[i].target_kib = d[i].tot_kib;
		d[i].has_xs_dmin = d[i].has_xs_dmax = true;
		d[i].xs_dmin_kib = dmin;
		d[i].xs_dmax_kib = dmax;
		if (reports) { /* each guest uses what it has, to begin with */
			d[i].has_qubes_report = true;
			d[i].qubes_used_kib = d[i].tot_kib * 3 / 4;
		}
		used += d[i].tot_kib;
	}
	obs->doms = d;
	obs->n = n;
	obs->total_kib = used * 2;
	obs->free_kib = used / 8;
}

/* One [domain NAME] section per domain, with its own weight. */
static void conf_sections(struct conf *c, size_t n)
{
	char section[CONF_NAME_MAX + 8], weight[16], err[128];
	size_t i;

	for (i = 0; i < n; i++) {
		snprintf(section, sizeof(section), "domain vm%zu", i);
		snprintf(weight, sizeof(weight), "%zu", 50 + i % 100);
		if (conf_set(c, section, "weight", weight, err, sizeof(err)) < 0) {
			fprintf(stderr, "conf_set: %s\n", err);
			exit(1);
		}
	}
}

/* What the backend and the guests do with a step's actions: targets and
 * maxmem written, and each balloon moving toward its target (bounded by
 * maxmem), free memory following. Returns the target writes. */
static size_t host_apply(struct engine_obs *obs, struct engine_obs_domain *d,
			 const struct engine_output *eo)
{
	size_t i, writes = 0;

	for (i = 0; i < eo->n_actions; i++) {
		const struct engine_action *a = &eo->actions[i];
		struct engine_obs_domain *o = &d[a->domid - 1];

		if (a->type == ACT_SET_TARGET) {
			o->target_kib = a->kib;
			writes++;
		} else if (a->type == ACT_SET_MAXMEM) {
			o->max_kib = a->kib;
		}
	}
	for (i = 0; i < obs->n; i++) {
		struct engine_obs_domain *o = &d[i];
		uint64_t to = o->target_kib < o->max_kib ? o->target_kib : o->max_kib;
		uint64_t by;

		if (o->tot_kib > to) {
			by = o->tot_kib - to < MOVE_KIB ? o->tot_kib - to : MOVE_KIB;
			o->tot_kib -= by;
			obs->free_kib += by;
		} else if (o->tot_kib < to) {
			by = to - o->tot_kib < MOVE_KIB ? to - o->tot_kib : MOVE_KIB;
			if (by > obs->free_kib)
				by = obs->free_kib - obs->free_kib % 4;
			o->tot_kib += by;
			obs->free_kib -= by;
		}
	}
	return writes;
}

struct run {
	double median_ns, p90_ns;
	size_t steps;
	double writes_per_step;
	size_t managed, pinned;
};

/* Converging: the guests whose turn it is (domain k at steps i with
 * i = k modulo SHIFT_PERIOD) swap demand, high (most of dynamic-max) for
 * low (half of dynamic-min) and back. */
static void demand_shift(struct engine_obs *obs, struct engine_obs_domain *d, size_t i)
{
	size_t k;

	for (k = i % SHIFT_PERIOD; k < obs->n; k += SHIFT_PERIOD) {
		uint64_t high = d[k].xs_dmax_kib * 9 / 10, low = d[k].xs_dmin_kib / 2;

		d[k].qubes_used_kib = d[k].qubes_used_kib >= high ? low : high;
	}
}

/* One step of the loop: the host wobbles a little (and, converging,
 * demand shifts), the engine decides, the host carries it out. */
static size_t step_once(struct engine *e, struct engine_obs *obs, struct engine_obs_domain *d,
			size_t i, bool converging, struct engine_output *eo)
{
	if (converging)
		demand_shift(obs, d, i);
	if (i % 2)
		obs->free_kib += 64 * MIB;
	else if (obs->free_kib >= 64 * MIB)
		obs->free_kib -= 64 * MIB;
	engine_step(e, obs, 2 + i * 250, eo);
	return host_apply(obs, d, eo);
}

/* The median step over at most max_steps (stopping after BUDGET_NS once 5
 * are done; all of them when max_steps is given exactly). */
static void run_engine(size_t n, enum variant v, size_t max_steps, bool exact, unsigned *seed,
		       struct run *ret)
{
	struct engine_obs_domain *d = calloc(n, sizeof(*d));
	double *t = calloc(max_steps, sizeof(*t)), start, t0;
	struct engine_output eo = {0};
	struct engine_obs obs;
	size_t i, k, writes = 0;
	struct engine *e;
	struct conf c;

	conf_init(&c);
	if (v != V_DEFAULT)
		conf_sections(&c, n);
	host_build(&obs, d, n, v == V_CONVERGING, seed);
	e = engine_new(&c);
	if (!d || !t || !e) {
		fprintf(stderr, "out of memory\n");
		exit(1);
	}
	engine_step(e, &obs, 1, &eo); /* first sight: the table is built */
	host_apply(&obs, d, &eo);
	for (i = 0; i < WARMUP_STEPS; i++)
		step_once(e, &obs, d, i, v == V_CONVERGING, &eo);
	start = now_ns();
	for (k = 0; k < max_steps; k++) {
		t0 = now_ns();
		writes += step_once(e, &obs, d, WARMUP_STEPS + k, v == V_CONVERGING, &eo);
		t[k] = now_ns() - t0;
		if (!exact && k >= 4 && now_ns() - start > BUDGET_NS) {
			k++;
			break;
		}
	}
	qsort(t, k, sizeof(*t), dbl_cmp);
	ret->median_ns = t[k / 2];
	ret->p90_ns = t[k * 9 / 10];
	ret->steps = k;
	ret->writes_per_step = (double)writes / (double)k;
	ret->managed = ret->pinned = 0;
	for (i = 0; i < engine_count(e); i++) {
		const struct engine_dom *x = engine_at(e, i);

		ret->managed += x->managed && x->mode == MODE_AUTO;
		ret->pinned += x->mode == MODE_PINNED;
	}
	engine_output_free(&eo);
	engine_free(e);
	conf_free(&c);
	free(d);
	free(t);
}

/* The baseline: median qsort of n random doubles. */
static double run_qsort(size_t n, unsigned *seed)
{
	double *keys = calloc(n, sizeof(*keys)), t[21], t0;
	size_t i, j;

	for (i = 0; i < 21; i++) {
		for (j = 0; j < n; j++)
			keys[j] = (double)rand_r(seed);
		t0 = now_ns();
		qsort(keys, n, sizeof(*keys), dbl_cmp);
		t[i] = now_ns() - t0;
	}
	free(keys);
	qsort(t, 21, sizeof(*t), dbl_cmp);
	return t[10];
}

static void emit(FILE *out, const char *line)
{
	fputs(line, stdout);
	if (out)
		fputs(line, out);
}

int main(int argc, char **argv)
{
	static const size_t sizes[] = {10, 100, 1000, 5000, 10000};
	FILE *out = NULL;
	char line[256];
	unsigned seed = 42;
	size_t k;
	int v;

	if (argc > 3 && !strcmp(argv[1], "--only")) {
		struct run r;

		enum variant only = argc > 4 && !strcmp(argv[4], "sections")     ? V_SECTIONS
				 : argc > 4 && !strcmp(argv[4], "converging") ? V_CONVERGING
									      : V_DEFAULT;

		run_engine(strtoul(argv[2], NULL, 10), only, strtoul(argv[3], NULL, 10), true, &seed,
			   &r);
		return 0;
	}
	out = argc > 1 ? fopen(argv[1], "w") : NULL;
	for (v = V_DEFAULT; v <= V_CONVERGING; v++) {
		emit(out, v == V_CONVERGING
			      ? "\nengine step, converging: one [domain NAME] section per domain, each "
				"guest's demand swapping every 64 s, staggered (fed back, median)\n"
			  : v == V_SECTIONS
			      ? "\nengine step, one [domain NAME] section per domain (fed back, "
				"settled, median)\n"
			      : "engine step, default configuration (fed back, settled, median)\n");
		snprintf(line, sizeof(line), "%8s %6s %8s %8s %7s %11s %14s %10s %11s %9s\n",
			 "domains", "steps", "auto", "pinned", "writes", "step_us",
			 "per_domain_ns", "qsort_us", "step/qsort", "p90_us");
		emit(out, line);
		for (k = 0; k < sizeof(sizes) / sizeof(*sizes); k++) {
			size_t n = sizes[k];
			double t_sort;
			struct run r;

			run_engine(n, (enum variant)v, MAX_STEPS, false, &seed, &r);
			t_sort = run_qsort(n, &seed);
			snprintf(line, sizeof(line),
				 "%8zu %6zu %8zu %8zu %7.1f %11.1f %14.1f %10.1f %11.1f %9.1f\n", n,
				 r.steps, r.managed, r.pinned, r.writes_per_step,
				 r.median_ns / 1000.0, r.median_ns / (double)n, t_sort / 1000.0,
				 r.median_ns / t_sort, r.p90_ns / 1000.0);
			emit(out, line);
		}
	}
	if (out)
		fclose(out);
	return 0;
}
