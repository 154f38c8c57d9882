/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Unit tests for scenario files (sim/scenario.c): the shipped demo and
 * every scenario in the tree parse and build; every member lands where it
 * should; events are sorted stably; config values reach struct conf; and
 * each class of malformed input is refused with a message that names the
 * file and the JSON path of the member at fault. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"
#include "scenario.h"
#include "simhost.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define MIB 1024ull
#define GIB (1024ull * 1024ull)

static const char *top_srcdir(void)
{
	const char *t = getenv("top_srcdir");

	return t && t[0] ? t : ".";
}

static void parse_ok(const char *text, struct scenario *s)
{
	char err[512] = "";

	if (scenario_parse_string(text, "t.json", s, err, sizeof(err)) != 0)
		fail_msg("parse failed: %s", err);
}

/* Parse, build the host, check it, apply the config. */
static void parse_build_check(const char *path)
{
	struct scenario s;
	struct simhost *h;
	struct conf c;
	char err[512] = "";
	size_t i;

	if (scenario_parse_file(path, &s, err, sizeof(err)) != 0)
		fail_msg("%s", err);
	h = scenario_build_host(&s, 0, err, sizeof(err));
	if (!h)
		fail_msg("%s: %s", path, err);
	for (i = 0; i < s.n_domains; i++) {
		uint32_t domid;

		if (simhost_lookup(h, s.domains[i].name, &domid) != 0)
			fail_msg("%s: %s was not built", path, s.domains[i].name);
	}
	if (simhost_check(h, err, sizeof(err)) != 0)
		fail_msg("%s: %s", path, err);
	conf_init(&c);
	if (scenario_apply_config(&s, &c, err, sizeof(err)) != 0)
		fail_msg("%s: %s", path, err);
	conf_free(&c);
	simhost_free(h);
	scenario_free(&s);
}

static void the_demo_parses_builds_and_is_far_from_balanced(void **state)
{
	char path[1024], err[512] = "";
	bool normal = false, slow = false, stuck = false;
	struct sim_dominfo di[8];
	struct simhost *h;
	struct scenario s;
	struct conf c;
	size_t i, n;

	snprintf(path, sizeof(path), "%s/conf/demo.json", top_srcdir());
	if (scenario_parse_file(path, &s, err, sizeof(err)) != 0)
		fail_msg("%s", err);
	assert_int_equal(s.host_memory_kib, 16 * GIB);
	assert_int_equal(s.dom0_kib, 1 * GIB);
	assert_int_equal(s.until_ms, 600000);
	assert_true(s.n_domains >= 4 && s.n_domains <= 5);
	for (i = 0; i < s.n_domains; i++) {
		const struct sim_domain_spec *d = &s.domains[i];

		assert_true(d->dynamic_min_kib > 0);
		assert_true(d->dynamic_max_kib >= d->dynamic_min_kib);
		normal |= d->balloon.behavior == SIM_BALLOON_NORMAL;
		slow |= d->balloon.behavior == SIM_BALLOON_SLOW;
		stuck |= d->balloon.behavior == SIM_BALLOON_STUCK;
	}
	assert_true(normal && slow && stuck);
	h = scenario_build_host(&s, 0, err, sizeof(err));
	if (!h)
		fail_msg("%s", err);
	n = simhost_getinfolist(h, 0, di, ARRAY_SIZE(di));
	assert_int_equal(n, s.n_domains + 1);
	for (i = 1; i < n; i++)
		assert_int_equal(di[i].tot_kib, s.domains[i - 1].memory_kib);
	assert_int_equal(simhost_check(h, err, sizeof(err)), 0);
	conf_init(&c);
	assert_int_equal(scenario_apply_config(&s, &c, err, sizeof(err)), 0);
	assert_non_null(conf_find_domain(&c, "db"));
	assert_int_equal(conf_find_domain(&c, "db")->weight, 200);
	conf_free(&c);
	simhost_free(h);
	scenario_free(&s);
}

/* Every scenario shipped in the tree is valid under the strict parser. */
static void every_scenario_in_the_tree_parses_and_builds(void **state)
{
	static const char *const dirs[] = {"tests/scenarios", "tests/e2e"};
	size_t d, found = 0;

	for (d = 0; d < ARRAY_SIZE(dirs); d++) {
		char dir[1024];
		struct dirent *e;
		DIR *dh;

		snprintf(dir, sizeof(dir), "%s/%s", top_srcdir(), dirs[d]);
		dh = opendir(dir);
		if (!dh)
			continue;
		while ((e = readdir(dh))) {
			char path[2048];
			size_t len = strlen(e->d_name);

			if (len < 6 || strcmp(e->d_name + len - 5, ".json") != 0)
				continue;
			snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
			parse_build_check(path);
			found++;
		}
		closedir(dh);
	}
	assert_true(found > 0);
}

static void defaults_fill_what_is_not_given(void **state)
{
	struct scenario s;

	parse_ok("{\"host\": {\"memory\": \"4G\"}}", &s);
	assert_int_equal(s.host_memory_kib, 4 * GIB);
	assert_int_equal(s.xen_reserved_kib, 256 * MIB);
	assert_int_equal(s.dom0_kib, 1 * GIB);
	assert_int_equal(s.until_ms, 60000);
	assert_int_equal(s.n_domains, 0);
	assert_int_equal(s.n_events, 0);
	assert_int_equal(s.n_config, 0);
	assert_false(s.expect.has_invariants || s.expect.has_converged_by ||
		     s.expect.has_reservations_ok || s.expect.has_audit_findings);
	scenario_free(&s);

	parse_ok("{\"host\": {\"memory\": \"4G\"}, \"domains\": [{\"name\": \"a\", \"memory\": "
		 "\"512M\"}]}",
		 &s);
	assert_int_equal(s.domains[0].type, SIM_PV);
	assert_int_equal(s.domains[0].width, 64);
	assert_int_equal(s.domains[0].static_max_kib, 512 * MIB);
	assert_int_equal(s.domains[0].maxmem_kib, 0);
	assert_int_equal(s.domains[0].dynamic_min_kib, 0);
	assert_int_equal(s.domains[0].weight, 0);
	assert_int_equal(s.domains[0].balloon.behavior, SIM_BALLOON_NORMAL);
	assert_int_equal(s.domains[0].balloon.rate_kib_s, 0);
	scenario_free(&s);
	scenario_free(NULL);
}

static const char full_scenario[] =
	"{\n"
	"  \"description\": \"all members\",\n"
	"  \"host\": {\"memory\": \"16G\", \"xen_reserved\": \"128M\", \"dom0\": \"2G\"},\n"
	"  \"config\": {\"pool\": \"64M\", \"manage_dom0\": true, \"max_clients\": 8,\n"
	"             \"stall_timeout\": \"7s\", \"defaults\": {\"dynamic_min\": \"25%\"},\n"
	"             \"domain web\": {\"mode\": \"frozen\"}},\n"
	"  \"domains\": [\n"
	"    {\"name\": \"web\", \"type\": \"hvm\", \"memory\": \"2G\", \"static_max\": \"4G\",\n"
	"     \"dynamic_min\": \"1G\", \"dynamic_max\": \"3G\", \"maxmem\": \"4G\", \"weight\": "
	"300,\n"
	"     \"balloon\": {\"behavior\": \"intermittent\", \"rate\": \"1G/s\", \"period\": 2.5,\n"
	"                 \"offset\": \"-8M\"},\n"
	"     \"demand\": [{\"at\": 0, \"used\": \"1G\"}, {\"at\": 1.2345, \"used\": \"1.5G\"}]},\n"
	"    {\"name\": \"old\", \"width\": 32, \"memory\": \"1G\",\n"
	"     \"balloon\": {\"behavior\": \"stuck_after\", \"after\": \"100M\"}},\n"
	"    {\"name\": \"fl\", \"type\": \"pvh\", \"memory\": \"1G\",\n"
	"     \"balloon\": {\"behavior\": \"floor\", \"floor\": \"700M\"}}\n"
	"  ],\n"
	"  \"events\": [\n"
	"    {\"at\": 30, \"do\": \"destroy\", \"name\": \"late\"},\n"
	"    {\"at\": 10, \"do\": \"create\", \"domain\": {\"name\": \"late\", \"memory\": "
	"\"1G\"}},\n"
	"    {\"at\": 20, \"do\": \"reserve\", \"min\": \"1G\", \"max\": \"2G\", \"ttl\": 30},\n"
	"    {\"at\": 20, \"do\": \"reserve\", \"size\": \"512M\"},\n"
	"    {\"at\": 20, \"do\": \"set-target\", \"name\": \"web\", \"target\": \"3G\"},\n"
	"    {\"at\": 21, \"do\": \"xs-write\", \"name\": \"old\", \"key\": \"memory/target\",\n"
	"     \"value\": \"777\"},\n"
	"    {\"at\": 22, \"do\": \"corrupt\", \"class\": \"P2M_ALIAS\", \"name\": \"fl\"},\n"
	"    {\"at\": 23, \"do\": \"restart\"},\n"
	"    {\"at\": 24, \"do\": \"pause\"},\n"
	"    {\"at\": 25, \"do\": \"resume\"},\n"
	"    {\"at\": 26, \"do\": \"set-target\", \"name\": \"Domain-0\", \"target\": \"1G\"}\n"
	"  ],\n"
	"  \"until\": 90.5,\n"
	"  \"expect\": {\"invariants\": true, \"converged_by\": 60, \"reservations_ok\": false,\n"
	"             \"audit_findings\": {\"P2M_ALIAS\": 1, \"M2P_MISMATCH\": 0}}\n"
	"}\n";

static void every_member_lands_in_its_field(void **state)
{
	const struct sim_domain_spec *d;
	const struct scenario_event *ev;
	struct scenario s;

	parse_ok(full_scenario, &s);
	assert_int_equal(s.host_memory_kib, 16 * GIB);
	assert_int_equal(s.xen_reserved_kib, 128 * MIB);
	assert_int_equal(s.dom0_kib, 2 * GIB);
	assert_int_equal(s.until_ms, 90500);
	assert_int_equal(s.n_domains, 3);
	d = &s.domains[0];
	assert_string_equal(d->name, "web");
	assert_int_equal(d->type, SIM_HVM);
	assert_int_equal(d->memory_kib, 2 * GIB);
	assert_int_equal(d->static_max_kib, 4 * GIB);
	assert_int_equal(d->dynamic_min_kib, 1 * GIB);
	assert_int_equal(d->dynamic_max_kib, 3 * GIB);
	assert_int_equal(d->maxmem_kib, 4 * GIB);
	assert_int_equal(d->weight, 300);
	assert_int_equal(d->balloon.behavior, SIM_BALLOON_INTERMITTENT);
	assert_int_equal(d->balloon.rate_kib_s, 1 * GIB);
	assert_int_equal(d->balloon.period_ms, 2500);
	assert_int_equal(d->balloon.offset_kib, -8 * (int64_t)MIB);
	assert_int_equal(d->n_demand, 2);
	assert_int_equal(d->demand[1].at_ms, 1235); /* rounded to the millisecond */
	assert_int_equal(d->demand[1].used_kib, 1536 * MIB);
	assert_int_equal(s.domains[1].width, 32);
	assert_int_equal(s.domains[1].balloon.after_kib, 100 * MIB);
	assert_int_equal(s.domains[2].type, SIM_PVH);
	assert_int_equal(s.domains[2].balloon.floor_kib, 700 * MIB);

	assert_int_equal(s.n_events, 11);
	ev = &s.events[0];
	assert_int_equal(ev->action, SCN_CREATE);
	assert_int_equal(ev->at_ms, 10000);
	assert_string_equal(ev->domain.name, "late");
	ev = &s.events[1];
	assert_int_equal(ev->action, SCN_RESERVE);
	assert_int_equal(ev->min_kib, 1 * GIB);
	assert_int_equal(ev->max_kib, 2 * GIB);
	assert_int_equal(ev->ttl_ms, 30000);
	ev = &s.events[2];
	assert_int_equal(ev->action, SCN_RESERVE);
	assert_int_equal(ev->size_kib, 512 * MIB);
	assert_int_equal(ev->min_kib, 512 * MIB);
	assert_int_equal(ev->max_kib, 512 * MIB);
	assert_int_equal(ev->ttl_ms, 60000); /* default */
	ev = &s.events[3];
	assert_int_equal(ev->action, SCN_SET_TARGET);
	assert_string_equal(ev->name, "web");
	assert_int_equal(ev->target_kib, 3 * GIB);
	ev = &s.events[4];
	assert_int_equal(ev->action, SCN_XS_WRITE);
	assert_string_equal(ev->key, "memory/target");
	assert_string_equal(ev->value, "777");
	ev = &s.events[5];
	assert_int_equal(ev->action, SCN_CORRUPT);
	assert_string_equal(ev->fault_class, "P2M_ALIAS");
	assert_string_equal(ev->name, "fl");
	assert_int_equal(s.events[6].action, SCN_RESTART);
	assert_int_equal(s.events[7].action, SCN_PAUSE);
	assert_int_equal(s.events[8].action, SCN_RESUME);
	assert_int_equal(s.events[9].action, SCN_SET_TARGET);
	assert_int_equal(s.events[10].action, SCN_DESTROY);
	assert_int_equal(s.events[10].at_ms, 30000);

	assert_true(s.expect.has_invariants && s.expect.invariants);
	assert_true(s.expect.has_converged_by);
	assert_int_equal(s.expect.converged_by_ms, 60000);
	assert_true(s.expect.has_reservations_ok && !s.expect.reservations_ok);
	assert_true(s.expect.has_audit_findings);
	assert_int_equal(s.expect.n_audit_findings, 2);
	assert_string_equal(s.expect.audit_findings[0].fault_class, "P2M_ALIAS");
	assert_int_equal(s.expect.audit_findings[0].count, 1);
	assert_int_equal(s.expect.audit_findings[1].count, 0);
	scenario_free(&s);
}

static void events_are_sorted_stably_by_time(void **state)
{
	struct scenario s;
	size_t i;

	parse_ok("{\"host\": {\"memory\": \"8G\"}, \"domains\": [{\"name\": \"a\", \"memory\": "
		 "\"1G\"}],"
		 " \"events\": ["
		 "{\"at\": 5, \"do\": \"xs-write\", \"name\": \"a\", \"key\": \"data/k\", "
		 "\"value\": \"1\"},"
		 "{\"at\": 1, \"do\": \"xs-write\", \"name\": \"a\", \"key\": \"data/k\", "
		 "\"value\": \"2\"},"
		 "{\"at\": 5, \"do\": \"xs-write\", \"name\": \"a\", \"key\": \"data/k\", "
		 "\"value\": \"3\"},"
		 "{\"at\": 0.5, \"do\": \"xs-write\", \"name\": \"a\", \"key\": \"data/k\", "
		 "\"value\": \"4\"},"
		 "{\"at\": 5, \"do\": \"xs-write\", \"name\": \"a\", \"key\": \"data/k\", "
		 "\"value\": \"5\"},"
		 "{\"at\": 1, \"do\": \"xs-write\", \"name\": \"a\", \"key\": \"data/k\", "
		 "\"value\": \"6\"}"
		 "]}",
		 &s);
	{
		static const char *const order[] = {"4", "2", "6", "1", "3", "5"};

		assert_int_equal(s.n_events, ARRAY_SIZE(order));
		for (i = 0; i < ARRAY_SIZE(order); i++)
			assert_string_equal(s.events[i].value, order[i]);
	}
	scenario_free(&s);
}

static void config_values_reach_struct_conf(void **state)
{
	struct scenario s;
	struct conf c;
	const struct conf_domain *d;
	char err[256];

	parse_ok(full_scenario, &s);
	assert_int_equal(s.n_config, 6);
	assert_string_equal(s.config[1].key, "manage_dom0");
	assert_string_equal(s.config[1].value, "true");
	assert_string_equal(s.config[2].value, "8");
	assert_string_equal(s.config[4].section, "defaults");
	assert_string_equal(s.config[5].section, "domain web");
	conf_init(&c);
	assert_int_equal(scenario_apply_config(&s, &c, err, sizeof(err)), 0);
	assert_int_equal(c.pool_kib, 64 * MIB);
	assert_true(c.manage_dom0);
	assert_int_equal(c.max_clients, 8);
	assert_int_equal(c.stall_timeout_ms, 7000);
	assert_true(c.defaults.dynamic_min.is_pct);
	assert_int_equal(c.defaults.dynamic_min.pct, 25);
	d = conf_find_domain(&c, "web");
	assert_non_null(d);
	assert_int_equal(d->mode, MODE_FROZEN);
	assert_int_equal(d->weight, 300); /* from the domain's "weight" */
	assert_null(conf_find_domain(&c, "old"));
	conf_free(&c);
	scenario_free(&s);

	/* numbers that are not whole are kept as written */
	parse_ok("{\"host\": {\"memory\": \"4G\"}, \"config\": {\"surplus\": \"keep-free\"}}", &s);
	assert_string_equal(s.config[0].value, "keep-free");
	scenario_free(&s);
}

static void apply_config_reports_a_value_conf_refuses(void **state)
{
	struct scenario_config_item item = {"balloond", "pool", "lots"};
	struct scenario s;
	struct conf c;
	char err[256] = "";

	memset(&s, 0, sizeof(s));
	s.config = &item;
	s.n_config = 1;
	conf_init(&c);
	assert_int_equal(scenario_apply_config(&s, &c, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "config.pool"));
	conf_free(&c);
}

static void parse_file_names_a_missing_file(void **state)
{
	struct scenario s;
	char err[256] = "";

	assert_int_equal(scenario_parse_file("/nonexistent/x.json", &s, err, sizeof(err)), -ENOENT);
	assert_non_null(strstr(err, "/nonexistent/x.json"));
}

static void build_host_names_what_does_not_fit(void **state)
{
	struct sim_domain_spec d[2];
	struct scenario s;
	char err[256] = "";

	memset(&s, 0, sizeof(s));
	memset(d, 0, sizeof(d));
	s.host_memory_kib = 4 * GIB;
	s.xen_reserved_kib = 256 * MIB;
	s.dom0_kib = 1 * GIB;
	snprintf(d[0].name, sizeof(d[0].name), "fits");
	d[0].memory_kib = 2 * GIB;
	snprintf(d[1].name, sizeof(d[1].name), "toobig");
	d[1].memory_kib = 2 * GIB;
	s.domains = d;
	s.n_domains = 2;
	assert_null(scenario_build_host(&s, 0, err, sizeof(err)));
	assert_non_null(strstr(err, "toobig"));
	s.dom0_kib = 8 * GIB;
	assert_null(scenario_build_host(&s, 0, err, sizeof(err)));
	assert_non_null(strstr(err, "cannot build a host"));
}

/* Each malformed input and the words its error must contain. */
static const struct {
	const char *text;
	const char *want;
} bad_inputs[] = {
	/* not JSON, or not strict JSON */
	{"{", "t.json:1:2: not valid JSON"},
	{"{\"host\": {\"memory\": \"4G\"},}", "t.json:1:27: not valid JSON"},
	{"{\"host\": {\"memory\": \"4G\"}} x", "t.json:1:28: not valid JSON"},
	{"{\"host\": {\"memory\": \"4G\"}}\n// c", "t.json:2:1: not valid JSON"},
	{"[]", "t.json: (top level): must be an object"},
	{"{\"host\": {\"memory\": '4G'}}", "not valid JSON"},
	/* the top level */
	{"{\"host\": {\"memory\": \"4G\"}, \"hots\": 1}", "t.json: hots: unknown member"},
	{"{\"domains\": []}", "t.json: host: \"host\" is required"},
	{"{\"host\": {\"memory\": \"4G\"}, \"description\": 5}", "description: must be a string"},
	{"{\"host\": {\"memory\": \"4G\"}, \"until\": 0}", "until: must be above 0"},
	{"{\"host\": {\"memory\": \"4G\"}, \"until\": \"60\"}",
	 "until: must be a number of seconds"},
	{"{\"host\": {\"memory\": \"4G\"}, \"until\": -1}", "until: must be 0 to"},
	{"{\"host\": {\"memory\": \"4G\"}, \"until\": 1e12}", "until: must be 0 to"},
	/* host */
	{"{\"host\": {}}", "host.memory: \"memory\" is required"},
	{"{\"host\": {\"memory\": \"4G\", \"cpus\": 4}}", "host.cpus: unknown member"},
	{"{\"host\": {\"memory\": \"4X\"}}", "host.memory: \"4X\" is not a size"},
	{"{\"host\": {\"memory\": 4096}}", "host.memory: must be a size string"},
	{"{\"host\": {\"memory\": \"4\"}}", "host.memory: \"4\" is not a size"},
	{"{\"host\": {\"memory\": \"2G\", \"dom0\": \"2G\"}}", "host: xen_reserved + dom0"},
	{"{\"host\": {\"memory\": \"4G\", \"dom0\": \"1M\"}}", "host.dom0: must be at least 16M"},
	{"{\"host\": {\"memory\": \"64P\"}}", "host.memory: \"64P\""},
	/* domains */
	{"{\"host\": {\"memory\": \"4G\"}, \"domains\": {}}", "domains: must be an array"},
	{"{\"host\": {\"memory\": \"4G\"}, \"domains\": [5]}", "domains[0]: must be an object"},
	{"{\"host\": {\"memory\": \"4G\"}, \"domains\": [{\"name\": \"a\", \"memory\": \"1G\", "
	 "\"colour\": \"red\"}]}",
	 "t.json: domains[0].colour: unknown member"},
	{"{\"host\": {\"memory\": \"8G\"}, \"domains\": [{\"name\": \"a\", \"memory\": \"1G\"}, "
	 "{\"name\": \"b\", \"memory\": \"1G\"}, {\"name\": \"c\", \"memory\": \"1G\", "
	 "\"balloon\": {\"behaviour\": \"slow\"}}]}",
	 "t.json: domains[2].balloon.behaviour: unknown member"},
	{"{\"host\": {\"memory\": \"4G\"}, \"domains\": [{\"memory\": \"1G\"}]}",
	 "domains[0].name: \"name\" is required"},
	{"{\"host\": {\"memory\": \"4G\"}, \"domains\": [{\"name\": \"a b\", \"memory\": \"1G\"}]}",
	 "domains[0].name: \"a b\" is not a domain name"},
	{"{\"host\": {\"memory\": \"4G\"}, \"domains\": [{\"name\": \"Domain-0\", \"memory\": "
	 "\"1G\"}]}",
	 "domains[0].name: Domain-0 is the host's own domain"},
	{"{\"host\": {\"memory\": \"4G\"}, \"domains\": [{\"name\": \"a\"}]}",
	 "domains[0].memory: \"memory\" is required"},
	{"{\"host\": {\"memory\": \"4G\"}, \"domains\": [{\"name\": \"a\", \"memory\": \"1G\"}, "
	 "{\"name\": \"a\", \"memory\": \"1G\"}]}",
	 "domains[1].name: duplicate name \"a\" (already domains[0])"},
	{"{\"host\": {\"memory\": \"4G\"}, \"domains\": [{\"name\": \"a\", \"memory\": \"2G\", "
	 "\"static_max\": \"1G\"}]}",
	 "domains[0].static_max: is below memory"},
	{"{\"host\": {\"memory\": \"4G\"}, \"domains\": [{\"name\": \"a\", \"memory\": \"1G\", "
	 "\"static_max\": \"2G\", \"dynamic_min\": \"1G\", \"dynamic_max\": \"512M\"}]}",
	 "domains[0].dynamic_min: is above dynamic_max"},
	{"{\"host\": {\"memory\": \"4G\"}, \"domains\": [{\"name\": \"a\", \"memory\": \"1G\", "
	 "\"static_max\": \"2G\", \"dynamic_max\": \"3G\"}]}",
	 "domains[0].dynamic_max: is above static_max"},
	{"{\"host\": {\"memory\": \"4G\"}, \"domains\": [{\"name\": \"a\", \"memory\": \"1G\", "
	 "\"dynamic_min\": \"2G\"}]}",
	 "domains[0].dynamic_min: is above static_max"},
	{"{\"host\": {\"memory\": \"4G\"}, \"domains\": [{\"name\": \"a\", \"memory\": \"1G\", "
	 "\"maxmem\": \"512M\"}]}",
	 "domains[0].maxmem: is below memory"},
	{"{\"host\": {\"memory\": \"4G\"}, \"domains\": [{\"name\": \"a\", \"memory\": \"1G\", "
	 "\"weight\": 0}]}",
	 "domains[0].weight: must be 1 to 10000"},
	{"{\"host\": {\"memory\": \"4G\"}, \"domains\": [{\"name\": \"a\", \"memory\": \"1G\", "
	 "\"weight\": 1.5}]}",
	 "domains[0].weight: must be a whole number"},
	{"{\"host\": {\"memory\": \"4G\"}, \"domains\": [{\"name\": \"a\", \"memory\": \"1G\", "
	 "\"type\": \"kvm\"}]}",
	 "domains[0].type: \"kvm\" is not one of pv, pvh, hvm"},
	{"{\"host\": {\"memory\": \"4G\"}, \"domains\": [{\"name\": \"a\", \"memory\": \"1G\", "
	 "\"type\": \"hvm\", \"width\": 32}]}",
	 "domains[0].width: only PV guests have a width"},
	{"{\"host\": {\"memory\": \"4G\"}, \"domains\": [{\"name\": \"a\", \"memory\": \"1G\", "
	 "\"width\": 48}]}",
	 "domains[0].width: must be 32 or 64"},
	{"{\"host\": {\"memory\": \"4G\"}, \"domains\": [{\"name\": \"a\", \"memory\": \"2G\"}, "
	 "{\"name\": \"b\", \"memory\": \"2G\"}]}",
	 "domains[1].memory: the host's memory is used up by this domain"},
	{"{\"host\": {\"memory\": \"4G\"}, \"domains\": [{\"name\": \"a\", \"memory\": \"1G\", "
	 "\"agent\": \"vmtools\"}]}",
	 "domains[0].agent: \"vmtools\" is not one of xe, qubes"},
	{"{\"host\": {\"memory\": \"4G\"}, \"domains\": [{\"name\": \"a\", \"memory\": \"1G\", "
	 "\"agent_stops\": 0}]}",
	 "domains[0].agent_stops: must be above 0"},
	{"{\"host\": {\"memory\": \"4G\"}, \"expect\": {\"final_target\": {\"a\": {\"min\": \"2G\", "
	 "\"max\": \"1G\"}}}}",
	 "expect.final_target.a.max: is below min"},
	{"{\"host\": {\"memory\": \"4G\"}, \"expect\": {\"final_target\": {\"a\": {\"least\": \"2G\"}}}}",
	 "least"},
	{"{\"host\": {\"memory\": \"4G\"}, \"expect\": {\"target_writes_at_most\": -1}}",
	 "expect.target_writes_at_most"},
	/* balloon */
	{"{\"host\": {\"memory\": \"4G\"}, \"domains\": [{\"name\": \"a\", \"memory\": \"1G\", "
	 "\"balloon\": {\"behavior\": \"lazy\"}}]}",
	 "domains[0].balloon.behavior: \"lazy\" is not one of"},
	{"{\"host\": {\"memory\": \"4G\"}, \"domains\": [{\"name\": \"a\", \"memory\": \"1G\", "
	 "\"balloon\": {\"rate\": \"256M\"}}]}",
	 "domains[0].balloon.rate: \"256M\" is not a rate"},
	{"{\"host\": {\"memory\": \"4G\"}, \"domains\": [{\"name\": \"a\", \"memory\": \"1G\", "
	 "\"balloon\": {\"rate\": \"0/s\"}}]}",
	 "domains[0].balloon.rate: \"0/s\""},
	{"{\"host\": {\"memory\": \"4G\"}, \"domains\": [{\"name\": \"a\", \"memory\": \"1G\", "
	 "\"balloon\": {\"behavior\": \"stuck\", \"rate\": \"1M/s\"}}]}",
	 "domains[0].balloon.rate: a stuck balloon has no rate"},
	{"{\"host\": {\"memory\": \"4G\"}, \"domains\": [{\"name\": \"a\", \"memory\": \"1G\", "
	 "\"balloon\": {\"behavior\": \"stuck_after\"}}]}",
	 "domains[0].balloon.after: required for behavior stuck_after"},
	{"{\"host\": {\"memory\": \"4G\"}, \"domains\": [{\"name\": \"a\", \"memory\": \"1G\", "
	 "\"balloon\": {\"after\": \"1G\"}}]}",
	 "domains[0].balloon.after: only for behavior stuck_after"},
	{"{\"host\": {\"memory\": \"4G\"}, \"domains\": [{\"name\": \"a\", \"memory\": \"1G\", "
	 "\"balloon\": {\"behavior\": \"floor\"}}]}",
	 "domains[0].balloon.floor: required for behavior floor"},
	{"{\"host\": {\"memory\": \"4G\"}, \"domains\": [{\"name\": \"a\", \"memory\": \"1G\", "
	 "\"balloon\": {\"behavior\": \"intermittent\", \"period\": 0}}]}",
	 "domains[0].balloon.period: must be above 0"},
	{"{\"host\": {\"memory\": \"4G\"}, \"domains\": [{\"name\": \"a\", \"memory\": \"1G\", "
	 "\"balloon\": {\"offset\": \"8\"}}]}",
	 "domains[0].balloon.offset: \"8\" is not a size"},
	/* demand */
	{"{\"host\": {\"memory\": \"4G\"}, \"domains\": [{\"name\": \"a\", \"memory\": \"1G\", "
	 "\"demand\": {}}]}",
	 "domains[0].demand: must be an array"},
	{"{\"host\": {\"memory\": \"4G\"}, \"domains\": [{\"name\": \"a\", \"memory\": \"1G\", "
	 "\"demand\": [{\"at\": 0, \"used\": \"1G\", \"free\": \"1G\"}]}]}",
	 "domains[0].demand[0].free: unknown member"},
	{"{\"host\": {\"memory\": \"4G\"}, \"domains\": [{\"name\": \"a\", \"memory\": \"1G\", "
	 "\"demand\": [{\"at\": 5, \"used\": \"1G\"}, {\"at\": 5, \"used\": \"2G\"}]}]}",
	 "domains[0].demand[1].at: demand points must be in increasing time order"},
	{"{\"host\": {\"memory\": \"4G\"}, \"domains\": [{\"name\": \"a\", \"memory\": \"1G\", "
	 "\"demand\": [{\"at\": 5}]}]}",
	 "domains[0].demand[0].used: \"used\" is required"},
	/* events */
	{"{\"host\": {\"memory\": \"4G\"}, \"events\": {}}", "events: must be an array"},
	{"{\"host\": {\"memory\": \"4G\"}, \"events\": [{\"at\": 1, \"do\": \"boot\"}]}",
	 "events[0].do: \"boot\" is not one of"},
	{"{\"host\": {\"memory\": \"4G\"}, \"events\": [{\"do\": \"pause\"}]}",
	 "events[0].at: \"at\" is required"},
	{"{\"host\": {\"memory\": \"4G\"}, \"events\": [{\"at\": 1}]}",
	 "events[0].do: \"do\" is required"},
	{"{\"host\": {\"memory\": \"4G\"}, \"events\": [{\"at\": -3, \"do\": \"pause\"}]}",
	 "events[0].at: must be 0 to"},
	{"{\"host\": {\"memory\": \"4G\"}, \"events\": [{\"at\": 1, \"do\": \"pause\", \"when\": "
	 "1}]}",
	 "events[0].when: unknown member"},
	{"{\"host\": {\"memory\": \"4G\"}, \"domains\": [{\"name\": \"a\", \"memory\": \"1G\"}], "
	 "\"events\": [{\"at\": 1, \"do\": \"destroy\", \"name\": \"a\", \"target\": \"1G\"}]}",
	 "events[0].target: unknown member for a \"destroy\" event"},
	{"{\"host\": {\"memory\": \"4G\"}, \"events\": [{\"at\": 1, \"do\": \"destroy\", "
	 "\"name\": \"ghost\"}]}",
	 "events[0].name: no domain \"ghost\" exists at 1.000 s"},
	{"{\"host\": {\"memory\": \"4G\"}, \"events\": [{\"at\": 9, \"do\": \"create\", "
	 "\"domain\": "
	 "{\"name\": \"x\", \"memory\": \"1G\"}}, {\"at\": 5, \"do\": \"destroy\", \"name\": "
	 "\"x\"}]}",
	 "events[1].name: no domain \"x\" exists at 5.000 s"},
	{"{\"host\": {\"memory\": \"4G\"}, \"domains\": [{\"name\": \"a\", \"memory\": \"1G\"}], "
	 "\"events\": [{\"at\": 1, \"do\": \"destroy\", \"name\": \"a\"}, {\"at\": 2, \"do\": "
	 "\"set-target\", \"name\": \"a\", \"target\": \"1G\"}]}",
	 "events[1].name: no domain \"a\" exists at 2.000 s"},
	{"{\"host\": {\"memory\": \"4G\"}, \"domains\": [{\"name\": \"a\", \"memory\": \"1G\"}], "
	 "\"events\": [{\"at\": 1, \"do\": \"create\", \"domain\": {\"name\": \"a\", \"memory\": "
	 "\"1G\"}}]}",
	 "events[0].domain.name: \"a\" already exists at 1.000 s"},
	{"{\"host\": {\"memory\": \"4G\"}, \"events\": [{\"at\": 1, \"do\": \"destroy\", "
	 "\"name\": \"Domain-0\"}]}",
	 "events[0].name: Domain-0 cannot be destroyed"},
	{"{\"host\": {\"memory\": \"4G\"}, \"events\": [{\"at\": 1, \"do\": \"create\", "
	 "\"domain\": "
	 "{\"name\": \"x\", \"memory\": \"1G\", \"balloon\": {\"bogus\": 1}}}]}",
	 "events[0].domain.balloon.bogus: unknown member"},
	{"{\"host\": {\"memory\": \"4G\"}, \"events\": [{\"at\": 1, \"do\": \"reserve\", "
	 "\"size\": \"1G\", \"min\": \"1G\"}]}",
	 "events[0].size: give either size or min and max"},
	{"{\"host\": {\"memory\": \"4G\"}, \"events\": [{\"at\": 1, \"do\": \"reserve\"}]}",
	 "events[0].min: \"min\" is required (or give \"size\")"},
	{"{\"host\": {\"memory\": \"4G\"}, \"events\": [{\"at\": 1, \"do\": \"reserve\", "
	 "\"min\": \"2G\", \"max\": \"1G\"}]}",
	 "events[0].max: is below min"},
	{"{\"host\": {\"memory\": \"4G\"}, \"events\": [{\"at\": 1, \"do\": \"reserve\", "
	 "\"size\": \"1G\", \"ttl\": 0}]}",
	 "events[0].ttl: must be above 0"},
	{"{\"host\": {\"memory\": \"4G\"}, \"domains\": [{\"name\": \"a\", \"memory\": \"1G\"}], "
	 "\"events\": [{\"at\": 1, \"do\": \"set-target\", \"name\": \"a\"}]}",
	 "events[0].target: \"target\" is required"},
	{"{\"host\": {\"memory\": \"4G\"}, \"domains\": [{\"name\": \"a\", \"memory\": \"1G\"}], "
	 "\"events\": [{\"at\": 1, \"do\": \"corrupt\", \"name\": \"a\", \"class\": \"OOPS\"}]}",
	 "events[0].class: \"OOPS\" is not one of"},
	{"{\"host\": {\"memory\": \"4G\"}, \"domains\": [{\"name\": \"a\", \"memory\": \"1G\"}], "
	 "\"events\": [{\"at\": 1, \"do\": \"xs-write\", \"name\": \"a\", \"key\": \"/abs\", "
	 "\"value\": \"1\"}]}",
	 "events[0].key: \"/abs\" is not a key relative"},
	{"{\"host\": {\"memory\": \"4G\"}, \"domains\": [{\"name\": \"a\", \"memory\": \"1G\"}], "
	 "\"events\": [{\"at\": 1, \"do\": \"xs-write\", \"name\": \"a\", \"key\": \"data/x\"}]}",
	 "events[0].value: \"value\" is required"},
	{"{\"host\": {\"memory\": \"4G\"}, \"until\": 10, \"events\": [{\"at\": 11, \"do\": "
	 "\"pause\"}]}",
	 "events[0].at: is after until"},
	/* expect */
	{"{\"host\": {\"memory\": \"4G\"}, \"expect\": {\"everything\": true}}",
	 "expect.everything: unknown member"},
	{"{\"host\": {\"memory\": \"4G\"}, \"expect\": {\"invariants\": \"yes\"}}",
	 "expect.invariants: must be true or false"},
	{"{\"host\": {\"memory\": \"4G\"}, \"expect\": {\"audit_findings\": {\"BOGUS\": 1}}}",
	 "expect.audit_findings.BOGUS: unknown finding class"},
	{"{\"host\": {\"memory\": \"4G\"}, \"expect\": {\"audit_findings\": {\"P2M_ALIAS\": -1}}}",
	 "expect.audit_findings.P2M_ALIAS: must be 0 to"},
	{"{\"host\": {\"memory\": \"4G\"}, \"until\": 30, \"expect\": {\"converged_by\": 40}}",
	 "expect.converged_by: is after until"},
	/* config */
	{"{\"host\": {\"memory\": \"4G\"}, \"config\": []}", "config: must be an object"},
	{"{\"host\": {\"memory\": \"4G\"}, \"config\": {\"poool\": \"64M\"}}",
	 "config.poool: unknown key \"poool\""},
	{"{\"host\": {\"memory\": \"4G\"}, \"config\": {\"pool\": \"lots\"}}",
	 "config.pool: pool:"},
	{"{\"host\": {\"memory\": \"4G\"}, \"config\": {\"pool\": null}}",
	 "config.pool: must be a string, a number or a boolean"},
	{"{\"host\": {\"memory\": \"4G\"}, \"config\": {\"pool\": [1]}}",
	 "config.pool: must be a string, a number or a boolean"},
	{"{\"host\": {\"memory\": \"4G\"}, \"config\": {\"extras\": {\"x\": \"1\"}}}",
	 "config.extras.x: unknown section [extras]"},
	{"{\"host\": {\"memory\": \"4G\"}, \"config\": {\"defaults\": {\"weight\": 0}}}",
	 "config.defaults.weight:"},
};

static void malformed_input_is_refused_naming_the_member(void **state)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(bad_inputs); i++) {
		struct scenario s;
		char err[512] = "";
		int r = scenario_parse_string(bad_inputs[i].text, "t.json", &s, err, sizeof(err));

		if (r == 0) {
			scenario_free(&s);
			fail_msg("case %zu was accepted: %s", i, bad_inputs[i].text);
		}
		if (r != -EINVAL)
			fail_msg("case %zu: %d, want -EINVAL (%s)", i, r, err);
		if (!strstr(err, bad_inputs[i].want))
			fail_msg("case %zu: \"%s\" does not say \"%s\"", i, err,
				 bad_inputs[i].want);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(the_demo_parses_builds_and_is_far_from_balanced),
		cmocka_unit_test(every_scenario_in_the_tree_parses_and_builds),
		cmocka_unit_test(defaults_fill_what_is_not_given),
		cmocka_unit_test(every_member_lands_in_its_field),
		cmocka_unit_test(events_are_sorted_stably_by_time),
		cmocka_unit_test(config_values_reach_struct_conf),
		cmocka_unit_test(apply_config_reports_a_value_conf_refuses),
		cmocka_unit_test(parse_file_names_a_missing_file),
		cmocka_unit_test(build_host_names_what_does_not_fit),
		cmocka_unit_test(malformed_input_is_refused_naming_the_member),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
