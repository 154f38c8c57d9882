/* SPDX-License-Identifier: GPL-2.0-or-later */
/* balloond.conf: INI (inih) parsed into a struct conf. Every key is bounded
 * and validated; unknown sections/keys and bad values are errors that name
 * file:line. Pure: conf_parse_file() opens the file, nothing else. */
#ifndef BALLOOND_CONF_H
#define BALLOOND_CONF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CONF_NAME_MAX 64    /* domain names, group names */
#define CONF_PATH_MAX 256

enum surplus_mode {
	SURPLUS_DISTRIBUTE, /* grow guests toward dynamic-max by weight */
	SURPLUS_KEEP_FREE,  /* never grow a guest past its current target */
};

enum domain_mode {
	MODE_AUTO,     /* balloond decides */
	MODE_PINNED,   /* an admin target; only set by memctl or an external write */
	MODE_FROZEN,   /* never touched, memory counted as it is */
	MODE_EXCLUDED, /* not managed at all */
};

enum log_level { LOG_LEVEL_ERR, LOG_LEVEL_WARNING, LOG_LEVEL_INFO, LOG_LEVEL_DEBUG };

/* The least memory any bound, pin or memory/target may give a guest: no
 * guest kernel runs in less. A smaller dynamic_min or dynamic_max is
 * refused (config, domain.set_policy), a smaller resolved or toolstack
 * bound is raised to it, and a smaller external memory/target is not
 * taken as a pin. */
#define CONF_BOUND_FLOOR_KIB (UINT64_C(16) << 10)

/* A bound given either as an absolute size or as a percentage of static-max. */
struct conf_bound {
	bool set;
	bool is_pct;
	uint64_t kib; /* when !is_pct */
	unsigned pct; /* 0..100 when is_pct */
};

/* [defaults] and [domain NAME]: what balloond may do with a domain. */
struct conf_domain {
	char name[CONF_NAME_MAX]; /* empty for [defaults] */
	struct conf_bound dynamic_min;
	struct conf_bound dynamic_max;
	bool weight_set;
	unsigned weight;          /* 1..10000, default 100 */
	bool mode_set;
	enum domain_mode mode;    /* auto, frozen or excluded */
};

/* The control socket when neither the file nor the command line names one:
 * under the configured runstatedir (RUNSTATEDIR, set by the build; /run). */
#ifndef RUNSTATEDIR
#define RUNSTATEDIR "/run"
#endif
#define CONF_DEFAULT_SOCKET RUNSTATEDIR "/balloond/control.sock"

/* xl's global configuration, read for its autoballoon and claim_mode. */
#define CONF_DEFAULT_XL_CONF "/etc/xen/xl.conf"

struct conf {
	/* [balloond] */
	char socket[CONF_PATH_MAX];      /* control socket path */
	char read_group[CONF_NAME_MAX];  /* group allowed read-only methods; "" = none */
	char backend[16];                /* auto | xen | sim */
	char scenario[CONF_PATH_MAX];    /* sim backend: scenario file; "" = built-in demo */
	char xl_conf[CONF_PATH_MAX];     /* xl.conf to read, default CONF_DEFAULT_XL_CONF */
	enum log_level log_level;
	uint64_t pool_kib;               /* safety pool kept free, default 72M */
	uint64_t keep_free_kib;          /* headroom for VM starts beyond the pool, default 0 */
	uint64_t maxmem_slack_kib;       /* maxmem = target + slack after a decrease, default 1M */
	uint64_t deadband_kib;           /* ignore target changes smaller than this, default 16M */
	uint64_t max_step_kib;           /* largest change per domain per decision, 0 = none */
	uint64_t reach_tolerance_kib;    /* |actual - target| within this = reached, default 1M */
	enum surplus_mode surplus;
	uint64_t poll_interval_ms;       /* re-observe while a balloon moves, default 250ms */
	uint64_t stall_timeout_ms;       /* no progress this long = stalled, default 5s */
	uint64_t uncooperative_timeout_ms; /* stalled this long = uncooperative, default 20s */
	uint64_t uncooperative_retry_max_ms; /* its re-arms back off from 20s up to this, 5m */
	uint64_t reserve_timeout_ms;     /* a reservation not granted by then fails, default 30s */
	uint64_t reserve_ttl_ms;         /* a reservation's life when none is given, default 5m */
	bool manage_dom0;                /* default false */
	unsigned demand_buffer_pct;      /* need = used x (1 + this/100), default 30 */
	uint64_t demand_interval_ms;     /* a guest's report is taken at most this often, 1s */
	uint64_t demand_stale_ms;        /* a report this old, from before a resize, is ignored, 5m */
	unsigned psi_threshold_pct;      /* dom0 memory PSI (some avg10) meaning pressure, 10 */
	uint64_t offset_max_kib;         /* largest tot_pages - target learned at rest, 8M */
	uint64_t oscillation_window_ms;  /* reversals closer than this are damped, 60s; 0 = off */
	uint64_t max_message;            /* bytes per JSON-RPC message, default 64K */
	unsigned max_clients;            /* default 64 */
	unsigned max_clients_per_uid;    /* default 16 */
	uint64_t client_timeout_ms;      /* idle client disconnect, default 5m */
	uint64_t audit_interval_ms;      /* periodic M2P/P2M audit, default 10m, 0 = off */
	uint64_t audit_settle_ms;        /* re-check delay before a finding is confirmed, 1s */
	unsigned audit_examples;         /* findings shown per class, default 10 */

	/* [defaults] */
	struct conf_domain defaults;     /* dynamic_min 50%, dynamic_max 100%, weight 100, auto */

	/* [domain NAME] sections, in file order; names are unique */
	struct conf_domain *domains;
	size_t n_domains;

	/* Private to conf.c: room in domains, and an open-addressing index of
	 * their names (index_cap slots, each 0 = empty or 1 + position). */
	size_t domains_cap;
	uint32_t *domain_index;
	size_t index_cap;
};

/* Where a parse failed: file (or name given to the string parser), line
 * (0 if not line-bound) and a message naming the key and the problem. */
struct conf_error {
	char file[CONF_PATH_MAX];
	unsigned line;
	char msg[256];
};

/* Fill *c with the built-in defaults (no allocation). */
void conf_init(struct conf *c);

/* Parse a file over the defaults. On success *ret holds the result (free
 * with conf_free) and 0 is returned; on failure -EINVAL (or -errno when the
 * file cannot be read), *err says where and why, and *ret is untouched.
 * Only a regular file is read: a FIFO, device or socket is -EINVAL and a
 * directory -EISDIR, found without blocking (opened O_NONBLOCK). Messages
 * never hold control characters or invalid UTF-8 from the file: such
 * bytes are shown as \xNN. */
int conf_parse_file(const char *path, struct conf *ret, struct conf_error *err);

/* Same as conf_parse_file for text in memory; name is used in errors. */
int conf_parse_string(const char *text, const char *name, struct conf *ret,
		      struct conf_error *err);

/* Set one key as if read from the file ("balloond", "defaults" or
 * "domain NAME" sections). Used by the parser and by simulator scenarios.
 * Returns 0 or -EINVAL with a message in err (errlen bytes). */
int conf_set(struct conf *c, const char *section, const char *key,
	     const char *value, char *err, size_t errlen);

/* The [domain NAME] section for name, or NULL. O(1) on average: a hash
 * index kept by the parser, conf_set and conf_copy. */
const struct conf_domain *conf_find_domain(const struct conf *c, const char *name);

/* Deep copy (for reloads); 0 or -ENOMEM. */
int conf_copy(struct conf *dst, const struct conf *src);

/* Free what conf owns; conf_free(NULL) is fine. The struct itself is the
 * caller's. */
void conf_free(struct conf *c);

/* Names for enums, for output and errors. */
const char *domain_mode_name(enum domain_mode m);
int domain_mode_parse(const char *s, enum domain_mode *ret);
const char *surplus_mode_name(enum surplus_mode m);

#endif
