/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The Xen audit source: Xen's M2P and the PV guests' P2Ms, read-only, for
 * lib/audit (design/AUDIT.md).
 *
 * M2P. Xen keeps the M2P in 2 MiB chunks of 262,144 entries (one GiB of
 * machine frames each); XENMEM_machphys_mfn_list names the first frame of
 * each chunk and repeats the previous chunk's frame for a chunk Xen never
 * allocated (no RAM in that GiB), so xc_map_m2p maps the previous chunk a
 * second time there and those values describe other frames. We make the
 * calls xc_map_m2p makes (xc_maximum_ram_page, xc_machphys_mfn_list, a
 * read-only DOMID_XEN foreign map) but place each backed run of chunks
 * ourselves in one reserved address range, and map a shared 2 MiB memfd of
 * 0xff bytes (AUDIT_M2P_INVALID) at each hole chunk. The E820
 * (xc_get_machine_memory_map) cross-checks the holes.
 *
 * Why hole frames read as M2P invalid and belong to DOMID_IO: the core
 * passes an entry without asking its owner when m2p[mfn] == pfn, and an
 * aliased chunk holds guest-writable values of other frames, so a guest
 * could make a hole frame look like its own. Invalid never equals a pfn:
 * every entry on a hole frame becomes a suspect, the owner callback says
 * DOMID_IO for every frame outside E820 RAM, and the core tests DOMID_IO
 * before every M2P class, so the entry counts as MMIO (a passthrough BAR,
 * a dom0 non-RAM remap): not a finding, and not part of tot_pages.
 *
 * Ownership. Xen 4.17 gives a tool no "owner of this frame" query.
 * XEN_DOMCTL_getpageframeinfo3 (xc_get_pfn_type_batch) on a PV domain
 * takes the frame number as gfn and answers XTAB unless the domain owns the
 * page (also for Xen-heap pages merely shared with it); on an HVM/PVH
 * domain it translates through that domain's P2M and says nothing about
 * machine frames. So owner(mfn) asks the PV domains in turn, the last one
 * that answered first: one domctl (a few microseconds) per domain tried
 * per suspect; a clean guest has no suspects, and answers are cached. A
 * frame no PV domain owns is reported free: P2M_UNOWNED_MFN therefore
 * means "owned by no PV domain" (it may be Xen's or an HVM/PVH guest's).
 *
 * P2M. Read only from the guest's shared_info, read-only: the 3-level
 * pfn_to_mfn_frame_list_list tree, every frame number checked below
 * max_page and owned by the guest before it is mapped (so a guest cannot
 * point us at device memory), the leaf pages mapped contiguously so the
 * core scans them in place, and the walk repeated while p2m_generation is
 * odd or moved. A guest that publishes its P2M only as a virtual list
 * (p2m_cr3/p2m_vaddr, frame list ~0) has done nothing wrong, but reading
 * that needs a walk of its page tables, which this reader does not do:
 * such a domain is reported as not auditable with the reason, never as a
 * P2M_STRUCTURE_ERROR. audit.h has no "unreadable" state, so the domain is
 * given to the core as a PVH guest (whose status is "not auditable");
 * audit_xen_dom_guest tells the truth. */
/* config.h comes from the build directory, or is forced in with -include. */
#ifndef PACKAGE_VERSION
#include "config.h"
#endif

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include <xenctrl.h>
#include <xenforeignmemory.h>
#include <xen/foreign/x86_32.h>
#include <xen/foreign/x86_64.h>

#include "audit-xen.h"
#include "log.h"

/* Exported by libxenctrl 4.17 (VERS_4.17.0) but declared only in its
 * private xc_private.h: XEN_DOMCTL_getpageframeinfo3 on num frames, each
 * replaced by its type (XEN_DOMCTL_PFINFO_*). */
int xc_get_pfn_type_batch(xc_interface *xch, uint32_t dom, unsigned int num, xen_pfn_t *arr);

#define XA_PAGE_SIZE 4096u
#define XA_CHUNK_BYTES (UINT64_C(2) << 20)
#define XA_CHUNK_PAGES (XA_CHUNK_BYTES / XA_PAGE_SIZE)
#define XA_CHUNK_FRAMES (XA_CHUNK_BYTES / sizeof(uint64_t))
#define XA_NFRAMES_LIMIT (UINT64_C(1) << 40) /* 4 PiB of machine memory */
#define XA_INFO_CHUNK 256
#define XA_TYPE_BATCH 1024u /* frames per getpageframeinfo3 */
#define XA_RETRIES 8
#define XA_RETRY_NS 2000000L
#define XA_OWNER_CACHE 4096
/* A guest's max_pfn may exceed its allocation by its E820 holes; beyond
 * twice the larger of its max_pages and the host, plus 4 GiB, it is not a
 * P2M this host can back. */
#define XA_NPFNS_SLACK (UINT64_C(1) << 20)
#define XA_REASON_MAX 200

struct xa_dom {
	enum audit_guest guest; /* the truth (doms[].guest may say PVH) */
	struct audit_xen_p2m map;
	char reason[XA_REASON_MAX];
};

/* One mapping inside the M2P reservation, unmapped whole at close. */
struct xa_run {
	size_t first, n; /* chunks */
	bool lost;	 /* the library already unmapped it after a failure */
};

struct xa_owner_slot {
	uint64_t mfn; /* UINT64_MAX: empty */
	uint32_t owner;
};

struct audit_xen {
	uint32_t *want;
	size_t nwant;
	bool read_done;
	xc_interface *xch;
	xenforeignmemory_handle *fmem;
	/* M2P */
	uint8_t *m2p_area;
	size_t m2p_chunks;
	struct xa_run *runs;
	size_t nruns;
	uint64_t nframes;
	struct audit_xen_range *ram;
	size_t nram;
	/* domains */
	struct audit_domain *doms;
	struct xa_dom *xd;
	size_t ndoms;
	uint32_t self;	  /* the domain we run in, once known; else DOMID_INVALID */
	uint32_t *pv_ids; /* every PV domain on the host, for ownership */
	size_t npv, owner_last;
	struct xa_owner_slot *owner_cache;
	struct audit_xen_stats stats;
};

static double xa_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int xa_errno(void)
{
	return errno ? errno : EIO;
}

/* libxenctrl's own messages go to the debug log: failed lookups are
 * expected here (domains vanish) and we say what failed ourselves. */
__attribute__((format(printf, 5, 0))) static void xa_xtl_vmessage(xentoollog_logger *logger,
								  xentoollog_level level,
								  int errnoval, const char *context,
								  const char *format, va_list al)
{
	char msg[512];

	(void)logger;
	if (level < XTL_INFO) /* libxencall's buffer statistics at every close */
		return;
	vsnprintf(msg, sizeof(msg), format, al);
	log_debug("audit: %s: %s%s%s", context ? context : "libxc", msg, errnoval >= 0 ? ": " : "",
		  errnoval >= 0 ? strerror(errnoval) : "");
}

static void xa_xtl_progress(xentoollog_logger *logger, const char *context, const char *doing_what,
			    int percent, unsigned long done, unsigned long total)
{
	(void)logger, (void)context, (void)doing_what, (void)percent, (void)done, (void)total;
}

static void xa_xtl_destroy(xentoollog_logger *logger)
{
	(void)logger;
}

static xentoollog_logger xa_xtl = {
	.vmessage = xa_xtl_vmessage,
	.progress = xa_xtl_progress,
	.destroy = xa_xtl_destroy,
};

/* ---- E820 and M2P holes (no hypercalls) ---- */

static int xa_range_cmp(const void *x, const void *y)
{
	const struct audit_xen_range *a = x, *b = y;

	return a->start < b->start ? -1 : a->start > b->start;
}

size_t audit_xen_ram_ranges(const struct e820entry *e, size_t n, struct audit_xen_range *out)
{
	size_t i, k = 0, m = 0;

	for (i = 0; i < n; i++) {
		uint64_t s, end;

		if (e[i].type != E820_RAM || e[i].size == 0)
			continue;
		end = e[i].addr + e[i].size < e[i].addr ? UINT64_MAX : e[i].addr + e[i].size;
		s = e[i].addr / XA_PAGE_SIZE + (e[i].addr % XA_PAGE_SIZE != 0);
		end /= XA_PAGE_SIZE;
		if (s < end)
			out[k++] = (struct audit_xen_range){s, end};
	}
	if (k == 0)
		return 0;
	qsort(out, k, sizeof(*out), xa_range_cmp);
	for (i = 1; i < k; i++) {
		if (out[i].start <= out[m].end) {
			if (out[i].end > out[m].end)
				out[m].end = out[i].end;
		} else {
			out[++m] = out[i];
		}
	}
	return m + 1;
}

bool audit_xen_ram_has(const struct audit_xen_range *ram, size_t n, uint64_t mfn)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (mfn < ram[mid].start)
			hi = mid;
		else if (mfn >= ram[mid].end)
			lo = mid + 1;
		else
			return true;
	}
	return false;
}

/* true if some RAM frame lies in [s, e). */
static bool xa_ram_any(const struct audit_xen_range *ram, size_t n, uint64_t s, uint64_t e)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (ram[i].start < e && ram[i].end > s)
			return true;
	return false;
}

size_t audit_xen_m2p_holes(const xen_pfn_t *chunk_mfn, size_t nchunks, uint64_t nframes,
			   const struct audit_xen_range *ram, size_t nram, bool *hole,
			   size_t *ret_disagree)
{
	size_t i, holes = 0, disagree = 0;

	for (i = 0; i < nchunks; i++) {
		uint64_t s = (uint64_t)i * XA_CHUNK_FRAMES, e = s + XA_CHUNK_FRAMES;

		hole[i] = chunk_mfn[i] == 0 || (i > 0 && chunk_mfn[i] == chunk_mfn[i - 1]);
		if (!hole[i])
			continue;
		holes++;
		if (e > nframes)
			e = nframes;
		if (xa_ram_any(ram, nram, s, e))
			disagree++;
	}
	*ret_disagree = disagree;
	return holes;
}

/* ---- the P2M walk ---- */

/* The shared_info fields the walk needs, each read once. */
struct xa_shinfo {
	uint64_t max_pfn, fll, p2m_cr3, gen;
};

static void xa_shinfo_read(const volatile void *si, unsigned width, struct xa_shinfo *s)
{
	if (width == 8) {
		const volatile struct shared_info_x86_64 *p = si;

		s->gen = p->arch.p2m_generation;
		__atomic_thread_fence(__ATOMIC_ACQUIRE);
		s->max_pfn = p->arch.max_pfn;
		s->fll = p->arch.pfn_to_mfn_frame_list_list;
		s->p2m_cr3 = p->arch.p2m_cr3;
	} else {
		const volatile struct shared_info_x86_32 *p = si;

		s->gen = p->arch.p2m_generation;
		__atomic_thread_fence(__ATOMIC_ACQUIRE);
		s->max_pfn = p->arch.max_pfn;
		s->fll = p->arch.pfn_to_mfn_frame_list_list;
		if (s->fll == UINT32_MAX)
			s->fll = UINT64_MAX;
		s->p2m_cr3 = p->arch.p2m_cr3;
	}
}

static bool xa_shinfo_same(const struct xa_shinfo *a, const struct xa_shinfo *b)
{
	return a->gen == b->gen && a->max_pfn == b->max_pfn && a->fll == b->fll &&
	       a->p2m_cr3 == b->p2m_cr3;
}

/* Copy n entries of width bytes from a guest page into frame numbers. */
static void xa_copy_entries(const volatile void *src, unsigned width, size_t n, xen_pfn_t *dst)
{
	size_t i;

	if (width == 8) {
		const volatile uint64_t *p = src;

		for (i = 0; i < n; i++)
			dst[i] = p[i];
	} else {
		const volatile uint32_t *p = src;

		for (i = 0; i < n; i++)
			dst[i] = p[i];
	}
}

/* Check frames the guest named for a level of its tree: below nframes and
 * owned by it. An enum audit_xen_walk or -errno. */
static int xa_check_frames(const struct audit_xen_mem *mem, uint32_t domid, const xen_pfn_t *mfns,
			   size_t n, uint64_t nframes, const char *what, char *why, size_t whylen)
{
	size_t i, bad = 0;
	int r;

	for (i = 0; i < n; i++)
		if (mfns[i] >= nframes) {
			snprintf(why, whylen,
				 "%s entry %zu names frame %#" PRIx64 ", beyond max_page %#" PRIx64,
				 what, i, (uint64_t)mfns[i], nframes);
			return AUDIT_XEN_WALK_BAD;
		}
	r = mem->owned(mem->arg, domid, mfns, n, &bad);
	if (r == -EPERM) {
		snprintf(why, whylen,
			 "%s entry %zu names frame %#" PRIx64 ", not a page the domain owns", what,
			 bad < n ? bad : 0, bad < n ? (uint64_t)mfns[bad] : 0);
		return AUDIT_XEN_WALK_BAD;
	}
	if (r == -ESRCH)
		return AUDIT_XEN_WALK_GONE;
	if (r < 0) {
		snprintf(why, whylen, "cannot check the %s frames: %s", what, strerror(-r));
		return r == -ENOMEM ? r : AUDIT_XEN_WALK_BAD;
	}
	return AUDIT_XEN_WALK_OK;
}

/* Map n checked frames; an enum audit_xen_walk or -ENOMEM. */
static int xa_map_frames(const struct audit_xen_mem *mem, uint32_t domid, const xen_pfn_t *mfns,
			 size_t n, const char *what, void **ret, char *why, size_t whylen)
{
	int e;

	errno = 0;
	*ret = mem->map(mem->arg, domid, mfns, n);
	if (*ret)
		return AUDIT_XEN_WALK_OK;
	e = xa_errno();
	if (e == ESRCH)
		return AUDIT_XEN_WALK_GONE;
	if (e == ENOMEM)
		return -ENOMEM;
	snprintf(why, whylen, "cannot map the %s (%zu frames): %s", what, n, strerror(e));
	return AUDIT_XEN_WALK_BAD;
}

/* One pass over the tree described by s. On OK, ret holds the leaves. */
static int xa_walk_once(const struct audit_xen_mem *mem, uint32_t domid, unsigned width,
			const struct xa_shinfo *s, uint64_t nframes, uint64_t max_npfns,
			struct audit_xen_p2m *ret, char *why, size_t whylen)
{
	uint64_t fpp = XA_PAGE_SIZE / width, npfns = s->max_pfn;
	size_t nleaves, nfl, i;
	xen_pfn_t fll = s->fll, *fl = NULL, *leaves = NULL;
	void *page = NULL;
	int r;

	if (s->fll == 0) {
		snprintf(why, whylen,
			 "no P2M published yet (frame list 0): being built or booting");
		return AUDIT_XEN_WALK_UNPUBLISHED;
	}
	if (s->fll == UINT64_MAX) {
		if (s->p2m_cr3)
			snprintf(why, whylen,
				 "P2M published only as a virtual list (p2m_cr3 %#" PRIx64
				 ", p2m_vaddr), no frame list; reading it needs a guest "
				 "page-table walk, which this auditor does not do",
				 s->p2m_cr3);
		else
			snprintf(why, whylen, "no P2M published (frame list ~0, no p2m_cr3)");
		return AUDIT_XEN_WALK_UNREADABLE;
	}
	if (npfns == 0 || npfns > fpp * fpp * fpp || npfns > max_npfns) {
		snprintf(why, whylen, "max_pfn %" PRIu64 " out of bounds (1..%" PRIu64 ")", npfns,
			 max_npfns < fpp * fpp * fpp ? max_npfns : fpp * fpp * fpp);
		return AUDIT_XEN_WALK_BAD;
	}
	nleaves = (size_t)((npfns + fpp - 1) / fpp);
	nfl = (size_t)((nleaves + fpp - 1) / fpp);
	fl = malloc(nfl * sizeof(*fl));
	leaves = malloc(nleaves * sizeof(*leaves));
	if (!fl || !leaves) {
		r = -ENOMEM;
		goto out;
	}

	r = xa_check_frames(mem, domid, &fll, 1, nframes, "frame list list", why, whylen);
	if (r != AUDIT_XEN_WALK_OK)
		goto out;
	r = xa_map_frames(mem, domid, &fll, 1, "frame list list", &page, why, whylen);
	if (r != AUDIT_XEN_WALK_OK)
		goto out;
	xa_copy_entries(page, width, nfl, fl);
	mem->unmap(mem->arg, page, 1);

	r = xa_check_frames(mem, domid, fl, nfl, nframes, "frame list", why, whylen);
	if (r != AUDIT_XEN_WALK_OK)
		goto out;
	r = xa_map_frames(mem, domid, fl, nfl, "frame lists", &page, why, whylen);
	if (r != AUDIT_XEN_WALK_OK)
		goto out;
	for (i = 0; i < nfl; i++) {
		size_t n = nleaves - i * fpp < fpp ? nleaves - i * fpp : fpp;

		xa_copy_entries((const uint8_t *)page + i * XA_PAGE_SIZE, width, n,
				leaves + i * fpp);
	}
	mem->unmap(mem->arg, page, nfl);

	r = xa_check_frames(mem, domid, leaves, nleaves, nframes, "P2M leaf", why, whylen);
	if (r != AUDIT_XEN_WALK_OK)
		goto out;
	r = xa_map_frames(mem, domid, leaves, nleaves, "P2M leaves", &page, why, whylen);
	if (r != AUDIT_XEN_WALK_OK)
		goto out;
	*ret = (struct audit_xen_p2m){.p2m = page, .nleaves = nleaves, .npfns = npfns};
out:
	free(fl);
	free(leaves);
	return r;
}

int audit_xen_walk_p2m(const struct audit_xen_mem *mem, uint32_t domid, unsigned width,
		       const volatile void *shinfo, uint64_t nframes, uint64_t max_npfns,
		       struct audit_xen_p2m *ret, char *why, size_t whylen)
{
	const struct timespec pause = {0, XA_RETRY_NS};
	struct xa_shinfo s0, s1;
	int attempt, r = AUDIT_XEN_WALK_BAD;

	if (width != 4 && width != 8) {
		snprintf(why, whylen, "guest width %u bytes", width);
		return AUDIT_XEN_WALK_UNREADABLE;
	}
	snprintf(why, whylen, "P2M kept changing");
	for (attempt = 0; attempt < XA_RETRIES; attempt++) {
		struct audit_xen_p2m p = {0};

		if (attempt)
			nanosleep(&pause, NULL);
		xa_shinfo_read(shinfo, width, &s0);
		/* p2m_generation is kept only by guests that set p2m_cr3. */
		if (s0.p2m_cr3 && (s0.gen & 1)) {
			snprintf(why, whylen, "P2M update in progress (generation %" PRIu64 " odd)",
				 s0.gen);
			continue;
		}
		r = xa_walk_once(mem, domid, width, &s0, nframes, max_npfns, &p, why, whylen);
		if (r < 0 || r == AUDIT_XEN_WALK_GONE)
			return r;
		xa_shinfo_read(shinfo, width, &s1);
		if (!xa_shinfo_same(&s0, &s1) || (s1.p2m_cr3 && (s1.gen & 1))) {
			if (p.p2m)
				mem->unmap(mem->arg, p.p2m, p.nleaves);
			snprintf(why, whylen,
				 "P2M changed during the read (generation %" PRIu64 " -> %" PRIu64
				 ")",
				 s0.gen, s1.gen);
			r = AUDIT_XEN_WALK_BAD;
			continue;
		}
		if (r == AUDIT_XEN_WALK_OK) {
			*ret = p;
			why[0] = '\0';
		}
		return r;
	}
	if (r == AUDIT_XEN_WALK_BAD) {
		size_t len = strlen(why);

		snprintf(why + len, whylen - len, " (%d attempts)", XA_RETRIES);
	}
	return AUDIT_XEN_WALK_BAD;
}

/* ---- guest frames through xenforeignmemory and getpageframeinfo3 ---- */

/* Xen refuses a domain's own id as the foreign domain of a mapping
 * (ESRCH, "cannot specify itself"): our own frames go through DOMID_SELF. */
static void *xa_mem_map(void *arg, uint32_t domid, const xen_pfn_t *mfns, size_t n)
{
	struct audit_xen *a = arg;

	return xenforeignmemory_map(a->fmem, domid == a->self ? DOMID_SELF : domid, PROT_READ, n,
				    mfns, NULL);
}

static void xa_mem_unmap(void *arg, void *p, size_t n)
{
	struct audit_xen *a = arg;

	xenforeignmemory_unmap(a->fmem, p, n);
}

static bool xa_type_owned(xen_pfn_t type)
{
	type &= XEN_DOMCTL_PFINFO_LTAB_MASK;
	return type != XEN_DOMCTL_PFINFO_XTAB && type != XEN_DOMCTL_PFINFO_BROKEN &&
	       type != XEN_DOMCTL_PFINFO_XALLOC;
}

static int xa_mem_owned(void *arg, uint32_t domid, const xen_pfn_t *mfns, size_t n, size_t *ret_bad)
{
	struct audit_xen *a = arg;
	xen_pfn_t batch[XA_TYPE_BATCH];
	size_t i, j;

	for (i = 0; i < n; i += XA_TYPE_BATCH) {
		size_t k = n - i < XA_TYPE_BATCH ? n - i : XA_TYPE_BATCH;

		memcpy(batch, mfns + i, k * sizeof(*batch));
		errno = 0;
		if (xc_get_pfn_type_batch(a->xch, domid, (unsigned)k, batch) < 0)
			return -xa_errno();
		for (j = 0; j < k; j++)
			if (!xa_type_owned(batch[j])) {
				*ret_bad = i + j;
				return -EPERM;
			}
	}
	return 0;
}

/* The owner of a frame, for the core's suspects (see the top comment). */
static uint32_t xa_owner(void *arg, uint64_t mfn)
{
	struct audit_xen *a = arg;
	struct xa_owner_slot *slot = NULL;
	uint32_t owner = AUDIT_OWNER_FREE;
	size_t i;

	a->stats.owner_calls++;
	if (!audit_xen_ram_has(a->ram, a->nram, mfn))
		return AUDIT_OWNER_IO;
	if (a->owner_cache) {
		slot = &a->owner_cache[mfn % XA_OWNER_CACHE];
		if (slot->mfn == mfn)
			return slot->owner;
	}
	for (i = 0; i < a->npv; i++) {
		size_t k = (a->owner_last + i) % a->npv;
		xen_pfn_t x = mfn;

		a->stats.owner_hypercalls++;
		if (xc_get_pfn_type_batch(a->xch, a->pv_ids[k], 1, &x) < 0)
			continue;
		if (xa_type_owned(x)) {
			a->owner_last = k;
			owner = a->pv_ids[k];
			break;
		}
	}
	if (slot)
		*slot = (struct xa_owner_slot){.mfn = mfn, .owner = owner};
	return owner;
}

/* ---- reading the host ---- */

int audit_xen_open(const uint32_t *domids, size_t ndomids, struct audit_xen **ret, char *err,
		   size_t errlen)
{
	struct audit_xen *a = calloc(1, sizeof(*a));

	if (a)
		a->self = DOMID_INVALID;
	if (a && ndomids) {
		a->want = malloc(ndomids * sizeof(*a->want));
		if (a->want) {
			memcpy(a->want, domids, ndomids * sizeof(*a->want));
			a->nwant = ndomids;
		}
	}
	if (!a || (ndomids && !a->want)) {
		free(a);
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	*ret = a;
	return 0;
}

/* Every domain, ascending by domid; *ret (malloc'd) and the count, or
 * -errno. */
static long xa_list_domains(struct audit_xen *a, xc_domaininfo_t **ret)
{
	xc_domaininfo_t *info = NULL;
	uint32_t first = 0;
	size_t n = 0;

	for (;;) {
		xc_domaininfo_t *p = realloc(info, (n + XA_INFO_CHUNK) * sizeof(*info));
		int r, i;

		if (!p) {
			free(info);
			return -ENOMEM;
		}
		info = p;
		errno = 0;
		r = xc_domain_getinfolist(a->xch, first, XA_INFO_CHUNK, info + n);
		if (r < 0 || r > XA_INFO_CHUNK) {
			int e = r < 0 ? xa_errno() : EIO;

			free(info);
			return -e;
		}
		for (i = 0; i < r; i++) {
			uint32_t id = info[n + (size_t)i].domain;

			if (id < first || id >= DOMID_FIRST_RESERVED ||
			    (n + (size_t)i > 0 && id <= info[n + (size_t)i - 1].domain)) {
				free(info);
				return -EIO;
			}
		}
		n += (size_t)r;
		if (r < XA_INFO_CHUNK)
			break;
		first = info[n - 1].domain + 1;
		if (first >= DOMID_FIRST_RESERVED)
			break;
	}
	*ret = info;
	return (long)n;
}

/* Map the M2P into one reservation: backed runs of chunks from DOMID_XEN,
 * hole chunks from a shared memfd of 0xff. 0 or -errno with a sentence. */
static int xa_map_m2p(struct audit_xen *a, char *err, size_t errlen)
{
	unsigned long max_page = 0;
	struct e820entry e820[E820MAX];
	xen_pfn_t *chunk = NULL, *arr = NULL;
	bool *hole = NULL;
	size_t i, j, disagree = 0, holes;
	int n, r = 0, fd = -1, *perr = NULL;

	errno = 0;
	if (xc_maximum_ram_page(a->xch, &max_page) < 0) {
		r = -xa_errno();
		snprintf(err, errlen, "XENMEM_maximum_ram_page failed: %s", strerror(-r));
		return r;
	}
	if (max_page == 0 || max_page >= XA_NFRAMES_LIMIT) {
		snprintf(err, errlen, "implausible max_page %lu", max_page);
		return -EIO;
	}
	a->nframes = max_page;
	errno = 0;
	n = xc_get_machine_memory_map(a->xch, e820, E820MAX);
	if (n < 0 || n > E820MAX) {
		r = n < 0 ? -xa_errno() : -EIO;
		snprintf(err, errlen, "XENMEM_machine_memory_map failed: %s", strerror(-r));
		return r;
	}
	a->ram = malloc(((size_t)n + 1) * sizeof(*a->ram));
	a->m2p_chunks = (size_t)((max_page + XA_CHUNK_FRAMES - 1) / XA_CHUNK_FRAMES);
	chunk = calloc(a->m2p_chunks, sizeof(*chunk));
	hole = calloc(a->m2p_chunks, sizeof(*hole));
	a->runs = calloc(a->m2p_chunks, sizeof(*a->runs));
	if (!a->ram || !chunk || !hole || !a->runs) {
		r = -ENOMEM;
		goto nomem;
	}
	a->nram = audit_xen_ram_ranges(e820, (size_t)n, a->ram);
	for (i = 0; i < a->nram && a->ram[i].start < max_page; i++)
		a->stats.ram_frames +=
			(a->ram[i].end < max_page ? a->ram[i].end : max_page) - a->ram[i].start;
	errno = 0;
	if (xc_machphys_mfn_list(a->xch, a->m2p_chunks, chunk) < 0) {
		r = -xa_errno();
		snprintf(err, errlen, "XENMEM_machphys_mfn_list (%zu chunks) failed: %s",
			 a->m2p_chunks, strerror(-r));
		goto out;
	}
	holes = audit_xen_m2p_holes(chunk, a->m2p_chunks, max_page, a->ram, a->nram, hole,
				    &disagree);
	for (i = 0; i < a->m2p_chunks; i++)
		if (!hole[i] &&
		    (chunk[i] % XA_CHUNK_PAGES || chunk[i] + XA_CHUNK_PAGES > max_page)) {
			snprintf(err, errlen,
				 "M2P chunk %zu at frame %#" PRIx64 " is not a 2 MiB "
				 "frame below max_page",
				 i, (uint64_t)chunk[i]);
			r = -EIO;
			goto out;
		}
	if (disagree)
		log_warnx("audit: %zu M2P hole chunks have E820 RAM in them; their frames read "
			  "as M2P invalid",
			  disagree);
	a->stats.m2p_chunks = a->m2p_chunks;
	a->stats.m2p_hole_chunks = holes;
	a->stats.m2p_e820_disagree = disagree;

	a->m2p_area = mmap(NULL, a->m2p_chunks * XA_CHUNK_BYTES, PROT_NONE,
			   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (a->m2p_area == MAP_FAILED) {
		a->m2p_area = NULL;
		r = -xa_errno();
		snprintf(err, errlen, "cannot reserve %zu MiB for the M2P: %s", a->m2p_chunks * 2,
			 strerror(-r));
		goto out;
	}
	/* Until a run is mapped over it, the reservation is one run per chunk. */
	for (i = 0; i < a->m2p_chunks; i++)
		a->runs[i] = (struct xa_run){.first = i, .n = 1};
	a->nruns = a->m2p_chunks;
	if (holes) {
		uint8_t *fill;

		fd = memfd_create("balloond-m2p-hole", MFD_CLOEXEC);
		if (fd < 0 || ftruncate(fd, (off_t)XA_CHUNK_BYTES) < 0) {
			r = -xa_errno();
			snprintf(err, errlen, "memfd for the M2P holes: %s", strerror(-r));
			goto out;
		}
		fill = mmap(NULL, XA_CHUNK_BYTES, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
		if (fill == MAP_FAILED) {
			r = -xa_errno();
			snprintf(err, errlen, "memfd for the M2P holes: %s", strerror(-r));
			goto out;
		}
		memset(fill, 0xff, XA_CHUNK_BYTES);
		munmap(fill, XA_CHUNK_BYTES);
	}
	arr = malloc(a->m2p_chunks * XA_CHUNK_PAGES * sizeof(*arr));
	perr = malloc(a->m2p_chunks * XA_CHUNK_PAGES * sizeof(*perr));
	if (!arr || !perr) {
		r = -ENOMEM;
		goto nomem;
	}
	/* Rebuild runs: maximal stretches of backed chunks, single hole chunks. */
	a->nruns = 0;
	for (i = 0; i < a->m2p_chunks; i = j) {
		uint8_t *at = a->m2p_area + i * XA_CHUNK_BYTES;
		struct xa_run *run = &a->runs[a->nruns];
		size_t k, np;
		void *p;

		if (hole[i]) {
			j = i + 1;
			p = mmap(at, XA_CHUNK_BYTES, PROT_READ, MAP_SHARED | MAP_FIXED, fd, 0);
			*run = (struct xa_run){.first = i, .n = 1};
			a->nruns++;
			if (p == MAP_FAILED) {
				/* A failed MAP_FIXED may have unmapped the reservation. */
				run->lost = true;
				r = -xa_errno();
				snprintf(err, errlen, "cannot map the M2P hole fill: %s",
					 strerror(-r));
				goto rest;
			}
			continue;
		}
		for (j = i; j < a->m2p_chunks && !hole[j]; j++)
			for (k = 0; k < XA_CHUNK_PAGES; k++)
				arr[(j - i) * XA_CHUNK_PAGES + k] = chunk[j] + k;
		np = (j - i) * XA_CHUNK_PAGES;
		*run = (struct xa_run){.first = i, .n = j - i};
		a->nruns++;
		errno = 0;
		p = xenforeignmemory_map2(a->fmem, DOMID_XEN, at, PROT_READ, MAP_FIXED, np, arr,
					  perr);
		if (!p) {
			/* The library unmapped what it had mapped over the reservation. */
			run->lost = true;
			r = -xa_errno();
			snprintf(err, errlen, "cannot map the M2P (DOMID_XEN, %zu pages): %s", np,
				 strerror(-r));
			goto rest;
		}
		for (k = 0; k < np; k++)
			if (perr[k]) {
				r = -perr[k];
				snprintf(err, errlen, "cannot map M2P frame %#" PRIx64 ": %s",
					 (uint64_t)arr[k], strerror(perr[k]));
				goto rest;
			}
	}
	goto out;
rest:
	/* The chunks after the failure are still one reservation run each. */
	for (i = a->runs[a->nruns - 1].first + a->runs[a->nruns - 1].n; i < a->m2p_chunks; i++)
		a->runs[a->nruns++] = (struct xa_run){.first = i, .n = 1};
	goto out;
nomem:
	snprintf(err, errlen, "out of memory");
out:
	if (fd >= 0)
		close(fd);
	free(chunk);
	free(hole);
	free(arr);
	free(perr);
	return r;
}

/* HVM or PVH, from the emulation Xen provides (PVH has no PIC). */
static enum audit_guest xa_guest_kind(const xc_domaininfo_t *info)
{
	if (!(info->flags & XEN_DOMINF_hvm_guest))
		return AUDIT_GUEST_PV;
	return info->arch_config.emulation_flags & XEN_X86_EMU_PIC ? AUDIT_GUEST_HVM
								   : AUDIT_GUEST_PVH;
}

/* The bound on a guest's max_pfn (see XA_NPFNS_SLACK). */
static uint64_t xa_max_npfns(const struct audit_xen *a, const xc_domaininfo_t *info)
{
	uint64_t m = info->max_pages > a->nframes ? info->max_pages : a->nframes;

	if (info->tot_pages > m)
		m = info->tot_pages;
	return m * 2 + XA_NPFNS_SLACK;
}

/* Map a domain's shared_info read-only. A live domain whose own id is
 * refused (ESRCH) may be the one we run in: if DOMID_SELF maps the frame
 * Xen named as its shared_info, it is ours (Xen checks the frame belongs
 * to the mapping domain), and the domain's frames are mapped that way. */
static void *xa_map_shinfo(struct audit_xen *a, uint32_t domid, xen_pfn_t frame)
{
	xc_domaininfo_t again;
	void *si;

	errno = 0;
	si = xa_mem_map(a, domid, &frame, 1);
	if (si || errno != ESRCH || a->self != DOMID_INVALID)
		return si;
	if (xc_domain_getinfolist(a->xch, domid, 1, &again) != 1 || again.domain != domid ||
	    (again.flags & XEN_DOMINF_dying)) {
		errno = ESRCH;
		return NULL;
	}
	errno = 0;
	si = xenforeignmemory_map(a->fmem, DOMID_SELF, PROT_READ, 1, &frame, NULL);
	if (si) {
		a->self = domid;
		log_debug("audit: domain %u is the one we run in", domid);
	}
	return si;
}

/* Fill one domain; the P2M of a running PV guest is mapped. 0 or -errno. */
static int xa_read_domain(struct audit_xen *a, const xc_domaininfo_t *info, struct audit_domain *d,
			  struct xa_dom *x)
{
	struct audit_xen_mem mem = {xa_mem_map, xa_mem_unmap, xa_mem_owned, a};
	unsigned width = 0;
	void *si;
	int r, e;

	d->domid = info->domain;
	d->tot_pages = info->tot_pages;
	d->width = 64; /* the core wants a valid width even for a skipped PV domain */
	x->guest = d->guest = xa_guest_kind(info);
	if (info->flags & XEN_DOMINF_dying) {
		d->flags |= AUDIT_DOM_DYING;
		snprintf(x->reason, sizeof(x->reason), "dying");
	} else if (info->flags & XEN_DOMINF_shutdown) {
		d->flags |= AUDIT_DOM_SHUTDOWN;
		snprintf(x->reason, sizeof(x->reason), "shut down");
	}
	if (d->guest != AUDIT_GUEST_PV) {
		if (!x->reason[0])
			snprintf(x->reason, sizeof(x->reason),
				 "%s guest: its P2M is inside Xen, no tool can read it",
				 d->guest == AUDIT_GUEST_PVH ? "PVH" : "HVM");
		return 0;
	}
	if (d->flags)
		return 0;
	errno = 0;
	if (xc_domain_get_guest_width(a->xch, d->domid, &width) < 0) {
		e = xa_errno();
		if (e != ESRCH) {
			d->guest = AUDIT_GUEST_PVH;
			snprintf(x->reason, sizeof(x->reason), "cannot read the guest width: %s",
				 strerror(e));
			log_info("audit: domain %u not auditable: %s", d->domid, x->reason);
			return 0;
		}
		d->flags |= AUDIT_DOM_DYING;
		snprintf(x->reason, sizeof(x->reason), "went away");
		return 0;
	}
	if (width != 4 && width != 8) {
		d->guest = AUDIT_GUEST_PVH;
		snprintf(x->reason, sizeof(x->reason), "guest width %u bytes", width);
		log_info("audit: domain %u not auditable: %s", d->domid, x->reason);
		return 0;
	}
	d->width = width * 8;
	if (info->shared_info_frame >= a->nframes) {
		d->guest = AUDIT_GUEST_PVH;
		snprintf(x->reason, sizeof(x->reason),
			 "shared_info frame %#" PRIx64 " beyond max_page",
			 (uint64_t)info->shared_info_frame);
		return 0;
	}
	si = xa_map_shinfo(a, d->domid, info->shared_info_frame);
	if (!si) {
		e = xa_errno();
		if (e == ENOMEM)
			return -ENOMEM;
		if (e == ESRCH) {
			d->flags |= AUDIT_DOM_DYING;
			snprintf(x->reason, sizeof(x->reason), "went away");
			return 0;
		}
		/* Xen chose that frame, not the guest: not a structure error. */
		d->guest = AUDIT_GUEST_PVH;
		snprintf(x->reason, sizeof(x->reason), "cannot map shared_info: %s", strerror(e));
		log_info("audit: domain %u not auditable: %s", d->domid, x->reason);
		return 0;
	}
	r = audit_xen_walk_p2m(&mem, d->domid, width, si, a->nframes, xa_max_npfns(a, info),
			       &x->map, x->reason, sizeof(x->reason));
	xenforeignmemory_unmap(a->fmem, si, 1);
	switch (r) {
	case AUDIT_XEN_WALK_OK:
		d->p2m = x->map.p2m;
		d->npfns = x->map.npfns;
		a->stats.leaf_pages += x->map.nleaves;
		return 0;
	case AUDIT_XEN_WALK_UNPUBLISHED: d->flags |= AUDIT_DOM_BUILDING; return 0;
	case AUDIT_XEN_WALK_UNREADABLE:
		d->guest = AUDIT_GUEST_PVH;
		log_info("audit: domain %u not auditable: %s", d->domid, x->reason);
		return 0;
	case AUDIT_XEN_WALK_GONE:
		d->flags |= AUDIT_DOM_DYING;
		snprintf(x->reason, sizeof(x->reason), "went away");
		return 0;
	case AUDIT_XEN_WALK_BAD:
		log_info("audit: domain %u: P2M structure: %s", d->domid, x->reason);
		return 0;
	default: return r;
	}
}

static bool xa_wanted(const struct audit_xen *a, uint32_t domid)
{
	size_t i;

	if (a->nwant == 0)
		return true;
	for (i = 0; i < a->nwant; i++)
		if (a->want[i] == domid)
			return true;
	return false;
}

int audit_xen_read(struct audit_xen *a, struct audit_tables *t, char *err, size_t errlen)
{
	double t0 = xa_now();
	xc_domaininfo_t *info = NULL;
	long n;
	size_t i;
	int r;

	if (a->read_done) {
		snprintf(err, errlen, "audit source read twice");
		return -EINVAL;
	}
	a->read_done = true;
	errno = 0;
	a->xch = xc_interface_open(&xa_xtl, &xa_xtl, 0);
	if (!a->xch) {
		r = -xa_errno();
		snprintf(err, errlen, "cannot open the Xen control interface: %s", strerror(-r));
		return r;
	}
	errno = 0;
	a->fmem = xenforeignmemory_open(&xa_xtl, 0);
	if (!a->fmem) {
		r = -xa_errno();
		snprintf(err, errlen, "cannot open xenforeignmemory: %s", strerror(-r));
		return r;
	}
	r = xa_map_m2p(a, err, errlen);
	if (r < 0)
		return r;
	n = xa_list_domains(a, &info);
	if (n < 0) {
		snprintf(err, errlen, "cannot list the domains: %s", strerror((int)-n));
		return (int)n;
	}
	a->doms = calloc((size_t)n + 1, sizeof(*a->doms));
	a->xd = calloc((size_t)n + 1, sizeof(*a->xd));
	a->pv_ids = calloc((size_t)n + 1, sizeof(*a->pv_ids));
	a->owner_cache = malloc(XA_OWNER_CACHE * sizeof(*a->owner_cache));
	if (!a->doms || !a->xd || !a->pv_ids || !a->owner_cache) {
		free(info);
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	for (i = 0; i < XA_OWNER_CACHE; i++)
		a->owner_cache[i].mfn = UINT64_MAX;
	for (i = 0; i < (size_t)n; i++) {
		if (!(info[i].flags & XEN_DOMINF_hvm_guest))
			a->pv_ids[a->npv++] = info[i].domain;
		if (!xa_wanted(a, info[i].domain))
			continue;
		r = xa_read_domain(a, &info[i], &a->doms[a->ndoms], &a->xd[a->ndoms]);
		a->ndoms++;
		if (r < 0) {
			free(info);
			snprintf(err, errlen, "reading domain %u: %s", info[i].domain,
				 strerror(-r));
			return r;
		}
	}
	free(info);
	*t = (struct audit_tables){.m2p = (const uint64_t *)a->m2p_area,
				   .nframes = a->nframes,
				   .owner = xa_owner,
				   .owner_arg = a,
				   .doms = a->doms,
				   .ndoms = a->ndoms};
	a->stats.nframes = a->nframes;
	a->stats.read_s = xa_now() - t0;
	return 0;
}

const char *audit_xen_dom_reason(const struct audit_xen *a, size_t i)
{
	if (i >= a->ndoms || !a->xd[i].reason[0])
		return NULL;
	return a->xd[i].reason;
}

enum audit_guest audit_xen_dom_guest(const struct audit_xen *a, size_t i)
{
	return i < a->ndoms ? a->xd[i].guest : AUDIT_GUEST_PV;
}

void audit_xen_stats(const struct audit_xen *a, struct audit_xen_stats *ret)
{
	*ret = a->stats;
}

void audit_xen_close(struct audit_xen *a)
{
	size_t i;

	if (!a)
		return;
	for (i = 0; i < a->ndoms; i++)
		if (a->xd[i].map.p2m)
			xenforeignmemory_unmap(a->fmem, a->xd[i].map.p2m, a->xd[i].map.nleaves);
	if (a->m2p_area)
		for (i = 0; i < a->nruns; i++)
			if (!a->runs[i].lost)
				munmap(a->m2p_area + a->runs[i].first * XA_CHUNK_BYTES,
				       a->runs[i].n * XA_CHUNK_BYTES);
	if (a->fmem)
		xenforeignmemory_close(a->fmem);
	if (a->xch)
		xc_interface_close(a->xch);
	free(a->runs);
	free(a->ram);
	free(a->doms);
	free(a->xd);
	free(a->pv_ids);
	free(a->owner_cache);
	free(a->want);
	free(a);
}
