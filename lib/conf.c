/* balloond.conf: INI parsed with inih into struct conf, every key bounded
 * and validated, errors naming file:line. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <ini.h>

#include "conf.h"
#include "units.h"

#define KIB(x) ((uint64_t)(x))
#define MIB(x) ((uint64_t)(x) * 1024)
#define GIB(x) ((uint64_t)(x) * 1024 * 1024)
#define TIB(x) ((uint64_t)(x) * 1024 * 1024 * 1024)

static const char *const mode_names[] = {
	[MODE_AUTO] = "auto", [MODE_PINNED] = "pinned",
	[MODE_FROZEN] = "frozen", [MODE_EXCLUDED] = "excluded",
};

const char *domain_mode_name(enum domain_mode m)
{
	return (unsigned)m < sizeof(mode_names) / sizeof(*mode_names) ? mode_names[m] : "?";
}

int domain_mode_parse(const char *s, enum domain_mode *ret)
{
	size_t i;

	for (i = 0; i < sizeof(mode_names) / sizeof(*mode_names); i++)
		if (strcmp(s, mode_names[i]) == 0) {
			*ret = (enum domain_mode)i;
			return 0;
		}
	return -EINVAL;
}

const char *surplus_mode_name(enum surplus_mode m)
{
	return m == SURPLUS_KEEP_FREE ? "keep-free" : "distribute";
}

void conf_init(struct conf *c)
{
	memset(c, 0, sizeof(*c));
	snprintf(c->socket, sizeof(c->socket), "/run/balloond/control.sock");
	snprintf(c->backend, sizeof(c->backend), "auto");
	c->log_level = LOG_LEVEL_INFO;
	c->pool_kib = MIB(72);
	c->maxmem_slack_kib = MIB(1);
	c->deadband_kib = MIB(16);
	c->max_step_kib = 0;
	c->reach_tolerance_kib = MIB(1);
	c->surplus = SURPLUS_DISTRIBUTE;
	c->poll_interval_ms = 250;
	c->stall_timeout_ms = 5000;
	c->uncooperative_timeout_ms = 20000;
	c->manage_dom0 = false;
	c->max_message = 64 * 1024;
	c->max_clients = 64;
	c->max_clients_per_uid = 16;
	c->client_timeout_ms = 5 * 60 * 1000;
	c->defaults.dynamic_min = (struct conf_bound){.set = true, .is_pct = true, .pct = 50};
	c->defaults.dynamic_max = (struct conf_bound){.set = true, .is_pct = true, .pct = 100};
	c->defaults.weight_set = true;
	c->defaults.weight = 100;
	c->defaults.mode_set = true;
	c->defaults.mode = MODE_AUTO;
}

static int fail(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static int fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

static int parse_size_in(const char *key, const char *v, uint64_t min, uint64_t max,
			 uint64_t *ret, char *err, size_t errlen)
{
	char a[32], b[32];
	uint64_t kib;
	int r = size_parse(v, &kib);

	if (r == -ERANGE)
		return fail(err, errlen, "%s: \"%s\" is too large", key, v);
	if (r < 0)
		return fail(err, errlen, "%s: \"%s\" is not a size (use K, M, G or T, e.g. 64M)",
			    key, v);
	if (kib < min || kib > max)
		return fail(err, errlen, "%s: %s is outside %s..%s", key, v,
			    size_format(min, a, sizeof(a)), size_format(max, b, sizeof(b)));
	*ret = kib;
	return 0;
}

static int parse_duration_in(const char *key, const char *v, uint64_t min, uint64_t max,
			     uint64_t *ret, char *err, size_t errlen)
{
	char a[32], b[32];
	uint64_t ms;
	int r = duration_parse(v, &ms);

	if (r < 0)
		return fail(err, errlen, "%s: \"%s\" is not a duration (use ms, s, m or h, e.g. 5s)",
			    key, v);
	if (ms < min || ms > max)
		return fail(err, errlen, "%s: %s is outside %s..%s", key, v,
			    duration_format(min, a, sizeof(a)), duration_format(max, b, sizeof(b)));
	*ret = ms;
	return 0;
}

static int parse_uint_in(const char *key, const char *v, uint64_t min, uint64_t max,
			 uint64_t *ret, char *err, size_t errlen)
{
	uint64_t n;

	if (u64_parse_strict(v, UINT64_MAX, &n) < 0)
		return fail(err, errlen, "%s: \"%s\" is not a whole number", key, v);
	if (n < min || n > max)
		return fail(err, errlen, "%s: %s is outside %llu..%llu", key, v,
			    (unsigned long long)min, (unsigned long long)max);
	*ret = n;
	return 0;
}

static int parse_bool(const char *key, const char *v, bool *ret, char *err, size_t errlen)
{
	static const char *const yes[] = {"true", "yes", "on", "1"};
	static const char *const no[] = {"false", "no", "off", "0"};
	size_t i;

	for (i = 0; i < 4; i++) {
		if (strcasecmp(v, yes[i]) == 0) {
			*ret = true;
			return 0;
		}
		if (strcasecmp(v, no[i]) == 0) {
			*ret = false;
			return 0;
		}
	}
	return fail(err, errlen, "%s: \"%s\" is not a boolean (true or false)", key, v);
}

static int parse_string(const char *key, const char *v, char *dst, size_t size, char *err,
			size_t errlen)
{
	if (strlen(v) >= size)
		return fail(err, errlen, "%s: longer than %zu characters", key, size - 1);
	memcpy(dst, v, strlen(v) + 1);
	return 0;
}

static int parse_bound(const char *key, const char *v, struct conf_bound *ret, char *err,
		       size_t errlen)
{
	size_t n = strlen(v);
	uint64_t x;

	if (n > 1 && v[n - 1] == '%') {
		char num[8];

		if (n - 1 >= sizeof(num))
			return fail(err, errlen, "%s: \"%s\" is not a percentage", key, v);
		memcpy(num, v, n - 1);
		num[n - 1] = '\0';
		if (u64_parse_strict(num, 100, &x) < 0)
			return fail(err, errlen, "%s: \"%s\" must be 0%%..100%% of static-max", key, v);
		*ret = (struct conf_bound){.set = true, .is_pct = true, .pct = (unsigned)x};
		return 0;
	}
	if (parse_size_in(key, v, 0, TIB(64), &x, err, errlen) < 0)
		return fail(err, errlen, "%s: \"%s\" is not a size (e.g. 1G) or a percentage of "
			    "static-max (e.g. 50%%)", key, v);
	*ret = (struct conf_bound){.set = true, .kib = x};
	return 0;
}

static int set_domain_key(struct conf_domain *d, const char *key, const char *v, char *err,
			  size_t errlen)
{
	uint64_t n;

	if (strcmp(key, "dynamic_min") == 0)
		return parse_bound(key, v, &d->dynamic_min, err, errlen);
	if (strcmp(key, "dynamic_max") == 0)
		return parse_bound(key, v, &d->dynamic_max, err, errlen);
	if (strcmp(key, "weight") == 0) {
		if (parse_uint_in(key, v, 1, 10000, &n, err, errlen) < 0)
			return -EINVAL;
		d->weight = (unsigned)n;
		d->weight_set = true;
		return 0;
	}
	if (strcmp(key, "mode") == 0) {
		enum domain_mode m;

		if (strcmp(v, "pinned") == 0)
			return fail(err, errlen, "mode: \"pinned\" cannot be set here; pin a target "
				    "with memctl set-target");
		if (domain_mode_parse(v, &m) < 0)
			return fail(err, errlen, "mode: \"%s\" is not one of auto, frozen, excluded", v);
		d->mode = m;
		d->mode_set = true;
		return 0;
	}
	return fail(err, errlen, "unknown key \"%s\"", key);
}

static int set_main_key(struct conf *c, const char *key, const char *v, char *err, size_t errlen)
{
	uint64_t n;

	if (strcmp(key, "socket") == 0) {
		if (v[0] != '/')
			return fail(err, errlen, "socket: \"%s\" must be an absolute path", v);
		if (strlen(v) >= 108)
			return fail(err, errlen, "socket: longer than 107 characters");
		return parse_string(key, v, c->socket, sizeof(c->socket), err, errlen);
	}
	if (strcmp(key, "read_group") == 0)
		return parse_string(key, v, c->read_group, sizeof(c->read_group), err, errlen);
	if (strcmp(key, "backend") == 0) {
		if (strcmp(v, "auto") && strcmp(v, "xen") && strcmp(v, "sim"))
			return fail(err, errlen, "backend: \"%s\" is not one of auto, xen, sim", v);
		return parse_string(key, v, c->backend, sizeof(c->backend), err, errlen);
	}
	if (strcmp(key, "scenario") == 0)
		return parse_string(key, v, c->scenario, sizeof(c->scenario), err, errlen);
	if (strcmp(key, "log_level") == 0) {
		static const char *const lv[] = {"err", "warning", "info", "debug"};
		size_t i;

		for (i = 0; i < 4; i++)
			if (strcmp(v, lv[i]) == 0) {
				c->log_level = (enum log_level)i;
				return 0;
			}
		return fail(err, errlen, "log_level: \"%s\" is not one of err, warning, info, debug", v);
	}
	if (strcmp(key, "pool") == 0)
		return parse_size_in(key, v, 0, TIB(1), &c->pool_kib, err, errlen);
	if (strcmp(key, "maxmem_slack") == 0)
		return parse_size_in(key, v, 0, GIB(1), &c->maxmem_slack_kib, err, errlen);
	if (strcmp(key, "deadband") == 0)
		return parse_size_in(key, v, 0, GIB(64), &c->deadband_kib, err, errlen);
	if (strcmp(key, "max_step") == 0)
		return parse_size_in(key, v, 0, TIB(1), &c->max_step_kib, err, errlen);
	if (strcmp(key, "reach_tolerance") == 0)
		return parse_size_in(key, v, 0, GIB(1), &c->reach_tolerance_kib, err, errlen);
	if (strcmp(key, "surplus") == 0) {
		if (strcmp(v, "distribute") == 0)
			c->surplus = SURPLUS_DISTRIBUTE;
		else if (strcmp(v, "keep-free") == 0)
			c->surplus = SURPLUS_KEEP_FREE;
		else
			return fail(err, errlen, "surplus: \"%s\" is not distribute or keep-free", v);
		return 0;
	}
	if (strcmp(key, "poll_interval") == 0)
		return parse_duration_in(key, v, 10, 60000, &c->poll_interval_ms, err, errlen);
	if (strcmp(key, "stall_timeout") == 0)
		return parse_duration_in(key, v, 100, 3600000, &c->stall_timeout_ms, err, errlen);
	if (strcmp(key, "uncooperative_timeout") == 0)
		return parse_duration_in(key, v, 100, 86400000, &c->uncooperative_timeout_ms, err,
					 errlen);
	if (strcmp(key, "manage_dom0") == 0)
		return parse_bool(key, v, &c->manage_dom0, err, errlen);
	if (strcmp(key, "max_message") == 0) {
		if (parse_size_in(key, v, 1, MIB(16), &n, err, errlen) < 0)
			return -EINVAL;
		c->max_message = n * 1024;
		return 0;
	}
	if (strcmp(key, "max_clients") == 0) {
		if (parse_uint_in(key, v, 1, 4096, &n, err, errlen) < 0)
			return -EINVAL;
		c->max_clients = (unsigned)n;
		return 0;
	}
	if (strcmp(key, "max_clients_per_uid") == 0) {
		if (parse_uint_in(key, v, 1, 4096, &n, err, errlen) < 0)
			return -EINVAL;
		c->max_clients_per_uid = (unsigned)n;
		return 0;
	}
	if (strcmp(key, "client_timeout") == 0)
		return parse_duration_in(key, v, 1000, 86400000, &c->client_timeout_ms, err, errlen);
	return fail(err, errlen, "unknown key \"%s\" in [balloond]", key);
}

static bool domain_name_valid(const char *s)
{
	size_t i, n = strlen(s);

	if (n == 0 || n >= CONF_NAME_MAX)
		return false;
	for (i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
		      (s[i] >= '0' && s[i] <= '9') || s[i] == '_' || s[i] == '.' || s[i] == '-'))
			return false;
	return true;
}

/* The [domain NAME] section, created when create is true. */
static struct conf_domain *domain_section(struct conf *c, const char *name, bool create)
{
	struct conf_domain *d;
	size_t i;

	for (i = 0; i < c->n_domains; i++)
		if (strcmp(c->domains[i].name, name) == 0)
			return &c->domains[i];
	if (!create)
		return NULL;
	d = realloc(c->domains, (c->n_domains + 1) * sizeof(*c->domains));
	if (!d)
		return NULL;
	c->domains = d;
	d = &c->domains[c->n_domains++];
	memset(d, 0, sizeof(*d));
	snprintf(d->name, sizeof(d->name), "%s", name);
	return d;
}

int conf_set(struct conf *c, const char *section, const char *key, const char *value, char *err,
	     size_t errlen)
{
	if (strcmp(section, "balloond") == 0)
		return set_main_key(c, key, value, err, errlen);
	if (strcmp(section, "defaults") == 0)
		return set_domain_key(&c->defaults, key, value, err, errlen);
	if (strncmp(section, "domain ", 7) == 0) {
		const char *name = section + 7;
		struct conf_domain *d;

		while (*name == ' ')
			name++;
		if (!domain_name_valid(name))
			return fail(err, errlen, "[%s]: \"%s\" is not a valid domain name "
				    "(1-63 of A-Z a-z 0-9 _ . -)", section, name);
		d = domain_section(c, name, true);
		if (!d)
			return -ENOMEM;
		return set_domain_key(d, key, value, err, errlen);
	}
	return fail(err, errlen, "unknown section [%s] (use [balloond], [defaults] or "
		    "[domain NAME])", section);
}

const struct conf_domain *conf_find_domain(const struct conf *c, const char *name)
{
	size_t i;

	for (i = 0; i < c->n_domains; i++)
		if (strcmp(c->domains[i].name, name) == 0)
			return &c->domains[i];
	return NULL;
}

/* Checks that span keys, after the whole file. */
static int conf_check(const struct conf *c, char *err, size_t errlen)
{
	size_t i;

	if (c->max_clients_per_uid > c->max_clients)
		return fail(err, errlen, "max_clients_per_uid (%u) is above max_clients (%u)",
			    c->max_clients_per_uid, c->max_clients);
	if (c->uncooperative_timeout_ms < c->stall_timeout_ms)
		return fail(err, errlen, "uncooperative_timeout is shorter than stall_timeout");
	for (i = 0; i <= c->n_domains; i++) {
		const struct conf_domain *d = i < c->n_domains ? &c->domains[i] : &c->defaults;
		const struct conf_bound *lo = &d->dynamic_min, *hi = &d->dynamic_max;

		if (!lo->set || !hi->set || lo->is_pct != hi->is_pct)
			continue;
		if (lo->is_pct ? lo->pct > hi->pct : lo->kib > hi->kib)
			return fail(err, errlen, "[%s%s]: dynamic_min is above dynamic_max",
				    d->name[0] ? "domain " : "defaults", d->name);
	}
	return 0;
}

struct parse_ctx {
	struct conf *c;
	struct conf_error *err;
	char seen[512][96]; /* "section\nkey" pairs, to refuse duplicates */
	size_t n_seen;
	bool failed;
};

/* inih calls this per key; returning 0 makes ini_parse report this line.
 * Only the first error's message is kept (inih reports the first line). */
static int conf_ini_handler(void *user, const char *section, const char *key, const char *value)
{
	struct parse_ctx *p = user;
	char pair[96], msg[sizeof(p->err->msg)];
	size_t i;
	int ok = 1;

	if (p->failed)
		return 1;
	msg[0] = '\0';
	snprintf(pair, sizeof(pair), "%.60s\n%.30s", section, key);
	if (!section[0]) {
		snprintf(msg, sizeof(msg), "key \"%s\" outside of any section", key);
		ok = 0;
	}
	for (i = 0; ok && i < p->n_seen; i++)
		if (strcmp(p->seen[i], pair) == 0) {
			snprintf(msg, sizeof(msg), "duplicate key \"%s\" in [%s]", key, section);
			ok = 0;
		}
	if (ok && p->n_seen < sizeof(p->seen) / sizeof(p->seen[0]))
		snprintf(p->seen[p->n_seen++], sizeof(p->seen[0]), "%s", pair);
	if (ok && conf_set(p->c, section, key, value, msg, sizeof(msg)) < 0)
		ok = 0;
	if (!ok) {
		p->failed = true;
		snprintf(p->err->msg, sizeof(p->err->msg), "%s", msg);
	}
	return ok;
}

/* Parse with inih from a string or a FILE; the common part of both. */
static int conf_parse(const char *text, FILE *f, const char *name, struct conf *ret,
		      struct conf_error *err)
{
	struct parse_ctx *p;
	struct conf c;
	int r;

	memset(err, 0, sizeof(*err));
	snprintf(err->file, sizeof(err->file), "%s", name);
	p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	conf_init(&c);
	p->c = &c;
	p->err = err;
	r = text ? ini_parse_string(text, conf_ini_handler, p) : ini_parse_file(f, conf_ini_handler, p);
	free(p);
	if (r > 0) {
		err->line = (unsigned)r;
		if (!err->msg[0])
			snprintf(err->msg, sizeof(err->msg), "syntax error");
		conf_free(&c);
		return -EINVAL;
	}
	if (r < 0) {
		snprintf(err->msg, sizeof(err->msg), "out of memory");
		conf_free(&c);
		return -ENOMEM;
	}
	err->line = 0;
	if (conf_check(&c, err->msg, sizeof(err->msg)) < 0) {
		conf_free(&c);
		return -EINVAL;
	}
	err->msg[0] = '\0';
	*ret = c;
	return 0;
}

int conf_parse_file(const char *path, struct conf *ret, struct conf_error *err)
{
	FILE *f = fopen(path, "re");
	int r;

	if (!f) {
		r = -errno;
		memset(err, 0, sizeof(*err));
		snprintf(err->file, sizeof(err->file), "%s", path);
		snprintf(err->msg, sizeof(err->msg), "cannot open: %s", strerror(-r));
		return r;
	}
	r = conf_parse(NULL, f, path, ret, err);
	fclose(f);
	return r;
}

int conf_parse_string(const char *text, const char *name, struct conf *ret,
		      struct conf_error *err)
{
	return conf_parse(text, NULL, name, ret, err);
}

int conf_copy(struct conf *dst, const struct conf *src)
{
	struct conf_domain *d = NULL;

	if (src->n_domains) {
		d = malloc(src->n_domains * sizeof(*d));
		if (!d)
			return -ENOMEM;
		memcpy(d, src->domains, src->n_domains * sizeof(*d));
	}
	*dst = *src;
	dst->domains = d;
	return 0;
}

void conf_free(struct conf *c)
{
	if (!c)
		return;
	free(c->domains);
	c->domains = NULL;
	c->n_domains = 0;
}
