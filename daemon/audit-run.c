/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The audit scheduler. An audit is a job in up to two passes: the backend
 * takes a snapshot (or prepares) on the event loop, a worker thread reads
 * the tables and runs lib/audit, and a byte on a pipe watched by libevent
 * hands the result back. A first pass with findings is followed, after
 * audit_settle, by a re-check of the domains concerned; only the findings
 * it confirms are kept, logged and published. The loop never waits for the
 * worker, except at shutdown, which joins it and drops its result. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "audit-queue.h"
#include "audit-run.h"
#include "backend.h"
#include "clock.h"
#include "engine.h"
#include "events.h"
#include "jsonrpc.h"
#include "log.h"

#define AUDIT_HISTORY 4		  /* completed audits kept for status/findings */
#define AUDIT_COALESCE_MS 1000	  /* balloons at rest within this join one audit */
#define AUDIT_FINDINGS_MAX 1000	  /* findings per class in one reply */
#define AUDIT_RETRY_MS 500	  /* a backend not ready yet (-EAGAIN) is asked again */
#define AUDIT_PAGE_KIB 4
/* On a host where nothing changed since the last clean audit of every
 * domain, a periodic audit is skipped, at most this many in a row: an idle
 * host is still audited every (AUDIT_IDLE_SKIPS + 1) intervals, since a PV
 * guest can rewrite its M2P entries without anything else moving. */
#define AUDIT_IDLE_SKIPS 5

/* A domain of an audit, as reported. */
struct audit_dom_info {
	uint32_t domid;
	enum audit_guest guest;
	char name[ENGINE_NAME_MAX];
	char type[8];
};

/* One audit, complete or under way. */
struct audit_record {
	uint64_t id;
	enum audit_trigger trigger;
	uint32_t *domids; /* asked for; NULL (ndomids 0) = every domain */
	size_t ndomids;
	double started, finished; /* wall clock, seconds */
	uint64_t finished_ms;	  /* monotonic */
	double scan_s, loop_s;
	uint64_t pages;
	uint64_t first_total; /* findings of the first pass */
	uint64_t unconfirmed; /* counted but beyond what could be re-checked */
	struct audit_result *res; /* confirmed (or the clean first pass); NULL if failed */
	struct audit_dom_info *doms;
	size_t ndoms;
	char error[300]; /* room for "re-check: " and a backend's sentence */
};

/* The running audit. The worker writes rc, err, work_s, first/second and
 * rec.doms; the loop reads them only after pthread_join. */
struct audit_job {
	struct audit_record rec;
	int phase; /* 1: the scan, 2: the re-check */
	const struct backend_ops *ops;
	struct backend_audit *snap;
	int notify_fd;
	int rc;
	char err[256];
	double work_s;
	struct audit_result *first, *second;
};

struct audit_sched {
	struct audit_sched_env env;
	const struct backend_ops *ops;
	struct event *done_ev, *settle_ev, *periodic_ev, *queue_ev;
	int pipefd[2];
	pthread_t thread;
	bool thread_live;
	struct audit_job *job;
	struct audit_queue queue;
	bool periodic_due;
	uint64_t interval_ms; /* what periodic_ev is armed with */
	/* Anything the engine said (a domain came or went, a target, a state:
	 * memory moved) since the last audit of every domain started, or that
	 * audit was not clean: the next periodic audit is not skipped. */
	bool changed;
	unsigned idle_skips; /* periodic audits skipped in a row */
	uint64_t skipped;    /* ... and in all */
	uint64_t next_id;
	struct audit_record *hist[AUDIT_HISTORY]; /* newest first */
	size_t nhist;
};

/* ---- helpers ---- */

static double mono_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double wall_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + (double)(ts.tv_nsec / 1000000) / 1000.0;
}

static const char *trigger_name(enum audit_trigger t)
{
	switch (t) {
	case AUDIT_TRIGGER_REQUEST: return "request";
	case AUDIT_TRIGGER_PERIODIC: return "periodic";
	case AUDIT_TRIGGER_BALLOON: return "balloon";
	}
	return "?";
}

static const char *guest_name(enum audit_guest g)
{
	switch (g) {
	case AUDIT_GUEST_PV: return "pv";
	case AUDIT_GUEST_PVH: return "pvh";
	case AUDIT_GUEST_HVM: return "hvm";
	}
	return "?";
}

static void record_free(struct audit_record *r)
{
	if (!r)
		return;
	audit_result_free(r->res);
	free(r->domids);
	free(r->doms);
	free(r);
}

static void job_free(struct audit_job *j)
{
	if (!j)
		return;
	if (j->snap)
		j->ops->audit_close(j->snap);
	audit_result_free(j->first);
	audit_result_free(j->second);
	audit_result_free(j->rec.res);
	free(j->rec.domids);
	free(j->rec.doms);
	free(j);
}

/* The kept audit with this id (has_id false: the newest), or NULL. */
static const struct audit_record *record_find(const struct audit_sched *s, bool has_id,
					      uint64_t id)
{
	size_t i;

	for (i = 0; i < s->nhist; i++)
		if (!has_id || s->hist[i]->id == id)
			return s->hist[i];
	return NULL;
}

static const struct audit_dom_info *record_dom(const struct audit_record *r, uint32_t domid)
{
	size_t i;

	for (i = 0; i < r->ndoms; i++)
		if (r->doms[i].domid == domid)
			return &r->doms[i];
	return NULL;
}

/* ---- the worker ---- */

/* Note each domain's id and kind from the tables (first pass). */
static int job_note_doms(struct audit_job *j, const struct audit_tables *t)
{
	size_t i;

	j->rec.doms = calloc(t->ndoms ? t->ndoms : 1, sizeof(*j->rec.doms));
	if (!j->rec.doms)
		return -ENOMEM;
	for (i = 0; i < t->ndoms; i++) {
		j->rec.doms[i].domid = t->doms[i].domid;
		j->rec.doms[i].guest = t->doms[i].guest;
	}
	j->rec.ndoms = t->ndoms;
	return 0;
}

/* The worker thread: read the tables, audit or re-check, say so on the pipe. */
static void *audit_worker(void *arg)
{
	struct audit_job *j = arg;
	struct audit_tables t;
	double t0 = mono_s();
	char c = 0;
	ssize_t n;

	j->rc = j->ops->audit_read(j->snap, &t, j->err, sizeof(j->err));
	if (j->rc == 0 && j->phase == 1) {
		j->rc = job_note_doms(j, &t);
		if (j->rc == 0)
			j->rc = audit_run(&t, NULL, &j->first);
	} else if (j->rc == 0) {
		j->rc = audit_recheck(j->first, &t, &j->second);
	}
	if (j->rc < 0 && !j->err[0])
		snprintf(j->err, sizeof(j->err), "%s", strerror(-j->rc));
	j->work_s = mono_s() - t0;
	do
		n = write(j->notify_fd, &c, 1);
	while (n < 0 && errno == EINTR);
	return NULL;
}

/* Start the worker on the job's current phase, with every signal blocked
 * in it (they belong to the event loop). 0 or -errno. */
static int worker_start(struct audit_sched *s)
{
	sigset_t all, old;
	int r;

	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	r = pthread_create(&s->thread, NULL, audit_worker, s->job);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (r != 0)
		return -r;
	s->thread_live = true;
	return 0;
}

/* ---- completion ---- */

/* Say what a completed audit found: a warning per domain and class. */
static void record_log(const struct audit_record *r)
{
	size_t i, audited = 0;
	unsigned c;

	if (!r->res) {
		log_warnx("audit %" PRIu64 " failed: %s", r->id, r->error);
		return;
	}
	for (i = 0; i < audit_result_ndoms(r->res); i++) {
		const struct audit_dom_result *dr = audit_result_dom(r->res, i);
		const struct audit_dom_info *di = record_dom(r, dr->domid);

		if (dr->status == AUDIT_STATUS_AUDITED)
			audited++;
		for (c = 0; c < AUDIT_NCLASSES; c++) {
			struct log_about about = {dr->domid, di ? di->name : NULL,
						  LOG_MSGID_AUDIT};

			if (dr->count[c])
				log_about(LOG_WARNING, &about,
					  "audit %" PRIu64 ": domain %u (%s): %" PRIu64
					  " confirmed %s finding%s; a finding is usually a guest "
					  "bug or attack, not a hypervisor fault",
					  r->id, dr->domid, di ? di->name : "", dr->count[c],
					  audit_class_name((enum audit_class)c),
					  dr->count[c] == 1 ? "" : "s");
		}
	}
	if (audit_result_total(r->res) == 0)
		log_info("audit %" PRIu64 " (%s): clean, %zu PV domain%s, %" PRIu64
			 " pages in %.3fs",
			 r->id, trigger_name(r->trigger), audited, audited == 1 ? "" : "s", r->pages,
			 r->scan_s);
	if (r->unconfirmed)
		log_warnx("audit %" PRIu64 ": %" PRIu64 " further findings could not be re-checked",
			  r->id, r->unconfirmed);
}

static json_object *classes_json(const struct audit_result *res)
{
	json_object *o = json_object_new_object();
	unsigned c;

	for (c = 0; res && c < AUDIT_NCLASSES; c++)
		if (audit_result_count(res, (enum audit_class)c))
			json_object_object_add(
				o, audit_class_name((enum audit_class)c),
				json_object_new_int64((int64_t)audit_result_count(res, (enum audit_class)c)));
	return o;
}

static const char *record_result_name(const struct audit_record *r)
{
	if (!r->res)
		return "failed";
	return audit_result_total(r->res) ? "findings" : "clean";
}

/* The "audit" event: what a completed audit confirmed. */
static void record_publish(struct audit_sched *s, const struct audit_record *r)
{
	json_object *p = json_object_new_object(), *doms = json_object_new_array();
	size_t i;

	json_object_object_add(p, "id", json_object_new_int64((int64_t)r->id));
	json_object_object_add(p, "trigger", json_object_new_string(trigger_name(r->trigger)));
	json_object_object_add(p, "scope", json_object_new_string(r->ndomids ? "domains" : "all"));
	json_object_object_add(p, "result", json_object_new_string(record_result_name(r)));
	json_object_object_add(p, "findings",
			       json_object_new_int64(r->res ? (int64_t)audit_result_total(r->res) : 0));
	json_object_object_add(p, "unconfirmed", json_object_new_int64((int64_t)r->unconfirmed));
	json_object_object_add(p, "classes", classes_json(r->res));
	for (i = 0; r->res && i < audit_result_ndoms(r->res); i++) {
		const struct audit_dom_result *dr = audit_result_dom(r->res, i);
		const struct audit_dom_info *di = record_dom(r, dr->domid);
		json_object *o;

		if (!dr->nfindings)
			continue;
		o = json_object_new_object();
		json_object_object_add(o, "domid", json_object_new_int64(dr->domid));
		json_object_object_add(o, "name", json_object_new_string(di ? di->name : ""));
		json_object_object_add(o, "findings", json_object_new_int64((int64_t)dr->nfindings));
		json_object_array_add(doms, o);
	}
	json_object_object_add(p, "domains", doms);
	if (r->error[0])
		json_object_object_add(p, "error", json_object_new_string(r->error));
	events_publish(s->env.events, EVENTS_TOPIC_AUDIT, p);
}

static void queue_kick(struct audit_sched *s, uint64_t delay_ms)
{
	struct timeval tv = {(time_t)(delay_ms / 1000), (suseconds_t)(delay_ms % 1000 * 1000)};

	if (!evtimer_pending(s->queue_ev, NULL))
		evtimer_add(s->queue_ev, &tv);
}

/* The job is over (done or failed): keep it, say it, start what waits. */
static void job_finish(struct audit_sched *s)
{
	struct audit_job *j = s->job;
	struct audit_record *r = malloc(sizeof(*r));
	size_t i;

	s->job = NULL;
	if (!r) {
		log_warnx("audit %" PRIu64 ": out of memory keeping its result", j->rec.id);
		job_free(j);
		return;
	}
	*r = j->rec;
	memset(&j->rec, 0, sizeof(j->rec));
	job_free(j);
	r->finished = wall_s();
	r->finished_ms = clock_now_ms();
	for (i = 0; i < r->ndoms; i++) {
		struct audit_dom_info *di = &r->doms[i];
		const struct engine_dom *ed = engine_find(s->env.engine, di->domid);

		if (!di->name[0] && ed)
			snprintf(di->name, sizeof(di->name), "%s", ed->name);
		/* The engine knows the real kind even when the backend could
		 * not read a PV guest and reports it as not auditable. */
		snprintf(di->type, sizeof(di->type), "%s",
			 ed ? dom_type_name(ed->type) : guest_name(di->guest));
	}
	if (s->nhist == AUDIT_HISTORY)
		record_free(s->hist[--s->nhist]);
	memmove(&s->hist[1], &s->hist[0], s->nhist * sizeof(*s->hist));
	s->hist[0] = r;
	s->nhist++;
	record_log(r);
	record_publish(s, r);
	if (r->ndomids == 0 && (!r->res || audit_result_total(r->res) || r->unconfirmed))
		s->changed = true;
	if (s->periodic_due || !audit_queue_empty(&s->queue))
		queue_kick(s, 0);
}

/* Settle delay over: re-check the domains with findings. */
static void audit_settle_cb(evutil_socket_t fd, short what, void *arg)
{
	struct audit_sched *s = arg;
	struct audit_job *j = s->job;
	uint32_t *domids;
	size_t i, n = 0, nd = audit_result_ndoms(j->first);
	double t0;
	int r;

	domids = calloc(nd ? nd : 1, sizeof(*domids));
	if (!domids) {
		snprintf(j->rec.error, sizeof(j->rec.error), "re-check: out of memory");
		job_finish(s);
		return;
	}
	for (i = 0; i < nd; i++)
		if (audit_result_dom(j->first, i)->nfindings)
			domids[n++] = audit_result_dom(j->first, i)->domid;
	t0 = mono_s();
	r = s->ops->audit_open(s->env.be, domids, n, &j->snap, j->err, sizeof(j->err));
	j->rec.loop_s += mono_s() - t0;
	free(domids);
	if (r == 0) {
		j->phase = 2;
		r = worker_start(s);
		if (r < 0)
			snprintf(j->err, sizeof(j->err), "cannot start a thread: %s", strerror(-r));
	}
	if (r < 0) {
		snprintf(j->rec.error, sizeof(j->rec.error), "re-check: %s", j->err);
		job_finish(s);
	}
}

/* The worker said it is done: join it and take the next step. */
static void audit_done_cb(evutil_socket_t fd, short what, void *arg)
{
	struct audit_sched *s = arg;
	struct audit_job *j = s->job;
	char buf[16];
	size_t i;

	while (read(fd, buf, sizeof(buf)) > 0)
		;
	if (!s->thread_live || !j)
		return;
	pthread_join(s->thread, NULL);
	s->thread_live = false;
	s->ops->audit_close(j->snap);
	j->snap = NULL;
	if (j->rc < 0) {
		snprintf(j->rec.error, sizeof(j->rec.error), "%s%s", j->phase == 2 ? "re-check: " : "",
			 j->err);
		job_finish(s);
		return;
	}
	if (j->phase == 2) {
		j->rec.res = j->second;
		j->second = NULL;
		j->rec.unconfirmed = audit_result_unconfirmed(j->rec.res);
		job_finish(s);
		return;
	}
	j->rec.scan_s = j->work_s;
	for (i = 0; i < audit_result_ndoms(j->first); i++)
		j->rec.pages += audit_result_dom(j->first, i)->scanned;
	j->rec.first_total = audit_result_total(j->first);
	if (j->rec.first_total == 0) {
		j->rec.res = j->first;
		j->first = NULL;
		job_finish(s);
		return;
	}
	{
		uint64_t ms = s->env.conf->audit_settle_ms;
		struct timeval tv = {(time_t)(ms / 1000), (suseconds_t)(ms % 1000 * 1000)};

		log_debug("audit %" PRIu64 ": %" PRIu64 " findings, re-checking in %" PRIu64 " ms",
			  j->rec.id, j->rec.first_total, ms);
		evtimer_add(s->settle_ev, &tv);
	}
}

/* ---- starting ---- */

int audit_sched_start(struct audit_sched *s, const uint32_t *domids, size_t n,
		      enum audit_trigger why, uint64_t *ret_id, char *err, size_t errlen)
{
	struct audit_job *j;
	char what[32] = "every domain";
	double t0;
	int r;

	if (!s->ops->audit_open) {
		snprintf(err, errlen, "the %s backend cannot audit", s->ops->name);
		return -ENOTSUP;
	}
	if (s->job) {
		snprintf(err, errlen, "audit %" PRIu64 " is running", s->job->rec.id);
		return -EBUSY;
	}
	j = calloc(1, sizeof(*j));
	if (!j || (n && !(j->rec.domids = malloc(n * sizeof(*domids))))) {
		free(j);
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	if (n)
		memcpy(j->rec.domids, domids, n * sizeof(*domids));
	j->rec.ndomids = n;
	j->rec.trigger = why;
	j->rec.started = wall_s();
	j->ops = s->ops;
	j->notify_fd = s->pipefd[1];
	j->phase = 1;
	t0 = mono_s();
	r = s->ops->audit_open(s->env.be, domids, n, &j->snap, err, errlen);
	j->rec.loop_s = mono_s() - t0;
	if (r < 0) {
		job_free(j);
		return r;
	}
	j->rec.id = ++s->next_id;
	s->job = j;
	r = worker_start(s);
	if (r < 0) {
		s->job = NULL;
		job_free(j);
		snprintf(err, errlen, "cannot start a thread: %s", strerror(-r));
		return r;
	}
	if (n == 0) {
		s->periodic_due = false;
		s->changed = false;
		s->idle_skips = 0;
	}
	audit_queue_covered(&s->queue, domids, n);
	if (n == 1)
		snprintf(what, sizeof(what), "domain %u", domids[0]);
	else if (n)
		snprintf(what, sizeof(what), "%zu domains", n);
	log_info("audit %" PRIu64 " (%s) started: %s; snapshot %.1f ms on the event loop",
		 j->rec.id, trigger_name(why), what, j->rec.loop_s * 1000);
	*ret_id = j->rec.id;
	return 0;
}

bool audit_sched_running(const struct audit_sched *s)
{
	return s && s->job;
}

/* Start what is queued, if nothing runs. */
static void audit_queue_cb(evutil_socket_t fd, short what, void *arg)
{
	struct audit_sched *s = arg;
	uint32_t domids[AUDIT_QUEUE_MAX];
	enum audit_trigger why = AUDIT_TRIGGER_BALLOON;
	size_t i, n = 0;
	uint64_t id;
	char err[256];
	int r;

	if (s->job)
		return;
	if (s->periodic_due || s->queue.all) {
		why = s->periodic_due ? AUDIT_TRIGGER_PERIODIC : AUDIT_TRIGGER_BALLOON;
	} else {
		for (i = 0; i < s->queue.n; i++)
			if (engine_find(s->env.engine, s->queue.domids[i]))
				domids[n++] = s->queue.domids[i];
		s->queue.n = 0;
		if (n == 0)
			return;
	}
	r = audit_sched_start(s, n ? domids : NULL, n, why, &id, err, sizeof(err));
	if (r == -EAGAIN) {
		log_debug("%s audit deferred: %s", trigger_name(why), err);
		for (i = 0; i < n; i++)
			audit_queue_add(&s->queue, domids[i]);
		queue_kick(s, AUDIT_RETRY_MS);
	} else if (r < 0) {
		/* Dropped, not retried: the next trigger tries again. */
		log_warnx("%s audit not started: %s", trigger_name(why), err);
		s->periodic_due = false;
		audit_queue_covered(&s->queue, NULL, 0);
	}
}

static void audit_periodic_cb(evutil_socket_t fd, short what, void *arg)
{
	struct audit_sched *s = arg;

	if (s->job && s->job->rec.ndomids == 0)
		return; /* one of every domain is running already */
	if (!s->changed && s->idle_skips < AUDIT_IDLE_SKIPS) {
		s->idle_skips++;
		s->skipped++;
		log_debug("periodic audit skipped: nothing changed since the last clean one");
		return;
	}
	s->periodic_due = true;
	queue_kick(s, 0);
}

static bool automatic_on(const struct audit_sched *s)
{
	return s->ops->audit_open && s->env.conf->audit_interval_ms > 0;
}

void audit_sched_reconf(struct audit_sched *s)
{
	uint64_t ms = s->ops->audit_open ? s->env.conf->audit_interval_ms : 0;
	struct timeval tv = {(time_t)(ms / 1000), (suseconds_t)(ms % 1000 * 1000)};

	if (ms == s->interval_ms)
		return;
	event_del(s->periodic_ev);
	s->interval_ms = ms;
	if (ms) {
		event_add(s->periodic_ev, &tv);
	} else {
		s->periodic_due = false;
		audit_queue_covered(&s->queue, NULL, 0);
	}
}

void audit_sched_engine_event(struct audit_sched *s, const struct engine_event *ev)
{
	const struct engine_dom *dom;

	if (s)
		s->changed = true;
	if (!s || ev->type != EV_STATE || ev->old_state != DOM_CONVERGING ||
	    ev->new_state != DOM_IDLE || !automatic_on(s))
		return;
	dom = engine_find(s->env.engine, ev->domid);
	if (!dom || dom->type != DOM_PV)
		return;
	audit_queue_add(&s->queue, ev->domid);
	queue_kick(s, AUDIT_COALESCE_MS);
}

int audit_sched_new(const struct audit_sched_env *env, struct audit_sched **ret)
{
	struct audit_sched *s = calloc(1, sizeof(*s));

	if (!s)
		return -ENOMEM;
	s->env = *env;
	s->ops = env->ops;
	s->changed = true; /* nothing audited yet */
	if (pipe2(s->pipefd, O_CLOEXEC | O_NONBLOCK) < 0) {
		int e = errno;

		free(s);
		return -e;
	}
	s->done_ev = event_new(env->base, s->pipefd[0], EV_READ | EV_PERSIST, audit_done_cb, s);
	s->settle_ev = evtimer_new(env->base, audit_settle_cb, s);
	s->periodic_ev = event_new(env->base, -1, EV_PERSIST, audit_periodic_cb, s);
	s->queue_ev = evtimer_new(env->base, audit_queue_cb, s);
	if (!s->done_ev || !s->settle_ev || !s->periodic_ev || !s->queue_ev ||
	    event_add(s->done_ev, NULL) < 0) {
		audit_sched_free(s);
		return -ENOMEM;
	}
	audit_sched_reconf(s);
	*ret = s;
	return 0;
}

void audit_sched_free(struct audit_sched *s)
{
	size_t i;

	if (!s)
		return;
	if (s->thread_live) {
		log_info("audit %" PRIu64 " abandoned: shutting down", s->job->rec.id);
		pthread_join(s->thread, NULL);
	}
	job_free(s->job);
	for (i = 0; i < s->nhist; i++)
		record_free(s->hist[i]);
	if (s->done_ev)
		event_free(s->done_ev);
	if (s->settle_ev)
		event_free(s->settle_ev);
	if (s->periodic_ev)
		event_free(s->periodic_ev);
	if (s->queue_ev)
		event_free(s->queue_ev);
	close(s->pipefd[0]);
	close(s->pipefd[1]);
	free(s);
}

/* ---- JSON ---- */

static json_object *num_or_null(uint64_t v)
{
	return v == AUDIT_NONE ? NULL : json_object_new_uint64(v);
}

static json_object *record_json(const struct audit_record *r)
{
	json_object *o = json_object_new_object();
	uint64_t now = clock_now_ms(), transient = 0;

	json_object_object_add(o, "id", json_object_new_int64((int64_t)r->id));
	json_object_object_add(o, "trigger", json_object_new_string(trigger_name(r->trigger)));
	json_object_object_add(o, "scope", json_object_new_string(r->ndomids ? "domains" : "all"));
	json_object_object_add(o, "result", json_object_new_string(record_result_name(r)));
	json_object_object_add(o, "error", r->error[0] ? json_object_new_string(r->error) : NULL);
	json_object_object_add(o, "started", json_object_new_double(r->started));
	json_object_object_add(o, "finished", json_object_new_double(r->finished));
	json_object_object_add(o, "ago", json_object_new_double(
					 (double)(now - r->finished_ms) / 1000.0));
	json_object_object_add(o, "duration", json_object_new_double(r->scan_s));
	json_object_object_add(o, "elapsed", json_object_new_double(r->finished - r->started));
	json_object_object_add(o, "loop_time", json_object_new_double(r->loop_s));
	json_object_object_add(o, "pages", json_object_new_int64((int64_t)r->pages));
	json_object_object_add(o, "rate", json_object_new_double(
					  r->scan_s > 0 ? (double)r->pages / r->scan_s : 0));
	json_object_object_add(o, "findings", json_object_new_int64(
					      r->res ? (int64_t)audit_result_total(r->res) : 0));
	json_object_object_add(o, "unconfirmed", json_object_new_int64((int64_t)r->unconfirmed));
	if (r->res && r->first_total >= audit_result_total(r->res) + r->unconfirmed)
		transient = r->first_total - audit_result_total(r->res) - r->unconfirmed;
	json_object_object_add(o, "transient", json_object_new_int64((int64_t)transient));
	json_object_object_add(o, "classes", classes_json(r->res));
	return o;
}

static json_object *row_new(uint32_t domid, const char *name, const char *type,
			    const char *status)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "domid", json_object_new_int64(domid));
	json_object_object_add(o, "name", json_object_new_string(name));
	json_object_object_add(o, "type", json_object_new_string(type));
	json_object_object_add(o, "status", json_object_new_string(status));
	return o;
}

/* json_object_array_sort's order of rows: by domid. */
static int row_cmp(const void *a, const void *b)
{
	json_object *x = *(json_object *const *)a, *y = *(json_object *const *)b, *vx, *vy;
	int64_t dx, dy;

	json_object_object_get_ex(x, "domid", &vx);
	json_object_object_get_ex(y, "domid", &vy);
	dx = json_object_get_int64(vx);
	dy = json_object_get_int64(vy);
	return dx < dy ? -1 : dx > dy;
}

/* One row per domain of the audit and, as "not audited", each other domain
 * the engine knows; by domid. */
static json_object *rows_json(const struct audit_sched *s, const struct audit_record *r)
{
	json_object *a = json_object_new_array();
	size_t i, n = r && r->res ? audit_result_ndoms(r->res) : 0;

	for (i = 0; i < n; i++) {
		const struct audit_dom_result *dr = audit_result_dom(r->res, i);
		const struct audit_dom_info *di = record_dom(r, dr->domid);
		json_object *o = row_new(dr->domid, di ? di->name : "", di ? di->type : "?",
					 audit_status_name(dr->status));

		json_object_object_add(o, "scanned", json_object_new_int64((int64_t)dr->scanned));
		json_object_object_add(o, "ram", json_object_new_int64(
						      (int64_t)(dr->ram * AUDIT_PAGE_KIB)));
		json_object_object_add(o, "ballooned", json_object_new_int64(
							    (int64_t)(dr->ballooned * AUDIT_PAGE_KIB)));
		json_object_object_add(o, "findings",
				       json_object_new_int64((int64_t)dr->nfindings));
		json_object_array_add(a, o);
	}
	for (i = 0; i < engine_count(s->env.engine); i++) {
		const struct engine_dom *ed = engine_at(s->env.engine, i);
		json_object *o;

		if (n && record_dom(r, ed->domid))
			continue;
		o = row_new(ed->domid, ed->name, dom_type_name(ed->type), "not audited");
		json_object_object_add(o, "scanned", NULL);
		json_object_object_add(o, "ram", NULL);
		json_object_object_add(o, "ballooned", NULL);
		json_object_object_add(o, "findings", NULL);
		json_object_array_add(a, o);
	}
	json_object_array_sort(a, row_cmp);
	return a;
}

static int no_such_audit(const struct audit_query *q, char *err, size_t errlen)
{
	snprintf(err, errlen, "audit %" PRIu64 " is not kept (only the last %d completed are)",
		 q->id, AUDIT_HISTORY);
	return -ENOENT;
}

int audit_sched_status_json(struct audit_sched *s, const struct audit_query *q, json_object **ret,
			    char *err, size_t errlen)
{
	const struct audit_record *r = record_find(s, q->has_id, q->id);
	json_object *o, *queued;
	size_t i;

	if (!r && q->has_id)
		return no_such_audit(q, err, errlen);
	o = json_object_new_object();
	json_object_object_add(o, "available", json_object_new_boolean(s->ops->audit_open != NULL));
	json_object_object_add(o, "running", json_object_new_boolean(s->job != NULL));
	json_object_object_add(o, "id", s->job ? json_object_new_int64((int64_t)s->job->rec.id)
					       : NULL);
	queued = json_object_new_array();
	for (i = 0; i < s->queue.n; i++)
		json_object_array_add(queued, json_object_new_int64(s->queue.domids[i]));
	json_object_object_add(o, "queued", queued);
	json_object_object_add(o, "queued_all",
			       json_object_new_boolean(s->queue.all || s->periodic_due));
	json_object_object_add(o, "interval", json_object_new_double(
						      (double)s->interval_ms / 1000.0));
	json_object_object_add(o, "skipped", json_object_new_int64((int64_t)s->skipped));
	json_object_object_add(o, "last", r ? record_json(r) : NULL);
	json_object_object_add(o, "domains", rows_json(s, r));
	*ret = o;
	return 0;
}

int audit_sched_findings_json(struct audit_sched *s, const struct audit_query *q,
			      json_object **ret, char *err, size_t errlen)
{
	const struct audit_record *r = record_find(s, q->has_id, q->id);
	size_t limit = q->limit ? q->limit : s->env.conf->audit_examples;
	json_object *o, *counts, *list;
	bool truncated = false;
	unsigned c;

	if (!r && q->has_id)
		return no_such_audit(q, err, errlen);
	if (limit > AUDIT_FINDINGS_MAX)
		limit = AUDIT_FINDINGS_MAX;
	o = json_object_new_object();
	counts = json_object_new_object();
	list = json_object_new_array();
	for (c = 0; r && r->res && c < AUDIT_NCLASSES; c++) {
		const struct audit_finding *f;
		uint64_t count = 0;
		size_t n = 0, i, shown = 0;

		if (q->has_class && q->cls != c)
			continue;
		if (q->has_domid) {
			for (i = 0; i < audit_result_ndoms(r->res); i++)
				if (audit_result_dom(r->res, i)->domid == q->domid)
					count = audit_result_dom(r->res, i)->count[c];
		} else {
			count = audit_result_count(r->res, (enum audit_class)c);
		}
		if (!count)
			continue;
		json_object_object_add(counts, audit_class_name((enum audit_class)c),
				       json_object_new_int64((int64_t)count));
		f = audit_result_findings(r->res, (enum audit_class)c, &n);
		for (i = 0; i < n && shown < limit; i++) {
			const struct audit_dom_info *di = record_dom(r, f[i].domid);
			bool entry = f[i].cls != AUDIT_PAGE_COUNT_DELTA &&
				     f[i].cls != AUDIT_P2M_STRUCTURE_ERROR;
			bool has_other = f[i].cls == AUDIT_P2M_ALIAS ||
					 f[i].cls == AUDIT_MFN_CROSS_CLAIM ||
					 f[i].cls == AUDIT_P2M_UNOWNED_MFN;
			json_object *e;

			if (q->has_domid && f[i].domid != q->domid)
				continue;
			e = json_object_new_object();
			json_object_object_add(e, "class", json_object_new_string(
								  audit_class_name(f[i].cls)));
			json_object_object_add(e, "domid", json_object_new_int64(f[i].domid));
			json_object_object_add(e, "name", json_object_new_string(di ? di->name : ""));
			json_object_object_add(e, "pfn", entry ? num_or_null(f[i].pfn) : NULL);
			json_object_object_add(e, "mfn", entry ? num_or_null(f[i].mfn) : NULL);
			/* an invalid M2P entry is itself all ones: shown as is;
			 * a frame beyond max_page has no M2P entry at all */
			json_object_object_add(e, "m2p",
					       entry && f[i].cls != AUDIT_P2M_MFN_OUT_OF_RANGE &&
							       !(f[i].cls == AUDIT_P2M_IDENTITY_MISMATCH &&
								 f[i].m2p == AUDIT_NONE)
						       ? json_object_new_uint64(f[i].m2p)
						       : NULL);
			json_object_object_add(e, "other",
					       has_other ? json_object_new_uint64(f[i].other) : NULL);
			json_object_object_add(e, "delta",
					       f[i].cls == AUDIT_PAGE_COUNT_DELTA
						       ? json_object_new_int64(f[i].delta)
						       : NULL);
			json_object_array_add(list, e);
			shown++;
		}
		if (shown < count)
			truncated = true;
	}
	json_object_object_add(o, "id", r ? json_object_new_int64((int64_t)r->id) : NULL);
	json_object_object_add(o, "counts", counts);
	json_object_object_add(o, "findings", list);
	json_object_object_add(o, "truncated", json_object_new_boolean(truncated));
	*ret = o;
	return 0;
}

/* ---- JSON-RPC methods ---- */

struct audit_params {
	struct rpc_domain_ref domain;
	bool has_domain, has_id, has_limit;
	uint64_t id, limit;
	char cls[32];
	bool has_class;
};

static const struct rpc_field run_fields[] = {
	{"domain", RPC_FIELD_DOMAIN, offsetof(struct audit_params, domain), 0, false, 0,
	 offsetof(struct audit_params, has_domain)},
	{NULL},
};

static const struct rpc_field status_fields[] = {
	{"id", RPC_FIELD_U64, offsetof(struct audit_params, id), 0, false, 0,
	 offsetof(struct audit_params, has_id)},
	{NULL},
};

static const struct rpc_field findings_fields[] = {
	{"domain", RPC_FIELD_DOMAIN, offsetof(struct audit_params, domain), 0, false, 0,
	 offsetof(struct audit_params, has_domain)},
	{"class", RPC_FIELD_STRING, offsetof(struct audit_params, cls),
	 sizeof(((struct audit_params *)0)->cls), false, 0, offsetof(struct audit_params, has_class)},
	{"limit", RPC_FIELD_U64, offsetof(struct audit_params, limit), 0, false, AUDIT_FINDINGS_MAX,
	 offsetof(struct audit_params, has_limit)},
	{"id", RPC_FIELD_U64, offsetof(struct audit_params, id), 0, false, 0,
	 offsetof(struct audit_params, has_id)},
	{NULL},
};

/* Whether the methods can be served (not under --simulate). */
static bool have_auditor(const struct audit_sched *s, int *code, char *err, size_t errlen)
{
	if (s)
		return true;
	*code = RPC_ERR_BACKEND;
	snprintf(err, errlen, "no auditor runs in this mode");
	return false;
}

/* The domid a reference names: the engine's domains, then (by name) the
 * domains of the audit asked about. 0 or -ENOENT with err set. */
static int ref_resolve(struct audit_sched *s, const struct rpc_domain_ref *ref,
		       const struct audit_record *r, uint32_t *ret, char *err, size_t errlen)
{
	const struct engine_dom *ed;
	size_t i;

	if (!ref->by_name) {
		*ret = ref->domid;
		return 0;
	}
	ed = engine_find_name(s->env.engine, ref->name);
	if (ed) {
		*ret = ed->domid;
		return 0;
	}
	for (i = 0; r && i < r->ndoms; i++)
		if (strcmp(r->doms[i].name, ref->name) == 0) {
			*ret = r->doms[i].domid;
			return 0;
		}
	snprintf(err, errlen, "no domain named \"%s\"", ref->name);
	return -ENOENT;
}

json_object *audit_method_run(struct audit_sched *s, json_object *params, int *code,
			      json_object **data, char *err, size_t errlen)
{
	struct audit_params p = {0};
	const struct engine_dom *ed;
	json_object *o;
	uint64_t id = 0;
	uint32_t domid;
	int r;

	if (!have_auditor(s, code, err, errlen))
		return NULL;
	if (rpc_params_decode(params, run_fields, &p, err, errlen) != 0) {
		*code = RPC_INVALID_PARAMS;
		return NULL;
	}
	if (p.has_domain) {
		ed = p.domain.by_name ? engine_find_name(s->env.engine, p.domain.name)
				      : engine_find(s->env.engine, p.domain.domid);
		if (!ed) {
			*code = RPC_ERR_NO_SUCH_DOMAIN;
			if (p.domain.by_name)
				snprintf(err, errlen, "no domain named \"%s\"", p.domain.name);
			else
				snprintf(err, errlen, "no domain %u", p.domain.domid);
			return NULL;
		}
		domid = ed->domid;
	}
	r = audit_sched_start(s, p.has_domain ? &domid : NULL, p.has_domain ? 1 : 0,
			      AUDIT_TRIGGER_REQUEST, &id, err, errlen);
	if (r == -EBUSY) {
		*code = RPC_ERR_BUSY;
		*data = json_object_new_object();
		json_object_object_add(*data, "id", json_object_new_int64(
							    (int64_t)s->job->rec.id));
		return NULL;
	}
	if (r == -EAGAIN) {
		*code = RPC_ERR_BUSY;
		return NULL;
	}
	if (r < 0) {
		*code = r == -ENOMEM ? RPC_INTERNAL_ERROR : RPC_ERR_BACKEND;
		return NULL;
	}
	o = json_object_new_object();
	json_object_object_add(o, "started", json_object_new_boolean(true));
	json_object_object_add(o, "id", json_object_new_int64((int64_t)id));
	return o;
}

json_object *audit_method_status(struct audit_sched *s, json_object *params, int *code,
				 json_object **data, char *err, size_t errlen)
{
	struct audit_params p = {0};
	struct audit_query q = {0};
	json_object *o = NULL;

	if (!have_auditor(s, code, err, errlen))
		return NULL;
	if (rpc_params_decode(params, status_fields, &p, err, errlen) != 0) {
		*code = RPC_INVALID_PARAMS;
		return NULL;
	}
	q.has_id = p.has_id;
	q.id = p.id;
	if (audit_sched_status_json(s, &q, &o, err, errlen) < 0) {
		*code = RPC_INVALID_PARAMS;
		return NULL;
	}
	return o;
}

json_object *audit_method_findings(struct audit_sched *s, json_object *params, int *code,
				   json_object **data, char *err, size_t errlen)
{
	struct audit_params p = {0};
	struct audit_query q = {0};
	json_object *o = NULL;

	if (!have_auditor(s, code, err, errlen))
		return NULL;
	if (rpc_params_decode(params, findings_fields, &p, err, errlen) != 0) {
		*code = RPC_INVALID_PARAMS;
		return NULL;
	}
	if (p.has_limit && p.limit == 0) {
		*code = RPC_INVALID_PARAMS;
		snprintf(err, errlen, "limit: must be 1 to %d", AUDIT_FINDINGS_MAX);
		return NULL;
	}
	if (p.has_class && audit_class_parse(p.cls, &q.cls) < 0) {
		*code = RPC_INVALID_PARAMS;
		snprintf(err, errlen, "class: \"%s\" is not a finding class (e.g. M2P_MISMATCH)",
			 p.cls);
		return NULL;
	}
	q.has_class = p.has_class;
	q.has_id = p.has_id;
	q.id = p.id;
	q.limit = p.has_limit ? (size_t)p.limit : 0;
	if (p.has_domain) {
		q.has_domid = true;
		if (ref_resolve(s, &p.domain, record_find(s, p.has_id, p.id),
				&q.domid, err, errlen) < 0) {
			*code = RPC_ERR_NO_SUCH_DOMAIN;
			return NULL;
		}
	}
	if (audit_sched_findings_json(s, &q, &o, err, errlen) < 0) {
		*code = RPC_INVALID_PARAMS;
		return NULL;
	}
	return o;
}
