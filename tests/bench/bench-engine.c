/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Engine step cost at 10 .. 5,000 domains, next to a baseline measured in
 * the same run: qsort of the same number of doubles (O(n log n)). Prints a
 * table and writes it to the file named by argv[1] (if given). Not a test:
 * no timing is asserted anywhere. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "engine.h"

#define MIB 1024ull

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
static void build(struct engine_obs *obs, struct engine_obs_domain *d, size_t n, unsigned *seed)
{
	uint64_t used = 0;
	size_t i;

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
		used += d[i].tot_kib;
	}
	obs->doms = d;
	obs->n = n;
	obs->total_kib = used * 2;
	obs->free_kib = used / 8;
}

int main(int argc, char **argv)
{
	static const size_t sizes[] = {10, 100, 1000, 5000};
	FILE *out = argc > 1 ? fopen(argv[1], "w") : NULL;
	char line[256];
	unsigned seed = 42;
	size_t k;

	snprintf(line, sizeof(line), "%8s %8s %12s %14s %12s %10s\n", "domains", "steps",
		 "step_us", "per_domain_ns", "qsort_us", "step/qsort");
	fputs(line, stdout);
	if (out)
		fputs(line, out);
	for (k = 0; k < sizeof(sizes) / sizeof(*sizes); k++) {
		size_t n = sizes[k], i, steps = n >= 1000 ? 200 : 2000;
		struct engine_obs_domain *d = calloc(n, sizeof(*d));
		double *keys = calloc(n, sizeof(*keys)), t0, t_step, t_sort = 0;
		struct engine_output eo = {0};
		struct engine_obs obs;
		struct engine *e;
		struct conf c;

		conf_init(&c);
		build(&obs, d, n, &seed);
		e = engine_new(&c);
		engine_step(e, &obs, 1, &eo); /* first sight: the table is built */
		t0 = now_ns();
		for (i = 0; i < steps; i++) {
			/* the host moves a little each step: free memory wobbles */
			obs.free_kib += (i % 2 ? 1 : -1) * (int64_t)(64 * MIB);
			engine_step(e, &obs, 2 + i * 250, &eo);
		}
		t_step = (now_ns() - t0) / (double)steps;
		for (i = 0; i < 20; i++) {
			size_t j;

			for (j = 0; j < n; j++)
				keys[j] = (double)rand_r(&seed);
			t0 = now_ns();
			qsort(keys, n, sizeof(*keys), dbl_cmp);
			t_sort += now_ns() - t0;
		}
		t_sort /= 20;
		snprintf(line, sizeof(line), "%8zu %8zu %12.1f %14.1f %12.1f %10.1f\n", n, steps,
			 t_step / 1000.0, t_step / (double)n, t_sort / 1000.0, t_step / t_sort);
		fputs(line, stdout);
		if (out)
			fputs(line, out);
		engine_output_free(&eo);
		engine_free(e);
		conf_free(&c);
		free(d);
		free(keys);
	}
	if (out)
		fclose(out);
	return 0;
}
