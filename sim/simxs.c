/* SPDX-License-Identifier: GPL-2.0-or-later */
/* An in-process XenStore.
 *
 * Nodes live in a hash table keyed by their full path (reads and writes are
 * one lookup, whatever the size of the store) and are linked into a tree
 * (parent, first/last child, siblings) so that directory listings and
 * removals cost what they list or remove. Watches live in a second hash
 * table keyed by the watched path: a write looks up each ancestor of the
 * written path, so its cost is the depth of the path, not the number of
 * watches. Events wait in a bounded FIFO; when it is full the oldest event
 * is dropped and counted (a real xenstored would eventually drop a watcher
 * that never reads; dropping the oldest keeps the newest state visible). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "simxs.h"

#define EVENT_QUEUE_MAX 65536u /* pending watch events kept at most */
#define NODE_BUCKETS_MIN 256u
#define WATCH_BUCKETS 64u

struct xs_node {
	char *path;  /* full path, the hash key */
	char *value; /* NUL-terminated; length in vlen */
	size_t vlen;
	uint64_t hash;
	struct xs_node *hnext;
	struct xs_node *parent, *first, *last, *prev, *next;
	size_t nchildren;
};

struct xs_watch {
	char *path;
	char *token;
	uint64_t hash;
	uint64_t seq; /* registration order: events fire in this order */
	struct xs_watch *hnext;
};

/* One pending event: "path\0token\0" in one allocation. */
struct xs_event {
	char *buf;
	size_t toff;
};

struct simxs {
	struct xs_node **buckets;
	size_t nbuckets, nnodes;
	struct xs_node *root;
	struct xs_watch *wbuckets[WATCH_BUCKETS];
	size_t nwatches;
	uint64_t watch_seq;
	struct xs_event *ring; /* power-of-two capacity, grows up to EVENT_QUEUE_MAX */
	size_t rcap, rhead, rlen;
	uint64_t generation;
	struct simxs_stats stats;
	/* scratch for collecting the watches one change fires */
	struct xs_watch **fired;
	size_t nfired, capfired;
};

static uint64_t hash_str(const char *s)
{
	uint64_t h = 0xcbf29ce484222325ull;

	while (*s)
		h = (h ^ (unsigned char)*s++) * 0x100000001b3ull;
	return h ^ (h >> 29);
}

static bool path_char_ok(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '/' || c == '_' || c == '@' || c == '.' || c == '-';
}

/* Absolute, no "//", no trailing "/" (except "/" itself), XenStore's
 * character set, shorter than SIMXS_PATH_MAX. */
static bool path_valid(const char *p)
{
	size_t i;

	if (!p || p[0] != '/')
		return false;
	for (i = 0; p[i]; i++) {
		if (i >= SIMXS_PATH_MAX - 1 || !path_char_ok(p[i]))
			return false;
		if (p[i] == '/' && p[i + 1] == '/')
			return false;
	}
	return i == 1 || p[i - 1] != '/';
}

/* A special watch name: "@" then letters. */
static bool special_valid(const char *p)
{
	size_t i;

	if (!p || p[0] != '@' || !p[1])
		return false;
	for (i = 1; p[i]; i++)
		if (!((p[i] >= 'a' && p[i] <= 'z') || (p[i] >= 'A' && p[i] <= 'Z')) || i > 64)
			return false;
	return true;
}

/* ---- nodes ---- */

static struct xs_node *node_lookup(const struct simxs *xs, const char *path, uint64_t h)
{
	struct xs_node *n;

	for (n = xs->buckets[h & (xs->nbuckets - 1)]; n; n = n->hnext)
		if (n->hash == h && strcmp(n->path, path) == 0)
			return n;
	return NULL;
}

static struct xs_node *node_find(const struct simxs *xs, const char *path)
{
	return node_lookup(xs, path, hash_str(path));
}

static void table_grow(struct simxs *xs)
{
	size_t nb = xs->nbuckets * 2, i;
	struct xs_node **b = calloc(nb, sizeof(*b));

	if (!b)
		return; /* keep the old table: slower chains, still correct */
	for (i = 0; i < xs->nbuckets; i++) {
		struct xs_node *n = xs->buckets[i], *next;

		for (; n; n = next) {
			next = n->hnext;
			n->hnext = b[n->hash & (nb - 1)];
			b[n->hash & (nb - 1)] = n;
		}
	}
	free(xs->buckets);
	xs->buckets = b;
	xs->nbuckets = nb;
}

/* A new empty node under parent (NULL only for the root). */
static struct xs_node *node_new(struct simxs *xs, struct xs_node *parent, const char *path,
				size_t plen)
{
	struct xs_node *n = calloc(1, sizeof(*n));
	size_t k;

	if (!n)
		return NULL;
	n->path = malloc(plen + 1);
	n->value = malloc(1);
	if (!n->path || !n->value) {
		free(n->path);
		free(n->value);
		free(n);
		return NULL;
	}
	memcpy(n->path, path, plen);
	n->path[plen] = '\0';
	n->value[0] = '\0';
	n->hash = hash_str(n->path);
	if (xs->nnodes >= xs->nbuckets)
		table_grow(xs);
	k = n->hash & (xs->nbuckets - 1);
	n->hnext = xs->buckets[k];
	xs->buckets[k] = n;
	xs->nnodes++;
	n->parent = parent;
	if (parent) {
		n->prev = parent->last;
		if (parent->last)
			parent->last->next = n;
		else
			parent->first = n;
		parent->last = n;
		parent->nchildren++;
	}
	return n;
}

static void node_unhash(struct simxs *xs, struct xs_node *n)
{
	struct xs_node **pp = &xs->buckets[n->hash & (xs->nbuckets - 1)];

	for (; *pp; pp = &(*pp)->hnext)
		if (*pp == n) {
			*pp = n->hnext;
			break;
		}
	xs->nnodes--;
}

static void node_unlink(struct xs_node *n)
{
	struct xs_node *p = n->parent;

	if (!p)
		return;
	if (n->prev)
		n->prev->next = n->next;
	else
		p->first = n->next;
	if (n->next)
		n->next->prev = n->prev;
	else
		p->last = n->prev;
	p->nchildren--;
	n->parent = n->prev = n->next = NULL;
}

static void node_destroy(struct xs_node *n)
{
	free(n->path);
	free(n->value);
	free(n);
}

/* The node at path, creating it and any missing parents; *created says
 * whether path itself is new. NULL when out of memory. */
static struct xs_node *node_make(struct simxs *xs, char *path, bool *created)
{
	struct xs_node *n = node_find(xs, path), *parent;
	size_t len = strlen(path), cut = len;

	*created = false;
	if (n)
		return n;
	/* find the deepest existing ancestor */
	for (;;) {
		char save;

		while (cut > 0 && path[cut] != '/')
			cut--;
		if (cut == 0) {
			parent = xs->root;
			break;
		}
		save = path[cut];
		path[cut] = '\0';
		parent = node_find(xs, path);
		path[cut] = save;
		if (parent)
			break;
		cut--;
	}
	/* create every component after it */
	for (;;) {
		size_t end = cut + 1;

		while (end < len && path[end] != '/')
			end++;
		n = node_new(xs, parent, path, end);
		if (!n)
			return NULL;
		if (end == len)
			break;
		parent = n;
		cut = end;
	}
	*created = true;
	return n;
}

/* ---- events and watches ---- */

static void event_push(struct simxs *xs, const char *path, const char *token)
{
	size_t pl = strlen(path), tl = strlen(token);
	struct xs_event *ev;
	char *buf;

	if (xs->rlen == xs->rcap) {
		if (xs->rcap < EVENT_QUEUE_MAX) {
			size_t ncap = xs->rcap ? xs->rcap * 2 : 64, i;
			struct xs_event *r = malloc(ncap * sizeof(*r));

			if (!r)
				return;
			for (i = 0; i < xs->rlen; i++)
				r[i] = xs->ring[(xs->rhead + i) & (xs->rcap - 1)];
			free(xs->ring);
			xs->ring = r;
			xs->rcap = ncap;
			xs->rhead = 0;
		} else {
			/* full: drop the oldest */
			free(xs->ring[xs->rhead].buf);
			xs->rhead = (xs->rhead + 1) & (xs->rcap - 1);
			xs->rlen--;
			xs->stats.events_dropped++;
		}
	}
	buf = malloc(pl + tl + 2);
	if (!buf)
		return;
	memcpy(buf, path, pl + 1);
	memcpy(buf + pl + 1, token, tl + 1);
	ev = &xs->ring[(xs->rhead + xs->rlen) & (xs->rcap - 1)];
	ev->buf = buf;
	ev->toff = pl + 1;
	xs->rlen++;
	xs->stats.events++;
}

static void fired_add(struct simxs *xs, struct xs_watch *w)
{
	if (xs->nfired == xs->capfired) {
		size_t ncap = xs->capfired ? xs->capfired * 2 : 16;
		struct xs_watch **f = realloc(xs->fired, ncap * sizeof(*f));

		if (!f)
			return;
		xs->fired = f;
		xs->capfired = ncap;
	}
	xs->fired[xs->nfired++] = w;
}

/* Collect the watches registered exactly on path. */
static void watches_on(struct simxs *xs, const char *path, size_t plen)
{
	uint64_t h;
	struct xs_watch *w;
	char tmp[SIMXS_PATH_MAX];

	if (!xs->nwatches)
		return;
	memcpy(tmp, path, plen);
	tmp[plen] = '\0';
	h = hash_str(tmp);
	for (w = xs->wbuckets[h % WATCH_BUCKETS]; w; w = w->hnext)
		if (w->hash == h && strcmp(w->path, tmp) == 0)
			fired_add(xs, w);
}

static int watch_seq_cmp(const void *a, const void *b)
{
	const struct xs_watch *x = *(struct xs_watch *const *)a, *y = *(struct xs_watch *const *)b;

	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* Queue the collected watches, in registration order, with event path. */
static void fired_flush(struct simxs *xs, const char *event_path)
{
	size_t i;

	if (xs->nfired > 1)
		qsort(xs->fired, xs->nfired, sizeof(*xs->fired), watch_seq_cmp);
	for (i = 0; i < xs->nfired; i++)
		event_push(xs, event_path, xs->fired[i]->token);
	xs->nfired = 0;
}

/* Fire the watches on path and on each of its ancestors (including "/"). */
static void fire_path(struct simxs *xs, const char *path)
{
	size_t len = strlen(path), i;

	if (!xs->nwatches)
		return;
	watches_on(xs, "/", 1);
	for (i = 1; i <= len; i++)
		if (i == len || path[i] == '/')
			watches_on(xs, path, i);
	fired_flush(xs, path);
}

/* ---- public API ---- */

struct simxs *simxs_new(void)
{
	struct simxs *xs = calloc(1, sizeof(*xs));

	if (!xs)
		return NULL;
	xs->nbuckets = NODE_BUCKETS_MIN;
	xs->buckets = calloc(xs->nbuckets, sizeof(*xs->buckets));
	if (!xs->buckets) {
		free(xs);
		return NULL;
	}
	xs->root = node_new(xs, NULL, "/", 1);
	if (!xs->root) {
		free(xs->buckets);
		free(xs);
		return NULL;
	}
	return xs;
}

void simxs_free(struct simxs *xs)
{
	size_t i;

	if (!xs)
		return;
	for (i = 0; i < xs->nbuckets; i++) {
		struct xs_node *n = xs->buckets[i], *next;

		for (; n; n = next) {
			next = n->hnext;
			node_destroy(n);
		}
	}
	free(xs->buckets);
	for (i = 0; i < WATCH_BUCKETS; i++) {
		struct xs_watch *w = xs->wbuckets[i], *next;

		for (; w; w = next) {
			next = w->hnext;
			free(w->path);
			free(w->token);
			free(w);
		}
	}
	for (i = 0; i < xs->rlen; i++)
		free(xs->ring[(xs->rhead + i) & (xs->rcap - 1)].buf);
	free(xs->ring);
	free(xs->fired);
	free(xs);
}

/* Is path caller's own /local/domain/N or below it? *rest points after it. */
static bool own_subtree(uint32_t caller, const char *path, const char **rest)
{
	char own[40];
	int n = snprintf(own, sizeof(own), "/local/domain/%u", caller);

	if (strncmp(path, own, (size_t)n) != 0 || (path[n] != '\0' && path[n] != '/'))
		return false;
	*rest = path + n;
	return true;
}

static bool may_read(uint32_t caller, const char *path)
{
	const char *rest;

	return caller == 0 || own_subtree(caller, path, &rest);
}

/* Guest N may write below its data/ directory, its memory/meminfo and its
 * control/feature-balloon (the toolstack lets it, as for the other
 * control/feature-* keys). */
static bool may_write(uint32_t caller, const char *path)
{
	const char *rest;

	if (caller == 0)
		return true;
	if (!own_subtree(caller, path, &rest))
		return false;
	return (strncmp(rest, "/data/", 6) == 0 && rest[6]) || strcmp(rest, "/memory/meminfo") == 0 ||
	       strcmp(rest, "/control/feature-balloon") == 0;
}

int simxs_read(const struct simxs *xs, uint32_t caller, const char *path, char *buf, size_t len)
{
	const struct xs_node *n;

	if (!path_valid(path))
		return -EINVAL;
	if (!may_read(caller, path))
		return -EACCES;
	n = node_find(xs, path);
	if (!n)
		return -ENOENT;
	if (n->vlen + 1 > len)
		return -E2BIG;
	memcpy(buf, n->value, n->vlen + 1);
	return (int)n->vlen;
}

int simxs_write(struct simxs *xs, uint32_t caller, const char *path, const char *value)
{
	char copy[SIMXS_PATH_MAX];
	struct xs_node *n;
	size_t vlen;
	bool created;
	char *v;

	if (!path_valid(path) || strcmp(path, "/") == 0 || !value)
		return -EINVAL;
	vlen = strlen(value);
	if (vlen > SIMXS_VALUE_MAX)
		return -E2BIG;
	if (!may_write(caller, path)) {
		xs->stats.denied++;
		return -EACCES;
	}
	snprintf(copy, sizeof(copy), "%s", path);
	n = node_make(xs, copy, &created);
	if (!n)
		return -ENOMEM;
	if (!created && n->vlen == vlen && memcmp(n->value, value, vlen) == 0) {
		xs->stats.writes++;
		if (caller == 0) {
			xs->stats.dom0_writes++;
			xs->stats.dom0_noop_writes++;
		} else {
			xs->stats.guest_writes++;
		}
		return 0; /* nothing changed: no watch fires */
	}
	v = malloc(vlen + 1);
	if (!v)
		return -ENOMEM;
	memcpy(v, value, vlen + 1);
	free(n->value);
	n->value = v;
	n->vlen = vlen;
	xs->stats.writes++;
	if (caller == 0)
		xs->stats.dom0_writes++;
	else
		xs->stats.guest_writes++;
	xs->generation++;
	fire_path(xs, path);
	return 0;
}

/* Remove n's subtree from the table, firing watches registered exactly on
 * each removed descendant, then free it (pre-order for events). */
static void subtree_remove(struct simxs *xs, struct xs_node *n, bool top)
{
	struct xs_node *c, *next;

	if (!top && xs->nwatches) {
		watches_on(xs, n->path, strlen(n->path));
		fired_flush(xs, n->path);
	}
	for (c = n->first; c; c = next) {
		next = c->next;
		subtree_remove(xs, c, false);
	}
	node_unhash(xs, n);
	node_destroy(n);
}

int simxs_rm(struct simxs *xs, uint32_t caller, const char *path)
{
	struct xs_node *n;

	if (!path_valid(path) || strcmp(path, "/") == 0)
		return -EINVAL;
	if (caller != 0) {
		xs->stats.denied++;
		return -EACCES;
	}
	n = node_find(xs, path);
	if (!n)
		return -ENOENT;
	node_unlink(n);
	xs->generation++;
	fire_path(xs, path);
	subtree_remove(xs, n, true);
	return 0;
}

int simxs_directory(const struct simxs *xs, uint32_t caller, const char *path, char ***ret)
{
	const struct xs_node *n, *c;
	size_t i = 0;
	char **v;

	if (!path_valid(path))
		return -EINVAL;
	if (!may_read(caller, path))
		return -EACCES;
	n = node_find(xs, path);
	if (!n)
		return -ENOENT;
	v = calloc(n->nchildren + 1, sizeof(*v));
	if (!v)
		return -ENOMEM;
	for (c = n->first; c; c = c->next) {
		v[i] = strdup(strrchr(c->path, '/') + 1);
		if (!v[i]) {
			simxs_strv_free(v);
			return -ENOMEM;
		}
		i++;
	}
	*ret = v;
	return (int)i;
}

void simxs_strv_free(char **v)
{
	size_t i;

	if (!v)
		return;
	for (i = 0; v[i]; i++)
		free(v[i]);
	free(v);
}

static struct xs_watch *watch_find(const struct simxs *xs, const char *path, const char *token,
				   uint64_t h)
{
	struct xs_watch *w;

	for (w = xs->wbuckets[h % WATCH_BUCKETS]; w; w = w->hnext)
		if (w->hash == h && strcmp(w->path, path) == 0 && strcmp(w->token, token) == 0)
			return w;
	return NULL;
}

int simxs_watch(struct simxs *xs, const char *path, const char *token)
{
	struct xs_watch *w;
	uint64_t h;

	if (!token || (!path_valid(path) && !special_valid(path)))
		return -EINVAL;
	h = hash_str(path);
	if (watch_find(xs, path, token, h))
		return -EEXIST;
	w = calloc(1, sizeof(*w));
	if (!w)
		return -ENOMEM;
	w->path = strdup(path);
	w->token = strdup(token);
	if (!w->path || !w->token) {
		free(w->path);
		free(w->token);
		free(w);
		return -ENOMEM;
	}
	w->hash = h;
	w->seq = ++xs->watch_seq;
	w->hnext = xs->wbuckets[h % WATCH_BUCKETS];
	xs->wbuckets[h % WATCH_BUCKETS] = w;
	xs->nwatches++;
	event_push(xs, path, token); /* like xenstored: fires once when registered */
	return 0;
}

int simxs_unwatch(struct simxs *xs, const char *path, const char *token)
{
	struct xs_watch **pp;
	uint64_t h;

	if (!path || !token)
		return -EINVAL;
	h = hash_str(path);
	for (pp = &xs->wbuckets[h % WATCH_BUCKETS]; *pp; pp = &(*pp)->hnext) {
		struct xs_watch *w = *pp;

		if (w->hash == h && strcmp(w->path, path) == 0 && strcmp(w->token, token) == 0) {
			*pp = w->hnext;
			free(w->path);
			free(w->token);
			free(w);
			xs->nwatches--;
			return 0;
		}
	}
	return -ENOENT;
}

void simxs_fire_special(struct simxs *xs, const char *name)
{
	if (!special_valid(name))
		return;
	watches_on(xs, name, strlen(name));
	fired_flush(xs, name);
}

bool simxs_next_event(struct simxs *xs, char *path, size_t pathlen, char *token, size_t toklen)
{
	struct xs_event *ev;

	if (!xs->rlen)
		return false;
	ev = &xs->ring[xs->rhead];
	if (pathlen)
		snprintf(path, pathlen, "%s", ev->buf);
	if (toklen)
		snprintf(token, toklen, "%s", ev->buf + ev->toff);
	free(ev->buf);
	xs->rhead = (xs->rhead + 1) & (xs->rcap - 1);
	xs->rlen--;
	return true;
}

size_t simxs_pending_events(const struct simxs *xs)
{
	return xs->rlen;
}

void simxs_get_stats(const struct simxs *xs, struct simxs_stats *ret)
{
	*ret = xs->stats;
}

uint64_t simxs_generation(const struct simxs *xs)
{
	return xs->generation;
}

size_t simxs_node_count(const struct simxs *xs)
{
	return xs->nnodes;
}
