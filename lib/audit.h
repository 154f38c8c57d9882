/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The M2P/P2M auditor (see design/AUDIT.md): classifies every entry of each
 * PV guest's P2M against the global M2P and frame ownership, over abstract
 * tables so one core serves the simulator and real Xen. Pure: no I/O, no
 * clock, no globals; the caller maps the tables and decides what to do.
 *
 * A finding is usually a guest bug or attack rather than a hypervisor fault:
 * a PV guest may legally write the M2P entries of its own frames.
 *
 * Precedence (one finding per P2M entry, first match wins):
 *   entry ~0 (ballooned out), FOREIGN bit          -> not a finding
 *   IDENTITY bit, low bits != pfn                  -> P2M_IDENTITY_MISMATCH
 *   IDENTITY bit, low bits == pfn                  -> not a finding
 *   mfn >= nframes                                 -> P2M_MFN_OUT_OF_RANGE
 *   frame owned by DOMID_IO (MMIO, non-RAM remap)  -> not a finding
 *   frame free                                     -> P2M_UNOWNED_MFN
 *   frame owned by another domain or by Xen        -> MFN_CROSS_CLAIM
 *   another pfn of this domain maps the frame, and
 *     the M2P names that pfn (or, when the M2P names
 *     neither, that pfn is lower)                  -> P2M_ALIAS
 *   M2P entry shared (~0 - 1)                      -> M2P_SHARED_IN_PV
 *   M2P entry invalid (bit 63 set)                 -> M2P_INVALID_FOR_MAPPED
 *   M2P entry >= npfns                             -> M2P_OUT_OF_RANGE
 *   M2P entry != pfn                               -> M2P_MISMATCH
 * Per domain, at most one PAGE_COUNT_DELTA: tot_pages differs from the number
 * of RAM entries the P2M maps outside MMIO (owned or not: an entry pointing
 * at a frame it does not own is already its own finding, and the frame it
 * displaced is still counted in tot_pages, so one fault gives one finding).
 * A PV domain whose P2M the caller could not read gives P2M_STRUCTURE_ERROR.
 *
 * Ownership: with owner_array every entry's owner is checked inline. With
 * only the callback, the owner is fetched for suspects only (entries whose
 * M2P entry does not name them); an entry pointing at a frame it does not
 * own whose M2P entry happens to equal its pfn (e.g. a freed frame with a
 * stale M2P entry) is then missed as an entry; PAGE_COUNT_DELTA still shows
 * it when the frame really left the domain. Aliases need
 * no per-frame bitmap: of several pfns mapping one frame at most one is
 * named by the M2P, so every other one is a suspect; suspects are resolved
 * by looking up p2m[m2p[mfn]] and by sorting the domain's suspects by mfn.
 * Memory: no per-frame state at all; the suspect list is bounded by
 * max_records (default 65,536 records of 56 bytes, about 3.5 MiB), and
 * each thread has one block buffer (struct audit_opts: about 8 bytes per
 * P2M entry of a block, 32 MiB by default on a 1 TiB host). A fragmented
 * domain read partitioned needs, per thread, 8 bytes per entry of its
 * block (automatic: up to 2^22 entries, 32 MiB) plus about 2.1 KiB per
 * 2^17 frames of the host (4.2 MiB on 1 TiB).
 *
 * Speed: entries mapping runs of consecutive frames are checked in place;
 * the others are sorted by M2P region block by block, so the M2P and
 * owner reads sweep forward instead of jumping around the host. Asked
 * for (AUDIT_METHOD_PARTITION), a domain is instead partitioned: one read
 * of its P2M into buckets by M2P slice, then each bucket checked within
 * its slice (see audit.c); measured slower here, it is not the default. */
#ifndef BALLOOND_AUDIT_H
#define BALLOOND_AUDIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Frame owners with a meaning of their own (Xen's DOMID_* values). */
#define AUDIT_OWNER_IO 0x7ff1u	 /* MMIO frames, not RAM */
#define AUDIT_OWNER_XEN 0x7ff2u	 /* frames Xen keeps for itself */
#define AUDIT_OWNER_FREE 0x7ff4u /* DOMID_INVALID: a free frame */

/* Entry values. A 64-bit P2M uses bit 63 FOREIGN and bit 62 IDENTITY; a
 * 32-bit P2M uses bits 31 and 30 and ~0U; the auditor widens it itself. */
#define AUDIT_P2M_INVALID UINT64_MAX
#define AUDIT_P2M_FOREIGN (UINT64_C(1) << 63)
#define AUDIT_P2M_IDENTITY (UINT64_C(1) << 62)
/* M2P values: any value with bit 63 set is invalid; ~0 - 1 is a shared
 * frame. A 32-bit M2P view must be widened by the caller (0xffffffff -> ~0,
 * 0xfffffffe -> ~0 - 1, other values with bit 31 set -> bit 63 set). */
#define AUDIT_M2P_INVALID UINT64_MAX
#define AUDIT_M2P_SHARED (UINT64_MAX - 1)
/* pfn/mfn/m2p of a finding that is about a domain, not an entry. */
#define AUDIT_NONE UINT64_MAX

enum audit_class {
	AUDIT_M2P_MISMATCH,
	AUDIT_M2P_INVALID_FOR_MAPPED,
	AUDIT_M2P_SHARED_IN_PV,
	AUDIT_M2P_OUT_OF_RANGE,
	AUDIT_P2M_ALIAS,
	AUDIT_MFN_CROSS_CLAIM,
	AUDIT_P2M_UNOWNED_MFN,
	AUDIT_P2M_MFN_OUT_OF_RANGE,
	AUDIT_P2M_IDENTITY_MISMATCH,
	AUDIT_P2M_STRUCTURE_ERROR,
	AUDIT_PAGE_COUNT_DELTA,
	AUDIT_NCLASSES
};

enum audit_guest { AUDIT_GUEST_PV, AUDIT_GUEST_PVH, AUDIT_GUEST_HVM };

/* Domain states in which the tables legitimately disagree: skipped. */
#define AUDIT_DOM_DYING 0x1u
#define AUDIT_DOM_SHUTDOWN 0x2u
#define AUDIT_DOM_BUILDING 0x4u /* being created, restored or migrated */

enum audit_status {
	AUDIT_STATUS_AUDITED,
	AUDIT_STATUS_SKIPPED,	    /* dying, shut down or being built */
	AUDIT_STATUS_NOT_AUDITABLE, /* HVM/PVH: the P2M is inside Xen */
};

/* One domain to audit. p2m is NULL when the caller could not read it (a PV
 * domain then gets P2M_STRUCTURE_ERROR); npfns is max_pfn + 1 (entries
 * beyond it are not looked at). width 64: npfns uint64_t entries; width 32:
 * npfns uint32_t entries. Nothing is kept after audit_run returns. */
struct audit_domain {
	uint32_t domid;
	enum audit_guest guest;
	unsigned width;
	unsigned flags; /* AUDIT_DOM_* */
	const void *p2m;
	uint64_t npfns;
	uint64_t tot_pages;
};

/* The host as the auditor sees it. m2p has nframes (max_page) entries.
 * owner_array (nframes entries) is the fast path; otherwise owner(owner_arg,
 * mfn) is called for suspects only. One of the two is required. */
struct audit_tables {
	const uint64_t *m2p;
	uint64_t nframes;
	const uint32_t *owner_array;
	uint32_t (*owner)(void *arg, uint64_t mfn);
	void *owner_arg;
	const struct audit_domain *doms;
	size_t ndoms;
};

/* How the entries of a domain that is not one run of frames are read:
 * sorted by M2P region block by block, or partitioned by M2P slice (one
 * read of the P2M). AUTO sorts: measured faster on this project's machines
 * (audit.c, dom_partitioned). */
enum audit_method { AUDIT_METHOD_AUTO, AUDIT_METHOD_SORT, AUDIT_METHOD_PARTITION };

/* nthreads, block_pages and method change speed and memory only, never results:
 * findings, their order and what max_records keeps are the same for any
 * values. Threads split large domains; the owner callback is only called
 * from the calling thread. */
struct audit_opts {
	size_t max_records; /* suspects kept for alias resolution and re-check; 0 = 65,536 */
	unsigned nthreads;  /* threads working on one domain, the caller's included; 0 = 1 */
	/* P2M entries per block (rounded up to 512; at most 2^24); 0 = auto:
	 * nframes / 32 within 2^16..2^22. Each thread holds about 8 bytes per
	 * block entry, plus up to 1.5 more while a block has many suspects. */
	uint64_t block_pages;
	enum audit_method method; /* 0 = AUTO */
};

/* One finding: the (domain, pfn, mfn, m2p) tuple a re-check compares.
 * mfn is the entry without its flag bits (for P2M_IDENTITY_MISMATCH, the
 * entry without the IDENTITY bit); m2p is AUDIT_NONE when mfn >= nframes.
 * other: for P2M_ALIAS the pfn that keeps the frame, for MFN_CROSS_CLAIM
 * and P2M_UNOWNED_MFN the frame's owner. For PAGE_COUNT_DELTA pfn/mfn/m2p
 * are AUDIT_NONE and delta = tot_pages - mapped RAM entries. */
struct audit_finding {
	enum audit_class cls;
	uint32_t domid;
	uint64_t pfn, mfn, m2p, other;
	int64_t delta;
};

/* Per-domain outcome. */
struct audit_dom_result {
	uint32_t domid;
	enum audit_status status;
	uint64_t scanned;   /* entries read */
	uint64_t ram;	    /* entries mapping a frame (not ~0, FOREIGN, IDENTITY) */
	uint64_t ballooned; /* ~0 entries */
	uint64_t foreign;
	uint64_t identity;
	uint64_t mmio; /* entries on DOMID_IO frames */
	uint64_t tot_pages;
	uint64_t count[AUDIT_NCLASSES];
	uint64_t nfindings; /* sum of count[] */
};

struct audit_result;

/* The class's name as AUDIT.md spells it ("M2P_MISMATCH"), or "?". */
const char *audit_class_name(enum audit_class c);
/* 0 and *ret, or -EINVAL. */
int audit_class_parse(const char *s, enum audit_class *ret);
const char *audit_status_name(enum audit_status s);

/* Audit every domain in t. Returns 0 and a result the caller frees with
 * audit_result_free, -EINVAL (no M2P, no owner source, bad width, NULL doms
 * with ndoms) or -ENOMEM. */
int audit_run(const struct audit_tables *t, const struct audit_opts *opts,
	      struct audit_result **ret);

/* Confirm prev's findings against the tables now (after a settle delay):
 * the result keeps only findings whose tuple, class and partner (alias pfn,
 * owner, count delta) are still there, and the per-domain scan statistics
 * of prev. Domains gone or no longer audited drop their findings. Counted
 * findings beyond prev's max_records cannot be confirmed: they are reported
 * by audit_result_unconfirmed(). 0, -EINVAL or -ENOMEM. */
int audit_recheck(const struct audit_result *prev, const struct audit_tables *now,
		  struct audit_result **ret);

void audit_result_free(struct audit_result *r);

/* Totals over all audited domains. */
uint64_t audit_result_count(const struct audit_result *r, enum audit_class c);
uint64_t audit_result_total(const struct audit_result *r);
/* Findings counted but not kept (beyond max_records). */
uint64_t audit_result_overflow(const struct audit_result *r);
/* For a re-check result: findings of prev that could not be re-checked. */
uint64_t audit_result_unconfirmed(const struct audit_result *r);

/* Domains, in the order given to audit_run. */
size_t audit_result_ndoms(const struct audit_result *r);
const struct audit_dom_result *audit_result_dom(const struct audit_result *r, size_t i);
/* A domain is clean only if it was audited and has no finding. */
bool audit_dom_result_clean(const struct audit_dom_result *d);

/* The kept findings of class c, ordered by domain (input order) then pfn;
 * the first N are the examples. Sets *ret_n; never NULL when *ret_n > 0. */
const struct audit_finding *audit_result_findings(const struct audit_result *r, enum audit_class c,
						  size_t *ret_n);

#endif
