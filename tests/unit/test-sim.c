/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Unit tests for the simulated host: XenStore permissions and watches,
 * frames and max_pages, the Linux-like balloon driver and its behaviours,
 * invariants and fault injection, and scenario parsing. */
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

#include "scenario.h"
#include "simhost.h"
#include "simxs.h"

#define MIB 1024ull
#define GIB (1024ull * 1024ull)

/* ---- simxs ---- */

static void xs_guest_may_write_data_but_not_its_target(void **state)
{
	struct simxs *xs = simxs_new();
	char buf[64];

	assert_int_equal(simxs_write(xs, 0, "/local/domain/3/memory/target", "1024"), 0);
	assert_int_equal(simxs_write(xs, 3, "/local/domain/3/memory/target", "9999999"), -EACCES);
	assert_int_equal(simxs_write(xs, 3, "/local/domain/4/data/x", "1"), -EACCES);
	assert_int_equal(simxs_write(xs, 3, "/local/domain/3/data/meminfo_free", "5"), 0);
	assert_int_equal(simxs_write(xs, 3, "/local/domain/3/memory/meminfo", "5"), 0);
	assert_int_equal(simxs_read(xs, 3, "/local/domain/4/data/x", buf, sizeof(buf)), -EACCES);
	assert_int_equal(simxs_read(xs, 0, "/local/domain/3/memory/target", buf, sizeof(buf)), 4);
	assert_string_equal(buf, "1024");
	assert_int_equal(simxs_rm(xs, 3, "/local/domain/3/data"), -EACCES);
	simxs_free(xs);
}

static void xs_rejects_bad_paths_and_oversized_values(void **state)
{
	struct simxs *xs = simxs_new();
	char *big = malloc(SIMXS_VALUE_MAX + 2);

	memset(big, 'x', SIMXS_VALUE_MAX + 1);
	big[SIMXS_VALUE_MAX + 1] = '\0';
	assert_int_equal(simxs_write(xs, 0, "relative/path", "1"), -EINVAL);
	assert_int_equal(simxs_write(xs, 0, "/a//b", "1"), -EINVAL);
	assert_int_equal(simxs_write(xs, 0, "/a/b/", "1"), -EINVAL);
	assert_int_equal(simxs_write(xs, 0, "/a/b c", "1"), -EINVAL);
	assert_int_equal(simxs_write(xs, 0, "/a/b", big), -E2BIG);
	free(big);
	simxs_free(xs);
}

static void xs_watch_fires_on_registration_and_for_children_with_its_token(void **state)
{
	struct simxs *xs = simxs_new();
	char path[256], tok[64];

	assert_int_equal(simxs_watch(xs, "/local/domain", "doms"), 0);
	assert_int_equal(simxs_watch(xs, "/local/domain", "doms"), -EEXIST);
	assert_true(simxs_next_event(xs, path, sizeof(path), tok, sizeof(tok)));
	assert_string_equal(path, "/local/domain");
	assert_string_equal(tok, "doms");
	assert_false(simxs_next_event(xs, path, sizeof(path), tok, sizeof(tok)));
	simxs_write(xs, 0, "/local/domain/1/memory/target", "5");
	while (simxs_next_event(xs, path, sizeof(path), tok, sizeof(tok)))
		assert_string_equal(tok, "doms");
	assert_string_equal(path, "/local/domain/1/memory/target");
	simxs_write(xs, 0, "/elsewhere", "1");
	assert_int_equal(simxs_pending_events(xs), 0);
	assert_int_equal(simxs_watch(xs, "@releaseDomain", "rel"), 0);
	simxs_next_event(xs, path, sizeof(path), tok, sizeof(tok));
	simxs_fire_special(xs, "@releaseDomain");
	assert_true(simxs_next_event(xs, path, sizeof(path), tok, sizeof(tok)));
	assert_string_equal(path, "@releaseDomain");
	simxs_free(xs);
}

static void xs_counts_dom0_writes_that_change_nothing(void **state)
{
	struct simxs *xs = simxs_new();
	struct simxs_stats st;

	simxs_write(xs, 0, "/k", "1");
	simxs_write(xs, 0, "/k", "2");
	simxs_write(xs, 0, "/k", "2");
	simxs_get_stats(xs, &st);
	assert_int_equal(st.dom0_writes, 3);
	assert_int_equal(st.dom0_noop_writes, 1);
	simxs_free(xs);
}

static void xs_directory_and_recursive_rm(void **state)
{
	struct simxs *xs = simxs_new();
	char **v = NULL, buf[8];

	simxs_write(xs, 0, "/t/a/x", "1");
	simxs_write(xs, 0, "/t/b", "2");
	assert_int_equal(simxs_directory(xs, 0, "/t", &v), 2);
	simxs_strv_free(v);
	assert_int_equal(simxs_rm(xs, 0, "/t/a"), 0);
	assert_int_equal(simxs_read(xs, 0, "/t/a/x", buf, sizeof(buf)), -ENOENT);
	assert_int_equal(simxs_directory(xs, 0, "/t", &v), 1);
	assert_string_equal(v[0], "b");
	simxs_strv_free(v);
	simxs_free(xs);
}

/* ---- simhost ---- */

static struct simhost *host_with(uint32_t *ret_domid, enum sim_behavior b, uint64_t mem,
				 uint64_t smax, uint64_t maxmem)
{
	struct sim_domain_spec spec = {.name = "g", .memory_kib = mem, .static_max_kib = smax,
				       .maxmem_kib = maxmem};
	struct simhost *h = simhost_new(8 * GIB, 256 * MIB, 1 * GIB, 0);

	assert_non_null(h);
	spec.balloon.behavior = b;
	spec.balloon.rate_kib_s = 256 * MIB;
	spec.balloon.after_kib = 128 * MIB;
	spec.balloon.floor_kib = 768 * MIB;
	spec.balloon.period_ms = 1000;
	assert_int_equal(simhost_create(h, &spec, 0, ret_domid), 0);
	return h;
}

static uint64_t tot_of(const struct simhost *h, uint32_t domid)
{
	struct sim_dominfo info[8];
	size_t n = simhost_getinfolist(h, 0, info, 8), i;

	for (i = 0; i < n; i++)
		if (info[i].domid == domid)
			return info[i].tot_kib;
	fail_msg("no domain %u", domid);
	return 0;
}

static void set_target(struct simhost *h, uint32_t domid, uint64_t kib)
{
	char path[64], val[32];

	snprintf(path, sizeof(path), "/local/domain/%u/memory/target", domid);
	snprintf(val, sizeof(val), "%" PRIu64, kib);
	assert_int_equal(simxs_write(simhost_xs(h), 0, path, val), 0);
}

static void host_builds_like_libxl_and_conserves_frames(void **state)
{
	struct simhost *h = simhost_new(8 * GIB, 256 * MIB, 1 * GIB, 0);
	struct sim_domain_spec spec = {.name = "g", .memory_kib = 1 * GIB, .static_max_kib = 2 * GIB};
	struct sim_physinfo pi;
	struct sim_dominfo info[4];
	char err[256], buf[32];
	uint32_t domid;

	assert_non_null(h);
	simhost_physinfo(h, &pi);
	assert_int_equal(pi.total_kib, 8 * GIB);
	assert_int_equal(pi.free_kib, 8 * GIB - 256 * MIB - 1 * GIB);
	assert_int_equal(simhost_create(h, &spec, 0, &domid), 0);
	assert_int_equal(domid, 1);
	assert_int_equal(simhost_create(h, &spec, 0, &domid), -EEXIST);
	assert_int_equal(simhost_getinfolist(h, 0, info, 4), 2);
	assert_int_equal(info[1].tot_kib, 1 * GIB);
	assert_int_equal(info[1].max_kib, 1 * GIB + 1 * MIB); /* memory + 1M, as libxl */
	assert_int_equal(simxs_read(simhost_xs(h), 0, "/local/domain/1/memory/static-max", buf,
				    sizeof(buf)), 7);
	assert_string_equal(buf, "2097152");
	assert_int_equal(simhost_check(h, err, sizeof(err)), 0);
	assert_int_equal(simhost_destroy(h, domid, 0), 0);
	assert_int_equal(simxs_read(simhost_xs(h), 0, "/local/domain/1/name", buf, sizeof(buf)),
			 -ENOENT);
	simhost_physinfo(h, &pi);
	assert_int_equal(pi.free_kib, 8 * GIB - 256 * MIB - 1 * GIB);
	assert_true(pi.scrub_kib > 0); /* freed frames are dirty until scrubbed */
	simhost_advance(h, 10000);
	simhost_physinfo(h, &pi);
	assert_int_equal(pi.scrub_kib, 0);
	assert_int_equal(simhost_check(h, err, sizeof(err)), 0);
	spec.memory_kib = spec.static_max_kib = 100 * GIB;
	assert_int_equal(simhost_create(h, &spec, 0, &domid), -ENOMEM);
	simhost_free(h);
}

static void balloon_follows_target_at_its_rate(void **state)
{
	uint32_t domid;
	struct simhost *h = host_with(&domid, SIM_BALLOON_NORMAL, 2 * GIB, 2 * GIB, 0);
	char err[256];

	set_target(h, domid, 1 * GIB);
	simhost_advance(h, 1000); /* 256M/s */
	assert_int_equal(tot_of(h, domid), 2 * GIB - 256 * MIB);
	simhost_advance(h, 10000);
	assert_int_equal(tot_of(h, domid), 1 * GIB);
	assert_int_equal(simhost_next_change_ms(h, 10000) > 10000, true);
	assert_int_equal(simhost_check(h, err, sizeof(err)), 0);
	simhost_free(h);
}

static void one_long_advance_equals_many_short_ones(void **state)
{
	uint32_t d1, d2;
	struct simhost *a = host_with(&d1, SIM_BALLOON_NORMAL, 2 * GIB, 2 * GIB, 0);
	struct simhost *b = host_with(&d2, SIM_BALLOON_NORMAL, 2 * GIB, 2 * GIB, 0);
	uint64_t t;

	set_target(a, d1, 1 * GIB + 123 * MIB);
	set_target(b, d2, 1 * GIB + 123 * MIB);
	simhost_advance(a, 3000);
	for (t = 10; t <= 3000; t += 10)
		simhost_advance(b, t);
	assert_true(tot_of(a, d1) - tot_of(b, d2) <= 512 * 4 || tot_of(b, d2) - tot_of(a, d1) <= 512 * 4);
	simhost_free(a);
	simhost_free(b);
}

static void maxmem_blocks_growth_and_driver_gives_up_until_target_changes(void **state)
{
	uint32_t domid;
	struct simhost *h = host_with(&domid, SIM_BALLOON_NORMAL, 1 * GIB, 2 * GIB, 0);
	uint64_t t;

	set_target(h, domid, 2 * GIB);
	for (t = 1000; t <= 60000; t += 1000)
		simhost_advance(h, t);
	assert_int_equal(tot_of(h, domid), 1 * GIB + 1 * MIB); /* capped at maxmem */
	/* raising maxmem alone does not wake a driver that gave up ... */
	assert_int_equal(simhost_setmaxmem(h, domid, 2 * GIB + 1 * MIB), 0);
	simhost_advance(h, 70000);
	assert_int_equal(tot_of(h, domid), 1 * GIB + 1 * MIB);
	/* ... rewriting the same value does not either ... */
	set_target(h, domid, 2 * GIB);
	simhost_advance(h, 80000);
	assert_int_equal(tot_of(h, domid), 1 * GIB + 1 * MIB);
	/* ... a different value does */
	set_target(h, domid, 2 * GIB - 4);
	simhost_advance(h, 90000);
	assert_int_equal(tot_of(h, domid), 2 * GIB - 4);
	simhost_free(h);
}

struct behavior_case {
	enum sim_behavior b;
	uint64_t target, expect_after_20s;
};

static void each_behavior_moves_as_specified(void **state)
{
	static const struct behavior_case cases[] = {
		{SIM_BALLOON_NORMAL, 512 * MIB, 512 * MIB},
		{SIM_BALLOON_STUCK, 512 * MIB, 2 * GIB},
		{SIM_BALLOON_NONE, 512 * MIB, 2 * GIB},
		{SIM_BALLOON_STUCK_AFTER, 512 * MIB, 2 * GIB - 128 * MIB},
		{SIM_BALLOON_FLOOR, 512 * MIB, 768 * MIB},
		{SIM_BALLOON_INTERMITTENT, 512 * MIB, 512 * MIB},
		{SIM_BALLOON_LIAR, 512 * MIB, 512 * MIB},
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		uint32_t domid;
		struct simhost *h = host_with(&domid, cases[i].b, 2 * GIB, 2 * GIB, 0);
		char err[256];

		set_target(h, domid, cases[i].target);
		simhost_advance(h, 20000);
		if (tot_of(h, domid) != cases[i].expect_after_20s)
			fail_msg("%s: %" PRIu64 " KiB, expected %" PRIu64, sim_behavior_name(cases[i].b),
				 tot_of(h, domid), cases[i].expect_after_20s);
		assert_int_equal(simhost_check(h, err, sizeof(err)), 0);
		simhost_free(h);
	}
}

static void intermittent_balloon_pauses_between_periods(void **state)
{
	uint32_t domid;
	struct simhost *h = host_with(&domid, SIM_BALLOON_INTERMITTENT, 2 * GIB, 2 * GIB, 0);
	uint64_t at1, at2;

	set_target(h, domid, 512 * MIB);
	simhost_advance(h, 1000); /* moving window */
	at1 = tot_of(h, domid);
	simhost_advance(h, 1900); /* stuck window */
	at2 = tot_of(h, domid);
	assert_true(at1 < 2 * GIB);
	assert_int_equal(at1, at2);
	simhost_free(h);
}

static void greedy_balloon_grows_to_maxmem_whatever_the_target(void **state)
{
	uint32_t domid;
	struct simhost *h = host_with(&domid, SIM_BALLOON_GREEDY, 1 * GIB, 3 * GIB, 2 * GIB);

	simhost_advance(h, 20000);
	assert_int_equal(tot_of(h, domid), 2 * GIB);
	simhost_free(h);
}

static void ballooning_fragments_and_check_still_holds(void **state)
{
	struct simhost *h = simhost_new(8 * GIB, 256 * MIB, 1 * GIB, 0);
	struct sim_domain_spec spec = {.memory_kib = 1 * GIB, .static_max_kib = 2 * GIB,
				       .maxmem_kib = 2 * GIB};
	unsigned seed = 7, i;
	uint32_t ids[4];
	uint64_t t = 0;
	char err[256];

	for (i = 0; i < 4; i++) {
		snprintf(spec.name, sizeof(spec.name), "g%u", i);
		spec.balloon.rate_kib_s = 1 * GIB;
		assert_int_equal(simhost_create(h, &spec, 0, &ids[i]), 0);
	}
	for (i = 0; i < 200; i++) {
		set_target(h, ids[rand_r(&seed) % 4], (uint64_t)(256 + rand_r(&seed) % 1792) * MIB);
		t += 100 + rand_r(&seed) % 2000;
		simhost_advance(h, t);
		if (simhost_check(h, err, sizeof(err)) != 0)
			fail_msg("round %u: %s", i, err);
	}
	simhost_free(h);
}

static void every_injected_fault_breaks_the_m2p_p2m_check(void **state)
{
	static const char *const classes[] = {"M2P_MISMATCH", "M2P_INVALID_FOR_MAPPED", "P2M_ALIAS",
					      "P2M_MFN_OUT_OF_RANGE", "P2M_UNOWNED_MFN",
					      "MFN_CROSS_CLAIM"};
	size_t i;

	for (i = 0; i < sizeof(classes) / sizeof(*classes); i++) {
		uint32_t domid;
		struct simhost *h = host_with(&domid, SIM_BALLOON_NORMAL, 1 * GIB, 1 * GIB, 0);
		uint64_t n, f, pfn, bad = 0;
		const uint64_t *m2p = simhost_m2p(h, &n), *p2m;
		char err[256];

		assert_int_equal(simhost_inject_fault(h, domid, classes[i], err, sizeof(err)), 0);
		p2m = simhost_p2m(h, domid, &n);
		/* count pfns whose M2P/owner disagree: exactly the fault */
		for (pfn = 0; pfn < n; pfn++) {
			uint64_t mfn = p2m[pfn];

			if (mfn == UINT64_MAX)
				continue;
			simhost_m2p(h, &f);
			if (mfn >= f || simhost_frame_owner(h, mfn) != domid || m2p[mfn] != pfn)
				bad++;
		}
		if (bad == 0)
			fail_msg("%s left no inconsistency", classes[i]);
		simhost_free(h);
	}
	{
		uint32_t domid;
		struct simhost *h = host_with(&domid, SIM_BALLOON_NORMAL, 1 * GIB, 1 * GIB, 0);
		char err[256];

		assert_int_equal(simhost_inject_fault(h, domid, "NO_SUCH_CLASS", err, sizeof(err)),
				 -EINVAL);
		simhost_free(h);
	}
}

static void agent_reports_demand_and_a_liar_lies(void **state)
{
	struct sim_demand_point dp[] = {{0, 600 * MIB}, {5000, 900 * MIB}};
	struct sim_domain_spec spec = {.name = "g", .memory_kib = 1 * GIB, .static_max_kib = 1 * GIB,
				       .demand = dp, .n_demand = 2};
	struct simhost *h = simhost_new(8 * GIB, 256 * MIB, 1 * GIB, 0);
	char buf[32];
	uint32_t domid;

	assert_int_equal(simhost_create(h, &spec, 0, &domid), 0);
	simhost_advance(h, 100);
	simxs_read(simhost_xs(h), 0, "/local/domain/1/data/meminfo_free", buf, sizeof(buf));
	assert_string_equal(buf, "434176"); /* 1G - 600M */
	simhost_advance(h, 6000);
	simxs_read(simhost_xs(h), 0, "/local/domain/1/data/meminfo_free", buf, sizeof(buf));
	assert_string_equal(buf, "126976"); /* 1G - 900M */
	spec.balloon.behavior = SIM_BALLOON_LIAR;
	snprintf(spec.name, sizeof(spec.name), "liar");
	assert_int_equal(simhost_create(h, &spec, 6000, &domid), 0);
	simhost_advance(h, 7000);
	simxs_read(simhost_xs(h), 0, "/local/domain/2/data/meminfo_free", buf, sizeof(buf));
	assert_string_not_equal(buf, "126976");
	simhost_free(h);
}

/* ---- scenarios ---- */

struct bad_scenario {
	const char *text;
	const char *must_say;
};

static void malformed_scenarios_are_refused_naming_the_member(void **state)
{
	static const struct bad_scenario cases[] = {
		{"{", "not valid JSON"},
		{"{}", "\"host\" is required"},
		{"{\"host\":{\"memory\":\"8X\"}}", "host.memory"},
		{"{\"host\":{\"memory\":\"8G\",\"cpu\":1}}", "host.cpu"},
		{"{\"host\":{\"memory\":\"8G\"},\"domains\":[{\"name\":\"a\"}]}", "memory"},
		{"{\"host\":{\"memory\":\"8G\"},\"domains\":[{\"name\":\"a\",\"memory\":\"2G\",\"static_max\":\"1G\"}]}",
		 "static_max"},
		{"{\"host\":{\"memory\":\"8G\"},\"domains\":[{\"name\":\"a\",\"memory\":\"1G\",\"balloon\":{\"behaviour\":\"x\"}}]}",
		 "domains[0].balloon.behaviour"},
		{"{\"host\":{\"memory\":\"8G\"},\"domains\":[{\"name\":\"a\",\"memory\":\"1G\",\"balloon\":{\"behavior\":\"sleepy\"}}]}",
		 "sleepy"},
		{"{\"host\":{\"memory\":\"8G\"},\"domains\":[{\"name\":\"a\",\"memory\":\"1G\"},{\"name\":\"a\",\"memory\":\"1G\"}]}",
		 "duplicate"},
		{"{\"host\":{\"memory\":\"8G\"},\"events\":[{\"at\":1,\"do\":\"destroy\",\"name\":\"ghost\"}]}",
		 "ghost"},
		{"{\"host\":{\"memory\":\"8G\"},\"events\":[{\"at\":-1,\"do\":\"pause\"}]}", "at"},
		{"{\"host\":{\"memory\":\"8G\"},\"events\":[{\"at\":1,\"do\":\"explode\"}]}", "explode"},
		{"{\"host\":{\"memory\":\"8G\"},\"expect\":{\"invariants\":\"yes\"}}", "expect.invariants"},
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		struct scenario s;
		char err[512];

		if (scenario_parse_string(cases[i].text, "t.json", &s, err, sizeof(err)) == 0)
			fail_msg("accepted: %s", cases[i].text);
		if (!strstr(err, cases[i].must_say))
			fail_msg("error for %s does not say \"%s\": %s", cases[i].text,
				 cases[i].must_say, err);
	}
}

static void shipped_scenarios_parse_and_build(void **state)
{
	static const char *const files[] = {"conf/demo.json", "tests/e2e/basic.json",
					    "tests/scenarios/lifecycle.json"};
	const char *top = getenv("top_srcdir");
	size_t i;

	for (i = 0; i < sizeof(files) / sizeof(*files); i++) {
		struct scenario s;
		struct simhost *h;
		struct conf c;
		char path[512], err[512];

		snprintf(path, sizeof(path), "%s/%s", top ? top : ".", files[i]);
		if (scenario_parse_file(path, &s, err, sizeof(err)) != 0)
			fail_msg("%s", err);
		conf_init(&c);
		assert_int_equal(scenario_apply_config(&s, &c, err, sizeof(err)), 0);
		h = scenario_build_host(&s, 0, err, sizeof(err));
		if (!h)
			fail_msg("%s: %s", path, err);
		assert_int_equal(simhost_check(h, err, sizeof(err)), 0);
		simhost_free(h);
		conf_free(&c);
		scenario_free(&s);
	}
}

static void scenario_events_are_sorted_stably(void **state)
{
	const char *text = "{\"host\":{\"memory\":\"8G\"},\"events\":["
			   "{\"at\":5,\"do\":\"resume\"},{\"at\":1,\"do\":\"pause\"},"
			   "{\"at\":5,\"do\":\"restart\"}]}";
	struct scenario s;
	char err[256];

	assert_int_equal(scenario_parse_string(text, "t", &s, err, sizeof(err)), 0);
	assert_int_equal(s.n_events, 3);
	assert_int_equal(s.events[0].action, SCN_PAUSE);
	assert_int_equal(s.events[1].action, SCN_RESUME);
	assert_int_equal(s.events[2].action, SCN_RESTART);
	scenario_free(&s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(xs_guest_may_write_data_but_not_its_target),
		cmocka_unit_test(xs_rejects_bad_paths_and_oversized_values),
		cmocka_unit_test(xs_watch_fires_on_registration_and_for_children_with_its_token),
		cmocka_unit_test(xs_counts_dom0_writes_that_change_nothing),
		cmocka_unit_test(xs_directory_and_recursive_rm),
		cmocka_unit_test(host_builds_like_libxl_and_conserves_frames),
		cmocka_unit_test(balloon_follows_target_at_its_rate),
		cmocka_unit_test(one_long_advance_equals_many_short_ones),
		cmocka_unit_test(maxmem_blocks_growth_and_driver_gives_up_until_target_changes),
		cmocka_unit_test(each_behavior_moves_as_specified),
		cmocka_unit_test(intermittent_balloon_pauses_between_periods),
		cmocka_unit_test(greedy_balloon_grows_to_maxmem_whatever_the_target),
		cmocka_unit_test(ballooning_fragments_and_check_still_holds),
		cmocka_unit_test(every_injected_fault_breaks_the_m2p_p2m_check),
		cmocka_unit_test(agent_reports_demand_and_a_liar_lies),
		cmocka_unit_test(malformed_scenarios_are_refused_naming_the_member),
		cmocka_unit_test(shipped_scenarios_parse_and_build),
		cmocka_unit_test(scenario_events_are_sorted_stably),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
