/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The simulator's scenario parser (sim/scenario.c) on arbitrary text.
 * Oracle (besides no crash and no leak): an accepted scenario has every
 * domain's bounds ordered (memory <= static_max, dynamic_max <= static_max,
 * dynamic_min <= dynamic_max or static_max, maxmem >= memory when given),
 * unique initial domain names, events sorted by time, and its "config"
 * applies to a fresh configuration as it was probed during the parse. */
#include <string.h>

#include "conf.h"
#include "fuzz.h"
#include "scenario.h"

static void spec_check(const struct sim_domain_spec *d)
{
	uint64_t top;

	FUZZ_CHECK(d->name[0], "a domain without a name");
	FUZZ_CHECK(d->static_max_kib >= d->memory_kib, "%s: memory %llu above static_max %llu",
		   d->name, (unsigned long long)d->memory_kib,
		   (unsigned long long)d->static_max_kib);
	FUZZ_CHECK(!d->dynamic_max_kib || d->dynamic_max_kib <= d->static_max_kib,
		   "%s: dynamic_max above static_max", d->name);
	top = d->dynamic_max_kib ? d->dynamic_max_kib : d->static_max_kib;
	FUZZ_CHECK(!d->dynamic_min_kib || d->dynamic_min_kib <= top,
		   "%s: dynamic_min %llu above %llu", d->name,
		   (unsigned long long)d->dynamic_min_kib, (unsigned long long)top);
	FUZZ_CHECK(!d->maxmem_kib || d->maxmem_kib >= d->memory_kib, "%s: maxmem below memory",
		   d->name);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 1), err[512];
	struct scenario s;
	struct conf c;
	size_t i, j;

	FUZZ_CHECK(text != NULL, "out of memory");
	memcpy(text, data, size);
	text[size] = '\0';
	if (scenario_parse_string(text, "fuzz.json", &s, err, sizeof(err)) != 0) {
		FUZZ_CHECK(err[0], "refused without a message");
		free(text);
		return 0;
	}
	for (i = 0; i < s.n_domains; i++) {
		spec_check(&s.domains[i]);
		for (j = 0; j < i; j++)
			FUZZ_CHECK(strcmp(s.domains[i].name, s.domains[j].name) != 0,
				   "domain %s twice", s.domains[i].name);
	}
	for (i = 0; i < s.n_events; i++) {
		if (s.events[i].action == SCN_CREATE)
			spec_check(&s.events[i].domain);
		FUZZ_CHECK(i == 0 || s.events[i - 1].at_ms <= s.events[i].at_ms,
			   "events out of order at %zu", i);
	}
	conf_init(&c);
	FUZZ_CHECK(scenario_apply_config(&s, &c, err, sizeof(err)) == 0,
		   "accepted config does not apply: %s", err);
	conf_free(&c);
	scenario_free(&s);
	free(text);
	return 0;
}
