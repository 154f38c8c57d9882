/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Unit tests for the in-process XenStore (sim/simxs.c): permissions as a
 * real dom0/guest split has them, path and size limits, watches with their
 * tokens (registration, subtree, removal, special names), the bounded event
 * queue, statistics, and behaviour at the scale of thousands of domains. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "simxs.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

static int setup(void **state)
{
	*state = simxs_new();
	return *state ? 0 : -1;
}

static int teardown(void **state)
{
	simxs_free(*state);
	return 0;
}

/* Pop one event and compare it; fails the test when none is pending. */
static void expect_event(struct simxs *xs, const char *path, const char *token)
{
	char p[SIMXS_PATH_MAX], t[64];

	assert_true(simxs_next_event(xs, p, sizeof(p), t, sizeof(t)));
	assert_string_equal(p, path);
	assert_string_equal(t, token);
}

static void drain(struct simxs *xs)
{
	char p[SIMXS_PATH_MAX], t[64];

	while (simxs_next_event(xs, p, sizeof(p), t, sizeof(t)))
		;
}

static void write_permissions_follow_the_caller(void **state)
{
	static const struct {
		uint32_t caller;
		const char *path;
		int want;
	} cases[] = {
		{0, "/local/domain/3/memory/target", 0},
		{0, "/anything/at/all", 0},
		{3, "/local/domain/3/memory/target", -EACCES},
		{3, "/local/domain/3/memory/static-max", -EACCES},
		{3, "/local/domain/3/name", -EACCES},
		{3, "/local/domain/3/data", -EACCES},
		{3, "/local/domain/3/data/meminfo_free", 0},
		{3, "/local/domain/3/data/deep/key", 0},
		{3, "/local/domain/3/memory/meminfo", 0},
		{3, "/local/domain/3/memory/meminfo2", -EACCES},
		{3, "/local/domain/4/data/x", -EACCES},
		{3, "/local/domain/33/data/x", -EACCES},
		{33, "/local/domain/3/data/x", -EACCES},
		{3, "/tool/balloond/x", -EACCES},
	};
	struct simxs *xs = *state;
	struct simxs_stats st;
	uint64_t denied = 0;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		int r = simxs_write(xs, cases[i].caller, cases[i].path, "1");

		if (r != cases[i].want)
			fail_msg("write %s as %u: got %d, want %d", cases[i].path, cases[i].caller,
				 r, cases[i].want);
		denied += cases[i].want == -EACCES;
	}
	simxs_get_stats(xs, &st);
	assert_int_equal(st.denied, denied);
}

static void guest_cannot_change_its_target(void **state)
{
	struct simxs *xs = *state;
	char buf[32];

	assert_int_equal(simxs_write(xs, 0, "/local/domain/5/memory/target", "1048576"), 0);
	assert_int_equal(simxs_write(xs, 5, "/local/domain/5/memory/target", "99999999"), -EACCES);
	assert_int_equal(simxs_read(xs, 5, "/local/domain/5/memory/target", buf, sizeof(buf)), 7);
	assert_string_equal(buf, "1048576");
}

static void read_permissions_follow_the_caller(void **state)
{
	static const struct {
		uint32_t caller;
		const char *path;
		int want;
	} cases[] = {
		{0, "/local/domain/3/memory/target", 4},
		{3, "/local/domain/3/memory/target", 4},
		{3, "/local/domain/3", 0},
		{4, "/local/domain/3/memory/target", -EACCES},
		{3, "/local/domain/33/memory/target", -EACCES},
		{3, "/tool/x", -EACCES},
		{3, "/local/domain/3/nothing", -ENOENT},
		{0, "/nothing", -ENOENT},
		{0, "bad", -EINVAL},
	};
	struct simxs *xs = *state;
	char buf[64];
	size_t i;

	assert_int_equal(simxs_write(xs, 0, "/local/domain/3/memory/target", "1024"), 0);
	assert_int_equal(simxs_write(xs, 0, "/local/domain/33/memory/target", "1024"), 0);
	assert_int_equal(simxs_write(xs, 0, "/tool/x", "1"), 0);
	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		int r = simxs_read(xs, cases[i].caller, cases[i].path, buf, sizeof(buf));

		if (r != cases[i].want)
			fail_msg("read %s as %u: got %d, want %d", cases[i].path, cases[i].caller,
				 r, cases[i].want);
	}
}

static void paths_are_validated(void **state)
{
	static const char *const bad[] = {
		"", "relative", "/a//b", "/a/b/", "//", "/a b", "/a\tb", "/a/b*", "/é", "/a:b",
	};
	static const char *const good[] = {"/a", "/a/b", "/A-Z_a.z@0-9", "/local/domain/0/data/x"};
	struct simxs *xs = *state;
	char *longp = malloc(SIMXS_PATH_MAX + 2), buf[8];
	size_t i;

	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		if (simxs_write(xs, 0, bad[i], "1") != -EINVAL)
			fail_msg("write accepted bad path \"%s\"", bad[i]);
		if (simxs_read(xs, 0, bad[i], buf, sizeof(buf)) != -EINVAL)
			fail_msg("read accepted bad path \"%s\"", bad[i]);
	}
	for (i = 0; i < ARRAY_SIZE(good); i++)
		assert_int_equal(simxs_write(xs, 0, good[i], "1"), 0);
	assert_int_equal(simxs_write(xs, 0, "/", "1"), -EINVAL);
	assert_int_equal(simxs_rm(xs, 0, "/"), -EINVAL);
	/* a path of SIMXS_PATH_MAX characters is too long, one less is fine */
	longp[0] = '/';
	memset(longp + 1, 'a', SIMXS_PATH_MAX);
	longp[SIMXS_PATH_MAX] = '\0';
	assert_int_equal(simxs_write(xs, 0, longp, "1"), -EINVAL);
	longp[SIMXS_PATH_MAX - 1] = '\0';
	assert_int_equal(simxs_write(xs, 0, longp, "1"), 0);
	free(longp);
}

static void values_are_bounded_and_reads_never_truncate(void **state)
{
	struct simxs *xs = *state;
	char *big = malloc(SIMXS_VALUE_MAX + 2), *back = malloc(SIMXS_VALUE_MAX + 1);
	char small[4];

	memset(big, 'v', SIMXS_VALUE_MAX + 1);
	big[SIMXS_VALUE_MAX + 1] = '\0';
	assert_int_equal(simxs_write(xs, 0, "/v", big), -E2BIG);
	big[SIMXS_VALUE_MAX] = '\0';
	assert_int_equal(simxs_write(xs, 0, "/v", big), 0);
	assert_int_equal(simxs_read(xs, 0, "/v", back, SIMXS_VALUE_MAX + 1), SIMXS_VALUE_MAX);
	assert_memory_equal(back, big, SIMXS_VALUE_MAX + 1);
	/* a too small buffer gets nothing, not a prefix */
	assert_int_equal(simxs_write(xs, 0, "/w", "1234"), 0);
	memcpy(small, "zzz", 4);
	assert_int_equal(simxs_read(xs, 0, "/w", small, sizeof(small)), -E2BIG);
	assert_string_equal(small, "zzz");
	assert_int_equal(simxs_write(xs, 0, "/w", "123"), 0);
	assert_int_equal(simxs_read(xs, 0, "/w", small, sizeof(small)), 3);
	assert_string_equal(small, "123");
	assert_int_equal(simxs_write(xs, 0, "/e", ""), 0);
	assert_int_equal(simxs_read(xs, 0, "/e", small, 1), 0);
	free(big);
	free(back);
}

static void write_creates_parents_and_directory_lists_children_in_order(void **state)
{
	struct simxs *xs = *state;
	char **v = NULL, buf[8];

	assert_int_equal(simxs_write(xs, 0, "/local/domain/7/memory/target", "5"), 0);
	assert_int_equal(simxs_write(xs, 0, "/local/domain/7/name", "g"), 0);
	assert_int_equal(simxs_write(xs, 0, "/local/domain/7/data", ""), 0);
	assert_int_equal(simxs_read(xs, 0, "/local/domain/7/memory", buf, sizeof(buf)), 0);
	assert_int_equal(simxs_directory(xs, 0, "/local/domain/7", &v), 3);
	assert_string_equal(v[0], "memory");
	assert_string_equal(v[1], "name");
	assert_string_equal(v[2], "data");
	assert_null(v[3]);
	simxs_strv_free(v);
	assert_int_equal(simxs_directory(xs, 0, "/local/domain/7/name", &v), 0);
	assert_null(v[0]);
	simxs_strv_free(v);
	assert_int_equal(simxs_directory(xs, 0, "/local/domain/8", &v), -ENOENT);
	assert_int_equal(simxs_directory(xs, 8, "/local/domain/7", &v), -EACCES);
	/* removal unlinks the child from its parent's list */
	assert_int_equal(simxs_rm(xs, 0, "/local/domain/7/name"), 0);
	assert_int_equal(simxs_directory(xs, 0, "/local/domain/7", &v), 2);
	assert_string_equal(v[0], "memory");
	assert_string_equal(v[1], "data");
	simxs_strv_free(v);
}

static void rm_removes_the_subtree_and_is_dom0_only(void **state)
{
	struct simxs *xs = *state;
	size_t before = simxs_node_count(xs);
	char buf[8];

	assert_int_equal(simxs_write(xs, 0, "/local/domain/9/memory/target", "1"), 0);
	assert_int_equal(simxs_write(xs, 0, "/local/domain/9/data/a", "1"), 0);
	assert_int_equal(simxs_rm(xs, 9, "/local/domain/9/data/a"), -EACCES);
	assert_int_equal(simxs_rm(xs, 0, "/local/domain/9"), 0);
	assert_int_equal(simxs_read(xs, 0, "/local/domain/9/memory/target", buf, sizeof(buf)),
			 -ENOENT);
	assert_int_equal(simxs_read(xs, 0, "/local/domain/9", buf, sizeof(buf)), -ENOENT);
	assert_int_equal(simxs_rm(xs, 0, "/local/domain/9"), -ENOENT);
	/* "/local" and "/local/domain" stay */
	assert_int_equal(simxs_node_count(xs), before + 2);
}

static void watch_registration_fires_once_with_its_token(void **state)
{
	struct simxs *xs = *state;

	assert_int_equal(simxs_watch(xs, "/local/domain", "doms"), 0);
	assert_int_equal(simxs_watch(xs, "/local/domain", "doms"), -EEXIST);
	assert_int_equal(simxs_watch(xs, "/local/domain", "other"), 0);
	assert_int_equal(simxs_pending_events(xs), 2);
	expect_event(xs, "/local/domain", "doms");
	expect_event(xs, "/local/domain", "other");
	assert_false(simxs_next_event(xs, NULL, 0, NULL, 0));
	assert_int_equal(simxs_watch(xs, "bad//", "x"), -EINVAL);
	assert_int_equal(simxs_watch(xs, "@", "x"), -EINVAL);
}

static void watch_fires_for_its_subtree_only(void **state)
{
	static const struct {
		const char *path;
		bool fires;
	} cases[] = {
		{"/local/domain", true},
		{"/local/domain/1", true},
		{"/local/domain/1/memory/target", true},
		{"/local/domainx", false},
		{"/local/domainx/1", false},
		{"/local/dom", false},
		{"/local", false},
		{"/elsewhere", false},
	};
	struct simxs *xs = *state;
	size_t i;

	assert_int_equal(simxs_watch(xs, "/local/domain", "tok"), 0);
	drain(xs);
	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		char val[16];

		snprintf(val, sizeof(val), "v%zu", i);
		assert_int_equal(simxs_write(xs, 0, cases[i].path, val), 0);
		if (cases[i].fires) {
			expect_event(xs, cases[i].path, "tok");
		}
		if (simxs_pending_events(xs) != 0)
			fail_msg("write to %s: %zu unexpected events", cases[i].path,
				 simxs_pending_events(xs));
	}
}

static void unchanged_value_fires_nothing_but_counts_as_a_noop(void **state)
{
	struct simxs *xs = *state;
	struct simxs_stats st;
	uint64_t gen;

	assert_int_equal(simxs_write(xs, 0, "/local/domain/1/memory/target", "100"), 0);
	assert_int_equal(simxs_watch(xs, "/local/domain/1", "t"), 0);
	drain(xs);
	gen = simxs_generation(xs);
	assert_int_equal(simxs_write(xs, 0, "/local/domain/1/memory/target", "100"), 0);
	assert_int_equal(simxs_pending_events(xs), 0);
	assert_int_equal(simxs_generation(xs), gen);
	simxs_get_stats(xs, &st);
	assert_int_equal(st.dom0_noop_writes, 1);
	assert_int_equal(st.dom0_writes, 2);
	assert_int_equal(st.writes, 2);
	assert_int_equal(simxs_write(xs, 0, "/local/domain/1/memory/target", "101"), 0);
	expect_event(xs, "/local/domain/1/memory/target", "t");
	assert_int_equal(simxs_generation(xs), gen + 1);
	/* a guest rewriting its own value is not a dom0 no-op */
	assert_int_equal(simxs_write(xs, 1, "/local/domain/1/data/x", "1"), 0);
	assert_int_equal(simxs_write(xs, 1, "/local/domain/1/data/x", "1"), 0);
	simxs_get_stats(xs, &st);
	assert_int_equal(st.dom0_noop_writes, 1);
	assert_int_equal(st.guest_writes, 2);
}

static void rm_fires_for_the_node_its_ancestors_and_watches_below_it(void **state)
{
	struct simxs *xs = *state;

	assert_int_equal(simxs_write(xs, 0, "/local/domain/4/memory/target", "1"), 0);
	assert_int_equal(simxs_write(xs, 0, "/local/domain/4/name", "x"), 0);
	assert_int_equal(simxs_watch(xs, "/local/domain", "above"), 0);
	assert_int_equal(simxs_watch(xs, "/local/domain/4/memory/target", "below"), 0);
	assert_int_equal(simxs_watch(xs, "/local/domain/4/nosuchnode", "absent"), 0);
	assert_int_equal(simxs_watch(xs, "/local/domain/5", "sibling"), 0);
	drain(xs);
	assert_int_equal(simxs_rm(xs, 0, "/local/domain/4"), 0);
	expect_event(xs, "/local/domain/4", "above");
	expect_event(xs, "/local/domain/4/memory/target", "below");
	assert_int_equal(simxs_pending_events(xs), 0);
}

static void unwatch_stops_events(void **state)
{
	struct simxs *xs = *state;

	assert_int_equal(simxs_watch(xs, "/a", "t1"), 0);
	assert_int_equal(simxs_watch(xs, "/a", "t2"), 0);
	drain(xs);
	assert_int_equal(simxs_unwatch(xs, "/a", "t1"), 0);
	assert_int_equal(simxs_unwatch(xs, "/a", "t1"), -ENOENT);
	assert_int_equal(simxs_unwatch(xs, "/b", "t2"), -ENOENT);
	assert_int_equal(simxs_write(xs, 0, "/a/x", "1"), 0);
	expect_event(xs, "/a/x", "t2");
	assert_int_equal(simxs_pending_events(xs), 0);
}

static void events_come_in_registration_order_and_root_sees_all(void **state)
{
	struct simxs *xs = *state;

	assert_int_equal(simxs_watch(xs, "/a/b", "deep"), 0);
	assert_int_equal(simxs_watch(xs, "/", "root"), 0);
	assert_int_equal(simxs_watch(xs, "/a", "mid"), 0);
	drain(xs);
	assert_int_equal(simxs_write(xs, 0, "/a/b/c", "1"), 0);
	expect_event(xs, "/a/b/c", "deep");
	expect_event(xs, "/a/b/c", "root");
	expect_event(xs, "/a/b/c", "mid");
	assert_int_equal(simxs_write(xs, 0, "/z", "1"), 0);
	expect_event(xs, "/z", "root");
	assert_int_equal(simxs_pending_events(xs), 0);
}

static void special_watches_fire_only_when_fired(void **state)
{
	struct simxs *xs = *state;

	simxs_fire_special(xs, "@introduceDomain");
	assert_int_equal(simxs_pending_events(xs), 0);
	assert_int_equal(simxs_watch(xs, "@introduceDomain", "intro"), 0);
	assert_int_equal(simxs_watch(xs, "@releaseDomain", "rel"), 0);
	expect_event(xs, "@introduceDomain", "intro");
	expect_event(xs, "@releaseDomain", "rel");
	assert_int_equal(simxs_write(xs, 0, "/local/domain/1/name", "x"), 0);
	assert_int_equal(simxs_pending_events(xs), 0);
	simxs_fire_special(xs, "@releaseDomain");
	expect_event(xs, "@releaseDomain", "rel");
	simxs_fire_special(xs, "@introduceDomain");
	expect_event(xs, "@introduceDomain", "intro");
	assert_int_equal(simxs_pending_events(xs), 0);
}

static void a_full_queue_drops_the_oldest_and_counts_it(void **state)
{
	struct simxs *xs = *state;
	struct simxs_stats st;
	char path[32], p[64], t[16];
	size_t i, n = 65536 + 10;

	assert_int_equal(simxs_watch(xs, "/q", "t"), 0);
	drain(xs);
	for (i = 0; i < n; i++) {
		snprintf(path, sizeof(path), "/q/%zu", i);
		assert_int_equal(simxs_write(xs, 0, path, "1"), 0);
	}
	assert_int_equal(simxs_pending_events(xs), 65536);
	simxs_get_stats(xs, &st);
	assert_int_equal(st.events_dropped, 10);
	assert_true(simxs_next_event(xs, p, sizeof(p), t, sizeof(t)));
	assert_string_equal(p, "/q/10");
	/* truncation into small buffers never overflows */
	assert_true(simxs_next_event(xs, p, 3, t, 1));
	assert_string_equal(p, "/q");
	assert_string_equal(t, "");
}

static void generation_counts_changes_only(void **state)
{
	struct simxs *xs = *state;
	uint64_t g0 = simxs_generation(xs);

	assert_int_equal(simxs_write(xs, 0, "/g", "1"), 0);
	assert_int_equal(simxs_write(xs, 0, "/g", "1"), 0);
	assert_int_equal(simxs_write(xs, 3, "/local/domain/4/data/x", "1"), -EACCES);
	assert_int_equal(simxs_generation(xs), g0 + 1);
	assert_int_equal(simxs_rm(xs, 0, "/g"), 0);
	assert_int_equal(simxs_rm(xs, 0, "/g"), -ENOENT);
	assert_int_equal(simxs_generation(xs), g0 + 2);
}

/* Thousands of domains with twenty keys each: every key reads back, and
 * removing one domain removes exactly its keys. */
static void thousands_of_domains_stay_consistent(void **state)
{
	enum { NDOM = 4000, NKEY = 20 };
	struct simxs *xs = *state;
	char path[96], val[32], buf[32];
	size_t base = simxs_node_count(xs), i, k;
	char **v;

	for (i = 0; i < NDOM; i++)
		for (k = 0; k < NKEY; k++) {
			snprintf(path, sizeof(path), "/local/domain/%zu/memory/key%zu", i + 1, k);
			snprintf(val, sizeof(val), "%zu", i * 100 + k);
			assert_int_equal(simxs_write(xs, 0, path, val), 0);
		}
	/* "/local", "/local/domain", and per domain: N, N/memory, 20 keys */
	assert_int_equal(simxs_node_count(xs), base + 2 + NDOM * (NKEY + 2));
	for (i = 0; i < NDOM; i += 7)
		for (k = 0; k < NKEY; k++) {
			snprintf(path, sizeof(path), "/local/domain/%zu/memory/key%zu", i + 1, k);
			snprintf(val, sizeof(val), "%zu", i * 100 + k);
			assert_int_equal(simxs_read(xs, (uint32_t)(i + 1), path, buf, sizeof(buf)),
					 (int)strlen(val));
			assert_string_equal(buf, val);
		}
	assert_int_equal(simxs_directory(xs, 0, "/local/domain", &v), NDOM);
	simxs_strv_free(v);
	assert_int_equal(simxs_rm(xs, 0, "/local/domain/2000"), 0);
	assert_int_equal(simxs_node_count(xs), base + 2 + (NDOM - 1) * (NKEY + 2));
	assert_int_equal(simxs_read(xs, 0, "/local/domain/2001/memory/key3", buf, sizeof(buf)), 6);
	assert_string_equal(buf, "200003");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(write_permissions_follow_the_caller, setup,
						teardown),
		cmocka_unit_test_setup_teardown(guest_cannot_change_its_target, setup, teardown),
		cmocka_unit_test_setup_teardown(read_permissions_follow_the_caller, setup,
						teardown),
		cmocka_unit_test_setup_teardown(paths_are_validated, setup, teardown),
		cmocka_unit_test_setup_teardown(values_are_bounded_and_reads_never_truncate, setup,
						teardown),
		cmocka_unit_test_setup_teardown(
			write_creates_parents_and_directory_lists_children_in_order, setup,
			teardown),
		cmocka_unit_test_setup_teardown(rm_removes_the_subtree_and_is_dom0_only, setup,
						teardown),
		cmocka_unit_test_setup_teardown(watch_registration_fires_once_with_its_token, setup,
						teardown),
		cmocka_unit_test_setup_teardown(watch_fires_for_its_subtree_only, setup, teardown),
		cmocka_unit_test_setup_teardown(unchanged_value_fires_nothing_but_counts_as_a_noop,
						setup, teardown),
		cmocka_unit_test_setup_teardown(
			rm_fires_for_the_node_its_ancestors_and_watches_below_it, setup, teardown),
		cmocka_unit_test_setup_teardown(unwatch_stops_events, setup, teardown),
		cmocka_unit_test_setup_teardown(events_come_in_registration_order_and_root_sees_all,
						setup, teardown),
		cmocka_unit_test_setup_teardown(special_watches_fire_only_when_fired, setup,
						teardown),
		cmocka_unit_test_setup_teardown(a_full_queue_drops_the_oldest_and_counts_it, setup,
						teardown),
		cmocka_unit_test_setup_teardown(generation_counts_changes_only, setup, teardown),
		cmocka_unit_test_setup_teardown(thousands_of_domains_stay_consistent, setup,
						teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
