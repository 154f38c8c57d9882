/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Unit tests for the scenario generator (sim/scengen.c): a seed always
 * gives the same text; every generated scenario parses, applies its config
 * and (for small hosts) builds; over a few hundred seeds every behaviour,
 * type, event kind and host shape appears; what the info says holds in the
 * text (cooperative hosts, exclusions, quiet time); hostile XenStore writes
 * never repeat a value; the standard kind is plain. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"
#include "scenario.h"
#include "scengen.h"
#include "simhost.h"

#define GIB (UINT64_C(1024) * 1024)
#define SEEDS 300

static char *generate(uint64_t seed, const struct scengen_opts *o, struct scengen_info *info)
{
	char *text = NULL;

	assert_int_equal(scengen_generate(seed, o, &text, info), 0);
	assert_non_null(text);
	return text;
}

static void parse(const char *text, struct scenario *s)
{
	char err[512] = "";

	if (scenario_parse_string(text, "gen.json", s, err, sizeof(err)) != 0)
		fail_msg("generated scenario does not parse: %s", err);
}

static void same_seed_gives_the_same_text(void **state)
{
	struct scengen_opts o;
	char *a, *b, *c;

	(void)state;
	scengen_opts_init(&o);
	a = generate(42, &o, NULL);
	b = generate(42, &o, NULL);
	c = generate(43, &o, NULL);
	assert_string_equal(a, b);
	assert_true(strcmp(a, c) != 0);
	free(a);
	free(b);
	free(c);
}

static void every_scenario_parses_and_applies_its_config(void **state)
{
	struct scengen_opts o;
	uint64_t seed;

	(void)state;
	scengen_opts_init(&o);
	for (seed = 1; seed <= SEEDS; seed++) {
		struct scengen_info info;
		struct scenario s = {0};
		struct conf c;
		char err[512] = "";
		char *text = generate(seed, &o, &info);

		parse(text, &s);
		conf_init(&c);
		if (scenario_apply_config(&s, &c, err, sizeof(err)) != 0)
			fail_msg("seed %llu: config refused: %s", (unsigned long long)seed, err);
		assert_int_equal(s.host_memory_kib, info.host_kib);
		assert_int_equal(s.n_domains, info.guests);
		assert_int_equal(s.n_events, info.events);
		assert_int_equal(s.until_ms, info.until_ms);
		assert_true(info.guests >= 1 && info.guests <= 60);
		assert_true(info.host_kib >= 4 * GIB && info.host_kib <= 256 * GIB);
		assert_true(info.until_ms >= info.quiet_ms + info.settle_ms);
		conf_free(&c);
		scenario_free(&s);
		free(text);
	}
}

static void small_hosts_build(void **state)
{
	struct scengen_opts o;
	uint64_t seed;

	(void)state;
	scengen_opts_init(&o);
	o.max_host_kib = 6 * GIB;
	for (seed = 1; seed <= 20; seed++) {
		struct scenario s = {0};
		struct simhost *h;
		char err[512] = "";
		char *text = generate(seed, &o, NULL);

		parse(text, &s);
		h = scenario_build_host(&s, 0, err, sizeof(err));
		if (!h)
			fail_msg("seed %llu: host does not build: %s", (unsigned long long)seed,
				 err);
		simhost_free(h);
		scenario_free(&s);
		free(text);
	}
}

struct coverage {
	bool behavior[SIM_BALLOON_LIAR + 1];
	bool type[3], width32, action[SCN_DOMAIN_UNPAUSE + 1];
	bool tight, roomy, keep_free, distribute, cooperative, mixed, frozen, excluded, offset;
	bool demand, weight, small_host, large_host, one_guest, many_guests;
};

static void cover_spec(struct coverage *cv, const struct sim_domain_spec *d)
{
	cv->behavior[d->balloon.behavior] = true;
	cv->type[d->type] = true;
	cv->width32 |= d->width == 32;
	cv->offset |= d->balloon.offset_kib != 0;
	cv->demand |= d->n_demand > 0;
	cv->weight |= d->weight != 0;
}

static void every_feature_appears_over_the_seeds(void **state)
{
	struct scengen_opts o;
	struct coverage cv = {0};
	uint64_t seed;
	size_t i;

	(void)state;
	scengen_opts_init(&o);
	for (seed = 1; seed <= SEEDS; seed++) {
		struct scengen_info info;
		struct scenario s = {0};
		char *text = generate(seed, &o, &info);

		parse(text, &s);
		for (i = 0; i < s.n_domains; i++)
			cover_spec(&cv, &s.domains[i]);
		for (i = 0; i < s.n_events; i++) {
			cv.action[s.events[i].action] = true;
			if (s.events[i].action == SCN_CREATE)
				cover_spec(&cv, &s.events[i].domain);
		}
		for (i = 0; i < s.n_config; i++) {
			cv.frozen |= strcmp(s.config[i].value, "frozen") == 0;
			cv.excluded |= strcmp(s.config[i].value, "excluded") == 0;
		}
		cv.tight |= info.tight;
		cv.roomy |= !info.tight;
		cv.keep_free |= info.keep_free;
		cv.distribute |= !info.keep_free;
		cv.cooperative |= info.cooperative;
		cv.mixed |= !info.cooperative;
		cv.small_host |= info.host_kib <= 8 * GIB;
		cv.large_host |= info.host_kib >= 64 * GIB;
		cv.one_guest |= info.guests <= 2;
		cv.many_guests |= info.guests >= 50;
		scenario_free(&s);
		free(text);
	}
	for (i = 0; i <= SIM_BALLOON_LIAR; i++)
		if (!cv.behavior[i])
			fail_msg("no %s balloon in %d seeds",
				 sim_behavior_name((enum sim_behavior)i), SEEDS);
	assert_true(cv.type[SIM_PV] && cv.type[SIM_PVH] && cv.type[SIM_HVM] && cv.width32);
	for (i = 0; i <= SCN_DOMAIN_UNPAUSE; i++)
		if (!cv.action[i] && i != SCN_CORRUPT)
			fail_msg("no event of kind %zu in %d seeds", i, SEEDS);
	assert_false(cv.action[SCN_CORRUPT]); /* audit faults belong to their own scenarios */
	assert_true(cv.tight && cv.roomy && cv.keep_free && cv.distribute);
	assert_true(cv.cooperative && cv.mixed && cv.frozen && cv.excluded && cv.offset);
	assert_true(cv.demand && cv.weight && cv.small_host && cv.large_host);
	assert_true(cv.one_guest && cv.many_guests);
}

static bool cooperative_behavior(enum sim_behavior b)
{
	return b == SIM_BALLOON_NORMAL || b == SIM_BALLOON_SLOW || b == SIM_BALLOON_LIAR;
}

static void cooperative_hosts_have_only_cooperative_balloons(void **state)
{
	struct scengen_opts o;
	uint64_t seed;
	unsigned n = 0;
	size_t i;

	(void)state;
	scengen_opts_init(&o);
	for (seed = 1; seed <= SEEDS; seed++) {
		struct scengen_info info;
		struct scenario s = {0};
		char *text = generate(seed, &o, &info);

		parse(text, &s);
		for (i = 0; info.cooperative && i < s.n_domains; i++) {
			assert_true(cooperative_behavior(s.domains[i].balloon.behavior));
			assert_int_equal(s.domains[i].balloon.offset_kib, 0);
		}
		for (i = 0; info.cooperative && i < s.n_events; i++)
			if (s.events[i].action == SCN_CREATE)
				assert_true(
					cooperative_behavior(s.events[i].domain.balloon.behavior));
		n += info.cooperative;
		scenario_free(&s);
		free(text);
	}
	assert_true(n > SEEDS / 4 && n < SEEDS * 3 / 4);
}

static bool all_digits(const char *s)
{
	return s[0] && strspn(s, "0123456789") == strlen(s);
}

static void exclusions_leave_their_part_out(void **state)
{
	struct scengen_opts o;
	uint64_t seed;
	unsigned xs_writes = 0;
	size_t i;

	(void)state;
	scengen_opts_init(&o);
	o.exclude = SCENGEN_NO_OFFSETS | SCENGEN_NO_BOUND_WRITES | SCENGEN_NO_PINS;
	for (seed = 1; seed <= SEEDS; seed++) {
		struct scenario s = {0};
		char *text = generate(seed, &o, NULL);

		parse(text, &s);
		for (i = 0; i < s.n_domains; i++)
			assert_int_equal(s.domains[i].balloon.offset_kib, 0);
		for (i = 0; i < s.n_events; i++) {
			const struct scenario_event *e = &s.events[i];

			assert_int_not_equal(e->action, SCN_SET_TARGET);
			if (e->action == SCN_CREATE)
				assert_int_equal(e->domain.balloon.offset_kib, 0);
			if (e->action != SCN_XS_WRITE)
				continue;
			xs_writes++;
			assert_null(strstr(e->key, "dynamic-"));
			if (strcmp(e->key, "memory/target") == 0 && all_digits(e->value))
				fail_msg("seed %llu: a numeric target \"%s\" is a pin",
					 (unsigned long long)seed, e->value);
		}
		scenario_free(&s);
		free(text);
	}
	assert_true(xs_writes > SEEDS);
}

static void xs_writes_never_repeat_a_value(void **state)
{
	struct scengen_opts o;
	uint64_t seed;
	size_t i, j;

	(void)state;
	scengen_opts_init(&o);
	for (seed = 1; seed <= SEEDS; seed++) {
		struct scenario s = {0};
		char *text = generate(seed, &o, NULL);

		parse(text, &s);
		for (i = 0; i < s.n_events; i++) {
			const struct scenario_event *e = &s.events[i];

			if (e->action != SCN_XS_WRITE)
				continue;
			/* the guest agent writes "0" into data/ keys itself */
			if (strncmp(e->key, "data/", 5) == 0)
				assert_string_not_equal(e->value, "0");
			for (j = i + 1; j < s.n_events; j++) {
				const struct scenario_event *f = &s.events[j];

				if (f->action == SCN_XS_WRITE && strcmp(f->name, e->name) == 0 &&
				    strcmp(f->key, e->key) == 0) {
					assert_string_not_equal(f->value, e->value);
					break;
				}
			}
		}
		scenario_free(&s);
		free(text);
	}
}

static void events_come_before_the_quiet_time_at_distinct_times(void **state)
{
	struct scengen_opts o;
	uint64_t seed;
	size_t i, j;

	(void)state;
	scengen_opts_init(&o);
	for (seed = 1; seed <= SEEDS; seed++) {
		struct scengen_info info;
		struct scenario s = {0};
		char *text = generate(seed, &o, &info);

		parse(text, &s);
		for (i = 0; i < s.n_events; i++) {
			assert_true(s.events[i].at_ms <= info.quiet_ms);
			if (i)
				assert_true(s.events[i].at_ms > s.events[i - 1].at_ms);
		}
		for (i = 0; i < s.n_domains; i++)
			for (j = 0; j < s.domains[i].n_demand; j++)
				assert_true(s.domains[i].demand[j].at_ms <= info.quiet_ms);
		scenario_free(&s);
		free(text);
	}
}

static void standard_kind_is_plain(void **state)
{
	struct scengen_opts o;
	struct scengen_info info;
	struct scenario s = {0};
	char *text;
	size_t i;

	(void)state;
	scengen_opts_init(&o);
	o.kind = SCENGEN_STANDARD;
	o.min_guests = o.max_guests = 100;
	o.min_host_kib = o.max_host_kib = 64 * GIB;
	text = generate(7, &o, &info);
	parse(text, &s);
	assert_int_equal(s.n_domains, 100);
	assert_int_equal(s.host_memory_kib, 64 * GIB);
	assert_int_equal(s.n_events, 0);
	assert_true(info.cooperative);
	for (i = 0; i < s.n_domains; i++) {
		assert_int_equal(s.domains[i].balloon.behavior, SIM_BALLOON_NORMAL);
		assert_true(s.domains[i].n_demand > 0);
	}
	scenario_free(&s);
	free(text);
}

static void bad_options_are_refused(void **state)
{
	struct scengen_opts o;
	char *text = NULL;

	(void)state;
	scengen_opts_init(&o);
	o.min_guests = 5;
	o.max_guests = 4;
	assert_int_equal(scengen_generate(1, &o, &text, NULL), -EINVAL);
	scengen_opts_init(&o);
	o.max_guests = 100000;
	assert_int_equal(scengen_generate(1, &o, &text, NULL), -EINVAL);
	scengen_opts_init(&o);
	o.min_host_kib = GIB;
	assert_int_equal(scengen_generate(1, &o, &text, NULL), -EINVAL);
	assert_null(text);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(same_seed_gives_the_same_text),
		cmocka_unit_test(every_scenario_parses_and_applies_its_config),
		cmocka_unit_test(small_hosts_build),
		cmocka_unit_test(every_feature_appears_over_the_seeds),
		cmocka_unit_test(cooperative_hosts_have_only_cooperative_balloons),
		cmocka_unit_test(exclusions_leave_their_part_out),
		cmocka_unit_test(xs_writes_never_repeat_a_value),
		cmocka_unit_test(events_come_before_the_quiet_time_at_distinct_times),
		cmocka_unit_test(standard_kind_is_plain),
		cmocka_unit_test(bad_options_are_refused),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
