/* SPDX-License-Identifier: GPL-2.0-or-later */
/* balloond.conf: INI read with inih into a struct conf. Every key is bounded
 * and validated; errors name file:line and the key.
 *
 * inih is given lines through our own reader, which looks at each line
 * before inih does: inih truncates section names to 49 characters (a domain
 * may have 63), splits over-long lines silently and never reports a section
 * header, so sections, line lengths and syntax are checked here and inih
 * only splits "key = value". */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <ini.h>

#include "conf.h"
#include "units.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

#define MIB(x) ((uint64_t)(x) << 10)
#define GIB(x) ((uint64_t)(x) << 20)
#define TIB(x) ((uint64_t)(x) << 30)
#define SECONDS(x) (UINT64_C(1000) * (x))
#define MINUTES(x) (UINT64_C(60000) * (x))
#define HOURS(x) (UINT64_C(3600000) * (x))

/* sockaddr_un.sun_path holds 108 bytes with the NUL. */
#define SOCKET_PATH_MAX 107
/* An absolute dynamic_min/dynamic_max above this is a typo. */
#define BOUND_MAX_KIB TIB(64)
#define WEIGHT_MAX 10000

/* ---- names ---- */

static const char *const mode_names[] = {
	[MODE_AUTO] = "auto",
	[MODE_PINNED] = "pinned",
	[MODE_FROZEN] = "frozen",
	[MODE_EXCLUDED] = "excluded",
};

const char *domain_mode_name(enum domain_mode m)
{
	return (size_t)m < ARRAY_SIZE(mode_names) ? mode_names[m] : "?";
}

int domain_mode_parse(const char *s, enum domain_mode *ret)
{
	size_t i;

	if (!s)
		return -EINVAL;
	for (i = 0; i < ARRAY_SIZE(mode_names); i++)
		if (strcmp(s, mode_names[i]) == 0) {
			*ret = (enum domain_mode)i;
			return 0;
		}
	return -EINVAL;
}

static const char *const surplus_names[] = {
	[SURPLUS_DISTRIBUTE] = "distribute",
	[SURPLUS_KEEP_FREE] = "keep-free",
	NULL,
};

const char *surplus_mode_name(enum surplus_mode m)
{
	return (size_t)m < ARRAY_SIZE(surplus_names) - 1 ? surplus_names[m] : "?";
}

static const char *const log_level_names[] = {
	[LOG_LEVEL_ERR] = "err",
	[LOG_LEVEL_WARNING] = "warning",
	[LOG_LEVEL_INFO] = "info",
	[LOG_LEVEL_DEBUG] = "debug",
	NULL,
};

static const char *const backend_names[] = {"auto", "xen", "sim", NULL};

/* ---- defaults ---- */

void conf_init(struct conf *c)
{
	memset(c, 0, sizeof(*c));
	snprintf(c->socket, sizeof(c->socket), "%s", CONF_DEFAULT_SOCKET);
	snprintf(c->xl_conf, sizeof(c->xl_conf), "%s", CONF_DEFAULT_XL_CONF);
	snprintf(c->backend, sizeof(c->backend), "%s", "auto");
	c->log_level = LOG_LEVEL_INFO;
	c->pool_kib = MIB(72);
	c->maxmem_slack_kib = MIB(1);
	c->deadband_kib = MIB(16);
	c->max_step_kib = 0;
	c->reach_tolerance_kib = MIB(1);
	c->surplus = SURPLUS_DISTRIBUTE;
	c->poll_interval_ms = 250;
	c->stall_timeout_ms = SECONDS(5);
	c->uncooperative_timeout_ms = SECONDS(20);
	c->uncooperative_retry_max_ms = MINUTES(5);
	c->reserve_timeout_ms = SECONDS(30);
	c->reserve_ttl_ms = MINUTES(5);
	c->manage_dom0 = false;
	c->demand_buffer_pct = 30;
	c->demand_interval_ms = SECONDS(1);
	c->demand_stale_ms = MINUTES(5);
	c->psi_threshold_pct = 10;
	c->offset_max_kib = MIB(8);
	c->oscillation_window_ms = SECONDS(60);
	c->max_message = 64 * 1024;
	c->max_clients = 64;
	c->max_clients_per_uid = 16;
	c->client_timeout_ms = MINUTES(5);
	c->audit_interval_ms = MINUTES(10);
	c->audit_settle_ms = SECONDS(1);
	c->audit_examples = 10;
	c->defaults.dynamic_min = (struct conf_bound){.set = true, .is_pct = true, .pct = 50};
	c->defaults.dynamic_max = (struct conf_bound){.set = true, .is_pct = true, .pct = 100};
	c->defaults.weight_set = true;
	c->defaults.weight = 100;
	c->defaults.mode_set = true;
	c->defaults.mode = MODE_AUTO;
}

/* ---- values ---- */

static int fail(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Room to format a message before text_escape() writes it out. */
#define MSG_RAW_MAX 512

/* Write a message to err (which may be NULL), text from the file escaped,
 * and return -EINVAL. */
static int fail(char *err, size_t errlen, const char *fmt, ...)
{
	char raw[MSG_RAW_MAX];
	va_list ap;

	if (err && errlen) {
		va_start(ap, fmt);
		vsnprintf(raw, sizeof(raw), fmt, ap);
		va_end(ap);
		text_escape(raw, err, errlen);
	}
	return -EINVAL;
}

/* Join a NULL-terminated list of names as "a, b, c" for messages. */
static const char *names_join(const char *const *names, char *buf, size_t len)
{
	size_t pos = 0, i;
	int n;

	buf[0] = '\0';
	for (i = 0; names[i] && pos < len; i++) {
		n = snprintf(buf + pos, len - pos, "%s%s", i ? ", " : "", names[i]);
		if (n < 0)
			break;
		pos += (size_t)n;
	}
	return buf;
}

static int choice_parse(const char *key, const char *v, const char *const *names, size_t *ret,
			char *err, size_t errlen)
{
	char list[128];
	size_t i;

	for (i = 0; names[i]; i++)
		if (strcmp(v, names[i]) == 0) {
			*ret = i;
			return 0;
		}
	return fail(err, errlen, "%s: \"%s\" is not one of %s", key, v,
		    names_join(names, list, sizeof(list)));
}

static int size_in(const char *key, const char *v, uint64_t min, uint64_t max, uint64_t *ret,
		   char *err, size_t errlen)
{
	char lim[32];
	uint64_t kib = 0;
	int r = size_parse(v, &kib);

	if (r == -EINVAL)
		return fail(err, errlen, "%s: \"%s\" is not a size (use K, M, G or T)", key, v);
	if (r < 0 || kib > max)
		return fail(err, errlen, "%s: \"%s\" is too large (at most %s)", key, v,
			    size_format(max, lim, sizeof(lim)));
	if (kib < min)
		return fail(err, errlen, "%s: \"%s\" is too small (at least %s)", key, v,
			    size_format(min, lim, sizeof(lim)));
	*ret = kib;
	return 0;
}

static int duration_in(const char *key, const char *v, uint64_t min, uint64_t max, uint64_t *ret,
		       char *err, size_t errlen)
{
	char lim[32];
	uint64_t ms = 0;
	int r = strcmp(v, "0") == 0 ? 0 : duration_parse(v, &ms); /* a bare 0 needs no unit */

	if (r == -EINVAL)
		return fail(err, errlen, "%s: \"%s\" is not a duration (use ms, s, m or h)", key,
			    v);
	if (r < 0 || ms > max)
		return fail(err, errlen, "%s: \"%s\" is too long (at most %s)", key, v,
			    duration_format(max, lim, sizeof(lim)));
	if (ms < min)
		return fail(err, errlen, "%s: \"%s\" is too short (at least %s)", key, v,
			    duration_format(min, lim, sizeof(lim)));
	*ret = ms;
	return 0;
}

static int count_in(const char *key, const char *v, uint64_t min, uint64_t max, uint64_t *ret,
		    char *err, size_t errlen)
{
	uint64_t n = 0;
	int r = u64_parse_strict(v, max, &n);

	/* too many digits for u64_parse_strict is still a number, just too large */
	if (r == -EINVAL && (!v[0] || v[strspn(v, "0123456789")]))
		return fail(err, errlen, "%s: \"%s\" is not a whole number", key, v);
	if (r < 0 || n < min)
		return fail(err, errlen, "%s: \"%s\" is out of range (%llu..%llu)", key, v,
			    (unsigned long long)min, (unsigned long long)max);
	*ret = n;
	return 0;
}

/* Equal ignoring ASCII case (and nothing else, whatever the locale). */
static bool ascii_case_equal(const char *a, const char *b)
{
	for (; *a && *b; a++, b++) {
		char x = *a >= 'A' && *a <= 'Z' ? (char)(*a - 'A' + 'a') : *a;
		char y = *b >= 'A' && *b <= 'Z' ? (char)(*b - 'A' + 'a') : *b;

		if (x != y)
			return false;
	}
	return *a == *b;
}

static int bool_parse(const char *key, const char *v, bool *ret, char *err, size_t errlen)
{
	static const char *const yes[] = {"true", "yes", "on", "1"};
	static const char *const no[] = {"false", "no", "off", "0"};
	size_t i;

	for (i = 0; i < ARRAY_SIZE(yes); i++) {
		if (ascii_case_equal(v, yes[i])) {
			*ret = true;
			return 0;
		}
		if (ascii_case_equal(v, no[i])) {
			*ret = false;
			return 0;
		}
	}
	return fail(err, errlen, "%s: \"%s\" is not a boolean (use true or false)", key, v);
}

/* Copy a string value into a fixed array, refusing what would not fit and
 * control characters (never truncated). */
static int string_set(const char *key, const char *v, char *dst, size_t size, char *err,
		      size_t errlen)
{
	size_t i, n = strlen(v);

	if (n >= size)
		return fail(err, errlen, "%s: longer than %zu characters", key, size - 1);
	for (i = 0; i < n; i++)
		if ((unsigned char)v[i] < 0x20 || v[i] == 0x7f)
			return fail(err, errlen, "%s: contains a control character", key);
	if (n >= 2 && v[0] == '"' && v[n - 1] == '"')
		return fail(err, errlen, "%s: write the value without quotes", key);
	memcpy(dst, v, n + 1);
	return 0;
}

static bool name_char_ok(char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
	       ch == '_' || ch == '.' || ch == '-';
}

/* Domain names: 1..63 of [A-Za-z0-9_.-]. */
static bool domain_name_ok(const char *s, size_t n)
{
	size_t i;

	if (n == 0 || n >= CONF_NAME_MAX)
		return false;
	for (i = 0; i < n; i++)
		if (!name_char_ok(s[i]))
			return false;
	return true;
}

/* A dynamic_min/dynamic_max value: "N%" of static-max, or a size. */
static int bound_parse(const char *key, const char *v, struct conf_bound *ret, char *err,
		       size_t errlen)
{
	size_t n = strlen(v);
	uint64_t x = 0;

	if (n > 0 && v[n - 1] == '%') {
		char num[8];
		int r;

		if (n - 1 >= sizeof(num))
			return fail(err, errlen, "%s: \"%s\" is not a percentage (0%%..100%%)", key,
				    v);
		memcpy(num, v, n - 1);
		num[n - 1] = '\0';
		r = u64_parse_strict(num, 100, &x);
		if (r == -ERANGE)
			return fail(err, errlen, "%s: \"%s\" is above 100%% of static-max", key, v);
		if (r < 0)
			return fail(err, errlen, "%s: \"%s\" is not a percentage (0%%..100%%)", key,
				    v);
		if (x == 0 && strcmp(key, "dynamic_max") == 0)
			return fail(err, errlen,
				    "%s: \"%s\" would balloon every guest to nothing (use "
				    "mode = frozen to keep a domain as it is)",
				    key, v);
		*ret = (struct conf_bound){.set = true, .is_pct = true, .pct = (unsigned)x};
		return 0;
	}
	if (size_parse(v, &x) == -EINVAL)
		return fail(err, errlen,
			    "%s: \"%s\" is not a size (e.g. 1G) or a percentage of static-max "
			    "(e.g. 50%%)",
			    key, v);
	if (size_in(key, v, 0, BOUND_MAX_KIB, &x, err, errlen) < 0)
		return -EINVAL;
	if (x < CONF_BOUND_FLOOR_KIB)
		return fail(err, errlen, "%s: \"%s\" is below the 16M floor (no guest runs in less)",
			    key, v);
	*ret = (struct conf_bound){.set = true, .kib = x};
	return 0;
}

/* ---- [balloond] keys ---- */

enum key_type {
	KEY_SOCKET,   /* absolute path that fits in sun_path */
	KEY_FILE,     /* any path, "" = built-in */
	KEY_GROUP,    /* group name, "" = none */
	KEY_WORD,     /* one of choices, kept as a string */
	KEY_ENUM,     /* one of choices, kept as its index via set_index */
	KEY_SIZE,     /* uint64_t KiB */
	KEY_BYTES,    /* a size, kept as uint64_t bytes; min/max in KiB */
	KEY_DURATION, /* uint64_t ms */
	KEY_COUNT,    /* unsigned */
	KEY_BOOL,
};

struct main_key {
	const char *name;
	enum key_type type;
	size_t offset; /* of the field in struct conf */
	size_t size;   /* string fields: size of the array */
	uint64_t min, max;
	const char *const *choices;
	void (*set_index)(struct conf *c, size_t i);
};

static void log_level_set(struct conf *c, size_t i)
{
	c->log_level = (enum log_level)i;
}

static void surplus_set(struct conf *c, size_t i)
{
	c->surplus = (enum surplus_mode)i;
}

#define FIELD(f) offsetof(struct conf, f), sizeof(((struct conf *)0)->f)

/* Every [balloond] key, its type and its bounds. */
static const struct main_key main_keys[] = {
	{"socket", KEY_SOCKET, FIELD(socket), 0, 0, NULL, NULL},
	{"read_group", KEY_GROUP, FIELD(read_group), 0, 0, NULL, NULL},
	{"backend", KEY_WORD, FIELD(backend), 0, 0, backend_names, NULL},
	{"scenario", KEY_FILE, FIELD(scenario), 0, 0, NULL, NULL},
	{"xl_conf", KEY_FILE, FIELD(xl_conf), 0, 0, NULL, NULL},
	{"log_level", KEY_ENUM, FIELD(log_level), 0, 0, log_level_names, log_level_set},
	{"pool", KEY_SIZE, FIELD(pool_kib), 0, TIB(1), NULL, NULL},
	{"keep_free", KEY_SIZE, FIELD(keep_free_kib), 0, TIB(1), NULL, NULL},
	{"maxmem_slack", KEY_SIZE, FIELD(maxmem_slack_kib), 0, GIB(1), NULL, NULL},
	{"deadband", KEY_SIZE, FIELD(deadband_kib), 0, GIB(64), NULL, NULL},
	{"max_step", KEY_SIZE, FIELD(max_step_kib), 0, TIB(1), NULL, NULL},
	{"reach_tolerance", KEY_SIZE, FIELD(reach_tolerance_kib), 0, GIB(1), NULL, NULL},
	{"surplus", KEY_ENUM, FIELD(surplus), 0, 0, surplus_names, surplus_set},
	{"poll_interval", KEY_DURATION, FIELD(poll_interval_ms), 10, SECONDS(60), NULL, NULL},
	{"stall_timeout", KEY_DURATION, FIELD(stall_timeout_ms), 100, HOURS(1), NULL, NULL},
	{"uncooperative_timeout", KEY_DURATION, FIELD(uncooperative_timeout_ms), 100, HOURS(24),
	 NULL, NULL},
	{"uncooperative_retry_max", KEY_DURATION, FIELD(uncooperative_retry_max_ms), 0, HOURS(24),
	 NULL, NULL},
	{"reserve_timeout", KEY_DURATION, FIELD(reserve_timeout_ms), SECONDS(1), HOURS(1), NULL,
	 NULL},
	{"reserve_ttl", KEY_DURATION, FIELD(reserve_ttl_ms), SECONDS(1), HOURS(24), NULL, NULL},
	{"manage_dom0", KEY_BOOL, FIELD(manage_dom0), 0, 0, NULL, NULL},
	{"demand_buffer", KEY_COUNT, FIELD(demand_buffer_pct), 0, 400, NULL, NULL},
	{"demand_interval", KEY_DURATION, FIELD(demand_interval_ms), 0, HOURS(1), NULL, NULL},
	{"demand_stale", KEY_DURATION, FIELD(demand_stale_ms), SECONDS(1), HOURS(24), NULL, NULL},
	{"psi_threshold", KEY_COUNT, FIELD(psi_threshold_pct), 1, 100, NULL, NULL},
	{"offset_max", KEY_SIZE, FIELD(offset_max_kib), 0, GIB(1), NULL, NULL},
	{"oscillation_window", KEY_DURATION, FIELD(oscillation_window_ms), 0, HOURS(1), NULL,
	 NULL},
	{"max_message", KEY_BYTES, FIELD(max_message), 1, MIB(16), NULL, NULL},
	{"max_clients", KEY_COUNT, FIELD(max_clients), 1, 4096, NULL, NULL},
	{"max_clients_per_uid", KEY_COUNT, FIELD(max_clients_per_uid), 1, 4096, NULL, NULL},
	{"client_timeout", KEY_DURATION, FIELD(client_timeout_ms), SECONDS(1), HOURS(24), NULL,
	 NULL},
	{"audit_interval", KEY_DURATION, FIELD(audit_interval_ms), 0, HOURS(24 * 7), NULL, NULL},
	{"audit_settle", KEY_DURATION, FIELD(audit_settle_ms), 0, MINUTES(10), NULL, NULL},
	{"audit_examples", KEY_COUNT, FIELD(audit_examples), 1, 1000, NULL, NULL},
};

static const char *const domain_keys[] = {"dynamic_min", "dynamic_max", "weight", "mode"};

enum { DKEY_MIN, DKEY_MAX, DKEY_WEIGHT, DKEY_MODE };

static int key_find(const char *key, bool main_section)
{
	size_t i;

	if (main_section) {
		for (i = 0; i < ARRAY_SIZE(main_keys); i++)
			if (strcmp(key, main_keys[i].name) == 0)
				return (int)i;
	} else {
		for (i = 0; i < ARRAY_SIZE(domain_keys); i++)
			if (strcmp(key, domain_keys[i]) == 0)
				return (int)i;
	}
	return -1;
}

/* The message for a key that the section does not have. */
static int unknown_key(const char *key, const char *section, bool main_section, char *err,
		       size_t errlen)
{
	if (!key[0])
		return fail(err, errlen, "missing key name before \"=\" in %s", section);
	if (key_find(key, !main_section) >= 0)
		return fail(err, errlen, "unknown key \"%s\" in %s (it belongs in %s)", key,
			    section, main_section ? "[defaults] or [domain NAME]" : "[balloond]");
	return fail(err, errlen, "unknown key \"%s\" in %s", key, section);
}

/* Store a parsed value in its field, refusing a table entry whose field
 * is not of the value's type. */
static int field_store(const struct main_key *k, char *field, const void *v, size_t len, char *err,
		       size_t errlen)
{
	if (k->size != len)
		return fail(err, errlen, "%s: internal error: field size %zu, value size %zu",
			    k->name, k->size, len);
	memcpy(field, v, len);
	return 0;
}

/* Set one [balloond] key from its text; c is unchanged on error. */
static int main_key_set(struct conf *c, const struct main_key *k, const char *v, char *err,
			size_t errlen)
{
	char *field = (char *)c + k->offset;
	uint64_t n = 0;
	unsigned u;
	size_t i = 0;
	bool b = false;

	switch (k->type) {
	case KEY_SOCKET:
		if (v[0] != '/')
			return fail(err, errlen, "%s: \"%s\" is not an absolute path", k->name, v);
		if (strlen(v) > SOCKET_PATH_MAX)
			return fail(err, errlen, "%s: longer than %d characters", k->name,
				    SOCKET_PATH_MAX);
		return string_set(k->name, v, field, k->size, err, errlen);
	case KEY_FILE: return string_set(k->name, v, field, k->size, err, errlen);
	case KEY_GROUP:
		for (i = 0; v[i]; i++)
			if (!name_char_ok(v[i]) || (i == 0 && v[i] == '-'))
				return fail(err, errlen, "%s: \"%s\" is not a group name", k->name,
					    v);
		return string_set(k->name, v, field, k->size, err, errlen);
	case KEY_WORD:
		if (choice_parse(k->name, v, k->choices, &i, err, errlen) < 0)
			return -EINVAL;
		return string_set(k->name, v, field, k->size, err, errlen);
	case KEY_ENUM:
		if (choice_parse(k->name, v, k->choices, &i, err, errlen) < 0)
			return -EINVAL;
		k->set_index(c, i);
		return 0;
	case KEY_SIZE:
		if (size_in(k->name, v, k->min, k->max, &n, err, errlen) < 0)
			return -EINVAL;
		return field_store(k, field, &n, sizeof(n), err, errlen);
	case KEY_BYTES:
		if (size_in(k->name, v, k->min, k->max, &n, err, errlen) < 0)
			return -EINVAL;
		n *= 1024;
		return field_store(k, field, &n, sizeof(n), err, errlen);
	case KEY_DURATION:
		if (duration_in(k->name, v, k->min, k->max, &n, err, errlen) < 0)
			return -EINVAL;
		return field_store(k, field, &n, sizeof(n), err, errlen);
	case KEY_COUNT:
		if (count_in(k->name, v, k->min, k->max, &n, err, errlen) < 0)
			return -EINVAL;
		u = (unsigned)n;
		return field_store(k, field, &u, sizeof(u), err, errlen);
	case KEY_BOOL:
		if (bool_parse(k->name, v, &b, err, errlen) < 0)
			return -EINVAL;
		return field_store(k, field, &b, sizeof(b), err, errlen);
	}
	return -EINVAL;
}

/* Set one [defaults]/[domain NAME] key from its text; d is unchanged on error. */
static int domain_key_set(struct conf_domain *d, int key, const char *v, char *err, size_t errlen)
{
	struct conf_bound b = {0};
	enum domain_mode m = MODE_AUTO;
	uint64_t n = 0;

	switch (key) {
	case DKEY_MIN:
	case DKEY_MAX:
		if (bound_parse(domain_keys[key], v, &b, err, errlen) < 0)
			return -EINVAL;
		if (key == DKEY_MIN)
			d->dynamic_min = b;
		else
			d->dynamic_max = b;
		return 0;
	case DKEY_WEIGHT:
		if (count_in("weight", v, 1, WEIGHT_MAX, &n, err, errlen) < 0)
			return -EINVAL;
		d->weight = (unsigned)n;
		d->weight_set = true;
		return 0;
	case DKEY_MODE:
		if (strcmp(v, "pinned") == 0)
			return fail(err, errlen,
				    "mode: \"pinned\" cannot be set in the configuration; pins are "
				    "set with memctl set-target");
		if (domain_mode_parse(v, &m) < 0)
			return fail(err, errlen,
				    "mode: \"%s\" is not one of auto, frozen, excluded", v);
		d->mode = m;
		d->mode_set = true;
		return 0;
	}
	return -EINVAL;
}

/* ---- sections ---- */

enum section_kind { SECTION_NONE, SECTION_MAIN, SECTION_DEFAULTS, SECTION_DOMAIN };

/* Classify a section name ("balloond", "defaults", "domain NAME"); for a
 * domain, *ret_name and *ret_len give the name inside s. */
static int section_parse(const char *s, enum section_kind *ret_kind, const char **ret_name,
			 size_t *ret_len, char *err, size_t errlen)
{
	const char *name;
	size_t n;

	if (strcmp(s, "balloond") == 0 || strcmp(s, "defaults") == 0) {
		*ret_kind = s[0] == 'b' ? SECTION_MAIN : SECTION_DEFAULTS;
		return 0;
	}
	if (strncmp(s, "domain", 6) == 0 && (s[6] == ' ' || s[6] == '\t' || s[6] == '\0')) {
		name = s + 6;
		while (*name == ' ' || *name == '\t')
			name++;
		n = strlen(name);
		if (n == 0)
			return fail(err, errlen, "[%s] needs a domain name: [domain NAME]", s);
		if (!domain_name_ok(name, n))
			return fail(
				err, errlen,
				"[%s]: \"%s\" is not a domain name (1 to %d of A-Z a-z 0-9 _ . -)",
				s, name, CONF_NAME_MAX - 1);
		*ret_kind = SECTION_DOMAIN;
		*ret_name = name;
		*ret_len = n;
		return 0;
	}
	return fail(err, errlen,
		    "unknown section [%s] (use [balloond], [defaults] or [domain NAME])", s);
}

/* FNV-1a of a domain name, for the index. */
static uint32_t name_hash(const char *name, size_t len)
{
	uint32_t h = 2166136261u;
	size_t i;

	for (i = 0; i < len; i++)
		h = (h ^ (unsigned char)name[i]) * 16777619u;
	return h;
}

/* The index slot that holds name, or the empty slot where it would go. */
static size_t index_slot(const struct conf *c, const char *name, size_t len)
{
	size_t mask = c->index_cap - 1, i = name_hash(name, len) & mask;
	const struct conf_domain *d;

	for (;; i = (i + 1) & mask) {
		if (!c->domain_index[i])
			return i;
		d = &c->domains[c->domain_index[i] - 1];
		if (strlen(d->name) == len && memcmp(d->name, name, len) == 0)
			return i;
	}
}

/* Rebuild the index of domains with room for twice cap names (at most
 * half full); 0 or -ENOMEM, the old index kept on failure. */
static int index_rebuild(struct conf *c, size_t cap)
{
	uint32_t *old = c->domain_index;
	size_t want = 16, i;

	while (want < 2 * cap)
		want *= 2;
	c->domain_index = calloc(want, sizeof(*c->domain_index));
	if (!c->domain_index) {
		c->domain_index = old;
		return -ENOMEM;
	}
	c->index_cap = want;
	for (i = 0; i < c->n_domains; i++)
		c->domain_index[index_slot(c, c->domains[i].name, strlen(c->domains[i].name))] =
			(uint32_t)(i + 1);
	free(old);
	return 0;
}

static struct conf_domain *domain_lookup(const struct conf *c, const char *name, size_t len)
{
	size_t i;

	if (!c->index_cap)
		return NULL;
	i = index_slot(c, name, len);
	return c->domain_index[i] ? &c->domains[c->domain_index[i] - 1] : NULL;
}

/* Append an empty [domain NAME] (name already checked, not present yet):
 * the array and its index grow geometrically; 0 or -ENOMEM. */
static int domain_append(struct conf *c, const char *name, size_t len, struct conf_domain **ret)
{
	struct conf_domain *d;
	size_t cap;

	if (c->n_domains >= UINT32_MAX - 1)
		return -ENOMEM;
	if (c->n_domains == c->domains_cap) {
		cap = c->domains_cap ? 2 * c->domains_cap : 8;
		d = realloc(c->domains, cap * sizeof(*d));
		if (!d)
			return -ENOMEM;
		c->domains = d;
		c->domains_cap = cap;
	}
	if (2 * (c->n_domains + 1) > c->index_cap && index_rebuild(c, c->domains_cap) < 0)
		return -ENOMEM;
	d = &c->domains[c->n_domains];
	memset(d, 0, sizeof(*d));
	memcpy(d->name, name, len);
	d->name[len] = '\0';
	c->domain_index[index_slot(c, name, len)] = (uint32_t)(c->n_domains + 1);
	c->n_domains++;
	*ret = d;
	return 0;
}

int conf_set(struct conf *c, const char *section, const char *key, const char *value, char *err,
	     size_t errlen)
{
	enum section_kind kind;
	struct conf_domain *d, nd;
	const char *name = NULL;
	char shown[CONF_NAME_MAX + 16];
	size_t len = 0;
	int k, r;

	if (!c || !section || !key || !value)
		return fail(err, errlen, "missing section, key or value");
	if (section_parse(section, &kind, &name, &len, err, errlen) < 0)
		return -EINVAL;
	snprintf(shown, sizeof(shown), "[%s]", section);
	k = key_find(key, kind == SECTION_MAIN);
	if (k < 0)
		return unknown_key(key, shown, kind == SECTION_MAIN, err, errlen);
	if (kind == SECTION_MAIN)
		return main_key_set(c, &main_keys[k], value, err, errlen);
	if (kind == SECTION_DEFAULTS)
		return domain_key_set(&c->defaults, k, value, err, errlen);
	d = domain_lookup(c, name, len);
	if (d)
		return domain_key_set(d, k, value, err, errlen);
	/* a new section appears only once its first key is valid */
	memset(&nd, 0, sizeof(nd));
	if (domain_key_set(&nd, k, value, err, errlen) < 0)
		return -EINVAL;
	r = domain_append(c, name, len, &d);
	if (r < 0) {
		fail(err, errlen, "out of memory");
		return r;
	}
	memcpy(nd.name, d->name, sizeof(nd.name));
	*d = nd;
	return 0;
}

const struct conf_domain *conf_find_domain(const struct conf *c, const char *name)
{
	if (!c || !name)
		return NULL;
	return domain_lookup(c, name, strlen(name));
}

/* ---- the file ---- */

/* State while inih reads one file or string. */
struct parser {
	struct conf *c; /* what is being built */
	struct conf_error *err;
	int failed; /* 0, or the -errno of the first error */

	const char *text; /* the source: text... */
	FILE *f;	  /* ...or a file */
	unsigned line;	  /* lines handed to inih so far */

	enum section_kind kind;		/* the section being read, as we parsed it */
	char shown[CONF_NAME_MAX + 16]; /* "[domain web1]", for messages */
	size_t dom;			/* SECTION_DOMAIN: index in c->domains */
	bool key_on_record;		/* a key line since the header: inih would take an
					 * indented line as a continuation of its value */
	unsigned main_line;		/* line of [balloond], 0 if not seen */
	unsigned defaults_line;
	unsigned main_key_line[ARRAY_SIZE(main_keys)];	/* where each was set */
	unsigned dom_key_line[ARRAY_SIZE(domain_keys)]; /* same, this section */
};

static void parser_fail(struct parser *p, unsigned line, int code, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* Record the first error: where, what, and the code to return. */
static void parser_fail(struct parser *p, unsigned line, int code, const char *fmt, ...)
{
	char raw[MSG_RAW_MAX];
	va_list ap;

	if (p->failed)
		return;
	p->failed = code;
	p->err->line = line;
	va_start(ap, fmt);
	vsnprintf(raw, sizeof(raw), fmt, ap);
	va_end(ap);
	text_escape(raw, p->err->msg, sizeof(p->err->msg));
}

static unsigned line_max(unsigned a, unsigned b)
{
	return a > b ? a : b;
}

static const char *bound_text(const struct conf_bound *b, char *buf, size_t len)
{
	if (b->is_pct)
		snprintf(buf, len, "%u%%", b->pct);
	else
		size_format(b->kib, buf, len);
	return buf;
}

/* Checks at the end of a [defaults] or [domain NAME] section. */
static void section_close(struct parser *p)
{
	const struct conf_domain *d;
	const struct conf_bound *lo, *hi;
	unsigned lo_line = p->dom_key_line[DKEY_MIN], hi_line = p->dom_key_line[DKEY_MAX];
	char a[32], b[32];

	if (p->kind == SECTION_DEFAULTS)
		d = &p->c->defaults;
	else if (p->kind == SECTION_DOMAIN)
		d = &p->c->domains[p->dom];
	else
		return;
	lo = &d->dynamic_min;
	hi = &d->dynamic_max;
	if (!lo->set || !hi->set || lo->is_pct != hi->is_pct || (!lo_line && !hi_line))
		return;
	if (lo->is_pct ? lo->pct <= hi->pct : lo->kib <= hi->kib)
		return;
	parser_fail(p, line_max(lo_line, hi_line), -EINVAL,
		    "dynamic_min (%s%s) is above dynamic_max (%s%s) in %s",
		    bound_text(lo, a, sizeof(a)), lo_line ? "" : ", the default",
		    bound_text(hi, b, sizeof(b)), hi_line ? "" : ", the default", p->shown);
}

/* A "[...]" line: check the section and make it current. */
static void section_open(struct parser *p, const char *text, size_t len)
{
	char name[2 * CONF_NAME_MAX], msg[sizeof(p->err->msg)];
	enum section_kind kind;
	const char *dname = NULL;
	struct conf_domain *d;
	size_t dlen = 0;

	section_close(p);
	if (p->failed)
		return;
	while (len && (text[0] == ' ' || text[0] == '\t'))
		text++, len--;
	while (len && (text[len - 1] == ' ' || text[len - 1] == '\t'))
		len--;
	if (len >= sizeof(name)) {
		parser_fail(p, p->line, -EINVAL, "unknown section [%.*s...]", 20, text);
		return;
	}
	memcpy(name, text, len);
	name[len] = '\0';
	if (section_parse(name, &kind, &dname, &dlen, msg, sizeof(msg)) < 0) {
		parser_fail(p, p->line, -EINVAL, "%s", msg);
		return;
	}
	switch (kind) {
	case SECTION_MAIN:
	case SECTION_DEFAULTS: {
		unsigned *seen = kind == SECTION_MAIN ? &p->main_line : &p->defaults_line;

		snprintf(p->shown, sizeof(p->shown), "%s",
			 kind == SECTION_MAIN ? "[balloond]" : "[defaults]");
		if (*seen) {
			parser_fail(p, p->line, -EINVAL, "duplicate section %s (first on line %u)",
				    p->shown, *seen);
			return;
		}
		*seen = p->line;
		break;
	}
	case SECTION_DOMAIN:
		if (domain_lookup(p->c, dname, dlen)) {
			parser_fail(p, p->line, -EINVAL, "duplicate section [domain %s]", dname);
			return;
		}
		if (domain_append(p->c, dname, dlen, &d) < 0) {
			parser_fail(p, p->line, -ENOMEM, "out of memory");
			return;
		}
		p->dom = p->c->n_domains - 1;
		snprintf(p->shown, sizeof(p->shown), "[domain %s]", d->name);
		break;
	case SECTION_NONE: return;
	}
	p->kind = kind;
	p->key_on_record = false;
	memset(p->dom_key_line, 0, sizeof(p->dom_key_line));
}

static bool is_blank(char ch)
{
	return ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r' || ch == '\v' || ch == '\f';
}

/* Where inih would see the first of chars, or an inline ";" comment (one
 * that follows a blank), or the end. */
static const char *find_chars_or_comment(const char *s, const char *chars)
{
	bool after_blank = false;

	for (; *s; s++) {
		if (strchr(chars, *s) || (after_blank && *s == ';'))
			break;
		after_blank = is_blank(*s);
	}
	return s;
}

/* Look at one line before inih does, the way inih will read it. */
static void line_check(struct parser *p, const char *line)
{
	const char *start = line, *end, *key_end;

	if (p->line == 1 && strncmp(line, "\xef\xbb\xbf", 3) == 0)
		start += 3;
	while (is_blank(*start))
		start++;
	if (!*start || *start == '#' || *start == ';')
		return;
	if (start > line && p->key_on_record) {
		parser_fail(p, p->line, -EINVAL,
			    "indented line: continued values are not supported (remove the "
			    "leading blanks)");
		return;
	}
	if (*start == '[') {
		end = find_chars_or_comment(start + 1, "]");
		if (*end != ']') {
			parser_fail(p, p->line, -EINVAL, "section header without \"]\"");
			return;
		}
		section_open(p, start + 1, (size_t)(end - start - 1));
		for (end++; is_blank(*end); end++)
			;
		if (*end && *end != ';' && *end != '#')
			parser_fail(p, p->line, -EINVAL, "unexpected text after \"]\"");
		return;
	}
	end = find_chars_or_comment(start, "=:");
	if (*end != '=' && *end != ':') {
		parser_fail(p, p->line, -EINVAL,
			    "expected \"key = value\", a [section] or a comment");
		return;
	}
	key_end = end;
	while (key_end > start && is_blank(key_end[-1]))
		key_end--;
	if (p->kind == SECTION_NONE) {
		parser_fail(p, p->line, -EINVAL, "\"%.*s\" comes before any [section]",
			    (int)(key_end - start), start);
		return;
	}
	p->key_on_record = key_end > start;
}

/* inih's reader: the next line of the source into buf (size bytes), checked
 * by line_check; NULL at the end or after an error, which stops inih. */
static char *parser_read(char *buf, int size, void *stream)
{
	struct parser *p = stream;
	size_t n = 0, room = size > 2 ? (size_t)size - 2 : 0;
	int ch;

	if (p->failed)
		return NULL;
	for (;;) {
		if (p->text) {
			ch = *p->text ? (unsigned char)*p->text++ : EOF;
		} else {
			errno = 0;
			ch = getc(p->f);
			if (ch == EOF && ferror(p->f)) {
				int e = errno ? errno : EIO;

				parser_fail(p, 0, -e, "cannot read: %s", strerror(e));
				return NULL;
			}
		}
		if (ch == EOF) {
			if (n == 0)
				return NULL;
			break;
		}
		if (ch == '\0') {
			parser_fail(p, p->line + 1, -EINVAL, "line contains a NUL byte");
			return NULL;
		}
		if (n == room && ch != '\n') {
			parser_fail(p, p->line + 1, -EINVAL, "line is longer than %zu characters",
				    room);
			return NULL;
		}
		buf[n++] = (char)ch;
		if (ch == '\n')
			break;
	}
	buf[n] = '\0';
	p->line++;
	line_check(p, buf);
	return p->failed ? NULL : buf;
}

/* inih calls this for each "key = value" of the line just read. The section
 * it passes may be truncated; ours is p->kind. */
static int parser_key(void *user, const char *section, const char *key, const char *value)
{
	struct parser *p = user;
	char msg[sizeof(p->err->msg)];
	unsigned *seen;
	int k;

	if (p->failed)
		return 0;
	k = key_find(key, p->kind == SECTION_MAIN);
	if (k < 0) {
		unknown_key(key, p->shown, p->kind == SECTION_MAIN, msg, sizeof(msg));
		parser_fail(p, p->line, -EINVAL, "%s", msg);
		return 0;
	}
	seen = p->kind == SECTION_MAIN ? &p->main_key_line[k] : &p->dom_key_line[k];
	if (*seen) {
		parser_fail(p, p->line, -EINVAL, "duplicate key \"%s\" in %s (first on line %u)",
			    key, p->shown, *seen);
		return 0;
	}
	if (p->kind == SECTION_MAIN) {
		if (main_key_set(p->c, &main_keys[k], value, msg, sizeof(msg)) < 0) {
			parser_fail(p, p->line, -EINVAL, "%s", msg);
			return 0;
		}
	} else {
		struct conf_domain *d =
			p->kind == SECTION_DEFAULTS ? &p->c->defaults : &p->c->domains[p->dom];

		if (domain_key_set(d, k, value, msg, sizeof(msg)) < 0) {
			parser_fail(p, p->line, -EINVAL, "%s", msg);
			return 0;
		}
	}
	*seen = p->line;
	return 1;
}

/* The later of the lines where two [balloond] keys were set (0: neither). */
static unsigned main_keys_line(const struct parser *p, const char *a, const char *b)
{
	return line_max(p->main_key_line[key_find(a, true)], p->main_key_line[key_find(b, true)]);
}

/* Checks between keys of [balloond], once the whole file is read. */
static void parser_finish(struct parser *p)
{
	const struct conf *c = p->c;
	char a[32], b[32];

	section_close(p);
	if (c->max_clients_per_uid > c->max_clients)
		parser_fail(p, main_keys_line(p, "max_clients", "max_clients_per_uid"), -EINVAL,
			    "max_clients_per_uid (%u) is above max_clients (%u)",
			    c->max_clients_per_uid, c->max_clients);
	if (c->uncooperative_timeout_ms < c->stall_timeout_ms)
		parser_fail(p, main_keys_line(p, "stall_timeout", "uncooperative_timeout"), -EINVAL,
			    "uncooperative_timeout (%s) is shorter than stall_timeout (%s)",
			    duration_format(c->uncooperative_timeout_ms, a, sizeof(a)),
			    duration_format(c->stall_timeout_ms, b, sizeof(b)));
}

/* Read text or f over the defaults; on success *ret takes the result. */
static int conf_parse(const char *text, FILE *f, struct conf *ret, struct conf_error *err)
{
	struct parser p = {.err = err, .text = text, .f = f};
	struct conf c;
	int r;

	conf_init(&c);
	p.c = &c;
	r = ini_parse_stream(parser_read, &p, parser_key, &p);
	if (!p.failed && r > 0)
		parser_fail(&p, (unsigned)r, -EINVAL, "syntax error");
	else if (!p.failed && r < 0)
		parser_fail(&p, 0, -ENOMEM, "out of memory");
	if (!p.failed)
		parser_finish(&p);
	if (p.failed) {
		conf_free(&c);
		return p.failed;
	}
	*ret = c;
	return 0;
}

/* Start err afresh for name. */
static void error_reset(struct conf_error *err, const char *name)
{
	memset(err, 0, sizeof(*err));
	snprintf(err->file, sizeof(err->file), "%s", name);
}

/* What a file that is not regular is, for the message. */
static const char *file_kind(mode_t mode)
{
	if (S_ISDIR(mode))
		return "a directory";
	if (S_ISFIFO(mode))
		return "a FIFO";
	if (S_ISCHR(mode))
		return "a character device";
	if (S_ISBLK(mode))
		return "a block device";
	if (S_ISSOCK(mode))
		return "a socket";
	return "not a plain file";
}

/* Refuse an open file that is not a regular file (a FIFO would block the
 * reader, a device could return anything): 0, -EISDIR or -EINVAL. */
static int regular_file_check(int fd, struct conf_error *err)
{
	struct stat st;
	int r;

	if (fstat(fd, &st) < 0) {
		r = -errno;
		snprintf(err->msg, sizeof(err->msg), "cannot read: %s", strerror(errno));
		return r;
	}
	if (S_ISREG(st.st_mode))
		return 0;
	snprintf(err->msg, sizeof(err->msg), "not a regular file (it is %s)",
		 file_kind(st.st_mode));
	return S_ISDIR(st.st_mode) ? -EISDIR : -EINVAL;
}

int conf_parse_file(const char *path, struct conf *ret, struct conf_error *err)
{
	struct conf_error dummy;
	FILE *f;
	int fd, r;

	if (!err)
		err = &dummy;
	error_reset(err, path ? path : "");
	if (!path || !ret) {
		snprintf(err->msg, sizeof(err->msg), "no file given");
		return -EINVAL;
	}
	fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		r = -errno;
		snprintf(err->msg, sizeof(err->msg), "cannot open: %s", strerror(errno));
		return r;
	}
	r = regular_file_check(fd, err);
	f = r < 0 ? NULL : fdopen(fd, "re");
	if (!f) {
		if (r == 0) {
			r = -errno;
			snprintf(err->msg, sizeof(err->msg), "cannot read: %s", strerror(errno));
		}
		close(fd);
		return r;
	}
	r = conf_parse(NULL, f, ret, err);
	fclose(f);
	return r;
}

int conf_parse_string(const char *text, const char *name, struct conf *ret, struct conf_error *err)
{
	struct conf_error dummy;

	if (!err)
		err = &dummy;
	error_reset(err, name ? name : "<string>");
	if (!text || !ret) {
		snprintf(err->msg, sizeof(err->msg), "no text given");
		return -EINVAL;
	}
	return conf_parse(text, NULL, ret, err);
}

/* ---- ownership ---- */

int conf_copy(struct conf *dst, const struct conf *src)
{
	struct conf_domain *d = NULL;
	uint32_t *index = NULL;

	if (src->n_domains) {
		d = malloc(src->n_domains * sizeof(*d));
		index = malloc(src->index_cap * sizeof(*index));
		if (!d || !index) {
			free(d);
			free(index);
			return -ENOMEM;
		}
		memcpy(d, src->domains, src->n_domains * sizeof(*d));
		memcpy(index, src->domain_index, src->index_cap * sizeof(*index));
	}
	*dst = *src;
	dst->domains = d;
	dst->domains_cap = src->n_domains;
	dst->domain_index = index;
	dst->index_cap = index ? src->index_cap : 0;
	return 0;
}

void conf_free(struct conf *c)
{
	if (!c)
		return;
	free(c->domains);
	free(c->domain_index);
	c->domains = NULL;
	c->n_domains = 0;
	c->domains_cap = 0;
	c->domain_index = NULL;
	c->index_cap = 0;
}
