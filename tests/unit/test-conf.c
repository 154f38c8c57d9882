/* SPDX-License-Identifier: GPL-2.0-or-later */
/* balloond.conf: defaults, every key and its bounds, errors naming the
 * line, sections, cross-key checks, conf_set/conf_copy, and the shipped
 * file. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "conf.h"
#include "units.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define MIB(x) ((uint64_t)(x) << 10)
#define GIB(x) ((uint64_t)(x) << 20)
#define TIB(x) ((uint64_t)(x) << 30)

static const char *const all_main_keys[] = {
	"socket", "read_group", "backend", "scenario", "log_level", "pool", "maxmem_slack",
	"deadband", "max_step", "reach_tolerance", "surplus", "poll_interval", "stall_timeout",
	"uncooperative_timeout", "uncooperative_retry_max", "manage_dom0", "demand_buffer", "demand_interval", "demand_stale",
	"psi_threshold", "offset_max", "oscillation_window", "max_message", "max_clients",
	"max_clients_per_uid", "client_timeout", "audit_interval", "audit_settle", "audit_examples",
};

static const char *const all_domain_keys[] = {"dynamic_min", "dynamic_max", "weight", "mode"};

/* Parse text as "test.conf"; fail the test with the message if it is refused. */
static void parse_ok(const char *text, struct conf *c)
{
	struct conf_error e;
	int r = conf_parse_string(text, "test.conf", c, &e);

	if (r != 0)
		fail_msg("refused (%d) at line %u: %s\n--- text ---\n%s", r, e.line, e.msg, text);
}

/* Parse text that must be refused at line with a message containing want;
 * also checks the caller's struct is left exactly as it was. */
static void parse_bad(const char *text, unsigned line, const char *want)
{
	struct conf c, before;
	struct conf_error e;
	int r;

	memset(&c, 0x5a, sizeof(c));
	memcpy(&before, &c, sizeof(c));
	r = conf_parse_string(text, "test.conf", &c, &e);
	if (r == 0) {
		conf_free(&c);
		fail_msg("accepted, expected \"%s\" at line %u\n--- text ---\n%s", want, line, text);
	}
	if (r != -EINVAL)
		fail_msg("returned %d, expected -EINVAL\n--- text ---\n%s", r, text);
	if (e.line != line || !strstr(e.msg, want))
		fail_msg("got line %u \"%s\", expected line %u with \"%s\"\n--- text ---\n%s",
			 e.line, e.msg, line, want, text);
	assert_string_equal(e.file, "test.conf");
	if (memcmp(&c, &before, sizeof(c)) != 0)
		fail_msg("a refused parse changed the caller's struct\n--- text ---\n%s", text);
}

/* The [balloond] settings and [defaults] of a and b are the same. */
static void assert_same_settings(const struct conf *a, const struct conf *b)
{
	assert_string_equal(a->socket, b->socket);
	assert_string_equal(a->read_group, b->read_group);
	assert_string_equal(a->backend, b->backend);
	assert_string_equal(a->scenario, b->scenario);
	assert_int_equal(a->log_level, b->log_level);
	assert_int_equal(a->pool_kib, b->pool_kib);
	assert_int_equal(a->maxmem_slack_kib, b->maxmem_slack_kib);
	assert_int_equal(a->deadband_kib, b->deadband_kib);
	assert_int_equal(a->max_step_kib, b->max_step_kib);
	assert_int_equal(a->reach_tolerance_kib, b->reach_tolerance_kib);
	assert_int_equal(a->surplus, b->surplus);
	assert_int_equal(a->poll_interval_ms, b->poll_interval_ms);
	assert_int_equal(a->stall_timeout_ms, b->stall_timeout_ms);
	assert_int_equal(a->uncooperative_timeout_ms, b->uncooperative_timeout_ms);
	assert_int_equal(a->manage_dom0, b->manage_dom0);
	assert_int_equal(a->demand_buffer_pct, b->demand_buffer_pct);
	assert_int_equal(a->demand_interval_ms, b->demand_interval_ms);
	assert_int_equal(a->demand_stale_ms, b->demand_stale_ms);
	assert_int_equal(a->psi_threshold_pct, b->psi_threshold_pct);
	assert_int_equal(a->offset_max_kib, b->offset_max_kib);
	assert_int_equal(a->oscillation_window_ms, b->oscillation_window_ms);
	assert_int_equal(a->max_message, b->max_message);
	assert_int_equal(a->max_clients, b->max_clients);
	assert_int_equal(a->max_clients_per_uid, b->max_clients_per_uid);
	assert_int_equal(a->client_timeout_ms, b->client_timeout_ms);
	assert_int_equal(a->audit_interval_ms, b->audit_interval_ms);
	assert_int_equal(a->audit_settle_ms, b->audit_settle_ms);
	assert_int_equal(a->audit_examples, b->audit_examples);
	assert_memory_equal(&a->defaults, &b->defaults, sizeof(a->defaults));
}

/* ---- defaults ---- */

static void conf_init_sets_every_documented_default(void **state)
{
	struct conf c;

	memset(&c, 0xff, sizeof(c));
	conf_init(&c);
	assert_string_equal(c.socket, CONF_DEFAULT_SOCKET);
	assert_string_equal(c.read_group, "");
	assert_string_equal(c.backend, "auto");
	assert_string_equal(c.scenario, "");
	assert_int_equal(c.log_level, LOG_LEVEL_INFO);
	assert_int_equal(c.pool_kib, MIB(72));
	assert_int_equal(c.maxmem_slack_kib, MIB(1));
	assert_int_equal(c.deadband_kib, MIB(16));
	assert_int_equal(c.max_step_kib, 0);
	assert_int_equal(c.reach_tolerance_kib, MIB(1));
	assert_int_equal(c.surplus, SURPLUS_DISTRIBUTE);
	assert_int_equal(c.poll_interval_ms, 250);
	assert_int_equal(c.stall_timeout_ms, 5000);
	assert_int_equal(c.uncooperative_timeout_ms, 20000);
	assert_false(c.manage_dom0);
	assert_int_equal(c.demand_buffer_pct, 30);
	assert_int_equal(c.demand_interval_ms, 1000);
	assert_int_equal(c.demand_stale_ms, 300000);
	assert_int_equal(c.psi_threshold_pct, 10);
	assert_int_equal(c.offset_max_kib, MIB(8));
	assert_int_equal(c.oscillation_window_ms, 60000);
	assert_int_equal(c.max_message, 65536);
	assert_int_equal(c.max_clients, 64);
	assert_int_equal(c.max_clients_per_uid, 16);
	assert_int_equal(c.client_timeout_ms, 300000);
	assert_int_equal(c.audit_interval_ms, 600000);
	assert_int_equal(c.audit_settle_ms, 1000);
	assert_int_equal(c.audit_examples, 10);
	assert_string_equal(c.defaults.name, "");
	assert_true(c.defaults.dynamic_min.set && c.defaults.dynamic_min.is_pct);
	assert_int_equal(c.defaults.dynamic_min.pct, 50);
	assert_true(c.defaults.dynamic_max.set && c.defaults.dynamic_max.is_pct);
	assert_int_equal(c.defaults.dynamic_max.pct, 100);
	assert_true(c.defaults.weight_set);
	assert_int_equal(c.defaults.weight, 100);
	assert_true(c.defaults.mode_set);
	assert_int_equal(c.defaults.mode, MODE_AUTO);
	assert_null(c.domains);
	assert_int_equal(c.n_domains, 0);
	conf_free(&c);
}

static void empty_and_comment_only_files_give_the_defaults(void **state)
{
	static const char *const texts[] = {
		"",
		"\n\n\n",
		"# nothing\n; nothing either\n",
		"[balloond]\n[defaults]\n",
		"\xef\xbb\xbf# a UTF-8 BOM\n[balloond]\n",
	};
	struct conf want, c;
	size_t i;

	conf_init(&want);
	for (i = 0; i < ARRAY_SIZE(texts); i++) {
		parse_ok(texts[i], &c);
		assert_same_settings(&c, &want);
		assert_int_equal(c.n_domains, 0);
		conf_free(&c);
	}
}

/* ---- a full file ---- */

static const char full_file[] =
	"# every key, none at its default\n"
	"[balloond]\n"
	"socket = /run/test/ctl.sock\n"
	"read_group = balloon-readers\n"
	"backend = sim\n"
	"scenario = /usr/share/balloond/scenarios/busy.json\n"
	"log_level = debug\n"
	"pool = 128M\n"
	"maxmem_slack = 2M\n"
	"deadband = 32M\n"
	"max_step = 1G\n"
	"reach_tolerance = 512K\n"
	"surplus = keep-free\n"
	"poll_interval = 100ms\n"
	"stall_timeout = 2s\n"
	"uncooperative_timeout = 1m\n"
	"manage_dom0 = yes\n"
	"max_message = 1M\n"
	"max_clients = 128\n"
	"max_clients_per_uid = 8\n"
	"client_timeout = 30s\n"
	"\n"
	"[defaults]\n"
	"dynamic_min = 25%\n"
	"dynamic_max = 90%\n"
	"weight = 50\n"
	"mode = frozen\n"
	"\n"
	"[domain web1]\n"
	"dynamic_min = 1G\n"
	"dynamic_max = 4G\n"
	"weight = 200\n"
	"mode = auto\n"
	"\n"
	"[domain db.primary-2]\n"
	"mode = excluded\n";

static void a_full_file_sets_every_key(void **state)
{
	struct conf c;
	const struct conf_domain *d;

	parse_ok(full_file, &c);
	assert_string_equal(c.socket, "/run/test/ctl.sock");
	assert_string_equal(c.read_group, "balloon-readers");
	assert_string_equal(c.backend, "sim");
	assert_string_equal(c.scenario, "/usr/share/balloond/scenarios/busy.json");
	assert_int_equal(c.log_level, LOG_LEVEL_DEBUG);
	assert_int_equal(c.pool_kib, MIB(128));
	assert_int_equal(c.maxmem_slack_kib, MIB(2));
	assert_int_equal(c.deadband_kib, MIB(32));
	assert_int_equal(c.max_step_kib, GIB(1));
	assert_int_equal(c.reach_tolerance_kib, 512);
	assert_int_equal(c.surplus, SURPLUS_KEEP_FREE);
	assert_int_equal(c.poll_interval_ms, 100);
	assert_int_equal(c.stall_timeout_ms, 2000);
	assert_int_equal(c.uncooperative_timeout_ms, 60000);
	assert_true(c.manage_dom0);
	assert_int_equal(c.max_message, 1024 * 1024);
	assert_int_equal(c.max_clients, 128);
	assert_int_equal(c.max_clients_per_uid, 8);
	assert_int_equal(c.client_timeout_ms, 30000);

	assert_true(c.defaults.dynamic_min.is_pct);
	assert_int_equal(c.defaults.dynamic_min.pct, 25);
	assert_int_equal(c.defaults.dynamic_max.pct, 90);
	assert_int_equal(c.defaults.weight, 50);
	assert_int_equal(c.defaults.mode, MODE_FROZEN);

	assert_int_equal(c.n_domains, 2);
	assert_string_equal(c.domains[0].name, "web1");
	assert_string_equal(c.domains[1].name, "db.primary-2");
	d = conf_find_domain(&c, "web1");
	assert_ptr_equal(d, &c.domains[0]);
	assert_true(d->dynamic_min.set && !d->dynamic_min.is_pct);
	assert_int_equal(d->dynamic_min.kib, GIB(1));
	assert_true(d->dynamic_max.set && !d->dynamic_max.is_pct);
	assert_int_equal(d->dynamic_max.kib, GIB(4));
	assert_true(d->weight_set);
	assert_int_equal(d->weight, 200);
	assert_true(d->mode_set);
	assert_int_equal(d->mode, MODE_AUTO);
	d = conf_find_domain(&c, "db.primary-2");
	assert_non_null(d);
	assert_false(d->dynamic_min.set || d->dynamic_max.set || d->weight_set);
	assert_true(d->mode_set);
	assert_int_equal(d->mode, MODE_EXCLUDED);
	assert_null(conf_find_domain(&c, "web"));
	assert_null(conf_find_domain(&c, "web12"));
	assert_null(conf_find_domain(&c, "WEB1"));
	conf_free(&c);
}

static void booleans_take_true_false_yes_no_on_off_1_0(void **state)
{
	static const struct {
		const char *v;
		bool want;
	} cases[] = {
		{"true", true}, {"yes", true}, {"on", true}, {"1", true}, {"TRUE", true},
		{"Yes", true}, {"false", false}, {"no", false}, {"off", false}, {"0", false},
		{"False", false}, {"OFF", false},
	};
	char text[128];
	struct conf c;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		snprintf(text, sizeof(text), "[balloond]\nmanage_dom0 = %s\n", cases[i].v);
		parse_ok(text, &c);
		assert_int_equal(c.manage_dom0, cases[i].want);
		conf_free(&c);
	}
}

static void max_message_is_a_size_kept_in_bytes(void **state)
{
	static const struct {
		const char *v;
		uint64_t bytes;
	} cases[] = {
		{"1K", 1024}, {"64K", 65536}, {"1.5K", 2048}, {"1M", 1048576}, {"16M", 16777216},
		{"16MiB", 16777216},
	};
	char text[128];
	struct conf c;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		snprintf(text, sizeof(text), "[balloond]\nmax_message = %s\n", cases[i].v);
		parse_ok(text, &c);
		assert_int_equal(c.max_message, cases[i].bytes);
		conf_free(&c);
	}
}

static void boundary_values_are_accepted(void **state)
{
	static const char *const texts[] = {
		"[balloond]\npool = 0M\n",
		"[balloond]\npool = 1T\n",
		"[balloond]\nmaxmem_slack = 0K\n",
		"[balloond]\nmaxmem_slack = 1G\n",
		"[balloond]\ndeadband = 0M\n",
		"[balloond]\ndeadband = 64G\n",
		"[balloond]\nmax_step = 0M\n",
		"[balloond]\nmax_step = 1T\n",
		"[balloond]\nreach_tolerance = 0K\n",
		"[balloond]\nreach_tolerance = 1G\n",
		"[balloond]\npoll_interval = 10ms\n",
		"[balloond]\npoll_interval = 60s\n",
		"[balloond]\npoll_interval = 1m\n",
		"[balloond]\nstall_timeout = 100ms\nuncooperative_timeout = 100ms\n",
		"[balloond]\nstall_timeout = 1h\nuncooperative_timeout = 1h\n",
		"[balloond]\nuncooperative_timeout = 24h\n",
		"[balloond]\nuncooperative_timeout = 5s\n", /* = stall_timeout */
		"[balloond]\nmax_message = 1K\n",
		"[balloond]\nmax_message = 16M\n",
		"[balloond]\nmax_clients = 1\nmax_clients_per_uid = 1\n",
		"[balloond]\nmax_clients = 4096\nmax_clients_per_uid = 4096\n",
		"[balloond]\nmax_clients_per_uid = 64\n", /* = max_clients */
		"[balloond]\nclient_timeout = 1s\n",
		"[balloond]\nclient_timeout = 24h\n",
		"[balloond]\naudit_interval = 0\naudit_settle = 0\naudit_examples = 1\n",
		"[balloond]\naudit_interval = 7d\naudit_settle = 10m\naudit_examples = 1000\n",
		"[balloond]\nread_group =\n",
		"[balloond]\nscenario =\n",
		"[balloond]\nsocket = /x\n",
		"[defaults]\nweight = 1\n",
		"[defaults]\nweight = 10000\n",
		"[defaults]\ndynamic_min = 0%\n",
		"[defaults]\ndynamic_min = 100%\n",
		"[defaults]\ndynamic_min = 100%\ndynamic_max = 100%\n",
		"[defaults]\ndynamic_min = 0%\ndynamic_max = 1%\n",
		"[domain a]\ndynamic_min = 16M\n",
		"[domain a]\ndynamic_max = 64T\n",
		"[domain a]\ndynamic_min = 2G\ndynamic_max = 2G\n",
	};
	struct conf c;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(texts); i++) {
		parse_ok(texts[i], &c);
		conf_free(&c);
	}
}

/* ---- bad values ---- */

struct bad_value {
	const char *section;
	const char *key;
	const char *value;
	const char *want; /* in the message */
};

static const struct bad_value bad_values[] = {
	{"balloond", "socket", "control.sock", "is not an absolute path"},
	{"balloond", "socket", "", "is not an absolute path"},
	{"balloond", "socket", "\"/run/x.sock\"", "is not an absolute path"},
	{"balloond", "socket",
	 "/run/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	 "aaaaaaaaaaaaaaaaaaaaaaaa.sock",
	 "longer than 107 characters"},
	{"balloond", "read_group", "wheel staff", "is not a group name"},
	{"balloond", "read_group", "-wheel", "is not a group name"},
	{"balloond", "read_group", "a/b", "is not a group name"},
	{"balloond", "backend", "kvm", "backend: \"kvm\" is not one of auto, xen, sim"},
	{"balloond", "backend", "Xen", "is not one of"},
	{"balloond", "backend", "", "is not one of"},
	{"balloond", "scenario", "\"/tmp/x.json\"", "without quotes"},
	{"balloond", "log_level", "verbose", "is not one of err, warning, info, debug"},
	{"balloond", "log_level", "INFO", "is not one of"},
	{"balloond", "log_level", "3", "is not one of"},
	{"balloond", "pool", "72X", "pool: \"72X\" is not a size (use K, M, G or T)"},
	{"balloond", "pool", "72", "is not a size"},
	{"balloond", "pool", "", "is not a size"},
	{"balloond", "pool", "-1M", "is not a size"},
	{"balloond", "pool", "72 M", "is not a size"},
	{"balloond", "pool", "0x48M", "is not a size"},
	{"balloond", "pool", "1025G", "pool: \"1025G\" is too large (at most 1T)"},
	{"balloond", "pool", "2P", "is too large"},
	{"balloond", "maxmem_slack", "1025M", "is too large (at most 1G)"},
	{"balloond", "maxmem_slack", "1", "is not a size"},
	{"balloond", "deadband", "65G", "is too large (at most 64G)"},
	{"balloond", "deadband", "16", "is not a size"},
	{"balloond", "max_step", "0", "is not a size"},
	{"balloond", "max_step", "1.1T", "is too large (at most 1T)"},
	{"balloond", "reach_tolerance", "2G", "is too large (at most 1G)"},
	{"balloond", "reach_tolerance", "lots", "is not a size"},
	{"balloond", "surplus", "keep_free", "is not one of distribute, keep-free"},
	{"balloond", "surplus", "grow", "is not one of"},
	{"balloond", "poll_interval", "9ms", "is too short (at least 10ms)"},
	{"balloond", "poll_interval", "61s", "is too long (at most 1m)"},
	{"balloond", "poll_interval", "250", "is not a duration (use ms, s, m or h)"},
	{"balloond", "poll_interval", "31d", "is too long"},
	{"balloond", "stall_timeout", "99ms", "is too short (at least 100ms)"},
	{"balloond", "stall_timeout", "61m", "is too long (at most 1h)"},
	{"balloond", "stall_timeout", "5", "is not a duration"},
	{"balloond", "uncooperative_timeout", "50ms", "is too short"},
	{"balloond", "uncooperative_timeout", "25h", "is too long (at most 24h)"},
	{"balloond", "uncooperative_timeout", "-20s", "is not a duration"},
	{"balloond", "manage_dom0", "maybe", "is not a boolean (use true or false)"},
	{"balloond", "manage_dom0", "2", "is not a boolean"},
	{"balloond", "manage_dom0", "", "is not a boolean"},
	{"balloond", "max_message", "65536", "is not a size"},
	{"balloond", "max_message", "0K", "is too small (at least 1K)"},
	{"balloond", "max_message", "17M", "is too large (at most 16M)"},
	{"balloond", "max_clients", "0", "max_clients: \"0\" is out of range (1..4096)"},
	{"balloond", "max_clients", "4097", "is out of range (1..4096)"},
	{"balloond", "max_clients", "99999999999999999999999", "is out of range"},
	{"balloond", "max_clients", "many", "is not a whole number"},
	{"balloond", "max_clients", "-1", "is not a whole number"},
	{"balloond", "max_clients", "+64", "is not a whole number"},
	{"balloond", "max_clients", "6.4", "is not a whole number"},
	{"balloond", "max_clients", "0x40", "is not a whole number"},
	{"balloond", "max_clients_per_uid", "0", "is out of range (1..4096)"},
	{"balloond", "max_clients_per_uid", "x", "is not a whole number"},
	{"balloond", "client_timeout", "999ms", "is too short (at least 1s)"},
	{"balloond", "client_timeout", "25h", "is too long (at most 24h)"},
	{"balloond", "client_timeout", "300", "is not a duration"},
	{"balloond", "audit_interval", "169h", "is too long (at most 168h)"},
	{"balloond", "audit_interval", "10", "is not a duration"},
	{"balloond", "audit_settle", "11m", "is too long (at most 10m)"},
	{"balloond", "audit_examples", "0", "is out of range (1..1000)"},
	{"balloond", "demand_buffer", "401", "is out of range (0..400)"},
	{"balloond", "demand_buffer", "-1", "is not a whole number"},
	{"balloond", "psi_threshold", "0", "is out of range (1..100)"},
	{"balloond", "offset_max", "2G", "is too large (at most 1G)"},
	{"balloond", "demand_stale", "0", "is too short (at least 1s)"},
	{"balloond", "oscillation_window", "2h", "is too long (at most 1h)"},
	{"balloond", "audit_examples", "1001", "is out of range (1..1000)"},
	{"defaults", "dynamic_min", "101%", "is above 100% of static-max"},
	{"defaults", "dynamic_min", "-1%", "is not a percentage"},
	{"defaults", "dynamic_min", "50.5%", "is not a percentage"},
	{"defaults", "dynamic_min", "%", "is not a percentage"},
	{"defaults", "dynamic_min", "50 %", "is not a percentage"},
	{"defaults", "dynamic_min", "1G%", "is not a percentage"},
	{"defaults", "dynamic_min", "99999999999%", "is not a percentage"},
	{"defaults", "dynamic_min", "50", "is not a size (e.g. 1G) or a percentage"},
	{"defaults", "dynamic_min", "half", "is not a size (e.g. 1G) or a percentage"},
	{"defaults", "dynamic_max", "65T", "is too large (at most 64T)"},
	{"defaults", "dynamic_max", "1000%", "is above 100%"},
	{"defaults", "weight", "0", "weight: \"0\" is out of range (1..10000)"},
	{"defaults", "weight", "10001", "is out of range"},
	{"defaults", "weight", "heavy", "is not a whole number"},
	{"defaults", "weight", "-5", "is not a whole number"},
	{"defaults", "mode", "pinned", "pins are set with memctl set-target"},
	{"defaults", "mode", "manual", "is not one of auto, frozen, excluded"},
	{"defaults", "mode", "AUTO", "is not one of"},
	{"domain web1", "dynamic_min", "150%", "is above 100%"},
	{"domain web1", "dynamic_max", "4", "is not a size"},
	{"domain web1", "weight", "1.5", "is not a whole number"},
	{"domain web1", "mode", "pinned", "memctl set-target"},
	{"domain web1", "mode", "", "is not one of"},
	{"defaults", "dynamic_max", "0%", "would balloon every guest to nothing"},
	{"domain web1", "dynamic_max", "0M", "is below the 16M floor"},
	{"domain web1", "dynamic_min", "0K", "is below the 16M floor"},
	{"defaults", "dynamic_min", "15M", "is below the 16M floor"},
};

/* A valid line for section that does not set key. */
static const char *other_good_line(const char *section, const char *key)
{
	if (strcmp(section, "balloond") == 0)
		return strcmp(key, "log_level") ? "log_level = err" : "pool = 1M";
	return strcmp(key, "mode") ? "mode = auto" : "weight = 7";
}

static void every_bad_value_is_refused_at_its_line(void **state)
{
	char text[512];
	size_t i;

	for (i = 0; i < ARRAY_SIZE(bad_values); i++) {
		const struct bad_value *b = &bad_values[i];

		/* the bad line is line 5, after a comment, a header and a good key */
		snprintf(text, sizeof(text), "# test\n[%s]\n\n%s\n%s = %s\n", b->section,
			 other_good_line(b->section, b->key), b->key, b->value);
		parse_bad(text, 5, b->want);
	}
}

static void an_error_deep_in_a_file_names_its_own_line(void **state)
{
	char text[4096];
	size_t pos = 0;
	int i;

	pos += (size_t)snprintf(text + pos, sizeof(text) - pos, "[balloond]\n");
	for (i = 0; i < 40; i++)
		pos += (size_t)snprintf(text + pos, sizeof(text) - pos, "# filler %d\n\n", i);
	pos += (size_t)snprintf(text + pos, sizeof(text) - pos,
				"[domain a]\nweight = 3\n[domain b]\nweight = 0\n[domain c]\n");
	/* 1 + 80 + "[domain a]", "weight", "[domain b]", then the bad weight */
	parse_bad(text, 85, "weight: \"0\" is out of range");
}

/* ---- sections and keys ---- */

static void unknown_sections_and_keys_are_refused(void **state)
{
	static const struct {
		const char *text;
		unsigned line;
		const char *want;
	} cases[] = {
		{"[balloond]\npol = 72M\n", 2, "unknown key \"pol\" in [balloond]"},
		{"[balloond]\nPool = 72M\n", 2, "unknown key \"Pool\" in [balloond]"},
		{"[balloond]\npool_kib = 72M\n", 2, "unknown key"},
		{"[balloond]\nweight = 3\n", 2,
		 "unknown key \"weight\" in [balloond] (it belongs in [defaults] or [domain NAME])"},
		{"[defaults]\npool = 72M\n", 2,
		 "unknown key \"pool\" in [defaults] (it belongs in [balloond])"},
		{"[domain a]\nsocket = /x\n", 2, "unknown key \"socket\" in [domain a]"},
		{"[defaults]\nname = web1\n", 2, "unknown key \"name\" in [defaults]"},
		{"[balloond]\n= 5\n", 2, "missing key name"},
		{"[balooond]\n", 1, "unknown section [balooond]"},
		{"[Balloond]\n", 1, "unknown section [Balloond]"},
		{"# c\n[default]\nweight = 1\n", 2, "unknown section [default]"},
		{"[]\n", 1, "unknown section []"},
		{"[domains web1]\n", 1, "unknown section [domains web1]"},
		{"[domainweb1]\n", 1, "unknown section [domainweb1]"},
		{"[domain]\n", 1, "needs a domain name"},
		{"[domain   ]\n", 1, "needs a domain name"},
		{"[domain web/1]\n", 1, "\"web/1\" is not a domain name"},
		{"[domain web 1]\n", 1, "is not a domain name"},
		{"[domain web1;x]\n", 1, "is not a domain name"},
		{"[domain "
		 "a123456789b123456789c123456789d123456789e123456789f123456789abcd]\n",
		 1, "is not a domain name (1 to 63"},
		{"pool = 72M\n[balloond]\n", 1, "\"pool\" comes before any [section]"},
		{"[balloond]\npool 72M\n", 2, "expected \"key = value\""},
		{"[balloond]\njunk\n", 2, "expected \"key = value\""},
		{"[balloond\npool = 1M\n", 1, "section header without \"]\""},
		{"[balloond ;]\n", 1, "section header without \"]\""},
		{"[balloond] pool = 1M\n", 1, "unexpected text after \"]\""},
		{"[balloond]\npool = 72M\n  deadband = 8M\n", 3, "indented line"},
		{"[balloond]\npool = 72M\n\n\t[defaults]\n", 4, "indented line"},
	};
	size_t i;

	for (i = 0; i < ARRAY_SIZE(cases); i++)
		parse_bad(cases[i].text, cases[i].line, cases[i].want);
}

static void duplicate_sections_are_refused_even_when_empty(void **state)
{
	parse_bad("[balloond]\npool = 1M\n[defaults]\n[balloond]\n", 4,
		  "duplicate section [balloond] (first on line 1)");
	parse_bad("[defaults]\n\n[defaults]\n", 3, "duplicate section [defaults] (first on line 1)");
	parse_bad("[domain a]\n[domain b]\n[domain a]\nweight = 1\n", 3,
		  "duplicate section [domain a]");
	parse_bad("[domain a]\nweight = 1\n[domain  a]\n", 3, "duplicate section [domain a]");
}

/* Many [domain] sections: every one found by name after the parse and
 * after a copy, a late duplicate still refused at its line. */
static void fifty_thousand_sections_are_indexed_and_duplicates_still_refused(void **state)
{
	enum { N = 50000 };
	size_t cap = (size_t)N * 40 + 64, pos = 0, i;
	char *text = malloc(cap), name[32];
	const struct conf_domain *d;
	struct conf c, copy;
	struct conf_error e;
	char err[256];

	assert_non_null(text);
	for (i = 0; i < N; i++)
		pos += (size_t)snprintf(text + pos, cap - pos, "[domain g%zu]\nweight = %zu\n", i,
					i % 10000 + 1);
	parse_ok(text, &c);
	assert_int_equal(c.n_domains, N);
	for (i = 0; i < N; i++) {
		snprintf(name, sizeof(name), "g%zu", i);
		d = conf_find_domain(&c, name);
		assert_non_null(d);
		assert_ptr_equal(d, &c.domains[i]);
		assert_int_equal(d->weight, i % 10000 + 1);
	}
	assert_null(conf_find_domain(&c, "g50000"));
	assert_null(conf_find_domain(&c, "g"));
	assert_null(conf_find_domain(&c, ""));

	assert_int_equal(conf_copy(&copy, &c), 0);
	conf_free(&c);
	assert_int_equal(conf_find_domain(&copy, "g49999")->weight, 49999 % 10000 + 1);
	assert_int_equal(conf_set(&copy, "domain extra", "weight", "7", err, sizeof(err)), 0);
	assert_int_equal(conf_set(&copy, "domain g3", "weight", "8", err, sizeof(err)), 0);
	assert_int_equal(copy.n_domains, N + 1);
	assert_int_equal(conf_find_domain(&copy, "extra")->weight, 7);
	assert_int_equal(conf_find_domain(&copy, "g3")->weight, 8);
	assert_int_equal(conf_find_domain(&copy, "g12345")->weight, 12345 % 10000 + 1);
	conf_free(&copy);

	pos += (size_t)snprintf(text + pos, cap - pos, "[domain g777]\n");
	assert_int_equal(conf_parse_string(text, "test.conf", &c, &e), -EINVAL);
	assert_int_equal(e.line, 2 * N + 1);
	assert_string_equal(e.msg, "duplicate section [domain g777]");
	free(text);
}

/* Nothing typed in the file reaches a message raw: control characters and
 * invalid UTF-8 come out as \xNN, valid UTF-8 stays as it is. */
static void errors_escape_control_characters_and_invalid_utf8(void **state)
{
	static const struct {
		const char *text, *want;
	} cases[] = {
		{"[balloond]\npool = \x1b[31mred\n", "pool: \"\\x1b[31mred\" is not a size"},
		{"[balloond]\nbackend = x\x07y\n", "backend: \"x\\x07y\" is not one of"},
		{"[balloond]\npool = 1\xffM\n", "pool: \"1\\xffM\" is not a size"},
		{"[balloond]\npool = \xc3\xa9\n", "pool: \"\xc3\xa9\" is not a size"},
		{"[balloond]\np\x1bool = 1M\n", "unknown key \"p\\x1bool\" in [balloond]"},
		{"[domain a\001b]\n", "\"a\\x01b\" is not a domain name"},
		{"[bad\x7f]\n", "unknown section [bad\\x7f]"},
		{"\x1b = 1\n", "\"\\x1b\" comes before any [section]"},
		{"[domain a]\nmode = \xed\xa0\x80\n", "mode: \"\\xed\\xa0\\x80\" is not one of"},
	};
	struct conf c;
	struct conf_error e;
	char err[256];
	size_t i, j;

	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		assert_int_equal(conf_parse_string(cases[i].text, "t", &c, &e), -EINVAL);
		if (!strstr(e.msg, cases[i].want))
			fail_msg("case %zu: \"%s\" lacks \"%s\"", i, e.msg, cases[i].want);
		for (j = 0; e.msg[j]; j++)
			assert_true((unsigned char)e.msg[j] >= 0x20 && e.msg[j] != 0x7f);
	}
	conf_init(&c);
	assert_int_equal(conf_set(&c, "balloond", "deadband", "\x1b]0;x\x07", err, sizeof(err)),
			 -EINVAL);
	assert_string_equal(err, "deadband: \"\\x1b]0;x\\x07\" is not a size (use K, M, G or T)");
	conf_free(&c);
}

static void duplicate_keys_in_one_section_are_refused(void **state)
{
	parse_bad("[balloond]\npool = 1M\ndeadband = 1M\npool = 2M\n", 4,
		  "duplicate key \"pool\" in [balloond] (first on line 2)");
	parse_bad("[balloond]\npool = 1M\npool = 1M\n", 3, "duplicate key \"pool\"");
	parse_bad("[defaults]\nmode = auto\nmode = frozen\n", 3,
		  "duplicate key \"mode\" in [defaults] (first on line 2)");
	parse_bad("[domain x]\nweight = 1\n\nweight = 2\n", 4,
		  "duplicate key \"weight\" in [domain x] (first on line 2)");
}

static void the_same_key_in_different_sections_is_fine(void **state)
{
	struct conf c;

	parse_ok("[defaults]\nweight = 5\n[domain a]\nweight = 6\n[domain b]\nweight = 7\n", &c);
	assert_int_equal(c.defaults.weight, 5);
	assert_int_equal(conf_find_domain(&c, "a")->weight, 6);
	assert_int_equal(conf_find_domain(&c, "b")->weight, 7);
	conf_free(&c);
}

static void domain_sections_keep_file_order_and_set_only_their_keys(void **state)
{
	static const char name63[] =
		"a123456789b123456789c123456789d123456789e123456789f123456789abc";
	char text[512];
	struct conf c;
	const struct conf_domain *d;

	snprintf(text, sizeof(text),
		 "[domain zeta]\nweight = 1\n"
		 "[domain %s]\nweight = 2\n"
		 "[domain alpha]\n"
		 "[domain\t Mixed_Case.name-9 ]\ndynamic_max = 75%%\n",
		 name63);
	parse_ok(text, &c);
	assert_int_equal(c.n_domains, 4);
	assert_string_equal(c.domains[0].name, "zeta");
	assert_string_equal(c.domains[1].name, name63); /* longer than inih's own limit */
	assert_string_equal(c.domains[2].name, "alpha");
	assert_string_equal(c.domains[3].name, "Mixed_Case.name-9");
	assert_int_equal(conf_find_domain(&c, name63)->weight, 2);

	d = conf_find_domain(&c, "alpha"); /* a section without keys sets nothing */
	assert_non_null(d);
	assert_false(d->dynamic_min.set || d->dynamic_max.set || d->weight_set || d->mode_set);

	d = conf_find_domain(&c, "Mixed_Case.name-9");
	assert_false(d->dynamic_min.set || d->weight_set || d->mode_set);
	assert_true(d->dynamic_max.set && d->dynamic_max.is_pct);
	assert_int_equal(d->dynamic_max.pct, 75);
	assert_null(conf_find_domain(&c, "mixed_case.name-9"));
	assert_null(conf_find_domain(&c, NULL));
	conf_free(&c);
}

static void percent_and_size_bounds_are_told_apart(void **state)
{
	struct conf c;
	const struct conf_domain *d;

	parse_ok("[domain a]\ndynamic_min = 0%\ndynamic_max = 2.5G\n", &c);
	d = conf_find_domain(&c, "a");
	assert_true(d->dynamic_min.set && d->dynamic_min.is_pct);
	assert_int_equal(d->dynamic_min.pct, 0);
	assert_true(d->dynamic_max.set && !d->dynamic_max.is_pct);
	assert_int_equal(d->dynamic_max.kib, GIB(2) + MIB(512));
	conf_free(&c);
}

static void syntax_variants_that_inih_accepts_are_read_alike(void **state)
{
	static const char *const texts[] = {
		"[balloond]\npool = 96M\n",
		"[balloond]\r\npool = 96M\r\n",
		"[balloond]\npool=96M",
		"[balloond]\npool = 96M ; the safety pool\n",
		"[balloond] ; the daemon\n  # indented comment\npool = 96M\n",
		"\n\n[ balloond ]\n\n\n\tpool = 96M\n",
		"\xef\xbb\xbf[balloond]\npool = 96M\n",
		"[balloond]\npool   =    96M   \n",
	};
	struct conf c;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(texts); i++) {
		parse_ok(texts[i], &c);
		if (c.pool_kib != MIB(96))
			fail_msg("pool not read from: %s", texts[i]);
		conf_free(&c);
	}
}

static void over_long_lines_are_refused_not_split(void **state)
{
	char text[1024];

	/* 150 characters: fine */
	snprintf(text, sizeof(text), "[balloond]\nscenario = /%0140d\n", 0);
	{
		struct conf c;

		parse_ok(text, &c);
		assert_int_equal(strlen(c.scenario), 141);
		conf_free(&c);
	}
	snprintf(text, sizeof(text), "[balloond]\n# ok\nscenario = /%0300d\npool = 1M\n", 0);
	parse_bad(text, 3, "line is longer than");
	snprintf(text, sizeof(text), "[balloond]\n#%0400d\n", 0);
	parse_bad(text, 2, "line is longer than");
}

/* ---- checks across keys ---- */

static void dynamic_min_above_dynamic_max_in_one_section_is_refused(void **state)
{
	parse_bad("[domain a]\ndynamic_min = 4G\ndynamic_max = 2G\n", 3,
		  "dynamic_min (4G) is above dynamic_max (2G) in [domain a]");
	parse_bad("[domain a]\ndynamic_max = 2G\n\ndynamic_min = 2049M\n[domain b]\n", 4,
		  "is above dynamic_max");
	parse_bad("[defaults]\ndynamic_min = 60%\ndynamic_max = 40%\n", 3,
		  "dynamic_min (60%) is above dynamic_max (40%) in [defaults]");
	parse_bad("[defaults]\ndynamic_max = 40%\n[balloond]\n", 2,
		  "dynamic_min (50%, the default) is above dynamic_max (40%) in [defaults]");
	parse_bad("[defaults]\n\ndynamic_min = 2%\ndynamic_max = 1%\n", 4, "is above");
}

static void bounds_that_cannot_be_compared_are_accepted(void **state)
{
	static const char *const texts[] = {
		/* a size against a percentage needs static-max: the engine clamps */
		"[domain a]\ndynamic_min = 4G\ndynamic_max = 10%\n",
		"[domain a]\ndynamic_min = 90%\ndynamic_max = 1G\n",
		/* only one bound in the section: the other comes from elsewhere */
		"[domain a]\ndynamic_max = 10%\n",
		"[domain a]\ndynamic_min = 100%\n",
		"[defaults]\ndynamic_min = 4G\n",
	};
	struct conf c;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(texts); i++) {
		parse_ok(texts[i], &c);
		conf_free(&c);
	}
}

static void max_clients_per_uid_above_max_clients_is_refused_after_the_file(void **state)
{
	struct conf c;

	/* the default per-uid cap (16) above a lowered total */
	parse_bad("[balloond]\nmax_clients = 8\npool = 1M\n", 2,
		  "max_clients_per_uid (16) is above max_clients (8)");
	parse_bad("[balloond]\nmax_clients_per_uid = 65\n", 2,
		  "max_clients_per_uid (65) is above max_clients (64)");
	parse_bad("[balloond]\nmax_clients_per_uid = 10\n\nmax_clients = 9\n", 4, "is above");
	/* the order of the two keys does not matter */
	parse_ok("[balloond]\nmax_clients_per_uid = 100\nmax_clients = 200\n", &c);
	assert_int_equal(c.max_clients_per_uid, 100);
	conf_free(&c);
}

static void uncooperative_timeout_below_stall_timeout_is_refused(void **state)
{
	struct conf c;

	parse_bad("[balloond]\nstall_timeout = 30s\n", 2,
		  "uncooperative_timeout (20s) is shorter than stall_timeout (30s)");
	parse_bad("[balloond]\nuncooperative_timeout = 4s\n", 2, "is shorter than stall_timeout");
	parse_bad("[balloond]\nuncooperative_timeout = 10s\nstall_timeout = 11s\n", 3,
		  "is shorter than");
	parse_ok("[balloond]\nuncooperative_timeout = 2m\nstall_timeout = 1m\n", &c);
	conf_free(&c);
}

/* ---- files ---- */

/* Write text to a new temporary file; returns its path (free it). */
static char *temp_file(const void *data, size_t len)
{
	char *path = strdup("/tmp/test-conf.XXXXXX");
	int fd;

	assert_non_null(path);
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, data, len), (ssize_t)len);
	close(fd);
	return path;
}

static void a_missing_file_is_enoent_and_leaves_the_result_alone(void **state)
{
	struct conf c, before;
	struct conf_error e;

	memset(&c, 0x5a, sizeof(c));
	memcpy(&before, &c, sizeof(c));
	assert_int_equal(conf_parse_file("/nonexistent/balloond.conf", &c, &e), -ENOENT);
	assert_string_equal(e.file, "/nonexistent/balloond.conf");
	assert_int_equal(e.line, 0);
	assert_non_null(strstr(e.msg, "cannot open"));
	assert_memory_equal(&c, &before, sizeof(c));
}

static void a_directory_is_refused_as_a_file(void **state)
{
	struct conf c;
	struct conf_error e;

	assert_int_equal(conf_parse_file("/", &c, &e), -EISDIR);
	assert_string_equal(e.file, "/");
	assert_int_equal(e.line, 0);
	assert_non_null(strstr(e.msg, "not a regular file (it is a directory)"));
}

/* A FIFO with no writer would block a reader forever (--check-config, or
 * the whole loop on SIGHUP); alarm() kills this test if it regresses. */
static void a_fifo_or_a_device_is_refused_without_blocking(void **state)
{
	char dir[] = "/tmp/test-conf-fifo.XXXXXX", path[64];
	struct conf c, before;
	struct conf_error e;

	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/balloond.conf", dir);
	assert_int_equal(mkfifo(path, 0600), 0);
	memset(&c, 0x5a, sizeof(c));
	memcpy(&before, &c, sizeof(c));
	alarm(10);
	assert_int_equal(conf_parse_file(path, &c, &e), -EINVAL);
	alarm(0);
	assert_memory_equal(&c, &before, sizeof(c));
	assert_string_equal(e.file, path);
	assert_int_equal(e.line, 0);
	assert_string_equal(e.msg, "not a regular file (it is a FIFO)");
	unlink(path);
	rmdir(dir);

	alarm(10);
	assert_int_equal(conf_parse_file("/dev/null", &c, &e), -EINVAL);
	alarm(0);
	assert_string_equal(e.msg, "not a regular file (it is a character device)");
}

static void a_file_is_parsed_and_errors_name_its_path(void **state)
{
	static const char good[] = "[balloond]\npool = 96M\n[domain a]\nweight = 9\n";
	static const char bad[] = "[balloond]\n# ok\npool = 96Q\n";
	struct conf c;
	struct conf_error e;
	char *path = temp_file(good, strlen(good));

	assert_int_equal(conf_parse_file(path, &c, &e), 0);
	assert_int_equal(c.pool_kib, MIB(96));
	assert_int_equal(conf_find_domain(&c, "a")->weight, 9);
	conf_free(&c);
	unlink(path);
	free(path);

	path = temp_file(bad, strlen(bad));
	assert_int_equal(conf_parse_file(path, &c, &e), -EINVAL);
	assert_string_equal(e.file, path);
	assert_int_equal(e.line, 3);
	assert_non_null(strstr(e.msg, "pool: \"96Q\" is not a size"));
	unlink(path);
	free(path);
}

static void a_nul_byte_in_a_file_is_refused(void **state)
{
	static const char data[] = "[balloond]\npool = 96M\nsocket = /run/a\0b\n";
	struct conf c;
	struct conf_error e;
	char *path = temp_file(data, sizeof(data) - 1);

	assert_int_equal(conf_parse_file(path, &c, &e), -EINVAL);
	assert_int_equal(e.line, 3);
	assert_non_null(strstr(e.msg, "NUL"));
	unlink(path);
	free(path);
}

static void a_refused_parse_leaves_the_callers_struct_unchanged(void **state)
{
	/* each fails at a different stage, some after domains were allocated */
	parse_bad("[domain a]\n[domain b]\nweight = 1\n[domain c]\nmode = pinned\n", 5, "pinned");
	parse_bad("[domain a]\n[domain b]\n[domain a]\n", 3, "duplicate section");
	parse_bad("[domain a]\nweight = 1\n[balloond]\nmax_clients = 2\n", 4, "max_clients");
	parse_bad("[domain a]\n[domain b]\ndynamic_min = 3G\ndynamic_max = 1G\n", 4, "above");
	parse_bad("[domain a]\n[domain b]\n[bogus]\n", 3, "unknown section");
	parse_bad("[domain a]\nweight 1\n", 2, "expected");
}

static void a_refused_parse_keeps_a_loaded_config_intact(void **state)
{
	struct conf c, copy;
	struct conf_error e;

	parse_ok(full_file, &c);
	assert_int_equal(conf_copy(&copy, &c), 0);
	assert_int_equal(conf_parse_string("[domain x]\n[balloond]\npool = 1Q\n", "reload", &c, &e),
			 -EINVAL);
	assert_string_equal(e.file, "reload");
	assert_same_settings(&c, &copy);
	assert_int_equal(c.n_domains, copy.n_domains);
	assert_memory_equal(c.domains, copy.domains, c.n_domains * sizeof(*c.domains));
	conf_free(&c);
	conf_free(&copy);
}

static void null_arguments_are_refused(void **state)
{
	struct conf c;
	struct conf_error e;

	assert_int_equal(conf_parse_string(NULL, "x", &c, &e), -EINVAL);
	assert_int_equal(conf_parse_string("", "x", NULL, &e), -EINVAL);
	assert_int_equal(conf_parse_file(NULL, &c, &e), -EINVAL);
	assert_int_equal(conf_parse_string("[balloond]\n", NULL, &c, NULL), 0);
	conf_free(&c);
}

static void random_texts_are_parsed_or_refused_with_a_line_and_a_reason(void **state)
{
	static const char *const pieces[] = {
		"[balloond]", "[defaults]", "[domain a]", "[domain b]", "[domain", "]", "[", "pool",
		"weight", "mode", "dynamic_min", "dynamic_max", "max_clients", "stall_timeout",
		"socket", " = ", "=", ":", "72M", "50%", "1.5G", "5s", "auto", "pinned", "1", "0",
		"\n", "\n", "\n", "\r\n", " ", "\t", ";", "#", "%", "\xff", "\xef\xbb\xbf", "-",
	};
	uint64_t seed = 0x9e3779b97f4a7c15ULL;
	char text[2048];
	int i;

	for (i = 0; i < 5000; i++) {
		size_t pos = 0, n, lines = 1, k;
		struct conf c;
		struct conf_error e;
		int r;

		seed ^= seed << 13;
		seed ^= seed >> 7;
		seed ^= seed << 17;
		n = seed % 60;
		for (k = 0; k < n; k++) {
			const char *piece;

			seed ^= seed << 13;
			seed ^= seed >> 7;
			seed ^= seed << 17;
			piece = pieces[seed % ARRAY_SIZE(pieces)];
			if (pos + strlen(piece) + 1 >= sizeof(text))
				break;
			memcpy(text + pos, piece, strlen(piece));
			pos += strlen(piece);
			lines += piece[0] == '\n' || piece[1] == '\n';
		}
		text[pos] = '\0';
		r = conf_parse_string(text, "random", &c, &e);
		if (r == 0) {
			conf_free(&c);
			continue;
		}
		if (r != -EINVAL || e.line > lines || !e.msg[0])
			fail_msg("returned %d, line %u of %zu, \"%s\"\n--- text ---\n%s", r, e.line,
				 lines, e.msg, text);
	}
}

/* ---- the shipped file ---- */

/* The shipped conf/balloond.conf, read into a new string. */
static char *shipped_file_read(char *path, size_t len)
{
	const char *top = getenv("top_srcdir");
	FILE *f;
	char *text;
	long n;

	snprintf(path, len, "%s/conf/balloond.conf", top && top[0] ? top : ".");
	f = fopen(path, "r");
	if (!f)
		fail_msg("cannot open %s (set top_srcdir)", path);
	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	n = ftell(f);
	assert_true(n > 0);
	rewind(f);
	text = calloc(1, (size_t)n + 1);
	assert_non_null(text);
	assert_int_equal(fread(text, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	return text;
}

static void the_shipped_file_parses_to_the_defaults(void **state)
{
	char path[4096];
	struct conf c, want;
	struct conf_error e;
	char *text = shipped_file_read(path, sizeof(path));

	free(text);
	if (conf_parse_file(path, &c, &e) != 0)
		fail_msg("%s:%u: %s", e.file, e.line, e.msg);
	conf_init(&want);
	assert_same_settings(&c, &want);
	assert_int_equal(c.n_domains, 0);
	conf_free(&c);
}

static void the_shipped_file_shows_every_key_with_its_true_default(void **state)
{
	char path[4096], key[64];
	struct conf c, want;
	char *text = shipped_file_read(path, sizeof(path)), *line, *save = NULL;
	size_t i, len = strlen(text), pos = 0;
	char *out = calloc(1, len + 1);

	/* uncomment "#key = value" and "#[section]" lines; "# prose" stays */
	assert_non_null(out);
	for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		if (line[0] == '#' && line[1] && line[1] != ' ' && line[1] != '#')
			line++;
		pos += (size_t)snprintf(out + pos, len + 1 - pos, "%s\n", line);
	}
	for (i = 0; i < ARRAY_SIZE(all_main_keys); i++) {
		snprintf(key, sizeof(key), "\n%s =", all_main_keys[i]);
		if (!strstr(out, key))
			fail_msg("%s does not show \"%s\"", path, all_main_keys[i]);
	}
	for (i = 0; i < ARRAY_SIZE(all_domain_keys); i++) {
		snprintf(key, sizeof(key), "\n%s =", all_domain_keys[i]);
		if (!strstr(out, key))
			fail_msg("%s does not show \"%s\"", path, all_domain_keys[i]);
	}
	parse_ok(out, &c);
	conf_init(&want);
	assert_same_settings(&c, &want);
	assert_int_equal(c.n_domains, 1); /* the example */
	assert_non_null(conf_find_domain(&c, "web1"));
	conf_free(&c);
	free(out);
	free(text);
}

/* ---- conf_set ---- */

static void conf_set_overrides_keys_of_an_initialised_conf(void **state)
{
	struct conf c;
	char err[256];

	conf_init(&c);
	assert_int_equal(conf_set(&c, "balloond", "pool", "96M", err, sizeof(err)), 0);
	assert_int_equal(c.pool_kib, MIB(96));
	assert_int_equal(conf_set(&c, "balloond", "pool", "128M", err, sizeof(err)), 0);
	assert_int_equal(c.pool_kib, MIB(128));
	assert_int_equal(conf_set(&c, "balloond", "backend", "sim", err, sizeof(err)), 0);
	assert_string_equal(c.backend, "sim");
	assert_int_equal(conf_set(&c, "balloond", "scenario", "tests/e2e/basic.json", err,
				  sizeof(err)),
			 0);
	assert_string_equal(c.scenario, "tests/e2e/basic.json");
	assert_int_equal(conf_set(&c, "balloond", "log_level", "warning", err, sizeof(err)), 0);
	assert_int_equal(c.log_level, LOG_LEVEL_WARNING);
	assert_int_equal(conf_set(&c, "balloond", "surplus", "keep-free", err, sizeof(err)), 0);
	assert_int_equal(c.surplus, SURPLUS_KEEP_FREE);
	assert_int_equal(conf_set(&c, "defaults", "dynamic_min", "1G", err, sizeof(err)), 0);
	assert_false(c.defaults.dynamic_min.is_pct);
	assert_int_equal(c.defaults.dynamic_min.kib, GIB(1));
	conf_free(&c);
}

static void conf_set_creates_a_domain_section_once_and_then_updates_it(void **state)
{
	struct conf c;
	char err[256];

	conf_init(&c);
	assert_int_equal(conf_set(&c, "domain web1", "weight", "300", err, sizeof(err)), 0);
	assert_int_equal(conf_set(&c, "domain web2", "mode", "frozen", err, sizeof(err)), 0);
	assert_int_equal(conf_set(&c, "domain web1", "weight", "400", err, sizeof(err)), 0);
	assert_int_equal(conf_set(&c, "domain  web1", "dynamic_max", "80%", err, sizeof(err)), 0);
	assert_int_equal(c.n_domains, 2);
	assert_string_equal(c.domains[0].name, "web1");
	assert_int_equal(c.domains[0].weight, 400);
	assert_true(c.domains[0].dynamic_max.is_pct);
	assert_false(c.domains[0].mode_set);
	assert_int_equal(conf_find_domain(&c, "web2")->mode, MODE_FROZEN);
	conf_free(&c);
}

static void conf_set_applies_over_a_parsed_file(void **state)
{
	struct conf c;
	char err[256];

	parse_ok(full_file, &c);
	assert_int_equal(conf_set(&c, "domain web1", "weight", "5", err, sizeof(err)), 0);
	assert_int_equal(conf_set(&c, "domain new", "weight", "6", err, sizeof(err)), 0);
	assert_int_equal(conf_find_domain(&c, "web1")->weight, 5);
	assert_int_equal(conf_find_domain(&c, "web1")->dynamic_max.kib, GIB(4));
	assert_int_equal(c.n_domains, 3);
	assert_int_equal(conf_find_domain(&c, "new")->weight, 6);
	conf_free(&c);
}

static void a_refused_conf_set_changes_nothing(void **state)
{
	static const struct {
		const char *section, *key, *value, *want;
	} cases[] = {
		{"balloond", "pool", "96Q", "pool: \"96Q\" is not a size"},
		{"balloond", "pol", "96M", "unknown key \"pol\" in [balloond]"},
		{"balloond", "backend", "kvm", "is not one of"},
		{"balloond", "socket", "relative.sock", "absolute path"},
		{"defaults", "weight", "0", "out of range"},
		{"defaults", "mode", "pinned", "memctl set-target"},
		{"domain web1", "weight", "0", "out of range"},
		{"domain fresh", "weight", "0", "out of range"},
		{"domain fresh", "pool", "1M", "unknown key"},
		{"domain", "weight", "1", "needs a domain name"},
		{"domain bad/name", "weight", "1", "is not a domain name"},
		{"domain web1 ", "weight", "1", "is not a domain name"},
		{"web1", "weight", "1", "unknown section [web1]"},
		{"", "pool", "1M", "unknown section []"},
		{"Balloond", "pool", "1M", "unknown section"},
	};
	struct conf c, before;
	char err[256];
	size_t i;

	conf_init(&c);
	assert_int_equal(conf_set(&c, "domain web1", "weight", "3", err, sizeof(err)), 0);
	memcpy(&before, &c, sizeof(c));
	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		err[0] = '\0';
		assert_int_equal(conf_set(&c, cases[i].section, cases[i].key, cases[i].value, err,
					  sizeof(err)),
				 -EINVAL);
		if (!strstr(err, cases[i].want))
			fail_msg("[%s] %s = %s: got \"%s\", expected \"%s\"", cases[i].section,
				 cases[i].key, cases[i].value, err, cases[i].want);
		assert_memory_equal(&c, &before, sizeof(c));
		assert_int_equal(c.domains[0].weight, 3);
		assert_null(conf_find_domain(&c, "fresh"));
	}
	assert_int_equal(conf_set(&c, NULL, "pool", "1M", err, sizeof(err)), -EINVAL);
	assert_int_equal(conf_set(&c, "balloond", NULL, "1M", err, sizeof(err)), -EINVAL);
	assert_int_equal(conf_set(&c, "balloond", "pool", NULL, err, sizeof(err)), -EINVAL);
	assert_int_equal(conf_set(&c, "balloond", "pool", "1Q", NULL, 0), -EINVAL);
	assert_memory_equal(&c, &before, sizeof(c));
	conf_free(&c);
}

static void too_long_strings_are_refused_never_truncated(void **state)
{
	char v[400], err[256];
	struct conf c;

	conf_init(&c);
	memset(v, 'a', sizeof(v));
	v[0] = '/';
	v[CONF_PATH_MAX] = '\0'; /* 256 characters: one too many */
	assert_int_equal(conf_set(&c, "balloond", "scenario", v, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "longer than 255 characters"));
	assert_string_equal(c.scenario, "");
	v[CONF_PATH_MAX - 1] = '\0'; /* 255: fits */
	assert_int_equal(conf_set(&c, "balloond", "scenario", v, err, sizeof(err)), 0);
	assert_int_equal(strlen(c.scenario), CONF_PATH_MAX - 1);

	v[108] = '\0';
	assert_int_equal(conf_set(&c, "balloond", "socket", v, err, sizeof(err)), -EINVAL);
	assert_string_equal(c.socket, CONF_DEFAULT_SOCKET);
	v[107] = '\0';
	assert_int_equal(conf_set(&c, "balloond", "socket", v, err, sizeof(err)), 0);

	memset(v, 'g', sizeof(v));
	v[CONF_NAME_MAX] = '\0';
	assert_int_equal(conf_set(&c, "balloond", "read_group", v, err, sizeof(err)), -EINVAL);
	assert_string_equal(c.read_group, "");
	v[CONF_NAME_MAX - 1] = '\0';
	assert_int_equal(conf_set(&c, "balloond", "read_group", v, err, sizeof(err)), 0);

	assert_int_equal(conf_set(&c, "balloond", "scenario", "/a\tb", err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "control character"));
	conf_free(&c);
}

/* ---- ownership and names ---- */

static void conf_copy_is_deep(void **state)
{
	struct conf c, copy, empty, empty_copy;

	parse_ok(full_file, &c);
	assert_int_equal(conf_copy(&copy, &c), 0);
	assert_ptr_not_equal(copy.domains, c.domains);
	assert_int_equal(copy.n_domains, c.n_domains);
	assert_memory_equal(copy.domains, c.domains, c.n_domains * sizeof(*c.domains));
	assert_same_settings(&copy, &c);
	c.domains[0].weight = 1;
	assert_int_equal(conf_find_domain(&copy, "web1")->weight, 200);
	conf_free(&c);
	assert_string_equal(copy.domains[1].name, "db.primary-2");
	conf_free(&copy);

	conf_init(&empty);
	assert_int_equal(conf_copy(&empty_copy, &empty), 0);
	assert_null(empty_copy.domains);
	assert_int_equal(empty_copy.n_domains, 0);
	conf_free(&empty_copy);
}

static void conf_free_accepts_null_and_repeats(void **state)
{
	struct conf c;

	conf_free(NULL);
	parse_ok("[domain a]\n", &c);
	conf_free(&c);
	assert_null(c.domains);
	assert_int_equal(c.n_domains, 0);
	conf_free(&c);
}

static void mode_and_surplus_names_read_back(void **state)
{
	static const enum domain_mode modes[] = {MODE_AUTO, MODE_PINNED, MODE_FROZEN,
						  MODE_EXCLUDED};
	enum domain_mode m;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(modes); i++) {
		m = (enum domain_mode)99;
		assert_int_equal(domain_mode_parse(domain_mode_name(modes[i]), &m), 0);
		assert_int_equal(m, modes[i]);
	}
	assert_string_equal(domain_mode_name(MODE_PINNED), "pinned");
	assert_string_equal(domain_mode_name((enum domain_mode)42), "?");
	m = MODE_FROZEN;
	assert_int_equal(domain_mode_parse("Auto", &m), -EINVAL);
	assert_int_equal(domain_mode_parse("", &m), -EINVAL);
	assert_int_equal(domain_mode_parse(NULL, &m), -EINVAL);
	assert_int_equal(m, MODE_FROZEN);
	assert_string_equal(surplus_mode_name(SURPLUS_DISTRIBUTE), "distribute");
	assert_string_equal(surplus_mode_name(SURPLUS_KEEP_FREE), "keep-free");
	assert_string_equal(surplus_mode_name((enum surplus_mode)7), "?");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(conf_init_sets_every_documented_default),
		cmocka_unit_test(empty_and_comment_only_files_give_the_defaults),
		cmocka_unit_test(a_full_file_sets_every_key),
		cmocka_unit_test(booleans_take_true_false_yes_no_on_off_1_0),
		cmocka_unit_test(max_message_is_a_size_kept_in_bytes),
		cmocka_unit_test(boundary_values_are_accepted),
		cmocka_unit_test(every_bad_value_is_refused_at_its_line),
		cmocka_unit_test(an_error_deep_in_a_file_names_its_own_line),
		cmocka_unit_test(unknown_sections_and_keys_are_refused),
		cmocka_unit_test(duplicate_sections_are_refused_even_when_empty),
		cmocka_unit_test(fifty_thousand_sections_are_indexed_and_duplicates_still_refused),
		cmocka_unit_test(errors_escape_control_characters_and_invalid_utf8),
		cmocka_unit_test(duplicate_keys_in_one_section_are_refused),
		cmocka_unit_test(the_same_key_in_different_sections_is_fine),
		cmocka_unit_test(domain_sections_keep_file_order_and_set_only_their_keys),
		cmocka_unit_test(percent_and_size_bounds_are_told_apart),
		cmocka_unit_test(syntax_variants_that_inih_accepts_are_read_alike),
		cmocka_unit_test(over_long_lines_are_refused_not_split),
		cmocka_unit_test(dynamic_min_above_dynamic_max_in_one_section_is_refused),
		cmocka_unit_test(bounds_that_cannot_be_compared_are_accepted),
		cmocka_unit_test(max_clients_per_uid_above_max_clients_is_refused_after_the_file),
		cmocka_unit_test(uncooperative_timeout_below_stall_timeout_is_refused),
		cmocka_unit_test(a_missing_file_is_enoent_and_leaves_the_result_alone),
		cmocka_unit_test(a_directory_is_refused_as_a_file),
		cmocka_unit_test(a_fifo_or_a_device_is_refused_without_blocking),
		cmocka_unit_test(a_file_is_parsed_and_errors_name_its_path),
		cmocka_unit_test(a_nul_byte_in_a_file_is_refused),
		cmocka_unit_test(a_refused_parse_leaves_the_callers_struct_unchanged),
		cmocka_unit_test(a_refused_parse_keeps_a_loaded_config_intact),
		cmocka_unit_test(null_arguments_are_refused),
		cmocka_unit_test(random_texts_are_parsed_or_refused_with_a_line_and_a_reason),
		cmocka_unit_test(the_shipped_file_parses_to_the_defaults),
		cmocka_unit_test(the_shipped_file_shows_every_key_with_its_true_default),
		cmocka_unit_test(conf_set_overrides_keys_of_an_initialised_conf),
		cmocka_unit_test(conf_set_creates_a_domain_section_once_and_then_updates_it),
		cmocka_unit_test(conf_set_applies_over_a_parsed_file),
		cmocka_unit_test(a_refused_conf_set_changes_nothing),
		cmocka_unit_test(too_long_strings_are_refused_never_truncated),
		cmocka_unit_test(conf_copy_is_deep),
		cmocka_unit_test(conf_free_accepts_null_and_repeats),
		cmocka_unit_test(mode_and_surplus_names_read_back),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
