/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The queue of automatic audits (audit-queue.c), kept by the audit
 * scheduler (audit-run.c). */
#ifndef BALLOOND_AUDIT_QUEUE_H
#define BALLOOND_AUDIT_QUEUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Domains waiting for an automatic audit, coalesced into one run. */
#define AUDIT_QUEUE_MAX 64
struct audit_queue {
	bool all; /* every domain (a periodic audit, or too many to list) */
	size_t n;
	uint32_t domids[AUDIT_QUEUE_MAX];
};

/* Queue one domain (UINT32_MAX: every domain); a full queue becomes "all". */
void audit_queue_add(struct audit_queue *q, uint32_t domid);
/* Forget what an audit of domids (n == 0: every domain) now covers. */
void audit_queue_covered(struct audit_queue *q, const uint32_t *domids, size_t n);
bool audit_queue_empty(const struct audit_queue *q);

#endif
