/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The Xen audit source (design/AUDIT.md): Xen's M2P and every PV guest's
 * P2M, mapped read-only for lib/audit, and frame ownership on demand for
 * the auditor's suspects. Used by the xen backend's audit_open/read/close
 * and by tests/xen/xen-audit-read. Nothing here ever maps a frame
 * writable, calls xc_map_domain_meminfo or xc_domain_p2m_audit. */
#ifndef BALLOOND_AUDIT_XEN_H
#define BALLOOND_AUDIT_XEN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <xenctrl.h>

#include "audit.h"

struct audit_xen;

/* Remember the domains to audit (ndomids 0: every domain); maps nothing
 * and makes no hypercall, so it is quick enough for the event loop.
 * 0 or -ENOMEM with a sentence in err. */
int audit_xen_open(const uint32_t *domids, size_t ndomids, struct audit_xen **ret, char *err,
		   size_t errlen);

/* Open this audit's own xenctrl/xenforeignmemory handles, map the M2P and
 * each PV guest's P2M read-only and fill t; everything t points at stays
 * valid until audit_xen_close. Safe on any thread; touches no shared
 * state. Once per audit_xen. 0 or -errno with a sentence in err. */
int audit_xen_read(struct audit_xen *a, struct audit_tables *t, char *err, size_t errlen);

/* Why t->doms[i] was skipped or not audited ("PVH guest: ...", "P2M
 * published only as a virtual list ..."), or NULL when it was read. */
const char *audit_xen_dom_reason(const struct audit_xen *a, size_t i);

/* The domain's real kind: t->doms[i].guest says PVH for a PV guest whose
 * P2M could not be read (see audit-xen.c), this does not. */
enum audit_guest audit_xen_dom_guest(const struct audit_xen *a, size_t i);

void audit_xen_close(struct audit_xen *a);

/* What the last read saw and cost. owner_* grow while audit_run calls the
 * owner callback. */
struct audit_xen_stats {
	uint64_t nframes;	    /* max_page */
	uint64_t m2p_chunks;	    /* 2 MiB pieces of the M2P (262,144 frames each) */
	uint64_t m2p_hole_chunks;   /* chunks Xen does not back (they alias the previous) */
	uint64_t m2p_e820_disagree; /* hole chunks with E820 RAM in them */
	uint64_t ram_frames;	    /* E820 RAM frames below max_page */
	uint64_t leaf_pages;	    /* P2M pages mapped, all domains */
	uint64_t owner_calls, owner_hypercalls;
	double read_s;
};
void audit_xen_stats(const struct audit_xen *a, struct audit_xen_stats *ret);

/* ---- pieces without hypercalls, exposed for the unit tests ---- */

/* Machine frames [start, end). */
struct audit_xen_range {
	uint64_t start, end;
};

/* The E820 RAM entries as sorted, merged frame ranges (partial frames
 * dropped) into out (room for n). Returns the number of ranges. */
size_t audit_xen_ram_ranges(const struct e820entry *e, size_t n, struct audit_xen_range *out);

/* true if mfn is in one of the n sorted ranges. */
bool audit_xen_ram_has(const struct audit_xen_range *ram, size_t n, uint64_t mfn);

/* Mark in hole[] the M2P chunks Xen does not back: XENMEM_machphys_mfn_list
 * repeats the previous chunk's frame for them (and gives 0 for a first
 * chunk without one). Returns the number of holes; *ret_disagree counts
 * hole chunks in which the E820 has RAM below nframes. */
size_t audit_xen_m2p_holes(const xen_pfn_t *chunk_mfn, size_t nchunks, uint64_t nframes,
			   const struct audit_xen_range *ram, size_t nram, bool *hole,
			   size_t *ret_disagree);

/* How the P2M walk reaches guest frames: the Xen source maps them with
 * xenforeignmemory, the unit tests from a buffer. map returns n frames
 * read-only and contiguous, or NULL with errno set (ESRCH: the domain is
 * gone). owned returns 0 when every frame is an ordinary page the domain
 * owns, -EPERM with *ret_bad set when one is not, -ESRCH or -errno. */
struct audit_xen_mem {
	void *(*map)(void *arg, uint32_t domid, const xen_pfn_t *mfns, size_t n);
	void (*unmap)(void *arg, void *p, size_t n);
	int (*owned)(void *arg, uint32_t domid, const xen_pfn_t *mfns, size_t n, size_t *ret_bad);
	void *arg;
};

enum audit_xen_walk {
	AUDIT_XEN_WALK_OK,
	AUDIT_XEN_WALK_UNPUBLISHED, /* frame list 0: being built or early boot */
	AUDIT_XEN_WALK_UNREADABLE,  /* a P2M form this reader does not walk */
	AUDIT_XEN_WALK_BAD,	    /* guest-written structure invalid: P2M_STRUCTURE_ERROR */
	AUDIT_XEN_WALK_GONE,	    /* the domain went away */
};

/* A P2M mapped by the walk: npfns entries of width bytes at p2m (nleaves
 * pages, to be given back to mem->unmap). */
struct audit_xen_p2m {
	void *p2m;
	size_t nleaves;
	uint64_t npfns;
};

/* Walk a PV guest's 3-level pfn_to_mfn_frame_list_list tree from its
 * shared_info page (width 4 or 8: the guest's layout), retrying while
 * p2m_generation is odd or changes. Every frame number is checked below
 * nframes and owned by the domain before it is mapped; max_pfn is bounded
 * by max_npfns. Returns an enum audit_xen_walk with a sentence in why for
 * anything but OK, or -ENOMEM. */
int audit_xen_walk_p2m(const struct audit_xen_mem *mem, uint32_t domid, unsigned width,
		       const volatile void *shinfo, uint64_t nframes, uint64_t max_npfns,
		       struct audit_xen_p2m *ret, char *why, size_t whylen);

#endif
