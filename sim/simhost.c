/* The simulated hypervisor: frames with owners, clean and dirty free lists
 * (scrubbing), the M2P, every domain's P2M, max_pages, and a Linux-like
 * balloon driver per guest. Time is a parameter; nothing here reads a
 * clock. */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "simhost.h"

#define INVALID_ENTRY UINT64_MAX
#define SIM_DOMID_IO 0x7ff1u          /* MMIO hole frames: not RAM */
#define BATCH_PAGES 512               /* the Linux driver's batch */
#define SCRUB_KIB_PER_S (4ull << 20)  /* 4 GiB/s */
#define AGENT_PERIOD_MS 1000          /* a guest agent writes at most once a second */
#define MAX_RETRIES 4
#define HOLE_START_KIB (3ull << 20)   /* 3 GiB */
#define HOLE_END_KIB (4ull << 20)     /* 4 GiB */
#define DEFAULT_RATE_KIB_S (256ull << 10)
#define SLOW_RATE_KIB_S (16ull << 10)

struct sim_dom {
	uint32_t domid;
	char name[SIM_NAME_MAX];
	enum sim_dom_type type;
	unsigned width;
	bool shutdown, paused;
	uint64_t static_max_kib;
	uint64_t max_pages, tot_pages;
	uint64_t *p2m;       /* pfn -> mfn or INVALID_ENTRY */
	uint64_t npfns;
	uint64_t *pop;       /* populated pfns the driver may give back */
	uint64_t npop;
	uint64_t *holes;     /* ballooned-out pfns it may populate again */
	uint64_t nholes;
	struct sim_balloon balloon;
	/* driver state */
	char target_seen[32];
	bool have_target;
	uint64_t target_kib;
	uint64_t moved_kib;
	double credit;       /* pages the rate allows but not yet moved */
	uint64_t last_ms;
	unsigned retries;
	uint64_t retry_at_ms;
	bool gave_up;
	/* demand */
	struct sim_demand_point *demand;
	size_t n_demand;
	uint64_t agent_next_ms;
	char agent_free[24], agent_total[24];
};

struct simhost {
	uint64_t nframes;    /* max_page: RAM plus the hole */
	uint32_t *owner;
	uint64_t *m2p;
	uint64_t *clean;     /* stack of free scrubbed frames */
	uint64_t nclean;
	uint64_t *dirty;     /* stack of freed, unscrubbed frames */
	uint64_t ndirty;
	double scrub_credit;
	uint64_t ram_frames;
	struct sim_dom **doms; /* ascending domid */
	size_t ndoms;
	uint32_t next_domid;
	uint64_t now_ms;
	bool fault_injected;
	struct simxs *xs;
};

static const char *const behavior_names[] = {
	[SIM_BALLOON_NORMAL] = "normal", [SIM_BALLOON_SLOW] = "slow",
	[SIM_BALLOON_STUCK] = "stuck", [SIM_BALLOON_STUCK_AFTER] = "stuck_after",
	[SIM_BALLOON_FLOOR] = "floor", [SIM_BALLOON_INTERMITTENT] = "intermittent",
	[SIM_BALLOON_GREEDY] = "greedy", [SIM_BALLOON_NONE] = "none",
	[SIM_BALLOON_LIAR] = "liar",
};

const char *sim_behavior_name(enum sim_behavior b)
{
	return (unsigned)b < sizeof(behavior_names) / sizeof(*behavior_names) ? behavior_names[b] : "?";
}

int sim_behavior_parse(const char *s, enum sim_behavior *ret)
{
	size_t i;

	for (i = 0; i < sizeof(behavior_names) / sizeof(*behavior_names); i++)
		if (strcmp(s, behavior_names[i]) == 0) {
			*ret = (enum sim_behavior)i;
			return 0;
		}
	return -EINVAL;
}

const char *sim_dom_type_name(enum sim_dom_type t)
{
	return t == SIM_PV ? "pv" : t == SIM_PVH ? "pvh" : "hvm";
}

int sim_dom_type_parse(const char *s, enum sim_dom_type *ret)
{
	if (strcmp(s, "pv") == 0)
		*ret = SIM_PV;
	else if (strcmp(s, "pvh") == 0)
		*ret = SIM_PVH;
	else if (strcmp(s, "hvm") == 0)
		*ret = SIM_HVM;
	else
		return -EINVAL;
	return 0;
}

struct simxs *simhost_xs(struct simhost *h)
{
	return h->xs;
}

static struct sim_dom *dom_find(const struct simhost *h, uint32_t domid)
{
	size_t lo = 0, hi = h->ndoms;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (h->doms[mid]->domid < domid)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < h->ndoms && h->doms[lo]->domid == domid ? h->doms[lo] : NULL;
}

static void xs_set(struct simhost *h, uint32_t domid, const char *key, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static void xs_set(struct simhost *h, uint32_t domid, const char *key, const char *fmt, ...)
{
	char path[128], val[128];
	va_list ap;

	snprintf(path, sizeof(path), "/local/domain/%u/%s", domid, key);
	va_start(ap, fmt);
	vsnprintf(val, sizeof(val), fmt, ap);
	va_end(ap);
	simxs_write(h->xs, 0, path, val);
}

/* ---- frames ---- */

static bool frame_take(struct simhost *h, uint64_t *ret)
{
	if (h->nclean) {
		*ret = h->clean[--h->nclean];
		return true;
	}
	if (h->ndirty) { /* Xen scrubs on allocation when it must */
		*ret = h->dirty[--h->ndirty];
		return true;
	}
	return false;
}

/* Xen populates one pfn of d: frame, owner, M2P, then the guest's P2M. */
static bool populate(struct simhost *h, struct sim_dom *d, uint64_t pfn)
{
	uint64_t mfn;

	if (d->tot_pages >= d->max_pages || !frame_take(h, &mfn))
		return false;
	h->owner[mfn] = d->domid;
	h->m2p[mfn] = pfn;
	d->p2m[pfn] = mfn;
	d->tot_pages++;
	d->pop[d->npop++] = pfn;
	return true;
}

/* The guest gives back one pfn: P2M cleared first, then Xen frees the
 * frame (owner, M2P). */
static void release(struct simhost *h, struct sim_dom *d)
{
	uint64_t pfn = d->pop[--d->npop];
	uint64_t mfn = d->p2m[pfn];

	d->p2m[pfn] = INVALID_ENTRY;
	h->owner[mfn] = SIM_DOMID_INVALID;
	h->m2p[mfn] = INVALID_ENTRY;
	h->dirty[h->ndirty++] = mfn;
	d->tot_pages--;
	d->holes[d->nholes++] = pfn;
}

struct simhost *simhost_new(uint64_t memory_kib, uint64_t xen_reserved_kib, uint64_t dom0_kib,
			    uint64_t now_ms)
{
	struct sim_domain_spec dom0 = {.name = "Domain-0", .type = SIM_PV, .width = 64};
	struct simhost *h;
	uint64_t ram = memory_kib / SIM_PAGE_KIB, xen = xen_reserved_kib / SIM_PAGE_KIB, f;
	uint64_t hole_lo = HOLE_START_KIB / SIM_PAGE_KIB, hole_hi = HOLE_END_KIB / SIM_PAGE_KIB;
	uint32_t domid;

	if (ram < 1024 || xen + dom0_kib / SIM_PAGE_KIB >= ram || memory_kib > (UINT64_C(1) << 40))
		return NULL;
	h = calloc(1, sizeof(*h));
	if (!h)
		return NULL;
	h->ram_frames = ram;
	h->nframes = ram > hole_lo ? ram + (hole_hi - hole_lo) : ram;
	h->owner = malloc(h->nframes * sizeof(*h->owner));
	h->m2p = malloc(h->nframes * sizeof(*h->m2p));
	h->clean = malloc(h->nframes * sizeof(*h->clean));
	h->dirty = malloc(h->nframes * sizeof(*h->dirty));
	h->xs = simxs_new();
	if (!h->owner || !h->m2p || !h->clean || !h->dirty || !h->xs) {
		simhost_free(h);
		return NULL;
	}
	h->now_ms = now_ms;
	/* Pushed high to low so that allocation pops ascending runs. */
	for (f = h->nframes; f-- > 0;) {
		h->m2p[f] = INVALID_ENTRY;
		if (f >= hole_lo && f < hole_hi && h->nframes > ram)
			h->owner[f] = SIM_DOMID_IO;
		else if (f < xen)
			h->owner[f] = SIM_DOMID_XEN;
		else {
			h->owner[f] = SIM_DOMID_INVALID;
			h->clean[h->nclean++] = f;
		}
	}
	simxs_write(h->xs, 0, "/local/domain", "");
	simxs_write(h->xs, 0, "/tool", "");
	dom0.memory_kib = dom0_kib;
	dom0.static_max_kib = dom0_kib;
	dom0.maxmem_kib = dom0_kib;
	if (simhost_create(h, &dom0, now_ms, &domid) < 0) {
		simhost_free(h);
		return NULL;
	}
	return h;
}

static void dom_free(struct sim_dom *d)
{
	if (!d)
		return;
	free(d->p2m);
	free(d->pop);
	free(d->holes);
	free(d->demand);
	free(d);
}

void simhost_free(struct simhost *h)
{
	size_t i;

	if (!h)
		return;
	for (i = 0; i < h->ndoms; i++)
		dom_free(h->doms[i]);
	free(h->doms);
	free(h->owner);
	free(h->m2p);
	free(h->clean);
	free(h->dirty);
	simxs_free(h->xs);
	free(h);
}

int simhost_lookup(const struct simhost *h, const char *name, uint32_t *ret_domid)
{
	size_t i;

	for (i = 0; i < h->ndoms; i++)
		if (strcmp(h->doms[i]->name, name) == 0) {
			*ret_domid = h->doms[i]->domid;
			return 0;
		}
	return -ENOENT;
}

int simhost_create(struct simhost *h, const struct sim_domain_spec *spec, uint64_t now_ms,
		   uint32_t *ret_domid)
{
	uint64_t pages = spec->memory_kib / SIM_PAGE_KIB, smax, pfn;
	struct sim_dom *d, **nv;
	uint32_t domid;

	if (!spec->name[0] || pages == 0)
		return -EINVAL;
	if (simhost_lookup(h, spec->name, &domid) == 0)
		return -EEXIST;
	smax = spec->static_max_kib ? spec->static_max_kib : spec->memory_kib;
	if (smax < spec->memory_kib)
		return -EINVAL;
	if (pages > h->nclean + h->ndirty)
		return -ENOMEM;
	d = calloc(1, sizeof(*d));
	if (!d)
		return -ENOMEM;
	d->domid = h->ndoms == 0 && strcmp(spec->name, "Domain-0") == 0 ? 0 : ++h->next_domid;
	snprintf(d->name, sizeof(d->name), "%s", spec->name);
	d->type = spec->type;
	d->width = spec->width == 32 ? 32 : 64;
	d->static_max_kib = smax;
	d->npfns = smax / SIM_PAGE_KIB;
	d->max_pages = (spec->maxmem_kib ? spec->maxmem_kib : spec->memory_kib + 1024) / SIM_PAGE_KIB;
	d->balloon = spec->balloon;
	if (!d->balloon.rate_kib_s)
		d->balloon.rate_kib_s = d->balloon.behavior == SIM_BALLOON_SLOW ? SLOW_RATE_KIB_S
										: DEFAULT_RATE_KIB_S;
	d->p2m = malloc(d->npfns * sizeof(*d->p2m));
	d->pop = malloc(d->npfns * sizeof(*d->pop));
	d->holes = malloc(d->npfns * sizeof(*d->holes));
	if (spec->n_demand) {
		d->demand = malloc(spec->n_demand * sizeof(*d->demand));
		if (d->demand) {
			memcpy(d->demand, spec->demand, spec->n_demand * sizeof(*d->demand));
			d->n_demand = spec->n_demand;
		}
	}
	nv = realloc(h->doms, (h->ndoms + 1) * sizeof(*nv));
	if (!d->p2m || !d->pop || !d->holes || (spec->n_demand && !d->demand) || !nv) {
		if (nv)
			h->doms = nv;
		dom_free(d);
		return -ENOMEM;
	}
	h->doms = nv;
	for (pfn = 0; pfn < d->npfns; pfn++)
		d->p2m[pfn] = INVALID_ENTRY;
	/* Holes are handed out from the top of the stack: lowest pfn first. */
	for (pfn = d->npfns; pfn-- > pages;)
		d->holes[d->nholes++] = pfn;
	d->max_pages = d->max_pages > pages ? d->max_pages : pages;
	for (pfn = 0; pfn < pages; pfn++)
		populate(h, d, pfn);
	d->last_ms = now_ms;
	h->doms[h->ndoms++] = d;

	xs_set(h, d->domid, "name", "%s", d->name);
	xs_set(h, d->domid, "domid", "%u", d->domid);
	xs_set(h, d->domid, "vm", "/vm/00000000-0000-0000-0000-%012x", d->domid);
	xs_set(h, d->domid, "memory/static-max", "%" PRIu64, smax);
	if (spec->dynamic_min_kib)
		xs_set(h, d->domid, "memory/dynamic-min", "%" PRIu64, spec->dynamic_min_kib);
	if (spec->dynamic_max_kib)
		xs_set(h, d->domid, "memory/dynamic-max", "%" PRIu64, spec->dynamic_max_kib);
	if (d->type == SIM_HVM)
		xs_set(h, d->domid, "memory/videoram", "%d", 8192);
	xs_set(h, d->domid, "memory/target", "%" PRIu64, spec->memory_kib);
	xs_set(h, d->domid, "data", "%s", "");
	simxs_fire_special(h->xs, "@introduceDomain");
	*ret_domid = d->domid;
	return 0;
}

int simhost_destroy(struct simhost *h, uint32_t domid, uint64_t now_ms)
{
	struct sim_dom *d = dom_find(h, domid);
	char path[64];
	size_t i;

	if (!d || domid == 0)
		return -ENOENT;
	while (d->npop)
		release(h, d);
	/* frames hidden by an injected fault are released too */
	for (i = 0; i < h->nframes; i++)
		if (h->owner[i] == domid) {
			h->owner[i] = SIM_DOMID_INVALID;
			h->m2p[i] = INVALID_ENTRY;
			h->dirty[h->ndirty++] = i;
		}
	snprintf(path, sizeof(path), "/local/domain/%u", domid);
	simxs_rm(h->xs, 0, path);
	for (i = 0; i < h->ndoms; i++)
		if (h->doms[i] == d) {
			memmove(&h->doms[i], &h->doms[i + 1], (h->ndoms - i - 1) * sizeof(*h->doms));
			h->ndoms--;
			break;
		}
	dom_free(d);
	simxs_fire_special(h->xs, "@releaseDomain");
	(void)now_ms;
	return 0;
}

/* ---- the balloon driver ---- */

/* Pages the driver aims for now, or -1 when it will not move. */
static int64_t driver_goal(const struct sim_dom *d)
{
	const struct sim_balloon *b = &d->balloon;
	int64_t goal;

	switch (b->behavior) {
	case SIM_BALLOON_NONE:
	case SIM_BALLOON_STUCK:
		return -1;
	case SIM_BALLOON_GREEDY:
		return (int64_t)d->max_pages;
	default:
		break;
	}
	if (!d->have_target)
		return -1;
	goal = ((int64_t)d->target_kib + b->offset_kib) / SIM_PAGE_KIB;
	if (goal < 1)
		goal = 1;
	if (b->behavior == SIM_BALLOON_FLOOR && goal < (int64_t)(b->floor_kib / SIM_PAGE_KIB))
		goal = (int64_t)(b->floor_kib / SIM_PAGE_KIB);
	if (goal > (int64_t)d->npfns)
		goal = (int64_t)d->npfns;
	return goal;
}

/* Milliseconds of [t0, t1) during which the driver may move. */
static uint64_t moving_ms(const struct sim_dom *d, uint64_t t0, uint64_t t1)
{
	uint64_t p = d->balloon.period_ms, total = 0, t;

	if (d->balloon.behavior != SIM_BALLOON_INTERMITTENT || p == 0)
		return t1 - t0;
	for (t = t0; t < t1;) {
		uint64_t window = t / p, end = (window + 1) * p;

		if (end > t1)
			end = t1;
		if (window % 2 == 0)
			total += end - t;
		t = end;
	}
	return total;
}

/* Read memory/target the way the driver's watch sees it: only a changed
 * value wakes it (and resets its retries). */
static void driver_read_target(struct simhost *h, struct sim_dom *d)
{
	char path[64], val[32];
	uint64_t v = 0;
	char *end;

	snprintf(path, sizeof(path), "/local/domain/%u/memory/target", d->domid);
	if (simxs_read(h->xs, d->domid, path, val, sizeof(val)) < 0)
		return;
	if (d->have_target && strcmp(val, d->target_seen) == 0)
		return;
	v = strtoull(val, &end, 10);
	if (*end || !val[0])
		return;
	snprintf(d->target_seen, sizeof(d->target_seen), "%s", val);
	d->have_target = true;
	d->target_kib = v;
	d->retries = 0;
	d->gave_up = false;
	d->retry_at_ms = 0;
}

static void driver_run(struct simhost *h, struct sim_dom *d, uint64_t t0, uint64_t t1)
{
	int64_t goal;
	double allow;
	uint64_t n, i, start = t0;

	driver_read_target(h, d);
	goal = driver_goal(d);
	if (goal < 0 || d->paused || d->shutdown || d->gave_up) {
		d->credit = 0;
		return;
	}
	if (d->retry_at_ms) {
		if (t1 < d->retry_at_ms)
			return;
		start = d->retry_at_ms > t0 ? d->retry_at_ms : t0;
		d->retry_at_ms = 0;
	}
	allow = d->credit + (double)moving_ms(d, start, t1) * (double)d->balloon.rate_kib_s /
				   1000.0 / SIM_PAGE_KIB;
	n = (uint64_t)allow;
	if (d->balloon.behavior == SIM_BALLOON_STUCK_AFTER) {
		uint64_t left = d->moved_kib >= d->balloon.after_kib
					? 0 : (d->balloon.after_kib - d->moved_kib) / SIM_PAGE_KIB;

		if (n > left)
			n = left;
	}
	if ((int64_t)d->tot_pages > goal) {
		uint64_t want = d->tot_pages - (uint64_t)goal;

		if (n > want)
			n = want;
		if (n > d->npop)
			n = d->npop;
		for (i = 0; i < n; i++)
			release(h, d);
	} else if ((int64_t)d->tot_pages < goal) {
		uint64_t want = (uint64_t)goal - d->tot_pages;

		if (n > want)
			n = want;
		for (i = 0; i < n && d->nholes; i++) {
			uint64_t pfn = d->holes[d->nholes - 1];

			if (!populate(h, d, pfn))
				break;
			d->nholes--;
		}
		if (i < n) {
			/* populate failed (max_pages or no memory): back off
			 * 1, 2, 4, 8 s, then give up until the target changes */
			d->retries++;
			if (d->retries > MAX_RETRIES)
				d->gave_up = true;
			else
				d->retry_at_ms = t1 + (1000ull << (d->retries - 1));
			n = i;
			allow = (double)n;
		}
	} else {
		n = 0;
		allow = 0;
	}
	d->moved_kib += n * SIM_PAGE_KIB;
	d->credit = allow - (double)n;
	if (d->credit > BATCH_PAGES)
		d->credit = BATCH_PAGES;
	if ((int64_t)d->tot_pages == goal)
		d->credit = 0;
}

/* The guest agent reports memory use (data/meminfo_*), at most once a
 * second, only when a value changed. A liar claims a tenth of its use. */
static void agent_run(struct simhost *h, struct sim_dom *d, uint64_t now)
{
	uint64_t used = 0, total = d->tot_pages * SIM_PAGE_KIB, freek;
	char f[24], t[24], path[96];
	size_t i;

	if (!d->n_demand || now < d->agent_next_ms)
		return;
	for (i = 0; i < d->n_demand && d->demand[i].at_ms <= now; i++)
		used = d->demand[i].used_kib;
	if (i == 0)
		return;
	if (d->balloon.behavior == SIM_BALLOON_LIAR)
		used /= 10;
	freek = used < total ? total - used : 0;
	snprintf(f, sizeof(f), "%" PRIu64, freek);
	snprintf(t, sizeof(t), "%" PRIu64, total);
	if (strcmp(f, d->agent_free) == 0 && strcmp(t, d->agent_total) == 0)
		return;
	snprintf(path, sizeof(path), "/local/domain/%u/data/meminfo_total", d->domid);
	simxs_write(h->xs, d->domid, path, t);
	snprintf(path, sizeof(path), "/local/domain/%u/data/meminfo_free", d->domid);
	simxs_write(h->xs, d->domid, path, f);
	memcpy(d->agent_free, f, sizeof(f));
	memcpy(d->agent_total, t, sizeof(t));
	d->agent_next_ms = now + AGENT_PERIOD_MS;
}

void simhost_advance(struct simhost *h, uint64_t now_ms)
{
	uint64_t t0 = h->now_ms, n;
	size_t i;

	if (now_ms < t0)
		now_ms = t0;
	h->scrub_credit += (double)(now_ms - t0) * SCRUB_KIB_PER_S / 1000.0 / SIM_PAGE_KIB;
	n = (uint64_t)h->scrub_credit;
	if (n > h->ndirty)
		n = h->ndirty;
	for (i = 0; i < n; i++)
		h->clean[h->nclean++] = h->dirty[--h->ndirty];
	h->scrub_credit = h->ndirty ? h->scrub_credit - (double)n : 0;
	for (i = 0; i < h->ndoms; i++) {
		struct sim_dom *d = h->doms[i];

		driver_run(h, d, d->last_ms > t0 ? d->last_ms : t0, now_ms);
		d->last_ms = now_ms;
		agent_run(h, d, now_ms);
	}
	h->now_ms = now_ms;
}

uint64_t simhost_next_change_ms(const struct simhost *h, uint64_t now_ms)
{
	uint64_t next = UINT64_MAX;
	size_t i, k;

	if (h->ndirty)
		next = now_ms + 1 + h->ndirty * SIM_PAGE_KIB * 1000 / SCRUB_KIB_PER_S;
	for (i = 0; i < h->ndoms; i++) {
		const struct sim_dom *d = h->doms[i];
		int64_t goal = driver_goal(d);
		char path[64], val[32];
		uint64_t t;

		/* a target value the driver has not seen yet wakes it now */
		snprintf(path, sizeof(path), "/local/domain/%u/memory/target", d->domid);
		if (simxs_read(h->xs, 0, path, val, sizeof(val)) >= 0 &&
		    (!d->have_target || strcmp(val, d->target_seen) != 0) &&
		    d->balloon.behavior != SIM_BALLOON_NONE)
			next = now_ms + 1 < next ? now_ms + 1 : next;
		if (d->n_demand) {
			for (k = 0; k < d->n_demand; k++)
				if (d->demand[k].at_ms > now_ms) {
					t = d->demand[k].at_ms;
					next = t < next ? t : next;
					break;
				}
			if (d->agent_next_ms > now_ms && d->agent_next_ms < next)
				next = d->agent_next_ms;
		}
		if (goal < 0 || (int64_t)d->tot_pages == goal || d->gave_up || d->paused ||
		    d->shutdown)
			continue;
		if (d->balloon.behavior == SIM_BALLOON_STUCK_AFTER &&
		    d->moved_kib >= d->balloon.after_kib)
			continue;
		if (d->retry_at_ms) {
			t = d->retry_at_ms;
		} else {
			uint64_t left = (uint64_t)llabs((int64_t)d->tot_pages - goal);
			uint64_t pages = left < BATCH_PAGES ? left : BATCH_PAGES;

			t = now_ms + 1 + pages * SIM_PAGE_KIB * 1000 / d->balloon.rate_kib_s;
			if (d->balloon.behavior == SIM_BALLOON_INTERMITTENT && d->balloon.period_ms &&
			    (now_ms / d->balloon.period_ms) % 2 == 1)
				t = (now_ms / d->balloon.period_ms + 1) * d->balloon.period_ms;
		}
		next = t < next ? t : next;
	}
	return next;
}

/* ---- hypercalls ---- */

void simhost_physinfo(const struct simhost *h, struct sim_physinfo *ret)
{
	ret->total_kib = h->ram_frames * SIM_PAGE_KIB;
	ret->free_kib = (h->nclean + h->ndirty) * SIM_PAGE_KIB;
	ret->scrub_kib = h->ndirty * SIM_PAGE_KIB;
	ret->outstanding_kib = 0;
}

size_t simhost_getinfolist(const struct simhost *h, uint32_t first, struct sim_dominfo *ret,
			   size_t max)
{
	size_t i, n = 0;

	for (i = 0; i < h->ndoms && n < max; i++) {
		const struct sim_dom *d = h->doms[i];

		if (d->domid < first)
			continue;
		ret[n].domid = d->domid;
		ret[n].type = d->type;
		ret[n].dying = false;
		ret[n].shutdown = d->shutdown;
		ret[n].paused = d->paused;
		ret[n].tot_kib = d->tot_pages * SIM_PAGE_KIB;
		ret[n].max_kib = d->max_pages * SIM_PAGE_KIB;
		n++;
	}
	return n;
}

int simhost_setmaxmem(struct simhost *h, uint32_t domid, uint64_t max_kib)
{
	struct sim_dom *d = dom_find(h, domid);

	if (!d)
		return -ENOENT;
	if (max_kib > (UINT64_C(1) << 40))
		return -EINVAL;
	d->max_pages = max_kib / SIM_PAGE_KIB;
	return 0;
}

int simhost_set_flags(struct simhost *h, uint32_t domid, bool shutdown, bool paused)
{
	struct sim_dom *d = dom_find(h, domid);

	if (!d)
		return -ENOENT;
	d->shutdown = shutdown;
	d->paused = paused;
	return 0;
}

/* ---- invariants and faults ---- */

int simhost_check(const struct simhost *h, char *err, size_t errlen)
{
	uint64_t f, nfree = 0, owned = 0, xen = 0, io = 0;
	size_t i;

	for (f = 0; f < h->nframes; f++) {
		uint32_t o = h->owner[f];

		if (o == SIM_DOMID_INVALID)
			nfree++;
		else if (o == SIM_DOMID_XEN)
			xen++;
		else if (o == SIM_DOMID_IO)
			io++;
		else
			owned++;
	}
	if (nfree != h->nclean + h->ndirty) {
		snprintf(err, errlen, "free frames %" PRIu64 " but free lists hold %" PRIu64, nfree,
			 h->nclean + h->ndirty);
		return -EUCLEAN;
	}
	if (nfree + owned + xen != h->ram_frames) {
		snprintf(err, errlen, "frames not conserved: free %" PRIu64 " + owned %" PRIu64
			 " + xen %" PRIu64 " != %" PRIu64, nfree, owned, xen, h->ram_frames);
		return -EUCLEAN;
	}
	for (i = 0; i < h->ndoms; i++) {
		const struct sim_dom *d = h->doms[i];
		uint64_t valid = 0, pfn;

		for (pfn = 0; pfn < d->npfns; pfn++) {
			uint64_t mfn = d->p2m[pfn];

			if (mfn == INVALID_ENTRY)
				continue;
			valid++;
			if (h->fault_injected)
				continue;
			if (mfn >= h->nframes || h->owner[mfn] != d->domid || h->m2p[mfn] != pfn) {
				snprintf(err, errlen, "domain %u pfn %" PRIu64 " -> mfn %" PRIu64
					 " disagrees with the M2P or the owner", d->domid, pfn, mfn);
				return -EUCLEAN;
			}
		}
		if (!h->fault_injected && valid != d->tot_pages) {
			snprintf(err, errlen, "domain %u: %" PRIu64 " P2M entries, tot_pages %" PRIu64,
				 d->domid, valid, d->tot_pages);
			return -EUCLEAN;
		}
	}
	if (!h->fault_injected)
		for (f = 0; f < h->nframes; f++)
			if (h->owner[f] < SIM_DOMID_IO && h->m2p[f] == INVALID_ENTRY) {
				snprintf(err, errlen, "frame %" PRIu64 " owned by %u has no M2P entry", f,
					 h->owner[f]);
				return -EUCLEAN;
			}
	return 0;
}

/* A populated pfn of d that the driver will no longer touch. */
static bool fault_pick(struct sim_dom *d, uint64_t *ret_pfn)
{
	if (d->npop < 2)
		return false;
	*ret_pfn = d->pop[--d->npop];
	return true;
}

int simhost_inject_fault(struct simhost *h, uint32_t domid, const char *cls, char *err,
			 size_t errlen)
{
	struct sim_dom *d = dom_find(h, domid), *other = NULL;
	uint64_t pfn, pfn2, f;
	size_t i;

	if (!d) {
		snprintf(err, errlen, "no domain %u", domid);
		return -ENOENT;
	}
	if (!fault_pick(d, &pfn)) {
		snprintf(err, errlen, "domain %u has too few pages", domid);
		return -EINVAL;
	}
	if (strcmp(cls, "M2P_MISMATCH") == 0) {
		h->m2p[d->p2m[pfn]] = pfn + 1 < d->npfns ? pfn + 1 : pfn - 1;
	} else if (strcmp(cls, "M2P_INVALID_FOR_MAPPED") == 0) {
		h->m2p[d->p2m[pfn]] = INVALID_ENTRY;
	} else if (strcmp(cls, "P2M_ALIAS") == 0) {
		if (!fault_pick(d, &pfn2))
			return -EINVAL;
		d->p2m[pfn2] = d->p2m[pfn];
	} else if (strcmp(cls, "P2M_MFN_OUT_OF_RANGE") == 0) {
		d->p2m[pfn] = h->nframes + 1000;
	} else if (strcmp(cls, "P2M_UNOWNED_MFN") == 0) {
		if (!h->nclean) {
			snprintf(err, errlen, "no free frame to point at");
			return -EINVAL;
		}
		d->p2m[pfn] = h->clean[0];
	} else if (strcmp(cls, "MFN_CROSS_CLAIM") == 0) {
		for (i = 0; i < h->ndoms; i++)
			if (h->doms[i] != d && h->doms[i]->npop)
				other = h->doms[i];
		if (!other) {
			snprintf(err, errlen, "no other domain to cross-claim from");
			return -EINVAL;
		}
		d->p2m[pfn] = other->p2m[other->pop[0]];
	} else {
		snprintf(err, errlen, "unknown fault class \"%s\"", cls);
		return -EINVAL;
	}
	(void)f;
	h->fault_injected = true;
	return 0;
}

const uint64_t *simhost_m2p(const struct simhost *h, uint64_t *ret_nframes)
{
	*ret_nframes = h->nframes;
	return h->m2p;
}

const uint64_t *simhost_p2m(const struct simhost *h, uint32_t domid, uint64_t *ret_npfns)
{
	const struct sim_dom *d = dom_find(h, domid);

	if (!d)
		return NULL;
	*ret_npfns = d->npfns;
	return d->p2m;
}

uint32_t simhost_frame_owner(const struct simhost *h, uint64_t mfn)
{
	return mfn < h->nframes ? h->owner[mfn] : SIM_DOMID_INVALID;
}
