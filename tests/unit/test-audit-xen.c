/* SPDX-License-Identifier: GPL-2.0-or-later */
/* daemon/audit-xen.c without a hypervisor: the E820/M2P-hole logic and the
 * P2M tree walk over a fake guest memory, including hostile shared_info
 * and tree values. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <xen/foreign/x86_32.h>
#include <xen/foreign/x86_64.h>

#include "audit-xen.h"

#define PG 4096
#define NF 64 /* frames of the fake host */

struct fake {
	uint8_t frames[NF][PG];
	bool not_owned[NF];
	int maps, unmaps;
	int map_errno;	   /* nonzero: every map fails with it */
	int bump_gen_maps; /* bump the generation by 2 on this many maps */
	int odd_forever;
	void *shinfo;
	unsigned width;
};

static void fake_gen_add(struct fake *f, uint64_t d)
{
	if (f->width == 8)
		((struct shared_info_x86_64 *)f->shinfo)->arch.p2m_generation += d;
	else
		((struct shared_info_x86_32 *)f->shinfo)->arch.p2m_generation += (uint32_t)d;
}

static void *fake_map(void *arg, uint32_t domid, const xen_pfn_t *mfns, size_t n)
{
	struct fake *f = arg;
	uint8_t *p;
	size_t i;

	(void)domid;
	if (f->map_errno) {
		errno = f->map_errno;
		return NULL;
	}
	p = malloc(n * PG);
	assert_non_null(p);
	for (i = 0; i < n; i++) {
		assert_true(mfns[i] < NF); /* the walk checked it first */
		memcpy(p + i * PG, f->frames[mfns[i]], PG);
	}
	f->maps++;
	if (f->bump_gen_maps > 0) {
		f->bump_gen_maps--;
		fake_gen_add(f, 2);
	}
	return p;
}

static void fake_unmap(void *arg, void *p, size_t n)
{
	struct fake *f = arg;

	(void)n;
	f->unmaps++;
	free(p);
}

static int fake_owned(void *arg, uint32_t domid, const xen_pfn_t *mfns, size_t n, size_t *ret_bad)
{
	struct fake *f = arg;
	size_t i;

	(void)domid;
	for (i = 0; i < n; i++)
		if (mfns[i] >= NF || f->not_owned[mfns[i]]) {
			*ret_bad = i;
			return -EPERM;
		}
	return 0;
}

/* A guest of width w with npfns entries: shared_info, the frame list list
 * at frame 1, frame lists from frame 2, leaves after them; p2m[pfn] =
 * 1000 + pfn. */
static struct fake *fake_guest(unsigned w, uint64_t npfns, uint64_t cr3)
{
	struct fake *f = calloc(1, sizeof(*f));
	uint64_t fpp = PG / w, nleaves = (npfns + fpp - 1) / fpp, nfl = (nleaves + fpp - 1) / fpp;
	uint64_t i, leaf0 = 2 + nfl;

	assert_non_null(f);
	assert_true(leaf0 + nleaves <= NF);
	f->width = w;
	for (i = 0; i < nfl; i++)
		if (w == 8)
			((uint64_t *)f->frames[1])[i] = 2 + i;
		else
			((uint32_t *)f->frames[1])[i] = (uint32_t)(2 + i);
	for (i = 0; i < nleaves; i++)
		if (w == 8)
			((uint64_t *)f->frames[2 + i / fpp])[i % fpp] = leaf0 + i;
		else
			((uint32_t *)f->frames[2 + i / fpp])[i % fpp] = (uint32_t)(leaf0 + i);
	for (i = 0; i < npfns; i++)
		if (w == 8)
			((uint64_t *)f->frames[leaf0 + i / fpp])[i % fpp] = 1000 + i;
		else
			((uint32_t *)f->frames[leaf0 + i / fpp])[i % fpp] = (uint32_t)(1000 + i);
	if (w == 8) {
		struct shared_info_x86_64 *s = calloc(1, sizeof(*s));

		assert_non_null(s);
		s->arch.max_pfn = npfns;
		s->arch.pfn_to_mfn_frame_list_list = 1;
		s->arch.p2m_cr3 = cr3;
		f->shinfo = s;
	} else {
		struct shared_info_x86_32 *s = calloc(1, sizeof(*s));

		assert_non_null(s);
		s->arch.max_pfn = (uint32_t)npfns;
		s->arch.pfn_to_mfn_frame_list_list = 1;
		s->arch.p2m_cr3 = (uint32_t)cr3;
		f->shinfo = s;
	}
	return f;
}

static void fake_free(struct fake *f)
{
	free(f->shinfo);
	free(f);
}

static int walk(struct fake *f, uint64_t max_npfns, struct audit_xen_p2m *p, char *why)
{
	struct audit_xen_mem mem = {fake_map, fake_unmap, fake_owned, f};

	memset(p, 0, sizeof(*p));
	return audit_xen_walk_p2m(&mem, 7, f->width, f->shinfo, NF, max_npfns, p, why, 200);
}

static void set_fll(struct fake *f, uint64_t v)
{
	if (f->width == 8)
		((struct shared_info_x86_64 *)f->shinfo)->arch.pfn_to_mfn_frame_list_list = v;
	else
		((struct shared_info_x86_32 *)f->shinfo)->arch.pfn_to_mfn_frame_list_list =
			(uint32_t)v;
}

static void test_ram_ranges_sorted_merged_partial_frames_dropped(void **state)
{
	struct e820entry e[] = {
		{.addr = 0x100000000ull, .size = 0x40000000ull, .type = E820_RAM},
		{.addr = 0xa0000, .size = 0x60000, .type = E820_RESERVED},
		{.addr = 0, .size = 0x9f800, .type = E820_RAM},		  /* ends mid-frame */
		{.addr = 0x100800, .size = 0x7ff00000, .type = E820_RAM}, /* starts mid-frame */
		{.addr = 0x80000000ull, .size = 0x1000, .type = E820_RAM},
		{.addr = 0x7fff0000ull, .size = 0x20000, .type = E820_RAM}, /* overlaps both */
		{.addr = 0x200000000ull, .size = 0x800, .type = E820_RAM},  /* no whole frame */
	};
	struct audit_xen_range r[8];
	size_t n;

	(void)state;
	n = audit_xen_ram_ranges(e, sizeof(e) / sizeof(e[0]), r);
	assert_int_equal(n, 3);
	assert_int_equal(r[0].start, 0);
	assert_int_equal(r[0].end, 0x9f);
	assert_int_equal(r[1].start, 0x101);
	assert_int_equal(r[1].end, 0x80010);
	assert_int_equal(r[2].start, 0x100000);
	assert_int_equal(r[2].end, 0x140000);
	assert_true(audit_xen_ram_has(r, n, 0));
	assert_false(audit_xen_ram_has(r, n, 0x9f));
	assert_false(audit_xen_ram_has(r, n, 0x100));
	assert_true(audit_xen_ram_has(r, n, 0x8000f));
	assert_false(audit_xen_ram_has(r, n, 0x80010));
	assert_true(audit_xen_ram_has(r, n, 0x13ffff));
	assert_false(audit_xen_ram_has(r, n, 0x140000));
}

static void test_m2p_holes_repeated_chunks_and_e820_disagreement(void **state)
{
	/* 1 GiB per chunk: RAM in GiB 0, 1 and 3; GiB 2 is a hole. */
	struct e820entry e[] = {
		{.addr = 0, .size = 2ull << 30, .type = E820_RAM},
		{.addr = 3ull << 30, .size = 1ull << 30, .type = E820_RAM},
	};
	struct audit_xen_range r[2];
	xen_pfn_t good[] = {0x1000, 0x1200, 0x1200, 0x1400};
	xen_pfn_t bad[] = {0x1000, 0x1000, 0x1200, 0x1400}; /* says GiB 1 is a hole */
	xen_pfn_t first0[] = {0, 0x1200};
	bool hole[4];
	size_t nr, dis;

	(void)state;
	nr = audit_xen_ram_ranges(e, 2, r);
	assert_int_equal(audit_xen_m2p_holes(good, 4, 4ull << 18, r, nr, hole, &dis), 1);
	assert_false(hole[0]);
	assert_false(hole[1]);
	assert_true(hole[2]);
	assert_false(hole[3]);
	assert_int_equal(dis, 0);
	assert_int_equal(audit_xen_m2p_holes(bad, 4, 4ull << 18, r, nr, hole, &dis), 1);
	assert_true(hole[1]);
	assert_int_equal(dis, 1);
	assert_int_equal(audit_xen_m2p_holes(first0, 2, 2ull << 18, r, nr, hole, &dis), 1);
	assert_true(hole[0]);
	assert_int_equal(dis, 1);
}

static void check_entries(const struct audit_xen_p2m *p, unsigned w, uint64_t npfns)
{
	uint64_t i;

	assert_non_null(p->p2m);
	assert_int_equal(p->npfns, npfns);
	for (i = 0; i < npfns; i++)
		if (w == 8)
			assert_int_equal(((const uint64_t *)p->p2m)[i], 1000 + i);
		else
			assert_int_equal(((const uint32_t *)p->p2m)[i], 1000 + i);
}

static void test_walk_64bit_two_leaves_read_in_place(void **state)
{
	struct fake *f = fake_guest(8, 700, 0x1234000);
	struct audit_xen_p2m p;
	char why[200];

	(void)state;
	assert_int_equal(walk(f, 1 << 20, &p, why), AUDIT_XEN_WALK_OK);
	assert_int_equal(p.nleaves, 2);
	check_entries(&p, 8, 700);
	/* fll page and frame-list pages given back; the leaves stay mapped */
	assert_int_equal(f->maps, 3);
	assert_int_equal(f->unmaps, 2);
	fake_unmap(f, p.p2m, p.nleaves);
	fake_free(f);
}

static void test_walk_32bit_layout_and_4_byte_entries(void **state)
{
	struct fake *f = fake_guest(4, 1500, 0);
	struct audit_xen_p2m p;
	char why[200];

	(void)state;
	assert_int_equal(walk(f, 1 << 20, &p, why), AUDIT_XEN_WALK_OK);
	assert_int_equal(p.nleaves, 2);
	check_entries(&p, 4, 1500);
	fake_unmap(f, p.p2m, p.nleaves);
	fake_free(f);
}

static void test_walk_leaf_beyond_max_page_is_bad_and_not_mapped(void **state)
{
	struct fake *f = fake_guest(8, 700, 0);
	struct audit_xen_p2m p;
	char why[200];

	(void)state;
	((uint64_t *)f->frames[2])[1] = NF + 5;
	assert_int_equal(walk(f, 1 << 20, &p, why), AUDIT_XEN_WALK_BAD);
	assert_non_null(strstr(why, "beyond max_page"));
	assert_null(p.p2m);
	assert_int_equal(f->maps, f->unmaps);
	fake_free(f);
}

static void test_walk_leaf_not_owned_is_bad(void **state)
{
	struct fake *f = fake_guest(8, 700, 0);
	struct audit_xen_p2m p;
	char why[200];

	(void)state;
	f->not_owned[4] = true; /* the second leaf */
	assert_int_equal(walk(f, 1 << 20, &p, why), AUDIT_XEN_WALK_BAD);
	assert_non_null(strstr(why, "not a page the domain owns"));
	assert_int_equal(f->maps, f->unmaps);
	fake_free(f);
}

static void test_walk_frame_list_list_not_owned_is_bad(void **state)
{
	struct fake *f = fake_guest(4, 1500, 0);
	struct audit_xen_p2m p;
	char why[200];

	(void)state;
	f->not_owned[1] = true;
	assert_int_equal(walk(f, 1 << 20, &p, why), AUDIT_XEN_WALK_BAD);
	assert_int_equal(f->maps, 0);
	fake_free(f);
}

static void test_walk_huge_max_pfn_bounded_before_any_map(void **state)
{
	struct fake *f = fake_guest(8, 700, 0);
	struct audit_xen_p2m p;
	char why[200];

	(void)state;
	((struct shared_info_x86_64 *)f->shinfo)->arch.max_pfn = UINT64_MAX;
	assert_int_equal(walk(f, 1 << 20, &p, why), AUDIT_XEN_WALK_BAD);
	assert_non_null(strstr(why, "out of bounds"));
	((struct shared_info_x86_64 *)f->shinfo)->arch.max_pfn = (1 << 20) + 1;
	assert_int_equal(walk(f, 1 << 20, &p, why), AUDIT_XEN_WALK_BAD);
	((struct shared_info_x86_64 *)f->shinfo)->arch.max_pfn = 0;
	assert_int_equal(walk(f, 1 << 20, &p, why), AUDIT_XEN_WALK_BAD);
	assert_int_equal(f->maps, 0);
	fake_free(f);
}

static void test_walk_unpublished_and_virtual_list_only_are_not_structure_errors(void **state)
{
	struct fake *f64 = fake_guest(8, 700, 0x1234000), *f32 = fake_guest(4, 700, 0x5000);
	struct audit_xen_p2m p;
	char why[200];

	(void)state;
	set_fll(f64, 0);
	assert_int_equal(walk(f64, 1 << 20, &p, why), AUDIT_XEN_WALK_UNPUBLISHED);
	set_fll(f64, UINT64_MAX);
	assert_int_equal(walk(f64, 1 << 20, &p, why), AUDIT_XEN_WALK_UNREADABLE);
	assert_non_null(strstr(why, "virtual list"));
	set_fll(f32, UINT32_MAX);
	assert_int_equal(walk(f32, 1 << 20, &p, why), AUDIT_XEN_WALK_UNREADABLE);
	assert_int_equal(f64->maps + f32->maps, 0);
	fake_free(f64);
	fake_free(f32);
}

static void test_walk_retries_when_generation_moves_then_succeeds(void **state)
{
	struct fake *f = fake_guest(8, 700, 0x1234000);
	struct audit_xen_p2m p;
	char why[200];

	(void)state;
	f->bump_gen_maps = 1; /* the first attempt sees the generation move */
	assert_int_equal(walk(f, 1 << 20, &p, why), AUDIT_XEN_WALK_OK);
	check_entries(&p, 8, 700);
	assert_int_equal(f->maps, 6);
	assert_int_equal(f->unmaps, 5); /* the first attempt's leaves were given back */
	fake_unmap(f, p.p2m, p.nleaves);
	fake_free(f);
}

static void test_walk_generation_odd_forever_gives_up_bounded(void **state)
{
	struct fake *f = fake_guest(8, 700, 0x1234000);
	struct audit_xen_p2m p;
	char why[200];

	(void)state;
	fake_gen_add(f, 1);
	assert_int_equal(walk(f, 1 << 20, &p, why), AUDIT_XEN_WALK_BAD);
	assert_non_null(strstr(why, "odd"));
	assert_non_null(strstr(why, "attempts"));
	assert_int_equal(f->maps, 0);
	fake_free(f);
}

static void test_walk_generation_moving_forever_gives_up_without_leaks(void **state)
{
	struct fake *f = fake_guest(8, 700, 0x1234000);
	struct audit_xen_p2m p;
	char why[200];

	(void)state;
	f->bump_gen_maps = 1000;
	assert_int_equal(walk(f, 1 << 20, &p, why), AUDIT_XEN_WALK_BAD);
	assert_non_null(strstr(why, "changed during the read"));
	assert_int_equal(f->maps, f->unmaps);
	assert_null(p.p2m);
	fake_free(f);
}

static void test_walk_map_errors_gone_or_bad_or_nomem(void **state)
{
	struct fake *f = fake_guest(8, 700, 0);
	struct audit_xen_p2m p;
	char why[200];

	(void)state;
	f->map_errno = ESRCH;
	assert_int_equal(walk(f, 1 << 20, &p, why), AUDIT_XEN_WALK_GONE);
	f->map_errno = EINVAL;
	assert_int_equal(walk(f, 1 << 20, &p, why), AUDIT_XEN_WALK_BAD);
	assert_non_null(strstr(why, "cannot map"));
	f->map_errno = ENOMEM;
	assert_int_equal(walk(f, 1 << 20, &p, why), -ENOMEM);
	fake_free(f);
}

static void test_walk_bad_width_unreadable(void **state)
{
	struct fake *f = fake_guest(8, 700, 0);
	struct audit_xen_mem mem = {fake_map, fake_unmap, fake_owned, f};
	struct audit_xen_p2m p;
	char why[200];

	(void)state;
	assert_int_equal(audit_xen_walk_p2m(&mem, 7, 2, f->shinfo, NF, 1 << 20, &p, why, 200),
			 AUDIT_XEN_WALK_UNREADABLE);
	fake_free(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ram_ranges_sorted_merged_partial_frames_dropped),
		cmocka_unit_test(test_m2p_holes_repeated_chunks_and_e820_disagreement),
		cmocka_unit_test(test_walk_64bit_two_leaves_read_in_place),
		cmocka_unit_test(test_walk_32bit_layout_and_4_byte_entries),
		cmocka_unit_test(test_walk_leaf_beyond_max_page_is_bad_and_not_mapped),
		cmocka_unit_test(test_walk_leaf_not_owned_is_bad),
		cmocka_unit_test(test_walk_frame_list_list_not_owned_is_bad),
		cmocka_unit_test(test_walk_huge_max_pfn_bounded_before_any_map),
		cmocka_unit_test(
			test_walk_unpublished_and_virtual_list_only_are_not_structure_errors),
		cmocka_unit_test(test_walk_retries_when_generation_moves_then_succeeds),
		cmocka_unit_test(test_walk_generation_odd_forever_gives_up_bounded),
		cmocka_unit_test(test_walk_generation_moving_forever_gives_up_without_leaks),
		cmocka_unit_test(test_walk_map_errors_gone_or_bad_or_nomem),
		cmocka_unit_test(test_walk_bad_width_unreadable),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
