/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The M2P/P2M auditor: a forward pass over each PV guest's P2M that reads
 * the M2P entry of every mapped frame, then a slow path for the few entries
 * that disagree (ownership, aliases, M2P classes). See audit.h for the
 * precedence of classes and what is kept. */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "audit.h"

#ifdef __SSE2__
#include <emmintrin.h>
#endif

#define DEFAULT_MAX_RECORDS 65536
/* Special P2M values all lie at or above this, so one compare against
 * nframes sends them to the slow path; nframes must stay below it. */
#define NFRAMES_LIMIT (UINT64_C(1) << 52)
#define M2P_BAD_BIT (UINT64_C(1) << 63)
/* classify_ram outcomes that are not findings */
#define CLS_NONE AUDIT_NCLASSES
#define CLS_MMIO (AUDIT_NCLASSES + 1)

/* A kept finding and the input index of its domain (for ordering). */
struct rec {
	struct audit_finding f;
	size_t dom;
};

struct audit_result {
	struct audit_dom_result *doms;
	size_t ndoms;
	struct rec *recs; /* while running; freed when findings are built */
	size_t nrecs, caprecs, max_records;
	struct audit_opts opts;		/* of audit_run, for re-checks */
	struct audit_finding *findings; /* sorted by class, domain, pfn */
	size_t cls_start[AUDIT_NCLASSES + 1];
	uint64_t count[AUDIT_NCLASSES];
	uint64_t overflow;
	uint64_t unconfirmed;
};

static const char *const class_names[AUDIT_NCLASSES] = {
	[AUDIT_M2P_MISMATCH] = "M2P_MISMATCH",
	[AUDIT_M2P_INVALID_FOR_MAPPED] = "M2P_INVALID_FOR_MAPPED",
	[AUDIT_M2P_SHARED_IN_PV] = "M2P_SHARED_IN_PV",
	[AUDIT_M2P_OUT_OF_RANGE] = "M2P_OUT_OF_RANGE",
	[AUDIT_P2M_ALIAS] = "P2M_ALIAS",
	[AUDIT_MFN_CROSS_CLAIM] = "MFN_CROSS_CLAIM",
	[AUDIT_P2M_UNOWNED_MFN] = "P2M_UNOWNED_MFN",
	[AUDIT_P2M_MFN_OUT_OF_RANGE] = "P2M_MFN_OUT_OF_RANGE",
	[AUDIT_P2M_IDENTITY_MISMATCH] = "P2M_IDENTITY_MISMATCH",
	[AUDIT_P2M_STRUCTURE_ERROR] = "P2M_STRUCTURE_ERROR",
	[AUDIT_PAGE_COUNT_DELTA] = "PAGE_COUNT_DELTA",
};

const char *audit_class_name(enum audit_class c)
{
	return (unsigned)c < AUDIT_NCLASSES ? class_names[c] : "?";
}

int audit_class_parse(const char *s, enum audit_class *ret)
{
	unsigned i;

	for (i = 0; i < AUDIT_NCLASSES; i++)
		if (strcmp(s, class_names[i]) == 0) {
			*ret = (enum audit_class)i;
			return 0;
		}
	return -EINVAL;
}

const char *audit_status_name(enum audit_status s)
{
	switch (s) {
	case AUDIT_STATUS_AUDITED: return "audited";
	case AUDIT_STATUS_SKIPPED: return "skipped";
	case AUDIT_STATUS_NOT_AUDITABLE: return "not auditable";
	}
	return "?";
}

/* ---- reading the tables ---- */

/* A 32-bit P2M entry in the 64-bit encoding. */
static inline uint64_t p2m_widen32(uint32_t e)
{
	if (e == UINT32_MAX)
		return AUDIT_P2M_INVALID;
	return (e & 0x80000000u ? AUDIT_P2M_FOREIGN : 0) |
	       (e & 0x40000000u ? AUDIT_P2M_IDENTITY : 0) | (e & 0x3fffffffu);
}

static inline uint64_t p2m_get(const struct audit_domain *d, uint64_t pfn)
{
	if (d->width == 32)
		return p2m_widen32(((const uint32_t *)d->p2m)[pfn]);
	return ((const uint64_t *)d->p2m)[pfn];
}

static inline uint32_t owner_get(const struct audit_tables *t, uint64_t mfn)
{
	return t->owner_array ? t->owner_array[mfn] : t->owner(t->owner_arg, mfn);
}

static bool dom_skipped(const struct audit_domain *d)
{
	return (d->flags & (AUDIT_DOM_DYING | AUDIT_DOM_SHUTDOWN | AUDIT_DOM_BUILDING)) != 0;
}

static enum audit_status dom_status(const struct audit_domain *d)
{
	if (dom_skipped(d))
		return AUDIT_STATUS_SKIPPED;
	if (d->guest != AUDIT_GUEST_PV)
		return AUDIT_STATUS_NOT_AUDITABLE;
	return AUDIT_STATUS_AUDITED;
}

/* The class of a RAM entry pfn -> mfn (mfn < nframes) whose M2P entry is v
 * and whose frame is owned by o, ignoring aliases among suspects (which
 * only sorting finds): a class, CLS_NONE or CLS_MMIO. */
static unsigned classify_ram(const struct audit_domain *d, uint64_t pfn, uint64_t mfn, uint64_t v,
			     uint32_t o, uint64_t *ret_other)
{
	*ret_other = AUDIT_NONE;
	if (o == AUDIT_OWNER_IO)
		return CLS_MMIO;
	if (o == AUDIT_OWNER_FREE) {
		*ret_other = o;
		return AUDIT_P2M_UNOWNED_MFN;
	}
	if (o != d->domid) {
		*ret_other = o;
		return AUDIT_MFN_CROSS_CLAIM;
	}
	if (v == pfn)
		return CLS_NONE;
	if (!(v & M2P_BAD_BIT) && v < d->npfns && p2m_get(d, v) == mfn) {
		*ret_other = v;
		return AUDIT_P2M_ALIAS;
	}
	if (v == AUDIT_M2P_SHARED)
		return AUDIT_M2P_SHARED_IN_PV;
	if (v & M2P_BAD_BIT)
		return AUDIT_M2P_INVALID_FOR_MAPPED;
	if (v >= d->npfns)
		return AUDIT_M2P_OUT_OF_RANGE;
	return AUDIT_M2P_MISMATCH;
}

/* ---- results ---- */

static struct audit_result *result_new(size_t ndoms, size_t max_records)
{
	struct audit_result *r = calloc(1, sizeof(*r));

	if (!r)
		return NULL;
	r->doms = calloc(ndoms ? ndoms : 1, sizeof(*r->doms));
	if (!r->doms) {
		free(r);
		return NULL;
	}
	r->ndoms = ndoms;
	r->max_records = max_records;
	return r;
}

void audit_result_free(struct audit_result *r)
{
	if (!r)
		return;
	free(r->doms);
	free(r->recs);
	free(r->findings);
	free(r);
}

/* Count a finding and keep it if there is room. -ENOMEM only when the
 * record array cannot grow. */
static int result_add(struct audit_result *r, size_t dom, const struct audit_finding *f)
{
	r->doms[dom].count[f->cls]++;
	r->doms[dom].nfindings++;
	r->count[f->cls]++;
	if (r->nrecs >= r->max_records) {
		r->overflow++;
		return 0;
	}
	if (r->nrecs == r->caprecs) {
		size_t cap = r->caprecs ? r->caprecs * 2 : 64;
		struct rec *nv;

		if (cap > r->max_records)
			cap = r->max_records;
		nv = realloc(r->recs, cap * sizeof(*nv));
		if (!nv)
			return -ENOMEM;
		r->recs = nv;
		r->caprecs = cap;
	}
	r->recs[r->nrecs].f = *f;
	r->recs[r->nrecs].dom = dom;
	r->nrecs++;
	return 0;
}

static void result_move(struct audit_result *r, struct rec *x, enum audit_class to)
{
	r->doms[x->dom].count[x->f.cls]--;
	r->count[x->f.cls]--;
	r->doms[x->dom].count[to]++;
	r->count[to]++;
	x->f.cls = to;
}

static int rec_cmp_mfn(const void *a, const void *b)
{
	const struct rec *x = a, *y = b;

	if (x->f.mfn != y->f.mfn)
		return x->f.mfn < y->f.mfn ? -1 : 1;
	return x->f.pfn < y->f.pfn ? -1 : x->f.pfn > y->f.pfn;
}

static int rec_cmp_out(const void *a, const void *b)
{
	const struct rec *x = a, *y = b;

	if (x->f.cls != y->f.cls)
		return x->f.cls < y->f.cls ? -1 : 1;
	if (x->dom != y->dom)
		return x->dom < y->dom ? -1 : 1;
	return x->f.pfn < y->f.pfn ? -1 : x->f.pfn > y->f.pfn;
}

static bool is_m2p_class(enum audit_class c)
{
	return c == AUDIT_M2P_MISMATCH || c == AUDIT_M2P_INVALID_FOR_MAPPED ||
	       c == AUDIT_M2P_SHARED_IN_PV || c == AUDIT_M2P_OUT_OF_RANGE;
}

/* Several kept suspects of one domain on one frame, none named by the M2P:
 * the lowest pfn keeps its M2P class, the others are aliases of it. */
static void resolve_aliases(struct audit_result *r, size_t first)
{
	size_t i, j, n = r->nrecs - first;
	struct rec *v = r->recs + first;

	if (n < 2)
		return;
	qsort(v, n, sizeof(*v), rec_cmp_mfn);
	for (i = 0; i < n; i = j) {
		size_t keep = n;

		for (j = i; j < n && v[j].f.mfn == v[i].f.mfn; j++)
			if (is_m2p_class(v[j].f.cls)) {
				if (keep == n) {
					keep = j;
				} else {
					result_move(r, &v[j], AUDIT_P2M_ALIAS);
					v[j].f.other = v[keep].f.pfn;
				}
			}
	}
}

/* Sort the kept records into per-class slices of public findings. */
static int result_finish(struct audit_result *r)
{
	size_t i;
	unsigned c;

	if (r->nrecs)
		qsort(r->recs, r->nrecs, sizeof(*r->recs), rec_cmp_out);
	r->findings = malloc((r->nrecs ? r->nrecs : 1) * sizeof(*r->findings));
	if (!r->findings)
		return -ENOMEM;
	for (i = 0; i < r->nrecs; i++)
		r->findings[i] = r->recs[i].f;
	for (c = 0, i = 0; c <= AUDIT_NCLASSES; c++) {
		while (i < r->nrecs && (unsigned)r->recs[i].f.cls < c)
			i++;
		r->cls_start[c] = i;
	}
	r->cls_start[AUDIT_NCLASSES] = r->nrecs;
	free(r->recs);
	r->recs = NULL;
	r->caprecs = 0;
	return 0;
}

/* ---- the forward pass ---- */

struct scan {
	const struct audit_tables *t;
	const struct audit_domain *d;
	struct audit_result *r;
	struct audit_dom_result *dr;
	size_t di;
	int err;
};

/* An entry with a flag bit, ~0, or an mfn beyond the M2P. */
static void __attribute__((noinline)) scan_special(struct scan *s, uint64_t pfn, uint64_t e)
{
	struct audit_finding f = {.domid = s->d->domid, .pfn = pfn, .other = AUDIT_NONE};

	if (e == AUDIT_P2M_INVALID) {
		s->dr->ballooned++;
		return;
	}
	if (e & AUDIT_P2M_FOREIGN) {
		s->dr->foreign++;
		return;
	}
	if (e & AUDIT_P2M_IDENTITY) {
		s->dr->identity++;
		if ((e & ~AUDIT_P2M_IDENTITY) == pfn)
			return;
		f.cls = AUDIT_P2M_IDENTITY_MISMATCH;
		f.mfn = e & ~AUDIT_P2M_IDENTITY;
		f.m2p = f.mfn < s->t->nframes ? s->t->m2p[f.mfn] : AUDIT_NONE;
	} else {
		s->dr->ram++;
		f.cls = AUDIT_P2M_MFN_OUT_OF_RANGE;
		f.mfn = e;
		f.m2p = AUDIT_NONE;
	}
	if (result_add(s->r, s->di, &f) < 0)
		s->err = -ENOMEM;
}

/* A RAM entry the fast path could not pass: fetch the owner if needed. */
static void __attribute__((noinline))
scan_suspect(struct scan *s, uint64_t pfn, uint64_t mfn, uint64_t v)
{
	struct audit_finding f = {.domid = s->d->domid, .pfn = pfn, .mfn = mfn, .m2p = v};
	unsigned c = classify_ram(s->d, pfn, mfn, v, owner_get(s->t, mfn), &f.other);

	if (c == CLS_MMIO)
		s->dr->mmio++;
	if (c >= AUDIT_NCLASSES)
		return;
	f.cls = (enum audit_class)c;
	if (result_add(s->r, s->di, &f) < 0)
		s->err = -ENOMEM;
}

/* Entry pfn of a P2M in the 64-bit encoding, for a width known at compile
 * time. */
static inline __attribute__((always_inline)) uint64_t p2m_at(const void *p2m, uint64_t pfn,
							     unsigned width)
{
	return width == 32 ? p2m_widen32(((const uint32_t *)p2m)[pfn])
			   : ((const uint64_t *)p2m)[pfn];
}

/* The plain pass over pfns [begin, end) in order, recording as it goes;
 * specialised by the compiler for each entry width and owner source.
 * Special entries all compare >= nframes. */
static inline __attribute__((always_inline)) void
scan_range_impl(struct scan *s, uint64_t begin, uint64_t end, unsigned width, bool inline_owner)
{
	const uint64_t *m2p = s->t->m2p;
	const uint32_t *oa = s->t->owner_array;
	const void *p2m = s->d->p2m;
	uint64_t nframes = s->t->nframes, pfn, ram = 0;
	uint32_t domid = s->d->domid;

	for (pfn = begin; pfn < end; pfn++) {
		uint64_t e = p2m_at(p2m, pfn, width), v;

		if (__builtin_expect(e >= nframes, 0)) {
			scan_special(s, pfn, e);
			continue;
		}
		ram++;
		v = m2p[e];
		if (__builtin_expect(v == pfn && (!inline_owner || oa[e] == domid), 1))
			continue;
		scan_suspect(s, pfn, e, v);
	}
	s->dr->ram += ram;
}

/* Scan pfns [begin, end) of s's domain in order, recording as it goes. */
static void scan_range(struct scan *s, uint64_t begin, uint64_t end)
{
	if (s->d->width == 32)
		s->t->owner_array ? scan_range_impl(s, begin, end, 32, true)
				  : scan_range_impl(s, begin, end, 32, false);
	else
		s->t->owner_array ? scan_range_impl(s, begin, end, 64, true)
				  : scan_range_impl(s, begin, end, 64, false);
}

/* ---- the blocked pass ----
 *
 * After much ballooning consecutive pfns map frames all over the host, and
 * a pfn-order scan reads the M2P and owner arrays at random: a cache and
 * TLB miss per entry. So a domain is read in blocks of pfns, and a block
 * in windows of WIN pfns. While windows run over consecutive frames (a
 * sample of neighbours says so) they are checked in place: their lookups
 * are sequential already. After a window out of step, the next windows
 * become (mfn, pfn) pairs, counting-sorted by M2P region and checked
 * region by region with prefetch, which turns the lookups into forward
 * sweeps over a few MiB at a time. Entries that fail the fast check are
 * flagged and go to the slow path in pfn order, so findings, statistics
 * and the order in which findings are recorded (which decides what
 * max_records keeps) are exactly those of a plain pfn-order scan. Each
 * entry is classified from one read of it: the first read of a sorted
 * window only sizes its regions, and a region that fills up early, because
 * the guest changed its P2M meanwhile, sends the entry to the in-place
 * check; a block with very many suspects is dropped and scanned again in
 * place, recording as it goes. Blocks are independent: with several
 * threads each takes one block per round and the calling thread records
 * the flags of the round in block order, so results do not depend on the
 * thread count or block size, and the owner callback is only ever called
 * from the calling thread. */

#define WIN 512	      /* pfns per window */
#define WIN_SAMPLE 32 /* run detection: one pair of neighbours per WIN_SAMPLE pfns */
#define PACK_SHIFT 24 /* pair: mfn << PACK_SHIFT | pfn - block start */
#define PACK_OFF_MASK ((UINT64_C(1) << PACK_SHIFT) - 1)
#define PACK_MFN_LIMIT (UINT64_C(1) << (64 - PACK_SHIFT))
#define BLOCK_MAX (UINT64_C(1) << PACK_SHIFT)
#define BLOCK_AUTO_MIN (UINT64_C(1) << 16)
#define BLOCK_AUTO_MAX (UINT64_C(1) << 22)
#define FANOUT 512 /* M2P regions per block (at most) */
#define PREFETCH_AHEAD 32
#define FLAGS_MIN 64

/* An entry for the slow path: a special entry (e >= nframes), or a RAM
 * entry whose M2P entry v or owner did not match. */
struct flag {
	uint64_t pfn, e, v;
};

/* One block's work: its buffers (kept across blocks) and what it found. */
struct worker {
	const struct audit_tables *t;
	const struct audit_domain *d;
	unsigned shift; /* region of a frame: mfn >> shift */
	size_t nregions;
	uint64_t *pairs; /* block pairs */
	uint32_t *start; /* nregions + 1: region k's pairs are [start[k], start[k+1]) */
	uint32_t *fill;	 /* nregions */
	uint32_t *defer; /* windows left for the sorted check, by number */
	struct flag *flags;
	size_t nflags, capflags, maxflags;
	/* the partitioned pass (allocated on first use): pairs by bucket of
	 * 2^PART_SHIFT frames, in segments of PART_SEG pairs from pool */
	bool partition; /* this block: partitioned, not sorted by region */
	unsigned pshift; /* bucket of a frame: mfn >> pshift */
	size_t nbuckets, nsegs;
	uint64_t *pool;	  /* nsegs x PART_SEG pairs */
	uint64_t *wc;	  /* nbuckets x PART_WC pairs not written to pool yet */
	uint32_t *wcn;	  /* nbuckets: how many */
	uint32_t *head;	  /* nbuckets: first segment, PART_NONE if none */
	uint32_t *tail;	  /* nbuckets: last segment */
	uint32_t *tailn;  /* nbuckets: pairs in it */
	uint32_t *next;	  /* nsegs: the bucket's next segment */
	uint64_t begin, end;
	uint64_t ram, ballooned, foreign, identity;
	bool dense; /* over maxflags: the block is scanned again in place */
	int err;
	pthread_t thread;
	bool started;
};

/* What audit_run needs for the blocked pass: workers and block size. */
struct pass {
	struct worker *w;
	unsigned nworkers;
	uint64_t block; /* pfns per block; 0: plain scan */
	uint64_t part_block; /* pfns per block of a partitioned domain */
	enum audit_method method;
};

/* Keep an entry for the slow path; past maxflags the block is dense. */
static void __attribute__((noinline))
flag_add(struct worker *w, uint64_t pfn, uint64_t e, uint64_t v)
{
	if (w->nflags == w->capflags) {
		size_t cap = w->capflags ? w->capflags * 2 : FLAGS_MIN;
		struct flag *nv;

		if (w->capflags >= w->maxflags) {
			w->dense = true;
			return;
		}
		if (cap > w->maxflags)
			cap = w->maxflags;
		nv = realloc(w->flags, cap * sizeof(*nv));
		if (!nv) {
			w->err = -ENOMEM;
			w->dense = true;
			return;
		}
		w->flags = nv;
		w->capflags = cap;
	}
	w->flags[w->nflags++] = (struct flag){.pfn = pfn, .e = e, .v = v};
}

/* Count a special entry that is not a finding, flag one that may be. */
static inline __attribute__((always_inline)) void entry_special(struct worker *w, uint64_t pfn,
								uint64_t e)
{
	if (e == AUDIT_P2M_INVALID)
		w->ballooned++;
	else if (e & AUDIT_P2M_FOREIGN)
		w->foreign++;
	else if (e == (AUDIT_P2M_IDENTITY | pfn))
		w->identity++;
	else
		flag_add(w, pfn, e, 0);
}

/* Whether the RAM entries of window [begin, end) (just read, so cached)
 * run over consecutive frames: sampled, one pair of neighbours in every
 * WIN_SAMPLE entries, at most one sampled pair out of step. */
static inline __attribute__((always_inline)) bool
window_runs(const struct worker *w, uint64_t begin, uint64_t end, unsigned width)
{
	uint64_t nframes = w->t->nframes, pfn;
	unsigned breaks = 0;

	for (pfn = begin; pfn + 1 < end; pfn += WIN_SAMPLE) {
		uint64_t a = p2m_at(w->d->p2m, pfn, width), b = p2m_at(w->d->p2m, pfn + 1, width);

		breaks += a < nframes && b < nframes && b != a + 1;
	}
	return breaks <= 1;
}

/* The fast check of pfns [begin, end) in place; returns the RAM entries. */
static inline __attribute__((always_inline)) uint64_t
window_check(struct worker *w, uint64_t begin, uint64_t end, unsigned width, bool inline_owner)
{
	const void *p2m = w->d->p2m;
	const uint64_t *m2p = w->t->m2p;
	const uint32_t *oa = w->t->owner_array;
	uint64_t nframes = w->t->nframes, pfn, ram = 0;
	uint32_t domid = w->d->domid;

	for (pfn = begin; pfn < end; pfn++) {
		uint64_t e = p2m_at(p2m, pfn, width), v;

		if (__builtin_expect(e >= nframes, 0)) {
			entry_special(w, pfn, e);
			continue;
		}
		ram++;
		v = m2p[e];
		if (__builtin_expect(v == pfn && (!inline_owner || oa[e] == domid), 1))
			continue;
		flag_add(w, pfn, e, v);
	}
	return ram;
}

/* Check n pairs (sorted region by region, or one bucket's), prefetching
 * ahead. */
static inline __attribute__((always_inline)) void
pairs_probe(struct worker *w, const uint64_t *pairs, size_t n, bool inline_owner)
{
	const uint64_t *m2p = w->t->m2p;
	const uint32_t *oa = w->t->owner_array;
	uint32_t domid = w->d->domid;
	uint64_t begin = w->begin;
	size_t j;

	for (j = 0; j < n; j++) {
		uint64_t x = pairs[j], e = x >> PACK_SHIFT, pfn = begin + (x & PACK_OFF_MASK), v;

		if (j + PREFETCH_AHEAD < n) {
			uint64_t f = pairs[j + PREFETCH_AHEAD] >> PACK_SHIFT;

			__builtin_prefetch(&m2p[f]);
			if (inline_owner)
				__builtin_prefetch(&oa[f]);
		}
		v = m2p[e];
		if (__builtin_expect(v == pfn && (!inline_owner || oa[e] == domid), 1))
			continue;
		flag_add(w, pfn, e, v);
		if (w->dense)
			return;
	}
}

/* Run w's block [begin, end): count, flag, never record; specialised by the
 * compiler for each entry width and owner source. */
static inline __attribute__((always_inline)) void block_scan_impl(struct worker *w, unsigned width,
								  bool inline_owner)
{
	const void *p2m = w->d->p2m;
	uint64_t nframes = w->t->nframes, begin = w->begin, end = w->end, wb, pfn, ram = 0;
	uint32_t *start = w->start, *fill = w->fill;
	uint64_t *pairs = w->pairs;
	unsigned shift = w->shift;
	size_t ndefer = 0, i, k, n;
	bool in_place = true;

	memset(start, 0, (w->nregions + 1) * sizeof(*start));
	/* First read: a window is checked in place when the one before it ran
	 * over consecutive frames, else sized by region for the sorted check. */
	for (wb = begin; wb < end && !w->dense; wb += WIN) {
		uint64_t we = wb + WIN < end ? wb + WIN : end;

		if (in_place) {
			ram += window_check(w, wb, we, width, inline_owner);
		} else {
			for (pfn = wb; pfn < we; pfn++) {
				uint64_t e = p2m_at(p2m, pfn, width);

				if (e < nframes)
					start[(e >> shift) + 1]++;
			}
			w->defer[ndefer++] = (uint32_t)((wb - begin) / WIN);
		}
		in_place = window_runs(w, wb, we, width);
	}
	w->ram += ram;
	if (!ndefer || w->dense)
		return;
	for (k = 0; k < w->nregions; k++) {
		start[k + 1] += start[k];
		fill[k] = start[k];
	}
	/* second read: the pairs, by region */
	ram = 0;
	for (i = 0; i < ndefer && !w->dense; i++) {
		uint64_t we;

		wb = begin + (uint64_t)w->defer[i] * WIN;
		we = wb + WIN < end ? wb + WIN : end;
		for (pfn = wb; pfn < we; pfn++) {
			uint64_t e = p2m_at(p2m, pfn, width);

			if (__builtin_expect(e >= nframes, 0)) {
				entry_special(w, pfn, e);
				continue;
			}
			k = e >> shift;
			if (__builtin_expect(fill[k] == start[k + 1], 0)) {
				ram += window_check(w, pfn, pfn + 1, width, inline_owner);
				continue;
			}
			ram++;
			pairs[fill[k]++] = e << PACK_SHIFT | (pfn - begin);
		}
	}
	w->ram += ram;
	if (w->dense)
		return;
	/* close the gaps a changing P2M left */
	for (k = 0, n = 0; k < w->nregions; k++) {
		size_t c = fill[k] - start[k];

		if (n != start[k])
			memmove(pairs + n, pairs + start[k], c * sizeof(*pairs));
		n += c;
	}
	pairs_probe(w, pairs, n, inline_owner);
}

/* ---- the partitioned pass ----
 *
 * For a fragmented domain sorting by region costs two
 * reads of the P2M and scattered writes into hundreds of regions at once.
 * The partitioned pass reads each entry once: a RAM entry becomes a pair
 * (the same mfn << PACK_SHIFT | offset as above) buffered in a cache line
 * of its bucket (2^PART_SHIFT frames: an M2P slice of 1 MiB and an owner
 * slice of 512 KiB, which stay in cache while the bucket is checked),
 * written out a whole line at a time into the bucket's segments. Then each
 * bucket is checked in turn. Flags, dense blocks and the statistics are
 * those of the sorted pass, so results are identical. Scratch, per thread:
 * 8 bytes per block entry, plus one partly filled segment (2 KiB) and one
 * buffered line (64 bytes) per bucket: for a 1 TiB host (2,048 buckets)
 * 32 MiB + 4.2 MiB with the automatic block size (PART_BLOCK_AUTO).
 * Measured (bench-audit, 64 GiB, one thread, CPU time): 6.2 times a
 * streaming read of the P2M, M2P and owner array, against 9.7 for the
 * sorted pass; the time goes about half to the pass, half to the probe. */

#define PART_SHIFT 17  /* frames per bucket: 2^17 */
#define PART_MIN_BUCKETS 64
#define PART_WC 8      /* pairs per buffered line (64 bytes) */
#define PART_SEG 256   /* pairs per segment */
#define PART_NONE UINT32_MAX
#define PART_BLOCK_AUTO (UINT64_C(1) << 22)

static void part_free(struct worker *w)
{
	free(w->pool);
	free(w->wc);
	free(w->wcn);
	free(w->head);
	free(w->tail);
	free(w->tailn);
	free(w->next);
	w->pool = w->wc = NULL;
	w->wcn = w->head = w->tail = w->tailn = w->next = NULL;
}

/* w's partition buffers for blocks of block pairs: 0 or -ENOMEM. */
static int part_alloc(struct worker *w, uint64_t block)
{
	uint64_t top = w->t->nframes ? w->t->nframes - 1 : 0;

	if (w->pool)
		return 0;
	/* a small host has smaller slices (all in cache anyway), still in
	 * PART_MIN_BUCKETS buckets or more */
	for (w->pshift = PART_SHIFT; w->pshift > 0 && (top >> w->pshift) + 1 < PART_MIN_BUCKETS;)
		w->pshift--;
	w->nbuckets = (size_t)(top >> w->pshift) + 1;
	w->nsegs = (size_t)((block + PART_SEG - 1) / PART_SEG) + w->nbuckets;
	w->pool = aligned_alloc(64, w->nsegs * PART_SEG * sizeof(*w->pool));
	w->wc = aligned_alloc(64, w->nbuckets * PART_WC * sizeof(*w->wc));
	w->wcn = malloc(w->nbuckets * sizeof(*w->wcn));
	w->head = malloc(w->nbuckets * sizeof(*w->head));
	w->tail = malloc(w->nbuckets * sizeof(*w->tail));
	w->tailn = malloc(w->nbuckets * sizeof(*w->tailn));
	w->next = malloc(w->nsegs * sizeof(*w->next));
	if (!w->pool || !w->wc || !w->wcn || !w->head || !w->tail || !w->tailn || !w->next) {
		part_free(w);
		return -ENOMEM;
	}
	return 0;
}

/* Write one buffered line (64 bytes, both aligned) to the pool. With SSE2,
 * non-temporal stores: a store missing the cache would first read the line
 * from memory (one miss a line, scattered over every bucket); these write
 * it whole, without reading it or pushing the slices out of the cache. */
static inline __attribute__((always_inline)) void line_store(uint64_t *dst, const uint64_t *src)
{
#ifdef __SSE2__
	const __m128i *s = (const __m128i *)src;
	__m128i *d = (__m128i *)dst;

	_mm_stream_si128(d, _mm_load_si128(s));
	_mm_stream_si128(d + 1, _mm_load_si128(s + 1));
	_mm_stream_si128(d + 2, _mm_load_si128(s + 2));
	_mm_stream_si128(d + 3, _mm_load_si128(s + 3));
#else
	memcpy(dst, src, PART_WC * sizeof(*dst));
#endif
}

/* Move bucket k's n buffered pairs to its segments (a new one when the
 * last is full; the pool always has one: see part_alloc). */
static inline __attribute__((always_inline)) void part_flush(struct worker *w, size_t k,
							     uint32_t n, size_t *used)
{
	uint32_t s = w->tail[k];

	if (s == PART_NONE || w->tailn[k] + n > PART_SEG) {
		uint32_t ns = (uint32_t)(*used)++;

		w->next[ns] = PART_NONE;
		if (s == PART_NONE)
			w->head[k] = ns;
		else
			w->next[s] = ns;
		w->tail[k] = s = ns;
		w->tailn[k] = 0;
	}
	if (n == PART_WC)
		line_store(w->pool + (size_t)s * PART_SEG + w->tailn[k], w->wc + k * PART_WC);
	else
		memcpy(w->pool + (size_t)s * PART_SEG + w->tailn[k], w->wc + k * PART_WC,
		       n * sizeof(*w->wc));
	w->tailn[k] += n;
}

/* Run w's block partitioned: one read of its entries into the buckets,
 * then each bucket checked against its slice. */
static inline __attribute__((always_inline)) void block_part_impl(struct worker *w, unsigned width,
								  bool inline_owner)
{
	const void *p2m = w->d->p2m;
	uint64_t nframes = w->t->nframes, begin = w->begin, end = w->end, pfn, ram = 0;
	uint64_t *wc = w->wc;
	uint32_t *wcn = w->wcn;
	size_t k, used = 0;

	memset(wcn, 0, w->nbuckets * sizeof(*wcn));
	memset(w->head, 0xff, w->nbuckets * sizeof(*w->head));
	memset(w->tail, 0xff, w->nbuckets * sizeof(*w->tail));
	for (pfn = begin; pfn < end && !w->dense; pfn++) {
		uint64_t e = p2m_at(p2m, pfn, width);

		if (__builtin_expect(e >= nframes, 0)) {
			entry_special(w, pfn, e);
			continue;
		}
		ram++;
		k = e >> w->pshift;
		wc[k * PART_WC + wcn[k]] = e << PACK_SHIFT | (pfn - begin);
		if (++wcn[k] == PART_WC) {
			part_flush(w, k, PART_WC, &used);
			wcn[k] = 0;
		}
	}
	w->ram += ram;
#ifdef __SSE2__
	_mm_sfence(); /* the non-temporal stores before the reads */
#endif
	if (w->dense)
		return;
	for (k = 0; k < w->nbuckets; k++) {
		uint32_t s;

		if (wcn[k])
			part_flush(w, k, wcn[k], &used);
		for (s = w->head[k]; s != PART_NONE && !w->dense; s = w->next[s])
			pairs_probe(w, w->pool + (size_t)s * PART_SEG,
				    s == w->tail[k] ? w->tailn[k] : PART_SEG, inline_owner);
	}
}

/* Run w's block: counts and flags, nothing recorded. */
static void block_scan(struct worker *w)
{
	w->nflags = 0;
	w->ram = w->ballooned = w->foreign = w->identity = 0;
	w->dense = false;
	w->err = 0;
	if (w->partition) {
		if (w->d->width == 32)
			w->t->owner_array ? block_part_impl(w, 32, true)
					  : block_part_impl(w, 32, false);
		else
			w->t->owner_array ? block_part_impl(w, 64, true)
					  : block_part_impl(w, 64, false);
		return;
	}
	if (w->d->width == 32)
		w->t->owner_array ? block_scan_impl(w, 32, true) : block_scan_impl(w, 32, false);
	else
		w->t->owner_array ? block_scan_impl(w, 64, true) : block_scan_impl(w, 64, false);
}

static void *block_thread(void *arg)
{
	block_scan(arg);
	return NULL;
}

static int flag_cmp_pfn(const void *a, const void *b)
{
	const struct flag *x = a, *y = b;

	return x->pfn < y->pfn ? -1 : x->pfn > y->pfn;
}

/* Record w's block into s: its flags through the slow path in pfn order,
 * or, for a dense block, a plain scan of it. */
static int block_record(struct scan *s, struct worker *w)
{
	size_t i;

	if (w->err)
		return w->err;
	if (w->dense) {
		scan_range(s, w->begin, w->end);
		return s->err;
	}
	for (i = 1; i < w->nflags && w->flags[i - 1].pfn < w->flags[i].pfn; i++)
		;
	if (i < w->nflags)
		qsort(w->flags, w->nflags, sizeof(*w->flags), flag_cmp_pfn);
	for (i = 0; i < w->nflags && !s->err; i++) {
		const struct flag *f = &w->flags[i];

		if (f->e >= s->t->nframes)
			scan_special(s, f->pfn, f->e);
		else
			scan_suspect(s, f->pfn, f->e, f->v);
	}
	s->dr->ram += w->ram;
	s->dr->ballooned += w->ballooned;
	s->dr->foreign += w->foreign;
	s->dr->identity += w->identity;
	return s->err;
}

/* Whether the domain is read partitioned: only when asked for
 * (AUDIT_METHOD_PARTITION). AUDIT_METHOD_AUTO sorts: measured with
 * bench-audit on this project's machines (AMD EPYC, 2 cores, one thread,
 * quiet), the partitioned pass was slower than the sorted one at every
 * fragmentation, fragmented 64 GiB: 55-57 against 92-100 M pages/s, 256
 * GiB: 69 against 88 (20 and 12 times a streaming read of what the audit
 * reads). An earlier machine measured it faster (6.2 against 9.7 times),
 * which is why it exists; auto chose it from a sampled fragmentation of
 * 0.03 and so ran 1.3-1.8 times slower here than sorting. */
static bool dom_partitioned(const struct pass *p)
{
	return p->method == AUDIT_METHOD_PARTITION;
}

/* The domain in blocks, up to one per worker and round. */
static int scan_blocks(struct scan *s, const struct pass *p)
{
	uint64_t n = s->d->npfns, b = 0, block;
	bool partition = dom_partitioned(p);
	unsigned i, m;
	int rc;

	for (i = 0; partition && i < p->nworkers; i++) {
		p->w[i].t = s->t;
		if (part_alloc(&p->w[i], p->part_block) < 0)
			return -ENOMEM;
	}
	block = partition ? p->part_block : p->block;
	while (b < n) {
		for (m = 0; m < p->nworkers && b < n; m++, b += block) {
			struct worker *w = &p->w[m];

			w->t = s->t;
			w->d = s->d;
			w->partition = partition;
			w->begin = b;
			w->end = b + block < n ? b + block : n;
		}
		for (i = 1; i < m; i++)
			p->w[i].started =
				pthread_create(&p->w[i].thread, NULL, block_thread, &p->w[i]) == 0;
		block_scan(&p->w[0]);
		for (i = 1; i < m; i++)
			if (p->w[i].started)
				pthread_join(p->w[i].thread, NULL);
			else
				block_scan(&p->w[i]);
		for (i = 0; i < m; i++) {
			rc = block_record(s, &p->w[i]);
			if (rc < 0)
				return rc;
		}
	}
	return 0;
}

static void pass_free(struct pass *p)
{
	unsigned i;

	if (!p->w)
		return;
	for (i = 0; i < p->nworkers; i++) {
		free(p->w[i].pairs);
		free(p->w[i].start);
		free(p->w[i].fill);
		free(p->w[i].defer);
		free(p->w[i].flags);
		part_free(&p->w[i]);
	}
	free(p->w);
	p->w = NULL;
}

/* Size the blocked pass for t and opts (see struct audit_opts): 0 or
 * -ENOMEM. A host too large to pack an mfn beside a block offset, or
 * without PV domains, gets the plain scan. */
static int pass_init(struct pass *p, const struct audit_tables *t, const struct audit_opts *opts)
{
	uint64_t block = opts ? opts->block_pages : 0, most = 0, top;
	unsigned nthreads = opts && opts->nthreads ? opts->nthreads : 1, shift = 0, i;
	size_t k;

	memset(p, 0, sizeof(*p));
	for (k = 0; k < t->ndoms; k++)
		if (t->doms[k].p2m && t->doms[k].npfns > most)
			most = t->doms[k].npfns;
	if (t->nframes >= PACK_MFN_LIMIT || most == 0)
		return 0;
	if (!block) {
		for (block = BLOCK_AUTO_MIN; block < t->nframes / 32 && block < BLOCK_AUTO_MAX;)
			block *= 2;
	}
	block = (block + WIN - 1) / WIN * WIN;
	if (block > BLOCK_MAX)
		block = BLOCK_MAX;
	if (block > (most + WIN - 1) / WIN * WIN)
		block = (most + WIN - 1) / WIN * WIN;
	if ((most + block - 1) / block < nthreads)
		nthreads = (unsigned)((most + block - 1) / block);
	top = t->nframes ? t->nframes - 1 : 0;
	while ((top >> shift) >= FANOUT)
		shift++;
	p->block = block;
	/* The partitioned pass reads an M2P slice's lines once a block: the
	 * larger the block, the fewer times (PART_BLOCK_AUTO: 32 MiB of pairs). */
	p->part_block = opts && opts->block_pages ? block : most < PART_BLOCK_AUTO ? most : PART_BLOCK_AUTO;
	p->nworkers = nthreads;
	p->method = opts ? opts->method : AUDIT_METHOD_AUTO;
	p->w = calloc(nthreads, sizeof(*p->w));
	if (!p->w)
		return -ENOMEM;
	for (i = 0; i < nthreads; i++) {
		struct worker *w = &p->w[i];

		w->shift = shift;
		w->nregions = (size_t)(top >> shift) + 1;
		w->maxflags = block / 16 > FLAGS_MIN ? block / 16 : FLAGS_MIN;
		w->pairs = malloc(block * sizeof(*w->pairs));
		w->start = malloc((w->nregions + 1) * sizeof(*w->start));
		w->fill = malloc(w->nregions * sizeof(*w->fill));
		w->defer = malloc(block / WIN * sizeof(*w->defer));
		if (!w->pairs || !w->start || !w->fill || !w->defer) {
			pass_free(p);
			return -ENOMEM;
		}
	}
	return 0;
}

/* Audit one domain into r (its slot di already holds domid and status). */
static int scan_domain(const struct audit_tables *t, const struct pass *p,
		       const struct audit_domain *d, struct audit_result *r, size_t di)
{
	struct scan s = {.t = t, .d = d, .r = r, .dr = &r->doms[di], .di = di};
	size_t first = r->nrecs;
	uint64_t mapped;
	int rc = 0;

	s.dr->tot_pages = d->tot_pages;
	if (!d->p2m) {
		struct audit_finding f = {.cls = AUDIT_P2M_STRUCTURE_ERROR,
					  .domid = d->domid,
					  .pfn = AUDIT_NONE,
					  .mfn = AUDIT_NONE,
					  .m2p = AUDIT_NONE,
					  .other = AUDIT_NONE};

		return result_add(r, di, &f);
	}
	if (p->block)
		rc = scan_blocks(&s, p);
	else
		scan_range(&s, 0, d->npfns);
	if (rc < 0)
		return rc;
	if (s.err)
		return s.err;
	s.dr->scanned = d->npfns;
	resolve_aliases(r, first);
	mapped = s.dr->ram - s.dr->mmio;
	if (mapped != d->tot_pages) {
		struct audit_finding f = {.cls = AUDIT_PAGE_COUNT_DELTA,
					  .domid = d->domid,
					  .pfn = AUDIT_NONE,
					  .mfn = AUDIT_NONE,
					  .m2p = AUDIT_NONE,
					  .other = AUDIT_NONE,
					  .delta = (int64_t)(d->tot_pages - mapped)};

		return result_add(r, di, &f);
	}
	return 0;
}

static int tables_check(const struct audit_tables *t)
{
	size_t i;

	if (!t || !t->m2p || t->nframes >= NFRAMES_LIMIT || (!t->owner_array && !t->owner) ||
	    (t->ndoms && !t->doms))
		return -EINVAL;
	for (i = 0; i < t->ndoms; i++)
		if (t->doms[i].guest == AUDIT_GUEST_PV && t->doms[i].width != 32 &&
		    t->doms[i].width != 64)
			return -EINVAL;
	return 0;
}

int audit_run(const struct audit_tables *t, const struct audit_opts *opts,
	      struct audit_result **ret)
{
	size_t max = opts && opts->max_records ? opts->max_records : DEFAULT_MAX_RECORDS;
	struct audit_result *r;
	struct pass p;
	size_t i;
	int rc;

	rc = tables_check(t);
	if (rc < 0)
		return rc;
	r = result_new(t->ndoms, max);
	if (!r)
		return -ENOMEM;
	if (opts)
		r->opts = *opts;
	rc = pass_init(&p, t, opts);
	if (rc < 0) {
		audit_result_free(r);
		return rc;
	}
	for (i = 0; i < t->ndoms; i++) {
		const struct audit_domain *d = &t->doms[i];

		r->doms[i].domid = d->domid;
		r->doms[i].status = dom_status(d);
		r->doms[i].tot_pages = d->tot_pages;
		if (r->doms[i].status != AUDIT_STATUS_AUDITED)
			continue;
		rc = scan_domain(t, &p, d, r, i);
		if (rc < 0) {
			pass_free(&p);
			audit_result_free(r);
			return rc;
		}
	}
	pass_free(&p);
	rc = result_finish(r);
	if (rc < 0) {
		audit_result_free(r);
		return rc;
	}
	*ret = r;
	return 0;
}

/* ---- re-check ---- */

static const struct audit_domain *tables_find(const struct audit_tables *t, uint32_t domid)
{
	size_t i;

	for (i = 0; i < t->ndoms; i++)
		if (t->doms[i].domid == domid)
			return &t->doms[i];
	return NULL;
}

/* Whether entry finding f of domain d is still there in t. */
static bool entry_still_there(const struct audit_tables *t, const struct audit_domain *d,
			      const struct audit_finding *f)
{
	uint64_t e, v, other;
	uint32_t o;

	if (!d->p2m || f->pfn >= d->npfns)
		return false;
	e = p2m_get(d, f->pfn);
	switch (f->cls) {
	case AUDIT_P2M_IDENTITY_MISMATCH:
		return e == (f->mfn | AUDIT_P2M_IDENTITY) &&
		       (f->mfn < t->nframes ? t->m2p[f->mfn] : AUDIT_NONE) == f->m2p;
	case AUDIT_P2M_MFN_OUT_OF_RANGE: return e == f->mfn && e >= t->nframes;
	default: break;
	}
	if (e != f->mfn || e >= t->nframes)
		return false;
	v = t->m2p[e];
	if (v != f->m2p)
		return false;
	o = owner_get(t, e);
	if (f->cls == AUDIT_P2M_ALIAS)
		return o == d->domid && f->other < d->npfns && p2m_get(d, f->other) == e;
	return classify_ram(d, f->pfn, e, v, o, &other) == (unsigned)f->cls && other == f->other;
}

/* Whether domain finding f (count delta, unreadable P2M) is still there;
 * a count delta is counted again with the options of the first pass. */
static int dom_still_there(const struct audit_tables *t, const struct audit_domain *d,
			   const struct audit_opts *opts, const struct audit_finding *f, bool *ret)
{
	struct audit_tables one = *t;
	struct audit_result *tmp;
	struct pass p;
	int rc;

	if (f->cls == AUDIT_P2M_STRUCTURE_ERROR) {
		*ret = d->p2m == NULL;
		return 0;
	}
	if (!d->p2m) {
		*ret = false;
		return 0;
	}
	tmp = result_new(1, 1);
	if (!tmp)
		return -ENOMEM;
	one.doms = d;
	one.ndoms = 1;
	rc = pass_init(&p, &one, opts);
	if (rc < 0) {
		audit_result_free(tmp);
		return rc;
	}
	rc = scan_domain(t, &p, d, tmp, 0);
	pass_free(&p);
	if (rc == 0)
		*ret = tmp->doms[0].count[AUDIT_PAGE_COUNT_DELTA] &&
		       (int64_t)(d->tot_pages - (tmp->doms[0].ram - tmp->doms[0].mmio)) == f->delta;
	audit_result_free(tmp);
	return rc;
}

int audit_recheck(const struct audit_result *prev, const struct audit_tables *now,
		  struct audit_result **ret)
{
	struct audit_result *r;
	size_t i, di;
	int rc;

	if (!prev || !prev->findings)
		return -EINVAL;
	rc = tables_check(now);
	if (rc < 0)
		return rc;
	r = result_new(prev->ndoms, prev->max_records);
	if (!r)
		return -ENOMEM;
	r->opts = prev->opts;
	for (di = 0; di < prev->ndoms; di++) {
		r->doms[di] = prev->doms[di];
		memset(r->doms[di].count, 0, sizeof(r->doms[di].count));
		r->doms[di].nfindings = 0;
	}
	r->unconfirmed = prev->overflow;
	for (i = 0; i < prev->cls_start[AUDIT_NCLASSES]; i++) {
		const struct audit_finding *f = &prev->findings[i];
		const struct audit_domain *d = tables_find(now, f->domid);
		bool keep = false;

		if (!d || dom_status(d) != AUDIT_STATUS_AUDITED)
			continue;
		for (di = 0; di < prev->ndoms && prev->doms[di].domid != f->domid; di++)
			;
		/* A count delta is judged at rest only: while tot_pages moves a
		 * balloon batch is in flight and its P2M half may lag. */
		if (f->cls == AUDIT_PAGE_COUNT_DELTA && prev->doms[di].tot_pages != d->tot_pages)
			continue;
		if (f->cls == AUDIT_PAGE_COUNT_DELTA || f->cls == AUDIT_P2M_STRUCTURE_ERROR) {
			rc = dom_still_there(now, d, &prev->opts, f, &keep);
			if (rc < 0)
				goto fail;
		} else {
			keep = entry_still_there(now, d, f);
		}
		if (!keep)
			continue;
		rc = result_add(r, di, f);
		if (rc < 0)
			goto fail;
	}
	rc = result_finish(r);
	if (rc < 0)
		goto fail;
	*ret = r;
	return 0;
fail:
	audit_result_free(r);
	return rc;
}

/* ---- reading results ---- */

uint64_t audit_result_count(const struct audit_result *r, enum audit_class c)
{
	return (unsigned)c < AUDIT_NCLASSES ? r->count[c] : 0;
}

uint64_t audit_result_total(const struct audit_result *r)
{
	uint64_t n = 0;
	unsigned c;

	for (c = 0; c < AUDIT_NCLASSES; c++)
		n += r->count[c];
	return n;
}

uint64_t audit_result_overflow(const struct audit_result *r)
{
	return r->overflow;
}

uint64_t audit_result_unconfirmed(const struct audit_result *r)
{
	return r->unconfirmed;
}

size_t audit_result_ndoms(const struct audit_result *r)
{
	return r->ndoms;
}

const struct audit_dom_result *audit_result_dom(const struct audit_result *r, size_t i)
{
	return i < r->ndoms ? &r->doms[i] : NULL;
}

bool audit_dom_result_clean(const struct audit_dom_result *d)
{
	return d->status == AUDIT_STATUS_AUDITED && d->nfindings == 0;
}

const struct audit_finding *audit_result_findings(const struct audit_result *r, enum audit_class c,
						  size_t *ret_n)
{
	if ((unsigned)c >= AUDIT_NCLASSES) {
		*ret_n = 0;
		return r->findings;
	}
	*ret_n = r->cls_start[c + 1] - r->cls_start[c];
	return r->findings + r->cls_start[c];
}
