/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The config parser on arbitrary text. Oracle: a refusal names a line
 * within the text and its message holds no control character and is valid
 * UTF-8; an accepted file has every key within its documented bounds, each
 * [domain NAME] found by conf_find_domain, and written back out in exact
 * units it parses to the same values (a round trip). */
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <string.h>

#include "conf.h"
#include "fuzz.h"
#include "units.h"

#define KIB_T(x) ((uint64_t)(x) << 30)
#define KIB_G(x) ((uint64_t)(x) << 20)
#define KIB_M(x) ((uint64_t)(x) << 10)
#define HOUR_MS (UINT64_C(3600000))

static void message_check(const char *msg)
{
	size_t i = 0, n = strlen(msg), k;

	FUZZ_CHECK(n > 0, "empty message");
	while (i < n) {
		FUZZ_CHECK((unsigned char)msg[i] >= 0x20 && msg[i] != 0x7f,
			   "control character 0x%02x in \"%s\"", (unsigned char)msg[i], msg);
		k = utf8_char_len((const unsigned char *)msg + i, n - i);
		FUZZ_CHECK(k > 0, "invalid UTF-8 at %zu in \"%s\"", i, msg);
		i += k;
	}
}

static void bound_check(const struct conf_bound *b)
{
	if (!b->set)
		return;
	if (b->is_pct)
		FUZZ_CHECK(b->pct <= 100, "bound %u%%", b->pct);
	else
		FUZZ_CHECK(b->kib <= KIB_T(64), "bound %llu KiB", (unsigned long long)b->kib);
}

static void domain_check(const struct conf_domain *d)
{
	bound_check(&d->dynamic_min);
	bound_check(&d->dynamic_max);
	FUZZ_CHECK(!d->weight_set || (d->weight >= 1 && d->weight <= 10000), "weight %u",
		   d->weight);
	FUZZ_CHECK(!d->mode_set || d->mode == MODE_AUTO || d->mode == MODE_FROZEN ||
			   d->mode == MODE_EXCLUDED,
		   "mode %d", (int)d->mode);
	if (d->dynamic_min.set && d->dynamic_max.set &&
	    d->dynamic_min.is_pct == d->dynamic_max.is_pct)
		FUZZ_CHECK(d->dynamic_min.is_pct ? d->dynamic_min.pct <= d->dynamic_max.pct
						 : d->dynamic_min.kib <= d->dynamic_max.kib,
			   "dynamic_min above dynamic_max in [%s]", d->name);
}

/* Every [balloond] value within the bounds balloond.conf(5) documents. */
static void bounds_check(const struct conf *c)
{
	size_t i;

	FUZZ_CHECK(c->socket[0] == '/', "socket %s", c->socket);
	FUZZ_CHECK(c->pool_kib <= KIB_T(1), "pool");
	FUZZ_CHECK(c->maxmem_slack_kib <= KIB_G(1), "maxmem_slack");
	FUZZ_CHECK(c->deadband_kib <= KIB_G(64), "deadband");
	FUZZ_CHECK(c->max_step_kib <= KIB_T(1), "max_step");
	FUZZ_CHECK(c->reach_tolerance_kib <= KIB_G(1), "reach_tolerance");
	FUZZ_CHECK(c->poll_interval_ms >= 10 && c->poll_interval_ms <= 60000, "poll_interval");
	FUZZ_CHECK(c->stall_timeout_ms >= 100 && c->stall_timeout_ms <= HOUR_MS, "stall_timeout");
	FUZZ_CHECK(c->uncooperative_timeout_ms >= c->stall_timeout_ms &&
			   c->uncooperative_timeout_ms <= 24 * HOUR_MS,
		   "uncooperative_timeout");
	FUZZ_CHECK(c->demand_buffer_pct <= 400, "demand_buffer");
	FUZZ_CHECK(c->psi_threshold_pct >= 1 && c->psi_threshold_pct <= 100, "psi_threshold");
	FUZZ_CHECK(c->offset_max_kib <= KIB_G(1), "offset_max");
	FUZZ_CHECK(c->max_message >= 1024 && c->max_message <= (UINT64_C(16) << 20) &&
			   c->max_message % 1024 == 0,
		   "max_message %llu", (unsigned long long)c->max_message);
	FUZZ_CHECK(c->max_clients >= 1 && c->max_clients <= 4096, "max_clients");
	FUZZ_CHECK(c->max_clients_per_uid >= 1 && c->max_clients_per_uid <= c->max_clients,
		   "max_clients_per_uid");
	FUZZ_CHECK(c->client_timeout_ms >= 1000 && c->client_timeout_ms <= 24 * HOUR_MS,
		   "client_timeout");
	FUZZ_CHECK(c->audit_examples >= 1 && c->audit_examples <= 1000, "audit_examples");
	domain_check(&c->defaults);
	for (i = 0; i < c->n_domains; i++) {
		domain_check(&c->domains[i]);
		FUZZ_CHECK(c->domains[i].name[0], "unnamed domain section");
		FUZZ_CHECK(conf_find_domain(c, c->domains[i].name) == &c->domains[i],
			   "[domain %s] not found by name", c->domains[i].name);
	}
}

/* Append printf output to the growing text *t. */
static void emit(char **t, size_t *len, size_t *cap, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static void emit(char **t, size_t *len, size_t *cap, const char *fmt, ...)
{
	va_list ap;
	int n;

	for (;;) {
		va_start(ap, fmt);
		n = vsnprintf(*t + *len, *cap - *len, fmt, ap);
		va_end(ap);
		FUZZ_CHECK(n >= 0, "vsnprintf");
		if ((size_t)n < *cap - *len)
			break;
		*cap = 2 * *cap + (size_t)n;
		*t = realloc(*t, *cap);
		FUZZ_CHECK(*t != NULL, "out of memory");
	}
	*len += (size_t)n;
}

static void emit_bound(char **t, size_t *len, size_t *cap, const char *key,
		       const struct conf_bound *b)
{
	if (!b->set)
		return;
	if (b->is_pct)
		emit(t, len, cap, "%s = %u%%\n", key, b->pct);
	else
		emit(t, len, cap, "%s = %lluK\n", key, (unsigned long long)b->kib);
}

static void emit_domain(char **t, size_t *len, size_t *cap, const struct conf_domain *d)
{
	emit_bound(t, len, cap, "dynamic_min", &d->dynamic_min);
	emit_bound(t, len, cap, "dynamic_max", &d->dynamic_max);
	if (d->weight_set)
		emit(t, len, cap, "weight = %u\n", d->weight);
	if (d->mode_set)
		emit(t, len, cap, "mode = %s\n", domain_mode_name(d->mode));
}

static const char *const level_names[] = {"err", "warning", "info", "debug"};

/* c written out in exact units (KiB, ms). */
static char *conf_text(const struct conf *c)
{
	size_t len = 0, cap = 1024, i;
	char *t = malloc(cap);

	FUZZ_CHECK(t != NULL, "out of memory");
	emit(&t, &len, &cap, "[balloond]\nsocket = %s\nread_group = %s\nbackend = %s\n", c->socket,
	     c->read_group, c->backend);
	emit(&t, &len, &cap, "scenario = %s\nlog_level = %s\nsurplus = %s\n", c->scenario,
	     level_names[c->log_level], surplus_mode_name(c->surplus));
	emit(&t, &len, &cap,
	     "pool = %lluK\nmaxmem_slack = %lluK\ndeadband = %lluK\nmax_step = %lluK\n"
	     "reach_tolerance = %lluK\noffset_max = %lluK\nmax_message = %lluK\n",
	     (unsigned long long)c->pool_kib, (unsigned long long)c->maxmem_slack_kib,
	     (unsigned long long)c->deadband_kib, (unsigned long long)c->max_step_kib,
	     (unsigned long long)c->reach_tolerance_kib, (unsigned long long)c->offset_max_kib,
	     (unsigned long long)(c->max_message / 1024));
	emit(&t, &len, &cap,
	     "poll_interval = %llums\nstall_timeout = %llums\nuncooperative_timeout = %llums\n"
	     "reserve_timeout = %llums\nreserve_ttl = %llums\ndemand_interval = %llums\n"
	     "demand_stale = %llums\noscillation_window = %llums\nclient_timeout = %llums\n"
	     "audit_interval = %llums\naudit_settle = %llums\n",
	     (unsigned long long)c->poll_interval_ms, (unsigned long long)c->stall_timeout_ms,
	     (unsigned long long)c->uncooperative_timeout_ms,
	     (unsigned long long)c->reserve_timeout_ms, (unsigned long long)c->reserve_ttl_ms,
	     (unsigned long long)c->demand_interval_ms, (unsigned long long)c->demand_stale_ms,
	     (unsigned long long)c->oscillation_window_ms, (unsigned long long)c->client_timeout_ms,
	     (unsigned long long)c->audit_interval_ms, (unsigned long long)c->audit_settle_ms);
	emit(&t, &len, &cap,
	     "manage_dom0 = %s\ndemand_buffer = %u\npsi_threshold = %u\nmax_clients = %u\n"
	     "max_clients_per_uid = %u\naudit_examples = %u\n",
	     c->manage_dom0 ? "true" : "false", c->demand_buffer_pct, c->psi_threshold_pct,
	     c->max_clients, c->max_clients_per_uid, c->audit_examples);
	emit(&t, &len, &cap, "[defaults]\n");
	emit_domain(&t, &len, &cap, &c->defaults);
	for (i = 0; i < c->n_domains; i++) {
		emit(&t, &len, &cap, "[domain %s]\n", c->domains[i].name);
		emit_domain(&t, &len, &cap, &c->domains[i]);
	}
	return t;
}

static void same_bound(const struct conf_bound *a, const struct conf_bound *b)
{
	FUZZ_CHECK(a->set == b->set &&
			   (!a->set || (a->is_pct == b->is_pct &&
					(a->is_pct ? a->pct == b->pct : a->kib == b->kib))),
		   "bound changed in the round trip");
}

static void same_domain(const struct conf_domain *a, const struct conf_domain *b)
{
	FUZZ_CHECK(strcmp(a->name, b->name) == 0, "name %s vs %s", a->name, b->name);
	same_bound(&a->dynamic_min, &b->dynamic_min);
	same_bound(&a->dynamic_max, &b->dynamic_max);
	FUZZ_CHECK(a->weight_set == b->weight_set && (!a->weight_set || a->weight == b->weight),
		   "weight of [%s]", a->name);
	FUZZ_CHECK(a->mode_set == b->mode_set && (!a->mode_set || a->mode == b->mode),
		   "mode of [%s]", a->name);
}

static void round_trip(const struct conf *c)
{
	char *text = conf_text(c);
	struct conf_error e;
	struct conf b;
	size_t i;

	FUZZ_CHECK(conf_parse_string(text, "round-trip", &b, &e) == 0,
		   "written-out config refused at line %u: %s\n%s", e.line, e.msg, text);
	free(text);
	FUZZ_CHECK(strcmp(b.socket, c->socket) == 0 && strcmp(b.read_group, c->read_group) == 0 &&
			   strcmp(b.backend, c->backend) == 0 &&
			   strcmp(b.scenario, c->scenario) == 0,
		   "a string changed");
	FUZZ_CHECK(b.log_level == c->log_level && b.surplus == c->surplus &&
			   b.manage_dom0 == c->manage_dom0,
		   "an enum changed");
	FUZZ_CHECK(b.pool_kib == c->pool_kib && b.maxmem_slack_kib == c->maxmem_slack_kib &&
			   b.deadband_kib == c->deadband_kib && b.max_step_kib == c->max_step_kib &&
			   b.reach_tolerance_kib == c->reach_tolerance_kib &&
			   b.offset_max_kib == c->offset_max_kib && b.max_message == c->max_message,
		   "a size changed");
	FUZZ_CHECK(b.poll_interval_ms == c->poll_interval_ms &&
			   b.stall_timeout_ms == c->stall_timeout_ms &&
			   b.uncooperative_timeout_ms == c->uncooperative_timeout_ms &&
			   b.reserve_timeout_ms == c->reserve_timeout_ms &&
			   b.reserve_ttl_ms == c->reserve_ttl_ms &&
			   b.demand_interval_ms == c->demand_interval_ms &&
			   b.demand_stale_ms == c->demand_stale_ms &&
			   b.oscillation_window_ms == c->oscillation_window_ms &&
			   b.client_timeout_ms == c->client_timeout_ms &&
			   b.audit_interval_ms == c->audit_interval_ms &&
			   b.audit_settle_ms == c->audit_settle_ms,
		   "a duration changed");
	FUZZ_CHECK(b.demand_buffer_pct == c->demand_buffer_pct &&
			   b.psi_threshold_pct == c->psi_threshold_pct &&
			   b.max_clients == c->max_clients &&
			   b.max_clients_per_uid == c->max_clients_per_uid &&
			   b.audit_examples == c->audit_examples,
		   "a count changed");
	same_domain(&b.defaults, &c->defaults);
	FUZZ_CHECK(b.n_domains == c->n_domains, "%zu sections, was %zu", b.n_domains, c->n_domains);
	for (i = 0; i < c->n_domains; i++)
		same_domain(&b.domains[i], &c->domains[i]);
	conf_free(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 1);
	struct conf_error e;
	struct conf c, copy;
	size_t lines = 1, i;
	int r;

	FUZZ_CHECK(text != NULL, "out of memory");
	memcpy(text, data, size);
	text[size] = '\0';
	for (i = 0; i < size; i++)
		lines += data[i] == '\n';
	r = conf_parse_string(text, "fuzz.conf", &c, &e);
	if (r != 0) {
		FUZZ_CHECK(r == -EINVAL || r == -ENOMEM, "returned %d", r);
		message_check(e.msg);
		FUZZ_CHECK(e.line <= lines, "line %u of %zu", e.line, lines);
		free(text);
		return 0;
	}
	bounds_check(&c);
	round_trip(&c);
	FUZZ_CHECK(conf_copy(&copy, &c) == 0, "conf_copy");
	conf_free(&c);
	bounds_check(&copy);
	conf_free(&copy);
	free(text);
	return 0;
}
