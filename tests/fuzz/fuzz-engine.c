/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Guest-written XenStore values through the engine (lib/engine.h): a host
 * with dom0, one honest guest that writes nothing ("quiet") and one whose
 * demand report (data/meminfo_total and _free, Qubes' memory/meminfo) and
 * bound keys (memory/dynamic-min, -max) come from the input, step by step;
 * balloons reach their targets at once, as far as host memory allows.
 * Oracle: whatever the liar writes, the quiet guest's bounds are what they
 * are in a twin engine where the liar writes nothing, every target
 * balloond gives the quiet guest is at least its dynamic-min, and no
 * target exceeds static-max. */
#include <string.h>

#include "engine.h"
#include "fuzz.h"

#define MIB(x) ((uint64_t)(x) << 10)
#define GIB(x) ((uint64_t)(x) << 20)
#define STEP_BYTES 21
#define STEPS_MAX 128
#define QUIET 1
#define LIAR 2

struct host {
	struct engine *e;
	struct engine_obs_domain d[3]; /* dom0, quiet, liar */
	struct engine_output out;
};

static const uint64_t host_total = GIB(8), xen_kib = MIB(256);

static void host_init(struct host *h, const struct conf *c)
{
	static const char *const names[] = {"Domain-0", "quiet", "liar"};
	unsigned i;

	memset(h, 0, sizeof(*h));
	h->e = engine_new(c);
	FUZZ_CHECK(h->e != NULL, "engine_new");
	for (i = 0; i < 3; i++) {
		h->d[i].domid = i;
		snprintf(h->d[i].name, sizeof(h->d[i].name), "%s", names[i]);
		h->d[i].type = DOM_PV;
		h->d[i].tot_kib = i ? GIB(2) : GIB(1);
		h->d[i].max_kib = h->d[i].tot_kib + MIB(1);
		h->d[i].static_max_kib = i ? GIB(4) : GIB(1);
		h->d[i].has_target = true;
		h->d[i].target_kib = h->d[i].tot_kib;
	}
}

static uint64_t host_free(const struct host *h)
{
	uint64_t used = xen_kib + h->d[0].tot_kib + h->d[1].tot_kib + h->d[2].tot_kib;

	return used < host_total ? host_total - used : 0;
}

/* One step at now; then the balloons move to the targets written. */
static void host_step(struct host *h, uint64_t now)
{
	struct engine_obs obs = {.total_kib = host_total, .doms = h->d, .n = 3};
	const struct engine_action *a;
	size_t i;

	obs.free_kib = host_free(h);
	FUZZ_CHECK(engine_step(h->e, &obs, now, &h->out) == 0, "engine_step");
	for (i = 0; i < h->out.n_actions; i++) {
		a = &h->out.actions[i];
		if (a->domid > LIAR)
			continue;
		if (a->type == ACT_SET_TARGET) {
			struct engine_obs_domain *d = &h->d[a->domid];
			uint64_t room = host_free(h);

			FUZZ_CHECK(a->kib <= d->static_max_kib,
				   "domain %u target %llu above static-max", a->domid,
				   (unsigned long long)a->kib);
			d->target_kib = a->kib;
			d->tot_kib = a->kib <= d->tot_kib	   ? a->kib
				     : a->kib - d->tot_kib <= room ? a->kib
								   : d->tot_kib + room;
		} else if (a->type == ACT_SET_MAXMEM) {
			h->d[a->domid].max_kib = a->kib;
		}
	}
}

static uint32_t u32_at(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct host fuzzed, twin;
	const struct engine_dom *q, *tq;
	struct engine_obs_domain *liar;
	struct conf c;
	uint64_t now = 1000;
	size_t step, i;

	conf_init(&c);
	host_init(&fuzzed, &c);
	host_init(&twin, &c);
	liar = &fuzzed.d[LIAR];
	for (step = 0; step < STEPS_MAX && (step + 1) * STEP_BYTES <= size; step++) {
		const uint8_t *p = data + step * STEP_BYTES;
		uint8_t f = p[0];

		/* values in KiB, scaled by the top flag bits: up to 2^32 KiB << 6 */
		unsigned shift = (f >> 5) * 2;

		liar->has_report = f & 1;
		liar->report_total_kib = (uint64_t)u32_at(p + 1) << shift;
		liar->report_free_kib = (uint64_t)u32_at(p + 5) << shift;
		liar->has_qubes_report = f & 2;
		liar->qubes_used_kib = (uint64_t)u32_at(p + 9) << shift;
		liar->has_xs_dmin = f & 4;
		liar->xs_dmin_kib = (uint64_t)u32_at(p + 13) << shift;
		liar->has_xs_dmax = f & 8;
		liar->xs_dmax_kib = (uint64_t)u32_at(p + 17) << shift;
		host_step(&fuzzed, now);
		host_step(&twin, now);
		q = engine_find(fuzzed.e, QUIET);
		tq = engine_find(twin.e, QUIET);
		FUZZ_CHECK(q && tq, "quiet guest lost");
		FUZZ_CHECK(q->dmin_kib == tq->dmin_kib && q->dmax_kib == tq->dmax_kib &&
				   q->ceiling_kib == tq->ceiling_kib && q->weight == tq->weight,
			   "the liar moved the quiet guest's bounds: %llu..%llu vs %llu..%llu",
			   (unsigned long long)q->dmin_kib, (unsigned long long)q->dmax_kib,
			   (unsigned long long)tq->dmin_kib, (unsigned long long)tq->dmax_kib);
		for (i = 0; i < fuzzed.out.n_actions; i++)
			if (fuzzed.out.actions[i].type == ACT_SET_TARGET &&
			    fuzzed.out.actions[i].domid == QUIET)
				FUZZ_CHECK(fuzzed.out.actions[i].kib >= q->dmin_kib,
					   "step %zu: quiet target %llu below its dynamic-min %llu",
					   step, (unsigned long long)fuzzed.out.actions[i].kib,
					   (unsigned long long)q->dmin_kib);
		now += 250 + (uint64_t)(f & 0x10 ? 4750 : 0);
	}
	engine_output_free(&fuzzed.out);
	engine_output_free(&twin.out);
	engine_free(fuzzed.e);
	engine_free(twin.e);
	conf_free(&c);
	return 0;
}
