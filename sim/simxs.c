/* An in-process XenStore: nodes in a hash table keyed by full path, each
 * knowing its children; watches matched by path prefix; a bounded event
 * queue (the oldest event is dropped on overflow, as a slow watcher on a
 * real xenstored would eventually be). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "simxs.h"

#define EVENT_QUEUE_MAX 65536

struct node {
	char *path;
	char *value;
	char **children; /* names, not paths */
	size_t n_children, cap_children;
	struct node *hnext;
};

struct watch {
	char *path;
	char *token;
};

struct event {
	char *path;
	char *token;
};

struct simxs {
	struct node **buckets;
	size_t n_buckets, n_nodes;
	struct watch *watches;
	size_t n_watches;
	struct event *queue; /* ring */
	size_t q_head, q_len;
	uint64_t dropped;
	struct simxs_stats stats;
};

static uint64_t path_hash(const char *s)
{
	uint64_t h = 1469598103934665603ULL;

	while (*s)
		h = (h ^ (unsigned char)*s++) * 1099511628211ULL;
	return h;
}

static struct node *node_find(const struct simxs *xs, const char *path)
{
	struct node *n = xs->buckets[path_hash(path) % xs->n_buckets];

	for (; n; n = n->hnext)
		if (strcmp(n->path, path) == 0)
			return n;
	return NULL;
}

static int rehash(struct simxs *xs)
{
	size_t nb = xs->n_buckets * 2, i;
	struct node **b = calloc(nb, sizeof(*b));

	if (!b)
		return -ENOMEM;
	for (i = 0; i < xs->n_buckets; i++) {
		struct node *n = xs->buckets[i], *next;

		for (; n; n = next) {
			size_t k = path_hash(n->path) % nb;

			next = n->hnext;
			n->hnext = b[k];
			b[k] = n;
		}
	}
	free(xs->buckets);
	xs->buckets = b;
	xs->n_buckets = nb;
	return 0;
}

static struct node *node_new(struct simxs *xs, const char *path)
{
	struct node *n = calloc(1, sizeof(*n));
	size_t k;

	if (!n)
		return NULL;
	n->path = strdup(path);
	n->value = strdup("");
	if (!n->path || !n->value) {
		free(n->path);
		free(n->value);
		free(n);
		return NULL;
	}
	if (xs->n_nodes + 1 > xs->n_buckets * 2)
		rehash(xs);
	k = path_hash(path) % xs->n_buckets;
	n->hnext = xs->buckets[k];
	xs->buckets[k] = n;
	xs->n_nodes++;
	return n;
}

static int child_add(struct node *parent, const char *name)
{
	size_t i;

	for (i = 0; i < parent->n_children; i++)
		if (strcmp(parent->children[i], name) == 0)
			return 0;
	if (parent->n_children == parent->cap_children) {
		size_t cap = parent->cap_children ? parent->cap_children * 2 : 4;
		char **c = realloc(parent->children, cap * sizeof(*c));

		if (!c)
			return -ENOMEM;
		parent->children = c;
		parent->cap_children = cap;
	}
	parent->children[parent->n_children] = strdup(name);
	if (!parent->children[parent->n_children])
		return -ENOMEM;
	parent->n_children++;
	return 0;
}

static void child_remove(struct node *parent, const char *name)
{
	size_t i;

	for (i = 0; i < parent->n_children; i++)
		if (strcmp(parent->children[i], name) == 0) {
			free(parent->children[i]);
			parent->children[i] = parent->children[--parent->n_children];
			return;
		}
}

struct simxs *simxs_new(void)
{
	struct simxs *xs = calloc(1, sizeof(*xs));

	if (!xs)
		return NULL;
	xs->n_buckets = 1024;
	xs->buckets = calloc(xs->n_buckets, sizeof(*xs->buckets));
	xs->queue = calloc(EVENT_QUEUE_MAX, sizeof(*xs->queue));
	if (!xs->buckets || !xs->queue || !node_new(xs, "/")) {
		simxs_free(xs);
		return NULL;
	}
	return xs;
}

void simxs_free(struct simxs *xs)
{
	size_t i;

	if (!xs)
		return;
	for (i = 0; xs->buckets && i < xs->n_buckets; i++) {
		struct node *n = xs->buckets[i], *next;

		for (; n; n = next) {
			size_t k;

			next = n->hnext;
			for (k = 0; k < n->n_children; k++)
				free(n->children[k]);
			free(n->children);
			free(n->path);
			free(n->value);
			free(n);
		}
	}
	free(xs->buckets);
	for (i = 0; i < xs->n_watches; i++) {
		free(xs->watches[i].path);
		free(xs->watches[i].token);
	}
	free(xs->watches);
	for (i = 0; xs->queue && i < xs->q_len; i++) {
		struct event *ev = &xs->queue[(xs->q_head + i) % EVENT_QUEUE_MAX];

		free(ev->path);
		free(ev->token);
	}
	free(xs->queue);
	free(xs);
}

static bool path_valid(const char *p)
{
	size_t i, n = strlen(p);

	if (n == 0 || n >= SIMXS_PATH_MAX || p[0] != '/')
		return false;
	if (n > 1 && p[n - 1] == '/')
		return false;
	for (i = 0; i < n; i++) {
		char c = p[i];

		if (c == '/' && i > 0 && p[i - 1] == '/')
			return false;
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '/' || c == '_' || c == '@' || c == '.' || c == '-'))
			return false;
	}
	return true;
}

/* Guest N may read under /local/domain/N; dom0 reads everything. */
static bool may_read(uint32_t caller, const char *path)
{
	char own[64];
	size_t n;

	if (caller == 0)
		return true;
	n = (size_t)snprintf(own, sizeof(own), "/local/domain/%u", caller);
	return strncmp(path, own, n) == 0 && (path[n] == '\0' || path[n] == '/');
}

/* Guest N may write data/ and memory/meminfo under its own directory. */
static bool may_write(uint32_t caller, const char *path)
{
	char own[64];
	size_t n;

	if (caller == 0)
		return true;
	n = (size_t)snprintf(own, sizeof(own), "/local/domain/%u/", caller);
	if (strncmp(path, own, n) != 0)
		return false;
	path += n;
	return (strncmp(path, "data/", 5) == 0 && path[5]) || strcmp(path, "memory/meminfo") == 0;
}

static void queue_push(struct simxs *xs, const char *path, const char *token)
{
	struct event *ev;

	if (xs->q_len == EVENT_QUEUE_MAX) {
		ev = &xs->queue[xs->q_head];
		free(ev->path);
		free(ev->token);
		xs->q_head = (xs->q_head + 1) % EVENT_QUEUE_MAX;
		xs->q_len--;
		xs->dropped++;
	}
	ev = &xs->queue[(xs->q_head + xs->q_len) % EVENT_QUEUE_MAX];
	ev->path = strdup(path);
	ev->token = strdup(token);
	if (!ev->path || !ev->token) {
		free(ev->path);
		free(ev->token);
		return;
	}
	xs->q_len++;
}

/* Fire every watch on path or one of its ancestors. */
static void fire(struct simxs *xs, const char *path)
{
	size_t i;

	for (i = 0; i < xs->n_watches; i++) {
		const char *w = xs->watches[i].path;
		size_t n = strlen(w);

		if (strcmp(w, "/") == 0 ||
		    (strncmp(path, w, n) == 0 && (path[n] == '\0' || path[n] == '/')))
			queue_push(xs, path, xs->watches[i].token);
	}
}

int simxs_read(const struct simxs *xs, uint32_t caller, const char *path, char *buf, size_t len)
{
	const struct node *n;
	size_t vlen;

	if (!path_valid(path))
		return -EINVAL;
	if (!may_read(caller, path))
		return -EACCES;
	n = node_find(xs, path);
	if (!n)
		return -ENOENT;
	vlen = strlen(n->value);
	if (vlen + 1 > len)
		return -E2BIG;
	memcpy(buf, n->value, vlen + 1);
	return (int)vlen;
}

/* Find or create path and its parents; fires watches for new nodes. */
static struct node *node_make(struct simxs *xs, const char *path, bool *created)
{
	char tmp[SIMXS_PATH_MAX];
	struct node *n, *parent;
	char *slash;

	*created = false;
	n = node_find(xs, path);
	if (n)
		return n;
	snprintf(tmp, sizeof(tmp), "%s", path);
	slash = strrchr(tmp, '/');
	if (slash == tmp) {
		parent = node_find(xs, "/");
	} else {
		bool pc;

		*slash = '\0';
		parent = node_make(xs, tmp, &pc);
		if (pc)
			fire(xs, tmp);
		*slash = '/';
	}
	if (!parent)
		return NULL;
	n = node_new(xs, path);
	if (!n)
		return NULL;
	if (child_add(parent, strrchr(path, '/') + 1) < 0)
		return NULL;
	*created = true;
	return n;
}

int simxs_write(struct simxs *xs, uint32_t caller, const char *path, const char *value)
{
	struct node *n;
	bool created;
	char *v;

	if (!path_valid(path) || strcmp(path, "/") == 0)
		return -EINVAL;
	if (strlen(value) > SIMXS_VALUE_MAX)
		return -E2BIG;
	if (!may_write(caller, path)) {
		xs->stats.denied++;
		return -EACCES;
	}
	n = node_make(xs, path, &created);
	if (!n)
		return -ENOMEM;
	xs->stats.writes++;
	if (caller == 0)
		xs->stats.dom0_writes++;
	else
		xs->stats.guest_writes++;
	if (!created && strcmp(n->value, value) == 0) {
		if (caller == 0)
			xs->stats.dom0_noop_writes++;
		/* xenstored fires watches even for an unchanged value */
		fire(xs, path);
		return 0;
	}
	v = strdup(value);
	if (!v)
		return -ENOMEM;
	free(n->value);
	n->value = v;
	fire(xs, path);
	return 0;
}

/* Remove n and its subtree from the table (not from its parent). */
static void subtree_free(struct simxs *xs, struct node *n)
{
	char child[SIMXS_PATH_MAX];
	struct node **pp;
	size_t i;

	for (i = 0; i < n->n_children; i++) {
		struct node *c;

		snprintf(child, sizeof(child), "%s/%s", n->path, n->children[i]);
		c = node_find(xs, child);
		if (c)
			subtree_free(xs, c);
		free(n->children[i]);
	}
	free(n->children);
	for (pp = &xs->buckets[path_hash(n->path) % xs->n_buckets]; *pp; pp = &(*pp)->hnext)
		if (*pp == n) {
			*pp = n->hnext;
			break;
		}
	xs->n_nodes--;
	free(n->path);
	free(n->value);
	free(n);
}

int simxs_rm(struct simxs *xs, uint32_t caller, const char *path)
{
	char parent_path[SIMXS_PATH_MAX];
	struct node *n, *parent;
	char *slash;

	if (!path_valid(path) || strcmp(path, "/") == 0)
		return -EINVAL;
	if (caller != 0)
		return -EACCES;
	n = node_find(xs, path);
	if (!n)
		return -ENOENT;
	snprintf(parent_path, sizeof(parent_path), "%s", path);
	slash = strrchr(parent_path, '/');
	if (slash == parent_path)
		slash[1] = '\0';
	else
		*slash = '\0';
	parent = node_find(xs, parent_path);
	if (parent)
		child_remove(parent, strrchr(path, '/') + 1);
	subtree_free(xs, n);
	fire(xs, path);
	return 0;
}

int simxs_directory(const struct simxs *xs, uint32_t caller, const char *path, char ***ret)
{
	const struct node *n;
	char **v;
	size_t i;

	if (!path_valid(path))
		return -EINVAL;
	if (!may_read(caller, path))
		return -EACCES;
	n = node_find(xs, path);
	if (!n)
		return -ENOENT;
	v = calloc(n->n_children + 1, sizeof(*v));
	if (!v)
		return -ENOMEM;
	for (i = 0; i < n->n_children; i++) {
		v[i] = strdup(n->children[i]);
		if (!v[i]) {
			simxs_strv_free(v);
			return -ENOMEM;
		}
	}
	*ret = v;
	return (int)n->n_children;
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

int simxs_watch(struct simxs *xs, const char *path, const char *token)
{
	struct watch *w;
	size_t i;

	if (path[0] != '@' && !path_valid(path))
		return -EINVAL;
	for (i = 0; i < xs->n_watches; i++)
		if (strcmp(xs->watches[i].path, path) == 0 &&
		    strcmp(xs->watches[i].token, token) == 0)
			return -EEXIST;
	w = realloc(xs->watches, (xs->n_watches + 1) * sizeof(*w));
	if (!w)
		return -ENOMEM;
	xs->watches = w;
	w = &xs->watches[xs->n_watches];
	w->path = strdup(path);
	w->token = strdup(token);
	if (!w->path || !w->token) {
		free(w->path);
		free(w->token);
		return -ENOMEM;
	}
	xs->n_watches++;
	queue_push(xs, path, token); /* like xenstored: fires once on registration */
	return 0;
}

int simxs_unwatch(struct simxs *xs, const char *path, const char *token)
{
	size_t i;

	for (i = 0; i < xs->n_watches; i++)
		if (strcmp(xs->watches[i].path, path) == 0 &&
		    strcmp(xs->watches[i].token, token) == 0) {
			free(xs->watches[i].path);
			free(xs->watches[i].token);
			xs->watches[i] = xs->watches[--xs->n_watches];
			return 0;
		}
	return -ENOENT;
}

void simxs_fire_special(struct simxs *xs, const char *name)
{
	size_t i;

	for (i = 0; i < xs->n_watches; i++)
		if (strcmp(xs->watches[i].path, name) == 0)
			queue_push(xs, name, xs->watches[i].token);
}

bool simxs_next_event(struct simxs *xs, char *path, size_t pathlen, char *token, size_t toklen)
{
	struct event *ev;

	if (!xs->q_len)
		return false;
	ev = &xs->queue[xs->q_head];
	snprintf(path, pathlen, "%s", ev->path);
	snprintf(token, toklen, "%s", ev->token);
	free(ev->path);
	free(ev->token);
	xs->q_head = (xs->q_head + 1) % EVENT_QUEUE_MAX;
	xs->q_len--;
	return true;
}

size_t simxs_pending_events(const struct simxs *xs)
{
	return xs->q_len;
}

void simxs_get_stats(const struct simxs *xs, struct simxs_stats *ret)
{
	*ret = xs->stats;
}
