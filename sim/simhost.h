/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The simulated hypervisor: host frames with an owner each, a free list with
 * scrubbing, Xen's M2P, each domain's P2M, max_pages enforced, and one
 * balloon driver per guest that follows memory/target with Linux's
 * behaviour. XenStore is a struct simxs owned by the host. Pure: time is a
 * parameter (ms, monotonic), nothing is read from a clock.
 *
 * The model, in numbers:
 * - Host: an E820 with RAM from 0; a host with more than 3 GiB has an MMIO
 *   hole at 3-4 GiB (frames owned by SIM_DOMID_IO, not RAM, never free) and
 *   the rest of its RAM above 4 GiB. Xen owns the lowest xen_reserved_kib.
 *   The M2P has one entry per frame up to max_page, ~0 where invalid.
 *   Dom0 sees that E820 as Linux sets up a PV dom0: its P2M maps the hole
 *   1:1 (pfn | SIM_P2M_IDENTITY) and its RAM pfns skip the hole.
 * - Free frames: freed frames are dirty until scrubbed at 4 GiB/s; they
 *   count as free (as Xen's free_pages does) and may be allocated dirty.
 *   Allocation takes the lowest clean frame first, so fresh domains get
 *   contiguous runs and later ones get what ballooning freed: fragmented.
 * - Balloon driver: batches of up to 512 pages, one batch taking
 *   pages*4 KiB/rate (default 256M/s, slow 16M/s). Each batch has two
 *   halves: decrease = the guest clears its P2M entries (batch start), Xen
 *   frees the frames and clears their M2P (batch end); increase = Xen
 *   allocates frames and sets their M2P (batch start), the guest sets its
 *   P2M (batch end). In between the batch is "in flight" (auditors must
 *   tolerate it). It aims at tot_pages = (target + offset) / 4 KiB (HVM: target +
 *   videoram + offset) and
 *   reacts only to a changed target value. A batch that moves nothing
 *   (max_pages, no free frame, a floor) is retried after 1, 2, 4, 8 s; after
 *   the 4th failed retry (about 15 s) the driver gives up until the target
 *   value changes (a change while waiting retries at once without resetting
 *   the count, as Linux does). A greedy guest aims at static-max whatever
 *   the target, never gives up and backs off 1, 2, 4 ... 32 s.
 * - Guest agent (domains with a demand schedule): writes, as the guest,
 *   data/meminfo_total (tot_pages in KiB) and data/meminfo_free (total -
 *   used, at least 0) at each demand step, when its driver comes to rest,
 *   and at most once a second while it moves; only values that changed.
 *   A Qubes agent writes memory/meminfo (used KiB) instead, on change. An
 *   agent that stops (agent_stops_ms) writes nothing from then on. A
 *   liar reports a tenth of its use at even demand steps (0, 2, ...) and an
 *   absurd total (64 times tot_pages, nothing free) at odd ones. */
#ifndef BALLOOND_SIMHOST_H
#define BALLOOND_SIMHOST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "simxs.h"

#define SIM_PAGE_KIB 4
#define SIM_DOMID_INVALID 0x7ff4u /* free frame owner */
#define SIM_DOMID_XEN 0x7ff2u     /* frames Xen keeps for itself */
#define SIM_DOMID_IO 0x7ff1u      /* frames in the MMIO hole: not RAM */
#define SIM_P2M_INVALID UINT64_MAX /* an M2P or P2M entry that maps nothing */
#define SIM_P2M_IDENTITY (UINT64_C(1) << 62) /* a P2M entry mapping pfn 1:1 (MMIO) */
#define SIM_M2P_SHARED (UINT64_MAX - 1) /* Xen's SHARED_M2P_ENTRY: never right in a PV guest */
#define SIM_NAME_MAX 64
#define SIM_LOW_MEM_VIRQ_KIB (64 << 10) /* Xen's default low_mem_virq_limit */
#define SIM_VIDEORAM_KIB 8192 /* an HVM guest's memory/videoram: tot_pages - target */

enum sim_dom_type { SIM_PV, SIM_PVH, SIM_HVM };

enum sim_behavior {
	SIM_BALLOON_NORMAL,       /* follows target at rate (default 256M/s) */
	SIM_BALLOON_SLOW,         /* same, at a low rate (default 16M/s) */
	SIM_BALLOON_STUCK,        /* never moves */
	SIM_BALLOON_STUCK_AFTER,  /* moves `after` KiB in total, then stops */
	SIM_BALLOON_FLOOR,        /* will not go below `floor` KiB */
	SIM_BALLOON_INTERMITTENT, /* `period` moving, then `period` stuck, repeating */
	SIM_BALLOON_GREEDY,       /* populates up to max_pages whatever the target */
	SIM_BALLOON_NONE,         /* no driver at all */
	SIM_BALLOON_LIAR,         /* follows target, but its demand reports are false */
};

struct sim_balloon {
	enum sim_behavior behavior;
	uint64_t rate_kib_s;  /* 0 = the behaviour's default */
	uint64_t after_kib;   /* stuck_after */
	uint64_t floor_kib;   /* floor */
	uint64_t period_ms;   /* intermittent */
	int64_t offset_kib;   /* tot_pages - target at rest (firmware, videoram...) */
};

/* How a guest with a demand schedule reports it. */
enum sim_agent {
	SIM_AGENT_XE,    /* data/meminfo_total and _free (xe-guest-utilities) */
	SIM_AGENT_QUBES, /* memory/meminfo = used KiB (Qubes' meminfo-writer) */
};

/* A guest's memory use over time: from at_ms on it uses used_kib. */
struct sim_demand_point {
	uint64_t at_ms;
	uint64_t used_kib;
};

struct sim_domain_spec {
	char name[SIM_NAME_MAX];
	enum sim_dom_type type;
	unsigned width;              /* PV: 64 (default) or 32 */
	uint64_t memory_kib;         /* initial allocation and memory/target */
	uint64_t static_max_kib;     /* 0 = memory_kib */
	uint64_t dynamic_min_kib;    /* 0 = key not written to XenStore */
	uint64_t dynamic_max_kib;    /* 0 = key not written */
	uint64_t maxmem_kib;         /* 0 = memory + 1M, as libxl does */
	unsigned weight;             /* 0 = unset (not used by simhost; scenarios map it to config) */
	struct sim_balloon balloon;
	struct sim_demand_point *demand; /* owned by the spec holder; copied by simhost_create */
	size_t n_demand;
	enum sim_agent agent;
	uint64_t agent_stops_ms;     /* 0 = never; from then on the agent writes nothing */
	/* When the balloon driver comes up, after creation (0: at once).
	 * Until then it reads no target; when it does, it writes
	 * control/feature-balloon = 1 as the guest (an HVM guest's PV drivers
	 * do so at once; a PV guest only when this is set). */
	uint64_t driver_ready_ms;
};

struct sim_physinfo {
	uint64_t total_kib;
	uint64_t free_kib;        /* includes scrub_kib, as Xen's free_pages does */
	uint64_t scrub_kib;       /* freed, not yet scrubbed */
	uint64_t outstanding_kib; /* claimed by domains being built */
};

struct sim_dominfo {
	uint32_t domid;
	enum sim_dom_type type;
	bool dying;
	bool shutdown;
	bool paused;
	uint64_t tot_kib;  /* tot_pages * 4 */
	uint64_t max_kib;  /* max_pages * 4 (maxmem) */
};

struct simhost;

/* A host with memory_kib of RAM of which xen_reserved_kib is Xen's own and
 * a dom0 (domid 0, "Domain-0", normal balloon) of dom0_kib. Writes the
 * XenStore layout a real dom0 has. Returns NULL on bad sizes or no memory. */
struct simhost *simhost_new(uint64_t memory_kib, uint64_t xen_reserved_kib,
			    uint64_t dom0_kib, uint64_t now_ms);
void simhost_free(struct simhost *h);

struct simxs *simhost_xs(struct simhost *h);

/* Build a domain like libxl (after advancing the host to now_ms): claim and
 * allocate frames (in runs), build its P2M and the M2P, set max_pages
 * (maxmem_kib or memory + 1M), write /local/domain/N/{name,domid,vm,
 * memory/static-max,memory/target (HVM: memory - videoram, as libxl),
 * memory/videoram (HVM: 8192),
 * memory/dynamic-min|max when given, data} and /vm/<uuid>/name, and fire
 * @introduceDomain. Domids count up from 1 and are never reused. Names are
 * 1-63 of A-Z a-z 0-9 _ . -. Returns 0 and the new domid, -ENOMEM (not
 * enough free memory; nothing is built), -EEXIST (name taken), -ENOSPC (no
 * domid left) or -EINVAL. */
int simhost_create(struct simhost *h, const struct sim_domain_spec *spec,
		   uint64_t now_ms, uint32_t *ret_domid);

/* Claim memory for a domain about to be built (XENMEM_claim_pages, as libxl
 * does with claim_mode): the claimed KiB stay free but no other domain may
 * take them (balloon drivers get less; builds fail) and physinfo counts
 * them as outstanding. simhost_create of that name builds from the claim
 * and releases what is left, whether or not the build succeeds. 0,
 * -ENOMEM (free memory less other claims is short; nothing claimed),
 * -EEXIST (the name has a domain or a claim), -ENOSPC (SIM_CLAIMS_MAX
 * claims) or -EINVAL. */
#define SIM_CLAIMS_MAX 16
int simhost_claim(struct simhost *h, const char *name, uint64_t kib, uint64_t now_ms);

/* Destroy: the domain is dying until its frames are released (at once in
 * the simulation), then its XenStore subtree is removed and @releaseDomain
 * fires. Freed frames go to scrubbing. 0, -ENOENT or -EPERM (domain 0). */
int simhost_destroy(struct simhost *h, uint32_t domid, uint64_t now_ms);

/* Find a domain by name; 0 and *ret_domid or -ENOENT. */
int simhost_lookup(const struct simhost *h, const char *name, uint32_t *ret_domid);

/* Run every guest's balloon driver, demand reporting and the scrubber up to
 * now_ms (now_ms never goes backwards). */
void simhost_advance(struct simhost *h, uint64_t now_ms);

/* The earliest time after now_ms at which simhost_advance would change
 * something (a balloon batch, a retry, a demand step, scrubbing), or
 * UINT64_MAX when the host is at rest. For virtual-time runs. Returns
 * now_ms itself when something is already due: a target written since the
 * last simhost_advance starts its driver at the time of that advance. */
uint64_t simhost_next_change_ms(const struct simhost *h, uint64_t now_ms);

/* Hypervisor calls as the backend sees them. */
void simhost_physinfo(const struct simhost *h, struct sim_physinfo *ret);
/* Like xc_domain_getinfolist: domains with domid >= first, ascending, at most
 * max; returns how many were written. */
size_t simhost_getinfolist(const struct simhost *h, uint32_t first,
			   struct sim_dominfo *ret, size_t max);
/* xc_domain_setmaxmem: 0, -ENOENT, or -EINVAL (below nothing sensible). A
 * max below tot_pages is allowed (as on Xen): the guest just cannot grow. */
int simhost_setmaxmem(struct simhost *h, uint32_t domid, uint64_t max_kib);

/* Whether the domain has a balloon driver that is not up yet (before its
 * driver_ready time): a target written now is one it was not ready for. */
bool simhost_driver_pending(const struct simhost *h, uint32_t domid);

/* Shut a domain down / pause it (flags only; frames stay). A halted
 * domain's balloon driver and agent stop; a batch in flight completes first
 * (the hypercall finishes before the vCPU stops); on resume the driver
 * starts again from its current size. 0 or -ENOENT. */
int simhost_set_flags(struct simhost *h, uint32_t domid, bool shutdown, bool paused);

/* Check the host's own invariants: every frame has exactly one owner,
 * free + owned + Xen + hole = total, each domain's tot_pages equals the
 * frames it owns and is <= max_pages (or what it had when max_pages was set
 * below it), and M2P/P2M agree for every domain, batches in flight allowed
 * for (unless a fault was injected on purpose). Returns 0 or -EUCLEAN with
 * the first violation in err.
 *
 * Cost: the counters always; every frame and pfn on the first call, when
 * the host has at most 4 GiB, or with SIMHOST_CHECK_FULL; otherwise only
 * the frames and pfns changed since the previous check (one mark bit per
 * frame and per pfn, so however much changed the next check looks at each
 * changed frame and pfn once and never falls back to a full one). */
int simhost_check(const struct simhost *h, char *err, size_t errlen);

#define SIMHOST_CHECK_FULL 1u   /* scan every frame and every P2M entry */
#define SIMHOST_CHECK_STRICT 2u /* check M2P/P2M even after an injected fault */
int simhost_check_ex(const struct simhost *h, unsigned flags, char *err, size_t errlen);

/* Inject one audit fault of class fault_class into a domain, on a random
 * populated pfn A (and B). The touched pfns are withdrawn from the balloon
 * driver. Each fault is exactly one finding of its class for a forward
 * (P2M -> M2P/owner) audit: like a guest overwriting its own P2M entry, the
 * frame an entry displaces stays owned by the domain (its M2P untouched),
 * so tot_pages still equals the number of RAM entries the P2M maps (except
 * where the fault is about that count).
 * - M2P_MISMATCH: m2p[p2m[A]] = A+1 (A-1 for the last pfn).
 * - M2P_INVALID_FOR_MAPPED: m2p[p2m[A]] = ~0.
 * - M2P_SHARED_IN_PV: m2p[p2m[A]] = SIM_M2P_SHARED (~0 - 1).
 * - M2P_OUT_OF_RANGE: m2p[p2m[A]] = npfns + (A & 0xfff).
 * - P2M_ALIAS: p2m[B] = p2m[A] (the M2P names A).
 * - P2M_UNOWNED_MFN: p2m[A] = a free frame, which is taken out of the
 *   allocator (still counted free) so that it stays free.
 * - P2M_MFN_OUT_OF_RANGE: p2m[A] = max_page + (A & 0xfff).
 * - MFN_CROSS_CLAIM: p2m[A] = a frame another domain owns and maps at a pfn
 *   other than A (withdrawn from that domain's driver, so it stays put).
 * - P2M_IDENTITY_MISMATCH: p2m[P] = SIM_P2M_IDENTITY | (max_page + (P &
 *   0xfff)), on a ballooned-out pfn P when the domain has one (nothing else
 *   changes); otherwise on a populated pfn A whose frame the guest gives
 *   back (freed, tot_pages - 1), so that the RAM entries still match
 *   tot_pages. A 32-bit guest on a host of 4 TiB or more: -ENOSPC.
 * - P2M_STRUCTURE_ERROR: the domain's P2M becomes unreadable to the audit
 *   source: simhost_p2m returns NULL and simhost_p2m_copy32 -EIO for it
 *   from then on (an auditor passes p2m = NULL). The tables themselves
 *   stay consistent and the driver keeps working; no pfn is withdrawn.
 * - PAGE_COUNT_DELTA: a leaked page: p2m[A] = ~0 while its frame stays
 *   owned (counted in tot_pages, M2P still A): tot_pages - mapped = 1.
 * simhost_check then skips the M2P/P2M part (not after P2M_STRUCTURE_ERROR,
 * which leaves them in agreement). 0, -ENOENT (no such domain, or no other
 * domain for MFN_CROSS_CLAIM), -EINVAL (unknown class), -ENOSPC (too few
 * populated pages or free frames) or -ENOMEM; err says which. */
int simhost_inject_fault(struct simhost *h, uint32_t domid, const char *fault_class,
			 char *err, size_t errlen);

/* Whether s names a class simhost_inject_fault knows. */
bool sim_fault_class_valid(const char *s);

/* Read-only views for the auditor: the M2P (one entry per frame up to
 * max_page, ~0 = invalid), a domain's P2M (one entry per pfn up to
 * static-max, ~0 = ballooned out; dom0's also covers the MMIO hole with
 * identity entries; NULL if no such domain or its P2M was made unreadable
 * by an injected P2M_STRUCTURE_ERROR) and a frame's
 * owner (SIM_DOMID_INVALID when free, SIM_DOMID_XEN, SIM_DOMID_IO in the
 * hole; SIM_DOMID_INVALID beyond max_page). Pointers stay valid until the
 * domain is destroyed or the host freed. */
const uint64_t *simhost_m2p(const struct simhost *h, uint64_t *ret_nframes);
const uint64_t *simhost_p2m(const struct simhost *h, uint32_t domid, uint64_t *ret_npfns);
uint32_t simhost_frame_owner(const struct simhost *h, uint64_t mfn);

/* The owner of every frame (nframes entries), for an auditor's fast path. */
const uint32_t *simhost_owner_array(const struct simhost *h, uint64_t *ret_nframes);

/* A P2M as a 32-bit guest keeps it, into dst (n entries at most): ~0 ->
 * ~0U, the FOREIGN/IDENTITY bits 63/62 -> 31/30. 0, -ENOENT or -EIO (its
 * P2M is unreadable: P2M_STRUCTURE_ERROR). */
int simhost_p2m_copy32(const struct simhost *h, uint32_t domid, uint32_t *dst, uint64_t n);

/* The host's E820 (what xc_get_machine_memory_map returns): writes at most
 * max ranges, returns how many there are (1, or 3 with the hole). */
struct sim_e820_range {
	uint64_t start_kib, end_kib;
	bool ram;
};
size_t simhost_e820(const struct simhost *h, struct sim_e820_range *ret, size_t max);

/* A PV domain's guest width (32 or 64: the size of its P2M entries in the
 * guest, ~0U meaning invalid for 32); 0 for HVM/PVH or no such domain. The
 * simulator keeps every P2M as uint64 either way. */
unsigned simhost_guest_width(const struct simhost *h, uint32_t domid);

/* The balloon driver of a domain, for tests and reports. */
enum sim_driver_state {
	SIM_DRIVER_IDLE,    /* at its goal or nothing to do */
	SIM_DRIVER_MOVING,  /* a batch is starting or in flight */
	SIM_DRIVER_WAITING, /* a batch failed, a retry is due at next_ms */
	SIM_DRIVER_GAVE_UP, /* waits for a new target value */
	SIM_DRIVER_STOPPED, /* stuck_after: its budget is used up */
	SIM_DRIVER_NONE,    /* behaviour none: no driver */
};
struct sim_balloon_status {
	enum sim_behavior behavior;
	enum sim_driver_state state;
	bool has_target;          /* the driver has read a target */
	uint64_t target_kib;      /* the value it acts on */
	unsigned retries;         /* failed attempts since the last batch that moved */
	uint64_t next_ms;         /* next batch end or retry; UINT64_MAX if none */
	uint32_t inflight_pages;
	uint64_t moved_kib;       /* in total, both directions */
	uint64_t rate_kib_s;      /* resolved rate */
	uint64_t withdrawn_pages; /* taken away by injected faults */
	int64_t offset_kib;       /* where it rests: tot - target (offset, HVM videoram) */
};
int simhost_balloon_status(const struct simhost *h, uint32_t domid,
			   struct sim_balloon_status *ret);

/* The time of the last simhost_advance (or creation). */
uint64_t simhost_now_ms(const struct simhost *h);

/* Names, for scenarios and output. */
const char *sim_behavior_name(enum sim_behavior b);
int sim_behavior_parse(const char *s, enum sim_behavior *ret);
const char *sim_dom_type_name(enum sim_dom_type t);
int sim_dom_type_parse(const char *s, enum sim_dom_type *ret);

#endif
