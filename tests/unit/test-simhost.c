/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Unit tests for the simulated hypervisor (sim/simhost.c): the host layout
 * (E820, hole, Xen's frames), domain building like libxl, the Linux-like
 * balloon driver (rate, batches in flight, max_pages, backoff and giving
 * up, re-arming only on a changed value) and every behaviour, the guest
 * agent's demand reports, frame conservation and fragmentation, the
 * invariants under heavy seeded random use, fault injection, and virtual
 * time (one long advance equals many short ones). */
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

#include "simhost.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define MIB 1024ull
#define GIB (1024ull * 1024ull)
#define INVALID SIM_P2M_INVALID

/* ---- helpers ---- */

static struct sim_domain_spec spec(const char *name, uint64_t mem, uint64_t smax,
				   enum sim_behavior b)
{
	struct sim_domain_spec s;

	memset(&s, 0, sizeof(s));
	snprintf(s.name, sizeof(s.name), "%s", name);
	s.type = SIM_PV;
	s.width = 64;
	s.memory_kib = mem;
	s.static_max_kib = smax;
	s.maxmem_kib = smax;
	s.balloon.behavior = b;
	return s;
}

static uint32_t create(struct simhost *h, const struct sim_domain_spec *s, uint64_t now)
{
	uint32_t domid = 0;
	int r = simhost_create(h, s, now, &domid);

	if (r != 0)
		fail_msg("creating %s: %d", s->name, r);
	return domid;
}

static uint64_t tot(const struct simhost *h, uint32_t domid)
{
	struct sim_dominfo di;

	if (simhost_getinfolist(h, domid, &di, 1) != 1 || di.domid != domid)
		fail_msg("no domain %u", domid);
	return di.tot_kib;
}

static void set_target(struct simhost *h, uint32_t domid, uint64_t kib)
{
	char path[64], val[32];

	snprintf(path, sizeof(path), "/local/domain/%u/memory/target", domid);
	snprintf(val, sizeof(val), "%" PRIu64, kib);
	assert_int_equal(simxs_write(simhost_xs(h), 0, path, val), 0);
}

static void check_ok(const struct simhost *h)
{
	char err[256] = "";

	if (simhost_check(h, err, sizeof(err)) != 0)
		fail_msg("simhost_check: %s", err);
	if (simhost_check_ex(h, SIMHOST_CHECK_FULL, err, sizeof(err)) != 0)
		fail_msg("simhost_check (full): %s", err);
}

static struct sim_balloon_status status(const struct simhost *h, uint32_t domid)
{
	struct sim_balloon_status st;

	assert_int_equal(simhost_balloon_status(h, domid, &st), 0);
	return st;
}

static uint64_t free_kib(const struct simhost *h)
{
	struct sim_physinfo pi;

	simhost_physinfo(h, &pi);
	return pi.free_kib;
}

static bool xs_value(struct simhost *h, uint32_t domid, const char *key, char *buf, size_t len)
{
	char path[96];

	snprintf(path, sizeof(path), "/local/domain/%u/%s", domid, key);
	return simxs_read(simhost_xs(h), 0, path, buf, len) >= 0;
}

/* Number of runs of consecutive frames in a domain's populated P2M. */
static uint64_t p2m_runs(const struct simhost *h, uint32_t domid)
{
	uint64_t n = 0, i, runs = 0, prev = INVALID;
	const uint64_t *p2m = simhost_p2m(h, domid, &n);

	for (i = 0; i < n; i++) {
		if (p2m[i] == INVALID)
			continue;
		if (prev == INVALID || p2m[i] != prev + 1)
			runs++;
		prev = p2m[i];
	}
	return runs;
}

static uint64_t xorshift(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

/* ---- the host ---- */

static void host_layout_has_xen_frames_a_hole_and_an_e820(void **state)
{
	struct simhost *h = simhost_new(16 * GIB, 256 * MIB, 1 * GIB, 0);
	struct sim_e820_range e[4];
	struct sim_physinfo pi;
	uint64_t nframes;

	assert_non_null(h);
	simhost_physinfo(h, &pi);
	assert_int_equal(pi.total_kib, 16 * GIB);
	assert_int_equal(pi.free_kib, 16 * GIB - 256 * MIB - 1 * GIB);
	assert_int_equal(pi.scrub_kib, 0);
	assert_non_null(simhost_m2p(h, &nframes));
	assert_int_equal(nframes, (17 * GIB) / 4);
	assert_int_equal(simhost_e820(h, e, ARRAY_SIZE(e)), 3);
	assert_true(e[0].ram && e[0].start_kib == 0 && e[0].end_kib == 3 * GIB);
	assert_true(!e[1].ram && e[1].start_kib == 3 * GIB && e[1].end_kib == 4 * GIB);
	assert_true(e[2].ram && e[2].start_kib == 4 * GIB && e[2].end_kib == 17 * GIB);
	assert_int_equal(simhost_frame_owner(h, 0), SIM_DOMID_XEN);
	assert_int_equal(simhost_frame_owner(h, 256 * MIB / 4 - 1), SIM_DOMID_XEN);
	assert_int_equal(simhost_frame_owner(h, 256 * MIB / 4), 0); /* dom0 right above Xen */
	assert_int_equal(simhost_frame_owner(h, 3 * GIB / 4), SIM_DOMID_IO);
	assert_int_equal(simhost_frame_owner(h, 4 * GIB / 4 - 1), SIM_DOMID_IO);
	assert_int_equal(simhost_frame_owner(h, 4 * GIB / 4), SIM_DOMID_INVALID);
	assert_int_equal(simhost_frame_owner(h, nframes), SIM_DOMID_INVALID);
	assert_int_equal(tot(h, 0), 1 * GIB);
	check_ok(h);
	simhost_free(h);

	/* no hole at or below 3 GiB */
	h = simhost_new(3 * GIB, 64 * MIB, 512 * MIB, 0);
	assert_non_null(h);
	assert_int_equal(simhost_e820(h, e, ARRAY_SIZE(e)), 1);
	assert_non_null(simhost_m2p(h, &nframes));
	assert_int_equal(nframes, 3 * GIB / 4);
	check_ok(h);
	simhost_free(h);
}

static void bad_host_sizes_are_refused(void **state)
{
	static const struct {
		uint64_t mem, xen, dom0;
	} bad[] = {
		{0, 0, 1 * GIB}, {1 * GIB, 512 * MIB, 512 * MIB},	  {1 * GIB, 0, 2 * GIB},
		{1 * GIB, 0, 0}, {(16ull << 30) + 4, 256 * MIB, 1 * GIB},
	};
	size_t i;

	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		struct simhost *h = simhost_new(bad[i].mem, bad[i].xen, bad[i].dom0, 0);

		if (h)
			fail_msg("host %zu was built", i);
	}
}

static void dom0_is_there_with_its_xenstore_keys(void **state)
{
	struct simhost *h = simhost_new(8 * GIB, 128 * MIB, 2 * GIB, 0);
	char buf[64];
	uint32_t domid = 99;

	assert_non_null(h);
	assert_int_equal(simhost_lookup(h, "Domain-0", &domid), 0);
	assert_int_equal(domid, 0);
	assert_true(xs_value(h, 0, "name", buf, sizeof(buf)));
	assert_string_equal(buf, "Domain-0");
	assert_true(xs_value(h, 0, "memory/target", buf, sizeof(buf)));
	assert_string_equal(buf, "2097152");
	assert_true(xs_value(h, 0, "memory/static-max", buf, sizeof(buf)));
	assert_string_equal(buf, "2097152");
	assert_int_equal(simhost_destroy(h, 0, 0), -EPERM);
	assert_int_equal(simhost_destroy(h, 42, 0), -ENOENT);
	simhost_free(h);
}

/* Dom0's P2M maps the host's MMIO hole 1:1 and its RAM skips the hole. */
static void dom0_maps_the_hole_one_to_one(void **state)
{
	static const struct {
		uint64_t dom0_kib, npfns, first_ram_above;
	} cases[] = {
		{1 * GIB, 4 * GIB / 4, 0},
		{4 * GIB, 5 * GIB / 4, 4 * GIB / 4},
	};
	size_t c;

	for (c = 0; c < ARRAY_SIZE(cases); c++) {
		struct simhost *h = simhost_new(16 * GIB, 256 * MIB, cases[c].dom0_kib, 0);
		uint64_t n = 0, nf = 0, pfn, ram = 0, ident = 0;
		const uint64_t *p2m = simhost_p2m(h, 0, &n), *m2p = simhost_m2p(h, &nf);

		assert_int_equal(n, cases[c].npfns);
		for (pfn = 0; pfn < n; pfn++) {
			uint64_t e = p2m[pfn];

			if (pfn >= 3 * GIB / 4 && pfn < 4 * GIB / 4) {
				assert_int_equal(e, pfn | SIM_P2M_IDENTITY);
				ident++;
			} else if (e != INVALID) {
				assert_true(e < nf);
				assert_int_equal(m2p[e], pfn);
				assert_int_equal(simhost_frame_owner(h, e), 0);
				ram++;
			}
		}
		assert_int_equal(ident, 1 * GIB / 4);
		assert_int_equal(ram, cases[c].dom0_kib / 4);
		if (cases[c].first_ram_above)
			assert_true(p2m[cases[c].first_ram_above] != INVALID);
		check_ok(h);
		/* ballooning dom0 never touches the identity entries */
		set_target(h, 0, cases[c].dom0_kib / 2);
		simhost_advance(h, 30000);
		assert_int_equal(tot(h, 0), cases[c].dom0_kib / 2);
		for (pfn = 3 * GIB / 4; pfn < 4 * GIB / 4; pfn++)
			assert_int_equal(p2m[pfn], pfn | SIM_P2M_IDENTITY);
		set_target(h, 0, cases[c].dom0_kib);
		simhost_advance(h, 60000);
		assert_int_equal(tot(h, 0), cases[c].dom0_kib);
		check_ok(h);
		simhost_free(h);
	}
}

/* A 64 GiB host: built with its whole M2P, the hole, and dom0. */
static void a_64g_host_builds(void **state)
{
	struct simhost *h = simhost_new(64 * GIB, 256 * MIB, 1 * GIB, 0);
	const uint64_t *m2p;
	uint64_t nframes;

	assert_non_null(h);
	m2p = simhost_m2p(h, &nframes);
	assert_int_equal(nframes, 65 * GIB / 4);
	assert_int_equal(m2p[nframes - 1], INVALID);
	assert_int_equal(m2p[256 * MIB / 4], 0); /* dom0's first pfn */
	assert_int_equal(simhost_frame_owner(h, 3 * GIB / 4 + 5), SIM_DOMID_IO);
	assert_int_equal(free_kib(h), 64 * GIB - 256 * MIB - 1 * GIB);
	check_ok(h);
	simhost_free(h);
}

/* ---- building domains ---- */

static void create_writes_the_keys_libxl_writes(void **state)
{
	static const struct {
		enum sim_dom_type type;
		const char *key, *want; /* want NULL: absent */
	} cases[] = {
		{SIM_PV, "name", "web"},
		{SIM_PV, "domid", "1"},
		{SIM_PV, "vm", "/vm/00000000-0000-4000-8000-000000000001"},
		{SIM_PV, "memory/static-max", "4194304"},
		{SIM_PV, "memory/target", "2097152"},
		{SIM_PV, "memory/dynamic-min", "1048576"},
		{SIM_PV, "memory/dynamic-max", "3145728"},
		{SIM_PV, "memory/videoram", NULL},
		{SIM_PV, "data", ""},
		{SIM_HVM, "memory/videoram", "8192"},
		{SIM_PVH, "memory/videoram", NULL},
	};
	size_t i;

	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		struct simhost *h = simhost_new(6 * GIB, 256 * MIB, 1 * GIB, 0);
		struct sim_domain_spec s = spec("web", 2 * GIB, 4 * GIB, SIM_BALLOON_NORMAL);
		char buf[128];
		bool there;

		s.type = cases[i].type;
		s.dynamic_min_kib = 1 * GIB;
		s.dynamic_max_kib = 3 * GIB;
		assert_int_equal(create(h, &s, 0), 1);
		there = xs_value(h, 1, cases[i].key, buf, sizeof(buf));
		if (cases[i].want && (!there || strcmp(buf, cases[i].want) != 0))
			fail_msg("%s: got %s, want %s", cases[i].key, there ? buf : "(none)",
				 cases[i].want);
		if (!cases[i].want && there)
			fail_msg("%s: present (%s) but should not be", cases[i].key, buf);
		simhost_free(h);
	}
}

static void dynamic_keys_are_written_only_when_given(void **state)
{
	struct simhost *h = simhost_new(6 * GIB, 256 * MIB, 1 * GIB, 0);
	struct sim_domain_spec s = spec("plain", 1 * GIB, 1 * GIB, SIM_BALLOON_NORMAL);
	char buf[32];

	s.maxmem_kib = 0;
	create(h, &s, 0);
	assert_false(xs_value(h, 1, "memory/dynamic-min", buf, sizeof(buf)));
	assert_false(xs_value(h, 1, "memory/dynamic-max", buf, sizeof(buf)));
	simhost_free(h);
}

static void create_fires_introduce_and_domids_are_never_reused(void **state)
{
	struct simhost *h = simhost_new(6 * GIB, 256 * MIB, 1 * GIB, 0);
	struct simxs *xs = simhost_xs(h);
	struct sim_domain_spec a = spec("a", 512 * MIB, 1 * GIB, SIM_BALLOON_NORMAL);
	struct sim_domain_spec b = spec("b", 512 * MIB, 1 * GIB, SIM_BALLOON_NORMAL);
	struct sim_dominfo di[4];
	char p[64], t[16];
	uint32_t id;

	assert_int_equal(simxs_watch(xs, "@introduceDomain", "in"), 0);
	assert_int_equal(simxs_watch(xs, "@releaseDomain", "out"), 0);
	while (simxs_next_event(xs, p, sizeof(p), t, sizeof(t)))
		;
	assert_int_equal(create(h, &a, 0), 1);
	assert_true(simxs_next_event(xs, p, sizeof(p), t, sizeof(t)));
	assert_string_equal(p, "@introduceDomain");
	assert_int_equal(simhost_create(h, &a, 0, &id), -EEXIST);
	assert_int_equal(simhost_destroy(h, 1, 10), 0);
	assert_true(simxs_next_event(xs, p, sizeof(p), t, sizeof(t)));
	assert_string_equal(p, "@releaseDomain");
	assert_false(xs_value(h, 1, "name", p, sizeof(p)));
	assert_int_equal(create(h, &b, 20), 2);
	assert_int_equal(create(h, &a, 20), 3); /* the name is free again, the domid is not */
	assert_int_equal(simhost_lookup(h, "a", &id), 0);
	assert_int_equal(id, 3);
	assert_int_equal(simhost_lookup(h, "zz", &id), -ENOENT);
	assert_int_equal(simhost_getinfolist(h, 0, di, 4), 3);
	assert_int_equal(di[0].domid, 0);
	assert_int_equal(di[1].domid, 2);
	assert_int_equal(di[2].domid, 3);
	assert_int_equal(simhost_getinfolist(h, 1, di, 1), 1);
	assert_int_equal(di[0].domid, 2);
	assert_int_equal(simhost_getinfolist(h, 4, di, 4), 0);
	simhost_free(h);
}

static void bad_specs_are_refused(void **state)
{
	struct simhost *h = simhost_new(6 * GIB, 256 * MIB, 1 * GIB, 0);
	struct sim_domain_spec s[8];
	uint32_t id;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(s); i++)
		s[i] = spec("ok", 1 * GIB, 2 * GIB, SIM_BALLOON_NORMAL);
	s[0].name[0] = '\0';
	snprintf(s[1].name, sizeof(s[1].name), "bad/name");
	s[2].memory_kib = 0;
	s[3].static_max_kib = 512 * MIB;
	s[4].maxmem_kib = 512 * MIB;
	s[5].width = 16;
	s[6].balloon.behavior = SIM_BALLOON_INTERMITTENT; /* period 0 */
	snprintf(s[7].name, sizeof(s[7].name), "Domain-0");
	for (i = 0; i < ARRAY_SIZE(s); i++)
		if (simhost_create(h, &s[i], 0, &id) != -EINVAL)
			fail_msg("spec %zu was not refused", i);
	check_ok(h);
	simhost_free(h);
}

static void create_without_memory_builds_nothing(void **state)
{
	struct simhost *h = simhost_new(8 * GIB, 256 * MIB, 1 * GIB, 0);
	struct sim_domain_spec big = spec("big", 7 * GIB, 7 * GIB, SIM_BALLOON_NORMAL);
	struct sim_domain_spec ok = spec("ok", 1 * GIB, 1 * GIB, SIM_BALLOON_NORMAL);
	uint64_t before = free_kib(h);
	char buf[16];
	uint32_t id;

	assert_int_equal(simhost_create(h, &big, 0, &id), -ENOMEM);
	assert_int_equal(free_kib(h), before);
	assert_int_equal(simhost_lookup(h, "big", &id), -ENOENT);
	assert_false(xs_value(h, 1, "name", buf, sizeof(buf)));
	check_ok(h);
	assert_int_equal(create(h, &ok, 0), 1);
	simhost_free(h);
}

static void a_fresh_host_builds_contiguous_p2ms(void **state)
{
	struct simhost *h = simhost_new(16 * GIB, 256 * MIB, 1 * GIB, 0);
	struct sim_domain_spec s = spec("g", 4 * GIB, 8 * GIB, SIM_BALLOON_NORMAL);
	const uint64_t *p2m, *m2p;
	uint64_t n = 0, nf = 0, pfn;
	uint32_t id = create(h, &s, 0);

	p2m = simhost_p2m(h, id, &n);
	m2p = simhost_m2p(h, &nf);
	assert_int_equal(n, 8 * GIB / 4);
	/* 1.25 GiB under the hole after Xen and dom0, then above 4 GiB */
	assert_int_equal(p2m_runs(h, id), 2);
	for (pfn = 0; pfn < n; pfn++) {
		if (pfn < 4 * GIB / 4) {
			assert_int_equal(m2p[p2m[pfn]], pfn);
			assert_int_equal(simhost_frame_owner(h, p2m[pfn]), id);
		} else {
			assert_int_equal(p2m[pfn], INVALID);
		}
	}
	assert_null(simhost_p2m(h, 77, &n));
	simhost_free(h);
}

/* ---- the balloon driver ---- */

static void a_balloon_reaches_its_target_at_its_rate(void **state)
{
	struct simhost *h = simhost_new(6 * GIB, 256 * MIB, 1 * GIB, 0);
	struct sim_domain_spec s = spec("g", 2 * GIB, 4 * GIB, SIM_BALLOON_NORMAL);
	uint32_t id = create(h, &s, 0);

	simhost_advance(h, 0);
	assert_int_equal(simhost_next_change_ms(h, 0), UINT64_MAX);
	set_target(h, id, 1 * GIB);
	/* due at once: the driver's watch fires now */
	assert_int_equal(simhost_next_change_ms(h, 0), 0);
	simhost_advance(h, 1);
	/* 512 pages (2 MiB) per batch at 256 MiB/s: 7.8125 ms a batch */
	assert_int_equal(simhost_next_change_ms(h, 1), 8);
	simhost_advance(h, 2000);
	assert_int_equal(tot(h, id), 2 * GIB - 512 * MIB);
	check_ok(h);
	simhost_advance(h, 3999);
	assert_int_equal(tot(h, id), 1 * GIB + 2 * MIB);
	simhost_advance(h, 4000);
	assert_int_equal(tot(h, id), 1 * GIB);
	assert_int_equal(status(h, id).state, SIM_DRIVER_IDLE);
	assert_int_equal(status(h, id).moved_kib, 1 * GIB);
	/* only the scrubber is left, then nothing */
	assert_true(simhost_next_change_ms(h, 4000) <= 4001);
	simhost_advance(h, 4001);
	assert_int_equal(simhost_next_change_ms(h, 4001), UINT64_MAX);
	check_ok(h);
	/* back up: the same rate the other way */
	set_target(h, id, 2 * GIB);
	simhost_advance(h, 6000);
	assert_int_equal(tot(h, id), 1 * GIB + 512 * MIB);
	simhost_advance(h, 8001);
	assert_int_equal(tot(h, id), 2 * GIB);
	check_ok(h);
	simhost_free(h);
}

static void the_rate_defaults_by_behaviour_and_can_be_set(void **state)
{
	static const struct {
		enum sim_behavior b;
		uint64_t rate; /* 0: default */
		uint64_t want_rate;
	} cases[] = {
		{SIM_BALLOON_NORMAL, 0, 256 * MIB},
		{SIM_BALLOON_SLOW, 0, 16 * MIB},
		{SIM_BALLOON_NORMAL, 64 * MIB, 64 * MIB},
		{SIM_BALLOON_SLOW, 4 * MIB, 4 * MIB},
	};
	size_t i;

	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		struct simhost *h = simhost_new(6 * GIB, 256 * MIB, 1 * GIB, 0);
		struct sim_domain_spec s = spec("g", 2 * GIB, 4 * GIB, cases[i].b);
		uint64_t r = cases[i].want_rate, ms = 64 * MIB * 1000 / r;
		uint32_t id;

		s.balloon.rate_kib_s = cases[i].rate;
		id = create(h, &s, 0);
		assert_int_equal(status(h, id).rate_kib_s, r);
		set_target(h, id, 2 * GIB - 64 * MIB);
		simhost_advance(h, ms / 2);
		if (tot(h, id) != 2 * GIB - 32 * MIB)
			fail_msg("case %zu: half-way %" PRIu64, i, tot(h, id));
		simhost_advance(h, ms);
		assert_int_equal(tot(h, id), 2 * GIB - 64 * MIB);
		simhost_free(h);
	}
}

static void a_batch_in_flight_is_visible_and_consistent(void **state)
{
	struct simhost *h = simhost_new(6 * GIB, 256 * MIB, 1 * GIB, 0);
	struct sim_domain_spec s = spec("g", 2 * GIB, 4 * GIB, SIM_BALLOON_NORMAL);
	uint32_t id = create(h, &s, 0);
	const uint64_t *p2m, *m2p;
	uint64_t n, nf, pfn, cleared = 0, owned = 0;

	set_target(h, id, 1 * GIB);
	simhost_advance(h, 2003); /* batch 257 started at 2000, ends at 2008 */
	assert_int_equal(status(h, id).inflight_pages, 512);
	assert_int_equal(tot(h, id), 2 * GIB - 512 * MIB);
	/* decrease: the guest cleared its P2M, Xen has not freed the frames */
	p2m = simhost_p2m(h, id, &n);
	m2p = simhost_m2p(h, &nf);
	for (pfn = 0; pfn < nf; pfn++)
		if (simhost_frame_owner(h, pfn) == id) {
			owned++;
			if (p2m[m2p[pfn]] == INVALID)
				cleared++;
		}
	assert_int_equal(owned, tot(h, id) / 4);
	assert_int_equal(cleared, 512);
	check_ok(h);
	/* increase: Xen populated and set the M2P, the guest has not mapped */
	simhost_advance(h, 10000);
	set_target(h, id, 2 * GIB);
	simhost_advance(h, 10003);
	assert_int_equal(status(h, id).inflight_pages, 512);
	for (pfn = 0, cleared = 0; pfn < nf; pfn++)
		if (simhost_frame_owner(h, pfn) == id && p2m[m2p[pfn]] == INVALID)
			cleared++;
	assert_int_equal(cleared, 512);
	assert_int_equal(tot(h, id), 1 * GIB + 2 * MIB);
	check_ok(h);
	simhost_free(h);
}

/* max_pages (libxl's memory + 1 MiB) stops a growing guest; Linux then
 * retries after 1, 2, 4 and 8 s, gives up, and wakes only for a new value. */
static void max_pages_blocks_growth_then_the_driver_gives_up(void **state)
{
	struct simhost *h = simhost_new(6 * GIB, 256 * MIB, 1 * GIB, 0);
	struct sim_domain_spec s = spec("g", 1 * GIB, 4 * GIB, SIM_BALLOON_NORMAL);
	static const uint64_t retries_at[] = {1004, 3004, 7004, 15004};
	struct sim_balloon_status st;
	uint32_t id;
	size_t i;

	s.maxmem_kib = 0; /* libxl: memory + 1 MiB */
	id = create(h, &s, 0);
	set_target(h, id, 2 * GIB);
	simhost_advance(h, 4); /* 256 pages fit, in one batch ending at 4 ms */
	assert_int_equal(tot(h, id), 1 * GIB + 1 * MIB);
	st = status(h, id);
	assert_int_equal(st.state, SIM_DRIVER_WAITING);
	assert_int_equal(st.retries, 1);
	for (i = 0; i < ARRAY_SIZE(retries_at); i++) {
		assert_int_equal(simhost_next_change_ms(h, simhost_now_ms(h)), retries_at[i]);
		simhost_advance(h, retries_at[i]);
	}
	st = status(h, id);
	assert_int_equal(st.state, SIM_DRIVER_GAVE_UP);
	assert_int_equal(simhost_next_change_ms(h, simhost_now_ms(h)), UINT64_MAX);
	/* raising maxmem alone wakes nobody */
	assert_int_equal(simhost_setmaxmem(h, id, 4 * GIB), 0);
	simhost_advance(h, 60000);
	assert_int_equal(tot(h, id), 1 * GIB + 1 * MIB);
	/* nor does writing the same value again */
	set_target(h, id, 2 * GIB);
	assert_int_equal(simhost_next_change_ms(h, 60000), UINT64_MAX);
	simhost_advance(h, 90000);
	assert_int_equal(tot(h, id), 1 * GIB + 1 * MIB);
	assert_int_equal(status(h, id).state, SIM_DRIVER_GAVE_UP);
	/* a different value re-arms it */
	set_target(h, id, 2 * GIB - 4);
	simhost_advance(h, 95000);
	assert_int_equal(tot(h, id), 2 * GIB - 4);
	assert_int_equal(status(h, id).state, SIM_DRIVER_IDLE);
	assert_int_equal(status(h, id).retries, 0);
	check_ok(h);
	simhost_free(h);
}

static void a_new_value_while_waiting_retries_at_once(void **state)
{
	struct simhost *h = simhost_new(6 * GIB, 256 * MIB, 1 * GIB, 0);
	struct sim_domain_spec s = spec("g", 1 * GIB, 4 * GIB, SIM_BALLOON_NORMAL);
	uint32_t id;

	s.maxmem_kib = 0;
	id = create(h, &s, 0);
	set_target(h, id, 2 * GIB);
	simhost_advance(h, 500);
	assert_int_equal(status(h, id).state, SIM_DRIVER_WAITING);
	assert_int_equal(simhost_setmaxmem(h, id, 4 * GIB), 0);
	set_target(h, id, 3 * GIB);
	assert_int_equal(simhost_next_change_ms(h, 500), 500);
	simhost_advance(h, 500 + 8000 + 10);
	assert_int_equal(tot(h, id), 3 * GIB);
	simhost_free(h);
}

static void setmaxmem_below_tot_is_allowed_and_only_stops_growth(void **state)
{
	struct simhost *h = simhost_new(6 * GIB, 256 * MIB, 1 * GIB, 0);
	struct sim_domain_spec s = spec("g", 2 * GIB, 4 * GIB, SIM_BALLOON_NORMAL);
	uint32_t id = create(h, &s, 0);
	struct sim_dominfo di;

	assert_int_equal(simhost_setmaxmem(h, id, 1 * GIB), 0);
	assert_int_equal(simhost_setmaxmem(h, 55, 1 * GIB), -ENOENT);
	assert_int_equal(simhost_setmaxmem(h, id, 1ull << 50), -EINVAL);
	simhost_getinfolist(h, id, &di, 1);
	assert_int_equal(di.max_kib, 1 * GIB);
	assert_int_equal(di.tot_kib, 2 * GIB);
	check_ok(h);
	set_target(h, id, 3 * GIB);
	simhost_advance(h, 30000);
	assert_int_equal(tot(h, id), 2 * GIB);
	set_target(h, id, 1536 * MIB);
	simhost_advance(h, 40000);
	assert_int_equal(tot(h, id), 1536 * MIB);
	check_ok(h);
	simhost_free(h);
}

static void the_offset_sets_where_tot_rests(void **state)
{
	struct simhost *h = simhost_new(6 * GIB, 256 * MIB, 1 * GIB, 0);
	struct sim_domain_spec s = spec("hvm", 2 * GIB, 4 * GIB, SIM_BALLOON_NORMAL);
	uint32_t id;

	s.type = SIM_HVM;
	s.balloon.offset_kib = 8 * MIB;
	id = create(h, &s, 0);
	simhost_advance(h, 1000);
	assert_int_equal(tot(h, id), 2 * GIB + 8 * MIB);
	/* an HVM guest also keeps its videoram above its target, as libxl
	 * leaves it out of memory/target */
	set_target(h, id, 1 * GIB);
	simhost_advance(h, 10000);
	assert_int_equal(tot(h, id), 1 * GIB + SIM_VIDEORAM_KIB + 8 * MIB);
	s = spec("neg", 1 * GIB, 2 * GIB, SIM_BALLOON_NORMAL);
	s.balloon.offset_kib = -16 * (int64_t)MIB;
	id = create(h, &s, 10000);
	simhost_advance(h, 11000);
	assert_int_equal(tot(h, id), 1 * GIB - 16 * MIB);
	simhost_free(h);
}

static void pause_freezes_the_driver_and_resume_continues(void **state)
{
	struct simhost *h = simhost_new(6 * GIB, 256 * MIB, 1 * GIB, 0);
	struct sim_domain_spec s = spec("g", 2 * GIB, 4 * GIB, SIM_BALLOON_NORMAL);
	uint32_t id = create(h, &s, 0);
	struct sim_dominfo di;
	uint64_t at_pause;

	set_target(h, id, 1 * GIB);
	simhost_advance(h, 1000);
	assert_int_equal(simhost_set_flags(h, id, false, true), 0);
	at_pause = tot(h, id);
	assert_int_equal(simhost_set_flags(h, 99, false, true), -ENOENT);
	simhost_getinfolist(h, id, &di, 1);
	assert_true(di.paused);
	simhost_advance(h, 10000);
	assert_int_equal(tot(h, id), at_pause);
	check_ok(h);
	assert_int_equal(simhost_set_flags(h, id, false, false), 0);
	/* the batch that was in flight completed at the pause: 766 MiB were
	 * left, 2992.2 ms of moving from the resume */
	assert_int_equal(at_pause, 2 * GIB - 258 * MIB);
	assert_int_equal(status(h, id).inflight_pages, 0);
	simhost_advance(h, 12990);
	assert_true(tot(h, id) > 1 * GIB);
	simhost_advance(h, 12993);
	assert_int_equal(tot(h, id), 1 * GIB);
	/* a shut-down domain does not move either */
	assert_int_equal(simhost_set_flags(h, id, true, false), 0);
	set_target(h, id, 2 * GIB);
	simhost_advance(h, 30000);
	assert_int_equal(tot(h, id), 1 * GIB);
	check_ok(h);
	simhost_free(h);
}

/* ---- behaviours ---- */

static void stuck_never_moves(void **state)
{
	struct simhost *h = simhost_new(6 * GIB, 256 * MIB, 1 * GIB, 0);
	struct sim_domain_spec s = spec("g", 2 * GIB, 4 * GIB, SIM_BALLOON_STUCK);
	uint32_t id = create(h, &s, 0);

	set_target(h, id, 1 * GIB);
	assert_int_equal(simhost_next_change_ms(h, 0), UINT64_MAX);
	simhost_advance(h, 60000);
	assert_int_equal(tot(h, id), 2 * GIB);
	assert_int_equal(status(h, id).target_kib, 1 * GIB); /* it read it */
	assert_int_equal(status(h, id).state, SIM_DRIVER_IDLE);
	simhost_free(h);
}

static void none_has_no_driver_at_all(void **state)
{
	struct simhost *h = simhost_new(6 * GIB, 256 * MIB, 1 * GIB, 0);
	struct sim_domain_spec s = spec("g", 2 * GIB, 4 * GIB, SIM_BALLOON_NONE);
	uint32_t id = create(h, &s, 0);

	set_target(h, id, 1 * GIB);
	simhost_advance(h, 60000);
	assert_int_equal(tot(h, id), 2 * GIB);
	assert_int_equal(status(h, id).state, SIM_DRIVER_NONE);
	assert_false(status(h, id).has_target);
	simhost_free(h);
}

static void stuck_after_moves_its_budget_then_stops(void **state)
{
	struct simhost *h = simhost_new(6 * GIB, 256 * MIB, 1 * GIB, 0);
	struct sim_domain_spec s = spec("g", 2 * GIB, 4 * GIB, SIM_BALLOON_STUCK_AFTER);
	uint32_t id;

	s.balloon.after_kib = 256 * MIB;
	id = create(h, &s, 0);
	set_target(h, id, 1 * GIB);
	simhost_advance(h, 10000);
	assert_int_equal(tot(h, id), 2 * GIB - 256 * MIB);
	assert_int_equal(status(h, id).state, SIM_DRIVER_STOPPED);
	set_target(h, id, 3 * GIB);
	simhost_advance(h, 20000);
	assert_int_equal(tot(h, id), 2 * GIB - 256 * MIB);
	check_ok(h);
	simhost_free(h);
}

static void floor_stops_at_its_floor_and_gives_up(void **state)
{
	struct simhost *h = simhost_new(6 * GIB, 256 * MIB, 1 * GIB, 0);
	struct sim_domain_spec s = spec("g", 2 * GIB, 4 * GIB, SIM_BALLOON_FLOOR);
	uint32_t id;

	s.balloon.floor_kib = 1536 * MIB;
	id = create(h, &s, 0);
	set_target(h, id, 1 * GIB);
	simhost_advance(h, 3000);
	assert_int_equal(tot(h, id), 1536 * MIB);
	assert_int_equal(status(h, id).state, SIM_DRIVER_WAITING);
	simhost_advance(h, 30000);
	assert_int_equal(tot(h, id), 1536 * MIB);
	assert_int_equal(status(h, id).state, SIM_DRIVER_GAVE_UP);
	/* above its floor it follows again */
	set_target(h, id, 1800 * MIB);
	simhost_advance(h, 35000);
	assert_int_equal(tot(h, id), 1800 * MIB);
	check_ok(h);
	simhost_free(h);
}

static void intermittent_moves_only_in_its_on_periods(void **state)
{
	struct simhost *h = simhost_new(6 * GIB, 256 * MIB, 1 * GIB, 0);
	struct sim_domain_spec s = spec("g", 2 * GIB, 4 * GIB, SIM_BALLOON_INTERMITTENT);
	uint32_t id;

	s.balloon.period_ms = 2000;
	id = create(h, &s, 0);
	set_target(h, id, 1 * GIB); /* 4 s of moving at 256 MiB/s */
	simhost_advance(h, 2000);
	assert_int_equal(tot(h, id), 2 * GIB - 512 * MIB);
	simhost_advance(h, 3999);
	assert_int_equal(tot(h, id), 2 * GIB - 512 * MIB);
	simhost_advance(h, 5000);
	assert_int_equal(tot(h, id), 2 * GIB - 768 * MIB);
	simhost_advance(h, 5999);
	assert_true(tot(h, id) > 1 * GIB);
	simhost_advance(h, 6000);
	assert_int_equal(tot(h, id), 1 * GIB);
	check_ok(h);
	simhost_free(h);
}

static void greedy_grows_to_max_pages_whatever_the_target(void **state)
{
	struct simhost *h = simhost_new(6 * GIB, 256 * MIB, 1 * GIB, 0);
	struct sim_domain_spec s = spec("g", 1 * GIB, 4 * GIB, SIM_BALLOON_GREEDY);
	uint32_t id;

	s.maxmem_kib = 2 * GIB;
	id = create(h, &s, 0);
	simhost_advance(h, 4000);
	assert_int_equal(tot(h, id), 2 * GIB);
	set_target(h, id, 512 * MIB);
	simhost_advance(h, 120000);
	assert_int_equal(tot(h, id), 2 * GIB);
	/* it never gives up: more maxmem and it takes it within one backoff */
	assert_int_equal(status(h, id).state, SIM_DRIVER_WAITING);
	assert_true(status(h, id).next_ms <= 120000 + 32000);
	assert_int_equal(simhost_setmaxmem(h, id, 3 * GIB), 0);
	simhost_advance(h, 120000 + 32000 + 4000 + 10);
	assert_int_equal(tot(h, id), 3 * GIB);
	check_ok(h);
	simhost_free(h);
}

static void liar_follows_its_target_but_reports_falsely(void **state)
{
	struct simhost *h = simhost_new(6 * GIB, 256 * MIB, 1 * GIB, 0);
	struct sim_domain_spec s = spec("g", 2 * GIB, 4 * GIB, SIM_BALLOON_LIAR);
	struct sim_demand_point d[] = {{0, 1 * GIB}, {10000, 1 * GIB}, {20000, 512 * MIB}};
	char total[32], fr[32];
	uint32_t id;

	s.demand = d;
	s.n_demand = ARRAY_SIZE(d);
	id = create(h, &s, 0);
	/* even demand step: a tenth of its use */
	assert_true(xs_value(h, id, "data/meminfo_total", total, sizeof(total)));
	assert_true(xs_value(h, id, "data/meminfo_free", fr, sizeof(fr)));
	assert_int_equal(strtoull(total, NULL, 10), 2 * GIB);
	assert_int_equal(strtoull(fr, NULL, 10), 2 * GIB - 1 * GIB / 10);
	set_target(h, id, 1536 * MIB);
	simhost_advance(h, 9000);
	assert_int_equal(tot(h, id), 1536 * MIB);
	/* odd step: an absurd total, nothing free */
	simhost_advance(h, 10000);
	assert_true(xs_value(h, id, "data/meminfo_total", total, sizeof(total)));
	assert_true(xs_value(h, id, "data/meminfo_free", fr, sizeof(fr)));
	assert_int_equal(strtoull(total, NULL, 10), 64 * 1536 * MIB);
	assert_string_equal(fr, "0");
	simhost_advance(h, 20000);
	assert_true(xs_value(h, id, "data/meminfo_free", fr, sizeof(fr)));
	assert_int_equal(strtoull(fr, NULL, 10), 1536 * MIB - 512 * MIB / 10);
	simhost_free(h);
}

/* ---- the guest agent ---- */

static void demand_is_reported_as_the_guest_only_when_it_changes(void **state)
{
	struct simhost *h = simhost_new(6 * GIB, 256 * MIB, 1 * GIB, 0);
	struct sim_domain_spec s = spec("g", 2 * GIB, 4 * GIB, SIM_BALLOON_NORMAL);
	struct sim_demand_point d[] = {{5000, 1 * GIB}, {15000, 3 * GIB}, {25000, 3 * GIB}};
	struct simxs_stats st0, st1;
	char total[32], fr[32];
	uint32_t id;

	s.demand = d;
	s.n_demand = ARRAY_SIZE(d);
	id = create(h, &s, 0);
	assert_false(xs_value(h, id, "data/meminfo_total", total, sizeof(total)));
	assert_int_equal(simhost_next_change_ms(h, 0), 5000);
	simhost_advance(h, 5000);
	assert_true(xs_value(h, id, "data/meminfo_total", total, sizeof(total)));
	assert_true(xs_value(h, id, "data/meminfo_free", fr, sizeof(fr)));
	assert_string_equal(total, "2097152");
	assert_string_equal(fr, "1048576");
	/* more use than memory: nothing free, never negative */
	simhost_advance(h, 15000);
	assert_true(xs_value(h, id, "data/meminfo_free", fr, sizeof(fr)));
	assert_string_equal(fr, "0");
	/* the same demand again writes nothing */
	simxs_get_stats(simhost_xs(h), &st0);
	simhost_advance(h, 25000);
	simxs_get_stats(simhost_xs(h), &st1);
	assert_int_equal(st1.guest_writes, st0.guest_writes);
	assert_int_equal(st1.dom0_noop_writes, 0);
	/* ballooning changes the reported total: at most once a second, and at rest */
	set_target(h, id, 1 * GIB);
	simhost_advance(h, 40000);
	simxs_get_stats(simhost_xs(h), &st1);
	assert_true(st1.guest_writes - st0.guest_writes <= 2 * 6);
	assert_true(xs_value(h, id, "data/meminfo_total", total, sizeof(total)));
	assert_string_equal(total, "1048576");
	simhost_free(h);
}

/* ---- frames ---- */

static void frames_are_conserved_through_create_balloon_destroy(void **state)
{
	struct simhost *h = simhost_new(16 * GIB, 256 * MIB, 1 * GIB, 0);
	struct sim_domain_spec a = spec("a", 4 * GIB, 6 * GIB, SIM_BALLOON_NORMAL);
	struct sim_domain_spec b = spec("b", 2 * GIB, 6 * GIB, SIM_BALLOON_NORMAL);
	uint64_t before = free_kib(h);
	struct sim_physinfo pi;
	uint32_t ia, ib;

	ia = create(h, &a, 0);
	ib = create(h, &b, 0);
	assert_int_equal(free_kib(h), before - 6 * GIB);
	set_target(h, ia, 1 * GIB);
	set_target(h, ib, 5 * GIB);
	simhost_advance(h, 5000);
	check_ok(h);
	simhost_advance(h, 20000);
	assert_int_equal(tot(h, ia), 1 * GIB);
	assert_int_equal(tot(h, ib), 5 * GIB);
	assert_int_equal(free_kib(h), before - 6 * GIB);
	check_ok(h);
	assert_int_equal(simhost_destroy(h, ia, 20000), 0);
	simhost_physinfo(h, &pi);
	assert_int_equal(pi.free_kib, before - 5 * GIB);
	assert_int_equal(pi.scrub_kib, 1 * GIB); /* freed frames are dirty */
	check_ok(h);
	/* scrubbed at 4 GiB/s */
	assert_int_equal(simhost_next_change_ms(h, 20000), 20250);
	simhost_advance(h, 20125);
	simhost_physinfo(h, &pi);
	assert_int_equal(pi.scrub_kib, 512 * MIB);
	simhost_advance(h, 20250);
	simhost_physinfo(h, &pi);
	assert_int_equal(pi.scrub_kib, 0);
	assert_int_equal(simhost_destroy(h, ib, 20250), 0);
	assert_int_equal(free_kib(h), before);
	check_ok(h);
	simhost_free(h);
}

static void ballooning_fragments_later_allocations(void **state)
{
	struct simhost *h = simhost_new(16 * GIB, 256 * MIB, 1 * GIB, 0);
	struct sim_domain_spec a = spec("a", 2 * GIB, 2 * GIB, SIM_BALLOON_NORMAL);
	struct sim_domain_spec b = spec("b", 2 * GIB, 2 * GIB, SIM_BALLOON_NORMAL);
	struct sim_domain_spec c = spec("c", 1 * GIB, 1 * GIB, SIM_BALLOON_NORMAL);
	uint32_t ia = create(h, &a, 0), ib = create(h, &b, 0), ic;

	/* contiguous, but for a's run across the MMIO hole */
	assert_int_equal(p2m_runs(h, ia), 2);
	assert_int_equal(p2m_runs(h, ib), 1);
	set_target(h, ia, 1 * GIB);
	simhost_advance(h, 10000);
	assert_int_equal(tot(h, ia), 1 * GIB);
	/* the guest gave back pfns from all over: its P2M is full of holes */
	assert_true(p2m_runs(h, ia) > 1000);
	/* and a new domain gets the frames it gave back, scattered */
	ic = create(h, &c, 10000);
	assert_true(p2m_runs(h, ic) > 1000);
	check_ok(h);
	simhost_free(h);
}

/* ---- invariants ---- */

/* Random targets, maxmem, creates, destroys and pauses on an 8 GiB host
 * (checked incrementally), every state checked, and a full scan every
 * twentieth step. */
static void invariants_hold_under_heavy_random_ballooning(void **state)
{
	static const enum sim_behavior kinds[] = {
		SIM_BALLOON_NORMAL, SIM_BALLOON_SLOW,  SIM_BALLOON_FLOOR, SIM_BALLOON_INTERMITTENT,
		SIM_BALLOON_GREEDY, SIM_BALLOON_STUCK, SIM_BALLOON_LIAR,  SIM_BALLOON_STUCK_AFTER,
	};
	struct simhost *h = simhost_new(8 * GIB, 256 * MIB, 512 * MIB, 0);
	uint64_t seed = 0x5eed1234abcdull, now = 0, before = free_kib(h);
	uint32_t ids[16];
	size_t nids = 0, step, created = 0;
	char err[256];

	for (step = 0; step < 400; step++) {
		uint64_t r = xorshift(&seed), op = r % 10;

		if ((op == 0 || nids == 0) && nids < ARRAY_SIZE(ids)) {
			struct sim_domain_spec s;
			char name[16];
			uint64_t mem = (64 + xorshift(&seed) % 768) * MIB;
			uint32_t id;

			snprintf(name, sizeof(name), "r%zu", created++);
			s = spec(name, mem, mem * 2, kinds[xorshift(&seed) % ARRAY_SIZE(kinds)]);
			s.balloon.rate_kib_s = (16 + xorshift(&seed) % 1024) * MIB;
			s.balloon.after_kib = 128 * MIB;
			s.balloon.floor_kib = mem / 2;
			s.balloon.period_ms = 500 + xorshift(&seed) % 3000;
			s.width = xorshift(&seed) % 2 ? 32 : 64;
			if (simhost_create(h, &s, now, &id) == 0)
				ids[nids++] = id;
		} else if (op == 1 && nids > 1) {
			size_t k = xorshift(&seed) % nids;

			assert_int_equal(simhost_destroy(h, ids[k], now), 0);
			ids[k] = ids[--nids];
		} else if (op == 2) {
			size_t k = xorshift(&seed) % nids;

			simhost_setmaxmem(h, ids[k], (32 + xorshift(&seed) % 2048) * MIB);
		} else if (op == 3) {
			size_t k = xorshift(&seed) % nids;

			simhost_set_flags(h, ids[k], false, xorshift(&seed) % 3 == 0);
		} else if (nids) {
			size_t k = xorshift(&seed) % nids;

			set_target(h, ids[k], (16 + xorshift(&seed) % 2048) * MIB);
		}
		now += xorshift(&seed) % 3000;
		simhost_advance(h, now);
		if (simhost_check(h, err, sizeof(err)) != 0)
			fail_msg("step %zu: %s", step, err);
		if (step % 20 == 0 &&
		    simhost_check_ex(h, SIMHOST_CHECK_FULL, err, sizeof(err)) != 0)
			fail_msg("step %zu (full): %s", step, err);
	}
	while (nids)
		assert_int_equal(simhost_destroy(h, ids[--nids], now), 0);
	simhost_advance(h, now + 10000);
	assert_int_equal(free_kib(h), before);
	check_ok(h);
	simhost_free(h);
}

/* ---- faults ---- */

/* In the order of struct forward's counters. */
static const char *const fault_classes[] = {
	"M2P_MISMATCH",		 "M2P_INVALID_FOR_MAPPED", "P2M_ALIAS",	       "P2M_UNOWNED_MFN",
	"P2M_MFN_OUT_OF_RANGE",	 "MFN_CROSS_CLAIM",	   "M2P_SHARED_IN_PV", "M2P_OUT_OF_RANGE",
	"P2M_IDENTITY_MISMATCH", "P2M_STRUCTURE_ERROR",	   "PAGE_COUNT_DELTA",
};

#define N_FAULT_CLASSES ARRAY_SIZE(fault_classes)

/* A host with two ballooned guests; returns it with their domids. */
static struct simhost *fault_host(uint32_t *g1, uint32_t *g2)
{
	struct simhost *h = simhost_new(6 * GIB, 256 * MIB, 512 * MIB, 0);
	struct sim_domain_spec a = spec("g1", 2 * GIB, 3 * GIB, SIM_BALLOON_NORMAL);
	struct sim_domain_spec b = spec("g2", 1 * GIB, 2 * GIB, SIM_BALLOON_NORMAL);

	*g1 = create(h, &a, 0);
	*g2 = create(h, &b, 0);
	set_target(h, *g1, 1536 * MIB);
	set_target(h, *g2, 1536 * MIB);
	simhost_advance(h, 10000);
	return h;
}

/* What a forward audit sees for one domain: per class (the order of
 * fault_classes), entries that break, in lib/audit.h's precedence; the
 * page count and the P2M's readability are judged per domain. */
struct forward {
	uint64_t c[N_FAULT_CLASSES];
	uint64_t ram;
};

enum {
	FW_MISMATCH,
	FW_M2P_INVALID,
	FW_ALIAS,
	FW_UNOWNED,
	FW_OUT_OF_RANGE,
	FW_CROSS,
	FW_SHARED,
	FW_M2P_RANGE,
	FW_IDENTITY,
	FW_STRUCTURE,
	FW_COUNT,
};

static struct forward forward_audit(const struct simhost *h, uint32_t domid)
{
	struct forward f = {0};
	uint64_t n = 0, nf = 0, pfn;
	const uint64_t *p2m = simhost_p2m(h, domid, &n), *m2p = simhost_m2p(h, &nf);

	if (!p2m) {
		f.c[FW_STRUCTURE] = 1;
		return f;
	}
	for (pfn = 0; pfn < n; pfn++) {
		uint64_t mfn = p2m[pfn], v;
		uint32_t o;

		if (mfn == INVALID)
			continue;
		if (mfn & SIM_P2M_IDENTITY) {
			f.c[FW_IDENTITY] += (mfn & ~SIM_P2M_IDENTITY) != pfn;
			continue;
		}
		f.ram++;
		if (mfn >= nf) {
			f.c[FW_OUT_OF_RANGE]++;
			continue;
		}
		o = simhost_frame_owner(h, mfn);
		v = m2p[mfn];
		if (o == SIM_DOMID_IO)
			continue;
		if (o == SIM_DOMID_INVALID)
			f.c[FW_UNOWNED]++;
		else if (o != domid)
			f.c[FW_CROSS]++;
		else if (v != pfn && v < n && p2m[v] == mfn)
			f.c[FW_ALIAS]++;
		else if (v == SIM_M2P_SHARED)
			f.c[FW_SHARED]++;
		else if (v >> 63)
			f.c[FW_M2P_INVALID]++;
		else if (v >= n)
			f.c[FW_M2P_RANGE]++;
		else if (v != pfn)
			f.c[FW_MISMATCH]++;
	}
	f.c[FW_COUNT] = f.ram != tot(h, domid) / 4;
	return f;
}

static uint64_t forward_total(const struct forward *f)
{
	uint64_t n = 0;
	size_t k;

	for (k = 0; k < N_FAULT_CLASSES; k++)
		n += f->c[k];
	return n;
}

static void each_fault_is_one_finding_and_breaks_the_strict_check(void **state)
{
	size_t i, k;

	for (i = 0; i < N_FAULT_CLASSES; i++) {
		uint32_t g1, g2;
		struct simhost *h = fault_host(&g1, &g2);
		struct forward f, f2;
		char err[256] = "";
		uint64_t free_before;

		check_ok(h);
		f = forward_audit(h, g1);
		assert_int_equal(f.ram, tot(h, g1) / 4);
		assert_int_equal(forward_total(&f), 0);
		free_before = free_kib(h);
		if (simhost_inject_fault(h, g1, fault_classes[i], err, sizeof(err)) != 0)
			fail_msg("%s: %s", fault_classes[i], err);
		/* the accounting still holds, the M2P/P2M part is skipped ... */
		if (simhost_check(h, err, sizeof(err)) != 0)
			fail_msg("%s: check: %s", fault_classes[i], err);
		/* ... and a strict check finds the fault, except an unreadable
		 * P2M, which leaves the tables themselves in agreement */
		err[0] = '\0';
		assert_int_equal(simhost_check_ex(h, SIMHOST_CHECK_STRICT | SIMHOST_CHECK_FULL, err,
						  sizeof(err)),
				 i == FW_STRUCTURE ? 0 : -EUCLEAN);
		assert_true((err[0] != '\0') == (i != FW_STRUCTURE));
		/* the identity entry went over a ballooned-out pfn: no frame moved */
		assert_int_equal(free_kib(h), free_before);
		f = forward_audit(h, g1);
		for (k = 0; k < N_FAULT_CLASSES; k++)
			if (f.c[k] != (k == i))
				fail_msg("%s: %s counted %" PRIu64, fault_classes[i],
					 fault_classes[k], f.c[k]);
		f2 = forward_audit(h, g2);
		assert_int_equal(forward_total(&f2), 0);
		/* ballooning goes on around the fault, which stays exactly as it is */
		set_target(h, g1, 1 * GIB);
		set_target(h, g2, 1 * GIB);
		simhost_advance(h, 30000);
		assert_int_equal(tot(h, g1), 1 * GIB);
		assert_int_equal(tot(h, g2), 1 * GIB);
		f2 = forward_audit(h, g1);
		assert_memory_equal(f2.c, f.c, sizeof(f.c));
		assert_int_equal(status(h, g1).withdrawn_pages, i == FW_ALIAS	    ? 2
								: i == FW_STRUCTURE ? 0
										    : 1);
		check_ok(h);
		/* destroying the guest frees everything it owned */
		assert_int_equal(simhost_destroy(h, g1, 30000), 0);
		check_ok(h);
		assert_int_equal(simhost_destroy(h, g2, 30000), 0);
		assert_int_equal(free_kib(h), 6 * GIB - 256 * MIB - 512 * MIB);
		err[0] = '\0';
		if (simhost_check_ex(h, SIMHOST_CHECK_FULL, err, sizeof(err)) != 0)
			fail_msg("%s: after destroy: %s", fault_classes[i], err);
		simhost_free(h);
	}
}

/* A guest with no ballooned-out pfn (memory = static-max): the identity
 * entry replaces a RAM entry and the guest gives that frame back, so the
 * RAM entries still equal tot_pages (one finding, no PAGE_COUNT_DELTA). */
static void identity_fault_in_a_full_guest_gives_its_frame_back(void **state)
{
	struct simhost *h = simhost_new(6 * GIB, 256 * MIB, 512 * MIB, 0);
	struct sim_domain_spec a = spec("full", 1 * GIB, 1 * GIB, SIM_BALLOON_NORMAL);
	uint32_t id = create(h, &a, 0);
	uint64_t before = free_kib(h);
	struct forward f;
	char err[256] = "";
	size_t k;

	assert_int_equal(simhost_inject_fault(h, id, "P2M_IDENTITY_MISMATCH", err, sizeof(err)), 0);
	assert_int_equal(tot(h, id), 1 * GIB - 4);
	assert_int_equal(free_kib(h), before + 4);
	f = forward_audit(h, id);
	for (k = 0; k < N_FAULT_CLASSES; k++)
		assert_int_equal(f.c[k], k == FW_IDENTITY);
	assert_int_equal(f.ram, tot(h, id) / 4);
	assert_int_equal(status(h, id).withdrawn_pages, 1);
	check_ok(h);
	assert_int_equal(
		simhost_check_ex(h, SIMHOST_CHECK_STRICT | SIMHOST_CHECK_FULL, err, sizeof(err)),
		-EUCLEAN);
	/* it balloons down and up again; the entry stays */
	set_target(h, id, 512 * MIB);
	simhost_advance(h, 5000);
	set_target(h, id, 1 * GIB);
	simhost_advance(h, 10000);
	assert_int_equal(tot(h, id), 1 * GIB - 4); /* that pfn is no longer the driver's */
	f = forward_audit(h, id);
	assert_int_equal(forward_total(&f), 1);
	assert_int_equal(f.c[FW_IDENTITY], 1);
	check_ok(h);
	assert_int_equal(simhost_destroy(h, id, 10000), 0);
	check_ok(h);
	assert_int_equal(free_kib(h), 6 * GIB - 256 * MIB - 512 * MIB);
	simhost_free(h);
}

/* Withdrawing a ballooned-out pfn while a batch is in flight (either way)
 * keeps that batch paired with its frames: it completes as it would have. */
static void identity_fault_during_a_batch_keeps_the_batch_whole(void **state)
{
	int dir;

	for (dir = 0; dir < 2; dir++) {
		struct simhost *h = simhost_new(6 * GIB, 256 * MIB, 1 * GIB, 0);
		struct sim_domain_spec s = spec("g", 2 * GIB, 4 * GIB, SIM_BALLOON_NORMAL);
		uint32_t id = create(h, &s, 0);
		uint64_t goal = dir ? 3 * GIB : 1 * GIB;
		struct forward f;
		char err[256] = "";

		set_target(h, id, goal);
		simhost_advance(h, 2003); /* a batch of 512 pages in flight */
		assert_int_equal(status(h, id).inflight_pages, 512);
		assert_int_equal(
			simhost_inject_fault(h, id, "P2M_IDENTITY_MISMATCH", err, sizeof(err)), 0);
		check_ok(h);
		assert_int_equal(status(h, id).inflight_pages, 512);
		simhost_advance(h, 20000);
		assert_int_equal(tot(h, id), goal);
		assert_int_equal(status(h, id).inflight_pages, 0);
		f = forward_audit(h, id);
		assert_int_equal(forward_total(&f), 1);
		assert_int_equal(f.c[FW_IDENTITY], 1);
		assert_int_equal(f.ram, goal / 4);
		check_ok(h);
		assert_int_equal(simhost_destroy(h, id, 20000), 0);
		check_ok(h);
		assert_int_equal(free_kib(h), 6 * GIB - 256 * MIB - 1 * GIB);
		simhost_free(h);
	}
}

/* An unreadable P2M hides only the auditor's views; the guest goes on. */
static void structure_fault_hides_the_p2m_from_the_views_only(void **state)
{
	uint32_t g1, g2, buf[16];
	struct simhost *h = fault_host(&g1, &g2);
	uint64_t n = 0;
	char err[256] = "";

	assert_non_null(simhost_p2m(h, g1, &n));
	assert_int_equal(simhost_inject_fault(h, g1, "P2M_STRUCTURE_ERROR", err, sizeof(err)), 0);
	assert_null(simhost_p2m(h, g1, &n));
	assert_int_equal(simhost_p2m_copy32(h, g1, buf, 16), -EIO);
	assert_non_null(simhost_p2m(h, g2, &n));
	assert_int_equal(simhost_p2m_copy32(h, g2, buf, 16), 0);
	assert_int_equal(simhost_guest_width(h, g1), 64);
	set_target(h, g1, 512 * MIB);
	simhost_advance(h, 20000);
	assert_int_equal(tot(h, g1), 512 * MIB);
	assert_int_equal(
		simhost_check_ex(h, SIMHOST_CHECK_STRICT | SIMHOST_CHECK_FULL, err, sizeof(err)),
		0);
	/* a second one changes nothing */
	assert_int_equal(simhost_inject_fault(h, g1, "P2M_STRUCTURE_ERROR", err, sizeof(err)), 0);
	assert_null(simhost_p2m(h, g1, &n));
	assert_int_equal(simhost_destroy(h, g1, 20000), 0);
	check_ok(h);
	simhost_free(h);
}

static void bad_fault_requests_are_refused(void **state)
{
	uint32_t g1, g2;
	struct simhost *h = fault_host(&g1, &g2);
	char err[128];
	size_t i;

	assert_int_equal(simhost_inject_fault(h, g1, "NOT_A_CLASS", err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "NOT_A_CLASS"));
	assert_int_equal(simhost_inject_fault(h, 99, "P2M_ALIAS", err, sizeof(err)), -ENOENT);
	for (i = 0; i < N_FAULT_CLASSES; i++)
		assert_true(sim_fault_class_valid(fault_classes[i]));
	assert_false(sim_fault_class_valid("page_count_delta"));
	assert_false(sim_fault_class_valid(""));
	assert_false(sim_fault_class_valid(NULL));
	/* nothing was injected: the strict check still passes */
	assert_int_equal(
		simhost_check_ex(h, SIMHOST_CHECK_STRICT | SIMHOST_CHECK_FULL, err, sizeof(err)),
		0);
	simhost_free(h);
}

/* ---- virtual time ---- */

/* The same host driven by two sequences of advances. */
static struct simhost *time_host(void)
{
	struct simhost *h = simhost_new(12 * GIB, 256 * MIB, 1 * GIB, 0);
	struct sim_demand_point d[] = {{1500, 1 * GIB}, {7000, 2 * GIB}};
	struct sim_domain_spec s[6];
	uint32_t ids[6];
	size_t i;

	s[0] = spec("normal", 3 * GIB, 4 * GIB, SIM_BALLOON_NORMAL);
	s[1] = spec("slow", 1 * GIB, 2 * GIB, SIM_BALLOON_SLOW);
	s[2] = spec("blinks", 2 * GIB, 3 * GIB, SIM_BALLOON_INTERMITTENT);
	s[2].balloon.period_ms = 1500;
	s[3] = spec("capped", 1 * GIB, 3 * GIB, SIM_BALLOON_NORMAL);
	s[3].maxmem_kib = 0;
	s[3].demand = d;
	s[3].n_demand = ARRAY_SIZE(d);
	s[4] = spec("greedy", 512 * MIB, 1 * GIB, SIM_BALLOON_GREEDY);
	s[4].balloon.rate_kib_s = 100 * MIB;
	s[5] = spec("floor", 1 * GIB, 2 * GIB, SIM_BALLOON_FLOOR);
	s[5].balloon.floor_kib = 700 * MIB;
	for (i = 0; i < ARRAY_SIZE(s); i++)
		ids[i] = create(h, &s[i], 0);
	set_target(h, ids[0], 1 * GIB);
	set_target(h, ids[1], 2 * GIB);
	set_target(h, ids[2], 1 * GIB);
	set_target(h, ids[3], 2 * GIB);
	set_target(h, ids[5], 512 * MIB);
	return h;
}

static void assert_same_host(const struct simhost *a, const struct simhost *b)
{
	struct sim_dominfo da[8], db[8];
	struct sim_physinfo pa, pb;
	uint64_t na, nb;
	size_t n = simhost_getinfolist(a, 0, da, 8), i;
	const uint64_t *ma = simhost_m2p(a, &na), *mb = simhost_m2p(b, &nb);

	assert_int_equal(simhost_getinfolist(b, 0, db, 8), n);
	for (i = 0; i < n; i++) {
		const uint64_t *p = simhost_p2m(a, da[i].domid, &na),
			       *q = simhost_p2m(b, db[i].domid, &nb);

		if (da[i].tot_kib != db[i].tot_kib)
			fail_msg("domain %u: %" PRIu64 " vs %" PRIu64 " KiB", da[i].domid,
				 da[i].tot_kib, db[i].tot_kib);
		assert_int_equal(na, nb);
		assert_memory_equal(p, q, na * sizeof(*p));
	}
	assert_memory_equal(ma, mb, na * sizeof(*ma));
	simhost_physinfo(a, &pa);
	simhost_physinfo(b, &pb);
	assert_memory_equal(&pa, &pb, sizeof(pa));
}

static void one_long_advance_equals_many_short_ones(void **state)
{
	struct simhost *a = time_host(), *b = time_host(), *c = time_host();
	uint64_t t, seed = 99;
	struct simxs_stats sa, sb;

	simhost_advance(a, 10000);
	for (t = 10; t <= 10000; t += 10)
		simhost_advance(b, t);
	for (t = 0; t < 10000;) {
		t += xorshift(&seed) % 700;
		simhost_advance(c, t < 10000 ? t : 10000);
	}
	assert_same_host(a, b);
	assert_same_host(a, c);
	simxs_get_stats(simhost_xs(a), &sa);
	simxs_get_stats(simhost_xs(b), &sb);
	assert_int_equal(sa.guest_writes, sb.guest_writes);
	check_ok(a);
	check_ok(b);
	simhost_free(a);
	simhost_free(b);
	simhost_free(c);
}

/* Stepping from next change to next change visits the same states too. */
static void next_change_steps_reach_the_same_host(void **state)
{
	struct simhost *a = time_host(), *b = time_host();
	uint64_t t = 0, steps = 0;

	simhost_advance(a, 20000);
	while (t < 20000) {
		uint64_t n = simhost_next_change_ms(b, t);

		t = n == UINT64_MAX || n > 20000 ? 20000 : n > t ? n : t + 1;
		simhost_advance(b, t);
		steps++;
	}
	assert_same_host(a, b);
	assert_true(steps > 100);
	simhost_free(a);
	simhost_free(b);
}

/* A host at rest has no next change and advancing it far costs nothing. */
static void a_host_at_rest_sleeps(void **state)
{
	struct simhost *h = simhost_new(6 * GIB, 256 * MIB, 1 * GIB, 0);
	struct sim_domain_spec s = spec("g", 2 * GIB, 4 * GIB, SIM_BALLOON_NORMAL);
	uint32_t id = create(h, &s, 0);

	simhost_advance(h, 1);
	assert_int_equal(simhost_next_change_ms(h, 1), UINT64_MAX);
	simhost_advance(h, 30ull * 24 * 3600 * 1000);
	assert_int_equal(simhost_now_ms(h), 30ull * 24 * 3600 * 1000);
	assert_int_equal(tot(h, id), 2 * GIB);
	/* time never goes backwards */
	simhost_advance(h, 5);
	assert_int_equal(simhost_now_ms(h), 30ull * 24 * 3600 * 1000);
	simhost_free(h);
}

static void guest_width_and_32_bit_p2m_view(void **state)
{
	struct simhost *h = simhost_new(8 * GIB, 256 * MIB, 512 * MIB, 0);
	struct sim_domain_spec s = spec("old", 256 * MIB, 512 * MIB, SIM_BALLOON_NORMAL);
	struct sim_domain_spec v = spec("hvm", 256 * MIB, 512 * MIB, SIM_BALLOON_NORMAL);
	uint32_t *p32 = malloc(512 * MIB / 4 * sizeof(*p32));
	const uint64_t *p64;
	uint64_t n = 0, i;
	uint32_t id, iv;

	s.width = 32;
	v.type = SIM_HVM;
	id = create(h, &s, 0);
	iv = create(h, &v, 0);
	assert_int_equal(simhost_guest_width(h, id), 32);
	assert_int_equal(simhost_guest_width(h, 0), 64);
	assert_int_equal(simhost_guest_width(h, iv), 0);
	assert_int_equal(simhost_p2m_copy32(h, id, p32, 512 * MIB / 4), 0);
	p64 = simhost_p2m(h, id, &n);
	for (i = 0; i < n; i++)
		assert_int_equal(p32[i], p64[i] == INVALID ? UINT32_MAX : (uint32_t)p64[i]);
	assert_int_equal(simhost_p2m_copy32(h, 42, p32, 1), -ENOENT);
	free(p32);
	simhost_free(h);
}

static void names_round_trip(void **state)
{
	enum sim_behavior b = SIM_BALLOON_NORMAL;
	enum sim_dom_type t = SIM_PV;
	int i;

	for (i = SIM_BALLOON_NORMAL; i <= SIM_BALLOON_LIAR; i++) {
		assert_int_equal(sim_behavior_parse(sim_behavior_name((enum sim_behavior)i), &b),
				 0);
		assert_int_equal(b, i);
	}
	for (i = SIM_PV; i <= SIM_HVM; i++) {
		assert_int_equal(sim_dom_type_parse(sim_dom_type_name((enum sim_dom_type)i), &t),
				 0);
		assert_int_equal(t, i);
	}
	assert_int_equal(sim_behavior_parse("behaviour", &b), -EINVAL);
	assert_int_equal(sim_dom_type_parse("PV", &t), -EINVAL);
}

/* A claim (XENMEM_claim_pages) stays free but is its claimant's: physinfo
 * counts it outstanding, a balloon cannot grow into it, another build
 * cannot use it, a claim beyond what is unclaimed is refused, and the
 * claimant builds from it, which releases it. */
static void a_claim_is_kept_for_its_claimant(void **state)
{
	struct simhost *h = simhost_new(4 * GIB, 128 * MIB, 1 * GIB, 0);
	struct sim_domain_spec g = spec("g", 1 * GIB, 4 * GIB, SIM_BALLOON_NORMAL);
	struct sim_domain_spec big = spec("big", 1 * GIB, 1 * GIB, SIM_BALLOON_NORMAL);
	struct sim_domain_spec vm = spec("vm", 1 * GIB, 1 * GIB, SIM_BALLOON_NORMAL);
	struct sim_physinfo pi;
	uint64_t free0, unclaimed;
	uint32_t id, other;

	(void)state;
	assert_non_null(h);
	id = create(h, &g, 0);
	simhost_physinfo(h, &pi);
	free0 = pi.free_kib;
	assert_int_equal(simhost_claim(h, "vm", free0 + 4, 0), -ENOMEM);
	assert_int_equal(simhost_claim(h, "g", 4 * MIB, 0), -EEXIST);
	assert_int_equal(simhost_claim(h, "vm", 1 * GIB, 0), 0);
	assert_int_equal(simhost_claim(h, "vm", 4 * MIB, 0), -EEXIST);
	simhost_physinfo(h, &pi);
	assert_int_equal(pi.free_kib, free0);
	assert_int_equal(pi.outstanding_kib, 1 * GIB);
	unclaimed = free0 - 1 * GIB;
	/* another build of more than is unclaimed fails */
	big.memory_kib = big.static_max_kib = big.maxmem_kib = unclaimed + 1 * MIB;
	assert_int_equal(simhost_create(h, &big, 0, &other), -ENOMEM);
	/* the balloon grows only into what is unclaimed */
	set_target(h, id, 4 * GIB);
	simhost_advance(h, 60000);
	assert_int_equal(tot(h, id), 1 * GIB + unclaimed);
	check_ok(h);
	/* the claimant builds from its claim, which is then gone */
	create(h, &vm, 61000);
	simhost_physinfo(h, &pi);
	assert_int_equal(pi.outstanding_kib, 0);
	assert_int_equal(pi.free_kib, 0);
	check_ok(h);
	simhost_free(h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(host_layout_has_xen_frames_a_hole_and_an_e820),
		cmocka_unit_test(a_claim_is_kept_for_its_claimant),
		cmocka_unit_test(bad_host_sizes_are_refused),
		cmocka_unit_test(dom0_is_there_with_its_xenstore_keys),
		cmocka_unit_test(dom0_maps_the_hole_one_to_one),
		cmocka_unit_test(a_64g_host_builds),
		cmocka_unit_test(create_writes_the_keys_libxl_writes),
		cmocka_unit_test(dynamic_keys_are_written_only_when_given),
		cmocka_unit_test(create_fires_introduce_and_domids_are_never_reused),
		cmocka_unit_test(bad_specs_are_refused),
		cmocka_unit_test(create_without_memory_builds_nothing),
		cmocka_unit_test(a_fresh_host_builds_contiguous_p2ms),
		cmocka_unit_test(a_balloon_reaches_its_target_at_its_rate),
		cmocka_unit_test(the_rate_defaults_by_behaviour_and_can_be_set),
		cmocka_unit_test(a_batch_in_flight_is_visible_and_consistent),
		cmocka_unit_test(max_pages_blocks_growth_then_the_driver_gives_up),
		cmocka_unit_test(a_new_value_while_waiting_retries_at_once),
		cmocka_unit_test(setmaxmem_below_tot_is_allowed_and_only_stops_growth),
		cmocka_unit_test(the_offset_sets_where_tot_rests),
		cmocka_unit_test(pause_freezes_the_driver_and_resume_continues),
		cmocka_unit_test(stuck_never_moves),
		cmocka_unit_test(none_has_no_driver_at_all),
		cmocka_unit_test(stuck_after_moves_its_budget_then_stops),
		cmocka_unit_test(floor_stops_at_its_floor_and_gives_up),
		cmocka_unit_test(intermittent_moves_only_in_its_on_periods),
		cmocka_unit_test(greedy_grows_to_max_pages_whatever_the_target),
		cmocka_unit_test(liar_follows_its_target_but_reports_falsely),
		cmocka_unit_test(demand_is_reported_as_the_guest_only_when_it_changes),
		cmocka_unit_test(frames_are_conserved_through_create_balloon_destroy),
		cmocka_unit_test(ballooning_fragments_later_allocations),
		cmocka_unit_test(invariants_hold_under_heavy_random_ballooning),
		cmocka_unit_test(each_fault_is_one_finding_and_breaks_the_strict_check),
		cmocka_unit_test(identity_fault_in_a_full_guest_gives_its_frame_back),
		cmocka_unit_test(identity_fault_during_a_batch_keeps_the_batch_whole),
		cmocka_unit_test(structure_fault_hides_the_p2m_from_the_views_only),
		cmocka_unit_test(bad_fault_requests_are_refused),
		cmocka_unit_test(one_long_advance_equals_many_short_ones),
		cmocka_unit_test(next_change_steps_reach_the_same_host),
		cmocka_unit_test(a_host_at_rest_sleeps),
		cmocka_unit_test(guest_width_and_32_bit_p2m_view),
		cmocka_unit_test(names_round_trip),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
