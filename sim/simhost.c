/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The simulated hypervisor.
 *
 * Frames: one owner per 4 KiB frame (uint32), Xen's M2P (uint64 per frame,
 * ~0 = invalid), and the free frames in two hierarchical bitmaps, clean and
 * dirty (freed, not yet scrubbed). Allocation takes the lowest clean frame
 * (then the lowest dirty one, which Xen scrubs on the spot), so a fresh
 * host hands out contiguous runs and a host that has seen ballooning hands
 * out whatever was freed: P2Ms fragment as they do on a real host. The
 * scrubber cleans 4 GiB/s of dirty frames in the background.
 *
 * Layout: Xen keeps the lowest xen_reserved_kib of RAM; a host with more
 * than 3 GiB has an MMIO hole at 3-4 GiB (frames owned by DOMID_IO, not
 * RAM, never free) and the rest of its RAM above 4 GiB, as the E820 says.
 *
 * Domains: a P2M (uint64 per pfn up to static-max) and a permutation of
 * their pfns split into regions [withdrawn | populated | in flight |
 * ballooned]. The balloon driver moves batches of up to 512 pages; each
 * batch has two halves at two times, in Linux/Xen order. Decrease: the guest
 * clears the P2M entries (batch start), Xen frees the frames (batch end).
 * Increase: Xen allocates the frames and sets the M2P (batch start), the
 * guest sets its P2M (batch end). A batch of n pages takes n*4 KiB/rate.
 *
 * Time: every guest's next event (batch boundary, retry, demand step) sits
 * in a min-heap; simhost_advance processes events in time order across all
 * guests, so one call to 10 s and a thousand calls of 10 ms give the same
 * host. The work done is proportional to the events, never to the time
 * elapsed or the size of the host. */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "simhost.h"

#define INVALID_ENTRY SIM_P2M_INVALID
#define NEVER UINT64_MAX
#define BATCH_PAGES 512u		/* Linux: one page of frame numbers */
#define SCRUB_FRAMES_PER_S (1ull << 20) /* 4 GiB/s */
#define MAX_RETRIES 4u			/* Linux gives up after 4 failed retries */
#define MAX_BACKOFF_S 32u		/* Linux's max_schedule_delay */
#define AGENT_PERIOD_MS 1000u /* a guest agent reports at most once a second while moving */
#define DEFAULT_RATE_KIB_S (256ull << 10)
#define SLOW_RATE_KIB_S (16ull << 10)
#define HOLE_START_FRAME ((3ull << 30) >> 12)
#define HOLE_END_FRAME ((4ull << 30) >> 12)
#define MAX_HOST_KIB (16ull << 30) /* 16 TiB: frame numbers fit 32 bits */
#define MAX_DOMID 0x7fefu
#define FULL_CHECK_FRAMES (1ull << 20) /* hosts up to 4 GiB are always checked in full */
#define FSET_LEVELS_MAX 8

/* ---- large arrays ---- */

#define BIG_ALLOC_MIN (2u << 20)

/* An array of size bytes. Large ones are mapped pre-populated: first-touch
 * page faults dominate building a big host on some virtual machines. */
static void *big_alloc(size_t size)
{
	void *p;

	if (size < BIG_ALLOC_MIN)
		return malloc(size ? size : 1);
	p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1,
		 0);
	return p == MAP_FAILED ? NULL : p;
}

static void big_free(void *p, size_t size)
{
	if (!p)
		return;
	if (size < BIG_ALLOC_MIN)
		free(p);
	else
		munmap(p, size);
}

/* ---- hierarchical bitmaps of frames ---- */

/* Level 0 has one bit per frame; a bit of level k+1 is set iff word of
 * level k it stands for is non-zero. The top level is one word. */
struct fset {
	uint64_t *lv[FSET_LEVELS_MAX];
	uint64_t nw[FSET_LEVELS_MAX];
	unsigned nlv;
	uint64_t nbits;
	uint64_t count;
};

static int fset_init(struct fset *s, uint64_t nbits)
{
	uint64_t n = nbits;

	memset(s, 0, sizeof(*s));
	s->nbits = nbits;
	do {
		uint64_t words = (n + 63) / 64;

		if (!words)
			words = 1;
		if (s->nlv == FSET_LEVELS_MAX)
			return -ENOMEM;
		s->lv[s->nlv] = calloc(words, sizeof(uint64_t));
		if (!s->lv[s->nlv])
			return -ENOMEM;
		s->nw[s->nlv++] = words;
		n = words;
	} while (n > 1);
	return 0;
}

static void fset_free(struct fset *s)
{
	unsigned k;

	for (k = 0; k < FSET_LEVELS_MAX; k++)
		free(s->lv[k]);
}

static bool fset_test(const struct fset *s, uint64_t i)
{
	return (s->lv[0][i / 64] >> (i % 64)) & 1;
}

static void fset_set(struct fset *s, uint64_t i)
{
	unsigned k;

	if (fset_test(s, i))
		return;
	s->count++;
	for (k = 0; k < s->nlv; k++) {
		uint64_t w = i / 64;
		bool was_zero = s->lv[k][w] == 0;

		s->lv[k][w] |= 1ull << (i % 64);
		if (!was_zero)
			return;
		i = w;
	}
}

/* Set bits [a, b), a word at a time (some may be set already). */
static void fset_set_range(struct fset *s, uint64_t a, uint64_t b)
{
	unsigned k;

	if (a >= b)
		return;
	for (k = 0; k < s->nlv && a < b; k++) {
		uint64_t wa = a / 64, wb = (b - 1) / 64, w;

		for (w = wa; w <= wb; w++) {
			uint64_t lo = w == wa ? a % 64 : 0, hi = w == wb ? (b - 1) % 64 : 63;
			uint64_t mask = (hi - lo == 63 ? ~0ull : ((1ull << (hi - lo + 1)) - 1))
					<< lo;

			if (k == 0)
				s->count += (uint64_t)__builtin_popcountll(mask & ~s->lv[0][w]);
			s->lv[k][w] |= mask;
		}
		a = wa;
		b = wb + 1;
	}
}

/* Clear bit i of level k and propagate upwards when a word empties. */
static void fset_clear_from(struct fset *s, unsigned k, uint64_t i)
{
	for (; k < s->nlv; k++) {
		uint64_t w = i / 64;

		s->lv[k][w] &= ~(1ull << (i % 64));
		if (s->lv[k][w])
			return;
		i = w;
	}
}

static bool fset_first(const struct fset *s, uint64_t *ret)
{
	uint64_t i = 0;
	unsigned k;

	if (!s->count)
		return false;
	for (k = s->nlv; k-- > 0;)
		i = i * 64 + (uint64_t)__builtin_ctzll(s->lv[k][i]);
	*ret = i;
	return true;
}

/* The lowest set bit at or above i; false when there is none. */
static bool fset_next(const struct fset *s, uint64_t i, uint64_t *ret)
{
	unsigned k;

	if (i >= s->nbits)
		return false;
	for (k = 0; k < s->nlv; k++) {
		uint64_t w = i / 64, word = s->lv[k][w] & (~0ull << (i % 64));

		if (word) {
			i = w * 64 + (uint64_t)__builtin_ctzll(word);
			while (k-- > 0)
				i = i * 64 + (uint64_t)__builtin_ctzll(s->lv[k][i]);
			*ret = i;
			return true;
		}
		i = w + 1; /* the next word of level k: a bit of level k + 1 */
		if (i >= s->nw[k])
			return false;
	}
	return false;
}

/* Take (clear) the run of consecutive set bits that starts at the lowest
 * set bit, at most max of them. Returns how many; *start is the first. */
static uint64_t fset_take_run(struct fset *s, uint64_t max, uint64_t *start)
{
	uint64_t pos, n = 0;

	if (!max || !fset_first(s, start))
		return 0;
	pos = *start;
	while (n < max && pos < s->nbits) {
		uint64_t w = pos / 64, off = pos % 64, word = s->lv[0][w] >> off, ones, take, mask;

		ones = ~word ? (uint64_t)__builtin_ctzll(~word) : 64;
		if (ones > 64 - off)
			ones = 64 - off;
		take = ones < max - n ? ones : max - n;
		if (!take)
			break;
		mask = (take == 64 ? ~0ull : (1ull << take) - 1) << off;
		s->lv[0][w] &= ~mask;
		s->count -= take;
		if (!s->lv[0][w] && s->nlv > 1)
			fset_clear_from(s, 1, w);
		n += take;
		pos += take;
		if (off + take < 64)
			break;
	}
	return n;
}

/* Clear word w of level k and every word below it that a bit of it
 * stands for. */
static void fset_clear_word(struct fset *s, unsigned k, uint64_t w)
{
	uint64_t word = s->lv[k][w];

	s->lv[k][w] = 0;
	while (k > 0 && word) {
		fset_clear_word(s, k - 1, w * 64 + (uint64_t)__builtin_ctzll(word));
		word &= word - 1;
	}
}

/* Clear every bit: the work is in the words that have bits, not the size. */
static void fset_clear_all(struct fset *s)
{
	if (!s->count && !s->lv[s->nlv - 1][0])
		return;
	fset_clear_word(s, s->nlv - 1, 0);
	s->count = 0;
}

/* ---- domains ---- */

enum drv_state {
	DRV_IDLE,    /* at its goal, or nothing to do */
	DRV_START,   /* a batch starts at drv_next (target changed) */
	DRV_BATCH,   /* a batch is in flight; it ends at drv_next */
	DRV_WAIT,    /* a batch failed; retry at drv_next */
	DRV_GAVE_UP, /* 4 retries failed; waits for a new target value */
	DRV_STOPPED, /* stuck_after: used up its budget */
};

struct dfault {
	uint64_t mfn;
	bool quarantined; /* a freed frame a fault still maps (P2M_UNOWNED_MFN) */
};

struct dom {
	uint32_t domid;
	char name[SIM_NAME_MAX];
	enum sim_dom_type type;
	unsigned width;
	bool shutdown, paused;
	uint64_t created_ms;
	uint64_t static_max_kib;
	uint64_t max_pages, tot_pages;
	uint64_t over_max; /* tot_pages when max_pages was set below it; shrinks with tot */
	uint64_t npfns;	   /* P2M entries */
	uint64_t nperm;	   /* RAM pfns (static-max); the rest of the P2M is identity */
	uint64_t *p2m;
	uint32_t *perm; /* pfns: [0,w) withdrawn, [w,p) populated, [p,p+f) in flight, rest ballooned
			 */
	uint64_t w, p, f;
	uint64_t wd_owned; /* frames owned but not in the driver's regions (faults) */
	struct sim_balloon b;
	/* balloon driver */
	enum drv_state st;
	bool has_target;
	uint64_t target_kib;
	int dir;	    /* of the batch in flight: +1 populate, -1 release */
	uint64_t epoch_mv;  /* moving-time at which this run started */
	uint64_t run_pages; /* pages moved in this run, batch in flight included */
	uint64_t drv_next;
	unsigned retries;
	uint64_t moved_pages;
	uint64_t rng;
	uint64_t batch_mfn[BATCH_PAGES]; /* frame of perm[p + k] while in flight */
	/* guest agent */
	struct sim_demand_point *demand;
	size_t n_demand, next_demand;
	uint64_t agent_last_ms;
	enum sim_agent agent;
	uint64_t agent_stops_ms;
	uint64_t driver_ready_ms; /* absolute; the driver is up from then (driver_up) */
	bool driver_up;
	bool total_written, free_written, used_written;
	uint64_t total_value, free_value, used_value; /* what the agent last wrote */
	/* faults */
	struct dfault *faults;
	size_t nfaults, capfaults;
	bool p2m_unreadable; /* P2M_STRUCTURE_ERROR: hidden from the auditor's views */
	struct fset *marks;  /* pfns touched since the last check */
	/* scheduling */
	uint64_t next_ms;
	size_t hpos;
};

/* Frames touched since the last check, one bit each (logically part of
 * the check's own state, so it may be reset through a const host); each
 * domain keeps its touched pfns the same way (struct dom's marks). */
struct journal {
	struct fset frames;
	bool checked_once;
};

struct simhost {
	uint64_t nframes; /* max_page: RAM, the hole, up to the last RAM frame */
	uint64_t ram_frames;
	uint64_t xen_frames, io_frames;
	uint32_t *owner;
	uint64_t *m2p;
	struct fset clean, dirty;
	uint64_t *quar; /* free frames a fault maps: not allocatable */
	size_t nquar, capquar;
	uint64_t scrub_epoch_ms, scrub_done;
	struct sim_e820_range e820[3];
	size_t ne820;
	struct dom **doms; /* ascending domid */
	size_t ndoms, capdoms;
	struct dom **heap; /* by (next_ms, domid) */
	size_t nheap;
	uint32_t next_domid;
	uint64_t now_ms;
	uint64_t t;	   /* time of the event being processed */
	uint64_t gen_seen; /* simxs generation when targets were last read */
	bool faulted;
	char internal[160]; /* a bug of the model itself, reported by simhost_check */
	struct journal *jr;
	struct simxs *xs;
	/* Claims (XENMEM_claim_pages) of domains about to be built, by name;
	 * claimed pages are free but only their claimant may take them. */
	struct {
		char name[SIM_NAME_MAX];
		uint64_t pages;
	} claims[SIM_CLAIMS_MAX];
	size_t nclaims;
	uint64_t claimed_pages;
};

static const char *const behavior_names[] = {
	[SIM_BALLOON_NORMAL] = "normal", [SIM_BALLOON_SLOW] = "slow",
	[SIM_BALLOON_STUCK] = "stuck",	 [SIM_BALLOON_STUCK_AFTER] = "stuck_after",
	[SIM_BALLOON_FLOOR] = "floor",	 [SIM_BALLOON_INTERMITTENT] = "intermittent",
	[SIM_BALLOON_GREEDY] = "greedy", [SIM_BALLOON_NONE] = "none",
	[SIM_BALLOON_LIAR] = "liar",
};

#define N_BEHAVIORS (sizeof(behavior_names) / sizeof(*behavior_names))

const char *sim_behavior_name(enum sim_behavior b)
{
	return (unsigned)b < N_BEHAVIORS ? behavior_names[b] : "unknown";
}

int sim_behavior_parse(const char *s, enum sim_behavior *ret)
{
	size_t i;

	for (i = 0; s && i < N_BEHAVIORS; i++)
		if (strcmp(s, behavior_names[i]) == 0) {
			*ret = (enum sim_behavior)i;
			return 0;
		}
	return -EINVAL;
}

const char *sim_dom_type_name(enum sim_dom_type t)
{
	switch (t) {
	case SIM_PV: return "pv";
	case SIM_PVH: return "pvh";
	case SIM_HVM: return "hvm";
	}
	return "unknown";
}

int sim_dom_type_parse(const char *s, enum sim_dom_type *ret)
{
	if (!s)
		return -EINVAL;
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

static const char *const fault_names[] = {
	"M2P_MISMATCH",		 "M2P_INVALID_FOR_MAPPED", "P2M_ALIAS",	       "P2M_UNOWNED_MFN",
	"P2M_MFN_OUT_OF_RANGE",	 "MFN_CROSS_CLAIM",	   "M2P_SHARED_IN_PV", "M2P_OUT_OF_RANGE",
	"P2M_IDENTITY_MISMATCH", "P2M_STRUCTURE_ERROR",	   "PAGE_COUNT_DELTA",
};

enum fault_kind {
	F_M2P_MISMATCH,
	F_M2P_INVALID,
	F_ALIAS,
	F_UNOWNED,
	F_OUT_OF_RANGE,
	F_CROSS,
	F_M2P_SHARED,
	F_M2P_RANGE,
	F_IDENTITY,
	F_STRUCTURE,
	F_COUNT_DELTA,
};

bool sim_fault_class_valid(const char *s)
{
	size_t i;

	for (i = 0; s && i < sizeof(fault_names) / sizeof(*fault_names); i++)
		if (strcmp(s, fault_names[i]) == 0)
			return true;
	return false;
}

struct simxs *simhost_xs(struct simhost *h)
{
	return h->xs;
}

uint64_t simhost_now_ms(const struct simhost *h)
{
	return h->now_ms;
}

static struct dom *dom_find(const struct simhost *h, uint32_t domid)
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

static bool halted(const struct dom *d)
{
	return d->paused || d->shutdown;
}

static uint64_t rng_next(struct dom *d)
{
	uint64_t x = d->rng;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	d->rng = x;
	return x * 0x2545f4914f6cdd1dull;
}

/* ---- the journal ---- */

/* Note that frame mfn and pfn of domain d changed: the next check looks
 * at them (a mark is a bit: memory stays bounded however long no check
 * runs). Until the first check, which looks at everything, nothing needs
 * marking (a host no one checks, as the daemon's, never pays for it). */
static void jlog(struct simhost *h, struct dom *d, uint64_t pfn, uint64_t mfn)
{
	if (!h->jr->checked_once)
		return;
	if (mfn < h->nframes)
		fset_set(&h->jr->frames, mfn);
	if (pfn < d->npfns)
		fset_set(d->marks, pfn);
}

/* ---- the event heap ---- */

static bool heap_less(const struct dom *a, const struct dom *b)
{
	return a->next_ms < b->next_ms || (a->next_ms == b->next_ms && a->domid < b->domid);
}

static void heap_swap(struct simhost *h, size_t i, size_t j)
{
	struct dom *t = h->heap[i];

	h->heap[i] = h->heap[j];
	h->heap[j] = t;
	h->heap[i]->hpos = i;
	h->heap[j]->hpos = j;
}

static void heap_up(struct simhost *h, size_t i)
{
	while (i > 0 && heap_less(h->heap[i], h->heap[(i - 1) / 2])) {
		heap_swap(h, i, (i - 1) / 2);
		i = (i - 1) / 2;
	}
}

static void heap_down(struct simhost *h, size_t i)
{
	for (;;) {
		size_t l = 2 * i + 1, r = l + 1, m = i;

		if (l < h->nheap && heap_less(h->heap[l], h->heap[m]))
			m = l;
		if (r < h->nheap && heap_less(h->heap[r], h->heap[m]))
			m = r;
		if (m == i)
			return;
		heap_swap(h, i, m);
		i = m;
	}
}

/* The domain's next event time: its driver or its next demand step. */
static uint64_t dom_next_time(const struct dom *d)
{
	uint64_t t = d->drv_next;

	if (halted(d))
		return NEVER;
	if (!d->driver_up && d->b.behavior != SIM_BALLOON_NONE && d->driver_ready_ms < t)
		t = d->driver_ready_ms;
	if (d->next_demand < d->n_demand && d->demand[d->next_demand].at_ms < t)
		t = d->demand[d->next_demand].at_ms;
	return t;
}

static void dom_resched(struct simhost *h, struct dom *d)
{
	d->next_ms = dom_next_time(d);
	heap_up(h, d->hpos);
	heap_down(h, d->hpos);
}

static void heap_remove(struct simhost *h, struct dom *d)
{
	size_t pos = d->hpos, last = h->nheap - 1;

	if (pos != last) {
		struct dom *m = h->heap[last];

		heap_swap(h, pos, last);
		h->nheap--;
		heap_up(h, pos);
		heap_down(h, m->hpos);
	} else {
		h->nheap--;
	}
}

/* ---- frames ---- */

/* Free frames: clean, dirty and the quarantined ones. */
static uint64_t frames_free(const struct simhost *h)
{
	return h->clean.count + h->dirty.count + h->nquar;
}

/* Free frames a domain without a claim may take: what claims leave. */
static uint64_t frames_unclaimed(const struct simhost *h)
{
	uint64_t n = h->clean.count + h->dirty.count;

	return n > h->claimed_pages ? n - h->claimed_pages : 0;
}

/* Up to max consecutive free frames, clean ones first. */
static uint64_t frame_alloc_run(struct simhost *h, uint64_t max, uint64_t *start)
{
	uint64_t n = fset_take_run(&h->clean, max, start);

	if (!n)
		n = fset_take_run(&h->dirty, max, start);
	return n;
}

/* Xen takes a frame back: no owner, no M2P entry, waiting to be scrubbed. */
static void frame_release(struct simhost *h, uint64_t mfn)
{
	h->owner[mfn] = SIM_DOMID_INVALID;
	h->m2p[mfn] = INVALID_ENTRY;
	if (!h->dirty.count) {
		h->scrub_epoch_ms = h->t;
		h->scrub_done = 0;
	}
	fset_set(&h->dirty, mfn);
}

/* The scrubber: SCRUB_FRAMES_PER_S since the first dirty frame appeared,
 * lowest dirty frames first. */
static void scrub_advance(struct simhost *h, uint64_t t)
{
	uint64_t total, k;

	if (!h->dirty.count || t <= h->scrub_epoch_ms)
		return;
	total = (t - h->scrub_epoch_ms) * SCRUB_FRAMES_PER_S / 1000;
	if (total <= h->scrub_done)
		return;
	k = total - h->scrub_done;
	if (k > h->dirty.count)
		k = h->dirty.count;
	h->scrub_done += k;
	while (k) {
		uint64_t start, n = fset_take_run(&h->dirty, k, &start);

		fset_set_range(&h->clean, start, start + n);
		k -= n;
	}
}

static uint64_t scrub_done_at(const struct simhost *h)
{
	uint64_t need;

	if (!h->dirty.count)
		return NEVER;
	need = h->scrub_done + h->dirty.count;
	return h->scrub_epoch_ms + (need * 1000 + SCRUB_FRAMES_PER_S - 1) / SCRUB_FRAMES_PER_S;
}

static void tot_dec(struct dom *d)
{
	d->tot_pages--;
	if (d->over_max > d->tot_pages)
		d->over_max = d->tot_pages;
}

/* ---- XenStore helpers ---- */

static void xs_dom_write(struct simhost *h, uint32_t caller, uint32_t domid, const char *key,
			 const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static void xs_dom_write(struct simhost *h, uint32_t caller, uint32_t domid, const char *key,
			 const char *fmt, ...)
{
	char path[96], val[128];
	va_list ap;

	snprintf(path, sizeof(path), "/local/domain/%u/%s", domid, key);
	va_start(ap, fmt);
	vsnprintf(val, sizeof(val), fmt, ap);
	va_end(ap);
	simxs_write(h->xs, caller, path, val);
}

/* Digits only, as the driver's xenbus_scanf("%llu") would accept them and
 * nothing else: false for anything else. */
static bool parse_kib(const char *s, uint64_t *ret)
{
	uint64_t v = 0;

	if (!*s)
		return false;
	for (; *s; s++) {
		if (*s < '0' || *s > '9' || v > (UINT64_MAX - 9) / 10)
			return false;
		v = v * 10 + (uint64_t)(*s - '0');
	}
	*ret = v;
	return true;
}

/* What the guest's driver would read as its target now; false if absent. */
static bool target_read(const struct simhost *h, const struct dom *d, uint64_t *ret)
{
	char path[64], val[32];

	snprintf(path, sizeof(path), "/local/domain/%u/memory/target", d->domid);
	if (simxs_read(h->xs, d->domid, path, val, sizeof(val)) < 0)
		return false;
	return parse_kib(val, ret);
}

static bool reads_target(const struct dom *d)
{
	return d->b.behavior != SIM_BALLOON_NONE && d->driver_up;
}

/* ---- the guest agent ---- */

/* Report data/meminfo_total and data/meminfo_free as the guest, writing
 * only the values that changed. A liar reports a tenth of its use at its
 * even demand steps and an absurd total (64 times the truth, nothing free)
 * at its odd ones. */
static void agent_report(struct simhost *h, struct dom *d, uint64_t t)
{
	uint64_t used, total, freek;
	size_t idx;

	d->agent_last_ms = t;
	/* the agent comes with the guest's PV drivers */
	if (!d->n_demand || !d->next_demand || halted(d) ||
	    (!d->driver_up && d->b.behavior != SIM_BALLOON_NONE))
		return;
	if (d->agent_stops_ms && t >= d->agent_stops_ms)
		return;
	idx = d->next_demand - 1;
	used = d->demand[idx].used_kib;
	total = d->tot_pages * SIM_PAGE_KIB;
	if (d->b.behavior == SIM_BALLOON_LIAR) {
		if (idx % 2 == 0) {
			used /= 10;
		} else {
			total *= 64;
			used = total;
		}
	}
	freek = total > used ? total - used : 0;
	if (d->agent == SIM_AGENT_QUBES) {
		if (!d->used_written || d->used_value != used) {
			xs_dom_write(h, d->domid, d->domid, "memory/meminfo", "%" PRIu64, used);
			d->used_written = true;
			d->used_value = used;
		}
		return;
	}
	if (!d->total_written || d->total_value != total) {
		xs_dom_write(h, d->domid, d->domid, "data/meminfo_total", "%" PRIu64, total);
		d->total_written = true;
		d->total_value = total;
	}
	if (!d->free_written || d->free_value != freek) {
		xs_dom_write(h, d->domid, d->domid, "data/meminfo_free", "%" PRIu64, freek);
		d->free_written = true;
		d->free_value = freek;
	}
}

/* ---- the balloon driver ---- */

/* Moving time: wall time, except that an intermittent driver only moves in
 * the first half of each 2*period cycle counted from its creation. */
static uint64_t mv_time(const struct dom *d, uint64_t t)
{
	uint64_t p = d->b.period_ms, u, r;

	if (d->b.behavior != SIM_BALLOON_INTERMITTENT || !p)
		return t;
	u = t > d->created_ms ? t - d->created_ms : 0;
	r = u % (2 * p);
	return u / (2 * p) * p + (r < p ? r : p);
}

/* The earliest time at which moving time reaches y. */
static uint64_t mv_inverse(const struct dom *d, uint64_t y)
{
	uint64_t p = d->b.period_ms, k;

	if (d->b.behavior != SIM_BALLOON_INTERMITTENT || !p)
		return y;
	if (!y)
		return d->created_ms;
	k = (y - 1) / p;
	return d->created_ms + k * 2 * p + (y - k * p);
}

/* When the batch that brings this run to run_pages ends. */
static uint64_t batch_end_time(const struct dom *d)
{
	uint64_t ms = (d->run_pages * SIM_PAGE_KIB * 1000 + d->b.rate_kib_s - 1) / d->b.rate_kib_s;

	return mv_inverse(d, d->epoch_mv + ms);
}

/* The number of pages the driver aims for; false when it does not move. */
static bool driver_goal(const struct dom *d, uint64_t *ret)
{
	int64_t g;

	switch (d->b.behavior) {
	case SIM_BALLOON_NONE:
	case SIM_BALLOON_STUCK: return false;
	case SIM_BALLOON_GREEDY:
		*ret = d->nperm > d->tot_pages ? d->nperm : d->tot_pages;
		return true;
	default: break;
	}
	if (!d->has_target)
		return false;
	if (d->target_kib > (UINT64_C(1) << 50))
		g = INT64_C(1) << 38;
	else
		g = ((int64_t)d->target_kib + (d->type == SIM_HVM ? SIM_VIDEORAM_KIB : 0) +
		     d->b.offset_kib) / SIM_PAGE_KIB;
	if (g < 0)
		g = 0;
	if ((uint64_t)g > d->nperm)
		g = (int64_t)d->nperm;
	*ret = (uint64_t)g;
	return true;
}

static void driver_rest(struct simhost *h, struct dom *d, uint64_t t, enum drv_state st)
{
	d->st = st;
	d->drv_next = NEVER;
	agent_report(h, d, t);
}

/* A batch moved nothing: back off 1, 2, 4, 8 s and give up after 4 failed
 * retries (Linux); a greedy guest never gives up and backs off to 32 s. */
static void driver_fail(struct simhost *h, struct dom *d, uint64_t t)
{
	uint64_t delay_s;

	d->retries++;
	if (d->b.behavior != SIM_BALLOON_GREEDY && d->retries > MAX_RETRIES) {
		driver_rest(h, d, t, DRV_GAVE_UP);
		return;
	}
	delay_s = d->retries > 6 ? MAX_BACKOFF_S : 1ull << (d->retries - 1);
	if (delay_s > MAX_BACKOFF_S)
		delay_s = MAX_BACKOFF_S;
	d->st = DRV_WAIT;
	d->drv_next = t + delay_s * 1000;
	agent_report(h, d, t);
}

/* The second half of the batch in flight. */
static void batch_finish(struct simhost *h, struct dom *d)
{
	uint64_t k;

	for (k = 0; k < d->f; k++) {
		uint64_t pfn = d->perm[d->p + k], mfn = d->batch_mfn[k];

		if (d->dir < 0) {
			frame_release(
				h, mfn); /* Xen frees the frame after the guest cleared its P2M */
			tot_dec(d);
		} else {
			d->p2m[pfn] = mfn; /* the guest maps what Xen populated */
		}
		jlog(h, d, pfn, mfn);
	}
	if (d->dir > 0)
		d->p += d->f;
	d->moved_pages += d->f;
	d->f = 0;
	d->dir = 0;
}

/* Release up to n pages: the guest picks populated pfns (in no particular
 * order, as alloc_page would) and clears their P2M entries. */
static void batch_release(struct simhost *h, struct dom *d, uint64_t n)
{
	uint64_t j, k;

	for (j = 0; j < n; j++) {
		uint64_t span = d->p - d->w, i = d->w + rng_next(d) % span, tmp = d->perm[i];

		d->perm[i] = d->perm[d->p - 1];
		d->perm[d->p - 1] = (uint32_t)tmp;
		d->p--;
	}
	d->f = n;
	for (k = 0; k < n; k++) {
		uint64_t pfn = d->perm[d->p + k];

		d->batch_mfn[k] = d->p2m[pfn];
		d->p2m[pfn] = INVALID_ENTRY;
		jlog(h, d, pfn, d->batch_mfn[k]);
	}
	d->dir = -1;
}

/* Populate up to n pages: Xen allocates frames (refusing beyond max_pages
 * or when none is free) and sets the M2P. Returns how many it got. */
static uint64_t batch_populate(struct simhost *h, struct dom *d, uint64_t n)
{
	uint64_t got = 0;

	while (got < n && d->tot_pages < d->max_pages) {
		uint64_t want = n - got, start, cnt, i;

		if (want > d->max_pages - d->tot_pages)
			want = d->max_pages - d->tot_pages;
		if (want > frames_unclaimed(h))
			want = frames_unclaimed(h); /* Xen keeps claimed pages for their claimant */
		if (!want)
			break;
		cnt = frame_alloc_run(h, want, &start);
		if (!cnt)
			break;
		for (i = 0; i < cnt; i++, got++) {
			uint64_t pfn = d->perm[d->p + got], mfn = start + i;

			h->owner[mfn] = d->domid;
			h->m2p[mfn] = pfn;
			d->batch_mfn[got] = mfn;
			d->tot_pages++;
			jlog(h, d, pfn, mfn);
		}
	}
	d->f = got;
	d->dir = got ? 1 : 0;
	return got;
}

/* The first half of the next batch, at time t. */
static void batch_start(struct simhost *h, struct dom *d, uint64_t t)
{
	uint64_t goal, n, budget = UINT64_MAX;

	if (!driver_goal(d, &goal) || goal == d->tot_pages) {
		d->retries = 0;
		driver_rest(h, d, t, DRV_IDLE);
		return;
	}
	if (d->b.behavior == SIM_BALLOON_STUCK_AFTER) {
		uint64_t after = d->b.after_kib / SIM_PAGE_KIB;

		budget = after > d->moved_pages ? after - d->moved_pages : 0;
		if (!budget) {
			driver_rest(h, d, t, DRV_STOPPED);
			return;
		}
	}
	if (goal < d->tot_pages) {
		n = d->tot_pages - goal;
		if (n > d->p - d->w)
			n = d->p - d->w;
		if (d->b.behavior == SIM_BALLOON_FLOOR) {
			uint64_t fl = d->b.floor_kib / SIM_PAGE_KIB;
			uint64_t room = d->tot_pages > fl ? d->tot_pages - fl : 0;

			if (n > room)
				n = room;
		}
		if (n > BATCH_PAGES)
			n = BATCH_PAGES;
		if (n > budget)
			n = budget;
		if (n)
			batch_release(h, d, n);
	} else {
		n = goal - d->tot_pages;
		if (n > d->nperm - d->p)
			n = d->nperm - d->p;
		if (n > BATCH_PAGES)
			n = BATCH_PAGES;
		if (n > budget)
			n = budget;
		n = batch_populate(h, d, n);
	}
	if (!n) {
		driver_fail(h, d, t);
		return;
	}
	d->retries = 0;
	d->run_pages += n;
	d->st = DRV_BATCH;
	d->drv_next = batch_end_time(d);
	if (t >= d->agent_last_ms + AGENT_PERIOD_MS)
		agent_report(h, d, t);
}

static void driver_step(struct simhost *h, struct dom *d, uint64_t t)
{
	switch (d->st) {
	case DRV_BATCH:
		batch_finish(h, d);
		batch_start(h, d, t);
		break;
	case DRV_START:
	case DRV_WAIT:
		d->epoch_mv = mv_time(d, t);
		d->run_pages = 0;
		batch_start(h, d, t);
		break;
	default: d->drv_next = NEVER; break;
	}
}

/* The driver's watch saw a new target value at time t. */
static void driver_new_target(struct dom *d, uint64_t t)
{
	if (d->b.behavior == SIM_BALLOON_STUCK || d->b.behavior == SIM_BALLOON_NONE)
		return;
	switch (d->st) {
	case DRV_GAVE_UP:
		d->retries = 0;
		/* fall through */
	case DRV_IDLE:
	case DRV_WAIT:
		d->st = DRV_START;
		d->drv_next = t;
		break;
	default: break;
	}
}

/* The driver comes up at t: it says so (control/feature-balloon = 1, as
 * the guest) and reads the target it finds. */
static void driver_up(struct simhost *h, struct dom *d, uint64_t t)
{
	uint64_t v, goal;

	d->driver_up = true;
	xs_dom_write(h, d->domid, d->domid, "control/feature-balloon", "%s", "1");
	agent_report(h, d, t);
	if (!target_read(h, d, &v))
		return;
	d->has_target = true;
	d->target_kib = v;
	if (driver_goal(d, &goal) && goal != d->tot_pages) {
		d->st = DRV_START;
		d->drv_next = t;
	}
}

/* Process the domain's events due at t. */
static void dom_event(struct simhost *h, struct dom *d, uint64_t t)
{
	bool demand = false;

	if (!d->driver_up && d->b.behavior != SIM_BALLOON_NONE && d->driver_ready_ms <= t)
		driver_up(h, d, t);
	if (d->drv_next <= t)
		driver_step(h, d, t);
	while (d->next_demand < d->n_demand && d->demand[d->next_demand].at_ms <= t) {
		d->next_demand++;
		demand = true;
	}
	if (demand)
		agent_report(h, d, t);
}

/* Let every driver read its target if XenStore changed since last time. */
static void targets_detect(struct simhost *h)
{
	uint64_t gen = simxs_generation(h->xs);
	size_t i;

	if (gen == h->gen_seen)
		return;
	h->gen_seen = gen;
	for (i = 0; i < h->ndoms; i++) {
		struct dom *d = h->doms[i];
		uint64_t v;

		if (!reads_target(d) || !target_read(h, d, &v))
			continue;
		if (d->has_target && v == d->target_kib)
			continue;
		d->has_target = true;
		d->target_kib = v;
		driver_new_target(d, h->now_ms);
		dom_resched(h, d);
	}
}

void simhost_advance(struct simhost *h, uint64_t now_ms)
{
	if (now_ms < h->now_ms)
		now_ms = h->now_ms;
	h->t = h->now_ms;
	targets_detect(h);
	while (h->nheap && h->heap[0]->next_ms <= now_ms) {
		struct dom *d = h->heap[0];
		uint64_t t = d->next_ms;

		if (t < h->now_ms)
			t = h->now_ms;
		scrub_advance(h, t);
		h->t = t;
		dom_event(h, d, t);
		dom_resched(h, d);
	}
	scrub_advance(h, now_ms);
	h->now_ms = now_ms;
	h->t = now_ms;
	h->gen_seen = simxs_generation(h->xs);
}

uint64_t simhost_next_change_ms(const struct simhost *h, uint64_t now_ms)
{
	uint64_t t = h->nheap ? h->heap[0]->next_ms : NEVER, s = scrub_done_at(h);
	size_t i;

	if (s < t)
		t = s;
	if (simxs_generation(h->xs) != h->gen_seen) {
		for (i = 0; i < h->ndoms && t > h->now_ms; i++) {
			const struct dom *d = h->doms[i];
			uint64_t v;

			if (!reads_target(d) || halted(d) || d->b.behavior == SIM_BALLOON_STUCK ||
			    !target_read(h, d, &v) || (d->has_target && v == d->target_kib))
				continue;
			if (d->st == DRV_IDLE || d->st == DRV_WAIT || d->st == DRV_GAVE_UP)
				t = h->now_ms;
		}
	}
	if (t == NEVER)
		return UINT64_MAX;
	return t < now_ms ? now_ms : t;
}

/* ---- building the host ---- */

static void dom_free(struct dom *d)
{
	if (!d)
		return;
	big_free(d->p2m, d->npfns * sizeof(*d->p2m));
	big_free(d->perm, d->nperm * sizeof(*d->perm));
	if (d->marks)
		fset_free(d->marks);
	free(d->marks);
	free(d->demand);
	free(d->faults);
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
	free(h->heap);
	big_free(h->owner, h->nframes * sizeof(*h->owner));
	big_free(h->m2p, h->nframes * sizeof(*h->m2p));
	fset_free(&h->clean);
	fset_free(&h->dirty);
	free(h->quar);
	if (h->jr)
		fset_free(&h->jr->frames);
	free(h->jr);
	simxs_free(h->xs);
	free(h);
}

static bool name_ok(const char *s)
{
	size_t i;

	for (i = 0; s[i]; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
		      (s[i] >= '0' && s[i] <= '9') || s[i] == '_' || s[i] == '.' || s[i] == '-'))
			return false;
	return i > 0 && i < SIM_NAME_MAX;
}

/* Check a spec; fills the derived sizes. 0 or -EINVAL. */
static int spec_check(const struct sim_domain_spec *spec, uint64_t *ret_smax, uint64_t *ret_maxmem)
{
	uint64_t smax, maxmem;

	if (!name_ok(spec->name) || spec->memory_kib < SIM_PAGE_KIB ||
	    spec->memory_kib > MAX_HOST_KIB || (unsigned)spec->type > SIM_HVM ||
	    (unsigned)spec->balloon.behavior >= N_BEHAVIORS ||
	    (spec->width && spec->width != 32 && spec->width != 64) ||
	    (spec->n_demand && !spec->demand))
		return -EINVAL;
	smax = spec->static_max_kib ? spec->static_max_kib : spec->memory_kib;
	maxmem = spec->maxmem_kib ? spec->maxmem_kib : spec->memory_kib + 1024;
	if (smax < spec->memory_kib || smax > MAX_HOST_KIB || maxmem < spec->memory_kib ||
	    maxmem > MAX_HOST_KIB || smax / SIM_PAGE_KIB > UINT32_MAX)
		return -EINVAL;
	if (spec->balloon.behavior == SIM_BALLOON_INTERMITTENT && !spec->balloon.period_ms)
		return -EINVAL;
	*ret_smax = smax;
	*ret_maxmem = maxmem;
	return 0;
}

static void vm_path(uint32_t domid, char *buf, size_t len)
{
	snprintf(buf, len, "/vm/00000000-0000-4000-8000-%012x", domid);
}

/* Build a domain (see simhost_create) with the given domid. */
static int dom_create(struct simhost *h, const struct sim_domain_spec *spec, uint32_t domid)
{
	uint64_t smax, maxmem, pages, pfn, i, k, target;
	char vm[64], path[96];
	struct dom *d;
	bool idmap;
	int r;

	r = spec_check(spec, &smax, &maxmem);
	if (r < 0)
		return r;
	pages = spec->memory_kib / SIM_PAGE_KIB;
	if (pages > frames_unclaimed(h))
		return -ENOMEM;
	if (h->ndoms == h->capdoms) {
		size_t ncap = h->capdoms ? h->capdoms * 2 : 16;
		struct dom **a = realloc(h->doms, ncap * sizeof(*a)), **b;

		if (!a)
			return -ENOMEM;
		h->doms = a;
		b = realloc(h->heap, ncap * sizeof(*b));
		if (!b)
			return -ENOMEM;
		h->heap = b;
		h->capdoms = ncap;
	}
	d = calloc(1, sizeof(*d));
	if (!d)
		return -ENOMEM;
	/* dom0 sees the host's E820: the MMIO hole is identity-mapped in its
	 * P2M and its RAM pfns skip it, as Linux sets up a PV dom0 */
	idmap = domid == 0 && h->nframes > h->ram_frames;
	d->nperm = smax / SIM_PAGE_KIB;
	d->npfns = d->nperm;
	if (idmap)
		d->npfns = d->nperm <= HOLE_START_FRAME
				   ? HOLE_END_FRAME
				   : d->nperm + HOLE_END_FRAME - HOLE_START_FRAME;
	d->p2m = big_alloc(d->npfns * sizeof(*d->p2m));
	d->perm = big_alloc(d->nperm * sizeof(*d->perm));
	if (spec->n_demand)
		d->demand = malloc(spec->n_demand * sizeof(*d->demand));
	d->marks = calloc(1, sizeof(*d->marks));
	if (d->marks && fset_init(d->marks, d->npfns) < 0) {
		fset_free(d->marks);
		free(d->marks);
		d->marks = NULL;
	}
	if (!d->p2m || !d->perm || (spec->n_demand && !d->demand) || !d->marks) {
		dom_free(d);
		return -ENOMEM;
	}
	d->domid = domid;
	snprintf(d->name, sizeof(d->name), "%s", spec->name);
	d->type = spec->type;
	d->width = spec->type == SIM_PV && spec->width == 32 ? 32 : 64;
	d->created_ms = h->now_ms;
	d->static_max_kib = smax;
	d->max_pages = maxmem / SIM_PAGE_KIB;
	d->b = spec->balloon;
	if (!d->b.rate_kib_s)
		d->b.rate_kib_s =
			d->b.behavior == SIM_BALLOON_SLOW ? SLOW_RATE_KIB_S : DEFAULT_RATE_KIB_S;
	d->rng = 0x9e3779b97f4a7c15ull ^ ((uint64_t)domid * 0xbf58476d1ce4e5b9ull);
	if (!d->rng)
		d->rng = 1;
	if (spec->n_demand)
		memcpy(d->demand, spec->demand, spec->n_demand * sizeof(*d->demand));
	d->agent = spec->agent;
	d->agent_stops_ms = spec->agent_stops_ms;
	d->driver_ready_ms = h->now_ms + spec->driver_ready_ms;
	d->driver_up = spec->driver_ready_ms == 0;
	d->n_demand = spec->n_demand;
	for (i = 0; i < d->npfns; i++)
		d->p2m[i] = idmap && i >= HOLE_START_FRAME && i < HOLE_END_FRAME
				    ? i | SIM_P2M_IDENTITY
				    : INVALID_ENTRY;
	for (i = 0; i < d->nperm; i++)
		d->perm[i] = (uint32_t)(idmap && i >= HOLE_START_FRAME
						? i + HOLE_END_FRAME - HOLE_START_FRAME
						: i);
	/* like the domain builder: frames in runs, pfn order */
	for (k = 0; k < pages;) {
		uint64_t start, n = frame_alloc_run(h, pages - k, &start);

		for (i = 0; i < n; i++, k++) {
			pfn = d->perm[k];
			h->owner[start + i] = domid;
			h->m2p[start + i] = pfn;
			d->p2m[pfn] = start + i;
			jlog(h, d, pfn, start + i);
		}
	}
	d->tot_pages = pages;
	d->p = pages;
	d->st = DRV_IDLE;
	d->drv_next = NEVER;
	d->agent_last_ms = h->now_ms;
	h->doms[h->ndoms++] = d;
	d->next_ms = NEVER;
	d->hpos = h->nheap;
	h->heap[h->nheap++] = d;

	/* what libxl writes, then the guest boots */
	xs_dom_write(h, 0, domid, "name", "%s", d->name);
	xs_dom_write(h, 0, domid, "domid", "%u", domid);
	vm_path(domid, vm, sizeof(vm));
	xs_dom_write(h, 0, domid, "vm", "%s", vm);
	snprintf(path, sizeof(path), "%s/name", vm);
	simxs_write(h->xs, 0, path, d->name);
	xs_dom_write(h, 0, domid, "memory/static-max", "%" PRIu64, smax);
	if (spec->dynamic_min_kib)
		xs_dom_write(h, 0, domid, "memory/dynamic-min", "%" PRIu64, spec->dynamic_min_kib);
	if (spec->dynamic_max_kib)
		xs_dom_write(h, 0, domid, "memory/dynamic-max", "%" PRIu64, spec->dynamic_max_kib);
	/* libxl leaves an HVM guest's videoram out of its target */
	target = spec->memory_kib;
	if (d->type == SIM_HVM) {
		xs_dom_write(h, 0, domid, "memory/videoram", "%d", SIM_VIDEORAM_KIB);
		target = target > SIM_VIDEORAM_KIB ? target - SIM_VIDEORAM_KIB : 0;
	}
	xs_dom_write(h, 0, domid, "memory/target", "%" PRIu64, target);
	xs_dom_write(h, 0, domid, "data", "%s", "");
	/* an HVM guest's PV drivers say they can balloon as it boots */
	if (d->driver_up && d->type == SIM_HVM && d->b.behavior != SIM_BALLOON_NONE)
		xs_dom_write(h, domid, domid, "control/feature-balloon", "%s", "1");
	if (reads_target(d)) {
		uint64_t goal;

		/* the watch fires when the driver registers it */
		d->has_target = true;
		d->target_kib = target;
		if (driver_goal(d, &goal) && goal != d->tot_pages) {
			d->st = DRV_START;
			d->drv_next = h->now_ms;
		}
	}
	while (d->next_demand < d->n_demand && d->demand[d->next_demand].at_ms <= h->now_ms)
		d->next_demand++;
	agent_report(h, d, h->now_ms);
	dom_resched(h, d);
	return 0;
}

/* E820 and frame layout for memory_kib of RAM. */
static void layout(struct simhost *h, uint64_t ram_frames)
{
	h->ram_frames = ram_frames;
	if (ram_frames > HOLE_START_FRAME) {
		h->nframes = ram_frames + (HOLE_END_FRAME - HOLE_START_FRAME);
		h->e820[0] = (struct sim_e820_range){0, HOLE_START_FRAME * SIM_PAGE_KIB, true};
		h->e820[1] = (struct sim_e820_range){HOLE_START_FRAME * SIM_PAGE_KIB,
						     HOLE_END_FRAME * SIM_PAGE_KIB, false};
		h->e820[2] = (struct sim_e820_range){HOLE_END_FRAME * SIM_PAGE_KIB,
						     h->nframes * SIM_PAGE_KIB, true};
		h->ne820 = 3;
	} else {
		h->nframes = ram_frames;
		h->e820[0] = (struct sim_e820_range){0, ram_frames * SIM_PAGE_KIB, true};
		h->ne820 = 1;
	}
}

static bool in_hole(const struct simhost *h, uint64_t mfn)
{
	return h->nframes > h->ram_frames && mfn >= HOLE_START_FRAME && mfn < HOLE_END_FRAME;
}

struct simhost *simhost_new(uint64_t memory_kib, uint64_t xen_reserved_kib, uint64_t dom0_kib,
			    uint64_t now_ms)
{
	struct sim_domain_spec dom0 = {.name = "Domain-0", .type = SIM_PV, .width = 64};
	uint64_t ram = memory_kib / SIM_PAGE_KIB, xen = xen_reserved_kib / SIM_PAGE_KIB, f, left;
	struct simhost *h;

	if (memory_kib > MAX_HOST_KIB || ram < 256 || dom0_kib < SIM_PAGE_KIB ||
	    xen + dom0_kib / SIM_PAGE_KIB >= ram)
		return NULL;
	h = calloc(1, sizeof(*h));
	if (!h)
		return NULL;
	layout(h, ram);
	h->owner = big_alloc(h->nframes * sizeof(*h->owner));
	h->m2p = big_alloc(h->nframes * sizeof(*h->m2p));
	h->jr = calloc(1, sizeof(*h->jr));
	h->xs = simxs_new();
	if (!h->owner || !h->m2p || !h->jr || !h->xs || fset_init(&h->clean, h->nframes) < 0 ||
	    fset_init(&h->dirty, h->nframes) < 0 || fset_init(&h->jr->frames, h->nframes) < 0) {
		simhost_free(h);
		return NULL;
	}
	h->now_ms = h->t = now_ms;
	memset(h->m2p, 0xff, h->nframes * sizeof(*h->m2p));
	/* the hole; Xen's frames from the bottom of RAM; the rest free */
	for (f = 0; f < h->nframes; f++)
		h->owner[f] = SIM_DOMID_INVALID;
	if (h->nframes > h->ram_frames) {
		for (f = HOLE_START_FRAME; f < HOLE_END_FRAME; f++)
			h->owner[f] = SIM_DOMID_IO;
		h->io_frames = HOLE_END_FRAME - HOLE_START_FRAME;
	}
	for (f = 0, left = xen; left; f++)
		if (h->owner[f] == SIM_DOMID_INVALID) {
			h->owner[f] = SIM_DOMID_XEN;
			left--;
		}
	h->xen_frames = xen;
	if (h->nframes > h->ram_frames && f < HOLE_START_FRAME) {
		fset_set_range(&h->clean, f, HOLE_START_FRAME);
		f = HOLE_END_FRAME;
	}
	if (f < HOLE_END_FRAME && in_hole(h, f))
		f = HOLE_END_FRAME;
	fset_set_range(&h->clean, f, h->nframes);
	h->next_domid = 1;
	simxs_write(h->xs, 0, "/local/domain", "");
	simxs_write(h->xs, 0, "/vm", "");
	simxs_write(h->xs, 0, "/tool", "");
	dom0.memory_kib = dom0_kib;
	dom0.static_max_kib = dom0_kib;
	dom0.maxmem_kib = dom0_kib; /* dom0_mem=X,max:X */
	if (dom_create(h, &dom0, 0) < 0) {
		simhost_free(h);
		return NULL;
	}
	h->gen_seen = simxs_generation(h->xs);
	return h;
}

int simhost_lookup(const struct simhost *h, const char *name, uint32_t *ret_domid)
{
	size_t i;

	for (i = 0; name && i < h->ndoms; i++)
		if (strcmp(h->doms[i]->name, name) == 0) {
			*ret_domid = h->doms[i]->domid;
			return 0;
		}
	return -ENOENT;
}

static size_t claim_find(const struct simhost *h, const char *name)
{
	size_t i;

	for (i = 0; i < h->nclaims; i++)
		if (strcmp(h->claims[i].name, name) == 0)
			break;
	return i;
}

/* Release name's claim, if it has one. */
static void claim_drop(struct simhost *h, const char *name)
{
	size_t i = claim_find(h, name);

	if (i == h->nclaims)
		return;
	h->claimed_pages -= h->claims[i].pages;
	h->claims[i] = h->claims[--h->nclaims];
}

int simhost_claim(struct simhost *h, const char *name, uint64_t kib, uint64_t now_ms)
{
	uint64_t pages = kib / SIM_PAGE_KIB;
	uint32_t domid;

	if (!name || !name[0] || strlen(name) >= SIM_NAME_MAX || !pages)
		return -EINVAL;
	if (simhost_lookup(h, name, &domid) == 0 || claim_find(h, name) < h->nclaims)
		return -EEXIST;
	if (h->nclaims == SIM_CLAIMS_MAX)
		return -ENOSPC;
	simhost_advance(h, now_ms);
	if (pages > frames_unclaimed(h))
		return -ENOMEM;
	snprintf(h->claims[h->nclaims].name, SIM_NAME_MAX, "%s", name);
	h->claims[h->nclaims++].pages = pages;
	h->claimed_pages += pages;
	return 0;
}

int simhost_create(struct simhost *h, const struct sim_domain_spec *spec, uint64_t now_ms,
		   uint32_t *ret_domid)
{
	uint64_t smax, maxmem;
	uint32_t domid;
	int r;

	if (!spec || spec_check(spec, &smax, &maxmem) < 0 || strcmp(spec->name, "Domain-0") == 0)
		return -EINVAL;
	if (simhost_lookup(h, spec->name, &domid) == 0)
		return -EEXIST;
	if (h->next_domid > MAX_DOMID)
		return -ENOSPC;
	simhost_advance(h, now_ms);
	/* the domain builds from its own claim, then the rest is released
	 * (as libxl does, also when the build fails) */
	claim_drop(h, spec->name);
	r = dom_create(h, spec, h->next_domid);
	if (r < 0)
		return r;
	domid = h->next_domid++;
	simxs_fire_special(h->xs, "@introduceDomain");
	if (ret_domid)
		*ret_domid = domid;
	return 0;
}

static void quar_remove(struct simhost *h, uint64_t mfn)
{
	size_t i;

	for (i = 0; i < h->nquar; i++)
		if (h->quar[i] == mfn) {
			h->quar[i] = h->quar[--h->nquar];
			return;
		}
}

int simhost_destroy(struct simhost *h, uint32_t domid, uint64_t now_ms)
{
	struct dom *d = dom_find(h, domid);
	uint64_t pfn, freed = 0, k, tot;
	char path[64];
	size_t i;

	if (!d)
		return -ENOENT;
	if (domid == 0)
		return -EPERM;
	simhost_advance(h, now_ms);
	tot = d->tot_pages;
	for (pfn = 0; pfn < d->npfns; pfn++) {
		uint64_t mfn = d->p2m[pfn];

		if (mfn < h->nframes && h->owner[mfn] == domid) {
			frame_release(h, mfn);
			jlog(h, d, pfn, mfn);
			freed++;
		}
	}
	for (k = 0; k < d->f; k++)
		if (h->owner[d->batch_mfn[k]] == domid) {
			frame_release(h, d->batch_mfn[k]);
			jlog(h, d, d->perm[d->p + k], d->batch_mfn[k]);
			freed++;
		}
	for (i = 0; i < d->nfaults; i++) {
		uint64_t mfn = d->faults[i].mfn;

		if (d->faults[i].quarantined) {
			quar_remove(h, mfn);
			frame_release(h, mfn);
		} else if (h->owner[mfn] == domid) {
			frame_release(h, mfn);
			freed++;
		}
		jlog(h, d, 0, mfn);
	}
	if (freed != tot && !h->internal[0])
		snprintf(h->internal, sizeof(h->internal),
			 "destroying domain %u freed %" PRIu64 " frames, tot_pages was %" PRIu64,
			 domid, freed, tot);
	heap_remove(h, d);
	for (i = 0; i < h->ndoms; i++)
		if (h->doms[i] == d)
			break;
	memmove(&h->doms[i], &h->doms[i + 1], (h->ndoms - i - 1) * sizeof(*h->doms));
	h->ndoms--;
	dom_free(d);
	snprintf(path, sizeof(path), "/local/domain/%u", domid);
	simxs_rm(h->xs, 0, path);
	vm_path(domid, path, sizeof(path));
	simxs_rm(h->xs, 0, path);
	simxs_fire_special(h->xs, "@releaseDomain");
	return 0;
}

/* ---- hypercalls ---- */

void simhost_physinfo(const struct simhost *h, struct sim_physinfo *ret)
{
	ret->total_kib = h->ram_frames * SIM_PAGE_KIB;
	ret->free_kib = frames_free(h) * SIM_PAGE_KIB;
	ret->scrub_kib = h->dirty.count * SIM_PAGE_KIB;
	ret->outstanding_kib = h->claimed_pages * SIM_PAGE_KIB;
}

size_t simhost_getinfolist(const struct simhost *h, uint32_t first, struct sim_dominfo *ret,
			   size_t max)
{
	size_t lo = 0, hi = h->ndoms, n = 0;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (h->doms[mid]->domid < first)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (; lo < h->ndoms && n < max; lo++, n++) {
		const struct dom *d = h->doms[lo];

		ret[n].domid = d->domid;
		ret[n].type = d->type;
		ret[n].dying = false;
		ret[n].shutdown = d->shutdown;
		ret[n].paused = d->paused;
		ret[n].tot_kib = d->tot_pages * SIM_PAGE_KIB;
		ret[n].max_kib = d->max_pages * SIM_PAGE_KIB;
	}
	return n;
}

int simhost_setmaxmem(struct simhost *h, uint32_t domid, uint64_t max_kib)
{
	struct dom *d = dom_find(h, domid);

	if (!d)
		return -ENOENT;
	if (max_kib > MAX_HOST_KIB)
		return -EINVAL;
	d->max_pages = max_kib / SIM_PAGE_KIB;
	d->over_max = d->max_pages < d->tot_pages ? d->tot_pages : 0;
	return 0;
}

bool simhost_driver_pending(const struct simhost *h, uint32_t domid)
{
	const struct dom *d = dom_find(h, domid);

	return d && !d->driver_up && d->b.behavior != SIM_BALLOON_NONE;
}

int simhost_set_flags(struct simhost *h, uint32_t domid, bool shutdown, bool paused)
{
	struct dom *d = dom_find(h, domid);
	bool was = d && halted(d);
	uint64_t t = h->now_ms;

	if (!d)
		return -ENOENT;
	d->shutdown = shutdown;
	d->paused = paused;
	h->t = t;
	if (!was && halted(d) && d->st == DRV_BATCH) {
		/* the hypercall in progress completes before the vCPU stops */
		batch_finish(h, d);
		d->st = DRV_START;
		d->drv_next = t;
	}
	if (was && !halted(d)) {
		/* resume: a new run starts now */
		switch (d->st) {
		case DRV_WAIT:
		case DRV_START:
			if (d->drv_next < t)
				d->drv_next = t;
			break;
		case DRV_IDLE:
			if (reads_target(d) && d->b.behavior != SIM_BALLOON_STUCK) {
				d->st = DRV_START;
				d->drv_next = t;
			}
			break;
		default: break;
		}
		while (d->next_demand < d->n_demand && d->demand[d->next_demand].at_ms <= t)
			d->next_demand++;
		agent_report(h, d, t);
	}
	dom_resched(h, d);
	return 0;
}

/* ---- invariants ---- */

static int fail(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err && errlen) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return -EUCLEAN;
}

/* In-flight pfns of every domain, for lookups during a check; a domain's
 * are copied and sorted when first looked up. */
struct inflight {
	uint32_t domid;
	const struct dom *d;
	bool sorted;
	uint64_t n;
	uint64_t pfn[BATCH_PAGES];
};

static int u64_cmp(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static bool is_inflight(struct inflight *fl, size_t nfl, uint32_t domid, uint64_t pfn)
{
	size_t lo = 0, hi = nfl;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (fl[mid].domid < domid)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == nfl || fl[lo].domid != domid)
		return false;
	if (!fl[lo].sorted) {
		const struct dom *d = fl[lo].d;
		uint64_t k;

		for (k = 0; k < d->f; k++)
			fl[lo].pfn[k] = d->perm[d->p + k];
		qsort(fl[lo].pfn, d->f, sizeof(uint64_t), u64_cmp);
		fl[lo].sorted = true;
	}
	return bsearch(&pfn, fl[lo].pfn, fl[lo].n, sizeof(uint64_t), u64_cmp) != NULL;
}

/* One frame: its owner, its free-list membership and (when maps) its M2P
 * entry agree. */
static int check_frame(const struct simhost *h, const struct dom *const *byid, uint64_t mfn,
		       bool maps, struct inflight *fl, size_t nfl, char *err, size_t errlen)
{
	uint32_t o = h->owner[mfn];
	bool c = fset_test(&h->clean, mfn), dty = fset_test(&h->dirty, mfn);
	const struct dom *d;
	uint64_t q;

	if (o == SIM_DOMID_INVALID) {
		if (c + dty != 1) {
			size_t i;
			bool qd = false;

			for (i = 0; i < h->nquar && !qd; i++)
				qd = h->quar[i] == mfn;
			if (c + dty + qd != 1)
				return fail(err, errlen,
					    "free frame %#" PRIx64 " is on %d free lists", mfn,
					    c + dty + qd);
		}
		if (h->m2p[mfn] != INVALID_ENTRY)
			return fail(err, errlen, "free frame %#" PRIx64 " has M2P entry %#" PRIx64,
				    mfn, h->m2p[mfn]);
		return 0;
	}
	if (c || dty)
		return fail(err, errlen, "frame %#" PRIx64 " owned by %#x is also free", mfn, o);
	if (o == SIM_DOMID_XEN || o == SIM_DOMID_IO) {
		if ((o == SIM_DOMID_IO) != in_hole(h, mfn))
			return fail(err, errlen, "frame %#" PRIx64 " owner %#x vs the E820", mfn,
				    o);
		return 0;
	}
	d = o <= MAX_DOMID ? byid[o] : NULL;
	if (!d)
		return fail(err, errlen,
			    "frame %#" PRIx64 " owned by domain %u, which does not exist", mfn, o);
	if (!maps)
		return 0;
	q = h->m2p[mfn];
	if (q >= d->npfns)
		return fail(err, errlen,
			    "domain %u frame %#" PRIx64 ": M2P entry %#" PRIx64
			    " is not one of its pfns",
			    o, mfn, q);
	if (d->p2m[q] != mfn && !(d->p2m[q] == INVALID_ENTRY && is_inflight(fl, nfl, o, q)))
		return fail(err, errlen,
			    "domain %u frame %#" PRIx64 ": M2P says pfn %#" PRIx64
			    ", whose P2M entry is %#" PRIx64,
			    o, mfn, q, d->p2m[q]);
	return 0;
}

/* One P2M entry of d agrees with the owner and the M2P. */
static int check_pfn(const struct simhost *h, const struct dom *d, uint64_t pfn, char *err,
		     size_t errlen)
{
	uint64_t mfn = d->p2m[pfn];

	if (mfn == INVALID_ENTRY)
		return 0;
	if (mfn & SIM_P2M_IDENTITY) {
		if ((mfn & ~SIM_P2M_IDENTITY) != pfn)
			return fail(err, errlen,
				    "domain %u pfn %#" PRIx64 ": identity entry %#" PRIx64,
				    d->domid, pfn, mfn);
		return 0;
	}
	if (mfn >= h->nframes)
		return fail(err, errlen,
			    "domain %u pfn %#" PRIx64 " maps frame %#" PRIx64 " beyond max_page",
			    d->domid, pfn, mfn);
	if (h->owner[mfn] != d->domid)
		return fail(err, errlen,
			    "domain %u pfn %#" PRIx64 " maps frame %#" PRIx64 " owned by %#x",
			    d->domid, pfn, mfn, h->owner[mfn]);
	if (h->m2p[mfn] != pfn)
		return fail(err, errlen,
			    "domain %u pfn %#" PRIx64 " maps frame %#" PRIx64
			    " whose M2P entry is %#" PRIx64,
			    d->domid, pfn, mfn, h->m2p[mfn]);
	return 0;
}

static int check_counters(const struct simhost *h, bool maps, char *err, size_t errlen)
{
	uint64_t sum = 0, k;
	size_t i;

	if (h->internal[0])
		return fail(err, errlen, "%s", h->internal);
	for (i = 0; i < h->ndoms; i++) {
		const struct dom *d = h->doms[i];
		uint64_t cap = d->max_pages > d->over_max ? d->max_pages : d->over_max;

		sum += d->tot_pages;
		if (d->tot_pages > cap)
			return fail(err, errlen,
				    "domain %u: tot_pages %" PRIu64 " above max_pages %" PRIu64,
				    d->domid, d->tot_pages, d->max_pages);
		if (d->tot_pages != d->p - d->w + d->f + d->wd_owned)
			return fail(err, errlen,
				    "domain %u: tot_pages %" PRIu64 " but %" PRIu64
				    " populated, %" PRIu64 " in flight, %" PRIu64 " withdrawn",
				    d->domid, d->tot_pages, d->p - d->w, d->f, d->wd_owned);
		for (k = 0; k < d->f; k++) {
			uint64_t mfn = d->batch_mfn[k], pfn = d->perm[d->p + k];

			if (h->owner[mfn] != d->domid)
				return fail(err, errlen,
					    "domain %u: frame %#" PRIx64
					    " in flight is owned by %#x",
					    d->domid, mfn, h->owner[mfn]);
			if (maps && (h->m2p[mfn] != pfn || d->p2m[pfn] != INVALID_ENTRY))
				return fail(err, errlen,
					    "domain %u: pfn %#" PRIx64 " in flight: P2M %#" PRIx64
					    ", M2P %#" PRIx64,
					    d->domid, pfn, d->p2m[pfn], h->m2p[mfn]);
		}
	}
	if (sum + h->xen_frames + h->io_frames + frames_free(h) != h->nframes)
		return fail(err, errlen,
			    "frames not conserved: owned %" PRIu64 " + Xen %" PRIu64
			    " + hole %" PRIu64 " + free %" PRIu64 " != %" PRIu64,
			    sum, h->xen_frames, h->io_frames, frames_free(h), h->nframes);
	return 0;
}

static int check_full(const struct simhost *h, const struct dom *const *byid, bool maps,
		      struct inflight *fl, size_t nfl, char *err, size_t errlen)
{
	uint64_t *count = calloc(MAX_DOMID + 1, sizeof(*count)), mfn, nfree = 0, xen = 0, io = 0;
	int r = 0;
	size_t i;

	if (!count)
		return -ENOMEM;
	for (mfn = 0; mfn < h->nframes && !r; mfn++) {
		uint32_t o = h->owner[mfn];

		r = check_frame(h, byid, mfn, maps, fl, nfl, err, errlen);
		if (o == SIM_DOMID_INVALID)
			nfree++;
		else if (o == SIM_DOMID_XEN)
			xen++;
		else if (o == SIM_DOMID_IO)
			io++;
		else if (o <= MAX_DOMID)
			count[o]++;
	}
	if (!r && (nfree != frames_free(h) || xen != h->xen_frames || io != h->io_frames))
		r = fail(err, errlen,
			 "frame owners: %" PRIu64 " free, %" PRIu64 " Xen, %" PRIu64
			 " hole; counters say %" PRIu64 ", %" PRIu64 ", %" PRIu64,
			 nfree, xen, io, frames_free(h), h->xen_frames, h->io_frames);
	for (i = 0; i < h->ndoms && !r; i++) {
		const struct dom *d = h->doms[i];
		uint64_t pfn, valid = 0;

		if (count[d->domid] != d->tot_pages) {
			r = fail(err, errlen,
				 "domain %u owns %" PRIu64 " frames, tot_pages %" PRIu64, d->domid,
				 count[d->domid], d->tot_pages);
			break;
		}
		if (!maps)
			continue;
		for (pfn = 0; pfn < d->npfns && !r; pfn++) {
			r = check_pfn(h, d, pfn, err, errlen);
			valid += d->p2m[pfn] != INVALID_ENTRY && !(d->p2m[pfn] & SIM_P2M_IDENTITY);
		}
		if (!r && valid != d->p - d->w)
			r = fail(err, errlen,
				 "domain %u: %" PRIu64 " valid P2M entries, %" PRIu64
				 " populated pages",
				 d->domid, valid, d->p - d->w);
	}
	free(count);
	return r;
}

/* The marked frames, ascending, then each domain's marked pfns. */
static int check_journal(const struct simhost *h, const struct dom *const *byid, bool maps,
			 struct inflight *fl, size_t nfl, char *err, size_t errlen)
{
	uint64_t i = 0;
	size_t k;
	int r;

	while (fset_next(&h->jr->frames, i, &i)) {
		r = check_frame(h, byid, i, maps, fl, nfl, err, errlen);
		if (r < 0)
			return r;
		i++;
	}
	for (k = 0; maps && k < h->ndoms; k++) {
		const struct dom *d = h->doms[k];

		for (i = 0; fset_next(d->marks, i, &i); i++) {
			r = check_pfn(h, d, i, err, errlen);
			if (r < 0)
				return r;
		}
	}
	return 0;
}

/* Forget the marks: everything marked has been checked. */
static void journal_reset(const struct simhost *h)
{
	size_t k;

	fset_clear_all(&h->jr->frames);
	for (k = 0; k < h->ndoms; k++)
		fset_clear_all(h->doms[k]->marks);
	h->jr->checked_once = true;
}

int simhost_check_ex(const struct simhost *h, unsigned flags, char *err, size_t errlen)
{
	struct journal *j = h->jr;
	bool maps = !h->faulted || (flags & SIMHOST_CHECK_STRICT);
	bool full = (flags & SIMHOST_CHECK_FULL) || !j->checked_once ||
		    h->nframes <= FULL_CHECK_FRAMES;
	struct inflight *fl = NULL;
	const struct dom **byid;
	size_t nfl = 0, i;
	int r;

	r = check_counters(h, maps, err, errlen);
	if (r < 0)
		return r;
	byid = calloc(MAX_DOMID + 1, sizeof(*byid));
	if (!byid)
		return -ENOMEM;
	for (i = 0; i < h->ndoms; i++)
		byid[h->doms[i]->domid] = h->doms[i];
	for (i = 0; i < h->ndoms; i++)
		nfl += h->doms[i]->f > 0;
	if (nfl) {
		fl = malloc(nfl * sizeof(*fl));
		if (!fl) {
			free(byid);
			return -ENOMEM;
		}
		nfl = 0;
		for (i = 0; i < h->ndoms; i++) {
			const struct dom *d = h->doms[i];

			if (!d->f)
				continue;
			fl[nfl].domid = d->domid;
			fl[nfl].d = d;
			fl[nfl].sorted = false;
			fl[nfl].n = d->f;
			nfl++;
		}
	}
	r = full ? check_full(h, byid, maps, fl, nfl, err, errlen)
		 : check_journal(h, byid, maps, fl, nfl, err, errlen);
	free(fl);
	free(byid);
	if (r < 0)
		return r;
	journal_reset(h);
	return 0;
}

int simhost_check(const struct simhost *h, char *err, size_t errlen)
{
	return simhost_check_ex(h, 0, err, errlen);
}

/* ---- fault injection ---- */

/* Take a random populated pfn of d (not avoid, when d has another) away
 * from its driver; its frame stays owned. */
static uint64_t withdraw(struct dom *d, uint64_t avoid)
{
	uint64_t i = d->w + rng_next(d) % (d->p - d->w), pfn;

	if (d->perm[i] == avoid && d->p - d->w > 1)
		i = i + 1 < d->p ? i + 1 : d->w;
	pfn = d->perm[i];

	d->perm[i] = d->perm[d->w];
	d->perm[d->w] = (uint32_t)pfn;
	d->w++;
	d->wd_owned++;
	return pfn;
}

/* Room for n more fault records; 0 or -ENOMEM. */
static int fault_reserve(struct dom *d, size_t n)
{
	size_t ncap;
	struct dfault *f;

	if (d->nfaults + n <= d->capfaults)
		return 0;
	ncap = d->capfaults ? d->capfaults * 2 : 4;
	if (ncap < d->nfaults + n)
		ncap = d->nfaults + n;
	f = realloc(d->faults, ncap * sizeof(*f));
	if (!f)
		return -ENOMEM;
	d->faults = f;
	d->capfaults = ncap;
	return 0;
}

/* Remember a frame a fault left behind, for destroy (room reserved). */
static void fault_note(struct dom *d, uint64_t mfn, bool quarantined)
{
	d->faults[d->nfaults].mfn = mfn;
	d->faults[d->nfaults].quarantined = quarantined;
	d->nfaults++;
}

/* Ballooned-out pfns of d outside the batch in flight. */
static uint64_t ballooned_pfns(const struct dom *d)
{
	return d->nperm - d->p - d->f;
}

/* Take a random ballooned-out pfn of d away from its driver: it joins the
 * withdrawn region (with no frame, so wd_owned and tot_pages stay), the
 * first populated pfn moves to the end of the populated region and the
 * batch in flight moves up by one, still paired with batch_mfn. */
static uint64_t withdraw_ballooned(struct dom *d)
{
	uint64_t lo = d->p + d->f, i = lo + rng_next(d) % (d->nperm - lo), pfn = d->perm[i];

	d->perm[i] = d->perm[lo];
	memmove(&d->perm[d->p + 1], &d->perm[d->p], d->f * sizeof(*d->perm));
	d->perm[d->p] = d->perm[d->w];
	d->perm[d->w] = (uint32_t)pfn;
	d->w++;
	d->p++;
	return pfn;
}

/* The low bits of an IDENTITY entry for pfn that are not pfn: a frame just
 * above max_page (where 64-bit PCI BARs sit on a real host), so that the
 * finding's M2P part (AUDIT_NONE beyond max_page) cannot change under a
 * re-check, whoever allocates or frees frames meanwhile. */
static uint64_t identity_wrong(const struct simhost *h, uint64_t pfn)
{
	uint64_t low = h->nframes + (pfn & 0xfff);

	return low == pfn ? low + 1 : low;
}

int simhost_inject_fault(struct simhost *h, uint32_t domid, const char *cls, char *err,
			 size_t errlen)
{
	struct dom *d = dom_find(h, domid), *o = NULL;
	enum fault_kind kind;
	uint64_t a, b, mfn, q = 0, need;
	size_t i;

	if (!d) {
		fail(err, errlen, "no domain %u", domid);
		return -ENOENT;
	}
	for (i = 0; cls && i < sizeof(fault_names) / sizeof(*fault_names); i++)
		if (strcmp(cls, fault_names[i]) == 0)
			break;
	if (!cls || i == sizeof(fault_names) / sizeof(*fault_names)) {
		fail(err, errlen, "unknown fault class \"%s\"", cls ? cls : "(null)");
		return -EINVAL;
	}
	kind = (enum fault_kind)i;
	if (kind == F_STRUCTURE) {
		/* The domain's P2M as the audit source reads it is broken (on
		 * Xen: a frame-list tree that does not resolve, p2m_generation
		 * never settling): simhost_p2m and simhost_p2m_copy32 refuse it,
		 * so an auditor passes p2m = NULL and gets exactly one
		 * P2M_STRUCTURE_ERROR (nothing else is looked at in that
		 * domain, not even its page count). The guest's own P2M, the
		 * M2P and the frames are untouched and still agree, so the
		 * driver goes on ballooning and simhost_check stays strict.
		 * The flag lives as long as the domain: the re-check sees it. */
		d->p2m_unreadable = true;
		return 0;
	}
	/* Pages the fault needs populated: an identity entry goes over a
	 * ballooned-out pfn when there is one, else over a populated one. */
	need = kind == F_ALIAS ? 2 : kind == F_IDENTITY && ballooned_pfns(d) ? 0 : 1;
	if (d->p - d->w < need || d->npfns < 2) {
		fail(err, errlen, "domain %u has too few populated pages", domid);
		return -ENOSPC;
	}
	if (kind == F_IDENTITY && d->type == SIM_PV && d->width == 32 &&
	    h->nframes + 0x1000 >= (UINT64_C(1) << 30)) {
		fail(err, errlen,
		     "domain %u is 32-bit: no room for an identity entry above max_page", domid);
		return -ENOSPC;
	}
	if (kind == F_CROSS) {
		for (i = 0; i < h->ndoms && !o; i++)
			if (h->doms[i] != d && h->doms[i]->p - h->doms[i]->w >= 2)
				o = h->doms[i];
		if (!o) {
			fail(err, errlen, "no other domain to cross-claim a frame from");
			return -ENOENT;
		}
	}
	if (kind == F_UNOWNED && !h->clean.count && !h->dirty.count) {
		fail(err, errlen, "no free frame to point at");
		return -ENOSPC;
	}
	if (fault_reserve(d, 2) < 0) {
		fail(err, errlen, "out of memory");
		return -ENOMEM;
	}
	if (kind == F_UNOWNED && h->nquar == h->capquar) {
		size_t ncap = h->capquar ? h->capquar * 2 : 8;
		uint64_t *qa = realloc(h->quar, ncap * sizeof(*qa));

		if (!qa) {
			fail(err, errlen, "out of memory");
			return -ENOMEM;
		}
		h->quar = qa;
		h->capquar = ncap;
	}
	h->faulted = true;
	if (kind == F_IDENTITY && ballooned_pfns(d)) {
		/* An identity entry over a ballooned-out (~0) entry: the P2M
		 * still maps as many RAM entries as tot_pages counts (an
		 * identity entry is not RAM), so this is exactly one
		 * P2M_IDENTITY_MISMATCH and no PAGE_COUNT_DELTA. The pfn is
		 * withdrawn so that the driver never populates it. */
		a = withdraw_ballooned(d);
		d->p2m[a] = SIM_P2M_IDENTITY | identity_wrong(h, a);
		jlog(h, d, a, identity_wrong(h, a));
		return 0;
	}
	a = withdraw(d, UINT64_MAX);
	mfn = d->p2m[a];
	switch (kind) {
	case F_M2P_MISMATCH: h->m2p[mfn] = a + 1 < d->npfns ? a + 1 : a - 1; break;
	case F_M2P_INVALID: h->m2p[mfn] = INVALID_ENTRY; break;
	case F_ALIAS:
		b = withdraw(d, UINT64_MAX);
		fault_note(d, d->p2m[b], false);
		jlog(h, d, b, d->p2m[b]);
		d->p2m[b] = mfn;
		break;
	case F_UNOWNED:
		/* a free frame, kept out of the allocator so that it stays free */
		if (!fset_take_run(&h->clean, 1, &q))
			fset_take_run(&h->dirty, 1, &q);
		h->quar[h->nquar++] = q;
		fault_note(d, q, true);
		fault_note(d, mfn, false);
		d->p2m[a] = q;
		jlog(h, d, a, q);
		break;
	case F_OUT_OF_RANGE:
		fault_note(d, mfn, false);
		d->p2m[a] = h->nframes + (a & 0xfff);
		break;
	case F_CROSS:
		b = withdraw(o, a);
		fault_note(d, mfn, false);
		d->p2m[a] = o->p2m[b];
		jlog(h, o, b, o->p2m[b]);
		break;
	case F_M2P_SHARED:
		/* the frame stays owned and mapped at a alone: nothing earlier
		 * in the precedence applies, so one M2P_SHARED_IN_PV */
		h->m2p[mfn] = SIM_M2P_SHARED;
		break;
	case F_M2P_RANGE:
		/* a value at or above npfns without bit 63 (not invalid, not
		 * shared): one M2P_OUT_OF_RANGE */
		h->m2p[mfn] = d->npfns + (a & 0xfff);
		break;
	case F_IDENTITY:
		/* No ballooned-out pfn to put it over: the identity entry
		 * replaces the RAM entry of a populated pfn. Left owned, its
		 * frame would be counted in tot_pages but no longer mapped (a
		 * second finding, PAGE_COUNT_DELTA), so the guest gives it back
		 * as a balloon decrease would: Xen frees it (M2P cleared) and
		 * tot_pages drops by one with the RAM entries. One
		 * P2M_IDENTITY_MISMATCH. */
		d->p2m[a] = SIM_P2M_IDENTITY | identity_wrong(h, a);
		frame_release(h, mfn);
		tot_dec(d);
		d->wd_owned--;
		break;
	case F_COUNT_DELTA:
		/* A leaked page: the guest cleared its P2M entry (the first
		 * half of a decrease) and never gave the frame back. It stays
		 * owned and counted in tot_pages, its M2P still names a, but no
		 * P2M entry maps it: tot_pages - mapped RAM entries = 1, one
		 * PAGE_COUNT_DELTA (a ~0 entry is no finding, and the forward
		 * audit never visits the frame). */
		fault_note(d, mfn, false);
		d->p2m[a] = INVALID_ENTRY;
		break;
	case F_STRUCTURE: break;
	}
	jlog(h, d, a, mfn);
	return 0;
}

/* ---- read-only views ---- */

const uint64_t *simhost_m2p(const struct simhost *h, uint64_t *ret_nframes)
{
	if (ret_nframes)
		*ret_nframes = h->nframes;
	return h->m2p;
}

const uint64_t *simhost_p2m(const struct simhost *h, uint32_t domid, uint64_t *ret_npfns)
{
	const struct dom *d = dom_find(h, domid);

	if (!d || d->p2m_unreadable)
		return NULL;
	if (ret_npfns)
		*ret_npfns = d->npfns;
	return d->p2m;
}

uint32_t simhost_frame_owner(const struct simhost *h, uint64_t mfn)
{
	return mfn < h->nframes ? h->owner[mfn] : SIM_DOMID_INVALID;
}

const uint32_t *simhost_owner_array(const struct simhost *h, uint64_t *ret_nframes)
{
	if (ret_nframes)
		*ret_nframes = h->nframes;
	return h->owner;
}

int simhost_p2m_copy32(const struct simhost *h, uint32_t domid, uint32_t *dst, uint64_t n)
{
	const struct dom *d = dom_find(h, domid);
	uint64_t i;

	if (!d)
		return -ENOENT;
	if (d->p2m_unreadable)
		return -EIO;
	if (n > d->npfns)
		n = d->npfns;
	for (i = 0; i < n; i++) {
		uint64_t e = d->p2m[i];

		if (e == INVALID_ENTRY)
			dst[i] = UINT32_MAX;
		else
			dst[i] = (uint32_t)((e & ((UINT64_C(1) << 30) - 1)) |
					    ((e >> 63) & 1) << 31 | ((e >> 62) & 1) << 30);
	}
	return 0;
}

size_t simhost_e820(const struct simhost *h, struct sim_e820_range *ret, size_t max)
{
	size_t i;

	for (i = 0; i < h->ne820 && i < max; i++)
		ret[i] = h->e820[i];
	return h->ne820;
}

unsigned simhost_guest_width(const struct simhost *h, uint32_t domid)
{
	const struct dom *d = dom_find(h, domid);

	return d && d->type == SIM_PV ? d->width : 0;
}

int simhost_balloon_status(const struct simhost *h, uint32_t domid, struct sim_balloon_status *ret)
{
	const struct dom *d = dom_find(h, domid);
	static const enum sim_driver_state map[] = {
		[DRV_IDLE] = SIM_DRIVER_IDLE,	    [DRV_START] = SIM_DRIVER_MOVING,
		[DRV_BATCH] = SIM_DRIVER_MOVING,    [DRV_WAIT] = SIM_DRIVER_WAITING,
		[DRV_GAVE_UP] = SIM_DRIVER_GAVE_UP, [DRV_STOPPED] = SIM_DRIVER_STOPPED,
	};

	if (!d)
		return -ENOENT;
	memset(ret, 0, sizeof(*ret));
	ret->behavior = d->b.behavior;
	ret->state = d->b.behavior == SIM_BALLOON_NONE ? SIM_DRIVER_NONE : map[d->st];
	ret->has_target = d->has_target;
	ret->target_kib = d->target_kib;
	ret->retries = d->retries;
	ret->next_ms = d->drv_next == NEVER ? UINT64_MAX : d->drv_next;
	ret->inflight_pages = d->f;
	ret->moved_kib = d->moved_pages * SIM_PAGE_KIB;
	ret->rate_kib_s = d->b.rate_kib_s;
	ret->withdrawn_pages = d->w;
	ret->offset_kib = d->b.offset_kib + (d->type == SIM_HVM ? SIM_VIDEORAM_KIB : 0);
	return 0;
}
