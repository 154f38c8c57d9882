/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The Xen backend: the hypervisor through libxenctrl, XenStore through
 * libxenstore. It observes and acts; the engine decides.
 *
 * XenStore is watched at @introduceDomain, @releaseDomain and /local/domain.
 * What XenStore says about each domain is cached and dropped when a watch
 * event names that domain's name or memory/ keys: at 1,000 domains reading
 * five keys each costs 5,000 round trips (measured about 70-90 us each
 * against the 4.17 C xenstored, so 0.35-0.45 s per observation).
 * Each observation first makes one round trip after enumerating domains:
 * xenstored sends a connection's watch events and replies in order, so
 * every event for a write made before that point has arrived and has been
 * applied before the cache is used. Entries are also re-read after a
 * bounded age, as a safety net.
 *
 * libxenstore 4.17 runs a reader thread once a watch exists; xs_fileno()
 * is a pipe it writes to when a watch event is queued, not the socket, and
 * nothing is written there when xenstored goes away. A lost connection is
 * therefore noticed by a failing call (an observation, an action, or a
 * keepalive probe every XEN_KEEPALIVE_MS, or at each systemd watchdog ping
 * when there is one: a settled host then costs no wake-up of its own). */
/* config.h comes from the build directory, or is forced in with -include. */
#ifndef PACKAGE_VERSION
#include "config.h"
#endif

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <xenctrl.h>
#include <xenstore.h>

#include "audit-xen.h"
#include "backend.h"
#include "log.h"
#include "units.h"

#define XEN_KIB_PER_PAGE (XC_PAGE_SIZE / 1024)
#define XEN_INFO_CHUNK 256           /* domains per getdomaininfolist call */
#define XEN_DOMID_LIMIT DOMID_FIRST_RESERVED
#define XEN_STATE_ROOT "/tool/balloond"
#define XEN_WATCH_TOKEN "balloond"
#define XEN_LOCAL "/local/domain"
#define XEN_CACHE_AGE_MS 30000       /* plus up to 30 s spread by domid */
#define XEN_CACHE_SPREAD_MS 30000
#define XEN_DRAIN_MAX 4096           /* watch events handled per wakeup */
#define XEN_RETRY_MIN_MS 1000
#define XEN_RETRY_MAX_MS 30000
#define XEN_STABLE_MS 60000          /* a connection this old resets the backoff */
#define XEN_KEEPALIVE_MS 30000
#define XEN_TX_RETRIES 8
/* libxl's LIBXL_MAXMEM_CONSTANT: the slack it adds to the PoD target. */
#define XEN_LIBXL_EXTRA_KIB 1024

static const char *const xen_watch_paths[] = {"@introduceDomain", "@releaseDomain", XEN_LOCAL};

/* What XenStore said about one domain instance, kept between observations.
 * valid is cleared by a watch event naming the domain's directory, name or
 * memory/ keys; the type (from /libxl/<domid>/type, never changes) is kept
 * for the life of the instance, which the hypervisor's handle identifies. */
struct xen_dom {
	xen_domain_handle_t handle;
	bool valid;
	uint64_t expires_ms;
	char name[ENGINE_NAME_MAX];
	uint64_t static_max_kib;
	bool has_target, has_dmin, has_dmax;
	uint64_t target_kib, dmin_kib, dmax_kib;
	bool has_total, has_free; /* guest-written data/meminfo_total, _free */
	uint64_t total_kib, free_kib;
	bool has_qubes;           /* guest-written memory/meminfo (Qubes) */
	uint64_t qubes_used_kib;
	bool has_feature_balloon; /* guest-written control/feature-balloon: 0 or 1 */
	uint64_t feature_balloon;
	uint64_t videoram_kib;    /* memory/videoram (toolstack), 0 if none */
	bool type_known;
	enum dom_type hvm_type; /* DOM_HVM or DOM_PVH, for hvm_guest domains */
};

struct backend_xen {
	struct backend base;
	xc_interface *xch;
	struct xs_handle *xs; /* NULL while the XenStore connection is lost */
	struct event_base *evb;
	struct event *xs_ev;        /* the watch pipe is readable */
	struct event *retry_ev;     /* reconnect */
	struct event *keepalive_ev; /* probe the connection */
	backend_notify_fn notify;
	void *notify_arg;
	uint64_t connected_ms;
	uint64_t retry_at_ms;
	uint64_t retry_delay_ms;
	uint64_t low_mem_virq_kib; /* from the hypervisor's command line */
	bool has_cmdline;
	xen_commandline_t cmdline; /* XENVER_commandline, read at open */
	bool manage_dom0;          /* read dom0's /proc numbers only then */
	/* one observation */
	xc_domaininfo_t *info;
	struct engine_obs_domain *doms;
	size_t cap;
	/* the cache: one entry per domid in ids (ascending) */
	struct xen_dom **cache; /* XEN_DOMID_LIMIT pointers */
	uint32_t *ids;
	size_t n_ids;
	unsigned long reads; /* XenStore reads in the last observation */
};

static uint64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static uint64_t pages_to_kib(uint64_t pages)
{
	if (pages > UINT64_MAX / XEN_KIB_PER_PAGE)
		return UINT64_MAX;
	return pages * XEN_KIB_PER_PAGE;
}

/* errno after a failed library call, never 0. */
static int errno_or_eio(void)
{
	return errno ? errno : EIO;
}

/* libxenctrl's own messages go to the debug log: balloond reports what
 * failed itself, in sentences. */
__attribute__((format(printf, 5, 0))) static void xen_xtl_vmessage(xentoollog_logger *logger,
								   xentoollog_level level,
								   int errnoval, const char *context,
								   const char *format, va_list al)
{
	char msg[512];

	vsnprintf(msg, sizeof(msg), format, al);
	log_debug("xen: %s: %s%s%s", context ? context : "libxc", msg, errnoval >= 0 ? ": " : "",
		  errnoval >= 0 ? strerror(errnoval) : "");
}

static void xen_xtl_progress(xentoollog_logger *logger, const char *context, const char *doing_what,
			     int percent, unsigned long done, unsigned long total)
{
}

static void xen_xtl_destroy(xentoollog_logger *logger)
{
}

static xentoollog_logger xen_xtl = {
	.vmessage = xen_xtl_vmessage,
	.progress = xen_xtl_progress,
	.destroy = xen_xtl_destroy,
};

/* ---- XenStore connection ---- */

static void xen_keepalive_arm(struct backend_xen *b)
{
	struct timeval tv = {XEN_KEEPALIVE_MS / 1000, 0};

	evtimer_add(b->keepalive_ev, &tv);
}

static void xen_cache_invalidate_all(struct backend_xen *b)
{
	size_t i;

	for (i = 0; i < b->n_ids; i++)
		if (b->cache[b->ids[i]])
			b->cache[b->ids[i]]->valid = false;
}

/* Drop the XenStore handle. unwatch only when the connection still works. */
static void xen_xs_disconnect(struct backend_xen *b, bool unwatch)
{
	if (b->xs_ev) {
		event_free(b->xs_ev);
		b->xs_ev = NULL;
	}
	evtimer_del(b->keepalive_ev);
	if (!b->xs)
		return;
	if (unwatch)
		for (size_t i = 0; i < sizeof(xen_watch_paths) / sizeof(*xen_watch_paths); i++)
			xs_unwatch(b->xs, xen_watch_paths[i], XEN_WATCH_TOKEN);
	xs_close(b->xs);
	b->xs = NULL;
}

static bool xen_errno_is_transport(int err)
{
	/* xenstored itself never answers with these (see xsd_errors). */
	return err == EBADF || err == EPIPE || err == ECONNRESET || err == ENOTCONN ||
	       err == ESHUTDOWN || err == ECONNREFUSED;
}

static void xen_retry_arm(struct backend_xen *b)
{
	uint64_t now = mono_ms(), delay = b->retry_at_ms > now ? b->retry_at_ms - now : 0;
	struct timeval tv = {(time_t)(delay / 1000), (suseconds_t)(delay % 1000 * 1000)};

	evtimer_add(b->retry_ev, &tv);
}

/* The connection is gone: drop it, forget what XenStore said, and retry
 * with a backoff (a connection that keeps dying right after it came back
 * is retried less and less often). Logged once per loss. */
static void xen_xs_lost(struct backend_xen *b, int err)
{
	uint64_t now = mono_ms();

	if (!b->xs)
		return;
	log_warnx("xen: lost the connection to XenStore (%s); reconnecting", strerror(err));
	xen_xs_disconnect(b, false);
	xen_cache_invalidate_all(b);
	if (now - b->connected_ms < XEN_STABLE_MS) {
		b->retry_delay_ms *= 2;
		if (b->retry_delay_ms < XEN_RETRY_MIN_MS)
			b->retry_delay_ms = XEN_RETRY_MIN_MS;
		if (b->retry_delay_ms > XEN_RETRY_MAX_MS)
			b->retry_delay_ms = XEN_RETRY_MAX_MS;
	} else {
		b->retry_delay_ms = XEN_RETRY_MIN_MS;
	}
	b->retry_at_ms = now + b->retry_delay_ms;
	xen_retry_arm(b);
}

/* One round trip: 0 when xenstored answered (whatever it said), -ENOTCONN
 * (and the connection dropped) when it cannot. Replies and watch events
 * share the connection in order, so this is also the barrier before the
 * cache is used. */
static int xen_xs_probe(struct backend_xen *b)
{
	unsigned int len;
	char *v;
	int err;

	if (!b->xs)
		return -ENOTCONN;
	errno = 0;
	v = xs_read(b->xs, XBT_NULL, XEN_STATE_ROOT, &len);
	if (v) {
		free(v);
		return 0;
	}
	err = errno_or_eio();
	/* EINVAL on a well-formed path is libxenstore saying the reader
	 * thread saw the connection close. */
	if (xen_errno_is_transport(err) || err == EINVAL) {
		xen_xs_lost(b, err);
		return -ENOTCONN;
	}
	return 0;
}

/* Classify a failed libxenstore call: -ENOTCONN when the connection is gone
 * (it is dropped and a reconnect scheduled), else -errno as xenstored said.
 * EINVAL is ambiguous (libxenstore also uses it for a closed connection), so
 * it is settled with a probe. */
static int xen_xs_error(struct backend_xen *b, int err)
{
	if (xen_errno_is_transport(err)) {
		xen_xs_lost(b, err);
		return -ENOTCONN;
	}
	if (err == EINVAL && xen_xs_probe(b) < 0)
		return -ENOTCONN;
	return -err;
}

/* Read path: 0 and *ret (malloc'd, NUL-terminated, no embedded NUL),
 * -ENOENT, -ENOTCONN, or another -errno. */
static int xen_xs_read(struct backend_xen *b, const char *path, char **ret)
{
	unsigned int len;
	char *v;

	if (!b->xs)
		return -ENOTCONN;
	b->reads++;
	errno = 0;
	v = xs_read(b->xs, XBT_NULL, path, &len);
	if (!v)
		return xen_xs_error(b, errno_or_eio());
	if (strlen(v) != len) {
		free(v);
		return -EINVAL;
	}
	*ret = v;
	return 0;
}

/* Which watch events concern the engine, and which cache entries they
 * invalidate: the domain directories, their name and memory/ keys, and the
 * @introduceDomain/@releaseDomain specials. Everything else under
 * /local/domain (device/, control/, data/, backend/ ...) is ignored so that
 * busy guests and device setup do not wake the engine. Keep this in step
 * with what xen_dom_read() reads. */
static bool xen_watch_event(struct backend_xen *b, const char *path)
{
	const char *id, *rest;
	char num[8];
	uint64_t domid;
	size_t len;

	if (path[0] == '@')
		return true;
	if (strcmp(path, XEN_LOCAL) == 0) {
		xen_cache_invalidate_all(b);
		return true;
	}
	if (strncmp(path, XEN_LOCAL "/", sizeof(XEN_LOCAL)) != 0)
		return false;
	id = path + sizeof(XEN_LOCAL);
	rest = strchr(id, '/');
	len = rest ? (size_t)(rest - id) : strlen(id);
	if (len == 0 || len >= sizeof(num))
		return false;
	memcpy(num, id, len);
	num[len] = '\0';
	if (u64_parse_strict(num, XEN_DOMID_LIMIT - 1, &domid) < 0)
		return false;
	if (rest && strcmp(rest, "/name") != 0 && strcmp(rest, "/memory") != 0 &&
	    strncmp(rest, "/memory/", 8) != 0 && strcmp(rest, "/data/meminfo_total") != 0 &&
	    strcmp(rest, "/data/meminfo_free") != 0 &&
	    strcmp(rest, "/control/feature-balloon") != 0)
		return false;
	if (b->cache[domid])
		b->cache[domid]->valid = false;
	return true;
}

/* Take the watch events libxenstore has queued, at most max (the pipe
 * stays readable if more are left). True if any matters. */
static bool xen_xs_drain(struct backend_xen *b, unsigned long max)
{
	bool relevant = false;
	unsigned long n = 0;

	while (b->xs && n < max) {
		char **w;

		errno = 0;
		w = xs_check_watch(b->xs);
		if (!w) {
			int err = errno_or_eio();

			/* EAGAIN: nothing left. EINVAL: the reader thread
			 * has seen the connection close. ENOMEM: one event
			 * lost; the next observation re-reads what is stale
			 * only after the age limit, so treat it as relevant. */
			if (err == ENOMEM) {
				xen_cache_invalidate_all(b);
				relevant = true;
			} else if (err != EAGAIN) {
				xen_xs_error(b, err);
			}
			break;
		}
		if (xen_watch_event(b, w[XS_WATCH_PATH]))
			relevant = true;
		free(w);
		n++;
	}
	return relevant;
}

static void xen_xs_cb(evutil_socket_t fd, short what, void *arg)
{
	struct backend_xen *b = arg;

	if (xen_xs_drain(b, XEN_DRAIN_MAX) || !b->xs)
		b->notify(b->notify_arg);
}

static void xen_keepalive_cb(evutil_socket_t fd, short what, void *arg)
{
	struct backend_xen *b = arg;

	if (xen_xs_probe(b) == 0) {
		xen_keepalive_arm(b);
		return;
	}
	b->notify(b->notify_arg);
}

/* The daemon's watchdog ping probes the connection: the keepalive timer,
 * pushed out each time, then never fires on its own. Disconnected: the
 * reconnect timer is already running. */
static void xen_keepalive(struct backend *be)
{
	struct backend_xen *b = (struct backend_xen *)be;

	if (b->xs)
		xen_keepalive_cb(-1, 0, b);
}

/* libxenstore falls back from xenstored's socket to /dev/xen/xenbus, where
 * requests block until xenstored answers. When the socket exists but
 * refuses connections, a dom0 xenstored is down: say so instead of letting
 * the fallback hang the daemon. No socket at all (xenstored in a stub
 * domain) leaves the choice to libxenstore. */
static int xen_xs_socket_check(void)
{
	const char *path = xs_daemon_socket();
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	struct stat st;
	int fd, err;

	if (!path || stat(path, &st) < 0 || !S_ISSOCK(st.st_mode))
		return 0;
	if (strlen(path) >= sizeof(sa.sun_path))
		return 0;
	memcpy(sa.sun_path, path, strlen(path) + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return 0;
	err = connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ? errno : 0;
	close(fd);
	return -err;
}

/* Create /tool/balloond readable and writable by dom0 only (children
 * inherit the permissions). A failure is logged, not fatal: /tool is
 * already dom0-only on a standard xenstored. */
static void xen_state_root_init(struct backend_xen *b)
{
	struct xs_permissions perms[1] = {{.id = 0, .perms = XS_PERM_NONE}};

	if (!xs_mkdir(b->xs, XBT_NULL, XEN_STATE_ROOT) ||
	    !xs_set_permissions(b->xs, XBT_NULL, XEN_STATE_ROOT, perms, 1))
		log_warnx("xen: cannot make %s dom0-only: %s; continuing", XEN_STATE_ROOT,
			  strerror(errno_or_eio()));
}

/* Open XenStore, hook its watch pipe into the loop and register the
 * watches (xenstored fires each once at once, which wakes the engine).
 * 0, or -errno with a sentence in err. */
static int xen_xs_connect(struct backend_xen *b, char *err, size_t errlen)
{
	size_t i;
	int fd, r;

	r = xen_xs_socket_check();
	if (r == -EACCES || r == -EPERM) {
		snprintf(err, errlen, "cannot connect to xenstored at %s: %s - balloond must run "
				      "as root in dom0",
			 xs_daemon_socket(), strerror(-r));
		return r;
	}
	if (r < 0) {
		snprintf(err, errlen,
			 "cannot connect to xenstored at %s: %s - is xenstored running "
			 "(systemctl status xenstored)?",
			 xs_daemon_socket(), strerror(-r));
		return r;
	}
	b->xs = xs_open(0);
	if (!b->xs) {
		r = -errno_or_eio();
		snprintf(err, errlen,
			 "cannot connect to XenStore (%s, then /dev/xen/xenbus): %s - is xenstored "
			 "running?",
			 xs_daemon_socket(), strerror(-r));
		return r;
	}
	fd = xs_fileno(b->xs);
	if (fd < 0) {
		r = -errno_or_eio();
		snprintf(err, errlen, "cannot get XenStore's watch descriptor: %s", strerror(-r));
		goto fail;
	}
	b->xs_ev = event_new(b->evb, fd, EV_READ | EV_PERSIST, xen_xs_cb, b);
	if (!b->xs_ev || event_add(b->xs_ev, NULL) < 0) {
		r = -ENOMEM;
		snprintf(err, errlen, "cannot add XenStore's watch descriptor to the event loop");
		goto fail;
	}
	for (i = 0; i < sizeof(xen_watch_paths) / sizeof(*xen_watch_paths); i++) {
		if (!xs_watch(b->xs, xen_watch_paths[i], XEN_WATCH_TOKEN)) {
			r = -errno_or_eio();
			snprintf(err, errlen, "cannot watch %s in XenStore: %s", xen_watch_paths[i],
				 strerror(-r));
			goto fail;
		}
	}
	xen_state_root_init(b);
	b->connected_ms = mono_ms();
	xen_keepalive_arm(b);
	return 0;

fail:
	xen_xs_disconnect(b, false);
	return r;
}

/* Try to reconnect now; on failure schedule the next try. */
static int xen_xs_reconnect(struct backend_xen *b)
{
	char err[256];
	int r;

	r = xen_xs_connect(b, err, sizeof(err));
	if (r < 0) {
		log_debug("xen: reconnecting to XenStore: %s", err);
		b->retry_at_ms = mono_ms() + b->retry_delay_ms;
		if (b->retry_delay_ms < XEN_RETRY_MAX_MS)
			b->retry_delay_ms *= 2;
		if (b->retry_delay_ms > XEN_RETRY_MAX_MS)
			b->retry_delay_ms = XEN_RETRY_MAX_MS;
		xen_retry_arm(b);
		return r;
	}
	evtimer_del(b->retry_ev);
	xen_cache_invalidate_all(b);
	log_notice("xen: XenStore connection re-established");
	b->notify(b->notify_arg);
	return 0;
}

static void xen_retry_cb(evutil_socket_t fd, short what, void *arg)
{
	struct backend_xen *b = arg;

	if (!b->xs)
		xen_xs_reconnect(b);
}

/* ---- open / close ---- */

static void xen_close(struct backend *bk)
{
	struct backend_xen *b = (struct backend_xen *)bk;

	if (!b)
		return;
	if (b->keepalive_ev)
		xen_xs_disconnect(b, true);
	if (b->retry_ev)
		event_free(b->retry_ev);
	if (b->keepalive_ev)
		event_free(b->keepalive_ev);
	if (b->xch)
		xc_interface_close(b->xch);
	if (b->cache) {
		for (size_t i = 0; i < b->n_ids; i++)
			free(b->cache[b->ids[i]]);
		free(b->cache);
	}
	free(b->ids);
	free(b->info);
	free(b->doms);
	free(b);
}

/* A sentence for a failed xc_interface_open or first hypercall. */
static void xen_explain_xc(int e, bool opening, char *err, size_t errlen)
{
	if (opening && (e == ENOENT || e == ENODEV || e == ENXIO))
		snprintf(err, errlen,
			 "cannot open /dev/xen/privcmd: %s - is this a Xen dom0 with xen-privcmd "
			 "loaded? (use --backend=sim to run without Xen)",
			 strerror(e));
	else if (opening && (e == EACCES || e == EPERM))
		snprintf(err, errlen,
			 "cannot open /dev/xen/privcmd: %s - balloond must run as root in dom0",
			 strerror(e));
	else if (opening)
		snprintf(err, errlen, "cannot open the Xen control interface (/dev/xen/privcmd): %s",
			 strerror(e));
	else if (e == EPERM || e == EACCES)
		snprintf(err, errlen,
			 "the hypervisor refused XEN_SYSCTL_physinfo: %s - balloond must run in "
			 "dom0 (this looks like an unprivileged guest)",
			 strerror(e));
	else
		snprintf(err, errlen, "XEN_SYSCTL_physinfo failed: %s - do libxenctrl and the "
				      "hypervisor versions match?",
			 strerror(e));
}

static int xen_open(struct backend **ret, const struct conf *conf, struct event_base *base,
		    backend_notify_fn notify, void *arg, char *err, size_t errlen)
{
	struct backend_xen *b = calloc(1, sizeof(*b));
	xc_physinfo_t pi;
	int r;

	if (!b) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	b->base.ops = &backend_xen_ops;
	b->evb = base;
	b->manage_dom0 = conf->manage_dom0;
	b->notify = notify;
	b->notify_arg = arg;
	b->retry_delay_ms = XEN_RETRY_MIN_MS;
	b->cache = calloc(XEN_DOMID_LIMIT, sizeof(*b->cache));
	b->retry_ev = evtimer_new(base, xen_retry_cb, b);
	b->keepalive_ev = evtimer_new(base, xen_keepalive_cb, b);
	if (!b->cache || !b->retry_ev || !b->keepalive_ev) {
		snprintf(err, errlen, "out of memory");
		r = -ENOMEM;
		goto fail;
	}

	errno = 0;
	b->xch = xc_interface_open(&xen_xtl, &xen_xtl, 0);
	if (!b->xch) {
		r = -errno_or_eio();
		xen_explain_xc(-r, true, err, errlen);
		goto fail;
	}
	memset(&pi, 0, sizeof(pi));
	if (xc_physinfo(b->xch, &pi) < 0) {
		r = -errno_or_eio();
		xen_explain_xc(-r, false, err, errlen);
		goto fail;
	}

	b->has_cmdline = xc_version(b->xch, XENVER_commandline, b->cmdline) >= 0;
	if (!b->has_cmdline)
		b->cmdline[0] = '\0';
	b->cmdline[sizeof(b->cmdline) - 1] = '\0';
	b->low_mem_virq_kib = xen_low_mem_virq_kib(b->cmdline);

	r = xen_xs_connect(b, err, errlen);
	if (r < 0)
		goto fail;

	log_info("xen: host has %" PRIu64 " MiB, %" PRIu64 " MiB free, low-memory alarm at %" PRIu64
		 " MiB; watching XenStore",
		 pages_to_kib(pi.total_pages) / 1024, pages_to_kib(pi.free_pages) / 1024,
		 b->low_mem_virq_kib / 1024);
	*ret = &b->base;
	return 0;

fail:
	xen_close(&b->base);
	return r;
}

/* ---- observe ---- */

static int xen_grow(struct backend_xen *b, size_t want)
{
	void *p;

	if (want <= b->cap)
		return 0;
	if (want < b->cap * 2)
		want = b->cap * 2;
	p = realloc(b->info, want * sizeof(*b->info));
	if (!p)
		return -ENOMEM;
	b->info = p;
	p = realloc(b->doms, want * sizeof(*b->doms));
	if (!p)
		return -ENOMEM;
	b->doms = p;
	p = realloc(b->ids, want * sizeof(*b->ids));
	if (!p)
		return -ENOMEM;
	b->ids = p;
	b->cap = want;
	return 0;
}

/* Every domain the hypervisor knows, ascending by domid (Xen keeps its
 * domain list in domid order), in chunks. Returns the count or -errno. */
static long xen_list_domains(struct backend_xen *b)
{
	uint32_t first = 0;
	size_t n = 0;

	for (;;) {
		int r, i;

		if (xen_grow(b, n + XEN_INFO_CHUNK) < 0)
			return -ENOMEM;
		errno = 0;
		r = xc_domain_getinfolist(b->xch, first, XEN_INFO_CHUNK, &b->info[n]);
		if (r < 0)
			return -errno_or_eio();
		if (r > XEN_INFO_CHUNK)
			return -EIO;
		for (i = 0; i < r; i++) {
			uint32_t id = b->info[n + (size_t)i].domain;

			if (id < first || id >= XEN_DOMID_LIMIT ||
			    (n + (size_t)i > 0 && id <= b->info[n + (size_t)i - 1].domain)) {
				log_warnx("xen: getdomaininfolist returned domain %u out of order", id);
				return -EIO;
			}
		}
		n += (size_t)r;
		if (r < XEN_INFO_CHUNK)
			break;
		first = (uint32_t)b->info[n - 1].domain + 1;
		if (first >= XEN_DOMID_LIMIT)
			break;
	}
	return (long)n;
}

/* Make the cache hold exactly the n domains just listed: drop entries of
 * domains that are gone, reset entries whose domid now names another
 * domain instance, create the missing ones. ids always lists every entry,
 * also after -ENOMEM. */
static int xen_cache_merge(struct backend_xen *b, size_t n)
{
	size_t i, j = 0;
	int r = 0;

	for (i = 0; i < b->n_ids; i++) {
		uint32_t id = b->ids[i];

		while (j < n && b->info[j].domain < id)
			j++;
		if (j < n && b->info[j].domain == id)
			continue;
		free(b->cache[id]);
		b->cache[id] = NULL;
	}
	b->n_ids = 0;
	for (i = 0; i < n; i++) {
		uint32_t id = b->info[i].domain;
		struct xen_dom *c = b->cache[id];

		if (!c) {
			c = calloc(1, sizeof(*c));
			if (!c) {
				r = -ENOMEM;
				continue;
			}
			b->cache[id] = c;
			memcpy(c->handle, b->info[i].handle, sizeof(c->handle));
		} else if (memcmp(c->handle, b->info[i].handle, sizeof(c->handle)) != 0) {
			memset(c, 0, sizeof(*c));
			memcpy(c->handle, b->info[i].handle, sizeof(c->handle));
		}
		b->ids[b->n_ids++] = id;
	}
	return r;
}

/* Read one KiB key of a domain. 0 (*has says whether it held a valid
 * value), 1 when a read failed in a way worth retrying, -ENOTCONN. */
static int xen_read_kib(struct backend_xen *b, uint32_t domid, const char *key, bool *has,
			uint64_t *ret)
{
	char path[96], *v = NULL;
	int r;

	snprintf(path, sizeof(path), XEN_LOCAL "/%u/%s", domid, key);
	*has = false;
	*ret = 0;
	r = xen_xs_read(b, path, &v);
	if (r == -ENOTCONN)
		return r;
	if (r == 0) {
		*has = backend_parse_kib(v, ret) == 0;
		if (!*has)
			*ret = 0;
		free(v);
		return 0;
	}
	return r == -ENOENT || r == -EINVAL ? 0 : 1;
}

/* Copy a name for display: at most ENGINE_NAME_MAX - 1 bytes, control
 * characters replaced so that no name can forge a log line. */
static void xen_copy_name(char *dst, const char *src)
{
	size_t i;

	for (i = 0; i < ENGINE_NAME_MAX - 1 && src[i]; i++)
		dst[i] = (unsigned char)src[i] < 0x20 || src[i] == 0x7f ? '?' : src[i];
	dst[i] = '\0';
}

/* HVM or PVH for a domain with XEN_DOMINF_hvm_guest, the way libxl decides
 * (libxl__domain_type): /libxl/<domid>/type, written in the same
 * transaction as the domain's name; without it, HVM. An hvm_guest dom0 is
 * PVH (there is no HVM dom0). 0 or -ENOTCONN. */
static int xen_read_type(struct backend_xen *b, uint32_t domid, struct xen_dom *c)
{
	char path[64], *v = NULL;
	int r;

	if (domid == 0) {
		c->hvm_type = DOM_PVH;
		c->type_known = true;
		return 0;
	}
	snprintf(path, sizeof(path), "/libxl/%u/type", domid);
	r = xen_xs_read(b, path, &v);
	if (r == -ENOTCONN)
		return r;
	c->hvm_type = r == 0 && strcmp(v, "pvh") == 0 ? DOM_PVH : DOM_HVM;
	c->type_known = r == 0 || r == -ENOENT;
	free(v);
	return 0;
}

/* Read what XenStore says about one domain into its cache entry. Keys that
 * are absent or malformed count as absent. 0 or -ENOTCONN. */
static int xen_dom_read(struct backend_xen *b, uint32_t domid, bool hvm, struct xen_dom *c,
			uint64_t now)
{
	char path[64], *v = NULL;
	bool has_smax, retry = false;
	int r;

	snprintf(path, sizeof(path), XEN_LOCAL "/%u/name", domid);
	r = xen_xs_read(b, path, &v);
	if (r == -ENOTCONN)
		return r;
	c->name[0] = '\0';
	if (r == 0)
		xen_copy_name(c->name, v);
	else if (r != -ENOENT && r != -EINVAL)
		retry = true;
	free(v);

	r = xen_read_kib(b, domid, "memory/static-max", &has_smax, &c->static_max_kib);
	if (r < 0)
		return r;
	retry |= r > 0;
	r = xen_read_kib(b, domid, "memory/target", &c->has_target, &c->target_kib);
	if (r < 0)
		return r;
	retry |= r > 0;
	r = xen_read_kib(b, domid, "memory/dynamic-min", &c->has_dmin, &c->dmin_kib);
	if (r < 0)
		return r;
	retry |= r > 0;
	r = xen_read_kib(b, domid, "memory/dynamic-max", &c->has_dmax, &c->dmax_kib);
	if (r < 0)
		return r;
	retry |= r > 0;
	/* The guest's own report: hostile input, digits only or absent. */
	r = xen_read_kib(b, domid, "data/meminfo_total", &c->has_total, &c->total_kib);
	if (r < 0)
		return r;
	retry |= r > 0;
	r = xen_read_kib(b, domid, "data/meminfo_free", &c->has_free, &c->free_kib);
	if (r < 0)
		return r;
	retry |= r > 0;
	r = xen_read_kib(b, domid, "memory/meminfo", &c->has_qubes, &c->qubes_used_kib);
	if (r < 0)
		return r;
	retry |= r > 0;
	/* Whether its balloon driver is up: guest-written, 0 or 1 or absent. */
	r = xen_read_kib(b, domid, "control/feature-balloon", &c->has_feature_balloon,
			 &c->feature_balloon);
	if (r < 0)
		return r;
	retry |= r > 0;
	c->has_feature_balloon = c->has_feature_balloon && c->feature_balloon <= 1;
	c->videoram_kib = 0;
	if (hvm) {
		bool has_vram;

		r = xen_read_kib(b, domid, "memory/videoram", &has_vram, &c->videoram_kib);
		if (r < 0)
			return r;
		retry |= r > 0;
	}

	if (hvm && !c->type_known && c->name[0]) {
		r = xen_read_type(b, domid, c);
		if (r < 0)
			return r;
	}
	c->valid = !retry;
	c->expires_ms = now + XEN_CACHE_AGE_MS + (uint64_t)domid * 997 % XEN_CACHE_SPREAD_MS;
	return 0;
}

static void xen_fill(struct engine_obs_domain *o, const xc_domaininfo_t *in, const struct xen_dom *c)
{
	bool hvm = in->flags & XEN_DOMINF_hvm_guest;

	memset(o, 0, sizeof(*o));
	o->domid = in->domain;
	o->type = !hvm ? DOM_PV : c->type_known ? c->hvm_type : DOM_HVM;
	o->dying = in->flags & XEN_DOMINF_dying;
	o->shutdown = in->flags & XEN_DOMINF_shutdown;
	o->paused = in->flags & XEN_DOMINF_paused;
	o->tot_kib = pages_to_kib(in->tot_pages);
	o->max_kib = pages_to_kib(in->max_pages);
	memcpy(o->name, c->name, sizeof(o->name));
	o->static_max_kib = c->static_max_kib;
	o->has_target = c->has_target;
	o->target_kib = c->target_kib;
	o->has_xs_dmin = c->has_dmin;
	o->xs_dmin_kib = c->dmin_kib;
	o->has_xs_dmax = c->has_dmax;
	o->xs_dmax_kib = c->dmax_kib;
	o->has_report = c->has_total && c->has_free;
	o->report_total_kib = c->total_kib;
	o->report_free_kib = c->free_kib;
	o->has_qubes_report = c->has_qubes;
	o->qubes_used_kib = c->qubes_used_kib;
	o->has_feature_balloon = c->has_feature_balloon;
	o->feature_balloon = c->feature_balloon == 1;
	o->videoram_kib = c->videoram_kib;
}

/* dom0's own numbers, read by balloond in dom0 (trusted): MemTotal and
 * MemAvailable from /proc/meminfo as its report, and "some avg10" from
 * /proc/pressure/memory. Missing files (no PSI in the kernel) leave the
 * fields unset. */
static void xen_fill_dom0(struct engine_obs_domain *o)
{
	unsigned long long total = 0, avail = 0;
	bool has_total = false, has_avail = false;
	char line[256];
	FILE *f;

	f = fopen("/proc/meminfo", "re");
	if (f) {
		while (fgets(line, sizeof(line), f)) {
			if (sscanf(line, "MemTotal: %llu kB", &total) == 1)
				has_total = true;
			else if (sscanf(line, "MemAvailable: %llu kB", &avail) == 1)
				has_avail = true;
		}
		fclose(f);
	}
	if (has_total && has_avail && avail <= total) {
		o->has_report = true;
		o->report_total_kib = total;
		o->report_free_kib = avail;
	}
	f = fopen("/proc/pressure/memory", "re");
	if (f) {
		unsigned whole, frac;

		if (fgets(line, sizeof(line), f) &&
		    sscanf(line, "some avg10=%u.%2u", &whole, &frac) == 2 && whole <= 100) {
			o->has_psi = true;
			o->psi_some_avg10_centi = whole * 100 + frac;
		}
		fclose(f);
	}
}

static int xen_observe(struct backend *bk, struct engine_obs *obs)
{
	struct backend_xen *b = (struct backend_xen *)bk;
	uint64_t now = mono_ms();
	xc_physinfo_t pi;
	size_t i, n;
	long r;

	if (!b->xs && (now < b->retry_at_ms || xen_xs_reconnect(b) < 0))
		return -EAGAIN;
	b->reads = 0;

	r = xen_list_domains(b);
	if (r < 0)
		return (int)r;
	n = (size_t)r;
	memset(&pi, 0, sizeof(pi));
	errno = 0;
	if (xc_physinfo(b->xch, &pi) < 0)
		return -errno_or_eio();
	r = xen_cache_merge(b, n);
	if (r < 0)
		return (int)r;

	/* Barrier, then apply every watch event sent before it (all of
	 * them: a stale entry must not survive into this observation). */
	if (xen_xs_probe(b) < 0)
		return -EAGAIN;
	xen_xs_drain(b, ULONG_MAX);
	if (!b->xs)
		return -EAGAIN;

	for (i = 0; i < n; i++) {
		const xc_domaininfo_t *in = &b->info[i];
		struct xen_dom *c = b->cache[in->domain];

		/* A dying domain's XenStore directory is going away: keep
		 * what was known (its name, for the events about it). */
		if (!(in->flags & XEN_DOMINF_dying) && (!c->valid || now >= c->expires_ms)) {
			if (xen_dom_read(b, in->domain, in->flags & XEN_DOMINF_hvm_guest, c, now) < 0)
				return -EAGAIN;
		}
		xen_fill(&b->doms[i], in, c);
		if (in->domain == 0 && b->manage_dom0)
			xen_fill_dom0(&b->doms[i]);
	}
	log_debug("xen: observed %zu domains with %lu XenStore reads", n, b->reads);

	obs->total_kib = pages_to_kib(pi.total_pages);
	obs->free_kib = pages_to_kib(pi.free_pages);
	obs->scrub_kib = pages_to_kib(pi.scrub_pages);
	obs->outstanding_kib = pages_to_kib(pi.outstanding_pages);
	obs->low_mem_virq_kib = b->low_mem_virq_kib;
	obs->doms = b->doms;
	obs->n = n;
	return 0;
}

/* ---- act ---- */

/* The hypervisor's view of one domain: 0, -ESRCH if there is none. */
static int xen_domain_info(struct backend_xen *b, uint32_t domid, xc_domaininfo_t *ret)
{
	int r;

	errno = 0;
	r = xc_domain_getinfolist(b->xch, domid, 1, ret);
	if (r < 0)
		return -errno_or_eio();
	/* getinfolist returns the next domain when domid does not exist */
	if (r != 1 || ret->domain != domid)
		return -ESRCH;
	return 0;
}

/* What libxl_set_memory_target does for a non-PV domain besides writing
 * memory/target: set the populate-on-demand target to target + 1 MiB (in
 * pages), so that a guest started with memory < maxmem gets its PoD cache
 * resized. Xen ignores it once the guest has no PoD entries left, and
 * refuses more than max_pages, so the value is capped there. */
static int xen_set_pod_target(struct backend_xen *b, const xc_domaininfo_t *info, uint64_t kib)
{
	uint64_t pages = (kib + XEN_LIBXL_EXTRA_KIB) / XEN_KIB_PER_PAGE;

	if (pages > info->max_pages)
		pages = info->max_pages;
	errno = 0;
	if (xc_domain_set_pod_target(b->xch, info->domain, pages, NULL, NULL, NULL) < 0)
		return -errno_or_eio();
	return 0;
}

/* One write to a domain's directory the way libxl does it: in a transaction
 * that first checks memory/target exists (never creating an orphan
 * directory for a domain that has gone), retried on conflicts. op runs
 * inside the transaction; 0 or -errno (-ENOENT: no such domain). */
typedef int (*xen_tx_op)(struct backend_xen *b, xs_transaction_t t, void *arg);

static int xen_domain_tx(struct backend_xen *b, uint32_t domid, xen_tx_op op, void *arg)
{
	char path[64];
	unsigned int len, tries;
	int r, e;

	snprintf(path, sizeof(path), XEN_LOCAL "/%u/memory/target", domid);
	for (tries = 0; tries < XEN_TX_RETRIES; tries++) {
		xs_transaction_t t;
		char *cur;

		errno = 0;
		t = xs_transaction_start(b->xs);
		if (t == XBT_NULL)
			return xen_xs_error(b, errno_or_eio());
		errno = 0;
		cur = xs_read(b->xs, t, path, &len);
		if (!cur) {
			e = errno_or_eio();
			xs_transaction_end(b->xs, t, true);
			return e == ENOENT ? -ENOENT : xen_xs_error(b, e);
		}
		free(cur);
		r = op(b, t, arg);
		if (r < 0) {
			xs_transaction_end(b->xs, t, true);
			return r;
		}
		errno = 0;
		if (xs_transaction_end(b->xs, t, false))
			return 0;
		e = errno_or_eio();
		if (e != EAGAIN)
			return xen_xs_error(b, e);
	}
	return -EAGAIN;
}

struct xen_target_op {
	const xc_domaininfo_t *info;
	uint64_t kib;
};

static int xen_target_op(struct backend_xen *b, xs_transaction_t t, void *arg)
{
	const struct xen_target_op *o = arg;
	char path[64], val[32];
	int r;

	if (o->info->flags & XEN_DOMINF_hvm_guest) {
		r = xen_set_pod_target(b, o->info, o->kib);
		if (r < 0)
			return r;
	}
	snprintf(path, sizeof(path), XEN_LOCAL "/%u/memory/target", o->info->domain);
	snprintf(val, sizeof(val), "%" PRIu64, o->kib);
	errno = 0;
	if (!xs_write(b->xs, t, path, val, (unsigned int)strlen(val)))
		return xen_xs_error(b, errno_or_eio());
	return 0;
}

/* Write memory/target the way libxl does (xen_domain_tx), with the PoD
 * target for HVM/PVH. kib is the value the balloon driver aims for; unlike
 * `xl mem-set`, nothing (videoram) is subtracted here. */
static int xen_set_target(struct backend *bk, uint32_t domid, uint64_t kib)
{
	struct backend_xen *b = (struct backend_xen *)bk;
	xc_domaininfo_t info;
	struct xen_target_op op;
	int r;

	if (domid >= XEN_DOMID_LIMIT)
		return -EINVAL;
	if (!b->xs)
		return -ENOTCONN;
	r = xen_domain_info(b, domid, &info);
	if (r < 0)
		return r;
	op.info = &info;
	op.kib = kib;
	return xen_domain_tx(b, domid, xen_target_op, &op);
}

struct xen_flag_op {
	uint32_t domid;
	bool on;
};

static int xen_flag_op(struct backend_xen *b, xs_transaction_t t, void *arg)
{
	const struct xen_flag_op *o = arg;
	char path[80];

	snprintf(path, sizeof(path), XEN_LOCAL "/%u/memory/uncooperative", o->domid);
	errno = 0;
	if (o->on ? xs_write(b->xs, t, path, "1", 1) : xs_rm(b->xs, t, path))
		return 0;
	if (!o->on && errno == ENOENT)
		return 0;
	return xen_xs_error(b, errno_or_eio());
}

/* memory/uncooperative (squeezed's flag for the toolstack), written or
 * removed like memory/target. */
static int xen_flag_uncooperative(struct backend *bk, uint32_t domid, bool on)
{
	struct backend_xen *b = (struct backend_xen *)bk;
	struct xen_flag_op op = {domid, on};

	if (domid >= XEN_DOMID_LIMIT)
		return -EINVAL;
	if (!b->xs)
		return -ENOTCONN;
	return xen_domain_tx(b, domid, xen_flag_op, &op);
}

/* The hypervisor's cap. xc_domain_setmaxmem takes KiB; the engine adds
 * any slack itself (libxl adds 1 MiB for `xl mem-max`). */
static int xen_set_maxmem(struct backend *bk, uint32_t domid, uint64_t kib)
{
	struct backend_xen *b = (struct backend_xen *)bk;

	if (domid >= XEN_DOMID_LIMIT)
		return -EINVAL;
	errno = 0;
	if (xc_domain_setmaxmem(b->xch, domid, kib) < 0)
		return -errno_or_eio();
	return 0;
}

/* A key balloond may use as one path component. */
static bool xen_key_ok(const char *key)
{
	size_t i;

	if (!key[0] || strcmp(key, ".") == 0 || strcmp(key, "..") == 0)
		return false;
	for (i = 0; key[i]; i++)
		if (key[i] == '/' || (unsigned char)key[i] <= 0x20 || key[i] == 0x7f)
			return false;
	return i < 64;
}

static int xen_persist(struct backend *bk, uint32_t domid, const char *key, const char *value)
{
	struct backend_xen *b = (struct backend_xen *)bk;
	char path[160];

	if (!b->xs)
		return -ENOTCONN;
	if (key && strcmp(key, BACKEND_KEY_RESERVATION) == 0) {
		snprintf(path, sizeof(path), XEN_STATE_ROOT "/reservation/%u", domid);
		errno = 0;
		if (!value ? xs_rm(b->xs, XBT_NULL, path)
			   : xs_write(b->xs, XBT_NULL, path, value, (unsigned int)strlen(value)))
			return 0;
		if (!value && errno == ENOENT)
			return 0;
		return xen_xs_error(b, errno_or_eio());
	}
	if (domid >= XEN_DOMID_LIMIT || (key && (!xen_key_ok(key) || !value)))
		return -EINVAL;
	if (!key) {
		snprintf(path, sizeof(path), XEN_STATE_ROOT "/domain/%u", domid);
		errno = 0;
		if (xs_rm(b->xs, XBT_NULL, path))
			return 0;
		if (errno == ENOENT)
			return 0;
		return xen_xs_error(b, errno_or_eio());
	}
	snprintf(path, sizeof(path), XEN_STATE_ROOT "/domain/%u/%s", domid, key);
	errno = 0;
	if (!xs_write(b->xs, XBT_NULL, path, value, (unsigned int)strlen(value)))
		return xen_xs_error(b, errno_or_eio());
	return 0;
}

/* On every reload: whether dom0's own numbers are wanted. */
static int xen_adjust_conf(struct backend *bk, struct conf *conf, char *err, size_t errlen)
{
	struct backend_xen *b = (struct backend_xen *)bk;

	(void)err;
	(void)errlen;
	b->manage_dom0 = conf->manage_dom0;
	return 0;
}

/* Hand every /tool/balloond/domain/<domid>/<key> back to the daemon.
 * Entries that are not a domid or cannot be read are skipped. */
static int xen_restore(struct backend *bk, backend_restore_fn fn, void *arg)
{
	struct backend_xen *b = (struct backend_xen *)bk;
	unsigned int nd, nk, i, j;
	char **doms, **keys;
	int r;

	if (!b->xs)
		return -ENOTCONN;
	errno = 0;
	doms = xs_directory(b->xs, XBT_NULL, XEN_STATE_ROOT "/reservation", &nd);
	for (i = 0; doms && i < nd; i++) {
		char path[256], *v = NULL;
		uint64_t id;

		if (u64_parse_strict(doms[i], BACKEND_RESV_ID_MAX, &id) < 0)
			continue;
		snprintf(path, sizeof(path), XEN_STATE_ROOT "/reservation/%s", doms[i]);
		if (xen_xs_read(b, path, &v) == 0)
			fn(arg, (uint32_t)id, BACKEND_KEY_RESERVATION, v);
		free(v);
	}
	free(doms);
	errno = 0;
	doms = xs_directory(b->xs, XBT_NULL, XEN_STATE_ROOT "/domain", &nd);
	if (!doms)
		return errno == ENOENT ? 0 : xen_xs_error(b, errno_or_eio());
	for (i = 0; i < nd; i++) {
		char path[256];
		uint64_t domid;

		if (u64_parse_strict(doms[i], XEN_DOMID_LIMIT - 1, &domid) < 0)
			continue;
		snprintf(path, sizeof(path), XEN_STATE_ROOT "/domain/%s", doms[i]);
		errno = 0;
		keys = xs_directory(b->xs, XBT_NULL, path, &nk);
		if (!keys) {
			if (errno == ENOENT)
				continue;
			r = xen_xs_error(b, errno_or_eio());
			free(doms);
			return r;
		}
		for (j = 0; j < nk; j++) {
			char *v = NULL;

			if (!xen_key_ok(keys[j]))
				continue;
			snprintf(path, sizeof(path), XEN_STATE_ROOT "/domain/%s/%s", doms[i],
				 keys[j]);
			r = xen_xs_read(b, path, &v);
			if (r == -ENOTCONN) {
				free(keys);
				free(doms);
				return r;
			}
			if (r == 0)
				fn(arg, (uint32_t)domid, keys[j], v);
			free(v);
		}
		free(keys);
	}
	free(doms);
	return 0;
}

/* ---- the M2P/P2M audit source: daemon/audit-xen.c, with its own handles ---- */

static int xen_audit_open(struct backend *bk, const uint32_t *domids, size_t ndomids,
			  struct backend_audit **ret, char *err, size_t errlen)
{
	struct audit_xen *a;
	int r;

	(void)bk;
	r = audit_xen_open(domids, ndomids, &a, err, errlen);
	if (r == 0)
		*ret = (struct backend_audit *)a;
	return r;
}

static int xen_audit_read(struct backend_audit *ba, struct audit_tables *t, char *err,
			  size_t errlen)
{
	return audit_xen_read((struct audit_xen *)ba, t, err, errlen);
}

static void xen_audit_close(struct backend_audit *ba)
{
	audit_xen_close((struct audit_xen *)ba);
}

static const char *xen_cmdline(struct backend *be)
{
	struct backend_xen *b = (struct backend_xen *)be;

	return b->has_cmdline ? b->cmdline : NULL;
}

const struct backend_ops backend_xen_ops = {
	.name = "xen",
	.open = xen_open,
	.close = xen_close,
	.observe = xen_observe,
	.set_target = xen_set_target,
	.set_maxmem = xen_set_maxmem,
	.persist = xen_persist,
	.flag_uncooperative = xen_flag_uncooperative,
	.adjust_conf = xen_adjust_conf,
	.restore = xen_restore,
	.xen_cmdline = xen_cmdline,
	.keepalive = xen_keepalive,
	.audit_open = xen_audit_open,
	.audit_read = xen_audit_read,
	.audit_close = xen_audit_close,
};
