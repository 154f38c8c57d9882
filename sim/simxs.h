/* SPDX-License-Identifier: GPL-2.0-or-later */
/* An in-process XenStore: a tree of nodes with values, per-domain write
 * permissions, watches with tokens, and the special @introduceDomain /
 * @releaseDomain watches. Pure: no I/O, no clock. */
#ifndef BALLOOND_SIMXS_H
#define BALLOOND_SIMXS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SIMXS_VALUE_MAX 4096   /* XenStore's payload limit */
#define SIMXS_PATH_MAX 3072

struct simxs;

struct simxs *simxs_new(void);
void simxs_free(struct simxs *xs);

/* Read path as caller (domid 0 is privileged; a guest may read anything
 * under its own /local/domain/N). Copies at most len-1 bytes and NUL-
 * terminates. Returns the value length, -ENOENT, -EACCES or -E2BIG (buffer
 * too small; nothing copied). */
int simxs_read(const struct simxs *xs, uint32_t caller, const char *path,
	       char *buf, size_t len);

/* Write (creating missing parents). dom0 may write anywhere; guest N only
 * under /local/domain/N/data/ and /local/domain/N/memory/meminfo (as on a
 * real host). Fires matching watches when the value changes or the node is
 * new. Returns 0, -EACCES, -EINVAL (bad path) or -E2BIG (value too long). */
int simxs_write(struct simxs *xs, uint32_t caller, const char *path, const char *value);

/* Remove a node and its children (dom0 only). Fires the watches on path and
 * its ancestors (event path = path) and, as xenstored does, the watches set
 * exactly on each removed descendant (event path = that node). 0, -ENOENT,
 * -EACCES or -EINVAL. */
int simxs_rm(struct simxs *xs, uint32_t caller, const char *path);

/* Child names of path; *ret is a NULL-terminated malloc'd array of malloc'd
 * strings (free with simxs_strv_free). Returns the count or -ENOENT. */
int simxs_directory(const struct simxs *xs, uint32_t caller, const char *path, char ***ret);
void simxs_strv_free(char **v);

/* Watch path (and everything below it) or a special "@..." name with a
 * token. Like xenstored, registering fires the watch once. 0 or -EEXIST. */
int simxs_watch(struct simxs *xs, const char *path, const char *token);
int simxs_unwatch(struct simxs *xs, const char *path, const char *token);

/* Fire a special watch ("@introduceDomain" or "@releaseDomain"). */
void simxs_fire_special(struct simxs *xs, const char *name);

/* Pop the oldest pending watch event: the path that changed and the token
 * (each truncated to its buffer). Returns false when none is pending. At
 * most 65536 events wait; beyond that the oldest is dropped and counted in
 * simxs_stats.events_dropped. */
bool simxs_next_event(struct simxs *xs, char *path, size_t pathlen, char *token, size_t toklen);
size_t simxs_pending_events(const struct simxs *xs);

/* Counters, for the simulator's invariants and reports. */
struct simxs_stats {
	uint64_t writes;          /* every successful write */
	uint64_t dom0_writes;     /* writes by domid 0 */
	uint64_t dom0_noop_writes;/* dom0 writes that did not change an existing value */
	uint64_t guest_writes;
	uint64_t denied;          /* writes and removals refused for permissions */
	uint64_t events;          /* watch events queued */
	uint64_t events_dropped;  /* oldest events dropped because the queue was full */
};
void simxs_get_stats(const struct simxs *xs, struct simxs_stats *ret);

/* A counter bumped by every change (a new node, a changed value, a
 * removal; not by a write of the same value), so a caller can tell cheaply
 * whether anything changed since it last looked. */
uint64_t simxs_generation(const struct simxs *xs);

/* Number of nodes, including "/" (for tests and reports). */
size_t simxs_node_count(const struct simxs *xs);

#endif
