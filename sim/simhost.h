/* The simulated hypervisor: host frames with an owner each, a free list with
 * scrubbing, Xen's M2P, each PV domain's P2M, max_pages enforced, and one
 * balloon driver per guest that follows memory/target with Linux's
 * behaviour. XenStore is a struct simxs owned by the host. Pure: time is a
 * parameter (ms, monotonic), nothing is read from a clock. */
#ifndef BALLOOND_SIMHOST_H
#define BALLOOND_SIMHOST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "simxs.h"

#define SIM_PAGE_KIB 4
#define SIM_DOMID_INVALID 0x7ff4u /* free frame owner */
#define SIM_DOMID_XEN 0x7ff2u     /* frames Xen keeps for itself */
#define SIM_NAME_MAX 64

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

/* Build a domain like libxl: claim and allocate frames (in runs), build its
 * P2M and the M2P, set max_pages (maxmem_kib or memory + 1M), write
 * /local/domain/N/{name,domid,vm,memory/static-max,memory/target,
 * memory/videoram (HVM), memory/dynamic-min|max when given}, and fire
 * @introduceDomain. Returns 0 and the new domid, -ENOMEM (not enough free
 * memory), -EEXIST (name taken) or -EINVAL. */
int simhost_create(struct simhost *h, const struct sim_domain_spec *spec,
		   uint64_t now_ms, uint32_t *ret_domid);

/* Destroy: the domain is dying until its frames are released (at once in
 * the simulation), then its XenStore subtree is removed and @releaseDomain
 * fires. Freed frames go to scrubbing. 0 or -ENOENT. */
int simhost_destroy(struct simhost *h, uint32_t domid, uint64_t now_ms);

/* Find a domain by name; 0 and *ret_domid or -ENOENT. */
int simhost_lookup(const struct simhost *h, const char *name, uint32_t *ret_domid);

/* Run every guest's balloon driver, demand reporting and the scrubber up to
 * now_ms (now_ms never goes backwards). */
void simhost_advance(struct simhost *h, uint64_t now_ms);

/* The earliest time after now_ms at which simhost_advance would change
 * something (a balloon batch, a retry, a demand step, scrubbing), or
 * UINT64_MAX when the host is at rest. For virtual-time runs. */
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

/* Shut a domain down / pause it (flags only; frames stay). */
int simhost_set_flags(struct simhost *h, uint32_t domid, bool shutdown, bool paused);

/* Check the host's own invariants: every frame has exactly one owner,
 * free + owned + Xen = total, each domain's tot_pages equals the frames it
 * owns and is <= max_pages, and M2P/P2M agree for every PV domain (unless a
 * fault was injected on purpose). Returns 0 or -EUCLEAN with the first
 * violation in err. */
int simhost_check(const struct simhost *h, char *err, size_t errlen);

/* Inject one audit fault of class fault_class (M2P_MISMATCH,
 * M2P_INVALID_FOR_MAPPED, P2M_ALIAS, P2M_MFN_OUT_OF_RANGE, P2M_UNOWNED_MFN,
 * MFN_CROSS_CLAIM) into a domain. The touched pfns are withdrawn from the
 * balloon driver. simhost_check then skips the M2P/P2M part. 0 or -errno. */
int simhost_inject_fault(struct simhost *h, uint32_t domid, const char *fault_class,
			 char *err, size_t errlen);

/* Read-only views for the auditor: the M2P (one entry per frame up to
 * max_page, ~0 = invalid), a domain's P2M (NULL if no such domain) and a
 * frame's owner (SIM_DOMID_INVALID when free). */
const uint64_t *simhost_m2p(const struct simhost *h, uint64_t *ret_nframes);
const uint64_t *simhost_p2m(const struct simhost *h, uint32_t domid, uint64_t *ret_npfns);
uint32_t simhost_frame_owner(const struct simhost *h, uint64_t mfn);

/* Names, for scenarios and output. */
const char *sim_behavior_name(enum sim_behavior b);
int sim_behavior_parse(const char *s, enum sim_behavior *ret);
const char *sim_dom_type_name(enum sim_dom_type t);
int sim_dom_type_parse(const char *s, enum sim_dom_type *ret);

#endif
