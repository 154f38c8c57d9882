/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Unit tests for the M2P/P2M auditor: simulated hosts (fresh, ballooned,
 * both guest widths, HVM/PVH) audit clean; each injected fault class is
 * found exactly once and nothing else; hand-built tables cover the entries
 * that are not findings and the classes the injector cannot make; re-checks
 * drop transient windows and keep persistent faults. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit.h"
#include "simhost.h"
#include "simxs.h"

#define MIB 1024ull
#define GIB (1024ull * 1024ull)
#define MAXDOMS 16

/* ---- audit tables over a simulated host ---- */

/* What the auditor gets from a simhost: the M2P, owner lookups (array or
 * callback), and one audit_domain per domain, 32-bit P2Ms narrowed. */
struct simview {
	struct audit_tables t;
	struct audit_domain doms[MAXDOMS];
	uint32_t *p2m32[MAXDOMS];
	uint32_t *owners;
};

/* Guest widths by domid; the sim does not report them. */
static unsigned width_of[256];

static uint32_t sim_owner_cb(void *arg, uint64_t mfn)
{
	return simhost_frame_owner(arg, mfn);
}

static void view_build(struct simview *v, struct simhost *h, bool owner_array)
{
	struct sim_dominfo info[MAXDOMS];
	size_t n = simhost_getinfolist(h, 0, info, MAXDOMS), i;

	memset(v, 0, sizeof(*v));
	v->t.m2p = simhost_m2p(h, &v->t.nframes);
	if (owner_array) {
		uint64_t f;

		v->owners = malloc(v->t.nframes * sizeof(*v->owners));
		assert_non_null(v->owners);
		for (f = 0; f < v->t.nframes; f++)
			v->owners[f] = simhost_frame_owner(h, f);
		v->t.owner_array = v->owners;
	} else {
		v->t.owner = sim_owner_cb;
		v->t.owner_arg = h;
	}
	for (i = 0; i < n; i++) {
		struct audit_domain *d = &v->doms[i];
		/* NULL for an unreadable P2M (P2M_STRUCTURE_ERROR): passed on */
		const uint64_t *p2m = simhost_p2m(h, info[i].domid, &d->npfns);

		d->domid = info[i].domid;
		d->guest = info[i].type == SIM_PV    ? AUDIT_GUEST_PV
			   : info[i].type == SIM_PVH ? AUDIT_GUEST_PVH
						     : AUDIT_GUEST_HVM;
		d->flags = (info[i].dying ? AUDIT_DOM_DYING : 0) |
			   (info[i].shutdown ? AUDIT_DOM_SHUTDOWN : 0);
		d->tot_pages = info[i].tot_kib / SIM_PAGE_KIB;
		d->width = width_of[d->domid & 255] == 32 ? 32 : 64;
		if (d->width == 32 && p2m) {
			uint64_t pfn;

			v->p2m32[i] = malloc((d->npfns ? d->npfns : 1) * sizeof(uint32_t));
			assert_non_null(v->p2m32[i]);
			for (pfn = 0; pfn < d->npfns; pfn++) {
				uint64_t e = p2m[pfn], low = e & ~AUDIT_P2M_IDENTITY;

				assert_true(e == UINT64_MAX || low < (1u << 30));
				v->p2m32[i][pfn] =
					e == UINT64_MAX
						? UINT32_MAX
						: (uint32_t)low |
							  (e & AUDIT_P2M_IDENTITY ? 1u << 30 : 0);
			}
			d->p2m = v->p2m32[i];
		} else {
			d->p2m = p2m;
		}
	}
	v->t.doms = v->doms;
	v->t.ndoms = n;
}

static void view_free(struct simview *v)
{
	size_t i;

	for (i = 0; i < MAXDOMS; i++)
		free(v->p2m32[i]);
	free(v->owners);
}

static struct audit_result *audit_sim(struct simhost *h, bool owner_array)
{
	struct simview v;
	struct audit_result *r = NULL;

	view_build(&v, h, owner_array);
	assert_int_equal(audit_run(&v.t, NULL, &r), 0);
	assert_non_null(r);
	view_free(&v);
	return r;
}

static uint32_t add_guest(struct simhost *h, const char *name, enum sim_dom_type type,
			  unsigned width, uint64_t mem_kib, uint64_t max_kib)
{
	struct sim_domain_spec spec = {.type = type,
				       .width = width,
				       .memory_kib = mem_kib,
				       .static_max_kib = max_kib,
				       .maxmem_kib = max_kib};
	uint32_t domid;

	snprintf(spec.name, sizeof(spec.name), "%s", name);
	assert_int_equal(simhost_create(h, &spec, 0, &domid), 0);
	assert_true(domid < 256);
	width_of[domid] = type == SIM_PV ? (width ? width : 64) : 0;
	return domid;
}

static void set_target(struct simhost *h, uint32_t domid, uint64_t kib)
{
	char path[64], val[32];

	snprintf(path, sizeof(path), "/local/domain/%u/memory/target", domid);
	snprintf(val, sizeof(val), "%" PRIu64, kib);
	assert_int_equal(simxs_write(simhost_xs(h), 0, path, val), 0);
}

/* A host with dom0, a 64-bit and a 32-bit PV guest, an HVM and a PVH one. */
static struct simhost *mixed_host(uint32_t *pv64, uint32_t *pv32)
{
	struct simhost *h = simhost_new(6 * GIB, 64 * MIB, 1 * GIB, 0);

	assert_non_null(h);
	width_of[0] = 64;
	*pv64 = add_guest(h, "pv64", SIM_PV, 64, 512 * MIB, 1 * GIB);
	*pv32 = add_guest(h, "pv32", SIM_PV, 32, 512 * MIB, 1 * GIB);
	add_guest(h, "hvm", SIM_HVM, 0, 256 * MIB, 256 * MIB);
	add_guest(h, "pvh", SIM_PVH, 0, 256 * MIB, 256 * MIB);
	return h;
}

static void assert_clean(const struct audit_result *r)
{
	size_t i, n_audited = 0, n_na = 0;

	assert_int_equal(audit_result_total(r), 0);
	for (i = 0; i < audit_result_ndoms(r); i++) {
		const struct audit_dom_result *d = audit_result_dom(r, i);

		if (d->status == AUDIT_STATUS_NOT_AUDITABLE) {
			assert_false(audit_dom_result_clean(d));
			n_na++;
			continue;
		}
		assert_int_equal(d->status, AUDIT_STATUS_AUDITED);
		assert_true(audit_dom_result_clean(d));
		assert_int_equal(d->ram, d->tot_pages);
		assert_int_equal(d->ram + d->ballooned + d->identity, d->scanned);
		assert_true(d->scanned > 0);
		n_audited++;
	}
	assert_int_equal(n_audited, 3);
	assert_int_equal(n_na, 2);
}

/* ---- simulated hosts ---- */

static void fresh_host_audits_clean_with_hvm_pvh_not_auditable(void **state)
{
	uint32_t pv64, pv32;
	struct simhost *h = mixed_host(&pv64, &pv32);
	int mode;

	for (mode = 0; mode < 2; mode++) {
		struct audit_result *r = audit_sim(h, mode);

		assert_clean(r);
		assert_string_equal(audit_status_name(audit_result_dom(r, 3)->status),
				    "not auditable");
		audit_result_free(r);
	}
	simhost_free(h);
}

static void heavily_ballooned_host_audits_clean_at_every_step(void **state)
{
	uint32_t pv64, pv32, ids[3];
	struct simhost *h = mixed_host(&pv64, &pv32);
	uint64_t now = 0;
	unsigned seed = 12345, step, i, changes = 0, inflight = 0;
	uint64_t last_tot = 0;
	char err[256];

	ids[0] = 0;
	ids[1] = pv64;
	ids[2] = pv32;
	for (step = 0; step < 40; step++) {
		struct audit_result *r;

		for (i = 0; i < 3; i++) {
			uint64_t lo = 128 * MIB, hi = 1 * GIB;

			seed = seed * 1103515245u + 12345u;
			set_target(h, ids[i], lo + ((seed >> 8) % ((hi - lo) / MIB)) * MIB);
		}
		now += 250 + (seed >> 20) % 1500; /* often mid-way through a change */
		simhost_advance(h, now);
		assert_int_equal(simhost_check(h, err, sizeof(err)), 0);
		r = audit_sim(h, step & 1);
		if (audit_result_dom(r, 1)->tot_pages != last_tot)
			changes++;
		last_tot = audit_result_dom(r, 1)->tot_pages;
		if (audit_result_total(r) != 0) {
			/* a batch in flight: what the pass saw must be gone after
			 * the settle delay (the guest keeps ballooning meanwhile) */
			struct audit_result *c;
			struct simview v;

			inflight++;
			simhost_advance(h, now + 1000);
			view_build(&v, h, step & 1);
			assert_int_equal(audit_recheck(r, &v.t, &c), 0);
			view_free(&v);
			assert_int_equal(audit_result_total(c), 0);
			audit_result_free(c);
			audit_result_free(r);
			now += 1000;
			r = audit_sim(h, step & 1);
			if (audit_result_total(r) != 0) {
				audit_result_free(r);
				continue;
			}
		}
		assert_clean(r);
		audit_result_free(r);
	}
	assert_true(changes >= 30); /* it did balloon */
	assert_true(inflight > 0);  /* and was seen mid-batch */
	simhost_free(h);
}

/* r has exactly one finding, of class cls, in domain victim, and nothing
 * else anywhere; returns that finding. */
static const struct audit_finding *assert_one(const struct audit_result *r, enum audit_class cls,
					      uint32_t victim, const char *what)
{
	const struct audit_finding *f;
	size_t n, i;

	if (audit_result_total(r) != 1 || audit_result_count(r, cls) != 1) {
		unsigned c;

		for (c = 0; c < AUDIT_NCLASSES; c++)
			if (audit_result_count(r, c))
				print_message("%s: %s=%" PRIu64 "\n", what, audit_class_name(c),
					      audit_result_count(r, c));
	}
	assert_int_equal(audit_result_count(r, cls), 1);
	assert_int_equal(audit_result_total(r), 1);
	f = audit_result_findings(r, cls, &n);
	assert_int_equal(n, 1);
	assert_int_equal(f[0].domid, victim);
	for (i = 0; i < audit_result_ndoms(r); i++) {
		const struct audit_dom_result *d = audit_result_dom(r, i);

		assert_int_equal(d->nfindings, d->domid == victim);
	}
	return f;
}

/* The finding's tuple is what the injector made. */
static void assert_tuple(const struct audit_finding *f, enum audit_class cls, uint64_t nframes,
			 uint64_t npfns)
{
	switch (cls) {
	case AUDIT_M2P_SHARED_IN_PV: assert_int_equal(f->m2p, AUDIT_M2P_SHARED); break;
	case AUDIT_M2P_OUT_OF_RANGE:
		assert_true(f->m2p >= npfns && !(f->m2p >> 63));
		assert_true(f->mfn < nframes);
		break;
	case AUDIT_P2M_IDENTITY_MISMATCH:
		assert_true(f->pfn < npfns);
		assert_true(f->mfn != f->pfn && f->mfn >= nframes);
		assert_int_equal(f->m2p, AUDIT_NONE);
		break;
	case AUDIT_P2M_STRUCTURE_ERROR:
		assert_int_equal(f->pfn, AUDIT_NONE);
		assert_int_equal(f->mfn, AUDIT_NONE);
		break;
	case AUDIT_PAGE_COUNT_DELTA:
		assert_int_equal(f->pfn, AUDIT_NONE);
		assert_int_equal(f->delta, 1);
		break;
	default: assert_true(f->pfn < npfns); break;
	}
}

/* One fault in a fragmented guest of each width, both owner sources: the
 * injected class counts exactly one, in that domain, and nothing else; and
 * it is still there, alone, on a re-check after a settle delay during which
 * the other guest balloons. */
static void each_injected_fault_is_found_exactly_once(void **state)
{
	int k, width, mode;

	/* the simulator can inject every class there is */
	for (k = 0; k < AUDIT_NCLASSES; k++)
		for (width = 32; width <= 64; width += 32)
			for (mode = 0; mode < 2; mode++) {
				uint32_t pv64, pv32, victim, other;
				struct simhost *h = mixed_host(&pv64, &pv32);
				struct audit_result *r, *c;
				struct simview v;
				enum audit_class cls = (enum audit_class)k;
				const char *name = audit_class_name(cls);
				const struct audit_finding *f;
				uint64_t nframes, npfns = 0;
				char err[256], what[96];

				victim = width == 32 ? pv32 : pv64;
				other = width == 32 ? pv64 : pv32;
				snprintf(what, sizeof(what), "%s w%d m%d", name, width, mode);
				set_target(h, pv64, 300 * MIB);
				set_target(h, pv32, 300 * MIB);
				simhost_advance(h, 5000);
				set_target(h, pv64, 700 * MIB);
				set_target(h, pv32, 700 * MIB);
				simhost_advance(h, 10000);
				simhost_p2m(h, victim, &npfns);
				simhost_m2p(h, &nframes);
				if (simhost_inject_fault(h, victim, name, err, sizeof(err)) != 0)
					fail_msg("%s: %s", what, err);
				r = audit_sim(h, mode);
				f = assert_one(r, cls, victim, what);
				assert_tuple(f, cls, nframes, npfns);
				/* the settle delay: the other guest moves meanwhile */
				set_target(h, other, 400 * MIB);
				simhost_advance(h, 13000);
				assert_int_equal(simhost_check(h, err, sizeof(err)), 0);
				view_build(&v, h, mode);
				assert_int_equal(audit_recheck(r, &v.t, &c), 0);
				view_free(&v);
				assert_one(c, cls, victim, what);
				assert_int_equal(audit_result_unconfirmed(c), 0);
				audit_result_free(c);
				audit_result_free(r);
				simhost_free(h);
			}
}

/* A guest with no ballooned-out pfn: the identity entry replaces a RAM
 * entry and its frame goes back to Xen, so it is still one finding and
 * no PAGE_COUNT_DELTA, in both widths, with either owner source. */
static void identity_fault_in_a_full_guest_is_one_finding(void **state)
{
	int width, mode;

	for (width = 32; width <= 64; width += 32)
		for (mode = 0; mode < 2; mode++) {
			struct simhost *h = simhost_new(4 * GIB, 64 * MIB, 1 * GIB, 0);
			struct audit_result *r, *c;
			struct simview v;
			uint64_t nframes, npfns = 0;
			uint32_t g;
			char err[256];

			assert_non_null(h);
			width_of[0] = 64;
			g = add_guest(h, "full", SIM_PV, (unsigned)width, 512 * MIB, 512 * MIB);
			simhost_p2m(h, g, &npfns);
			simhost_m2p(h, &nframes);
			assert_int_equal(simhost_inject_fault(h, g, "P2M_IDENTITY_MISMATCH", err,
							      sizeof(err)),
					 0);
			r = audit_sim(h, mode);
			assert_tuple(assert_one(r, AUDIT_P2M_IDENTITY_MISMATCH, g, "full"),
				     AUDIT_P2M_IDENTITY_MISMATCH, nframes, npfns);
			assert_int_equal(audit_result_dom(r, 1)->ram,
					 audit_result_dom(r, 1)->tot_pages);
			assert_int_equal(audit_result_dom(r, 1)->tot_pages, 512 * MIB / 4 - 1);
			simhost_advance(h, 2000);
			view_build(&v, h, mode);
			assert_int_equal(audit_recheck(r, &v.t, &c), 0);
			view_free(&v);
			assert_one(c, AUDIT_P2M_IDENTITY_MISMATCH, g, "full");
			audit_result_free(c);
			audit_result_free(r);
			simhost_free(h);
		}
}

/* A shut-down domain is skipped, fault or not, and never counted clean. */
static void shut_down_domain_is_skipped_not_reported(void **state)
{
	uint32_t pv64, pv32;
	struct simhost *h = mixed_host(&pv64, &pv32);
	struct audit_result *r;
	char err[256];
	size_t i;

	assert_int_equal(simhost_inject_fault(h, pv64, "M2P_MISMATCH", err, sizeof(err)), 0);
	assert_int_equal(simhost_set_flags(h, pv64, true, false), 0);
	r = audit_sim(h, false);
	assert_int_equal(audit_result_total(r), 0);
	for (i = 0; i < audit_result_ndoms(r); i++)
		if (audit_result_dom(r, i)->domid == pv64) {
			assert_int_equal(audit_result_dom(r, i)->status, AUDIT_STATUS_SKIPPED);
			assert_false(audit_dom_result_clean(audit_result_dom(r, i)));
			assert_int_equal(audit_result_dom(r, i)->scanned, 0);
		}
	audit_result_free(r);
	simhost_free(h);
}

/* An injected fault stays through a settle delay: confirmed; the other
 * guests keep ballooning meanwhile without creating findings. */
static void persistent_fault_is_confirmed_by_recheck(void **state)
{
	uint32_t pv64, pv32;
	struct simhost *h = mixed_host(&pv64, &pv32);
	struct audit_result *r, *c;
	struct simview v;
	char err[256];

	assert_int_equal(simhost_inject_fault(h, pv32, "MFN_CROSS_CLAIM", err, sizeof(err)), 0);
	r = audit_sim(h, false);
	assert_int_equal(audit_result_count(r, AUDIT_MFN_CROSS_CLAIM), 1);
	set_target(h, pv64, 200 * MIB);
	simhost_advance(h, 3000);
	view_build(&v, h, false);
	assert_int_equal(audit_recheck(r, &v.t, &c), 0);
	assert_int_equal(audit_result_count(c, AUDIT_MFN_CROSS_CLAIM), 1);
	assert_int_equal(audit_result_total(c), 1);
	assert_int_equal(audit_result_unconfirmed(c), 0);
	view_free(&v);
	audit_result_free(c);
	audit_result_free(r);
	simhost_free(h);
}

/* ---- hand-built tables ---- */

#define HB_FRAMES 64
#define HB_PFNS 16

/* A host of HB_FRAMES frames and one 64-bit PV domain 1 whose pfn p maps
 * frame 10 + p for p < 8 (pfns 8.. are ballooned out); frames 0-3 are Xen's,
 * 60-63 MMIO, the rest free. */
struct hb {
	uint64_t m2p[HB_FRAMES];
	uint32_t owner[HB_FRAMES];
	uint64_t p2m[HB_PFNS];
	struct audit_domain dom;
	struct audit_tables t;
};

static void hb_init(struct hb *b)
{
	uint64_t f, p;

	memset(b, 0, sizeof(*b));
	for (f = 0; f < HB_FRAMES; f++) {
		b->m2p[f] = AUDIT_M2P_INVALID;
		b->owner[f] = f < 4 ? AUDIT_OWNER_XEN : f >= 60 ? AUDIT_OWNER_IO : AUDIT_OWNER_FREE;
	}
	for (p = 0; p < HB_PFNS; p++) {
		b->p2m[p] = p < 8 ? 10 + p : AUDIT_P2M_INVALID;
		if (p < 8) {
			b->m2p[10 + p] = p;
			b->owner[10 + p] = 1;
		}
	}
	b->dom = (struct audit_domain){.domid = 1,
				       .guest = AUDIT_GUEST_PV,
				       .width = 64,
				       .p2m = b->p2m,
				       .npfns = HB_PFNS,
				       .tot_pages = 8};
	b->t = (struct audit_tables){.m2p = b->m2p,
				     .nframes = HB_FRAMES,
				     .owner_array = b->owner,
				     .doms = &b->dom,
				     .ndoms = 1};
}

static uint32_t hb_owner_cb(void *arg, uint64_t mfn)
{
	return ((const uint32_t *)arg)[mfn];
}

/* Runs with the owner array and with the callback; both must agree. */
static struct audit_result *hb_run(struct hb *b)
{
	struct audit_result *r1, *r2;
	struct audit_tables cb = b->t;
	unsigned c;

	cb.owner_array = NULL;
	cb.owner = hb_owner_cb;
	cb.owner_arg = b->owner;
	assert_int_equal(audit_run(&b->t, NULL, &r1), 0);
	assert_int_equal(audit_run(&cb, NULL, &r2), 0);
	for (c = 0; c < AUDIT_NCLASSES; c++)
		assert_int_equal(audit_result_count(r1, c), audit_result_count(r2, c));
	audit_result_free(r2);
	return r1;
}

static void assert_only(const struct audit_result *r, enum audit_class cls, uint64_t n)
{
	assert_int_equal(audit_result_count(r, cls), n);
	assert_int_equal(audit_result_total(r), n);
}

static void identity_foreign_invalid_and_mmio_entries_are_not_findings(void **state)
{
	struct hb b;
	struct audit_result *r;
	const struct audit_dom_result *d;

	hb_init(&b);
	b.p2m[8] = AUDIT_P2M_IDENTITY | 8;    /* a hole, 1:1 */
	b.p2m[9] = AUDIT_P2M_FOREIGN | 12;    /* a grant map of someone's frame */
	b.p2m[10] = AUDIT_P2M_FOREIGN | 5000; /* foreign frames need not be in range */
	b.p2m[11] = 61;			      /* an MMIO frame (non-RAM remap) */
	b.dom.tot_pages = 8;
	r = hb_run(&b);
	assert_int_equal(audit_result_total(r), 0);
	d = audit_result_dom(r, 0);
	assert_true(audit_dom_result_clean(d));
	assert_int_equal(d->identity, 1);
	assert_int_equal(d->foreign, 2);
	assert_int_equal(d->mmio, 1);
	assert_int_equal(d->ballooned, 4);
	assert_int_equal(d->ram, 9);
	audit_result_free(r);
}

static void identity_entry_naming_another_pfn_is_a_mismatch(void **state)
{
	struct hb b;
	struct audit_result *r;
	const struct audit_finding *f;
	size_t n;

	hb_init(&b);
	b.p2m[9] = AUDIT_P2M_IDENTITY | 30;
	r = hb_run(&b);
	assert_only(r, AUDIT_P2M_IDENTITY_MISMATCH, 1);
	f = audit_result_findings(r, AUDIT_P2M_IDENTITY_MISMATCH, &n);
	assert_int_equal(n, 1);
	assert_int_equal(f->pfn, 9);
	assert_int_equal(f->mfn, 30);
	audit_result_free(r);
}

static void m2p_naming_a_pfn_beyond_the_p2m_is_out_of_range(void **state)
{
	struct hb b;
	struct audit_result *r;
	const struct audit_finding *f;
	size_t n;

	hb_init(&b);
	b.m2p[13] = HB_PFNS + 100;
	r = hb_run(&b);
	assert_only(r, AUDIT_M2P_OUT_OF_RANGE, 1);
	f = audit_result_findings(r, AUDIT_M2P_OUT_OF_RANGE, &n);
	assert_int_equal(f->pfn, 3);
	assert_int_equal(f->mfn, 13);
	assert_int_equal(f->m2p, HB_PFNS + 100);
	audit_result_free(r);
}

static void shared_m2p_entry_in_a_pv_guest_is_reported(void **state)
{
	struct hb b;
	struct audit_result *r;

	hb_init(&b);
	b.m2p[14] = AUDIT_M2P_SHARED;
	r = hb_run(&b);
	assert_only(r, AUDIT_M2P_SHARED_IN_PV, 1);
	audit_result_free(r);
}

static void leaked_frame_gives_one_page_count_delta(void **state)
{
	struct hb b;
	struct audit_result *r;
	const struct audit_finding *f;
	size_t n;

	hb_init(&b);
	b.owner[40] = 1; /* owned, counted in tot_pages, mapped nowhere */
	b.m2p[40] = 9;
	b.dom.tot_pages = 9;
	r = hb_run(&b);
	assert_only(r, AUDIT_PAGE_COUNT_DELTA, 1);
	f = audit_result_findings(r, AUDIT_PAGE_COUNT_DELTA, &n);
	assert_int_equal(n, 1);
	assert_int_equal(f->delta, 1);
	assert_int_equal(f->pfn, AUDIT_NONE);
	audit_result_free(r);
}

/* Three pfns on one frame whose M2P entry names none of them: the lowest
 * keeps the M2P class, the other two are aliases of it. */
static void alias_group_without_m2p_owner_keeps_one_m2p_finding(void **state)
{
	struct hb b;
	struct audit_result *r;
	const struct audit_finding *f;
	size_t n;

	hb_init(&b);
	b.p2m[2] = 15;
	b.p2m[6] = 15; /* pfn 5 maps 15 as well */
	b.m2p[15] = AUDIT_M2P_INVALID;
	r = hb_run(&b);
	assert_int_equal(audit_result_count(r, AUDIT_M2P_INVALID_FOR_MAPPED), 1);
	assert_int_equal(audit_result_count(r, AUDIT_P2M_ALIAS), 2);
	assert_int_equal(audit_result_total(r), 3);
	f = audit_result_findings(r, AUDIT_M2P_INVALID_FOR_MAPPED, &n);
	assert_int_equal(f->pfn, 2);
	f = audit_result_findings(r, AUDIT_P2M_ALIAS, &n);
	assert_int_equal(n, 2);
	assert_int_equal(f[0].pfn, 5);
	assert_int_equal(f[0].other, 2);
	assert_int_equal(f[1].pfn, 6);
	audit_result_free(r);
}

static void xen_owned_frame_is_a_cross_claim_and_free_one_unowned(void **state)
{
	struct hb b;
	struct audit_result *r;
	const struct audit_finding *f;
	size_t n;

	hb_init(&b);
	b.p2m[1] = 2;  /* Xen's */
	b.p2m[4] = 50; /* free; with a stale M2P entry naming another pfn */
	b.m2p[50] = 7;
	r = hb_run(&b);
	assert_int_equal(audit_result_count(r, AUDIT_MFN_CROSS_CLAIM), 1);
	assert_int_equal(audit_result_count(r, AUDIT_P2M_UNOWNED_MFN), 1);
	assert_int_equal(audit_result_total(r), 2);
	f = audit_result_findings(r, AUDIT_MFN_CROSS_CLAIM, &n);
	assert_int_equal(f->other, AUDIT_OWNER_XEN);
	audit_result_free(r);
}

/* A freed frame whose stale M2P entry still names the pfn: only an owner
 * check on every entry sees the entry, so the owner array finds it; the
 * suspects-only callback (documented) sees just the page count. */
static void stale_m2p_on_freed_frame_is_found_with_owner_array(void **state)
{
	struct hb b;
	struct audit_result *r;
	struct audit_tables cb;

	hb_init(&b);
	b.owner[15] = AUDIT_OWNER_FREE; /* pfn 5's frame, M2P still says 5 */
	b.dom.tot_pages = 7;
	assert_int_equal(audit_run(&b.t, NULL, &r), 0);
	assert_int_equal(audit_result_count(r, AUDIT_P2M_UNOWNED_MFN), 1);
	/* the frame really left the domain: it maps more than it owns */
	assert_int_equal(audit_result_count(r, AUDIT_PAGE_COUNT_DELTA), 1);
	assert_int_equal(audit_result_total(r), 2);
	audit_result_free(r);
	cb = b.t;
	cb.owner_array = NULL;
	cb.owner = hb_owner_cb;
	cb.owner_arg = b.owner;
	assert_int_equal(audit_run(&cb, NULL, &r), 0);
	assert_only(r, AUDIT_PAGE_COUNT_DELTA, 1);
	audit_result_free(r);
}

/* 32-bit P2M entries: ~0U, bit 31 FOREIGN, bit 30 IDENTITY. */
static void narrow_p2m_flags_are_decoded(void **state)
{
	struct hb b;
	struct audit_result *r;
	uint32_t p32[HB_PFNS];
	size_t p;

	hb_init(&b);
	for (p = 0; p < HB_PFNS; p++)
		p32[p] = b.p2m[p] == AUDIT_P2M_INVALID ? UINT32_MAX : (uint32_t)b.p2m[p];
	p32[8] = 0x40000000u | 8;
	p32[9] = 0x80000000u | 12;
	b.dom.width = 32;
	b.dom.p2m = p32;
	r = hb_run(&b);
	assert_int_equal(audit_result_total(r), 0);
	assert_int_equal(audit_result_dom(r, 0)->identity, 1);
	assert_int_equal(audit_result_dom(r, 0)->foreign, 1);
	audit_result_free(r);
	p32[8] = 0x40000000u | 9;
	p32[3] = 5000; /* beyond max_page */
	r = hb_run(&b);
	assert_int_equal(audit_result_count(r, AUDIT_P2M_IDENTITY_MISMATCH), 1);
	assert_int_equal(audit_result_count(r, AUDIT_P2M_MFN_OUT_OF_RANGE), 1);
	assert_int_equal(audit_result_total(r), 2);
	audit_result_free(r);
}

static void skipped_unreadable_and_hvm_domains(void **state)
{
	struct hb b;
	struct audit_domain doms[4];
	struct audit_result *r;

	hb_init(&b);
	b.m2p[12] = 7; /* would be a finding in domain 1 */
	doms[0] = b.dom;
	doms[0].flags = AUDIT_DOM_DYING;
	doms[1] = b.dom;
	doms[1].domid = 2;
	doms[1].flags = AUDIT_DOM_BUILDING;
	doms[2] = (struct audit_domain){.domid = 3, .guest = AUDIT_GUEST_HVM};
	doms[3] = (struct audit_domain){.domid = 4, .guest = AUDIT_GUEST_PV, .width = 64};
	b.t.doms = doms;
	b.t.ndoms = 4;
	r = hb_run(&b);
	assert_only(r, AUDIT_P2M_STRUCTURE_ERROR, 1);
	assert_int_equal(audit_result_dom(r, 0)->status, AUDIT_STATUS_SKIPPED);
	assert_int_equal(audit_result_dom(r, 1)->status, AUDIT_STATUS_SKIPPED);
	assert_int_equal(audit_result_dom(r, 2)->status, AUDIT_STATUS_NOT_AUDITABLE);
	assert_int_equal(audit_result_dom(r, 3)->count[AUDIT_P2M_STRUCTURE_ERROR], 1);
	audit_result_free(r);
}

static void bad_tables_are_refused(void **state)
{
	struct hb b;
	struct audit_result *r = NULL;
	struct audit_tables t;
	struct audit_domain bad;

	hb_init(&b);
	t = b.t;
	t.m2p = NULL;
	assert_int_equal(audit_run(&t, NULL, &r), -EINVAL);
	t = b.t;
	t.owner_array = NULL;
	assert_int_equal(audit_run(&t, NULL, &r), -EINVAL);
	bad = b.dom;
	bad.width = 48;
	t = b.t;
	t.doms = &bad;
	assert_int_equal(audit_run(&t, NULL, &r), -EINVAL);
	t.doms = NULL;
	assert_int_equal(audit_run(&t, NULL, &r), -EINVAL);
	assert_null(r);
	assert_int_equal(audit_recheck(NULL, &b.t, &r), -EINVAL);
}

static void class_names_round_trip(void **state)
{
	enum audit_class c, back;

	for (c = 0; c < AUDIT_NCLASSES; c++) {
		assert_int_equal(audit_class_parse(audit_class_name(c), &back), 0);
		assert_int_equal(back, c);
	}
	assert_string_equal(audit_class_name(AUDIT_P2M_ALIAS), "P2M_ALIAS");
	assert_string_equal(audit_class_name(AUDIT_NCLASSES), "?");
	assert_int_equal(audit_class_parse("P2M_alias", &back), -EINVAL);
}

/* ---- re-checks ---- */

/* A decrease overtaking the scan (P2M entry read before the guest cleared
 * it, frame and tot_pages read after Xen freed it) and an entry caught
 * inconsistent that is fixed by the re-check: suspects, never confirmed. */
static void transient_balloon_windows_are_not_confirmed(void **state)
{
	struct hb b;
	struct audit_result *r, *c;

	hb_init(&b);
	b.owner[17] = AUDIT_OWNER_FREE; /* pfn 7's frame, already freed */
	b.m2p[17] = AUDIT_M2P_INVALID;
	b.dom.tot_pages = 7;
	b.m2p[12] = AUDIT_M2P_INVALID; /* pfn 2: M2P entry not (yet) right */
	r = hb_run(&b);
	assert_int_equal(audit_result_count(r, AUDIT_P2M_UNOWNED_MFN), 1);
	assert_int_equal(audit_result_count(r, AUDIT_PAGE_COUNT_DELTA), 1);
	assert_int_equal(audit_result_count(r, AUDIT_M2P_INVALID_FOR_MAPPED), 1);
	assert_int_equal(audit_result_total(r), 3);
	b.p2m[7] = AUDIT_P2M_INVALID; /* the guest's clear, as seen now */
	b.m2p[12] = 2;
	assert_int_equal(audit_recheck(r, &b.t, &c), 0);
	assert_int_equal(audit_result_total(c), 0);
	assert_int_equal(audit_result_dom(c, 0)->nfindings, 0);
	assert_int_equal(audit_result_unconfirmed(c), 0);
	audit_result_free(c);
	audit_result_free(r);
	/* the same entry left inconsistent is confirmed */
	assert_int_equal(audit_run(&b.t, NULL, &r), 0);
	assert_int_equal(audit_result_total(r), 0);
	audit_result_free(r);
	b.m2p[12] = AUDIT_M2P_INVALID;
	assert_int_equal(audit_run(&b.t, NULL, &r), 0);
	assert_int_equal(audit_recheck(r, &b.t, &c), 0);
	assert_only(c, AUDIT_M2P_INVALID_FOR_MAPPED, 1);
	audit_result_free(c);
	audit_result_free(r);
}

/* A finding whose tuple changed (same class, new M2P value) is not the
 * same finding; one that stayed is confirmed, with its example kept. */
static void recheck_keeps_only_identical_tuples(void **state)
{
	struct hb b;
	struct audit_result *r, *c;
	const struct audit_finding *f;
	size_t n;

	hb_init(&b);
	b.m2p[11] = 5;
	b.m2p[12] = 6;
	b.p2m[3] = 2;
	r = hb_run(&b);
	assert_int_equal(audit_result_count(r, AUDIT_M2P_MISMATCH), 2);
	assert_int_equal(audit_result_count(r, AUDIT_MFN_CROSS_CLAIM), 1);
	b.m2p[12] = 4;	/* still wrong, but another tuple */
	b.owner[2] = 1; /* now owned, and an M2P_INVALID suspect: another class */
	assert_int_equal(audit_recheck(r, &b.t, &c), 0);
	assert_only(c, AUDIT_M2P_MISMATCH, 1);
	f = audit_result_findings(c, AUDIT_M2P_MISMATCH, &n);
	assert_int_equal(n, 1);
	assert_int_equal(f->pfn, 1);
	assert_int_equal(f->m2p, 5);
	assert_int_equal(audit_result_dom(c, 0)->scanned, HB_PFNS);
	audit_result_free(c);
	audit_result_free(r);
}

/* Beyond max_records findings are counted, not kept, and a re-check says
 * how many it could not confirm. */
static void findings_beyond_the_cap_are_counted_not_kept(void **state)
{
	struct hb b;
	struct audit_opts o = {.max_records = 2};
	struct audit_result *r, *c;
	size_t n;
	int p;

	hb_init(&b);
	for (p = 0; p < 5; p++)
		b.m2p[10 + p] = AUDIT_M2P_INVALID;
	assert_int_equal(audit_run(&b.t, &o, &r), 0);
	assert_int_equal(audit_result_count(r, AUDIT_M2P_INVALID_FOR_MAPPED), 5);
	assert_int_equal(audit_result_overflow(r), 3);
	audit_result_findings(r, AUDIT_M2P_INVALID_FOR_MAPPED, &n);
	assert_int_equal(n, 2);
	assert_int_equal(audit_recheck(r, &b.t, &c), 0);
	assert_int_equal(audit_result_count(c, AUDIT_M2P_INVALID_FOR_MAPPED), 2);
	assert_int_equal(audit_result_unconfirmed(c), 3);
	audit_result_free(c);
	audit_result_free(r);
}

/* ---- the blocked pass: fragmented hosts, threads, block sizes ---- */

#define FH_FRAMES 32768
#define FH_IO 256      /* the last frames are MMIO */
#define FH_PFNS1 12288 /* domain 1, 64-bit: pfns 0..4095 on a run of frames, the rest scattered */
#define FH_PFNS2 8192  /* domain 2, 32-bit: scattered */

/* A host whose frames were handed out in random order (as after much
 * ballooning), except one long run, with special entries of every kind. */
struct fh {
	uint64_t m2p[FH_FRAMES];
	uint32_t owner[FH_FRAMES];
	uint64_t p2m1[FH_PFNS1];
	uint32_t p2m2[FH_PFNS2];
	struct audit_domain doms[2];
	struct audit_tables t;
};

static uint64_t fh_rnd(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 2685821657736338717ULL;
}

static struct fh *fh_new(void)
{
	struct fh *h = calloc(1, sizeof(*h));
	uint64_t f, p, n = 0, seed = 42, *perm = malloc(FH_FRAMES * sizeof(*perm));

	assert_non_null(h);
	assert_non_null(perm);
	for (f = 0; f < FH_FRAMES; f++) {
		h->m2p[f] = AUDIT_M2P_INVALID;
		h->owner[f] = f < 16		       ? AUDIT_OWNER_XEN
			      : f >= FH_FRAMES - FH_IO ? AUDIT_OWNER_IO
						       : AUDIT_OWNER_FREE;
		if (f >= 16 + 4096 && f < FH_FRAMES - FH_IO)
			perm[n++] = f;
	}
	for (f = n - 1; f > 0; f--) {
		uint64_t j = fh_rnd(&seed) % (f + 1), x = perm[f];

		perm[f] = perm[j];
		perm[j] = x;
	}
	for (p = 0; p < FH_PFNS1; p++) {
		h->p2m1[p] = p < 4096 ? 16 + p : perm[--n];
		h->m2p[h->p2m1[p]] = p;
		h->owner[h->p2m1[p]] = 1;
	}
	for (p = 0; p < FH_PFNS2; p++) {
		h->p2m2[p] = (uint32_t)perm[--n];
		h->m2p[h->p2m2[p]] = p;
		h->owner[h->p2m2[p]] = 2;
	}
	free(perm);
	h->doms[0] = (struct audit_domain){.domid = 1,
					   .guest = AUDIT_GUEST_PV,
					   .width = 64,
					   .p2m = h->p2m1,
					   .npfns = FH_PFNS1,
					   .tot_pages = FH_PFNS1};
	h->doms[1] = (struct audit_domain){.domid = 2,
					   .guest = AUDIT_GUEST_PV,
					   .width = 32,
					   .p2m = h->p2m2,
					   .npfns = FH_PFNS2,
					   .tot_pages = FH_PFNS2};
	h->t = (struct audit_tables){.m2p = h->m2p,
				     .nframes = FH_FRAMES,
				     .owner_array = h->owner,
				     .doms = h->doms,
				     .ndoms = 2};
	return h;
}

/* Ballooned-out, identity, foreign and MMIO entries in both domains. */
static void fh_add_specials(struct fh *h)
{
	uint64_t p;

	for (p = 11000; p < 11600; p++) { /* ballooned out */
		h->owner[h->p2m1[p]] = AUDIT_OWNER_FREE;
		h->m2p[h->p2m1[p]] = AUDIT_M2P_INVALID;
		h->p2m1[p] = AUDIT_P2M_INVALID;
	}
	h->doms[0].tot_pages -= 600;
	for (p = 200; p < 204; p++) { /* a hole mapped 1:1, in the run */
		h->owner[h->p2m1[p]] = AUDIT_OWNER_FREE;
		h->p2m1[p] = AUDIT_P2M_IDENTITY | p;
	}
	h->owner[h->p2m1[5000]] = AUDIT_OWNER_FREE;
	h->p2m1[5000] = AUDIT_P2M_FOREIGN | 12345;
	h->owner[h->p2m1[6000]] = AUDIT_OWNER_FREE;
	h->p2m1[6000] = FH_FRAMES - 3; /* MMIO remap */
	h->doms[0].tot_pages -= 6;
	h->owner[h->p2m2[100]] = AUDIT_OWNER_FREE;
	h->p2m2[100] = UINT32_MAX;
	h->owner[h->p2m2[101]] = AUDIT_OWNER_FREE;
	h->p2m2[101] = 0x40000000u | 101;
	h->doms[1].tot_pages -= 2;
}

/* The options every blocked-pass test runs with: tiny to automatic blocks,
 * one to three threads. */
static const struct audit_opts fh_opts[] = {
	{.nthreads = 1, .block_pages = 512, .method = AUDIT_METHOD_SORT},
	{.nthreads = 2, .block_pages = 512},
	{.nthreads = 3, .block_pages = 1000}, {.nthreads = 2, .block_pages = 4096},
	{.nthreads = 1, .block_pages = 0},    {.nthreads = 4, .block_pages = 0},
	{.nthreads = 1, .block_pages = 512, .method = AUDIT_METHOD_PARTITION},
	{.nthreads = 3, .block_pages = 1000, .method = AUDIT_METHOD_PARTITION},
	{.nthreads = 2, .block_pages = 0, .method = AUDIT_METHOD_PARTITION},
	{.nthreads = 1, .block_pages = 0, .method = AUDIT_METHOD_SORT},
};

static void assert_same_results(const struct audit_result *a, const struct audit_result *b)
{
	size_t i, na, nb;
	unsigned c;

	assert_int_equal(audit_result_ndoms(a), audit_result_ndoms(b));
	assert_int_equal(audit_result_overflow(a), audit_result_overflow(b));
	for (i = 0; i < audit_result_ndoms(a); i++) {
		const struct audit_dom_result *x = audit_result_dom(a, i),
					      *y = audit_result_dom(b, i);

		assert_int_equal(x->status, y->status);
		assert_int_equal(x->scanned, y->scanned);
		assert_int_equal(x->ram, y->ram);
		assert_int_equal(x->ballooned, y->ballooned);
		assert_int_equal(x->foreign, y->foreign);
		assert_int_equal(x->identity, y->identity);
		assert_int_equal(x->mmio, y->mmio);
		assert_int_equal(x->nfindings, y->nfindings);
		assert_memory_equal(x->count, y->count, sizeof(x->count));
	}
	for (c = 0; c < AUDIT_NCLASSES; c++) {
		const struct audit_finding *x = audit_result_findings(a, c, &na);
		const struct audit_finding *y = audit_result_findings(b, c, &nb);

		assert_int_equal(audit_result_count(a, c), audit_result_count(b, c));
		assert_int_equal(na, nb);
		for (i = 0; i < na; i++) {
			assert_int_equal(x[i].cls, y[i].cls);
			assert_int_equal(x[i].domid, y[i].domid);
			assert_int_equal(x[i].pfn, y[i].pfn);
			assert_int_equal(x[i].mfn, y[i].mfn);
			assert_int_equal(x[i].m2p, y[i].m2p);
			assert_int_equal(x[i].other, y[i].other);
			assert_int_equal(x[i].delta, y[i].delta);
		}
	}
}

/* Run t (with its owner array, or with only the callback) with every
 * fh_opts and max_records max; all must agree. Returns the first result. */
static struct audit_result *fh_run_all(const struct audit_tables *t, bool callback, size_t max)
{
	struct audit_result *first = NULL, *r;
	struct audit_tables cb = *t;
	size_t i;

	if (callback) {
		cb.owner_array = NULL;
		cb.owner = hb_owner_cb;
		cb.owner_arg = (void *)t->owner_array;
	}
	for (i = 0; i < sizeof(fh_opts) / sizeof(*fh_opts); i++) {
		struct audit_opts o = fh_opts[i];

		o.max_records = max;
		assert_int_equal(audit_run(&cb, &o, &r), 0);
		if (!first) {
			first = r;
			continue;
		}
		assert_same_results(first, r);
		audit_result_free(r);
	}
	return first;
}

static void fragmented_host_audits_clean_for_any_threads_and_block_size(void **state)
{
	struct fh *h = fh_new();
	struct audit_result *r;
	const struct audit_dom_result *d;

	fh_add_specials(h);
	r = fh_run_all(&h->t, true, 0);
	assert_int_equal(audit_result_total(r), 0);
	audit_result_free(r);
	r = fh_run_all(&h->t, false, 0);
	assert_int_equal(audit_result_total(r), 0);
	d = audit_result_dom(r, 0);
	assert_true(audit_dom_result_clean(d));
	assert_int_equal(d->scanned, FH_PFNS1);
	assert_int_equal(d->ballooned, 600);
	assert_int_equal(d->identity, 4);
	assert_int_equal(d->foreign, 1);
	assert_int_equal(d->mmio, 1);
	assert_int_equal(d->ram, FH_PFNS1 - 605);
	d = audit_result_dom(r, 1);
	assert_true(audit_dom_result_clean(d));
	assert_int_equal(d->ballooned, 1);
	assert_int_equal(d->identity, 1);
	assert_int_equal(d->ram, FH_PFNS2 - 2);
	audit_result_free(r);
	free(h);
}

/* One fault of every entry class, in the run and in the scattered part, in
 * both widths: each found once, with its tuple, whatever the threads and
 * block size. With only the callback the two entries whose M2P entry
 * still names them are missed as entries, as documented. */
static void fragmented_host_faults_are_found_exactly_for_any_threads(void **state)
{
	struct fh *h = fh_new();
	struct audit_result *r;
	const struct audit_finding *f;
	size_t n;

	fh_add_specials(h);
	h->m2p[h->p2m1[100]] = 7;		  /* in the run */
	h->m2p[h->p2m1[7000]] = AUDIT_M2P_SHARED; /* scattered */
	h->p2m1[7001] = AUDIT_P2M_IDENTITY | 77;  /* one RAM entry less: delta 1 */
	h->p2m1[7002] = FH_FRAMES + 5;
	h->p2m1[7003] = 3;			    /* Xen's */
	h->owner[h->p2m1[7004]] = AUDIT_OWNER_FREE; /* freed, stale M2P */
	h->p2m1[7005] = h->p2m1[9600];
	h->m2p[h->p2m2[3000]] = AUDIT_M2P_INVALID; /* 32-bit */
	h->m2p[h->p2m2[3001]] = FH_PFNS2 + 1;
	h->owner[h->p2m2[3002]] = 1; /* another domain's frame */
	r = fh_run_all(&h->t, true, 0);
	assert_int_equal(audit_result_count(r, AUDIT_P2M_UNOWNED_MFN), 0);
	assert_int_equal(audit_result_count(r, AUDIT_MFN_CROSS_CLAIM), 1);
	assert_int_equal(audit_result_total(r), 9);
	audit_result_free(r);
	r = fh_run_all(&h->t, false, 0);
	assert_int_equal(audit_result_count(r, AUDIT_M2P_MISMATCH), 1);
	assert_int_equal(audit_result_count(r, AUDIT_M2P_SHARED_IN_PV), 1);
	assert_int_equal(audit_result_count(r, AUDIT_P2M_IDENTITY_MISMATCH), 1);
	assert_int_equal(audit_result_count(r, AUDIT_P2M_MFN_OUT_OF_RANGE), 1);
	assert_int_equal(audit_result_count(r, AUDIT_MFN_CROSS_CLAIM), 2);
	assert_int_equal(audit_result_count(r, AUDIT_P2M_UNOWNED_MFN), 1);
	assert_int_equal(audit_result_count(r, AUDIT_P2M_ALIAS), 1);
	assert_int_equal(audit_result_count(r, AUDIT_M2P_INVALID_FOR_MAPPED), 1);
	assert_int_equal(audit_result_count(r, AUDIT_M2P_OUT_OF_RANGE), 1);
	assert_int_equal(audit_result_count(r, AUDIT_PAGE_COUNT_DELTA), 1);
	assert_int_equal(audit_result_total(r), 11);
	f = audit_result_findings(r, AUDIT_M2P_MISMATCH, &n);
	assert_int_equal(f->pfn, 100);
	assert_int_equal(f->m2p, 7);
	f = audit_result_findings(r, AUDIT_P2M_ALIAS, &n);
	assert_int_equal(f->pfn, 7005);
	assert_int_equal(f->other, 9600);
	f = audit_result_findings(r, AUDIT_MFN_CROSS_CLAIM, &n);
	assert_int_equal(n, 2);
	assert_int_equal(f[0].domid, 1);
	assert_int_equal(f[0].pfn, 7003);
	assert_int_equal(f[1].domid, 2);
	assert_int_equal(f[1].pfn, 3002);
	assert_int_equal(f[1].other, 1);
	f = audit_result_findings(r, AUDIT_PAGE_COUNT_DELTA, &n);
	assert_int_equal(f->domid, 1);
	assert_int_equal(f->delta, 1);
	f = audit_result_findings(r, AUDIT_P2M_IDENTITY_MISMATCH, &n);
	assert_int_equal(f->pfn, 7001);
	assert_int_equal(f->mfn, 77);
	f = audit_result_findings(r, AUDIT_M2P_OUT_OF_RANGE, &n);
	assert_int_equal(f->domid, 2);
	assert_int_equal(f->pfn, 3001);
	audit_result_free(r);
	free(h);
}

/* One random fault in domain 1 (64-bit) or 2 (32-bit) at a random pfn:
 * every entry class, and the other tables' faults (freed frame, another
 * domain's or Xen's frame, a leaked frame). */
static void fh_random_fault(struct fh *h, uint64_t *seed)
{
	bool narrow = fh_rnd(seed) % 3 == 0;
	uint64_t npfns = narrow ? FH_PFNS2 : FH_PFNS1, p = fh_rnd(seed) % npfns;
	uint64_t q = fh_rnd(seed) % npfns;
	uint64_t e = narrow ? h->p2m2[p] : h->p2m1[p];
	unsigned kind = (unsigned)(fh_rnd(seed) % 10);

	if (e >= FH_FRAMES - FH_IO) /* special already: leave it */
		return;
	switch (kind) {
	case 0: h->m2p[e] = q; break;
	case 1: h->m2p[e] = AUDIT_M2P_SHARED; break;
	case 2: h->m2p[e] = AUDIT_M2P_INVALID; break;
	case 3: h->m2p[e] = npfns + fh_rnd(seed) % 1000; break;
	case 4: h->owner[e] = AUDIT_OWNER_FREE; break;
	case 5: h->owner[e] = narrow ? 1 : 2; break;
	case 6: h->owner[e] = AUDIT_OWNER_XEN; break;
	case 7: /* alias: p maps q's frame too */
		if (narrow)
			h->p2m2[p] = h->p2m2[q];
		else
			h->p2m1[p] = h->p2m1[q];
		break;
	case 8: /* identity entry naming another pfn, or a frame beyond the host */
		if (narrow)
			h->p2m2[p] = 0x40000000u | (uint32_t)q;
		else
			h->p2m1[p] = p == q ? FH_FRAMES + q : AUDIT_P2M_IDENTITY | q;
		break;
	default: /* leaked: the frame stays counted */
		if (narrow)
			h->p2m2[p] = UINT32_MAX;
		else
			h->p2m1[p] = AUDIT_P2M_INVALID;
		break;
	}
}

/* Swap the frames of n random pairs of domain 1's RAM pfns (M2P kept right):
 * from a few breaks in the run to none left. */
static void fh_shuffle(struct fh *h, uint64_t *seed, unsigned n)
{
	while (n--) {
		uint64_t a = fh_rnd(seed) % FH_PFNS1, b = fh_rnd(seed) % FH_PFNS1, x = h->p2m1[a];

		if (x >= FH_FRAMES - FH_IO || h->p2m1[b] >= FH_FRAMES - FH_IO)
			continue; /* special entries stay where they are */
		h->p2m1[a] = h->p2m1[b];
		h->p2m1[b] = x;
		h->m2p[h->p2m1[a]] = a;
		h->m2p[h->p2m1[b]] = b;
	}
}

/* Property: on random layouts with random faults, the partitioned pass,
 * the automatic choice and the sorted pass give the same findings in the
 * same order, the same statistics and keep the same ones under a small
 * max_records, with either owner source (fh_run_all compares every
 * fh_opts, partitioned ones included, against the sorted pass). */
static void partitioned_and_sorted_passes_agree_on_random_faults(void **state)
{
	uint64_t seed;

	for (seed = 1; seed <= 12; seed++) {
		struct fh *h = fh_new();
		struct audit_result *r;
		uint64_t s = seed * 0x9e3779b97f4a7c15ULL;
		unsigned i, nfaults = (unsigned)(fh_rnd(&s) % 40) + 1;

		fh_add_specials(h);
		fh_shuffle(h, &s, (unsigned)(fh_rnd(&s) % 4000));
		for (i = 0; i < nfaults; i++)
			fh_random_fault(h, &s);
		r = fh_run_all(&h->t, seed % 2, 0);
		assert_true(audit_result_total(r) > 0);
		audit_result_free(r);
		r = fh_run_all(&h->t, seed % 2 == 0, 7);
		audit_result_free(r);
		free(h);
	}
}

/* Many findings: those kept under max_records are the lowest pfns, as in a
 * pfn-order scan, also when a block has so many suspects that it is
 * scanned again in place. */
static void kept_findings_are_the_first_in_pfn_order_for_any_threads(void **state)
{
	struct fh *h = fh_new();
	struct audit_result *r;
	const struct audit_finding *f;
	uint64_t p, seed = 7;
	size_t n, i;

	for (p = 4096; p < 4096 + 400; p++) /* dense: most of one small block */
		h->m2p[h->p2m1[p]] = AUDIT_M2P_INVALID;
	for (i = 0; i < 300; i++) { /* sparse, scattered; a few repeat */
		p = 4096 + 512 + fh_rnd(&seed) % (FH_PFNS1 - 4096 - 512);
		h->m2p[h->p2m1[p]] = AUDIT_M2P_INVALID;
	}
	r = fh_run_all(&h->t, true, 100000);
	audit_result_free(r);
	r = fh_run_all(&h->t, false, 100000);
	n = audit_result_count(r, AUDIT_M2P_INVALID_FOR_MAPPED);
	assert_true(n > 650 && n <= 700);
	assert_int_equal(audit_result_total(r), n);
	audit_result_free(r);
	r = fh_run_all(&h->t, false, 450);
	assert_int_equal(audit_result_count(r, AUDIT_M2P_INVALID_FOR_MAPPED), n);
	assert_int_equal(audit_result_overflow(r), n - 450);
	f = audit_result_findings(r, AUDIT_M2P_INVALID_FOR_MAPPED, &i);
	assert_int_equal(i, 450);
	assert_int_equal(f[0].pfn, 4096);
	assert_int_equal(f[399].pfn, 4096 + 399);
	for (i = 1; i < 450; i++)
		assert_true(f[i - 1].pfn < f[i].pfn);
	for (p = 4096 + 400; p < f[449].pfn; p++) { /* nothing below the last kept dropped */
		bool bad = h->m2p[h->p2m1[p]] == AUDIT_M2P_INVALID, kept = false;

		for (i = 400; i < 450; i++)
			kept |= f[i].pfn == p;
		assert_int_equal(bad, kept);
	}
	audit_result_free(r);
	free(h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(fresh_host_audits_clean_with_hvm_pvh_not_auditable),
		cmocka_unit_test(heavily_ballooned_host_audits_clean_at_every_step),
		cmocka_unit_test(each_injected_fault_is_found_exactly_once),
		cmocka_unit_test(identity_fault_in_a_full_guest_is_one_finding),
		cmocka_unit_test(shut_down_domain_is_skipped_not_reported),
		cmocka_unit_test(persistent_fault_is_confirmed_by_recheck),
		cmocka_unit_test(identity_foreign_invalid_and_mmio_entries_are_not_findings),
		cmocka_unit_test(identity_entry_naming_another_pfn_is_a_mismatch),
		cmocka_unit_test(m2p_naming_a_pfn_beyond_the_p2m_is_out_of_range),
		cmocka_unit_test(shared_m2p_entry_in_a_pv_guest_is_reported),
		cmocka_unit_test(leaked_frame_gives_one_page_count_delta),
		cmocka_unit_test(alias_group_without_m2p_owner_keeps_one_m2p_finding),
		cmocka_unit_test(xen_owned_frame_is_a_cross_claim_and_free_one_unowned),
		cmocka_unit_test(stale_m2p_on_freed_frame_is_found_with_owner_array),
		cmocka_unit_test(narrow_p2m_flags_are_decoded),
		cmocka_unit_test(skipped_unreadable_and_hvm_domains),
		cmocka_unit_test(bad_tables_are_refused),
		cmocka_unit_test(class_names_round_trip),
		cmocka_unit_test(transient_balloon_windows_are_not_confirmed),
		cmocka_unit_test(recheck_keeps_only_identical_tuples),
		cmocka_unit_test(findings_beyond_the_cap_are_counted_not_kept),
		cmocka_unit_test(fragmented_host_audits_clean_for_any_threads_and_block_size),
		cmocka_unit_test(fragmented_host_faults_are_found_exactly_for_any_threads),
		cmocka_unit_test(kept_findings_are_the_first_in_pfn_order_for_any_threads),
		cmocka_unit_test(partitioned_and_sorted_passes_agree_on_random_faults),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
