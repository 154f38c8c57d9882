/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Seeded scenario generator: random hosts, guests and histories as
 * scenario JSON (SIMULATOR.md).
 *
 * A host is 4..256 GiB with a dom0 and 1..60 guests of every type (PV 64
 * and 32-bit, PVH, HVM), bounds from XenStore, from a [domain NAME] section
 * or from the defaults, weights, frozen and excluded domains, and every
 * balloon behaviour of the simulator; "tight" hosts have guests whose
 * dynamic-mins fill most of the RAM, "roomy" ones leave much of it free.
 * The history (before quiet_ms) has demand curves and events: creations
 * (some after a reservation, transferred to them), destructions, admin pins,
 * hostile XenStore writes (garbage and numbers into data/meminfo_* and
 * memory/ keys), pause/resume and daemon restarts; and, from a second
 * stream of the seed so the rest stays the same, raised pins, daemon
 * crashes at a target write, failed persists, domains paused by the
 * toolstack and HVM guests whose balloon driver comes up late. After quiet_ms nothing
 * changes for settle_ms, long enough for every balloon to cross its range
 * twice, so that a run of cooperative guests must have converged by then.
 *
 * Values written by "xs-write" events are never equal to what balloond,
 * the toolstack or the guest agent write (odd KiB counts, never "0" into
 * data/), and never the same twice in a row, so that a XenStore write that
 * changes nothing can only be balloond's. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "scengen.h"

#define MIB UINT64_C(1024)
#define GIB (UINT64_C(1024) * 1024)
#define HOLE_KIB GIB /* the MMIO hole of a host above 3 GiB */
#define MIN_GUEST_KIB (64 * MIB)
#define MAX_GUESTS 1000 /* for benchmarks; property runs use up to 60 */
#define MAX_EVENTS 48
#define EXTRA_EVENTS 6 /* gen_extras */
#define MAX_CROSS_MS 600000u /* a balloon crosses its static-max in at most 10 min */
#define TAIL_MS 30000u	     /* settle_ms ends with this much beyond the estimate */
#define SLOW_DEFAULT_KIB_S (16 * MIB)
#define NORMAL_DEFAULT_KIB_S (256 * MIB)

struct rng {
	uint64_t s;
};

/* splitmix64: small, fast, and the same everywhere. */
static uint64_t rng_next(struct rng *r)
{
	uint64_t z = (r->s += UINT64_C(0x9e3779b97f4a7c15));

	z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
	return z ^ (z >> 31);
}

/* Uniform in [lo, hi] (hi >= lo). */
static uint64_t rng_range(struct rng *r, uint64_t lo, uint64_t hi)
{
	return hi <= lo ? lo : lo + rng_next(r) % (hi - lo + 1);
}

static bool rng_pct(struct rng *r, unsigned pct)
{
	return rng_next(r) % 100 < pct;
}

/* Uniform in [0, 1). */
static double rng_unit(struct rng *r)
{
	return (double)(rng_next(r) >> 11) * 0x1.0p-53;
}

static uint64_t frac_kib(uint64_t kib, double f)
{
	return (uint64_t)((double)kib * f);
}

static uint64_t mib_floor(uint64_t kib)
{
	return kib / MIB * MIB;
}

/* What the events need to know of a domain. */
struct gdom {
	char name[16];
	uint64_t memory, smax, dmin, dmax; /* dmin/dmax as set (0 = from the defaults) */
	uint64_t rate_kib_s;		   /* 0: never moves */
	bool frozen;			   /* frozen or excluded */
	bool alive;
	bool created;
	char last[6][64]; /* the last value an xs-write gave each key */
	bool hvm;
};

struct gen {
	struct rng r;
	struct rng r2; /* the extras (gen_extras, driver_ready): r's stream stays as it was */
	const struct scengen_opts *o;
	struct scengen_info *info;
	json_object *config;
	struct gdom *doms;
	size_t n_doms, cap_doms;
	uint64_t usable; /* host RAM guests may have: minus Xen, dom0 and the hole */
	uint64_t quiet_ms;
	uint64_t slowest_ms; /* longest time a balloon needs to cross its static-max */
	unsigned odd_seq;
};

static json_object *size_json(uint64_t kib)
{
	char s[32];

	if (kib % GIB == 0)
		snprintf(s, sizeof(s), "%" PRIu64 "G", kib / GIB);
	else if (kib % MIB == 0)
		snprintf(s, sizeof(s), "%" PRIu64 "M", kib / MIB);
	else
		snprintf(s, sizeof(s), "%" PRIu64 "K", kib);
	return json_object_new_string(s);
}

/* Seconds as JSON: whole numbers when they are. */
static json_object *time_json(uint64_t ms)
{
	if (ms % 1000 == 0)
		return json_object_new_int64((int64_t)(ms / 1000));
	return json_object_new_double((double)ms / 1000.0);
}

static void add(json_object *o, const char *key, json_object *v)
{
	json_object_object_add(o, key, v);
}

/* The [domain NAME] section for name in config, created on first use. */
static json_object *conf_section(struct gen *g, const char *name)
{
	char sec[64];
	json_object *s;

	snprintf(sec, sizeof(sec), "domain %s", name);
	if (json_object_object_get_ex(g->config, sec, &s))
		return s;
	s = json_object_new_object();
	add(g->config, sec, s);
	return s;
}

static const char *const behaviors[] = {"normal",	"slow",	  "stuck", "stuck_after", "floor",
					"intermittent", "greedy", "none",  "liar"};
enum {
	B_NORMAL,
	B_SLOW,
	B_STUCK,
	B_STUCK_AFTER,
	B_FLOOR,
	B_INTERMITTENT,
	B_GREEDY,
	B_NONE,
	B_LIAR
};

/* A behaviour: only cooperative ones on a cooperative host. */
static int pick_behavior(struct gen *g)
{
	unsigned x = (unsigned)rng_range(&g->r, 0, 99);

	if (g->info->cooperative)
		return x < 78 ? B_NORMAL : x < 90 ? B_SLOW : B_LIAR;
	if (x < 40)
		return B_NORMAL;
	if (x < 50)
		return B_SLOW;
	return B_STUCK + (int)((x - 50) % 7); /* stuck .. liar, evenly */
}

/* The "balloon" member for a guest of memory/smax; sets d->rate_kib_s. */
static json_object *gen_balloon(struct gen *g, struct gdom *d, int b, bool *ret_big_maxmem)
{
	static const uint64_t normal_rates[] = {64 * MIB, 128 * MIB, 512 * MIB, GIB};
	static const uint64_t slow_rates[] = {8 * MIB, 16 * MIB, 32 * MIB};
	json_object *o = json_object_new_object();
	uint64_t rate = b == B_SLOW ? SLOW_DEFAULT_KIB_S : NORMAL_DEFAULT_KIB_S;

	add(o, "behavior", json_object_new_string(behaviors[b]));
	*ret_big_maxmem = false;
	if (b != B_STUCK && b != B_NONE) {
		uint64_t least = (d->smax * 1000 / MAX_CROSS_MS + MIB - 1) / MIB * MIB;
		bool pick = rng_pct(&g->r, 35);

		if (pick)
			rate = b == B_SLOW ? slow_rates[rng_range(&g->r, 0, 2)]
					   : normal_rates[rng_range(&g->r, 0, 3)];
		if (rate < least)
			rate = least;
		if (pick || rate == least) {
			char s[32];

			snprintf(s, sizeof(s), "%" PRIu64 "M/s", rate / MIB);
			add(o, "rate", json_object_new_string(s));
		}
	}
	switch (b) {
	case B_STUCK_AFTER:
		add(o, "after", size_json(mib_floor(frac_kib(d->memory, rng_unit(&g->r) * 0.5))));
		break;
	case B_FLOOR:
		add(o, "floor",
		    size_json(mib_floor(frac_kib(d->memory, 0.5 + rng_unit(&g->r) * 0.45))));
		break;
	case B_INTERMITTENT:
		add(o, "period", json_object_new_int64((int64_t)rng_range(&g->r, 1, 12)));
		break;
	case B_GREEDY: *ret_big_maxmem = rng_pct(&g->r, 50); break;
	default: break;
	}
	d->rate_kib_s = b == B_STUCK || b == B_NONE ? 0 : rate;
	/* tot_pages - target at rest, like firmware or videoram: not cooperative */
	if (!g->info->cooperative && b != B_NONE && rng_pct(&g->r, 10) &&
	    !(g->o->exclude & SCENGEN_NO_OFFSETS)) {
		static const char *const offsets[] = {"-8M", "-2M", "1M", "4M"};

		add(o, "offset", json_object_new_string(offsets[rng_range(&g->r, 0, 3)]));
	}
	return o;
}

/* A demand curve between from_ms and the quiet time: 1..4 steps. */
static json_object *gen_demand(struct gen *g, const struct gdom *d, uint64_t from_ms)
{
	json_object *a = json_object_new_array();
	unsigned n = (unsigned)rng_range(&g->r, 1, 4), i;
	uint64_t t = from_ms;

	if (g->o->kind == SCENGEN_STANDARD)
		n = 3; /* at 0, 13.5 and 26.5 s: 5 s after a 10 s tick on average */
	for (i = 0; i < n && t <= g->quiet_ms; i++) {
		json_object *p = json_object_new_object();
		uint64_t used = mib_floor(frac_kib(d->memory, 0.1 + rng_unit(&g->r) * 1.2));

		add(p, "at", time_json(t));
		add(p, "used", size_json(used < 16 * MIB ? 16 * MIB : used));
		json_object_array_add(a, p);
		if (g->o->kind == SCENGEN_STANDARD)
			t += t ? 13000 : 13500;
		else
			t += rng_range(&g->r, 1000, g->quiet_ms / 2 + 1000) / 1000 * 1000;
	}
	return a;
}

/* One guest of about memory KiB, as a JSON domain; records it in g->doms. */
static json_object *gen_domain(struct gen *g, const char *name, uint64_t memory, uint64_t from_ms,
			       bool created)
{
	static const char *const types[] = {"pv", "pvh", "hvm"};
	struct gdom *d = &g->doms[g->n_doms++]; /* room checked by the caller */
	json_object *o = json_object_new_object();
	unsigned t = (unsigned)rng_range(&g->r, 0, 99);
	bool big_maxmem;
	int b;

	memset(d, 0, sizeof(*d));
	snprintf(d->name, sizeof(d->name), "%s", name);
	d->memory = mib_floor(memory < MIN_GUEST_KIB ? MIN_GUEST_KIB : memory);
	d->smax = mib_floor(frac_kib(d->memory, 1.0 + rng_unit(&g->r) * 1.5));
	if (d->smax > g->usable)
		d->smax = d->memory > mib_floor(g->usable) ? d->memory : mib_floor(g->usable);
	d->alive = !created;
	d->created = created;
	add(o, "name", json_object_new_string(name));
	add(o, "type", json_object_new_string(types[t < 45 ? 0 : t < 70 ? 1 : 2]));
	d->hvm = t >= 70;
	/* an HVM guest whose PV drivers come up late (populate-on-demand
	 * guests crash on a target before then); before the quiet time */
	if (d->hvm && !created && g->quiet_ms > 2000 && rng_pct(&g->r2, 30))
		add(o, "driver_ready",
		    time_json(rng_range(&g->r2, 1, (g->quiet_ms - 1000) / 1000) * 1000));
	if (t < 9)
		add(o, "width", json_object_new_int(32));
	add(o, "memory", size_json(d->memory));
	add(o, "static_max", size_json(d->smax));

	/* bounds: from XenStore, from a [domain] section, or the defaults
	 * (50%..100% of static-max) when those keep the guest's memory */
	switch (rng_range(&g->r, 0, 9)) {
	case 0:
	case 1:
		if (d->smax / 2 <= d->memory)
			break; /* defaults */
			       /* fall through */
	case 2:
	case 3:
	case 4:
	case 5:
	case 6:
		d->dmin = mib_floor(frac_kib(d->memory, 0.3 + rng_unit(&g->r) * 0.7));
		if (d->dmin < 32 * MIB)
			d->dmin = 32 * MIB;
		add(o, "dynamic_min", size_json(d->dmin));
		if (rng_pct(&g->r, 60)) {
			d->dmax = mib_floor(d->dmin + frac_kib(d->smax - d->dmin, rng_unit(&g->r)));
			add(o, "dynamic_max", size_json(d->dmax > d->dmin ? d->dmax : d->dmin));
		}
		break;
	default: {
		json_object *s = conf_section(g, name);
		char pct[16];
		unsigned lo = (unsigned)rng_range(&g->r, 10, 90);

		if (frac_kib(d->smax, lo / 100.0) > d->memory)
			lo = (unsigned)(d->memory * 100 / d->smax) - 1; /* rounding */
		d->dmin = frac_kib(d->smax, lo / 100.0);
		snprintf(pct, sizeof(pct), "%u%%", lo);
		add(s, "dynamic_min", json_object_new_string(pct));
		if (rng_pct(&g->r, 50)) {
			snprintf(pct, sizeof(pct), "%u%%", (unsigned)rng_range(&g->r, lo, 100));
			add(s, "dynamic_max", json_object_new_string(pct));
		}
		break;
	}
	}
	if (!d->dmin)
		d->dmin = d->smax / 2;
	if (rng_pct(&g->r, 30)) {
		static const unsigned weights[] = {1, 50, 200, 500, 10000};

		add(o, "weight", json_object_new_int((int)weights[rng_range(&g->r, 0, 4)]));
	}
	if (rng_pct(&g->r, 6)) {
		add(conf_section(g, name), "mode",
		    json_object_new_string(rng_pct(&g->r, 50) ? "frozen" : "excluded"));
		d->frozen = true;
	}
	b = g->o->kind == SCENGEN_STANDARD ? B_NORMAL : pick_behavior(g);
	add(o, "balloon", gen_balloon(g, d, b, &big_maxmem));
	if (big_maxmem) {
		add(o, "maxmem", size_json(d->smax));
		g->info->pool_exempt = true;
	}
	if (b == B_LIAR || g->o->kind == SCENGEN_STANDARD || rng_pct(&g->r, 60))
		add(o, "demand", gen_demand(g, d, from_ms));
	if (d->rate_kib_s) {
		uint64_t ms = d->smax * 1000 / d->rate_kib_s * (b == B_INTERMITTENT ? 2 : 1);

		if (ms > g->slowest_ms)
			g->slowest_ms = ms;
	}
	return o;
}

/* ---- events ---- */

struct gevent {
	uint64_t at_ms;
	unsigned seq;	   /* generation order, to keep ties in order */
	unsigned resv_tag; /* reserve and transfer events of one creation share it */
	json_object *o;
};

static json_object *event_new(const char *what)
{
	json_object *e = json_object_new_object();

	add(e, "do", json_object_new_string(what));
	return e;
}

/* A live guest (not dom0), or NULL. */
static struct gdom *pick_alive(struct gen *g)
{
	size_t n = 0, i, k;

	for (i = 0; i < g->n_doms; i++)
		n += g->doms[i].alive;
	if (!n)
		return NULL;
	k = (size_t)rng_range(&g->r, 0, n - 1);
	for (i = 0; i < g->n_doms; i++)
		if (g->doms[i].alive && k-- == 0)
			break;
	return &g->doms[i];
}

/* An odd number of KiB that nobody else writes and that was never written. */
static uint64_t odd_kib(struct gen *g, uint64_t lo, uint64_t hi)
{
	uint64_t v = rng_range(&g->r, lo, hi < lo ? lo : hi);

	return (v & ~UINT64_C(0xfff)) + 1 + 2 * (g->odd_seq++ % 2048);
}

/* A hostile or odd value for key (index ki) of d: garbage, or a number
 * nobody else would write; never the value this key got last time. */
static void xs_value(struct gen *g, struct gdom *d, size_t ki, const char *key, char *buf,
		     size_t len)
{
	static const char *const garbage[] = {
		"",
		"abc",
		"-1",
		"-4096",
		"0x100000",
		" 1048576",
		"1048576 ",
		"1e9",
		"12abc",
		"NaN",
		"+1024",
		"1,024",
		"4294967296000",
		"18446744073709551615",
		"18446744073709551616",
		"99999999999999999999999999",
		"\t",
		"1048576\n",
		"0",
	};
	size_t ng = sizeof(garbage) / sizeof(*garbage);
	bool data = strncmp(key, "data/", 5) == 0;

	bool numbers = !((g->o->exclude & SCENGEN_NO_PINS) && strcmp(key, "memory/target") == 0);

	do {
		if (!numbers || rng_pct(&g->r, 55)) {
			size_t k = (size_t)rng_range(&g->r, 0, ng - 1);

			/* the agent may have written "0" there itself */
			snprintf(buf, len, "%s", data && k == ng - 1 ? "-0" : garbage[k]);
			/* digits alone would be a pin after all */
			if (!numbers && buf[0] && strspn(buf, "0123456789") == strlen(buf))
				snprintf(buf, len, "%s", "12abc");
		} else if (strcmp(key, "memory/dynamic-min") == 0) {
			snprintf(buf, len, "%" PRIu64, odd_kib(g, d->dmin / 2, d->dmin));
		} else if (strcmp(key, "memory/dynamic-max") == 0) {
			snprintf(buf, len, "%" PRIu64,
				 odd_kib(g, d->dmin + (d->smax - d->dmin) / 2, d->smax));
		} else if (strcmp(key, "memory/target") == 0) {
			uint64_t hi = d->memory + d->memory / 5;

			snprintf(buf, len, "%" PRIu64,
				 odd_kib(g, d->dmin, hi < d->smax ? hi : d->smax));
		} else {
			snprintf(buf, len, "%" PRIu64, odd_kib(g, 0, d->smax * 2));
		}
	} while (strcmp(buf, d->last[ki]) == 0);
	snprintf(d->last[ki], sizeof(d->last[ki]), "%s", buf);
}

/* One event of a random kind at t; may add more (a resume, a transfer).
 * Returns how many it wrote into ev. */
static size_t gen_event(struct gen *g, uint64_t t, struct gevent *ev, size_t room, unsigned *n_resv,
			bool *paused)
{
	static const char *const keys[] = {"data/meminfo_free",	 "data/meminfo_total",
					   "memory/target",	 "memory/meminfo",
					   "memory/dynamic-min", "memory/dynamic-max"};
	unsigned x = (unsigned)rng_range(&g->r, 0, 99);
	struct gdom *d = pick_alive(g);
	json_object *e;
	char buf[64];

	if (room < 3)
		return 0;
	if (x < 16 && g->n_doms < g->cap_doms) {
		uint64_t mem = frac_kib(g->usable, 0.02 + rng_unit(&g->r) * 0.2);
		size_t n = 0;

		snprintf(buf, sizeof(buf), "new%zu", g->n_doms);
		if (rng_pct(&g->r, 40)) {
			uint64_t before = rng_range(&g->r, 1, 10) * 1000;

			/* the toolstack's way: reserve, create, transfer */
			e = event_new("reserve");
			add(e, "size",
			    size_json(mib_floor(mem) < MIN_GUEST_KIB ? MIN_GUEST_KIB
								     : mib_floor(mem)));
			add(e, "ttl", json_object_new_int(60));
			ev[n++] = (struct gevent){t > before ? t - before : 0, 0, ++*n_resv, e};
		}
		e = event_new("create");
		add(e, "domain", gen_domain(g, buf, mem, t, true));
		ev[n++] = (struct gevent){t, 0, 0, e};
		if (n == 2) {
			e = event_new("transfer");
			add(e, "name", json_object_new_string(buf));
			ev[n++] = (struct gevent){t + 1, 0, *n_resv, e};
		}
		g->doms[g->n_doms - 1].alive = true;
		g->info->created++;
		g->info->pool_exempt = true;
		return n;
	}
	if (x < 26 && d) {
		e = event_new("destroy");
		add(e, "name", json_object_new_string(d->name));
		d->alive = false;
		ev[0] = (struct gevent){t, 0, 0, e};
		return 1;
	}
	if (x < 38 && d && !(g->o->exclude & SCENGEN_NO_PINS)) {
		e = event_new("set-target");
		add(e, "name", json_object_new_string(d->name));
		add(e, "target",
		    size_json(mib_floor(frac_kib(d->dmin, 0.8) +
					frac_kib(d->smax, rng_unit(&g->r) * 0.4))));
		ev[0] = (struct gevent){t, 0, 0, e};
		return 1;
	}
	if (x < 78 && d) {
		size_t ki = (size_t)rng_range(&g->r, 0, 5);
		const char *key = keys[ki];

		if ((g->o->exclude & SCENGEN_NO_BOUND_WRITES) && ki >= 4)
			ki -= 4; /* a data/ key instead */
		key = keys[ki];

		xs_value(g, d, ki, key, buf, sizeof(buf));
		e = event_new("xs-write");
		add(e, "name", json_object_new_string(d->name));
		add(e, "key", json_object_new_string(key));
		add(e, "value", json_object_new_string(buf));
		ev[0] = (struct gevent){t, 0, 0, e};
		return 1;
	}
	if (x < 88 && !*paused && t + 1000 < g->quiet_ms) {
		ev[0] = (struct gevent){t, 0, 0, event_new("pause")};
		ev[1] = (struct gevent){rng_range(&g->r, t + 1000, g->quiet_ms), 0, 0,
					event_new("resume")};
		*paused = true; /* one pause per history keeps pause/resume pairs simple */
		return 2;
	}
	if (x < 94) {
		/* a VM start given up: reserve, then cancel */
		e = event_new("reserve");
		add(e, "size",
		    size_json(mib_floor(frac_kib(g->usable, 0.02 + rng_unit(&g->r) * 0.2))));
		add(e, "ttl", json_object_new_int((int)rng_range(&g->r, 5, 120)));
		ev[0] = (struct gevent){t, 0, ++*n_resv, e};
		ev[1] = (struct gevent){t + rng_range(&g->r, 1, 10) * 1000, 0, *n_resv,
					event_new("cancel")};
		return 2;
	}
	ev[0] = (struct gevent){t, 0, 0, event_new("restart")};
	return 1;
}

/* An initial guest alive through the whole history (never destroyed), by
 * r2, or NULL. */
static struct gdom *pick_lasting(struct gen *g)
{
	size_t n = 0, i, k;

	for (i = 0; i < g->n_doms; i++)
		n += g->doms[i].alive && !g->doms[i].created;
	if (!n)
		return NULL;
	k = (size_t)rng_range(&g->r2, 0, n - 1);
	for (i = 0; i < g->n_doms; i++)
		if (g->doms[i].alive && !g->doms[i].created && k-- == 0)
			break;
	return &g->doms[i];
}

/* The situations of issue 12, drawn from r2 so the rest of the history is
 * the same as without them: a pin raised (set low, then high), a crash of
 * the daemon at a target write (before or after it), a persist that
 * fails, and a guest paused by the toolstack for a while. */
static size_t gen_extras(struct gen *g, struct gevent *ev, size_t room)
{
	uint64_t q = g->quiet_ms, t;
	struct gdom *d;
	json_object *e;
	size_t n = 0;

	if (q < 4000)
		return 0;
	if (room - n >= 2 && !(g->o->exclude & SCENGEN_NO_PINS) && rng_pct(&g->r2, 40) &&
	    (d = pick_lasting(g)) && !d->frozen) {
		t = rng_range(&g->r2, 1, q / 2000) * 1000;
		e = event_new("set-target");
		add(e, "name", json_object_new_string(d->name));
		add(e, "target", size_json(mib_floor(d->dmin + (d->smax - d->dmin) / 4)));
		ev[n++] = (struct gevent){t, 0, 0, e};
		e = event_new("set-target");
		add(e, "name", json_object_new_string(d->name));
		add(e, "target", size_json(mib_floor(d->dmin + (d->smax - d->dmin) * 3 / 4)));
		ev[n++] = (struct gevent){rng_range(&g->r2, t / 1000 + 1, q / 1000) * 1000, 0, 0, e};
	}
	if (room - n >= 1 && rng_pct(&g->r2, 30)) {
		e = event_new("crash");
		add(e, "point", json_object_new_string(rng_pct(&g->r2, 50) ? "before-target"
									   : "after-target"));
		ev[n++] = (struct gevent){rng_range(&g->r2, 0, q / 1000) * 1000, 0, 0, e};
	}
	if (room - n >= 1 && rng_pct(&g->r2, 20) && (d = pick_lasting(g))) {
		e = event_new("fail-persist");
		add(e, "name", json_object_new_string(d->name));
		ev[n++] = (struct gevent){rng_range(&g->r2, 0, q / 1000) * 1000, 0, 0, e};
	}
	if (room - n >= 2 && rng_pct(&g->r2, 30) && (d = pick_lasting(g))) {
		t = rng_range(&g->r2, 1, q / 2000) * 1000;
		e = event_new("pause-domain");
		add(e, "name", json_object_new_string(d->name));
		ev[n++] = (struct gevent){t, 0, 0, e};
		e = event_new("unpause-domain");
		add(e, "name", json_object_new_string(d->name));
		ev[n++] = (struct gevent){rng_range(&g->r2, t / 1000 + 1, q / 1000) * 1000, 0, 0, e};
	}
	return n;
}

static int gevent_cmp(const void *a, const void *b)
{
	const struct gevent *x = a, *y = b;

	if (x->at_ms != y->at_ms)
		return x->at_ms < y->at_ms ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* The events, in time order, every time distinct (a failed event is told
 * by its time in the report). */
static json_object *gen_events(struct gen *g, unsigned n)
{
	struct gevent ev[MAX_EVENTS + EXTRA_EVENTS];
	json_object *a = json_object_new_array();
	uint64_t times[MAX_EVENTS];
	unsigned tag_id[MAX_EVENTS + 1] = {0}, n_resv = 0, ids = 0;
	size_t m = 0, i, j;
	bool paused = false;

	/* times first, sorted, so that the domains alive at each are known */
	for (i = 0; i < n; i++)
		times[i] = rng_range(&g->r, 1, g->quiet_ms / 100) * 100;
	for (i = 1; i < n; i++)
		for (j = i; j > 0 && times[j - 1] > times[j]; j--) {
			uint64_t tmp = times[j];

			times[j] = times[j - 1];
			times[j - 1] = tmp;
		}
	for (i = 0; i < n; i++) {
		size_t k = gen_event(g, times[i], ev + m, MAX_EVENTS - m, &n_resv, &paused);

		for (j = m; j < m + k; j++)
			ev[j].seq = (unsigned)j;
		m += k;
	}
	if (g->o->kind == SCENGEN_RANDOM) {
		size_t k = gen_extras(g, ev + m, MAX_EVENTS + EXTRA_EVENTS - m);

		for (j = m; j < m + k; j++)
			ev[j].seq = (unsigned)j;
		m += k;
	}
	/* in time order, every time distinct, the order of ties kept */
	qsort(ev, m, sizeof(*ev), gevent_cmp);
	for (i = 1; i < m; i++)
		if (ev[i].at_ms <= ev[i - 1].at_ms)
			ev[i].at_ms = ev[i - 1].at_ms + 1;
	for (i = 0; i < m; i++) {
		json_object *e = ev[i].o;
		json_object *o = json_object_new_object(); /* "at" first reads better */

		add(o, "at", time_json(ev[i].at_ms));
		/* a transfer names its reservation by the order of reserve events */
		if (ev[i].resv_tag &&
		    strcmp(json_object_get_string(json_object_object_get(e, "do")), "reserve") == 0)
			tag_id[ev[i].resv_tag] = ++ids;
		else if (ev[i].resv_tag)
			add(o, "id", json_object_new_int((int)tag_id[ev[i].resv_tag]));
		json_object_object_foreach(e, k, v) add(o, k, json_object_get(v));
		json_object_put(e);
		json_object_array_add(a, o);
		if (ev[i].at_ms > g->quiet_ms)
			g->quiet_ms = ev[i].at_ms;
	}
	g->info->events = (unsigned)m;
	return a;
}

/* ---- SCENGEN_DONORS: memory owed by donors ---- */

#define DONORS_FREE_SLACK_KIB MIB /* the maxmem slack balloond leaves each guest */
#define DONORS_FAST_MS 8000u	  /* the fast donors alone give a lagging reservation this soon */

/* One guest at its ceiling (static-max = dynamic-max = memory). */
static json_object *donor_domain(const char *name, uint64_t memory, uint64_t dmin,
				 json_object *balloon)
{
	json_object *o = json_object_new_object();

	add(o, "name", json_object_new_string(name));
	add(o, "memory", size_json(memory));
	add(o, "static_max", size_json(memory));
	add(o, "dynamic_min", size_json(dmin));
	add(o, "dynamic_max", size_json(memory));
	add(o, "balloon", balloon);
	return o;
}

static json_object *donor_balloon(const char *behavior, uint64_t rate_kib_s)
{
	json_object *b = json_object_new_object();
	char s[32];

	add(b, "behavior", json_object_new_string(behavior));
	if (rate_kib_s) {
		snprintf(s, sizeof(s), "%" PRIu64 "M/s", rate_kib_s / MIB);
		add(b, "rate", json_object_new_string(s));
	}
	return b;
}

/* {"at": t, "do": what} */
static json_object *donor_event(uint64_t at_ms, const char *what)
{
	json_object *e = json_object_new_object();

	add(e, "at", time_json(at_ms));
	add(e, "do", json_object_new_string(what));
	return e;
}

/* A reservation at at_ms, and a daemon restart (a crash point) soon after
 * it half of the time; the time of the last of them. */
static uint64_t donor_reserve(struct gen *g, json_object *events, uint64_t at_ms, uint64_t kib)
{
	json_object *e = donor_event(at_ms, "reserve");

	add(e, "size", size_json(kib));
	add(e, "ttl", json_object_new_int(120));
	json_object_array_add(events, e);
	if (!rng_pct(&g->r, 50))
		return at_ms;
	at_ms += rng_range(&g->r, 1, 30) * 100;
	json_object_array_add(events, donor_event(at_ms, "restart"));
	return at_ms;
}

/* Hundreds of small guests at their ceilings, a few slow or stuck: two
 * reservations and a pin raised on one large guest, each needing from
 * every guest less than the deadband. Returns the guests' memory. */
static uint64_t donors_crowd(struct gen *g, json_object *doms, json_object *events,
			     json_object *expect, uint64_t room)
{
	static const uint64_t sizes[] = {64 * MIB, 96 * MIB, 128 * MIB, 192 * MIB, 256 * MIB};
	uint64_t each = sizes[rng_range(&g->r, 0, 4)], sum = 0, t, at, pin_kib, big = GIB;
	bool restart;
	unsigned n = (unsigned)rng_range(&g->r, 100, MAX_GUESTS), i;
	json_object *e, *ft, *b;
	char name[16];

	while (n > 100 && (uint64_t)n * (each + 3 * MIB) + big * 2 > room)
		n--;
	for (i = 0; i < n; i++) {
		unsigned x = (unsigned)rng_range(&g->r, 0, 99);
		uint64_t dmin = mib_floor(frac_kib(each, 0.3 + rng_unit(&g->r) * 0.3));

		if (dmin > each - 32 * MIB) /* room for every share: 22M at most */
			dmin = each - 32 * MIB;
		snprintf(name, sizeof(name), "c%u", i + 1);
		json_object_array_add(
			doms, donor_domain(name, each, dmin,
					   x < 3    ? donor_balloon("stuck", 0)
					   : x < 10 ? donor_balloon("slow", (8 + 8 * (x % 4)) * MIB)
						    : donor_balloon("normal", 0)));
		sum += each;
	}
	/* the guest the pin raises, up to its static-max */
	pin_kib = big + mib_floor((uint64_t)n * rng_range(&g->r, 1, 8) * MIB / 2);
	e = donor_domain("big", big, big, donor_balloon("normal", 0));
	json_object_object_add(e, "static_max", size_json(pin_kib));
	json_object_array_add(doms, e);
	sum += big;
	at = rng_range(&g->r, 30, 80) * 100;
	t = donor_reserve(g, events, at, mib_floor((uint64_t)n * rng_range(&g->r, 2, 12) * MIB));
	restart = t != at;
	at = t + rng_range(&g->r, 20, 60) * 100;
	t = donor_reserve(g, events, at, mib_floor((uint64_t)n * rng_range(&g->r, 1, 6) * MIB));
	restart = restart || t != at;
	t += rng_range(&g->r, 20, 60) * 100;
	e = donor_event(t, "set-target");
	add(e, "name", json_object_new_string("big"));
	add(e, "target", size_json(pin_kib));
	json_object_array_add(events, e);
	if (rng_pct(&g->r, 50))
		json_object_array_add(events,
				      donor_event(t + rng_range(&g->r, 1, 30) * 100, "restart"));
	g->quiet_ms = t + 3000;
	/* one balloon at 8M/s moves its share in two seconds; after a
	 * restart, a stuck one is only judged by the stall timeout (5 s) */
	add(expect, "granted_within", json_object_new_int(restart ? 16 : 10));
	ft = json_object_new_object();
	b = json_object_new_object();
	add(b, "min", size_json(pin_kib));
	add(b, "max", size_json(pin_kib));
	add(ft, "big", b);
	add(expect, "final_target", ft);
	g->info->guests = n + 1;
	return sum;
}

/* The least time (ms) in which donors of these caps and rates give need. */
static uint64_t donors_time_ms(const uint64_t *cap, const uint64_t *rate, unsigned n, uint64_t need)
{
	uint64_t lo = 0, hi = 600000;

	while (lo < hi) { /* sum(min(cap, rate x t)) grows with t: bisect */
		uint64_t mid = (lo + hi) / 2, sum = 0;
		unsigned i;

		for (i = 0; i < n; i++)
			sum += cap[i] < rate[i] * mid / 1000 ? cap[i] : rate[i] * mid / 1000;
		if (sum >= need)
			hi = mid;
		else
			lo = mid + 1;
	}
	return lo;
}

/* A few large guests at their ceilings: fast ones, and stuck, stopping
 * or slow ones; one reservation the fast ones alone give within
 * DONORS_FAST_MS. It must be granted in about the time they need. */
static uint64_t donors_laggards(struct gen *g, json_object *doms, json_object *events,
				json_object *expect, uint64_t room)
{
	static const uint64_t fast_rates[] = {128 * MIB, 256 * MIB, 512 * MIB, GIB};
	unsigned n = (unsigned)rng_range(&g->r, 3, 12), i, nf = 0;
	uint64_t cap[12], rate[12], sum = 0, fast = 0, need, t_fast, within, at;
	bool stops = false, restart;
	char name[16];

	for (i = 0; i < n; i++) {
		uint64_t mem = mib_floor(frac_kib(GIB, 1.0 + rng_unit(&g->r) * 7.0));
		uint64_t dmin = mib_floor(frac_kib(mem, 0.2 + rng_unit(&g->r) * 0.4));
		unsigned x = (unsigned)rng_range(&g->r, 0, 99);
		json_object *b;

		if (sum + mem > room)
			break;
		snprintf(name, sizeof(name), "d%u", i + 1);
		if (i == 0 || x < 40) { /* fast */
			rate[nf] = fast_rates[rng_range(&g->r, 0, 3)];
			cap[nf] = mem - dmin;
			fast += cap[nf] < rate[nf] * DONORS_FAST_MS / 1000
					? cap[nf]
					: rate[nf] * DONORS_FAST_MS / 1000;
			b = donor_balloon("normal", rate[nf++]);
		} else if (x < 60) {
			b = donor_balloon("stuck", 0);
		} else if (x < 75) {
			b = donor_balloon("stuck_after", 0);
			add(b, "after",
			    size_json(
				    mib_floor(frac_kib(mem - dmin, 0.1 + rng_unit(&g->r) * 0.3))));
			stops = true;
		} else {
			b = donor_balloon("slow", (uint64_t)(8 << rng_range(&g->r, 0, 3)) * MIB);
		}
		json_object_array_add(doms, donor_domain(name, mem, dmin, b));
		sum += mem;
	}
	need = mib_floor(frac_kib(fast, 0.3 + rng_unit(&g->r) * 0.6));
	if (need < 64 * MIB)
		need = 64 * MIB;
	at = rng_range(&g->r, 30, 80) * 100;
	restart = donor_reserve(g, events, at, need) != at;
	g->quiet_ms = at + 3000;
	/* twice the time the fast donors alone need (a donor is only
	 * re-planned when it would take longer), a second to judge the others
	 * (more after a restart), and the stall timeout for one that stops */
	t_fast = donors_time_ms(cap, rate, nf, need);
	within = (2 * t_fast > t_fast + 2000 ? 2 * t_fast : t_fast + 2000) + 2000 +
		 (restart ? 4000 : 0) + (stops ? 6000 : 0);
	add(expect, "granted_within", time_json((within + 999) / 1000 * 1000));
	g->info->guests = i;
	return sum;
}

/* The SCENGEN_DONORS scenario for g's seed into root. */
static void donors_generate(struct gen *g, json_object *root)
{
	struct scengen_info *info = g->info;
	json_object *host = json_object_new_object(), *doms = json_object_new_array();
	json_object *events = json_object_new_array(), *expect = json_object_new_object();
	uint64_t xen = 256 * MIB, dom0 = GIB, pool = 72 * MIB, room, sum, slack;
	bool crowd = rng_pct(&g->r, 50);

	room = g->o->max_host_kib - xen - dom0 - HOLE_KIB - pool - 512 * MIB;
	g->config = json_object_new_object();
	add(g->config, "pool", size_json(pool));
	if (rng_pct(&g->r, 30))
		add(g->config, "deadband",
		    json_object_new_string(rng_pct(&g->r, 50) ? "32M" : "64M"));
	add(expect, "invariants", json_object_new_boolean(true));
	add(expect, "reservations_ok", json_object_new_boolean(true));
	sum = crowd ? donors_crowd(g, doms, events, expect, room)
		    : donors_laggards(g, doms, events, expect, room);
	/* free: the pool, every guest's maxmem slack, and a little more */
	slack = (uint64_t)info->guests * DONORS_FREE_SLACK_KIB;
	info->host_kib = mib_floor(sum + xen + dom0 + HOLE_KIB + pool + slack +
				   rng_range(&g->r, 16, 256) * MIB);
	if (info->host_kib < g->o->min_host_kib)
		info->host_kib = g->o->min_host_kib;
	add(host, "memory", size_json(info->host_kib));
	add(host, "xen_reserved", size_json(xen));
	add(host, "dom0", size_json(dom0));
	add(root, "host", host);
	add(root, "config", g->config);
	add(root, "domains", doms);
	add(root, "events", events);
	info->events = (unsigned)json_object_array_length(events);
	info->tight = true;
	info->quiet_ms = g->quiet_ms;
	info->settle_ms = 60000;
	info->until_ms = info->quiet_ms + info->settle_ms;
	add(root, "until", time_json(info->until_ms));
	add(root, "expect", expect);
	snprintf(info->summary, sizeof(info->summary),
		 "%" PRIu64 "G host, %u guests, %s, %u events", info->host_kib / GIB, info->guests,
		 crowd ? "crowd of small donors" : "lagging donors", info->events);
}

/* Name root after its seed and write it out as text (root is consumed). */
static int gen_text(json_object *root, uint64_t seed, char **ret_text)
{
	char desc[128], *text;

	snprintf(desc, sizeof(desc), "scengen seed %" PRIu64, seed);
	add(root, "description", json_object_new_string(desc));
	text = strdup(json_object_to_json_string_ext(root, JSON_C_TO_STRING_PRETTY |
								   JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(root);
	if (!text)
		return -ENOMEM;
	*ret_text = text;
	return 0;
}

void scengen_opts_init(struct scengen_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->kind = SCENGEN_RANDOM;
	o->min_guests = 1;
	o->max_guests = 60;
	o->min_host_kib = 4 * GIB;
	o->max_host_kib = 256 * GIB;
}

/* Host RAM: mostly small hosts (the run costs about 7 ms per GiB), some
 * medium, a few large; always within the options. */
static uint64_t gen_host_kib(struct gen *g)
{
	uint64_t lo = g->o->min_host_kib, hi = g->o->max_host_kib, gib, a, b;
	unsigned x = (unsigned)rng_range(&g->r, 0, 99);

	a = x < 65 ? 4 : x < 93 ? 16 : 64;
	b = x < 65 ? 16 : x < 93 ? 64 : 256;
	gib = rng_range(&g->r, a, b);
	if (gib * GIB < lo)
		gib = lo / GIB;
	if (gib * GIB > hi)
		gib = hi / GIB;
	return gib * GIB;
}

int scengen_generate(uint64_t seed, const struct scengen_opts *o, char **ret_text,
		     struct scengen_info *ret_info)
{
	static const uint64_t pools[] = {64 * MIB, 72 * MIB, 128 * MIB, 256 * MIB};
	static const char *const deadbands[] = {"0M", "4M", "16M", "64M"};
	static const char *const steps[] = {"0M", "128M", "1G"};
	static const char *const polls[] = {"100ms", "250ms", "1s"};
	struct scengen_info info_buf, *info = ret_info ? ret_info : &info_buf;
	struct gen *g;
	json_object *root, *host, *doms;
	uint64_t xen, dom0, pool, budget, sum = 0;
	double *w, wsum = 0;
	unsigned n, i;

	if (!o || o->min_guests > o->max_guests || o->max_guests > MAX_GUESTS ||
	    o->min_host_kib < 4 * GIB || o->min_host_kib > o->max_host_kib)
		return -EINVAL;
	g = calloc(1, sizeof(*g));
	w = calloc(o->max_guests + 1, sizeof(*w));
	if (g)
		g->cap_doms = o->max_guests + MAX_EVENTS;
	if (g)
		g->doms = calloc(g->cap_doms, sizeof(*g->doms));
	if (!g || !w || !g->doms) {
		if (g)
			free(g->doms);
		free(g);
		free(w);
		return -ENOMEM;
	}
	memset(info, 0, sizeof(*info));
	g->r.s = seed;
	g->r2.s = seed ^ UINT64_C(0x6a09e667f3bcc908);
	g->o = o;
	g->info = info;
	if (o->kind == SCENGEN_DONORS) {
		root = json_object_new_object();
		donors_generate(g, root);
		free(g->doms);
		free(g);
		free(w);
		return gen_text(root, seed, ret_text);
	}

	info->host_kib = gen_host_kib(g);
	xen = (uint64_t[]){128 * MIB, 256 * MIB, 512 * MIB}[rng_range(&g->r, 0, 2)];
	dom0 = mib_floor(info->host_kib / 16);
	dom0 = dom0 < GIB ? GIB : dom0 > 4 * GIB ? 4 * GIB : dom0;
	pool = pools[rng_range(&g->r, 0, 3)];
	g->usable = info->host_kib - xen - dom0 - (info->host_kib > 3 * GIB ? HOLE_KIB : 0);
	info->tight = o->kind == SCENGEN_RANDOM && rng_pct(&g->r, 40);
	/* the standard kind is demand-driven: what guests use decides */
	info->keep_free = rng_pct(&g->r, 50) || o->kind == SCENGEN_STANDARD;
	info->cooperative = o->kind == SCENGEN_STANDARD || rng_pct(&g->r, 50);
	n = (unsigned)rng_range(&g->r, o->min_guests, o->max_guests);
	while (n > 1 && (uint64_t)n * (MIN_GUEST_KIB + 32 * MIB) > g->usable - pool)
		n--;
	n = n < o->min_guests ? o->min_guests : n;
	info->guests = n;
	g->quiet_ms = o->kind == SCENGEN_STANDARD ? 26500 : rng_range(&g->r, 10, 90) * 1000;

	root = json_object_new_object();
	host = json_object_new_object();
	add(host, "memory", size_json(info->host_kib));
	add(host, "xen_reserved", size_json(xen));
	add(host, "dom0", size_json(dom0));
	g->config = json_object_new_object();
	add(g->config, "pool", size_json(pool));
	add(g->config, "surplus",
	    json_object_new_string(info->keep_free ? "keep-free" : "distribute"));
	if (o->kind == SCENGEN_RANDOM) {
		if (rng_pct(&g->r, 50))
			add(g->config, "deadband",
			    json_object_new_string(deadbands[rng_range(&g->r, 0, 3)]));
		if (rng_pct(&g->r, 40))
			add(g->config, "max_step",
			    json_object_new_string(steps[rng_range(&g->r, 0, 2)]));
		if (rng_pct(&g->r, 40))
			add(g->config, "poll_interval",
			    json_object_new_string(polls[rng_range(&g->r, 0, 2)]));
	}

	/* guests: tight hosts give them most of the RAM, roomy ones a part */
	budget = frac_kib(g->usable - pool - 64 * MIB, info->tight ? 0.75 + rng_unit(&g->r) * 0.22
								   : 0.2 + rng_unit(&g->r) * 0.4);
	for (i = 0; i < n; i++)
		wsum += w[i] = 1.0 + rng_unit(&g->r) * 3.0;
	doms = json_object_new_array();
	for (i = 0; i < n; i++) {
		uint64_t mem = frac_kib(budget, w[i] / wsum);
		char name[16];

		if (mem < MIN_GUEST_KIB)
			mem = MIN_GUEST_KIB;
		if (sum + mem > g->usable - pool - 64 * MIB)
			break; /* the minimum sizes ran over: fewer guests */
		snprintf(name, sizeof(name), "g%u", i + 1);
		json_object_array_add(doms, gen_domain(g, name, mem, 0, false));
		sum += g->doms[g->n_doms - 1].memory;
	}
	info->guests = (unsigned)g->n_doms;

	add(root, "host", host);
	add(root, "config", g->config);
	add(root, "domains", doms);
	if (o->kind == SCENGEN_RANDOM)
		add(root, "events", gen_events(g, (unsigned)rng_range(&g->r, 0, 14)));
	info->quiet_ms = g->quiet_ms;
	/* two crossings of the slowest balloon (decreases first, then
	 * increases), the stall and uncooperative timeouts, and a margin */
	info->settle_ms = 2 * g->slowest_ms + 60000 + TAIL_MS;
	info->until_ms = (info->quiet_ms + info->settle_ms) / 1000 * 1000 + 1000;
	add(root, "until", time_json(info->until_ms));
	{
		json_object *exp = json_object_new_object();

		add(exp, "invariants", json_object_new_boolean(true));
		add(root, "expect", exp);
	}
	snprintf(info->summary, sizeof(info->summary),
		 "%" PRIu64 "G host, %u guests, %s, %s, %s, %u events (%u creates), until %" PRIu64
		 " s",
		 info->host_kib / GIB, info->guests, info->tight ? "tight" : "roomy",
		 info->keep_free ? "keep-free" : "distribute",
		 info->cooperative ? "cooperative" : "mixed balloons", info->events, info->created,
		 info->until_ms / 1000);

	free(g->doms);
	free(g);
	free(w);
	return gen_text(root, seed, ret_text);
}
